/* PIIX3 ISA bridge: identity and PCI INTx# routing through PIRQRC[A:D]. */
#include <criterion/criterion.h>
#include <string.h>

#include "hw/piix3.h"

/* Records the ISA IRQ levels the bridge drives. */
struct isa_lines {
    int level[16];
    int writes;
};

static void set_isa(void *opaque, int irq, int level)
{
    struct isa_lines *l = opaque;
    l->level[irq] = level;
    l->writes++;
}

static void cfg_wr8(struct bus *bus, int devfn, unsigned reg, uint8_t v)
{
    bus_out(bus, 0xCF8, 0x80000000u | (unsigned)devfn << 8 | (reg & ~3u), 4);
    bus_out(bus, 0xCFC + (reg & 3), v, 1);
}

static uint32_t cfg_rd32(struct bus *bus, int devfn, unsigned reg)
{
    bus_out(bus, 0xCF8, 0x80000000u | (unsigned)devfn << 8 | reg, 4);
    return bus_in(bus, 0xCFC, 4);
}

struct rig {
    struct bus *bus;
    struct pci_bus pb;
    struct piix3 isa;
    struct pci_dev nic;     /* a function at slot 2 with INTA# */
    struct isa_lines lines;
};

static void rig_init(struct rig *r)
{
    memset(r, 0, sizeof(*r));
    r->bus = bus_new(1 << 20);
    pci_bus_init(&r->pb, r->bus);
    cr_assert_eq(piix3_init(&r->isa, &r->pb, 1 << 3, set_isa, &r->lines), 0);
    cr_assert_eq(pci_register(&r->pb, &r->nic, 2 << 3, 0x10EC, 0x8029, 0x02000000), 0);
    r->nic.cfg[PCI_INTERRUPT_PIN] = 1;   /* INTA# */
}

Test(piix3, identity)
{
    static struct rig r;
    rig_init(&r);
    cr_expect_eq(cfg_rd32(r.bus, 1 << 3, 0x00), 0x70008086u);
    cr_expect_eq(cfg_rd32(r.bus, 1 << 3, 0x08) >> 8, 0x060100u);
    cr_expect_eq((cfg_rd32(r.bus, 1 << 3, 0x0C) >> 16) & 0xFF, 0x80, "multi-function header");
    cr_expect_eq(cfg_rd32(r.bus, 1 << 3, 0x60), 0x80808080u, "routes disabled at reset");
    bus_free(r.bus);
}

Test(piix3, intx_follows_the_pirq_route)
{
    static struct rig r;
    rig_init(&r);
    /* slot 2, INTA# swizzles onto PIRQC: route it to IRQ 11 */
    cfg_wr8(r.bus, 1 << 3, 0x62, 0x0B);
    pci_set_irq(&r.nic, 1);
    cr_expect_eq(r.lines.level[11], 1);
    pci_set_irq(&r.nic, 0);
    cr_expect_eq(r.lines.level[11], 0);
    /* a PIRQ routed elsewhere (PIRQA) does not carry slot 2's INTA# */
    cfg_wr8(r.bus, 1 << 3, 0x62, 0x80);
    cfg_wr8(r.bus, 1 << 3, 0x60, 0x0A);
    pci_set_irq(&r.nic, 1);
    cr_expect_eq(r.lines.level[10], 0);
    cr_expect_eq(r.lines.level[11], 0);
    /* re-routing PIRQC while asserted moves the level and drops the old IRQ */
    cfg_wr8(r.bus, 1 << 3, 0x62, 0x05);
    cr_expect_eq(r.lines.level[5], 1);
    cfg_wr8(r.bus, 1 << 3, 0x62, 0x09);
    cr_expect_eq(r.lines.level[5], 0);
    cr_expect_eq(r.lines.level[9], 1);
    /* disabling the route releases the line */
    cfg_wr8(r.bus, 1 << 3, 0x62, 0x89);
    cr_expect_eq(r.lines.level[9], 0);
    bus_free(r.bus);
}

static int resets, hard_resets;

static void on_reset(void *opaque, bool hard)
{
    resets++;
    hard_resets += hard;
}

Test(piix3, reset_control_register)
{
    static struct rig r;
    rig_init(&r);
    r.isa.reset_request = on_reset;
    resets = hard_resets = 0;
    bus_out(r.bus, 0xCF9, 0x02, 1);   /* SRST alone: nothing yet */
    cr_expect_eq(resets, 0);
    cr_expect_eq(bus_in(r.bus, 0xCF9, 1), 0x02);
    bus_out(r.bus, 0xCF9, 0x06, 1);   /* RCPU 0 -> 1 with SRST: hard */
    cr_expect_eq(resets, 1);
    cr_expect_eq(hard_resets, 1);
    cr_expect_eq(bus_in(r.bus, 0xCF9, 1), 0x02, "RCPU reads back as 0");
    bus_out(r.bus, 0xCF9, 0x00, 1);
    bus_out(r.bus, 0xCF9, 0x04, 1);   /* RCPU without SRST: INIT only */
    cr_expect_eq(resets, 2);
    cr_expect_eq(hard_resets, 1);
    /* the configuration address register is untouched by byte accesses */
    bus_out(r.bus, 0xCF8, 0x80000800u, 4);
    bus_out(r.bus, 0xCF9, 0x00, 1);
    cr_expect_eq(bus_in(r.bus, 0xCF8, 4), 0x80000800u);
    bus_free(r.bus);
}
