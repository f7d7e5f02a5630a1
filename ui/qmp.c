/*
 * qmp.c - the QMP server (see qmp.h): transport, message framing,
 * dispatch and the commands; human-monitor-command runs ui/hmp.c.
 *
 * Framing.  QMP has no delimiters: a message is one JSON value, and a
 * client may split it across writes or pack several into one.  Like
 * QEMU's streamer we count brackets outside strings: a value starting
 * with '{' or '[' ends when its nesting returns to zero; a top-level
 * string or bare word (a number, "true", garbage) ends at its closing
 * quote or at the next space or structural character.  Each complete
 * value goes to util/json.c, which decides whether it is valid; a value
 * that is not an object is refused as QEMU refuses it.
 *
 * Session.  On connect the client gets the greeting and may only run
 * qmp_capabilities; then every command, and events, are open to it.  A
 * disconnect forgets the session (partial input, unsent replies).
 *
 * Input.  send-key presses its keys in order and releases them in reverse,
 * waiting hold-time between events as QEMU does; the events wait in the
 * human monitor's key queue (ui/hmp.h), which qmp_poll() drains as time
 * passes, so the monitor never sleeps.  Key events from input-send-event
 * join the same queue (behind any pending send-key) so the guest sees
 * them in order.
 */
#include "qmp.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "ui/hmp.h"
#include "ui/keymap.h"
#include "util/json.h"
#include "util/json_write.h"

#define QMP_MAX_MSG (1u << 20)      /* longest command accepted, bytes */
#define QMP_MAX_NEST 1024           /* as QEMU's streamer */
#define QMP_MAX_OUT (16u << 20)     /* unread replies before we hang up */
#define QMP_READ_BUDGET (64u << 10) /* bytes read per qmp_poll() */
#define QMP_DESC_MAX 512

/* The QEMU version kasou answers as (HMP_QEMU_VERSION): what QMP clients
 * check for. */
#define VERSION_JSON                                                                               \
    "{\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}, \"package\": \"kasou " KASOU_VERSION   \
    "\"}"

enum frame_mode { FRAME_IDLE, FRAME_VALUE, FRAME_BARE };

struct framer {
    char *buf;
    size_t len, cap;
    enum frame_mode mode;
    int depth;
    bool in_str, esc;
    bool overflow; /* too long or too deep: reported when it ends */
};

struct qmp {
    struct qmp_machine_ops ops;
    struct qmp_spec spec;
    int listen_fd;
    int in_fd, out_fd; /* the client; -1 when none */
    bool owned;        /* we close in_fd/out_fd */
    bool is_socket;    /* in_fd == out_fd is a socket */
    bool unlink_path;  /* we created spec.path */
    bool negotiated;
    bool quit; /* quit ran: no more commands */
    struct framer fr;
    char *out; /* replies not yet written */
    size_t out_len, out_cap;
    struct jsonw ret; /* the running command's return value */
    struct jsonw msg; /* the message being built */
    const char *err_class;
    char err[QMP_DESC_MAX];
    struct hmp *hmp; /* human-monitor-command, and the key queue */
    int buttons;     /* mouse buttons held (QMP_BTN_*) */
};

/* ---- output ---------------------------------------------------------- */

static void disconnect(struct qmp *q);

