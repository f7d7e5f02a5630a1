/*
 * cond.c - guest conditions in generated code: from the host's flags, from
 * the lazy record when the translator knows it, recomputed at run time for
 * the common records, or through cpu_cond; and what each instruction does
 * to the flags, for the translator's liveness pass.
 */
#include "lower.h"

#include "cpu/ops.h"

/* Condition cc is B or AE and the record in cpu holds CF in cc_aux bit 0
 * (INC, DEC, shifts, multiplications). */
static bool cf_in_aux(const struct lower *lw, int cc)
{
    return (cc >> 1) == 1 && lw->cc_known &&
           (lw->cc_op_known == CC_INC || lw->cc_op_known == CC_DEC ||
            lw->cc_op_known == CC_SHIFT);
}

/* Host flags = the guest's for testing condition cc, if the block knows how. */
static bool emit_cond_flags(struct lower *lw, int cc)
{
    struct cbuf *c = &lw->c;
    bool uses_cf = (cc >> 1) == 1 || (cc >> 1) == 3;   /* B/AE, BE/A */
    if (lw->host_flags && !(lw->host_flags_nocf && uses_cf)) {
        return true;
    }
    if (!lw->cc_known) {
        return false;
    }
    /* ZF, SF and PF come from the result alone after a shift, a
     * multiplication, INC or DEC as after a logic operation */
    bool from_res = lw->cc_op_known == CC_LOGIC ||
                    ((lw->cc_op_known == CC_SHIFT || lw->cc_op_known == CC_INC ||
                      lw->cc_op_known == CC_DEC) &&
                     ((cc >> 1) == 2 || (cc >> 1) == 4 || (cc >> 1) == 5));
    if (!from_res && lw->cc_op_known != CC_ADD && lw->cc_op_known != CC_SUB) {
        return false;
    }
    int size = lw->cc_size_known;
    char o16[2] = { 0x66, 0 };
    if (from_res) {
        x_ld32(c, X_RCX, CPU_FIELD(cc_res));
        o16[1] = (char)(size == 8 ? 0x84 : 0x85);   /* test */
        if (size == 16) {
            x_op_reg(c, false, o16, 2, X_RCX, X_RCX, false);
        } else {
            x_op_reg(c, false, o16 + 1, 1, X_RCX, X_RCX, size == 8);
        }
        return true;
    }
    x_ld32(c, X_RCX, CPU_FIELD(cc_a));
    x_ld32(c, X_RDX, CPU_FIELD(cc_b));
    int op = lw->cc_op_known == CC_ADD ? XA_ADD : XA_CMP;
    o16[1] = (char)(op << 3 | (size == 8 ? 0 : 1));
    if (size == 16) {
        x_op_reg(c, false, o16, 2, X_RDX, X_RCX, false);
    } else {
        x_op_reg(c, false, o16 + 1, 1, X_RDX, X_RCX, size == 8);
    }
    return true;
}

/* EAX = condition cc of the guest flags (0 or 1). */
/*
 * AL = condition cc from a lazy record the translator does not know: the
 * 32-bit SUB, ADD and LOGIC records (most of them) recomputed in line,
 * anything else through cpu_cond.
 */
static void emit_cond_runtime(struct lower *lw, int cc)
{
    struct cbuf *c = &lw->c;
    static const struct { uint8_t op, alu; } fast[3] = {
        { CC_SUB, XA_CMP }, { CC_ADD, XA_ADD }, { CC_LOGIC, 0 },
    };
    uint8_t *done[3];
    x_ldzx16(c, X_RCX, CPU_FIELD(cc_op));       /* cc_op | cc_size << 8 */
    for (int i = 0; i < 3; i++) {
        x_alu32i(c, XA_CMP, X_RCX, (uint32_t)(fast[i].op | 32 << 8));
        uint8_t *next = x_jcc32(c, XC_NE);
        if (fast[i].op == CC_LOGIC) {
            x_ld32(c, X_RAX, CPU_FIELD(cc_res));
            x_test32(c, X_RAX, X_RAX);
        } else {
            x_ld32(c, X_RAX, CPU_FIELD(cc_a));
            x_alu32_ld(c, fast[i].alu, X_RAX, CPU_FIELD(cc_b));
        }
        x_setcc(c, cc, X_RAX);
        done[i] = x_jmp32(c);
        x_patch32(next, c->p);
    }
    lower_rc_call(lw, (const void *)cpu_cond, true, (uint32_t)cc);
    for (int i = 0; i < 3; i++) {
        x_patch32(done[i], c->p);
    }
}

void lower_cond_value(struct lower *lw, int cc)
{
    struct cbuf *c = &lw->c;
    if (lw->cc_known && lw->cc_op_known == CC_LOGIC && (cc >> 1) <= 1 && !lw->host_flags) {
        x_movi32(c, X_RAX, cc & 1);     /* O/B after a logic op: CF = OF = 0 */
        return;
    }
    if (emit_cond_flags(lw, cc)) {
        x_setcc(c, cc, X_RAX);
    } else if (cf_in_aux(lw, cc)) {
        x_ld32(c, X_RAX, CPU_FIELD(cc_aux));
        x_alu32i(c, XA_AND, X_RAX, 1);
        if (cc & 1) {
            x_alu32i(c, XA_XOR, X_RAX, 1);      /* AE */
        }
        return;
    } else {
        emit_cond_runtime(lw, cc);
    }
    x_movzx8(c, X_RAX, X_RAX);
}

