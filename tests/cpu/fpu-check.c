/*
 * fpu-check.c - compare cpu/fpu_soft.c against the host's x87.
 *
 * Build (32-bit x86 host code, so the x87 is at hand through inline asm):
 *   gcc -m32 -O2 -std=gnu11 -I cpu tests/cpu/fpu-check.c cpu/fpu_soft.c \
 *       cpu/fpu_trans.c -o fpu-check
 * Run:
 *   ./fpu-check [iterations-per-op] [seed]
 * For every operation, random operands (specials, denormals, extreme
 * exponents and cancellations included) under random RC/PC/masks are fed to
 * both; result bits, exception flags and condition codes must match.  The
 * transcendentals are only checked to within `ulps` of the host (the host
 * x87 is not correctly rounded either).  Exit status 1 on any mismatch.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fpu_soft.h"

#if !defined(__i386__) && !defined(__x86_64__)
#error "fpu-check needs an x86 host"
#endif

typedef struct __attribute__((packed)) {
    uint64_t mant;
    uint16_t sexp;
} m80;

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static uint64_t rnd_mant(void)
{
    switch (rnd() % 6) {
    case 0: return 0x8000000000000000ull | (rnd() & 0xFF);
    case 1: return ~0ull << (rnd() % 64);
    case 2: return 0x8000000000000000ull | (rnd() >> (rnd() % 64));
    case 3: return 0x8000000000000000ull | (~0ull >> (rnd() % 64));
    default: return 0x8000000000000000ull | rnd();
    }
}

static fx80 rnd_fx(void)
{
    fx80 v;
    uint16_t s = (rnd() & 1) ? 0x8000 : 0;
    unsigned k = rnd() % 100;
    v.mant = rnd_mant();
    if (k < 55) {
        v.sexp = s | (uint16_t)(0x3FFF + (int)(rnd() % 140) - 70);
    } else if (k < 65) {
        v.sexp = s | (uint16_t)(1 + rnd() % 80);
    } else if (k < 72) {
        v.sexp = s | (uint16_t)(0x7FFE - rnd() % 80);
    } else if (k < 78) {
        v.sexp = s | (uint16_t)(rnd() % 0x7FFF);
    } else if (k < 84) {
        v.sexp = s;
        v.mant = (rnd() % 4 == 0) ? v.mant : v.mant >> (1 + rnd() % 63);
    } else if (k < 88) {
        v.sexp = s;
        v.mant = 0;
    } else if (k < 91) {
        v.sexp = s | 0x7FFF;
        v.mant = 0x8000000000000000ull;
    } else if (k < 97) {
        v.sexp = s | 0x7FFF;
        v.mant = 0x8000000000000000ull | (rnd() >> 1);
        if (v.mant == 0x8000000000000000ull) {
            v.mant |= 1;
        }
    } else {
        v.sexp = s | (uint16_t)(rnd() % 0x8000);
        v.mant = rnd() >> 1;
        if (!(v.sexp & 0x7FFF)) {
            v.sexp |= 1;
        }
    }
    return v;
}

/* b close to a, to exercise cancellation in add/sub and remainders */
static fx80 rnd_near(fx80 a)
{
    fx80 b = a;
    switch (rnd() % 4) {
    case 0: b.mant ^= rnd() & 0xFFFF; break;
    case 1: b.sexp = (uint16_t)(b.sexp + (rnd() % 5) - 2); break;
    case 2: b.sexp ^= 0x8000; break;
    default: b = rnd_fx(); break;
    }
    return b;
}

static uint16_t rnd_cw(void)
{
    uint16_t cw = 0x0040 | (uint16_t)((rnd() & 3) << 10) | (uint16_t)((rnd() & 3) << 8);
    cw |= (rnd() % 4 == 0) ? (uint16_t)(rnd() & 0x3F) : 0x3F;
    return cw;
}

static m80 to_m80(fx80 v)
{
    return (m80){ v.mant, v.sexp };
}

static fx80 from_m80(m80 v)
{
    return (fx80){ .mant = v.mant, .sexp = v.sexp };
}

enum { OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_SQRT, OP_RNDINT, OP_SCALE, OP_PREM, OP_PREM1,
       OP_XTRACT, OP_COM, OP_UCOM, OP_IST16, OP_IST32, OP_IST64, OP_ST32, OP_ST64,
       OP_LD32, OP_LD64, OP_BSTP, OP_CONST, OP_SIN, OP_COS, OP_TAN, OP_ATAN, OP_F2XM1,
       OP_YL2X, OP_YL2XP1, OP_COUNT };
