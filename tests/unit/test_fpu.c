/*
 * The x87: the soft-float library's bits (checked against values computed
 * to 200 bits with a multiprecision library and confirmed on a hardware
 * x87), and the instruction layer run through the interpreter: stack and
 * tags, status word, FSAVE/FRSTOR, FXSAVE, #NM, #MF and FERR#.
 */
#include <criterion/criterion.h>

#include "cpu/fpu_soft.h"
#include "machine.h"

#define X(e, m) ((fx80){ .mant = (m), .sexp = (e) })

static struct fx_ctx ctx(int rc, int pc)
{
    return (struct fx_ctx){ .rc = (uint8_t)rc, .pc = (uint8_t)pc, .masks = 0x3F };
}

static void expect_fx(fx80 got, fx80 want)
{
    cr_expect(got.sexp == want.sexp && got.mant == want.mant,
              "got %04x:%016llx want %04x:%016llx", got.sexp, (unsigned long long)got.mant,
              want.sexp, (unsigned long long)want.mant);
}

static const fx80 ONE = X(0x3FFF, 0x8000000000000000ull);
static const fx80 TWO = X(0x4000, 0x8000000000000000ull);
static const fx80 THREE = X(0x4000, 0xC000000000000000ull);
static const fx80 HALF = X(0x3FFE, 0x8000000000000000ull);

/* ---- arithmetic and rounding ---- */

Test(fpu_soft, one_third_every_rc_and_pc)
{
    static const struct {
        int rc, pc;
        uint64_t mant;
        bool c1;
    } t[] = {
        { FX_RC_NEAREST, FX_PC_64, 0xAAAAAAAAAAAAAAABull, true },
        { FX_RC_DOWN, FX_PC_64, 0xAAAAAAAAAAAAAAAAull, false },
        { FX_RC_UP, FX_PC_64, 0xAAAAAAAAAAAAAAABull, true },
        { FX_RC_ZERO, FX_PC_64, 0xAAAAAAAAAAAAAAAAull, false },
        { FX_RC_NEAREST, FX_PC_24, 0xAAAAAB0000000000ull, true },
        { FX_RC_NEAREST, FX_PC_53, 0xAAAAAAAAAAAAA800ull, false },
        { FX_RC_UP, FX_PC_53, 0xAAAAAAAAAAAAB000ull, true },
        { FX_RC_DOWN, FX_PC_24, 0xAAAAAA0000000000ull, false },
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct fx_ctx c = ctx(t[i].rc, t[i].pc);
        expect_fx(fx_div(&c, ONE, THREE), X(0x3FFD, t[i].mant));
        cr_expect_eq(c.exc, FX_PE);
        cr_expect_eq(c.c1, t[i].c1, "case %zu", i);
    }
}

Test(fpu_soft, sqrt_two)
{
    struct fx_ctx c = ctx(FX_RC_NEAREST, FX_PC_64);
    expect_fx(fx_sqrt(&c, TWO), X(0x3FFF, 0xB504F333F9DE6484ull));
    cr_expect_eq(c.exc, FX_PE);
    c = ctx(FX_RC_UP, FX_PC_64);
    expect_fx(fx_sqrt(&c, TWO), X(0x3FFF, 0xB504F333F9DE6485ull));
    cr_expect(c.c1);
    c = ctx(FX_RC_NEAREST, FX_PC_64);
    expect_fx(fx_sqrt(&c, X(0x4002, 0x9000000000000000ull)), THREE); /* sqrt 9, exact */
    cr_expect_eq(c.exc, 0);
    c = ctx(FX_RC_NEAREST, FX_PC_64);
    expect_fx(fx_sqrt(&c, fx_neg(TWO)), FX_INDEFINITE);
    cr_expect_eq(c.exc, FX_IE);
    expect_fx(fx_sqrt(&c, fx_zero(true)), fx_zero(true));
}

Test(fpu_soft, add_sub_signs_and_cancellation)
{
    struct fx_ctx c = ctx(FX_RC_NEAREST, FX_PC_64);
    expect_fx(fx_add(&c, ONE, TWO), THREE);
    expect_fx(fx_sub(&c, ONE, ONE), fx_zero(false));
    c = ctx(FX_RC_DOWN, FX_PC_64);
    expect_fx(fx_sub(&c, ONE, ONE), fx_zero(true)); /* x - x = -0 rounding down */
    c = ctx(FX_RC_NEAREST, FX_PC_64);
    /* 1 + 2^-64: the sticky half rounds to even (down) */
    expect_fx(fx_add(&c, ONE, X(0x3FBF, 0x8000000000000000ull)), ONE);
    cr_expect_eq(c.exc, FX_PE);
    c = ctx(FX_RC_NEAREST, FX_PC_64);
    expect_fx(fx_add(&c, fx_inf(false), fx_inf(true)), FX_INDEFINITE);
    cr_expect_eq(c.exc, FX_IE);
}

Test(fpu_soft, mul_div_specials)
{
    struct fx_ctx c = ctx(FX_RC_NEAREST, FX_PC_64);
    expect_fx(fx_mul(&c, fx_zero(false), fx_inf(true)), FX_INDEFINITE);
    cr_expect_eq(c.exc, FX_IE);
    c = ctx(FX_RC_NEAREST, FX_PC_64);
    expect_fx(fx_div(&c, fx_neg(ONE), fx_zero(false)), fx_inf(true));
    cr_expect_eq(c.exc, FX_ZE);
    c = ctx(FX_RC_NEAREST, FX_PC_64);
    expect_fx(fx_div(&c, fx_zero(false), fx_zero(true)), FX_INDEFINITE);
    cr_expect_eq(c.exc, FX_IE);
}

