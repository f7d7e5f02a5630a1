/*
 * diffgen_x87.c - the x87 groups of the differential test generator.
 *
 * The generator tracks the register-stack depth so loads do not overflow
 * and operations find their operands (an FXCH or FFREE may still leave an
 * empty register in play: masked stack faults are compared like the rest).
 * Memory operands are first written with a chosen value (a float of
 * moderate exponent, a special, or an integer) by MOVs, then used.  All
 * exceptions stay masked: FLDCW changes only rounding and precision.
 * Transcendentals are a separate group (x87t) because their last-bit
 * accuracy is implementation-specific: each is followed by FNSTSW and
 * FSTP m80 of its results into a record that the harness compares with a
 * 1-ulp tolerance (see diffgen.h), so no inexact bit flows on into what is
 * compared exactly.  F2XM1 and FYL2XP1 get operands inside the domain
 * where the SDM defines their results.
 *
 * Condition codes the SDM leaves undefined, or that Intel and AMD set
 * differently (C1 after FCOMI: the SDM clears it, AMD keeps it), are
 * marked undefined and not compared.
 */
#include "diffgen_impl.h"

/* ---- x87 ---- */

static void fp_need(struct gen *g, int n);

/* condition-code bits of the status word */
#define C0 0x0100u
#define C1 0x0200u
#define C2 0x0400u
#define C3 0x4000u
#define C023 (C0 | C2 | C3)
#define CALL (C0 | C1 | C2 | C3)

/*
 * The instruction defines the condition codes `def` and leaves `und`
 * undefined (most arithmetic: C1 defined, C0 C2 C3 undefined; FNSTSW,
 * FLDCW, FFREE: all undefined), as the SDM lists them.
 */
static void fcc(struct gen *g, uint32_t def, uint32_t und)
{
    g->fsw_undef = (g->fsw_undef & ~def) | und;
}

/* Before reading the status word: make C0-C3 defined with FXAM. */
static void fcc_need(struct gen *g)
{
    if (g->fsw_undef) {
        fp_need(g, 1);
        dg_begin(g);
        dg_emit(g, 0xD9);
        dg_emit(g, 0xE5);
        fcc(g, CALL, 0);
    }
}

/* Store `n` bytes (a multiple of 2) at buffer offset `off` with MOVs. */
static void store_bytes(struct gen *g, uint32_t off, const uint8_t *b, uint32_t n)
{
    for (uint32_t i = 0; i < n;) {
        bool dw = n - i >= 4;
        dg_begin(g);
        if (!dw) {
            dg_emit(g, 0x66);
        }
        dg_emit(g, 0xC7);
        dg_emit(g, 0x05);
        dg_emit32(g, DIFF_DATA_ADDR + off + i);
        for (uint32_t k = 0; k < (dw ? 4u : 2u); k++) {
            dg_emit(g, b[i + k]);
        }
        i += dw ? 4 : 2;
    }
}

