/*
 * machine.h - a bare CPU + RAM for unit tests: real mode, CS=DS=SS=0,
 * code placed at 0x1000, stack at 0x8000.  Also the small helpers most
 * suites share: guest-RAM peeks and pokes, real-mode IVT entries, the
 * arithmetic flags, and running one instruction with its fault caught
 * instead of delivered.  Protected-mode scaffolding lives in pm.h.
 *
 * KASOU_TEST_ACCEL in the environment picks the engine (in a build with
 * the translator): `jit` attaches the JIT with its normal block size,
 * `jit1` with one-instruction blocks.  The suites count instructions
 * exactly (cpu_run(cpu, 1) after placing one instruction), and a block
 * runs only when all of it fits the budget, so with full-size blocks most
 * of such runs fall back to the interpreter; one-instruction blocks put
 * every instruction of every suite through the translator.  tm_exec_catch
 * calls handlers directly and is the same either way.
 */
#ifndef KASOU_TEST_MACHINE_H
#define KASOU_TEST_MACHINE_H

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "cpu/cpu.h"
#include "cpu/insn.h"
#include "cpu/mem.h"
#include "hw/bus.h"
#ifdef CONFIG_JIT
#include "jit/jit.h"
#endif

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
#ifdef CONFIG_JIT
    const char *accel = getenv("KASOU_TEST_ACCEL");
    if (accel && (!strcmp(accel, "jit") || !strcmp(accel, "jit1"))) {
        if (jit_attach(t.cpu, false) < 0) {
            /* a suite that silently fell back to the interpreter would lie */
            fprintf(stderr, "machine.h: KASOU_TEST_ACCEL=%s but jit_attach failed\n", accel);
            abort();
        }
        if (!strcmp(accel, "jit1")) {
            jit_set_block_limit(t.cpu, 1);
        }
    }
#endif
    return t;
}

static inline void tm_free(struct tm *t)
{
#ifdef CONFIG_JIT
    jit_detach(t->cpu);     /* a no-op when the CPU interprets */
#endif
    free(t->cpu);
    bus_free(t->bus);
}

/*
 * The helpers below write guest RAM from the host, behind the CPU.  The
 * interpreter re-checks the bytes it decoded, but translated code is
 * dropped only when the bus reports a write: report these too, as a
 * device's DMA would.
 */
static inline void tm_notify(struct tm *t, uint32_t a, size_t n)
{
    if (t->bus->write_notify && n) {
        t->bus->write_notify(t->bus->notify_opaque, a, (uint32_t)n);
    }
}

/*
 * The translator starts a block only at an address already in the fetch
 * TLB (a miss means the interpreter fetches, and may fault), so a fresh
 * machine would interpret the first instruction of every run.  With paging
 * off, filling that entry the way the fetch would has no visible effect;
 * do it, so that a one-instruction test runs translated code.
 */
static inline void tm_prime_fetch(struct tm *t)
{
    struct cpu *c = t->cpu;
    uint32_t eip = cpu_code32(c) ? c->eip : (c->eip & 0xFFFF);
    uint32_t lin = c->seg[S_CS].base + eip;
    if (c->accel && !(c->cr0 & CR0_PG) && eip <= c->seg[S_CS].limit &&
        lin < t->bus->ram_size) {
        (void)mmu_read(c, lin, 1, ACC_X | cpu_acc_user(c));
    }
}

/* Place code at CS:EIP and run `n` instructions. */
static inline void tm_run(struct tm *t, const void *code, size_t len, int n)
{
    uint32_t a = t->cpu->seg[S_CS].base + t->cpu->eip;
    memcpy(t->bus->ram + a, code, len);
    tm_notify(t, a, len);
    tm_prime_fetch(t);
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
    tm_notify(t, a, (size_t)n);
}

/* Copy `n` bytes (code or data) to guest physical `a`. */
static inline void tm_copy(struct tm *t, uint32_t a, const void *bytes, size_t n)
{
    memcpy(t->bus->ram + a, bytes, n);
    tm_notify(t, a, n);
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
