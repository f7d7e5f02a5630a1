/*
 * ide.c - the PIIX3 IDE function (PCI 8086:7010, class 0101, prog-if 80h)
 * and its ATA disks; the ATAPI CD-ROM's packet commands live in atapi.c.
 *
 * Registers, per channel (primary 1F0h-1F7h + 3F6h on IRQ14, secondary
 * 170h-177h + 376h on IRQ15; the PIIX3 decodes them in legacy mode, which
 * this model never turns off):
 *   +0 data (16 or 32 bits)   +1 error / features   +2 sector count
 *   +3 LBA low / sector       +4 LBA mid / cyl low  +5 LBA high / cyl high
 *   +6 device/head            +7 status / command
 *   3F6h: alternate status / device control (nIEN, SRST, HOB)
 * The LBA and count registers are two-deep FIFOs for 48-bit commands: a
 * write pushes the old value into the "HOB" copy, which reads back while
 * device control bit 7 is set.  The host's writes reach both drives; the
 * selected drive answers reads.  A drive that is absent while the other
 * is present reads as 00h (device 0 answers for it, as the ATA standard
 * asks); a channel with no drive at all floats to 7Fh (DD7 pulled down).
 *
 * Protocol: every command completes at once (no seek or rotation time),
 * so BSY is only ever seen while SRST is held.  PIO reads raise INTRQ for
 * each DRQ block; PIO writes take the first block without an interrupt
 * and interrupt after each later block and at the end.  INTRQ drops when
 * the status register is read or a command is written.
 *
 * Bus master (BAR4, 16 bytes: 8 a channel): command (start, direction),
 * status (active, error, interrupt; drive 0/1 DMA capable), PRD table
 * pointer.  A DMA command waits until the host sets START, then walks the
 * PRD table (base, byte count with 0 = 64 KiB, end-of-table bit 31) in
 * one go.  When the table is longer than the transfer, ACTIVE stays set
 * as on the PIIX; when it is shorter, the command fails (ERR, and the bus
 * master's error bit) instead of hanging the way real hardware would.
 */
#include "ide.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/block/block.h"
#include "hw/ide_int.h"
#include "util/log.h"

#define IDE_FIRMWARE "1.0"
#define IDE_MAX_MULT 16
#define IDE_CHS_LIMIT 16514064u   /* 16383 * 16 * 63 */
#define IDE_LBA28_MAX 0x0FFFFFFFu

#define IDETIM 0x40

static const uint16_t cmd_base[2] = { 0x1F0, 0x170 };
static const uint16_t ctl_base[2] = { 0x3F6, 0x376 };

/* ---- interrupts and the PIO data window --------------------------------- */

/* INTRQ is driven by the selected drive only, and gated by nIEN. */
void ide_update_irq(struct ide_channel *ch)
{
    const struct ide_drive *d = &ch->drive[ch->cur];
    int level = d->present && d->intrq && !(ch->ctrl & CTL_NIEN);
    if (level && !ch->irq_level) {
        ch->bm_status |= BM_ST_INT;   /* the PIIX latches every rising edge */
    }
    if (level != ch->irq_level) {
        ch->irq_level = level;
        irq_set(&ch->irq, level);
    }
}

void ide_raise_irq(struct ide_drive *d)
{
    d->intrq = true;
    ide_update_irq(d->ch);
}

void ide_pio_window(struct ide_drive *d, uint32_t start, uint32_t len, bool out,
                    ide_step_fn end_fn)
{
    d->pos = start;
    d->end = start + len;
    d->pio_out = out;
    d->end_fn = end_fn;
    d->status = (uint8_t)((d->status & ~ST_BSY) | ST_DRQ);
}

/* The host moved the last byte of the window: on to the next step. */
static void pio_end(struct ide_drive *d)
{
    ide_step_fn fn = d->end_fn;
    d->status &= (uint8_t)~ST_DRQ;
    d->end_fn = NULL;
    if (fn) {
        fn(d);
    }
}

/* Forget any data phase (a new command, a reset). */
static void drive_stop(struct ide_drive *d)
{
    d->end_fn = NULL;
    d->dma_fn = NULL;
    d->pos = d->end = 0;
    d->status &= (uint8_t)~ST_DRQ;
}

static uint32_t data_read(struct ide_channel *ch, int size)
{
    struct ide_drive *d = &ch->drive[ch->cur];
    if (!d->present || !(d->status & ST_DRQ) || d->pio_out || d->pos >= d->end) {
        return 0xFFFFFFFFu;
    }
    if (size == 1) {
        log_once("ide: byte access to the data register");
    }
    uint32_t v = 0;
    for (int i = 0; i < size && d->pos < d->end; i++) {
        v |= (uint32_t)d->buf[d->pos++] << (8 * i);
    }
    if (d->pos >= d->end) {
        pio_end(d);
    }
    return v;
}

static void data_write(struct ide_channel *ch, uint32_t val, int size)
{
    struct ide_drive *d = &ch->drive[ch->cur];
    if (!d->present || !(d->status & ST_DRQ) || !d->pio_out || d->pos >= d->end) {
        return;
    }
    for (int i = 0; i < size && d->pos < d->end; i++) {
        d->buf[d->pos++] = (uint8_t)(val >> (8 * i));
    }
    if (d->pos >= d->end) {
        pio_end(d);
    }
}

/* ---- IDENTIFY helpers ------------------------------------------------------ */

void ide_id_string(uint16_t *w, const char *s, int nwords)
{
    size_t len = strlen(s);
    for (int i = 0; i < nwords * 2; i++) {
        uint8_t c = (size_t)i < len ? (uint8_t)s[i] : ' ';
        if (i & 1) {
            w[i / 2] |= c;
        } else {
            w[i / 2] = (uint16_t)(c << 8);
        }
    }
}

