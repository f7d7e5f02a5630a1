/*
 * mmu.c - paging, the software TLB and the slow memory path.
 *
 * Linear addresses are translated by the two-level i386 page tables (4 KiB
 * pages, and 4 MiB pages when CR4.PSE is set), with the user/supervisor and
 * read/write checks of the SDM (CR0.WP applies to supervisor writes).
 * Accessed and dirty bits are set as the walk passes.
 *
 * The TLB caches, per privilege (user/supervisor) and per access kind
 * (read, write, fetch), a linear page -> host pointer addend.  An entry is
 * made only for pages that are plain RAM/ROM on the bus; ROM and pages
 * whose dirty bit is not yet set get no write entry, so those writes come
 * here.  A20 masking is applied to the physical address.
 *
 * Data breakpoints (DR0-3 with R/W = 01 or 11) are matched here: while
 * any breakpoint is armed, a page holding a data breakpoint gets no TLB
 * entry, so every access to it takes the slow path, which records the
 * hits in cpu->dr6_pending for the trap after the instruction (interp.c).
 */
#include "mem.h"

#include <string.h>

#include "hw/bus.h"
#include "util/log.h"

#define TLB_ENTRIES (sizeof(((struct cpu *)0)->tlb) / sizeof(struct tlb_entry))

enum { VISIT_FLUSH, VISIT_REGION, VISIT_CODE, VISIT_UNCODE };

/* Apply op to entry n (FLUSH: drop it unless global and `arg` keeps globals). */
static void tlb_visit_one(struct cpu *cpu, uint32_t n, int op, uint32_t arg)
{
    struct tlb_entry *e = &cpu->tlb[n];
    if (e->tag & TLB_INVALID) {
        return;
    }
    switch (op) {
    case VISIT_FLUSH:
        if (!(arg && (e->phys & TLB_GLOBAL))) {
            e->tag = TLB_INVALID;
        }
        break;
    case VISIT_REGION:      /* the 4 MiB region of linear address arg */
        if (((e->tag ^ arg) & 0xFFC00000u) == 0) {
            e->tag = TLB_INVALID;
        }
        break;
    case VISIT_CODE:        /* write entries of physical page arg */
    case VISIT_UNCODE:
        if ((n / TLB_SIZE) % TLB_KINDS == TLB_WRITE &&
            ((e->phys & ~0xFFFu) == arg << 12 || arg == UINT32_MAX)) {
            if (op == VISIT_CODE) {
                e->tag |= TLB_CODE;     /* stores now take the slow path */
            } else {
                e->tag &= ~TLB_CODE;    /* (a write entry: its page is writable) */
            }
        }
        break;
    }
}

/* Apply op to the entries filled since the last flush: the non-global
 * ones, and with `globals` the global ones too. */
static void tlb_visit(struct cpu *cpu, bool globals, int op, uint32_t arg)
{
    int logs = globals ? 2 : 1;
    for (int g = 0; g < logs; g++) {
        if (cpu->tlb_log[g].n <= TLB_LOG) {
            continue;
        }
        if (op == VISIT_CODE || op == VISIT_UNCODE) {
            /* only the write entries, of both privileges */
            for (uint32_t u = 0; u < 2; u++) {
                uint32_t first = TLB_SLOT(u, TLB_WRITE, 0u);
                for (uint32_t n = first; n < first + TLB_SIZE; n++) {
                    tlb_visit_one(cpu, n, op, arg);
                }
            }
            return;
        }
        for (uint32_t n = 0; n < TLB_ENTRIES; n++) {
            tlb_visit_one(cpu, n, op, arg);
        }
        return;
    }
    for (int g = 0; g < logs; g++) {
        for (uint32_t i = 0; i < cpu->tlb_log[g].n; i++) {
            tlb_visit_one(cpu, cpu->tlb_log[g].idx[i], op, arg);
        }
    }
}

