/*
 * qcow2_write.c - qcow2 writes: refcounts, cluster allocation, copy-on-write
 * and the ordering that keeps an image readable across a crash.
 *
 * Allocation only appends: the next cluster is the one at the end of the
 * file (clusters freed by copy-on-write are left at refcount 0 for
 * qemu-img to reuse, never reused here).  A data cluster is written in
 * place only when its refcount is exactly 1; a cluster shared with an
 * internal snapshot (refcount > 1), a compressed cluster, a zero cluster
 * or an unallocated one gets a fresh cluster, filled from the old contents
 * (backing file, zeros, decompressed data) around the new bytes.  An L2
 * table shared with a snapshot is copied the same way before it changes.
 * Snapshots' refcounts are thus only ever decremented for the clusters the
 * active layer stops using, which is what keeps them intact.
 *
 * Ordering (a crash at any point leaves a readable image, at worst with
 * leaked clusters that qemu-img check -r leaks reclaims):
 *  - refcount updates are written through at once; a new refcount block
 *    is written and synced before the refcount table entry points to it;
 *  - new data clusters and new/copied L2 tables are written at once, but
 *    the L2/L1 entries pointing to them change only in memory (dirty);
 *  - write-back (guest flush, cache eviction, close) syncs the file (data
 *    and refcounts durable), then writes the dirty L2 tables and L1
 *    entries, syncs again, and only then drops the refcounts of the
 *    clusters that copy-on-write replaced;
 *  - growing the refcount table writes the new table and blocks, syncs,
 *    switches the header, syncs, and then frees the old table.
 */
#include "qcow2.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"

static int sync_file(struct qcow2 *s)
{
    if (fdatasync(s->fd) < 0) {
        log_warn("%s: fdatasync failed: %s", s->path, strerror(errno));
        return -1;
    }
    return 0;
}

/* ---- refcount entries of 2^refcount_order bits inside a block ---- */

static uint64_t rc_get(const struct qcow2 *s, const uint8_t *d, uint64_t i)
{
    uint32_t bits = 1u << s->refcount_order;
    if (bits < 8) {
        return (d[i * bits / 8] >> (i * bits % 8)) & ((1u << bits) - 1);
    }
    uint64_t v = 0;
    for (uint32_t b = 0; b < bits / 8; b++) {
        v = v << 8 | d[i * (bits / 8) + b];
    }
    return v;
}

/* Set entry i; *byte and *n receive the byte range that changed. */
static void rc_set(const struct qcow2 *s, uint8_t *d, uint64_t i, uint64_t v, uint64_t *byte,
                   uint32_t *n)
{
    uint32_t bits = 1u << s->refcount_order;
    if (bits < 8) {
        uint32_t shift = (uint32_t)(i * bits % 8), mask = ((1u << bits) - 1) << shift;
        *byte = i * bits / 8;
        *n = 1;
        d[*byte] = (uint8_t)((d[*byte] & ~mask) | ((uint32_t)v << shift & mask));
        return;
    }
    *n = bits / 8;
    *byte = i * *n;
    for (uint32_t b = *n; b-- > 0; v >>= 8) {
        d[*byte + b] = (uint8_t)v;
    }
}

static uint64_t rc_max(const struct qcow2 *s)
{
    return s->refcount_order == 6 ? UINT64_MAX : (1ull << (1u << s->refcount_order)) - 1;
}

/* The cached refcount block at `off` (validated on load). */
static int rb_get(struct qcow2 *s, uint64_t off, struct qcow2_rb **out)
{
    struct qcow2_rb *victim = &s->rbcache[0];
    for (unsigned i = 0; i < QCOW2_RB_CACHE; i++) {
        if (s->rbcache[i].offset == off) {
            s->rbcache[i].last_use = ++s->tick;
            *out = &s->rbcache[i];
            return 0;
        }
        if (s->rbcache[i].last_use < victim->last_use) {
            victim = &s->rbcache[i];
        }
    }
    if ((off & (s->cluster_size - 1)) || off + s->cluster_size > s->file_end ||
        qcow2_overlaps_metadata(s, off, s->cluster_size)) {
        log_warn("%s: corrupt refcount table entry (block at %llu)", s->path,
                 (unsigned long long)off);
        return -1;
    }
    victim->offset = 0;
    if (blk_pread_full(s->fd, off, victim->data, s->cluster_size) < 0) {
        return -1;
    }
    victim->offset = off;
    victim->last_use = ++s->tick;
    *out = victim;
    return 0;
}

