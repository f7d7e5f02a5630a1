/*
 * fpu_soft.h - bit-exact x87 80-bit extended-precision arithmetic.
 *
 * A software model of the 387+ numeric core, independent of the host's
 * floating point: every result, exception flag and the C1 round-up bit are
 * computed with integer arithmetic only, so a guest sees the same bits on
 * any host.  The x87 instruction layer owns the register stack, tags and the
 * status word; this library only computes values.
 *
 * Conventions shared by every operation that takes a context:
 *  - ctx->rc, ctx->pc and ctx->masks are inputs (control-word fields).
 *  - ctx->exc accumulates FX_* exception bits; it is never cleared here.
 *  - ctx->c1 is overwritten: true iff the result was rounded up in
 *    magnitude (the x87's C1 on a precision exception).
 *  - An invalid operation always returns the value the x87 produces with IE
 *    masked (usually the indefinite); when IE is unmasked the caller must
 *    not store it.  Overflow/underflow with OE/UE unmasked return the
 *    exponent-biased value the x87 writes to a register.
 */
#ifndef KASOU_FPU_SOFT_H
#define KASOU_FPU_SOFT_H

#include <stdbool.h>
#include <stdint.h>

/* sexp: bit 15 sign, bits 0-14 biased exponent (bias 16383);
 * mant carries the explicit integer bit in bit 63. */
typedef struct {
    uint64_t mant;
    uint16_t sexp;
} fx80;

/* x87 exception flag bits, same positions as in the FPU status word */
enum { FX_IE = 0x01, FX_DE = 0x02, FX_ZE = 0x04, FX_OE = 0x08, FX_UE = 0x10, FX_PE = 0x20 };
/* rounding control: the x87 control word RC field values */
enum { FX_RC_NEAREST = 0, FX_RC_DOWN = 1, FX_RC_UP = 2, FX_RC_ZERO = 3 };
/* precision control: the x87 control word PC field values (1 is reserved
 * and treated as 64 bits) */
enum { FX_PC_24 = 0, FX_PC_53 = 2, FX_PC_64 = 3 };

struct fx_ctx {
    uint8_t rc;     /* rounding control */
    uint8_t pc;     /* precision control: add/sub/mul/div/sqrt only */
    uint16_t masks; /* exception masks from the control word (FX_IE..FX_PE) */
    uint16_t exc;   /* OUT: exceptions raised, OR-ed in */
    bool c1;        /* OUT: result was rounded up in magnitude */
};

/* fx_cmp / fx_tst results */
enum { FX_LT, FX_EQ, FX_GT, FX_UN };

/* fx_const selectors, in the order of the FLD1..FLDLN2 opcodes' rows */
enum { FX_K_ONE, FX_K_L2T, FX_K_L2E, FX_K_PI, FX_K_LG2, FX_K_LN2, FX_K_ZERO };

#define FX_BIAS 16383
#define FX_INDEFINITE ((fx80){ .mant = 0xC000000000000000ull, .sexp = 0xFFFF })

/* ---- classification (no context) ---- */
bool fx_is_nan(fx80 a);
bool fx_is_snan(fx80 a);
bool fx_is_inf(fx80 a);
bool fx_is_zero(fx80 a);
bool fx_is_denormal(fx80 a);    /* includes pseudo-denormals */
bool fx_is_unsupported(fx80 a); /* unnormal, pseudo-NaN, pseudo-infinity */
bool fx_sign(fx80 a);
fx80 fx_neg(fx80 a);
fx80 fx_abs(fx80 a);
fx80 fx_zero(bool sign);
fx80 fx_inf(bool sign);
fx80 fx_const(struct fx_ctx *ctx, int which);
/* FXAM class code: C3<<2 | C2<<1 | C0 (empty is the caller's job; C1 is
 * the sign) */
int fx_xam(fx80 a);

/* ---- basic arithmetic (fpu_soft.c) ---- */
fx80 fx_add(struct fx_ctx *ctx, fx80 a, fx80 b);
fx80 fx_sub(struct fx_ctx *ctx, fx80 a, fx80 b);
fx80 fx_mul(struct fx_ctx *ctx, fx80 a, fx80 b);
fx80 fx_div(struct fx_ctx *ctx, fx80 a, fx80 b);
fx80 fx_sqrt(struct fx_ctx *ctx, fx80 a);
fx80 fx_rndint(struct fx_ctx *ctx, fx80 a);

/* ---- compare ---- */
int fx_cmp(struct fx_ctx *ctx, fx80 a, fx80 b, bool quiet);
int fx_tst(struct fx_ctx *ctx, fx80 a);

/* ---- conversions ---- */
fx80 fx_from_i64(struct fx_ctx *ctx, int64_t v);
/* bits is 16, 32 or 64; invalid returns the sized integer indefinite
 * (the most negative value), sign-extended */
