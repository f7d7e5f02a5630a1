/*
 * acpi.c - the PIIX4 power-management function, PCI 00:01.3 (see acpi.h).
 *
 * What firmware and operating systems use of it, and where they find it:
 *
 *   PCI config 0x40 PMBA      PM I/O base (64 bytes; bit 0 reads as 1),
 *              0x80 PMREGMISC bit 0 maps the PM block there;
 *              0x58 DEVACTB   bit 25 (APMC_EN) is set at reset, as QEMU
 *                             does without SMM: SeaBIOS then skips its SMM
 *                             set-up, which would spin on port 0xB3 waiting
 *                             for an SMI handler that does not exist here;
 *              0x5F/0x63/0x67 DEVRESA-C decode bits for LPT1, COM1, COM2,
 *                             filled from the ports present on the bus when
 *                             first read (the SeaBIOS DSDT's _STA of those
 *                             devices reads them);
 *              0x90 SMBBA, 0xD2 SMBHSTCFG bit 0: the SMBus host block.
 *   PMBASE+0   PM1_STS (write 1 to clear), +2 PM1_EN, +4 PM1_CNT,
 *         +8   PM_TMR, +0x0C GPSTS, +0x0E GPEN, +0x10.. PCNTRL, GLBSTS,
 *              DEVSTS, GLBEN, GLBCTL, DEVCTL, GPOREG stored as written.
 *   0xB2/0xB3  APMC/APMS.  The FADT names 0xB2 as SMI_CMD with ACPI_ENABLE
 *              0xF1 and ACPI_DISABLE 0xF0; with no SMM here the write sets
 *              or clears SCI_EN directly, as QEMU does.
 *   0xAFE0     GPE0_BLK of SeaBIOS's FADT (QEMU's fixed block): the same
 *              GPE0 status/enable pair as PMBASE+0x0C.
 *   0xAE00     the PCI hotplug block the SeaBIOS DSDT/SSDT reads: nothing
 *              is ever plugged, nothing is removable, so it reads zero.
 *
 * The PM timer counts at 3.579545 MHz from virtual time 0 and is computed
 * from the clock on each read.  TMR_STS is set whenever bit 23 of the count
 * toggles; it is brought up to date lazily (on reads and writes), and a
 * timer is armed for the next toggle only while TMR_EN and SCI_EN are both
 * set, so an idle guest costs nothing.  The SCI is a level:
 *   SCI_EN && ((PM1_STS & PM1_EN & (TMR|GBL|PWRBTN|RTC)) || (GPE_STS & GPE_EN)).
 * Writing SLP_EN enters the sleep type in SLP_TYP: type 0 (the \_S5 and,
 * by SeaBIOS's default, \_S4 package value) and type 2 (QEMU's S4 value)
 * power off; any other type (S3 = 1) is not supported: the machine wakes
 * at once with WAK_STS set, which an OS treats as a failed suspend.
 */
#include "acpi.h"

#include <stdlib.h>
#include <string.h>

#include "hw/bus.h"
#include "util/log.h"

#define CFG_PMBA 0x40
#define CFG_DEVACTB 0x58
#define CFG_DEVRESA 0x5C
#define CFG_PMREGMISC 0x80
#define CFG_SMBBA 0x90
#define CFG_SMBHSTCFG 0xD2

#define PM_LEN 64
#define SMB_LEN 16
#define GPE_LEN 4
#define PCIHP_LEN 16

#define PM1_STS_BITS 0x8D31 /* TMR, BM, GBL, PWRBTN, RTC, PWRBTNOR, WAK */
#define PM1_EN_BITS 0x0521  /* TMR_EN, GBL_EN, PWRBTN_EN, RTC_EN */
#define PM1_CNT_BITS 0x1C03 /* SCI_EN, BM_RLD, SLP_TYP */
#define SCI_SOURCES (ACPI_TMR_STS | ACPI_GBL_STS | ACPI_PWRBTN_STS | ACPI_RTC_STS)

#define GLBCTL_BIOS_RLS 0x02 /* GLBCTL bit 1: raise GBL_STS for the OS */
#define PM1_CNT_GBL_RLS 0x04 /* PM1_CNT bit 2: raise BIOS_STS for the BIOS */
#define GLBSTS_BIOS_STS 0x01

