/*
 * i8237.h - the AT's pair of 8237A DMA controllers: channels 0-3 (8-bit,
 * ports 00h-0Fh, page registers 81h-8Fh) and 4-7 (16-bit, C0h-DFh;
 * channel 4 cascades the first controller).  A device asserts DREQ on
 * its channel; the controller then calls the device's transfer handler,
 * which moves data with i8237_read_memory()/i8237_write_memory().
 */
#ifndef KASOU_I8237_H
#define KASOU_I8237_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hw/bus.h"

struct i8237;

struct i8237 *i8237_new(struct bus *bus);
void i8237_reset(struct i8237 *dma);
void i8237_free(struct i8237 *dma);

#endif
