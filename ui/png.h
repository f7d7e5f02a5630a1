/*
 * png.h - PNG (8-bit RGB) and PPM images of a pixel buffer.
 *
 * Pixels are 32-bit 0x00RRGGBB, as in ui/display.h, `stride` pixels from
 * one row to the next.  The encoder writes 8-bit truecolour PNGs (colour
 * type 2, no interlace) with a per-row adaptive filter and zlib's deflate;
 * the decoder reads what screenshots are made of (8-bit colour types 2 and
 * 6, no interlace), checking every chunk's CRC, so tests can read back what
 * kasou or another emulator wrote.  PPM (binary P6) is QMP screendump's
 * default format.
 */
#ifndef KASOU_PNG_H
#define KASOU_PNG_H

#include <stddef.h>
#include <stdint.h>

/* The largest image the decoder accepts, per side. */
#define PNG_MAX_SIDE 16384

/*
 * Encode w x h pixels as a PNG file image in *out (malloc'd, *outlen
 * bytes).  Returns 0, or -1 on a bad size or out of memory.
 */
int png_encode(const uint32_t *pixels, int w, int h, int stride, uint8_t **out,
               size_t *outlen);
/* Encode and write to `path`; on failure -1 with a message in err. */
int png_write(const char *path, const uint32_t *pixels, int w, int h, int stride,
              char *err, size_t errlen);
/* Write a binary PPM (P6, maxval 255) to `path`; -1 with a message. */
int png_write_ppm(const char *path, const uint32_t *pixels, int w, int h, int stride,
                  char *err, size_t errlen);

/*
 * Decode a PNG file image into *pixels (malloc'd, w * h, 0x00RRGGBB; an
 * alpha channel is dropped).  Returns 0, or -1 with the reason in err
 * (bad signature or CRC, truncated data, unsupported format ...).
 */
int png_decode(const uint8_t *data, size_t len, uint32_t **pixels, int *w, int *h,
               char *err, size_t errlen);
/* Read and decode the file at `path`. */
int png_read(const char *path, uint32_t **pixels, int *w, int *h, char *err,
             size_t errlen);

#endif
