/*
 * ops_msr.c - CPUID, the time-stamp counter, model-specific registers,
 * performance counters and SYSENTER/SYSEXIT of a P6 (family 6) CPU.
 *
 * CPUID describes exactly what kasou implements: a Pentium II class part
 * (signature CPU_SIGNATURE) with FPU, DE, PSE, TSC, MSR, MCE, CX8, SEP,
 * MTRR, PGE, MCA, CMOV and FXSR; no VME, PAE, PAT or MMX.  APIC is
 * reported when the board attached a local APIC (the apic_base_changed
 * hook) and IA32_APIC_BASE has it globally enabled, as on a P6.
 *
 * The TSC counts virtual nanoseconds (1 GHz) when the board gives a clock
 * hook, else retired instructions; msr.tsc_offset holds what WRMSR added.
 * A P6 writes only TSC bits 31:0 and clears 63:32 (SDM vol.3 "Time-Stamp
 * Counter"), and a PerfCtr write sign-extends bit 31 into the 40-bit
 * counter.  Unknown MSRs fault #GP(0), logged on the unimp channel.
 */
#include "ops.h"

#include "util/log.h"

/* CPUID.1:EDX */
#define FEAT_FPU  (1u << 0)
#define FEAT_DE   (1u << 2)
#define FEAT_PSE  (1u << 3)
#define FEAT_TSC  (1u << 4)
#define FEAT_MSR  (1u << 5)
#define FEAT_MCE  (1u << 7)
#define FEAT_CX8  (1u << 8)
#define FEAT_APIC (1u << 9)
#define FEAT_SEP  (1u << 11)
#define FEAT_MTRR (1u << 12)
#define FEAT_PGE  (1u << 13)
#define FEAT_MCA  (1u << 14)
#define FEAT_CMOV (1u << 15)
#define FEAT_FXSR (1u << 24)
#define CPU_FEATURES (FEAT_FPU | FEAT_DE | FEAT_PSE | FEAT_TSC | FEAT_MSR | FEAT_MCE | \
                      FEAT_CX8 | FEAT_SEP | FEAT_MTRR | FEAT_PGE | FEAT_MCA | \
                      FEAT_CMOV | FEAT_FXSR)

enum {
    MSR_TSC = 0x10, MSR_PLATFORM_ID = 0x17, MSR_APIC_BASE = 0x1B,
    MSR_EBL_CR_POWERON = 0x2A, MSR_BIOS_UPDT_TRIG = 0x79, MSR_BIOS_SIGN_ID = 0x8B,
    MSR_PERFCTR0 = 0xC1, MSR_PERFCTR1 = 0xC2, MSR_MTRRCAP = 0xFE,
    MSR_SYSENTER_CS = 0x174, MSR_SYSENTER_ESP = 0x175, MSR_SYSENTER_EIP = 0x176,
    MSR_MCG_CAP = 0x179, MSR_MCG_STATUS = 0x17A,
    MSR_EVNTSEL0 = 0x186, MSR_EVNTSEL1 = 0x187,
    MSR_MTRR_PHYS0 = 0x200, MSR_MTRR_PHYS_END = 0x210,
    MSR_MTRR_FIX64K = 0x250, MSR_MTRR_FIX16K_80 = 0x258, MSR_MTRR_FIX16K_A0 = 0x259,
    MSR_MTRR_FIX4K = 0x268, MSR_MTRR_FIX4K_END = 0x270, MSR_MTRR_DEF_TYPE = 0x2FF,
};

/* --- CPUID --- */

