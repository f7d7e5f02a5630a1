/*
 * machine.h - a bare CPU + RAM for unit tests: real mode, CS=DS=SS=0,
 * code placed at 0x1000, stack at 0x8000.  Also the small helpers most
 * suites share: guest-RAM peeks and pokes, real-mode IVT entries, the
 * arithmetic flags, and running one instruction with its fault caught
 * instead of delivered.  Protected-mode scaffolding lives in pm.h.
 */
#ifndef KASOU_TEST_MACHINE_H
#define KASOU_TEST_MACHINE_H

#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu.h"
#include "cpu/insn.h"
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

/* Host pointer to guest physical address `a`. */
static inline uint8_t *tm_ram(struct tm *t, uint32_t a)
{
    return t->bus->ram + a;
}

/* Little-endian `n`-byte value at guest physical `a` (any n from 1 to 4). */
static inline uint32_t tm_get(struct tm *t, uint32_t a, int n)
{
    uint32_t v = 0;
    for (int i = 0; i < n; i++) {
        v |= (uint32_t)t->bus->ram[a + (uint32_t)i] << (8 * i);
    }
    return v;
}

static inline void tm_put(struct tm *t, uint32_t a, uint32_t v, int n)
{
    for (int i = 0; i < n; i++) {
        t->bus->ram[a + (uint32_t)i] = (uint8_t)(v >> (8 * i));
    }
}

/* Copy `n` bytes (code or data) to guest physical `a`. */
static inline void tm_copy(struct tm *t, uint32_t a, const void *bytes, size_t n)
{
    memcpy(t->bus->ram + a, bytes, n);
}

/* Point real-mode IVT entry `vec` at 0000:off. */
static inline void tm_ivt(struct tm *t, int vec, uint16_t off)
{
    tm_put(t, 4u * (uint32_t)vec, off, 4);
}

/* ... with a HLT waiting there, so that the interrupt stops the run. */
static inline void tm_ivt_hlt(struct tm *t, int vec, uint16_t off)
{
    tm_ivt(t, vec, off);
    t->bus->ram[off] = 0xF4;
}

/* The arithmetic flags (OF SF ZF AF PF CF) as EFLAGS holds them now. */
static inline uint32_t tm_flags(struct tm *t)
{
    return cpu_get_eflags(t->cpu) & F_ARITH;
}

/* Run one instruction with the arithmetic flags preset to `fl`. */
static inline void tm_run1(struct tm *t, const uint8_t *code, size_t len, uint32_t fl)
{
    cpu_set_eflags(t->cpu, fl, F_ARITH);
    tm_run(t, code, len, 1);
}

/*
 * Arm the fault catcher inside a function that returns int: a fault
 * raised by what follows makes that function return the vector
 * (cpu->exc_err holds the error code); exc_vec stays -1 otherwise.
 * setjmp must run in the frame that stays live, hence a macro.
 */
#define TM_CATCH(cpu)                                                       \
    do {                                                                    \
        (cpu)->exc_vec = -1;                                                \
        (cpu)->jmp_valid = true;                                            \
        if (setjmp((cpu)->jmp)) {                                           \
            (cpu)->jmp_valid = false;                                       \
            return (cpu)->exc_vec;                                          \
        }                                                                   \
    } while (0)

/*
 * Execute the instruction at CS:EIP by calling its handler, catching a
 * fault instead of delivering it: returns the vector (EIP stays at the
 * instruction), or -1.  Shows the state a fault leaves behind without
 * the delivery machinery.
 */
static inline int tm_exec_catch(struct cpu *cpu)
{
    struct insn in;
    TM_CATCH(cpu);
    cpu_decode(cpu, &in);
    uint32_t next = cpu->eip + in.len;
    cpu->next_eip = cpu_code32(cpu) ? next : (next & 0xFFFF);
    if ((in.op->attr & A_MODRM) && in.mod != 3) {
        cpu->ea = insn_ea(cpu, &in);
    }
    in.op->fn(cpu, &in);
    cpu->eip = cpu->next_eip;
    cpu->jmp_valid = false;
    return -1;
}

#endif
