/*
 * sst-run.c - the SingleStepTests conformance runner.
 *
 * Usage: tests/sst-run [-v] [--summary] [-f PREFIX]... [--min-pass PCT]
 *                      [--accel interp|jit] [--list-skips] DIR...
 *
 * Each DIR is one set of hardware-captured vectors (8086 or 80286, told by
 * the directory's name), one gzipped JSON array per opcode form.  For every
 * vector one machine (2 MiB of RAM, no devices: unclaimed ports read as
 * all ones, as the captures assume) is reset, put in real mode (A20 off
 * for the 8086: its 1 MB wrap), loaded with the initial registers and
 * RAM, and run:
 *   - 8086: exactly one instruction; a REP string instruction until it
 *     leaves its own IP (the captures hold the whole loop);
 *   - 80286: until HLT, which follows every instruction and starts every
 *     handler the capture jumped to.
 * Exceptions must be observable without running into random code, so the
 * IVT entries that a vector leaves unspecified point at "sentinels" (JMP $
 * in a 512-byte area the vector does not use) and every handler whose
 * first bytes the vector does not give gets a JMP $ too.  Then a run stops
 * at the handler entry, and the runner can tell which vector was taken.
 *
 * A wrong CPU must not make the run slow, so every run is bounded three
 * ways: a step budget; a fault-storm limit (the IVT is mapped as MMIO that
 * counts vector fetches: a handler whose first instruction faults again
 * delivers exceptions forever without retiring anything, and cpu_run
 * counts only retired instructions); and, last, a CPU-time watchdog
 * (SIGPROF) for a single instruction that never ends.  One machine serves
 * all vectors; only the bytes a vector touched are cleared after it.
 *
 * The comparison covers every register (those the vector does not list
 * must be unchanged, and the upper halves of the 32-bit registers must
 * stay zero), the flags under the per-form undefined-flags mask of
 * 8086/metadata.json, and every RAM byte in final.ram.  Flag bits 12-15
 * are never compared: they differ by chip (8086: always 1; 286 real mode:
 * always 0; 386: IOPL/NT), also in flag images pushed on the stack.
 *
 * Differences between these chips and a 386-class CPU are skipped or
 * adjusted, never faked; the table `skips` names each one and why
 * (--list-skips prints it).  Everything else runs: a failure is a CPU bug.
 *
 * With --accel jit the translator runs the vectors, one instruction a
 * block so that each vector's instruction is translated alone.  The runner
 * writes RAM from the host, so it reports those writes to the bus's code
 * hook (stale translations would run otherwise), and it fills the fetch
 * TLB entry of the first instruction: a reset empties the TLB, and the
 * translator leaves a page that is not in it to the interpreter.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <zlib.h>

#include "config.h"
#include "cpu/cpu.h"
#include "cpu/insn.h"
#include "cpu/mem.h"
#include "hw/bus.h"
#include "util/json.h"
#ifdef CONFIG_JIT
#include "jit/jit.h"
#include "jit/jit_int.h"
#endif

#define RAM_SIZE (2u << 20)
#define MAX_ARMED 512
#define MAX_BYTES 16
#define STEP_BUDGET 4096      /* 80286 run / 8086 REP loop, in instructions */
#define MAX_DELIVERIES 16     /* IVT fetches per vector before a fault storm */
#define WATCHDOG_USEC 500000  /* CPU time for one vector */
#define DEFAULT_MIN_PASS 99.5 /* percent of runnable vectors, per set */
#define FLAGS_HI 0xF000u      /* flag bits 12-15, never compared */

enum chip { CHIP_8086, CHIP_286 };

/* How a run ended early (sigsetjmp values). */
enum { STOP_NONE, STOP_HUNG, STOP_STORM, STOP_BUDGET };
#define STR(x) #x
#define XSTR(x) STR(x)

/* runner.listed bits, per physical byte */
enum { L_INIT = 1, L_FINAL = 2, L_ARMED = 4, L_DATA = L_INIT | L_FINAL };

enum { K_GPR, K_SEG, K_IP, K_FLAGS };
enum { V_AX, V_BX, V_CX, V_DX, V_CS, V_SS, V_DS, V_ES, V_SP, V_BP, V_SI, V_DI,
       V_IP, V_FLAGS, NREGS };
static const struct {
    const char *name;
    int kind, idx;
} regs[NREGS] = {
    { "ax", K_GPR, R_EAX }, { "bx", K_GPR, R_EBX }, { "cx", K_GPR, R_ECX },
    { "dx", K_GPR, R_EDX }, { "cs", K_SEG, S_CS }, { "ss", K_SEG, S_SS },
    { "ds", K_SEG, S_DS }, { "es", K_SEG, S_ES }, { "sp", K_GPR, R_ESP },
    { "bp", K_GPR, R_EBP }, { "si", K_GPR, R_ESI }, { "di", K_GPR, R_EDI },
    { "ip", K_IP, 0 }, { "flags", K_FLAGS, 0 },
};

/*
 * Why vectors are not run (or are adjusted).  Each entry is one documented
 * difference between the captured chip and a 386-class CPU in real mode.
 */
