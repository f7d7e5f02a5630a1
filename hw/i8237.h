/*
 * i8237.h - the AT's pair of 8237A DMA controllers: channels 0-3 (8-bit,
 * ports 00h-0Fh, page registers 81h-8Fh) and 4-7 (16-bit, C0h-DFh;
 * channel 4 cascades the first controller).  A device asserts DREQ on
 * its channel; the controller then calls the device's transfer handler,
 * which moves data with i8237_read_memory()/i8237_write_memory().
 *
 * The device side, in full:
 *   i8237_set_handler(dma, ch, fn, opaque)   once, at construction
 *   i8237_set_dreq(dma, ch, true)            "I have data / want data"
 *       -> fn(opaque, ch) is called at once if the channel can run
 *          (unmasked, its controller enabled, not in cascade mode),
 *          or later, when the guest unmasks it;
 *          each call with true asks for service again: a device that
 *          paces its transfers (a sound card) drops DREQ after each
 *          chunk and raises it on its next tick, since unmasking the
 *          channel also services a request that is up
 *   inside fn: i8237_write_memory() (device -> memory) or
 *          i8237_read_memory() (memory -> device) as many times as it
 *          likes; each returns the bytes moved and stops at terminal
 *          count, which i8237_tc() then reports
 *   i8237_set_dreq(dma, ch, false)           when the device is done
 * The transfer modes (single, block, demand) only change bus timing on
 * real hardware; here a device moves what it has when it is serviced.
 */
#ifndef KASOU_I8237_H
#define KASOU_I8237_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hw/bus.h"

struct i8237;

/* Transfer types, mode register bits 3:2. */
enum { I8237_VERIFY = 0, I8237_WRITE = 1, I8237_READ = 2 };

/* Called when the channel's DREQ is asserted and the channel can run. */
typedef void (*i8237_handler)(void *opaque, int chan);

struct i8237 *i8237_new(struct bus *bus);
void i8237_reset(struct i8237 *dma);
void i8237_free(struct i8237 *dma);

/* Register the device on channel 0-7 (not 4, the cascade); fn may be NULL. */
void i8237_set_handler(struct i8237 *dma, int chan, i8237_handler fn, void *opaque);
/* Raise or drop the channel's DMA request line. */
void i8237_set_dreq(struct i8237 *dma, int chan, bool level);

/*
 * Move up to len bytes between the device's buffer and guest memory at
 * the channel's current address, advancing address and count as the
 * chip does (16-bit channels move whole words: len is rounded down to
 * even).  Stops at terminal count.  Returns the bytes moved.  A channel
 * programmed for verify, or for the other direction, advances without
 * touching memory (read_memory then fills buf with 0xFF, the idle bus).
 */
size_t i8237_write_memory(struct i8237 *dma, int chan, const void *buf, size_t len);
size_t i8237_read_memory(struct i8237 *dma, int chan, void *buf, size_t len);
/* Did the last read/write_memory call on the channel reach terminal count? */
bool i8237_tc(const struct i8237 *dma, int chan);
/* The channel's transfer type (I8237_VERIFY, _WRITE, _READ; 3 is illegal). */
int i8237_transfer_type(const struct i8237 *dma, int chan);
/* Is the channel able to run now (unmasked, controller(s) enabled)? */
bool i8237_ready(const struct i8237 *dma, int chan);
/* Bytes left before terminal count (count register + 1, in bytes). */
uint32_t i8237_remaining(const struct i8237 *dma, int chan);

#endif
