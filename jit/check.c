/*
 * check.c - lockstep mode (-accel jit,check=on): every block runs in the
 * translator and again in the interpreter from the same state, and the
 * first difference stops the program with a report.
 *
 * One block at a time (no chaining, no indirect lookups):
 *   1. snapshot the architectural state (not the TLB or decode cache);
 *   2. run the block; the bus's write_log hook journals the old value of
 *      every byte it writes (no page has write TLB entries in this mode,
 *      so every store reaches the bus), RDTSC's clock reads are recorded;
 *   3. note the block's final state and the final value of each written
 *      byte, undo the writes and restore the snapshot.  The TLB keeps what
 *      the block filled, and the accessed/dirty bits its page walks set
 *      are neither journaled nor undone: the interpreter then finds the
 *      same translations and the same page-table bytes;
 *   4. interpret as many instructions as the block retired (one more if it
 *      faulted: the same fault must follow), replaying the clock readings;
 *   5. compare registers, segments, control registers, x87 state, the
 *      fault, and every byte either run wrote.
 * A block that touched a device (MMIO or a port: side effects cannot be
 * replayed) is not compared; the translator ends blocks at port I/O, so
 * that is mostly single instructions and frame-buffer stores.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/mem.h"
#include "hw/bus.h"
#include "jit_int.h"

struct wlog {
    uint32_t addr;
    uint8_t old;
    uint8_t jit_final;
};

/* the architectural part of struct cpu: before the TLB, and after it */
#define PART1_END offsetof(struct cpu, tlb)
#define PART2_START offsetof(struct cpu, tlb_large)
#define PART2_END offsetof(struct cpu, icache)

struct snap {
    unsigned char a[PART1_END];
    unsigned char b[PART2_END - PART2_START];
};

struct jit_check {
    struct wlog *log;
    size_t n, cap;
    bool logging;
    uint64_t clocks[64];
    unsigned nclocks, clock_pos;
    enum { CLK_PASS, CLK_RECORD, CLK_REPLAY } clock_mode;
    uint64_t (*clock_ns)(void *opaque);
    struct snap s0;
    uint32_t page;          /* ram_byte's last page */
    uint8_t *page_host;
    uint64_t page_gen;
    bool page_valid;
    uint64_t blocks, compared;
};

/* The clock hook takes only the board's opaque: one checked CPU per process. */
static struct jit_check *clock_owner;

static void snap_take(const struct cpu *cpu, struct snap *s)
{
    memcpy(s->a, cpu, PART1_END);
    memcpy(s->b, (const unsigned char *)cpu + PART2_START, sizeof(s->b));
}

static void snap_restore(struct cpu *cpu, const struct snap *s)
{
    memcpy(cpu, s->a, PART1_END);
    memcpy((unsigned char *)cpu + PART2_START, s->b, sizeof(s->b));
}

/* Host address of a RAM byte, or NULL; the last page is remembered. */
static uint8_t *ram_byte(struct jit_check *ck, struct bus *bus, uint32_t addr)
{
    uint32_t page = addr & ~0xFFFu;
    if (!ck->page_valid || page != ck->page || bus->generation != ck->page_gen) {
        bool writable;
        uint8_t *p = bus_page_ptr(bus, page, &writable);
        ck->page = page;
        ck->page_host = p && writable ? p : NULL;
        ck->page_gen = bus->generation;
        ck->page_valid = true;
    }
    return ck->page_host ? ck->page_host + (addr & 0xFFF) : NULL;
}

static void write_log(void *opaque, uint32_t paddr, uint32_t len)
{
    struct jit *j = opaque;
    struct jit_check *ck = j->check;
    if (!ck->logging || j->cpu->walk_writes) {
        return;     /* accessed/dirty bits stay set: see jit_check_exec */
    }
    for (uint32_t i = 0; i < len; i++) {
        uint8_t *p = ram_byte(j->check, j->cpu->bus, paddr + i);
        if (!p) {
            continue;
        }
        if (ck->n == ck->cap) {
            ck->cap = ck->cap ? 2 * ck->cap : 4096;
            ck->log = realloc(ck->log, ck->cap * sizeof(*ck->log));
            if (!ck->log) {
                fprintf(stderr, "kasou: jit check: out of memory\n");
                exit(2);
            }
        }
        ck->log[ck->n++] = (struct wlog){ paddr + i, *p, 0 };
    }
}

