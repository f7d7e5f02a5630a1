/*
 * seg.c - segment register loads and the descriptor helpers of protected
 * mode (SDM vol.3 ch.3 and 5; vol.2 MOV/POP/LDS).
 *
 * A descriptor is handled as its two dwords d[0], d[1].  The hidden cache
 * of a segment register keeps the base, the limit expanded by G, and the
 * access rights as LAR returns them (d[1] & 0x00F0FF00).  A null selector
 * loaded into DS/ES/FS/GS gives a cache with ar = 0, which cpu/mem.c sees as
 * not present and faults #GP(0) on use.
 *
 * Error codes for selector faults are the selector with its RPL bits
 * replaced by EXT (bit 0, set while delivering an external event) and the
 * IDT bit (bit 1, which the callers in cpu/pm_int.c set themselves).
 *
 * The frame helpers (struct stk) build a stack frame on a stack that is
 * not yet (or not necessarily) SS: far calls, interrupts and task switches
 * check and write the whole frame before they change any register, so a
 * fault on the way leaves the old state intact for a restart.
 */
#include "ops.h"

#include "util/log.h"

void cpu_load_seg_real(struct cpu *cpu, int sreg, uint16_t sel)
{
    struct seg *s = &cpu->seg[sreg];
    s->sel = sel;
    s->base = (uint32_t)sel << 4;
    if (cpu_v86(cpu)) {
        s->limit = 0xFFFF;
        s->ar = AR_P | AR_S | (3u << 13) | (sreg == S_CS ? 0xB00 : 0x300);
    }
}

bool cpu_read_desc(struct cpu *cpu, uint16_t sel, uint32_t d[2])
{
    uint32_t base = cpu->gdtr.base, limit = cpu->gdtr.limit;
    if (sel & 4) {
        if (!(cpu->ldtr.sel & 0xFFFC)) {
            return false;   /* no LDT loaded: every LDT selector is out of range */
        }
        base = cpu->ldtr.base;
        limit = cpu->ldtr.limit;
    }
    if ((uint32_t)(sel & ~7u) + 7 > limit) {
        return false;
    }
    d[0] = sys_rd(cpu, base + (sel & ~7u), 32);
    d[1] = sys_rd(cpu, base + (sel & ~7u) + 4, 32);
    return true;
}

void cpu_fetch_desc(struct cpu *cpu, uint16_t sel, uint32_t d[2], int vec, uint32_t ext)
{
    if (!cpu_read_desc(cpu, sel, d)) {
        cpu_fault(cpu, vec, (sel & 0xFFFCu) | ext);
    }
}

void cpu_desc_to_seg(struct seg *s, uint16_t sel, const uint32_t d[2])
{
    uint32_t limit = (d[0] & 0xFFFF) | (d[1] & 0xF0000);
    if (d[1] & AR_G) {
        limit = (limit << 12) | 0xFFF;
    }
    s->sel = sel;
    s->base = (d[0] >> 16) | ((d[1] & 0xFF) << 16) | (d[1] & 0xFF000000u);
    s->limit = limit;
    s->ar = d[1] & 0x00F0FF00u;
}

/* Descriptor table entry address of sel (the caller has read it). */
static uint32_t desc_addr(const struct cpu *cpu, uint16_t sel)
{
    return ((sel & 4) ? cpu->ldtr.base : cpu->gdtr.base) + (sel & ~7u);
}

void cpu_desc_set_accessed(struct cpu *cpu, uint16_t sel, uint32_t d[2])
{
    if ((d[1] & AR_S) && !(d[1] & 0x100)) {
        d[1] |= 0x100;
        sys_wr(cpu, desc_addr(cpu, sel) + 5, 8, (d[1] >> 8) & 0xFF);
    }
}

void cpu_desc_write_hi(struct cpu *cpu, uint16_t sel, uint32_t hi)
{
    sys_wr(cpu, desc_addr(cpu, sel) + 4, 32, hi);
}

/*
 * Load DS/ES/FS/GS in protected mode (SDM MOV, vol.2).  `vec` is #GP for
 * instructions and #TS for the segment loads of a task switch.
 */
