/*
 * fpu_soft.c - the x87 numeric core in integer arithmetic: classification,
 * the single rounding routine, add/sub/mul/div/sqrt/rndint, compares and
 * every format conversion.
 *
 * Everything funnels through fxi_round_pack(), which knows the x87's
 * rounding rules:
 *  - precision control rounds the significand to 24/53/64 bits but keeps
 *    the 15-bit exponent range;
 *  - tininess is detected before rounding; with UE masked the result is
 *    denormalized (rounded at the same register bit position as a normal
 *    number of that precision) and UE is raised only if it is also inexact;
 *    with UE unmasked UE is raised and the exponent is biased by +24576;
 *  - overflow gives infinity or the largest finite value depending on the
 *    rounding direction, or (OE unmasked) the exponent biased by -24576.
 * Operands are checked in the x87's priority order: unsupported encodings
 * and SNaNs (IE), then QNaN propagation, then the other invalid operations
 * and zero divide, then denormal operands (DE), then the computation.
 */
#define FPU_SOFT_INTERNAL
#include "fpu_soft.h"

#define TOP 0x8000000000000000ull
#define QBIT 0x4000000000000000ull

/* ---- classification ---- */

bool fx_is_nan(fx80 a)
{
    return fxi_exp(a) == FX_EXP_MAX && (a.mant & TOP) && (a.mant << 1) != 0;
}

bool fx_is_snan(fx80 a)
{
    return fx_is_nan(a) && !(a.mant & QBIT);
}

bool fx_is_inf(fx80 a)
{
    return fxi_exp(a) == FX_EXP_MAX && a.mant == TOP;
}

bool fx_is_zero(fx80 a)
{
    return fxi_exp(a) == 0 && a.mant == 0;
}

bool fx_is_denormal(fx80 a)
{
    return fxi_exp(a) == 0 && a.mant != 0;
}

bool fx_is_unsupported(fx80 a)
{
    return fxi_exp(a) != 0 && !(a.mant & TOP);
}

bool fx_sign(fx80 a)
{
    return a.sexp >> 15;
}

fx80 fx_neg(fx80 a)
{
    a.sexp ^= 0x8000;
    return a;
}

fx80 fx_abs(fx80 a)
{
    a.sexp &= 0x7FFF;
    return a;
}

fx80 fx_zero(bool sign)
{
    return fxi_make(sign, 0, 0);
}

fx80 fx_inf(bool sign)
{
    return fxi_make(sign, FX_EXP_MAX, TOP);
}

int fx_xam(fx80 a)
{
    if (fx_is_unsupported(a)) {
        return 0;
    }
    if (fx_is_nan(a)) {
        return 1;
    }
    if (fx_is_inf(a)) {
        return 3;
    }
    if (fx_is_zero(a)) {
        return 4;
    }
    if (fx_is_denormal(a)) {
        return 6;
    }
    return 2;
}

/*
 * The constants carry more bits than fit: the x87 rounds them by RC, which
 * for these five only matters in the direction that the extra bits (given
 * here as "up_on") say.  `near_up` tells whether round-to-nearest rounds up.
 */
fx80 fx_const(struct fx_ctx *ctx, int which)
{
    static const struct {
        uint16_t sexp;
        uint64_t mant; /* truncated significand */
        bool near_up;  /* the bits beyond are above one half */
    } k[7] = {
        { 0x3FFF, 0x8000000000000000ull, false }, /* 1 */
        { 0x4000, 0xD49A784BCD1B8AFEull, false }, /* log2(10) */
        { 0x3FFF, 0xB8AA3B295C17F0BBull, true },  /* log2(e) */
        { 0x4000, 0xC90FDAA22168C234ull, true },  /* pi */
        { 0x3FFD, 0x9A209A84FBCFF798ull, true },  /* log10(2) */
        { 0x3FFE, 0xB17217F7D1CF79ABull, true },  /* ln(2) */
        { 0x0000, 0, false },                     /* +0 */
    };
    ctx->c1 = false;
    if (which < 0 || which > 6) {
        which = 6;
    }
    fx80 r = { .mant = k[which].mant, .sexp = k[which].sexp };
    bool inexact = which >= 1 && which <= 5;
    if (inexact && (ctx->rc == FX_RC_UP || (ctx->rc == FX_RC_NEAREST && k[which].near_up))) {
        r.mant++;
    }
    return r;
}