static uint64_t check_clock(void *opaque)
{
    struct jit_check *ck = clock_owner;
    if (ck->clock_mode == CLK_REPLAY && ck->clock_pos < ck->nclocks) {
        return ck->clocks[ck->clock_pos++];
    }
    uint64_t t = ck->clock_ns(opaque);
    if (ck->clock_mode == CLK_RECORD && ck->nclocks < 64) {
        ck->clocks[ck->nclocks++] = t;
    }
    return t;
}

int jit_check_init(struct jit *j)
{
    struct jit_check *ck = calloc(1, sizeof(*ck));
    if (!ck) {
        return -1;
    }
    j->check = ck;
    struct cpu *cpu = j->cpu;
    cpu->bus->write_log = write_log;
    cpu->bus->log_opaque = j;
    if (cpu->clock_ns) {
        ck->clock_ns = cpu->clock_ns;
        clock_owner = ck;
        cpu->clock_ns = check_clock;
    }
    /* every store must reach the bus (and its journal) */
    memset(j->code_pages, 1, JIT_PAGES);
    mmu_flush(cpu, false);
    return 0;
}

void jit_check_free(struct jit *j)
{
    struct jit_check *ck = j->check;
    if (!ck) {
        return;
    }
    fprintf(stderr, "kasou: jit check: %" PRIu64 " blocks run, %" PRIu64
            " compared with the interpreter, no difference\n", ck->blocks, ck->compared);
    struct cpu *cpu = j->cpu;
    cpu->bus->write_log = NULL;
    if (ck->clock_ns) {
        cpu->clock_ns = ck->clock_ns;
    }
    free(ck->log);
    free(ck);
    j->check = NULL;
}

/* The block's code in address order (it runs from its entry, through
 * the branches it follows, not necessarily in this order). */
static void list_block(const struct jit_block *b, const uint8_t *host)
{
    bool code32 = b->key.flags & JK_CODE32;
    int size32 = code32 && !(b->key.flags & JK_VM);
    uint32_t pos = b->lo_phys & 0xFFF, end = pos + (b->end_phys - b->lo_phys);
    const uint8_t *page = host - (b->key.phys & 0xFFF);
    uint32_t eip = b->key.eip - (b->key.phys - b->lo_phys);
    while (pos < end) {
        struct insn in;
        int len = insn_decode_buf(&in, page + pos, 4096 - pos, size32);
        char buf[96];
        if (len <= 0) {
            break;
        }
        insn_disasm(&in, eip, buf, sizeof(buf));
        fprintf(stderr, "   %s%08" PRIx32 "  %s\n", eip == b->key.eip ? ">" : " ", eip, buf);
        pos += (uint32_t)len;
        eip += (uint32_t)len;
    }
}

#define CMP(name, fmt, a, b)                                                         \
    do {                                                                            \
        if ((a) != (b)) {                                                           \
            fprintf(stderr, "    %-10s jit %" fmt "  interp %" fmt "\n", name, a, b); \
            diff = true;                                                            \
        }                                                                           \
    } while (0)

