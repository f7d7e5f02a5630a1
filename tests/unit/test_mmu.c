/*
 * Paging and the segment-check layer: page-table walks built by hand in
 * RAM, #PF error codes and CR2, accessed/dirty bits, 4 MiB pages, global
 * pages across CR3 loads, INVLPG, A20, and segment limit/type faults.
 */
#include <criterion/criterion.h>

#include "cpu/mem.h"
#include "pm.h"

#define PD 0x30000u
#define PT 0x31000u
#define P 0x001u
#define W 0x002u
#define U 0x004u
#define A 0x020u
#define D 0x040u
#define PS 0x080u
#define G 0x100u

static void set_pte(struct tm *t, unsigned page, uint32_t v)
{
    tm_put(t, PT + 4 * page, v, 4);
}

static void flat(struct seg *s, uint16_t sel, uint32_t ar)
{
    s->sel = sel;
    s->base = 0;
    s->limit = 0xFFFFFFFFu;
    s->ar = ar;
}

/* Protected mode with paging: the first 2 MiB identity-mapped, user, writable. */
static struct tm paged(int cpl)
{
    struct tm t = tm_new();
    struct cpu *cpu = t.cpu;
    pm_identity_paging(&t, PD, PT, 512, P | W | U);
    cpu->cpl = (uint8_t)cpl;
    uint32_t dpl = (uint32_t)cpl << 13;
    flat(&cpu->seg[S_CS], cpl ? 0x1B : 0x08, 0x00C09B00u | dpl);
    for (int s = 0; s < 6; s++) {
        if (s != S_CS) {
            flat(&cpu->seg[s], cpl ? 0x23 : 0x10, 0x00C09300u | dpl);
        }
    }
    return t;
}

static int try_read(struct cpu *cpu, uint32_t lin, int size, unsigned acc, uint32_t *v)
{
    TM_CATCH(cpu);
    *v = mmu_read(cpu, lin, size, acc);
    return -1;
}

static int try_write(struct cpu *cpu, uint32_t lin, int size, unsigned acc, uint32_t v)
{
    TM_CATCH(cpu);
    mmu_write(cpu, lin, v, size, acc);
    return -1;
}

static int try_seg(struct cpu *cpu, int seg, uint32_t off, int size, bool write)
{
    TM_CATCH(cpu);
    cpu_seg_check(cpu, seg, off, size, write);
    return -1;
}

Test(mmu, user_write_to_readonly_page)
{
    struct tm t = paged(3);
    set_pte(&t, 5, 0x5000 | P | U);
    t.cpu->cr0 |= CR0_WP;
    uint32_t v;
    cr_expect_eq(try_read(t.cpu, 0x5004, 4, ACC_U, &v), -1);
    cr_expect_eq(try_write(t.cpu, 0x5004, 4, ACC_U, 1), EX_PF);
    cr_expect_eq(t.cpu->exc_err, P | W | U);
    cr_expect_eq(t.cpu->cr2, 0x5004u);
    tm_free(&t);
}

Test(mmu, supervisor_write_and_wp)
{
    struct tm t = paged(0);
    set_pte(&t, 5, 0x5000 | P | U);
    cr_expect_eq(try_write(t.cpu, 0x5000, 4, 0, 0x11223344u), -1);   /* WP = 0: allowed */
    cr_expect_eq(tm_get(&t, 0x5000, 4), 0x11223344u);
    t.cpu->cr0 |= CR0_WP;
    mmu_flush(t.cpu, false);
    cr_expect_eq(try_write(t.cpu, 0x5000, 4, 0, 0), EX_PF);
    cr_expect_eq(t.cpu->exc_err, P | W);
    cr_expect_eq(tm_get(&t, 0x5000, 4), 0x11223344u);
    tm_free(&t);
}

