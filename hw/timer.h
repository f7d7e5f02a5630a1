/*
 * timer.h - the virtual clock and timers on it.
 *
 * Devices schedule callbacks at absolute virtual times (nanoseconds).  The
 * main loop runs the CPU until the earliest deadline, then calls
 * clock_run_due().  The clock is either realtime (virtual time follows the
 * host's monotonic clock) or deterministic (virtual time advances with
 * retired guest instructions, so runs repeat exactly).
 */
#ifndef KASOU_TIMER_H
#define KASOU_TIMER_H

#include <stdbool.h>
#include <stdint.h>

#define NS_PER_SEC 1000000000ull
#define CLOCK_NEVER UINT64_MAX

enum clock_mode { CLOCK_REALTIME, CLOCK_DETERMINISTIC };

struct timer;

struct clock {
    enum clock_mode mode;
    uint64_t host_start;      /* host monotonic ns at creation */
    uint64_t offset;          /* virtual ns added (realtime mode) */
    const uint64_t *icount;   /* retired instructions (deterministic mode) */
    uint64_t ns_per_insn_q8;  /* deterministic: ns per instruction, <<8 */
    struct timer *head;       /* armed timers, sorted by deadline */
};

struct timer {
    uint64_t deadline;
    void (*cb)(void *opaque);
    void *opaque;
    struct clock *clk;
    struct timer *next;
    bool armed;
};

void clock_init(struct clock *clk, enum clock_mode mode, const uint64_t *icount);
uint64_t clock_ns(const struct clock *clk);
/* Earliest armed deadline, or CLOCK_NEVER. */
uint64_t clock_next_deadline(const struct clock *clk);
/* Fire every timer whose deadline has passed; returns how many fired. */
int clock_run_due(struct clock *clk);

void timer_init(struct timer *t, struct clock *clk, void (*cb)(void *), void *opaque);
/* Arm (or re-arm) the timer to fire at virtual time `deadline` ns. */
void timer_mod(struct timer *t, uint64_t deadline);
void timer_del(struct timer *t);
static inline bool timer_pending(const struct timer *t)
{
    return t->armed;
}

#endif
