/*
 * vga.c - the VGA's registers, its memory window and the Bochs VBE
 * interface, and the PCI function of QEMU's "stdvga" (see vga.h).  The
 * picture is made in vga_render.c.
 *
 * Ports (3Bx are live with misc output bit 0 = 0, 3Dx with bit 0 = 1;
 * the other set reads as all ones):
 *   3C0/3C1    attribute controller: one flip-flop alternates index and
 *              data on 3C0 writes; reading 3BA/3DA resets it to "index"
 *   3C2        misc output (write), input status 0 (read); 3CC reads misc
 *   3C4/3C5    sequencer; 3CE/3CF graphics controller; 3x4/3x5 CRTC
 *   3C6-3C9    DAC: pel mask, read index, write index, data (R, G, B in
 *              turn, auto-incrementing the index after B)
 *   3xA        input status 1 (read): display-enable and vertical retrace
 *              follow the virtual clock (70 frames a second); feature
 *              control (write), read back at 3CA
 *   1CE/1CF    VBE DISPI index and data (1D0 is a second data port)
 * Memory: A0000h-BFFFFh, decoded per GR6 (A0000/128K, A0000/64K, B0000/32K,
 * B8000/32K).  A CPU access picks planes by chain-4 (low two address bits
 * select the plane), odd/even (bit 0 selects plane 0/1 or 2/3) or planar
 * (map mask for writes, read map select for reads), loads the four
 * latches on reads, and combines data, set/reset, latches and bit mask in
 * write modes 0-3.  With the VBE mode on, the window shows 64 KiB banks
 * of linear video memory (of planes, at 4 bpp).
 * PCI: BAR0 = 16 MiB of video memory (mapped as plain host memory: the
 * linear framebuffer), BAR2 = 4 KiB of MMIO with QEMU's layout: the VGA
 * ports 3C0-3DF at 400h, the DISPI registers at 500h (index * 2), and the
 * extension registers at 600h.
 */
#include "hw/vga.h"

#include <stdlib.h>
#include <string.h>

#include "hw/vga_int.h"
#include "util/log.h"

/* Bits the guest can set in each register (the rest read as zero). */
static const uint8_t sr_mask[8] = { 0x03, 0x3D, 0x0F, 0x3F, 0x0E, 0, 0, 0 };
static const uint8_t gr_mask[16] = { 0x0F, 0x0F, 0x0F, 0x1F, 0x03, 0x7B, 0x0F, 0x0F, 0xFF };
static const uint8_t ar_mask[0x15] = {
    0x3F, 0x3F, 0x3F, 0x3F, 0x3F, 0x3F, 0x3F, 0x3F, 0x3F, 0x3F, 0x3F, 0x3F,
    0x3F, 0x3F, 0x3F, 0x3F, 0xEF, 0xFF, 0x3F, 0x0F, 0x0F,
};

/* ---- timing ---------------------------------------------------------- */

/* Vertical timing in lines: total, display end, retrace start and length. */
static void vtiming(const struct vga *v, int *total, int *vde, int *vrs, int *vrlen)
{
    if (vga_vbe_on(v)) {
        *vde = v->vbe[VBE_YRES] ? v->vbe[VBE_YRES] : 480;
        *total = *vde + *vde / 12 + 8;
        *vrs = *vde + 2;
        *vrlen = 2;
        return;
    }
    const uint8_t *cr = v->cr;
    *total = (cr[6] | (cr[7] & 0x01) << 8 | (cr[7] & 0x20) << 4) + 2;
    *vde = (cr[0x12] | (cr[7] & 0x02) << 7 | (cr[7] & 0x40) << 3) + 1;
    *vrs = cr[0x10] | (cr[7] & 0x04) << 6 | (cr[7] & 0x80) << 2;
    *vrlen = ((cr[0x11] & 0x0F) - *vrs) & 0x0F;
    if (*vrlen == 0) {
        *vrlen = 16;
    }
    if (*total < 100 || *vde >= *total || *vrs >= *total) {
        /* not programmed (power-on zeros): the 70 Hz 400-line timing */
        *total = 449;
        *vde = 400;
        *vrs = 412;
        *vrlen = 2;
    }
}

/*
 * Input status 1: bit 0 is set while the display is not showing pixels
 * (horizontal or vertical blanking), bit 3 during vertical retrace.
 * A frame lasts VGA_FRAME_NS; the last fifth of each line is blanking.
 */