Test(mmu, not_present_and_privilege_error_codes)
{
    struct tm t = paged(0);
    set_pte(&t, 6, 0);
    set_pte(&t, 7, 0x7000 | P | W);   /* supervisor only */
    uint32_t v;
    cr_expect_eq(try_read(t.cpu, 0x6010, 1, ACC_U, &v), EX_PF);
    cr_expect_eq(t.cpu->exc_err, U);
    cr_expect_eq(t.cpu->cr2, 0x6010u);
    cr_expect_eq(try_write(t.cpu, 0x6020, 2, 0, 0), EX_PF);
    cr_expect_eq(t.cpu->exc_err, W);
    cr_expect_eq(try_read(t.cpu, 0x7000, 4, ACC_U, &v), EX_PF);
    cr_expect_eq(t.cpu->exc_err, P | U);
    cr_expect_eq(try_read(t.cpu, 0x7000, 4, 0, &v), -1);
    /* no page table for 4-8 MiB */
    cr_expect_eq(try_read(t.cpu, 0x00400000u, 4, 0, &v), EX_PF);
    cr_expect_eq(t.cpu->exc_err, 0);
    cr_expect_eq(t.cpu->cr2, 0x00400000u);
    tm_free(&t);
}

Test(mmu, user_needs_user_bit_in_pde_too)
{
    struct tm t = paged(0);
    tm_put(&t, PD, PT | P | W, 4);   /* directory entry: supervisor */
    uint32_t v;
    cr_expect_eq(try_read(t.cpu, 0x5000, 4, ACC_U, &v), EX_PF);
    cr_expect_eq(t.cpu->exc_err, P | U);
    tm_free(&t);
}

Test(mmu, accessed_and_dirty_bits)
{
    struct tm t = paged(0);
    uint32_t v;
    cr_expect_eq(try_read(t.cpu, 0x8000, 4, 0, &v), -1);
    cr_expect_eq(tm_get(&t, PT + 4 * 8, 4), 0x8000 | P | W | U | A);
    cr_expect_eq(tm_get(&t, PD, 4), PT | P | W | U | A);
    cr_expect_eq(try_write(t.cpu, 0x8004, 4, 0, 5), -1);
    cr_expect_eq(tm_get(&t, PT + 4 * 8, 4), 0x8000 | P | W | U | A | D);
    cr_expect_eq(tm_get(&t, PD, 4), PT | P | W | U | A);   /* a PDE has no dirty bit */
    /* a faulting access sets nothing */
    set_pte(&t, 9, 0x9000 | P | U);
    t.cpu->cr0 |= CR0_WP;
    cr_expect_eq(try_write(t.cpu, 0x9000, 4, 0, 5), EX_PF);
    cr_expect_eq(tm_get(&t, PT + 4 * 9, 4), 0x9000 | P | U);
    tm_free(&t);
}

Test(mmu, four_mib_pages)
{
    struct tm t = paged(0);
    t.cpu->cr4 |= CR4_PSE;
    tm_put(&t, PD + 4, 0x00000000u | PS | P | W | U, 4);   /* 4-8 MiB -> physical 0 */
    t.bus->ram[0x1234] = 0xAB;
    uint32_t v, phys;
    cr_expect(mmu_probe(t.cpu, 0x00401234u, 0, &phys));
    cr_expect_eq(phys, 0x1234u);
    cr_expect_eq(try_read(t.cpu, 0x00401234u, 1, 0, &v), -1);
    cr_expect_eq(v, 0xAB);
    cr_expect_eq(tm_get(&t, PD + 4, 4), PS | P | W | U | A);
    cr_expect_eq(try_write(t.cpu, 0x00410000u, 1, 0, 0xCD), -1);
    cr_expect_eq(t.bus->ram[0x10000], 0xCD);
    cr_expect_eq(tm_get(&t, PD + 4, 4), PS | P | W | U | A | D);
    tm_free(&t);
}

Test(mmu, ps_bit_ignored_without_pse)
{
    struct tm t = paged(0);
    tm_put(&t, PD + 4, 0x00000000u | PS | P | W | U, 4);   /* a page table at 0 */
    tm_put(&t, 4, 0x5000 | P | W | U, 4);                  /* its entry 1 */
    uint32_t phys;
    cr_expect(mmu_probe(t.cpu, 0x00401234u, 0, &phys));
    cr_expect_eq(phys, 0x5234u);
    tm_free(&t);
}

