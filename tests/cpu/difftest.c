/*
 * difftest.c - the differential CPU test: kasou's interpreter against the
 * host CPU.
 *
 * Usage: tests/difftest --native PATH [--count N] [--start K] [--seed S]
 *                       [--groups LIST] [--one K] [--max-print N]
 *                       [--accel interp|jit] [-v]
 *
 * The generator (diffgen.c) makes sequence K of a seeded stream: a few
 * random 32-bit user-mode instructions with their setup.  tests/diff-native
 * (a 32-bit host program, started here with its stdout on a pipe) runs the
 * sequences on the host CPU and streams back one struct diff_result each;
 * this program generates the same sequences, runs them in a struct cpu
 * (protected mode, CPL 3, flat 32-bit segments, no paging: linear address
 * = physical address = the native program's fixed mappings) and compares
 * registers (not ESP), EFLAGS under the generator's defined-flags mask,
 * the data buffer, an exception if one stopped the run (vector, EIP and
 * the state before it) and, with the x87 groups, the FPU control, status
 * and tag words and every non-empty register; and the transcendental
 * records (diffgen.h), whose results may differ by one ulp.
 *
 * LIST is a comma-separated list of group names (alu, unary, shift,
 * muldiv, bcd, string, bit, cond, misc, shd, stack, x87, x87t), "default"
 * or "all"; a list starting with + or - edits the default set.
 *
 * Instructions are stepped here rather than through cpu_run(): the loop
 * below does what interp.c's exec_one() does, but a fault longjmps back to
 * this loop instead of being delivered, so the vector is seen directly.
 *
 * With --accel jit the emulated side runs translated blocks instead
 * (cpu->accel->exec, as cpu_run would call it), stepping only where the
 * translator declines.  A block runs to its end, so the code is followed
 * by a HLT rather than the RET: it ends the block and, at CPL 3, faults
 * (#GP) with EIP at the end, which counts as reaching it.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "cpu/cpu.h"
#include "cpu/insn.h"
#include "diffgen.h"
#include "hw/bus.h"
#ifdef CONFIG_JIT
#include "jit/jit.h"
#endif

#define RAM_SIZE (4u << 20)
#define KASOU_ESP 0x001F0000u
#define STEP_LIMIT 100000
#define FPU_CMP (DG_X87 | DG_X87T)

struct opts {
    const char *native;
    uint32_t count, start, groups;
    uint64_t seed;
    int max_print;
    bool verbose;
    bool bisect;
    bool jit;
};

struct tally {
    uint32_t done, bad, faults;
    uint32_t per_group[DG_COUNT];
};

struct world {
    struct bus *bus;
    struct cpu *cpu;
    bool jit;
    uint64_t stepped, in_blocks;    /* instructions each way (--accel jit) */
};

/* ---- the emulated side ---- */

static void flat_seg(struct seg *s, uint16_t sel, uint32_t type)
{
    s->sel = sel;
    s->base = 0;
    s->limit = 0xFFFFFFFFu;
    s->ar = AR_P | AR_S | AR_DB | AR_G | (3u << 13) | (type << 8);
}

static void world_init(struct world *w, bool jit)
{
    w->bus = bus_new(RAM_SIZE);
    w->cpu = calloc(1, sizeof(*w->cpu));
    w->jit = jit;
    w->stepped = w->in_blocks = 0;
    if (!w->bus || !w->cpu) {
        fprintf(stderr, "difftest: out of memory\n");
        exit(2);
    }
    cpu_init(w->cpu, w->bus);
#ifdef CONFIG_JIT
    if (jit && jit_attach(w->cpu, false) < 0) {
        fprintf(stderr, "difftest: cannot attach the JIT\n");
        exit(2);
    }
#else
    if (jit) {
        fprintf(stderr, "difftest: this build has no JIT\n");
        exit(2);
    }
#endif
}

static void world_free(struct world *w)
{
#ifdef CONFIG_JIT
    jit_detach(w->cpu);
#endif
    free(w->cpu);
    bus_free(w->bus);
}