void ide_id_common(const struct ide_drive *d, uint16_t *id)
{
    ide_id_string(&id[10], d->serial, 10);
    ide_id_string(&id[23], IDE_FIRMWARE, 4);
    id[49] = 0x0B00;   /* IORDY, LBA, DMA */
    id[50] = 0x4000;
    id[51] = 0x0200;   /* obsolete PIO/DMA timing modes: 2 */
    id[52] = 0x0200;
    id[53] = 0x0006;   /* words 64-70 and 88 are valid */
    id[63] = 0x0007;   /* multiword DMA 0-2 */
    if ((d->dma_mode & 0xF8) == 0x20) {
        id[63] |= (uint16_t)(0x100 << (d->dma_mode & 7));
    }
    id[64] = 0x0003;   /* PIO 3 and 4 */
    id[65] = id[66] = id[67] = id[68] = 120;
    id[80] = 0x007E;   /* ATA/ATAPI-1 to -6 */
    id[88] = 0x003F;   /* Ultra DMA 0-5 */
    if ((d->dma_mode & 0xF8) == 0x40) {
        id[88] |= (uint16_t)(0x100 << (d->dma_mode & 7));
    }
    /* reset result: jumper-selected, diagnostics passed, 80-wire cable */
    if (d->unit == 0) {
        id[93] = 0x600B | (d->ch->drive[1].present ? 0x0060 : 0);
    } else {
        id[93] = 0x6300;
    }
}

void ide_id_finish(struct ide_drive *d, uint16_t *id)
{
    uint8_t sum = 0xA5;
    id[255] = 0x00A5;
    for (int i = 0; i < 255; i++) {
        sum = (uint8_t)(sum + (id[i] & 0xFF) + (id[i] >> 8));
    }
    id[255] |= (uint16_t)((uint8_t)-sum << 8);
    for (int i = 0; i < 256; i++) {
        d->buf[2 * i] = (uint8_t)id[i];
        d->buf[2 * i + 1] = (uint8_t)(id[i] >> 8);
    }
    d->status = ST_DRDY | ST_DSC;
    ide_pio_window(d, 0, 512, false, NULL);
    ide_raise_irq(d);
}

void ide_set_signature(struct ide_drive *d)
{
    bool cd = d->media == IDE_CDROM;
    d->nsector = d->hob_nsector = 1;
    d->sector = d->hob_sector = 1;
    d->lcyl = d->hob_lcyl = cd ? 0x14 : 0x00;
    d->hcyl = d->hob_hcyl = cd ? 0xEB : 0x00;
}

/* SET FEATURES, shared by disks and CD-ROMs; false: abort. */
bool ide_set_features(struct ide_drive *d)
{
    uint8_t v = d->nsector;
    switch (d->feature) {
    case 0x02:
    case 0x82:
        d->wcache = d->feature == 0x02;
        return true;
    case 0xAA:
    case 0x55:
        d->lookahead = d->feature == 0xAA;
        return true;
    case 0x66:
    case 0xCC:
        return true;   /* settings survive a soft reset either way */
    case 0x03:
        if (v <= 0x01 || (v >= 0x08 && v <= 0x0C)) {
            d->pio_mode = v >= 0x08 ? (uint8_t)(v & 7) : 0;
            return true;
        }
        if ((v >= 0x20 && v <= 0x22) || (v >= 0x40 && v <= 0x45)) {
            d->dma_mode = v;
            return true;
        }
        log_ch(LOG_GUEST, "ide: SET FEATURES: bad transfer mode %#x", v);
        return false;
    default:
        log_once("ide: SET FEATURES subcommand %#x not implemented", d->feature);
        return false;
    }
}

/* ---- ATA commands ------------------------------------------------------------- */

static void ata_done(struct ide_drive *d)
{
    d->status = ST_DRDY | ST_DSC;
    ide_raise_irq(d);
}

static void ata_error(struct ide_drive *d, uint8_t err)
{
    d->error = err;
    d->status = ST_DRDY | ST_DSC | ST_ERR;
    ide_raise_irq(d);
}

static void ata_identify(struct ide_drive *d)
{
    uint16_t id[256] = { 0 };
    id[0] = 0x0040;   /* fixed, not removable */
    id[1] = d->cyls;
    id[3] = d->heads;
    id[6] = d->secs;
    id[20] = 3;       /* obsolete buffer type, size (512 sectors), ECC bytes */
    id[21] = 512;
    id[22] = 4;
    ide_id_common(d, id);
    ide_id_string(&id[27], "KASOU HARDDISK", 20);
    id[47] = 0x8000 | IDE_MAX_MULT;
    id[53] |= 0x0001;   /* words 54-58 are valid */
    uint32_t cap = (uint32_t)d->cur_cyls * d->cur_heads * d->cur_secs;
    id[54] = d->cur_cyls;
    id[55] = d->cur_heads;
    id[56] = d->cur_secs;
    id[57] = (uint16_t)cap;
    id[58] = (uint16_t)(cap >> 16);
    id[59] = d->mult ? (uint16_t)(0x0100 | d->mult) : 0;
    uint32_t lba28 = d->nsectors > IDE_LBA28_MAX ? IDE_LBA28_MAX : (uint32_t)d->nsectors;
    id[60] = (uint16_t)lba28;
    id[61] = (uint16_t)(lba28 >> 16);
    /* NOP, HPA (READ NATIVE MAX), look-ahead, write cache, power management */
    id[82] = 0x4468;
    /* FLUSH CACHE EXT, FLUSH CACHE, 48-bit address */
    id[83] = 0x7400;
    id[84] = 0x4000;
    id[85] = 0x4408 | (d->wcache ? 0x0020 : 0) | (d->lookahead ? 0x0040 : 0);
    id[86] = 0x3400;
    id[87] = 0x4000;
    for (int i = 0; i < 4; i++) {
        id[100 + i] = (uint16_t)(d->nsectors >> (16 * i));
    }
    ide_id_finish(d, id);
}

