/*
 * qcow2.c - qcow2 images, versions 2 and 3: header, lookup and reads.
 * Writes, refcounts and cluster allocation are in qcow2_write.c.
 *
 * Every number in the header is checked against the file before anything
 * is allocated or read from where it points (this code parses untrusted
 * files): versions 2/3, cluster_bits 9-21, L1 table and refcount table
 * inside the file and of sane size (32 MiB / 8 MiB, QEMU's limits), an L1
 * table big enough for the virtual size, the backing file name inside the
 * first cluster, header extensions inside it too.  L2 tables, refcount
 * blocks and compressed clusters are checked when they are used; a bad
 * one fails that request (-1, logged), never the process.
 *
 * Refused with a message: encryption, incompatible feature bits other than
 * dirty/corrupt/zlib-compression-type, external data files, extended L2
 * entries, compression types other than zlib.  An image with the dirty
 * (lazy refcounts) or corrupt bit opens read-only only.  Internal
 * snapshots are left alone: the active L1 table is all that is read.
 *
 * A cluster's L2 entry says where its data is: 0 = unallocated (backing
 * file, or zeros), bit 0 (v3) = reads as zeros, bit 62 = compressed (raw
 * deflate; the low bits hold the host byte offset and the count of extra
 * 512-byte sectors), otherwise the host cluster.  Reads past the end of
 * the host file read zeros.  L2 tables are cached (a few, LRU); the last
 * decompressed cluster is kept for the sector-sized reads that follow.
 */
#include "qcow2.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "util/log.h"

enum {
    INCOMPAT_DIRTY = 1 << 0,
    INCOMPAT_CORRUPT = 1 << 1,
    INCOMPAT_DATA_FILE = 1 << 2,
    INCOMPAT_COMPRESSION = 1 << 3,
    INCOMPAT_EXTL2 = 1 << 4,
    EXT_END = 0,
    EXT_BACKING_FMT = 0xe2792aca,
    V2_HEADER_LEN = 72,
    V3_HEADER_LEN = 104,
};

#define MAX_L1_BYTES (32u << 20)
#define MAX_REFTABLE_BYTES (8u << 20)
#define MAX_VIRTUAL_SIZE (1ull << 61)