static ssize_t out_write(struct qmp *q, const char *buf, size_t len)
{
    if (q->is_socket) {
        return send(q->out_fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    }
    return write(q->out_fd, buf, len);
}

/* Write what the client will take now; hang up on errors. */
static void flush_out(struct qmp *q)
{
    size_t done = 0;
    while (q->out_fd >= 0 && done < q->out_len) {
        ssize_t n = out_write(q, q->out + done, q->out_len - done);
        if (n > 0) {
            done += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        } else {
            disconnect(q);
            return;
        }
    }
    memmove(q->out, q->out + done, q->out_len - done);
    q->out_len -= done;
}

/* Queue one message (JSON text) and its "\r\n", as QEMU's monitor does. */
static void send_text(struct qmp *q, const char *text)
{
    if (q->out_fd < 0) {
        return;
    }
    size_t n = strlen(text);
    if (q->out_len + n + 2 > QMP_MAX_OUT) {
        fprintf(stderr, "kasou: QMP client is not reading its replies; disconnecting it\n");
        disconnect(q);
        return;
    }
    if (q->out_len + n + 2 > q->out_cap) {
        size_t cap = q->out_cap ? q->out_cap : 4096;
        while (cap < q->out_len + n + 2) {
            cap *= 2;
        }
        char *p = realloc(q->out, cap);
        if (!p) {
            disconnect(q);
            return;
        }
        q->out = p;
        q->out_cap = cap;
    }
    memcpy(q->out + q->out_len, text, n);
    memcpy(q->out + q->out_len + n, "\r\n", 2);
    q->out_len += n + 2;
    flush_out(q);
}

static void send_greeting(struct qmp *q)
{
    send_text(q, "{\"QMP\": {\"version\": " VERSION_JSON ", \"capabilities\": []}}");
}

void qmp_event(struct qmp *q, const char *name, const char *data_json)
{
    if (!q || q->out_fd < 0 || !q->negotiated) {
        return;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct jsonw w;
    jsonw_init(&w);
    jsonw_obj_begin(&w);
    jsonw_key(&w, "timestamp");
    jsonw_obj_begin(&w);
    jsonw_kv_int(&w, "seconds", (int64_t)ts.tv_sec);
    jsonw_kv_int(&w, "microseconds", (int64_t)(ts.tv_nsec / 1000));
    jsonw_obj_end(&w);
    jsonw_kv_str(&w, "event", name);
    if (data_json) {
        jsonw_key(&w, "data");
        jsonw_raw(&w, data_json);
    }
    jsonw_obj_end(&w);
    if (jsonw_ok(&w)) {
        send_text(q, jsonw_text(&w));
    }
    jsonw_free(&w);
}

/* ---- replies and errors ---------------------------------------------- */

/* Record the running command's error; always returns -1. */
__attribute__((format(printf, 3, 4))) static int fail_class(struct qmp *q, const char *cls,
                                                            const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(q->err, sizeof(q->err), fmt, ap);
    va_end(ap);
    q->err_class = cls;
    return -1;
}

#define fail(q, ...) fail_class((q), "GenericError", __VA_ARGS__)

static void send_reply(struct qmp *q, bool ok, const struct json *id)
{
    struct jsonw *w = &q->msg;
    jsonw_reset(w);
    jsonw_obj_begin(w);
    if (ok) {
        jsonw_key(w, "return");
        jsonw_raw(w, q->ret.len ? jsonw_text(&q->ret) : "{}");
    } else {
        jsonw_key(w, "error");
        jsonw_obj_begin(w);
        jsonw_kv_str(w, "class", q->err_class);
        jsonw_kv_str(w, "desc", q->err);
        jsonw_obj_end(w);
    }
    if (id) {
        jsonw_key(w, "id");
        jsonw_value(w, id);
    }
    jsonw_obj_end(w);
    static const char oom[] =
        "{\"error\": {\"class\": \"GenericError\", \"desc\": \"out of memory\"}}";
    send_text(q, jsonw_ok(w) ? jsonw_text(w) : oom);
}

/* A reply to input that never became a command (bad JSON). */
static void send_error(struct qmp *q, const char *desc)
{
    fail(q, "%s", desc);
    send_reply(q, false, NULL);
}

/* ---- arguments ------------------------------------------------------- */

enum arg_type { ARG_STR, ARG_INT, ARG_UINT, ARG_BOOL, ARG_ARRAY, ARG_OBJECT };

struct arg {
    const char *name;
    enum arg_type type;
    bool optional;
};

static const char *const arg_type_names[] = {
    [ARG_STR] = "string",   [ARG_INT] = "integer", [ARG_UINT] = "integer",
    [ARG_BOOL] = "boolean", [ARG_ARRAY] = "array", [ARG_OBJECT] = "object",
};

static bool arg_type_ok(const struct json *v, enum arg_type t)
{
    static const enum json_type json_types[] = {
        [ARG_STR] = JSON_STRING,
        [ARG_BOOL] = JSON_BOOL,
        [ARG_ARRAY] = JSON_ARRAY,
        [ARG_OBJECT] = JSON_OBJECT,
    };
    if (t == ARG_INT || t == ARG_UINT) {
        return json_int(v, t == ARG_UINT ? 0 : INT64_MIN, INT64_MAX, NULL);
    }
    return v->type == json_types[t];
}

/*
 * Check an argument object against its schema the way QEMU's input
 * visitor does: members in schema order (missing, then wrong type), then
 * anything left over.  `path` prefixes the names in messages
 * ("keys[0]." for a member of the first key).
 */
static int check_args(struct qmp *q, const struct json *obj, const struct arg *spec,
                      const char *path)
{
    for (const struct arg *a = spec; a->name; a++) {
        const struct json *v = json_get(obj, a->name);
        if (!v) {
            if (!a->optional) {
                return fail(q, "Parameter '%s%s' is missing", path, a->name);
            }
        } else if (!arg_type_ok(v, a->type)) {
            return fail(q, "Invalid parameter type for '%s%s', expected: %s", path, a->name,
                        arg_type_names[a->type]);
        }
    }
    for (size_t i = 0; i < json_count(obj); i++) {
        const char *key = json_at(obj, i)->key;
        const struct arg *a = spec;
        while (a->name && strcmp(a->name, key)) {
            a++;
        }
        if (!a->name) {
            return fail(q, "Parameter '%s%s' is unexpected", path, key);
        }
    }
    return 0;
}

static int64_t arg_int(const struct json *args, const char *name, int64_t dflt)
{
    int64_t v;
    return json_int(json_get(args, name), INT64_MIN, INT64_MAX, &v) ? v : dflt;
}

static const char *arg_str(const struct json *args, const char *name, const char *dflt)
{
    const char *s = json_str(json_get(args, name));
    return s ? s : dflt;
}

/* ---- input ----------------------------------------------------------- */

/*
 * A KeyValue: {"type": "qcode", "data": NAME} (QEMU's key names, through
 * ui/keymap.h).  "number" keys (QEMU's internal scan code numbers) are
 * refused.  Returns the i8042 code or -1 with the error set.
 */
static int parse_key(struct qmp *q, const struct json *kv, const char *path)
{
    static const struct arg spec[] = { { "type", ARG_STR, false },
                                       { "data", ARG_STR, false },
                                       { NULL, 0, false } };
    if (!kv || kv->type != JSON_OBJECT) {
        return fail(q, "Invalid parameter type for '%.*s', expected: object", (int)strlen(path) - 1,
                    path);
    }
    const char *type = json_str(json_get(kv, "type"));
    if (type && !strcmp(type, "number")) {
        return fail(q,
                    "Parameter '%stype' does not accept value 'number' (kasou takes "
                    "keys by qcode only)",
                    path);
    }
    if (check_args(q, kv, spec, path) < 0) {
        return -1;
    }
    if (strcmp(type, "qcode")) {
        return fail(q, "Parameter '%stype' does not accept value '%s'", path, type);
    }
    const char *name = json_str(json_get(kv, "data"));
    int code = keymap_qcode(name);
    if (code < 0) {
        return fail(q, "Parameter '%sdata' does not accept value '%s'", path, name);
    }
    return code;
}

/* Press codes[] in order, release them in reverse, hold_ms after each. */
static int press_keys(struct qmp *q, const int *codes, int n, uint32_t hold_ms)
{
    char err[QMP_DESC_MAX];
    if (hmp_keys_press(q->hmp, codes, n, hold_ms, err, sizeof(err)) < 0) {
        return fail(q, "%s", err);
    }
    return 0;
}

static int cmd_send_key(struct qmp *q, const struct json *args)
{
    static const struct arg spec[] = { { "keys", ARG_ARRAY, false },
                                       { "hold-time", ARG_INT, true },
                                       { NULL, 0, false } };
    if (check_args(q, args, spec, "") < 0) {
        return -1;
    }
    const struct json *keys = json_get(args, "keys");
    int n = (int)json_count(keys);
    if (n > HMP_MAX_KEYS) {
        return fail(q, "too many keys (at most %d at once)", HMP_MAX_KEYS);
    }
    int codes[HMP_MAX_KEYS];
    for (int i = 0; i < n; i++) {
        char path[32];
        snprintf(path, sizeof(path), "keys[%d].", i);
        codes[i] = parse_key(q, json_at(keys, i), path);
        if (codes[i] < 0) {
            return -1;
        }
    }
    int64_t hold = arg_int(args, "hold-time", HMP_HOLD_MS);
    if (hold < 0 || hold > 60000) {
        return fail(q, "Parameter 'hold-time' expects a time in milliseconds (0-60000)");
    }
    return press_keys(q, codes, n, (uint32_t)hold);
}

/* Move the pointer by what accumulated, with the current buttons. */
static void mouse_flush(struct qmp *q, int *dx, int *dy, int dz)
{
    q->ops.mouse(q->ops.opaque, *dx, *dy, dz, q->buttons);
    *dx = *dy = 0;
}

static const char *const button_names[] = { "left",        "right",      "middle",
                                            "side",        "extra", /* bit i: QMP_BTN_* */
                                            "wheel-up",    "wheel-down", "wheel-left",
                                            "wheel-right", "touch",      NULL };

/* One InputEvent's data, checked; returns the button index for "btn". */
static int check_event(struct qmp *q, const char *type, const struct json *data, const char *path)
{
    static const struct arg key_spec[] = { { "down", ARG_BOOL, false },
                                           { "key", ARG_OBJECT, false },
                                           { NULL, 0, false } };
    static const struct arg btn_spec[] = { { "down", ARG_BOOL, false },
                                           { "button", ARG_STR, false },
                                           { NULL, 0, false } };
    static const struct arg move_spec[] = { { "axis", ARG_STR, false },
                                            { "value", ARG_INT, false },
                                            { NULL, 0, false } };
    char sub[64];
    if (!strcmp(type, "key")) {
        snprintf(sub, sizeof(sub), "%skey.", path);
        return check_args(q, data, key_spec, path) < 0 ? -1
                                                       : parse_key(q, json_get(data, "key"), sub);
    }
    if (!strcmp(type, "btn")) {
        if (check_args(q, data, btn_spec, path) < 0) {
            return -1;
        }
        const char *b = json_str(json_get(data, "button"));
        for (int i = 0; button_names[i]; i++) {
            if (!strcmp(b, button_names[i])) {
                return i;
            }
        }
        return fail(q, "Parameter '%sbutton' does not accept value '%s'", path, b);
    }
    if (!strcmp(type, "rel")) {
        if (check_args(q, data, move_spec, path) < 0) {
            return -1;
        }
        const char *axis = json_str(json_get(data, "axis"));
        if (strcmp(axis, "x") && strcmp(axis, "y")) {
            return fail(q, "Parameter '%saxis' does not accept value '%s'", path, axis);
        }
        return 0;
    }
    return fail(q, "kasou has no absolute pointing device (no tablet): use 'rel' events");
}

/* Run one checked event: keys go through the queue, buttons at once. */
static void run_event(struct qmp *q, const char *type, const struct json *data, int *dx, int *dy)
{
    bool down = json_get(data, "down") && json_get(data, "down")->u.b;
    if (!strcmp(type, "key")) {
        hmp_keys_event(q->hmp, parse_key(q, json_get(data, "key"), ""), down);
    } else if (!strcmp(type, "btn")) {
        const char *b = json_str(json_get(data, "button"));
        int dz = 0;
        if (!strcmp(b, "wheel-up") || !strcmp(b, "wheel-down")) {
            dz = down ? (b[6] == 'u' ? -1 : 1) : 0; /* up: away from the user */
        } else {
            for (int i = 0; i < 5; i++) {
                if (!strcmp(b, button_names[i])) {
                    q->buttons = down ? (q->buttons | 1 << i) : (q->buttons & ~(1 << i));
                }
            }
        }
        mouse_flush(q, dx, dy, dz); /* one report per button: no click is lost */
    } else {
        int64_t v = arg_int(data, "value", 0);
        int *d = !strcmp(json_str(json_get(data, "axis")), "x") ? dx : dy;
        v += *d;
        *d = v > 65535 ? 65535 : v < -65535 ? -65535 : (int)v;
    }
}

static int cmd_input_send_event(struct qmp *q, const struct json *args)
{
    static const struct arg spec[] = { { "device", ARG_STR, true },
                                       { "head", ARG_INT, true },
                                       { "events", ARG_ARRAY, false },
                                       { NULL, 0, false } };
    static const struct arg ev_spec[] = { { "type", ARG_STR, false },
                                          { "data", ARG_OBJECT, false },
                                          { NULL, 0, false } };
    if (check_args(q, args, spec, "") < 0) {
        return -1;
    }
    if (json_get(args, "device")) {
        return fail(q, "Device '%s' not found", arg_str(args, "device", ""));
    }
    const struct json *evs = json_get(args, "events");
    unsigned nkeys = 0;
    for (size_t i = 0; i < json_count(evs); i++) {
        char path[48];
        const struct json *ev = json_at(evs, i);
        snprintf(path, sizeof(path), "events[%zu].", i);
        if (ev->type != JSON_OBJECT) {
            return fail(q, "Invalid parameter type for 'events[%zu]', expected: object", i);
        }
        if (check_args(q, ev, ev_spec, path) < 0) {
            return -1;
        }
        const char *type = json_str(json_get(ev, "type"));
        if (strcmp(type, "key") && strcmp(type, "btn") && strcmp(type, "rel") &&
            strcmp(type, "abs")) {
            return fail(q, "Parameter '%stype' does not accept value '%s'", path, type);
        }
        snprintf(path, sizeof(path), "events[%zu].data.", i);
        if (check_event(q, type, json_get(ev, "data"), path) < 0) {
            return -1;
        }
        nkeys += !strcmp(type, "key");
    }
    if (nkeys && !q->ops.key) {
        return fail(q, "this machine has no keyboard");
    }
    if (nkeys > hmp_keys_room(q->hmp)) {
        return fail(q, "too many key events queued (the guest is not reading them yet)");
    }
    if (nkeys < json_count(evs) && !q->ops.mouse) {
        return fail(q, "this machine has no mouse");
    }
    int dx = 0, dy = 0;
    for (size_t i = 0; i < json_count(evs); i++) {
        const struct json *ev = json_at(evs, i);
        run_event(q, json_str(json_get(ev, "type")), json_get(ev, "data"), &dx, &dy);
    }
    if (dx || dy) {
        mouse_flush(q, &dx, &dy, 0);
    }
    return 0;
}

/* ---- commands -------------------------------------------------------- */

static const char *run_status(struct qmp *q)
{
    const char *s = q->ops.status ? q->ops.status(q->ops.opaque) : NULL;
    return s ? s : "running";
}

/* QEMU's run states from which only a reset gets the guest going. */
static bool needs_reset(const char *status)
{
    return !strcmp(status, "shutdown") || !strcmp(status, "guest-panicked") ||
           !strcmp(status, "internal-error");
}

static const struct arg no_args[] = { { NULL, 0, false } };

static int cmd_qmp_capabilities(struct qmp *q, const struct json *args)
{
    static const struct arg spec[] = { { "enable", ARG_ARRAY, true }, { NULL, 0, false } };
    if (q->negotiated) {
        return fail_class(q, "CommandNotFound",
                          "Capabilities negotiation is already complete, command ignored");
    }
    if (check_args(q, args, spec, "") < 0) {
        return -1;
    }
    /* QEMU offers "oob" only with a monitor I/O thread; kasou has none */
    const struct json *cap = json_at(json_get(args, "enable"), 0);
    if (cap && !json_str(cap)) {
        return fail(q, "Invalid parameter type for 'enable[0]', expected: string");
    }
    if (cap) {
        return strcmp(json_str(cap), "oob")
                   ? fail(q, "Parameter 'enable[0]' does not accept value '%s'", json_str(cap))
                   : fail(q, "Capability 'oob' not available");
    }
    q->negotiated = true;
    return 0;
}

static int cmd_query_status(struct qmp *q, const struct json *args)
{
    const char *st = run_status(q);
    jsonw_obj_begin(&q->ret);
    jsonw_kv_str(&q->ret, "status", st);
    jsonw_kv_bool(&q->ret, "singlestep", false);
    jsonw_kv_bool(&q->ret, "running", !strcmp(st, "running"));
    jsonw_obj_end(&q->ret);
    return 0;
}

static int cmd_query_version(struct qmp *q, const struct json *args)
{
    jsonw_raw(&q->ret, VERSION_JSON);
    return 0;
}

static int cmd_query_name(struct qmp *q, const struct json *args)
{
    const char *name = q->ops.name ? q->ops.name(q->ops.opaque) : NULL;
    jsonw_obj_begin(&q->ret);
    if (name && *name) {
        jsonw_kv_str(&q->ret, "name", name);
    }
    jsonw_obj_end(&q->ret);
    return 0;
}

/* Run a callback that has no arguments and cannot fail. */
static int call_simple(struct qmp *q, void (*fn)(void *), const char *what)
{
    if (!fn) {
        return fail(q, "this machine cannot %s", what);
    }
    fn(q->ops.opaque);
    return 0;
}

static int cmd_stop(struct qmp *q, const struct json *args)
{
    return call_simple(q, q->ops.stop, "pause");
}

static int cmd_cont(struct qmp *q, const struct json *args)
{
    if (needs_reset(run_status(q))) {
        return fail(q, "Resetting the Virtual Machine is required");
    }
    return call_simple(q, q->ops.cont, "resume");
}

static int cmd_system_reset(struct qmp *q, const struct json *args)
{
    return call_simple(q, q->ops.system_reset, "reset");
}

static int cmd_system_powerdown(struct qmp *q, const struct json *args)
{
    return call_simple(q, q->ops.system_powerdown, "power down");
}

static int cmd_quit(struct qmp *q, const struct json *args)
{
    int r = call_simple(q, q->ops.quit, "quit");
    q->quit = r == 0;
    return r;
}

static int do_screendump(struct qmp *q, const char *path, const char *format)
{
    if (strcmp(format, "ppm") && strcmp(format, "png")) {
        return fail(q, "Parameter 'format' does not accept value '%s'", format);
    }
    if (!q->ops.screendump) {
        return fail(q, "this machine has no display");
    }
    char err[QMP_DESC_MAX] = "";
    if (q->ops.screendump(q->ops.opaque, path, format, err, sizeof(err)) < 0) {
        return fail(q, "%s", err[0] ? err : "screendump failed");
    }
    return 0;
}

static int cmd_screendump(struct qmp *q, const struct json *args)
{
    static const struct arg spec[] = { { "filename", ARG_STR, false },
                                       { "device", ARG_STR, true },
                                       { "head", ARG_INT, true },
                                       { "format", ARG_STR, true },
                                       { NULL, 0, false } };
    if (check_args(q, args, spec, "") < 0) {
        return -1;
    }
    if (arg_int(args, "head", 0) != 0) {
        return fail(q, "Display has no head %lld", (long long)arg_int(args, "head", 0));
    }
    return do_screendump(q, arg_str(args, "filename", ""), arg_str(args, "format", "ppm"));
}

static int do_memsave(struct qmp *q, uint64_t addr, uint64_t size, const char *path, bool physical,
                      int64_t cpu)
{
    if (!q->ops.memsave) {
        return fail(q, "this machine cannot save memory");
    }
    if (cpu < 0 || cpu > INT32_MAX) {
        return fail(q, "Parameter 'cpu-index' expects a CPU number");
    }
    char err[QMP_DESC_MAX] = "";
    if (q->ops.memsave(q->ops.opaque, addr, size, path, physical, (int)cpu, err, sizeof(err)) < 0) {
        return fail(q, "%s", err[0] ? err : "memory save failed");
    }
    return 0;
}

static int memsave_args(struct qmp *q, const struct json *args, bool physical)
{
    return do_memsave(q, (uint64_t)arg_int(args, "val", 0), (uint64_t)arg_int(args, "size", 0),
                      arg_str(args, "filename", ""), physical, arg_int(args, "cpu-index", 0));
}

static int cmd_memsave(struct qmp *q, const struct json *args)
{
    static const struct arg spec[] = { { "val", ARG_UINT, false },
                                       { "size", ARG_UINT, false },
                                       { "filename", ARG_STR, false },
                                       { "cpu-index", ARG_INT, true },
                                       { NULL, 0, false } };
    return check_args(q, args, spec, "") < 0 ? -1 : memsave_args(q, args, false);
}

static int cmd_pmemsave(struct qmp *q, const struct json *args)
{
    static const struct arg spec[] = { { "val", ARG_UINT, false },
                                       { "size", ARG_UINT, false },
                                       { "filename", ARG_STR, false },
                                       { NULL, 0, false } };
    return check_args(q, args, spec, "") < 0 ? -1 : memsave_args(q, args, true);
}

static int cmd_query_commands(struct qmp *q, const struct json *args);
static int cmd_human_monitor_command(struct qmp *q, const struct json *args);

struct command {
    const char *name;
    int (*fn)(struct qmp *q, const struct json *args);
    const struct arg *args; /* NULL: the command checks its own */
};

static const struct command commands[] = {
    { "qmp_capabilities", cmd_qmp_capabilities, NULL },
    { "query-status", cmd_query_status, no_args },
    { "query-version", cmd_query_version, no_args },
    { "query-commands", cmd_query_commands, no_args },
    { "query-name", cmd_query_name, no_args },
    { "stop", cmd_stop, no_args },
    { "cont", cmd_cont, no_args },
    { "system_reset", cmd_system_reset, no_args },
    { "system_powerdown", cmd_system_powerdown, no_args },
    { "quit", cmd_quit, no_args },
    { "screendump", cmd_screendump, NULL },
    { "memsave", cmd_memsave, NULL },
    { "pmemsave", cmd_pmemsave, NULL },
    { "send-key", cmd_send_key, NULL },
    { "input-send-event", cmd_input_send_event, NULL },
    { "human-monitor-command", cmd_human_monitor_command, NULL },
    { NULL, NULL, NULL },
};

static int cmd_query_commands(struct qmp *q, const struct json *args)
{
    jsonw_arr_begin(&q->ret);
    for (const struct command *c = commands; c->name; c++) {
        jsonw_obj_begin(&q->ret);
        jsonw_kv_str(&q->ret, "name", c->name);
        jsonw_obj_end(&q->ret);
    }
    jsonw_arr_end(&q->ret);
    return 0;
}

/* ---- human monitor commands ------------------------------------------ */

static const struct json empty_object = { .type = JSON_OBJECT };

static int cmd_human_monitor_command(struct qmp *q, const struct json *args)
{
    static const struct arg spec[] = { { "command-line", ARG_STR, false },
                                       { "cpu-index", ARG_INT, true },
                                       { NULL, 0, false } };
    if (check_args(q, args, spec, "") < 0) {
        return -1;
    }
    jsonw_str(&q->ret, hmp_run(q->hmp, arg_str(args, "command-line", "")));
    q->quit = q->quit || hmp_quitting(q->hmp);
    return 0;
}

/* ---- dispatch -------------------------------------------------------- */

static const struct command *find_command(const char *name)
{
    for (const struct command *c = commands; c->name; c++) {
        if (!strcmp(c->name, name)) {
            return c;
        }
    }
    return NULL;
}

static int dispatch(struct qmp *q, const struct json *req)
{
    if (req->type != JSON_OBJECT) {
        return fail(q, "QMP input must be a JSON object");
    }
    for (size_t i = 0; i < json_count(req); i++) {
        const struct json *m = json_at(req, i);
        if (!strcmp(m->key, "execute")) {
            if (m->type != JSON_STRING) {
                return fail(q, "QMP input member 'execute' must be a string");
            }
        } else if (!strcmp(m->key, "arguments")) {
            if (m->type != JSON_OBJECT) {
                return fail(q, "QMP input member 'arguments' must be an object");
            }
        } else if (strcmp(m->key, "id")) {
            return fail(q, "QMP input member '%s' is unexpected", m->key);
        }
    }
    const char *name = json_str(json_get(req, "execute"));
    if (!name) {
        return fail(q, "QMP input lacks member 'execute'");
    }
    if (!q->negotiated && strcmp(name, "qmp_capabilities")) {
        return fail_class(q, "CommandNotFound",
                          "Expecting capabilities negotiation with 'qmp_capabilities'");
    }
    const struct command *c = find_command(name);
    if (!c) {
        return fail_class(q, "CommandNotFound", "The command %s has not been found", name);
    }
    const struct json *args = json_get(req, "arguments");
    if (!args) {
        args = &empty_object;
    }
    if (c->args && check_args(q, args, c->args, "") < 0) {
        return -1;
    }
    if (c->fn(q, args) < 0) {
        return -1;
    }
    return jsonw_ok(&q->ret) ? 0 : fail(q, "out of memory");
}

static void handle_message(struct qmp *q, const char *text, size_t len)
{
    char perr[QMP_DESC_MAX - 32];
    struct json_doc *doc = json_parse(text, len, perr, sizeof(perr));
    if (!doc) {
        char desc[QMP_DESC_MAX];
        snprintf(desc, sizeof(desc), "JSON parse error, %s", perr);
        send_error(q, desc);
        return;
    }
    const struct json *req = json_root(doc);
    jsonw_reset(&q->ret);
    int r = dispatch(q, req);
    send_reply(q, r == 0, json_get(req, "id"));
    json_free(doc);
    if (q->quit) {
        /* as QEMU: the reply, then the event; the machine cannot tell who quit */
        qmp_event(q, "SHUTDOWN", "{\"guest\": false, \"reason\": \"host-qmp-quit\"}");
    }
    hmp_poll(q->hmp);
}

/* ---- framing --------------------------------------------------------- */

static void frame_reset(struct framer *f)
{
    f->len = 0;
    f->mode = FRAME_IDLE;
    f->depth = 0;
    f->in_str = f->esc = f->overflow = false;
}

static void frame_put(struct framer *f, char c)
{
    if (f->overflow) {
        return;
    }
    if (f->len == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 1024;
        char *p = cap <= QMP_MAX_MSG ? realloc(f->buf, cap) : NULL;
        if (!p) {
            f->overflow = true;
            return;
        }
        f->buf = p;
        f->cap = cap;
    }
    f->buf[f->len++] = c;
}

/* A value is complete: run it (or report why it cannot be). */
static void frame_emit(struct qmp *q)
{
    struct framer *f = &q->fr;
    if (f->overflow) {
        send_error(q, "JSON parse error, message too long or nested too deep");
    } else if (!q->quit) {
        handle_message(q, f->buf, f->len);
    }
    frame_reset(f);
}

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Inside a value that started with '{', '[' or '"'. */
static void frame_value_byte(struct qmp *q, char c)
{
    struct framer *f = &q->fr;
    frame_put(f, c);
    if (f->in_str) {
        if (f->esc) {
            f->esc = false;
        } else if (c == '\\') {
            f->esc = true;
        } else if (c == '"') {
            f->in_str = false;
        }
    } else if (c == '"') {
        f->in_str = true;
    } else if (c == '{' || c == '[') {
        if (++f->depth > QMP_MAX_NEST) {
            f->overflow = true;
        }
    } else if (c == '}' || c == ']') {
        f->depth--;
    }
    if (f->depth == 0 && !f->in_str) {
        frame_emit(q);
    }
}

/* Feed received bytes; stops early if the client goes away. */
static void frame_feed(struct qmp *q, const char *data, size_t n)
{
    struct framer *f = &q->fr;
    for (size_t i = 0; i < n && q->in_fd >= 0; i++) {
        char c = data[i];
        if (f->mode == FRAME_VALUE) {
            frame_value_byte(q, c);
        } else if (f->mode == FRAME_BARE) {
            if (is_ws(c) || (c && strchr("{}[],:\"", c))) {
                frame_emit(q);
                i--; /* that byte starts the next value */
            } else {
                frame_put(f, c);
            }
        } else if (is_ws(c)) {
            continue;
        } else if (c == '{' || c == '[' || c == '"') {
            f->mode = FRAME_VALUE;
            frame_value_byte(q, c);
        } else if (c == '}' || c == ']') {
            send_error(q, "JSON parse error, expecting value");
        } else {
            f->mode = FRAME_BARE;
            frame_put(f, c);
        }
    }
}

/* ---- endpoint specs -------------------------------------------------- */

static int parse_bool(const char *v, bool *out)
{
    if (!v || !strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "true")) {
        *out = true; /* a bare "server" means server=on */
    } else if (!strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "false")) {
        *out = false;
    } else {
        return -1;
    }
    return 0;
}