enum skip_id {
    SK_NONE, SK_REVOKED, SK_ESC, SK_JCC_ALIAS, SK_RET_ALIAS, SK_RETF_ALIAS,
    SK_POPCS, SK_SETMO, SK_FF7, SK_FE_UNDEF, SK_8F_REG, SK_C6C7_REG,
    SK_SREG86, SK_SHIFT32, SK_PUSHSP, SK_IDIV_MIN, SK_REP_IDIV, SK_WRAP86,
    SK_ASCII86, SK_LOCK286, SK_LEN286, SK_SREG286, SK_SS286, SK_STR286,
    SK_LOADALL, SK_COUNT,
    /* not skips: listed so that --list-skips shows every adjustment */
    ADJ_DE_IP = SK_COUNT, ADJ_DE_FLAGS, ADJ_FLAGS_HI, ADJ_TOTAL
};
static const struct {
    const char *chip, *forms, *why;
} skips[ADJ_TOTAL] = {
    [SK_REVOKED] = { "any", "listed hashes", "revoked upstream (revocation_list.txt)" },
    [SK_ESC] = { "any", "D8-DF", "x87 escape captured with no coprocessor: the chip "
        "only touches the operand address; kasou has an FPU" },
    [SK_JCC_ALIAS] = { "8086", "60-6F", "8086 aliases of Jcc 70-7F; 186+ decode "
        "PUSHA/POPA/BOUND/ARPL/PUSH/IMUL/INS/OUTS there, or #UD" },
    [SK_RET_ALIAS] = { "8086", "C0, C1", "8086 aliases of RET imm16/RET; 186+ "
        "shift group 2 with imm8" },
    [SK_RETF_ALIAS] = { "8086", "C8, C9", "8086 aliases of RETF imm16/RETF; 186+ "
        "ENTER/LEAVE" },
    [SK_POPCS] = { "8086", "0F", "POP CS on the 8086; the two-byte opcode escape on 286+" },
    [SK_SETMO] = { "8086", "D0-D3 /6", "undocumented SETMO/SETMOC (result all "
        "ones) on the 8086; 386+ execute /6 as SAL" },
    [SK_FF7] = { "8086", "FF /7", "8086 alias of PUSH r/m (FF /6); #UD on 286+" },
    [SK_FE_UNDEF] = { "8086", "FE /2-7", "8086 undefined forms; #UD on 286+" },
    [SK_8F_REG] = { "8086", "8F /1-7", "the 8086 ignores ModRM.reg (POP r/m); #UD on 286+" },
    [SK_C6C7_REG] = { "8086", "C6, C7 /1-7", "the 8086 ignores ModRM.reg (MOV r/m,imm); "
        "#UD on 286+" },
    [SK_SREG86] = { "8086", "8C, 8E /4-7, 8E /1", "the 8086 decodes 2 bits of the "
        "segment field; 386: /4-5 are FS/GS, /6-7 and MOV CS #UD" },
    [SK_SHIFT32] = { "8086", "D2, D3 with CL >= 32", "the 8086 does not mask the "
        "count; 286+ mask it to 5 bits" },
    [SK_PUSHSP] = { "8086", "54, FF /6 SP", "PUSH SP: the 8086 pushes SP after the "
        "decrement, 286+ the value before" },
    [SK_IDIV_MIN] = { "8086", "F6 /7, F7 /7 quotient -80h/-8000h", "the 8086 raises "
        "#DE for the most negative quotient; 286+ return it" },
    [SK_REP_IDIV] = { "8086", "REP F6 /7, REP F7 /7", "8086 microcode: a REP prefix "
        "negates the IDIV quotient; 286+ ignore it" },
    [SK_WRAP86] = { "8086", "word access at offset FFFFh", "the 8086 wraps inside "
        "the segment; 286+ raise #GP/#SS (seen as a #GP/#SS taken on such a vector)" },
    [SK_ASCII86] = { "8086", "37 AL >= FAh, 3F AL < 6 with AF", "8086 AAA/AAS "
        "add/subtract 6 to AL alone; 286+ to AX, so the carry/borrow out of AL "
        "also reaches AH (SDM AAA/AAS: AX <- AX +/- 106h / 6)" },
    [SK_LOCK286] = { "80286", "LOCK + non-lockable form", "the 286 only drives "
        "its LOCK pin; 386+ raise #UD (SDM: LOCK)" },
    [SK_LEN286] = { "80286", "instructions > 10 bytes", "the 286 limit is 10 "
        "bytes (#GP); 386+ allow 15" },
    [SK_SREG286] = { "80286", "8C, 8E /4-5", "#UD on the 286; MOV to/from FS/GS on 386+" },
    [SK_SS286] = { "80286", "SS operand at offset FFFFh", "the 286 raises #GP(13) "
        "for every real-mode segment overrun; 386+ raise #SS(12) for SS "
        "(SDM real-address-mode exceptions; seen as kasou #SS on a captured #GP)" },
    [SK_STR286] = { "80286", "word string op at offset FFFFh", "the 286 "
        "advances SI/DI (and CX) before its segment-overrun #GP(13); 386+ "
        "fault with them unchanged, so the instruction restarts (SDM: faults "
        "are restartable).  Only when all else matches" },
    [SK_LOADALL] = { "80286", "0F05", "LOADALL exists only on the 286" },
    [ADJ_DE_IP] = { "8086", "D4, F6/F7 /6-7 with #DE", "adjusted, not skipped: the "
        "8086 pushes the next IP; the frame is compared with the 286+ rule "
        "(IP of the faulting instruction)" },
    [ADJ_DE_FLAGS] = { "8086", "D4 with #DE", "masked, not skipped: the 8086 "
        "sets SF/ZF/PF before its AAM divide error; 286+ fault with the flags "
        "unchanged, so the pushed image is compared without them" },
    [ADJ_FLAGS_HI] = { "any", "flags bits 12-15", "masked, not skipped: registers "
        "and pushed flag images (8086: ones; 286: zeros; 386: IOPL/NT)" },
};

/* The instruction form, decoded by the runner itself (16-bit code). */
struct form {
    int op, reg, mod, rm;       /* reg/mod/rm of the byte after the opcode */
    int npfx;                   /* prefix bytes */
    int segovr;                 /* last segment override (V_ES..), or -1 */
    bool rep, lock;
};

struct vec {
    int idx;
    const char *name, *hash;
    uint8_t bytes[MAX_BYTES];
    int nbytes;
    uint16_t init[NREGS], fin[NREGS];
    const struct json *iram, *fram;
    int exc;                    /* 80286: exception number, or -1 */
    struct form f;
};

/* An adjusted expectation for one RAM byte. */
struct ram_adj {
    uint32_t addr;
    uint8_t mask;               /* bits compared */
    int value;                  /* replacement expected value, or -1 */
};

struct file_stat {
    char name[64];
    long fail, skip;
};

struct runner {
    struct bus *bus;
    struct cpu *cpu;
    uint8_t *ram;
    uint8_t *listed;            /* per byte: L_* bits */
    uint32_t *touched;          /* bytes to clear after the vector */
    size_t ntouched, cap;
    struct { uint32_t lin; int vec; } armed[MAX_ARMED];
    int narmed;
    uint32_t sentinel;          /* physical base of the JMP $ sentinels */
    int deliveries;             /* IVT fetches in this vector's run */
    uint16_t fmask[256][8];     /* undefined-flags masks [opcode][reg] */
    char **revoked;
    size_t nrevoked;
    bool verbose, summary;
    bool jit;                   /* --accel jit */
    double min_pass;            /* required pass percentage per set */
    const char **only;
    int nonly;
    enum chip chip;
    const char *set, *file;
    long count[3];              /* passed, failed, skipped in this set */
    long skipcount[SK_COUNT];
    struct file_stat *files;
    size_t nfiles;
};

/* Where a run that must stop early escapes to: the one global, as a
 * signal handler needs it (the IVT hook uses it too). */
static sigjmp_buf escape_jmp;

static void watchdog_fired(int sig)
{
    (void)sig;
    siglongjmp(escape_jmp, STOP_HUNG);
}

static void watchdog(long usec)
{
    struct itimerval t = { .it_value = { usec / 1000000, usec % 1000000 } };
    setitimer(ITIMER_PROF, &t, NULL);
}

