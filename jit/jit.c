/*
 * jit.c - running translated blocks: lookup, translation on a miss,
 * chaining, and the hooks that keep the cache coherent.
 *
 * cpu_run() (cpu/interp.c) stays the one execution loop: it takes
 * interrupts and exceptions between blocks exactly as between instructions,
 * and asks this engine (cpu->accel->exec) to run blocks from CS:EIP.  The
 * engine declines, and the interpreter executes one instruction, when the
 * code cannot be translated there: the fetch would fault or touch MMIO,
 * the instruction crosses a page or the CS limit, or single-stepping, debug
 * registers or an interrupt shadow need instruction granularity.
 *
 * A block is entered with cpu->jit_limit = the slice's end; every block
 * entry compares icount with it, so a chain of blocks returns when the
 * slice is used up.  An interrupt raised while blocks run (a device called
 * from a handler) sets jit_limit to 0, which stops the chain at the next
 * block entry.
 */
#include "jit.h"

#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/mem.h"
#include "hw/bus.h"
#include "jit_int.h"
#include "util/log.h"

#define CODE_SIZE (128u << 20)

bool jit_supported(void)
{
#if defined(CONFIG_JIT) && defined(__x86_64__)
    return true;
#else
    return false;
#endif
}

/* The key for CS:EIP; false if the page is not in the fetch TLB. */
static bool current_key(struct cpu *cpu, struct jit_key *k, const uint8_t **host)
{
    const struct seg *cs = &cpu->seg[S_CS];
    uint32_t lin = cs->base + cpu->eip;
    struct tlb_entry *e = tlb_hit(cpu, lin, 1, ACC_X | cpu_acc_user(cpu), TLB_EXEC);
    if (!e || cpu->eip > cs->limit) {
        return false;
    }
    k->phys = (e->phys & ~0xFFFu) | (lin & 0xFFF);
    k->eip = cpu->eip;
    k->cs_base = cs->base;
    k->cs_limit = cs->limit;
    uint32_t flat = 0;
    for (int i = 0; i < 6; i++) {
        const struct seg *s = &cpu->seg[i];
        /* type 2 or 3: read/write data, expand-up */
        if (s->base == 0 && s->limit == 0xFFFFFFFFu && (s->ar & (AR_P | AR_S)) == (AR_P | AR_S) &&
            (AR_TYPE(s->ar) & 0xE) == 2) {
            flat |= JK_FLAT0 << i;
        }
    }
    k->flags = flat | (cpu_code32(cpu) ? JK_CODE32 : 0) | (cpu_stack32(cpu) ? JK_STACK32 : 0) |
               (cpu_pmode(cpu) ? JK_PE : 0) | (cpu_v86(cpu) ? JK_VM : 0) |
               (uint32_t)cpu->cpl << JK_CPL_SHIFT;
    *host = (const uint8_t *)(e->addend + lin);
    return true;
}

/* The block for key k: the direct-mapped cache first, then the hash table. */
static struct jit_block *lookup(struct jit *j, const struct jit_key *k)
{
    struct jit_fast *f = &j->fast[jit_fast_index(k->phys, k->eip)];
    j->n_lookups++;
    if (f->blk && !memcmp(&f->key, k, sizeof(*k))) {
        return f->blk;
    }
    struct jit_block *b = jit_block_find(j, k);
    j->n_fast_misses++;
    if (b) {
        f->key = *k;
        f->code = jit_rx(j, b->code);
        f->blk = b;
    }
    return b;
}

/* The same for generated code: the entry's executable address, or NULL. */
static const uint8_t *lookup_code(struct jit *j, const struct jit_key *k)
{
    /* lookup() leaves the block found in k's fast-table entry */
    return lookup(j, k) ? j->fast[jit_fast_index(k->phys, k->eip)].code : NULL;
}

/*
 * After an indirect branch (or a direct one to another page) inside
 * translated code: nothing that changes the mode, the segments or the
 * privilege ran since the calling block was entered, so the target's key
 * differs from that block's only in EIP and the physical address.
 */
const uint8_t *jit_lookup_indirect(struct cpu *cpu, uint32_t cs_base, uint32_t flags,
                                   uint32_t cs_limit)
{
    struct jit *j = cpu->accel_opaque;
    uint32_t lin = cs_base + cpu->eip;
    unsigned acc = ACC_X | (((flags >> JK_CPL_SHIFT) & 3) == 3 ? ACC_U : 0);
    struct tlb_entry *e = tlb_hit(cpu, lin, 1, acc, TLB_EXEC);
    if (!e || cpu->eip > cs_limit || j->check) {
        return NULL;
    }
    struct jit_key k = { (e->phys & ~0xFFFu) | (lin & 0xFFF), cpu->eip, cs_base, cs_limit, flags };
    return lookup_code(j, &k);
}