Test(fpu_soft, nan_propagation)
{
    fx80 q1 = X(0xFFFF, 0xC000000000000100ull), q2 = X(0x7FFF, 0xC000000000000200ull);
    fx80 s_big = X(0x7FFF, 0xBFFFFFFFFFFFFFFFull);
    struct fx_ctx c = ctx(FX_RC_NEAREST, FX_PC_64);
    expect_fx(fx_add(&c, q1, q2), q2); /* larger significand */
    cr_expect_eq(c.exc, 0);
    c = ctx(FX_RC_NEAREST, FX_PC_64);
    expect_fx(fx_mul(&c, s_big, q1), q1); /* a QNaN beats an SNaN */
    cr_expect_eq(c.exc, FX_IE);
    c = ctx(FX_RC_NEAREST, FX_PC_64);
    expect_fx(fx_sub(&c, ONE, s_big), X(0x7FFF, 0xFFFFFFFFFFFFFFFFull)); /* quietened */
    cr_expect_eq(c.exc, FX_IE);
    c = ctx(FX_RC_NEAREST, FX_PC_64);
    expect_fx(fx_add(&c, ONE, X(0x4000, 0x4000000000000000ull)), FX_INDEFINITE); /* unnormal */
    cr_expect_eq(c.exc, FX_IE);
}

Test(fpu_soft, denormals_and_underflow)
{
    fx80 min_normal = X(0x0001, 0x8000000000000000ull);
    struct fx_ctx c = ctx(FX_RC_NEAREST, FX_PC_64);
    /* exact denormal result: no UE while masked */
    expect_fx(fx_mul(&c, min_normal, HALF), X(0x0000, 0x4000000000000000ull));
    cr_expect_eq(c.exc, 0);
    /* inexact denormal: UE and PE */
    c = ctx(FX_RC_NEAREST, FX_PC_64);
    fx_mul(&c, X(0x0001, 0x8000000000000001ull), X(0x3FBF, 0x8000000000000000ull));
    cr_expect_eq(c.exc, FX_UE | FX_PE);
    /* a denormal operand raises DE */
    c = ctx(FX_RC_NEAREST, FX_PC_64);
    expect_fx(fx_add(&c, X(0x0000, 0x0000000000000001ull), X(0x0000, 0x0000000000000001ull)),
              X(0x0000, 0x0000000000000002ull));
    cr_expect_eq(c.exc, FX_DE);
    /* unmasked UE: the exponent is biased by +24576 */
    c = ctx(FX_RC_NEAREST, FX_PC_64);
    c.masks = 0x3F & ~FX_UE;
    expect_fx(fx_mul(&c, min_normal, X(0x3FF5, 0x8000000000000000ull)),
              X(0x5FF7, 0x8000000000000000ull));
    cr_expect_eq(c.exc, FX_UE);
}

Test(fpu_soft, overflow_by_rounding_mode)
{
    fx80 max = X(0x7FFE, 0xFFFFFFFFFFFFFFFFull);
    struct fx_ctx c = ctx(FX_RC_NEAREST, FX_PC_64);
    expect_fx(fx_mul(&c, max, TWO), fx_inf(false));
    cr_expect_eq(c.exc, FX_OE | FX_PE);
    cr_expect(c.c1);
    c = ctx(FX_RC_ZERO, FX_PC_64);
    expect_fx(fx_mul(&c, max, TWO), max);
    c = ctx(FX_RC_UP, FX_PC_24);
    expect_fx(fx_mul(&c, fx_neg(max), TWO), X(0xFFFE, 0xFFFFFF0000000000ull));
    /* unmasked OE: exponent biased by -24576 */
    c = ctx(FX_RC_NEAREST, FX_PC_64);
    c.masks = 0x3F & ~FX_OE;
    expect_fx(fx_mul(&c, X(0x7FFE, 0x8000000000000000ull), TWO),
              X(0x1FFF, 0x8000000000000000ull));
    cr_expect_eq(c.exc, FX_OE);
}

Test(fpu_soft, rndint_scale_xtract)
{
    fx80 two_half = X(0x4000, 0xA000000000000000ull); /* 2.5 */
    struct fx_ctx c = ctx(FX_RC_NEAREST, FX_PC_64);
    expect_fx(fx_rndint(&c, two_half), TWO);
    cr_expect_eq(c.exc, FX_PE);
    c = ctx(FX_RC_UP, FX_PC_64);
    expect_fx(fx_rndint(&c, two_half), THREE);
    cr_expect(c.c1);
    c = ctx(FX_RC_NEAREST, FX_PC_64);
    expect_fx(fx_scale(&c, ONE, X(0x4002, 0xA000000000000000ull)), /* 1 * 2^10 */
              X(0x4009, 0x8000000000000000ull));
    fx80 e, s;
    fx_xtract(&c, X(0x4002, 0xA000000000000000ull), &e, &s); /* 10 = 1.25 * 2^3 */
    expect_fx(e, THREE);
    expect_fx(s, X(0x3FFF, 0xA000000000000000ull));
    c = ctx(FX_RC_NEAREST, FX_PC_64);
    fx_xtract(&c, fx_zero(true), &e, &s);
    expect_fx(e, fx_inf(true));
    cr_expect_eq(c.exc, FX_ZE);
}

