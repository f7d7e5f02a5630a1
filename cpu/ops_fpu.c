/*
 * ops_fpu.c - the x87 instructions (escape opcodes D8-DF).
 *
 * One handler decodes the escape: memory forms are selected by the opcode
 * and ModRM.reg, register forms by the opcode, ModRM.reg and ModRM.rm.
 * Values are computed by cpu/fpu_soft.c; stack, tags and the status word
 * are kept by cpu/fpu.c.  The rule for every operation: compute with a
 * context built from the control word, fold the exceptions into the status
 * word, and write the destination (and pop) only when no unmasked
 * exception forbids it.  Register forms with ST(i) as destination (DC, DE)
 * swap the meaning of SUB/SUBR and DIV/DIVR, as the opcode map does.
 */
#include "fpu.h"

/* kind: 0 add, 1 mul, 4 a-b, 5 b-a, 6 a/b, 7 b/a */
static fx80 arith(struct fx_ctx *c, unsigned kind, fx80 a, fx80 b)
{
    switch (kind) {
    case 0: return fx_add(c, a, b);
    case 1: return fx_mul(c, a, b);
    case 4: return fx_sub(c, a, b);
    case 5: return fx_sub(c, b, a);
    case 6: return fx_div(c, a, b);
    default: return fx_div(c, b, a);
    }
}

static uint16_t cmp_cc(int r)
{
    switch (r) {
    case FX_LT: return SW_C0;
    case FX_EQ: return SW_C3;
    case FX_GT: return 0;
    default: return SW_C0 | SW_C2 | SW_C3;
    }
}

/*
 * A denormal m32/m64 source is normal once widened, so its DE is raised
 * here, where the operation's own denormal check would have: not when a
 * NaN operand, an invalid operation or a zero divide decided the result
 * (the x87's exception priority).
 */
static void src_denormal(struct fx_ctx *c, fx80 a, fx80 b, bool den)
{
    if (den && !(c->exc & (FX_IE | FX_ZE)) && !fx_is_nan(a) && !fx_is_nan(b)) {
        c->exc |= FX_DE;
    }
}

/*
 * Compare ST(0) with b, set C0/C2/C3 (or EFLAGS for FCOMI), pop `pops`.
 * b_den: b is a widened denormal memory operand.
 */
static void compare(struct cpu *cpu, fx80 b, bool b_empty, bool b_den, bool quiet, bool eflags,
                    int pops)
{
    struct fx_ctx c = fpu_ctx(cpu);
    int r;
    if (fpu_empty(cpu, 0) || b_empty) {
        if (!fpu_stack_fault(cpu, false)) {
            return;
        }
        r = FX_UN;
    } else {
        r = fx_cmp(&c, fpu_st(cpu, 0), b, quiet);
        src_denormal(&c, fpu_st(cpu, 0), b, b_den);
        if (!fpu_commit(cpu, &c)) {
            /* FCOM still shows "unordered" (or the order, for an unmasked
             * DE); FCOMI leaves EFLAGS alone.  Nothing is popped. */
            if (!eflags) {
                fpu_set_cc(cpu, cmp_cc(r));
            }
            return;
        }
    }
    if (eflags) {
        uint32_t f = cpu_get_eflags(cpu) & ~F_ARITH;
        f |= r == FX_LT ? F_CF : r == FX_EQ ? F_ZF : r == FX_UN ? (F_ZF | F_PF | F_CF) : 0;
        cc_set_eager(cpu, f);
        cpu->fpu.sw &= (uint16_t)~SW_C1;
    } else {
        fpu_set_cc(cpu, cmp_cc(r));
    }
    while (pops-- > 0) {
        fpu_pop(cpu);
    }
}

