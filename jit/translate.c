/*
 * translate.c - guest instructions to x86-64 host code.
 *
 * A block is translated from the bytes of one guest page with the decoder
 * the interpreter uses (insn_decode_buf), so both engines see the same
 * struct insn.  Each instruction becomes either inline host code (the hot
 * forms, jit/lower.c) or a call to the interpreter's own handler with the
 * decoded instruction as a constant: the interpreter's semantics, without
 * its fetch, decode-cache lookup and dispatch.
 *
 * Before anything that can fault, EIP and NEXT_EIP of the instruction are
 * in struct cpu and icount counts exactly the instructions before it, so a
 * fault longjmps out of the block leaving the state the interpreter would.
 *
 * How an instruction ends a block:
 *   plain     handlers that change no mode, privilege, IF or I/O state run
 *             in line with the block; a store that invalidated translated
 *             code sets cpu->jit_stop, checked after each of them;
 *   end       everything else (far transfers, INT, IRET, STI, port I/O,
 *             control registers, segment loads, HLT): the block ends after
 *             it and the loop looks up the next one (CLI and POPF stay in
 *             the block; after POPF it stops if TF is set or IF lets a
 *             waiting interrupt in);
 *   direct    JMP/CALL rel: a chainable exit to the target;
 *   cond      Jcc, LOOP, JCXZ and string instructions (whose REP form
 *             re-runs itself): two chainable exits, chosen by NEXT_EIP
 *             (a Jcc in 32-bit code mostly does not end the block: it
 *             goes on one way and leaves by a side exit the other, see
 *             decode_block);
 *   indirect  RET, JMP/CALL r/m: a hash lookup of the target from
 *             generated code (jit_lookup_indirect), the loop on a miss.
 */
#include <stddef.h>
#include <string.h>

#include "cpu/ops.h"
#include "jit_int.h"
#include "lower.h"
#include "x86_64.h"

#define MAX_BLOCK_CODE 32768    /* host bytes a translation may need */

enum { K_PLAIN, K_END, K_DIRECT, K_COND, K_INDIRECT };

static op_fn *const plain_ops[] = {
    op_alu_AL_Ib, op_alu_Eb_Gb, op_alu_Eb_Ib, op_alu_Ev_Gv, op_alu_Ev_Iz, op_alu_Gb_Eb,
    op_alu_Gv_Ev, op_alu_eAX_Iz, op_aaa, op_aad, op_aam, op_aas, op_daa, op_das,
    op_bsf, op_bsr, op_bswap, op_bt_Ev_Gv, op_bt_Ev_Ib, op_cbw, op_cwd, op_clc, op_stc,
    op_cmc, op_cld, op_std, op_cmov, op_cmpxchg8b, op_cmpxchg_Eb_Gb, op_cmpxchg_Ev_Gv,
    op_dec_Eb, op_dec_Ev, op_dec_Zv, op_inc_Eb, op_inc_Ev, op_inc_Zv, op_div_Eb,
    op_div_Ev, op_idiv_Eb, op_idiv_Ev, op_imul_Eb, op_imul_Ev, op_imul_Gv_Ev,
    op_imul_Gv_Ev_Iz, op_mul_Eb, op_mul_Ev, op_neg_Eb, op_neg_Ev, op_not_Eb, op_not_Ev,
    op_lea_Gv_M, op_mov_AL_Ob, op_mov_Ob_AL, op_mov_Ov_eAX, op_mov_eAX_Ov, op_mov_Eb_Gb,
    op_mov_Eb_Ib, op_mov_Ev_Gv, op_mov_Ev_Iz, op_mov_Gb_Eb, op_mov_Gv_Ev, op_mov_Zb_Ib,
    op_mov_Zv_Iv, op_mov_Ev_Sw, op_movsx_Gv_Eb, op_movsx_Gv_Ew, op_movzx_Gv_Eb,
    op_movzx_Gv_Ew, op_nop, op_nop_Ev, op_pop_Zv, op_pop_Ev, op_push_Ev, op_push_Iz,
    op_push_Zv, op_push_sreg, op_pusha, op_popa, op_pushf, op_setcc, op_shift_Eb,
    op_shift_Ev, op_shld, op_shrd, op_test_AL_Ib, op_test_Eb_Gb, op_test_Eb_Ib,
    op_test_Ev_Gv, op_test_Ev_Iz, op_test_eAX_Iz, op_xadd_Eb_Gb, op_xadd_Ev_Gv,
    op_xchg_Eb_Gb, op_xchg_Ev_Gv, op_xchg_Zv_eAX, op_xlat, op_lahf, op_sahf, op_salc,
    op_enter, op_leave, op_fpu, op_fwait, op_cpuid, op_rdtsc, op_bound_Gv_Ma, op_arpl_Ew_Gw,
    op_cli,     /* IF = 0: no interrupt can become deliverable */
    op_popf,    /* the block stops after it if the loop has work (jit_after_popf) */
};