static void run_code(struct tm *t, const uint8_t *code, size_t len)
{
    t->cpu->eip = 0x1000;
    memcpy(t->bus->ram + 0x1000, code, len);
    cpu_run(t->cpu, 1);
}

Test(mmu, global_pages_survive_cr3_load)
{
    struct tm t = paged(0);
    t.cpu->cr4 |= CR4_PGE;
    set_pte(&t, 0x10, 0x10000 | P | W | G);
    set_pte(&t, 0x11, 0x11000 | P | W);
    tm_put(&t, 0x10000, 0x1111, 4);
    tm_put(&t, 0x11000, 0x2222, 4);
    tm_put(&t, 0x12000, 0x3333, 4);
    uint32_t v;
    try_read(t.cpu, 0x10000, 4, 0, &v);
    try_read(t.cpu, 0x11000, 4, 0, &v);
    /* remap both to 0x12000, then reload CR3 */
    set_pte(&t, 0x10, 0x12000 | P | W | G);
    set_pte(&t, 0x11, 0x12000 | P | W);
    t.cpu->r[R_EAX] = PD;
    const uint8_t mov_cr3[] = { 0x0F, 0x22, 0xD8 };
    run_code(&t, mov_cr3, sizeof(mov_cr3));
    cr_expect_eq(try_read(t.cpu, 0x10000, 4, 0, &v), -1);
    cr_expect_eq(v, 0x1111);   /* still the cached global translation */
    cr_expect_eq(try_read(t.cpu, 0x11000, 4, 0, &v), -1);
    cr_expect_eq(v, 0x3333);
    /* toggling CR4.PGE flushes global entries too */
    t.cpu->r[R_EAX] = 0;
    const uint8_t mov_cr4[] = { 0x0F, 0x22, 0xE0 };
    run_code(&t, mov_cr4, sizeof(mov_cr4));
    cr_expect_eq(try_read(t.cpu, 0x10000, 4, 0, &v), -1);
    cr_expect_eq(v, 0x3333);
    tm_free(&t);
}

Test(mmu, invlpg_drops_one_page)
{
    struct tm t = paged(0);
    tm_put(&t, 0x13000, 0xAAAA, 4);
    tm_put(&t, 0x14000, 0xBBBB, 4);
    uint32_t v;
    try_read(t.cpu, 0x13000, 4, 0, &v);
    set_pte(&t, 0x13, 0x14000 | P | W);
    cr_expect_eq(try_read(t.cpu, 0x13000, 4, 0, &v), -1);
    cr_expect_eq(v, 0xAAAA);
    const uint8_t invlpg[] = { 0x0F, 0x01, 0x3D, 0x00, 0x30, 0x01, 0x00 };   /* invlpg [0x13000] */
    run_code(&t, invlpg, sizeof(invlpg));
    cr_expect_eq(t.cpu->eip, 0x1007);
    cr_expect_eq(try_read(t.cpu, 0x13000, 4, 0, &v), -1);
    cr_expect_eq(v, 0xBBBB);
    tm_free(&t);
}

Test(mmu, page_crossing_write_checks_both_pages)
{
    struct tm t = paged(3);
    set_pte(&t, 0x1C, 0);
    tm_put(&t, 0x1BFFC, 0x55555555u, 4);
    cr_expect_eq(try_write(t.cpu, 0x1BFFE, 4, ACC_U, 0), EX_PF);
    cr_expect_eq(t.cpu->cr2, 0x1C000u);
    cr_expect_eq(t.cpu->exc_err, W | U);
    cr_expect_eq(tm_get(&t, 0x1BFFC, 4), 0x55555555u);   /* nothing written */
    tm_free(&t);
}

