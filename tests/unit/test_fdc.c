/*
 * The 82077AA floppy controller, driven through its ports with a real
 * 8237A on channel 2, as a BIOS drives it.  Command encodings, result
 * bytes (ST0-ST3, C/H/R/N after EOT and multi-track), MSR bits and the
 * reset polling come from the Intel 82077AA datasheet.  Images are temp
 * files whose sector L holds byte (L*13 + i*3 + i/256) at offset i.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hw/block/block.h"
#include "hw/bus.h"
#include "hw/fdc.h"
#include "hw/i8237.h"
#include "hw/timer.h"

#define SIZE_144 1474560u
#define DOR 0x3F2
#define MSR 0x3F4
#define FIFO 0x3F5
#define DIR 0x3F7

static struct bus *bus;
static struct i8237 *dma;
static struct fdc *fdc;
static struct blockdev *blk;
static int irq6, irq_rises;
static char path[64];

static void record_irq(void *opaque, int n, int level)
{
    if (level && !irq6) {
        irq_rises++;
    }
    irq6 = level;
}

static void out(uint16_t port, uint8_t v)
{
    bus_out(bus, port, v, 1);
}

static uint8_t in(uint16_t port)
{
    return (uint8_t)bus_in(bus, port, 1);
}

static uint8_t pat(uint32_t lba, uint32_t i)
{
    return (uint8_t)(lba * 13 + i * 3 + i / 256);
}

/* Create an image of `size` bytes holding the pattern and insert it. */
static int insert(uint32_t size, bool read_only, char *err, size_t errlen)
{
    snprintf(path, sizeof(path), "/tmp/kasou-fdc-XXXXXX");
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    uint8_t *img = malloc(size);
    for (uint32_t k = 0; k < size; k++) {
        img[k] = pat(k / 512, k % 512);
    }
    cr_assert_eq(write(fd, img, size), (ssize_t)size);
    free(img);
    close(fd);
    struct blk_open_opts o = { .format = "raw", .read_only = read_only };
    char why[256];
    blk = blk_open(path, &o, why, sizeof(why));
    cr_assert_not_null(blk, "%s", why);
    return fdc_attach(fdc, 0, blk, err, errlen);
}

static void setup(void)
{
    bus = bus_new(2u << 20);
    dma = i8237_new(bus);
    fdc = fdc_new(bus, (struct irq){ record_irq, NULL, 6 }, dma);
    cr_assert_not_null(fdc);
    irq6 = irq_rises = 0;
    blk = NULL;
    path[0] = 0;
    out(0x0D, 0);
    out(0xDA, 0);
    out(0xD6, 0xC0);   /* channel 4 cascade, unmasked */
    out(0xD4, 0x00);
}

static void teardown(void)
{
    fdc_free(fdc);
    i8237_free(dma);
    bus_free(bus);
    if (blk) {
        blk_close(blk);
    }
    if (path[0]) {
        unlink(path);
    }
}

static void command(int n, const uint8_t *bytes)
{
    for (int i = 0; i < n; i++) {
        cr_assert_eq(in(MSR) & 0xC0, 0x80, "byte %d: RQM, host to controller", i);
        out(FIFO, bytes[i]);
    }
}

#define CMD(...) command(sizeof((uint8_t[]){ __VA_ARGS__ }), (uint8_t[]){ __VA_ARGS__ })

static void results(int n, uint8_t *bytes)
{
    for (int i = 0; i < n; i++) {
        cr_assert_eq(in(MSR) & 0xC0, 0xC0, "result %d: RQM and DIO", i);
        bytes[i] = in(FIFO);
    }
    cr_assert_eq(in(MSR) & 0xF0, 0x80, "back to the command phase");
}

static void sense_int(uint8_t *st0, uint8_t *pcn)
{
    uint8_t r[2];
    CMD(0x08);
    results(2, r);
    *st0 = r[0];
    *pcn = r[1];
}

/* Release reset with DMA on and drive A's motor running; eat the polls. */
static void start(void)
{
    out(DOR, 0x1C);
    uint8_t st0, pcn;
    for (int i = 0; i < 4; i++) {
        sense_int(&st0, &pcn);
    }
    CMD(0x03, 0xAF, 0x02);   /* SPECIFY: DMA mode */
    out(DIR, 0x00);          /* 500 Kbps */
}

