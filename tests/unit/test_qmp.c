/*
 * The QMP server driven as a client would drive it: over a socketpair
 * (most tests), a unix socket in a scratch directory, and TCP on the
 * loopback.  A fake machine records the callbacks.  Expected replies are
 * QEMU 7.2's (docs/interop/qmp-spec, qapi/qmp-dispatch.c messages): the
 * greeting shape, CommandNotFound before negotiation, "id" echoed, events
 * with a timestamp, "\r\n" line ends.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "ui/qmp.h"
#include "util/json.h"
#include "util/json_write.h"

/* ---- a fake machine -------------------------------------------------- */

#define MAX_EV 64

struct fake {
    char calls[512]; /* "stop;cont;..." */
    const char *status;
    const char *name;
    uint64_t now;     /* ns, for send-key's hold-time */
    int keys[MAX_EV]; /* code | 0x10000 when down */
    int nkeys;
    int mouse[MAX_EV][4]; /* dx, dy, dz, buttons */
    int nmouse;
    char path[256], format[8];
    uint64_t addr, size;
    bool physical;
    int cpu;
    int fail; /* screendump/memsave fail */
};

static struct fake fk;
static struct qmp *q;
static int cfd = -1; /* the client's end */
static char inbuf[65536];
static size_t inlen;

static void called(const char *what)
{
    strncat(fk.calls, what, sizeof(fk.calls) - strlen(fk.calls) - 2);
    strcat(fk.calls, ";");
}

static const char *f_status(void *o)
{
    return fk.status;
}
static void f_stop(void *o)
{
    called("stop");
    fk.status = "paused";
}
static void f_cont(void *o)
{
    called("cont");
    fk.status = "running";
}
static void f_reset(void *o)
{
    called("reset");
}
static void f_powerdown(void *o)
{
    called("powerdown");
}
static void f_quit(void *o)
{
    called("quit");
}
static const char *f_name(void *o)
{
    return fk.name;
}
static uint64_t f_now(void *o)
{
    return fk.now;
}

static int f_screendump(void *o, const char *path, const char *format, char *err, size_t errlen)
{
    called("screendump");
    snprintf(fk.path, sizeof(fk.path), "%s", path);
    snprintf(fk.format, sizeof(fk.format), "%s", format);
    if (fk.fail) {
        snprintf(err, errlen, "Could not open '%s': No such file or directory", path);
        return -1;
    }
    return 0;
}

static int f_memsave(void *o, uint64_t addr, uint64_t size, const char *path, bool physical,
                     int cpu, char *err, size_t errlen)
{
    called(physical ? "pmemsave" : "memsave");
    fk.addr = addr;
    fk.size = size;
    fk.physical = physical;
    fk.cpu = cpu;
    snprintf(fk.path, sizeof(fk.path), "%s", path);
    if (fk.fail) {
        snprintf(err, errlen, "Invalid addr 0x%llx specified", (unsigned long long)addr);
        return -1;
    }
    return 0;
}

static void f_key(void *o, int key, bool down)
{
    cr_assert_lt(fk.nkeys, MAX_EV);
    fk.keys[fk.nkeys++] = key | (down ? 0x10000 : 0);
}

static void f_mouse(void *o, int dx, int dy, int dz, int buttons)
{
    cr_assert_lt(fk.nmouse, MAX_EV);
    int *m = fk.mouse[fk.nmouse++];
    m[0] = dx, m[1] = dy, m[2] = dz, m[3] = buttons;
}

static const struct qmp_machine_ops ops = {
    .status = f_status,
    .stop = f_stop,
    .cont = f_cont,
    .system_reset = f_reset,
    .system_powerdown = f_powerdown,
    .quit = f_quit,
    .screendump = f_screendump,
    .memsave = f_memsave,
    .key = f_key,
    .mouse = f_mouse,
    .name = f_name,
    .now_ns = f_now,
};

/* ---- a client -------------------------------------------------------- */

static void send_raw(const char *s)
{
    size_t n = strlen(s);
    cr_assert_eq(write(cfd, s, n), (ssize_t)n);
}

/* Next message from the server (without "\r\n"), polling it meanwhile;
 * NULL if none arrives within ~1 s.  Returns a static buffer. */
static const char *next_msg(void)
{
    static char line[65536];
    for (int tries = 0; tries < 200; tries++) {
        char *eol = memmem(inbuf, inlen, "\r\n", 2);
        if (eol) {
            size_t n = (size_t)(eol - inbuf);
            memcpy(line, inbuf, n);
            line[n] = '\0';
            memmove(inbuf, eol + 2, inlen - n - 2);
            inlen -= n + 2;
            return line;
        }
        if (q) {
            qmp_poll(q);
        }
        struct pollfd p = { .fd = cfd, .events = POLLIN };
        if (poll(&p, 1, 5) > 0) {
            ssize_t r = read(cfd, inbuf + inlen, sizeof(inbuf) - inlen);
            if (r <= 0) {
                return NULL;
            }
            inlen += (size_t)r;
        }
    }
    return NULL;
}

/* Nothing more arrives (after polling the server a while). */
static void expect_silence(void)
{
    const char *m = next_msg();
    cr_assert_null(m, "unexpected message: %s", m);
}

static const char *cmd(const char *json)
{
    send_raw(json);
    const char *r = next_msg();
    cr_assert_not_null(r, "no reply to %s", json);
    return r;
}

