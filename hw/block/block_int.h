/*
 * block_int.h - what the block layer's formats share (not for devices).
 *
 * A format is a struct blk_driver.  block.c opens the host file, takes the
 * write lock, probes the format and hands the descriptor to the driver's
 * open(), which fills bd->size and bd->opaque.  blk_read()/blk_write()
 * check bounds and read-only before calling the driver, so drivers see
 * only in-range requests.  The snapshot overlay is a driver that wraps
 * another open blockdev instead of a file.
 */
#ifndef KASOU_BLOCK_INT_H
#define KASOU_BLOCK_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "block.h"

/* Backing chains longer than this are refused (they are loops in practice). */
#define BLK_MAX_DEPTH 16

struct blk_driver {
    const char *name;
    /* Fill bd->size and bd->opaque; on failure write err[] and return -1. */
    int (*open)(struct blockdev *bd, const struct blk_open_opts *opts, char *err,
                size_t errlen);
    int (*read)(struct blockdev *bd, uint64_t offset, void *buf, size_t len);
    int (*write)(struct blockdev *bd, uint64_t offset, const void *buf, size_t len);
    int (*flush)(struct blockdev *bd);
    void (*close)(struct blockdev *bd);
    /* One line of format details for blk_info() (optional). */
    void (*info)(const struct blockdev *bd, char *buf, size_t len);
};

struct blockdev {
    const struct blk_driver *drv;
    void *opaque;          /* the driver's state */
    int fd;                /* host file, -1 for the overlay */
    char *path;
    const char *format;    /* the format the guest's data is in */
    uint64_t size;         /* bytes the guest sees */
    bool read_only;
    bool probed_raw;       /* raw by probing: sector 0 may not become qcow2 */
    int depth;             /* 0 for the image, n for the n-th backing file */
};

extern const struct blk_driver blk_raw_driver;
extern const struct blk_driver blk_qcow2_driver;
extern const struct blk_driver blk_overlay_driver;

/* Open a backing file read-only (format NULL = probe) at chain depth `depth`. */
struct blockdev *blk_open_backing(const char *path, const char *format, int depth,
                                  char *err, size_t errlen);

/* Whole-buffer pread/pwrite; a read past EOF fills with zeros.  -1 on error. */
int blk_pread_full(int fd, uint64_t offset, void *buf, size_t len);
int blk_pwrite_full(int fd, uint64_t offset, const void *buf, size_t len);
/* Host file size, or -1. */
int64_t blk_file_size(int fd);

static inline uint32_t blk_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t blk_be64(const uint8_t *p)
{
    return (uint64_t)blk_be32(p) << 32 | blk_be32(p + 4);
}

static inline void blk_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void blk_put_be64(uint8_t *p, uint64_t v)
{
    blk_put_be32(p, (uint32_t)(v >> 32));
    blk_put_be32(p + 4, (uint32_t)v);
}

#endif