_Noreturn static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("sst-run: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

/* --- reading files --- */

static char *read_gz(const char *path, size_t *len)
{
    gzFile gz = gzopen(path, "rb");
    if (!gz) {
        die("%s: cannot open: %s", path, strerror(errno));
    }
    size_t cap = 1u << 20, n = 0;
    char *buf = malloc(cap);
    int got;
    while (buf && (got = gzread(gz, buf + n, (unsigned)(cap - n))) > 0) {
        n += (size_t)got;
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
    }
    if (!buf) {
        die("%s: out of memory", path);
    }
    int err;
    const char *msg = gzerror(gz, &err);
    if (err != Z_OK && err != Z_STREAM_END) {
        die("%s: %s", path, msg);
    }
    gzclose(gz);
    *len = n;
    return buf;
}

static struct json_doc *load_json(const char *path)
{
    size_t len;
    char *text = read_gz(path, &len);   /* zlib reads plain files as well */
    char err[160];
    struct json_doc *doc = json_parse(text, len, err, sizeof(err));
    free(text);
    if (!doc) {
        die("%s: bad JSON: %s", path, err);
    }
    return doc;
}

static uint16_t meta_mask(const struct json *entry)
{
    int64_t m;
    return json_int(json_get(entry, "flags-mask"), 0, 0xFFFF, &m) ? (uint16_t)m : 0xFFFF;
}

/* Undefined-flags masks from 8086/metadata.json, fixed up for the 286. */
static void load_masks(struct runner *r, const char *dir)
{
    char path[4096];
    snprintf(path, sizeof(path), r->chip == CHIP_8086 ? "%s/metadata.json" :
             "%s/../8086/metadata.json", dir);
    struct json_doc *doc = load_json(path);
    const struct json *ops = json_get(json_root(doc), "opcodes");
    if (!ops || ops->type != JSON_OBJECT) {
        die("%s: no \"opcodes\" object", path);
    }
    for (int op = 0; op < 256; op++) {
        char key[3];
        snprintf(key, sizeof(key), "%02X", op);
        const struct json *e = json_get(ops, key);
        const struct json *grp = json_get(e, "reg");
        for (int reg = 0; reg < 8; reg++) {
            char rk[2] = { (char)('0' + reg), 0 };
            r->fmask[op][reg] = meta_mask(grp ? json_get(grp, rk) : e);
        }
    }
    json_free(doc);
    if (r->chip == CHIP_286) {
        /* 186+ meanings of the 8086 aliases (SDM flags sections) */
        for (int reg = 0; reg < 8; reg++) {
            for (int op = 0x60; op <= 0x6F; op++) {
                r->fmask[op][reg] = 0xFFFF;
            }
            r->fmask[0x69][reg] = r->fmask[0x6B][reg] = r->fmask[0xF7][5];
            r->fmask[0xC0][reg] = r->fmask[0xD2][reg];
            r->fmask[0xC1][reg] = r->fmask[0xD3][reg];
            r->fmask[0xC8][reg] = r->fmask[0xC9][reg] = 0xFFFF;
        }
    }
}

static void free_revoked(struct runner *r)
{
    for (size_t i = 0; i < r->nrevoked; i++) {
        free(r->revoked[i]);
    }
    free(r->revoked);
    r->revoked = NULL;
    r->nrevoked = 0;
}

static void load_revoked(struct runner *r, const char *dir)
{
    char path[4096], line[256];
    snprintf(path, sizeof(path), "%s/revocation_list.txt", dir);
    free_revoked(r);
    FILE *f = fopen(path, "r");
    if (!f) {
        return;
    }
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, " \t\r\n")] = '\0';
        if (line[0] && line[0] != '#') {
            r->revoked = realloc(r->revoked, (r->nrevoked + 1) * sizeof(char *));
            r->revoked[r->nrevoked++] = strdup(line);
        }
    }
    fclose(f);
}

/* --- one vector out of the JSON --- */

static void parse_regs(const char *file, int idx, const struct json *o,
                       uint16_t *out, bool required)
{
    for (int i = 0; i < NREGS; i++) {
        const struct json *v = json_get(o, regs[i].name);
        int64_t x;
        if (v && json_int(v, 0, 0xFFFF, &x)) {
            out[i] = (uint16_t)x;
        } else if (v || required) {
            die("%s: test %d: bad or missing register %s", file, idx, regs[i].name);
        }
    }
}

static bool check_ram_list(const struct json *list)
{
    for (size_t i = 0; i < json_count(list); i++) {
        const struct json *e = json_at(list, i);
        if (json_count(e) != 2 || !json_int(json_at(e, 0), 0, RAM_SIZE - 1, NULL) ||
            !json_int(json_at(e, 1), 0, 255, NULL)) {
            return false;
        }
    }
    return list && list->type == JSON_ARRAY;
}

static void ram_entry(const struct json *list, size_t i, uint32_t *addr, uint8_t *val)
{
    const struct json *e = json_at(list, i);
    *addr = (uint32_t)json_num(json_at(e, 0), 0);
    *val = (uint8_t)json_num(json_at(e, 1), 0);
}

static void decode_form(struct form *f, const uint8_t *b, int n)
{
    static const int8_t segpfx[4] = { V_ES, V_CS, V_SS, V_DS };
    memset(f, 0, sizeof(*f));
    f->segovr = -1;
    int i = 0;
    for (; i < n - 1; i++) {
        if ((b[i] & 0xE7) == 0x26) {
            f->segovr = segpfx[(b[i] >> 3) & 3];
        } else if (b[i] == 0xF0) {
            f->lock = true;
        } else if (b[i] == 0xF2 || b[i] == 0xF3) {
            f->rep = true;
        } else {
            break;
        }
    }
    f->npfx = i;
    f->op = b[i];
    uint8_t m = i + 1 < n ? b[i + 1] : 0;
    f->mod = m >> 6;
    f->reg = (m >> 3) & 7;
    f->rm = m & 7;
}

static void parse_vec(struct runner *r, const struct json *t, int idx, struct vec *v)
{
    const struct json *init = json_get(t, "initial"), *fin = json_get(t, "final");
    const struct json *bytes = json_get(t, "bytes"), *exc = json_get(t, "exception");
    int64_t x;
    memset(v, 0, sizeof(*v));
    v->idx = json_int(json_get(t, "idx"), 0, INT32_MAX, &x) ? (int)x : idx;
    v->name = json_str(json_get(t, "name"));
    v->hash = json_str(json_get(t, "hash"));
    if (!v->hash) {
        v->hash = json_str(json_get(t, "test_hash"));
    }
    v->nbytes = (int)json_count(bytes);
    if (!init || !fin || v->nbytes < 1 || v->nbytes > MAX_BYTES) {
        die("%s: test %d: missing initial/final/bytes", r->file, idx);
    }
    for (int i = 0; i < v->nbytes; i++) {
        if (!json_int(json_at(bytes, (size_t)i), 0, 255, &x)) {
            die("%s: test %d: bad byte", r->file, idx);
        }
        v->bytes[i] = (uint8_t)x;
    }
    parse_regs(r->file, idx, json_get(init, "regs"), v->init, true);
    memcpy(v->fin, v->init, sizeof(v->fin));
    parse_regs(r->file, idx, json_get(fin, "regs"), v->fin, false);
    v->iram = json_get(init, "ram");
    v->fram = json_get(fin, "ram");
    if (!check_ram_list(v->iram) || !check_ram_list(v->fram)) {
        die("%s: test %d: bad ram list", r->file, idx);
    }
    v->exc = json_int(json_get(exc, "number"), 0, 255, &x) ? (int)x : -1;
    decode_form(&v->f, v->bytes, v->nbytes);
}

/* --- skips --- */

/* ModRM.rm register order as struct vec register indices */
static const int rm_reg[8] = { V_AX, V_CX, V_DX, V_BX, V_SP, V_BP, V_SI, V_DI };

static uint32_t lin_of(const struct runner *r, uint16_t seg, uint32_t off)
{
    uint32_t a = ((uint32_t)seg << 4) + (off & 0xFFFF);
    return r->chip == CHIP_8086 ? (a & 0xFFFFF) : a;
}

static int disp_len(const struct form *f)
{
    if (f->mod == 0) {
        return f->rm == 6 ? 2 : 0;
    }
    return f->mod == 3 ? 0 : f->mod;
}

