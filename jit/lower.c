/*
 * lower.c - inline host code for the hot instruction forms.
 *
 * Everything here must leave struct cpu exactly as the interpreter's
 * handler would; the lockstep mode (jit/check.c) and the differential
 * tests (tests/cpu/difftest --accel jit) tie the two together.
 *
 * Host registers: RBX = struct cpu *.  Between guest instructions nothing
 * else is live.  Within one: EAX the guest offset of a memory operand,
 * EDX the value loaded or stored, ECX/ESI the TLB lookup, R12-R15 operands
 * and results (callee-saved, so they survive a slow-path call).
 *
 * Memory operands through a flat segment (base 0, limit 4 GiB, a present
 * writable data segment: the block's key says which are) take the TLB
 * lookup inline; a miss calls the jit_ld and jit_st helpers (cpu_rd, cpu_wr) out of line
 * with EIP and icount set for a precise fault.  Other segments call those
 * helpers in line.  Order follows the handlers: an instruction's memory
 * store comes before its register and flag updates, so a faulting store
 * leaves them untouched.
 */
#include "lower.h"

#include "cpu/mem.h"
#include "cpu/ops.h"

enum { STUB_LOAD, STUB_STORE, STUB_STOP };

#define H_A X_R12       /* first operand */
#define H_B X_R13       /* second operand */
#define H_ADDR X_R14    /* an offset kept across a load (read-modify-write, stack) */
#define H_RES X_R15     /* result */

/* --- slow-path helpers (called from generated code) --- */

static uint32_t jit_ld8(struct cpu *cpu, int seg, uint32_t off) { return cpu_rd(cpu, seg, off, 8); }
static uint32_t jit_ld16(struct cpu *cpu, int seg, uint32_t off) { return cpu_rd(cpu, seg, off, 16); }
static uint32_t jit_ld32(struct cpu *cpu, int seg, uint32_t off) { return cpu_rd(cpu, seg, off, 32); }
static void jit_st8(struct cpu *cpu, int seg, uint32_t off, uint32_t v) { cpu_wr(cpu, seg, off, 8, v); }
static void jit_st16(struct cpu *cpu, int seg, uint32_t off, uint32_t v) { cpu_wr(cpu, seg, off, 16, v); }
static void jit_st32(struct cpu *cpu, int seg, uint32_t off, uint32_t v) { cpu_wr(cpu, seg, off, 32, v); }

void lower_init(struct lower *lw, struct jit *j, const struct jit_key *k, uint8_t *start,
                uint8_t *end)
{
    lw->c = (struct cbuf){ start, end, false };
    lw->j = j;
    lw->k = k;
    lw->pending = 0;
    lw->host_flags = false;
    lw->nstubs = 0;
}

void lower_flush_icount(struct lower *lw)
{
    if (lw->pending) {
        x_alu64i_mem(&lw->c, XA_ADD, CPU_FIELD(icount), (int32_t)lw->pending);
        lw->pending = 0;
    }
}

static struct lower_stub *new_stub(struct lower *lw, int kind)
{
    if (lw->nstubs == LOWER_MAX_STUBS) {
        lw->c.overflow = true;   /* the translator ends the block earlier */
        static struct lower_stub sink;
        return &sink;
    }
    struct lower_stub *s = &lw->stubs[lw->nstubs++];
    s->kind = (uint8_t)kind;
    s->pending = (uint16_t)lw->pending;
    return s;
}

/* EAX = the effective offset of in's memory operand (insn_ea). */
static void emit_ea(struct lower *lw, const struct insn *in)
{
    struct cbuf *c = &lw->c;
    if (in->base == REG_NONE && in->index == REG_NONE) {
        x_movi32(c, X_RAX, in->adsize == 16 ? ((uint32_t)in->disp & 0xFFFF) : (uint32_t)in->disp);
        return;
    }
    struct xmem m = { X_NOREG, X_NOREG, in->scale, in->disp };
    if (in->base != REG_NONE) {
        x_ld32(c, X_RAX, CPU_FIELD(r[in->base]));
        m.base = X_RAX;
    }
    if (in->index != REG_NONE) {
        x_ld32(c, X_RCX, CPU_FIELD(r[in->index]));
        m.index = X_RCX;
    }
    if (m.base == X_NOREG && m.scale == 0) {
        m.base = m.index;
        m.index = X_NOREG;
    }
    if (m.index != X_NOREG || m.disp != 0 || m.base != X_RAX) {
        x_lea32(c, X_RAX, m);
    }
    if (in->adsize == 16) {
        x_movzx16(c, X_RAX, X_RAX);
    }
}

