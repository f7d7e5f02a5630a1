/*
 * qmp.h - a QMP server: QEMU's JSON machine protocol, so the scripts and
 * tools that drive QEMU (socat, Python's qemu.qmp, libvirt-style clients)
 * can drive kasou.
 *
 * The monitor knows nothing of the machine: it calls the callbacks in
 * struct qmp_machine_ops.  It is single-threaded and never blocks (except
 * wait=on at creation, as QEMU): the run loop calls qmp_poll() between CPU
 * slices and while the guest is paused, and qmp_poll() accepts a client,
 * reads what has arrived, runs complete commands and writes the replies.
 *
 * Endpoint specs, as QEMU's -qmp:
 *   unix:PATH[,server=on|off][,wait=on|off]   (legacy: ,server ,nowait)
 *   tcp:[HOST]:PORT[,server=...][,wait=...][,nodelay=on]  (HOST [v6] ok)
 *   stdio
 * server=on listens; wait defaults to on, which blocks qmp_new() until a
 * client connects (as QEMU).  Without server the monitor connects to the
 * endpoint as a client, once.  A listening monitor serves one client at a
 * time, as QEMU: a second client's connect completes in the kernel's
 * backlog but gets no greeting until the first one disconnects.  A stale
 * socket file at PATH is replaced; the file is removed by qmp_free().
 * ",," in PATH stands for a comma.
 *
 * Protocol notes (QEMU 7.2 behaviour): greeting with empty capabilities
 * (no out-of-band execution); commands before qmp_capabilities get a
 * CommandNotFound error; every reply echoes the request's "id"; events go
 * only to a client that has negotiated; lines end with "\r\n".
 */
#ifndef KASOU_QMP_H
#define KASOU_QMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Mouse buttons for the mouse callback (same bits as hw/i8042.h's). */
enum {
    QMP_BTN_LEFT = 1 << 0,
    QMP_BTN_RIGHT = 1 << 1,
    QMP_BTN_MIDDLE = 1 << 2,
    QMP_BTN_SIDE = 1 << 3,
    QMP_BTN_EXTRA = 1 << 4,
};

/*
 * What the monitor asks of the machine.  Any callback may be NULL: the
 * commands that need it then fail with a GenericError.  The callbacks run
 * inside qmp_poll(); they may call qmp_event() (the event goes out before
 * the command's reply, as QEMU's STOP before stop's return).
 */
struct qmp_machine_ops {
    void *opaque;
    /* QEMU run state name: "running", "paused", "shutdown", ... */
    const char *(*status)(void *opaque);
    void (*stop)(void *opaque);
    void (*cont)(void *opaque); /* not called in "shutdown" */
    /* The machine reports the reset as QEMU: RESET {"guest": false,
     * "reason": "host-qmp-system-reset"}. */
    void (*system_reset)(void *opaque);
    void (*system_powerdown)(void *opaque);
    /* End the run soon.  The monitor itself sends SHUTDOWN {"guest":
     * false, "reason": "host-qmp-quit"} after quit's reply, as QEMU. */
    void (*quit)(void *opaque);
    /* Save the screen to `path` as "png" or "ppm"; -1 with err[] set. */
    int (*screendump)(void *opaque, const char *path, const char *format, char *err, size_t errlen);
    /* Save `size` bytes of guest memory from `addr` to `path`: physical
     * (pmemsave) or linear through CPU `cpu_index`'s paging (memsave).
     * -1 with err[] set (QEMU: "Invalid addr 0x... specified",
     * "Parameter 'cpu-index' expects a CPU number"). */
    int (*memsave)(void *opaque, uint64_t addr, uint64_t size, const char *path, bool physical,
                   int cpu_index, char *err, size_t errlen);
    /* Read `len` bytes of guest physical memory at `addr` (the monitor's
     * xp); -1 where nothing can be read (beyond the address space). */
    int (*read_phys)(void *opaque, uint64_t addr, void *buf, size_t len);
    /* A key went down or up: an i8042 key code (hw/i8042.h). */
    void (*key)(void *opaque, int key, bool down);
    /* Relative motion: dx right, dy down (screen direction), dz wheel
     * notches toward the user, with QMP_BTN_* `buttons` held. */
    void (*mouse)(void *opaque, int dx, int dy, int dz, int buttons);
    /* The terminal's escapes (ui/chardev.h's mux): C-a s writes the disks'
     * pending data to their images; C-a b sends a break to the serial port
     * sharing the terminal.  Used by the human monitor on a chardev only. */
    void (*flush_disks)(void *opaque);
    void (*serial_break)(void *opaque);
    /* -name, for query-name; NULL or "" when none. */
    const char *(*name)(void *opaque);
    /* Nanoseconds for send-key's hold-time; NULL: the host's monotonic
     * clock.  (Pass virtual time to keep -icount runs repeatable.) */
    uint64_t (*now_ns)(void *opaque);
};

enum qmp_transport { QMP_UNIX, QMP_TCP, QMP_STDIO };

/* A parsed endpoint spec. */
struct qmp_spec {
    enum qmp_transport transport;
    char path[108]; /* unix: socket path (sun_path's size) */
    char host[256]; /* tcp: host ("" = every address), no brackets */
    char port[32];  /* tcp: port number or service name */
    bool server;
    bool wait;
    bool nodelay;
};

struct qmp;

/* Parse a -qmp spec; -1 with a message in err[]. */
int qmp_parse_spec(const char *spec, struct qmp_spec *out, char *err, size_t errlen);
/*
 * Open the endpoint (listen, connect, or use stdio) and, with wait=on,
 * block until a client connects.  `ops` is copied.  NULL with a message
 * in err[] on a bad spec or a socket error.
 */
struct qmp *qmp_new(const char *spec, const struct qmp_machine_ops *ops, char *err, size_t errlen);
/*
 * A monitor on an already connected channel: read commands from in_fd,
 * write replies to out_fd (the same descriptor for a socket).  The
 * monitor closes them in qmp_free() if `owned`.  The greeting is sent at
 * once.  For tests and embedding.
 */
struct qmp *qmp_new_fd(int in_fd, int out_fd, bool owned, const struct qmp_machine_ops *ops);
/* Send what is still buffered (waiting up to a second), close, and
 * remove the unix socket file. */
void qmp_free(struct qmp *q);

/* Accept, read, run commands, write replies; never blocks. */
void qmp_poll(struct qmp *q);
/*
 * The descriptor worth waiting on for input (the client, else the
 * listening socket); -1 when there is none.  *want_write (if non-NULL)
 * is set when replies are waiting for the client to read.
 */
int qmp_fd(const struct qmp *q, bool *want_write);
/* A client is connected (it may not have negotiated yet). */
bool qmp_connected(const struct qmp *q);

/*
 * Send an event to the client, if it has negotiated: {"timestamp":
 * {"seconds", "microseconds"} (host wall clock), "event": name, "data":
 * data_json}.  data_json is a JSON object's text, or NULL for none.
 * Events kasou emits (QEMU's names): SHUTDOWN {"guest", "reason":
 * "guest-shutdown" | "host-qmp-quit" | ...}, RESET {"guest", "reason"},
 * POWERDOWN, STOP, RESUME.
 */
void qmp_event(struct qmp *q, const char *name, const char *data_json);

#endif
