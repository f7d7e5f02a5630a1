/* fw_cfg (selector/data and DMA interfaces) and PCI configuration space. */
#include <criterion/criterion.h>
#include <string.h>

#include "hw/bus.h"
#include "hw/fw_cfg.h"
#include "hw/pci.h"

static void select_key(struct bus *bus, uint16_t key)
{
    bus_out(bus, 0x510, key, 2);
}

Test(fw_cfg, signature_and_items)
{
    struct bus *bus = bus_new(1 << 20);
    struct fw_cfg *fw = fw_cfg_new(bus);
    char sig[5] = { 0 };
    select_key(bus, FW_CFG_SIGNATURE);
    for (int i = 0; i < 4; i++) {
        sig[i] = (char)bus_in(bus, 0x511, 1);
    }
    cr_expect_str_eq(sig, "QEMU");
    fw_cfg_add_i64(fw, FW_CFG_RAM_SIZE, 0x8000000);
    select_key(bus, FW_CFG_RAM_SIZE);
    uint32_t lo = 0;
    for (int i = 0; i < 4; i++) {
        lo |= bus_in(bus, 0x511, 1) << (8 * i);
    }
    cr_expect_eq(lo, 0x8000000u);
    /* past the end reads zero */
    for (int i = 0; i < 8; i++) {
        bus_in(bus, 0x511, 1);
    }
    cr_expect_eq(bus_in(bus, 0x511, 1), 0);
    cr_expect_eq(bus_in(bus, 0x514, 4), ('Q' << 24 | 'E' << 16 | 'M' << 8 | 'U'));
    fw_cfg_free(fw);
    bus_free(bus);
}

static uint32_t bswap32(uint32_t v)
{
    return (v >> 24) | ((v >> 8) & 0xFF00) | ((v << 8) & 0xFF0000) | (v << 24);
}

Test(fw_cfg, file_directory_and_dma)
{
    struct bus *bus = bus_new(1 << 20);
    struct fw_cfg *fw = fw_cfg_new(bus);
    int key = fw_cfg_add_file(fw, "etc/test", "hello", 5);
    cr_assert_eq(key, FW_CFG_FILE_FIRST);
    /* directory: count 1, entry size 5, select key, name */
    select_key(bus, FW_CFG_FILE_DIR);
    uint8_t d[68];
    for (int i = 0; i < 68; i++) {
        d[i] = (uint8_t)bus_in(bus, 0x511, 1);
    }
    cr_expect_eq(d[3], 1);
    cr_expect_eq(d[7], 5);
    cr_expect_eq(d[8] << 8 | d[9], key);
    cr_expect_str_eq((char *)&d[12], "etc/test");
    /* DMA: select + read 5 bytes to 0x2000, descriptor at 0x1000 */
    uint8_t desc[16] = { 0 };
    uint32_t ctl = (uint32_t)key << 16 | 0x08 | 0x02;
    for (int i = 0; i < 4; i++) {
        desc[i] = (uint8_t)(ctl >> (24 - 8 * i));
    }
    desc[7] = 5;
    desc[14] = 0x20;
    memcpy(bus->ram + 0x1000, desc, 16);
    bus_out(bus, 0x514, 0, 4);
    bus_out(bus, 0x518, bswap32(0x1000), 4);
    cr_expect_eq(memcmp(bus->ram + 0x2000, "hello", 5), 0);
    cr_expect_eq(bus->ram[0x1000] | bus->ram[0x1003], 0, "control cleared when done");
    fw_cfg_free(fw);
    bus_free(bus);
}

static uint32_t io_val;
static uint32_t bar_read(void *opaque, uint32_t off, int size) { return 0xAB00 + off; }
static void bar_write(void *opaque, uint32_t off, uint32_t val, int size) { io_val = val; }
static const struct io_ops bar_ops = { bar_read, bar_write, 1 };

Test(pci, config_mechanism_and_bar)
{
    struct bus *bus = bus_new(1 << 20);
    struct pci_bus pb;
    pci_bus_init(&pb, bus);
    struct pci_dev dev = { 0 };
    cr_assert_eq(pci_register(&pb, &dev, 3 << 3, 0x8086, 0x1234, 0x02000001), 0);
    pci_set_bar(&dev, 0, 32, true, &bar_ops, NULL);
    bus_out(bus, 0xCF8, 0x80000000u | (3 << 11), 4);
    cr_expect_eq(bus_in(bus, 0xCFC, 4), 0x12348086u);
    cr_expect_eq(bus_in(bus, 0xCFE, 2), 0x1234);
    /* absent function reads all ones */
    bus_out(bus, 0xCF8, 0x80000000u | (4 << 11), 4);
    cr_expect_eq(bus_in(bus, 0xCFC, 4), 0xFFFFFFFFu);
    /* BAR sizing, then placement at 0xC000 and I/O enable */
    bus_out(bus, 0xCF8, 0x80000000u | (3 << 11) | PCI_BAR0, 4);
    bus_out(bus, 0xCFC, 0xFFFFFFFFu, 4);
    cr_expect_eq(bus_in(bus, 0xCFC, 4), 0xFFFFFFE1u);
    bus_out(bus, 0xCFC, 0xC000, 4);
    cr_expect_eq(bus_in(bus, 0xC005, 1), 0xFF, "not decoded before I/O enable");
    bus_out(bus, 0xCF8, 0x80000000u | (3 << 11) | PCI_COMMAND, 4);
    bus_out(bus, 0xCFC, PCI_CMD_IO, 2);
    cr_expect_eq(bus_in(bus, 0xC005, 1), (0xAB05 & 0xFF));
    bus_out(bus, 0xC001, 0x5A, 1);
    cr_expect_eq(io_val, 0x5A);
    /* move it: the old range goes away */
    bus_out(bus, 0xCF8, 0x80000000u | (3 << 11) | PCI_BAR0, 4);
    bus_out(bus, 0xCFC, 0xD000, 4);
    cr_expect_eq(bus_in(bus, 0xC005, 1), 0xFF);
    cr_expect_eq(bus_in(bus, 0xD005, 1), 0x05);
    bus_free(bus);
}