/* Load the sequence's starting state: CPL 3 user code in flat segments. */
static void world_load(struct world *w, const struct diff_seq *s)
{
    struct cpu *cpu = w->cpu;
    /* through the bus, so that the previous sequence's blocks are dropped */
    const uint8_t end = w->jit ? 0xF4 : 0xC3;   /* HLT or RET */
    bus_write_buf(w->bus, DIFF_CODE_ADDR, s->code, s->len);
    bus_write_buf(w->bus, DIFF_CODE_ADDR + s->len, &end, 1);
    memcpy(w->bus->ram + DIFF_DATA_ADDR, s->data, DIFF_DATA_SIZE);
    memset(w->bus->ram + DIFF_TREC_ADDR, 0, DIFF_TREC_MAX * DIFF_TREC_SIZE);
    cpu->cr0 |= CR0_PE;
    cpu->cpl = 3;
    flat_seg(&cpu->seg[S_CS], 0x23, 0xB);   /* execute/read, accessed */
    for (int i = 0; i < 6; i++) {
        if (i != S_CS) {
            flat_seg(&cpu->seg[i], 0x2B, 0x3);   /* read/write, accessed */
        }
    }
    memcpy(cpu->r, s->init.r, sizeof(cpu->r));
    cpu->r[R_ESP] = KASOU_ESP;
    cpu->eflags = s->init.eflags | F_IF | F_FIXED1;
    cpu->cc_op = CC_EAGER;
    cpu->eip = DIFF_CODE_ADDR;
    cpu->halted = false;
    cpu->inhibit_irq = 0;
    cpu->exc_vec = -1;
    cpu->exc_depth = 0;
    /* the FNINIT state, every register holding +0 (see diff-native.c) */
    memset(cpu->fpu.mant, 0, sizeof(cpu->fpu.mant));
    memset(cpu->fpu.sexp, 0, sizeof(cpu->fpu.sexp));
    cpu->fpu.cw = 0x037F;
    cpu->fpu.sw = 0;
    cpu->fpu.tw = 0xFFFF;
    cpu->fpu.fop = 0;
    cpu->fpu.fip = cpu->fpu.fdp = 0;
    cpu->fpu.fcs = cpu->fpu.fds = 0;
}

/* One instruction, as interp.c's exec_one() runs it. */
static void world_step(struct cpu *cpu)
{
    struct insn in;
    cpu_decode(cpu, &in);
    cpu->next_eip = cpu->eip + in.len;
    if ((in.op->attr & A_MODRM) && in.mod != 3) {
        cpu->ea = insn_ea(cpu, &in);
    }
    in.op->fn(cpu, &in);
    cpu->eip = cpu->next_eip;
    cpu->icount++;
}

/*
 * Translated blocks from CS:EIP, up to `budget` instructions, where
 * cpu_run() would run them (not in an interrupt shadow or with TF set,
 * which need instruction granularity); false if the translator declines.
 * Nothing delivers events here, so the shadow is dropped after one step.
 */
static bool world_blocks(struct world *w, uint64_t budget)
{
    struct cpu *cpu = w->cpu;
    bool shadow = cpu->inhibit_irq != 0;
    cpu->inhibit_irq = 0;
    if (!w->jit || shadow || cpu->dbg_armed || (cpu->eflags & (F_TF | F_RF))) {
        return false;
    }
    uint64_t before = cpu->icount;
    bool ran = cpu->accel->exec(cpu, cpu->icount + budget);
    w->in_blocks += cpu->icount - before;
    return ran;
}

/*
 * Run until EIP reaches `end` (the RET the native side returns through).
 * Returns -1, or the vector of the fault that stopped the run (-2: the
 * step limit).  Steps are counted in cpu->icount, which survives the
 * longjmp.
 */
