/*
 * overlay.c - the -snapshot copy-on-write layer.
 *
 * The image underneath is opened read-only and never written.  Writes go
 * to a sparse temporary file at the same offsets as on the disk, created
 * with mkstemp() in $TMPDIR (default /tmp) and unlinked at once, so it
 * vanishes with the process however it ends.  A bitmap records which
 * 4 KiB chunks the overlay holds; a write that covers a chunk only in part
 * first copies the rest of the chunk from the image.  Reads take each run
 * of chunks from wherever it lives.  Flush has nothing to make durable:
 * the overlay is thrown away on exit by definition.
 */
#include "block_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"

#define OV_CHUNK 4096u

struct overlay {
    struct blockdev *base;
    int fd;
    uint8_t *map;   /* one bit a chunk: set = the overlay holds it */
};

static bool ov_has(const struct overlay *ov, uint64_t chunk)
{
    return ov->map[chunk / 8] >> (chunk % 8) & 1;
}

static void ov_set(struct overlay *ov, uint64_t chunk)
{
    ov->map[chunk / 8] |= (uint8_t)(1u << (chunk % 8));
}

static int ov_open(struct blockdev *bd, const struct blk_open_opts *opts, char *err,
                   size_t errlen)
{
    struct overlay *ov = calloc(1, sizeof(*ov));
    uint64_t chunks = (bd->size + OV_CHUNK - 1) / OV_CHUNK;
    if (!ov || !(ov->map = calloc(chunks / 8 + 1, 1))) {
        snprintf(err, errlen, "'%s': out of memory for the snapshot overlay", bd->path);
        free(ov);
        return -1;
    }
    const char *dir = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof(tmpl), "%s/kasou-snapshot-XXXXXX", dir && *dir ? dir : "/tmp");
    ov->fd = mkstemp(tmpl);
    if (ov->fd < 0) {
        snprintf(err, errlen, "cannot create the snapshot overlay '%s': %s", tmpl,
                 strerror(errno));
        free(ov->map);
        free(ov);
        return -1;
    }
    unlink(tmpl);
    ov->base = bd->opaque;
    bd->opaque = ov;
    return 0;
}

static int ov_read(struct blockdev *bd, uint64_t offset, void *buf, size_t len)
{
    struct overlay *ov = bd->opaque;
    uint8_t *p = buf;
    while (len > 0) {
        uint64_t chunk = offset / OV_CHUNK;
        bool mine = ov_has(ov, chunk);
        uint64_t end = (chunk + 1) * OV_CHUNK;  /* extend the run while the source stays */
        while (end - offset < len && ov_has(ov, end / OV_CHUNK) == mine) {
            end += OV_CHUNK;
        }
        size_t n = end - offset < len ? (size_t)(end - offset) : len;
        int r = mine ? blk_pread_full(ov->fd, offset, p, n) : blk_read(ov->base, offset, p, n);
        if (r < 0) {
            return -1;
        }
        offset += n;
        p += n;
        len -= n;
    }
    return 0;
}

/* Write part of one chunk the overlay does not hold yet: fill it from the image. */
static int ov_fill_chunk(struct blockdev *bd, struct overlay *ov, uint64_t chunk,
                         size_t in, const uint8_t *src, size_t n)
{
    uint8_t tmp[OV_CHUNK];
    uint64_t start = chunk * OV_CHUNK;
    size_t clen = bd->size - start < OV_CHUNK ? (size_t)(bd->size - start) : OV_CHUNK;
    if (blk_read(ov->base, start, tmp, clen) < 0) {
        return -1;
    }
    memcpy(tmp + in, src, n);
    return blk_pwrite_full(ov->fd, start, tmp, clen);
}

static int ov_write(struct blockdev *bd, uint64_t offset, const void *buf, size_t len)
{
    struct overlay *ov = bd->opaque;
    const uint8_t *p = buf;
    while (len > 0) {
        uint64_t chunk = offset / OV_CHUNK;
        uint64_t start = chunk * OV_CHUNK;
        size_t in = (size_t)(offset - start);
        uint64_t cend = bd->size - start < OV_CHUNK ? bd->size : start + OV_CHUNK;
        size_t n = cend - offset < len ? (size_t)(cend - offset) : len;
        bool whole = in == 0 && offset + n == cend;
        int r = whole || ov_has(ov, chunk) ? blk_pwrite_full(ov->fd, offset, p, n)
                                           : ov_fill_chunk(bd, ov, chunk, in, p, n);
        if (r < 0) {
            return -1;
        }
        ov_set(ov, chunk);
        offset += n;
        p += n;
        len -= n;
    }
    return 0;
}

static int ov_flush(struct blockdev *bd)
{
    return 0;
}

static void ov_close(struct blockdev *bd)
{
    struct overlay *ov = bd->opaque;
    close(ov->fd);
    blk_close(ov->base);
    free(ov->map);
    free(ov);
}

static void ov_info(const struct blockdev *bd, char *buf, size_t len)
{
    const struct overlay *ov = bd->opaque;
    char inner[256];
    blk_info(ov->base, inner, sizeof(inner));
    snprintf(buf, len, "snapshot overlay (writes are discarded)%s%s", inner[0] ? "; " : "",
             inner);
}

const struct blk_driver blk_overlay_driver = {
    .name = "overlay",
    .open = ov_open,
    .read = ov_read,
    .write = ov_write,
    .flush = ov_flush,
    .close = ov_close,
    .info = ov_info,
};