static void seek(uint8_t head, uint8_t cyl)
{
    uint8_t st0, pcn;
    CMD(0x0F, (uint8_t)(head << 2), cyl);
    cr_assert_eq(irq6, 1);
    sense_int(&st0, &pcn);
    cr_assert_eq(st0, 0x20 | head << 2);
    cr_assert_eq(pcn, cyl);
}

/* Channel 2 like SeaBIOS: single mode, increment, no autoinit. */
static void dma2(uint8_t mode, uint32_t addr, uint32_t bytes)
{
    out(0x0A, 0x06);
    out(0x0C, 0);
    out(0x04, (uint8_t)addr);
    out(0x04, (uint8_t)(addr >> 8));
    out(0x0C, 0);
    out(0x05, (uint8_t)(bytes - 1));
    out(0x05, (uint8_t)((bytes - 1) >> 8));
    out(0x0B, mode);
    out(0x81, (uint8_t)(addr >> 16));
    out(0x0A, 0x02);
}

static void check_sectors(uint32_t addr, uint32_t lba, int count)
{
    for (int s = 0; s < count; s++) {
        for (uint32_t i = 0; i < 512; i++) {
            cr_assert_eq(bus->ram[addr + (uint32_t)s * 512 + i], pat(lba + (uint32_t)s, i),
                         "sector %d byte %u", s, i);
        }
    }
}

TestSuite(fdc, .init = setup, .fini = teardown);

Test(fdc, reset_raises_irq_and_four_polls)
{
    cr_assert_eq(in(MSR), 0x00, "held in reset at power-on");
    out(DOR, 0x0C);
    cr_assert_eq(irq6, 1);
    cr_assert_eq(in(MSR), 0x80);
    uint8_t st0, pcn;
    for (int i = 0; i < 4; i++) {
        sense_int(&st0, &pcn);
        cr_assert_eq(st0, 0xC0 | i, "poll %d", i);
        cr_assert_eq(pcn, 0);
        cr_assert_eq(irq6, 0);
    }
    uint8_t r;
    CMD(0x08);
    results(1, &r);
    cr_assert_eq(r, 0x80, "nothing left: invalid");
    /* a DSR software reset does it again */
    out(MSR, 0x80);
    cr_assert_eq(irq6, 1);
    sense_int(&st0, &pcn);
    cr_assert_eq(st0, 0xC0);
}

Test(fdc, version_part_id_and_invalid)
{
    out(DOR, 0x0C);
    uint8_t r;
    CMD(0x10);
    results(1, &r);
    cr_assert_eq(r, 0x90);
    CMD(0x18);
    results(1, &r);
    cr_assert_eq(r, 0x41);
    CMD(0x1F);
    results(1, &r);
    cr_assert_eq(r, 0x80);
    CMD(0x00);
    results(1, &r);
    cr_assert_eq(r, 0x80);
}

Test(fdc, specify_configure_lock_dumpreg)
{
    out(DOR, 0x0C);
    CMD(0x03, 0xAF, 0x02);
    CMD(0x13, 0x00, 0x57, 0x05);   /* EIS, FIFO on, polling off, thr 8 */
    CMD(0x12, 0x84);               /* perpendicular on drive 0 */
    uint8_t r[10];
    CMD(0x0E);
    results(10, r);
    cr_assert_eq(r[4], 0xAF);
    cr_assert_eq(r[5], 0x02);
    cr_assert_eq(r[7], 0x04, "not locked, drive 0 perpendicular");
    cr_assert_eq(r[8], 0x57);
    cr_assert_eq(r[9], 0x05);
    CMD(0x94);
    results(1, r);
    cr_assert_eq(r[0], 0x10);
    out(MSR, 0x80);                /* reset: polling is off, no interrupt */
    cr_assert_eq(irq6, 0);
    CMD(0x0E);
    results(10, r);
    cr_assert_eq(r[7], 0x84, "locked: CONFIGURE survives the reset");
    cr_assert_eq(r[8], 0x57);
    CMD(0x14);
    results(1, r);
    cr_assert_eq(r[0], 0x00);
    out(MSR, 0x80);
    CMD(0x0E);
    results(10, r);
    cr_assert_eq(r[8], 0x20, "unlocked: back to the defaults");
    cr_assert_eq(r[9], 0x00);
    cr_assert_eq(r[4], 0xAF, "SPECIFY is kept");
}

