/*
 * fpu.c - x87 state management: the register stack and tags, exception
 * reporting, and the environment/state images (FSTENV/FLDENV,
 * FSAVE/FRSTOR, FXSAVE/FXRSTOR).
 *
 * Arithmetic is done by the bit-exact library in cpu/fpu_soft.c; this file
 * decides what the status word and the stack show afterwards.  Unmasked
 * exceptions set ES and B; the next waiting x87 instruction then reports
 * them: #MF when CR0.NE is set, otherwise by asserting FERR# (the board
 * routes it to IRQ13, as on a PC/AT) and carrying on, which is what the
 * IGNNE# wiring of a PC lets the instruction do.
 */
#include "fpu.h"

unsigned fpu_tag_of(fx80 v)
{
    if (fx_is_zero(v)) {
        return TAG_ZERO;
    }
    if ((v.sexp & 0x7FFF) == 0 || (v.sexp & 0x7FFF) == 0x7FFF || !(v.mant >> 63)) {
        return TAG_SPECIAL;
    }
    return TAG_VALID;
}

void fpu_set_tag(struct cpu *cpu, unsigned phys, unsigned tag)
{
    cpu->fpu.tw = (uint16_t)((cpu->fpu.tw & ~(3u << (2 * phys))) | (tag << (2 * phys)));
}

void fpu_set_st(struct cpu *cpu, unsigned i, fx80 v)
{
    unsigned p = fpu_phys(cpu, i);
    cpu->fpu.mant[p] = v.mant;
    cpu->fpu.sexp[p] = v.sexp;
    fpu_set_tag(cpu, p, fpu_tag_of(v));
}

static void set_top(struct cpu *cpu, unsigned top)
{
    cpu->fpu.sw = (uint16_t)((cpu->fpu.sw & ~SW_TOP) | ((top & 7) << 11));
}

void fpu_push(struct cpu *cpu, fx80 v)
{
    set_top(cpu, fpu_top(cpu) - 1);
    fpu_set_st(cpu, 0, v);
}

void fpu_pop(struct cpu *cpu)
{
    fpu_set_tag(cpu, fpu_phys(cpu, 0), TAG_EMPTY);
    set_top(cpu, fpu_top(cpu) + 1);
}

struct fx_ctx fpu_ctx(const struct cpu *cpu)
{
    struct fx_ctx c = {
        .rc = (cpu->fpu.cw >> 10) & 3,
        .pc = (cpu->fpu.cw >> 8) & 3,
        .masks = cpu->fpu.cw & 0x3F,
    };
    return c;
}

void fpu_update_ferr(struct cpu *cpu)
{
    bool level = cpu->fpu.sw & SW_ES;
    if (level != cpu->ferr) {
        cpu->ferr = level;
        if (cpu->ferr_changed) {
            cpu->ferr_changed(cpu->hook_opaque, level);
        }
    }
}

/* FERR# is not raised here: a P6 signals it at the next waiting x87
 * instruction (fpu_check), like #MF. */
static void raise_flags(struct cpu *cpu, uint16_t exc)
{
    cpu->fpu.sw |= exc & 0x7F;
    if (exc & ~cpu->fpu.cw & 0x3F) {
        cpu->fpu.sw |= SW_ES | SW_B;
    }
}

bool fpu_commit(struct cpu *cpu, const struct fx_ctx *ctx)
{
    uint16_t exc = ctx->exc;
    /* an unmasked pre-computation exception stops the operation: none of
     * the flags the computation would have raised afterwards appear */
    if (exc & ~cpu->fpu.cw & (FX_IE | FX_DE | FX_ZE)) {
        exc &= FX_IE | FX_DE | FX_ZE;
    }
    cpu->fpu.sw &= (uint16_t)~SW_C1;
    if (exc & FX_PE && ctx->c1) {
        cpu->fpu.sw |= SW_C1;
    }
    raise_flags(cpu, exc);
    return !(exc & ~cpu->fpu.cw & (FX_IE | FX_DE | FX_ZE));
}

bool fpu_stack_fault(struct cpu *cpu, bool overflow)
{
    cpu->fpu.sw &= (uint16_t)~SW_C1;
    if (overflow) {
        cpu->fpu.sw |= SW_C1;
    }
    raise_flags(cpu, FX_IE | SW_SF);
    return cpu->fpu.cw & FX_IE;
}

