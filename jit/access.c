/*
 * access.c - guest memory accesses in generated code: the TLB lookup in
 * line (alone, or shared by the accesses of a block through the same base
 * registers: struct lower_pg), the host access, and out of line the slow
 * paths through cpu_rd / cpu_wr with EIP and icount set for a precise
 * fault; other segments than flat ones call those helpers in line.  Also
 * the other stubs a block body leaves for after it (lower_emit_stubs).
 */
#include "lower.h"

#include "cpu/mem.h"
#include "cpu/ops.h"

/* --- slow-path helpers (called from generated code) --- */

static uint32_t jit_ld8(struct cpu *cpu, int seg, uint32_t off) { return cpu_rd(cpu, seg, off, 8); }
static uint32_t jit_ld16(struct cpu *cpu, int seg, uint32_t off) { return cpu_rd(cpu, seg, off, 16); }
static uint32_t jit_ld32(struct cpu *cpu, int seg, uint32_t off) { return cpu_rd(cpu, seg, off, 32); }
/* The read of a read-modify-write: the write is checked first (#PF W=1). */
static uint32_t jit_rmw(struct cpu *cpu, int seg, uint32_t off, int size)
{
    cpu_check_write(cpu, seg, off, size / 8);
    return cpu_rd(cpu, seg, off, size);
}
static uint32_t jit_rmw8(struct cpu *cpu, int seg, uint32_t off) { return jit_rmw(cpu, seg, off, 8); }
static uint32_t jit_rmw16(struct cpu *cpu, int seg, uint32_t off) { return jit_rmw(cpu, seg, off, 16); }
static uint32_t jit_rmw32(struct cpu *cpu, int seg, uint32_t off) { return jit_rmw(cpu, seg, off, 32); }
static void jit_st8(struct cpu *cpu, int seg, uint32_t off, uint32_t v) { cpu_wr(cpu, seg, off, 8, v); }
static void jit_st16(struct cpu *cpu, int seg, uint32_t off, uint32_t v) { cpu_wr(cpu, seg, off, 16, v); }
static void jit_st32(struct cpu *cpu, int seg, uint32_t off, uint32_t v) { cpu_wr(cpu, seg, off, 32, v); }

/* DIV's divide error (a zero divisor or a quotient too wide), as div_acc raises it. */
static void jit_raise_de(struct cpu *cpu)
{
    cpu_fault(cpu, EX_DE, EXC_NOERR);
}

struct lower_stub *new_stub(struct lower *lw, int kind)
{
    if (lw->nstubs == LOWER_MAX_STUBS) {
        lw->c.overflow = true;   /* the translator ends the block earlier */
        static struct lower_stub sink;
        return &sink;
    }
    struct lower_stub *s = &lw->stubs[lw->nstubs++];
    s->kind = (uint8_t)kind;
    s->pending = (uint16_t)lw->pending;
    s->defer = lw->defer;
    s->defer_imm = lw->defer_imm;
    s->stop = false;
    s->retry = false;
    s->pg_clear = -1;
    s->dst = X_RDX;
    s->rc = lw->rc;
    return s;
}

/* TLB lookup for kind of the page holding [EAX + lo, EAX + hi), all of it;
 * RSI = the addend on a hit. */
