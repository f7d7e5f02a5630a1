/*
 * chardev.c - stdio, file and null character backends, and the mux that
 * shares stdio between a serial port and the monitor (see chardev.h).
 *
 * The mux reads raw input into a small buffer and feeds it byte by byte
 * through the escape state machine; a byte is only taken when it has
 * somewhere to go, so a frontend that stops reading holds back input
 * instead of losing it.  Monitor bytes go to a tiny line editor.
 */
#include "chardev.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define MUX_ESCAPE 0x01  /* Ctrl-A */
#define MUX_PENDING 4096 /* input held for a frontend that is not reading */
#define MUX_IN 256       /* raw input read at once */
#define MUX_LINE 1024    /* longest monitor line */

struct chardev_mux {
    struct chardev_mux_ops ops;
    bool shared; /* a frontend too (escapes on) */
    bool monitor_focus;
    bool got_escape;              /* the last byte was Ctrl-A */
    bool greeted;                 /* the banner was shown */
    bool terminated;              /* C-a x: no more input */
    bool timestamps;              /* C-a t */
    bool line_start;              /* the next output byte starts a line */
    uint64_t ts_start;            /* host ns when timestamps were turned on */
    uint8_t pending[MUX_PENDING]; /* for the frontend: a ring */
    size_t pend_head, pend_len;
    uint8_t in[MUX_IN];
    size_t in_pos, in_len;
    char line[MUX_LINE]; /* the monitor line being typed */
    size_t line_len;
    int ansi;     /* 1: after ESC, 2: inside ESC [ ... (swallowed) */
    bool last_cr; /* "\r\n" ends one line, not two */
    bool raw_tty; /* saved_tty must be restored */
    struct termios saved_tty;
};

int chardev_backend_parse(const char *name)
{
    if (!strcmp(name, "stdio")) {
        return CHARDEV_STDIO;
    }
    if (!strcmp(name, "file")) {
        return CHARDEV_FILE;
    }
    if (!strcmp(name, "null")) {
        return CHARDEV_NULL;
    }
    return -1;
}

struct chardev *chardev_open(enum chardev_backend backend, const char *id, const char *path,
                             bool append, char *err, size_t errlen)
{
    struct chardev *c = calloc(1, sizeof(*c));
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(c->id, sizeof(c->id), "%s", id);
    c->backend = backend;
    if (backend == CHARDEV_STDIO) {
        c->f = stdout;
        c->has_in = true;
        c->in_fd = STDIN_FILENO;
    } else if (backend == CHARDEV_FILE) {
        c->f = fopen(path, append ? "ab" : "wb");
        if (!c->f) {
            snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
            free(c);
            return NULL;
        }
    }
    return c;
}

static void report_failure(struct chardev *c)
{
    if (!c->failed) {
        c->failed = true;
        fprintf(stderr, "kasou: chardev '%s': write failed: %s\n", c->id, strerror(errno));
    }
}

static void raw_write(struct chardev *c, const uint8_t *buf, size_t len)
{
    if (!c->f || len == 0) {
        return;
    }
    if (fwrite(buf, 1, len, c->f) != len) {
        report_failure(c);
        return;
    }
    if (c->backend == CHARDEV_STDIO && memchr(buf, '\n', len)) {
        chardev_flush(c);
    }
}

void chardev_flush(struct chardev *c)
{
    if (c->f && fflush(c->f) != 0) {
        report_failure(c);
    }
}

static size_t raw_read(struct chardev *c, uint8_t *buf, size_t len)
{
    if (!c->has_in || c->in_eof || len == 0) {
        return 0;
    }
    /* Ask first, so that a blocking descriptor (a terminal) never stalls
     * the emulator. */
    struct pollfd p = { .fd = c->in_fd, .events = POLLIN };
    if (poll(&p, 1, 0) <= 0 || !(p.revents & (POLLIN | POLLHUP | POLLERR))) {
        return 0;
    }
    ssize_t n = read(c->in_fd, buf, len);
    if (n > 0) {
        return (size_t)n;
    }
    if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        c->in_eof = true; /* end of input: stop polling */
    }
    return 0;
}

/* ---- output, with the mux's timestamps -------------------------------- */

static uint64_t host_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* "[hh:mm:ss.mmm] ": the time since C-a t turned timestamps on. */
static void write_timestamp(struct chardev *c)
{
    uint64_t ms = (host_ns() - c->mux->ts_start) / 1000000u;
    char ts[40];
    int n = snprintf(ts, sizeof(ts), "[%02u:%02u:%02u.%03u] ", (unsigned)(ms / 3600000u),
                     (unsigned)(ms / 60000u % 60u), (unsigned)(ms / 1000u % 60u),
                     (unsigned)(ms % 1000u));
    raw_write(c, (const uint8_t *)ts, (size_t)n);
}