/*
 * After POPF inside a block: leave the block (through the store check's
 * stop) when what POPF set gives the loop something to do at once: TF
 * (single-step), or IF with an interrupt or NMI waiting.
 */
static void jit_after_popf(struct cpu *cpu)
{
    if ((cpu->eflags & F_TF) || cpu->nmi_pending || ((cpu->eflags & F_IF) && cpu->intr_line)) {
        cpu->jit_stop = 1;
    }
}

/*
 * Is fn one of plain_ops?  (An open-addressed set of them, made on first
 * use: translation asks for every instruction it decodes.)
 */
#define PLAIN_SET_SIZE 512u
static bool is_plain(op_fn *fn)
{
    static op_fn *set[PLAIN_SET_SIZE];
    static bool made;
    _Static_assert(sizeof(plain_ops) / sizeof(plain_ops[0]) < PLAIN_SET_SIZE / 2, "set too full");
    if (!made) {
        for (size_t i = 0; i < sizeof(plain_ops) / sizeof(plain_ops[0]); i++) {
            unsigned h = (unsigned)((uintptr_t)plain_ops[i] >> 4) % PLAIN_SET_SIZE;
            while (set[h] && set[h] != plain_ops[i]) {
                h = (h + 1) % PLAIN_SET_SIZE;
            }
            set[h] = plain_ops[i];
        }
        made = true;
    }
    for (unsigned h = (unsigned)((uintptr_t)fn >> 4) % PLAIN_SET_SIZE; set[h];
         h = (h + 1) % PLAIN_SET_SIZE) {
        if (set[h] == fn) {
            return true;
        }
    }
    return false;
}

static int classify(const struct insn *in)
{
    op_fn *fn = in->op->fn;
    if (fn == op_jmp_J || fn == op_call_Jz) {
        return K_DIRECT;
    }
    if (fn == op_jcc || fn == op_loop || fn == op_jcxz || (in->op->attr & A_STR)) {
        return (in->op->fn == op_ins || in->op->fn == op_outs) ? K_END : K_COND;
    }
    if (fn == op_jmp_Ev || fn == op_call_Ev || fn == op_ret || fn == op_ret_Iw) {
        return K_INDIRECT;
    }
    return is_plain(fn) ? K_PLAIN : K_END;
}

/* One decoded instruction of the block being translated. */
struct tinsn {
    struct insn in;
    uint32_t eip, next;
    bool live;          /* its flags may be seen later */
    bool live_read;     /* ...by a reader or an exit, not only a fault */
    bool followed;      /* a JMP the block continues through */
    bool step;          /* one that runs on into the next page: the interpreter
                         * runs it from the block (jit_step), `in` is unset */
    bool side;          /* a Jcc the block continues through: `next` is where
                         * (its predicted way), side_to its other way out */
    bool side_taken;    /* ...which is the taken one */
    uint32_t side_to;
    struct lower_pg pg; /* its memory access's share of a TLB lookup */
};

/* A side exit's jump, emitted in line, and what its exit code needs. */
struct side_exit {
    uint8_t *site;          /* rel32 of the Jcc to it */
    uint32_t target;
    unsigned pending;
    struct rc_state rc;
};
#define MAX_SIDE_EXITS 16

struct tctx {
    struct jit *j;
    struct lower lw;        /* emitter state shared with lower.c */
    struct jit_block *b;
    uint8_t *entry_fail;    /* the entry check's jump to the block's fail stub */
    /* a loop block (a direct branch back to its start): */
    bool loop;
    bool first_pass;        /* translating only to learn the cache at the back edge */
    bool have_back;
    struct rc_state back_rc;    /* the cache at the first back edge (first pass) */
    const uint8_t *head;        /* after the head's loads (second pass) */
    uint8_t *n_at[8];           /* counts to patch: the entry's, the back edges' */
    unsigned n_n_at;
    struct side_exit side[MAX_SIDE_EXITS];
    unsigned nside;
};

