/*
 * ops_ctrl.c - near control transfers (Jcc, JMP, CALL, RET, LOOP, JCXZ)
 * and the flag instructions (CLC STC CMC CLD STD).
 *
 * A near target is masked to 16 bits under a 16-bit operand size and must
 * lie inside CS's limit, else #GP(0) before anything (a CALL's push) is done.
 */
#include "ops.h"

void jump_near(struct cpu *cpu, const struct insn *in, uint32_t target)
{
    if (in->opsize == 16) {
        target &= 0xFFFF;
    }
    if (target > cpu->seg[S_CS].limit && (cpu_pmode(cpu) || target > 0xFFFF)) {
        cpu_fault(cpu, EX_GP, 0);
    }
    cpu->next_eip = target;
}

void op_jcc(struct cpu *cpu, const struct insn *in)
{
    if (cpu_cond(cpu, in->opcode & 15)) {
        jump_near(cpu, in, cpu->next_eip + in->imm);
    }
}

void op_jmp_J(struct cpu *cpu, const struct insn *in)
{
    jump_near(cpu, in, cpu->next_eip + in->imm);
}

void op_jmp_Ev(struct cpu *cpu, const struct insn *in)
{
    jump_near(cpu, in, get_E(cpu, in, in->opsize));
}

static void call_near(struct cpu *cpu, const struct insn *in, uint32_t target)
{
    uint32_t ret = cpu->next_eip;
    jump_near(cpu, in, target);
    push(cpu, in->opsize, ret);
}

void op_call_Jz(struct cpu *cpu, const struct insn *in)
{
    call_near(cpu, in, cpu->next_eip + in->imm);
}

void op_call_Ev(struct cpu *cpu, const struct insn *in)
{
    call_near(cpu, in, get_E(cpu, in, in->opsize));
}

static void ret_near(struct cpu *cpu, const struct insn *in, uint32_t extra)
{
    uint32_t target = stack_peek(cpu, 0, in->opsize);
    jump_near(cpu, in, target);
    set_sp(cpu, get_sp(cpu) + (uint32_t)in->opsize / 8 + extra);
}

void op_ret(struct cpu *cpu, const struct insn *in)
{
    ret_near(cpu, in, 0);
}

void op_ret_Iw(struct cpu *cpu, const struct insn *in)
{
    ret_near(cpu, in, in->imm & 0xFFFF);
}

/* LOOP/LOOPE/LOOPNE: the count register is CX or ECX by address size. */
void op_loop(struct cpu *cpu, const struct insn *in)
{
    uint32_t m = in->adsize == 16 ? 0xFFFF : 0xFFFFFFFFu;
    uint32_t c = (cpu->r[R_ECX] - 1) & m;
    cpu->r[R_ECX] = (cpu->r[R_ECX] & ~m) | c;
    bool take = c != 0;
    if (in->opcode == 0xE0) {
        take = take && !(cpu_get_eflags(cpu) & F_ZF);
    } else if (in->opcode == 0xE1) {
        take = take && (cpu_get_eflags(cpu) & F_ZF);
    }
    if (take) {
        jump_near(cpu, in, cpu->next_eip + in->imm);
    }
}

void op_jcxz(struct cpu *cpu, const struct insn *in)
{
    uint32_t m = in->adsize == 16 ? 0xFFFF : 0xFFFFFFFFu;
    if (!(cpu->r[R_ECX] & m)) {
        jump_near(cpu, in, cpu->next_eip + in->imm);
    }
}

static void set_flag(struct cpu *cpu, uint32_t bit, int how)
{
    uint32_t f = cpu_get_eflags(cpu);
    f = how == 0 ? f & ~bit : how == 1 ? f | bit : f ^ bit;
    cc_set_eager(cpu, f);
}

void op_clc(struct cpu *cpu, const struct insn *in) { set_flag(cpu, F_CF, 0); }
void op_stc(struct cpu *cpu, const struct insn *in) { set_flag(cpu, F_CF, 1); }
void op_cmc(struct cpu *cpu, const struct insn *in) { set_flag(cpu, F_CF, 2); }
void op_cld(struct cpu *cpu, const struct insn *in) { cpu->eflags &= ~F_DF; }
void op_std(struct cpu *cpu, const struct insn *in) { cpu->eflags |= F_DF; }
