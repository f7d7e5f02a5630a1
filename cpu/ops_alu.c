/*
 * ops_alu.c - the eight ALU operations in all their forms, INC/DEC, NOT,
 * NEG and TEST.
 *
 * The ALU operation of opcodes 00-3F is bits 3-5 of the opcode; in group 1
 * (80-83) it is ModRM.reg.  Results set lazy flags (cpu/flags.c): the
 * operands and result are recorded, and EFLAGS is computed when read.
 */
#include "ops.h"

enum { ALU_ADD, ALU_OR, ALU_ADC, ALU_SBB, ALU_AND, ALU_SUB, ALU_XOR, ALU_CMP };

/* Compute a op b at `size` bits and record the flags. */
static uint32_t alu(struct cpu *cpu, int kind, int size, uint32_t a, uint32_t b)
{
    uint32_t m = size_mask(size);
    uint32_t r, c;
    a &= m;
    b &= m;
    switch (kind) {
    case ALU_ADD:
        r = a + b;
        cc_set(cpu, CC_ADD, size, r, a, b);
        break;
    case ALU_ADC:
        c = cpu_cf(cpu);
        r = a + b + c;
        cc_set(cpu, CC_ADC, size, r, a, b);
        cpu->cc_aux = c;
        break;
    case ALU_SBB:
        c = cpu_cf(cpu);
        r = a - b - c;
        cc_set(cpu, CC_SBB, size, r, a, b);
        cpu->cc_aux = c;
        break;
    case ALU_SUB:
    case ALU_CMP:
        r = a - b;
        cc_set(cpu, CC_SUB, size, r, a, b);
        break;
    case ALU_OR:
        r = a | b;
        cc_set(cpu, CC_LOGIC, size, r, 0, 0);
        break;
    case ALU_AND:
        r = a & b;
        cc_set(cpu, CC_LOGIC, size, r, 0, 0);
        break;
    default:
        r = a ^ b;
        cc_set(cpu, CC_LOGIC, size, r, 0, 0);
        break;
    }
    return r & m;
}

/* dest op= src on the E operand (read-modify-write unless CMP). */
static void alu_E(struct cpu *cpu, const struct insn *in, int kind, int size, uint32_t src)
{
    if (kind == ALU_CMP) {
        alu(cpu, kind, size, get_E(cpu, in, size), src);
        return;
    }
    uint32_t a = rmw_E(cpu, in, size);
    set_E(cpu, in, size, alu(cpu, kind, size, a, src));
}

void op_alu_Eb_Gb(struct cpu *cpu, const struct insn *in)
{
    alu_E(cpu, in, (in->opcode >> 3) & 7, 8, get_G(cpu, in, 8));
}

void op_alu_Ev_Gv(struct cpu *cpu, const struct insn *in)
{
    alu_E(cpu, in, (in->opcode >> 3) & 7, in->opsize, get_G(cpu, in, in->opsize));
}

static void alu_G(struct cpu *cpu, const struct insn *in, int size)
{
    int kind = (in->opcode >> 3) & 7;
    uint32_t r = alu(cpu, kind, size, get_G(cpu, in, size), get_E(cpu, in, size));
    if (kind != ALU_CMP) {
        set_G(cpu, in, size, r);
    }
}

void op_alu_Gb_Eb(struct cpu *cpu, const struct insn *in)
{
    alu_G(cpu, in, 8);
}

void op_alu_Gv_Ev(struct cpu *cpu, const struct insn *in)
{
    alu_G(cpu, in, in->opsize);
}

static void alu_acc(struct cpu *cpu, const struct insn *in, int size)
{
    int kind = (in->opcode >> 3) & 7;
    uint32_t r = alu(cpu, kind, size, reg_get(cpu, R_EAX, size), in->imm);
    if (kind != ALU_CMP) {
        reg_set(cpu, R_EAX, size, r);
    }
}

void op_alu_AL_Ib(struct cpu *cpu, const struct insn *in)
{
    alu_acc(cpu, in, 8);
}

void op_alu_eAX_Iz(struct cpu *cpu, const struct insn *in)
{
    alu_acc(cpu, in, in->opsize);
}

void op_alu_Eb_Ib(struct cpu *cpu, const struct insn *in)
{
    alu_E(cpu, in, in->reg, 8, in->imm);
}

void op_alu_Ev_Iz(struct cpu *cpu, const struct insn *in)
{
    alu_E(cpu, in, in->reg, in->opsize, in->imm);
}

/* --- INC / DEC: like ADD/SUB 1 but CF is preserved --- */

static uint32_t incdec(struct cpu *cpu, int size, uint32_t a, bool dec)
{
    uint32_t cf = cpu_cf(cpu);
    uint32_t r = (dec ? a - 1 : a + 1) & size_mask(size);
    cc_set(cpu, dec ? CC_DEC : CC_INC, size, r, a & size_mask(size), 1);
    cpu->cc_aux = cf;
    return r;
}

void op_inc_Zv(struct cpu *cpu, const struct insn *in)
{
    int r = in->opcode & 7;
    reg_set(cpu, r, in->opsize, incdec(cpu, in->opsize, cpu->r[r], false));
}

void op_dec_Zv(struct cpu *cpu, const struct insn *in)
{
    int r = in->opcode & 7;
    reg_set(cpu, r, in->opsize, incdec(cpu, in->opsize, cpu->r[r], true));
}