static uint8_t input_status1(const struct vga *v)
{
    int total, vde, vrs, vrlen;
    vtiming(v, &total, &vde, &vrs, &vrlen);
    uint64_t line_ns = VGA_FRAME_NS / (uint64_t)total;
    uint64_t t = clock_ns(v->clk) % (line_ns * (uint64_t)total);
    int line = (int)(t / line_ns);
    uint64_t pos = t % line_ns;
    uint8_t st = 0;
    if (line >= vrs && line < vrs + vrlen) {
        st |= 0x08;
    }
    if (line >= vde || pos >= line_ns * 4 / 5) {
        st |= 0x01;
    }
    return st;
}

/* ---- DAC --------------------------------------------------------------- */

static uint8_t dac_data_read(struct vga *v)
{
    uint8_t val = v->dac[v->dac_read * 3 + v->dac_sub];
    if (++v->dac_sub == 3) {
        v->dac_sub = 0;
        v->dac_read++;
    }
    return val;
}

static void dac_data_write(struct vga *v, uint8_t val)
{
    /* a standard DAC keeps six bits; the VBE 8-bit mode keeps all */
    v->dac_cache[v->dac_sub++] = (v->vbe[VBE_ENABLE] & VBE_8BIT_DAC) ? val : (val & 0x3F);
    if (v->dac_sub < 3) {
        return;
    }
    uint8_t *e = &v->dac[v->dac_write * 3];
    if (memcmp(e, v->dac_cache, 3) != 0) {
        memcpy(e, v->dac_cache, 3);
        v->pal_dirty = true;
    }
    v->dac_sub = 0;
    v->dac_write++;
}

/* ---- register ports ---------------------------------------------------- */

/* Is `port` (3Bx or 3Dx) decoded in the current colour/mono setting? */
static bool port_live(const struct vga *v, uint16_t port)
{
    bool color = v->misc & 0x01;
    if (port >= 0x3B0 && port <= 0x3BF) {
        return !color;
    }
    if (port >= 0x3D0 && port <= 0x3DF) {
        return color;
    }
    return true;
}

static uint8_t vga_in(struct vga *v, uint16_t port)
{
    if (!port_live(v, port)) {
        return 0xFF;
    }
    switch (port) {
    case 0x3C0:
        return v->ar_index;
    case 0x3C1: {
        unsigned i = v->ar_index & 0x1F;
        return i < sizeof(v->ar) ? v->ar[i] : 0;
    }
    case 0x3C2:
        return 0x00;   /* input status 0: no retrace interrupt pending */
    case 0x3C4:
        return v->sr_index;
    case 0x3C5:
        return v->sr[v->sr_index];
    case 0x3C6:
        return v->pel_mask;
    case 0x3C7:
        return v->dac_state;
    case 0x3C8:
        return v->dac_write;
    case 0x3C9:
        return dac_data_read(v);
    case 0x3CA:
        return v->fcr;
    case 0x3CC:
        return v->misc;
    case 0x3CE:
        return v->gr_index;
    case 0x3CF:
        return v->gr[v->gr_index];
    case 0x3B4:
    case 0x3D4:
        return v->cr_index;
    case 0x3B5:
    case 0x3D5:
        return v->cr[v->cr_index];
    case 0x3BA:
    case 0x3DA:
        v->ar_flip = false;
        return input_status1(v);
    default:
        return 0xFF;
    }
}

static void ar_write(struct vga *v, uint8_t val)
{
    if (!v->ar_flip) {
        if ((v->ar_index ^ val) & 0x20) {
            v->full_redraw = true;   /* palette address source blanks the screen */
        }
        v->ar_index = val & 0x3F;
    } else {
        unsigned i = v->ar_index & 0x1F;
        if (i < sizeof(v->ar)) {
            uint8_t nv = val & ar_mask[i];
            if (v->ar[i] != nv) {
                v->ar[i] = nv;
                v->full_redraw = true;
            }
        }
    }
    v->ar_flip = !v->ar_flip;
}

