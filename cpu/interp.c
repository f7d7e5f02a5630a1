/*
 * interp.c - the reference interpreter: fetch, decode, dispatch, events.
 *
 * One loop executes instructions through the opcode table's handlers.  A
 * fault longjmps back here (cpu->jmp); the loop then delivers the recorded
 * exception and carries on.  Between instructions it takes, in priority
 * order: a pending single-step/debug trap, NMI, and INTR when EFLAGS.IF is
 * set and no STI/MOV SS shadow is active.
 *
 * Debug registers (SDM vol.3 ch.17): when DR7 enables a breakpoint,
 * cpu->dbg_armed is set and each instruction first compares its linear
 * address with the enabled execute breakpoints (a #DB fault, unless
 * EFLAGS.RF suppresses it for this one instruction).  Data breakpoints are
 * matched by the MMU slow path (pages holding one never enter the TLB) and
 * collected in dr6_pending; they trap after the instruction completes, as
 * the single-step trap does.  With nothing armed the per-instruction cost
 * is one test of dbg_armed | RF.
 */
#include <string.h>

#include "hw/bus.h"
#include "insn.h"
#include "mem.h"
#include "ops.h"
#include "util/log.h"

static void trace(struct cpu *cpu, const struct insn *in)
{
    char buf[96];
    insn_disasm(in, cpu->eip, buf, sizeof(buf));
    log_printf("%04x:%08x %-32s eax=%08x ecx=%08x edx=%08x ebx=%08x esp=%08x "
               "ebp=%08x esi=%08x edi=%08x fl=%08x",
               cpu->seg[S_CS].sel, cpu->eip, buf, cpu->r[0], cpu->r[1],
               cpu->r[2], cpu->r[3], cpu->r[4], cpu->r[5], cpu->r[6],
               cpu->r[7], cpu_get_eflags(cpu));
}

/* Deliver the exception recorded by cpu_fault(); may fault again. */
static void deliver_fault(struct cpu *cpu)
{
    int vec = cpu->exc_vec;
    cpu->exc_depth++;
    cpu->halted = false;
    cpu->next_eip = cpu->eip;
    cpu_interrupt(cpu, vec, cpu->exc_err, INT_EXC);
    cpu->exc_depth = 0;
    cpu->exc_vec = -1;
}

/* Interrupts and traps due before the next instruction; true if one ran. */
static bool take_events(struct cpu *cpu)
{
    /* usually nothing is pending: one test instead of four */
    if (!(cpu->trap_after | cpu->inhibit_irq | cpu->nmi_pending | cpu->intr_line)) {
        return false;
    }
    if (cpu->trap_after) {
        cpu->trap_after = false;
        cpu->dr[6] |= cpu->dr6_pending;
        cpu->dr6_pending = 0;
        cpu->dr[7] &= ~DR7_GD;   /* cleared on entry to the #DB handler */
        cpu->next_eip = cpu->eip;
        cpu_interrupt(cpu, EX_DB, EXC_NOERR, INT_HW);
        return true;
    }
    if (cpu->inhibit_irq) {
        cpu->inhibit_irq = 0;
        return false;
    }
    if (cpu->nmi_pending && !cpu->nmi_blocked) {
        cpu->nmi_pending = false;
        cpu->nmi_blocked = true;
        cpu->halted = false;
        cpu->next_eip = cpu->eip;
        cpu_interrupt(cpu, EX_NMI, EXC_NOERR, INT_HW);
        return true;
    }
    if (cpu->intr_line && (cpu->eflags & F_IF) && cpu->intr_ack) {
        int vec = cpu->intr_ack(cpu->hook_opaque);
        cpu->halted = false;
        cpu->next_eip = cpu->eip;
        cpu_interrupt(cpu, vec & 0xFF, EXC_NOERR, INT_HW);
        return true;
    }
    return false;
}

