/*
 * ops_far.c - far control transfers: JMP/CALL far, RETF, IRET, INT n,
 * INT3, INTO, INT1 and the far-pointer loads LES/LDS/LSS/LFS/LGS.
 *
 * Real mode and V86 reload CS as base = sel << 4 and keep the cached
 * limit.  Protected mode follows the pseudocode of the SDM vol.2 pages:
 * a far JMP/CALL names a code segment (same privilege), a call gate (CALL
 * to a more privileged non-conforming segment switches to the stack the
 * TSS gives for the new ring and copies the gate's parameter count), a
 * task gate or a TSS (task switch, cpu/task.c).  RETF and IRET may return
 * to an outer ring: they pop SS:ESP and null the data segment registers
 * the outer ring may not use.  IRET with NT set returns to the task named
 * by the back-link of the current TSS; IRET at CPL 0 with VM set in the
 * popped EFLAGS enters virtual-8086 mode.
 *
 * Every check that can fault runs before CS, SS, ESP or EFLAGS change;
 * stack frames are built with struct stk (cpu/seg.c) and committed last.
 */
#include "ops.h"

#include "util/log.h"

static uint32_t desc_type(const uint32_t d[2])
{
    return (d[1] >> 8) & 0xF;
}

static _Noreturn void sel_fault(struct cpu *cpu, int vec, uint16_t sel)
{
    cpu_fault(cpu, vec, sel & 0xFFFCu);
}

/* Commit a new CS from a checked code descriptor; RPL becomes `cpl`. */
static void load_cs(struct cpu *cpu, uint16_t sel, uint32_t d[2], unsigned cpl)
{
    cpu_desc_set_accessed(cpu, sel, d);
    cpu_desc_to_seg(&cpu->seg[S_CS], (uint16_t)((sel & 0xFFFC) | cpl), d);
    cpu->cpl = (uint8_t)cpl;
}

/* Limit of the code segment d would load (for EIP checks before commit). */
static uint32_t desc_limit(const uint32_t d[2])
{
    struct seg s;
    cpu_desc_to_seg(&s, 0, d);
    return s.limit;
}

/* --- real mode and V86 --- */

static void real_far(struct cpu *cpu, const struct insn *in, uint16_t sel,
                     uint32_t off, bool call)
{
    if (in->opsize == 16) {
        off &= 0xFFFF;
    }
    if (off > cpu->seg[S_CS].limit) {
        cpu_fault(cpu, EX_GP, 0);
    }
    if (call) {
        struct stk k;
        stk_init_cur(cpu, &k, 0);
        stk_push(cpu, &k, in->opsize, cpu->seg[S_CS].sel);
        stk_push(cpu, &k, in->opsize, cpu->next_eip);
        stk_commit(cpu, &k);
    }
    cpu_load_seg_real(cpu, S_CS, sel);
    cpu->next_eip = off;
}

/* --- protected mode JMP/CALL --- */

/* JMP/CALL to a code segment at the current privilege (direct or by gate). */
static void far_same(struct cpu *cpu, uint16_t sel, uint32_t d[2], uint32_t off,
                     bool call, int size)
{
    if (size == 16) {
        off &= 0xFFFF;
    }
    struct stk k;
    if (call) {
        stk_init_cur(cpu, &k, 0);
        stk_push(cpu, &k, size, cpu->seg[S_CS].sel);
        stk_push(cpu, &k, size, cpu->next_eip);
    }
    if (off > desc_limit(d)) {
        cpu_fault(cpu, EX_GP, 0);
    }
    load_cs(cpu, sel, d, cpu->cpl);
    if (call) {
        stk_commit(cpu, &k);
    }
    cpu->next_eip = off;
}

