/*
 * pngtext - read the text on a screenshot of a VGA text-mode screen.
 *
 *   pngtext --size SHOT.png                 print the picture's WxH
 *   pngtext --font ROM [--cell WxH] SHOT.png print the screen as text
 *
 * Guest tests use it to check that a screenshot shows what the text dump
 * says, independently of the VGA's text buffer.  The PNG is decoded and
 * checked (signature, every chunk's CRC, the zlib stream's Adler-32) by
 * ui/png.c; an invalid file exits non-zero.
 *
 * The glyphs come from the VGA BIOS that drew the screen (for SeaBIOS,
 * vgabios-stdvga.bin), which carries its fonts as plain tables of 256
 * glyphs, one byte a row.  A table is found by its shape rather than its
 * offset: glyphs 0x00 and 0x20 blank, 0xDB (full block) solid, the three
 * shades 0xB0-0xB2 with ink on every row, and the letters and digits all
 * inked and all different.  That holds for exactly one 8x16, one 8x14 and
 * one 8x8 table in SeaBIOS's ROM; a bare 4096-byte font file works too.
 *
 * Each character cell of the picture must hold at most two colours.  One
 * colour is a blank cell (so a full block reads as a space); with two,
 * each colour's pattern is looked up among the glyphs.  A few glyphs are
 * each other's inverse (0x07/0x08, 0x09/0x0A, the half blocks 0xDC-0xDF):
 * when both colours match, the 9th column of 9-dot modes decides (it is
 * background, except that the line drawing characters 0xC0-0xDF repeat
 * their 8th column), else a bright colour (8-15 of the standard palette,
 * which only text can have while attribute bit 7 means blink) is the ink,
 * else the screen's commonest colour is the background.  Failing that, the
 * pattern is tried again around a cursor (a band of solid rows in the
 * cell's lower half).  Cells that match nothing print as '?'.  Output is
 * UTF-8 (code page 437 mapped as -screen-text does), trailing blanks
 * trimmed; the NBSP glyph 0xFF reads as a blank too.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui/png.h"
#include "ui/screen.h"

#define ROM_MAX (1 << 20)

struct font {
    int height;              /* rows per glyph: 8, 14 or 16 */
    uint8_t glyph[256][32];  /* one byte a row, bit 7 the leftmost pixel */
};

struct shot {
    const uint32_t *px;
    int w, h;
    int cw, ch; /* cell size in pixels */
    int sx;     /* pixels per glyph column: 1, or 2 in doubled 40-column modes */
    uint32_t bg; /* the commonest colour: the screen's background */
};

/* The commonest colour among the first 64 distinct ones (a text screen
 * has at most 16). */
static uint32_t common_colour(const uint32_t *px, size_t n)
{
    uint32_t colour[64];
    size_t count[64] = { 0 }, ncol = 0, best = 0;
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        while (k < ncol && colour[k] != px[i]) {
            k++;
        }
        if (k == ncol && ncol < 64) {
            colour[ncol++] = px[i];
        }
        if (k < ncol && ++count[k] > count[best]) {
            best = k;
        }
    }
    return colour[best];
}

static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        return NULL;
    }
    uint8_t *buf = malloc(ROM_MAX);
    *len = buf ? fread(buf, 1, ROM_MAX, f) : 0;
    fclose(f);
    return buf;
}

static bool glyph_blank(const uint8_t *g, int n)
{
    for (int i = 0; i < n; i++) {
        if (g[i]) {
            return false;
        }
    }
    return true;
}

