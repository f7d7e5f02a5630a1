/* debugcon.c - the isa-debugcon port (see debugcon.h). */
#include "debugcon.h"

#include <stdlib.h>

#include "hw/bus.h"
#include "ui/chardev.h"
#include "util/log.h"

static uint32_t debugcon_read(void *opaque, uint32_t off, int size)
{
    const struct debugcon *dc = opaque;
    return dc->readback;
}

static void debugcon_write(void *opaque, uint32_t off, uint32_t val, int size)
{
    struct debugcon *dc = opaque;
    uint8_t byte = (uint8_t)val;
    log_ch(LOG_DEV, "debugcon: %#04x", byte);
    chardev_write(dc->chr, &byte, 1);
}

/* Byte accesses only: the bus splits wider ones, so OUTW writes 2 bytes. */
static const struct io_ops debugcon_ops = {
    .read = debugcon_read,
    .write = debugcon_write,
    .sizes = 1,
};

struct debugcon *debugcon_new(struct bus *bus, uint16_t iobase, uint8_t readback,
                              struct chardev *chr)
{
    struct debugcon *dc = calloc(1, sizeof(*dc));
    if (!dc) {
        return NULL;
    }
    dc->chr = chr;
    dc->readback = readback;
    if (bus_map_ports(bus, iobase, 1, &debugcon_ops, dc) < 0) {
        free(dc);
        return NULL;
    }
    return dc;
}

void debugcon_flush(struct debugcon *dc)
{
    chardev_flush(dc->chr);
}

void debugcon_free(struct debugcon *dc)
{
    free(dc);
}
