/*
 * The translator's own hazards, each run on a machine with the JIT and on
 * an interpreting twin set up the same way, whose final state (registers,
 * flags, EIP, icount, CR2, segments, all of RAM) must be the same:
 *   - code modified while translated: the next instruction of the running
 *     block, an earlier instruction of a running loop, the target of a
 *     chained jump, a device's write between runs and from inside a block,
 *     and a physical page written through a second linear address;
 *   - a fault inside a block leaves the state of the faulting instruction;
 *   - cpu_run(cpu, n) retires exactly n (never more) whatever the blocks;
 *   - a pending interrupt is taken before another block runs, also when a
 *     device raises it from a store in the middle of a chain of blocks;
 *   - jit_set_block_limit.
 * The translator's counters (jit_int.h) show that the translated path ran.
 */
#include <criterion/criterion.h>

#include "config.h"

#ifdef CONFIG_JIT

#include "jit_tm.h"

/* --- self-modifying code --- */

static void smc_next_flat(struct tm *t)
{
    flat32(t, false);
    const uint8_t code[] = {
        0x90,                                       /* 1000: nop */
        0xC6, 0x05, 0x08, 0x10, 0x00, 0x00, 0x40,   /* 1001: mov byte [0x1008], 0x40 */
        0x90,                                       /* 1008: nop, becomes inc eax */
        0xF4,                                       /* 1009: hlt */
    };
    tm_run(t, code, sizeof(code), 100);
}

Test(jit, store_patches_the_next_instruction_of_the_block)
{
    struct tm j = jit_machine(), i = interp_machine();
    smc_next_flat(&j);
    smc_next_flat(&i);
    expect_same(&j, &i);
    cr_expect_eq(j.cpu->r[R_EAX], 1, "the patched instruction ran");
    cr_expect_eq(j.cpu->eip, 0x100A);
    cr_expect_eq(j.cpu->icount, 4);
    cr_expect_geq(jit_of(&j)->n_invalidated, 1);
    tm_free(&j);
    tm_free(&i);
}

/* The same in real mode, where stores go through the segment helpers. */
static void smc_next_real(struct tm *t)
{
    const uint8_t code[] = {
        0xC6, 0x06, 0x05, 0x10, 0x40,   /* 1000: mov byte [0x1005], 0x40 */
        0x90,                           /* 1005: nop, becomes inc ax */
        0xF4,                           /* 1006: hlt */
    };
    tm_run(t, code, sizeof(code), 100);
}

Test(jit, real_mode_store_patches_the_next_instruction)
{
    struct tm j = jit_machine(), i = interp_machine();
    smc_next_real(&j);
    smc_next_real(&i);
    expect_same(&j, &i);
    cr_expect_eq(j.cpu->r[R_EAX], 1);
    cr_expect_eq(j.cpu->eip, 0x1007);
    cr_expect_geq(jit_of(&j)->n_invalidated, 1);
    tm_free(&j);
    tm_free(&i);
}

/* A loop whose body rewrites the immediate of its own first instruction. */
static void smc_loop(struct tm *t)
{
    flat32(t, false);
    const uint8_t code[] = {
        0xB0, 0x00,                             /* 1000: mov al, imm8 (at 1001) */
        0xFE, 0x05, 0x01, 0x10, 0x00, 0x00,     /* 1002: inc byte [0x1001] */
        0x00, 0xC3,                             /* 1008: add bl, al */
        0x49,                                   /* 100A: dec ecx */
        0x75, 0xF3,                             /* 100B: jnz 1000 */
        0xF4,                                   /* 100D: hlt */
    };
    t->cpu->r[R_ECX] = 5;
    tm_run(t, code, sizeof(code), 1000);
}

Test(jit, loop_patches_an_earlier_instruction_of_its_block)
{
    struct tm j = jit_machine(), i = interp_machine();
    smc_loop(&j);
    smc_loop(&i);
    expect_same(&j, &i);
    cr_expect_eq(j.cpu->r[R_EBX] & 0xFF, 0 + 1 + 2 + 3 + 4);
    cr_expect_eq(*tm_ram(&j, 0x1001), 5);
    cr_expect_eq(j.cpu->icount, 5 * 5 + 1);
    cr_expect_geq(jit_of(&j)->n_invalidated, 5);
    tm_free(&j);
    tm_free(&i);
}

static const uint8_t chain_code[] = {
    0x40,                   /* 1000: inc eax */
    0x75, 0x7D,             /* 1001: jnz 1080 (a JMP would be followed, not chained) */
};
static const uint8_t chain_target[] = {
    0x83, 0xC3, 0x01,       /* 1080: add ebx, 1 (the imm8 at 1082) */
    0xF4,                   /* 1083: hlt */
};
static const uint8_t chain_patcher[] = {
    0xC6, 0x05, 0x82, 0x10, 0x00, 0x00, 0x05,   /* 1100: mov byte [0x1082], 5 */
    0xF4,                                       /* 1107: hlt */
};

static void chain_setup(struct tm *t)
{
    flat32(t, false);
    tm_copy(t, 0x1080, chain_target, sizeof(chain_target));
    tm_copy(t, 0x1100, chain_patcher, sizeof(chain_patcher));
    tm_run(t, chain_code, sizeof(chain_code), 100);
    rerun(t, CODE, 100);
}

/*
 * A jump to another page, run until it is chained (behind its TLB check),
 * then the target's linear page remapped to other code: the chain must
 * not be followed.
 */
static void cross_page_run(struct tm *t, uint32_t *eax)
{
    flat32(t, true);
    const uint8_t code[] = {
        0xB8, 0x01, 0x00, 0x00, 0x00,   /* 1000: mov eax, 1 */
        0xE9, 0xFB, 0x0F, 0x00, 0x00,   /* 1005: jmp 2005 */
    };
    const uint8_t page_b[] = { 0x83, 0xC0, 0x0A, 0xF4 };    /* 2005: add eax, 10; hlt */
    const uint8_t page_c[] = { 0x83, 0xC0, 0x14, 0xF4 };    /* 5005: add eax, 20; hlt */
    tm_copy(t, 0x2005, page_b, sizeof(page_b));
    tm_copy(t, 0x5005, page_c, sizeof(page_c));
    tm_run(t, code, sizeof(code), 100);
    eax[0] = t->cpu->r[R_EAX];
    for (int i = 1; i < 4; i++) {
        rerun(t, CODE, 100);
        eax[i] = t->cpu->r[R_EAX];
    }
    tm_put(t, PT + 4 * 2, 0x5000u | 0x7, 4);    /* linear 2000 -> physical 5000 */
    mmu_flush(t->cpu, false);                    /* as a CR3 load would */
    rerun(t, CODE, 100);
    eax[4] = t->cpu->r[R_EAX];
}

Test(jit, remapping_the_target_page_of_a_chained_cross_page_jump)
{
    struct tm j = jit_machine(), i = interp_machine();
    uint32_t ej[5], ei[5];
    cross_page_run(&j, ej);
    cross_page_run(&i, ei);
    expect_same(&j, &i);
    for (int n = 0; n < 4; n++) {
        cr_expect_eq(ej[n], 11u, "run %d", n);
    }
    cr_expect_eq(ej[4], 21u, "the remapped page's code ran");
    cr_expect_eq(ei[4], 21u);
    struct jit_block *from = block_at(&j, CODE);
    cr_assert(from, "the jumping block is translated");
    cr_expect(from->exits[0].guard != NULL, "a cross-page exit has a guard");
    cr_expect(from->exits[0].to != NULL, "and is chained");
    cr_expect_eq(from->exits[0].to->key.phys, 0x2005u,
                 "still to the first mapping's block: its guard sent the last run elsewhere");
    tm_free(&j);
    tm_free(&i);
}

