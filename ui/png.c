/*
 * png.c - PNG encoder and decoder, PPM writer (see png.h).
 *
 * A PNG is an 8-byte signature and then chunks: length (big-endian), a
 * 4-letter type, the data, and the CRC-32 of type and data.  IHDR gives
 * the size and format; the IDAT chunks together hold one zlib stream of
 * the scanlines, each prefixed by its filter type (0 none, 1 sub, 2 up,
 * 3 average, 4 Paeth: every byte minus a prediction from its left, upper
 * and upper-left neighbours); IEND closes the file.  The encoder picks each
 * row's filter with the usual heuristic (the smallest sum of the filtered
 * bytes read as signed magnitudes), which suits both flat text screens and
 * gradients.  zlib provides deflate/inflate (with its Adler-32) and CRC-32.
 */
#include "ui/png.h"
#include "util/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* Decoded images above this many pixels are refused (no screen is near). */
#define PNG_MAX_PIXELS (1u << 25)

static const uint8_t png_sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };


static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint8_t paeth(int a, int b, int c)
{
    int p = a + b - c;
    int pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    if (pa <= pb && pa <= pc) {
        return (uint8_t)a;
    }
    return (uint8_t)(pb <= pc ? b : c);
}

/* The predictor of filter `type` for byte i of row `cur` (prev above). */
static int predict(int type, const uint8_t *cur, const uint8_t *prev, size_t i, size_t bpp)
{
    int a = i >= bpp ? cur[i - bpp] : 0;
    int b = prev[i];
    int c = i >= bpp ? prev[i - bpp] : 0;
    switch (type) {
    case 1:
        return a;
    case 2:
        return b;
    case 3:
        return (a + b) >> 1;
    case 4:
        return paeth(a, b, c);
    default:
        return 0;
    }
}

/* Filter row `cur` with `type` into out; returns the heuristic's cost. */
static unsigned long filter_row(int type, const uint8_t *cur, const uint8_t *prev,
                                uint8_t *out, size_t n, size_t bpp)
{
    unsigned long cost = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t v = (uint8_t)(cur[i] - predict(type, cur, prev, i, bpp));
        out[i] = v;
        cost += v < 128 ? v : 256u - v;
    }
    return cost;
}

/* The filtered scanlines of the image: h rows of 1 + 3w bytes. */
static uint8_t *filter_image(const uint32_t *pixels, int w, int h, int stride, size_t *rawlen)
{
    size_t rowlen = (size_t)w * 3;
    uint8_t *raw = malloc((size_t)h * (rowlen + 1));
    uint8_t *rgb = calloc(2 * rowlen + rowlen + 1, 1);
    if (!raw || !rgb) {
        free(raw);
        free(rgb);
        return NULL;
    }
    uint8_t *cur = rgb, *prev = rgb + rowlen, *tmp = rgb + 2 * rowlen;
    for (int y = 0; y < h; y++) {
        const uint32_t *src = pixels + (size_t)y * (size_t)stride;
        for (int x = 0; x < w; x++) {
            cur[3 * x] = (uint8_t)(src[x] >> 16);
            cur[3 * x + 1] = (uint8_t)(src[x] >> 8);
            cur[3 * x + 2] = (uint8_t)src[x];
        }
        uint8_t *row = raw + (size_t)y * (rowlen + 1);
        unsigned long best = (unsigned long)-1;
        for (int type = 0; type <= 4; type++) {
            unsigned long cost = filter_row(type, cur, prev, tmp + 1, rowlen, 3);
            if (cost < best) {
                best = cost;
                tmp[0] = (uint8_t)type;
                memcpy(row, tmp, rowlen + 1);
            }
        }
        uint8_t *t = prev;
        prev = cur;
        cur = t;
    }
    free(rgb);
    *rawlen = (size_t)h * (rowlen + 1);
    return raw;
}