/* dest = dest op src for register operands; pop afterwards if asked. */
static void arith_reg(struct cpu *cpu, unsigned kind, unsigned dst, unsigned src, bool pop)
{
    struct fx_ctx c = fpu_ctx(cpu);
    fx80 r;
    if (fpu_empty(cpu, dst) || fpu_empty(cpu, src)) {
        if (!fpu_stack_fault(cpu, false)) {
            return;
        }
        r = FX_INDEFINITE;
    } else {
        r = arith(&c, kind, fpu_st(cpu, dst), fpu_st(cpu, src));
        if (!fpu_commit(cpu, &c)) {
            return;
        }
    }
    fpu_set_st(cpu, dst, r);
    if (pop) {
        fpu_pop(cpu);
    }
}

/* ---- memory operands ---- */

static fx80 load_mem(struct cpu *cpu, const struct insn *in, int fmt, struct fx_ctx *c)
{
    uint32_t a = cpu->ea;
    switch (fmt) {
    case 0: /* m32fp */
        return fx_from_f32(c, cpu_rd32(cpu, in->seg, a));
    case 1: /* m32int */
        return fx_from_i64(c, (int32_t)cpu_rd32(cpu, in->seg, a));
    case 2: { /* m64fp */
        uint64_t lo = cpu_rd32(cpu, in->seg, a);
        uint64_t hi = cpu_rd32(cpu, in->seg, ea_plus(in, a, 4));
        return fx_from_f64(c, lo | hi << 32);
    }
    case 3: /* m16int */
        return fx_from_i64(c, (int16_t)cpu_rd16(cpu, in->seg, a));
    case 4: { /* m64int */
        uint64_t lo = cpu_rd32(cpu, in->seg, a);
        uint64_t hi = cpu_rd32(cpu, in->seg, ea_plus(in, a, 4));
        return fx_from_i64(c, (int64_t)(lo | hi << 32));
    }
    case 5: { /* m80 */
        uint64_t lo = cpu_rd32(cpu, in->seg, a);
        uint64_t hi = cpu_rd32(cpu, in->seg, ea_plus(in, a, 4));
        return (fx80){ .mant = lo | hi << 32, .sexp = cpu_rd16(cpu, in->seg, ea_plus(in, a, 8)) };
    }
    default: { /* m80 packed BCD */
        uint8_t b[10];
        for (uint32_t i = 0; i < 10; i++) {
            b[i] = cpu_rd8(cpu, in->seg, ea_plus(in, a, i));
        }
        return fx_from_bcd(c, b);
    }
    }
}

static void write_bytes(struct cpu *cpu, const struct insn *in, uint64_t lo, uint16_t hi, int n)
{
    cpu_check_write(cpu, in->seg, cpu->ea, n);
    for (int i = 0; i < n && i < 8; i += 4) {
        uint32_t v = (uint32_t)(lo >> (8 * i));
        if (n - i >= 4) {
            cpu_wr32(cpu, in->seg, ea_plus(in, cpu->ea, (uint32_t)i), v);
        } else {
            cpu_wr16(cpu, in->seg, ea_plus(in, cpu->ea, (uint32_t)i), (uint16_t)v);
        }
    }
    if (n == 10) {
        cpu_wr16(cpu, in->seg, ea_plus(in, cpu->ea, 8), hi);
    }
}