static void chain_patch_and_rerun(struct tm *t)
{
    rerun(t, 0x1100, 100);
    rerun(t, CODE, 100);
}

Test(jit, patching_the_target_of_a_chained_jump)
{
    struct tm j = jit_machine(), i = interp_machine();
    chain_setup(&j);
    chain_setup(&i);
    expect_same(&j, &i);
    cr_expect_eq(j.cpu->r[R_EBX], 2);
    struct jit_block *from = block_at(&j, CODE), *to = block_at(&j, 0x1080);
    cr_assert(from && to, "both blocks translated");
    cr_expect_eq(from->exits[1].to, to, "the taken jump is chained to its target");

    chain_patch_and_rerun(&j);
    chain_patch_and_rerun(&i);
    expect_same(&j, &i);
    cr_expect_eq(j.cpu->r[R_EAX], 3);
    cr_expect_eq(j.cpu->r[R_EBX], 2 + 5, "the chain led to the new code");
    tm_free(&j);
    tm_free(&i);
}

/* A device (DMA) writes translated code between two runs. */
static void dma_between_runs(struct tm *t)
{
    flat32(t, false);
    const uint8_t code[] = {
        0xB8, 0x05, 0x00, 0x00, 0x00,   /* 1000: mov eax, 5 */
        0x01, 0xC3,                     /* 1005: add ebx, eax */
        0xF4,                           /* 1007: hlt */
    };
    tm_run(t, code, sizeof(code), 100);
    const uint8_t imm = 9;
    bus_write_buf(t->bus, 0x1001, &imm, 1);
    rerun(t, CODE, 100);
}

Test(jit, bus_write_buf_into_translated_code)
{
    struct tm j = jit_machine(), i = interp_machine();
    dma_between_runs(&j);
    dma_between_runs(&i);
    expect_same(&j, &i);
    cr_expect_eq(j.cpu->r[R_EBX], 5 + 9);
    cr_expect_eq(jit_of(&j)->n_invalidated, 1);
    tm_free(&j);
    tm_free(&i);
}

/*
 * A ROM mapped over a window of RAM that held translated code, then
 * unmapped: each time the window's code runs as it now reads, while the
 * block outside the window stays translated (no flush).
 */
static void remap_runs(struct tm *t, uint8_t *rom, uint32_t ecx[3])
{
    flat32(t, false);
    const uint8_t code[] = {
        0x43,                                   /* 1000: inc ebx */
        0xE9, 0xFA, 0x6F, 0x00, 0x00,           /* 1001: jmp 8000 */
    };
    const uint8_t ram_code[] = { 0xB9, 0x01, 0x00, 0x00, 0x00, 0xF4 };  /* mov ecx, 1; hlt */
    const uint8_t rom_code[] = { 0xB9, 0x02, 0x00, 0x00, 0x00, 0xF4 };  /* mov ecx, 2; hlt */
    tm_copy(t, CODE, code, sizeof(code));
    tm_copy(t, 0x8000, ram_code, sizeof(ram_code));
    memcpy(rom, rom_code, sizeof(rom_code));
    for (int n = 0; n < 3; n++) {
        if (n == 1) {
            cr_assert_eq(bus_map_rom(t->bus, 0x8000, 0x1000, rom), 0);
        } else if (n == 2) {
            bus_unmap(t->bus, 0x8000);
        }
        rerun(t, CODE, 100);
        rerun(t, CODE, 100);
        ecx[n] = t->cpu->r[R_ECX];
    }
}

Test(jit, a_remapped_window_drops_its_blocks_and_keeps_the_others)
{
    static uint8_t rom_j[0x1000], rom_i[0x1000];
    struct tm j = jit_machine(), i = interp_machine();
    uint32_t ej[3], ei[3];
    remap_runs(&j, rom_j, ej);
    remap_runs(&i, rom_i, ei);
    expect_same(&j, &i);
    for (int n = 0; n < 3; n++) {
        cr_expect_eq(ej[n], n == 1 ? 2u : 1u, "run %d: the window's code as it reads now", n);
        cr_expect_eq(ej[n], ei[n]);
    }
    struct jit *jj = jit_of(&j);
    cr_expect_eq(jj->n_flushes, 0, "no flush");
    cr_expect_geq(jj->n_invalidated, 2, "the window's blocks went, at the map and the unmap");
    struct jit_block *b = block_at(&j, CODE);
    cr_expect(b && b == &jj->blocks[2], "the block at 1000 is the one translated first");
    tm_free(&j);
    tm_free(&i);
}

/* An MMIO register whose write makes the device DMA new bytes into code. */
struct patcher {
    struct bus *bus;
    uint32_t at;
    uint8_t byte;
};

static uint32_t patcher_read(void *opaque, uint32_t off, int size)
{
    return 0;
}

static void patcher_write(void *opaque, uint32_t off, uint32_t val, int size)
{
    struct patcher *p = opaque;
    bus_write_buf(p->bus, p->at, &p->byte, 1);
}

static const struct io_ops patcher_ops = { patcher_read, patcher_write, 7 };

static void dma_inside_block(struct tm *t, struct patcher *p)
{
    flat32(t, false);
    *p = (struct patcher){ t->bus, 0x1007, 7 };
    cr_assert_eq(bus_map_mmio(t->bus, MMIO, 0x1000, &patcher_ops, p), 0);
    /* The new map flushes the TLB when the run starts: the NOP refills it. */
    const uint8_t code[] = {
        0x90,                           /* 1000: nop */
        0xA3, 0x00, 0x00, 0x1F, 0x00,   /* 1001: mov [0x1F0000], eax */
        0xB3, 0x01,                     /* 1006: mov bl, imm8 (the device makes it 7) */
        0xF4,                           /* 1008: hlt */
    };
    tm_run(t, code, sizeof(code), 100);
}

Test(jit, device_write_from_a_store_inside_the_block)
{
    struct tm j = jit_machine(), i = interp_machine();
    struct patcher pj, pi;
    dma_inside_block(&j, &pj);
    dma_inside_block(&i, &pi);
    expect_same(&j, &i);
    cr_expect_eq(j.cpu->r[R_EBX], 7);
    cr_expect_eq(j.cpu->eip, 0x1009);
    cr_expect_eq(jit_of(&j)->n_invalidated, 1, "the block from 1001 ran and was dropped");
    tm_free(&j);
    tm_free(&i);
}

/*
 * A CALL whose push lands on translated code (a stack that shares a page
 * with code: the push kills the block there and stops the chain) must
 * still go on at its target, with the return address pushed once.
 */
static void call_push_into_code(struct tm *t)
{
    flat32(t, false);
    tm_put(t, 0x17FC, 0xC343, 2);               /* 17fc: inc ebx; ret */
    tm_put(t, 0x1100, 0x000007B9, 4);           /* 1100: mov ecx, 7 */
    tm_put(t, 0x1104, 0xF400, 2);               /*       (imm's last byte); hlt */
    const uint8_t code[] = {
        0xBC, 0x00, 0x20, 0x00, 0x00,           /* 1000: mov esp, 0x2000 */
        0xE8, 0xF2, 0x07, 0x00, 0x00,           /* 1005: call 17fc (translates it) */
        0xBC, 0x00, 0x18, 0x00, 0x00,           /* 100a: mov esp, 0x1800 */
        0xE8, 0xEC, 0x00, 0x00, 0x00,           /* 100f: call 1100 (pushes over 17fc) */
        0xF4,                                   /* 1014: hlt (not reached) */
    };
    tm_run(t, code, sizeof(code), 100);
}