/* Copy one comma-separated field, turning ",," into ','; returns the end. */
static const char *take_field(const char *s, char *out, size_t outlen, bool *too_long)
{
    size_t n = 0;
    *too_long = false;
    while (*s && (*s != ',' || s[1] == ',')) {
        char c = *s == ',' ? (s++, ',') : *s;
        s++;
        if (n + 1 < outlen) {
            out[n++] = c;
        } else {
            *too_long = true;
        }
    }
    out[n] = '\0';
    return *s == ',' ? s + 1 : s;
}

/* HOST:PORT, [V6]:PORT or :PORT into the spec. */
static int parse_tcp_addr(const char *addr, struct qmp_spec *out, char *err, size_t errlen)
{
    const char *colon = strrchr(addr, ':');
    if (!colon || !colon[1]) {
        snprintf(err, errlen, "tcp: address '%s' needs a port (tcp:HOST:PORT)", addr);
        return -1;
    }
    size_t hl = (size_t)(colon - addr);
    if (hl >= 2 && addr[0] == '[' && addr[hl - 1] == ']') {
        addr++;
        hl -= 2;
    }
    if (hl >= sizeof(out->host) || strlen(colon + 1) >= sizeof(out->port)) {
        snprintf(err, errlen, "tcp: address '%s' is too long", addr);
        return -1;
    }
    memcpy(out->host, addr, hl);
    out->host[hl] = '\0';
    snprintf(out->port, sizeof(out->port), "%s", colon + 1);
    return 0;
}

