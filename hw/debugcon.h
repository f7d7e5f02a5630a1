/*
 * debugcon.h - isa-debugcon: Bochs/QEMU's debug console port (0xe9).
 *
 * Every byte the guest writes to the port goes to a character backend.
 * Reading the port returns the "readback" value (0xe9 by default), which
 * is how firmware detects the console, as on QEMU and Bochs.
 */
#ifndef KASOU_DEBUGCON_H
#define KASOU_DEBUGCON_H

#include <stdint.h>

struct bus;
struct chardev;

#define DEBUGCON_IOBASE 0xe9
#define DEBUGCON_READBACK 0xe9

struct debugcon {
    struct chardev *chr;
    uint8_t readback;
};

/* Register the port on `bus`; NULL if the port space is full. */
struct debugcon *debugcon_new(struct bus *bus, uint16_t iobase, uint8_t readback,
                              struct chardev *chr);
void debugcon_flush(struct debugcon *dc);
void debugcon_free(struct debugcon *dc);

#endif