static void emit_indirect_exit(struct tctx *t);

/* RAX = the code of the block to go on at, or NULL: leave to the loop. */
static void jump_to_found(struct tctx *t)
{
    struct cbuf *c = &t->lw.c;
    x_test32(c, X_RAX, X_RAX);
    x_patch32(x_jcc32(c, XC_E), t->j->exit_null);
    x_jmp_reg(c, X_RAX);
}

/*
 * A chainable exit to `target`: the jump goes to its own stub until
 * chained; to another page, through a guard (struct jit_exit).  A chained
 * jump does not store EIP: the target block knows its own (its entry
 * check's fail stub stores it); the stubs and the lookup path do.
 */
static void exit_chain(struct tctx *t, uint32_t target)
{
    struct cbuf *c = &t->lw.c;
    const struct jit_key *k = t->lw.k;
    if (t->loop && target == k->eip) {
        if (t->first_pass && !t->have_back) {
            /* the head's arrangement; all of it dirty, as the head loads
             * it (another back edge may come from a path that changed a
             * register this one did not) */
            t->back_rc = t->lw.rc;
            t->back_rc.dirty = 0;
            for (int i = 0; i < RC_SLOTS; i++) {
                t->back_rc.dirty |= (uint8_t)((t->back_rc.greg[i] >= 0) << i);
            }
            t->have_back = true;
        }
        if (t->head && t->n_n_at < sizeof(t->n_at) / sizeof(t->n_at[0])) {
            lower_back_edge(&t->lw, &t->back_rc, t->head, k->eip, &t->n_at[t->n_n_at++]);
            return;
        }
    }
    lower_flush_icount(&t->lw);
    lower_sync(&t->lw);
    struct jit_exit *x = jit_exit_alloc(t->j);
    if (!x) {
        c->overflow = true;
        return;
    }
    t->b->nexits++;
    x->blk = t->b;
    x->site = x_jmp32(c);
    uint32_t lin = k->cs_base + target;
    uint8_t *miss[3] = { NULL, NULL, NULL };
    if ((lin ^ (k->cs_base + k->eip)) & ~0xFFFu) {
        /* the guard: lin's fetch TLB entry still maps the chained page */
        int user = ((k->flags >> JK_CPL_SHIFT) & 3) == 3;
        int32_t e = (int32_t)(offsetof(struct cpu, tlb) +
                              TLB_SLOT(user, TLB_EXEC, lin) * sizeof(struct tlb_entry));
        x->guard = c->p;
        x_ld32(c, X_RAX, xm(X_RBX, e + (int32_t)offsetof(struct tlb_entry, tag)));
        x_alu32i(c, XA_CMP, X_RAX, lin & ~0xFFFu);
        miss[0] = x_jcc32(c, XC_NE);
        x_ld32(c, X_RAX, xm(X_RBX, e + (int32_t)offsetof(struct tlb_entry, phys)));
        x_alu32i(c, XA_AND, X_RAX, 0xFFFFF000u);
        x_byte(c, 0x3D);                /* cmp eax, imm32: patched by jit_chain */
        x->guard_phys = c->p;
        x_u32(c, 0xFFFFFFFFu);
        miss[1] = x_jcc32(c, XC_NE);
        x->guard_jmp = miss[2] = x_jmp32(c);
    }
    x->stub = c->p;
    x_st32i(c, CPU_FIELD(eip), target);
    if (x->guard) {
        /* unchained: chain now if the target exists, and go on there */
        x_mov64(c, X_RDI, X_RBX);
        x_movi64(c, X_RSI, (uint64_t)(uintptr_t)x);
        x_call_abs(c, (const void *)jit_chain_exit);
        jump_to_found(t);
        for (int i = 0; i < 3; i++) {
            x_patch32(miss[i], c->p);
        }
        x_st32i(c, CPU_FIELD(eip), target);
        emit_indirect_exit(t);      /* the mapping changed: look the target up */
    } else {
        x_movi64(c, X_RAX, (uint64_t)(uintptr_t)x);
        x_patch32(x_jmp32(c), t->j->epilogue);
    }
    if (!c->overflow) {
        x_patch32(x->site, x->stub);
    }
}