/* ---- the PM timer ---- */

static uint64_t ticks_at(uint64_t ns)
{
    /* split so that ns * HZ never overflows 64 bits */
    return ns / NS_PER_SEC * ACPI_PM_TIMER_HZ + ns % NS_PER_SEC * ACPI_PM_TIMER_HZ / NS_PER_SEC;
}

/* The first virtual time (ns) at which the count reaches `ticks`. */
static uint64_t ns_of_tick(uint64_t ticks)
{
    uint64_t q = ticks / ACPI_PM_TIMER_HZ, r = ticks % ACPI_PM_TIMER_HZ;
    return q * NS_PER_SEC + (r * NS_PER_SEC + ACPI_PM_TIMER_HZ - 1) / ACPI_PM_TIMER_HZ;
}

static uint64_t ticks_now(const struct acpi_pm *pm)
{
    return ticks_at(clock_ns(pm->clk));
}

uint32_t acpi_pm_timer(const struct acpi_pm *pm)
{
    return (uint32_t)(ticks_now(pm) & 0xFFFFFF);
}

/* Set TMR_STS if bit 23 has toggled since the last look; true if it did. */
static bool tmr_catch_up(struct acpi_pm *pm)
{
    uint64_t epoch = ticks_now(pm) >> 23;
    if (epoch == pm->tmr_epoch) {
        return false;
    }
    pm->tmr_epoch = epoch;
    pm->pm1_sts |= ACPI_TMR_STS;
    return true;
}

/* ---- the SCI ---- */

static void pm_update(struct acpi_pm *pm)
{
    tmr_catch_up(pm);
    bool sci_en = (pm->pm1_cnt & ACPI_SCI_EN) != 0;
    bool level = sci_en && ((pm->pm1_sts & pm->pm1_en & SCI_SOURCES) || (pm->gpe_sts & pm->gpe_en));
    if (level != pm->sci_level) {
        pm->sci_level = level;
        irq_set(&pm->sci, level);
    }
    /* a wake-up is only needed when the toggle would raise the SCI */
    if (sci_en && (pm->pm1_en & ACPI_TMR_STS) && !(pm->pm1_sts & ACPI_TMR_STS)) {
        timer_mod(&pm->tmr_timer, ns_of_tick((pm->tmr_epoch + 1) << 23));
    } else {
        timer_del(&pm->tmr_timer);
    }
}

static void tmr_fired(void *opaque)
{
    pm_update(opaque);
}

void acpi_pm_powerbutton(struct acpi_pm *pm)
{
    pm->pm1_sts |= ACPI_PWRBTN_STS;
    log_ch(LOG_DEV, "acpi: power button (PWRBTN_EN %d, SCI_EN %d)",
           (pm->pm1_en & ACPI_PWRBTN_STS) != 0, (pm->pm1_cnt & ACPI_SCI_EN) != 0);
    pm_update(pm);
}

void acpi_pm_gpe_event(struct acpi_pm *pm, int bit)
{
    pm->gpe_sts |= (uint16_t)(1u << (bit & 15));
    pm_update(pm);
}

/* SLP_EN was written with SLP_TYP = typ. */
static void pm_sleep(struct acpi_pm *pm, unsigned typ)
{
    if (typ == 0 || typ == 2) {
        log_ch(LOG_DEV, "acpi: sleep type %u: power off", typ);
        if (pm->poweroff) {
            pm->poweroff(pm->opaque);
        }
        return;
    }
    log_warn("acpi: sleep type %u (S3 or other) is not supported; waking at once", typ);
    pm->pm1_sts |= ACPI_WAK_STS;
}

/* ---- the PM I/O block ---- */