Test(mmu, a20_masking)
{
    struct tm t = tm_new();
    t.bus->ram[0x1234] = 0x5A;
    t.bus->ram[0x101234] = 0xA5;
    uint32_t v;
    cr_expect_eq(try_read(t.cpu, 0x101234, 1, 0, &v), -1);
    cr_expect_eq(v, 0xA5);
    cpu_set_a20(t.cpu, false);
    cr_expect_eq(try_read(t.cpu, 0x101234, 1, 0, &v), -1);
    cr_expect_eq(v, 0x5A);
    cpu_set_a20(t.cpu, true);
    cr_expect_eq(try_read(t.cpu, 0x101234, 1, 0, &v), -1);
    cr_expect_eq(v, 0xA5);
    tm_free(&t);
}

/* ---- segment checks ---- */

Test(mmu, expand_down_limits)
{
    struct tm t = paged(0);
    struct seg *ds = &t.cpu->seg[S_DS];
    ds->limit = 0xFFF;
    ds->ar = 0x00009700u;   /* expand-down, writable, B = 0: 0x1000..0xFFFF */
    cr_expect_eq(try_seg(t.cpu, S_DS, 0x0FFF, 1, false), EX_GP);
    cr_expect_eq(t.cpu->exc_err, 0);
    cr_expect_eq(try_seg(t.cpu, S_DS, 0x1000, 4, true), -1);
    cr_expect_eq(try_seg(t.cpu, S_DS, 0xFFFF, 1, false), -1);
    cr_expect_eq(try_seg(t.cpu, S_DS, 0xFFFE, 4, false), EX_GP);
    cr_expect_eq(try_seg(t.cpu, S_DS, 0xFFE, 4, false), EX_GP);   /* straddles the limit */
    ds->ar |= AR_DB;   /* B = 1: up to 0xFFFFFFFF */
    cr_expect_eq(try_seg(t.cpu, S_DS, 0x10000, 4, false), -1);
    cr_expect_eq(try_seg(t.cpu, S_DS, 0xFFFFFFFCu, 4, false), -1);
    tm_free(&t);
}

Test(mmu, segment_type_and_null_faults)
{
    struct tm t = paged(0);
    t.cpu->seg[S_ES] = (struct seg){ 0, 0, 0, 0 };   /* null-loaded */
    cr_expect_eq(try_seg(t.cpu, S_ES, 0, 1, false), EX_GP);
    cr_expect_eq(t.cpu->exc_err, 0);
    t.cpu->seg[S_FS].ar = 0x00409100u;                /* read-only data */
    cr_expect_eq(try_seg(t.cpu, S_FS, 0, 2, false), -1);
    cr_expect_eq(try_seg(t.cpu, S_FS, 0, 2, true), EX_GP);
    t.cpu->seg[S_GS].ar = 0x00409800u;                /* execute-only code */
    cr_expect_eq(try_seg(t.cpu, S_GS, 0, 1, false), EX_GP);
    t.cpu->seg[S_GS].ar = 0x00409A00u;                /* readable code */
    cr_expect_eq(try_seg(t.cpu, S_GS, 0, 1, false), -1);
    cr_expect_eq(try_seg(t.cpu, S_GS, 0, 1, true), EX_GP);
    t.cpu->seg[S_SS].limit = 0xFFFF;
    cr_expect_eq(try_seg(t.cpu, S_SS, 0xFFFE, 4, true), EX_SS);
    cr_expect_eq(t.cpu->exc_err, 0);
    tm_free(&t);
}

Test(mmu, real_mode_offset_wrap_faults)
{
    struct tm t = tm_new();
    cr_expect_eq(try_seg(t.cpu, S_DS, 0xFFFF, 2, false), EX_GP);
    cr_expect_eq(try_seg(t.cpu, S_SS, 0xFFFF, 2, true), EX_SS);
    cr_expect_eq(try_seg(t.cpu, S_DS, 0xFFFE, 2, false), -1);
    tm_free(&t);
}