/* Append a chunk (length, type, data, CRC) at *pos in out. */
static void put_chunk(uint8_t *out, size_t *pos, const char *type, const uint8_t *data,
                      size_t n)
{
    uint8_t *p = out + *pos;
    put_be32(p, (uint32_t)n);
    memcpy(p + 4, type, 4);
    if (n) {
        memmove(p + 8, data, n);
    }
    uLong crc = crc32(0L, p + 4, (uInt)(n + 4));
    put_be32(p + 8 + n, (uint32_t)crc);
    *pos += n + 12;
}

int png_encode(const uint32_t *pixels, int w, int h, int stride, uint8_t **out,
               size_t *outlen)
{
    if (!pixels || w <= 0 || h <= 0 || w > PNG_MAX_SIDE || h > PNG_MAX_SIDE || stride < w) {
        return -1;
    }
    size_t rawlen;
    uint8_t *raw = filter_image(pixels, w, h, stride, &rawlen);
    if (!raw) {
        return -1;
    }
    uLong bound = compressBound((uLong)rawlen);
    /* signature, IHDR (25), IDAT header and CRC (12), IEND (12) */
    uint8_t *buf = malloc(8 + 25 + 12 + bound + 12);
    if (!buf) {
        free(raw);
        return -1;
    }
    uint8_t ihdr[13];
    put_be32(ihdr, (uint32_t)w);
    put_be32(ihdr + 4, (uint32_t)h);
    ihdr[8] = 8;  /* bits per sample */
    ihdr[9] = 2;  /* truecolour */
    ihdr[10] = 0; /* deflate */
    ihdr[11] = 0; /* adaptive filtering */
    ihdr[12] = 0; /* no interlace */
    size_t pos = 0;
    memcpy(buf, png_sig, 8);
    pos = 8;
    put_chunk(buf, &pos, "IHDR", ihdr, sizeof(ihdr));
    /* Compress straight into the IDAT chunk's data field. */
    uLongf zlen = bound;
    int r = compress2(buf + pos + 8, &zlen, raw, (uLong)rawlen, 6);
    free(raw);
    if (r != Z_OK) {
        free(buf);
        return -1;
    }
    put_chunk(buf, &pos, "IDAT", buf + pos + 8, zlen);
    put_chunk(buf, &pos, "IEND", NULL, 0);
    *out = buf;
    *outlen = pos;
    return 0;
}

static int write_file(const char *path, const uint8_t *hdr, size_t hlen, const uint8_t *data,
                      size_t len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        return errmsg(err, errlen, "cannot create '%s': %s", path, strerror(errno));
    }
    bool ok = fwrite(hdr, 1, hlen, f) == hlen && fwrite(data, 1, len, f) == len;
    int e = errno;
    if (fclose(f) != 0 && ok) {
        ok = false;
        e = errno;
    }
    if (!ok) {
        return errmsg(err, errlen, "cannot write '%s': %s", path, strerror(e));
    }
    return 0;
}

int png_write(const char *path, const uint32_t *pixels, int w, int h, int stride,
              char *err, size_t errlen)
{
    uint8_t *png;
    size_t len;
    if (png_encode(pixels, w, h, stride, &png, &len) < 0) {
        return errmsg(err, errlen, "cannot encode a %dx%d PNG (out of memory?)", w, h);
    }
    int r = write_file(path, png, 8, png + 8, len - 8, err, errlen);
    free(png);
    return r;
}

int png_write_ppm(const char *path, const uint32_t *pixels, int w, int h, int stride,
                  char *err, size_t errlen)
{
    if (!pixels || w <= 0 || h <= 0 || stride < w) {
        return errmsg(err, errlen, "no picture to write (%dx%d)", w, h);
    }
    size_t n = (size_t)w * (size_t)h * 3;
    uint8_t *rgb = malloc(n);
    if (!rgb) {
        return errmsg(err, errlen, "out of memory for a %dx%d PPM", w, h);
    }
    uint8_t *p = rgb;
    for (int y = 0; y < h; y++) {
        const uint32_t *src = pixels + (size_t)y * (size_t)stride;
        for (int x = 0; x < w; x++) {
            *p++ = (uint8_t)(src[x] >> 16);
            *p++ = (uint8_t)(src[x] >> 8);
            *p++ = (uint8_t)src[x];
        }
    }
    char hdr[40];
    int hlen = snprintf(hdr, sizeof(hdr), "P6\n%d %d\n255\n", w, h);
    int r = write_file(path, (const uint8_t *)hdr, (size_t)hlen, rgb, n, err, errlen);
    free(rgb);
    return r;
}

