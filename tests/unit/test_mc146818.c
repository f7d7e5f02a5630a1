/* MC146818A RTC/CMOS: ports 0x70/0x71 on a deterministic virtual clock. */
#include <criterion/criterion.h>

#include "hw/bus.h"
#include "hw/mc146818.h"
#include "hw/timer.h"
#include "tests/unit/clock.h"

/* 2024-02-29 23:59:58 UTC, a Thursday (day of week 5). */
#define START 1709251198

static struct bus *bus;
static struct mc146818 *rtc;
static struct clock clk;
static uint64_t now;            /* virtual ns: the clock's icount */
static int irq8, irq8_rises;

enum { SEC, SEC_AL, MIN, MIN_AL, HOUR, HOUR_AL, WDAY, MDAY, MON, YEAR,
       A, B, C, D };

static void record_irq8(void *opaque, int n, int level)
{
    if (level && !irq8) {
        irq8_rises++;
    }
    irq8 = level;
}

static void setup(void)
{
    now = 0;
    clock_init(&clk, CLOCK_DETERMINISTIC, &now);
    clk.ns_per_insn_q8 = 256;   /* one "instruction" = 1 ns */
    irq8 = irq8_rises = 0;
    bus = bus_new(4096);
    rtc = mc146818_new(bus, &clk, (struct irq){ record_irq8, NULL, 8 },
                       START);
    cr_assert_not_null(rtc);
}

static void teardown(void)
{
    mc146818_free(rtc);
    bus_free(bus);
}

static void advance_to(uint64_t target)
{
    test_clock_advance(&clk, &now, target);
}

static uint8_t rd(uint8_t index)
{
    bus_out(bus, 0x70, index, 1);
    return (uint8_t)bus_in(bus, 0x71, 1);
}

static void wr(uint8_t index, uint8_t v)
{
    bus_out(bus, 0x70, index, 1);
    bus_out(bus, 0x71, v, 1);
}

#define MS (NS_PER_SEC / 1000)

TestSuite(rtc, .init = setup, .fini = teardown);

Test(rtc, reads_start_time_in_bcd)
{
    cr_assert_eq(rd(SEC), 0x58);
    cr_assert_eq(rd(MIN), 0x59);
    cr_assert_eq(rd(HOUR), 0x23);
    cr_assert_eq(rd(WDAY), 5);
    cr_assert_eq(rd(MDAY), 0x29);
    cr_assert_eq(rd(MON), 0x02);
    cr_assert_eq(rd(YEAR), 0x24);
    cr_assert_eq(rd(0x32), 0x20, "century");
    cr_assert_eq(rd(A), 0x26);
    cr_assert_eq(rd(B), 0x02, "BCD, 24-hour");
    cr_assert_eq(rd(D), 0x80, "VRT");
}

Test(rtc, time_follows_virtual_clock_over_leap_day)
{
    advance_to(NS_PER_SEC - 1);
    cr_assert_eq(rd(SEC), 0x58, "no update before a whole second");
    advance_to(NS_PER_SEC);
    cr_assert_eq(rd(SEC), 0x59);
    advance_to(2 * NS_PER_SEC + 300 * MS);
    cr_assert_eq(rd(SEC), 0x00);
    cr_assert_eq(rd(MIN), 0x00);
    cr_assert_eq(rd(HOUR), 0x00);
    cr_assert_eq(rd(MDAY), 0x01);
    cr_assert_eq(rd(MON), 0x03);
    cr_assert_eq(rd(WDAY), 6);
    cr_assert_eq(rd(YEAR), 0x24);
}

Test(rtc, long_run_counts_days)
{
    /* 2 s to midnight, then 40 days and 3 s: 2024-04-10 00:00:03. */
    advance_to((2 + 40 * 86400ull + 3) * NS_PER_SEC);
    cr_assert_eq(rd(SEC), 0x03);
    cr_assert_eq(rd(HOUR), 0x00);
    cr_assert_eq(rd(MDAY), 0x10);
    cr_assert_eq(rd(MON), 0x04);
    cr_assert_eq(rd(WDAY), 4, "2024-04-10 is a Wednesday");
}

