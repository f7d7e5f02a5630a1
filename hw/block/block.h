/*
 * block.h - disk images behind one interface.
 *
 * A struct blockdev is an open image: its guest-visible size in bytes and
 * read/write/flush at byte offsets (devices use whole 512-byte sectors, but
 * the interface does not require it).  The format (raw, qcow2) is probed
 * from the file's contents unless given.  With `snapshot`, writes go to a
 * copy-on-write overlay in memory/a temporary file and the image file is
 * never written.  blk_flush() makes every completed write durable in the
 * host file (fdatasync), which is what a guest's FLUSH CACHE asks for.
 *
 * All functions return 0 on success and -1 on an I/O error (errno-style
 * detail goes to the log); a device turns -1 into the error its guest
 * interface reports (an ATA ABRT/UNC, a floppy controller status).
 *
 * Formats: "raw" (the file is the disk; a size that is not a multiple of
 * 512 is rounded up and the tail reads as zeros, as QEMU does) and "qcow2"
 * (versions 2 and 3, zlib-compressed clusters, backing files, internal
 * snapshots left intact).  An explicit format=qcow2 on a file without the
 * qcow2 magic is refused; format=raw on a qcow2 file shows its bytes raw.
 * A probed raw image refuses guest writes that would give sector 0 the
 * qcow2 magic, so the next probe cannot turn guest data into a qcow2
 * header naming a host file as its backing file.
 *
 * Locking: a writable open takes QEMU's OFD byte-range locks for "write",
 * any open refuses others' writers, so a second writer (kasou or QEMU) is
 * refused with "image is in use by another process".
 */
#ifndef KASOU_BLOCK_H
#define KASOU_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct blockdev;

struct blk_open_opts {
    const char *format;  /* "raw", "qcow2", or NULL to probe */
    bool read_only;      /* opened read-only; writes fail */
    bool snapshot;       /* writes go to a temporary overlay */
};

/* Open `path`; NULL with a message in err[] (missing, corrupt, unsupported). */
struct blockdev *blk_open(const char *path, const struct blk_open_opts *opts, char *err,
                          size_t errlen);
void blk_close(struct blockdev *bd);

uint64_t blk_size(const struct blockdev *bd);       /* bytes the guest sees */
bool blk_read_only(const struct blockdev *bd);      /* writes are refused */
const char *blk_path(const struct blockdev *bd);
const char *blk_format(const struct blockdev *bd);  /* "raw", "qcow2" */

int blk_read(struct blockdev *bd, uint64_t offset, void *buf, size_t len);
int blk_write(struct blockdev *bd, uint64_t offset, const void *buf, size_t len);
int blk_flush(struct blockdev *bd);

/* One line describing the format's details (version, cluster size, backing). */
void blk_info(const struct blockdev *bd, char *buf, size_t len);

#endif
