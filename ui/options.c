/*
 * options.c - parsing kasou's command line (see options.h).
 *
 * One table maps each option to its handler.  Handlers print their own
 * error, naming the option, and return OPT_ERROR; informational options
 * (-help, -version, -d help, -device help) print and return OPT_DONE.
 * "-chardev" and "-device" take QEMU's list syntax: an implied first item
 * (the backend or driver), then key=value pairs.
 */
#include "options.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "hw/debugcon.h"
#include "hw/debugexit.h"
#include "ui/chardev.h"
#include "ui/options_int.h"
#include "util/log.h"

#define MIB (1024.0 * 1024.0)

#ifdef CONFIG_SDL
#define ENABLE_SDL_UI 1
#else
#define ENABLE_SDL_UI 0
#endif

enum opt_result opt_fail(const char *opt, const char *fmt, const char *what)
{
    fprintf(stderr, "kasou: %s: ", opt);
    fprintf(stderr, fmt, what);
    fputc('\n', stderr);
    return OPT_ERROR;
}

/*
 * Take the next item of a comma list from *p into kv; ",," stands for a
 * literal comma.  Returns -1 if the item does not fit.
 */
int opt_next_item(const char **p, struct opt_kv *kv)
{
    char buf[OPT_PATH_MAX + OPT_ID_MAX];
    size_t len = 0;
    const char *s = *p;
    while (*s) {
        char c = *s++;
        if (c == ',') {
            if (*s != ',') {
                break;
            }
            s++;
        }
        if (len + 1 >= sizeof(buf)) {
            return -1;
        }
        buf[len++] = c;
    }
    buf[len] = '\0';
    *p = s;
    char *eq = strchr(buf, '=');
    kv->has_val = eq != NULL;
    if (eq) {
        *eq = '\0';
    }
    if (strlen(buf) >= sizeof(kv->key) || (eq && strlen(eq + 1) >= sizeof(kv->val))) {
        return -1;
    }
    strcpy(kv->key, buf);
    strcpy(kv->val, eq ? eq + 1 : "");
    return 0;
}

/* An unsigned number, decimal or 0x hex (base 0, as QEMU properties). */
int opt_parse_uint(const char *s, uint32_t max, uint32_t *out)
{
    char *end;
    if (!*s || *s == '-' || *s == '+') {
        return -1;
    }
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end || v > max) {
        return -1;
    }
    *out = (uint32_t)v;
    return 0;
}

int opt_parse_bool(const char *s, bool *out)
{
    if (!strcmp(s, "on") || !strcmp(s, "yes") || !strcmp(s, "true")) {
        *out = true;
    } else if (!strcmp(s, "off") || !strcmp(s, "no") || !strcmp(s, "false")) {
        *out = false;
    } else {
        return -1;
    }
    return 0;
}

/* Multiplier for a QEMU size suffix; plain numbers are MiB. */
static double size_unit(const char *suffix)
{
    static const char units[] = "BKMGT";
    if (!*suffix) {
        return MIB;
    }
    const char *u = strchr(units, suffix[0] >= 'a' ? suffix[0] - 32 : suffix[0]);
    if (!u || suffix[1] || !suffix[0]) {
        return 0;
    }
    double mult = 1;
    for (const char *k = units; k < u; k++) {
        mult *= 1024;
    }
    return mult;
}

/* A size as QEMU's -m takes it: "128", "128M", "0x80M", "1.5G", "65536K". */
static int parse_size(const char *s, double *bytes)
{
    char *end;
    double v;
    if (!strncmp(s, "0x", 2) || !strncmp(s, "0X", 2)) {
        errno = 0;
        v = (double)strtoull(s, &end, 16);
        if (errno || end == s + 2) {
            return -1;
        }
    } else {
        if (!strchr("0123456789", *s) || !*s) {
            return -1;
        }
        size_t digits = strspn(s, "0123456789.");
        char num[64];
        if (digits >= sizeof(num)) {
            return -1;
        }
        memcpy(num, s, digits);
        num[digits] = '\0';
        v = strtod(num, &end);
        if (*end) {
            return -1;
        }
        end = (char *)s + digits;
    }
    double unit = size_unit(end);
    if (unit == 0 || (unit == 1 && v != floor(v))) {
        return -1;
    }
    *bytes = v * unit;
    return 0;
}

