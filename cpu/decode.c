/*
 * decode.c - x86 instruction decoder driven by cpu/opcodes.def.
 *
 * The rows of opcodes.def are indexed once into a [map][opcode][ext] table.
 * Decoding reads prefixes, the opcode (one or two bytes), ModRM/SIB and
 * displacement, then the immediates that the row's operand letters call
 * for.  An instruction longer than 15 bytes raises #GP(0), as on hardware;
 * a LOCK prefix on an instruction or operand that does not take it, or an
 * opcode without a row, decodes to the #UD handler.
 */
#include <string.h>

#include "insn.h"
#include "mem.h"

static const struct opdesc rows[] = {
#define OP(map_, lo_, hi_, ext_, mnem_, operands_, fn_, attr_) \
    { .mnem = mnem_, .operands = operands_, .fn = fn_, .attr = attr_, \
      .map = map_, .lo = lo_, .hi = hi_, .ext = ext_ },
#include "opcodes.def"
#undef OP
};

#define NROWS (sizeof(rows) / sizeof(rows[0]))

/* Derived once from rows[]: row index + 1 for each [map][opcode][ext]. */
static struct {
    int ready;
    uint16_t row[2][256][8];
    uint8_t imm1[NROWS], imm2[NROWS], imm1_signed[NROWS];
} tab;

static void imm_kind(const char *tok, size_t n, uint8_t *kind, uint8_t *sgn)
{
    *sgn = 0;
    if (n != 2) {
        *kind = IMM_NONE;
    } else if (!strncmp(tok, "Ib", 2)) {
        *kind = IMM_B;
    } else if (!strncmp(tok, "Is", 2) || !strncmp(tok, "Jb", 2)) {
        *kind = IMM_B;
        *sgn = 1;
    } else if (!strncmp(tok, "Iw", 2)) {
        *kind = IMM_W;
    } else if (!strncmp(tok, "Iz", 2) || !strncmp(tok, "Iv", 2) ||
               !strncmp(tok, "Jz", 2)) {
        *kind = IMM_Z;
    } else if (!strncmp(tok, "Ap", 2)) {
        *kind = IMM_AP;
    } else if (tok[0] == 'O') {
        *kind = IMM_O;
    } else {
        *kind = IMM_NONE;
    }
}

static void decode_init(void)
{
    for (size_t i = 0; i < NROWS; i++) {
        const struct opdesc *r = &rows[i];
        for (int op = r->lo; op <= r->hi; op++) {
            for (int e = 0; e < 8; e++) {
                if (r->ext < 0 || r->ext == e) {
                    tab.row[r->map][op][e] = (uint16_t)(i + 1);
                }
            }
        }
        /* immediates come from the operand letters, in order */
        const char *s = r->operands;
        int found = 0;
        while (*s) {
            size_t n = strcspn(s, ",");
            uint8_t kind, sgn;
            imm_kind(s, n, &kind, &sgn);
            if (kind != IMM_NONE) {
                if (found++ == 0) {
                    tab.imm1[i] = kind;
                    tab.imm1_signed[i] = sgn;
                } else {
                    tab.imm2[i] = kind;
                }
            }
            s += n;
            if (*s == ',') {
                s++;
            }
        }
    }
    tab.ready = 1;
}

static const struct opdesc ud_row = {
    .mnem = "(bad)", .operands = "", .fn = op_ud, .attr = A_BRANCH,
};

/* Byte source: the guest's CS:EIP stream or a buffer. */
struct src {
    struct cpu *cpu;
    const uint8_t *buf;
    size_t n;
    unsigned pos;
    int bad;    /* buffer ran out or length exceeded */
};

static uint8_t next(struct src *s)
{
    unsigned i = s->pos++;
    if (s->cpu) {
        if (i >= 15) {
            cpu_fault(s->cpu, EX_GP, 0);
        }
        return cpu_fetch8(s->cpu, s->cpu->eip + i);
    }
    if (i >= s->n || i >= 15) {
        s->bad = 1;
        return 0;
    }
    return s->buf[i];
}

static uint32_t next_n(struct src *s, int bytes)
{
    uint32_t v = 0;
    for (int i = 0; i < bytes; i++) {
        v |= (uint32_t)next(s) << (8 * i);
    }
    return v;
}

static const uint8_t ea16_base[8] = { R_EBX, R_EBX, R_EBP, R_EBP, R_ESI, R_EDI, R_EBP, R_EBX };
static const uint8_t ea16_index[8] = { R_ESI, R_EDI, R_ESI, R_EDI, REG_NONE, REG_NONE, REG_NONE, REG_NONE };

