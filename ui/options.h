/*
 * options.h - kasou's command line, parsed into a plain struct.
 *
 * Option names and value syntax follow QEMU where QEMU has the option
 * (-bios, -m, -nographic, -display, -chardev, -device, -debugcon, -serial,
 * -d, -D, -accel, -no-reboot, -no-shutdown, -kernel, -initrd, -append,
 * -drive, -hda..-hdd, -cdrom, -fda/-fdb, -boot, -snapshot, -name, -qmp);
 * -timeout, -screenshot and -screen-text are kasou's own.  Options may be spelled
 * with one dash or two.  Numbers accept 0x hex as QEMU does; "a,b=c"
 * lists use ",," for a literal comma.  Nothing is opened or created here:
 * ui/main.c turns the struct into chardevs and a machine.
 */
#ifndef KASOU_OPTIONS_H
#define KASOU_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#define OPT_MAX_CHARDEVS 16
#define OPT_MAX_DEVICES 16
#define OPT_ID_MAX 32
#define OPT_PATH_MAX 4096
#define OPT_RAM_DEFAULT (128u << 20)
#define OPT_RAM_MIN (1u << 20)
#define OPT_RAM_MAX (3584u << 20) /* below the PCI hole and firmware */

struct opt_chardev {
    char id[OPT_ID_MAX];
    int backend;             /* enum chardev_backend */
    char path[OPT_PATH_MAX]; /* file backend */
    bool append;
};

enum opt_device_kind { OPT_DEV_DEBUGCON, OPT_DEV_DEBUGEXIT };

struct opt_device {
    enum opt_device_kind kind;
    uint16_t iobase;
    uint16_t iosize;          /* isa-debug-exit */
    uint8_t readback;         /* isa-debugcon */
    char chardev[OPT_ID_MAX]; /* isa-debugcon */
};

#define OPT_MAX_SERIAL 4    /* COM1-COM4 */

/* One -serial: the chardev (by id) the next COM port talks to. */
struct opt_serial {
    char chardev[OPT_ID_MAX];  /* empty: the port exists, unconnected */
};

enum opt_display { OPT_DISPLAY_DEFAULT, OPT_DISPLAY_NONE, OPT_DISPLAY_SDL };

#define OPT_MAX_DRIVES 6   /* -drive: 4 IDE + 2 floppy */

enum opt_if { OPT_IF_IDE, OPT_IF_FLOPPY };

/* One -drive, -hda..-hdd, -cdrom, -fda/-fdb. */
struct opt_drive {
    char file[OPT_PATH_MAX]; /* empty: an empty CD-ROM drive */
    enum opt_if iface;
    int index;             /* -1 until assigned */
    bool cdrom;
    char format[16];       /* empty: probe */
    bool read_only;
    int snapshot;          /* -1 unset (follows -snapshot), 0, 1 */
    const char *opt;       /* the option that made it, for messages */
};

enum { OPT_ACCEL_DEFAULT, OPT_ACCEL_JIT, OPT_ACCEL_INTERP };

struct options {
    char bios[OPT_PATH_MAX]; /* resolved firmware path */
    uint32_t ram_size;
    enum opt_display display;
    bool nographic;
    bool no_reboot;
    bool have_debugcon;   /* -debugcon given (QEMU allows one) */
    double timeout;       /* seconds; 0: none */
    int accel;            /* OPT_ACCEL_*: -accel jit|interp */
    bool jit_check;       /* -accel jit,check=on: lockstep against the interpreter */
    int icount_shift;     /* -icount shift=N: 0-10; -1 without -icount */
    const char *log_path; /* -D */
    struct opt_chardev chardevs[OPT_MAX_CHARDEVS];
    int nchardevs;
    struct opt_device devices[OPT_MAX_DEVICES];
    int ndevices;
    struct opt_serial serial[OPT_MAX_SERIAL];
    int nserial;
    bool serial_given;    /* any -serial, even none: no -nographic default */
    const char *kernel;   /* -kernel: a bzImage booted directly, or NULL */
    const char *initrd;   /* -initrd (needs -kernel) */
    const char *append;   /* -append: the kernel command line (needs -kernel) */
    struct opt_drive drives[OPT_MAX_DRIVES];
    int ndrives;
    char boot_order[4];   /* -boot order=: up to three of a, c, d, n */
    bool boot_menu;
    bool snapshot;        /* -snapshot: every drive writes to an overlay */
    const char *screenshot;  /* -screenshot FILE.png: the screen at exit */
    const char *screen_text; /* -screen-text FILE: the text screen at exit */
    char name[128];       /* -name: the window title (empty: none) */
    bool no_shutdown;     /* guest power-off pauses instead of exiting */
    const char *qmp;      /* -qmp SPEC, or NULL */
    /* The human monitor: on chardev monitor_chardev ("" none), shared with
     * the COM port using it (-nographic, -serial mon:stdio: Ctrl-A
     * escapes) or alone (-monitor stdio). */
    char monitor_chardev[OPT_ID_MAX];
    bool monitor_shared;
    bool monitor_given;   /* -monitor, even none: no -nographic default */
};

enum opt_result {
    OPT_RUN,   /* parsed: run the machine */
    OPT_DONE,  /* an informational option ran (-help, -version, -d help) */
    OPT_ERROR, /* a message was printed; exit with status 1 */
};

enum opt_result options_parse(struct options *o, int argc, char **argv);
void options_usage(void);

#endif
