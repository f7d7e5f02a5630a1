/*
 * Screen dumps (ui/screen.c): text-mode cells as UTF-8 through code page
 * 437, pictures as PNG; and the key maps (ui/keymap.c) against the scan
 * code set 2 codes hw/i8042.h takes.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hw/i8042.h"
#include "ui/display.h"
#include "ui/keymap.h"
#include "ui/png.h"
#include "ui/screen.h"

static struct display *text_display(int cols, int rows)
{
    struct display *d = display_new();
    cr_assert_not_null(d);
    cr_assert_eq(display_resize(d, cols * 9, rows * 16), 0);
    d->text_cols = cols;
    d->text_rows = rows;
    for (int i = 0; i < cols * rows; i++) {
        d->text[i] = 0x0720; /* grey on black blank, as the BIOS clears */
    }
    return d;
}

static void put_text(struct display *d, int x, int y, const uint8_t *s, size_t n, int attr)
{
    for (size_t i = 0; i < n; i++) {
        d->text[y * d->text_cols + x + (int)i] = (uint16_t)(s[i] | attr << 8);
    }
}

static char *temp_path(void)
{
    char *path = strdup("/tmp/kasou-test-screen-XXXXXX");
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    return path;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    char *buf = calloc(1, 65536);
    size_t n = fread(buf, 1, 65535, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

Test(screen, cp437_samples_in_utf8)
{
    struct display *d = text_display(80, 25);
    static const uint8_t box[] = { 0xC9, 0xCD, 0xCD, 0xBB };
    static const uint8_t misc[] = { 0x01, ' ', 0xB0, ' ', 0xE1, 'x' };
    put_text(d, 0, 0, box, sizeof(box), 0x1F);
    put_text(d, 2, 1, misc, sizeof(misc), 0x4E);
    char *t = screen_text(d);
    cr_assert_not_null(t);
    /* U+2554 U+2550 U+2550 U+2557, then "  U+263A U+2591 U+00DF x" */
    static const char expect[] = "\xE2\x95\x94\xE2\x95\x90\xE2\x95\x90\xE2\x95\x97\n"
                                 "  \xE2\x98\xBA \xE2\x96\x91 \xC3\x9Fx\n";
    cr_assert_eq(strncmp(t, expect, strlen(expect)), 0, "got:\n%s", t);
    free(t);
    display_free(d);
}

Test(screen, rows_trimmed_and_all_present)
{
    struct display *d = text_display(40, 3);
    static const uint8_t mid[] = { 'A', 0x00, 'B', ' ', 0x00, ' ' };
    put_text(d, 1, 0, mid, sizeof(mid), 0x07);
    for (int i = 0; i < 40; i++) {
        d->text[40 + i] = 0; /* row 1: cleared memory */
    }
    d->text[2 * 40 + 39] = 0x07FF; /* row 2: NBSP in the last column is kept */
    char *t = screen_text(d);
    char expect[64] = " A B\n\n";
    memset(expect + 6, ' ', 39);
    strcpy(expect + 45, "\xC2\xA0\n");
    cr_assert_str_eq(t, expect);
    free(t);
    display_free(d);
}

Test(screen, write_text_file)
{
    struct display *d = text_display(80, 25);
    static const uint8_t hello[] = "SeaBIOS (version 1.16)";
    put_text(d, 0, 0, hello, sizeof(hello) - 1, 0x07);
    char *path = temp_path();
    char err[160];
    cr_assert_eq(screen_write_text(d, path, err, sizeof(err)), 0, "%s", err);
    char *t = slurp(path);
    cr_assert_eq(strncmp(t, "SeaBIOS (version 1.16)\n\n", 24), 0);
    int lines = 0;
    for (char *p = t; *p; p++) {
        lines += *p == '\n';
    }
    cr_assert_eq(lines, 25);
    free(t);
    unlink(path);
    free(path);
    display_free(d);
}

Test(screen, graphics_mode_has_no_text)
{
    struct display *d = display_new();
    cr_assert_eq(display_resize(d, 640, 480), 0);
    char err[160] = "";
    cr_assert_eq(screen_write_text(d, "/tmp/kasou-never-written.txt", err, sizeof(err)), -1);
    cr_assert_not_null(strstr(err, "graphics mode"), "%s", err);
    cr_assert_not_null(strstr(err, "640x480"), "%s", err);
    cr_assert_eq(access("/tmp/kasou-never-written.txt", F_OK), -1);
    cr_assert_null(screen_text(d));
    display_free(d);
}

Test(screen, png_of_the_display)
{
    struct display *d = display_new();
    cr_assert_eq(display_resize(d, 16, 8), 0);
    for (int i = 0; i < 16 * 8; i++) {
        d->pixels[i] = (uint32_t)i * 0x010203u;
    }
    char *path = temp_path();
    char err[160];
    cr_assert_eq(screen_write_png(d, path, err, sizeof(err)), 0, "%s", err);
    uint32_t *px;
    int w, h;
    cr_assert_eq(png_read(path, &px, &w, &h, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(w, 16);
    cr_assert_eq(h, 8);
    cr_assert_eq(memcmp(px, d->pixels, 16 * 8 * 4), 0);
    free(px);
    cr_assert_eq(screen_write_ppm(d, path, err, sizeof(err)), 0, "%s", err);
    char *ppm = slurp(path);
    cr_assert_eq(strncmp(ppm, "P6\n16 8\n255\n", 12), 0);
    free(ppm);
    unlink(path);
    free(path);
    display_free(d);
}

Test(screen, nothing_drawn_yet)
{
    struct display *d = display_new();
    char err[160] = "";
    cr_assert_eq(screen_write_png(d, "/tmp/kasou-never-written.png", err, sizeof(err)), -1);
    cr_assert_neq(err[0], 0);
    cr_assert_eq(access("/tmp/kasou-never-written.png", F_OK), -1);
    display_free(d);
}

Test(screen, cp437_table)
{
    cr_assert_eq(screen_cp437(0x00), ' ');
    cr_assert_eq(screen_cp437('A'), 'A');
    cr_assert_eq(screen_cp437(0x7F), 0x2302);  /* house */
    cr_assert_eq(screen_cp437(0x80), 0x00C7);  /* C cedilla */
    cr_assert_eq(screen_cp437(0x9E), 0x20A7);  /* peseta */
    cr_assert_eq(screen_cp437(0xB3), 0x2502);  /* light vertical */
    cr_assert_eq(screen_cp437(0xDB), 0x2588);  /* full block */
    cr_assert_eq(screen_cp437(0xE6), 0x00B5);  /* micro */
    cr_assert_eq(screen_cp437(0xFE), 0x25A0);  /* black square */
    cr_assert_eq(screen_cp437(0xFF), 0x00A0);  /* no-break space */
    /* Only 0x00 and 0x20 share a code point; nothing else collides. */
    for (int a = 1; a < 256; a++) {
        for (int b = a + 1; b < 256; b++) {
            cr_assert_neq(screen_cp437((uint8_t)a), screen_cp437((uint8_t)b),
                          "0x%02x and 0x%02x", a, b);
        }
    }
    char buf[4];
    cr_assert_eq(screen_utf8(0x1F600, buf), 4);
    cr_assert_eq(memcmp(buf, "\xF0\x9F\x98\x80", 4), 0);
}

Test(keymap, sdl_scancodes)
{
    /* SDL_SCANCODE_A, _RETURN, _ESCAPE, _F1, _F7, _LCTRL, _RCTRL, _UP,
     * _KP_ENTER, _PAUSE, _PRINTSCREEN, _NONUSBACKSLASH, _AUDIOMUTE */
    cr_assert_eq(keymap_sdl(4), 0x1C);
    cr_assert_eq(keymap_sdl(40), 0x5A);
    cr_assert_eq(keymap_sdl(41), 0x76);
    cr_assert_eq(keymap_sdl(58), 0x05);
    cr_assert_eq(keymap_sdl(64), 0x83);
    cr_assert_eq(keymap_sdl(224), 0x14);
    cr_assert_eq(keymap_sdl(228), I8042_E0 | 0x14);
    cr_assert_eq(keymap_sdl(82), I8042_E0 | 0x75);
    cr_assert_eq(keymap_sdl(88), I8042_E0 | 0x5A);
    cr_assert_eq(keymap_sdl(72), I8042_KEY_PAUSE);
    cr_assert_eq(keymap_sdl(70), I8042_KEY_PRTSC);
    cr_assert_eq(keymap_sdl(100), 0x61);
    cr_assert_eq(keymap_sdl(127), I8042_E0 | 0x23);
    cr_assert_eq(keymap_sdl(0), -1);   /* SDL_SCANCODE_UNKNOWN */
    cr_assert_eq(keymap_sdl(1000), -1);
}

Test(keymap, scancodes_distinct_and_in_range)
{
    /* A..Z, digits, the main block, F keys, cursor and keypad keys:
     * every one a code of its own (HID 0x32, ISO #, shares backslash's). */
    int seen[0x300] = { 0 };
    for (int sc = 4; sc <= 0x65; sc++) {
        int code = keymap_sdl(sc);
        cr_assert_neq(code, -1, "HID usage 0x%02x unmapped", sc);
        int base = code & 0xFF;
        cr_assert(code == I8042_KEY_PAUSE || (base >= 0x01 && base <= 0x84),
                  "0x%x for usage 0x%02x", code, sc);
        if (sc != 0x32) {
            cr_assert_eq(seen[code], 0, "usages 0x%02x and 0x%02x share 0x%x", seen[code], sc,
                         code);
            seen[code] = sc;
        }
    }
}

Test(keymap, qcodes)
{
    cr_assert_eq(keymap_qcode("a"), 0x1C);
    cr_assert_eq(keymap_qcode("ret"), 0x5A);
    cr_assert_eq(keymap_qcode("spc"), 0x29);
    cr_assert_eq(keymap_qcode("esc"), 0x76);
    cr_assert_eq(keymap_qcode("ctrl"), 0x14);
    cr_assert_eq(keymap_qcode("ctrl_r"), I8042_E0 | 0x14);
    cr_assert_eq(keymap_qcode("alt"), 0x11);
    cr_assert_eq(keymap_qcode("delete"), I8042_E0 | 0x71);
    cr_assert_eq(keymap_qcode("kp_enter"), I8042_E0 | 0x5A);
    cr_assert_eq(keymap_qcode("kp_divide"), I8042_E0 | 0x4A);
    cr_assert_eq(keymap_qcode("f10"), 0x09);
    cr_assert_eq(keymap_qcode("f12"), 0x07);
    cr_assert_eq(keymap_qcode("1"), 0x16);
    cr_assert_eq(keymap_qcode("print"), I8042_KEY_PRTSC);
    cr_assert_eq(keymap_qcode("pause"), I8042_KEY_PAUSE);
    cr_assert_eq(keymap_qcode("meta_l"), I8042_E0 | 0x1F);
    cr_assert_eq(keymap_qcode("nonsense"), -1);
    cr_assert_eq(keymap_qcode(""), -1);
    cr_assert_eq(keymap_qcode(NULL), -1);
}
