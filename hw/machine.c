/*
 * machine.c - the minimal board and its run loop (see machine.h).
 *
 * The board owns everything it creates (bus, ROM image, CPU, devices) and
 * all run state lives in struct machine, so tests can build several.
 * The loop runs the CPU in slices of MACHINE_SLICE instructions; between
 * slices it flushes the consoles and checks the stop conditions.  A device
 * that asks to stop the machine also marks the CPU halted, which ends the
 * current slice at the next instruction boundary.
 */
#include "machine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cpu/cpu.h"
#include "hw/block/block.h"
#include "hw/bus.h"
#include "hw/debugcon.h"
#include "hw/debugexit.h"
#include "hw/acpi.h"
#include "hw/fdc.h"
#include "hw/i8042.h"
#include "hw/ide.h"
#include "hw/linuxboot.h"
#include "hw/pc.h"
#include "hw/vga.h"
#include "ui/display.h"
#include "util/log.h"

#define MACHINE_SLICE 20000   /* instructions between timer checks */
#define IDLE_SLEEP_NS 1000000 /* a halted CPU sleeps at most this long */
#define PAUSE_SLEEP_NS 10000000 /* a paused machine polls its front ends */
#define VGABIOS_MAX (256u << 10)

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Check an image size against the rules in machine.h. */
static int check_rom_size(const char *path, long long size, char *err, size_t errlen)
{
    if (size == 0) {
        snprintf(err, errlen, "firmware image '%s' is empty", path);
        return -1;
    }
    if (size > (long long)MACHINE_ROM_MAX) {
        snprintf(err, errlen,
                 "firmware image '%s' is too large "
                 "(%lld bytes; at most 16 MiB)",
                 path, size);
        return -1;
    }
    if (size % MACHINE_ROM_ALIGN) {
        snprintf(err, errlen,
                 "firmware image '%s' has size %lld, "
                 "not a multiple of 4 KiB",
                 path, size);
        return -1;
    }
    return 0;
}

/* Read the whole firmware image into m->rom. */
static int load_rom(struct machine *m, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (!f) {
        snprintf(err, errlen, "cannot open firmware image '%s': %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "firmware image '%s' is not a regular file", path);
        fclose(f);
        return -1;
    }
    if (check_rom_size(path, (long long)st.st_size, err, errlen) < 0) {
        fclose(f);
        return -1;
    }
    m->rom_size = (uint32_t)st.st_size;
    m->rom = malloc(m->rom_size);
    if (!m->rom || fread(m->rom, 1, m->rom_size, f) != m->rom_size) {
        snprintf(err, errlen, "cannot read firmware image '%s'%s", path,
                 m->rom ? ": short read" : ": out of memory");
        fclose(f);
        return -1;
    }
    fclose(f);
    return 0;
}

/*
 * The image at 4 GiB - size; its last 128 KiB (padded below with 0xFF when
 * it is smaller) are what the host bridge shows at 0xE0000-0xFFFFF.
 */
static int map_rom(struct machine *m, char *err, size_t errlen)
{
    uint32_t low = m->rom_size < MACHINE_ROM_LOW_MAX ? m->rom_size : MACHINE_ROM_LOW_MAX;
    uint32_t high_base = (uint32_t)(0x100000000ull - m->rom_size);
    m->rom_low = malloc(MACHINE_ROM_LOW_MAX);
    if (!m->rom_low) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memset(m->rom_low, 0xFF, MACHINE_ROM_LOW_MAX - low);
    memcpy(m->rom_low + (MACHINE_ROM_LOW_MAX - low), m->rom + (m->rom_size - low), low);
    if (bus_map_rom(m->bus, high_base, m->rom_size, m->rom) < 0) {
        snprintf(err, errlen, "cannot map the firmware image");
        return -1;
    }
    return 0;
}

/*
 * SeaBIOS runs the option ROM of a PCI VGA from the fw_cfg file named
 * after its vendor and device IDs, as QEMU's pc machine provides it.
 */
static int load_vgabios(struct machine *m, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open the VGA BIOS '%s': %s", path, strerror(errno));
        return -1;
    }
    uint8_t *buf = malloc(VGABIOS_MAX);
    size_t n = buf ? fread(buf, 1, VGABIOS_MAX, f) : 0;
    bool too_big = n == VGABIOS_MAX && fgetc(f) != EOF;
    fclose(f);
    if (!buf || n < 512 || too_big || buf[0] != 0x55 || buf[1] != 0xAA) {
        snprintf(err, errlen, "'%s' is not a VGA BIOS option ROM", path);
        free(buf);
        return -1;
    }
    int r = fw_cfg_add_file(m->pc->fw_cfg, "pci1234,1111.rom", buf, (uint32_t)n);
    free(buf);
    if (r < 0) {
        snprintf(err, errlen, "fw_cfg is full");
        return -1;
    }
    return 0;
}