void lower_call_handler(struct lower *lw, const struct insn *in, uint32_t eip, uint32_t next)
{
    struct cbuf *c = &lw->c;
    if ((in->op->attr & A_MODRM) && in->mod != 3) {
        emit_ea(lw, in);
        x_st32(c, CPU_FIELD(ea), X_RAX);
    }
    x_st32i(c, CPU_FIELD(eip), eip);
    x_st32i(c, CPU_FIELD(next_eip), next);
    lower_flush_icount(lw);
    x_mov64(c, X_RDI, X_RBX);
    x_movi64(c, X_RSI, (uint64_t)(uintptr_t)in);
    x_call_abs(c, (const void *)in->op->fn);
    lw->pending = 1;
    lw->host_flags = false;
}

void lower_stop_check(struct lower *lw, uint32_t next, unsigned retired)
{
    struct cbuf *c = &lw->c;
    x_cmp8i_mem(c, CPU_FIELD(jit_stop), 0);
    struct lower_stub *s = new_stub(lw, STUB_STOP);
    s->site = x_jcc32(c, XC_NE);
    s->eip = next;
    s->pending = (uint16_t)(lw->pending + retired);
    lw->host_flags = false;
}

/* --- guest registers --- */

static struct xmem greg(int r, int size)
{
    if (size == 8 && r >= 4) {
        return xm(X_RBX, (int32_t)(offsetof(struct cpu, r) + 4 * (size_t)(r - 4) + 1));
    }
    return xm(X_RBX, (int32_t)(offsetof(struct cpu, r) + 4 * (size_t)r));
}

static void load_greg(struct lower *lw, int h, int r, int size)
{
    if (size == 32) {
        x_ld32(&lw->c, h, greg(r, size));
    } else if (size == 16) {
        x_ldzx16(&lw->c, h, greg(r, size));
    } else {
        x_ldzx8(&lw->c, h, greg(r, size));
    }
}

static void store_greg(struct lower *lw, int r, int size, int h)
{
    if (size == 32) {
        x_st32(&lw->c, greg(r, size), h);
    } else if (size == 16) {
        x_st16(&lw->c, greg(r, size), h);
    } else {
        x_st8(&lw->c, greg(r, size), h);
    }
}

static void store_greg_imm(struct lower *lw, int r, int size, uint32_t v)
{
    if (size == 32) {
        x_st32i(&lw->c, greg(r, size), v);
    } else if (size == 16) {
        x_st16i(&lw->c, greg(r, size), (uint16_t)v);
    } else {
        x_st8i(&lw->c, greg(r, size), (uint8_t)v);
    }
}

/* --- memory --- */

static bool seg_flat(const struct lower *lw, int seg)
{
    return seg < 6 && (lw->k->flags & (JK_FLAT0 << seg));
}

/* Memory forms are inline only where segments are flat or the helpers apply. */
static bool mem_ok(const struct lower *lw, int seg)
{
    (void)lw;
    return seg < 6;
}

/* TLB lookup of [EAX, EAX + bytes) for kind; RSI = the addend on a hit. */
static uint8_t *emit_tlb(struct lower *lw, int kind, int bytes)
{
    struct cbuf *c = &lw->c;
    int user = ((lw->k->flags >> JK_CPL_SHIFT) & 3) == 3;
    int32_t base = (int32_t)(offsetof(struct cpu, tlb) +
                             ((size_t)(user * TLB_KINDS + kind) * TLB_SIZE) * sizeof(struct tlb_entry));
    _Static_assert(sizeof(struct tlb_entry) == 24, "TLB entry: 3 quadwords");
    x_mov32(c, X_RCX, X_RAX);
    x_shifti32(c, XS_SHR, X_RCX, 12);
    x_alu32i(c, XA_AND, X_RCX, TLB_SIZE - 1);
    x_lea32(c, X_RCX, (struct xmem){ X_RCX, X_RCX, 1, 0 });   /* index * 3 */
    x_lea32(c, X_RSI, xm(X_RAX, bytes - 1));
    x_alu32i(c, XA_AND, X_RSI, 0xFFFFF000u);
    x_alu32_ld(c, XA_CMP, X_RSI,
               (struct xmem){ X_RBX, X_RCX, 3, base + (int32_t)offsetof(struct tlb_entry, tag) });
    uint8_t *miss = x_jcc32(c, XC_NE);
    x_ld64(c, X_RSI, (struct xmem){ X_RBX, X_RCX, 3, base + (int32_t)offsetof(struct tlb_entry, addend) });
    return miss;
}