Test(fpu_soft, prem_quotient_bits)
{
    fx80 ten = X(0x4002, 0xA000000000000000ull), eleven = X(0x4002, 0xB000000000000000ull);
    struct fx_ctx c = ctx(FX_RC_NEAREST, FX_PC_64);
    fx80 r;
    unsigned q;
    bool inc;
    fx_prem(&c, ten, THREE, false, &r, &q, &inc);
    expect_fx(r, ONE);
    cr_expect_eq(q, 3);
    cr_expect(!inc);
    fx_prem(&c, eleven, THREE, true, &r, &q, &inc); /* 11 = 4*3 - 1 */
    expect_fx(r, fx_neg(ONE));
    cr_expect_eq(q, 4);
    fx_prem(&c, X(0x4063, 0x8000000000000000ull), THREE, false, &r, &q, &inc); /* 2^100 */
    cr_expect(inc);
    cr_expect_eq(c.exc, 0);
}

Test(fpu_soft, integer_conversions)
{
    fx80 two_half = X(0x4000, 0xA000000000000000ull), three_half = X(0x4000, 0xE000000000000000ull);
    struct fx_ctx c = ctx(FX_RC_NEAREST, FX_PC_64);
    cr_expect_eq(fx_to_int(&c, two_half, 16, false), 2);
    cr_expect_eq(fx_to_int(&c, three_half, 16, false), 4);
    cr_expect_eq(fx_to_int(&c, fx_neg(two_half), 32, false), -2);
    cr_expect_eq(fx_to_int(&c, three_half, 32, true), 3);
    c = ctx(FX_RC_DOWN, FX_PC_64);
    cr_expect_eq(fx_to_int(&c, fx_neg(two_half), 64, false), -3);
    cr_expect_eq(c.exc, FX_PE);
    c = ctx(FX_RC_NEAREST, FX_PC_64);
    cr_expect_eq(fx_to_int(&c, X(0x400D, 0xFFFF000000000000ull), 16, false), INT16_MIN); /* 32767.5 */
    cr_expect_eq(c.exc, FX_IE);
    c = ctx(FX_RC_NEAREST, FX_PC_64);
    cr_expect_eq(fx_to_int(&c, X(0xC00E, 0x8000000000000000ull), 16, false), INT16_MIN); /* -32768 */
    cr_expect_eq(c.exc, 0);
    cr_expect_eq(fx_to_int(&c, X(0x401E, 0x8000000000000000ull), 32, false), INT32_MIN); /* 2^31 */
    cr_expect_eq(c.exc, FX_IE);
    c = ctx(FX_RC_NEAREST, FX_PC_64);
    expect_fx(fx_from_i64(&c, INT64_MIN), X(0xC03E, 0x8000000000000000ull));
    expect_fx(fx_from_i64(&c, 10), X(0x4002, 0xA000000000000000ull));
}

Test(fpu_soft, float_conversions)
{
    struct fx_ctx c = ctx(FX_RC_NEAREST, FX_PC_64);
    fx80 third = X(0x3FFD, 0xAAAAAAAAAAAAAAABull);
    cr_expect_eq(fx_to_f32(&c, third), 0x3EAAAAABu);
    cr_expect_eq(fx_to_f64(&c, third), 0x3FD5555555555555ull);
    cr_expect_eq(c.exc, FX_PE);
    c = ctx(FX_RC_NEAREST, FX_PC_64);
    expect_fx(fx_from_f32(&c, 0x00000001u), X(0x3F6A, 0x8000000000000000ull)); /* 2^-149 */
    cr_expect_eq(c.exc, FX_DE);
    c = ctx(FX_RC_NEAREST, FX_PC_64);
    expect_fx(fx_from_f64(&c, 0x7FF0000000000001ull), X(0x7FFF, 0xC000000000000800ull));
    cr_expect_eq(c.exc, FX_IE); /* SNaN load */
    c = ctx(FX_RC_ZERO, FX_PC_64);
    cr_expect_eq(fx_to_f32(&c, X(0x7000, 0x8000000000000000ull)), 0x7F7FFFFFu);
    cr_expect_eq(c.exc, FX_OE | FX_PE);
    c = ctx(FX_RC_NEAREST, FX_PC_64);
    cr_expect_eq(fx_to_f32(&c, X(0x3F6A, 0xC000000000000000ull)), 0x00000002u); /* 1.5*2^-149 */
    cr_expect_eq(c.exc, FX_UE | FX_PE);
}

Test(fpu_soft, bcd)
{
    struct fx_ctx c = ctx(FX_RC_NEAREST, FX_PC_64);
    uint8_t b[10];
    static const uint8_t want[10] = { 0x89, 0x67, 0x45, 0x23, 0x01, 0, 0, 0, 0, 0 };
    cr_assert(fx_to_bcd(&c, fx_from_i64(&c, 123456789), b));
    cr_expect_arr_eq(b, want, 10);
    expect_fx(fx_from_bcd(&c, want), fx_from_i64(&c, 123456789));
    uint8_t neg[10] = { 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0x80 };
    expect_fx(fx_from_bcd(&c, neg), fx_neg(ONE));
    cr_expect(!fx_to_bcd(&c, fx_from_i64(&c, 1000000000000000000ll), b));
    static const uint8_t indef[10] = { 0, 0, 0, 0, 0, 0, 0, 0xC0, 0xFF, 0xFF };
    cr_expect_arr_eq(b, indef, 10);
    cr_expect_eq(c.exc, FX_IE);
}