/* The command's starting sector; false when a CHS address is invalid. */
static bool ata_address(const struct ide_drive *d, bool lba48, uint64_t *lba)
{
    if (lba48) {
        *lba = (uint64_t)d->sector | (uint64_t)d->lcyl << 8 | (uint64_t)d->hcyl << 16 |
               (uint64_t)d->hob_sector << 24 | (uint64_t)d->hob_lcyl << 32 |
               (uint64_t)d->hob_hcyl << 40;
        return true;
    }
    if (d->select & 0x40) {
        *lba = (uint64_t)d->sector | (uint64_t)d->lcyl << 8 | (uint64_t)d->hcyl << 16 |
               (uint64_t)(d->select & 0x0F) << 24;
        return true;
    }
    unsigned cyl = d->lcyl | d->hcyl << 8, head = d->select & 0x0F, sec = d->sector;
    if (sec == 0 || sec > d->cur_secs || head >= d->cur_heads) {
        return false;
    }
    *lba = ((uint64_t)cyl * d->cur_heads + head) * d->cur_secs + sec - 1;
    return true;
}

/* Leave `lba` in the address registers, in the command's addressing mode. */
static void ata_set_address(struct ide_drive *d, uint64_t lba)
{
    if (d->lba48) {
        d->sector = (uint8_t)lba;
        d->lcyl = (uint8_t)(lba >> 8);
        d->hcyl = (uint8_t)(lba >> 16);
        d->hob_sector = (uint8_t)(lba >> 24);
        d->hob_lcyl = (uint8_t)(lba >> 32);
        d->hob_hcyl = (uint8_t)(lba >> 40);
    } else if (d->select & 0x40) {
        d->sector = (uint8_t)lba;
        d->lcyl = (uint8_t)(lba >> 8);
        d->hcyl = (uint8_t)(lba >> 16);
        d->select = (uint8_t)((d->select & 0xF0) | ((lba >> 24) & 0x0F));
    } else if (d->cur_heads && d->cur_secs) {
        uint64_t track = lba / d->cur_secs;
        unsigned cyl = (unsigned)(track / d->cur_heads);
        d->sector = (uint8_t)(lba % d->cur_secs + 1);
        d->lcyl = (uint8_t)cyl;
        d->hcyl = (uint8_t)(cyl >> 8);
        d->select = (uint8_t)((d->select & 0xF0) | (track % d->cur_heads));
    }
}

/* Decode address and count of a sector command; IDNF when out of range. */
static bool ata_setup(struct ide_drive *d, bool lba48)
{
    uint32_t count = lba48 ? (uint32_t)(d->hob_nsector << 8 | d->nsector) : d->nsector;
    if (count == 0) {
        count = lba48 ? 65536 : 256;
    }
    uint64_t lba;
    d->lba48 = lba48;
    if (!ata_address(d, lba48, &lba) || lba + count > d->nsectors) {
        ata_error(d, ER_IDNF);
        return false;
    }
    d->lba = lba;
    d->remain = count;
    d->standby = false;
    return true;
}

static void ata_advance(struct ide_drive *d, uint32_t n)
{
    d->lba += n;
    d->remain -= n;
    ata_set_address(d, d->lba - 1);
}

static void ata_read_block(struct ide_drive *d);

static void ata_read_block_done(struct ide_drive *d)
{
    ata_advance(d, d->block);
    if (d->remain) {
        ata_read_block(d);
    }
}

static void ata_read_block(struct ide_drive *d)
{
    uint32_t n = d->remain < d->per_block ? d->remain : d->per_block;
    if (blk_read(d->blk, d->lba * 512, d->buf, (size_t)n * 512) < 0) {
        ata_set_address(d, d->lba);
        ata_error(d, ER_UNC);
        return;
    }
    d->block = n;
    d->status = ST_DRDY | ST_DSC;
    ide_pio_window(d, 0, n * 512, false, ata_read_block_done);
    ide_raise_irq(d);
}

static void ata_write_block(struct ide_drive *d, bool irq);

static void ata_write_block_done(struct ide_drive *d)
{
    if (blk_write(d->blk, d->lba * 512, d->buf, (size_t)d->block * 512) < 0) {
        ata_set_address(d, d->lba);
        ata_error(d, ER_ABRT);
        return;
    }
    ata_advance(d, d->block);
    if (d->remain) {
        ata_write_block(d, true);
    } else {
        ata_done(d);
    }
}

static void ata_write_block(struct ide_drive *d, bool irq)
{
    d->block = d->remain < d->per_block ? d->remain : d->per_block;
    d->status = ST_DRDY | ST_DSC;
    ide_pio_window(d, 0, d->block * 512, true, ata_write_block_done);
    if (irq) {
        ide_raise_irq(d);
    }
}

/* A write-protected drive refuses writes before taking any data. */
static bool ata_writable(struct ide_drive *d)
{
    if (blk_read_only(d->blk)) {
        ata_error(d, ER_ABRT | ER_WP);
        return false;
    }
    return true;
}

