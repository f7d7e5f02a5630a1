/*
 * Local APIC (P6): registers at 0xFEE00000 through the bus, interrupt
 * acceptance and EOI, the timer on a deterministic clock, and the ExtINT
 * path with a real 8259 pair on LINT0.
 */
#include <criterion/criterion.h>

#include "hw/apic.h"
#include "hw/bus.h"
#include "hw/i8259.h"
#include "hw/timer.h"
#include "tests/unit/clock.h"

#define BASE APIC_DEFAULT_BASE

static struct bus *bus;
static struct clock clk;
static uint64_t now;          /* virtual ns (1 ns an "instruction") */
static struct apic *apic;
static struct i8259 *pic;
static bool intr;             /* the CPU's INTR as the APIC drives it */
static int nmis;
static int eois[8], neoi;

static void hook_intr(void *opaque, bool level)
{
    intr = level;
}

static void hook_nmi(void *opaque)
{
    nmis++;
}

static int hook_extint_ack(void *opaque)
{
    return i8259_ack(pic);
}

static void hook_eoi(void *opaque, int vector)
{
    eois[neoi++ % 8] = vector;
}

static const struct apic_hooks hooks = {
    .set_intr = hook_intr, .nmi = hook_nmi, .extint_ack = hook_extint_ack, .eoi = hook_eoi,
};

static void setup(void)
{
    now = 0;
    clock_init(&clk, CLOCK_DETERMINISTIC, &now);
    clk.ns_per_insn_q8 = 256;
    intr = false;
    nmis = neoi = 0;
    bus = bus_new(4096);
    apic = apic_new(bus, &clk, &hooks, NULL);
    cr_assert_not_null(apic);
    pic = i8259_new(bus, (struct irq){ apic_set_lint, apic, 0 });
    cr_assert_not_null(pic);
}

static void teardown(void)
{
    i8259_free(pic);
    apic_free(apic);
    bus_free(bus);
}

static uint32_t rd(uint32_t off)
{
    return bus_read(bus, BASE + off, 4);
}

static void wr(uint32_t off, uint32_t v)
{
    bus_write(bus, BASE + off, v, 4);
}

/* Run the clock to `target`, firing each timer at its own deadline. */
static void advance_to(uint64_t target)
{
    test_clock_advance(&clk, &now, target);
}

static void fixed(int vector, bool level)
{
    struct apic_msg m = { .vector = (uint8_t)vector, .mode = APIC_DM_FIXED, .dest = 0,
                          .level = level };
    cr_assert(apic_deliver(apic, &m));
}

static void sw_enable(void)
{
    wr(0xF0, 0x1FF);
}

TestSuite(apic, .init = setup, .fini = teardown);

Test(apic, reset_values)
{
    cr_assert_eq(rd(0x20), 0);                 /* ID */
    cr_assert_eq(rd(0x30), 0x00040011);        /* version 11h, 5 LVT entries */
    cr_assert_eq(rd(0x80), 0);                 /* TPR */
    cr_assert_eq(rd(0xA0), 0);                 /* PPR */
    cr_assert_eq(rd(0xD0), 0);                 /* LDR */
    cr_assert_eq(rd(0xE0), 0xFFFFFFFF);        /* DFR: flat model */
    cr_assert_eq(rd(0xF0), 0xFF);              /* SVR: software-disabled */
    for (uint32_t off = 0x320; off <= 0x370; off += 0x10) {
        if (off != 0x330) {
            cr_assert_eq(rd(off), 0x10000, "LVT %#x", off);
        }
    }
    cr_assert_eq(rd(0x380), 0);
    cr_assert_eq(rd(0x390), 0);
    cr_assert_eq(rd(0x3E0), 0);
    for (uint32_t off = 0x100; off < 0x280; off += 0x10) {
        cr_assert_eq(rd(off), 0);              /* ISR, TMR, IRR */
    }
    cr_assert_not(intr);
}

Test(apic, svr_and_software_disable)
{
    wr(0xF0, 0x130);
    cr_assert_eq(rd(0xF0), 0x13F);             /* P6: vector bits 3:0 are ones */
    wr(0x350, 0x700);
    cr_assert_eq(rd(0x350), 0x700);
    wr(0xF0, 0x0FF);                           /* disable: every LVT masked */
    cr_assert_eq(rd(0x350), 0x10700);
    /* a write while disabled keeps its mask bit (QEMU's leniency), but the
     * entry acts masked until the APIC is enabled */
    wr(0x3E0, 0xB);
    wr(0x320, 0x40);
    wr(0x380, 100);
    cr_assert_eq(rd(0x320), 0x40);
    cr_assert_not(timer_pending(&apic->timer));
    wr(0xF0, 0x1FF);
    cr_assert(timer_pending(&apic->timer));
}

