/*
 * vga_render.c - turning the VGA's memory and registers into pixels in a
 * struct display (see vga.h, ui/display.h).
 *
 * The legacy modes are drawn as the CRTC scans them: each output line has
 * a memory address counter (MA) and a row scan counter; MA becomes a plane
 * offset through the addressing mode (doubleword: MA << 2, word: MA << 1,
 * byte: MA) and the CGA/Hercules wraps (CR17 bits 0/1 put row scan bits
 * 0/1 on address bits 13/14).  Each character clock fetches the four
 * plane bytes at that offset and the serializer makes pixels of them:
 *   text      plane 0 = character, plane 1 = attribute, plane 2 = font
 *             (32 bytes a glyph, in the maps SR3 selects); 8 or 9 dots
 *   planar    8 pixels of 4 bits, one bit from each plane (modes 0Dh-12h)
 *   CGA       GR5 bit 5: 2-bit pixels from planes 0/2 then 1/3 (modes 4/5)
 *   256       GR5 bit 6: 4 pixels of 8 bits, one from each plane, each
 *             two dots wide (mode 13h, mode X)
 * 4-bit pixels go through the attribute palette and colour select to the
 * DAC.  The output has the CRTC's resolution in dots (mode 13h is 640x400,
 * 80x25 text is 720x400), like the monitor's picture.
 *
 * Only what changed is drawn again: guest writes through the memory window
 * set bits in a dirty bitmap of video memory (256-byte chunks), a line is
 * redrawn when a chunk it shows is dirty; writes to plane 2 redraw a text
 * screen whole (the font); a register that changes the picture sets
 * full_redraw.  Blinking text and the cursor redraw just their lines when
 * their phase flips.  The VBE packed/direct modes are also written through
 * the linear framebuffer, which the CPU writes as plain memory: each line
 * is compared with a copy of what was drawn last time.
 */
#include "hw/vga.h"

#include <stdlib.h>
#include <string.h>

#include "hw/vga_int.h"
#include "ui/display.h"

_Static_assert(VBE_MAX_XRES <= DISPLAY_MAX_W && VBE_MAX_YRES <= DISPLAY_MAX_H,
               "VBE limits exceed the display");

enum { KIND_NONE, KIND_BLANK, KIND_TEXT, KIND_GFX, KIND_VBE };

struct geom {
    int kind;
    int width, height;      /* output pixels (dots) */
    int cols;               /* character clocks per line */
    int char_w;             /* dots per character clock: 8 or 9 */
    int dot_div;            /* 2: half dot clock, each pixel two dots wide */
    int max_scan;           /* scan lines per character row - 1 */
    bool dbl;               /* double scan */
    uint32_t start;         /* MA of the first line */
    uint32_t stride;        /* MA advance per character row */
    int line_compare;       /* line where MA restarts at 0 (split screen) */
    int cshift;             /* MA counts every 1, 2 or 4 character clocks */
};

/* The text-mode parameters shared by all lines of a frame. */
struct text_ctx {
    uint32_t font_a, font_b;        /* plane offsets of the two glyph maps */
    bool blink_attr;                /* attribute bit 7 blinks (else bright bg) */
    bool blink_on;                  /* blinking characters visible now */
    bool line_gfx;                  /* 9th dot repeats dot 8 for C0h-DFh */
    int underline;                  /* row scan of the underline */
    bool cursor_vis;                /* cursor enabled with a sane shape */
    bool cursor_on;                 /* cursor blink phase */
    uint32_t cursor_cell;           /* MA where the cursor shows */
    int cs, ce;                     /* cursor row scans */
};

/* ---- geometry ------------------------------------------------------------ */

static bool legacy_geom(const struct vga *v, struct geom *g)
{
    const uint8_t *cr = v->cr;
    bool text = !(v->gr[6] & 0x01);
    g->kind = text ? KIND_TEXT : KIND_GFX;
    g->cols = cr[1] + 1;
    g->char_w = text && !(v->sr[1] & 0x01) ? 9 : 8;
    g->dot_div = (v->sr[1] & 0x08) ? 2 : 1;
    g->width = g->cols * g->char_w * g->dot_div;
    g->height = (cr[0x12] | (cr[7] & 0x02) << 7 | (cr[7] & 0x40) << 3) + 1;
    g->max_scan = cr[9] & 0x1F;
    g->dbl = cr[9] & 0x80;
    g->start = ((uint32_t)cr[0x0C] << 8 | cr[0x0D]) + ((cr[8] >> 5) & 3u);
    g->stride = (uint32_t)cr[0x13] * 2;
    g->line_compare = cr[0x18] | (cr[7] & 0x10) << 4 | (cr[9] & 0x40) << 3;
    g->cshift = (cr[0x14] & 0x20) ? 2 : (cr[0x17] & 0x08) ? 1 : 0;
    return g->width >= 64 && g->height >= 64 && g->width <= VBE_MAX_XRES &&
           g->height <= VBE_MAX_YRES;
}

