/*
 * i8254.c - Intel 8254 programmable interval timer.
 *
 * Ports: 0x40-0x42 counters 0-2 (count in / count or status out),
 * 0x43 control word (write only): SC1 SC0 RW1 RW0 M2 M1 M0 BCD, where
 * RW = 00 is the counter latch command and SC = 11 the read-back command
 * (bits 5/4 clear = latch count/status, bits 3-1 select counters 2-0).
 *
 * Time: the input clock is 1.193182 MHz derived from the virtual clock.
 * Nothing runs per input tick: each counter remembers the tick at which
 * its count element (CE) was loaded and derives CE and OUT from the mode.
 * Only counter 0 drives anything (IRQ0), so a timer is armed for its next
 * output edge alone; counters 1 and 2 are evaluated when read.
 *
 * The modes, as the datasheet gives them (N = count, loaded on the input
 * clock tick after it is written or after the trigger):
 *   0 interrupt on terminal count: OUT low until CE reaches 0.
 *   1 retriggerable one-shot: a gate rising edge loads N; OUT low N ticks.
 *   2 rate generator: OUT low for the one tick where CE = 1, period N.
 *   3 square wave: OUT high ceil(N/2) ticks, low floor(N/2); CE counts
 *     down by two (from N-1 when N is odd).
 *   4 software strobe: OUT low for one tick when CE reaches 0.
 *   5 hardware strobe: as 4, started by a gate rising edge.
 * A new count takes effect: mode 0 at once (the first byte of a two-byte
 * count stops counting), mode 4 on the next tick, modes 2 and 3 at the end
 * of the period/half-cycle in progress, modes 1 and 5 at the next trigger.
 * The gate: low suspends counting in modes 0, 2, 3, 4, and in modes 2 and
 * 3 also forces OUT high and reloads N on its rising edge; modes 1 and 5
 * count from a rising edge.  BCD counting uses a modulus of 10000.
 *
 * Not modelled: a count of 1 in modes 2 and 3 (illegal; OUT stays put),
 * the exact CE values of mode 3 with odd counts (read as above), the
 * sampling of a falling gate on the next clock edge (it acts at once), and
 * the undefined state at power on (counters start unprogrammed: OUT low
 * in mode 0, no count, gates high).
 */
#include "i8254.h"

#include <stdlib.h>
#include <string.h>

#include "hw/bus.h"

#define NEVER INT64_MAX

static int64_t tick_of_ns(uint64_t ns)
{
    return (int64_t)((ns / NS_PER_SEC) * I8254_HZ +
                     (ns % NS_PER_SEC) * I8254_HZ / NS_PER_SEC);
}

/* The first virtual time at which tick `t` has begun. */
static uint64_t ns_of_tick(int64_t t)
{
    uint64_t q = (uint64_t)t / I8254_HZ, r = (uint64_t)t % I8254_HZ;
    return q * NS_PER_SEC + (r * NS_PER_SEC + I8254_HZ - 1) / I8254_HZ;
}

static int64_t pit_now(const struct i8254 *pit)
{
    return tick_of_ns(clock_ns(pit->clk));
}

static uint32_t modulus(const struct i8254_counter *c)
{
    return c->bcd ? 10000 : 65536;
}

static uint16_t to_bcd(uint32_t v)
{
    return (uint16_t)((v % 10) | (v / 10 % 10) << 4 | (v / 100 % 10) << 8 |
                      (v / 1000 % 10) << 12);
}

static uint32_t from_bcd(uint16_t v)
{
    return (v & 15) + (v >> 4 & 15) * 10 + (v >> 8 & 15) * 100 +
           (v >> 12 & 15) * 1000;
}

/* High phase of mode 3: N/2 ticks, (N+1)/2 for odd N. */
static int64_t half_high(uint32_t n)
{
    return (n + 1) / 2;
}

/* The sequence in force at tick t (a pending reload may have begun). */
static void seq_at(const struct i8254_counter *c, int64_t t, uint32_t *n,
                   int64_t *load)
{
    if (c->pend && t >= c->pend_tick) {
        *n = c->pend_n;
        *load = c->pend_load;
    } else {
        *n = c->n;
        *load = c->load;
    }
}