/* CALL through a gate to a more privileged non-conforming code segment. */
static void call_inner(struct cpu *cpu, uint16_t sel, uint32_t d[2], uint32_t off,
                       int size, unsigned count)
{
    unsigned ncpl = AR_DPL(d[1]);
    uint16_t ssel;
    uint32_t esp, sd[2];
    tss_inner_stack(cpu, ncpl, &ssel, &esp, 0);
    cpu_check_inner_ss(cpu, ssel, ncpl, sd, 0);
    struct seg ss;
    cpu_desc_to_seg(&ss, ssel, sd);
    struct stk k;
    stk_init(&k, &ss, esp, EX_SS, ssel & 0xFFFCu);
    uint32_t m = size == 16 ? 0xFFFF : 0xFFFFFFFFu;
    stk_push(cpu, &k, size, cpu->seg[S_SS].sel);
    stk_push(cpu, &k, size, cpu->r[R_ESP] & m);
    for (unsigned i = count; i-- > 0;) {
        uint32_t at = (get_sp(cpu) + i * (uint32_t)size / 8) & sp_mask(cpu);
        stk_push(cpu, &k, size, cpu_rd(cpu, S_SS, at, size));
    }
    stk_push(cpu, &k, size, cpu->seg[S_CS].sel);
    stk_push(cpu, &k, size, cpu->next_eip & m);
    if (off > desc_limit(d)) {
        cpu_fault(cpu, EX_GP, 0);
    }
    cpu_desc_set_accessed(cpu, ssel, sd);
    k.ss.ar = sd[1] & 0x00F0FF00u;
    load_cs(cpu, sel, d, ncpl);
    stk_commit(cpu, &k);
    cpu->next_eip = off;
}

static void via_call_gate(struct cpu *cpu, const uint32_t g[2], bool call)
{
    int size = desc_type(g) == 0xC ? 32 : 16;
    uint16_t sel = (uint16_t)(g[0] >> 16);
    uint32_t off = (g[0] & 0xFFFF) | (size == 32 ? g[1] & 0xFFFF0000u : 0);
    uint32_t d[2];
    if (!(sel & 0xFFFC)) {
        cpu_fault(cpu, EX_GP, 0);
    }
    cpu_fetch_desc(cpu, sel, d, EX_GP, 0);
    unsigned type = desc_type(d), dpl = AR_DPL(d[1]);
    if (!(d[1] & AR_S) || !(type & 8) || dpl > cpu->cpl) {
        sel_fault(cpu, EX_GP, sel);
    }
    if (!(d[1] & AR_P)) {
        sel_fault(cpu, EX_NP, sel);
    }
    bool conforming = type & 4;
    if (!call && !conforming && dpl != cpu->cpl) {
        sel_fault(cpu, EX_GP, sel);
    }
    if (call && !conforming && dpl < cpu->cpl) {
        call_inner(cpu, sel, d, off, size, g[1] & 0x1F);
    } else {
        far_same(cpu, sel, d, off, call, size);
    }
}

static void pm_far(struct cpu *cpu, const struct insn *in, uint16_t sel,
                   uint32_t off, bool call)
{
    uint32_t d[2];
    if (!(sel & 0xFFFC)) {
        cpu_fault(cpu, EX_GP, 0);
    }
    cpu_fetch_desc(cpu, sel, d, EX_GP, 0);
    unsigned type = desc_type(d), dpl = AR_DPL(d[1]);
    if (d[1] & AR_S) {
        bool bad = !(type & 8) ||
                   ((type & 4) ? dpl > cpu->cpl
                               : ((sel & 3u) > cpu->cpl || dpl != cpu->cpl));
        if (bad) {
            sel_fault(cpu, EX_GP, sel);
        }
        if (!(d[1] & AR_P)) {
            sel_fault(cpu, EX_NP, sel);
        }
        far_same(cpu, sel, d, off, call, in->opsize);
        return;
    }
    /* system: available TSS (1, 9), call gate (4, C), task gate (5) */
    if (!((0x1232u >> type) & 1) || dpl < cpu->cpl || dpl < (sel & 3u)) {
        sel_fault(cpu, EX_GP, sel);
    }
    if (!(d[1] & AR_P)) {
        sel_fault(cpu, EX_NP, sel);
    }
    int src = call ? TS_CALL : TS_JMP;
    if (type == 5) {
        cpu_task_gate(cpu, d, src, cpu->next_eip, EXC_NOERR, 0);
    } else if (type == 1 || type == 9) {
        cpu_task_switch(cpu, sel, d, src, cpu->next_eip, EXC_NOERR, 0);
    } else {
        via_call_gate(cpu, d, call);
    }
}

