/*
 * ops_shift.c - group 2 shifts and rotates (C0/C1, D0-D3) and the double
 * shifts SHLD/SHRD (0F A4/A5/AC/AD).
 *
 * Count: masked to 5 bits (186+); a masked count of 0 changes nothing, not
 * even the flags.  RCL/RCR rotate through CF, so an 8-bit operand turns in a
 * 9-bit ring (count mod 9) and a 16-bit one in a 17-bit ring (mod 17).
 *
 * Flags, as a P6 leaves them:
 *   SHL/SAL/SHR/SAR  CF = last bit shifted out (0 once the count passes the
 *                    operand size), SF/ZF/PF from the result, AF = 0,
 *                    OF: SHL = CF ^ MSB(result); SHR = XOR of the result's
 *                    top two bits (the original MSB for a count of 1);
 *                    SAR = 0.  Lazy: CC_SHIFT keeps CF/OF in cc_aux.
 *   ROL/ROR/RCL/RCR  only CF and OF change.  ROL: CF = LSB(result),
 *                    OF = CF ^ MSB; ROR: CF = MSB, OF = XOR of the top two
 *                    bits; RCL/RCR: CF = the bit left in the carry slot, OF
 *                    as for ROL/ROR.  ROL/ROR by a multiple of the operand
 *                    size still set CF/OF; RCL/RCR by a multiple of 9/17
 *                    change nothing.
 *   SHLD/SHRD        CF = last bit out, OF as SHL/SHR, SF/ZF/PF from the
 *                    result, AF = 0.  A 16-bit operand with a count above
 *                    16 keeps shifting through dest:src:dest (what a P6
 *                    does with this "undefined" case).
 */
#include "ops.h"

enum { SH_ROL, SH_ROR, SH_RCL, SH_RCR, SH_SHL, SH_SHR, SH_SAL, SH_SAR };

static uint32_t msb(uint32_t v, int size)
{
    return (v >> (size - 1)) & 1;
}

/* XOR of the two most significant bits: OF of right shifts and rotates. */
static uint32_t top2_xor(uint32_t v, int size)
{
    return ((v >> (size - 1)) ^ (v >> (size - 2))) & 1;
}

/* Record a shift result: SF/ZF/PF from res, AF = 0, CF/OF as given. */
static void cc_shift(struct cpu *cpu, int size, uint32_t res, uint32_t cf, uint32_t of)
{
    cc_set(cpu, CC_SHIFT, size, res, 0, 0);
    cpu->cc_aux = (cf ? F_CF : 0) | (of ? F_OF : 0);
}

/* Rotates change only CF and OF; the other flags must be materialised. */
static void cc_rotate(struct cpu *cpu, uint32_t cf, uint32_t of)
{
    uint32_t f = cpu_get_eflags(cpu) & ~(F_CF | F_OF);
    cc_set_eager(cpu, f | (cf ? F_CF : 0) | (of ? F_OF : 0));
}

static uint32_t do_rol(struct cpu *cpu, int size, uint32_t v, unsigned count)
{
    unsigned n = count & (unsigned)(size - 1);
    uint32_t r = n ? ((v << n) | (v >> (size - n))) & size_mask(size) : v;
    cc_rotate(cpu, r & 1, (r & 1) ^ msb(r, size));
    return r;
}

static uint32_t do_ror(struct cpu *cpu, int size, uint32_t v, unsigned count)
{
    unsigned n = count & (unsigned)(size - 1);
    uint32_t r = n ? ((v >> n) | (v << (size - n))) & size_mask(size) : v;
    cc_rotate(cpu, msb(r, size), top2_xor(r, size));
    return r;
}

/* RCL/RCR: rotate the (size+1)-bit ring CF:v; `left` picks the direction. */
static uint32_t do_rc(struct cpu *cpu, int size, uint32_t v, unsigned count, bool left)
{
    unsigned bits = (unsigned)size + 1;
    unsigned n = count % bits;
    if (n == 0) {
        return v;
    }
    uint64_t ring_mask = ((uint64_t)1 << bits) - 1;
    uint64_t x = ((uint64_t)cpu_cf(cpu) << size) | v;
    if (left) {
        x = ((x << n) | (x >> (bits - n))) & ring_mask;
    } else {
        x = ((x >> n) | (x << (bits - n))) & ring_mask;
    }
    uint32_t r = (uint32_t)x & size_mask(size);
    uint32_t cf = (uint32_t)(x >> size) & 1;
    cc_rotate(cpu, cf, left ? cf ^ msb(r, size) : top2_xor(r, size));
    return r;
}

