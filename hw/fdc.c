/*
 * fdc.c - an 82077AA-class floppy disk controller in PC-AT mode (see fdc.h).
 *
 *   3F0h  SRA (read; PS/2 status, kept minimal)
 *   3F1h  SRB (read; motor and drive-select bits)
 *   3F2h  DOR: 1:0 drive select, 2 /RESET, 3 DMA gate, 7:4 motor on
 *   3F3h  TDR: tape drive select (a latch)
 *   3F4h  MSR (read): 7 RQM, 6 DIO, 5 NDMA, 4 CB, 3:0 drive seeking
 *         DSR (write): 7 software reset, 6 power down, 1:0 data rate
 *   3F5h  FIFO: command bytes in, result bytes out, data in non-DMA mode
 *   3F7h  DIR (read): 7 disk change of the selected drive
 *         CCR (write): 1:0 data rate (500K, 300K, 250K, 1M)
 *
 * Everything completes instantly: a seek's interrupt, a sector's data and
 * the result phase are all there by the time the guest's OUT returns
 * (the one timed event is a non-DMA overrun, below).  The
 * IRQ line stays up until the guest clears it the chip's way (reading the
 * result, SENSE INTERRUPT STATUS, a reset), so an interrupt raised while
 * the guest still has interrupts off waits in the PIC.  The DMA gate in the
 * DOR gates DRQ but, unlike the chip in AT mode, not INT: SeaBIOS leaves
 * the gate off when it releases reset and waits for that interrupt.
 *
 * The disk: the image is a stack of tracks (cylinder, head, sector, 512
 * bytes each) with IDs C = physical track, H = head, R = 1..spt, N = 2.
 * A command finds a sector only when its C/H/R/N match that ID: a
 * cylinder other than the head's position gives ND + WC, as on a disk.
 * Reads at a data rate the media was not written at, in FM, on a missing
 * side or past the last track find no address mark (MA).  Deleted-data
 * marks are not stored (WRITE DELETED DATA writes normal data).
 *
 * Data transfer: in DMA mode the controller raises DREQ on channel 2 and
 * moves sectors when the 8237 services it; terminal count ends the command
 * after the current sector (a write pads that sector with zeros).  In
 * non-DMA mode (SPECIFY ND) the host moves each byte through the FIFO,
 * with RQM/DIO/NDMA in the MSR and INT pulsed per byte; a host that stops
 * moving bytes for OVERRUN_NS ends the command with ST1 OR (a clock from
 * fdc_set_clock is needed for that).  A transfer that runs past EOT
 * without terminal count ends with ST1 EN, its C/H/R naming the last
 * sector moved, as on the chip (Linux's pseudo-DMA relies on both).
 *
 * The drive: the head moves by step pulses (SEEK, RECALIBRATE, implied
 * seeks), so the present-cylinder register and the head can disagree
 * after a reset until the guest recalibrates.  A step with the motor on
 * and a disk inside clears the disk-change line that inserting sets.
 */
#include "fdc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/block/block.h"
#include "hw/i8237.h"
#include "hw/timer.h"
#include "util/log.h"

#define SECTOR 512
#define MAX_TRACK 83          /* the head stops past the last track */
/*
 * A non-DMA host that leaves a byte waiting this long has missed it: the
 * chip overruns after one byte time (16 us at 500 Kbps); an emulated host
 * gets more slack.
 */
#define OVERRUN_NS 2000000u

enum {
    DOR_SEL = 0x03, DOR_NRESET = 0x04, DOR_DMA = 0x08,
    MSR_RQM = 0x80, MSR_DIO = 0x40, MSR_NDMA = 0x20, MSR_CB = 0x10,
    ST0_ABNORMAL = 0x40, ST0_INVALID = 0x80, ST0_READY_CHANGE = 0xC0, ST0_SE = 0x20,
    ST0_EC = 0x10,
    ST1_EN = 0x80, ST1_DE = 0x20, ST1_OR = 0x10, ST1_ND = 0x04, ST1_NW = 0x02, ST1_MA = 0x01,
    ST2_CM = 0x40, ST2_DD = 0x20, ST2_WC = 0x10,
    ST3_WP = 0x40, ST3_RDY = 0x20, ST3_T0 = 0x10, ST3_TS = 0x08,
    CFG_EIS = 0x40, CFG_EFIFO = 0x20, CFG_POLL = 0x10, CFG_DEFAULT = CFG_EFIFO,
    RATE_500K = 0, RATE_300K = 1, RATE_250K = 2, RATE_1M = 3,
};

enum fdc_phase { PH_CMD, PH_EXEC, PH_RESULT };
enum fdc_op { OP_NONE, OP_READ, OP_READ_DEL, OP_READ_TRACK, OP_WRITE, OP_FORMAT };

/* One media format: its geometry, CMOS drive type and the data rates it reads at. */
struct fdc_format {
    uint32_t size;
    uint8_t tracks, heads, spt, cmos, rates;
    const char *name;
};