/* Byte `off` of the block; `tmr` is the timer count latched for the access. */
static uint8_t pm_read_byte(struct acpi_pm *pm, unsigned off, uint32_t tmr)
{
    unsigned sh = (off & 1) * 8;
    switch (off) {
    case ACPI_PM1_STS:
    case ACPI_PM1_STS + 1:
        return (uint8_t)(pm->pm1_sts >> sh);
    case ACPI_PM1_EN:
    case ACPI_PM1_EN + 1:
        return (uint8_t)(pm->pm1_en >> sh);
    case ACPI_PM1_CNT:
    case ACPI_PM1_CNT + 1:
        return (uint8_t)(pm->pm1_cnt >> sh);
    case ACPI_PM_TMR:
    case ACPI_PM_TMR + 1:
    case ACPI_PM_TMR + 2:
    case ACPI_PM_TMR + 3:
        return (uint8_t)(tmr >> (8 * (off - ACPI_PM_TMR)));
    case ACPI_GPSTS:
    case ACPI_GPSTS + 1:
        return (uint8_t)(pm->gpe_sts >> sh);
    case ACPI_GPEN:
    case ACPI_GPEN + 1:
        return (uint8_t)(pm->gpe_en >> sh);
    /* PLVL2/PLVL3 (reads enter C2/C3: none here) and GPIREG (no pins) */
    case 0x14:
    case 0x15:
    case 0x30:
    case 0x31:
    case 0x32:
        return 0;
    default:
        return pm->regs[off];
    }
}

static void pm_write_byte(struct acpi_pm *pm, unsigned off, uint8_t v)
{
    unsigned sh = (off & 1) * 8;
    uint16_t w = (uint16_t)(v << sh), lane = (uint16_t)(0xFF << sh);
    switch (off) {
    case ACPI_PM1_STS:
    case ACPI_PM1_STS + 1:
        pm->pm1_sts &= (uint16_t) ~(w & PM1_STS_BITS);
        break;
    case ACPI_PM1_EN:
    case ACPI_PM1_EN + 1:
        pm->pm1_en = (uint16_t)((pm->pm1_en & ~lane) | (w & PM1_EN_BITS));
        break;
    case ACPI_PM1_CNT:
    case ACPI_PM1_CNT + 1:
        pm->pm1_cnt = (uint16_t)((pm->pm1_cnt & ~(lane & PM1_CNT_BITS)) | (w & PM1_CNT_BITS));
        if (w & PM1_CNT_GBL_RLS) {
            pm->regs[0x18] |= GLBSTS_BIOS_STS; /* the SMI it would raise: none */
        }
        if (w & ACPI_SLP_EN) {
            pm_sleep(pm, (pm->pm1_cnt & ACPI_SLP_TYP_MASK) >> ACPI_SLP_TYP_SHIFT);
        }
        break;
    case ACPI_GPSTS:
    case ACPI_GPSTS + 1:
        pm->gpe_sts &= (uint16_t)~w;
        break;
    case ACPI_GPEN:
    case ACPI_GPEN + 1:
        pm->gpe_en = (uint16_t)((pm->gpe_en & ~lane) | w);
        break;
    /* GLBSTS and DEVSTS: write 1 to clear */
    case 0x18:
    case 0x19:
    case 0x1C:
    case 0x1D:
    case 0x1E:
    case 0x1F:
        pm->regs[off] &= (uint8_t)~v;
        break;
    /* GLBCTL: BIOS_RLS pulses GBL_STS */
    case 0x28:
        if (v & GLBCTL_BIOS_RLS) {
            pm->pm1_sts |= ACPI_GBL_STS;
        }
        pm->regs[off] = (uint8_t)(v & ~GLBCTL_BIOS_RLS);
        break;
    default:
        if (off >= 0x10 && off != 0x14 && off != 0x15 && (off < 0x30 || off > 0x32)) {
            pm->regs[off] = v;
        }
        break;
    }
}

static uint32_t pm_io_read(void *opaque, uint32_t off, int size)
{
    struct acpi_pm *pm = opaque;
    if (tmr_catch_up(pm)) {
        pm_update(pm); /* seen before the timer callback ran */
    }
    uint32_t tmr = acpi_pm_timer(pm), v = 0;
    for (int i = 0; i < size && off + (unsigned)i < PM_LEN; i++) {
        v |= (uint32_t)pm_read_byte(pm, off + (unsigned)i, tmr) << (8 * i);
    }
    return v;
}

static void pm_io_write(void *opaque, uint32_t off, uint32_t val, int size)
{
    struct acpi_pm *pm = opaque;
    /* a toggle that happened before this write is cleared by it too */
    tmr_catch_up(pm);
    for (int i = 0; i < size && off + (unsigned)i < PM_LEN; i++) {
        pm_write_byte(pm, off + (unsigned)i, (uint8_t)(val >> (8 * i)));
    }
    pm_update(pm);
}

