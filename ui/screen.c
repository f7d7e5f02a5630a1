/*
 * screen.c - the display written to files: pictures (PNG, PPM) and the
 * text of a text-mode screen (see screen.h).
 *
 * The text comes from the display's cells, not from the pixels: each cell's
 * character byte is shown the way the VGA's ROM font draws it, code page
 * 437, so the dump is mapped to the Unicode characters that look the same:
 * the C0 range as IBM's graphic symbols (0x01 is U+263A), 0x7F as U+2302,
 * the upper half as accented letters, box drawing, blocks and maths.
 * 0x00 (what cleared video memory holds) is written as a space like 0x20,
 * so both are trimmed at the end of a row.
 */
#include "ui/screen.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui/display.h"
#include "ui/png.h"
#include "util/log.h"

/* Code page 437 for 0x00-0x1F (0x00 blank, then IBM's graphic symbols). */
static const uint16_t cp437_low[32] = {
    0x0020, 0x263A, 0x263B, 0x2665, 0x2666, 0x2663, 0x2660, 0x2022,
    0x25D8, 0x25CB, 0x25D9, 0x2642, 0x2640, 0x266A, 0x266B, 0x263C,
    0x25BA, 0x25C4, 0x2195, 0x203C, 0x00B6, 0x00A7, 0x25AC, 0x21A8,
    0x2191, 0x2193, 0x2192, 0x2190, 0x221F, 0x2194, 0x25B2, 0x25BC,
};

/* Code page 437 for 0x80-0xFF. */
static const uint16_t cp437_high[128] = {
    /* 0x80: accented letters */
    0x00C7, 0x00FC, 0x00E9, 0x00E2, 0x00E4, 0x00E0, 0x00E5, 0x00E7,
    0x00EA, 0x00EB, 0x00E8, 0x00EF, 0x00EE, 0x00EC, 0x00C4, 0x00C5,
    0x00C9, 0x00E6, 0x00C6, 0x00F4, 0x00F6, 0x00F2, 0x00FB, 0x00F9,
    0x00FF, 0x00D6, 0x00DC, 0x00A2, 0x00A3, 0x00A5, 0x20A7, 0x0192,
    /* 0xA0 */
    0x00E1, 0x00ED, 0x00F3, 0x00FA, 0x00F1, 0x00D1, 0x00AA, 0x00BA,
    0x00BF, 0x2310, 0x00AC, 0x00BD, 0x00BC, 0x00A1, 0x00AB, 0x00BB,
    /* 0xB0: shades and box drawing */
    0x2591, 0x2592, 0x2593, 0x2502, 0x2524, 0x2561, 0x2562, 0x2556,
    0x2555, 0x2563, 0x2551, 0x2557, 0x255D, 0x255C, 0x255B, 0x2510,
    0x2514, 0x2534, 0x252C, 0x251C, 0x2500, 0x253C, 0x255E, 0x255F,
    0x255A, 0x2554, 0x2569, 0x2566, 0x2560, 0x2550, 0x256C, 0x2567,
    0x2568, 0x2564, 0x2565, 0x2559, 0x2558, 0x2552, 0x2553, 0x256B,
    0x256A, 0x2518, 0x250C, 0x2588, 0x2584, 0x258C, 0x2590, 0x2580,
    /* 0xE0: Greek and maths */
    0x03B1, 0x00DF, 0x0393, 0x03C0, 0x03A3, 0x03C3, 0x00B5, 0x03C4,
    0x03A6, 0x0398, 0x03A9, 0x03B4, 0x221E, 0x03C6, 0x03B5, 0x2229,
    0x2261, 0x00B1, 0x2265, 0x2264, 0x2320, 0x2321, 0x00F7, 0x2248,
    0x00B0, 0x2219, 0x00B7, 0x221A, 0x207F, 0x00B2, 0x25A0, 0x00A0,
};

uint32_t screen_cp437(uint8_t c)
{
    if (c < 0x20) {
        return cp437_low[c];
    }
    if (c == 0x7f) {
        return 0x2302;
    }
    if (c >= 0x80) {
        return cp437_high[c - 0x80];
    }
    return c;
}

size_t screen_utf8(uint32_t cp, char *buf)
{
    if (cp < 0x80) {
        buf[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        buf[0] = (char)(0xC0 | cp >> 6);
        buf[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        buf[0] = (char)(0xE0 | cp >> 12);
        buf[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        buf[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    buf[0] = (char)(0xF0 | cp >> 18);
    buf[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    buf[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    buf[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}


static int check_picture(const struct display *d, char *err, size_t errlen)
{
    if (!d->pixels || d->width <= 0 || d->height <= 0) {
        return errmsg(err, errlen, "the guest has not drawn a screen yet");
    }
    return 0;
}

int screen_write_png(const struct display *d, const char *path, char *err, size_t errlen)
{
    if (check_picture(d, err, errlen) < 0) {
        return -1;
    }
    return png_write(path, d->pixels, d->width, d->height, d->width, err, errlen);
}

int screen_write_ppm(const struct display *d, const char *path, char *err, size_t errlen)
{
    if (check_picture(d, err, errlen) < 0) {
        return -1;
    }
    return png_write_ppm(path, d->pixels, d->width, d->height, d->width, err, errlen);
}

static bool blank_cell(uint16_t cell)
{
    uint8_t c = (uint8_t)cell;
    return c == 0x00 || c == 0x20;
}

char *screen_text(const struct display *d)
{
    int cols = d->text_cols, rows = d->text_rows;
    if (cols <= 0 || rows <= 0 || (size_t)cols * (size_t)rows > DISPLAY_TEXT_MAX) {
        return NULL;
    }
    /* At most 3 UTF-8 bytes a cell (every CP437 code point is in the BMP). */
    char *out = malloc((size_t)rows * ((size_t)cols * 3 + 1) + 1);
    if (!out) {
        return NULL;
    }
    char *p = out;
    for (int y = 0; y < rows; y++) {
        const uint16_t *row = d->text + (size_t)y * (size_t)cols;
        int end = cols;
        while (end > 0 && blank_cell(row[end - 1])) {
            end--;
        }
        for (int x = 0; x < end; x++) {
            p += screen_utf8(screen_cp437((uint8_t)row[x]), p);
        }
        *p++ = '\n';
    }
    *p = 0;
    return out;
}

int screen_write_text(const struct display *d, const char *path, char *err, size_t errlen)
{
    if (d->text_cols <= 0 || d->text_rows <= 0) {
        return errmsg(err, errlen,
                    "the guest is in a graphics mode (%dx%d pixels), not a text mode",
                    d->width, d->height);
    }
    char *text = screen_text(d);
    if (!text) {
        return errmsg(err, errlen, "out of memory");
    }
    FILE *f = fopen(path, "w");
    if (!f) {
        int e = errno;
        free(text);
        return errmsg(err, errlen, "cannot create '%s': %s", path, strerror(e));
    }
    size_t n = strlen(text);
    bool ok = fwrite(text, 1, n, f) == n;
    int e = errno;
    if (fclose(f) != 0 && ok) {
        ok = false;
        e = errno;
    }
    free(text);
    if (!ok) {
        return errmsg(err, errlen, "cannot write '%s': %s", path, strerror(e));
    }
    return 0;
}
