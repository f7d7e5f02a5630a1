/*
 * PNG encoder and decoder (ui/png.c): the files the encoder writes are
 * checked chunk by chunk here with zlib directly (signature, IHDR fields,
 * CRCs, the inflated scanline layout), the decoder is fed PNGs assembled
 * here from hand-filtered scanlines (all five filter types, RGB and RGBA),
 * and damaged files must be refused.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "ui/png.h"

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* A test image with flat areas, gradients and noise (every filter wins
 * somewhere). */
static uint32_t *test_image(int w, int h)
{
    uint32_t *px = malloc((size_t)w * h * sizeof(*px));
    uint32_t seed = 12345;
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            uint32_t v;
            seed = seed * 1103515245u + 12345u;
            if (y < h / 3) {
                v = x < w / 2 ? 0x0000AA : 0xAAAAAA;
            } else if (y < 2 * h / 3) {
                v = (uint32_t)(x & 0xFF) << 16 | (uint32_t)(y & 0xFF) << 8 | ((x + y) & 0xFF);
            } else {
                v = (seed >> 8) & 0xFFFFFF;
            }
            px[(size_t)y * w + x] = v;
        }
    }
    return px;
}

Test(png, round_trip_various_sizes)
{
    static const int sizes[][2] = { { 1, 1 }, { 7, 3 }, { 3, 7 }, { 720, 400 }, { 320, 200 } };
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        int w = sizes[i][0], h = sizes[i][1];
        uint32_t *px = test_image(w, h);
        uint8_t *png;
        size_t len;
        cr_assert_eq(png_encode(px, w, h, w, &png, &len), 0);
        uint32_t *out;
        int ow, oh;
        char err[128] = "";
        cr_assert_eq(png_decode(png, len, &out, &ow, &oh, err, sizeof(err)), 0, "%s", err);
        cr_assert_eq(ow, w);
        cr_assert_eq(oh, h);
        cr_assert_eq(memcmp(out, px, (size_t)w * h * 4), 0, "pixels differ at %dx%d", w, h);
        free(out);
        free(png);
        free(px);
    }
}

Test(png, stride_is_honoured)
{
    uint32_t px[2 * 5] = { 0x112233, 0x445566, 0xDEAD, 0xDEAD, 0xDEAD,
                           0x778899, 0xAABBCC, 0xDEAD, 0xDEAD, 0xDEAD };
    uint8_t *png;
    size_t len;
    cr_assert_eq(png_encode(px, 2, 2, 5, &png, &len), 0);
    uint32_t *out;
    int w, h;
    cr_assert_eq(png_decode(png, len, &out, &w, &h, NULL, 0), 0);
    cr_assert_eq(out[0], 0x112233);
    cr_assert_eq(out[1], 0x445566);
    cr_assert_eq(out[2], 0x778899);
    cr_assert_eq(out[3], 0xAABBCC);
    free(out);
    free(png);
}

/* Walk the encoder's output with zlib alone: layout, fields and CRCs. */
Test(png, encoder_chunks_and_crcs)
{
    int w = 33, h = 9;
    uint32_t *px = test_image(w, h);
    uint8_t *png;
    size_t len;
    cr_assert_eq(png_encode(px, w, h, w, &png, &len), 0);
    static const uint8_t sig[8] = { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A };
    cr_assert_eq(memcmp(png, sig, 8), 0);
    size_t pos = 8;
    int nchunks = 0;
    uint8_t *idat = malloc(len);
    size_t idatlen = 0;
    const char *order[] = { "IHDR", "IDAT", "IEND" };
    while (pos < len) {
        uint32_t n = be32(png + pos);
        cr_assert_leq(pos + 12 + n, len);
        cr_assert_lt(nchunks, 3);
        cr_assert_eq(memcmp(png + pos + 4, order[nchunks], 4), 0, "chunk %d", nchunks);
        uint32_t crc = (uint32_t)crc32(0, png + pos + 4, n + 4);
        cr_assert_eq(crc, be32(png + pos + 8 + n), "CRC of chunk %d", nchunks);
        if (nchunks == 0) {
            const uint8_t *d = png + pos + 8;
            cr_assert_eq(n, 13);
            cr_assert_eq(be32(d), (uint32_t)w);
            cr_assert_eq(be32(d + 4), (uint32_t)h);
            cr_assert_eq(d[8], 8);  /* bit depth */
            cr_assert_eq(d[9], 2);  /* truecolour */
            cr_assert_eq(d[10], 0); /* deflate */
            cr_assert_eq(d[11], 0); /* adaptive filtering */
            cr_assert_eq(d[12], 0); /* not interlaced */
        } else if (nchunks == 1) {
            memcpy(idat + idatlen, png + pos + 8, n);
            idatlen += n;
        } else {
            cr_assert_eq(n, 0);
            cr_assert_eq(be32(png + pos + 8), 0xAE426082u); /* IEND's fixed CRC */
        }
        pos += 12 + n;
        nchunks++;
    }
    cr_assert_eq(pos, len);
    cr_assert_eq(nchunks, 3);
    /* The zlib stream (Adler-32 checked by uncompress) holds h scanlines. */
    uLongf rawlen = (uLongf)h * (1 + 3 * w) + 16;
    uint8_t *raw = malloc(rawlen);
    cr_assert_eq(uncompress(raw, &rawlen, idat, (uLong)idatlen), Z_OK);
    cr_assert_eq(rawlen, (uLongf)h * (1 + 3 * w));
    for (int y = 0; y < h; y++) {
        cr_assert_leq(raw[(size_t)y * (1 + 3 * w)], 4, "filter type of row %d", y);
    }
    free(raw);
    free(idat);
    free(png);
    free(px);
}

