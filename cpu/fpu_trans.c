/*
 * fpu_trans.c - x87 FSCALE, FXTRACT, FPREM/FPREM1 and the transcendental
 * instructions, in integer arithmetic only.
 *
 * FSCALE, FXTRACT and FPREM are exact operations (only FSCALE can round,
 * when it denormalizes or overflows), done on the unpacked significand.
 *
 * The transcendentals compute in a private "wide" float: a 128-bit
 * significand (bit 127 set) with a 32-bit exponent, where every operation
 * truncates.  Each function keeps its argument in a range where a short
 * series converges fast and loses nothing to cancellation:
 *   sin/cos/tan: exact reduction modulo pi/2 with 320 bits of 2/pi, then
 *                Taylor series for |r| <= pi/4;
 *   atan:        three argument halvings t -> t / (1 + sqrt(1 + t^2)),
 *                then the arctangent series;
 *   log2:        x = 2^e * m, m in [sqrt(1/2), sqrt(2)), ln m = 2 atanh s;
 *   2^x - 1:     expm1(x ln 2) by its series.
 * The result carries ~120 good bits, so the final rounding to 64 bits is
 * correct except in astronomically rare near-halfway cases (within 1 ulp
 * always).  Tiny arguments, where the answer is x or 1 minus a sliver, are
 * rounded directly so that directed rounding modes come out right.
 */
#define FPU_SOFT_INTERNAL
#include "fpu_soft.h"

#define TOP 0x8000000000000000ull

/* ---- FSCALE / FXTRACT ---- */

/* ST(1) truncated to an integer, clamped far beyond any useful range. */
static int32_t scale_amount(fx80 b)
{
    bool s;
    int32_t e;
    uint64_t m;
    if (fx_is_zero(b)) {
        return 0;
    }
    fxi_unpack(b, &s, &e, &m);
    int32_t n;
    if (e < 0) {
        n = 0;
    } else if (e > 20) {
        n = 1 << 21;
    } else {
        n = (int32_t)(m >> (63 - e));
    }
    return s ? -n : n;
}

fx80 fx_scale(struct fx_ctx *ctx, fx80 a, fx80 b)
{
    ctx->c1 = false;
    if (fx_is_unsupported(a) || fx_is_unsupported(b)) {
        return fxi_invalid(ctx);
    }
    if (fx_is_nan(a) || fx_is_nan(b)) {
        return fxi_nan2(ctx, a, b);
    }
    if (fx_is_inf(b)) {
        bool up = !fx_sign(b);
        if ((up && fx_is_zero(a)) || (!up && fx_is_inf(a))) {
            return fxi_invalid(ctx);
        }
        if (fx_is_denormal(a)) {
            ctx->exc |= FX_DE;
        }
        if (fx_is_inf(a) || fx_is_zero(a)) {
            return a;
        }
        return up ? fx_inf(fx_sign(a)) : fx_zero(fx_sign(a));
    }
    if (fx_is_denormal(a) || fx_is_denormal(b)) {
        ctx->exc |= FX_DE;
    }
    if (fx_is_inf(a) || fx_is_zero(a)) {
        return a;
    }
    bool s;
    int32_t e;
    uint64_t m;
    fxi_unpack(a, &s, &e, &m);
    return fxi_round_pack(ctx, s, e + scale_amount(b), m, 0, 64);
}

void fx_xtract(struct fx_ctx *ctx, fx80 a, fx80 *exp_out, fx80 *sig_out)
{
    ctx->c1 = false;
    if (fx_is_unsupported(a)) {
        *exp_out = *sig_out = fxi_invalid(ctx);
        return;
    }
    if (fx_is_nan(a)) {
        *exp_out = *sig_out = fxi_nan2(ctx, a, a);
        return;
    }
    if (fx_is_inf(a)) {
        *exp_out = fx_inf(false);
        *sig_out = a;
        return;
    }
    if (fx_is_zero(a)) {
        ctx->exc |= FX_ZE;
        *exp_out = fx_inf(true);
        *sig_out = a;
        return;
    }
    if (fx_is_denormal(a)) {
        ctx->exc |= FX_DE;
    }
    bool s;
    int32_t e;
    uint64_t m;
    fxi_unpack(a, &s, &e, &m);
    struct fx_ctx quiet = *ctx;
    *exp_out = fx_from_i64(&quiet, e);
    *sig_out = fxi_make(s, FX_BIAS, m);
}