/* A floating-point or integer memory image of `width` bytes. */
static void fp_image(struct gen *g, uint8_t *b, uint32_t width, bool integer)
{
    uint64_t mant = dg_next64(g);
    uint32_t sign = dg_rnd(g, 2);
    int kind = (int)dg_rnd(g, 16);   /* 0 zero, 1 inf, 2 nan, 3 denormal */
    uint64_t v;
    uint32_t top = 0;   /* bits 64-79 of an m80 */
    if (integer) {
        v = width == 2 ? (uint64_t)(int64_t)(int16_t)dg_rval(g)
                       : ((uint64_t)(dg_chance(g, 3) ? dg_rval(g) : 0) << 32) | dg_rval(g);
        if (width == 4) {
            v = (uint64_t)(int64_t)(int32_t)v;
        }
    } else if (width == 4) {
        uint32_t e = kind == 0 || kind == 3 ? 0 : kind <= 2 ? 255 : 127 + dg_rnd(g, 41) - 20;
        uint32_t m = kind == 0 || kind == 1 ? 0 : (uint32_t)mant & 0x7FFFFF;
        v = (uint64_t)(sign << 31 | e << 23 | m);
    } else if (width == 8) {
        uint64_t e = kind == 0 || kind == 3 ? 0 : kind <= 2 ? 2047 : 1023 + dg_rnd(g, 81) - 40;
        uint64_t m = kind == 0 || kind == 1 ? 0 : mant & 0xFFFFFFFFFFFFFull;
        v = (uint64_t)sign << 63 | e << 52 | m;
    } else {
        uint32_t e = kind == 0 || kind == 3 ? 0 : kind <= 2 ? 0x7FFF : 16383 + dg_rnd(g, 81) - 40;
        v = kind == 0 ? 0 : kind == 1 ? 1ull << 63 : mant | (kind == 3 ? 0 : 1ull << 63);
        top = sign << 15 | e;
    }
    if (!integer && dg_rnd(g, 4) == 0 && kind > 3) {
        v &= ~0xFFFFFFFFull;   /* short mantissas: exact results, ties */
    }
    for (uint32_t i = 0; i < width && i < 8; i++) {
        b[i] = (uint8_t)(v >> (8 * i));
    }
    if (width == 10) {
        b[8] = (uint8_t)top;
        b[9] = (uint8_t)(top >> 8);
    }
}

/* A memory operand holding a fresh value of `width` bytes. */
static void fp_mem(struct gen *g, struct eop *e, uint32_t width, bool integer)
{
    uint8_t b[10];
    e->mem = true;
    dg_pick_mem(g, &e->m, 0, DIFF_DATA_SIZE, width, 0);
    fp_image(g, b, width, integer);
    store_bytes(g, e->m.off, b, width);
}

static void fp_op_mem(struct gen *g, const struct eop *e, uint32_t op, int regfield)
{
    dg_start(g, 32, e, 0);
    dg_emit(g, op);
    dg_emit_E(g, e, regfield);
}

/* Push one value: a constant, a memory load, an integer or a copy. */
static void fp_load(struct gen *g)
{
    static const uint8_t ld[6][3] = {   /* opcode, /r, width */
        { 0xD9, 0, 4 }, { 0xDD, 0, 8 }, { 0xDB, 5, 10 },
        { 0xDF, 0, 2 }, { 0xDB, 0, 4 }, { 0xDF, 5, 8 },
    };
    struct eop e;
    if (g->fdepth >= 8) {   /* fstp st(0) */
        dg_begin(g);
        dg_emit(g, 0xDD);
        dg_emit(g, 0xD8);
        g->fdepth--;
    }
    int k = (int)dg_rnd(g, 9);
    if (k < 6) {
        fp_mem(g, &e, ld[k][2], k >= 3);
        fp_op_mem(g, &e, ld[k][0], ld[k][1]);
    } else if (k == 6 && g->fdepth > 0) {
        dg_begin(g);
        dg_emit(g, 0xD9);
        dg_emit(g, 0xC0 + dg_rnd(g, (uint32_t)g->fdepth));
    } else {
        dg_begin(g);
        dg_emit(g, 0xD9);
        dg_emit(g, 0xE8 + dg_rnd(g, 7));   /* fld1 fldl2t fldl2e fldpi fldlg2 fldln2 fldz */
    }
    g->fdepth++;
    fcc(g, C1, C023);
}

static void fp_need(struct gen *g, int n)
{
    while (g->fdepth < n) {
        fp_load(g);
    }
}