Test(fdc, recalibrate_and_sense)
{
    char err[256];
    cr_assert_eq(insert(SIZE_144, false, err, sizeof(err)), 0, "%s", err);
    start();
    seek(0, 10);
    CMD(0x07, 0x00);
    cr_assert_eq(irq6, 1);
    cr_assert_eq(in(MSR), 0x81, "drive 0 busy until sensed");
    uint8_t st0, pcn;
    sense_int(&st0, &pcn);
    cr_assert_eq(st0, 0x20);
    cr_assert_eq(pcn, 0);
    cr_assert_eq(irq6, 0);
    cr_assert_eq(in(MSR), 0x80);
    /* drive 2 is not there: no track 0 signal, equipment check */
    CMD(0x07, 0x02);
    sense_int(&st0, &pcn);
    cr_assert_eq(st0, 0x72);
    /* SENSE DRIVE STATUS: ready, two-sided, track 0 */
    uint8_t st3;
    CMD(0x04, 0x00);
    results(1, &st3);
    cr_assert_eq(st3, 0x38);
}

Test(fdc, seek_and_relative_seek)
{
    char err[256];
    cr_assert_eq(insert(SIZE_144, false, err, sizeof(err)), 0, "%s", err);
    start();
    seek(1, 40);
    uint8_t st0, pcn;
    CMD(0x8F, 0x00, 5);   /* relative, outward by 5 */
    sense_int(&st0, &pcn);
    cr_assert_eq(pcn, 35);
    CMD(0xCF, 0x00, 10);  /* relative, inward by 10 */
    sense_int(&st0, &pcn);
    cr_assert_eq(st0, 0x20);
    cr_assert_eq(pcn, 45);
    uint8_t r[7];
    CMD(0x4A, 0x00);
    results(7, r);
    cr_assert_eq(r[3], 45, "the head really is on cylinder 45");
}

Test(fdc, read_id_and_data_rate)
{
    char err[256];
    cr_assert_eq(insert(SIZE_144, false, err, sizeof(err)), 0, "%s", err);
    start();
    seek(0, 7);
    uint8_t r[7];
    CMD(0x4A, 0x04);   /* head 1 */
    cr_assert_eq(irq6, 1);
    results(7, r);
    cr_assert_eq(irq6, 0);
    cr_assert_eq(r[0], 0x04);
    cr_assert_eq(r[1], 0x00);
    cr_assert_eq(r[2], 0x00);
    cr_assert_eq(r[3], 7);
    cr_assert_eq(r[4], 1);
    cr_assert(r[5] >= 1 && r[5] <= 18);
    cr_assert_eq(r[6], 2);
    out(DIR, 0x02);    /* 250 Kbps: a 1.44M disk shows no address marks */
    CMD(0x4A, 0x00);
    results(7, r);
    cr_assert_eq(r[0], 0x40);
    cr_assert_eq(r[1], 0x01, "MA");
    out(DIR, 0x00);
    CMD(0x0A, 0x00);   /* FM at the right rate: no marks either */
    results(7, r);
    cr_assert_eq(r[1], 0x01);
}

Test(fdc, read_data_dma)
{
    char err[256];
    cr_assert_eq(insert(SIZE_144, false, err, sizeof(err)), 0, "%s", err);
    start();
    dma2(0x46, 0x10000, 1024);
    CMD(0xE6, 0x00, 0, 0, 1, 2, 18, 0x1B, 0xFF);
    cr_assert_eq(irq6, 1);
    uint8_t r[7];
    results(7, r);
    uint8_t want[7] = { 0x00, 0x00, 0x00, 0, 0, 3, 2 };
    cr_assert_arr_eq(r, want, 7);
    check_sectors(0x10000, 0, 2);
    cr_assert_eq(bus->ram[0x10400], 0, "the DMA count stopped it");
    cr_assert_eq(in(0x08) & 0x04, 0x04, "TC on channel 2");
    /* the last sector of a track: the result moves to the next cylinder */
    seek(0, 5);
    dma2(0x46, 0x20000, 512);
    CMD(0x66, 0x00, 5, 0, 18, 2, 18, 0x1B, 0xFF);
    results(7, r);
    uint8_t want2[7] = { 0x00, 0x00, 0x00, 6, 0, 1, 2 };
    cr_assert_arr_eq(r, want2, 7);
    check_sectors(0x20000, 5 * 36 + 17, 1);
}