static void emit(struct machine *m, const char *name, const char *data)
{
    if (m->event) {
        m->event(m->ui_opaque, name, data);
    }
}

/* ACPI S5: the run ends with status 0, or pauses under -no-shutdown. */
static void guest_poweroff(void *opaque)
{
    struct machine *m = opaque;
    emit(m, "SHUTDOWN", "{\"guest\": true, \"reason\": \"guest-shutdown\"}");
    if (m->no_shutdown) {
        m->state = MACHINE_SHUTDOWN;
        m->cpu->halted = true;
        return;
    }
    if (!m->exit_requested) {
        m->exit_requested = true;
        m->exit_status = 0;
    }
    m->cpu->halted = true;
}

struct machine *machine_new(const struct machine_config *cfg, char *err, size_t errlen)
{
    struct machine *m = calloc(1, sizeof(*m));
    if (!m) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    m->no_reboot = cfg->no_reboot;
    m->timeout_ns = cfg->timeout_ns;
    m->bus = bus_new(cfg->ram_size);
    if (!m->bus) {
        snprintf(err, errlen, "cannot allocate %u MiB of guest RAM", cfg->ram_size >> 20);
        machine_free(m);
        return NULL;
    }
    /* The ROM must be mapped before the CPU fills its TLB. */
    if (load_rom(m, cfg->bios_path, err, errlen) < 0 || map_rom(m, err, errlen) < 0) {
        machine_free(m);
        return NULL;
    }
    m->cpu = calloc(1, sizeof(*m->cpu));
    if (!m->cpu) {
        snprintf(err, errlen, "out of memory");
        machine_free(m);
        return NULL;
    }
    cpu_init(m->cpu, m->bus);
    m->deterministic = cfg->icount_shift >= 0;
    m->cpu->run_may_overrun = !m->deterministic;
    clock_init(&m->clock, m->deterministic ? CLOCK_DETERMINISTIC : CLOCK_REALTIME,
               &m->cpu->icount);
    if (m->deterministic) {
        m->clock.ns_per_insn_q8 = 256u << cfg->icount_shift;
    }
    m->pc = pc_new(m->bus, m->cpu, &m->clock, cfg->ram_size, m->rom_low);
    if (!m->pc) {
        snprintf(err, errlen, "cannot create the chipset (PIC, PIT, RTC)");
        machine_free(m);
        return NULL;
    }
    if (cfg->nographic) {
        fw_cfg_add_i16(m->pc->fw_cfg, FW_CFG_NOGRAPHIC, 1);
    }
    m->pc->poweroff = guest_poweroff;
    m->pc->poweroff_opaque = m;
    m->no_shutdown = cfg->no_shutdown;
    m->display = display_new();
    if (!m->display ||
        (cfg->vgabios_path && load_vgabios(m, cfg->vgabios_path, err, errlen) < 0)) {
        if (!m->display) {
            snprintf(err, errlen, "out of memory");
        }
        machine_free(m);
        return NULL;
    }
    return m;
}

/* -1 with a message if any port of [base, base + len) is taken. */
static int ports_free(struct machine *m, const char *dev, uint16_t base, uint16_t len, char *err,
                      size_t errlen)
{
    if ((uint32_t)base + len > 0x10000u || len == 0) {
        snprintf(err, errlen, "%s: ports %#x+%u do not fit the I/O space", dev, base, len);
        return -1;
    }
    for (uint32_t p = base; p < (uint32_t)base + len; p++) {
        if (m->bus->port_index[p]) {
            snprintf(err, errlen, "%s: I/O port %#x is already in use", dev, p);
            return -1;
        }
    }
    return 0;
}

