/*
 * PIIX3 IDE: ATA disks and an ATAPI CD-ROM driven through the ports as a
 * guest driver would.  Expected values come from ATA/ATAPI-6 (IDENTIFY
 * words, signatures, status and error bits, the default CHS translation),
 * SFF-8038i (bus master registers, PRD format), the 82371SB datasheet
 * (PCI identity, IDETIM) and MMC-3/SPC-3 (packet command replies).
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hw/block/block.h"
#include "hw/bus.h"
#include "hw/ide.h"
#include "hw/pci.h"

#define DEVFN ((1 << 3) | 1)
#define P0 0x1F0
#define C0 0x3F6
#define P1 0x170
#define C1 0x376
#define BMBASE 0xC000

enum { DATA, ERRFEAT, NSECT, LBAL, LBAM, LBAH, DEVSEL, STATCMD };

#define ST_ERR 0x01
#define ST_DRQ 0x08
#define ST_DSC 0x10
#define ST_DRDY 0x40
#define ST_BSY 0x80

struct rig {
    struct bus *bus;
    struct pci_bus pb;
    struct ide *ide;
    int irq[2];
    int nimg;
    char path[4][64];
    struct blockdev *blk[4];
};

static struct rig R;

static void set_irq(void *opaque, int n, int level)
{
    struct rig *r = opaque;
    r->irq[n == 15] = level;
}

static void rig_init(void)
{
    memset(&R, 0, sizeof(R));
    R.bus = bus_new(1 << 20);
    pci_bus_init(&R.pb, R.bus);
    R.ide = ide_new(&R.pb, DEVFN, R.bus, (struct irq){ set_irq, &R, 14 },
                    (struct irq){ set_irq, &R, 15 });
    cr_assert_not_null(R.ide);
    /* as the firmware does: BAR4, I/O decode and bus mastering */
    pci_config_write(&R.pb, DEVFN, PCI_BAR0 + 16, BMBASE, 4);
    pci_config_write(&R.pb, DEVFN, PCI_COMMAND, PCI_CMD_IO | PCI_CMD_MASTER, 2);
}

static void rig_fini(void)
{
    ide_free(R.ide);
    for (int i = 0; i < R.nimg; i++) {
        blk_close(R.blk[i]);
        unlink(R.path[i]);
    }
    bus_free(R.bus);
}

TestSuite(ide, .init = rig_init, .fini = rig_fini);

/* Pattern: each 512-byte sector starts with its number, then bytes that vary. */
static uint8_t pat(uint64_t off)
{
    uint64_t s = off / 512, i = off % 512;
    if (i < 8) {
        return (uint8_t)(s >> (8 * i));
    }
    return (uint8_t)(s * 7 + i);
}

/* A temporary image; `fill` bytes of pattern, the rest sparse up to size. */
static struct blockdev *image(uint64_t size, uint64_t fill, bool ro)
{
    char err[256];
    int k = R.nimg++;
    snprintf(R.path[k], sizeof(R.path[k]), "/tmp/kasou-ide-XXXXXX");
    int fd = mkstemp(R.path[k]);
    cr_assert_geq(fd, 0);
    cr_assert_eq(ftruncate(fd, (off_t)size), 0);
    static uint8_t buf[65536];
    for (uint64_t o = 0; o < fill; o += sizeof(buf)) {
        for (size_t i = 0; i < sizeof(buf); i++) {
            buf[i] = pat(o + i);
        }
        size_t n = fill - o < sizeof(buf) ? (size_t)(fill - o) : sizeof(buf);
        cr_assert_eq(pwrite(fd, buf, n, (off_t)o), (ssize_t)n);
    }
    close(fd);
    struct blk_open_opts o = { .format = "raw", .read_only = ro };
    R.blk[k] = blk_open(R.path[k], &o, err, sizeof(err));
    cr_assert_not_null(R.blk[k], "%s", err);
    return R.blk[k];
}

static void attach(int ch, int unit, enum ide_media m, struct blockdev *b)
{
    char err[128];
    cr_assert_eq(ide_attach(R.ide, ch, unit, m, b, err, sizeof(err)), 0, "%s", err);
}

static uint8_t inb(uint16_t p)
{
    return (uint8_t)bus_in(R.bus, p, 1);
}

static void outb(uint16_t p, uint8_t v)
{
    bus_out(R.bus, p, v, 1);
}

static uint16_t inw(uint16_t p)
{
    return (uint16_t)bus_in(R.bus, p, 2);
}

static void outw(uint16_t p, uint16_t v)
{
    bus_out(R.bus, p, v, 2);
}

static void read_words(uint16_t base, uint8_t *buf, int bytes)
{
    for (int i = 0; i < bytes; i += 2) {
        uint16_t w = inw(base);
        buf[i] = (uint8_t)w;
        if (i + 1 < bytes) {
            buf[i + 1] = (uint8_t)(w >> 8);
        }
    }
}

static void identify(uint16_t base, uint8_t cmd, uint16_t *id)
{
    outb(base + STATCMD, cmd);
    uint8_t st = inb(base + STATCMD);
    cr_assert_eq(st & (ST_BSY | ST_DRQ | ST_ERR), ST_DRQ, "status %#x", st);
    for (int i = 0; i < 256; i++) {
        id[i] = inw(base);
    }
    cr_expect_eq(inb(base + STATCMD) & ST_DRQ, 0);
}

static void id_string(const uint16_t *id, int first, int nwords, char *out)
{
    for (int i = 0; i < nwords; i++) {
        out[2 * i] = (char)(id[first + i] >> 8);
        out[2 * i + 1] = (char)id[first + i];
    }
    out[2 * nwords] = 0;
}

static void check_checksum(const uint16_t *id)
{
    uint8_t sum = 0;
    for (int i = 0; i < 256; i++) {
        sum = (uint8_t)(sum + (id[i] & 0xFF) + (id[i] >> 8));
    }
    cr_expect_eq(id[255] & 0xFF, 0xA5);
    cr_expect_eq(sum, 0, "IDENTIFY bytes sum to %#x", sum);
}

static void check_sectors(const uint8_t *buf, uint64_t lba, unsigned n)
{
    for (uint64_t i = 0; i < (uint64_t)n * 512; i++) {
        if (buf[i] != pat(lba * 512 + i)) {
            cr_assert_fail("byte %llu of LBA %llu: %#x, expected %#x", (unsigned long long)i,
                           (unsigned long long)lba, buf[i], pat(lba * 512 + i));
        }
    }
}

