/*
 * acpi.h - the PIIX4 power-management function (82371AB function 3,
 * PCI 8086:7113, class 0680, revision 03) as QEMU's `pc` machine has it:
 * the ACPI fixed hardware (PM1 event and control blocks, the 24-bit PM
 * timer, GPE0), the APM control/status ports 0xB2/0xB3 that switch ACPI
 * mode on and off, a System Management Bus host controller with no devices
 * behind it, and the fixed QEMU/SeaBIOS I/O ports the firmware's own ACPI
 * tables use (GPE0 at 0xAFE0, the PCI hotplug block at 0xAE00).
 *
 * The SCI is a level-triggered line (the board wires it to ISA IRQ 9, as
 * the PIIX4 and SeaBIOS's tables do).  Entering S5 (or S4) calls
 * `poweroff`; the guest has no way to ask this function for a reset, so
 * `reset` is kept for the board but never called today.
 */
#ifndef KASOU_ACPI_H
#define KASOU_ACPI_H

#include <stdbool.h>
#include <stdint.h>

#include "hw/irq.h"
#include "hw/pci.h"
#include "hw/timer.h"

struct bus;
struct clock;
struct acpi_pm;

/* PM I/O block offsets from PMBASE (PCI config 0x40). */
#define ACPI_PM1_STS 0x00
#define ACPI_PM1_EN 0x02
#define ACPI_PM1_CNT 0x04
#define ACPI_PM_TMR 0x08
#define ACPI_GPSTS 0x0C
#define ACPI_GPEN 0x0E

/* PM1_STS / PM1_EN bits. */
#define ACPI_TMR_STS 0x0001
#define ACPI_GBL_STS 0x0020
#define ACPI_PWRBTN_STS 0x0100
#define ACPI_RTC_STS 0x0400
#define ACPI_WAK_STS 0x8000

/* PM1_CNT bits. */
#define ACPI_SCI_EN 0x0001
#define ACPI_SLP_TYP_SHIFT 10
#define ACPI_SLP_TYP_MASK 0x1C00
#define ACPI_SLP_EN 0x2000

/* The PM timer: 3.579545 MHz, 24 bits (FADT TMR_VAL_EXT clear). */
#define ACPI_PM_TIMER_HZ 3579545u

/* APM control (SMI command) and status ports; the FADT's SMI_CMD values. */
#define ACPI_APMC_PORT 0xB2
#define ACPI_APMS_PORT 0xB3
#define ACPI_ENABLE_CMD 0xF1
#define ACPI_DISABLE_CMD 0xF0

/* QEMU's fixed ports that SeaBIOS's built-in FADT/DSDT/SSDT name. */
#define ACPI_GPE0_PORT 0xAFE0  /* GPE0_BLK, 4 bytes: STS (16), EN (16) */
#define ACPI_PCIHP_PORT 0xAE00 /* PCI hotplug: up, down, eject, removable */

/* SMBus host registers (offsets from SMBBA, PCI config 0x90). */
#define ACPI_SMB_HSTSTS 0x00
#define ACPI_SMB_HSTCNT 0x02
#define ACPI_SMB_HSTCMD 0x03
#define ACPI_SMB_HSTADD 0x04
#define ACPI_SMB_HSTDAT0 0x05
#define ACPI_SMB_HSTDAT1 0x06
#define ACPI_SMB_BLKDAT 0x07

#define ACPI_SMB_STS_BUSY 0x01
#define ACPI_SMB_STS_INTR 0x02
#define ACPI_SMB_STS_DEV_ERR 0x04
#define ACPI_SMB_STS_BUS_ERR 0x08
#define ACPI_SMB_STS_FAILED 0x10

struct acpi_pm {
    struct pci_dev pci;
    struct bus *bus;
    struct clock *clk;
    struct irq sci;
    bool sci_level;
    void (*poweroff)(void *opaque);
    void (*reset)(void *opaque);
    void *opaque;

    uint16_t pm_base;  /* where the PM block is mapped, 0 if not */
    uint16_t smb_base; /* where the SMBus block is mapped, 0 if not */
    bool devres_done;  /* DEVRES decode bits filled from the bus */

    uint16_t pm1_sts, pm1_en, pm1_cnt;
    uint16_t gpe_sts, gpe_en;
    uint8_t regs[64];       /* the rest of the PM block, stored as written */
    uint64_t tmr_epoch;     /* timer ticks >> 23 when TMR_STS last caught up */
    struct timer tmr_timer; /* armed only while TMR_EN and SCI_EN */

    uint8_t apmc, apms;

    uint8_t smb[16]; /* SMBus host registers */
};

struct acpi_pm *acpi_pm_new(struct pci_bus *pb, int devfn, struct bus *bus, struct clock *clk,
                            struct irq sci, void (*poweroff)(void *opaque),
                            void (*reset)(void *opaque), void *opaque);
/*
 * The power button (QMP system_powerdown): PWRBTN_STS is set and the SCI
 * raised if PWRBTN_EN and SCI_EN allow it.  A guest without an ACPI driver
 * (SCI_EN clear) sees nothing: there is no forced power-off, as in QEMU.
 */
void acpi_pm_powerbutton(struct acpi_pm *pm);
/* Board hard reset: registers and PCI configuration to power-on values. */
void acpi_pm_reset(struct acpi_pm *pm);
void acpi_pm_free(struct acpi_pm *pm);

/* A general-purpose event: GPE0 status bit `bit` (0-15) set, SCI if enabled. */
void acpi_pm_gpe_event(struct acpi_pm *pm, int bit);
/* The PM timer's current 24-bit count (what a read of PMBASE+8 returns). */
uint32_t acpi_pm_timer(const struct acpi_pm *pm);

#endif