/* ---- internal helpers ---- */

void fxi_mul64(uint64_t a, uint64_t b, uint64_t *hi, uint64_t *lo)
{
    uint64_t al = (uint32_t)a, ah = a >> 32, bl = (uint32_t)b, bh = b >> 32;
    uint64_t ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
    uint64_t mid = (ll >> 32) + (uint32_t)lh + (uint32_t)hl;
    *lo = (mid << 32) | (uint32_t)ll;
    *hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
}

static int clz64(uint64_t v)
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

void fxi_unpack(fx80 a, bool *sign, int32_t *exp, uint64_t *sig)
{
    int e = fxi_exp(a);
    *sign = fx_sign(a);
    if (e == 0) {
        e = 1; /* denormals and pseudo-denormals share exponent 1's scale */
    }
    int n = clz64(a.mant);
    *sig = a.mant << n;
    *exp = e - FX_BIAS - n;
}

fx80 fxi_invalid(struct fx_ctx *ctx)
{
    ctx->exc |= FX_IE;
    return FX_INDEFINITE;
}

/*
 * The x87 rule for two NaN operands: an SNaN is quietened and raises IE; a
 * QNaN beats an SNaN; between two NaNs of the same kind the larger
 * significand wins (the positive one on a tie).
 */
fx80 fxi_nan2(struct fx_ctx *ctx, fx80 a, fx80 b)
{
    bool an = fx_is_nan(a), bn = fx_is_nan(b);
    if ((an && !(a.mant & QBIT)) || (bn && !(b.mant & QBIT))) {
        ctx->exc |= FX_IE;
    }
    fx80 r;
    if (an && bn) {
        bool aq = a.mant & QBIT, bq = b.mant & QBIT;
        if (aq != bq) {
            r = aq ? a : b;
        } else if (a.mant != b.mant) {
            r = a.mant > b.mant ? a : b;
        } else {
            r = fx_sign(a) ? b : a;
        }
    } else {
        r = an ? a : b;
    }
    r.mant |= QBIT;
    return r;
}

static int prec_bits(const struct fx_ctx *ctx)
{
    return ctx->pc == FX_PC_24 ? 24 : ctx->pc == FX_PC_53 ? 53 : 64;
}

/*
 * Round *sig:extra, dropping the low `drop` bits of *sig (0..64; 64 drops
 * all of it).  Returns true if the kept part was incremented; *carry tells
 * that the increment overflowed 64 bits (the value became 2^64).
 */
static bool round_bits(int rc, bool sign, uint64_t *sig, uint64_t extra, int drop,
                       bool *inexact, bool *carry)
{
    uint64_t low, half, mask, lsb;
    bool sticky;
    if (drop == 0) {
        low = extra;
        half = TOP;
        mask = 0;
        sticky = false;
        lsb = *sig & 1;
    } else {
        mask = drop == 64 ? ~0ull : (1ull << drop) - 1;
        low = *sig & mask;
        half = 1ull << (drop - 1);
        sticky = extra != 0;
        lsb = drop == 64 ? 0 : (*sig >> drop) & 1;
    }
    bool above = low > half || (low == half && sticky);
    bool at_half = low == half && !sticky;
    *inexact = low != 0 || sticky;
    *carry = false;
    bool up;
    switch (rc) {
    case FX_RC_NEAREST: up = above || (at_half && lsb); break;
    case FX_RC_DOWN: up = *inexact && sign; break;
    case FX_RC_UP: up = *inexact && !sign; break;
    default: up = false; break;
    }
    *sig &= ~mask;
    if (up) {
        uint64_t inc = drop == 64 ? 0 : 1ull << drop;
        uint64_t before = *sig;
        *sig += inc;
        *carry = drop == 64 || *sig < before;
    }
    return up;
}

/* Shift sig:extra right by n (any n >= 0), folding lost bits into bit 0. */
static void shift_right_sticky(uint64_t *sig, uint64_t *extra, int32_t n)
{
    if (n == 0) {
        return;
    }
    if (n >= 128) {
        *extra = (*sig | *extra) != 0;
        *sig = 0;
    } else if (n >= 64) {
        uint64_t lost = *extra | (n == 64 ? 0 : *sig << (128 - n));
        *extra = (n == 64 ? *sig : *sig >> (n - 64)) | (lost != 0);
        *sig = 0;
    } else {
        uint64_t lost = *extra << (64 - n);
        *extra = (*extra >> n) | (*sig << (64 - n)) | (lost != 0);
        *sig >>= n;
    }
}

