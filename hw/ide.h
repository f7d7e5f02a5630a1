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
/*
 * Put a new medium (or none: blk == NULL) into a CD-ROM drive, as a user
 * at the tray would: the drive reports UNIT ATTENTION (28h, medium may
 * have changed) and a GET EVENT STATUS NOTIFICATION media event.  The
 * caller keeps ownership of both the old and the new blockdev.  -1 when
 * the drive is not a CD-ROM.
 */
int ide_change_media(struct ide *ide, int channel, int unit, struct blockdev *blk);
/*
 * Open the tray of a CD-ROM drive (a monitor's "eject"): the medium is
 * gone for the guest.  -1 if the drive is not a CD-ROM, or if the guest
 * locked the tray (PREVENT MEDIUM REMOVAL) and `force` is false.
 */
int ide_eject(struct ide *ide, int channel, int unit, bool force);
/* The medium in a drive (NULL: none, or no drive). */
struct blockdev *ide_media(const struct ide *ide, int channel, int unit);
/*
 * Default CHS translation of a disk (for the CMOS fixed-disk bytes); -1
 * when there is no disk at channel/unit.
 */
int ide_geometry(const struct ide *ide, int channel, int unit, int *cyls, int *heads,
                 int *secs);
/* Hard reset of the controller and drives (board reset). */
void ide_reset(struct ide *ide);
void ide_free(struct ide *ide);

#endif