static void lba28(uint16_t base, uint32_t lba, uint8_t count, int unit)
{
    outb(base + DEVSEL, (uint8_t)(0xE0 | unit << 4 | (lba >> 24)));
    outb(base + NSECT, count);
    outb(base + LBAL, (uint8_t)lba);
    outb(base + LBAM, (uint8_t)(lba >> 8));
    outb(base + LBAH, (uint8_t)(lba >> 16));
}

static void lba48(uint16_t base, uint64_t lba, uint16_t count)
{
    outb(base + DEVSEL, 0x40);
    outb(base + NSECT, (uint8_t)(count >> 8));
    outb(base + LBAL, (uint8_t)(lba >> 24));
    outb(base + LBAM, (uint8_t)(lba >> 32));
    outb(base + LBAH, (uint8_t)(lba >> 40));
    outb(base + NSECT, (uint8_t)count);
    outb(base + LBAL, (uint8_t)lba);
    outb(base + LBAM, (uint8_t)(lba >> 8));
    outb(base + LBAH, (uint8_t)(lba >> 16));
}

/* PIO data-in: one interrupt and DRQ block per `per` sectors. */
static void pio_in(uint16_t base, uint8_t *buf, unsigned n, unsigned per)
{
    for (unsigned done = 0; done < n;) {
        cr_assert_eq(R.irq[0], 1, "IRQ14 for the block at sector %u", done);
        uint8_t st = inb(base + STATCMD);
        cr_assert_eq(R.irq[0], 0, "reading status clears INTRQ");
        cr_assert_eq(st & (ST_BSY | ST_DRQ | ST_ERR | ST_DRDY), ST_DRQ | ST_DRDY,
                     "status %#x", st);
        unsigned k = n - done < per ? n - done : per;
        read_words(base, buf + done * 512, (int)k * 512);
        done += k;
        if (done < n) {
            continue;
        }
        cr_expect_eq(inb(C0) & (ST_DRQ | ST_BSY), 0);
    }
}

/* ---- PCI ---------------------------------------------------------------------- */

Test(ide, pci_identity_and_bars)
{
    cr_expect_eq(pci_config_read(&R.pb, DEVFN, 0, 4), 0x70108086u);
    cr_expect_eq(pci_config_read(&R.pb, DEVFN, 0x08, 4) >> 8, 0x010180u);
    cr_expect_eq(pci_config_read(&R.pb, DEVFN, PCI_INTERRUPT_PIN, 1), 0);
    /* BAR4: 16 bytes of I/O */
    pci_config_write(&R.pb, DEVFN, PCI_BAR0 + 16, 0xFFFFFFFFu, 4);
    cr_expect_eq(pci_config_read(&R.pb, DEVFN, PCI_BAR0 + 16, 4), 0xFFFFFFF1u);
    for (int i = 0; i < 4; i++) {
        pci_config_write(&R.pb, DEVFN, PCI_BAR0 + 4 * i, 0xFFFFFFFFu, 4);
        cr_expect_eq(pci_config_read(&R.pb, DEVFN, PCI_BAR0 + 4 * i, 4), 0, "BAR%d", i);
    }
    /* IDETIM: the decode enables read as set (the ports always decode) */
    cr_expect_eq(pci_config_read(&R.pb, DEVFN, 0x40, 4), 0x80008000u);
    /* IDETIM: decode enable and timings stored; bits 11:10 reserved */
    pci_config_write(&R.pb, DEVFN, 0x40, 0xFFFFFFFFu, 4);
    cr_expect_eq(pci_config_read(&R.pb, DEVFN, 0x40, 4), 0xF3FFF3FFu);
    /* command: I/O and bus master only */
    pci_config_write(&R.pb, DEVFN, PCI_COMMAND, 0xFFFF, 2);
    cr_expect_eq(pci_config_read(&R.pb, DEVFN, PCI_COMMAND, 2), 0x0005);
}

Test(ide, bus_master_registers)
{
    attach(0, 0, IDE_DISK, image(1 << 20, 0, false));
    cr_expect_eq(inb(BMBASE + 2), 0x20, "drive 0 DMA capable, idle");
    cr_expect_eq(inb(BMBASE + 10), 0x00, "nothing on the secondary");
    bus_out(R.bus, BMBASE + 4, 0x12345677, 4);
    cr_expect_eq(bus_in(R.bus, BMBASE + 4, 4), 0x12345674u, "PRD pointer is dword aligned");
    outb(BMBASE + 2, 0x66);   /* set both capable bits; INT/ERR are write-1-clear */
    cr_expect_eq(inb(BMBASE + 2), 0x60);
    outb(BMBASE, 0x09);
    cr_expect_eq(inb(BMBASE + 2) & 1, 1, "START sets ACTIVE");
    outb(BMBASE, 0x00);
    cr_expect_eq(inb(BMBASE + 2) & 1, 0, "STOP clears ACTIVE");
}

/* ---- IDENTIFY ------------------------------------------------------------------ */

Test(ide, identify_device_words)
{
    attach(0, 0, IDE_DISK, image(10 << 20, 0, false));
    uint16_t id[256];
    char s[41];
    outb(P0 + DEVSEL, 0xA0);
    identify(P0, 0xEC, id);
    cr_expect_eq(id[0], 0x0040);
    cr_expect_eq(id[1], 20, "10 MiB / (16 * 63 * 512) = 20 cylinders");
    cr_expect_eq(id[3], 16);
    cr_expect_eq(id[6], 63);
    cr_expect_eq(id[54], 20);
    cr_expect_eq(id[55], 16);
    cr_expect_eq(id[56], 63);
    cr_expect_eq(id[57] | id[58] << 16, 20 * 16 * 63);
    cr_expect_eq(id[60] | id[61] << 16, 20480);
    cr_expect_eq(id[100] | id[101] << 16, 20480);
    cr_expect_eq(id[102] | id[103], 0);
    cr_expect_eq(id[47] & 0xFF, 16, "up to 16 sectors a multiple block");
    cr_expect_eq(id[49] & 0x0300, 0x0300, "LBA and DMA");
    cr_expect_eq(id[59], 0, "multiple mode off");
    cr_expect_eq(id[83] & 0x3400, 0x3400, "48-bit, FLUSH CACHE (EXT)");
    cr_expect_eq(id[86] & 0x3400, 0x3400);
    cr_expect_eq(id[82] & 0x0020, 0x0020, "write cache");
    cr_expect_eq(id[85] & 0x0020, 0x0020, "write cache enabled");
    cr_expect_eq(id[63] & 0x0707, 0x0407, "MW DMA 0-2, mode 2 selected");
    cr_expect_eq(id[88] & 0x003F, 0x003F);
    cr_expect_eq(id[80] & 0x0040, 0x0040, "ATA-6");
    id_string(id, 27, 20, s);
    cr_expect_str_eq(s, "KASOU HARDDISK                          ");
    id_string(id, 10, 10, s);
    cr_expect_neq(s[0], ' ', "a serial number");
    id_string(id, 23, 4, s);
    cr_expect_neq(s[0], ' ', "a firmware revision");
    check_checksum(id);

    /* SET FEATURES 03h: UDMA 2, then MW DMA 1 */
    outb(P0 + ERRFEAT, 0x03);
    outb(P0 + NSECT, 0x42);
    outb(P0 + STATCMD, 0xEF);
    cr_expect_eq(inb(P0 + STATCMD), ST_DRDY | ST_DSC);
    identify(P0, 0xEC, id);
    cr_expect_eq(id[88] >> 8, 0x04);
    cr_expect_eq(id[63] >> 8, 0x00);
    outb(P0 + ERRFEAT, 0x03);
    outb(P0 + NSECT, 0x21);
    outb(P0 + STATCMD, 0xEF);
    identify(P0, 0xEC, id);
    cr_expect_eq(id[63] >> 8, 0x02);
    cr_expect_eq(id[88] >> 8, 0x00);
    check_checksum(id);
    /* disable the write cache */
    outb(P0 + ERRFEAT, 0x82);
    outb(P0 + STATCMD, 0xEF);
    identify(P0, 0xEC, id);
    cr_expect_eq(id[85] & 0x0020, 0);
}