/*
 * The x87 detects tininess after rounding: a result below 2^-16382 that
 * rounds (to the destination precision, exponent unbounded) up to exactly
 * 2^-16382 is not tiny.  e is the biased exponent, below 1.
 */
static bool tiny_after_rounding(int rc, bool sign, int32_t e, uint64_t sig, uint64_t extra,
                                int drop)
{
    bool inexact, carry;
    if (e < 0) {
        return true;
    }
    round_bits(rc, sign, &sig, extra, drop, &inexact, &carry);
    return !carry;
}

static fx80 overflow_result(struct fx_ctx *ctx, bool sign, int prec)
{
    ctx->exc |= FX_OE | FX_PE;
    bool to_inf = ctx->rc == FX_RC_NEAREST || (ctx->rc == FX_RC_UP && !sign) ||
                  (ctx->rc == FX_RC_DOWN && sign);
    ctx->c1 = to_inf;
    if (to_inf) {
        return fx_inf(sign);
    }
    return fxi_make(sign, FX_EXP_MAX - 1, ~0ull << (64 - prec));
}

fx80 fxi_round_pack(struct fx_ctx *ctx, bool sign, int32_t exp, uint64_t sig, uint64_t extra,
                    int prec)
{
    ctx->c1 = false;
    if (sig == 0) {
        if (extra == 0) {
            return fx_zero(sign);
        }
        int n = clz64(extra);
        sig = extra << n;
        extra = 0;
        exp -= 64 + n;
    }
    int32_t e = exp + FX_BIAS;
    int drop = 64 - prec;
    bool inexact, carry;
    if (e < 1 && tiny_after_rounding(ctx->rc, sign, e, sig, extra, drop)) {
        if (!(ctx->masks & FX_UE)) {
            ctx->exc |= FX_UE;
            e += FX_PE_BIAS;
            if (e < 1) {
                /* too tiny even for the biased format: a zero */
                ctx->exc |= FX_PE;
                return fx_zero(sign);
            }
        } else {
            /* masked, or too tiny even for the biased format: denormalize */
            shift_right_sticky(&sig, &extra, 1 - e);
            ctx->c1 = round_bits(ctx->rc, sign, &sig, extra, drop, &inexact, &carry);
            if (carry) {
                sig = TOP; /* only possible when all kept bits were ones */
            }
            if (inexact) {
                ctx->exc |= FX_UE | FX_PE;
            }
            return fxi_make(sign, (sig & TOP) ? 1 : 0, sig);
        }
    } else if (e < 1) {
        /* rounds up to the smallest normal: not tiny on the x87 */
        shift_right_sticky(&sig, &extra, 1 - e);
        e = 1;
        ctx->c1 = round_bits(ctx->rc, sign, &sig, extra, drop, &inexact, &carry);
        if (inexact) {
            ctx->exc |= FX_PE;
        }
        return fxi_make(sign, 1, carry ? TOP : sig);
    }
    ctx->c1 = round_bits(ctx->rc, sign, &sig, extra, drop, &inexact, &carry);
    if (carry) {
        sig = TOP;
        e++;
    }
    if (inexact) {
        ctx->exc |= FX_PE;
    }
    if (e >= FX_EXP_MAX) {
        if (ctx->masks & FX_OE) {
            return overflow_result(ctx, sign, prec);
        }
        if (e - FX_PE_BIAS >= FX_EXP_MAX) {
            /* too huge even for the biased format: an infinity */
            ctx->exc |= FX_OE | FX_PE;
            ctx->c1 = true;
            return fx_inf(sign);
        }
        ctx->exc |= FX_OE;
        e -= FX_PE_BIAS;
    }
    return fxi_make(sign, (uint16_t)e, sig);
}

/*
 * First stage of every two-operand operation: unsupported formats and
 * NaNs.  Returns true with *r set when the result is decided.
 */
static bool nan_check2(struct fx_ctx *ctx, fx80 a, fx80 b, fx80 *r)
{
    if (fx_is_unsupported(a) || fx_is_unsupported(b)) {
        *r = fxi_invalid(ctx);
        return true;
    }
    if (fx_is_nan(a) || fx_is_nan(b)) {
        *r = fxi_nan2(ctx, a, b);
        return true;
    }
    return false;
}

