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

#endif