static const char *const names[OP_COUNT] = {
    "fadd", "fsub", "fmul", "fdiv", "fsqrt", "frndint", "fscale", "fprem", "fprem1",
    "fxtract", "fcom", "fucom", "fist16", "fist32", "fist64", "fst32", "fst64", "fld32",
    "fld64", "fbstp", "fldconst", "fsin", "fcos", "fptan", "fpatan", "f2xm1", "fyl2x",
    "fyl2xp1",
};

struct outcome {
    fx80 r0, r1;     /* register results */
    uint64_t mem;    /* memory results */
    uint8_t bcd[10];
    uint16_t sw;     /* exception flags + condition codes */
};

#define HOST_BIN(insn)                                                                  \
    __asm__ volatile("fninit\n\tfldcw %[cw]\n\tfldt %[b]\n\tfldt %[a]\n\t" insn         \
                     "\n\tfnstsw %[sw]\n\tfnclex\n\tfstpt %[r]\n\tfstpt %[r1]"           \
                     : [r] "=m"(r), [r1] "=m"(r1), [sw] "=m"(sw)                        \
                     : [a] "m"(ma), [b] "m"(mb), [cw] "m"(cw))

/* FPATAN, FYL2X, FYL2XP1: status word before the FLD1 that keeps the
 * two-register shape (FLD1 clears C1) */
#define HOST_POP(insn)                                                                  \
    __asm__ volatile("fninit\n\tfldcw %[cw]\n\tfldt %[b]\n\tfldt %[a]\n\t" insn         \
                     "\n\tfnstsw %[sw]\n\tfnclex\n\tfld1\n\tfstpt %[r]\n\tfstpt %[r1]"   \
                     : [r] "=m"(r), [r1] "=m"(r1), [sw] "=m"(sw)                        \
                     : [a] "m"(ma), [b] "m"(mb), [cw] "m"(cw))

