/*
 * ops_string.c - MOVS, CMPS, STOS, LODS, SCAS, INS and OUTS, with REP.
 *
 * Operands: the source is seg:eSI (DS unless overridden), the destination
 * ES:eDI (never overridden).  The address size picks SI/DI/CX or
 * ESI/EDI/ECX; only the low 16 bits move with a 16-bit address size.
 * EFLAGS.DF picks the direction.
 *
 * REP (F3 or F2; for CMPS/SCAS F3 is REPE and F2 REPNE) runs ECX
 * iterations.  Two rules shape the code:
 *   - Restartable: every iteration commits eSI/eDI/eCX before the next
 *     access, so a fault leaves the registers describing the iterations
 *     done and the re-executed instruction carries on from there.
 *   - Bounded: one call runs at most STR_BATCH iterations (one when TF is
 *     set, so single-step traps after each iteration as on hardware).  If
 *     iterations remain, next_eip is set back to the instruction itself:
 *     the loop re-executes it, taking interrupts in between, as hardware
 *     does between iterations.
 * The common case is fast: a run of iterations whose source and
 * destination each lie in one page, inside their segment limits and
 * reachable through the software TLB, is done on host memory at once
 * (MOVS, STOS, and CMPS/SCAS up to the element that ends a REPE/REPNE).
 * Overlapping MOVS copies element by element in guest order, so the
 * pattern-replicating behaviour of a forward copy onto itself is kept.
 * INS/OUTS do the same run with one port access per element.
 */
#include "hw/bus.h"
#include "ops.h"

#define STR_BATCH 4096u

struct strctx {
    uint32_t amask;   /* 0xFFFF or 0xFFFFFFFF: offsets and count wrap here */
    int bits, bytes;  /* element size */
    int32_t step;     /* +bytes, or -bytes when DF is set */
    int src;          /* source segment */
    bool rep;
    uint32_t todo;    /* iterations to run in this call */
    bool more;        /* iterations remain after `todo`: re-execute */
};

static void str_init(struct cpu *cpu, const struct insn *in, struct strctx *s)
{
    s->amask = in->adsize == 16 ? 0xFFFFu : 0xFFFFFFFFu;
    s->bits = insn_bsize(in);
    s->bytes = s->bits / 8;
    s->step = (cpu->eflags & F_DF) ? -s->bytes : s->bytes;
    s->src = in->seg;
    s->rep = in->rep != 0;
    s->todo = 1;
    s->more = false;
    if (s->rep) {
        uint32_t count = cpu->r[R_ECX] & s->amask;
        uint32_t batch = (cpu->eflags & F_TF) ? 1 : STR_BATCH;
        s->todo = count < batch ? count : batch;
        s->more = count > batch;
    }
}

static uint32_t str_off(const struct cpu *cpu, const struct strctx *s, int r)
{
    return cpu->r[r] & s->amask;
}

/* Move eSI or eDI by n elements. */
static void str_adv(struct cpu *cpu, const struct strctx *s, int r, uint32_t n)
{
    uint32_t v = cpu->r[r] + (uint32_t)s->step * n;
    cpu->r[r] = (cpu->r[r] & ~s->amask) | (v & s->amask);
}

/* Count n iterations done (REP only). */
static void str_count(struct cpu *cpu, const struct strctx *s, uint32_t n)
{
    if (s->rep) {
        uint32_t c = cpu->r[R_ECX] - n;
        cpu->r[R_ECX] = (cpu->r[R_ECX] & ~s->amask) | (c & s->amask);
    }
}

/* Commit n iterations: advance eSI and/or eDI and count them (REP). */
static void str_commit(struct cpu *cpu, const struct strctx *s, bool si, bool di,
                       uint32_t n)
{
    if (si) {
        str_adv(cpu, s, R_ESI, n);
    }
    if (di) {
        str_adv(cpu, s, R_EDI, n);
    }
    str_count(cpu, s, n);
}

/* After the batch: come back for the rest of the count. */
static void str_finish(struct cpu *cpu, const struct strctx *s)
{
    if (s->more) {
        cpu->next_eip = cpu->eip;
    }
}

/* --- fast path: runs of elements on host memory --- */

/*
 * Would `len` bytes at seg:off pass cpu_seg_check() without a fault?
 * Conservative: expand-down segments answer no and take the slow path.
 */
