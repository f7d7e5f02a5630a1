/*
 * pm.h - protected-mode scaffolding for unit tests, built in guest RAM the
 * way a kernel would: a GDT at PM_GDT with flat ring-0 and ring-3 code and
 * data, an IDT at PM_IDT whose 32 exception gates lead to a `jmp $` at
 * PM_HANDLER(vec), and segment caches loaded from the GDT.  Descriptor
 * layouts follow SDM vol.3 sections 3.4.5 and 6.11.
 */
#ifndef KASOU_TEST_PM_H
#define KASOU_TEST_PM_H

#include "cpu/mem.h"
#include "machine.h"

#define PM_GDT 0x10000u
#define PM_IDT 0x11000u
#define PM_HANDLER(v) (0x8000u + (uint32_t)(v) * 0x10u)

/* The flat descriptors pm_flat_gdt writes. */
enum { PM_CODE0 = 0x08, PM_DATA0 = 0x10, PM_CODE3 = 0x18, PM_DATA3 = 0x20 };

/* A code/data/system descriptor: access byte (P DPL S type), flags (G D). */
static inline void pm_desc(struct tm *t, uint16_t sel, uint32_t base, uint32_t limit,
                           uint8_t access, uint8_t flags)
{
    uint32_t a = PM_GDT + (sel & ~7u);
    tm_put(t, a, limit & 0xFFFF, 2);
    tm_put(t, a + 2, base & 0xFFFFFF, 3);
    tm_put(t, a + 5, access, 1);
    tm_put(t, a + 6, (uint32_t)(flags << 4) | ((limit >> 16) & 0xF), 1);
    tm_put(t, a + 7, base >> 24, 1);
}

/* A call/interrupt/trap/task gate at address `a`. */
static inline void pm_gate_at(struct tm *t, uint32_t a, uint16_t sel, uint32_t off,
                              uint8_t access, uint8_t count)
{
    tm_put(t, a, off & 0xFFFF, 2);
    tm_put(t, a + 2, sel, 2);
    tm_put(t, a + 4, count, 1);
    tm_put(t, a + 5, access, 1);
    tm_put(t, a + 6, off >> 16, 2);
}

static inline void pm_idt_gate(struct tm *t, int vec, uint16_t sel, uint32_t off,
                               uint8_t access)
{
    pm_gate_at(t, PM_IDT + (uint32_t)vec * 8, sel, off, access, 0);
}

/* The access byte of GDT entry `sel` (busy bits, accessed bits). */
static inline uint8_t pm_access_byte(struct tm *t, uint16_t sel)
{
    return (uint8_t)tm_get(t, PM_GDT + (sel & ~7u) + 5, 1);
}

/* Load segment cache `s` from GDT entry `sel`, as a checked load would. */
static inline void pm_load(struct tm *t, struct seg *s, uint16_t sel)
{
    uint32_t a = PM_GDT + (sel & ~7u);
    uint32_t d[2] = { tm_get(t, a, 4), tm_get(t, a + 4, 4) };
    cpu_desc_to_seg(s, sel, d);
}

/* Flat 4 GiB 32-bit code and data for rings 0 and 3. */
static inline void pm_flat_gdt(struct tm *t)
{
    pm_desc(t, PM_CODE0, 0, 0xFFFFF, 0x9A, 0xC);
    pm_desc(t, PM_DATA0, 0, 0xFFFFF, 0x92, 0xC);
    pm_desc(t, PM_CODE3, 0, 0xFFFFF, 0xFA, 0xC);
    pm_desc(t, PM_DATA3, 0, 0xFFFFF, 0xF2, 0xC);
}

/* Ring-0 interrupt gates for vectors 0-31, each to a `jmp $`. */
static inline void pm_exception_gates(struct tm *t)
{
    for (int v = 0; v < 32; v++) {
        pm_idt_gate(t, v, PM_CODE0, PM_HANDLER(v), 0x8E);
        tm_put(t, PM_HANDLER(v), 0xFEEB, 2);
    }
}

/*
 * Switch to protected mode at `cpl` with the GDT and IDT above, TR loaded
 * from `tr_sel`, no LDT, and every segment register flat for that ring.
 */
static inline void pm_enter(struct tm *t, uint16_t tr_sel, unsigned cpl)
{
    struct cpu *c = t->cpu;
    c->cr0 |= CR0_PE;
    c->gdtr = (struct dtr){ PM_GDT, 0xFF };
    c->idtr = (struct dtr){ PM_IDT, 0x7FF };
    pm_load(t, &c->tr, tr_sel);
    c->ldtr = (struct seg){ 0, 0, 0, 0 };
    pm_load(t, &c->seg[S_CS], cpl ? PM_CODE3 | 3 : PM_CODE0);
    for (int s = 0; s < 6; s++) {
        if (s != S_CS) {
            pm_load(t, &c->seg[s], cpl ? PM_DATA3 | 3 : PM_DATA0);
        }
    }
    c->cpl = (uint8_t)cpl;
}

/*
 * Paging on: the directory at `pd` holds one table, `pt`, which identity-
 * maps the first `pages` 4 KiB pages with PTE bits `flags` (the directory
 * entry gets the same bits).  CR3 = pd; CR0.PE and PG set; TLB flushed.
 */
static inline void pm_identity_paging(struct tm *t, uint32_t pd, uint32_t pt,
                                      unsigned pages, uint32_t flags)
{
    for (uint32_t i = 0; i < pages; i++) {
        tm_put(t, pt + 4 * i, (i << 12) | flags, 4);
    }
    tm_put(t, pd, pt | flags, 4);
    t->cpu->cr3 = pd;
    t->cpu->cr0 |= CR0_PE | CR0_PG;
    mmu_flush(t->cpu, false);
}

#endif
