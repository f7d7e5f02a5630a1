/*
 * The block layer: raw images, locking, the snapshot overlay, and qcow2
 * images built here byte by byte from the qcow2 specification (QEMU's
 * docs/interop/qcow2.txt): a header, an L1 table, a refcount table and
 * block, an L2 table with a plain, a zero, a compressed and unallocated
 * clusters.  Malformed headers must fail to open with a message; damaged
 * metadata must fail requests, never crash (this runs under ASan/UBSan).
 * After writes, a small checker recounts every reference from the header,
 * L1/L2 tables and refcount table and compares it with the stored
 * refcounts, as `qemu-img check` would (tests/block/run.sh runs the real
 * one).
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "hw/block/block.h"
#include "hw/block/block_int.h"

static char dir[64];
static char path[128];
static char err[512];

static void setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/kasou-blk-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/disk.img", dir);
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(block, .init = setup, .fini = teardown);

static void write_file(const char *p, const void *buf, size_t len)
{
    FILE *f = fopen(p, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(buf, 1, len, f), len);
    fclose(f);
}

static size_t read_file(const char *p, void *buf, size_t max)
{
    FILE *f = fopen(p, "rb");
    cr_assert_not_null(f);
    size_t n = fread(buf, 1, max, f);
    fclose(f);
    return n;
}

static uint8_t pat(uint64_t i, unsigned seed)
{
    return (uint8_t)(i * 7 + seed + (i >> 9));
}

/* The damaged-image tests log a warning per failed request: keep stderr quiet. */
static void quiet(void)
{
    int fd = open("/dev/null", O_WRONLY);
    cr_assert_geq(fd, 0);
    dup2(fd, 2);
    close(fd);
}

static struct blockdev *open_opts(const char *p, const char *fmt, bool ro, bool snap)
{
    struct blk_open_opts o = {.format = fmt, .read_only = ro, .snapshot = snap};
    return blk_open(p, &o, err, sizeof(err));
}

/* ---- raw ---- */

Test(block, raw_read_write_flush)
{
    static uint8_t img[8192], buf[8192];
    for (size_t i = 0; i < sizeof(img); i++) {
        img[i] = pat(i, 1);
    }
    write_file(path, img, sizeof(img));
    struct blockdev *bd = open_opts(path, NULL, false, false);
    cr_assert_not_null(bd, "%s", err);
    cr_assert_str_eq(blk_format(bd), "raw");
    cr_assert_eq(blk_size(bd), 8192);
    cr_assert_eq(blk_read(bd, 1000, buf, 3000), 0);
    cr_assert_arr_eq(buf, img + 1000, 3000);
    memset(buf, 0xa5, 1234);
    cr_assert_eq(blk_write(bd, 777, buf, 1234), 0);
    cr_assert_eq(blk_flush(bd), 0);
    cr_assert_eq(blk_read(bd, 8000, buf, 193), -1, "past the end");
    cr_assert_eq(blk_write(bd, 8192, buf, 1), -1, "past the end");
    blk_close(bd);
    memset(img + 777, 0xa5, 1234);
    cr_assert_eq(read_file(path, buf, sizeof(buf)), 8192);
    cr_assert_arr_eq(buf, img, 8192);
}

Test(block, raw_odd_size_rounds_up_with_zero_tail)
{
    uint8_t img[1000], buf[1024];
    memset(img, 0x77, sizeof(img));
    write_file(path, img, sizeof(img));
    struct blockdev *bd = open_opts(path, "raw", true, false);
    cr_assert_not_null(bd, "%s", err);
    cr_assert_eq(blk_size(bd), 1024);
    cr_assert_eq(blk_read(bd, 0, buf, 1024), 0);
    cr_assert_eq(buf[999], 0x77);
    for (int i = 1000; i < 1024; i++) {
        cr_assert_eq(buf[i], 0, "tail byte %d", i);
    }
    blk_close(bd);
}

Test(block, read_only_refuses_writes)
{
    uint8_t img[4096] = {1, 2, 3}, buf[512] = {9};
    write_file(path, img, sizeof(img));
    struct blockdev *bd = open_opts(path, NULL, true, false);
    cr_assert_not_null(bd, "%s", err);
    cr_assert(blk_read_only(bd));
    cr_assert_eq(blk_write(bd, 0, buf, 512), -1);
    cr_assert_eq(blk_flush(bd), 0);
    blk_close(bd);
    cr_assert_eq(read_file(path, buf, 3), 3);
    cr_assert_eq(buf[0], 1);
}