/* Decoder state between chunks. */
struct png_dec {
    uint32_t w, h;
    size_t bpp;      /* bytes per pixel: 3 (RGB) or 4 (RGBA) */
    uint8_t *raw;    /* the filtered scanlines, inflated */
    size_t rawlen;
    z_stream zs;
    bool zinit, zdone, iend;
};

static int parse_ihdr(struct png_dec *s, const uint8_t *p, size_t n, char *err, size_t errlen)
{
    if (n != 13) {
        return errmsg(err, errlen, "IHDR is %zu bytes, not 13", n);
    }
    s->w = get_be32(p);
    s->h = get_be32(p + 4);
    if (s->w == 0 || s->h == 0 || s->w > PNG_MAX_SIDE || s->h > PNG_MAX_SIDE ||
        (uint64_t)s->w * s->h > PNG_MAX_PIXELS) {
        return errmsg(err, errlen, "unsupported image size %ux%u", s->w, s->h);
    }
    if (p[8] != 8 || (p[9] != 2 && p[9] != 6)) {
        return errmsg(err, errlen, "unsupported format (bit depth %u, colour type %u): "
                    "only 8-bit RGB and RGBA", p[8], p[9]);
    }
    if (p[10] != 0 || p[11] != 0) {
        return errmsg(err, errlen, "bad compression or filter method (%u, %u)", p[10], p[11]);
    }
    if (p[12] != 0) {
        return errmsg(err, errlen, "interlaced images are not supported");
    }
    s->bpp = p[9] == 6 ? 4 : 3;
    s->rawlen = (size_t)s->h * ((size_t)s->w * s->bpp + 1);
    s->raw = malloc(s->rawlen);
    if (!s->raw || inflateInit(&s->zs) != Z_OK) {
        return errmsg(err, errlen, "out of memory");
    }
    s->zinit = true;
    s->zs.next_out = s->raw;
    s->zs.avail_out = (uInt)s->rawlen;
    return 0;
}

static int feed_idat(struct png_dec *s, const uint8_t *p, size_t n, char *err, size_t errlen)
{
    s->zs.next_in = (Bytef *)p;
    s->zs.avail_in = (uInt)n;
    while (s->zs.avail_in > 0 && !s->zdone) {
        int r = inflate(&s->zs, Z_NO_FLUSH);
        if (r == Z_STREAM_END) {
            s->zdone = true;
        } else if (r == Z_BUF_ERROR && s->zs.avail_out == 0) {
            return errmsg(err, errlen, "more image data than the image holds");
        } else if (r != Z_OK) {
            return errmsg(err, errlen, "corrupt image data (zlib: %s)",
                        s->zs.msg ? s->zs.msg : "error");
        }
    }
    return 0;
}