/* Two-operand arithmetic: add mul (com comp) sub subr div divr. */
static void fp_arith(struct gen *g)
{
    static const int ops[6] = { 0, 1, 4, 5, 6, 7 };
    int op = ops[dg_rnd(g, 6)];
    struct eop e;
    int form = (int)dg_rnd(g, 4);
    if (form == 0) {   /* st0 op= mem (m32, m64, m32int, m16int) */
        static const uint8_t opc[4] = { 0xD8, 0xDC, 0xDA, 0xDE };
        static const uint8_t w[4] = { 4, 8, 4, 2 };
        int k = (int)dg_rnd(g, 4);
        fp_need(g, 1);
        fp_mem(g, &e, w[k], k >= 2);
        fp_op_mem(g, &e, opc[k], op);
        fcc(g, C1, C023);
        return;
    }
    fp_need(g, 2);
    dg_begin(g);
    dg_emit(g, form == 1 ? 0xD8 : form == 2 ? 0xDC : 0xDE);
    dg_emit(g, 0xC0 + (uint32_t)op * 8 + dg_rnd(g, (uint32_t)g->fdepth));
    if (form == 3) {
        g->fdepth--;
    }
    fcc(g, C1, C023);
}

/* Unary and stack-shaping operations on ST0 (and ST1). */
static void fp_unary(struct gen *g)
{
    static const uint8_t ops[] = {
        0xE0, 0xE1, 0xFA, 0xFC, 0xE4, 0xE5, 0xF4, 0xFD, 0xF8, 0xF5, 0xC8,
    };
    uint8_t op = ops[dg_rnd(g, sizeof(ops))];
    fp_need(g, op == 0xFD || op == 0xF8 || op == 0xF5 || op == 0xC8 ? 2 : 1);
    if (op == 0xF4 && g->fdepth >= 8) {
        op = 0xE0;
    }
    if (op == 0xF8 || op == 0xF5) {
        fcc_need(g);   /* FPREM may keep C0 and C3: have them defined */
    }
    dg_begin(g);
    dg_emit(g, 0xD9);
    if (op == 0xC8) {   /* fxch st(i) */
        dg_emit(g, 0xC8 + dg_rnd(g, (uint32_t)g->fdepth));
        fcc(g, C1, C023);
        return;
    }
    dg_emit(g, op);
    if (op == 0xF4) {   /* fxtract pushes the significand */
        g->fdepth++;
    }
    /* ftst, fxam set all four; fprem, fprem1 C1 and C2, and C0 and C3
     * too unless the result is a NaN (then they are left as they were);
     * the rest only C1 */
    if (op == 0xE4 || op == 0xE5) {
        fcc(g, CALL, 0);
    } else if (op == 0xF8 || op == 0xF5) {
        fcc(g, C1 | C2, 0);
    } else {
        fcc(g, C1, C023);
    }
}

/* Compares: FCOM/FUCOM families, FCOMI (EFLAGS), FCMOVcc, memory FCOM. */
static void fp_compare(struct gen *g)
{
    static const uint8_t reg[4][2] = {   /* fcom, fcomp, fucom, fucomp st(i) */
        { 0xD8, 0xD0 }, { 0xD8, 0xD8 }, { 0xDD, 0xE0 }, { 0xDD, 0xE8 },
    };
    static const uint8_t comi[4][2] = {  /* fcomi fucomi fcomip fucomip */
        { 0xDB, 0xF0 }, { 0xDB, 0xE8 }, { 0xDF, 0xF0 }, { 0xDF, 0xE8 },
    };
    int k = (int)dg_rnd(g, 6);
    int v = (int)dg_rnd(g, 4);
    struct eop e;
    fp_need(g, 2);
    uint32_t i = dg_rnd(g, (uint32_t)g->fdepth);
    switch (k) {
    case 0:
    case 1:
        dg_begin(g);
        dg_emit(g, reg[v][0]);
        dg_emit(g, reg[v][1] + i);
        g->fdepth -= v & 1;
        break;
    case 2:   /* fcompp / fucompp */
        dg_begin(g);
        dg_emit(g, v & 1 ? 0xDE : 0xDA);
        dg_emit(g, v & 1 ? 0xD9 : 0xE9);
        g->fdepth -= 2;
        break;
    case 3:
        dg_begin(g);
        dg_emit(g, comi[v][0]);
        dg_emit(g, comi[v][1] + i);
        g->fdepth -= v >= 2;
        dg_flags(g, FL_ALL, 0);
        /* C1: the SDM clears it, AMD CPUs leave it as it was */
        fcc(g, 0, CALL);
        break;
    case 4:   /* fcmovcc: B E BE U and their negations */
        dg_need_flags(g, FL_CF | FL_ZF | FL_PF);
        dg_begin(g);
        dg_emit(g, v & 1 ? 0xDA : 0xDB);
        dg_emit(g, 0xC0 + dg_rnd(g, 4) * 8 + i);
        fcc(g, 0, C023);   /* C1 changes only on a stack underflow */
        break;
    default:  /* fcom / fcomp m32 or m64 */
        fp_mem(g, &e, v & 1 ? 8 : 4, false);
        fp_op_mem(g, &e, v & 1 ? 0xDC : 0xD8, 2 + (v >> 1));
        g->fdepth -= v >> 1;
        break;
    }
    if (k != 3 && k != 4) {
        fcc(g, CALL, 0);
    }
}

