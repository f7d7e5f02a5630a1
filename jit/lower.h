/*
 * lower.h - emitting one guest instruction: inline host code for the hot
 * forms (lower.c), or a call to the interpreter's handler.
 */
#ifndef KASOU_JIT_LOWER_H
#define KASOU_JIT_LOWER_H

#include <stddef.h>

#include "jit_int.h"
#include "x86_64.h"

/* A field of struct cpu, addressed from RBX. */
#define CPU_FIELD(f) xm(X_RBX, (int32_t)offsetof(struct cpu, f))

#define LOWER_MAX_STUBS 512

/*
 * Guest registers cached in host registers within a block: RC_SLOTS
 * host registers (R8-R11, RDI, RBP), each free or holding one 32-bit
 * guest register, clean (equal to struct cpu's copy) or dirty.  Every
 * exit and fault path writes the dirty ones back; calls that do not touch
 * guest registers save the occupied caller-saved ones on the host stack
 * (RBP survives calls by itself).
 */
#define RC_SLOTS 6
struct rc_state {
    int8_t greg[RC_SLOTS];  /* the guest register in each slot, or -1 */
    uint8_t dirty;          /* bit per slot */
};

/*
 * Accesses through the same segment, base, index and scale, with no write
 * to those registers between them, share one TLB lookup: the first checks
 * the page of the whole span of their displacements and keeps the host
 * addend in cpu->jit_page[slot] (0 when the span missed); the others use
 * it.  The translator plans it (lower_mem_kind, lower_regs_written) and
 * sets struct lower's `pg` before each instruction.
 */
#define LOWER_PAGE_SLOTS 4
struct lower_pg {
    int8_t slot;        /* -1: this instruction's access is on its own */
    bool first;         /* it looks the span up */
    int32_t lo, hi;     /* the span: [EA + lo, EA + hi) */
};
/* The TLB kind (TLB_READ, TLB_WRITE) of the ModRM memory access of an
 * instruction the lowering does in line through emit_access, or -1. */
int lower_mem_kind(const struct insn *in);
/* The guest registers (bit per register) an instruction may write. */
uint8_t lower_regs_written(const struct insn *in);

/* Out-of-line code emitted after the block body (lower_emit_stubs). */
struct lower_stub {
    uint8_t *site;      /* rel32 of the jump to the stub */
    uint8_t *resume;    /* where a slow path returns */
    uint32_t eip;       /* instruction (slow path) or next EIP (stop) */
    uint8_t kind;       /* STUB_* */
    uint8_t seg, size;
    uint16_t pending;
    uint32_t defer, defer_imm;  /* deferred flags to apply first (struct lower) */
    bool stop;          /* a store's: leave at stop_next if it hit translated code */
    bool retry;         /* a shared lookup missed: try the access's own first */
    int8_t pg_clear;    /* the first of a shared lookup: its slot to clear, or -1 */
    uint8_t dst;        /* a load's destination host register */
    uint32_t stop_next;
    struct rc_state rc; /* the register cache where the stub was made */
};

struct lower {
    struct cbuf c;
    struct jit *j;
    const struct jit_key *k;
    unsigned pending;   /* instructions retired since icount was last updated */
    /* the host flags hold the guest's flags of the last instruction, which
     * was an inline ADD/SUB/CMP/AND/OR/XOR/TEST of `flags_size` bits */
    bool host_flags;
    bool host_flags_nocf;   /* ...except CF (INC/DEC leave the host's stale) */
    bool live;          /* the current instruction's flags are read later */
    bool live_read;     /* ...by an instruction or an exit, not only a fault */
    /*
     * A shift's or rotate's flags not computed yet: cpu->jit_defer holds its source
     * and `defer` its kind, width and count (0: none); or a 32-bit logic
     * operation's or ADD/SUB immediate's: jit_defer holds the result.  Applied only if a
     * fault needs them (slow paths apply them first) or before anything
     * that reads the flags; INC/DEC take their CF straight from jit_defer.
     */
    uint32_t defer, defer_imm;
    bool defer_fresh;       /* the current instruction set `defer` */
    bool cur_overwrites;    /* the current instruction replaces them */
    /* cpu->cc_op is statically known here: set by an inline ADD/SUB/LOGIC */
    bool cc_known;
    uint8_t cc_op_known, cc_size_known;
    struct rc_state rc;
    uint32_t rc_used[RC_SLOTS];     /* when each slot was last used (LRU) */
    struct lower_pg pg;             /* the current instruction's shared lookup */
    uint8_t pg_valid;               /* slots a first access filled (or cleared) */
    uint32_t rc_clock;
    struct lower_stub stubs[LOWER_MAX_STUBS];
    unsigned nstubs;
};