Test(ide, identify_geometry_by_size)
{
    /* sparse images: 504 MiB, 20 GiB (beyond 16383 cylinders), 200 GiB (beyond LBA28) */
    static const struct {
        uint64_t bytes;
        unsigned cyls;
        uint32_t lba28;
    } t[3] = {
        { 1032192ull * 512, 1024, 1032192 },
        { 20ull << 30, 16383, 41943040 },
        { 200ull << 30, 16383, 0x0FFFFFFF },
    };
    for (int i = 0; i < 3; i++) {
        attach(i / 2, i % 2, IDE_DISK, image(t[i].bytes, 0, false));
    }
    for (int i = 0; i < 3; i++) {
        uint16_t base = i < 2 ? P0 : P1, id[256];
        outb(base + DEVSEL, (uint8_t)(0xA0 | (i % 2) << 4));
        identify(base, 0xEC, id);
        cr_expect_eq(id[1], t[i].cyls, "size %d: cylinders %u", i, id[1]);
        cr_expect_eq(id[3], 16);
        cr_expect_eq(id[6], 63);
        cr_expect_eq((uint32_t)(id[60] | id[61] << 16), t[i].lba28);
        uint64_t n48 = id[100] | (uint64_t)id[101] << 16 | (uint64_t)id[102] << 32;
        cr_expect_eq(n48, t[i].bytes / 512);
        uint32_t cur = (uint32_t)(id[57] | id[58] << 16);
        cr_expect_eq(cur, t[i].cyls * 16u * 63u);
        check_checksum(id);
    }
}

Test(ide, initialize_device_parameters_sets_current_chs)
{
    attach(0, 0, IDE_DISK, image(10 << 20, 10 << 20, false));
    uint16_t id[256];
    outb(P0 + DEVSEL, 0xA0 | 7);   /* 8 heads */
    outb(P0 + NSECT, 32);          /* 32 sectors a track */
    outb(P0 + STATCMD, 0x91);
    cr_expect_eq(inb(P0 + STATCMD), ST_DRDY | ST_DSC);
    identify(P0, 0xEC, id);
    cr_expect_eq(id[54], 20480 / (8 * 32));
    cr_expect_eq(id[55], 8);
    cr_expect_eq(id[56], 32);
    cr_expect_eq(id[1], 20, "the default translation stays");
    /* CHS 2/3/5 in the new translation is LBA (2 * 8 + 3) * 32 + 4 */
    uint8_t buf[512];
    outb(P0 + DEVSEL, 0xA0 | 3);
    outb(P0 + NSECT, 1);
    outb(P0 + LBAL, 5);
    outb(P0 + LBAM, 2);
    outb(P0 + LBAH, 0);
    outb(P0 + STATCMD, 0x20);
    pio_in(P0, buf, 1, 1);
    check_sectors(buf, (2 * 8 + 3) * 32 + 4, 1);
}

/* ---- PIO -------------------------------------------------------------------------- */

Test(ide, pio_read_lba28_chs_lba48)
{
    attach(0, 0, IDE_DISK, image(4 << 20, 4 << 20, false));
    static uint8_t buf[64 * 512];
    lba28(P0, 5, 1, 0);
    outb(P0 + STATCMD, 0x20);
    pio_in(P0, buf, 1, 1);
    check_sectors(buf, 5, 1);
    cr_expect_eq(inb(P0 + STATCMD), ST_DRDY | ST_DSC);

    lba28(P0, 1000, 7, 0);
    outb(P0 + STATCMD, 0x20);
    pio_in(P0, buf, 7, 1);
    check_sectors(buf, 1000, 7);
    cr_expect_eq(R.irq[0], 0, "no interrupt after the last block of a read");

    /* CHS: cylinder 3, head 5, sector 10 of 16/63 = LBA (3 * 16 + 5) * 63 + 9 */
    outb(P0 + DEVSEL, 0xA0 | 5);
    outb(P0 + NSECT, 2);
    outb(P0 + LBAL, 10);
    outb(P0 + LBAM, 3);
    outb(P0 + LBAH, 0);
    outb(P0 + STATCMD, 0x20);
    pio_in(P0, buf, 2, 1);
    check_sectors(buf, (3 * 16 + 5) * 63 + 9, 2);

    /* 48-bit: the HOB bytes go first; with HOB set they read back */
    lba48(P0, 8000, 3);
    outb(C0, 0x80);
    cr_expect_eq(inb(P0 + LBAM), 0);
    cr_expect_eq(inb(P0 + NSECT), 0);
    outb(C0, 0x00);
    cr_expect_eq(inb(P0 + LBAM), (8000 >> 8) & 0xFF);
    outb(P0 + STATCMD, 0x24);
    pio_in(P0, buf, 3, 1);
    check_sectors(buf, 8000, 3);

    /* 32-bit PIO reads the same data */
    lba28(P0, 9, 1, 0);
    outb(P0 + STATCMD, 0x20);
    inb(P0 + STATCMD);
    for (int i = 0; i < 128; i++) {
        uint32_t v = bus_in(R.bus, P0, 4);
        memcpy(buf + 4 * i, &v, 4);
    }
    check_sectors(buf, 9, 1);
}

