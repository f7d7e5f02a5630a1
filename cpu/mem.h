/*
 * mem.h - guest memory accesses as instructions see them.
 *
 * Two layers: segmented accesses (cpu_rd, cpu_wr: segment type and limit
 * checks, then the linear address) and linear accesses (mmu_*: paging
 * through the software TLB, A20 masking, then the bus).  The TLB fast path
 * is inline; misses, MMIO and page-crossing accesses go to cpu/mmu.c.
 */
#ifndef KASOU_MEM_H
#define KASOU_MEM_H

#include <string.h>

#include "cpu.h"

/* access kinds for the linear layer */
#define ACC_W 1u    /* write */
#define ACC_X 2u    /* instruction fetch */
#define ACC_U 4u    /* user-privilege access (CPL 3, not a system access) */

/* Slow paths (cpu/mmu.c). */
uint32_t mmu_read_slow(struct cpu *cpu, uint32_t lin, int size, unsigned acc);
void mmu_write_slow(struct cpu *cpu, uint32_t lin, uint32_t val, int size, unsigned acc);
/* Translate without side effects on failure; returns false if not mapped. */
bool mmu_probe(struct cpu *cpu, uint32_t lin, unsigned acc, uint32_t *phys);
/* Translate or raise #PF (sets A/D bits as the access would). */
uint32_t mmu_translate(struct cpu *cpu, uint32_t lin, unsigned acc);
void mmu_flush(struct cpu *cpu, bool keep_global);
void mmu_invlpg(struct cpu *cpu, uint32_t lin);
/* The write entries of physical page `page` (a page number) get TLB_CODE. */
void mmu_mark_code(struct cpu *cpu, uint32_t page);
/* ...and lose it again (the page holds no translated code any more). */
void mmu_unmark_code(struct cpu *cpu, uint32_t page);
/* The same for every page (the translator dropped all its code). */
void mmu_unmark_all_code(struct cpu *cpu);

/* Whole-word copies where the host is little-endian, as guest memory is. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define MEM_HOST_LE 1
#else
#define MEM_HOST_LE 0
#endif

static inline uint32_t ld_le(const uint8_t *p, int size)
{
    if (MEM_HOST_LE && size == 4) {
        uint32_t w;
        memcpy(&w, p, 4);
        return w;
    }
    if (MEM_HOST_LE && size == 2) {
        uint16_t h;
        memcpy(&h, p, 2);
        return h;
    }
    uint32_t v = p[0];
    if (size > 1) {
        v |= (uint32_t)p[1] << 8;
    }
    if (size > 2) {
        v |= (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    }
    return v;
}

static inline void st_le(uint8_t *p, uint32_t v, int size)
{
    if (MEM_HOST_LE && size == 4) {
        memcpy(p, &v, 4);
        return;
    }
    if (MEM_HOST_LE && size == 2) {
        uint16_t h = (uint16_t)v;
        memcpy(p, &h, 2);
        return;
    }
    p[0] = (uint8_t)v;
    if (size > 1) {
        p[1] = (uint8_t)(v >> 8);
    }
    if (size > 2) {
        p[2] = (uint8_t)(v >> 16);
        p[3] = (uint8_t)(v >> 24);
    }
}

static inline struct tlb_entry *tlb_hit(struct cpu *cpu, uint32_t lin, int size,
                                        unsigned acc, int kind)
{
    struct tlb_entry *e = &cpu->tlb[TLB_SLOT((acc & ACC_U) ? 1 : 0, kind, lin)];
    if (e->tag == (lin & ~0xFFFu) && (lin & 0xFFF) <= 4096u - (unsigned)size) {
        return e;
    }
    return NULL;
}

static inline uint32_t mmu_read(struct cpu *cpu, uint32_t lin, int size, unsigned acc)
{
    struct tlb_entry *e = tlb_hit(cpu, lin, size, acc, (acc & ACC_X) ? TLB_EXEC : TLB_READ);
    if (e) {
        return ld_le((const uint8_t *)(e->addend + lin), size);
    }
    return mmu_read_slow(cpu, lin, size, acc);
}

static inline void mmu_write(struct cpu *cpu, uint32_t lin, uint32_t val, int size, unsigned acc)
{
    struct tlb_entry *e = tlb_hit(cpu, lin, size, acc, TLB_WRITE);
    if (e) {
        st_le((uint8_t *)(e->addend + lin), val, size);
        return;
    }
    mmu_write_slow(cpu, lin, val, size, acc);
}

/* ACC_U when the current privilege makes ordinary accesses user accesses. */
static inline unsigned cpu_acc_user(const struct cpu *cpu)
{
    return cpu->cpl == 3 ? ACC_U : 0;
}

