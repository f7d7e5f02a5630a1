/*
 * PIIX4 power management (PCI 00:01.3): PMBASE mapping, the PM timer on a
 * deterministic clock, TMR_STS and the SCI, write-1-to-clear status, sleep
 * states, the 0xB2 ACPI enable/disable commands, the power button, the
 * SMBus host with nothing behind it and the ports SeaBIOS's tables name.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "hw/acpi.h"
#include "hw/bus.h"
#include "hw/pci.h"
#include "hw/timer.h"
#include "tests/unit/clock.h"

#define DEVFN ((1 << 3) | 3)
#define PMBASE 0xB000 /* SeaBIOS's acpi_pm_base without etc/table-loader */
#define SMBASE 0xB100 /* SeaBIOS: acpi_pm_base + 0x100 */
#define TOGGLE_TICKS (1u << 23)

static struct bus *bus;
static struct pci_bus pb;
static struct clock clk;
static uint64_t now; /* virtual ns (one "instruction" = 1 ns) */
static struct acpi_pm *pm;
static int sci, sci_rises, poweroffs;

static void record_sci(void *opaque, int n, int level)
{
    cr_assert_eq(n, 9);
    if (level && !sci) {
        sci_rises++;
    }
    sci = level;
}

static void on_poweroff(void *opaque)
{
    poweroffs++;
}

static void setup(void)
{
    now = 0;
    clock_init(&clk, CLOCK_DETERMINISTIC, &now);
    clk.ns_per_insn_q8 = 256;
    sci = sci_rises = poweroffs = 0;
    bus = bus_new(1 << 20);
    pci_bus_init(&pb, bus);
    pm = acpi_pm_new(&pb, DEVFN, bus, &clk, (struct irq){ record_sci, NULL, 9 }, on_poweroff, NULL,
                     NULL);
    cr_assert_not_null(pm);
}

static void teardown(void)
{
    acpi_pm_free(pm);
    bus_free(bus);
}

/* Run the clock to `target` ns, firing timers on the way. */
static void advance_to(uint64_t target)
{
    test_clock_advance(&clk, &now, target);
}

/* ns at which the PM timer has counted `ticks` (rounded up). */
static uint64_t ns_for(uint64_t ticks)
{
    return (ticks * NS_PER_SEC + ACPI_PM_TIMER_HZ - 1) / ACPI_PM_TIMER_HZ;
}

static void cfg_w(unsigned reg, uint32_t v, int size)
{
    pci_config_write(&pb, DEVFN, reg, v, size);
}

static uint32_t cfg_r(unsigned reg, int size)
{
    return pci_config_read(&pb, DEVFN, reg, size);
}

/* What SeaBIOS's piix4_pm_config_setup does. */
static void program(uint16_t base)
{
    cfg_w(PCI_INTERRUPT_LINE, 9, 1);
    cfg_w(0x40, base | 1u, 4);
    cfg_w(0x80, 0x01, 1);
    cfg_w(0x90, SMBASE | 1u, 4);
    cfg_w(0xD2, 0x09, 1);
}

static uint16_t in16(uint16_t port)
{
    return (uint16_t)bus_in(bus, port, 2);
}

TestSuite(acpi, .init = setup, .fini = teardown);

Test(acpi, identity_and_reset_values)
{
    cr_expect_eq(cfg_r(0x00, 4), 0x71138086u);
    cr_expect_eq(cfg_r(0x08, 4), 0x06800003u, "class 0680, revision 03");
    cr_expect_eq(cfg_r(PCI_INTERRUPT_PIN, 1), 1, "INTA#");
    cr_expect_eq(cfg_r(0x40, 4), 0x00000001u, "PMBA: I/O space indicator");
    cr_expect_eq(cfg_r(0x90, 4), 0x00000001u, "SMBBA: I/O space indicator");
    cr_expect_eq(cfg_r(0x58, 4) & (1u << 25), 1u << 25,
                 "DEVACTB APMC_EN set so SeaBIOS skips its SMM set-up");
    cr_expect_eq(cfg_r(0x80, 1), 0);
    cr_expect_eq(in16(PMBASE + ACPI_PM1_CNT), 0xFFFF, "PM block not mapped at reset");
    /* the base keeps its read-only bits whatever is written */
    cfg_w(0x40, 0xFFFFFFFFu, 4);
    cr_expect_eq(cfg_r(0x40, 4), 0x0000FFC1u);
}

