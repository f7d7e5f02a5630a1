/*
 * Blocks that go on through conditional branches: a Jcc inside a block
 * leaves by a side exit one way and goes on the other (a backward branch
 * taken, a forward one not), so a block may hold code before its first
 * instruction and loop through several back edges.  Each test runs a
 * machine with the JIT and an interpreting twin and compares their whole
 * state (jit_tm.h), and checks the block's shape in the translator.
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

#endif