static void load_data_seg(struct cpu *cpu, int sreg, uint16_t sel, int vec, uint32_t ext)
{
    struct seg *s = &cpu->seg[sreg];
    uint32_t d[2];
    uint32_t err = (sel & 0xFFFCu) | ext;
    if (!(sel & 0xFFFC)) {
        s->sel = sel;
        s->base = 0;
        s->limit = 0;
        s->ar = 0;     /* unusable: any access faults #GP(0) */
        return;
    }
    cpu_fetch_desc(cpu, sel, d, vec, ext);
    unsigned type = (d[1] >> 8) & 0xF;
    if (!(d[1] & AR_S) || (type & 0xA) == 0x8) {
        cpu_fault(cpu, vec, err);   /* system, or execute-only code */
    }
    bool conforming_code = (type & 0xC) == 0xC;
    unsigned dpl = AR_DPL(d[1]);
    if (!conforming_code && (dpl < cpu->cpl || dpl < (sel & 3u))) {
        cpu_fault(cpu, vec, err);
    }
    if (!(d[1] & AR_P)) {
        cpu_fault(cpu, EX_NP, err);
    }
    cpu_desc_set_accessed(cpu, sel, d);
    cpu_desc_to_seg(s, sel, d);
}

/* Load SS in protected mode: writable data at exactly CPL. */
static void load_stack_seg(struct cpu *cpu, uint16_t sel, int vec, uint32_t ext)
{
    uint32_t d[2];
    if (!(sel & 0xFFFC)) {
        cpu_fault(cpu, vec, ext);
    }
    cpu_fetch_desc(cpu, sel, d, vec, ext);
    unsigned type = (d[1] >> 8) & 0xF;
    if ((sel & 3u) != cpu->cpl || !(d[1] & AR_S) || (type & 0xA) != 0x2 ||
        AR_DPL(d[1]) != cpu->cpl) {
        cpu_fault(cpu, vec, (sel & 0xFFFCu) | ext);
    }
    if (!(d[1] & AR_P)) {
        cpu_fault(cpu, EX_SS, (sel & 0xFFFCu) | ext);
    }
    cpu_desc_set_accessed(cpu, sel, d);
    cpu_desc_to_seg(&cpu->seg[S_SS], sel, d);
}

void cpu_load_seg_checked(struct cpu *cpu, int sreg, uint16_t sel, int vec, uint32_t ext)
{
    if (sreg == S_SS) {
        load_stack_seg(cpu, sel, vec, ext);
    } else {
        load_data_seg(cpu, sreg, sel, vec, ext);
    }
}

void cpu_load_seg(struct cpu *cpu, int sreg, uint16_t sel)
{
    if (cpu_real(cpu) || cpu_v86(cpu)) {
        cpu_load_seg_real(cpu, sreg, sel);
        if (sreg == S_SS) {
            cpu->inhibit_irq = INHIBIT_MOV_SS;
        }
        return;
    }
    if (sreg == S_CS) {
        /* CS changes only through far transfers (cpu/ops_far.c) */
        cpu_fault(cpu, EX_UD, EXC_NOERR);
    }
    cpu_load_seg_checked(cpu, sreg, sel, EX_GP, 0);
    if (sreg == S_SS) {
        cpu->inhibit_irq = INHIBIT_MOV_SS;
    }
}

void cpu_check_inner_ss(struct cpu *cpu, uint16_t sel, unsigned cpl, uint32_t d[2], uint32_t ext)
{
    uint32_t err = (sel & 0xFFFCu) | ext;
    if (!(sel & 0xFFFC)) {
        cpu_fault(cpu, EX_TS, ext);
    }
    cpu_fetch_desc(cpu, sel, d, EX_TS, ext);
    unsigned type = (d[1] >> 8) & 0xF;
    if ((sel & 3u) != cpl || AR_DPL(d[1]) != cpl || !(d[1] & AR_S) || (type & 0xA) != 0x2) {
        cpu_fault(cpu, EX_TS, err);
    }
    if (!(d[1] & AR_P)) {
        cpu_fault(cpu, EX_SS, err);
    }
}

