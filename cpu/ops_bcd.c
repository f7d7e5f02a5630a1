/*
 * ops_bcd.c - decimal adjustment (DAA, DAS, AAA, AAS, AAM, AAD) and SALC.
 *
 * The algorithms are the SDM's, in the 286+ form: AAA/AAS adjust AX as a
 * whole (AX + 106h, AX - 106h), so a carry or borrow out of AL reaches AH,
 * unlike the 8086 which adjusted AL and AH separately.
 *
 * Undefined flags, as a P6 leaves them (the SST masks them):
 *   DAA/DAS  OF = 0;
 *   AAA/AAS  OF = SF = 0, ZF/PF from the final AL;
 *   AAM/AAD  OF = AF = CF = 0 (SF/ZF/PF from AL are defined).
 * All flags are computed eagerly: these instructions are rare.
 */
#include "ops.h"

/* SF, ZF, PF of an 8-bit result. */
static uint32_t szp8(uint8_t v)
{
    uint32_t f = (v & 0x80) ? F_SF : 0;
    if (v == 0) {
        f |= F_ZF;
    }
    if (parity8(v)) {
        f |= F_PF;
    }
    return f;
}

/* DAA (add) and DAS (subtract): adjust AL after packed BCD arithmetic. */
static void decimal_adjust(struct cpu *cpu, bool sub)
{
    uint32_t fl = cpu_get_eflags(cpu);
    uint8_t al = (uint8_t)cpu->r[R_EAX], old_al = al;
    bool old_cf = fl & F_CF, cf = false, af = false;
    if ((al & 0x0F) > 9 || (fl & F_AF)) {
        /* the low-digit step may carry (DAA) or borrow (DAS) out of AL */
        cf = old_cf || (sub ? al < 6 : al > 0xF9);
        al = (uint8_t)(sub ? al - 6 : al + 6);
        af = true;
    }
    if (old_al > 0x99 || old_cf) {
        al = (uint8_t)(sub ? al - 0x60 : al + 0x60);
        cf = true;
    } else if (!sub) {
        cf = false;
    }
    set_reg8(cpu, 0, al);
    cc_set_eager(cpu, szp8(al) | (cf ? F_CF : 0) | (af ? F_AF : 0));
}

void op_daa(struct cpu *cpu, const struct insn *in)
{
    decimal_adjust(cpu, false);
}

void op_das(struct cpu *cpu, const struct insn *in)
{
    decimal_adjust(cpu, true);
}

/* AAA (add) and AAS (subtract): adjust AX after unpacked BCD arithmetic. */
static void ascii_adjust(struct cpu *cpu, bool sub)
{
    uint32_t fl = cpu_get_eflags(cpu);
    uint16_t ax = (uint16_t)cpu->r[R_EAX];
    uint32_t f = 0;
    if ((ax & 0x0F) > 9 || (fl & F_AF)) {
        ax = (uint16_t)(sub ? ax - 0x106 : ax + 0x106);
        f = F_AF | F_CF;
    }
    ax &= 0xFF0F;
    set_reg16(cpu, R_EAX, ax);
    f |= szp8((uint8_t)ax) & (F_ZF | F_PF);
    cc_set_eager(cpu, f);
}

void op_aaa(struct cpu *cpu, const struct insn *in)
{
    ascii_adjust(cpu, false);
}

void op_aas(struct cpu *cpu, const struct insn *in)
{
    ascii_adjust(cpu, true);
}

/* AAM base: AH = AL / base, AL = AL % base; base 0 raises #DE. */
void op_aam(struct cpu *cpu, const struct insn *in)
{
    uint8_t base = (uint8_t)in->imm;
    if (base == 0) {
        cpu_fault(cpu, EX_DE, EXC_NOERR);
    }
    uint8_t al = (uint8_t)cpu->r[R_EAX];
    uint8_t q = (uint8_t)(al / base), r = (uint8_t)(al % base);
    set_reg16(cpu, R_EAX, (uint16_t)(q << 8 | r));
    cc_set_eager(cpu, szp8(r));
}

/* AAD base: AL = AL + AH * base (8 bits), AH = 0. */
void op_aad(struct cpu *cpu, const struct insn *in)
{
    uint32_t ax = cpu->r[R_EAX];
    uint8_t al = (uint8_t)((ax & 0xFF) + ((ax >> 8) & 0xFF) * (in->imm & 0xFF));
    set_reg16(cpu, R_EAX, al);
    cc_set_eager(cpu, szp8(al));
}

/* SALC (undocumented D6): AL = CF ? FFh : 00h; flags unchanged. */
void op_salc(struct cpu *cpu, const struct insn *in)
{
    set_reg8(cpu, 0, cpu_cf(cpu) ? 0xFF : 0x00);
}