Test(jit, a_call_whose_push_kills_a_block_goes_on_at_its_target)
{
    struct tm j = jit_machine(), i = interp_machine();
    call_push_into_code(&j);
    call_push_into_code(&i);
    expect_same(&j, &i);
    cr_expect_eq(j.cpu->r[R_EBX], 1, "the first call ran 17fc");
    cr_expect_eq(j.cpu->r[R_ECX], 7, "the second call ran its target");
    cr_expect_eq(j.cpu->eip, 0x1106);
    cr_expect_eq(j.cpu->r[R_ESP], 0x17FC);
    cr_expect_eq(tm_get(&j, 0x17FC, 4), 0x1014, "the return address");
    cr_expect_geq(jit_of(&j)->n_invalidated, 1, "the push killed the block at 17fc");
    tm_free(&j);
    tm_free(&i);
}

/*
 * With room for two blocks, translating the third flushes the cache while
 * the loop holds the unchained exit of the second: that exit (whose code
 * the third block's now overwrites) must not be chained.
 */
static void flush_between_exit_and_chain(struct tm *t, bool jit)
{
    flat32(t, false);
    if (jit) {
        jit_of(t)->max_blocks = 2;
    }
    uint8_t c3[40 * 3 + 6];
    for (int n = 0; n < 40; n++) {
        memcpy(c3 + 3 * n, "\x83\xC0\x01", 3);   /* add eax, 1 */
    }
    memcpy(c3 + 120, "\x89\xC3\xF4", 3);          /* mov ebx, eax; hlt */
    memcpy(tm_ram(t, 0x1200), c3, 123);
    tm_notify(t, 0x1200, 123);
    const uint8_t b2[] = { 0x83, 0xC0, 0x01, 0x83, 0xF8, 0x64, 0x0F, 0x85, 0xF4, 0x00, 0x00, 0x00 };
    memcpy(tm_ram(t, 0x1100), b2, sizeof(b2));      /* add eax, 1; cmp eax, 100; jne 1200 */
    tm_notify(t, 0x1100, sizeof(b2));
    const uint8_t code[] = {
        0x31, 0xC0,                             /* 1000: xor eax, eax */
        0x83, 0xF8, 0x01,                       /* 1002: cmp eax, 1 */
        0x0F, 0x85, 0xF5, 0x00, 0x00, 0x00,     /* 1005: jne 1100 */
    };
    tm_run(t, code, sizeof(code), 1000);
}

Test(jit, a_flush_between_an_exit_and_its_chaining)
{
    struct tm j = jit_machine(), i = interp_machine();
    flush_between_exit_and_chain(&j, true);
    flush_between_exit_and_chain(&i, false);
    expect_same(&j, &i);
    cr_expect_eq(j.cpu->r[R_EBX], 41);
    cr_expect_geq(jit_of(&j)->n_flushes, 1);
    tm_free(&j);
    tm_free(&i);
}

/*
 * A page that once ran code and now holds data: stores to it miss its one
 * block; after DATA_PAGE_MISSES (64) of them the block goes and the page's
 * write TLB entry is a fast one again.
 */
static void stores_to_a_former_code_page(struct tm *t)
{
    flat32(t, false);
    tm_put(t, 0x2000, 0xC3, 1);                 /* 2000: ret */
    const uint8_t code[] = {
        0xBC, 0x00, 0x80, 0x00, 0x00,           /* 1000: mov esp, 0x8000 */
        0xE8, 0xF6, 0x0F, 0x00, 0x00,           /* 1005: call 2000 (fills the fetch TLB) */
        0xE8, 0xF1, 0x0F, 0x00, 0x00,           /* 100a: call 2000 (translates it) */
        0xB9, 0x64, 0x00, 0x00, 0x00,           /* 100f: mov ecx, 100 */
        0x89, 0x0D, 0x00, 0x28, 0x00, 0x00,     /* 1014: mov [0x2800], ecx */
        0x49,                                   /* 101a: dec ecx */
        0x75, 0xF7,                             /* 101b: jnz 1014 */
        0xF4,                                   /* 101d: hlt */
    };
    tm_run(t, code, sizeof(code), 1000);
}

Test(jit, a_page_whose_stores_keep_missing_its_blocks_loses_them)
{
    struct tm j = jit_machine(), i = interp_machine();
    stores_to_a_former_code_page(&j);
    stores_to_a_former_code_page(&i);
    expect_same(&j, &i);
    cr_expect_eq(j.cpu->eip, 0x101e);
    cr_expect_eq(jit_of(&j)->n_invalidated, 1, "the block at 2000 went, nothing else: %llu", (unsigned long long)jit_of(&j)->n_invalidated);
    cr_expect_null(block_at(&j, 0x2000));
    const struct tlb_entry *e = &j.cpu->tlb[TLB_SLOT(0, TLB_WRITE, 0x2800u)];
    cr_expect_eq(e->tag, 0x2000u, "a fast write entry: tag %#x", e->tag);
    tm_free(&j);
    tm_free(&i);
}

/*
 * Seven live guest registers, more than the cache holds, around a memory
 * slow path (a TLB miss: a call) and then a page fault: every cached
 * register, callee-saved host registers among them, must come through
 * the call and be written back for the fault.
 */
static void seven_registers(struct tm *t, uint32_t addr)
{
    flat32(t, true);
    tm_put(t, 0x3000, 0x1000, 4);
    uint8_t code[] = {
        0xB8, 1, 0, 0, 0, 0xBB, 2, 0, 0, 0,     /* mov eax, 1; mov ebx, 2 */
        0xB9, 3, 0, 0, 0, 0xBA, 4, 0, 0, 0,     /* mov ecx, 3; mov edx, 4 */
        0xBE, 5, 0, 0, 0, 0xBF, 6, 0, 0, 0,     /* mov esi, 5; mov edi, 6 */
        0xBD, 7, 0, 0, 0,                       /* mov ebp, 7 */
        0x01, 0xD8, 0x01, 0xD1, 0x01, 0xFE,     /* add eax, ebx; add ecx, edx; add esi, edi */
        0x01, 0xC5,                             /* add ebp, eax */
        0x8B, 0x15, 0x00, 0x30, 0x00, 0x00,     /* mov edx, [0x3000] (a miss) */
        0x8B, 0x1D, 0x00, 0x30, 0x00, 0x00,     /* mov ebx, [addr] */
        0x01, 0xC8, 0x01, 0xF0, 0x01, 0xE8,     /* add eax, ecx; add eax, esi; add eax, ebp */
        0x01, 0xD0, 0x01, 0xF8, 0x01, 0xD8,     /* add eax, edx; add eax, edi; add eax, ebx */
        0xF4,                                   /* hlt */
    };
    memcpy(code + 51, &addr, 4);
    tm_run(t, code, sizeof(code), 100);
}

Test(jit, seven_live_registers_around_a_call_and_a_fault)
{
    for (int f = 0; f < 2; f++) {
        uint32_t addr = f ? 0x500000 : 0x3000;  /* beyond the identity map: #PF */
        struct tm j = jit_machine(), i = interp_machine();
        seven_registers(&j, addr);
        seven_registers(&i, addr);
        expect_same(&j, &i);
        if (f) {
            cr_expect_eq(j.cpu->cr2, 0x500000);
            cr_expect_eq(j.cpu->r[R_EBP], 10, "ebp written back before the fault");
        } else {
            cr_expect_eq(j.cpu->r[R_EAX], 3 + 7 + 11 + 10 + 0x1000 + 6 + 0x1000);
        }
        tm_free(&j);
        tm_free(&i);
    }
}

