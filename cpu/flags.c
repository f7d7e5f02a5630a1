/*
 * flags.c - lazy arithmetic flags.
 *
 * Arithmetic instructions record (cc_op, cc_size, cc_res, cc_a, cc_b,
 * cc_aux) and the six flags are computed from that record only when read
 * (an ADD or SUB record's result is a + b or a - b: the translator leaves
 * cc_res out of them).
 * Each flag is a small formula over the operands and the result:
 *   CF  carry/borrow out of the top bit (ADC/SBB: with the carry-in)
 *   AF  carry out of bit 3:  bit 4 of (a ^ b ^ res)
 *   OF  signed overflow:     top bit of (a ^ res) & (b ^ res) for adds,
 *                            (a ^ b) & (a ^ res) for subtracts
 *   ZF, SF, PF from the result (PF: even parity of its low byte).
 * CC_SHIFT (shifts, double shifts, multiplies) is the exception: its CF
 * and OF depend on operands it does not keep, so the instruction computes
 * them and stores them as flag bits in cc_aux; AF is 0 as a P6 leaves it.
 */
#include "cpu.h"

uint8_t parity8(uint32_t v)
{
    v &= 0xFF;
    v ^= v >> 4;
    v ^= v >> 2;
    v ^= v >> 1;
    return !(v & 1);
}

static uint32_t top_bit(int size)
{
    return 1u << (size - 1);
}

/*
 * The result.  An ADD or SUB record's follows from its operands, so the
 * translator does not store cc_res for them.
 */
static uint32_t cc_result(const struct cpu *cpu)
{
    switch (cpu->cc_op) {
    case CC_ADD:
        return cpu->cc_a + cpu->cc_b;
    case CC_SUB:
        return cpu->cc_a - cpu->cc_b;
    default:
        return cpu->cc_res;
    }
}

bool cpu_cf(struct cpu *cpu)
{
    uint32_t m = size_mask(cpu->cc_size);
    uint32_t a = cpu->cc_a & m, b = cpu->cc_b & m, r = cc_result(cpu) & m;
    switch (cpu->cc_op) {
    case CC_ADD:
        return r < a;
    case CC_ADC:
        return cpu->cc_aux ? r <= a : r < a;
    case CC_SUB:
        return a < b;
    case CC_SBB:
        return cpu->cc_aux ? a <= b : a < b;
    case CC_LOGIC:
        return false;
    case CC_INC:
    case CC_DEC:
        return cpu->cc_aux;
    case CC_SHIFT:
        return cpu->cc_aux & F_CF;
    default:
        return cpu->eflags & F_CF;
    }
}

static bool lazy_of(const struct cpu *cpu)
{
    uint32_t a = cpu->cc_a, b = cpu->cc_b, r = cc_result(cpu);
    uint32_t t = top_bit(cpu->cc_size);
    switch (cpu->cc_op) {
    case CC_ADD:
    case CC_ADC:
        return ((a ^ r) & (b ^ r)) & t;
    case CC_SUB:
    case CC_SBB:
        return ((a ^ b) & (a ^ r)) & t;
    case CC_INC:
        return (r & size_mask(cpu->cc_size)) == t;
    case CC_DEC:
        return (r & size_mask(cpu->cc_size)) == t - 1;
    case CC_SHIFT:
        return cpu->cc_aux & F_OF;
    default:
        return false;
    }
}

static bool lazy_af(const struct cpu *cpu)
{
    switch (cpu->cc_op) {
    case CC_LOGIC:
    case CC_SHIFT:
        return false;
    case CC_INC:
        return (cpu->cc_res & 0xF) == 0;
    case CC_DEC:
        return (cpu->cc_res & 0xF) == 0xF;
    default:
        return (cpu->cc_a ^ cpu->cc_b ^ cc_result(cpu)) & 0x10;
    }
}

static uint32_t lazy_flags(struct cpu *cpu)
{
    uint32_t m = size_mask(cpu->cc_size);
    uint32_t r = cc_result(cpu) & m;
    uint32_t f = 0;
    if (cpu_cf(cpu)) {
        f |= F_CF;
    }
    if (parity8(r)) {
        f |= F_PF;
    }
    if (lazy_af(cpu)) {
        f |= F_AF;
    }
    if (r == 0) {
        f |= F_ZF;
    }
    if (r & top_bit(cpu->cc_size)) {
        f |= F_SF;
    }
    if (lazy_of(cpu)) {
        f |= F_OF;
    }
    return f;
}

uint32_t cpu_get_eflags(struct cpu *cpu)
{
    uint32_t f = cpu->eflags;
    if (cpu->cc_op != CC_EAGER) {
        f = (f & ~F_ARITH) | lazy_flags(cpu);
    }
    return f | F_FIXED1;
}

void cc_set_eager(struct cpu *cpu, uint32_t flags)
{
    cpu->eflags = (cpu->eflags & ~F_ARITH) | (flags & F_ARITH);
    cpu->cc_op = CC_EAGER;
}

void cpu_set_eflags(struct cpu *cpu, uint32_t val, uint32_t mask)
{
    uint32_t f = cpu_get_eflags(cpu);
    f = (f & ~mask) | (val & mask);
    /* bits 1 is always set; 3, 5, 15 and 22-31 are always clear */
    f = (f | F_FIXED1) & 0x003F7FD7u;
    cpu->eflags = f;
    cpu->cc_op = CC_EAGER;
}

/* ZF, SF and OF alone, from the lazy record or EFLAGS (as lazy_flags). */
static bool cond_zf(const struct cpu *cpu)
{
    if (cpu->cc_op == CC_EAGER) {
        return cpu->eflags & F_ZF;
    }
    return (cc_result(cpu) & size_mask(cpu->cc_size)) == 0;
}

static bool cond_sf(const struct cpu *cpu)
{
    if (cpu->cc_op == CC_EAGER) {
        return cpu->eflags & F_SF;
    }
    return cc_result(cpu) & top_bit(cpu->cc_size);
}

static bool cond_of(const struct cpu *cpu)
{
    return cpu->cc_op == CC_EAGER ? (cpu->eflags & F_OF) : lazy_of(cpu);
}

/*
 * A Jcc/SETcc/CMOVcc condition: only the flags it tests are computed,
 * each by the same formula cpu_get_eflags would use.
 */
bool cpu_cond(struct cpu *cpu, int cc)
{
    bool r;
    switch (cc >> 1) {
    case 0: /* O */
        r = cond_of(cpu);
        break;
    case 1: /* B */
        r = cpu_cf(cpu);
        break;
    case 2: /* Z */
        r = cond_zf(cpu);
        break;
    case 3: /* BE */
        r = cond_zf(cpu) || cpu_cf(cpu);
        break;
    case 4: /* S */
        r = cond_sf(cpu);
        break;
    case 5: /* P */
        r = cpu_get_eflags(cpu) & F_PF;
        break;
    case 6: /* L: SF != OF */
        r = cond_sf(cpu) != cond_of(cpu);
        break;
    default: /* LE: ZF or SF != OF */
        r = cond_zf(cpu) || (cond_sf(cpu) != cond_of(cpu));
        break;
    }
    return (cc & 1) ? !r : r;
}
