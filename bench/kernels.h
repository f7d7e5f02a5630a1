/*
 * kernels.h - the benchmark workloads, shared by the guest ROM and the
 * native harness.
 *
 * kernels.c is compiled once into one object that is linked both into the
 * bare-metal ROM (bench/workloads.S, bench/rom.ld) and into the native
 * program (bench/native.c), so the emulators and the host run the very
 * same machine code.  Each workload does a fixed amount of work set by
 * `count`, touches only the memory it is given, rebuilds its own input
 * every call (so repeated runs do the same work) and returns a checksum of
 * its result.
 */
#ifndef BENCH_KERNELS_H
#define BENCH_KERNELS_H

#include <stdint.h>

/* Workload numbers, as patched into the ROM's parameter block. */
enum bench_workload {
    BENCH_EMPTY = 0,  /* nothing: measures an emulator's start and exit */
    BENCH_ALU = 1,    /* xorshift32 and bitwise CRC32 over 4 KiB */
    BENCH_COPY = 2,   /* REP MOVSD, REPE CMPSD, a byte loop over 64 KiB */
    BENCH_FIB = 3,    /* recursive Fibonacci: CALL/RET, PUSH/POP */
    BENCH_SORT = 4,   /* heapsort of 64 KiB of dwords: data-dependent branches */
    BENCH_MULDIV = 5, /* modular exponentiation: MUL, DIV, IDIV */
    BENCH_FPU = 6,    /* x87 n-body: FMUL FADD FSUB FDIV FSQRT */
    BENCH_COUNT = 7
};

/* Bytes of memory bench_run needs at `mem` (4 KiB aligned). */
#define BENCH_MEM_SIZE (256u * 1024u)

/* Run workload `id` for `count` units of work; returns its checksum. */
uint32_t bench_run(uint32_t id, uint32_t count, void *mem);

/* The workloads' pseudo-random numbers (xorshift32). */
static inline uint32_t bench_xorshift32(uint32_t x)
{
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return x;
}

/* FNV-1a over dwords: a cheap order-sensitive fold for checksums. */
static inline uint32_t bench_fold(uint32_t h, uint32_t v)
{
    return (h ^ v) * 16777619u;
}

#endif