static enum opt_result opt_m(struct options *o, const char *arg)
{
    const char *p = arg;
    struct opt_kv kv;
    bool seen = false;
    while (*p) {
        if (opt_next_item(&p, &kv) < 0) {
            return opt_fail("-m", "invalid memory size '%s'", arg);
        }
        const char *val = kv.has_val ? kv.val : kv.key;
        if (kv.has_val && strcmp(kv.key, "size")) {
            return opt_fail("-m", "'%s' is not supported (only the RAM size is)", kv.key);
        }
        double bytes;
        if (seen || parse_size(val, &bytes) < 0) {
            return opt_fail("-m", "invalid memory size '%s' (examples: 128, 256M, 1G)", arg);
        }
        if (bytes < OPT_RAM_MIN || bytes > OPT_RAM_MAX) {
            return opt_fail("-m",
                        "memory size '%s' is out of range "
                        "(1 MiB to 3584 MiB)",
                        arg);
        }
        /* QEMU rounds RAM up to a whole page. */
        o->ram_size = ((uint32_t)ceil(bytes) + 4095u) & ~4095u;
        seen = true;
    }
    if (!seen) {
        return opt_fail("-m", "invalid memory size '%s'", arg);
    }
    return OPT_RUN;
}

static enum opt_result opt_bios(struct options *o, const char *arg)
{
    if (!*arg || strlen(arg) >= sizeof(o->bios)) {
        return opt_fail("-bios", "invalid file name '%s'", arg);
    }
    strcpy(o->bios, arg);
    return OPT_RUN;
}

static enum opt_result opt_nographic(struct options *o, const char *arg)
{
    o->nographic = true;
    o->display = OPT_DISPLAY_NONE;
    return OPT_RUN;
}

static enum opt_result opt_display(struct options *o, const char *arg)
{
    size_t n = strcspn(arg, ",");
    if (!strncmp(arg, "none", n) && n == 4) {
        o->display = OPT_DISPLAY_NONE;
        return OPT_RUN;
    }
    if (!strncmp(arg, "help", n) && n == 4) {
        printf("Available display backend types:\nnone\n%s", ENABLE_SDL_UI ? "sdl\n" : "");
        return OPT_DONE;
    }
    if (!strncmp(arg, "sdl", n) && n == 3) {
        if (!ENABLE_SDL_UI) {
            return opt_fail("-display", "%s: this kasou was built without SDL2", "sdl");
        }
        o->display = OPT_DISPLAY_SDL;
        return OPT_RUN;
    }
    return opt_fail("-display", "unknown display type '%s' (kasou has: none, sdl)", arg);
}

static int count_stdio(const struct options *o)
{
    int n = 0;
    for (int i = 0; i < o->nchardevs; i++) {
        n += o->chardevs[i].backend == CHARDEV_STDIO;
    }
    return n;
}

/* Check and append a chardev; `opt` names the option for messages. */
static enum opt_result add_chardev(struct options *o, const char *opt, const struct opt_chardev *c)
{
    if (!c->id[0]) {
        return opt_fail(opt, "%s", "id=ID is required");
    }
    for (int i = 0; i < o->nchardevs; i++) {
        if (!strcmp(o->chardevs[i].id, c->id)) {
            return opt_fail(opt, "duplicate chardev id '%s'", c->id);
        }
    }
    if (c->backend == CHARDEV_FILE && !c->path[0]) {
        return opt_fail(opt, "%s", "the file backend needs path=PATH");
    }
    if (c->backend == CHARDEV_STDIO && count_stdio(o) > 0) {
        return opt_fail(opt, "%s", "cannot use stdio by multiple character devices");
    }
    if (o->nchardevs == OPT_MAX_CHARDEVS) {
        return opt_fail(opt, "%s", "too many character devices");
    }
    o->chardevs[o->nchardevs++] = *c;
    return OPT_RUN;
}

/* One key=value of -chardev for backend c->backend. */
static enum opt_result chardev_param(struct opt_chardev *c, const struct opt_kv *kv)
{
    bool flag;
    if (!strcmp(kv->key, "id") && kv->has_val) {
        if (!kv->val[0] || strlen(kv->val) >= sizeof(c->id)) {
            return opt_fail("-chardev", "invalid id '%s' (1 to 31 characters)", kv->val);
        }
        memcpy(c->id, kv->val, strlen(kv->val) + 1);
    } else if (!strcmp(kv->key, "path") && c->backend == CHARDEV_FILE) {
        snprintf(c->path, sizeof(c->path), "%s", kv->val);
    } else if (!strcmp(kv->key, "append") && c->backend == CHARDEV_FILE) {
        if (opt_parse_bool(kv->val, &c->append) < 0) {
            return opt_fail("-chardev", "append: expected on or off, not '%s'", kv->val);
        }
    } else if (!strcmp(kv->key, "signal") && c->backend == CHARDEV_STDIO) {
        /* accepted for QEMU compatibility: kasou never takes stdin yet */
        if (opt_parse_bool(kv->val, &flag) < 0) {
            return opt_fail("-chardev", "signal: expected on or off, not '%s'", kv->val);
        }
    } else {
        return opt_fail("-chardev", "invalid parameter '%s'", kv->key);
    }
    return OPT_RUN;
}

