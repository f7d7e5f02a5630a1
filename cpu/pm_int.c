/*
 * pm_int.c - interrupt and exception delivery in protected and
 * virtual-8086 mode (SDM vol.3 ch.6 and 20; vol.2 INT n).
 *
 * The IDT holds 8-byte gates: task gates (5), 16-bit interrupt/trap gates
 * (6/7) and 32-bit interrupt/trap gates (E/F).  Faults raised while
 * reading the IDT carry the error code vec*8 + 2 (IDT bit) + EXT; EXT is
 * set for every event but INT n/INT3/INTO, so an exception raised while an
 * external interrupt or another exception is delivered says so.
 *
 * An interrupt or trap gate to a more privileged non-conforming code
 * segment switches to the stack the TSS gives for that ring and pushes the
 * old SS:ESP first; coming from V86 mode it also pushes GS, FS, DS and ES
 * and nulls them, since the handler runs in protected mode.  The frame is
 * written through struct stk and the registers change only at the end.
 */
#include "ops.h"

#include "util/log.h"

/* The handler an interrupt/trap gate names, checked (SDM INT n). */
struct target {
    uint16_t sel;
    uint32_t off, d[2];
    int size;           /* gate size: 16 or 32 */
    bool inner;         /* to a more privileged ring: switch stacks */
    unsigned cpl;       /* CPL of the handler */
};

static void check_target(struct cpu *cpu, const uint32_t g[2], uint32_t ext, struct target *t)
{
    t->size = (g[1] & 0x800) ? 32 : 16;
    t->sel = (uint16_t)(g[0] >> 16);
    t->off = (g[0] & 0xFFFF) | (t->size == 32 ? g[1] & 0xFFFF0000u : 0);
    uint32_t selerr = (t->sel & 0xFFFCu) | ext;
    bool v86 = cpu_v86(cpu);
    unsigned cpl = v86 ? 3 : cpu->cpl;
    if (!(t->sel & 0xFFFC)) {
        cpu_fault(cpu, EX_GP, ext);
    }
    cpu_fetch_desc(cpu, t->sel, t->d, EX_GP, ext);
    unsigned type = (t->d[1] >> 8) & 0xF, dpl = AR_DPL(t->d[1]);
    if (!(t->d[1] & AR_S) || !(type & 8) || dpl > cpl) {
        cpu_fault(cpu, EX_GP, selerr);
    }
    if (!(t->d[1] & AR_P)) {
        cpu_fault(cpu, EX_NP, selerr);
    }
    t->inner = !(type & 4) && dpl < cpl;
    if (v86 && (!t->inner || dpl != 0)) {
        cpu_fault(cpu, EX_GP, selerr);   /* V86 handlers must run at ring 0 */
    }
    t->cpl = t->inner ? dpl : cpl;
}

/*
 * Write the frame on the handler's stack (the TSS's for an inner ring):
 * [GS FS DS ES from V86] [SS ESP for a stack switch] EFLAGS CS EIP [err].
 */
static void push_frame(struct cpu *cpu, const struct target *t, uint32_t err,
                       uint32_t ret_eip, uint32_t ext, struct stk *k)
{
    int size = t->size;
    uint32_t m = size == 16 ? 0xFFFF : 0xFFFFFFFFu;
    if (t->inner) {
        uint16_t ssel;
        uint32_t esp, sd[2];
        tss_inner_stack(cpu, t->cpl, &ssel, &esp, ext);
        cpu_check_inner_ss(cpu, ssel, t->cpl, sd, ext);
        struct seg ss;
        cpu_desc_to_seg(&ss, ssel, sd);
        stk_init(k, &ss, esp, EX_SS, (ssel & 0xFFFCu) | ext);
        cpu_desc_set_accessed(cpu, ssel, sd);
        k->ss.ar = sd[1] & 0x00F0FF00u;
    } else {
        stk_init_cur(cpu, k, ext);
    }
    if (cpu_v86(cpu)) {
        stk_push(cpu, k, size, cpu->seg[S_GS].sel);
        stk_push(cpu, k, size, cpu->seg[S_FS].sel);
        stk_push(cpu, k, size, cpu->seg[S_DS].sel);
        stk_push(cpu, k, size, cpu->seg[S_ES].sel);
    }
    if (t->inner) {
        stk_push(cpu, k, size, cpu->seg[S_SS].sel);
        stk_push(cpu, k, size, cpu->r[R_ESP] & m);
    }
    stk_push(cpu, k, size, cpu_get_eflags(cpu) & m);
    stk_push(cpu, k, size, cpu->seg[S_CS].sel);
    stk_push(cpu, k, size, ret_eip & m);
    if (err != EXC_NOERR) {
        stk_push(cpu, k, size, err & m);
    }
}

