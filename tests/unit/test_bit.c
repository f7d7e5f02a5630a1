/*
 * BT/BTS/BTR/BTC (register and immediate offsets, register and memory
 * operands, bit strings addressed beyond the operand with signed offsets)
 * and BSF/BSR (including the zero source: ZF = 1, destination kept).
 */
#include <criterion/criterion.h>

#include "machine.h"

Test(bit, bt_register_offset_modulo_size)
{
    struct tm t = tm_new();
    t.cpu->r[R_EAX] = 0x00000004;
    t.cpu->r[R_EBX] = 34;                           /* 34 mod 32 = bit 2 */
    const uint8_t code[] = { 0x66, 0x0F, 0xA3, 0xD8 }; /* bt eax,ebx */
    tm_run1(&t, code, sizeof(code), F_ZF | F_SF);
    cr_expect_eq(t.cpu->r[R_EAX], 4);
    cr_expect_eq(tm_flags(&t), F_CF | F_ZF | F_SF);    /* only CF is written */
    tm_free(&t);
}

Test(bit, bts_btr_btc_register)
{
    struct tm t = tm_new();
    t.cpu->r[R_EAX] = 0x00F0;
    t.cpu->r[R_ECX] = 3;
    const uint8_t bts[] = { 0x0F, 0xAB, 0xC8 };     /* bts ax,cx */
    tm_run1(&t, bts, sizeof(bts), F_CF);
    cr_expect_eq(t.cpu->r[R_EAX], 0x00F8);
    cr_expect_eq(tm_flags(&t), 0);
    t.cpu->r[R_ECX] = 4;
    const uint8_t btr[] = { 0x0F, 0xB3, 0xC8 };     /* btr ax,cx */
    tm_run1(&t, btr, sizeof(btr), 0);
    cr_expect_eq(t.cpu->r[R_EAX], 0x00E8);
    cr_expect_eq(tm_flags(&t), F_CF);
    t.cpu->r[R_ECX] = 15;
    const uint8_t btc[] = { 0x0F, 0xBB, 0xC8 };     /* btc ax,cx */
    tm_run1(&t, btc, sizeof(btc), 0);
    cr_expect_eq(t.cpu->r[R_EAX], 0x80E8);
    cr_expect_eq(tm_flags(&t), 0);
    tm_free(&t);
}

Test(bit, bt_immediate_masked_to_operand_size)
{
    struct tm t = tm_new();
    t.cpu->r[R_EDX] = 0x0002;
    t.cpu->r[R_EBX] = 0x300;
    t.bus->ram[0x302] = 0xFF;                       /* must not be reached */
    const uint8_t code[] = { 0x0F, 0xBA, 0xE2, 0x11 }; /* bt dx,17 -> bit 1 */
    tm_run1(&t, code, sizeof(code), 0);
    cr_expect_eq(tm_flags(&t), F_CF);
    const uint8_t mem[] = { 0x0F, 0xBA, 0x2F, 0x18 }; /* bts word [bx],24 -> bit 8 */
    tm_run1(&t, mem, sizeof(mem), 0);
    cr_expect_eq(t.bus->ram[0x300], 0x00);
    cr_expect_eq(t.bus->ram[0x301], 0x01);
    cr_expect_eq(t.bus->ram[0x302], 0xFF);
    cr_expect_eq(tm_flags(&t), 0);
    tm_free(&t);
}

Test(bit, bts_memory_bit_string_positive_offset)
{
    struct tm t = tm_new();
    t.cpu->r[R_EBX] = 0x400;
    t.cpu->r[R_ECX] = 100;          /* dword 3 (offset +12), bit 4 */
    const uint8_t code[] = { 0x66, 0x0F, 0xAB, 0x0F }; /* bts dword [bx],ecx */
    tm_run1(&t, code, sizeof(code), 0);
    cr_expect_eq(t.bus->ram[0x40C], 0x10);
    cr_expect_eq(t.bus->ram[0x400], 0x00);
    cr_expect_eq(tm_flags(&t), 0);
    tm_run1(&t, code, sizeof(code), 0);
    cr_expect_eq(tm_flags(&t), F_CF);                  /* now set */
    tm_free(&t);
}

