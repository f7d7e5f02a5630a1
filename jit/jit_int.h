/*
 * jit_int.h - the translator's internal types, shared by the files of jit/.
 *
 * A block is a run of guest instructions inside one guest page, keyed by
 * the physical address of its first byte, its EIP and CS base/limit and
 * the mode bits it was translated under (struct jit_key).  Its host code
 * lives in the code buffer (cache.c), which is mapped twice: a writable
 * view the emitter and the chain patcher write through, and an executable
 * view the CPU runs; the two are never the same mapping.
 *
 * Generated code runs with RBX = struct cpu * and R14 (H_ICOUNT) = the
 * instruction count: cpu->icount is stale while translated code runs, and
 * is written from R14 before any call that may read it or fault, and by
 * the epilogue.  Guest registers live in struct cpu between blocks (within
 * one, the register cache of lower.h holds some in host registers).  A
 * block is entered through the trampoline (jit_enter) and leaves through
 * its epilogue, returning NULL ("look up cpu->eip") or one of its chainable
 * exits (a direct branch whose rel32 the loop may point at the next block).
 */
#ifndef KASOU_JIT_INT_H
#define KASOU_JIT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpu/cpu.h"
#include "cpu/insn.h"

/* The state a block was translated under. */
struct jit_key {
    uint32_t phys;      /* physical address of the first byte */
    uint32_t eip;
    uint32_t cs_base, cs_limit;
    uint32_t flags;     /* JK_* */
};

#define JK_CODE32  0x01u    /* CS.D */
#define JK_STACK32 0x02u    /* SS.B */
#define JK_PE      0x04u
#define JK_VM      0x08u
#define JK_CPL_SHIFT 4      /* two bits */
#define JK_FLAT0   0x40u    /* << sreg: base 0, limit 4 GiB, present writable data */

struct jit_block;

/*
 * A chainable exit: a jmp rel32 that leads to `stub` until chained.  An
 * exit to another guest page chains to `guard` instead: a check that the
 * fetch TLB still maps the target's linear page to the physical page it
 * was chained under (the imm32 at guard_phys), then a jmp rel32 at
 * guard_jmp to the target; a failed check looks the target up.
 */
struct jit_exit {
    struct jit_block *blk;
    uint8_t *site;              /* the rel32 (writable view) */
    uint8_t *stub;              /* its unchained target (writable view) */
    uint8_t *guard;             /* cross-page exits: the check (writable view), else NULL */
    uint8_t *guard_phys, *guard_jmp;
    struct jit_block *to;       /* chained target, or NULL */
    struct jit_exit *next_in;   /* next exit chained to the same target */
};

struct jit_block {
    struct jit_key key;
    uint32_t lo_phys;           /* its lowest byte (a block may branch back before its start) */
    uint32_t end_phys;          /* one past the last byte */
    uint32_t ninsn;
    uint8_t *code;              /* entry (writable view) */
    uint8_t *fail;              /* stores EIP and leaves (writable view) */
    bool valid;
    struct jit_block *hnext;    /* hash chain */
    struct jit_block *pnext;    /* blocks of the same physical page */
    struct jit_exit *in;        /* exits chained to this block */
    struct jit_exit *exits;     /* its own (struct jit's pool), nexits of them */
    unsigned nexits;
};

#define JIT_HASH_BITS 16
#define JIT_FAST_SIZE 65536u

/* A fast-table entry holds the key, so a hit reads one cache line. */
struct jit_fast {
    struct jit_key key;
    uint32_t pad;
    const uint8_t *code;        /* executable view */
    struct jit_block *blk;
};
/* < 128: the entry check adds the count as a sign-extended imm8 */
#define JIT_MAX_BLOCK_INSNS 100
#define JIT_PAGES (1u << 20)    /* 4 KiB pages of the 32-bit physical space */

#define H_ICOUNT 14     /* X_R14 (x86_64.h): callee-saved, so helpers keep it */

typedef const struct jit_exit *jit_enter_fn(struct cpu *cpu, const uint8_t *code);

