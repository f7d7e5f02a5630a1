/*
 * regs.c - guest registers in generated code: the register cache (guest
 * registers held in host registers within a block, see lower.h), reads
 * and writes of guest registers at any width through it, and a loop
 * block's head, where the cache is preloaded so that the back edge keeps
 * registers in host registers across iterations.
 */
#include "lower.h"

const int rc_host[RC_SLOTS] = { X_R8, X_R9, X_R10, X_R11, X_RDI, X_RBP };

static struct xmem greg_mem(int r)
{
    return xm(X_RBX, (int32_t)(offsetof(struct cpu, r) + 4 * (size_t)r));
}

static int rc_find(const struct lower *lw, int r)
{
    for (int i = 0; i < RC_SLOTS; i++) {
        if (lw->rc.greg[i] == r) {
            return i;
        }
    }
    return -1;
}

/* Store the dirty slots of `rc` to struct cpu (the emitter's view is unchanged). */
void rc_spill(struct lower *lw, const struct rc_state *rc)
{
    for (int i = 0; i < RC_SLOTS; i++) {
        if (rc->greg[i] >= 0 && (rc->dirty >> i & 1)) {
            x_st32(&lw->c, greg_mem(rc->greg[i]), rc_host[i]);
        }
    }
}

/* Drop slot i, writing it back first if dirty. */
void rc_evict(struct lower *lw, int i)
{
    if (lw->rc.greg[i] >= 0 && (lw->rc.dirty >> i & 1)) {
        x_st32(&lw->c, greg_mem(lw->rc.greg[i]), rc_host[i]);
    }
    lw->rc.greg[i] = -1;
    lw->rc.dirty &= (uint8_t)~(1u << i);
}

/* The slot holding guest register r (32 bits), made if needed; `load`: with its value. */
int rc_slot(struct lower *lw, int r, bool load)
{
    int i = rc_find(lw, r);
    if (i < 0) {
        i = 0;
        for (int j = 0; j < RC_SLOTS; j++) {
            if (lw->rc.greg[j] < 0) {
                i = j;
                break;
            }
            if (lw->rc_used[j] < lw->rc_used[i]) {
                i = j;
            }
        }
        rc_evict(lw, i);
        lw->rc.greg[i] = (int8_t)r;
        if (load) {
            x_ld32(&lw->c, rc_host[i], greg_mem(r));
        }
    }
    lw->rc_used[i] = ++lw->rc_clock;
    return i;
}

/* The host register holding guest register r's 32 bits. */
int rc_reg(struct lower *lw, int r)
{
    return rc_host[rc_slot(lw, r, true)];
}

/* Save (push) the occupied caller-saved slots of rc around a call that
 * leaves guest registers alone; `extra` registers were pushed before.
 * RSP stays 16-byte aligned at the call. */
/* Slot i is occupied by a register a call may clobber. */
static bool rc_clobbered(const struct rc_state *rc, int i)
{
    return rc->greg[i] >= 0 && rc_host[i] != X_RBP;
}

void rc_save(struct lower *lw, const struct rc_state *rc, int extra)
{
    int n = extra;
    for (int i = 0; i < RC_SLOTS; i++) {
        if (rc_clobbered(rc, i)) {
            x_push(&lw->c, rc_host[i]);
            n++;
        }
    }
    if (n & 1) {
        x_alu64i(&lw->c, XA_SUB, X_RSP, 8);
    }
}

void rc_restore(struct lower *lw, const struct rc_state *rc, int extra)
{
    int n = extra;
    for (int i = 0; i < RC_SLOTS; i++) {
        n += rc_clobbered(rc, i);
    }
    if (n & 1) {
        x_alu64i(&lw->c, XA_ADD, X_RSP, 8);
    }
    for (int i = RC_SLOTS; i-- > 0;) {
        if (rc_clobbered(rc, i)) {
            x_pop(&lw->c, rc_host[i]);
        }
    }
}

void lower_rc_call(struct lower *lw, const void *fn, bool set_a1, uint32_t a1)
{
    struct cbuf *c = &lw->c;
    rc_save(lw, &lw->rc, 0);
    if (set_a1) {
        x_movi32(c, X_RSI, a1);
    }
    x_mov64(c, X_RDI, X_RBX);
    x_call_abs(c, fn);
    rc_restore(lw, &lw->rc, 0);
}

void lower_sync(struct lower *lw)
{
    rc_spill(lw, &lw->rc);
}

/* Guest register r (cached) was written in its host register. */
void rc_set_dirty(struct lower *lw, int r)
{
    int i = rc_find(lw, r);
    lw->rc.dirty |= (uint8_t)(1u << i);
}