static bool vbe_geom(const struct vga *v, struct geom *g)
{
    memset(g, 0, sizeof(*g));
    g->kind = KIND_VBE;
    g->width = v->vbe[VBE_XRES];
    g->height = v->vbe[VBE_YRES];
    if (v->vbe[VBE_BPP] == 4) {
        g->width &= ~7;
    }
    return g->width > 0 && g->height > 0 && g->width <= VBE_MAX_XRES &&
           g->height <= VBE_MAX_YRES;
}

/* ---- colours --------------------------------------------------------------- */

static void build_pal32(struct vga *v)
{
    bool wide = v->vbe[VBE_ENABLE] & VBE_8BIT_DAC;
    for (int i = 0; i < 256; i++) {
        uint32_t c = 0;
        for (int k = 0; k < 3; k++) {
            uint32_t x = v->dac[i * 3 + k];
            if (!wide) {
                x &= 0x3F;
                x = x << 2 | x >> 4;
            }
            c = c << 8 | (x & 0xFF);
        }
        v->pal32[i] = c;
    }
}

/* The 16 attribute-palette colours: palette register, colour select, DAC. */
static void build_acpal(const struct vga *v, uint32_t acpal[16])
{
    for (unsigned i = 0; i < 16; i++) {
        unsigned p = v->ar[i & v->ar[0x12] & 0x0F];
        if (v->ar[0x10] & 0x80) {
            p = (p & 0x0F) | (v->ar[0x14] & 0x03u) << 4;
        }
        p = (p & 0x3F) | (v->ar[0x14] & 0x0Cu) << 4;
        acpal[i] = v->pal32[p & v->pel_mask];
    }
}

/* ---- the CRTC's addressing ------------------------------------------------- */

/* Plane offset the CRTC fetches for memory address `ma` on row scan `rsc`. */
static inline uint32_t crtc_addr(const struct vga *v, uint32_t ma, int rsc)
{
    uint32_t a;
    uint8_t mode = v->cr[0x17];
    if (v->cr[0x14] & 0x40) {
        a = ma << 2 | ((ma >> 14) & 3);
    } else if (!(mode & 0x40)) {
        a = ma << 1 | ((mode & 0x20) ? (ma >> 15) & 1 : (ma >> 13) & 1);
    } else {
        a = ma;
    }
    if (!(mode & 0x01)) {
        a = (a & ~0x2000u) | ((uint32_t)rsc & 1) << 13;
    }
    if (!(mode & 0x02)) {
        a = (a & ~0x4000u) | ((uint32_t)rsc & 2) << 13;
    }
    return a & (VGA_PLANE_SIZE - 1);
}

/* Did the guest write any memory the line at (ma, rsc) shows? */
static bool line_dirty(const struct vga *v, uint32_t ma, int rsc, int ncells)
{
    if (!v->any_dirty) {
        return false;
    }
    uint32_t last = UINT32_MAX;
    for (int c = 0; c < ncells; c++) {
        uint32_t chunk = crtc_addr(v, ma + (uint32_t)c, rsc) * 4 >> VGA_DIRTY_SHIFT;
        if (chunk != last) {
            if (v->dirty[chunk >> 6] & (1ull << (chunk & 63))) {
                return true;
            }
            last = chunk;
        }
    }
    return false;
}

/* Emit one pixel `dd` (1 or 2) dots wide. */
static inline uint32_t *put_dots(uint32_t *p, uint32_t col, int dd)
{
    p[0] = col;
    if (dd == 2) {
        p[1] = col;
    }
    return p + dd;
}

/* ---- text ---------------------------------------------------------------- */

/* Plane-2 offset of glyph map n (SR3 encoding: 0-3 at 16K steps, 4-7 +8K). */
static uint32_t font_base(unsigned n)
{
    return (n & 3) * 0x4000u + ((n & 4) ? 0x2000u : 0);
}

