/*
 * The stdio chardev and its mux, on a pipe instead of the terminal (the
 * escapes work on the byte stream, as QEMU's do).  A fake monitor records
 * the lines it is given and the escape callbacks; frontend bytes are read
 * as the UART reads them, with chardev_read().  Expected behaviour is
 * QEMU's mux: Ctrl-A h/x/s/b/c/t, Ctrl-A Ctrl-A for a literal Ctrl-A,
 * unknown escapes dropped, input to the focused side only.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ui/chardev.h"

struct fake_mon {
    char lines[16][64];
    int nlines;
    char calls[128];
    bool stay; /* line() answer: show the prompt again */
};

static struct fake_mon fm;
static struct chardev *c;
static FILE *out;
static int pfd[2];

static bool f_line(void *o, const char *line)
{
    if (fm.nlines < 16) {
        snprintf(fm.lines[fm.nlines++], 64, "%s", line);
    }
    chardev_write(c, (const uint8_t *)"OUT\r\n", 5);
    return fm.stay;
}
static void f_quit(void *o)
{
    strcat(fm.calls, "quit;");
}
static void f_flush(void *o)
{
    strcat(fm.calls, "flush;");
}
static void f_brk(void *o)
{
    strcat(fm.calls, "break;");
}

static const struct chardev_mux_ops ops = {
    .banner = "BANNER\r\n",
    .prompt = "(kasou) ",
    .line = f_line,
    .quit = f_quit,
    .flush = f_flush,
    .brk = f_brk,
};

static void open_pipe_chardev(void)
{
    char err[128];
    memset(&fm, 0, sizeof(fm));
    fm.stay = true;
    cr_assert_eq(pipe(pfd), 0);
    c = chardev_open(CHARDEV_STDIO, "serial0", NULL, false, err, sizeof(err));
    cr_assert_not_null(c);
    out = tmpfile();
    c->in_fd = pfd[0];
    c->f = out;
}

static void setup_shared(void)
{
    char err[128];
    open_pipe_chardev();
    cr_assert_eq(chardev_mux_enable(c, CHARDEV_MUX_SHARED, &ops, err, sizeof(err)), 0, "%s", err);
}

static void teardown(void)
{
    chardev_close(c);
    fclose(out);
    close(pfd[0]);
    close(pfd[1]);
}

static void feed(const char *bytes, size_t n)
{
    cr_assert_eq(write(pfd[1], bytes, n), (ssize_t)n);
}
#define FEED(s) feed((s), sizeof(s) - 1)

/* Everything the frontend can read now. */
static size_t drain(uint8_t *buf, size_t cap)
{
    size_t n = 0, got;
    while (n < cap && (got = chardev_read(c, buf + n, cap - n)) > 0) {
        n += got;
    }
    return n;
}

static const char *output(void)
{
    static char buf[8192];
    fflush(out);
    rewind(out);
    size_t n = fread(buf, 1, sizeof(buf) - 1, out);
    buf[n] = '\0';
    return buf;
}

TestSuite(chardev, .fini = teardown);

Test(chardev, plain_stdio_reads_and_writes, .init = open_pipe_chardev)
{
    cr_assert(chardev_input_open(c));
    FEED("a\001b");
    uint8_t buf[8];
    cr_assert_eq(drain(buf, sizeof(buf)), 3); /* no mux: Ctrl-A is a byte */
    cr_assert_eq(memcmp(buf, "a\001b", 3), 0);
    chardev_write(c, (const uint8_t *)"hi\n", 3);
    cr_assert_str_eq(output(), "hi\n");
    cr_assert(!chardev_mux_monitor_focused(c));
}

Test(chardev, mux_bytes_go_to_the_frontend, .init = setup_shared)
{
    FEED("hello\r");
    uint8_t buf[16];
    cr_assert_eq(drain(buf, sizeof(buf)), 6);
    cr_assert_eq(memcmp(buf, "hello\r", 6), 0);
    cr_assert_eq(fm.nlines, 0);
    cr_assert_str_eq(output(), ""); /* the mux echoes nothing for the guest */
}

Test(chardev, ctrl_a_twice_sends_one_ctrl_a, .init = setup_shared)
{
    FEED("x\x01\x01y\x01\x01\x01\x01");
    uint8_t buf[16];
    cr_assert_eq(drain(buf, sizeof(buf)), 5);
    cr_assert_eq(memcmp(buf, "x\x01y\x01\x01", 5), 0);
}