static enum opt_result opt_chardev(struct options *o, const char *arg)
{
    struct opt_chardev c = { .backend = -1 };
    struct opt_kv kv;
    const char *p = arg;
    if (opt_next_item(&p, &kv) < 0 || kv.has_val || (c.backend = chardev_backend_parse(kv.key)) < 0) {
        return opt_fail("-chardev",
                    "unknown backend in '%s' "
                    "(kasou has: stdio, file, null)",
                    arg);
    }
    while (*p) {
        if (opt_next_item(&p, &kv) < 0) {
            return opt_fail("-chardev", "parameter too long in '%s'", arg);
        }
        if (chardev_param(&c, &kv) == OPT_ERROR) {
            return OPT_ERROR;
        }
    }
    return add_chardev(o, "-chardev", &c);
}

static enum opt_result add_device(struct options *o, const struct opt_device *d)
{
    if (o->ndevices == OPT_MAX_DEVICES) {
        return opt_fail("-device", "%s", "too many devices");
    }
    o->devices[o->ndevices++] = *d;
    return OPT_RUN;
}

/* The short backend forms of -debugcon and -serial: stdio, null, file:PATH. */
static int short_backend(const char *arg, struct opt_chardev *c)
{
    if (!strcmp(arg, "stdio")) {
        c->backend = CHARDEV_STDIO;
    } else if (!strcmp(arg, "null")) {
        c->backend = CHARDEV_NULL;
    } else if (!strncmp(arg, "file:", 5) && arg[5] && strlen(arg + 5) < sizeof(c->path)) {
        c->backend = CHARDEV_FILE;
        strcpy(c->path, arg + 5);
    } else {
        return -1;
    }
    return 0;
}

/* -debugcon stdio|null|file:PATH|none: a chardev plus isa-debugcon at 0xe9. */
static enum opt_result opt_debugcon(struct options *o, const char *arg)
{
    struct opt_chardev c = { .id = "debugcon" };
    if (o->have_debugcon) {
        return opt_fail("-debugcon", "%s", "too many debug consoles (only one)");
    }
    o->have_debugcon = true;
    if (!strcmp(arg, "none")) {
        return OPT_RUN;
    } else if (short_backend(arg, &c) < 0) {
        return opt_fail("-debugcon",
                    "unsupported character device '%s' "
                    "(kasou has: stdio, null, file:PATH, none)",
                    arg);
    }
    if (add_chardev(o, "-debugcon", &c) == OPT_ERROR) {
        return OPT_ERROR;
    }
    struct opt_device d = {
        .kind = OPT_DEV_DEBUGCON,
        .iobase = DEBUGCON_IOBASE,
        .readback = DEBUGCON_READBACK,
        .chardev = "debugcon",
    };
    return add_device(o, &d);
}

/*
 * -serial DEV: the next COM port (COM1 first) talks to DEV: stdio, null,
 * file:PATH, chardev:ID, or none (the port is left out, as in QEMU).
 */