static bool seg_span_ok(const struct cpu *cpu, int seg, uint32_t off, uint32_t len,
                        bool write)
{
    const struct seg *sg = &cpu->seg[seg];
    unsigned type = AR_TYPE(sg->ar);
    if (cpu_pmode(cpu) && !cpu_v86(cpu)) {
        if (!(sg->ar & AR_P)) {
            return false;
        }
        if ((type & 8) ? (write || !(type & 2)) : (write && !(type & 2))) {
            return false;
        }
    }
    if ((sg->ar & AR_S) && (type & 0xC) == 4) {
        return false;
    }
    uint32_t last = off + len - 1;
    return last >= off && last <= sg->limit;
}

/*
 * Fit a run of up to *n elements starting at seg:off (the first element,
 * then stepping by s->step) into one page, its segment and the address
 * size, and find it in the TLB.  Returns the host pointer of the first
 * element with *n reduced, or NULL when the run cannot be done on host
 * memory (the caller then does one element the slow way).
 */
static uint8_t *span_host(struct cpu *cpu, const struct strctx *s, int seg,
                          uint32_t off, uint32_t *n, bool write)
{
    uint32_t sz = (uint32_t)s->bytes;
    uint32_t lin = cpu->seg[seg].base + off;
    uint32_t pg = lin & 0xFFF;
    uint32_t lo_off, max;
    if (pg + sz > 4096 || off + sz - 1 > s->amask) {
        return NULL;
    }
    if (s->step > 0) {
        max = (4096 - pg) / sz;
        uint32_t room = (s->amask - off) / sz + 1;  /* before the offset wraps */
        max = room < max ? room : max;
        uint32_t lim = cpu->seg[seg].limit;         /* stop at an expand-up limit */
        if (off <= lim && (lim - off) / sz + 1 < max) {
            max = (lim - off) / sz + 1;
        }
    } else {
        max = pg / sz + 1;
        uint32_t room = off / sz + 1;
        max = room < max ? room : max;
    }
    if (max < *n) {
        *n = max;
    }
    uint32_t len = *n * sz;
    lo_off = s->step > 0 ? off : off - (len - sz);
    if (!seg_span_ok(cpu, seg, lo_off, len, write)) {
        return NULL;
    }
    uint32_t lo_lin = cpu->seg[seg].base + lo_off;
    unsigned acc = cpu_acc_user(cpu) | (write ? ACC_W : 0);
    struct tlb_entry *e = tlb_hit(cpu, lo_lin, (int)len, acc, write ? TLB_WRITE : TLB_READ);
    if (!e) {
        return NULL;
    }
    return (uint8_t *)(e->addend + lin);
}

/* Address of element i of a run starting at p. */
static uint8_t *elem(const struct strctx *s, uint8_t *p, uint32_t i)
{
    return p + (ptrdiff_t)s->step * (ptrdiff_t)i;
}

/* Lowest byte of a run of n elements starting at p. */
static uintptr_t run_lo(const struct strctx *s, uint8_t *p, uint32_t n)
{
    return (uintptr_t)(s->step > 0 ? p : elem(s, p, n - 1));
}

/* Copy up to `max` elements at once; returns how many (0: not possible). */
static uint32_t movs_fast(struct cpu *cpu, const struct strctx *s, uint32_t max)
{
    uint32_t n = max;
    uint8_t *sp = span_host(cpu, s, s->src, str_off(cpu, s, R_ESI), &n, false);
    if (!sp) {
        return 0;
    }
    uint8_t *dp = span_host(cpu, s, S_ES, str_off(cpu, s, R_EDI), &n, true);
    if (!dp || n < 2) {
        return 0;
    }
    size_t len = (size_t)n * (size_t)s->bytes;
    uintptr_t slo = run_lo(s, sp, n), dlo = run_lo(s, dp, n);
    if (dlo + len <= slo || slo + len <= dlo) {
        memcpy((void *)dlo, (const void *)slo, len);
    } else {
        /* overlap: guest order, element by element */
        for (uint32_t i = 0; i < n; i++) {
            st_le(elem(s, dp, i), ld_le(elem(s, sp, i), s->bytes), s->bytes);
        }
    }
    str_commit(cpu, s, true, true, n);
    return n;
}