void mmu_flush(struct cpu *cpu, bool keep_global)
{
    tlb_visit(cpu, !keep_global, VISIT_FLUSH, keep_global);
    cpu->tlb_log[0].n = 0;
    if (!keep_global) {
        cpu->tlb_log[1].n = 0;
        memset(cpu->tlb_large, 0, sizeof(cpu->tlb_large));
    }
}

void mmu_invlpg(struct cpu *cpu, uint32_t lin)
{
    for (int u = 0; u < 2; u++) {
        for (int k = 0; k < TLB_KINDS; k++) {
            cpu->tlb[TLB_SLOT(u, k, lin)].tag = TLB_INVALID;
        }
    }
    uint32_t region = lin >> 22;
    if (cpu->tlb_large[region / 32] & (1u << (region % 32))) {
        /*
         * lin lies in a 4 MiB page that the TLB holds as separate 4 KiB
         * entries: drop every entry of that 4 MiB region.
         */
        cpu->tlb_large[region / 32] &= ~(1u << (region % 32));
        tlb_visit(cpu, true, VISIT_REGION, lin);
    }
}

void mmu_mark_code(struct cpu *cpu, uint32_t page)
{
    tlb_visit(cpu, true, VISIT_CODE, page);
}

void mmu_unmark_code(struct cpu *cpu, uint32_t page)
{
    tlb_visit(cpu, true, VISIT_UNCODE, page);
}

void mmu_unmark_all_code(struct cpu *cpu)
{
    tlb_visit(cpu, true, VISIT_UNCODE, UINT32_MAX);
}

/* Data breakpoint n of DR7: enabled with R/W = 01 (write) or 11 (read/write). */
static bool data_bp(uint32_t dr7, int n, bool write)
{
    unsigned rw = (dr7 >> (16 + 4 * n)) & 3;
    return (dr7 >> (2 * n) & 3) && (rw == 3 || (rw == 1 && write));
}

/* True if an armed data breakpoint lies in lin's page (keep it out of the TLB). */
static bool page_has_bp(const struct cpu *cpu, uint32_t lin)
{
    for (int n = 0; n < 4; n++) {
        if (data_bp(cpu->dr[7], n, true) && ((cpu->dr[n] ^ lin) & ~0xFFFu) == 0) {
            return true;
        }
    }
    return false;
}

/* Record data breakpoints that bytes lin..lin+size-1 hit (LEN 1, 2 or 4). */
static void check_data_bp(struct cpu *cpu, uint32_t lin, int size, bool write)
{
    static const uint32_t len[4] = { 1, 2, 8, 4 };   /* 10b: undefined on a P6 */
    for (int n = 0; n < 4; n++) {
        if (!data_bp(cpu->dr[7], n, write)) {
            continue;
        }
        uint32_t l = len[(cpu->dr[7] >> (18 + 4 * n)) & 3];
        uint32_t bp = cpu->dr[n] & ~(l - 1);
        if (lin - bp < l || bp - lin < (uint32_t)size) {
            cpu->dr6_pending |= 1u << n;
        }
    }
}

static uint32_t phys_rd32(struct cpu *cpu, uint32_t pa)
{
    return bus_read(cpu->bus, pa & cpu->a20_mask, 4);
}

static void phys_wr32(struct cpu *cpu, uint32_t pa, uint32_t v)
{
    bus_write(cpu->bus, pa & cpu->a20_mask, v, 4);
}

#define PG_P 0x001u
#define PG_W 0x002u
#define PG_U 0x004u
#define PG_A 0x020u
#define PG_D 0x040u
#define PG_PS 0x080u
#define PG_G 0x100u

struct walk {
    uint32_t phys;     /* physical address of lin */
    bool user_ok, write_ok, dirty, global;
    bool large;        /* mapped by a 4 MiB page */
    uint32_t fault;    /* #PF error code, or 0xFFFFFFFF if none */
};