static int bad(char *err, size_t errlen, const struct qcow2 *s, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int bad(char *err, size_t errlen, const struct qcow2 *s, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(err, errlen, "'%s': qcow2: %s", s->path, msg);
    return -1;
}

/* Is [off, off + len) a whole region inside a file of `size` bytes? */
static bool in_file(uint64_t off, uint64_t len, uint64_t size)
{
    return off <= size && len <= size - off;
}

static int check_features(struct qcow2 *s, const uint8_t *h, uint32_t hlen, char *err,
                          size_t errlen)
{
    if (blk_be32(h + 32) != 0) {
        return bad(err, errlen, s, "encrypted images are not supported");
    }
    if (s->version < 3) {
        return 0;
    }
    s->incompat = blk_be64(h + 72);
    s->compat = blk_be64(h + 80);
    s->autoclear = blk_be64(h + 88);
    uint64_t known = INCOMPAT_DIRTY | INCOMPAT_CORRUPT | INCOMPAT_COMPRESSION;
    if (s->incompat & INCOMPAT_DATA_FILE) {
        return bad(err, errlen, s, "external data files are not supported");
    }
    if (s->incompat & INCOMPAT_EXTL2) {
        return bad(err, errlen, s, "extended L2 entries (subclusters) are not supported");
    }
    if (s->incompat & ~known) {
        return bad(err, errlen, s, "unsupported incompatible features 0x%llx",
                   (unsigned long long)(s->incompat & ~known));
    }
    uint8_t ctype = hlen > V3_HEADER_LEN ? h[104] : 0;
    if (ctype != 0) {
        return bad(err, errlen, s, "compression type %u is not supported (only zlib)", ctype);
    }
    if (s->writable && (s->incompat & INCOMPAT_DIRTY)) {
        return bad(err, errlen, s, "the dirty bit is set (lazy refcounts); repair it with "
                   "'qemu-img check -r all' or open it read-only");
    }
    if (s->writable && (s->incompat & INCOMPAT_CORRUPT)) {
        return bad(err, errlen, s, "the image is marked corrupt; open it read-only");
    }
    return 0;
}

/* Geometry: cluster size, virtual size, L1 and refcount tables. */
static int check_tables(struct qcow2 *s, const uint8_t *h, uint64_t fsize, char *err,
                        size_t errlen)
{
    s->cluster_bits = blk_be32(h + 20);
    if (s->cluster_bits < 9 || s->cluster_bits > 21) {
        return bad(err, errlen, s, "bad cluster_bits %u (9-21)", s->cluster_bits);
    }
    s->cluster_size = 1ull << s->cluster_bits;
    s->l2_bits = s->cluster_bits - 3;
    s->size = blk_be64(h + 24);
    if (s->size > MAX_VIRTUAL_SIZE) {
        return bad(err, errlen, s, "virtual size %llu is too large",
                   (unsigned long long)s->size);
    }
    uint32_t span_bits = s->cluster_bits + s->l2_bits;
    uint64_t l1_needed = (s->size + (1ull << span_bits) - 1) >> span_bits;
    s->l1_size = blk_be32(h + 36);
    s->l1_offset = blk_be64(h + 40);
    if ((uint64_t)s->l1_size * 8 > MAX_L1_BYTES) {
        return bad(err, errlen, s, "L1 table of %u entries is too large", s->l1_size);
    }
    if (s->l1_size < l1_needed) {
        return bad(err, errlen, s, "L1 table (%u entries) too small for the virtual size",
                   s->l1_size);
    }
    if (s->l1_size &&
        ((s->l1_offset & (s->cluster_size - 1)) || !in_file(s->l1_offset, s->l1_size * 8ull, fsize))) {
        return bad(err, errlen, s, "L1 table at %llu is misaligned or past the end of the file",
                   (unsigned long long)s->l1_offset);
    }
    s->reftable_offset = blk_be64(h + 48);
    s->reftable_clusters = blk_be32(h + 56);
    uint64_t rt_bytes = (uint64_t)s->reftable_clusters << s->cluster_bits;
    if (s->reftable_clusters == 0 || rt_bytes > MAX_REFTABLE_BYTES) {
        return bad(err, errlen, s, "bad refcount table size (%u clusters)",
                   s->reftable_clusters);
    }
    if ((s->reftable_offset & (s->cluster_size - 1)) ||
        !in_file(s->reftable_offset, rt_bytes, fsize)) {
        return bad(err, errlen, s, "refcount table at %llu is misaligned or past the end of "
                   "the file", (unsigned long long)s->reftable_offset);
    }
    s->reftable_entries = rt_bytes / 8;
    s->refcount_order = s->version >= 3 ? blk_be32(h + 96) : 4;
    if (s->refcount_order > 6) {
        return bad(err, errlen, s, "bad refcount order %u", s->refcount_order);
    }
    s->rb_bits = s->cluster_bits + 3 - s->refcount_order;
    s->nb_snapshots = blk_be32(h + 60);
    uint64_t snap_off = blk_be64(h + 64);
    if (s->nb_snapshots > 65536 ||
        (s->nb_snapshots && ((snap_off & (s->cluster_size - 1)) || snap_off >= fsize))) {
        return bad(err, errlen, s, "bad snapshot table (%u snapshots at %llu)",
                   s->nb_snapshots, (unsigned long long)snap_off);
    }
    return 0;
}

/* Backing file name and the header extensions, all inside the first cluster. */
static int parse_extensions(struct qcow2 *s, const uint8_t *c0, uint64_t c0len, uint32_t hlen,
                            char *err, size_t errlen)
{
    uint64_t boff = blk_be64(c0 + 8);
    uint32_t blen = blk_be32(c0 + 16);
    if (boff) {
        if (blen == 0 || blen >= sizeof(s->backing_name) || !in_file(boff, blen, c0len) ||
            boff < hlen) {
            return bad(err, errlen, s, "bad backing file name (offset %llu, length %u)",
                       (unsigned long long)boff, blen);
        }
        memcpy(s->backing_name, c0 + boff, blen);
        s->backing_name[blen] = 0;
        if (strlen(s->backing_name) != blen) {
            return bad(err, errlen, s, "backing file name contains a NUL byte");
        }
    }
    uint64_t end = boff > hlen ? boff : c0len;
    for (uint64_t off = hlen; off + 8 <= end;) {
        uint32_t type = blk_be32(c0 + off), len = blk_be32(c0 + off + 4);
        if (type == EXT_END) {
            break;
        }
        if (!in_file(off + 8, len, end)) {
            return bad(err, errlen, s, "header extension 0x%x overflows the header", type);
        }
        if (type == EXT_BACKING_FMT) {
            if (len >= sizeof(s->backing_fmt)) {
                return bad(err, errlen, s, "backing format name too long");
            }
            memcpy(s->backing_fmt, c0 + off + 8, len);
            s->backing_fmt[len] = 0;
        }
        off += 8 + (((uint64_t)len + 7) & ~7ull);
    }
    return 0;
}

static int parse_header(struct qcow2 *s, const uint8_t *c0, uint64_t c0len, uint64_t fsize,
                        char *err, size_t errlen)
{
    if (fsize < V2_HEADER_LEN) {
        return bad(err, errlen, s, "truncated header (%llu bytes)", (unsigned long long)fsize);
    }
    s->version = blk_be32(c0 + 4);
    if (s->version != 2 && s->version != 3) {
        return bad(err, errlen, s, "unsupported version %u", s->version);
    }
    uint32_t hlen = V2_HEADER_LEN;
    if (s->version == 3) {
        hlen = fsize < V3_HEADER_LEN ? 0 : blk_be32(c0 + 100);
        if (hlen < V3_HEADER_LEN || hlen > c0len) {
            return bad(err, errlen, s, "truncated or bad v3 header (length %u)", hlen);
        }
    }
    if (check_tables(s, c0, fsize, err, errlen) < 0 || check_features(s, c0, hlen, err, errlen) < 0) {
        return -1;
    }
    if (hlen > s->cluster_size) {
        return bad(err, errlen, s, "header length %u exceeds the cluster size", hlen);
    }
    return parse_extensions(s, c0, c0len < s->cluster_size ? c0len : s->cluster_size, hlen,
                            err, errlen);
}

static int load_table(struct qcow2 *s, uint64_t off, uint64_t n, uint64_t **out)
{
    uint64_t *t = calloc(n ? n : 1, 8);
    if (!t || blk_pread_full(s->fd, off, t, n * 8) < 0) {
        free(t);
        return -1;
    }
    for (uint64_t i = 0; i < n; i++) {
        t[i] = blk_be64((const uint8_t *)&t[i]);
    }
    *out = t;
    return 0;
}

static int open_backing(struct blockdev *bd, struct qcow2 *s, char *err, size_t errlen)
{
    if (!s->backing_name[0]) {
        return 0;
    }
    char path[4096];
    const char *slash = strrchr(bd->path, '/');
    if (s->backing_name[0] == '/' || !slash) {
        snprintf(path, sizeof(path), "%s", s->backing_name);
    } else {
        snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - bd->path), bd->path,
                 s->backing_name);
    }
    char why[512];
    s->backing = blk_open_backing(path, s->backing_fmt[0] ? s->backing_fmt : NULL,
                                  bd->depth + 1, why, sizeof(why));
    if (!s->backing) {
        return bad(err, errlen, s, "cannot open backing file: %s", why);
    }
    return 0;
}