/* ---- FPREM / FPREM1 ---- */

/* One restoring-division step with the remainder below d. */
static unsigned rem_step(uint64_t *r, uint64_t d)
{
    bool top = *r >> 63;
    *r <<= 1;
    if (top || *r >= d) {
        *r -= d;
        return 1;
    }
    return 0;
}

static bool prem_special(struct fx_ctx *ctx, fx80 a, fx80 b, fx80 *res)
{
    if (fx_is_unsupported(a) || fx_is_unsupported(b)) {
        *res = fxi_invalid(ctx);
        return true;
    }
    if (fx_is_nan(a) || fx_is_nan(b)) {
        *res = fxi_nan2(ctx, a, b);
        return true;
    }
    if (fx_is_inf(a) || fx_is_zero(b)) {
        *res = fxi_invalid(ctx);
        return true;
    }
    if (fx_is_denormal(a) || fx_is_denormal(b)) {
        ctx->exc |= FX_DE;
    }
    if (fx_is_zero(a)) {
        *res = a;
        return true;
    }
    if (fx_is_inf(b)) {
        bool s;
        int32_t e;
        uint64_t m;
        fxi_unpack(a, &s, &e, &m);
        *res = fxi_round_pack(ctx, s, e, m, 0, 64);
        return true;
    }
    return false;
}

/*
 * A partial step reduces the exponent difference D >= 64 by D - N, with
 * N = 32 + D mod 32 (the choice documented by AMD; Intel only promises
 * 32 <= N <= 63), always truncating the quotient.
 */
void fx_prem(struct fx_ctx *ctx, fx80 a, fx80 b, bool ieee, fx80 *res, unsigned *quot_low3,
             bool *incomplete)
{
    *quot_low3 = 0;
    *incomplete = false;
    ctx->c1 = false;
    if (prem_special(ctx, a, b, res)) {
        return;
    }
    bool sa, sb;
    int32_t ea, eb;
    uint64_t ma, mb;
    fxi_unpack(a, &sa, &ea, &ma);
    fxi_unpack(b, &sb, &eb, &mb);
    int32_t d = ea - eb;
    if (d >= 64) {
        *incomplete = true;
        eb += d - (32 + d % 32);
        d = ea - eb;
        ieee = false;
    }
    if (d < 0) {
        /* |a| < |b|: quotient 0, except FPREM1 rounding |a| > |b|/2 to 1 */
        bool one = ieee && d == -1 && ma > mb;
        if (!one) {
            /* a passes through the rounder: pseudo-denormals get
             * normalized, tiny values see UE */
            *res = fxi_round_pack(ctx, sa, ea, ma, 0, 64);
            return;
        }
        uint64_t r = mb - (ma >> 1); /* ma even-aligned: |b| - |a| exactly */
        uint64_t extra = (ma & 1) ? TOP : 0;
        if (extra) {
            r--;
        }
        /* value = (r + (extra ? 1/2 : 0)) * 2^(eb-63), exact */
        int n = 0;
        while (!(r & TOP) && n < 64) {
            r = (r << 1) | (extra >> 63);
            extra <<= 1;
            n++;
        }
        *quot_low3 = 1;
        *res = fxi_round_pack(ctx, !sa, eb - n, r, extra, 64);
        return;
    }
    uint64_t q = 0, r = ma;
    if (r >= mb) {
        r -= mb;
        q = 1;
    }
    for (int32_t i = 0; i < d; i++) {
        q = (q << 1) | rem_step(&r, mb);
    }
    bool sign = sa;
    if (ieee && r != 0) {
        /* round the quotient to nearest, ties to even */
        bool above = (r >> 63) || (r << 1) > mb;
        bool tie = !(r >> 63) && (r << 1) == mb;
        if (above || (tie && (q & 1))) {
            r = mb - r;
            q++;
            sign = !sign;
        }
    }
    if (!*incomplete) {
        *quot_low3 = (unsigned)(q & 7);
    }
    if (r == 0) {
        *res = fx_zero(sa);
        return;
    }
    int n = 0;
    while (!(r & TOP)) {
        r <<= 1;
        n++;
    }
    *res = fxi_round_pack(ctx, sign, eb - n, r, 0, 64);
}

