/*
 * ops.h - helpers shared by the instruction handlers in cpu/ops_*.c.
 *
 * Handlers get the decoded instruction; the interpreter has already
 * computed cpu->ea for a ModRM memory operand and set cpu->next_eip.
 * Operand access goes through get_E/set_E (register or memory by ModRM),
 * get_G/set_G (the ModRM.reg register) and the stack helpers.
 */
#ifndef KASOU_OPS_H
#define KASOU_OPS_H

#include "insn.h"
#include "mem.h"

static inline bool modrm_is_reg(const struct insn *in)
{
    return in->mod == 3;
}

static inline uint32_t get_E(struct cpu *cpu, const struct insn *in, int size)
{
    if (modrm_is_reg(in)) {
        return reg_get(cpu, in->rm, size);
    }
    return cpu_rd(cpu, in->seg, cpu->ea, size);
}

static inline void set_E(struct cpu *cpu, const struct insn *in, int size, uint32_t v)
{
    if (modrm_is_reg(in)) {
        reg_set(cpu, in->rm, size, v);
    } else {
        cpu_wr(cpu, in->seg, cpu->ea, size, v);
    }
}

/* Read the E operand of a read-modify-write instruction (write-checked). */
static inline uint32_t rmw_E(struct cpu *cpu, const struct insn *in, int size)
{
    if (modrm_is_reg(in)) {
        return reg_get(cpu, in->rm, size);
    }
    cpu_check_write(cpu, in->seg, cpu->ea, size / 8);
    return cpu_rd(cpu, in->seg, cpu->ea, size);
}

static inline uint32_t get_G(struct cpu *cpu, const struct insn *in, int size)
{
    return reg_get(cpu, in->reg, size);
}

static inline void set_G(struct cpu *cpu, const struct insn *in, int size, uint32_t v)
{
    reg_set(cpu, in->reg, size, v);
}

/* Offset of the memory operand plus `delta` (wraps at the address size). */
static inline uint32_t ea_plus(const struct insn *in, uint32_t ea, uint32_t delta)
{
    return in->adsize == 16 ? ((ea + delta) & 0xFFFF) : ea + delta;
}

/* --- stack (cpu/ops_stack.c) --- */
static inline uint32_t sp_mask(const struct cpu *cpu)
{
    return cpu_stack32(cpu) ? 0xFFFFFFFFu : 0xFFFFu;
}
static inline uint32_t get_sp(const struct cpu *cpu)
{
    return cpu->r[R_ESP] & sp_mask(cpu);
}
static inline void set_sp(struct cpu *cpu, uint32_t v)
{
    uint32_t m = sp_mask(cpu);
    cpu->r[R_ESP] = (cpu->r[R_ESP] & ~m) | (v & m);
}
void push(struct cpu *cpu, int size, uint32_t v);
uint32_t pop(struct cpu *cpu, int size);
/* Read the stack `off` bytes above SP without popping. */
uint32_t stack_peek(struct cpu *cpu, uint32_t off, int size);

/* Jump within CS: sets next_eip (masked to 16 bits for 16-bit operand size). */
void jump_near(struct cpu *cpu, const struct insn *in, uint32_t target);

/* --- privileged-instruction and I/O checks (cpu/ops_sys.c) --- */
/* #GP(0) unless CPL 0 (and not V86). */
void require_cpl0(struct cpu *cpu);
/* #GP(0) unless I/O to port..port+size-1 is allowed (IOPL, TSS bitmap). */
void io_check(struct cpu *cpu, uint16_t port, int size);
/*
 * I/O breakpoints (CR4.DE, DR7 R/W = 10): record in dr6_pending the ones
 * that port..port+size-1 hits, for the trap after the instruction; true if
 * any did.
 */
bool io_breakpoint(struct cpu *cpu, uint16_t port, int size);

/* --- stack frames on a given stack (cpu/seg.c) --- */
/*
 * Far calls, interrupts and task switches build their frame with these:
 * each push checks the limit of `ss` (faulting vec/err) and writes memory,
 * but registers change only at stk_commit(), so a fault leaves SS:ESP as
 * they were.
 */
struct stk {
    struct seg ss;
    uint32_t sp, mask, esp_hi;
    unsigned acc;
    int vec;
    uint32_t err;
};
void stk_init(struct stk *k, const struct seg *ss, uint32_t esp, int vec, uint32_t err);
/* The current SS:ESP; overflow faults #SS(err). */
void stk_init_cur(struct cpu *cpu, struct stk *k, uint32_t err);
void stk_push(struct cpu *cpu, struct stk *k, int size, uint32_t v);
void stk_commit(struct cpu *cpu, const struct stk *k);

/* Protected-mode DS/ES/FS/GS/SS load faulting vec(sel | ext) (#GP or #TS). */
void cpu_load_seg_checked(struct cpu *cpu, int sreg, uint16_t sel, int vec, uint32_t ext);
/* Check the inner-ring stack selector taken from a TSS (#TS/#SS faults). */
void cpu_check_inner_ss(struct cpu *cpu, uint16_t sel, unsigned cpl, uint32_t d[2], uint32_t ext);
/* SS:ESP for ring `cpl` from the current TSS; #TS(TR | ext) past its limit. */
void tss_inner_stack(struct cpu *cpu, unsigned cpl, uint16_t *ss, uint32_t *esp, uint32_t ext);
/* JMP/CALL/INT through a task gate (words g): checks the TSS, then switches. */
void cpu_task_gate(struct cpu *cpu, const uint32_t g[2], int src, uint32_t old_eip,
                   uint32_t err, uint32_t ext);
/* A group 2 shift or rotate (kind = ModRM reg) of v by a masked, nonzero
 * count: the result, with the flags recorded as the instruction leaves
 * them (cpu/ops_shift.c). */
uint32_t cpu_shift(struct cpu *cpu, int kind, int size, uint32_t v, unsigned count);
/* Protected-mode and V86 interrupt delivery (cpu/pm_int.c). */
void pm_interrupt(struct cpu *cpu, int vec, uint32_t err, int kind, uint32_t ret_eip);

#endif