static void cr_write(struct vga *v, uint8_t val)
{
    unsigned i = v->cr_index;
    if (i <= 7 && (v->cr[0x11] & 0x80)) {
        /* write-protected: only the line compare bit 8 in CR7 gets through */
        if (i == 7) {
            val = (uint8_t)((v->cr[7] & ~0x10) | (val & 0x10));
        } else {
            return;
        }
    }
    if (v->cr[i] == val) {
        return;
    }
    v->cr[i] = val;
    /* the cursor registers are followed by the renderer itself */
    if (i != 0x0A && i != 0x0B && i != 0x0E && i != 0x0F) {
        v->full_redraw = true;
    }
}

static void sr_write(struct vga *v, uint8_t val)
{
    uint8_t nv = val & sr_mask[v->sr_index];
    if (v->sr[v->sr_index] != nv) {
        v->sr[v->sr_index] = nv;
        /* the map mask (SR2) and memory mode (SR4) do not change the picture */
        if (v->sr_index == 1 || v->sr_index == 3) {
            v->full_redraw = true;
        }
    }
}

static void gr_write(struct vga *v, uint8_t val)
{
    uint8_t nv = val & gr_mask[v->gr_index];
    uint8_t old = v->gr[v->gr_index];
    v->gr[v->gr_index] = nv;
    /* shift modes (GR5 bits 5-6) and graphics/alpha (GR6 bit 0) */
    if ((v->gr_index == 5 && ((old ^ nv) & 0x60)) || (v->gr_index == 6 && ((old ^ nv) & 0x01))) {
        v->full_redraw = true;
    }
}

static void vga_out(struct vga *v, uint16_t port, uint8_t val)
{
    if (!port_live(v, port)) {
        return;
    }
    switch (port) {
    case 0x3C0:
        ar_write(v, val);
        break;
    case 0x3C2:
        if (v->misc != val) {
            v->misc = val;
            v->full_redraw = true;
        }
        break;
    case 0x3C4:
        v->sr_index = val & 0x07;
        break;
    case 0x3C5:
        sr_write(v, val);
        break;
    case 0x3C6:
        if (v->pel_mask != val) {
            v->pel_mask = val;
            v->full_redraw = true;
        }
        break;
    case 0x3C7:
        v->dac_read = val;
        v->dac_sub = 0;
        v->dac_state = 0x03;
        break;
    case 0x3C8:
        v->dac_write = val;
        v->dac_sub = 0;
        v->dac_state = 0x00;
        break;
    case 0x3C9:
        dac_data_write(v, val);
        break;
    case 0x3CE:
        v->gr_index = val & 0x0F;
        break;
    case 0x3CF:
        gr_write(v, val);
        break;
    case 0x3B4:
    case 0x3D4:
        v->cr_index = val & 0x3F;
        break;
    case 0x3B5:
    case 0x3D5:
        cr_write(v, val);
        break;
    case 0x3BA:
    case 0x3DA:
        v->fcr = val & 0x03;
        break;
    default:
        log_ch(LOG_UNIMP, "vga: write %#x to port %#x", val, port);
        break;
    }
}

static uint32_t port_read(void *opaque, uint32_t off, int size)
{
    return vga_in(opaque, (uint16_t)(0x3B0 + off));
}

static void port_write(void *opaque, uint32_t off, uint32_t val, int size)
{
    vga_out(opaque, (uint16_t)(0x3B0 + off), (uint8_t)val);
}

static const struct io_ops port_ops = { port_read, port_write, 0x1 };

/* ---- Bochs VBE ---------------------------------------------------------- */

static unsigned vbe_bytes_pp(const struct vga *v)
{
    return (v->vbe[VBE_BPP] + 7u) / 8u;
}

/* Bytes (4 bpp: plane offsets) per line for a virtual width. */
static uint32_t vbe_line_for(const struct vga *v, uint32_t vw)
{
    return v->vbe[VBE_BPP] == 4 ? vw / 8 : vw * vbe_bytes_pp(v);
}

/* Capacity of video memory in the unit of vbe_line. */
static uint32_t vbe_capacity(const struct vga *v)
{
    return v->vbe[VBE_BPP] == 4 ? v->vram_size / 4 : v->vram_size;
}

