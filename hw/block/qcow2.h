/*
 * qcow2.h - the qcow2 driver's state, shared by qcow2.c (header, lookup,
 * reads) and qcow2_write.c (refcounts, allocation, writes, write-back).
 *
 * Guest offset -> L1 index (bits above cluster_bits + l2_bits) -> L2 table
 * (one cluster of 64-bit entries) -> host cluster.  Refcount table ->
 * refcount blocks (one cluster of 2^refcount_order-bit counts).  All
 * on-disk integers are big-endian; tables in memory are host-endian.
 */
#ifndef KASOU_QCOW2_H
#define KASOU_QCOW2_H

#include <stdbool.h>
#include <stdint.h>

#include "block_int.h"

#define QCOW2_OFFSET_MASK 0x00fffffffffffe00ull  /* L1/L2 entry: host offset */
#define QCOW2_COPIED (1ull << 63)                /* refcount is exactly 1 */
#define QCOW2_COMPRESSED (1ull << 62)
#define QCOW2_ZERO 1ull                          /* v3: cluster reads as zeros */

#define QCOW2_L2_CACHE_MAX 32
#define QCOW2_RB_CACHE 4

struct qcow2_l2 {
    uint64_t offset;      /* host offset of the table; 0 = free slot */
    uint64_t *entries;
    uint64_t last_use;
    bool dirty;           /* changed in memory, written back on flush/eviction */
};

struct qcow2_rb {
    uint64_t offset;      /* host offset of the refcount block; 0 = free slot */
    uint8_t *data;        /* on-disk bytes; updates are written through */
    uint64_t last_use;
};

struct qcow2_free {       /* a host range to dereference after the next write-back */
    uint64_t offset, len;
};

struct qcow2 {
    int fd;
    const char *path;
    struct blockdev *backing;
    uint32_t version;
    uint32_t cluster_bits;
    uint64_t cluster_size;
    uint32_t l2_bits;             /* log2(entries in an L2 table) */
    uint64_t size;                /* virtual size */
    uint64_t incompat, compat, autoclear;
    bool writable;

    uint64_t *l1;
    uint32_t l1_size;
    uint64_t l1_offset;
    uint32_t l1_dirty_lo, l1_dirty_hi;   /* dirty entries [lo, hi) */

    uint64_t *reftable;
    uint64_t reftable_offset;
    uint32_t reftable_clusters;
    uint64_t reftable_entries;
    uint32_t refcount_order;
    uint32_t rb_bits;             /* log2(counts in a refcount block) */

    uint64_t file_end;            /* next cluster to allocate (append-only) */
    uint64_t file_size_at_open;

    struct qcow2_l2 l2cache[QCOW2_L2_CACHE_MAX];
    unsigned l2cache_n;
    struct qcow2_rb rbcache[QCOW2_RB_CACHE];
    uint64_t tick;

    uint8_t *zbuf;                /* last decompressed cluster */
    uint64_t zbuf_entry;          /* its L2 entry, 0 = none */
    uint8_t *cbuf;                /* compressed input; table write-back */
    uint8_t *wbuf;                /* the cluster a copy-on-write builds */

    struct qcow2_free *frees;
    size_t nfrees, capfrees;

    uint32_t nb_snapshots;
    char backing_name[1024];
    char backing_fmt[32];
};

/* qcow2.c */
int qcow2_get_l2(struct qcow2 *s, uint32_t l1_index, struct qcow2_l2 **out);
struct qcow2_l2 *qcow2_l2_slot(struct qcow2 *s);
int qcow2_read_cluster(struct qcow2 *s, uint64_t entry, uint64_t guest_off, uint8_t *buf,
                       size_t in, size_t len);
bool qcow2_compressed_range(const struct qcow2 *s, uint64_t entry, uint64_t *off,
                            uint64_t *len);
bool qcow2_overlaps_metadata(const struct qcow2 *s, uint64_t off, uint64_t len);

/* qcow2_write.c */
int qcow2_refcount(struct qcow2 *s, uint64_t cluster, uint64_t *out);
uint64_t qcow2_alloc_cluster(struct qcow2 *s);
int qcow2_defer_free(struct qcow2 *s, uint64_t off, uint64_t len);
int qcow2_writeback(struct qcow2 *s);
int qcow2_write(struct blockdev *bd, uint64_t offset, const void *buf, size_t len);
int qcow2_flush(struct blockdev *bd);

#endif