/* Walk the page tables for lin; sets A/D bits only when the access passes. */
static void walk(struct cpu *cpu, uint32_t lin, unsigned acc, bool set_bits, struct walk *w)
{
    bool user = acc & ACC_U, wr = acc & ACC_W;
    uint32_t err = (wr ? 2u : 0) | (user ? 4u : 0);
    uint32_t pde_addr = (cpu->cr3 & ~0xFFFu) + ((lin >> 22) << 2);
    uint32_t pde = phys_rd32(cpu, pde_addr);
    w->fault = 0xFFFFFFFFu;
    if (!(pde & PG_P)) {
        w->fault = err;
        return;
    }
    bool big = (pde & PG_PS) && (cpu->cr4 & CR4_PSE);
    uint32_t pte_addr = 0, pte = pde;
    if (!big) {
        pte_addr = (pde & ~0xFFFu) + (((lin >> 12) & 0x3FF) << 2);
        pte = phys_rd32(cpu, pte_addr);
        if (!(pte & PG_P)) {
            w->fault = err;
            return;
        }
    }
    w->user_ok = (pde & PG_U) && (pte & PG_U);
    w->write_ok = (pde & PG_W) && (pte & PG_W);
    bool ok = true;
    if (user) {
        ok = w->user_ok && (!wr || w->write_ok);
    } else if (wr && (cpu->cr0 & CR0_WP)) {
        ok = w->write_ok;
    }
    if (!ok) {
        w->fault = err | 1;
        return;
    }
    if (set_bits) {
        cpu->walk_writes = true;   /* (the JIT's lockstep journal skips these) */
        if (!(pde & PG_A) || (big && wr && !(pde & PG_D))) {
            phys_wr32(cpu, pde_addr, pde | PG_A | (big && wr ? PG_D : 0));
        }
        if (!big && (!(pte & PG_A) || (wr && !(pte & PG_D)))) {
            phys_wr32(cpu, pte_addr, pte | PG_A | (wr ? PG_D : 0));
        }
        cpu->walk_writes = false;
    }
    w->dirty = (pte & PG_D) || wr;
    w->global = (pte & PG_G) && (cpu->cr4 & CR4_PGE);
    w->large = big;
    w->phys = big ? (pte & 0xFFC00000u) | (lin & 0x3FFFFFu)
                  : (pte & ~0xFFFu) | (lin & 0xFFFu);
}

static void page_fault(struct cpu *cpu, uint32_t lin, uint32_t err)
{
    cpu->cr2 = lin;
    log_ch(LOG_MMU, "#PF lin=%08x err=%x eip=%08x", lin, err, cpu->eip);
    cpu_fault(cpu, EX_PF, err);
}

bool mmu_probe(struct cpu *cpu, uint32_t lin, unsigned acc, uint32_t *phys)
{
    if (!(cpu->cr0 & CR0_PG)) {
        *phys = lin & cpu->a20_mask;
        return true;
    }
    struct walk w;
    walk(cpu, lin, acc, false, &w);
    if (w.fault != 0xFFFFFFFFu) {
        return false;
    }
    *phys = w.phys & cpu->a20_mask;
    return true;
}

/* Translate and, for plain memory, fill the TLB entry of this access kind. */
static uint32_t translate_fill(struct cpu *cpu, uint32_t lin, unsigned acc)
{
    struct walk w = { .user_ok = true, .write_ok = true, .dirty = true, .large = false };
    if (cpu->cr0 & CR0_PG) {
        walk(cpu, lin, acc, true, &w);
        if (w.fault != 0xFFFFFFFFu) {
            page_fault(cpu, lin, w.fault);
        }
    } else {
        w.phys = lin;
    }
    uint32_t phys = w.phys & cpu->a20_mask;
    bool writable;
    uint8_t *host = bus_page_ptr(cpu->bus, phys, &writable);
    int kind = (acc & ACC_W) ? TLB_WRITE : (acc & ACC_X) ? TLB_EXEC : TLB_READ;
    if (cpu->dbg_armed && page_has_bp(cpu, lin)) {
        host = NULL;
    }
    /* pages holding translated code get only TLB_CODE write entries */
    bool code = cpu->code_pages && cpu->code_pages[phys >> 12];
    if (host && (kind != TLB_WRITE || (writable && w.dirty))) {
        struct tlb_entry *e = &cpu->tlb[TLB_SLOT((acc & ACC_U) ? 1 : 0, kind, lin)];
        /* a valid entry of the same globalness is in its log already */
        int g = w.global ? 1 : 0;
        struct tlb_log *l = &cpu->tlb_log[g];
        if (((e->tag & TLB_INVALID) || (e->phys & TLB_GLOBAL) != (uint32_t)g) && l->n <= TLB_LOG) {
            if (l->n < TLB_LOG) {
                l->idx[l->n] = (uint32_t)(e - cpu->tlb);
            }
            l->n++;
        }
        e->tag = (lin & ~0xFFFu) | (kind == TLB_WRITE && code ? TLB_CODE : 0);
        e->addend = (uintptr_t)host - (lin & ~0xFFFu);
        e->phys = (phys & ~0xFFFu) | (w.global ? TLB_GLOBAL : 0);
        if (w.large) {
            cpu->tlb_large[lin >> 27] |= 1u << ((lin >> 22) & 31);
        }
    }
    return phys;
}