static struct outcome host_op(int op, fx80 a, fx80 b, uint16_t cw, int k)
{
    m80 ma = to_m80(a), mb = to_m80(b), r = { 0, 0 }, r1 = { 0, 0 };
    uint16_t sw = 0;
    struct outcome o;
    memset(&o, 0, sizeof(o));
    uint64_t mem = 0;
    uint16_t mem16 = 0;
    uint32_t mem32 = 0;
    switch (op) {
    case OP_ADD: HOST_BIN("fadd %%st(1), %%st"); break;
    case OP_SUB: HOST_BIN("fsub %%st(1), %%st"); break;
    case OP_MUL: HOST_BIN("fmul %%st(1), %%st"); break;
    case OP_DIV: HOST_BIN("fdiv %%st(1), %%st"); break;
    case OP_SQRT: HOST_BIN("fsqrt"); break;
    case OP_RNDINT: HOST_BIN("frndint"); break;
    case OP_SCALE: HOST_BIN("fscale"); break;
    case OP_PREM: HOST_BIN("fprem"); break;
    case OP_PREM1: HOST_BIN("fprem1"); break;
    case OP_COM: HOST_BIN("fcom %%st(1)"); break;
    case OP_UCOM: HOST_BIN("fucom %%st(1)"); break;
    case OP_SIN: HOST_BIN("fsin"); break;
    case OP_COS: HOST_BIN("fcos"); break;
    case OP_F2XM1: HOST_BIN("f2xm1"); break;
    case OP_ATAN: HOST_POP("fpatan"); break;
    case OP_YL2X: HOST_POP("fyl2x"); break;
    case OP_YL2XP1: HOST_POP("fyl2xp1"); break;
    case OP_XTRACT:
        __asm__ volatile("fninit\n\tfldcw %[cw]\n\tfldt %[a]\n\tfxtract\n\tfnstsw %[sw]\n\t"
                         "fnclex\n\tfstpt %[r1]\n\tfstpt %[r]"
                         : [r] "=m"(r), [r1] "=m"(r1), [sw] "=m"(sw)
                         : [a] "m"(ma), [cw] "m"(cw));
        break;
    case OP_TAN:
        __asm__ volatile("fninit\n\tfldcw %[cw]\n\tfldt %[a]\n\tfptan\n\tfnstsw %[sw]\n\t"
                         "fnclex\n\tfstpt %[r1]\n\tfstpt %[r]"
                         : [r] "=m"(r), [r1] "=m"(r1), [sw] "=m"(sw)
                         : [a] "m"(ma), [cw] "m"(cw));
        break;
    case OP_IST16:
        __asm__ volatile("fninit\n\tfldcw %[cw]\n\tfldt %[a]\n\tfistps %[m]\n\tfnstsw %[sw]"
                         : [m] "+m"(mem16), [sw] "=m"(sw)
                         : [a] "m"(ma), [cw] "m"(cw));
        break;
    case OP_IST32:
        __asm__ volatile("fninit\n\tfldcw %[cw]\n\tfldt %[a]\n\tfistpl %[m]\n\tfnstsw %[sw]"
                         : [m] "+m"(mem32), [sw] "=m"(sw)
                         : [a] "m"(ma), [cw] "m"(cw));
        break;
    case OP_IST64:
        __asm__ volatile("fninit\n\tfldcw %[cw]\n\tfldt %[a]\n\tfistpll %[m]\n\tfnstsw %[sw]"
                         : [m] "+m"(mem), [sw] "=m"(sw)
                         : [a] "m"(ma), [cw] "m"(cw));
        break;
    case OP_ST32:
        __asm__ volatile("fninit\n\tfldcw %[cw]\n\tfldt %[a]\n\tfstps %[m]\n\tfnstsw %[sw]"
                         : [m] "+m"(mem32), [sw] "=m"(sw)
                         : [a] "m"(ma), [cw] "m"(cw));
        break;
    case OP_ST64:
        __asm__ volatile("fninit\n\tfldcw %[cw]\n\tfldt %[a]\n\tfstpl %[m]\n\tfnstsw %[sw]"
                         : [m] "+m"(mem), [sw] "=m"(sw)
                         : [a] "m"(ma), [cw] "m"(cw));
        break;
    case OP_LD32: {
        uint32_t v = (uint32_t)a.mant;
        __asm__ volatile("fninit\n\tfldcw %[cw]\n\tflds %[m]\n\tfnstsw %[sw]\n\tfnclex\n\t"
                         "fstpt %[r]"
                         : [r] "=m"(r), [sw] "=m"(sw)
                         : [m] "m"(v), [cw] "m"(cw));
        break;
    }
    case OP_LD64:
        __asm__ volatile("fninit\n\tfldcw %[cw]\n\tfldl %[m]\n\tfnstsw %[sw]\n\tfnclex\n\t"
                         "fstpt %[r]"
                         : [r] "=m"(r), [sw] "=m"(sw)
                         : [m] "m"(a.mant), [cw] "m"(cw));
        break;
    case OP_BSTP:
        __asm__ volatile("fninit\n\tfldcw %[cw]\n\tfldt %[a]\n\tfbstp %[m]\n\tfnstsw %[sw]"
                         : [m] "+m"(o.bcd), [sw] "=m"(sw)
                         : [a] "m"(ma), [cw] "m"(cw));
        break;
    case OP_CONST:
        switch (k) {
        case FX_K_ONE: HOST_BIN("fld1"); break;
        case FX_K_L2T: HOST_BIN("fldl2t"); break;
        case FX_K_L2E: HOST_BIN("fldl2e"); break;
        case FX_K_PI: HOST_BIN("fldpi"); break;
        case FX_K_LG2: HOST_BIN("fldlg2"); break;
        case FX_K_LN2: HOST_BIN("fldln2"); break;
        default: HOST_BIN("fldz"); break;
        }
        break;
    default: break;
    }
    o.r0 = from_m80(r);
    o.r1 = from_m80(r1);
    o.mem = mem | mem16 | mem32;
    o.sw = sw & 0x473F; /* flags (no SF) and C0-C3 */
    return o;
}

static uint16_t cc_of_cmp(int r)
{
    return r == FX_LT ? 0x100 : r == FX_EQ ? 0x4000 : r == FX_GT ? 0 : 0x4500;
}