static void text_setup(const struct vga *v, struct text_ctx *t, const struct geom *g)
{
    uint8_t sr3 = v->sr[3];
    t->font_a = font_base(((sr3 >> 3) & 4) | ((sr3 >> 2) & 3));
    t->font_b = font_base(((sr3 >> 2) & 4) | (sr3 & 3));
    t->blink_attr = v->ar[0x10] & 0x08;
    t->line_gfx = v->ar[0x10] & 0x04;
    t->underline = v->cr[0x14] & 0x1F;
    uint64_t frame = clock_ns(v->clk) / VGA_FRAME_NS;
    t->blink_on = !((frame >> 4) & 1);   /* 32-frame period */
    t->cursor_on = !((frame >> 3) & 1);  /* 16-frame period */
    t->cs = v->cr[0x0A] & 0x1F;
    t->ce = v->cr[0x0B] & 0x1F;
    t->cursor_vis = !(v->cr[0x0A] & 0x20) && t->cs <= t->ce && t->cs <= g->max_scan;
    t->cursor_cell = ((uint32_t)v->cr[0x0E] << 8 | v->cr[0x0F]) + ((v->cr[0x0B] >> 5) & 3u);
}

/* Draw one text scan line into v->linebuf; returns its line flags. */
static uint8_t text_line(struct vga *v, const struct geom *g, const struct text_ctx *t,
                         const uint32_t acpal[16], uint32_t ma, int rsc, int ncells)
{
    uint32_t *p = v->linebuf;
    uint8_t flags = 0;
    int dd = g->dot_div;
    for (int c = 0; c < ncells; c++) {
        uint32_t cell = ma + ((uint32_t)c >> g->cshift);
        const uint8_t *m = &v->vram[crtc_addr(v, cell, rsc) * 4];
        uint8_t ch = m[0], at = m[1];
        uint32_t glyph = ((at & 0x08) ? t->font_a : t->font_b) + ch * 32u + (uint32_t)rsc;
        uint8_t bits = v->vram[(glyph & (VGA_PLANE_SIZE - 1)) * 4 + 2];
        unsigned fg = at & 0x0F, bg = at >> 4;
        bool solid = false;
        if (t->blink_attr) {
            bg &= 7;
            if (at & 0x80) {
                flags |= VGA_LINE_BLINK;
                fg = t->blink_on ? fg : bg;
            }
        }
        if (rsc == t->underline && (at & 0x77) == 0x01) {
            solid = true;
        }
        if (t->cursor_vis && cell == t->cursor_cell && rsc >= t->cs && rsc <= t->ce) {
            flags |= VGA_LINE_CURSOR;
            solid = solid || t->cursor_on;
        }
        if (solid) {
            bits = 0xFF;
        }
        uint32_t f = acpal[fg], b = acpal[bg];
        for (int i = 7; i >= 0; i--) {
            p = put_dots(p, (bits >> i) & 1 ? f : b, dd);
        }
        if (g->char_w == 9) {
            bool ninth = solid || (t->line_gfx && ch >= 0xC0 && ch <= 0xDF && (bits & 1));
            p = put_dots(p, ninth ? f : b, dd);
        }
    }
    return flags;
}

/* Is the cursor on the line at (ma, rsc)? */
static bool cursor_in_line(const struct text_ctx *t, uint32_t ma, int rsc, int ncells)
{
    return t->cursor_vis && t->cursor_cell - ma < (uint32_t)ncells && rsc >= t->cs &&
           rsc <= t->ce;
}

/* The characters and cursor position for -screen-text and tests. */
static void fill_text(const struct vga *v, const struct geom *g, const struct text_ctx *t,
                      struct display *d)
{
    int cols = g->cols;
    int rows = g->height / ((g->max_scan + 1) * (g->dbl ? 2 : 1));
    if (cols * rows > DISPLAY_TEXT_MAX) {
        rows = DISPLAY_TEXT_MAX / cols;
    }
    d->text_cols = cols;
    d->text_rows = rows;
    for (int r = 0; r < rows; r++) {
        for (int c = 0; c < cols; c++) {
            const uint8_t *m = &v->vram[crtc_addr(v, g->start + (uint32_t)r * g->stride +
                                                           (uint32_t)c, 0) * 4];
            d->text[r * cols + c] = (uint16_t)(m[0] | m[1] << 8);
        }
    }
    d->cursor_x = d->cursor_y = -1;
    uint32_t rel = t->cursor_cell - g->start;
    if (t->cursor_vis && g->stride && rel / g->stride < (uint32_t)rows &&
        rel % g->stride < (uint32_t)cols) {
        d->cursor_x = (int)(rel % g->stride);
        d->cursor_y = (int)(rel / g->stride);
    }
}