/* Walk the chunks after the signature, inflating the IDAT data. */
static int read_chunks(struct png_dec *s, const uint8_t *data, size_t len, char *err,
                       size_t errlen)
{
    size_t pos = 8;
    while (!s->iend) {
        if (len - pos < 12) {
            return errmsg(err, errlen, "truncated file (no IEND chunk)");
        }
        uint32_t n = get_be32(data + pos);
        const uint8_t *type = data + pos + 4, *body = data + pos + 8;
        if (n > 0x7fffffffu || n > len - pos - 12) {
            return errmsg(err, errlen, "truncated chunk at offset %zu", pos);
        }
        char name[5];
        for (int i = 0; i < 4; i++) {
            name[i] = (type[i] >= 0x20 && type[i] < 0x7f) ? (char)type[i] : '?';
        }
        name[4] = 0;
        if ((uint32_t)crc32(0L, type, n + 4) != get_be32(body + n)) {
            return errmsg(err, errlen, "CRC mismatch in the %s chunk at offset %zu", name, pos);
        }
        int r = 0;
        bool first = pos == 8;
        if (first != !memcmp(name, "IHDR", 4)) {
            return errmsg(err, errlen, "IHDR must be the first chunk, and only once");
        } else if (first) {
            r = parse_ihdr(s, body, n, err, errlen);
        } else if (!memcmp(name, "IDAT", 4)) {
            r = feed_idat(s, body, n, err, errlen);
        } else if (!memcmp(name, "IEND", 4)) {
            s->iend = true;
        } else if (!(type[0] & 0x20) && memcmp(name, "PLTE", 4)) {
            return errmsg(err, errlen, "unknown critical chunk %s", name);
        }
        if (r < 0) {
            return r;
        }
        pos += 12 + (size_t)n;
    }
    if (!s->zdone || s->zs.avail_out != 0) {
        return errmsg(err, errlen, "image data ends early (%lu of %zu bytes)",
                    s->zs.total_out, s->rawlen);
    }
    return 0;
}

/* Undo the filters in place and convert to 0x00RRGGBB. */
static int unfilter(struct png_dec *s, uint32_t *pixels, char *err, size_t errlen)
{
    size_t rowlen = (size_t)s->w * s->bpp;
    uint8_t *zero = calloc(rowlen, 1);
    if (!zero) {
        return errmsg(err, errlen, "out of memory");
    }
    const uint8_t *prev = zero;
    for (uint32_t y = 0; y < s->h; y++) {
        uint8_t *row = s->raw + (size_t)y * (rowlen + 1);
        int type = row[0];
        if (type > 4) {
            free(zero);
            return errmsg(err, errlen, "bad filter type %d on row %u", type, y);
        }
        uint8_t *cur = row + 1;
        for (size_t i = 0; i < rowlen; i++) {
            cur[i] = (uint8_t)(cur[i] + predict(type, cur, prev, i, s->bpp));
        }
        for (uint32_t x = 0; x < s->w; x++) {
            const uint8_t *p = cur + x * s->bpp;
            pixels[(size_t)y * s->w + x] = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
        }
        prev = cur;
    }
    free(zero);
    return 0;
}

int png_decode(const uint8_t *data, size_t len, uint32_t **pixels, int *w, int *h,
               char *err, size_t errlen)
{
    if (len < 8 || memcmp(data, png_sig, 8) != 0) {
        return errmsg(err, errlen, "not a PNG file (bad signature)");
    }
    struct png_dec s;
    memset(&s, 0, sizeof(s));
    uint32_t *px = NULL;
    int r = read_chunks(&s, data, len, err, errlen);
    if (r == 0) {
        px = malloc((size_t)s.w * s.h * sizeof(*px));
        r = px ? unfilter(&s, px, err, errlen) : errmsg(err, errlen, "out of memory");
    }
    if (s.zinit) {
        inflateEnd(&s.zs);
    }
    free(s.raw);
    if (r < 0) {
        free(px);
        return -1;
    }
    *pixels = px;
    *w = (int)s.w;
    *h = (int)s.h;
    return 0;
}

int png_read(const char *path, uint32_t **pixels, int *w, int *h, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        return errmsg(err, errlen, "cannot open '%s': %s", path, strerror(errno));
    }
    size_t len = 0, cap = 1 << 16;
    uint8_t *buf = malloc(cap);
    while (buf) {
        len += fread(buf + len, 1, cap - len, f);
        if (len < cap) {
            break;
        }
        uint8_t *nb = cap < ((size_t)1 << 30) ? realloc(buf, cap * 2) : NULL;
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    bool bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        free(buf);
        return errmsg(err, errlen, "cannot read '%s'", path);
    }
    int r = png_decode(buf, len, pixels, w, h, err, errlen);
    free(buf);
    return r;
}
