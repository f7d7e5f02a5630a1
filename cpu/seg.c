/*
 * seg.c - segment register loads.
 * (Real-mode/V86 loads; protected-mode descriptor checks are being written.)
 */
#include "ops.h"

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
    const struct dtr *t = &cpu->gdtr;
    uint32_t base = t->base, limit = t->limit;
    if (sel & 4) {
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

void cpu_load_seg(struct cpu *cpu, int sreg, uint16_t sel)
{
    if (cpu_real(cpu) || cpu_v86(cpu)) {
        cpu_load_seg_real(cpu, sreg, sel);
        if (sreg == S_SS) {
            cpu->inhibit_irq = 1;
        }
        return;
    }
    cpu_fault(cpu, EX_GP, sel & 0xFFFC); /* protected mode: not yet */
}
