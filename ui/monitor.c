/*
 * monitor.c - the monitors' callbacks answered by the machine (see
 * monitor.h).
 *
 * Requests take effect between CPU slices: qmp_poll() and hmp_poll() run
 * from the machine's poll hook, so a stop, reset or quit lands on an
 * instruction boundary, as on QEMU.
 */
#include "monitor.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu.h"
#include "cpu/mem.h"
#include "hw/block/block.h"
#include "hw/bus.h"
#include "hw/machine.h"
#include "ui/chardev.h"
#include "ui/hmp.h"
#include "ui/qmp.h"
#include "ui/screen.h"

struct monitor {
    struct machine *m;
    struct qmp *qmp; /* -qmp, or NULL */
    struct hmp *hmp; /* the human monitor on a terminal, or NULL */
    struct chardev *chr; /* its terminal */
    char name[128];
};

static const char *mon_status(void *opaque)
{
    struct monitor *mon = opaque;
    switch (mon->m->state) {
    case MACHINE_PAUSED:
        return "paused";
    case MACHINE_SHUTDOWN:
        return "shutdown";
    default:
        return "running";
    }
}

static void mon_stop(void *opaque)
{
    struct monitor *mon = opaque;
    machine_pause(mon->m);
}

static void mon_cont(void *opaque)
{
    struct monitor *mon = opaque;
    machine_resume(mon->m);
}

static void mon_reset(void *opaque)
{
    struct monitor *mon = opaque;
    machine_request_reset(mon->m);
}

static void mon_powerdown(void *opaque)
{
    struct monitor *mon = opaque;
    machine_powerdown(mon->m);
}

static void mon_quit(void *opaque)
{
    struct monitor *mon = opaque;
    machine_quit(mon->m, 0);
}

static int mon_screendump(void *opaque, const char *path, const char *format, char *err,
                          size_t errlen)
{
    struct monitor *mon = opaque;
    machine_render(mon->m);
    if (!strcmp(format, "png")) {
        return screen_write_png(mon->m->display, path, err, errlen);
    }
    return screen_write_ppm(mon->m->display, path, err, errlen);
}

/* Copy guest memory to a file, a page at a time (linear: through paging). */
static int mon_memsave(void *opaque, uint64_t addr, uint64_t size, const char *path,
                       bool physical, int cpu_index, char *err, size_t errlen)
{
    struct monitor *mon = opaque;
    if (cpu_index != 0) {
        snprintf(err, errlen, "Parameter 'cpu-index' expects a CPU number");
        return -1;
    }
    if (addr > 0xFFFFFFFFull || size > 0x100000000ull - addr) {
        snprintf(err, errlen, "Invalid addr 0x%llx/size %llu specified",
                 (unsigned long long)addr, (unsigned long long)size);
        return -1;
    }
    FILE *f = fopen(path, "wb");
    if (!f) {
        snprintf(err, errlen, "Could not open '%s': %s", path, strerror(errno));
        return -1;
    }
    uint8_t buf[4096];
    uint64_t done = 0;
    while (done < size) {
        uint32_t a = (uint32_t)(addr + done);
        uint32_t chunk = 4096 - (a & 4095);
        if (chunk > size - done) {
            chunk = (uint32_t)(size - done);
        }
        uint32_t phys = a;
        if (!physical && !mmu_probe(mon->m->cpu, a, 0, &phys)) {
            snprintf(err, errlen, "Invalid addr 0x%x specified", a);
            fclose(f);
            return -1;
        }
        bus_read_buf(mon->m->bus, phys, buf, chunk);
        if (fwrite(buf, 1, chunk, f) != chunk) {
            snprintf(err, errlen, "writing memory to '%s' failed", path);
            fclose(f);
            return -1;
        }
        done += chunk;
    }
    if (fclose(f) != 0) {
        snprintf(err, errlen, "writing memory to '%s' failed", path);
        return -1;
    }
    return 0;
}