/* The refcount block holding `cluster`, or NULL if it has none. */
static int rb_for(struct qcow2 *s, uint64_t cluster, struct qcow2_rb **out)
{
    uint64_t idx = cluster >> s->rb_bits;
    *out = NULL;
    if (idx >= s->reftable_entries || (s->reftable[idx] & ~0x1ffull) == 0) {
        return 0;
    }
    return rb_get(s, s->reftable[idx] & ~0x1ffull, out);
}

int qcow2_refcount(struct qcow2 *s, uint64_t cluster, uint64_t *out)
{
    struct qcow2_rb *rb;
    if (rb_for(s, cluster, &rb) < 0) {
        return -1;
    }
    *out = rb ? rc_get(s, rb->data, cluster & ((1ull << s->rb_bits) - 1)) : 0;
    return 0;
}

/* Add `delta` (+1/-1) to a cluster's refcount and write it through. */
static int rc_update(struct qcow2 *s, uint64_t cluster, int delta)
{
    struct qcow2_rb *rb;
    if (rb_for(s, cluster, &rb) < 0 || !rb) {
        log_warn("%s: no refcount block for cluster %llu", s->path, (unsigned long long)cluster);
        return -1;
    }
    uint64_t i = cluster & ((1ull << s->rb_bits) - 1);
    uint64_t v = rc_get(s, rb->data, i);
    if ((delta < 0 && v == 0) || (delta > 0 && v == rc_max(s))) {
        log_warn("%s: refcount of cluster %llu would %s", s->path, (unsigned long long)cluster,
                 delta < 0 ? "go below zero" : "overflow");
        return -1;
    }
    uint64_t byte;
    uint32_t n;
    rc_set(s, rb->data, i, delta < 0 ? v - 1 : v + 1, &byte, &n);
    return blk_pwrite_full(s->fd, rb->offset + byte, rb->data + byte, n);
}

/* ---- allocation ---- */

static bool rt_missing(const struct qcow2 *s, const uint64_t *t, uint64_t n, uint64_t idx)
{
    return idx >= n || (t[idx] & ~0x1ffull) == 0;
}

/* A refcount block for index `idx`, placed at the end of the file (it counts itself). */
static int new_refblock(struct qcow2 *s, uint64_t idx)
{
    uint64_t c = s->file_end >> s->cluster_bits, byte;
    uint32_t n;
    uint8_t *buf = calloc(1, s->cluster_size);
    if (!buf) {
        return -1;
    }
    rc_set(s, buf, c & ((1ull << s->rb_bits) - 1), 1, &byte, &n);
    int r = blk_pwrite_full(s->fd, s->file_end, buf, s->cluster_size);
    free(buf);
    uint8_t be[8];
    blk_put_be64(be, s->file_end);
    if (r < 0 || sync_file(s) < 0 ||
        blk_pwrite_full(s->fd, s->reftable_offset + idx * 8, be, 8) < 0) {
        return -1;
    }
    s->reftable[idx] = s->file_end;
    s->file_end += s->cluster_size;
    return 0;
}

/*
 * Size a bigger refcount table placed at cluster c0: *tclusters for the
 * table, *nblocks new refcount blocks after it, covering everything up to
 * their own end.  Returns the number of table entries, 0 if over 8 MiB.
 */
static uint64_t plan_reftable(struct qcow2 *s, uint64_t c0, uint64_t *tclusters,
                              uint64_t *nblocks)
{
    uint64_t per = s->cluster_size / 8;
    uint64_t entries = s->reftable_entries * 2;
    for (;;) {
        uint64_t t = (entries + per - 1) / per, k = 0, end;
        for (;;) {
            end = c0 + t + k;
            uint64_t m = 0;
            for (uint64_t i = c0 >> s->rb_bits; i <= (end - 1) >> s->rb_bits; i++) {
                m += rt_missing(s, s->reftable, s->reftable_entries, i);
            }
            if (m == k) {
                break;
            }
            k = m;
        }
        if (t * s->cluster_size > (8u << 20)) {
            return 0;  /* past QEMU's limit: the caller refuses */
        }
        if (((end - 1) >> s->rb_bits) < t * per) {
            *tclusters = t;
            *nblocks = k;
            return t * per;
        }
        entries = t * per * 2;
    }
}

