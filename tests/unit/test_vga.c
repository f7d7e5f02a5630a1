/*
 * VGA + Bochs VBE (QEMU stdvga) on a bare bus, PCI bus and deterministic
 * clock.  Register values for the standard modes (3, 4, 12h, 13h) are the
 * IBM VGA BIOS parameter tables; expected behaviour (write modes, colour
 * compare, chain-4 and odd/even addressing, DAC auto-increment, attribute
 * flip-flop) follows the IBM VGA technical reference.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "hw/bus.h"
#include "hw/pci.h"
#include "hw/timer.h"
#include "hw/vga.h"
#include "hw/vga_int.h"
#include "ui/display.h"

#define DEVFN (2 << 3)
#define LFB 0xE0000000u

static struct bus *bus;
static struct pci_bus pb;
static struct clock clk;
static uint64_t now;     /* the clock's instruction count: 1 ns each */
static struct vga *vga;
static struct display *disp;

static void setup(void)
{
    now = 0;
    clock_init(&clk, CLOCK_DETERMINISTIC, &now);
    clk.ns_per_insn_q8 = 256;
    bus = bus_new(1u << 20);
    pci_bus_init(&pb, bus);
    vga = vga_new(&pb, DEVFN, bus, &clk);
    cr_assert_not_null(vga);
    disp = display_new();
    cr_assert_not_null(disp);
}

static void teardown(void)
{
    display_free(disp);
    vga_free(vga);
    bus_free(bus);
}

TestSuite(vga, .init = setup, .fini = teardown);

static void outb(uint16_t port, uint8_t v)
{
    bus_out(bus, port, v, 1);
}

static uint8_t inb(uint16_t port)
{
    return (uint8_t)bus_in(bus, port, 1);
}

static void wreg(uint16_t port, uint8_t idx, uint8_t v)
{
    outb(port, idx);
    outb(port + 1, v);
}

static uint8_t rreg(uint16_t port, uint8_t idx)
{
    outb(port, idx);
    return inb(port + 1);
}

static void vbe_w(uint16_t idx, uint16_t v)
{
    bus_out(bus, 0x1CE, idx, 2);
    bus_out(bus, 0x1CF, v, 2);
}

static uint16_t vbe_r(uint16_t idx)
{
    bus_out(bus, 0x1CE, idx, 2);
    return (uint16_t)bus_in(bus, 0x1CF, 2);
}

static void memw(uint32_t a, uint8_t v)
{
    bus_write(bus, a, v, 1);
}

static uint8_t memr(uint32_t a)
{
    return (uint8_t)bus_read(bus, a, 1);
}

struct mode_regs {
    uint8_t misc, sr[5], cr[25], gr[9], ar[21];
};

/* IBM VGA parameter tables. */
static const struct mode_regs mode3 = {
    0x67, { 0x03, 0x00, 0x03, 0x00, 0x02 },
    { 0x5F, 0x4F, 0x50, 0x82, 0x55, 0x81, 0xBF, 0x1F, 0x00, 0x4F, 0x0D, 0x0E, 0x00,
      0x00, 0x00, 0x00, 0x9C, 0x8E, 0x8F, 0x28, 0x1F, 0x96, 0xB9, 0xA3, 0xFF },
    { 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0E, 0x00, 0xFF },
    { 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38, 0x39, 0x3A, 0x3B, 0x3C,
      0x3D, 0x3E, 0x3F, 0x0C, 0x00, 0x0F, 0x08, 0x00 },
};
static const struct mode_regs mode7 = {
    0xA6, { 0x03, 0x00, 0x03, 0x00, 0x02 },
    { 0x5F, 0x4F, 0x50, 0x82, 0x55, 0x81, 0xBF, 0x1F, 0x00, 0x4F, 0x0D, 0x0E, 0x00,
      0x00, 0x00, 0x00, 0x9C, 0x8E, 0x8F, 0x28, 0x0F, 0x96, 0xB9, 0xA3, 0xFF },
    { 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0A, 0x00, 0xFF },
    { 0x00, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x10, 0x18, 0x18, 0x18, 0x18,
      0x18, 0x18, 0x18, 0x0E, 0x00, 0x0F, 0x08, 0x00 },
};
static const struct mode_regs mode4 = {
    0x63, { 0x03, 0x09, 0x03, 0x00, 0x02 },
    { 0x2D, 0x27, 0x28, 0x90, 0x2B, 0x80, 0xBF, 0x1F, 0x00, 0xC1, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x9C, 0x8E, 0x8F, 0x14, 0x00, 0x96, 0xB9, 0xA2, 0xFF },
    { 0x00, 0x00, 0x00, 0x00, 0x00, 0x30, 0x0F, 0x00, 0xFF },
    { 0x00, 0x13, 0x15, 0x17, 0x02, 0x04, 0x06, 0x07, 0x10, 0x11, 0x12, 0x13, 0x14,
      0x15, 0x16, 0x17, 0x01, 0x00, 0x03, 0x00, 0x00 },
};
static const struct mode_regs mode12 = {
    0xE3, { 0x03, 0x01, 0x0F, 0x00, 0x06 },
    { 0x5F, 0x4F, 0x50, 0x82, 0x54, 0x80, 0x0B, 0x3E, 0x00, 0x40, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0xEA, 0x8C, 0xDF, 0x28, 0x00, 0xE7, 0x04, 0xE3, 0xFF },
    { 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x0F, 0xFF },
    { 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38, 0x39, 0x3A, 0x3B, 0x3C,
      0x3D, 0x3E, 0x3F, 0x01, 0x00, 0x0F, 0x00, 0x00 },
};
static const struct mode_regs mode13 = {
    0x63, { 0x03, 0x01, 0x0F, 0x00, 0x0E },
    { 0x5F, 0x4F, 0x50, 0x82, 0x54, 0x80, 0xBF, 0x1F, 0x00, 0x41, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x9C, 0x0E, 0x8F, 0x28, 0x40, 0x96, 0xB9, 0xA3, 0xFF },
    { 0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x05, 0x0F, 0xFF },
    { 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C,
      0x0D, 0x0E, 0x0F, 0x41, 0x00, 0x0F, 0x00, 0x00 },
};