static void ata_pio(struct ide_drive *d, bool lba48, bool multiple, bool write)
{
    if (multiple && !d->mult) {
        ata_error(d, ER_ABRT);
        return;
    }
    if ((write && !ata_writable(d)) || !ata_setup(d, lba48)) {
        return;
    }
    d->per_block = multiple ? (uint32_t)d->mult : 1;
    if (write) {
        ata_write_block(d, false);
    } else {
        ata_read_block(d);
    }
}

static void ata_dma_read(struct ide_drive *d)
{
    struct ide_channel *ch = d->ch;
    while (d->remain) {
        uint32_t n = d->remain < IDE_BUF_SIZE / 512 ? d->remain : IDE_BUF_SIZE / 512;
        if (blk_read(d->blk, d->lba * 512, d->buf, (size_t)n * 512) < 0) {
            ata_set_address(d, d->lba);
            ide_bm_end(ch, false);
            ata_error(d, ER_UNC);
            return;
        }
        uint32_t moved = ide_bm_rw(ch, d->buf, n * 512, true);
        ata_advance(d, moved / 512);
        if (moved < n * 512) {
            ide_bm_end(ch, true);
            ata_error(d, ER_ABRT);
            return;
        }
    }
    ide_bm_end(ch, false);
    ata_done(d);
}

static void ata_dma_write(struct ide_drive *d)
{
    struct ide_channel *ch = d->ch;
    while (d->remain) {
        uint32_t n = d->remain < IDE_BUF_SIZE / 512 ? d->remain : IDE_BUF_SIZE / 512;
        uint32_t moved = ide_bm_rw(ch, d->buf, n * 512, false);
        if (moved < n * 512) {
            ide_bm_end(ch, true);
            ata_error(d, ER_ABRT);
            return;
        }
        if (blk_write(d->blk, d->lba * 512, d->buf, (size_t)n * 512) < 0) {
            ata_set_address(d, d->lba);
            ide_bm_end(ch, false);
            ata_error(d, ER_ABRT);
            return;
        }
        ata_advance(d, n);
    }
    ide_bm_end(ch, false);
    ata_done(d);
}

static void ata_dma(struct ide_drive *d, bool lba48, bool write)
{
    if ((write && !ata_writable(d)) || !ata_setup(d, lba48)) {
        return;
    }
    d->status = ST_DRDY | ST_DSC | ST_DRQ;
    ide_dma_arm(d, write ? ata_dma_write : ata_dma_read);
}

static void ata_verify(struct ide_drive *d, bool lba48)
{
    if (!ata_setup(d, lba48)) {
        return;
    }
    while (d->remain) {
        uint32_t n = d->remain < IDE_BUF_SIZE / 512 ? d->remain : IDE_BUF_SIZE / 512;
        if (blk_read(d->blk, d->lba * 512, d->buf, (size_t)n * 512) < 0) {
            ata_set_address(d, d->lba);
            ata_error(d, ER_UNC);
            return;
        }
        ata_advance(d, n);
    }
    ata_done(d);
}

static void ata_flush(struct ide_drive *d)
{
    if (blk_flush(d->blk) < 0) {
        ata_error(d, ER_ABRT);
    } else {
        ata_done(d);
    }
}

static void ata_set_multiple(struct ide_drive *d)
{
    unsigned n = d->nsector;
    if (n > IDE_MAX_MULT || (n & (n - 1))) {
        ata_error(d, ER_ABRT);
        return;
    }
    d->mult = (int)n;
    ata_done(d);
}

/* INITIALIZE DEVICE PARAMETERS: the CHS translation for later commands. */
static void ata_init_params(struct ide_drive *d)
{
    unsigned secs = d->nsector, heads = (d->select & 0x0F) + 1u;
    if (secs == 0) {
        ata_error(d, ER_ABRT);
        return;
    }
    uint64_t cyls = d->nsectors / (heads * secs);
    if (cyls > 65535) {
        cyls = 65535;
    }
    if (cyls * heads * secs > IDE_CHS_LIMIT) {
        cyls = IDE_CHS_LIMIT / (heads * secs);
    }
    d->cur_cyls = (uint16_t)cyls;
    d->cur_heads = (uint16_t)heads;
    d->cur_secs = (uint16_t)secs;
    ata_done(d);
}

static void ata_seek(struct ide_drive *d)
{
    uint64_t lba;
    d->lba48 = false;
    if (!ata_address(d, false, &lba) || lba >= d->nsectors) {
        ata_error(d, ER_IDNF);
        return;
    }
    ata_done(d);
}

static void ata_native_max(struct ide_drive *d, bool ext)
{
    uint64_t max = d->nsectors ? d->nsectors - 1 : 0;
    if (!ext && max > IDE_LBA28_MAX - 1) {
        max = IDE_LBA28_MAX - 1;
    }
    d->lba48 = ext;
    d->select |= 0x40;
    ata_set_address(d, max);
    ata_done(d);
}

/* EXECUTE DEVICE DIAGNOSTIC: both drives run it; device 0 reports. */
static void ide_diagnostic(struct ide_channel *ch)
{
    for (int u = 0; u < 2; u++) {
        struct ide_drive *d = &ch->drive[u];
        if (!d->present) {
            continue;
        }
        drive_stop(d);
        ide_set_signature(d);
        d->select = 0;
        d->error = 0x01;
        d->status = d->media == IDE_DISK ? ST_DRDY | ST_DSC : 0;
    }
    ch->cur = 0;
    ide_raise_irq(&ch->drive[ch->drive[0].present ? 0 : 1]);
}

