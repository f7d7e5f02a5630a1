/*
 * raw.c - the raw format: the file's bytes are the disk's bytes.
 *
 * The guest sees the file size rounded up to whole 512-byte sectors, as
 * QEMU does; the missing tail reads as zeros and a write there extends the
 * file.  Flush is fdatasync(), which is what a guest's FLUSH CACHE needs.
 */
#include "block_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"

static int raw_open(struct blockdev *bd, const struct blk_open_opts *opts, char *err,
                    size_t errlen)
{
    int64_t size = blk_file_size(bd->fd);
    if (size < 0) {
        snprintf(err, errlen, "'%s': cannot find the image size: %s", bd->path,
                 strerror(errno));
        return -1;
    }
    bd->size = ((uint64_t)size + 511) & ~(uint64_t)511;
    return 0;
}

static int raw_read(struct blockdev *bd, uint64_t offset, void *buf, size_t len)
{
    return blk_pread_full(bd->fd, offset, buf, len);
}

static int raw_write(struct blockdev *bd, uint64_t offset, const void *buf, size_t len)
{
    return blk_pwrite_full(bd->fd, offset, buf, len);
}

static int raw_flush(struct blockdev *bd)
{
    if (fdatasync(bd->fd) < 0) {
        log_warn("%s: flush failed: %s", bd->path, strerror(errno));
        return -1;
    }
    return 0;
}

static void raw_close(struct blockdev *bd)
{
}

const struct blk_driver blk_raw_driver = {
    .name = "raw",
    .open = raw_open,
    .read = raw_read,
    .write = raw_write,
    .flush = raw_flush,
    .close = raw_close,
};
