/*
 * diffgen_ops.c - the integer instruction groups of the differential test
 * generator: each dg_item_* emits one instruction under test with the
 * setup it needs (see diffgen.c for the rules every item follows).
 */
#include "diffgen_impl.h"

/* ---- groups ---- */

/* ALU ops, TEST and MOV in all their encodings. */
void dg_item_alu(struct gen *g)
{
    int kind = (int)dg_rnd(g, 8);
    int form = (int)dg_rnd(g, 11);
    int size = dg_rsize(g);
    int wide = size != 8;
    bool cmp = kind == 7;
    struct eop e;
    if (kind == 2 || kind == 3) {
        dg_need_flags(g, FL_CF);
    }
    if (form <= 3) {   /* op E,G / op G,E */
        bool edest = form == 0 || form == 1;
        if (form == 0 || form == 2) {
            size = 8;
            wide = 0;
        } else if (size == 8) {
            size = 32;
            wide = 1;
        }
        dg_pick_E(g, &e, size, edest && !cmp, 0);
        int greg = dg_sreg(g, size, !edest && !cmp);
        dg_start(g, size, &e, edest && !cmp ? P_LOCK | P_WRITE : 0);
        dg_emit(g, (uint32_t)kind * 8 + (edest ? 0 : 2) + (uint32_t)wide);
        dg_emit_E(g, &e, greg);
    } else if (form == 4) {   /* op AL/eAX, imm */
        dg_start(g, size, NULL, 0);
        dg_emit(g, (uint32_t)kind * 8 + 4 + (uint32_t)wide);
        dg_emit_imm(g, size, dg_rval(g));
    } else if (form <= 6) {   /* grp1 E, imm */
        dg_pick_E(g, &e, size, !cmp, 0);
        bool sx = wide && dg_rnd(g, 2);
        dg_start(g, size, &e, !cmp ? P_LOCK | P_WRITE : 0);
        dg_emit(g, !wide ? (dg_chance(g, 8) ? 0x82 : 0x80) : sx ? 0x83 : 0x81);
        dg_emit_E(g, &e, kind);
        dg_emit_imm(g, sx ? 8 : size, dg_rval(g));
    } else if (form <= 8) {   /* TEST */
        dg_pick_E(g, &e, size, false, 0);
        int v = (int)dg_rnd(g, 3);
        dg_start(g, size, v == 2 ? NULL : &e, 0);
        if (v == 0) {
            dg_emit(g, 0x84 + (uint32_t)wide);
            dg_emit_E(g, &e, dg_sreg(g, size, false));
        } else if (v == 1) {
            dg_emit(g, 0xF6 + (uint32_t)wide);
            dg_emit_E(g, &e, dg_chance(g, 8) ? 1 : 0);
            dg_emit_imm(g, size, dg_rval(g));
        } else {
            dg_emit(g, 0xA8 + (uint32_t)wide);
            dg_emit_imm(g, size, dg_rval(g));
        }
        dg_flags(g, FL_ALL, 0);
        return;
    } else {                  /* MOV */
        int v = (int)dg_rnd(g, 5);
        if (v <= 1) {
            dg_pick_E(g, &e, size, v == 0, 0);
            dg_start(g, size, &e, v == 0 ? P_WRITE : 0);
            dg_emit(g, 0x88 + (v == 0 ? 0u : 2u) + (uint32_t)wide);
            dg_emit_E(g, &e, dg_sreg(g, size, v == 1));
        } else if (v == 2) {
            dg_pick_E(g, &e, size, true, 0);
            dg_start(g, size, &e, P_WRITE);
            dg_emit(g, 0xC6 + (uint32_t)wide);
            dg_emit_E(g, &e, 0);
            dg_emit_imm(g, size, dg_rval(g));
        } else if (v == 3) {
            dg_start(g, size, NULL, 0);
            dg_emit(g, (wide ? 0xB8u : 0xB0u) + (uint32_t)dg_sreg(g, size, true));
            dg_emit_imm(g, size, dg_rval(g));
        } else {  /* moffs */
            uint32_t off = dg_rnd(g, DIFF_DATA_SIZE - 4);
            dg_start(g, size, NULL, 0);
            dg_emit(g, 0xA0 + (dg_rnd(g, 2) ? 2u : 0u) + (uint32_t)wide);
            dg_emit32(g, DIFF_DATA_ADDR + off);
        }
        return;
    }
    dg_flags(g, FL_ALL, 0);
}

/* INC, DEC (both encodings), NEG, NOT. */
void dg_item_unary(struct gen *g)
{
    int size = dg_rsize(g);
    struct eop e;
    int op = (int)dg_rnd(g, 5);
    if (op == 4 && size != 8) {   /* inc/dec r16/r32 short form */
        int r = dg_wreg(g);
        dg_start(g, size, NULL, 0);
        dg_emit(g, (dg_rnd(g, 2) ? 0x40u : 0x48u) + (uint32_t)r);
        dg_flags(g, FL_ALL & ~FL_CF, 0);
        return;
    }
    op &= 3;
    dg_pick_E(g, &e, size, true, 0);
    dg_start(g, size, &e, P_LOCK | P_WRITE);
    if (op < 2) {
        dg_emit(g, size == 8 ? 0xFE : 0xFF);
        dg_emit_E(g, &e, op);
        dg_flags(g, FL_ALL & ~FL_CF, 0);
    } else {
        dg_emit(g, size == 8 ? 0xF6 : 0xF7);
        dg_emit_E(g, &e, op);   /* /2 NOT, /3 NEG */
        dg_flags(g, op == 3 ? FL_ALL : 0, 0);
    }
}