static enum opt_result opt_serial(struct options *o, const char *arg)
{
    o->serial_given = true;
    bool mon = !strncmp(arg, "mon:", 4);
    if (mon) {
        /* QEMU's mux: the port and the human monitor share the terminal */
        if (o->monitor_chardev[0] || strcmp(arg + 4, "stdio")) {
            return opt_fail("-serial", "%s",
                            o->monitor_chardev[0] ? "only one monitor (mon:) is supported"
                                                  : "kasou takes mon: with stdio only");
        }
        arg += 4;
    }
    if (!strcmp(arg, "none")) {
        return OPT_RUN;
    }
    if (o->nserial == OPT_MAX_SERIAL) {
        return opt_fail("-serial", "%s", "too many serial ports (at most 4)");
    }
    struct opt_serial *sp = &o->serial[o->nserial];
    if (!strncmp(arg, "chardev:", 8) && arg[8] && strlen(arg + 8) < sizeof(sp->chardev)) {
        strcpy(sp->chardev, arg + 8);
        o->nserial++;
        return OPT_RUN;
    }
    struct opt_chardev c = { .backend = -1 };
    snprintf(c.id, sizeof(c.id), "serial%d", o->nserial);
    if (short_backend(arg, &c) < 0) {
        return opt_fail("-serial",
                    "unsupported character device '%s' "
                    "(kasou has: stdio, null, file:PATH, chardev:ID, none)",
                    arg);
    }
    if (add_chardev(o, "-serial", &c) == OPT_ERROR) {
        return OPT_ERROR;
    }
    strcpy(sp->chardev, c.id);
    o->nserial++;
    if (mon) {
        strcpy(o->monitor_chardev, c.id);
        o->monitor_shared = true;
    }
    return OPT_RUN;
}

/* -monitor stdio|none: the human monitor alone on the terminal, or none. */
static enum opt_result opt_monitor(struct options *o, const char *arg)
{
    if (o->monitor_given || o->monitor_chardev[0]) {
        return opt_fail("-monitor", "%s", "only one monitor is supported");
    }
    o->monitor_given = true;
    if (!strcmp(arg, "none")) {
        return OPT_RUN;
    }
    struct opt_chardev c = { .id = "monitor0", .backend = CHARDEV_STDIO };
    if (strcmp(arg, "stdio")) {
        return opt_fail("-monitor", "unsupported monitor device '%s' (kasou has: stdio, none)",
                        arg);
    }
    if (add_chardev(o, "-monitor", &c) == OPT_ERROR) {
        return OPT_ERROR;
    }
    strcpy(o->monitor_chardev, c.id);
    return OPT_RUN;
}

/*
 * As in QEMU, -nographic without -serial puts COM1 on the terminal; when
 * another device already writes to stdio, COM1 is left unconnected.
 */
static void default_serial(struct options *o)
{
    if (o->serial_given || !o->nographic) {
        return;
    }
    struct opt_chardev c = { .id = "serial0", .backend = CHARDEV_NULL };
    bool qmp_stdio = o->qmp && !strcmp(o->qmp, "stdio");
    if (count_stdio(o) == 0 && !qmp_stdio) {
        c.backend = CHARDEV_STDIO;
    }
    for (int i = 0; i < o->nchardevs; i++) {
        if (!strcmp(o->chardevs[i].id, c.id)) {
            return;   /* the user took the name: leave COM1 out */
        }
    }
    if (add_chardev(o, "-nographic", &c) == OPT_RUN) {
        strcpy(o->serial[0].chardev, c.id);
        o->nserial = 1;
        if (c.backend == CHARDEV_STDIO && !o->monitor_given) {
            /* as QEMU's -nographic: the monitor shares the terminal (C-a c) */
            strcpy(o->monitor_chardev, c.id);
            o->monitor_shared = true;
        }
    }
}

static void device_help(void)
{
    printf("Devices (-device DRIVER,prop=value,...):\n"
           "  isa-debugcon    debug console port: iobase=N (0xe9), "
           "chardev=ID, readback=N (0xe9)\n"
           "  isa-debug-exit  exit port, a write of V ends kasou with status "
           "(V<<1)|1: iobase=N (0x501), iosize=N (2)\n");
}

static enum opt_result bad_prop(const char *driver, const struct opt_kv *kv)
{
    fprintf(stderr, "kasou: -device %s: %s '%s'%s%s\n", driver,
            kv->has_val ? "invalid value for property" : "property needs a value:", kv->key,
            kv->has_val ? ": " : "", kv->val);
    return OPT_ERROR;
}

static enum opt_result debugcon_prop(struct opt_device *d, const struct opt_kv *kv)
{
    uint32_t v;
    if (!strcmp(kv->key, "iobase") && opt_parse_uint(kv->val, 0xFFFF, &v) == 0) {
        d->iobase = (uint16_t)v;
    } else if (!strcmp(kv->key, "readback") && opt_parse_uint(kv->val, 0xFF, &v) == 0) {
        d->readback = (uint8_t)v;
    } else if (!strcmp(kv->key, "chardev") && kv->val[0] && strlen(kv->val) < sizeof(d->chardev)) {
        memcpy(d->chardev, kv->val, strlen(kv->val) + 1);
    } else if (!strcmp(kv->key, "iobase") || !strcmp(kv->key, "readback") ||
               !strcmp(kv->key, "chardev")) {
        return bad_prop("isa-debugcon", kv);
    } else {
        return opt_fail("-device isa-debugcon", "unknown property '%s'", kv->key);
    }
    return OPT_RUN;
}