static void denormal_check(struct fx_ctx *ctx, fx80 a, fx80 b)
{
    if (fx_is_denormal(a) || fx_is_denormal(b)) {
        ctx->exc |= FX_DE;
    }
}

/* ---- add / sub ---- */

static fx80 add_finite(struct fx_ctx *ctx, fx80 a, fx80 b)
{
    bool sa, sb;
    int32_t ea, eb;
    uint64_t ma, mb;
    int prec = prec_bits(ctx);
    if (fx_is_zero(a) || fx_is_zero(b)) {
        if (fx_is_zero(a) && fx_is_zero(b)) {
            ctx->c1 = false;
            bool s = fx_sign(a) == fx_sign(b) ? fx_sign(a) : ctx->rc == FX_RC_DOWN;
            return fx_zero(s);
        }
        fxi_unpack(fx_is_zero(a) ? b : a, &sa, &ea, &ma);
        return fxi_round_pack(ctx, sa, ea, ma, 0, prec);
    }
    fxi_unpack(a, &sa, &ea, &ma);
    fxi_unpack(b, &sb, &eb, &mb);
    if (eb > ea || (eb == ea && mb > ma)) {
        bool ts = sa; sa = sb; sb = ts;
        int32_t te = ea; ea = eb; eb = te;
        uint64_t tm = ma; ma = mb; mb = tm;
    }
    /* |a| >= |b| now; align b under a */
    uint64_t xa = 0, xb = 0;
    shift_right_sticky(&mb, &xb, ea - eb);
    if (sa == sb) {
        uint64_t lo = xa + xb;
        uint64_t c0 = lo < xa;
        uint64_t hi = ma + mb + c0;
        bool carry = hi < ma || (c0 && hi == ma);
        if (carry) {
            lo = (lo >> 1) | (hi << 63) | (lo & 1);
            hi = (hi >> 1) | TOP;
            ea++;
        }
        return fxi_round_pack(ctx, sa, ea, hi, lo, prec);
    }
    uint64_t lo = xa - xb;
    uint64_t hi = ma - mb - (xa < xb);
    if (hi == 0 && lo == 0) {
        ctx->c1 = false;
        return fx_zero(ctx->rc == FX_RC_DOWN);
    }
    int n = hi ? clz64(hi) : 64 + clz64(lo);
    if (n >= 64) {
        hi = lo << (n - 64);
        lo = 0;
    } else if (n > 0) {
        hi = (hi << n) | (lo >> (64 - n));
        lo <<= n;
    }
    return fxi_round_pack(ctx, sa, ea - n, hi, lo, prec);
}

fx80 fx_add(struct fx_ctx *ctx, fx80 a, fx80 b)
{
    fx80 r;
    ctx->c1 = false;
    if (nan_check2(ctx, a, b, &r)) {
        return r;
    }
    if (fx_is_inf(a) || fx_is_inf(b)) {
        if (fx_is_inf(a) && fx_is_inf(b) && fx_sign(a) != fx_sign(b)) {
            return fxi_invalid(ctx);
        }
        denormal_check(ctx, a, b);
        return fx_is_inf(a) ? a : b;
    }
    denormal_check(ctx, a, b);
    return add_finite(ctx, a, b);
}

fx80 fx_sub(struct fx_ctx *ctx, fx80 a, fx80 b)
{
    ctx->c1 = false;
    if (fx_is_nan(b) || fx_is_unsupported(b)) {
        return fx_add(ctx, a, b); /* NaN handling must see b unchanged */
    }
    return fx_add(ctx, a, fx_neg(b));
}

/* ---- mul / div ---- */

fx80 fx_mul(struct fx_ctx *ctx, fx80 a, fx80 b)
{
    fx80 r;
    ctx->c1 = false;
    if (nan_check2(ctx, a, b, &r)) {
        return r;
    }
    bool s = fx_sign(a) != fx_sign(b);
    if (fx_is_inf(a) || fx_is_inf(b)) {
        if (fx_is_zero(a) || fx_is_zero(b)) {
            return fxi_invalid(ctx);
        }
        denormal_check(ctx, a, b);
        return fx_inf(s);
    }
    denormal_check(ctx, a, b);
    if (fx_is_zero(a) || fx_is_zero(b)) {
        return fx_zero(s);
    }
    bool sa, sb;
    int32_t ea, eb;
    uint64_t ma, mb, hi, lo;
    fxi_unpack(a, &sa, &ea, &ma);
    fxi_unpack(b, &sb, &eb, &mb);
    fxi_mul64(ma, mb, &hi, &lo);
    int32_t e = ea + eb + 1;
    if (!(hi & TOP)) {
        hi = (hi << 1) | (lo >> 63);
        lo <<= 1;
        e--;
    }
    return fxi_round_pack(ctx, s, e, hi, lo, prec_bits(ctx));
}