static void exit_null(struct tctx *t)
{
    lower_flush_icount(&t->lw);
    lower_sync(&t->lw);
    x_patch32(x_jmp32(&t->lw.c), t->j->exit_null);
}

/* EIP = NEXT_EIP (set by the handler that just ran). */
static void eip_from_next(struct tctx *t)
{
    x_ld32(&t->lw.c, X_RAX, CPU_FIELD(next_eip));
    x_st32(&t->lw.c, CPU_FIELD(eip), X_RAX);
}

/* EIP is set: continue at the block for it, found by a hash lookup. */
static void emit_indirect_exit(struct tctx *t)
{
    struct cbuf *c = &t->lw.c;
    lower_flush_icount(&t->lw);
    lower_sync(&t->lw);
    const struct jit_key *k = t->lw.k;
    x_mov64(c, X_RDI, X_RBX);
    x_movi32(c, X_RSI, k->cs_base);
    x_movi32(c, X_RDX, k->flags);
    x_movi32(c, X_RCX, k->cs_limit);
    x_call_abs(c, (const void *)jit_lookup_indirect);
    jump_to_found(t);
}

/* Target of a relative branch, as jump_near computes it. */
static uint32_t rel_target(const struct insn *in, uint32_t next)
{
    uint32_t target = next + in->imm;
    return in->opsize == 16 ? (target & 0xFFFF) : target;
}

/* Would jump_near fault on this target?  (CS's limit is in the key.) */
static bool target_faults(const struct tctx *t, uint32_t target)
{
    const struct jit_key *k = t->lw.k;
    return target > k->cs_limit && ((k->flags & JK_PE) || target > 0xFFFF);
}

/* Both ways out of a two-way branch; `taken_site` jumps to the taken one. */
static void exit_two_way(struct tctx *t, uint8_t *taken_site, uint32_t taken, uint32_t next)
{
    unsigned pending = t->lw.pending;
    exit_chain(t, next);
    x_patch32(taken_site, t->lw.c.p);
    t->lw.pending = pending;
    exit_chain(t, taken);
}

/* Jcc rel: inline condition (fused with the flags of the instruction before). */
static bool emit_jcc(struct tctx *t, const struct insn *in, uint32_t next)
{
    uint32_t taken = rel_target(in, next);
    if (target_faults(t, taken)) {
        return false;
    }
    t->lw.pending++;
    uint8_t *site = lower_jcc(&t->lw, in->opcode & 15);
    exit_two_way(t, site, taken, next);
    return true;
}

/*
 * A Jcc the block goes on through: a jump to its side exit (emitted after
 * the body, with the cache and count as here) when the way not predicted
 * is taken.
 */
static void emit_side_jcc(struct tctx *t, const struct tinsn *ti)
{
    int cc = ti->in.opcode & 15;
    t->lw.pending++;
    uint8_t *site = lower_jcc(&t->lw, ti->side_taken ? cc : cc ^ 1);
    struct side_exit *x = &t->side[t->nside++];
    x->site = site;
    x->target = ti->side_to;
    x->pending = t->lw.pending;
    x->rc = t->lw.rc;
}

/*
 * An instruction the page's end cuts (the block ends with it): the
 * interpreter runs it (jit_step), then the block goes on at the block
 * for the new EIP, or leaves if there is none or the mode changed.
 */
static void emit_step(struct tctx *t, uint32_t eip)
{
    struct cbuf *c = &t->lw.c;
    const struct jit_key *k = t->lw.k;
    lower_materialize(&t->lw);
    lower_sync(&t->lw);
    lower_flush_icount(&t->lw);
    x_st32i(c, CPU_FIELD(eip), eip);
    x_st64(c, CPU_FIELD(icount), H_ICOUNT);
    x_mov64(c, X_RDI, X_RBX);
    x_movi32(c, X_RSI, k->cs_base);
    x_movi32(c, X_RDX, k->flags);
    x_movi32(c, X_RCX, k->cs_limit);
    x_call_abs(c, (const void *)jit_step);
    x_ld64(c, H_ICOUNT, CPU_FIELD(icount));     /* (it counted the instruction) */
    jump_to_found(t);
}