Test(fpu_soft, compare_and_xam)
{
    fx80 qnan = X(0x7FFF, 0xC000000000000000ull);
    struct fx_ctx c = ctx(FX_RC_NEAREST, FX_PC_64);
    cr_expect_eq(fx_cmp(&c, ONE, TWO, false), FX_LT);
    cr_expect_eq(fx_cmp(&c, fx_zero(true), fx_zero(false), false), FX_EQ);
    cr_expect_eq(fx_cmp(&c, fx_inf(false), TWO, false), FX_GT);
    cr_expect_eq(c.exc, 0);
    cr_expect_eq(fx_cmp(&c, qnan, ONE, true), FX_UN);
    cr_expect_eq(c.exc, 0);
    cr_expect_eq(fx_cmp(&c, qnan, ONE, false), FX_UN);
    cr_expect_eq(c.exc, FX_IE);
    cr_expect_eq(fx_xam(ONE), 2);
    cr_expect_eq(fx_xam(fx_inf(true)), 3);
    cr_expect_eq(fx_xam(fx_zero(false)), 4);
    cr_expect_eq(fx_xam(X(0, 1)), 6);
    cr_expect_eq(fx_xam(qnan), 1);
    cr_expect_eq(fx_xam(X(0x4000, 0x4000000000000000ull)), 0);
}

Test(fpu_soft, constants_follow_rc)
{
    struct fx_ctx c = ctx(FX_RC_NEAREST, FX_PC_64);
    expect_fx(fx_const(&c, FX_K_PI), X(0x4000, 0xC90FDAA22168C235ull));
    expect_fx(fx_const(&c, FX_K_L2E), X(0x3FFF, 0xB8AA3B295C17F0BCull));
    expect_fx(fx_const(&c, FX_K_L2T), X(0x4000, 0xD49A784BCD1B8AFEull));
    expect_fx(fx_const(&c, FX_K_LG2), X(0x3FFD, 0x9A209A84FBCFF799ull));
    expect_fx(fx_const(&c, FX_K_LN2), X(0x3FFE, 0xB17217F7D1CF79ACull));
    c = ctx(FX_RC_DOWN, FX_PC_64);
    expect_fx(fx_const(&c, FX_K_PI), X(0x4000, 0xC90FDAA22168C234ull));
    c = ctx(FX_RC_UP, FX_PC_64);
    expect_fx(fx_const(&c, FX_K_L2T), X(0x4000, 0xD49A784BCD1B8AFFull));
    cr_expect_eq(c.exc, 0);
}

/* ---- transcendentals: correctly rounded references ---- */

Test(fpu_soft, transcendentals)
{
    struct fx_ctx c = ctx(FX_RC_NEAREST, FX_PC_64);
    fx80 r, r2;
    cr_expect(!fx_sin(&c, ONE, &r));
    expect_fx(r, X(0x3FFE, 0xD76AA47848677021ull));
    cr_expect(!fx_sin(&c, HALF, &r));
    expect_fx(r, X(0x3FFD, 0xF57743A2582F7F44ull));
    cr_expect(!fx_sincos(&c, HALF, &r2, &r));
    expect_fx(r, X(0x3FFE, 0xE0A94032DBEA7CEEull));
    expect_fx(r2, X(0x3FFD, 0xF57743A2582F7F44ull));
    expect_fx(fx_patan(&c, ONE, ONE), X(0x3FFE, 0xC90FDAA22168C235ull)); /* pi/4 */
    expect_fx(fx_f2xm1(&c, HALF), X(0x3FFD, 0xD413CCCFE7799211ull));     /* sqrt2 - 1 */
    expect_fx(fx_yl2x(&c, X(0x4002, 0xA000000000000000ull), ONE),
              X(0x4000, 0xD49A784BCD1B8AFEull)); /* log2(10) */
    cr_expect_eq(c.exc, FX_PE);
    /* sin of a tiny value is the value (PE), or one below toward zero */
    fx80 tiny = X(0x3FC3, 0x8000000000000000ull); /* 2^-60 */
    c = ctx(FX_RC_NEAREST, FX_PC_64);
    fx_sin(&c, tiny, &r);
    expect_fx(r, tiny);
    c = ctx(FX_RC_ZERO, FX_PC_64);
    fx_sin(&c, tiny, &r);
    expect_fx(r, X(0x3FC2, 0xFFFFFFFFFFFFFFFFull));
    /* |x| >= 2^63 is out of range: C2, nothing changed */
    c = ctx(FX_RC_NEAREST, FX_PC_64);
    r = ONE;
    cr_expect(fx_sin(&c, X(0x403E, 0x8000000000000000ull), &r));
    expect_fx(r, ONE);
    cr_expect_eq(c.exc, 0);
    /* log of a negative number is invalid, of zero a zero divide */
    c = ctx(FX_RC_NEAREST, FX_PC_64);
    expect_fx(fx_yl2x(&c, fx_neg(TWO), ONE), FX_INDEFINITE);
    cr_expect_eq(c.exc, FX_IE);
    c = ctx(FX_RC_NEAREST, FX_PC_64);
    expect_fx(fx_yl2x(&c, fx_zero(false), ONE), fx_inf(true));
    cr_expect_eq(c.exc, FX_ZE);
}

/* ---- the instruction layer ---- */

#define MEM 0x3000

static void put(struct tm *t, uint32_t a, const void *p, size_t n)
{
    memcpy(t->bus->ram + a, p, n);
}

