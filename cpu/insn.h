/*
 * insn.h - a decoded instruction and the opcode table that describes it.
 *
 * cpu/decode.c turns guest bytes into struct insn using the rows of
 * cpu/opcodes.def.  The interpreter calls op->fn; the disassembler prints
 * op->mnem and op->operands; the JIT reads the same row's attributes.
 */
#ifndef KASOU_INSN_H
#define KASOU_INSN_H

#include <stddef.h>
#include <stdint.h>

#include "cpu.h"

/* opcodes.def attributes */
#define A_MODRM  0x0001u
#define A_LOCK   0x0002u
#define A_MEM    0x0004u
#define A_REG    0x0008u
#define A_BRANCH 0x0010u
#define A_STR    0x0020u
#define A_PREFIX 0x0040u

/* immediate kinds, derived from the operand letters */
enum { IMM_NONE, IMM_B, IMM_W, IMM_Z, IMM_AP, IMM_O };

typedef void op_fn(struct cpu *cpu, const struct insn *in);

struct opdesc {
    const char *mnem;
    const char *operands;
    op_fn *fn;
    uint16_t attr;
    uint8_t map, lo, hi;
    int8_t ext;
};

#define REG_NONE 8

struct insn {
    const struct opdesc *op;
    uint32_t imm;       /* first immediate (sign-extended for Is/Jb) */
    uint32_t imm2;      /* second immediate: ENTER's level, Ap's selector */
    int32_t disp;
    uint8_t len;        /* total length including prefixes */
    uint8_t opsize;     /* 16 or 32 */
    uint8_t adsize;     /* 16 or 32 */
    uint8_t seg;        /* segment of the memory operand (default or override) */
    uint8_t segovr;     /* override prefix segment, or S_NONE */
    uint8_t rep;        /* 0, 0xF2 or 0xF3 */
    uint8_t lock;
    uint8_t map;        /* 0 one-byte, 1 two-byte */
    uint8_t opcode;
    uint8_t modrm, mod, reg, rm;
    uint8_t base, index, scale; /* memory operand: REG_NONE when absent */
};

/* Decode the instruction at CS:EIP.  Faults (#PF, #GP) as a fetch would. */
void cpu_decode(struct cpu *cpu, struct insn *in);
/*
 * Decode from a byte buffer with the given default sizes (for tests and
 * the disassembler); returns the length, or 0 if undecodable or too short.
 */
int insn_decode_buf(struct insn *in, const uint8_t *buf, size_t n, int size32);
/* Effective offset of the memory operand (masked to the address size). */
static inline uint32_t insn_ea(const struct cpu *cpu, const struct insn *in)
{
    uint32_t ea = (uint32_t)in->disp;
    if (in->base != REG_NONE) {
        ea += cpu->r[in->base];
    }
    if (in->index != REG_NONE) {
        ea += cpu->r[in->index] << in->scale;
    }
    return in->adsize == 16 ? (ea & 0xFFFF) : ea;
}
/* Format "mnemonic operands" into buf; eip gives branch targets. */
void insn_disasm(const struct insn *in, uint32_t eip, char *buf, size_t n);
/* Operand size letters: 8 for b, opsize for v/z. */
static inline int insn_bsize(const struct insn *in)
{
    return (in->opcode & 1) ? in->opsize : 8;
}

#define OP(map, lo, hi, ext, mnem, operands, fn, attr) op_fn fn;

#include "opcodes.def"
#undef OP

#endif