#define R(x) (1u << (x))
static const struct fdc_format formats[] = {
    /* 5.25" DD reads at 250K in a 360K drive and at 300K in a 1.2M one */
    { 163840, 40, 1, 8, 1, R(RATE_250K) | R(RATE_300K), "160K" },
    { 184320, 40, 1, 9, 1, R(RATE_250K) | R(RATE_300K), "180K" },
    { 327680, 40, 2, 8, 1, R(RATE_250K) | R(RATE_300K), "320K" },
    { 368640, 40, 2, 9, 1, R(RATE_250K) | R(RATE_300K), "360K" },
    { 737280, 80, 2, 9, 3, R(RATE_250K), "720K" },
    { 1228800, 80, 2, 15, 2, R(RATE_500K), "1.2M" },
    { 1474560, 80, 2, 18, 4, R(RATE_500K), "1.44M" },
    { 1720320, 80, 2, 21, 4, R(RATE_500K), "1.68M (DMF)" },
    { 1741824, 81, 2, 21, 4, R(RATE_500K), "1.70M" },
    { 1763328, 82, 2, 21, 4, R(RATE_500K), "1.72M" },
    { 2949120, 80, 2, 36, 5, R(RATE_1M), "2.88M" },
};
#undef R

struct fdc_drive {
    struct blockdev *blk;
    const struct fdc_format *fmt;   /* the inserted media, or NULL */
    bool installed;                 /* attached at least once */
    int cmos;                       /* type of the drive (last media) */
    uint8_t pcn;                    /* controller's present cylinder */
    uint8_t track;                  /* where the head really is */
    uint8_t rot;                    /* next sector under the head, 0-based */
    bool changed;                   /* the disk-change line */
    bool seek_pending;              /* a seek/recalibrate status to sense */
    uint8_t seek_st0;
};

struct fdc {
    struct bus *bus;
    struct irq irq;
    struct i8237 *dma;
    struct clock *clk;              /* non-DMA pacing; may be NULL */
    struct timer pio_timer;
    enum { PIO_OFF, PIO_RAISE, PIO_OVERRUN, PIO_FINISH } pio_wait;
    uint8_t pio_ic;                 /* PIO_FINISH: the result's ST0 code */
    struct fdc_drive drv[4];        /* units 2 and 3 are never installed */
    uint8_t dor, tdr, dsr, rate;
    uint8_t specify[2];             /* SRT/HUT, HLT/ND */
    uint8_t config, pretrk, perp;
    bool lock;
    bool irq_level;
    bool dreq;                      /* DRQ before the DOR's DMA gate */
    int reset_polls;                /* SENSE INTERRUPTs owed after a reset */
    enum fdc_phase phase;
    uint8_t cmd[9];
    int cmd_len, cmd_pos;
    uint8_t res[10];
    int res_len, res_pos;
    bool res_irq;                   /* the result phase raised INT */
    /* execution phase of a data command */
    enum fdc_op op;
    bool dma_mode, to_host, mt, tc;
    int unit, head;
    uint8_t c, h, r, n, eot, fill, sc;
    uint8_t st1, st2;
    int done;                       /* sectors (IDs for FORMAT) finished */
    uint8_t buf[SECTOR];
    int buf_len, buf_pos;
};

/* ---- interrupt and DMA lines ---- */

/* One byte time at the selected data rate (500K, 300K, 250K, 1M). */
static uint64_t byte_ns(const struct fdc *f)
{
    static const uint32_t kbps[4] = { 500, 300, 250, 1000 };
    return 8000000u / kbps[f->rate & 3];
}

static void raise_irq(struct fdc *f)
{
    f->irq_level = true;
    irq_set(&f->irq, 1);
}

static void lower_irq(struct fdc *f)
{
    f->irq_level = false;
    irq_set(&f->irq, 0);
}

static void update_dreq(struct fdc *f)
{
    if (f->dma) {
        i8237_set_dreq(f->dma, FDC_DMA_CHANNEL, f->dreq && (f->dor & DOR_DMA));
    }
}

static void set_dreq(struct fdc *f, bool level)
{
    f->dreq = level;
    update_dreq(f);
}

/* ---- drive mechanics ---- */

static struct fdc_drive *cur_drive(struct fdc *f)
{
    return &f->drv[f->unit];
}

static bool motor_on(const struct fdc *f, int unit)
{
    return (f->dor >> (4 + unit)) & 1;
}

/* Step the head by the difference between the new and present cylinder. */
static void step_to(struct fdc *f, int unit, uint8_t ncn, int delta)
{
    struct fdc_drive *d = &f->drv[unit];
    int t = d->track + delta;
    d->track = (uint8_t)(t < 0 ? 0 : t > MAX_TRACK ? MAX_TRACK : t);
    d->pcn = ncn;
    if (delta != 0 && d->installed && d->blk && motor_on(f, unit)) {
        d->changed = false;   /* the drive resets the line on a step pulse */
    }
}

/* Can the drive find address marks on this side at the current rate? */
static bool media_readable(const struct fdc *f, const struct fdc_drive *d, int head, bool mfm)
{
    return d->blk && d->fmt && mfm && (d->fmt->rates & (1u << f->rate)) &&
           head < d->fmt->heads && d->track < d->fmt->tracks;
}

static bool write_protected(const struct fdc_drive *d)
{
    return !d->blk || blk_read_only(d->blk);
}

static uint64_t sector_offset(const struct fdc_drive *d, int head, int r)
{
    const struct fdc_format *m = d->fmt;
    return (((uint64_t)d->track * m->heads + (uint64_t)head) * m->spt + (uint64_t)(r - 1)) *
           SECTOR;
}

/* ---- phases ---- */

static void log_bytes(const char *what, const uint8_t *bytes, int len)
{
    char text[40];
    for (int i = 0; i < len && i < 10; i++) {
        snprintf(text + 3 * i, 4, " %02x", bytes[i]);
    }
    log_printf("%s%s", what, len ? text : "");
}