Test(apic, id_ldr_dfr_writes)
{
    wr(0x20, 0xFF000000);
    cr_assert_eq(rd(0x20), 0x0F000000);        /* 4-bit ID on a P6 */
    wr(0xD0, 0x12345678);
    cr_assert_eq(rd(0xD0), 0x12000000);
    wr(0xE0, 0x0);
    cr_assert_eq(rd(0xE0), 0x0FFFFFFF);        /* cluster model */
    cr_assert_eq(bus_read(bus, BASE + 0x33, 1), 0x00);
    cr_assert_eq(bus_read(bus, BASE + 0x30, 1), 0x11);
    cr_assert_eq(bus_read(bus, BASE + 0x32, 1), 0x04);
}

Test(apic, accept_ack_eoi)
{
    sw_enable();
    fixed(0x31, false);
    cr_assert(intr);
    cr_assert_eq(rd(0x200 + 0x10), 1u << 17);  /* IRR bit 0x31 */
    cr_assert_eq(apic_ack(apic), 0x31);
    cr_assert_not(intr);
    cr_assert_eq(rd(0x210), 0);
    cr_assert_eq(rd(0x110), 1u << 17);         /* now in service */
    cr_assert_eq(rd(0xA0), 0x30);              /* PPR: the in-service class */
    wr(0xB0, 0);
    cr_assert_eq(rd(0x110), 0);
    cr_assert_eq(rd(0xA0), 0);
    cr_assert_eq(neoi, 0);                     /* edge: no EOI broadcast */
}

Test(apic, priority_classes)
{
    sw_enable();
    fixed(0x52, false);
    cr_assert_eq(apic_ack(apic), 0x52);
    fixed(0x31, false);
    cr_assert_not(intr, "class 3 waits behind class 5 in service");
    fixed(0x61, false);
    cr_assert(intr);
    cr_assert_eq(apic_ack(apic), 0x61);        /* nests above 0x52 */
    cr_assert_eq(rd(0xA0), 0x60);
    wr(0xB0, 0);                               /* retires 0x61, the highest */
    cr_assert_not(intr);
    wr(0xB0, 0);                               /* retires 0x52 */
    cr_assert(intr);
    cr_assert_eq(apic_ack(apic), 0x31);
}

Test(apic, tpr_blocks_and_ppr)
{
    sw_enable();
    wr(0x80, 0x45);
    cr_assert_eq(rd(0xA0), 0x45);              /* PPR = TPR with nothing in service */
    fixed(0x44, false);
    cr_assert_not(intr, "same class as TPR: held");
    fixed(0x51, false);
    cr_assert(intr);
    cr_assert_eq(apic_ack(apic), 0x51);
    cr_assert_eq(rd(0xA0), 0x50);
    wr(0xB0, 0);
    cr_assert_not(intr);
    wr(0x80, 0x30);
    cr_assert(intr);
    cr_assert_eq(apic_ack(apic), 0x44);
}

Test(apic, spurious_vector)
{
    sw_enable();
    cr_assert_eq(apic_ack(apic), 0xFF);
    wr(0xF0, 0x130);
    cr_assert_eq(apic_ack(apic), 0x3F);
    cr_assert_eq(rd(0x100), 0);                /* nothing went in service */
}

Test(apic, level_sets_tmr_and_broadcasts_eoi)
{
    sw_enable();
    fixed(0x39, true);
    cr_assert_eq(rd(0x180 + 0x10), 1u << 25);  /* TMR bit 0x39 */
    cr_assert_eq(apic_ack(apic), 0x39);
    wr(0xB0, 0);
    cr_assert_eq(neoi, 1);
    cr_assert_eq(eois[0], 0x39);
}

Test(apic, illegal_vector_and_esr)
{
    sw_enable();
    wr(0x370, 0xFE);                           /* error LVT: vector 0xFE */
    wr(0x300, 0x40008);                        /* fixed IPI to self, vector 8 */
    cr_assert_eq(rd(0x280), 0, "ESR shows errors only after a write");
    wr(0x280, 0);
    cr_assert_eq(rd(0x280), 0x20);             /* send illegal vector */
    cr_assert(intr);
    cr_assert_eq(apic_ack(apic), 0xFE);
    wr(0x280, 0);
    cr_assert_eq(rd(0x280), 0);
}

