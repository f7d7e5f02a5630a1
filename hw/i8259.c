/*
 * i8259.c - two Intel 8259A programmable interrupt controllers, cascaded
 * as on the PC/AT: the slave's INT pin drives the master's IR2.  Ports:
 *
 *   0x20/0xA0  write: ICW1 (bit 4 set), OCW2 (bits 4,3 = 00),
 *              OCW3 (bits 4,3 = 01); read: IRR or ISR (OCW3 RR/RIS), or
 *              the poll word after an OCW3 with P set
 *   0x21/0xA1  write: ICW2-ICW4 during initialization, else OCW1 (IMR);
 *              read: IMR
 *   0x4D0/0x4D1  PIIX3 ELCR1/ELCR2: per-IRQ edge (0) or level (1) trigger;
 *              IRQ0-2, 8 and 13 are always edge triggered
 *
 * Modelled: the ICW1-ICW4 sequence, masking, fixed and rotating priority
 * (OCW2 non-specific/specific EOI, rotate on EOI, set priority, rotate in
 * automatic EOI mode), automatic EOI, special fully nested mode, special
 * mask mode, poll mode, edge and level triggering (ICW1 LTIM or ELCR),
 * spurious interrupts (a request that vanished before INTA answers with
 * the IR7 vector of the chip concerned and sets no ISR bit; for the slave,
 * the master's IR2 is still put in service, as on real boards).
 *
 * Edge mode: a rising edge sets the request latch, which then holds until
 * the INTA cycle even if the line drops again.  (The datasheet asks the
 * line to stay high until INTA; holding the latch lets devices pulse.)
 *
 * Not modelled: MCS-80/85 mode (ICW4 uPM = 0: the vector is still
 * base + IR), buffered mode, slave IDs other than 2 (the slave answers
 * for the master's IR2 whatever ICW3 it was given).
 */
#include "i8259.h"

#include <stdlib.h>
#include <string.h>

#include "hw/bus.h"
#include "util/log.h"

enum { MASTER, SLAVE, CASCADE_IR = 2 };

static void chip_reset(struct i8259_chip *c, bool is_master)
{
    memset(c, 0, sizeof(*c));
    c->is_master = is_master;
    c->lowest = 7;
    c->icw3 = is_master ? 1u << CASCADE_IR : CASCADE_IR;
    c->elcr_mask = is_master ? 0xF8 : 0xDE;
}

/* Requests as the IRR shows them: edge latches, or live levels. */
static uint8_t chip_irr(const struct i8259_chip *c)
{
    uint8_t level = c->ltim ? 0xFF : c->elcr;
    return (uint8_t)((c->edge & ~level) | (c->in & level));
}

/* 0 is the highest priority, 7 the lowest. */
static int chip_prio(const struct i8259_chip *c, int ir)
{
    return (ir - c->lowest - 1) & 7;
}

/* The IR with the best priority in `mask`, or -1. */
static int chip_best(const struct i8259_chip *c, uint8_t mask)
{
    for (int p = 0; p < 8; p++) {
        int ir = (c->lowest + 1 + p) & 7;
        if (mask & (1u << ir)) {
            return ir;
        }
    }
    return -1;
}

static bool chip_is_cascade(const struct i8259_chip *c, int ir)
{
    return c->is_master && !c->single && (c->icw3 & (1u << ir));
}

/* The request that would be delivered now, or -1 (INT low). */
static int chip_request(const struct i8259_chip *c)
{
    int ir = chip_best(c, (uint8_t)(chip_irr(c) & ~c->imr));
    if (ir < 0) {
        return -1;
    }
    /* In special mask mode a masked level in service blocks nothing. */
    uint8_t busy = c->smm ? (uint8_t)(c->isr & ~c->imr) : c->isr;
    int in_service = chip_best(c, busy);
    if (in_service < 0) {
        return ir;
    }
    int p = chip_prio(c, ir), q = chip_prio(c, in_service);
    if (p < q) {
        return ir;
    }
    /* Special fully nested: the slave may nest on its own master level. */
    if (p == q && c->sfnm && chip_is_cascade(c, ir)) {
        return ir;
    }
    return -1;
}

/* Drive one input pin; edges set the edge-sense latch. */
static void chip_input(struct i8259_chip *c, int ir, int level)
{
    uint8_t bit = (uint8_t)(1u << ir);
    if (level) {
        if (!(c->in & bit)) {
            c->edge |= bit;
        }
        c->in |= bit;
    } else {
        c->in &= (uint8_t)~bit;
    }
}