/* One restoring-division step: remainder *r < d on entry and exit. */
static unsigned div_step(uint64_t *r, uint64_t d)
{
    bool top = *r >> 63;
    *r <<= 1;
    if (top || *r >= d) {
        *r -= d;
        return 1;
    }
    return 0;
}

fx80 fx_div(struct fx_ctx *ctx, fx80 a, fx80 b)
{
    fx80 r;
    ctx->c1 = false;
    if (nan_check2(ctx, a, b, &r)) {
        return r;
    }
    bool s = fx_sign(a) != fx_sign(b);
    if (fx_is_inf(a)) {
        if (fx_is_inf(b)) {
            return fxi_invalid(ctx);
        }
        denormal_check(ctx, a, b);
        return fx_inf(s);
    }
    if (fx_is_zero(b)) {
        if (fx_is_zero(a)) {
            return fxi_invalid(ctx);
        }
        ctx->exc |= FX_ZE;
        return fx_inf(s);
    }
    denormal_check(ctx, a, b);
    if (fx_is_inf(b) || fx_is_zero(a)) {
        return fx_zero(s);
    }
    bool sa, sb;
    int32_t ea, eb;
    uint64_t ma, mb, q, rem;
    fxi_unpack(a, &sa, &ea, &ma);
    fxi_unpack(b, &sb, &eb, &mb);
    int32_t e = ea - eb;
    int steps;
    if (ma >= mb) {
        rem = ma - mb;
        q = 1;
        steps = 63;
    } else {
        rem = ma;
        q = 0;
        steps = 64;
        e--;
    }
    for (int i = 0; i < steps; i++) {
        q = (q << 1) | div_step(&rem, mb);
    }
    uint64_t extra = (uint64_t)div_step(&rem, mb) << 63;
    extra |= rem != 0;
    return fxi_round_pack(ctx, s, e, q, extra, prec_bits(ctx));
}

/* ---- sqrt ---- */

/* Integer square root of hi:lo (128 bits): root and whether the remainder
 * is nonzero / greater than the root (i.e. the next bit is a one). */
static uint64_t isqrt128(uint64_t hi, uint64_t lo, bool *nonzero, bool *above_half)
{
    uint64_t rh = 0, rl = 0, root = 0;
    for (int i = 63; i >= 0; i--) {
        unsigned pair = (unsigned)((i >= 32 ? hi >> (2 * i - 64) : lo >> (2 * i)) & 3);
        rh = (rh << 2) | (rl >> 62);
        rl = (rl << 2) | pair;
        /* trial = 4*root + 1 as a 128-bit value */
        uint64_t th = root >> 62, tl = (root << 2) | 1;
        root <<= 1;
        if (rh > th || (rh == th && rl >= tl)) {
            rh = rh - th - (rl < tl);
            rl -= tl;
            root |= 1;
        }
    }
    *nonzero = rh || rl;
    *above_half = rh || rl > root;
    return root;
}

fx80 fx_sqrt(struct fx_ctx *ctx, fx80 a)
{
    ctx->c1 = false;
    if (fx_is_unsupported(a)) {
        return fxi_invalid(ctx);
    }
    if (fx_is_nan(a)) {
        return fxi_nan2(ctx, a, a);
    }
    if (fx_is_zero(a)) {
        return a;
    }
    if (fx_sign(a)) {
        return fxi_invalid(ctx);
    }
    if (fx_is_inf(a)) {
        return a;
    }
    denormal_check(ctx, a, a);
    bool s;
    int32_t e;
    uint64_t m, hi, lo;
    fxi_unpack(a, &s, &e, &m);
    if (e & 1) {
        hi = m;
        lo = 0;
        e--;
    } else {
        hi = m >> 1;
        lo = m << 63;
    }
    bool nonzero, above;
    uint64_t root = isqrt128(hi, lo, &nonzero, &above);
    uint64_t extra = above ? TOP | 1 : nonzero ? 1 : 0;
    return fxi_round_pack(ctx, false, e / 2, root, extra, prec_bits(ctx));
}

