/*
 * block.c - open disk images (see block.h).  Raw images only for now:
 * reads and writes go straight to the file with pread/pwrite.
 */
#include "block.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/log.h"

struct blockdev {
    int fd;
    uint64_t size;
    bool read_only;
    char *path;
};

struct blockdev *blk_open(const char *path, const struct blk_open_opts *opts, char *err,
                          size_t errlen)
{
    if (opts->format && strcmp(opts->format, "raw") != 0) {
        snprintf(err, errlen, "'%s': unsupported image format '%s'", path, opts->format);
        return NULL;
    }
    bool ro = opts->read_only || opts->snapshot;
    int fd = open(path, ro ? O_RDONLY : O_RDWR);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open disk image '%s': %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "disk image '%s' is not a regular file", path);
        close(fd);
        return NULL;
    }
    struct blockdev *bd = calloc(1, sizeof(*bd));
    if (!bd || !(bd->path = strdup(path))) {
        snprintf(err, errlen, "out of memory");
        free(bd);
        close(fd);
        return NULL;
    }
    bd->fd = fd;
    bd->size = (uint64_t)st.st_size;
    bd->read_only = opts->read_only;
    return bd;
}

void blk_close(struct blockdev *bd)
{
    if (bd) {
        close(bd->fd);
        free(bd->path);
        free(bd);
    }
}

uint64_t blk_size(const struct blockdev *bd)
{
    return bd->size;
}

bool blk_read_only(const struct blockdev *bd)
{
    return bd->read_only;
}

const char *blk_path(const struct blockdev *bd)
{
    return bd->path;
}

const char *blk_format(const struct blockdev *bd)
{
    return "raw";
}

int blk_read(struct blockdev *bd, uint64_t offset, void *buf, size_t len)
{
    if (offset > bd->size || len > bd->size - offset) {
        return -1;
    }
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(bd->fd, (char *)buf + done, len - done, (off_t)(offset + done));
        if (n <= 0) {
            if (n < 0 && errno == EINTR) {
                continue;
            }
            log_warn("%s: read error at %llu", bd->path, (unsigned long long)(offset + done));
            return -1;
        }
        done += (size_t)n;
    }
    return 0;
}

int blk_write(struct blockdev *bd, uint64_t offset, const void *buf, size_t len)
{
    if (bd->read_only || offset > bd->size || len > bd->size - offset) {
        return -1;
    }
    size_t done = 0;
    while (done < len) {
        ssize_t n = pwrite(bd->fd, (const char *)buf + done, len - done, (off_t)(offset + done));
        if (n <= 0) {
            if (n < 0 && errno == EINTR) {
                continue;
            }
            log_warn("%s: write error at %llu", bd->path, (unsigned long long)(offset + done));
            return -1;
        }
        done += (size_t)n;
    }
    return 0;
}

int blk_flush(struct blockdev *bd)
{
    return bd->read_only ? 0 : fdatasync(bd->fd);
}