/* Linear address of the ModRM memory operand, from the initial registers. */
static uint32_t operand_addr(const struct runner *r, const struct vec *v, uint32_t delta)
{
    static const int8_t base[8][2] = {
        { V_BX, V_SI }, { V_BX, V_DI }, { V_BP, V_SI }, { V_BP, V_DI },
        { V_SI, -1 }, { V_DI, -1 }, { V_BP, -1 }, { V_BX, -1 },
    };
    const struct form *f = &v->f;
    const uint8_t *d = v->bytes + f->npfx + 2;
    uint32_t off = 0;
    int seg = V_DS;
    if (f->mod == 1) {
        off = (uint32_t)(int8_t)d[0];
    } else if (f->mod == 2 || (f->mod == 0 && f->rm == 6)) {
        off = d[0] | (uint32_t)d[1] << 8;
    }
    if (f->mod != 0 || f->rm != 6) {
        off += v->init[base[f->rm][0]];
        off += base[f->rm][1] >= 0 ? v->init[base[f->rm][1]] : 0;
        seg = base[f->rm][0] == V_BP ? V_SS : V_DS;
    }
    if (f->segovr >= 0) {
        seg = f->segovr;
    }
    return lin_of(r, v->init[seg], off + delta);
}

/* 8086 IDIV (F6/F7 /7) whose quotient is -80h / -8000h. */
static bool idiv_min_quotient(const struct runner *r, const struct vec *v)
{
    const struct form *f = &v->f;
    bool word = f->op == 0xF7;
    int32_t divisor;
    if (f->mod == 3 && word) {
        divisor = (int16_t)v->init[rm_reg[f->rm]];
    } else if (f->mod == 3) {
        uint16_t x = v->init[rm_reg[f->rm & 3]];
        divisor = (int8_t)(f->rm < 4 ? x : x >> 8);
    } else if (word) {
        divisor = (int16_t)(r->ram[operand_addr(r, v, 0)] |
                            r->ram[operand_addr(r, v, 1)] << 8);
    } else {
        divisor = (int8_t)r->ram[operand_addr(r, v, 0)];
    }
    int64_t dividend = word ? (int32_t)((uint32_t)v->init[V_DX] << 16 | v->init[V_AX])
                            : (int16_t)v->init[V_AX];
    return divisor != 0 && dividend / divisor == (word ? -32768 : -128);
}

/* 8086 AAA/AAS whose adjustment carries out of or borrows into AL. */
static bool ascii_adjust_carry(const struct vec *v)
{
    uint8_t al = (uint8_t)v->init[V_AX];
    bool af = v->init[V_FLAGS] & F_AF;
    bool adjust = (al & 0xF) > 9 || af;
    if (v->f.op == 0x37) {
        return adjust && al >= 0xFA;
    }
    return v->f.op == 0x3F && adjust && al < 6;
}

static enum skip_id skip_8086(const struct runner *r, const struct vec *v)
{
    int op = v->f.op, reg = v->f.reg;
    if (op >= 0x60 && op <= 0x6F) {
        return SK_JCC_ALIAS;
    }
    if (op == 0xC0 || op == 0xC1) {
        return SK_RET_ALIAS;
    }
    if (op == 0xC8 || op == 0xC9) {
        return SK_RETF_ALIAS;
    }
    if (op == 0x0F) {
        return SK_POPCS;
    }
    if (op >= 0xD0 && op <= 0xD3 && reg == 6) {
        return SK_SETMO;
    }
    if ((op == 0xFF && reg == 7) || (op == 0xFE && reg >= 2)) {
        return op == 0xFF ? SK_FF7 : SK_FE_UNDEF;
    }
    if (op == 0x8F && reg != 0) {
        return SK_8F_REG;
    }
    if ((op == 0xC6 || op == 0xC7) && reg != 0) {
        return SK_C6C7_REG;
    }
    if ((op == 0x8C || op == 0x8E) && (reg >= 4 || (op == 0x8E && reg == 1))) {
        return SK_SREG86;
    }
    if ((op == 0xD2 || op == 0xD3) && (v->init[V_CX] & 0xFF) >= 32) {
        return SK_SHIFT32;
    }
    if (op == 0x54 || (op == 0xFF && reg == 6 && v->f.mod == 3 && v->f.rm == 4)) {
        return SK_PUSHSP;
    }
    if (ascii_adjust_carry(v)) {
        return SK_ASCII86;
    }
    if ((op == 0xF6 || op == 0xF7) && reg == 7) {
        if (v->f.rep) {
            return SK_REP_IDIV;
        }
        if (idiv_min_quotient(r, v)) {
            return SK_IDIV_MIN;
        }
    }
    return SK_NONE;
}

/* May a 386 take LOCK on this form?  (SDM vol.2, LOCK: memory destinations.) */
static bool lockable(const struct form *f)
{
    if (f->mod == 3) {
        return false;
    }
    switch (f->op) {
    case 0x00: case 0x01: case 0x08: case 0x09: case 0x10: case 0x11:
    case 0x18: case 0x19: case 0x20: case 0x21: case 0x28: case 0x29:
    case 0x30: case 0x31: case 0x86: case 0x87:
        return true;
    case 0x80: case 0x81: case 0x82: case 0x83:
        return f->reg != 7;
    case 0xF6: case 0xF7:
        return f->reg == 2 || f->reg == 3;
    case 0xFE: case 0xFF:
        return f->reg <= 1;
    default:
        return false;
    }
}

static enum skip_id skip_286(const struct vec *v)
{
    const struct form *f = &v->f;
    if (f->op == 0x0F && f->npfx + 1 < v->nbytes && v->bytes[f->npfx + 1] == 0x05) {
        return SK_LOADALL;
    }
    if (v->nbytes - 1 > 10) {   /* `bytes` ends with the HLT */
        return SK_LEN286;
    }
    if ((f->op == 0x8C || f->op == 0x8E) && (f->reg == 4 || f->reg == 5)) {
        return SK_SREG286;
    }
    if (f->lock && v->exc != EX_UD && !lockable(f)) {
        return SK_LOCK286;
    }
    return SK_NONE;
}

static enum skip_id skip_pre(const struct runner *r, const struct vec *v)
{
    for (size_t i = 0; v->hash && i < r->nrevoked; i++) {
        if (strcmp(r->revoked[i], v->hash) == 0) {
            return SK_REVOKED;
        }
    }
    if (v->f.op >= 0xD8 && v->f.op <= 0xDF) {
        return SK_ESC;
    }
    return r->chip == CHIP_8086 ? skip_8086(r, v) : skip_286(v);
}

/* --- the machine --- */

static void touch(struct runner *r, uint32_t a)
{
    if (r->ntouched == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 4096;
        r->touched = realloc(r->touched, r->cap * sizeof(*r->touched));
        if (!r->touched) {
            die("out of memory");
        }
    }
    r->touched[r->ntouched++] = a;
}

static void poke(struct runner *r, uint32_t a, uint8_t val)
{
    r->ram[a] = val;
    touch(r, a);
}

/* Tell the bus (the translator) that the runner rewrote the bytes the
 * vector touched, the IVT and the sentinels, as a device's DMA would. */
static void notify_writes(struct runner *r)
{
    struct bus *b = r->bus;
    if (!b->write_notify) {
        return;
    }
    for (size_t i = 0; i < r->ntouched; i++) {
        b->write_notify(b->notify_opaque, r->touched[i], 1);
    }
    b->write_notify(b->notify_opaque, 0, 0x400);
    b->write_notify(b->notify_opaque, r->sentinel, 512);
}

/* Undo the vector's RAM (and the runner's IVT/sentinel writes). */
static void clear_ram(struct runner *r)
{
    for (size_t i = 0; i < r->ntouched; i++) {
        r->ram[r->touched[i]] = 0;
        r->listed[r->touched[i]] = 0;
    }
    memset(r->ram, 0, 0x400);
    memset(r->ram + r->sentinel, 0, 512);
    notify_writes(r);
    r->ntouched = 0;
}