static int world_run(struct world *w, uint32_t end)
{
    struct cpu *cpu = w->cpu;
    const uint64_t start = cpu->icount;
    cpu->jmp_valid = true;
    if (setjmp(cpu->jmp)) {
        int vec = cpu->exc_vec;
        cpu->exc_vec = -1;
        cpu->exc_depth = 0;
        cpu->jmp_valid = false;
        /* the HLT after the code: the run reached its end */
        return w->jit && vec == EX_GP && cpu->eip == end ? -1 : vec;
    }
    while (cpu->eip != end && cpu->icount - start < STEP_LIMIT) {
        if (!world_blocks(w, STEP_LIMIT - (cpu->icount - start))) {
            world_step(cpu);
            w->stepped++;
        }
    }
    cpu->jmp_valid = false;
    return cpu->icount - start < STEP_LIMIT ? -1 : -2;
}

/* The FNSAVE image of the emulated x87 (the fields the test compares). */
static void fpu_image(const struct cpu *cpu, uint8_t *img)
{
    const struct fpu *f = &cpu->fpu;
    unsigned top = (f->sw >> 11) & 7;
    memset(img, 0, DIFF_FPU_SIZE);
    img[0] = (uint8_t)f->cw;
    img[1] = (uint8_t)(f->cw >> 8);
    img[4] = (uint8_t)f->sw;
    img[5] = (uint8_t)(f->sw >> 8);
    img[8] = (uint8_t)f->tw;
    img[9] = (uint8_t)(f->tw >> 8);
    for (unsigned i = 0; i < 8; i++) {
        unsigned p = (top + i) & 7;
        uint8_t *r = img + 28 + 10 * i;
        for (int k = 0; k < 8; k++) {
            r[k] = (uint8_t)(f->mant[p] >> (8 * k));
        }
        r[8] = (uint8_t)f->sexp[p];
        r[9] = (uint8_t)(f->sexp[p] >> 8);
    }
}

static void world_result(struct world *w, const struct diff_seq *s, struct diff_result *res)
{
    struct cpu *cpu = w->cpu;
    memset(res, 0, sizeof(*res));
    res->index = s->index;
    res->vec = world_run(w, DIFF_CODE_ADDR + s->len);
    res->eip = cpu->eip;
    memcpy(res->r, cpu->r, sizeof(res->r));
    res->r[R_ESP] = 0;
    res->eflags = cpu_get_eflags(cpu);
    memcpy(res->data, w->bus->ram + DIFF_DATA_ADDR, DIFF_DATA_SIZE);
    memcpy(res->trec, w->bus->ram + DIFF_TREC_ADDR, sizeof(res->trec));
    fpu_image(cpu, res->fpu);
}

/* ---- comparison and reports ---- */

static const char *const rnames[8] = { "eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi" };

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

/* Instruction index at code offset `off` (for the flag mask at a fault). */
static uint32_t insn_at(const struct diff_seq *s, uint32_t eip)
{
    for (uint32_t i = 0; i < s->ninsn; i++) {
        if (DIFF_CODE_ADDR + s->insn_off[i] == eip) {
            return i;
        }
    }
    return s->ninsn;
}

/* x87: control and status words, emptiness, non-empty registers. */
static bool fpu_equal(const uint8_t *a, const uint8_t *b, uint32_t sw_undef)
{
    uint16_t ta = le16(a + 8), tb = le16(b + 8);
    if (le16(a) != le16(b) || ((le16(a + 4) ^ le16(b + 4)) & ~sw_undef)) {
        return false;
    }
    unsigned top = (le16(a + 4) >> 11) & 7;
    for (unsigned i = 0; i < 8; i++) {
        unsigned p = (top + i) & 7;
        bool ea = ((ta >> (2 * p)) & 3) == 3, eb = ((tb >> (2 * p)) & 3) == 3;
        if (ea != eb || (!ea && memcmp(a + 28 + 10 * i, b + 28 + 10 * i, 10))) {
            return false;
        }
    }
    return true;
}

static uint64_t le64(const uint8_t *p)
{
    uint64_t m = 0;
    for (int k = 7; k >= 0; k--) {
        m = m << 8 | p[k];
    }
    return m;
}

