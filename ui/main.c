/*
 * main.c - kasou's entry point: parse the command line, build the
 * character backends and the machine, run it, and turn the way it ended
 * into the process exit status (see hw/machine.h for the statuses).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#ifdef CONFIG_JIT
#include "jit/jit.h"
#endif
#include "hw/machine.h"
/* after hw/timer.h (through machine.h): its enum names CLOCK_REALTIME */
#include <time.h>
#include "ui/chardev.h"
#include "ui/monitor.h"
#include "ui/options.h"
#include "ui/screen.h"
#ifdef CONFIG_SDL
#include "ui/sdl.h"
#endif

#define REFRESH_NS 16000000ull /* the window is redrawn at about 60 Hz */
#include "util/log.h"

#define ERR_MAX 512

struct session {
    struct options opts;
    struct chardev *chr[OPT_MAX_CHARDEVS];
    struct machine *machine;
    struct monitor *monitor;   /* -qmp */
    struct monitor *hmon;      /* the human monitor on the terminal */
#ifdef CONFIG_SDL
    struct sdl_ui *sdl;        /* -display sdl */
#endif
    uint64_t last_refresh;     /* host ns of the last window update */
};

static uint64_t host_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Between CPU slices and while paused: the monitor and the window. */
static void session_poll(void *opaque)
{
    struct session *s = opaque;
    if (s->monitor) {
        monitor_poll(s->monitor);
    }
    if (s->hmon) {
        monitor_poll(s->hmon);
    }
#ifdef CONFIG_SDL
    if (s->sdl) {
        uint64_t now = host_ns();
        if (now - s->last_refresh >= REFRESH_NS) {
            s->last_refresh = now;
            machine_render(s->machine);
            sdl_ui_update(s->sdl);
        }
    }
#endif
}

/* A front end may still act: the guest may not be given up for dead. */
static bool session_live(void *opaque)
{
    struct session *s = opaque;
#ifdef CONFIG_SDL
    if (s->sdl) {
        return true;
    }
#endif
    return (s->monitor && monitor_can_act(s->monitor)) || (s->hmon && monitor_can_act(s->hmon));
}

#ifdef CONFIG_SDL
static void ui_key(void *opaque, int code, bool down)
{
    struct session *s = opaque;
    machine_key(s->machine, code, down);
}

static void ui_mouse(void *opaque, int dx, int dy, int dz, int buttons)
{
    struct session *s = opaque;
    machine_mouse(s->machine, dx, dy, dz, buttons);
}

/* The window's close button ends the run, as QEMU's window does. */
static void ui_quit(void *opaque)
{
    struct session *s = opaque;
    machine_quit(s->machine, 0);
}

static int open_window(struct session *s)
{
    char err[ERR_MAX];
    bool asked = s->opts.display == OPT_DISPLAY_SDL;
    if (s->opts.display == OPT_DISPLAY_NONE) {
        return 0;
    }
    struct ui_input in = { .opaque = s, .key = ui_key, .mouse = ui_mouse, .quit = ui_quit };
    s->sdl = sdl_ui_new(s->machine->display, s->opts.name[0] ? s->opts.name : "kasou", &in,
                        err, sizeof(err));
    if (!s->sdl && asked) {
        fprintf(stderr, "kasou: -display sdl: %s\n", err);
        return -1;
    }
    /* by default, no desktop (sdl_ui_new checks) means headless */
    return 0;
}
#endif

static void session_event(void *opaque, const char *name, const char *data_json)
{
    struct session *s = opaque;
    if (s->monitor) {
        monitor_event(s->monitor, name, data_json);
    }
}

static struct chardev *find_chardev(struct session *s, const char *id);