static void expect(const char *json, const char *reply)
{
    cr_assert_str_eq(cmd(json), reply, "for %s", json);
}

static void expect_error(const char *json, const char *cls, const char *desc)
{
    char want[1024];
    snprintf(want, sizeof(want), "{\"error\": {\"class\": \"%s\", \"desc\": \"%s\"}}", cls, desc);
    expect(json, want);
}

#define GREETING                                                                                   \
    "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}, "              \
    "\"package\": \"kasou " KASOU_VERSION "\"}, \"capabilities\": []}}"

static void setup(void)
{
    memset(&fk, 0, sizeof(fk));
    fk.status = "running";
    inlen = 0;
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    cfd = sv[0];
    q = qmp_new_fd(sv[1], sv[1], true, &ops);
    cr_assert_not_null(q);
}

static void teardown(void)
{
    qmp_free(q);
    q = NULL;
    if (cfd >= 0) {
        close(cfd);
        cfd = -1;
    }
}

/* Greeting read and capabilities negotiated. */
static void negotiate(void)
{
    cr_assert_str_eq(next_msg(), GREETING);
    expect("{\"execute\": \"qmp_capabilities\"}", "{\"return\": {}}");
}

TestSuite(qmp, .init = setup, .fini = teardown);

/* ---- the session ----------------------------------------------------- */

Test(qmp, greeting_shape)
{
    const char *g = next_msg();
    cr_assert_str_eq(g, GREETING);
    struct json_doc *d = json_parse(g, strlen(g), NULL, 0);
    cr_assert_not_null(d);
    const struct json *v = json_get(json_get(json_root(d), "QMP"), "version");
    cr_assert_eq(json_num(json_get(json_get(v, "qemu"), "major"), 0), 7);
    cr_assert_eq(json_count(json_get(json_get(json_root(d), "QMP"), "capabilities")), 0);
    json_free(d);
}