/* Flags written/undefined by a shift or rotate of `size` by count c. */
static void shift_flags(struct gen *g, int op, int size, uint32_t count)
{
    uint32_t c = count & 31;
    if (c == 0) {
        return;
    }
    uint32_t of = c == 1 ? 0 : FL_OF;
    if (op < 4) {   /* rotates: CF and OF only */
        dg_flags(g, FL_CF | FL_OF, of);
        return;
    }
    uint32_t cf = op != 7 && c >= (uint32_t)size ? FL_CF : 0;
    dg_flags(g, FL_ALL, FL_AF | of | cf);
}

/* ROL ROR RCL RCR SHL SHR SAL SAR by 1, imm8 and CL. */
void dg_item_shift(struct gen *g)
{
    int size = dg_rsize(g);
    int op = (int)dg_rnd(g, 8);
    int form = (int)dg_rnd(g, 3);
    uint32_t count = dg_rnd(g, 2) ? dg_rnd(g, (uint32_t)size + 3) : dg_rnd(g, 256);
    struct eop e;
    if (op == 6 && !dg_chance(g, 4)) {
        op = 4;
    }
    if (op == 2 || op == 3) {
        dg_need_flags(g, FL_CF);
    }
    if (form == 2) {
        dg_set_reg8(g, ECX, count);
    }
    /* a register E may be ECX itself: then the count is its own CL */
    dg_pick_E(g, &e, size, true, form == 2 ? RB(ECX) : 0);
    dg_start(g, size, &e, P_WRITE);
    uint32_t w = size != 8;
    if (form == 0) {
        dg_emit(g, 0xD0 + w);
        count = 1;
    } else if (form == 1) {
        dg_emit(g, 0xC0 + w);
    } else {
        dg_emit(g, 0xD2 + w);
    }
    dg_emit_E(g, &e, op);
    if (form == 1) {
        dg_emit(g, count);
    }
    shift_flags(g, op, size, count);
}

/* Dividend (lo, hi halves of 2n bits) and divisor that divide cleanly. */
static void div_operands(struct gen *g, int n, bool sgn, uint64_t *dvd, uint32_t *dvs)
{
    uint64_t mask = n == 32 ? 0xFFFFFFFFull : (1ull << n) - 1;
    if (dg_chance(g, 24)) {   /* #DE: zero divisor or quotient overflow */
        *dvs = dg_chance(g, 2) ? 0 : 1 + dg_rnd(g, 3);
        *dvd = ((uint64_t)dg_rval(g) << 32 | dg_rval(g)) | (mask << (n - 2));
        return;
    }
    if (!sgn) {
        uint64_t d = (dg_chance(g, 2) ? dg_rval(g) : dg_rnd(g, 300)) & mask;
        d = d ? d : 1;
        uint64_t q = dg_rval(g) & mask;
        uint64_t r = (uint64_t)dg_rval(g) % d;
        *dvd = q * d + r;
        *dvs = (uint32_t)d;
        return;
    }
    int64_t lim = (int64_t)(mask >> 1);   /* 2^(n-1) - 1 */
    int64_t d = (int64_t)(int32_t)(dg_chance(g, 2) ? dg_rval(g) : dg_rnd(g, 300) - 150);
    if (n < 32) {
        d = (int64_t)((uint64_t)d & mask);
        d = d > lim ? d - (int64_t)mask - 1 : d;
    }
    d = d ? d : -1;
    int64_t q = (int64_t)(dg_rval(g) & mask) % (lim + 1);
    q = dg_rnd(g, 2) ? -q : q;
    int64_t ad = d < 0 ? -d : d;
    int64_t r = (int64_t)(dg_rval(g) % (uint64_t)ad);
    int64_t p = q * d;
    if (p < 0 || (p == 0 && dg_rnd(g, 2))) {
        r = -r;
    }
    *dvd = (uint64_t)(p + r);
    *dvs = (uint32_t)d;
}

