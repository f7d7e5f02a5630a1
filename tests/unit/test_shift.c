/*
 * Group 2 shifts/rotates and SHLD/SHRD: results and flags per the SDM,
 * count masking, count 0, RCL/RCR ring sizes, and the P6 choices for the
 * cases the SDM leaves undefined (AF = 0, SHLD/SHRD 16-bit counts > 16).
 * The defined results were also cross-checked against a host CPU.
 */
#include <criterion/criterion.h>

#include "machine.h"

Test(shift, shl_by_1_sets_cf_of)
{
    struct tm t = tm_new();
    t.cpu->r[R_EAX] = 0x40;
    const uint8_t code[] = { 0xD0, 0xE0 };          /* shl al,1 */
    tm_run1(&t, code, sizeof(code), 0);
    cr_expect_eq(t.cpu->r[R_EAX], 0x80);
    /* CF = old bit 7 = 0; OF = CF ^ MSB(result) = 1; AF = 0 (P6) */
    cr_expect_eq(tm_flags(&t), F_OF | F_SF);
    tm_free(&t);
}

Test(shift, sal_is_shl)
{
    struct tm t = tm_new();
    t.cpu->r[R_EAX] = 0xC001;
    const uint8_t code[] = { 0xC1, 0xF0, 0x02 };    /* sal ax,2 (/6) */
    tm_run1(&t, code, sizeof(code), 0);
    cr_expect_eq(t.cpu->r[R_EAX], 0x0004);
    /* last bit out: bit 14; OF is undefined for counts above 1 */
    cr_expect_eq(tm_flags(&t) & ~F_OF, F_CF);
    tm_free(&t);
}

Test(shift, shr_by_1_of_is_old_msb)
{
    struct tm t = tm_new();
    t.cpu->r[R_EBX] = 0x8001;
    const uint8_t code[] = { 0xD1, 0xEB };          /* shr bx,1 */
    tm_run1(&t, code, sizeof(code), 0);
    cr_expect_eq(t.cpu->r[R_EBX], 0x4000);
    cr_expect_eq(tm_flags(&t), F_CF | F_OF | F_PF);
    tm_free(&t);
}

Test(shift, sar_keeps_sign_and_clears_of)
{
    struct tm t = tm_new();
    t.cpu->r[R_EDX] = 0x80000010;
    t.cpu->r[R_ECX] = 5;
    const uint8_t code[] = { 0x66, 0xD3, 0xFA };    /* sar edx,cl */
    tm_run1(&t, code, sizeof(code), F_OF);
    cr_expect_eq(t.cpu->r[R_EDX], 0xFC000000u);
    cr_expect_eq(tm_flags(&t) & ~F_OF, F_CF | F_SF | F_PF);
    tm_free(&t);
}

Test(shift, sar_byte_past_width_fills_sign)
{
    struct tm t = tm_new();
    t.cpu->r[R_EAX] = 0x80;
    t.cpu->r[R_ECX] = 12;
    const uint8_t code[] = { 0xD2, 0xF8 };          /* sar al,cl */
    tm_run1(&t, code, sizeof(code), 0);
    cr_expect_eq(t.cpu->r[R_EAX], 0xFF);
    cr_expect_eq(tm_flags(&t) & ~F_OF, F_CF | F_SF | F_PF);
    tm_free(&t);
}

Test(shift, shl_byte_past_width_is_zero)
{
    struct tm t = tm_new();
    t.cpu->r[R_EAX] = 0xFF;
    t.cpu->r[R_ECX] = 9;
    const uint8_t code[] = { 0xD2, 0xE0 };          /* shl al,cl */
    tm_run1(&t, code, sizeof(code), F_CF | F_SF);
    cr_expect_eq(t.cpu->r[R_EAX], 0);
    /* CF = 0 as the 286 and P6 give it (the SDM leaves it undefined) */
    cr_expect_eq(tm_flags(&t) & ~F_OF, F_ZF | F_PF);
    tm_free(&t);
}

