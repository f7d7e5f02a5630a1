/*
 * screen.h - what is on the guest's screen, written to files: a PNG or PPM
 * picture of the display, and a text-mode screen as UTF-8 text (CP437
 * mapped to Unicode), for -screenshot, -screen-text, QMP screendump and
 * guest tests.
 */
#ifndef KASOU_SCREEN_H
#define KASOU_SCREEN_H

#include <stddef.h>
#include <stdint.h>

struct display;

/* The picture as a PNG (8-bit RGB) / binary PPM; -1 with a message. */
int screen_write_png(const struct display *d, const char *path, char *err, size_t errlen);
int screen_write_ppm(const struct display *d, const char *path, char *err, size_t errlen);

/*
 * The text-mode screen as UTF-8, one line a row (each ending in '\n'),
 * trailing blanks (characters 0x00 and 0x20) trimmed.  -1 with a message
 * when the guest is in a graphics mode.
 */
int screen_write_text(const struct display *d, const char *path, char *err, size_t errlen);
/* The same text in a malloc'd string; NULL in a graphics mode. */
char *screen_text(const struct display *d);

/* The Unicode code point code page 437 shows for byte c (0x00 as a space). */
uint32_t screen_cp437(uint8_t c);
/* Append code point cp to buf as UTF-8 (1-4 bytes); returns the length. */
size_t screen_utf8(uint32_t cp, char *buf);

#endif