/* ---- round to integer ---- */

fx80 fx_rndint(struct fx_ctx *ctx, fx80 a)
{
    ctx->c1 = false;
    if (fx_is_unsupported(a)) {
        return fxi_invalid(ctx);
    }
    if (fx_is_nan(a)) {
        return fxi_nan2(ctx, a, a);
    }
    if (fx_is_inf(a) || fx_is_zero(a)) {
        return a;
    }
    denormal_check(ctx, a, a);
    bool s, inexact, carry;
    int32_t e;
    uint64_t m;
    fxi_unpack(a, &s, &e, &m);
    if (e >= 63) {
        return a;
    }
    uint64_t extra = 0;
    int drop = 63 - e;
    if (drop > 64) {
        /* |a| < 1/2: everything is below the rounding bit */
        extra = m;
        m = 0;
        drop = 64;
        e = -1;
    }
    ctx->c1 = round_bits(ctx->rc, s, &m, extra, drop, &inexact, &carry);
    if (inexact) {
        ctx->exc |= FX_PE;
    }
    if (carry) {
        return fxi_make(s, (uint16_t)(e + 1 + FX_BIAS), TOP);
    }
    if (m == 0) {
        return fx_zero(s);
    }
    int n = clz64(m);
    return fxi_make(s, (uint16_t)(e - n + FX_BIAS), m << n);
}

/* ---- compare ---- */

int fx_cmp(struct fx_ctx *ctx, fx80 a, fx80 b, bool quiet)
{
    ctx->c1 = false;
    if (fx_is_unsupported(a) || fx_is_unsupported(b)) {
        ctx->exc |= FX_IE;
        return FX_UN;
    }
    if (fx_is_nan(a) || fx_is_nan(b)) {
        if (!quiet || fx_is_snan(a) || fx_is_snan(b)) {
            ctx->exc |= FX_IE;
        }
        return FX_UN;
    }
    denormal_check(ctx, a, b);
    if (fx_is_zero(a) && fx_is_zero(b)) {
        return FX_EQ;
    }
    bool sa = fx_sign(a), sb = fx_sign(b);
    if (fx_is_zero(a)) {
        return sb ? FX_GT : FX_LT;
    }
    if (fx_is_zero(b)) {
        return sa ? FX_LT : FX_GT;
    }
    if (sa != sb) {
        return sa ? FX_LT : FX_GT;
    }
    int32_t ea, eb;
    uint64_t ma, mb;
    fxi_unpack(a, &sa, &ea, &ma);
    fxi_unpack(b, &sb, &eb, &mb);
    if (fx_is_inf(a)) {
        ea = INT32_MAX;
    }
    if (fx_is_inf(b)) {
        eb = INT32_MAX;
    }
    if (ea == eb && ma == mb) {
        return FX_EQ;
    }
    bool a_bigger = ea > eb || (ea == eb && ma > mb);
    return a_bigger != sa ? FX_GT : FX_LT;
}

int fx_tst(struct fx_ctx *ctx, fx80 a)
{
    return fx_cmp(ctx, a, fx_zero(false), false);
}

/* ---- integers ---- */

fx80 fx_from_i64(struct fx_ctx *ctx, int64_t v)
{
    ctx->c1 = false;
    if (v == 0) {
        return fx_zero(false);
    }
    bool s = v < 0;
    uint64_t m = s ? 0 - (uint64_t)v : (uint64_t)v;
    int n = clz64(m);
    return fxi_make(s, (uint16_t)(FX_BIAS + 63 - n), m << n);
}

/*
 * Round a finite value to an integer magnitude by the context's RC (or
 * toward zero).  Returns false if the magnitude does not fit 64 bits.
 */
