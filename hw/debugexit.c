/* debugexit.c - the isa-debug-exit device (see debugexit.h). */
#include "debugexit.h"

#include <stdlib.h>

#include "hw/bus.h"
#include "util/log.h"

static uint32_t debugexit_read(void *opaque, uint32_t off, int size)
{
    return 0;
}

static void debugexit_write(void *opaque, uint32_t off, uint32_t val, int size)
{
    struct debugexit *de = opaque;
    /* The status is what a host process can report: its low 8 bits. */
    int status = (int)(((val << 1) | 1) & 0xFF);
    log_ch(LOG_DEV, "debug-exit: guest wrote %#x (size %d): status %d", val, size, status);
    de->request_exit(de->opaque, status);
}

static const struct io_ops debugexit_ops = {
    .read = debugexit_read,
    .write = debugexit_write,
    .sizes = 1 | 2 | 4,
};

struct debugexit *debugexit_new(struct bus *bus, uint16_t iobase, uint16_t iosize,
                                debugexit_fn *request_exit, void *opaque)
{
    struct debugexit *de = calloc(1, sizeof(*de));
    if (!de) {
        return NULL;
    }
    de->request_exit = request_exit;
    de->opaque = opaque;
    if (bus_map_ports(bus, iobase, iosize, &debugexit_ops, de) < 0) {
        free(de);
        return NULL;
    }
    return de;
}

void debugexit_free(struct debugexit *de)
{
    free(de);
}
