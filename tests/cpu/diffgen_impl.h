/*
 * diffgen_impl.h - internals shared by the generator's files: diffgen.c
 * (randomness, emission, operands, flag tracking, sequences),
 * diffgen_ops.c (the integer groups) and diffgen_x87.c (the x87 groups).
 */
#ifndef KASOU_DIFFGEN_IMPL_H
#define KASOU_DIFFGEN_IMPL_H

#include <stdbool.h>
#include <string.h>

#include "diffgen.h"

/* EFLAGS bits (local names: this file does not include cpu/cpu.h) */
#define FL_CF 0x001u
#define FL_PF 0x004u
#define FL_AF 0x010u
#define FL_ZF 0x040u
#define FL_SF 0x080u
#define FL_DF 0x400u
#define FL_OF 0x800u
#define FL_ALL (FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF)

enum { EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI };
#define RB(r) (1u << (r))

/* instruction-start options */
#define P_LOCK 1u   /* lockable when the E operand is memory */
#define P_WRITE 2u  /* writes its memory operand (no CS override) */
#define P_NOSEG 4u  /* no segment override */

struct gen {
    struct diff_seq *s;
    uint64_t rng;
    uint32_t groups;    /* enabled groups */
    uint32_t undef;     /* arithmetic flags whose value is undefined now */
    bool df;            /* current EFLAGS.DF (always known) */
    int fdepth;         /* x87 stack depth */
    uint32_t fsw_undef; /* x87 condition codes undefined now */
    uint32_t ntrec;     /* transcendental records used */
};

struct mem {
    uint8_t modrm;      /* mod and rm; the reg field is added on emission */
    bool sib;
    uint8_t sibb;
    int dispsz;         /* 0, 1 or 4 */
    uint32_t disp;
    uint32_t off;       /* buffer offset addressed */
};

struct eop {
    bool mem;
    int reg;
    struct mem m;
};

uint64_t dg_next64(struct gen *g);
uint32_t dg_rnd(struct gen *g, uint32_t n);
bool dg_chance(struct gen *g, uint32_t n);
uint32_t dg_rval(struct gen *g);
void dg_emit(struct gen *g, uint32_t b);
void dg_emit16(struct gen *g, uint32_t v);
void dg_emit32(struct gen *g, uint32_t v);
void dg_emit_imm(struct gen *g, int size, uint32_t v);
void dg_begin(struct gen *g);
void dg_flags(struct gen *g, uint32_t wr, uint32_t und);
void dg_define_flags(struct gen *g);
void dg_need_flags(struct gen *g, uint32_t mask);
uint32_t dg_cc_reads(int cc);
int dg_wreg(struct gen *g);
int dg_sreg(struct gen *g, int size, bool write);
int dg_wreg_avoid(struct gen *g, uint32_t avoid);
void dg_set_reg(struct gen *g, int r, uint32_t v);
void dg_set_reg8(struct gen *g, int r, uint32_t v);
int dg_rsize(struct gen *g);
void dg_pick_mem(struct gen *g, struct mem *m, uint32_t lo, uint32_t hi,
                 uint32_t width, uint32_t avoid);
void dg_emit_mem(struct gen *g, const struct mem *m, int regfield);
void dg_pick_E(struct gen *g, struct eop *e, int size, bool write, uint32_t avoid);
void dg_emit_E(struct gen *g, const struct eop *e, int regfield);
void dg_start(struct gen *g, int size, const struct eop *e, unsigned opt);
void dg_item_alu(struct gen *g);
void dg_item_unary(struct gen *g);
void dg_item_shift(struct gen *g);
void dg_item_muldiv(struct gen *g);
void dg_item_bcd(struct gen *g);
void dg_item_string(struct gen *g);
void dg_item_bit(struct gen *g);
void dg_item_cond(struct gen *g);
void dg_item_misc(struct gen *g);
void dg_item_shd(struct gen *g);
void dg_item_stack(struct gen *g);
void dg_item_x87(struct gen *g, bool trans);
void dg_item(struct gen *g, int grp);

#endif