static bool emit_insn(struct tctx *t, const struct tinsn *ti, bool live)
{
    if (ti->step) {
        emit_step(t, ti->eip);
        return false;
    }
    const struct insn *in = &ti->in;
    uint32_t eip = ti->eip, next = ti->next;
    int kind = classify(in);
    op_fn *fn = in->op->fn;
    if (ti->followed) {
        t->lw.pending++;    /* the next instruction is its target */
        return true;
    }
    if (ti->side) {
        lower_materialize(&t->lw);      /* the side exit reads the flags */
        emit_side_jcc(t, ti);
        return true;
    }
    if (kind == K_PLAIN && lower_insn(&t->lw, in, eip, next, live, ti->live_read)) {
        return true;
    }
    lower_materialize(&t->lw);   /* (never pending here: exits read flags) */
    if (fn == op_jcc && emit_jcc(t, in, next)) {
        return false;
    }
    if (fn == op_jmp_J && !target_faults(t, rel_target(in, next))) {
        t->lw.pending++;
        exit_chain(t, rel_target(in, next));
        return false;
    }
    if (fn == op_call_Jz && lower_call_push(&t->lw, in, eip, next)) {
        t->lw.pending++;
        exit_chain(t, rel_target(in, next));
        return false;
    }
    if ((fn == op_ret || fn == op_ret_Iw) && lower_ret(&t->lw, in, eip)) {
        t->lw.pending++;
        lower_flush_icount(&t->lw);
        lower_ret_predict(&t->lw, (const void *)jit_lookup_ret);
        return false;
    }
    struct insn *copy = jit_insn_alloc(t->j);
    if (!copy) {
        t->lw.c.overflow = true;
        return false;
    }
    *copy = *in;
    lower_call_handler(&t->lw, copy, eip, next);
    struct cbuf *c = &t->lw.c;
    switch (kind) {
    case K_PLAIN:
        if (fn == op_popf) {
            x_mov64(c, X_RDI, X_RBX);
            x_call_abs(c, (const void *)jit_after_popf);
        }
        lower_stop_check(&t->lw, next, 0);
        return true;
    case K_DIRECT:
        exit_chain(t, rel_target(in, next));
        return false;
    case K_COND: {
        uint32_t taken = (in->op->attr & A_STR) ? eip : rel_target(in, next);
        lower_flush_icount(&t->lw);   /* both exits count this instruction */
        x_cmp32i_mem(c, CPU_FIELD(next_eip), taken);
        exit_two_way(t, x_jcc32(c, XC_E), taken, next);
        return false;
    }
    case K_INDIRECT:
        eip_from_next(t);
        emit_indirect_exit(t);
        return false;
    default:
        eip_from_next(t);
        exit_null(t);
        return false;
    }
}

/*
 * The budget check every entry starts with (5+ bytes: kill_block patches
 * it): the block runs only if all its instructions fit before jit_limit,
 * so a run never retires more than it was given.  The instruction count
 * is patched in once the block is translated; the failing jump goes to the
 * block's fail stub (emit_fail), which stores EIP, since a chained jump
 * into the block did not.
 */
static uint8_t *emit_entry(struct tctx *t)
{
    uint8_t *n_at;
    t->entry_fail = lower_budget_check(&t->lw, XC_A, &n_at);
    return n_at;
}

/* The fail stub: EIP = the block's, then back to the loop. */
static void emit_fail(struct tctx *t)
{
    struct cbuf *c = &t->lw.c;
    t->b->fail = c->p;
    x_patch32(t->entry_fail, c->p);
    x_st32i(c, CPU_FIELD(eip), t->lw.k->eip);
    x_patch32(x_jmp32(c), t->j->exit_null);
}

/* The page offset of eip if it is on the block's page and not decoded yet, else -1. */
static int fresh_pos(const uint64_t *seen, const struct jit_key *k, uint32_t eip)
{
    int64_t pos = (int64_t)(k->phys & 0xFFF) + (int64_t)eip - (int64_t)k->eip;
    if (pos < 0 || pos >= 4096 || (seen[pos / 64] >> (pos % 64) & 1)) {
        return -1;
    }
    return (int)pos;
}

/*
 * May the block go on at branch target eip?  Not where it has been (a
 * loop), nor where a block starts already: the branch chains to that one
 * (a block entered in the middle of a loop, after an interrupt, does not
 * become a second copy of the loop).
 */
