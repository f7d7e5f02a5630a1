/*
 * task.c - hardware task switching (SDM vol.3 ch.7, "Task Switching").
 *
 * A switch is caused by JMP or CALL to a TSS descriptor or task gate, by an
 * interrupt through a task gate, or by IRET with EFLAGS.NT set.  The order
 * follows SDM 7.3:
 *   1. the caller has checked the TSS descriptor (type, DPL, present);
 *   2. the new TSS must be big enough (0x67 / 0x2B bytes): #TS otherwise;
 *   3. the whole new state is read (a #PF here changes nothing);
 *   4. the current state goes to the old TSS (IRET clears NT in the
 *      saved EFLAGS); JMP and IRET clear the old busy bit;
 *   5. CALL/INT write the back-link into the new TSS and set NT in the
 *      new EFLAGS; all but IRET set the new busy bit;
 *   6. commit: TR, CR0.TS, CR3 (32-bit TSS with paging), EFLAGS, EIP and
 *      the general registers take the new task's values;
 *   7. LDTR, CS, SS, DS, ES, FS, GS are loaded with their checks.  Faults
 *      from here on are raised in the new task's context (its CS:EIP);
 *   8. an exception's error code is pushed on the new task's stack.
 * A 16-bit TSS (types 1/3) holds no CR3, FS, GS or upper register halves:
 * the upper halves load as 0xFFFF, FS/GS as null.
 */
#include "ops.h"

#include "util/log.h"

/* The register state held in a TSS. */
struct tss_state {
    uint32_t cr3, eip, eflags, r[8];
    uint16_t sreg[6], ldt;
    bool trap;
};

static bool tss_is32(uint32_t ar)
{
    return AR_TYPE(ar) & 8;
}

void tss_inner_stack(struct cpu *cpu, unsigned cpl, uint16_t *ss, uint32_t *esp, uint32_t ext)
{
    const struct seg *tr = &cpu->tr;
    uint32_t err = (tr->sel & 0xFFFCu) | ext;
    if (tss_is32(tr->ar)) {
        uint32_t at = (cpl << 3) + 4;
        if (at + 5 > tr->limit) {
            cpu_fault(cpu, EX_TS, err);
        }
        *esp = sys_rd(cpu, tr->base + at, 32);
        *ss = (uint16_t)sys_rd(cpu, tr->base + at + 4, 16);
    } else {
        uint32_t at = (cpl << 2) + 2;
        if (at + 3 > tr->limit) {
            cpu_fault(cpu, EX_TS, err);
        }
        *esp = sys_rd(cpu, tr->base + at, 16);
        *ss = (uint16_t)sys_rd(cpu, tr->base + at + 2, 16);
    }
}

static void tss_read(struct cpu *cpu, uint32_t base, bool t32, struct tss_state *s)
{
    if (t32) {
        s->cr3 = sys_rd(cpu, base + 0x1C, 32);
        s->eip = sys_rd(cpu, base + 0x20, 32);
        s->eflags = sys_rd(cpu, base + 0x24, 32);
        for (int i = 0; i < 8; i++) {
            s->r[i] = sys_rd(cpu, base + 0x28 + 4 * (uint32_t)i, 32);
        }
        for (int i = 0; i < 6; i++) {
            s->sreg[i] = (uint16_t)sys_rd(cpu, base + 0x48 + 4 * (uint32_t)i, 16);
        }
        s->ldt = (uint16_t)sys_rd(cpu, base + 0x60, 16);
        s->trap = sys_rd(cpu, base + 0x64, 16) & 1;
        return;
    }
    s->cr3 = 0;
    s->eip = sys_rd(cpu, base + 0x0E, 16);
    s->eflags = sys_rd(cpu, base + 0x10, 16);
    for (int i = 0; i < 8; i++) {
        s->r[i] = 0xFFFF0000u | sys_rd(cpu, base + 0x12 + 2 * (uint32_t)i, 16);
    }
    for (int i = 0; i < 4; i++) {   /* ES CS SS DS */
        s->sreg[i] = (uint16_t)sys_rd(cpu, base + 0x22 + 2 * (uint32_t)i, 16);
    }
    s->sreg[S_FS] = s->sreg[S_GS] = 0;
    s->ldt = (uint16_t)sys_rd(cpu, base + 0x2A, 16);
    s->trap = false;
}

