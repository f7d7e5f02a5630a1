/*
 * ioapic.h - the Intel 82093AA I/O APIC: 24 interrupt input pins, each
 * with a 64-bit redirection entry that turns the pin into an interrupt
 * message on the APIC bus; memory-mapped at 0xFEC00000 as an index
 * register (IOREGSEL, offset 0) and a data window (IOWIN, offset 10h).
 *
 * The board drives the pins through ioapic_set_irq() (a struct irq's
 * `set`) and hands the messages to the local APIC through the `deliver`
 * callback; the local APIC's EOI broadcast comes back as ioapic_eoi().
 * Inputs are logical levels (1 = asserted), as on QEMU's PC: the polarity
 * bit is kept for the guest to read but does not invert the pin.
 */
#ifndef KASOU_IOAPIC_H
#define KASOU_IOAPIC_H

#include <stdbool.h>
#include <stdint.h>

#include "hw/apic.h"

struct bus;

#define IOAPIC_DEFAULT_BASE 0xFEC00000u
#define IOAPIC_PINS 24
#define IOAPIC_VERSION 0x00170011u   /* 24 entries (max index 17h), version 11h */

/* Sends a message; true if a local APIC accepted it. */
typedef bool (*ioapic_deliver_fn)(void *opaque, const struct apic_msg *msg);

struct ioapic {
    struct bus *bus;
    uint32_t base;
    ioapic_deliver_fn deliver;
    void *opaque;
    uint8_t regsel;            /* IOREGSEL */
    uint8_t id;                /* 4-bit I/O APIC ID (register 0, bits 27:24) */
    uint32_t level;            /* input pin levels, bit n = pin n */
    uint64_t redir[IOAPIC_PINS];
};

/* Create the I/O APIC at `base` (reset state: every pin masked). */
struct ioapic *ioapic_new(struct bus *bus, uint32_t base, ioapic_deliver_fn deliver,
                          void *opaque);
void ioapic_free(struct ioapic *io);
/* RESET: ID 0, every redirection entry masked; pin levels are kept. */
void ioapic_reset(struct ioapic *io);
/* Drive input pin n (0-23) to `level`; shaped as a struct irq's `set`. */
void ioapic_set_irq(void *opaque, int pin, int level);
/* The local APIC's EOI broadcast for `vector`: clears Remote IRR. */
void ioapic_eoi(struct ioapic *io, int vector);

#endif
