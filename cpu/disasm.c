/*
 * disasm.c - Intel-syntax disassembly from the opcode table's operand
 * letters, for instruction traces (-d exec) and test diagnostics.
 *
 * An operand token is either an SDM operand letter followed by lowercase
 * size letters (Eb, Gv, Iz, M, Ma), or a literal register or constant
 * (AL, eAX, DX, CL, ES, 1), which is printed in lowercase as it stands.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "insn.h"

static const char *const r32[8] = { "eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi" };
static const char *const r16[8] = { "ax", "cx", "dx", "bx", "sp", "bp", "si", "di" };
static const char *const r8[8] = { "al", "cl", "dl", "bl", "ah", "ch", "dh", "bh" };
static const char *const sregs[8] = { "es", "cs", "ss", "ds", "fs", "gs", "?", "?" };
static const char *const alu[8] = { "add", "or", "adc", "sbb", "and", "sub", "xor", "cmp" };
static const char *const shifts[8] = { "rol", "ror", "rcl", "rcr", "shl", "shr", "sal", "sar" };
static const char *const conds[16] = { "o", "no", "b", "ae", "e", "ne", "be", "a",
                                       "s", "ns", "p", "np", "l", "ge", "le", "g" };

struct out {
    char *p;
    size_t left;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->p, o->left, fmt, ap);
    va_end(ap);
    if (n > 0 && (size_t)n < o->left) {
        o->p += n;
        o->left -= (size_t)n;
    } else {
        o->left = 1;
    }
}

static const char *reg_name(int r, int size)
{
    return size == 8 ? r8[r] : size == 16 ? r16[r] : r32[r];
}

static void mem_operand(struct out *o, const struct insn *in)
{
    const char *const *names = in->adsize == 16 ? r16 : r32;
    const char *plus = "";
    if (in->segovr != S_NONE) {
        put(o, "%s:", sregs[in->segovr]);
    }
    put(o, "[");
    if (in->base != REG_NONE) {
        put(o, "%s", names[in->base]);
        plus = "+";
    }
    if (in->index != REG_NONE) {
        put(o, "%s%s", plus, names[in->index]);
        if (in->scale) {
            put(o, "*%d", 1 << in->scale);
        }
        plus = "+";
    }
    if (in->disp || !*plus) {
        if (*plus && in->disp < 0) {
            put(o, "-0x%x", (unsigned)-in->disp);
        } else {
            put(o, "%s0x%x", plus, (unsigned)in->disp & (in->adsize == 16 ? 0xFFFF : ~0u));
        }
    }
    put(o, "]");
}

static int letter_size(const struct insn *in, char c)
{
    switch (c) {
    case 'b': return 8;
    case 'w': return 16;
    case 'd': return 32;
    default: return in->opsize;
    }
}

/* A literal operand: "eAX", a register name in capitals, or a digit. */
static bool is_literal(const char *t, size_t n)
{
    return (n == 3 && !strncmp(t, "eAX", 3)) || (t[0] >= '0' && t[0] <= '9') ||
           (n >= 2 && t[1] >= 'A' && t[1] <= 'Z');
}

static void literal(struct out *o, const struct insn *in, const char *t, size_t n)
{
    if (n == 3 && !strncmp(t, "eAX", 3)) {
        put(o, "%s", in->opsize == 16 ? "ax" : "eax");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char c = t[i];
        put(o, "%c", c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c);
    }
}

static void operand(struct out *o, const struct insn *in, const char *t, size_t n,
                    uint32_t eip, int *immno)
{
    if (is_literal(t, n)) {
        literal(o, in, t, n);
        return;
    }
    int size = n > 1 ? letter_size(in, t[1]) : in->opsize;
    uint32_t imm = (*immno)++ == 0 ? in->imm : in->imm2;
    switch (t[0]) {
    case 'E': case 'M': case 'R':
        if (in->mod == 3) {
            put(o, "%s", reg_name(in->rm, size));
        } else {
            mem_operand(o, in);
        }
        (*immno)--;
        return;
    case 'G':
        put(o, "%s", reg_name(in->reg, size));
        (*immno)--;
        return;
    case 'Z':
        put(o, "%s", reg_name(in->opcode & 7, size));
        (*immno)--;
        return;
    case 'S':
        put(o, "%s", sregs[in->reg]);
        (*immno)--;
        return;
    case 'C': case 'D':
        put(o, "%cr%d", t[0] == 'C' ? 'c' : 'd', in->reg);
        (*immno)--;
        return;
    case 'I':
        /* Is is sign-extended to the operand size; show it at that size */
        put(o, "0x%x", imm & size_mask(t[1] == 'b' ? 8 : t[1] == 'w' ? 16 : in->opsize));
        return;
    case 'J': {
        uint32_t target = eip + in->len + imm;
        put(o, "0x%x", in->opsize == 16 ? target & 0xFFFF : target);
        return;
    }
    case 'A':
        put(o, "0x%x:0x%x", in->imm2, imm);
        return;
    case 'O':
        if (in->segovr != S_NONE) {
            put(o, "%s:", sregs[in->segovr]);
        }
        put(o, "[0x%x]", imm);
        return;
    default:
        (*immno)--;
        literal(o, in, t, n);
        return;
    }
}

static void mnemonic(struct out *o, const struct insn *in)
{
    const char *m = in->op->mnem;
    if (!strcmp(m, "grp1")) {
        m = alu[in->reg];
    } else if (!strcmp(m, "grp2")) {
        m = shifts[in->reg];
    }
    if (in->lock) {
        put(o, "lock ");
    }
    if (in->rep && (in->op->attr & A_STR)) {
        put(o, in->rep == 0xF2 ? "repne " : "rep ");
    }
    if (!strcmp(m, "j") || !strcmp(m, "set") || !strcmp(m, "cmov")) {
        put(o, "%s%s", m, conds[in->opcode & 15]);
    } else {
        put(o, "%s", m);
    }
    if ((in->op->attr & A_STR) && in->op->mnem[strlen(in->op->mnem) - 1] != 'b') {
        put(o, "%c", in->opsize == 16 ? 'w' : 'd');
    }
}

void insn_disasm(const struct insn *in, uint32_t eip, char *buf, size_t n)
{
    struct out o = { buf, n };
    buf[0] = 0;
    mnemonic(&o, in);
    const char *s = in->op->operands;
    int immno = 0;
    for (int first = 1; *s; first = 0) {
        size_t len = strcspn(s, ",");
        put(&o, first ? " " : ",");
        operand(&o, in, s, len, eip, &immno);
        s += len;
        if (*s == ',') {
            s++;
        }
    }
}
