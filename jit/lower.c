/*
 * lower.c - inline host code for the hot instruction forms.
 *
 * Everything here must leave struct cpu exactly as the interpreter's
 * handler would; the lockstep mode (jit/check.c) and the differential
 * tests (tests/cpu/difftest --accel jit) tie the two together.
 *
 * Host registers: RBX = struct cpu *; R8-R11, RDI and RBP cache guest
 * registers within a block (the register cache below).  Within one guest
 * instruction: EAX the guest offset of a memory operand, EDX the value
 * loaded or stored, ECX/ESI the TLB lookup, R12-R15 operands and results
 * (callee-saved, so they survive a slow-path call).
 *
 * Memory operands: jit/access.c (the TLB lookup in line on a flat
 * segment, slow paths out of line with EIP and icount set for a precise
 * fault).  Order follows the handlers: an instruction's memory
 * store comes before its register and flag updates, so a faulting store
 * leaves them untouched.
 */
#include "lower.h"

#include "cpu/mem.h"
#include "cpu/ops.h"

#define H_A X_R12       /* first operand */
#define H_B X_R13       /* second operand */
#define H_RES X_R15     /* result */
#define DEFER_VAL CPU_FIELD(jit_defer)   /* the deferred instruction's source or result */
#define CARRY_IN CPU_FIELD(jit_carry)   /* an ADC/SBB's carry-in, across its read */

/*
 * cc_op and cc_size (op | size << 8) with the two padding bytes after
 * them: a 32-bit store, where a 16-bit immediate's prefix would stall the
 * host's decoder.
 */
static void st_cc_op(struct cbuf *c, uint32_t op_size)
{
    _Static_assert(offsetof(struct cpu, cc_size) == offsetof(struct cpu, cc_op) + 1 &&
                       offsetof(struct cpu, cc_res) == offsetof(struct cpu, cc_op) + 4,
                   "cc_op, cc_size, then 2 bytes of padding");
    x_st32i(c, CPU_FIELD(cc_op), op_size);
}


/*
 * Deferred flags (struct lower): a shift or rotate by n (cpu->jit_defer: its source),
 * or a 32-bit logic operation, or an ADD/SUB of the immediate defer_imm
 * (cpu->jit_defer: the result).
 */
enum { DEFER_SHIFT = 1, DEFER_ALU = 2 };

static uint32_t defer_code(int size, int kind, unsigned n)
{
    return DEFER_SHIFT << 16 | (uint32_t)size << 8 | (uint32_t)kind << 5 | n;
}

static uint32_t defer_alu(int cc)
{
    return DEFER_ALU << 16 | 32 << 8 | (uint32_t)cc;
}

/* The deferred instruction's record, from cpu->jit_defer and its immediate. */
static void jit_defer_flags(struct cpu *cpu, uint32_t code, uint32_t imm)
{
    uint32_t v = cpu->jit_defer;
    if (code >> 16 == DEFER_SHIFT) {
        cpu_shift(cpu, (code >> 5) & 7, (code >> 8) & 0xFF, v, code & 31);
        return;
    }
    int cc = code & 0xFF;
    cc_set(cpu, cc, 32, v, cc == CC_ADD ? v - imm : v + imm, imm);
}

/* Apply deferred flags; EAX, EDX and the cache survive. */
void emit_defer_apply(struct lower *lw, const struct rc_state *rc, uint32_t code,
                             uint32_t imm)
{
    struct cbuf *c = &lw->c;
    x_push(c, X_RAX);
    x_push(c, X_RDX);
    rc_save(lw, rc, 2);
    x_movi32(c, X_RSI, code);
    x_movi32(c, X_RDX, imm);
    x_mov64(c, X_RDI, X_RBX);
    x_call_abs(c, (const void *)jit_defer_flags);
    rc_restore(lw, rc, 2);
    x_pop(c, X_RDX);
    x_pop(c, X_RAX);
}

/* dst = CF of the deferred instruction (0 or 1). */
static void emit_defer_cf(struct lower *lw, int dst)
{
    struct cbuf *c = &lw->c;
    uint32_t code = lw->defer;
    if (code >> 16 == DEFER_ALU) {
        int cc = code & 0xFF;
        if (cc == CC_LOGIC) {
            x_movi32(c, dst, 0);
            return;
        }
        /* ADD: CF = res < imm; SUB: CF = a < imm, a = res + imm */
        x_ld32(c, dst, DEFER_VAL);
        if (cc != CC_ADD) {
            x_alu32i(c, XA_ADD, dst, lw->defer_imm);
        }
        x_alu32i(c, XA_CMP, dst, lw->defer_imm);
        x_setcc(c, XC_B, dst);
        x_movzx8(c, dst, dst);
        return;
    }
    int size = (int)(code >> 8 & 0xFF), kind = (int)(code >> 5 & 7);
    unsigned n = code & 31;
    bool left = kind == 0 || kind == 4 || kind == 6;    /* ROL, SHL, SAL */
    x_ld32(c, dst, DEFER_VAL);
    x_shifti32(c, XS_SHR, dst, (uint8_t)(left ? (unsigned)size - n : n - 1));
    x_alu32i(c, XA_AND, dst, 1);
}

void lower_materialize(struct lower *lw)
{
    if (lw->defer) {
        emit_defer_apply(lw, &lw->rc, lw->defer, lw->defer_imm);
        lw->defer = 0;
    }
}

void lower_init(struct lower *lw, struct jit *j, const struct jit_key *k, uint8_t *start,
                uint8_t *end)
{
    lw->c = (struct cbuf){ start, end, false };
    lw->j = j;
    lw->k = k;
    lw->pending = 0;
    lw->host_flags = false;
    lw->cc_known = false;
    lw->defer = 0;
    lw->nstubs = 0;
    lw->pg.slot = -1;
    lw->pg_valid = 0;
    for (int i = 0; i < RC_SLOTS; i++) {
        lw->rc.greg[i] = -1;
        lw->rc_used[i] = 0;
    }
    lw->rc.dirty = 0;
    lw->rc_clock = 0;
}

void lower_flush_icount(struct lower *lw)
{
    if (lw->pending) {
        x_alu64i(&lw->c, XA_ADD, H_ICOUNT, (int32_t)lw->pending);
        lw->pending = 0;
    }
}

/* cpu->icount = the count `extra` instructions on (for a call that may
 * read it or fault); RCX is clobbered. */
