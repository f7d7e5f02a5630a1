/*
 * options_media.c - the command-line options for drives, boot order,
 * batch output and the monitor (see options.h): -drive with QEMU's keys,
 * the -hda..-hdd, -cdrom, -fda/-fdb shorthands, -boot, -snapshot,
 * -screenshot, -screen-text, -name, -no-shutdown, -qmp.
 *
 * Drive slots follow QEMU: IDE index N is channel N/2, unit N%2 (-hda 0,
 * -hdb 1, -cdrom 2, -hdd 3); a -drive without index= takes the first free
 * slot of its interface once the whole command line has been read.
 */
#include <stdio.h>
#include <string.h>

#include "ui/options_int.h"

static const char *const if_name[] = { "ide", "floppy" };

static enum opt_result add_drive(struct options *o, const struct opt_drive *d)
{
    if (o->ndrives == OPT_MAX_DRIVES) {
        return opt_fail(d->opt, "too many drives (at most %s)", "6");
    }
    o->drives[o->ndrives++] = *d;
    return OPT_RUN;
}

static enum opt_result drive_key(struct opt_drive *d, const struct opt_kv *kv)
{
    const char *k = kv->key, *v = kv->val;
    if (!kv->has_val) {
        return opt_fail("-drive", "'%s' needs a value (key=value)", k);
    }
    if (!strcmp(k, "file")) {
        snprintf(d->file, sizeof(d->file), "%s", v);
    } else if (!strcmp(k, "if")) {
        if (!strcmp(v, "ide")) {
            d->iface = OPT_IF_IDE;
        } else if (!strcmp(v, "floppy")) {
            d->iface = OPT_IF_FLOPPY;
        } else {
            return opt_fail("-drive", "interface if=%s is not supported (ide, floppy)", v);
        }
    } else if (!strcmp(k, "index")) {
        uint32_t n;
        if (opt_parse_uint(v, 3, &n) < 0) {
            return opt_fail("-drive", "invalid index '%s' (0-3)", v);
        }
        d->index = (int)n;
    } else if (!strcmp(k, "media")) {
        if (strcmp(v, "disk") && strcmp(v, "cdrom")) {
            return opt_fail("-drive", "invalid media '%s' (disk, cdrom)", v);
        }
        d->cdrom = !strcmp(v, "cdrom");
    } else if (!strcmp(k, "format")) {
        if (strcmp(v, "raw") && strcmp(v, "qcow2")) {
            return opt_fail("-drive", "unsupported format '%s' (raw, qcow2)", v);
        }
        strcpy(d->format, v); /* "raw" or "qcow2": fits */
    } else if (!strcmp(k, "readonly") || !strcmp(k, "snapshot")) {
        bool b;
        if (opt_parse_bool(v, &b) < 0) {
            return opt_fail("-drive", "'%s' takes on or off", k);
        }
        if (k[0] == 'r') {
            d->read_only = b;
        } else {
            d->snapshot = b;
        }
    } else if (!strcmp(k, "id") || !strcmp(k, "cache") || !strcmp(k, "aio")) {
        /* accepted for compatibility: writes always go through to the
         * file, and a guest flush reaches the disk */
    } else {
        return opt_fail("-drive", "unknown parameter '%s'", k);
    }
    return OPT_RUN;
}

enum opt_result opt_drive(struct options *o, const char *arg)
{
    struct opt_drive d = { .iface = OPT_IF_IDE, .index = -1, .snapshot = -1, .opt = "-drive" };
    const char *p = arg;
    while (*p) {
        struct opt_kv kv;
        if (opt_next_item(&p, &kv) < 0) {
            return opt_fail("-drive", "parameter too long in '%s'", arg);
        }
        if (drive_key(&d, &kv) != OPT_RUN) {
            return OPT_ERROR;
        }
    }
    if (!d.file[0] && !(d.cdrom && d.iface == OPT_IF_IDE)) {
        return opt_fail("-drive", "'%s': no file= (only an IDE CD-ROM may be empty)", arg);
    }
    if (d.cdrom && d.iface == OPT_IF_FLOPPY) {
        return opt_fail("-drive", "%s: a floppy drive cannot be a CD-ROM", arg);
    }
    if (d.iface == OPT_IF_FLOPPY && d.index > 1) {
        return opt_fail("-drive", "%s: floppy index is 0 or 1", arg);
    }
    return add_drive(o, &d);
}

static enum opt_result shorthand(struct options *o, const char *opt, const char *file,
                                 enum opt_if iface, int index, bool cdrom)
{
    if (!*file) {
        return opt_fail(opt, "%s", "empty file name");
    }
    if (strlen(file) >= OPT_PATH_MAX) {
        return opt_fail(opt, "%s", "file name too long");
    }
    struct opt_drive d = { .iface = iface, .index = index, .cdrom = cdrom, .snapshot = -1,
                           .opt = opt };
    strcpy(d.file, file);
    return add_drive(o, &d);
}

enum opt_result opt_hda(struct options *o, const char *arg)
{
    return shorthand(o, "-hda", arg, OPT_IF_IDE, 0, false);
}

enum opt_result opt_hdb(struct options *o, const char *arg)
{
    return shorthand(o, "-hdb", arg, OPT_IF_IDE, 1, false);
}

enum opt_result opt_hdc(struct options *o, const char *arg)
{
    return shorthand(o, "-hdc", arg, OPT_IF_IDE, 2, false);
}

