/* 82441FX PAM shadowing of the BIOS area. */
#include <criterion/criterion.h>
#include <string.h>

#include "hw/i440fx.h"

static uint8_t bios[128 << 10];

static void pam(struct bus *bus, unsigned reg, uint8_t v)
{
    bus_out(bus, 0xCF8, 0x80000000u | (reg & ~3u), 4);
    bus_out(bus, 0xCFC + (reg & 3), v, 1);
}

Test(i440fx, identity_and_shadowing)
{
    struct bus *bus = bus_new(2 << 20);
    struct pci_bus pb;
    pci_bus_init(&pb, bus);
    static struct i440fx nb;
    memset(bios, 0xB1, sizeof(bios));
    cr_assert_eq(i440fx_init(&nb, &pb, bus, 2 << 20, bios), 0);
    bus_out(bus, 0xCF8, 0x80000000u, 4);
    cr_expect_eq(bus_in(bus, 0xCFC, 4), 0x12378086u);
    /* power-on: reads come from the ROM, writes are dropped */
    cr_expect_eq(bus_read(bus, 0xF0000, 1), 0xB1);
    bus_write(bus, 0xF0000, 0x22, 1);
    cr_expect_eq(bus_read(bus, 0xF0000, 1), 0xB1);
    cr_expect_eq(bus->ram[0xF0000], 0);
    /* WE only: reads ROM, writes land in DRAM (the shadow copy) */
    pam(bus, 0x59, 0x20);
    bus_write(bus, 0xF0010, 0x33, 1);
    cr_expect_eq(bus_read(bus, 0xF0010, 1), 0xB1);
    cr_expect_eq(bus->ram[0xF0010], 0x33);
    /* RE only: DRAM read-only */
    pam(bus, 0x59, 0x10);
    cr_expect_eq(bus_read(bus, 0xF0010, 1), 0x33);
    bus_write(bus, 0xF0010, 0x44, 1);
    cr_expect_eq(bus->ram[0xF0010], 0x33);
    /* RE+WE: plain DRAM */
    pam(bus, 0x59, 0x30);
    bus_write(bus, 0xF0010, 0x44, 1);
    cr_expect_eq(bus_read(bus, 0xF0010, 1), 0x44);
    /* C0000 segment (PAM1 low nibble) below the ROM: empty side reads ones */
    cr_expect_eq(bus_read(bus, 0xC0000, 1), 0xFF);
    pam(bus, 0x5A, 0x03);
    bus_write(bus, 0xC0000, 0x55, 1);
    cr_expect_eq(bus_read(bus, 0xC0000, 1), 0x55);
    bus_free(bus);
}