static void far_transfer(struct cpu *cpu, const struct insn *in, uint16_t sel,
                         uint32_t off, bool call)
{
    if (cpu_real(cpu) || cpu_v86(cpu)) {
        real_far(cpu, in, sel, off, call);
    } else {
        pm_far(cpu, in, sel, off, call);
    }
}

void op_jmpf_Ap(struct cpu *cpu, const struct insn *in)
{
    far_transfer(cpu, in, (uint16_t)in->imm2, in->imm, false);
}

void op_callf_Ap(struct cpu *cpu, const struct insn *in)
{
    far_transfer(cpu, in, (uint16_t)in->imm2, in->imm, true);
}

/* Read the far pointer m16:16 / m16:32 of a ModRM memory operand. */
static uint32_t read_farptr(struct cpu *cpu, const struct insn *in, uint16_t *sel)
{
    if (modrm_is_reg(in)) {
        cpu_undefined(cpu, in);   /* a far pointer cannot be a register */
    }
    uint32_t off = cpu_rd(cpu, in->seg, cpu->ea, in->opsize);
    *sel = cpu_rd16(cpu, in->seg, ea_plus(in, cpu->ea, (uint32_t)in->opsize / 8));
    return off;
}

void op_jmpf_Mp(struct cpu *cpu, const struct insn *in)
{
    uint16_t sel;
    uint32_t off = read_farptr(cpu, in, &sel);
    far_transfer(cpu, in, sel, off, false);
}

void op_callf_Mp(struct cpu *cpu, const struct insn *in)
{
    uint16_t sel;
    uint32_t off = read_farptr(cpu, in, &sel);
    far_transfer(cpu, in, sel, off, true);
}

void op_lxs_Gv_Mp(struct cpu *cpu, const struct insn *in)
{
    int sreg;
    if (in->map == 0) {
        sreg = in->opcode == 0xC4 ? S_ES : S_DS;
    } else {
        sreg = in->opcode == 0xB2 ? S_SS : in->opcode == 0xB4 ? S_FS : S_GS;
    }
    uint16_t sel;
    uint32_t off = read_farptr(cpu, in, &sel);
    cpu_load_seg(cpu, sreg, sel);
    set_G(cpu, in, in->opsize, off);
}

/* --- returns --- */

/* Check the CS selector a RETF/IRET returns to (SDM RET, protected mode). */
static void check_ret_cs(struct cpu *cpu, uint16_t sel, uint32_t d[2])
{
    if (!(sel & 0xFFFC)) {
        cpu_fault(cpu, EX_GP, 0);
    }
    cpu_fetch_desc(cpu, sel, d, EX_GP, 0);
    unsigned type = desc_type(d), dpl = AR_DPL(d[1]), rpl = sel & 3u;
    if (!(d[1] & AR_S) || !(type & 8) || rpl < cpu->cpl ||
        ((type & 4) ? dpl > rpl : dpl != rpl)) {
        sel_fault(cpu, EX_GP, sel);
    }
    if (!(d[1] & AR_P)) {
        sel_fault(cpu, EX_NP, sel);
    }
}

/* Check the SS selector popped on a return to ring `rpl`. */
static void check_ret_ss(struct cpu *cpu, uint16_t sel, unsigned rpl, uint32_t d[2])
{
    if (!(sel & 0xFFFC)) {
        cpu_fault(cpu, EX_GP, 0);
    }
    cpu_fetch_desc(cpu, sel, d, EX_GP, 0);
    if ((sel & 3u) != rpl || !(d[1] & AR_S) || (desc_type(d) & 0xA) != 0x2 ||
        AR_DPL(d[1]) != rpl) {
        sel_fault(cpu, EX_GP, sel);
    }
    if (!(d[1] & AR_P)) {
        sel_fault(cpu, EX_SS, sel);
    }
}

/*
 * Finish a protected-mode RETF/IRET: `frame` bytes (CS:EIP[, EFLAGS]) sit at
 * SS:ESP, then `extra` bytes to release, then SS:ESP for an outer return.
 * flags_fn (IRET only) is applied with the old CPL before CPL changes.
 */