/* ---- the wide float ---- */

/* value = (hi:lo) * 2^(e-127); hi bit 63 set unless the value is zero */
typedef struct {
    uint64_t hi, lo;
    int32_t e;
    bool s;
} fxw;

static const fxw W_ZERO = { 0, 0, 0, false };
static const fxw W_ONE = { TOP, 0, 0, false };
static const fxw W_PI = { 0xC90FDAA22168C234ull, 0xC4C6628B80DC1CD1ull, 1, false };
static const fxw W_PI_2 = { 0xC90FDAA22168C234ull, 0xC4C6628B80DC1CD1ull, 0, false };
static const fxw W_LN2 = { 0xB17217F7D1CF79ABull, 0xC9E3B39803F2F6AFull, -1, false };
static const fxw W_LOG2E = { 0xB8AA3B295C17F0BBull, 0xBE87FED0691D3E88ull, 0, false };

static int wclz(uint64_t v)
{
    int n = 0;
    if (v == 0) {
        return 64;
    }
    while (!(v & TOP)) {
        v <<= 1;
        n++;
    }
    return n;
}

static fxw w_norm(bool s, int32_t e, uint64_t hi, uint64_t lo)
{
    if (hi == 0 && lo == 0) {
        return W_ZERO;
    }
    int n = hi ? wclz(hi) : 64 + wclz(lo);
    if (n >= 64) {
        hi = lo << (n - 64);
        lo = 0;
    } else if (n > 0) {
        hi = (hi << n) | (lo >> (64 - n));
        lo <<= n;
    }
    return (fxw){ hi, lo, e - n, s };
}

static bool w_is_zero(fxw a)
{
    return a.hi == 0;
}

static fxw w_neg(fxw a)
{
    a.s = !a.s;
    return a;
}

static fxw w_from_fx(fx80 a)
{
    bool s;
    int32_t e;
    uint64_t m;
    if (fx_is_zero(a)) {
        return W_ZERO;
    }
    fxi_unpack(a, &s, &e, &m);
    return (fxw){ m, 0, e, s };
}

static fxw w_from_int(int64_t v)
{
    uint64_t m = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    return w_norm(v < 0, 127, 0, m);
}

static fxw w_scale(fxw a, int32_t n)
{
    if (!w_is_zero(a)) {
        a.e += n;
    }
    return a;
}

/* |a| > |b| ? */
static bool w_mag_gt(fxw a, fxw b)
{
    if (w_is_zero(b)) {
        return !w_is_zero(a);
    }
    if (w_is_zero(a)) {
        return false;
    }
    if (a.e != b.e) {
        return a.e > b.e;
    }
    return a.hi != b.hi ? a.hi > b.hi : a.lo > b.lo;
}

static fxw w_add(fxw a, fxw b)
{
    if (w_is_zero(a)) {
        return b;
    }
    if (w_is_zero(b)) {
        return a;
    }
    if (w_mag_gt(b, a)) {
        fxw t = a;
        a = b;
        b = t;
    }
    int32_t d = a.e - b.e;
    uint64_t bh = b.hi, bl = b.lo;
    if (d >= 128) {
        return a;
    } else if (d >= 64) {
        bl = d == 64 ? bh : bh >> (d - 64);
        bh = 0;
    } else if (d > 0) {
        bl = (bl >> d) | (bh << (64 - d));
        bh >>= d;
    }
    if (a.s == b.s) {
        uint64_t lo = a.lo + bl;
        uint64_t c = lo < bl;
        uint64_t hi = a.hi + bh + c;
        bool carry = hi < a.hi || (c && hi == a.hi);
        if (carry) {
            lo = (lo >> 1) | (hi << 63);
            hi = (hi >> 1) | TOP;
            return (fxw){ hi, lo, a.e + 1, a.s };
        }
        return (fxw){ hi, lo, a.e, a.s };
    }
    uint64_t lo = a.lo - bl;
    uint64_t hi = a.hi - bh - (a.lo < bl);
    return w_norm(a.s, a.e, hi, lo);
}

static fxw w_sub(fxw a, fxw b)
{
    return w_add(a, w_neg(b));
}