/* xp: physical memory below 4 GiB, as the bus sees it. */
static int mon_read_phys(void *opaque, uint64_t addr, void *buf, size_t len)
{
    struct monitor *mon = opaque;
    if (addr > 0xFFFFFFFFull || len > 0x100000000ull - addr) {
        return -1;
    }
    bus_read_buf(mon->m->bus, (uint32_t)addr, buf, (uint32_t)len);
    return 0;
}

/* C-a s: what the guest wrote reaches the image files. */
static void mon_flush_disks(void *opaque)
{
    struct monitor *mon = opaque;
    for (int i = 0; i < mon->m->ndrives; i++) {
        blk_flush(mon->m->drives[i]);
    }
}

static void mon_key(void *opaque, int key, bool down)
{
    struct monitor *mon = opaque;
    machine_key(mon->m, key, down);
}

static void mon_mouse(void *opaque, int dx, int dy, int dz, int buttons)
{
    struct monitor *mon = opaque;
    machine_mouse(mon->m, dx, dy, dz, buttons);
}

static const char *mon_name(void *opaque)
{
    struct monitor *mon = opaque;
    return mon->name;
}

static struct monitor *monitor_alloc(struct machine *m, const char *name,
                                     struct qmp_machine_ops *ops, char *err, size_t errlen)
{
    struct monitor *mon = calloc(1, sizeof(*mon));
    if (!mon) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    mon->m = m;
    snprintf(mon->name, sizeof(mon->name), "%s", name ? name : "");
    *ops = (struct qmp_machine_ops){
        .opaque = mon,
        .status = mon_status,
        .stop = mon_stop,
        .cont = mon_cont,
        .system_reset = mon_reset,
        .system_powerdown = mon_powerdown,
        .quit = mon_quit,
        .screendump = mon_screendump,
        .memsave = mon_memsave,
        .read_phys = mon_read_phys,
        .key = mon_key,
        .mouse = mon_mouse,
        .flush_disks = mon_flush_disks,
        .name = mon_name,
    };
    return mon;
}

struct monitor *monitor_new(const char *spec, struct machine *m, const char *name, char *err,
                            size_t errlen)
{
    struct qmp_machine_ops ops;
    struct monitor *mon = monitor_alloc(m, name, &ops, err, errlen);
    if (!mon) {
        return NULL;
    }
    mon->qmp = qmp_new(spec, &ops, err, errlen);
    if (!mon->qmp) {
        free(mon);
        return NULL;
    }
    return mon;
}

struct monitor *monitor_new_hmp(struct chardev *chr, bool shared, struct machine *m,
                                const char *name, char *err, size_t errlen)
{
    struct qmp_machine_ops ops;
    struct monitor *mon = monitor_alloc(m, name, &ops, err, errlen);
    if (!mon) {
        return NULL;
    }
    mon->chr = chr;
    mon->hmp = hmp_new(&ops);
    if (!mon->hmp) {
        snprintf(err, errlen, "out of memory");
    }
    if (!mon->hmp || hmp_attach(mon->hmp, chr, shared, err, errlen) < 0) {
        monitor_free(mon);
        return NULL;
    }
    return mon;
}

void monitor_poll(struct monitor *mon)
{
    if (mon->qmp) {
        qmp_poll(mon->qmp);
    }
    if (mon->hmp) {
        hmp_poll(mon->hmp);
    }
}

bool monitor_can_act(const struct monitor *mon)
{
    return mon->qmp || (mon->hmp && chardev_input_open(mon->chr));
}

void monitor_event(struct monitor *mon, const char *name, const char *data_json)
{
    if (mon->qmp) {
        qmp_event(mon->qmp, name, data_json);
    }
}

void monitor_free(struct monitor *mon)
{
    if (mon) {
        qmp_free(mon->qmp);
        hmp_free(mon->hmp);
        free(mon);
    }
}
