/*
 * ops_mov.c - data movement: MOV forms, XCHG, LEA, MOVZX/MOVSX, CMOVcc,
 * SETcc, CBW/CWD, BSWAP, XLAT, LAHF/SAHF, BOUND, NOPs and #UD.
 */
#include "ops.h"

void op_mov_Eb_Gb(struct cpu *cpu, const struct insn *in) { set_E(cpu, in, 8, get_G(cpu, in, 8)); }
void op_mov_Ev_Gv(struct cpu *cpu, const struct insn *in) { set_E(cpu, in, in->opsize, get_G(cpu, in, in->opsize)); }
void op_mov_Gb_Eb(struct cpu *cpu, const struct insn *in) { set_G(cpu, in, 8, get_E(cpu, in, 8)); }
void op_mov_Gv_Ev(struct cpu *cpu, const struct insn *in) { set_G(cpu, in, in->opsize, get_E(cpu, in, in->opsize)); }
void op_mov_Eb_Ib(struct cpu *cpu, const struct insn *in) { set_E(cpu, in, 8, in->imm); }
void op_mov_Ev_Iz(struct cpu *cpu, const struct insn *in) { set_E(cpu, in, in->opsize, in->imm); }
void op_mov_Zb_Ib(struct cpu *cpu, const struct insn *in) { set_reg8(cpu, in->opcode & 7, (uint8_t)in->imm); }
void op_mov_Zv_Iv(struct cpu *cpu, const struct insn *in) { reg_set(cpu, in->opcode & 7, in->opsize, in->imm); }

void op_mov_AL_Ob(struct cpu *cpu, const struct insn *in)
{
    set_reg8(cpu, R_EAX, cpu_rd8(cpu, in->seg, in->imm));
}

void op_mov_eAX_Ov(struct cpu *cpu, const struct insn *in)
{
    reg_set(cpu, R_EAX, in->opsize, cpu_rd(cpu, in->seg, in->imm, in->opsize));
}

void op_mov_Ob_AL(struct cpu *cpu, const struct insn *in)
{
    cpu_wr8(cpu, in->seg, in->imm, (uint8_t)cpu->r[R_EAX]);
}

void op_mov_Ov_eAX(struct cpu *cpu, const struct insn *in)
{
    cpu_wr(cpu, in->seg, in->imm, in->opsize, cpu->r[R_EAX]);
}

/*
 * MOV r/m16, Sreg.  ModRM.reg 6 and 7 name no segment register (#UD).  A
 * memory destination is always a word; a 32-bit register destination gets
 * the selector zero-extended (SDM MOV: P6 family fills the high bytes with 0).
 */
void op_mov_Ev_Sw(struct cpu *cpu, const struct insn *in)
{
    if (in->reg > S_GS) {
        cpu_undefined(cpu, in);
    }
    uint16_t sel = cpu->seg[in->reg].sel;
    if (modrm_is_reg(in)) {
        reg_set(cpu, in->rm, in->opsize, sel);
    } else {
        cpu_wr16(cpu, in->seg, cpu->ea, sel);
    }
}

/*
 * MOV Sreg, r/m16.  Loading CS this way is #UD (386+), as are ModRM.reg 6
 * and 7.  A load of SS inhibits interrupts until the next instruction ends
 * (cpu_load_seg arranges that), so that MOV SS; MOV SP is atomic.
 */
void op_mov_Sw_Ew(struct cpu *cpu, const struct insn *in)
{
    if (in->reg == S_CS || in->reg > S_GS) {
        cpu_undefined(cpu, in);
    }
    uint16_t sel = (uint16_t)get_E(cpu, in, 16);
    cpu_load_seg(cpu, in->reg, sel);
}

static void xchg_E(struct cpu *cpu, const struct insn *in, int size)
{
    uint32_t a = rmw_E(cpu, in, size);
    uint32_t b = get_G(cpu, in, size);
    set_E(cpu, in, size, b);
    set_G(cpu, in, size, a);
}

void op_xchg_Eb_Gb(struct cpu *cpu, const struct insn *in) { xchg_E(cpu, in, 8); }
void op_xchg_Ev_Gv(struct cpu *cpu, const struct insn *in) { xchg_E(cpu, in, in->opsize); }

void op_xchg_Zv_eAX(struct cpu *cpu, const struct insn *in)
{
    int r = in->opcode & 7;
    uint32_t a = reg_get(cpu, r, in->opsize);
    reg_set(cpu, r, in->opsize, reg_get(cpu, R_EAX, in->opsize));
    reg_set(cpu, R_EAX, in->opsize, a);
}