static enum opt_result debugexit_prop(struct opt_device *d, const struct opt_kv *kv)
{
    uint32_t v;
    if (!strcmp(kv->key, "iobase") && opt_parse_uint(kv->val, 0xFFFF, &v) == 0) {
        d->iobase = (uint16_t)v;
    } else if (!strcmp(kv->key, "iosize") && opt_parse_uint(kv->val, 0xFFFF, &v) == 0 && v > 0) {
        d->iosize = (uint16_t)v;
    } else if (!strcmp(kv->key, "iobase") || !strcmp(kv->key, "iosize")) {
        return bad_prop("isa-debug-exit", kv);
    } else {
        return opt_fail("-device isa-debug-exit", "unknown property '%s'", kv->key);
    }
    return OPT_RUN;
}

/* The driver name: the implied first item, or driver=NAME. */
static int device_driver(const struct opt_kv *kv, struct opt_device *d)
{
    const char *name = kv->has_val && !strcmp(kv->key, "driver") ? kv->val
                       : kv->has_val                             ? ""
                                                                 : kv->key;
    if (!strcmp(name, "isa-debugcon")) {
        *d = (struct opt_device){ .kind = OPT_DEV_DEBUGCON,
                                  .iobase = DEBUGCON_IOBASE,
                                  .readback = DEBUGCON_READBACK };
    } else if (!strcmp(name, "isa-debug-exit")) {
        *d = (struct opt_device){ .kind = OPT_DEV_DEBUGEXIT,
                                  .iobase = DEBUGEXIT_IOBASE,
                                  .iosize = DEBUGEXIT_IOSIZE };
    } else {
        return -1;
    }
    return 0;
}

static enum opt_result opt_device(struct options *o, const char *arg)
{
    struct opt_device d;
    struct opt_kv kv;
    const char *p = arg;
    if (!strcmp(arg, "help") || !strcmp(arg, "?")) {
        device_help();
        return OPT_DONE;
    }
    if (opt_next_item(&p, &kv) < 0 || device_driver(&kv, &d) < 0) {
        return opt_fail("-device", "unknown device in '%s' (try -device help)", arg);
    }
    while (*p) {
        if (opt_next_item(&p, &kv) < 0) {
            return opt_fail("-device", "property too long in '%s'", arg);
        }
        enum opt_result r =
            d.kind == OPT_DEV_DEBUGCON ? debugcon_prop(&d, &kv) : debugexit_prop(&d, &kv);
        if (r == OPT_ERROR) {
            return r;
        }
    }
    if (d.kind == OPT_DEV_DEBUGCON && !d.chardev[0]) {
        return opt_fail("-device", "%s: chardev=ID is required", "isa-debugcon");
    }
    return add_device(o, &d);
}

static enum opt_result opt_d(struct options *o, const char *arg)
{
    if (!strcmp(arg, "help")) {
        log_list(stdout);
        return OPT_DONE;
    }
    if (log_parse(arg) < 0) {
        return opt_fail("-d", "unknown log channel in '%s' (try -d help)", arg);
    }
    return OPT_RUN;
}

static enum opt_result opt_D(struct options *o, const char *arg)
{
    if (!*arg) {
        return opt_fail("-D", "%s", "empty log file name");
    }
    o->log_path = arg;
    return OPT_RUN;
}

/*
 * -accel jit[,check=on|off] | interp.  The JIT is the default where the
 * build has one; check=on runs every block in lockstep with the
 * interpreter and stops at the first difference (for testing).
 */
