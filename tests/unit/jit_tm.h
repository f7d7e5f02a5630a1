/*
 * jit_tm.h - what the translator's suites share: a machine with the JIT
 * and its interpreting twin, a flat 32-bit setup, the blocks translated,
 * and the comparison of the two machines' whole state.
 */
#ifndef KASOU_TEST_JIT_TM_H
#define KASOU_TEST_JIT_TM_H

#include <criterion/criterion.h>

#include "jit/jit.h"
#include "jit/jit_int.h"
#include "pm.h"

#define CODE 0x1000u
#define PD 0x30000u
#define PT 0x31000u
#define MMIO 0x1F0000u

/* A machine with the translator at its normal block size, whatever
 * KASOU_TEST_ACCEL asked tm_new for. */
static inline struct tm jit_machine(void)
{
    struct tm t = tm_new();
    jit_detach(t.cpu);
    cr_assert_eq(jit_attach(t.cpu, false), 0);
    return t;
}

static inline struct tm interp_machine(void)
{
    struct tm t = tm_new();
    jit_detach(t.cpu);
    return t;
}

static inline struct jit *jit_of(struct tm *t)
{
    return t->cpu->accel_opaque;
}

/* The valid block translated from EIP `eip`, or NULL. */
static inline struct jit_block *block_at(struct tm *t, uint32_t eip)
{
    struct jit *j = jit_of(t);
    for (unsigned i = 0; i < j->nblocks; i++) {
        if (j->blocks[i].valid && j->blocks[i].key.eip == eip) {
            return &j->blocks[i];
        }
    }
    return NULL;
}

/* A valid block whose code spans the byte at physical address phys. */
static inline struct jit_block *block_covering(struct tm *t, uint32_t phys)
{
    struct jit *j = jit_of(t);
    for (unsigned i = 0; i < j->nblocks; i++) {
        if (j->blocks[i].valid && j->blocks[i].lo_phys <= phys && phys < j->blocks[i].end_phys) {
            return &j->blocks[i];
        }
    }
    return NULL;
}

static inline void expect_same(struct tm *jt, struct tm *it)
{
    struct cpu *a = jt->cpu, *b = it->cpu;
    for (int i = 0; i < 8; i++) {
        cr_expect_eq(a->r[i], b->r[i], "r[%d]: jit %#x, interpreter %#x", i, a->r[i], b->r[i]);
    }
    cr_expect_eq(a->eip, b->eip, "eip: jit %#x, interpreter %#x", a->eip, b->eip);
    uint32_t fa = cpu_get_eflags(a), fb = cpu_get_eflags(b);
    cr_expect_eq(fa, fb, "eflags: jit %#x, interpreter %#x", fa, fb);
    cr_expect_eq(a->icount, b->icount, "icount: jit %llu, interpreter %llu",
                 (unsigned long long)a->icount, (unsigned long long)b->icount);
    cr_expect_eq(a->cr2, b->cr2, "cr2: jit %#x, interpreter %#x", a->cr2, b->cr2);
    cr_expect_eq(a->halted, b->halted);
    for (int s = 0; s < 6; s++) {
        cr_expect_eq(a->seg[s].sel, b->seg[s].sel, "sreg %d", s);
        cr_expect_eq(a->seg[s].base, b->seg[s].base, "sreg %d", s);
    }
    if (!memcmp(jt->bus->ram, it->bus->ram, jt->bus->ram_size)) {
        return;
    }
    for (uint32_t p = 0; p < jt->bus->ram_size; p++) {
        if (jt->bus->ram[p] != it->bus->ram[p]) {
            cr_expect_fail("RAM %#x: jit %#x, interpreter %#x", p, jt->bus->ram[p],
                           it->bus->ram[p]);
            break;
        }
    }
}

/* Flat 32-bit ring 0; with `paging`, RAM identity-mapped; a HLT handler
 * for every exception, so that a fault ends the run at the handler. */
static inline void flat32(struct tm *t, bool paging)
{
    pm_flat_gdt(t);
    pm_exception_gates(t);
    for (int v = 0; v < 32; v++) {
        tm_put(t, PM_HANDLER(v), 0xF4, 1);
    }
    if (paging) {
        pm_identity_paging(t, PD, PT, 512, 0x7);
    }
    pm_enter(t, 0, 0);
}

/* Run again from `eip` after a HLT. */
static inline void rerun(struct tm *t, uint32_t eip, uint64_t n)
{
    t->cpu->eip = eip;
    t->cpu->halted = false;
    cpu_run(t->cpu, n);
}

#endif
