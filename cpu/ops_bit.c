/*
 * ops_bit.c - bit test and modify (BT, BTS, BTR, BTC) and bit scans (BSF,
 * BSR).
 *
 * BT* with a register bit offset and a memory operand address a bit
 * string: the offset is signed and may reach far outside the operand, so
 * the effective address moves by (offset >> 4) words or (offset >> 5)
 * dwords (floor division: negative offsets go below the operand) and the
 * low 4/5 bits pick the bit.  An immediate offset, or a register operand,
 * only uses the offset modulo the operand size.
 *
 * Flags: BT* set CF to the selected bit and leave the others alone; the
 * scans set ZF = (source == 0) and, when the source is zero, leave the
 * destination and the other flags unchanged (as a P6 does); otherwise
 * CF = OF = AF = SF = 0 and PF follows the index found.
 */
#include "ops.h"

enum { BT_TEST, BT_SET, BT_RESET, BT_COMPLEMENT };

/* Set only CF, materialising the rest. */
static void set_cf_only(struct cpu *cpu, bool cf)
{
    uint32_t f = cpu_get_eflags(cpu) & ~F_CF;
    cc_set_eager(cpu, f | (cf ? F_CF : 0));
}

/* Apply BT/BTS/BTR/BTC to bit `bit` of the E operand at offset `ea`. */
static void bit_op(struct cpu *cpu, const struct insn *in, int kind, unsigned bit, uint32_t ea)
{
    int size = in->opsize;
    uint32_t mask = 1u << bit;
    uint32_t v;
    bool mem = !modrm_is_reg(in);
    if (!mem) {
        v = reg_get(cpu, in->rm, size);
    } else if (kind == BT_TEST) {
        v = cpu_rd(cpu, in->seg, ea, size);
    } else {
        cpu_check_write(cpu, in->seg, ea, size / 8);
        v = cpu_rd(cpu, in->seg, ea, size);
    }
    bool cf = v & mask;
    if (kind != BT_TEST) {
        uint32_t r = kind == BT_SET ? v | mask : kind == BT_RESET ? v & ~mask : v ^ mask;
        if (mem) {
            cpu_wr(cpu, in->seg, ea, size, r);
        } else {
            reg_set(cpu, in->rm, size, r);
        }
    }
    set_cf_only(cpu, cf);
}

/* 0F A3/AB/B3/BB: the operation is opcode bits 3-4. */
void op_bt_Ev_Gv(struct cpu *cpu, const struct insn *in)
{
    int size = in->opsize;
    uint32_t off = get_G(cpu, in, size);
    int kind = (in->opcode >> 3) & 3;
    if (modrm_is_reg(in)) {
        bit_op(cpu, in, kind, off & (unsigned)(size - 1), 0);
        return;
    }
    /* signed offset: a floor division by the operand size in bits */
    unsigned shift = size == 32 ? 5 : 4;
    uint32_t sign = size == 32 ? (off & 0x80000000u) : (off & 0x8000u);
    uint32_t units = off >> shift;
    if (sign) {
        units |= ~((size == 32 ? 0xFFFFFFFFu : 0xFFFFu) >> shift);
    }
    uint32_t ea = ea_plus(in, cpu->ea, units * (uint32_t)(size / 8));
    bit_op(cpu, in, kind, off & (unsigned)(size - 1), ea);
}

/* 0F BA /4-/7: the operation is ModRM.reg - 4, the offset an immediate. */
void op_bt_Ev_Ib(struct cpu *cpu, const struct insn *in)
{
    bit_op(cpu, in, in->reg - 4, in->imm & (unsigned)(in->opsize - 1), cpu->ea);
}

/* Scan results: destination written only for a nonzero source. */
static void scan_done(struct cpu *cpu, const struct insn *in, uint32_t src, unsigned idx)
{
    if (src == 0) {
        cc_set_eager(cpu, (cpu_get_eflags(cpu) & F_ARITH) | F_ZF);
        return;
    }
    set_G(cpu, in, in->opsize, idx);
    cc_set_eager(cpu, parity8(idx) ? F_PF : 0);
}

void op_bsf(struct cpu *cpu, const struct insn *in)
{
    uint32_t src = get_E(cpu, in, in->opsize);
    unsigned idx = 0;
    while (src && !(src & (1u << idx))) {
        idx++;
    }
    scan_done(cpu, in, src, idx);
}

void op_bsr(struct cpu *cpu, const struct insn *in)
{
    uint32_t src = get_E(cpu, in, in->opsize);
    unsigned idx = 31;
    while (src && !(src & (1u << idx))) {
        idx--;
    }
    scan_done(cpu, in, src, idx);
}