void fpu_set_cc(struct cpu *cpu, uint16_t cc)
{
    cpu->fpu.sw = (uint16_t)((cpu->fpu.sw & ~(SW_C0 | SW_C1 | SW_C2 | SW_C3)) | cc);
}

void fpu_check(struct cpu *cpu, bool waits)
{
    if (cpu->cr0 & (CR0_EM | CR0_TS)) {
        cpu_fault(cpu, EX_NM, EXC_NOERR);
    }
    if (waits && (cpu->fpu.sw & SW_ES)) {
        if (cpu->cr0 & CR0_NE) {
            cpu_fault(cpu, EX_MF, EXC_NOERR);
        }
        fpu_update_ferr(cpu);
    }
}

void fpu_finit(struct cpu *cpu)
{
    cpu->fpu.cw = 0x037F;
    cpu->fpu.sw = 0;
    cpu->fpu.tw = 0xFFFF;
    cpu->fpu.fop = 0;
    cpu->fpu.fip = cpu->fpu.fdp = 0;
    cpu->fpu.fcs = cpu->fpu.fds = 0;
    fpu_update_ferr(cpu);
}

uint16_t fpu_full_tw(const struct cpu *cpu)
{
    uint16_t tw = 0;
    for (unsigned p = 0; p < 8; p++) {
        unsigned t = fpu_tag(cpu, p);
        if (t != TAG_EMPTY) {
            fx80 v = { .mant = cpu->fpu.mant[p], .sexp = cpu->fpu.sexp[p] };
            t = fpu_tag_of(v);
        }
        tw |= (uint16_t)(t << (2 * p));
    }
    return tw;
}

/* Only empty/non-empty is taken from a loaded tag word. */
static void load_tw(struct cpu *cpu, uint16_t tw)
{
    for (unsigned p = 0; p < 8; p++) {
        if (((tw >> (2 * p)) & 3) == TAG_EMPTY) {
            fpu_set_tag(cpu, p, TAG_EMPTY);
        } else {
            fx80 v = { .mant = cpu->fpu.mant[p], .sexp = cpu->fpu.sexp[p] };
            fpu_set_tag(cpu, p, fpu_tag_of(v));
        }
    }
}

static bool env_real(const struct cpu *cpu)
{
    return cpu_real(cpu) || cpu_v86(cpu);
}

/* FSTENV image: 14 bytes (16-bit) or 28 bytes (32-bit), real or protected. */
void fpu_stenv(struct cpu *cpu, const struct insn *in, uint32_t off)
{
    struct fpu *f = &cpu->fpu;
    int w = in->opsize == 32 ? 4 : 2;
    int sz = in->opsize;
    uint32_t v[7];
    v[0] = f->cw | (sz == 32 ? 0xFFFF0000u : 0);
    v[1] = f->sw | (sz == 32 ? 0xFFFF0000u : 0);
    v[2] = fpu_full_tw(cpu) | (sz == 32 ? 0xFFFF0000u : 0);
    if (env_real(cpu)) {
        uint32_t ip = f->fip + ((uint32_t)f->fcs << 4);
        uint32_t dp = f->fdp + ((uint32_t)f->fds << 4);
        v[3] = ip & 0xFFFF;
        v[4] = (sz == 32 ? (ip >> 4) & 0xFFFF000u : (ip >> 4) & 0xF000u) | (f->fop & 0x7FF);
        v[5] = dp & 0xFFFF;
        v[6] = sz == 32 ? (dp >> 4) & 0xFFFF000u : (dp >> 4) & 0xF000u;
    } else {
        v[3] = f->fip;
        v[4] = f->fcs | ((uint32_t)(f->fop & 0x7FF) << 16);
        v[5] = f->fdp;
        v[6] = f->fds;
    }
    cpu_check_write(cpu, in->seg, off, 7 * w);
    for (int i = 0; i < 7; i++) {
        cpu_wr(cpu, in->seg, ea_plus(in, off, (uint32_t)(i * w)), sz, v[i]);
    }
}

