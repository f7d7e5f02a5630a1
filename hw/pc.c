/*
 * pc.c - the PC/AT core logic of the board (see pc.h).
 *
 * Wiring, in one place:
 *   8259A pair  INT -> local APIC LINT0 (ExtINT); INTA cycle -> i8259_ack()
 *   local APIC  INTR and NMI of the CPU, INTA cycle -> apic_ack(); MSR 1Bh
 *   I/O APIC    ISA IRQ n (and the PIIX3's routed PCI IRQs) -> pin n, but
 *               IRQ0 -> pin 2, as on QEMU's PC and as SeaBIOS's MP table
 *               and MADT say (fw_cfg irq0-override); the LAPIC's EOI
 *               broadcast comes back to it; no NMI source drives LINT1 yet
 *   8254 PIT    counter 0 OUT -> IRQ0, counter 2 gate/out on port 0x61
 *   MC146818    IRQ8 (slave input 0); port 0x70 bit 7 masks NMI
 *   8042        ports 60h/64h; keyboard IRQ1, mouse IRQ12; its output port
 *               drives A20 (ORed with port 92h's) and pulses INIT#
 *   16550A      COM1-COM4 at 3F8h/2F8h/3E8h/2E8h, IRQ 4/3/4/3
 *   x87 FERR#   latched -> IRQ13 (slave input 5); a write to port 0xF0
 *               clears the latch, as the AT's coprocessor logic does
 *   port 0x92   PS/2 system control port A: bit 1 A20, bit 0 fast reset
 *   port 0x80   POST code latch (logged with -d dev)
 *   port 0xCF9  PIIX3 reset control (RCPU), through the PCI bus
 * Resets: port 92h, CF9h without SRST, and a CPU shutdown (triple fault,
 * which the PIIX3 answers with INIT#) restart the CPU alone; CF9h with
 * SRST restarts the board too (pc_reset).  An INIT returns the local APIC
to its INIT state (pc_init_signal).
 *   port 0x61   system control port B: speaker gate (counter 2 gate),
 *               refresh toggle and counter 2 output on reads
 *   PCI 00:01.1 PIIX3 IDE: legacy channels on IRQ14/IRQ15
 *   PCI 00:01.3 ACPI PM: SCI on IRQ9, S5 -> pc->poweroff
 *   PCI 00:02.0 VGA (QEMU stdvga: Bochs VBE, LFB in BAR0)
 *   8237A pair  DMA channels 0-7; the floppy controller on channel 2
 *   FDC         3F0h-3F7h, IRQ6
 * The devices know nothing of each other: they see only their IRQ lines,
 * which go to the 8259 pair and the I/O APIC alike (pc_isa_line).
 */
#include "pc.h"

#include <stdlib.h>

#include "cpu/cpu.h"
#include "hw/acpi.h"
#include "hw/apic.h"
#include "hw/bus.h"
#include "hw/fdc.h"
#include "hw/i8042.h"
#include "hw/i8237.h"
#include "hw/i8254.h"
#include "hw/i8259.h"
#include "hw/mc146818.h"
#include "hw/ide.h"
#include "hw/ioapic.h"
#include "hw/ns16550.h"
#include "hw/vga.h"
#include "util/log.h"

#define REFRESH_PERIOD_NS 15085u   /* DRAM refresh request: every 15.085 us */

/* The master 8259's INT pin drives LINT0 of the local APIC (or INTR). */
static void pc_set_intr(void *opaque, int n, int level)
{
    struct pc *pc = opaque;
    if (pc->lapic) {
        apic_set_lint(pc->lapic, 0, level);
    } else {
        cpu_set_intr(pc->cpu, level != 0);
    }
}

static int pc_intr_ack(void *opaque)
{
    struct pc *pc = opaque;
    return pc->lapic ? apic_ack(pc->lapic) : i8259_ack(pc->pic);
}

/* An ISA interrupt line: to the 8259 pair and to the I/O APIC. */
static void pc_isa_line(void *opaque, int n, int level)
{
    struct pc *pc = opaque;
    i8259_set_irq(pc->pic, n, level);
    if (pc->ioapic) {
        ioapic_set_irq(pc->ioapic, n == 0 ? 2 : n, level);
    }
}

