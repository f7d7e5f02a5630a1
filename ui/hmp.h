/*
 * hmp.h - the human monitor: QEMU's line-oriented command language
 * ("info status", "stop", "sendkey ctrl-alt-delete", "xp /8xb 0x7c00"),
 * spoken over the same struct qmp_machine_ops callbacks as the QMP server,
 * so QMP's human-monitor-command and the monitor on the terminal (the
 * stdio mux, -monitor stdio) run one interpreter.
 *
 * hmp_run() takes one command line and returns the text QEMU's monitor
 * would print for it, lines ended with "\r\n" as QEMU's monitor ends
 * them; errors read "Error: ..." where QEMU's do.  It never blocks.
 *
 * hmp_attach() puts the monitor on a terminal: a stdio chardev it shares
 * with a serial port (QEMU's mon:stdio mux, Ctrl-A escapes) or has alone
 * (-monitor stdio); see ui/chardev.h.
 *
 * The struct also owns the timed key queue that both monitors use:
 * sendkey (and QMP's send-key, input-send-event) press keys with a hold
 * time between events, and hmp_poll() delivers them as time passes, so
 * no monitor ever sleeps.
 */
#ifndef KASOU_HMP_H
#define KASOU_HMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ui/qmp.h"

#define HMP_MAX_KEYS 16 /* keys pressed together by one sendkey */
#define HMP_HOLD_MS 100 /* sendkey's default hold time, as QEMU */

/* The QEMU version kasou answers as (what QMP clients check for). */
#define HMP_QEMU_VERSION "7.2.0"

struct hmp;
struct chardev;

/* `ops` is copied; NULL on out of memory. */
struct hmp *hmp_new(const struct qmp_machine_ops *ops);
void hmp_free(struct hmp *h);

/*
 * Run one command line; returns its output ("" for none), valid until
 * the next hmp_run() or hmp_free().
 */
const char *hmp_run(struct hmp *h, const char *line);
/* quit ran (the caller stops reading commands; QMP sends SHUTDOWN). */
bool hmp_quitting(const struct hmp *h);

/*
 * Run the monitor on `chr` (stdio), shared with the serial port that reads
 * it (shared: C-a c switches the input; C-a x calls ops->quit, C-a s
 * ops->flush_disks, C-a b ops->serial_break) or alone.  Output goes to
 * chr.  hmp_poll() then pumps the chardev's input.  -1 with err[] set.
 */
int hmp_attach(struct hmp *h, struct chardev *chr, bool shared, char *err, size_t errlen);

/* Read the attached chardev's input (monitor lines, escapes) and deliver
 * the queued key events that are due.  Call it between CPU slices and
 * while paused. */
void hmp_poll(struct hmp *h);
/*
 * Queue codes[] (i8042 key codes) pressed in order and released in
 * reverse, hold_ms after each event.  -1 with a message in err[] when the
 * machine has no keyboard or the queue has no room.
 */
int hmp_keys_press(struct hmp *h, const int *codes, int n, uint32_t hold_ms, char *err,
                   size_t errlen);
/* Queue one key event behind the pending ones (room: hmp_keys_room()). */
void hmp_keys_event(struct hmp *h, int code, bool down);
unsigned hmp_keys_room(const struct hmp *h);

#endif