static void set_mode(const struct mode_regs *m)
{
    uint16_t crtc = (m->misc & 1) ? 0x3D4 : 0x3B4;
    outb(0x3C2, m->misc);
    for (int i = 0; i < 5; i++) {
        wreg(0x3C4, (uint8_t)i, m->sr[i]);
    }
    wreg(crtc, 0x11, 0x00);   /* unprotect CR0-7 */
    for (int i = 0; i < 25; i++) {
        wreg(crtc, (uint8_t)i, m->cr[i]);
    }
    for (int i = 0; i < 9; i++) {
        wreg(0x3CE, (uint8_t)i, m->gr[i]);
    }
    inb((uint16_t)(crtc + 6));
    for (int i = 0; i < 21; i++) {
        outb(0x3C0, (uint8_t)i);
        outb(0x3C0, m->ar[i]);
    }
    outb(0x3C0, 0x20);   /* palette address source: video on */
}

static void set_dac(uint8_t idx, uint8_t r, uint8_t g, uint8_t b)
{
    outb(0x3C8, idx);
    outb(0x3C9, r);
    outb(0x3C9, g);
    outb(0x3C9, b);
}

static uint32_t px(int x, int y)
{
    return disp->pixels[y * disp->width + x];
}

/* Planar memory access setup: A0000/64K, no chain-4, no odd/even. */
static void planar(void)
{
    wreg(0x3C4, 4, 0x06);
    wreg(0x3C4, 2, 0x0F);
    wreg(0x3CE, 5, 0x00);
    wreg(0x3CE, 6, 0x05);
    wreg(0x3CE, 8, 0xFF);
}

static uint8_t plane_byte(int plane, uint32_t off)
{
    return vga->vram[off * 4 + (uint32_t)plane];
}

/* ---- PCI ---------------------------------------------------------------- */

Test(vga, pci_identity_and_bars)
{
    cr_expect_eq(pci_config_read(&pb, DEVFN, 0x00, 4), 0x11111234u);
    cr_expect_eq(pci_config_read(&pb, DEVFN, 0x08, 4) >> 8, 0x030000u);
    cr_expect_eq(pci_config_read(&pb, DEVFN, 0x2C, 4), 0x11001AF4u);
    pci_config_write(&pb, DEVFN, 0x10, 0xFFFFFFFFu, 4);
    cr_expect_eq(pci_config_read(&pb, DEVFN, 0x10, 4), 0xFF000008u, "16 MiB prefetchable");
    pci_config_write(&pb, DEVFN, 0x18, 0xFFFFFFFFu, 4);
    cr_expect_eq(pci_config_read(&pb, DEVFN, 0x18, 4), 0xFFFFF000u, "4 KiB MMIO");
    /* the framebuffer BAR is the video memory */
    pci_config_write(&pb, DEVFN, 0x10, LFB, 4);
    pci_config_write(&pb, DEVFN, 0x18, 0xFEBF0000u, 4);
    pci_config_write(&pb, DEVFN, 0x04, PCI_CMD_MEM, 2);
    bus_write(bus, LFB + 0x123456, 0xAB, 1);
    cr_expect_eq(vga->vram[0x123456], 0xAB);
    bool w;
    cr_expect_eq(bus_page_ptr(bus, LFB + 0x5000, &w), vga->vram + 0x5000, "plain memory");
    /* BAR2: QEMU's MMIO layout */
    cr_expect_eq(bus_read(bus, 0xFEBF0500, 2), 0xB0C5, "DISPI ID at 500h");
    bus_write(bus, 0xFEBF0500 + 2 * VBE_XRES, 800, 2);
    cr_expect_eq(vbe_r(VBE_XRES), 800);
    bus_write(bus, 0xFEBF0400 + 0x08, 0x07, 1);   /* 3C8 */
    cr_expect_eq(inb(0x3C8), 0x07);
    bus_write(bus, 0xFEBF0400 + 0x04, 0x0F02, 2);  /* 3C4/3C5 as one word */
    cr_expect_eq(rreg(0x3C4, 2), 0x0F);
    cr_expect_eq(bus_read(bus, 0xFEBF0600, 4), 8);
}

