/*
 * 82093AA I/O APIC: IOREGSEL/IOWIN at 0xFEC00000, redirection entries,
 * edge and level pins with Remote IRR, and the whole chain to a local
 * APIC and back (EOI broadcast).
 */
#include <criterion/criterion.h>

#include "hw/apic.h"
#include "hw/bus.h"
#include "hw/ioapic.h"
#include "hw/timer.h"

#define BASE IOAPIC_DEFAULT_BASE

static struct bus *bus;
static struct ioapic *io;
static struct apic_msg msgs[16];
static int nmsg;
static bool accept = true;

static bool record(void *opaque, const struct apic_msg *m)
{
    msgs[nmsg++ % 16] = *m;
    return accept;
}

static void setup(void)
{
    nmsg = 0;
    accept = true;
    bus = bus_new(4096);
    io = ioapic_new(bus, BASE, record, NULL);
    cr_assert_not_null(io);
}

static void teardown(void)
{
    ioapic_free(io);
    bus_free(bus);
}

static uint32_t reg(uint8_t r)
{
    bus_write(bus, BASE, r, 1);
    return bus_read(bus, BASE + 0x10, 4);
}

static void set_reg(uint8_t r, uint32_t v)
{
    bus_write(bus, BASE, r, 4);
    bus_write(bus, BASE + 0x10, v, 4);
}

static void redir(int pin, uint32_t lo, uint32_t hi)
{
    set_reg((uint8_t)(0x11 + 2 * pin), hi);
    set_reg((uint8_t)(0x10 + 2 * pin), lo);
}

TestSuite(ioapic, .init = setup, .fini = teardown);

Test(ioapic, identification_registers)
{
    cr_assert_eq(reg(0x01), 0x00170011);       /* 24 entries, version 11h */
    cr_assert_eq(reg(0x00), 0);
    set_reg(0x00, 0xFF000000);
    cr_assert_eq(reg(0x00), 0x0F000000);       /* 4-bit ID */
    cr_assert_eq(reg(0x02), 0x0F000000);       /* arbitration ID */
    set_reg(0x01, 0);
    cr_assert_eq(reg(0x01), 0x00170011);       /* read-only */
    bus_write(bus, BASE, 0x12, 1);
    cr_assert_eq(bus_read(bus, BASE, 1), 0x12); /* IOREGSEL reads back */
}

Test(ioapic, reset_masks_every_entry)
{
    for (int pin = 0; pin < IOAPIC_PINS; pin++) {
        cr_assert_eq(reg((uint8_t)(0x10 + 2 * pin)), 0x00010000, "pin %d", pin);
        cr_assert_eq(reg((uint8_t)(0x11 + 2 * pin)), 0, "pin %d", pin);
    }
    ioapic_set_irq(io, 4, 1);
    cr_assert_eq(nmsg, 0);
}

Test(ioapic, entry_fields_make_the_message)
{
    /* vector 0x3C, lowest priority, logical, active low, dest 0x05 */
    redir(7, 0x0000293C, 0x05000000);
    cr_assert_eq(reg(0x10 + 14), 0x0000293C);
    cr_assert_eq(reg(0x11 + 14), 0x05000000);
    set_reg(0x11 + 14, 0x05FFFFFF);
    cr_assert_eq(reg(0x11 + 14), 0x05000000, "only bits 63:56 are the destination");
    ioapic_set_irq(io, 7, 1);
    cr_assert_eq(nmsg, 1);
    cr_assert_eq(msgs[0].vector, 0x3C);
    cr_assert_eq(msgs[0].mode, APIC_DM_LOWEST);
    cr_assert(msgs[0].logical);
    cr_assert_eq(msgs[0].dest, 0x05);
    cr_assert_not(msgs[0].level);
}

Test(ioapic, edge_sends_on_rising_edges)
{
    redir(4, 0x34, 0);
    ioapic_set_irq(io, 4, 1);
    ioapic_set_irq(io, 4, 1);
    cr_assert_eq(nmsg, 1);
    ioapic_set_irq(io, 4, 0);
    cr_assert_eq(nmsg, 1);
    ioapic_set_irq(io, 4, 1);
    cr_assert_eq(nmsg, 2);
    cr_assert_eq(reg(0x18) & (1u << 14), 0, "no Remote IRR for edge");
}

Test(ioapic, masked_edge_is_lost)
{
    redir(3, 0x10033, 0);
    ioapic_set_irq(io, 3, 1);
    ioapic_set_irq(io, 3, 0);
    redir(3, 0x33, 0);
    cr_assert_eq(nmsg, 0);
}