Test(rtc, binary_mode)
{
    wr(B, 0x86);                        /* SET, binary, 24-hour */
    wr(SEC, 30);
    wr(MIN, 45);
    wr(HOUR, 13);
    wr(MDAY, 31);
    wr(MON, 12);
    wr(YEAR, 99);
    wr(B, 0x06);
    advance_to(NS_PER_SEC);
    cr_assert_eq(rd(SEC), 31);
    cr_assert_eq(rd(MIN), 45);
    cr_assert_eq(rd(HOUR), 13);
    wr(B, 0x86);
    wr(SEC, 59);
    wr(MIN, 59);
    wr(HOUR, 23);
    wr(B, 0x06);
    advance_to(2 * NS_PER_SEC);
    cr_assert_eq(rd(HOUR), 0);
    cr_assert_eq(rd(MDAY), 1);
    cr_assert_eq(rd(MON), 1);
    cr_assert_eq(rd(YEAR), 0, "99 wraps to 00");
}

Test(rtc, twelve_hour_mode)
{
    wr(B, 0x80);                        /* SET, BCD, 12-hour */
    wr(HOUR, 0x91);                     /* 11 PM */
    wr(MIN, 0x59);
    wr(SEC, 0x59);
    wr(B, 0x00);
    advance_to(NS_PER_SEC);
    cr_assert_eq(rd(HOUR), 0x12, "midnight is 12 AM");
    cr_assert_eq(rd(MDAY), 0x01);
    wr(B, 0x80);
    wr(HOUR, 0x11);                     /* 11 AM */
    wr(MIN, 0x59);
    wr(SEC, 0x59);
    wr(B, 0x00);
    advance_to(2 * NS_PER_SEC);
    cr_assert_eq(rd(HOUR), 0x92, "noon is 12 PM");
}

Test(rtc, periodic_interrupt_1024hz)
{
    wr(B, 0x42);                        /* PIE */
    int n = 0;
    while (clock_next_deadline(&clk) <= NS_PER_SEC) {
        now = clock_next_deadline(&clk);
        clock_run_due(&clk);
        if (irq8) {
            n++;
            uint8_t c = rd(C);
            cr_assert_eq(c & 0xC0, 0xC0, "IRQF and PF: %#x", c);
            cr_assert_eq(irq8, 0, "reading C lowers IRQ8");
        }
    }
    cr_assert_eq(n, 1024, "got %d periodic interrupts in a second", n);
    cr_assert_eq(irq8_rises, 1024);
}

Test(rtc, periodic_interrupt_2hz)
{
    wr(A, 0x2F);
    wr(B, 0x42);
    advance_to(NS_PER_SEC / 2 - 1);
    cr_assert_eq(irq8, 0);
    advance_to(NS_PER_SEC / 2);
    cr_assert_eq(irq8, 1);
    cr_assert_eq(rd(C) & 0xC0, 0xC0);
    advance_to(NS_PER_SEC);
    cr_assert_eq(irq8_rises, 2);
}

Test(rtc, periodic_flag_without_interrupt)
{
    advance_to(10 * MS);
    cr_assert_eq(clock_next_deadline(&clk), CLOCK_NEVER,
                 "no timer while no interrupt is enabled");
    cr_assert_eq(rd(C), 0x40, "PF is set even with PIE clear");
    cr_assert_eq(rd(C), 0x00);
    cr_assert_eq(irq8_rises, 0);
}

Test(rtc, update_ended_interrupt)
{
    wr(B, 0x12);                        /* UIE */
    advance_to(NS_PER_SEC - 1);
    cr_assert_eq(irq8, 0);
    advance_to(NS_PER_SEC);
    cr_assert_eq(irq8, 1);
    cr_assert_eq(rd(SEC), 0x59, "time already updated");
    cr_assert_eq(rd(C), 0xD0, "IRQF, UF (and PF, not enabled)");
    cr_assert_eq(irq8, 0);
    cr_assert_eq(rd(C), 0x00, "reading C cleared it");
    advance_to(3 * NS_PER_SEC + 1);
    cr_assert_eq(irq8_rises, 2, "one more at 2 s, C not read since");
}

