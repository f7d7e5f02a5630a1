/*
 * chardev.h - character backends that devices write bytes to and read from.
 *
 * A chardev is created from the command line (-chardev BACKEND,id=ID,...)
 * and looked up by id when a device names it (chardev=ID).  The backends
 * are stdio (output to the host's standard output, input from its standard
 * input), file (output to a host file, truncated unless append=on, as QEMU
 * does; no input) and null (discards output, no input).
 * Output is buffered; stdio flushes at each newline and whenever the owner
 * calls chardev_flush(), so partial lines still show up promptly.  Input is
 * polled: chardev_read() never blocks.
 *
 * The mux (QEMU's "mon:stdio", what -nographic gives): a stdio chardev
 * shared by a frontend (COM1's UART, reading with chardev_read()) and the
 * human monitor.  Input goes to whichever has the focus (the serial port
 * first); output from both goes to stdout.  Ctrl-A is an escape key, as
 * in QEMU:
 *   C-a h  help        C-a x  quit ("kasou: terminated", ops->quit)
 *   C-a c  switch the input between the serial port and the monitor
 *   C-a s  flush disks (ops->flush)     C-a b  send a break (ops->brk)
 *   C-a t  timestamps on output lines   C-a C-a  a literal Ctrl-A
 * The escapes work on the byte stream whether or not stdin is a terminal
 * (pipes, tests), as QEMU's do.  On the monitor side the mux edits a line
 * (echo, backspace, Ctrl-U), shows ops->prompt and hands each complete
 * line to ops->line, whose output goes back through chardev_write().
 * When stdin is a terminal it is put in raw mode (no echo, no line
 * buffering, no signal keys: Ctrl-C goes to the guest; C-a x quits) and
 * restored by chardev_close().
 * The mux is pumped by chardev_read() (the UART, while the guest runs) and
 * by chardev_mux_poll(), which the run loop's poll hook calls every
 * iteration, running or paused, so the monitor answers while the guest is
 * stopped.  Bytes for a frontend that is not reading wait in a 4 KiB
 * buffer; when it is full, input stops being read (as QEMU's mux does).
 */
#ifndef KASOU_CHARDEV_H
#define KASOU_CHARDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum chardev_backend { CHARDEV_NULL, CHARDEV_STDIO, CHARDEV_FILE };

struct chardev {
    char id[32];
    enum chardev_backend backend;
    FILE *f;     /* stdout, an opened file, or NULL for null */
    bool failed; /* a host write failed: reported once */
    bool has_in; /* in_fd is an input descriptor (stdio: the host's stdin) */
    int in_fd;
    bool in_eof;             /* input reached end of file (or failed): not polled again */
    struct chardev_mux *mux; /* shared with the monitor, or NULL */
};

/* What the mux calls (it runs inside chardev_read/chardev_mux_poll). */
struct chardev_mux_ops {
    void *opaque;
    const char *banner; /* shown before the first prompt; NULL: none */
    const char *prompt; /* "(kasou) " */
    /* A complete monitor line, without its end; write the output with
     * chardev_write().  false: show no prompt after it (quit ran). */
    bool (*line)(void *opaque, const char *line);
    void (*quit)(void *opaque);  /* C-a x, after "kasou: terminated" */
    void (*flush)(void *opaque); /* C-a s; NULL: ignored */
    void (*brk)(void *opaque);   /* C-a b (serial focus); NULL: ignored */
};

enum chardev_mux_mode {
    CHARDEV_MUX_SHARED,  /* a frontend and the monitor, Ctrl-A escapes */
    CHARDEV_MUX_MONITOR, /* the monitor alone (-monitor stdio): no escapes */
};

/*
 * Open a backend.  `path` is used by CHARDEV_FILE only.  Returns NULL
 * with a message in err[] when the host file cannot be opened.
 */
struct chardev *chardev_open(enum chardev_backend backend, const char *id, const char *path,
                             bool append, char *err, size_t errlen);
/* Parse a backend name ("stdio", "file", "null"); -1 if unknown. */
int chardev_backend_parse(const char *name);
void chardev_write(struct chardev *c, const uint8_t *buf, size_t len);
void chardev_flush(struct chardev *c);
/*
 * Read up to `len` bytes of input that are already available, without
 * blocking; returns how many (0 when there is none, or the backend has no
 * input).  Only stdio has input: the host's standard input.
 */
size_t chardev_read(struct chardev *c, uint8_t *buf, size_t len);
/*
 * Share `c` (a backend with input: stdio) with the monitor.  `ops` is
 * copied; the strings it points to must outlive the chardev.  The monitor
 * alone shows its banner and prompt at once.  -1 with a message in err[].
 */
int chardev_mux_enable(struct chardev *c, enum chardev_mux_mode mode,
                       const struct chardev_mux_ops *ops, char *err, size_t errlen);
/* Read input and run escapes and monitor lines; frontend bytes wait for
 * chardev_read().  Never blocks; nothing for a chardev without a mux. */
void chardev_mux_poll(struct chardev *c);
/* Input may still arrive: the backend has input, it has not ended, and
 * no C-a x ended the mux.  (A run loop may exit on a dead guest when no
 * front end can act any more.) */
bool chardev_input_open(const struct chardev *c);
/* The monitor has the input focus. */
bool chardev_mux_monitor_focused(const struct chardev *c);
/* Flush and release (a terminal leaves raw mode); stdout stays open. */
void chardev_close(struct chardev *c);

#endif