static const struct io_ops pm_ops = { .read = pm_io_read, .write = pm_io_write, .sizes = 7 };

/* 0xAFE0: the GPE0 block SeaBIOS's FADT names, the same registers. */
static uint32_t gpe_io_read(void *opaque, uint32_t off, int size)
{
    return pm_io_read(opaque, ACPI_GPSTS + off, size);
}

static void gpe_io_write(void *opaque, uint32_t off, uint32_t val, int size)
{
    pm_io_write(opaque, ACPI_GPSTS + off, val, size);
}

static const struct io_ops gpe_ops = { .read = gpe_io_read, .write = gpe_io_write, .sizes = 7 };

/* ---- APM control and status: 0xB2 (SMI command) and 0xB3 ---- */

static uint32_t apm_read(void *opaque, uint32_t off, int size)
{
    struct acpi_pm *pm = opaque;
    return off == 0 ? pm->apmc : pm->apms;
}

static void apm_write(void *opaque, uint32_t off, uint32_t val, int size)
{
    struct acpi_pm *pm = opaque;
    if (off != 0) {
        pm->apms = (uint8_t)val;
        return;
    }
    pm->apmc = (uint8_t)val;
    if (pm->apmc == ACPI_ENABLE_CMD) {
        log_ch(LOG_DEV, "acpi: ACPI mode on (SMI_CMD %#x)", pm->apmc);
        pm->pm1_cnt |= ACPI_SCI_EN;
    } else if (pm->apmc == ACPI_DISABLE_CMD) {
        log_ch(LOG_DEV, "acpi: ACPI mode off (SMI_CMD %#x)", pm->apmc);
        pm->pm1_cnt &= (uint16_t)~ACPI_SCI_EN;
    } else {
        log_ch(LOG_UNIMP, "acpi: APM command %#x (no SMM handler)", pm->apmc);
    }
    pm_update(pm);
}

static const struct io_ops apm_ops = { .read = apm_read, .write = apm_write, .sizes = 1 };

/* ---- 0xAE00: PCI hotplug (PCIU, PCID, B0EJ, PCRM): never anything ---- */

static uint32_t pcihp_read(void *opaque, uint32_t off, int size)
{
    return 0;
}

static void pcihp_write(void *opaque, uint32_t off, uint32_t val, int size)
{
    if (val) {
        log_ch(LOG_UNIMP, "acpi: PCI hotplug register %#x = %#x ignored", off, val);
    }
}

static const struct io_ops pcihp_ops = { .read = pcihp_read, .write = pcihp_write, .sizes = 7 };

/* ---- the SMBus host controller: a bus with no devices on it ---- */

/* START: every address is absent, so the transaction ends with DEV_ERR. */
static void smb_start(struct acpi_pm *pm)
{
    uint8_t cnt = pm->smb[ACPI_SMB_HSTCNT];
    log_ch(LOG_DEV, "acpi: SMBus protocol %u to address %#x: no device", (cnt >> 2) & 7,
           pm->smb[ACPI_SMB_HSTADD] >> 1);
    if (cnt & 0x01) {
        log_once("acpi: SMBus completion interrupts are not raised");
    }
    pm->smb[ACPI_SMB_HSTSTS] |= ACPI_SMB_STS_DEV_ERR;
}

static uint32_t smb_read(void *opaque, uint32_t off, int size)
{
    struct acpi_pm *pm = opaque;
    if (off == ACPI_SMB_HSTCNT) {
        return pm->smb[off] & 0x1F; /* START and the reserved bits read 0 */
    }
    return off < SMB_LEN ? pm->smb[off] : 0xFF;
}