static int alloc_buffers(struct qcow2 *s)
{
    uint64_t n = (4u << 20) >> s->cluster_bits;
    s->l2cache_n = n < 4 ? 4 : n > QCOW2_L2_CACHE_MAX ? QCOW2_L2_CACHE_MAX : (unsigned)n;
    for (unsigned i = 0; i < s->l2cache_n; i++) {
        if (!(s->l2cache[i].entries = malloc(s->cluster_size))) {
            return -1;
        }
    }
    for (unsigned i = 0; i < QCOW2_RB_CACHE; i++) {
        if (!(s->rbcache[i].data = malloc(s->cluster_size))) {
            return -1;
        }
    }
    s->zbuf = malloc(s->cluster_size);
    s->cbuf = malloc(2 * s->cluster_size);
    s->wbuf = malloc(s->cluster_size);
    return s->zbuf && s->cbuf && s->wbuf ? 0 : -1;
}

static void free_state(struct qcow2 *s)
{
    if (s->backing) {
        blk_close(s->backing);
    }
    for (unsigned i = 0; i < QCOW2_L2_CACHE_MAX; i++) {
        free(s->l2cache[i].entries);
    }
    for (unsigned i = 0; i < QCOW2_RB_CACHE; i++) {
        free(s->rbcache[i].data);
    }
    free(s->l1);
    free(s->reftable);
    free(s->zbuf);
    free(s->cbuf);
    free(s->wbuf);
    free(s->frees);
    free(s);
}

