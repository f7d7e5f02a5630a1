/*
 * What the translator plans over a whole block:
 *   - blocks that go on through conditional branches: a Jcc inside a
 *     block leaves by a side exit one way and goes on the other (a
 *     backward branch taken, a forward one not), so a block may hold code
 *     before its first instruction and loop through several back edges;
 *   - accesses through the same base registers sharing one TLB lookup of
 *     their whole span: a span across two pages, into an unmapped page,
 *     or a base changed between them must still reach the right bytes and
 *     fault exactly.
 * Each test runs a machine with the JIT and an interpreting twin and
 * compares their whole state (jit_tm.h).
 */
#include <criterion/criterion.h>

#include "config.h"

#ifdef CONFIG_JIT

#include "jit_tm.h"

/* Run both machines for each budget in turn, comparing after each run. */
static void run_pair(struct tm *j, struct tm *i, const uint64_t *budgets, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        cpu_run(j->cpu, budgets[k]);
        cpu_run(i->cpu, budgets[k]);
        expect_same(j, i);
    }
}

/* `code` at CODE, run from `eip`; the fetch TLB knows the page already
 * (as after an earlier instruction there), so translated code runs from
 * the first instruction. */
static void code_at(struct tm *t, uint32_t eip, const uint8_t *code, size_t len)
{
    flat32(t, false);
    tm_copy(t, CODE, code, len);
    t->cpu->eip = eip;
    (void)cpu_fetch8(t->cpu, eip);
}

/*
 * cmp; jae over two INCs: the block goes on past the JAE (a forward branch:
 * predicted not taken) to the HLT; taken, it leaves by its side exit.
 */
static const uint8_t forward_code[] = {
    0x83, 0xF8, 0x05,       /* 1000: cmp eax, 5 */
    0x73, 0x02,             /* 1003: jae 1007 */
    0x43,                   /* 1005: inc ebx */
    0x42,                   /* 1006: inc edx */
    0x41,                   /* 1007: inc ecx */
    0xF4,                   /* 1008: hlt */
};

Test(jit_trace, a_block_goes_on_past_a_forward_jcc_and_leaves_by_its_side_exit)
{
    for (uint32_t eax = 3; eax <= 7; eax += 4) {
        struct tm j = jit_machine(), i = interp_machine();
        code_at(&j, CODE, forward_code, sizeof(forward_code));
        code_at(&i, CODE, forward_code, sizeof(forward_code));
        j.cpu->r[R_EAX] = i.cpu->r[R_EAX] = eax;
        const uint64_t budget[] = { 100 };
        run_pair(&j, &i, budget, 1);
        cr_expect(j.cpu->halted);
        cr_expect_eq(j.cpu->r[R_EBX], eax < 5 ? 1u : 0u);
        struct jit_block *b = block_at(&j, CODE);
        cr_assert(b, "translated");
        cr_expect_eq(b->ninsn, 6, "cmp, jae, inc, inc, inc, hlt in one block");
        cr_expect_eq(block_at(&j, 0x1007) != NULL, eax >= 5,
                     "the side exit's target is a block of its own once taken");
        tm_free(&j);
        tm_free(&i);
    }
}

/*
 * Entered at the DEC: the JNZ back to 1000 (before the block's start) is
 * followed, and the ADD there leads back to the start: one loop block
 * spanning 1000-1005.  A write to its first byte, before its entry,
 * kills it.
 */
static const uint8_t before_start_code[] = {
    0x01, 0xD8,             /* 1000: add eax, ebx */
    0x49,                   /* 1002: dec ecx */
    0x75, 0xFB,             /* 1003: jnz 1000 */
    0xF4,                   /* 1005: hlt */
};

