/*
 * mem.c - segmented memory accesses: type and limit checks (see mem.h).
 *
 * The checks follow the SDM: an unusable (null) segment faults #GP(0);
 * reading an execute-only code segment or writing a code or read-only data
 * segment faults #GP(0); an offset outside the limit faults #GP(0), or
 * #SS(0) when the segment is SS.  Expand-down data segments hold the
 * offsets above the limit, up to 0xFFFF or 0xFFFFFFFF by their B bit.
 * The same cached-descriptor checks apply in real mode, where loads give
 * a 64 KiB writable data segment (so "unreal" limits work as on hardware).
 */
#include "mem.h"

static _Noreturn void seg_fault(struct cpu *cpu, int seg)
{
    cpu_fault(cpu, seg == S_SS ? EX_SS : EX_GP, 0);
}

/*
 * Code/data segment types (AR bits 11:8) that allow the access, one bit
 * per type: reads need data (0-7) or readable code (A, B, E, F); writes
 * need writable data (2, 3, 6, 7).
 */
#define SEG_READABLE 0xCCFFu
#define SEG_WRITABLE 0x00CCu

static bool limit_ok(const struct seg *s, uint32_t off, int size)
{
    uint32_t last = off + (uint32_t)size - 1;
    unsigned type = AR_TYPE(s->ar);
    if ((type & 0xC) == 0x4 && (s->ar & AR_S)) {
        /* expand-down data: valid offsets are limit+1 .. 0xFFFF or 0xFFFFFFFF */
        uint32_t top = (s->ar & AR_DB) ? 0xFFFFFFFFu : 0xFFFFu;
        return off > s->limit && last <= top && last >= off;
    }
    return last <= s->limit && last >= off;
}

uint32_t cpu_seg_check_slow(struct cpu *cpu, int seg, uint32_t off, int size, bool write)
{
    const struct seg *s = &cpu->seg[seg];
    if ((cpu->cr0 & CR0_PE) && !(cpu->eflags & F_VM)) {
        /* unusable (null-loaded: ar = 0) segments fail the P/S test */
        unsigned ok = write ? SEG_WRITABLE : SEG_READABLE;
        if ((s->ar & (AR_P | AR_S)) != (AR_P | AR_S) || !((ok >> AR_TYPE(s->ar)) & 1)) {
            seg_fault(cpu, seg);
        }
    }
    if (!limit_ok(s, off, size)) {
        seg_fault(cpu, seg);
    }
    return s->base + off;
}

void cpu_check_write(struct cpu *cpu, int seg, uint32_t off, int size)
{
    uint32_t lin = cpu_seg_check(cpu, seg, off, size, true);
    if (cpu->cr0 & CR0_PG) {
        unsigned acc = ACC_W | cpu_acc_user(cpu);
        if (tlb_hit(cpu, lin, size, acc, TLB_WRITE)) {
            /* a write entry exists only for a writable, dirty page */
            return;
        }
        mmu_translate(cpu, lin, acc);
        if ((lin & 0xFFF) > 4096u - (unsigned)size) {
            mmu_translate(cpu, lin + (uint32_t)size - 1, acc);
        }
    }
}

uint8_t cpu_fetch8(struct cpu *cpu, uint32_t eip)
{
    const struct seg *cs = &cpu->seg[S_CS];
    if (!cpu_code32(cpu)) {
        eip &= 0xFFFF;
    }
    if (eip > cs->limit) {
        cpu_fault(cpu, EX_GP, 0);
    }
    return (uint8_t)mmu_read(cpu, cs->base + eip, 1, ACC_X | cpu_acc_user(cpu));
}