/* Print the fields that differ; true if any does. */
static bool compare_state(struct cpu *jc, struct cpu *ic)
{
    static const char *const rn[8] = { "eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi" };
    static const char *const sn[6] = { "es", "cs", "ss", "ds", "fs", "gs" };
    bool diff = false;
    for (int i = 0; i < 8; i++) {
        CMP(rn[i], "08" PRIx32, jc->r[i], ic->r[i]);
    }
    CMP("eip", "08" PRIx32, jc->eip, ic->eip);
    CMP("eflags", "08" PRIx32, cpu_get_eflags(jc), cpu_get_eflags(ic));
    for (int i = 0; i < 6; i++) {
        const struct seg *a = &jc->seg[i], *b = &ic->seg[i];
        if (a->sel != b->sel || a->base != b->base || a->limit != b->limit || a->ar != b->ar) {
            fprintf(stderr, "    %-10s jit %04x %08" PRIx32 " %08" PRIx32 " %06" PRIx32
                    "  interp %04x %08" PRIx32 " %08" PRIx32 " %06" PRIx32 "\n", sn[i],
                    a->sel, a->base, a->limit, a->ar, b->sel, b->base, b->limit, b->ar);
            diff = true;
        }
    }
    CMP("cr0", "08" PRIx32, jc->cr0, ic->cr0);
    CMP("cr2", "08" PRIx32, jc->cr2, ic->cr2);
    CMP("cr3", "08" PRIx32, jc->cr3, ic->cr3);
    CMP("cr4", "08" PRIx32, jc->cr4, ic->cr4);
    CMP("cpl", "u", (unsigned)jc->cpl, (unsigned)ic->cpl);
    CMP("icount", PRIu64, jc->icount, ic->icount);
    CMP("halted", "d", (int)jc->halted, (int)ic->halted);
    CMP("inhibit", "d", (int)jc->inhibit_irq, (int)ic->inhibit_irq);
    CMP("a20", "08" PRIx32, jc->a20_mask, ic->a20_mask);
    if (memcmp(&jc->fpu, &ic->fpu, sizeof(jc->fpu))) {
        fprintf(stderr, "    x87 state differs (sw jit %04x interp %04x)\n",
                jc->fpu.sw, ic->fpu.sw);
        diff = true;
    }
    if (memcmp(&jc->msr, &ic->msr, sizeof(jc->msr))) {
        fprintf(stderr, "    MSRs differ\n");
        diff = true;
    }
    return diff;
}

/* A set of guest addresses (open addressing; the journal's sizes). */
struct addr_set {
    uint32_t *slot;
    size_t mask;
};

#define SET_EMPTY 0xFFFFFFFFu   /* never a RAM byte's address */

static bool set_add(struct addr_set *st, uint32_t a)
{
    size_t i = (a * 0x9E3779B1u) & st->mask;
    while (st->slot[i] != SET_EMPTY) {
        if (st->slot[i] == a) {
            return false;
        }
        i = (i + 1) & st->mask;
    }
    st->slot[i] = a;
    return true;
}

/*
 * Memory: every byte either run wrote must hold the same final value.  A
 * byte the translator wrote has its final value in the journal; a byte
 * only the interpreter wrote was left by the translator as it was, which
 * the interpreter's first journal entry for it recorded.
 */
static bool compare_memory(struct jit *j, size_t n_jit)
{
    struct jit_check *ck = j->check;
    size_t cap = 64;
    while (cap < 2 * ck->n) {
        cap *= 2;
    }
    struct addr_set st = { malloc(cap * sizeof(uint32_t)), cap - 1 };
    if (!st.slot) {
        fprintf(stderr, "kasou: jit check: out of memory\n");
        exit(2);
    }
    memset(st.slot, 0xFF, cap * sizeof(uint32_t));
    bool diff = false;
    for (size_t i = 0; i < ck->n; i++) {
        const struct wlog *w = &ck->log[i];
        if (!set_add(&st, w->addr) && i >= n_jit) {
            continue;   /* already compared */
        }
        uint8_t *p = ram_byte(j->check, j->cpu->bus, w->addr);
        uint8_t jv = i < n_jit ? w->jit_final : w->old;
        if (i < n_jit) {
            /* the translator's last write to it holds its final value too */
            jv = w->jit_final;
        }
        if (p && *p != jv) {
            fprintf(stderr, "    memory %08" PRIx32 ": jit %02x  interp %02x\n", w->addr, jv, *p);
            diff = true;
        }
    }
    free(st.slot);
    return diff;
}