static struct irq isa_line(struct pc *pc, int n)
{
    struct irq irq = { .set = pc_isa_line, .opaque = pc, .n = n };
    return irq;
}

/* FERR# rising sets the latch that drives IRQ13 until port 0xF0 clears it. */
static void pc_ferr_changed(void *opaque, bool level)
{
    struct pc *pc = opaque;
    if (level && !pc->ferr_latch) {
        pc->ferr_latch = true;
        pc_isa_line(pc, 13, 1);
    }
}

static uint64_t pc_clock_ns(void *opaque)
{
    struct pc *pc = opaque;
    return clock_ns(pc->clk);
}

static uint32_t coproc_read(void *opaque, uint32_t off, int size)
{
    return 0xFF;
}

static void coproc_write(void *opaque, uint32_t off, uint32_t val, int size)
{
    struct pc *pc = opaque;
    if (off == 0 && pc->ferr_latch) {
        pc->ferr_latch = false;
        pc_isa_line(pc, 13, 0);
    }
}

static const struct io_ops coproc_ops = {
    .read = coproc_read, .write = coproc_write, .sizes = 1,
};

/* A20M# follows the OR of port 92h bit 1 and the 8042's output port bit 1. */
static void pc_update_a20(struct pc *pc)
{
    bool on = (pc->port92 & 0x02) || (pc->kbc && i8042_a20(pc->kbc));
    cpu_set_a20(pc->cpu, on);
}

static void kbc_a20(void *opaque, bool on)
{
    pc_update_a20(opaque);
}

/* The 8042's reset line: the PIIX3 turns it into INIT#. */
static void kbc_reset(void *opaque)
{
    struct pc *pc = opaque;
    log_ch(LOG_CPU, "8042: reset pulse (INIT)");
    pc_init_signal(pc);
    pc->cpu->reset_request = true;
}

static const struct i8042_hooks kbc_hooks = { .a20 = kbc_a20, .reset = kbc_reset };

static uint32_t port92_read(void *opaque, uint32_t off, int size)
{
    struct pc *pc = opaque;
    return pc->port92;
}

static void port92_write(void *opaque, uint32_t off, uint32_t val, int size)
{
    struct pc *pc = opaque;
    pc->port92 = (uint8_t)(val & 0x02);
    pc_update_a20(pc);
    if (val & 0x01) {
        /* the PIIX3 turns a fast reset into INIT#: the CPU only */
        log_ch(LOG_CPU, "port 0x92: fast reset (INIT)");
        pc_init_signal(pc);
        pc->cpu->reset_request = true;
    }
}

static const struct io_ops port92_ops = {
    .read = port92_read, .write = port92_write, .sizes = 1,
};

/* Port 80h: the POST code latch a diagnostic card would show. */
static uint32_t post_read(void *opaque, uint32_t off, int size)
{
    struct pc *pc = opaque;
    return pc->post_code;
}

static void post_write(void *opaque, uint32_t off, uint32_t val, int size)
{
    struct pc *pc = opaque;
    pc->post_code = (uint8_t)val;
    log_ch(LOG_DEV, "POST code %02x", pc->post_code);
}

static const struct io_ops post_ops = {
    .read = post_read, .write = post_write, .sizes = 1,
};

static uint32_t port61_read(void *opaque, uint32_t off, int size)
{
    struct pc *pc = opaque;
    uint32_t v = pc->port61 & 0x0F;
    if ((clock_ns(pc->clk) / REFRESH_PERIOD_NS) & 1) {
        v |= 0x10;
    }
    if (i8254_get_out(pc->pit, 2)) {
        v |= 0x20;
    }
    return v;
}

static void port61_write(void *opaque, uint32_t off, uint32_t val, int size)
{
    struct pc *pc = opaque;
    pc->port61 = (uint8_t)(val & 0x0F);
    i8254_set_gate(pc->pit, 2, val & 1);
}

static const struct io_ops port61_ops = {
    .read = port61_read, .write = port61_write, .sizes = 1,
};

/*
 * The CMOS bytes a PC BIOS reads for the memory size (IBM AT layout, plus
 * the 64 KiB units above 16 MiB at 34h-35h that SeaBIOS and others use).
 */