static void pm_return(struct cpu *cpu, int size, uint16_t sel, uint32_t off,
                      uint32_t frame, uint32_t extra, const uint32_t *iret_flags)
{
    uint32_t d[2];
    check_ret_cs(cpu, sel, d);
    unsigned rpl = sel & 3u, old_cpl = cpu->cpl;
    uint32_t iopl_if = 0;
    if (iret_flags) {
        /* IRET: which of IF, IOPL, VIF, VIP the old CPL may change */
        iopl_if = F_ARITH | F_TF | F_DF | F_NT;
        if (size == 32) {
            iopl_if |= F_RF | F_AC | F_ID;
        }
        if (old_cpl <= cpu_iopl(cpu)) {
            iopl_if |= F_IF;
        }
        if (old_cpl == 0) {
            iopl_if |= F_IOPL | (size == 32 ? F_VIF | F_VIP : 0);
        }
    }
    if (size == 16) {
        off &= 0xFFFF;
    }
    if (rpl == old_cpl) {
        if (off > desc_limit(d)) {
            cpu_fault(cpu, EX_GP, 0);
        }
        load_cs(cpu, sel, d, rpl);
        set_sp(cpu, get_sp(cpu) + frame + extra);
    } else {
        uint32_t base = frame + extra, sd[2];
        uint32_t nesp = stack_peek(cpu, base, size);
        uint16_t ssel = (uint16_t)stack_peek(cpu, base + (uint32_t)size / 8, size);
        check_ret_ss(cpu, ssel, rpl, sd);
        if (off > desc_limit(d)) {
            cpu_fault(cpu, EX_GP, 0);
        }
        cpu_desc_set_accessed(cpu, ssel, sd);
        load_cs(cpu, sel, d, rpl);
        cpu_desc_to_seg(&cpu->seg[S_SS], ssel, sd);
        if (sd[1] & AR_DB) {
            cpu->r[R_ESP] = nesp + extra;
        } else {
            set_reg16(cpu, R_ESP, (uint16_t)(nesp + extra));
        }
        cpu_null_outer_segs(cpu);
    }
    if (iret_flags) {
        cpu_set_eflags(cpu, *iret_flags, iopl_if);
    }
    cpu->next_eip = off;
}

void op_retf(struct cpu *cpu, const struct insn *in)
{
    int size = in->opsize;
    uint32_t b = (uint32_t)size / 8;
    uint32_t extra = in->opcode == 0xCA ? in->imm & 0xFFFF : 0;
    uint32_t off = stack_peek(cpu, 0, size);
    uint16_t sel = (uint16_t)stack_peek(cpu, b, size);
    if (cpu_real(cpu) || cpu_v86(cpu)) {
        if (size == 16) {
            off &= 0xFFFF;
        }
        if (off > cpu->seg[S_CS].limit) {
            cpu_fault(cpu, EX_GP, 0);
        }
        cpu_load_seg_real(cpu, S_CS, sel);
        set_sp(cpu, get_sp(cpu) + 2 * b + extra);
        cpu->next_eip = off;
        return;
    }
    pm_return(cpu, size, sel, off, 2 * b, extra, NULL);
}

/* IRET in real mode, or in V86 mode with IOPL 3 (which may not change IOPL). */
static void real_iret(struct cpu *cpu, int size, uint32_t keep)
{
    uint32_t b = (uint32_t)size / 8;
    uint32_t off = stack_peek(cpu, 0, size);
    uint16_t sel = (uint16_t)stack_peek(cpu, b, size);
    uint32_t fl = stack_peek(cpu, 2 * b, size);
    if (off > cpu->seg[S_CS].limit) {
        cpu_fault(cpu, EX_GP, 0);
    }
    cpu_load_seg_real(cpu, S_CS, sel);
    set_sp(cpu, get_sp(cpu) + 3 * b);
    uint32_t mask = size == 32 ? 0x257FD5u : 0xFFFFu;
    cpu_set_eflags(cpu, fl, mask & ~keep);
    cpu->next_eip = off;
}

