/*
 * fw_cfg.c - firmware configuration device (see fw_cfg.h).
 *
 * Multi-byte values of the fixed keys are little-endian; the file
 * directory and the DMA descriptor are big-endian, as the interface
 * defines.  Reading past an item's end gives zeros.
 */
#include "fw_cfg.h"

#include <stdlib.h>
#include <string.h>

#include "util/log.h"

#define DMA_ERROR 0x01u
#define DMA_READ 0x02u
#define DMA_SKIP 0x04u
#define DMA_SELECT 0x08u
#define DMA_WRITE 0x10u

static struct fw_cfg_item *find(struct fw_cfg *fw, uint16_t key)
{
    for (int i = 0; i < fw->nitems; i++) {
        if (fw->items[i].key == key) {
            return &fw->items[i];
        }
    }
    return NULL;
}

int fw_cfg_add(struct fw_cfg *fw, uint16_t key, const void *data, uint32_t len)
{
    struct fw_cfg_item *it = find(fw, key);
    if (!it) {
        if (fw->nitems == FW_CFG_MAX_ITEMS) {
            return -1;
        }
        it = &fw->items[fw->nitems++];
        memset(it, 0, sizeof(*it));
        it->key = key;
    }
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy) {
        return -1;
    }
    memcpy(copy, data, len);
    free(it->data);
    it->data = copy;
    it->len = len;
    return 0;
}

int fw_cfg_add_i16(struct fw_cfg *fw, uint16_t key, uint16_t v)
{
    uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
    return fw_cfg_add(fw, key, b, 2);
}

int fw_cfg_add_i32(struct fw_cfg *fw, uint16_t key, uint32_t v)
{
    uint8_t b[4];
    for (int i = 0; i < 4; i++) {
        b[i] = (uint8_t)(v >> (8 * i));
    }
    return fw_cfg_add(fw, key, b, 4);
}

int fw_cfg_add_i64(struct fw_cfg *fw, uint16_t key, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++) {
        b[i] = (uint8_t)(v >> (8 * i));
    }
    return fw_cfg_add(fw, key, b, 8);
}

static void put_be(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++) {
        p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    }
}

static uint64_t get_be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++) {
        v = v << 8 | p[i];
    }
    return v;
}

/* Rebuild the directory item: count, then 64-byte entries. */
static int rebuild_dir(struct fw_cfg *fw)
{
    uint32_t len = 4 + 64u * (uint32_t)fw->nfiles;
    uint8_t *d = calloc(1, len);
    if (!d) {
        return -1;
    }
    put_be(d, (uint64_t)fw->nfiles, 4);
    uint8_t *e = d + 4;
    for (int i = 0; i < fw->nitems; i++) {
        const struct fw_cfg_item *it = &fw->items[i];
        if (it->key < FW_CFG_FILE_FIRST || it->key >= FW_CFG_FILE_FIRST + FW_CFG_MAX_ITEMS) {
            continue;
        }
        put_be(e, it->len, 4);
        put_be(e + 4, it->key, 2);
        memcpy(e + 8, it->name, FW_CFG_NAME_LEN);
        e += 64;
    }
    int rc = fw_cfg_add(fw, FW_CFG_FILE_DIR, d, len);
    free(d);
    return rc;
}

int fw_cfg_add_file(struct fw_cfg *fw, const char *name, const void *data, uint32_t len)
{
    for (int i = 0; i < fw->nitems; i++) {
        struct fw_cfg_item *it = &fw->items[i];
        if (it->key >= FW_CFG_FILE_FIRST && !strncmp(it->name, name, FW_CFG_NAME_LEN)) {
            return fw_cfg_add(fw, it->key, data, len) < 0 || rebuild_dir(fw) < 0 ? -1 : it->key;
        }
    }
    uint16_t key = (uint16_t)(FW_CFG_FILE_FIRST + fw->nfiles);
    if (fw_cfg_add(fw, key, data, len) < 0) {
        return -1;
    }
    struct fw_cfg_item *it = find(fw, key);
    strncpy(it->name, name, FW_CFG_NAME_LEN - 1);
    fw->nfiles++;
    return rebuild_dir(fw) < 0 ? -1 : key;
}