static uint8_t *emit_tlb_span(struct lower *lw, int kind, int32_t lo, int32_t hi)
{
    struct cbuf *c = &lw->c;
    int user = ((lw->k->flags >> JK_CPL_SHIFT) & 3) == 3;
    int32_t base = (int32_t)(offsetof(struct cpu, tlb) +
                             (size_t)TLB_SLOT(user, kind, 0u) * sizeof(struct tlb_entry));
    _Static_assert(sizeof(struct tlb_entry) == 16, "TLB entry: 2 quadwords");
    if (lo) {
        x_lea32(c, X_RCX, xm(X_RAX, lo));
    } else {
        x_mov32(c, X_RCX, X_RAX);
    }
    x_shifti32(c, XS_SHR, X_RCX, 12 - 4);
    x_alu32i(c, XA_AND, X_RCX, (TLB_SIZE - 1) << 4);       /* index * 16 */
    x_lea32(c, X_RSI, xm(X_RAX, hi - 1));
    x_alu32i(c, XA_AND, X_RSI, 0xFFFFF000u);
    x_alu32_ld(c, XA_CMP, X_RSI,
               (struct xmem){ X_RBX, X_RCX, 0, base + (int32_t)offsetof(struct tlb_entry, tag) });
    uint8_t *miss = x_jcc32(c, XC_NE);
    x_ld64(c, X_RSI, (struct xmem){ X_RBX, X_RCX, 0, base + (int32_t)offsetof(struct tlb_entry, addend) });
    return miss;
}

/* TLB lookup of [EAX, EAX + bytes) for kind; RSI = the addend on a hit. */
uint8_t *emit_tlb(struct lower *lw, int kind, int bytes)
{
    return emit_tlb_span(lw, kind, 0, bytes);
}

#define PAGE_SLOT(i) CPU_FIELD(jit_page[i])

/*
 * The lookup of the current instruction's access at EAX (struct lower_pg):
 * its own; the first of a shared one, which looks the whole span up and
 * keeps the addend; or a later one, which takes the kept addend.  RSI =
 * the addend on a hit; *retry: the miss path tries the access's own lookup
 * before the slow path; *clear: the slot the miss path clears, or -1.
 */
static uint8_t *emit_lookup(struct lower *lw, int kind, int size, bool *retry, int *clear)
{
    struct cbuf *c = &lw->c;
    const struct lower_pg *pg = &lw->pg;
    *retry = false;
    *clear = -1;
    if (pg->slot >= 0 && pg->first) {
        uint8_t *miss = emit_tlb_span(lw, kind, pg->lo, pg->hi);
        x_st64(c, PAGE_SLOT(pg->slot), X_RSI);
        lw->pg_valid |= (uint8_t)(1u << pg->slot);
        *retry = true;
        *clear = pg->slot;
        return miss;
    }
    if (pg->slot >= 0 && (lw->pg_valid >> pg->slot & 1)) {
        x_ld64(c, X_RSI, PAGE_SLOT(pg->slot));
        x_op_reg(c, true, "\x85", 1, X_RSI, X_RSI, false);     /* test rsi, rsi */
        *retry = true;
        return x_jcc32(c, XC_E);
    }
    return emit_tlb(lw, kind, size / 8);
}

static const void *ld_helper(int size)
{
    return size == 8 ? (const void *)jit_ld8 : size == 16 ? (const void *)jit_ld16
                                                          : (const void *)jit_ld32;
}

static const void *rmw_helper(int size)
{
    return size == 8 ? (const void *)jit_rmw8 : size == 16 ? (const void *)jit_rmw16
                                                           : (const void *)jit_rmw32;
}

static const void *st_helper(int size)
{
    return size == 8 ? (const void *)jit_st8 : size == 16 ? (const void *)jit_st16
                                                          : (const void *)jit_st32;
}

/* The call of a slow path: EIP, icount and the guest registers as at the
 * instruction's start (rc: the register cache there). */
static void emit_slow_call(struct lower *lw, int kind, int seg, int size, uint32_t eip,
                           unsigned pending, const struct rc_state *rc, int dst)
{
    bool store = kind == STUB_STORE;
    bool rmw = kind == STUB_RMW;    /* EAX, the offset, survives for the store */
    struct cbuf *c = &lw->c;
    x_st32i(c, CPU_FIELD(eip), eip);
    st_icount(lw, pending);
    rc_spill(lw, rc);           /* a fault shows struct cpu */
    if (rmw) {
        x_push(c, X_RAX);
    }
    rc_save(lw, rc, rmw);
    if (store) {
        x_mov32(c, X_RCX, X_RDX);
    }
    x_mov32(c, X_RDX, X_RAX);
    x_movi32(c, X_RSI, (uint32_t)seg);
    x_mov64(c, X_RDI, X_RBX);
    x_call_abs(c, store ? st_helper(size) : rmw ? rmw_helper(size) : ld_helper(size));
    if (rmw) {
        x_mov32(c, X_RDX, X_RAX);   /* (an RMW's read goes to EDX) */
        rc_restore(lw, rc, 1);
        x_pop(c, X_RAX);
        return;
    }
    rc_restore(lw, rc, 0);
    if (!store) {
        x_mov32(c, dst, X_RAX);     /* (after the restore: dst may be a cache register) */
    }
}