static fxw w_mul(fxw a, fxw b)
{
    if (w_is_zero(a) || w_is_zero(b)) {
        return W_ZERO;
    }
    uint64_t p[4][2];
    fxi_mul64(a.hi, b.hi, &p[0][0], &p[0][1]);
    fxi_mul64(a.hi, b.lo, &p[1][0], &p[1][1]);
    fxi_mul64(a.lo, b.hi, &p[2][0], &p[2][1]);
    fxi_mul64(a.lo, b.lo, &p[3][0], &p[3][1]);
    /* 256-bit sum w3:w2:w1 (w0 is dropped: it is below the result) */
    uint64_t w1 = p[1][1], w2 = p[0][1], w3 = p[0][0], c;
    w1 += p[2][1];
    c = w1 < p[2][1];
    w1 += p[3][0];
    c += w1 < p[3][0];
    w2 += c;
    c = w2 < c;
    w2 += p[1][0];
    c += w2 < p[1][0];
    w2 += p[2][0];
    c += w2 < p[2][0];
    w3 += c;
    int32_t e = a.e + b.e + 1;
    if (!(w3 & TOP)) {
        w3 = (w3 << 1) | (w2 >> 63);
        w2 = (w2 << 1) | (w1 >> 63);
        e--;
    }
    return (fxw){ w3, w2, e, a.s != b.s };
}

static fxw w_div(fxw a, fxw b)
{
    if (w_is_zero(a)) {
        return W_ZERO;
    }
    uint64_t rh = a.hi, rl = a.lo, qh = 0, ql = 0;
    int32_t e = a.e - b.e;
    bool ge = rh > b.hi || (rh == b.hi && rl >= b.lo);
    if (!ge) {
        e--;
    }
    for (int i = 0; i < 128; i++) {
        bool top = false;
        if (i > 0 || !ge) {
            top = rh >> 63;
            rh = (rh << 1) | (rl >> 63);
            rl <<= 1;
        }
        unsigned bit = 0;
        if (top || rh > b.hi || (rh == b.hi && rl >= b.lo)) {
            rh = rh - b.hi - (rl < b.lo);
            rl -= b.lo;
            bit = 1;
        }
        qh = (qh << 1) | (ql >> 63);
        ql = (ql << 1) | bit;
    }
    return (fxw){ qh, ql, e, a.s != b.s };
}

/* Divide by a small positive integer. */
static fxw w_divu(fxw a, uint32_t d)
{
    if (w_is_zero(a)) {
        return W_ZERO;
    }
    uint32_t limb[5] = { (uint32_t)(a.hi >> 32), (uint32_t)a.hi, (uint32_t)(a.lo >> 32),
                         (uint32_t)a.lo, 0 };
    uint64_t rem = 0, q[5];
    for (int i = 0; i < 5; i++) {
        uint64_t cur = (rem << 32) | limb[i];
        q[i] = cur / d;
        rem = cur % d;
    }
    uint64_t hi = (q[0] << 32) | q[1], lo = (q[2] << 32) | q[3], x = q[4] << 32;
    int n = wclz(hi);
    if (n > 0) {
        hi = (hi << n) | (lo >> (64 - n));
        lo = (lo << n) | (x >> (64 - n));
    }
    return (fxw){ hi, lo, a.e - n, a.s };
}

/* Square root by Newton's iteration from a one-bit-exact start. */
static fxw w_sqrt(fxw a)
{
    if (w_is_zero(a)) {
        return W_ZERO;
    }
    fxw y = { TOP, 0, a.e >= 0 ? a.e / 2 : -((1 - a.e) / 2), false };
    for (int i = 0; i < 8; i++) {
        y = w_scale(w_add(y, w_div(a, y)), -1);
    }
    return y;
}

/* Round to the x87 register format; the value is known to be inexact. */
static fx80 w_round(struct fx_ctx *ctx, fxw a)
{
    return fxi_round_pack(ctx, a.s, a.e, a.hi, a.lo | 1, 64);
}

/* A value just below m * 2^(e-63) in magnitude, rounded. */
static fx80 round_below(struct fx_ctx *ctx, bool s, int32_t e, uint64_t m)
{
    if (m == TOP) {
        return fxi_round_pack(ctx, s, e - 1, ~0ull, ~0ull, 64);
    }
    return fxi_round_pack(ctx, s, e, m - 1, ~0ull, 64);
}

/* ---- series ---- */

