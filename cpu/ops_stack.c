/*
 * ops_stack.c - the stack: PUSH/POP of every form, PUSHA/POPA, ENTER/LEAVE,
 * PUSHF/POPF.
 *
 * A push checks the write at SS:(SP - size) before it moves SP, so a fault
 * leaves SP untouched.  The stack width (SP or ESP) follows SS.B; the
 * operand size (16/32) follows the instruction.
 */
#include "ops.h"

void push(struct cpu *cpu, int size, uint32_t v)
{
    uint32_t sp = (get_sp(cpu) - (uint32_t)size / 8) & sp_mask(cpu);
    cpu_wr(cpu, S_SS, sp, size, v);
    set_sp(cpu, sp);
}

uint32_t pop(struct cpu *cpu, int size)
{
    uint32_t sp = get_sp(cpu);
    uint32_t v = cpu_rd(cpu, S_SS, sp, size);
    set_sp(cpu, sp + (uint32_t)size / 8);
    return v;
}

uint32_t stack_peek(struct cpu *cpu, uint32_t off, int size)
{
    return cpu_rd(cpu, S_SS, (get_sp(cpu) + off) & sp_mask(cpu), size);
}

void op_push_Zv(struct cpu *cpu, const struct insn *in)
{
    /* PUSH ESP pushes the value before the push (286 and later) */
    push(cpu, in->opsize, cpu->r[in->opcode & 7]);
}

void op_pop_Zv(struct cpu *cpu, const struct insn *in)
{
    uint32_t v = pop(cpu, in->opsize);
    reg_set(cpu, in->opcode & 7, in->opsize, v);
}

void op_push_Iz(struct cpu *cpu, const struct insn *in)
{
    push(cpu, in->opsize, in->imm);
}

void op_push_Ev(struct cpu *cpu, const struct insn *in)
{
    push(cpu, in->opsize, get_E(cpu, in, in->opsize));
}

void op_pop_Ev(struct cpu *cpu, const struct insn *in)
{
    uint32_t sp = get_sp(cpu);
    uint32_t v = cpu_rd(cpu, S_SS, sp, in->opsize);
    uint32_t old = cpu->r[R_ESP];
    set_sp(cpu, sp + (uint32_t)in->opsize / 8);
    if (modrm_is_reg(in)) {
        reg_set(cpu, in->rm, in->opsize, v);
        return;
    }
    /* the address is computed with ESP already incremented (SDM POP) */
    uint32_t ea = insn_ea(cpu, in);
    uint32_t newsp = cpu->r[R_ESP];
    cpu->r[R_ESP] = old;   /* restored until the store is known to succeed */
    cpu_check_write(cpu, in->seg, ea, in->opsize / 8);
    cpu_wr(cpu, in->seg, ea, in->opsize, v);
    cpu->r[R_ESP] = newsp;
}

void op_push_sreg(struct cpu *cpu, const struct insn *in)
{
    int s = in->map ? (in->opcode == 0xA0 ? S_FS : S_GS) : (in->opcode >> 3) & 3;
    uint32_t sel = cpu->seg[s].sel;
    if (in->opsize == 32) {
        /* P6 writes only the low word of the 32-bit slot */
        uint32_t sp = (get_sp(cpu) - 4) & sp_mask(cpu);
        cpu_check_write(cpu, S_SS, sp, 4);
        cpu_wr(cpu, S_SS, sp, 16, sel);
        set_sp(cpu, sp);
    } else {
        push(cpu, 16, sel);
    }
}

void op_pop_sreg(struct cpu *cpu, const struct insn *in)
{
    int s = in->map ? (in->opcode == 0xA1 ? S_FS : S_GS) : (in->opcode >> 3) & 3;
    uint32_t sp = get_sp(cpu);
    uint16_t sel = (uint16_t)cpu_rd(cpu, S_SS, sp, 16);
    cpu_load_seg(cpu, s, sel);
    set_sp(cpu, sp + (uint32_t)in->opsize / 8);
    if (s == S_SS) {
        cpu->inhibit_irq = INHIBIT_MOV_SS;
    }
}

void op_pusha(struct cpu *cpu, const struct insn *in)
{
    int n = in->opsize / 8;
    uint32_t sp = get_sp(cpu);
    uint32_t m = sp_mask(cpu);
    /* check the whole frame first: a fault must leave nothing written */
    cpu_check_write(cpu, S_SS, (sp - 8u * n) & m, n);
    cpu_check_write(cpu, S_SS, (sp - (uint32_t)n) & m, n);
    for (int r = 0; r < 8; r++) {
        sp = (sp - (uint32_t)n) & m;
        cpu_wr(cpu, S_SS, sp, in->opsize, cpu->r[r]);
    }
    set_sp(cpu, sp);
}

void op_popa(struct cpu *cpu, const struct insn *in)
{
    int n = in->opsize / 8;
    uint32_t sp = get_sp(cpu);
    uint32_t m = sp_mask(cpu);
    uint32_t v[8];
    for (int r = 7; r >= 0; r--) {
        v[r] = cpu_rd(cpu, S_SS, sp, in->opsize);
        sp = (sp + (uint32_t)n) & m;
    }
    for (int r = 0; r < 8; r++) {
        if (r != R_ESP) {
            reg_set(cpu, r, in->opsize, v[r]);
        }
    }
    set_sp(cpu, sp);
}

void op_enter(struct cpu *cpu, const struct insn *in)
{
    int n = in->opsize / 8;
    uint32_t size = in->imm & 0xFFFF;
    unsigned level = in->imm2 & 31;
    uint32_t m = sp_mask(cpu);
    uint32_t sp = get_sp(cpu);
    uint32_t bp = cpu->r[R_EBP] & m;
    /* check the frame's highest and lowest pushes before writing */
    cpu_check_write(cpu, S_SS, (sp - (uint32_t)n) & m, n);
    if (level > 0) {
        cpu_check_write(cpu, S_SS, (sp - (uint32_t)n * (level + 1)) & m, n);
    }
    sp = (sp - (uint32_t)n) & m;
    cpu_wr(cpu, S_SS, sp, in->opsize, cpu->r[R_EBP]);
    uint32_t frame = sp;
    for (unsigned i = 1; i < level; i++) {
        bp = (bp - (uint32_t)n) & m;
        uint32_t v = cpu_rd(cpu, S_SS, bp, in->opsize);
        sp = (sp - (uint32_t)n) & m;
        cpu_wr(cpu, S_SS, sp, in->opsize, v);
    }
    if (level > 0) {
        sp = (sp - (uint32_t)n) & m;
        cpu_wr(cpu, S_SS, sp, in->opsize, frame);
    }
    sp = (sp - size) & m;
    if (cpu_pmode(cpu) || size) {
        /* the new top of stack must be inside SS */
        cpu_seg_check(cpu, S_SS, sp, 1, true);
    }
    reg_set(cpu, R_EBP, in->opsize, frame);
    set_sp(cpu, sp);
}

void op_leave(struct cpu *cpu, const struct insn *in)
{
    uint32_t m = sp_mask(cpu);
    uint32_t sp = cpu->r[R_EBP] & m;
    uint32_t v = cpu_rd(cpu, S_SS, sp, in->opsize);
    set_sp(cpu, sp + (uint32_t)in->opsize / 8);
    reg_set(cpu, R_EBP, in->opsize, v);
}