/* Run `n` instructions in the interpreter; the vector of a fault, or -1. */
static int interp_replay(struct cpu *cpu, uint64_t n, bool expect_fault)
{
    volatile uint64_t done = 0;
    if (setjmp(cpu->jmp)) {
        return cpu->exc_vec;
    }
    for (; done < n + (expect_fault ? 1 : 0); done = done + 1) {
        cpu_exec_one(cpu);
    }
    return -1;
}

static _Noreturn void report(struct jit *j, const struct jit_block *b, const uint8_t *host,
                             struct cpu *jc, struct cpu *ic, int jvec, int ivec, size_t n_jit)
{
    fprintf(stderr, "kasou: jit check: the block at %04x:%08" PRIx32 " (physical %08" PRIx32
            ", %" PRIu32 " instructions) differs from the interpreter:\n",
            ic->seg[S_CS].sel, b->key.eip, b->key.phys, b->ninsn);
    list_block(b, host);
    if (jvec != ivec) {
        fprintf(stderr, "    fault      jit %d  interp %d\n", jvec, ivec);
    }
    compare_state(jc, ic);
    compare_memory(j, n_jit);
    exit(2);
}

bool jit_check_exec(struct jit *j, struct jit_block *b, const uint8_t *host, uint64_t limit)
{
    struct jit_check *ck = j->check;
    struct cpu *cpu = j->cpu;
    static struct cpu jc;   /* the translator's result, for the comparison */
    jmp_buf outer;
    memcpy(outer, cpu->jmp, sizeof(outer));
    snap_take(cpu, &ck->s0);
    uint64_t dev0 = cpu->bus->dev_accesses, icount0 = cpu->icount;
    ck->n = 0;
    ck->nclocks = 0;
    ck->logging = true;
    ck->clock_mode = CLK_RECORD;
    ck->blocks++;
    volatile int jvec = -1;
    /* a loop block's back edge checks the budget: a few iterations per comparison */
    cpu->jit_limit = limit - icount0 > 3u * b->ninsn ? icount0 + 3u * b->ninsn : limit;
    cpu->jit_stop = 0;
    if (setjmp(cpu->jmp)) {
        jvec = cpu->exc_vec;
    } else {
        j->enter(cpu, jit_rx(j, b->code));
    }
    ck->logging = false;
    ck->clock_mode = CLK_PASS;
    if (cpu->bus->dev_accesses != dev0 || jvec == -2) {
        memcpy(cpu->jmp, outer, sizeof(outer));
        if (jvec != -1) {
            longjmp(cpu->jmp, 1);
        }
        return true;
    }
    uint64_t n = cpu->icount - icount0;
    /* the translator's state, in a struct cpu the comparison can read */
    memcpy(&jc, cpu, PART1_END);
    memcpy((unsigned char *)&jc + PART2_START, (unsigned char *)cpu + PART2_START,
           PART2_END - PART2_START);
    size_t n_jit = ck->n;
    for (size_t i = 0; i < n_jit; i++) {
        uint8_t *p = ram_byte(ck, cpu->bus, ck->log[i].addr);
        ck->log[i].jit_final = p ? *p : 0;
    }
    for (size_t i = n_jit; i-- > 0;) {
        uint8_t *p = ram_byte(ck, cpu->bus, ck->log[i].addr);
        if (p) {
            *p = ck->log[i].old;
        }
    }
    snap_restore(cpu, &ck->s0);
    ck->logging = true;
    ck->clock_mode = CLK_REPLAY;
    ck->clock_pos = 0;
    int ivec = interp_replay(cpu, n, jvec != -1);
    ck->logging = false;
    ck->clock_mode = CLK_PASS;
    ck->compared++;
    if (jvec != ivec || compare_state(&jc, cpu) || compare_memory(j, n_jit)) {
        report(j, b, host, &jc, cpu, jvec, ivec, n_jit);
    }
    memcpy(cpu->jmp, outer, sizeof(outer));
    if (ivec != -1) {
        longjmp(cpu->jmp, 1);
    }
    return true;
}
