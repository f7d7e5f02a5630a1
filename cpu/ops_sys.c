/*
 * ops_sys.c - system instructions: descriptor-table registers (SGDT LGDT
 * SLDT LLDT STR LTR ...), selector tests (LAR LSL VERR VERW ARPL), control
 * and debug registers, HLT, and the flag instructions that IOPL guards
 * (CLI STI PUSHF POPF).  Behaviour follows the Intel SDM vol.2 pages of
 * each instruction for a P6 (family 6) processor.
 *
 * Privilege rules in one place:
 *   - require_cpl0: the "privileged" instructions; #GP(0) at CPL > 0 in
 *     protected mode and always in virtual-8086 mode, allowed in real mode.
 *   - require_pm: the selector instructions (SLDT STR LLDT LTR LAR LSL VERR
 *     VERW ARPL) are not recognised in real and virtual-8086 mode: #UD.
 *   - IOPL: CLI/STI need CPL <= IOPL (V86: IOPL = 3), PUSHF/POPF in V86
 *     need IOPL = 3; kasou has no VME/PVI, so those fault #GP(0) instead
 *     of touching VIF (logged once on the unimp channel).
 *
 * Control register writes keep the TLB coherent: CR3 loads drop the
 * non-global entries, CR0.PG/WP and CR4.PSE/PGE/PAE changes drop all.
 */
#include "ops.h"

#include "util/log.h"

void require_cpl0(struct cpu *cpu)
{
    if (cpu_pmode(cpu) && (cpu->cpl != 0 || cpu_v86(cpu))) {
        cpu_fault(cpu, EX_GP, 0);
    }
}

static void require_pm(struct cpu *cpu)
{
    if (!cpu_pmode(cpu) || cpu_v86(cpu)) {
        cpu_fault(cpu, EX_UD, EXC_NOERR);
    }
}

/* Replace ZF, keeping the other arithmetic flags. */
static void set_zf(struct cpu *cpu, bool zf)
{
    uint32_t f = cpu_get_eflags(cpu);
    cc_set_eager(cpu, zf ? (f | F_ZF) : (f & ~F_ZF));
}

/* --- descriptor-table registers --- */

/*
 * SGDT/SIDT store the 16-bit limit, then the base: all 32 bits with a
 * 32-bit operand size; with 16 bits, base bits 23:0 and a zero byte (the
 * SDM's 16-bit form; the 286 stored 0xFF there).
 */
static void store_dtr(struct cpu *cpu, const struct insn *in, const struct dtr *t)
{
    uint32_t hi = cpu->ea;
    uint32_t lo_base = ea_plus(in, hi, 2);
    cpu_check_write(cpu, in->seg, hi, 2);
    cpu_check_write(cpu, in->seg, lo_base, 4);
    uint32_t base = in->opsize == 16 ? (t->base & 0xFFFFFFu) : t->base;
    cpu_wr16(cpu, in->seg, hi, t->limit);
    cpu_wr32(cpu, in->seg, lo_base, base);
}

static void load_dtr(struct cpu *cpu, const struct insn *in, struct dtr *t)
{
    require_cpl0(cpu);
    uint16_t limit = cpu_rd16(cpu, in->seg, cpu->ea);
    uint32_t base = cpu_rd32(cpu, in->seg, ea_plus(in, cpu->ea, 2));
    t->limit = limit;
    t->base = in->opsize == 16 ? (base & 0xFFFFFFu) : base;
}

void op_sgdt(struct cpu *cpu, const struct insn *in)
{
    store_dtr(cpu, in, &cpu->gdtr);
}

void op_sidt(struct cpu *cpu, const struct insn *in)
{
    store_dtr(cpu, in, &cpu->idtr);
}

void op_lgdt(struct cpu *cpu, const struct insn *in)
{
    load_dtr(cpu, in, &cpu->gdtr);
}

void op_lidt(struct cpu *cpu, const struct insn *in)
{
    load_dtr(cpu, in, &cpu->idtr);
}

/*
 * SLDT/STR/SMSW store 16 bits to memory; a 32-bit register destination
 * gets the value zero-extended (P6: SDM "cleared for ... P6 family").
 */
static void store_sel(struct cpu *cpu, const struct insn *in, uint32_t v)
{
    if (modrm_is_reg(in)) {
        reg_set(cpu, in->rm, in->opsize, v);
    } else {
        cpu_wr16(cpu, in->seg, cpu->ea, (uint16_t)v);
    }
}