Test(apic, self_ipi_and_shorthands)
{
    sw_enable();
    wr(0x300, 0xC4500);                        /* INIT, all excluding self */
    wr(0x300, 0xC4608);                        /* SIPI, all excluding self */
    cr_assert_not(intr);
    wr(0x300, 0xC0041);                        /* fixed 0x41 excluding self */
    cr_assert_not(intr);
    wr(0x300, 0x40041);                        /* fixed 0x41 to self */
    cr_assert(intr);
    cr_assert_eq(apic_ack(apic), 0x41);
    cr_assert_eq(rd(0x300) & (1u << 12), 0);   /* delivery status: idle */
    wr(0xB0, 0);
    wr(0x310, 0x00000000);                     /* destination: physical ID 0 */
    wr(0x300, 0x00042);
    cr_assert_eq(apic_ack(apic), 0x42);
    wr(0x310, 0x03000000);                     /* ID 3: not us */
    wr(0x300, 0x00043);
    cr_assert_eq(rd(0x200 + 0x40), 0);
    wr(0x300, 0x80400);                        /* NMI, all including self */
    cr_assert_eq(nmis, 1);
}

Test(apic, logical_destinations)
{
    sw_enable();
    wr(0xD0, 0x02000000);                      /* flat: this APIC is bit 1 */
    struct apic_msg m = { .vector = 0x50, .mode = APIC_DM_LOWEST, .logical = true };
    m.dest = 0x01;
    cr_assert_not(apic_deliver(apic, &m));
    m.dest = 0x03;
    cr_assert(apic_deliver(apic, &m));
    wr(0xE0, 0x0FFFFFFF);                      /* cluster model */
    wr(0xD0, 0x21000000);                      /* cluster 2, member bit 0 */
    m.dest = 0x11;
    cr_assert_not(apic_deliver(apic, &m));
    m.dest = 0x23;
    cr_assert(apic_deliver(apic, &m));
}

Test(apic, timer_one_shot)
{
    sw_enable();
    wr(0x3E0, 0xB);                            /* divide by 1: 10 ns a count */
    wr(0x320, 0x40);
    cr_assert_not(timer_pending(&apic->timer));
    wr(0x380, 1000);
    advance_to(5000);
    cr_assert_eq(rd(0x390), 500);
    cr_assert_not(intr);
    advance_to(9990);
    cr_assert_not(intr);
    advance_to(10000);
    cr_assert(intr);
    cr_assert_eq(rd(0x390), 0);
    cr_assert_eq(apic_ack(apic), 0x40);
    wr(0xB0, 0);
    cr_assert_not(timer_pending(&apic->timer), "one-shot: nothing left armed");
    advance_to(50000);
    cr_assert_not(intr);
    cr_assert_eq(rd(0x390), 0);
}

Test(apic, timer_periodic_counts)
{
    sw_enable();
    wr(0x3E0, 0x0);                            /* divide by 2: 20 ns a count */
    wr(0x320, 0x20041);                        /* periodic, vector 0x41 */
    wr(0x380, 100);                            /* period 2000 ns */
    advance_to(500);
    cr_assert_eq(rd(0x390), 75);
    int fired = 0;
    for (uint64_t t = 100; t <= 10000; t += 100) {
        advance_to(t);
        if (intr) {
            cr_assert_eq(apic_ack(apic), 0x41);
            wr(0xB0, 0);
            fired++;
        }
    }
    cr_assert_eq(fired, 5);
    cr_assert_eq(rd(0x390), 100);              /* reloaded at 10000 */
    wr(0x380, 0);                              /* stop */
    cr_assert_not(timer_pending(&apic->timer));
    cr_assert_eq(rd(0x390), 0);
}

Test(apic, timer_divider_encoding)
{
    static const struct { uint32_t conf, ns_per_count; } cases[] = {
        { 0x0, 20 }, { 0x1, 40 }, { 0x2, 80 }, { 0x3, 160 },
        { 0x8, 320 }, { 0x9, 640 }, { 0xA, 1280 }, { 0xB, 10 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        wr(0x380, 0);
        wr(0x3E0, cases[i].conf);
        wr(0x380, 1000000);
        now += 100u * cases[i].ns_per_count;
        cr_assert_eq(rd(0x390), 1000000 - 100, "divide config %#x", cases[i].conf);
    }
}

Test(apic, timer_masked_is_not_armed)
{
    sw_enable();
    wr(0x3E0, 0xB);
    wr(0x320, 0x10040);                        /* masked */
    wr(0x380, 1000);
    cr_assert_not(timer_pending(&apic->timer));
    advance_to(4000);
    cr_assert_eq(rd(0x390), 600);              /* it counts all the same */
    advance_to(20000);
    wr(0x320, 0x40);                           /* unmasked after it ran out */
    cr_assert_not(timer_pending(&apic->timer));
    cr_assert_not(intr);
}

/* The 8259 programmed as a PC BIOS does: vectors 08h and 70h. */
static void pic_init(void)
{
    static const uint8_t seq[][2] = {
        { 0x20, 0x11 }, { 0x21, 0x08 }, { 0x21, 0x04 }, { 0x21, 0x01 },
        { 0xA0, 0x11 }, { 0xA1, 0x70 }, { 0xA1, 0x02 }, { 0xA1, 0x01 },
        { 0x21, 0x00 }, { 0xA1, 0x00 },
    };
    for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
        bus_out(bus, seq[i][0], seq[i][1], 1);
    }
}