Test(fdc, multi_track_crosses_to_head_1)
{
    char err[256];
    cr_assert_eq(insert(SIZE_144, false, err, sizeof(err)), 0, "%s", err);
    start();
    seek(0, 2);
    dma2(0x46, 0x30000, 4 * 512);
    CMD(0xE6, 0x00, 2, 0, 17, 2, 18, 0x1B, 0xFF);
    uint8_t r[7];
    results(7, r);
    uint8_t want[7] = { 0x04, 0x00, 0x00, 2, 1, 3, 2 };
    cr_assert_arr_eq(r, want, 7);
    check_sectors(0x30000, 2 * 36 + 16, 4);
    /* without MT the same request stops at EOT: end of cylinder */
    dma2(0x46, 0x30000, 4 * 512);
    CMD(0x66, 0x00, 2, 0, 17, 2, 18, 0x1B, 0xFF);
    results(7, r);
    cr_assert_eq(r[0], 0x40);
    cr_assert_eq(r[1], 0x80, "EN");
    cr_assert_eq(r[3], 2, "EN names the last sector read");
    cr_assert_eq(r[5], 18);
}

Test(fdc, pio_read)
{
    char err[256];
    cr_assert_eq(insert(SIZE_144, false, err, sizeof(err)), 0, "%s", err);
    start();
    CMD(0x03, 0xAF, 0x03);   /* ND: non-DMA */
    seek(0, 1);
    int rises = irq_rises;
    CMD(0x66, 0x04, 1, 1, 3, 2, 3, 0x1B, 0xFF);
    for (uint32_t i = 0; i < 512; i++) {
        cr_assert_eq(in(MSR), 0xF0, "byte %u: RQM DIO NDMA CB", i);
        cr_assert_eq(in(FIFO), pat(1 * 36 + 18 + 2, i));
    }
    cr_assert_eq(irq_rises - rises, 513, "an edge per byte and one for the result");
    cr_assert_eq(in(MSR), 0xD0);
    uint8_t r[7];
    results(7, r);
    /* no terminal count in non-DMA mode: the chip runs into EOT */
    uint8_t want[7] = { 0x44, 0x80, 0x00, 1, 1, 3, 2 };
    cr_assert_arr_eq(r, want, 7);
}

Test(fdc, write_data_then_read_back)
{
    char err[256];
    cr_assert_eq(insert(SIZE_144, false, err, sizeof(err)), 0, "%s", err);
    start();
    seek(1, 1);
    for (int i = 0; i < 1024; i++) {
        bus->ram[0x40000 + i] = (uint8_t)(0xA5 ^ i);
    }
    dma2(0x4A, 0x40000, 1024);
    CMD(0xC5, 0x04, 1, 1, 5, 2, 18, 0x1B, 0xFF);
    uint8_t r[7];
    results(7, r);
    uint8_t want[7] = { 0x04, 0x00, 0x00, 1, 1, 7, 2 };
    cr_assert_arr_eq(r, want, 7);
    uint8_t back[1024];
    cr_assert_eq(blk_read(blk, (uint64_t)(1 * 36 + 18 + 4) * 512, back, 1024), 0);
    cr_assert_eq(memcmp(back, bus->ram + 0x40000, 1024), 0);
    cr_assert_eq(blk_read(blk, (uint64_t)(1 * 36 + 18 + 6) * 512, back, 512), 0);
    cr_assert_eq(back[0], pat(1 * 36 + 18 + 6, 0), "the next sector is untouched");
    /* and through the controller again */
    memset(bus->ram + 0x50000, 0, 1024);
    dma2(0x46, 0x50000, 1024);
    CMD(0xE6, 0x04, 1, 1, 5, 2, 18, 0x1B, 0xFF);
    results(7, r);
    cr_assert_eq(r[0], 0x04);
    cr_assert_eq(memcmp(bus->ram + 0x50000, bus->ram + 0x40000, 1024), 0);
}