/* Stores to memory (float, integer, BCD) and to registers. */
static void fp_store(struct gen *g)
{
    static const uint8_t st[10][3] = {   /* opcode, /r, width; pops? in pop[] */
        { 0xD9, 2, 4 }, { 0xDD, 2, 8 }, { 0xD9, 3, 4 }, { 0xDD, 3, 8 },
        { 0xDB, 7, 10 }, { 0xDF, 2, 2 }, { 0xDB, 2, 4 }, { 0xDF, 3, 2 },
        { 0xDB, 3, 4 }, { 0xDF, 7, 8 },
    };
    static const uint8_t pop[10] = { 0, 0, 1, 1, 1, 0, 0, 1, 1, 1 };
    struct eop e;
    fp_need(g, 1);
    int k = (int)dg_rnd(g, 12);
    if (k >= 10) {   /* fst / fstp st(i) */
        dg_begin(g);
        dg_emit(g, 0xDD);
        dg_emit(g, (k == 10 ? 0xD0u : 0xD8u) + dg_rnd(g, (uint32_t)g->fdepth));
        g->fdepth -= k == 11;
        fcc(g, C1, C023);
        return;
    }
    e.mem = true;
    dg_pick_mem(g, &e.m, 0, DIFF_DATA_SIZE, st[k][2], 0);
    dg_start(g, 32, &e, P_WRITE);
    dg_emit(g, st[k][0]);
    dg_emit_E(g, &e, st[k][1]);
    g->fdepth -= pop[k];
    fcc(g, C1, C023);
}