/* FST/FIST/FBSTP family: fmt as load_mem; 6 = BCD. */
static void store_mem(struct cpu *cpu, const struct insn *in, int fmt, bool pop)
{
    struct fx_ctx c = fpu_ctx(cpu);
    uint64_t lo = 0;
    uint16_t hi = 0;
    static const int bytes[7] = { 4, 4, 8, 2, 8, 10, 10 };
    cpu_check_write(cpu, in->seg, cpu->ea, bytes[fmt]);
    fx80 v = fpu_st(cpu, 0);
    if (fpu_empty(cpu, 0)) {
        if (!fpu_stack_fault(cpu, false)) {
            return;
        }
        v = FX_INDEFINITE;
    }
    switch (fmt) {
    case 0: lo = fx_to_f32(&c, v); break;
    case 1: lo = (uint64_t)fx_to_int(&c, v, 32, false); break;
    case 2: lo = fx_to_f64(&c, v); break;
    case 3: lo = (uint64_t)fx_to_int(&c, v, 16, false); break;
    case 4: lo = (uint64_t)fx_to_int(&c, v, 64, false); break;
    case 5: lo = v.mant; hi = v.sexp; break;
    default: {
        uint8_t b[10];
        fx_to_bcd(&c, v, b);
        for (int i = 0; i < 8; i++) {
            lo |= (uint64_t)b[i] << (8 * i);
        }
        hi = (uint16_t)(b[8] | b[9] << 8);
        break;
    }
    }
    fpu_commit(cpu, &c);
    if (c.exc & ~cpu->fpu.cw & (FX_IE | FX_OE | FX_UE)) {
        return;   /* unmasked: memory is not written, nothing popped */
    }
    write_bytes(cpu, in, lo, hi, bytes[fmt]);
    if (pop) {
        fpu_pop(cpu);
    }
}

static void fld_value(struct cpu *cpu, fx80 v, struct fx_ctx *c)
{
    if (!fpu_empty(cpu, 7)) {
        if (fpu_stack_fault(cpu, true)) {
            fpu_push(cpu, FX_INDEFINITE);
        }
        return;
    }
    if (c && !fpu_commit(cpu, c)) {
        return;
    }
    cpu->fpu.sw &= (uint16_t)~SW_C1;   /* C1 = 0: no stack overflow */
    fpu_push(cpu, v);
}

/* The source of an arithmetic or compare instruction: fmt as load_mem,
 * 0-3 only; floats widened exactly (see fx_widen_f32). */
static fx80 load_src(struct cpu *cpu, const struct insn *in, int fmt, bool *den)
{
    uint32_t a = cpu->ea;
    struct fx_ctx none = fpu_ctx(cpu);
    *den = false;
    switch (fmt) {
    case 0:
        return fx_widen_f32(cpu_rd32(cpu, in->seg, a), den);
    case 2: {
        uint64_t lo = cpu_rd32(cpu, in->seg, a);
        uint64_t hi = cpu_rd32(cpu, in->seg, ea_plus(in, a, 4));
        return fx_widen_f64(lo | hi << 32, den);
    }
    default: /* integers convert exactly */
        return load_mem(cpu, in, fmt, &none);
    }
}

static void arith_mem(struct cpu *cpu, const struct insn *in, int fmt)
{
    struct fx_ctx c = fpu_ctx(cpu);
    bool den;
    fx80 src = load_src(cpu, in, fmt, &den);
    unsigned reg = in->reg;
    if (reg == 2 || reg == 3) {
        compare(cpu, src, false, den, false, false, reg == 3);
        return;
    }
    if (fpu_empty(cpu, 0)) {
        if (fpu_stack_fault(cpu, false)) {
            fpu_set_st(cpu, 0, FX_INDEFINITE);
        }
        return;
    }
    fx80 r = arith(&c, reg, fpu_st(cpu, 0), src);
    src_denormal(&c, fpu_st(cpu, 0), src, den);
    if (fpu_commit(cpu, &c)) {
        fpu_set_st(cpu, 0, r);
    }
}

static void mem_d9(struct cpu *cpu, const struct insn *in)
{
    struct fx_ctx c = fpu_ctx(cpu);
    switch (in->reg) {
    case 0: {
        fx80 v = load_mem(cpu, in, 0, &c);
        fld_value(cpu, v, &c);
        break;
    }
    case 2: store_mem(cpu, in, 0, false); break;
    case 3: store_mem(cpu, in, 0, true); break;
    case 4: fpu_ldenv(cpu, in, cpu->ea); break;
    case 5:
        cpu->fpu.cw = cpu_rd16(cpu, in->seg, cpu->ea);
        if (cpu->fpu.sw & ~cpu->fpu.cw & 0x3F) {
            cpu->fpu.sw |= SW_ES | SW_B;
        } else {
            cpu->fpu.sw &= (uint16_t)~(SW_ES | SW_B);
        }
        fpu_update_ferr(cpu);
        break;
    case 6: fpu_stenv(cpu, in, cpu->ea); cpu->fpu.cw |= 0x3F; break;
    case 7: cpu_wr16(cpu, in->seg, cpu->ea, cpu->fpu.cw); break;
    default: cpu_undefined(cpu, in);
    }
}