Test(fdc, write_protect)
{
    char err[256];
    cr_assert_eq(insert(SIZE_144, true, err, sizeof(err)), 0, "%s", err);
    start();
    dma2(0x4A, 0x40000, 512);
    CMD(0xC5, 0x00, 0, 0, 1, 2, 18, 0x1B, 0xFF);
    uint8_t r[7];
    results(7, r);
    cr_assert_eq(r[0], 0x40);
    cr_assert_eq(r[1], 0x02, "NW");
    uint8_t st3;
    CMD(0x04, 0x00);
    results(1, &st3);
    cr_assert_eq(st3 & 0x40, 0x40, "ST3 WP");
    uint8_t back[512];
    cr_assert_eq(blk_read(blk, 0, back, 512), 0);
    cr_assert_eq(back[7], pat(0, 7));
}

Test(fdc, format_track_fills_sectors)
{
    char err[256];
    cr_assert_eq(insert(SIZE_144, false, err, sizeof(err)), 0, "%s", err);
    start();
    seek(0, 3);
    for (int s = 0; s < 18; s++) {
        uint8_t *id = bus->ram + 0x60000 + s * 4;
        id[0] = 3;
        id[1] = 0;
        id[2] = (uint8_t)(s + 1);
        id[3] = 2;
    }
    dma2(0x4A, 0x60000, 18 * 4);
    CMD(0x4D, 0x00, 2, 18, 0x54, 0xF6);
    uint8_t r[7];
    results(7, r);
    cr_assert_eq(r[0], 0x00);
    cr_assert_eq(r[1], 0x00);
    uint8_t back[18 * 512];
    cr_assert_eq(blk_read(blk, (uint64_t)3 * 36 * 512, back, sizeof(back)), 0);
    for (size_t i = 0; i < sizeof(back); i++) {
        cr_assert_eq(back[i], 0xF6, "byte %zu", i);
    }
    cr_assert_eq(blk_read(blk, (uint64_t)(3 * 36 + 18) * 512, back, 512), 0);
    cr_assert_eq(back[1], pat(3 * 36 + 18, 1), "head 1 untouched");
}

Test(fdc, wrong_cylinder_and_implied_seek)
{
    char err[256];
    cr_assert_eq(insert(SIZE_144, false, err, sizeof(err)), 0, "%s", err);
    start();
    CMD(0x07, 0x00);
    uint8_t st0, pcn;
    sense_int(&st0, &pcn);
    dma2(0x46, 0x10000, 512);
    CMD(0xE6, 0x00, 5, 0, 1, 2, 18, 0x1B, 0xFF);
    uint8_t r[7];
    results(7, r);
    cr_assert_eq(r[0], 0x40);
    cr_assert_eq(r[1], 0x04, "ND");
    cr_assert_eq(r[2], 0x10, "WC");
    CMD(0x13, 0x00, 0x60, 0x00);   /* EIS */
    dma2(0x46, 0x10000, 512);
    CMD(0xE6, 0x00, 5, 0, 1, 2, 18, 0x1B, 0xFF);
    results(7, r);
    cr_assert_eq(r[0], 0x00);
    check_sectors(0x10000, 5 * 36, 1);
    CMD(0x0E);
    uint8_t d[10];
    results(10, d);
    cr_assert_eq(d[0], 5, "PCN follows the implied seek");
}

Test(fdc, disk_change_line)
{
    char err[256];
    cr_assert_eq(insert(SIZE_144, false, err, sizeof(err)), 0, "%s", err);
    start();
    out(DOR, 0x0C);                 /* motor off */
    cr_assert_eq(in(DIR) & 0x80, 0x80, "set at insertion");
    seek(0, 3);
    cr_assert_eq(in(DIR) & 0x80, 0x80, "a step with the motor off leaves it");
    out(DOR, 0x1C);
    seek(0, 3);
    cr_assert_eq(in(DIR) & 0x80, 0x80, "no step, no change");
    seek(0, 4);
    cr_assert_eq(in(DIR) & 0x80, 0x00, "a step with the motor on clears it");
    cr_assert_eq(fdc_attach(fdc, 0, blk, err, sizeof(err)), 0);
    cr_assert_eq(in(DIR) & 0x80, 0x80, "set again by a new insertion");
}