Test(bit, btr_memory_bit_string_negative_offset)
{
    struct tm t = tm_new();
    t.cpu->r[R_EBX] = 0x400;
    t.cpu->r[R_ECX] = 0xFFFF;       /* -1: bit 15 of the word at -2 */
    t.bus->ram[0x3FE] = 0xFF;
    t.bus->ram[0x3FF] = 0xFF;
    const uint8_t code[] = { 0x0F, 0xB3, 0x0F };    /* btr word [bx],cx */
    tm_run1(&t, code, sizeof(code), 0);
    cr_expect_eq(t.bus->ram[0x3FF], 0x7F);
    cr_expect_eq(t.bus->ram[0x3FE], 0xFF);
    cr_expect_eq(tm_flags(&t), F_CF);
    tm_free(&t);
}

Test(bit, bt_memory_dword_negative_offset)
{
    struct tm t = tm_new();
    t.cpu->r[R_EBX] = 0x400;
    t.cpu->r[R_EDX] = 0xFFFFFFC1;   /* -63: dword at -8, bit 1 */
    t.bus->ram[0x3F8] = 0x02;
    const uint8_t code[] = { 0x66, 0x0F, 0xA3, 0x17 }; /* bt dword [bx],edx */
    tm_run1(&t, code, sizeof(code), 0);
    cr_expect_eq(tm_flags(&t), F_CF);
    tm_free(&t);
}

Test(bit, bsf_bsr)
{
    struct tm t = tm_new();
    t.cpu->r[R_EBX] = 0x00108000;
    const uint8_t bsf[] = { 0x66, 0x0F, 0xBC, 0xC3 }; /* bsf eax,ebx */
    tm_run1(&t, bsf, sizeof(bsf), F_ZF);
    cr_expect_eq(t.cpu->r[R_EAX], 15);
    cr_expect_not(tm_flags(&t) & F_ZF);
    const uint8_t bsr[] = { 0x66, 0x0F, 0xBD, 0xC3 }; /* bsr eax,ebx */
    tm_run1(&t, bsr, sizeof(bsr), F_ZF);
    cr_expect_eq(t.cpu->r[R_EAX], 20);
    cr_expect_not(tm_flags(&t) & F_ZF);
    const uint8_t bsr16[] = { 0x0F, 0xBD, 0xCB };   /* bsr cx,bx */
    t.cpu->r[R_ECX] = 0xAAAA5555;
    tm_run1(&t, bsr16, sizeof(bsr16), 0);
    cr_expect_eq(t.cpu->r[R_ECX], 0xAAAA000F);
    tm_free(&t);
}

Test(bit, bsf_zero_source_keeps_destination)
{
    struct tm t = tm_new();
    t.cpu->r[R_EAX] = 0xDEADBEEF;
    t.cpu->r[R_EBX] = 0xFFFF0000;   /* zero in the 16-bit operand */
    const uint8_t bsf[] = { 0x0F, 0xBC, 0xC3 };     /* bsf ax,bx */
    tm_run1(&t, bsf, sizeof(bsf), 0);
    cr_expect_eq(t.cpu->r[R_EAX], 0xDEADBEEF);
    cr_expect(tm_flags(&t) & F_ZF);
    const uint8_t bsr[] = { 0x66, 0x0F, 0xBD, 0xC1 }; /* bsr eax,ecx */
    t.cpu->r[R_ECX] = 0;
    tm_run1(&t, bsr, sizeof(bsr), 0);
    cr_expect_eq(t.cpu->r[R_EAX], 0xDEADBEEF);
    cr_expect(tm_flags(&t) & F_ZF);
    tm_free(&t);
}