/* The access at host address RSI + RAX: a store of EDX, or a load to dst. */
static void emit_host_op(struct lower *lw, int kind, int size, int dst)
{
    struct cbuf *c = &lw->c;
    struct xmem m = { X_RSI, X_RAX, 0, 0 };
    if (kind == STUB_STORE) {
        if (size == 32) {
            x_st32(c, m, X_RDX);
        } else if (size == 16) {
            x_st16(c, m, X_RDX);
        } else {
            x_st8(c, m, X_RDX);
        }
    } else if (size == 32) {
        x_ld32(c, dst, m);
    } else if (size == 16) {
        x_ldzx16(c, dst, m);
    } else {
        x_ldzx8(c, dst, m);
    }
}

/* The access at host address RSI + RAX, with its slow path (from `miss`) as
 * a stub; a load's value goes to `dst`. */
static struct lower_stub *emit_host_access(struct lower *lw, int kind, int seg, int size,
                                           uint32_t eip, uint8_t *miss, int dst)
{
    emit_host_op(lw, kind, size, dst);
    struct lower_stub *s = new_stub(lw, kind);
    s->site = miss;
    s->resume = lw->c.p;
    s->eip = eip;
    s->seg = (uint8_t)seg;
    s->size = (uint8_t)size;
    s->dst = (uint8_t)dst;
    return s;
}

/* The lookup (emit_lookup) and the access, for flat segments. */
void emit_flat_access(struct lower *lw, int kind, int seg, int size, uint32_t eip, int dst)
{
    bool retry;
    int clear;
    uint8_t *miss = emit_lookup(lw, kind == STUB_LOAD ? TLB_READ : TLB_WRITE, size, &retry,
                                &clear);
    struct lower_stub *s = emit_host_access(lw, kind, seg, size, eip, miss, dst);
    s->retry = retry;
    s->pg_clear = (int8_t)clear;
}

/*
 * A memory access at seg:EAX: STUB_LOAD and STUB_RMW leave the value in
 * EDX (zero-extended; RMW, the read of a read-modify-write, goes through
 * the write TLB so it faults as a write), STUB_STORE stores EDX's low
 * `size` bits.  Flat segments look the TLB up in line, a miss goes to an
 * out-of-line stub; other segments call the helper in line.
 */
void emit_access(struct lower *lw, int kind, int seg, int size, uint32_t eip)
{
    if (!seg_flat(lw, seg)) {
        lower_materialize(lw);
        emit_slow_call(lw, kind, seg, size, eip, lw->pending, &lw->rc, X_RDX);
        return;
    }
    emit_flat_access(lw, kind, seg, size, eip, X_RDX);
}

/*
 * The store of a read-modify-write whose read (STUB_RMW) just ran: on a
 * flat segment the read's write-TLB hit left the host address in RSI, so
 * the store needs no second lookup; the read's slow path clears RSI, which
 * sends the store to its own slow path.
 */
void emit_store_rmw(struct lower *lw, int seg, int size, uint32_t eip)
{
    struct cbuf *c = &lw->c;
    if (!seg_flat(lw, seg)) {
        emit_access(lw, STUB_STORE, seg, size, eip);
        return;
    }
    x_op_reg(c, true, "\x85", 1, X_RSI, X_RSI, false);     /* test rsi, rsi */
    emit_host_access(lw, STUB_STORE, seg, size, eip, x_jcc32(c, XC_E), X_RDX);
}