int64_t fx_to_int(struct fx_ctx *ctx, fx80 a, int bits, bool truncate);
fx80 fx_from_f32(struct fx_ctx *ctx, uint32_t bits);
fx80 fx_from_f64(struct fx_ctx *ctx, uint64_t bits);
/*
 * Exact widening with no exception, for the memory operand of an
 * arithmetic or compare instruction: an SNaN stays signalling and a
 * denormal comes back normalized with *denormal set, so that the operation
 * can raise IE and DE in the x87's priority order (a NaN operand, an
 * invalid operation or a zero divide suppress DE).
 */
fx80 fx_widen_f32(uint32_t bits, bool *denormal);
fx80 fx_widen_f64(uint64_t bits, bool *denormal);
uint32_t fx_to_f32(struct fx_ctx *ctx, fx80 a);
uint64_t fx_to_f64(struct fx_ctx *ctx, fx80 a);
/* packed BCD, byte 0 = least significant digit pair, byte 9 bit 7 = sign */
fx80 fx_from_bcd(struct fx_ctx *ctx, const uint8_t bcd[10]);
/* returns false (and writes the BCD indefinite) on an invalid operation */
bool fx_to_bcd(struct fx_ctx *ctx, fx80 a, uint8_t out[10]);

/* ---- scaling, remainder (fpu_trans.c) ---- */
fx80 fx_scale(struct fx_ctx *ctx, fx80 a, fx80 b);
void fx_xtract(struct fx_ctx *ctx, fx80 a, fx80 *exp_out, fx80 *sig_out);
/* FPREM (ieee=false) / FPREM1 (ieee=true) of a by b.  quot_low3 gets the
 * quotient's low three bits (Q2 Q1 Q0) and incomplete the C2 result. */
void fx_prem(struct fx_ctx *ctx, fx80 a, fx80 b, bool ieee, fx80 *res, unsigned *quot_low3,
             bool *incomplete);

/* ---- transcendentals (fpu_trans.c) ---- */
fx80 fx_f2xm1(struct fx_ctx *ctx, fx80 a);
fx80 fx_yl2x(struct fx_ctx *ctx, fx80 x, fx80 y);
fx80 fx_yl2xp1(struct fx_ctx *ctx, fx80 x, fx80 y);
/* The trig functions return true ("out of range", C2) when |a| >= 2^63;
 * the outputs are then left untouched and no flag is raised. */
bool fx_sin(struct fx_ctx *ctx, fx80 a, fx80 *res);
bool fx_cos(struct fx_ctx *ctx, fx80 a, fx80 *res);
bool fx_sincos(struct fx_ctx *ctx, fx80 a, fx80 *sin_out, fx80 *cos_out);
bool fx_ptan(struct fx_ctx *ctx, fx80 a, fx80 *tan_out);
/* FPATAN: atan(y/x) with the quadrant taken from both signs */
fx80 fx_patan(struct fx_ctx *ctx, fx80 y, fx80 x);

/*
 * ---- internals shared by fpu_soft.c and fpu_trans.c only ----
 * Not part of the module's interface; the instruction layer must not use
 * them.
 */
#ifdef FPU_SOFT_INTERNAL

#define FX_EXP_MAX 0x7FFF
#define FX_PE_BIAS 24576 /* exponent adjust on unmasked OE/UE */

/* 64x64 -> 128 multiply, portable */
void fxi_mul64(uint64_t a, uint64_t b, uint64_t *hi, uint64_t *lo);
/* sign/exponent/significand of a finite nonzero operand, normalized so that
 * bit 63 is set; exp is unbiased (value = sig * 2^(exp-63)) */
void fxi_unpack(fx80 a, bool *sign, int32_t *exp, uint64_t *sig);
/* Round sig:extra (bit 63 of sig = 2^exp, extra holds the bits below sig)
 * to `prec` bits and pack to fx80, handling overflow, underflow and the
 * unmasked bias adjust.  sig must be normalized or zero. */
fx80 fxi_round_pack(struct fx_ctx *ctx, bool sign, int32_t exp, uint64_t sig, uint64_t extra,
                    int prec);
/* NaN propagation for one or two operands (b may be a non-NaN) */
fx80 fxi_nan2(struct fx_ctx *ctx, fx80 a, fx80 b);
fx80 fxi_invalid(struct fx_ctx *ctx);
static inline int fxi_exp(fx80 a)
{
    return a.sexp & 0x7FFF;
}
static inline fx80 fxi_make(bool sign, uint16_t exp, uint64_t mant)
{
    return (fx80){ .mant = mant, .sexp = (uint16_t)((sign ? 0x8000 : 0) | exp) };
}

#endif /* FPU_SOFT_INTERNAL */

#endif /* KASOU_FPU_SOFT_H */