/* ---- registers ------------------------------------------------------------- */

Test(vga, register_read_back_masks)
{
    outb(0x3C2, 0x67);
    cr_expect_eq(inb(0x3CC), 0x67);
    wreg(0x3C4, 1, 0xFF);
    cr_expect_eq(rreg(0x3C4, 1), 0x3D, "SR1 bits 1, 6, 7 are reserved");
    wreg(0x3C4, 4, 0xFF);
    cr_expect_eq(rreg(0x3C4, 4), 0x0E);
    wreg(0x3CE, 5, 0xFF);
    cr_expect_eq(rreg(0x3CE, 5), 0x7B, "GR5 bits 2 and 7 are reserved");
    wreg(0x3CE, 3, 0xFF);
    cr_expect_eq(rreg(0x3CE, 3), 0x1F);
    cr_expect_eq(inb(0x3C4), 0x04, "index reads back");
    /* CRTC protect: CR0-7 locked except CR7 bit 4 */
    wreg(0x3D4, 0x11, 0x00);
    wreg(0x3D4, 0x01, 0x4F);
    wreg(0x3D4, 0x07, 0x00);
    wreg(0x3D4, 0x11, 0x80);
    wreg(0x3D4, 0x01, 0x27);
    cr_expect_eq(rreg(0x3D4, 0x01), 0x4F, "protected");
    wreg(0x3D4, 0x07, 0xFF);
    cr_expect_eq(rreg(0x3D4, 0x07), 0x10, "only line compare bit 8 writes");
    wreg(0x3D4, 0x13, 0x28);
    cr_expect_eq(rreg(0x3D4, 0x13), 0x28, "CR13 is not protected");
    /* mono: 3Dx goes away, 3Bx appears */
    outb(0x3C2, 0x66);
    cr_expect_eq(inb(0x3D5), 0xFF);
    cr_expect_eq(rreg(0x3B4, 0x13), 0x28);
}

Test(vga, attribute_flip_flop)
{
    outb(0x3C2, 0x63);   /* colour: input status 1 at 3DA */
    inb(0x3DA);
    outb(0x3C0, 0x01);
    outb(0x3C0, 0x15);
    outb(0x3C0, 0x22);   /* index 2 with PAS set */
    cr_expect_eq(inb(0x3C0), 0x22);
    outb(0x3C0, 0x3F);
    cr_expect_eq(inb(0x3C1), 0x3F);
    /* an index write leaves the flip-flop on data; 3DA resets it */
    outb(0x3C0, 0x01);
    inb(0x3DA);
    outb(0x3C0, 0x01);   /* index again, not data */
    cr_expect_eq(inb(0x3C1), 0x15, "palette 1 kept");
    outb(0x3C0, 0xFF);
    cr_expect_eq(inb(0x3C1), 0x3F, "palette registers are 6 bits");
    outb(0x3C0, 0x10);
    outb(0x3C0, 0xFF);
    cr_expect_eq(inb(0x3C1), 0xEF, "mode control bit 4 reserved");
    /* in mono mode 3DA is not decoded and leaves the flip-flop alone */
    outb(0x3C2, 0x62);
    outb(0x3C0, 0x11);
    cr_expect_eq(inb(0x3DA), 0xFF);
    outb(0x3C0, 0x05);
    cr_expect_eq(inb(0x3C0), 0x11, "that write was data");
    cr_expect_eq(inb(0x3C1), 0x05);
    inb(0x3BA);
    outb(0x3C0, 0x12);
    cr_expect_eq(inb(0x3C0), 0x12, "3BA reset it");
}

Test(vga, dac_auto_increment)
{
    outb(0x3C8, 5);
    for (int i = 0; i < 6; i++) {
        outb(0x3C9, (uint8_t)(10 + i));
    }
    cr_expect_eq(inb(0x3C8), 7, "write index advanced by two entries");
    cr_expect_eq(inb(0x3C7), 0x00, "DAC state: write");
    outb(0x3C7, 5);
    cr_expect_eq(inb(0x3C7), 0x03, "DAC state: read");
    for (int i = 0; i < 6; i++) {
        cr_expect_eq(inb(0x3C9), 10 + i);
    }
    outb(0x3C8, 0);
    outb(0x3C9, 0xFF);
    outb(0x3C9, 0x40);
    outb(0x3C9, 0x3F);
    outb(0x3C7, 0);
    cr_expect_eq(inb(0x3C9), 0x3F, "six bits");
    cr_expect_eq(inb(0x3C9), 0x00);
    cr_expect_eq(inb(0x3C9), 0x3F);
    outb(0x3C6, 0x0F);
    cr_expect_eq(inb(0x3C6), 0x0F);
}