Test(acpi, pmbase_maps_and_moves_the_block)
{
    cfg_w(0x40, PMBASE | 1u, 4);
    cr_expect_eq(in16(PMBASE + ACPI_PM1_EN), 0xFFFF, "PMREGMISC still off");
    cfg_w(0x80, 0x01, 1);
    bus_out(bus, PMBASE + ACPI_PM1_EN, ACPI_PWRBTN_STS, 2);
    cr_expect_eq(in16(PMBASE + ACPI_PM1_EN), ACPI_PWRBTN_STS);
    /* moving the base (SeaBIOS's 0x600 when QEMU supplies the tables) */
    cfg_w(0x40, 0x0601, 4);
    cr_expect_eq(in16(PMBASE + ACPI_PM1_EN), 0xFFFF, "old range released");
    cr_expect_eq(in16(0x600 + ACPI_PM1_EN), ACPI_PWRBTN_STS, "same registers at the new base");
    cr_expect_eq(in16(0x640), 0xFFFF, "64 bytes only");
    cfg_w(0x80, 0x00, 1);
    cr_expect_eq(in16(0x600 + ACPI_PM1_EN), 0xFFFF, "PMREGMISC bit 0 clear unmaps");
    cfg_w(0x80, 0x01, 1);
    cr_expect_eq(in16(0x600 + ACPI_PM1_EN), ACPI_PWRBTN_STS);
}

Test(acpi, pm_timer_counts_at_3579545_hz)
{
    program(PMBASE);
    advance_to(12345678);
    uint32_t t0 = bus_in(bus, PMBASE + ACPI_PM_TMR, 4);
    cr_expect_eq(t0, 44191u, "12.345678 ms = 44191.9 ticks");
    advance_to(12345678 + NS_PER_SEC);
    uint32_t t1 = bus_in(bus, PMBASE + ACPI_PM_TMR, 4);
    cr_expect_eq((t1 - t0) & 0xFFFFFF, 3579545u);
    /* 24 bits, wrapping; no overflow after hours of virtual time */
    advance_to(5000 * NS_PER_SEC);
    cr_expect_eq(bus_in(bus, PMBASE + ACPI_PM_TMR, 4), (5000ull * 3579545u) & 0xFFFFFF);
    cr_expect_eq(bus_in(bus, PMBASE + ACPI_PM_TMR + 3, 1), 0, "bits 31:24 read 0");
    cr_expect_eq(clock_next_deadline(&clk), CLOCK_NEVER, "no timer while TMR_EN is clear");
}

Test(acpi, tmr_sts_and_sci_on_bit23_toggle)
{
    program(PMBASE);
    bus_out(bus, ACPI_APMC_PORT, ACPI_ENABLE_CMD, 1);
    bus_out(bus, PMBASE + ACPI_PM1_EN, ACPI_TMR_STS, 2);
    cr_expect_neq(clock_next_deadline(&clk), CLOCK_NEVER, "TMR_EN arms a timer");
    advance_to(ns_for(TOGGLE_TICKS) - 1);
    cr_expect_eq(sci, 0);
    cr_expect_eq(in16(PMBASE + ACPI_PM1_STS) & ACPI_TMR_STS, 0);
    advance_to(ns_for(TOGGLE_TICKS));
    cr_expect_eq(sci, 1, "bit 23 went 0 -> 1 at 2.343 s");
    cr_expect_eq(in16(PMBASE + ACPI_PM1_STS) & ACPI_TMR_STS, ACPI_TMR_STS);
    bus_out(bus, PMBASE + ACPI_PM1_STS, ACPI_TMR_STS, 2);
    cr_expect_eq(sci, 0, "write 1 clears TMR_STS and drops the SCI");
    advance_to(ns_for(2 * TOGGLE_TICKS));
    cr_expect_eq(sci, 1, "the 1 -> 0 toggle counts too");
    cr_expect_eq(sci_rises, 2);
    /* TMR_EN clear: no timer, but the status still records the toggle */
    bus_out(bus, PMBASE + ACPI_PM1_STS, ACPI_TMR_STS, 2);
    bus_out(bus, PMBASE + ACPI_PM1_EN, 0, 2);
    cr_expect_eq(clock_next_deadline(&clk), CLOCK_NEVER);
    advance_to(ns_for(3 * TOGGLE_TICKS));
    cr_expect_eq(sci, 0);
    cr_expect_eq(in16(PMBASE + ACPI_PM1_STS) & ACPI_TMR_STS, ACPI_TMR_STS);
    /* enabling with the status already set raises the SCI at once */
    bus_out(bus, PMBASE + ACPI_PM1_EN, ACPI_TMR_STS, 2);
    cr_expect_eq(sci, 1);
}