struct jit {
    struct cpu *cpu;
    /* code buffer: rw and rx views of the same memory */
    uint8_t *rw, *rx;
    size_t size, used;
    jit_enter_fn *enter;        /* trampoline (executable view) */
    uint8_t *epilogue;          /* writable view */
    uint8_t *exit_null;         /* xor eax, eax; jmp epilogue (writable view) */
    /* blocks and the decoded instructions their helper calls point at */
    struct jit_block *blocks;
    unsigned nblocks, max_blocks;
    struct insn *insns;
    unsigned ninsns, max_insns;
    struct jit_exit *xpool;          /* the blocks' exits, allocated in order */
    unsigned nxpool, max_xpool;
    struct jit_block *hash[1u << JIT_HASH_BITS];
    struct jit_fast fast[JIT_FAST_SIZE];     /* direct-mapped front of hash */
    struct jit_block **page_blocks;  /* [JIT_PAGES] */
    uint8_t *code_pages;             /* [JIT_PAGES]: nonzero if blocks came from it
                                      * (1 + its stores that missed them) */
    uint32_t pages_lo, pages_hi;     /* no code page outside [lo, hi] since the flush */
    unsigned max_block_insns;
    uint64_t tail_limit;             /* the run whose end the interpreter finishes */
    struct jit_check *check;         /* lockstep mode (check.c), or NULL */
    /* statistics */
    uint64_t n_translated, n_flushes, n_invalidated, n_chained;
    uint64_t n_lookups, n_fast_misses, n_entries;
};

/* cache.c */
int jit_cache_init(struct jit *j, size_t code_size);
void jit_cache_free(struct jit *j);
void jit_cache_flush(struct jit *j);
static inline unsigned jit_fast_index(uint32_t phys, uint32_t eip)
{
    return (phys ^ (phys >> 10) ^ (eip << 3)) & (JIT_FAST_SIZE - 1);
}
static inline uint8_t *jit_rx(const struct jit *j, const uint8_t *rw)
{
    return j->rx + (rw - j->rw);
}
struct jit_block *jit_block_find(struct jit *j, const struct jit_key *k);
/* Allocate a block and n insn slots; NULL when the cache must be flushed. */
struct jit_block *jit_block_alloc(struct jit *j);
struct insn *jit_insn_alloc(struct jit *j);
/* An exit of the block being translated; NULL when the pool is full. */
struct jit_exit *jit_exit_alloc(struct jit *j);
void jit_block_publish(struct jit *j, struct jit_block *b);
void jit_chain(struct jit *j, struct jit_exit *x, struct jit_block *to);
/* Guest or DMA write to [phys, phys + len), or a remap of it: drop the
 * blocks it touches. */
void jit_invalidate(struct jit *j, uint32_t phys, uint64_t len);

/* translate.c: NULL if the first instruction cannot be translated or the
 * cache is full (j->used / nblocks tell which). */
struct jit_block *jit_translate(struct jit *j, const struct jit_key *k, const uint8_t *host);

/* jit.c: the lookup generated code calls after an indirect branch. */
/* (the block's mode: nothing that changes it runs inside translated code) */
const uint8_t *jit_lookup_indirect(struct cpu *cpu, uint32_t cs_base, uint32_t flags,
                                   uint32_t cs_limit);

/* After RET: as jit_lookup_indirect, and fills in the return-address
 * cache's CALL site (when not NULL) with the code found. */
const uint8_t *jit_lookup_ret(struct cpu *cpu, uint32_t cs_base, uint32_t flags,
                              uint32_t cs_limit, uint8_t *site);

/* A block's last instruction, which the page's end cuts: run it in the
 * interpreter (EIP and icount are in struct cpu), then the block for the
 * new EIP if the mode is the block's and nothing waits, else NULL. */
const uint8_t *jit_step(struct cpu *cpu, uint32_t cs_base, uint32_t flags, uint32_t cs_limit);

/* A cross-page exit not (or no longer) chained: chain it if its target is
 * translated; the target's code, or NULL to leave by the null exit. */
const uint8_t *jit_chain_exit(struct cpu *cpu, struct jit_exit *x);

/* check.c: lockstep mode */
int jit_check_init(struct jit *j);
void jit_check_free(struct jit *j);
/* Run block b (its first byte at host) both ways and compare. */
bool jit_check_exec(struct jit *j, struct jit_block *b, const uint8_t *host, uint64_t limit);

#endif