Test(vga, retrace_follows_the_clock)
{
    set_mode(&mode3);
    /* 70 Hz frame of 449 lines; retrace on lines 412-413 (CR10 9Ch + 100h) */
    uint64_t line = VGA_FRAME_NS / 449;
    now = 10;
    cr_expect_eq(inb(0x3DA) & 0x09, 0x00, "top left: displaying");
    now = 412 * line + 10;
    cr_expect_eq(inb(0x3DA) & 0x09, 0x09, "vertical retrace");
    now = 405 * line + 10;
    cr_expect_eq(inb(0x3DA) & 0x09, 0x01, "vertical blanking, no retrace");
    now = 100 * line + line * 9 / 10;
    cr_expect_eq(inb(0x3DA) & 0x09, 0x01, "horizontal blanking");
    /* over a second: about 70 retrace starts */
    int starts = 0, prev = 0;
    for (now = 0; now < NS_PER_SEC; now += line / 2) {
        int r = inb(0x3DA) & 8;
        starts += r && !prev;
        prev = r;
    }
    cr_expect(starts >= 69 && starts <= 71, "%d retraces", starts);
}

/* ---- memory ----------------------------------------------------------------- */

Test(vga, write_mode_0_set_reset_rotate_logic)
{
    planar();
    memw(0xA0000, 0xA5);
    for (int p = 0; p < 4; p++) {
        cr_expect_eq(plane_byte(p, 0), 0xA5);
    }
    wreg(0x3CE, 1, 0x0F);   /* enable set/reset on all planes */
    wreg(0x3CE, 0, 0x05);
    memw(0xA0001, 0x00);
    cr_expect_eq(plane_byte(0, 1), 0xFF);
    cr_expect_eq(plane_byte(1, 1), 0x00);
    cr_expect_eq(plane_byte(2, 1), 0xFF);
    cr_expect_eq(plane_byte(3, 1), 0x00);
    wreg(0x3CE, 1, 0x00);
    /* bit mask keeps latched bits */
    memw(0xA0002, 0x0F);
    (void)memr(0xA0002);
    wreg(0x3CE, 8, 0xF0);
    memw(0xA0002, 0xA0);
    cr_expect_eq(plane_byte(0, 2), 0xAF);
    /* rotate right by 1, XOR with the latch */
    wreg(0x3CE, 8, 0xFF);
    memw(0xA0003, 0x3C);
    (void)memr(0xA0003);
    wreg(0x3CE, 3, 0x18 | 1);
    memw(0xA0003, 0x81);
    cr_expect_eq(plane_byte(1, 3), 0xC0 ^ 0x3C);
    /* the map mask limits planes */
    wreg(0x3CE, 3, 0x00);
    wreg(0x3C4, 2, 0x02);
    memw(0xA0004, 0x77);
    cr_expect_eq(plane_byte(0, 4), 0x00);
    cr_expect_eq(plane_byte(1, 4), 0x77);
}

Test(vga, write_modes_1_2_3)
{
    planar();
    static const uint8_t vals[4] = { 0x11, 0x22, 0x44, 0x88 };
    for (int p = 0; p < 4; p++) {
        wreg(0x3C4, 2, (uint8_t)(1 << p));
        memw(0xA0010, vals[p]);
    }
    wreg(0x3C4, 2, 0x0F);
    /* mode 1: the latches go to memory whole */
    wreg(0x3CE, 5, 0x01);
    (void)memr(0xA0010);
    memw(0xA0020, 0x00);
    for (int p = 0; p < 4; p++) {
        cr_expect_eq(plane_byte(p, 0x20), vals[p]);
    }
    /* mode 2: CPU bits 0-3 fill the planes, through the bit mask */
    wreg(0x3CE, 5, 0x02);
    wreg(0x3CE, 8, 0x0F);
    (void)memr(0xA0010);
    memw(0xA0030, 0x05);
    cr_expect_eq(plane_byte(0, 0x30), 0x1F);
    cr_expect_eq(plane_byte(1, 0x30), 0x20);
    cr_expect_eq(plane_byte(2, 0x30), 0x4F);
    cr_expect_eq(plane_byte(3, 0x30), 0x80);
    /* mode 3: set/reset colour, rotated CPU data ANDed into the bit mask */
    wreg(0x3CE, 5, 0x03);
    wreg(0x3CE, 8, 0xFF);
    wreg(0x3CE, 0, 0x0A);
    (void)memr(0xA0040);   /* latches 0 */
    memw(0xA0040, 0xF0);
    cr_expect_eq(plane_byte(0, 0x40), 0x00);
    cr_expect_eq(plane_byte(1, 0x40), 0xF0);
    cr_expect_eq(plane_byte(2, 0x40), 0x00);
    cr_expect_eq(plane_byte(3, 0x40), 0xF0);
}

Test(vga, read_modes)
{
    planar();
    static const uint8_t vals[4] = { 0xF0, 0xCC, 0xAA, 0x00 };
    for (int p = 0; p < 4; p++) {
        wreg(0x3C4, 2, (uint8_t)(1 << p));
        memw(0xA0100, vals[p]);
    }
    wreg(0x3CE, 4, 2);
    cr_expect_eq(memr(0xA0100), 0xAA, "read map select");
    wreg(0x3CE, 5, 0x08);
    wreg(0x3CE, 2, 0x07);
    wreg(0x3CE, 7, 0x0F);
    cr_expect_eq(memr(0xA0100), 0x80, "colour 7 only in bit 7");
    wreg(0x3CE, 7, 0x01);
    cr_expect_eq(memr(0xA0100), 0xF0, "only plane 0 compared");
    wreg(0x3CE, 7, 0x00);
    cr_expect_eq(memr(0xA0100), 0xFF, "nothing compared: all match");
}