Test(ide, pio_read_past_the_end_is_idnf)
{
    attach(0, 0, IDE_DISK, image(1 << 20, 0, false));
    lba28(P0, 2047, 2, 0);   /* 2048 sectors: the second is beyond */
    outb(P0 + STATCMD, 0x20);
    cr_expect_eq(R.irq[0], 1);
    cr_expect_eq(inb(P0 + STATCMD), ST_DRDY | ST_DSC | ST_ERR);
    cr_expect_eq(inb(P0 + ERRFEAT), 0x10, "IDNF");
    lba48(P0, 1ull << 40, 1);
    outb(P0 + STATCMD, 0x24);
    cr_expect_eq(inb(P0 + ERRFEAT), 0x10);
}

static void pio_out(uint16_t base, const uint8_t *buf, unsigned n, unsigned per)
{
    for (unsigned done = 0; done < n;) {
        if (done == 0) {
            cr_assert_eq(R.irq[0], 0, "no interrupt before the first block of a write");
        } else {
            cr_assert_eq(R.irq[0], 1, "IRQ before block at sector %u", done);
        }
        uint8_t st = inb(base + STATCMD);
        cr_assert_eq(st & (ST_BSY | ST_DRQ | ST_ERR), ST_DRQ, "status %#x", st);
        unsigned k = n - done < per ? n - done : per;
        for (unsigned i = 0; i < k * 512; i += 2) {
            outw(base, (uint16_t)(buf[done * 512 + i] | buf[done * 512 + i + 1] << 8));
        }
        done += k;
    }
    cr_assert_eq(R.irq[0], 1, "IRQ after the last block");
    cr_assert_eq(inb(base + STATCMD), ST_DRDY | ST_DSC);
}

static void check_file(int k, uint64_t lba, const uint8_t *want, unsigned n)
{
    static uint8_t got[64 * 512];
    int fd = open(R.path[k], O_RDONLY);
    cr_assert_geq(fd, 0);
    cr_assert_eq(pread(fd, got, n * 512, (off_t)(lba * 512)), (ssize_t)(n * 512));
    close(fd);
    cr_expect_eq(memcmp(got, want, n * 512), 0, "image contents at LBA %llu",
                 (unsigned long long)lba);
}

Test(ide, pio_write_one_and_many)
{
    attach(0, 0, IDE_DISK, image(4 << 20, 4 << 20, false));
    static uint8_t buf[16 * 512];
    for (size_t i = 0; i < sizeof(buf); i++) {
        buf[i] = (uint8_t)(i * 13 + 1);
    }
    lba28(P0, 100, 1, 0);
    outb(P0 + STATCMD, 0x30);
    pio_out(P0, buf, 1, 1);
    check_file(0, 100, buf, 1);
    lba48(P0, 3000, 5);
    outb(P0 + STATCMD, 0x34);
    pio_out(P0, buf, 5, 1);
    check_file(0, 3000, buf, 5);
    /* neighbours untouched */
    uint8_t b2[512];
    lba28(P0, 3005, 1, 0);
    outb(P0 + STATCMD, 0x20);
    pio_in(P0, b2, 1, 1);
    check_sectors(b2, 3005, 1);
    /* FLUSH CACHE and its EXT form succeed */
    outb(P0 + STATCMD, 0xE7);
    cr_expect_eq(R.irq[0], 1);
    cr_expect_eq(inb(P0 + STATCMD), ST_DRDY | ST_DSC);
    outb(P0 + STATCMD, 0xEA);
    cr_expect_eq(inb(P0 + STATCMD), ST_DRDY | ST_DSC);
}

Test(ide, write_protected_disk_refuses_writes)
{
    attach(0, 0, IDE_DISK, image(1 << 20, 1 << 20, true));
    lba28(P0, 1, 1, 0);
    outb(P0 + STATCMD, 0x30);
    cr_expect_eq(inb(P0 + STATCMD), ST_DRDY | ST_DSC | ST_ERR, "no data phase");
    cr_expect_eq(inb(P0 + ERRFEAT), 0x44, "ABRT and WP");
}

Test(ide, multiple_mode)
{
    attach(0, 0, IDE_DISK, image(4 << 20, 4 << 20, false));
    static uint8_t buf[32 * 512];
    uint16_t id[256];
    lba28(P0, 0, 4, 0);
    outb(P0 + STATCMD, 0xC4);
    cr_expect_eq(inb(P0 + ERRFEAT), 0x04, "READ MULTIPLE before SET MULTIPLE aborts");
    outb(P0 + NSECT, 3);
    outb(P0 + STATCMD, 0xC6);
    cr_expect_eq(inb(P0 + STATCMD) & ST_ERR, ST_ERR, "3 is not a power of two");
    outb(P0 + NSECT, 4);
    outb(P0 + STATCMD, 0xC6);
    cr_expect_eq(inb(P0 + STATCMD), ST_DRDY | ST_DSC);
    identify(P0, 0xEC, id);
    cr_expect_eq(id[59], 0x0104);
    lba28(P0, 50, 10, 0);
    outb(P0 + STATCMD, 0xC4);
    pio_in(P0, buf, 10, 4);   /* blocks of 4, 4, 2 */
    check_sectors(buf, 50, 10);
    lba48(P0, 200, 9);
    outb(P0 + STATCMD, 0x29);
    pio_in(P0, buf, 9, 4);
    check_sectors(buf, 200, 9);
    for (int i = 0; i < 6 * 512; i++) {
        buf[i] = (uint8_t)(i ^ 0x5A);
    }
    lba28(P0, 300, 6, 0);
    outb(P0 + STATCMD, 0xC5);
    pio_out(P0, buf, 6, 4);
    check_file(0, 300, buf, 6);
}

/* ---- DMA ---------------------------------------------------------------------------- */

static void prd(uint32_t at, int i, uint32_t addr, uint32_t count, bool eot)
{
    bus_write(R.bus, at + 8 * i, addr, 4);
    bus_write(R.bus, at + 8 * i + 4, (count & 0xFFFF) | (eot ? 0x80000000u : 0), 4);
}