static bool ata_power(struct ide_drive *d, uint8_t cmd)
{
    switch (cmd) {
    case 0xE0: case 0x94:   /* STANDBY IMMEDIATE */
    case 0xE2: case 0x96:   /* STANDBY */
    case 0xE6: case 0x99:   /* SLEEP: woken by the next command here */
        d->standby = true;
        break;
    case 0xE1: case 0x95:   /* IDLE IMMEDIATE */
    case 0xE3: case 0x97:   /* IDLE */
        d->standby = false;
        break;
    case 0xE5: case 0x98:   /* CHECK POWER MODE */
        d->nsector = d->standby ? 0x00 : 0xFF;
        break;
    default:
        return false;
    }
    ata_done(d);
    return true;
}

/* Commands that move sectors; false if `cmd` is not one. */
static bool ata_sector_cmd(struct ide_drive *d, uint8_t cmd)
{
    switch (cmd) {
    case 0x20: case 0x21: ata_pio(d, false, false, false); break;
    case 0x24: ata_pio(d, true, false, false); break;
    case 0x30: case 0x31: ata_pio(d, false, false, true); break;
    case 0x34: ata_pio(d, true, false, true); break;
    case 0xC4: ata_pio(d, false, true, false); break;
    case 0x29: ata_pio(d, true, true, false); break;
    case 0xC5: ata_pio(d, false, true, true); break;
    case 0x39: ata_pio(d, true, true, true); break;
    case 0xC8: case 0xC9: ata_dma(d, false, false); break;
    case 0x25: ata_dma(d, true, false); break;
    case 0xCA: case 0xCB: ata_dma(d, false, true); break;
    case 0x35: ata_dma(d, true, true); break;
    case 0x40: case 0x41: ata_verify(d, false); break;
    case 0x42: ata_verify(d, true); break;
    default: return false;
    }
    return true;
}

static void ata_exec(struct ide_drive *d, uint8_t cmd)
{
    if (ata_sector_cmd(d, cmd) || ata_power(d, cmd)) {
        return;
    }
    if ((cmd & 0xF0) == 0x10) {   /* RECALIBRATE */
        ata_done(d);
        return;
    }
    if ((cmd & 0xF0) == 0x70) {   /* SEEK */
        ata_seek(d);
        return;
    }
    switch (cmd) {
    case 0xEC: ata_identify(d); break;
    case 0xE7: case 0xEA: ata_flush(d); break;
    case 0xEF:
        if (ide_set_features(d)) {
            ata_done(d);
        } else {
            ata_error(d, ER_ABRT);
        }
        break;
    case 0x91: ata_init_params(d); break;
    case 0xC6: ata_set_multiple(d); break;
    case 0x90: ide_diagnostic(d->ch); break;
    case 0xF8: ata_native_max(d, false); break;
    case 0x27: ata_native_max(d, true); break;
    case 0x00:   /* NOP always aborts */
    case 0x08: case 0xA0: case 0xA1:
        /* packet-device commands: a disk aborts them, and hosts probe so */
        ata_error(d, ER_ABRT);
        break;
    default:
        log_once("ide: ATA command %#x not implemented", cmd);
        ata_error(d, ER_ABRT);
        break;
    }
}

/* The ATA commands a packet device takes; the rest abort. */
static void packet_dev_exec(struct ide_drive *d, uint8_t cmd)
{
    switch (cmd) {
    case 0xA0: atapi_packet(d); break;
    case 0xA1: atapi_identify(d); break;
    case 0x08: atapi_device_reset(d); break;
    case 0x90: ide_diagnostic(d->ch); break;
    case 0xEF:
        if (ide_set_features(d)) {
            ata_done(d);
        } else {
            ata_error(d, ER_ABRT);
        }
        break;
    case 0xE0: case 0xE1: case 0xE5: case 0xE6:
        ata_power(d, cmd);
        break;
    case 0xE7: case 0xEA: ata_done(d); break;
    case 0xEC: case 0x20: case 0x21: case 0x24:
        /* the packet signature tells the host what answered */
        ide_set_signature(d);
        ata_error(d, ER_ABRT);
        break;
    default:
        log_ch(LOG_GUEST, "ide: ATA command %#x to a packet device", cmd);
        ata_error(d, ER_ABRT);
        break;
    }
}

static void ide_command(struct ide_channel *ch, uint8_t cmd)
{
    struct ide_drive *d = &ch->drive[ch->cur];
    if (!d->present || (d->status & ST_BSY)) {
        return;
    }
    drive_stop(d);
    d->intrq = false;
    ide_update_irq(ch);
    d->cmd = cmd;
    d->error = 0;
    log_ch(LOG_DEV, "ide%d-%d: command %#x", ch->index, ch->cur, cmd);
    if (d->media == IDE_CDROM) {
        packet_dev_exec(d, cmd);
    } else {
        ata_exec(d, cmd);
    }
}

/* ---- the register blocks ------------------------------------------------------- */

static bool channel_empty(const struct ide_channel *ch)
{
    return !ch->drive[0].present && !ch->drive[1].present;
}

static uint8_t reg_read(struct ide_channel *ch, unsigned reg)
{
    struct ide_drive *d = &ch->drive[ch->cur];
    if (channel_empty(ch)) {
        return 0x7F;
    }
    if (!d->present) {
        return 0x00;
    }
    bool hob = ch->ctrl & CTL_HOB;
    switch (reg) {
    case 1: return d->error;
    case 2: return hob ? d->hob_nsector : d->nsector;
    case 3: return hob ? d->hob_sector : d->sector;
    case 4: return hob ? d->hob_lcyl : d->lcyl;
    case 5: return hob ? d->hob_hcyl : d->hcyl;
    case 6: return d->select;
    default:
        d->intrq = false;
        ide_update_irq(ch);
        return d->status;
    }
}