/* Writable opens clear the autoclear bits: kasou does not keep bitmaps in step. */
static int clear_autoclear(struct qcow2 *s, char *err, size_t errlen)
{
    if (!s->writable || s->version < 3 || !s->autoclear) {
        return 0;
    }
    uint8_t zero[8] = {0};
    if (blk_pwrite_full(s->fd, 88, zero, 8) < 0 || fdatasync(s->fd) < 0) {
        return bad(err, errlen, s, "cannot update the header: %s", strerror(errno));
    }
    s->autoclear = 0;
    return 0;
}

static int qcow2_open(struct blockdev *bd, const struct blk_open_opts *opts, char *err,
                      size_t errlen)
{
    struct qcow2 *s = calloc(1, sizeof(*s));
    uint8_t *c0 = malloc(1u << 21);  /* the first cluster, at most 2 MiB */
    if (!s || !c0) {
        snprintf(err, errlen, "out of memory");
        free(s);
        free(c0);
        return -1;
    }
    s->fd = bd->fd;
    s->path = bd->path;
    s->writable = !opts->read_only;
    int64_t fsize = blk_file_size(bd->fd);
    uint64_t c0len = fsize < 0 ? 0 : (uint64_t)fsize < (1u << 21) ? (uint64_t)fsize : 1u << 21;
    int r = -1;
    if (fsize < 0 || blk_pread_full(s->fd, 0, c0, 1u << 21) < 0) {
        snprintf(err, errlen, "'%s': cannot read the image", bd->path);
    } else if (parse_header(s, c0, c0len, (uint64_t)fsize, err, errlen) == 0) {
        r = 0;
    }
    free(c0);
    if (r == 0) {
        s->file_size_at_open = (uint64_t)fsize;
        s->file_end = ((uint64_t)fsize + s->cluster_size - 1) & ~(s->cluster_size - 1);
        if (alloc_buffers(s) < 0 || load_table(s, s->l1_offset, s->l1_size, &s->l1) < 0 ||
            load_table(s, s->reftable_offset, s->reftable_entries, &s->reftable) < 0) {
            r = bad(err, errlen, s, "cannot load the L1 and refcount tables");
        }
    }
    if (r == 0 && (open_backing(bd, s, err, errlen) < 0 || clear_autoclear(s, err, errlen) < 0)) {
        r = -1;
    }
    if (r < 0) {
        free_state(s);
        return -1;
    }
    s->l1_dirty_lo = UINT32_MAX;
    bd->size = s->size;
    bd->opaque = s;
    return 0;
}

