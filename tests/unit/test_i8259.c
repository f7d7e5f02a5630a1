/* 8259A PIC pair: driven through ports 0x20/0x21, 0xA0/0xA1, 0x4D0/1. */
#include <criterion/criterion.h>

#include "hw/bus.h"
#include "hw/i8259.h"

static struct bus *bus;
static struct i8259 *pic;
static int intr;            /* level on the INT pin */
static int intr_rises;

static void record_intr(void *opaque, int n, int level)
{
    if (level && !intr) {
        intr_rises++;
    }
    intr = level;
}

static void setup(void)
{
    bus = bus_new(4096);
    cr_assert_not_null(bus);
    intr = intr_rises = 0;
    pic = i8259_new(bus, (struct irq){ record_intr, NULL, 0 });
    cr_assert_not_null(pic);
}

static void teardown(void)
{
    i8259_free(pic);
    bus_free(bus);
}

static void out(uint16_t port, uint8_t v)
{
    bus_out(bus, port, v, 1);
}

static uint8_t in(uint16_t port)
{
    return (uint8_t)bus_in(bus, port, 1);
}

/* The PC BIOS sequence: edge, cascade, ICW4; vectors 0x08 and 0x70. */
static void init_pair(uint8_t icw4_master, uint8_t icw4_slave)
{
    out(0x20, 0x11);
    out(0x21, 0x08);
    out(0x21, 0x04);
    out(0x21, icw4_master);
    out(0xA0, 0x11);
    out(0xA1, 0x70);
    out(0xA1, 0x02);
    out(0xA1, icw4_slave);
    out(0x21, 0x00);
    out(0xA1, 0x00);
}

static uint8_t read_isr(uint16_t port)
{
    out(port, 0x0B);
    return in(port);
}

static uint8_t read_irr(uint16_t port)
{
    out(port, 0x0A);
    return in(port);
}

static void irq(int n, int level)
{
    i8259_set_irq(pic, n, level);
}

TestSuite(pic, .init = setup, .fini = teardown);

Test(pic, irq1_ack_and_eoi)
{
    init_pair(0x01, 0x01);
    cr_assert_eq(intr, 0);
    irq(1, 1);
    cr_assert_eq(intr, 1);
    cr_assert(i8259_pending(pic));
    cr_assert_eq(read_irr(0x20), 0x02);
    cr_assert_eq(i8259_ack(pic), 0x09);
    cr_assert_eq(intr, 0);
    cr_assert_eq(read_isr(0x20), 0x02);
    cr_assert_eq(read_irr(0x20), 0x00, "INTA clears the edge request");
    irq(1, 0);
    out(0x20, 0x20);                    /* non-specific EOI */
    cr_assert_eq(read_isr(0x20), 0x00);
    cr_assert_eq(intr, 0);
}

Test(pic, edge_needs_a_new_rising_edge)
{
    init_pair(0x01, 0x01);
    irq(4, 1);
    cr_assert_eq(i8259_ack(pic), 0x0C);
    out(0x20, 0x20);
    cr_assert_eq(intr, 0, "line still high, but no new edge");
    irq(4, 0);
    irq(4, 1);
    cr_assert_eq(intr, 1);
    cr_assert_eq(i8259_ack(pic), 0x0C);
}

Test(pic, pulse_is_latched_until_ack)
{
    init_pair(0x01, 0x01);
    irq(6, 1);
    irq(6, 0);
    cr_assert_eq(intr, 1);
    cr_assert_eq(i8259_ack(pic), 0x0E);
}

Test(pic, fixed_priority_and_nesting)
{
    init_pair(0x01, 0x01);
    irq(3, 1);
    irq(1, 1);
    cr_assert_eq(i8259_ack(pic), 0x09, "IR1 outranks IR3");
    cr_assert_eq(intr, 0, "IR3 waits while IR1 is in service");
    irq(0, 1);
    cr_assert_eq(intr, 1, "IR0 nests over IR1");
    cr_assert_eq(i8259_ack(pic), 0x08);
    cr_assert_eq(read_isr(0x20), 0x03);
    out(0x20, 0x20);                    /* ends IR0, the highest */
    cr_assert_eq(read_isr(0x20), 0x02);
    cr_assert_eq(intr, 0);
    out(0x20, 0x20);
    cr_assert_eq(intr, 1);
    cr_assert_eq(i8259_ack(pic), 0x0B);
}

Test(pic, mask_register)
{
    init_pair(0x01, 0x01);
    out(0x21, 0x02);
    cr_assert_eq(in(0x21), 0x02);
    irq(1, 1);
    cr_assert_eq(intr, 0, "masked");
    cr_assert_eq(read_irr(0x20), 0x02, "IRR still records the request");
    out(0x21, 0x00);
    cr_assert_eq(intr, 1);
    cr_assert_eq(i8259_ack(pic), 0x09);
    out(0xA1, 0xFF);
    cr_assert_eq(in(0xA1), 0xFF);
    irq(12, 1);
    cr_assert_eq(intr, 0, "slave input masked on the slave");
}

