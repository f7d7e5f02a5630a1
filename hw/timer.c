/* timer.c - the virtual clock and its sorted timer list (see timer.h). */
#include "timer.h"

#include <time.h>

static uint64_t host_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

void clock_init(struct clock *clk, enum clock_mode mode, const uint64_t *icount)
{
    clk->mode = mode;
    clk->host_start = host_ns();
    clk->offset = 0;
    clk->icount = icount;
    clk->ns_per_insn_q8 = 256 * 4;   /* deterministic: 250 MIPS nominal */
    clk->head = 0;
}

uint64_t clock_ns(const struct clock *clk)
{
    if (clk->mode == CLOCK_DETERMINISTIC && clk->icount) {
        return ((*clk->icount * clk->ns_per_insn_q8) >> 8) + clk->offset;
    }
    return host_ns() - clk->host_start + clk->offset;
}

uint64_t clock_next_deadline(const struct clock *clk)
{
    return clk->head ? clk->head->deadline : CLOCK_NEVER;
}

void timer_init(struct timer *t, struct clock *clk, void (*cb)(void *), void *opaque)
{
    t->deadline = CLOCK_NEVER;
    t->cb = cb;
    t->opaque = opaque;
    t->clk = clk;
    t->next = 0;
    t->armed = false;
}

void timer_del(struct timer *t)
{
    if (!t->armed) {
        return;
    }
    for (struct timer **p = &t->clk->head; *p; p = &(*p)->next) {
        if (*p == t) {
            *p = t->next;
            break;
        }
    }
    t->armed = false;
    t->next = 0;
}

void timer_mod(struct timer *t, uint64_t deadline)
{
    timer_del(t);
    t->deadline = deadline;
    struct timer **p = &t->clk->head;
    while (*p && (*p)->deadline <= deadline) {
        p = &(*p)->next;
    }
    t->next = *p;
    *p = t;
    t->armed = true;
}

int clock_run_due(struct clock *clk)
{
    int n = 0;
    uint64_t now = clock_ns(clk);
    while (clk->head && clk->head->deadline <= now) {
        struct timer *t = clk->head;
        clk->head = t->next;
        t->armed = false;
        t->next = 0;
        t->cb(t->opaque);   /* may re-arm itself */
        n++;
    }
    return n;
}