Test(mmu, invlpg_drops_a_whole_4mib_page)
{
    struct tm t = paged(0);
    t.cpu->cr4 |= CR4_PSE;
    tm_put(&t, PD + 4, 0x00000000u | PS | P | W, 4);   /* 4-8 MiB -> physical 0 */
    tm_put(&t, 0x2000, 0x1111, 4);
    tm_put(&t, 0x3000, 0x2222, 4);
    uint32_t v;
    try_read(t.cpu, 0x00402000u, 4, 0, &v);
    try_read(t.cpu, 0x00403000u, 4, 0, &v);
    tm_put(&t, PD + 4, 0x00000000u, 4);                /* unmapped, then INVLPG one address */
    mmu_invlpg(t.cpu, 0x00402000u);
    cr_expect_eq(try_read(t.cpu, 0x00403000u, 4, 0, &v), EX_PF);
    cr_expect_eq(t.cpu->cr2, 0x00403000u);
    tm_free(&t);
}

/* More fills than the TLB's fill log holds: flushes still drop every stale entry. */
Test(mmu, flush_after_more_fills_than_the_log)
{
    struct tm t = paged(0);
    t.cpu->cr4 |= CR4_PSE | CR4_PGE;
    for (uint32_t k = 1; k <= 6; k++) {     /* 4-28 MiB: six 4 MiB pages onto RAM */
        tm_put(&t, PD + 4 * k, PS | P | W | (k == 1 ? G : 0), 4);
    }
    tm_put(&t, 0x5000, 0x5555, 4);
    uint32_t v;
    for (uint32_t k = 1; k <= 6; k++) {
        for (uint32_t i = 0; i < 512; i++) {   /* 3072 entries filled */
            cr_assert_eq(try_read(t.cpu, k << 22 | i << 12, 4, 0, &v), -1);
        }
    }
    cr_expect_gt(3072u, TLB_LOG);
    for (uint32_t k = 1; k <= 6; k++) {
        tm_put(&t, PD + 4 * k, 0, 4);
    }
    mmu_flush(t.cpu, true);                  /* a CR3 load: the global page stays */
    cr_expect_eq(try_read(t.cpu, 1u << 22 | 0x5000, 4, 0, &v), -1);
    cr_expect_eq(v, 0x5555u);
    for (uint32_t k = 2; k <= 6; k++) {
        cr_expect_eq(try_read(t.cpu, k << 22 | 0x5000, 4, 0, &v), EX_PF, "4 MiB page %u", k);
    }
    mmu_flush(t.cpu, false);                 /* now the global one goes too */
    cr_expect_eq(try_read(t.cpu, 1u << 22 | 0x1FF000, 4, 0, &v), EX_PF);
    cr_expect_eq(try_read(t.cpu, 1u << 22 | 0x5000, 4, 0, &v), EX_PF);
    tm_free(&t);
}

/* A global entry replaced by a non-global one in the same slot: a CR3 load drops it. */
Test(mmu, cr3_load_drops_a_non_global_entry_that_replaced_a_global_one)
{
    struct tm t = paged(0);
    t.cpu->cr4 |= CR4_PSE | CR4_PGE;
    tm_put(&t, PD + 4 * 1, PS | P | W | G, 4);           /* 4-8 MiB -> 0, global */
    tm_put(&t, PD + 4 * 9, 0x32000u | P | W, 4);         /* 36-40 MiB: a page table */
    tm_put(&t, 0x32000u + 4 * 5, 0x5000u | P | W, 4);
    tm_put(&t, 0x5000, 0x5555, 4);
    tm_put(&t, 0x6000, 0x6666, 4);
    uint32_t x = 1u << 22 | 0x5000, y = 9u << 22 | 0x5000;   /* 32 MiB apart: one slot */
    uint32_t v;
    cr_assert_eq(try_read(t.cpu, x, 4, 0, &v), -1);
    cr_assert_eq(try_read(t.cpu, y, 4, 0, &v), -1);
    cr_expect_eq(v, 0x5555u);
    tm_put(&t, 0x32000u + 4 * 5, 0x6000u | P | W, 4);
    mmu_flush(t.cpu, true);
    cr_expect_eq(try_read(t.cpu, y, 4, 0, &v), -1);
    cr_expect_eq(v, 0x6666u);
    tm_free(&t);
}