static uint32_t do_shl(struct cpu *cpu, int size, uint32_t v, unsigned count)
{
    uint32_t r = 0, cf = 0;
    if (count <= (unsigned)size) {
        r = (uint32_t)((uint64_t)v << count) & size_mask(size);
        cf = (v >> (size - count)) & 1;
    }
    cc_shift(cpu, size, r, cf, cf ^ msb(r, size));
    return r;
}

static uint32_t do_shr(struct cpu *cpu, int size, uint32_t v, unsigned count)
{
    uint32_t r = 0, cf = 0;
    if (count <= (unsigned)size) {
        r = (uint32_t)((uint64_t)v >> count);
        cf = (v >> (count - 1)) & 1;
    }
    cc_shift(cpu, size, r, cf, top2_xor(r, size));
    return r;
}

static uint32_t do_sar(struct cpu *cpu, int size, uint32_t v, unsigned count)
{
    uint32_t m = size_mask(size);
    uint32_t fill = msb(v, size) ? m : 0;
    uint32_t r, cf;
    if (count >= (unsigned)size) {
        r = fill;
        cf = fill & 1;
    } else {
        /* shift the sign-flipped value so that no signed shift is needed */
        r = (((v ^ fill) >> count) ^ fill) & m;
        cf = (v >> (count - 1)) & 1;
    }
    cc_shift(cpu, size, r, cf, 0);
    return r;
}

/* One group 2 operation on v (count already masked, nonzero). */
uint32_t cpu_shift(struct cpu *cpu, int kind, int size, uint32_t v, unsigned count)
{
    switch (kind) {
    case SH_ROL:
        return do_rol(cpu, size, v, count);
    case SH_ROR:
        return do_ror(cpu, size, v, count);
    case SH_RCL:
        return do_rc(cpu, size, v, count, true);
    case SH_RCR:
        return do_rc(cpu, size, v, count, false);
    case SH_SHL:
    case SH_SAL:
        return do_shl(cpu, size, v, count);
    case SH_SHR:
        return do_shr(cpu, size, v, count);
    default:
        return do_sar(cpu, size, v, count);
    }
}

/* The count operand: Ib (C0/C1), 1 (D0/D1) or CL (D2/D3), masked to 5 bits. */
static unsigned group2_count(const struct cpu *cpu, const struct insn *in)
{
    switch (in->opcode & 0xFE) {
    case 0xC0:
        return in->imm & 0x1F;
    case 0xD0:
        return 1;
    default:
        return cpu->r[R_ECX] & 0x1F;
    }
}

static void group2(struct cpu *cpu, const struct insn *in, int size)
{
    unsigned count = group2_count(cpu, in);
    uint32_t v = rmw_E(cpu, in, size);
    if (count == 0) {
        return;
    }
    set_E(cpu, in, size, cpu_shift(cpu, in->reg, size, v, count));
}

void op_shift_Eb(struct cpu *cpu, const struct insn *in)
{
    group2(cpu, in, 8);
}

void op_shift_Ev(struct cpu *cpu, const struct insn *in)
{
    group2(cpu, in, in->opsize);
}

/*
 * Double shifts.  The operand is viewed as a 64-bit (32-bit form) or
 * 48-bit (16-bit form: dest:src:dest) string, shifted as a whole; the
 * destination is the window where it started.
 */
static void double_shift(struct cpu *cpu, const struct insn *in, bool left)
{
    int size = in->opsize;
    unsigned count = ((in->opcode & 1) ? cpu->r[R_ECX] : in->imm) & 0x1F;
    uint32_t d = rmw_E(cpu, in, size);
    uint64_t s = get_G(cpu, in, size);
    if (count == 0) {
        return;
    }
    uint32_t r, cf, of;
    if (left) {
        uint64_t x = size == 32 ? ((uint64_t)d << 32) | s
                                : ((uint64_t)d << 32) | (s << 16) | d;
        cf = (uint32_t)(x >> (32 + size - count)) & 1;
        r = (uint32_t)((x << count) >> 32) & size_mask(size);
        of = cf ^ msb(r, size);
    } else {
        uint64_t x = size == 32 ? (s << 32) | d
                                : ((uint64_t)d << 32) | (s << 16) | d;
        cf = (uint32_t)(x >> (count - 1)) & 1;
        r = (uint32_t)(x >> count) & size_mask(size);
        of = top2_xor(r, size);
    }
    set_E(cpu, in, size, r);
    cc_shift(cpu, size, r, cf, of);
}

void op_shld(struct cpu *cpu, const struct insn *in)
{
    double_shift(cpu, in, true);
}

void op_shrd(struct cpu *cpu, const struct insn *in)
{
    double_shift(cpu, in, false);
}