Test(jit_trace, a_backward_jcc_takes_code_before_the_start_into_the_block)
{
    struct tm j = jit_machine(), i = interp_machine();
    struct tm *both[2] = { &j, &i };
    for (int m = 0; m < 2; m++) {
        code_at(both[m], 0x1002, before_start_code, sizeof(before_start_code));
        both[m]->cpu->r[R_ECX] = 500;
        both[m]->cpu->r[R_EBX] = 3;
    }
    const uint64_t budgets[] = { 2, 10, 31, 100000 };
    run_pair(&j, &i, budgets, 4);
    cr_expect(j.cpu->halted);
    cr_expect_eq(j.cpu->r[R_EAX], 3u * 499);
    struct jit_block *b = block_at(&j, 0x1002);
    cr_assert(b, "translated from its entry");
    cr_expect_eq(b->ninsn, 3, "dec, jnz, add: one iteration");
    cr_expect_eq(b->lo_phys, 0x1000u, "its code starts before its entry");
    cr_expect_eq(b->end_phys, 0x1005u);
    for (int m = 0; m < 2; m++) {
        uint8_t sub = 0x29;     /* add eax, ebx -> sub eax, ebx */
        bus_write_buf(both[m]->bus, 0x1000, &sub, 1);
        both[m]->cpu->r[R_ECX] = 10;
    }
    cr_expect(!b->valid, "a write before its entry, inside its code, killed it");
    for (int m = 0; m < 2; m++) {
        rerun(both[m], 0x1002, 100000);
    }
    expect_same(&j, &i);
    cr_expect_eq(j.cpu->r[R_EAX], 3u * 499 - 3u * 9, "the new code ran");
    tm_free(&j);
    tm_free(&i);
}

/*
 * Two back edges: the JNZ (a side exit to the start) and the JMP at the
 * end.  EDI changes at the top of every iteration, but the register cache
 * at the JMP holds it clean (evicted, then read again), so the head's
 * arrangement must count it dirty: a run that ends at the JNZ's back edge
 * writes it back.
 */
static const uint8_t two_edges_code[] = {
    0x47,                   /* 1000: inc edi */
    0x49,                   /* 1001: dec ecx */
    0x74, 0x1C,             /* 1002: jz 1020 */
    0xF6, 0xC1, 0x01,       /* 1004: test cl, 1 */
    0x75, 0xF7,             /* 1007: jnz 1000 */
    0x01, 0xD8,             /* 1009: add eax, ebx */
    0x01, 0xF2,             /* 100b: add edx, esi */
    0x01, 0xC5,             /* 100d: add ebp, eax */
    0x89, 0xF8,             /* 100f: mov eax, edi */
    0xEB, 0xED,             /* 1011: jmp 1000 */
};

Test(jit_trace, a_loop_with_two_back_edges_writes_back_what_either_path_changed)
{
    struct tm j = jit_machine(), i = interp_machine();
    struct tm *both[2] = { &j, &i };
    for (int m = 0; m < 2; m++) {
        code_at(both[m], CODE, two_edges_code, sizeof(two_edges_code));
        tm_put(both[m], 0x1020, 0xF4, 1);      /* 1020: hlt */
        for (int r = 0; r < 8; r++) {
            if (r != R_ESP) {
                both[m]->cpu->r[r] = (uint32_t)r + 1;
            }
        }
        both[m]->cpu->r[R_ECX] = 2001;
    }
    const uint64_t budgets[] = { 1, 7, 8, 9, 10, 11, 13, 50, 97, 3, 1000, 5, 6, 4, 100000 };
    run_pair(&j, &i, budgets, sizeof(budgets) / sizeof(budgets[0]));
    cr_expect(j.cpu->halted, "ran to the HLT");
    cr_expect_eq(j.cpu->r[R_EDI], R_EDI + 1u + 2001u, "one INC per iteration");
    struct jit_block *b = block_covering(&j, 0x1009);
    cr_assert(b, "translated");
    cr_expect_geq(b->ninsn, 9, "the loop is one block");
    tm_free(&j);
    tm_free(&i);
}

/*
 * A block entered in the middle of a loop that is translated already
 * goes on only up to the branch back to that loop's block, and chains to
 * it: it does not become a second copy of the loop.
 */
static const uint8_t mid_loop_code[] = {
    0x01, 0xD8,             /* 1000: add eax, ebx */
    0x43,                   /* 1002: inc ebx */
    0x49,                   /* 1003: dec ecx */
    0x75, 0xFA,             /* 1004: jnz 1000 */
    0xF4,                   /* 1006: hlt */
};