int machine_add_debugcon(struct machine *m, uint16_t iobase, uint8_t readback, struct chardev *chr,
                         char *err, size_t errlen)
{
    if (m->ndebugcon == MACHINE_MAX_DEVICES) {
        snprintf(err, errlen, "isa-debugcon: too many devices");
        return -1;
    }
    if (ports_free(m, "isa-debugcon", iobase, 1, err, errlen) < 0) {
        return -1;
    }
    struct debugcon *dc = debugcon_new(m->bus, iobase, readback, chr);
    if (!dc) {
        snprintf(err, errlen, "isa-debugcon: cannot register port %#x", iobase);
        return -1;
    }
    m->debugcon[m->ndebugcon++] = dc;
    return 0;
}

/* debug-exit callback: record the status and end the CPU's slice. */
static void request_exit(void *opaque, int status)
{
    struct machine *m = opaque;
    if (!m->exit_requested) {
        m->exit_requested = true;
        m->exit_status = status;
    }
    m->cpu->halted = true;
}

int machine_add_debugexit(struct machine *m, uint16_t iobase, uint16_t iosize, char *err,
                          size_t errlen)
{
    if (m->ndebugexit == MACHINE_MAX_DEVICES) {
        snprintf(err, errlen, "isa-debug-exit: too many devices");
        return -1;
    }
    if (ports_free(m, "isa-debug-exit", iobase, iosize, err, errlen) < 0) {
        return -1;
    }
    struct debugexit *de = debugexit_new(m->bus, iobase, iosize, request_exit, m);
    if (!de) {
        snprintf(err, errlen, "isa-debug-exit: cannot register ports %#x+%u", iobase, iosize);
        return -1;
    }
    m->debugexit[m->ndebugexit++] = de;
    return 0;
}

int machine_add_serial(struct machine *m, int index, struct chardev *chr, char *err,
                       size_t errlen)
{
    if (pc_add_serial(m->pc, index, chr) < 0) {
        snprintf(err, errlen, "serial port COM%d: cannot create it", index + 1);
        return -1;
    }
    return 0;
}

int machine_load_linux(struct machine *m, const char *kernel, const char *initrd,
                       const char *cmdline, char *err, size_t errlen)
{
    /* Through the firmware, as QEMU: SeaBIOS boots it again after a reset.
     * fw_cfg keeps its own copy of every piece. */
    struct linuxboot *lb = linuxboot_new(kernel, initrd, cmdline, m->bus->ram_size, err, errlen);
    int rc = lb ? linuxboot_install(lb, m->pc->fw_cfg, err, errlen) : -1;
    linuxboot_free(lb);
    return rc;
}

int machine_add_drive(struct machine *m, const struct machine_drive *d, char *err,
                      size_t errlen)
{
    static const char *const ide_name[4] = { "primary master", "primary slave",
                                             "secondary master", "secondary slave" };
    int max = d->iface == MACHINE_IF_IDE ? 4 : 2;
    if (d->index < 0 || d->index >= max || m->ndrives == MACHINE_MAX_DRIVES) {
        snprintf(err, errlen, "drive index %d is out of range (%s: 0-%d)", d->index,
                 d->iface == MACHINE_IF_IDE ? "ide" : "floppy", max - 1);
        return -1;
    }
    struct blockdev *blk = NULL;
    if (d->path) {
        struct blk_open_opts o = { .format = d->format,
                                   .read_only = d->read_only || d->cdrom,
                                   .snapshot = d->snapshot };
        blk = blk_open(d->path, &o, err, errlen);
        if (!blk) {
            return -1;
        }
    } else if (!d->cdrom) {
        snprintf(err, errlen, "a %s needs an image file", d->iface == MACHINE_IF_IDE
                                                             ? "disk" : "floppy drive");
        return -1;
    }
    char why[256];
    int r = d->iface == MACHINE_IF_IDE
                ? ide_attach(m->pc->ide, d->index / 2, d->index % 2,
                             d->cdrom ? IDE_CDROM : IDE_DISK, blk, why, sizeof(why))
                : fdc_attach(m->pc->fdc, d->index, blk, why, sizeof(why));
    if (r < 0) {
        if (d->iface == MACHINE_IF_IDE) {
            snprintf(err, errlen, "IDE %s: %s", ide_name[d->index], why);
        } else {
            snprintf(err, errlen, "floppy %c: %s", 'A' + d->index, why);
        }
        blk_close(blk);
        return -1;
    }
    if (blk) {
        m->drives[m->ndrives++] = blk;
    }
    pc_update_cmos_drives(m->pc);
    return 0;
}