/* Control and status: FLDCW (rounding, precision), FSTSW, FNSTCW, SAHF idiom. */
static void fp_control(struct gen *g)
{
    struct eop e;
    switch (dg_rnd(g, 4)) {
    case 0: { /* fldcw: all exceptions stay masked */
        uint32_t cw = 0x037F & ~0xF00u;
        cw |= dg_rnd(g, 4) << 10 | (dg_rnd(g, 3) ? 3u : dg_rnd(g, 2) ? 2u : 0u) << 8;
        uint8_t b[2] = { (uint8_t)cw, (uint8_t)(cw >> 8) };
        e.mem = true;
        dg_pick_mem(g, &e.m, 0, DIFF_DATA_SIZE, 2, 0);
        store_bytes(g, e.m.off, b, 2);
        fp_op_mem(g, &e, 0xD9, 5);
        fcc(g, 0, CALL);
        break;
    }
    case 1:   /* fnstsw ax (fstsw: with FWAIT), then maybe sahf */
        fcc_need(g);
        if (dg_rnd(g, 2)) {
            dg_begin(g);
            dg_emit(g, 0x9B);
        }
        dg_begin(g);
        dg_emit(g, 0xDF);
        dg_emit(g, 0xE0);
        if (dg_rnd(g, 2)) {
            dg_begin(g);
            dg_emit(g, 0x9E);
            dg_flags(g, FL_ALL & ~FL_OF, 0);
        }
        fcc(g, 0, CALL);
        break;
    case 2:   /* fnstsw m16 / fnstcw m16 */
        fcc_need(g);
        e.mem = true;
        dg_pick_mem(g, &e.m, 0, DIFF_DATA_SIZE, 2, 0);
        dg_start(g, 32, &e, P_WRITE);
        dg_emit(g, dg_rnd(g, 2) ? 0xDD : 0xD9);
        dg_emit_E(g, &e, 7);
        fcc(g, 0, CALL);
        break;
    default:  /* ffree the bottom register, fdecstp+fincstp, or fnop */
        dg_begin(g);
        if (g->fdepth > 0 && dg_chance(g, 3)) {
            dg_emit(g, 0xDD);
            dg_emit(g, 0xC0 + (uint32_t)g->fdepth - 1);
            g->fdepth--;
        } else if (dg_rnd(g, 2)) {
            dg_emit(g, 0xD9);
            dg_emit(g, 0xF6);
            dg_begin(g);
            dg_emit(g, 0xD9);
            dg_emit(g, 0xF7);
        } else {
            dg_emit(g, 0xD9);
            dg_emit(g, 0xD0);
        }
        fcc(g, 0, CALL);
        break;
    }
}

/* ---- transcendentals ---- */

enum { T_ANY, T_F2XM1, T_YL2XP1, T_TRIG };

/*
 * An m80 operand for a transcendental: for F2XM1 and FYL2XP1 inside the
 * domain where the SDM defines the result (|x| <= 1, |x| < 1 - sqrt(2)/2),
 * for the trig functions mostly below 2^63 (C2 otherwise), else a float of
 * moderate exponent; one time in eight a special value (zero, infinity,
 * NaN, denormal), whose results the SDM tables define everywhere.
 */
static void trans_image(struct gen *g, uint8_t *b, int dom)
{
    uint64_t mant = dg_next64(g) | 1ull << 63;
    uint32_t sign = dg_rnd(g, 2) << 15, e;
    if (dg_chance(g, 8)) {
        static const uint32_t se[5] = { 0, 0x7FFF, 0x7FFF, 0x7FFF, 0 };
        uint32_t k = dg_rnd(g, 5);
        e = se[k];
        mant = k == 0 ? 0 : k == 1 ? 1ull << 63 : k == 2 ? mant : k == 3 ? mant & ~(1ull << 62)
                                                              : mant >> (1 + dg_rnd(g, 63));
        if (k == 3 && mant << 1 == 0) {
            mant |= 1;   /* an SNaN, not an infinity */
        }
    } else if (dom == T_F2XM1) {
        e = dg_chance(g, 16) ? 0x3FFF : 0x3FFE - dg_rnd(g, 70);
        if (e == 0x3FFF) {
            mant = 1ull << 63;   /* exactly +-1 */
        }
    } else if (dom == T_YL2XP1) {
        e = 0x3FFD - dg_rnd(g, 70);
        if (e == 0x3FFD) {
            mant &= 0x95F5FFFFFFFFFFFFull;   /* x = sig / 4 < 1 - sqrt(2)/2 */
        }
    } else if (dom == T_TRIG) {
        e = 0x3FFF - 20 + dg_rnd(g, dg_chance(g, 16) ? 90 : 82);
    } else {
        e = 0x3FFF - 40 + dg_rnd(g, 81);
    }
    if (e != 0x7FFF && e != 0 && dg_chance(g, 4)) {
        mant &= ~0xFFFFFFFFull;   /* short significands: exact cases */
    }
    uint32_t top = sign | e;
    for (int i = 0; i < 8; i++) {
        b[i] = (uint8_t)(mant >> (8 * i));
    }
    b[8] = (uint8_t)top;
    b[9] = (uint8_t)(top >> 8);
}

