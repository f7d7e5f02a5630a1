/*
 * MUL, IMUL (all forms), DIV, IDIV: products and quotients per the SDM,
 * CF/OF, and #DE for a zero divisor or a quotient that does not fit, with
 * the registers left as they were and the frame pointing at the DIV.
 */
#include <criterion/criterion.h>

#include "machine.h"

#define DE_HANDLER 0x2000

/* Point the #DE vector at a HLT so that a fault stops the run there. */
static struct tm tm_div(void)
{
    struct tm t = tm_new();
    tm_ivt_hlt(&t, EX_DE, DE_HANDLER);
    return t;
}

/* True if the #DE handler ran with the faulting IP (0x1000) pushed. */
static bool took_de(struct tm *t)
{
    const uint8_t *sp = t->bus->ram + 0x8000 - 6;
    return t->cpu->r[R_ESP] == 0x8000 - 6 && sp[0] == 0x00 && sp[1] == 0x10 &&
           (t->cpu->eip & 0xFFFF) >= DE_HANDLER && (t->cpu->eip & 0xFFFF) <= DE_HANDLER + 1;
}

Test(muldiv, mul_byte)
{
    struct tm t = tm_new();
    t.cpu->r[R_EAX] = 0x1280;
    t.cpu->r[R_EBX] = 0x03;
    const uint8_t code[] = { 0xF6, 0xE3 };          /* mul bl */
    tm_run(&t, code, sizeof(code), 1);
    cr_expect_eq(t.cpu->r[R_EAX], 0x0180);
    cr_expect_eq(tm_flags(&t) & (F_CF | F_OF), F_CF | F_OF);
    t.cpu->r[R_EAX] = 0x0005;
    tm_run(&t, code, sizeof(code), 1);
    cr_expect_eq(t.cpu->r[R_EAX], 0x000F);
    cr_expect_eq(tm_flags(&t) & (F_CF | F_OF), 0);
    tm_free(&t);
}

Test(muldiv, mul_dword_edx_eax)
{
    struct tm t = tm_new();
    t.cpu->r[R_EAX] = 0xFFFFFFFF;
    t.cpu->r[R_ECX] = 0xFFFFFFFF;
    const uint8_t code[] = { 0x66, 0xF7, 0xE1 };    /* mul ecx */
    tm_run(&t, code, sizeof(code), 1);
    cr_expect_eq(t.cpu->r[R_EAX], 0x00000001u);
    cr_expect_eq(t.cpu->r[R_EDX], 0xFFFFFFFEu);
    cr_expect_eq(tm_flags(&t) & (F_CF | F_OF), F_CF | F_OF);
    tm_free(&t);
}

Test(muldiv, imul_word_sign_extension_decides_cf)
{
    struct tm t = tm_new();
    t.cpu->r[R_EAX] = 0xFFFF;                       /* -1 */
    t.cpu->r[R_EBX] = 0x0100;
    const uint8_t code[] = { 0xF7, 0xEB };          /* imul bx */
    tm_run(&t, code, sizeof(code), 1);
    cr_expect_eq(t.cpu->r[R_EAX], 0xFF00);
    cr_expect_eq(t.cpu->r[R_EDX], 0xFFFF);
    cr_expect_eq(tm_flags(&t) & (F_CF | F_OF), 0);     /* DX is AX's sign */
    t.cpu->r[R_EAX] = 0x4000;
    t.cpu->r[R_EBX] = 0x0002;
    tm_run(&t, code, sizeof(code), 1);
    cr_expect_eq(t.cpu->r[R_EAX], 0x8000);
    cr_expect_eq(t.cpu->r[R_EDX], 0x0000);
    cr_expect_eq(tm_flags(&t) & (F_CF | F_OF), F_CF | F_OF);
    tm_free(&t);
}

Test(muldiv, imul_two_and_three_operand)
{
    struct tm t = tm_new();
    t.cpu->r[R_EAX] = 0x00010000;
    t.cpu->r[R_EBX] = 0x00010000;
    t.cpu->r[R_EDX] = 0x12345678;
    const uint8_t code[] = { 0x66, 0x0F, 0xAF, 0xC3 }; /* imul eax,ebx */
    tm_run(&t, code, sizeof(code), 1);
    cr_expect_eq(t.cpu->r[R_EAX], 0);
    cr_expect_eq(t.cpu->r[R_EDX], 0x12345678u);     /* untouched */
    cr_expect_eq(tm_flags(&t) & (F_CF | F_OF), F_CF | F_OF);
    t.cpu->r[R_EBX] = 100;
    const uint8_t code3[] = { 0x6B, 0xCB, 0xFD };   /* imul cx,bx,-3 */
    tm_run(&t, code3, sizeof(code3), 1);
    cr_expect_eq(t.cpu->r[R_ECX] & 0xFFFF, 0xFED4); /* -300 */
    cr_expect_eq(tm_flags(&t) & (F_CF | F_OF), 0);
    const uint8_t code4[] = { 0x69, 0xCB, 0x00, 0x04 }; /* imul cx,bx,400h */
    tm_run(&t, code4, sizeof(code4), 1);
    cr_expect_eq(t.cpu->r[R_ECX] & 0xFFFF, 0x9000); /* 102400 truncated */
    cr_expect_eq(tm_flags(&t) & (F_CF | F_OF), F_CF | F_OF);
    tm_free(&t);
}

