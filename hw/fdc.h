/*
 * fdc.h - an 82077AA-class floppy disk controller at 3F0h-3F7h (IRQ6,
 * DMA channel 2) with up to two drives (A:, B:); the drive type follows
 * the image size (360K, 720K, 1.2M, 1.44M, 2.88M, and the common
 * oversized formats).
 */
#ifndef KASOU_FDC_H
#define KASOU_FDC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hw/bus.h"
#include "hw/irq.h"

#define FDC_BASE 0x3F0      /* 3F0h-3F5h and 3F7h; 3F6h belongs to the IDE */
#define FDC_IRQ 6
#define FDC_DMA_CHANNEL 2

struct fdc;
struct i8237;
struct blockdev;
struct clock;

struct fdc *fdc_new(struct bus *bus, struct irq irq6, struct i8237 *dma);
/*
 * Insert an image into drive 0 or 1 (NULL empties the drive); -1 with a
 * message (bad size...).  The drive's geometry and type follow the image
 * size; a read-only blockdev is a write-protected disk.  The caller keeps
 * ownership of blk.  Inserting sets the drive's disk-change line.
 */
int fdc_attach(struct fdc *fdc, int unit, struct blockdev *blk, char *err, size_t errlen);
/*
 * The CMOS drive-type nibble for a unit (0 none, 1 360K, 2 1.2M, 3 720K,
 * 4 1.44M, 5 2.88M), for register 10h.
 */
int fdc_cmos_type(const struct fdc *fdc, int unit);
/*
 * The clock for the one timed event: a non-DMA host that stops taking
 * (or giving) bytes mid-command gets an overrun (ST1 OR) and the result
 * interrupt, as Linux's pseudo-DMA expects.  Without a clock such a
 * command waits for the host forever.
 */
void fdc_set_clock(struct fdc *fdc, struct clock *clk);
void fdc_reset(struct fdc *fdc);
void fdc_free(struct fdc *fdc);

#endif