void st_icount(struct lower *lw, unsigned extra)
{
    struct cbuf *c = &lw->c;
    if (extra) {
        x_lea64(c, X_RCX, xm(H_ICOUNT, (int32_t)extra));
        x_st64(c, CPU_FIELD(icount), X_RCX);
    } else {
        x_st64(c, CPU_FIELD(icount), H_ICOUNT);
    }
}

uint8_t *lower_budget_check(struct lower *lw, int cc, uint8_t **n_at)
{
    struct cbuf *c = &lw->c;
    x_lea64(c, X_RAX, xm(H_ICOUNT, 0x7F));     /* disp8 form: patched with the count */
    *n_at = c->p - 1;
    x_alu64_ld(c, XA_CMP, X_RAX, CPU_FIELD(jit_limit));
    return x_jcc32(c, cc);
}


/* EAX = the effective offset of in's memory operand (insn_ea). */
/* in's memory operand as a host address form over the cached base and
 * index (m.base == m.index == X_NOREG: the displacement alone). */
static struct xmem ea_form(struct lower *lw, const struct insn *in)
{
    struct xmem m = { X_NOREG, X_NOREG, in->scale, in->disp };
    if (in->base != REG_NONE) {
        m.base = rc_reg(lw, in->base);
    }
    if (in->index != REG_NONE) {
        m.index = rc_reg(lw, in->index);
    }
    if (m.base == X_NOREG && m.scale == 0) {
        m.base = m.index;
        m.index = X_NOREG;
    }
    return m;
}

/* dst = the offset form m computes (32 bits). */
static void emit_ea_form(struct lower *lw, struct xmem m, int dst)
{
    struct cbuf *c = &lw->c;
    if (m.base == X_NOREG && m.index == X_NOREG) {
        x_movi32(c, dst, (uint32_t)m.disp);
    } else if (m.index == X_NOREG && m.disp == 0) {
        x_mov32(c, dst, m.base);
    } else {
        x_lea32(c, dst, m);
    }
}

/* EAX = the effective offset of in's memory operand (insn_ea). */
static void emit_ea(struct lower *lw, const struct insn *in)
{
    emit_ea_form(lw, ea_form(lw, in), X_RAX);
    if (in->adsize == 16) {
        x_movzx16(&lw->c, X_RAX, X_RAX);
    }
}

void lower_call_handler(struct lower *lw, const struct insn *in, uint32_t eip, uint32_t next)
{
    struct cbuf *c = &lw->c;
    lower_materialize(lw);
    if ((in->op->attr & A_MODRM) && in->mod != 3) {
        emit_ea(lw, in);
        x_st32(c, CPU_FIELD(ea), X_RAX);
    }
    x_st32i(c, CPU_FIELD(eip), eip);
    x_st32i(c, CPU_FIELD(next_eip), next);
    lower_flush_icount(lw);
    st_icount(lw, 0);
    lw->pg_valid = 0;   /* a handler may change the mapping (CR3, INVLPG, PAM) */
    /* the handler reads and writes guest registers in struct cpu */
    for (int i = 0; i < RC_SLOTS; i++) {
        rc_evict(lw, i);
    }
    x_mov64(c, X_RDI, X_RBX);
    x_movi64(c, X_RSI, (uint64_t)(uintptr_t)in);
    x_call_abs(c, (const void *)in->op->fn);
    lw->pending = 1;
    lw->host_flags = false;
    lw->cc_known = false;
}

void lower_stop_check(struct lower *lw, uint32_t next, unsigned retired)
{
    struct cbuf *c = &lw->c;
    x_cmp8i_mem(c, CPU_FIELD(jit_stop), 0);
    struct lower_stub *s = new_stub(lw, STUB_STOP);
    s->site = x_jcc32(c, XC_NE);
    s->eip = next;
    s->pending = (uint16_t)(lw->pending + retired);
    /* (after this one's flags) */
    s->defer = lw->cur_overwrites && !lw->defer_fresh ? 0 : lw->defer;
    s->defer_imm = lw->defer_imm;
    lw->host_flags = false;
}

/* --- memory --- */

/* Memory forms are inline only where segments are flat or the helpers apply. */
static bool mem_ok(const struct lower *lw, int seg)
{
    (void)lw;
    return seg < 6;
}

/* --- operands --- */

/* H = the E operand (register or memory); for `rmw`, EAX keeps its offset. */
static void load_E_as(struct lower *lw, const struct insn *in, int size, int h, uint32_t eip,
                      bool rmw)
{
    if (in->mod == 3) {
        load_greg(lw, h, in->rm, size);
        return;
    }
    emit_ea(lw, in);
    emit_load_as(lw, in->seg, size, eip, rmw);
    if (h != X_RDX) {
        x_mov32(&lw->c, h, X_RDX);
    }
}

static void load_E(struct lower *lw, const struct insn *in, int size, int h, uint32_t eip)
{
    load_E_as(lw, in, size, h, eip, false);
}

/* --- the instruction forms --- */

static void set_cc(struct lower *lw, int op, int size, bool with_operands)
{
    struct cbuf *c = &lw->c;
    lw->cc_known = op == CC_ADD || op == CC_SUB || op == CC_LOGIC;
    lw->cc_op_known = (uint8_t)op;
    lw->cc_size_known = (uint8_t)size;
    st_cc_op(c, op | size << 8);
    if (!with_operands || (op != CC_ADD && op != CC_SUB)) {
        x_st32(c, CPU_FIELD(cc_res), H_RES);    /* (ADD, SUB: it follows from a and b) */
    }
    if (with_operands) {
        x_st32(c, CPU_FIELD(cc_a), H_A);
        x_st32(c, CPU_FIELD(cc_b), H_B);
    }
}

/* cpu->cc_op is now op (an INC, DEC or shift record: only CF = cc_aux bit 0 is used). */
static void cc_known_as(struct lower *lw, int op, int size)
{
    lw->cc_known = true;
    lw->cc_op_known = (uint8_t)op;
    lw->cc_size_known = (uint8_t)size;
}


/* dst = the guest's CF (0 or 1), for ADC/SBB and INC/DEC. */
static void emit_cf(struct lower *lw, int dst)
{
    lower_cond_value(lw, XC_B);
    x_mov32(&lw->c, dst, X_RAX);
}

