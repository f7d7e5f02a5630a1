/* chardev.c - stdio, file and null character backends (see chardev.h). */
#include "chardev.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int chardev_backend_parse(const char *name)
{
    if (!strcmp(name, "stdio")) {
        return CHARDEV_STDIO;
    }
    if (!strcmp(name, "file")) {
        return CHARDEV_FILE;
    }
    if (!strcmp(name, "null")) {
        return CHARDEV_NULL;
    }
    return -1;
}

struct chardev *chardev_open(enum chardev_backend backend, const char *id, const char *path,
                             bool append, char *err, size_t errlen)
{
    struct chardev *c = calloc(1, sizeof(*c));
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(c->id, sizeof(c->id), "%s", id);
    c->backend = backend;
    if (backend == CHARDEV_STDIO) {
        c->f = stdout;
        c->has_in = true;
        c->in_fd = STDIN_FILENO;
    } else if (backend == CHARDEV_FILE) {
        c->f = fopen(path, append ? "ab" : "wb");
        if (!c->f) {
            snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
            free(c);
            return NULL;
        }
    }
    return c;
}

static void report_failure(struct chardev *c)
{
    if (!c->failed) {
        c->failed = true;
        fprintf(stderr, "kasou: chardev '%s': write failed: %s\n", c->id, strerror(errno));
    }
}

void chardev_write(struct chardev *c, const uint8_t *buf, size_t len)
{
    if (!c->f || len == 0) {
        return;
    }
    if (fwrite(buf, 1, len, c->f) != len) {
        report_failure(c);
        return;
    }
    if (c->backend == CHARDEV_STDIO && memchr(buf, '\n', len)) {
        chardev_flush(c);
    }
}

void chardev_flush(struct chardev *c)
{
    if (c->f && fflush(c->f) != 0) {
        report_failure(c);
    }
}

size_t chardev_read(struct chardev *c, uint8_t *buf, size_t len)
{
    if (!c->has_in || c->in_eof || len == 0) {
        return 0;
    }
    /* Ask first, so that a blocking descriptor (a terminal) never stalls
     * the emulator. */
    struct pollfd p = { .fd = c->in_fd, .events = POLLIN };
    if (poll(&p, 1, 0) <= 0 || !(p.revents & (POLLIN | POLLHUP | POLLERR))) {
        return 0;
    }
    ssize_t n = read(c->in_fd, buf, len);
    if (n > 0) {
        return (size_t)n;
    }
    if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        c->in_eof = true;   /* end of input: stop polling */
    }
    return 0;
}

void chardev_close(struct chardev *c)
{
    if (!c) {
        return;
    }
    chardev_flush(c);
    if (c->backend == CHARDEV_FILE && fclose(c->f) != 0) {
        report_failure(c);
    }
    free(c);
}