static uint32_t stos_fast(struct cpu *cpu, const struct strctx *s, uint32_t max)
{
    uint32_t n = max;
    uint8_t *dp = span_host(cpu, s, S_ES, str_off(cpu, s, R_EDI), &n, true);
    if (!dp || n < 2) {
        return 0;
    }
    uint32_t v = cpu->r[R_EAX];
    if (s->bytes == 1) {
        memset((void *)run_lo(s, dp, n), (int)(v & 0xFF), n);
    } else {
        for (uint32_t i = 0; i < n; i++) {
            st_le(elem(s, dp, i), v, s->bytes);
        }
    }
    str_commit(cpu, s, false, true, n);
    return n;
}

/* --- the instructions --- */

/* MOVS and STOS: the same loop, with EAX as the source for STOS. */
static void str_store(struct cpu *cpu, const struct insn *in, bool stos)
{
    struct strctx s;
    str_init(cpu, in, &s);
    uint32_t left = s.todo;
    while (left) {
        uint32_t n = 0;
        if (s.rep && left > 1) {
            n = stos ? stos_fast(cpu, &s, left) : movs_fast(cpu, &s, left);
        }
        if (n == 0) {
            uint32_t v = cpu->r[R_EAX];
            if (!stos) {
                v = cpu_rd(cpu, s.src, str_off(cpu, &s, R_ESI), s.bits);
            }
            cpu_wr(cpu, S_ES, str_off(cpu, &s, R_EDI), s.bits, v);
            str_commit(cpu, &s, !stos, true, 1);
            n = 1;
        }
        left -= n;
    }
    str_finish(cpu, &s);
}

void op_movs(struct cpu *cpu, const struct insn *in)
{
    str_store(cpu, in, false);
}

void op_stos(struct cpu *cpu, const struct insn *in)
{
    str_store(cpu, in, true);
}

void op_lods(struct cpu *cpu, const struct insn *in)
{
    struct strctx s;
    str_init(cpu, in, &s);
    for (uint32_t i = 0; i < s.todo; i++) {
        uint32_t v = cpu_rd(cpu, s.src, str_off(cpu, &s, R_ESI), s.bits);
        reg_set(cpu, R_EAX, s.bits, v);
        str_commit(cpu, &s, true, false, 1);
    }
    str_finish(cpu, &s);
}

/* Flags of a - b as SUB; true when REPE/REPNE ends the loop here. */
static bool str_compare(struct cpu *cpu, const struct insn *in, const struct strctx *s,
                        uint32_t a, uint32_t b)
{
    uint32_t m = size_mask(s->bits);
    cc_set(cpu, CC_SUB, s->bits, (a - b) & m, a & m, b & m);
    /* REPE (F3) goes on while equal, REPNE (F2) while different */
    return s->rep && (((a ^ b) & m) == 0) != (in->rep == 0xF3);
}

/*
 * Compare a run of up to `max` elements on host memory (SCAS: EAX against
 * ES:eDI; CMPS: seg:eSI against ES:eDI).  Returns how many were done (0:
 * not possible); *stop tells that REPE/REPNE ended on the last one.
 */
static uint32_t cmp_fast(struct cpu *cpu, const struct insn *in, const struct strctx *s,
                         bool scas, uint32_t max, bool *stop)
{
    uint32_t n = max;
    uint8_t *sp = NULL;
    if (!scas) {
        sp = span_host(cpu, s, s->src, str_off(cpu, s, R_ESI), &n, false);
        if (!sp) {
            return 0;
        }
    }
    uint8_t *dp = span_host(cpu, s, S_ES, str_off(cpu, s, R_EDI), &n, false);
    if (!dp || n < 2) {
        return 0;
    }
    uint32_t m = size_mask(s->bits);
    bool want_equal = in->rep == 0xF3;
    uint32_t a = cpu->r[R_EAX], b = 0, i = 0;
    while (i < n) {
        if (!scas) {
            a = ld_le(elem(s, sp, i), s->bytes);
        }
        b = ld_le(elem(s, dp, i++), s->bytes);
        if ((((a ^ b) & m) == 0) != want_equal) {
            break;
        }
    }
    str_commit(cpu, s, !scas, true, i);
    *stop = str_compare(cpu, in, s, a, b);
    return i;
}

