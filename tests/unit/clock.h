/*
 * clock.h - virtual time for device tests: a deterministic clock whose
 * "instruction count" is the test's own nanosecond counter.
 */
#ifndef KASOU_TEST_CLOCK_H
#define KASOU_TEST_CLOCK_H

#include <stdint.h>

#include "hw/timer.h"

/* Move *now to `target` ns, firing every timer due on the way in order. */
static inline void test_clock_advance(struct clock *clk, uint64_t *now, uint64_t target)
{
    while (clock_next_deadline(clk) <= target) {
        uint64_t d = clock_next_deadline(clk);
        *now = d > *now ? d : *now;
        clock_run_due(clk);
    }
    *now = target;
    clock_run_due(clk);
}

#endif