/* sin r and cos r for |r| <= pi/4 by their Taylor series. */
static void w_sincos(fxw r, fxw *sin_out, fxw *cos_out)
{
    fxw r2 = w_mul(r, r);
    fxw st = r, ct = W_ONE, s = r, c = W_ONE;
    for (uint32_t k = 1; k < 40; k++) {
        st = w_neg(w_divu(w_mul(st, r2), (2 * k) * (2 * k + 1)));
        ct = w_neg(w_divu(w_mul(ct, r2), (2 * k - 1) * (2 * k)));
        s = w_add(s, st);
        c = w_add(c, ct);
        if (w_is_zero(ct) || ct.e < c.e - 130) {
            break;
        }
    }
    *sin_out = s;
    *cos_out = c;
}

/* atan t for 0 <= t <= 1. */
static fxw w_atan(fxw t)
{
    int halvings = 0;
    while (halvings < 3 && t.e > -8) {
        fxw root = w_sqrt(w_add(W_ONE, w_mul(t, t)));
        t = w_div(t, w_add(W_ONE, root));
        halvings++;
    }
    fxw t2 = w_mul(t, t), term = t, sum = t;
    for (uint32_t k = 1; k < 80; k++) {
        term = w_neg(w_mul(term, t2));
        fxw add = w_divu(term, 2 * k + 1);
        sum = w_add(sum, add);
        if (w_is_zero(add) || add.e < sum.e - 130) {
            break;
        }
    }
    return w_scale(sum, halvings);
}

/* 2 atanh s = ln((1+s)/(1-s)) for |s| <= ~0.2. */
static fxw w_atanh2(fxw s)
{
    fxw s2 = w_mul(s, s), pw = s, sum = s;
    for (uint32_t k = 1; k < 80; k++) {
        pw = w_mul(pw, s2);
        fxw add = w_divu(pw, 2 * k + 1);
        sum = w_add(sum, add);
        if (w_is_zero(add) || add.e < sum.e - 130) {
            break;
        }
    }
    return w_scale(sum, 1);
}

/* log2 of a positive wide value. */
static fxw w_log2(fxw x)
{
    /* x = 2^e * m, m in [sqrt(1/2), sqrt(2)) */
    int32_t e = x.e;
    fxw m = x;
    m.e = 0;
    if (m.hi > 0xB504F333F9DE6484ull) {
        m.e = -1;
        e++;
    }
    fxw s = w_div(w_sub(m, W_ONE), w_add(m, W_ONE));
    return w_add(w_from_int(e), w_mul(w_atanh2(s), W_LOG2E));
}

/* e^u - 1 for |u| <= 1. */
static fxw w_expm1(fxw u)
{
    fxw term = u, sum = u;
    for (uint32_t k = 2; k < 60; k++) {
        term = w_divu(w_mul(term, u), k);
        sum = w_add(sum, term);
        if (w_is_zero(term) || term.e < sum.e - 130) {
            break;
        }
    }
    return sum;
}

/* ---- trigonometric functions ---- */

/*
 * Reduce |a| (< 2^63) modulo pi/2: |a| = q * P + r, |r| <= P/2.  Like the
 * hardware, P is pi/2 rounded to 66 bits (K * 2^-65), and the reduction by
 * it is exact: for huge arguments the answer follows the x87's model of
 * pi rather than the true one, so guests see what a real FSIN gives.
 */
static void trig_reduce(fx80 a, fxw *r, unsigned *q)
{
    const uint64_t k_hi = 0x3, k_lo = 0x243F6A8885A308D3ull; /* K, 66 bits */
    bool s;
    int32_t e;
    uint64_t m;
    fxi_unpack(a, &s, &e, &m);
    *q = 0;
    if (e < -1) {
        *r = (fxw){ m, 0, e, false };
        return;
    }
    /* N = m * 2^(e+2) (|a| = N * 2^-65), 0 <= e+2 <= 64 */
    int sh = e + 2;
    uint64_t n_hi = sh == 0 ? 0 : sh == 64 ? m : m >> (64 - sh);
    uint64_t n_lo = sh == 64 ? 0 : m << sh;
    uint64_t rh = 0, rl = 0, quo = 0;
    for (int i = 127; i >= 0; i--) {
        unsigned bit = (unsigned)((i >= 64 ? n_hi >> (i - 64) : n_lo >> i) & 1);
        rh = (rh << 1) | (rl >> 63);
        rl = (rl << 1) | bit;
        quo <<= 1;
        if (rh > k_hi || (rh == k_hi && rl >= k_lo)) {
            rh = rh - k_hi - (rl < k_lo);
            rl -= k_lo;
            quo |= 1;
        }
    }
    /* nearest multiple: R > K/2 becomes R - K */
    bool neg = rh > (k_hi >> 1) ||
               (rh == (k_hi >> 1) && rl > ((k_lo >> 1) | (k_hi << 63)));
    if (neg) {
        uint64_t lo = k_lo - rl;
        rh = k_hi - rh - (k_lo < rl);
        rl = lo;
        quo++;
    }
    *q = (unsigned)(quo & 3);
    *r = w_norm(neg, 62, rh, rl);
}