static int parse_option(char *opt, struct qmp_spec *out, bool *wait_set, char *err, size_t errlen)
{
    char *val = strchr(opt, '=');
    if (val) {
        *val++ = '\0';
    }
    int r = 0;
    if (!strcmp(opt, "server")) {
        r = parse_bool(val, &out->server);
    } else if (!strcmp(opt, "wait")) {
        r = parse_bool(val, &out->wait);
        *wait_set = true;
    } else if (!strcmp(opt, "nowait") && !val) {
        out->wait = false;
        *wait_set = true;
    } else if (!strcmp(opt, "nodelay") && out->transport == QMP_TCP) {
        r = parse_bool(val, &out->nodelay);
    } else {
        snprintf(err, errlen, "unknown option '%s' (QMP takes server, wait, nowait, nodelay)", opt);
        return -1;
    }
    if (r < 0) {
        snprintf(err, errlen, "option '%s' takes on or off, not '%s'", opt, val);
    }
    return r;
}

int qmp_parse_spec(const char *spec, struct qmp_spec *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (!strcmp(spec, "stdio")) {
        out->transport = QMP_STDIO;
        return 0;
    }
    const char *s;
    if (!strncmp(spec, "unix:", 5)) {
        out->transport = QMP_UNIX;
        s = spec + 5;
    } else if (!strncmp(spec, "tcp:", 4)) {
        out->transport = QMP_TCP;
        s = spec + 4;
    } else {
        snprintf(err, errlen,
                 "unsupported QMP endpoint '%s' (use unix:PATH,server=on,wait=off, "
                 "tcp:HOST:PORT,server=on,wait=off or stdio)",
                 spec);
        return -1;
    }
    char field[512];
    bool too_long, wait_set = false;
    s = take_field(s, field, sizeof(field), &too_long);
    if (out->transport == QMP_UNIX) {
        if (!field[0]) {
            snprintf(err, errlen, "unix: needs a socket path (unix:PATH,server=on)");
            return -1;
        }
        if (too_long || strlen(field) >= sizeof(out->path)) {
            snprintf(err, errlen, "UNIX socket path '%s' is too long (at most %zu bytes)", field,
                     sizeof(out->path) - 1);
            return -1;
        }
        memcpy(out->path, field, strlen(field) + 1);
    } else if (too_long || parse_tcp_addr(field, out, err, errlen) < 0) {
        if (too_long) {
            snprintf(err, errlen, "tcp: address is too long");
        }
        return -1;
    }
    while (*s) {
        s = take_field(s, field, sizeof(field), &too_long);
        if (parse_option(field, out, &wait_set, err, errlen) < 0) {
            return -1;
        }
    }
    if (!wait_set) {
        out->wait = out->server; /* QEMU waits for the client by default */
    } else if (out->wait && !out->server) {
        snprintf(err, errlen, "'wait' is for a listening endpoint (add server=on)");
        return -1;
    }
    return 0;
}

