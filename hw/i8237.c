/*
 * i8237.c - the AT's two 8237A DMA controllers and their page registers
 * (see i8237.h for the device-side API).
 *
 * Registers of one controller (first: ports 00h-0Fh; second: C0h-DFh,
 * where the chip's A0-A3 sit on the bus's A1-A4, so reg = (port-C0h)/2):
 *   0,2,4,6  channel address     (two bytes through the byte flip-flop)
 *   1,3,5,7  channel count       (programmed as transfers - 1)
 *   8        read status: 3:0 terminal count reached (cleared by the
 *            read), 7:4 request pending / write command: bit 2 disables
 *            the controller, bit 0 memory-to-memory (not modelled)
 *   9        request (software DREQ): bit 2 set/clear, 1:0 channel
 *   10       single mask bit: bit 2 set/clear, 1:0 channel
 *   11       mode: 7:6 demand/single/block/cascade, 5 decrement,
 *            4 autoinitialize, 3:2 verify/write/read, 1:0 channel
 *   12       clear the byte pointer flip-flop
 *   13       read temporary / write master clear (as a hardware reset)
 *   14       clear all mask bits
 *   15       write all mask bits (reads back, as later chipsets allow)
 * Page registers 81h-8Fh are fifteen latches; those of 87h, 83h, 81h, 82h
 * (channels 0-3) and 8Bh, 89h, 8Ah (5-7) supply the address bits above
 * the controller's.  An 8-bit channel addresses page:addr and wraps inside
 * its 64K page; a 16-bit channel's address counts words, so it reaches
 * (page & FEh) << 16 | addr << 1 and wraps inside a 128K block.  The page
 * register never carries.
 *
 * Channels 0-3 reach the bus through channel 4 of the second controller
 * (cascade), which firmware unmasks at POST.  They do not wait for it
 * here: a kernel started without firmware (-kernel) finds the chips in
 * their reset state and never programs the cascade itself.
 */
#include "i8237.h"

#include <stdlib.h>
#include <string.h>

#include "util/log.h"

enum {
    REG_STATUS = 8, REG_REQUEST = 9, REG_MASK1 = 10, REG_MODE = 11, REG_FLIPFLOP = 12,
    REG_CLEAR = 13, REG_UNMASK_ALL = 14, REG_MASK_ALL = 15,
    CMD_MEM2MEM = 0x01, CMD_DISABLE = 0x04,
    MODE_DECREMENT = 0x20, MODE_AUTOINIT = 0x10, MODE_CASCADE = 0xC0,
};

struct i8237_chan {
    uint16_t base_addr, base_count;  /* reloaded by autoinitialize */
    uint16_t addr, count;            /* current */
    uint8_t mode;
    bool dreq;                       /* the device's request line */
    bool tc;                         /* last transfer call hit terminal count */
    bool busy;                       /* its handler is running */
    i8237_handler fn;
    void *opaque;
};

struct i8237_ctl {
    struct i8237_chan ch[4];
    uint8_t command, mask, request, status, temp;
    bool flipflop;                   /* false: next byte is the low one */
};

struct i8237 {
    struct bus *bus;
    struct i8237_ctl ctl[2];
    uint8_t page[16];                /* latches 80h-8Fh (80h itself unmapped) */
};

/* Page register (port - 80h) of each channel; channel 4 has none in use. */
static const uint8_t page_index[8] = { 0x7, 0x3, 0x1, 0x2, 0xF, 0xB, 0x9, 0xA };

static struct i8237_chan *chan_of(struct i8237 *dma, int n)
{
    return &dma->ctl[n >> 2].ch[n & 3];
}

/* ---- channel state ---- */

bool i8237_ready(const struct i8237 *dma, int n)
{
    if (n < 0 || n > 7) {
        return false;
    }
    const struct i8237_ctl *ctl = &dma->ctl[n >> 2];
    return !(ctl->command & CMD_DISABLE) && !(ctl->mask & (1u << (n & 3))) &&
           (ctl->ch[n & 3].mode & 0xC0) != MODE_CASCADE;
}

/* Call the handler of channel n if its request is up and it can run. */
static void service(struct i8237 *dma, int n)
{
    struct i8237_chan *c = chan_of(dma, n);
    if (!c->dreq || !c->fn || c->busy || !i8237_ready(dma, n)) {
        return;
    }
    c->busy = true;   /* a handler that re-asserts DREQ does not recurse */
    c->fn(c->opaque, n);
    c->busy = false;
}

static void service_all(struct i8237 *dma)
{
    for (int n = 0; n < 8; n++) {
        service(dma, n);
    }
}

void i8237_set_handler(struct i8237 *dma, int chan, i8237_handler fn, void *opaque)
{
    if (chan < 0 || chan > 7 || chan == 4) {
        return;
    }
    struct i8237_chan *c = chan_of(dma, chan);
    c->fn = fn;
    c->opaque = opaque;
}

void i8237_set_dreq(struct i8237 *dma, int chan, bool level)
{
    if (chan < 0 || chan > 7) {
        return;
    }
    chan_of(dma, chan)->dreq = level;
    if (level) {
        service(dma, chan);
    }
}

