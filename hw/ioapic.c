/*
 * ioapic.c - the 82093AA I/O APIC (see ioapic.h; Intel 82093AA datasheet,
 * order number 290566).
 *
 * Registers behind IOWIN, chosen by IOREGSEL:
 *   00h  IOAPICID   bits 27:24 the ID (read/write)
 *   01h  IOAPICVER  00170011h: 24 entries, version 11h (read-only)
 *   02h  IOAPICARB  bits 27:24 the arbitration ID (read-only; it follows
 *                   the ID here, as after an INIT-deassert on the bus)
 *   10h-3Fh         redirection entries, two 32-bit halves each
 *
 * Edge-triggered pins send a message on each rising edge while unmasked
 * (an edge on a masked pin is lost, as the datasheet says).  A
 * level-triggered pin sends one message while asserted and sets Remote
 * IRR; the local APIC's EOI for the entry's vector clears Remote IRR, and
 * a pin still asserted then sends again.
 */
#include "ioapic.h"

#include <stdlib.h>

#include "hw/bus.h"
#include "util/log.h"

#define IOAPIC_MMIO_LEN 0x1000u

enum { IOREGSEL = 0x00, IOWIN = 0x10 };
enum { REG_ID = 0x00, REG_VER = 0x01, REG_ARB = 0x02, REG_REDIR = 0x10 };

/* Redirection entry bits. */
#define RE_VECTOR 0xFFull
#define RE_MODE (7ull << 8)
#define RE_LOGICAL (1ull << 11)
#define RE_STATUS (1ull << 12)
#define RE_POLARITY (1ull << 13)
#define RE_REMOTE_IRR (1ull << 14)
#define RE_LEVEL (1ull << 15)
#define RE_MASKED (1ull << 16)
#define RE_DEST_SHIFT 56
#define RE_WRITABLE_LO (RE_VECTOR | RE_MODE | RE_LOGICAL | RE_POLARITY | RE_LEVEL | RE_MASKED)

static bool pin_asserted(const struct ioapic *io, int pin)
{
    return (io->level >> pin) & 1;
}

/* Send the entry's message; true if a local APIC took it. */
static bool send(struct ioapic *io, int pin)
{
    uint64_t e = io->redir[pin];
    struct apic_msg msg = {
        .vector = (uint8_t)(e & RE_VECTOR),
        .mode = (uint8_t)((e & RE_MODE) >> 8),
        .dest = (uint8_t)(e >> RE_DEST_SHIFT),
        .logical = (e & RE_LOGICAL) != 0,
        .level = (e & RE_LEVEL) != 0,
    };
    bool ok = io->deliver(io->opaque, &msg);
    log_ch(LOG_INT, "ioapic: pin %d -> vector %#x mode %u dest %#x%s%s", pin, msg.vector,
           msg.mode, msg.dest, msg.logical ? " logical" : "", ok ? "" : " (not accepted)");
    return ok;
}

/* A level-triggered pin: send while asserted, unmasked and not in service. */
static void service_level(struct ioapic *io, int pin)
{
    uint64_t e = io->redir[pin];
    if (!(e & RE_LEVEL) || (e & (RE_MASKED | RE_REMOTE_IRR)) || !pin_asserted(io, pin)) {
        return;
    }
    if (send(io, pin)) {
        io->redir[pin] |= RE_REMOTE_IRR;
    }
}

void ioapic_set_irq(void *opaque, int pin, int level)
{
    struct ioapic *io = opaque;
    if (pin < 0 || pin >= IOAPIC_PINS) {
        return;
    }
    bool was = pin_asserted(io, pin);
    if (level) {
        io->level |= 1u << pin;
    } else {
        io->level &= ~(1u << pin);
    }
    uint64_t e = io->redir[pin];
    if (e & RE_LEVEL) {
        service_level(io, pin);
    } else if (level && !was && !(e & RE_MASKED)) {
        send(io, pin);
    }
}

void ioapic_eoi(struct ioapic *io, int vector)
{
    for (int pin = 0; pin < IOAPIC_PINS; pin++) {
        uint64_t e = io->redir[pin];
        if ((e & RE_REMOTE_IRR) && (int)(e & RE_VECTOR) == vector) {
            io->redir[pin] &= ~RE_REMOTE_IRR;
            service_level(io, pin);
        }
    }
}