/* Ticks counted by tick t since the load (negative: not yet loaded). */
static int64_t counted(const struct i8254_counter *c, int64_t t, uint32_t *n)
{
    int64_t load;
    seq_at(c, t, n, &load);
    return c->frozen ? c->frozen_d : t - load;
}

static bool out_at(const struct i8254_counter *c, int64_t t)
{
    if (!c->running) {
        return c->mode != 0;
    }
    uint32_t n;
    int64_t d = counted(c, t, &n);
    if (d < 0) {
        return c->mode != 0;
    }
    switch (c->mode) {
    case 0:
        return d >= n;
    case 1:
        return d >= n;
    case 2:
        return c->frozen || n < 2 || d % n != n - 1;
    case 3:
        return c->frozen || d % n < half_high(n);
    default: /* 4, 5 */
        return d != n;
    }
}

/* CE at tick t, binary. */
static uint32_t ce_at(const struct i8254_counter *c, int64_t t)
{
    uint32_t m = modulus(c);
    if (!c->running) {
        return c->cr % m;
    }
    uint32_t n;
    int64_t d = counted(c, t, &n);
    if (d < 0) {
        d = 0;
    }
    int64_t v;
    if (c->mode == 2) {
        v = n - d % n;
    } else if (c->mode == 3) {
        int64_t p = d % n, h = half_high(n), top = n & ~1u;
        v = top - 2 * (p < h ? p : p - h);
    } else {
        v = (int64_t)n - d % m;
    }
    return (uint32_t)(((v % m) + m) % m);
}

/* The first tick after t at which OUT changes, or NEVER. */
static int64_t next_edge(const struct i8254_counter *c, int64_t t)
{
    if (!c->running || c->frozen) {
        return NEVER;
    }
    uint32_t n;
    int64_t load;
    seq_at(c, t, &n, &load);
    int64_t d = t - load;
    if (d < 0) {
        if (out_at(c, load) != out_at(c, t)) {
            return load;
        }
        d = 0;
        t = load;
    }
    int64_t p = d % n, start = t - p;
    switch (c->mode) {
    case 0:
    case 1:
        return d < n ? load + n : NEVER;
    case 2:
        if (n < 2) {
            return NEVER;
        }
        return p < n - 1 ? start + n - 1 : start + n;
    case 3:
        if (n < 2) {
            return NEVER;
        }
        return p < half_high(n) ? start + half_high(n) : start + n;
    default:
        if (d < n) {
            return load + n;
        }
        return d == n ? load + n + 1 : NEVER;
    }
}

/* Counter 0: drive IRQ0 with OUT at tick t and arm the next edge. */
static void pit_irq_sync(struct i8254 *pit, int64_t t)
{
    struct i8254_counter *c = &pit->ch[0];
    bool out = out_at(c, t);
    if (out != c->out_irq) {
        c->out_irq = out;
        irq_set(&pit->irq0, out);
    }
    c->edge_tick = next_edge(c, t);
    if (c->edge_tick == NEVER) {
        timer_del(&pit->timer);
    } else {
        timer_mod(&pit->timer, ns_of_tick(c->edge_tick));
    }
}

static void pit_timer(void *opaque)
{
    struct i8254 *pit = opaque;
    /* Take edges one at a time, at their own tick, so none is lost when
     * the clock has run far ahead of the timer list. */
    pit_irq_sync(pit, pit->ch[0].edge_tick);
}

static void pit_changed(struct i8254 *pit, struct i8254_counter *c, int64_t t)
{
    if (c == &pit->ch[0]) {
        pit_irq_sync(pit, t);
    }
}

/* Fold a pending mode 2/3 reload that has begun into the sequence; drop
 * one that has not (every caller decides the reload anew). */
static void collapse(struct i8254_counter *c, int64_t t)
{
    if (c->pend && t >= c->pend_tick) {
        c->n = c->pend_n;
        c->load = c->pend_load;
    }
    c->pend = false;
}