Test(ide, dma_read_and_write_through_two_prds)
{
    attach(0, 0, IDE_DISK, image(4 << 20, 4 << 20, false));
    /* 8 sectors: 3 at 0x10000, 5 at 0x30000 */
    prd(0x8000, 0, 0x10000, 3 * 512, false);
    prd(0x8000, 1, 0x30000, 5 * 512, true);
    bus_out(R.bus, BMBASE + 4, 0x8000, 4);
    lba28(P0, 77, 8, 0);
    outb(P0 + STATCMD, 0xC8);
    cr_expect_eq(inb(C0) & ST_DRQ, ST_DRQ, "waits for the bus master");
    cr_expect_eq(R.irq[0], 0);
    outb(BMBASE, 0x09);   /* start, to memory */
    cr_expect_eq(R.irq[0], 1);
    cr_expect_eq(inb(BMBASE + 2), 0x24, "INT set, ACTIVE clear: table used exactly");
    cr_expect_eq(inb(P0 + STATCMD), ST_DRDY | ST_DSC);
    outb(BMBASE, 0x08);
    outb(BMBASE + 2, 0x24);   /* bits 5-6 are plain read/write */
    uint8_t bst = inb(BMBASE + 2);
    cr_expect_eq(bst, 0x20, "INT is write-1-to-clear: %#x", bst);
    check_sectors(R.bus->ram + 0x10000, 77, 3);
    check_sectors(R.bus->ram + 0x30000, 80, 5);

    /* write: gather 2 + 2 sectors from two buffers */
    for (int i = 0; i < 1024; i++) {
        R.bus->ram[0x40000 + i] = (uint8_t)(i * 3);
        R.bus->ram[0x50000 + i] = (uint8_t)(i * 5);
    }
    prd(0x8000, 0, 0x40000, 1024, false);
    prd(0x8000, 1, 0x50000, 1024, true);
    lba48(P0, 500, 4);
    outb(BMBASE, 0x01);   /* start, from memory: before the command this time */
    outb(P0 + STATCMD, 0x35);
    cr_expect_eq(inb(P0 + STATCMD), ST_DRDY | ST_DSC);
    cr_expect_eq(inb(BMBASE + 2) & 0x07, 0x04);
    check_file(0, 500, R.bus->ram + 0x40000, 2);
    check_file(0, 502, R.bus->ram + 0x50000, 2);

    /* a table longer than the transfer leaves ACTIVE set */
    outb(BMBASE, 0x00);
    outb(BMBASE + 2, 0x26);
    prd(0x8000, 0, 0x10000, 0, true);   /* 0 = 64 KiB */
    lba28(P0, 0, 1, 0);
    outb(P0 + STATCMD, 0xC8);
    outb(BMBASE, 0x09);
    cr_expect_eq(inb(BMBASE + 2) & 0x07, 0x05);
    check_sectors(R.bus->ram + 0x10000, 0, 1);
    outb(BMBASE, 0x00);
    cr_expect_eq(inb(BMBASE + 2) & 0x07, 0x04);
}

/* ---- resets and selection ----------------------------------------------------------- */

Test(ide, srst_signatures_and_absent_slave)
{
    attach(0, 0, IDE_DISK, image(1 << 20, 0, false));
    attach(1, 1, IDE_CDROM, image(1 << 20, 0, true));
    outb(C0, 0x04 | 0x02);
    cr_expect_eq(inb(C0), ST_BSY, "BSY while SRST is held");
    outb(C0, 0x02);
    cr_expect_eq(inb(P0 + STATCMD), ST_DRDY | ST_DSC);
    cr_expect_eq(inb(P0 + ERRFEAT), 0x01);
    cr_expect_eq(inb(P0 + NSECT), 1);
    cr_expect_eq(inb(P0 + LBAL), 1);
    cr_expect_eq(inb(P0 + LBAM), 0x00);
    cr_expect_eq(inb(P0 + LBAH), 0x00);
    cr_expect_eq(inb(P0 + DEVSEL) & 0x10, 0, "device 0 selected after reset");
    /* the missing slave reads as zeros; writes do not stick */
    outb(P0 + DEVSEL, 0xB0);
    outb(P0 + NSECT, 0x55);
    cr_expect_eq(inb(P0 + STATCMD), 0x00);
    cr_expect_eq(inb(C0), 0x00);
    cr_expect_eq(inb(P0 + NSECT), 0x00);
    cr_expect_eq(inb(P0 + DEVSEL), 0x00);
    outb(P0 + STATCMD, 0xEC);
    cr_expect_eq(inb(P0 + STATCMD), 0x00, "the absent slave runs no command");
    outb(P0 + DEVSEL, 0xA0);
    cr_expect_eq(inb(P0 + NSECT), 0x55, "the master took the write");
    /* ATAPI signature on the secondary slave; the empty master reads zeros */
    outb(C1, 0x04);
    outb(C1, 0x00);
    outb(P1 + DEVSEL, 0xB0);
    cr_expect_eq(inb(P1 + NSECT), 1);
    cr_expect_eq(inb(P1 + LBAL), 1);
    cr_expect_eq(inb(P1 + LBAM), 0x14);
    cr_expect_eq(inb(P1 + LBAH), 0xEB);
    cr_expect_eq(inb(P1 + STATCMD), 0x00, "no DRDY on a packet device after reset");
    /* IDENTIFY DEVICE on the CD aborts with the signature */
    outb(P1 + STATCMD, 0xEC);
    cr_expect_eq(inb(P1 + STATCMD) & ST_ERR, ST_ERR);
    cr_expect_eq(inb(P1 + ERRFEAT), 0x04);
    cr_expect_eq(inb(P1 + LBAH), 0xEB);
    outb(P1 + DEVSEL, 0xA0);
    cr_expect_eq(inb(P1 + STATCMD), 0x00);
}

Test(ide, empty_channel_floats)
{
    cr_expect_eq(inb(P0 + STATCMD), 0x7F);
    cr_expect_eq(inb(C1), 0x7F);
    outb(P0 + NSECT, 0x55);
    cr_expect_eq(inb(P0 + NSECT), 0x7F);
}

Test(ide, nien_masks_the_interrupt)
{
    attach(0, 0, IDE_DISK, image(1 << 20, 0, false));
    outb(C0, 0x02);
    outb(P0 + STATCMD, 0xE7);
    cr_expect_eq(R.irq[0], 0, "nIEN holds the line low");
    outb(C0, 0x00);
    cr_expect_eq(R.irq[0], 1, "the pending interrupt shows once enabled");
    cr_expect_eq(inb(C0), ST_DRDY | ST_DSC);
    cr_expect_eq(R.irq[0], 1, "alternate status does not clear it");
    inb(P0 + STATCMD);
    cr_expect_eq(R.irq[0], 0);
    /* CHECK POWER MODE after STANDBY IMMEDIATE */
    outb(P0 + STATCMD, 0xE0);
    outb(P0 + STATCMD, 0xE5);
    cr_expect_eq(inb(P0 + NSECT), 0x00);
    outb(P0 + STATCMD, 0xE1);
    outb(P0 + STATCMD, 0xE5);
    cr_expect_eq(inb(P0 + NSECT), 0xFF);
    /* READ NATIVE MAX ADDRESS (EXT) */
    outb(P0 + DEVSEL, 0x40);
    outb(P0 + STATCMD, 0x27);
    cr_expect_eq(inb(P0 + LBAL), 0xFF);
    cr_expect_eq(inb(P0 + LBAM), 0x07, "2047 = 0x7FF");
    outb(P0 + STATCMD, 0xF8);
    cr_expect_eq(inb(P0 + LBAM), 0x07);
    cr_expect_eq(inb(P0 + DEVSEL) & 0x4F, 0x40);
    /* an unknown command aborts */
    outb(P0 + STATCMD, 0xB0);
    cr_expect_eq(inb(P0 + STATCMD), ST_DRDY | ST_DSC | ST_ERR);
    cr_expect_eq(inb(P0 + ERRFEAT), 0x04);
}

