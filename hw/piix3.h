/*
 * piix3.h - the PIIX3 PCI-to-ISA bridge (function 0): identity and the
 * routing of PCI INTA#-INTD# onto ISA IRQs through PIRQRC[A:D], and the
 * reset control register at port 0xCF9.
 */
#ifndef KASOU_PIIX3_H
#define KASOU_PIIX3_H

#include <stdbool.h>
#include <stdint.h>

#include "hw/pci.h"

#define PIIX3_PIRQRC 0x60   /* PIRQ[A:D] route control, 4 bytes */

struct piix3 {
    struct pci_dev pci;
    void (*set_isa_irq)(void *opaque, int irq, int level);
    void *isa_opaque;
    uint32_t pirq_src[4][8];   /* per PIRQ line: devfns asserting it */
    bool pirq_level[4];
    uint16_t driven;           /* ISA IRQs currently driven high */
    uint8_t rc;                /* reset control register (port 0xCF9) */
    /* RC asks for a reset: hard (SRST: the whole board) or INIT# only */
    void (*reset_request)(void *opaque, bool hard);
    void *reset_opaque;
};

/* Register at `devfn` on `pb` and take over its INTx routing hook. */
int piix3_init(struct piix3 *p, struct pci_bus *pb, int devfn,
               void (*set_isa_irq)(void *opaque, int irq, int level), void *isa_opaque);

/* Back to the power-on state (routes disabled, lines released). */
void piix3_reset(struct piix3 *p);

#endif
