/*
 * cache.c - the code buffer, the block table, chaining and invalidation.
 *
 * W^X: the code buffer is one memfd mapped twice, read/write for the
 * emitter and the chain patcher, read/execute for the CPU.  No mapping is
 * ever writable and executable at once.  Where memfd_create is missing the
 * buffer falls back to one anonymous read/write/execute mapping (hosts that
 * allow it).  x86 keeps instruction fetch coherent with stores, so a
 * patched jump needs no cache maintenance.
 *
 * Blocks are found by a hash of (physical address, EIP) and listed per
 * physical page.  A page that holds blocks is marked in code_pages; the MMU
 * then gives it no write TLB entry, so every store to it reaches the bus,
 * whose write_notify hook calls jit_invalidate() (a page left without
 * blocks gets fast write entries again; one whose stores keep missing its
 * blocks loses them all, DATA_PAGE_MISSES).  An invalidated block is
 * unhashed, its incoming chains are pointed back at their stubs, and its
 * entry is overwritten with a jump to the null exit, so code still inside
 * it (a block that modified itself) leaves at the next check.  Its memory
 * is reclaimed only by a full flush, which happens when the buffer or the
 * block table fills and only from the CPU loop, never from generated code.
 */
#include "jit_int.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cpu/mem.h"
#include "x86_64.h"

#define MAX_BLOCKS (1u << 18)
#define MAX_INSNS (1u << 21)
#define MAX_EXITS (1u << 20)

static unsigned hash_of(uint32_t phys, uint32_t eip)
{
    uint32_t h = phys * 0x9E3779B1u ^ eip * 0x85EBCA6Bu;
    return h >> (32 - JIT_HASH_BITS);
}

static bool map_views(struct jit *j, size_t size)
{
    int fd = memfd_create("kasou-jit", MFD_CLOEXEC);
    if (fd >= 0) {
        if (ftruncate(fd, (off_t)size) == 0) {
            void *rw = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
            void *rx = mmap(NULL, size, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
            if (rw != MAP_FAILED && rx != MAP_FAILED) {
                close(fd);
                j->rw = rw;
                j->rx = rx;
                return true;
            }
            if (rw != MAP_FAILED) {
                munmap(rw, size);
            }
            if (rx != MAP_FAILED) {
                munmap(rx, size);
            }
        }
        close(fd);
    }
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE | PROT_EXEC,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        return false;
    }
    j->rw = j->rx = p;
    return true;
}

/*
 * The trampoline: jit_enter(cpu, code) saves the callee-saved registers,
 * keeps the stack 16-byte aligned for the helper calls, loads RBX and
 * H_ICOUNT and jumps to the block; the epilogue stores the count back,
 * undoes the rest and returns RAX.
 */
static void emit_trampoline(struct jit *j)
{
    _Static_assert(H_ICOUNT == X_R14, "the count lives in a callee-saved register");
    struct cbuf c = { j->rw, j->rw + j->size, false };
    static const int saved[] = { X_RBP, X_RBX, X_R12, X_R13, X_R14, X_R15 };
    for (int i = 0; i < 6; i++) {
        x_push(&c, saved[i]);
    }
    x_alu64i(&c, XA_SUB, X_RSP, 8);
    x_mov64(&c, X_RBX, X_RDI);
    x_ld64(&c, H_ICOUNT, xm(X_RBX, (int32_t)offsetof(struct cpu, icount)));
    x_jmp_reg(&c, X_RSI);
    j->epilogue = c.p;
    x_st64(&c, xm(X_RBX, (int32_t)offsetof(struct cpu, icount)), H_ICOUNT);
    x_alu64i(&c, XA_ADD, X_RSP, 8);
    for (int i = 5; i >= 0; i--) {
        x_pop(&c, saved[i]);
    }
    x_ret(&c);
    j->exit_null = c.p;
    x_movi32(&c, X_RAX, 0);
    x_patch32(x_jmp32(&c), j->epilogue);
    j->used = (size_t)(c.p - j->rw + 63) & ~(size_t)63;
}