Test(jit_trace, a_block_entered_mid_loop_chains_into_the_loop_block)
{
    struct tm j = jit_machine(), i = interp_machine();
    struct tm *both[2] = { &j, &i };
    for (int m = 0; m < 2; m++) {
        code_at(both[m], CODE, mid_loop_code, sizeof(mid_loop_code));
        both[m]->cpu->r[R_ECX] = 5;
    }
    const uint64_t budgets[] = { 100 };
    run_pair(&j, &i, budgets, 1);
    struct jit_block *loop = block_at(&j, CODE);
    cr_assert(loop, "the loop block");
    cr_expect_eq(loop->ninsn, 5, "add, inc, dec, jnz (its side exit: the back edge), hlt");
    for (int m = 0; m < 2; m++) {
        both[m]->cpu->r[R_ECX] = 300;
        rerun(both[m], 0x1002, 100000);     /* in at the INC */
    }
    expect_same(&j, &i);
    struct jit_block *b = block_at(&j, 0x1002);
    cr_assert(b, "translated from the middle");
    cr_expect_eq(b->ninsn, 4, "inc, dec, jnz, hlt: not round the loop again");
    bool chained = false;
    for (unsigned x = 0; x < b->nexits; x++) {
        chained |= b->exits[x].to == loop;
    }
    cr_expect(chained, "its JNZ is chained to the loop block");
    tm_free(&j);
    tm_free(&i);
}

/*
 * A run whose budget ends inside a block: cpu_run stops exactly there
 * (the interpreter runs the rest) unless the CPU may overrun, when the
 * block runs whole.
 */
Test(jit_trace, a_run_may_overrun_its_budget_by_one_block_only_when_allowed)
{
    struct tm j = jit_machine(), i = interp_machine();
    code_at(&j, CODE, forward_code, sizeof(forward_code));
    code_at(&i, CODE, forward_code, sizeof(forward_code));
    cpu_run(j.cpu, 3);
    cpu_run(i.cpu, 3);
    expect_same(&j, &i);
    cr_expect_eq(j.cpu->icount, 3, "exactly the budget");
    struct tm o = jit_machine();
    code_at(&o, CODE, forward_code, sizeof(forward_code));
    o.cpu->run_may_overrun = true;
    cpu_run(o.cpu, 3);
    cr_expect(o.cpu->halted, "the whole block ran");
    cr_expect_eq(o.cpu->icount, 6);
    cr_expect_eq(o.cpu->r[R_EBX], 1);
    cr_expect_eq(jit_of(&o)->n_entries, 1, "in translated code");
    tm_free(&j);
    tm_free(&i);
    tm_free(&o);
}

/* --- an instruction the page's end cuts --- */

/* A loop whose MOV runs from one page into the next. */
static void crossing_code(struct tm *t, bool paging, bool next_present)
{
    const uint8_t first[] = {
        0x41,                                   /* 1ff8: inc ecx */
        0x90, 0x90, 0x90, 0x90, 0x90,           /* 1ff9: nop x5 */
        0xB8, 0x78,                             /* 1ffe: mov eax, 0x12345678 ... */
    };
    const uint8_t second[] = {
        0x56, 0x34, 0x12,                       /* 2000: ... its last bytes */
        0x4A,                                   /* 2003: dec edx */
        0x75, 0xF2,                             /* 2004: jnz 1ff8 */
        0xF4,                                   /* 2006: hlt */
    };
    flat32(t, paging);
    if (paging && !next_present) {
        tm_put(t, PT + 4 * 2, 0, 4);            /* linear 2000 not present */
        mmu_flush(t->cpu, false);
    }
    tm_copy(t, 0x1FF8, first, sizeof(first));
    tm_copy(t, 0x2000, second, sizeof(second));
    t->cpu->r[R_ECX] = 0;
    t->cpu->r[R_EDX] = 200;
    t->cpu->eip = 0x1FF8;
    (void)cpu_fetch8(t->cpu, 0x1FF8);
}

Test(jit_trace, an_instruction_across_a_page_end_runs_from_the_block)
{
    struct tm j = jit_machine(), i = interp_machine();
    crossing_code(&j, false, true);
    crossing_code(&i, false, true);
    const uint64_t budgets[] = { 3, 50, 100000 };
    run_pair(&j, &i, budgets, 3);
    cr_expect(j.cpu->halted);
    cr_expect_eq(j.cpu->r[R_ECX], 200);
    cr_expect_eq(j.cpu->r[R_EAX], 0x12345678u);
    struct jit_block *b = block_at(&j, 0x1FF8);
    cr_assert(b, "a block up to the page's end");
    cr_expect_eq(b->ninsn, 7, "inc, five nops, and the MOV");
    cr_expect_leq(jit_of(&j)->n_entries, 8, "the loop stayed in translated code");
    tm_free(&j);
    tm_free(&i);
}