Test(acpi, status_bits_are_write_one_to_clear)
{
    program(PMBASE);
    acpi_pm_powerbutton(pm);
    advance_to(ns_for(TOGGLE_TICKS));
    cr_assert_eq(in16(PMBASE + ACPI_PM1_STS), ACPI_PWRBTN_STS | ACPI_TMR_STS);
    bus_out(bus, PMBASE + ACPI_PM1_STS, 0, 2);
    cr_expect_eq(in16(PMBASE + ACPI_PM1_STS), ACPI_PWRBTN_STS | ACPI_TMR_STS, "0s do nothing");
    bus_out(bus, PMBASE + ACPI_PM1_STS + 1, ACPI_PWRBTN_STS >> 8, 1);
    cr_expect_eq(in16(PMBASE + ACPI_PM1_STS), ACPI_TMR_STS, "byte write clears bit 8 only");
    bus_out(bus, PMBASE + ACPI_PM1_STS, 0xFFFF, 2);
    cr_expect_eq(in16(PMBASE + ACPI_PM1_STS), 0);
    /* GPE0 status, through the FADT's block at 0xAFE0 and PMBASE+0x0C */
    acpi_pm_gpe_event(pm, 1);
    cr_expect_eq(in16(ACPI_GPE0_PORT), 0x0002);
    cr_expect_eq(in16(PMBASE + ACPI_GPSTS), 0x0002);
    bus_out(bus, ACPI_GPE0_PORT, 0x0001, 2);
    cr_expect_eq(in16(ACPI_GPE0_PORT), 0x0002, "other bit: no effect");
    bus_out(bus, ACPI_GPE0_PORT, 0x0002, 2);
    cr_expect_eq(in16(ACPI_GPE0_PORT), 0);
}

Test(acpi, gpe_raises_the_sci_when_enabled)
{
    program(PMBASE);
    bus_out(bus, ACPI_APMC_PORT, ACPI_ENABLE_CMD, 1);
    acpi_pm_gpe_event(pm, 2);
    cr_expect_eq(sci, 0);
    bus_out(bus, ACPI_GPE0_PORT + 2, 0x0004, 2);
    cr_expect_eq(in16(PMBASE + ACPI_GPEN), 0x0004);
    cr_expect_eq(sci, 1);
    bus_out(bus, ACPI_GPE0_PORT, 0x0004, 2);
    cr_expect_eq(sci, 0);
}

Test(acpi, slp_en_with_s5_type_powers_off_once)
{
    program(PMBASE);
    /* SLP_TYP alone does nothing */
    bus_out(bus, PMBASE + ACPI_PM1_CNT, ACPI_SCI_EN | 5u << ACPI_SLP_TYP_SHIFT, 2);
    cr_expect_eq(poweroffs, 0);
    cr_expect_eq(in16(PMBASE + ACPI_PM1_CNT), ACPI_SCI_EN | 5u << ACPI_SLP_TYP_SHIFT);
    /* \_S5 = 0 in SeaBIOS's tables: what Linux writes for poweroff */
    bus_out(bus, PMBASE + ACPI_PM1_CNT, ACPI_SCI_EN | ACPI_SLP_EN, 2);
    cr_expect_eq(poweroffs, 1);
    cr_expect_eq(in16(PMBASE + ACPI_PM1_CNT) & ACPI_SLP_EN, 0, "SLP_EN is write-only");
    /* SeaBIOS's APM power-off: outw(0x2000, pm1a_cnt) */
    bus_out(bus, PMBASE + ACPI_PM1_CNT, 0x2000, 2);
    cr_expect_eq(poweroffs, 2);
}

Test(acpi, unsupported_sleep_type_wakes_at_once)
{
    program(PMBASE);
    bus_out(bus, PMBASE + ACPI_PM1_CNT, ACPI_SCI_EN | 1u << ACPI_SLP_TYP_SHIFT | ACPI_SLP_EN, 2);
    cr_expect_eq(poweroffs, 0, "S3 (type 1) does not power off");
    cr_expect_eq(in16(PMBASE + ACPI_PM1_STS) & ACPI_WAK_STS, ACPI_WAK_STS);
    bus_out(bus, PMBASE + ACPI_PM1_STS, ACPI_WAK_STS, 2);
    cr_expect_eq(in16(PMBASE + ACPI_PM1_STS) & ACPI_WAK_STS, 0);
}