static void result(struct fdc *f, const uint8_t *bytes, int len, bool irq)
{
    memcpy(f->res, bytes, (size_t)len);
    f->res_len = len;
    f->res_pos = 0;
    f->res_irq = irq;
    f->phase = PH_RESULT;
    f->op = OP_NONE;
    if (log_on(LOG_DEV)) {
        log_bytes("fdc: result", bytes, len);
    }
    if (irq) {
        /* a new event: an edge even if a byte request held INT up */
        lower_irq(f);
        raise_irq(f);
    }
}

/* End a data command: ST0 with the interrupt code, then ST1 ST2 C H R N. */
static void finish(struct fdc *f, uint8_t ic)
{
    set_dreq(f, false);
    if (f->clk) {
        if (f->phase == PH_EXEC && !f->dma_mode && f->pio_wait != PIO_FINISH) {
            /* the chip checks the CRC before its result; a non-DMA host
             * that drains bytes in its interrupt handler must see the
             * result's interrupt as a new one, after the handler */
            f->pio_wait = PIO_FINISH;
            f->pio_ic = ic;
            timer_mod(&f->pio_timer, clock_ns(f->clk) + 3 * byte_ns(f));
            return;
        }
        f->pio_wait = PIO_OFF;
        timer_del(&f->pio_timer);
    }
    uint8_t st0 = (uint8_t)(ic | f->head << 2 | f->unit);
    uint8_t bytes[7] = { st0, f->st1, f->st2, f->c, f->h, f->r, f->n };
    result(f, bytes, 7, true);
}

/*
 * Move to the ID after the sector just finished, as the result phase
 * reports it (R+1; at EOT R=1 and, multi-track on head 0, head 1, else
 * the next cylinder).  False when the track (or both sides) is done.
 */
static bool next_id(struct fdc *f)
{
    cur_drive(f)->rot = f->r;
    if (f->r != f->eot) {
        f->r++;
        return true;
    }
    f->r = 1;
    if (f->mt) {
        f->h ^= 1;
        if (f->head == 0) {
            f->head = 1;
            return true;
        }
    }
    f->c++;
    return false;
}

/*
 * Find the sector with ID (C,H,R,N) on the track under the head (a side
 * a multi-track transfer turned to may hold no track at all: MA).
 */
static bool find_sector(struct fdc *f)
{
    struct fdc_drive *d = cur_drive(f);
    if (!media_readable(f, d, f->head, true)) {
        f->st1 |= ST1_MA;
        return false;
    }
    if (f->c != d->track) {
        f->st1 |= ST1_ND;
        f->st2 |= ST2_WC;   /* (BC needs an ID of cylinder FFh: never here) */
        return false;
    }
    if (f->h != f->head || f->n != 2 || f->r < 1 || f->r > d->fmt->spt) {
        f->st1 |= ST1_ND;
        return false;
    }
    return true;
}

/* Begin the next sector of a read or write; false if the command ended. */
static bool start_sector(struct fdc *f)
{
    int phys_r = f->r;
    if (f->op == OP_READ_TRACK) {
        /* the track is read in physical order; a wrong ID is noted only */
        phys_r = f->done + 1;
        if (phys_r > cur_drive(f)->fmt->spt) {
            f->st1 |= ST1_EN;
            finish(f, ST0_ABNORMAL);
            return false;
        }
        uint8_t saved1 = f->st1, saved2 = f->st2;
        uint8_t want_r = f->r;
        f->r = (uint8_t)phys_r;
        bool match = find_sector(f) && want_r == phys_r;
        f->r = want_r;
        f->st1 = (uint8_t)(saved1 | (match ? 0 : ST1_ND));
        f->st2 = saved2;
    } else if (!find_sector(f)) {
        finish(f, ST0_ABNORMAL);
        return false;
    }
    f->buf_len = SECTOR;
    f->buf_pos = 0;
    if (f->to_host) {
        struct fdc_drive *d = cur_drive(f);
        if (blk_read(d->blk, sector_offset(d, f->head, phys_r), f->buf, SECTOR) < 0) {
            f->st1 |= ST1_DE;
            f->st2 |= ST2_DD;
            finish(f, ST0_ABNORMAL);
            return false;
        }
    }
    return true;
}

/* A whole sector has gone to or come from the host. */
static void sector_done(struct fdc *f)
{
    struct fdc_drive *d = cur_drive(f);
    if (f->op == OP_WRITE &&
        blk_write(d->blk, sector_offset(d, f->head, f->r), f->buf, SECTOR) < 0) {
        log_warn("fdc: write error on drive %c", 'A' + f->unit);
        f->st1 |= ST1_DE;
        finish(f, ST0_ABNORMAL | ST0_EC);
        return;
    }
    f->done++;
    uint8_t last_c = f->c, last_h = f->h, last_r = f->r;
    int last_head = f->head;
    bool more = next_id(f);
    if (f->tc) {
        finish(f, 0);
    } else if (f->op == OP_READ_DEL) {
        finish(f, ST0_ABNORMAL);   /* a normal data mark: CM, stop after it */
    } else if (f->op == OP_READ_TRACK ? f->done >= f->eot : !more) {
        /* end of cylinder: the result names the last sector, not the
         * next (Linux's pseudo-DMA counts on it) */
        f->c = last_c;
        f->h = last_h;
        f->r = last_r;
        f->head = last_head;
        f->st1 |= ST1_EN;
        finish(f, ST0_ABNORMAL);
    } else {
        start_sector(f);
    }
}