static void mem_form(struct cpu *cpu, const struct insn *in)
{
    struct fx_ctx c = fpu_ctx(cpu);
    switch (in->opcode) {
    case 0xD8: arith_mem(cpu, in, 0); return;
    case 0xDA: arith_mem(cpu, in, 1); return;
    case 0xDC: arith_mem(cpu, in, 2); return;
    case 0xDE: arith_mem(cpu, in, 3); return;
    case 0xD9: mem_d9(cpu, in); return;
    case 0xDB:
        switch (in->reg) {
        case 0: { fx80 v = load_mem(cpu, in, 1, &c); fld_value(cpu, v, &c); return; }
        case 2: store_mem(cpu, in, 1, false); return;
        case 3: store_mem(cpu, in, 1, true); return;
        case 5: { fx80 v = load_mem(cpu, in, 5, &c); fld_value(cpu, v, NULL); return; }
        case 7: store_mem(cpu, in, 5, true); return;
        default: break;
        }
        break;
    case 0xDD:
        switch (in->reg) {
        case 0: { fx80 v = load_mem(cpu, in, 2, &c); fld_value(cpu, v, &c); return; }
        case 2: store_mem(cpu, in, 2, false); return;
        case 3: store_mem(cpu, in, 2, true); return;
        case 4: fpu_restore(cpu, in); return;
        case 6: fpu_save(cpu, in); return;
        case 7: cpu_wr16(cpu, in->seg, cpu->ea, cpu->fpu.sw); return;
        default: break;
        }
        break;
    case 0xDF:
        switch (in->reg) {
        case 0: { fx80 v = load_mem(cpu, in, 3, &c); fld_value(cpu, v, &c); return; }
        case 2: store_mem(cpu, in, 3, false); return;
        case 3: store_mem(cpu, in, 3, true); return;
        case 4: { fx80 v = load_mem(cpu, in, 6, &c); fld_value(cpu, v, &c); return; }
        case 5: { fx80 v = load_mem(cpu, in, 4, &c); fld_value(cpu, v, &c); return; }
        case 6: store_mem(cpu, in, 6, true); return;
        case 7: store_mem(cpu, in, 4, true); return;
        default: break;
        }
        break;
    default:
        break;
    }
    cpu_undefined(cpu, in);
}

/* ---- register forms ---- */

static void fxch(struct cpu *cpu, unsigned i)
{
    fx80 a = fpu_st(cpu, 0), b = fpu_st(cpu, i);
    if (fpu_empty(cpu, 0) || fpu_empty(cpu, i)) {
        if (!fpu_stack_fault(cpu, false)) {
            return;
        }
        a = fpu_empty(cpu, 0) ? FX_INDEFINITE : a;
        b = fpu_empty(cpu, i) ? FX_INDEFINITE : b;
    } else {
        cpu->fpu.sw &= (uint16_t)~SW_C1;
    }
    fpu_set_st(cpu, 0, b);
    fpu_set_st(cpu, i, a);
}

static void fst_reg(struct cpu *cpu, unsigned i, bool pop)
{
    if (fpu_empty(cpu, 0)) {
        if (!fpu_stack_fault(cpu, false)) {
            return;
        }
        fpu_set_st(cpu, i, FX_INDEFINITE);
    } else {
        fpu_set_st(cpu, i, fpu_st(cpu, 0));
        cpu->fpu.sw &= (uint16_t)~SW_C1;
    }
    if (pop) {
        fpu_pop(cpu);
    }
}