/*
 * Same value, or finite values of one sign one unit in the last place
 * apart (across a binade boundary too: the largest significand of one
 * exponent is next to 2^63 in the next; denormals are next to the smallest
 * normal).
 */
static bool m80_within_ulp(const uint8_t *a, const uint8_t *b)
{
    if (!memcmp(a, b, 10)) {
        return true;
    }
    unsigned ea = le16(a + 8), eb = le16(b + 8);
    uint64_t ma = le64(a), mb = le64(b);
    if ((ea ^ eb) & 0x8000) {
        return false;
    }
    ea &= 0x7FFF;
    eb &= 0x7FFF;
    /* finite, with the integer bit where it belongs */
    if (ea == 0x7FFF || eb == 0x7FFF || (ma >> 63) != (ea != 0) || (mb >> 63) != (eb != 0)) {
        return false;
    }
    if (ea == eb) {
        return ma - mb == 1 || mb - ma == 1;
    }
    if (ea > eb) {
        unsigned te = ea;
        uint64_t tm = ma;
        ea = eb, ma = mb, eb = te, mb = tm;
    }
    /* ea is the lower binade now */
    uint64_t top = ea == 0 ? 0x7FFFFFFFFFFFFFFFull : ~0ull;
    return eb == ea + 1 && ma == top && mb == 1ull << 63;
}

/*
 * The transcendental records: each result within one ulp; the status word
 * exact outside its undefined bits and C1.  C1 says which way the result
 * was rounded; when the exact value lies very near a representable one,
 * each implementation reports the direction of its own approximation, so
 * two x87s disagree on it even with identical results.
 */
static bool trec_equal(const struct diff_seq *s, const struct diff_result *n,
                       const struct diff_result *k, uint32_t *bad_rec)
{
    for (uint32_t i = 0; i < DIFF_TREC_MAX; i++) {
        const uint8_t *a = n->trec + i * DIFF_TREC_SIZE, *b = k->trec + i * DIFF_TREC_SIZE;
        uint16_t undef = (uint16_t)((i < s->ntrec ? s->trec_undef[i] : 0) | 0x0200);
        *bad_rec = i;
        if (((le16(a) ^ le16(b)) & ~undef) || !m80_within_ulp(a + 2, b + 2) ||
            !m80_within_ulp(a + 12, b + 12)) {
            return false;
        }
    }
    return true;
}

static bool results_equal(const struct diff_seq *s, const struct diff_result *n,
                          const struct diff_result *k, uint32_t groups)
{
    uint32_t mask = diff_flag_mask(s, n->vec < 0 ? s->ninsn : insn_at(s, n->eip));
    if (n->vec != k->vec || n->eip != k->eip || memcmp(n->r, k->r, sizeof(n->r)) ||
        ((n->eflags ^ k->eflags) & mask) || memcmp(n->data, k->data, DIFF_DATA_SIZE)) {
        return false;
    }
    uint32_t rec;
    if (!trec_equal(s, n, k, &rec)) {
        return false;
    }
    return !(groups & FPU_CMP) || n->vec >= 0 || fpu_equal(n->fpu, k->fpu, s->fsw_undef);
}

static void print_groups(FILE *f, uint32_t groups)
{
    const char *sep = "";
    for (int i = 0; i < DG_COUNT; i++) {
        if (groups & (1u << i)) {
            fprintf(f, "%s%s", sep, diff_group_name(i));
            sep = ",";
        }
    }
}

static void print_code(const struct diff_seq *s)
{
    for (uint32_t i = 0; i < s->ninsn; i++) {
        uint32_t off = s->insn_off[i], end = s->insn_off[i + 1];
        struct insn in;
        char text[96] = "(undecodable)";
        if (insn_decode_buf(&in, s->code + off, s->len - off, 1)) {
            insn_disasm(&in, DIFF_CODE_ADDR + off, text, sizeof(text));
        }
        char hex[48] = "";
        for (uint32_t b = off; b < end && b - off < 15; b++) {
            snprintf(hex + strlen(hex), sizeof(hex) - strlen(hex), "%02x", s->code[b]);
        }
        printf("    %08x  %-30s %-36s undef-before=%03x\n", DIFF_CODE_ADDR + off,
               hex, text, s->undef[i]);
    }
    printf("    %08x  (end)                          undef=%03x\n",
           DIFF_CODE_ADDR + s->len, s->undef[s->ninsn]);
}