Test(rtc, update_flag_polled)
{
    advance_to(NS_PER_SEC / 2);
    cr_assert_eq(rd(C) & 0x10, 0);
    advance_to(NS_PER_SEC + 1);
    cr_assert_eq(rd(C) & 0x10, 0x10);
    cr_assert_eq(irq8_rises, 0);
}

Test(rtc, alarm_with_dont_care_fields)
{
    wr(SEC_AL, 0x05);
    wr(MIN_AL, 0xC0);
    wr(HOUR_AL, 0xFF);
    wr(B, 0x22);                        /* AIE */
    advance_to(7 * NS_PER_SEC - 1);     /* 00:00:04.999 */
    cr_assert_eq(irq8, 0);
    advance_to(7 * NS_PER_SEC);         /* 00:00:05 */
    cr_assert_eq(irq8, 1);
    cr_assert_eq(rd(C) & 0xA0, 0xA0, "IRQF and AF");
    advance_to(66 * NS_PER_SEC);        /* 00:01:04 */
    cr_assert_eq(irq8_rises, 1);
    advance_to(67 * NS_PER_SEC);        /* 00:01:05: every minute */
    cr_assert_eq(irq8_rises, 2);
}

Test(rtc, alarm_exact_time)
{
    wr(SEC_AL, 0x03);
    wr(MIN_AL, 0x00);
    wr(HOUR_AL, 0x00);
    advance_to(4 * NS_PER_SEC);         /* 00:00:02 */
    cr_assert_eq(rd(C) & 0x20, 0);
    advance_to(5 * NS_PER_SEC);         /* 00:00:03 */
    cr_assert_eq(rd(C) & 0x20, 0x20, "AF set with AIE clear");
    cr_assert_eq(irq8_rises, 0);
    wr(SEC_AL, 0x04);
    wr(B, 0x22);
    advance_to(6 * NS_PER_SEC);
    cr_assert_eq(irq8, 1);
}

Test(rtc, alarm_seen_when_time_jumps)
{
    wr(SEC_AL, 0x30);
    wr(MIN_AL, 0x00);
    wr(HOUR_AL, 0xC0);
    advance_to(100 * NS_PER_SEC);       /* 00:01:38: passed 00:00:30 */
    cr_assert_eq(rd(C) & 0x20, 0x20);
}

Test(rtc, update_in_progress_bit)
{
    advance_to(NS_PER_SEC / 2);
    cr_assert_eq(rd(A), 0x26);
    advance_to(NS_PER_SEC - 2229 * 1000);
    cr_assert_eq(rd(A), 0x26);
    advance_to(NS_PER_SEC - 2228 * 1000);
    cr_assert_eq(rd(A), 0xA6, "UIP 244 us before the 1984 us update");
    advance_to(NS_PER_SEC);
    cr_assert_eq(rd(A), 0x26);
    wr(A, 0xA6);
    cr_assert_eq(rd(A), 0x26, "UIP is read only");
}

Test(rtc, set_bit_halts_updates)
{
    advance_to(NS_PER_SEC / 2);
    wr(B, 0x92);                        /* SET | UIE */
    cr_assert_eq(rd(B), 0x82, "SET clears UIE");
    advance_to(NS_PER_SEC - MS);
    cr_assert_eq(rd(A) & 0x80, 0, "no UIP while SET");
    advance_to(5 * NS_PER_SEC + NS_PER_SEC / 2);
    cr_assert_eq(rd(SEC), 0x58, "halted");
    wr(B, 0x02);
    cr_assert_eq(rd(SEC), 0x58, "no catching up");
    advance_to(6 * NS_PER_SEC);
    cr_assert_eq(rd(SEC), 0x59);
}