void cpu_debug_update(struct cpu *cpu)
{
    cpu->dbg_armed = (cpu->dr[7] & 0xFF) != 0;
    if (cpu->dbg_armed) {
        /* pages with data breakpoints must leave the TLB (see mmu.c) */
        mmu_flush(cpu, false);
    }
}

/*
 * Before an instruction, with breakpoints armed or RF set: an enabled
 * execute breakpoint (R/W = 00) at CS.base + EIP faults #DB unless RF is
 * set; RF then clears, since it covers only this instruction.
 */
static void debug_before(struct cpu *cpu)
{
    if (cpu->dbg_armed) {
        cpu->dr6_pending = 0;   /* matches of an instruction that faulted */
        if (!(cpu->eflags & F_RF)) {
            uint32_t lin = cpu->seg[S_CS].base + cpu->eip;
            uint32_t dr7 = cpu->dr[7], hit = 0;
            for (int i = 0; i < 4; i++) {
                if ((dr7 >> (2 * i) & 3) && !(dr7 >> (16 + 4 * i) & 3) &&
                    cpu->dr[i] == lin) {
                    hit |= 1u << i;
                }
            }
            if (hit) {
                cpu->dr[6] |= hit;
                cpu->dr[7] &= ~DR7_GD;
                cpu_fault(cpu, EX_DB, EXC_NOERR);
            }
        }
    }
    cpu->eflags &= ~F_RF;
}

_Static_assert(sizeof(struct insn) <= sizeof(((struct icache_line *)0)->insn),
               "struct insn must fit an icache line");

static inline struct icache_line *icache_line_of(struct cpu *cpu, uintptr_t host)
{
    return &cpu->icache[(host ^ (host >> 12)) & (ICACHE_LINES - 1)];
}

/*
 * Decode the instruction at CS:EIP, from the decoded-instruction cache
 * when possible.  A line is used only if the fetch would succeed without
 * a fault exactly as the decoder's byte fetches would: the page is in the
 * fetch TLB for the current privilege, the instruction lies inside one
 * page and inside the CS limit without wrapping, and memory still holds
 * the same bytes.  Anything else takes the decoder (which faults as a
 * fetch does) and then fills a line if the instruction qualifies.
 */
static void fetch_decode(struct cpu *cpu, struct insn *in)
{
    const struct seg *cs = &cpu->seg[S_CS];
    bool code32 = cpu_code32(cpu);
    uint32_t off = code32 ? cpu->eip : (cpu->eip & 0xFFFF);
    /* the last offset a fetch may use without #GP or a 16-bit wrap */
    uint32_t lim = code32 || cs->limit < 0xFFFF ? cs->limit : 0xFFFF;
    uint32_t lin = cs->base + off;
    uintptr_t size32 = code32 && !cpu_v86(cpu);
    unsigned acc = ACC_X | cpu_acc_user(cpu);
    struct tlb_entry *te = tlb_hit(cpu, lin, 1, acc, TLB_EXEC);
    if (te) {
        const uint8_t *host = (const uint8_t *)(te->addend + lin);
        struct icache_line *l = icache_line_of(cpu, (uintptr_t)host);
        uint32_t last = off + l->len - 1u;
        if (l->key == 2 * (uintptr_t)host + size32 && last >= off && last <= lim) {
            if ((lin & 0xFFF) <= 4096u - 16) {
                /* two wide loads, still inside the host page */
                uint64_t w[2];
                memcpy(w, host, 16);
                if ((((w[0] ^ l->bytes[0]) & l->mask[0]) |
                     ((w[1] ^ l->bytes[1]) & l->mask[1])) == 0) {
                    memcpy(in, l->insn, sizeof(*in));
                    return;
                }
            } else if ((lin & 0xFFF) + l->len <= 4096u &&
                       memcmp(host, l->bytes, l->len) == 0) {
                memcpy(in, l->insn, sizeof(*in));
                return;
            }
        }
    }
    cpu_decode(cpu, in);
    /* the decode's fetches filled the fetch TLB if the page is plain memory */
    te = tlb_hit(cpu, lin, in->len, acc, TLB_EXEC);
    uint32_t last = off + in->len - 1u;
    if (te && last >= off && last <= lim) {
        const uint8_t *host = (const uint8_t *)(te->addend + lin);
        struct icache_line *l = icache_line_of(cpu, (uintptr_t)host);
        uint8_t b[16] = { 0 }, m[16] = { 0 };
        memcpy(b, host, in->len);
        memset(m, 0xFF, in->len);
        memcpy(l->bytes, b, sizeof(b));
        memcpy(l->mask, m, sizeof(m));
        l->key = 2 * (uintptr_t)host + size32;
        l->len = in->len;
        memcpy(l->insn, in, sizeof(*in));
    }
}