static void item_div(struct gen *g, int size, bool sgn)
{
    uint64_t dvd;
    uint32_t dvs;
    struct eop e;
    div_operands(g, size, sgn, &dvd, &dvs);
    if (size == 8) {
        dg_begin(g);
        dg_emit(g, 0x66);
        dg_emit(g, 0xB8);
        dg_emit16(g, (uint32_t)dvd);
    } else {
        dg_begin(g);
        if (size == 16) {
            dg_emit(g, 0x66);
        }
        dg_emit(g, 0xB8);
        dg_emit_imm(g, size, (uint32_t)dvd);
        dg_begin(g);
        if (size == 16) {
            dg_emit(g, 0x66);
        }
        dg_emit(g, 0xBA);
        dg_emit_imm(g, size, (uint32_t)(dvd >> size));
    }
    e.mem = dg_rnd(g, 2);
    if (e.mem) {
        dg_pick_mem(g, &e.m, 0, DIFF_DATA_SIZE, (uint32_t)size / 8, RB(EAX) | RB(EDX));
        dg_start(g, size, &e, P_WRITE | P_NOSEG);
        dg_emit(g, size == 8 ? 0xC6 : 0xC7);
        dg_emit_E(g, &e, 0);
        dg_emit_imm(g, size, dvs);
    } else {
        static const int r8[6] = { 1, 2, 3, 5, 6, 7 };   /* CL DL BL CH DH BH */
        static const int rw[4] = { ECX, EBX, ESI, EDI };
        e.reg = size == 8 ? r8[dg_rnd(g, 6)] : rw[dg_rnd(g, 4)];
        dg_begin(g);
        if (size == 16) {
            dg_emit(g, 0x66);
        }
        dg_emit(g, (size == 8 ? 0xB0u : 0xB8u) + (uint32_t)e.reg);
        dg_emit_imm(g, size, dvs);
    }
    dg_start(g, size, &e, 0);
    dg_emit(g, size == 8 ? 0xF6 : 0xF7);
    dg_emit_E(g, &e, sgn ? 7 : 6);
    dg_flags(g, FL_ALL, FL_ALL);
}

/* MUL, IMUL (one, two and three operands), DIV, IDIV. */
void dg_item_muldiv(struct gen *g)
{
    int size = dg_rsize(g);
    int form = (int)dg_rnd(g, 6);
    struct eop e;
    if (form >= 4) {
        item_div(g, size, form == 5);
        return;
    }
    if (form >= 2 && size == 8) {
        size = 32;
    }
    dg_pick_E(g, &e, size, false, 0);
    dg_start(g, size, &e, 0);
    if (form < 2) {   /* mul/imul E */
        dg_emit(g, size == 8 ? 0xF6 : 0xF7);
        dg_emit_E(g, &e, form ? 5 : 4);
    } else if (form == 2) {
        dg_emit(g, 0x0F);
        dg_emit(g, 0xAF);
        dg_emit_E(g, &e, dg_sreg(g, size, true));
    } else {
        bool sx = dg_rnd(g, 2);
        dg_emit(g, sx ? 0x6B : 0x69);
        dg_emit_E(g, &e, dg_sreg(g, size, true));
        dg_emit_imm(g, sx ? 8 : size, dg_rval(g));
    }
    dg_flags(g, FL_ALL, FL_SF | FL_ZF | FL_AF | FL_PF);
}

/* DAA DAS AAA AAS AAM AAD. */
void dg_item_bcd(struct gen *g)
{
    int op = (int)dg_rnd(g, 6);
    if (dg_rnd(g, 2)) {   /* mov ax, imm16: AL and AH worth adjusting */
        dg_begin(g);
        dg_emit(g, 0x66);
        dg_emit(g, 0xB8);
        dg_emit16(g, (dg_rnd(g, 10) << 12) | (dg_rnd(g, 16) << 8) | dg_rnd(g, 256));
    }
    if (op < 4 && (dg_rnd(g, 2) || (g->undef & (FL_AF | FL_CF)))) {
        dg_define_flags(g);   /* fresh AF and CF */
    }
    dg_begin(g);
    switch (op) {
    case 0:
    case 1:
        dg_emit(g, op ? 0x2F : 0x27);
        dg_flags(g, FL_ALL, FL_OF);
        break;
    case 2:
    case 3:
        dg_emit(g, op == 3 ? 0x3F : 0x37);
        dg_flags(g, FL_ALL, FL_OF | FL_SF | FL_ZF | FL_PF);
        break;
    default:
        dg_emit(g, op == 4 ? 0xD4 : 0xD5);
        if (op == 4 && dg_chance(g, 40)) {
            dg_emit(g, 0);   /* AAM 0: #DE */
        } else {
            dg_emit(g, dg_rnd(g, 2) ? 10 : 1 + dg_rnd(g, 255));
        }
        dg_flags(g, FL_ALL, FL_OF | FL_AF | FL_CF);
        break;
    }
}

/* Start offset for n elements of es bytes walking in direction df. */
static uint32_t str_start(struct gen *g, uint32_t n, uint32_t es)
{
    uint32_t span = n ? n * es : es;
    uint32_t base = dg_rnd(g, DIFF_DATA_SIZE - span + 1);
    return g->df && n ? base + (n - 1) * es : base;
}