Test(acpi, smi_command_port_switches_acpi_mode)
{
    program(PMBASE);
    cr_expect_eq(in16(PMBASE + ACPI_PM1_CNT) & ACPI_SCI_EN, 0);
    bus_out(bus, ACPI_APMC_PORT, ACPI_ENABLE_CMD, 1);
    cr_expect_eq(in16(PMBASE + ACPI_PM1_CNT) & ACPI_SCI_EN, ACPI_SCI_EN);
    cr_expect_eq(bus_in(bus, ACPI_APMC_PORT, 1), ACPI_ENABLE_CMD);
    bus_out(bus, ACPI_APMC_PORT, 0x42, 1);
    cr_expect_eq(in16(PMBASE + ACPI_PM1_CNT) & ACPI_SCI_EN, ACPI_SCI_EN, "other commands: no-op");
    bus_out(bus, ACPI_APMC_PORT, ACPI_DISABLE_CMD, 1);
    cr_expect_eq(in16(PMBASE + ACPI_PM1_CNT) & ACPI_SCI_EN, 0);
    bus_out(bus, ACPI_APMS_PORT, 0x5A, 1);
    cr_expect_eq(bus_in(bus, ACPI_APMS_PORT, 1), 0x5A, "APMS is a scratch register");
}

Test(acpi, power_button)
{
    program(PMBASE);
    /* no ACPI driver: the status is set, nothing else happens */
    acpi_pm_powerbutton(pm);
    cr_expect_eq(sci, 0);
    cr_expect_eq(poweroffs, 0);
    cr_expect_eq(in16(PMBASE + ACPI_PM1_STS), ACPI_PWRBTN_STS);
    bus_out(bus, PMBASE + ACPI_PM1_STS, ACPI_PWRBTN_STS, 2);
    /* ACPI on, PWRBTN_EN clear: still no SCI */
    bus_out(bus, ACPI_APMC_PORT, ACPI_ENABLE_CMD, 1);
    acpi_pm_powerbutton(pm);
    cr_expect_eq(sci, 0);
    bus_out(bus, PMBASE + ACPI_PM1_STS, ACPI_PWRBTN_STS, 2);
    /* PWRBTN_EN set: the SCI goes up until the OS clears the status */
    bus_out(bus, PMBASE + ACPI_PM1_EN, ACPI_PWRBTN_STS, 2);
    acpi_pm_powerbutton(pm);
    cr_expect_eq(sci, 1);
    cr_expect_eq(sci_rises, 1);
    bus_out(bus, PMBASE + ACPI_PM1_STS, ACPI_PWRBTN_STS, 2);
    cr_expect_eq(sci, 0);
    cr_expect_eq(poweroffs, 0, "the OS decides to power off, not the button");
}

Test(acpi, smbus_answers_no_device)
{
    program(PMBASE);
    cr_expect_eq(bus_in(bus, SMBASE + ACPI_SMB_HSTSTS, 1), 0, "idle");
    bus_out(bus, SMBASE + ACPI_SMB_HSTADD, 0x50 << 1 | 1, 1); /* read from EEPROM 0x50 */
    bus_out(bus, SMBASE + ACPI_SMB_HSTCMD, 0x00, 1);
    bus_out(bus, SMBASE + ACPI_SMB_HSTCNT, 0x48, 1); /* START, byte data */
    uint8_t sts = (uint8_t)bus_in(bus, SMBASE + ACPI_SMB_HSTSTS, 1);
    cr_expect_eq(sts & ACPI_SMB_STS_BUSY, 0, "never stuck busy");
    cr_expect_eq(sts & ACPI_SMB_STS_DEV_ERR, ACPI_SMB_STS_DEV_ERR, "no acknowledge");
    cr_expect_eq(sts & ACPI_SMB_STS_INTR, 0, "not a completion");
    cr_expect_eq(bus_in(bus, SMBASE + ACPI_SMB_HSTCNT, 1), 0x08, "START reads back 0");
    bus_out(bus, SMBASE + ACPI_SMB_HSTSTS, 0x1E, 1);
    cr_expect_eq(bus_in(bus, SMBASE + ACPI_SMB_HSTSTS, 1), 0);
    bus_out(bus, SMBASE + ACPI_SMB_HSTCNT, 0x02, 1); /* KILL */
    cr_expect_eq(bus_in(bus, SMBASE + ACPI_SMB_HSTSTS, 1), ACPI_SMB_STS_FAILED);
    /* SMBHSTCFG bit 0 gates the block */
    cfg_w(0xD2, 0x08, 1);
    cr_expect_eq(bus_in(bus, SMBASE + ACPI_SMB_HSTSTS, 1), 0xFF);
}

