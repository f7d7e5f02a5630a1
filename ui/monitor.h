/*
 * monitor.h - the machine behind a QMP server: ui/qmp.c speaks the
 * protocol, this file answers its callbacks with hw/machine.h calls.
 */
#ifndef KASOU_MONITOR_H
#define KASOU_MONITOR_H

#include <stddef.h>

struct machine;
struct monitor;

/* Open the QMP endpoint `spec` (-qmp); NULL with a message in err[]. */
struct monitor *monitor_new(const char *spec, struct machine *m, const char *name, char *err,
                            size_t errlen);
void monitor_poll(struct monitor *mon);
/* Forward a machine event (SHUTDOWN, RESET, ...) to the client. */
void monitor_event(struct monitor *mon, const char *name, const char *data_json);
void monitor_free(struct monitor *mon);

#endif