static void print_regs(const char *who, const struct diff_result *r)
{
    printf("  %-7s", who);
    if (r->vec >= 0) {
        printf("fault %d at %08x, ", r->vec, r->eip);
    }
    for (int i = 0; i < 8; i++) {
        if (i != R_ESP) {
            printf("%s=%08x ", rnames[i], r->r[i]);
        }
    }
    printf("fl=%08x\n", r->eflags);
}

static void print_fpu(const char *who, const uint8_t *img)
{
    printf("  %-7sfcw=%04x fsw=%04x ftw=%04x", who, le16(img), le16(img + 4), le16(img + 8));
    for (unsigned i = 0; i < 8; i++) {
        const uint8_t *r = img + 28 + 10 * i;
        uint64_t m = 0;
        for (int k = 7; k >= 0; k--) {
            m = m << 8 | r[k];
        }
        printf(" st%u=%04x:%016" PRIx64, i, le16(r + 8), m);
    }
    printf("\n");
}

static void print_trec(const char *who, const uint8_t *r)
{
    printf("  %-7sfsw=%04x", who, le16(r));
    for (int v = 0; v < 2; v++) {
        const uint8_t *p = r + 2 + 10 * v;
        printf(" r%d=%04x:%016" PRIx64, v, le16(p + 8), le64(p));
    }
    printf("\n");
}

static void report(const struct diff_seq *s, const struct diff_result *n,
                   const struct diff_result *k, uint32_t groups, bool same)
{
    printf("difftest: sequence %u (groups: ", s->index);
    print_groups(stdout, s->groups);
    printf(")%s\n  code:\n", same ? "" : ": MISMATCH");
    print_code(s);
    printf("  initial eax=%08x ecx=%08x edx=%08x ebx=%08x ebp=%08x esi=%08x edi=%08x fl=%08x\n",
           s->init.r[0], s->init.r[1], s->init.r[2], s->init.r[3], s->init.r[5],
           s->init.r[6], s->init.r[7], s->init.eflags);
    print_regs("native", n);
    print_regs("kasou", k);
    uint32_t mask = diff_flag_mask(s, n->vec < 0 ? s->ninsn : insn_at(s, n->eip));
    if ((n->eflags ^ k->eflags) & mask) {
        printf("  flags differ under mask %03x: native %03x kasou %03x\n", mask,
               n->eflags & mask, k->eflags & mask);
    }
    for (uint32_t i = 0; i < DIFF_DATA_SIZE; i++) {
        if (n->data[i] != k->data[i]) {
            printf("  data[%03x] (%08x): initial %02x native %02x kasou %02x\n", i,
                   DIFF_DATA_ADDR + i, s->data[i], n->data[i], k->data[i]);
        }
    }
    if ((groups & FPU_CMP) && n->vec < 0) {
        printf("  x87 condition codes undefined at the end: %04x\n", s->fsw_undef);
        print_fpu("native", n->fpu);
        print_fpu("kasou", k->fpu);
    }
    uint32_t rec;
    if (!trec_equal(s, n, k, &rec)) {
        printf("  transcendental record %u (%08x), undefined %04x:\n", rec,
               DIFF_TREC_ADDR + rec * DIFF_TREC_SIZE, s->trec_undef[rec]);
        print_trec("native", n->trec + rec * DIFF_TREC_SIZE);
        print_trec("kasou", k->trec + rec * DIFF_TREC_SIZE);
    }
}

/* ---- the native side ---- */

