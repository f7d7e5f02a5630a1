/*
 * monitor.h - the machine behind a monitor: ui/qmp.c speaks QMP, ui/hmp.c
 * the human monitor; this file answers their callbacks with hw/machine.h
 * calls.
 */
#ifndef KASOU_MONITOR_H
#define KASOU_MONITOR_H

#include <stdbool.h>
#include <stddef.h>

struct chardev;
struct machine;
struct monitor;

/* Open the QMP endpoint `spec` (-qmp); NULL with a message in err[]. */
struct monitor *monitor_new(const char *spec, struct machine *m, const char *name, char *err,
                            size_t errlen);
/*
 * The human monitor on `chr` (a stdio chardev): shared with the COM port
 * that reads it (-nographic, -serial mon:stdio: Ctrl-A escapes, C-a c
 * switches) or alone (-monitor stdio).  NULL with a message in err[].
 */
struct monitor *monitor_new_hmp(struct chardev *chr, bool shared, struct machine *m,
                                const char *name, char *err, size_t errlen);
/* Between CPU slices and while paused: commands, terminal input, keys. */
void monitor_poll(struct monitor *mon);
/*
 * Whether the monitor can still act: a QMP server always can (a client
 * may connect); the human monitor while its terminal input is open.
 */
bool monitor_can_act(const struct monitor *mon);
/* Forward a machine event (SHUTDOWN, RESET, ...) to the QMP client (the
 * human monitor shows none, as QEMU's). */
void monitor_event(struct monitor *mon, const char *name, const char *data_json);
void monitor_free(struct monitor *mon);

#endif