int jit_cache_init(struct jit *j, size_t code_size)
{
    j->size = code_size;
    if (!map_views(j, code_size)) {
        return -1;
    }
    j->max_blocks = MAX_BLOCKS;
    j->max_insns = MAX_INSNS;
    j->blocks = calloc(j->max_blocks, sizeof(*j->blocks));
    j->insns = calloc(j->max_insns, sizeof(*j->insns));
    j->max_xpool = MAX_EXITS;
    j->xpool = calloc(j->max_xpool, sizeof(*j->xpool));
    j->page_blocks = calloc(JIT_PAGES, sizeof(*j->page_blocks));
    j->code_pages = calloc(JIT_PAGES, 1);
    if (!j->blocks || !j->insns || !j->xpool || !j->page_blocks || !j->code_pages) {
        jit_cache_free(j);
        return -1;
    }
    j->pages_lo = JIT_PAGES;
    j->pages_hi = 0;
    emit_trampoline(j);
    j->enter = (jit_enter_fn *)(void *)jit_rx(j, j->rw);
    return 0;
}

void jit_cache_free(struct jit *j)
{
    if (j->rw && j->rw != j->rx) {
        munmap(j->rw, j->size);
    }
    if (j->rx) {
        munmap(j->rx, j->size);
    }
    free(j->blocks);
    free(j->insns);
    free(j->xpool);
    free(j->page_blocks);
    free(j->code_pages);
    j->rw = j->rx = NULL;
    j->blocks = NULL;
    j->insns = NULL;
    j->xpool = NULL;
    j->page_blocks = NULL;
    j->code_pages = NULL;
}

void jit_cache_flush(struct jit *j)
{
    for (unsigned i = 0; i < j->nblocks; i++) {
        struct jit_block *b = &j->blocks[i];
        if (b->valid) {
            j->page_blocks[b->key.phys >> 12] = NULL;
            j->code_pages[b->key.phys >> 12] = 0;
            b->valid = false;   /* an exit of it the caller still holds is not chained */
        }
    }
    if (j->check) {
        memset(j->code_pages, 1, JIT_PAGES);   /* lockstep: all stores to the bus */
    }
    memset(j->hash, 0, sizeof(j->hash));
    memset(j->fast, 0, sizeof(j->fast));
    if (!j->check) {
        mmu_unmark_all_code(j->cpu);    /* stores go fast again everywhere */
    }
    j->nblocks = 0;
    j->ninsns = 0;
    j->nxpool = 0;
    j->pages_lo = JIT_PAGES;
    j->pages_hi = 0;
    emit_trampoline(j);
    j->n_flushes++;
}

struct jit_block *jit_block_find(struct jit *j, const struct jit_key *k)
{
    for (struct jit_block *b = j->hash[hash_of(k->phys, k->eip)]; b; b = b->hnext) {
        if (!memcmp(&b->key, k, sizeof(*k))) {
            return b;
        }
    }
    return NULL;
}

struct jit_block *jit_block_alloc(struct jit *j)
{
    if (j->nblocks >= j->max_blocks) {
        return NULL;
    }
    struct jit_block *b = &j->blocks[j->nblocks++];
    memset(b, 0, sizeof(*b));
    return b;
}

struct insn *jit_insn_alloc(struct jit *j)
{
    return j->ninsns < j->max_insns ? &j->insns[j->ninsns++] : NULL;
}

struct jit_exit *jit_exit_alloc(struct jit *j)
{
    if (j->nxpool >= j->max_xpool) {
        return NULL;
    }
    struct jit_exit *x = &j->xpool[j->nxpool++];
    memset(x, 0, sizeof(*x));
    return x;
}

/* Stores to this page must reach the bus: its write TLB entries become TLB_CODE ones. */
static void mark_code_page(struct jit *j, uint32_t page)
{
    if (j->code_pages[page]) {
        return;
    }
    j->code_pages[page] = 1;
    mmu_mark_code(j->cpu, page);
}