const uint8_t *jit_step(struct cpu *cpu, uint32_t cs_base, uint32_t flags, uint32_t cs_limit)
{
    cpu_exec_one(cpu);
    if (cpu->trap_after || cpu->inhibit_irq || cpu->halted || cpu->reset_request ||
        cpu->icount >= cpu->jit_limit || cpu->bus->generation != cpu->bus_gen) {
        return NULL;    /* the loop has something to do first */
    }
    struct jit *j = cpu->accel_opaque;
    struct jit_key k;
    const uint8_t *host;
    if (j->check || !current_key(cpu, &k, &host) || k.cs_base != cs_base || k.flags != flags ||
        k.cs_limit != cs_limit) {
        return NULL;
    }
    return lookup_code(j, &k);
}

const uint8_t *jit_lookup_ret(struct cpu *cpu, uint32_t cs_base, uint32_t flags,
                              uint32_t cs_limit, uint8_t *site)
{
    const uint8_t *code = jit_lookup_indirect(cpu, cs_base, flags, cs_limit);
    if (code && site) {
        /* (the return site is on the CALL's page, so on the same mapping) */
        uint64_t v = (uint64_t)(uintptr_t)code;
        memcpy(site, &v, sizeof(v));
    }
    return code;
}

/* Chain a cross-page exit behind its guard (the target has the exit's mode). */
static void guard_chain(struct jit *j, struct jit_exit *x, struct jit_block *to)
{
    const struct jit_key *fk = &x->blk->key;
    if (x->blk->valid && to->key.cs_base == fk->cs_base && to->key.cs_limit == fk->cs_limit &&
        to->key.flags == fk->flags) {
        jit_chain(j, x, to);
    }
}

/*
 * The unchained path of a cross-page exit (EIP is the target): chain it
 * if the target is translated, and continue there; NULL to leave by the
 * null exit (nothing is translated from here: that could flush the cache
 * under the calling block).
 */
const uint8_t *jit_chain_exit(struct cpu *cpu, struct jit_exit *x)
{
    struct jit *j = cpu->accel_opaque;
    const struct jit_key *fk = &x->blk->key;
    uint32_t lin = fk->cs_base + cpu->eip;
    unsigned acc = ACC_X | (((fk->flags >> JK_CPL_SHIFT) & 3) == 3 ? ACC_U : 0);
    struct tlb_entry *e = tlb_hit(cpu, lin, 1, acc, TLB_EXEC);
    if (!e || cpu->eip > fk->cs_limit || j->check) {
        return NULL;
    }
    struct jit_key k = { (e->phys & ~0xFFFu) | (lin & 0xFFF), cpu->eip, fk->cs_base, fk->cs_limit,
                         fk->flags };
    struct jit_block *to = lookup(j, &k);
    if (!to) {
        return NULL;
    }
    if (!x->to) {
        guard_chain(j, x, to);
    }
    return jit_rx(j, to->code);
}

static struct jit_block *find_or_translate(struct jit *j, struct cpu *cpu,
                                           const uint8_t **hostp)
{
    struct jit_key k;
    const uint8_t *host;
    if (!current_key(cpu, &k, &host)) {
        return NULL;
    }
    *hostp = host;
    struct jit_block *b = lookup(j, &k);
    if (b) {
        return b;
    }
    b = jit_translate(j, &k, host);
    if (!b && (j->size - j->used < (1u << 16) || j->nblocks >= j->max_blocks ||
               j->ninsns + 256 >= j->max_insns || j->nxpool + 256 >= j->max_xpool)) {
        jit_cache_flush(j);
        b = jit_translate(j, &k, host);
    }
    return b;
}

static bool jit_exec(struct cpu *cpu, uint64_t limit)
{
    struct jit *j = cpu->accel_opaque;
    if (limit == j->tail_limit) {
        return false;   /* the interpreter finishes this run */
    }
    const uint8_t *host;
    struct jit_block *b = find_or_translate(j, cpu, &host);
    if (!b) {
        return false;
    }
    if (cpu->icount + b->ninsn > limit) {
        if (cpu->run_may_overrun) {
            limit = cpu->icount + b->ninsn;     /* this block, then leave */
        } else {
            /* the interpreter runs the few instructions left (not a
             * lookup, and maybe a translation from the middle of a loop,
             * before each) */
            j->tail_limit = limit;
            return false;
        }
    }
    if (j->check) {
        return jit_check_exec(j, b, host, limit);
    }
    cpu->jit_limit = limit;
    cpu->jit_stop = 0;
    cpu->jit_ras_top = 0;
    memset(cpu->jit_ras, 0, sizeof(cpu->jit_ras));
    j->n_entries++;
    const struct jit_exit *x = j->enter(cpu, jit_rx(j, b->code));
    if (x && x->blk->valid && !x->to && cpu->icount < cpu->jit_limit) {
        /* a direct branch: chain it, unless translating the target flushed
         * the cache (x's code and block slot are reused then) */
        uint64_t flushes = j->n_flushes;
        struct jit_block *to = find_or_translate(j, cpu, &host);
        if (j->n_flushes != flushes) {
            return true;
        }
        uint32_t from_lin = x->blk->key.cs_base + x->blk->key.eip;
        uint32_t to_lin = cpu->seg[S_CS].base + cpu->eip;
        if (to && x->blk->valid && ((from_lin ^ to_lin) & ~0xFFFu) == 0 &&
            ((x->blk->key.phys ^ to->key.phys) & ~0xFFFu) == 0) {
            jit_chain(j, (struct jit_exit *)x, to);
        } else if (to && x->guard) {
            guard_chain(j, (struct jit_exit *)x, to);
        }
    }
    return true;
}