/* A device register that reads as the CPU's instruction count (the way a
 * timer under -icount sees it). */
static uint32_t counter_read(void *opaque, uint32_t off, int size)
{
    const struct cpu *cpu = opaque;
    return (uint32_t)cpu->icount;
}

static void counter_write(void *opaque, uint32_t off, uint32_t val, int size)
{
}

static const struct io_ops counter_ops = { counter_read, counter_write, 7 };

static void read_counter(struct tm *t)
{
    flat32(t, false);
    cr_assert_eq(bus_map_mmio(t->bus, MMIO, 0x1000, &counter_ops, t->cpu), 0);
    const uint8_t code[] = {
        0x90,                                   /* 1000: nop */
        0x90,                                   /* 1001: nop */
        0xA1, 0x00, 0x00, 0x1F, 0x00,           /* 1002: mov eax, [0x1F0000] */
        0x41,                                   /* 1007: inc ecx */
        0x8B, 0x15, 0x00, 0x00, 0x1F, 0x00,     /* 1008: mov edx, [0x1F0000] */
        0xBF, 0x03, 0x00, 0x00, 0x00,           /* 100e: mov edi, 3 */
        0x03, 0x35, 0x00, 0x00, 0x1F, 0x00,     /* 1013: add esi, [0x1F0000] */
        0x4F,                                   /* 1019: dec edi */
        0x75, 0xF7,                             /* 101a: jnz 1013 */
        0xF4,                                   /* 101c: hlt */
    };
    tm_run(t, code, sizeof(code), 100);
}

Test(jit, a_device_reads_the_exact_instruction_count)
{
    struct tm j = jit_machine(), i = interp_machine();
    read_counter(&j);
    read_counter(&i);
    expect_same(&j, &i);
    cr_expect_eq(j.cpu->r[R_EDX] - j.cpu->r[R_EAX], 2, "mov and inc retired between the reads");
    cr_expect_eq(j.cpu->r[R_ESI], 3 * j.cpu->r[R_EDX] + 2 + 5 + 8,
                 "the loop reads at +2, +5 and +8: esi %u, edx %u", j.cpu->r[R_ESI],
                 j.cpu->r[R_EDX]);
    tm_free(&j);
    tm_free(&i);
}

/*
 * Linear 0x300000 maps the code's physical page too.  The loop rewrites
 * its first instruction through the alias; then the same bytes run at the
 * alias, and rewrite themselves through the address they run at.
 */
static void alias(struct tm *t)
{
    flat32(t, true);
    tm_put(t, PT + 4 * 0x300, 0x1000 | 0x7, 4);
    const uint8_t code[] = {
        0x90,                                   /* 1000: nop (fills the fetch TLB) */
        0xB0, 0x00,                             /* 1001: mov al, imm8 (at 1002) */
        0xFE, 0x05, 0x02, 0x00, 0x30, 0x00,     /* 1003: inc byte [0x300002] */
        0x00, 0xC3,                             /* 1009: add bl, al */
        0x49,                                   /* 100B: dec ecx */
        0x75, 0xF3,                             /* 100C: jnz 1001 */
        0xF4,                                   /* 100E: hlt */
    };
    t->cpu->r[R_ECX] = 4;
    tm_run(t, code, sizeof(code), 1000);
    t->cpu->r[R_ECX] = 2;
    rerun(t, 0x300001, 1000);
}

Test(jit, write_through_a_second_linear_address)
{
    struct tm j = jit_machine(), i = interp_machine();
    alias(&j);
    alias(&i);
    expect_same(&j, &i);
    cr_expect_eq(j.cpu->r[R_EBX] & 0xFF, (0 + 1 + 2 + 3) + (4 + 5));
    cr_expect_eq(*tm_ram(&j, 0x1002), 6);
    cr_expect_eq(j.cpu->eip, 0x30000F);
    /* every pass that entered the loop's block translated (all but the
     * first at the alias, whose fetch missed the TLB) dropped it */
    cr_expect_geq(jit_of(&j)->n_invalidated, 4 + 1);
    tm_free(&j);
    tm_free(&i);
}

/* --- precise faults --- */

/*
 * nop; mov eax, 1; mov ebx, 2; <insn>; mov edx, 3; hlt -- the block from
 * 1001 faults at its third instruction (100B), whose handler is a HLT.
 */
static void fault_run(struct tm *t, const uint8_t *insn, size_t len)
{
    flat32(t, true);
    uint8_t code[32] = {
        0x90,                                   /* 1000: nop (fills the fetch TLB) */
        0xB8, 0x01, 0x00, 0x00, 0x00,           /* 1001: mov eax, 1 */
        0xBB, 0x02, 0x00, 0x00, 0x00,           /* 1006: mov ebx, 2 */
    };
    const uint8_t tail[] = { 0xBA, 0x03, 0x00, 0x00, 0x00, 0xF4 };
    memcpy(code + 11, insn, len);
    memcpy(code + 11 + len, tail, sizeof(tail));
    t->cpu->r[R_ECX] = 0;
    t->cpu->r[R_EDX] = 0x5A5A5A5A;
    tm_run(t, code, 11 + len + sizeof(tail), 100);
}

static void check_fault(const uint8_t *insn, size_t len, int vec, int err, uint32_t cr2)
{
    struct tm j = jit_machine(), i = interp_machine();
    fault_run(&j, insn, len);
    fault_run(&i, insn, len);
    expect_same(&j, &i);
    struct cpu *c = j.cpu;
    struct jit_block *b = block_at(&j, 0x1001);
    cr_assert(b, "the block was translated");
    cr_expect_geq(b->ninsn, 3);
    cr_expect_eq(c->eip, PM_HANDLER(vec) + 1, "the handler ran");
    cr_expect_eq(c->icount, 3 + 1, "nop, two movs, the handler's hlt");
    cr_expect_eq(c->r[R_EAX], 1);
    cr_expect_eq(c->r[R_EBX], 2);
    cr_expect_eq(c->r[R_EDX], 0x5A5A5A5A, "nothing after the fault ran");
    uint32_t sp = c->r[R_ESP];
    if (err >= 0) {
        cr_expect_eq(tm_get(&j, sp, 4), (uint32_t)err);
        sp += 4;
    }
    cr_expect_eq(tm_get(&j, sp, 4), 0x100B, "the faulting EIP");
    if (vec == EX_PF) {
        cr_expect_eq(c->cr2, cr2);
    }
    tm_free(&j);
    tm_free(&i);
}

Test(jit, page_fault_on_a_store_in_the_block)
{
    const uint8_t st[] = { 0x89, 0x0D, 0x00, 0x00, 0x30, 0x00 };    /* mov [0x300000], ecx */
    check_fault(st, sizeof(st), EX_PF, 0x2, 0x300000);
}

Test(jit, page_fault_on_the_load_of_a_read_modify_write)
{
    /* The destination is write-checked before it is read (as the CPU
     * does): a not-present page reports a write. */
    const uint8_t rmw[] = { 0x01, 0x05, 0x04, 0x00, 0x30, 0x00 };   /* add [0x300004], eax */
    check_fault(rmw, sizeof(rmw), EX_PF, 0x2, 0x300004);
}

Test(jit, divide_error_in_the_block)
{
    const uint8_t div[] = { 0xF7, 0xF1 };                           /* div ecx (0) */
    check_fault(div, sizeof(div), EX_DE, -1, 0);
}