static uint16_t rd16(struct tm *t, uint32_t a)
{
    return (uint16_t)(t->bus->ram[a] | t->bus->ram[a + 1] << 8);
}

static fx80 rd80(struct tm *t, uint32_t a)
{
    fx80 v;
    memcpy(&v.mant, t->bus->ram + a, 8);
    v.sexp = rd16(t, a + 8);
    return v;
}

/* Real-mode IVT entry vec -> 0000:off, with HLT at off. */
static void ivt_hlt(struct tm *t, int vec, uint16_t off)
{
    uint8_t e[4] = { (uint8_t)off, (uint8_t)(off >> 8), 0, 0 };
    put(t, 4u * (unsigned)vec, e, 4);
    t->bus->ram[off] = 0xF4;
}

static fx80 st(struct tm *t, unsigned i)
{
    unsigned p = (((t->cpu->fpu.sw >> 11) & 7) + i) & 7;
    return X(t->cpu->fpu.sexp[p], t->cpu->fpu.mant[p]);
}

static void run(struct tm *t, const uint8_t *code, size_t n)
{
    tm_run(t, code, n, 100);
}

Test(fpu_insn, fldpi_fstp_and_stack)
{
    struct tm t = tm_new();
    const uint8_t code[] = {
        0xDB, 0xE3,             /* fninit */
        0xD9, 0xEB,             /* fldpi */
        0xD9, 0xE8,             /* fld1 */
        0xDE, 0xC1,             /* faddp st1, st0 */
        0xDB, 0x3E, 0x00, 0x30, /* fstp tword [0x3000] */
        0xF4,
    };
    run(&t, code, sizeof(code));
    expect_fx(rd80(&t, MEM), X(0x4001, 0x8487ED5110B4611Aull)); /* pi + 1 */
    cr_expect_eq(t.cpu->fpu.tw, 0xFFFF);
    cr_expect_eq(t.cpu->fpu.sw & 0x3800, 0); /* TOP back to 0 */
    cr_expect_eq(t.cpu->fpu.sw & 0x3F, 0x20);
    tm_free(&t);
}

Test(fpu_insn, fcom_unordered_status)
{
    struct tm t = tm_new();
    fx80 qnan = X(0x7FFF, 0xC000000000000000ull);
    put(&t, MEM, &qnan.mant, 8);
    put(&t, MEM + 8, &qnan.sexp, 2);
    const uint8_t code[] = {
        0xDB, 0xE3,             /* fninit */
        0xDB, 0x2E, 0x00, 0x30, /* fld tword [0x3000] */
        0xD9, 0xE8,             /* fld1 */
        0xDD, 0xE1,             /* fucom st1 */
        0xDF, 0xE0,             /* fnstsw ax */
        0x89, 0xC3,             /* mov bx, ax */
        0xD8, 0xD1,             /* fcom st1 */
        0xDF, 0xE0,             /* fnstsw ax */
        0xF4,
    };
    run(&t, code, sizeof(code));
    cr_expect_eq(t.cpu->r[R_EBX] & 0x4745, 0x4500); /* FUCOM: C3 C2 C0, no IE */
    cr_expect_eq((t.cpu->r[R_EBX] >> 11) & 7, 6);
    cr_expect_eq(t.cpu->r[R_EAX] & 0x4745, 0x4501); /* FCOM: IE as well */
    cr_expect_eq(t.cpu->r[R_EAX] & 0x80, 0);        /* masked: no ES */
    tm_free(&t);
}

Test(fpu_insn, fprem_condition_codes)
{
    struct tm t = tm_new();
    const uint32_t three = 3, ten = 10;
    put(&t, MEM, &three, 4);
    put(&t, MEM + 4, &ten, 4);
    const uint8_t code[] = {
        0xDB, 0xE3,             /* fninit */
        0xDB, 0x06, 0x00, 0x30, /* fild dword [0x3000] */
        0xDB, 0x06, 0x04, 0x30, /* fild dword [0x3004] */
        0xD9, 0xF8,             /* fprem */
        0xDF, 0xE0,             /* fnstsw ax */
        0xF4,
    };
    run(&t, code, sizeof(code));
    /* quotient 3 = Q2 Q1 Q0 = 011: C0=0, C3=1, C1=1; complete (C2=0) */
    cr_expect_eq(t.cpu->r[R_EAX] & 0x4700, 0x4200);
    expect_fx(st(&t, 0), ONE);
    tm_free(&t);
}

Test(fpu_insn, fist_overflow_and_fbstp)
{
    struct tm t = tm_new();
    const uint32_t big = 40000, num = 123456789;
    put(&t, MEM, &big, 4);
    put(&t, MEM + 4, &num, 4);
    memset(t.bus->ram + MEM + 0x10, 0x55, 16);
    const uint8_t code[] = {
        0xDB, 0xE3,             /* fninit */
        0xDB, 0x06, 0x00, 0x30, /* fild dword [0x3000] */
        0xDF, 0x16, 0x10, 0x30, /* fist word [0x3010] */
        0xDB, 0x06, 0x04, 0x30, /* fild dword [0x3004] */
        0xDF, 0x36, 0x20, 0x30, /* fbstp [0x3020] */
        0xF4,
    };
    run(&t, code, sizeof(code));
    cr_expect_eq(rd16(&t, MEM + 0x10), 0x8000); /* integer indefinite */
    cr_expect_eq(t.cpu->fpu.sw & 0x01, 0x01);
    static const uint8_t want[10] = { 0x89, 0x67, 0x45, 0x23, 0x01, 0, 0, 0, 0, 0 };
    cr_expect_arr_eq(t.bus->ram + MEM + 0x20, want, 10);
    cr_expect_eq((t.cpu->fpu.sw >> 11) & 7, 7); /* FBSTP popped */
    tm_free(&t);
}