/* Save the current task's dynamic state into the TSS at base. */
static void tss_save(struct cpu *cpu, uint32_t base, bool t32, uint32_t eip, uint32_t fl)
{
    if (t32) {
        sys_wr(cpu, base + 0x20, 32, eip);
        sys_wr(cpu, base + 0x24, 32, fl);
        for (int i = 0; i < 8; i++) {
            sys_wr(cpu, base + 0x28 + 4 * (uint32_t)i, 32, cpu->r[i]);
        }
        for (int i = 0; i < 6; i++) {
            sys_wr(cpu, base + 0x48 + 4 * (uint32_t)i, 16, cpu->seg[i].sel);
        }
        return;
    }
    sys_wr(cpu, base + 0x0E, 16, eip & 0xFFFF);
    sys_wr(cpu, base + 0x10, 16, fl & 0xFFFF);
    for (int i = 0; i < 8; i++) {
        sys_wr(cpu, base + 0x12 + 2 * (uint32_t)i, 16, cpu->r[i] & 0xFFFF);
    }
    for (int i = 0; i < 4; i++) {
        sys_wr(cpu, base + 0x22 + 2 * (uint32_t)i, 16, cpu->seg[i].sel);
    }
}

/* Load LDTR from the new task's LDT selector (faults #TS). */
static void task_load_ldt(struct cpu *cpu, uint16_t sel, uint32_t ext)
{
    uint32_t d[2];
    if (!(sel & 0xFFFC)) {
        cpu->ldtr = (struct seg){ sel, 0, 0, 0 };
        return;
    }
    cpu_fetch_sys_desc(cpu, sel, 1u << 2, EX_TS, EX_TS, ext, d);   /* an LDT */
    cpu_desc_to_seg(&cpu->ldtr, sel, d);
}

/* Load CS for the new task; CPL is already its RPL. */
static void task_load_cs(struct cpu *cpu, uint16_t sel, uint32_t ext)
{
    uint32_t d[2];
    uint32_t err = (sel & 0xFFFCu) | ext;
    if (!(sel & 0xFFFC)) {
        cpu_fault(cpu, EX_TS, ext);
    }
    cpu_fetch_desc(cpu, sel, d, EX_TS, ext);
    unsigned type = (d[1] >> 8) & 0xF, dpl = AR_DPL(d[1]), rpl = sel & 3u;
    if (!(d[1] & AR_S) || !(type & 8) || ((type & 4) ? dpl > rpl : dpl != rpl)) {
        cpu_fault(cpu, EX_TS, err);
    }
    if (!(d[1] & AR_P)) {
        cpu_fault(cpu, EX_NP, err);
    }
    cpu_desc_set_accessed(cpu, sel, d);
    cpu_desc_to_seg(&cpu->seg[S_CS], sel, d);
}

/* Step 7: the new task's segment registers, in the new task's context. */
static void task_load_segs(struct cpu *cpu, const struct tss_state *s, uint32_t ext)
{
    /* selectors first, caches unusable: a fault shows the new selectors */
    for (int i = 0; i < 6; i++) {
        cpu->seg[i] = (struct seg){ s->sreg[i], 0, 0, 0 };
    }
    cpu->ldtr = (struct seg){ s->ldt, 0, 0, 0 };
    if (cpu->eflags & F_VM) {
        cpu->cpl = 3;
        for (int i = 0; i < 6; i++) {
            cpu_load_seg_real(cpu, i, s->sreg[i]);
        }
        task_load_ldt(cpu, s->ldt, ext);
        return;
    }
    cpu->cpl = s->sreg[S_CS] & 3;
    task_load_ldt(cpu, s->ldt, ext);
    task_load_cs(cpu, s->sreg[S_CS], ext);
    cpu_load_seg_checked(cpu, S_SS, s->sreg[S_SS], EX_TS, ext);
    static const int data[4] = { S_DS, S_ES, S_FS, S_GS };
    for (int i = 0; i < 4; i++) {
        cpu_load_seg_checked(cpu, data[i], s->sreg[data[i]], EX_TS, ext);
    }
}