/* A task-file write reaches both drives; the old value becomes the HOB. */
static void reg_write(struct ide_channel *ch, unsigned reg, uint8_t v)
{
    if (reg == 7) {
        ide_command(ch, v);
        return;
    }
    if (ch->drive[ch->cur].status & ST_BSY) {
        return;
    }
    ch->ctrl &= (uint8_t)~CTL_HOB;
    for (int u = 0; u < 2; u++) {
        struct ide_drive *d = &ch->drive[u];
        switch (reg) {
        case 1: d->hob_feature = d->feature; d->feature = v; break;
        case 2: d->hob_nsector = d->nsector; d->nsector = v; break;
        case 3: d->hob_sector = d->sector; d->sector = v; break;
        case 4: d->hob_lcyl = d->lcyl; d->lcyl = v; break;
        case 5: d->hob_hcyl = d->hcyl; d->hcyl = v; break;
        case 6: d->select = v; break;
        default: break;
        }
    }
    if (reg == 6) {
        ch->cur = (v >> 4) & 1;
        ide_update_irq(ch);
    }
}

static uint32_t cmd_read(void *opaque, uint32_t off, int size)
{
    struct ide_channel *ch = opaque;
    if (off == 0) {
        if (channel_empty(ch)) {
            return 0xFFFFFFFFu;
        }
        return data_read(ch, size);
    }
    uint32_t v = 0;
    for (int i = 0; i < size && off + (unsigned)i < 8; i++) {
        v |= (uint32_t)reg_read(ch, off + (unsigned)i) << (8 * i);
    }
    return v;
}

static void cmd_write(void *opaque, uint32_t off, uint32_t val, int size)
{
    struct ide_channel *ch = opaque;
    if (off == 0) {
        data_write(ch, val, size);
        return;
    }
    for (int i = 0; i < size && off + (unsigned)i < 8; i++) {
        reg_write(ch, off + (unsigned)i, (uint8_t)(val >> (8 * i)));
    }
}

static void drive_soft_reset(struct ide_drive *d)
{
    drive_stop(d);
    d->intrq = false;
    ide_set_signature(d);
    d->select = 0;
    d->error = 0x01;
    d->standby = false;
    d->status = d->media == IDE_DISK ? ST_DRDY | ST_DSC : 0;
}

static uint32_t ctl_read(void *opaque, uint32_t off, int size)
{
    struct ide_channel *ch = opaque;
    const struct ide_drive *d = &ch->drive[ch->cur];
    if (channel_empty(ch)) {
        return 0x7F;
    }
    return d->present ? d->status : 0x00;
}

/* Device control: SRST held resets both drives, released sets signatures. */
static void ctl_write(void *opaque, uint32_t off, uint32_t val, int size)
{
    struct ide_channel *ch = opaque;
    uint8_t old = ch->ctrl;
    ch->ctrl = (uint8_t)val;
    if ((val & CTL_SRST) && !(old & CTL_SRST)) {
        for (int u = 0; u < 2; u++) {
            struct ide_drive *d = &ch->drive[u];
            if (d->present) {
                drive_stop(d);
                d->intrq = false;
                d->status = ST_BSY;
            }
        }
    } else if (!(val & CTL_SRST) && (old & CTL_SRST)) {
        for (int u = 0; u < 2; u++) {
            if (ch->drive[u].present) {
                drive_soft_reset(&ch->drive[u]);
            }
        }
        ch->cur = 0;
    }
    ide_update_irq(ch);
}

static const struct io_ops cmd_ops = { .read = cmd_read, .write = cmd_write, .sizes = 7 };
static const struct io_ops ctl_ops = { .read = ctl_read, .write = ctl_write, .sizes = 1 };

/* ---- bus master ------------------------------------------------------------------ */

uint32_t ide_bm_rw(struct ide_channel *ch, uint8_t *buf, uint32_t len, bool to_mem)
{
    struct bus *bus = ch->ide->bus;
    uint32_t done = 0;
    while (done < len) {
        if (ch->seg_left == 0) {
            if (ch->seg_eot) {
                break;
            }
            uint8_t e[8];
            bus_read_buf(bus, ch->prd_next, e, sizeof(e));
            ch->prd_next += 8;
            ch->seg_addr = pci_get32(e) & ~1u;
            ch->seg_left = (uint32_t)(e[4] | e[5] << 8) & 0xFFFE;
            if (ch->seg_left == 0) {
                ch->seg_left = 0x10000;
            }
            ch->seg_eot = e[7] & 0x80;
        }
        uint32_t n = len - done < ch->seg_left ? len - done : ch->seg_left;
        if (to_mem) {
            bus_write_buf(bus, ch->seg_addr, buf + done, n);
        } else {
            bus_read_buf(bus, ch->seg_addr, buf + done, n);
        }
        ch->seg_addr += n;
        ch->seg_left -= n;
        done += n;
    }
    return done;
}

void ide_bm_end(struct ide_channel *ch, bool short_prd)
{
    if (short_prd) {
        ch->bm_status = (uint8_t)((ch->bm_status & ~BM_ST_ACTIVE) | BM_ST_ERROR);
    } else if (ch->seg_left == 0 && ch->seg_eot) {
        ch->bm_status &= (uint8_t)~BM_ST_ACTIVE;
    }
    /* else: the table is longer than the transfer and ACTIVE stays set */
    ch->bm_status |= BM_ST_INT;
}

static bool bus_master_enabled(const struct ide *ide)
{
    return ide->pci.cfg[PCI_COMMAND] & PCI_CMD_MASTER;
}