Test(muldiv, div_word_quotient_remainder)
{
    struct tm t = tm_new();
    t.cpu->r[R_EDX] = 0x0001;
    t.cpu->r[R_EAX] = 0x0003;                       /* DX:AX = 65539 */
    t.cpu->r[R_ECX] = 10;
    const uint8_t code[] = { 0xF7, 0xF1 };          /* div cx */
    tm_run(&t, code, sizeof(code), 1);
    cr_expect_eq(t.cpu->r[R_EAX], 6553);
    cr_expect_eq(t.cpu->r[R_EDX], 9);
    tm_free(&t);
}

Test(muldiv, idiv_remainder_has_dividend_sign)
{
    struct tm t = tm_new();
    t.cpu->r[R_EAX] = 0xFFF9;                       /* AX = -7 */
    t.cpu->r[R_EBX] = 0x02;
    const uint8_t code[] = { 0xF6, 0xFB };          /* idiv bl */
    tm_run(&t, code, sizeof(code), 1);
    cr_expect_eq(t.cpu->r[R_EAX], 0xFFFD);          /* AH = -1, AL = -3 */
    tm_free(&t);
}

Test(muldiv, idiv_most_negative_quotient_is_allowed)
{
    struct tm t = tm_div();
    t.cpu->r[R_EAX] = 0xFF00;                       /* -256 */
    t.cpu->r[R_EBX] = 0x02;
    const uint8_t code[] = { 0xF6, 0xFB };          /* idiv bl */
    tm_run(&t, code, sizeof(code), 1);
    cr_expect_not(took_de(&t));
    cr_expect_eq(t.cpu->r[R_EAX], 0x0080);
    tm_free(&t);
}

Test(muldiv, div_by_zero_raises_de_unchanged)
{
    struct tm t = tm_div();
    t.cpu->r[R_EAX] = 0x1234;
    t.cpu->r[R_EDX] = 0x5678;
    t.cpu->r[R_EBX] = 0;
    const uint8_t code[] = { 0xF7, 0xF3 };          /* div bx */
    tm_run(&t, code, sizeof(code), 2);
    cr_expect(took_de(&t));
    cr_expect_eq(t.cpu->r[R_EAX], 0x1234);
    cr_expect_eq(t.cpu->r[R_EDX], 0x5678);
    tm_free(&t);
}

Test(muldiv, div_quotient_overflow_raises_de)
{
    struct tm t = tm_div();
    t.cpu->r[R_EAX] = 0x0200;
    t.cpu->r[R_EBX] = 0x02;
    const uint8_t code[] = { 0xF6, 0xF3 };          /* div bl: 100h */
    tm_run(&t, code, sizeof(code), 2);
    cr_expect(took_de(&t));
    cr_expect_eq(t.cpu->r[R_EAX], 0x0200);
    tm_free(&t);
}

Test(muldiv, idiv_word_overflow_raises_de)
{
    struct tm t = tm_div();
    t.cpu->r[R_EDX] = 0x0000;
    t.cpu->r[R_EAX] = 0x8000;                       /* +32768 */
    t.cpu->r[R_ECX] = 0x0001;
    const uint8_t code[] = { 0xF7, 0xF9 };          /* idiv cx */
    tm_run(&t, code, sizeof(code), 2);
    cr_expect(took_de(&t));
    cr_expect_eq(t.cpu->r[R_EAX], 0x8000);
    tm_free(&t);
}

Test(muldiv, idiv_dword_int_min_by_minus_one)
{
    struct tm t = tm_div();
    t.cpu->r[R_EDX] = 0x80000000;
    t.cpu->r[R_EAX] = 0x00000000;                   /* -2^63 */
    t.cpu->r[R_ECX] = 0xFFFFFFFF;
    const uint8_t code[] = { 0x66, 0xF7, 0xF9 };    /* idiv ecx */
    tm_run(&t, code, sizeof(code), 2);
    cr_expect(took_de(&t));
    cr_expect_eq(t.cpu->r[R_EDX], 0x80000000u);
    tm_free(&t);
}

Test(muldiv, idiv_dword)
{
    struct tm t = tm_div();
    t.cpu->r[R_EDX] = 0xFFFFFFFF;
    t.cpu->r[R_EAX] = 0x00000000;                   /* -2^32 */
    t.cpu->r[R_ECX] = 3;
    const uint8_t code[] = { 0x66, 0xF7, 0xF9 };    /* idiv ecx */
    tm_run(&t, code, sizeof(code), 1);
    cr_expect_not(took_de(&t));
    cr_expect_eq(t.cpu->r[R_EAX], 0xAAAAAAABu);     /* -1431655765 */
    cr_expect_eq(t.cpu->r[R_EDX], 0xFFFFFFFFu);     /* -1 */
    tm_free(&t);
}