Test(jit_trace, an_instruction_across_a_page_end_faults_on_the_next_page)
{
    struct tm j = jit_machine(), i = interp_machine();
    crossing_code(&j, true, false);
    crossing_code(&i, true, false);
    const uint64_t budgets[] = { 100 };
    run_pair(&j, &i, budgets, 1);
    cr_expect_eq(j.cpu->eip, PM_HANDLER(EX_PF) + 1, "the #PF handler ran");
    cr_expect_eq(j.cpu->cr2, 0x2000u);
    cr_expect_eq(j.cpu->r[R_ECX], 1, "the INC before it ran");
    tm_free(&j);
    tm_free(&i);
}

/* --- shared TLB lookups --- */

#define PAGE_B 0x100000u    /* linear page B; B + 0x1000 maps elsewhere */
#define PHYS_NEXT 0x150000u

/* Paging on; linear B + 0x1000 -> physical PHYS_NEXT (or not present);
 * marker words on both pages. */
static void paged_code(struct tm *t, const uint8_t *code, size_t len, bool next_present)
{
    flat32(t, true);
    tm_put(t, PT + 4 * ((PAGE_B >> 12) + 1), next_present ? PHYS_NEXT | 0x7 : 0, 4);
    mmu_flush(t->cpu, false);
    tm_copy(t, CODE, code, len);
    for (uint32_t o = 0; o < 0x1000; o += 4) {
        tm_put(t, PAGE_B + o, 0xB0000000u + o, 4);
        tm_put(t, PHYS_NEXT + o, 0xC0000000u + o, 4);
        tm_put(t, PAGE_B + 0x1000 + o, 0xD0000000u + o, 4);    /* physical, not B + 0x1000 */
    }
    t->cpu->r[R_EBX] = PAGE_B;
    t->cpu->r[R_EDX] = 0;
    t->cpu->eip = CODE;
    (void)cpu_fetch8(t->cpu, CODE);
}

/* Run the code twice on both machines: the second run finds the TLB warm
 * (the first's lookups all missed), so the shared lookups hit. */
static void paged_pair(const uint8_t *code, size_t len, bool next_present, struct tm *j,
                       struct tm *i)
{
    *j = jit_machine();
    *i = interp_machine();
    paged_code(j, code, len, next_present);
    paged_code(i, code, len, next_present);
    const uint64_t budget[] = { 100 };
    run_pair(j, i, budget, 1);
    for (int m = 0; m < 2; m++) {
        struct tm *t = m ? i : j;
        t->cpu->r[R_EBX] = PAGE_B;
        t->cpu->r[R_EDX] = 0;
        rerun(t, CODE, 100);
    }
    expect_same(j, i);
}

/* Two loads 8 bytes apart across the page boundary: one lookup cannot
 * cover both; each reaches its own page's bytes. */
Test(jit_trace, accesses_sharing_a_base_across_a_page_boundary_read_their_own_pages)
{
    const uint8_t code[] = {
        0x8B, 0x83, 0xFC, 0x0F, 0x00, 0x00,     /* mov eax, [ebx+0xffc] */
        0x8B, 0x8B, 0x04, 0x10, 0x00, 0x00,     /* mov ecx, [ebx+0x1004] */
        0x03, 0x93, 0xF8, 0x0F, 0x00, 0x00,     /* add edx, [ebx+0xff8] */
        0x89, 0x83, 0x08, 0x10, 0x00, 0x00,     /* mov [ebx+0x1008], eax */
        0x89, 0x8B, 0x00, 0x0F, 0x00, 0x00,     /* mov [ebx+0xf00], ecx */
        0xF4,                                   /* hlt */
    };
    struct tm j, i;
    paged_pair(code, sizeof(code), true, &j, &i);
    cr_expect(j.cpu->halted);
    cr_expect_eq(j.cpu->r[R_EAX], 0xB0000FFCu);
    cr_expect_eq(j.cpu->r[R_ECX], 0xC0000004u, "from the page B + 0x1000 maps to");
    cr_expect_eq(j.cpu->r[R_EDX], 0xB0000FF8u);
    uint32_t stored;
    memcpy(&stored, j.bus->ram + PHYS_NEXT + 8, 4);
    cr_expect_eq(stored, 0xB0000FFCu);
    tm_free(&j);
    tm_free(&i);
}