Test(shift, count_masked_to_5_bits_and_zero_keeps_flags)
{
    struct tm t = tm_new();
    t.cpu->r[R_EAX] = 0x1234;
    t.cpu->r[R_ECX] = 0x20;                         /* masks to 0 */
    const uint8_t code[] = { 0xD3, 0xE0 };          /* shl ax,cl */
    tm_run1(&t, code, sizeof(code), F_CF | F_OF | F_AF | F_SF);
    cr_expect_eq(t.cpu->r[R_EAX], 0x1234);
    cr_expect_eq(tm_flags(&t), F_CF | F_OF | F_AF | F_SF);
    t.cpu->r[R_ECX] = 0x21;                         /* masks to 1 */
    const uint8_t code2[] = { 0xD3, 0xE0 };
    tm_run1(&t, code2, sizeof(code2), 0);
    cr_expect_eq(t.cpu->r[R_EAX], 0x2468);
    tm_free(&t);
}

Test(shift, rol_only_touches_cf_of)
{
    struct tm t = tm_new();
    t.cpu->r[R_EAX] = 0x81;
    const uint8_t code[] = { 0xD0, 0xC0 };          /* rol al,1 */
    tm_run1(&t, code, sizeof(code), F_ZF | F_AF | F_PF);
    cr_expect_eq(t.cpu->r[R_EAX], 0x03);
    /* CF = LSB = 1, OF = CF ^ MSB = 1; ZF/AF/PF untouched */
    cr_expect_eq(tm_flags(&t), F_ZF | F_AF | F_PF | F_CF | F_OF);
    tm_free(&t);
}

Test(shift, rol_byte_by_8_sets_cf_without_moving)
{
    struct tm t = tm_new();
    t.cpu->r[R_EAX] = 0x01;
    t.cpu->r[R_ECX] = 8;
    const uint8_t code[] = { 0xD2, 0xC0 };          /* rol al,cl */
    tm_run1(&t, code, sizeof(code), 0);
    cr_expect_eq(t.cpu->r[R_EAX], 0x01);
    cr_expect(tm_flags(&t) & F_CF);
    tm_free(&t);
}

Test(shift, ror_word)
{
    struct tm t = tm_new();
    t.cpu->r[R_EAX] = 0x0001;
    const uint8_t code[] = { 0xD1, 0xC8 };          /* ror ax,1 */
    tm_run1(&t, code, sizeof(code), 0);
    cr_expect_eq(t.cpu->r[R_EAX], 0x8000);
    cr_expect_eq(tm_flags(&t), F_CF | F_OF);
    tm_free(&t);
}

Test(shift, rcl_byte_nine_bit_ring)
{
    struct tm t = tm_new();
    t.cpu->r[R_EAX] = 0x80;
    t.cpu->r[R_ECX] = 1;
    const uint8_t code[] = { 0xD2, 0xD0 };          /* rcl al,cl */
    tm_run1(&t, code, sizeof(code), F_CF);
    cr_expect_eq(t.cpu->r[R_EAX], 0x01);            /* CF in, bit 7 out */
    cr_expect_eq(tm_flags(&t), F_CF | F_OF);
    /* a count of 9 (or 18, 27) goes once round the ring: nothing changes */
    t.cpu->r[R_EAX] = 0x5A;
    t.cpu->r[R_ECX] = 18;
    tm_run1(&t, code, sizeof(code), F_SF);
    cr_expect_eq(t.cpu->r[R_EAX], 0x5A);
    cr_expect_eq(tm_flags(&t), F_SF);
    tm_free(&t);
}

Test(shift, rcr_word_seventeen_bit_ring)
{
    struct tm t = tm_new();
    t.cpu->r[R_EAX] = 0x0001;
    t.cpu->r[R_ECX] = 18;                           /* 18 mod 17 = 1 */
    const uint8_t code[] = { 0xD3, 0xD8 };          /* rcr ax,cl */
    tm_run1(&t, code, sizeof(code), 0);
    cr_expect_eq(t.cpu->r[R_EAX], 0x0000);
    cr_expect_eq(tm_flags(&t), F_CF);
    tm_free(&t);
}

