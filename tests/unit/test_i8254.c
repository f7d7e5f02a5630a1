/* 8254 PIT: ports 0x40-0x43 on a deterministic virtual clock. */
#include <criterion/criterion.h>

#include "hw/bus.h"
#include "hw/i8254.h"
#include "hw/timer.h"
#include "tests/unit/clock.h"

static struct bus *bus;
static struct i8254 *pit;
static struct clock clk;
static uint64_t now;            /* virtual ns: the clock's icount */
static int irq0;
static int rises, falls;
static uint64_t rise_ns[8], fall_ns[8];     /* the last few edges */

static void record_irq0(void *opaque, int n, int level)
{
    if (level && !irq0) {
        rise_ns[rises++ % 8] = clock_ns(&clk);
    } else if (!level && irq0) {
        fall_ns[falls++ % 8] = clock_ns(&clk);
    }
    irq0 = level;
}

static void setup(void)
{
    now = 0;
    clock_init(&clk, CLOCK_DETERMINISTIC, &now);
    clk.ns_per_insn_q8 = 256;   /* one "instruction" = 1 ns */
    irq0 = rises = falls = 0;
    bus = bus_new(4096);
    pit = i8254_new(bus, &clk, (struct irq){ record_irq0, NULL, 0 });
    cr_assert_not_null(pit);
}

static void teardown(void)
{
    i8254_free(pit);
    bus_free(bus);
}

/* Virtual time at which input-clock tick k begins. */
static uint64_t tick_ns(uint64_t k)
{
    return (k * NS_PER_SEC + I8254_HZ - 1) / I8254_HZ;
}

/* Run the clock to `target`, firing each timer at its own deadline. */
static void advance_to(uint64_t target)
{
    test_clock_advance(&clk, &now, target);
}

static void out(uint16_t port, uint8_t v)
{
    bus_out(bus, port, v, 1);
}

static uint8_t in(uint16_t port)
{
    return (uint8_t)bus_in(bus, port, 1);
}

/* Control word, then a two-byte count (for RW = 11). */
static void program(int ch, uint8_t ctrl, uint16_t count)
{
    out(0x43, (uint8_t)(ch << 6 | ctrl));
    out((uint16_t)(0x40 + ch), (uint8_t)count);
    out((uint16_t)(0x40 + ch), (uint8_t)(count >> 8));
}

/* Forget the edges seen so far (programming mode 2-5 raises OUT). */
static void clear_edges(void)
{
    rises = falls = 0;
}

static uint16_t read16(int ch)
{
    uint8_t lo = in((uint16_t)(0x40 + ch));
    return (uint16_t)(lo | in((uint16_t)(0x40 + ch)) << 8);
}

static uint16_t latch_and_read(int ch)
{
    out(0x43, (uint8_t)(ch << 6));
    return read16(ch);
}

TestSuite(pit, .init = setup, .fini = teardown);

Test(pit, mode2_rate_generator_period)
{
    program(0, 0x34, 1193);             /* ~1 kHz */
    clear_edges();
    cr_assert_eq(irq0, 1, "mode 2 output starts high");
    advance_to(NS_PER_SEC);
    /* Loaded at tick 1; rising edges at 1 + k * 1193. */
    cr_assert_eq(rises, 1000, "got %d interrupts in one second", rises);
    cr_assert_eq(falls, 1000);
    uint64_t last = rise_ns[(rises - 1) % 8], prev = rise_ns[(rises - 2) % 8];
    cr_assert_eq(last, tick_ns(1 + 1000 * 1193));
    cr_assert_eq(last - prev, tick_ns(1 + 1000 * 1193) - tick_ns(1 + 999 * 1193));
    cr_assert_eq(fall_ns[(falls - 1) % 8], tick_ns(1000 * 1193),
                 "OUT is low for the one tick where CE = 1");
}