/*
 * ROL by CL with CL = 0 changes no flag; a fault after it (whose flags a
 * later ADD would have replaced) must push the flags from before it.
 */
static void rol_cl0_fault_run(struct tm *t)
{
    flat32(t, true);
    const uint8_t code[] = {
        0x31, 0xC9,                             /* 1000: xor ecx, ecx */
        0xF8,                                   /* 1002: clc */
        0x83, 0xD0, 0x00,                       /* 1003: adc eax, 0 */
        0xF9,                                   /* 1006: stc */
        0xD3, 0xC0,                             /* 1007: rol eax, cl */
        0x8B, 0x15, 0x00, 0x00, 0x30, 0x00,     /* 1009: mov edx, [0x300000] (#PF) */
        0x83, 0xC0, 0x01,                       /* 100F: add eax, 1 */
        0xF4,                                   /* 1012: hlt */
    };
    tm_run(t, code, sizeof(code), 100);
}

Test(jit, fault_after_a_rotate_by_cl_of_zero_shows_the_flags_before_it)
{
    struct tm j = jit_machine(), i = interp_machine();
    rol_cl0_fault_run(&j);
    rol_cl0_fault_run(&i);
    expect_same(&j, &i);
    cr_expect_eq(j.cpu->eip, PM_HANDLER(EX_PF) + 1, "the #PF handler ran");
    uint32_t sp = j.cpu->r[R_ESP];
    cr_expect_eq(tm_get(&j, sp + 4, 4), 0x1009u, "the faulting EIP");
    cr_expect(tm_get(&j, sp + 12, 4) & F_CF, "CF from the STC, kept by the ROL by 0");
    tm_free(&j);
    tm_free(&i);
}

/*
 * A shift whose flags only a fault could see computes them in its slow
 * path (from the source kept in a host register); an INC/DEC after it
 * takes its CF from there.  The #PF handler must see the flags the
 * interpreter pushes.
 */
static void deferred_shift_fault_run(struct tm *t, const uint8_t *shift, size_t n)
{
    flat32(t, true);
    uint8_t code[64];
    size_t len = 0;
    const uint8_t head[] = {
        0xB8, 0x81, 0x00, 0x00, 0x80,           /* mov eax, 0x80000081 */
        0xB9, 0xFF, 0xFF, 0xFF, 0x7F,           /* mov ecx, 0x7FFFFFFF */
    };
    const uint8_t tail[] = {
        0x8B, 0x15, 0x00, 0x00, 0x30, 0x00,     /* mov edx, [0x300000] (#PF) */
        0x83, 0xC0, 0x01,                       /* add eax, 1 */
        0xF4,                                   /* hlt */
    };
    memcpy(code, head, sizeof(head));
    len += sizeof(head);
    memcpy(code + len, shift, n);
    len += n;
    memcpy(code + len, tail, sizeof(tail));
    len += sizeof(tail);
    tm_run(t, code, len, 100);
}

static uint32_t deferred_shift_flags(const uint8_t *shift, size_t n)
{
    struct tm j = jit_machine(), i = interp_machine();
    deferred_shift_fault_run(&j, shift, n);
    deferred_shift_fault_run(&i, shift, n);
    expect_same(&j, &i);
    cr_expect_eq(j.cpu->eip, PM_HANDLER(EX_PF) + 1, "the #PF handler ran");
    uint32_t flags = tm_get(&j, j.cpu->r[R_ESP] + 12, 4);
    tm_free(&j);
    tm_free(&i);
    return flags;
}

Test(jit, fault_after_a_shift_shows_its_flags)
{
    const uint8_t shr1[] = { 0xD1, 0xE8 };                  /* shr eax, 1 */
    uint32_t f = deferred_shift_flags(shr1, sizeof(shr1));
    cr_expect_eq(f & (F_CF | F_OF | F_ZF | F_SF), F_CF | F_OF, "SHR by 1: CF, OF = old MSB");
    const uint8_t shl[] = { 0xC1, 0xE0, 0x19 };             /* shl eax, 25 */
    f = deferred_shift_flags(shl, sizeof(shl));
    cr_expect_eq(f & (F_CF | F_ZF | F_SF), F_CF, "SHL by 25: bit 7 out last");
    const uint8_t sar[] = { 0xC1, 0xF8, 0x04 };             /* sar eax, 4 */
    f = deferred_shift_flags(sar, sizeof(sar));
    cr_expect_eq(f & (F_CF | F_OF | F_SF), F_SF, "SAR by 4: bit 3 out, the sign kept");
    const uint8_t shr16[] = { 0x66, 0xC1, 0xE8, 0x08 };     /* shr ax, 8 */
    f = deferred_shift_flags(shr16, sizeof(shr16));
    cr_expect_eq(f & (F_CF | F_ZF), F_CF | F_ZF, "SHR AX by 8: bit 7 out, 0 left");
    const uint8_t shl8[] = { 0xC0, 0xE4, 0x01 };            /* shl ah, 1 */
    f = deferred_shift_flags(shl8, sizeof(shl8));
    cr_expect_eq(f & (F_CF | F_ZF), F_ZF, "SHL AH (0) by 1");
    const uint8_t ror[] = { 0xC1, 0xC8, 0x01 };             /* ror eax, 1 */
    f = deferred_shift_flags(ror, sizeof(ror));
    cr_expect_eq(f & F_CF, F_CF, "ROR by 1: the old LSB to the top");
}

Test(jit, inc_after_a_shift_keeps_the_shifts_carry_at_a_fault)
{
    const uint8_t shr_inc[] = { 0xD1, 0xE8, 0x41 };         /* shr eax, 1; inc ecx */
    uint32_t f = deferred_shift_flags(shr_inc, sizeof(shr_inc));
    cr_expect_eq(f & (F_CF | F_OF | F_SF), F_CF | F_OF | F_SF, "CF from SHR, OF/SF from INC");
    const uint8_t shl_dec[] = { 0xC1, 0xE0, 0x02, 0x49 };   /* shl eax, 2; dec ecx */
    f = deferred_shift_flags(shl_dec, sizeof(shl_dec));
    cr_expect_eq(f & (F_CF | F_OF), 0, "SHL by 2 shifts a 0 out");
    const uint8_t rol_inc[] = { 0xC1, 0xC0, 0x01, 0x41 };   /* rol eax, 1; inc ecx */
    f = deferred_shift_flags(rol_inc, sizeof(rol_inc));
    cr_expect_eq(f & F_CF, F_CF, "ROL by 1: the old MSB to CF");
}

/* The same for a logic operation and an ADD/SUB of an immediate (their
 * result waits for a fault), and an INC/DEC after them. */
