/*
 * String instructions: MOVS/CMPS/STOS/LODS/SCAS with and without REP,
 * both directions and address sizes, overlapping copies, batches that
 * re-execute, and restarts after a #GP or #PF in the middle of a string.
 */
#include <criterion/criterion.h>

#include "cpu/insn.h"
#include "cpu/mem.h"
#include "pm.h"

#define CODE 0x1000u

/* Point IVT entry `vec` at 0:target and put JMP $ there. */
static void trap_vector(struct tm *t, int vec, uint16_t target)
{
    tm_ivt(t, vec, target);
    tm_put(t, target, 0xFEEB, 2);
}

Test(string, rep_movsb_forward)
{
    struct tm t = tm_new();
    for (int i = 0; i < 10; i++) {
        tm_ram(&t, 0x2000 + (uint32_t)i)[0] = (uint8_t)(0x41 + i);
    }
    t.cpu->r[R_ESI] = 0x2000;
    t.cpu->r[R_EDI] = 0x3000;
    t.cpu->r[R_ECX] = 10;
    const uint8_t code[] = { 0xF3, 0xA4 };   /* rep movsb */
    tm_run(&t, code, sizeof(code), 1);
    cr_expect_eq(memcmp(tm_ram(&t, 0x3000), tm_ram(&t, 0x2000), 10), 0);
    cr_expect_eq(tm_ram(&t, 0x300A)[0], 0);
    cr_expect_eq(t.cpu->r[R_ECX], 0);
    cr_expect_eq(t.cpu->r[R_ESI], 0x200A);
    cr_expect_eq(t.cpu->r[R_EDI], 0x300A);
    cr_expect_eq(t.cpu->eip, CODE + 2);
    tm_free(&t);
}

/* A forward copy onto itself one byte up replicates the first byte. */
Test(string, rep_movsb_overlap_replicates)
{
    struct tm t = tm_new();
    for (int i = 0; i < 200; i++) {
        tm_ram(&t, 0x2000 + (uint32_t)i)[0] = (uint8_t)(i + 1);
    }
    t.cpu->r[R_ESI] = 0x2000;
    t.cpu->r[R_EDI] = 0x2003;
    t.cpu->r[R_ECX] = 150;
    const uint8_t code[] = { 0xF3, 0xA4 };
    tm_run(&t, code, sizeof(code), 1);
    for (int i = 0; i < 153; i++) {
        cr_assert_eq(tm_ram(&t, 0x2000 + (uint32_t)i)[0], (uint8_t)(i % 3 + 1), "byte %d", i);
    }
    cr_expect_eq(tm_ram(&t, 0x2000 + 153)[0], 154);
    tm_free(&t);
}

/* Word copy one byte up: each iteration reads the word the last one wrote. */
Test(string, rep_movsw_overlap_by_one_byte)
{
    struct tm t = tm_new();
    uint8_t ref[16];
    for (int i = 0; i < 16; i++) {
        ref[i] = (uint8_t)(0x10 + i);
        tm_ram(&t, 0x2000 + (uint32_t)i)[0] = ref[i];
    }
    for (int i = 0; i < 6; i++) {   /* the SDM's definition, one word at a time */
        uint8_t lo = ref[2 * i], hi = ref[2 * i + 1];
        ref[2 * i + 1] = lo;
        ref[2 * i + 2] = hi;
    }
    t.cpu->r[R_ESI] = 0x2000;
    t.cpu->r[R_EDI] = 0x2001;
    t.cpu->r[R_ECX] = 6;
    const uint8_t code[] = { 0xF3, 0xA5 };   /* rep movsw */
    tm_run(&t, code, sizeof(code), 1);
    cr_expect_eq(memcmp(tm_ram(&t, 0x2000), ref, 16), 0);
    cr_expect_eq(t.cpu->r[R_EDI], 0x200D);
    tm_free(&t);
}

Test(string, rep_movsd_backward)
{
    struct tm t = tm_new();
    for (int i = 0; i < 16; i++) {
        tm_ram(&t, 0x2000 + (uint32_t)i)[0] = (uint8_t)(0xA0 + i);
    }
    t.cpu->r[R_ESI] = 0x200C;
    t.cpu->r[R_EDI] = 0x300C;
    t.cpu->r[R_ECX] = 4;
    const uint8_t code[] = { 0xFD, 0xF3, 0x66, 0xA5 };   /* std; rep movsd */
    tm_run(&t, code, sizeof(code), 2);
    cr_expect_eq(memcmp(tm_ram(&t, 0x3000), tm_ram(&t, 0x2000), 16), 0);
    cr_expect_eq(t.cpu->r[R_ESI], 0x1FFC);
    cr_expect_eq(t.cpu->r[R_EDI], 0x2FFC);
    cr_expect_eq(t.cpu->r[R_ECX], 0);
    tm_free(&t);
}

