/*
 * x86_64.h - the x86-64 instruction encoder the translator emits through.
 *
 * Only the forms the translator needs: 32-bit and 64-bit moves and ALU
 * operations between registers, immediates and [base + index*scale + disp]
 * memory operands, shifts, zero/sign extension, SETcc, jumps and calls.
 * Registers are numbered as in the ModRM/REX encoding (RAX 0 .. R15 15).
 * An emitter writes into a struct cbuf; running past its end sets
 * `overflow` and stops writing, so a caller checks once at the end.
 */
#ifndef KASOU_JIT_X86_64_H
#define KASOU_JIT_X86_64_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

enum {
    X_RAX, X_RCX, X_RDX, X_RBX, X_RSP, X_RBP, X_RSI, X_RDI,
    X_R8, X_R9, X_R10, X_R11, X_R12, X_R13, X_R14, X_R15,
};
#define X_NOREG (-1)

/* ALU operation numbers: the /digit of 0x81 and (op << 3) of the r/m forms */
enum { XA_ADD, XA_OR, XA_ADC, XA_SBB, XA_AND, XA_SUB, XA_XOR, XA_CMP };
/* shift /digit of 0xC1/0xD3 */
enum { XS_ROL, XS_ROR, XS_RCL, XS_RCR, XS_SHL, XS_SHR, XS_SAL, XS_SAR };
/* condition codes, as in Jcc/SETcc */
enum {
    XC_O, XC_NO, XC_B, XC_AE, XC_E, XC_NE, XC_BE, XC_A,
    XC_S, XC_NS, XC_P, XC_NP, XC_L, XC_GE, XC_LE, XC_G,
};

struct cbuf {
    uint8_t *p;         /* next byte to write (in the writable view) */
    uint8_t *end;
    bool overflow;
};

static inline void x_byte(struct cbuf *c, uint8_t b)
{
    if (c->p < c->end) {
        *c->p++ = b;
    } else {
        c->overflow = true;
    }
}

static inline void x_u32(struct cbuf *c, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        x_byte(c, (uint8_t)(v >> (8 * i)));
    }
}

static inline void x_u64(struct cbuf *c, uint64_t v)
{
    x_u32(c, (uint32_t)v);
    x_u32(c, (uint32_t)(v >> 32));
}

/* A memory operand: [base + index * 2^scale + disp] (base may be X_NOREG). */
struct xmem {
    int base, index, scale;
    int32_t disp;
};

static inline struct xmem xm(int base, int32_t disp)
{
    return (struct xmem){ base, X_NOREG, 0, disp };
}

/* REX prefix: W (64-bit), R (reg), X (index), B (base/rm); `force` for byte regs. */
static inline void x_rex(struct cbuf *c, bool w, int reg, int index, int base, bool force)
{
    uint8_t rex = (uint8_t)(0x40 | (w ? 8 : 0) | (reg >= 8 ? 4 : 0) |
                            (index >= 8 ? 2 : 0) | (base >= 8 ? 1 : 0));
    if (rex != 0x40 || force) {
        x_byte(c, rex);
    }
}

static inline void x_modrm_mem(struct cbuf *c, int reg, struct xmem m)
{
    int r = reg & 7;
    if (m.base == X_NOREG) {
        /* [index*s + disp32] or [disp32] through a SIB with no base */
        x_byte(c, (uint8_t)(0x04 | r << 3));
        x_byte(c, (uint8_t)(m.scale << 6 | ((m.index == X_NOREG ? 4 : m.index) & 7) << 3 | 5));
        x_u32(c, (uint32_t)m.disp);
        return;
    }
    int mod = (m.disp == 0 && (m.base & 7) != 5) ? 0 : (m.disp >= -128 && m.disp <= 127) ? 1 : 2;
    if (m.index != X_NOREG || (m.base & 7) == 4) {
        x_byte(c, (uint8_t)(mod << 6 | r << 3 | 4));
        x_byte(c, (uint8_t)(m.scale << 6 | ((m.index == X_NOREG ? 4 : m.index) & 7) << 3 |
                            (m.base & 7)));
    } else {
        x_byte(c, (uint8_t)(mod << 6 | r << 3 | (m.base & 7)));
    }
    if (mod == 1) {
        x_byte(c, (uint8_t)m.disp);
    } else if (mod == 2) {
        x_u32(c, (uint32_t)m.disp);
    }
}