/* MOVS CMPS STOS LODS SCAS, with REP/REPE/REPNE, both directions. */
void dg_item_string(struct gen *g)
{
    static const uint8_t ops[5] = { 0xA4, 0xA6, 0xAA, 0xAC, 0xAE };
    int k = (int)dg_rnd(g, 5);
    int size = dg_rsize(g);
    uint32_t es = (uint32_t)size / 8;
    int rep = dg_rnd(g, 3) ? (k == 1 || k == 4 ? (dg_rnd(g, 2) ? 0xF3 : 0xF2)
                                            : (dg_chance(g, 8) ? 0xF2 : 0xF3)) : 0;
    uint32_t n = rep ? (dg_chance(g, 4) ? dg_rnd(g, 40) : dg_rnd(g, 17)) : 1;
    if (n * es > DIFF_DATA_SIZE) {
        n = DIFF_DATA_SIZE / es;
    }
    if (dg_rnd(g, 2)) {
        dg_begin(g);
        g->df = dg_rnd(g, 2);
        dg_emit(g, g->df ? 0xFD : 0xFC);
    }
    bool src = k <= 1 || k == 3, dst = k != 3;
    uint32_t si = str_start(g, n, es), di = str_start(g, n, es);
    if (k == 1 && dg_chance(g, 3)) {
        di = si;   /* equal strings: REPE runs to the end */
    }
    if (src) {
        dg_set_reg(g, ESI, DIFF_DATA_ADDR + si);
    }
    if (dst) {
        dg_set_reg(g, EDI, DIFF_DATA_ADDR + di);
    }
    if (rep) {
        dg_set_reg(g, ECX, n);
    }
    if (k == 4 && dg_rnd(g, 2)) {   /* scas: load an element it will meet */
        dg_begin(g);
        if (size == 16) {
            dg_emit(g, 0x66);
        }
        dg_emit(g, size == 8 ? 0x8A : 0x8B);
        dg_emit(g, 0x05);
        uint32_t j = n > 1 ? dg_rnd(g, n) : 0;
        dg_emit32(g, DIFF_DATA_ADDR + (g->df ? di - j * es : di + j * es));
    }
    dg_begin(g);
    if (src && dg_chance(g, 6)) {
        static const uint8_t seg[4] = { 0x26, 0x36, 0x2E, 0x3E };
        dg_emit(g, seg[dg_rnd(g, 4)]);
    }
    if (size == 16) {
        dg_emit(g, 0x66);
    }
    if (rep) {
        dg_emit(g, (uint32_t)rep);
    }
    dg_emit(g, ops[k] + (size != 8));
    if ((k == 1 || k == 4) && (!rep || n)) {
        dg_flags(g, FL_ALL, 0);
    }
}

/* BT BTS BTR BTC (register and immediate offsets), BSF, BSR. */
void dg_item_bit(struct gen *g)
{
    int size = dg_rnd(g, 2) ? 16 : 32;
    int form = (int)dg_rnd(g, 3);
    struct eop e;
    if (form == 2) {   /* bsf / bsr */
        e.mem = dg_rnd(g, 2);
        if (e.mem) {
            dg_pick_mem(g, &e.m, 0, DIFF_DATA_SIZE, (uint32_t)size / 8, 0);
        } else {
            e.reg = dg_sreg(g, size, false);
            if (e.reg != EBP && dg_rnd(g, 2)) {
                dg_set_reg(g, e.reg, dg_chance(g, 4) ? 0 : dg_rval(g));
            }
        }
        dg_start(g, size, &e, 0);
        dg_emit(g, 0x0F);
        dg_emit(g, dg_rnd(g, 2) ? 0xBC : 0xBD);
        dg_emit_E(g, &e, dg_sreg(g, size, true));
        dg_flags(g, FL_ALL, FL_ALL & ~FL_ZF);
        return;
    }
    int op = (int)dg_rnd(g, 4);   /* bt bts btr btc */
    if (form == 0) {           /* E, G: a memory E takes a signed bit offset */
        int greg = dg_wreg(g);
        e.mem = dg_rnd(g, 2);
        if (e.mem) {
            int32_t bits = (int32_t)dg_rnd(g, 0x7C0) - 0x3E0;
            uint32_t hi = size == 16 ? dg_rval(g) << 16 : 0;
            dg_set_reg(g, greg, hi | ((uint32_t)bits & (size == 16 ? 0xFFFFu : ~0u)));
            dg_pick_mem(g, &e.m, 0x80, 0x180, (uint32_t)size / 8, RB(greg));
        } else {
            e.reg = dg_sreg(g, size, op != 0);
        }
        dg_start(g, size, &e, op ? P_LOCK | P_WRITE : 0);
        dg_emit(g, 0x0F);
        dg_emit(g, 0xA3 + (uint32_t)op * 8);
        dg_emit_E(g, &e, greg);
    } else {
        dg_pick_E(g, &e, size, op != 0, 0);
        dg_start(g, size, &e, op ? P_LOCK | P_WRITE : 0);
        dg_emit(g, 0x0F);
        dg_emit(g, 0xBA);
        dg_emit_E(g, &e, 4 + op);
        dg_emit(g, dg_rnd(g, 2) ? dg_rnd(g, (uint32_t)size) : dg_rnd(g, 256));
    }
    dg_flags(g, FL_ALL & ~FL_ZF, FL_OF | FL_SF | FL_AF | FL_PF);
}

/* Write `n` bytes of `v` at code offset `at` (a displacement or target). */
static void patch(struct gen *g, uint32_t at, uint32_t v, int n)
{
    for (int i = 0; i < n && at + (uint32_t)i < DIFF_CODE_MAX; i++) {
        g->s->code[at + (uint32_t)i] = (uint8_t)(v >> (8 * i));
    }
}