void cpu_exec_one(struct cpu *cpu)
{
    struct insn in;
    if (cpu->dbg_armed || (cpu->eflags & F_RF)) {
        debug_before(cpu);
    }
    fetch_decode(cpu, &in);
    if (log_on(LOG_EXEC)) {
        trace(cpu, &in);
    }
    uint32_t next = cpu->eip + in.len;
    cpu->next_eip = cpu_code32(cpu) ? next : (next & 0xFFFF);
    if ((in.op->attr & A_MODRM) && in.mod != 3) {
        cpu->ea = insn_ea(cpu, &in);
    }
    bool tf = cpu->eflags & F_TF;
    cpu->soft_int_taken = false;
    in.op->fn(cpu, &in);
    cpu->eip = cpu->next_eip;
    cpu->icount++;
    if (cpu->inhibit_irq == INHIBIT_MOV_SS) {
        /* MOV SS / POP SS hold single-step and data-breakpoint traps until
         * after the next instruction (SDM vol.3 6.8.3): it reports them */
    } else if (tf && !cpu->soft_int_taken) {
        cpu->trap_after = true;
        cpu->dr6_pending |= DR6_BS;
    } else if (cpu->dr6_pending) {
        cpu->trap_after = true;     /* data breakpoint hit (mmu.c) */
    }
}

uint64_t cpu_run(struct cpu *cpu, uint64_t max)
{
    uint64_t start = cpu->icount;
    /* not modified after setjmp, so it needs no volatile */
    const uint64_t limit = start + max;
    volatile uint64_t delivered = 0;
    cpu->jmp_valid = true;
    if (setjmp(cpu->jmp)) {
        if (cpu->exc_vec == -2) {   /* triple fault: the board resets */
            cpu->exc_vec = -1;
            cpu->exc_depth = 0;
            cpu->jmp_valid = false;
            return cpu->icount - start;
        }
        deliver_fault(cpu);
        /*
         * A delivered exception counts against the budget like an
         * instruction: a handler that faults at once (a fault storm) must
         * not keep the caller from its timers and UI forever.
         */
        if (++delivered >= max) {
            cpu->jmp_valid = false;
            return cpu->icount - start;
        }
    }
    while (cpu->icount < limit && !cpu->reset_request) {
        if (cpu->bus->generation != cpu->bus_gen) {
            /* a ROM/MMIO window moved: cached host pointers may be stale */
            cpu->bus_gen = cpu->bus->generation;
            mmu_flush(cpu, false);
            if (cpu->accel) {
                cpu->accel->bus_changed(cpu);
            }
        }
        /* an STI/MOV SS shadow covers exactly the next instruction */
        bool shadow = cpu->inhibit_irq != 0;
        if (take_events(cpu)) {
            continue;
        }
        if (cpu->halted) {
            break;
        }
        if (cpu->accel && !shadow && !cpu->dbg_armed &&
            !(cpu->eflags & (F_TF | F_RF)) && !log_on(LOG_EXEC) &&
            cpu->accel->exec(cpu, limit)) {
            continue;
        }
        cpu_exec_one(cpu);
    }
    cpu->jmp_valid = false;
    return cpu->icount - start;
}

void cpu_step(struct cpu *cpu)
{
    cpu_run(cpu, 1);
}