/* Write the new blocks and table, count their clusters; nothing points to them yet. */
static int write_new_reftable(struct qcow2 *s, uint64_t *nt, uint64_t c0, uint64_t t,
                              uint64_t k)
{
    uint64_t cs = s->cluster_size, end = c0 + t + k, first_new = (c0 + t) << s->cluster_bits;
    uint8_t *blocks = calloc(k ? k : 1, cs);
    if (!blocks) {
        return -1;
    }
    uint64_t j = 0, byte;
    uint32_t n;
    for (uint64_t i = c0 >> s->rb_bits; i <= (end - 1) >> s->rb_bits; i++) {
        if (rt_missing(s, s->reftable, s->reftable_entries, i)) {
            nt[i] = first_new + j++ * cs;
        }
    }
    int r = 0;
    for (uint64_t x = c0; x < end && r == 0; x++) {
        uint64_t off = nt[x >> s->rb_bits];
        if (off >= first_new) {
            uint8_t *blk = blocks + (off - first_new);
            rc_set(s, blk, x & ((1ull << s->rb_bits) - 1), 1, &byte, &n);
        } else {
            r = rc_update(s, x, +1);  /* a block that exists already */
        }
    }
    if (r == 0 && k) {
        r = blk_pwrite_full(s->fd, first_new, blocks, k * cs);
    }
    free(blocks);
    uint64_t entries = t * cs / 8;
    uint8_t *raw = malloc(t * cs);
    if (!raw) {
        return -1;
    }
    for (uint64_t i = 0; i < entries; i++) {
        blk_put_be64(raw + i * 8, nt[i]);
    }
    if (r == 0) {
        r = blk_pwrite_full(s->fd, c0 << s->cluster_bits, raw, t * cs);
    }
    free(raw);
    return r;
}

/* Replace the refcount table by one twice as big (or more) at the end of the file. */
static int grow_reftable(struct qcow2 *s)
{
    uint64_t c0 = s->file_end >> s->cluster_bits, t, k;
    uint64_t entries = plan_reftable(s, c0, &t, &k);
    if (entries == 0) {
        log_warn("%s: the refcount table cannot grow past 8 MiB", s->path);
        return -1;
    }
    uint64_t *nt = calloc(entries, 8);
    if (!nt) {
        return -1;
    }
    memcpy(nt, s->reftable, s->reftable_entries * 8);
    uint8_t hdr[12];
    blk_put_be64(hdr, c0 << s->cluster_bits);
    blk_put_be32(hdr + 8, (uint32_t)t);
    if (write_new_reftable(s, nt, c0, t, k) < 0 || sync_file(s) < 0 ||
        blk_pwrite_full(s->fd, 48, hdr, sizeof(hdr)) < 0 || sync_file(s) < 0) {
        free(nt);
        return -1;
    }
    uint64_t old_off = s->reftable_offset, old_n = s->reftable_clusters;
    free(s->reftable);
    s->reftable = nt;
    s->reftable_offset = c0 << s->cluster_bits;
    s->reftable_clusters = (uint32_t)t;
    s->reftable_entries = entries;
    s->file_end = (c0 + t + k) << s->cluster_bits;
    for (uint64_t i = 0; i < old_n; i++) {
        rc_update(s, (old_off >> s->cluster_bits) + i, -1);  /* a failure only leaks */
    }
    return 0;
}

