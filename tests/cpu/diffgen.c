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
 * The groups themselves are in diffgen_ops.c (integer) and diffgen_x87.c.
 */
#include "diffgen_impl.h"

static const char *const group_names[DG_COUNT] = {
    "alu", "unary", "shift", "muldiv", "bcd", "string", "bit", "cond",
    "misc", "shd", "stack", "x87", "x87t",
};

const char *diff_group_name(int i)
{
    return i >= 0 && i < DG_COUNT ? group_names[i] : "?";
}

/* ---- randomness ---- */

uint64_t dg_next64(struct gen *g)
{
    uint64_t z = (g->rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

uint32_t dg_rnd(struct gen *g, uint32_t n)
{
    return (uint32_t)((dg_next64(g) >> 32) % n);
}

bool dg_chance(struct gen *g, uint32_t n)
{
    return dg_rnd(g, n) == 0;
}

/* A 32-bit value biased toward the edges where flags change. */
uint32_t dg_rval(struct gen *g)
{
    static const uint32_t edges[] = {
        0, 1, 2, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000,
        0x7FFFFFFF, 0x80000000u, 0xFFFFFFFFu, 0xFFFFFFFEu, 0x0F, 0x10, 0x99,
    };
    uint32_t v = (uint32_t)dg_next64(g);
    switch (dg_rnd(g, 8)) {
    case 0:
        return edges[dg_rnd(g, sizeof(edges) / sizeof(edges[0]))];
    case 1:
        return dg_rnd(g, 33);
    case 2:
        return 0u - dg_rnd(g, 33);
    case 3:
        return (uint32_t)(int32_t)(int8_t)v;
    case 4:
        return (1u << dg_rnd(g, 32)) + dg_rnd(g, 3) - 1;
    default:
        return v;
    }
}

/* ---- emission ---- */

void dg_emit(struct gen *g, uint32_t b)
{
    struct diff_seq *s = g->s;
    if (s->len < DIFF_CODE_MAX) {
        s->code[s->len++] = (uint8_t)b;
    }
}

void dg_emit16(struct gen *g, uint32_t v)
{
    dg_emit(g, v & 0xFF);
    dg_emit(g, (v >> 8) & 0xFF);
}

void dg_emit32(struct gen *g, uint32_t v)
{
    dg_emit16(g, v & 0xFFFF);
    dg_emit16(g, v >> 16);
}

void dg_emit_imm(struct gen *g, int size, uint32_t v)
{
    if (size == 8) {
        dg_emit(g, v & 0xFF);
    } else if (size == 16) {
        dg_emit16(g, v);
    } else {
        dg_emit32(g, v);
    }
}

/* Start a new instruction: record its offset and the undefined flags. */
void dg_begin(struct gen *g)
{
    struct diff_seq *s = g->s;
    if (s->ninsn < DIFF_MAX_INSNS) {
        s->insn_off[s->ninsn] = (uint16_t)s->len;
        s->undef[s->ninsn] = g->undef;
        s->fsw_undef_at[s->ninsn] = (uint16_t)g->fsw_undef;
        s->ninsn++;
    }
}

/* The instruction writes the flags `wr`, of which `und` are undefined. */
void dg_flags(struct gen *g, uint32_t wr, uint32_t und)
{
    g->undef = (g->undef & ~wr) | (und & wr);
}

void dg_define_flags(struct gen *g)
{
    dg_begin(g);
    switch (dg_rnd(g, 3)) {
    case 0:   /* cmp r32, imm32 */
        dg_emit(g, 0x81);
        dg_emit(g, 0xF8 | (dg_rnd(g, 2) ? EBX : ESI));
        dg_emit32(g, dg_rval(g));
        break;
    case 1:   /* cmp r32, r32 */
        dg_emit(g, 0x3B);
        dg_emit(g, 0xC0 | dg_rnd(g, 4) << 3 | (dg_rnd(g, 2) ? EDI : ECX));
        break;
    default:  /* cmp al, imm8 */
        dg_emit(g, 0x3C);
        dg_emit(g, dg_rval(g));
        break;
    }
    dg_flags(g, FL_ALL, 0);
}

/* Make sure the flags in `mask` are defined before an instruction reads them. */
void dg_need_flags(struct gen *g, uint32_t mask)
{
    if (g->undef & mask) {
        dg_define_flags(g);
    }
}

/* Flags read by condition code cc (Jcc/SETcc/CMOVcc low nibble). */
uint32_t dg_cc_reads(int cc)
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
int dg_wreg(struct gen *g)
{
    return wregs[dg_rnd(g, 6)];
}

/* A register of `size` bits: writable for 16/32, any for 8 (AL..BH). */
int dg_sreg(struct gen *g, int size, bool write)
{
    if (size == 8) {
        return (int)dg_rnd(g, 8);
    }
    if (!write && dg_chance(g, 7)) {
        return EBP;
    }
    return dg_wreg(g);
}

int dg_wreg_avoid(struct gen *g, uint32_t avoid)
{
    int r;
    do {
        r = dg_wreg(g);
    } while (avoid & RB(r) && (avoid & 0xCF) != 0xCF);
    return r;
}

/* mov r32, imm32 (a setup instruction) */
void dg_set_reg(struct gen *g, int r, uint32_t v)
{
    dg_begin(g);
    dg_emit(g, 0xB8 + r);
    dg_emit32(g, v);
}

/* mov r8, imm8 */
void dg_set_reg8(struct gen *g, int r, uint32_t v)
{
    dg_begin(g);
    dg_emit(g, 0xB0 + r);
    dg_emit(g, v);
}

int dg_rsize(struct gen *g)
{
    static const int sz[4] = { 8, 16, 32, 32 };
    return sz[dg_rnd(g, 4)];
}

/* ---- memory operands ---- */

/*
 * Choose an addressing form for `width` bytes at a buffer offset in
 * [lo, hi - width].  Forms that need an index or base register emit a
 * setup MOV now, using a register outside `avoid`.
 */
void dg_pick_mem(struct gen *g, struct mem *m, uint32_t lo, uint32_t hi,
                 uint32_t width, uint32_t avoid)
{
    uint32_t t = lo + dg_rnd(g, hi - width - lo + 1);
    uint32_t lin = DIFF_DATA_ADDR + t;
    uint32_t rel = lin - DIFF_EBP;
    bool fits8 = rel + 128 < 256;
    memset(m, 0, sizeof(*m));
    m->off = t;
    switch (dg_rnd(g, 8)) {
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
        m->modrm = fits8 && dg_rnd(g, 2) ? 0x44 : 0x84;
        m->sib = true;
        m->sibb = (uint8_t)(dg_rnd(g, 4) << 6 | 4 << 3 | EBP);
        m->dispsz = m->modrm == 0x44 ? 1 : 4;
        m->disp = rel;
        break;
    case 3:   /* SIB, no base, no index: disp32 */
        m->modrm = 0x04;
        m->sib = true;
        m->sibb = (uint8_t)(dg_rnd(g, 4) << 6 | 4 << 3 | 5);
        m->dispsz = 4;
        m->disp = lin;
        break;
    case 4:
    case 5: { /* SIB with an index register (EBP, or one loaded now) */
        int scale = (int)dg_rnd(g, 4);
        int idx = dg_chance(g, 4) ? EBP : dg_wreg_avoid(g, avoid);
        uint32_t v = idx == EBP ? DIFF_EBP : (dg_chance(g, 2) ? dg_rnd(g, 64) : dg_rval(g));
        if (idx != EBP) {
            dg_set_reg(g, idx, v);
        }
        bool nobase = dg_rnd(g, 3) == 0;
        m->modrm = nobase ? 0x04 : 0x84;
        m->sib = true;
        m->sibb = (uint8_t)(scale << 6 | idx << 3 | (nobase ? 5 : EBP));
        m->dispsz = 4;
        m->disp = lin - (nobase ? 0 : DIFF_EBP) - (v << scale);
        break;
    }
    default: { /* a base register loaded now, maybe with an index */
        int b = dg_wreg_avoid(g, avoid);
        uint32_t d = dg_chance(g, 3) ? 0 : (uint32_t)(int32_t)(int8_t)dg_rnd(g, 256);
        int mod = d ? 1 : 0;
        if (dg_rnd(g, 3) == 0) {
            int idx = dg_wreg_avoid(g, avoid | RB(b));
            int scale = (int)dg_rnd(g, 4);
            uint32_t v = dg_rnd(g, 16);
            dg_set_reg(g, idx, v);
            dg_set_reg(g, b, lin - d - (v << scale));
            m->sib = true;
            m->sibb = (uint8_t)(scale << 6 | idx << 3 | b);
            m->modrm = (uint8_t)(mod << 6 | 4);
        } else {
            dg_set_reg(g, b, lin - d);
            m->modrm = (uint8_t)(mod << 6 | b);
        }
        m->dispsz = mod;
        m->disp = d;
        break;
    }
    }
}

void dg_emit_mem(struct gen *g, const struct mem *m, int regfield)
{
    dg_emit(g, m->modrm | regfield << 3);
    if (m->sib) {
        dg_emit(g, m->sibb);
    }
    if (m->dispsz == 1) {
        dg_emit(g, m->disp & 0xFF);
    } else if (m->dispsz == 4) {
        dg_emit32(g, m->disp);
    }
}

/* An E operand: a register (writable if `write`) or memory in the buffer. */
void dg_pick_E(struct gen *g, struct eop *e, int size, bool write, uint32_t avoid)
{
    e->mem = dg_rnd(g, 2);
    e->reg = 0;
    if (e->mem) {
        dg_pick_mem(g, &e->m, 0, DIFF_DATA_SIZE, (uint32_t)size / 8, avoid);
    } else {
        e->reg = dg_sreg(g, size, write);
    }
}

void dg_emit_E(struct gen *g, const struct eop *e, int regfield)
{
    if (e->mem) {
        dg_emit_mem(g, &e->m, regfield);
    } else {
        dg_emit(g, 0xC0 | regfield << 3 | e->reg);
    }
}

/*
 * Begin an instruction and emit its prefixes in a random order: operand
 * size, LOCK (only on a memory destination, except for a rare #UD probe
 * with a register operand), and a segment override on memory operands.
 */
void dg_start(struct gen *g, int size, const struct eop *e, unsigned opt)
{
    uint8_t p[3];
    int n = 0;
    dg_begin(g);
    if (size == 16) {
        p[n++] = 0x66;
    }
    if ((opt & P_LOCK) && e && (e->mem ? dg_chance(g, 3) : dg_chance(g, 97))) {
        p[n++] = 0xF0;
    }
    if (e && e->mem && !(opt & P_NOSEG) && dg_chance(g, 6)) {
        static const uint8_t seg[4] = { 0x3E, 0x26, 0x36, 0x2E };
        p[n++] = seg[dg_rnd(g, (opt & P_WRITE) ? 3 : 4)];
    }
    for (int i = n - 1; i > 0; i--) {
        int j = (int)dg_rnd(g, (uint32_t)i + 1);
        uint8_t t = p[i];
        p[i] = p[j];
        p[j] = t;
    }
    for (int i = 0; i < n; i++) {
        dg_emit(g, p[i]);
    }
}

/* ---- sequences ---- */

void dg_item(struct gen *g, int grp)
{
    g->s->groups |= 1u << grp;
    switch (1u << grp) {
    case DG_ALU: dg_item_alu(g); break;
    case DG_UNARY: dg_item_unary(g); break;
    case DG_SHIFT: dg_item_shift(g); break;
    case DG_MULDIV: dg_item_muldiv(g); break;
    case DG_BCD: dg_item_bcd(g); break;
    case DG_STRING: dg_item_string(g); break;
    case DG_BIT: dg_item_bit(g); break;
    case DG_COND: dg_item_cond(g); break;
    case DG_MISC: dg_item_misc(g); break;
    case DG_SHD: dg_item_shd(g); break;
    case DG_STACK: dg_item_stack(g); break;
    case DG_X87: dg_item_x87(g, false); break;
    default: dg_item_x87(g, true); break;
    }
}

/* Initial buffer: random bytes, zero runs and repeats (for REPE CMPS). */
static void init_data(struct gen *g, uint8_t *d)
{
    for (uint32_t i = 0; i < DIFF_DATA_SIZE; i += 16) {
        uint32_t k = dg_rnd(g, 8);
        for (uint32_t j = 0; j < 16; j++) {
            uint8_t b = (uint8_t)dg_next64(g);
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
    dg_next64(&g);
    for (int i = 0; i < DG_COUNT; i++) {
        if (groups & (1u << i)) {
            enabled[ne++] = i;
        }
    }
    for (int i = 0; i < 8; i++) {
        s->init.r[i] = dg_rval(&g);
    }
    s->init.r[ESP] = 0;
    s->init.r[EBP] = DIFF_EBP;
    g.df = dg_rnd(&g, 2);
    s->init.eflags = (dg_rval(&g) & FL_ALL) | (g.df ? FL_DF : 0);
    init_data(&g, s->data);
    uint32_t n = 4 + dg_rnd(&g, 9);
    for (uint32_t i = 0; i < n && ne; i++) {
        if (s->ninsn + 24 > DIFF_MAX_INSNS || s->len + 256 > DIFF_CODE_MAX) {
            break;
        }
        s->item_start[s->ninsn] = 1;
        dg_item(&g, enabled[dg_rnd(&g, (uint32_t)ne)]);
    }
    s->insn_off[s->ninsn] = (uint16_t)s->len;
    s->undef[s->ninsn] = g.undef;
    s->item_start[s->ninsn] = 1;
    s->fsw_undef = g.fsw_undef;
    s->ntrec = g.ntrec;
}

void diff_truncate(struct diff_seq *s, uint32_t n)
{
    if (n < s->ninsn && s->item_start[n]) {
        s->ninsn = n;
        s->len = s->insn_off[n];
        s->fsw_undef = s->fsw_undef_at[n];
    }
}
