/*
 * ops_muldiv.c - MUL, IMUL (one-, two- and three-operand forms), DIV, IDIV.
 *
 * One-operand forms use the accumulator: AL/AX/EAX times the operand gives
 * AX, DX:AX or EDX:EAX; division divides that double-width value, leaving
 * the quotient in the low half and the remainder in the high half.
 *
 * Flags: CF = OF = 1 when the product does not fit the low half (MUL: the
 * high half is not zero; IMUL: it is not the sign extension of the low
 * half).  SF/ZF/PF are undefined by the SDM; like a P6 we derive them from
 * the low half of the product, with AF = 0 (lazy CC_SHIFT record).  DIV and
 * IDIV leave the flags alone.
 *
 * #DE (divide by zero, or a quotient that does not fit) is raised before
 * anything is written.  Signed arithmetic is done in wider types so that
 * no C expression overflows (INT64_MIN / -1 is caught as an overflow).
 */
#include "ops.h"

/* Sign-extend the low `size` bits of v. */
static int64_t sext(uint64_t v, int size)
{
    uint64_t sign = (uint64_t)1 << (size - 1);
    uint64_t m = (sign << 1) - 1;
    v &= m;
    return (v & sign) ? -(int64_t)(m - v) - 1 : (int64_t)v;
}

/* Record a product: the low half gives SF/ZF/PF; `wide` sets CF and OF. */
static void cc_mul(struct cpu *cpu, int size, uint32_t lo, bool wide)
{
    cc_set(cpu, CC_SHIFT, size, lo, 0, 0);
    cpu->cc_aux = wide ? (F_CF | F_OF) : 0;
}

/* Store a double-width value in AX (8-bit), DX:AX or EDX:EAX. */
static void set_acc_pair(struct cpu *cpu, int size, uint32_t lo, uint32_t hi)
{
    if (size == 8) {
        set_reg16(cpu, R_EAX, (uint16_t)((hi & 0xFF) << 8 | (lo & 0xFF)));
    } else {
        reg_set(cpu, R_EAX, size, lo);
        reg_set(cpu, R_EDX, size, hi);
    }
}

/* The double-width dividend: AX, DX:AX or EDX:EAX. */
static uint64_t get_acc_pair(const struct cpu *cpu, int size)
{
    if (size == 8) {
        return cpu->r[R_EAX] & 0xFFFF;
    }
    return (uint64_t)reg_get(cpu, R_EDX, size) << size | reg_get(cpu, R_EAX, size);
}

static void mul_acc(struct cpu *cpu, int size, uint32_t src)
{
    uint64_t p = (uint64_t)reg_get(cpu, R_EAX, size) * src;
    uint32_t lo = (uint32_t)p & size_mask(size);
    uint32_t hi = (uint32_t)(p >> size) & size_mask(size);
    set_acc_pair(cpu, size, lo, hi);
    cc_mul(cpu, size, lo, hi != 0);
}

/* Signed product of a and b at `size`; *wide when it overflows `size`. */
static uint64_t smul(int size, uint32_t a, uint32_t b, bool *wide)
{
    int64_t p = sext(a, size) * sext(b, size);
    *wide = sext((uint64_t)p, size) != p;
    return (uint64_t)p;
}

static void imul_acc(struct cpu *cpu, int size, uint32_t src)
{
    bool wide;
    uint64_t p = smul(size, reg_get(cpu, R_EAX, size), src, &wide);
    uint32_t lo = (uint32_t)p & size_mask(size);
    set_acc_pair(cpu, size, lo, (uint32_t)(p >> size) & size_mask(size));
    cc_mul(cpu, size, lo, wide);
}

static void div_acc(struct cpu *cpu, int size, uint32_t src)
{
    uint64_t n = get_acc_pair(cpu, size);
    if (src == 0 || n / src > size_mask(size)) {
        cpu_fault(cpu, EX_DE, EXC_NOERR);
    }
    set_acc_pair(cpu, size, (uint32_t)(n / src), (uint32_t)(n % src));
}

static void idiv_acc(struct cpu *cpu, int size, uint32_t src)
{
    int64_t n = sext(get_acc_pair(cpu, size), 2 * size);
    int64_t d = sext(src, size);
    int64_t lim = (int64_t)1 << (size - 1);
    if (d == 0 || (d == -1 && n == INT64_MIN)) {
        cpu_fault(cpu, EX_DE, EXC_NOERR);
    }
    int64_t q = n / d, r = n % d;   /* C truncates toward zero, as IDIV */
    if (q >= lim || q < -lim) {
        cpu_fault(cpu, EX_DE, EXC_NOERR);
    }
    set_acc_pair(cpu, size, (uint32_t)((uint64_t)q & size_mask(size)),
                 (uint32_t)((uint64_t)r & size_mask(size)));
}

void op_mul_Eb(struct cpu *cpu, const struct insn *in)
{
    mul_acc(cpu, 8, get_E(cpu, in, 8));
}

void op_mul_Ev(struct cpu *cpu, const struct insn *in)
{
    mul_acc(cpu, in->opsize, get_E(cpu, in, in->opsize));
}

void op_imul_Eb(struct cpu *cpu, const struct insn *in)
{
    imul_acc(cpu, 8, get_E(cpu, in, 8));
}

void op_imul_Ev(struct cpu *cpu, const struct insn *in)
{
    imul_acc(cpu, in->opsize, get_E(cpu, in, in->opsize));
}

void op_div_Eb(struct cpu *cpu, const struct insn *in)
{
    div_acc(cpu, 8, get_E(cpu, in, 8));
}

void op_div_Ev(struct cpu *cpu, const struct insn *in)
{
    div_acc(cpu, in->opsize, get_E(cpu, in, in->opsize));
}

void op_idiv_Eb(struct cpu *cpu, const struct insn *in)
{
    idiv_acc(cpu, 8, get_E(cpu, in, 8));
}

void op_idiv_Ev(struct cpu *cpu, const struct insn *in)
{
    idiv_acc(cpu, in->opsize, get_E(cpu, in, in->opsize));
}

/* Gv = a * b truncated to the operand size (0F AF, 69, 6B). */
static void imul_G(struct cpu *cpu, const struct insn *in, uint32_t a, uint32_t b)
{
    int size = in->opsize;
    bool wide;
    uint32_t lo = (uint32_t)smul(size, a, b, &wide) & size_mask(size);
    set_G(cpu, in, size, lo);
    cc_mul(cpu, size, lo, wide);
}

void op_imul_Gv_Ev(struct cpu *cpu, const struct insn *in)
{
    imul_G(cpu, in, get_G(cpu, in, in->opsize), get_E(cpu, in, in->opsize));
}

/* 69 takes Iz, 6B a sign-extended Ib: the decoder has extended both. */
void op_imul_Gv_Ev_Iz(struct cpu *cpu, const struct insn *in)
{
    imul_G(cpu, in, get_E(cpu, in, in->opsize), in->imm);
}