/* FORMAT: one four-byte ID (C H R N) has arrived; write its sector. */
static void format_id_done(struct fdc *f)
{
    struct fdc_drive *d = cur_drive(f);
    f->c = f->buf[0];
    f->h = f->buf[1];
    f->r = f->buf[2];
    f->n = f->buf[3];
    bool fits = d->fmt && (d->fmt->rates & (1u << f->rate)) && f->sc == d->fmt->spt &&
                f->n == 2 && f->r >= 1 && f->r <= d->fmt->spt && f->head < d->fmt->heads &&
                d->track < d->fmt->tracks;
    if (!fits) {
        log_once("fdc: FORMAT TRACK with a layout the image cannot hold is ignored");
    } else {
        uint8_t data[SECTOR];
        memset(data, f->fill, sizeof(data));
        if (blk_write(d->blk, sector_offset(d, f->head, f->r), data, SECTOR) < 0) {
            log_warn("fdc: write error on drive %c", 'A' + f->unit);
            finish(f, ST0_ABNORMAL | ST0_EC);
            return;
        }
    }
    f->done++;
    f->buf_pos = 0;
    if (f->tc || f->done >= (f->sc ? f->sc : 256)) {
        finish(f, 0);
    }
}

/* The buffer is full (host to disk) or empty (disk to host), or TC came. */
static void chunk_done(struct fdc *f)
{
    if (f->buf_pos < f->buf_len && !f->to_host) {
        memset(f->buf + f->buf_pos, 0, (size_t)(f->buf_len - f->buf_pos));
    }
    if (f->op == OP_FORMAT) {
        if (f->buf_pos == f->buf_len) {
            format_id_done(f);
        } else {
            finish(f, 0);   /* TC inside an ID: the track ends there */
        }
    } else {
        sector_done(f);
    }
}

/* DMA channel 2 service: move whole sectors until TC or the command ends. */
static void fdc_dma_service(void *opaque, int chan)
{
    struct fdc *f = opaque;
    while (f->phase == PH_EXEC && f->dma_mode) {
        size_t want = (size_t)(f->buf_len - f->buf_pos);
        size_t n = f->to_host
                       ? i8237_write_memory(f->dma, chan, f->buf + f->buf_pos, want)
                       : i8237_read_memory(f->dma, chan, f->buf + f->buf_pos, want);
        f->buf_pos += (int)n;
        if (i8237_tc(f->dma, chan)) {
            f->tc = true;
        }
        if (f->buf_pos == f->buf_len || f->tc) {
            chunk_done(f);
        } else if (n == 0) {
            break;
        }
    }
}

/*
 * Non-DMA pacing, with a clock.  INT asks for bytes; while the host moves
 * them back to back it stays low, and it rises again only after the host
 * has paused for a byte time, so a host draining bytes in its interrupt
 * handler gets one interrupt per pause, not a stale one per byte.  A host
 * that then leaves the byte waiting (Linux's pseudo-DMA takes what it
 * asked for and waits for the interrupt) gets an overrun: the command
 * ends with ST1 OR, C/H/R naming the sector it was on.
 */
static void pio_timer_fired(void *opaque)
{
    struct fdc *f = opaque;
    uint64_t now = clock_ns(f->clk);
    switch (f->pio_wait) {
    case PIO_RAISE:
        raise_irq(f);
        f->pio_wait = PIO_OVERRUN;
        timer_mod(&f->pio_timer, now + OVERRUN_NS);
        break;
    case PIO_OVERRUN:
        f->st1 |= ST1_OR;
        f->pio_wait = PIO_FINISH;   /* no CRC check to wait for */
        finish(f, ST0_ABNORMAL);
        break;
    case PIO_FINISH:
        finish(f, f->pio_ic);
        break;
    default:
        break;
    }
}

/* Enter the execution phase: the first transfer request goes out. */
static void begin_exec(struct fdc *f)
{
    f->phase = PH_EXEC;
    if (f->dma_mode) {
        set_dreq(f, true);
        return;
    }
    raise_irq(f);   /* non-DMA: INT asks for bytes */
    if (f->clk) {
        f->pio_wait = PIO_OVERRUN;
        timer_mod(&f->pio_timer, clock_ns(f->clk) + OVERRUN_NS);
    }
}

/* ---- commands ---- */

static void cmd_invalid(struct fdc *f)
{
    uint8_t st0 = ST0_INVALID;
    result(f, &st0, 1, false);
}

static void setup_exec(struct fdc *f, enum fdc_op op)
{
    f->op = op;
    f->unit = f->cmd[1] & 3;
    f->head = (f->cmd[1] >> 2) & 1;
    f->mt = (f->cmd[0] & 0x80) && op != OP_READ_TRACK && op != OP_FORMAT;
    f->tc = false;
    f->st1 = f->st2 = 0;
    f->done = 0;
    f->dma_mode = f->dma && !(f->specify[1] & 1);
    f->to_host = op == OP_READ || op == OP_READ_DEL || op == OP_READ_TRACK;
}

/* Checks every sector command makes before touching the media. */
static bool media_check(struct fdc *f, bool write)
{
    struct fdc_drive *d = cur_drive(f);
    if (write && d->installed && d->blk && write_protected(d)) {
        f->st1 |= ST1_NW;
        finish(f, ST0_ABNORMAL);
        return false;
    }
    if (!media_readable(f, d, f->head, (f->cmd[0] & 0x40) != 0)) {
        f->st1 |= ST1_MA;
        finish(f, ST0_ABNORMAL);
        return false;
    }
    return true;
}