static void cmos_memory(struct mc146818 *rtc, uint32_t ram_size)
{
    uint32_t ext_kb = ram_size > 0x100000u ? (ram_size - 0x100000u) >> 10 : 0;
    if (ext_kb > 0xFC00) {
        ext_kb = 0xFC00;   /* the 16-bit field stops at 63 MiB */
    }
    uint32_t high64k = ram_size > (16u << 20) ? (ram_size - (16u << 20)) >> 16 : 0;
    mc146818_set_cmos(rtc, 0x15, 0x80);   /* base memory: 640 KiB */
    mc146818_set_cmos(rtc, 0x16, 0x02);
    mc146818_set_cmos(rtc, 0x17, (uint8_t)ext_kb);
    mc146818_set_cmos(rtc, 0x18, (uint8_t)(ext_kb >> 8));
    mc146818_set_cmos(rtc, 0x30, (uint8_t)ext_kb);
    mc146818_set_cmos(rtc, 0x31, (uint8_t)(ext_kb >> 8));
    mc146818_set_cmos(rtc, 0x34, (uint8_t)high64k);
    mc146818_set_cmos(rtc, 0x35, (uint8_t)(high64k >> 8));
    mc146818_set_cmos(rtc, 0x14, 0x06);   /* equipment: FPU, display EGA/VGA (00) */
}

static void pc_reset_request(void *opaque, bool hard)
{
    struct pc *pc = opaque;
    pc->hard_reset = pc->hard_reset || hard;
    if (!pc->hard_reset) {
        pc_init_signal(pc);
    }
    pc->cpu->reset_request = true;
}

/* The PCI side: bus, host bridge at 0:0, ISA bridge at 0:1. */
static int pc_pci_init(struct pc *pc, struct bus *bus, uint32_t ram_size,
                       const uint8_t *bios_low)
{
    pci_bus_init(&pc->pci, bus);
    if (i440fx_init(&pc->nb, &pc->pci, bus, ram_size, bios_low) < 0 ||
        piix3_init(&pc->isa, &pc->pci, 1 << 3, pc_isa_line, pc) < 0) {
        return -1;
    }
    pc->isa.reset_request = pc_reset_request;
    pc->isa.reset_opaque = pc;
    return 0;
}

static void pc_acpi_poweroff(void *opaque)
{
    struct pc *pc = opaque;
    log_ch(LOG_CPU, "ACPI: guest entered S5 (power off)");
    if (pc->poweroff) {
        pc->poweroff(pc->poweroff_opaque);
    }
}

static void pc_acpi_reset(void *opaque)
{
    pc_reset_request(opaque, true);
}

/* The PCI functions beyond the bridges, and the ISA DMA and floppy. */
static int pc_devices_init(struct pc *pc, struct bus *bus)
{
    pc->ide = ide_new(&pc->pci, (1 << 3) | 1, bus, isa_line(pc, 14), isa_line(pc, 15));
    pc->acpi = acpi_pm_new(&pc->pci, (1 << 3) | 3, bus, pc->clk, isa_line(pc, 9),
                           pc_acpi_poweroff, pc_acpi_reset, pc);
    pc->vga = vga_new(&pc->pci, 2 << 3, bus, pc->clk);
    pc->dma = i8237_new(bus);
    pc->fdc = pc->dma ? fdc_new(bus, isa_line(pc, 6), pc->dma) : NULL;
    if (pc->fdc) {
        fdc_set_clock(pc->fdc, pc->clk); /* non-DMA transfers time out on it */
    }
    return pc->ide && pc->acpi && pc->vga && pc->fdc ? 0 : -1;
}

/*
 * "etc/e820": the RAM the board has, as QEMU's pc describes it to the
 * firmware (entries of 64-bit base, 64-bit length, 32-bit type, little
 * endian); SeaBIOS builds the guest's map from it.
 */
static int pc_fw_cfg_e820(struct pc *pc, uint32_t ram_size)
{
    uint8_t e[20] = { 0 };
    pci_set32(e + 8, ram_size); /* base 0, length ram_size */
    e[16] = 1;                  /* type 1: RAM */
    return fw_cfg_add_file(pc->fw_cfg, "etc/e820", e, sizeof(e)) < 0 ? -1 : 0;
}