enum opt_result opt_hdd(struct options *o, const char *arg)
{
    return shorthand(o, "-hdd", arg, OPT_IF_IDE, 3, false);
}

enum opt_result opt_cdrom(struct options *o, const char *arg)
{
    return shorthand(o, "-cdrom", arg, OPT_IF_IDE, 2, true);
}

enum opt_result opt_fda(struct options *o, const char *arg)
{
    return shorthand(o, "-fda", arg, OPT_IF_FLOPPY, 0, false);
}

enum opt_result opt_fdb(struct options *o, const char *arg)
{
    return shorthand(o, "-fdb", arg, OPT_IF_FLOPPY, 1, false);
}

static bool slot_taken(const struct options *o, enum opt_if iface, int index)
{
    for (int i = 0; i < o->ndrives; i++) {
        if (o->drives[i].iface == iface && o->drives[i].index == index) {
            return true;
        }
    }
    return false;
}

enum opt_result opt_finish_drives(struct options *o)
{
    for (int i = 0; i < o->ndrives; i++) {
        struct opt_drive *d = &o->drives[i];
        if (d->index >= 0) {
            for (int j = 0; j < i; j++) {
                if (o->drives[j].iface == d->iface && o->drives[j].index == d->index) {
                    char what[64];
                    snprintf(what, sizeof(what), "%s index %d", if_name[d->iface], d->index);
                    return opt_fail(d->opt, "drive %s is already in use", what);
                }
            }
        }
    }
    for (int i = 0; i < o->ndrives; i++) {
        struct opt_drive *d = &o->drives[i];
        int max = d->iface == OPT_IF_IDE ? 4 : 2;
        for (int n = 0; d->index < 0 && n < max; n++) {
            if (!slot_taken(o, d->iface, n)) {
                d->index = n;
            }
        }
        if (d->index < 0) {
            return opt_fail(d->opt, "no free %s slot left", if_name[d->iface]);
        }
        if (d->snapshot < 0) {
            d->snapshot = o->snapshot;
        }
    }
    return OPT_RUN;
}

/* Boot device letters as QEMU's PC takes them: a/b floppy, c disk,
 * d CD-ROM, n network. */
static enum opt_result boot_order(struct options *o, const char *v)
{
    size_t n = strlen(v);
    if (n == 0 || n > 3 || strspn(v, "abcdn") != n) {
        return opt_fail("-boot",
                        "invalid boot order '%s' (up to three of a, b (floppy), c (disk), "
                        "d (CD-ROM), n (network))",
                        v);
    }
    snprintf(o->boot_order, sizeof(o->boot_order), "%s", v);
    return OPT_RUN;
}

enum opt_result opt_boot(struct options *o, const char *arg)
{
    if (!strchr(arg, '=')) {
        return boot_order(o, arg); /* the old form: -boot d */
    }
    const char *p = arg;
    while (*p) {
        struct opt_kv kv;
        if (opt_next_item(&p, &kv) < 0 || !kv.has_val) {
            return opt_fail("-boot", "invalid parameter in '%s'", arg);
        }
        if (!strcmp(kv.key, "order") || !strcmp(kv.key, "once")) {
            if (boot_order(o, kv.val) != OPT_RUN) {
                return OPT_ERROR;
            }
        } else if (!strcmp(kv.key, "menu")) {
            if (opt_parse_bool(kv.val, &o->boot_menu) < 0) {
                return opt_fail("-boot", "menu takes on or off, not '%s'", kv.val);
            }
        } else if (!strcmp(kv.key, "strict") || !strcmp(kv.key, "splash-time") ||
                   !strcmp(kv.key, "reboot-timeout")) {
            /* accepted; SeaBIOS's defaults apply */
        } else {
            return opt_fail("-boot", "unknown parameter '%s'", kv.key);
        }
    }
    return OPT_RUN;
}

enum opt_result opt_snapshot(struct options *o, const char *arg)
{
    o->snapshot = true;
    return OPT_RUN;
}

enum opt_result opt_screenshot(struct options *o, const char *arg)
{
    if (!*arg) {
        return opt_fail("-screenshot", "%s", "empty file name");
    }
    o->screenshot = arg;
    return OPT_RUN;
}

enum opt_result opt_screen_text(struct options *o, const char *arg)
{
    if (!*arg) {
        return opt_fail("-screen-text", "%s", "empty file name");
    }
    o->screen_text = arg;
    return OPT_RUN;
}

/* -name NAME, or QEMU's -name guest=NAME[,process=...][,debug-threads=...] */
enum opt_result opt_name(struct options *o, const char *arg)
{
    const char *v = arg;
    size_t n = strlen(arg);
    if (!strncmp(arg, "guest=", 6)) {
        v = arg + 6;
        n = strcspn(v, ",");
    }
    if (n >= sizeof(o->name)) {
        return opt_fail("-name", "%s", "name too long");
    }
    memcpy(o->name, v, n);
    o->name[n] = 0;
    return OPT_RUN;
}

enum opt_result opt_no_shutdown(struct options *o, const char *arg)
{
    o->no_shutdown = true;
    return OPT_RUN;
}

enum opt_result opt_qmp(struct options *o, const char *arg)
{
    if (o->qmp) {
        return opt_fail("-qmp", "%s", "only one QMP monitor is supported");
    }
    o->qmp = arg;
    return OPT_RUN;
}