Test(pic, cascade_through_slave)
{
    init_pair(0x01, 0x01);
    irq(10, 1);
    cr_assert_eq(intr, 1);
    cr_assert_eq(read_irr(0x20), 0x04);
    cr_assert_eq(i8259_ack(pic), 0x72);
    cr_assert_eq(read_isr(0x20), 0x04, "master IR2 in service");
    cr_assert_eq(read_isr(0xA0), 0x04, "slave IR2 (IRQ10) in service");
    irq(3, 1);
    cr_assert_eq(intr, 0, "IR3 is below IR2 on the master");
    out(0xA0, 0x20);
    out(0x20, 0x20);
    cr_assert_eq(read_isr(0xA0), 0x00);
    cr_assert_eq(read_isr(0x20), 0x00);
    cr_assert_eq(intr, 1);
    cr_assert_eq(i8259_ack(pic), 0x0B);
}

Test(pic, slave_second_request_after_eoi)
{
    init_pair(0x01, 0x01);
    irq(10, 1);
    irq(14, 1);
    cr_assert_eq(i8259_ack(pic), 0x72);
    out(0xA0, 0x20);
    out(0x20, 0x20);
    cr_assert_eq(intr, 1, "IRQ14 follows once both EOIs are in");
    cr_assert_eq(i8259_ack(pic), 0x76);
}

Test(pic, elcr_level_triggering)
{
    init_pair(0x01, 0x01);
    out(0x4D0, 0xFF);
    out(0x4D1, 0xFF);
    cr_assert_eq(in(0x4D0), 0xF8, "IRQ0-2 are always edge");
    cr_assert_eq(in(0x4D1), 0xDE, "IRQ8 and IRQ13 are always edge");
    out(0x4D0, 0x00);
    out(0x4D1, 0x04);                   /* IRQ10 level */
    irq(10, 1);
    cr_assert_eq(i8259_ack(pic), 0x72);
    out(0xA0, 0x20);
    out(0x20, 0x20);
    cr_assert_eq(intr, 1, "a level still high asks again after EOI");
    cr_assert_eq(i8259_ack(pic), 0x72);
    irq(10, 0);
    out(0xA0, 0x20);
    out(0x20, 0x20);
    cr_assert_eq(intr, 0);
    cr_assert_eq(read_irr(0xA0), 0x00, "level IRR follows the line");
}

Test(pic, icw1_ltim_makes_every_input_level)
{
    out(0x20, 0x19);                    /* LTIM, cascade, ICW4 */
    out(0x21, 0x20);
    out(0x21, 0x04);
    out(0x21, 0x01);
    out(0x21, 0x00);
    irq(5, 1);
    cr_assert_eq(i8259_ack(pic), 0x25);
    out(0x20, 0x20);
    cr_assert_eq(intr, 1);
    irq(5, 0);
    cr_assert_eq(intr, 0);
}

Test(pic, spurious_irq7)
{
    init_pair(0x01, 0x01);
    out(0x4D0, 0x20);                   /* IRQ5 level */
    irq(5, 1);
    cr_assert_eq(intr, 1);
    irq(5, 0);                          /* gone before the INTA cycle */
    cr_assert_eq(intr, 0);
    cr_assert_eq(i8259_ack(pic), 0x0F);
    cr_assert_eq(read_isr(0x20), 0x00, "a spurious IR7 is not in service");
}

Test(pic, spurious_irq7_when_masked_after_int)
{
    init_pair(0x01, 0x01);
    irq(3, 1);
    out(0x21, 0x08);
    cr_assert_eq(i8259_ack(pic), 0x0F);
    cr_assert_eq(read_isr(0x20), 0x00);
}

Test(pic, spurious_irq15)
{
    init_pair(0x01, 0x01);
    out(0x4D1, 0x08);                   /* IRQ11 level */
    irq(11, 1);
    irq(11, 0);
    cr_assert_eq(i8259_ack(pic), 0x77);
    cr_assert_eq(read_isr(0xA0), 0x00);
    cr_assert_eq(read_isr(0x20), 0x04, "the master still needs its EOI");
}

Test(pic, poll_mode)
{
    init_pair(0x01, 0x01);
    out(0x21, 0xFF);
    out(0x20, 0x0C);
    cr_assert_eq(in(0x20), 0x00, "nothing requested");
    out(0x21, 0x00);
    irq(6, 1);
    irq(4, 1);
    out(0x20, 0x0C);
    cr_assert_eq(in(0x20), 0x84);
    cr_assert_eq(read_isr(0x20), 0x10, "the poll read acts as INTA");
    out(0x20, 0x0A);
    cr_assert_eq(in(0x20), 0x40, "poll lasts one read");
}

