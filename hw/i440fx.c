/*
 * i440fx.c - 82441FX host bridge: identity and PAM shadowing (see i440fx.h).
 *
 * PAM0 (config 0x59) high nibble covers 0xF0000-0xFFFFF; PAM1-PAM6
 * (0x5A-0x5F) cover 0xC0000-0xEFFFF in 16 KiB pieces, low nibble first.
 * In each nibble bit 0 is RE (reads from DRAM) and bit 1 is WE (writes to
 * DRAM).  The four combinations become bus mappings over RAM:
 *   RE=0 WE=0  ROM side for reads, writes dropped   -> read-only window on the ROM copy
 *   RE=0 WE=1  ROM side for reads, writes to DRAM   -> MMIO window (rare: during copying)
 *   RE=1 WE=0  DRAM reads, writes dropped           -> read-only window on RAM
 *   RE=1 WE=1  plain DRAM                           -> no mapping
 * Below 0xE0000 the "ROM side" is PCI/ISA space, which reads as all ones
 * unless an option ROM is there; kasou models it as empty.
 */
#include "i440fx.h"

#include <string.h>

#include "util/log.h"

static uint32_t seg_start(int i)
{
    return i == 0 ? 0xF0000u : 0xC0000u + 0x4000u * (uint32_t)(i - 1);
}

static uint32_t seg_len(int i)
{
    return i == 0 ? 0x10000u : 0x4000u;
}

/* PAM nibble of segment i from config space. */
static uint8_t seg_pam(const struct i440fx *nb, int i)
{
    if (i == 0) {
        return (nb->pci.cfg[0x59] >> 4) & 3;
    }
    uint8_t reg = nb->pci.cfg[0x5A + (i - 1) / 2];
    return ((i - 1) & 1 ? reg >> 4 : reg) & 3;
}

/* ROM-side bytes for offset `off` of the BIOS area, or NULL (empty). */
static const uint8_t *rom_side(const struct i440fx *nb, uint32_t addr)
{
    if (addr >= 0xE0000u && nb->bios_low) {
        return nb->bios_low + (addr - 0xE0000u);
    }
    return NULL;
}

static uint32_t win_read(void *opaque, uint32_t off, int size)
{
    const struct pam_window *w = opaque;
    uint32_t v = 0;
    for (int i = 0; i < size; i++) {
        v |= (uint32_t)(w->rom ? w->rom[off + (uint32_t)i] : 0xFF) << (8 * i);
    }
    return v;
}

static void win_write(void *opaque, uint32_t off, uint32_t val, int size)
{
    const struct pam_window *w = opaque;
    for (int i = 0; w->ram && i < size; i++) {
        w->ram[off + (uint32_t)i] = (uint8_t)(val >> (8 * i));
    }
}

static const struct io_ops win_ops = { win_read, win_write, 0x7 };

static void apply_segment(struct i440fx *nb, int i)
{
    uint8_t pam = seg_pam(nb, i);
    if (nb->pam_state[i] == pam) {
        return;
    }
    uint32_t start = seg_start(i), len = seg_len(i);
    if (nb->pam_state[i] != 0xFF && nb->pam_state[i] != 3) {
        bus_unmap(nb->bus, start);
    }
    nb->pam_state[i] = pam;
    uint8_t *ram = nb->shadow + (start - 0xC0000u);
    const uint8_t *rom = rom_side(nb, start);
    struct pam_window *w = &nb->win[i];
    switch (pam) {
    case 0:
        if (rom) {
            bus_map_rom(nb->bus, start, len, (uint8_t *)rom);
        } else {
            *w = (struct pam_window){ NULL, NULL };
            bus_map_mmio(nb->bus, start, len, &win_ops, w);
        }
        break;
    case 1:
        bus_map_rom(nb->bus, start, len, ram);
        break;
    case 2:
        *w = (struct pam_window){ rom, ram };
        bus_map_mmio(nb->bus, start, len, &win_ops, w);
        break;
    default:
        break;   /* plain DRAM */
    }
    log_ch(LOG_DEV, "PAM %05x-%05x: %s%s", start, start + len - 1, pam & 1 ? "RE" : "--",
           pam & 2 ? "WE" : "--");
}

static void cfg_written(struct pci_dev *dev, unsigned off, uint32_t old, int size)
{
    struct i440fx *nb = dev->opaque;
    if (off + (unsigned)size > 0x59 && off < 0x60) {
        for (int i = 0; i < I440FX_PAM_SEGMENTS; i++) {
            apply_segment(nb, i);
        }
    }
}

void i440fx_reset(struct i440fx *nb)
{
    memset(&nb->pci.cfg[0x59], 0, 7);
    nb->pci.cfg[0x72] = 0x02;
    for (int i = 0; i < I440FX_PAM_SEGMENTS; i++) {
        apply_segment(nb, i);
    }
}

int i440fx_init(struct i440fx *nb, struct pci_bus *pb, struct bus *bus, uint32_t ram_size,
                const uint8_t *bios_low)
{
    memset(nb, 0, sizeof(*nb));
    nb->bus = bus;
    nb->bios_low = bios_low;
    nb->ram_size = ram_size;
    if (ram_size < 0x100000u) {
        return -1;
    }
    nb->shadow = bus->ram + 0xC0000u;
    nb->pci.opaque = nb;
    nb->pci.cfg_written = cfg_written;
    if (pci_register(pb, &nb->pci, 0, 0x8086, 0x1237, 0x06000002) < 0) {
        return -1;
    }
    nb->pci.cfg[PCI_HEADER_TYPE] = 0x00;
    /* PAM0-6, SMRAM and the DRAM row boundaries are writable */
    memset(&nb->pci.wmask[0x59], 0xFF, 7);
    nb->pci.wmask[0x72] = 0x7F;   /* SMRAM control (no SMM: stored only) */
    nb->pci.cfg[0x72] = 0x02;
    memset(nb->pam_state, 0xFF, sizeof(nb->pam_state));
    for (int i = 0; i < I440FX_PAM_SEGMENTS; i++) {
        apply_segment(nb, i);   /* power-on: all segments on the ROM side */
    }
    return 0;
}
