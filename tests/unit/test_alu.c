/* ALU, INC/DEC, lazy flags, MOV/XCHG/CMPXCHG (near control flow: test_ctrl.c). */
#include <criterion/criterion.h>

#include "machine.h"

Test(alu, add_flags_8bit)
{
    struct tm t = tm_new();
    t.cpu->r[R_EAX] = 0x7F;
    const uint8_t code[] = { 0x04, 0x01 };   /* add al,1 */
    tm_run(&t, code, sizeof(code), 1);
    cr_expect_eq(t.cpu->r[R_EAX] & 0xFF, 0x80);
    cr_expect_eq(tm_flags(&t), F_OF | F_SF | F_AF);
    tm_free(&t);
}

Test(alu, sub_borrow_and_zero)
{
    struct tm t = tm_new();
    t.cpu->r[R_EAX] = 1;
    t.cpu->r[R_EBX] = 2;
    const uint8_t code[] = { 0x66, 0x29, 0xD8,       /* sub eax,ebx */
                             0x66, 0x39, 0xC0 };     /* cmp eax,eax */
    tm_run(&t, code, sizeof(code), 1);
    cr_expect_eq(t.cpu->r[R_EAX], 0xFFFFFFFFu);
    cr_expect_eq(tm_flags(&t), F_CF | F_SF | F_AF | F_PF);
    cpu_run(t.cpu, 1);
    cr_expect_eq(tm_flags(&t), F_ZF | F_PF);
    tm_free(&t);
}

Test(alu, adc_sbb_carry_chain)
{
    struct tm t = tm_new();
    t.cpu->r[R_EAX] = 0xFFFF;
    t.cpu->r[R_EDX] = 0;
    const uint8_t code[] = { 0x05, 0x01, 0x00,   /* add ax,1 -> CF */
                             0x83, 0xD2, 0x00,   /* adc dx,0 */
                             0xF9,               /* stc */
                             0x1C, 0x00 };       /* sbb al,0 */
    tm_run(&t, code, sizeof(code), 2);
    cr_expect_eq(t.cpu->r[R_EAX] & 0xFFFF, 0);
    cr_expect_eq(t.cpu->r[R_EDX] & 0xFFFF, 1);
    cpu_run(t.cpu, 2);
    cr_expect_eq(t.cpu->r[R_EAX] & 0xFF, 0xFF);
    cr_expect_eq(tm_flags(&t), F_CF | F_SF | F_AF | F_PF);
    tm_free(&t);
}

Test(alu, inc_keeps_carry)
{
    struct tm t = tm_new();
    t.cpu->r[R_ECX] = 0xFFFF;
    const uint8_t code[] = { 0xF9, 0x41, 0x49 }; /* stc; inc cx; dec cx */
    tm_run(&t, code, sizeof(code), 2);
    cr_expect_eq(t.cpu->r[R_ECX], 0);
    cr_expect_eq(tm_flags(&t), F_CF | F_ZF | F_PF | F_AF);
    cpu_run(t.cpu, 1);
    cr_expect_eq(t.cpu->r[R_ECX], 0xFFFF);
    cr_expect_eq(tm_flags(&t), F_CF | F_SF | F_PF | F_AF);
    tm_free(&t);
}

Test(alu, neg_and_logic)
{
    struct tm t = tm_new();
    t.cpu->r[R_EBX] = 0x80;
    const uint8_t code[] = { 0xF6, 0xDB,         /* neg bl */
                             0x80, 0xCB, 0x01 }; /* or bl,1 */
    tm_run(&t, code, sizeof(code), 1);
    cr_expect_eq(t.cpu->r[R_EBX], 0x80);
    cr_expect_eq(tm_flags(&t), F_CF | F_OF | F_SF);
    cpu_run(t.cpu, 1);
    cr_expect_eq(t.cpu->r[R_EBX], 0x81);
    cr_expect_eq(tm_flags(&t), F_SF | F_PF);
    tm_free(&t);
}

Test(alu, memory_rmw_and_cmpxchg)
{
    struct tm t = tm_new();
    t.bus->ram[0x2000] = 0x10;
    t.cpu->r[R_EAX] = 0x10;
    t.cpu->r[R_ECX] = 0x33;
    const uint8_t code[] = { 0x80, 0x06, 0x00, 0x20, 0x05,   /* add byte [0x2000],5 */
                             0x0F, 0xB0, 0x0E, 0x00, 0x20 }; /* cmpxchg [0x2000],cl */
    tm_run(&t, code, sizeof(code), 2);
    cr_expect_eq(t.bus->ram[0x2000], 0x15);
    cr_expect_eq(t.cpu->r[R_EAX] & 0xFF, 0x15);   /* not equal: AL loaded */
    cr_expect_eq(tm_flags(&t) & F_ZF, 0);
    tm_free(&t);
}

Test(alu, setcc_cmov_movsx_bswap)
{
    struct tm t = tm_new();
    t.cpu->r[R_EAX] = 1;
    t.cpu->r[R_EBX] = 2;
    t.cpu->r[R_ECX] = 0x80;
    const uint8_t code[] = { 0x39, 0xD8,               /* cmp ax,bx: below */
                             0x0F, 0x92, 0xC2,         /* setb dl */
                             0x66, 0x0F, 0x47, 0xC3,   /* cmova eax,ebx: no */
                             0x66, 0x0F, 0xBE, 0xF1,   /* movsx esi,cl */
                             0x66, 0x0F, 0xCE };       /* bswap esi */
    tm_run(&t, code, sizeof(code), 5);
    cr_expect_eq(t.cpu->r[R_EDX] & 0xFF, 1);
    cr_expect_eq(t.cpu->r[R_EAX], 1);
    cr_expect_eq(t.cpu->r[R_ESI], 0x80FFFFFFu);
    tm_free(&t);
}

Test(alu, xadd_same_register_keeps_sum)
{
    struct tm t = tm_new();
    t.cpu->r[R_EAX] = 5;
    const uint8_t code[] = { 0x0F, 0xC1, 0xC0 };       /* xadd ax,ax */
    tm_run(&t, code, sizeof(code), 1);
    cr_expect_eq(t.cpu->r[R_EAX], 10);
    tm_free(&t);
}

Test(alu, sahf_lahf_keep_of)
{
    struct tm t = tm_new();
    t.cpu->r[R_EAX] = 0x7F;
    const uint8_t code[] = { 0x04, 0x01,               /* add al,1: OF SF AF */
                             0xB4, 0x41,               /* mov ah,41h: ZF CF */
                             0x9E,                     /* sahf */
                             0x9F };                   /* lahf */
    tm_run(&t, code, sizeof(code), 4);
    cr_expect_eq(tm_flags(&t), F_OF | F_ZF | F_CF);
    cr_expect_eq((t.cpu->r[R_EAX] >> 8) & 0xFF, 0x43);  /* bit 1 reads as 1 */
    tm_free(&t);
}