/* The register cache and guest registers (regs.c). */
extern const int rc_host[RC_SLOTS];
/* Store the dirty slots of `rc` to struct cpu (the emitter's view is unchanged). */
void rc_spill(struct lower *lw, const struct rc_state *rc);
/* Drop slot i, writing it back first if dirty. */
void rc_evict(struct lower *lw, int i);
/* The slot holding guest register r (32 bits), made if needed; `load`: with its value. */
int rc_slot(struct lower *lw, int r, bool load);
/* The host register holding guest register r's 32 bits. */
int rc_reg(struct lower *lw, int r);
/* Push / pop the occupied slots of rc around a call that leaves guest
 * registers alone; `extra` registers were pushed before (RSP stays
 * 16-byte aligned at the call). */
void rc_save(struct lower *lw, const struct rc_state *rc, int extra);
void rc_restore(struct lower *lw, const struct rc_state *rc, int extra);
/* Guest register r (cached) was written in its host register. */
void rc_set_dirty(struct lower *lw, int r);
/* h = guest register r at `size` bits (AH..BH for r 4-7 at 8), zero-extended. */
void load_greg(struct lower *lw, int h, int r, int size);
/* Guest register r's low `size` bits (AH..BH: r 4-7 at 8) = h's; only moves. */
void store_greg(struct lower *lw, int r, int size, int h);
void store_greg_imm(struct lower *lw, int r, int size, uint32_t v);

/* A loop block's head: the cache loaded as `want` (all slots dirty). */
void lower_loop_head(struct lower *lw, const struct rc_state *want);
/* Its back edge: the cache into the head's (`hs`) arrangement, the budget
 * checked (imm8 count at *n_at), then to `head`; out of budget, EIP = eip
 * and back to the loop. */
void lower_back_edge(struct lower *lw, const struct rc_state *hs, const uint8_t *head,
                     uint32_t eip, uint8_t **n_at);
void lower_init(struct lower *lw, struct jit *j, const struct jit_key *k, uint8_t *start,
                uint8_t *end);
/* Write the dirty cached guest registers back (the block leaves here). */
void lower_sync(struct lower *lw);
/* The budget check: a jump (its rel32 returned) taken when icount plus the
 * block's count compares `cc` against jit_limit; *n_at is the imm8 count,
 * patched once the block is translated. */
uint8_t *lower_budget_check(struct lower *lw, int cc, uint8_t **n_at);
/* Add the retired-but-uncounted instructions to cpu->icount. */
void lower_flush_icount(struct lower *lw);
/* Call in->op->fn(cpu, in) as the interpreter would (EA, EIP, NEXT_EIP set). */
void lower_call_handler(struct lower *lw, const struct insn *in, uint32_t eip, uint32_t next);
/* After an instruction that may have stored into translated code: leave
 * the block (at `next`) if it did.  `retired`: 1 if the instruction is
 * not yet in the pending count (inline forms), 0 if it is (handlers). */
void lower_stop_check(struct lower *lw, uint32_t next, unsigned retired);
/*
 * Inline code for a plain instruction; false if it has no inline form.
 * `live`: something after it (a reader, a possible fault, the block's end)
 * may see the flags it sets; if not they are not computed.
 */