/* H_RES = H_A op H_B at `size` bits; host flags as the guest's. */
static void alu_op(struct lower *lw, int op, int size)
{
    struct cbuf *c = &lw->c;
    x_mov32(c, H_RES, H_A);
    if (op == XA_ADC || op == XA_SBB) {
        x_op_mem(c, false, "\x0F\xBA", 2, 4, CARRY_IN, false);   /* bt [carry], 0 */
        x_byte(c, 0);
    }
    int hop = op == 7 ? XA_SUB : op;
    char o = (char)(hop << 3 | (size == 8 ? 0 : 1));
    if (size == 16) {
        char o16[2] = { 0x66, o };
        x_op_reg(c, false, o16, 2, H_B, H_RES, false);
    } else {
        x_op_reg(c, false, &o, 1, H_B, H_RES, size == 8);
    }
}

/*
 * The 32-bit forms with a register destination (or none: CMP, TEST),
 * worked on the cached guest register itself: `op` is XA_* (TEST as
 * XA_AND with write false), cc the CC_* record, the second operand an
 * immediate, the G register `src`, or (g_dst) the E operand.
 */
static bool lower_alu_reg(struct lower *lw, const struct insn *in, int op, bool write, int cc,
                          int src, bool imm, bool g_dst, uint32_t eip)
{
    struct cbuf *c = &lw->c;
    int dst_r = g_dst ? in->reg : in->rm;
    int hop = op == XA_CMP ? XA_SUB : op;
    int b = -1;
    if (!imm && g_dst && in->mod != 3) {
        load_E(lw, in, 32, H_B, eip);
        b = H_B;
    }
    int a = rc_reg(lw, dst_r);
    if (!imm && b < 0) {
        b = rc_reg(lw, g_dst ? in->rm : src);
    }
    /* flags only a fault could see: the result waits in jit_defer (the
     * operands follow from it and the immediate) */
    bool defer = write && lw->live && !lw->live_read &&
                 (cc == CC_LOGIC || (imm && (cc == CC_ADD || cc == CC_SUB)));
    bool operands = lw->live && cc != CC_LOGIC && !defer;
    int res = a;
    if (!write) {
        if (!lw->live) {
            return true;        /* CMP/TEST whose flags nothing sees */
        }
        if (cc == CC_LOGIC) {
            x_mov32(c, H_RES, a);
            res = H_RES;
        } else {
            hop = XA_CMP;       /* its record needs no result */
        }
    } else if (operands) {
        x_mov32(c, H_A, a);     /* the old value, for cc_a */
        if (b == a) {
            b = H_A;
        }
    }
    if (imm) {
        x_alu32i(c, hop, res, in->imm);
    } else {
        x_alu32(c, hop, res, b);
    }
    if (defer) {
        x_st32(c, DEFER_VAL, res);      /* (a store: the host flags stay) */
        lw->defer = defer_alu(cc);
        lw->defer_imm = imm ? in->imm : 0;
        lw->defer_fresh = true;
        lw->cc_known = false;
    } else if (lw->live) {
        lw->cc_known = cc == CC_ADD || cc == CC_SUB || cc == CC_LOGIC;
        lw->cc_op_known = (uint8_t)cc;
        lw->cc_size_known = 32;
        st_cc_op(c, cc | 32 << 8);
        if (cc == CC_LOGIC) {
            x_st32(c, CPU_FIELD(cc_res), res);  /* (ADD, SUB: it follows from a and b) */
        }
        if (operands) {
            x_st32(c, CPU_FIELD(cc_a), write ? H_A : a);
            if (imm) {
                x_st32i(c, CPU_FIELD(cc_b), in->imm);
            } else {
                x_st32(c, CPU_FIELD(cc_b), b);
            }
        }
    } else {
        lw->cc_known = false;
    }
    if (write) {
        rc_set_dirty(lw, dst_r);
    }
    lw->host_flags = true;
    return true;
}

/*
 * ADD/OR/AND/SUB/XOR/CMP/TEST of the E operand with a register or an
 * immediate.  `g_dst`: the result goes to the G register (the Gv,Ev forms).
 */
static bool lower_alu(struct lower *lw, const struct insn *in, int op, int size, int src,
                      bool imm, bool g_dst, uint32_t eip, uint32_t next)
{
    struct cbuf *c = &lw->c;
    if (in->mod != 3 && !mem_ok(lw, in->seg)) {
        return false;
    }
    bool write = op != XA_CMP && op != 8;   /* 8: TEST */
    int cc = (op == XA_ADD) ? CC_ADD : (op == XA_SUB || op == XA_CMP) ? CC_SUB
           : op == XA_ADC ? CC_ADC : op == XA_SBB ? CC_SBB : CC_LOGIC;
    bool carry = op == XA_ADC || op == XA_SBB;
    if (carry) {
        lower_cond_value(lw, XC_B);
        x_st32(c, CARRY_IN, X_RAX);
    }
    if (op == 8) {
        op = XA_AND;
    }
    if ((in->mod == 3 || g_dst) && size == 32 && !carry) {
        return lower_alu_reg(lw, in, op, write, cc, src, imm, g_dst, eip);
    }
    bool mem_dst = in->mod != 3 && write && !g_dst;
    load_E_as(lw, in, size, g_dst ? H_B : H_A, eip, mem_dst);
    int other = g_dst ? H_A : H_B;
    if (imm) {
        x_movi32(c, other, in->imm & size_mask(size));
    } else {
        load_greg(lw, other, src, size);
    }
    alu_op(lw, op, size);
    if (mem_dst) {
        /* the store first: if it faults, the flags are untouched */
        x_mov32(c, X_RDX, H_RES);
        emit_store_rmw(lw, in->seg, size, eip);
    }
    if (lw->live) {
        set_cc(lw, cc, size, cc != CC_LOGIC);
        if (carry) {
            x_ld32(c, X_RCX, CARRY_IN);
            x_st32(c, CPU_FIELD(cc_aux), X_RCX);
        }
    } else {
        lw->cc_known = false;
    }
    if (mem_dst) {
        lower_stop_check(lw, next, 1);
        if (lw->live_read) {
            alu_op(lw, op, size);   /* again: the store's TLB lookup took the host flags */
            lw->host_flags = true;
        }
        return true;
    }
    if (write) {
        store_greg(lw, g_dst ? in->reg : in->rm, size, H_RES);
    }
    lw->host_flags = true;
    return true;
}

/* MOV to the E operand from H (register or memory). */
static bool store_E(struct lower *lw, const struct insn *in, int size, uint32_t eip, uint32_t next,
                    int h)
{
    if (in->mod == 3) {
        store_greg(lw, in->rm, size, h);
        return true;
    }
    emit_ea(lw, in);
    if (h != X_RDX) {
        x_mov32(&lw->c, X_RDX, h);
    }
    emit_store_last(lw, in->seg, size, eip, next);
    return true;
}