Test(pit, mode3_square_wave_even)
{
    program(0, 0x36, 1000);
    clear_edges();
    advance_to(NS_PER_SEC);
    cr_assert_eq(rises, 1193, "got %d", rises);
    uint64_t rise = rise_ns[(rises - 1) % 8];
    uint64_t fall = fall_ns[(falls - 1) % 8];
    cr_assert_eq(rise, tick_ns(1 + 1193 * 1000));
    cr_assert_eq(fall, tick_ns(1 + 1192 * 1000 + 500), "high half = 500");
}

Test(pit, mode3_square_wave_odd_count)
{
    program(2, 0x36, 5);                /* counter 2: no timer, sampled */
    int pattern[10];
    for (int k = 0; k < 10; k++) {
        advance_to(tick_ns(1 + k));
        pattern[k] = i8254_get_out(pit, 2);
    }
    /* High (5+1)/2 = 3 ticks, low (5-1)/2 = 2 ticks. */
    const int expect[10] = { 1, 1, 1, 0, 0, 1, 1, 1, 0, 0 };
    for (int k = 0; k < 10; k++) {
        cr_assert_eq(pattern[k], expect[k], "tick %d", 1 + k);
    }
}

Test(pit, mode3_counts_down_by_two)
{
    program(2, 0x36, 10);
    advance_to(tick_ns(1));
    cr_assert_eq(latch_and_read(2), 10);
    advance_to(tick_ns(3));
    cr_assert_eq(latch_and_read(2), 6);
    advance_to(tick_ns(6));             /* second half: reloaded */
    cr_assert_eq(latch_and_read(2), 10);
}

Test(pit, counter_latch_holds_value)
{
    program(0, 0x34, 1000);
    advance_to(tick_ns(101));
    out(0x43, 0x00);                    /* latch counter 0 */
    advance_to(tick_ns(400));
    cr_assert_eq(read16(0), 900, "value at latch time");
    cr_assert_eq(read16(0), 1000 - 399, "unlatched reads follow CE");
}

Test(pit, second_latch_is_ignored_until_read)
{
    program(1, 0x34, 5000);
    advance_to(tick_ns(11));
    out(0x43, 0x40);
    advance_to(tick_ns(51));
    out(0x43, 0x40);
    cr_assert_eq(read16(1), 4990);
}

Test(pit, read_back_status_and_count)
{
    out(0x43, 0x34);
    out(0x43, 0xE2);                    /* status of counter 0 */
    cr_assert_eq(in(0x40), 0xF4, "OUT high, NULL COUNT, RW=3, mode 2");
    out(0x40, 0x00);
    out(0x40, 0x10);                    /* 4096 */
    advance_to(tick_ns(97));
    out(0x43, 0xC2);                    /* count and status */
    cr_assert_eq(in(0x40), 0xB4, "count loaded: NULL COUNT clear");
    cr_assert_eq(read16(0), 4096 - 96);
}

Test(pit, read_back_several_counters)
{
    program(1, 0x34, 300);
    program(2, 0x30, 200);
    advance_to(tick_ns(51));
    out(0x43, 0xDC);                    /* count of counters 1 and 2 */
    advance_to(tick_ns(90));
    cr_assert_eq(read16(1), 250);
    cr_assert_eq(read16(2), 150);
}

Test(pit, mode0_one_shot_interrupt)
{
    program(0, 0x30, 100);
    cr_assert_eq(irq0, 0);
    advance_to(tick_ns(101) - 1);
    cr_assert_eq(irq0, 0, "not before N+1 ticks");
    advance_to(tick_ns(101));
    cr_assert_eq(irq0, 1, "terminal count");
    advance_to(NS_PER_SEC);
    cr_assert_eq(rises, 1, "one shot only");
    cr_assert_eq(clock_next_deadline(&clk), CLOCK_NEVER,
                 "no timer once the output cannot change");
    cr_assert_eq(irq0, 1, "OUT stays high");
    out(0x40, 50);
    cr_assert_eq(irq0, 0, "writing a new count drops OUT at once");
    uint64_t t = now;
    out(0x40, 0);
    advance_to(NS_PER_SEC + NS_PER_SEC / 10);
    cr_assert_eq(rises, 2);
    uint64_t ticks = (rise_ns[1] * I8254_HZ) / NS_PER_SEC -
                     (t * I8254_HZ) / NS_PER_SEC;
    cr_assert_eq(ticks, 51, "new count of 50 fires after %lu ticks",
                 (unsigned long)ticks);
}