void op_sldt(struct cpu *cpu, const struct insn *in)
{
    require_pm(cpu);
    store_sel(cpu, in, cpu->ldtr.sel);
}

void op_str(struct cpu *cpu, const struct insn *in)
{
    require_pm(cpu);
    store_sel(cpu, in, cpu->tr.sel);
}

void op_lldt(struct cpu *cpu, const struct insn *in)
{
    require_pm(cpu);
    require_cpl0(cpu);
    uint16_t sel = (uint16_t)get_E(cpu, in, 16);
    uint32_t d[2];
    if (!(sel & 0xFFFC)) {
        /* a null selector leaves LDTR unusable: LDT references fault */
        cpu->ldtr = (struct seg){ sel, 0, 0, 0 };
        return;
    }
    cpu_fetch_sys_desc(cpu, sel, 1u << 2, EX_GP, EX_NP, 0, d);   /* an LDT */
    cpu_desc_to_seg(&cpu->ldtr, sel, d);
}

void op_ltr(struct cpu *cpu, const struct insn *in)
{
    require_pm(cpu);
    require_cpl0(cpu);
    uint16_t sel = (uint16_t)get_E(cpu, in, 16);
    uint32_t d[2];
    if (!(sel & 0xFFFC)) {
        cpu_fault(cpu, EX_GP, 0);
    }
    /* an available 16- or 32-bit TSS */
    cpu_fetch_sys_desc(cpu, sel, 1u << 1 | 1u << 9, EX_GP, EX_NP, 0, d);
    d[1] |= 0x200;   /* busy, in the GDT too */
    cpu_desc_write_hi(cpu, sel, d[1]);
    cpu_desc_to_seg(&cpu->tr, sel, d);
}

/* --- selector tests: results in ZF, never a fault for a bad selector --- */

void op_lar(struct cpu *cpu, const struct insn *in)
{
    require_pm(cpu);
    uint16_t sel = (uint16_t)get_E(cpu, in, 16);
    uint32_t d[2];
    bool ok = cpu_sel_check(cpu, sel, SELCHK_LAR, d);
    if (ok) {
        set_G(cpu, in, in->opsize, d[1] & (in->opsize == 32 ? 0x00FFFF00u : 0xFF00u));
    }
    set_zf(cpu, ok);
}

void op_lsl(struct cpu *cpu, const struct insn *in)
{
    require_pm(cpu);
    uint16_t sel = (uint16_t)get_E(cpu, in, 16);
    uint32_t d[2];
    bool ok = cpu_sel_check(cpu, sel, SELCHK_LSL, d);
    if (ok) {
        uint32_t limit = (d[0] & 0xFFFF) | (d[1] & 0xF0000);
        if (d[1] & AR_G) {
            limit = (limit << 12) | 0xFFF;
        }
        set_G(cpu, in, in->opsize, limit);
    }
    set_zf(cpu, ok);
}

/* VERR/VERW: ZF tells whether the selector is readable/writable here. */
static void ver_sel(struct cpu *cpu, const struct insn *in, int kind)
{
    require_pm(cpu);
    uint32_t d[2];
    set_zf(cpu, cpu_sel_check(cpu, (uint16_t)get_E(cpu, in, 16), kind, d));
}

void op_verr(struct cpu *cpu, const struct insn *in)
{
    ver_sel(cpu, in, SELCHK_VERR);
}

void op_verw(struct cpu *cpu, const struct insn *in)
{
    ver_sel(cpu, in, SELCHK_VERW);
}

void op_arpl_Ew_Gw(struct cpu *cpu, const struct insn *in)
{
    require_pm(cpu);
    uint32_t dst = rmw_E(cpu, in, 16);
    uint32_t src = get_G(cpu, in, 16);
    if ((dst & 3) < (src & 3)) {
        set_E(cpu, in, 16, (dst & ~3u) | (src & 3));
        set_zf(cpu, true);
    } else {
        set_zf(cpu, false);
    }
}

/* --- control registers --- */

#define CR0_VALID (CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_ET | CR0_NE | CR0_WP | \
                   CR0_AM | CR0_NW | CR0_CD | CR0_PG)
/* CR4 bits kasou accepts: a P6's set less PAE, which the MMU lacks. */
#define CR4_VALID (CR4_VME | CR4_PVI | CR4_TSD | CR4_DE | CR4_PSE | CR4_MCE | \
                   CR4_PGE | CR4_PCE | CR4_OSFXSR)

/*
 * CR0: reserved bits are ignored and ET reads as 1 (P6); PG without PE
 * and NW without CD are invalid combinations (#GP(0)).
 */
