/*
 * vga_int.h - the VGA's state, shared by the register/memory side
 * (hw/vga.c) and the renderer (hw/vga_render.c).  Not a public header:
 * the rest of kasou sees only hw/vga.h.
 *
 * Video memory layout (as QEMU lays it out, so the linear framebuffer and
 * the planar modes share one buffer): byte 4*o + p is offset o of plane p.
 * The legacy modes use the first 256 KiB (four 64 KiB planes); the VBE
 * modes address the whole buffer linearly.
 */
#ifndef KASOU_VGA_INT_H
#define KASOU_VGA_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "hw/bus.h"
#include "hw/pci.h"
#include "hw/timer.h"

/* Bochs VBE DISPI register indices and ENABLE bits. */
enum {
    VBE_ID, VBE_XRES, VBE_YRES, VBE_BPP, VBE_ENABLE, VBE_BANK, VBE_VIRT_WIDTH,
    VBE_VIRT_HEIGHT, VBE_X_OFFSET, VBE_Y_OFFSET, VBE_VIDEO_MEMORY_64K, VBE_NREGS
};
#define VBE_ENABLED 0x01
#define VBE_GETCAPS 0x02
#define VBE_8BIT_DAC 0x20
#define VBE_LFB_ENABLED 0x40
#define VBE_NOCLEARMEM 0x80
#define VBE_ID0 0xB0C0
#define VBE_ID5 0xB0C5
#define VBE_MAX_XRES 2560   /* the display's limits (ui/display.h) */
#define VBE_MAX_YRES 1600
#define VGA_LINEBUF (VBE_MAX_XRES + 64)   /* one scanline of dots, plus panning */
#define VBE_MAX_BPP 32

#define VGA_PLANE_SIZE 0x10000u     /* legacy plane size: 256 KiB in all */
/* dirty tracking: one bit per 64 plane offsets (256 bytes of video memory) */
#define VGA_DIRTY_SHIFT 8
#define VGA_DIRTY_WORDS ((16u << 20) >> VGA_DIRTY_SHIFT >> 6)

struct vga {
    struct pci_dev pci;
    struct bus *bus;
    struct clock *clk;
    uint8_t *vram;
    uint32_t vram_size;
    uint8_t latch[4];

    /* general registers */
    uint8_t misc;            /* 3C2 write / 3CC read */
    uint8_t fcr;             /* feature control */
    uint8_t sr_index, sr[8];
    uint8_t gr_index, gr[16];
    uint8_t cr_index, cr[64];
    uint8_t ar_index;        /* bits 0-4 index, bit 5 palette address source */
    bool ar_flip;            /* attribute flip-flop: true = next 3C0 write is data */
    uint8_t ar[0x15];

    /* DAC */
    uint8_t dac[768];
    uint8_t dac_read, dac_write, dac_sub, dac_state;
    uint8_t dac_cache[3];
    uint8_t pel_mask;

    /* Bochs VBE */
    uint16_t vbe_index;
    uint16_t vbe[VBE_NREGS];
    uint32_t bank_offset;    /* bytes (linear modes) or plane offsets (4 bpp) */
    uint32_t vbe_line;       /* bytes per line (4 bpp: plane offsets per line) */
    uint32_t vbe_start;      /* first displayed byte (4 bpp: plane offset) */

    /* render state */
    bool full_redraw;        /* a register that changes the picture changed */
    bool pal_dirty;          /* the DAC changed: rebuild pal32 */
    bool font_dirty;         /* plane 2 written (the text font) */
    bool any_dirty;          /* some bit in dirty[] is set */
    uint64_t dirty[VGA_DIRTY_WORDS];
    uint32_t pal32[256];
    int last_kind, last_w, last_h;
    bool last_cursor_on, last_blink_on;
    uint8_t *line_flags;     /* per output line: blink/cursor cells drawn */
    uint32_t cursor_addr;    /* cursor state at the last render */
    uint8_t cursor_start, cursor_end;
    uint32_t linebuf[VGA_LINEBUF];
    uint8_t *shadow;         /* VBE direct modes: last rendered memory */
    uint32_t shadow_size;
};

/* line_flags bits */
#define VGA_LINE_BLINK 1
#define VGA_LINE_CURSOR 2

static inline void vga_mark_dirty(struct vga *v, uint32_t vram_byte)
{
    uint32_t bit = vram_byte >> VGA_DIRTY_SHIFT;
    v->dirty[bit >> 6] |= 1ull << (bit & 63);
    v->any_dirty = true;
}

/* Is any 256-byte chunk of video memory in [lo, hi] (bytes) dirty? */
static inline bool vga_range_dirty(const struct vga *v, uint32_t lo, uint32_t hi)
{
    for (uint32_t b = lo >> VGA_DIRTY_SHIFT; b <= hi >> VGA_DIRTY_SHIFT; b++) {
        if (b >= VGA_DIRTY_WORDS * 64) {
            break;
        }
        if (v->dirty[b >> 6] & (1ull << (b & 63))) {
            return true;
        }
    }
    return false;
}

/* Is the Bochs VBE mode on? */
static inline bool vga_vbe_on(const struct vga *v)
{
    return v->vbe[VBE_ENABLE] & VBE_ENABLED;
}

/* Frame timing used for retrace and blinking: 70 frames a second. */
#define VGA_FRAME_NS (NS_PER_SEC / 70)

#endif