/* Assemble a PNG around scanlines (filter bytes included). */
static uint8_t *make_png(int w, int h, int ctype, const uint8_t *raw, size_t rawlen,
                         size_t *len)
{
    uLongf zlen = compressBound((uLong)rawlen);
    uint8_t *buf = malloc(8 + 25 + 12 + zlen + 12);
    static const uint8_t sig[8] = { 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A };
    memcpy(buf, sig, 8);
    size_t pos = 8;
    uint8_t *c = buf + pos;
    put32(c, 13);
    memcpy(c + 4, "IHDR", 4);
    put32(c + 8, (uint32_t)w);
    put32(c + 12, (uint32_t)h);
    c[16] = 8;
    c[17] = (uint8_t)ctype;
    c[18] = c[19] = c[20] = 0;
    put32(c + 21, (uint32_t)crc32(0, c + 4, 17));
    pos += 25;
    c = buf + pos;
    cr_assert_eq(compress(c + 8, &zlen, raw, (uLong)rawlen), Z_OK);
    put32(c, (uint32_t)zlen);
    memcpy(c + 4, "IDAT", 4);
    put32(c + 8 + zlen, (uint32_t)crc32(0, c + 4, (uInt)zlen + 4));
    pos += 12 + zlen;
    c = buf + pos;
    put32(c, 0);
    memcpy(c + 4, "IEND", 4);
    put32(c + 8, (uint32_t)crc32(0, c + 4, 4));
    *len = pos + 12;
    return buf;
}

/*
 * 2x5 pixels, one filter type a row; the filtered bytes were worked out by
 * hand from the PNG specification's definitions (comments: predictor).
 */
static const uint8_t filtered[] = {
    0, 10, 20, 30, 15, 25, 35,      /* None */
    1, 11, 22, 33, 9, 8, 7,         /* Sub: left */
    2, 1, 2, 3, 10, 231, 10,        /* Up: above (5 - 30 = -25) */
    3, 94, 244, 22, 241, 58, 25,    /* Average: floor((left + above) / 2) */
    4, 100, 7, 225, 10, 1, 3,       /* Paeth: right pixel picks a, b, c */
};
static const uint32_t expect[] = {
    0x0A141E, 0x0F1923, 0x0B1621, 0x141E28, 0x0C1824,
    0x1E0532, 0x640028, 0x323C46, 0xC80709, 0xD23D2B,
};