static void fcmov(struct cpu *cpu, const struct insn *in)
{
    uint32_t f = cpu_get_eflags(cpu);
    bool cond;
    switch (in->reg & 3) {
    case 0: cond = f & F_CF; break;
    case 1: cond = f & F_ZF; break;
    case 2: cond = f & (F_CF | F_ZF); break;
    default: cond = f & F_PF; break;
    }
    if (in->opcode == 0xDB) {
        cond = !cond;
    }
    if (fpu_empty(cpu, 0) || fpu_empty(cpu, in->rm)) {
        if (fpu_stack_fault(cpu, false)) {
            fpu_set_st(cpu, 0, FX_INDEFINITE);
        }
        return;
    }
    if (cond) {
        fpu_set_st(cpu, 0, fpu_st(cpu, in->rm));
    }
}

/* Unary operation on ST(0) with the result in ST(0). */
static void unary(struct cpu *cpu, fx80 (*fn)(struct fx_ctx *, fx80))
{
    struct fx_ctx c = fpu_ctx(cpu);
    if (fpu_empty(cpu, 0)) {
        if (fpu_stack_fault(cpu, false)) {
            fpu_set_st(cpu, 0, FX_INDEFINITE);
        }
        return;
    }
    fx80 r = fn(&c, fpu_st(cpu, 0));
    if (fpu_commit(cpu, &c)) {
        fpu_set_st(cpu, 0, r);
    }
}

/* ST(1) = fn(ST(0), ST(1)), then pop (FYL2X, FYL2XP1, FPATAN). */
static void binary_pop(struct cpu *cpu, int which)
{
    struct fx_ctx c = fpu_ctx(cpu);
    fx80 r;
    if (fpu_empty(cpu, 0) || fpu_empty(cpu, 1)) {
        if (!fpu_stack_fault(cpu, false)) {
            return;
        }
        r = FX_INDEFINITE;
    } else {
        fx80 x = fpu_st(cpu, 0), y = fpu_st(cpu, 1);
        r = which == 0 ? fx_yl2x(&c, x, y) : which == 1 ? fx_yl2xp1(&c, x, y)
                                                        : fx_patan(&c, y, x);
        if (!fpu_commit(cpu, &c)) {
            return;
        }
    }
    fpu_set_st(cpu, 1, r);
    fpu_pop(cpu);
}

/* FPTAN, FSINCOS, FXTRACT: ST(0) replaced and a second value pushed. */
static void two_results(struct cpu *cpu, int which)
{
    struct fx_ctx c = fpu_ctx(cpu);
    if (fpu_empty(cpu, 0) || !fpu_empty(cpu, 7)) {
        bool over = !fpu_empty(cpu, 7);
        if (which != 2) {
            cpu->fpu.sw &= (uint16_t)~SW_C2;   /* FPTAN, FSINCOS: in range */
        }
        if (fpu_stack_fault(cpu, over)) {
            fpu_set_st(cpu, 0, FX_INDEFINITE);
            fpu_push(cpu, FX_INDEFINITE);
        }
        return;
    }
    fx80 a = fpu_st(cpu, 0), r0, r1;
    bool out_of_range = false;
    if (which == 0) {
        out_of_range = fx_ptan(&c, a, &r0);
        /* a NaN result (masked IE, NaN operand) is pushed in place of 1 */
        struct fx_ctx quiet = c;
        r1 = fx_is_nan(r0) ? r0 : fx_const(&quiet, FX_K_ONE);
    } else if (which == 1) {
        out_of_range = fx_sincos(&c, a, &r0, &r1);
    } else {
        fx_xtract(&c, a, &r0, &r1);
    }
    if (out_of_range) {
        fpu_set_cc(cpu, SW_C2);
        return;
    }
    if (!fpu_commit(cpu, &c)) {
        return;
    }
    cpu->fpu.sw &= (uint16_t)~SW_C2;
    fpu_set_st(cpu, 0, r0);
    fpu_push(cpu, r1);
}