/* A window of the physical map moved (a PAM register, a PCI BAR): the
 * blocks translated from what it covered before or covers now go. */
static void jit_bus_changed(struct cpu *cpu)
{
    uint32_t start;
    uint64_t len;
    if (bus_take_changed(cpu->bus, &start, &len)) {
        jit_invalidate(cpu->accel_opaque, start, len);
    }
}

static void write_notify(void *opaque, uint32_t paddr, uint32_t len)
{
    if (len) {
        jit_invalidate(opaque, paddr, len);
    }
}

static const struct cpu_accel jit_accel = {
    .name = "jit",
    .exec = jit_exec,
    .bus_changed = jit_bus_changed,
};

int jit_attach(struct cpu *cpu, bool check)
{
    if (!jit_supported()) {
        return -1;
    }
    struct jit *j = calloc(1, sizeof(*j));
    if (!j) {
        return -1;
    }
    j->cpu = cpu;
    j->max_block_insns = JIT_MAX_BLOCK_INSNS;
    if (jit_cache_init(j, CODE_SIZE) < 0) {
        free(j);
        return -1;
    }
    cpu->accel = &jit_accel;
    cpu->accel_opaque = j;
    cpu->code_pages = j->code_pages;
    cpu->bus->write_notify = write_notify;
    cpu->bus->notify_opaque = j;
    if (check && jit_check_init(j) < 0) {
        jit_detach(cpu);
        return -1;
    }
    return 0;
}

void jit_set_block_limit(struct cpu *cpu, unsigned n)
{
    struct jit *j = cpu->accel_opaque;
    if (cpu->accel != &jit_accel) {
        return;
    }
    j->max_block_insns = n < 1 ? 1 : n > JIT_MAX_BLOCK_INSNS ? JIT_MAX_BLOCK_INSNS : n;
    jit_cache_flush(j);
}

void jit_detach(struct cpu *cpu)
{
    if (cpu->accel != &jit_accel) {
        return;
    }
    struct jit *j = cpu->accel_opaque;
    log_ch(LOG_CPU, "jit: %llu blocks translated, %llu invalidated, %llu chained, %llu flushes, "
           "%llu lookups (%llu missed the fast table), %llu loop entries",
           (unsigned long long)j->n_translated, (unsigned long long)j->n_invalidated,
           (unsigned long long)j->n_chained, (unsigned long long)j->n_flushes,
           (unsigned long long)j->n_lookups, (unsigned long long)j->n_fast_misses,
           (unsigned long long)j->n_entries);
    if (log_on(LOG_CPU)) {
        unsigned used = 0, longest = 0, total = 0;
        for (unsigned i = 0; i < (1u << JIT_HASH_BITS); i++) {
            unsigned len = 0;
            for (struct jit_block *b = j->hash[i]; b; b = b->hnext) {
                len++;
            }
            used += len > 0;
            total += len;
            longest = len > longest ? len : longest;
        }
        log_printf("jit: %u blocks hashed in %u buckets, longest chain %u", total, used, longest);
    }
    const char *dump = getenv("KASOU_JIT_DUMP");
    if (dump && *dump) {
        /* the code buffer as it is, for objdump -b binary at perf's memfd offsets */
        FILE *f = fopen(dump, "wb");
        bool ok = f && fwrite(j->rw, 1, j->used, f) == j->used;
        if ((f && fclose(f) != 0) || !ok) {
            log_warn("jit: cannot write the code buffer to %s", dump);
        }
    }
    jit_check_free(j);
    cpu->bus->write_notify = NULL;
    cpu->bus->notify_opaque = NULL;
    cpu->code_pages = NULL;
    cpu->accel = NULL;
    cpu->accel_opaque = NULL;
    jit_cache_free(j);
    free(j);
}