/* ---- sockets --------------------------------------------------------- */

static int unix_socket(struct qmp *q, char *err, size_t errlen)
{
    const struct qmp_spec *sp = &q->spec;
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    memcpy(sa.sun_path, sp->path, strlen(sp->path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create a socket: %s", strerror(errno));
        return -1;
    }
    struct stat st;
    if (sp->server && stat(sp->path, &st) == 0 && S_ISSOCK(st.st_mode)) {
        unlink(sp->path); /* a previous run's socket; other files stay */
    }
    if (sp->server) {
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0) {
            snprintf(err, errlen, "cannot listen on UNIX socket '%s': %s", sp->path,
                     strerror(errno));
            close(fd);
            return -1;
        }
        q->unlink_path = true;
    } else if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        snprintf(err, errlen, "Failed to connect to '%s': %s", sp->path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* Listen on, or connect to, the first address of HOST:PORT that works. */
static int tcp_socket(struct qmp *q, char *err, size_t errlen)
{
    const struct qmp_spec *sp = &q->spec;
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
    hints.ai_flags = sp->server ? AI_PASSIVE : 0;
    struct addrinfo *res;
    int r = getaddrinfo(sp->host[0] ? sp->host : NULL, sp->port, &hints, &res);
    if (r != 0) {
        snprintf(err, errlen, "address '%s:%s': %s", sp->host, sp->port, gai_strerror(r));
        return -1;
    }
    int fd = -1, saved = 0;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            saved = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        bool ok = sp->server ? bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 1) == 0
                             : connect(fd, ai->ai_addr, ai->ai_addrlen) == 0;
        if (!ok) {
            saved = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0) {
        snprintf(err, errlen, "cannot %s %s:%s: %s", sp->server ? "listen on" : "connect to",
                 sp->host[0] ? sp->host : "*", sp->port, strerror(saved));
    }
    return fd;
}

/* Start a session on a connected channel: the greeting goes out. */
static void attach(struct qmp *q, int in_fd, int out_fd, bool owned)
{
    struct stat st;
    q->in_fd = in_fd;
    q->out_fd = out_fd;
    q->owned = owned;
    q->is_socket = in_fd == out_fd && fstat(in_fd, &st) == 0 && S_ISSOCK(st.st_mode);
    if (q->is_socket && q->spec.nodelay) {
        int one = 1;
        setsockopt(in_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    q->negotiated = false;
    frame_reset(&q->fr);
    q->out_len = 0;
    send_greeting(q);
}

static void disconnect(struct qmp *q)
{
    if (q->in_fd < 0) {
        return;
    }
    if (q->owned) {
        close(q->in_fd);
        if (q->out_fd != q->in_fd) {
            close(q->out_fd);
        }
    }
    q->in_fd = q->out_fd = -1;
    q->negotiated = false;
    q->out_len = 0;
    frame_reset(&q->fr);
}

static void try_accept(struct qmp *q)
{
    int fd = accept4(q->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd >= 0) {
        attach(q, fd, fd, true);
    }
}

static void read_input(struct qmp *q)
{
    char buf[4096];
    size_t total = 0;
    while (q->in_fd >= 0 && total < QMP_READ_BUDGET) {
        ssize_t n;
        if (q->is_socket) {
            n = recv(q->in_fd, buf, sizeof(buf), MSG_DONTWAIT);
        } else {
            struct pollfd p = { .fd = q->in_fd, .events = POLLIN };
            if (poll(&p, 1, 0) <= 0) {
                break;
            }
            n = read(q->in_fd, buf, sizeof(buf));
        }
        if (n > 0) {
            total += (size_t)n;
            frame_feed(q, buf, (size_t)n);
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        } else {
            disconnect(q); /* end of input, or the connection failed */
        }
    }
}

/* ---- the monitor ----------------------------------------------------- */

static struct qmp *qmp_alloc(const struct qmp_machine_ops *ops)
{
    struct qmp *q = calloc(1, sizeof(*q));
    if (!q) {
        return NULL;
    }
    q->ops = *ops;
    q->hmp = hmp_new(ops);
    if (!q->hmp) {
        free(q);
        return NULL;
    }
    q->listen_fd = q->in_fd = q->out_fd = -1;
    jsonw_init(&q->ret);
    jsonw_init(&q->msg);
    return q;
}

struct qmp *qmp_new_fd(int in_fd, int out_fd, bool owned, const struct qmp_machine_ops *ops)
{
    struct qmp *q = qmp_alloc(ops);
    if (q) {
        q->spec.transport = QMP_STDIO;
        attach(q, in_fd, out_fd, owned);
    }
    return q;
}

struct qmp *qmp_new(const char *spec, const struct qmp_machine_ops *ops, char *err, size_t errlen)
{
    struct qmp *q = qmp_alloc(ops);
    if (!q) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (qmp_parse_spec(spec, &q->spec, err, errlen) < 0) {
        qmp_free(q);
        return NULL;
    }
    if (q->spec.transport == QMP_STDIO) {
        attach(q, STDIN_FILENO, STDOUT_FILENO, false);
        return q;
    }
    int fd =
        q->spec.transport == QMP_UNIX ? unix_socket(q, err, errlen) : tcp_socket(q, err, errlen);
    if (fd < 0) {
        qmp_free(q);
        return NULL;
    }
    if (!q->spec.server) {
        attach(q, fd, fd, true);
        return q;
    }
    q->listen_fd = fd;
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    if (q->spec.wait) {
        fprintf(stderr, "kasou: QMP waiting for connection on %s\n", spec);
        while (q->in_fd < 0) {
            struct pollfd p = { .fd = fd, .events = POLLIN };
            if (poll(&p, 1, -1) < 0 && errno != EINTR) {
                break;
            }
            try_accept(q);
        }
    }
    return q;
}

void qmp_poll(struct qmp *q)
{
    if (q->in_fd < 0 && q->listen_fd >= 0) {
        try_accept(q);
    }
    read_input(q);
    hmp_poll(q->hmp);
    if (q->out_len) {
        flush_out(q);
    }
}

int qmp_fd(const struct qmp *q, bool *want_write)
{
    if (want_write) {
        *want_write = q->out_fd >= 0 && q->out_len > 0;
    }
    return q->in_fd >= 0 ? q->in_fd : q->listen_fd;
}

bool qmp_connected(const struct qmp *q)
{
    return q->in_fd >= 0;
}

void qmp_free(struct qmp *q)
{
    if (!q) {
        return;
    }
    /* the reply to quit and the SHUTDOWN event should reach the client */
    for (int tries = 0; q->out_fd >= 0 && q->out_len && tries < 100; tries++) {
        struct pollfd p = { .fd = q->out_fd, .events = POLLOUT };
        if (poll(&p, 1, 10) > 0) {
            flush_out(q);
        }
    }
    disconnect(q);
    if (q->listen_fd >= 0) {
        close(q->listen_fd);
    }
    if (q->unlink_path) {
        unlink(q->spec.path);
    }
    hmp_free(q->hmp);
    free(q->fr.buf);
    free(q->out);
    jsonw_free(&q->ret);
    jsonw_free(&q->msg);
    free(q);
}
