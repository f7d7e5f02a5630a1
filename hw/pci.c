/*
 * pci.c - PCI configuration mechanism #1 and BAR mapping (see pci.h).
 *
 * 0xCF8 holds the address (enable bit 31, bus 23-16, devfn 15-8, register
 * 7-2); 0xCFC-0xCFF is the data window, accessed at any size and byte
 * offset.  Only bus 0 exists; reads of absent functions return all ones.
 * A BAR's low bits are read-only (size decoding: the guest writes ones and
 * reads back the size mask).
 */
#include "pci.h"

#include <string.h>

#include "util/log.h"

static void bar_unmap(struct pci_bus *pb, struct pci_bar *b)
{
    if (!b->mapped_at) {
        return;
    }
    if (b->io) {
        bus_unmap_ports(pb->bus, (uint16_t)b->mapped_at);
    } else {
        bus_unmap(pb->bus, b->mapped_at);
    }
    b->mapped_at = 0;
}

/* Map every BAR of dev where its address and the command register say. */
static void update_bars(struct pci_dev *dev)
{
    struct pci_bus *pb = dev->pbus;
    uint16_t cmd = (uint16_t)(dev->cfg[PCI_COMMAND] | dev->cfg[PCI_COMMAND + 1] << 8);
    for (int i = 0; i < 6; i++) {
        struct pci_bar *b = &dev->bar[i];
        if (!b->size) {
            continue;
        }
        uint32_t raw = pci_get32(&dev->cfg[PCI_BAR0 + 4 * i]);
        uint32_t addr = raw & (b->io ? ~3u : ~15u);
        bool enabled = b->io ? (cmd & PCI_CMD_IO) : (cmd & PCI_CMD_MEM);
        bool valid = addr != 0 && addr != (~(b->size - 1) & (b->io ? 0xFFFFu : ~0u)) &&
                     (!b->io || addr + b->size <= 0x10000);
        uint32_t want = enabled && valid ? addr : 0;
        if (want == b->mapped_at) {
            continue;
        }
        bar_unmap(pb, b);
        if (!want) {
            continue;
        }
        int rc;
        if (b->io) {
            rc = bus_map_ports(pb->bus, (uint16_t)want, (uint16_t)b->size, b->ops, b->opaque);
        } else if (b->host) {
            rc = bus_map_ram(pb->bus, want, b->size, b->host);
        } else {
            rc = bus_map_mmio(pb->bus, want, b->size, b->ops, b->opaque);
        }
        if (rc == 0) {
            b->mapped_at = want;
        } else {
            log_warn("PCI %02x.%d BAR%d: cannot map at %#x", dev->devfn >> 3,
                     dev->devfn & 7, i, want);
        }
    }
}

uint32_t pci_config_read(struct pci_bus *pb, int devfn, unsigned off, int size)
{
    struct pci_dev *dev = pb->dev[devfn & 0xFF];
    if (!dev || off + (unsigned)size > 256) {
        return size == 4 ? 0xFFFFFFFFu : (1u << (8 * size)) - 1;
    }
    if (dev->cfg_read) {
        return dev->cfg_read(dev, off, size);
    }
    uint32_t v = 0;
    for (int i = 0; i < size; i++) {
        v |= (uint32_t)dev->cfg[off + (unsigned)i] << (8 * i);
    }
    return v;
}

void pci_config_write(struct pci_bus *pb, int devfn, unsigned off, uint32_t val, int size)
{
    struct pci_dev *dev = pb->dev[devfn & 0xFF];
    if (!dev || off + (unsigned)size > 256) {
        return;
    }
    uint32_t old = pci_get32(&dev->cfg[off & ~3u]);
    for (int i = 0; i < size; i++) {
        unsigned o = off + (unsigned)i;
        uint8_t b = (uint8_t)(val >> (8 * i));
        dev->cfg[o] = (uint8_t)((dev->cfg[o] & ~dev->wmask[o]) | (b & dev->wmask[o]));
    }
    if (off < PCI_BAR0 + 24 && off + (unsigned)size > PCI_COMMAND) {
        update_bars(dev);
    }
    if (dev->cfg_written) {
        dev->cfg_written(dev, off, old, size);
    }
}