/* An item that may be jumped over or called: short, and no stack use. */
static void skippable(struct gen *g)
{
    static const int grp[4] = { 0, 1, 2, 8 };   /* alu unary shift misc */
    dg_item(g, grp[dg_rnd(g, 4)]);
}

/* A forward Jcc, JMP, LOOPcc or JECXZ over the next item. */
static void item_branch(struct gen *g, int cc)
{
    static const uint8_t loops[4] = { 0xE0, 0xE1, 0xE2, 0xE3 };
    int kind = (int)dg_rnd(g, 8);   /* 0-3 jcc8/jcc32/jmp8/jmp32, 4-7 loop* jecxz */
    if (kind <= 1) {
        dg_need_flags(g, dg_cc_reads(cc));
    } else if (kind == 4 || kind == 5) {
        dg_need_flags(g, FL_ZF);
    }
    dg_begin(g);
    bool near = kind == 1 || kind == 3;
    if (kind == 0) {
        dg_emit(g, 0x70 + (uint32_t)cc);
    } else if (kind == 1) {
        dg_emit(g, 0x0F);
        dg_emit(g, 0x80 + (uint32_t)cc);
    } else if (kind <= 3) {
        dg_emit(g, kind == 2 ? 0xEB : 0xE9);
    } else {
        dg_emit(g, loops[kind - 4]);
    }
    uint32_t at = g->s->len;
    dg_emit_imm(g, near ? 32 : 8, 0);
    uint32_t u0 = g->undef;
    skippable(g);
    g->undef |= u0;   /* taken or not: either path's flags */
    uint32_t dist = g->s->len - at - (near ? 4 : 1);
    patch(g, at, near || dist < 128 ? dist : 0, near ? 4 : 1);
}

/*
 * Transfers to absolute targets (the code address is the same in both
 * worlds): JMP reg / JMP [mem] over an item, and CALL rel32 / CALL reg to
 * an item laid out as a subroutine behind a JMP, returning by RET or by
 * RET 4 over a pushed argument.
 */
static void item_transfer(struct gen *g)
{
    struct eop e;
    int kind = (int)dg_rnd(g, 4);
    int r = dg_wreg(g);
    uint32_t at;
    if (kind <= 1) {
        if (kind == 0) {
            dg_begin(g);
            dg_emit(g, 0xB8 + (uint32_t)r);
            at = g->s->len;
            dg_emit32(g, 0);
            dg_begin(g);
            dg_emit(g, 0xFF);
            dg_emit(g, 0xE0 | (uint32_t)r);
        } else {
            e.mem = true;
            dg_pick_mem(g, &e.m, 0, DIFF_DATA_SIZE, 4, 0);
            dg_begin(g);
            dg_emit(g, 0xC7);
            dg_emit(g, 0x05);
            dg_emit32(g, DIFF_DATA_ADDR + e.m.off);
            at = g->s->len;
            dg_emit32(g, 0);
            dg_start(g, 32, &e, 0);
            dg_emit(g, 0xFF);
            dg_emit_E(g, &e, 4);
        }
        uint32_t u0 = g->undef;
        skippable(g);
        g->undef |= u0;
        patch(g, at, DIFF_CODE_ADDR + g->s->len, 4);
        return;
    }
    bool arg = dg_rnd(g, 2);
    if (arg) {
        dg_begin(g);
        dg_emit(g, 0x68);
        dg_emit32(g, dg_rval(g));
    }
    dg_begin(g);
    if (kind == 2) {
        dg_emit(g, 0xE8);
        at = g->s->len;
        dg_emit32(g, 0);
    } else {
        dg_emit(g, 0xB8 + (uint32_t)r);
        at = g->s->len;
        dg_emit32(g, 0);
        dg_begin(g);
        dg_emit(g, 0xFF);
        dg_emit(g, 0xD0 | (uint32_t)r);
    }
    dg_begin(g);
    dg_emit(g, 0xE9);
    uint32_t at_jmp = g->s->len;
    dg_emit32(g, 0);
    uint32_t sub = g->s->len;
    skippable(g);
    dg_begin(g);
    if (arg) {
        dg_emit(g, 0xC2);
        dg_emit16(g, 4);
    } else {
        dg_emit(g, 0xC3);
    }
    patch(g, at, kind == 2 ? sub - (at + 4) : DIFF_CODE_ADDR + sub, 4);
    patch(g, at_jmp, g->s->len - (at_jmp + 4), 4);
}