static struct outcome soft_op(int op, fx80 a, fx80 b, uint16_t cw, int k)
{
    struct fx_ctx c = { .rc = (cw >> 10) & 3, .pc = (cw >> 8) & 3, .masks = cw & 0x3F };
    struct outcome o;
    memset(&o, 0, sizeof(o));
    uint16_t cc = 0;
    bool c1_valid = true;
    switch (op) {
    case OP_ADD: o.r0 = fx_add(&c, a, b); break;
    case OP_SUB: o.r0 = fx_sub(&c, a, b); break;
    case OP_MUL: o.r0 = fx_mul(&c, a, b); break;
    case OP_DIV: o.r0 = fx_div(&c, a, b); break;
    case OP_SQRT: o.r0 = fx_sqrt(&c, a); break;
    case OP_RNDINT: o.r0 = fx_rndint(&c, a); break;
    case OP_SCALE: o.r0 = fx_scale(&c, a, b); break;
    case OP_PREM: case OP_PREM1: {
        unsigned q;
        bool inc;
        fx_prem(&c, a, b, op == OP_PREM1, &o.r0, &q, &inc);
        cc = inc ? 0x400 : (uint16_t)((q & 4 ? 0x100 : 0) | (q & 2 ? 0x4000 : 0) | (q & 1 ? 0x200 : 0));
        c1_valid = false;
        break;
    }
    case OP_XTRACT: fx_xtract(&c, a, &o.r0, &o.r1); break;
    case OP_COM: case OP_UCOM: cc = cc_of_cmp(fx_cmp(&c, a, b, op == OP_UCOM)); break;
    case OP_IST16: o.mem = (uint16_t)fx_to_int(&c, a, 16, false); break;
    case OP_IST32: o.mem = (uint32_t)fx_to_int(&c, a, 32, false); break;
    case OP_IST64: o.mem = (uint64_t)fx_to_int(&c, a, 64, false); break;
    case OP_ST32: o.mem = fx_to_f32(&c, a); break;
    case OP_ST64: o.mem = fx_to_f64(&c, a); break;
    case OP_LD32: o.r0 = fx_from_f32(&c, (uint32_t)a.mant); break;
    case OP_LD64: o.r0 = fx_from_f64(&c, a.mant); break;
    case OP_BSTP: fx_to_bcd(&c, a, o.bcd); break;
    case OP_CONST: o.r0 = fx_const(&c, k); break;
    case OP_SIN: if (fx_sin(&c, a, &o.r0)) { o.r0 = a; cc = 0x400; } break;
    case OP_COS: if (fx_cos(&c, a, &o.r0)) { o.r0 = a; cc = 0x400; } break;
    case OP_TAN:
        if (fx_ptan(&c, a, &o.r0)) {
            o.r1 = a;
            o.r0 = FX_INDEFINITE;
            cc = 0x400;
        } else {
            /* a NaN result is pushed twice, as FPTAN does */
            o.r1 = fx_is_nan(o.r0) ? o.r0 : fx_const(&(struct fx_ctx){ 0 }, FX_K_ONE);
        }
        break;
    case OP_ATAN: o.r1 = fx_patan(&c, b, a); break;
    case OP_F2XM1: o.r0 = fx_f2xm1(&c, a); break;
    case OP_YL2X: o.r1 = fx_yl2x(&c, a, b); break;
    case OP_YL2XP1: o.r1 = fx_yl2xp1(&c, a, b); break;
    default: break;
    }
    fx80 one = fx_const(&(struct fx_ctx){ 0 }, FX_K_ONE);
    switch (op) {
    case OP_COM: case OP_UCOM: o.r0 = a; o.r1 = b; break;
    case OP_SQRT: case OP_RNDINT: case OP_SCALE: case OP_PREM: case OP_PREM1:
    case OP_SIN: case OP_COS: case OP_F2XM1: case OP_ADD: case OP_SUB: case OP_MUL:
    case OP_DIV: o.r1 = b; break;
    case OP_CONST: o.r1 = a; break;
    case OP_ATAN: case OP_YL2X: case OP_YL2XP1: o.r0 = one; break;
    default: break;
    }
    uint16_t exc = c.exc;
    if (exc & ~cw & (FX_IE | FX_DE | FX_ZE)) {
        exc &= FX_IE | FX_DE | FX_ZE;
        if (op != OP_COM && op != OP_UCOM) {
            cc = 0; /* compares still set the condition codes */
        }
    }
    o.sw = exc | cc;
    if (c1_valid && (exc & FX_PE) && c.c1) {
        o.sw |= 0x200;
    }
    return o;
}

static void print_fx(const char *tag, fx80 v)
{
    printf(" %s=%04x:%016" PRIx64, tag, v.sexp, v.mant);
}

/* distance in units of the last place between two finite values */
static uint64_t ulp_dist(fx80 a, fx80 b)
{
    if ((a.sexp ^ b.sexp) & 0x8000) {
        return (a.mant == b.mant && ((a.sexp ^ b.sexp) & 0x7FFF) == 0 && a.mant == 0) ? 0 : ~0ull;
    }
    int ea = a.sexp & 0x7FFF, eb = b.sexp & 0x7FFF;
    if (ea == eb) {
        return a.mant > b.mant ? a.mant - b.mant : b.mant - a.mant;
    }
    if (ea == eb + 1 || eb == ea + 1) {
        fx80 hi = ea > eb ? a : b, lo = ea > eb ? b : a;
        return (hi.mant - 0x8000000000000000ull) * 2 + (0xFFFFFFFFFFFFFFFFull - lo.mant) + 1;
    }
    return ~0ull;
}

