/*
 * pc.h - the PC/AT core logic: the 8259A pair, the 8254 PIT, the MC146818
 * RTC/CMOS, the coprocessor error latch (FERR# -> IRQ13, cleared at port
 * 0xF0) and system control ports A (0x92: A20, fast reset) and B (0x61),
 * wired to one CPU and the virtual clock.
 */
#ifndef KASOU_PC_H
#define KASOU_PC_H

#include <stdbool.h>
#include <stdint.h>

#include "hw/timer.h"

struct bus;
struct cpu;
struct i8259;
struct i8254;
struct mc146818;

struct pc {
    struct cpu *cpu;
    struct clock *clk;
    struct i8259 *pic;
    struct i8254 *pit;
    struct mc146818 *rtc;
    bool ferr_latch;   /* coprocessor error latched onto IRQ13 */
    uint8_t port92;
    uint8_t port61;
};

/* Create the chipset on `bus`, wire it to `cpu` (its hooks) and `clk`. */
struct pc *pc_new(struct bus *bus, struct cpu *cpu, struct clock *clk);
/* Can an interrupt still arrive (a request pending or a timer armed)? */
bool pc_can_interrupt(const struct pc *pc);
void pc_free(struct pc *pc);

#endif
