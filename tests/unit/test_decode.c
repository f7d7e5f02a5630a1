/* Decoder and disassembler: lengths, prefixes, ModRM/SIB forms. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "cpu/insn.h"

static const char *dis(const uint8_t *b, size_t n, int size32, int *len)
{
    static char buf[96];
    struct insn in;
    *len = insn_decode_buf(&in, b, n, size32);
    insn_disasm(&in, 0, buf, sizeof(buf));
    return buf;
}

#define CHECK(size32, expect_len, expect_text, ...)                          \
    do {                                                                   \
        const uint8_t b_[] = { __VA_ARGS__ };                              \
        int len_;                                                          \
        const char *t_ = dis(b_, sizeof(b_), size32, &len_);               \
        cr_expect_eq(len_, expect_len, "%s: length %d", expect_text, len_);\
        cr_expect_str_eq(t_, expect_text);                                 \
    } while (0)

Test(decode, sixteen_bit_forms)
{
    CHECK(0, 2, "add [bx+si],al", 0x00, 0x00);
    CHECK(0, 4, "mov ax,[0x1234]", 0x8B, 0x06, 0x34, 0x12);
    CHECK(0, 3, "mov [bp-0x2],cx", 0x89, 0x4E, 0xFE);
    CHECK(0, 3, "mov ax,0x1234", 0xB8, 0x34, 0x12);
    CHECK(0, 3, "cmp [bx],0x5", 0x83, 0x3F, 0x05);
}

Test(decode, thirty_two_bit_forms)
{
    CHECK(1, 3, "lea eax,[ebx+ecx*4]", 0x8D, 0x04, 0x8B);
    CHECK(1, 7, "mov eax,[esp+0x12345678]", 0x8B, 0x84, 0x24, 0x78, 0x56, 0x34, 0x12);
    CHECK(1, 6, "add eax,[0x1000]", 0x03, 0x05, 0x00, 0x10, 0x00, 0x00);
    CHECK(1, 5, "mov eax,0x12345678", 0xB8, 0x78, 0x56, 0x34, 0x12);
    CHECK(1, 3, "mov ax,bx", 0x66, 0x89, 0xD8);
    CHECK(1, 4, "add ax,[bx+si]", 0x67, 0x66, 0x03, 0x00);
    CHECK(1, 3, "movzx eax,bl", 0x0F, 0xB6, 0xC3);
    CHECK(1, 2, "jne 0x4", 0x75, 0x02);
    CHECK(1, 6, "je 0x106", 0x0F, 0x84, 0x00, 0x01, 0x00, 0x00);
    CHECK(1, 2, "rep movsd", 0xF3, 0xA5);
}

Test(decode, literal_operands)
{
    CHECK(0, 1, "push es", 0x06);
    CHECK(0, 1, "pop ds", 0x1F);
    CHECK(0, 1, "push cs", 0x0E);
    CHECK(0, 1, "pop ss", 0x17);
    CHECK(0, 2, "push fs", 0x0F, 0xA0);
    CHECK(0, 2, "add al,0x7", 0x04, 0x07);
    CHECK(0, 3, "and ax,0x1234", 0x25, 0x34, 0x12);
    CHECK(0, 1, "in al,dx", 0xEC);
    CHECK(0, 2, "out 0x80,al", 0xE6, 0x80);
    CHECK(0, 2, "shl bl,1", 0xD0, 0xE3);
    CHECK(0, 2, "sar ax,cl", 0xD3, 0xF8);
}

Test(decode, immediates_at_operand_size)
{
    CHECK(0, 3, "cmp bx,0xfffe", 0x83, 0xFB, 0xFE);
    CHECK(1, 3, "cmp ebx,0xfffffffe", 0x83, 0xFB, 0xFE);
    CHECK(0, 4, "mov al,es:[0x10]", 0x26, 0xA0, 0x10, 0x00);
    CHECK(0, 4, "enter 0x10,0x2", 0xC8, 0x10, 0x00, 0x02);
    CHECK(0, 5, "jmp 0xf000:0xfff0", 0xEA, 0xF0, 0xFF, 0x00, 0xF0);
    CHECK(0, 2, "mov bx,es", 0x8C, 0xC3);
    CHECK(0, 2, "mov ss,ax", 0x8E, 0xD0);
}

Test(decode, prefixes)
{
    /* LOCK is allowed only on a memory destination of a lockable form */
    CHECK(0, 3, "lock add [bx+si],al", 0xF0, 0x00, 0x00);
    CHECK(0, 3, "lock (bad)", 0xF0, 0x00, 0xC0);
    CHECK(0, 3, "lock (bad)", 0xF0, 0x88, 0x00);
    /* the last segment override wins; repeated prefixes are legal */
    CHECK(0, 4, "mov al,ss:[bx]", 0x26, 0x36, 0x8A, 0x07);
    CHECK(1, 4, "mov ax,bx", 0x66, 0x66, 0x89, 0xD8);
    /* group rows with no form for the ModRM.reg value are #UD */
    CHECK(0, 2, "(bad)", 0x8F, 0xC8);
    CHECK(0, 2, "(bad)", 0xFE, 0xD0);
}

Test(decode, fifteen_byte_limit)
{
    uint8_t b[16];
    struct insn in;
    memset(b, 0x26, sizeof(b));          /* es es es ... */
    b[13] = 0x90;                        /* 14 bytes: legal */
    cr_expect_eq(insn_decode_buf(&in, b, sizeof(b), 0), 14);
    memset(b, 0x26, sizeof(b));
    b[15] = 0x90;                        /* 16 bytes: too long */
    cr_expect_eq(insn_decode_buf(&in, b, sizeof(b), 0), 0);
    memset(b, 0x26, sizeof(b));
    b[14] = 0x90;                        /* exactly 15 */
    cr_expect_eq(insn_decode_buf(&in, b, sizeof(b), 0), 15);
}