static bool lower_mov(struct lower *lw, const struct insn *in, uint32_t eip, uint32_t next)
{
    op_fn *fn = in->op->fn;
    int size = (fn == op_mov_Eb_Gb || fn == op_mov_Gb_Eb || fn == op_mov_Eb_Ib) ? 8 : in->opsize;
    if (in->mod != 3 && !mem_ok(lw, in->seg)) {
        return false;
    }
    if (in->mod == 3 && size == 32) {
        /* register to register, between the cached copies */
        bool to_e = fn == op_mov_Ev_Gv;
        if (to_e || fn == op_mov_Gv_Ev) {
            int from = rc_reg(lw, to_e ? in->reg : in->rm);
            int d = rc_slot(lw, to_e ? in->rm : in->reg, false);
            x_mov32(&lw->c, rc_host[d], from);
            lw->rc.dirty |= (uint8_t)(1u << d);
            return true;
        }
    }
    if (fn == op_mov_Ev_Gv || fn == op_mov_Eb_Gb) {
        if (in->mod == 3) {
            load_greg(lw, X_RDX, in->reg, size);
            return store_E(lw, in, size, eip, next, X_RDX);
        }
        emit_ea(lw, in);
        load_greg(lw, X_RDX, in->reg, size);
        emit_store_last(lw, in->seg, size, eip, next);
        return true;
    }
    if (fn == op_mov_Gv_Ev && size == 32 && in->mod != 3 && seg_flat(lw, in->seg)) {
        /* a dword load straight into the destination's host register */
        emit_ea(lw, in);
        int i = rc_slot(lw, in->reg, false);
        emit_flat_access(lw, STUB_LOAD, in->seg, 32, eip, rc_host[i]);
        lw->rc.dirty |= (uint8_t)(1u << i);
        return true;
    }
    if (fn == op_mov_Gv_Ev || fn == op_mov_Gb_Eb) {
        load_E(lw, in, size, X_RDX, eip);
        store_greg(lw, in->reg, size, X_RDX);
        return true;
    }
    /* MOV E, imm */
    if (in->mod == 3) {
        store_greg_imm(lw, in->rm, size, in->imm);
        return true;
    }
    emit_ea(lw, in);
    x_movi32(&lw->c, X_RDX, in->imm);
    emit_store_last(lw, in->seg, size, eip, next);
    return true;
}

static bool lower_ext(struct lower *lw, const struct insn *in, int from, bool sx, uint32_t eip)
{
    if (in->mod != 3 && !mem_ok(lw, in->seg)) {
        return false;
    }
    load_E(lw, in, from, X_RDX, eip);
    if (sx) {
        if (from == 8) {
            x_movsx8(&lw->c, X_RDX, X_RDX);
        } else {
            x_movsx16(&lw->c, X_RDX, X_RDX);
        }
    }
    store_greg(lw, in->reg, in->opsize, X_RDX);
    return true;
}

/* ESP += n, after the stack access (which left the cache as it was). */
static void esp_add(struct lower *lw, int n)
{
    x_alu32i(&lw->c, XA_ADD, rc_reg(lw, R_ESP), (uint32_t)n);
    rc_set_dirty(lw, R_ESP);
}

/* PUSH of H (EDX) at SS:ESP - size/8, 32-bit stack only. */
static void emit_push(struct lower *lw, int size, uint32_t eip)
{
    struct cbuf *c = &lw->c;
    x_lea32(c, X_RAX, xm(rc_reg(lw, R_ESP), -size / 8));
    emit_store(lw, S_SS, size, eip);
    esp_add(lw, -size / 8);
}

static bool stack_ok(const struct lower *lw)
{
    return lw->k->flags & JK_STACK32;
}

/* ECX = index * 3 of the return-address cache entry at `top + delta`, and
 * the top becomes that index + `move` (the entry is at jit_ras + ECX * 8). */
static void ras_index(struct lower *lw, int delta, int move)
{
    struct cbuf *c = &lw->c;
    x_ldzx8(c, X_RCX, CPU_FIELD(jit_ras_top));
    if (delta) {
        x_lea32(c, X_RCX, xm(X_RCX, delta));
        x_alu32i(c, XA_AND, X_RCX, 15);
    }
    x_lea32(c, X_RAX, xm(X_RCX, move));
    x_alu32i(c, XA_AND, X_RAX, 15);
    x_st8(c, CPU_FIELD(jit_ras_top), X_RAX);
    x_lea32(c, X_RCX, (struct xmem){ X_RCX, X_RCX, 1, 0 });
}

static struct xmem ras_field(size_t field)
{
    _Static_assert(sizeof(struct jit_ras) == 24, "return cache entry: 3 quadwords");
    return (struct xmem){ X_RBX, X_RCX, 3, (int32_t)(offsetof(struct cpu, jit_ras) + field) };
}

bool lower_call_push(struct lower *lw, const struct insn *in, uint32_t eip, uint32_t next)
{
    struct cbuf *c = &lw->c;
    uint32_t target = next + in->imm;
    if (in->opsize == 16) {
        target &= 0xFFFF;
    }
    if (!stack_ok(lw) || (target > lw->k->cs_limit && ((lw->k->flags & JK_PE) || target > 0xFFFF))) {
        return false;
    }
    x_movi32(c, X_RDX, next);
    emit_push(lw, in->opsize, eip);
    lower_stop_check(lw, target, 1);    /* (the CALL is done: it goes on at the target) */
    /* the return-address cache: (next, the code there, this site) */
    ras_index(lw, 0, 1);
    x_st32i(c, ras_field(offsetof(struct jit_ras, eip)), next);
    uint32_t page = lw->k->cs_base + lw->k->eip;
    bool same_page = (((lw->k->cs_base + next) ^ page) & ~0xFFFu) == 0;
    x_byte(c, 0x48);    /* mov rax, imm64: the code, filled in by jit_lookup_ret */
    x_byte(c, 0xB8);
    uint8_t *site = c->p;
    x_u64(c, 0);
    x_st64(c, ras_field(offsetof(struct jit_ras, code)), X_RAX);
    x_movi64(c, X_RAX, same_page ? (uint64_t)(uintptr_t)site : 0);
    x_st64(c, ras_field(offsetof(struct jit_ras, site)), X_RAX);
    return true;
}