/* Recompute the line length, virtual height and display start. */
static void vbe_update(struct vga *v)
{
    uint16_t *r = v->vbe;
    if (r[VBE_VIRT_WIDTH] < r[VBE_XRES]) {
        r[VBE_VIRT_WIDTH] = r[VBE_XRES];
    }
    v->vbe_line = vbe_line_for(v, r[VBE_VIRT_WIDTH]);
    uint32_t h = v->vbe_line ? vbe_capacity(v) / v->vbe_line : 0;
    r[VBE_VIRT_HEIGHT] = (uint16_t)(h > 0xFFFF ? 0xFFFF : h);
    uint32_t x = r[VBE_BPP] == 4 ? r[VBE_X_OFFSET] / 8u : r[VBE_X_OFFSET] * vbe_bytes_pp(v);
    v->vbe_start = r[VBE_Y_OFFSET] * v->vbe_line + x;
}

/*
 * Turning the mode on resets the virtual screen to the visible one,
 * clears the memory it shows (unless NOCLEARMEM), and sets up the VGA
 * side as the VBE mode needs it: graphics at A0000h/64K, chain-4 with all
 * planes for the packed and direct modes, planar for 4 bpp.
 */
static void vbe_enable(struct vga *v, uint16_t val)
{
    uint16_t old = v->vbe[VBE_ENABLE];
    v->vbe[VBE_ENABLE] = val;
    if ((val & VBE_ENABLED) && !(old & VBE_ENABLED)) {
        v->vbe[VBE_VIRT_WIDTH] = v->vbe[VBE_XRES];
        v->vbe[VBE_X_OFFSET] = v->vbe[VBE_Y_OFFSET] = 0;
        vbe_update(v);
        if (!(val & VBE_NOCLEARMEM)) {
            uint64_t n = (uint64_t)v->vbe[VBE_YRES] * v->vbe_line;
            if (v->vbe[VBE_BPP] == 4) {
                n *= 4;
            }
            memset(v->vram, 0, n < v->vram_size ? (size_t)n : v->vram_size);
        }
        v->gr[6] = (uint8_t)((v->gr[6] & ~0x0C) | 0x05);
        if (v->vbe[VBE_BPP] == 4) {
            v->gr[5] &= (uint8_t)~0x60;
        } else {
            v->sr[4] |= 0x08;
            v->sr[2] = 0x0F;
            v->gr[5] = (uint8_t)((v->gr[5] & ~0x60) | 0x40);
        }
    } else if (!(val & VBE_ENABLED)) {
        v->bank_offset = 0;
    }
    if ((old ^ val) & VBE_8BIT_DAC) {
        v->pal_dirty = true;
    }
    v->full_redraw = true;
}

static uint16_t vbe_read(struct vga *v, uint16_t idx)
{
    if (idx >= VBE_NREGS) {
        return 0;
    }
    if (v->vbe[VBE_ENABLE] & VBE_GETCAPS) {
        switch (idx) {
        case VBE_XRES:
            return VBE_MAX_XRES;
        case VBE_YRES:
            return VBE_MAX_YRES;
        case VBE_BPP:
            return VBE_MAX_BPP;
        default:
            break;
        }
    }
    return v->vbe[idx];
}

static bool vbe_bpp_ok(uint16_t bpp)
{
    return bpp == 4 || bpp == 8 || bpp == 15 || bpp == 16 || bpp == 24 || bpp == 32;
}

static void vbe_write(struct vga *v, uint16_t idx, uint16_t val)
{
    uint16_t *r = v->vbe;
    switch (idx) {
    case VBE_ID:
        if (val >= VBE_ID0 && val <= VBE_ID5) {
            r[VBE_ID] = val;
        }
        return;
    case VBE_XRES:
    case VBE_YRES:
        if (val > (idx == VBE_XRES ? VBE_MAX_XRES : VBE_MAX_YRES)) {
            log_ch(LOG_GUEST, "vbe: resolution %u too large", val);
            return;
        }
        r[idx] = val;
        break;
    case VBE_BPP:
        val = val ? val : 8;
        if (!vbe_bpp_ok(val)) {
            log_ch(LOG_GUEST, "vbe: bad bpp %u", val);
            return;
        }
        r[VBE_BPP] = val;
        break;
    case VBE_ENABLE:
        vbe_enable(v, val);
        return;
    case VBE_BANK: {
        uint32_t mask = (v->vram_size >> 16) - 1;
        if (r[VBE_BPP] == 4) {
            mask >>= 2;
        }
        r[VBE_BANK] = (uint16_t)(val & mask);
        v->bank_offset = (uint32_t)r[VBE_BANK] << 16;
        return;
    }
    case VBE_VIRT_WIDTH: {
        uint32_t line = vbe_line_for(v, val);
        if (!line || vbe_capacity(v) / line < r[VBE_YRES]) {
            return;   /* would not fit in video memory */
        }
        r[VBE_VIRT_WIDTH] = val;
        break;
    }
    case VBE_X_OFFSET:
    case VBE_Y_OFFSET:
        r[idx] = val;
        break;
    default:
        return;   /* VIRT_HEIGHT and VIDEO_MEMORY_64K follow from the rest */
    }
    vbe_update(v);
    v->full_redraw = true;
}