Test(pit, mode0_counts_past_zero)
{
    program(2, 0x30, 10);
    advance_to(tick_ns(16));
    cr_assert_eq(latch_and_read(2), 0xFFFB);
    cr_assert_eq(i8254_get_out(pit, 2), 1);
}

Test(pit, counter2_gate_mode0_pauses)
{
    i8254_set_gate(pit, 2, 0);
    program(2, 0x30, 100);
    advance_to(tick_ns(50));
    cr_assert_eq(latch_and_read(2), 100, "gate low: no counting");
    i8254_set_gate(pit, 2, 1);
    advance_to(tick_ns(80));
    uint16_t v = latch_and_read(2);
    cr_assert(v < 100 && v > 60, "counting resumed: %u", v);
    i8254_set_gate(pit, 2, 0);
    advance_to(tick_ns(500));
    cr_assert_eq(latch_and_read(2), v, "held again");
    cr_assert_eq(i8254_get_out(pit, 2), 0);
}

Test(pit, counter2_gate_mode2_forces_out_high_and_reloads)
{
    program(2, 0x34, 10);
    advance_to(tick_ns(10));            /* CE = 1: OUT low */
    cr_assert_eq(i8254_get_out(pit, 2), 0);
    i8254_set_gate(pit, 2, 0);
    cr_assert_eq(i8254_get_out(pit, 2), 1, "gate low forces OUT high");
    advance_to(tick_ns(100));
    i8254_set_gate(pit, 2, 1);
    advance_to(tick_ns(101));
    cr_assert_eq(latch_and_read(2), 10, "reloaded on the tick after");
    advance_to(tick_ns(110));
    cr_assert_eq(i8254_get_out(pit, 2), 0);
}

Test(pit, counter2_gate_triggers_mode1_one_shot)
{
    i8254_set_gate(pit, 2, 0);
    program(2, 0x32, 20);
    advance_to(tick_ns(30));
    cr_assert_eq(i8254_get_out(pit, 2), 1, "waits for a trigger");
    i8254_set_gate(pit, 2, 1);          /* trigger in tick 30 */
    advance_to(tick_ns(31));
    cr_assert_eq(i8254_get_out(pit, 2), 0);
    advance_to(tick_ns(50));
    cr_assert_eq(i8254_get_out(pit, 2), 0);
    advance_to(tick_ns(51));
    cr_assert_eq(i8254_get_out(pit, 2), 1, "low for exactly N ticks");
    i8254_set_gate(pit, 2, 0);
    i8254_set_gate(pit, 2, 1);          /* retrigger */
    advance_to(tick_ns(52));
    cr_assert_eq(i8254_get_out(pit, 2), 0);
}

Test(pit, mode4_software_strobe)
{
    program(0, 0x38, 30);
    clear_edges();
    cr_assert_eq(irq0, 1);
    advance_to(NS_PER_SEC / 100);
    cr_assert_eq(rises, 1);
    cr_assert_eq(falls, 1);
    cr_assert_eq(fall_ns[0], tick_ns(31));
    cr_assert_eq(rise_ns[0], tick_ns(32), "one tick low");
}