Test(pic, automatic_eoi)
{
    init_pair(0x03, 0x01);
    irq(1, 1);
    cr_assert_eq(i8259_ack(pic), 0x09);
    cr_assert_eq(read_isr(0x20), 0x00);
    irq(3, 1);
    cr_assert_eq(intr, 1, "nothing in service blocks IR3");
    cr_assert_eq(i8259_ack(pic), 0x0B);
}

Test(pic, specific_eoi)
{
    init_pair(0x01, 0x01);
    irq(5, 1);
    cr_assert_eq(i8259_ack(pic), 0x0D);
    irq(4, 1);
    cr_assert_eq(i8259_ack(pic), 0x0C);
    out(0x20, 0x65);                    /* specific EOI for IR5 */
    cr_assert_eq(read_isr(0x20), 0x10, "IR4, the highest, stays");
}

Test(pic, rotation)
{
    init_pair(0x01, 0x01);
    out(0x20, 0xC3);                    /* IR3 lowest: IR4 highest */
    irq(1, 1);
    irq(5, 1);
    cr_assert_eq(i8259_ack(pic), 0x0D, "IR5 outranks IR1 now");
    out(0x20, 0xA0);                    /* rotate on non-specific EOI */
    cr_assert_eq(read_isr(0x20), 0x00);
    irq(6, 1);
    cr_assert_eq(i8259_ack(pic), 0x0E, "IR6 highest after IR5 rotated");
    out(0x20, 0xE6);                    /* rotate on specific EOI, IR6 */
    irq(7, 1);
    cr_assert_eq(i8259_ack(pic), 0x0F);
}

Test(pic, rotate_in_automatic_eoi)
{
    init_pair(0x03, 0x01);
    out(0x20, 0x80);                    /* set rotate in AEOI mode */
    irq(1, 1);
    irq(3, 1);
    cr_assert_eq(i8259_ack(pic), 0x09);
    irq(0, 1);
    cr_assert_eq(i8259_ack(pic), 0x0B, "IR1 went to the bottom");
    cr_assert_eq(i8259_ack(pic), 0x08);
}

Test(pic, special_mask_mode)
{
    init_pair(0x01, 0x01);
    irq(3, 1);
    cr_assert_eq(i8259_ack(pic), 0x0B);
    irq(5, 1);
    cr_assert_eq(intr, 0, "IR3 in service blocks IR5");
    out(0x21, 0x08);                    /* mask IR3 ... */
    cr_assert_eq(intr, 0, "masking alone does not lift the block");
    out(0x20, 0x68);                    /* ... and set special mask mode */
    cr_assert_eq(intr, 1);
    cr_assert_eq(i8259_ack(pic), 0x0D);
    out(0x20, 0x48);                    /* reset special mask mode */
    cr_assert_eq(read_isr(0x20), 0x28);
}

Test(pic, special_fully_nested_mode)
{
    init_pair(0x11, 0x01);              /* master SFNM */
    irq(11, 1);
    cr_assert_eq(i8259_ack(pic), 0x73);
    irq(9, 1);
    cr_assert_eq(intr, 1, "a higher slave request nests on master IR2");
    cr_assert_eq(i8259_ack(pic), 0x71);
    cr_assert_eq(read_isr(0xA0), 0x0A);
}

Test(pic, without_sfnm_slave_cannot_nest)
{
    init_pair(0x01, 0x01);
    irq(11, 1);
    cr_assert_eq(i8259_ack(pic), 0x73);
    irq(9, 1);
    cr_assert_eq(intr, 0);
}

Test(pic, icw1_resets_mask_and_priority)
{
    init_pair(0x01, 0x01);
    out(0x21, 0xAA);
    out(0x20, 0xC0);                    /* IR0 lowest */
    out(0x20, 0x11);
    cr_assert_eq(in(0x21), 0x00);
    out(0x21, 0x40);
    out(0x21, 0x04);
    out(0x21, 0x01);
    irq(0, 1);
    irq(7, 1);
    cr_assert_eq(i8259_ack(pic), 0x40, "IR0 highest again");
}

Test(pic, single_mode_skips_icw3)
{
    out(0x20, 0x13);                    /* single, ICW4 */
    out(0x21, 0x50);
    out(0x21, 0x01);                    /* ICW4, not ICW3 */
    out(0x21, 0x00);                    /* OCW1 */
    irq(2, 1);
    cr_assert_eq(i8259_ack(pic), 0x52, "IR2 is a plain input");
}