static bool region_free(const struct runner *r, uint32_t a, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        if (r->listed[a + i] & L_DATA) {
            return false;
        }
    }
    return true;
}

static void arm(struct runner *r, uint32_t lin, int vec)
{
    r->armed[r->narmed].lin = lin;
    r->armed[r->narmed++].vec = vec;
    r->listed[lin] |= L_ARMED;
    touch(r, lin);
}

/* Point unspecified IVT entries at sentinels; JMP $ at unspecified handlers. */
static void arm_ivt(struct runner *r)
{
    r->sentinel = 0x70000;
    while (!region_free(r, r->sentinel, 512)) {
        r->sentinel = (r->sentinel + 0x8000) % 0x100000;
    }
    r->narmed = 0;
    for (int v = 0; v < 256; v++) {
        uint32_t e = (uint32_t)v * 4;
        int nl = 0;
        for (uint32_t k = 0; k < 4; k++) {
            nl += (r->listed[e + k] & L_DATA) != 0;
        }
        if (nl == 0) {
            uint32_t s = r->sentinel + (uint32_t)v * 2;
            r->ram[e] = (uint8_t)(v * 2);
            r->ram[e + 1] = (uint8_t)(v >> 7);
            r->ram[e + 2] = (uint8_t)(r->sentinel >> 4);
            r->ram[e + 3] = (uint8_t)(r->sentinel >> 12);
            r->ram[s] = 0xEB;
            r->ram[s + 1] = 0xFE;
            arm(r, s, v);
        } else if (nl == 4) {
            uint16_t off = r->ram[e] | r->ram[e + 1] << 8;
            uint16_t seg = r->ram[e + 2] | r->ram[e + 3] << 8;
            uint32_t h = lin_of(r, seg, off), h2 = lin_of(r, seg, off + 1u);
            bool ours = h < 0x400 || h2 < 0x400 ||
                        (h >= r->sentinel && h < r->sentinel + 512);
            if (!ours && !(r->listed[h] & L_DATA) && !(r->listed[h2] & L_DATA)) {
                poke(r, h, 0xEB);
                poke(r, h2, 0xFE);
            }
            arm(r, h, v);
        }
    }
}

static void load_ram(struct runner *r, const struct json *list, uint8_t bit)
{
    for (size_t i = 0; i < json_count(list); i++) {
        uint32_t a;
        uint8_t val;
        ram_entry(list, i, &a, &val);
        if (bit == 1) {
            r->ram[a] = val;
        }
        r->listed[a] |= bit;
        touch(r, a);
    }
}

static void load_vec(struct runner *r, const struct vec *v)
{
    struct cpu *cpu = r->cpu;
    cpu_reset(cpu);
    cpu_set_a20(cpu, r->chip != CHIP_8086);
    cpu->idtr.limit = 0x3FF;
    for (int i = 0; i < NREGS; i++) {
        if (regs[i].kind == K_GPR) {
            cpu->r[regs[i].idx] = v->init[i];
        } else if (regs[i].kind == K_SEG) {
            cpu_load_seg_real(cpu, regs[i].idx, v->init[i]);
        }
    }
    cpu->eip = v->init[V_IP];
    /* 286/386 real mode cannot hold IOPL/NT (the 286 README says to mask
     * them); the 8086's bits 12-15 read as ones but hold nothing */
    cpu_set_eflags(cpu, v->init[V_FLAGS] & ~FLAGS_HI, 0xFFFFu);
    load_ram(r, v->iram, 1);
    load_ram(r, v->fram, 2);
    arm_ivt(r);
    notify_writes(r);
}

/*
 * Fill the fetch TLB entry for CS:IP the way the fetch would (real mode,
 * no paging: no other effect), so that the translator runs the vector's
 * first instruction.  Not for a page the IVT hook splits: no TLB entry.
 */
static void prime_fetch(struct runner *r)
{
    struct cpu *cpu = r->cpu;
    uint32_t lin = cpu->seg[S_CS].base + (cpu->eip & 0xFFFF);
    bool writable;
    if (cpu->accel && bus_page_ptr(r->bus, (lin & cpu->a20_mask) & ~0xFFFu, &writable)) {
        (void)mmu_read(cpu, lin, 1, ACC_X | cpu_acc_user(cpu));
    }
}

/* The vector whose handler entry CS:IP is at (after its HLT), or -1. */
static int entered_vector(const struct runner *r)
{
    const struct cpu *cpu = r->cpu;
    uint32_t lin = lin_of(r, cpu->seg[S_CS].sel, cpu->eip);
    for (int i = 0; i < r->narmed; i++) {
        if (r->armed[i].lin == lin || (cpu->halted && r->armed[i].lin + 1 == lin)) {
            return r->armed[i].vec;
        }
    }
    return -1;
}

/* At an armed handler entry holding JMP $ (checked after every step). */
static bool at_jmp_self(const struct runner *r)
{
    const struct cpu *cpu = r->cpu;
    uint32_t lin = lin_of(r, cpu->seg[S_CS].sel, cpu->eip);
    return !cpu->halted && (r->listed[lin] & L_ARMED) && r->ram[lin] == 0xEB;
}

static bool is_string_op(int op)
{
    return (op >= 0xA4 && op <= 0xA7) || (op >= 0xAA && op <= 0xAF) ||
           (op >= 0x6C && op <= 0x6F);
}

/* Run the vector's instruction(s); STOP_BUDGET if the 286 run never halted. */
static int run_cpu(struct runner *r, const struct vec *v)
{
    struct cpu *cpu = r->cpu;
    if (r->chip == CHIP_8086) {
        bool rep_str = v->f.rep && is_string_op(v->f.op);
        int n = 0;
        do {
            cpu_run(cpu, 1);
        } while (rep_str && ++n < STEP_BUDGET && !cpu->halted && !cpu->reset_request &&
                 cpu->eip == v->init[V_IP] && cpu->seg[S_CS].sel == v->init[V_CS]);
        return STOP_NONE;
    }
    for (int n = 0; n < STEP_BUDGET; n++) {
        if (cpu->halted || cpu->reset_request) {
            return STOP_NONE;
        }
        cpu_run(cpu, 1);
        if (at_jmp_self(r)) {
            return STOP_NONE;
        }
    }
    return STOP_BUDGET;
}

/* Run under the watchdog and the fault-storm limit; STOP_NONE if it ended. */
static int run_guarded(struct runner *r, const struct vec *v)
{
    int stop;
    r->deliveries = 0;
    if ((stop = sigsetjmp(escape_jmp, 1)) != 0) {
        watchdog(0);
        r->cpu->jmp_valid = false;
        return stop;
    }
    watchdog(WATCHDOG_USEC);
    prime_fetch(r);
    stop = run_cpu(r, v);
    watchdog(0);
    return stop;
}

/*
 * The IVT (physical 0-3FFh) as MMIO over the same RAM bytes.  Interrupt
 * delivery reads an entry as one dword, which nothing else in 16-bit code
 * does; too many of them in one run is a fault storm.
 */
static uint32_t ivt_read(void *opaque, uint32_t off, int size)
{
    struct runner *r = opaque;
    if (size == 4 && ++r->deliveries > MAX_DELIVERIES) {
        siglongjmp(escape_jmp, STOP_STORM);
    }
    uint32_t v = 0;
    for (int i = 0; i < size; i++) {
        v |= (uint32_t)r->ram[off + (uint32_t)i] << (8 * i);
    }
    return v;
}