/* The host started the engine: run the waiting drive's transfer. */
static void bm_run(struct ide_channel *ch)
{
    struct ide_drive *d = &ch->drive[ch->cur];
    if (!d->dma_fn) {
        d = &ch->drive[ch->cur ^ 1];
    }
    if (!d->dma_fn || !(ch->bm_status & BM_ST_ACTIVE)) {
        return;
    }
    if (!bus_master_enabled(ch->ide)) {
        log_once("ide: bus master started with PCI bus mastering disabled");
        return;
    }
    ide_step_fn fn = d->dma_fn;
    d->dma_fn = NULL;
    fn(d);
}

void ide_dma_arm(struct ide_drive *d, ide_step_fn fn)
{
    d->dma_fn = fn;
    bm_run(d->ch);
}

static void bm_write_byte(struct ide_channel *ch, unsigned reg, uint8_t v)
{
    switch (reg) {
    case 0: {
        bool was = ch->bm_cmd & BM_CMD_START;
        if (was) {
            v = (uint8_t)((v & ~BM_CMD_TO_MEM) | (ch->bm_cmd & BM_CMD_TO_MEM));
        }
        ch->bm_cmd = v & (BM_CMD_START | BM_CMD_TO_MEM);
        if ((v & BM_CMD_START) && !was) {
            ch->bm_status |= BM_ST_ACTIVE;
            ch->prd_next = ch->bm_prd;
            ch->seg_left = 0;
            ch->seg_eot = false;
            bm_run(ch);
        } else if (!(v & BM_CMD_START)) {
            ch->bm_status &= (uint8_t)~BM_ST_ACTIVE;
        }
        break;
    }
    case 2:
        ch->bm_status = (uint8_t)((ch->bm_status & BM_ST_ACTIVE) |
                                  (ch->bm_status & ~v & (BM_ST_ERROR | BM_ST_INT)) |
                                  (v & (BM_ST_DMA0 | BM_ST_DMA1)));
        break;
    case 4: case 5: case 6: case 7: {
        unsigned sh = 8 * (reg - 4);
        ch->bm_prd = (ch->bm_prd & ~(0xFFu << sh)) | (uint32_t)v << sh;
        ch->bm_prd &= ~3u;
        break;
    }
    default:
        break;
    }
}

static uint8_t bm_read_byte(const struct ide_channel *ch, unsigned reg)
{
    switch (reg) {
    case 0: return ch->bm_cmd;
    case 2: return ch->bm_status;
    case 4: case 5: case 6: case 7: return (uint8_t)(ch->bm_prd >> (8 * (reg - 4)));
    default: return 0;
    }
}

static uint32_t bm_read(void *opaque, uint32_t off, int size)
{
    struct ide *ide = opaque;
    uint32_t v = 0;
    for (int i = 0; i < size; i++) {
        unsigned o = (off + (unsigned)i) & 15;
        v |= (uint32_t)bm_read_byte(&ide->ch[o >> 3], o & 7) << (8 * i);
    }
    return v;
}

static void bm_write(void *opaque, uint32_t off, uint32_t val, int size)
{
    struct ide *ide = opaque;
    /* the command byte last, so a dword write sets the table first */
    for (int i = size - 1; i >= 0; i--) {
        unsigned o = (off + (unsigned)i) & 15;
        bm_write_byte(&ide->ch[o >> 3], o & 7, (uint8_t)(val >> (8 * i)));
    }
}

static const struct io_ops bm_ops = { .read = bm_read, .write = bm_write, .sizes = 7 };

/* ---- construction and reset -------------------------------------------------------- */

static void drive_power_on(struct ide_drive *d)
{
    d->mult = 0;
    d->pio_mode = 4;
    d->dma_mode = 0x22;   /* multiword DMA 2 selected */
    d->wcache = true;
    d->lookahead = true;
    d->cur_cyls = d->cyls;
    d->cur_heads = d->heads;
    d->cur_secs = d->secs;
    d->feature = d->hob_feature = 0;
    drive_soft_reset(d);
    if (d->media == IDE_CDROM) {
        atapi_init(d);
    }
}

static void pci_power_on(struct ide *ide)
{
    struct pci_bus *pb = ide->pci.pbus;
    int devfn = ide->pci.devfn;
    pci_config_write(pb, devfn, PCI_COMMAND, 0, 2);
    pci_config_write(pb, devfn, PCI_BAR0 + 16, 0, 4);
    /*
     * The PIIX3 resets IDETIM to 0 and the BIOS sets the decode enables
     * (bit 15); here the legacy ports decode regardless, so the register
     * says so from the start.  Linux booted without firmware (-kernel)
     * skips a channel whose enable bit is clear.
     */
    pci_config_write(pb, devfn, IDETIM, 0x80008000u, 4);
    pci_config_write(pb, devfn, 0x44, 0, 1);
}

void ide_reset(struct ide *ide)
{
    pci_power_on(ide);
    for (int c = 0; c < 2; c++) {
        struct ide_channel *ch = &ide->ch[c];
        ch->ctrl = 0;
        ch->cur = 0;
        ch->bm_cmd = 0;
        ch->bm_prd = 0;
        ch->bm_status = 0;
        for (int u = 0; u < 2; u++) {
            if (ch->drive[u].present) {
                drive_power_on(&ch->drive[u]);
                ch->bm_status |= (uint8_t)(u ? BM_ST_DMA1 : BM_ST_DMA0);
            }
        }
        ide_update_irq(ch);
    }
}

