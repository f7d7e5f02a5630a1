/*
 * vga.h - a VGA with the Bochs VBE extensions (QEMU's "stdvga", PCI
 * 1234:1111): the legacy ports 3B0h-3DFh, the VGA memory window at
 * A0000h-BFFFFh, the VBE index/data ports 1CEh/1CFh, and the linear
 * framebuffer in BAR0.  vga_render() turns the current mode into pixels in
 * a struct display (see ui/display.h); only what changed is redrawn.
 */
#ifndef KASOU_VGA_H
#define KASOU_VGA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hw/bus.h"
#include "hw/pci.h"
#include "hw/timer.h"

struct vga;
struct display;

#define VGA_VRAM_SIZE (16u << 20)

/* Create the adapter at `devfn` on `pb` (clk drives retrace and blink). */
struct vga *vga_new(struct pci_bus *pb, int devfn, struct bus *bus, struct clock *clk);
/* Hard reset (board reset). */
void vga_reset(struct vga *vga);
/*
 * Bring `d` up to date with the screen: resize it to the mode's size,
 * redraw what changed since the last call.  Returns true if any pixel
 * changed.
 */
bool vga_render(struct vga *vga, struct display *d);
void vga_free(struct vga *vga);

#endif