static void ivt_write(void *opaque, uint32_t off, uint32_t val, int size)
{
    struct runner *r = opaque;
    for (int i = 0; i < size; i++) {
        r->ram[off + (uint32_t)i] = (uint8_t)(val >> (8 * i));
    }
}

static const struct io_ops ivt_ops = { ivt_read, ivt_write, 1 | 2 | 4 };

/* 8086 #GP/#SS on a vector that touches both ends of a segment. */
static bool wrap86(const struct runner *r, const struct vec *v, int taken)
{
    if (r->chip != CHIP_8086 || (taken != EX_GP && taken != EX_SS)) {
        return false;
    }
    static const int segs[4] = { V_CS, V_SS, V_DS, V_ES };
    for (int i = 0; i < 4; i++) {
        if ((r->listed[lin_of(r, v->init[segs[i]], 0xFFFF)] & L_DATA) &&
            (r->listed[lin_of(r, v->init[segs[i]], 0)] & L_DATA)) {
            return true;
        }
    }
    return false;
}

/* --- comparison --- */

struct diffs {
    char text[4096];
    size_t n;
    int count;
};

static void diff_add(struct diffs *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void diff_add(struct diffs *d, const char *fmt, ...)
{
    d->count++;
    if (d->n >= sizeof(d->text) - 1) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(d->text + d->n, sizeof(d->text) - d->n, fmt, ap);
    va_end(ap);
    d->n += k > 0 ? (size_t)k : 0;
    if (d->n >= sizeof(d->text)) {
        d->n = sizeof(d->text) - 1;
    }
}

/* Flags compared for this vector: the metadata mask, refined for shifts. */
static uint16_t flags_mask(const struct runner *r, const struct vec *v)
{
    const struct form *f = &v->f;
    uint16_t m = r->fmask[f->op][f->reg];
    if (f->op == 0xD2 || f->op == 0xD3 || f->op == 0xC0 || f->op == 0xC1) {
        unsigned count = f->op >= 0xD2 ? (v->init[V_CX] & 0xFF)
                                       : v->bytes[f->npfx + 2 + disp_len(f)];
        if (r->chip != CHIP_8086) {
            count &= 0x1F;
        }
        if (count == 0) {
            m = 0xFFFF;           /* no flag changes at all */
        } else if (count == 1) {
            m |= F_OF;            /* OF is defined for 1-bit shifts */
        }
    }
    if (r->chip == CHIP_8086 && f->op == 0xD4 && v->bytes[f->npfx + 1] == 0) {
        m &= ~(F_SF | F_ZF | F_PF);   /* ADJ_DE_FLAGS: AAM 0 raises #DE */
    }
    return m & ~FLAGS_HI;
}

static int expected_byte(const struct vec *v, uint32_t addr)
{
    for (size_t i = 0; i < json_count(v->fram); i++) {
        uint32_t a;
        uint8_t val;
        ram_entry(v->fram, i, &a, &val);
        if (a == addr) {
            return val;
        }
    }
    return -1;
}

static void adj_word(struct ram_adj *adj, int *n, uint32_t lo, uint32_t hi,
                     uint16_t mask, int value)
{
    adj[*n] = (struct ram_adj){ lo, (uint8_t)mask, value < 0 ? -1 : (value & 0xFF) };
    adj[*n + 1] = (struct ram_adj){ hi, (uint8_t)(mask >> 8), value < 0 ? -1 : (value >> 8) };
    *n += 2;
}

/*
 * Adjusted RAM expectations: pushed flag images are compared under the
 * flags mask, and an 8086 #DE frame holds the faulting IP (286+ rule).
 */
static int ram_adjust(const struct runner *r, const struct vec *v, uint16_t fm,
                      struct ram_adj adj[8])
{
    int n = 0, op = v->f.op, reg = v->f.reg;
    uint16_t ss = v->fin[V_SS], sp = v->fin[V_SP];
    if (v->exc >= 0) {
        /* the capture's flag_address is rounded down to even: with an odd
         * SP it misses the image, so take it from the frame instead */
        adj_word(adj, &n, lin_of(r, ss, sp + 4u), lin_of(r, ss, sp + 5u), fm, -1);
    }
    if (op == 0x9C) {
        adj_word(adj, &n, lin_of(r, ss, sp), lin_of(r, ss, sp + 1u), fm, -1);
    }
    bool intr = op == 0xCC || op == 0xCD || op == 0xCE || op == 0xD4 ||
                ((op == 0xF6 || op == 0xF7) && reg >= 6);
    if (r->chip != CHIP_8086 || !intr || (uint16_t)(v->init[V_SP] - 6) != sp) {
        return n;
    }
    adj_word(adj, &n, lin_of(r, ss, sp + 4u), lin_of(r, ss, sp + 5u), fm, -1);
    if (op != 0xCC && op != 0xCD && op != 0xCE) {
        int lo = expected_byte(v, lin_of(r, ss, sp)), hi = expected_byte(v, lin_of(r, ss, sp + 1u));
        if (lo >= 0 && hi >= 0) {
            uint16_t ip = (uint16_t)((lo | hi << 8) - v->nbytes);
            adj_word(adj, &n, lin_of(r, ss, sp), lin_of(r, ss, sp + 1u), 0xFFFF, ip);
        }
    }
    return n;
}

static void flag_names(char *buf, size_t n, uint32_t bits)
{
    static const char *const names[12] = { "CF", "b1", "PF", "b3", "AF", "b5",
                                            "ZF", "SF", "TF", "IF", "DF", "OF" };
    buf[0] = '\0';
    for (int i = 0; i < 12; i++) {
        if (bits & (1u << i)) {
            size_t k = strlen(buf);
            snprintf(buf + k, n - k, "%s%s", k ? " " : "", names[i]);
        }
    }
}

/* Compare the registers, except those in the `ignore` bit set (1 << V_*). */
static void compare_regs(const struct runner *r, const struct vec *v, struct diffs *d,
                         unsigned ignore)
{
    const struct cpu *cpu = r->cpu;
    uint16_t fm = flags_mask(r, v);
    for (int i = 0; i < NREGS; i++) {
        uint32_t exp = v->fin[i], got;
        if (ignore & (1u << i)) {
            continue;
        }
        if (regs[i].kind == K_FLAGS) {
            got = cpu_get_eflags((struct cpu *)cpu) & 0xFFFF;
            if ((got ^ exp) & fm) {
                char names[64];
                flag_names(names, sizeof(names), (got ^ exp) & fm);
                diff_add(d, "    flags  expected %04x got %04x  (differ: %s; compared %04x)\n",
                         exp, got, names, fm);
            }
            continue;
        }
        if (regs[i].kind == K_SEG) {
            const struct seg *s = &cpu->seg[regs[i].idx];
            got = s->sel;
            if (got == exp && s->base != exp << 4) {
                diff_add(d, "    %s.base expected %05x got %05x\n", regs[i].name,
                         exp << 4, s->base);
            }
        } else {
            got = regs[i].kind == K_IP ? cpu->eip : cpu->r[regs[i].idx];
        }
        if (got != exp) {
            diff_add(d, "    %-6s expected %04x got %04x\n", regs[i].name, exp, got);
        }
    }
}

static void compare_ram(const struct runner *r, const struct vec *v, struct diffs *d)
{
    struct ram_adj adj[8];
    int nadj = ram_adjust(r, v, flags_mask(r, v), adj);
    for (size_t i = 0; i < json_count(v->fram); i++) {
        uint32_t a;
        uint8_t exp, mask = 0xFF;
        ram_entry(v->fram, i, &a, &exp);
        for (int k = 0; k < nadj; k++) {
            if (adj[k].addr == a) {
                mask = adj[k].mask;
                exp = adj[k].value >= 0 ? (uint8_t)adj[k].value : exp;
            }
        }
        uint8_t got = r->ram[a];
        if ((got ^ exp) & mask) {
            diff_add(d, "    [%06x] expected %02x got %02x%s\n", a, exp, got,
                     mask != 0xFF ? " (masked)" : "");
        }
    }
}

/* --- reporting --- */

static void print_failure(const struct runner *r, const struct vec *v,
                          const struct diffs *d, int taken, int stop)
{
    char dis[96] = "(undecodable)";
    struct insn in;
    if (insn_decode_buf(&in, v->bytes, (size_t)v->nbytes, 0) > 0) {
        insn_disasm(&in, v->init[V_IP], dis, sizeof(dis));
    }
    printf("FAIL %s/%s #%d: %s\n    bytes ", r->set, r->file, v->idx,
           v->name ? v->name : "?");
    for (int i = 0; i < v->nbytes; i++) {
        printf(" %02x", v->bytes[i]);
    }
    printf("\n    kasou   %s\n", dis);
    printf("    initial ax=%04x bx=%04x cx=%04x dx=%04x sp=%04x bp=%04x si=%04x "
           "di=%04x cs=%04x ss=%04x ds=%04x es=%04x ip=%04x fl=%04x\n",
           v->init[V_AX], v->init[V_BX], v->init[V_CX], v->init[V_DX], v->init[V_SP],
           v->init[V_BP], v->init[V_SI], v->init[V_DI], v->init[V_CS], v->init[V_SS],
           v->init[V_DS], v->init[V_ES], v->init[V_IP], v->init[V_FLAGS]);
    fputs(d->text, stdout);
    if (d->n >= sizeof(d->text) - 1) {
        printf("    ... (%d differences)\n", d->count);
    }
    static const char *const why[] = {
        [STOP_HUNG] = "the CPU hung (watchdog)",
        [STOP_STORM] = "fault storm: more than " XSTR(MAX_DELIVERIES)
                       " interrupt deliveries (a handler faults again?)",
        [STOP_BUDGET] = "no HLT within " XSTR(STEP_BUDGET) " instructions",
    };
    if (stop != STOP_NONE) {
        printf("    note: %s\n", why[stop]);
    }
    if (taken >= 0 || v->exc >= 0) {
        printf("    note: kasou stopped at the handler of vector %d; capture: %s%d\n",
               taken, v->exc >= 0 ? "exception " : "no exception ", v->exc);
    }
}

static bool is_word_string_op(int op)
{
    return op == 0x6D || op == 0x6F || op == 0xA5 || op == 0xA7 || op == 0xAB ||
           op == 0xAD || op == 0xAF;
}

/*
 * Skips decided after the run, from the exception kasou took: the chips
 * and a 386 agree that the access faults but not on the vector or on the
 * registers the fault leaves.
 */
static enum skip_id skip_post(const struct runner *r, const struct vec *v, int taken)
{
    if (wrap86(r, v, taken)) {
        return SK_WRAP86;
    }
    if (r->chip != CHIP_286 || v->exc != EX_GP) {
        return SK_NONE;
    }
    if (taken == EX_SS) {
        return SK_SS286;
    }
    if (taken == EX_GP && is_word_string_op(v->f.op)) {
        /* only when nothing but the index/count registers differ */
        struct diffs d = { .n = 0 };
        compare_regs(r, v, &d, 1u << V_SI | 1u << V_DI | 1u << V_CX);
        compare_ram(r, v, &d);
        return d.count == 0 ? SK_STR286 : SK_NONE;
    }
    return SK_NONE;
}

static void count_skip(struct runner *r, struct file_stat *fs, enum skip_id why)
{
    r->count[2]++;
    r->skipcount[why]++;
    fs->skip++;
}

static void run_one(struct runner *r, const struct vec *v, struct file_stat *fs)
{
    enum skip_id why;
    load_vec(r, v);
    if ((why = skip_pre(r, v)) != SK_NONE) {
        count_skip(r, fs, why);
        clear_ram(r);
        return;
    }
    int stop = run_guarded(r, v);
    int taken = entered_vector(r);
    if (stop == STOP_NONE && (why = skip_post(r, v, taken)) != SK_NONE) {
        count_skip(r, fs, why);
        clear_ram(r);
        return;
    }
    struct diffs d = { .n = 0 };
    d.text[0] = '\0';
    if (stop != STOP_NONE) {
        d.count++;
    }
    compare_regs(r, v, &d, 0);
    compare_ram(r, v, &d);
    if (d.count == 0) {
        r->count[0]++;
    } else {
        r->count[1]++;
        fs->fail++;
        if (r->verbose) {
            print_failure(r, v, &d, taken, stop);
        }
    }
    clear_ram(r);
}

/* --- sets and files --- */

static bool wanted(const struct runner *r, const char *name)
{
    for (int i = 0; i < r->nonly; i++) {
        if (strncmp(name, r->only[i], strlen(r->only[i])) == 0) {
            return true;
        }
    }
    return r->nonly == 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted *.json.gz names in dir; *n gets their count. */
static char **list_files(const char *dir, size_t *n)
{
    DIR *d = opendir(dir);
    if (!d) {
        die("%s: cannot open directory: %s", dir, strerror(errno));
    }
    char **names = NULL;
    *n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len > 8 && strcmp(e->d_name + len - 8, ".json.gz") == 0) {
            names = realloc(names, (*n + 1) * sizeof(*names));
            names[(*n)++] = strdup(e->d_name);
        }
    }
    closedir(d);
    if (*n == 0) {
        die("%s: no *.json.gz vector files", dir);
    }
    qsort(names, *n, sizeof(*names), cmp_names);
    return names;
}

