/*
 * ide_int.h - state shared by the ATA side (ide.c) and the ATAPI side
 * (atapi.c) of the PIIX3 IDE function.  Not a public interface: only
 * those two files include it.
 *
 * Each drive keeps its own copy of the task file, as real drives do: the
 * host's register writes reach both drives of a channel, reads come from
 * the selected one.  A PIO data phase is a window [pos, end) of the
 * drive's buffer plus the function to call once the host has moved the
 * last byte of it; a DMA data phase is a function the bus master runs
 * when the host starts it.
 */
#ifndef KASOU_IDE_INT_H
#define KASOU_IDE_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "hw/ide.h"

/* Status register */
#define ST_ERR 0x01
#define ST_DRQ 0x08
#define ST_DSC 0x10
#define ST_DF 0x20
#define ST_DRDY 0x40
#define ST_BSY 0x80

/* Error register */
#define ER_AMNF 0x01
#define ER_ABRT 0x04
#define ER_IDNF 0x10
#define ER_WP 0x40   /* write protected (removable-media status) */
#define ER_UNC 0x40  /* uncorrectable data (on reads) */

/* Device control register */
#define CTL_NIEN 0x02
#define CTL_SRST 0x04
#define CTL_HOB 0x80

/* ATAPI interrupt reason (the sector count register) */
#define IR_COD 0x01
#define IR_IO 0x02

/* Bus master registers */
#define BM_CMD_START 0x01
#define BM_CMD_TO_MEM 0x08   /* bus master writes memory (a device read) */
#define BM_ST_ACTIVE 0x01
#define BM_ST_ERROR 0x02
#define BM_ST_INT 0x04
#define BM_ST_DMA0 0x20
#define BM_ST_DMA1 0x40

/* Room for 16-sector multiple blocks, ATAPI phases and DMA chunks. */
#define IDE_BUF_SIZE (128u * 1024u)
#define CD_BLOCK 2048u

struct ide;
struct ide_channel;
struct ide_drive;

typedef void (*ide_step_fn)(struct ide_drive *d);

/* ATAPI (CD-ROM) state. */
struct atapi {
    bool tray_open;
    bool locked;               /* PREVENT MEDIUM REMOVAL */
    bool unit_attention;       /* medium changed: report 28h once */
    uint8_t event;             /* pending GESN media event code, 0 none */
    uint8_t sense_key, asc, ascq;
    uint8_t cdb[12];
    bool dma;                  /* this packet's data goes by the bus master */
    bool data_out;             /* host-to-device data (MODE SELECT) */
    bool reading;              /* a READ: phases carry whole sectors */
    uint32_t limit;            /* byte count limit of this packet */
    uint64_t lba;              /* READ: next block to load */
    uint32_t blocks_left;      /* READ: blocks not yet loaded */
    uint32_t buf_pos, buf_len; /* reply bytes in buf not yet transferred */
};

struct ide_drive {
    struct ide_channel *ch;
    int unit;
    bool present;
    enum ide_media media;
    struct blockdev *blk;
    uint64_t nsectors;         /* disk: 512-byte sectors */
    char serial[21];

    /* task file (this drive's copy) */
    uint8_t feature, nsector, sector, lcyl, hcyl;
    uint8_t hob_feature, hob_nsector, hob_sector, hob_lcyl, hob_hcyl;
    uint8_t select, status, error;
    bool intrq;                /* this drive asserts INTRQ */

    /* translation and settings */
    uint16_t cyls, heads, secs;            /* default CHS */
    uint16_t cur_cyls, cur_heads, cur_secs;
    int mult;                  /* multiple-mode block, 0 = off */
    uint8_t pio_mode;          /* 0-4 */
    uint8_t dma_mode;          /* SET FEATURES 03h value: 0x2n MW, 0x4n UDMA */
    bool wcache, lookahead, standby;

    /* PIO data window and what follows it */
    uint8_t *buf;
    uint32_t pos, end;
    bool pio_out;              /* the host writes the window */
    ide_step_fn end_fn;
    /* a DMA command waiting for the bus master */
    ide_step_fn dma_fn;

    /* ATA sector command in progress */
    uint8_t cmd;
    bool lba48;
    uint64_t lba;
    uint32_t remain;           /* sectors still to move */
    uint32_t block;            /* sectors in the current DRQ block */
    uint32_t per_block;        /* 1, or the multiple count */

    struct atapi atapi;
};

struct ide_channel {
    struct ide *ide;
    int index;
    struct ide_drive drive[2];
    int cur;                   /* selected unit (DEV bit) */
    uint8_t ctrl;              /* device control register */
    struct irq irq;
    int irq_level;
    /* bus master */
    uint8_t bm_cmd, bm_status;
    uint32_t bm_prd;
    uint32_t prd_next;         /* next PRD entry to fetch */
    uint32_t seg_addr, seg_left;
    bool seg_eot;              /* the current entry is the last */
};

struct ide {
    struct pci_dev pci;
    struct bus *bus;
    struct ide_channel ch[2];
};

/* ide.c: protocol helpers the ATAPI side uses. */
void ide_raise_irq(struct ide_drive *d);
void ide_update_irq(struct ide_channel *ch);
/* Open a PIO data window of buf[start, start+len); DRQ on. */
void ide_pio_window(struct ide_drive *d, uint32_t start, uint32_t len, bool out,
                    ide_step_fn end_fn);
/* Wait for the bus master (runs fn now if it is already started). */
void ide_dma_arm(struct ide_drive *d, ide_step_fn fn);
/* Move up to len bytes through the PRD table; returns the bytes moved. */
uint32_t ide_bm_rw(struct ide_channel *ch, uint8_t *buf, uint32_t len, bool to_mem);
/* The DMA command ended; short: the PRD table ran out first. */
void ide_bm_end(struct ide_channel *ch, bool short_prd);
void ide_set_signature(struct ide_drive *d);
/* The ASCII string fields of IDENTIFY (two characters a word, high first). */
void ide_id_string(uint16_t *w, const char *s, int nwords);
/* Words shared by IDENTIFY DEVICE and IDENTIFY PACKET DEVICE. */
void ide_id_common(const struct ide_drive *d, uint16_t *id);
/* Words into the buffer, little-endian, with the word-255 checksum. */
void ide_id_finish(struct ide_drive *d, uint16_t *id);
bool ide_set_features(struct ide_drive *d);

/* atapi.c */
void atapi_init(struct ide_drive *d);
void atapi_identify(struct ide_drive *d);
void atapi_packet(struct ide_drive *d);
void atapi_device_reset(struct ide_drive *d);
void atapi_media_changed(struct ide_drive *d, struct blockdev *blk);
uint32_t atapi_blocks(const struct ide_drive *d);

#endif
