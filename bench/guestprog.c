/*
 * guestprog.c - the CPU-bound and memory-bound programs of bench/linux: one
 * static i386 Linux executable without libc, run inside the Linux guest on
 * every emulator and, unchanged, natively on the host (an x86-64 Linux
 * kernel runs static i386 programs), so every column executes the same
 * machine code.
 *
 *   guestprog cpu N    N rounds of integer work: bench/kernels.c's CRC32
 *                      (shifts and logic), recursive Fibonacci (calls),
 *                      heapsort (data-dependent branches) and modular
 *                      exponentiation (MUL/DIV), all within 256 KiB
 *   guestprog mem N    N passes over a 32 MiB array, larger than any cache
 *                      and than an emulator's software TLB: a sequential
 *                      fill, a sequential sum, a page-stride walk and
 *                      random read-modify-writes
 *   guestprog nop      exit at once (the cost of starting a process)
 *
 * Each mode prints "guestprog: MODE N checksum XXXXXXXX"; bench/linux
 * compares the emulators' checksums with the host's, so a wrong result
 * from a translator is caught rather than timed.  Timing is left to the
 * caller (busybox `time` in the guest, the shell's clock on the host).
 *
 * Built by bench/linux with -m32 -static -nostdlib -ffreestanding: _start
 * below takes argc and argv from the initial stack and the program talks
 * to the kernel only through int 0x80 (write and exit_group).
 */
#include <stdint.h>

#include "kernels.h"

#define SYS_WRITE 4
#define SYS_EXIT_GROUP 252

#define MEM_WORDS (8u * 1024u * 1024u)   /* 32 MiB of dwords */
#define PAGE_WORDS 1024u                 /* 4 KiB */
#define RANDOM_ACCESSES (4u * 1024u * 1024u)

/* The kernels' scratch space and the big array: .bss, zeroed by the
 * kernel's loader, so the file stays small. */
static uint8_t kernel_mem[BENCH_MEM_SIZE] __attribute__((aligned(4096)));
static uint32_t big[MEM_WORDS] __attribute__((aligned(4096)));

/* The entry point: the stack holds argc, then argv[], as the kernel left
 * it; realign it for the C code and exit with kb_main's result. */
__asm__(".text\n"
        ".globl _start\n"
        "_start:\n"
        "    xorl %ebp, %ebp\n"
        "    movl %esp, %eax\n"
        "    andl $-16, %esp\n"
        "    subl $12, %esp\n"
        "    pushl %eax\n"
        "    call kb_main\n"
        "    movl %eax, %ebx\n"
        "    movl $252, %eax\n"
        "    int $0x80\n"
        "    hlt\n");

static void sys_write(const char *buf, uint32_t len)
{
    long ret;
    __asm__ volatile("int $0x80"
                     : "=a"(ret)
                     : "0"(SYS_WRITE), "b"(1), "c"(buf), "d"(len)
                     : "memory");
    (void)ret;
}

static int str_eq(const char *a, const char *b)
{
    while (*a != '\0' && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

/* A decimal count; 0 when the text is not one. */
static uint32_t parse_count(const char *s)
{
    uint32_t n = 0;
    if (s == 0) {
        return 0;
    }
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9') {
            return 0;
        }
        n = n * 10u + (uint32_t)(*s - '0');
    }
    return n;
}

static uint32_t run_cpu(uint32_t rounds)
{
    uint32_t h = 2166136261u;
    for (uint32_t r = 0; r < rounds; r++) {
        h = bench_fold(h, bench_run(BENCH_ALU, 1, kernel_mem));
        h = bench_fold(h, bench_run(BENCH_FIB, 4, kernel_mem));
        h = bench_fold(h, bench_run(BENCH_SORT, 1, kernel_mem));
        h = bench_fold(h, bench_run(BENCH_MULDIV, 1500, kernel_mem));
    }
    return h;
}

/* One pass over `big`: every access after the first pass hits a page the
 * guest kernel has mapped, so the cost is the emulator's memory path. */
static uint32_t mem_pass(uint32_t pass, uint32_t h)
{
    uint32_t x = 2463534242u + pass;
    for (uint32_t i = 0; i < MEM_WORDS; i++) {
        big[i] = i ^ pass;
    }
    uint32_t sum = 0;
    for (uint32_t i = 0; i < MEM_WORDS; i++) {
        sum += big[i];
    }
    h = bench_fold(h, sum);
    /* one dword per page, each in a different page from the last */
    for (uint32_t off = 0; off < PAGE_WORDS; off += 64) {
        for (uint32_t i = off; i < MEM_WORDS; i += PAGE_WORDS) {
            big[i] += off;
        }
    }
    for (uint32_t i = 0; i < RANDOM_ACCESSES; i++) {
        x = bench_xorshift32(x);
        uint32_t j = x & (MEM_WORDS - 1u);
        big[j] = big[j] * 3u + i;
    }
    for (uint32_t i = 0; i < MEM_WORDS; i += 257) {
        h = bench_fold(h, big[i]);
    }
    return h;
}

static uint32_t run_mem(uint32_t passes)
{
    uint32_t h = 2166136261u;
    for (uint32_t p = 0; p < passes; p++) {
        h = mem_pass(p, h);
    }
    return h;
}

/* "guestprog: MODE N checksum XXXXXXXX\n" */
static void report(const char *mode, uint32_t n, uint32_t sum)
{
    char buf[80];
    uint32_t len = 0;
    const char *head = "guestprog: ";
    for (const char *s = head; *s != '\0'; s++) {
        buf[len++] = *s;
    }
    for (const char *s = mode; *s != '\0' && len < 40; s++) {
        buf[len++] = *s;
    }
    buf[len++] = ' ';
    char digits[12];
    uint32_t nd = 0;
    do {
        digits[nd++] = (char)('0' + n % 10u);
        n /= 10u;
    } while (n != 0);
    while (nd > 0) {
        buf[len++] = digits[--nd];
    }
    const char *mid = " checksum ";
    for (const char *s = mid; *s != '\0'; s++) {
        buf[len++] = *s;
    }
    for (int shift = 28; shift >= 0; shift -= 4) {
        buf[len++] = "0123456789abcdef"[(sum >> shift) & 15u];
    }
    buf[len++] = '\n';
    sys_write(buf, len);
}

int kb_main(uint32_t *sp);

int kb_main(uint32_t *sp)
{
    uint32_t argc = sp[0];
    char **argv = (char **)(sp + 1);
    const char *mode = argc > 1 ? argv[1] : "";
    uint32_t n = argc > 2 ? parse_count(argv[2]) : 0;
    if (str_eq(mode, "nop")) {
        return 0;
    }
    if (str_eq(mode, "cpu") && n > 0) {
        report(mode, n, run_cpu(n));
        return 0;
    }
    if (str_eq(mode, "mem") && n > 0) {
        report(mode, n, run_mem(n));
        return 0;
    }
    sys_write("usage: guestprog cpu|mem N | guestprog nop\n", 44);
    return 2;
}