/* The override changes the source; the destination stays ES. */
Test(string, movsb_segment_override)
{
    struct tm t = tm_new();
    cpu_load_seg_real(t.cpu, S_ES, 0x0100);
    cpu_load_seg_real(t.cpu, S_DS, 0x0200);
    tm_ram(&t, 0x1010)[0] = 0x77;   /* ES:0010 */
    tm_ram(&t, 0x2010)[0] = 0x55;   /* DS:0010 */
    t.cpu->r[R_ESI] = 0x10;
    t.cpu->r[R_EDI] = 0x20;
    const uint8_t code[] = { 0x26, 0xA4 };   /* es movsb */
    tm_run(&t, code, sizeof(code), 1);
    cr_expect_eq(tm_ram(&t, 0x1020)[0], 0x77);
    cr_expect_eq(t.cpu->r[R_ESI], 0x11);
    tm_free(&t);
}

/* 16-bit addressing: SI/DI/CX wrap at 64K and the upper halves stay. */
Test(string, a16_wraps_and_keeps_upper_halves)
{
    struct tm t = tm_new();
    t.cpu->r[R_EDI] = 0x1234FFFE;
    t.cpu->r[R_ECX] = 0xABCD0002;
    t.cpu->r[R_EAX] = 0x5A;
    const uint8_t code[] = { 0xF3, 0xAA };   /* rep stosb */
    tm_run(&t, code, sizeof(code), 1);
    cr_expect_eq(tm_ram(&t, 0xFFFE)[0], 0x5A);
    cr_expect_eq(tm_ram(&t, 0xFFFF)[0], 0x5A);
    cr_expect_eq(t.cpu->r[R_EDI], 0x12340000);
    cr_expect_eq(t.cpu->r[R_ECX], 0xABCD0000);
    tm_free(&t);
}

/* 32-bit addressing (67h) counts in ECX and moves EDI. */
Test(string, a32_rep_stosw_uses_ecx)
{
    struct tm t = tm_new();
    t.cpu->r[R_EDI] = 0x4000;
    t.cpu->r[R_ECX] = 0x10003;
    t.cpu->r[R_EAX] = 0xBEEF;
    cpu_load_seg_real(t.cpu, S_ES, 0);
    t.cpu->seg[S_ES].limit = 0xFFFFFFFF;     /* "unreal" mode */
    const uint8_t code[] = { 0x67, 0xF3, 0xAB };
    tm_run(&t, code, sizeof(code), 1);
    cr_expect(t.cpu->r[R_ECX] > 0 && t.cpu->r[R_ECX] < 0x10003);
    cr_expect_eq(t.cpu->r[R_EDI], 0x4000 + 2 * (0x10003 - t.cpu->r[R_ECX]));
    cr_expect_eq(t.cpu->eip, CODE, "a partial batch re-executes");
    cpu_run(t.cpu, 100);
    cr_expect_eq(t.cpu->r[R_ECX], 0);
    cr_expect_eq(t.cpu->r[R_EDI], 0x4000 + 2 * 0x10003);
    cr_expect_eq(tm_get(&t, 0x4000, 2), 0xBEEF);
    cr_expect_eq(tm_get(&t, 0x4000 + 2 * 0x10002, 2), 0xBEEF);
    cr_expect_eq(tm_get(&t, 0x4000 + 2 * 0x10003, 2), 0);
    tm_free(&t);
}

Test(string, rep_zero_count_does_nothing)
{
    struct tm t = tm_new();
    t.cpu->r[R_ESI] = 0x2000;
    t.cpu->r[R_EDI] = 0x3000;
    tm_ram(&t, 0x2000)[0] = 9;
    const uint8_t code[] = { 0xF3, 0xA4 };
    tm_run(&t, code, sizeof(code), 1);
    cr_expect_eq(tm_ram(&t, 0x3000)[0], 0);
    cr_expect_eq(t.cpu->r[R_ESI], 0x2000);
    cr_expect_eq(t.cpu->eip, CODE + 2);
    tm_free(&t);
}