/* 1CEh index, 1CFh data, 1D0h a second data port (as QEMU decodes it). */
static uint32_t vbe_port_read(void *opaque, uint32_t off, int size)
{
    struct vga *v = opaque;
    if (off == 3) {
        return 0xFF;   /* 1D1h: only the high half of a word at 1D0h */
    }
    return off == 0 ? v->vbe_index : vbe_read(v, v->vbe_index);
}

static void vbe_port_write(void *opaque, uint32_t off, uint32_t val, int size)
{
    struct vga *v = opaque;
    if (off == 0) {
        v->vbe_index = (uint16_t)val;
    } else if (off != 3) {
        vbe_write(v, v->vbe_index, (uint16_t)val);
    }
}

static const struct io_ops vbe_port_ops = { vbe_port_read, vbe_port_write, 0x3 };

/* ---- video memory ------------------------------------------------------- */

/* Offset into the window decoded by GR6, or -1 if the address is outside. */
static int32_t window_offset(const struct vga *v, uint32_t addr)
{
    switch ((v->gr[6] >> 2) & 3) {
    case 0:
        return (int32_t)addr;
    case 1:
        return addr < 0x10000 ? (int32_t)addr : -1;
    case 2:
        return addr >= 0x10000 && addr < 0x18000 ? (int32_t)(addr - 0x10000) : -1;
    default:
        return addr >= 0x18000 ? (int32_t)(addr - 0x18000) : -1;
    }
}

/* Does the window show linear video memory (VBE packed/direct mode)? */
static bool window_linear(const struct vga *v)
{
    return vga_vbe_on(v) && v->vbe[VBE_BPP] != 4;
}

/* Plane offset of a window offset: legacy planes wrap at 64 KiB. */
static uint32_t plane_offset(const struct vga *v, uint32_t po)
{
    if (vga_vbe_on(v)) {
        return (po + v->bank_offset) & (v->vram_size / 4 - 1);
    }
    return po & (VGA_PLANE_SIZE - 1);
}

static uint8_t color_compare(const struct vga *v)
{
    uint8_t r = 0xFF;
    for (int p = 0; p < 4; p++) {
        if (v->gr[7] & (1 << p)) {
            uint8_t want = (v->gr[2] >> p) & 1 ? 0xFF : 0x00;
            r &= (uint8_t)~(v->latch[p] ^ want);
        }
    }
    return r;
}

static uint8_t mem_readb(struct vga *v, uint32_t addr)
{
    int32_t off = window_offset(v, addr);
    if (off < 0) {
        return 0xFF;
    }
    if (window_linear(v)) {
        uint32_t i = v->bank_offset + (uint32_t)off;
        return i < v->vram_size ? v->vram[i] : 0xFF;
    }
    uint32_t po;
    int plane;
    if (v->sr[4] & 0x08) {
        plane = off & 3;
        po = (uint32_t)off & ~3u;
    } else if (v->gr[5] & 0x10) {
        plane = (v->gr[4] & 2) | (off & 1);
        po = (uint32_t)off & ~1u;
    } else {
        plane = v->gr[4] & 3;
        po = (uint32_t)off;
    }
    po = plane_offset(v, po);
    memcpy(v->latch, &v->vram[po * 4], 4);
    return (v->gr[5] & 0x08) ? color_compare(v) : v->latch[plane];
}

static uint8_t ror8(uint8_t x, int n)
{
    return (uint8_t)((x >> n) | (x << ((8 - n) & 7)));
}