static void trig(struct cpu *cpu, bool cosine)
{
    struct fx_ctx c = fpu_ctx(cpu);
    if (fpu_empty(cpu, 0)) {
        cpu->fpu.sw &= (uint16_t)~SW_C2;   /* a stack fault is not "out of range" */
        if (fpu_stack_fault(cpu, false)) {
            fpu_set_st(cpu, 0, FX_INDEFINITE);
        }
        return;
    }
    fx80 r;
    bool oor = cosine ? fx_cos(&c, fpu_st(cpu, 0), &r) : fx_sin(&c, fpu_st(cpu, 0), &r);
    if (oor) {
        fpu_set_cc(cpu, SW_C2);
        return;
    }
    cpu->fpu.sw &= (uint16_t)~SW_C2;
    if (fpu_commit(cpu, &c)) {
        fpu_set_st(cpu, 0, r);
    }
}

static void prem(struct cpu *cpu, bool ieee)
{
    struct fx_ctx c = fpu_ctx(cpu);
    /* No quotient (stack fault, NaN result): the P6 and later clear C1
     * and C2 and leave C0 and C3 as they were. */
    if (fpu_empty(cpu, 0) || fpu_empty(cpu, 1)) {
        cpu->fpu.sw &= (uint16_t)~SW_C2;
        if (fpu_stack_fault(cpu, false)) {
            fpu_set_st(cpu, 0, FX_INDEFINITE);
        }
        return;
    }
    fx80 r;
    unsigned q = 0;
    bool incomplete = false;
    fx_prem(&c, fpu_st(cpu, 0), fpu_st(cpu, 1), ieee, &r, &q, &incomplete);
    if (!fpu_commit(cpu, &c)) {
        return;
    }
    fpu_set_st(cpu, 0, r);
    if (fx_is_nan(r)) {
        cpu->fpu.sw &= (uint16_t)~(SW_C1 | SW_C2);
        return;
    }
    uint16_t cc = incomplete ? SW_C2 : 0;
    if (!incomplete) {
        cc |= (q & 4 ? SW_C0 : 0) | (q & 2 ? SW_C3 : 0) | (q & 1 ? SW_C1 : 0);
    }
    fpu_set_cc(cpu, cc);
}

static fx80 do_sqrt(struct fx_ctx *c, fx80 a) { return fx_sqrt(c, a); }
static fx80 do_rndint(struct fx_ctx *c, fx80 a) { return fx_rndint(c, a); }
static fx80 do_f2xm1(struct fx_ctx *c, fx80 a) { return fx_f2xm1(c, a); }

static void scale(struct cpu *cpu)
{
    struct fx_ctx c = fpu_ctx(cpu);
    if (fpu_empty(cpu, 0) || fpu_empty(cpu, 1)) {
        if (fpu_stack_fault(cpu, false)) {
            fpu_set_st(cpu, 0, FX_INDEFINITE);
        }
        return;
    }
    fx80 r = fx_scale(&c, fpu_st(cpu, 0), fpu_st(cpu, 1));
    if (fpu_commit(cpu, &c)) {
        fpu_set_st(cpu, 0, r);
    }
}