static uint32_t cf8_read(void *opaque, uint32_t off, int size)
{
    struct pci_bus *pb = opaque;
    if (off == 0 && size == 4) {
        return pb->config_addr;
    }
    if (off == 1 && size == 1 && pb->cf9_ops) {
        return pb->cf9_ops->read(pb->cf9_opaque, 0, 1);
    }
    return 0xFFFFFFFFu;
}

static void cf8_write(void *opaque, uint32_t off, uint32_t val, int size)
{
    struct pci_bus *pb = opaque;
    if (off == 0 && size == 4) {
        pb->config_addr = val & 0x80FFFFFCu;
    } else if (off == 1 && size == 1 && pb->cf9_ops) {
        pb->cf9_ops->write(pb->cf9_opaque, 0, val, 1);
    }
}

/* The data window: bus 0 only; other buses read as absent. */
static bool cfc_target(struct pci_bus *pb, uint32_t off, int *devfn, unsigned *reg)
{
    uint32_t a = pb->config_addr;
    if (!(a & 0x80000000u) || ((a >> 16) & 0xFF) != 0) {
        return false;
    }
    *devfn = (a >> 8) & 0xFF;
    *reg = (a & 0xFC) + off;
    return true;
}

static uint32_t cfc_read(void *opaque, uint32_t off, int size)
{
    struct pci_bus *pb = opaque;
    int devfn;
    unsigned reg;
    if (!cfc_target(pb, off, &devfn, &reg)) {
        return size == 4 ? 0xFFFFFFFFu : (1u << (8 * size)) - 1;
    }
    return pci_config_read(pb, devfn, reg, size);
}

static void cfc_write(void *opaque, uint32_t off, uint32_t val, int size)
{
    struct pci_bus *pb = opaque;
    int devfn;
    unsigned reg;
    if (cfc_target(pb, off, &devfn, &reg)) {
        pci_config_write(pb, devfn, reg, val, size);
    }
}

static const struct io_ops cf8_ops = { cf8_read, cf8_write, 0x7 };
static const struct io_ops cfc_ops = { cfc_read, cfc_write, 0x7 };

void pci_bus_init(struct pci_bus *pb, struct bus *bus)
{
    memset(pb, 0, sizeof(*pb));
    pb->bus = bus;
    bus_map_ports(bus, 0xCF8, 4, &cf8_ops, pb);
    bus_map_ports(bus, 0xCFC, 4, &cfc_ops, pb);
}

int pci_register(struct pci_bus *pb, struct pci_dev *dev, int devfn, uint16_t vendor,
                 uint16_t device, uint32_t class_rev)
{
    if (devfn < 0 || devfn >= PCI_MAX_DEVFN || pb->dev[devfn]) {
        return -1;
    }
    dev->devfn = devfn;
    dev->pbus = pb;
    pci_set16(&dev->cfg[PCI_VENDOR_ID], vendor);
    pci_set16(&dev->cfg[PCI_DEVICE_ID], device);
    pci_set32(&dev->cfg[PCI_REVISION], class_rev);
    /* command: I/O, memory, bus master, SERR, INTx disable are writable */
    dev->wmask[PCI_COMMAND] = 0x07;
    dev->wmask[PCI_COMMAND + 1] = 0x05;
    dev->wmask[PCI_INTERRUPT_LINE] = 0xFF;
    dev->wmask[0x0C] = 0xFF;   /* cache line size */
    dev->wmask[0x0D] = 0xFF;   /* latency timer */
    pb->dev[devfn] = dev;
    return 0;
}

void pci_set_bar(struct pci_dev *dev, int n, uint32_t size, bool io,
                 const struct io_ops *ops, void *opaque)
{
    struct pci_bar *b = &dev->bar[n];
    b->size = size;
    b->io = io;
    b->ops = ops;
    b->opaque = opaque;
    uint32_t mask = ~(size - 1);
    pci_set32(&dev->cfg[PCI_BAR0 + 4 * n], io ? 1u : 0u);
    pci_set32(&dev->wmask[PCI_BAR0 + 4 * n], io ? (mask & ~3u) : (mask & ~15u));
}

void pci_set_irq(struct pci_dev *dev, int level)
{
    int pin = dev->cfg[PCI_INTERRUPT_PIN];
    if (pin >= 1 && pin <= 4 && dev->pbus && dev->pbus->route_irq) {
        dev->pbus->route_irq(dev->pbus->route_opaque, dev->devfn, pin - 1, level);
    }
}
