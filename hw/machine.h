/*
 * machine.h - the minimal board: RAM, a firmware ROM, a CPU, and the two
 * test devices (isa-debugcon, isa-debug-exit).
 *
 * This is the machine kasou runs until the full PC (hw/pc.c) arrives.  The
 * firmware image is mapped at the top of the 4 GiB space and its last
 * 128 KiB (or all of it, if smaller) again just below 1 MiB, where a PC's
 * BIOS lives, so the reset vector at 0xFFFFFFF0 and real-mode code at
 * F000:xxxx see the same bytes.
 *
 * machine_run() runs the CPU in slices and stops when:
 *   - the guest writes the debug-exit port: status (V << 1) | 1;
 *   - the guest resets (triple fault) with no_reboot set: status 0
 *     (without it the CPU is reset and runs the firmware again);
 *   - the timeout expires: status MACHINE_EXIT_TIMEOUT (124);
 *   - the CPU halts and nothing can wake it (interrupts disabled, or no
 *     interrupt controller on this board): status 0 with a message, unless
 *     a timeout was given, in which case it waits for the timeout as QEMU
 *     would hang.
 */
#ifndef KASOU_MACHINE_H
#define KASOU_MACHINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hw/timer.h"

struct bus;
struct cpu;
struct chardev;
struct debugcon;
struct debugexit;
struct pc;
struct blockdev;
struct display;

#define MACHINE_MAX_DEVICES 8
#define MACHINE_ROM_MAX (16u << 20)      /* largest firmware image */
#define MACHINE_ROM_ALIGN 4096u          /* image sizes are whole pages */
#define MACHINE_ROM_LOW_MAX (128u << 10) /* part mirrored below 1 MiB */
#define MACHINE_EXIT_TIMEOUT 124         /* as timeout(1) */
#define MACHINE_MAX_DRIVES 6             /* 4 IDE + 2 floppy */

struct machine_config {
    uint32_t ram_size;
    const char *bios_path; /* firmware image */
    bool no_reboot;        /* a guest reset ends the run */
    uint64_t timeout_ns;   /* 0: run until the guest ends */
    int icount_shift;      /* -1: virtual time follows the host clock;
                              0-10: each instruction is 2^N ns of virtual
                              time, and -timeout counts virtual time */
    const char *vgabios_path; /* the VGA BIOS handed to the firmware */
    bool no_shutdown;      /* guest power-off pauses instead of exiting */
    bool nographic;        /* tell the firmware: its console is COM1 too */
};

enum machine_if { MACHINE_IF_IDE, MACHINE_IF_FLOPPY };

/* One -drive (or -hda, -cdrom, -fda ...). */
struct machine_drive {
    const char *path;      /* image; NULL: an empty CD-ROM tray */
    enum machine_if iface;
    int index;             /* IDE 0-3 (channel * 2 + unit), floppy 0-1 */
    bool cdrom;
    const char *format;    /* "raw", "qcow2", NULL: probe */
    bool read_only;
    bool snapshot;         /* writes go to a temporary overlay */
};

/* The run state a monitor reports. */
enum machine_state { MACHINE_RUNNING, MACHINE_PAUSED, MACHINE_SHUTDOWN };

struct machine {
    struct bus *bus;
    struct cpu *cpu;
    struct clock clock;   /* virtual time for the chipset's timers */
    struct pc *pc;        /* PIC, PIT, RTC, FERR latch, ports 0x61/0x92 */
    uint8_t *rom;
    uint32_t rom_size;
    uint8_t *rom_low;     /* 128 KiB: what the firmware shows at 0xE0000 */
    struct debugcon *debugcon[MACHINE_MAX_DEVICES];
    int ndebugcon;
    struct debugexit *debugexit[MACHINE_MAX_DEVICES];
    int ndebugexit;
    bool no_reboot;
    uint64_t timeout_ns;
    bool deterministic;   /* -icount: time from retired instructions */
    struct blockdev *drives[MACHINE_MAX_DRIVES];
    int ndrives;
    struct display *display;  /* what the VGA shows, rendered on demand */
    bool no_shutdown;
    bool host_reset;      /* the pending reset came from the monitor */
    enum machine_state state;
    /* front ends (display window, monitor): polled between CPU slices and
     * while paused; told of events ("SHUTDOWN", "RESET", ...) */
    void (*poll)(void *opaque);
    void (*event)(void *opaque, const char *name, const char *data_json);
    void *ui_opaque;
    /* run state */
    bool exit_requested;
    int exit_status;
    /* whether a front end may still act (a monitor's input is open, a
     * window is up); NULL: any poll hook may */
    bool (*ui_live)(void *opaque);
};

/* Build the board; NULL with a message in err[] on failure. */
struct machine *machine_new(const struct machine_config *cfg, char *err, size_t errlen);
/* Add devices; -1 with a message in err[] (port in use, too many). */
int machine_add_debugcon(struct machine *m, uint16_t iobase, uint8_t readback, struct chardev *chr,
                         char *err, size_t errlen);
int machine_add_debugexit(struct machine *m, uint16_t iobase, uint16_t iosize, char *err,
                          size_t errlen);
/* COM port `index` (0-3) talking to `chr`; -1 with a message in err[]. */
int machine_add_serial(struct machine *m, int index, struct chardev *chr, char *err,
                       size_t errlen);
/*
 * -kernel, -initrd, -append: a Linux bzImage (with its initrd) or a
 * Multiboot kernel (with modules), handed to the firmware through fw_cfg
 * with kasou's loader option ROM, which SeaBIOS boots first, as QEMU
 * does (see hw/linuxboot.h); a reset boots it again.  initrd may be NULL.
 * -1 with a message in err[].
 */
int machine_load_linux(struct machine *m, const char *kernel, const char *initrd,
                       const char *cmdline, char *err, size_t errlen);
/* Open an image and attach it; -1 with a message in err[]. */
int machine_add_drive(struct machine *m, const struct machine_drive *d, char *err,
                      size_t errlen);
/* -boot order=...,menu=on|off (see pc_set_boot). */
void machine_set_boot(struct machine *m, const char *order, bool menu);
/* Bring m->display up to date with the VGA; true if it changed. */
bool machine_render(struct machine *m);
/* Monitor requests (they take effect between CPU slices). */
void machine_pause(struct machine *m);
void machine_resume(struct machine *m);
void machine_request_reset(struct machine *m);
void machine_powerdown(struct machine *m);      /* ACPI power button */
void machine_quit(struct machine *m, int status);
/* Host input for the PS/2 devices (hw/i8042.h codes). */
void machine_key(struct machine *m, int key, bool down);
void machine_mouse(struct machine *m, int dx, int dy, int dz, int buttons);
/* Run until the guest or a limit ends it; returns the exit status. */
int machine_run(struct machine *m);
void machine_free(struct machine *m);

#endif