bool lower_ret(struct lower *lw, const struct insn *in, uint32_t eip)
{
    struct cbuf *c = &lw->c;
    if (!stack_ok(lw) || lw->k->cs_limit != 0xFFFFFFFFu) {
        return false;
    }
    load_greg(lw, X_RAX, R_ESP, 32);
    emit_load(lw, S_SS, in->opsize, eip);
    esp_add(lw, in->opsize / 8 + (in->opcode == 0xC2 ? (in->imm & 0xFFFF) : 0));
    x_st32(c, CPU_FIELD(eip), X_RDX);
    return true;
}

void lower_ret_predict(struct lower *lw, const void *slow_fn)
{
    struct cbuf *c = &lw->c;
    const struct jit_key *k = lw->k;
    lower_sync(lw);
    /* pop the cache; EDX holds the target (lower_ret) */
    ras_index(lw, 15, 0);
    x_alu32_ld(c, XA_CMP, X_RDX, ras_field(offsetof(struct jit_ras, eip)));
    uint8_t *miss = x_jcc32(c, XC_NE);
    x_ld64(c, X_R8, ras_field(offsetof(struct jit_ras, site)));
    x_ld64(c, X_RAX, ras_field(offsetof(struct jit_ras, code)));
    x_test32(c, X_RAX, X_RAX);
    uint8_t *unknown = x_jcc32(c, XC_E);
    x_jmp_reg(c, X_RAX);
    x_patch32(miss, c->p);
    x_movi32(c, X_R8, 0);
    x_patch32(unknown, c->p);
    /* jit_lookup_ret(cpu, cs_base, flags, cs_limit, site or NULL) */
    x_mov64(c, X_RDI, X_RBX);
    x_movi32(c, X_RSI, k->cs_base);
    x_movi32(c, X_RDX, k->flags);
    x_movi32(c, X_RCX, k->cs_limit);
    x_call_abs(c, slow_fn);
    x_test32(c, X_RAX, X_RAX);
    x_patch32(x_jcc32(c, XC_E), lw->j->exit_null);
    x_jmp_reg(c, X_RAX);
}

static bool lower_push_pop(struct lower *lw, const struct insn *in, uint32_t eip, uint32_t next)
{
    struct cbuf *c = &lw->c;
    op_fn *fn = in->op->fn;
    if (!stack_ok(lw)) {
        return false;
    }
    if (fn == op_push_Zv || fn == op_push_Iz) {
        if (fn == op_push_Zv) {
            load_greg(lw, X_RDX, in->opcode & 7, in->opsize);
        } else {
            x_movi32(c, X_RDX, in->imm);
        }
        emit_push(lw, in->opsize, eip);
        lower_stop_check(lw, next, 1);
        return true;
    }
    /* POP r: read, ESP += size, then the register (POP ESP loads ESP) */
    load_greg(lw, X_RAX, R_ESP, 32);
    emit_load(lw, S_SS, in->opsize, eip);
    esp_add(lw, in->opsize / 8);
    store_greg(lw, in->opcode & 7, in->opsize, X_RDX);
    return true;
}

static bool lower_lea(struct lower *lw, const struct insn *in)
{
    if (in->opsize == 32 && in->adsize == 32) {
        /* straight into the destination's host register: the base and
         * index were used last, so making its slot evicts neither */
        struct xmem m = ea_form(lw, in);
        int i = rc_slot(lw, in->reg, false);
        emit_ea_form(lw, m, rc_host[i]);
        lw->rc.dirty |= (uint8_t)(1u << i);
        return true;
    }
    emit_ea(lw, in);
    store_greg(lw, in->reg, in->opsize, X_RAX);
    return true;
}

/* H_RES = H_A + 1 or - 1 by a host INC/DEC at the guest's width: ZF SF OF PF as the guest's. */
static void emit_incdec(struct lower *lw, bool dec, int size)
{
    struct cbuf *c = &lw->c;
    x_mov32(c, H_RES, H_A);
    char o[2] = { 0x66, (char)(size == 8 ? 0xFE : 0xFF) };
    if (size == 16) {
        x_op_reg(c, false, o, 2, dec ? 1 : 0, H_RES, false);
    } else {
        x_op_reg(c, false, o + 1, 1, dec ? 1 : 0, H_RES, size == 8);
    }
}

static bool is_incdec(op_fn *fn)
{
    return fn == op_inc_Zv || fn == op_dec_Zv || fn == op_inc_Ev || fn == op_dec_Ev ||
           fn == op_inc_Eb || fn == op_dec_Eb;
}

/* How INC/DEC get the old CF into cc_aux (their record needs no operands). */
enum { CF_IN_HB, CF_ZERO, CF_KEPT };

static int incdec_cf(struct lower *lw)
{
    if (lw->defer) {
        emit_defer_cf(lw, H_B);
        return CF_IN_HB;
    }
    if (lw->cc_known && (lw->cc_op_known == CC_INC || lw->cc_op_known == CC_DEC)) {
        return CF_KEPT;     /* cc_aux holds it already */
    }
    if (lw->cc_known && lw->cc_op_known == CC_LOGIC) {
        return CF_ZERO;
    }
    emit_cf(lw, H_B);
    return CF_IN_HB;
}

static void incdec_store_cf(struct lower *lw, int how)
{
    if (how == CF_IN_HB) {
        x_st32(&lw->c, CPU_FIELD(cc_aux), H_B);
    } else if (how == CF_ZERO) {
        x_st32i(&lw->c, CPU_FIELD(cc_aux), 0);
    }
}

/* INC/DEC r: CF is kept (cc_aux = the old CF, from cpu_cf). */
static bool lower_incdec(struct lower *lw, const struct insn *in, bool dec, int r, int size,
                         uint32_t eip, uint32_t next)
{
    struct cbuf *c = &lw->c;
    bool mem = in && in->mod != 3;
    int how = lw->live ? incdec_cf(lw) : CF_KEPT;   /* kept in H_B until the flags are written */
    lw->cc_known = false;
    lw->host_flags = false;
    if (!mem && size == 32) {
        int a = rc_reg(lw, r);
        x_op_reg(c, false, "\xFF", 1, dec ? 1 : 0, a, false);   /* inc/dec */
        if (lw->live) {
            incdec_store_cf(lw, how);
            st_cc_op(c, (dec ? CC_DEC : CC_INC) | 32 << 8);
            x_st32(c, CPU_FIELD(cc_res), a);
            cc_known_as(lw, dec ? CC_DEC : CC_INC, 32);
        }
        rc_set_dirty(lw, r);
        lw->host_flags = true;
        lw->host_flags_nocf = true;
        return true;
    }
    if (mem) {
        load_E_as(lw, in, size, H_A, eip, true);
    } else {
        load_greg(lw, H_A, r, size);
    }
    emit_incdec(lw, dec, size);
    if (mem) {
        x_mov32(c, X_RDX, H_RES);
        emit_store_rmw(lw, in->seg, size, eip);
    }
    if (lw->live) {
        incdec_store_cf(lw, how);
        set_cc(lw, dec ? CC_DEC : CC_INC, size, false);
        cc_known_as(lw, dec ? CC_DEC : CC_INC, size);
    }
    if (mem) {
        lower_stop_check(lw, next, 1);
        if (!lw->live_read) {
            return true;
        }
        emit_incdec(lw, dec, size);     /* again: the store's TLB lookup took the host flags */
    } else {
        store_greg(lw, r, size, H_RES);
    }
    lw->host_flags = true;          /* only MOVs since the INC/DEC */
    lw->host_flags_nocf = true;
    return true;
}

