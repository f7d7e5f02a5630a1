/*
 * fpu.h - x87 register-stack helpers shared by cpu/fpu.c and cpu/ops_fpu.c.
 */
#ifndef KASOU_FPU_H
#define KASOU_FPU_H

#include "fpu_soft.h"
#include "ops.h"

/* status word bits */
#define SW_IE 0x0001u
#define SW_SF 0x0040u
#define SW_ES 0x0080u
#define SW_C0 0x0100u
#define SW_C1 0x0200u
#define SW_C2 0x0400u
#define SW_C3 0x4000u
#define SW_B  0x8000u
#define SW_TOP 0x3800u

enum { TAG_VALID, TAG_ZERO, TAG_SPECIAL, TAG_EMPTY };

static inline unsigned fpu_top(const struct cpu *cpu)
{
    return (cpu->fpu.sw >> 11) & 7;
}
static inline unsigned fpu_phys(const struct cpu *cpu, unsigned i)
{
    return (fpu_top(cpu) + i) & 7;
}
static inline unsigned fpu_tag(const struct cpu *cpu, unsigned phys)
{
    return (cpu->fpu.tw >> (2 * phys)) & 3;
}
static inline bool fpu_empty(const struct cpu *cpu, unsigned i)
{
    return fpu_tag(cpu, fpu_phys(cpu, i)) == TAG_EMPTY;
}
static inline fx80 fpu_st(const struct cpu *cpu, unsigned i)
{
    unsigned p = fpu_phys(cpu, i);
    return (fx80){ .mant = cpu->fpu.mant[p], .sexp = cpu->fpu.sexp[p] };
}

/* Tag a value would get in a register. */
unsigned fpu_tag_of(fx80 v);
void fpu_set_st(struct cpu *cpu, unsigned i, fx80 v);
void fpu_set_tag(struct cpu *cpu, unsigned phys, unsigned tag);
void fpu_push(struct cpu *cpu, fx80 v);
void fpu_pop(struct cpu *cpu);
/* A context from the control word. */
struct fx_ctx fpu_ctx(const struct cpu *cpu);
/*
 * Fold ctx.exc into the status word.  Returns false when an unmasked
 * invalid/denormal/zero-divide exception means the destination must not be
 * written (the x87's pre-computation exceptions).
 */
bool fpu_commit(struct cpu *cpu, const struct fx_ctx *ctx);
/* Stack underflow/overflow: IE|SF (C1 = overflow); false if IE unmasked. */
bool fpu_stack_fault(struct cpu *cpu, bool overflow);
/* Set C0-C3 (bits given as SW_C*); others cleared. */
void fpu_set_cc(struct cpu *cpu, uint16_t cc);
/* #NM / #MF checks at the start of an x87 instruction. */
void fpu_check(struct cpu *cpu, bool waits);
void fpu_update_ferr(struct cpu *cpu);
void fpu_finit(struct cpu *cpu);

/* environment and state images */
void fpu_stenv(struct cpu *cpu, const struct insn *in, uint32_t off);
void fpu_ldenv(struct cpu *cpu, const struct insn *in, uint32_t off);
void fpu_save(struct cpu *cpu, const struct insn *in);
void fpu_restore(struct cpu *cpu, const struct insn *in);
uint16_t fpu_full_tw(const struct cpu *cpu);

#endif