static void incdec_E(struct cpu *cpu, const struct insn *in, int size, bool dec)
{
    uint32_t a = rmw_E(cpu, in, size);
    set_E(cpu, in, size, incdec(cpu, size, a, dec));
}

void op_inc_Eb(struct cpu *cpu, const struct insn *in) { incdec_E(cpu, in, 8, false); }
void op_dec_Eb(struct cpu *cpu, const struct insn *in) { incdec_E(cpu, in, 8, true); }
void op_inc_Ev(struct cpu *cpu, const struct insn *in) { incdec_E(cpu, in, in->opsize, false); }
void op_dec_Ev(struct cpu *cpu, const struct insn *in) { incdec_E(cpu, in, in->opsize, true); }

/* --- NOT / NEG --- */

static void not_E(struct cpu *cpu, const struct insn *in, int size)
{
    set_E(cpu, in, size, ~rmw_E(cpu, in, size));
}

static void neg_E(struct cpu *cpu, const struct insn *in, int size)
{
    uint32_t b = rmw_E(cpu, in, size);
    set_E(cpu, in, size, alu(cpu, ALU_SUB, size, 0, b));
}

void op_not_Eb(struct cpu *cpu, const struct insn *in) { not_E(cpu, in, 8); }
void op_not_Ev(struct cpu *cpu, const struct insn *in) { not_E(cpu, in, in->opsize); }
void op_neg_Eb(struct cpu *cpu, const struct insn *in) { neg_E(cpu, in, 8); }
void op_neg_Ev(struct cpu *cpu, const struct insn *in) { neg_E(cpu, in, in->opsize); }

/* --- TEST --- */

void op_test_Eb_Gb(struct cpu *cpu, const struct insn *in)
{
    alu(cpu, ALU_AND, 8, get_E(cpu, in, 8), get_G(cpu, in, 8));
}

void op_test_Ev_Gv(struct cpu *cpu, const struct insn *in)
{
    alu(cpu, ALU_AND, in->opsize, get_E(cpu, in, in->opsize), get_G(cpu, in, in->opsize));
}

void op_test_AL_Ib(struct cpu *cpu, const struct insn *in)
{
    alu(cpu, ALU_AND, 8, cpu->r[R_EAX], in->imm);
}

void op_test_eAX_Iz(struct cpu *cpu, const struct insn *in)
{
    alu(cpu, ALU_AND, in->opsize, cpu->r[R_EAX], in->imm);
}

void op_test_Eb_Ib(struct cpu *cpu, const struct insn *in)
{
    alu(cpu, ALU_AND, 8, get_E(cpu, in, 8), in->imm);
}

void op_test_Ev_Iz(struct cpu *cpu, const struct insn *in)
{
    alu(cpu, ALU_AND, in->opsize, get_E(cpu, in, in->opsize), in->imm);
}

/* --- XADD / CMPXCHG --- */

static void xadd(struct cpu *cpu, const struct insn *in, int size)
{
    uint32_t d = rmw_E(cpu, in, size);
    uint32_t s = get_G(cpu, in, size);
    uint32_t r = alu(cpu, ALU_ADD, size, d, s);
    /* with a register destination equal to the source, the sum wins */
    set_G(cpu, in, size, d);
    set_E(cpu, in, size, r);
}

void op_xadd_Eb_Gb(struct cpu *cpu, const struct insn *in) { xadd(cpu, in, 8); }
void op_xadd_Ev_Gv(struct cpu *cpu, const struct insn *in) { xadd(cpu, in, in->opsize); }

static void cmpxchg(struct cpu *cpu, const struct insn *in, int size)
{
    uint32_t d = rmw_E(cpu, in, size);
    uint32_t acc = reg_get(cpu, R_EAX, size);
    alu(cpu, ALU_CMP, size, acc, d);
    if (acc == d) {
        set_E(cpu, in, size, get_G(cpu, in, size));
    } else {
        /* the destination is written back either way (locked cycle) */
        if (!modrm_is_reg(in)) {
            set_E(cpu, in, size, d);
        }
        reg_set(cpu, R_EAX, size, d);
    }
}

void op_cmpxchg_Eb_Gb(struct cpu *cpu, const struct insn *in) { cmpxchg(cpu, in, 8); }
void op_cmpxchg_Ev_Gv(struct cpu *cpu, const struct insn *in) { cmpxchg(cpu, in, in->opsize); }

void op_cmpxchg8b(struct cpu *cpu, const struct insn *in)
{
    uint32_t ea1 = ea_plus(in, cpu->ea, 4);
    cpu_check_write(cpu, in->seg, cpu->ea, 4);
    cpu_check_write(cpu, in->seg, ea1, 4);
    uint32_t lo = cpu_rd32(cpu, in->seg, cpu->ea);
    uint32_t hi = cpu_rd32(cpu, in->seg, ea1);
    uint32_t f = cpu_get_eflags(cpu) & ~F_ZF;
    if (lo == cpu->r[R_EAX] && hi == cpu->r[R_EDX]) {
        cpu_wr32(cpu, in->seg, cpu->ea, cpu->r[R_EBX]);
        cpu_wr32(cpu, in->seg, ea1, cpu->r[R_ECX]);
        f |= F_ZF;
    } else {
        cpu_wr32(cpu, in->seg, cpu->ea, lo);
        cpu_wr32(cpu, in->seg, ea1, hi);
        cpu->r[R_EAX] = lo;
        cpu->r[R_EDX] = hi;
    }
    cc_set_eager(cpu, f);
}