/* After a host MUL/IMUL (CF = OF = the product overflowed), the guest's
 * record as cc_mul leaves it, when its flags are live: res the low half. */
static void emit_mul_flags(struct lower *lw, int res)
{
    struct cbuf *c = &lw->c;
    if (!lw->live) {
        lw->cc_known = false;
        return;
    }
    x_setcc(c, XC_B, X_RAX);
    x_movzx8(c, X_RAX, X_RAX);
    x_op_reg(c, false, "\x69", 1, X_RAX, X_RAX, false);   /* * (F_CF | F_OF) */
    x_u32(c, F_CF | F_OF);
    x_st32(c, CPU_FIELD(cc_aux), X_RAX);
    st_cc_op(c, CC_SHIFT | 32 << 8);
    x_st32(c, CPU_FIELD(cc_res), res);
    cc_known_as(lw, CC_SHIFT, 32);
}

/* IMUL r32, r/m32 and IMUL r32, r/m32, imm: CF = OF = the product overflowed. */
static bool lower_imul(struct lower *lw, const struct insn *in, uint32_t eip)
{
    struct cbuf *c = &lw->c;
    if (in->opsize != 32) {
        return false;
    }
    /* multiplied in the destination's cached register */
    int src = H_A;
    if (in->mod == 3) {
        src = rc_reg(lw, in->rm);
    } else {
        load_E(lw, in, 32, H_A, eip);
    }
    bool two = in->op->fn == op_imul_Gv_Ev;     /* reads the destination too */
    int i = rc_slot(lw, in->reg, two || (in->mod == 3 && in->rm == in->reg));
    int d = rc_host[i];
    if (two) {
        x_op_reg(c, false, "\x0F\xAF", 2, d, src, false);
    } else {
        x_op_reg(c, false, "\x69", 1, d, src, false);
        x_u32(c, in->imm);
    }
    emit_mul_flags(lw, d);
    lw->rc.dirty |= (uint8_t)(1u << i);
    return true;
}

/*
 * MUL, IMUL and DIV of EDX:EAX by a 32-bit r/m: the host's own MUL/IMUL/DIV.
 * DIV's #DE (EDX >= divisor, which covers a zero divisor: the quotient
 * would not fit) goes to a stub before anything is written.
 */
static bool lower_muldiv(struct lower *lw, const struct insn *in, uint32_t eip)
{
    struct cbuf *c = &lw->c;
    op_fn *fn = in->op->fn;
    if (in->opsize != 32 || (in->mod != 3 && !mem_ok(lw, in->seg))) {
        return false;
    }
    load_E(lw, in, 32, H_B, eip);
    load_greg(lw, X_RAX, R_EAX, 32);
    if (fn == op_div_Ev) {
        load_greg(lw, X_RDX, R_EDX, 32);
        x_alu32(c, XA_CMP, X_RDX, H_B);
        struct lower_stub *s = new_stub(lw, STUB_DE);
        s->site = x_jcc32(c, XC_AE);
        s->eip = eip;
        x_op_reg(c, false, "\xF7", 1, 6, H_B, false);     /* div r13d */
        store_greg(lw, R_EAX, 32, X_RAX);
        store_greg(lw, R_EDX, 32, X_RDX);
        return true;
    }
    x_op_reg(c, false, "\xF7", 1, fn == op_mul_Ev ? 4 : 5, H_B, false);   /* mul/imul r13d */
    x_mov32(c, H_RES, X_RAX);
    x_mov32(c, H_A, X_RDX);
    emit_mul_flags(lw, H_RES);
    store_greg(lw, R_EAX, 32, H_RES);
    store_greg(lw, R_EDX, 32, H_A);
    return true;
}

/* Rotates change only CF and OF: the other flags become eager. */
static void jit_rot_flags(struct cpu *cpu, uint32_t cf_of)
{
    uint32_t f = cpu_get_eflags(cpu) & ~(F_CF | F_OF);
    cc_set_eager(cpu, f | cf_of);
}

/*
 * EAX = F_CF | F_OF for a shift or rotate just done on H_RES (host CF is
 * the last bit out: for ROL the result's LSB, for ROR its MSB).
 */
static void shift_cf_of(struct lower *lw, int kind, int res, int size)
{
    struct cbuf *c = &lw->c;
    x_setcc(c, XC_B, X_RAX);
    x_movzx8(c, X_RAX, X_RAX);
    if (kind == 7) {
        return;                     /* SAR: OF = 0 */
    }
    x_mov32(c, X_RCX, res);
    if (kind == 1 || kind == 5) {   /* ROR, SHR: the top two bits of the result */
        x_shifti32(c, XS_SHR, X_RCX, (uint8_t)(size - 2));
        x_mov32(c, X_RDX, X_RCX);
        x_shifti32(c, XS_SHR, X_RDX, 1);
        x_alu32(c, XA_XOR, X_RCX, X_RDX);
        x_alu32i(c, XA_AND, X_RCX, 1);
    } else {                        /* ROL, SHL: CF ^ the top bit of the result */
        x_shifti32(c, XS_SHR, X_RCX, (uint8_t)(size - 1));
        x_alu32(c, XA_XOR, X_RCX, X_RAX);
    }
    x_shifti32(c, XS_SHL, X_RCX, 11);
    x_alu32(c, XA_OR, X_RAX, X_RCX);
}

/*
 * SHL/SHR/SAR of an 8- or 16-bit register by a count below its width: the
 * host's shift at that width gives the result and CF (the last bit out).
 */