Test(fdc, image_sizes_and_cmos_types)
{
    char err[512];
    cr_assert_eq(insert(1024000, false, err, sizeof(err)), -1);
    cr_assert(strstr(err, "1024000") && strstr(err, "1.44M") && strstr(err, "1474560") &&
                  strstr(err, "2.88M"),
              "%s", err);
    cr_assert_eq(fdc_cmos_type(fdc, 0), 0);
    static const struct { uint32_t size; int type; } sizes[] = {
        { 368640, 1 }, { 1228800, 2 }, { 737280, 3 }, { 1474560, 4 },
        { 1720320, 4 }, { 1763328, 4 }, { 2949120, 5 }, { 163840, 1 },
    };
    blk_close(blk);
    unlink(path);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        cr_assert_eq(insert(sizes[i].size, false, err, sizeof(err)), 0, "%s", err);
        cr_assert_eq(fdc_cmos_type(fdc, 0), sizes[i].type, "size %u", sizes[i].size);
        cr_assert_eq(fdc_cmos_type(fdc, 1), 0);
        fdc_attach(fdc, 0, NULL, err, sizeof(err));
        blk_close(blk);
        unlink(path);
    }
    blk = NULL;
    path[0] = 0;
}

Test(fdc, dd_525_media_reads_at_250_and_300k)
{
    char err[256];
    cr_assert_eq(insert(368640, false, err, sizeof(err)), 0, "%s", err);
    start();
    uint8_t r[7];
    for (uint8_t rate = 0; rate < 4; rate++) {
        out(DIR, rate);
        CMD(0x4A, 0x00);
        results(7, r);
        bool ok = rate == 1 || rate == 2;
        cr_assert_eq(r[0], ok ? 0x00 : 0x40, "rate %d", rate);
    }
    /* 9 sectors a track: sector 10 is not there */
    out(DIR, 0x02);
    dma2(0x46, 0x10000, 512);
    CMD(0xE6, 0x00, 0, 0, 10, 2, 10, 0x1B, 0xFF);
    results(7, r);
    cr_assert_eq(r[1], 0x04, "ND");
}

Test(fdc, dma_gate_holds_the_transfer)
{
    char err[256];
    cr_assert_eq(insert(SIZE_144, false, err, sizeof(err)), 0, "%s", err);
    start();
    out(DOR, 0x14);    /* motor on, DMA gate off */
    dma2(0x46, 0x10000, 512);
    CMD(0xE6, 0x00, 0, 0, 4, 2, 18, 0x1B, 0xFF);
    cr_assert_eq(in(MSR), 0x10, "execution phase, waiting for DMA");
    cr_assert_eq(irq6, 0);
    out(DOR, 0x1C);    /* the gate opens: DRQ reaches the 8237 */
    cr_assert_eq(irq6, 1);
    uint8_t r[7];
    results(7, r);
    cr_assert_eq(r[0], 0x00);
    cr_assert_eq(r[5], 5);
    check_sectors(0x10000, 3, 1);
}

Test(fdc, terminal_count_inside_a_written_sector_pads_it)
{
    char err[256];
    cr_assert_eq(insert(SIZE_144, false, err, sizeof(err)), 0, "%s", err);
    start();
    memset(bus->ram + 0x40000, 0x77, 100);
    dma2(0x4A, 0x40000, 100);
    CMD(0xC5, 0x00, 0, 0, 9, 2, 18, 0x1B, 0xFF);
    uint8_t r[7];
    results(7, r);
    cr_assert_eq(r[0], 0x00);
    cr_assert_eq(r[5], 10, "the sector counts as written");
    uint8_t back[512];
    cr_assert_eq(blk_read(blk, 8 * 512, back, 512), 0);
    cr_assert_eq(back[99], 0x77);
    cr_assert_eq(back[100], 0x00, "the rest of the sector is zeros");
    cr_assert_eq(back[511], 0x00);
}

