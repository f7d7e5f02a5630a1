/*
 * piix3.c - the 82371SB PIIX3 PCI-to-ISA bridge, function 0 (see piix3.h).
 *
 * What firmware and operating systems use of it: its identity (8086:7000,
 * class 0601, multi-function header), the PIRQ route control registers
 * PIRQRC[A:D] at 0x60-0x63 (bit 7 disables the route, bits 3:0 name the
 * ISA IRQ), the top-of-memory and miscellaneous control registers stored
 * as written, and the routing itself: PCI device d's INTx# pin p arrives
 * on PIRQ[(d + p) mod 4], the swizzle of the i440FX/PIIX3 boards, and is
 * wire-ORed onto the ISA IRQ the PIRQ register selects.  The reset
 * control register (byte port 0xCF9) acts when its RCPU bit (2) goes from
 * 0 to 1: with SRST (bit 1) set it is a hard reset (PCIRST#: the chipset
 * restarts too), without it a soft one (INIT# to the CPU only).
 */
#include "piix3.h"

#include <string.h>

#include "hw/i8259.h"
#include "util/log.h"

/* Recompute the level of every ISA IRQ that a PIRQ line reaches. */
static void update_irqs(struct piix3 *p)
{
    uint16_t level = 0, routed = 0;
    for (int i = 0; i < 4; i++) {
        uint8_t r = p->pci.cfg[PIIX3_PIRQRC + i];
        if (r & 0x80) {
            continue;
        }
        unsigned irq = r & 0x0F;
        routed |= (uint16_t)(1u << irq);
        if (p->pirq_level[i]) {
            level |= (uint16_t)(1u << irq);
        }
    }
    /* drive every IRQ that is or was routed, so a re-route drops the old */
    uint16_t touch = routed | p->driven;
    for (int irq = 0; irq < 16; irq++) {
        if (touch & (1u << irq)) {
            p->set_isa_irq(p->isa_opaque, irq, (level >> irq) & 1);
        }
    }
    p->driven = level;
}

static void route(void *opaque, int devfn, int pin, int level)
{
    struct piix3 *p = opaque;
    int pirq = ((devfn >> 3) + pin) & 3;
    uint32_t bit = 1u << ((devfn & 0xFF) % 32);
    uint32_t *src = &p->pirq_src[pirq][(devfn & 0xFF) / 32];
    /* a PIRQ line is the wired OR of every INTx# swizzled onto it */
    if (level) {
        *src |= bit;
    } else {
        *src &= ~bit;
    }
    bool any = false;
    for (int w = 0; w < 8; w++) {
        any = any || p->pirq_src[pirq][w];
    }
    p->pirq_level[pirq] = any;
    update_irqs(p);
}

static void cfg_written(struct pci_dev *dev, unsigned off, uint32_t old, int size)
{
    struct piix3 *p = dev->opaque;
    if (off < PIIX3_PIRQRC + 4 && off + (unsigned)size > PIIX3_PIRQRC) {
        log_ch(LOG_DEV, "piix3: PIRQ routes %02x %02x %02x %02x",
               dev->cfg[0x60], dev->cfg[0x61], dev->cfg[0x62], dev->cfg[0x63]);
        update_irqs(p);
    }
}

static uint32_t rc_read(void *opaque, uint32_t off, int size)
{
    struct piix3 *p = opaque;
    return p->rc;
}

static void rc_write(void *opaque, uint32_t off, uint32_t val, int size)
{
    struct piix3 *p = opaque;
    bool rise = (val & 0x04) && !(p->rc & 0x04);
    p->rc = (uint8_t)(val & 0x02);   /* RCPU reads back as 0 */
    if (rise && p->reset_request) {
        log_ch(LOG_DEV, "piix3: %s reset through port 0xCF9 (%#x)",
               (val & 0x02) ? "hard" : "soft", val);
        p->reset_request(p->reset_opaque, (val & 0x02) != 0);
    }
}

static const struct io_ops rc_ops = { .read = rc_read, .write = rc_write, .sizes = 1 };

void piix3_reset(struct piix3 *p)
{
    memset(&p->pci.cfg[PIIX3_PIRQRC], 0x80, 4);
    memset(p->pirq_src, 0, sizeof(p->pirq_src));
    memset(p->pirq_level, 0, sizeof(p->pirq_level));
    p->rc = 0;
    update_irqs(p);
}

int piix3_init(struct piix3 *p, struct pci_bus *pb, int devfn,
               void (*set_isa_irq)(void *opaque, int irq, int level), void *isa_opaque)
{
    memset(p, 0, sizeof(*p));
    p->set_isa_irq = set_isa_irq;
    p->isa_opaque = isa_opaque;
    p->pci.opaque = p;
    p->pci.cfg_written = cfg_written;
    if (pci_register(pb, &p->pci, devfn, 0x8086, 0x7000, 0x06010000) < 0) {
        return -1;
    }
    p->pci.cfg[PCI_HEADER_TYPE] = 0x80;   /* multi-function device */
    pci_set16(&p->pci.cfg[PCI_COMMAND], 0x0007);
    pci_set16(&p->pci.cfg[PCI_STATUS], 0x0200);   /* DEVSEL medium */
    memset(&p->pci.cfg[PIIX3_PIRQRC], 0x80, 4);   /* routes disabled */
    memset(&p->pci.wmask[PIIX3_PIRQRC], 0x8F, 4);
    p->pci.cfg[0x69] = 0x02;                      /* top of memory: 1 MiB */
    p->pci.wmask[0x69] = 0xFE;
    p->pci.cfg[0x6A] = 0x04;                      /* misc status */
    p->pci.wmask[0x6A] = 0xD7;
    p->pci.wmask[0x4C] = 0xFF;                    /* ISA recovery timer */
    p->pci.wmask[0x4E] = 0xFF;                    /* X-bus chip select */
    p->pci.wmask[0x4F] = 0xFF;
    p->pci.cfg[0x4C] = 0x4D;
    p->pci.cfg[0x4E] = 0x03;
    p->pci.wmask[0xB0] = 0xFF;                    /* misc control */
    p->pci.wmask[0xB1] = 0xFF;
    pb->route_irq = route;
    pb->route_opaque = p;
    pb->cf9_ops = &rc_ops;
    pb->cf9_opaque = p;
    return 0;
}
