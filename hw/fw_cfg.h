/*
 * fw_cfg.h - the firmware configuration interface SeaBIOS reads on a PC.
 *
 * Items are byte blobs selected by a 16-bit key: fixed keys (signature,
 * RAM size, CPU count, kernel/initrd pointers, ...) and named files listed
 * in a directory (key 0x19), e.g. "etc/e820", "bootorder",
 * "etc/acpi/tables".  The guest writes a key to the selector port (0x510)
 * and reads bytes from the data port (0x511), or hands a DMA descriptor to
 * the DMA port (0x514, big-endian 64-bit address).
 */
#ifndef KASOU_FW_CFG_H
#define KASOU_FW_CFG_H

#include <stddef.h>
#include <stdint.h>

#include "bus.h"

enum {
    FW_CFG_SIGNATURE = 0x00,
    FW_CFG_ID = 0x01,
    FW_CFG_UUID = 0x02,
    FW_CFG_RAM_SIZE = 0x03,
    FW_CFG_NOGRAPHIC = 0x04,
    FW_CFG_NB_CPUS = 0x05,
    FW_CFG_MACHINE_ID = 0x06,
    FW_CFG_KERNEL_ADDR = 0x07,
    FW_CFG_KERNEL_SIZE = 0x08,
    FW_CFG_KERNEL_CMDLINE = 0x09,
    FW_CFG_INITRD_ADDR = 0x0A,
    FW_CFG_INITRD_SIZE = 0x0B,
    FW_CFG_BOOT_DEVICE = 0x0C,
    FW_CFG_NUMA = 0x0D,
    FW_CFG_BOOT_MENU = 0x0E,
    FW_CFG_MAX_CPUS = 0x0F,
    FW_CFG_KERNEL_ENTRY = 0x10,
    FW_CFG_KERNEL_DATA = 0x11,
    FW_CFG_INITRD_DATA = 0x12,
    FW_CFG_CMDLINE_ADDR = 0x13,
    FW_CFG_CMDLINE_SIZE = 0x14,
    FW_CFG_CMDLINE_DATA = 0x15,
    FW_CFG_SETUP_ADDR = 0x16,
    FW_CFG_SETUP_SIZE = 0x17,
    FW_CFG_SETUP_DATA = 0x18,
    FW_CFG_FILE_DIR = 0x19,
    FW_CFG_FILE_FIRST = 0x20,
    FW_CFG_IRQ0_OVERRIDE = 0x8002,  /* PC: ISA IRQ0 is on I/O APIC pin 2 */
    FW_CFG_E820_TABLE = 0x8003,
};

#define FW_CFG_MAX_ITEMS 64
#define FW_CFG_NAME_LEN 56

struct fw_cfg_item {
    uint16_t key;
    char name[FW_CFG_NAME_LEN];  /* files only */
    uint8_t *data;               /* owned by fw_cfg */
    uint32_t len;
};

struct fw_cfg {
    struct bus *bus;
    struct fw_cfg_item items[FW_CFG_MAX_ITEMS];
    int nitems;
    int nfiles;
    uint16_t selector;
    uint32_t offset;
    uint8_t *dir;                /* file directory blob, rebuilt on add */
    uint32_t dir_len;
    uint32_t dma_hi;             /* first half of the DMA address */
};

/* Create at the QEMU PC ports (0x510/0x511, DMA 0x514). */
struct fw_cfg *fw_cfg_new(struct bus *bus);
void fw_cfg_free(struct fw_cfg *fw);
/* Add or replace an item; data is copied.  Returns 0 or -1 if full. */
int fw_cfg_add(struct fw_cfg *fw, uint16_t key, const void *data, uint32_t len);
int fw_cfg_add_i16(struct fw_cfg *fw, uint16_t key, uint16_t v);
int fw_cfg_add_i32(struct fw_cfg *fw, uint16_t key, uint32_t v);
int fw_cfg_add_i64(struct fw_cfg *fw, uint16_t key, uint64_t v);
/* Add a named file (listed in the directory); returns its key or -1. */
int fw_cfg_add_file(struct fw_cfg *fw, const char *name, const void *data, uint32_t len);

#endif