static FILE *spawn_native(const struct opts *o, uint32_t cut, pid_t *pid)
{
    int fd[2];
    char a[5][32];
    if (pipe(fd)) {
        perror("difftest: pipe");
        exit(2);
    }
    snprintf(a[0], sizeof(a[0]), "%" PRIu64, o->seed);
    snprintf(a[1], sizeof(a[1]), "%u", o->start);
    snprintf(a[2], sizeof(a[2]), "%u", o->count);
    snprintf(a[3], sizeof(a[3]), "%#x", o->groups);
    snprintf(a[4], sizeof(a[4]), "%u", cut);
    *pid = fork();
    if (*pid < 0) {
        perror("difftest: fork");
        exit(2);
    }
    if (*pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        execl(o->native, o->native, a[0], a[1], a[2], a[3], a[4], (char *)NULL);
        fprintf(stderr, "difftest: cannot run %s: %s\n", o->native, strerror(errno));
        _exit(127);
    }
    close(fd[1]);
    FILE *f = fdopen(fd[0], "rb");
    if (!f) {
        perror("difftest: fdopen");
        exit(2);
    }
    return f;
}

/* ---- command line ---- */

static uint32_t parse_groups(const char *list)
{
    uint32_t g = (list[0] == '+' || list[0] == '-') ? DG_DEFAULT : 0;
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", list);
    for (char *t = strtok(buf, ","); t; t = strtok(NULL, ",")) {
        int sign = *t == '-' ? -1 : 1;
        t += (*t == '+' || *t == '-');
        uint32_t bits = 0;
        if (!strcmp(t, "all")) {
            bits = (1u << DG_COUNT) - 1;
        } else if (!strcmp(t, "default")) {
            bits = DG_DEFAULT;
        }
        for (int i = 0; i < DG_COUNT && !bits; i++) {
            if (!strcmp(t, diff_group_name(i))) {
                bits = 1u << i;
            }
        }
        if (!bits) {
            fprintf(stderr, "difftest: unknown group '%s'\n", t);
            exit(2);
        }
        g = sign > 0 ? g | bits : g & ~bits;
    }
    return g;
}

static void usage(void)
{
    fprintf(stderr, "usage: difftest --native PATH [--count N] [--start K] [--seed S]\n"
                    "                [--groups LIST] [--one K] [--bisect K] [--max-print N]\n"
                    "                [--accel interp|jit] [-v]\n");
    exit(2);
}

static void parse_args(int argc, char **argv, struct opts *o)
{
    *o = (struct opts){ .count = 100000, .seed = 1, .groups = DG_DEFAULT, .max_print = 3 };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-v")) {
            o->verbose = true;
            continue;
        }
        if (!v) {
            usage();
        }
        i++;
        if (!strcmp(a, "--native")) {
            o->native = v;
        } else if (!strcmp(a, "--count")) {
            o->count = (uint32_t)strtoul(v, NULL, 0);
        } else if (!strcmp(a, "--start")) {
            o->start = (uint32_t)strtoul(v, NULL, 0);
        } else if (!strcmp(a, "--seed")) {
            o->seed = strtoull(v, NULL, 0);
        } else if (!strcmp(a, "--groups")) {
            o->groups = parse_groups(v);
        } else if (!strcmp(a, "--one")) {
            o->start = (uint32_t)strtoul(v, NULL, 0);
            o->count = 1;
            o->verbose = true;
        } else if (!strcmp(a, "--bisect")) {
            o->start = (uint32_t)strtoul(v, NULL, 0);
            o->count = 1;
            o->bisect = true;
        } else if (!strcmp(a, "--max-print")) {
            o->max_print = atoi(v);
        } else if (!strcmp(a, "--accel") && (!strcmp(v, "jit") || !strcmp(v, "interp"))) {
            o->jit = !strcmp(v, "jit");
        } else {
            usage();
        }
    }
    if (!o->native) {
        usage();
    }
}

/*
 * Run the sequences of `o` (each cut before instruction `cut` if nonzero)
 * on both sides and count mismatches; print up to max_print of them.
 */