static int pc_fw_cfg_init(struct pc *pc, struct bus *bus, uint32_t ram_size)
{
    pc->fw_cfg = fw_cfg_new(bus);
    if (!pc->fw_cfg || fw_cfg_add_i64(pc->fw_cfg, FW_CFG_RAM_SIZE, ram_size) < 0 ||
        fw_cfg_add_i16(pc->fw_cfg, FW_CFG_NB_CPUS, 1) < 0 ||
        fw_cfg_add_i16(pc->fw_cfg, FW_CFG_MAX_CPUS, 1) < 0 ||
        fw_cfg_add_i16(pc->fw_cfg, FW_CFG_NOGRAPHIC, 0) < 0 ||
        fw_cfg_add_i16(pc->fw_cfg, FW_CFG_BOOT_MENU, 0) < 0 || pc_fw_cfg_e820(pc, ram_size) < 0) {
        return -1;
    }
    return 0;
}


/* --- the local APIC and the I/O APIC --- */

static void apic_intr(void *opaque, bool level)
{
    struct pc *pc = opaque;
    cpu_set_intr(pc->cpu, level);
}

static void apic_nmi(void *opaque)
{
    struct pc *pc = opaque;
    cpu_raise_nmi(pc->cpu);
}

static int apic_extint_ack(void *opaque)
{
    struct pc *pc = opaque;
    return i8259_ack(pc->pic);
}

static void apic_eoi_broadcast(void *opaque, int vector)
{
    struct pc *pc = opaque;
    ioapic_eoi(pc->ioapic, vector);
}

static const struct apic_hooks pc_apic_hooks = {
    .set_intr = apic_intr, .nmi = apic_nmi, .extint_ack = apic_extint_ack,
    .eoi = apic_eoi_broadcast,
};

static bool ioapic_to_lapic(void *opaque, const struct apic_msg *msg)
{
    struct pc *pc = opaque;
    return apic_deliver(pc->lapic, msg);
}

static void cpu_apic_base(void *opaque, uint64_t value)
{
    struct pc *pc = opaque;
    apic_set_base_msr(pc->lapic, value);
}

/*
 * The APICs and what SeaBIOS needs to describe them: CPUID's APIC flag
 * (the CPU hook) makes it build the MP table and the MADT, and fw_cfg's
 * irq0-override (key 8002h, as QEMU gives it) makes both say that ISA
 * IRQ0 arrives on I/O APIC pin 2.
 */
static int pc_apic_init(struct pc *pc, struct bus *bus)
{
    static const uint8_t irq0_override = 1;
    pc->lapic = apic_new(bus, pc->clk, &pc_apic_hooks, pc);
    pc->ioapic = ioapic_new(bus, IOAPIC_DEFAULT_BASE, ioapic_to_lapic, pc);
    if (!pc->lapic || !pc->ioapic ||
        fw_cfg_add(pc->fw_cfg, FW_CFG_IRQ0_OVERRIDE, &irq0_override, 1) < 0) {
        return -1;
    }
    pc->cpu->apic_base_changed = cpu_apic_base;
    return 0;
}

void pc_init_signal(struct pc *pc)
{
    if (pc->lapic) {
        apic_init_signal(pc->lapic);
    }
}

static void pc_apic_reset(struct pc *pc)
{
    apic_set_lint(pc->lapic, 0, 0);   /* the 8259 pair was just reset */
    apic_reset(pc->lapic);
    ioapic_reset(pc->ioapic);
}

struct pc *pc_new(struct bus *bus, struct cpu *cpu, struct clock *clk, uint32_t ram_size,
                  const uint8_t *bios_low)
{
    struct pc *pc = calloc(1, sizeof(*pc));
    if (!pc) {
        return NULL;
    }
    pc->cpu = cpu;
    pc->clk = clk;
    pc->bus = bus;
    struct irq intr = { .set = pc_set_intr, .opaque = pc, .n = 0 };
    pc->pic = i8259_new(bus, intr);
    if (!pc->pic) {
        pc_free(pc);
        return NULL;
    }
    pc->pit = i8254_new(bus, clk, isa_line(pc, 0));
    pc->kbc = i8042_new(bus, isa_line(pc, 1), isa_line(pc, 12), &kbc_hooks, pc);
    pc->rtc = mc146818_new(bus, clk, isa_line(pc, 8), MC146818_HOST_TIME);
    if (!pc->pit || !pc->rtc || !pc->kbc || bus_map_ports(bus, 0xF0, 1, &coproc_ops, pc) < 0 ||
        bus_map_ports(bus, 0x92, 1, &port92_ops, pc) < 0 ||
        bus_map_ports(bus, 0x61, 1, &port61_ops, pc) < 0 ||
        bus_map_ports(bus, 0x80, 1, &post_ops, pc) < 0 ||
        pc_pci_init(pc, bus, ram_size, bios_low) < 0 || pc_devices_init(pc, bus) < 0 ||
        pc_fw_cfg_init(pc, bus, ram_size) < 0 || pc_apic_init(pc, bus) < 0) {
        pc_free(pc);
        return NULL;
    }
    cmos_memory(pc->rtc, ram_size);
    pc_set_boot(pc, "cad", false);
    pc->port92 = 0x02; /* A20 on after reset, as the firmware expects */
    cpu->hook_opaque = pc;
    cpu->intr_ack = pc_intr_ack;
    cpu->ferr_changed = pc_ferr_changed;
    cpu->clock_ns = pc_clock_ns;
    return pc;
}

