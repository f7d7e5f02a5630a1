/*
 * except.c - raising faults, the double/triple-fault rules, and interrupt
 * delivery in real mode (protected and V86 mode: cpu/pm_int.c).
 *
 * cpu_fault() never returns: it records the exception and longjmps to the
 * execution loop, which delivers it.  A fault raised while another is being
 * delivered combines as SDM vol.3 table 6-5 says: contributory after
 * contributory, or contributory/#PF after #PF, becomes #DF; any fault while
 * delivering #DF shuts the CPU down (triple fault), which the board turns
 * into a reset.
 */
#include "insn.h"
#include "mem.h"
#include "ops.h"
#include "util/log.h"

static bool contributory(int vec)
{
    return vec == EX_DE || (vec >= EX_TS && vec <= EX_GP);
}

_Noreturn void cpu_fault(struct cpu *cpu, int vec, uint32_t err)
{
    if (cpu->exc_depth > 0) {
        int first = cpu->exc_vec;
        if (first == EX_DF) {
            log_ch(LOG_INT, "triple fault (vector %d while delivering #DF)", vec);
            cpu->reset_request = true;
            cpu->exc_vec = -2;
            longjmp(cpu->jmp, 1);
        }
        if ((contributory(first) && contributory(vec)) ||
            (first == EX_PF && (vec == EX_PF || contributory(vec)))) {
            vec = EX_DF;
            err = 0;
        }
    }
    log_ch(LOG_INT, "fault %d err=%x at %04x:%08x", vec, err,
           cpu->seg[S_CS].sel, cpu->eip);
    cpu->exc_vec = vec;
    cpu->exc_err = err;
    longjmp(cpu->jmp, 1);
}

_Noreturn void cpu_undefined(struct cpu *cpu, const struct insn *in)
{
    if (log_on(LOG_UNIMP)) {
        char buf[80];
        insn_disasm(in, cpu->eip, buf, sizeof(buf));
        log_printf("#UD at %04x:%08x: %s", cpu->seg[S_CS].sel, cpu->eip, buf);
    }
    cpu_fault(cpu, EX_UD, EXC_NOERR);
}

/* Real-mode delivery through the IVT at IDTR.base. */
static void real_interrupt(struct cpu *cpu, int vec, uint32_t ret_eip)
{
    uint32_t ent = (uint32_t)vec * 4;
    if (ent + 3 > cpu->idtr.limit) {
        cpu_fault(cpu, EX_GP, EXC_NOERR);
    }
    uint32_t v = sys_rd(cpu, cpu->idtr.base + ent, 32);
    push(cpu, 16, cpu_get_eflags(cpu) & 0xFFFF);
    push(cpu, 16, cpu->seg[S_CS].sel);
    push(cpu, 16, ret_eip & 0xFFFF);
    cpu->eflags &= ~(F_IF | F_TF | F_AC | F_RF);
    cpu_load_seg_real(cpu, S_CS, (uint16_t)(v >> 16));
    cpu->eip = v & 0xFFFF;
    cpu->next_eip = cpu->eip;
}

void cpu_interrupt(struct cpu *cpu, int vec, uint32_t err, int kind)
{
    /* software interrupts and traps return after the instruction */
    uint32_t ret_eip = (kind == INT_SOFT || kind == INT_ICEBP) ? cpu->next_eip : cpu->eip;
    log_ch(LOG_INT, "int %#x kind %d err=%x ret=%04x:%08x", vec, kind, err,
           cpu->seg[S_CS].sel, ret_eip);
    if (cpu_real(cpu)) {
        real_interrupt(cpu, vec, ret_eip);
    } else {
        pm_interrupt(cpu, vec, err, kind, ret_eip);
    }
    if (kind == INT_SOFT || kind == INT_ICEBP) {
        cpu->soft_int_taken = true;
    }
}