/*
 * One instruction with a memory operand: [REX] opcode bytes, ModRM/SIB/disp.
 * `byte_reg` forces a REX so registers 4-7 mean SPL..DIL, not AH..BH.
 */
static inline void x_op_mem(struct cbuf *c, bool w, const char *opc, int n, int reg,
                            struct xmem m, bool byte_reg)
{
    if (n > 0 && (uint8_t)opc[0] == 0x66) {
        x_byte(c, 0x66);
        opc++;
        n--;
    }
    x_rex(c, w, reg, m.index == X_NOREG ? 0 : m.index, m.base == X_NOREG ? 0 : m.base,
          byte_reg && reg >= 4 && reg < 8);
    for (int i = 0; i < n; i++) {
        x_byte(c, (uint8_t)opc[i]);
    }
    x_modrm_mem(c, reg, m);
}

/* The same with a register operand in ModRM.rm (mod 3). */
static inline void x_op_reg(struct cbuf *c, bool w, const char *opc, int n, int reg, int rm,
                            bool byte_regs)
{
    if (n > 0 && (uint8_t)opc[0] == 0x66) {
        x_byte(c, 0x66);
        opc++;
        n--;
    }
    x_rex(c, w, reg, 0, rm, byte_regs && ((reg >= 4 && reg < 8) || (rm >= 4 && rm < 8)));
    for (int i = 0; i < n; i++) {
        x_byte(c, (uint8_t)opc[i]);
    }
    x_byte(c, (uint8_t)(0xC0 | (reg & 7) << 3 | (rm & 7)));
}

/* --- moves --- */
static inline void x_ld32(struct cbuf *c, int r, struct xmem m) { x_op_mem(c, false, "\x8B", 1, r, m, false); }
static inline void x_ld64(struct cbuf *c, int r, struct xmem m) { x_op_mem(c, true, "\x8B", 1, r, m, false); }
static inline void x_st32(struct cbuf *c, struct xmem m, int r) { x_op_mem(c, false, "\x89", 1, r, m, false); }
static inline void x_st64(struct cbuf *c, struct xmem m, int r) { x_op_mem(c, true, "\x89", 1, r, m, false); }
static inline void x_st16(struct cbuf *c, struct xmem m, int r) { x_op_mem(c, false, "\x66\x89", 2, r, m, false); }
static inline void x_st8(struct cbuf *c, struct xmem m, int r) { x_op_mem(c, false, "\x88", 1, r, m, true); }
static inline void x_ldzx8(struct cbuf *c, int r, struct xmem m) { x_op_mem(c, false, "\x0F\xB6", 2, r, m, false); }
static inline void x_ldzx16(struct cbuf *c, int r, struct xmem m) { x_op_mem(c, false, "\x0F\xB7", 2, r, m, false); }
static inline void x_ldsx8(struct cbuf *c, int r, struct xmem m) { x_op_mem(c, false, "\x0F\xBE", 2, r, m, false); }
static inline void x_ldsx16(struct cbuf *c, int r, struct xmem m) { x_op_mem(c, false, "\x0F\xBF", 2, r, m, false); }
static inline void x_lea32(struct cbuf *c, int r, struct xmem m) { x_op_mem(c, false, "\x8D", 1, r, m, false); }
static inline void x_lea64(struct cbuf *c, int r, struct xmem m) { x_op_mem(c, true, "\x8D", 1, r, m, false); }

static inline void x_st32i(struct cbuf *c, struct xmem m, uint32_t imm)
{
    x_op_mem(c, false, "\xC7", 1, 0, m, false);
    x_u32(c, imm);
}

