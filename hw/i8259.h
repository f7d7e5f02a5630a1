/*
 * i8259.h - the PC's cascaded pair of Intel 8259A interrupt controllers
 * (master at ports 0x20-0x21, slave at 0xA0-0xA1 on master input 2) and
 * the PIIX3 edge/level control registers (ELCR) at ports 0x4D0-0x4D1.
 */
#ifndef KASOU_I8259_H
#define KASOU_I8259_H

#include <stdbool.h>
#include <stdint.h>

#include "hw/irq.h"

struct bus;

/* One 8259A.  Inputs and registers are bit masks, bit n = IRn. */
struct i8259_chip {
    uint8_t in;          /* current level on the IR pins */
    uint8_t edge;        /* edge-sense latches (requests in edge mode) */
    uint8_t isr, imr;
    uint8_t elcr;        /* PIIX3 ELCR: 1 = level triggered */
    uint8_t elcr_mask;   /* ELCR bits the guest may set */
    uint8_t base;        /* ICW2: vector of IR0 (low three bits zero) */
    uint8_t icw3;        /* master: inputs with a slave; slave: its ID */
    uint8_t lowest;      /* IR level with the lowest priority (rotation) */
    uint8_t icw_step;    /* next ICW expected on the odd port, 0 = none */
    bool icw4_wanted, single, ltim;
    bool aeoi, sfnm, rotate_aeoi, upm;
    bool smm;            /* special mask mode */
    bool read_isr;       /* OCW3 RIS: the even port reads ISR, not IRR */
    bool poll;           /* OCW3 P: the next even-port read is a poll */
    bool is_master;
};

struct i8259 {
    struct i8259_chip chip[2];   /* [0] master, [1] slave */
    struct irq intr_out;         /* the master's INT pin, to the CPU */
    bool intr_level;             /* last level driven on intr_out */
};

/* Reset the pair to the power-on state and remember the INT pin. */
void i8259_init(struct i8259 *pic, struct irq intr_out);
/* Claim ports 0x20-0x21, 0xA0-0xA1 and 0x4D0-0x4D1 on `bus`. */
int i8259_map(struct i8259 *pic, struct bus *bus);
/* Allocate, init and map; NULL on failure.  i8259_free() releases it. */
struct i8259 *i8259_new(struct bus *bus, struct irq intr_out);
void i8259_free(struct i8259 *pic);

/* Drive input line n (0-15; 8-15 are the slave's) to `level`.  Shaped to
 * be the `set` of a struct irq whose opaque is the struct i8259. */
void i8259_set_irq(void *opaque, int n, int level);
/* The INTA cycle: acknowledge the highest request and return its vector
 * (IR7's vector of the chip concerned if the request went away). */
int i8259_ack(struct i8259 *pic);
/* Is the master's INT pin asserted? */
bool i8259_pending(const struct i8259 *pic);

#endif