void jit_block_publish(struct jit *j, struct jit_block *b)
{
    unsigned h = hash_of(b->key.phys, b->key.eip);
    uint32_t page = b->key.phys >> 12;
    j->pages_lo = page < j->pages_lo ? page : j->pages_lo;
    j->pages_hi = page > j->pages_hi ? page : j->pages_hi;
    b->valid = true;
    b->hnext = j->hash[h];
    j->hash[h] = b;
    b->pnext = j->page_blocks[page];
    j->page_blocks[page] = b;
    mark_code_page(j, page);
    j->n_translated++;
}

void jit_chain(struct jit *j, struct jit_exit *x, struct jit_block *to)
{
    if (x->to || !x->blk->valid || !to->valid) {
        return;
    }
    if (x->guard) {
        uint32_t page = to->key.phys & ~0xFFFu;
        memcpy(x->guard_phys, &page, 4);
        x_patch32(x->guard_jmp, to->code);
        x_patch32(x->site, x->guard);
    } else {
        x_patch32(x->site, to->code);
    }
    x->to = to;
    x->next_in = to->in;
    to->in = x;
    j->n_chained++;
}

static void unhash(struct jit *j, struct jit_block *b)
{
    struct jit_block **pp = &j->hash[hash_of(b->key.phys, b->key.eip)];
    while (*pp && *pp != b) {
        pp = &(*pp)->hnext;
    }
    if (*pp) {
        *pp = b->hnext;
    }
}

static void kill_block(struct jit *j, struct jit_block *b)
{
    b->valid = false;
    unhash(j, b);
    struct jit_fast *f = &j->fast[jit_fast_index(b->key.phys, b->key.eip)];
    if (f->blk == b) {
        f->blk = NULL;
    }
    for (struct jit_exit *x = b->in; x; x = x->next_in) {
        x_patch32(x->site, x->stub);
        x->to = NULL;
    }
    b->in = NULL;
    /* anything still entering b leaves by its fail stub (which stores EIP) */
    struct cbuf c = { b->code, b->code + 5, false };
    x_patch32(x_jmp32(&c), b->fail);
    j->n_invalidated++;
}

/*
 * A page whose stores have missed its blocks this many times is taken for
 * data with stale code on it (a page the guest freed and reused): its
 * blocks go, so its stores stop taking the slow path.  A block still in
 * use is translated again, at the cost of one translation per this many
 * stores.
 */
#define DATA_PAGE_MISSES 64

void jit_invalidate(struct jit *j, uint32_t phys, uint64_t len)
{
    uint64_t end = (uint64_t)phys + len;
    uint64_t last = (end - 1) >> 12;    /* (a remap's range may be gigabytes) */
    last = last < j->pages_hi ? last : j->pages_hi;
    uint32_t first = phys >> 12 > j->pages_lo ? phys >> 12 : j->pages_lo;
    for (uint32_t page = first; page <= last && page < JIT_PAGES; page++) {
        if (!j->code_pages[page]) {
            continue;
        }
        /* code_pages[page] - 1 counts the stores that missed its blocks */
        bool all = !j->check && j->code_pages[page] >= DATA_PAGE_MISSES;
        bool hit = false;
        struct jit_block **pp = &j->page_blocks[page];
        while (*pp) {
            struct jit_block *b = *pp;
            if (all || (b->lo_phys < end && phys < b->end_phys)) {
                *pp = b->pnext;
                kill_block(j, b);
                j->cpu->jit_stop = 1;
                hit = true;
            } else {
                pp = &b->pnext;
            }
        }
        if (j->check) {
            continue;   /* lockstep: every store goes to the bus anyway */
        }
        if (!j->page_blocks[page]) {
            j->code_pages[page] = 0;
            mmu_unmark_code(j->cpu, page);      /* its stores go fast again */
        } else if (!hit) {
            j->code_pages[page]++;
        }
    }
}