static bool lower_shift_narrow(struct lower *lw, const struct insn *in, int size, unsigned n,
                               bool live)
{
    struct cbuf *c = &lw->c;
    int kind = in->reg;
    load_greg(lw, H_RES, in->rm, size);         /* zero-extended */
    bool defer = live && !lw->live_read;
    if (defer) {
        x_st32(c, DEFER_VAL, H_RES);
    }
    static const int hop[8] = { 0, 0, 0, 0, XS_SHL, XS_SHR, XS_SHL, XS_SAR };
    if (size == 16) {
        char o[2] = { 0x66, (char)0xC1 };
        x_op_reg(c, false, o, 2, hop[kind], H_RES, false);
    } else {
        x_op_reg(c, false, "\xC0", 1, hop[kind], H_RES, true);
    }
    x_byte(c, (uint8_t)n);
    lw->cc_known = false;
    if (defer) {
        lw->defer = defer_code(size, kind, n);
        lw->defer_fresh = true;
    } else if (live) {
        shift_cf_of(lw, kind, H_RES, size);
        x_st32(c, CPU_FIELD(cc_aux), X_RAX);
        st_cc_op(c, CC_SHIFT | size << 8);
        x_st32(c, CPU_FIELD(cc_res), H_RES);
        cc_known_as(lw, CC_SHIFT, size);
    }
    store_greg(lw, in->rm, size, H_RES);
    return true;
}

/* SHL/SHR/SAR/ROL/ROR of a 32-bit register by an immediate, 1 or CL. */
static bool lower_shift(struct lower *lw, const struct insn *in, bool live)
{
    struct cbuf *c = &lw->c;
    int kind = in->reg;
    bool by_cl = (in->opcode & 0xFE) == 0xD2;
    unsigned n = ((in->opcode & 0xFE) == 0xD0 ? 1 : in->imm) & 31;
    int size = (in->opcode & 1) ? in->opsize : 8;
    if (in->mod == 3 && size < 32 && !by_cl && kind >= 4 && n >= 1 && n < (unsigned)size) {
        return lower_shift_narrow(lw, in, size, n, live);
    }
    if (in->mod != 3 || in->opsize != 32 || !(in->opcode & 1) || kind == 2 || kind == 3) {
        return false;
    }
    if (!by_cl && n == 0) {
        return true;    /* a masked count of 0 changes nothing */
    }
    static const int hop[8] = { XS_ROL, XS_ROR, XS_RCL, XS_RCR, XS_SHL, XS_SHR, XS_SHL, XS_SAR };
    int res = rc_reg(lw, in->rm);   /* shifted where it is cached */
    /* flags only a fault could see: slow paths compute them from jit_defer
     * (not by CL: a count of 0 would skip setting it) */
    bool defer = live && !lw->live_read && !by_cl;
    if (defer) {
        x_st32(c, DEFER_VAL, res);
    }
    uint8_t *skip = NULL;
    if (by_cl) {
        load_greg(lw, X_RCX, R_ECX, 32);      /* (rm stays cached: no slot changes below) */
        x_alu32i(c, XA_AND, X_RCX, 31);
        skip = x_jcc32(c, XC_E);
        x_shiftcl32(c, hop[kind], res);
    } else {
        x_shifti32(c, hop[kind], res, (uint8_t)n);
    }
    if (defer) {
        lw->defer = defer_code(32, kind, n);
        lw->defer_fresh = true;
        lw->cc_known = false;
    } else if (live) {
        shift_cf_of(lw, kind, res, 32);
        if (kind <= 1) {
            rc_save(lw, &lw->rc, 0);
            x_mov32(c, X_RSI, X_RAX);
            x_mov64(c, X_RDI, X_RBX);
            x_call_abs(c, (const void *)jit_rot_flags);
            rc_restore(lw, &lw->rc, 0);
        } else {
            x_st32(c, CPU_FIELD(cc_aux), X_RAX);
            st_cc_op(c, CC_SHIFT | 32 << 8);
            x_st32(c, CPU_FIELD(cc_res), res);
        }
        lw->cc_known = false;
        if (kind > 1 && !by_cl) {
            cc_known_as(lw, CC_SHIFT, 32);  /* (by CL: a count of 0 keeps the old record) */
        }
    }
    rc_set_dirty(lw, in->rm);
    if (skip) {
        x_patch32(skip, c->p);
    }
    return true;
}

static bool lower_setcc_cmov(struct lower *lw, const struct insn *in, uint32_t eip)
{
    struct cbuf *c = &lw->c;
    if (in->op->fn == op_setcc) {
        if (in->mod != 3) {
            return false;
        }
        lower_cond_value(lw, in->opcode & 15);
        store_greg(lw, in->rm, 8, X_RAX);
        return true;
    }
    /* the source is read (and may fault) whatever the condition */
    load_E(lw, in, in->opsize, H_A, eip);
    rc_slot(lw, in->reg, true);     /* cached on both paths: the store below only moves */
    lower_cond_value(lw, in->opcode & 15);
    x_test32(c, X_RAX, X_RAX);
    uint8_t *skip = x_jcc32(c, XC_E);
    store_greg(lw, in->reg, in->opsize, H_A);
    x_patch32(skip, c->p);
    return true;
}

/* NOT and NEG of a register. */
static bool lower_not_neg(struct lower *lw, const struct insn *in, int size, bool neg, bool live)
{
    struct cbuf *c = &lw->c;
    if (in->mod != 3) {
        return false;
    }
    if (size == 32) {
        int a = rc_reg(lw, in->rm);
        if (neg && live) {
            x_mov32(c, H_B, a);     /* the operand, for cc_b (NEG is 0 - it) */
        }
        x_op_reg(c, false, "\xF7", 1, neg ? 3 : 2, a, false);   /* neg/not */
        if (neg) {
            if (live) {
                st_cc_op(c, CC_SUB | 32 << 8);
                x_st32(c, CPU_FIELD(cc_res), a);
                x_st32i(c, CPU_FIELD(cc_a), 0);
                x_st32(c, CPU_FIELD(cc_b), H_B);
                lw->cc_known = true;
                lw->cc_op_known = CC_SUB;
                lw->cc_size_known = 32;
            } else {
                lw->cc_known = false;
            }
            lw->host_flags = true;  /* the host's NEG: the flags of 0 - operand */
        }
        rc_set_dirty(lw, in->rm);
        return true;
    }
    load_greg(lw, H_B, in->rm, size);
    if (neg) {
        x_movi32(c, H_A, 0);
        alu_op(lw, XA_SUB, size);
        if (live) {
            set_cc(lw, CC_SUB, size, true);
        } else {
            lw->cc_known = false;
        }
        store_greg(lw, in->rm, size, H_RES);
        lw->host_flags = true;
        return true;
    }
    x_op_reg(c, false, "\xF7", 1, 2, H_B, false);   /* not r13d */
    store_greg(lw, in->rm, size, H_B);
    return true;
}