static void run_file(struct runner *r, const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    struct json_doc *doc = load_json(path);
    const struct json *tests = json_root(doc);
    if (tests->type != JSON_ARRAY) {
        die("%s: not a JSON array of tests", path);
    }
    r->files = realloc(r->files, (r->nfiles + 1) * sizeof(*r->files));
    struct file_stat *fs = &r->files[r->nfiles++];
    memset(fs, 0, sizeof(*fs));
    snprintf(fs->name, sizeof(fs->name), "%.*s", (int)(strlen(name) - 8), name);
    r->file = fs->name;
    memset(r->ram, 0, RAM_SIZE);
    for (size_t i = 0; i < json_count(tests); i++) {
        struct vec v;
        parse_vec(r, json_at(tests, i), (int)i, &v);
        run_one(r, &v, &r->files[r->nfiles - 1]);
    }
    json_free(doc);
}

static void print_summary(const struct runner *r)
{
    for (size_t i = 0; i < r->nfiles; i++) {
        const struct file_stat *fs = &r->files[i];
        if (fs->fail) {
            printf("  %s/%s: %ld failed, %ld skipped\n", r->set, fs->name, fs->fail, fs->skip);
        }
    }
    for (int i = 1; i < SK_COUNT; i++) {
        if (r->skipcount[i]) {
            printf("  %s: %ld skipped: %s (%s)\n", r->set, r->skipcount[i],
                   skips[i].forms, skips[i].why);
        }
    }
}

