/*
 * diffgen.c - deterministic random instruction sequences for the
 * differential CPU test (see diffgen.h).
 *
 * A sequence is 4-12 "items"; an item is one instruction under test plus
 * the setup instructions it needs (MOVs that put known values where the
 * item requires them: index registers that must address the buffer, a
 * divisor that must not fault, a shift count in CL, string pointers that
 * keep a REP run inside the buffer).  Everything is emitted as machine
 * code, so both worlds execute exactly the same bytes.
 *
 * Memory operands always address the data buffer: through EBP (which no
 * generated instruction writes and which both harnesses set to DIFF_EBP),
 * an absolute disp32, or an index/base register loaded by a setup MOV just
 * before.  ESP is never read or written except by balanced PUSH/POP pairs,
 * because its value differs between the two worlds.
 *
 * Undefined flags.  For each instruction the generator knows which
 * arithmetic flags it writes and which of those the SDM leaves undefined
 * (after MUL: SF ZF AF PF; after a shift by more than one: OF; ...).  It
 * tracks the set of flags currently undefined, records it before every
 * instruction (so a fault can be compared too) and at the end, and never
 * lets an instruction consume an undefined flag: before ADC, Jcc, SETcc,
 * LAHF, PUSHF and friends it inserts a CMP that defines all six.  A
 * conditional jump skips the following item; after it, the undefined set
 * is the union of both paths.
 *
 * The x87 group lives at the end of the file.
 */
#include "diffgen.h"

#include <stdbool.h>
#include <string.h>

/* EFLAGS bits (local names: this file does not include cpu/cpu.h) */
#define FL_CF 0x001u
#define FL_PF 0x004u
#define FL_AF 0x010u
#define FL_ZF 0x040u
#define FL_SF 0x080u
#define FL_DF 0x400u
#define FL_OF 0x800u
#define FL_ALL (FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF)

enum { EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI };
#define RB(r) (1u << (r))

/* instruction-start options */
#define P_LOCK 1u   /* lockable when the E operand is memory */
#define P_WRITE 2u  /* writes its memory operand (no CS override) */
#define P_NOSEG 4u  /* no segment override */

struct gen {
    struct diff_seq *s;
    uint64_t rng;
    uint32_t groups;    /* enabled groups */
    uint32_t undef;     /* arithmetic flags whose value is undefined now */
    bool df;            /* current EFLAGS.DF (always known) */
    int fdepth;         /* x87 stack depth */
    bool finit;         /* x87 state has been set up */
};

struct mem {
    uint8_t modrm;      /* mod and rm; the reg field is added on emission */
    bool sib;
    uint8_t sibb;
    int dispsz;         /* 0, 1 or 4 */
    uint32_t disp;
    uint32_t off;       /* buffer offset addressed */
};

struct eop {
    bool mem;
    int reg;
    struct mem m;
};

static const char *const group_names[DG_COUNT] = {
    "alu", "unary", "shift", "muldiv", "bcd", "string", "bit", "cond",
    "misc", "shd", "stack", "x87", "x87t",
};

const char *diff_group_name(int i)
{
    return i >= 0 && i < DG_COUNT ? group_names[i] : "?";
}

/* ---- randomness ---- */