/* Steps 4-5: save the old task, move the busy bits, link the new task. */
static void task_leave(struct cpu *cpu, uint16_t sel, const uint32_t d[2], int src,
                       uint32_t old_eip, uint32_t new_base)
{
    uint32_t fl = cpu_get_eflags(cpu);
    if (src == TS_IRET) {
        fl &= ~F_NT;
    }
    tss_save(cpu, cpu->tr.base, tss_is32(cpu->tr.ar), old_eip, fl);
    if (src == TS_JMP || src == TS_IRET) {
        uint32_t od[2];
        if (cpu_read_desc(cpu, cpu->tr.sel, od)) {
            cpu_desc_write_hi(cpu, cpu->tr.sel, od[1] & ~0x200u);
        }
    }
    if (src == TS_CALL || src == TS_INT) {
        sys_wr(cpu, new_base, 16, cpu->tr.sel);
    }
    if (src != TS_IRET) {
        cpu_desc_write_hi(cpu, sel, d[1] | 0x200u);
    }
}

void cpu_task_switch(struct cpu *cpu, uint16_t sel, const uint32_t d[2], int src,
                     uint32_t old_eip, uint32_t err, uint32_t ext)
{
    struct seg ntr;
    cpu_desc_to_seg(&ntr, sel, d);
    bool n32 = tss_is32(ntr.ar);
    if (ntr.limit < (n32 ? 0x67u : 0x2Bu)) {
        cpu_fault(cpu, EX_TS, (sel & 0xFFFCu) | ext);
    }
    if (cpu->tr.limit < (tss_is32(cpu->tr.ar) ? 0x5Fu : 0x29u)) {
        cpu_fault(cpu, EX_TS, (cpu->tr.sel & 0xFFFCu) | ext);
    }
    struct tss_state s;
    tss_read(cpu, ntr.base, n32, &s);
    log_ch(LOG_INT, "task switch %04x -> %04x (src %d) eip=%08x", cpu->tr.sel, sel,
           src, s.eip);
    task_leave(cpu, sel, d, src, old_eip, ntr.base);
    if (src == TS_CALL || src == TS_INT) {
        s.eflags |= F_NT;
    }

    /* commit point: from here faults belong to the new task */
    cpu->tr = ntr;
    cpu->tr.ar |= 0x200;   /* busy */
    cpu->cr0 |= CR0_TS;
    if (n32 && (cpu->cr0 & CR0_PG)) {
        cpu->cr3 = s.cr3;
        mmu_flush(cpu, true);
    }
    cpu_set_eflags(cpu, s.eflags, 0xFFFFFFFFu);
    memcpy(cpu->r, s.r, sizeof(cpu->r));
    cpu->eip = cpu->next_eip = s.eip;
    task_load_segs(cpu, &s, ext);

    if (err != EXC_NOERR) {
        struct stk k;
        stk_init_cur(cpu, &k, ext);
        stk_push(cpu, &k, n32 ? 32 : 16, err);
        stk_commit(cpu, &k);
    }
    if (cpu->eip > cpu->seg[S_CS].limit) {
        cpu_fault(cpu, EX_GP, ext);
    }
    if (s.trap) {
        cpu->trap_after = true;
        cpu->dr6_pending |= 0x8000;   /* DR6.BT */
    }
}

void cpu_task_gate(struct cpu *cpu, const uint32_t g[2], int src, uint32_t old_eip,
                   uint32_t err, uint32_t ext)
{
    uint16_t sel = (uint16_t)(g[0] >> 16);
    uint32_t d[2];
    /* an available 16- or 32-bit TSS */
    cpu_fetch_sys_desc(cpu, sel, 1u << 1 | 1u << 9, EX_GP, EX_NP, ext, d);
    cpu_task_switch(cpu, sel, d, src, old_eip, err, ext);
}