Test(shift, rcr_dword_by_1_of)
{
    struct tm t = tm_new();
    t.cpu->r[R_EAX] = 0x00000002;
    const uint8_t code[] = { 0x66, 0xD1, 0xD8 };    /* rcr eax,1 */
    tm_run1(&t, code, sizeof(code), F_CF);
    cr_expect_eq(t.cpu->r[R_EAX], 0x80000001u);
    /* OF = MSB(dest) ^ CF before = 0 ^ 1 */
    cr_expect_eq(tm_flags(&t), F_OF);
    tm_free(&t);
}

Test(shift, memory_operand)
{
    struct tm t = tm_new();
    t.cpu->r[R_EBX] = 0x300;
    t.bus->ram[0x300] = 0x34;
    t.bus->ram[0x301] = 0x92;
    const uint8_t code[] = { 0xC1, 0x27, 0x04 };    /* shl word [bx],4 */
    tm_run1(&t, code, sizeof(code), 0);
    cr_expect_eq(t.bus->ram[0x300], 0x40);
    cr_expect_eq(t.bus->ram[0x301], 0x23);
    cr_expect_eq(tm_flags(&t) & ~F_OF, F_CF);
    tm_free(&t);
}

Test(shift, shld_dword)
{
    struct tm t = tm_new();
    t.cpu->r[R_EAX] = 0x80000001;
    t.cpu->r[R_EBX] = 0xF0000000;
    const uint8_t code[] = { 0x66, 0x0F, 0xA4, 0xD8, 0x04 }; /* shld eax,ebx,4 */
    tm_run1(&t, code, sizeof(code), 0);
    cr_expect_eq(t.cpu->r[R_EAX], 0x0000001Fu);
    cr_expect_eq(t.cpu->r[R_EBX], 0xF0000000u);
    cr_expect_eq(tm_flags(&t) & ~F_OF, 0);  /* CF = bit 28 of old eax = 0 */
    tm_free(&t);
}

Test(shift, shrd_word_by_cl_and_count_zero)
{
    struct tm t = tm_new();
    t.cpu->r[R_EAX] = 0x1234;
    t.cpu->r[R_EBX] = 0xABCD;
    t.cpu->r[R_ECX] = 8;
    const uint8_t code[] = { 0x0F, 0xAD, 0xD8 };    /* shrd ax,bx,cl */
    tm_run1(&t, code, sizeof(code), 0);
    cr_expect_eq(t.cpu->r[R_EAX], 0xCD12);
    /* CF = bit 7 of 1234h = 0 */
    cr_expect_eq(tm_flags(&t) & ~F_OF, F_SF | F_PF);
    t.cpu->r[R_ECX] = 0x40;                         /* count 0: no change */
    tm_run1(&t, code, sizeof(code), F_ZF);
    cr_expect_eq(t.cpu->r[R_EAX], 0xCD12);
    cr_expect_eq(tm_flags(&t), F_ZF);
    tm_free(&t);
}

Test(shift, shld_word_count_above_16)
{
    /* P6: the 16-bit operand shifts through dest:src:dest */
    struct tm t = tm_new();
    t.cpu->r[R_EAX] = 0x1234;
    t.cpu->r[R_EBX] = 0xABCD;
    t.cpu->r[R_ECX] = 20;
    const uint8_t code[] = { 0x0F, 0xA5, 0xD8 };    /* shld ax,bx,cl */
    tm_run1(&t, code, sizeof(code), 0);
    cr_expect_eq(t.cpu->r[R_EAX], 0xBCD1);
    /* the last bit out is bit 12 of BX (0) */
    cr_expect_eq(tm_flags(&t) & (F_CF | F_SF | F_ZF), F_SF);
    tm_free(&t);
}