void fpu_ldenv(struct cpu *cpu, const struct insn *in, uint32_t off)
{
    struct fpu *f = &cpu->fpu;
    int w = in->opsize == 32 ? 4 : 2;
    uint32_t v[7];
    for (int i = 0; i < 7; i++) {
        v[i] = cpu_rd(cpu, in->seg, ea_plus(in, off, (uint32_t)(i * w)), in->opsize);
    }
    f->cw = (uint16_t)v[0];
    f->sw = (uint16_t)v[1];
    load_tw(cpu, (uint16_t)v[2]);
    if (env_real(cpu)) {
        f->fip = (v[3] & 0xFFFF) | ((v[4] & 0xFFFF000u) << 4);
        f->fop = v[4] & 0x7FF;
        f->fdp = (v[5] & 0xFFFF) | ((v[6] & 0xFFFF000u) << 4);
        f->fcs = f->fds = 0;
    } else {
        f->fip = v[3];
        f->fcs = (uint16_t)v[4];
        f->fop = (v[4] >> 16) & 0x7FF;
        f->fdp = v[5];
        f->fds = (uint16_t)v[6];
    }
    /* ES follows the unmasked exception bits now in the status word */
    if (f->sw & ~f->cw & 0x3F) {
        f->sw |= SW_ES | SW_B;
    } else {
        f->sw &= (uint16_t)~(SW_ES | SW_B);
    }
    fpu_update_ferr(cpu);
}

static void write_reg80(struct cpu *cpu, const struct insn *in, uint32_t off, unsigned phys)
{
    uint64_t m = cpu->fpu.mant[phys];
    cpu_wr32(cpu, in->seg, off, (uint32_t)m);
    cpu_wr32(cpu, in->seg, ea_plus(in, off, 4), (uint32_t)(m >> 32));
    cpu_wr16(cpu, in->seg, ea_plus(in, off, 8), cpu->fpu.sexp[phys]);
}

static fx80 read_reg80(struct cpu *cpu, const struct insn *in, uint32_t off)
{
    uint64_t lo = cpu_rd32(cpu, in->seg, off);
    uint64_t hi = cpu_rd32(cpu, in->seg, ea_plus(in, off, 4));
    return (fx80){ .mant = lo | (hi << 32), .sexp = cpu_rd16(cpu, in->seg, ea_plus(in, off, 8)) };
}

/* Registers are read whole before any is changed, so a fault part-way
 * leaves the FPU untouched. */
static void read_regs(struct cpu *cpu, const struct insn *in, uint32_t base, uint32_t stride,
                      unsigned top)
{
    fx80 v[8];
    for (unsigned i = 0; i < 8; i++) {
        v[i] = read_reg80(cpu, in, ea_plus(in, base, stride * i));
    }
    for (unsigned i = 0; i < 8; i++) {
        unsigned p = (top + i) & 7;
        cpu->fpu.mant[p] = v[i].mant;
        cpu->fpu.sexp[p] = v[i].sexp;
    }
}

void fpu_save(struct cpu *cpu, const struct insn *in)
{
    uint32_t envlen = in->opsize == 32 ? 28 : 14;
    cpu_check_write(cpu, in->seg, cpu->ea, (int)envlen + 80);
    fpu_stenv(cpu, in, cpu->ea);
    for (unsigned i = 0; i < 8; i++) {
        write_reg80(cpu, in, ea_plus(in, cpu->ea, envlen + 10 * i), fpu_phys(cpu, i));
    }
    fpu_finit(cpu);
}

void fpu_restore(struct cpu *cpu, const struct insn *in)
{
    uint32_t envlen = in->opsize == 32 ? 28 : 14;
    /* registers first: the tag word in the image is recomputed from them */
    uint16_t sw = cpu_rd16(cpu, in->seg, ea_plus(in, cpu->ea, in->opsize / 8));
    unsigned top = (sw >> 11) & 7;
    /* touch the environment first so that its faults come before any change */
    cpu_rd(cpu, in->seg, cpu->ea, 16);
    cpu_rd(cpu, in->seg, ea_plus(in, cpu->ea, envlen - 2), 16);
    read_regs(cpu, in, ea_plus(in, cpu->ea, envlen), 10, top);
    fpu_ldenv(cpu, in, cpu->ea);
}

/* --- FXSAVE / FXRSTOR (512-byte image, 16-byte aligned) --- */

static void fx_align(struct cpu *cpu, const struct insn *in)
{
    if (cpu->cr0 & (CR0_EM | CR0_TS)) {
        cpu_fault(cpu, EX_NM, EXC_NOERR);
    }
    if ((cpu->seg[in->seg].base + cpu->ea) & 15) {
        cpu_fault(cpu, EX_GP, 0);
    }
}

