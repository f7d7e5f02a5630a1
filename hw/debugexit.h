/*
 * debugexit.h - isa-debug-exit: lets a test guest end the emulator.
 *
 * A write of V to any of the device's ports asks the board to stop with
 * exit status (V << 1) | 1, as QEMU does, so a guest can never produce
 * status 0 and a harness can tell "the guest exited" from "kasou ended".
 * Reads return 0.  The device does not exit itself: it calls the board's
 * callback, which stops the CPU and tears the machine down cleanly.
 */
#ifndef KASOU_DEBUGEXIT_H
#define KASOU_DEBUGEXIT_H

#include <stdint.h>

struct bus;

#define DEBUGEXIT_IOBASE 0x501
#define DEBUGEXIT_IOSIZE 2

typedef void debugexit_fn(void *opaque, int status);

struct debugexit {
    debugexit_fn *request_exit;
    void *opaque;
};

/* Register ports [iobase, iobase + iosize); NULL on failure. */
struct debugexit *debugexit_new(struct bus *bus, uint16_t iobase, uint16_t iosize,
                                debugexit_fn *request_exit, void *opaque);
void debugexit_free(struct debugexit *de);

#endif