static enum opt_result opt_accel(struct options *o, const char *arg)
{
    size_t n = strcspn(arg, ",");
#ifdef CONFIG_JIT
#define ACCELS "jit, interp"
#else
#define ACCELS "interp"
#endif
    if (n == 4 && !strncmp(arg, "help", n)) {
        printf("Accelerators supported in kasou:\n" ACCELS "\n");
        return OPT_DONE;
    }
    if (n == 6 && !strncmp(arg, "interp", n)) {
        if (arg[n]) {
            return opt_fail("-accel", "interp takes no properties: '%s'", arg);
        }
        o->accel = OPT_ACCEL_INTERP;
        return OPT_RUN;
    }
    if (n != 3 || strncmp(arg, "jit", n)) {
        return opt_fail("-accel", "unknown accelerator '%s' (kasou has: " ACCELS ")", arg);
    }
#ifndef CONFIG_JIT
    return opt_fail("-accel", "this kasou was built without the %s (use -accel interp)", "JIT");
#else
    o->accel = OPT_ACCEL_JIT;
    const char *p = arg + n;
    while (*p == ',') {
        p++;
        size_t len = strcspn(p, ",");
        if (len == 8 && !strncmp(p, "check=on", len)) {
            o->jit_check = true;
        } else if (len == 9 && !strncmp(p, "check=off", len)) {
            o->jit_check = false;
        } else {
            return opt_fail("-accel", "bad jit properties in '%s' (jit takes check=on|off)",
                            arg);
        }
        p += len;
    }
    return OPT_RUN;
#endif
}
#undef ACCELS

static enum opt_result opt_no_reboot(struct options *o, const char *arg)
{
    o->no_reboot = true;
    return OPT_RUN;
}

/*
 * -icount shift=N (or -icount N): deterministic virtual time, 2^N ns per
 * instruction.  QEMU's adaptive forms (shift=auto, align, sleep) are not
 * kasou's: its -icount never sleeps, a halted CPU jumps to the next timer.
 */
static enum opt_result opt_icount(struct options *o, const char *arg)
{
    const char *v = !strncmp(arg, "shift=", 6) ? arg + 6 : arg;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (!*v || *end || errno || n < 0 || n > 10) {
        return opt_fail("-icount",
                    "expected shift=N with N from 0 to 10 (2^N ns per instruction), "
                    "not '%s'",
                    arg);
    }
    o->icount_shift = (int)n;
    return OPT_RUN;
}

static enum opt_result opt_timeout(struct options *o, const char *arg)
{
    char *end;
    errno = 0;
    double t = strtod(arg, &end);
    if (!*arg || *end || errno || !isfinite(t) || t < 0 || t > 1e9 ||
        !strchr("0123456789.", arg[0])) {
        return opt_fail("-timeout", "invalid number of seconds '%s'", arg);
    }
    o->timeout = t;
    return OPT_RUN;
}

/* -kernel, -initrd, -append: a file name or the command line, kept as given. */
static enum opt_result opt_kernel(struct options *o, const char *arg)
{
    if (!*arg) {
        return opt_fail("-kernel", "%s", "empty file name");
    }
    o->kernel = arg;
    return OPT_RUN;
}

static enum opt_result opt_initrd(struct options *o, const char *arg)
{
    if (!*arg) {
        return opt_fail("-initrd", "%s", "empty file name");
    }
    o->initrd = arg;
    return OPT_RUN;
}

static enum opt_result opt_append(struct options *o, const char *arg)
{
    o->append = arg;
    return OPT_RUN;
}

/* As QEMU: -initrd and -append only mean something with -kernel. */
static enum opt_result check_kernel_opts(const struct options *o)
{
    if (!o->kernel && o->initrd) {
        return opt_fail("-initrd", "%s", "only allowed with -kernel");
    }
    if (!o->kernel && o->append) {
        return opt_fail("-append", "%s", "only allowed with -kernel");
    }
    return OPT_RUN;
}