Test(block, second_writer_is_refused)
{
    uint8_t img[4096] = {0};
    write_file(path, img, sizeof(img));
    struct blockdev *a = open_opts(path, NULL, false, false);
    cr_assert_not_null(a, "%s", err);
    cr_assert_null(open_opts(path, NULL, false, false));
    cr_assert(strstr(err, "in use by another process"), "%s", err);
    cr_assert_null(open_opts(path, NULL, true, false), "a reader refuses a writer too");
    blk_close(a);
    struct blockdev *r1 = open_opts(path, NULL, true, false);
    struct blockdev *r2 = open_opts(path, NULL, false, true);
    cr_assert_not_null(r1, "%s", err);
    cr_assert_not_null(r2, "readers share: %s", err);
    cr_assert_null(open_opts(path, NULL, false, false), "readers refuse a writer");
    blk_close(r1);
    blk_close(r2);
    a = open_opts(path, NULL, false, false);
    cr_assert_not_null(a, "locks go with close: %s", err);
    blk_close(a);
}

Test(block, snapshot_overlay_keeps_file_unchanged)
{
    static uint8_t img[20000], buf[20000], want[20000];
    for (size_t i = 0; i < sizeof(img); i++) {
        img[i] = pat(i, 3);
    }
    write_file(path, img, sizeof(img));
    struct blockdev *bd = open_opts(path, NULL, false, true);
    cr_assert_not_null(bd, "%s", err);
    cr_assert(!blk_read_only(bd));
    cr_assert_eq(blk_size(bd), 20480);
    memcpy(want, img, sizeof(img));
    memset(buf, 0x42, sizeof(buf));
    cr_assert_eq(blk_write(bd, 100, buf, 50), 0);       /* inside one chunk */
    cr_assert_eq(blk_write(bd, 4000, buf, 9000), 0);    /* across chunks */
    cr_assert_eq(blk_write(bd, 4090, "xyz", 3), 0);     /* into a chunk it holds */
    memset(want + 100, 0x42, 50);
    memset(want + 4000, 0x42, 9000);
    memcpy(want + 4090, "xyz", 3);
    cr_assert_eq(blk_flush(bd), 0);
    cr_assert_eq(blk_read(bd, 0, buf, 20000), 0);
    cr_assert_arr_eq(buf, want, 20000);
    blk_close(bd);
    cr_assert_eq(read_file(path, buf, sizeof(buf)), 20000);
    cr_assert_arr_eq(buf, img, 20000, "the image file never changes");
}

Test(block, snapshot_and_read_only_refuse_writes)
{
    uint8_t img[4096] = {0};
    write_file(path, img, sizeof(img));
    struct blockdev *bd = open_opts(path, NULL, true, true);
    cr_assert_not_null(bd, "%s", err);
    cr_assert_eq(blk_write(bd, 0, img, 512), -1);
    blk_close(bd);
}

Test(block, probed_raw_refuses_qcow2_magic_in_sector0)
{
    uint8_t img[4096] = {0}, magic[8] = {'Q', 'F', 'I', 0xfb, 0, 0, 0, 3};
    write_file(path, img, sizeof(img));
    struct blockdev *bd = open_opts(path, NULL, false, false);
    cr_assert_not_null(bd, "%s", err);
    cr_assert_eq(blk_write(bd, 0, magic, 8), -1);
    cr_assert_eq(blk_write(bd, 0, "QF", 2), 0, "half the magic is fine");
    cr_assert_eq(blk_write(bd, 2, "I\xfb", 2), -1, "completing it is not");
    cr_assert_eq(blk_write(bd, 512, magic, 8), 0);
    blk_close(bd);
    bd = open_opts(path, "raw", false, false);
    cr_assert_not_null(bd, "%s", err);
    cr_assert_eq(blk_write(bd, 0, magic, 8), 0, "format=raw allows it");
    blk_close(bd);
}