void machine_set_boot(struct machine *m, const char *order, bool menu)
{
    pc_set_boot(m->pc, order, menu);
}

bool machine_render(struct machine *m)
{
    return vga_render(m->pc->vga, m->display);
}

void machine_pause(struct machine *m)
{
    if (m->state == MACHINE_RUNNING) {
        m->state = MACHINE_PAUSED;
        emit(m, "STOP", NULL);
    }
}

void machine_resume(struct machine *m)
{
    if (m->state == MACHINE_PAUSED) {
        m->state = MACHINE_RUNNING;
        emit(m, "RESUME", NULL);
    }
}

void machine_request_reset(struct machine *m)
{
    m->host_reset = true;
    m->pc->hard_reset = true;
    m->cpu->reset_request = true;
    if (m->state == MACHINE_SHUTDOWN) {
        m->state = MACHINE_RUNNING;
    }
}

void machine_powerdown(struct machine *m)
{
    emit(m, "POWERDOWN", NULL);
    acpi_pm_powerbutton(m->pc->acpi);
}

void machine_quit(struct machine *m, int status)
{
    if (!m->exit_requested) {
        m->exit_requested = true;
        m->exit_status = status;
    }
    m->cpu->halted = true;
}

void machine_key(struct machine *m, int key, bool down)
{
    i8042_key(m->pc->kbc, key, down);
}

void machine_mouse(struct machine *m, int dx, int dy, int dz, int buttons)
{
    i8042_mouse(m->pc->kbc, dx, dy, dz, buttons);
}

static void flush_consoles(struct machine *m)
{
    pc_flush_serial(m->pc);
    for (int i = 0; i < m->ndebugcon; i++) {
        debugcon_flush(m->debugcon[i]);
    }
}

/* A halted CPU that nothing on this board can wake up. */
static bool halted_for_good(const struct machine *m)
{
    return m->cpu->halted && !m->cpu->nmi_pending &&
           (!(m->cpu->eflags & F_IF) || !pc_can_interrupt(m->pc));
}

/* Sleep while halted: until the next timer deadline, at most 1 ms. */
static void idle(struct machine *m)
{
    uint64_t now = clock_ns(&m->clock), next = clock_next_deadline(&m->clock);
    uint64_t ns = IDLE_SLEEP_NS;
    if (next <= now) {
        return;
    }
    if (next - now < ns) {
        ns = next - now;
    }
    struct timespec ts = { 0, (long)ns };
    nanosleep(&ts, NULL);
}

/* Handle a guest reset request; true if the run must end. */
static bool handle_reset(struct machine *m)
{
    if (m->no_reboot) {
        fprintf(stderr, "kasou: guest reset (triple fault or reset request); "
                        "exiting because of -no-reboot\n");
        return true;
    }
    emit(m, "RESET", m->host_reset ? "{\"guest\": false, \"reason\": \"host-qmp-system-reset\"}"
                                   : "{\"guest\": true, \"reason\": \"guest-reset\"}");
    m->host_reset = false;
    if (m->pc->hard_reset) {
        log_ch(LOG_CPU, "guest reset: hard reset of the board");
        pc_reset(m->pc);
        cpu_reset(m->cpu);
    } else {
        log_ch(LOG_CPU, "guest reset: INIT of the CPU");
        cpu_init_signal(m->cpu);
        pc_init_signal(m->pc); /* INIT# reaches the local APIC too */
    }
    return false;
}

/* Time for -timeout: the host's, or virtual time under -icount. */
static uint64_t run_time(struct machine *m)
{
    return m->deterministic ? clock_ns(&m->clock) : now_ns();
}

