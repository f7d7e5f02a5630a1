/*
 * machine.h - a bare CPU + RAM for unit tests: real mode, CS=DS=SS=0,
 * code placed at 0x1000, stack at 0x8000.
 */
#ifndef KASOU_TEST_MACHINE_H
#define KASOU_TEST_MACHINE_H

#include <stdlib.h>
#include <string.h>

#include "cpu/cpu.h"
#include "hw/bus.h"

struct tm {
    struct bus *bus;
    struct cpu *cpu;
};

static inline struct tm tm_new(void)
{
    struct tm t;
    t.bus = bus_new(2u << 20);
    t.cpu = calloc(1, sizeof(*t.cpu));
    cpu_init(t.cpu, t.bus);
    for (int s = 0; s < 6; s++) {
        cpu_load_seg_real(t.cpu, s, 0);
    }
    t.cpu->eip = 0x1000;
    t.cpu->r[R_ESP] = 0x8000;
    return t;
}

static inline void tm_free(struct tm *t)
{
    free(t->cpu);
    bus_free(t->bus);
}

/* Place code at CS:EIP and run `n` instructions. */
static inline void tm_run(struct tm *t, const void *code, size_t len, int n)
{
    memcpy(t->bus->ram + t->cpu->seg[S_CS].base + t->cpu->eip, code, len);
    cpu_run(t->cpu, (uint64_t)n);
}

#endif