Test(string, repe_cmpsb_stops_at_difference)
{
    struct tm t = tm_new();
    memcpy(tm_ram(&t, 0x2000), "abcdXf", 6);
    memcpy(tm_ram(&t, 0x3000), "abcdef", 6);
    t.cpu->r[R_ESI] = 0x2000;
    t.cpu->r[R_EDI] = 0x3000;
    t.cpu->r[R_ECX] = 6;
    const uint8_t code[] = { 0xF3, 0xA6 };   /* repe cmpsb */
    tm_run(&t, code, sizeof(code), 1);
    cr_expect_eq(t.cpu->r[R_ECX], 1);
    cr_expect_eq(t.cpu->r[R_ESI], 0x2005);
    cr_expect_eq(t.cpu->r[R_EDI], 0x3005);
    /* 'X' - 'e' = 58h - 65h = F3h: borrow, negative, even parity */
    cr_expect_eq(cpu_get_eflags(t.cpu) & F_ARITH, F_CF | F_SF | F_PF);
    cr_expect_eq(t.cpu->eip, CODE + 2);
    tm_free(&t);
}

Test(string, repne_scasb_finds_terminator)
{
    struct tm t = tm_new();
    memcpy(tm_ram(&t, 0x3000), "hello", 6);
    t.cpu->r[R_EDI] = 0x3000;
    t.cpu->r[R_ECX] = 0xFFFF;
    t.cpu->r[R_EAX] = 0;
    const uint8_t code[] = { 0xF2, 0xAE };   /* repne scasb */
    tm_run(&t, code, sizeof(code), 1);
    cr_expect_eq(t.cpu->r[R_ECX], 0xFFFF - 6);
    cr_expect_eq(t.cpu->r[R_EDI], 0x3006);
    cr_expect(cpu_get_eflags(t.cpu) & F_ZF);
    tm_free(&t);
}

/* Long runs cross pages: the difference is found wherever it lies. */
Test(string, repe_cmpsd_long_run_across_pages)
{
    struct tm t = tm_new();
    for (uint32_t i = 0; i < 0x1800; i++) {
        tm_ram(&t, 0x21F0 + i)[0] = (uint8_t)(i * 7);
        tm_ram(&t, 0x43F0 + i)[0] = (uint8_t)(i * 7);
    }
    tm_ram(&t, 0x43F0 + 0x1234)[0] ^= 0x80;   /* in dword 0x48D */
    t.cpu->r[R_ESI] = 0x21F0;
    t.cpu->r[R_EDI] = 0x43F0;
    t.cpu->r[R_ECX] = 0x600;
    const uint8_t code[] = { 0xF3, 0x66, 0xA7 };   /* repe cmpsd */
    tm_run(&t, code, sizeof(code), 1);
    cr_expect_eq(t.cpu->r[R_ECX], 0x600 - 0x48E);
    cr_expect_eq(t.cpu->r[R_ESI], 0x21F0 + 4 * 0x48E);
    cr_expect_eq(t.cpu->r[R_EDI], 0x43F0 + 4 * 0x48E);
    cr_expect_eq(cpu_get_eflags(t.cpu) & F_ZF, 0);
    cr_expect_eq(t.cpu->eip, CODE + 3);
    tm_free(&t);
}

Test(string, repne_scasw_backward_across_a_page)
{
    struct tm t = tm_new();
    for (uint32_t a = 0x2F00; a < 0x3100; a += 2) {
        st_le(tm_ram(&t, a), 0x1111, 2);
    }
    st_le(tm_ram(&t, 0x2F20), 0xABCD, 2);
    t.cpu->r[R_EDI] = 0x30F0;
    t.cpu->r[R_ECX] = 0x1000;
    t.cpu->r[R_EAX] = 0xABCD;
    const uint8_t code[] = { 0xFD, 0xF2, 0xAF };   /* std; repne scasw */
    tm_run(&t, code, sizeof(code), 2);
    cr_expect_eq(t.cpu->r[R_EDI], 0x2F1E);
    cr_expect_eq(t.cpu->r[R_ECX], 0x1000 - (0x30F0 - 0x2F20) / 2 - 1);
    cr_expect(cpu_get_eflags(t.cpu) & F_ZF);
    tm_free(&t);
}

/* REPE that runs out of count with everything equal ends with ZF set. */
Test(string, repe_cmpsw_equal_to_the_end)
{
    struct tm t = tm_new();
    memcpy(tm_ram(&t, 0x2000), "ABCD", 4);
    memcpy(tm_ram(&t, 0x3000), "ABCD", 4);
    t.cpu->r[R_ESI] = 0x2000;
    t.cpu->r[R_EDI] = 0x3000;
    t.cpu->r[R_ECX] = 2;
    const uint8_t code[] = { 0xF3, 0xA7 };
    tm_run(&t, code, sizeof(code), 1);
    cr_expect_eq(t.cpu->r[R_ECX], 0);
    cr_expect_eq(cpu_get_eflags(t.cpu) & F_ARITH, F_ZF | F_PF);
    tm_free(&t);
}