static uint32_t dummy_read(void *opaque, uint32_t off, int size)
{
    return 0;
}

static void dummy_write(void *opaque, uint32_t off, uint32_t val, int size)
{
    (void)opaque;
}

static const struct io_ops dummy_ops = { dummy_read, dummy_write, 1 };

Test(acpi, seabios_table_ports_and_devres_bits)
{
    /* the SSDT builder reads the removable-slots word at 0xAE0C */
    cr_expect_eq(bus_in(bus, ACPI_PCIHP_PORT + 0x0C, 4), 0u);
    cr_expect_eq(bus_in(bus, ACPI_PCIHP_PORT, 4), 0u, "PCIU: nothing plugged");
    /* COM1 present, COM2 and LPT1 absent: the DSDT's _STA bits */
    cr_assert_eq(bus_map_ports(bus, 0x3F8, 8, &dummy_ops, NULL), 0);
    cr_expect_eq(cfg_r(0x67, 1), 0x08);
    cr_expect_eq(cfg_r(0x5F, 1), 0x10);
    cr_expect_eq(cfg_r(0x63, 1), 0x60);
}

Test(acpi, board_reset_restores_power_on_state)
{
    program(PMBASE);
    bus_out(bus, ACPI_APMC_PORT, ACPI_ENABLE_CMD, 1);
    bus_out(bus, PMBASE + ACPI_PM1_EN, ACPI_TMR_STS | ACPI_PWRBTN_STS, 2);
    acpi_pm_powerbutton(pm);
    cr_assert_eq(sci, 1);
    acpi_pm_reset(pm);
    cr_expect_eq(sci, 0);
    cr_expect_eq(clock_next_deadline(&clk), CLOCK_NEVER);
    cr_expect_eq(in16(PMBASE + ACPI_PM1_STS), 0xFFFF, "unmapped again");
    cr_expect_eq(bus_in(bus, SMBASE, 1), 0xFF);
    cr_expect_eq(cfg_r(0x40, 4), 1u);
    cr_expect_eq(cfg_r(0x5B, 1), 0x02);
    program(PMBASE);
    cr_expect_eq(in16(PMBASE + ACPI_PM1_STS), 0);
    cr_expect_eq(in16(PMBASE + ACPI_PM1_EN), 0);
    cr_expect_eq(in16(PMBASE + ACPI_PM1_CNT), 0);
}

Test(acpi, a_read_past_the_toggle_raises_the_sci_before_the_timer_runs)
{
    program(PMBASE);
    bus_out(bus, ACPI_APMC_PORT, ACPI_ENABLE_CMD, 1);
    bus_out(bus, PMBASE + ACPI_PM1_EN, ACPI_TMR_STS, 2);
    now = ns_for(TOGGLE_TICKS) + 1000; /* the CPU ran past the deadline */
    cr_expect_eq(sci, 0);
    cr_expect_eq(in16(PMBASE + ACPI_PM1_STS), ACPI_TMR_STS);
    cr_expect_eq(sci, 1);
    clock_run_due(&clk);
    cr_expect_eq(sci_rises, 1, "the late timer does not raise it twice");
}

Test(acpi, bios_release_of_the_global_lock_sets_gbl_sts)
{
    program(PMBASE);
    bus_out(bus, ACPI_APMC_PORT, ACPI_ENABLE_CMD, 1);
    bus_out(bus, PMBASE + ACPI_PM1_EN, ACPI_GBL_STS, 2);
    bus_out(bus, PMBASE + 0x28, 0x02, 4); /* GLBCTL.BIOS_RLS */
    cr_expect_eq(in16(PMBASE + ACPI_PM1_STS), ACPI_GBL_STS);
    cr_expect_eq(sci, 1);
    cr_expect_eq(bus_in(bus, PMBASE + 0x28, 4), 0u, "BIOS_RLS reads back 0");
    bus_out(bus, PMBASE + ACPI_PM1_STS, ACPI_GBL_STS, 2);
    cr_expect_eq(sci, 0);
    /* the other registers of the block keep what is written */
    bus_out(bus, PMBASE + 0x2C, 0x12345678u, 4); /* DEVCTL */
    cr_expect_eq(bus_in(bus, PMBASE + 0x2C, 4), 0x12345678u);
    bus_out(bus, PMBASE + 0x10, 0x00000010u, 4); /* PCNTRL */
    cr_expect_eq(bus_in(bus, PMBASE + 0x10, 4), 0x10u);
}
