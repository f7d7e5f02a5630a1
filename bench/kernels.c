/*
 * kernels.c - the benchmark workloads (see kernels.h).
 *
 * This file is built freestanding (-ffreestanding -fno-pic, no SSE,
 * -march=i686) and must stay self-contained: no library calls (bench/run
 * checks the object has no undefined symbols), no writable globals (the
 * ROM image is read-only; constant tables in .rodata are fine), no
 * assumption about where `mem` lives.  The few instructions a workload is
 * meant to exercise by name (REP MOVSD, REPE CMPSD, MUL/DIV on 64-bit
 * products) are written as inline assembly so the compiler cannot swap
 * them for something else; the rest is plain C compiled with -O2, which
 * is the code mix a guest typically runs.
 */
#include "kernels.h"

#define ALU_WORDS 1024u    /* 4 KiB */
#define COPY_WORDS 16384u  /* 64 KiB per buffer */
#define SORT_WORDS 16384u  /* 64 KiB */
#define NBODY 5

/* ---- integer ALU: xorshift fill, then bitwise CRC32 rounds ---- */

static uint32_t run_alu(uint32_t count, uint32_t *buf)
{
    uint32_t x = 2463534242u;
    for (uint32_t i = 0; i < ALU_WORDS; i++) {
        x = bench_xorshift32(x);
        buf[i] = x;
    }
    uint32_t crc = 0xffffffffu;
    for (uint32_t r = 0; r < count; r++) {
        for (uint32_t i = 0; i < ALU_WORDS; i++) {
            uint32_t w = buf[i];
            crc ^= w;
            for (int b = 0; b < 32; b++) {
                /* branch-free: XOR the polynomial in when bit 0 is set */
                crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
            }
            buf[i] = bench_xorshift32(w ^ crc);
        }
    }
    return ~crc;
}

/* ---- memory: string instructions and a byte loop ---- */

static void fill_dwords(uint32_t *dst, uint32_t val, uint32_t n)
{
    __asm__ volatile("cld; rep stosl"
                     : "+D"(dst), "+c"(n)
                     : "a"(val)
                     : "memory");
}

static void copy_dwords(uint32_t *dst, const uint32_t *src, uint32_t n)
{
    __asm__ volatile("cld; rep movsl"
                     : "+D"(dst), "+S"(src), "+c"(n)
                     :
                     : "memory");
}

/* Dwords left uncompared after the first difference: 0 when all equal. */
static uint32_t compare_dwords(const uint32_t *a, const uint32_t *b, uint32_t n)
{
    __asm__ volatile("cld; repe cmpsl"
                     : "+S"(a), "+D"(b), "+c"(n)
                     :
                     : "memory", "cc");
    return n;
}

static uint32_t run_copy(uint32_t count, uint32_t *a)
{
    uint32_t *b = a + COPY_WORDS;
    uint8_t *a8 = (uint8_t *)a;
    const uint8_t *b8 = (const uint8_t *)b;
    uint32_t x = 88172645u;
    for (uint32_t i = 0; i < COPY_WORDS; i++) {
        x = bench_xorshift32(x);
        a[i] = x;
    }
    uint32_t h = 2166136261u;
    for (uint32_t r = 0; r < count; r++) {
        fill_dwords(b, r, COPY_WORDS);
        copy_dwords(b, a, COPY_WORDS);
        h = bench_fold(h, compare_dwords(a, b, COPY_WORDS));
        b[r % COPY_WORDS] ^= 1u;  /* one difference: REPE CMPSD stops there */
        h = bench_fold(h, compare_dwords(a, b, COPY_WORDS));
        /* byte loop: swap neighbouring bytes back into a, plus a tweak */
        for (uint32_t i = 0; i < COPY_WORDS * 4; i++) {
            a8[i] = (uint8_t)(b8[i ^ 1u] + (uint8_t)r);
        }
    }
    for (uint32_t i = 0; i < COPY_WORDS; i++) {
        h = bench_fold(h, a[i]);
    }
    return h;
}

/* ---- calls and the stack: recursive Fibonacci ---- */