static void start_sequence(struct i8254_counter *c, int64_t t)
{
    c->running = true;
    c->n = c->cr ? c->cr : modulus(c);
    c->load = t + 1;
    c->frozen = false;
    c->null_until = t + 1;
}

/* Modes 2, 3: schedule the new count for the end of this (half) period. */
static void reload_later(struct i8254_counter *c, int64_t t)
{
    uint32_t n = c->cr ? c->cr : modulus(c);
    int64_t d = t - c->load;
    if (d < 0) {            /* the old count was never loaded */
        c->n = n;
        c->null_until = c->load;
        return;
    }
    /* Mode 2 reloads when CE passes 1, mode 3 at each OUT edge. */
    int64_t end = c->mode == 2 ? t - d % c->n + c->n : next_edge(c, t);
    if (end == NEVER || c->n < 2) {     /* count of 1: start over now */
        start_sequence(c, t);
        return;
    }
    c->pend = true;
    c->pend_n = n;
    c->pend_tick = end;
    bool falling = c->mode == 3 && out_at(c, end - 1);
    c->pend_load = falling ? end - half_high(n) : end;
    c->null_until = end;
}

static void count_written(struct i8254 *pit, struct i8254_counter *c)
{
    int64_t t = pit_now(pit);
    collapse(c, t);
    switch (c->mode) {
    case 0:
    case 4:
        start_sequence(c, t);
        break;
    case 1:
    case 5:
        c->armed = true;
        c->null_until = NEVER;
        break;
    default:
        if (!c->running) {
            start_sequence(c, t);
        } else if (c->frozen) {
            c->n = c->cr ? c->cr : modulus(c);
        } else {
            reload_later(c, t);
        }
        break;
    }
    if (c->running && !c->gate && c->mode != 1 && c->mode != 5) {
        c->frozen = true;
        c->frozen_d = 0;
    }
    pit_changed(pit, c, t);
}

static void write_count(struct i8254 *pit, struct i8254_counter *c,
                        uint8_t v)
{
    uint16_t raw;
    if (c->rw == 1) {
        raw = v;
    } else if (c->rw == 2) {
        raw = (uint16_t)(v << 8);
    } else if (!c->write_msb) {
        c->cr_low = v;
        c->write_msb = true;
        if (c->mode == 0) {     /* the first byte stops the count */
            int64_t t = pit_now(pit);
            collapse(c, t);
            c->running = false;
            pit_changed(pit, c, t);
        }
        return;
    } else {
        raw = (uint16_t)(c->cr_low | v << 8);
        c->write_msb = false;
    }
    c->cr = c->bcd ? from_bcd(raw) : raw;
    count_written(pit, c);
}

static uint8_t status_byte(const struct i8254_counter *c, int64_t t)
{
    return (uint8_t)((out_at(c, t) ? 0x80 : 0) |
                     (t < c->null_until ? 0x40 : 0) | c->ctrl);
}

static uint16_t ce_raw(const struct i8254_counter *c, int64_t t)
{
    uint32_t v = ce_at(c, t);
    return c->bcd ? to_bcd(v) : (uint16_t)v;
}

static void latch_count(struct i8254_counter *c, int64_t t)
{
    if (!c->latched) {      /* a second latch before reading is ignored */
        c->latch = ce_raw(c, t);
        c->latched = true;
    }
}

static void read_back(struct i8254 *pit, uint8_t v)
{
    int64_t t = pit_now(pit);
    for (int i = 0; i < 3; i++) {
        struct i8254_counter *c = &pit->ch[i];
        if (!(v & (2u << i))) {
            continue;
        }
        if (!(v & 0x10) && !c->status_latched) {
            c->status = status_byte(c, t);
            c->status_latched = true;
        }
        if (!(v & 0x20)) {
            latch_count(c, t);
        }
    }
}

