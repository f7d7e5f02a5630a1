/*
 * diffgen.h - the instruction-sequence generator shared by both halves of
 * the differential CPU test.
 *
 * tests/difftest (the kasou side, 64-bit host build) and tests/diff-native
 * (a 32-bit program that executes the same bytes on the host CPU) each
 * compile diffgen.c and call diff_gen(seed, index) to obtain identical
 * sequences: code bytes, the initial registers and flags, and the initial
 * contents of the data buffer.  Everything here is fixed-width so the
 * 32-bit and the 64-bit builds agree bit for bit, including the layout of
 * struct diff_result, which diff-native writes raw to its stdout.
 *
 * Both worlds place the code and the data buffer at the same linear
 * addresses, and EBP (never written by generated code) points into the
 * buffer, so every memory operand addresses the same bytes in both.
 */
#ifndef KASOU_DIFFGEN_H
#define KASOU_DIFFGEN_H

#include <stdint.h>

#define DIFF_CODE_ADDR 0x00100000u  /* code page, both worlds */
#define DIFF_DATA_ADDR 0x00200000u  /* data buffer, both worlds */
#define DIFF_DATA_SIZE 512u         /* bytes compared after each run */
#define DIFF_EBP (DIFF_DATA_ADDR + 0x100u) /* base register value */
#define DIFF_CODE_MAX 2048u
#define DIFF_MAX_INSNS 160u
#define DIFF_FPU_SIZE 108u          /* FNSAVE image, 32-bit format */

/*
 * Transcendental records.  FSIN, F2XM1 and the rest are not correctly
 * rounded, and two implementations may differ in the last bit.  So the
 * generator follows each one (group x87t) with FNSTSW and FSTP m80 of its
 * results into the next record, outside the data buffer, where nothing
 * else reads them; the harness compares records allowing a 1-ulp
 * difference in a result and any C1 (the round-up bit).  A record:
 * status word, first result (the old ST0), second result (FPTAN, FSINCOS).
 */
#define DIFF_TREC_ADDR (DIFF_DATA_ADDR + 0x400u)
#define DIFF_TREC_SIZE 22u
#define DIFF_TREC_MAX 12u           /* one a sequence item at most */

/* Instruction groups (bit masks for diff_gen's `groups`). */
enum {
    DG_ALU = 1u << 0,     /* ALU ops, TEST, MOV in every form */
    DG_UNARY = 1u << 1,   /* INC DEC NEG NOT */
    DG_SHIFT = 1u << 2,   /* ROL ROR RCL RCR SHL SHR SAL SAR */
    DG_MULDIV = 1u << 3,  /* MUL IMUL DIV IDIV */
    DG_BCD = 1u << 4,     /* DAA DAS AAA AAS AAM AAD */
    DG_STRING = 1u << 5,  /* MOVS CMPS STOS LODS SCAS, REP forms */
    DG_BIT = 1u << 6,     /* BT BTS BTR BTC BSF BSR */
    DG_COND = 1u << 7,    /* SETcc CMOVcc Jcc LOOPcc JECXZ */
    DG_MISC = 1u << 8,    /* BSWAP XADD CMPXCHG(8B) LEA MOVZX/SX XCHG ... */
    DG_SHD = 1u << 9,     /* SHLD SHRD */
    DG_STACK = 1u << 10,  /* PUSH POP PUSHF POPF PUSHA POPA, balanced */
    DG_X87 = 1u << 11,    /* x87 arithmetic, loads, stores, compares */
    DG_X87T = 1u << 12,   /* x87 transcendentals (F2XM1 FYL2X FSIN ...) */
    DG_COUNT = 13,
};
#define DG_DEFAULT ((1u << DG_COUNT) - 1)

/* Name of group bit `i` (0..DG_COUNT-1). */
const char *diff_group_name(int i);

/* Architectural state the generator chooses and the harnesses compare. */
struct diff_state {
    uint32_t r[8];      /* EAX..EDI; ESP is whatever the harness uses */
    uint32_t eflags;    /* arithmetic flags and DF (IF is set on top) */
};

struct diff_seq {
    uint32_t index;
    uint32_t groups;            /* groups actually used */
    uint32_t len;               /* code bytes; the harness appends RET */
    uint32_t ninsn;
    uint16_t insn_off[DIFF_MAX_INSNS + 1];
    /* EFLAGS arithmetic bits whose value is undefined before insn i
     * (index ninsn: at the end of the sequence) */
    uint32_t undef[DIFF_MAX_INSNS + 1];
    /* x87 status word bits (C0-C3) undefined at the end, and before
     * instruction i (for diff_truncate) */
    uint32_t fsw_undef;
    uint16_t fsw_undef_at[DIFF_MAX_INSNS + 1];
    /* transcendental records written, and the status-word bits (C0-C3)
     * undefined in each */
    uint32_t ntrec;
    uint16_t trec_undef[DIFF_TREC_MAX];
    /* nonzero where a top-level item starts: a safe place to cut */
    uint8_t item_start[DIFF_MAX_INSNS + 1];
    struct diff_state init;
    uint8_t code[DIFF_CODE_MAX];
    uint8_t data[DIFF_DATA_SIZE];
};

/* Generate sequence `index` of the stream `seed` from `groups`. */
void diff_gen(struct diff_seq *s, uint64_t seed, uint32_t index, uint32_t groups);

/*
 * Cut a sequence before instruction `n`, which must start a top-level item
 * (item_start[n]) so no branch or call crosses the cut.  For narrowing a
 * mismatch down to the item that causes it.
 */
void diff_truncate(struct diff_seq *s, uint32_t n);

/*
 * The outcome of running one sequence.  `vec` is -1 when the sequence ran
 * to its end, else the exception vector it stopped on (then eip is the
 * faulting instruction's address and the registers are those before it).
 */
struct diff_result {
    uint32_t index;
    int32_t vec;
    uint32_t eip;
    uint32_t r[8];
    uint32_t eflags;
    uint8_t data[DIFF_DATA_SIZE];
    uint8_t fpu[DIFF_FPU_SIZE];
    uint8_t trec[DIFF_TREC_MAX * DIFF_TREC_SIZE];
};

/* Mask of EFLAGS bits compared when a run stops at instruction `i`. */
static inline uint32_t diff_flag_mask(const struct diff_seq *s, uint32_t i)
{
    return (0x8D5u & ~s->undef[i]) | 0x400u;  /* arithmetic bits, DF */
}

#endif