Test(fpu_insn, fsave_frstor_roundtrip)
{
    struct tm t = tm_new();
    const uint8_t code[] = {
        0xDB, 0xE3,             /* fninit */
        0xD9, 0xE8,             /* fld1 */
        0xD9, 0xEB,             /* fldpi */
        0xDD, 0x36, 0x00, 0x30, /* fnsave [0x3000] (94 bytes, 16-bit real) */
        0xDD, 0x3E, 0x00, 0x31, /* fnstsw [0x3100] */
        0xDD, 0x26, 0x00, 0x30, /* frstor [0x3000] */
        0xF4,
    };
    run(&t, code, sizeof(code));
    cr_expect_eq(rd16(&t, MEM), 0x037F);      /* control word */
    cr_expect_eq(rd16(&t, MEM + 2), 0x3000);  /* TOP = 6 */
    cr_expect_eq(rd16(&t, MEM + 4), 0x0FFF);  /* R6, R7 valid */
    expect_fx(rd80(&t, MEM + 14), X(0x4000, 0xC90FDAA22168C235ull));
    expect_fx(rd80(&t, MEM + 24), ONE);
    cr_expect_eq(rd16(&t, MEM + 0x100), 0);   /* FNSAVE reinitialized */
    expect_fx(st(&t, 0), X(0x4000, 0xC90FDAA22168C235ull));
    expect_fx(st(&t, 1), ONE);
    cr_expect_eq(t.cpu->fpu.tw, 0x0FFF);
    cr_expect_eq(t.cpu->fpu.cw, 0x037F);
    tm_free(&t);
}

Test(fpu_insn, fxsave_abridged_tag)
{
    struct tm t = tm_new();
    const uint8_t code[] = {
        0xDB, 0xE3,             /* fninit */
        0xD9, 0xE8,             /* fld1 */
        0xD9, 0xEE,             /* fldz */
        0x0F, 0xAE, 0x06, 0x00, 0x32, /* fxsave [0x3200] */
        0xDB, 0xE3,             /* fninit */
        0x0F, 0xAE, 0x0E, 0x00, 0x32, /* fxrstor [0x3200] */
        0xF4,
    };
    run(&t, code, sizeof(code));
    const uint32_t a = 0x3200;
    cr_expect_eq(rd16(&t, a), 0x037F);
    cr_expect_eq(rd16(&t, a + 2), 0x3000);
    cr_expect_eq(t.bus->ram[a + 4], 0xC0); /* R6, R7 in use */
    cr_expect_eq(rd16(&t, a + 24), 0x1F80);
    expect_fx(rd80(&t, a + 32), fx_zero(false));
    expect_fx(rd80(&t, a + 48), ONE);
    cr_expect_eq(t.cpu->fpu.tw, 0x1FFF); /* R6 zero, R7 valid */
    expect_fx(st(&t, 1), ONE);
    tm_free(&t);
}

Test(fpu_insn, nm_for_em_ts_and_wait)
{
    struct tm t = tm_new();
    ivt_hlt(&t, 7, 0x2000);
    t.cpu->cr0 |= CR0_TS;
    const uint8_t fninit[] = { 0xDB, 0xE3, 0xF4 };
    run(&t, fninit, sizeof(fninit));
    cr_expect_eq(t.cpu->eip, 0x2001, "TS: #NM on an x87 instruction");
    tm_free(&t);

    t = tm_new();
    ivt_hlt(&t, 7, 0x2000);
    t.cpu->cr0 |= CR0_TS;
    const uint8_t wait[] = { 0x9B, 0xF4 };
    run(&t, wait, sizeof(wait));
    cr_expect_eq(t.cpu->eip, 0x1002, "WAIT ignores TS without MP");
    tm_free(&t);

    t = tm_new();
    ivt_hlt(&t, 7, 0x2000);
    t.cpu->cr0 |= CR0_TS | CR0_MP;
    run(&t, wait, sizeof(wait));
    cr_expect_eq(t.cpu->eip, 0x2001, "WAIT with MP and TS: #NM");
    tm_free(&t);

    t = tm_new();
    ivt_hlt(&t, 7, 0x2000);
    t.cpu->cr0 |= CR0_EM;
    run(&t, fninit, sizeof(fninit));
    cr_expect_eq(t.cpu->eip, 0x2001, "EM: #NM");
    tm_free(&t);
}

/* FNINIT; unmask ZE; 1/0; then a waiting instruction. */
static const uint8_t zdiv_code[] = {
    0xDB, 0xE3,             /* fninit */
    0xD9, 0x2E, 0x00, 0x30, /* fldcw [0x3000] */
    0xD9, 0xEE,             /* fldz */
    0xD9, 0xE8,             /* fld1 */
    0xD8, 0xF1,             /* fdiv st0, st1 */
    0xD9, 0xD0,             /* fnop (waits) */
    0xDB, 0xE2,             /* fnclex */
    0xF4,
};