/* The graphics controller's write path: four plane bytes from one CPU byte. */
static void write_logic(const struct vga *v, uint8_t val, uint8_t out[4])
{
    int mode = v->gr[5] & 3;
    if (mode == 1) {
        memcpy(out, v->latch, 4);
        return;
    }
    uint8_t rot = ror8(val, v->gr[3] & 7);
    uint8_t mask = mode == 3 ? (uint8_t)(v->gr[8] & rot) : v->gr[8];
    int func = (v->gr[3] >> 3) & 3;
    for (int p = 0; p < 4; p++) {
        uint8_t d;
        uint8_t sr = (v->gr[0] >> p) & 1 ? 0xFF : 0x00;
        if (mode == 0) {
            d = (v->gr[1] >> p) & 1 ? sr : rot;
        } else if (mode == 2) {
            d = (val >> p) & 1 ? 0xFF : 0x00;
        } else {
            d = sr;
        }
        switch (func) {
        case 1:
            d &= v->latch[p];
            break;
        case 2:
            d |= v->latch[p];
            break;
        case 3:
            d ^= v->latch[p];
            break;
        default:
            break;
        }
        out[p] = (uint8_t)((d & mask) | (v->latch[p] & ~mask));
    }
}

static void mem_writeb(struct vga *v, uint32_t addr, uint8_t val)
{
    int32_t off = window_offset(v, addr);
    if (off < 0) {
        return;
    }
    if (window_linear(v)) {
        uint32_t i = v->bank_offset + (uint32_t)off;
        if (i < v->vram_size) {
            v->vram[i] = val;
            vga_mark_dirty(v, i);
        }
        return;
    }
    uint32_t po;
    uint8_t planes;
    if (v->sr[4] & 0x08) {
        planes = (uint8_t)(1u << (off & 3));
        po = (uint32_t)off & ~3u;
    } else if (!(v->sr[4] & 0x04)) {
        planes = (off & 1) ? 0x0A : 0x05;
        po = (uint32_t)off & ~1u;
    } else {
        planes = 0x0F;
        po = (uint32_t)off;
    }
    planes &= v->sr[2];
    if (!planes) {
        return;
    }
    po = plane_offset(v, po);
    uint8_t out[4];
    write_logic(v, val, out);
    uint8_t *dst = &v->vram[po * 4];
    for (int p = 0; p < 4; p++) {
        if (planes & (1 << p)) {
            dst[p] = out[p];
        }
    }
    vga_mark_dirty(v, po * 4);
    if (planes & 0x04) {
        v->font_dirty = true;
    }
}

static uint32_t mem_read(void *opaque, uint32_t off, int size)
{
    uint32_t val = 0;
    for (int i = 0; i < size; i++) {
        val |= (uint32_t)mem_readb(opaque, off + (uint32_t)i) << (8 * i);
    }
    return val;
}

static void mem_write(void *opaque, uint32_t off, uint32_t val, int size)
{
    for (int i = 0; i < size; i++) {
        mem_writeb(opaque, off + (uint32_t)i, (uint8_t)(val >> (8 * i)));
    }
}

static const struct io_ops mem_ops = { mem_read, mem_write, 0x7 };

/* ---- PCI BAR2: QEMU's MMIO register window ------------------------------ */

#define MMIO_VGA 0x400
#define MMIO_VBE 0x500
#define MMIO_QEXT 0x600

static uint32_t mmio_read(void *opaque, uint32_t off, int size)
{
    struct vga *v = opaque;
    if (off >= MMIO_VGA && off < MMIO_VGA + 0x20) {
        uint32_t val = 0;
        for (int i = 0; i < size; i++) {
            val |= (uint32_t)vga_in(v, (uint16_t)(0x3C0 + off - MMIO_VGA + (uint32_t)i)) << (8 * i);
        }
        return val;
    }
    if (off >= MMIO_VBE && off < MMIO_VBE + 2 * VBE_NREGS) {
        uint32_t reg = vbe_read(v, (uint16_t)((off - MMIO_VBE) / 2));
        return (off & 1) ? reg >> 8 : reg;
    }
    if (off == MMIO_QEXT) {
        return 8;             /* size of the extension register block */
    }
    if (off == MMIO_QEXT + 4) {
        return 0x1e1e1e1e;    /* framebuffer byte order: little endian */
    }
    return 0;                 /* EDID (none) and reserved space */
}