/* Common screening for FSIN/FCOS/FSINCOS/FPTAN: true when *res decided. */
static bool trig_special(struct fx_ctx *ctx, fx80 a, fx80 *res)
{
    ctx->c1 = false;
    if (fx_is_unsupported(a) || fx_is_inf(a)) {
        *res = fxi_invalid(ctx);
        return true;
    }
    if (fx_is_nan(a)) {
        *res = fxi_nan2(ctx, a, a);
        return true;
    }
    return false;
}

static bool trig_out_of_range(fx80 a)
{
    return !fx_is_nan(a) && !fx_is_inf(a) && !fx_is_unsupported(a) &&
           fxi_exp(a) >= FX_BIAS + 63;
}

/* sin and cos of a finite nonzero in-range argument, as wide values. */
static void trig_eval(fx80 a, fxw *sn, fxw *cs)
{
    fxw r, s, c;
    unsigned q;
    trig_reduce(a, &r, &q);
    w_sincos(r, &s, &c);
    switch (q) {
    case 0: *sn = s; *cs = c; break;
    case 1: *sn = c; *cs = w_neg(s); break;
    case 2: *sn = w_neg(s); *cs = w_neg(c); break;
    default: *sn = w_neg(c); *cs = s; break;
    }
    if (fx_sign(a)) {
        *sn = w_neg(*sn);
    }
}

/* |a| below 2^-40: sin a = a, cos a = 1, tan a = a, each less a sliver. */
static bool trig_tiny(fx80 a)
{
    return fxi_exp(a) < FX_BIAS - 40;
}

bool fx_sincos(struct fx_ctx *ctx, fx80 a, fx80 *sin_out, fx80 *cos_out)
{
    if (trig_out_of_range(a)) {
        return true;
    }
    if (trig_special(ctx, a, sin_out)) {
        *cos_out = *sin_out;
        return false;
    }
    if (fx_is_zero(a)) {
        *sin_out = a;
        *cos_out = fx_const(ctx, FX_K_ONE);
        return false;
    }
    if (fx_is_denormal(a)) {
        ctx->exc |= FX_DE;
    }
    bool s;
    int32_t e;
    uint64_t m;
    fxi_unpack(a, &s, &e, &m);
    if (trig_tiny(a)) {
        struct fx_ctx c2 = *ctx;
        *cos_out = round_below(&c2, false, 0, TOP);
        *sin_out = round_below(ctx, s, e, m);
        ctx->exc |= c2.exc;
        return false;
    }
    fxw sn, cs;
    trig_eval(a, &sn, &cs);
    struct fx_ctx c2 = *ctx;
    *cos_out = w_round(&c2, cs);
    *sin_out = w_round(ctx, sn);
    ctx->exc |= c2.exc;
    return false;
}

/* FSIN (cosine=false) or FCOS of one argument. */
static bool trig_one(struct fx_ctx *ctx, fx80 a, fx80 *res, bool cosine)
{
    if (trig_out_of_range(a)) {
        return true;
    }
    if (trig_special(ctx, a, res)) {
        return false;
    }
    if (fx_is_zero(a)) {
        *res = cosine ? fx_const(ctx, FX_K_ONE) : a;
        return false;
    }
    if (fx_is_denormal(a)) {
        ctx->exc |= FX_DE;
    }
    if (trig_tiny(a)) {
        bool s;
        int32_t e;
        uint64_t m;
        fxi_unpack(a, &s, &e, &m);
        *res = cosine ? round_below(ctx, false, 0, TOP) : round_below(ctx, s, e, m);
        return false;
    }
    fxw sn, cs;
    trig_eval(a, &sn, &cs);
    *res = w_round(ctx, cosine ? cs : sn);
    return false;
}