void op_fxsave(struct cpu *cpu, const struct insn *in)
{
    struct fpu *f = &cpu->fpu;
    fx_align(cpu, in);
    cpu_check_write(cpu, in->seg, cpu->ea, 512);
    uint8_t ftw = 0;
    for (unsigned p = 0; p < 8; p++) {
        if (fpu_tag(cpu, p) != TAG_EMPTY) {
            ftw |= (uint8_t)(1u << p);
        }
    }
    uint32_t a = cpu->ea;
    cpu_wr16(cpu, in->seg, a, f->cw);
    cpu_wr16(cpu, in->seg, ea_plus(in, a, 2), f->sw);
    cpu_wr16(cpu, in->seg, ea_plus(in, a, 4), ftw);
    cpu_wr16(cpu, in->seg, ea_plus(in, a, 6), f->fop);
    cpu_wr32(cpu, in->seg, ea_plus(in, a, 8), f->fip);
    cpu_wr32(cpu, in->seg, ea_plus(in, a, 12), f->fcs);
    cpu_wr32(cpu, in->seg, ea_plus(in, a, 16), f->fdp);
    cpu_wr32(cpu, in->seg, ea_plus(in, a, 20), f->fds);
    cpu_wr32(cpu, in->seg, ea_plus(in, a, 24), 0x1F80);  /* MXCSR (no SSE) */
    cpu_wr32(cpu, in->seg, ea_plus(in, a, 28), 0);       /* MXCSR_MASK */
    for (unsigned i = 0; i < 8; i++) {
        uint32_t o = ea_plus(in, a, 32 + 16 * i);
        write_reg80(cpu, in, o, fpu_phys(cpu, i));
        cpu_wr16(cpu, in->seg, ea_plus(in, o, 10), 0);
        cpu_wr32(cpu, in->seg, ea_plus(in, o, 12), 0);
    }
}

void op_fxrstor(struct cpu *cpu, const struct insn *in)
{
    struct fpu *f = &cpu->fpu;
    fx_align(cpu, in);
    uint32_t a = cpu->ea;
    uint16_t cw = cpu_rd16(cpu, in->seg, a);
    uint16_t sw = cpu_rd16(cpu, in->seg, ea_plus(in, a, 2));
    uint8_t ftw = cpu_rd8(cpu, in->seg, ea_plus(in, a, 4));
    uint16_t fop = cpu_rd16(cpu, in->seg, ea_plus(in, a, 6)) & 0x7FF;
    uint32_t fip = cpu_rd32(cpu, in->seg, ea_plus(in, a, 8));
    uint16_t fcs = cpu_rd16(cpu, in->seg, ea_plus(in, a, 12));
    uint32_t fdp = cpu_rd32(cpu, in->seg, ea_plus(in, a, 16));
    uint16_t fds = cpu_rd16(cpu, in->seg, ea_plus(in, a, 20));
    read_regs(cpu, in, ea_plus(in, a, 32), 16, (sw >> 11) & 7);
    f->cw = cw;
    f->sw = sw;
    f->fop = fop;
    f->fip = fip;
    f->fcs = fcs;
    f->fdp = fdp;
    f->fds = fds;
    uint16_t tw = 0;
    for (unsigned p = 0; p < 8; p++) {
        tw |= (uint16_t)((ftw >> p & 1 ? TAG_VALID : TAG_EMPTY) << (2 * p));
    }
    load_tw(cpu, tw);
    if (f->sw & ~f->cw & 0x3F) {
        f->sw |= SW_ES | SW_B;
    } else {
        f->sw &= (uint16_t)~(SW_ES | SW_B);
    }
    fpu_update_ferr(cpu);
}

void op_fwait(struct cpu *cpu, const struct insn *in)
{
    (void)in;
    if ((cpu->cr0 & (CR0_MP | CR0_TS)) == (CR0_MP | CR0_TS)) {
        cpu_fault(cpu, EX_NM, EXC_NOERR);
    }
    if (cpu->fpu.sw & SW_ES) {
        if (cpu->cr0 & CR0_NE) {
            cpu_fault(cpu, EX_MF, EXC_NOERR);
        }
        fpu_update_ferr(cpu);
    }
}
