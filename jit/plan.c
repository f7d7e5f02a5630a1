/*
 * plan.c - what the translator's planning passes need to know of an
 * instruction besides its flags (cond.c): the kind of its memory access
 * when the lowering does it in line, and the guest registers it may write.
 */
#include "lower.h"

#include "cpu/ops.h"

/* The ALU operation of an ALU form (its /r or opcode bits); 7 is CMP. */
static int alu_kind(const struct insn *in)
{
    op_fn *fn = in->op->fn;
    return (fn == op_alu_Ev_Iz || fn == op_alu_Eb_Ib) ? in->reg : (in->opcode >> 3) & 7;
}

int lower_mem_kind(const struct insn *in)
{
    op_fn *fn = in->op->fn;
    if (in->adsize != 32) {
        return -1;
    }
    if (fn == op_mov_eAX_Ov || fn == op_mov_AL_Ob) {
        return TLB_READ;
    }
    if (fn == op_mov_Ov_eAX || fn == op_mov_Ob_AL) {
        return TLB_WRITE;
    }
    if (!(in->op->attr & A_MODRM) || in->mod == 3) {
        return -1;
    }
    if (fn == op_mov_Gv_Ev || fn == op_mov_Gb_Eb || fn == op_movzx_Gv_Eb ||
        fn == op_movzx_Gv_Ew || fn == op_movsx_Gv_Eb || fn == op_movsx_Gv_Ew ||
        fn == op_alu_Gv_Ev || fn == op_alu_Gb_Eb || fn == op_test_Ev_Gv || fn == op_test_Eb_Gb ||
        fn == op_test_Ev_Iz || fn == op_test_Eb_Ib || fn == op_cmov || fn == op_imul_Gv_Ev ||
        fn == op_imul_Gv_Ev_Iz) {
        return TLB_READ;
    }
    if (fn == op_alu_Ev_Gv || fn == op_alu_Eb_Gb || fn == op_alu_Ev_Iz || fn == op_alu_Eb_Ib) {
        return alu_kind(in) == XA_CMP ? TLB_READ : TLB_WRITE;    /* else a read-modify-write */
    }
    if (fn == op_mov_Ev_Gv || fn == op_mov_Eb_Gb || fn == op_mov_Ev_Iz || fn == op_mov_Eb_Ib ||
        fn == op_inc_Ev || fn == op_dec_Ev || fn == op_inc_Eb || fn == op_dec_Eb ||
        fn == op_setcc) {
        return TLB_WRITE;
    }
    return -1;
}

/* Bit of the 32-bit register an 8-bit register r (AL..BH) is part of. */
static uint8_t greg8_bit(int r)
{
    return (uint8_t)(1u << (r & 3));
}

uint8_t lower_regs_written(const struct insn *in)
{
    op_fn *fn = in->op->fn;
    bool reg_e = (in->op->attr & A_MODRM) && in->mod == 3;
    uint8_t rm = reg_e ? (uint8_t)(1u << in->rm) : 0, rm8 = reg_e ? greg8_bit(in->rm) : 0;
    if (fn == op_jcc || fn == op_jmp_J || fn == op_nop || fn == op_nop_Ev || fn == op_test_Ev_Gv ||
        fn == op_test_Eb_Gb || fn == op_test_Ev_Iz || fn == op_test_Eb_Ib ||
        fn == op_test_eAX_Iz || fn == op_test_AL_Ib || fn == op_mov_Ov_eAX ||
        fn == op_mov_Ob_AL) {
        return 0;
    }
    if (fn == op_mov_Gv_Ev || fn == op_movzx_Gv_Eb || fn == op_movzx_Gv_Ew ||
        fn == op_movsx_Gv_Eb || fn == op_movsx_Gv_Ew || fn == op_lea_Gv_M || fn == op_cmov ||
        fn == op_imul_Gv_Ev || fn == op_imul_Gv_Ev_Iz) {
        return (uint8_t)(1u << in->reg);
    }
    if (fn == op_mov_Gb_Eb) {
        return greg8_bit(in->reg);
    }
    if (fn == op_mov_Ev_Gv || fn == op_mov_Ev_Iz || fn == op_inc_Ev || fn == op_dec_Ev ||
        fn == op_shift_Ev || fn == op_not_Ev || fn == op_neg_Ev) {
        return rm;
    }
    if (fn == op_mov_Eb_Gb || fn == op_mov_Eb_Ib || fn == op_inc_Eb || fn == op_dec_Eb ||
        fn == op_shift_Eb || fn == op_not_Eb || fn == op_neg_Eb || fn == op_setcc) {
        return rm8;
    }
    if (fn == op_alu_Ev_Gv || fn == op_alu_Ev_Iz) {
        return alu_kind(in) == XA_CMP ? 0 : rm;
    }
    if (fn == op_alu_Eb_Gb || fn == op_alu_Eb_Ib) {
        return alu_kind(in) == XA_CMP ? 0 : rm8;
    }
    if (fn == op_alu_Gv_Ev || fn == op_alu_Gb_Eb) {
        uint8_t r = fn == op_alu_Gv_Ev ? (uint8_t)(1u << in->reg) : greg8_bit(in->reg);
        return alu_kind(in) == XA_CMP ? 0 : r;
    }
    if (fn == op_alu_eAX_Iz || fn == op_alu_AL_Ib) {
        return alu_kind(in) == XA_CMP ? 0 : 1u << R_EAX;
    }
    if (fn == op_mov_eAX_Ov || fn == op_mov_AL_Ob) {
        return 1u << R_EAX;
    }
    if (fn == op_mov_Zv_Iv || fn == op_inc_Zv || fn == op_dec_Zv) {
        return (uint8_t)(1u << (in->opcode & 7));
    }
    if (fn == op_mov_Zb_Ib) {
        return greg8_bit(in->opcode & 7);
    }
    if (fn == op_push_Zv || fn == op_push_Iz) {
        return 1u << R_ESP;
    }
    if (fn == op_pop_Zv) {
        return (uint8_t)(1u << R_ESP | 1u << (in->opcode & 7));
    }
    return 0xFF;    /* anything else: maybe any */
}