/* READ DATA, READ DELETED DATA, READ TRACK, WRITE DATA, WRITE DELETED DATA. */
static void cmd_rw(struct fdc *f, enum fdc_op op)
{
    setup_exec(f, op);
    f->c = f->cmd[2];
    f->h = f->cmd[3];
    f->r = f->cmd[4];
    f->n = f->cmd[5];
    f->eot = f->cmd[6];
    if (f->config & CFG_EIS) {
        step_to(f, f->unit, f->c, f->c - f->drv[f->unit].pcn);
    }
    if (!media_check(f, op == OP_WRITE)) {
        return;
    }
    if (op == OP_READ_DEL) {
        f->st2 |= ST2_CM;   /* every sector here carries a normal data mark */
        if (f->cmd[0] & 0x20) {
            while (find_sector(f) && next_id(f)) {
            }
            f->st1 |= (f->st1 & ST1_ND) ? 0 : ST1_EN;
            finish(f, ST0_ABNORMAL);
            return;
        }
    }
    if (start_sector(f)) {
        begin_exec(f);
    }
}

static void cmd_read(struct fdc *f)
{
    cmd_rw(f, OP_READ);
}

static void cmd_read_del(struct fdc *f)
{
    cmd_rw(f, OP_READ_DEL);
}

static void cmd_read_track(struct fdc *f)
{
    cmd_rw(f, OP_READ_TRACK);
}

static void cmd_write(struct fdc *f)
{
    cmd_rw(f, OP_WRITE);
}

static void cmd_write_del(struct fdc *f)
{
    log_once("fdc: WRITE DELETED DATA writes normal data (marks are not stored)");
    cmd_rw(f, OP_WRITE);
}

/*
 * VERIFY: read and check sectors without a transfer.  EC=1 stops after SC
 * sectors (the last byte), EC=0 at EOT; both end normally when every
 * sector was there.
 */
static void cmd_verify(struct fdc *f)
{
    setup_exec(f, OP_NONE);
    f->c = f->cmd[2];
    f->h = f->cmd[3];
    f->r = f->cmd[4];
    f->n = f->cmd[5];
    f->eot = f->cmd[6];
    bool ec = (f->cmd[1] & 0x80) != 0;
    int count = f->cmd[8] ? f->cmd[8] : 256;
    if (f->config & CFG_EIS) {
        step_to(f, f->unit, f->c, f->c - f->drv[f->unit].pcn);
    }
    if (!media_check(f, false)) {
        return;
    }
    for (;;) {
        if (!find_sector(f)) {
            finish(f, ST0_ABNORMAL);
            return;
        }
        bool more = next_id(f);
        if (ec && ++f->done == count) {
            finish(f, 0);
            return;
        }
        if (!more) {
            if (ec) {
                f->st1 |= ST1_EN;
            }
            finish(f, ec ? ST0_ABNORMAL : 0);
            return;
        }
    }
}

static void cmd_read_id(struct fdc *f)
{
    setup_exec(f, OP_NONE);
    struct fdc_drive *d = cur_drive(f);
    f->c = d->track;
    f->h = (uint8_t)f->head;
    f->r = 1;
    f->n = 2;
    if (!media_check(f, false)) {
        return;
    }
    f->r = (uint8_t)(d->rot % d->fmt->spt + 1);
    d->rot = f->r;
    finish(f, 0);
}

static void cmd_format(struct fdc *f)
{
    setup_exec(f, OP_FORMAT);
    struct fdc_drive *d = cur_drive(f);
    f->n = f->cmd[2];
    f->sc = f->cmd[3];
    f->fill = f->cmd[5];
    f->c = d->track;
    f->h = (uint8_t)f->head;
    f->r = 1;
    if (write_protected(d) || !d->fmt || f->head >= d->fmt->heads ||
        !(f->cmd[0] & 0x40)) {
        f->st1 |= write_protected(d) ? ST1_NW : ST1_MA;
        finish(f, ST0_ABNORMAL);
        return;
    }
    f->buf_len = 4;
    f->buf_pos = 0;
    begin_exec(f);
}

static void cmd_specify(struct fdc *f)
{
    f->specify[0] = f->cmd[1];
    f->specify[1] = f->cmd[2];
    f->phase = PH_CMD;
}

static void cmd_sense_drive(struct fdc *f)
{
    int unit = f->cmd[1] & 3;
    struct fdc_drive *d = &f->drv[unit];
    uint8_t st3 = (uint8_t)(ST3_RDY | ST3_TS | (f->cmd[1] & 7));
    if (d->installed) {
        st3 |= d->track == 0 ? ST3_T0 : 0;
        st3 |= write_protected(d) ? ST3_WP : 0;
    }
    result(f, &st3, 1, false);
}

/* A seek or recalibrate has ended: its status waits for SENSE INTERRUPT. */
static void seek_end(struct fdc *f, int unit, uint8_t st0)
{
    f->drv[unit].seek_pending = true;
    f->drv[unit].seek_st0 = st0;
    f->phase = PH_CMD;
    raise_irq(f);
}