/*
 * A hard reset of the board: the interrupt controllers, the timer, the
 * bridges and the latches return to their power-on state.  The RTC and
 * its CMOS are battery-backed and keep time and contents.
 */
void pc_reset(struct pc *pc)
{
    timer_del(&pc->pit->timer);
    i8254_init(pc->pit, pc->clk, pc->pit->irq0);
    i8259_init(pc->pic, pc->pic->intr_out);
    cpu_set_intr(pc->cpu, false);
    pc_apic_reset(pc);
    i440fx_reset(&pc->nb);
    piix3_reset(&pc->isa);
    pc->ferr_latch = false;
    pc->hard_reset = false;
    pc->port61 = 0;
    pc->port92 = 0x02;
    i8042_reset(pc->kbc);
    ide_reset(pc->ide);
    acpi_pm_reset(pc->acpi);
    vga_reset(pc->vga);
    i8237_reset(pc->dma);
    fdc_reset(pc->fdc);
    pc_update_a20(pc);
}

void pc_set_boot(struct pc *pc, const char *order, bool menu)
{
    /* SeaBIOS on QEMU: CMOS 3Dh holds the first two choices (low nibble
     * first), 38h bits 4-7 the third; 1 floppy, 2 disk, 3 CD-ROM, 4 network.
     * Bit 0 of 38h off keeps the floppy boot-signature check. */
    int code[3] = { 0, 0, 0 };
    for (int i = 0; i < 3 && order[i]; i++) {
        switch (order[i]) {
        case 'a':
        case 'b':
            code[i] = 1;
            break;
        case 'c':
            code[i] = 2;
            break;
        case 'd':
            code[i] = 3;
            break;
        case 'n':
            code[i] = 4;
            break;
        default:
            break;
        }
    }
    mc146818_set_cmos(pc->rtc, 0x3D, (uint8_t)(code[0] | code[1] << 4));
    mc146818_set_cmos(pc->rtc, 0x38, (uint8_t)(code[2] << 4));
    fw_cfg_add_i16(pc->fw_cfg, FW_CFG_BOOT_MENU, menu ? 1 : 0);
}

/*
 * The AT's fixed-disk bytes for the first two disks (type 47, user
 * geometry at 1Bh and 24h) and the translation SeaBIOS on QEMU takes from
 * 39h-3Ah (2 bits a disk: 0 none, 1 LBA, 2 large), with the rule
 * BIOSes use: none while CHS fits 1024/16/63, large while cylinders x
 * heads fit 131072, else LBA.  (3Ah would hold disks 4-7.)
 */