static void set_cr0(struct cpu *cpu, uint32_t v)
{
    v = (v & CR0_VALID) | CR0_ET;
    if (((v & CR0_PG) && !(v & CR0_PE)) || ((v & CR0_NW) && !(v & CR0_CD))) {
        cpu_fault(cpu, EX_GP, 0);
    }
    uint32_t changed = v ^ cpu->cr0;
    cpu->cr0 = v;
    if (changed & (CR0_PG | CR0_WP)) {
        mmu_flush(cpu, false);
    }
    if (changed & (CR0_PE | CR0_PG)) {
        log_ch(LOG_CPU, "cr0 %08x at %04x:%08x", v, cpu->seg[S_CS].sel, cpu->eip);
    }
}

static void set_cr4(struct cpu *cpu, uint32_t v)
{
    if (v & ~CR4_VALID) {
        cpu_fault(cpu, EX_GP, 0);
    }
    if (v & (CR4_VME | CR4_PVI)) {
        log_once("CR4.VME/PVI set: virtual interrupt flags are not implemented");
    }
    uint32_t changed = v ^ cpu->cr4;
    cpu->cr4 = v;
    if (changed & (CR4_PSE | CR4_PGE | CR4_PAE)) {
        mmu_flush(cpu, false);
    }
}

static void check_cr(struct cpu *cpu, int n)
{
    if (n == 1 || n > 4) {
        cpu_fault(cpu, EX_UD, EXC_NOERR);
    }
    require_cpl0(cpu);
}

void op_mov_Rd_Cd(struct cpu *cpu, const struct insn *in)
{
    check_cr(cpu, in->reg);
    static const int idx[5] = { 0, 0, 1, 2, 3 };
    const uint32_t crs[4] = { cpu->cr0, cpu->cr2, cpu->cr3, cpu->cr4 };
    cpu->r[in->rm] = crs[idx[in->reg]];
}

void op_mov_Cd_Rd(struct cpu *cpu, const struct insn *in)
{
    check_cr(cpu, in->reg);
    uint32_t v = cpu->r[in->rm];
    switch (in->reg) {
    case 0:
        set_cr0(cpu, v);
        break;
    case 2:
        cpu->cr2 = v;
        break;
    case 3:
        /* PWT/PCD and the directory base; other bits are reserved */
        cpu->cr3 = v & 0xFFFFF018u;
        mmu_flush(cpu, cpu->cr4 & CR4_PGE);
        break;
    default:
        set_cr4(cpu, v);
        break;
    }
}

void op_smsw(struct cpu *cpu, const struct insn *in)
{
    /* a 32-bit register gets all of CR0 (the P6 does; the SDM leaves 31:16 undefined) */
    store_sel(cpu, in, modrm_is_reg(in) && in->opsize == 32 ? cpu->cr0 : cpu->cr0 & 0xFFFF);
}

void op_lmsw(struct cpu *cpu, const struct insn *in)
{
    require_cpl0(cpu);
    uint32_t src = get_E(cpu, in, 16);
    /* loads PE MP EM TS; PE can be set but never cleared */
    uint32_t v = (cpu->cr0 & ~(CR0_MP | CR0_EM | CR0_TS)) | (src & 0xF);
    set_cr0(cpu, v);
}

void op_clts(struct cpu *cpu, const struct insn *in)
{
    require_cpl0(cpu);
    cpu->cr0 &= ~CR0_TS;
}

void op_invlpg(struct cpu *cpu, const struct insn *in)
{
    require_cpl0(cpu);
    mmu_invlpg(cpu, cpu->seg[in->seg].base + cpu->ea);
}

void op_wbinvd(struct cpu *cpu, const struct insn *in)
{
    /* INVD and WBINVD: no caches to write back */
    require_cpl0(cpu);
}

/* --- debug registers --- */

/*
 * DR4/DR5 alias DR6/DR7 unless CR4.DE (then #UD); with DR7.GD set any
 * access is a #DB fault with DR6.BD, and GD is cleared so the handler can
 * use the registers.
 */
static int check_dr(struct cpu *cpu, int n)
{
    require_cpl0(cpu);
    if (n == 4 || n == 5) {
        if (cpu->cr4 & CR4_DE) {
            cpu_fault(cpu, EX_UD, EXC_NOERR);
        }
        n += 2;
    }
    if (cpu->dr[7] & DR7_GD) {
        cpu->dr[6] |= DR6_BD;
        cpu->dr[7] &= ~DR7_GD;
        cpu_debug_update(cpu);
        cpu_fault(cpu, EX_DB, EXC_NOERR);
    }
    return n;
}