Test(rtc, divider_reset_delays_first_update)
{
    wr(A, 0x66);                        /* hold the divider in reset */
    advance_to(3 * NS_PER_SEC);
    cr_assert_eq(rd(SEC), 0x58);
    wr(A, 0x26);
    advance_to(3 * NS_PER_SEC + NS_PER_SEC / 2 - 1);
    cr_assert_eq(rd(SEC), 0x58);
    advance_to(3 * NS_PER_SEC + NS_PER_SEC / 2);
    cr_assert_eq(rd(SEC), 0x59, "first update half a second later");
}

Test(rtc, register_c_and_d_are_read_only)
{
    wr(C, 0xF0);
    cr_assert_eq(rd(C), 0x00);
    wr(D, 0x00);
    cr_assert_eq(rd(D), 0x80);
}

Test(rtc, enabling_an_interrupt_with_flag_set_raises_irq)
{
    advance_to(NS_PER_SEC + 1);         /* UF set, UIE clear */
    cr_assert_eq(irq8, 0);
    wr(B, 0x12);
    cr_assert_eq(irq8, 1);
}

Test(rtc, nmi_mask_bit)
{
    cr_assert(!mc146818_nmi_masked(rtc));
    bus_out(bus, 0x70, 0x80 | 0x0B, 1);
    cr_assert(mc146818_nmi_masked(rtc));
    cr_assert_eq(bus_in(bus, 0x71, 1), 0x02, "index without bit 7");
    bus_out(bus, 0x70, 0x0B, 1);
    cr_assert(!mc146818_nmi_masked(rtc));
}

Test(rtc, cmos_ram)
{
    wr(0x0E, 0x5A);
    wr(0x7F, 0xA5);
    cr_assert_eq(rd(0x0E), 0x5A);
    cr_assert_eq(rd(0x7F), 0xA5);
    mc146818_set_cmos(rtc, 0x15, 0x80);
    cr_assert_eq(rd(0x15), 0x80);
    cr_assert_eq(mc146818_get_cmos(rtc, 0x7F), 0xA5);
    advance_to(NS_PER_SEC + 1);
    cr_assert_eq(mc146818_get_cmos(rtc, C), 0x50);
    cr_assert_eq(mc146818_get_cmos(rtc, C), 0x50, "peek does not clear");
    cr_assert_eq(rd(C), 0x50);
    cr_assert_eq(rd(C), 0x00);
}

Test(rtc, host_time_start)
{
    struct mc146818 *host = mc146818_new(NULL, &clk, (struct irq){ 0 },
                                         MC146818_HOST_TIME);
    uint8_t year = mc146818_get_cmos(host, YEAR);
    uint8_t mon = mc146818_get_cmos(host, MON);
    cr_assert((year & 15) < 10 && year >> 4 < 10, "BCD year %#x", year);
    cr_assert(mon >= 1 && mon <= 0x12, "BCD month %#x", mon);
    cr_assert(mc146818_get_cmos(host, 0x32) >= 0x20);
    mc146818_free(host);
}

Test(rtc, alarm_pm_hour_is_not_dont_care)
{
    wr(B, 0x80);                        /* SET, BCD, 12-hour */
    wr(HOUR, 0x01);                     /* 1 AM */
    wr(MIN, 0x00);
    wr(SEC, 0x00);
    wr(SEC_AL, 0x02);
    wr(MIN_AL, 0x00);
    wr(HOUR_AL, 0x81);                  /* 1 PM: bit 7 is the PM flag */
    wr(B, 0x00);
    advance_to(3 * NS_PER_SEC);         /* 1:00:03 AM */
    cr_assert_eq(rd(C) & 0x20, 0, "1 PM alarm must not match 1 AM");
    wr(SEC_AL, 0x04);
    wr(HOUR_AL, 0x01);
    advance_to(4 * NS_PER_SEC);
    cr_assert_eq(rd(C) & 0x20, 0x20);
}