Test(apic, extint_virtual_wire_when_disabled)
{
    pic_init();
    i8259_set_irq(pic, 1, 1);                  /* software-disabled APIC */
    cr_assert(intr);
    cr_assert_eq(apic_ack(apic), 0x09);
    bus_out(bus, 0x20, 0x20, 1);
    i8259_set_irq(pic, 1, 0);
    cr_assert_not(intr);
}

Test(apic, extint_through_lint0)
{
    pic_init();
    sw_enable();
    wr(0x350, 0x10700);                        /* LINT0 ExtINT, masked */
    i8259_set_irq(pic, 0, 1);
    cr_assert_not(intr, "masked LINT0 keeps the 8259 away");
    wr(0x350, 0x8700);                         /* as SeaBIOS programs it */
    cr_assert(intr);
    fixed(0x90, false);                        /* a fixed one waits behind */
    cr_assert_eq(apic_ack(apic), 0x08);        /* the 8259's vector */
    cr_assert_eq(rd(0x100 + 0x40), 0, "ExtINT never goes in service");
    cr_assert(intr);
    cr_assert_eq(apic_ack(apic), 0x90);
    bus_out(bus, 0x20, 0x20, 1);
    wr(0xB0, 0);
    i8259_set_irq(pic, 0, 0);
    cr_assert_not(intr);
}

Test(apic, lint1_nmi)
{
    sw_enable();
    wr(0x360, 0x400);                          /* LINT1: NMI */
    apic_set_lint(apic, 1, 1);
    apic_set_lint(apic, 1, 1);
    apic_set_lint(apic, 1, 0);
    cr_assert_eq(nmis, 1);                     /* edge */
    cr_assert_not(intr);
}

Test(apic, lint0_fixed_level_remote_irr)
{
    sw_enable();
    wr(0x350, 0x8055);                         /* fixed, level, vector 0x55 */
    apic_set_lint(apic, 0, 1);
    cr_assert_eq(rd(0x350) & (1u << 14), 1u << 14);   /* remote IRR */
    cr_assert_eq(apic_ack(apic), 0x55);
    wr(0xB0, 0);                               /* still asserted: again */
    cr_assert(intr);
    cr_assert_eq(apic_ack(apic), 0x55);
    apic_set_lint(apic, 0, 0);
    wr(0xB0, 0);
    cr_assert_eq(rd(0x350) & (1u << 14), 0);
    cr_assert_not(intr);
}

Test(apic, global_disable_unmaps_and_passes_through)
{
    pic_init();
    sw_enable();
    wr(0x350, 0x10700);                        /* LINT0 masked while enabled */
    apic_set_base_msr(apic, APIC_DEFAULT_BASE | APIC_BASE_BSP);
    cr_assert_eq(rd(0x30), 0xFFFFFFFF, "registers gone from the bus");
    i8259_set_irq(pic, 3, 1);
    cr_assert(intr);                           /* the 8259 drives INTR directly */
    cr_assert_eq(apic_ack(apic), 0x0B);
    struct apic_msg m = { .vector = 0x40, .mode = APIC_DM_FIXED, .dest = 0 };
    cr_assert_not(apic_deliver(apic, &m));
    apic_set_base_msr(apic, 0xFED00000u | APIC_BASE_BSP | APIC_BASE_ENABLE);
    cr_assert_eq(bus_read(bus, 0xFED00030u, 4), 0x00040011);
    cr_assert_eq(bus_read(bus, 0xFED000F0u, 4), 0xFF, "power-up state again");
}

Test(apic, init_keeps_id)
{
    sw_enable();
    fixed(0x70, false);
    wr(0x20, 0x03000000);
    wr(0x80, 0x20);
    apic_init_signal(apic);
    cr_assert_eq(rd(0x20), 0x03000000);
    cr_assert_eq(rd(0x80), 0);
    cr_assert_eq(rd(0xF0), 0xFF);
    cr_assert_eq(rd(0x200 + 0x70), 0);
    cr_assert_not(intr);
    apic_reset(apic);
    cr_assert_eq(rd(0x20), 0);
}