bool qcow2_overlaps_metadata(const struct qcow2 *s, uint64_t off, uint64_t len)
{
    uint64_t l1_end = s->l1_offset + s->l1_size * 8ull;
    uint64_t rt_end = s->reftable_offset + ((uint64_t)s->reftable_clusters << s->cluster_bits);
    return off < s->cluster_size || (s->l1_size && off < l1_end && off + len > s->l1_offset) ||
           (off < rt_end && off + len > s->reftable_offset);
}

/* A cache slot for a new table: the least recently used, written back if dirty. */
struct qcow2_l2 *qcow2_l2_slot(struct qcow2 *s)
{
    struct qcow2_l2 *victim = &s->l2cache[0];
    for (unsigned i = 0; i < s->l2cache_n; i++) {
        if (s->l2cache[i].offset == 0) {
            return &s->l2cache[i];
        }
        if (s->l2cache[i].last_use < victim->last_use) {
            victim = &s->l2cache[i];
        }
    }
    if (victim->dirty && qcow2_writeback(s) < 0) {
        return NULL;
    }
    victim->offset = 0;
    return victim;
}

/* The L2 table of `l1_index`, loaded if needed; *out = NULL if unallocated. */
int qcow2_get_l2(struct qcow2 *s, uint32_t l1_index, struct qcow2_l2 **out)
{
    uint64_t off = s->l1[l1_index] & QCOW2_OFFSET_MASK;
    *out = NULL;
    if (off == 0) {
        return 0;
    }
    for (unsigned i = 0; i < s->l2cache_n; i++) {
        if (s->l2cache[i].offset == off) {
            s->l2cache[i].last_use = ++s->tick;
            *out = &s->l2cache[i];
            return 0;
        }
    }
    if ((off & (s->cluster_size - 1)) || off + s->cluster_size > s->file_end ||
        qcow2_overlaps_metadata(s, off, s->cluster_size)) {
        log_warn("%s: corrupt L1 entry %u (L2 table at %llu)", s->path, l1_index,
                 (unsigned long long)off);
        return -1;
    }
    struct qcow2_l2 *t = qcow2_l2_slot(s);
    if (!t || blk_pread_full(s->fd, off, t->entries, s->cluster_size) < 0) {
        return -1;
    }
    for (uint64_t i = 0; i < (1ull << s->l2_bits); i++) {
        t->entries[i] = blk_be64((const uint8_t *)&t->entries[i]);
    }
    t->offset = off;
    t->dirty = false;
    t->last_use = ++s->tick;
    *out = t;
    return 0;
}

bool qcow2_compressed_range(const struct qcow2 *s, uint64_t entry, uint64_t *off, uint64_t *len)
{
    uint32_t shift = 62 - (s->cluster_bits - 8);
    uint64_t nsect = ((entry >> shift) & ((1ull << (s->cluster_bits - 8)) - 1)) + 1;
    *off = entry & ((1ull << shift) - 1);
    *len = nsect * 512 - (*off & 511);
    return *off != 0 && *off < s->file_end;
}

static int decompress(struct qcow2 *s, uint64_t entry)
{
    uint64_t off, len;
    if (s->zbuf_entry == entry) {
        return 0;
    }
    if (!qcow2_compressed_range(s, entry, &off, &len)) {
        log_warn("%s: corrupt compressed cluster entry 0x%llx", s->path,
                 (unsigned long long)entry);
        return -1;
    }
    if (blk_pread_full(s->fd, off, s->cbuf, len) < 0) {
        return -1;
    }
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, -15) != Z_OK) {
        return -1;
    }
    z.next_in = s->cbuf;
    z.avail_in = (uInt)len;
    z.next_out = s->zbuf;
    z.avail_out = (uInt)s->cluster_size;
    int zr = inflate(&z, Z_FINISH);
    bool full = z.avail_out == 0;
    inflateEnd(&z);
    if (!full || (zr != Z_STREAM_END && zr != Z_OK && zr != Z_BUF_ERROR)) {
        log_warn("%s: compressed cluster at %llu does not decompress", s->path,
                 (unsigned long long)off);
        s->zbuf_entry = 0;
        return -1;
    }
    s->zbuf_entry = entry;
    return 0;
}