/* SETcc, CMOVcc, conditional and unconditional branches, calls. */
void dg_item_cond(struct gen *g)
{
    int cc = (int)dg_rnd(g, 16);
    int form = (int)dg_rnd(g, 5);
    struct eop e;
    if (form == 0) {
        dg_need_flags(g, dg_cc_reads(cc));
        dg_pick_E(g, &e, 8, true, 0);
        dg_start(g, 8, &e, P_WRITE);
        dg_emit(g, 0x0F);
        dg_emit(g, 0x90 + (uint32_t)cc);
        dg_emit_E(g, &e, (int)dg_rnd(g, 8));
    } else if (form == 1) {
        int size = dg_rnd(g, 2) ? 16 : 32;
        dg_need_flags(g, dg_cc_reads(cc));
        dg_pick_E(g, &e, size, false, 0);
        dg_start(g, size, &e, 0);
        dg_emit(g, 0x0F);
        dg_emit(g, 0x40 + (uint32_t)cc);
        dg_emit_E(g, &e, dg_sreg(g, size, true));
    } else if (form <= 3) {
        item_branch(g, cc);
    } else {
        item_transfer(g);
    }
}

/* LEA with a random addressing form (no memory is accessed). */
static void item_lea(struct gen *g)
{
    int size = dg_rnd(g, 4) ? 32 : 16;
    bool a16 = dg_chance(g, 4);
    int mod = (int)dg_rnd(g, 3);
    int rm = (int)dg_rnd(g, 8);
    dg_begin(g);
    if (size == 16) {
        dg_emit(g, 0x66);
    }
    if (a16) {
        dg_emit(g, 0x67);
    }
    dg_emit(g, 0x8D);
    dg_emit(g, (uint32_t)(mod << 6 | dg_sreg(g, size, true) << 3 | rm));
    if (a16) {
        if (mod == 1) {
            dg_emit(g, dg_rnd(g, 256));
        } else if (mod == 2 || rm == 6) {
            dg_emit16(g, dg_rval(g));
        }
        return;
    }
    if (rm == 4) {
        int base = (int)dg_rnd(g, 8);
        base = base == ESP ? EBP : base;
        dg_emit(g, dg_rnd(g, 4) << 6 | dg_rnd(g, 8) << 3 | (uint32_t)base);
        rm = base;
    }
    if (mod == 1) {
        dg_emit(g, dg_rnd(g, 256));
    } else if (mod == 2 || rm == 5) {
        dg_emit32(g, dg_rval(g));
    }
}

/* CMPXCHG r/m, r (half the time with the accumulator equal) and CMPXCHG8B. */
static void item_cmpxchg(struct gen *g, bool c8b)
{
    struct eop e;
    if (c8b) {
        dg_pick_mem(g, &e.m, 0, DIFF_DATA_SIZE, 8, RB(EAX) | RB(EDX));
        e.mem = true;
        if (dg_rnd(g, 2)) {
            for (int i = 0; i < 2; i++) {   /* mov eax/edx, [m] / [m+4] */
                dg_begin(g);
                dg_emit(g, 0x8B);
                dg_emit(g, i ? 0x15 : 0x05);
                dg_emit32(g, DIFF_DATA_ADDR + e.m.off + 4u * (uint32_t)i);
            }
        }
        dg_start(g, 32, &e, P_LOCK | P_WRITE);
        dg_emit(g, 0x0F);
        dg_emit(g, 0xC7);
        dg_emit_E(g, &e, 1);
        dg_flags(g, FL_ZF, 0);
        return;
    }
    int size = dg_rsize(g);
    dg_pick_E(g, &e, size, true, RB(EAX));
    if (dg_rnd(g, 2)) {   /* mov acc, E */
        dg_start(g, size, &e, 0);
        dg_emit(g, size == 8 ? 0x8A : 0x8B);
        dg_emit_E(g, &e, EAX);
    }
    dg_start(g, size, &e, P_LOCK | P_WRITE);
    dg_emit(g, 0x0F);
    dg_emit(g, size == 8 ? 0xB0 : 0xB1);
    dg_emit_E(g, &e, dg_sreg(g, size, true));
    dg_flags(g, FL_ALL, 0);
}

/* BOUND r, m: inside the bounds, or (a quarter of the time) #BR. */
static void item_bound(struct gen *g)
{
    int size = dg_rnd(g, 3) ? 32 : 16;
    int r = dg_wreg(g);
    uint32_t lo = dg_rval(g), hi = lo + dg_rnd(g, 1000);
    uint32_t v = dg_chance(g, 4) ? dg_rval(g) : lo + dg_rnd(g, hi - lo + 1);
    uint8_t b[8];
    struct eop e;
    if (size == 16) {   /* signed 16-bit bounds */
        lo = (uint32_t)(int32_t)(int16_t)lo;
        hi = lo + dg_rnd(g, 300);
        hi = (int32_t)hi > 0x7FFF ? 0x7FFF : hi;
        v = dg_chance(g, 4) ? dg_rval(g) : lo + dg_rnd(g, hi - lo + 1);
    }
    for (int i = 0; i < 4; i++) {
        b[i] = (uint8_t)(lo >> (8 * i));
        b[4 + i] = (uint8_t)(hi >> (8 * i));
    }
    if (size == 16) {
        b[2] = (uint8_t)hi;
        b[3] = (uint8_t)(hi >> 8);
    }
    dg_set_reg(g, r, v);
    e.mem = true;
    dg_pick_mem(g, &e.m, 0, DIFF_DATA_SIZE, 8, RB(r));
    for (uint32_t i = 0; i < (size == 16 ? 4u : 8u); i += 4) {   /* mov [abs], imm32 */
        dg_begin(g);
        dg_emit(g, 0xC7);
        dg_emit(g, 0x05);
        dg_emit32(g, DIFF_DATA_ADDR + e.m.off + i);
        for (uint32_t k = 0; k < 4; k++) {
            dg_emit(g, b[i + k]);
        }
    }
    dg_start(g, size, &e, 0);
    dg_emit(g, 0x62);
    dg_emit_E(g, &e, r);
}