static void cmd_recalibrate(struct fdc *f)
{
    int unit = f->cmd[1] & 3;
    struct fdc_drive *d = &f->drv[unit];
    if (!d->installed) {
        /* no track 0 signal ever comes: equipment check */
        seek_end(f, unit, (uint8_t)(ST0_ABNORMAL | ST0_SE | ST0_EC | unit));
        return;
    }
    step_to(f, unit, 0, -d->track);
    seek_end(f, unit, (uint8_t)(ST0_SE | unit));
}

static void cmd_seek(struct fdc *f)
{
    int unit = f->cmd[1] & 3;
    struct fdc_drive *d = &f->drv[unit];
    int delta;
    uint8_t ncn;
    if (f->cmd[0] & 0x80) {        /* relative: bit 6 set steps inward */
        delta = (f->cmd[0] & 0x40) ? f->cmd[2] : -f->cmd[2];
        ncn = (uint8_t)(d->pcn + delta);
    } else {
        ncn = f->cmd[2];
        delta = ncn - d->pcn;
    }
    step_to(f, unit, ncn, delta);
    seek_end(f, unit, (uint8_t)(ST0_SE | (f->cmd[1] & 7)));
}

static void cmd_sense_int(struct fdc *f)
{
    lower_irq(f);
    if (f->reset_polls > 0) {
        int unit = 4 - f->reset_polls--;
        uint8_t bytes[2] = { (uint8_t)(ST0_READY_CHANGE | unit), f->drv[unit].pcn };
        result(f, bytes, 2, false);
        return;
    }
    for (int unit = 0; unit < 4; unit++) {
        struct fdc_drive *d = &f->drv[unit];
        if (d->seek_pending) {
            d->seek_pending = false;
            uint8_t bytes[2] = { d->seek_st0, d->pcn };
            result(f, bytes, 2, false);
            return;
        }
    }
    cmd_invalid(f);
}

static void cmd_version(struct fdc *f)
{
    uint8_t v = 0x90;   /* 82077AA (enhanced controller) */
    result(f, &v, 1, false);
}

static void cmd_part_id(struct fdc *f)
{
    uint8_t v = 0x41;   /* the 82078 family's answer, stepping 1 */
    result(f, &v, 1, false);
}

static void cmd_configure(struct fdc *f)
{
    f->config = f->cmd[2];
    f->pretrk = f->cmd[3];
    if (!(f->config & CFG_EFIFO)) {
        log_ch(LOG_DEV, "fdc: FIFO on, threshold %d", (f->config & 15) + 1);
    }
    f->phase = PH_CMD;
}

static void cmd_lock(struct fdc *f)
{
    f->lock = (f->cmd[0] & 0x80) != 0;
    uint8_t v = (uint8_t)(f->lock ? 0x10 : 0);
    result(f, &v, 1, false);
}

static void cmd_dumpreg(struct fdc *f)
{
    uint8_t bytes[10] = {
        f->drv[0].pcn, f->drv[1].pcn, f->drv[2].pcn, f->drv[3].pcn,
        f->specify[0], f->specify[1], f->eot,
        (uint8_t)((f->lock ? 0x80 : 0) | (f->perp & 0x3F)),
        f->config, f->pretrk,
    };
    result(f, bytes, 10, false);
}

static void cmd_perpendicular(struct fdc *f)
{
    uint8_t v = f->cmd[1];
    f->perp = (uint8_t)((f->perp & 0x3C) | (v & 0x03));
    if (v & 0x80) {   /* OW: the per-drive bits are written too */
        f->perp = (uint8_t)((f->perp & 0x03) | (v & 0x3C));
    }
    f->phase = PH_CMD;
}

struct fdc_cmd {
    uint8_t mask, value, len;
    void (*run)(struct fdc *f);
};

/* Matched first to last; the mask keeps the bits that name the command. */
static const struct fdc_cmd commands[] = {
    { 0x1F, 0x06, 9, cmd_read },          /* MT MFM SK 0 0110 */
    { 0x1F, 0x0C, 9, cmd_read_del },
    { 0x3F, 0x05, 9, cmd_write },         /* MT MFM 0 0 0101 */
    { 0x3F, 0x09, 9, cmd_write_del },
    { 0xBF, 0x02, 9, cmd_read_track },    /* 0 MFM 0 0 0010 */
    { 0x1F, 0x16, 9, cmd_verify },
    { 0xBF, 0x0A, 2, cmd_read_id },
    { 0xBF, 0x0D, 6, cmd_format },
    { 0xFF, 0x03, 3, cmd_specify },
    { 0xFF, 0x04, 2, cmd_sense_drive },
    { 0xFF, 0x07, 2, cmd_recalibrate },
    { 0xFF, 0x08, 1, cmd_sense_int },
    { 0xFF, 0x0E, 1, cmd_dumpreg },
    { 0xFF, 0x0F, 3, cmd_seek },
    { 0xBF, 0x8F, 3, cmd_seek },          /* relative seek, DIR in bit 6 */
    { 0xFF, 0x10, 1, cmd_version },
    { 0xFF, 0x12, 2, cmd_perpendicular },
    { 0xFF, 0x13, 4, cmd_configure },
    { 0x7F, 0x14, 1, cmd_lock },
    { 0xFF, 0x18, 1, cmd_part_id },
};

static const struct fdc_cmd *lookup(uint8_t byte)
{
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if ((byte & commands[i].mask) == commands[i].value) {
            return &commands[i];
        }
    }
    return NULL;
}

/* ---- the FIFO ---- */