/* ---- graphics --------------------------------------------------------------- */

/* Draw one graphics scan line into v->linebuf. */
static void gfx_line(struct vga *v, const struct geom *g, const uint32_t acpal[16],
                     uint32_t ma, int rsc, int ncells)
{
    uint32_t *p = v->linebuf;
    int dd = g->dot_div;
    bool shift256 = v->gr[5] & 0x40, cga = v->gr[5] & 0x20;
    for (int c = 0; c < ncells; c++) {
        const uint8_t *m = &v->vram[crtc_addr(v, ma + ((uint32_t)c >> g->cshift), rsc) * 4];
        if (shift256) {
            for (int i = 0; i < 4; i++) {
                uint32_t col = v->pal32[m[i] & v->pel_mask];
                p = put_dots(put_dots(p, col, dd), col, dd);
            }
        } else if (cga) {
            for (int i = 0; i < 8; i++) {
                int sh = 6 - 2 * (i & 3);
                uint8_t lo = i < 4 ? m[0] : m[1], hi = i < 4 ? m[2] : m[3];
                p = put_dots(p, acpal[((lo >> sh) & 3) | ((hi >> sh) & 3) << 2], dd);
            }
        } else {
            for (int i = 7; i >= 0; i--) {
                unsigned idx = ((m[0] >> i) & 1) | ((m[1] >> i) & 1) << 1 |
                               ((m[2] >> i) & 1) << 2 | ((m[3] >> i) & 1) << 3;
                p = put_dots(p, acpal[idx], dd);
            }
        }
    }
}

/* Horizontal pixel panning in dots. */
static int pan_dots(const struct vga *v, const struct geom *g)
{
    int n = v->ar[0x13] & 0x0F;
    if (g->kind == KIND_TEXT && g->char_w == 9) {
        n = n >= 8 ? 0 : n + 1;
    } else if (v->gr[5] & 0x40) {
        n &= 6;
    } else {
        n &= 7;
    }
    return n * g->dot_div;
}

/* ---- the frame --------------------------------------------------------------- */

struct frame_state {
    bool full, blink_changed, cursor_changed;
    int y0, y1;            /* current run of redrawn lines */
    bool any;
};

static void flush_run(struct display *d, struct frame_state *fs)
{
    if (fs->y1 > fs->y0) {
        display_mark_dirty(d, fs->y0, fs->y1);
    }
    fs->y0 = fs->y1 = 0;
}

static void note_line(struct display *d, struct frame_state *fs, int y)
{
    if (fs->y1 != y) {
        flush_run(d, fs);
        fs->y0 = y;
    }
    fs->y1 = y + 1;
    fs->any = true;
}

/* Walk the CRTC down the frame, drawing the lines that changed. */
static void render_legacy(struct vga *v, struct display *d, const struct geom *g,
                          const struct text_ctx *t, struct frame_state *fs)
{
    bool text = g->kind == KIND_TEXT;
    if (!fs->full && !v->any_dirty && !(text && (v->font_dirty || fs->blink_changed ||
                                                 fs->cursor_changed))) {
        return;   /* idle: nothing the picture depends on has changed */
    }
    uint32_t acpal[16];
    build_acpal(v, acpal);
    int pan = pan_dots(v, g);
    uint32_t ma = g->start;
    int rsc = v->cr[8] & 0x1F, phase = 0;
    /* lines of one character row read the same memory unless the row scan
     * counter feeds address bits 13/14: remember the last answer */
    int key_mask = ((v->cr[0x17] & 1) ? 0 : 1) | ((v->cr[0x17] & 2) ? 0 : 2);
    uint32_t prev_ma = UINT32_MAX;
    int prev_key = -1;
    bool prev_dirty = false;
    for (int y = 0; y < g->height; y++) {
        if (y == g->line_compare) {
            ma = 0;
            rsc = 0;
            phase = 0;
            if (v->ar[0x10] & 0x20) {
                pan = 0;
            }
            prev_ma = UINT32_MAX;
        }
        int ncells = g->cols + (pan ? 1 : 0);
        int span = ((ncells - 1) >> g->cshift) + 1;
        if (!fs->full && (ma != prev_ma || (rsc & key_mask) != prev_key)) {
            prev_dirty = line_dirty(v, ma, rsc, span);
            prev_ma = ma;
            prev_key = rsc & key_mask;
        }
        bool redraw = fs->full || prev_dirty;
        if (text && !redraw) {
            uint8_t fl = v->line_flags[y];
            redraw = v->font_dirty || (fs->blink_changed && (fl & VGA_LINE_BLINK)) ||
                     (fs->cursor_changed &&
                      ((fl & VGA_LINE_CURSOR) || cursor_in_line(t, ma, rsc, span)));
        }
        if (redraw) {
            if (text) {
                v->line_flags[y] = text_line(v, g, t, acpal, ma, rsc, ncells);
            } else {
                gfx_line(v, g, acpal, ma, rsc, ncells);
                v->line_flags[y] = 0;
            }
            memcpy(d->pixels + (size_t)y * (size_t)g->width, v->linebuf + pan,
                   (size_t)g->width * sizeof(uint32_t));
            note_line(d, fs, y);
        }
        if (g->dbl && phase == 0) {
            phase = 1;
        } else {
            phase = 0;
            if (rsc >= g->max_scan) {
                rsc = 0;
                ma += g->stride;
            } else {
                rsc++;
            }
        }
    }
}

