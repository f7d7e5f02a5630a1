/*
 * block.c - opening disk images and the checks every format shares (see
 * block.h and block_int.h).
 *
 * blk_open() opens the host file (read-only for read_only and snapshot
 * opens), takes the lock, probes the format from the first bytes and lets
 * the driver parse the image; with `snapshot` the result is wrapped in the
 * copy-on-write overlay.
 *
 * The lock follows QEMU's file-posix scheme so kasou and QEMU see each
 * other: open-file-description (OFD) read locks on byte 100 + p mean "holds
 * permission p" and on byte 200 + p "does not let others hold p", with p = 0
 * for consistent reads and 1 for writes.  Every open holds 100 and 200 + 1
 * (it wants the image not to change under it); a writable open also holds
 * 101.  After locking, an open checks that no other descriptor holds the
 * bytes that conflict with it (101 for everyone, 201 too for a writer).
 * Two opens racing both see the other and both fail, which is the safe way
 * round.  OFD locks belong to the descriptor, so two opens of one file in
 * one process conflict too.
 */
#include "block_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/log.h"

static const uint8_t qcow2_magic[4] = {'Q', 'F', 'I', 0xfb};

int blk_pread_full(int fd, uint64_t offset, void *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(offset + done));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            log_warn("block: read error at %llu: %s", (unsigned long long)(offset + done),
                     strerror(errno));
            return -1;
        }
        if (n == 0) {
            memset((char *)buf + done, 0, len - done);  /* past EOF reads as zeros */
            break;
        }
        done += (size_t)n;
    }
    return 0;
}

int blk_pwrite_full(int fd, uint64_t offset, const void *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = pwrite(fd, (const char *)buf + done, len - done, (off_t)(offset + done));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            log_warn("block: write error at %llu: %s", (unsigned long long)(offset + done),
                     n < 0 ? strerror(errno) : "no progress");
            return -1;
        }
        done += (size_t)n;
    }
    return 0;
}

int64_t blk_file_size(int fd)
{
    off_t end = lseek(fd, 0, SEEK_END);
    return end < 0 ? -1 : (int64_t)end;
}

#ifdef F_OFD_SETLK
enum { LOCK_PERM_BASE = 100, LOCK_SHARED_BASE = 200, PERM_READ = 0, PERM_WRITE = 1 };

static int lock_byte(int fd, int cmd, short type, off_t byte, struct flock *fl)
{
    memset(fl, 0, sizeof(*fl));
    fl->l_type = type;
    fl->l_whence = SEEK_SET;
    fl->l_start = byte;
    fl->l_len = 1;
    return fcntl(fd, cmd, fl);
}

/* 1 if another descriptor holds a lock on `byte`. */
static int lock_held_elsewhere(int fd, off_t byte)
{
    struct flock fl;
    if (lock_byte(fd, F_OFD_GETLK, F_WRLCK, byte, &fl) < 0) {
        return 0;
    }
    return fl.l_type != F_UNLCK;
}

static int blk_lock(int fd, bool writable, const char *path, char *err, size_t errlen)
{
    off_t mine[3] = {LOCK_PERM_BASE + PERM_READ, LOCK_SHARED_BASE + PERM_WRITE,
                     LOCK_PERM_BASE + PERM_WRITE};
    int nmine = writable ? 3 : 2;
    struct flock fl;
    for (int i = 0; i < nmine; i++) {
        if (lock_byte(fd, F_OFD_SETLK, F_RDLCK, mine[i], &fl) < 0) {
            if (errno == EAGAIN || errno == EACCES) {
                snprintf(err, errlen, "'%s': image is in use by another process", path);
                return -1;
            }
            /* A file system without locks: go on unlocked, as QEMU does. */
            log_once("block: cannot lock '%s' (%s); not protected against a second writer",
                     path, strerror(errno));
            return 0;
        }
    }
    bool conflict = lock_held_elsewhere(fd, LOCK_PERM_BASE + PERM_WRITE) ||
                    (writable && lock_held_elsewhere(fd, LOCK_SHARED_BASE + PERM_WRITE));
    if (conflict) {
        snprintf(err, errlen, "'%s': image is in use by another process%s", path,
                 writable ? "" : " that writes to it");
        return -1;
    }
    return 0;
}
#else
static int blk_lock(int fd, bool writable, const char *path, char *err, size_t errlen)
{
    return 0;  /* no OFD locks on this host */
}
#endif

static const struct blk_driver *driver_by_name(const char *name)
{
    if (strcmp(name, "raw") == 0) {
        return &blk_raw_driver;
    }
    if (strcmp(name, "qcow2") == 0) {
        return &blk_qcow2_driver;
    }
    return NULL;
}