Test(vga, chain4_and_odd_even)
{
    /* chain-4: address bits 0-1 pick the plane */
    wreg(0x3C4, 4, 0x0E);
    wreg(0x3C4, 2, 0x0F);
    wreg(0x3CE, 5, 0x40);
    wreg(0x3CE, 6, 0x05);
    wreg(0x3CE, 8, 0xFF);
    memw(0xA0005, 0x77);
    cr_expect_eq(plane_byte(1, 4), 0x77);
    cr_expect_eq(plane_byte(0, 4), 0x00);
    cr_expect_eq(memr(0xA0005), 0x77);
    /* odd/even at B8000: even bytes plane 0, odd bytes plane 1 */
    wreg(0x3C4, 4, 0x02);
    wreg(0x3C4, 2, 0x03);
    wreg(0x3CE, 5, 0x10);
    wreg(0x3CE, 6, 0x0E);
    memw(0xB8000, 'A');
    memw(0xB8001, 0x1F);
    memw(0xB8002, 'B');
    cr_expect_eq(plane_byte(0, 0), 'A');
    cr_expect_eq(plane_byte(1, 0), 0x1F);
    cr_expect_eq(plane_byte(0, 2), 'B');
    cr_expect_eq(memr(0xB8001), 0x1F);
    cr_expect_eq(memr(0xA0000), 0xFF, "A0000 is outside the B8000 window");
    wreg(0x3CE, 6, 0x0A);   /* B0000/32K */
    cr_expect_eq(memr(0xB8000), 0xFF);
}

/* ---- VBE -------------------------------------------------------------------- */

Test(vga, vbe_id_caps_bank)
{
    cr_expect_eq(vbe_r(VBE_ID), 0xB0C5);
    vbe_w(VBE_ID, 0xB0C0);
    cr_expect_eq(vbe_r(VBE_ID), 0xB0C0);
    vbe_w(VBE_ID, 0x1234);
    cr_expect_eq(vbe_r(VBE_ID), 0xB0C0, "bad ID ignored");
    cr_expect_eq(vbe_r(VBE_VIDEO_MEMORY_64K), 256);
    vbe_w(VBE_ENABLE, VBE_GETCAPS);
    cr_expect_eq(vbe_r(VBE_XRES), 2560);
    cr_expect_eq(vbe_r(VBE_YRES), 1600);
    cr_expect_eq(vbe_r(VBE_BPP), 32);
    vbe_w(VBE_ENABLE, 0);
    vga->vram[5] = 0x99;
    vbe_w(VBE_XRES, 1024);
    vbe_w(VBE_YRES, 768);
    vbe_w(VBE_BPP, 8);
    vbe_w(VBE_ENABLE, VBE_ENABLED | VBE_LFB_ENABLED);
    cr_expect_eq(vga->vram[5], 0, "enable clears the screen");
    cr_expect_eq(vbe_r(VBE_VIRT_WIDTH), 1024);
    cr_expect_eq(vbe_r(VBE_VIRT_HEIGHT), 16384);
    vbe_w(VBE_BANK, 2);
    memw(0xA0005, 0x42);
    cr_expect_eq(vga->vram[0x20005], 0x42);
    cr_expect_eq(memr(0xA0005), 0x42);
    vbe_w(VBE_BANK, 0x1FF);
    cr_expect_eq(vbe_r(VBE_BANK), 0xFF, "banks wrap at 16 MiB");
    vbe_w(VBE_VIRT_WIDTH, 2048);
    vbe_w(VBE_Y_OFFSET, 10);
    vbe_w(VBE_X_OFFSET, 3);
    cr_expect_eq(vga->vbe_start, 10 * 2048 + 3);
}

Test(vga, vbe_render_lfb_and_dirty)
{
    pci_config_write(&pb, DEVFN, 0x10, LFB, 4);
    pci_config_write(&pb, DEVFN, 0x04, PCI_CMD_MEM, 2);
    vbe_w(VBE_XRES, 640);
    vbe_w(VBE_YRES, 480);
    vbe_w(VBE_BPP, 32);
    vbe_w(VBE_ENABLE, VBE_ENABLED | VBE_LFB_ENABLED);
    bus_write(bus, LFB + (10 * 640 + 20) * 4, 0x00123456, 4);
    cr_expect(vga_render(vga, disp));
    cr_expect_eq(disp->width, 640);
    cr_expect_eq(disp->height, 480);
    cr_expect_eq(px(20, 10), 0x123456);
    cr_expect_eq(disp->text_cols, 0);
    display_clear_dirty(disp);
    cr_expect_not(vga_render(vga, disp), "nothing written");
    cr_expect_eq(disp->dirty_y1, disp->dirty_y0);
    /* a write through the LFB (plain host memory) is found by comparison */
    bool writable = false;
    uint8_t *p = bus_page_ptr(bus, LFB + 320 * 640 * 4, &writable);
    cr_assert_not_null(p);
    cr_expect(writable);
    p[8] = 0x77;
    cr_expect(vga_render(vga, disp));
    cr_expect_eq(disp->dirty_y0, 320);
    cr_expect_eq(disp->dirty_y1, 321);
    cr_expect_eq(px(2, 320), 0x77);
    /* 16 bpp: pure red and a green step */
    vbe_w(VBE_ENABLE, 0);
    vbe_w(VBE_BPP, 16);
    vbe_w(VBE_ENABLE, VBE_ENABLED);
    bus_write(bus, LFB, 0xF800, 2);
    bus_write(bus, LFB + 2, 0x07E0, 2);
    vga_render(vga, disp);
    cr_expect_eq(px(0, 0), 0xFF0000);
    cr_expect_eq(px(1, 0), 0x00FF00);
    /* panning by the display start */
    vbe_w(VBE_X_OFFSET, 1);
    vga_render(vga, disp);
    cr_expect_eq(px(0, 0), 0x00FF00);
}