bool fx_sin(struct fx_ctx *ctx, fx80 a, fx80 *res)
{
    return trig_one(ctx, a, res, false);
}

bool fx_cos(struct fx_ctx *ctx, fx80 a, fx80 *res)
{
    return trig_one(ctx, a, res, true);
}

bool fx_ptan(struct fx_ctx *ctx, fx80 a, fx80 *tan_out)
{
    if (trig_out_of_range(a)) {
        return true;
    }
    if (trig_special(ctx, a, tan_out)) {
        return false;
    }
    if (fx_is_zero(a)) {
        *tan_out = a;
        return false;
    }
    if (fx_is_denormal(a)) {
        ctx->exc |= FX_DE;
    }
    bool s;
    int32_t e;
    uint64_t m;
    fxi_unpack(a, &s, &e, &m);
    if (trig_tiny(a)) {
        /* tan a = a + a^3/3: just above |a| */
        *tan_out = fxi_round_pack(ctx, s, e, m, 1, 64);
        return false;
    }
    fxw sn, cs;
    trig_eval(a, &sn, &cs);
    *tan_out = w_round(ctx, w_div(sn, cs));
    return false;
}

/* ---- FPATAN ---- */

static fx80 patan_special(struct fx_ctx *ctx, fx80 y, fx80 x, bool *done)
{
    *done = true;
    bool sy = fx_sign(y), sx = fx_sign(x);
    if (fx_is_unsupported(x) || fx_is_unsupported(y)) {
        return fxi_invalid(ctx);
    }
    if (fx_is_nan(x) || fx_is_nan(y)) {
        return fxi_nan2(ctx, x, y);
    }
    if (fx_is_denormal(x) || fx_is_denormal(y)) {
        ctx->exc |= FX_DE;
    }
    fxw r;
    if (fx_is_inf(y)) {
        r = fx_is_inf(x) ? (sx ? w_add(W_PI_2, w_scale(W_PI_2, -1)) : w_scale(W_PI_2, -1))
                         : W_PI_2;
    } else if (fx_is_zero(y)) {
        if (!sx) {
            return y;
        }
        r = W_PI;
    } else if (fx_is_inf(x)) {
        if (!sx) {
            return fx_zero(sy);
        }
        r = W_PI;
    } else if (fx_is_zero(x)) {
        r = W_PI_2;
    } else {
        *done = false;
        return y;
    }
    r.s = sy;
    return w_round(ctx, r);
}

fx80 fx_patan(struct fx_ctx *ctx, fx80 y, fx80 x)
{
    bool done;
    ctx->c1 = false;
    fx80 r = patan_special(ctx, y, x, &done);
    if (done) {
        return r;
    }
    fxw wy = w_from_fx(fx_abs(y)), wx = w_from_fx(fx_abs(x)), a;
    if (w_mag_gt(wy, wx)) {
        a = w_sub(W_PI_2, w_atan(w_div(wx, wy)));
    } else {
        a = w_atan(w_div(wy, wx));
    }
    if (fx_sign(x)) {
        a = w_sub(W_PI, a);
    }
    a.s = fx_sign(y);
    return w_round(ctx, a);
}

/* ---- F2XM1 ---- */

fx80 fx_f2xm1(struct fx_ctx *ctx, fx80 a)
{
    ctx->c1 = false;
    if (fx_is_unsupported(a)) {
        return fxi_invalid(ctx);
    }
    if (fx_is_nan(a)) {
        return fxi_nan2(ctx, a, a);
    }
    if (fx_is_inf(a)) {
        return fx_sign(a) ? fxi_make(true, FX_BIAS, TOP) : a;
    }
    if (fx_is_zero(a)) {
        return a;
    }
    if (fx_is_denormal(a)) {
        ctx->exc |= FX_DE;
    }
    /* outside [-1, 1] the result is undefined; like the hardware at hand
     * (an AMD part), hand the operand back, inexact */
    fxw x = w_from_fx(a);
    if (x.e >= 0 && !(x.e == 0 && x.hi == TOP && x.lo == 0)) {
        ctx->exc |= FX_PE;
        return a;
    }
    return w_round(ctx, w_expm1(w_mul(x, W_LN2)));
}