Test(block, format_option)
{
    uint8_t img[4096] = {0};
    write_file(path, img, sizeof(img));
    cr_assert_null(open_opts(path, "qcow2", true, false));
    cr_assert(strstr(err, "not a qcow2 image"), "%s", err);
    cr_assert_null(open_opts(path, "vmdk", true, false));
    cr_assert(strstr(err, "unsupported image format"), "%s", err);
    cr_assert_null(open_opts("/nonexistent/kasou.img", NULL, true, false));
    cr_assert(strstr(err, "cannot open"), "%s", err);
}

/* ---- qcow2 images built by hand ---- */

/*
 * Layout, cluster size cs: 0 header, 1 L1 table, 2 refcount table, 3
 * refcount block (16-bit), 4 L2 table, 5 data (pattern 5), 6 compressed
 * data (pattern 6).  Guest clusters: 0 -> 5, 1 zero (v3) / unallocated
 * (v2), 2 compressed, the rest unallocated.
 */
struct built {
    uint8_t *buf;
    size_t len;
    unsigned cb;
};

static void put64(uint8_t *p, uint64_t v)
{
    blk_put_be64(p, v);
}

static void put32(uint8_t *p, uint32_t v)
{
    blk_put_be32(p, v);
}

static struct built build_qcow2(unsigned version, unsigned cb, uint64_t size)
{
    uint64_t cs = 1ull << cb;
    uint64_t span = cs * (cs / 8), l1n = (size + span - 1) / span;
    uint64_t l1c = (l1n * 8 + cs - 1) / cs;   /* L1 clusters */
    uint64_t l1at = l1c > 1 ? 7 : 1;          /* a big L1 goes after the data */
    uint64_t nc = l1c > 1 ? 7 + l1c : 7;
    struct built b = {calloc(nc + 1, cs), nc * cs, cb};
    uint8_t *h = b.buf;
    memcpy(h, "QFI\xfb", 4);
    put32(h + 4, version);
    put32(h + 20, cb);
    put64(h + 24, size);
    put32(h + 36, (uint32_t)l1n);
    put64(h + 40, l1at * cs);
    put64(h + 48, 2 * cs);
    put32(h + 56, 1);
    if (version == 3) {
        put32(h + 96, 4);
        put32(h + 100, 104);
    }
    put64(b.buf + l1at * cs, 4 * cs | 1ull << 63);        /* L1[0] */
    put64(b.buf + 2 * cs, 3 * cs);                        /* refcount table */
    for (uint64_t c = 0; c < nc; c++) {
        b.buf[3 * cs + c * 2 + 1] = c != 1 || l1at == 1;  /* refcount 1 if used */
    }
    uint8_t *l2 = b.buf + 4 * cs;
    put64(l2, 5 * cs | 1ull << 63);
    if (version == 3) {
        put64(l2 + 8, 1);                                 /* zero cluster */
    }
    for (uint64_t i = 0; i < cs; i++) {
        b.buf[5 * cs + i] = pat(i, 5);
    }
    uint8_t *plain = malloc(cs);
    for (uint64_t i = 0; i < cs; i++) {
        plain[i] = pat(i / 64, 6);  /* compressible */
    }
    z_stream z = {0};
    cr_assert_eq(deflateInit2(&z, 9, Z_DEFLATED, -12, 9, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = plain;
    z.avail_in = (uInt)cs;
    z.next_out = b.buf + 6 * cs;
    z.avail_out = (uInt)cs;
    cr_assert_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
    uint64_t clen = cs - z.avail_out, nsect = (clen + 511) / 512 - 1;
    deflateEnd(&z);
    free(plain);
    put64(l2 + 16, 1ull << 62 | nsect << (62 - (cb - 8)) | 6 * cs);
    return b;
}

static void save(const struct built *b, const char *p)
{
    write_file(p, b->buf, b->len);
}

static void expect_cluster(struct blockdev *bd, unsigned cb, uint64_t vc, int kind)
{
    uint64_t cs = 1ull << cb;
    uint8_t *buf = malloc(cs);
    cr_assert_eq(blk_read(bd, vc * cs, buf, cs), 0, "cluster %llu", (unsigned long long)vc);
    for (uint64_t i = 0; i < cs; i++) {
        uint8_t want = kind == 5 ? pat(i, 5) : kind == 6 ? pat(i / 64, 6) : 0;
        cr_assert_eq(buf[i], want, "cluster %llu byte %llu", (unsigned long long)vc,
                     (unsigned long long)i);
    }
    free(buf);
}

Test(block, qcow2_reads_plain_zero_compressed_unallocated)
{
    for (unsigned v = 2; v <= 3; v++) {
        struct built b = build_qcow2(v, 12, 1 << 20);
        save(&b, path);
        free(b.buf);
        struct blockdev *bd = open_opts(path, NULL, true, false);
        cr_assert_not_null(bd, "%s", err);
        cr_assert_str_eq(blk_format(bd), "qcow2");
        cr_assert_eq(blk_size(bd), 1 << 20);
        expect_cluster(bd, 12, 0, 5);
        expect_cluster(bd, 12, 1, 0);
        expect_cluster(bd, 12, 2, 6);
        expect_cluster(bd, 12, 3, 0);
        expect_cluster(bd, 12, 255, 0);
        uint8_t buf[100];
        cr_assert_eq(blk_read(bd, 3 * 4096 - 50, buf, 100), 0, "across clusters");
        cr_assert_eq(buf[49], pat(4095 / 64, 6));
        cr_assert_eq(buf[50], 0);
        blk_close(bd);
    }
}

/* Recount every reference and compare with the refcounts (16-bit only). */
static void check_refcounts(const char *p)
{
    static uint8_t f[16 << 20];
    size_t n = read_file(p, f, sizeof(f));
    unsigned cb = blk_be32(f + 20);
    uint64_t cs = 1ull << cb, nclusters = (n + cs - 1) / cs;
    uint16_t *want = calloc(nclusters + 1, 2);
    uint64_t l1 = blk_be64(f + 40), rt = blk_be64(f + 48);
    uint32_t l1n = blk_be32(f + 36), rtc = blk_be32(f + 56);
    want[0]++;
    for (uint64_t c = l1 / cs; c < (l1 + l1n * 8 + cs - 1) / cs; c++) {
        want[c]++;
    }
    for (uint64_t c = rt / cs; c < rt / cs + rtc; c++) {
        want[c]++;
    }
    for (uint64_t i = 0; i < rtc * cs / 8; i++) {
        uint64_t rb = blk_be64(f + rt + i * 8);
        if (rb) {
            want[rb / cs]++;
        }
    }
    for (uint32_t i = 0; i < l1n; i++) {
        uint64_t l2 = blk_be64(f + l1 + i * 8) & 0x00fffffffffffe00ull;
        if (!l2) {
            continue;
        }
        cr_assert_eq(blk_be64(f + l1 + i * 8) >> 63, 1, "L1 COPIED flag");
        want[l2 / cs]++;
        for (uint64_t j = 0; j < cs / 8; j++) {
            uint64_t e = blk_be64(f + l2 + j * 8);
            if (e >> 62 == 1) {  /* compressed */
                uint32_t shift = 62 - (cb - 8);
                uint64_t off = e & ((1ull << shift) - 1);
                uint64_t len = (((e >> shift) & ((1ull << (cb - 8)) - 1)) + 1) * 512 - (off & 511);
                for (uint64_t c = off / cs; c <= (off + len - 1) / cs; c++) {
                    want[c]++;
                }
            } else if (e & 0x00fffffffffffe00ull) {
                cr_assert_eq(e >> 63, 1, "L2 COPIED flag");
                want[(e & 0x00fffffffffffe00ull) / cs]++;
            }
        }
    }
    for (uint64_t c = 0; c < nclusters; c++) {
        uint64_t rb = blk_be64(f + rt + (c / (cs / 2)) * 8);
        uint16_t have = rb ? (uint16_t)(f[rb + (c % (cs / 2)) * 2] << 8 |
                                        f[rb + (c % (cs / 2)) * 2 + 1]) : 0;
        cr_assert_eq(have, want[c], "cluster %llu: refcount %u, %u references",
                     (unsigned long long)c, have, want[c]);
    }
    free(want);
}

Test(block, qcow2_built_image_is_consistent)
{
    struct built b = build_qcow2(3, 12, 1 << 20);
    save(&b, path);
    free(b.buf);
    check_refcounts(path);  /* the checker agrees with the builder */
}

/* Writes over every kind of cluster; read back before and after reopening. */
static void write_pattern_test(unsigned v, unsigned cb, uint64_t size, unsigned count)
{
    struct built b = build_qcow2(v, cb, size);
    save(&b, path);
    uint8_t *want = calloc(1, size), *buf = malloc(size);
    struct blockdev *bd = open_opts(path, NULL, true, false);
    cr_assert_not_null(bd, "%s", err);
    cr_assert_eq(blk_read(bd, 0, want, size), 0);
    blk_close(bd);
    bd = open_opts(path, "qcow2", false, false);
    cr_assert_not_null(bd, "%s", err);
    uint64_t st = 88172645463325252ull;
    for (unsigned i = 0; i < count; i++) {
        st ^= st << 13, st ^= st >> 7, st ^= st << 17;
        uint64_t len = 1 + st % (3 << cb), off = (st >> 20) % (size - len);
        if (i < 4) {
            off = i << cb | 100;  /* partial writes into each built cluster */
            len = 200;
        }
        for (uint64_t j = 0; j < len; j++) {
            buf[j] = (uint8_t)(i + j);
        }
        cr_assert_eq(blk_write(bd, off, buf, len), 0, "write %u", i);
        memcpy(want + off, buf, len);
        if (i % 5 == 4) {
            cr_assert_eq(blk_flush(bd), 0);
        }
    }
    cr_assert_eq(blk_read(bd, 0, buf, size), 0);
    cr_assert_arr_eq(buf, want, size);
    blk_close(bd);
    check_refcounts(path);
    bd = open_opts(path, NULL, true, false);
    cr_assert_not_null(bd, "%s", err);
    cr_assert_eq(blk_read(bd, 0, buf, size), 0);
    cr_assert_arr_eq(buf, want, size, "after reopening");
    blk_close(bd);
    free(b.buf);
    free(want);
    free(buf);
}

Test(block, qcow2_writes_v3)
{
    write_pattern_test(3, 12, 1 << 20, 60);
}

Test(block, qcow2_writes_v2)
{
    write_pattern_test(2, 12, 1 << 20, 60);
}

Test(block, qcow2_writes_small_clusters)
{
    write_pattern_test(3, 9, 1 << 20, 400);
}

Test(block, qcow2_writes_grow_refcount_table)
{
    /* 512-byte clusters, 16-bit refcounts: a block covers 128 KiB of file and
     * the one-cluster table 64 blocks, 8 MiB; writing 12 MiB must grow it. */
    uint64_t size = 12 << 20;
    struct built b = build_qcow2(3, 9, size);
    save(&b, path);
    free(b.buf);
    struct blockdev *bd = open_opts(path, NULL, false, false);
    cr_assert_not_null(bd, "%s", err);
    uint8_t *big = malloc(size), *back = malloc(size);
    for (uint64_t i = 0; i < size; i++) {
        big[i] = pat(i, 11);
    }
    cr_assert_eq(blk_write(bd, 0, big, size), 0);
    cr_assert_eq(blk_flush(bd), 0);
    cr_assert_eq(blk_read(bd, 0, back, size), 0);
    cr_assert_arr_eq(back, big, size);
    blk_close(bd);
    check_refcounts(path);
    uint8_t h[64];
    cr_assert_eq(read_file(path, h, sizeof(h)), sizeof(h));
    cr_assert_neq(blk_be64(h + 48), 2 * 512, "the refcount table moved");
    cr_assert_gt(blk_be32(h + 56), 1, "and grew");
    bd = open_opts(path, NULL, true, false);
    cr_assert_not_null(bd, "%s", err);
    cr_assert_eq(blk_read(bd, 0, back, size), 0);
    cr_assert_arr_eq(back, big, size, "after reopening");
    blk_close(bd);
    free(big);
    free(back);
}

Test(block, qcow2_backing_file_relative_to_image)
{
    struct built b = build_qcow2(3, 12, 1 << 20);
    const char *name = "base.raw";
    put64(b.buf + 8, 200);
    put32(b.buf + 16, (uint32_t)strlen(name));
    memcpy(b.buf + 200, name, strlen(name));
    save(&b, path);
    free(b.buf);
    static uint8_t base[1 << 19], buf[8192];
    for (size_t i = 0; i < sizeof(base); i++) {
        base[i] = pat(i, 9);
    }
    char bpath[160];
    snprintf(bpath, sizeof(bpath), "%s/base.raw", dir);
    write_file(bpath, base, sizeof(base));
    struct blockdev *bd = open_opts(path, NULL, false, false);
    cr_assert_not_null(bd, "%s", err);
    cr_assert_eq(blk_read(bd, 3 * 4096, buf, 4096), 0);
    cr_assert_arr_eq(buf, base + 3 * 4096, 4096, "unallocated reads the backing file");
    cr_assert_eq(blk_read(bd, 600000, buf, 4096), 0);
    cr_assert_eq(buf[0] | buf[4095], 0, "past the backing file: zeros");
    cr_assert_eq(blk_write(bd, 3 * 4096 + 10, "hi", 2), 0);
    cr_assert_eq(blk_read(bd, 3 * 4096, buf, 4096), 0);
    cr_assert_eq(memcmp(buf, base + 3 * 4096, 10), 0, "copy-on-write from the backing file");
    cr_assert_eq(memcmp(buf + 10, "hi", 2), 0);
    cr_assert_eq(memcmp(buf + 12, base + 3 * 4096 + 12, 4084), 0);
    blk_close(bd);
    check_refcounts(path);
    cr_assert_eq(read_file(bpath, buf, 4096), 4096);
    cr_assert_arr_eq(buf, base, 4096, "the backing file is never written");
}

Test(block, qcow2_backing_loop_is_refused)
{
    struct built b = build_qcow2(3, 12, 1 << 20);
    put64(b.buf + 8, 200);
    put32(b.buf + 16, 8);
    memcpy(b.buf + 200, "disk.img", 8);
    save(&b, path);
    free(b.buf);
    cr_assert_null(open_opts(path, NULL, true, false));
    cr_assert(strstr(err, "backing"), "%s", err);
}

/* ---- malformed images: an error with a message ---- */

static void expect_refused(const struct built *b, const char *words)
{
    save(b, path);
    err[0] = 0;
    struct blockdev *bd = open_opts(path, NULL, true, false);
    if (bd) {
        blk_close(bd);
    }
    cr_assert_null(bd, "expected '%s'", words);
    cr_assert(strstr(err, words), "expected '%s', got: %s", words, err);
}

Test(block, qcow2_malformed_headers)
{
    struct built b = build_qcow2(3, 12, 1 << 20);
    struct built t = b;
    t.len = 50;
    expect_refused(&t, "truncated header");
    t.len = 90;
    expect_refused(&t, "truncated or bad v3 header");
    struct {
        unsigned at, width;
        uint64_t value;
        const char *words;
    } cases[] = {
        {4, 4, 1, "unsupported version"},
        {20, 4, 8, "cluster_bits"},
        {20, 4, 22, "cluster_bits"},
        {20, 4, 0xffffffff, "cluster_bits"},
        {24, 8, 1ull << 62, "too large"},
        {24, 8, 1ull << 40, "too small"},
        {36, 4, 0x40000000, "too large"},
        {40, 8, 1ull << 40, "L1 table"},
        {40, 8, 4096 + 8, "L1 table"},
        {48, 8, 1ull << 40, "refcount table"},
        {56, 4, 0, "refcount table"},
        {56, 4, 0x7fffffff, "refcount table"},
        {96, 4, 7, "refcount order"},
        {100, 4, 100, "bad v3 header"},
        {100, 4, 8192, "header length"},
        {32, 4, 1, "encrypted"},
        {72, 8, 1 << 2, "external data"},
        {72, 8, 1 << 4, "extended L2"},
        {72, 8, 1 << 9, "incompatible features"},
        {8, 8, 4090, "backing file name"},
        {60, 4, 1000000, "snapshot"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t saved[8];
        memcpy(saved, b.buf + cases[i].at, 8);
        if (cases[i].width == 4) {
            put32(b.buf + cases[i].at, (uint32_t)cases[i].value);
        } else {
            put64(b.buf + cases[i].at, cases[i].value);
        }
        if (cases[i].at == 8) {
            put32(b.buf + 16, 100);  /* name runs past the cluster */
        }
        expect_refused(&b, cases[i].words);
        memcpy(b.buf + cases[i].at, saved, 8);
        put32(b.buf + 16, 0);
    }
    free(b.buf);
}

Test(block, qcow2_compression_type_and_extensions)
{
    struct built b = build_qcow2(3, 12, 1 << 20);
    put32(b.buf + 100, 112);
    put64(b.buf + 72, 1 << 3);
    b.buf[104] = 1;  /* zstd */
    expect_refused(&b, "compression type 1");
    b.buf[104] = 0;  /* zlib named explicitly is fine */
    save(&b, path);
    struct blockdev *bd = open_opts(path, NULL, true, false);
    cr_assert_not_null(bd, "%s", err);
    blk_close(bd);
    put32(b.buf + 112, 0xe2792aca);  /* backing format extension running off the cluster */
    put32(b.buf + 116, 5000);
    expect_refused(&b, "overflows");
    free(b.buf);
}

Test(block, qcow2_dirty_bit_opens_read_only_only)
{
    struct built b = build_qcow2(3, 12, 1 << 20);
    put64(b.buf + 72, 1);
    save(&b, path);
    free(b.buf);
    struct blockdev *bd = open_opts(path, NULL, false, false);
    cr_assert_null(bd);
    cr_assert(strstr(err, "dirty"), "%s", err);
    bd = open_opts(path, NULL, true, false);
    cr_assert_not_null(bd, "%s", err);
    expect_cluster(bd, 12, 0, 5);
    blk_close(bd);
}

Test(block, qcow2_bad_table_pointers_fail_requests)
{
    quiet();
    struct built b = build_qcow2(3, 12, 1 << 20);
    put64(b.buf + 4096, 1ull << 40);                    /* L1[0] past EOF */
    save(&b, path);
    struct blockdev *bd = open_opts(path, NULL, false, false);
    cr_assert_not_null(bd, "%s", err);
    uint8_t buf[512] = {0};
    cr_assert_eq(blk_read(bd, 0, buf, 512), -1);
    cr_assert_eq(blk_write(bd, 0, buf, 512), -1);
    blk_close(bd);
    put64(b.buf + 4096, 4 * 4096);
    put64(b.buf + 4 * 4096, 0);                         /* L2[0] -> the header */
    put64(b.buf + 4 * 4096 + 8, 5 * 4096 + 512);        /* misaligned */
    save(&b, path);
    bd = open_opts(path, NULL, false, false);
    cr_assert_not_null(bd, "%s", err);
    cr_assert_eq(blk_read(bd, 4096, buf, 512), -1);
    cr_assert_eq(blk_write(bd, 4096, buf, 512), -1);
    blk_close(bd);
    put64(b.buf + 4 * 4096, 1ull << 63);                /* COPIED, offset 0 */
    put64(b.buf + 4 * 4096 + 8, 4096 | 1ull << 63);     /* data in the L1 table */
    save(&b, path);
    bd = open_opts(path, NULL, false, false);
    cr_assert_not_null(bd, "%s", err);
    cr_assert_eq(blk_write(bd, 4096, buf, 512), -1, "never overwrite metadata");
    blk_close(bd);
    free(b.buf);
}

/* Random damage to the metadata: any result but a crash or a hang. */
Test(block, qcow2_damaged_metadata_never_crashes)
{
    quiet();
    struct built good = build_qcow2(3, 9, 1 << 16);
    uint8_t *buf = malloc(1 << 16);
    uint64_t st = 0x9e3779b97f4a7c15ull;
    for (int iter = 0; iter < 400; iter++) {
        struct built b = {malloc(good.len), good.len, 9};
        memcpy(b.buf, good.buf, good.len);
        for (int k = 0; k < 1 + iter % 4; k++) {
            st ^= st << 13, st ^= st >> 7, st ^= st << 17;
            uint64_t at = st % (5 * 512 + 200);
            b.buf[at] = (uint8_t)(st >> 40) ^ (uint8_t)(iter & 1 ? 0xff : 1u << (st >> 56) % 8);
        }
        save(&b, path);
        free(b.buf);
        struct blockdev *bd = open_opts(path, NULL, false, false);
        if (bd) {
            (void)blk_read(bd, 0, buf, blk_size(bd) < (1 << 16) ? blk_size(bd) : 1 << 16);
            memset(buf, 0x5a, 3000);
            if (blk_size(bd) >= 4000) {
                (void)blk_write(bd, 700, buf, 3000);
                (void)blk_read(bd, 0, buf, 4000);
            }
            blk_close(bd);
        }
    }
    free(buf);
    free(good.buf);
}