Test(fpu_insn, mf_when_ne)
{
    struct tm t = tm_new();
    ivt_hlt(&t, 16, 0x2000);
    const uint16_t cw = 0x037B;
    put(&t, MEM, &cw, 2);
    t.cpu->cr0 |= CR0_NE;
    run(&t, zdiv_code, sizeof(zdiv_code));
    cr_expect_eq(t.cpu->eip, 0x2001, "#MF at the FNOP");
    cr_expect_eq(rd16(&t, 0x8000 - 6), 0x100C); /* faulting FNOP's IP */
    cr_expect_eq(t.cpu->fpu.sw & 0x80FF, 0x8084); /* B, ES, ZE */
    expect_fx(st(&t, 0), ONE);                   /* destination untouched */
    tm_free(&t);
}

static int ferr_level = -1, ferr_edges;

static void on_ferr(void *opaque, bool level)
{
    (void)opaque;
    ferr_level = level;
    ferr_edges++;
}

Test(fpu_insn, ferr_without_ne)
{
    struct tm t = tm_new();
    const uint16_t cw = 0x037B;
    put(&t, MEM, &cw, 2);
    t.cpu->ferr_changed = on_ferr;
    ferr_level = -1;
    ferr_edges = 0;
    tm_run(&t, zdiv_code, sizeof(zdiv_code), 5); /* up to the FDIV */
    cr_expect_eq(t.cpu->fpu.sw & 0x80, 0x80);
    cr_expect_eq(ferr_edges, 0, "FERR# waits for the next x87 instruction");
    cpu_run(t.cpu, 1);                            /* FNOP */
    cr_expect_eq(ferr_level, 1);
    cr_expect_eq(t.cpu->eip, 0x100E, "no #MF: the FNOP completes");
    cpu_run(t.cpu, 1);                            /* FNCLEX */
    cr_expect_eq(ferr_level, 0);
    cr_expect_eq(t.cpu->fpu.sw & 0x80FF, 0);
    tm_free(&t);
}

/* ---- bugs found by the differential test (values from a hardware x87) ---- */

Test(fpu_insn, fld_clears_c1)
{
    struct tm t = tm_new();
    const uint32_t three = 3;
    const fx80 denormal = X(0x0000, 1);
    put(&t, MEM, &three, 4);
    put(&t, MEM + 0x10, &denormal.mant, 8);
    put(&t, MEM + 0x18, &denormal.sexp, 2);
    const uint8_t code[] = {
        0xDB, 0xE3,             /* fninit */
        0xDB, 0x06, 0x00, 0x30, /* fild dword [0x3000] */
        0xD9, 0xE8,             /* fld1 */
        0xD8, 0xF1,             /* fdiv st0, st1: 1/3 rounds up, C1 = 1 */
        0xDF, 0xE0,             /* fnstsw ax */
        0x89, 0xC3,             /* mov bx, ax */
        0xDB, 0x2E, 0x10, 0x30, /* fld tword [0x3010] (a denormal) */
        0xDF, 0xE0,             /* fnstsw ax */
        0x89, 0xC1,             /* mov cx, ax */
        0xDD, 0xD8,             /* fstp st0 */
        0xD9, 0xE8,             /* fld1 */
        0xD8, 0xF2,             /* fdiv st0, st2: C1 = 1 again */
        0xD9, 0xC0,             /* fld st0 */
        0xDF, 0xE0,             /* fnstsw ax */
        0xF4,
    };
    run(&t, code, sizeof(code));
    cr_expect_eq(t.cpu->r[R_EBX] & 0xFFFF, 0x3220);
    cr_expect_eq(t.cpu->r[R_ECX] & 0xFFFF, 0x2820, "FLD m80: C1 = 0");
    cr_expect_eq(t.cpu->r[R_EAX] & 0xFFFF, 0x2020, "FLD ST(i): C1 = 0");
    expect_fx(st(&t, 0), X(0x3FFD, 0xAAAAAAAAAAAAAAABull));
    tm_free(&t);
}

/*
 * Load vals[0..n-1] (the last ends up in ST0), set C0-C3 to 1 through
 * FSTENV/FLDENV, run D9 `op`: the status word afterwards.
 */
static uint16_t cc_after(const fx80 *vals, unsigned n, uint8_t op)
{
    struct tm t = tm_new();
    uint8_t code[64];
    size_t len = 0;
    code[len++] = 0xDB; /* fninit */
    code[len++] = 0xE3;
    for (unsigned i = 0; i < n; i++) {
        uint32_t a = MEM + 16 * i;
        put(&t, a, &vals[i].mant, 8);
        put(&t, a + 8, &vals[i].sexp, 2);
        const uint8_t fld[4] = { 0xDB, 0x2E, (uint8_t)a, (uint8_t)(a >> 8) };
        memcpy(code + len, fld, 4);
        len += 4;
    }
    const uint8_t tail[] = {
        0xD9, 0x36, 0x00, 0x31,             /* fnstenv [0x3100] */
        0x81, 0x0E, 0x02, 0x31, 0x00, 0x47, /* or word [0x3102], C3 C2 C1 C0 */
        0xD9, 0x26, 0x00, 0x31,             /* fldenv [0x3100] */
        0xD9, op,
        0xF4,
    };
    memcpy(code + len, tail, sizeof(tail));
    run(&t, code, len + sizeof(tail));
    uint16_t sw = t.cpu->fpu.sw;
    tm_free(&t);
    return sw;
}

