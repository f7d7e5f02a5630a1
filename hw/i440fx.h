/*
 * i440fx.h - the Intel 82441FX PCI and memory controller (host bridge,
 * device 0:0) of the 440FX chipset.
 *
 * Besides its PCI identity it owns the PAM registers that decide, for each
 * segment of the BIOS area 0xC0000-0xFFFFF, whether reads and writes go to
 * DRAM or to the ROM/PCI side: firmware uses them to shadow itself into RAM.
 */
#ifndef KASOU_I440FX_H
#define KASOU_I440FX_H

#include <stdint.h>

#include "pci.h"

#define I440FX_PAM_SEGMENTS 13

/* A PAM segment whose reads and writes go to different places. */
struct pam_window {
    const uint8_t *rom;   /* read side: ROM copy, or NULL (reads all ones) */
    uint8_t *ram;         /* write side: DRAM, or NULL (writes dropped) */
};

struct i440fx {
    struct pci_dev pci;
    struct bus *bus;
    const uint8_t *bios_low;   /* the firmware's copy for 0xE0000-0xFFFFF (128 KiB) */
    uint8_t *shadow;           /* 0xC0000-0xFFFFF of RAM (ram + 0xC0000) */
    uint8_t pam_state[I440FX_PAM_SEGMENTS]; /* bit0 RE, bit1 WE; 0xFF = unset */
    struct pam_window win[I440FX_PAM_SEGMENTS];
    uint32_t ram_size;
};

/* Register at 0:0; bios_low points to the top 128 KiB of the firmware. */
int i440fx_init(struct i440fx *nb, struct pci_bus *pb, struct bus *bus, uint32_t ram_size,
                const uint8_t *bios_low);

/* Back to the power-on state: every PAM segment on the ROM side. */
void i440fx_reset(struct i440fx *nb);

#endif