Test(qmp, commands_wait_for_negotiation)
{
    next_msg();
    expect_error("{\"execute\": \"query-status\"}", "CommandNotFound",
                 "Expecting capabilities negotiation with 'qmp_capabilities'");
    expect_error("{\"execute\": \"no-such-command\"}", "CommandNotFound",
                 "Expecting capabilities negotiation with 'qmp_capabilities'");
    cr_assert_str_eq(fk.calls, "");
    expect_error("{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": [\"oob\"]}}",
                 "GenericError", "Capability 'oob' not available");
    expect("{\"execute\": \"qmp_capabilities\", \"id\": 1}", "{\"return\": {}, \"id\": 1}");
    expect("{\"execute\": \"query-status\"}",
           "{\"return\": {\"status\": \"running\", \"singlestep\": false, \"running\": true}}");
    expect_error("{\"execute\": \"qmp_capabilities\"}", "CommandNotFound",
                 "Capabilities negotiation is already complete, command ignored");
}

Test(qmp, unknown_command)
{
    negotiate();
    expect_error("{\"execute\": \"frobnicate\"}", "CommandNotFound",
                 "The command frobnicate has not been found");
}

Test(qmp, id_is_echoed)
{
    negotiate();
    expect("{\"execute\": \"stop\", \"id\": \"abc\"}", "{\"return\": {}, \"id\": \"abc\"}");
    expect("{\"id\": 42, \"execute\": \"cont\"}", "{\"return\": {}, \"id\": 42}");
    expect("{\"execute\": \"stop\", \"id\": {\"a\": [1, \"x\\ny\", null, true]}}",
           "{\"return\": {}, \"id\": {\"a\": [1, \"x\\ny\", null, true]}}");
    expect("{\"execute\": \"nope\", \"id\": 7}",
           "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command nope has not "
           "been found\"}, \"id\": 7}");
    expect("{\"id\": 8}",
           "{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input lacks member "
           "'execute'\"}, \"id\": 8}");
}

Test(qmp, malformed_requests)
{
    negotiate();
    expect_error("[1, 2]", "GenericError", "QMP input must be a JSON object");
    expect_error("\"execute\"", "GenericError", "QMP input must be a JSON object");
    expect_error("{}", "GenericError", "QMP input lacks member 'execute'");
    expect_error("{\"execute\": 3}", "GenericError", "QMP input member 'execute' must be a string");
    expect_error("{\"execute\": \"stop\", \"arguments\": []}", "GenericError",
                 "QMP input member 'arguments' must be an object");
    expect_error("{\"execute\": \"stop\", \"foo\": 1}", "GenericError",
                 "QMP input member 'foo' is unexpected");
    expect_error("{\"exec-oob\": \"stop\"}", "GenericError",
                 "QMP input member 'exec-oob' is unexpected");
    cr_assert_str_eq(fk.calls, "");
}

Test(qmp, bad_json_then_recovers)
{
    negotiate();
    const char *r = cmd("{\"execute\": }");
    cr_assert(
        strstr(r, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, ") == r,
        "%s", r);
    r = cmd("nonsense ");
    cr_assert(strstr(r, "\"desc\": \"JSON parse error, "), "%s", r);
    expect_error("}", "GenericError", "JSON parse error, expecting value");
    expect("{\"execute\": \"query-name\"}", "{\"return\": {}}");
}

Test(qmp, oversized_and_overdeep_messages_are_refused)
{
    negotiate();
    size_t n = (1u << 20) + 100; /* over the 1 MiB limit */
    char *big = malloc(n + 64);
    strcpy(big, "{\"execute\": \"stop\", \"id\": \"");
    size_t at = strlen(big);
    memset(big + at, 'x', n);
    strcpy(big + at + n, "]}\"}");
    fcntl(cfd, F_SETFL, O_NONBLOCK);
    for (size_t off = 0, len = strlen(big); off < len;) {
        ssize_t w = write(cfd, big + off, len - off);
        off += w > 0 ? (size_t)w : 0;
        qmp_poll(q);
    }
    free(big);
    expect_error("", "GenericError", "JSON parse error, message too long or nested too deep");
    char deep[2201];
    memset(deep, '[', 1100);
    memset(deep + 1100, ']', 1100);
    deep[2200] = '\0';
    expect_error(deep, "GenericError", "JSON parse error, message too long or nested too deep");
    cr_assert_str_eq(fk.calls, "");
    expect("{\"execute\": \"stop\"}", "{\"return\": {}}");
}

Test(qmp, split_and_merged_input)
{
    negotiate();
    const char *c = "{\"execute\": \"query-status\", \"id\": \"s{p}l[i]t\\\"\"}";
    for (const char *p = c; *p; p++) {
        char one[2] = { *p, 0 };
        send_raw(one);
        qmp_poll(q);
        if (p[1]) {
            cr_assert_eq(inlen, 0);
        }
    }
    cr_assert_str_eq(next_msg(), "{\"return\": {\"status\": \"running\", \"singlestep\": false, "
                                 "\"running\": true}, \"id\": \"s{p}l[i]t\\\"\"}");
    send_raw("{\"execute\":\"stop\",\"id\":1}{\"execute\":\"query-status\",\"id\":2}\n"
             "  {\"execute\":\"cont\",\"id\":3}");
    cr_assert_str_eq(next_msg(), "{\"return\": {}, \"id\": 1}");
    cr_assert_str_eq(next_msg(), "{\"return\": {\"status\": \"paused\", \"singlestep\": false, "
                                 "\"running\": false}, \"id\": 2}");
    cr_assert_str_eq(next_msg(), "{\"return\": {}, \"id\": 3}");
    cr_assert_str_eq(fk.calls, "stop;cont;");
}

/* ---- commands -------------------------------------------------------- */

Test(qmp, run_control)
{
    negotiate();
    expect("{\"execute\": \"stop\"}", "{\"return\": {}}");
    expect("{\"execute\": \"query-status\"}",
           "{\"return\": {\"status\": \"paused\", \"singlestep\": false, \"running\": false}}");
    expect("{\"execute\": \"cont\"}", "{\"return\": {}}");
    expect("{\"execute\": \"system_reset\"}", "{\"return\": {}}");
    expect("{\"execute\": \"system_powerdown\"}", "{\"return\": {}}");
    cr_assert_str_eq(fk.calls, "stop;cont;reset;powerdown;");
    fk.status = "shutdown";
    expect_error("{\"execute\": \"cont\"}", "GenericError",
                 "Resetting the Virtual Machine is required");
    expect("{\"execute\": \"query-status\"}",
           "{\"return\": {\"status\": \"shutdown\", \"singlestep\": false, \"running\": false}}");
    expect_error("{\"execute\": \"stop\", \"arguments\": {\"now\": true}}", "GenericError",
                 "Parameter 'now' is unexpected");
    cr_assert_str_eq(fk.calls, "stop;cont;reset;powerdown;");
}

Test(qmp, quit_replies_then_shutdown_event)
{
    negotiate();
    send_raw("{\"execute\": \"quit\"}{\"execute\": \"stop\"}");
    cr_assert_str_eq(next_msg(), "{\"return\": {}}");
    const char *ev = next_msg();
    cr_assert_not_null(ev);
    cr_assert(strstr(ev, "\"event\": \"SHUTDOWN\", \"data\": {\"guest\": false, \"reason\": "
                         "\"host-qmp-quit\"}}"),
              "%s", ev);
    expect_silence(); /* nothing runs after quit */
    cr_assert_str_eq(fk.calls, "quit;");
}

/* HMP's quit through QMP ends the session the same way. */
Test(qmp, human_quit_replies_then_shutdown_event)
{
    negotiate();
    send_raw("{\"execute\": \"human-monitor-command\", \"arguments\": {\"command-line\": "
             "\"quit\"}}{\"execute\": \"stop\"}");
    cr_assert_str_eq(next_msg(), "{\"return\": \"\"}");
    const char *ev = next_msg();
    cr_assert_not_null(ev);
    cr_assert(strstr(ev, "\"event\": \"SHUTDOWN\""), "%s", ev);
    expect_silence();
    cr_assert_str_eq(fk.calls, "quit;");
}

Test(qmp, queries)
{
    negotiate();
    expect("{\"execute\": \"query-version\"}",
           "{\"return\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}, "
           "\"package\": \"kasou " KASOU_VERSION "\"}}");
    expect("{\"execute\": \"query-name\"}", "{\"return\": {}}");
    fk.name = "guest-1";
    expect("{\"execute\": \"query-name\"}", "{\"return\": {\"name\": \"guest-1\"}}");
    const char *r = cmd("{\"execute\": \"query-commands\"}");
    const char *names[] = {
        "qmp_capabilities",     "query-status", "stop",    "cont",     "quit",
        "screendump",           "pmemsave",     "memsave", "send-key", "input-send-event",
        "human-monitor-command"
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char want[64];
        snprintf(want, sizeof(want), "{\"name\": \"%s\"}", names[i]);
        cr_assert(strstr(r, want), "%s missing from %s", names[i], r);
    }
}

Test(qmp, screendump)
{
    negotiate();
    expect("{\"execute\": \"screendump\", \"arguments\": {\"filename\": \"/tmp/s.ppm\"}}",
           "{\"return\": {}}");
    cr_assert_str_eq(fk.path, "/tmp/s.ppm");
    cr_assert_str_eq(fk.format, "ppm"); /* QEMU's default */
    expect("{\"execute\": \"screendump\", \"arguments\": {\"filename\": \"a.png\", "
           "\"format\": \"png\"}}",
           "{\"return\": {}}");
    cr_assert_str_eq(fk.format, "png");
    expect_error("{\"execute\": \"screendump\", \"arguments\": {\"filename\": \"a\", "
                 "\"format\": \"jpg\"}}",
                 "GenericError", "Parameter 'format' does not accept value 'jpg'");
    expect_error("{\"execute\": \"screendump\"}", "GenericError",
                 "Parameter 'filename' is missing");
    expect_error("{\"execute\": \"screendump\", \"arguments\": {\"filename\": 5}}", "GenericError",
                 "Invalid parameter type for 'filename', expected: string");
    fk.fail = 1;
    expect_error("{\"execute\": \"screendump\", \"arguments\": {\"filename\": \"/x/y\"}}",
                 "GenericError", "Could not open '/x/y': No such file or directory");
    cr_assert_str_eq(fk.calls, "screendump;screendump;screendump;");
}

Test(qmp, memsave_and_pmemsave)
{
    negotiate();
    expect("{\"execute\": \"pmemsave\", \"arguments\": {\"val\": 1048576, \"size\": 4096, "
           "\"filename\": \"/tmp/m\"}}",
           "{\"return\": {}}");
    cr_assert(fk.physical);
    cr_assert_eq(fk.addr, 0x100000);
    cr_assert_eq(fk.size, 4096);
    cr_assert_str_eq(fk.path, "/tmp/m");
    expect("{\"execute\": \"memsave\", \"arguments\": {\"val\": 3221225472, \"size\": 16, "
           "\"filename\": \"v\", \"cpu-index\": 0}}",
           "{\"return\": {}}");
    cr_assert_not(fk.physical);
    cr_assert_eq(fk.addr, 0xC0000000u);
    cr_assert_eq(fk.cpu, 0);
    expect_error("{\"execute\": \"pmemsave\", \"arguments\": {\"val\": \"0x10\", \"size\": 1, "
                 "\"filename\": \"v\"}}",
                 "GenericError", "Invalid parameter type for 'val', expected: integer");
    expect_error("{\"execute\": \"pmemsave\", \"arguments\": {\"val\": 1.5, \"size\": 1, "
                 "\"filename\": \"v\"}}",
                 "GenericError", "Invalid parameter type for 'val', expected: integer");
    expect_error("{\"execute\": \"pmemsave\", \"arguments\": {\"val\": 16, \"filename\": \"v\"}}",
                 "GenericError", "Parameter 'size' is missing");
    expect_error("{\"execute\": \"pmemsave\", \"arguments\": {\"val\": 16, \"size\": 1, "
                 "\"filename\": \"v\", \"cpu-index\": 0}}",
                 "GenericError", "Parameter 'cpu-index' is unexpected");
    fk.fail = 1;
    expect_error("{\"execute\": \"memsave\", \"arguments\": {\"val\": 4096, \"size\": 1, "
                 "\"filename\": \"v\"}}",
                 "GenericError", "Invalid addr 0x1000 specified");
    cr_assert_str_eq(fk.calls, "pmemsave;memsave;memsave;");
}

/* ---- input ----------------------------------------------------------- */

#define DOWN 0x10000
#define CTRL 0x14 /* set 2 make codes (hw/i8042.h) */
#define ALT 0x11
#define DEL (0x100 | 0x71)

Test(qmp, send_key_presses_then_releases_in_reverse)
{
    negotiate();
    expect("{\"execute\": \"send-key\", \"arguments\": {\"keys\": [{\"type\": \"qcode\", "
           "\"data\": \"ctrl\"}, {\"type\": \"qcode\", \"data\": \"alt\"}, {\"type\": \"qcode\", "
           "\"data\": \"delete\"}], \"hold-time\": 0}}",
           "{\"return\": {}}");
    int want[] = { CTRL | DOWN, ALT | DOWN, DEL | DOWN, DEL, ALT, CTRL };
    cr_assert_eq(fk.nkeys, 6);
    for (int i = 0; i < 6; i++) {
        cr_assert_eq(fk.keys[i], want[i], "event %d: %x", i, fk.keys[i]);
    }
}

Test(qmp, send_key_hold_time_follows_the_clock)
{
    negotiate();
    fk.now = 1000000000;
    expect("{\"execute\": \"send-key\", \"arguments\": {\"keys\": [{\"type\": \"qcode\", "
           "\"data\": \"ctrl\"}, {\"type\": \"qcode\", \"data\": \"a\"}]}}",
           "{\"return\": {}}");
    cr_assert_eq(fk.nkeys, 1); /* ctrl down, then 100 ms (QEMU's default) */
    fk.now += 99000000;
    qmp_poll(q);
    cr_assert_eq(fk.nkeys, 1);
    fk.now += 1000000;
    qmp_poll(q);
    cr_assert_eq(fk.nkeys, 2);
    cr_assert_eq(fk.keys[1], 0x1C | DOWN);
    /* a second send-key queues behind the first one's releases */
    expect("{\"execute\": \"send-key\", \"arguments\": {\"keys\": [{\"type\": \"qcode\", "
           "\"data\": \"ret\"}], \"hold-time\": 10}}",
           "{\"return\": {}}");
    cr_assert_eq(fk.nkeys, 2);
    for (int i = 0; i < 20; i++) {
        fk.now += 50000000;
        qmp_poll(q);
    }
    int want[] = { CTRL | DOWN, 0x1C | DOWN, 0x1C, CTRL, 0x5A | DOWN, 0x5A };
    cr_assert_eq(fk.nkeys, 6);
    for (int i = 0; i < 6; i++) {
        cr_assert_eq(fk.keys[i], want[i], "event %d: %x", i, fk.keys[i]);
    }
}

Test(qmp, send_key_refuses_bad_keys_whole)
{
    negotiate();
    expect_error("{\"execute\": \"send-key\", \"arguments\": {\"keys\": [{\"type\": \"qcode\", "
                 "\"data\": \"ctrl\"}, {\"type\": \"qcode\", \"data\": \"nokey\"}]}}",
                 "GenericError", "Parameter 'keys[1].data' does not accept value 'nokey'");
    expect_error("{\"execute\": \"send-key\", \"arguments\": {\"keys\": [{\"type\": \"qcode\"}]}}",
                 "GenericError", "Parameter 'keys[0].data' is missing");
    expect_error("{\"execute\": \"send-key\", \"arguments\": {\"keys\": [{\"type\": \"x\", "
                 "\"data\": \"a\"}]}}",
                 "GenericError", "Parameter 'keys[0].type' does not accept value 'x'");
    expect_error("{\"execute\": \"send-key\"}", "GenericError", "Parameter 'keys' is missing");
    cr_assert_eq(fk.nkeys, 0);
}

Test(qmp, input_send_event_mouse)
{
    negotiate();
    expect("{\"execute\": \"input-send-event\", \"arguments\": {\"events\": ["
           "{\"type\": \"rel\", \"data\": {\"axis\": \"x\", \"value\": 10}},"
           "{\"type\": \"rel\", \"data\": {\"axis\": \"y\", \"value\": -4}},"
           "{\"type\": \"rel\", \"data\": {\"axis\": \"x\", \"value\": 5}}]}}",
           "{\"return\": {}}");
    cr_assert_eq(fk.nmouse, 1);
    cr_assert_arr_eq(fk.mouse[0], ((int[]){ 15, -4, 0, 0 }), sizeof(int[4]));
    expect("{\"execute\": \"input-send-event\", \"arguments\": {\"events\": ["
           "{\"type\": \"btn\", \"data\": {\"down\": true, \"button\": \"left\"}},"
           "{\"type\": \"btn\", \"data\": {\"down\": false, \"button\": \"left\"}},"
           "{\"type\": \"btn\", \"data\": {\"down\": true, \"button\": \"right\"}},"
           "{\"type\": \"btn\", \"data\": {\"down\": true, \"button\": \"wheel-up\"}},"
           "{\"type\": \"btn\", \"data\": {\"down\": false, \"button\": \"wheel-up\"}}]}}",
           "{\"return\": {}}");
    cr_assert_eq(fk.nmouse, 6);
    cr_assert_arr_eq(fk.mouse[1], ((int[]){ 0, 0, 0, QMP_BTN_LEFT }), sizeof(int[4]));
    cr_assert_arr_eq(fk.mouse[2], ((int[]){ 0, 0, 0, 0 }), sizeof(int[4]));
    cr_assert_arr_eq(fk.mouse[3], ((int[]){ 0, 0, 0, QMP_BTN_RIGHT }), sizeof(int[4]));
    cr_assert_arr_eq(fk.mouse[4], ((int[]){ 0, 0, -1, QMP_BTN_RIGHT }), sizeof(int[4]));
    /* the right button stays held across commands */
    expect("{\"execute\": \"input-send-event\", \"arguments\": {\"events\": ["
           "{\"type\": \"btn\", \"data\": {\"down\": true, \"button\": \"wheel-down\"}}]}}",
           "{\"return\": {}}");
    cr_assert_arr_eq(fk.mouse[6], ((int[]){ 0, 0, 1, QMP_BTN_RIGHT }), sizeof(int[4]));
}

Test(qmp, input_send_event_keys_and_refusals)
{
    negotiate();
    expect("{\"execute\": \"input-send-event\", \"arguments\": {\"events\": ["
           "{\"type\": \"key\", \"data\": {\"down\": true, \"key\": {\"type\": \"qcode\", "
           "\"data\": \"a\"}}}, {\"type\": \"key\", \"data\": {\"down\": false, \"key\": "
           "{\"type\": \"qcode\", \"data\": \"a\"}}}]}}",
           "{\"return\": {}}");
    cr_assert_eq(fk.nkeys, 2);
    cr_assert_eq(fk.keys[0], 0x1C | DOWN);
    cr_assert_eq(fk.keys[1], 0x1C);
    const char *r = cmd("{\"execute\": \"input-send-event\", \"arguments\": {\"events\": ["
                        "{\"type\": \"abs\", \"data\": {\"axis\": \"x\", \"value\": 100}}]}}");
    cr_assert(strstr(r, "\"class\": \"GenericError\", \"desc\": \"kasou has no absolute"), "%s", r);
    expect_error("{\"execute\": \"input-send-event\", \"arguments\": {\"events\": ["
                 "{\"type\": \"btn\", \"data\": {\"down\": true, \"button\": \"left\"}},"
                 "{\"type\": \"btn\", \"data\": {\"down\": true, \"button\": \"thumb\"}}]}}",
                 "GenericError", "Parameter 'events[1].data.button' does not accept value 'thumb'");
    expect_error("{\"execute\": \"input-send-event\", \"arguments\": {\"events\": ["
                 "{\"type\": \"rel\", \"data\": {\"axis\": \"x\"}}]}}",
                 "GenericError", "Parameter 'events[0].data.value' is missing");
    expect_error("{\"execute\": \"input-send-event\", \"arguments\": {\"events\": ["
                 "{\"type\": \"tap\", \"data\": {}}]}}",
                 "GenericError", "Parameter 'events[0].type' does not accept value 'tap'");
    cr_assert_eq(fk.nmouse, 0); /* a bad event cancels the whole command */
    cr_assert_eq(fk.nkeys, 2);
}

Test(qmp, human_monitor_command)
{
    negotiate();
    expect("{\"execute\": \"human-monitor-command\", \"arguments\": {\"command-line\": "
           "\"info status\"}}",
           "{\"return\": \"VM status: running\\r\\n\"}");
    expect("{\"execute\": \"human-monitor-command\", \"arguments\": {\"command-line\": \"stop\"}}",
           "{\"return\": \"\"}");
    expect("{\"execute\": \"human-monitor-command\", \"arguments\": {\"command-line\": "
           "\"info status\"}}",
           "{\"return\": \"VM status: paused\\r\\n\"}");
    expect("{\"execute\": \"human-monitor-command\", \"arguments\": {\"command-line\": "
           "\"sendkey ctrl-alt-delete 0\"}}",
           "{\"return\": \"\"}");
    cr_assert_eq(fk.nkeys, 6);
    expect("{\"execute\": \"human-monitor-command\", \"arguments\": {\"command-line\": "
           "\"screendump -f png /tmp/x.png\"}}",
           "{\"return\": \"\"}");
    cr_assert_str_eq(fk.format, "png");
    /* HMP's help, whole: its first and last commands */
    const char *help = cmd("{\"execute\": \"human-monitor-command\", \"arguments\": "
                           "{\"command-line\": \"help\"}}");
    cr_assert(strstr(help, "{\"return\": \"help|? [cmd] -- ") && strstr(help, "xp /fmt addr -- "),
              "%s", help);
    expect("{\"execute\": \"human-monitor-command\", \"arguments\": {\"command-line\": "
           "\"frob\"}}",
           "{\"return\": \"unknown command: 'frob'\\r\\n\"}");
    fk.status = "shutdown";
    expect("{\"execute\": \"human-monitor-command\", \"arguments\": {\"command-line\": \"c\"}}",
           "{\"return\": \"Error: Resetting the Virtual Machine is required\\r\\n\"}");
}

/* ---- events ---------------------------------------------------------- */

Test(qmp, events_after_negotiation_with_timestamp)
{
    cr_assert_str_eq(next_msg(), GREETING);
    qmp_event(q, "STOP", NULL); /* not negotiated: dropped, as QEMU */
    expect("{\"execute\": \"qmp_capabilities\"}", "{\"return\": {}}");
    time_t before = time(NULL);
    qmp_event(q, "RESET", "{\"guest\": true, \"reason\": \"guest-reset\"}");
    qmp_event(q, "STOP", NULL);
    const char *ev = next_msg();
    struct json_doc *d = json_parse(ev, strlen(ev), NULL, 0);
    cr_assert_not_null(d, "%s", ev);
    const struct json *r = json_root(d);
    cr_assert_str_eq(json_str(json_get(r, "event")), "RESET");
    cr_assert_eq(json_get(json_get(r, "data"), "guest")->u.b, true);
    cr_assert_str_eq(json_str(json_get(json_get(r, "data"), "reason")), "guest-reset");
    int64_t s, us;
    cr_assert(json_int(json_get(json_get(r, "timestamp"), "seconds"), 0, INT64_MAX, &s));
    cr_assert(json_int(json_get(json_get(r, "timestamp"), "microseconds"), 0, 999999, &us));
    cr_assert(s >= before && s <= time(NULL), "%lld", (long long)s);
    json_free(d);
    ev = next_msg();
    cr_assert(strstr(ev, "\"event\": \"STOP\"}") && !strstr(ev, "data"), "%s", ev);
}

/* A callback's event goes out before the command's reply. */
static struct qmp *stop_q;
static void f_stop_event(void *o)
{
    qmp_event(stop_q, "STOP", NULL);
}

Test(qmp, event_from_a_callback_precedes_the_reply)
{
    struct qmp_machine_ops o = ops;
    o.stop = f_stop_event;
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    qmp_free(q);
    close(cfd);
    cfd = sv[0];
    stop_q = q = qmp_new_fd(sv[1], sv[1], true, &o);
    negotiate();
    send_raw("{\"execute\": \"stop\"}");
    cr_assert(strstr(next_msg(), "\"event\": \"STOP\""));
    cr_assert_str_eq(next_msg(), "{\"return\": {}}");
}

/* ---- transports ------------------------------------------------------ */

static char dir[64];

static void make_dir(void)
{
    snprintf(dir, sizeof(dir), "/tmp/kasou-qmp-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

/* A connected socket, or -1 (nothing listens there yet). */
static int try_connect_unix(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int connect_unix(const char *path)
{
    int fd = try_connect_unix(path);
    cr_assert_geq(fd, 0);
    return fd;
}

Test(qmp, unix_socket_one_client_at_a_time_and_reconnect)
{
    teardown();
    make_dir();
    char path[128], spec[160], err[256];
    snprintf(path, sizeof(path), "%s/qmp.sock", dir);
    snprintf(spec, sizeof(spec), "unix:%s,server=on,wait=off", path);
    q = qmp_new(spec, &ops, err, sizeof(err));
    cr_assert_not_null(q, "%s", err);
    cr_assert_not(qmp_connected(q));
    cfd = connect_unix(path);
    negotiate();
    send_raw("{\"execute\": \"sto"); /* a partial command, then a second client */
    int first = cfd;
    cfd = connect_unix(path);
    expect_silence(); /* waits in the backlog */
    close(first);
    cr_assert_str_eq(next_msg(), GREETING); /* served once the first leaves */
    expect_error("{\"execute\": \"query-status\"}", "CommandNotFound",
                 "Expecting capabilities negotiation with 'qmp_capabilities'");
    expect("{\"execute\": \"qmp_capabilities\"}", "{\"return\": {}}");
    cr_assert_str_eq(fk.calls, "");
    qmp_free(q);
    q = NULL;
    struct stat st;
    cr_assert_neq(stat(path, &st), 0, "the socket file is removed");
    rmdir(dir);
}

Test(qmp, unix_socket_replaces_stale_socket_but_not_files)
{
    teardown();
    make_dir();
    char path[128], spec[160], err[256];
    snprintf(path, sizeof(path), "%s/qmp.sock", dir);
    snprintf(spec, sizeof(spec), "unix:%s,server,nowait", path);
    struct qmp *a = qmp_new(spec, &ops, err, sizeof(err));
    cr_assert_not_null(a, "%s", err);
    struct qmp *b = qmp_new(spec, &ops, err, sizeof(err)); /* takes the path over */
    cr_assert_not_null(b, "%s", err);
    qmp_free(b);
    qmp_free(a);
    FILE *f = fopen(path, "w");
    fclose(f);
    cr_assert_null(qmp_new(spec, &ops, err, sizeof(err)));
    cr_assert(strstr(err, "Address already in use"), "%s", err);
    unlink(path);
    rmdir(dir);
}

Test(qmp, wait_on_blocks_until_a_client_connects, .timeout = 30)
{
    teardown();
    make_dir();
    char path[128], spec[160], err[256];
    snprintf(path, sizeof(path), "%s/w.sock", dir);
    snprintf(spec, sizeof(spec), "unix:%s,server=on", path);
    pid_t pid = fork();
    if (pid == 0) {
        /* the socket file exists from bind(); connect once listen() ran
         * (no cr_assert here: a failing child must not wait on criterion) */
        int fd = -1;
        for (int i = 0; i < 2500 && (fd = try_connect_unix(path)) < 0; i++) {
            usleep(2000);
        }
        if (fd < 0) {
            _exit(2);
        }
        char buf[512];
        ssize_t n = read(fd, buf, sizeof(buf));
        _exit(n > 0 && !strncmp(buf, "{\"QMP\"", 6) ? 0 : 1);
    }
    q = qmp_new(spec, &ops, err, sizeof(err));
    cr_assert_not_null(q, "%s", err);
    cr_assert(qmp_connected(q));
    int status;
    waitpid(pid, &status, 0);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    qmp_free(q);
    q = NULL;
    rmdir(dir);
}

Test(qmp, tcp_loopback)
{
    teardown();
    char err[256];
    q = qmp_new("tcp:127.0.0.1:0,server=on,wait=off,nodelay=on", &ops, err, sizeof(err));
    cr_assert_not_null(q, "%s", err);
    struct sockaddr_in bound; /* tcp:HOST:0 took a free port */
    socklen_t blen = sizeof(bound);
    cr_assert_eq(getsockname(qmp_fd(q, NULL), (struct sockaddr *)&bound, &blen), 0);
    int port = ntohs(bound.sin_port);
    cr_assert_gt(port, 0);
    cfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(cfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    negotiate();
    expect("{\"execute\": \"stop\"}", "{\"return\": {}}");
    close(cfd); /* the server notices and serves the next client */
    cfd = -1;
    for (int i = 0; i < 10 && qmp_connected(q); i++) {
        qmp_poll(q);
    }
    cr_assert_not(qmp_connected(q));
}

Test(qmp, client_eof_ends_the_session)
{
    negotiate();
    shutdown(cfd, SHUT_WR);
    for (int i = 0; i < 10 && qmp_connected(q); i++) {
        qmp_poll(q);
    }
    cr_assert_not(qmp_connected(q));
    qmp_event(q, "STOP", NULL); /* no client: nothing happens */
}

Test(qmp, spec_parsing)
{
    struct qmp_spec s;
    char err[256];
    cr_assert_eq(qmp_parse_spec("unix:/tmp/a,,b.sock,server=on,wait=off", &s, err, sizeof(err)), 0,
                 "%s", err);
    cr_assert_eq(s.transport, QMP_UNIX);
    cr_assert_str_eq(s.path, "/tmp/a,b.sock");
    cr_assert(s.server && !s.wait);
    cr_assert_eq(qmp_parse_spec("unix:/tmp/q,server", &s, err, sizeof(err)), 0);
    cr_assert(s.server && s.wait, "wait defaults to on, as QEMU");
    cr_assert_eq(qmp_parse_spec("unix:/tmp/q,server,nowait", &s, err, sizeof(err)), 0);
    cr_assert(s.server && !s.wait);
    cr_assert_eq(qmp_parse_spec("unix:/tmp/q", &s, err, sizeof(err)), 0);
    cr_assert(!s.server && !s.wait);
    cr_assert_eq(qmp_parse_spec("tcp:localhost:4444,server=on,wait=off", &s, err, sizeof(err)), 0);
    cr_assert_eq(s.transport, QMP_TCP);
    cr_assert_str_eq(s.host, "localhost");
    cr_assert_str_eq(s.port, "4444");
    cr_assert_eq(qmp_parse_spec("tcp:[::1]:4444,server", &s, err, sizeof(err)), 0);
    cr_assert_str_eq(s.host, "::1");
    cr_assert_eq(qmp_parse_spec("tcp::4444,server", &s, err, sizeof(err)), 0);
    cr_assert_str_eq(s.host, "");
    cr_assert_eq(qmp_parse_spec("stdio", &s, err, sizeof(err)), 0);
    cr_assert_eq(s.transport, QMP_STDIO);

    cr_assert_eq(qmp_parse_spec("telnet:x:1", &s, err, sizeof(err)), -1);
    cr_assert(strstr(err, "unsupported QMP endpoint 'telnet:x:1'"), "%s", err);
    cr_assert_eq(qmp_parse_spec("unix:,server", &s, err, sizeof(err)), -1);
    cr_assert(strstr(err, "needs a socket path"), "%s", err);
    cr_assert_eq(qmp_parse_spec("tcp:localhost,server", &s, err, sizeof(err)), -1);
    cr_assert(strstr(err, "needs a port"), "%s", err);
    cr_assert_eq(qmp_parse_spec("unix:/tmp/q,server=maybe", &s, err, sizeof(err)), -1);
    cr_assert(strstr(err, "option 'server' takes on or off, not 'maybe'"), "%s", err);
    cr_assert_eq(qmp_parse_spec("unix:/tmp/q,server,telnet", &s, err, sizeof(err)), -1);
    cr_assert(strstr(err, "unknown option 'telnet'"), "%s", err);
    cr_assert_eq(qmp_parse_spec("unix:/tmp/q,wait=on", &s, err, sizeof(err)), -1);
    char longp[200];
    memset(longp, 'a', sizeof(longp));
    memcpy(longp, "unix:/", 6);
    longp[sizeof(longp) - 1] = '\0';
    cr_assert_eq(qmp_parse_spec(longp, &s, err, sizeof(err)), -1);
    cr_assert(strstr(err, "is too long"), "%s", err);
}

Test(qmp, socket_errors_are_reported)
{
    teardown();
    char err[256];
    cr_assert_null(
        qmp_new("unix:/nonexistent-dir/q.sock,server=on,wait=off", &ops, err, sizeof(err)));
    cr_assert(strstr(err, "cannot listen on UNIX socket '/nonexistent-dir/q.sock': No such file"),
              "%s", err);
    cr_assert_null(qmp_new("unix:/nonexistent-dir/q.sock", &ops, err, sizeof(err)));
    cr_assert(strstr(err, "Failed to connect to '/nonexistent-dir/q.sock'"), "%s", err);
    cr_assert_null(qmp_new("bogus", &ops, err, sizeof(err)));
}

/* ---- the JSON writer (util/json_write.h) ----------------------------- */

Test(qmp, json_writer_escapes_and_separators)
{
    struct jsonw w;
    jsonw_init(&w);
    jsonw_obj_begin(&w);
    jsonw_kv_str(&w, "s", "q\"b\\c\x01\t\xc3\xa9");
    jsonw_key(&w, "a");
    jsonw_arr_begin(&w);
    jsonw_int(&w, -5);
    jsonw_uint(&w, 18446744073709551615u);
    jsonw_double(&w, 0.5);
    jsonw_null(&w);
    jsonw_arr_end(&w);
    jsonw_kv_bool(&w, "b", false);
    jsonw_obj_end(&w);
    cr_assert(jsonw_ok(&w));
    cr_assert_str_eq(jsonw_text(&w), "{\"s\": \"q\\\"b\\\\c\\u0001\\t\xc3\xa9\", \"a\": [-5, "
                                     "18446744073709551615, 0.5, null], \"b\": false}");
    struct json_doc *d = json_parse(jsonw_text(&w), w.len, NULL, 0);
    cr_assert_not_null(d, "the output reads back");
    cr_assert_str_eq(json_str(json_get(json_root(d), "s")), "q\"b\\c\x01\t\xc3\xa9");
    json_free(d);
    jsonw_reset(&w);
    for (int i = 0; i < JSONW_MAX_DEPTH + 5; i++) {
        jsonw_arr_begin(&w);
    }
    cr_assert_not(jsonw_ok(&w), "nesting beyond the limit fails the writer, not the process");
    jsonw_free(&w);
}