bool i8237_tc(const struct i8237 *dma, int chan)
{
    return chan >= 0 && chan <= 7 && dma->ctl[chan >> 2].ch[chan & 3].tc;
}

int i8237_transfer_type(const struct i8237 *dma, int chan)
{
    if (chan < 0 || chan > 7) {
        return I8237_VERIFY;
    }
    return (dma->ctl[chan >> 2].ch[chan & 3].mode >> 2) & 3;
}

uint32_t i8237_remaining(const struct i8237 *dma, int chan)
{
    if (chan < 0 || chan > 7) {
        return 0;
    }
    uint32_t units = (uint32_t)dma->ctl[chan >> 2].ch[chan & 3].count + 1;
    return chan >= 4 ? units * 2 : units;
}

/* ---- transfers ---- */

static uint32_t phys_addr(const struct i8237 *dma, int n, uint16_t addr)
{
    uint32_t page = dma->page[page_index[n]];
    if (n >= 4) {
        return (page & 0xFE) << 16 | (uint32_t)addr << 1;
    }
    return page << 16 | addr;
}

/* Terminal count: flag it, drop a software request, reload or mask. */
static void reach_tc(struct i8237 *dma, int n)
{
    struct i8237_ctl *ctl = &dma->ctl[n >> 2];
    struct i8237_chan *c = &ctl->ch[n & 3];
    uint8_t bit = (uint8_t)(1u << (n & 3));
    c->tc = true;
    ctl->status |= bit;
    ctl->request &= (uint8_t)~bit;
    if (c->mode & MODE_AUTOINIT) {
        c->addr = c->base_addr;
        c->count = c->base_count;
    } else {
        ctl->mask |= bit;
    }
}

/*
 * Move whole units between buf and memory.  A run is as long as the
 * count, the buffer and (incrementing) the distance to the address wrap
 * allow; decrementing goes a unit at a time, memory order reversed.
 */
static size_t transfer(struct i8237 *dma, int n, uint8_t *buf, size_t len, bool to_memory)
{
    struct i8237_chan *c = chan_of(dma, n);
    size_t unit = n >= 4 ? 2 : 1;
    int type = (c->mode >> 2) & 3;
    bool touch = type == (to_memory ? I8237_WRITE : I8237_READ);
    if (!touch && type != I8237_VERIFY) {
        log_ch(LOG_GUEST, "dma: channel %d programmed for the other direction", n);
    }
    c->tc = false;
    size_t done = 0;
    while (len - done >= unit && !c->tc) {
        uint32_t left = (uint32_t)c->count + 1;
        uint32_t units = (uint32_t)((len - done) / unit < left ? (len - done) / unit : left);
        bool dec = (c->mode & MODE_DECREMENT) != 0;
        if (dec) {
            units = 1;
        } else if (units > 0x10000u - c->addr) {
            units = 0x10000u - c->addr;
        }
        uint32_t pa = phys_addr(dma, n, c->addr);
        size_t bytes = units * unit;
        if (touch && to_memory) {
            bus_write_buf(dma->bus, pa, buf + done, bytes);
        } else if (touch) {
            bus_read_buf(dma->bus, pa, buf + done, bytes);
        } else if (!to_memory) {
            memset(buf + done, 0xFF, bytes);
        }
        done += bytes;
        c->addr = (uint16_t)(dec ? c->addr - units : c->addr + units);
        c->count = (uint16_t)(c->count - units);
        if (units == left) {
            reach_tc(dma, n);
        }
    }
    return done;
}

size_t i8237_write_memory(struct i8237 *dma, int chan, const void *buf, size_t len)
{
    if (chan < 0 || chan > 7 || chan == 4) {
        return 0;
    }
    /* the buffer is only read on this path */
    return transfer(dma, chan, (uint8_t *)(uintptr_t)buf, len, true);
}

size_t i8237_read_memory(struct i8237 *dma, int chan, void *buf, size_t len)
{
    if (chan < 0 || chan > 7 || chan == 4) {
        return 0;
    }
    return transfer(dma, chan, buf, len, false);
}

/* ---- registers ---- */

static void master_clear(struct i8237_ctl *ctl)
{
    ctl->command = 0;
    ctl->status = 0;
    ctl->request = 0;
    ctl->temp = 0;
    ctl->flipflop = false;
    ctl->mask = 0x0F;
}

static uint8_t reg_read(struct i8237 *dma, int k, int reg)
{
    struct i8237_ctl *ctl = &dma->ctl[k];
    if (reg < 8) {
        struct i8237_chan *c = &ctl->ch[reg >> 1];
        uint16_t v = (reg & 1) ? c->count : c->addr;
        uint8_t byte = (uint8_t)(ctl->flipflop ? v >> 8 : v);
        ctl->flipflop = !ctl->flipflop;
        return byte;
    }
    switch (reg) {
    case REG_STATUS: {
        uint8_t req = ctl->request;
        for (int i = 0; i < 4; i++) {
            if (ctl->ch[i].dreq) {
                req |= (uint8_t)(1u << i);
            }
        }
        uint8_t v = (uint8_t)(ctl->status | req << 4);
        ctl->status = 0;   /* the read clears the terminal-count bits */
        return v;
    }
    case REG_CLEAR:
        return ctl->temp;
    case REG_MASK_ALL:
        return (uint8_t)(0xF0 | ctl->mask);
    default:
        return 0xFF;
    }
}