static void command_byte(struct fdc *f, uint8_t v)
{
    if (f->cmd_pos == 0) {
        const struct fdc_cmd *c = lookup(v);
        if (!c) {
            log_ch(LOG_UNIMP, "fdc: unknown command %02x", v);
            cmd_invalid(f);
            return;
        }
        if (c->run != cmd_sense_int) {
            f->reset_polls = 0;   /* a new command forgets the reset statuses */
        }
        f->cmd_len = c->len;
    }
    f->cmd[f->cmd_pos++] = v;
    if (f->cmd_pos == f->cmd_len) {
        f->cmd_pos = 0;
        if (log_on(LOG_DEV)) {
            log_bytes(f->specify[1] & 1 ? "fdc: command (non-DMA)" : "fdc: command", f->cmd,
                      f->cmd_len);
        }
        lookup(f->cmd[0])->run(f);
    }
}

/* Non-DMA execution: one byte moves; INT drops and rises for the next. */
static uint8_t pio_byte(struct fdc *f, uint8_t v)
{
    lower_irq(f);
    if (f->to_host) {
        v = f->buf[f->buf_pos++];
    } else {
        f->buf[f->buf_pos++] = v;
    }
    if (f->buf_pos == f->buf_len) {
        chunk_done(f);
    }
    if (f->phase != PH_EXEC || f->pio_wait == PIO_FINISH) {
        return v;
    }
    if (f->clk) {
        f->pio_wait = PIO_RAISE;
        timer_mod(&f->pio_timer, clock_ns(f->clk) + byte_ns(f));
    } else {
        raise_irq(f);   /* no clock: an edge per byte */
    }
    return v;
}

static uint8_t fifo_read(struct fdc *f)
{
    if (f->phase == PH_RESULT) {
        if (f->res_pos == 0 && f->res_irq) {
            lower_irq(f);
        }
        uint8_t v = f->res[f->res_pos++];
        if (f->res_pos == f->res_len) {
            f->phase = PH_CMD;
        }
        return v;
    }
    if (f->phase == PH_EXEC && !f->dma_mode && f->to_host && f->pio_wait != PIO_FINISH) {
        return pio_byte(f, 0);
    }
    log_ch(LOG_GUEST, "fdc: FIFO read with no data ready");
    return 0xFF;
}

static void fifo_write(struct fdc *f, uint8_t v)
{
    if (!(f->dor & DOR_NRESET)) {
        return;
    }
    if (f->phase == PH_CMD) {
        command_byte(f, v);
    } else if (f->phase == PH_EXEC && !f->dma_mode && !f->to_host &&
               f->pio_wait != PIO_FINISH) {
        pio_byte(f, v);
    } else {
        log_ch(LOG_GUEST, "fdc: FIFO write %02x while it is not asking for one", v);
    }
}

static uint8_t msr(const struct fdc *f)
{
    if (!(f->dor & DOR_NRESET)) {
        return 0;
    }
    uint8_t v = 0;
    for (int unit = 0; unit < 4; unit++) {
        v |= f->drv[unit].seek_pending ? (uint8_t)(1u << unit) : 0;
    }
    switch (f->phase) {
    case PH_CMD:
        return (uint8_t)(v | MSR_RQM | (f->cmd_pos ? MSR_CB : 0));
    case PH_EXEC:
        if (f->dma_mode) {
            return (uint8_t)(v | MSR_CB);
        }
        if (f->pio_wait == PIO_FINISH) {
            return (uint8_t)(v | MSR_CB | MSR_NDMA);   /* checking the CRC */
        }
        return (uint8_t)(v | MSR_CB | MSR_RQM | MSR_NDMA | (f->to_host ? MSR_DIO : 0));
    default:
        return (uint8_t)(v | MSR_RQM | MSR_DIO | MSR_CB);
    }
}

/* ---- resets ---- */

/* What a software reset (DOR bit 2 low, DSR bit 7) clears. */
static void soft_reset(struct fdc *f)
{
    set_dreq(f, false);
    if (f->clk) {
        timer_del(&f->pio_timer);
    }
    f->pio_wait = PIO_OFF;
    lower_irq(f);
    f->phase = PH_CMD;
    f->cmd_pos = 0;
    f->op = OP_NONE;
    f->reset_polls = 0;
    for (int unit = 0; unit < 4; unit++) {
        f->drv[unit].seek_pending = false;
        f->drv[unit].pcn = 0;
    }
    if (!f->lock) {
        f->config = CFG_DEFAULT;
        f->pretrk = 0;
    }
    f->perp &= 0x3C;   /* GAP and WGATE clear; the drive bits stay */
}

/* Leaving reset: with polling on, the controller reports all four drives. */
static void reset_done(struct fdc *f)
{
    if (!(f->config & CFG_POLL)) {
        f->reset_polls = 4;
        raise_irq(f);
    }
}

/* ---- registers ---- */

static uint32_t fdc_read(void *opaque, uint32_t off, int size)
{
    struct fdc *f = opaque;
    struct fdc_drive *sel = &f->drv[f->dor & DOR_SEL];
    switch (off) {
    case 0:   /* SRA: INT pending, no second drive, write protect, track 0 */
        return (uint32_t)((f->irq_level ? 0x80 : 0) | (f->drv[1].installed ? 0 : 0x40) |
                          (sel->track ? 0x10 : 0) | 0x04 | (write_protected(sel) ? 0 : 0x02));
    case 1:   /* SRB: drive select 0 and the motor enables of drives 0-1 */
        return (uint32_t)(0xC0 | (f->dor & 1) << 5 | ((f->dor >> 4) & 3));
    case 2:
        return f->dor;
    case 3:
        return f->tdr;
    case 4:
        return msr(f);
    case 5:
        return fifo_read(f);
    case 7:
        return sel->installed && sel->changed ? 0x80 : 0x00;
    default:
        return 0xFF;
    }
}