/* Deliver through the interrupt/trap gate g. */
static void gate_deliver(struct cpu *cpu, const uint32_t g[2], uint32_t err,
                         uint32_t ret_eip, uint32_t ext)
{
    struct target t;
    check_target(cpu, g, ext, &t);
    struct seg cs;
    cpu_desc_to_seg(&cs, t.sel, t.d);
    if (t.off > cs.limit) {
        cpu_fault(cpu, EX_GP, ext);
    }
    struct stk k;
    push_frame(cpu, &t, err, ret_eip, ext, &k);

    /* commit: nothing below faults but the accessed-bit write */
    cpu_desc_set_accessed(cpu, t.sel, t.d);
    if (cpu_v86(cpu)) {
        static const int segs[4] = { S_ES, S_DS, S_FS, S_GS };
        for (int i = 0; i < 4; i++) {
            cpu->seg[segs[i]] = (struct seg){ 0, 0, 0, 0 };
        }
    }
    bool trap = g[1] & 0x100;
    cpu_set_eflags(cpu, 0, F_TF | F_NT | F_RF | F_VM | (trap ? 0 : F_IF));
    cpu_desc_to_seg(&cpu->seg[S_CS], (uint16_t)((t.sel & 0xFFFC) | t.cpl), t.d);
    cpu->cpl = (uint8_t)t.cpl;
    stk_commit(cpu, &k);
    cpu->eip = t.off;
    cpu->next_eip = t.off;
}

/*
 * Fault-class exceptions push EFLAGS with RF set, so that IRET back to the
 * faulting instruction does not hit its instruction breakpoint again (SDM
 * vol.3 "Exception- or Interrupt-Handler Procedures").  #DB is left out:
 * for an instruction breakpoint the debugger sets RF itself.
 */
static bool fault_class(int vec, int kind)
{
    static const uint32_t faults = 0x000B7CE1u;   /* 0 5 6 7 10-14 16 17 19 */
    return kind == INT_EXC && vec < 32 && ((faults >> vec) & 1);
}

void pm_interrupt(struct cpu *cpu, int vec, uint32_t err, int kind, uint32_t ret_eip)
{
    if (fault_class(vec, kind)) {
        cpu->eflags |= F_RF;
    }
    uint32_t ext = kind == INT_SOFT ? 0 : 1;
    uint32_t idterr = (uint32_t)vec * 8 + 2 + ext;
    if ((uint32_t)vec * 8 + 7 > cpu->idtr.limit) {
        cpu_fault(cpu, EX_GP, idterr);
    }
    uint32_t g[2];
    g[0] = sys_rd(cpu, cpu->idtr.base + (uint32_t)vec * 8, 32);
    g[1] = sys_rd(cpu, cpu->idtr.base + (uint32_t)vec * 8 + 4, 32);
    unsigned type = (g[1] >> 8) & 0x1F;   /* S must be 0 */
    if (type != 0x05 && type != 0x06 && type != 0x07 && type != 0x0E && type != 0x0F) {
        cpu_fault(cpu, EX_GP, idterr);
    }
    unsigned cpl = cpu_v86(cpu) ? 3 : cpu->cpl;
    if (kind == INT_SOFT && AR_DPL(g[1]) < cpl) {
        cpu_fault(cpu, EX_GP, idterr);
    }
    if (!(g[1] & AR_P)) {
        cpu_fault(cpu, EX_NP, idterr);
    }
    if (type == 0x05) {
        cpu_task_gate(cpu, g, TS_INT, ret_eip, err, ext);
    } else {
        gate_deliver(cpu, g, err, ret_eip, ext);
    }
}