static int open_frontends(struct session *s)
{
    char err[ERR_MAX];
    struct machine *m = s->machine;
    if (s->opts.qmp) {
        s->monitor = monitor_new(s->opts.qmp, m, s->opts.name, err, sizeof(err));
        if (!s->monitor) {
            fprintf(stderr, "kasou: -qmp: %s\n", err);
            return -1;
        }
    }
    if (s->opts.monitor_chardev[0]) {
        s->hmon = monitor_new_hmp(find_chardev(s, s->opts.monitor_chardev),
                                  s->opts.monitor_shared, m, s->opts.name, err, sizeof(err));
        if (!s->hmon) {
            fprintf(stderr, "kasou: -monitor: %s\n", err);
            return -1;
        }
        m->poll = session_poll;
        m->ui_opaque = s;
    }
    m->ui_live = session_live;
#ifdef CONFIG_SDL
    if (open_window(s) < 0) {
        return -1;
    }
    if (s->sdl) {
        m->poll = session_poll;
        m->ui_opaque = s;
    }
#endif
    if (s->monitor) {
        m->poll = session_poll;
        m->event = session_event;
        m->ui_opaque = s;
    }
    return 0;
}

static int open_chardevs(struct session *s)
{
    char err[ERR_MAX];
    for (int i = 0; i < s->opts.nchardevs; i++) {
        const struct opt_chardev *c = &s->opts.chardevs[i];
        s->chr[i] = chardev_open(c->backend, c->id, c->path, c->append, err, sizeof(err));
        if (!s->chr[i]) {
            fprintf(stderr, "kasou: chardev '%s': %s\n", c->id, err);
            return -1;
        }
    }
    return 0;
}

static struct chardev *find_chardev(struct session *s, const char *id)
{
    for (int i = 0; i < s->opts.nchardevs; i++) {
        if (!strcmp(s->opts.chardevs[i].id, id)) {
            return s->chr[i];
        }
    }
    return NULL;
}

/* -hda ..., -cdrom, -fda ..., -drive: open the images and attach them. */
static int attach_drives(struct session *s)
{
    char err[ERR_MAX];
    for (int i = 0; i < s->opts.ndrives; i++) {
        const struct opt_drive *od = &s->opts.drives[i];
        struct machine_drive d = {
            .path = od->file[0] ? od->file : NULL,
            .iface = od->iface == OPT_IF_FLOPPY ? MACHINE_IF_FLOPPY : MACHINE_IF_IDE,
            .index = od->index,
            .cdrom = od->cdrom,
            .format = od->format[0] ? od->format : NULL,
            .read_only = od->read_only,
            .snapshot = od->snapshot > 0,
        };
        if (machine_add_drive(s->machine, &d, err, sizeof(err)) < 0) {
            fprintf(stderr, "kasou: %s: %s\n", od->opt, err);
            return -1;
        }
    }
    if (s->opts.boot_order[0] || s->opts.boot_menu) {
        machine_set_boot(s->machine, s->opts.boot_order[0] ? s->opts.boot_order : "cad",
                         s->opts.boot_menu);
    }
    return 0;
}

/* The JIT unless -accel interp (or a build without one). */
static int attach_accel(struct session *s)
{
    if (s->opts.accel == OPT_ACCEL_INTERP) {
        return 0;
    }
#ifdef CONFIG_JIT
    if (jit_attach(s->machine->cpu, s->opts.jit_check) == 0) {
        return 0;
    }
    if (s->opts.accel == OPT_ACCEL_JIT) {
        fprintf(stderr, "kasou: -accel jit: cannot set up the translator's code buffer\n");
        return -1;
    }
    fprintf(stderr, "kasou: the translator is unavailable; interpreting\n");
#endif
    return 0;
}