/*
 * Instructions until the next timer deadline (deterministic time only:
 * there a slice must end exactly where a timer is due).
 */
static uint64_t slice_len(struct machine *m)
{
    if (!m->deterministic) {
        return MACHINE_SLICE;
    }
    uint64_t now = clock_ns(&m->clock), next = clock_next_deadline(&m->clock);
    uint64_t per = m->clock.ns_per_insn_q8 >> 8;
    if (next == CLOCK_NEVER) {
        return MACHINE_SLICE;
    }
    if (next <= now) {
        return 1;
    }
    uint64_t n = (next - now + per - 1) / per;
    return n < MACHINE_SLICE ? n : MACHINE_SLICE;
}

/*
 * A halted CPU under deterministic time: jump virtual time to the next
 * timer (or to the -timeout limit); false if there is nothing to wait for.
 */
static bool warp(struct machine *m, uint64_t deadline)
{
    uint64_t now = clock_ns(&m->clock), next = clock_next_deadline(&m->clock);
    if (deadline && (next == CLOCK_NEVER || next > deadline)) {
        next = deadline;
    }
    if (next == CLOCK_NEVER) {
        return false;
    }
    if (next > now) {
        m->clock.offset += next - now;
    }
    return true;
}

/* The -timeout limit: true (with a message) once it has passed. */
static bool timed_out(struct machine *m, uint64_t deadline)
{
    if (!deadline || run_time(m) < deadline) {
        return false;
    }
    fprintf(stderr, "kasou: -timeout: stopping the guest after %.3g s%s\n",
            (double)m->timeout_ns / 1e9, m->deterministic ? " of virtual time" : "");
    return true;
}

/* Paused or shut down (-no-shutdown): only the front ends run. */
static void wait_paused(struct machine *m)
{
    struct timespec ts = { 0, PAUSE_SLEEP_NS };
    nanosleep(&ts, NULL);
}

int machine_run(struct machine *m)
{
    uint64_t deadline = m->timeout_ns ? run_time(m) + m->timeout_ns : 0;
    for (;;) {
        if (m->poll) {
            m->poll(m->ui_opaque);
        }
        if (m->exit_requested) {
            return m->exit_status;
        }
        if (m->cpu->reset_request && handle_reset(m)) {
            return 0;
        }
        if (m->state != MACHINE_RUNNING) {
            if (timed_out(m, deadline)) {
                return MACHINE_EXIT_TIMEOUT;
            }
            wait_paused(m);
            continue;
        }
        cpu_run(m->cpu, slice_len(m));
        clock_run_due(&m->clock);
        pc_poll_serial(m->pc);
        flush_consoles(m);
        if (m->exit_requested || m->cpu->reset_request) {
            continue;
        }
        if (timed_out(m, deadline)) {
            return MACHINE_EXIT_TIMEOUT;
        }
        if (m->cpu->halted && m->state == MACHINE_RUNNING) {
            bool live = m->poll && (!m->ui_live || m->ui_live(m->ui_opaque));
            if (halted_for_good(m) && !deadline && !live) {
                fprintf(stderr,
                        "kasou: guest halted %s; nothing can wake it, "
                        "exiting\n",
                        (m->cpu->eflags & F_IF) ? "with no interrupt source armed"
                                                : "with interrupts disabled");
                return 0;
            }
            if (!m->deterministic) {
                idle(m);
            } else if (!warp(m, deadline)) {
                wait_paused(m); /* only a front end can end this */
            }
            clock_run_due(&m->clock);
        }
    }
}

void machine_free(struct machine *m)
{
    if (!m) {
        return;
    }
    for (int i = 0; i < m->ndebugcon; i++) {
        debugcon_flush(m->debugcon[i]);
        debugcon_free(m->debugcon[i]);
    }
    for (int i = 0; i < m->ndebugexit; i++) {
        debugexit_free(m->debugexit[i]);
    }
    pc_free(m->pc);
    for (int i = 0; i < m->ndrives; i++) {
        blk_flush(m->drives[i]);
        blk_close(m->drives[i]);
    }
    display_free(m->display);
    free(m->cpu);
    bus_free(m->bus);
    free(m->rom);
    free(m->rom_low);
    free(m);
}