Test(jit, fault_after_an_alu_operation_shows_its_flags)
{
    const uint8_t and_[] = { 0x21, 0xC8 };                      /* and eax, ecx */
    uint32_t f = deferred_shift_flags(and_, sizeof(and_));
    cr_expect_eq(f & (F_CF | F_OF | F_ZF | F_SF), 0, "AND: 0x81, CF = OF = 0");
    const uint8_t add[] = { 0x83, 0xC0, 0x7F };                 /* add eax, 0x7f */
    f = deferred_shift_flags(add, sizeof(add));
    cr_expect_eq(f & (F_CF | F_OF | F_SF | F_AF), F_SF | F_AF, "ADD: 0x80000100");
    const uint8_t sub[] = { 0x2D, 0x82, 0x00, 0x00, 0x00 };     /* sub eax, 0x82 */
    f = deferred_shift_flags(sub, sizeof(sub));
    cr_expect_eq(f & (F_CF | F_OF | F_SF), F_OF, "SUB: 0x7fffffff, a signed overflow");
    const uint8_t borrow[] = { 0x2D, 0x00, 0x00, 0x00, 0x90 };  /* sub eax, 0x90000000 */
    f = deferred_shift_flags(borrow, sizeof(borrow));
    cr_expect_eq(f & (F_CF | F_SF), F_CF | F_SF, "SUB: a borrow");
    const uint8_t add_inc[] = { 0x05, 0x00, 0x00, 0x00, 0x80, 0x41 }; /* add eax, 1<<31; inc ecx */
    f = deferred_shift_flags(add_inc, sizeof(add_inc));
    cr_expect_eq(f & (F_CF | F_OF), F_CF | F_OF, "CF from the ADD, OF from the INC");
    const uint8_t sub_dec[] = { 0x2D, 0x00, 0x00, 0x00, 0x90, 0x49 }; /* sub; dec ecx */
    f = deferred_shift_flags(sub_dec, sizeof(sub_dec));
    cr_expect_eq(f & F_CF, F_CF, "CF from the SUB");
    const uint8_t add_dec[] = { 0x83, 0xC0, 0x7F, 0x49 };       /* add eax, 0x7f; dec ecx */
    f = deferred_shift_flags(add_dec, sizeof(add_dec));
    cr_expect_eq(f & F_CF, 0, "no carry out of the ADD");
    const uint8_t sub_inc[] = { 0x2D, 0x82, 0x00, 0x00, 0x00, 0x41 }; /* sub eax, 0x82; inc */
    f = deferred_shift_flags(sub_inc, sizeof(sub_inc));
    cr_expect_eq(f & F_CF, 0, "no borrow out of the SUB");
    /* the load's destination is cached and dirty when it faults: the
     * handler sees the value from before the load */
    const uint8_t edx_dirty[] = { 0x8D, 0x50, 0x05 };           /* lea edx, [eax+5] */
    deferred_shift_flags(edx_dirty, sizeof(edx_dirty));
    const uint8_t or_inc[] = { 0x09, 0xC8, 0x41 };              /* or eax, ecx; inc ecx */
    f = deferred_shift_flags(or_inc, sizeof(or_inc));
    cr_expect_eq(f & F_CF, 0, "CF from the OR");
}

/* Real mode: a word store at offset FFFF crosses the DS limit. */
static void real_fault(struct tm *t)
{
    tm_ivt_hlt(t, EX_GP, 0x5000);
    tm_ivt_hlt(t, EX_SS, 0x5000);
    const uint8_t code[] = {
        0xB8, 0x01, 0x00,           /* 1000: mov ax, 1 */
        0x43,                       /* 1003: inc bx */
        0x89, 0x06, 0xFF, 0xFF,     /* 1004: mov [0xFFFF], ax */
        0x41,                       /* 1008: inc cx */
        0xF4,                       /* 1009: hlt */
    };
    tm_run(t, code, sizeof(code), 100);
}

Test(jit, real_mode_limit_fault_in_the_block)
{
    struct tm j = jit_machine(), i = interp_machine();
    real_fault(&j);
    real_fault(&i);
    expect_same(&j, &i);
    cr_expect_eq(j.cpu->eip, 0x5001);
    cr_expect_eq(j.cpu->r[R_ECX], 0);
    cr_expect_eq(tm_get(&j, j.cpu->r[R_ESP], 2), 0x1004, "the faulting IP");
    cr_expect_neq(block_at(&j, CODE), NULL);
    tm_free(&j);
    tm_free(&i);
}

/* --- budgets --- */

Test(jit, cpu_run_retires_exactly_its_budget)
{
    struct tm j = jit_machine(), i = interp_machine();
    const uint8_t code[] = {
        0x40,                       /* 1000: inc eax */
        0x01, 0xC3,                 /* 1001: add ebx, eax */
        0x83, 0xC1, 0x03,           /* 1003: add ecx, 3 */
        0x31, 0xCA,                 /* 1006: xor edx, ecx */
        0xEB, 0xF6,                 /* 1008: jmp 1000 */
    };
    flat32(&j, false);
    flat32(&i, false);
    tm_copy(&j, CODE, code, sizeof(code));
    tm_copy(&i, CODE, code, sizeof(code));
    static const uint64_t big[] = { 97, 1000, 12345, 5, 4, 6 };
    for (uint64_t n = 1; n < 60 + sizeof(big) / sizeof(big[0]); n++) {
        uint64_t want = n < 60 ? n : big[n - 60];
        uint64_t before = j.cpu->icount;
        cr_assert_eq(cpu_run(j.cpu, want), want, "budget %llu", (unsigned long long)want);
        cr_assert_eq(j.cpu->icount - before, want);
        cpu_run(i.cpu, want);
        expect_same(&j, &i);
    }
    cr_expect_geq(jit_of(&j)->n_chained, 1);
    tm_free(&j);
    tm_free(&i);
}

/* --- interrupts --- */

static int ack_0x40(void *opaque)
{
    return 0x40;
}

static void intr_after_loop(struct tm *t)
{
    tm_ivt_hlt(t, 0x40, 0x5000);
    const uint8_t code[] = {
        0x40,           /* 1000: inc ax */
        0xEB, 0xFD,     /* 1001: jmp 1000 */
    };
    tm_run(t, code, sizeof(code), 1000);
    t->cpu->eflags |= F_IF;
    t->cpu->intr_ack = ack_0x40;
    cpu_set_intr(t->cpu, true);
    cpu_run(t->cpu, 1000);
}

Test(jit, pending_interrupt_is_taken_before_the_next_block)
{
    struct tm j = jit_machine(), i = interp_machine();
    intr_after_loop(&j);
    intr_after_loop(&i);
    expect_same(&j, &i);
    cr_expect_eq(j.cpu->r[R_EAX], 500, "no block ran after the request");
    cr_expect_eq(j.cpu->eip, 0x5001);
    cr_expect_eq(tm_get(&j, j.cpu->r[R_ESP], 2), CODE);
    cr_expect_eq(j.cpu->icount, 1001);
    tm_free(&j);
    tm_free(&i);
}

/* CLI and POPF stay inside blocks; a POPF that sets IF with INTR raised
 * lets the interrupt in before the next instruction. */
static void intr_at_popf(struct tm *t)
{
    tm_ivt_hlt(t, 0x40, 0x5000);
    const uint8_t code[] = {
        0xFA,               /* 1000: cli */
        0x40,               /* 1001: inc ax */
        0x68, 0x02, 0x02,   /* 1002: push 0x0202 (IF) */
        0x9D,               /* 1005: popf */
        0x43,               /* 1006: inc bx */
        0xF4,               /* 1007: hlt */
    };
    t->cpu->intr_ack = ack_0x40;
    cpu_set_intr(t->cpu, true);
    tm_run(t, code, sizeof(code), 100);
}

Test(jit, popf_setting_if_lets_a_waiting_interrupt_in_at_once)
{
    struct tm j = jit_machine(), i = interp_machine();
    intr_at_popf(&j);
    intr_at_popf(&i);
    expect_same(&j, &i);
    cr_expect_eq(j.cpu->r[R_EAX] & 0xFFFF, 1);
    cr_expect_eq(j.cpu->r[R_EBX] & 0xFFFF, 0, "nothing ran between POPF and the interrupt");
    cr_expect_eq(j.cpu->eip, 0x5001);
    cr_expect_eq(tm_get(&j, j.cpu->r[R_ESP], 2), 0x1006, "the return address is after POPF");
    struct jit_block *b = block_at(&j, CODE);
    cr_assert(b, "the block was translated");
    cr_expect_geq(b->ninsn, 5, "CLI and POPF did not end it");
    tm_free(&j);
    tm_free(&i);
}