static inline void x_st16i(struct cbuf *c, struct xmem m, uint16_t imm)
{
    x_op_mem(c, false, "\x66\xC7", 2, 0, m, false);
    x_byte(c, (uint8_t)imm);
    x_byte(c, (uint8_t)(imm >> 8));
}

static inline void x_st8i(struct cbuf *c, struct xmem m, uint8_t imm)
{
    x_op_mem(c, false, "\xC6", 1, 0, m, false);
    x_byte(c, imm);
}

static inline void x_mov32(struct cbuf *c, int dst, int src)
{
    x_op_reg(c, false, "\x89", 1, src, dst, false);
}

static inline void x_mov64(struct cbuf *c, int dst, int src)
{
    x_op_reg(c, true, "\x89", 1, src, dst, false);
}

static inline void x_movi32(struct cbuf *c, int r, uint32_t imm)
{
    if (imm == 0) {
        x_op_reg(c, false, "\x31", 1, r, r, false);   /* xor r, r */
        return;
    }
    x_rex(c, false, 0, 0, r, false);
    x_byte(c, (uint8_t)(0xB8 + (r & 7)));
    x_u32(c, imm);
}

static inline void x_movi64(struct cbuf *c, int r, uint64_t imm)
{
    if (imm <= 0xFFFFFFFFu) {
        x_movi32(c, r, (uint32_t)imm);
        return;
    }
    x_rex(c, true, 0, 0, r, false);
    x_byte(c, (uint8_t)(0xB8 + (r & 7)));
    x_u64(c, imm);
}

static inline void x_movzx8(struct cbuf *c, int dst, int src) { x_op_reg(c, false, "\x0F\xB6", 2, dst, src, true); }
static inline void x_movzx16(struct cbuf *c, int dst, int src) { x_op_reg(c, false, "\x0F\xB7", 2, dst, src, false); }
static inline void x_movsx8(struct cbuf *c, int dst, int src) { x_op_reg(c, false, "\x0F\xBE", 2, dst, src, true); }
static inline void x_movsx16(struct cbuf *c, int dst, int src) { x_op_reg(c, false, "\x0F\xBF", 2, dst, src, false); }

/* --- ALU --- */
static inline void x_alu32(struct cbuf *c, int op, int dst, int src)
{
    char o = (char)(op << 3 | 1);
    x_op_reg(c, false, &o, 1, src, dst, false);
}

static inline void x_alu64(struct cbuf *c, int op, int dst, int src)
{
    char o = (char)(op << 3 | 1);
    x_op_reg(c, true, &o, 1, src, dst, false);
}

/* op dst, [mem] (32-bit) */
static inline void x_alu32_ld(struct cbuf *c, int op, int dst, struct xmem m)
{
    char o = (char)(op << 3 | 3);
    x_op_mem(c, false, &o, 1, dst, m, false);
}

/* op r64, [mem] */
static inline void x_alu64_ld(struct cbuf *c, int op, int dst, struct xmem m)
{
    char o = (char)(op << 3 | 3);
    x_op_mem(c, true, &o, 1, dst, m, false);
}

/* op dword [mem], r32 */
static inline void x_alu32_st(struct cbuf *c, int op, struct xmem m, int src)
{
    char o = (char)(op << 3 | 1);
    x_op_mem(c, false, &o, 1, src, m, false);
}

static inline void x_cmp32i_mem(struct cbuf *c, struct xmem m, uint32_t imm)
{
    x_op_mem(c, false, "\x81", 1, XA_CMP, m, false);
    x_u32(c, imm);
}

static inline void x_alu32i(struct cbuf *c, int op, int dst, uint32_t imm)
{
    if ((int32_t)imm >= -128 && (int32_t)imm <= 127) {
        x_op_reg(c, false, "\x83", 1, op, dst, false);
        x_byte(c, (uint8_t)imm);
    } else {
        x_op_reg(c, false, "\x81", 1, op, dst, false);
        x_u32(c, imm);
    }
}

