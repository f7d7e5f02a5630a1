/*
 * pci.h - a PCI bus behind configuration mechanism #1 (ports 0xCF8/0xCFC).
 *
 * A function is a struct pci_dev: 256 bytes of configuration space with a
 * write mask, up to six BARs backed by io_ops, and optional hooks for
 * registers with side effects.  The bus maps and unmaps a BAR on the
 * system bus whenever its address or the command register's I/O / memory
 * enable bits change, as a host bridge does.  Interrupt pins are routed by
 * the board through `route_irq` (the PIIX3 PIRQ registers).
 */
#ifndef KASOU_PCI_H
#define KASOU_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "bus.h"

#define PCI_VENDOR_ID 0x00
#define PCI_DEVICE_ID 0x02
#define PCI_COMMAND 0x04
#define PCI_STATUS 0x06
#define PCI_REVISION 0x08
#define PCI_CLASS_PROG 0x09
#define PCI_CLASS_DEVICE 0x0A
#define PCI_HEADER_TYPE 0x0E
#define PCI_BAR0 0x10
#define PCI_SUBSYS_VENDOR 0x2C
#define PCI_SUBSYS_ID 0x2E
#define PCI_INTERRUPT_LINE 0x3C
#define PCI_INTERRUPT_PIN 0x3D

#define PCI_CMD_IO 0x1
#define PCI_CMD_MEM 0x2
#define PCI_CMD_MASTER 0x4

struct pci_dev;

struct pci_bar {
    uint32_t size;              /* power of two; 0 = unused */
    bool io;                    /* I/O space (else memory) */
    const struct io_ops *ops;   /* MMIO/port handlers (NULL: RAM-like host) */
    uint8_t *host;              /* memory BAR backed by host memory (VGA LFB) */
    void *opaque;
    uint32_t mapped_at;         /* current address, or 0 when unmapped */
};

struct pci_dev {
    uint8_t cfg[256];
    uint8_t wmask[256];         /* bits the guest may write */
    struct pci_bar bar[6];
    int devfn;                  /* device << 3 | function */
    void *opaque;
    /* optional: called after a config write lands, with the old dword */
    void (*cfg_written)(struct pci_dev *dev, unsigned off, uint32_t old, int size);
    /* optional: replaces the plain read of cfg[] */
    uint32_t (*cfg_read)(struct pci_dev *dev, unsigned off, int size);
    struct pci_bus *pbus;
};

#define PCI_MAX_DEVFN 256

struct pci_bus {
    struct bus *bus;
    uint32_t config_addr;       /* the 0xCF8 register */
    struct pci_dev *dev[PCI_MAX_DEVFN];
    /* board hook: PCI INTx# of a device changed level; pin 0..3 = INTA..D */
    void (*route_irq)(void *opaque, int devfn, int pin, int level);
    void *route_opaque;
    /* board hook: byte accesses to 0xCF9 (the PIIX3 reset control register
     * shares the dword port 0xCF8 with the configuration address) */
    const struct io_ops *cf9_ops;
    void *cf9_opaque;
};

void pci_bus_init(struct pci_bus *pb, struct bus *bus);
/* Prepare a header-type-0 function with IDs and class; registers it. */
int pci_register(struct pci_bus *pb, struct pci_dev *dev, int devfn, uint16_t vendor,
                 uint16_t device, uint32_t class_rev);
void pci_set_bar(struct pci_dev *dev, int n, uint32_t size, bool io,
                 const struct io_ops *ops, void *opaque);
/* INTx# output of a function (pin from PCI_INTERRUPT_PIN). */
void pci_set_irq(struct pci_dev *dev, int level);

static inline void pci_set16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void pci_set32(uint8_t *p, uint32_t v)
{
    pci_set16(p, (uint16_t)v);
    pci_set16(p + 2, (uint16_t)(v >> 16));
}
static inline uint32_t pci_get32(const uint8_t *p)
{
    return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Config-space access as the host bridge performs it (for tests, firmware). */
uint32_t pci_config_read(struct pci_bus *pb, int devfn, unsigned off, int size);
void pci_config_write(struct pci_bus *pb, int devfn, unsigned off, uint32_t val, int size);

#endif