static void d9_misc(struct cpu *cpu, const struct insn *in)
{
    unsigned rm = in->rm;
    struct fx_ctx c = fpu_ctx(cpu);
    switch (in->reg) {
    case 4:
        if (rm == 0 || rm == 1) {          /* FCHS, FABS */
            if (fpu_empty(cpu, 0)) {
                if (fpu_stack_fault(cpu, false)) {
                    fpu_set_st(cpu, 0, FX_INDEFINITE);
                }
                return;
            }
            fx80 v = fpu_st(cpu, 0);
            fpu_set_st(cpu, 0, rm == 0 ? fx_neg(v) : fx_abs(v));
            cpu->fpu.sw &= (uint16_t)~SW_C1;
        } else if (rm == 4) {               /* FTST */
            compare(cpu, fx_zero(false), false, false, false, false, 0);
        } else if (rm == 5) {               /* FXAM */
            fx80 v = fpu_st(cpu, 0);
            uint16_t cc = fx_sign(v) ? SW_C1 : 0;
            int k = fpu_empty(cpu, 0) ? 5 : fx_xam(v);
            cc |= (k & 4 ? SW_C3 : 0) | (k & 2 ? SW_C2 : 0) | (k & 1 ? SW_C0 : 0);
            fpu_set_cc(cpu, cc);
        } else {
            cpu_undefined(cpu, in);
        }
        return;
    case 5:
        if (rm == 7) {
            cpu_undefined(cpu, in);
        }
        fld_value(cpu, fx_const(&c, (int)rm), &c);
        return;
    case 6:
        switch (rm) {
        case 0: unary(cpu, do_f2xm1); return;
        case 1: binary_pop(cpu, 0); return;
        case 2: two_results(cpu, 0); return;
        case 3: binary_pop(cpu, 2); return;
        case 4: two_results(cpu, 2); return;
        case 5: prem(cpu, true); return;
        case 6:
            cpu->fpu.sw = (uint16_t)((cpu->fpu.sw & ~(SW_TOP | SW_C1)) | (((fpu_top(cpu) - 1) & 7) << 11));
            return;
        default:
            cpu->fpu.sw = (uint16_t)((cpu->fpu.sw & ~(SW_TOP | SW_C1)) | (((fpu_top(cpu) + 1) & 7) << 11));
            return;
        }
    default: /* 7 */
        switch (rm) {
        case 0: prem(cpu, false); return;
        case 1: binary_pop(cpu, 1); return;
        case 2: unary(cpu, do_sqrt); return;
        case 3: two_results(cpu, 1); return;
        case 4: unary(cpu, do_rndint); return;
        case 5: scale(cpu); return;
        case 6: trig(cpu, false); return;
        default: trig(cpu, true); return;
        }
    }
}

static void reg_d9(struct cpu *cpu, const struct insn *in)
{
    switch (in->reg) {
    case 0:
        if (fpu_empty(cpu, in->rm)) {
            if (fpu_stack_fault(cpu, !fpu_empty(cpu, 7))) {
                fpu_push(cpu, FX_INDEFINITE);
            }
            return;
        }
        fld_value(cpu, fpu_st(cpu, in->rm), NULL);
        return;
    case 1: fxch(cpu, in->rm); return;
    case 2:
        if (in->rm != 0) {
            cpu_undefined(cpu, in);
        }
        return;                              /* FNOP */
    case 3: fst_reg(cpu, in->rm, true); return;  /* FSTP1 alias */
    default: d9_misc(cpu, in); return;
    }
}