/* --- segmented layer (cpu/mem.c) --- */
/* The full check of cpu_seg_check (cpu/mem.c). */
uint32_t cpu_seg_check_slow(struct cpu *cpu, int seg, uint32_t off, int size, bool write);

/*
 * Check a data access of `size` bytes at seg:off; returns the linear
 * address.  Inline, the common case: a present code/data segment whose
 * type allows the access (in any mode), not expand-down, and the bytes
 * within the limit.  Everything else, faults included, is decided by
 * cpu_seg_check_slow.
 */
static inline uint32_t cpu_seg_check(struct cpu *cpu, int seg, uint32_t off, int size,
                                     bool write)
{
    const struct seg *s = &cpu->seg[seg];
    unsigned type = AR_TYPE(s->ar);
    unsigned ok = write ? 0x00CCu : 0xCCFFu;   /* as mem.c's SEG_WRITABLE/READABLE */
    uint32_t last = off + (uint32_t)size - 1;
    if ((s->ar & (AR_P | AR_S)) == (AR_P | AR_S) && ((ok >> type) & 1) &&
        (type & 0xC) != 0x4 && last >= off && last <= s->limit) {
        return s->base + off;
    }
    return cpu_seg_check_slow(cpu, seg, off, size, write);
}

static inline uint32_t cpu_rd(struct cpu *cpu, int seg, uint32_t off, int size)
{
    uint32_t lin = cpu_seg_check(cpu, seg, off, size / 8, false);
    return mmu_read(cpu, lin, size / 8, cpu_acc_user(cpu));
}
static inline void cpu_wr(struct cpu *cpu, int seg, uint32_t off, int size, uint32_t val)
{
    uint32_t lin = cpu_seg_check(cpu, seg, off, size / 8, true);
    mmu_write(cpu, lin, val, size / 8, cpu_acc_user(cpu));
}
static inline uint8_t cpu_rd8(struct cpu *cpu, int seg, uint32_t off) { return (uint8_t)cpu_rd(cpu, seg, off, 8); }
static inline uint16_t cpu_rd16(struct cpu *cpu, int seg, uint32_t off) { return (uint16_t)cpu_rd(cpu, seg, off, 16); }
static inline uint32_t cpu_rd32(struct cpu *cpu, int seg, uint32_t off) { return cpu_rd(cpu, seg, off, 32); }
static inline void cpu_wr8(struct cpu *cpu, int seg, uint32_t off, uint8_t v) { cpu_wr(cpu, seg, off, 8, v); }
static inline void cpu_wr16(struct cpu *cpu, int seg, uint32_t off, uint16_t v) { cpu_wr(cpu, seg, off, 16, v); }
static inline void cpu_wr32(struct cpu *cpu, int seg, uint32_t off, uint32_t v) { cpu_wr(cpu, seg, off, 32, v); }
/*
 * Check that seg:off can be written (segment and page) without writing:
 * read-modify-write instructions call this before they read, so a fault
 * reports a write access and nothing is half done.
 */
void cpu_check_write(struct cpu *cpu, int seg, uint32_t off, int size);
/* Instruction fetch at CS:eip (CS limit, then paging). */
uint8_t cpu_fetch8(struct cpu *cpu, uint32_t eip);

/* System accesses: supervisor privilege whatever the CPL (GDT, IDT, TSS). */
static inline uint32_t sys_rd(struct cpu *cpu, uint32_t lin, int size)
{
    return mmu_read(cpu, lin, size / 8, 0);
}
static inline void sys_wr(struct cpu *cpu, uint32_t lin, int size, uint32_t val)
{
    mmu_write(cpu, lin, val, size / 8, 0);
}

#endif