/* Widen 5- and 6-bit colour fields to 8 bits. */
static inline uint32_t w5(uint32_t x)
{
    return x << 3 | x >> 2;
}

static inline uint32_t w6(uint32_t x)
{
    return x << 2 | x >> 4;
}

/* Convert one line of a VBE packed/direct mode. */
static void vbe_convert(const struct vga *v, const uint8_t *s, uint32_t *out, int w, int bpp)
{
    switch (bpp) {
    case 8:
        for (int x = 0; x < w; x++) {
            out[x] = v->pal32[s[x] & v->pel_mask];
        }
        break;
    case 15:
        for (int x = 0; x < w; x++, s += 2) {
            uint32_t px = s[0] | (uint32_t)s[1] << 8;
            out[x] = w5((px >> 10) & 31) << 16 | w5((px >> 5) & 31) << 8 | w5(px & 31);
        }
        break;
    case 16:
        for (int x = 0; x < w; x++, s += 2) {
            uint32_t px = s[0] | (uint32_t)s[1] << 8;
            out[x] = w5(px >> 11) << 16 | w6((px >> 5) & 63) << 8 | w5(px & 31);
        }
        break;
    case 24:
        for (int x = 0; x < w; x++, s += 3) {
            out[x] = (uint32_t)s[2] << 16 | (uint32_t)s[1] << 8 | s[0];
        }
        break;
    default:
        for (int x = 0; x < w; x++, s += 4) {
            out[x] = (uint32_t)s[2] << 16 | (uint32_t)s[1] << 8 | s[0];
        }
        break;
    }
}

/* VBE 4 bpp: planar lines of vbe_line plane offsets, through the palette. */
static void render_vbe_planar(struct vga *v, struct display *d, const struct geom *g,
                              struct frame_state *fs)
{
    uint32_t acpal[16];
    build_acpal(v, acpal);
    uint32_t planes = v->vram_size / 4;
    for (int y = 0; y < g->height; y++) {
        uint32_t po = v->vbe_start + (uint32_t)y * v->vbe_line;
        uint32_t n = (uint32_t)g->width / 8;
        if (!fs->full && !(v->any_dirty && vga_range_dirty(v, po * 4, (po + n) * 4 + 3))) {
            continue;
        }
        uint32_t *out = d->pixels + (size_t)y * (size_t)g->width;
        for (uint32_t c = 0; c < n; c++) {
            const uint8_t *m = &v->vram[((po + c) & (planes - 1)) * 4];
            for (int i = 7; i >= 0; i--) {
                *out++ = acpal[((m[0] >> i) & 1) | ((m[1] >> i) & 1) << 1 |
                               ((m[2] >> i) & 1) << 2 | ((m[3] >> i) & 1) << 3];
            }
        }
        note_line(d, fs, y);
    }
}