Test(string, lodsw_and_rep_lodsb)
{
    struct tm t = tm_new();
    memcpy(tm_ram(&t, 0x2000), "\x34\x12\x56\x78", 4);
    t.cpu->r[R_ESI] = 0x2000;
    t.cpu->r[R_EAX] = 0xFFFF0000;
    t.cpu->r[R_ECX] = 2;
    const uint8_t code[] = { 0xAD, 0xF3, 0xAC };   /* lodsw; rep lodsb */
    tm_run(&t, code, sizeof(code), 1);
    cr_expect_eq(t.cpu->r[R_EAX], 0xFFFF1234);
    cpu_run(t.cpu, 1);
    cr_expect_eq(t.cpu->r[R_EAX], 0xFFFF1278);
    cr_expect_eq(t.cpu->r[R_ESI], 0x2004);
    cr_expect_eq(t.cpu->r[R_ECX], 0);
    tm_free(&t);
}

static int ack_0x40(void *opaque)
{
    (void)opaque;
    return 0x40;
}

/* A long REP runs in batches; an interrupt is taken between two. */
Test(string, long_rep_takes_interrupt_between_batches)
{
    struct tm t = tm_new();
    cpu_load_seg_real(t.cpu, S_ES, 0x1000);
    t.cpu->r[R_EDI] = 0;
    t.cpu->r[R_ECX] = 40000;
    t.cpu->r[R_EAX] = 0xCC;
    trap_vector(&t, 0x40, 0x5000);
    const uint8_t code[] = { 0xF3, 0xAA };
    tm_run(&t, code, sizeof(code), 1);
    uint32_t cx = t.cpu->r[R_ECX];
    cr_assert(cx > 0 && cx < 40000);
    cr_expect_eq(t.cpu->r[R_EDI], 40000 - cx);
    cr_expect_eq(tm_ram(&t, 0x10000 + 40000 - cx - 1)[0], 0xCC);
    cr_expect_eq(tm_ram(&t, 0x10000 + 40000 - cx)[0], 0);
    cr_expect_eq(t.cpu->eip, CODE);
    t.cpu->eflags |= F_IF;
    t.cpu->intr_ack = ack_0x40;
    t.cpu->intr_line = true;
    cpu_run(t.cpu, 1);
    cr_expect_eq(t.cpu->eip, 0x5000);
    cr_expect_eq(tm_get(&t, 0x8000 - 6, 2), CODE, "returns to the REP instruction");
    cr_expect_eq(t.cpu->r[R_ECX], cx);
    tm_free(&t);
}

/* With TF set every iteration ends in a single-step trap. */
Test(string, tf_traps_after_each_iteration)
{
    struct tm t = tm_new();
    t.cpu->r[R_EDI] = 0x3000;
    t.cpu->r[R_ECX] = 3;
    t.cpu->eflags |= F_TF;
    trap_vector(&t, EX_DB, 0x5000);
    const uint8_t code[] = { 0xF3, 0xAA };
    tm_run(&t, code, sizeof(code), 1);
    cr_expect_eq(t.cpu->r[R_ECX], 2);
    cr_expect_eq(t.cpu->eip, CODE);
    cpu_run(t.cpu, 1);
    cr_expect_eq(t.cpu->eip, 0x5000);
    cr_expect_eq(tm_get(&t, 0x8000 - 6, 2), CODE);
    cr_expect_eq(t.cpu->r[R_ECX], 2);
    tm_free(&t);
}

/*
 * 32-bit addressing in real mode: EDI passes the 64K limit mid-string.
 * The #GP leaves ECX/EDI at the faulting iteration, IP at the prefix.
 */
Test(string, gp_mid_string_is_restartable)
{
    struct tm t = tm_new();
    t.cpu->r[R_EDI] = 0xFFFC;
    t.cpu->r[R_ECX] = 10;
    t.cpu->r[R_EAX] = 0x11;
    trap_vector(&t, EX_GP, 0x5000);
    const uint8_t code[] = { 0x67, 0xF3, 0xAA };
    tm_run(&t, code, sizeof(code), 1);
    cr_expect_eq(t.cpu->eip, 0x5000);
    cr_expect_eq(tm_get(&t, 0x8000 - 6, 2), CODE);
    cr_expect_eq(t.cpu->r[R_ECX], 6);
    cr_expect_eq(t.cpu->r[R_EDI], 0x10000);
    cr_expect_eq(tm_ram(&t, 0xFFFF)[0], 0x11);
    cr_expect_eq(tm_ram(&t, 0x10000)[0], 0);
    tm_free(&t);
}