/* The second access's page is not present: it faults (CR2, EIP, the first
 * load done) as the interpreter does. */
Test(jit_trace, an_access_sharing_a_base_with_one_before_faults_on_its_own_page)
{
    const uint8_t code[] = {
        0x8B, 0x83, 0x00, 0x0F, 0x00, 0x00,     /* mov eax, [ebx+0xf00] */
        0x8B, 0x8B, 0x00, 0x11, 0x00, 0x00,     /* mov ecx, [ebx+0x1100] */
        0xF4,                                   /* hlt */
    };
    struct tm j, i;
    paged_pair(code, sizeof(code), false, &j, &i);
    cr_expect_eq(j.cpu->eip, PM_HANDLER(EX_PF) + 1, "the #PF handler ran");
    cr_expect_eq(j.cpu->cr2, PAGE_B + 0x1100);
    cr_expect_eq(j.cpu->r[R_EAX], 0xB0000F00u);
    tm_free(&j);
    tm_free(&i);
}

/* The base changes between two accesses: the second is not the first's
 * page any more. */
Test(jit_trace, an_access_after_its_base_changed_looks_its_page_up)
{
    const uint8_t code[] = {
        0x8B, 0x43, 0x10,                       /* mov eax, [ebx+0x10] */
        0x81, 0xC3, 0x00, 0x10, 0x00, 0x00,     /* add ebx, 0x1000 */
        0x8B, 0x4B, 0x20,                       /* mov ecx, [ebx+0x20] */
        0x8B, 0x53, 0x24,                       /* mov edx, [ebx+0x24] */
        0xF4,                                   /* hlt */
    };
    struct tm j, i;
    paged_pair(code, sizeof(code), true, &j, &i);
    cr_expect_eq(j.cpu->r[R_EAX], 0xB0000010u);
    cr_expect_eq(j.cpu->r[R_ECX], 0xC0000020u);
    cr_expect_eq(j.cpu->r[R_EDX], 0xC0000024u);
    tm_free(&j);
    tm_free(&i);
}

/*
 * Two stores through one base into a page with translated code (not the
 * storing block's), the first beside the block there, the second into
 * it: the second still reaches the bus (a shared lookup never gives a
 * fast write into such a page), so the block dies and the patched code
 * runs.
 */
Test(jit_trace, stores_sharing_a_base_into_a_code_page_still_invalidate_its_blocks)
{
    const uint8_t code[] = {
        0xBB, 0x00, 0x30, 0x00, 0x00,                   /* 1000: mov ebx, 0x3000 */
        0xC6, 0x83, 0x00, 0x08, 0x00, 0x00, 0x90,       /* 1005: mov byte [ebx+0x800], 0x90 */
        0xC6, 0x83, 0x05, 0x08, 0x00, 0x00, 0x02,       /* 100c: mov byte [ebx+0x805], 2 */
        0xE9, 0xE8, 0x27, 0x00, 0x00,                   /* 1013: jmp 3800 */
    };
    const uint8_t later[] = {
        0xF4, 0x90, 0x90, 0x90,                         /* 3800: (nop once patched) */
        0xB0, 0x01,                                     /* 3804: mov al, 1 (-> 2) */
        0xF4,                                           /* 3806: hlt */
    };
    struct tm j = jit_machine(), i = interp_machine();
    struct tm *both[2] = { &j, &i };
    for (int m = 0; m < 2; m++) {
        code_at(both[m], 0x3804, code, sizeof(code));
        tm_copy(both[m], 0x3800, later, sizeof(later));
        (void)cpu_fetch8(both[m]->cpu, 0x3804);
        cpu_run(both[m]->cpu, 100);                      /* translates the block at 3804 */
        both[m]->cpu->r[R_EAX] = 0;
    }
    cr_assert(block_at(&j, 0x3804), "the block at 3804");
    for (int m = 0; m < 2; m++) {
        (void)cpu_fetch8(both[m]->cpu, CODE);
        rerun(both[m], CODE, 100);
    }
    expect_same(&j, &i);
    cr_expect(j.cpu->halted);
    cr_expect_eq(j.cpu->r[R_EAX], 2u, "the patched MOV AL ran");
    struct jit_block *b = block_at(&j, CODE);
    cr_expect(b && b->valid, "the storing block ran whole (its stores missed it)");
    tm_free(&j);
    tm_free(&i);
}

#endif