/* IRET at CPL 0 to a popped EFLAGS image with VM set (SDM IRET). */
static void iret_to_v86(struct cpu *cpu, uint32_t off, uint16_t sel, uint32_t fl)
{
    uint32_t v[6];
    for (int i = 0; i < 6; i++) {
        v[i] = stack_peek(cpu, 12 + 4 * (uint32_t)i, 32);   /* ESP SS ES DS FS GS */
    }
    if (off > 0xFFFF) {
        cpu_fault(cpu, EX_GP, 0);
    }
    cpu_set_eflags(cpu, fl, 0xFFFFFFFFu);
    cpu->cpl = 3;
    cpu_load_seg_real(cpu, S_CS, sel);
    cpu_load_seg_real(cpu, S_SS, (uint16_t)v[1]);
    cpu_load_seg_real(cpu, S_ES, (uint16_t)v[2]);
    cpu_load_seg_real(cpu, S_DS, (uint16_t)v[3]);
    cpu_load_seg_real(cpu, S_FS, (uint16_t)v[4]);
    cpu_load_seg_real(cpu, S_GS, (uint16_t)v[5]);
    cpu->r[R_ESP] = v[0];
    cpu->next_eip = off;
}

/* IRET with NT: return to the task named by the current TSS's back-link. */
static void iret_task(struct cpu *cpu)
{
    uint16_t link = (uint16_t)sys_rd(cpu, cpu->tr.base, 16);
    uint32_t d[2];
    /* a busy 16- or 32-bit TSS */
    cpu_fetch_sys_desc(cpu, link, 1u << 3 | 1u << 11, EX_TS, EX_NP, 0, d);
    cpu_task_switch(cpu, link, d, TS_IRET, cpu->next_eip, EXC_NOERR, 0);
}

void op_iret(struct cpu *cpu, const struct insn *in)
{
    int size = in->opsize;
    if (cpu_real(cpu)) {
        real_iret(cpu, size, 0);
    } else if (cpu_v86(cpu)) {
        if (cpu_iopl(cpu) < 3) {
            if (cpu->cr4 & CR4_VME) {
                log_once("unimp: IRET under CR4.VME with IOPL < 3 (faults #GP)");
            }
            cpu_fault(cpu, EX_GP, 0);
        }
        real_iret(cpu, size, F_IOPL | F_VM | F_VIF | F_VIP);
    } else if (cpu->eflags & F_NT) {
        iret_task(cpu);
    } else {
        uint32_t b = (uint32_t)size / 8;
        uint32_t off = stack_peek(cpu, 0, size);
        uint16_t sel = (uint16_t)stack_peek(cpu, b, size);
        uint32_t fl = stack_peek(cpu, 2 * b, size);
        if (size == 32 && (fl & F_VM) && cpu->cpl == 0) {
            iret_to_v86(cpu, off, sel, fl);
        } else {
            pm_return(cpu, size, sel, off, 3 * b, 0, &fl);
        }
    }
    cpu->nmi_blocked = false;
}

/* --- software interrupts --- */

void op_int_Ib(struct cpu *cpu, const struct insn *in)
{
    if (cpu_v86(cpu) && cpu_iopl(cpu) < 3) {
        if (cpu->cr4 & CR4_VME) {
            log_once("unimp: INT n redirection under CR4.VME (faults #GP)");
        }
        cpu_fault(cpu, EX_GP, 0);
    }
    cpu_interrupt(cpu, in->imm & 0xFF, EXC_NOERR, INT_SOFT);
}

void op_int3(struct cpu *cpu, const struct insn *in)
{
    cpu_interrupt(cpu, EX_BP, EXC_NOERR, INT_SOFT);
}

void op_into(struct cpu *cpu, const struct insn *in)
{
    if (cpu_get_eflags(cpu) & F_OF) {
        cpu_interrupt(cpu, EX_OF, EXC_NOERR, INT_SOFT);
    }
}

void op_int1(struct cpu *cpu, const struct insn *in)
{
    cpu_interrupt(cpu, EX_DB, EXC_NOERR, INT_ICEBP);
}