/*
 * Run one set; true when at least r->min_pass percent of its runnable
 * (not skipped) vectors pass.  A set with nothing runnable (all filtered
 * out) neither passes nor fails.
 */
static bool run_set(struct runner *r, const char *dir, long total[3])
{
    static char setname[256];
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/') {
        len--;
    }
    size_t start = len;
    while (start > 0 && dir[start - 1] != '/') {
        start--;
    }
    snprintf(setname, sizeof(setname), "%.*s", (int)(len - start), dir + start);
    r->set = setname;
    if (strstr(setname, "286")) {
        r->chip = CHIP_286;
    } else if (strstr(setname, "8086") || strstr(setname, "8088")) {
        r->chip = CHIP_8086;
    } else {
        die("%s: cannot tell the chip (expected a set named 8086 or 80286)", dir);
    }
    load_masks(r, dir);
    load_revoked(r, dir);
    memset(r->count, 0, sizeof(r->count));
    memset(r->skipcount, 0, sizeof(r->skipcount));
    r->nfiles = 0;
    size_t n;
    char **names = list_files(dir, &n);
    for (size_t i = 0; i < n; i++) {
        if (wanted(r, names[i])) {
            run_file(r, dir, names[i]);
        }
        free(names[i]);
    }
    free(names);
    if (r->summary) {
        print_summary(r);
    }
    long runnable = r->count[0] + r->count[1];
    printf("%s: %ld passed, %ld failed, %ld skipped\n", setname, r->count[0],
           r->count[1], r->count[2]);
    bool ok = true;
    if (runnable > 0) {
        double pct = 100.0 * (double)r->count[0] / (double)runnable;
        /* scaled to hundredths of a percent, where 99.5 is exact */
        ok = (double)r->count[0] * 10000.0 >= (double)runnable * r->min_pass * 100.0;
        printf("%s: %.2f%% of %ld runnable vectors passed (minimum %.2f%%): %s\n",
               setname, pct, runnable, r->min_pass, ok ? "ok" : "FAIL");
    } else {
        printf("%s: no runnable vectors\n", setname);
    }
    fflush(stdout);
    for (int i = 0; i < 3; i++) {
        total[i] += r->count[i];
    }
    return ok;
}

static void list_skips(void)
{
    for (int i = 1; i < ADJ_TOTAL; i++) {
        if (i == SK_COUNT) {
            continue;
        }
        printf("%-6s %-36s %s\n", skips[i].chip, skips[i].forms, skips[i].why);
    }
}

static void usage(FILE *f)
{
    fputs("usage: sst-run [-v] [--summary] [-f PREFIX]... [--min-pass PCT]\n"
          "               [--list-skips] DIR...\n"
          "  Runs the SingleStepTests vectors (*.json.gz) of each set directory\n"
          "  (named 8086 or 80286) and prints one line per set and a total.\n"
          "  -v            print each failing vector with its differences\n"
          "  -f PREFIX     run only the files whose name starts with PREFIX (F6.7)\n"
          "  --summary     print per-file failure counts and skip reasons\n"
          "  --min-pass PCT  required pass percentage of each set's runnable\n"
          "                vectors (default 99.5)\n"
          "  --accel ENGINE  interp (default) or jit: the translator, one\n"
          "                instruction a block\n"
          "  --list-skips  print what is skipped or adjusted, and why\n"
          "Exit status: 0 if every set passes >= PCT% of its runnable vectors,\n"
          "1 otherwise, 2 on bad arguments or unreadable files.\n", f);
}

static int parse_args(struct runner *r, int argc, char **argv, const char ***dirs)
{
    int ndirs = 0;
    *dirs = calloc((size_t)argc, sizeof(**dirs));
    r->only = calloc((size_t)argc, sizeof(*r->only));
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-v")) {
            r->verbose = true;
        } else if (!strcmp(a, "--summary")) {
            r->summary = true;
        } else if (!strcmp(a, "--list-skips")) {
            list_skips();
            exit(0);
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            exit(0);
        } else if (!strcmp(a, "--min-pass") && i + 1 < argc) {
            char *end;
            r->min_pass = strtod(argv[++i], &end);
            if (*end || end == argv[i] || !(r->min_pass >= 0 && r->min_pass <= 100)) {
                fprintf(stderr, "sst-run: bad --min-pass '%s' (0-100)\n", argv[i]);
                exit(2);
            }
        } else if (!strcmp(a, "-f") && i + 1 < argc) {
            r->only[r->nonly++] = argv[++i];
        } else if (!strcmp(a, "--accel") && i + 1 < argc &&
                   (!strcmp(argv[i + 1], "jit") || !strcmp(argv[i + 1], "interp"))) {
            r->jit = !strcmp(argv[++i], "jit");
        } else if (a[0] == '-') {
            fprintf(stderr, "sst-run: bad argument '%s'\n", a);
            usage(stderr);
            exit(2);
        } else {
            (*dirs)[ndirs++] = a;
        }
    }
    if (ndirs == 0) {
        fprintf(stderr, "sst-run: no set directory given\n");
        usage(stderr);
        exit(2);
    }
    return ndirs;
}

static void attach_jit(struct runner *r)
{
    if (!r->jit) {
        return;
    }
#ifdef CONFIG_JIT
    if (jit_attach(r->cpu, false) < 0) {
        die("cannot attach the JIT");
    }
    jit_set_block_limit(r->cpu, 1);
#else
    die("this build has no JIT");
#endif
}

/* With the translator's counters: they show that it ran the vectors. */
static void detach_jit(struct runner *r)
{
#ifdef CONFIG_JIT
    if (r->jit) {
        const struct jit *j = r->cpu->accel_opaque;
        printf("jit: %llu blocks translated, %llu invalidated\n",
               (unsigned long long)j->n_translated, (unsigned long long)j->n_invalidated);
        jit_detach(r->cpu);
    }
#endif
}

int main(int argc, char **argv)
{
    struct runner r = { .min_pass = DEFAULT_MIN_PASS };
    const char **dirs;
    int ndirs = parse_args(&r, argc, argv, &dirs);
    r.bus = bus_new(RAM_SIZE);
    r.cpu = calloc(1, sizeof(*r.cpu));
    r.listed = calloc(RAM_SIZE, 1);
    if (!r.bus || !r.cpu || !r.listed) {
        die("out of memory");
    }
    r.ram = r.bus->ram;
    if (bus_map_mmio(r.bus, 0, 0x400, &ivt_ops, &r) < 0) {
        die("cannot map the IVT hook");
    }
    cpu_init(r.cpu, r.bus);
    attach_jit(&r);
    struct sigaction sa = { .sa_handler = watchdog_fired };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGPROF, &sa, NULL);
    long total[3] = { 0, 0, 0 };
    bool ok = true;
    for (int i = 0; i < ndirs; i++) {
        ok &= run_set(&r, dirs[i], total);
    }
    printf("%ld passed, %ld failed, %ld skipped\n", total[0], total[1], total[2]);
    detach_jit(&r);
    fflush(stdout);
    free_revoked(&r);
    free(r.files);
    free(r.touched);
    free(r.listed);
    free(r.cpu);
    bus_free(r.bus);
    free(r.only);
    free(dirs);
    return ok ? 0 : 1;
}