/* h = guest register r at `size` bits (AH..BH for r 4-7 at 8), zero-extended. */
void load_greg(struct lower *lw, int h, int r, int size)
{
    struct cbuf *c = &lw->c;
    bool high = size == 8 && r >= 4;
    int hr = rc_reg(lw, high ? r - 4 : r);
    if (size == 32) {
        x_mov32(c, h, hr);
    } else if (size == 16) {
        x_movzx16(c, h, hr);
    } else if (high) {
        x_mov32(c, h, hr);
        x_shifti32(c, XS_SHR, h, 8);
        x_movzx8(c, h, h);
    } else {
        x_movzx8(c, h, hr);
    }
}

/*
 * Guest register r's low `size` bits (r 4-7 at 8 bits: AH..BH) = h's.  A
 * partial write merges into the cached register, loading it first: a
 * byte or word stored to struct cpu and read back whole would stall the
 * host's store forwarding.  Only moves: the host flags survive.  EAX and
 * ECX are scratch for AH..BH.
 */
void store_greg(struct lower *lw, int r, int size, int h)
{
    struct cbuf *c = &lw->c;
    bool high = size == 8 && r >= 4;
    int i = rc_slot(lw, high ? r - 4 : r, size != 32);
    int hr = rc_host[i];
    if (size == 32) {
        x_mov32(c, hr, h);
    } else if (size == 16) {
        x_op_reg(c, false, "\x66\x89", 2, h, hr, false);     /* mov hr16, h16 */
    } else if (!high) {
        x_op_reg(c, false, "\x88", 1, h, hr, true);           /* mov hr8, h8 */
    } else {
        /* AH..BH through CH, without touching the host flags (an ALU
         * result's flags may still be wanted by a Jcc) */
        x_mov32(c, X_RAX, h);
        x_mov32(c, X_RCX, hr);
        x_byte(c, 0x88);        /* mov ch, al */
        x_byte(c, 0xC5);
        x_mov32(c, hr, X_RCX);
    }
    lw->rc.dirty |= (uint8_t)(1u << i);
}

void store_greg_imm(struct lower *lw, int r, int size, uint32_t v)
{
    if (size == 32) {
        int i = rc_slot(lw, r, false);
        x_movi32(&lw->c, rc_host[i], v);
        lw->rc.dirty |= (uint8_t)(1u << i);
        return;
    }
    x_movi32(&lw->c, X_RCX, v);
    store_greg(lw, r, size, X_RCX);
}

/* --- loops --- */

/*
 * A block whose direct branch goes back to its own start keeps guest
 * registers in host registers across iterations: after the budget check
 * the head loads `want` (the cache as the back edge left it in a first
 * translation) and counts every slot dirty, since a later iteration
 * arrives with values struct cpu does not have yet.
 */
void lower_loop_head(struct lower *lw, const struct rc_state *want)
{
    for (int i = 0; i < RC_SLOTS; i++) {
        lw->rc.greg[i] = want->greg[i];
        lw->rc_used[i] = 0;
        if (want->greg[i] >= 0) {
            x_ld32(&lw->c, rc_host[i], greg_mem(want->greg[i]));
            lw->rc.dirty |= (uint8_t)(1u << i);
        }
    }
}

/*
 * The back edge to the head at `head` (its cache `hs`): registers moved
 * into the head's slots (a register cached elsewhere goes through struct
 * cpu), the retired instructions counted, and the budget checked as the
 * entry would (`n_at`: the imm8 to patch with the block's count).  Out of
 * budget, it leaves with EIP = the block's start.  The emitter's view of
 * the cache is unchanged (a Jcc's other exit follows).
 */
void lower_back_edge(struct lower *lw, const struct rc_state *hs, const uint8_t *head,
                     uint32_t eip, uint8_t **n_at)
{
    struct cbuf *c = &lw->c;
    const struct rc_state *cur = &lw->rc;
    for (int i = 0; i < RC_SLOTS; i++) {
        if (cur->greg[i] >= 0 && cur->greg[i] != hs->greg[i] && (cur->dirty >> i & 1)) {
            x_st32(c, greg_mem(cur->greg[i]), rc_host[i]);
        }
    }
    for (int i = 0; i < RC_SLOTS; i++) {
        if (hs->greg[i] >= 0 && cur->greg[i] != hs->greg[i]) {
            x_ld32(c, rc_host[i], greg_mem(hs->greg[i]));
        }
    }
    lower_flush_icount(lw);
    uint8_t *loop = lower_budget_check(lw, XC_BE, n_at);
    if (!c->overflow) {
        x_patch32(loop, head);
    }
    rc_spill(lw, hs);
    x_st32i(c, CPU_FIELD(eip), eip);
    x_patch32(x_jmp32(c), lw->j->exit_null);
}