static bool may_follow(struct jit *j, const uint64_t *seen, const struct jit_key *k, uint32_t eip)
{
    int pos = fresh_pos(seen, k, eip);
    if (pos < 0) {
        return false;
    }
    struct jit_key at = *k;
    at.phys = (k->phys & ~0xFFFu) + (uint32_t)pos;
    at.eip = eip;
    return !jit_block_find(j, &at);
}

/*
 * Decode the block's instructions (up to the first that ends it); 0 if
 * none.  In 32-bit code decoding goes on within the page through a forward
 * JMP rel (at its target) and through a Jcc (the way static prediction
 * picks: a backward branch taken, a forward one not; the other way becomes
 * a side exit), but not into an instruction it decoded already: the block
 * ends there (at its start: a loop).  *lo and *hi: the page offsets of the
 * bytes it spans.
 */
static unsigned decode_block(struct jit *j, const struct jit_key *k, const uint8_t *host,
                             struct tinsn *ti, unsigned *lo, unsigned *hi)
{
    bool code32 = k->flags & JK_CODE32;
    int size32 = code32 && !(k->flags & JK_VM);
    uint32_t lim = code32 || k->cs_limit < 0xFFFF ? k->cs_limit : 0xFFFF;
    unsigned start = k->phys & 0xFFF, n = 0, nside = 0;
    int pos = (int)start;
    const uint8_t *page = host - start;
    uint64_t seen[4096 / 64] = { 0 };   /* page offsets of the instructions decoded */
    uint32_t eip = k->eip;
    *lo = *hi = start;
    while (n < j->max_block_insns) {
        struct tinsn *t = &ti[n];
        int len = insn_decode_buf(&t->in, page + pos, 4096 - pos, size32);
        uint32_t last = eip + (uint32_t)len - 1;
        if (len <= 0 && pos > 4096 - 15) {
            /* (maybe) an instruction the page's end cuts: stepped */
            t->eip = eip;
            t->next = eip;
            t->followed = t->side = false;
            t->step = true;
            *hi = 4096;
            n++;
            break;
        }
        if (len <= 0 || last < eip || last > lim) {
            break;
        }
        seen[pos / 64] |= 1ull << (pos % 64);
        *lo = (unsigned)pos < *lo ? (unsigned)pos : *lo;
        *hi = (unsigned)(pos + len) > *hi ? (unsigned)(pos + len) : *hi;
        t->eip = eip;
        t->next = code32 ? eip + (uint32_t)len : ((eip + (uint32_t)len) & 0xFFFF);
        t->followed = t->side = t->step = false;
        n++;
        op_fn *fn = t->in.op->fn;
        uint32_t to = t->next + t->in.imm;  /* a branch's target */
        bool rel32 = code32 && t->in.opsize == 32 && to <= lim && n < j->max_block_insns;
        uint32_t go = t->next;      /* where decoding goes on */
        if (fn == op_jmp_J && rel32 && to >= t->next && may_follow(j, seen, k, to)) {
            t->followed = true;
            t->next = go = to;      /* (where the block goes on, or leaves to) */
        } else if (fn == op_jcc && rel32 && nside < MAX_SIDE_EXITS) {
            /* backward: taken if it can go there */
            if (to < t->next && may_follow(j, seen, k, to)) {
                go = to;
            } else if (!may_follow(j, seen, k, t->next)) {
                break;
            }
            t->side = true;
            t->side_taken = go != to;
            t->side_to = go != to ? to : t->next;
            t->next = go;
            nside++;
        } else if (classify(&t->in) != K_PLAIN || t->next < eip) {
            break;
        }
        pos = fresh_pos(seen, k, go);
        if (pos < 0) {
            break;
        }
        eip = go;
    }
    return n;
}

/*
 * Backward pass: which instructions' flags can anything see?  `live`
 * counts a possible fault as a reader (it would show the flags), `live_read`
 * only real readers and the block's exits.
 */