static void smb_write(void *opaque, uint32_t off, uint32_t val, int size)
{
    struct acpi_pm *pm = opaque;
    uint8_t v = (uint8_t)val;
    switch (off) {
    case ACPI_SMB_HSTSTS:
        pm->smb[off] &= (uint8_t) ~(v & 0x1E); /* BUSY is read-only */
        break;
    case 0x01: /* SMBSLVSTS */
        pm->smb[off] &= (uint8_t)~v;
        break;
    case ACPI_SMB_HSTCNT:
        pm->smb[off] = (uint8_t)(v & 0x1D);
        if (v & 0x02) { /* KILL */
            pm->smb[ACPI_SMB_HSTSTS] |= ACPI_SMB_STS_FAILED;
        } else if (v & 0x40) {
            smb_start(pm);
        }
        break;
    default:
        if (off < SMB_LEN) {
            pm->smb[off] = v;
        }
        break;
    }
}

static const struct io_ops smb_ops = { .read = smb_read, .write = smb_write, .sizes = 1 };

/* ---- PCI configuration ---- */

/* Map or unmap a block so that it sits at `want` (0: nowhere). */
static void move_ports(struct acpi_pm *pm, uint16_t *at, uint16_t want, uint16_t len,
                       const struct io_ops *ops, const char *what)
{
    if (*at == want) {
        return;
    }
    if (*at) {
        bus_unmap_ports(pm->bus, *at);
        *at = 0;
    }
    if (!want) {
        return;
    }
    if (bus_map_ports(pm->bus, want, len, ops, pm) < 0) {
        log_warn("acpi: cannot map the %s block at %#x", what, want);
        return;
    }
    log_ch(LOG_DEV, "acpi: %s block at %#x", what, want);
    *at = want;
}

static void update_mappings(struct acpi_pm *pm)
{
    const uint8_t *c = pm->pci.cfg;
    uint16_t pmba = (uint16_t)((c[CFG_PMBA] | c[CFG_PMBA + 1] << 8) & 0xFFC0);
    uint16_t smba = (uint16_t)((c[CFG_SMBBA] | c[CFG_SMBBA + 1] << 8) & 0xFFF0);
    move_ports(pm, &pm->pm_base, (c[CFG_PMREGMISC] & 1) ? pmba : 0, PM_LEN, &pm_ops, "PM");
    move_ports(pm, &pm->smb_base, (c[CFG_SMBHSTCFG] & 1) ? smba : 0, SMB_LEN, &smb_ops, "SMBus");
}

static void cfg_written(struct pci_dev *dev, unsigned off, uint32_t old, int size)
{
    update_mappings(dev->opaque);
}

static bool port_present(const struct acpi_pm *pm, uint16_t port)
{
    return pm->bus->port_index[port] != 0;
}

/*
 * The DEVRES decode-enable bits the DSDT reads for LPT1, COM1 and COM2.
 * They are filled on the first read, when the board has added its ports.
 */
static uint32_t cfg_read(struct pci_dev *dev, unsigned off, int size)
{
    struct acpi_pm *pm = dev->opaque;
    if (!pm->devres_done && off < CFG_DEVRESA + 12 && off + (unsigned)size > CFG_DEVRESA) {
        pm->devres_done = true;
        dev->cfg[0x5F] = (uint8_t)(0x10 | (port_present(pm, 0x378) ? 0x80 : 0));
        dev->cfg[0x63] = 0x60;
        dev->cfg[0x67] =
            (uint8_t)((port_present(pm, 0x3F8) ? 0x08 : 0) | (port_present(pm, 0x2F8) ? 0x90 : 0));
    }
    uint32_t v = 0;
    for (int i = 0; i < size; i++) {
        v |= (uint32_t)dev->cfg[off + (unsigned)i] << (8 * i);
    }
    return v;
}

static void cfg_init(struct acpi_pm *pm)
{
    uint8_t *c = pm->pci.cfg, *m = pm->pci.wmask;
    pci_set16(&c[PCI_STATUS], 0x0280); /* DEVSEL medium, fast back-to-back */
    c[PCI_INTERRUPT_PIN] = 1;          /* INTA# (the SCI goes to IRQ 9) */
    m[CFG_PMBA] = 0xC0;                /* 64-byte aligned I/O base */
    m[CFG_PMBA + 1] = 0xFF;
    memset(&m[0x44], 0xFF, CFG_PMREGMISC - 0x44); /* CNTA..DEVRESJ */
    m[CFG_PMREGMISC] = 0x01;
    m[CFG_SMBBA] = 0xF0; /* 16-byte aligned I/O base */
    m[CFG_SMBBA + 1] = 0xFF;
    m[CFG_SMBHSTCFG] = 0x0F;                /* enable, interrupt select */
    memset(&m[CFG_SMBHSTCFG + 1], 0xFF, 3); /* SMBSLVC, shadows */
}