static const void *ld_helper(int size)
{
    return size == 8 ? (const void *)jit_ld8 : size == 16 ? (const void *)jit_ld16
                                                          : (const void *)jit_ld32;
}

static const void *st_helper(int size)
{
    return size == 8 ? (const void *)jit_st8 : size == 16 ? (const void *)jit_st16
                                                          : (const void *)jit_st32;
}

/* The call of a slow path: EIP and icount as at the instruction's start. */
static void emit_slow_call(struct lower *lw, bool store, int seg, int size, uint32_t eip,
                           unsigned pending)
{
    struct cbuf *c = &lw->c;
    x_st32i(c, CPU_FIELD(eip), eip);
    if (pending) {
        x_alu64i_mem(c, XA_ADD, CPU_FIELD(icount), (int32_t)pending);
    }
    if (store) {
        x_mov32(c, X_RCX, X_RDX);
    }
    x_mov32(c, X_RDX, X_RAX);
    x_movi32(c, X_RSI, (uint32_t)seg);
    x_mov64(c, X_RDI, X_RBX);
    x_call_abs(c, store ? st_helper(size) : ld_helper(size));
    if (pending) {
        x_alu64i_mem(c, XA_SUB, CPU_FIELD(icount), (int32_t)pending);
    }
    if (!store) {
        x_mov32(c, X_RDX, X_RAX);
    }
}

/* EDX = the `size`-bit value at seg:EAX (zero-extended). */
static void emit_load(struct lower *lw, int seg, int size, uint32_t eip)
{
    struct cbuf *c = &lw->c;
    if (!seg_flat(lw, seg)) {
        emit_slow_call(lw, false, seg, size, eip, lw->pending);
        return;
    }
    uint8_t *miss = emit_tlb(lw, TLB_READ, size / 8);
    struct xmem m = { X_RSI, X_RAX, 0, 0 };
    if (size == 32) {
        x_ld32(c, X_RDX, m);
    } else if (size == 16) {
        x_ldzx16(c, X_RDX, m);
    } else {
        x_ldzx8(c, X_RDX, m);
    }
    struct lower_stub *s = new_stub(lw, STUB_LOAD);
    s->site = miss;
    s->resume = c->p;
    s->eip = eip;
    s->seg = (uint8_t)seg;
    s->size = (uint8_t)size;
}

/* Store EDX's low `size` bits at seg:EAX. */
static void emit_store(struct lower *lw, int seg, int size, uint32_t eip)
{
    struct cbuf *c = &lw->c;
    if (!seg_flat(lw, seg)) {
        emit_slow_call(lw, true, seg, size, eip, lw->pending);
        return;
    }
    uint8_t *miss = emit_tlb(lw, TLB_WRITE, size / 8);
    struct xmem m = { X_RSI, X_RAX, 0, 0 };
    if (size == 32) {
        x_st32(c, m, X_RDX);
    } else if (size == 16) {
        x_st16(c, m, X_RDX);
    } else {
        x_st8(c, m, X_RDX);
    }
    struct lower_stub *s = new_stub(lw, STUB_STORE);
    s->site = miss;
    s->resume = c->p;
    s->eip = eip;
    s->seg = (uint8_t)seg;
    s->size = (uint8_t)size;
}

void lower_emit_stubs(struct lower *lw)
{
    struct cbuf *c = &lw->c;
    for (unsigned i = 0; i < lw->nstubs; i++) {
        struct lower_stub *s = &lw->stubs[i];
        x_patch32(s->site, c->p);
        if (s->kind == STUB_STOP) {
            x_alu64i_mem(c, XA_ADD, CPU_FIELD(icount), s->pending);
            x_st32i(c, CPU_FIELD(eip), s->eip);
            x_patch32(x_jmp32(c), lw->j->exit_null);
            continue;
        }
        emit_slow_call(lw, s->kind == STUB_STORE, s->seg, s->size, s->eip, s->pending);
        x_patch32(x_jmp32(c), s->resume);
    }
}

/* --- operands --- */