static int build_machine(struct session *s)
{
    char err[ERR_MAX];
    struct machine_config cfg = {
        .ram_size = s->opts.ram_size,
        .bios_path = s->opts.bios,
        .no_reboot = s->opts.no_reboot,
        .timeout_ns = (uint64_t)(s->opts.timeout * 1e9),
        .icount_shift = s->opts.icount_shift,
        .vgabios_path = KASOU_BIOS_DIR "/vgabios-stdvga.bin",
        .no_shutdown = s->opts.no_shutdown,
        .nographic = s->opts.nographic,
    };
    s->machine = machine_new(&cfg, err, sizeof(err));
    if (!s->machine) {
        fprintf(stderr, "kasou: %s\n", err);
        return -1;
    }
    if (attach_accel(s) < 0) {
        return -1;
    }
    for (int i = 0; i < s->opts.nserial; i++) {
        if (machine_add_serial(s->machine, i, find_chardev(s, s->opts.serial[i].chardev), err,
                               sizeof(err)) < 0) {
            fprintf(stderr, "kasou: -serial: %s\n", err);
            return -1;
        }
    }
    for (int i = 0; i < s->opts.ndevices; i++) {
        const struct opt_device *d = &s->opts.devices[i];
        int r = d->kind == OPT_DEV_DEBUGCON
                    ? machine_add_debugcon(s->machine, d->iobase, d->readback,
                                           find_chardev(s, d->chardev), err, sizeof(err))
                    : machine_add_debugexit(s->machine, d->iobase, d->iosize, err, sizeof(err));
        if (r < 0) {
            fprintf(stderr, "kasou: -device %s\n", err);
            return -1;
        }
    }
    if (attach_drives(s) < 0) {
        return -1;
    }
    if (s->opts.kernel && machine_load_linux(s->machine, s->opts.kernel, s->opts.initrd,
                                             s->opts.append, err, sizeof(err)) < 0) {
        fprintf(stderr, "kasou: %s\n", err);
        return -1;
    }
    return 0;
}

/* -screenshot and -screen-text: the screen as the run ended. */
static int write_screen(struct session *s)
{
    char err[ERR_MAX];
    int r = 0;
    if (!s->opts.screenshot && !s->opts.screen_text) {
        return 0;
    }
    machine_render(s->machine);
    if (s->opts.screenshot &&
        screen_write_png(s->machine->display, s->opts.screenshot, err, sizeof(err)) < 0) {
        fprintf(stderr, "kasou: -screenshot: %s\n", err);
        r = -1;
    }
    if (s->opts.screen_text &&
        screen_write_text(s->machine->display, s->opts.screen_text, err, sizeof(err)) < 0) {
        fprintf(stderr, "kasou: -screen-text: %s\n", err);
        r = -1;
    }
    return r;
}

static void teardown(struct session *s)
{
#ifdef CONFIG_SDL
    sdl_ui_free(s->sdl);
#endif
    monitor_free(s->monitor);
    monitor_free(s->hmon);
#ifdef CONFIG_JIT
    if (s->machine) {
        jit_detach(s->machine->cpu);
    }
#endif
    machine_free(s->machine);
    for (int i = 0; i < s->opts.nchardevs; i++) {
        chardev_close(s->chr[i]);
    }
    if (log_file) {
        fclose(log_file);
        log_file = NULL;
    }
}

int main(int argc, char **argv)
{
    /* a monitor or console peer that goes away must not kill the run */
    signal(SIGPIPE, SIG_IGN);
    struct session *s = calloc(1, sizeof(*s));
    if (!s) {
        fprintf(stderr, "kasou: out of memory\n");
        return 1;
    }
    int status = 1;
    enum opt_result r = options_parse(&s->opts, argc, argv);
    if (r == OPT_DONE) {
        status = 0;
    } else if (r == OPT_RUN) {
        if (s->opts.log_path && log_open(s->opts.log_path) < 0) {
            fprintf(stderr, "kasou: -D: cannot open log file '%s'\n", s->opts.log_path);
        } else if (open_chardevs(s) == 0 && build_machine(s) == 0 && open_frontends(s) == 0) {
            status = machine_run(s->machine);
            if (write_screen(s) < 0 && status == 0) {
                status = 1;
            }
        }
    }
    teardown(s);
    free(s);
    return status;
}