/* CMPS and SCAS: the same loop, with EAX as the source for SCAS. */
static void str_cmp(struct cpu *cpu, const struct insn *in, bool scas)
{
    struct strctx s;
    str_init(cpu, in, &s);
    uint32_t left = s.todo;
    while (left) {
        bool stop = false;
        uint32_t n = s.rep && left > 1 ? cmp_fast(cpu, in, &s, scas, left, &stop) : 0;
        if (n == 0) {
            uint32_t a = cpu->r[R_EAX];
            if (!scas) {
                a = cpu_rd(cpu, s.src, str_off(cpu, &s, R_ESI), s.bits);
            }
            uint32_t b = cpu_rd(cpu, S_ES, str_off(cpu, &s, R_EDI), s.bits);
            str_commit(cpu, &s, !scas, true, 1);
            stop = str_compare(cpu, in, &s, a, b);
            n = 1;
        }
        if (stop) {
            return;
        }
        left -= n;
    }
    str_finish(cpu, &s);
}

void op_cmps(struct cpu *cpu, const struct insn *in)
{
    str_cmp(cpu, in, false);
}

void op_scas(struct cpu *cpu, const struct insn *in)
{
    str_cmp(cpu, in, true);
}

/*
 * A port access may remap memory (PAM registers, A20): a run on host
 * memory stops as soon as that happens.
 */
static bool map_changed(const struct cpu *cpu, uint64_t gen, uint32_t a20)
{
    return cpu->bus->generation != gen || cpu->a20_mask != a20;
}

/*
 * INS (outs false: port to ES:eDI) or OUTS (seg:eSI to port) for a run of
 * up to `max` elements on host memory; returns how many (0: not possible).
 */
static uint32_t io_fast(struct cpu *cpu, const struct strctx *s, uint16_t port,
                        uint32_t max, bool outs)
{
    uint32_t n = max;
    uint8_t *p = outs ? span_host(cpu, s, s->src, str_off(cpu, s, R_ESI), &n, false)
                      : span_host(cpu, s, S_ES, str_off(cpu, s, R_EDI), &n, true);
    if (!p || n < 2) {
        return 0;
    }
    uint64_t gen = cpu->bus->generation;
    uint32_t a20 = cpu->a20_mask;
    uint32_t i = 0;
    while (i < n) {
        uint8_t *e = elem(s, p, i++);
        if (outs) {
            bus_out(cpu->bus, port, ld_le(e, s->bytes), s->bytes);
        } else {
            st_le(e, bus_in(cpu->bus, port, s->bytes), s->bytes);
        }
        if (map_changed(cpu, gen, a20)) {
            break;
        }
    }
    str_commit(cpu, s, outs, !outs, i);
    return i;
}

/* INS and OUTS: the same loop, memory and the port DX swapping roles. */
static void str_io(struct cpu *cpu, const struct insn *in, bool outs)
{
    struct strctx s;
    str_init(cpu, in, &s);
    uint16_t port = (uint16_t)cpu->r[R_EDX];
    if (s.todo == 0) {
        return;
    }
    io_check(cpu, port, s.bytes);
    if (io_breakpoint(cpu, port, s.bytes) && s.todo > 1) {
        s.todo = 1;     /* REP: the breakpoint traps after each iteration */
        s.more = true;
    }
    uint32_t left = s.todo;
    while (left) {
        uint32_t n = s.rep && left > 1 ? io_fast(cpu, &s, port, left, outs) : 0;
        if (n == 0) {
            if (outs) {
                uint32_t v = cpu_rd(cpu, s.src, str_off(cpu, &s, R_ESI), s.bits);
                bus_out(cpu->bus, port, v, s.bytes);
            } else {
                /* fault on the destination before the port read has effects */
                uint32_t di = str_off(cpu, &s, R_EDI);
                cpu_check_write(cpu, S_ES, di, s.bytes);
                cpu_wr(cpu, S_ES, di, s.bits, bus_in(cpu->bus, port, s.bytes));
            }
            str_commit(cpu, &s, outs, !outs, 1);
            n = 1;
        }
        left -= n;
    }
    str_finish(cpu, &s);
}

void op_ins(struct cpu *cpu, const struct insn *in)
{
    str_io(cpu, in, false);
}

void op_outs(struct cpu *cpu, const struct insn *in)
{
    str_io(cpu, in, true);
}