static void render_vbe(struct vga *v, struct display *d, const struct geom *g,
                       struct frame_state *fs)
{
    int bpp = v->vbe[VBE_BPP];
    if (bpp == 4) {
        render_vbe_planar(v, d, g, fs);
        return;
    }
    size_t nbytes = (size_t)g->width * ((bpp + 7u) / 8u);
    size_t need = nbytes * (size_t)g->height;
    if (need > v->shadow_size) {
        uint8_t *s = realloc(v->shadow, need);
        if (!s) {
            return;
        }
        v->shadow = s;
        v->shadow_size = (uint32_t)need;
        fs->full = true;
    }
    for (int y = 0; y < g->height; y++) {
        uint64_t off = v->vbe_start + (uint64_t)y * v->vbe_line;
        uint32_t *out = d->pixels + (size_t)y * (size_t)g->width;
        uint8_t *sh = v->shadow + (size_t)y * nbytes;
        if (off + nbytes > v->vram_size) {
            if (fs->full) {
                memset(out, 0, (size_t)g->width * sizeof(*out));
                note_line(d, fs, y);
            }
            continue;
        }
        const uint8_t *src = v->vram + off;
        if (!fs->full && memcmp(sh, src, nbytes) == 0) {
            continue;
        }
        memcpy(sh, src, nbytes);
        vbe_convert(v, src, out, g->width, bpp);
        note_line(d, fs, y);
    }
}

/* Forget what the guest wrote since the last frame. */
static void clear_dirty(struct vga *v)
{
    if (v->any_dirty) {
        memset(v->dirty, 0, sizeof(v->dirty));
        v->any_dirty = false;
    }
    v->font_dirty = false;
    v->full_redraw = false;
}

/* Pick the mode and its size; false when the screen is blank. */
static bool choose_geom(const struct vga *v, struct geom *g)
{
    bool ok = vga_vbe_on(v) ? vbe_geom(v, g) : legacy_geom(v, g);
    if (!ok) {
        memset(g, 0, sizeof(*g));
        g->width = 640;
        g->height = 480;
        g->kind = KIND_BLANK;
        return false;
    }
    /* screen off (SR1 bit 5) or palette access by the CPU (AR index bit 5
     * clear) blank a VGA; the VBE modes ignore both, as QEMU's do */
    if (!vga_vbe_on(v) && ((v->sr[1] & 0x20) || !(v->ar_index & 0x20))) {
        g->kind = KIND_BLANK;
        return false;
    }
    return true;
}

/* Follow the cursor and blink phases: which of them changed since last time. */
static void track_text_state(struct vga *v, const struct text_ctx *t, struct frame_state *fs)
{
    /* a hidden cursor has no shape: start 0xFF never matches a visible one */
    uint8_t start = (uint8_t)(t->cursor_vis ? t->cs : 0xFF);
    fs->blink_changed = t->blink_on != v->last_blink_on;
    fs->cursor_changed = t->cursor_on != v->last_cursor_on || t->cursor_cell != v->cursor_addr ||
                         start != v->cursor_start || t->ce != v->cursor_end;
    v->last_blink_on = t->blink_on;
    v->last_cursor_on = t->cursor_on;
    v->cursor_addr = t->cursor_cell;
    v->cursor_start = start;
    v->cursor_end = (uint8_t)t->ce;
}

bool vga_render(struct vga *v, struct display *d)
{
    if (v->pal_dirty) {
        build_pal32(v);
        v->pal_dirty = false;
        v->full_redraw = true;
    }
    struct geom g;
    choose_geom(v, &g);
    struct frame_state fs = { .full = v->full_redraw || g.kind != v->last_kind };
    if (d->width != g.width || d->height != g.height || !d->pixels) {
        if (display_resize(d, g.width, g.height) < 0) {
            return false;
        }
        fs.full = true;
    }
    struct text_ctx t;
    memset(&t, 0, sizeof(t));
    if (g.kind == KIND_TEXT) {
        text_setup(v, &t, &g);
        track_text_state(v, &t, &fs);
    }
    switch (g.kind) {
    case KIND_TEXT:
    case KIND_GFX:
        render_legacy(v, d, &g, &t, &fs);
        break;
    case KIND_VBE:
        render_vbe(v, d, &g, &fs);
        break;
    default:
        if (fs.full) {
            memset(d->pixels, 0, (size_t)g.width * (size_t)g.height * sizeof(uint32_t));
            fs.y0 = 0;
            fs.y1 = g.height;
            fs.any = true;
        }
        break;
    }
    flush_run(d, &fs);
    if (g.kind == KIND_TEXT) {
        if (fs.any || v->last_kind != KIND_TEXT) {
            fill_text(v, &g, &t, d);
        }
    } else {
        d->text_cols = d->text_rows = 0;
        d->cursor_x = d->cursor_y = -1;
    }
    v->last_kind = g.kind;
    v->last_w = g.width;
    v->last_h = g.height;
    clear_dirty(v);
    return fs.any;
}