void emit_load_as(struct lower *lw, int seg, int size, uint32_t eip, bool rmw)
{
    emit_access(lw, rmw ? STUB_RMW : STUB_LOAD, seg, size, eip);
}

void emit_load(struct lower *lw, int seg, int size, uint32_t eip)
{
    emit_access(lw, STUB_LOAD, seg, size, eip);
}

void emit_store(struct lower *lw, int seg, int size, uint32_t eip)
{
    emit_access(lw, STUB_STORE, seg, size, eip);
}

/*
 * A store that is the instruction's last effect (MOV to memory).  Stores
 * into translated code always take the slow path (such pages get only
 * TLB_CODE write entries), so on a flat segment its stub, not the fast
 * path, checks jit_stop and leaves the block at `next`.
 */
void emit_store_last(struct lower *lw, int seg, int size, uint32_t eip, uint32_t next)
{
    unsigned n = lw->nstubs;
    emit_store(lw, seg, size, eip);
    if (!seg_flat(lw, seg) || lw->nstubs != n + 1) {
        lower_stop_check(lw, next, 1);
        return;
    }
    struct lower_stub *s = &lw->stubs[n];
    s->stop = true;
    s->stop_next = next;
}

void lower_emit_stubs(struct lower *lw)
{
    struct cbuf *c = &lw->c;
    for (unsigned i = 0; i < lw->nstubs; i++) {
        struct lower_stub *s = &lw->stubs[i];
        x_patch32(s->site, c->p);
        if (s->defer) {
            emit_defer_apply(lw, &s->rc, s->defer, s->defer_imm);     /* a fault or an exit may show them */
        }
        if (s->kind == STUB_DE) {
            rc_spill(lw, &s->rc);
            x_st32i(c, CPU_FIELD(eip), s->eip);
            st_icount(lw, s->pending);
            x_mov64(c, X_RDI, X_RBX);
            x_call_abs(c, (const void *)jit_raise_de);     /* does not return */
            continue;
        }
        if (s->kind == STUB_STOP) {
            rc_spill(lw, &s->rc);
            x_alu64i(c, XA_ADD, H_ICOUNT, s->pending);
            x_st32i(c, CPU_FIELD(eip), s->eip);
            x_patch32(x_jmp32(c), lw->j->exit_null);
            continue;
        }
        if (s->pg_clear >= 0) {
            x_alu32(c, XA_XOR, X_RCX, X_RCX);
            x_st64(c, PAGE_SLOT(s->pg_clear), X_RCX);  /* the later accesses look up their own */
        }
        if (s->retry) {
            /* the shared lookup missed: the access's own page may hit */
            uint8_t *miss = emit_tlb(lw, s->kind == STUB_LOAD ? TLB_READ : TLB_WRITE, s->size / 8);
            emit_host_op(lw, s->kind, s->size, s->dst);
            x_patch32(x_jmp32(c), s->resume);
            x_patch32(miss, c->p);
        }
        emit_slow_call(lw, s->kind, s->seg, s->size, s->eip, s->pending, &s->rc, s->dst);
        if (s->stop) {
            /* the store hit translated code: leave after the instruction
             * (the slow call wrote the cache back already) */
            x_cmp8i_mem(c, CPU_FIELD(jit_stop), 0);
            x_patch32(x_jcc32(c, XC_E), s->resume);
            x_alu64i(c, XA_ADD, H_ICOUNT, s->pending + 1);
            x_st32i(c, CPU_FIELD(eip), s->stop_next);
            x_patch32(x_jmp32(c), lw->j->exit_null);
            continue;
        }
        if (s->kind == STUB_RMW) {
            x_alu32(c, XA_XOR, X_RSI, X_RSI);   /* no host address: the store's slow path */
        }
        x_patch32(x_jmp32(c), s->resume);
    }
}