/* ---- FYL2X / FYL2XP1 ---- */

/* y * log2(x) when log2(x) is 0 or infinite, or y is 0 or infinite. */
static fx80 yl2x_special(struct fx_ctx *ctx, fx80 x, fx80 y, bool *done)
{
    *done = true;
    if (fx_is_unsupported(x) || fx_is_unsupported(y)) {
        return fxi_invalid(ctx);
    }
    if (fx_is_nan(x) || fx_is_nan(y)) {
        return fxi_nan2(ctx, x, y);
    }
    if (fx_sign(x) && !fx_is_zero(x)) {
        return fxi_invalid(ctx);
    }
    bool sy = fx_sign(y);
    bool x_is_one = fxi_exp(x) == FX_BIAS && x.mant == TOP;
    if (fx_is_zero(x) || fx_is_inf(x)) {
        if (fx_is_zero(y)) {
            return fxi_invalid(ctx);
        }
        /* log2(0) is a zero divide, which outranks a denormal y */
        if (fx_is_zero(x) && !fx_is_inf(y)) {
            ctx->exc |= FX_ZE;
        } else if (fx_is_denormal(y)) {
            ctx->exc |= FX_DE;
        }
        return fx_inf(fx_is_zero(x) ? !sy : sy);
    }
    if (fx_is_denormal(x) || fx_is_denormal(y)) {
        ctx->exc |= FX_DE;
    }
    bool below_one = fxi_exp(x) < FX_BIAS;
    if (fx_is_inf(y)) {
        if (x_is_one) {
            return fxi_invalid(ctx);
        }
        return fx_inf(below_one ? !sy : sy);
    }
    if (fx_is_zero(y) || x_is_one) {
        return fx_zero(below_one ? !sy : sy);
    }
    *done = false;
    return y;
}

fx80 fx_yl2x(struct fx_ctx *ctx, fx80 x, fx80 y)
{
    bool done;
    ctx->c1 = false;
    fx80 r = yl2x_special(ctx, x, y, &done);
    if (done) {
        return r;
    }
    return w_round(ctx, w_mul(w_from_fx(y), w_log2(w_from_fx(x))));
}

fx80 fx_yl2xp1(struct fx_ctx *ctx, fx80 x, fx80 y)
{
    ctx->c1 = false;
    if (fx_is_unsupported(x) || fx_is_unsupported(y)) {
        return fxi_invalid(ctx);
    }
    if (fx_is_nan(x) || fx_is_nan(y)) {
        return fxi_nan2(ctx, x, y);
    }
    if (fx_is_zero(x) || fx_is_inf(x) || fx_is_zero(y) || fx_is_inf(y)) {
        /* the same table as FYL2X with 1+x in place of x, and x = -0
         * giving log2(1-0) = -0 */
        /* invalid operations outrank a denormal operand */
        if ((fx_is_zero(x) && fx_is_inf(y)) || (fx_is_zero(y) && fx_is_inf(x)) ||
            (fx_is_inf(x) && fx_sign(x))) {
            return fxi_invalid(ctx);
        }
        if (fx_is_denormal(x) || fx_is_denormal(y)) {
            ctx->exc |= FX_DE;
        }
        bool s = fx_sign(x) != fx_sign(y);
        return fx_is_zero(x) || fx_is_zero(y) ? fx_zero(s) : fx_inf(s);
    }
    if (fx_is_denormal(x) || fx_is_denormal(y)) {
        ctx->exc |= FX_DE;
    }
    fxw wx = w_from_fx(x), l;
    if (wx.e < -2) {
        /* |x| < 1/4: ln(1+x) = 2 atanh(x / (2 + x)) keeps x's precision */
        fxw s = w_div(wx, w_add(w_scale(W_ONE, 1), wx));
        l = w_mul(w_atanh2(s), W_LOG2E);
    } else {
        fxw onep = w_add(W_ONE, wx);
        if (onep.s || w_is_zero(onep)) {
            return fxi_invalid(ctx);
        }
        l = w_log2(onep);
    }
    return w_round(ctx, w_mul(w_from_fx(y), l));
}