static void decode_modrm(struct src *s, struct insn *in, uint16_t attr)
{
    in->modrm = next(s);
    in->mod = in->modrm >> 6;
    in->reg = (in->modrm >> 3) & 7;
    in->rm = in->modrm & 7;
    in->base = in->index = REG_NONE;
    in->scale = 0;
    in->disp = 0;
    if (attr & A_REG) {
        in->mod = 3;
    }
    if (in->mod == 3) {
        return;
    }
    uint8_t defseg = S_DS;
    if (in->adsize == 16) {
        if (in->mod == 0 && in->rm == 6) {
            in->disp = (int32_t)next_n(s, 2);
        } else {
            in->base = ea16_base[in->rm];
            in->index = ea16_index[in->rm];
            if (in->base == R_EBP) {
                defseg = S_SS;
            }
            in->disp = in->mod == 1 ? (int8_t)next(s)
                     : in->mod == 2 ? (int16_t)next_n(s, 2) : 0;
        }
    } else {
        uint8_t rm = in->rm;
        if (rm == 4) {
            uint8_t sib = next(s);
            in->scale = sib >> 6;
            in->index = ((sib >> 3) & 7) == 4 ? REG_NONE : (sib >> 3) & 7;
            rm = sib & 7;
            if (rm == 5 && in->mod == 0) {
                in->disp = (int32_t)next_n(s, 4);
                rm = REG_NONE;
            }
        } else if (rm == 5 && in->mod == 0) {
            in->disp = (int32_t)next_n(s, 4);
            rm = REG_NONE;
        }
        in->base = rm;
        if (rm == R_ESP || rm == R_EBP) {
            defseg = S_SS;
        }
        if (in->mod == 1) {
            in->disp = (int8_t)next(s);
        } else if (in->mod == 2) {
            in->disp = (int32_t)next_n(s, 4);
        }
    }
    in->seg = in->segovr != S_NONE ? in->segovr : defseg;
}

static uint32_t read_imm(struct src *s, const struct insn *in, int kind, int sgn)
{
    switch (kind) {
    case IMM_B:
        return sgn ? (uint32_t)(int32_t)(int8_t)next(s) : next(s);
    case IMM_W:
        return next_n(s, 2);
    case IMM_Z:
        return in->opsize == 16 ? (uint32_t)(int32_t)(int16_t)next_n(s, 2)
                                : next_n(s, 4);
    case IMM_AP:
        return next_n(s, in->opsize / 8);
    case IMM_O:
        return next_n(s, in->adsize / 8);
    default:
        return 0;
    }
}

static int prefix_byte(struct insn *in, uint8_t b, int size32)
{
    switch (b) {
    case 0x26: in->segovr = S_ES; return 1;
    case 0x2E: in->segovr = S_CS; return 1;
    case 0x36: in->segovr = S_SS; return 1;
    case 0x3E: in->segovr = S_DS; return 1;
    case 0x64: in->segovr = S_FS; return 1;
    case 0x65: in->segovr = S_GS; return 1;
    case 0x66: in->opsize = size32 ? 16 : 32; return 1;
    case 0x67: in->adsize = size32 ? 16 : 32; return 1;
    case 0xF0: in->lock = 1; return 1;
    case 0xF2: case 0xF3: in->rep = b; return 1;
    default: return 0;
    }
}

static void decode(struct src *s, struct insn *in, int size32)
{
    if (!tab.ready) {
        decode_init();
    }
    memset(in, 0, sizeof(*in));
    in->opsize = in->adsize = size32 ? 32 : 16;
    in->segovr = S_NONE;
    uint8_t b = next(s);
    while (prefix_byte(in, b, size32)) {
        b = next(s);
    }
    if (b == 0x0F) {
        in->map = 1;
        b = next(s);
    }
    in->opcode = b;
    in->seg = in->segovr != S_NONE ? in->segovr : S_DS;
    in->base = in->index = REG_NONE;
    /* every row of one opcode agrees on A_MODRM; any ext finds one */
    unsigned idx = 0;
    for (int e = 0; e < 8 && !idx; e++) {
        idx = tab.row[in->map][b][e];
    }
    if (!idx) {
        in->op = &ud_row;
        in->len = (uint8_t)s->pos;
        return;
    }
    uint16_t attr = rows[idx - 1].attr;
    if (attr & A_MODRM) {
        decode_modrm(s, in, attr);
        idx = tab.row[in->map][b][in->reg];
    }
    if (!idx || ((rows[idx - 1].attr & A_MEM) && in->mod == 3) ||
        (in->lock && (!(rows[idx - 1].attr & A_LOCK) || in->mod == 3))) {
        in->op = &ud_row;
        in->len = (uint8_t)s->pos;
        return;
    }
    in->op = &rows[idx - 1];
    idx--;
    in->imm = read_imm(s, in, tab.imm1[idx], tab.imm1_signed[idx]);
    if (tab.imm1[idx] == IMM_AP) {
        in->imm2 = next_n(s, 2);
    } else if (tab.imm2[idx]) {
        in->imm2 = read_imm(s, in, tab.imm2[idx], 0);
    }
    in->len = (uint8_t)s->pos;
}

void cpu_decode(struct cpu *cpu, struct insn *in)
{
    struct src s = { .cpu = cpu };
    decode(&s, in, cpu_code32(cpu) && !cpu_v86(cpu));
}

int insn_decode_buf(struct insn *in, const uint8_t *buf, size_t n, int size32)
{
    struct src s = { .buf = buf, .n = n };
    decode(&s, in, size32);
    return s.bad ? 0 : in->len;
}

void op_prefix(struct cpu *cpu, const struct insn *in)
{
    cpu_undefined(cpu, in); /* never reached: prefixes are consumed above */
}