/* H = the E operand (register or memory); H_ADDR keeps a memory offset. */
static void load_E(struct lower *lw, const struct insn *in, int size, int h, uint32_t eip)
{
    if (in->mod == 3) {
        load_greg(lw, h, in->rm, size);
        return;
    }
    emit_ea(lw, in);
    x_mov32(&lw->c, H_ADDR, X_RAX);
    emit_load(lw, in->seg, size, eip);
    if (h != X_RDX) {
        x_mov32(&lw->c, h, X_RDX);
    }
}

/* --- the instruction forms --- */

static void set_cc(struct lower *lw, int op, int size, bool with_operands)
{
    struct cbuf *c = &lw->c;
    x_st16i(c, CPU_FIELD(cc_op), (uint16_t)(op | size << 8));
    x_st32(c, CPU_FIELD(cc_res), H_RES);
    if (with_operands) {
        x_st32(c, CPU_FIELD(cc_a), H_A);
        x_st32(c, CPU_FIELD(cc_b), H_B);
    }
}

/* H_RES = H_A op H_B at `size` bits; host flags as the guest's. */
static void alu_op(struct lower *lw, int op, int size)
{
    struct cbuf *c = &lw->c;
    x_mov32(c, H_RES, H_A);
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
 * ADD/OR/AND/SUB/XOR/CMP/TEST of the E operand with a register or an
 * immediate.  `g_dst`: the result goes to the G register (the Gv,Ev forms).
 */
static bool lower_alu(struct lower *lw, const struct insn *in, int op, int size, int src,
                      bool imm, bool g_dst, uint32_t eip, uint32_t next)
{
    struct cbuf *c = &lw->c;
    if (op == XA_ADC || op == XA_SBB || (in->mod != 3 && !mem_ok(lw, in->seg))) {
        return false;
    }
    bool write = op != XA_CMP && op != 8;   /* 8: TEST */
    int cc = (op == XA_ADD) ? CC_ADD : (op == XA_SUB || op == XA_CMP) ? CC_SUB : CC_LOGIC;
    if (op == 8) {
        op = XA_AND;
    }
    load_E(lw, in, size, g_dst ? H_B : H_A, eip);
    bool mem_dst = in->mod != 3 && write && !g_dst;
    int other = g_dst ? H_A : H_B;
    if (imm) {
        x_movi32(c, other, in->imm & size_mask(size));
    } else {
        load_greg(lw, other, src, size);
    }
    alu_op(lw, op, size);
    if (mem_dst) {
        x_mov32(c, X_RAX, H_ADDR);
        x_mov32(c, X_RDX, H_RES);
        emit_store(lw, in->seg, size, eip);
        set_cc(lw, cc, size, cc != CC_LOGIC);
        lower_stop_check(lw, next, 1);
        return true;
    }
    set_cc(lw, cc, size, cc != CC_LOGIC);
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
    emit_store(lw, in->seg, size, eip);
    lower_stop_check(lw, next, 1);
    return true;
}

static bool lower_mov(struct lower *lw, const struct insn *in, uint32_t eip, uint32_t next)
{
    op_fn *fn = in->op->fn;
    int size = (fn == op_mov_Eb_Gb || fn == op_mov_Gb_Eb || fn == op_mov_Eb_Ib) ? 8 : in->opsize;
    if (in->mod != 3 && !mem_ok(lw, in->seg)) {
        return false;
    }
    if (fn == op_mov_Ev_Gv || fn == op_mov_Eb_Gb) {
        if (in->mod == 3) {
            load_greg(lw, X_RDX, in->reg, size);
            return store_E(lw, in, size, eip, next, X_RDX);
        }
        emit_ea(lw, in);
        load_greg(lw, X_RDX, in->reg, size);
        emit_store(lw, in->seg, size, eip);
        lower_stop_check(lw, next, 1);
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
    emit_store(lw, in->seg, size, eip);
    lower_stop_check(lw, next, 1);
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

/* PUSH of H (EDX) at SS:ESP - size/8, 32-bit stack only. */
static void emit_push(struct lower *lw, int size, uint32_t eip)
{
    struct cbuf *c = &lw->c;
    x_ld32(c, X_RAX, CPU_FIELD(r[R_ESP]));
    x_alu32i(c, XA_SUB, X_RAX, (uint32_t)size / 8);
    x_mov32(c, H_ADDR, X_RAX);
    emit_store(lw, S_SS, size, eip);
    x_st32(c, CPU_FIELD(r[R_ESP]), H_ADDR);
}

static bool stack_ok(const struct lower *lw)
{
    return lw->k->flags & JK_STACK32;
}

bool lower_call_push(struct lower *lw, const struct insn *in, uint32_t eip, uint32_t next)
{
    uint32_t target = next + in->imm;
    if (in->opsize == 16) {
        target &= 0xFFFF;
    }
    if (!stack_ok(lw) || (target > lw->k->cs_limit && ((lw->k->flags & JK_PE) || target > 0xFFFF))) {
        return false;
    }
    x_movi32(&lw->c, X_RDX, next);
    emit_push(lw, in->opsize, eip);
    lower_stop_check(lw, next, 1);
    return true;
}

bool lower_ret(struct lower *lw, const struct insn *in, uint32_t eip)
{
    struct cbuf *c = &lw->c;
    if (!stack_ok(lw) || lw->k->cs_limit != 0xFFFFFFFFu) {
        return false;
    }
    x_ld32(c, X_RAX, CPU_FIELD(r[R_ESP]));
    x_mov32(c, H_ADDR, X_RAX);
    emit_load(lw, S_SS, in->opsize, eip);
    uint32_t n = (uint32_t)in->opsize / 8 + (in->opcode == 0xC2 ? (in->imm & 0xFFFF) : 0);
    x_alu32i(c, XA_ADD, H_ADDR, n);
    x_st32(c, CPU_FIELD(r[R_ESP]), H_ADDR);
    x_st32(c, CPU_FIELD(eip), X_RDX);
    return true;
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
    x_ld32(c, X_RAX, CPU_FIELD(r[R_ESP]));
    x_mov32(c, H_ADDR, X_RAX);
    emit_load(lw, S_SS, in->opsize, eip);
    x_alu32i(c, XA_ADD, H_ADDR, (uint32_t)in->opsize / 8);
    x_st32(c, CPU_FIELD(r[R_ESP]), H_ADDR);
    store_greg(lw, in->opcode & 7, in->opsize, X_RDX);
    return true;
}

static bool lower_lea(struct lower *lw, const struct insn *in)
{
    emit_ea(lw, in);
    store_greg(lw, in->reg, in->opsize, X_RAX);
    return true;
}

/* INC/DEC r: CF is kept (cc_aux = the old CF, from cpu_cf). */
static bool lower_incdec(struct lower *lw, const struct insn *in, bool dec, int r, int size)
{
    struct cbuf *c = &lw->c;
    x_mov64(c, X_RDI, X_RBX);
    x_call_abs(c, (const void *)cpu_cf);
    x_movzx8(c, X_RAX, X_RAX);
    x_st32(c, CPU_FIELD(cc_aux), X_RAX);
    load_greg(lw, H_A, r, size);
    x_lea32(c, H_RES, xm(H_A, dec ? -1 : 1));
    x_movi32(c, H_B, 1);
    set_cc(lw, dec ? CC_DEC : CC_INC, size, true);
    store_greg(lw, r, size, H_RES);
    (void)in;
    return true;
}

bool lower_insn(struct lower *lw, const struct insn *in, uint32_t eip, uint32_t next)
{
    op_fn *fn = in->op->fn;
    lw->host_flags = false;
    bool done = false;
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
    } else if (fn == op_push_Zv || fn == op_push_Iz || fn == op_pop_Zv) {
        done = lower_push_pop(lw, in, eip, next);
    } else if (fn == op_inc_Zv || fn == op_dec_Zv) {
        done = lower_incdec(lw, in, fn == op_dec_Zv, in->opcode & 7, in->opsize);
    } else if ((fn == op_inc_Ev || fn == op_dec_Ev || fn == op_inc_Eb || fn == op_dec_Eb) &&
               in->mod == 3) {
        done = lower_incdec(lw, in, fn == op_dec_Ev || fn == op_dec_Eb, in->rm,
                            (fn == op_inc_Eb || fn == op_dec_Eb) ? 8 : in->opsize);
    }
    if (done) {
        lw->pending++;
    }
    return done;
}

uint8_t *lower_jcc(struct lower *lw, int cc)
{
    struct cbuf *c = &lw->c;
    if (lw->host_flags) {
        return x_jcc32(c, cc);
    }
    x_mov64(c, X_RDI, X_RBX);
    x_movi32(c, X_RSI, (uint32_t)cc);
    x_call_abs(c, (const void *)cpu_cond);
    x_test8(c, X_RAX, X_RAX);
    return x_jcc32(c, XC_NE);
}