/* A device that raises the interrupt line when it is written 5. */
static uint32_t raiser_read(void *opaque, uint32_t off, int size)
{
    return 0;
}

static void raiser_write(void *opaque, uint32_t off, uint32_t val, int size)
{
    if (val == 5) {
        cpu_set_intr(opaque, true);
    }
}

static const struct io_ops raiser_ops = { raiser_read, raiser_write, 7 };

Test(jit, interrupt_raised_by_a_store_stops_the_chain)
{
    struct tm t = jit_machine();
    flat32(&t, false);
    pm_idt_gate(&t, 0x40, PM_CODE0, 0x9000, 0x8E);
    tm_put(&t, 0x9000, 0xF4, 1);
    cr_assert_eq(bus_map_mmio(t.bus, MMIO, 0x1000, &raiser_ops, t.cpu), 0);
    t.cpu->eflags |= F_IF;
    t.cpu->intr_ack = ack_0x40;
    const uint8_t code[] = {
        0x40,                           /* 1000: inc eax */
        0xA3, 0x00, 0x00, 0x1F, 0x00,   /* 1001: mov [0x1F0000], eax */
        0x43,                           /* 1006: inc ebx */
        0xEB, 0xF7,                     /* 1007: jmp 1000 */
    };
    tm_run(&t, code, sizeof(code), 100000);
    cr_expect_eq(t.cpu->eip, 0x9001, "the handler ran");
    cr_expect_eq(t.cpu->r[R_EAX], 5, "no block started after the request");
    /* The interpreter takes it after the store; a block may finish first. */
    uint32_t ret = tm_get(&t, t.cpu->r[R_ESP], 4), ebx = t.cpu->r[R_EBX];
    cr_expect((ebx == 4 && ret == 0x1006) || (ebx == 5 && ret == CODE),
              "ebx %u, return address %#x", ebx, ret);
    cr_expect_geq(jit_of(&t)->n_translated, 1);
    tm_free(&t);
}

/* --- block size --- */

static const uint8_t straight[] = {
    0xB8, 0x10, 0x00, 0x00, 0x00,   /* 1000: mov eax, 0x10 */
    0x01, 0xC3,                     /* 1005: add ebx, eax */
    0x43,                           /* 1007: inc ebx */
    0xD1, 0xE3,                     /* 1008: shl ebx, 1 */
    0x29, 0xD9,                     /* 100A: sub ecx, ebx */
    0x0F, 0xAF, 0xC1,               /* 100C: imul eax, ecx */
    0xF4,                           /* 100F: hlt */
};

static void straight_run(struct tm *t)
{
    flat32(t, false);
    tm_run(t, straight, sizeof(straight), 100);
}

Test(jit, block_limit_one_translates_each_instruction_alone)
{
    struct tm j = jit_machine(), i = interp_machine();
    jit_set_block_limit(j.cpu, 1);
    straight_run(&j);
    straight_run(&i);
    expect_same(&j, &i);
    struct jit *jj = jit_of(&j);
    cr_expect_eq(jj->n_translated, 7);
    cr_expect_eq(jj->nblocks, 7);
    for (unsigned k = 0; k < jj->nblocks; k++) {
        cr_expect_eq(jj->blocks[k].ninsn, 1, "block %u", k);
    }
    /* one budget of one instruction runs one translated block */
    rerun(&j, CODE, 1);
    cr_expect_eq(j.cpu->eip, 0x1005);
    cr_expect_eq(j.cpu->icount, 8);

    jit_set_block_limit(j.cpu, 100);
    cr_expect_eq(jj->nblocks, 0, "changing the limit drops the blocks");
    rerun(&j, CODE, 100);
    rerun(&i, CODE, 1);
    rerun(&i, CODE, 100);
    expect_same(&j, &i);
    struct jit_block *b = block_at(&j, CODE);
    cr_assert(b);
    cr_expect_eq(b->ninsn, 7);
    tm_free(&j);
    tm_free(&i);
}

#endif /* CONFIG_JIT */

/* --- followed jumps and loops --- */

/* A forward JMP within the page does not end the block: one block runs on at its target. */
static void followed_run(struct tm *t)
{
    flat32(t, false);
    const uint8_t code[] = {
        0x40,                       /* 1000: inc eax */
        0xEB, 0x10,                 /* 1001: jmp 1013 */
    };
    const uint8_t target[] = {
        0x83, 0xC3, 0x07,           /* 1013: add ebx, 7 (the imm8 at 1015) */
        0xEB, 0x02,                 /* 1016: jmp 101a */
        0x0F, 0x0B,                 /* 1018: ud2 (skipped) */
        0x01, 0xD8,                 /* 101A: add eax, ebx */
        0xF4,                       /* 101C: hlt */
    };
    tm_copy(t, 0x1013, target, sizeof(target));
    tm_run(t, code, sizeof(code), 100);
}

Test(jit, a_forward_jump_in_the_page_continues_the_block)
{
    struct tm j = jit_machine(), i = interp_machine();
    followed_run(&j);
    followed_run(&i);
    expect_same(&j, &i);
    cr_expect_eq(j.cpu->r[R_EAX], 8);
    struct jit_block *b = block_at(&j, CODE);
    cr_assert(b, "translated");
    cr_expect_eq(b->ninsn, 6, "through both jumps to the HLT");
    cr_expect_eq(block_at(&j, 0x1013), NULL, "no block of its own at the target");
    /* patch the followed code: the block goes, the new code runs */
    tm_put(&j, 0x1015, 9, 1);
    tm_put(&i, 0x1015, 9, 1);
    rerun(&j, CODE, 100);
    rerun(&i, CODE, 100);
    expect_same(&j, &i);
    cr_expect_eq(j.cpu->r[R_EBX], 7 + 9);
    tm_free(&j);
    tm_free(&i);
}

/*
 * A loop that uses more guest registers than the cache has slots, with a
 * fault in its 40th iteration: every budget stops it where the
 * interpreter stops, and the fault shows the registers of that iteration.
 */
static const uint8_t loop_code[] = {
    0x01, 0xC8,                         /* 1000: add eax, ecx */
    0x31, 0xC3,                         /* 1002: xor ebx, eax */
    0x8D, 0x14, 0x0A,                   /* 1004: lea edx, [edx+ecx] */
    0x89, 0x0C, 0xBD, 0x60, 0xFB, 0x1F, 0x00,   /* 1007: mov [edi*4+0x1FFB60], ecx */
    0x01, 0xEE,                         /* 100E: add esi, ebp */
    0x47,                               /* 1010: inc edi */
    0x45,                               /* 1011: inc ebp */
    0x49,                               /* 1012: dec ecx */
    0x75, 0xEB,                         /* 1013: jnz 1000 */
    0xF4,                               /* 1015: hlt */
};

/* EDI = 0x100 stores at 0x1FFF60: the 40th iteration reaches the unmapped 2 MiB. */
static void loop_start(struct tm *t, uint32_t ecx, uint32_t edi)
{
    flat32(t, true);
    tm_copy(t, CODE, loop_code, sizeof(loop_code));
    t->cpu->eip = CODE;
    t->cpu->r[R_ECX] = ecx;
    t->cpu->r[R_EDI] = edi;
}