/* Open the host file, lock it and pick the driver; NULL with err[] on failure. */
static struct blockdev *open_file(const char *path, const char *format, bool ro, char *err,
                                  size_t errlen)
{
    const struct blk_driver *drv = format ? driver_by_name(format) : NULL;
    if (format && !drv) {
        snprintf(err, errlen, "'%s': unsupported image format '%s' (raw, qcow2)", path, format);
        return NULL;
    }
    int fd = open(path, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open disk image '%s': %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))) {
        snprintf(err, errlen, "disk image '%s' is not a regular file", path);
        close(fd);
        return NULL;
    }
    uint8_t magic[4];
    if (blk_lock(fd, !ro, path, err, errlen) < 0 ||
        blk_pread_full(fd, 0, magic, sizeof(magic)) < 0) {
        if (!err[0]) {
            snprintf(err, errlen, "cannot read disk image '%s'", path);
        }
        close(fd);
        return NULL;
    }
    bool is_qcow2 = memcmp(magic, qcow2_magic, 4) == 0;
    if (drv == &blk_qcow2_driver && !is_qcow2) {
        snprintf(err, errlen, "'%s' is not a qcow2 image (no qcow2 magic) but format=qcow2 "
                 "was given", path);
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
    bd->drv = drv ? drv : is_qcow2 ? &blk_qcow2_driver : &blk_raw_driver;
    bd->probed_raw = !drv && !is_qcow2;
    bd->format = bd->drv->name;
    bd->fd = fd;
    bd->read_only = ro;
    return bd;
}

static void free_bd(struct blockdev *bd)
{
    if (bd->fd >= 0) {
        close(bd->fd);  /* drops the locks */
    }
    free(bd->path);
    free(bd);
}

static struct blockdev *open_image(const char *path, const struct blk_open_opts *opts, int depth,
                                   char *err, size_t errlen)
{
    if (errlen) {
        err[0] = 0;
    }
    bool ro = opts->read_only || opts->snapshot;
    struct blockdev *bd = open_file(path, opts->format, ro, err, errlen);
    if (!bd) {
        return NULL;
    }
    bd->depth = depth;
    struct blk_open_opts o = *opts;
    o.read_only = ro;
    if (bd->drv->open(bd, &o, err, errlen) < 0) {
        free_bd(bd);
        return NULL;
    }
    if (!opts->snapshot) {
        return bd;
    }
    /* The overlay takes writes unless the user asked for read-only too. */
    struct blockdev *top = calloc(1, sizeof(*top));
    if (!top || !(top->path = strdup(path))) {
        snprintf(err, errlen, "out of memory");
        free(top);
        blk_close(bd);
        return NULL;
    }
    top->drv = &blk_overlay_driver;
    top->opaque = bd;
    top->fd = -1;
    top->format = bd->format;
    top->size = bd->size;
    top->read_only = opts->read_only;
    if (top->drv->open(top, opts, err, errlen) < 0) {
        free_bd(top);
        blk_close(bd);
        return NULL;
    }
    return top;
}

struct blockdev *blk_open(const char *path, const struct blk_open_opts *opts, char *err,
                          size_t errlen)
{
    return open_image(path, opts, 0, err, errlen);
}

struct blockdev *blk_open_backing(const char *path, const char *format, int depth, char *err,
                                  size_t errlen)
{
    if (depth > BLK_MAX_DEPTH) {
        snprintf(err, errlen, "backing file chain deeper than %d (a loop?) at '%s'",
                 BLK_MAX_DEPTH, path);
        return NULL;
    }
    struct blk_open_opts o = {.format = format, .read_only = true};
    return open_image(path, &o, depth, err, errlen);
}

void blk_close(struct blockdev *bd)
{
    if (bd) {
        bd->drv->close(bd);
        free_bd(bd);
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
    return bd->format;
}

void blk_info(const struct blockdev *bd, char *buf, size_t len)
{
    if (len) {
        buf[0] = 0;
    }
    if (bd->drv->info) {
        bd->drv->info(bd, buf, len);
    }
}

int blk_read(struct blockdev *bd, uint64_t offset, void *buf, size_t len)
{
    if (offset > bd->size || len > bd->size - offset) {
        return -1;
    }
    return len ? bd->drv->read(bd, offset, buf, len) : 0;
}

/* Would this write give sector 0 of a probed raw image the qcow2 magic? */
static bool writes_magic(struct blockdev *bd, uint64_t offset, const void *buf, size_t len)
{
    if (!bd->probed_raw || offset >= 4) {
        return false;
    }
    uint8_t head[4];
    if (blk_read(bd, 0, head, sizeof(head)) < 0) {
        return true;
    }
    size_t n = len < 4 - offset ? len : 4 - (size_t)offset;
    memcpy(head + offset, buf, n);
    return memcmp(head, qcow2_magic, 4) == 0;
}

int blk_write(struct blockdev *bd, uint64_t offset, const void *buf, size_t len)
{
    if (bd->read_only || offset > bd->size || len > bd->size - offset) {
        return -1;
    }
    if (writes_magic(bd, offset, buf, len)) {
        log_once("%s: refused a write of the qcow2 magic to sector 0 of a probed raw image "
                 "(give format=raw to allow it)", bd->path);
        return -1;
    }
    return len ? bd->drv->write(bd, offset, buf, len) : 0;
}

int blk_flush(struct blockdev *bd)
{
    return bd->read_only ? 0 : bd->drv->flush(bd);
}