/* A word straddling the limit faults before either byte is written. */
Test(string, gp_on_straddling_word_writes_nothing)
{
    struct tm t = tm_new();
    t.cpu->r[R_EDI] = 0xFFFB;
    t.cpu->r[R_ECX] = 4;
    t.cpu->r[R_EAX] = 0x2222;
    trap_vector(&t, EX_GP, 0x5000);
    const uint8_t code[] = { 0x67, 0xF3, 0xAB };
    tm_run(&t, code, sizeof(code), 1);
    cr_expect_eq(t.cpu->eip, 0x5000);
    cr_expect_eq(t.cpu->r[R_ECX], 2);
    cr_expect_eq(t.cpu->r[R_EDI], 0xFFFF);
    cr_expect_eq(tm_ram(&t, 0xFFFE)[0], 0x22);
    cr_expect_eq(tm_ram(&t, 0xFFFF)[0], 0);
    tm_free(&t);
}

/* Identity paging of the first 1 MiB with page `hole` not present. */
static void page_with_hole(struct tm *t, uint32_t hole)
{
    pm_identity_paging(t, 0x20000, 0x21000, 256, 3);
    tm_put(t, 0x21000 + 4 * (hole >> 12), hole, 4);
}

static void map_page(struct tm *t, uint32_t page)
{
    st_le(tm_ram(t, 0x21000 + 4 * (page >> 12)), page | 3, 4);
}

Test(string, pf_mid_movs_then_restart_completes)
{
    struct tm t = tm_new();
    for (int i = 0; i < 32; i++) {
        tm_ram(&t, 0x4FF8 + (uint32_t)i)[0] = (uint8_t)(0x80 + i);
    }
    page_with_hole(&t, 0x5000);
    t.cpu->r[R_ESI] = 0x4FF8;
    t.cpu->r[R_EDI] = 0x6000;
    t.cpu->r[R_ECX] = 32;
    const uint8_t code[] = { 0xF3, 0xA4 };
    memcpy(tm_ram(&t, CODE), code, sizeof(code));
    cr_assert_eq(tm_exec_catch(t.cpu), EX_PF);
    cr_expect_eq(t.cpu->cr2, 0x5000);
    cr_expect_eq(t.cpu->exc_err, 0, "read, supervisor, not present");
    cr_expect_eq(t.cpu->r[R_ECX], 24);
    cr_expect_eq(t.cpu->r[R_ESI], 0x5000);
    cr_expect_eq(t.cpu->r[R_EDI], 0x6008);
    cr_expect_eq(memcmp(tm_ram(&t, 0x6000), tm_ram(&t, 0x4FF8), 8), 0);
    cr_expect_eq(tm_ram(&t, 0x6008)[0], 0);
    cr_expect_eq(t.cpu->eip, CODE);
    map_page(&t, 0x5000);
    cr_assert_eq(tm_exec_catch(t.cpu), -1);
    cr_expect_eq(t.cpu->r[R_ECX], 0);
    cr_expect_eq(memcmp(tm_ram(&t, 0x6000), tm_ram(&t, 0x4FF8), 32), 0);
    cr_expect_eq(t.cpu->eip, CODE + 2);
    tm_free(&t);
}

Test(string, pf_on_word_across_pages_writes_neither_byte)
{
    struct tm t = tm_new();
    page_with_hole(&t, 0x5000);
    t.cpu->r[R_EDI] = 0x4FFB;
    t.cpu->r[R_ECX] = 8;
    t.cpu->r[R_EAX] = 0x3344;
    const uint8_t code[] = { 0xF3, 0xAB };   /* rep stosw */
    memcpy(tm_ram(&t, CODE), code, sizeof(code));
    cr_assert_eq(tm_exec_catch(t.cpu), EX_PF);
    cr_expect_eq(t.cpu->cr2, 0x5000);
    cr_expect_eq(t.cpu->exc_err, 2, "write, supervisor, not present");
    cr_expect_eq(t.cpu->r[R_ECX], 6);
    cr_expect_eq(t.cpu->r[R_EDI], 0x4FFF);
    cr_expect_eq(tm_get(&t, 0x4FFD, 2), 0x3344);
    cr_expect_eq(tm_ram(&t, 0x4FFF)[0], 0);
    tm_free(&t);
}