/* Does a table of n-row glyphs start at `t`?  (See the overview.) */
static bool font_at(const uint8_t *t, int n)
{
    if (!glyph_blank(t, n) || !glyph_blank(t + 0x20 * n, n)) {
        return false;
    }
    for (int i = 0; i < n; i++) {
        if (t[0xDB * n + i] != 0xFF || !t[0xB0 * n + i] || !t[0xB1 * n + i] ||
            !t[0xB2 * n + i]) {
            return false;
        }
    }
    static const char inked[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    for (const char *a = inked; *a; a++) {
        const uint8_t *ga = t + (uint8_t)*a * n;
        if (glyph_blank(ga, n)) {
            return false;
        }
        for (const char *b = a + 1; *b; b++) {
            if (!memcmp(ga, t + (uint8_t)*b * n, (size_t)n)) {
                return false;
            }
        }
    }
    return true;
}

static int load_font(const char *path, int height, struct font *f)
{
    size_t len;
    uint8_t *rom = read_all(path, &len);
    if (!rom) {
        fprintf(stderr, "pngtext: cannot read font '%s'\n", path);
        return -1;
    }
    size_t size = 256 * (size_t)height;
    for (size_t off = 0; off + size <= len; off++) {
        if (font_at(rom + off, height)) {
            f->height = height;
            for (int c = 0; c < 256; c++) {
                memcpy(f->glyph[c], rom + off + (size_t)c * height, (size_t)height);
            }
            free(rom);
            return 0;
        }
    }
    free(rom);
    fprintf(stderr, "pngtext: no 8x%d font table in '%s'\n", height, path);
    return -1;
}

/* Cell size from the picture: 9-dot 80/40/132-column modes, else 8. */
static int infer_cell(struct shot *s)
{
    if (!s->ch) {
        s->ch = s->h % 16 == 0 ? 16 : s->h % 14 == 0 ? 14 : 8;
    }
    if (!s->cw) {
        s->cw = (s->w == 720 || s->w == 360 || s->w == 1188) ? 9 : 8;
    }
    s->sx = s->cw >= 16 ? 2 : 1;
    if (s->cw / s->sx < 8 || s->cw / s->sx > 9 || s->w % s->cw || s->h % s->ch) {
        fprintf(stderr, "pngtext: %dx%d does not divide into %dx%d cells\n", s->w, s->h,
                s->cw, s->ch);
        return -1;
    }
    return 0;
}

/* The glyph matching pat on every row outside [skip0, skip1), or -1. */
static int lookup(const struct font *f, const uint8_t *pat, int rows, int skip0, int skip1)
{
    for (int c = 0; c < 256; c++) {
        int r = 0;
        while (r < rows && (f->glyph[c][r] == pat[r] || (r >= skip0 && r < skip1))) {
            r++;
        }
        if (r == rows) {
            return c;
        }
    }
    return -1;
}

static uint32_t pixel(const struct shot *s, int x, int y)
{
    return s->px[(size_t)y * (size_t)s->w + (size_t)x];
}

/* The row bytes of the pixels equal to `fg` in the cell at (x0, y0). */
static void pattern(const struct shot *s, int x0, int y0, uint32_t fg, uint8_t *pat)
{
    for (int r = 0; r < s->ch; r++) {
        uint8_t bits = 0;
        for (int i = 0; i < 8; i++) {
            if (pixel(s, x0 + i * s->sx, y0 + r) == fg) {
                bits |= (uint8_t)(0x80 >> i);
            }
        }
        pat[r] = bits;
    }
}

/* Does the 9th column fit glyph c on background bg?  It repeats the 8th
 * for the line drawing characters 0xC0-0xDF and is background otherwise. */
static bool ninth_fits(const struct shot *s, int x0, int y0, int c, uint32_t bg)
{
    if (s->cw / s->sx != 9) {
        return true;
    }
    for (int y = y0; y < y0 + s->ch; y++) {
        uint32_t want = (c >= 0xC0 && c <= 0xDF) ? pixel(s, x0 + 7 * s->sx, y) : bg;
        if (pixel(s, x0 + 8 * s->sx, y) != want) {
            return false;
        }
    }
    return true;
}

/*
 * Is c one of the bright colours 8-15 of the standard palette (every
 * component near 0x55 or 0xFF)?  With the attribute's bit 7 meaning blink,
 * as the BIOS sets it, only the text can be bright, never the background.
 */
static bool bright(uint32_t c)
{
    for (int shift = 0; shift < 24; shift += 8) {
        unsigned v = c >> shift & 0xFF;
        if (v < 0x2A || (v >= 0x80 && v < 0xD5)) {
            return false;
        }
    }
    return true;
}

/* The glyph drawn in `ink`, allowing for a cursor: one band of solid rows
 * in the lower half of the cell (SeaBIOS's covers rows 13-14 of 16). */
static int match(const struct shot *s, const struct font *f, int x0, int y0, uint32_t ink,
                 bool cursor)
{
    uint8_t pat[32];
    pattern(s, x0, y0, ink, pat);
    if (!cursor) {
        return lookup(f, pat, s->ch, 0, 0);
    }
    int r1 = s->ch;
    while (r1 > s->ch / 2 && pat[r1 - 1] != 0xFF) {
        r1--;
    }
    int r0 = r1;
    while (r0 > s->ch / 2 && pat[r0 - 1] == 0xFF) {
        r0--;
    }
    return r0 < r1 ? lookup(f, pat, s->ch, r0, r1) : -1;
}

/* The character in the cell at (x0, y0), -1 if unknown, ' ' if blank. */
static int read_cell(const struct shot *s, const struct font *f, int x0, int y0)
{
    uint32_t a = pixel(s, x0, y0), b = a;
    for (int y = y0; y < y0 + s->ch; y++) {
        for (int x = x0; x < x0 + s->cw; x++) {
            uint32_t p = pixel(s, x, y);
            if (p != a && a == b) {
                b = p;
            } else if (p != a && p != b) {
                return -1;
            }
        }
    }
    if (a == b) {
        return ' ';
    }
    for (int cursor = 0; cursor < 2; cursor++) {
        int ca = match(s, f, x0, y0, a, cursor), cb = match(s, f, x0, y0, b, cursor);
        if (ca >= 0 && cb >= 0) {
            /* An inverse pair (bullet and inverse bullet, upper and lower
             * half block): the 9th column decides, else the colour most of
             * the screen has is the background. */
            bool fa = ninth_fits(s, x0, y0, ca, b), fb = ninth_fits(s, x0, y0, cb, a);
            if (fa != fb) {
                return fa ? ca : cb;
            }
            if (bright(a) != bright(b)) {
                return bright(a) ? ca : cb;
            }
            return a == s->bg ? cb : ca;
        }
        if (ca >= 0 || cb >= 0) {
            return ca >= 0 ? ca : cb;
        }
    }
    return -1;
}

static void print_screen(const struct shot *s, const struct font *f)
{
    int cols = s->w / s->cw, rows = s->h / s->ch;
    char *line = malloc((size_t)cols * 3 + 2);
    if (!line) {
        return;
    }
    for (int r = 0; r < rows; r++) {
        size_t n = 0, end = 0;
        for (int c = 0; c < cols; c++) {
            int ch = read_cell(s, f, c * s->cw, r * s->ch);
            uint32_t cp = ch < 0 ? '?' : screen_cp437((uint8_t)ch);
            n += screen_utf8(cp, line + n);
            if (ch != ' ' && ch != 0 && ch != 0x20) {
                end = n;
            }
        }
        line[end] = '\n';
        fwrite(line, 1, end + 1, stdout);
    }
    free(line);
}

static void usage(void)
{
    fprintf(stderr, "usage: pngtext --size SHOT.png\n"
                    "       pngtext --font VGABIOS.bin [--cell WxH] SHOT.png\n");
}

int main(int argc, char **argv)
{
    const char *font_path = NULL, *png_path = NULL;
    bool size_only = false;
    struct shot s = { 0 };
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--size")) {
            size_only = true;
        } else if (!strcmp(argv[i], "--font") && i + 1 < argc) {
            font_path = argv[++i];
        } else if (!strcmp(argv[i], "--cell") && i + 1 < argc) {
            if (sscanf(argv[++i], "%dx%d", &s.cw, &s.ch) != 2 || s.cw <= 0 ||
                (s.ch != 8 && s.ch != 14 && s.ch != 16)) {
                fprintf(stderr, "pngtext: --cell wants WxH with H 8, 14 or 16\n");
                return 2;
            }
        } else if (argv[i][0] != '-' && !png_path) {
            png_path = argv[i];
        } else {
            usage();
            return 2;
        }
    }
    if (!png_path || (!size_only && !font_path)) {
        usage();
        return 2;
    }
    uint32_t *px;
    char err[256];
    if (png_read(png_path, &px, &s.w, &s.h, err, sizeof(err)) < 0) {
        fprintf(stderr, "pngtext: %s: %s\n", png_path, err);
        return 1;
    }
    s.px = px;
    s.bg = common_colour(px, (size_t)s.w * (size_t)s.h);
    int status = 0;
    struct font font;
    if (size_only) {
        printf("%dx%d\n", s.w, s.h);
    } else if (infer_cell(&s) < 0 || load_font(font_path, s.ch, &font) < 0) {
        status = 1;
    } else {
        print_screen(&s, &font);
    }
    free(px);
    return status;
}