bool cpu_sel_check(struct cpu *cpu, uint16_t sel, int kind, uint32_t d[2])
{
    if (!(sel & 0xFFFC) || !cpu_read_desc(cpu, sel, d)) {
        return false;
    }
    unsigned type = (d[1] >> 8) & 0xF;
    bool code = (d[1] & AR_S) && (type & 8);
    if (!(d[1] & AR_S)) {
        /* system descriptors: LAR takes TSS, LDT and gates; LSL no gates */
        static const uint16_t lar_ok = 0x1A3E, lsl_ok = 0x0A0E;
        if (kind == SELCHK_VERR || kind == SELCHK_VERW ||
            !(((kind == SELCHK_LAR) ? lar_ok : lsl_ok) >> type & 1)) {
            return false;
        }
    } else if (kind == SELCHK_VERR && code && !(type & 2)) {
        return false;   /* execute-only */
    } else if (kind == SELCHK_VERW && (code || !(type & 2))) {
        return false;
    }
    bool conforming = code && (type & 4);
    if (!conforming || kind == SELCHK_VERW) {
        unsigned dpl = AR_DPL(d[1]);
        if (dpl < cpu->cpl || dpl < (sel & 3u)) {
            return false;
        }
    }
    return true;
}

void cpu_null_outer_segs(struct cpu *cpu)
{
    static const int segs[4] = { S_ES, S_DS, S_FS, S_GS };
    for (int i = 0; i < 4; i++) {
        struct seg *s = &cpu->seg[segs[i]];
        unsigned type = AR_TYPE(s->ar);
        bool conforming_code = (s->ar & AR_S) && (type & 0xC) == 0xC;
        if (!conforming_code && AR_DPL(s->ar) < cpu->cpl) {
            s->sel = 0;
            s->base = 0;
            s->limit = 0;
            s->ar = 0;
        }
    }
}

void cpu_fetch_sys_desc(struct cpu *cpu, uint16_t sel, unsigned types, int vec,
                        int np_vec, uint32_t ext, uint32_t d[2])
{
    uint32_t err = (sel & 0xFFFCu) | ext;
    if ((sel & 4) || !cpu_read_desc(cpu, sel, d)) {
        cpu_fault(cpu, vec, err);
    }
    if ((d[1] & AR_S) || !((types >> AR_TYPE(d[1])) & 1)) {
        cpu_fault(cpu, vec, err);
    }
    if (!(d[1] & AR_P)) {
        cpu_fault(cpu, np_vec, err);
    }
}

/* --- stack frames --- */

static bool stk_fits(const struct seg *s, uint32_t off, int bytes)
{
    uint32_t last = off + (uint32_t)bytes - 1;
    if (last < off) {
        return false;
    }
    if (AR_TYPE(s->ar) & 4) {   /* expand-down */
        uint32_t top = (s->ar & AR_DB) ? 0xFFFFFFFFu : 0xFFFFu;
        return off > s->limit && last <= top;
    }
    return last <= s->limit;
}

void stk_init(struct stk *k, const struct seg *ss, uint32_t esp, int vec, uint32_t err)
{
    k->ss = *ss;
    k->mask = (ss->ar & AR_DB) ? 0xFFFFFFFFu : 0xFFFFu;
    k->sp = esp & k->mask;
    k->esp_hi = esp & ~k->mask;
    k->acc = AR_DPL(ss->ar) == 3 ? ACC_U : 0;
    k->vec = vec;
    k->err = err;
}

void stk_init_cur(struct cpu *cpu, struct stk *k, uint32_t err)
{
    stk_init(k, &cpu->seg[S_SS], cpu->r[R_ESP], EX_SS, err);
    if (cpu_real(cpu)) {
        k->acc = 0;
    }
}

void stk_push(struct cpu *cpu, struct stk *k, int size, uint32_t v)
{
    uint32_t sp = (k->sp - (uint32_t)size / 8) & k->mask;
    if (!stk_fits(&k->ss, sp, size / 8)) {
        cpu_fault(cpu, k->vec, k->err);
    }
    mmu_write(cpu, k->ss.base + sp, v, size / 8, k->acc);
    k->sp = sp;
}

void stk_commit(struct cpu *cpu, const struct stk *k)
{
    cpu->seg[S_SS] = k->ss;
    if (k->mask == 0xFFFFu) {
        cpu->r[R_ESP] = k->esp_hi | k->sp;
    } else {
        cpu->r[R_ESP] = k->sp;
    }
}