/* ---- ATAPI ----------------------------------------------------------------------------- */

struct pkt_result {
    int status;       /* final status */
    int error;
    int phases;
    int sizes[64];    /* byte count of each DRQ phase */
    int len;
};

/* Send a packet to the secondary master by PIO; collect data-in. */
static struct pkt_result packet(const uint8_t *cdb, uint16_t limit, uint8_t *out, int cap)
{
    struct pkt_result res = { 0 };
    outb(P1 + DEVSEL, 0xA0);
    outb(P1 + ERRFEAT, 0);
    outb(P1 + LBAM, (uint8_t)limit);
    outb(P1 + LBAH, (uint8_t)(limit >> 8));
    outb(P1 + STATCMD, 0xA0);
    uint8_t st = inb(C1);
    cr_assert_eq(st & (ST_BSY | ST_DRQ), ST_DRQ, "packet phase, status %#x", st);
    cr_assert_eq(inb(P1 + NSECT) & 3, 1, "CoD=1 IO=0");
    cr_assert_eq(R.irq[1], 0, "no interrupt before the packet");
    for (int i = 0; i < 12; i += 2) {
        outw(P1, (uint16_t)(cdb[i] | cdb[i + 1] << 8));
    }
    for (;;) {
        cr_assert_eq(R.irq[1], 1, "an interrupt per phase");
        st = inb(P1 + STATCMD);
        if (!(st & ST_DRQ)) {
            break;
        }
        cr_assert_eq(inb(P1 + NSECT) & 3, 2, "data in: IO=1 CoD=0");
        int n = inb(P1 + LBAM) | inb(P1 + LBAH) << 8;
        cr_assert(n > 0 && n <= (limit ? limit : 0xFFFE));
        cr_assert(res.len + n <= cap);
        read_words(P1, out + res.len, n);
        res.len += n;
        if (res.phases < 64) {
            res.sizes[res.phases] = n;
        }
        res.phases++;
    }
    cr_assert_eq(inb(P1 + NSECT) & 3, 3, "completion: IO=1 CoD=1");
    res.status = st;
    res.error = inb(P1 + ERRFEAT);
    return res;
}

static struct pkt_result sense(uint8_t *key, uint8_t *asc, uint8_t *ascq)
{
    uint8_t cdb[12] = { 0x03, 0, 0, 0, 18 }, s[18];
    struct pkt_result r = packet(cdb, 18, s, sizeof(s));
    cr_assert_eq(r.len, 18);
    cr_expect_eq(s[0], 0x70);
    *key = s[2] & 0x0F;
    *asc = s[12];
    *ascq = s[13];
    return r;
}

/* An ISO-sized image: 300 sectors of 2048 bytes. */
#define CD_SECTORS 300

static void cd_rig(void)
{
    attach(1, 0, IDE_CDROM, image(CD_SECTORS * 2048, CD_SECTORS * 2048, true));
}

Test(ide, atapi_identify_inquiry_capacity)
{
    cd_rig();
    uint16_t id[256];
    char s[41];
    outb(P1 + DEVSEL, 0xA0);
    identify(P1, 0xA1, id);
    cr_expect_eq(id[0], 0x85C0, "ATAPI CD-ROM, removable, 50 us DRQ, 12-byte packets");
    cr_expect_eq(id[49] & 0x0300, 0x0300);
    id_string(id, 27, 20, s);
    cr_expect_eq(strncmp(s, "KASOU CD-ROM ", 13), 0, "%s", s);
    check_checksum(id);
    cr_expect_eq(inb(P1 + STATCMD) & ST_DRDY, ST_DRDY);

    uint8_t buf[64];
    uint8_t inq[12] = { 0x12, 0, 0, 0, 36 };
    struct pkt_result r = packet(inq, 0xFFFE, buf, sizeof(buf));
    cr_expect_eq(r.status & ST_ERR, 0);
    cr_expect_eq(r.len, 36);
    cr_expect_eq(buf[0], 0x05, "CD/DVD device");
    cr_expect_eq(buf[1], 0x80, "removable");
    cr_expect_eq(memcmp(buf + 8, "KASOU   ", 8), 0);
    cr_expect_eq(memcmp(buf + 16, "CD-ROM          ", 16), 0);
    /* allocation length 5 cuts the reply */
    inq[4] = 5;
    r = packet(inq, 0xFFFE, buf, sizeof(buf));
    cr_expect_eq(r.len, 5);

    uint8_t cap[12] = { 0x25 };
    r = packet(cap, 0xFFFE, buf, sizeof(buf));
    cr_expect_eq(r.len, 8);
    cr_expect_eq(buf[0] << 24 | buf[1] << 16 | buf[2] << 8 | buf[3], CD_SECTORS - 1);
    cr_expect_eq(buf[4] << 24 | buf[5] << 16 | buf[6] << 8 | buf[7], 2048);
}

static void check_cd(const uint8_t *buf, uint32_t lba, unsigned n)
{
    check_sectors(buf, lba * 4, n * 4);
}