/* SETcc r8 and CMOVcc r, r/m. */

uint8_t *lower_jcc(struct lower *lw, int cc)
{
    struct cbuf *c = &lw->c;
    if (emit_cond_flags(lw, cc)) {
        return x_jcc32(c, cc);
    }
    if (cf_in_aux(lw, cc)) {
        x_op_mem(c, false, "\xF6", 1, 0, CPU_FIELD(cc_aux), false);   /* test byte [cc_aux], 1 */
        x_byte(c, 1);
        return x_jcc32(c, (cc & 1) ? XC_E : XC_NE);
    }
    emit_cond_runtime(lw, cc);
    x_test8(c, X_RAX, X_RAX);
    return x_jcc32(c, XC_NE);
}

int lower_flag_effect(const struct insn *in)
{
    op_fn *fn = in->op->fn;
    int fault = ((in->op->attr & A_MODRM) && in->mod != 3) ? FX_FAULTS : 0;
    if (fn == op_lea_Gv_M || fn == op_mov_Zv_Iv || fn == op_mov_Zb_Ib || fn == op_nop) {
        return 0;
    }
    if (fn == op_alu_Ev_Gv || fn == op_alu_Eb_Gb || fn == op_alu_Gv_Ev || fn == op_alu_Gb_Eb ||
        fn == op_alu_eAX_Iz || fn == op_alu_AL_Ib || fn == op_alu_Ev_Iz || fn == op_alu_Eb_Ib) {
        int kind = (fn == op_alu_Ev_Iz || fn == op_alu_Eb_Ib) ? in->reg : (in->opcode >> 3) & 7;
        bool store = fault && kind != XA_CMP && fn != op_alu_Gv_Ev && fn != op_alu_Gb_Eb;
        return fault | FX_WRITES | ((kind == XA_ADC || kind == XA_SBB) ? FX_READS : 0) |
               (store ? FX_STORES : 0);
    }
    if (fn == op_test_Ev_Gv || fn == op_test_Eb_Gb || fn == op_test_Ev_Iz || fn == op_test_Eb_Ib ||
        fn == op_test_eAX_Iz || fn == op_test_AL_Ib || fn == op_neg_Ev || fn == op_neg_Eb ||
        fn == op_imul_Gv_Ev || fn == op_imul_Gv_Ev_Iz) {
        return fault | FX_WRITES;
    }
    if (fn == op_mul_Ev || fn == op_mul_Eb || fn == op_imul_Ev || fn == op_imul_Eb) {
        return fault | FX_WRITES;
    }
    if (fn == op_div_Ev || fn == op_div_Eb || fn == op_idiv_Ev || fn == op_idiv_Eb) {
        return FX_FAULTS;   /* #DE; the flags stay as they were */
    }
    if (fn == op_mov_Ev_Gv || fn == op_mov_Eb_Gb || fn == op_mov_Ev_Iz || fn == op_mov_Eb_Ib ||
        fn == op_not_Ev || fn == op_not_Eb) {
        return fault | (fault ? FX_STORES : 0);
    }
    if (fn == op_mov_Gv_Ev || fn == op_mov_Gb_Eb || fn == op_movzx_Gv_Eb ||
        fn == op_movzx_Gv_Ew || fn == op_movsx_Gv_Eb || fn == op_movsx_Gv_Ew) {
        return fault;
    }
    if (fn == op_inc_Zv || fn == op_dec_Zv || fn == op_inc_Ev || fn == op_dec_Ev ||
        fn == op_inc_Eb || fn == op_dec_Eb) {
        /* CF passes through: live before iff live after */
        return fault | FX_PARTIAL | (fault ? FX_STORES : 0);
    }
    int store = fault ? FX_STORES : 0;
    if ((fn == op_shift_Ev || fn == op_shift_Eb) && (in->opcode & 0xFE) == 0xD2) {
        /* count in CL: maybe 0 (no change); RCL/RCR read CF */
        return fault | store | ((in->reg == 2 || in->reg == 3) ? FX_READS : FX_PARTIAL);
    }
    if (fn == op_shift_Ev || fn == op_shift_Eb) {
        unsigned n = ((in->opcode & 0xFE) == 0xD0 ? 1 : in->imm) & 31;
        if (n == 0) {
            return fault | store;
        }
        if (in->reg == 0 || in->reg == 1) {
            return fault | store | FX_PARTIAL;  /* CF and OF only */
        }
        return fault | store | ((in->reg == 2 || in->reg == 3) ? FX_READS : FX_WRITES);
    }
    return FX_READS | FX_FAULTS | FX_STORES;    /* handlers, PUSH, ...: anything */
}