void op_mov_Rd_Dd(struct cpu *cpu, const struct insn *in)
{
    int n = check_dr(cpu, in->reg);
    cpu->r[in->rm] = cpu->dr[n];
}

void op_mov_Dd_Rd(struct cpu *cpu, const struct insn *in)
{
    int n = check_dr(cpu, in->reg);
    uint32_t v = cpu->r[in->rm];
    if (n == 6) {
        /* B0-B3, BD, BS, BT are writable; 31:16 and 11:4 read as 1 */
        v = (v & 0xE00Fu) | 0xFFFF0FF0u;
    } else if (n == 7) {
        /* bits 11, 12, 14, 15 read as 0 and bit 10 as 1 on a P6 */
        v = (v & 0xFFFF23FFu) | 0x400u;
        if (cpu->cr4 & CR4_DE) {
            for (int i = 0; i < 4; i++) {
                if ((v >> (2 * i) & 3) && ((v >> (16 + 4 * i)) & 3) == 2) {
                    log_once("I/O breakpoints (DR7 R/W = 10b) are not implemented");
                }
            }
        }
    }
    cpu->dr[n] = v;
    cpu_debug_update(cpu);
}

/* --- HLT and the interrupt flag --- */

void op_hlt(struct cpu *cpu, const struct insn *in)
{
    require_cpl0(cpu);
    cpu->halted = true;
}

/* CLI/STI permission: real mode always, V86 at IOPL 3, else CPL <= IOPL. */
static void check_if_access(struct cpu *cpu)
{
    if (!cpu_pmode(cpu)) {
        return;
    }
    bool ok = cpu_v86(cpu) ? cpu_iopl(cpu) == 3 : cpu->cpl <= cpu_iopl(cpu);
    if (!ok) {
        if ((cpu->cr4 & CR4_VME && cpu_v86(cpu)) ||
            (cpu->cr4 & CR4_PVI && !cpu_v86(cpu) && cpu->cpl == 3)) {
            log_once("VIF emulation (CR4.VME/PVI) is not implemented");
        }
        cpu_fault(cpu, EX_GP, 0);
    }
}

void op_cli(struct cpu *cpu, const struct insn *in)
{
    check_if_access(cpu);
    cpu->eflags &= ~F_IF;
}

void op_sti(struct cpu *cpu, const struct insn *in)
{
    check_if_access(cpu);
    if (!(cpu->eflags & F_IF)) {
        /* interrupts are recognised only after the next instruction */
        cpu->eflags |= F_IF;
        cpu->inhibit_irq = INHIBIT_STI;
    }
}

static void check_v86_iopl(struct cpu *cpu)
{
    if (cpu_v86(cpu) && cpu_iopl(cpu) != 3) {
        if (cpu->cr4 & CR4_VME) {
            log_once("VME PUSHF/POPF (VIF) is not implemented");
        }
        cpu_fault(cpu, EX_GP, 0);
    }
}

void op_pushf(struct cpu *cpu, const struct insn *in)
{
    check_v86_iopl(cpu);
    /* VM and RF are never pushed as 1 */
    uint32_t f = cpu_get_eflags(cpu) & ~(F_VM | F_RF);
    push(cpu, in->opsize, in->opsize == 16 ? (f & 0xFFFF) : f);
}

/*
 * POPF (SDM vol.2 operation): VM, VIP and VIF never change; a 32-bit pop
 * clears RF; IOPL changes only at CPL 0 (real mode counts as CPL 0), IF
 * only at CPL <= IOPL; in V86 (IOPL 3 required) IOPL is kept.
 */
void op_popf(struct cpu *cpu, const struct insn *in)
{
    check_v86_iopl(cpu);
    uint32_t v = pop(cpu, in->opsize);
    uint32_t mask = F_ARITH | F_TF | F_IF | F_DF | F_IOPL | F_NT | F_RF | F_AC | F_ID;
    unsigned cpl = cpu_pmode(cpu) ? cpu->cpl : 0;
    if (cpu_v86(cpu) || cpl > 0) {
        mask &= ~F_IOPL;
    }
    if (!cpu_v86(cpu) && cpl > cpu_iopl(cpu)) {
        mask &= ~F_IF;
    }
    if (in->opsize == 16) {
        mask &= 0xFFFF;
    } else {
        v &= ~F_RF;
    }
    cpu_set_eflags(cpu, v, mask);
}
