/*
 * i8254.h - the Intel 8254 programmable interval timer at ports 0x40-0x43:
 * three 16-bit counters clocked at 1.193182 MHz.  Counter 0's output is
 * IRQ0; counter 2's gate and output belong to the board's port 0x61.
 */
#ifndef KASOU_I8254_H
#define KASOU_I8254_H

#include <stdbool.h>
#include <stdint.h>

#include "hw/irq.h"
#include "hw/timer.h"

struct bus;

#define I8254_HZ 1193182u

/*
 * One counter.  Its count element (CE) is not stepped: the counting
 * sequence in progress is (n, load) - CE held n at input-clock tick
 * `load` - and CE and OUT at any tick follow from the mode.  Ticks are
 * input-clock periods since virtual time 0.
 */
struct i8254_counter {
    uint8_t ctrl;            /* RW1 RW0 M2 M1 M0 BCD as last programmed */
    uint8_t mode;            /* 0-5 */
    uint8_t rw;              /* 1 LSB only, 2 MSB only, 3 LSB then MSB */
    bool bcd;
    uint32_t cr;             /* count register: last count written, binary */
    uint8_t cr_low;          /* first byte of a two-byte write */
    bool write_msb, read_msb;           /* byte flip-flops */
    uint16_t latch;          /* output latch (raw, BCD if counting BCD) */
    bool latched;
    uint8_t status;
    bool status_latched;
    bool gate;
    bool armed;              /* modes 1, 5: a count awaits a trigger */
    bool running;            /* a counting sequence exists */
    bool frozen;             /* gate low holds CE (modes 0, 2, 3, 4) */
    int64_t frozen_d;        /* ticks counted when the gate fell */
    uint32_t n;              /* count of the sequence: 1..65536 (BCD 10000) */
    int64_t load;            /* tick at which CE = n */
    bool pend;               /* modes 2, 3: new count takes over later */
    uint32_t pend_n;
    int64_t pend_tick, pend_load;
    int64_t null_until;      /* status NULL COUNT until this tick */
    bool out_irq;            /* counter 0: level last driven on IRQ0 */
    int64_t edge_tick;       /* counter 0: tick of the scheduled edge */
};

struct i8254 {
    struct i8254_counter ch[3];
    struct clock *clk;
    struct timer timer;      /* next output edge of counter 0 */
    struct irq irq0;
};

void i8254_init(struct i8254 *pit, struct clock *clk, struct irq irq0);
/* Claim ports 0x40-0x43 on `bus`. */
int i8254_map(struct i8254 *pit, struct bus *bus);
/* Allocate, init and map; NULL on failure.  i8254_free() releases it. */
struct i8254 *i8254_new(struct bus *bus, struct clock *clk, struct irq irq0);
void i8254_free(struct i8254 *pit);

/* Gate input of counter `ch` (0-2).  All gates start high. */
void i8254_set_gate(struct i8254 *pit, int ch, int level);
/* Output pin of counter `ch` now (0 or 1). */
int i8254_get_out(struct i8254 *pit, int ch);

#endif
