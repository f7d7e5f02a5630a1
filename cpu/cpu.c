/* cpu.c - CPU creation and the power-on/reset state (SDM vol.3 9.1.1). */
#include "cpu.h"

#include <string.h>

#include "mem.h"

void cpu_init(struct cpu *cpu, struct bus *bus)
{
    memset(cpu, 0, sizeof(*cpu));
    cpu->bus = bus;
    cpu_reset(cpu);
}

static void reset_seg(struct seg *s, uint16_t sel, uint32_t base, uint32_t ar)
{
    s->sel = sel;
    s->base = base;
    s->limit = 0xFFFF;
    s->ar = ar;
}

void cpu_reset(struct cpu *cpu)
{
    memset(cpu->r, 0, sizeof(cpu->r));
    cpu->r[R_EDX] = CPU_SIGNATURE;
    cpu->eip = 0xFFF0;
    cpu->eflags = F_FIXED1;
    cpu->cc_op = CC_EAGER;
    cpu->cc_size = 32;
    /* data segments: present, writable, accessed (type 3) */
    for (int i = 0; i < 6; i++) {
        reset_seg(&cpu->seg[i], 0, 0, AR_P | AR_S | 0x300);
    }
    /* CS: present, execute/read, accessed (type 11), base 0xFFFF0000 */
    reset_seg(&cpu->seg[S_CS], 0xF000, 0xFFFF0000u, AR_P | AR_S | 0xB00);
    reset_seg(&cpu->ldtr, 0, 0, AR_P | 0x200);
    reset_seg(&cpu->tr, 0, 0, AR_P | 0xB00);
    cpu->gdtr = (struct dtr){ 0, 0xFFFF };
    cpu->idtr = (struct dtr){ 0, 0xFFFF };
    cpu->cr0 = CR0_ET | CR0_CD | CR0_NW;
    cpu->cr2 = cpu->cr3 = cpu->cr4 = 0;
    memset(cpu->dr, 0, sizeof(cpu->dr));
    cpu->dr[6] = 0xFFFF0FF0u;
    cpu->dr[7] = 0x400;
    cpu->cpl = 0;
    memset(&cpu->fpu, 0, sizeof(cpu->fpu));
    cpu->fpu.cw = 0x0040;
    cpu->fpu.tw = 0x5555;        /* SDM 9.1.1: tags after RESET */
    memset(&cpu->msr, 0, sizeof(cpu->msr));
    cpu->msr.apic_base = 0xFEE00900u; /* BSP, enabled */
    cpu->msr.mtrr_cap = 0x508;     /* 8 variable ranges, fixed ranges, WC */
    /* the TSC restarts at 0 */
    cpu->tsc_base = cpu->clock_ns ? cpu->clock_ns(cpu->hook_opaque) : cpu->icount;
    cpu->dbg_armed = false;
    cpu->dr6_pending = 0;
    cpu->a20_mask = 0xFFFFFFFFu;
    cpu->exc_vec = -1;
    cpu->exc_depth = 0;
    cpu->halted = false;
    cpu->nmi_pending = cpu->nmi_blocked = false;
    cpu->inhibit_irq = 0;
    cpu->trap_after = false;
    cpu->reset_request = false;
    cpu->ferr = false;
    cpu->tlb_log[0].n = cpu->tlb_log[1].n = TLB_LOG + 1;   /* nothing is known of the TLB */
    mmu_flush(cpu, false);
}

void cpu_init_signal(struct cpu *cpu)
{
    struct fpu fpu = cpu->fpu;
    struct msrs msr = cpu->msr;
    uint64_t tsc_base = cpu->tsc_base;
    uint32_t a20_mask = cpu->a20_mask;   /* A20M# is the chipset's input */
    cpu_reset(cpu);
    cpu->a20_mask = a20_mask;
    cpu->fpu = fpu;
    cpu->msr = msr;
    cpu->tsc_base = tsc_base;
}

void cpu_set_intr(struct cpu *cpu, bool level)
{
    cpu->intr_line = level;
    if (level) {
        cpu->jit_limit = 0;     /* translated code: stop at the next block */
    }
}

void cpu_raise_nmi(struct cpu *cpu)
{
    cpu->nmi_pending = true;
    cpu->jit_limit = 0;
}

void cpu_set_a20(struct cpu *cpu, bool on)
{
    uint32_t mask = on ? 0xFFFFFFFFu : ~(1u << 20);
    if (mask != cpu->a20_mask) {
        cpu->a20_mask = mask;
        mmu_flush(cpu, false);
    }
}