Test(pit, mode5_hardware_strobe)
{
    program(2, 0x3A, 5);
    advance_to(tick_ns(20));
    cr_assert_eq(i8254_get_out(pit, 2), 1);
    i8254_set_gate(pit, 2, 0);
    i8254_set_gate(pit, 2, 1);          /* trigger in tick 20 */
    advance_to(tick_ns(26));
    cr_assert_eq(i8254_get_out(pit, 2), 0, "strobe N ticks after load");
    advance_to(tick_ns(27));
    cr_assert_eq(i8254_get_out(pit, 2), 1);
}

Test(pit, bcd_counting)
{
    program(0, 0x35, 0x1000);           /* mode 2, BCD 1000 */
    clear_edges();
    advance_to(tick_ns(251));
    cr_assert_eq(latch_and_read(0), 0x0750, "CE reads in BCD");
    advance_to(NS_PER_SEC / 10);
    /* 119318 ticks: edges at 1 + k * 1000. */
    cr_assert_eq(rises, 119);
}

Test(pit, bcd_zero_is_ten_thousand)
{
    program(2, 0x31, 0x0000);           /* mode 0, BCD 0 = 10000 */
    advance_to(tick_ns(2));
    cr_assert_eq(latch_and_read(2), 0x9999);
    advance_to(tick_ns(10000));
    cr_assert_eq(i8254_get_out(pit, 2), 0);
    advance_to(tick_ns(10001));
    cr_assert_eq(i8254_get_out(pit, 2), 1);
}

Test(pit, lsb_only_and_msb_only_access)
{
    out(0x43, 0x94);                    /* counter 2, LSB only, mode 2 */
    out(0x42, 0x40);
    advance_to(tick_ns(11));
    out(0x43, 0x80);
    cr_assert_eq(in(0x42), 0x40 - 10);
    out(0x43, 0xA4);                    /* counter 2, MSB only, mode 2 */
    out(0x42, 0x02);                    /* 512 */
    advance_to(tick_ns(12 + 256));
    cr_assert_eq(in(0x42), 0x01, "MSB of 512 - 256");
}

Test(pit, mode2_new_count_waits_for_period_end)
{
    program(0, 0x34, 1000);
    clear_edges();
    advance_to(tick_ns(501));
    out(0x40, 500 & 0xFF);
    out(0x40, 500 >> 8);
    advance_to(tick_ns(1001));
    cr_assert_eq(rises, 1);
    cr_assert_eq(rise_ns[0], tick_ns(1001), "old period finishes");
    advance_to(tick_ns(1501));
    cr_assert_eq(rises, 2);
    cr_assert_eq(rise_ns[1], tick_ns(1501), "then the new count runs");
}

Test(pit, mode3_new_count_waits_for_half_cycle)
{
    program(0, 0x36, 1000);
    clear_edges();
    advance_to(tick_ns(101));
    out(0x40, 200 & 0xFF);
    out(0x40, 200 >> 8);
    advance_to(tick_ns(1001));
    cr_assert_eq(fall_ns[0], tick_ns(501), "current half-cycle kept");
    cr_assert_eq(rise_ns[0], tick_ns(601), "new low half is 100 ticks");
    cr_assert_eq(fall_ns[1], tick_ns(701));
}

Test(pit, control_word_stops_counter_and_sets_output)
{
    program(0, 0x34, 100);
    clear_edges();
    advance_to(tick_ns(50));
    out(0x43, 0x30);                    /* mode 0: OUT low */
    cr_assert_eq(irq0, 0);
    advance_to(NS_PER_SEC / 100);
    cr_assert_eq(rises, 0, "nothing counts before a count is written");
    cr_assert_eq(in(0x43), 0xFF, "control register is write only");
}

Test(pit, only_counter0_arms_a_timer)
{
    program(1, 0x34, 18);
    program(2, 0x36, 1000);
    cr_assert_eq(clock_next_deadline(&clk), CLOCK_NEVER);
    program(0, 0x34, 100);
    cr_assert_eq(clock_next_deadline(&clk), tick_ns(100),
                 "armed for the next edge only");
}