static bool is_trans(int op)
{
    return op >= OP_SIN;
}

static fx80 operand_a(int op)
{
    fx80 a = rnd_fx();
    if (op == OP_LD32 || op == OP_LD64) {
        a.mant = rnd() % 8 == 0 ? (rnd() & 0x807FFFFF) : rnd();
        if (rnd() % 8 == 0) {
            a.mant |= op == OP_LD32 ? 0x7F800000ull : 0x7FF0000000000000ull;
        }
    }
    if (op == OP_F2XM1 && rnd() % 4) {
        a.sexp = (a.sexp & 0x8000) | (uint16_t)(0x3FFF - 1 - rnd() % 70);
    }
    if ((op == OP_SIN || op == OP_COS || op == OP_TAN) && rnd() % 4) {
        a.sexp = (a.sexp & 0x8000) | (uint16_t)(0x3FFF - 10 + rnd() % 80);
    }
    if (op == OP_YL2XP1) {
        a.sexp = (a.sexp & 0x8000) | (uint16_t)(0x3FFF - 3 - rnd() % 70);
    }
    if (op == OP_YL2X && rnd() % 2) {
        a.sexp &= 0x7FFF;
    }
    return a;
}

static int check_op(int op, long iters, unsigned ulps)
{
    long bad = 0, inexact = 0;
    uint64_t worst = 0;
    for (long i = 0; i < iters; i++) {
        fx80 a = operand_a(op), b = (rnd() & 1) ? rnd_near(a) : rnd_fx();
        uint16_t cw = rnd_cw();
        int k = (int)(rnd() % 7);
        if (is_trans(op)) {
            cw |= 0x3F;
        }
        struct outcome h = host_op(op, a, b, cw, k), s = soft_op(op, a, b, cw, k);
        bool suppressed = (h.sw & ~cw & 7) != 0;
        bool ok;
        if (is_trans(op)) {
            uint64_t d0 = ulp_dist(h.r0, s.r0), d1 = ulp_dist(h.r1, s.r1);
            uint64_t d = d0 > d1 ? d0 : d1;
            /* flags and C2 exact; C0 and C3 are undefined.  C1 (rounded
             * up) is not compared: when the exact value lies very near a
             * representable one, each implementation reports the
             * direction of its own approximation (checked against 500-bit
             * values: the library's C1 is the true direction, the host's
             * sometimes is not, even with identical results) */
            ok = d <= ulps && (h.sw & 0x043F) == (s.sw & 0x043F);
            inexact += d != 0;
            if (d != ~0ull && d > worst) {
                worst = d;
            }
        } else {
            bool stored = (h.sw & ~cw & (FX_IE | FX_OE | FX_UE)) == 0;
            ok = h.sw == s.sw;
            if (stored) {
                ok = ok && h.mem == s.mem && !memcmp(h.bcd, s.bcd, 10);
            }
            if (!suppressed) {
                ok = ok && h.r0.mant == s.r0.mant && h.r0.sexp == s.r0.sexp &&
                     h.r1.mant == s.r1.mant && h.r1.sexp == s.r1.sexp;
            }
        }
        if (!ok && ++bad <= 8) {
            printf("%s cw=%04x k=%d", names[op], cw, k);
            print_fx("a", a);
            print_fx("b", b);
            printf("\n   host sw=%04x", h.sw);
            print_fx("r0", h.r0);
            print_fx("r1", h.r1);
            printf(" mem=%016" PRIx64 "\n   soft sw=%04x", h.mem, s.sw);
            print_fx("r0", s.r0);
            print_fx("r1", s.r1);
            printf(" mem=%016" PRIx64 "\n", s.mem);
        }
    }
    printf("%-9s %ld/%ld mismatches", names[op], bad, iters);
    if (is_trans(op)) {
        printf(" (%ld not bit-exact, worst %" PRIu64 " ulp)", inexact, worst);
    }
    printf("\n");
    return bad != 0;
}

int main(int argc, char **argv)
{
    long iters = argc > 1 ? atol(argv[1]) : 200000;
    if (argc > 2) {
        rng_state = strtoull(argv[2], NULL, 0) | 1;
    }
    const char *only = argc > 3 ? argv[3] : NULL;
    int fails = 0;
    for (int op = 0; op < OP_COUNT; op++) {
        if (only && strcmp(only, names[op])) {
            continue;
        }
        fails += check_op(op, is_trans(op) ? iters / 10 : iters, 1);
    }
    return fails != 0;
}