uint32_t mmu_translate(struct cpu *cpu, uint32_t lin, unsigned acc)
{
    return translate_fill(cpu, lin, acc);
}

uint32_t mmu_read_slow(struct cpu *cpu, uint32_t lin, int size, unsigned acc)
{
    if ((lin & 0xFFF) > 4096u - (unsigned)size) {
        /* crosses a page: both pages are checked before the bytes are read */
        uint32_t v = 0;
        uint32_t first = 4096 - (lin & 0xFFF);
        translate_fill(cpu, lin, acc);
        translate_fill(cpu, lin + first, acc);
        for (int i = 0; i < size; i++) {
            v |= mmu_read(cpu, lin + (uint32_t)i, 1, acc) << (8 * i);
        }
        return v;
    }
    uint32_t phys = translate_fill(cpu, lin, acc);
    if (cpu->dbg_armed && !(acc & ACC_X)) {
        check_data_bp(cpu, lin, size, false);
    }
    struct tlb_entry *e = tlb_hit(cpu, lin, size, acc, (acc & ACC_X) ? TLB_EXEC : TLB_READ);
    if (e) {
        return ld_le((const uint8_t *)(e->addend + lin), size);
    }
    return bus_read(cpu->bus, phys, size);
}

void mmu_write_slow(struct cpu *cpu, uint32_t lin, uint32_t val, int size, unsigned acc)
{
    acc |= ACC_W;
    const struct tlb_entry *ce =
        &cpu->tlb[TLB_SLOT((acc & ACC_U) ? 1 : 0, TLB_WRITE, lin)];
    if (ce->tag == ((lin & ~0xFFFu) | TLB_CODE) && (lin & 0xFFF) <= 4096u - (unsigned)size) {
        /* translated code on this page: the bus tells the translator */
        bus_write(cpu->bus, (ce->phys & ~0xFFFu) | (lin & 0xFFF), val, size);
        return;
    }
    if ((lin & 0xFFF) > 4096u - (unsigned)size) {
        uint32_t first = 4096 - (lin & 0xFFF);
        translate_fill(cpu, lin, acc);
        translate_fill(cpu, lin + first, acc);
        for (int i = 0; i < size; i++) {
            mmu_write(cpu, lin + (uint32_t)i, (val >> (8 * i)) & 0xFF, 1, acc);
        }
        return;
    }
    uint32_t phys = translate_fill(cpu, lin, acc);
    if (cpu->dbg_armed) {
        check_data_bp(cpu, lin, size, true);
    }
    struct tlb_entry *e = tlb_hit(cpu, lin, size, acc, TLB_WRITE);
    if (e) {
        st_le((uint8_t *)(e->addend + lin), val, size);
        if (cpu->bus->write_notify) {
            cpu->bus->write_notify(cpu->bus->notify_opaque, phys, (uint32_t)size);
        }
        return;
    }
    bus_write(cpu->bus, phys, val, size);
}