void acpi_pm_reset(struct acpi_pm *pm)
{
    uint8_t *c = pm->pci.cfg;
    memset(&c[CFG_PMBA], 0, 0x100 - CFG_PMBA);
    pci_set32(&c[CFG_PMBA], 0x00000001);
    c[CFG_DEVACTB + 3] = 0x02; /* APMC_EN: SMM "already set up" */
    pci_set32(&c[CFG_SMBBA], 0x00000001);
    c[0xD6] = 0x00; /* SMBREV */
    pm->devres_done = false;
    update_mappings(pm);
    pm->pm1_sts = pm->pm1_en = pm->pm1_cnt = 0;
    pm->gpe_sts = pm->gpe_en = 0;
    memset(pm->regs, 0, sizeof(pm->regs));
    memset(pm->smb, 0, sizeof(pm->smb));
    pm->apmc = pm->apms = 0;
    pm->tmr_epoch = ticks_now(pm) >> 23;
    pm_update(pm);
}

static int map_fixed(struct acpi_pm *pm)
{
    return bus_map_ports(pm->bus, ACPI_APMC_PORT, 2, &apm_ops, pm) < 0 ||
                   bus_map_ports(pm->bus, ACPI_GPE0_PORT, GPE_LEN, &gpe_ops, pm) < 0 ||
                   bus_map_ports(pm->bus, ACPI_PCIHP_PORT, PCIHP_LEN, &pcihp_ops, pm) < 0
               ? -1
               : 0;
}

static void unmap_fixed(struct acpi_pm *pm)
{
    static const uint16_t ports[] = { ACPI_APMC_PORT, ACPI_GPE0_PORT, ACPI_PCIHP_PORT };
    for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
        const struct bus_ports *p = NULL;
        uint16_t slot = pm->bus->port_index[ports[i]];
        if (slot) {
            p = &pm->bus->ports[slot - 1];
        }
        if (p && p->opaque == pm && p->start == ports[i]) {
            bus_unmap_ports(pm->bus, ports[i]);
        }
    }
}

struct acpi_pm *acpi_pm_new(struct pci_bus *pb, int devfn, struct bus *bus, struct clock *clk,
                            struct irq sci, void (*poweroff)(void *opaque),
                            void (*reset)(void *opaque), void *opaque)
{
    struct acpi_pm *pm = calloc(1, sizeof(*pm));
    if (!pm) {
        return NULL;
    }
    pm->bus = bus;
    pm->clk = clk;
    pm->sci = sci;
    pm->poweroff = poweroff;
    pm->reset = reset;
    pm->opaque = opaque;
    timer_init(&pm->tmr_timer, clk, tmr_fired, pm);
    pm->pci.opaque = pm;
    pm->pci.cfg_written = cfg_written;
    pm->pci.cfg_read = cfg_read;
    if (map_fixed(pm) < 0) {
        log_warn("acpi: ports 0xB2, 0xAE00 or 0xAFE0 already taken");
        unmap_fixed(pm);
        free(pm);
        return NULL;
    }
    if (pci_register(pb, &pm->pci, devfn, 0x8086, 0x7113, 0x06800003) < 0) {
        unmap_fixed(pm);
        free(pm);
        return NULL;
    }
    cfg_init(pm);
    acpi_pm_reset(pm);
    return pm;
}

void acpi_pm_free(struct acpi_pm *pm)
{
    if (!pm) {
        return;
    }
    timer_del(&pm->tmr_timer);
    move_ports(pm, &pm->pm_base, 0, PM_LEN, &pm_ops, "PM");
    move_ports(pm, &pm->smb_base, 0, SMB_LEN, &smb_ops, "SMBus");
    unmap_fixed(pm);
    if (pm->pci.pbus && pm->pci.pbus->dev[pm->pci.devfn] == &pm->pci) {
        pm->pci.pbus->dev[pm->pci.devfn] = NULL;
    }
    free(pm);
}