static int ide_pci_init(struct ide *ide, struct pci_bus *pb, int devfn)
{
    struct pci_dev *p = &ide->pci;
    p->opaque = ide;
    if (pci_register(pb, p, devfn, 0x8086, 0x7010, 0x01018000) < 0) {
        return -1;
    }
    p->wmask[PCI_COMMAND] = PCI_CMD_IO | PCI_CMD_MASTER;
    p->wmask[PCI_COMMAND + 1] = 0;
    pci_set16(&p->cfg[PCI_STATUS], 0x0280);   /* fast back-to-back, DEVSEL medium */
    pci_set_bar(p, 4, 16, true, &bm_ops, ide);
    /* IDETIM (primary, secondary): all but the reserved bits 11:10 */
    pci_set16(&p->wmask[IDETIM], 0xF3FF);
    pci_set16(&p->wmask[IDETIM + 2], 0xF3FF);
    p->wmask[0x44] = 0xFF;   /* SIDETIM */
    return 0;
}

struct ide *ide_new(struct pci_bus *pb, int devfn, struct bus *bus, struct irq irq14,
                    struct irq irq15)
{
    struct ide *ide = calloc(1, sizeof(*ide));
    if (!ide) {
        return NULL;
    }
    ide->bus = bus;
    for (int c = 0; c < 2; c++) {
        struct ide_channel *ch = &ide->ch[c];
        ch->ide = ide;
        ch->index = c;
        ch->irq = c ? irq15 : irq14;
        for (int u = 0; u < 2; u++) {
            ch->drive[u].ch = ch;
            ch->drive[u].unit = u;
            ch->drive[u].buf = malloc(IDE_BUF_SIZE);
            if (!ch->drive[u].buf) {
                ide_free(ide);
                return NULL;
            }
        }
    }
    if (ide_pci_init(ide, pb, devfn) < 0 ||
        bus_map_ports(bus, cmd_base[0], 8, &cmd_ops, &ide->ch[0]) < 0 ||
        bus_map_ports(bus, ctl_base[0], 1, &ctl_ops, &ide->ch[0]) < 0 ||
        bus_map_ports(bus, cmd_base[1], 8, &cmd_ops, &ide->ch[1]) < 0 ||
        bus_map_ports(bus, ctl_base[1], 1, &ctl_ops, &ide->ch[1]) < 0) {
        ide_free(ide);
        return NULL;
    }
    ide_reset(ide);
    return ide;
}

/* The default translation of the ATA standard: 16 heads, 63 sectors. */
static void disk_geometry(struct ide_drive *d)
{
    uint64_t cyls = d->nsectors / (16 * 63);
    if (cyls > 16383) {
        cyls = 16383;
    }
    d->cyls = cyls ? (uint16_t)cyls : 1;
    d->heads = 16;
    d->secs = 63;
}

static struct ide_drive *drive_at(struct ide *ide, int channel, int unit)
{
    if (channel < 0 || channel > 1 || unit < 0 || unit > 1) {
        return NULL;
    }
    return &ide->ch[channel].drive[unit];
}

int ide_attach(struct ide *ide, int channel, int unit, enum ide_media media,
               struct blockdev *blk, char *err, size_t errlen)
{
    struct ide_drive *d = drive_at(ide, channel, unit);
    if (!d) {
        snprintf(err, errlen, "no IDE channel %d unit %d", channel, unit);
        return -1;
    }
    if (d->present) {
        snprintf(err, errlen, "a drive is already attached there");
        return -1;
    }
    if (media == IDE_DISK && (!blk || blk_size(blk) < 512)) {
        snprintf(err, errlen, "a disk needs an image of at least one sector");
        return -1;
    }
    d->present = true;
    d->media = media;
    d->blk = blk;
    d->nsectors = media == IDE_DISK ? blk_size(blk) / 512 : 0;
    snprintf(d->serial, sizeof(d->serial), "KASOU%015d", channel * 2 + unit + 1);
    if (media == IDE_DISK) {
        disk_geometry(d);
    }
    drive_power_on(d);
    d->ch->bm_status |= (uint8_t)(unit ? BM_ST_DMA1 : BM_ST_DMA0);
    return 0;
}

int ide_change_media(struct ide *ide, int channel, int unit, struct blockdev *blk)
{
    struct ide_drive *d = drive_at(ide, channel, unit);
    if (!d || !d->present || d->media != IDE_CDROM) {
        return -1;
    }
    atapi_media_changed(d, blk);
    return 0;
}

int ide_eject(struct ide *ide, int channel, int unit, bool force)
{
    struct ide_drive *d = drive_at(ide, channel, unit);
    if (!d || !d->present || d->media != IDE_CDROM || (d->atapi.locked && !force)) {
        return -1;
    }
    atapi_media_changed(d, NULL);
    d->atapi.tray_open = true;
    return 0;
}

struct blockdev *ide_media(const struct ide *ide, int channel, int unit)
{
    if (channel < 0 || channel > 1 || unit < 0 || unit > 1) {
        return NULL;
    }
    return ide->ch[channel].drive[unit].blk;
}

int ide_geometry(const struct ide *ide, int channel, int unit, int *cyls, int *heads,
                 int *secs)
{
    if (channel < 0 || channel > 1 || unit < 0 || unit > 1) {
        return -1;
    }
    const struct ide_drive *d = &ide->ch[channel].drive[unit];
    if (!d->present || d->media != IDE_DISK) {
        return -1;
    }
    *cyls = d->cyls;
    *heads = d->heads;
    *secs = d->secs;
    return 0;
}

void ide_free(struct ide *ide)
{
    if (!ide) {
        return;
    }
    for (int c = 0; c < 2; c++) {
        for (int u = 0; u < 2; u++) {
            free(ide->ch[c].drive[u].buf);
        }
    }
    free(ide);
}