static inline void x_alu64i(struct cbuf *c, int op, int dst, int32_t imm)
{
    if (imm >= -128 && imm <= 127) {
        x_op_reg(c, true, "\x83", 1, op, dst, false);
        x_byte(c, (uint8_t)imm);
    } else {
        x_op_reg(c, true, "\x81", 1, op, dst, false);
        x_u32(c, (uint32_t)imm);
    }
}

/* op qword [mem], imm (add to a 64-bit counter, compare a flag) */
static inline void x_alu64i_mem(struct cbuf *c, int op, struct xmem m, int32_t imm)
{
    if (imm >= -128 && imm <= 127) {
        x_op_mem(c, true, "\x83", 1, op, m, false);
        x_byte(c, (uint8_t)imm);
    } else {
        x_op_mem(c, true, "\x81", 1, op, m, false);
        x_u32(c, (uint32_t)imm);
    }
}

static inline void x_cmp8i_mem(struct cbuf *c, struct xmem m, uint8_t imm)
{
    x_op_mem(c, false, "\x80", 1, XA_CMP, m, false);
    x_byte(c, imm);
}

static inline void x_test32(struct cbuf *c, int a, int b) { x_op_reg(c, false, "\x85", 1, b, a, false); }
static inline void x_test8(struct cbuf *c, int a, int b) { x_op_reg(c, false, "\x84", 1, b, a, true); }

static inline void x_shifti32(struct cbuf *c, int op, int r, uint8_t n)
{
    x_op_reg(c, false, "\xC1", 1, op, r, false);
    x_byte(c, n);
}

static inline void x_shifti64(struct cbuf *c, int op, int r, uint8_t n)
{
    x_op_reg(c, true, "\xC1", 1, op, r, false);
    x_byte(c, n);
}

/* shift r by CL */
static inline void x_shiftcl32(struct cbuf *c, int op, int r)
{
    x_op_reg(c, false, "\xD3", 1, op, r, false);
}

static inline void x_setcc(struct cbuf *c, int cc, int r)
{
    char o[2] = { 0x0F, (char)(0x90 + cc) };
    x_op_reg(c, false, o, 2, 0, r, true);
}

/* --- control flow --- */
/* Emit a rel32 jump/call/jcc and return the address of its displacement. */
static inline uint8_t *x_jmp32(struct cbuf *c)
{
    x_byte(c, 0xE9);
    uint8_t *at = c->p;
    x_u32(c, 0);
    return at;
}

static inline uint8_t *x_jcc32(struct cbuf *c, int cc)
{
    x_byte(c, 0x0F);
    x_byte(c, (uint8_t)(0x80 + cc));
    uint8_t *at = c->p;
    x_u32(c, 0);
    return at;
}

/* Point a rel32 at `target` (both addresses in the same view). */
static inline void x_patch32(uint8_t *at, const uint8_t *target)
{
    int32_t rel = (int32_t)(target - (at + 4));
    memcpy(at, &rel, 4);
}

static inline void x_call_abs(struct cbuf *c, const void *fn)
{
    x_movi64(c, X_RAX, (uint64_t)(uintptr_t)fn);
    x_op_reg(c, false, "\xFF", 1, 2, X_RAX, false);   /* call rax */
}

static inline void x_jmp_reg(struct cbuf *c, int r)
{
    x_op_reg(c, false, "\xFF", 1, 4, r, false);
}

static inline void x_push(struct cbuf *c, int r)
{
    x_rex(c, false, 0, 0, r, false);
    x_byte(c, (uint8_t)(0x50 + (r & 7)));
}

static inline void x_pop(struct cbuf *c, int r)
{
    x_rex(c, false, 0, 0, r, false);
    x_byte(c, (uint8_t)(0x58 + (r & 7)));
}

static inline void x_ret(struct cbuf *c)
{
    x_byte(c, 0xC3);
}

#endif