Test(fdc, verify_read_track_and_read_deleted)
{
    char err[256];
    cr_assert_eq(insert(SIZE_144, false, err, sizeof(err)), 0, "%s", err);
    start();
    uint8_t r[7];
    /* VERIFY with EC: SC = 4 sectors from R=16, MT crosses to head 1 */
    CMD(0xD6, 0x80, 0, 0, 16, 2, 18, 0x1B, 4);
    cr_assert_eq(irq6, 1);
    results(7, r);
    uint8_t want[7] = { 0x04, 0x00, 0x00, 0, 1, 2, 2 };
    cr_assert_arr_eq(r, want, 7);
    /* VERIFY without EC runs to EOT and ends normally */
    CMD(0x56, 0x00, 0, 0, 1, 2, 18, 0x1B, 0xFF);
    results(7, r);
    cr_assert_eq(r[0], 0x00);
    cr_assert_eq(r[3], 1);
    /* READ TRACK reads from the index whatever R says, flagging ND */
    dma2(0x46, 0x10000, 1024);
    CMD(0x42, 0x00, 0, 0, 7, 2, 18, 0x1B, 0xFF);
    results(7, r);
    cr_assert_eq(r[0], 0x00);
    cr_assert_eq(r[1], 0x04, "ND: sector 7 was not first");
    check_sectors(0x10000, 0, 2);
    /* READ DELETED DATA on a normal sector: read it, CM, stop */
    dma2(0x46, 0x20000, 1024);
    CMD(0x4C, 0x00, 0, 0, 2, 2, 18, 0x1B, 0xFF);
    results(7, r);
    cr_assert_eq(r[0], 0x40);
    cr_assert_eq(r[2], 0x40, "CM");
    cr_assert_eq(r[5], 3);
    check_sectors(0x20000, 1, 1);
    cr_assert_eq(bus->ram[0x20200], 0, "only one sector");
}

static uint64_t icount;
static struct clock clk;

/* Run the clock to now + ns, firing each timer at its deadline. */
static void advance(uint64_t ns)
{
    uint64_t target = icount + ns;
    while (clock_next_deadline(&clk) <= target) {
        uint64_t d = clock_next_deadline(&clk);
        icount = d > icount ? d : icount;
        clock_run_due(&clk);
    }
    icount = target;
}

static void clocked_pio_start(void)
{
    icount = 0;
    clock_init(&clk, CLOCK_DETERMINISTIC, &icount);
    clk.ns_per_insn_q8 = 256;   /* one "instruction" = 1 ns */
    fdc_set_clock(fdc, &clk);
    char err[256];
    cr_assert_eq(insert(SIZE_144, false, err, sizeof(err)), 0, "%s", err);
    start();
    CMD(0x03, 0xAF, 0x03);   /* non-DMA */
}

Test(fdc, pio_with_a_clock_paces_int_and_the_result)
{
    clocked_pio_start();
    int rises = irq_rises;
    CMD(0x66, 0x00, 0, 0, 17, 2, 18, 0x1B, 0xFF);   /* sectors 17-18 */
    cr_assert_eq(irq_rises, rises + 1);
    for (uint32_t i = 0; i < 1024; i++) {
        icount += 100;
        cr_assert_eq(in(FIFO), pat(16 + i / 512, i % 512));
    }
    cr_assert_eq(irq_rises, rises + 1, "bytes moved back to back: no new edges");
    cr_assert_eq(in(MSR), 0x30, "past EOT: checking, no byte to take");
    advance(3 * 16000);
    cr_assert_eq(irq_rises, rises + 2, "then the result's interrupt");
    uint8_t r[7];
    results(7, r);
    uint8_t want[7] = { 0x40, 0x80, 0x00, 0, 0, 18, 2 };
    cr_assert_arr_eq(r, want, 7, "EN: no terminal count without DMA");
    cr_assert_eq(clock_next_deadline(&clk), CLOCK_NEVER);
    fdc_set_clock(fdc, NULL);
}

Test(fdc, pio_host_that_stops_reading_gets_an_overrun)
{
    clocked_pio_start();
    /* MT read from head 0 sector 18: the host takes one sector only */
    CMD(0xE6, 0x00, 0, 0, 18, 2, 18, 0x1B, 0xFF);
    for (uint32_t i = 0; i < 512; i++) {
        icount += 100;
        cr_assert_eq(in(FIFO), pat(17, i));
    }
    cr_assert_eq(irq6, 0);
    int rises = irq_rises;
    advance(20000);
    cr_assert_eq(irq_rises, rises + 1, "a byte time after the pause INT asks again");
    advance(1000000);
    cr_assert_eq(in(MSR), 0xF0, "1 ms later the byte still waits");
    advance(1500000);
    cr_assert_eq(irq_rises, rises + 2, "a fresh edge for the result");
    uint8_t r[7];
    results(7, r);
    uint8_t want[7] = { 0x44, 0x10, 0x00, 0, 1, 1, 2 };
    cr_assert_arr_eq(r, want, 7, "OR, on head 1 sector 1");
    cr_assert_eq(clock_next_deadline(&clk), CLOCK_NEVER);
    fdc_set_clock(fdc, NULL);
}
