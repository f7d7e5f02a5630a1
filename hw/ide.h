/*
 * ide.h - the PIIX3 IDE function (PCI 00:01.1, 8086:7010): two ATA
 * channels in legacy mode (1F0h-1F7h/3F6h IRQ14, 170h-177h/376h IRQ15)
 * and the bus-master DMA block in BAR4.  Each channel has a master and a
 * slave: an ATA disk or an ATAPI CD-ROM, or nothing.
 */
#ifndef KASOU_IDE_H
#define KASOU_IDE_H

#include <stdbool.h>
#include <stddef.h>

#include "hw/bus.h"
#include "hw/irq.h"
#include "hw/pci.h"

struct ide;
struct blockdev;

enum ide_media { IDE_DISK, IDE_CDROM };

/* Create the function at `devfn` on `pb`; irq14/irq15 are the ISA lines. */
struct ide *ide_new(struct pci_bus *pb, int devfn, struct bus *bus, struct irq irq14,
                    struct irq irq15);
/*
 * Attach a drive: channel 0-1, unit 0 (master) or 1 (slave).  A CD-ROM may
 * have blk == NULL (empty tray).  -1 with a message in err[].
 */
int ide_attach(struct ide *ide, int channel, int unit, enum ide_media media,
               struct blockdev *blk, char *err, size_t errlen);
/* Hard reset of the controller and drives (board reset). */
void ide_reset(struct ide *ide);
void ide_free(struct ide *ide);

#endif