/* Propagate the slave's INT to master IR2, then the master's INT out. */
static void pic_update(struct i8259 *pic)
{
    struct i8259_chip *s = &pic->chip[SLAVE];
    chip_input(&pic->chip[MASTER], CASCADE_IR, chip_request(s) >= 0);
    bool level = chip_request(&pic->chip[MASTER]) >= 0;
    if (level != pic->intr_level) {
        pic->intr_level = level;
        irq_set(&pic->intr_out, level);
    }
}

/* The part of INTA one chip performs for `ir`: IRR to ISR. */
static void chip_accept(struct i8259_chip *c, int ir)
{
    uint8_t bit = (uint8_t)(1u << ir);
    c->edge &= (uint8_t)~bit;
    if (c->aeoi) {
        if (c->rotate_aeoi) {
            c->lowest = (uint8_t)ir;
        }
    } else {
        c->isr |= bit;
    }
}

int i8259_ack(struct i8259 *pic)
{
    struct i8259_chip *m = &pic->chip[MASTER], *s = &pic->chip[SLAVE];
    int ir = chip_request(m);
    if (ir < 0) {
        log_ch(LOG_INT, "pic: spurious interrupt on master");
        return (m->base | 7) & 0xFF;
    }
    chip_accept(m, ir);
    if (!chip_is_cascade(m, ir)) {
        pic_update(pic);
        return (m->base | ir) & 0xFF;
    }
    /* The slave's INT drops during its INTA; a new request after the
     * cycle then makes a fresh edge on the master's IR2. */
    chip_input(m, CASCADE_IR, 0);
    int sir = chip_request(s);
    int vector;
    if (sir < 0) {
        log_ch(LOG_INT, "pic: spurious interrupt on slave");
        vector = s->base | 7;
    } else {
        chip_accept(s, sir);
        vector = s->base | sir;
    }
    pic_update(pic);
    return vector & 0xFF;
}

bool i8259_pending(const struct i8259 *pic)
{
    return pic->intr_level;
}

void i8259_set_irq(void *opaque, int n, int level)
{
    struct i8259 *pic = opaque;
    if (n < 0 || n > 15) {
        return;
    }
    chip_input(&pic->chip[n >> 3], n & 7, level);
    pic_update(pic);
}

static void write_icw1(struct i8259_chip *c, uint8_t val)
{
    uint8_t in = c->in, elcr = c->elcr;
    chip_reset(c, c->is_master);
    c->in = in;   /* the pins keep their levels; only the latches clear */
    c->elcr = elcr;
    c->ltim = val & 0x08;
    c->single = val & 0x02;
    c->icw4_wanted = val & 0x01;
    c->icw_step = 2;
    if (val & 0xE4) {
        log_ch(LOG_GUEST, "pic: ICW1 %#x sets MCS-80/85 bits", val);
    }
}

static void write_ocw2(struct i8259_chip *c, uint8_t val)
{
    int level = val & 7;
    int ir;
    switch (val >> 5) {
    case 0: /* clear rotate in AEOI mode */
        c->rotate_aeoi = false;
        break;
    case 4: /* set rotate in AEOI mode */
        c->rotate_aeoi = true;
        break;
    case 1: /* non-specific EOI */
    case 5: /* rotate on non-specific EOI */
        ir = chip_best(c, c->isr);
        if (ir >= 0) {
            c->isr &= (uint8_t)~(1u << ir);
            if (val >> 5 == 5) {
                c->lowest = (uint8_t)ir;
            }
        }
        break;
    case 3: /* specific EOI */
        c->isr &= (uint8_t)~(1u << level);
        break;
    case 7: /* rotate on specific EOI */
        c->isr &= (uint8_t)~(1u << level);
        c->lowest = (uint8_t)level;
        break;
    case 6: /* set priority */
        c->lowest = (uint8_t)level;
        break;
    default: /* 2: no operation */
        break;
    }
}

static void write_ocw3(struct i8259_chip *c, uint8_t val)
{
    if (val & 0x40) {
        c->smm = val & 0x20;
    }
    if (val & 0x02) {
        c->read_isr = val & 0x01;
    }
    c->poll = val & 0x04;
}