Test(vga, vbe_8bpp_dac_width)
{
    vbe_w(VBE_XRES, 320);
    vbe_w(VBE_YRES, 200);
    vbe_w(VBE_BPP, 8);
    vbe_w(VBE_ENABLE, VBE_ENABLED | VBE_8BIT_DAC);
    set_dac(9, 0x80, 0x40, 0xFF);
    memw(0xA0000 + 321, 9);
    vga_render(vga, disp);
    cr_expect_eq(px(1, 1), 0x8040FF, "8-bit DAC");
    vbe_w(VBE_ENABLE, VBE_ENABLED);
    set_dac(9, 0x3F, 0x00, 0x20);
    vga_render(vga, disp);
    cr_expect_eq(px(1, 1), 0xFF0082, "6-bit DAC widened");
}

/* ---- rendering ----------------------------------------------------------------- */

/* Load a glyph row pattern for character `ch` (font map 0, plane 2). */
static void put_glyph(uint8_t ch, const uint8_t rows[16])
{
    wreg(0x3C4, 2, 0x04);
    wreg(0x3C4, 4, 0x07);
    wreg(0x3CE, 5, 0x00);
    wreg(0x3CE, 6, 0x04);
    for (int r = 0; r < 16; r++) {
        memw(0xA0000 + ch * 32u + (uint32_t)r, rows[r]);
    }
    wreg(0x3C4, 2, 0x03);
    wreg(0x3C4, 4, 0x02);
    wreg(0x3CE, 5, 0x10);
    wreg(0x3CE, 6, 0x0E);
}

static void text_palette(void)
{
    set_dac(0x00, 0, 0, 0);
    set_dac(0x01, 0, 0, 42);
    set_dac(0x07, 42, 42, 42);
    set_dac(0x3F, 63, 63, 63);
}

static const uint8_t glyph_a[16] = { 0x00, 0x00, 0x10, 0x38, 0x6C, 0xC6, 0xC6, 0xFE,
                                     0xC6, 0xC6, 0xC6, 0xC6, 0x00, 0x00, 0x00, 0x00 };

Test(vga, text_mode_glyph_cursor_and_text)
{
    set_mode(&mode3);
    text_palette();
    put_glyph('A', glyph_a);
    static const uint8_t line[16] = { 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
                                      0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01 };
    put_glyph(0xC4, line);
    put_glyph('B', line);
    memw(0xB8000, 'A');
    memw(0xB8001, 0x1F);
    memw(0xB8002, 0xC4);
    memw(0xB8003, 0x1F);
    memw(0xB8004, 'B');
    memw(0xB8005, 0x1F);
    memw(0xB8000 + (80 + 5) * 2 + 1, 0x07);
    wreg(0x3D4, 0x0E, 0x00);
    wreg(0x3D4, 0x0F, 80 + 5);   /* cursor at row 1, column 5 */
    cr_expect(vga_render(vga, disp));
    cr_expect_eq(disp->width, 720);
    cr_expect_eq(disp->height, 400);
    cr_expect_eq(disp->text_cols, 80);
    cr_expect_eq(disp->text_rows, 25);
    cr_expect_eq(disp->text[0], 0x1F41);
    cr_expect_eq(disp->cursor_x, 5);
    cr_expect_eq(disp->cursor_y, 1);
    /* row 3 of 'A' is 0x38: dots 2-4 */
    cr_expect_eq(px(1, 3), 0x0000AA, "blue background");
    cr_expect_eq(px(2, 3), 0xFFFFFF, "bright white foreground");
    cr_expect_eq(px(4, 3), 0xFFFFFF);
    cr_expect_eq(px(5, 3), 0x0000AA);
    cr_expect_eq(px(8, 3), 0x0000AA, "9th dot is background");
    /* C4h is a line-drawing character: the 9th dot repeats the 8th */
    cr_expect_eq(px(9 + 7, 0), 0xFFFFFF);
    cr_expect_eq(px(9 + 8, 0), 0xFFFFFF);
    cr_expect_eq(px(18 + 8, 0), 0x0000AA, "but not for 'B'");
    /* cursor on scan lines 13-14 (CR0A=0Dh, CR0B=0Eh) of cell (5, 1) */
    cr_expect_eq(px(45, 16 + 13), 0xAAAAAA, "cursor in the foreground (7)");
    cr_expect_eq(px(45, 16 + 12), 0x000000);
    /* 8-dot cells */
    wreg(0x3C4, 1, 0x01);
    vga_render(vga, disp);
    cr_expect_eq(disp->width, 640);
    cr_expect_eq(px(8 + 7, 0), 0xFFFFFF);
}