Test(chardev, unknown_escape_is_dropped, .init = setup_shared)
{
    FEED("a\x01qb");
    uint8_t buf[16];
    cr_assert_eq(drain(buf, sizeof(buf)), 2);
    cr_assert_eq(memcmp(buf, "ab", 2), 0);
}

Test(chardev, escape_split_across_reads, .init = setup_shared)
{
    uint8_t buf[16];
    FEED("a\x01");
    cr_assert_eq(drain(buf, sizeof(buf)), 1);
    FEED("\001b");
    cr_assert_eq(drain(buf, sizeof(buf)), 2);
    cr_assert_eq(memcmp(buf, "\001b", 2), 0);
}

Test(chardev, ctrl_a_c_switches_to_the_monitor_and_back, .init = setup_shared)
{
    FEED("ab\001cinfo status\n");
    uint8_t buf[32];
    cr_assert_eq(drain(buf, sizeof(buf)), 2);
    cr_assert(chardev_mux_monitor_focused(c));
    cr_assert_eq(fm.nlines, 1);
    cr_assert_str_eq(fm.lines[0], "info status");
    /* banner once, prompt, the echoed line, its output, the prompt again */
    cr_assert_str_eq(output(), "BANNER\r\n(kasou) info status\r\nOUT\r\n(kasou) ");
    FEED("\001ccd\001c");
    cr_assert_eq(drain(buf, sizeof(buf)), 2);
    cr_assert_eq(memcmp(buf, "cd", 2), 0);
    cr_assert(chardev_mux_monitor_focused(c));
    /* the second switch shows the prompt without the banner */
    const char *o = output();
    cr_assert_str_eq(o, "BANNER\r\n(kasou) info status\r\nOUT\r\n(kasou) (kasou) ");
}

Test(chardev, monitor_runs_while_the_frontend_is_not_reading, .init = setup_shared)
{
    /* paused: the run loop calls chardev_mux_poll(), the UART reads nothing */
    FEED("\001cstop\r\n");
    chardev_mux_poll(c);
    cr_assert_eq(fm.nlines, 1);
    cr_assert_str_eq(fm.lines[0], "stop"); /* "\r\n" ends one line, not two */
    FEED("cont\n");
    chardev_mux_poll(c);
    cr_assert_eq(fm.nlines, 2);
    cr_assert_str_eq(fm.lines[1], "cont");
}

Test(chardev, line_editing, .init = setup_shared)
{
    FEED("\001cinfx\x7fo\x1b[Dstatus\r");
    chardev_mux_poll(c);
    cr_assert_eq(fm.nlines, 1);
    cr_assert_str_eq(fm.lines[0], "infostatus"); /* the arrow key is swallowed */
    FEED("garbage\x15stop\r");
    chardev_mux_poll(c);
    cr_assert_str_eq(fm.lines[1], "stop");
    cr_assert(strstr(output(), "(kasou) infx\b \bostatus\r\nOUT\r\n"), "%s", output());
}

Test(chardev, ctrl_a_x_quits_and_stops_reading, .init = setup_shared)
{
    FEED("ab\x01xcd");
    uint8_t buf[16];
    cr_assert_eq(drain(buf, sizeof(buf)), 2);
    cr_assert_eq(memcmp(buf, "ab", 2), 0);
    cr_assert_str_eq(fm.calls, "quit;");
    cr_assert_str_eq(output(), "kasou: terminated\r\n");
    cr_assert(!chardev_input_open(c));
    chardev_mux_poll(c);
    cr_assert_eq(drain(buf, sizeof(buf)), 0);
    cr_assert_str_eq(fm.calls, "quit;");
}

Test(chardev, ctrl_a_x_from_the_monitor, .init = setup_shared)
{
    FEED("\001cin\x01x");
    chardev_mux_poll(c);
    cr_assert_str_eq(fm.calls, "quit;");
    cr_assert_eq(fm.nlines, 0);
}

