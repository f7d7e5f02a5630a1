/*
 * atapi.c - the ATAPI CD-ROM behind the PIIX3 IDE function: IDENTIFY
 * PACKET DEVICE, the PACKET protocol and the SCSI/MMC commands firmware
 * and operating systems send to a read-only CD/DVD drive.
 *
 * The PACKET protocol (ATA/ATAPI-6, 8.21): the host writes A0h; the drive
 * raises DRQ with interrupt reason CoD=1 (no interrupt: IDENTIFY PACKET
 * word 0 promises an accelerated DRQ) and takes the 12-byte command
 * packet through the data register.  Data then moves in DRQ phases of at
 * most the byte count limit the host left in the cylinder registers
 * (each phase: the byte count in those registers, reason IO=1 CoD=0 or
 * IO=0 CoD=0 for data-out, an interrupt), or, when the features register
 * had its DMA bit set, through the bus master in one go.  The command
 * ends with reason IO=1 CoD=1, DRDY, and ERR (CHK) with the sense key in
 * the error register's high nibble when it failed; REQUEST SENSE returns
 * the details.  READ phases carry whole 2048-byte sectors whenever the
 * limit allows.
 *
 * The medium is a blockdev of 2048-byte sectors: one data track from LBA
 * 0, its lead-out at the image's end.  The profile (CD-ROM or DVD-ROM)
 * follows the size: more than an 80-minute CD holds is a DVD.  A changed
 * medium is announced by UNIT ATTENTION 28h (once, to the first command
 * that is not exempt) and by a GET EVENT STATUS NOTIFICATION media event.
 */
#include <string.h>

#include "hw/block/block.h"
#include "hw/ide_int.h"
#include "util/log.h"

enum {
    SK_NOT_READY = 0x2,
    SK_MEDIUM_ERROR = 0x3,
    SK_ILLEGAL_REQUEST = 0x5,
    SK_UNIT_ATTENTION = 0x6,
    SK_ABORTED_COMMAND = 0xB,
};

enum {
    ASC_READ_ERROR = 0x11,
    ASC_INVALID_OPCODE = 0x20,
    ASC_LBA_OUT_OF_RANGE = 0x21,
    ASC_INVALID_FIELD = 0x24,
    ASC_MEDIUM_CHANGED = 0x28,
    ASC_SAVING_UNSUPPORTED = 0x39,
    ASC_NO_MEDIUM = 0x3A,
    ASC_REMOVAL_PREVENTED = 0x53,
    ASC_ILLEGAL_MODE = 0x64,
};

/* GESN media event codes */
enum { EV_NEW_MEDIA = 2, EV_MEDIA_REMOVAL = 3 };

#define CD_MAX_BLOCKS 360000u   /* 80 minutes * 60 s * 75 frames */

#define PROFILE_CDROM 0x0008
#define PROFILE_DVDROM 0x0010

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, v >> 16);
    put16(p + 2, v);
}