uint64_t qcow2_alloc_cluster(struct qcow2 *s)
{
    for (unsigned guard = 0; guard < 65536; guard++) {
        uint64_t c = s->file_end >> s->cluster_bits, idx = c >> s->rb_bits, rc;
        if (idx >= s->reftable_entries) {
            if (grow_reftable(s) < 0) {
                return 0;
            }
        } else if ((s->reftable[idx] & ~0x1ffull) == 0) {
            if (new_refblock(s, idx) < 0) {
                return 0;
            }
        } else if (qcow2_refcount(s, c, &rc) < 0) {
            return 0;
        } else if (rc != 0) {
            s->file_end += s->cluster_size;  /* counted past EOF: skip it */
        } else {
            if (rc_update(s, c, +1) < 0) {
                return 0;
            }
            s->file_end += s->cluster_size;
            return c << s->cluster_bits;
        }
    }
    log_warn("%s: cannot allocate a cluster", s->path);
    return 0;
}

int qcow2_defer_free(struct qcow2 *s, uint64_t off, uint64_t len)
{
    if (s->nfrees == s->capfrees) {
        size_t cap = s->capfrees ? s->capfrees * 2 : 64;
        struct qcow2_free *f = realloc(s->frees, cap * sizeof(*f));
        if (!f) {
            return -1;
        }
        s->frees = f;
        s->capfrees = cap;
    }
    s->frees[s->nfrees++] = (struct qcow2_free){off, len};
    return 0;
}

/* ---- write-back of L2/L1 changes ---- */

static int write_l2(struct qcow2 *s, struct qcow2_l2 *t)
{
    uint64_t n = 1ull << s->l2_bits;
    for (uint64_t i = 0; i < n; i++) {
        blk_put_be64(s->cbuf + i * 8, t->entries[i]);
    }
    return blk_pwrite_full(s->fd, t->offset, s->cbuf, s->cluster_size);
}

static int write_l1(struct qcow2 *s)
{
    uint32_t lo = s->l1_dirty_lo, hi = s->l1_dirty_hi;
    uint8_t *raw = malloc((size_t)(hi - lo) * 8);
    if (!raw) {
        return -1;
    }
    for (uint32_t i = lo; i < hi; i++) {
        blk_put_be64(raw + (size_t)(i - lo) * 8, s->l1[i]);
    }
    int r = blk_pwrite_full(s->fd, s->l1_offset + lo * 8ull, raw, (size_t)(hi - lo) * 8);
    free(raw);
    if (r == 0) {
        s->l1_dirty_lo = UINT32_MAX;
        s->l1_dirty_hi = 0;
    }
    return r;
}

int qcow2_writeback(struct qcow2 *s)
{
    bool dirty = s->l1_dirty_lo < s->l1_dirty_hi;
    for (unsigned i = 0; i < s->l2cache_n; i++) {
        dirty |= s->l2cache[i].offset && s->l2cache[i].dirty;
    }
    if (!dirty && !s->nfrees) {
        return 0;
    }
    if (sync_file(s) < 0) {  /* data and refcounts before what points to them */
        return -1;
    }
    for (unsigned i = 0; i < s->l2cache_n; i++) {
        struct qcow2_l2 *t = &s->l2cache[i];
        if (t->offset && t->dirty) {
            if (write_l2(s, t) < 0) {
                return -1;
            }
            t->dirty = false;
        }
    }
    if (s->l1_dirty_lo < s->l1_dirty_hi && write_l1(s) < 0) {
        return -1;
    }
    if (sync_file(s) < 0) {  /* the new pointers before freeing the old clusters */
        return -1;
    }
    for (size_t i = 0; i < s->nfrees; i++) {
        uint64_t first = s->frees[i].offset >> s->cluster_bits;
        uint64_t last = (s->frees[i].offset + s->frees[i].len - 1) >> s->cluster_bits;
        for (uint64_t c = first; c <= last; c++) {
            rc_update(s, c, -1);  /* a failure only leaks the cluster */
        }
    }
    s->nfrees = 0;
    return 0;
}

/* ---- the write path ---- */

static void l1_set(struct qcow2 *s, uint32_t i, uint64_t v)
{
    s->l1[i] = v;
    s->l1_dirty_lo = i < s->l1_dirty_lo ? i : s->l1_dirty_lo;
    s->l1_dirty_hi = i + 1 > s->l1_dirty_hi ? i + 1 : s->l1_dirty_hi;
}

