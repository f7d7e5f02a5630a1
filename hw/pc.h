/*
 * pc.h - the PC/AT core logic: the 8259A pair, the 8254 PIT, the MC146818
 * RTC/CMOS, the coprocessor error latch (FERR# -> IRQ13, cleared at port
 * 0xF0) and system control ports A (0x92: A20, fast reset) and B (0x61),
 * the 8042 keyboard controller with a PS/2 keyboard and mouse,
 * wired to one CPU and the virtual clock; the PCI bus with the i440FX host
 * bridge, the PIIX3 ISA bridge and IDE function, the PIIX4-style ACPI PM
 * function and the VGA; the 8237 DMA pair and the floppy controller;
 * fw_cfg for the firmware; the CPU's local APIC and the 82093AA I/O APIC.
 */
#ifndef KASOU_PC_H
#define KASOU_PC_H

#include <stdbool.h>
#include <stdint.h>

#include "hw/fw_cfg.h"
#include "hw/i440fx.h"
#include "hw/pci.h"
#include "hw/piix3.h"
#include "hw/timer.h"

struct bus;
struct cpu;
struct i8259;
struct i8254;
struct mc146818;
struct ns16550;
struct i8042;
struct chardev;
struct ide;
struct i8237;
struct fdc;
struct vga;
struct acpi_pm;
struct apic;
struct ioapic;

#define PC_MAX_SERIAL 4

struct pc {
    struct cpu *cpu;
    struct clock *clk;
    struct i8259 *pic;
    struct i8254 *pit;
    struct mc146818 *rtc;
    struct pci_bus pci;
    struct i440fx nb;      /* 00:00.0 host bridge, PAM shadowing */
    struct piix3 isa;      /* 00:01.0 ISA bridge, PIRQ routing */
    struct fw_cfg *fw_cfg;
    struct bus *bus;
    struct ns16550 *serial[PC_MAX_SERIAL];   /* COM1-COM4, or NULL */
    struct i8042 *kbc;     /* keyboard controller, PS/2 keyboard and mouse */
    struct ide *ide;       /* 00:01.1 PIIX3 IDE, IRQ14/15 */
    struct acpi_pm *acpi;  /* 00:01.3 ACPI PM, SCI on IRQ9 */
    struct vga *vga;       /* 00:02.0 VGA with Bochs VBE */
    struct i8237 *dma;     /* 8237A pair */
    struct fdc *fdc;       /* floppy controller, IRQ6, DMA 2 */
    /* the guest asked to power off (ACPI S5) */
    void (*poweroff)(void *opaque);
    void *poweroff_opaque;
    bool ferr_latch;   /* coprocessor error latched onto IRQ13 */
    bool hard_reset;   /* the pending reset restarts the chipset too */
    uint8_t port92;
    uint8_t port61;
    uint8_t post_code;     /* last byte written to port 80h */
    struct apic *lapic;    /* the CPU's local APIC at 0xFEE00000 */
    struct ioapic *ioapic; /* 82093AA at 0xFEC00000: ISA IRQ n -> pin n, IRQ0 -> pin 2 */
};

/*
 * Create the chipset on `bus`, wire it to `cpu` (its hooks) and `clk`.
 * bios_low is the firmware's copy of 0xE0000-0xFFFFF (128 KiB) that the
 * host bridge shows below 1 MiB until the firmware shadows it.
 */
struct pc *pc_new(struct bus *bus, struct cpu *cpu, struct clock *clk, uint32_t ram_size,
                  const uint8_t *bios_low);
/*
 * Add COM port `index` (0-3: 3F8h/IRQ4, 2F8h/IRQ3, 3E8h/IRQ4, 2E8h/IRQ3),
 * a 16550A talking to `chr`; -1 if the index is taken or out of range.
 */
int pc_add_serial(struct pc *pc, int index, struct chardev *chr);
/* Between CPU slices: feed host input to the UARTs, flush their output. */
void pc_poll_serial(struct pc *pc);
void pc_flush_serial(struct pc *pc);
/*
 * Boot order as QEMU's -boot order= letters ("a" floppy, "c" disk, "d"
 * CD-ROM, "n" network), at most three, and the boot menu; written to the
 * CMOS bytes and fw_cfg items SeaBIOS reads.
 */
void pc_set_boot(struct pc *pc, const char *order, bool menu);
/* Fill the CMOS floppy and disk bytes from the attached drives. */
void pc_update_cmos_drives(struct pc *pc);
/* INIT# of the CPU (not a hard reset): the local APIC returns to its
 * INIT state; call it with cpu_init_signal(). */
void pc_init_signal(struct pc *pc);
/* Hard reset of the chipset (not the CPU, not the battery-backed RTC). */
void pc_reset(struct pc *pc);
/* Can an interrupt still arrive (a request pending or a timer armed)? */
bool pc_can_interrupt(const struct pc *pc);
void pc_free(struct pc *pc);

#endif