static void flag_liveness(struct tinsn *ti, unsigned n)
{
    bool live = true, live_read = true;   /* after the block anything may read them */
    for (unsigned i = n; i-- > 0;) {
        int fx = ti[i].step ? FX_READS | FX_FAULTS | FX_STORES
                 : ti[i].followed ? 0 : lower_flag_effect(&ti[i].in);
        /* a store into translated code leaves the block right after it */
        ti[i].live = live || (fx & FX_STORES);
        ti[i].live_read = live_read || (fx & FX_STORES);
        live = ti[i].live;
        live_read = ti[i].live_read;
        if (fx & (FX_READS | FX_FAULTS)) {
            live = true;
        } else if (fx & FX_WRITES) {
            live = false;
        }
        if (fx & FX_READS) {
            live_read = true;
        } else if (fx & FX_WRITES) {
            live_read = false;
        }
    }
}

/*
 * Plan the shared TLB lookups (struct lower_pg): accesses of one kind
 * through the same flat segment, base, index and scale, with no write to
 * those registers between them, form a group; a group of two or more
 * shares the lookup of its first.  (Every access counts 4 bytes: the span
 * covers each whatever its size.)
 */
/* The displacement of an access lower_mem_kind plans (moffs: the immediate). */
static int64_t mem_disp(const struct insn *in)
{
    return (in->op->attr & A_MODRM) ? in->disp : (int32_t)in->imm;
}

static void plan_pages(const struct jit_key *k, struct tinsn *ti, unsigned n)
{
    struct group {
        uint8_t seg, base, index, scale, kind;
        int64_t lo, hi;     /* (64 bits: a displacement + 4 may pass INT32_MAX) */
        unsigned first, count;
    } g[LOWER_PAGE_SLOTS];
    bool busy[LOWER_PAGE_SLOTS] = { false };
    int8_t of[JIT_MAX_BLOCK_INSNS];     /* the slot of an instruction's open group */
    for (unsigned i = 0; i < n; i++) {
        ti[i].pg.slot = -1;
        of[i] = -1;
    }
    for (unsigned i = 0; i <= n; i++) {
        const struct insn *in = i < n && !ti[i].step ? &ti[i].in : NULL;
        int kind = in && !ti[i].followed ? lower_mem_kind(in) : -1;
        bool moffs = in && !(in->op->attr & A_MODRM);
        uint8_t base = moffs ? REG_NONE : in ? in->base : 0, index = moffs ? REG_NONE : in ? in->index : 0;
        int64_t disp = in ? mem_disp(in) : 0;
        if (kind >= 0 && in->seg < 6 && (k->flags & (JK_FLAT0 << in->seg))) {
            int s = -1, free_slot = -1;
            for (int q = 0; q < LOWER_PAGE_SLOTS; q++) {
                if (busy[q] && g[q].seg == in->seg && g[q].base == base && g[q].index == index &&
                    (index == REG_NONE || g[q].scale == in->scale) && g[q].kind == kind) {
                    s = q;
                } else if (!busy[q] && free_slot < 0) {
                    free_slot = q;
                }
            }
            if (s >= 0 && (disp < g[s].lo ? g[s].hi - disp : disp + 4 - g[s].lo) <= 2048) {
                g[s].lo = disp < g[s].lo ? disp : g[s].lo;
                g[s].hi = disp + 4 > g[s].hi ? disp + 4 : g[s].hi;
                g[s].count++;
                of[i] = (int8_t)s;
            } else if (s < 0 && free_slot >= 0) {
                busy[free_slot] = true;
                g[free_slot] = (struct group){ in->seg, base, index, in->scale, (uint8_t)kind,
                                               disp, disp + 4, i, 1 };
                of[i] = (int8_t)free_slot;
            }
        }
        /* registers written close the groups that use them (after the access) */
        uint8_t w = in ? lower_regs_written(in) : 0xFF;
        for (int q = 0; q < LOWER_PAGE_SLOTS; q++) {
            if (!busy[q] || !(w == 0xFF || (g[q].base != REG_NONE && (w >> g[q].base & 1)) ||
                              (g[q].index != REG_NONE && (w >> g[q].index & 1)))) {
                continue;
            }
            busy[q] = false;
            for (unsigned m = g[q].first; m <= i && m < n; m++) {
                if (of[m] != q) {
                    continue;
                }
                of[m] = -1;
                if (g[q].count >= 2) {
                    int64_t d = mem_disp(&ti[m].in);
                    ti[m].pg = (struct lower_pg){ (int8_t)q, m == g[q].first,
                                                  (int32_t)(g[q].lo - d), (int32_t)(g[q].hi - d) };
                }
            }
        }
    }
}