void options_usage(void)
{
    printf("usage: kasou [options]\n"
           "\n"
           "Machine:\n"
           "  -bios FILE          firmware image (default: %s/bios.bin); any size up to\n"
           "                      16 MiB in whole 4 KiB pages, mapped below 4 GiB\n"
           "  -m SIZE             guest RAM: MiB, or with a K/M/G suffix (default 128)\n"
           "  -accel jit|interp   the translator (the default) or the interpreter;\n"
           "                      jit,check=on checks every block against the interpreter\n"
           "  -no-reboot          exit instead of resetting on a guest reset\n"
           "  -timeout SECONDS    stop the guest after SECONDS, exit status 124\n"
           "  -icount shift=N     deterministic time: 2^N ns per instruction, HLT jumps\n"
           "                      to the next timer, -timeout counts virtual seconds\n"
           "Kernel boot (through the firmware, as QEMU):\n"
           "  -kernel FILE        boot a Linux bzImage or a Multiboot kernel\n"
           "  -initrd FILE        its initial ramdisk; Multiboot: modules \"file args,file args\"\n"
           "  -append CMDLINE     its command line\n"
           "Drives (images: raw or qcow2, probed unless format= is given):\n"
           "  -hda/-hdb/-hdc/-hdd FILE  IDE disk 0-3 (primary master ... secondary slave)\n"
           "  -cdrom FILE         IDE CD-ROM (secondary master): an ISO image\n"
           "  -fda/-fdb FILE      floppy A:/B: (160K-2.88M images)\n"
           "  -drive file=F[,if=ide|floppy][,index=N][,media=disk|cdrom]\n"
           "         [,format=raw|qcow2][,readonly=on|off][,snapshot=on|off]\n"
           "  -snapshot           writes go to a temporary overlay; images stay unchanged\n"
           "  -boot [order=]ORDER[,menu=on|off]  boot order, up to three of a (floppy),\n"
           "                      c (disk), d (CD-ROM), n (network); default cad\n"
           "Display:\n"
           "  -display sdl|none   a window (the default when there is a desktop) or none\n"
           "  -nographic          no display window; COM1 and the monitor share the\n"
           "                      terminal (Ctrl-A h: help, Ctrl-A c: monitor, Ctrl-A x: quit)\n"
           "  -name NAME          the window title\n"
           "  -screenshot FILE    write the screen as PNG when the run ends\n"
           "  -screen-text FILE   write a text-mode screen as UTF-8 text when the run ends\n"
           "Monitor:\n"
           "  -qmp unix:PATH,server=on,wait=off | tcp:HOST:PORT,server=on,wait=off | stdio\n"
           "                      a QMP server (QEMU's JSON protocol)\n"
           "  -monitor stdio|none the human monitor alone on the terminal, or none\n"
           "  -no-shutdown        a guest power-off pauses instead of exiting\n"
           "Devices and character backends:\n"
           "  -chardev stdio,id=ID | file,id=ID,path=PATH[,append=on] | null,id=ID\n"
           "  -device isa-debugcon,chardev=ID[,iobase=N][,readback=N]\n"
           "  -device isa-debug-exit[,iobase=N][,iosize=N]\n"
           "                      a guest write of V exits with status (V<<1)|1\n"
           "  -debugcon DEV       debug console at port 0xe9: stdio, null, file:PATH, none\n"
           "  -serial DEV         the next COM port (16550A; COM1 first): stdio, null,\n"
           "                      file:PATH, chardev:ID, none; mon:stdio shares the\n"
           "                      terminal with the monitor (Ctrl-A escapes)\n"
           "  -device help        list the devices\n"
           "Debugging:\n"
           "  -d CHANNELS         log channels, comma-separated (-d help lists them)\n"
           "  -D FILE             write the log to FILE instead of stderr\n"
           "  -h, -help           this help\n"
           "  -version            print the version\n"
           "\n"
           "Numbers accept 0x hex.  Exit status: the guest's debug-exit status, 0 when\n"
           "the guest powers off, halts for good or resets with -no-reboot, 124 on\n"
           "-timeout, 1 on errors.  See kasou(1).\n",
           KASOU_BIOS_DIR);
}

static enum opt_result opt_help(struct options *o, const char *arg)
{
    options_usage();
    return OPT_DONE;
}

static enum opt_result opt_version(struct options *o, const char *arg)
{
    printf("kasou version %s\n", KASOU_VERSION);
    return OPT_DONE;
}

static const struct opt_def {
    const char *name;
    bool has_arg;
    enum opt_result (*fn)(struct options *o, const char *arg);
} opt_table[] = {
    { "bios", true, opt_bios },
    { "m", true, opt_m },
    { "nographic", false, opt_nographic },
    { "display", true, opt_display },
    { "chardev", true, opt_chardev },
    { "device", true, opt_device },
    { "debugcon", true, opt_debugcon },
    { "serial", true, opt_serial },
    { "monitor", true, opt_monitor },
    { "d", true, opt_d },
    { "D", true, opt_D },
    { "accel", true, opt_accel },
    { "no-reboot", false, opt_no_reboot },
    { "timeout", true, opt_timeout },
    { "icount", true, opt_icount },
    { "kernel", true, opt_kernel },
    { "initrd", true, opt_initrd },
    { "append", true, opt_append },
    { "drive", true, opt_drive },
    { "hda", true, opt_hda },
    { "hdb", true, opt_hdb },
    { "hdc", true, opt_hdc },
    { "hdd", true, opt_hdd },
    { "cdrom", true, opt_cdrom },
    { "fda", true, opt_fda },
    { "fdb", true, opt_fdb },
    { "boot", true, opt_boot },
    { "snapshot", false, opt_snapshot },
    { "screenshot", true, opt_screenshot },
    { "screen-text", true, opt_screen_text },
    { "name", true, opt_name },
    { "no-shutdown", false, opt_no_shutdown },
    { "qmp", true, opt_qmp },
    { "h", false, opt_help },
    { "help", false, opt_help },
    { "version", false, opt_version },
};