static void mmio_write(void *opaque, uint32_t off, uint32_t val, int size)
{
    struct vga *v = opaque;
    if (off >= MMIO_VGA && off < MMIO_VGA + 0x20) {
        /* a word writes the index port first, then the data port */
        for (int i = 0; i < size; i++) {
            vga_out(v, (uint16_t)(0x3C0 + off - MMIO_VGA + (uint32_t)i), (uint8_t)(val >> (8 * i)));
        }
    } else if (off >= MMIO_VBE && off < MMIO_VBE + 2 * VBE_NREGS && size == 2 && !(off & 1)) {
        vbe_write(v, (uint16_t)((off - MMIO_VBE) / 2), (uint16_t)val);
    } else {
        log_ch(LOG_GUEST, "vga: mmio write %#x at %#x size %d ignored", val, off, size);
    }
}

static const struct io_ops mmio_ops = { mmio_read, mmio_write, 0x7 };

/* ---- the device --------------------------------------------------------- */

void vga_reset(struct vga *v)
{
    v->misc = 0;
    v->fcr = 0;
    v->sr_index = v->gr_index = v->cr_index = v->ar_index = 0;
    memset(v->sr, 0, sizeof(v->sr));
    memset(v->gr, 0, sizeof(v->gr));
    memset(v->cr, 0, sizeof(v->cr));
    memset(v->ar, 0, sizeof(v->ar));
    v->ar_flip = false;
    memset(v->latch, 0, sizeof(v->latch));
    memset(v->dac, 0, sizeof(v->dac));
    v->dac_read = v->dac_write = v->dac_sub = 0;
    v->dac_state = 0;
    v->pel_mask = 0xFF;
    memset(v->vbe, 0, sizeof(v->vbe));
    v->vbe_index = 0;
    v->vbe[VBE_ID] = VBE_ID5;
    v->vbe[VBE_BPP] = 8;
    v->vbe[VBE_VIDEO_MEMORY_64K] = (uint16_t)(v->vram_size >> 16);
    v->bank_offset = 0;
    vbe_update(v);
    v->full_redraw = true;
    v->pal_dirty = true;
}

struct vga *vga_new(struct pci_bus *pb, int devfn, struct bus *bus, struct clock *clk)
{
    struct vga *v = calloc(1, sizeof(*v));
    if (!v) {
        return NULL;
    }
    v->bus = bus;
    v->clk = clk;
    v->vram_size = VGA_VRAM_SIZE;
    v->vram = calloc(1, v->vram_size);
    v->line_flags = calloc(VBE_MAX_YRES, 1);
    if (!v->vram || !v->line_flags || pci_register(pb, &v->pci, devfn, 0x1234, 0x1111, 0x03000002u) < 0) {
        free(v->line_flags);
        free(v->vram);
        free(v);
        return NULL;
    }
    v->pci.opaque = v;
    pci_set16(&v->pci.cfg[PCI_SUBSYS_VENDOR], 0x1AF4);
    pci_set16(&v->pci.cfg[PCI_SUBSYS_ID], 0x1100);
    pci_set_bar(&v->pci, 0, v->vram_size, false, NULL, v);
    v->pci.bar[0].host = v->vram;
    v->pci.cfg[PCI_BAR0] |= 0x08;   /* prefetchable */
    pci_set_bar(&v->pci, 2, 4096, false, &mmio_ops, v);
    if (bus_map_ports(bus, 0x3B0, 0x30, &port_ops, v) < 0 ||
        bus_map_ports(bus, 0x1CE, 4, &vbe_port_ops, v) < 0 ||
        bus_map_mmio(bus, 0xA0000, 0x20000, &mem_ops, v) < 0) {
        vga_free(v);
        return NULL;
    }
    vga_reset(v);
    return v;
}

void vga_free(struct vga *v)
{
    if (!v) {
        return;
    }
    struct pci_bus *pb = v->pci.pbus;
    if (pb && pb->dev[v->pci.devfn] == &v->pci) {
        for (int i = 0; i < 6; i++) {
            if (v->pci.bar[i].mapped_at) {
                bus_unmap(pb->bus, v->pci.bar[i].mapped_at);
            }
        }
        pb->dev[v->pci.devfn] = NULL;
    }
    bus_unmap(v->bus, 0xA0000);
    bus_unmap_ports(v->bus, 0x3B0);
    bus_unmap_ports(v->bus, 0x1CE);
    free(v->shadow);
    free(v->line_flags);
    free(v->vram);
    free(v);
}