Test(fpu_insn, fprem_without_quotient_keeps_c0_c3)
{
    fx80 v[2] = { fx_zero(false), ONE };
    /* 1 rem 0: invalid; C3 and C0 stay, C2 and C1 are cleared */
    cr_expect_eq(cc_after(v, 2, 0xF8), 0x7101);
    /* a QNaN dividend: no exception, same condition codes */
    v[0] = ONE;
    v[1] = X(0x7FFF, 0xC000000000000001ull);
    cr_expect_eq(cc_after(v, 2, 0xF8), 0x7100);
    cr_expect_eq(cc_after(v, 2, 0xF5), 0x7100);   /* FPREM1 */
    /* ST1 empty: stack underflow */
    cr_expect_eq(cc_after(v, 1, 0xF8), 0x7941);
}

Test(fpu_insn, trig_stack_fault_clears_c2)
{
    fx80 v[8];
    for (int i = 0; i < 8; i++) {
        v[i] = ONE;
    }
    /* underflow: ST0 gets the indefinite; FSINCOS and FPTAN push it too */
    cr_expect_eq(cc_after(v, 0, 0xFE), 0x4141);   /* FSIN */
    cr_expect_eq(cc_after(v, 0, 0xFF), 0x4141);   /* FCOS */
    cr_expect_eq(cc_after(v, 0, 0xFB), 0x7941);   /* FSINCOS */
    cr_expect_eq(cc_after(v, 0, 0xF2), 0x7941);   /* FPTAN */
    /* overflow (C1 = 1) */
    cr_expect_eq(cc_after(v, 8, 0xF2), 0x7B41);
    cr_expect_eq(cc_after(v, 8, 0xFB), 0x7B41);
    /* FXTRACT leaves C2 alone */
    cr_expect_eq(cc_after(v, 0, 0xF4), 0x7D41);
}

/* Run `insn` (a D8/DC memory form addressing [0x3010]) with ST0 = a. */
static uint16_t mem_op(fx80 a, const void *m, size_t n, uint8_t op, uint8_t modrm, fx80 *st0)
{
    struct tm t = tm_new();
    put(&t, MEM, &a.mant, 8);
    put(&t, MEM + 8, &a.sexp, 2);
    put(&t, MEM + 0x10, m, n);
    const uint8_t code[] = {
        0xDB, 0xE3,              /* fninit */
        0xDB, 0x2E, 0x00, 0x30,  /* fld tword [0x3000] */
        op, modrm, 0x10, 0x30,   /* the operation on [0x3010] */
        0xF4,
    };
    run(&t, code, sizeof(code));
    *st0 = st(&t, 0);
    uint16_t sw = t.cpu->fpu.sw;
    tm_free(&t);
    return sw;
}

Test(fpu_insn, memory_snan_loses_to_qnan)
{
    const uint32_t snan = 0x7FBFFFFF;   /* larger significand than the QNaN */
    fx80 qnan = X(0x7FFF, 0xC000000000000001ull), r;
    cr_expect_eq(mem_op(qnan, &snan, 4, 0xD8, 0x36, &r), 0x3801); /* fdiv dword */
    expect_fx(r, qnan);
}

Test(fpu_soft, log_exception_priority)
{
    fx80 den = X(0x0000, 1);
    struct fx_ctx c = ctx(FX_RC_NEAREST, FX_PC_64);
    /* FYL2X: log2(+0) is a zero divide; a denormal y adds no DE */
    expect_fx(fx_yl2x(&c, fx_zero(false), den), fx_inf(true));
    cr_expect_eq(c.exc, FX_ZE);
    /* ... but with x infinite, DE it is */
    c = ctx(FX_RC_NEAREST, FX_PC_64);
    expect_fx(fx_yl2x(&c, fx_inf(false), den), fx_inf(false));
    cr_expect_eq(c.exc, FX_DE);
    /* FYL2XP1 of -infinity is invalid; again no DE */
    c = ctx(FX_RC_NEAREST, FX_PC_64);
    expect_fx(fx_yl2xp1(&c, fx_inf(true), fx_neg(den)), FX_INDEFINITE);
    cr_expect_eq(c.exc, FX_IE);
    c = ctx(FX_RC_NEAREST, FX_PC_64);
    expect_fx(fx_yl2xp1(&c, fx_zero(true), den), fx_zero(true));
    cr_expect_eq(c.exc, FX_DE);
}

Test(fpu_insn, memory_denormal_de_priority)
{
    const uint32_t den32 = 1;
    const uint64_t den64 = 1;
    fx80 snan = X(0x7FFF, 0x8000000000000001ull), qnan = X(0x7FFF, 0xC000000000000001ull);
    fx80 r;
    /* fcomp dword: the SNaN's IE hides the denormal; popped */
    cr_expect_eq(mem_op(snan, &den32, 4, 0xD8, 0x1E, &r), 0x4501);
    /* fdivr qword: x / 0 is a zero divide and nothing else */
    cr_expect_eq(mem_op(fx_zero(false), &den64, 8, 0xDC, 0x3E, &r), 0x3804);
    expect_fx(r, fx_inf(false));
    /* fsub dword: a QNaN operand decides, no DE */
    cr_expect_eq(mem_op(qnan, &den32, 4, 0xD8, 0x26, &r), 0x3800);
    expect_fx(r, qnan);
    /* fmul dword: infinity times a denormal does report DE */
    cr_expect_eq(mem_op(fx_inf(false), &den32, 4, 0xD8, 0x0E, &r), 0x3802);
    expect_fx(r, fx_inf(false));
    /* fadd dword: 1 + tiny, DE and PE */
    cr_expect_eq(mem_op(ONE, &den32, 4, 0xD8, 0x06, &r), 0x3822);
    expect_fx(r, ONE);
}