Test(ide, atapi_read10_pio_byte_count_limits)
{
    cd_rig();
    static uint8_t buf[16 * 2048];
    uint8_t rd[12] = { 0x28, 0, 0, 0, 0, 10, 0, 0, 3 };   /* LBA 10, 3 blocks */
    struct pkt_result r = packet(rd, 0xFFFE, buf, sizeof(buf));
    cr_expect_eq(r.status & ST_ERR, 0);
    cr_expect_eq(r.phases, 1);
    cr_expect_eq(r.len, 3 * 2048);
    check_cd(buf, 10, 3);
    /* limit 5000: whole sectors per phase, 4096 + 2048 */
    r = packet(rd, 5000, buf, sizeof(buf));
    cr_expect_eq(r.phases, 2);
    cr_expect_eq(r.sizes[0], 4096);
    cr_expect_eq(r.sizes[1], 2048);
    check_cd(buf, 10, 3);
    /* limit 1000 (below a sector): phases of 1000 bytes */
    r = packet(rd, 1000, buf, sizeof(buf));
    cr_expect_eq(r.len, 3 * 2048);
    cr_expect_eq(r.sizes[0], 1000);
    cr_expect_eq(r.phases, 7);
    check_cd(buf, 10, 3);
    /* READ(12) of 12 blocks at the end of the disc */
    uint8_t rd12[12] = { 0xA8, 0, 0, 0, (CD_SECTORS - 12) >> 8, (CD_SECTORS - 12) & 0xFF,
                         0, 0, 0, 12 };
    r = packet(rd12, 0xFFFE, buf, sizeof(buf));
    cr_expect_eq(r.len, 12 * 2048);
    check_cd(buf, CD_SECTORS - 12, 12);
    /* one block past the end */
    rd12[9] = 13;
    r = packet(rd12, 0xFFFE, buf, sizeof(buf));
    cr_expect_eq(r.status & ST_ERR, ST_ERR);
    cr_expect_eq(r.error >> 4, 0x5, "ILLEGAL REQUEST");
    uint8_t k, asc, ascq;
    sense(&k, &asc, &ascq);
    cr_expect_eq(k, 0x5);
    cr_expect_eq(asc, 0x21);
}

Test(ide, atapi_read_toc)
{
    cd_rig();
    uint8_t buf[64];
    uint8_t toc[12] = { 0x43, 0, 0, 0, 0, 0, 0, 0, 64 };
    struct pkt_result r = packet(toc, 0xFFFE, buf, sizeof(buf));
    cr_expect_eq(r.len, 20);
    cr_expect_eq(buf[0] << 8 | buf[1], 18);
    cr_expect_eq(buf[2], 1);
    cr_expect_eq(buf[3], 1);
    cr_expect_eq(buf[5], 0x14, "data track");
    cr_expect_eq(buf[6], 1);
    cr_expect_eq(buf[8] | buf[9] | buf[10] | buf[11], 0);
    cr_expect_eq(buf[14], 0xAA, "lead-out");
    cr_expect_eq(buf[16] << 24 | buf[17] << 16 | buf[18] << 8 | buf[19], CD_SECTORS);
    /* MSF: track 1 at 00:02:00, lead-out at 300 + 150 frames = 00:06:00 */
    toc[1] = 0x02;
    r = packet(toc, 0xFFFE, buf, sizeof(buf));
    cr_expect_eq(buf[9], 0);
    cr_expect_eq(buf[10], 2);
    cr_expect_eq(buf[11], 0);
    cr_expect_eq(buf[17], 0);
    cr_expect_eq(buf[18], 6);
    cr_expect_eq(buf[19], 0);
    /* format 1: session info */
    toc[1] = 0;
    toc[2] = 1;
    r = packet(toc, 0xFFFE, buf, sizeof(buf));
    cr_expect_eq(r.len, 12);
    cr_expect_eq(buf[1], 10);
    cr_expect_eq(buf[6], 1);
    /* format 2: full TOC with A0, A1, A2 and track 1 */
    toc[2] = 2;
    r = packet(toc, 0xFFFE, buf, sizeof(buf));
    cr_expect_eq(r.len, 4 + 4 * 11);
    cr_expect_eq(buf[4 + 3], 0xA0);
    cr_expect_eq(buf[4 + 8], 1, "first track");
    cr_expect_eq(buf[26 + 3], 0xA2);
    cr_expect_eq(buf[26 + 9], 6, "lead-out 00:06:00");
    /* a start track beyond the last one */
    toc[2] = 0;
    toc[6] = 5;
    r = packet(toc, 0xFFFE, buf, sizeof(buf));
    cr_expect_eq(r.status & ST_ERR, ST_ERR);
}

Test(ide, atapi_empty_tray_and_media_change)
{
    attach(1, 0, IDE_CDROM, NULL);
    uint8_t tur[12] = { 0 }, buf[64];
    uint8_t k, asc, ascq;
    struct pkt_result r = packet(tur, 0xFFFE, buf, sizeof(buf));
    cr_expect_eq(r.status & ST_ERR, ST_ERR);
    cr_expect_eq(r.error >> 4, 0x2, "NOT READY");
    sense(&k, &asc, &ascq);
    cr_expect_eq(k, 0x2);
    cr_expect_eq(asc, 0x3A, "MEDIUM NOT PRESENT");
    cr_expect_eq(ascq, 0x01, "tray closed");
    /* the sense is consumed */
    r = sense(&k, &asc, &ascq);
    cr_expect_eq(k, 0);

    /* GET CONFIGURATION: no current profile */
    uint8_t gc[12] = { 0x46, 0, 0, 0, 0, 0, 0, 0, 64 };
    r = packet(gc, 0xFFFE, buf, sizeof(buf));
    cr_expect_eq(buf[6] << 8 | buf[7], 0);

    cr_expect_eq(ide_change_media(R.ide, 1, 0, image(CD_SECTORS * 2048, 0, true)), 0);
    cr_expect_eq(ide_change_media(R.ide, 0, 0, NULL), -1, "not a CD-ROM");
    /* GESN reports the new medium without consuming the unit attention */
    uint8_t gesn[12] = { 0x4A, 1, 0, 0, 0x10, 0, 0, 0, 8 };
    r = packet(gesn, 0xFFFE, buf, sizeof(buf));
    cr_expect_eq(r.len, 8);
    cr_expect_eq(buf[2], 0x04, "media class");
    cr_expect_eq(buf[4], 2, "new media");
    cr_expect_eq(buf[5], 0x02, "medium present");
    r = packet(gesn, 0xFFFE, buf, sizeof(buf));
    cr_expect_eq(buf[4], 0, "reported once");
    /* the first TUR fails with UNIT ATTENTION 28h, then the drive is ready */
    r = packet(tur, 0xFFFE, buf, sizeof(buf));
    cr_expect_eq(r.status & ST_ERR, ST_ERR);
    cr_expect_eq(r.error >> 4, 0x6);
    sense(&k, &asc, &ascq);
    cr_expect_eq(k, 0x6);
    cr_expect_eq(asc, 0x28);
    r = packet(tur, 0xFFFE, buf, sizeof(buf));
    cr_expect_eq(r.status & ST_ERR, 0);
    r = packet(gc, 0xFFFE, buf, sizeof(buf));
    cr_expect_eq(buf[6] << 8 | buf[7], 0x0008, "CD-ROM profile");

    /* the guest locks the tray: eject is refused, then allowed */
    uint8_t lock[12] = { 0x1E, 0, 0, 0, 1 }, eject[12] = { 0x1B, 0, 0, 0, 2 };
    packet(lock, 0xFFFE, buf, sizeof(buf));
    cr_expect_eq(ide_eject(R.ide, 1, 0, false), -1);
    r = packet(eject, 0xFFFE, buf, sizeof(buf));
    cr_expect_eq(r.error >> 4, 0x5);
    lock[4] = 0;
    packet(lock, 0xFFFE, buf, sizeof(buf));
    r = packet(eject, 0xFFFE, buf, sizeof(buf));
    cr_expect_eq(r.status & ST_ERR, 0);
    r = packet(tur, 0xFFFE, buf, sizeof(buf));
    sense(&k, &asc, &ascq);
    cr_expect_eq(asc, 0x3A);
    cr_expect_eq(ascq, 0x02, "tray open");
}