Test(jit, a_loop_block_keeps_registers_and_stops_on_its_budget)
{
    struct tm j = jit_machine(), i = interp_machine();
    loop_start(&j, 5000, 0xFFFC0128u);     /* stores from 0x100000 */
    loop_start(&i, 5000, 0xFFFC0128u);
    static const uint64_t budgets[] = { 1, 9, 10, 11, 97, 1000, 3, 12345, 50000 };
    for (size_t n = 0; n < sizeof(budgets) / sizeof(budgets[0]); n++) {
        uint64_t before = j.cpu->icount;
        cpu_run(j.cpu, budgets[n]);
        cpu_run(i.cpu, budgets[n]);
        cr_expect_leq(j.cpu->icount - before, budgets[n]);
        expect_same(&j, &i);
    }
    cr_expect(j.cpu->halted, "ran to the HLT");
    cr_expect_eq(j.cpu->r[R_ECX], 0);
    struct jit_block *b = block_covering(&j, CODE);
    cr_assert(b, "translated");
    cr_expect_eq(b->ninsn, 9, "one loop iteration (from wherever a run began it)");
    tm_free(&j);
    tm_free(&i);
}

/*
 * Six registers, EAX used again last: the second translation's cache
 * ends the iteration in another arrangement than its head's, and the
 * back edge must move registers into place (through struct cpu).
 */
Test(jit, a_loop_whose_cache_ends_rearranged)
{
    const uint8_t code[] = {
        0x40,                   /* 1000: inc eax */
        0x43,                   /* 1001: inc ebx */
        0x42,                   /* 1002: inc edx */
        0x46,                   /* 1003: inc esi */
        0x47,                   /* 1004: inc edi */
        0x49,                   /* 1005: dec ecx */
        0x8D, 0x40, 0x02,       /* 1006: lea eax, [eax+2] */
        0x75, 0xF5,             /* 1009: jnz 1000 */
        0xF4,                   /* 100B: hlt */
    };
    struct tm j = jit_machine(), i = interp_machine();
    struct tm *both[2] = { &j, &i };
    for (int m = 0; m < 2; m++) {
        flat32(both[m], false);
        tm_copy(both[m], CODE, code, sizeof(code));
        both[m]->cpu->eip = CODE;
        both[m]->cpu->r[R_ECX] = 3000;
    }
    static const uint64_t budgets[] = { 5, 13, 200, 7, 4321, 100000 };
    for (size_t n = 0; n < sizeof(budgets) / sizeof(budgets[0]); n++) {
        cpu_run(j.cpu, budgets[n]);
        cpu_run(i.cpu, budgets[n]);
        expect_same(&j, &i);
    }
    cr_expect(j.cpu->halted, "ran to the HLT");
    cr_expect_eq(j.cpu->r[R_EAX], 3 * 3000);
    tm_free(&j);
    tm_free(&i);
}

Test(jit, a_fault_inside_a_loop_block_shows_that_iterations_registers)
{
    struct tm j = jit_machine(), i = interp_machine();
    loop_start(&j, 1000, 0x100);
    loop_start(&i, 1000, 0x100);
    cpu_run(j.cpu, 100000);
    cpu_run(i.cpu, 100000);
    expect_same(&j, &i);
    cr_expect_eq(j.cpu->eip, PM_HANDLER(EX_PF) + 1, "the #PF handler ran");
    cr_expect_eq(j.cpu->cr2, 0x200000u, "at the first page past the mapping");
    cr_expect_eq(j.cpu->r[R_EDI], 0x100 + 40, "in the 40th iteration");
    tm_free(&j);
    tm_free(&i);
}

/* A followed JMP whose target straddles the page's end ends the block: it leaves to the target. */
static void followed_to_page_end_run(struct tm *t)
{
    flat32(t, false);
    const uint8_t code[] = {
        0x40,                       /* 1000: inc eax */
        0xE9, 0xF7, 0x0F, 0x00, 0x00,   /* 1001: jmp 1ffd */
    };
    const uint8_t target[] = {
        0x05, 0x10, 0x00, 0x00, 0x00,   /* 1FFD: add eax, 0x10 (across the page's end) */
        0xF4,                       /* 2002: hlt */
    };
    tm_copy(t, 0x1FFD, target, sizeof(target));
    tm_run(t, code, sizeof(code), 100);
}

Test(jit, a_followed_jump_to_an_instruction_across_the_page_end)
{
    struct tm j = jit_machine(), i = interp_machine();
    followed_to_page_end_run(&j);
    followed_to_page_end_run(&i);
    expect_same(&j, &i);
    cr_expect_eq(j.cpu->r[R_EAX], 0x11);
    cr_expect_eq(j.cpu->eip, 0x2003);
    tm_free(&j);
    tm_free(&i);
}

/*
 * ZF, SF and PF after a shift, INC/DEC or IMUL come from the stored result
 * (as after a logic operation); CF and OF do not.  Each producer is
 * followed by SETcc and a Jcc on them.
 */
static void zsp_run(struct tm *t)
{
    flat32(t, false);
    const uint8_t code[] = {
        0xBB, 0x02, 0x00, 0x00, 0x80,   /* 1000: mov ebx, 0x80000002 */
        0xD1, 0xEB,                     /* 1005: shr ebx, 1 (0x40000001) */
        0x0F, 0x94, 0xC0,               /* 1007: setz al */
        0x0F, 0x9A, 0xC4,               /* 100A: setp ah */
        0xC1, 0xE3, 0x02,               /* 100D: shl ebx, 2 (4) */
        0x0F, 0x98, 0xC1,               /* 1010: sets cl */
        0x75, 0x01,                     /* 1013: jnz 1016 (taken) */
        0x46,                           /* 1015: inc esi */
        0xC0, 0xEB, 0x03,               /* 1016: shr bl, 3 (0) */
        0x0F, 0x94, 0xC5,               /* 1019: setz ch */
        0x75, 0x01,                     /* 101C: jnz 101f (not taken) */
        0x47,                           /* 101E: inc edi */
        0x4B,                           /* 101F: dec ebx (-1) */
        0x0F, 0x98, 0xC2,               /* 1020: sets dl */
        0x0F, 0x9B, 0xC6,               /* 1023: setnp dh */
        0x79, 0x01,                     /* 1026: jns 1029 (not taken) */
        0x45,                           /* 1028: inc ebp */
        0x43,                           /* 1029: inc ebx (0) */
        0x74, 0x01,                     /* 102A: jz 102d (taken) */
        0x46,                           /* 102C: inc esi */
        0x0F, 0xAF, 0xDB,               /* 102D: imul ebx, ebx (0) */
        0x0F, 0x95, 0xC3,               /* 1030: setnz bl */
        0xF4,                           /* 1033: hlt */
    };
    tm_run(t, code, sizeof(code), 100);
}

Test(jit, zf_sf_pf_after_shifts_inc_dec_and_imul_from_the_result)
{
    struct tm j = jit_machine(), i = interp_machine();
    zsp_run(&j);
    zsp_run(&i);
    expect_same(&j, &i);
    cr_expect_eq(j.cpu->r[R_EAX] & 0xFFFF, 0x0000, "ZF 0, PF 0 after the SHR");
    cr_expect_eq(j.cpu->r[R_ECX] & 0xFFFF, 0x0100, "SF 0 after the SHL; ZF after SHR BL");
    cr_expect_eq(j.cpu->r[R_EDX] & 0xFFFF, 0x0001, "SF 1, PF 1 after the DEC");
    cr_expect_eq(j.cpu->r[R_ESI] + j.cpu->r[R_EDI] + j.cpu->r[R_EBP], 2, "JNZ, JNS, JZ");
    tm_free(&j);
    tm_free(&i);
}