static bool round_to_u64(struct fx_ctx *ctx, fx80 a, bool truncate, uint64_t *mag)
{
    bool s, inexact = false, carry = false;
    int32_t e;
    uint64_t m;
    *mag = 0;
    if (fx_is_zero(a)) {
        return true;
    }
    fxi_unpack(a, &s, &e, &m);
    if (e > 63) {
        return false;
    }
    if (e == 63) {
        *mag = m;
        return true;
    }
    uint64_t extra = 0;
    int drop = 63 - e;
    if (drop > 64) {
        extra = m;
        m = 0;
        drop = 64;
    }
    int rc = truncate ? FX_RC_ZERO : ctx->rc;
    ctx->c1 = round_bits(rc, s, &m, extra, drop, &inexact, &carry);
    if (inexact) {
        ctx->exc |= FX_PE;
    }
    if (carry) {
        *mag = 1ull << (64 - drop); /* the kept bits wrapped to 2^64 */
        return true;
    }
    *mag = drop == 64 ? 0 : m >> drop;
    return true;
}

int64_t fx_to_int(struct fx_ctx *ctx, fx80 a, int bits, bool truncate)
{
    int64_t indefinite = bits == 16 ? INT16_MIN : bits == 32 ? INT32_MIN : INT64_MIN;
    uint64_t limit = 1ull << (bits - 1); /* magnitude of the most negative value */
    uint64_t mag;
    ctx->c1 = false;
    if (fx_is_unsupported(a) || fx_is_nan(a) || fx_is_inf(a)) {
        ctx->exc |= FX_IE;
        return indefinite;
    }
    /* FIST raises no DE for a denormal source */
    struct fx_ctx probe = *ctx;
    bool s = fx_sign(a);
    if (!round_to_u64(&probe, a, truncate, &mag) || mag > limit || (!s && mag == limit)) {
        ctx->exc |= FX_IE;
        return indefinite;
    }
    *ctx = probe;
    if (s) {
        return mag == limit ? indefinite : -(int64_t)mag;
    }
    return (int64_t)mag;
}

/* ---- IEEE single / double ---- */

/* Exact widening of an IEEE value: NaNs keep their kind, denormals are
 * normalized (and reported through *denormal); no exception is raised. */
static fx80 widen_ieee(uint64_t bits, int fbits, int ebits, bool *denormal)
{
    int32_t emax = (1 << ebits) - 1, bias = emax >> 1;
    bool s = (bits >> (fbits + ebits)) & 1;
    int32_t e = (int32_t)((bits >> fbits) & (uint64_t)emax);
    uint64_t f = bits & ((1ull << fbits) - 1);
    *denormal = false;
    if (e == emax) {
        return f == 0 ? fx_inf(s) : fxi_make(s, FX_EXP_MAX, TOP | (f << (63 - fbits)));
    }
    if (e == 0) {
        if (f == 0) {
            return fx_zero(s);
        }
        *denormal = true;
        int n = clz64(f);
        return fxi_make(s, (uint16_t)(1 - bias - fbits + 63 - n + FX_BIAS), f << n);
    }
    return fxi_make(s, (uint16_t)(e - bias + FX_BIAS), TOP | (f << (63 - fbits)));
}

static fx80 from_ieee(struct fx_ctx *ctx, uint64_t bits, int fbits, int ebits)
{
    bool denormal;
    fx80 r = widen_ieee(bits, fbits, ebits, &denormal);
    ctx->c1 = false;
    if (fx_is_snan(r)) {
        ctx->exc |= FX_IE;
        r.mant |= QBIT;
    }
    if (denormal) {
        ctx->exc |= FX_DE;
    }
    return r;
}

fx80 fx_widen_f32(uint32_t bits, bool *denormal)
{
    return widen_ieee(bits, 23, 8, denormal);
}

fx80 fx_widen_f64(uint64_t bits, bool *denormal)
{
    return widen_ieee(bits, 52, 11, denormal);
}

fx80 fx_from_f32(struct fx_ctx *ctx, uint32_t bits)
{
    return from_ieee(ctx, bits, 23, 8);
}

fx80 fx_from_f64(struct fx_ctx *ctx, uint64_t bits)
{
    return from_ieee(ctx, bits, 52, 11);
}