Test(ide, atapi_mode_sense_and_misc)
{
    cd_rig();
    uint8_t buf[128];
    uint8_t ms[12] = { 0x5A, 0, 0x2A, 0, 0, 0, 0, 0, 128 };
    struct pkt_result r = packet(ms, 0xFFFE, buf, sizeof(buf));
    cr_expect_eq(r.len, 8 + 22);
    cr_expect_eq(buf[0] << 8 | buf[1], 8 + 22 - 2);
    cr_expect_eq(buf[8], 0x2A);
    cr_expect_eq(buf[9], 20);
    ms[2] = 0x3F;
    r = packet(ms, 0xFFFE, buf, sizeof(buf));
    cr_expect_eq(r.len, 8 + 12 + 8 + 22);
    uint8_t ms6[12] = { 0x1A, 0, 0x0D, 0, 64 };
    r = packet(ms6, 0xFFFE, buf, sizeof(buf));
    cr_expect_eq(r.len, 4 + 8);
    cr_expect_eq(buf[0], 11);
    cr_expect_eq(buf[4], 0x0D);
    cr_expect_eq(buf[9], 60);
    cr_expect_eq(buf[11], 75);
    ms6[2] = 0x05;   /* no such page */
    r = packet(ms6, 0xFFFE, buf, sizeof(buf));
    cr_expect_eq(r.status & ST_ERR, ST_ERR);
    uint8_t k, asc, ascq;
    sense(&k, &asc, &ascq);
    cr_expect_eq(asc, 0x24);
    uint8_t bad[12] = { 0xFF };
    r = packet(bad, 0xFFFE, buf, sizeof(buf));
    sense(&k, &asc, &ascq);
    cr_expect_eq(k, 0x5);
    cr_expect_eq(asc, 0x20, "INVALID COMMAND OPERATION CODE");
    uint8_t di[12] = { 0x51, 0, 0, 0, 0, 0, 0, 0, 34 };
    r = packet(di, 0xFFFE, buf, sizeof(buf));
    cr_expect_eq(r.len, 34);
    cr_expect_eq(buf[2], 0x0E);
    uint8_t ti[12] = { 0x52, 1, 0, 0, 0, 1, 0, 0, 36 };
    r = packet(ti, 0xFFFE, buf, sizeof(buf));
    cr_expect_eq(r.len, 36);
    cr_expect_eq(buf[24] << 24 | buf[25] << 16 | buf[26] << 8 | buf[27], CD_SECTORS);
    ti[5] = 2;   /* there is no track 2 */
    r = packet(ti, 0xFFFE, buf, sizeof(buf));
    cr_expect_eq(r.status & ST_ERR, ST_ERR);
    uint8_t rcd[12] = { 0xBE, 0, 0, 0, 0, 7, 0, 0, 2, 0x10 };
    static uint8_t data[2 * 2048];
    r = packet(rcd, 0xFFFE, data, sizeof(data));
    cr_expect_eq(r.len, 2 * 2048);
    check_cd(data, 7, 2);
    uint8_t mech[12] = { 0xBD, 0, 0, 0, 0, 0, 0, 0, 0, 8 };
    r = packet(mech, 0xFFFE, buf, sizeof(buf));
    cr_expect_eq(r.len, 8);
    /* MODE SELECT(10) takes its parameter list (data-out) */
    uint8_t msel[12] = { 0x55, 0x10, 0, 0, 0, 0, 0, 0, 8 };
    outb(P1 + DEVSEL, 0xA0);
    outb(P1 + ERRFEAT, 0);
    outb(P1 + LBAM, 0xFE);
    outb(P1 + LBAH, 0xFF);
    outb(P1 + STATCMD, 0xA0);
    for (int i = 0; i < 12; i += 2) {
        outw(P1, (uint16_t)(msel[i] | msel[i + 1] << 8));
    }
    cr_expect_eq(inb(P1 + STATCMD) & ST_DRQ, ST_DRQ);
    cr_expect_eq(inb(P1 + NSECT) & 3, 0, "data out: IO=0 CoD=0");
    cr_expect_eq(inb(P1 + LBAM), 8);
    for (int i = 0; i < 4; i++) {
        outw(P1, 0);
    }
    cr_expect_eq(inb(P1 + STATCMD), ST_DRDY | ST_DSC);
    cr_expect_eq(inb(P1 + NSECT) & 3, 3);
}

Test(ide, atapi_read_by_dma)
{
    cd_rig();
    prd(0x8000, 0, 0x20000, 2048, false);
    prd(0x8000, 1, 0x60000, 3 * 2048, true);
    bus_out(R.bus, BMBASE + 8 + 4, 0x8000, 4);
    uint8_t rd[12] = { 0x28, 0, 0, 0, 0, 40, 0, 0, 4 };
    outb(P1 + DEVSEL, 0xA0);
    outb(P1 + ERRFEAT, 0x01);   /* DMA */
    outb(P1 + LBAM, 0);
    outb(P1 + LBAH, 0);
    outb(P1 + STATCMD, 0xA0);
    for (int i = 0; i < 12; i += 2) {
        outw(P1, (uint16_t)(rd[i] | rd[i + 1] << 8));
    }
    cr_expect_eq(R.irq[1], 0, "waits for the bus master");
    outb(BMBASE + 8, 0x09);
    cr_expect_eq(R.irq[1], 1);
    cr_expect_eq(inb(BMBASE + 10) & 0x07, 0x04);
    cr_expect_eq(inb(P1 + STATCMD), ST_DRDY | ST_DSC);
    cr_expect_eq(inb(P1 + NSECT) & 3, 3);
    check_cd(R.bus->ram + 0x20000, 40, 1);
    check_cd(R.bus->ram + 0x60000, 41, 3);
}