static void reg_form(struct cpu *cpu, const struct insn *in)
{
    unsigned reg = in->reg, rm = in->rm;
    switch (in->opcode) {
    case 0xD8:
        if (reg == 2 || reg == 3) {
            compare(cpu, fpu_st(cpu, rm), fpu_empty(cpu, rm), false, false, false, reg == 3);
        } else {
            arith_reg(cpu, reg, 0, rm, false);
        }
        return;
    case 0xD9: reg_d9(cpu, in); return;
    case 0xDA:
        if (reg < 4) {
            fcmov(cpu, in);
        } else if (reg == 5 && rm == 1) {
            compare(cpu, fpu_st(cpu, 1), fpu_empty(cpu, 1), false, true, false, 2);
        } else {
            break;
        }
        return;
    case 0xDB:
        if (reg < 4) {
            fcmov(cpu, in);
        } else if (reg == 4 && rm == 2) {
            cpu->fpu.sw &= 0x7F00;           /* FNCLEX */
            fpu_update_ferr(cpu);
        } else if (reg == 4 && rm == 3) {
            fpu_finit(cpu);
        } else if (reg == 4 && (rm < 2 || rm == 4)) {
            /* FENI, FDISI, FSETPM: no-ops on a 387 and later */
        } else if (reg == 5 || reg == 6) {
            compare(cpu, fpu_st(cpu, rm), fpu_empty(cpu, rm), false, reg == 5, true, 0);
        } else {
            break;
        }
        return;
    case 0xDC:
        if (reg == 2 || reg == 3) {
            compare(cpu, fpu_st(cpu, rm), fpu_empty(cpu, rm), false, false, false, reg == 3);
        } else {
            arith_reg(cpu, reg >= 4 ? reg ^ 1 : reg, rm, 0, false);
        }
        return;
    case 0xDD:
        switch (reg) {
        case 0: fpu_set_tag(cpu, fpu_phys(cpu, rm), TAG_EMPTY); return;
        case 1: fxch(cpu, rm); return;
        case 2: fst_reg(cpu, rm, false); return;
        case 3: fst_reg(cpu, rm, true); return;
        case 4: case 5:
            compare(cpu, fpu_st(cpu, rm), fpu_empty(cpu, rm), false, true, false, reg == 5);
            return;
        default: break;
        }
        break;
    case 0xDE:
        if (reg == 2) {
            compare(cpu, fpu_st(cpu, rm), fpu_empty(cpu, rm), false, false, false, 1);
        } else if (reg == 3) {
            if (rm != 1) {
                break;
            }
            compare(cpu, fpu_st(cpu, 1), fpu_empty(cpu, 1), false, false, false, 2);
        } else {
            arith_reg(cpu, reg >= 4 ? reg ^ 1 : reg, rm, 0, true);
        }
        return;
    default: /* DF */
        switch (reg) {
        case 0: fpu_set_tag(cpu, fpu_phys(cpu, rm), TAG_EMPTY); fpu_pop(cpu); return;
        case 1: fxch(cpu, rm); return;
        case 2: case 3: fst_reg(cpu, rm, true); return;
        case 4:
            if (rm != 0) {
                break;
            }
            set_reg16(cpu, R_EAX, cpu->fpu.sw);
            return;
        case 5: case 6:
            compare(cpu, fpu_st(cpu, rm), fpu_empty(cpu, rm), false, reg == 5, true, 1);
            return;
        default: break;
        }
        break;
    }
    cpu_undefined(cpu, in);
}

/* Control instructions neither wait for pending exceptions nor update FIP/FOP. */
static bool is_control(const struct insn *in)
{
    unsigned op = in->opcode, reg = in->reg;
    if (in->mod != 3) {
        return (op == 0xD9 && reg >= 4) || (op == 0xDD && (reg == 4 || reg >= 6));
    }
    return (op == 0xDB && reg == 4) || (op == 0xDF && reg == 4 && in->rm == 0);
}

void op_fpu(struct cpu *cpu, const struct insn *in)
{
    bool control = is_control(in);
    /* FLDCW does not record FIP/FOP but does report pending exceptions */
    bool fldcw = in->mod != 3 && in->opcode == 0xD9 && in->reg == 5;
    fpu_check(cpu, !control || fldcw);
    if (!control) {
        struct fpu *f = &cpu->fpu;
        f->fop = (uint16_t)(((in->opcode & 7) << 8) | in->modrm);
        f->fip = cpu->eip;
        f->fcs = cpu->seg[S_CS].sel;
        if (in->mod != 3) {
            f->fdp = cpu->ea;
            f->fds = cpu->seg[in->seg].sel;
        }
    }
    if (in->mod != 3) {
        mem_form(cpu, in);
    } else {
        reg_form(cpu, in);
    }
}