static void run_stream(const struct opts *o, struct world *w, uint32_t cut, bool quiet,
                       struct tally *t)
{
    pid_t pid;
    FILE *nat = spawn_native(o, cut, &pid);
    struct diff_seq *s = malloc(sizeof(*s));
    struct diff_result *n = malloc(sizeof(*n)), *k = malloc(sizeof(*k));
    if (!s || !n || !k) {
        exit(2);
    }
    memset(t, 0, sizeof(*t));
    for (; t->done < o->count; t->done++) {
        if (fread(n, sizeof(*n), 1, nat) != 1) {
            fprintf(stderr, "difftest: native side stopped after %u sequences\n", t->done);
            t->bad++;
            break;
        }
        diff_gen(s, o->seed, o->start + t->done, o->groups);
        if (cut) {
            diff_truncate(s, cut);
        }
        if (n->index != s->index) {
            fprintf(stderr, "difftest: out of step with the native side\n");
            exit(2);
        }
        world_load(w, s);
        world_result(w, s, k);
        t->faults += n->vec >= 0;
        bool same = results_equal(s, n, k, o->groups);
        if (!same) {
            t->bad++;
            for (int i = 0; i < DG_COUNT; i++) {
                t->per_group[i] += (s->groups >> i) & 1;
            }
        }
        if (!quiet && ((!same && t->bad <= (uint32_t)o->max_print) || o->verbose)) {
            report(s, n, k, o->groups, same);
        }
    }
    fclose(nat);
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status)) {
        fprintf(stderr, "difftest: %s failed\n", o->native);
        t->bad++;
    }
    free(s);
    free(n);
    free(k);
}

/* Find the first item whose addition to the sequence makes it mismatch. */
static int bisect(const struct opts *o, struct world *w)
{
    struct diff_seq *s = malloc(sizeof(*s));
    struct tally t;
    if (!s) {
        return 2;
    }
    diff_gen(s, o->seed, o->start, o->groups);
    uint32_t ninsn = s->ninsn;
    for (uint32_t cut = 1; cut <= ninsn; cut++) {
        if (!s->item_start[cut]) {
            continue;
        }
        run_stream(o, w, cut < ninsn ? cut : 0, true, &t);
        if (t.bad) {
            uint32_t first = cut - 1;
            while (first > 0 && !s->item_start[first]) {
                first--;
            }
            printf("difftest: sequence %u first mismatches with the item at instructions "
                   "%u-%u (%08x); the sequence up to it:\n", o->start, first, cut - 1,
                   DIFF_CODE_ADDR + s->insn_off[first]);
            struct opts v = *o;
            v.verbose = true;
            run_stream(&v, w, cut < ninsn ? cut : 0, false, &t);
            free(s);
            return 1;
        }
    }
    printf("difftest: sequence %u matches\n", o->start);
    free(s);
    return 0;
}

int main(int argc, char **argv)
{
    struct opts o;
    parse_args(argc, argv, &o);
    struct world w;
    world_init(&w, o.jit);
    if (o.bisect) {
        int rc = bisect(&o, &w);
        world_free(&w);
        return rc;
    }
    struct tally t;
    run_stream(&o, &w, 0, false, &t);
    printf("difftest: %u sequences, %u mismatches (groups: ", t.done, t.bad);
    print_groups(stdout, o.groups);
    printf("; %u ended in a fault natively)\n", t.faults);
    if (o.jit) {
        /* a block that faults is not counted: its retired part is small */
        printf("difftest: jit: %" PRIu64 " instructions retired in translated blocks, "
               "%" PRIu64 " stepped\n", w.in_blocks, w.stepped);
    }
    if (t.bad) {
        printf("difftest: mismatching sequences per group used:");
        for (int i = 0; i < DG_COUNT; i++) {
            if (t.per_group[i]) {
                printf(" %s=%u", diff_group_name(i), t.per_group[i]);
            }
        }
        printf("\n");
    }
    world_free(&w);
    return t.bad ? 1 : 0;
}
