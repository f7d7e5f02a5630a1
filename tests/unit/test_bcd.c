/*
 * DAA, DAS, AAA, AAS, AAM, AAD and SALC: the SDM's examples and
 * algorithms in their 286+ form (AAA/AAS carry into AH through AX).
 */
#include <criterion/criterion.h>

#include "machine.h"

Test(bcd, daa_after_add)
{
    /* SDM example: ADD AL,BL with 79h + 35h = AEh, then DAA gives 14h, CF = 1 */
    struct tm t = tm_new();
    t.cpu->r[R_EAX] = 0x79;
    t.cpu->r[R_EBX] = 0x35;
    const uint8_t code[] = { 0x00, 0xD8, 0x27 };    /* add al,bl; daa */
    tm_run(&t, code, sizeof(code), 2);
    cr_expect_eq(t.cpu->r[R_EAX], 0x14);
    cr_expect_eq(tm_flags(&t) & ~F_OF, F_CF | F_AF | F_PF);
    tm_free(&t);
}

Test(bcd, das_after_sub)
{
    /* SDM example: SUB AL,BL with 35h - 47h = EEh, then DAS gives 88h, CF = 1 */
    struct tm t = tm_new();
    t.cpu->r[R_EAX] = 0x35;
    t.cpu->r[R_EBX] = 0x47;
    const uint8_t code[] = { 0x28, 0xD8, 0x2F };    /* sub al,bl; das */
    tm_run(&t, code, sizeof(code), 2);
    cr_expect_eq(t.cpu->r[R_EAX], 0x88);
    cr_expect_eq(tm_flags(&t) & ~F_OF, F_CF | F_AF | F_SF | F_PF);
    tm_free(&t);
}

Test(bcd, daa_no_adjust)
{
    struct tm t = tm_new();
    t.cpu->r[R_EAX] = 0x42;
    const uint8_t code[] = { 0x27 };
    tm_run1(&t, code, sizeof(code), 0);
    cr_expect_eq(t.cpu->r[R_EAX], 0x42);
    cr_expect_eq(tm_flags(&t) & ~F_OF, F_PF);
    tm_free(&t);
}

Test(bcd, aaa_carries_into_ah)
{
    struct tm t = tm_new();
    t.cpu->r[R_EAX] = 0x0009;
    t.cpu->r[R_EBX] = 0x0008;
    const uint8_t code[] = { 0x00, 0xD8, 0x37 };    /* add al,bl; aaa */
    tm_run(&t, code, sizeof(code), 2);
    cr_expect_eq(t.cpu->r[R_EAX], 0x0107);          /* unpacked 17 */
    cr_expect_eq(tm_flags(&t) & (F_CF | F_AF), F_CF | F_AF);
    /* 286+: AL + 6 carries into AH (AX + 106h) */
    t.cpu->r[R_EAX] = 0x00FA;
    const uint8_t code2[] = { 0x37 };
    tm_run1(&t, code2, sizeof(code2), 0);
    cr_expect_eq(t.cpu->r[R_EAX], 0x0200);
    tm_free(&t);
}

Test(bcd, aas_borrows_from_ah)
{
    struct tm t = tm_new();
    t.cpu->r[R_EAX] = 0x0203;
    t.cpu->r[R_EBX] = 0x0005;
    const uint8_t code[] = { 0x28, 0xD8, 0x3F };    /* sub al,bl; aas */
    tm_run(&t, code, sizeof(code), 2);
    cr_expect_eq(t.cpu->r[R_EAX], 0x0108);          /* 23 - 5 = 18 */
    cr_expect_eq(tm_flags(&t) & (F_CF | F_AF), F_CF | F_AF);
    t.cpu->r[R_EAX] = 0x0105;
    const uint8_t code2[] = { 0x3F };
    tm_run1(&t, code2, sizeof(code2), 0);
    cr_expect_eq(t.cpu->r[R_EAX], 0x0105);
    cr_expect_eq(tm_flags(&t) & (F_CF | F_AF), 0);
    tm_free(&t);
}

Test(bcd, aam_and_aad_round_trip)
{
    struct tm t = tm_new();
    t.cpu->r[R_EAX] = 0x004F;                       /* 79 */
    const uint8_t code[] = { 0xD4, 0x0A, 0xD5, 0x0A }; /* aam; aad */
    tm_run(&t, code, sizeof(code), 1);
    cr_expect_eq(t.cpu->r[R_EAX], 0x0709);
    cr_expect_eq(tm_flags(&t) & (F_SF | F_ZF | F_PF), F_PF);
    cpu_run(t.cpu, 1);
    cr_expect_eq(t.cpu->r[R_EAX], 0x004F);
    cr_expect_eq(tm_flags(&t) & (F_SF | F_ZF | F_PF), 0);
    tm_free(&t);
}

Test(bcd, aam_aad_other_bases)
{
    struct tm t = tm_new();
    t.cpu->r[R_EAX] = 0x00FF;
    const uint8_t code[] = { 0xD4, 0x10 };          /* aam 16 */
    tm_run(&t, code, sizeof(code), 1);
    cr_expect_eq(t.cpu->r[R_EAX], 0x0F0F);
    t.cpu->r[R_EAX] = 0x1234;
    const uint8_t code2[] = { 0xD5, 0x07 };         /* aad 7: 34h + 12h*7 */
    tm_run(&t, code2, sizeof(code2), 1);
    cr_expect_eq(t.cpu->r[R_EAX], 0x00B2);
    cr_expect_eq(tm_flags(&t) & (F_SF | F_ZF | F_PF), F_SF | F_PF);
    tm_free(&t);
}

Test(bcd, aam_zero_raises_de)
{
    struct tm t = tm_new();
    tm_ivt_hlt(&t, EX_DE, 0x2000);                  /* #DE -> 0000:2000 */
    t.cpu->r[R_EAX] = 0x1234;
    const uint8_t code[] = { 0xD4, 0x00 };          /* aam 0 */
    tm_run(&t, code, sizeof(code), 2);
    cr_expect_eq(t.cpu->r[R_ESP], 0x8000 - 6);
    cr_expect_eq(t.bus->ram[0x8000 - 6], 0x00);     /* IP of the AAM */
    cr_expect_eq(t.bus->ram[0x8000 - 5], 0x10);
    cr_expect_eq(t.cpu->r[R_EAX], 0x1234);
    tm_free(&t);
}

Test(bcd, salc)
{
    struct tm t = tm_new();
    t.cpu->r[R_EAX] = 0x1234;
    const uint8_t code[] = { 0xD6 };
    tm_run1(&t, code, sizeof(code), F_CF | F_ZF);
    cr_expect_eq(t.cpu->r[R_EAX], 0x12FF);
    cr_expect_eq(tm_flags(&t), F_CF | F_ZF);
    tm_run1(&t, code, sizeof(code), F_OF);
    cr_expect_eq(t.cpu->r[R_EAX], 0x1200);
    cr_expect_eq(tm_flags(&t), F_OF);
    tm_free(&t);
}
