/* Decoder and disassembler: lengths, prefixes, ModRM/SIB forms. */
#include <criterion/criterion.h>
#include <stdio.h>

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