static int read_backing(struct qcow2 *s, uint64_t guest_off, uint8_t *buf, size_t len)
{
    uint64_t bsize = s->backing ? blk_size(s->backing) : 0;
    size_t n = guest_off >= bsize ? 0 : bsize - guest_off < len ? (size_t)(bsize - guest_off) : len;
    memset(buf + n, 0, len - n);
    return n ? blk_read(s->backing, guest_off, buf, n) : 0;
}

/* Bytes [in, in + len) of the guest cluster at `guest_off` described by `entry`. */
int qcow2_read_cluster(struct qcow2 *s, uint64_t entry, uint64_t guest_off, uint8_t *buf,
                       size_t in, size_t len)
{
    if (entry & QCOW2_COMPRESSED) {
        if (decompress(s, entry) < 0) {
            return -1;
        }
        memcpy(buf, s->zbuf + in, len);
        return 0;
    }
    uint64_t host = entry & QCOW2_OFFSET_MASK;
    if (entry & QCOW2_ZERO) {
        memset(buf, 0, len);
        return 0;
    }
    if (host == 0) {
        return read_backing(s, guest_off + in, buf, len);
    }
    if (host & (s->cluster_size - 1)) {
        log_warn("%s: corrupt L2 entry 0x%llx (misaligned)", s->path, (unsigned long long)entry);
        return -1;
    }
    return blk_pread_full(s->fd, host + in, buf, len);
}

static int qcow2_read(struct blockdev *bd, uint64_t offset, void *buf, size_t len)
{
    struct qcow2 *s = bd->opaque;
    uint8_t *p = buf;
    while (len > 0) {
        size_t in = (size_t)(offset & (s->cluster_size - 1));
        size_t n = s->cluster_size - in < len ? (size_t)(s->cluster_size - in) : len;
        uint64_t vcluster = offset >> s->cluster_bits;
        struct qcow2_l2 *t;
        if (qcow2_get_l2(s, (uint32_t)(vcluster >> s->l2_bits), &t) < 0) {
            return -1;
        }
        uint64_t entry = t ? t->entries[vcluster & ((1ull << s->l2_bits) - 1)] : 0;
        if (qcow2_read_cluster(s, entry, offset - in, p, in, n) < 0) {
            return -1;
        }
        offset += n;
        p += n;
        len -= n;
    }
    return 0;
}

static void qcow2_close(struct blockdev *bd)
{
    struct qcow2 *s = bd->opaque;
    if (s->writable && qcow2_flush(bd) < 0) {
        log_warn("%s: could not write back qcow2 metadata on close", s->path);
    }
    free_state(s);
}

static void qcow2_info(const struct blockdev *bd, char *buf, size_t len)
{
    const struct qcow2 *s = bd->opaque;
    snprintf(buf, len, "qcow2 version %u, cluster size %llu, refcount bits %u, %u snapshot(s)%s%s%s%s%s",
             s->version, (unsigned long long)s->cluster_size, 1u << s->refcount_order,
             s->nb_snapshots, s->backing_name[0] ? ", backing file " : "", s->backing_name,
             s->backing_fmt[0] ? " (" : "", s->backing_fmt, s->backing_fmt[0] ? ")" : "");
}

const struct blk_driver blk_qcow2_driver = {
    .name = "qcow2",
    .open = qcow2_open,
    .read = qcow2_read,
    .write = qcow2_write,
    .flush = qcow2_flush,
    .close = qcow2_close,
    .info = qcow2_info,
};