Test(vga, text_dirty_tracking_and_blink)
{
    set_mode(&mode3);
    text_palette();
    put_glyph('A', glyph_a);
    vga_render(vga, disp);
    display_clear_dirty(disp);
    cr_expect_not(vga_render(vga, disp), "idle screen");
    cr_expect_eq(disp->dirty_y0, disp->dirty_y1);
    /* one character on row 10 redraws row 10 only */
    memw(0xB8000 + 10 * 160 + 40, 'A');
    memw(0xB8000 + 10 * 160 + 41, 0x07);
    cr_expect(vga_render(vga, disp));
    cr_expect_eq(disp->dirty_y0, 160);
    cr_expect_eq(disp->dirty_y1, 176);
    cr_expect_eq(disp->text[10 * 80 + 20], 0x0741);
    /* a blinking character: hidden after 16 frames, only its row redrawn */
    display_clear_dirty(disp);
    memw(0xB8000 + 20 * 160 + 1, 0x87);
    memw(0xB8000 + 20 * 160, 'A');
    wreg(0x3D4, 0x0A, 0x20);   /* cursor off, so only blinking counts */
    vga_render(vga, disp);
    cr_expect_eq(px(3, 20 * 16 + 3), 0xAAAAAA);
    display_clear_dirty(disp);
    now = 16 * VGA_FRAME_NS + 1;
    cr_expect(vga_render(vga, disp));
    cr_expect_eq(px(3, 20 * 16 + 3), 0x000000, "blinked off");
    cr_expect_eq(disp->dirty_y0, 320);
    cr_expect_eq(disp->dirty_y1, 336);
    /* with blinking disabled, bit 7 is a bright background */
    inb(0x3DA);
    outb(0x3C0, 0x30);
    outb(0x3C0, 0x04);
    set_dac(0x38, 63, 0, 0);
    vga_render(vga, disp);
    cr_expect_eq(px(0, 20 * 16 + 3), 0xFF0000, "palette 8 = 38h");
}

Test(vga, text_char_map_select)
{
    set_mode(&mode3);
    text_palette();
    static const uint8_t left[16] = { 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
                                      0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80 };
    put_glyph('A', glyph_a);   /* map 0 */
    /* map 1 (plane 2 at 16K) holds a different 'A' */
    wreg(0x3C4, 2, 0x04);
    wreg(0x3C4, 4, 0x06);
    wreg(0x3CE, 5, 0x00);
    wreg(0x3CE, 6, 0x04);
    for (int r = 0; r < 16; r++) {
        memw(0xA4000 + 'A' * 32u + (uint32_t)r, left[r]);
    }
    wreg(0x3C4, 2, 0x03);
    wreg(0x3C4, 4, 0x02);
    wreg(0x3CE, 5, 0x10);
    wreg(0x3CE, 6, 0x0E);
    wreg(0x3C4, 3, 0x04);   /* map A (attribute bit 3 set) = 1, map B = 0 */
    memw(0xB8000, 'A');
    memw(0xB8001, 0x0F);
    memw(0xB8002, 'A');
    memw(0xB8003, 0x07);
    vga_render(vga, disp);
    cr_expect_eq(px(0, 3), 0xFFFFFF, "bright: map A's glyph");
    cr_expect_eq(px(2, 3), 0x000000);
    cr_expect_eq(px(9 + 0, 3), 0x000000, "normal: map B's glyph");
    cr_expect_eq(px(9 + 2, 3), 0xAAAAAA);
}

Test(vga, mono_text_underline)
{
    set_mode(&mode7);
    set_dac(0x08, 42, 42, 42);
    set_dac(0x18, 63, 63, 63);
    memw(0xB0000, ' ');
    memw(0xB0001, 0x01);   /* underline attribute */
    memw(0xB0002, ' ');
    memw(0xB0003, 0x07);   /* normal */
    memw(0xB8000, 'X');    /* outside the B0000/32K window */
    wreg(0x3B4, 0x0A, 0x20);   /* cursor off */
    cr_expect(vga_render(vga, disp));
    cr_expect_eq(disp->text_cols, 80);
    cr_expect_eq(disp->text[0], 0x0120);
    cr_expect_eq(px(0, 15), 0xAAAAAA, "underline on scan line 15 (CR14)");
    cr_expect_eq(px(8, 15), 0xAAAAAA, "all nine dots");
    cr_expect_eq(px(0, 14), 0x000000);
    cr_expect_eq(px(9, 15), 0x000000, "attribute 07h: no underline");
    cr_expect_eq(inb(0x3DA), 0xFF, "colour status port absent in mono");
}