static uint64_t next64(struct gen *g)
{
    uint64_t z = (g->rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint32_t rnd(struct gen *g, uint32_t n)
{
    return (uint32_t)((next64(g) >> 32) % n);
}

static bool chance(struct gen *g, uint32_t n)
{
    return rnd(g, n) == 0;
}

/* A 32-bit value biased toward the edges where flags change. */
static uint32_t rval(struct gen *g)
{
    static const uint32_t edges[] = {
        0, 1, 2, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000,
        0x7FFFFFFF, 0x80000000u, 0xFFFFFFFFu, 0xFFFFFFFEu, 0x0F, 0x10, 0x99,
    };
    uint32_t v = (uint32_t)next64(g);
    switch (rnd(g, 8)) {
    case 0:
        return edges[rnd(g, sizeof(edges) / sizeof(edges[0]))];
    case 1:
        return rnd(g, 33);
    case 2:
        return 0u - rnd(g, 33);
    case 3:
        return (uint32_t)(int32_t)(int8_t)v;
    case 4:
        return (1u << rnd(g, 32)) + rnd(g, 3) - 1;
    default:
        return v;
    }
}

/* ---- emission ---- */

static void emit(struct gen *g, uint32_t b)
{
    struct diff_seq *s = g->s;
    if (s->len < DIFF_CODE_MAX) {
        s->code[s->len++] = (uint8_t)b;
    }
}

static void emit16(struct gen *g, uint32_t v)
{
    emit(g, v & 0xFF);
    emit(g, (v >> 8) & 0xFF);
}

static void emit32(struct gen *g, uint32_t v)
{
    emit16(g, v & 0xFFFF);
    emit16(g, v >> 16);
}

static void emit_imm(struct gen *g, int size, uint32_t v)
{
    if (size == 8) {
        emit(g, v & 0xFF);
    } else if (size == 16) {
        emit16(g, v);
    } else {
        emit32(g, v);
    }
}

/* Start a new instruction: record its offset and the undefined flags. */
static void begin(struct gen *g)
{
    struct diff_seq *s = g->s;
    if (s->ninsn < DIFF_MAX_INSNS) {
        s->insn_off[s->ninsn] = (uint16_t)s->len;
        s->undef[s->ninsn] = g->undef;
        s->ninsn++;
    }
}

/* The instruction writes the flags `wr`, of which `und` are undefined. */
static void flags(struct gen *g, uint32_t wr, uint32_t und)
{
    g->undef = (g->undef & ~wr) | (und & wr);
}

static void define_flags(struct gen *g)
{
    begin(g);
    switch (rnd(g, 3)) {
    case 0:   /* cmp r32, imm32 */
        emit(g, 0x81);
        emit(g, 0xF8 | (rnd(g, 2) ? EBX : ESI));
        emit32(g, rval(g));
        break;
    case 1:   /* cmp r32, r32 */
        emit(g, 0x3B);
        emit(g, 0xC0 | rnd(g, 4) << 3 | (rnd(g, 2) ? EDI : ECX));
        break;
    default:  /* cmp al, imm8 */
        emit(g, 0x3C);
        emit(g, rval(g));
        break;
    }
    flags(g, FL_ALL, 0);
}

/* Make sure the flags in `mask` are defined before an instruction reads them. */
static void need_flags(struct gen *g, uint32_t mask)
{
    if (g->undef & mask) {
        define_flags(g);
    }
}

/* Flags read by condition code cc (Jcc/SETcc/CMOVcc low nibble). */
static uint32_t cc_reads(int cc)
{
    static const uint32_t m[8] = {
        FL_OF, FL_CF, FL_ZF, FL_CF | FL_ZF, FL_SF, FL_PF, FL_SF | FL_OF,
        FL_ZF | FL_SF | FL_OF,
    };
    return m[(cc >> 1) & 7];
}

/* ---- registers ---- */

static const int wregs[6] = { EAX, ECX, EDX, EBX, ESI, EDI };

/* A register the instruction may write (never ESP or EBP). */
static int wreg(struct gen *g)
{
    return wregs[rnd(g, 6)];
}

/* A register of `size` bits: writable for 16/32, any for 8 (AL..BH). */
static int sreg(struct gen *g, int size, bool write)
{
    if (size == 8) {
        return (int)rnd(g, 8);
    }
    if (!write && chance(g, 7)) {
        return EBP;
    }
    return wreg(g);
}

static int wreg_avoid(struct gen *g, uint32_t avoid)
{
    int r;
    do {
        r = wreg(g);
    } while (avoid & RB(r) && (avoid & 0xCF) != 0xCF);
    return r;
}

/* mov r32, imm32 (a setup instruction) */
static void set_reg(struct gen *g, int r, uint32_t v)
{
    begin(g);
    emit(g, 0xB8 + r);
    emit32(g, v);
}

/* mov r8, imm8 */
static void set_reg8(struct gen *g, int r, uint32_t v)
{
    begin(g);
    emit(g, 0xB0 + r);
    emit(g, v);
}

static int rsize(struct gen *g)
{
    static const int sz[4] = { 8, 16, 32, 32 };
    return sz[rnd(g, 4)];
}

/* ---- memory operands ---- */

/*
 * Choose an addressing form for `width` bytes at a buffer offset in
 * [lo, hi - width].  Forms that need an index or base register emit a
 * setup MOV now, using a register outside `avoid`.
 */
static void pick_mem(struct gen *g, struct mem *m, uint32_t lo, uint32_t hi,
                     uint32_t width, uint32_t avoid)
{
    uint32_t t = lo + rnd(g, hi - width - lo + 1);
    uint32_t lin = DIFF_DATA_ADDR + t;
    uint32_t rel = lin - DIFF_EBP;
    bool fits8 = rel + 128 < 256;
    memset(m, 0, sizeof(*m));
    m->off = t;
    switch (rnd(g, 8)) {
    case 0:   /* [ebp+disp] */
        m->modrm = fits8 ? 0x45 : 0x85;
        m->dispsz = fits8 ? 1 : 4;
        m->disp = rel;
        break;
    case 1:   /* [disp32] */
        m->modrm = 0x05;
        m->dispsz = 4;
        m->disp = lin;
        break;
    case 2:   /* SIB, base EBP, no index, any scale */
        m->modrm = fits8 && rnd(g, 2) ? 0x44 : 0x84;
        m->sib = true;
        m->sibb = (uint8_t)(rnd(g, 4) << 6 | 4 << 3 | EBP);
        m->dispsz = m->modrm == 0x44 ? 1 : 4;
        m->disp = rel;
        break;
    case 3:   /* SIB, no base, no index: disp32 */
        m->modrm = 0x04;
        m->sib = true;
        m->sibb = (uint8_t)(rnd(g, 4) << 6 | 4 << 3 | 5);
        m->dispsz = 4;
        m->disp = lin;
        break;
    case 4:
    case 5: { /* SIB with an index register (EBP, or one loaded now) */
        int scale = (int)rnd(g, 4);
        int idx = chance(g, 4) ? EBP : wreg_avoid(g, avoid);
        uint32_t v = idx == EBP ? DIFF_EBP : (chance(g, 2) ? rnd(g, 64) : rval(g));
        if (idx != EBP) {
            set_reg(g, idx, v);
        }
        bool nobase = rnd(g, 3) == 0;
        m->modrm = nobase ? 0x04 : 0x84;
        m->sib = true;
        m->sibb = (uint8_t)(scale << 6 | idx << 3 | (nobase ? 5 : EBP));
        m->dispsz = 4;
        m->disp = lin - (nobase ? 0 : DIFF_EBP) - (v << scale);
        break;
    }
    default: { /* a base register loaded now, maybe with an index */
        int b = wreg_avoid(g, avoid);
        uint32_t d = chance(g, 3) ? 0 : (uint32_t)(int32_t)(int8_t)rnd(g, 256);
        int mod = d ? 1 : 0;
        if (rnd(g, 3) == 0) {
            int idx = wreg_avoid(g, avoid | RB(b));
            int scale = (int)rnd(g, 4);
            uint32_t v = rnd(g, 16);
            set_reg(g, idx, v);
            set_reg(g, b, lin - d - (v << scale));
            m->sib = true;
            m->sibb = (uint8_t)(scale << 6 | idx << 3 | b);
            m->modrm = (uint8_t)(mod << 6 | 4);
        } else {
            set_reg(g, b, lin - d);
            m->modrm = (uint8_t)(mod << 6 | b);
        }
        m->dispsz = mod;
        m->disp = d;
        break;
    }
    }
}

static void emit_mem(struct gen *g, const struct mem *m, int regfield)
{
    emit(g, m->modrm | regfield << 3);
    if (m->sib) {
        emit(g, m->sibb);
    }
    if (m->dispsz == 1) {
        emit(g, m->disp & 0xFF);
    } else if (m->dispsz == 4) {
        emit32(g, m->disp);
    }
}

/* An E operand: a register (writable if `write`) or memory in the buffer. */
static void pick_E(struct gen *g, struct eop *e, int size, bool write, uint32_t avoid)
{
    e->mem = rnd(g, 2);
    e->reg = 0;
    if (e->mem) {
        pick_mem(g, &e->m, 0, DIFF_DATA_SIZE, (uint32_t)size / 8, avoid);
    } else {
        e->reg = sreg(g, size, write);
    }
}

static void emit_E(struct gen *g, const struct eop *e, int regfield)
{
    if (e->mem) {
        emit_mem(g, &e->m, regfield);
    } else {
        emit(g, 0xC0 | regfield << 3 | e->reg);
    }
}

/*
 * Begin an instruction and emit its prefixes in a random order: operand
 * size, LOCK (only on a memory destination, except for a rare #UD probe
 * with a register operand), and a segment override on memory operands.
 */
static void start(struct gen *g, int size, const struct eop *e, unsigned opt)
{
    uint8_t p[3];
    int n = 0;
    begin(g);
    if (size == 16) {
        p[n++] = 0x66;
    }
    if ((opt & P_LOCK) && e && (e->mem ? chance(g, 3) : chance(g, 97))) {
        p[n++] = 0xF0;
    }
    if (e && e->mem && !(opt & P_NOSEG) && chance(g, 6)) {
        static const uint8_t seg[4] = { 0x3E, 0x26, 0x36, 0x2E };
        p[n++] = seg[rnd(g, (opt & P_WRITE) ? 3 : 4)];
    }
    for (int i = n - 1; i > 0; i--) {
        int j = (int)rnd(g, (uint32_t)i + 1);
        uint8_t t = p[i];
        p[i] = p[j];
        p[j] = t;
    }
    for (int i = 0; i < n; i++) {
        emit(g, p[i]);
    }
}

/* ---- groups ---- */

/* ALU ops, TEST and MOV in all their encodings. */
static void item_alu(struct gen *g)
{
    int kind = (int)rnd(g, 8);
    int form = (int)rnd(g, 11);
    int size = rsize(g);
    int wide = size != 8;
    bool cmp = kind == 7;
    struct eop e;
    if (kind == 2 || kind == 3) {
        need_flags(g, FL_CF);
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
        pick_E(g, &e, size, edest && !cmp, 0);
        int greg = sreg(g, size, !edest && !cmp);
        start(g, size, &e, edest && !cmp ? P_LOCK | P_WRITE : 0);
        emit(g, (uint32_t)kind * 8 + (edest ? 0 : 2) + (uint32_t)wide);
        emit_E(g, &e, greg);
    } else if (form == 4) {   /* op AL/eAX, imm */
        start(g, size, NULL, 0);
        emit(g, (uint32_t)kind * 8 + 4 + (uint32_t)wide);
        emit_imm(g, size, rval(g));
    } else if (form <= 6) {   /* grp1 E, imm */
        pick_E(g, &e, size, !cmp, 0);
        bool sx = wide && rnd(g, 2);
        start(g, size, &e, !cmp ? P_LOCK | P_WRITE : 0);
        emit(g, !wide ? (chance(g, 8) ? 0x82 : 0x80) : sx ? 0x83 : 0x81);
        emit_E(g, &e, kind);
        emit_imm(g, sx ? 8 : size, rval(g));
    } else if (form <= 8) {   /* TEST */
        pick_E(g, &e, size, false, 0);
        int v = (int)rnd(g, 3);
        start(g, size, v == 2 ? NULL : &e, 0);
        if (v == 0) {
            emit(g, 0x84 + (uint32_t)wide);
            emit_E(g, &e, sreg(g, size, false));
        } else if (v == 1) {
            emit(g, 0xF6 + (uint32_t)wide);
            emit_E(g, &e, chance(g, 8) ? 1 : 0);
            emit_imm(g, size, rval(g));
        } else {
            emit(g, 0xA8 + (uint32_t)wide);
            emit_imm(g, size, rval(g));
        }
        flags(g, FL_ALL, 0);
        return;
    } else {                  /* MOV */
        int v = (int)rnd(g, 5);
        if (v <= 1) {
            pick_E(g, &e, size, v == 0, 0);
            start(g, size, &e, v == 0 ? P_WRITE : 0);
            emit(g, 0x88 + (v == 0 ? 0u : 2u) + (uint32_t)wide);
            emit_E(g, &e, sreg(g, size, v == 1));
        } else if (v == 2) {
            pick_E(g, &e, size, true, 0);
            start(g, size, &e, P_WRITE);
            emit(g, 0xC6 + (uint32_t)wide);
            emit_E(g, &e, 0);
            emit_imm(g, size, rval(g));
        } else if (v == 3) {
            start(g, size, NULL, 0);
            emit(g, (wide ? 0xB8u : 0xB0u) + (uint32_t)sreg(g, size, true));
            emit_imm(g, size, rval(g));
        } else {  /* moffs */
            uint32_t off = rnd(g, DIFF_DATA_SIZE - 4);
            start(g, size, NULL, 0);
            emit(g, 0xA0 + (rnd(g, 2) ? 2u : 0u) + (uint32_t)wide);
            emit32(g, DIFF_DATA_ADDR + off);
        }
        return;
    }
    flags(g, FL_ALL, 0);
}

/* INC, DEC (both encodings), NEG, NOT. */
static void item_unary(struct gen *g)
{
    int size = rsize(g);
    struct eop e;
    int op = (int)rnd(g, 5);
    if (op == 4 && size != 8) {   /* inc/dec r16/r32 short form */
        int r = wreg(g);
        start(g, size, NULL, 0);
        emit(g, (rnd(g, 2) ? 0x40u : 0x48u) + (uint32_t)r);
        flags(g, FL_ALL & ~FL_CF, 0);
        return;
    }
    op &= 3;
    pick_E(g, &e, size, true, 0);
    start(g, size, &e, P_LOCK | P_WRITE);
    if (op < 2) {
        emit(g, size == 8 ? 0xFE : 0xFF);
        emit_E(g, &e, op);
        flags(g, FL_ALL & ~FL_CF, 0);
    } else {
        emit(g, size == 8 ? 0xF6 : 0xF7);
        emit_E(g, &e, op);   /* /2 NOT, /3 NEG */
        flags(g, op == 3 ? FL_ALL : 0, 0);
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
        flags(g, FL_CF | FL_OF, of);
        return;
    }
    uint32_t cf = op != 7 && c >= (uint32_t)size ? FL_CF : 0;
    flags(g, FL_ALL, FL_AF | of | cf);
}

/* ROL ROR RCL RCR SHL SHR SAL SAR by 1, imm8 and CL. */
static void item_shift(struct gen *g)
{
    int size = rsize(g);
    int op = (int)rnd(g, 8);
    int form = (int)rnd(g, 3);
    uint32_t count = rnd(g, 2) ? rnd(g, (uint32_t)size + 3) : rnd(g, 256);
    struct eop e;
    if (op == 6 && !chance(g, 4)) {
        op = 4;
    }
    if (op == 2 || op == 3) {
        need_flags(g, FL_CF);
    }
    if (form == 2) {
        set_reg8(g, ECX, count);
    }
    /* a register E may be ECX itself: then the count is its own CL */
    pick_E(g, &e, size, true, form == 2 ? RB(ECX) : 0);
    start(g, size, &e, P_WRITE);
    uint32_t w = size != 8;
    if (form == 0) {
        emit(g, 0xD0 + w);
        count = 1;
    } else if (form == 1) {
        emit(g, 0xC0 + w);
    } else {
        emit(g, 0xD2 + w);
    }
    emit_E(g, &e, op);
    if (form == 1) {
        emit(g, count);
    }
    shift_flags(g, op, size, count);
}

/* Dividend (lo, hi halves of 2n bits) and divisor that divide cleanly. */
static void div_operands(struct gen *g, int n, bool sgn, uint64_t *dvd, uint32_t *dvs)
{
    uint64_t mask = n == 32 ? 0xFFFFFFFFull : (1ull << n) - 1;
    if (chance(g, 24)) {   /* #DE: zero divisor or quotient overflow */
        *dvs = chance(g, 2) ? 0 : 1 + rnd(g, 3);
        *dvd = ((uint64_t)rval(g) << 32 | rval(g)) | (mask << (n - 2));
        return;
    }
    if (!sgn) {
        uint64_t d = (chance(g, 2) ? rval(g) : rnd(g, 300)) & mask;
        d = d ? d : 1;
        uint64_t q = rval(g) & mask;
        uint64_t r = (uint64_t)rval(g) % d;
        *dvd = q * d + r;
        *dvs = (uint32_t)d;
        return;
    }
    int64_t lim = (int64_t)(mask >> 1);   /* 2^(n-1) - 1 */
    int64_t d = (int64_t)(int32_t)(chance(g, 2) ? rval(g) : rnd(g, 300) - 150);
    if (n < 32) {
        d = (int64_t)((uint64_t)d & mask);
        d = d > lim ? d - (int64_t)mask - 1 : d;
    }
    d = d ? d : -1;
    int64_t q = (int64_t)(rval(g) & mask) % (lim + 1);
    q = rnd(g, 2) ? -q : q;
    int64_t ad = d < 0 ? -d : d;
    int64_t r = (int64_t)(rval(g) % (uint64_t)ad);
    int64_t p = q * d;
    if (p < 0 || (p == 0 && rnd(g, 2))) {
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
        begin(g);
        emit(g, 0x66);
        emit(g, 0xB8);
        emit16(g, (uint32_t)dvd);
    } else {
        begin(g);
        if (size == 16) {
            emit(g, 0x66);
        }
        emit(g, 0xB8);
        emit_imm(g, size, (uint32_t)dvd);
        begin(g);
        if (size == 16) {
            emit(g, 0x66);
        }
        emit(g, 0xBA);
        emit_imm(g, size, (uint32_t)(dvd >> size));
    }
    e.mem = rnd(g, 2);
    if (e.mem) {
        pick_mem(g, &e.m, 0, DIFF_DATA_SIZE, (uint32_t)size / 8, RB(EAX) | RB(EDX));
        start(g, size, &e, P_WRITE | P_NOSEG);
        emit(g, size == 8 ? 0xC6 : 0xC7);
        emit_E(g, &e, 0);
        emit_imm(g, size, dvs);
    } else {
        static const int r8[6] = { 1, 2, 3, 5, 6, 7 };   /* CL DL BL CH DH BH */
        static const int rw[4] = { ECX, EBX, ESI, EDI };
        e.reg = size == 8 ? r8[rnd(g, 6)] : rw[rnd(g, 4)];
        begin(g);
        if (size == 16) {
            emit(g, 0x66);
        }
        emit(g, (size == 8 ? 0xB0u : 0xB8u) + (uint32_t)e.reg);
        emit_imm(g, size, dvs);
    }
    start(g, size, &e, 0);
    emit(g, size == 8 ? 0xF6 : 0xF7);
    emit_E(g, &e, sgn ? 7 : 6);
    flags(g, FL_ALL, FL_ALL);
}

/* MUL, IMUL (one, two and three operands), DIV, IDIV. */
static void item_muldiv(struct gen *g)
{
    int size = rsize(g);
    int form = (int)rnd(g, 6);
    struct eop e;
    if (form >= 4) {
        item_div(g, size, form == 5);
        return;
    }
    if (form >= 2 && size == 8) {
        size = 32;
    }
    pick_E(g, &e, size, false, 0);
    start(g, size, &e, 0);
    if (form < 2) {   /* mul/imul E */
        emit(g, size == 8 ? 0xF6 : 0xF7);
        emit_E(g, &e, form ? 5 : 4);
    } else if (form == 2) {
        emit(g, 0x0F);
        emit(g, 0xAF);
        emit_E(g, &e, sreg(g, size, true));
    } else {
        bool sx = rnd(g, 2);
        emit(g, sx ? 0x6B : 0x69);
        emit_E(g, &e, sreg(g, size, true));
        emit_imm(g, sx ? 8 : size, rval(g));
    }
    flags(g, FL_ALL, FL_SF | FL_ZF | FL_AF | FL_PF);
}

/* DAA DAS AAA AAS AAM AAD. */
static void item_bcd(struct gen *g)
{
    int op = (int)rnd(g, 6);
    if (rnd(g, 2)) {   /* mov ax, imm16: AL and AH worth adjusting */
        begin(g);
        emit(g, 0x66);
        emit(g, 0xB8);
        emit16(g, (rnd(g, 10) << 12) | (rnd(g, 16) << 8) | rnd(g, 256));
    }
    if (op < 4 && (rnd(g, 2) || (g->undef & (FL_AF | FL_CF)))) {
        define_flags(g);   /* fresh AF and CF */
    }
    begin(g);
    switch (op) {
    case 0:
    case 1:
        emit(g, op ? 0x2F : 0x27);
        flags(g, FL_ALL, FL_OF);
        break;
    case 2:
    case 3:
        emit(g, op == 3 ? 0x3F : 0x37);
        flags(g, FL_ALL, FL_OF | FL_SF | FL_ZF | FL_PF);
        break;
    default:
        emit(g, op == 4 ? 0xD4 : 0xD5);
        if (op == 4 && chance(g, 40)) {
            emit(g, 0);   /* AAM 0: #DE */
        } else {
            emit(g, rnd(g, 2) ? 10 : 1 + rnd(g, 255));
        }
        flags(g, FL_ALL, FL_OF | FL_AF | FL_CF);
        break;
    }
}

/* Start offset for n elements of es bytes walking in direction df. */
static uint32_t str_start(struct gen *g, uint32_t n, uint32_t es)
{
    uint32_t span = n ? n * es : es;
    uint32_t base = rnd(g, DIFF_DATA_SIZE - span + 1);
    return g->df && n ? base + (n - 1) * es : base;
}

/* MOVS CMPS STOS LODS SCAS, with REP/REPE/REPNE, both directions. */
static void item_string(struct gen *g)
{
    static const uint8_t ops[5] = { 0xA4, 0xA6, 0xAA, 0xAC, 0xAE };
    int k = (int)rnd(g, 5);
    int size = rsize(g);
    uint32_t es = (uint32_t)size / 8;
    int rep = rnd(g, 3) ? (k == 1 || k == 4 ? (rnd(g, 2) ? 0xF3 : 0xF2)
                                            : (chance(g, 8) ? 0xF2 : 0xF3)) : 0;
    uint32_t n = rep ? (chance(g, 4) ? rnd(g, 40) : rnd(g, 17)) : 1;
    if (n * es > DIFF_DATA_SIZE) {
        n = DIFF_DATA_SIZE / es;
    }
    if (rnd(g, 2)) {
        begin(g);
        g->df = rnd(g, 2);
        emit(g, g->df ? 0xFD : 0xFC);
    }
    bool src = k <= 1 || k == 3, dst = k != 3;
    uint32_t si = str_start(g, n, es), di = str_start(g, n, es);
    if (k == 1 && chance(g, 3)) {
        di = si;   /* equal strings: REPE runs to the end */
    }
    if (src) {
        set_reg(g, ESI, DIFF_DATA_ADDR + si);
    }
    if (dst) {
        set_reg(g, EDI, DIFF_DATA_ADDR + di);
    }
    if (rep) {
        set_reg(g, ECX, n);
    }
    if (k == 4 && rnd(g, 2)) {   /* scas: load an element it will meet */
        begin(g);
        if (size == 16) {
            emit(g, 0x66);
        }
        emit(g, size == 8 ? 0x8A : 0x8B);
        emit(g, 0x05);
        uint32_t j = n > 1 ? rnd(g, n) : 0;
        emit32(g, DIFF_DATA_ADDR + (g->df ? di - j * es : di + j * es));
    }
    begin(g);
    if (src && chance(g, 6)) {
        static const uint8_t seg[4] = { 0x26, 0x36, 0x2E, 0x3E };
        emit(g, seg[rnd(g, 4)]);
    }
    if (size == 16) {
        emit(g, 0x66);
    }
    if (rep) {
        emit(g, (uint32_t)rep);
    }
    emit(g, ops[k] + (size != 8));
    if ((k == 1 || k == 4) && (!rep || n)) {
        flags(g, FL_ALL, 0);
    }
}

/* BT BTS BTR BTC (register and immediate offsets), BSF, BSR. */
static void item_bit(struct gen *g)
{
    int size = rnd(g, 2) ? 16 : 32;
    int form = (int)rnd(g, 3);
    struct eop e;
    if (form == 2) {   /* bsf / bsr */
        e.mem = rnd(g, 2);
        if (e.mem) {
            pick_mem(g, &e.m, 0, DIFF_DATA_SIZE, (uint32_t)size / 8, 0);
        } else {
            e.reg = sreg(g, size, false);
            if (e.reg != EBP && rnd(g, 2)) {
                set_reg(g, e.reg, chance(g, 4) ? 0 : rval(g));
            }
        }
        start(g, size, &e, 0);
        emit(g, 0x0F);
        emit(g, rnd(g, 2) ? 0xBC : 0xBD);
        emit_E(g, &e, sreg(g, size, true));
        flags(g, FL_ALL, FL_ALL & ~FL_ZF);
        return;
    }
    int op = (int)rnd(g, 4);   /* bt bts btr btc */
    if (form == 0) {           /* E, G: a memory E takes a signed bit offset */
        int greg = wreg(g);
        e.mem = rnd(g, 2);
        if (e.mem) {
            int32_t bits = (int32_t)rnd(g, 0x7C0) - 0x3E0;
            uint32_t hi = size == 16 ? rval(g) << 16 : 0;
            set_reg(g, greg, hi | ((uint32_t)bits & (size == 16 ? 0xFFFFu : ~0u)));
            pick_mem(g, &e.m, 0x80, 0x180, (uint32_t)size / 8, RB(greg));
        } else {
            e.reg = sreg(g, size, op != 0);
        }
        start(g, size, &e, op ? P_LOCK | P_WRITE : 0);
        emit(g, 0x0F);
        emit(g, 0xA3 + (uint32_t)op * 8);
        emit_E(g, &e, greg);
    } else {
        pick_E(g, &e, size, op != 0, 0);
        start(g, size, &e, op ? P_LOCK | P_WRITE : 0);
        emit(g, 0x0F);
        emit(g, 0xBA);
        emit_E(g, &e, 4 + op);
        emit(g, rnd(g, 2) ? rnd(g, (uint32_t)size) : rnd(g, 256));
    }
    flags(g, FL_ALL & ~FL_ZF, FL_OF | FL_SF | FL_AF | FL_PF);
}

static void item(struct gen *g, int grp);

/* SETcc, CMOVcc, and branches (Jcc, JMP, LOOPcc, JECXZ) over one item. */
static void item_cond(struct gen *g)
{
    int cc = (int)rnd(g, 16);
    int form = (int)rnd(g, 4);
    struct eop e;
    if (form == 0) {
        need_flags(g, cc_reads(cc));
        pick_E(g, &e, 8, true, 0);
        start(g, 8, &e, P_WRITE);
        emit(g, 0x0F);
        emit(g, 0x90 + (uint32_t)cc);
        emit_E(g, &e, (int)rnd(g, 8));
        return;
    }
    if (form == 1) {
        int size = rnd(g, 2) ? 16 : 32;
        need_flags(g, cc_reads(cc));
        pick_E(g, &e, size, false, 0);
        start(g, size, &e, 0);
        emit(g, 0x0F);
        emit(g, 0x40 + (uint32_t)cc);
        emit_E(g, &e, sreg(g, size, true));
        return;
    }
    /* a forward branch over the next item */
    int kind = (int)rnd(g, 8);   /* 0-3 jcc8/jcc32/jmp8/jmp32, 4-7 loop* jecxz */
    if (kind <= 1) {
        need_flags(g, cc_reads(cc));
    } else if (kind == 4 || kind == 5) {
        need_flags(g, FL_ZF);
    }
    begin(g);
    static const uint8_t loops[4] = { 0xE0, 0xE1, 0xE2, 0xE3 };
    bool near = kind == 1 || kind == 3;
    if (kind == 0) {
        emit(g, 0x70 + (uint32_t)cc);
    } else if (kind == 1) {
        emit(g, 0x0F);
        emit(g, 0x80 + (uint32_t)cc);
    } else if (kind <= 3) {
        emit(g, kind == 2 ? 0xEB : 0xE9);
    } else {
        emit(g, loops[kind - 4]);
    }
    uint32_t at = g->s->len;
    emit_imm(g, near ? 32 : 8, 0);
    uint32_t u0 = g->undef;
    static const int skippable[4] = { 0, 1, 2, 8 };   /* alu unary shift misc */
    item(g, skippable[rnd(g, 4)]);
    g->undef |= u0;
    uint32_t dist = g->s->len - at - (near ? 4 : 1);
    if (!near && dist > 127) {
        dist = 0;   /* too far for rel8 (cannot happen with these items) */
    }
    if (at + (near ? 4 : 1) <= DIFF_CODE_MAX) {
        g->s->code[at] = (uint8_t)dist;
        if (near) {
            g->s->code[at + 1] = (uint8_t)(dist >> 8);
            g->s->code[at + 2] = (uint8_t)(dist >> 16);
            g->s->code[at + 3] = (uint8_t)(dist >> 24);
        }
    }
}

/* LEA with a random addressing form (no memory is accessed). */
static void item_lea(struct gen *g)
{
    int size = rnd(g, 4) ? 32 : 16;
    bool a16 = chance(g, 4);
    int mod = (int)rnd(g, 3);
    int rm = (int)rnd(g, 8);
    begin(g);
    if (size == 16) {
        emit(g, 0x66);
    }
    if (a16) {
        emit(g, 0x67);
    }
    emit(g, 0x8D);
    emit(g, (uint32_t)(mod << 6 | sreg(g, size, true) << 3 | rm));
    if (a16) {
        if (mod == 1) {
            emit(g, rnd(g, 256));
        } else if (mod == 2 || rm == 6) {
            emit16(g, rval(g));
        }
        return;
    }
    if (rm == 4) {
        int base = (int)rnd(g, 8);
        base = base == ESP ? EBP : base;
        emit(g, rnd(g, 4) << 6 | rnd(g, 8) << 3 | (uint32_t)base);
        rm = base;
    }
    if (mod == 1) {
        emit(g, rnd(g, 256));
    } else if (mod == 2 || rm == 5) {
        emit32(g, rval(g));
    }
}

/* CMPXCHG r/m, r (half the time with the accumulator equal) and CMPXCHG8B. */
static void item_cmpxchg(struct gen *g, bool c8b)
{
    struct eop e;
    if (c8b) {
        pick_mem(g, &e.m, 0, DIFF_DATA_SIZE, 8, RB(EAX) | RB(EDX));
        e.mem = true;
        if (rnd(g, 2)) {
            for (int i = 0; i < 2; i++) {   /* mov eax/edx, [m] / [m+4] */
                begin(g);
                emit(g, 0x8B);
                emit(g, i ? 0x15 : 0x05);
                emit32(g, DIFF_DATA_ADDR + e.m.off + 4u * (uint32_t)i);
            }
        }
        start(g, 32, &e, P_LOCK | P_WRITE);
        emit(g, 0x0F);
        emit(g, 0xC7);
        emit_E(g, &e, 1);
        flags(g, FL_ZF, 0);
        return;
    }
    int size = rsize(g);
    pick_E(g, &e, size, true, RB(EAX));
    if (rnd(g, 2)) {   /* mov acc, E */
        start(g, size, &e, 0);
        emit(g, size == 8 ? 0x8A : 0x8B);
        emit_E(g, &e, EAX);
    }
    start(g, size, &e, P_LOCK | P_WRITE);
    emit(g, 0x0F);
    emit(g, size == 8 ? 0xB0 : 0xB1);
    emit_E(g, &e, sreg(g, size, true));
    flags(g, FL_ALL, 0);
}

/* BSWAP XADD CMPXCHG LEA MOVZX MOVSX XCHG CBW CWD LAHF SAHF CLC STC CMC XLAT NOP. */
static void item_misc(struct gen *g)
{
    int size = rsize(g);
    int op = (int)rnd(g, 13);
    struct eop e;
    switch (op) {
    case 0:   /* bswap r32 (the 16-bit form is undefined) */
        begin(g);
        emit(g, 0x0F);
        emit(g, 0xC8 + (uint32_t)wreg(g));
        break;
    case 1:   /* xadd */
        pick_E(g, &e, size, true, 0);
        start(g, size, &e, P_LOCK | P_WRITE);
        emit(g, 0x0F);
        emit(g, size == 8 ? 0xC0 : 0xC1);
        emit_E(g, &e, sreg(g, size, true));
        flags(g, FL_ALL, 0);
        break;
    case 2:
    case 3:
        item_cmpxchg(g, op == 3);
        break;
    case 4:
        item_lea(g);
        break;
    case 5: { /* movzx / movsx */
        int src = rnd(g, 2) ? 8 : 16;
        int dst = rnd(g, 3) ? 32 : 16;
        pick_E(g, &e, src, false, 0);
        start(g, dst, &e, 0);
        emit(g, 0x0F);
        emit(g, (rnd(g, 2) ? 0xB6u : 0xBEu) + (src == 16));
        emit_E(g, &e, sreg(g, dst, true));
        break;
    }
    case 6:   /* xchg */
        if (size != 8 && chance(g, 3)) {
            start(g, size, NULL, 0);
            emit(g, 0x90 + (uint32_t)wreg(g));
            break;
        }
        pick_E(g, &e, size, true, 0);
        start(g, size, &e, P_LOCK | P_WRITE);
        emit(g, size == 8 ? 0x86 : 0x87);
        emit_E(g, &e, sreg(g, size, true));
        break;
    case 7:   /* cbw/cwde, cwd/cdq */
        start(g, rnd(g, 2) ? 16 : 32, NULL, 0);
        emit(g, rnd(g, 2) ? 0x98 : 0x99);
        break;
    case 8:   /* lahf / sahf */
        if (rnd(g, 2)) {
            need_flags(g, FL_ALL & ~FL_OF);
            begin(g);
            emit(g, 0x9F);
        } else {
            begin(g);
            emit(g, 0x9E);
            flags(g, FL_ALL & ~FL_OF, 0);
        }
        break;
    case 9: { /* clc stc cmc */
        static const uint8_t ops[3] = { 0xF8, 0xF9, 0xF5 };
        int k = (int)rnd(g, 3);
        if (k == 2) {
            need_flags(g, FL_CF);
        }
        begin(g);
        emit(g, ops[k]);
        flags(g, FL_CF, 0);
        break;
    }
    case 10:  /* xlat: EBX + AL must stay in the buffer */
        set_reg(g, EBX, DIFF_DATA_ADDR + rnd(g, DIFF_DATA_SIZE - 255));
        begin(g);
        if (chance(g, 4)) {
            emit(g, 0x3E);
        }
        emit(g, 0xD7);
        break;
    case 11:  /* nop Ev (0F 1F /0): decodes a memory operand, touches nothing */
        pick_E(g, &e, 32, false, 0);
        start(g, rnd(g, 2) ? 16 : 32, &e, 0);
        emit(g, 0x0F);
        emit(g, 0x1F);
        emit_E(g, &e, 0);
        break;
    default:  /* salc (undocumented, but every P6 and later has it) */
        need_flags(g, FL_CF);
        begin(g);
        emit(g, 0xD6);
        break;
    }
}

/* SHLD SHRD by imm8 and CL (16-bit counts kept within the operand size). */
static void item_shd(struct gen *g)
{
    int size = rnd(g, 2) ? 16 : 32;
    bool cl = rnd(g, 2);
    uint32_t count = rnd(g, 2) ? rnd(g, (uint32_t)size + 1) : rnd(g, 256);
    struct eop e;
    if (size == 16 && (count & 31) > 16) {
        count &= ~16u;
    }
    if (cl) {
        set_reg8(g, ECX, count);
    }
    pick_E(g, &e, size, true, cl ? RB(ECX) : 0);
    start(g, size, &e, P_WRITE);
    emit(g, 0x0F);
    emit(g, (rnd(g, 2) ? 0xA4u : 0xACu) + cl);
    emit_E(g, &e, sreg(g, size, false));
    if (!cl) {
        emit(g, count);
    }
    uint32_t c = count & 31;
    if (c) {
        flags(g, FL_ALL, FL_AF | (c == 1 ? 0 : FL_OF) | (c >= (uint32_t)size ? FL_ALL : 0));
    }
}

/* Balanced stack traffic: PUSH/POP pairs, PUSHF/POPF, PUSHA/POPA. */
static void item_stack(struct gen *g)
{
    int size = rnd(g, 4) ? 32 : 16;
    struct eop e;
    switch (rnd(g, 5)) {
    case 0:   /* push r/imm/mem; pop r/mem */
        switch (rnd(g, 3)) {
        case 0:
            start(g, size, NULL, 0);
            emit(g, 0x50 + (uint32_t)sreg(g, 32, false));
            break;
        case 1: {
            bool sx = rnd(g, 2);
            start(g, size, NULL, 0);
            emit(g, sx ? 0x6A : 0x68);
            emit_imm(g, sx ? 8 : size, rval(g));
            break;
        }
        default:
            pick_E(g, &e, size, false, 0);
            start(g, size, &e, 0);
            emit(g, 0xFF);
            emit_E(g, &e, 6);
            break;
        }
        if (rnd(g, 2)) {
            start(g, size, NULL, 0);
            emit(g, 0x58 + (uint32_t)wreg(g));
        } else {
            pick_E(g, &e, size, true, 0);
            start(g, size, &e, P_WRITE);
            emit(g, 0x8F);
            emit_E(g, &e, 0);
        }
        break;
    case 1:   /* pushf; pop r */
        need_flags(g, FL_ALL);
        start(g, size, NULL, 0);
        emit(g, 0x9C);
        start(g, size, NULL, 0);
        emit(g, 0x58 + (uint32_t)wreg(g));
        break;
    case 2: { /* push imm; popf (arithmetic bits and DF only) */
        uint32_t f = (rval(g) & FL_ALL) | 0x202u;
        g->df = rnd(g, 2);
        f |= g->df ? FL_DF : 0;
        start(g, size, NULL, 0);
        emit(g, 0x68);
        emit_imm(g, size, f);
        start(g, size, NULL, 0);
        emit(g, 0x9D);
        flags(g, FL_ALL, 0);
        break;
    }
    default:  /* pusha; popa */
        start(g, size, NULL, 0);
        emit(g, 0x60);
        start(g, size, NULL, 0);
        emit(g, 0x61);
        break;
    }
}

/* ---- x87 ---- */

/* Store `n` bytes (a multiple of 2) at buffer offset `off` with MOVs. */
static void store_bytes(struct gen *g, uint32_t off, const uint8_t *b, uint32_t n)
{
    for (uint32_t i = 0; i < n;) {
        bool dw = n - i >= 4;
        begin(g);
        if (!dw) {
            emit(g, 0x66);
        }
        emit(g, 0xC7);
        emit(g, 0x05);
        emit32(g, DIFF_DATA_ADDR + off + i);
        for (uint32_t k = 0; k < (dw ? 4u : 2u); k++) {
            emit(g, b[i + k]);
        }
        i += dw ? 4 : 2;
    }
}

/* A floating-point or integer memory image of `width` bytes. */
static void fp_image(struct gen *g, uint8_t *b, uint32_t width, bool integer)
{
    uint64_t mant = next64(g);
    uint32_t sign = rnd(g, 2);
    int kind = (int)rnd(g, 16);   /* 0 zero, 1 inf, 2 nan, 3 denormal */
    uint64_t v;
    uint32_t top = 0;   /* bits 64-79 of an m80 */
    if (integer) {
        v = width == 2 ? (uint64_t)(int64_t)(int16_t)rval(g)
                       : ((uint64_t)(chance(g, 3) ? rval(g) : 0) << 32) | rval(g);
        if (width == 4) {
            v = (uint64_t)(int64_t)(int32_t)v;
        }
    } else if (width == 4) {
        uint32_t e = kind == 0 || kind == 3 ? 0 : kind <= 2 ? 255 : 127 + rnd(g, 41) - 20;
        uint32_t m = kind == 0 || kind == 1 ? 0 : (uint32_t)mant & 0x7FFFFF;
        v = (uint64_t)(sign << 31 | e << 23 | m);
    } else if (width == 8) {
        uint64_t e = kind == 0 || kind == 3 ? 0 : kind <= 2 ? 2047 : 1023 + rnd(g, 81) - 40;
        uint64_t m = kind == 0 || kind == 1 ? 0 : mant & 0xFFFFFFFFFFFFFull;
        v = (uint64_t)sign << 63 | e << 52 | m;
    } else {
        uint32_t e = kind == 0 || kind == 3 ? 0 : kind <= 2 ? 0x7FFF : 16383 + rnd(g, 81) - 40;
        v = kind == 0 ? 0 : kind == 1 ? 1ull << 63 : mant | (kind == 3 ? 0 : 1ull << 63);
        top = sign << 15 | e;
    }
    if (!integer && rnd(g, 4) == 0 && kind > 3) {
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
    pick_mem(g, &e->m, 0, DIFF_DATA_SIZE, width, 0);
    fp_image(g, b, width, integer);
    store_bytes(g, e->m.off, b, width);
}

static void fp_op_mem(struct gen *g, const struct eop *e, uint32_t op, int regfield)
{
    start(g, 32, e, 0);
    emit(g, op);
    emit_E(g, e, regfield);
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
        begin(g);
        emit(g, 0xDD);
        emit(g, 0xD8);
        g->fdepth--;
    }
    int k = (int)rnd(g, 9);
    if (k < 6) {
        fp_mem(g, &e, ld[k][2], k >= 3);
        fp_op_mem(g, &e, ld[k][0], ld[k][1]);
    } else if (k == 6 && g->fdepth > 0) {
        begin(g);
        emit(g, 0xD9);
        emit(g, 0xC0 + rnd(g, (uint32_t)g->fdepth));
    } else {
        begin(g);
        emit(g, 0xD9);
        emit(g, 0xE8 + rnd(g, 7));   /* fld1 fldl2t fldl2e fldpi fldlg2 fldln2 fldz */
    }
    g->fdepth++;
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
    int op = ops[rnd(g, 6)];
    struct eop e;
    int form = (int)rnd(g, 4);
    if (form == 0) {   /* st0 op= mem (m32, m64, m32int, m16int) */
        static const uint8_t opc[4] = { 0xD8, 0xDC, 0xDA, 0xDE };
        static const uint8_t w[4] = { 4, 8, 4, 2 };
        int k = (int)rnd(g, 4);
        fp_need(g, 1);
        fp_mem(g, &e, w[k], k >= 2);
        fp_op_mem(g, &e, opc[k], op);
        return;
    }
    fp_need(g, 2);
    begin(g);
    emit(g, form == 1 ? 0xD8 : form == 2 ? 0xDC : 0xDE);
    emit(g, 0xC0 + (uint32_t)op * 8 + rnd(g, (uint32_t)g->fdepth));
    if (form == 3) {
        g->fdepth--;
    }
}

/* Unary and stack-shaping operations on ST0 (and ST1). */
static void fp_unary(struct gen *g)
{
    static const uint8_t ops[] = {
        0xE0, 0xE1, 0xFA, 0xFC, 0xE4, 0xE5, 0xF4, 0xFD, 0xF8, 0xF5, 0xC8,
    };
    uint8_t op = ops[rnd(g, sizeof(ops))];
    fp_need(g, op == 0xFD || op == 0xF8 || op == 0xF5 || op == 0xC8 ? 2 : 1);
    if (op == 0xF4 && g->fdepth >= 8) {
        op = 0xE0;
    }
    begin(g);
    emit(g, 0xD9);
    if (op == 0xC8) {   /* fxch st(i) */
        emit(g, 0xC8 + rnd(g, (uint32_t)g->fdepth));
        return;
    }
    emit(g, op);
    if (op == 0xF4) {   /* fxtract pushes the significand */
        g->fdepth++;
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
    int k = (int)rnd(g, 6);
    int v = (int)rnd(g, 4);
    struct eop e;
    fp_need(g, 2);
    uint32_t i = rnd(g, (uint32_t)g->fdepth);
    switch (k) {
    case 0:
    case 1:
        begin(g);
        emit(g, reg[v][0]);
        emit(g, reg[v][1] + i);
        g->fdepth -= v & 1;
        break;
    case 2:   /* fcompp / fucompp */
        begin(g);
        emit(g, v & 1 ? 0xDE : 0xDA);
        emit(g, v & 1 ? 0xD9 : 0xE9);
        g->fdepth -= 2;
        break;
    case 3:
        begin(g);
        emit(g, comi[v][0]);
        emit(g, comi[v][1] + i);
        g->fdepth -= v >= 2;
        flags(g, FL_ALL, 0);
        break;
    case 4:   /* fcmovcc: B E BE U and their negations */
        need_flags(g, FL_CF | FL_ZF | FL_PF);
        begin(g);
        emit(g, v & 1 ? 0xDA : 0xDB);
        emit(g, 0xC0 + rnd(g, 4) * 8 + i);
        break;
    default:  /* fcom / fcomp m32 or m64 */
        fp_mem(g, &e, v & 1 ? 8 : 4, false);
        fp_op_mem(g, &e, v & 1 ? 0xDC : 0xD8, 2 + (v >> 1));
        g->fdepth -= v >> 1;
        break;
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
    int k = (int)rnd(g, 12);
    if (k >= 10) {   /* fst / fstp st(i) */
        begin(g);
        emit(g, 0xDD);
        emit(g, (k == 10 ? 0xD0u : 0xD8u) + rnd(g, (uint32_t)g->fdepth));
        g->fdepth -= k == 11;
        return;
    }
    e.mem = true;
    pick_mem(g, &e.m, 0, DIFF_DATA_SIZE, st[k][2], 0);
    start(g, 32, &e, P_WRITE);
    emit(g, st[k][0]);
    emit_E(g, &e, st[k][1]);
    g->fdepth -= pop[k];
}

/* Control and status: FLDCW (rounding, precision), FSTSW, FNSTCW, SAHF idiom. */
static void fp_control(struct gen *g)
{
    struct eop e;
    switch (rnd(g, 4)) {
    case 0: { /* fldcw: all exceptions stay masked */
        uint32_t cw = 0x037F & ~0xF00u;
        cw |= rnd(g, 4) << 10 | (rnd(g, 3) ? 3u : rnd(g, 2) ? 2u : 0u) << 8;
        uint8_t b[2] = { (uint8_t)cw, (uint8_t)(cw >> 8) };
        e.mem = true;
        pick_mem(g, &e.m, 0, DIFF_DATA_SIZE, 2, 0);
        store_bytes(g, e.m.off, b, 2);
        fp_op_mem(g, &e, 0xD9, 5);
        break;
    }
    case 1:   /* fnstsw ax (fstsw: with FWAIT), then maybe sahf */
        if (rnd(g, 2)) {
            begin(g);
            emit(g, 0x9B);
        }
        begin(g);
        emit(g, 0xDF);
        emit(g, 0xE0);
        if (rnd(g, 2)) {
            begin(g);
            emit(g, 0x9E);
            flags(g, FL_ALL & ~FL_OF, 0);
        }
        break;
    case 2:   /* fnstsw m16 / fnstcw m16 */
        e.mem = true;
        pick_mem(g, &e.m, 0, DIFF_DATA_SIZE, 2, 0);
        start(g, 32, &e, P_WRITE);
        emit(g, rnd(g, 2) ? 0xDD : 0xD9);
        emit_E(g, &e, 7);
        break;
    default:  /* fdecstp+fincstp, ffree, fnop */
        begin(g);
        emit(g, rnd(g, 3) ? 0xD9 : 0xDD);
        if (g->s->code[g->s->len - 1] == 0xDD && g->fdepth > 0) {
            emit(g, 0xC0 + (uint32_t)g->fdepth - 1);   /* ffree the bottom */
            g->fdepth--;
        } else if (rnd(g, 2)) {
            emit(g, 0xF6);
            begin(g);
            emit(g, 0xD9);
            emit(g, 0xF7);
        } else {
            if (g->s->code[g->s->len - 1] == 0xDD) {
                g->s->code[g->s->len - 1] = 0xD9;
            }
            emit(g, 0xD0);
        }
        break;
    }
}

/* Transcendentals, with ST0 mostly in each instruction's domain. */
static void fp_trans(struct gen *g)
{
    static const uint8_t ops[8] = { 0xF0, 0xF1, 0xF2, 0xF3, 0xF9, 0xFE, 0xFF, 0xFB };
    uint8_t op = ops[rnd(g, 8)];
    bool two = op == 0xF1 || op == 0xF3 || op == 0xF9;
    bool push = op == 0xF2 || op == 0xFB;
    fp_need(g, two ? 2 : 1);
    if (push && g->fdepth >= 8) {
        op = 0xFE;
        push = false;
    }
    begin(g);
    emit(g, 0xD9);
    emit(g, op);
    g->fdepth += push ? 1 : two ? -1 : 0;
}

static void item_x87(struct gen *g, bool trans)
{
    if (trans) {
        fp_trans(g);
        return;
    }
    switch (rnd(g, 6)) {
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

/* ---- sequences ---- */

static void item(struct gen *g, int grp)
{
    g->s->groups |= 1u << grp;
    switch (1u << grp) {
    case DG_ALU: item_alu(g); break;
    case DG_UNARY: item_unary(g); break;
    case DG_SHIFT: item_shift(g); break;
    case DG_MULDIV: item_muldiv(g); break;
    case DG_BCD: item_bcd(g); break;
    case DG_STRING: item_string(g); break;
    case DG_BIT: item_bit(g); break;
    case DG_COND: item_cond(g); break;
    case DG_MISC: item_misc(g); break;
    case DG_SHD: item_shd(g); break;
    case DG_STACK: item_stack(g); break;
    case DG_X87: item_x87(g, false); break;
    default: item_x87(g, true); break;
    }
}

/* Initial buffer: random bytes, zero runs and repeats (for REPE CMPS). */
static void init_data(struct gen *g, uint8_t *d)
{
    for (uint32_t i = 0; i < DIFF_DATA_SIZE; i += 16) {
        uint32_t k = rnd(g, 8);
        for (uint32_t j = 0; j < 16; j++) {
            uint8_t b = (uint8_t)next64(g);
            d[i + j] = k == 0 ? 0 : k == 1 && i ? d[i + j - 16] : b;
        }
    }
}

void diff_gen(struct diff_seq *s, uint64_t seed, uint32_t index, uint32_t groups)
{
    struct gen g = { .s = s, .groups = groups };
    int enabled[DG_COUNT], ne = 0;
    memset(s, 0, sizeof(*s));
    s->index = index;
    g.rng = seed * 0xD1342543DE82EF95ull + index;
    next64(&g);
    for (int i = 0; i < DG_COUNT; i++) {
        if (groups & (1u << i)) {
            enabled[ne++] = i;
        }
    }
    for (int i = 0; i < 8; i++) {
        s->init.r[i] = rval(&g);
    }
    s->init.r[ESP] = 0;
    s->init.r[EBP] = DIFF_EBP;
    g.df = rnd(&g, 2);
    s->init.eflags = (rval(&g) & FL_ALL) | (g.df ? FL_DF : 0);
    init_data(&g, s->data);
    uint32_t n = 4 + rnd(&g, 9);
    for (uint32_t i = 0; i < n && ne; i++) {
        if (s->ninsn + 24 > DIFF_MAX_INSNS || s->len + 256 > DIFF_CODE_MAX) {
            break;
        }
        item(&g, enabled[rnd(&g, (uint32_t)ne)]);
    }
    s->insn_off[s->ninsn] = (uint16_t)s->len;
    s->undef[s->ninsn] = g.undef;
}