/* The L2 table for l1_index, allocated or unshared so that it may change. */
static int l2_for_write(struct qcow2 *s, uint32_t l1_index, struct qcow2_l2 **out)
{
    struct qcow2_l2 *t;
    uint64_t rc = 0;
    if (qcow2_get_l2(s, l1_index, &t) < 0 ||
        (t && qcow2_refcount(s, t->offset >> s->cluster_bits, &rc) < 0)) {
        return -1;
    }
    if (t && rc == 1) {
        *out = t;
        return 0;
    }
    uint64_t off = qcow2_alloc_cluster(s);
    if (!off) {
        return -1;
    }
    if (!t) {
        if (!(t = qcow2_l2_slot(s))) {
            return -1;
        }
        memset(t->entries, 0, s->cluster_size);
    } else if (qcow2_defer_free(s, t->offset, s->cluster_size) < 0) {
        return -1;  /* shared with a snapshot: this copy becomes ours */
    }
    t->offset = off;
    t->dirty = false;
    t->last_use = ++s->tick;
    if (write_l2(s, t) < 0) {
        t->offset = 0;
        return -1;
    }
    l1_set(s, l1_index, off | QCOW2_COPIED);
    *out = t;
    return 0;
}

/* Write bytes [in, in + n) of the guest cluster containing `offset`. */
static int write_piece(struct qcow2 *s, uint64_t offset, const uint8_t *p, size_t in, size_t n)
{
    uint64_t vcluster = offset >> s->cluster_bits;
    uint32_t l2i = (uint32_t)(vcluster & ((1ull << s->l2_bits) - 1));
    struct qcow2_l2 *t;
    if (l2_for_write(s, (uint32_t)(vcluster >> s->l2_bits), &t) < 0) {
        return -1;
    }
    uint64_t entry = t->entries[l2i], host = entry & QCOW2_OFFSET_MASK, rc = 0;
    bool plain = !(entry & (QCOW2_COMPRESSED | QCOW2_ZERO)) && host != 0;
    if (plain && ((host & (s->cluster_size - 1)) ||
                  qcow2_overlaps_metadata(s, host, s->cluster_size))) {
        log_warn("%s: corrupt L2 entry 0x%llx", s->path, (unsigned long long)entry);
        return -1;
    }
    if (plain && qcow2_refcount(s, host >> s->cluster_bits, &rc) < 0) {
        return -1;
    }
    if (plain && rc == 1) {
        return blk_pwrite_full(s->fd, host + in, p, n);
    }
    uint8_t *c = s->wbuf;
    if (n < s->cluster_size &&
        qcow2_read_cluster(s, entry, offset - in, c, 0, s->cluster_size) < 0) {
        return -1;
    }
    memcpy(c + in, p, n);
    uint64_t off = qcow2_alloc_cluster(s);
    if (!off || blk_pwrite_full(s->fd, off, c, s->cluster_size) < 0) {
        return -1;
    }
    t->entries[l2i] = off | QCOW2_COPIED;
    t->dirty = true;
    uint64_t old_off = host, old_len = s->cluster_size;
    if (entry & QCOW2_COMPRESSED) {
        qcow2_compressed_range(s, entry, &old_off, &old_len);
    }
    return old_off ? qcow2_defer_free(s, old_off, old_len) : 0;
}

int qcow2_write(struct blockdev *bd, uint64_t offset, const void *buf, size_t len)
{
    struct qcow2 *s = bd->opaque;
    const uint8_t *p = buf;
    while (len > 0) {
        size_t in = (size_t)(offset & (s->cluster_size - 1));
        size_t n = s->cluster_size - in < len ? (size_t)(s->cluster_size - in) : len;
        if (write_piece(s, offset, p, in, n) < 0) {
            return -1;
        }
        offset += n;
        p += n;
        len -= n;
    }
    /* Bound the clusters waiting to be freed (each one is a leak until then). */
    return s->nfrees > 4096 ? qcow2_writeback(s) : 0;
}

int qcow2_flush(struct blockdev *bd)
{
    struct qcow2 *s = bd->opaque;
    return qcow2_writeback(s) < 0 ? -1 : sync_file(s);
}