static uint32_t __attribute__((noinline)) fib(uint32_t n)
{
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

static uint32_t run_fib(uint32_t count)
{
    uint32_t sum = 0;
    for (uint32_t r = 0; r < count; r++) {
        sum = bench_fold(sum, fib(18u + (r & 3u)));
    }
    return sum;
}

/* ---- branches: heapsort ---- */

static void sift_down(uint32_t *a, uint32_t root, uint32_t end)
{
    for (;;) {
        uint32_t child = 2 * root + 1;
        if (child >= end) {
            return;
        }
        if (child + 1 < end && a[child] < a[child + 1]) {
            child++;
        }
        if (a[root] >= a[child]) {
            return;
        }
        uint32_t t = a[root];
        a[root] = a[child];
        a[child] = t;
        root = child;
    }
}

static void heapsort(uint32_t *a, uint32_t n)
{
    for (uint32_t i = n / 2; i-- > 0;) {
        sift_down(a, i, n);
    }
    for (uint32_t end = n - 1; end > 0; end--) {
        uint32_t t = a[0];
        a[0] = a[end];
        a[end] = t;
        sift_down(a, 0, end);
    }
}

static uint32_t run_sort(uint32_t count, uint32_t *a)
{
    uint32_t h = 2166136261u;
    for (uint32_t r = 0; r < count; r++) {
        uint32_t x = 0x9e3779b9u + r;
        for (uint32_t i = 0; i < SORT_WORDS; i++) {
            x = bench_xorshift32(x);
            a[i] = x;
        }
        heapsort(a, SORT_WORDS);
        uint32_t unsorted = 0;
        for (uint32_t i = 0; i < SORT_WORDS; i++) {
            h = bench_fold(h, a[i]);
            unsorted += i > 0 && a[i - 1] > a[i];
        }
        h = bench_fold(h, unsorted);
    }
    return h;
}

/* ---- multiply and divide: modular exponentiation ---- */

/* a * b mod m through the 64-bit product in EDX:EAX; needs a, b < m. */
static uint32_t mulmod(uint32_t a, uint32_t b, uint32_t m)
{
    uint32_t q;
    uint32_t r;
    __asm__("mull %3\n\tdivl %4"
            : "=a"(q), "=&d"(r)
            : "0"(a), "r"(b), "r"(m)
            : "cc");
    (void)q;
    return r;
}

static uint32_t powmod(uint32_t b, uint32_t e, uint32_t m)
{
    uint32_t r = 1;
    while (e != 0) {
        if (e & 1u) {
            r = mulmod(r, b, m);
        }
        b = mulmod(b, b, m);
        e >>= 1;
    }
    return r;
}

static uint32_t run_muldiv(uint32_t count)
{
    uint32_t x = 123456789u;
    uint32_t sum = 0;
    for (uint32_t r = 0; r < count; r++) {
        x = bench_xorshift32(x);
        uint32_t m = x | 0x80000001u;   /* odd, >= 2^31 */
        uint32_t b = bench_xorshift32(x) % m;
        uint32_t e = bench_xorshift32(b);
        sum += powmod(b, e, m);
        /* a signed division too (IDIV); the divisor is positive */
        int32_t q = (int32_t)sum / (int32_t)((m >> 9) | 1u);
        sum ^= (uint32_t)q;
    }
    return sum;
}

/* ---- x87: an n-body simulation in doubles ---- */

struct body {
    double x, y, z, vx, vy, vz, mass;
};

/* A heavy centre and four planets on near-circular orbits (G = 1). */
static const double body_init[NBODY][7] = {
    {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1000.0},
    {10.0, 0.0, 0.5, 0.0, 10.0, 0.0, 1.0},
    {0.0, 15.0, -0.75, -8.16, 0.0, 0.1, 0.5},
    {-22.0, 0.0, 1.0, 0.0, -6.74, 0.0, 2.0},
    {0.0, -30.0, 0.0, 5.77, 0.0, -0.2, 0.8},
};

static void nbody_init(struct body *bd)
{
    for (int i = 0; i < NBODY; i++) {
        const double *v = body_init[i];
        bd[i].x = v[0];
        bd[i].y = v[1];
        bd[i].z = v[2];
        bd[i].vx = v[3];
        bd[i].vy = v[4];
        bd[i].vz = v[5];
        bd[i].mass = v[6];
    }
}

static void nbody_step(struct body *bd, double dt)
{
    for (int i = 0; i < NBODY; i++) {
        for (int j = i + 1; j < NBODY; j++) {
            double dx = bd[i].x - bd[j].x;
            double dy = bd[i].y - bd[j].y;
            double dz = bd[i].z - bd[j].z;
            double d2 = dx * dx + dy * dy + dz * dz;
            double mag = dt / (d2 * __builtin_sqrt(d2));
            bd[i].vx -= dx * bd[j].mass * mag;
            bd[i].vy -= dy * bd[j].mass * mag;
            bd[i].vz -= dz * bd[j].mass * mag;
            bd[j].vx += dx * bd[i].mass * mag;
            bd[j].vy += dy * bd[i].mass * mag;
            bd[j].vz += dz * bd[i].mass * mag;
        }
    }
    for (int i = 0; i < NBODY; i++) {
        bd[i].x += dt * bd[i].vx;
        bd[i].y += dt * bd[i].vy;
        bd[i].z += dt * bd[i].vz;
    }
}

static double nbody_energy(const struct body *bd)
{
    double e = 0.0;
    for (int i = 0; i < NBODY; i++) {
        const struct body *p = &bd[i];
        e += 0.5 * p->mass * (p->vx * p->vx + p->vy * p->vy + p->vz * p->vz);
        for (int j = i + 1; j < NBODY; j++) {
            double dx = p->x - bd[j].x;
            double dy = p->y - bd[j].y;
            double dz = p->z - bd[j].z;
            e -= p->mass * bd[j].mass / __builtin_sqrt(dx * dx + dy * dy + dz * dz);
        }
    }
    return e;
}

/* The bits of a double, so the checksum demands exact rounding. */
static uint32_t fold_double(uint32_t h, const double *d)
{
    union {
        double d;
        uint32_t w[2];
    } u = {.d = *d};
    return bench_fold(bench_fold(h, u.w[0]), u.w[1]);
}

static uint32_t run_fpu(uint32_t count, struct body *bd)
{
    nbody_init(bd);
    for (uint32_t r = 0; r < count; r++) {
        nbody_step(bd, 0.001);
    }
    double e = nbody_energy(bd);
    uint32_t h = fold_double(2166136261u, &e);
    for (int i = 0; i < NBODY; i++) {
        h = fold_double(h, &bd[i].x);
        h = fold_double(h, &bd[i].vy);
    }
    return h;
}

uint32_t bench_run(uint32_t id, uint32_t count, void *mem)
{
    switch (id) {
    case BENCH_ALU:
        return run_alu(count, mem);
    case BENCH_COPY:
        return run_copy(count, mem);
    case BENCH_FIB:
        return run_fib(count);
    case BENCH_SORT:
        return run_sort(count, mem);
    case BENCH_MULDIV:
        return run_muldiv(count);
    case BENCH_FPU:
        return run_fpu(count, mem);
    default:
        return 0;
    }
}