void op_cpuid(struct cpu *cpu, const struct insn *in)
{
    uint32_t leaf = cpu->r[R_EAX];
    uint32_t a = 0, b = 0, c = 0, d = 0;
    if (leaf > 2) {
        leaf = 2;   /* beyond the maximum: the highest basic leaf's data */
    }
    switch (leaf) {
    case 0:
        a = 2;
        b = 0x756E6547;   /* "Genu" */
        d = 0x49656E69;   /* "ineI" */
        c = 0x6C65746E;   /* "ntel" */
        break;
    case 1:
        a = CPU_SIGNATURE;
        d = CPU_FEATURES;
        if (cpu->apic_base_changed && (cpu->msr.apic_base & 0x800)) {
            d |= FEAT_APIC;
        }
        /* the microcode revision (none loaded) appears in BIOS_SIGN_ID */
        cpu->msr.bios_sign_id = 0;
        break;
    default:
        /* one iteration; TLB and cache descriptors of a Pentium II */
        a = 0x03020101;   /* 01 ITLB 4K, 02 ITLB 4M, 03 DTLB 4K */
        d = 0x0C040843;   /* 43 L2 512K, 08 L1I 16K, 04 DTLB 4M, 0C L1D 16K */
        break;
    }
    cpu->r[R_EAX] = a;
    cpu->r[R_EBX] = b;
    cpu->r[R_ECX] = c;
    cpu->r[R_EDX] = d;
}

/* --- time-stamp counter --- */

static uint64_t tsc_raw(struct cpu *cpu)
{
    uint64_t now = cpu->clock_ns ? cpu->clock_ns(cpu->hook_opaque) : cpu->icount;
    return now - cpu->tsc_base;
}

static uint64_t tsc_read(struct cpu *cpu)
{
    return tsc_raw(cpu) + cpu->msr.tsc_offset;
}

static void tsc_write(struct cpu *cpu, uint64_t v)
{
    cpu->msr.tsc_offset = (v & 0xFFFFFFFFu) - tsc_raw(cpu);
}

/* CPL > 0 in protected mode, or virtual-8086 mode. */
static bool user_level(const struct cpu *cpu)
{
    return cpu_pmode(cpu) && (cpu->cpl != 0 || cpu_v86(cpu));
}

static void set_edx_eax(struct cpu *cpu, uint64_t v)
{
    cpu->r[R_EAX] = (uint32_t)v;
    cpu->r[R_EDX] = (uint32_t)(v >> 32);
}

void op_rdtsc(struct cpu *cpu, const struct insn *in)
{
    if ((cpu->cr4 & CR4_TSD) && user_level(cpu)) {
        cpu_fault(cpu, EX_GP, 0);
    }
    set_edx_eax(cpu, tsc_read(cpu));
}

void op_rdpmc(struct cpu *cpu, const struct insn *in)
{
    if (!(cpu->cr4 & CR4_PCE) && user_level(cpu)) {
        cpu_fault(cpu, EX_GP, 0);
    }
    uint32_t n = cpu->r[R_ECX];
    if (n > 1) {
        cpu_fault(cpu, EX_GP, 0);
    }
    set_edx_eax(cpu, cpu->msr.perfctr[n] & 0xFFFFFFFFFFull);
}

/* --- model-specific registers --- */

/* Memory types an MTRR may hold: UC, WC, WT, WP, WB. */
static bool mtrr_type_ok(uint64_t t)
{
    return t == 0 || t == 1 || t == 4 || t == 5 || t == 6;
}

static bool mtrr_fixed_ok(uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        if (!mtrr_type_ok((v >> (8 * i)) & 0xFF)) {
            return false;
        }
    }
    return true;
}

/* Fixed-range MTRR index (0..10) of an MSR number, or -1. */
static int mtrr_fixed_index(uint32_t msr)
{
    if (msr == MSR_MTRR_FIX64K) {
        return 0;
    }
    if (msr == MSR_MTRR_FIX16K_80 || msr == MSR_MTRR_FIX16K_A0) {
        return 1 + (int)(msr - MSR_MTRR_FIX16K_80);
    }
    if (msr >= MSR_MTRR_FIX4K && msr < MSR_MTRR_FIX4K_END) {
        return 3 + (int)(msr - MSR_MTRR_FIX4K);
    }
    return -1;
}

static _Noreturn void msr_unknown(struct cpu *cpu, const char *op, uint32_t msr)
{
    log_ch(LOG_UNIMP, "%s of unknown MSR %#x at %04x:%08x: #GP", op, msr,
           cpu->seg[S_CS].sel, cpu->eip);
    cpu_fault(cpu, EX_GP, 0);
}

