/*
 * chardev.h - character backends that devices write bytes to.
 *
 * A chardev is created from the command line (-chardev BACKEND,id=ID,...)
 * and looked up by id when a device names it (chardev=ID).  The backends
 * are output-only for now: stdio (the host's standard output), file (a host
 * file, truncated unless append=on, as QEMU does) and null (discards).
 * Output is buffered; stdio flushes at each newline and whenever the owner
 * calls chardev_flush(), so partial lines still show up promptly.
 */
#ifndef KASOU_CHARDEV_H
#define KASOU_CHARDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum chardev_backend { CHARDEV_NULL, CHARDEV_STDIO, CHARDEV_FILE };

struct chardev {
    char id[32];
    enum chardev_backend backend;
    FILE *f;     /* stdout, an opened file, or NULL for null */
    bool failed; /* a host write failed: reported once */
};

/*
 * Open a backend.  `path` is used by CHARDEV_FILE only.  Returns NULL
 * with a message in err[] when the host file cannot be opened.
 */
struct chardev *chardev_open(enum chardev_backend backend, const char *id, const char *path,
                             bool append, char *err, size_t errlen);
/* Parse a backend name ("stdio", "file", "null"); -1 if unknown. */
int chardev_backend_parse(const char *name);
void chardev_write(struct chardev *c, const uint8_t *buf, size_t len);
void chardev_flush(struct chardev *c);
/* Flush and release; stdout itself stays open. */
void chardev_close(struct chardev *c);

#endif