void op_lea_Gv_M(struct cpu *cpu, const struct insn *in)
{
    set_G(cpu, in, in->opsize, cpu->ea);
}

void op_movzx_Gv_Eb(struct cpu *cpu, const struct insn *in) { set_G(cpu, in, in->opsize, get_E(cpu, in, 8)); }
void op_movzx_Gv_Ew(struct cpu *cpu, const struct insn *in) { set_G(cpu, in, in->opsize, get_E(cpu, in, 16)); }

void op_movsx_Gv_Eb(struct cpu *cpu, const struct insn *in)
{
    set_G(cpu, in, in->opsize, (uint32_t)(int32_t)(int8_t)get_E(cpu, in, 8));
}

void op_movsx_Gv_Ew(struct cpu *cpu, const struct insn *in)
{
    set_G(cpu, in, in->opsize, (uint32_t)(int32_t)(int16_t)get_E(cpu, in, 16));
}

void op_cmov(struct cpu *cpu, const struct insn *in)
{
    /* the source is read (and may fault) whether or not the move happens */
    uint32_t v = get_E(cpu, in, in->opsize);
    if (cpu_cond(cpu, in->opcode & 15)) {
        set_G(cpu, in, in->opsize, v);
    }
}

void op_setcc(struct cpu *cpu, const struct insn *in)
{
    set_E(cpu, in, 8, cpu_cond(cpu, in->opcode & 15) ? 1 : 0);
}

void op_cbw(struct cpu *cpu, const struct insn *in)
{
    if (in->opsize == 16) {
        set_reg16(cpu, R_EAX, (uint16_t)(int16_t)(int8_t)cpu->r[R_EAX]);
    } else {
        cpu->r[R_EAX] = (uint32_t)(int32_t)(int16_t)cpu->r[R_EAX];
    }
}

void op_cwd(struct cpu *cpu, const struct insn *in)
{
    if (in->opsize == 16) {
        set_reg16(cpu, R_EDX, (cpu->r[R_EAX] & 0x8000) ? 0xFFFF : 0);
    } else {
        cpu->r[R_EDX] = (cpu->r[R_EAX] & 0x80000000u) ? 0xFFFFFFFFu : 0;
    }
}

void op_bswap(struct cpu *cpu, const struct insn *in)
{
    int r = in->opcode & 7;
    uint32_t v = cpu->r[r];
    if (in->opsize == 16) {
        /* undefined by the SDM; P6 hardware clears the low word */
        set_reg16(cpu, r, 0);
        return;
    }
    cpu->r[r] = (v >> 24) | ((v >> 8) & 0xFF00) | ((v << 8) & 0xFF0000) | (v << 24);
}

void op_xlat(struct cpu *cpu, const struct insn *in)
{
    uint32_t off = cpu->r[R_EBX] + (cpu->r[R_EAX] & 0xFF);
    if (in->adsize == 16) {
        off &= 0xFFFF;
    }
    set_reg8(cpu, R_EAX, cpu_rd8(cpu, in->seg, off));
}

void op_lahf(struct cpu *cpu, const struct insn *in)
{
    set_reg8(cpu, 4, (uint8_t)(cpu_get_eflags(cpu) & 0xD7) | 0x02);
}

void op_sahf(struct cpu *cpu, const struct insn *in)
{
    uint32_t ah = (cpu->r[R_EAX] >> 8) & (F_SF | F_ZF | F_AF | F_PF | F_CF);
    cc_set_eager(cpu, (cpu_get_eflags(cpu) & F_OF) | ah);
}

void op_bound_Gv_Ma(struct cpu *cpu, const struct insn *in)
{
    int size = in->opsize;
    int32_t idx, lo, hi;
    uint32_t l = cpu_rd(cpu, in->seg, cpu->ea, size);
    uint32_t h = cpu_rd(cpu, in->seg, ea_plus(in, cpu->ea, (uint32_t)size / 8), size);
    if (size == 16) {
        idx = (int16_t)cpu->r[in->reg];
        lo = (int16_t)l;
        hi = (int16_t)h;
    } else {
        idx = (int32_t)cpu->r[in->reg];
        lo = (int32_t)l;
        hi = (int32_t)h;
    }
    if (idx < lo || idx > hi) {
        cpu_fault(cpu, EX_BR, EXC_NOERR);
    }
}

void op_nop(struct cpu *cpu, const struct insn *in)
{
}

void op_nop_Ev(struct cpu *cpu, const struct insn *in)
{
}

void op_ud(struct cpu *cpu, const struct insn *in)
{
    cpu_undefined(cpu, in);
}