Test(chardev, flush_break_and_help, .init = setup_shared)
{
    FEED("\x01s\001b\x01h");
    chardev_mux_poll(c);
    cr_assert_str_eq(fm.calls, "flush;break;");
    const char *o = output();
    cr_assert(strstr(o, "C-a x    quit kasou\r\n"), "%s", o);
    cr_assert(strstr(o, "C-a c    switch the input"), "%s", o);
    cr_assert(strstr(o, "C-a C-a  send one Ctrl-A to the guest\r\n"), "%s", o);
    /* a break only goes to the serial port when it has the focus */
    FEED("\001c\001b");
    chardev_mux_poll(c);
    cr_assert_str_eq(fm.calls, "flush;break;");
}

Test(chardev, timestamps_toggle, .init = setup_shared)
{
    chardev_write(c, (const uint8_t *)"one\n", 4);
    FEED("\x01t");
    chardev_mux_poll(c);
    chardev_write(c, (const uint8_t *)"two\nthr", 7);
    chardev_write(c, (const uint8_t *)"ee\n", 3);
    FEED("\x01t");
    chardev_mux_poll(c);
    chardev_write(c, (const uint8_t *)"four\n", 5);
    const char *o = output();
    /* "[hh:mm:ss.mmm] " at each line start while on, none off */
    cr_assert(!strncmp(o, "one\n[00:00:00.", 14), "%s", o);
    cr_assert(!strncmp(o + 17, "] two\n[00:00:00.", 16), "%s", o);
    cr_assert(!strcmp(o + 36, "] three\nfour\n"), "%s", o);
}

Test(chardev, a_full_frontend_holds_input_back_without_loss, .init = setup_shared)
{
    static char big[6000];
    for (size_t i = 0; i < sizeof(big); i++) {
        big[i] = (char)('a' + i % 26);
    }
    feed(big, sizeof(big));
    chardev_mux_poll(c); /* the UART reads nothing: 4 KiB wait in the mux */
    chardev_mux_poll(c);
    static uint8_t got[8000];
    size_t n = drain(got, 4000);
    cr_assert_eq(n, 4000);
    n += drain(got + n, sizeof(got) - n);
    cr_assert_eq(n, sizeof(big));
    cr_assert_eq(memcmp(got, big, sizeof(big)), 0);
}

Test(chardev, monitor_alone_has_no_escapes, .init = open_pipe_chardev)
{
    char err[128];
    cr_assert_eq(chardev_mux_enable(c, CHARDEV_MUX_MONITOR, &ops, err, sizeof(err)), 0);
    cr_assert(chardev_mux_monitor_focused(c));
    cr_assert_str_eq(output(), "BANNER\r\n(kasou) "); /* shown at once */
    FEED("a\x01xb\n");
    chardev_mux_poll(c);
    cr_assert_eq(fm.nlines, 1);
    cr_assert_str_eq(fm.lines[0], "axb"); /* Ctrl-A is not an escape here */
    cr_assert_str_eq(fm.calls, "");
    uint8_t buf[8];
    cr_assert_eq(chardev_read(c, buf, sizeof(buf)), 0);
}

Test(chardev, no_prompt_after_quit_line, .init = setup_shared)
{
    fm.stay = false;
    FEED("\001cquit\n");
    chardev_mux_poll(c);
    cr_assert_str_eq(output(), "BANNER\r\n(kasou) quit\r\nOUT\r\n");
}

Test(chardev, mux_needs_input, .init = open_pipe_chardev)
{
    char err[128];
    struct chardev *f = chardev_open(CHARDEV_NULL, "n", NULL, false, err, sizeof(err));
    cr_assert_eq(chardev_mux_enable(f, CHARDEV_MUX_SHARED, &ops, err, sizeof(err)), -1);
    cr_assert(strstr(err, "no input"), "%s", err);
    chardev_close(f);
    cr_assert_eq(chardev_mux_enable(c, CHARDEV_MUX_SHARED, &ops, err, sizeof(err)), 0);
    cr_assert_eq(chardev_mux_enable(c, CHARDEV_MUX_SHARED, &ops, err, sizeof(err)), -1);
}

Test(chardev, input_ends_at_end_of_file, .init = setup_shared)
{
    FEED("ab");
    close(pfd[1]);
    pfd[1] = dup(pfd[0]); /* teardown closes something harmless */
    uint8_t buf[8];
    cr_assert_eq(drain(buf, sizeof(buf)), 2);
    chardev_mux_poll(c);
    cr_assert(!chardev_input_open(c));
}