void chardev_write(struct chardev *c, const uint8_t *buf, size_t len)
{
    struct chardev_mux *m = c->mux;
    if (!m) {
        raw_write(c, buf, len);
        return;
    }
    /* cut the text at line ends: each new line may start with a timestamp */
    while (len > 0) {
        const uint8_t *nl = memchr(buf, '\n', len);
        size_t n = nl ? (size_t)(nl - buf) + 1 : len;
        if (m->timestamps && m->line_start) {
            write_timestamp(c);
        }
        raw_write(c, buf, n);
        m->line_start = nl != NULL;
        buf += n;
        len -= n;
    }
}

static void mux_puts(struct chardev *c, const char *s)
{
    chardev_write(c, (const uint8_t *)s, strlen(s));
}

/* ---- the monitor's line editor -------------------------------------- */

static void show_prompt(struct chardev *c)
{
    struct chardev_mux *m = c->mux;
    if (!m->greeted && m->ops.banner) {
        mux_puts(c, m->ops.banner);
    }
    m->greeted = true;
    if (m->ops.prompt) {
        mux_puts(c, m->ops.prompt);
    }
    chardev_write(c, (const uint8_t *)m->line, m->line_len);
    chardev_flush(c);
}

static void run_line(struct chardev *c)
{
    struct chardev_mux *m = c->mux;
    mux_puts(c, "\r\n");
    m->line[m->line_len] = '\0';
    m->line_len = 0;
    bool again = m->ops.line ? m->ops.line(m->ops.opaque, m->line) : true;
    if (again && m->monitor_focus && !m->terminated) {
        show_prompt(c);
    }
    chardev_flush(c);
}

static void monitor_byte(struct chardev *c, uint8_t ch)
{
    struct chardev_mux *m = c->mux;
    bool cr = m->last_cr;
    m->last_cr = ch == '\r';
    if (m->ansi) {
        /* an arrow or function key: ESC [ params final, or ESC O final */
        if (m->ansi == 1 && (ch == '[' || ch == 'O')) {
            m->ansi = 2;
        } else if (m->ansi == 1 || (ch >= 0x40 && ch <= 0x7E)) {
            m->ansi = 0;
        }
        return;
    }
    if (ch == '\r' || (ch == '\n' && !cr)) {
        run_line(c);
    } else if (ch == 0x7F || ch == '\b') {
        if (m->line_len > 0) {
            m->line_len--;
            mux_puts(c, "\b \b");
        }
    } else if (ch == 0x15) { /* Ctrl-U: erase the line */
        for (; m->line_len > 0; m->line_len--) {
            mux_puts(c, "\b \b");
        }
    } else if (ch == 0x1B) {
        m->ansi = 1;
    } else if (ch >= 0x20 && ch != 0x7F && m->line_len + 1 < sizeof(m->line)) {
        m->line[m->line_len++] = (char)ch;
        chardev_write(c, &ch, 1);
    }
    chardev_flush(c);
}

/* ---- the escapes ------------------------------------------------------ */

static void show_help(struct chardev *c)
{
    mux_puts(c, "\r\n"
                "Ctrl-A is the escape key; press it, then:\r\n"
                "  C-a h    this help\r\n"
                "  C-a x    quit kasou\r\n"
                "  C-a s    write the disks' pending data to their image files\r\n"
                "  C-a t    timestamps on output lines, on or off\r\n"
                "  C-a b    send a break to the serial port\r\n"
                "  C-a c    switch the input between the serial port and the monitor\r\n"
                "  C-a C-a  send one Ctrl-A to the guest\r\n");
    chardev_flush(c);
}

static void pend_push(struct chardev_mux *m, uint8_t ch)
{
    m->pending[(m->pend_head + m->pend_len) % MUX_PENDING] = ch;
    m->pend_len++;
}

