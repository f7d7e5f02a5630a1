/*
 * The interpreter's decoded-instruction cache must be invisible: code that
 * is rewritten after it ran (by the guest in the same page, through another
 * linear alias of the physical page, or by a device writing guest memory)
 * executes its new bytes, as re-decoding every instruction would.
 */
#include <criterion/criterion.h>

#include "cpu/mem.h"
#include "pm.h"

/* An instruction that increments the immediate of the next one, in a loop. */
Test(icache, loop_patches_its_own_immediate)
{
    struct tm t = tm_new();
    const uint8_t code[] = {
        0xFE, 0x06, 0x05, 0x10,     /* 1000: inc byte [0x1005] */
        0xB0, 0x00,                 /* 1004: mov al, imm8 (at 1005) */
        0xEB, 0xF8,                 /* 1006: jmp 1000 */
    };
    tm_run(&t, code, sizeof(code), 9);  /* three iterations */
    cr_assert_eq(t.cpu->r[R_EAX] & 0xFF, 3);
    cr_assert_eq(*tm_ram(&t, 0x1005), 3);
    tm_free(&t);
}

/* The next instruction, already executed once, is replaced by another opcode. */
Test(icache, overwrite_next_instruction)
{
    struct tm t = tm_new();
    const uint8_t code[] = {
        0xC6, 0x06, 0x05, 0x10, 0x40,   /* 1000: mov byte [0x1005], 0x40 */
        0x90,                           /* 1005: nop, becomes inc ax */
    };
    memcpy(tm_ram(&t, 0x1000), code, sizeof(code));
    t.cpu->eip = 0x1005;
    cpu_run(t.cpu, 1);                  /* the nop runs (and is cached) */
    cr_assert_eq(t.cpu->r[R_EAX], 0);
    t.cpu->eip = 0x1000;
    cpu_run(t.cpu, 2);
    cr_assert_eq(t.cpu->r[R_EAX], 1);
    cr_assert_eq(t.cpu->eip, 0x1006);
    tm_free(&t);
}

/* Paging maps linear 0x100000 onto the code's physical page; writes go there. */
Test(icache, write_through_linear_alias)
{
    struct tm t = tm_new();
    pm_flat_gdt(&t);
    pm_identity_paging(&t, 0x30000, 0x31000, 512, 0x7);
    tm_put(&t, 0x31000 + 4 * 0x100, 0x1000 | 0x7, 4);  /* 0x100000 -> 0x1000 */
    pm_enter(&t, 0, 0);
    const uint8_t code[] = {
        0xB0, 0x00,                             /* 1000: mov al, imm8 */
        0xFE, 0x05, 0x01, 0x00, 0x10, 0x00,     /* 1002: inc byte [0x100001] */
        0xEB, 0xF6,                             /* 1008: jmp 1000 */
    };
    tm_run(&t, code, sizeof(code), 9);
    cr_assert_eq(t.cpu->r[R_EAX] & 0xFF, 2);
    cr_assert_eq(*tm_ram(&t, 0x1001), 3);
    tm_free(&t);
}

/* A device (DMA) writes the code page between two runs of one instruction. */
Test(icache, bus_write_into_code_page)
{
    struct tm t = tm_new();
    const uint8_t code[] = { 0xB0, 0x05 };     /* mov al, 5 */
    tm_run(&t, code, sizeof(code), 1);
    cr_assert_eq(t.cpu->r[R_EAX] & 0xFF, 5);
    const uint8_t imm = 9;
    bus_write_buf(t.bus, 0x1001, &imm, 1);
    t.cpu->eip = 0x1000;
    cpu_run(t.cpu, 1);
    cr_assert_eq(t.cpu->r[R_EAX] & 0xFF, 9);
    /* and a longer instruction in place of a shorter one */
    const uint8_t mov_ax[] = { 0xB8, 0x34, 0x12 };  /* mov ax, 0x1234 */
    bus_write_buf(t.bus, 0x1000, mov_ax, sizeof(mov_ax));
    t.cpu->eip = 0x1000;
    cpu_run(t.cpu, 1);
    cr_assert_eq(t.cpu->r[R_EAX] & 0xFFFF, 0x1234);
    cr_assert_eq(t.cpu->eip, 0x1003);
    tm_free(&t);
}

/* The same bytes decode differently in 16- and 32-bit code segments. */
Test(icache, operand_size_follows_cs)
{
    struct tm t = tm_new();
    const uint8_t code[] = { 0xB8, 0x11, 0x22, 0x33, 0x44 };   /* mov (e)ax */
    tm_run(&t, code, sizeof(code), 1);
    cr_assert_eq(t.cpu->r[R_EAX], 0x2211);
    cr_assert_eq(t.cpu->eip, 0x1003);
    t.cpu->seg[S_CS].ar |= AR_DB;
    t.cpu->eip = 0x1000;
    cpu_run(t.cpu, 1);
    cr_assert_eq(t.cpu->r[R_EAX], 0x44332211);
    cr_assert_eq(t.cpu->eip, 0x1005);
    tm_free(&t);
}