static const struct opt_def *find_opt(const char *name)
{
    for (size_t i = 0; i < sizeof(opt_table) / sizeof(opt_table[0]); i++) {
        if (!strcmp(opt_table[i].name, name)) {
            return &opt_table[i];
        }
    }
    return NULL;
}

/* QEMU's firmware lookup: the name as given, else the firmware directory. */
static void resolve_bios(struct options *o)
{
    if (!o->bios[0]) {
        snprintf(o->bios, sizeof(o->bios), "%s/bios.bin", KASOU_BIOS_DIR);
        return;
    }
    if (access(o->bios, F_OK) < 0 && !strchr(o->bios, '/')) {
        char path[OPT_PATH_MAX + 64];
        snprintf(path, sizeof(path), "%s/%s", KASOU_BIOS_DIR, o->bios);
        if (access(path, F_OK) == 0 && strlen(path) < sizeof(o->bios)) {
            strcpy(o->bios, path);
        }
    }
}

static bool have_chardev(const struct options *o, const char *id)
{
    for (int j = 0; j < o->nchardevs; j++) {
        if (!strcmp(o->chardevs[j].id, id)) {
            return true;
        }
    }
    return false;
}

/* Every chardev=ID a device or -serial names must exist. */
static enum opt_result check_refs(const struct options *o)
{
    for (int i = 0; i < o->nserial; i++) {
        if (!have_chardev(o, o->serial[i].chardev)) {
            return opt_fail("-serial",
                        "chardev '%s' not found "
                        "(define it with -chardev ...,id=ID)",
                        o->serial[i].chardev);
        }
    }
    for (int i = 0; i < o->ndevices; i++) {
        const struct opt_device *d = &o->devices[i];
        bool found = d->kind != OPT_DEV_DEBUGCON;
        for (int j = 0; !found && j < o->nchardevs; j++) {
            found = !strcmp(o->chardevs[j].id, d->chardev);
        }
        if (!found) {
            return opt_fail("-device isa-debugcon",
                        "chardev '%s' not found "
                        "(define it with -chardev ...,id=ID)",
                        d->chardev);
        }
    }
    return OPT_RUN;
}

enum opt_result options_parse(struct options *o, int argc, char **argv)
{
    memset(o, 0, sizeof(*o));
    o->ram_size = OPT_RAM_DEFAULT;
    o->icount_shift = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || !a[1]) {
            /* as QEMU: a bare file name is the first hard disk */
            if (!a[0] || opt_hda(o, a) != OPT_RUN) {
                fprintf(stderr, "kasou: unexpected argument '%s' (see -help)\n", a);
                return OPT_ERROR;
            }
            continue;
        }
        const char *name = a + 1 + (a[1] == '-'); /* -opt or --opt */
        const struct opt_def *def = find_opt(name);
        if (!def) {
            fprintf(stderr, "kasou: unknown option '%s' (see -help)\n", a);
            return OPT_ERROR;
        }
        if (def->has_arg && i + 1 >= argc) {
            fprintf(stderr, "kasou: option '%s' requires an argument\n", a);
            return OPT_ERROR;
        }
        enum opt_result r = def->fn(o, def->has_arg ? argv[++i] : NULL);
        if (r != OPT_RUN) {
            return r;
        }
    }
    /* KASOU_ACCEL: the accelerator when no -accel is given (test suites
     * run their guests under each engine this way) */
    const char *env_accel = getenv("KASOU_ACCEL");
    if (o->accel == OPT_ACCEL_DEFAULT && env_accel && *env_accel &&
        opt_accel(o, env_accel) != OPT_RUN) {
        return OPT_ERROR;
    }
    resolve_bios(o);
    default_serial(o);
    if (check_kernel_opts(o) == OPT_ERROR || opt_finish_drives(o) == OPT_ERROR) {
        return OPT_ERROR;
    }
    if (o->qmp && !strcmp(o->qmp, "stdio") && count_stdio(o) > 0) {
        return opt_fail("-qmp", "%s",
                        "stdio is already used by another character device "
                        "(-serial/-debugcon/-chardev)");
    }
    return check_refs(o);
}