static uint64_t to_ieee(struct fx_ctx *ctx, fx80 a, int fbits, int ebits)
{
    int32_t emax = (1 << ebits) - 1, bias = emax >> 1;
    int prec = fbits + 1, drop = 64 - prec;
    uint64_t fmask = (1ull << fbits) - 1, expf = (uint64_t)emax << fbits;
    uint64_t sgn = (uint64_t)fx_sign(a) << (fbits + ebits);
    ctx->c1 = false;
    if (fx_is_unsupported(a)) {
        ctx->exc |= FX_IE;
        return (1ull << (fbits + ebits)) | expf | (1ull << (fbits - 1));
    }
    if (fx_is_nan(a)) {
        if (fx_is_snan(a)) {
            ctx->exc |= FX_IE;
        }
        return sgn | expf | (1ull << (fbits - 1)) | ((a.mant & ~TOP) >> (63 - fbits));
    }
    if (fx_is_inf(a)) {
        return sgn | expf;
    }
    if (fx_is_zero(a)) {
        return sgn;
    }
    /* a denormal source raises no DE on a store */
    bool s, inexact, carry;
    int32_t e;
    uint64_t m, extra = 0;
    fxi_unpack(a, &s, &e, &m);
    int32_t be = e + bias;
    if (be < 1) {
        bool tiny = tiny_after_rounding(ctx->rc, s, be, m, 0, drop);
        if (tiny && !(ctx->masks & FX_UE)) {
            ctx->exc |= FX_UE;
            return sgn; /* not stored */
        }
        shift_right_sticky(&m, &extra, 1 - be);
        ctx->c1 = round_bits(ctx->rc, s, &m, extra, drop, &inexact, &carry);
        if (inexact) {
            ctx->exc |= tiny ? FX_UE | FX_PE : FX_PE;
        }
        if (carry) {
            m = TOP;
        }
        return sgn | ((m & TOP) ? 1ull << fbits : 0) | ((m >> drop) & fmask);
    }
    bool c1 = round_bits(ctx->rc, s, &m, extra, drop, &inexact, &carry);
    if (carry) {
        m = TOP;
        be++;
    }
    if (be >= emax) {
        ctx->exc |= FX_OE;
        if (!(ctx->masks & FX_OE)) {
            return sgn; /* not stored; OE alone is reported */
        }
        ctx->exc |= FX_PE;
        bool to_inf = ctx->rc == FX_RC_NEAREST || (ctx->rc == FX_RC_UP && !s) ||
                      (ctx->rc == FX_RC_DOWN && s);
        ctx->c1 = to_inf;
        return to_inf ? sgn | expf : sgn | (expf - (1ull << fbits)) | fmask;
    }
    ctx->c1 = c1;
    if (inexact) {
        ctx->exc |= FX_PE;
    }
    return sgn | ((uint64_t)be << fbits) | ((m >> drop) & fmask);
}

uint32_t fx_to_f32(struct fx_ctx *ctx, fx80 a)
{
    return (uint32_t)to_ieee(ctx, a, 23, 8);
}

uint64_t fx_to_f64(struct fx_ctx *ctx, fx80 a)
{
    return to_ieee(ctx, a, 52, 11);
}

/* ---- packed BCD ---- */

fx80 fx_from_bcd(struct fx_ctx *ctx, const uint8_t bcd[10])
{
    uint64_t v = 0;
    for (int i = 8; i >= 0; i--) {
        v = v * 100 + (uint64_t)(bcd[i] >> 4) * 10 + (bcd[i] & 15);
    }
    bool s = bcd[9] >> 7;
    fx80 r = fx_from_i64(ctx, (int64_t)v);
    return v == 0 ? fx_zero(s) : s ? fx_neg(r) : r;
}

bool fx_to_bcd(struct fx_ctx *ctx, fx80 a, uint8_t out[10])
{
    static const uint8_t indefinite[10] = { 0, 0, 0, 0, 0, 0, 0, 0xC0, 0xFF, 0xFF };
    uint64_t mag;
    ctx->c1 = false;
    struct fx_ctx probe = *ctx;
    bool ok = !fx_is_unsupported(a) && !fx_is_nan(a) && !fx_is_inf(a);
    if (ok) {
        ok = round_to_u64(&probe, a, false, &mag) && mag <= 999999999999999999ull;
    }
    if (!ok) {
        ctx->exc |= FX_IE;
        for (int i = 0; i < 10; i++) {
            out[i] = indefinite[i];
        }
        return false;
    }
    *ctx = probe;
    for (int i = 0; i < 9; i++) {
        unsigned pair = (unsigned)(mag % 100);
        mag /= 100;
        out[i] = (uint8_t)((pair / 10) << 4 | (pair % 10));
    }
    out[9] = fx_sign(a) ? 0x80 : 0;
    return true;
}