static void write_addr_count(struct i8237_ctl *ctl, int reg, uint8_t val)
{
    struct i8237_chan *c = &ctl->ch[reg >> 1];
    uint16_t *base = (reg & 1) ? &c->base_count : &c->base_addr;
    if (ctl->flipflop) {
        *base = (uint16_t)((*base & 0x00FF) | val << 8);
    } else {
        *base = (uint16_t)((*base & 0xFF00) | val);
    }
    ctl->flipflop = !ctl->flipflop;
    if (reg & 1) {
        c->count = c->base_count;
    } else {
        c->addr = c->base_addr;
    }
}

static void reg_write(struct i8237 *dma, int k, int reg, uint8_t val)
{
    struct i8237_ctl *ctl = &dma->ctl[k];
    uint8_t bit = (uint8_t)(1u << (val & 3));
    if (reg < 8) {
        write_addr_count(ctl, reg, val);
        return;
    }
    switch (reg) {
    case REG_STATUS:
        ctl->command = val;
        if (val & CMD_MEM2MEM) {
            log_once("dma: memory-to-memory transfers are not implemented");
        }
        break;
    case REG_REQUEST:
        ctl->request = (val & 4) ? (ctl->request | bit) : (ctl->request & ~bit);
        if ((val & 4) && !ctl->ch[val & 3].fn) {
            log_ch(LOG_UNIMP, "dma: software request on channel %d without a device",
                   k * 4 + (val & 3));
        }
        break;
    case REG_MASK1:
        ctl->mask = (val & 4) ? (ctl->mask | bit) : (ctl->mask & ~bit);
        break;
    case REG_MODE:
        ctl->ch[val & 3].mode = val;
        return;
    case REG_FLIPFLOP:
        ctl->flipflop = false;
        return;
    case REG_CLEAR:
        master_clear(ctl);
        return;
    case REG_UNMASK_ALL:
        ctl->mask = 0;
        break;
    case REG_MASK_ALL:
        ctl->mask = val & 0x0F;
        break;
    default:
        return;
    }
    service_all(dma);   /* a channel may have become able to run */
}

static uint32_t dma1_read(void *opaque, uint32_t off, int size)
{
    return reg_read(opaque, 0, (int)off);
}

static void dma1_write(void *opaque, uint32_t off, uint32_t val, int size)
{
    reg_write(opaque, 0, (int)off, (uint8_t)val);
}

static uint32_t dma2_read(void *opaque, uint32_t off, int size)
{
    return reg_read(opaque, 1, (int)(off >> 1));
}

static void dma2_write(void *opaque, uint32_t off, uint32_t val, int size)
{
    reg_write(opaque, 1, (int)(off >> 1), (uint8_t)val);
}

static uint32_t page_read(void *opaque, uint32_t off, int size)
{
    struct i8237 *dma = opaque;
    return dma->page[off + 1];
}

static void page_write(void *opaque, uint32_t off, uint32_t val, int size)
{
    struct i8237 *dma = opaque;
    dma->page[off + 1] = (uint8_t)val;
}

static const struct io_ops dma1_ops = { .read = dma1_read, .write = dma1_write, .sizes = 1 };
static const struct io_ops dma2_ops = { .read = dma2_read, .write = dma2_write, .sizes = 1 };
static const struct io_ops page_ops = { .read = page_read, .write = page_write, .sizes = 1 };

/* ---- life cycle ---- */

void i8237_reset(struct i8237 *dma)
{
    for (int k = 0; k < 2; k++) {
        struct i8237_ctl *ctl = &dma->ctl[k];
        for (int i = 0; i < 4; i++) {
            struct i8237_chan *c = &ctl->ch[i];
            c->base_addr = c->base_count = c->addr = c->count = 0;
            c->mode = 0;
            c->tc = false;
        }
        master_clear(ctl);
    }
    memset(dma->page, 0, sizeof(dma->page));
}

struct i8237 *i8237_new(struct bus *bus)
{
    struct i8237 *dma = calloc(1, sizeof(*dma));
    if (!dma) {
        return NULL;
    }
    dma->bus = bus;
    i8237_reset(dma);
    if (bus_map_ports(bus, 0x00, 16, &dma1_ops, dma) < 0 ||
        bus_map_ports(bus, 0xC0, 32, &dma2_ops, dma) < 0 ||
        bus_map_ports(bus, 0x81, 15, &page_ops, dma) < 0) {
        free(dma);
        return NULL;
    }
    return dma;
}

void i8237_free(struct i8237 *dma)
{
    free(dma);
}
