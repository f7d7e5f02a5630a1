/*
 * chardev.h - character backends that devices write bytes to and read from.
 *
 * A chardev is created from the command line (-chardev BACKEND,id=ID,...)
 * and looked up by id when a device names it (chardev=ID).  The backends
 * are stdio (output to the host's standard output, input from its standard
 * input), file (output to a host file, truncated unless append=on, as QEMU
 * does; no input) and null (discards output, no input).
 * Output is buffered; stdio flushes at each newline and whenever the owner
 * calls chardev_flush(), so partial lines still show up promptly.  Input is
 * polled: chardev_read() never blocks.
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
    bool has_in; /* in_fd is an input descriptor (stdio: the host's stdin) */
    int in_fd;
    bool in_eof; /* input reached end of file (or failed): not polled again */
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
/*
 * Read up to `len` bytes of input that are already available, without
 * blocking; returns how many (0 when there is none, or the backend has no
 * input).  Only stdio has input: the host's standard input.
 */
size_t chardev_read(struct chardev *c, uint8_t *buf, size_t len);
/* Flush and release; stdout itself stays open. */
void chardev_close(struct chardev *c);

#endif