Test(ioapic, level_remote_irr_until_eoi)
{
    redir(9, 0x8039, 0);
    ioapic_set_irq(io, 9, 1);
    cr_assert_eq(nmsg, 1);
    cr_assert(msgs[0].level);
    cr_assert_eq(reg(0x22) & (1u << 14), 1u << 14);
    ioapic_set_irq(io, 9, 1);
    cr_assert_eq(nmsg, 1, "in service: no second message");
    ioapic_eoi(io, 0x38);
    cr_assert_eq(reg(0x22) & (1u << 14), 1u << 14, "another vector's EOI");
    ioapic_eoi(io, 0x39);
    cr_assert_eq(nmsg, 2, "still asserted after EOI: sent again");
    ioapic_set_irq(io, 9, 0);
    ioapic_eoi(io, 0x39);
    cr_assert_eq(nmsg, 2);
    cr_assert_eq(reg(0x22) & (1u << 14), 0);
}

Test(ioapic, level_unmasked_while_asserted)
{
    redir(11, 0x1803B, 0);
    ioapic_set_irq(io, 11, 1);
    cr_assert_eq(nmsg, 0);
    redir(11, 0x803B, 0);
    cr_assert_eq(nmsg, 1);
}

Test(ioapic, switch_to_edge_clears_remote_irr)
{
    redir(10, 0x803A, 0);
    ioapic_set_irq(io, 10, 1);
    cr_assert_eq(reg(0x24) & (1u << 14), 1u << 14);
    redir(10, 0x1003A, 0);                     /* masked, edge */
    cr_assert_eq(reg(0x24) & (1u << 14), 0);
    redir(10, 0x803A, 0);                      /* level again, still high */
    cr_assert_eq(nmsg, 2);
    cr_assert_eq(reg(0x24) & (1u << 14), 1u << 14);
}

Test(ioapic, refused_message_leaves_no_remote_irr)
{
    accept = false;
    redir(5, 0x8035, 0x07000000);
    ioapic_set_irq(io, 5, 1);
    cr_assert_eq(nmsg, 1);
    cr_assert_eq(reg(0x1A) & (1u << 14), 0);
}

/* --- the chain: pin -> I/O APIC -> local APIC -> CPU -> EOI -> pin --- */

static struct apic *lapic;
static bool cpu_intr;

static void chain_intr(void *opaque, bool level)
{
    cpu_intr = level;
}

static void chain_nmi(void *opaque)
{
}

static int chain_extint(void *opaque)
{
    return 0x08;
}

static void chain_eoi(void *opaque, int vector)
{
    ioapic_eoi(io, vector);
}

static bool chain_deliver(void *opaque, const struct apic_msg *m)
{
    return apic_deliver(lapic, m);
}

static const struct apic_hooks chain_hooks = {
    .set_intr = chain_intr, .nmi = chain_nmi, .extint_ack = chain_extint, .eoi = chain_eoi,
};

Test(ioapic, chain_through_local_apic)
{
    struct clock clk;
    uint64_t icount = 0;
    clock_init(&clk, CLOCK_DETERMINISTIC, &icount);
    ioapic_free(io);
    io = ioapic_new(bus, BASE, chain_deliver, NULL);
    lapic = apic_new(bus, &clk, &chain_hooks, NULL);
    cr_assert_not_null(lapic);
    bus_write(bus, APIC_DEFAULT_BASE + 0xF0, 0x1FF, 4);   /* software-enable */
    bus_write(bus, APIC_DEFAULT_BASE + 0x350, 0x10700, 4); /* LINT0 masked */
    bus_write(bus, APIC_DEFAULT_BASE + 0xD0, 0x01000000, 4);
    redir(2, 0x0830, 0x01000000);              /* IRQ0: edge, logical dest 1 */
    redir(9, 0x8839, 0x01000000);              /* SCI: level */
    ioapic_set_irq(io, 2, 1);
    ioapic_set_irq(io, 9, 1);
    cr_assert(cpu_intr);
    cr_assert_eq(apic_ack(lapic), 0x39);       /* the higher vector first */
    cr_assert_eq(bus_read(bus, APIC_DEFAULT_BASE + 0x190, 4), 1u << 25, "TMR 0x39");
    cr_assert_not(cpu_intr, "0x30 is in the same class: it waits");
    ioapic_set_irq(io, 9, 0);                  /* the handler quiets the device */
    bus_write(bus, APIC_DEFAULT_BASE + 0xB0, 0, 4);
    cr_assert_eq(reg(0x22) & (1u << 14), 0, "the EOI reached the I/O APIC");
    cr_assert(cpu_intr);
    cr_assert_eq(apic_ack(lapic), 0x30);
    bus_write(bus, APIC_DEFAULT_BASE + 0xB0, 0, 4);
    cr_assert_not(cpu_intr);
    ioapic_set_irq(io, 9, 1);                  /* a new assertion: sent again */
    cr_assert(cpu_intr);
    cr_assert_eq(apic_ack(lapic), 0x39);
    apic_free(lapic);
}