bool lower_insn(struct lower *lw, const struct insn *in, uint32_t eip, uint32_t next, bool live,
                bool live_read)
{
    op_fn *fn = in->op->fn;
    lw->host_flags = false;
    lw->host_flags_nocf = false;
    lw->live = live;
    lw->live_read = live_read;
    bool done = false;
    bool overwrites = false;
    lw->defer_fresh = false;
    if (lw->defer) {
        int fx = lower_flag_effect(in);
        if (is_incdec(fn) && !(fx & FX_READS)) {
            overwrites = true;      /* its CF comes from jit_defer (emit_defer_cf) */
        } else if (fx & (FX_READS | FX_PARTIAL)) {
            lower_materialize(lw);
        } else {
            overwrites = fx & FX_WRITES;
        }
    }
    lw->cur_overwrites = overwrites;
    int bsize = insn_bsize(in);
    if (fn == op_alu_Ev_Gv || fn == op_alu_Eb_Gb) {
        done = lower_alu(lw, in, (in->opcode >> 3) & 7, bsize, in->reg, false, false, eip, next);
    } else if (fn == op_alu_Gv_Ev || fn == op_alu_Gb_Eb) {
        done = lower_alu(lw, in, (in->opcode >> 3) & 7, bsize, in->reg, false, true, eip, next);
    } else if (fn == op_alu_Ev_Iz || fn == op_alu_Eb_Ib) {
        done = lower_alu(lw, in, in->reg, fn == op_alu_Eb_Ib ? 8 : in->opsize, 0, true, false,
                         eip, next);
    } else if (fn == op_alu_eAX_Iz || fn == op_alu_AL_Ib) {
        struct insn r = *in;
        r.mod = 3;
        r.rm = R_EAX;
        done = lower_alu(lw, &r, (in->opcode >> 3) & 7, bsize, 0, true, false, eip, next);
    } else if (fn == op_test_Ev_Gv || fn == op_test_Eb_Gb) {
        done = lower_alu(lw, in, 8, bsize, in->reg, false, false, eip, next);
    } else if (fn == op_test_Ev_Iz || fn == op_test_Eb_Ib) {
        done = lower_alu(lw, in, 8, bsize, 0, true, false, eip, next);
    } else if (fn == op_test_eAX_Iz || fn == op_test_AL_Ib) {
        struct insn r = *in;
        r.mod = 3;
        r.rm = R_EAX;
        done = lower_alu(lw, &r, 8, bsize, 0, true, false, eip, next);
    } else if (fn == op_mov_Ev_Gv || fn == op_mov_Eb_Gb || fn == op_mov_Gv_Ev ||
               fn == op_mov_Gb_Eb || fn == op_mov_Ev_Iz || fn == op_mov_Eb_Ib) {
        done = lower_mov(lw, in, eip, next);
    } else if (fn == op_mov_Zv_Iv) {
        store_greg_imm(lw, in->opcode & 7, in->opsize, in->imm);
        done = true;
    } else if (fn == op_mov_Zb_Ib) {
        store_greg_imm(lw, in->opcode & 7, 8, in->imm);
        done = true;
    } else if (fn == op_movzx_Gv_Eb || fn == op_movzx_Gv_Ew || fn == op_movsx_Gv_Eb ||
               fn == op_movsx_Gv_Ew) {
        done = lower_ext(lw, in, (fn == op_movzx_Gv_Eb || fn == op_movsx_Gv_Eb) ? 8 : 16,
                         fn == op_movsx_Gv_Eb || fn == op_movsx_Gv_Ew, eip);
    } else if (fn == op_lea_Gv_M) {
        done = lower_lea(lw, in);
    } else if (fn == op_mov_eAX_Ov || fn == op_mov_AL_Ob || fn == op_mov_Ov_eAX ||
               fn == op_mov_Ob_AL) {
        /* moffs: the same as MOV with a [disp] operand and the accumulator */
        struct insn r = *in;
        r.mod = 0;
        r.base = r.index = REG_NONE;
        r.disp = (int32_t)in->imm;
        r.reg = R_EAX;
        bool load = fn == op_mov_eAX_Ov || fn == op_mov_AL_Ob;
        bool byte = fn == op_mov_AL_Ob || fn == op_mov_Ob_AL;
        r.op = &(const struct opdesc){ .fn = load ? (byte ? op_mov_Gb_Eb : op_mov_Gv_Ev)
                                                  : (byte ? op_mov_Eb_Gb : op_mov_Ev_Gv) };
        done = lower_mov(lw, &r, eip, next);
    } else if (fn == op_shift_Ev || fn == op_shift_Eb) {
        done = lower_shift(lw, in, live);
    } else if (fn == op_imul_Gv_Ev || fn == op_imul_Gv_Ev_Iz) {
        done = lower_imul(lw, in, eip);
    } else if (fn == op_mul_Ev || fn == op_imul_Ev || fn == op_div_Ev) {
        done = lower_muldiv(lw, in, eip);
    } else if (fn == op_setcc || fn == op_cmov) {
        done = lower_setcc_cmov(lw, in, eip);
    } else if (fn == op_not_Ev || fn == op_not_Eb || fn == op_neg_Ev || fn == op_neg_Eb) {
        done = lower_not_neg(lw, in, (fn == op_not_Eb || fn == op_neg_Eb) ? 8 : in->opsize,
                             fn == op_neg_Ev || fn == op_neg_Eb, live);
    } else if (fn == op_push_Zv || fn == op_push_Iz || fn == op_pop_Zv) {
        done = lower_push_pop(lw, in, eip, next);
    } else if (fn == op_inc_Zv || fn == op_dec_Zv) {
        done = lower_incdec(lw, NULL, fn == op_dec_Zv, in->opcode & 7, in->opsize, eip, next);
    } else if (fn == op_inc_Ev || fn == op_dec_Ev || fn == op_inc_Eb || fn == op_dec_Eb) {
        done = lower_incdec(lw, in, fn == op_dec_Ev || fn == op_dec_Eb, in->rm,
                            (fn == op_inc_Eb || fn == op_dec_Eb) ? 8 : in->opsize, eip, next);
    }
    if (done) {
        lw->pending++;
        if (overwrites && !lw->defer_fresh) {
            lw->defer = 0;      /* its flags replaced the deferred ones */
        }
    }
    lw->cur_overwrites = false;
    lw->defer_fresh = false;
    return done;
}