static void fdc_write(void *opaque, uint32_t off, uint32_t val, int size)
{
    struct fdc *f = opaque;
    uint8_t v = (uint8_t)val;
    switch (off) {
    case 2: {
        uint8_t old = f->dor;
        f->dor = v;
        if (!(v & DOR_NRESET) && (old & DOR_NRESET)) {
            soft_reset(f);
        } else if ((v & DOR_NRESET) && !(old & DOR_NRESET)) {
            reset_done(f);
        }
        update_dreq(f);
        break;
    }
    case 3:
        f->tdr = v & 3;
        break;
    case 4:
        f->dsr = v & 0x7F;
        f->rate = v & 3;
        if (v & 0x40) {
            log_ch(LOG_UNIMP, "fdc: power down ignored");
        }
        if ((v & 0x80) && (f->dor & DOR_NRESET)) {
            soft_reset(f);
            reset_done(f);
        }
        break;
    case 5:
        fifo_write(f, v);
        break;
    case 7:
        f->rate = v & 3;
        break;
    default:
        break;
    }
}

static const struct io_ops fdc_ops = { .read = fdc_read, .write = fdc_write, .sizes = 1 };

static uint32_t dir_read(void *opaque, uint32_t off, int size)
{
    return fdc_read(opaque, 7, size);
}

static void ccr_write(void *opaque, uint32_t off, uint32_t val, int size)
{
    fdc_write(opaque, 7, val, size);
}

static const struct io_ops dir_ops = { .read = dir_read, .write = ccr_write, .sizes = 1 };

/* ---- life cycle ---- */

/* Power-on: held in reset (DOR 0), 250 Kbps, every register cleared. */
void fdc_reset(struct fdc *f)
{
    soft_reset(f);
    f->dor = 0;
    f->tdr = 0;
    f->dsr = RATE_250K;
    f->rate = RATE_250K;
    f->specify[0] = f->specify[1] = 0;
    f->lock = false;
    f->config = CFG_DEFAULT;
    f->pretrk = 0;
    f->perp = 0;
}

struct fdc *fdc_new(struct bus *bus, struct irq irq6, struct i8237 *dma)
{
    struct fdc *f = calloc(1, sizeof(*f));
    if (!f) {
        return NULL;
    }
    f->bus = bus;
    f->irq = irq6;
    f->dma = dma;
    for (int unit = 0; unit < 4; unit++) {
        f->drv[unit].changed = true;   /* as at power-on */
    }
    fdc_reset(f);
    if (bus_map_ports(bus, FDC_BASE, 6, &fdc_ops, f) < 0 ||
        bus_map_ports(bus, FDC_BASE + 7, 1, &dir_ops, f) < 0) {
        free(f);
        return NULL;
    }
    if (dma) {
        i8237_set_handler(dma, FDC_DMA_CHANNEL, fdc_dma_service, f);
    }
    return f;
}

void fdc_set_clock(struct fdc *f, struct clock *clk)
{
    if (f->clk) {
        timer_del(&f->pio_timer);
    }
    f->clk = clk;
    f->pio_wait = PIO_OFF;
    if (clk) {
        timer_init(&f->pio_timer, clk, pio_timer_fired, f);
    }
}

static const struct fdc_format *format_for(uint64_t size)
{
    for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
        if (formats[i].size == size) {
            return &formats[i];
        }
    }
    return NULL;
}

static void size_error(uint64_t size, char *err, size_t errlen)
{
    int n = snprintf(err, errlen, "image size %llu bytes is not a floppy size; valid sizes:",
                     (unsigned long long)size);
    for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]) && n >= 0 &&
                       (size_t)n < errlen; i++) {
        n += snprintf(err + n, errlen - (size_t)n, "%s %s (%lu)", i ? "," : "", formats[i].name,
                      (unsigned long)formats[i].size);
    }
}

int fdc_attach(struct fdc *f, int unit, struct blockdev *blk, char *err, size_t errlen)
{
    if (unit < 0 || unit > 1) {
        snprintf(err, errlen, "floppy unit %d does not exist (0 or 1)", unit);
        return -1;
    }
    const struct fdc_format *fmt = NULL;
    if (blk) {
        fmt = format_for(blk_size(blk));
        if (!fmt) {
            size_error(blk_size(blk), err, errlen);
            return -1;
        }
    }
    struct fdc_drive *d = &f->drv[unit];
    d->blk = blk;
    d->fmt = fmt;
    d->installed = true;
    if (fmt) {
        d->cmos = fmt->cmos;
    }
    d->changed = true;
    return 0;
}

int fdc_cmos_type(const struct fdc *f, int unit)
{
    if (unit < 0 || unit > 1 || !f->drv[unit].installed) {
        return 0;
    }
    return f->drv[unit].cmos;
}

void fdc_free(struct fdc *f)
{
    if (f) {
        fdc_set_clock(f, NULL);
        if (f->dma) {
            i8237_set_handler(f->dma, FDC_DMA_CHANNEL, NULL, NULL);
        }
        free(f);
    }
}