static uint32_t read_reg(struct ioapic *io)
{
    uint8_t r = io->regsel;
    switch (r) {
    case REG_ID:
    case REG_ARB:
        return (uint32_t)io->id << 24;
    case REG_VER:
        return IOAPIC_VERSION;
    default:
        break;
    }
    if (r >= REG_REDIR && r < REG_REDIR + 2 * IOAPIC_PINS) {
        uint64_t e = io->redir[(r - REG_REDIR) / 2];
        return (r & 1) ? (uint32_t)(e >> 32) : (uint32_t)e;
    }
    log_ch(LOG_GUEST, "ioapic: read of register %#x", r);
    return 0;
}

/* A redirection entry half was written. */
static void write_redir(struct ioapic *io, int pin, bool high, uint32_t val)
{
    uint64_t e = io->redir[pin];
    if (high) {
        e = (e & 0xFFFFFFFFull) | ((uint64_t)(val & 0xFF000000u) << 32);
    } else {
        e = (e & ~RE_WRITABLE_LO) | (val & RE_WRITABLE_LO);
        if (!(e & RE_LEVEL)) {
            /* an edge-triggered entry has no Remote IRR; Linux relies on
             * the switch to edge clearing it (its 82093AA erratum fix) */
            e &= ~RE_REMOTE_IRR;
        }
    }
    io->redir[pin] = e;
    service_level(io, pin);   /* unmasked while asserted */
}

static void write_reg(struct ioapic *io, uint32_t val)
{
    uint8_t r = io->regsel;
    if (r == REG_ID) {
        io->id = (uint8_t)((val >> 24) & 0x0F);
    } else if (r >= REG_REDIR && r < REG_REDIR + 2 * IOAPIC_PINS) {
        write_redir(io, (r - REG_REDIR) / 2, r & 1, val);
    } else if (r != REG_VER && r != REG_ARB) {
        log_ch(LOG_GUEST, "ioapic: write of register %#x", r);
    }
}

static uint32_t ioapic_mmio_read(void *opaque, uint32_t off, int size)
{
    struct ioapic *io = opaque;
    uint32_t v;
    if (off < IOREGSEL + 4) {
        v = io->regsel;
    } else if (off >= IOWIN && off < IOWIN + 4) {
        v = read_reg(io);
    } else {
        return 0;
    }
    v >>= 8 * (off & 3);
    return size == 4 ? v : v & ((1u << (8 * size)) - 1);
}

static void ioapic_mmio_write(void *opaque, uint32_t off, uint32_t val, int size)
{
    struct ioapic *io = opaque;
    if (off == IOREGSEL) {
        io->regsel = (uint8_t)val;
    } else if (off == IOWIN && size == 4) {
        write_reg(io, val);
    } else {
        log_once("ioapic: %d-byte write at offset %#x ignored", size, off);
    }
}

static const struct io_ops ioapic_ops = {
    .read = ioapic_mmio_read, .write = ioapic_mmio_write, .sizes = 1 | 2 | 4,
};

void ioapic_reset(struct ioapic *io)
{
    io->regsel = 0;
    io->id = 0;
    for (int i = 0; i < IOAPIC_PINS; i++) {
        io->redir[i] = RE_MASKED;
    }
}

struct ioapic *ioapic_new(struct bus *bus, uint32_t base, ioapic_deliver_fn deliver,
                          void *opaque)
{
    struct ioapic *io = calloc(1, sizeof(*io));
    if (!io) {
        return NULL;
    }
    io->bus = bus;
    io->base = base;
    io->deliver = deliver;
    io->opaque = opaque;
    ioapic_reset(io);
    if (bus_map_mmio(bus, base, IOAPIC_MMIO_LEN, &ioapic_ops, io) < 0) {
        free(io);
        return NULL;
    }
    return io;
}

void ioapic_free(struct ioapic *io)
{
    if (!io) {
        return;
    }
    bus_unmap(io->bus, io->base);
    free(io);
}