static void escape(struct chardev *c, uint8_t ch)
{
    struct chardev_mux *m = c->mux;
    switch (ch) {
    case 'h':
    case '?':
        show_help(c);
        break;
    case 'x':
        mux_puts(c, "kasou: terminated\r\n");
        chardev_flush(c);
        m->terminated = true;
        if (m->ops.quit) {
            m->ops.quit(m->ops.opaque);
        }
        break;
    case 's':
        if (m->ops.flush) {
            m->ops.flush(m->ops.opaque);
        }
        break;
    case 'b':
        if (!m->monitor_focus && m->ops.brk) {
            m->ops.brk(m->ops.opaque);
        }
        break;
    case 'c':
        m->monitor_focus = !m->monitor_focus;
        if (m->monitor_focus) {
            show_prompt(c);
        }
        break;
    case 't':
        m->timestamps = !m->timestamps;
        m->ts_start = host_ns();
        break;
    case MUX_ESCAPE:
        if (m->monitor_focus) {
            monitor_byte(c, ch);
        } else {
            pend_push(m, ch);
        }
        break;
    default:
        break; /* as QEMU: an unknown escape is dropped */
    }
}

/* Whether byte `ch` can be taken now (it would go to a full buffer). */
static bool can_take(const struct chardev_mux *m, uint8_t ch)
{
    if (m->monitor_focus || m->pend_len < MUX_PENDING) {
        return true;
    }
    return m->got_escape ? ch != MUX_ESCAPE : ch == MUX_ESCAPE;
}

static void mux_byte(struct chardev *c, uint8_t ch)
{
    struct chardev_mux *m = c->mux;
    if (m->got_escape) {
        m->got_escape = false;
        escape(c, ch);
    } else if (m->shared && ch == MUX_ESCAPE) {
        m->got_escape = true;
    } else if (m->monitor_focus) {
        monitor_byte(c, ch);
    } else {
        pend_push(m, ch);
    }
}

void chardev_mux_poll(struct chardev *c)
{
    struct chardev_mux *m = c->mux;
    if (!m) {
        return;
    }
    while (!m->terminated) {
        while (m->in_pos < m->in_len && !m->terminated) {
            if (!can_take(m, m->in[m->in_pos])) {
                return;
            }
            mux_byte(c, m->in[m->in_pos++]);
        }
        m->in_pos = m->in_len = 0;
        m->in_len = raw_read(c, m->in, sizeof(m->in));
        if (m->in_len == 0) {
            return;
        }
    }
}

size_t chardev_read(struct chardev *c, uint8_t *buf, size_t len)
{
    struct chardev_mux *m = c->mux;
    if (!m) {
        return raw_read(c, buf, len);
    }
    chardev_mux_poll(c);
    size_t n = 0;
    for (; n < len && m->pend_len > 0; n++) {
        buf[n] = m->pending[m->pend_head];
        m->pend_head = (m->pend_head + 1) % MUX_PENDING;
        m->pend_len--;
    }
    return n;
}

bool chardev_input_open(const struct chardev *c)
{
    return c->has_in && !c->in_eof && !(c->mux && c->mux->terminated);
}

bool chardev_mux_monitor_focused(const struct chardev *c)
{
    return c->mux && c->mux->monitor_focus;
}

/* A terminal: raw input (the mux edits lines itself), output unchanged. */
static void make_raw(struct chardev *c)
{
    struct chardev_mux *m = c->mux;
    struct termios t;
    if (!isatty(c->in_fd) || tcgetattr(c->in_fd, &t) < 0) {
        return;
    }
    m->saved_tty = t;
    t.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
    t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    m->raw_tty = tcsetattr(c->in_fd, TCSANOW, &t) == 0;
}

int chardev_mux_enable(struct chardev *c, enum chardev_mux_mode mode,
                       const struct chardev_mux_ops *ops, char *err, size_t errlen)
{
    if (!c->has_in || c->mux) {
        snprintf(err, errlen, "chardev '%s' cannot carry a monitor (%s)", c->id,
                 c->mux ? "it already has one" : "it has no input: use stdio");
        return -1;
    }
    c->mux = calloc(1, sizeof(*c->mux));
    if (!c->mux) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    c->mux->ops = *ops;
    c->mux->shared = mode == CHARDEV_MUX_SHARED;
    c->mux->monitor_focus = !c->mux->shared;
    c->mux->line_start = true;
    make_raw(c);
    if (c->mux->monitor_focus) {
        show_prompt(c);
    }
    return 0;
}

void chardev_close(struct chardev *c)
{
    if (!c) {
        return;
    }
    chardev_flush(c);
    if (c->mux && c->mux->raw_tty) {
        tcsetattr(c->in_fd, TCSANOW, &c->mux->saved_tty);
    }
    free(c->mux);
    if (c->backend == CHARDEV_FILE && fclose(c->f) != 0) {
        report_failure(c);
    }
    free(c);
}