bool lower_insn(struct lower *lw, const struct insn *in, uint32_t eip, uint32_t next, bool live,
                bool live_read);
/* Shift and rotate flags deferred to a fault (see lower_shift) are computed now. */
void lower_materialize(struct lower *lw);
/*
 * What an instruction does to the arithmetic flags, for the liveness pass:
 * reads them, writes all six, may fault (a fault shows them as they are),
 * writes some (INC/DEC, rotates, shifts by CL: the rest pass through),
 * stores to memory (into translated code, it ends the block after it: its
 * flags are then seen by what runs next).
 */
enum { FX_READS = 1, FX_WRITES = 2, FX_FAULTS = 4, FX_PARTIAL = 8, FX_STORES = 16 };
int lower_flag_effect(const struct insn *in);
/* CALL rel inline (the push); false if it needs the handler. */
bool lower_call_push(struct lower *lw, const struct insn *in, uint32_t eip, uint32_t next);
/* RET / RET imm16 inline: EIP = the popped target; false if it needs the handler. */
bool lower_ret(struct lower *lw, const struct insn *in, uint32_t eip);
/* After lower_ret (icount flushed): jump to the cached return block, or
 * look the target up with slow_fn (jit_lookup_ret). */
void lower_ret_predict(struct lower *lw, const void *slow_fn);
/* EAX = condition cc of the guest flags (0 or 1); cond.c. */
void lower_cond_value(struct lower *lw, int cc);
/* A call of fn(cpu[, a1]) that reads and writes no guest register: the
 * occupied register-cache slots are saved around it. */
void lower_rc_call(struct lower *lw, const void *fn, bool set_a1, uint32_t a1);
/* Jcc: emit a jump taken when the condition holds; returns its rel32. */
uint8_t *lower_jcc(struct lower *lw, int cc);
/* Slow paths and stop exits, after the body. */
void lower_emit_stubs(struct lower *lw);

/* --- shared by lower.c and access.c --- */

enum { STUB_LOAD, STUB_STORE, STUB_RMW, STUB_STOP, STUB_DE };

static inline bool seg_flat(const struct lower *lw, int seg)
{
    return seg < 6 && (lw->k->flags & (JK_FLAT0 << seg));
}
/* cpu->icount = the count `extra` instructions on (for a call that may
 * read it or fault); RCX is clobbered. */
void st_icount(struct lower *lw, unsigned extra);
/* Apply deferred flags; EAX, EDX and the cache survive. */
void emit_defer_apply(struct lower *lw, const struct rc_state *rc, uint32_t code, uint32_t imm);
struct lower_stub *new_stub(struct lower *lw, int kind);
/* TLB lookup of [EAX, EAX + bytes) for kind; RSI = the addend on a hit. */
uint8_t *emit_tlb(struct lower *lw, int kind, int bytes);
/*
 * A memory access at seg:EAX (access.c): STUB_LOAD and STUB_RMW leave the
 * value in EDX (zero-extended; RMW goes through the write TLB), STUB_STORE
 * stores EDX's low `size` bits.  emit_flat_access: a flat segment's, the
 * value to or from `dst`.  emit_store_rmw: the store after an RMW read.
 * emit_store_last: a store that is the instruction's last effect (its
 * slow path leaves the block at `next` if it hit translated code).
 */
void emit_access(struct lower *lw, int kind, int seg, int size, uint32_t eip);
void emit_flat_access(struct lower *lw, int kind, int seg, int size, uint32_t eip, int dst);
void emit_store_rmw(struct lower *lw, int seg, int size, uint32_t eip);
void emit_load_as(struct lower *lw, int seg, int size, uint32_t eip, bool rmw);
void emit_load(struct lower *lw, int seg, int size, uint32_t eip);
void emit_store(struct lower *lw, int seg, int size, uint32_t eip);
void emit_store_last(struct lower *lw, int seg, int size, uint32_t eip, uint32_t next);

#endif