/* MOV r/m, Sreg and PUSH Sreg (ES CS SS DS: the same selectors in both). */
static void item_sreg(struct gen *g, bool push)
{
    static const int sregs[4] = { 0, 1, 2, 3 };
    int sr = sregs[dg_rnd(g, 4)];
    struct eop e;
    if (push) {   /* push sreg; pop r; keep the selector bits only */
        int r = dg_wreg(g);
        int size = dg_rnd(g, 3) ? 32 : 16;
        dg_start(g, size, NULL, 0);
        dg_emit(g, sr == 1 ? 0x0E : (uint32_t)sr * 8 + 6);
        dg_start(g, size, NULL, 0);
        dg_emit(g, 0x58 + (uint32_t)r);
        if (size == 32) {   /* a 32-bit push may write only 16 bits */
            dg_begin(g);
            dg_emit(g, 0x0F);
            dg_emit(g, 0xB7);
            dg_emit(g, 0xC0 | (uint32_t)r << 3 | (uint32_t)r);
        }
        return;
    }
    int size = dg_rnd(g, 3) ? 32 : 16;
    dg_pick_E(g, &e, 16, true, 0);
    dg_start(g, e.mem ? 32 : size, &e, P_WRITE);
    dg_emit(g, 0x8C);
    dg_emit_E(g, &e, sr);
}

/* BSWAP XADD CMPXCHG LEA MOVZX MOVSX XCHG CBW CWD LAHF SAHF CLC STC CMC XLAT NOP. */
void dg_item_misc(struct gen *g)
{
    int size = dg_rsize(g);
    int op = (int)dg_rnd(g, 16);
    struct eop e;
    switch (op) {
    case 0:   /* bswap r32 (the 16-bit form is undefined) */
        dg_begin(g);
        dg_emit(g, 0x0F);
        dg_emit(g, 0xC8 + (uint32_t)dg_wreg(g));
        break;
    case 1:   /* xadd */
        dg_pick_E(g, &e, size, true, 0);
        dg_start(g, size, &e, P_LOCK | P_WRITE);
        dg_emit(g, 0x0F);
        dg_emit(g, size == 8 ? 0xC0 : 0xC1);
        dg_emit_E(g, &e, dg_sreg(g, size, true));
        dg_flags(g, FL_ALL, 0);
        break;
    case 2:
    case 3:
        item_cmpxchg(g, op == 3);
        break;
    case 4:
        item_lea(g);
        break;
    case 5: { /* movzx / movsx */
        int src = dg_rnd(g, 2) ? 8 : 16;
        int dst = dg_rnd(g, 3) ? 32 : 16;
        dg_pick_E(g, &e, src, false, 0);
        dg_start(g, dst, &e, 0);
        dg_emit(g, 0x0F);
        dg_emit(g, (dg_rnd(g, 2) ? 0xB6u : 0xBEu) + (src == 16));
        dg_emit_E(g, &e, dg_sreg(g, dst, true));
        break;
    }
    case 6:   /* xchg */
        if (size != 8 && dg_chance(g, 3)) {
            dg_start(g, size, NULL, 0);
            dg_emit(g, 0x90 + (uint32_t)dg_wreg(g));
            break;
        }
        dg_pick_E(g, &e, size, true, 0);
        dg_start(g, size, &e, P_LOCK | P_WRITE);
        dg_emit(g, size == 8 ? 0x86 : 0x87);
        dg_emit_E(g, &e, dg_sreg(g, size, true));
        break;
    case 7:   /* cbw/cwde, cwd/cdq */
        dg_start(g, dg_rnd(g, 2) ? 16 : 32, NULL, 0);
        dg_emit(g, dg_rnd(g, 2) ? 0x98 : 0x99);
        break;
    case 8:   /* lahf / sahf */
        if (dg_rnd(g, 2)) {
            dg_need_flags(g, FL_ALL & ~FL_OF);
            dg_begin(g);
            dg_emit(g, 0x9F);
        } else {
            dg_begin(g);
            dg_emit(g, 0x9E);
            dg_flags(g, FL_ALL & ~FL_OF, 0);
        }
        break;
    case 9: { /* clc stc cmc */
        static const uint8_t ops[3] = { 0xF8, 0xF9, 0xF5 };
        int k = (int)dg_rnd(g, 3);
        if (k == 2) {
            dg_need_flags(g, FL_CF);
        }
        dg_begin(g);
        dg_emit(g, ops[k]);
        dg_flags(g, FL_CF, 0);
        break;
    }
    case 10:  /* xlat: EBX + AL must stay in the buffer */
        dg_set_reg(g, EBX, DIFF_DATA_ADDR + dg_rnd(g, DIFF_DATA_SIZE - 255));
        dg_begin(g);
        if (dg_chance(g, 4)) {
            dg_emit(g, 0x3E);
        }
        dg_emit(g, 0xD7);
        break;
    case 11:  /* nop Ev (0F 1F /0): decodes a memory operand, touches nothing */
        dg_pick_E(g, &e, 32, false, 0);
        dg_start(g, dg_rnd(g, 2) ? 16 : 32, &e, 0);
        dg_emit(g, 0x0F);
        dg_emit(g, 0x1F);
        dg_emit_E(g, &e, 0);
        break;
    case 12:  /* salc (undocumented, but every P6 and later has it) */
        dg_need_flags(g, FL_CF);
        dg_begin(g);
        dg_emit(g, 0xD6);
        break;
    case 13:
        item_bound(g);
        break;
    default:
        item_sreg(g, op == 14);
        break;
    }
}