/* The value of MSR `msr`; faults #GP(0) for MSRs a P6 lacks or cannot read. */
static uint64_t msr_read(struct cpu *cpu, uint32_t msr)
{
    struct msrs *m = &cpu->msr;
    int fix = mtrr_fixed_index(msr);
    if (fix >= 0) {
        return m->mtrr_fixed[fix];
    }
    if (msr >= MSR_MTRR_PHYS0 && msr < MSR_MTRR_PHYS_END) {
        return m->mtrr_var[msr - MSR_MTRR_PHYS0];
    }
    switch (msr) {
    case MSR_TSC:
        return tsc_read(cpu);
    case MSR_PLATFORM_ID:
        return m->platform_id;
    case MSR_APIC_BASE:
        return m->apic_base;
    case MSR_EBL_CR_POWERON:
    case MSR_BIOS_UPDT_TRIG:
    case MSR_MCG_CAP:     /* no banks, no MCG_CTL */
        return 0;
    case MSR_BIOS_SIGN_ID:
        return m->bios_sign_id;
    case MSR_PERFCTR0:
    case MSR_PERFCTR1:
        return m->perfctr[msr - MSR_PERFCTR0];
    case MSR_EVNTSEL0:
    case MSR_EVNTSEL1:
        return m->perfevtsel[msr - MSR_EVNTSEL0];
    case MSR_MTRRCAP:
        return m->mtrr_cap;
    case MSR_SYSENTER_CS:
        return m->sysenter_cs;
    case MSR_SYSENTER_ESP:
        return m->sysenter_esp;
    case MSR_SYSENTER_EIP:
        return m->sysenter_eip;
    case MSR_MCG_STATUS:
        return m->mcg_status;
    case MSR_MTRR_DEF_TYPE:
        return m->mtrr_def_type;
    default:
        msr_unknown(cpu, "rdmsr", msr);
    }
}

/* Variable-range MTRR pair: PhysBase (even) and PhysMask (odd), 36-bit. */
static bool mtrr_var_ok(uint32_t msr, uint64_t v)
{
    if (msr & 1) {
        return !(v & 0xFFFFFFF0000007FFull);
    }
    return !(v & 0xFFFFFFF000000F00ull) && mtrr_type_ok(v & 0xFF);
}

static void msr_write_mtrr(struct cpu *cpu, uint32_t msr, uint64_t v)
{
    struct msrs *m = &cpu->msr;
    int fix = mtrr_fixed_index(msr);
    bool ok;
    if (fix >= 0) {
        ok = mtrr_fixed_ok(v);
    } else if (msr == MSR_MTRR_DEF_TYPE) {
        ok = !(v & ~0xCFFull) && mtrr_type_ok(v & 0xFF);
    } else {
        ok = mtrr_var_ok(msr, v);
    }
    if (!ok) {
        cpu_fault(cpu, EX_GP, 0);
    }
    if (fix >= 0) {
        m->mtrr_fixed[fix] = v;
    } else if (msr == MSR_MTRR_DEF_TYPE) {
        m->mtrr_def_type = v;
    } else {
        m->mtrr_var[msr - MSR_MTRR_PHYS0] = v;
    }
}