static void write_odd(struct i8259_chip *c, uint8_t val)
{
    switch (c->icw_step) {
    case 2:
        c->base = val & 0xF8;
        c->icw_step = c->single ? (c->icw4_wanted ? 4 : 0) : 3;
        break;
    case 3:
        c->icw3 = c->is_master ? val : (val & 7);
        c->icw_step = c->icw4_wanted ? 4 : 0;
        break;
    case 4:
        c->upm = val & 0x01;
        c->aeoi = val & 0x02;
        c->sfnm = val & 0x10;
        c->icw_step = 0;
        if (!c->upm) {
            log_once("pic: MCS-80/85 mode is not modelled");
        }
        break;
    default:
        c->imr = val;
        break;
    }
}

/* Poll: an INTA without the vector; returns 0x80 | IR, or 0. */
static uint8_t chip_poll(struct i8259 *pic, struct i8259_chip *c)
{
    int ir = chip_request(c);
    if (ir < 0) {
        return 0;
    }
    chip_accept(c, ir);
    pic_update(pic);
    return (uint8_t)(0x80 | ir);
}

static uint32_t pic_read(void *opaque, uint32_t off, int size)
{
    (void)size;
    struct i8259 *pic = opaque;
    struct i8259_chip *c = &pic->chip[off >> 1];
    if (off & 1) {
        return c->imr;
    }
    if (c->poll) {
        c->poll = false;
        return chip_poll(pic, c);
    }
    return c->read_isr ? c->isr : chip_irr(c);
}

static void pic_write(void *opaque, uint32_t off, uint32_t val, int size)
{
    (void)size;
    struct i8259 *pic = opaque;
    struct i8259_chip *c = &pic->chip[off >> 1];
    uint8_t v = (uint8_t)val;
    if (off & 1) {
        write_odd(c, v);
    } else if (v & 0x10) {
        write_icw1(c, v);
    } else if (v & 0x08) {
        write_ocw3(c, v);
    } else {
        write_ocw2(c, v);
    }
    pic_update(pic);
}

/* Offsets 0-1 are the master's ports, 2-3 the slave's (see i8259_map). */
static const struct io_ops pic_master_ops = {
    .read = pic_read, .write = pic_write, .sizes = 1,
};

static uint32_t slave_read(void *opaque, uint32_t off, int size)
{
    return pic_read(opaque, off + 2, size);
}

static void slave_write(void *opaque, uint32_t off, uint32_t val, int size)
{
    pic_write(opaque, off + 2, val, size);
}

static const struct io_ops pic_slave_ops = {
    .read = slave_read, .write = slave_write, .sizes = 1,
};

static uint32_t elcr_read(void *opaque, uint32_t off, int size)
{
    (void)size;
    struct i8259 *pic = opaque;
    return pic->chip[off & 1].elcr;
}

static void elcr_write(void *opaque, uint32_t off, uint32_t val, int size)
{
    (void)size;
    struct i8259 *pic = opaque;
    struct i8259_chip *c = &pic->chip[off & 1];
    uint8_t now = (uint8_t)(val & c->elcr_mask);
    /* An input switched to edge mode needs a fresh edge. */
    c->edge &= (uint8_t)~(now ^ c->elcr);
    c->elcr = now;
    pic_update(pic);
}

static const struct io_ops elcr_ops = {
    .read = elcr_read, .write = elcr_write, .sizes = 1,
};

void i8259_init(struct i8259 *pic, struct irq intr_out)
{
    chip_reset(&pic->chip[MASTER], true);
    chip_reset(&pic->chip[SLAVE], false);
    pic->intr_out = intr_out;
    pic->intr_level = false;
}

int i8259_map(struct i8259 *pic, struct bus *bus)
{
    if (bus_map_ports(bus, 0x20, 2, &pic_master_ops, pic) < 0 ||
        bus_map_ports(bus, 0xA0, 2, &pic_slave_ops, pic) < 0 ||
        bus_map_ports(bus, 0x4D0, 2, &elcr_ops, pic) < 0) {
        return -1;
    }
    return 0;
}

struct i8259 *i8259_new(struct bus *bus, struct irq intr_out)
{
    struct i8259 *pic = calloc(1, sizeof(*pic));
    if (!pic) {
        return NULL;
    }
    i8259_init(pic, intr_out);
    if (bus && i8259_map(pic, bus) < 0) {
        free(pic);
        return NULL;
    }
    return pic;
}

void i8259_free(struct i8259 *pic)
{
    free(pic);
}