static uint32_t get16(const uint8_t *p)
{
    return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t get32(const uint8_t *p)
{
    return get16(p) << 16 | get16(p + 2);
}

/* Red Book address: LBA 0 is 00:02:00 (the two-second pregap). */
static void put_msf(uint8_t *p, uint32_t lba)
{
    uint32_t f = lba + 150;
    p[0] = (uint8_t)(f / (60 * 75));
    p[1] = (uint8_t)(f / 75 % 60);
    p[2] = (uint8_t)(f % 75);
}

static bool has_medium(const struct ide_drive *d)
{
    return d->blk && !d->atapi.tray_open;
}

uint32_t atapi_blocks(const struct ide_drive *d)
{
    if (!has_medium(d)) {
        return 0;
    }
    uint64_t n = blk_size(d->blk) / CD_BLOCK;
    return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

static uint16_t current_profile(const struct ide_drive *d)
{
    if (!has_medium(d)) {
        return 0;
    }
    return atapi_blocks(d) > CD_MAX_BLOCKS ? PROFILE_DVDROM : PROFILE_CDROM;
}

/* ---- completion --------------------------------------------------------------- */

static void atapi_ok(struct ide_drive *d)
{
    struct atapi *a = &d->atapi;
    a->sense_key = a->asc = a->ascq = 0;
    d->error = 0;
    d->nsector = IR_IO | IR_COD;
    d->status = ST_DRDY | ST_DSC;
    ide_raise_irq(d);
}

static void atapi_fail(struct ide_drive *d, uint8_t key, uint8_t asc, uint8_t ascq)
{
    struct atapi *a = &d->atapi;
    a->sense_key = key;
    a->asc = asc;
    a->ascq = ascq;
    d->error = (uint8_t)(key << 4 | (key == SK_ILLEGAL_REQUEST ? ER_ABRT : 0));
    d->nsector = IR_IO | IR_COD;
    d->status = ST_DRDY | ST_DSC | ST_ERR;
    ide_raise_irq(d);
}

static void fail_field(struct ide_drive *d)
{
    atapi_fail(d, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD, 0);
}

/* ---- the data phase ------------------------------------------------------------- */

/* Load the next sectors of a READ into the buffer. */
static bool read_more(struct ide_drive *d)
{
    struct atapi *a = &d->atapi;
    uint32_t max = IDE_BUF_SIZE / CD_BLOCK;
    uint32_t n = a->blocks_left < max ? a->blocks_left : max;
    if (!has_medium(d) ||
        blk_read(d->blk, a->lba * CD_BLOCK, d->buf, (size_t)n * CD_BLOCK) < 0) {
        return false;
    }
    a->lba += n;
    a->blocks_left -= n;
    a->buf_pos = 0;
    a->buf_len = n * CD_BLOCK;
    return true;
}

static void pio_phase(struct ide_drive *d);

static void pio_phase_done(struct ide_drive *d)
{
    d->atapi.buf_pos = d->end;
    pio_phase(d);
}

/* One DRQ phase: at most the byte count limit, whole sectors if it can. */
static void pio_phase(struct ide_drive *d)
{
    struct atapi *a = &d->atapi;
    if (a->buf_pos >= a->buf_len) {
        if (a->blocks_left == 0) {
            atapi_ok(d);
            return;
        }
        if (!read_more(d)) {
            atapi_fail(d, SK_MEDIUM_ERROR, ASC_READ_ERROR, 0);
            return;
        }
    }
    uint32_t limit = a->limit;
    if (a->reading && limit >= CD_BLOCK) {
        limit -= limit % CD_BLOCK;
    }
    uint32_t n = a->buf_len - a->buf_pos;
    if (n > limit) {
        n = limit;
    }
    d->lcyl = (uint8_t)n;
    d->hcyl = (uint8_t)(n >> 8);
    d->nsector = a->data_out ? 0 : IR_IO;
    d->status = ST_DRDY | ST_DSC;
    ide_pio_window(d, a->buf_pos, n, a->data_out, pio_phase_done);
    ide_raise_irq(d);
}

/* The bus master moves the whole reply (or the data-out list). */
static void dma_run(struct ide_drive *d)
{
    struct atapi *a = &d->atapi;
    struct ide_channel *ch = d->ch;
    for (;;) {
        if (a->buf_pos >= a->buf_len) {
            if (a->blocks_left == 0) {
                break;
            }
            if (!read_more(d)) {
                ide_bm_end(ch, false);
                atapi_fail(d, SK_MEDIUM_ERROR, ASC_READ_ERROR, 0);
                return;
            }
        }
        uint32_t n = a->buf_len - a->buf_pos;
        uint32_t moved = ide_bm_rw(ch, d->buf + a->buf_pos, n, !a->data_out);
        a->buf_pos += moved;
        if (moved < n) {
            ide_bm_end(ch, true);
            atapi_fail(d, SK_ABORTED_COMMAND, 0, 0);
            return;
        }
    }
    ide_bm_end(ch, false);
    atapi_ok(d);
}

/* Move buf[0, len) (plus any READ sectors still to load). */
static void start_data(struct ide_drive *d, uint32_t len)
{
    struct atapi *a = &d->atapi;
    a->buf_pos = 0;
    a->buf_len = len;
    if (len == 0 && a->blocks_left == 0) {
        atapi_ok(d);
        return;
    }
    if (a->dma) {
        d->nsector = a->data_out ? 0 : IR_IO;
        d->status = ST_DRDY | ST_DSC | ST_DRQ;
        ide_dma_arm(d, dma_run);
    } else {
        pio_phase(d);
    }
}

static void reply(struct ide_drive *d, uint32_t len, uint32_t alloc)
{
    start_data(d, len < alloc ? len : alloc);
}

static void start_read(struct ide_drive *d, uint32_t lba, uint32_t count)
{
    if ((uint64_t)lba + count > atapi_blocks(d)) {
        atapi_fail(d, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE, 0);
        return;
    }
    d->atapi.lba = lba;
    d->atapi.blocks_left = count;
    d->atapi.reading = true;
    start_data(d, 0);
}

/* ---- commands ---------------------------------------------------------------------- */

static void cmd_test_unit_ready(struct ide_drive *d, const uint8_t *c)
{
    atapi_ok(d);
}

static void cmd_request_sense(struct ide_drive *d, const uint8_t *c)
{
    struct atapi *a = &d->atapi;
    uint8_t *b = d->buf;
    memset(b, 0, 18);
    b[0] = 0x70;   /* current error, fixed format */
    if (a->unit_attention) {
        a->unit_attention = false;
        b[2] = SK_UNIT_ATTENTION;
        b[12] = ASC_MEDIUM_CHANGED;
    } else {
        b[2] = a->sense_key;
        b[12] = a->asc;
        b[13] = a->ascq;
    }
    b[7] = 10;     /* additional sense length */
    reply(d, 18, c[4]);
}

static void cmd_inquiry(struct ide_drive *d, const uint8_t *c)
{
    uint8_t *b = d->buf;
    if (c[1] & 1) {   /* no vital product data pages */
        fail_field(d);
        return;
    }
    memset(b, 0, 36);
    b[0] = 0x05;   /* CD/DVD device */
    b[1] = 0x80;   /* removable */
    b[2] = 0x05;   /* SPC-3 */
    b[3] = 0x02;   /* response data format 2 */
    b[4] = 36 - 5;
    memcpy(b + 8, "KASOU   ", 8);
    memcpy(b + 16, "CD-ROM          ", 16);
    memcpy(b + 32, "1.0 ", 4);
    reply(d, 36, get16(c + 3));
}

static void cmd_read_capacity(struct ide_drive *d, const uint8_t *c)
{
    put32(d->buf, atapi_blocks(d) - 1);
    put32(d->buf + 4, CD_BLOCK);
    reply(d, 8, 8);
}

static void cmd_read(struct ide_drive *d, const uint8_t *c)
{
    uint32_t count = c[0] == 0x28 ? get16(c + 7) : get32(c + 6);
    start_read(d, get32(c + 2), count);
}

/* READ CD: user data of mode-1 (or any) sectors; headers and C2 are not kept. */
static void cmd_read_cd(struct ide_drive *d, const uint8_t *c)
{
    uint32_t count = (uint32_t)c[6] << 16 | get16(c + 7);
    unsigned type = (c[1] >> 2) & 7;
    if (type != 0 && type != 2) {
        atapi_fail(d, SK_ILLEGAL_REQUEST, ASC_ILLEGAL_MODE, 0);
        return;
    }
    if (c[9] == 0) {   /* nothing selected: nothing moves */
        count = 0;
    } else if (c[9] != 0x10 || c[10] != 0) {
        log_once("atapi: READ CD of fields %#x, sub-channel %#x not implemented", c[9], c[10]);
        fail_field(d);
        return;
    }
    start_read(d, get32(c + 2), count);
}

static void cmd_seek(struct ide_drive *d, const uint8_t *c)
{
    if (get32(c + 2) >= atapi_blocks(d)) {
        atapi_fail(d, SK_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE, 0);
        return;
    }
    atapi_ok(d);
}

static void toc_address(uint8_t *p, uint32_t lba, bool msf)
{
    if (msf) {
        p[0] = 0;
        put_msf(p + 1, lba);
    } else {
        put32(p, lba);
    }
}

/* Format 0: the track descriptors from `track` on, then the lead-out. */
static uint32_t toc_tracks(uint8_t *b, uint32_t blocks, bool msf, uint8_t track)
{
    uint8_t *p = b + 4;
    if (track <= 1) {
        memset(p, 0, 8);
        p[1] = 0x14;   /* ADR 1, control: data track */
        p[2] = 1;
        toc_address(p + 4, 0, msf);
        p += 8;
    }
    memset(p, 0, 8);
    p[1] = 0x14;
    p[2] = 0xAA;
    toc_address(p + 4, blocks, msf);
    p += 8;
    return (uint32_t)(p - b);
}

/* Format 2: the raw Q sub-channel entries A0h, A1h, A2h and track 1. */
static uint32_t toc_full(uint8_t *b, uint32_t blocks)
{
    static const uint8_t points[4] = { 0xA0, 0xA1, 0xA2, 0x01 };
    uint8_t *p = b + 4;
    for (int i = 0; i < 4; i++, p += 11) {
        memset(p, 0, 11);
        p[0] = 1;          /* session */
        p[1] = 0x14;
        p[3] = points[i];
        if (points[i] == 0xA0 || points[i] == 0xA1) {
            p[8] = 1;      /* first / last track; disc type 00h (CD-ROM) */
        } else {
            put_msf(p + 8, points[i] == 0xA2 ? blocks : 0);
        }
    }
    return (uint32_t)(p - b);
}

static void cmd_read_toc(struct ide_drive *d, const uint8_t *c)
{
    uint8_t *b = d->buf;
    bool msf = c[1] & 2;
    unsigned format = c[2] & 0x0F;
    if (format == 0) {
        format = c[9] >> 6;   /* the older SFF-8020 place for it */
    }
    uint32_t blocks = atapi_blocks(d), len;
    memset(b, 0, 4);
    b[2] = b[3] = 1;
    switch (format) {
    case 0:
        if (c[6] > 1 && c[6] != 0xAA) {
            fail_field(d);
            return;
        }
        len = toc_tracks(b, blocks, msf, c[6]);
        break;
    case 1:   /* session information: first track of the last session */
        memset(b + 4, 0, 8);
        b[5] = 0x14;
        b[6] = 1;
        toc_address(b + 8, 0, msf);
        len = 12;
        break;
    case 2:
        len = toc_full(b, blocks);
        break;
    default:
        log_once("atapi: READ TOC format %u not implemented", format);
        fail_field(d);
        return;
    }
    put16(b, len - 2);
    reply(d, len, get16(c + 7));
}

/* One mode page at p; its length, or 0 if the page does not exist. */
static uint32_t mode_page(const struct ide_drive *d, unsigned page, uint8_t *p, bool mask)
{
    switch (page) {
    case 0x01:   /* read error recovery */
        memset(p, 0, 12);
        p[0] = 0x01;
        p[1] = 10;
        p[3] = mask ? 0 : 5;   /* read retry count */
        return 12;
    case 0x0D:   /* CD device parameters: 60 S per M, 75 F per S */
        memset(p, 0, 8);
        p[0] = 0x0D;
        p[1] = 6;
        if (!mask) {
            put16(p + 4, 60);
            put16(p + 6, 75);
        }
        return 8;
    case 0x2A:   /* capabilities and mechanical status */
        memset(p, 0, 22);
        p[0] = 0x2A;
        p[1] = 20;
        if (!mask) {
            p[2] = 0x0B;   /* reads CD-R, CD-RW, DVD-ROM */
            p[4] = 0x70;   /* mode 2 form 1 and 2, multi-session */
            /* tray loader, eject, lock (and whether locked) */
            p[6] = (uint8_t)(0x29 | (d->atapi.locked ? 0x02 : 0));
            put16(p + 8, 24 * 176);    /* max read speed (kB/s): 24x */
            put16(p + 12, 512);        /* buffer (KiB) */
            put16(p + 14, 24 * 176);   /* current read speed */
        }
        return 22;
    default:
        return 0;
    }
}

static void cmd_mode_sense(struct ide_drive *d, const uint8_t *c)
{
    static const uint8_t all[3] = { 0x01, 0x0D, 0x2A };
    bool ten = c[0] == 0x5A;
    unsigned pc = c[2] >> 6, page = c[2] & 0x3F;
    uint32_t hdr = ten ? 8 : 4, len = hdr;
    uint8_t *b = d->buf;
    if (pc == 3) {
        atapi_fail(d, SK_ILLEGAL_REQUEST, ASC_SAVING_UNSUPPORTED, 0);
        return;
    }
    memset(b, 0, hdr);
    for (int i = 0; i < 3; i++) {
        if (page == 0x3F || page == all[i]) {
            len += mode_page(d, all[i], b + len, pc == 1);
        }
    }
    if (len == hdr) {
        fail_field(d);
        return;
    }
    /* medium type: 120 mm data disc, or no disc with the door closed/open */
    uint8_t medium = has_medium(d) ? 0x01 : d->atapi.tray_open ? 0x71 : 0x70;
    if (ten) {
        put16(b, len - 2);
        b[2] = medium;
    } else {
        b[0] = (uint8_t)(len - 1);
        b[1] = medium;
    }
    reply(d, len, ten ? get16(c + 7) : c[4]);
}

/* MODE SELECT: take the parameter list and keep nothing of it. */
static void cmd_mode_select(struct ide_drive *d, const uint8_t *c)
{
    uint32_t len = c[0] == 0x55 ? get16(c + 7) : c[4];
    d->atapi.data_out = true;
    start_data(d, len < IDE_BUF_SIZE ? len : IDE_BUF_SIZE);
}

/* One GET CONFIGURATION feature descriptor; returns its length. */
static uint32_t feature(const struct ide_drive *d, unsigned code, uint8_t *p, bool *current)
{
    uint16_t profile = current_profile(d);
    memset(p, 0, 16);
    put16(p, code);
    *current = true;
    switch (code) {
    case 0x0000:   /* profile list: DVD-ROM, CD-ROM */
        p[3] = 8;
        put16(p + 4, PROFILE_DVDROM);
        p[6] = profile == PROFILE_DVDROM;
        put16(p + 8, PROFILE_CDROM);
        p[10] = profile == PROFILE_CDROM;
        break;
    case 0x0001:   /* core: ATAPI */
        p[3] = 4;
        put32(p + 4, 2);
        break;
    case 0x0003:   /* removable medium: tray, eject, lock */
        p[3] = 4;
        p[4] = 0x29 | (d->atapi.locked ? 0x04 : 0);
        break;
    case 0x0010:   /* random readable */
        *current = profile != 0;
        p[3] = 8;
        put32(p + 4, CD_BLOCK);
        put16(p + 8, profile == PROFILE_DVDROM ? 16 : 1);
        break;
    case 0x001E:   /* CD read */
        *current = profile == PROFILE_CDROM;
        p[3] = 4;
        break;
    default:       /* 001Fh DVD read */
        *current = profile == PROFILE_DVDROM;
        break;
    }
    p[2] = (uint8_t)(*current ? 0x01 : 0x00);
    if (code <= 0x0003) {
        p[2] |= 0x02;   /* persistent */
    }
    return 4u + p[3];
}

static void cmd_get_configuration(struct ide_drive *d, const uint8_t *c)
{
    static const uint16_t codes[6] = { 0x0000, 0x0001, 0x0003, 0x0010, 0x001E, 0x001F };
    unsigned rt = c[1] & 3, start = get16(c + 2);
    uint8_t *b = d->buf;
    uint32_t len = 8;
    if (rt == 3) {
        fail_field(d);
        return;
    }
    memset(b, 0, 8);
    put16(b + 6, current_profile(d));
    for (int i = 0; i < 6; i++) {
        bool current;
        if (codes[i] < start || (rt == 2 && codes[i] != start)) {
            continue;
        }
        uint32_t n = feature(d, codes[i], b + len, &current);
        if (rt != 1 || current) {
            len += n;
        }
    }
    put32(b, len - 4);
    reply(d, len, get16(c + 7));
}

static void cmd_event_status(struct ide_drive *d, const uint8_t *c)
{
    struct atapi *a = &d->atapi;
    uint8_t *b = d->buf;
    uint32_t len;
    if (!(c[1] & 1)) {   /* only polled operation */
        fail_field(d);
        return;
    }
    memset(b, 0, 8);
    b[3] = 0x10;   /* supported: media class */
    if (c[4] & 0x10) {
        b[2] = 0x04;
        b[4] = a->event;
        b[5] = (uint8_t)((has_medium(d) ? 0x02 : 0) | (a->tray_open ? 0x01 : 0));
        a->event = 0;
        len = 8;
    } else {
        b[2] = 0x80;   /* no event available of the classes asked for */
        len = 4;
    }
    put16(b, len - 2);
    reply(d, len, get16(c + 7));
}

static void cmd_disc_info(struct ide_drive *d, const uint8_t *c)
{
    uint8_t *b = d->buf;
    if (c[1] & 7) {
        fail_field(d);
        return;
    }
    memset(b, 0, 34);
    put16(b, 32);
    b[2] = 0x0E;   /* complete disc, last session complete */
    b[3] = 1;      /* first track */
    b[4] = 1;      /* sessions */
    b[5] = 1;      /* first and last track of the last session */
    b[6] = 1;
    put32(b + 16, 0xFFFFFFFFu);   /* no lead-in / lead-out to record */
    put32(b + 20, 0xFFFFFFFFu);
    reply(d, 34, get16(c + 7));
}

/* READ TRACK INFORMATION: the one data track, by LBA or by number. */
static void cmd_track_info(struct ide_drive *d, const uint8_t *c)
{
    uint8_t *b = d->buf;
    uint32_t addr = get32(c + 2), blocks = atapi_blocks(d);
    unsigned type = c[1] & 3;
    bool ok = (type == 0 && addr < blocks) || (type == 1 && addr == 1) ||
              (type == 2 && addr == 1);
    if (!ok) {
        fail_field(d);
        return;
    }
    memset(b, 0, 36);
    put16(b, 34);
    b[2] = 1;      /* track */
    b[3] = 1;      /* session */
    b[5] = 0x04;   /* data track, recorded uninterrupted */
    b[6] = 0x01;   /* data mode 1 */
    put32(b + 24, blocks);       /* track size */
    put32(b + 28, blocks - 1);   /* last recorded address */
    reply(d, 36, get16(c + 7));
}

static void cmd_start_stop(struct ide_drive *d, const uint8_t *c)
{
    struct atapi *a = &d->atapi;
    bool loej = c[4] & 2, start = c[4] & 1;
    if (loej && !start) {
        if (a->locked) {
            atapi_fail(d, SK_ILLEGAL_REQUEST, ASC_REMOVAL_PREVENTED, 2);
            return;
        }
        if (!a->tray_open && d->blk) {
            a->event = EV_MEDIA_REMOVAL;
        }
        a->tray_open = true;
    } else if (loej && a->tray_open) {
        a->tray_open = false;
        if (d->blk) {
            a->event = EV_NEW_MEDIA;
        }
    }
    atapi_ok(d);
}

static void cmd_prevent_allow(struct ide_drive *d, const uint8_t *c)
{
    d->atapi.locked = c[4] & 1;
    atapi_ok(d);
}

static void cmd_nop_ok(struct ide_drive *d, const uint8_t *c)
{
    atapi_ok(d);   /* SET CD SPEED, SYNCHRONIZE CACHE: nothing to do */
}

static void cmd_mechanism_status(struct ide_drive *d, const uint8_t *c)
{
    uint8_t *b = d->buf;
    memset(b, 0, 8);
    b[1] = d->atapi.tray_open ? 0x10 : 0x00;   /* idle; door open */
    reply(d, 8, get16(c + 8));
}

#define NEED_MEDIUM 0x01   /* NOT READY without a medium */
#define NO_UA 0x02         /* not failed by a pending UNIT ATTENTION */

static const struct atapi_cmd {
    uint8_t op, flags;
    void (*fn)(struct ide_drive *d, const uint8_t *c);
} atapi_cmds[] = {
    { 0x00, NEED_MEDIUM, cmd_test_unit_ready },
    { 0x03, NO_UA, cmd_request_sense },
    { 0x12, NO_UA, cmd_inquiry },
    { 0x15, 0, cmd_mode_select },
    { 0x1A, 0, cmd_mode_sense },
    { 0x1B, 0, cmd_start_stop },
    { 0x1E, 0, cmd_prevent_allow },
    { 0x25, NEED_MEDIUM, cmd_read_capacity },
    { 0x28, NEED_MEDIUM, cmd_read },
    { 0x2B, NEED_MEDIUM, cmd_seek },
    { 0x35, 0, cmd_nop_ok },
    { 0x43, NEED_MEDIUM, cmd_read_toc },
    { 0x46, NO_UA, cmd_get_configuration },
    { 0x4A, NO_UA, cmd_event_status },
    { 0x51, NEED_MEDIUM, cmd_disc_info },
    { 0x52, NEED_MEDIUM, cmd_track_info },
    { 0x55, 0, cmd_mode_select },
    { 0x5A, 0, cmd_mode_sense },
    { 0xA8, NEED_MEDIUM, cmd_read },
    { 0xBB, 0, cmd_nop_ok },
    { 0xBD, 0, cmd_mechanism_status },
    { 0xBE, NEED_MEDIUM, cmd_read_cd },
};

static void atapi_exec(struct ide_drive *d)
{
    struct atapi *a = &d->atapi;
    const uint8_t *c = a->cdb;
    const struct atapi_cmd *cmd = NULL;
    a->data_out = false;
    a->reading = false;
    a->blocks_left = 0;
    a->lba = 0;
    log_ch(LOG_DEV, "atapi%d-%d: packet %02x %02x %02x %02x %02x %02x %02x %02x %02x %02x",
           d->ch->index, d->unit, c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9]);
    for (size_t i = 0; i < sizeof(atapi_cmds) / sizeof(atapi_cmds[0]); i++) {
        if (atapi_cmds[i].op == c[0]) {
            cmd = &atapi_cmds[i];
        }
    }
    if (!cmd) {
        log_once("atapi: command %#x not implemented", c[0]);
        atapi_fail(d, SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE, 0);
        return;
    }
    if (a->unit_attention && !(cmd->flags & NO_UA)) {
        a->unit_attention = false;
        atapi_fail(d, SK_UNIT_ATTENTION, ASC_MEDIUM_CHANGED, 0);
        return;
    }
    if ((cmd->flags & NEED_MEDIUM) && !has_medium(d)) {
        atapi_fail(d, SK_NOT_READY, ASC_NO_MEDIUM, a->tray_open ? 2 : 1);
        return;
    }
    cmd->fn(d, c);
}

/* ---- the ATA side of the drive ------------------------------------------------------- */

static void packet_received(struct ide_drive *d)
{
    memcpy(d->atapi.cdb, d->buf, sizeof(d->atapi.cdb));
    atapi_exec(d);
}

void atapi_packet(struct ide_drive *d)
{
    struct atapi *a = &d->atapi;
    a->dma = d->feature & 1;
    a->limit = (uint32_t)(d->lcyl | d->hcyl << 8);
    if (a->limit == 0) {
        a->limit = 0xFFFE;   /* zero is not allowed; take the largest */
    }
    a->limit &= ~1u;         /* phases that end mid-reply are even */
    if (a->limit == 0) {
        a->limit = 2;
    }
    d->nsector = IR_COD;
    d->status = ST_DRDY | ST_DSC;
    ide_pio_window(d, 0, sizeof(a->cdb), true, packet_received);
}

void atapi_identify(struct ide_drive *d)
{
    uint16_t id[256] = { 0 };
    /* ATAPI, CD-ROM, removable, accelerated DRQ, 12-byte packets */
    id[0] = 0x85C0;
    ide_id_common(d, id);
    ide_id_string(&id[27], "KASOU CD-ROM", 20);
    id[82] = 0x4218;   /* NOP, DEVICE RESET, PACKET, power management */
    id[83] = 0x5000;   /* FLUSH CACHE */
    id[84] = 0x4000;
    id[85] = 0x4218;
    id[86] = 0x1000;
    id[87] = 0x4000;
    ide_id_finish(d, id);
}

/* DEVICE RESET: the drive alone, no interrupt; the signature again. */
void atapi_device_reset(struct ide_drive *d)
{
    ide_set_signature(d);
    d->error = 0x01;
    d->status = 0;
}

void atapi_init(struct ide_drive *d)
{
    struct atapi *a = &d->atapi;
    memset(a, 0, sizeof(*a));
}

void atapi_media_changed(struct ide_drive *d, struct blockdev *blk)
{
    struct atapi *a = &d->atapi;
    bool had = has_medium(d);
    d->blk = blk;
    a->tray_open = false;
    if (blk) {
        a->unit_attention = true;
        a->event = EV_NEW_MEDIA;
    } else if (had) {
        a->event = EV_MEDIA_REMOVAL;
    }
}