static void cmos_disks(struct pc *pc)
{
    uint8_t types = 0, trans = 0;
    for (int i = 0; i < 4; i++) {
        int c, h, sec;
        if (ide_geometry(pc->ide, i / 2, i % 2, &c, &h, &sec) < 0) {
            continue;
        }
        int t = c <= 1024 && h <= 16 && sec <= 63 ? 0 : (long)c * h <= 131072 ? 2 : 1;
        trans |= (uint8_t)(t << (2 * i));
        if (i >= 2) {
            continue;
        }
        uint8_t base = i == 0 ? 0x1B : 0x24;
        types |= (uint8_t)(i == 0 ? 0xF0 : 0x0F);
        mc146818_set_cmos(pc->rtc, (uint8_t)(0x19 + i), 47);
        mc146818_set_cmos(pc->rtc, base, (uint8_t)c);
        mc146818_set_cmos(pc->rtc, base + 1, (uint8_t)(c >> 8));
        mc146818_set_cmos(pc->rtc, base + 2, (uint8_t)h);
        mc146818_set_cmos(pc->rtc, base + 3, 0xFF); /* write precompensation: none */
        mc146818_set_cmos(pc->rtc, base + 4, 0xFF);
        mc146818_set_cmos(pc->rtc, base + 5, (uint8_t)(h > 8 ? 0xC8 : 0xC0));
        mc146818_set_cmos(pc->rtc, base + 6, (uint8_t)c); /* landing zone */
        mc146818_set_cmos(pc->rtc, base + 7, (uint8_t)(c >> 8));
        mc146818_set_cmos(pc->rtc, base + 8, (uint8_t)sec);
    }
    mc146818_set_cmos(pc->rtc, 0x12, types);
    mc146818_set_cmos(pc->rtc, 0x39, trans);
}

void pc_update_cmos_drives(struct pc *pc)
{
    cmos_disks(pc);
    int a = fdc_cmos_type(pc->fdc, 0), b = fdc_cmos_type(pc->fdc, 1);
    int nfloppy = (a != 0) + (b != 0);
    mc146818_set_cmos(pc->rtc, 0x10, (uint8_t)(a << 4 | b));
    /* equipment byte: bit 0 floppies present, bits 6-7 their count - 1 */
    uint8_t equip = 0x06;
    if (nfloppy) {
        equip |= 0x01 | (uint8_t)((nfloppy - 1) << 6);
    }
    mc146818_set_cmos(pc->rtc, 0x14, equip);
}

int pc_add_serial(struct pc *pc, int index, struct chardev *chr)
{
    static const uint16_t base[PC_MAX_SERIAL] = { NS16550_COM1, NS16550_COM2, NS16550_COM3,
                                                  NS16550_COM4 };
    static const int irqn[PC_MAX_SERIAL] = { 4, 3, 4, 3 };
    if (index < 0 || index >= PC_MAX_SERIAL || pc->serial[index]) {
        return -1;
    }
    pc->serial[index] = ns16550_new(pc->bus, base[index], isa_line(pc, irqn[index]), pc->clk,
                                    chr);
    return pc->serial[index] ? 0 : -1;
}

void pc_poll_serial(struct pc *pc)
{
    for (int i = 0; i < PC_MAX_SERIAL; i++) {
        if (pc->serial[i]) {
            ns16550_poll_input(pc->serial[i]);
        }
    }
}

void pc_flush_serial(struct pc *pc)
{
    for (int i = 0; i < PC_MAX_SERIAL; i++) {
        if (pc->serial[i]) {
            ns16550_flush(pc->serial[i]);
        }
    }
}

/* Whether anything on the chipset can still raise an interrupt. */
bool pc_can_interrupt(const struct pc *pc)
{
    return i8259_pending(pc->pic) || (pc->lapic && apic_pending(pc->lapic)) ||
           clock_next_deadline(pc->clk) != CLOCK_NEVER;
}

void pc_free(struct pc *pc)
{
    if (!pc) {
        return;
    }
    for (int i = 0; i < PC_MAX_SERIAL; i++) {
        if (pc->serial[i]) {
            ns16550_free(pc->serial[i]);
        }
    }
    if (pc->ioapic) {
        ioapic_free(pc->ioapic);
    }
    if (pc->lapic) {
        apic_free(pc->lapic);
    }
    fw_cfg_free(pc->fw_cfg);
    if (pc->fdc) {
        fdc_free(pc->fdc);
    }
    if (pc->dma) {
        i8237_free(pc->dma);
    }
    if (pc->vga) {
        vga_free(pc->vga);
    }
    if (pc->acpi) {
        acpi_pm_free(pc->acpi);
    }
    if (pc->ide) {
        ide_free(pc->ide);
    }
    if (pc->kbc) {
        i8042_free(pc->kbc);
    }
    if (pc->rtc) {
        mc146818_free(pc->rtc);
    }
    if (pc->pit) {
        i8254_free(pc->pit);
    }
    if (pc->pic) {
        i8259_free(pc->pic);
    }
    free(pc);
}