static uint8_t data_byte(struct fw_cfg *fw)
{
    struct fw_cfg_item *it = find(fw, fw->selector);
    if (!it || fw->offset >= it->len) {
        return 0;
    }
    return it->data[fw->offset++];
}

static uint32_t port_read(void *opaque, uint32_t off, int size)
{
    struct fw_cfg *fw = opaque;
    if (off == 1) {
        uint32_t v = 0;
        for (int i = 0; i < size; i++) {
            v |= (uint32_t)data_byte(fw) << (8 * i);
        }
        return v;
    }
    if (off >= 4 && off < 12) {
        /* DMA address port reads back the signature "QEMU CFG" */
        static const char sig[] = "QEMU CFG";
        uint32_t v = 0;
        for (int i = 0; i < size; i++) {
            v = v << 8 | (uint8_t)sig[off - 4 + (uint32_t)i];
        }
        return v;
    }
    return 0;
}

static void dma_run(struct fw_cfg *fw, uint32_t desc)
{
    uint8_t d[16];
    bus_read_buf(fw->bus, desc, d, sizeof(d));
    uint32_t ctl = (uint32_t)get_be(d, 4);
    uint32_t len = (uint32_t)get_be(d + 4, 4);
    uint32_t addr = (uint32_t)get_be(d + 8, 8);
    if (ctl & DMA_SELECT) {
        fw->selector = (uint16_t)(ctl >> 16);
        fw->offset = 0;
    }
    uint32_t status = 0;
    if (ctl & DMA_WRITE) {
        log_once("fw_cfg: guest DMA write ignored (items are read-only)");
        status = DMA_ERROR;
    } else if (ctl & (DMA_READ | DMA_SKIP)) {
        /* the item's bytes from the offset, then zeros past its end */
        struct fw_cfg_item *it = find(fw, fw->selector);
        uint32_t avail = it && fw->offset < it->len ? it->len - fw->offset : 0;
        uint32_t n = len < avail ? len : avail;
        if ((ctl & DMA_READ) && n) {
            bus_write_buf(fw->bus, addr, it->data + fw->offset, n);
        }
        fw->offset += n;
        if (ctl & DMA_READ) {
            static const uint8_t zero[256];
            for (uint32_t i = n; i < len; i += (uint32_t)sizeof(zero)) {
                uint32_t z = len - i < sizeof(zero) ? len - i : (uint32_t)sizeof(zero);
                bus_write_buf(fw->bus, addr + i, zero, z);
            }
        }
    }
    put_be(d, status, 4);
    bus_write_buf(fw->bus, desc, d, 4);
}

static void port_write(void *opaque, uint32_t off, uint32_t val, int size)
{
    struct fw_cfg *fw = opaque;
    if (off == 0 && size == 2) {
        fw->selector = (uint16_t)val;
        fw->offset = 0;
    } else if (off == 4 && size == 4) {
        fw->dma_hi = val;   /* big-endian: bytes already in order on the wire */
    } else if (off == 8 && size == 4) {
        /* the guest writes the big-endian address as two 32-bit halves */
        uint32_t lo = ((val & 0xFF) << 24) | ((val & 0xFF00) << 8) |
                      ((val >> 8) & 0xFF00) | (val >> 24);
        dma_run(fw, lo);
    } else if (off == 1) {
        log_once("fw_cfg: write to the data port ignored");
    }
}

static const struct io_ops fw_cfg_ops = { port_read, port_write, 0x7 };

struct fw_cfg *fw_cfg_new(struct bus *bus)
{
    struct fw_cfg *fw = calloc(1, sizeof(*fw));
    if (!fw) {
        return NULL;
    }
    fw->bus = bus;
    fw_cfg_add(fw, FW_CFG_SIGNATURE, "QEMU", 4);
    fw_cfg_add_i32(fw, FW_CFG_ID, 3);   /* traditional interface + DMA */
    rebuild_dir(fw);
    bus_map_ports(bus, 0x510, 12, &fw_cfg_ops, fw);   /* 0x510-0x51B */
    return fw;
}

void fw_cfg_free(struct fw_cfg *fw)
{
    if (!fw) {
        return;
    }
    for (int i = 0; i < fw->nitems; i++) {
        free(fw->items[i].data);
    }
    free(fw);
}