Test(vga, mode13h_pixel_and_line_compare)
{
    set_mode(&mode13);
    set_dac(5, 63, 0, 0);
    memw(0xA0000 + 320 * 2 + 7, 5);
    memw(0xA0000, 5);
    cr_expect(vga_render(vga, disp));
    cr_expect_eq(disp->width, 640);
    cr_expect_eq(disp->height, 400);
    cr_expect_eq(px(14, 4), 0xFF0000, "each pixel is 2x2");
    cr_expect_eq(px(15, 5), 0xFF0000);
    cr_expect_eq(px(13, 4), 0x000000);
    cr_expect_eq(px(14, 6), 0x000000);
    /* dirty: a pixel on row 100 redraws output lines 200-201 */
    display_clear_dirty(disp);
    cr_expect_not(vga_render(vga, disp));
    memw(0xA0000 + 320 * 100, 5);
    cr_expect(vga_render(vga, disp));
    cr_expect_eq(disp->dirty_y0, 200);
    cr_expect_eq(disp->dirty_y1, 202);
    /* pixel panning: 256-colour modes move by whole pixels (AC13 / 2) */
    inb(0x3DA);
    outb(0x3C0, 0x33);
    outb(0x3C0, 0x02);
    vga_render(vga, disp);
    cr_expect_eq(px(12, 4), 0xFF0000, "one pixel left");
    cr_expect_eq(px(14, 4), 0x000000);
    inb(0x3DA);
    outb(0x3C0, 0x33);
    outb(0x3C0, 0x00);
    /* split screen at line 300: memory restarts at 0 */
    wreg(0x3D4, 0x18, 300 & 0xFF);
    wreg(0x3D4, 0x07, (uint8_t)(rreg(0x3D4, 0x07) | 0x10));
    wreg(0x3D4, 0x09, (uint8_t)(rreg(0x3D4, 0x09) & ~0x40));
    vga_render(vga, disp);
    cr_expect_eq(px(0, 300), 0xFF0000);
    cr_expect_eq(px(0, 299), 0x000000);
    /* mode X: unchained, pixel x in plane x & 3 at offset x / 4 */
    wreg(0x3C4, 4, 0x06);
    wreg(0x3D4, 0x14, 0x00);
    wreg(0x3D4, 0x17, 0xE3);
    wreg(0x3C4, 2, 0x04);   /* plane 2: pixel 2 */
    memw(0xA0000 + 80 * 3, 5);
    vga_render(vga, disp);
    cr_expect_eq(px(2 * 2, 3 * 2), 0xFF0000, "mode X pixel (2, 3)");
}

Test(vga, mode12h_planar_pixel)
{
    set_mode(&mode12);
    set_dac(0x04, 42, 0, 0);
    set_dac(0x3F, 63, 63, 63);
    /* pixel (100, 50) in colour 4 via set/reset and the bit mask */
    wreg(0x3CE, 0, 0x04);
    wreg(0x3CE, 1, 0x0F);
    wreg(0x3CE, 8, 0x80 >> (100 & 7));
    (void)memr(0xA0000 + 50 * 80 + 100 / 8);
    memw(0xA0000 + 50 * 80 + 100 / 8, 0xFF);
    vga_render(vga, disp);
    cr_expect_eq(disp->width, 640);
    cr_expect_eq(disp->height, 480);
    cr_expect_eq(px(100, 50), 0xAA0000);
    cr_expect_eq(px(101, 50), 0x000000);
    cr_expect_eq(px(99, 50), 0x000000);
    /* the colour plane enable masks plane 2 away: colour 0 */
    inb(0x3DA);
    outb(0x3C0, 0x32);
    outb(0x3C0, 0x0B);
    vga_render(vga, disp);
    cr_expect_eq(px(100, 50), 0x000000);
}

Test(vga, cga_mode4_interlaced)
{
    set_mode(&mode4);
    set_dac(0x13, 0, 42, 42);
    set_dac(0x15, 42, 0, 42);
    set_dac(0x17, 42, 42, 42);
    memw(0xB8000, 0x1B);           /* pixels 0-3: colours 0, 1, 2, 3 */
    memw(0xB8000 + 0x2000, 0xC0);  /* line 1, pixel 0: colour 3 */
    memw(0xB8001, 0x40);           /* pixel 4: colour 1 */
    vga_render(vga, disp);
    cr_expect_eq(disp->width, 640);
    cr_expect_eq(disp->height, 400);
    cr_expect_eq(px(0, 0), 0x000000);
    cr_expect_eq(px(2, 0), 0x00AAAA);
    cr_expect_eq(px(4, 1), 0xAA00AA);
    cr_expect_eq(px(7, 0), 0xAAAAAA);
    cr_expect_eq(px(8, 0), 0x00AAAA, "odd byte follows the even one");
    cr_expect_eq(px(0, 2), 0xAAAAAA, "odd lines from B8000h+2000h");
    cr_expect_eq(px(1, 3), 0xAAAAAA);
}

Test(vga, blank_until_palette_source_set)
{
    set_mode(&mode3);
    inb(0x3DA);
    outb(0x3C0, 0x00);   /* PAS clear: the CPU owns the palette, screen blank */
    text_palette();
    memw(0xB8001, 0x70);
    vga_render(vga, disp);
    cr_expect_eq(px(0, 0), 0x000000);
    cr_expect_eq(disp->text_cols, 0);
    inb(0x3DA);
    outb(0x3C0, 0x20);
    cr_expect(vga_render(vga, disp));
    cr_expect_eq(px(0, 0), 0xAAAAAA);
}
