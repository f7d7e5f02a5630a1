/*
 * main.c - kasou's entry point: parse the command line, build the
 * character backends and the machine, run it, and turn the way it ended
 * into the process exit status (see hw/machine.h for the statuses).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/machine.h"
#include "ui/chardev.h"
#include "ui/options.h"
#include "util/log.h"

#define ERR_MAX 512

struct session {
    struct options opts;
    struct chardev *chr[OPT_MAX_CHARDEVS];
    struct machine *machine;
};

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

static int build_machine(struct session *s)
{
    char err[ERR_MAX];
    struct machine_config cfg = {
        .ram_size = s->opts.ram_size,
        .bios_path = s->opts.bios,
        .no_reboot = s->opts.no_reboot,
        .timeout_ns = (uint64_t)(s->opts.timeout * 1e9),
        .icount_shift = s->opts.icount_shift,
    };
    s->machine = machine_new(&cfg, err, sizeof(err));
    if (!s->machine) {
        fprintf(stderr, "kasou: %s\n", err);
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
    if (s->opts.kernel && machine_load_linux(s->machine, s->opts.kernel, s->opts.initrd,
                                             s->opts.append, err, sizeof(err)) < 0) {
        fprintf(stderr, "kasou: %s\n", err);
        return -1;
    }
    return 0;
}

static void teardown(struct session *s)
{
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
        } else if (open_chardevs(s) == 0 && build_machine(s) == 0) {
            status = machine_run(s->machine);
        }
    }
    teardown(s);
    free(s);
    return status;
}