Test(png, decodes_all_filter_types)
{
    size_t len;
    uint8_t *png = make_png(2, 5, 2, filtered, sizeof(filtered), &len);
    uint32_t *px;
    int w, h;
    char err[128] = "";
    cr_assert_eq(png_decode(png, len, &px, &w, &h, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(w, 2);
    cr_assert_eq(h, 5);
    for (int i = 0; i < 10; i++) {
        cr_assert_eq(px[i], expect[i], "pixel %d: %06x, not %06x", i, px[i], expect[i]);
    }
    free(px);
    free(png);
}

Test(png, decodes_rgba_dropping_alpha)
{
    /* 2x2 RGBA: Sub works on whole pixels (4 bytes back). */
    static const uint8_t raw[] = {
        0, 1, 2, 3, 255, 4, 5, 6, 0,
        1, 10, 20, 30, 128, 1, 1, 1, 1,
    };
    size_t len;
    uint8_t *png = make_png(2, 2, 6, raw, sizeof(raw), &len);
    uint32_t *px;
    int w, h;
    cr_assert_eq(png_decode(png, len, &px, &w, &h, NULL, 0), 0);
    cr_assert_eq(px[0], 0x010203);
    cr_assert_eq(px[1], 0x040506);
    cr_assert_eq(px[2], 0x0A141E);
    cr_assert_eq(px[3], 0x0B151F);
    free(px);
    free(png);
}

static void expect_refused(const uint8_t *png, size_t len, const char *why)
{
    uint32_t *px = NULL;
    int w, h;
    char err[160] = "";
    cr_assert_eq(png_decode(png, len, &px, &w, &h, err, sizeof(err)), -1);
    cr_assert_not_null(strstr(err, why), "error '%s' should mention '%s'", err, why);
}

Test(png, refuses_damaged_files)
{
    size_t len;
    uint8_t *png = make_png(2, 5, 2, filtered, sizeof(filtered), &len);
    uint8_t *bad = malloc(len);

    memcpy(bad, png, len);
    bad[0] = 0x88;
    expect_refused(bad, len, "signature");

    memcpy(bad, png, len);
    bad[8 + 8 + 3] ^= 1; /* IHDR width, CRC not updated */
    expect_refused(bad, len, "CRC");

    expect_refused(png, len - 12, "IEND");    /* cut before IEND */
    expect_refused(png, len - 20, "truncated"); /* cut inside IDAT */

    /* Corrupt the zlib stream's Adler-32 and fix the chunk CRC: only the
     * inflate check can catch it. */
    memcpy(bad, png, len);
    size_t idat = 8 + 25;
    uint32_t n = be32(bad + idat);
    bad[idat + 8 + n - 1] ^= 0xFF;
    put32(bad + idat + 8 + n, (uint32_t)crc32(0, bad + idat + 4, n + 4));
    expect_refused(bad, len, "corrupt");
    free(bad);
    free(png);

    uint8_t raw[sizeof(filtered)];
    memcpy(raw, filtered, sizeof(raw));
    raw[7] = 5; /* no filter type 5 */
    png = make_png(2, 5, 2, raw, sizeof(raw), &len);
    expect_refused(png, len, "filter type 5");
    free(png);

    png = make_png(2, 4, 2, filtered, sizeof(filtered), &len); /* one row too many */
    expect_refused(png, len, "more image data");
    free(png);

    png = make_png(2, 6, 2, filtered, sizeof(filtered), &len); /* one row short */
    expect_refused(png, len, "ends early");
    free(png);

    png = make_png(2, 5, 3, filtered, sizeof(filtered), &len); /* palette */
    expect_refused(png, len, "colour type 3");
    free(png);
}

Test(png, write_and_read_file)
{
    char path[] = "/tmp/kasou-test-png-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    uint32_t *px = test_image(64, 48);
    char err[160];
    cr_assert_eq(png_write(path, px, 64, 48, 64, err, sizeof(err)), 0, "%s", err);
    uint32_t *out;
    int w, h;
    cr_assert_eq(png_read(path, &out, &w, &h, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(w, 64);
    cr_assert_eq(h, 48);
    cr_assert_eq(memcmp(out, px, 64 * 48 * 4), 0);
    free(out);
    free(px);
    unlink(path);

    cr_assert_eq(png_write("/nonexistent-dir/x.png", (uint32_t[]){ 0 }, 1, 1, 1, err,
                           sizeof(err)), -1);
    cr_assert_not_null(strstr(err, "/nonexistent-dir/x.png"), "%s", err);
    cr_assert_eq(png_read("/nonexistent-dir/x.png", &out, &w, &h, err, sizeof(err)), -1);
}

Test(png, ppm_is_binary_p6)
{
    char path[] = "/tmp/kasou-test-ppm-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    uint32_t px[] = { 0x102030, 0xA0B0C0, 0xDEAD, 0x000001, 0xFFFFFF, 0xDEAD };
    char err[160];
    cr_assert_eq(png_write_ppm(path, px, 2, 2, 3, err, sizeof(err)), 0, "%s", err);
    FILE *f = fopen(path, "rb");
    uint8_t buf[64];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    unlink(path);
    static const char hdr[] = "P6\n2 2\n255\n";
    cr_assert_eq(n, strlen(hdr) + 12);
    cr_assert_eq(memcmp(buf, hdr, strlen(hdr)), 0);
    static const uint8_t rgb[] = { 0x10, 0x20, 0x30, 0xA0, 0xB0, 0xC0,
                                   0x00, 0x00, 0x01, 0xFF, 0xFF, 0xFF };
    cr_assert_eq(memcmp(buf + strlen(hdr), rgb, 12), 0);
}

Test(png, refuses_bad_sizes)
{
    uint32_t px[4] = { 0 };
    uint8_t *png;
    size_t len;
    cr_assert_eq(png_encode(px, 0, 1, 1, &png, &len), -1);
    cr_assert_eq(png_encode(px, 2, 2, 1, &png, &len), -1); /* stride < width */
    cr_assert_eq(png_encode(NULL, 1, 1, 1, &png, &len), -1);
}