static void msr_write(struct cpu *cpu, uint32_t msr, uint64_t v)
{
    struct msrs *m = &cpu->msr;
    if (mtrr_fixed_index(msr) >= 0 || msr == MSR_MTRR_DEF_TYPE ||
        (msr >= MSR_MTRR_PHYS0 && msr < MSR_MTRR_PHYS_END)) {
        msr_write_mtrr(cpu, msr, v);
        return;
    }
    switch (msr) {
    case MSR_TSC:
        tsc_write(cpu, v);
        break;
    case MSR_APIC_BASE:
        /* base (bits 35:12) and enable (11); BSP (8) is the CPU's own */
        if (v & ~0xFFFFFF900ull) {
            cpu_fault(cpu, EX_GP, 0);
        }
        m->apic_base = (v & 0xFFFFFF800ull) | (m->apic_base & 0x100);
        if (cpu->apic_base_changed) {
            cpu->apic_base_changed(cpu->hook_opaque, m->apic_base);
        }
        break;
    case MSR_EBL_CR_POWERON:
        break;
    case MSR_BIOS_UPDT_TRIG:
        log_once("microcode update requested: ignored");
        break;
    case MSR_BIOS_SIGN_ID:
        m->bios_sign_id = v;
        break;
    case MSR_PERFCTR0:
    case MSR_PERFCTR1: {
        uint64_t lo = (uint32_t)v;
        m->perfctr[msr - MSR_PERFCTR0] = (lo & 0x80000000u) ? lo | 0xFF00000000ull : lo;
        break;
    }
    case MSR_EVNTSEL0:
    case MSR_EVNTSEL1:
        m->perfevtsel[msr - MSR_EVNTSEL0] = (uint32_t)v;
        break;
    case MSR_SYSENTER_CS:
        m->sysenter_cs = (uint32_t)v;
        break;
    case MSR_SYSENTER_ESP:
        m->sysenter_esp = (uint32_t)v;
        break;
    case MSR_SYSENTER_EIP:
        m->sysenter_eip = (uint32_t)v;
        break;
    case MSR_MCG_STATUS:
        if (v & ~7ull) {
            cpu_fault(cpu, EX_GP, 0);
        }
        m->mcg_status = v;
        break;
    case MSR_PLATFORM_ID:
    case MSR_MTRRCAP:
    case MSR_MCG_CAP:
        cpu_fault(cpu, EX_GP, 0);   /* read-only */
    default:
        msr_unknown(cpu, "wrmsr", msr);
    }
}

void op_rdmsr(struct cpu *cpu, const struct insn *in)
{
    require_cpl0(cpu);
    set_edx_eax(cpu, msr_read(cpu, cpu->r[R_ECX]));
}

void op_wrmsr(struct cpu *cpu, const struct insn *in)
{
    require_cpl0(cpu);
    uint64_t v = (uint64_t)cpu->r[R_EDX] << 32 | cpu->r[R_EAX];
    msr_write(cpu, cpu->r[R_ECX], v);
}

/* --- SYSENTER / SYSEXIT --- */

/* A flat 4 GiB segment: base 0, limit FFFFFh pages, present, D/B, G. */
static void flat_seg(struct seg *s, uint16_t sel, unsigned dpl, unsigned type)
{
    s->sel = sel;
    s->base = 0;
    s->limit = 0xFFFFFFFFu;
    s->ar = (type << 8) | AR_S | (dpl << 13) | AR_P | AR_DB | AR_G;
}

/*
 * SYSENTER (SDM vol.2): CS = SYSENTER_CS & FFFCh and SS = CS + 8 as flat
 * ring-0 segments whatever the GDT holds; VM, IF and RF clear.
 */
void op_sysenter(struct cpu *cpu, const struct insn *in)
{
    uint16_t cs = (uint16_t)cpu->msr.sysenter_cs;
    if (!cpu_pmode(cpu) || !(cs & 0xFFFC)) {
        cpu_fault(cpu, EX_GP, 0);
    }
    cpu->eflags &= ~(F_VM | F_IF | F_RF);
    cs &= 0xFFFC;
    flat_seg(&cpu->seg[S_CS], cs, 0, 0xB);
    flat_seg(&cpu->seg[S_SS], (uint16_t)(cs + 8), 0, 0x3);
    cpu->cpl = 0;
    cpu->r[R_ESP] = cpu->msr.sysenter_esp;
    cpu->next_eip = cpu->msr.sysenter_eip;
}

/* SYSEXIT: CS = (SYSENTER_CS + 16) | 3, SS = CS + 8, ring 3; ESP = ECX, EIP = EDX. */
void op_sysexit(struct cpu *cpu, const struct insn *in)
{
    uint16_t cs = (uint16_t)cpu->msr.sysenter_cs;
    if (!cpu_pmode(cpu) || cpu_v86(cpu) || cpu->cpl != 0 || !(cs & 0xFFFC)) {
        cpu_fault(cpu, EX_GP, 0);
    }
    cs = (uint16_t)((cs + 16) | 3);
    flat_seg(&cpu->seg[S_CS], cs, 3, 0xB);
    flat_seg(&cpu->seg[S_SS], (uint16_t)(cs + 8), 3, 0x3);
    cpu->cpl = 3;
    cpu->r[R_ESP] = cpu->r[R_ECX];
    cpu->next_eip = cpu->r[R_EDX];
}