/* Does a way out of the block go back to its start? */
static bool is_loop(const struct jit_key *k, const struct tinsn *ti, unsigned n)
{
    if (!(k->flags & JK_CODE32)) {
        return false;
    }
    for (unsigned i = 0; i < n; i++) {
        if (ti[i].step) {
            return false;
        }
        op_fn *fn = ti[i].in.op->fn;
        if (ti[i].side ? ti[i].side_to == k->eip
                       : !ti[i].followed && (fn == op_jcc || fn == op_jmp_J) &&
                             ti[i].in.opsize == 32 && ti[i].next + ti[i].in.imm == k->eip) {
            return true;
        }
    }
    return n > 0 && !ti[n - 1].step && ti[n - 1].next == k->eip;  /* came back round */
}

/* Emit the block (entry check, body, exits, stubs); the instructions emitted. */
static unsigned translate_body(struct tctx *t, const struct tinsn *ti, unsigned n)
{
    struct jit *j = t->j;
    lower_init(&t->lw, j, &t->b->key, j->rw + j->used, j->rw + j->used + MAX_BLOCK_CODE);
    t->b->code = t->lw.c.p;
    t->b->exits = &j->xpool[j->nxpool];
    t->b->nexits = 0;
    t->nside = 0;
    t->n_n_at = 1;
    t->n_at[0] = emit_entry(t);
    t->head = NULL;
    if (t->loop && !t->first_pass) {
        lower_loop_head(&t->lw, &t->back_rc);
        t->head = t->lw.c.p;
    }
    unsigned i = 0;
    bool more = true;
    while (more && i < n && !t->lw.c.overflow) {
        t->lw.pg = ti[i].pg;
        if (ti[i].pg.slot >= 0 && ti[i].pg.first) {
            t->lw.pg_valid &= (uint8_t)~(1u << ti[i].pg.slot);  /* until its lookup fills it */
        }
        more = emit_insn(t, &ti[i], ti[i].live);
        t->lw.pg.slot = -1;
        i++;
    }
    if (more) {
        exit_chain(t, ti[i - 1].next);
    }
    for (unsigned s = 0; s < t->nside && !t->lw.c.overflow; s++) {
        struct side_exit *x = &t->side[s];
        x_patch32(x->site, t->lw.c.p);
        t->lw.pending = x->pending;
        t->lw.rc = x->rc;
        exit_chain(t, x->target);
    }
    lower_emit_stubs(&t->lw);
    emit_fail(t);
    return i;
}

struct jit_block *jit_translate(struct jit *j, const struct jit_key *k, const uint8_t *host)
{
    if (j->size - j->used < MAX_BLOCK_CODE) {
        return NULL;
    }
    struct tinsn ti[JIT_MAX_BLOCK_INSNS];
    unsigned lo, hi, n = decode_block(j, k, host, ti, &lo, &hi);
    if (n == 0) {
        return NULL;
    }
    flag_liveness(ti, n);
    plan_pages(k, ti, n);
    struct jit_block *b = jit_block_alloc(j);
    if (!b) {
        return NULL;
    }
    unsigned insns_mark = j->ninsns, exits_mark = j->nxpool;
    struct tctx t = { .j = j, .b = b, .loop = is_loop(k, ti, n) };
    b->key = *k;
    t.first_pass = t.loop;
    unsigned i = translate_body(&t, ti, n);
    if (t.loop && !t.lw.c.overflow && t.have_back) {
        /* again, with the head loading what the back edge holds */
        j->ninsns = insns_mark;
        j->nxpool = exits_mark;
        t.first_pass = false;
        i = translate_body(&t, ti, n);
    }
    if (t.lw.c.overflow) {
        j->nblocks--;
        j->ninsns = insns_mark;
        j->nxpool = exits_mark;
        return NULL;
    }
    b->ninsn = i;
    for (unsigned m = 0; m < t.n_n_at; m++) {
        *t.n_at[m] = (uint8_t)i;
    }
    b->lo_phys = (k->phys & ~0xFFFu) + lo;
    b->end_phys = (k->phys & ~0xFFFu) + hi;
    j->used = ((size_t)(t.lw.c.p - j->rw) + 15) & ~(size_t)15;
    jit_block_publish(j, b);
    return b;
}