static void write_control(struct i8254 *pit, uint8_t v)
{
    if ((v >> 6) == 3) {
        read_back(pit, v);
        return;
    }
    struct i8254_counter *c = &pit->ch[v >> 6];
    int64_t t = pit_now(pit);
    if ((v & 0x30) == 0) {
        latch_count(c, t);
        return;
    }
    c->ctrl = v & 0x3F;
    c->rw = (v >> 4) & 3;
    c->mode = (v >> 1) & 7;
    if (c->mode > 5) {
        c->mode -= 4;       /* 110 and 111 are modes 2 and 3 */
    }
    c->bcd = v & 1;
    c->write_msb = c->read_msb = false;
    c->latched = c->status_latched = false;
    c->running = c->frozen = c->pend = c->armed = false;
    c->null_until = NEVER;
    pit_changed(pit, c, t);
}

static uint8_t read_count(struct i8254 *pit, struct i8254_counter *c)
{
    if (c->status_latched) {
        c->status_latched = false;
        return c->status;
    }
    uint16_t v = c->latched ? c->latch : ce_raw(c, pit_now(pit));
    bool msb = c->rw == 2 || (c->rw == 3 && c->read_msb);
    if (c->rw == 3) {
        c->read_msb = !c->read_msb;
    }
    if (c->rw != 3 || msb) {
        c->latched = false;
    }
    return msb ? (uint8_t)(v >> 8) : (uint8_t)v;
}

static uint32_t pit_read(void *opaque, uint32_t off, int size)
{
    (void)size;
    struct i8254 *pit = opaque;
    if (off == 3) {
        return 0xFF;        /* the control word register cannot be read */
    }
    return read_count(pit, &pit->ch[off]);
}

static void pit_write(void *opaque, uint32_t off, uint32_t val, int size)
{
    (void)size;
    struct i8254 *pit = opaque;
    if (off == 3) {
        write_control(pit, (uint8_t)val);
    } else {
        write_count(pit, &pit->ch[off], (uint8_t)val);
    }
}

static const struct io_ops pit_ops = {
    .read = pit_read, .write = pit_write, .sizes = 1,
};

void i8254_set_gate(struct i8254 *pit, int ch, int level)
{
    struct i8254_counter *c = &pit->ch[ch];
    bool rising = level && !c->gate;
    if (!!level == c->gate) {
        return;
    }
    int64_t t = pit_now(pit);
    collapse(c, t);
    c->gate = level;
    if (c->mode == 1 || c->mode == 5) {
        if (rising && c->armed) {
            start_sequence(c, t);
        }
    } else if (c->running && !rising) {
        uint32_t n;
        int64_t d = counted(c, t, &n);
        c->frozen = true;
        c->frozen_d = d < 0 ? 0 : d;
    } else if (c->running) {
        if (c->mode == 2 || c->mode == 3) {
            start_sequence(c, t);       /* reload N on the next tick */
        } else {
            c->load = t + 1 - c->frozen_d;
            c->frozen = false;
        }
    }
    pit_changed(pit, c, t);
}

int i8254_get_out(struct i8254 *pit, int ch)
{
    return out_at(&pit->ch[ch], pit_now(pit));
}

void i8254_init(struct i8254 *pit, struct clock *clk, struct irq irq0)
{
    memset(pit, 0, sizeof(*pit));
    pit->clk = clk;
    pit->irq0 = irq0;
    timer_init(&pit->timer, clk, pit_timer, pit);
    for (int i = 0; i < 3; i++) {
        struct i8254_counter *c = &pit->ch[i];
        c->rw = 3;
        c->ctrl = 0x30;
        c->gate = true;
        c->null_until = NEVER;
        c->edge_tick = NEVER;
    }
}

int i8254_map(struct i8254 *pit, struct bus *bus)
{
    return bus_map_ports(bus, 0x40, 4, &pit_ops, pit);
}

struct i8254 *i8254_new(struct bus *bus, struct clock *clk, struct irq irq0)
{
    struct i8254 *pit = calloc(1, sizeof(*pit));
    if (!pit) {
        return NULL;
    }
    i8254_init(pit, clk, irq0);
    if (bus && i8254_map(pit, bus) < 0) {
        free(pit);
        return NULL;
    }
    return pit;
}

void i8254_free(struct i8254 *pit)
{
    if (pit) {
        timer_del(&pit->timer);
        free(pit);
    }
}