/* SHLD SHRD by imm8 and CL (16-bit counts kept within the operand size). */
void dg_item_shd(struct gen *g)
{
    int size = dg_rnd(g, 2) ? 16 : 32;
    bool cl = dg_rnd(g, 2);
    uint32_t count = dg_rnd(g, 2) ? dg_rnd(g, (uint32_t)size + 1) : dg_rnd(g, 256);
    struct eop e;
    if (size == 16 && (count & 31) > 16) {
        count &= ~16u;
    }
    if (cl) {
        dg_set_reg8(g, ECX, count);
    }
    dg_pick_E(g, &e, size, true, cl ? RB(ECX) : 0);
    dg_start(g, size, &e, P_WRITE);
    dg_emit(g, 0x0F);
    dg_emit(g, (dg_rnd(g, 2) ? 0xA4u : 0xACu) + cl);
    dg_emit_E(g, &e, dg_sreg(g, size, false));
    if (!cl) {
        dg_emit(g, count);
    }
    uint32_t c = count & 31;
    if (c) {
        dg_flags(g, FL_ALL, FL_AF | (c == 1 ? 0 : FL_OF) | (c >= (uint32_t)size ? FL_ALL : 0));
    }
}

/* Balanced stack traffic: PUSH/POP pairs, PUSHF/POPF, PUSHA/POPA. */
void dg_item_stack(struct gen *g)
{
    int size = dg_rnd(g, 4) ? 32 : 16;
    struct eop e;
    switch (dg_rnd(g, 5)) {
    case 0:   /* push r/imm/mem; pop r/mem */
        switch (dg_rnd(g, 3)) {
        case 0:
            dg_start(g, size, NULL, 0);
            dg_emit(g, 0x50 + (uint32_t)dg_sreg(g, 32, false));
            break;
        case 1: {
            bool sx = dg_rnd(g, 2);
            dg_start(g, size, NULL, 0);
            dg_emit(g, sx ? 0x6A : 0x68);
            dg_emit_imm(g, sx ? 8 : size, dg_rval(g));
            break;
        }
        default:
            dg_pick_E(g, &e, size, false, 0);
            dg_start(g, size, &e, 0);
            dg_emit(g, 0xFF);
            dg_emit_E(g, &e, 6);
            break;
        }
        if (dg_rnd(g, 2)) {
            dg_start(g, size, NULL, 0);
            dg_emit(g, 0x58 + (uint32_t)dg_wreg(g));
        } else {
            dg_pick_E(g, &e, size, true, 0);
            dg_start(g, size, &e, P_WRITE);
            dg_emit(g, 0x8F);
            dg_emit_E(g, &e, 0);
        }
        break;
    case 1:   /* pushf; pop r */
        dg_need_flags(g, FL_ALL);
        dg_start(g, size, NULL, 0);
        dg_emit(g, 0x9C);
        dg_start(g, size, NULL, 0);
        dg_emit(g, 0x58 + (uint32_t)dg_wreg(g));
        break;
    case 2: { /* push imm; popf (arithmetic bits and DF only) */
        uint32_t f = (dg_rval(g) & FL_ALL) | 0x202u;
        g->df = dg_rnd(g, 2);
        f |= g->df ? FL_DF : 0;
        dg_start(g, size, NULL, 0);
        dg_emit(g, 0x68);
        dg_emit_imm(g, size, f);
        dg_start(g, size, NULL, 0);
        dg_emit(g, 0x9D);
        dg_flags(g, FL_ALL, 0);
        break;
    }
    case 3: { /* enter n, level; leave (nesting levels copy frame pointers) */
        dg_begin(g);
        dg_emit(g, 0xC8);
        dg_emit16(g, dg_rnd(g, 64));
        dg_emit(g, dg_chance(g, 2) ? 0 : dg_rnd(g, 4) + (dg_chance(g, 8) ? 32 : 0));
        dg_begin(g);
        dg_emit(g, 0xC9);
        break;
    }
    default:  /* pusha; popa */
        dg_start(g, size, NULL, 0);
        dg_emit(g, 0x60);
        dg_start(g, size, NULL, 0);
        dg_emit(g, 0x61);
        break;
    }
}