/* Push a fresh transcendental operand (FLD m80, no exceptions). */
static void trans_push(struct gen *g, int dom)
{
    struct eop e;
    uint8_t b[10];
    if (g->fdepth >= 8) {   /* fstp st(0) */
        dg_begin(g);
        dg_emit(g, 0xDD);
        dg_emit(g, 0xD8);
        g->fdepth--;
    }
    e.mem = true;
    dg_pick_mem(g, &e.m, 0, DIFF_DATA_SIZE, 10, 0);
    trans_image(g, b, dom);
    store_bytes(g, e.m.off, b, 10);
    fp_op_mem(g, &e, 0xDB, 5);
    g->fdepth++;
    fcc(g, C1, C023);
}

/* FNSTSW m16 / FSTP m80 to an absolute address (the records). */
static void abs_op(struct gen *g, uint32_t op, uint32_t reg, uint32_t addr)
{
    dg_begin(g);
    dg_emit(g, op);
    dg_emit(g, 0x05 | reg << 3);
    dg_emit32(g, addr);
}

/*
 * One transcendental.  F2XM1 and FYL2XP1 always get a fresh ST0 in their
 * domain; the others take fresh operands half of the time and otherwise
 * whatever the stack holds (their results are defined for any operand).
 * The results then go to the next record (see diffgen.h).
 */
static void fp_trans(struct gen *g)
{
    static const uint8_t ops[8] = { 0xF0, 0xF1, 0xF2, 0xF3, 0xF9, 0xFE, 0xFF, 0xFB };
    uint8_t op = ops[dg_rnd(g, 8)];
    bool two = op == 0xF1 || op == 0xF3 || op == 0xF9;
    bool push = op == 0xF2 || op == 0xFB;
    bool trig = push || op == 0xFE || op == 0xFF;
    if (g->ntrec >= DIFF_TREC_MAX) {
        return;
    }
    bool fresh = op == 0xF0 || op == 0xF9 || dg_rnd(g, 2);
    if (fresh) {
        if (two) {
            trans_push(g, T_ANY);   /* ST1: y */
        }
        trans_push(g, op == 0xF0 ? T_F2XM1 : op == 0xF9 ? T_YL2XP1 : trig ? T_TRIG : T_ANY);
    }
    fp_need(g, two ? 2 : 1);
    if (push && g->fdepth >= 8) {
        /* ffree st(7): the register the second result is pushed into */
        dg_begin(g);
        dg_emit(g, 0xDD);
        dg_emit(g, 0xC7);
        g->fdepth--;
    }
    dg_begin(g);
    dg_emit(g, 0xD9);
    dg_emit(g, op);
    g->fdepth += push ? 1 : two ? -1 : 0;
    /* fptan fsin fcos fsincos report an out-of-range operand in C2 */
    uint32_t def = trig ? C1 | C2 : C1;
    fcc(g, def, CALL & ~def);
    uint32_t rec = DIFF_TREC_ADDR + g->ntrec * DIFF_TREC_SIZE;
    g->s->trec_undef[g->ntrec++] = (uint16_t)g->fsw_undef;
    abs_op(g, 0xDD, 7, rec);            /* fnstsw */
    abs_op(g, 0xDB, 7, rec + 2);        /* fstp m80 */
    if (push) {
        abs_op(g, 0xDB, 7, rec + 12);
    }
    g->fdepth -= push ? 2 : 1;
    fcc(g, C1, C023);
}

void dg_item_x87(struct gen *g, bool trans)
{
    if (trans) {
        fp_trans(g);
        return;
    }
    switch (dg_rnd(g, 6)) {
    case 0:
        fp_load(g);
        break;
    case 1:
        fp_arith(g);
        break;
    case 2:
        fp_unary(g);
        break;
    case 3:
        fp_compare(g);
        break;
    case 4:
        fp_store(g);
        break;
    default:
        fp_control(g);
        break;
    }
}

