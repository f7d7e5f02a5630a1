/*
 * hmp.c - the human monitor's commands (see hmp.h).
 *
 * Command lines split into words at spaces; a word may be "quoted" (with
 * \" and \\ inside) so a file name can hold spaces.  Numbers are C
 * literals (0x hex, 0 octal, decimal); QEMU's expressions ($eax, a+b) are
 * not supported.  Each command returns its text in one growing buffer, so
 * xp and help are not limited by a fixed size.
 *
 * Texts follow QEMU 7.2's monitor: "VM status: paused (shutdown)",
 * "unknown command: 'frob'", "Error: ..." for a failed QMP-backed command,
 * and xp's dump layout (a 16-digit physical address, then 8 bytes or 16
 * bytes' worth of items a line).  xp's /fmt defaults persist between
 * commands as QEMU's do.
 */
#include "hmp.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "ui/chardev.h"
#include "ui/keymap.h"

#define HMP_MAX_WORDS 16
#define HMP_KEYQ 1024          /* queued key events and delays */
#define HMP_OUT_MAX (4u << 20) /* output kept from one command */
#define HMP_XP_MAX 65536u      /* bytes one xp may dump */
#define HMP_ERR_MAX 512

struct key_item {
    int key; /* i8042 code, or -1 for a delay */
    bool down;
    uint32_t delay_ms;
};

struct hmp {
    struct qmp_machine_ops ops;
    char *out; /* the running command's output */
    size_t out_len, out_cap;
    bool quitting;
    struct chardev *chr; /* hmp_attach(): the terminal, or NULL */
    char banner[96];
    char xp_format; /* xp's defaults: last format and item size */
    int xp_size;
    struct key_item keys[HMP_KEYQ];
    unsigned key_head, key_count;
    bool key_waiting; /* the head delay has started */
    uint64_t key_deadline;
};

/* ---- output ---------------------------------------------------------- */

__attribute__((format(printf, 2, 3))) static void out(struct hmp *h, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0 || h->out_len + (size_t)n + 1 > HMP_OUT_MAX) {
        return;
    }
    if (h->out_len + (size_t)n + 1 > h->out_cap) {
        size_t cap = h->out_cap ? h->out_cap : 256;
        while (cap < h->out_len + (size_t)n + 1) {
            cap *= 2;
        }
        char *p = realloc(h->out, cap);
        if (!p) {
            return;
        }
        h->out = p;
        h->out_cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(h->out + h->out_len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    h->out_len += (size_t)n;
}

/* ---- the key queue --------------------------------------------------- */

static uint64_t now_ns(struct hmp *h)
{
    if (h->ops.now_ns) {
        return h->ops.now_ns(h->ops.opaque);
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void key_push(struct hmp *h, int key, bool down, uint32_t delay_ms)
{
    h->keys[(h->key_head + h->key_count) % HMP_KEYQ] = (struct key_item){ key, down, delay_ms };
    h->key_count++;
}

void hmp_poll(struct hmp *h)
{
    if (h->chr) {
        chardev_mux_poll(h->chr);
    }
    while (h->key_count) {
        const struct key_item *it = &h->keys[h->key_head];
        if (it->key < 0) {
            uint64_t now = now_ns(h);
            if (!h->key_waiting) {
                h->key_waiting = true;
                h->key_deadline = now + (uint64_t)it->delay_ms * 1000000u;
            }
            if (now < h->key_deadline) {
                return;
            }
            h->key_waiting = false;
        } else if (h->ops.key) {
            h->ops.key(h->ops.opaque, it->key, it->down);
        }
        h->key_head = (h->key_head + 1) % HMP_KEYQ;
        h->key_count--;
    }
}

unsigned hmp_keys_room(const struct hmp *h)
{
    return HMP_KEYQ - h->key_count;
}

void hmp_keys_event(struct hmp *h, int code, bool down)
{
    if (hmp_keys_room(h) > 0) {
        key_push(h, code, down, 0);
        hmp_poll(h);
    }
}

int hmp_keys_press(struct hmp *h, const int *codes, int n, uint32_t hold_ms, char *err,
                   size_t errlen)
{
    if (!h->ops.key) {
        snprintf(err, errlen, "this machine has no keyboard");
        return -1;
    }
    if (hmp_keys_room(h) < (unsigned)n * 4) {
        snprintf(err, errlen, "too many key events queued (the guest is not reading them yet)");
        return -1;
    }
    for (int i = 0; i < n; i++) {
        key_push(h, codes[i], true, 0);
        key_push(h, -1, false, hold_ms);
    }
    for (int i = n - 1; i >= 0; i--) {
        key_push(h, codes[i], false, 0);
        key_push(h, -1, false, hold_ms);
    }
    hmp_poll(h);
    return 0;
}

/* ---- words and numbers ----------------------------------------------- */

/*
 * Split `line` in place into words; a "quoted" word keeps its spaces.
 * Returns the count, or -1 for an unterminated quote.
 */
static int split(char *line, char **w)
{
    int n = 0;
    char *p = line;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
            p++;
        }
        if (!*p || n == HMP_MAX_WORDS) {
            return n;
        }
        w[n++] = p;
        char *d = p;
        if (*p == '"') {
            for (p++; *p != '"'; p++) {
                if (!*p) {
                    return -1;
                }
                if (*p == '\\' && (p[1] == '"' || p[1] == '\\')) {
                    p++;
                }
                *d++ = *p;
            }
            p++;
        } else {
            while (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
                *d++ = *p++;
            }
        }
        char end = *p;
        *d = '\0';
        if (end) {
            p++;
        }
    }
}

static bool parse_num(const char *s, uint64_t *v)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 0);
    if (errno || end == s || *end || *s == '-') {
        return false;
    }
    *v = x;
    return true;
}

static const char *run_status(struct hmp *h)
{
    const char *s = h->ops.status ? h->ops.status(h->ops.opaque) : NULL;
    return s ? s : "running";
}

/* A callback with no arguments that cannot fail. */
static void call_simple(struct hmp *h, void (*fn)(void *), const char *what)
{
    if (!fn) {
        out(h, "Error: this machine cannot %s\r\n", what);
        return;
    }
    fn(h->ops.opaque);
}

/* ---- commands -------------------------------------------------------- */

struct cmd {
    const char *names; /* "c|cont": aliases */
    const char *params;
    const char *help;
    void (*fn)(struct hmp *h, int argc, char **argv);
};

static void cmd_help(struct hmp *h, int argc, char **argv);
static void cmd_info(struct hmp *h, int argc, char **argv);

static void cmd_quit(struct hmp *h, int argc, char **argv)
{
    if (h->ops.quit) {
        h->quitting = true;
    }
    call_simple(h, h->ops.quit, "quit");
}

static void cmd_stop(struct hmp *h, int argc, char **argv)
{
    call_simple(h, h->ops.stop, "pause");
}

static void cmd_cont(struct hmp *h, int argc, char **argv)
{
    const char *st = run_status(h);
    if (!strcmp(st, "shutdown") || !strcmp(st, "guest-panicked") || !strcmp(st, "internal-error")) {
        out(h, "Error: Resetting the Virtual Machine is required\r\n");
        return;
    }
    call_simple(h, h->ops.cont, "resume");
}

static void cmd_system_reset(struct hmp *h, int argc, char **argv)
{
    call_simple(h, h->ops.system_reset, "reset");
}

static void cmd_system_powerdown(struct hmp *h, int argc, char **argv)
{
    call_simple(h, h->ops.system_powerdown, "power down");
}

/* sendkey KEYS [hold_ms]: KEYS is qcode names joined by '-'. */
static void cmd_sendkey(struct hmp *h, int argc, char **argv)
{
    if (argc < 2) {
        out(h, "sendkey: keys expected\r\n");
        return;
    }
    int codes[HMP_MAX_KEYS], n = 0;
    for (char *k = argv[1]; *k;) {
        size_t len = strcspn(k, "-");
        char name[32];
        snprintf(name, sizeof(name), "%.*s", (int)len, k);
        if (!strcmp(name, "<")) {
            strcpy(name, "less"); /* QEMU's old spelling */
        }
        int code = len < sizeof(name) ? keymap_qcode(name) : -1;
        if (code < 0 || n == HMP_MAX_KEYS) {
            out(h, code < 0 ? "invalid parameter: %.*s\r\n" : "too many keys: %.*s\r\n", (int)len,
                k);
            return;
        }
        codes[n++] = code;
        k += len + (k[len] == '-');
    }
    uint64_t hold = HMP_HOLD_MS;
    if (argc > 2 && (!parse_num(argv[2], &hold) || hold > 60000)) {
        out(h, "sendkey: invalid hold time '%s' (0-60000 ms)\r\n", argv[2]);
        return;
    }
    char err[HMP_ERR_MAX];
    if (hmp_keys_press(h, codes, n, (uint32_t)hold, err, sizeof(err)) < 0) {
        out(h, "Error: %s\r\n", err);
    }
}

/* screendump FILE [-f png|ppm]; the option may come first, as QEMU takes. */
static void cmd_screendump(struct hmp *h, int argc, char **argv)
{
    const char *file = NULL, *format = "ppm";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-f") && i + 1 < argc) {
            format = argv[++i];
        } else if (!file) {
            file = argv[i];
        }
    }
    if (!file) {
        out(h, "screendump: filename expected\r\n");
        return;
    }
    if (strcmp(format, "ppm") && strcmp(format, "png")) {
        out(h, "Error: Parameter 'format' does not accept value '%s'\r\n", format);
        return;
    }
    if (!h->ops.screendump) {
        out(h, "Error: this machine has no display\r\n");
        return;
    }
    char err[HMP_ERR_MAX] = "";
    if (h->ops.screendump(h->ops.opaque, file, format, err, sizeof(err)) < 0) {
        out(h, "Error: %s\r\n", err[0] ? err : "screendump failed");
    }
}

static void do_memsave(struct hmp *h, int argc, char **argv, bool physical)
{
    uint64_t addr, size;
    if (argc < 4) {
        out(h, "%s: address, size and filename expected\r\n", argv[0]);
        return;
    }
    if (!parse_num(argv[1], &addr) || !parse_num(argv[2], &size)) {
        out(h, "%s: invalid number '%s'\r\n", argv[0],
            parse_num(argv[1], &addr) ? argv[2] : argv[1]);
        return;
    }
    if (!h->ops.memsave) {
        out(h, "Error: this machine cannot save memory\r\n");
        return;
    }
    char err[HMP_ERR_MAX] = "";
    if (h->ops.memsave(h->ops.opaque, addr, size, argv[3], physical, 0, err, sizeof(err)) < 0) {
        out(h, "Error: %s\r\n", err[0] ? err : "memory save failed");
    }
}

static void cmd_memsave(struct hmp *h, int argc, char **argv)
{
    do_memsave(h, argc, argv, false);
}

static void cmd_pmemsave(struct hmp *h, int argc, char **argv)
{
    do_memsave(h, argc, argv, true);
}

/* ---- xp -------------------------------------------------------------- */

/* "/[count][format][size]" into *count, h->xp_format, h->xp_size. */
static bool parse_xp_format(struct hmp *h, const char *s, uint64_t *count)
{
    char *end;
    *count = strtoull(s, &end, 10);
    if (end == s) {
        *count = 1;
    }
    int format = -1, size = -1;
    for (s = end; *s; s++) {
        if (strchr("xduoci", *s)) {
            format = *s;
        } else if (strchr("bhwg", *s)) {
            size = *s == 'b' ? 1 : *s == 'h' ? 2 : *s == 'w' ? 4 : 8;
        } else {
            out(h, "invalid char in format: '%c'\r\n", *s);
            return false;
        }
    }
    if (format >= 0) {
        h->xp_format = (char)format;
    }
    if (size >= 0) {
        h->xp_size = size;
    }
    return true;
}

static void xp_item(struct hmp *h, char format, int size, uint64_t v)
{
    int bits = size * 8;
    switch (format) {
    case 'o':
        out(h, " %#*llo", (bits + 2) / 3, (unsigned long long)v);
        break;
    case 'u':
        out(h, " %*llu", (bits * 10 + 32) / 33, (unsigned long long)v);
        break;
    case 'd':
        out(h, " %*lld", (bits * 10 + 32) / 33, (long long)v);
        break;
    case 'c':
        if (v == '\'' || v == '\\') {
            out(h, " '\\%c'", (int)v);
        } else if (v == '\n' || v == '\r') {
            out(h, " '\\%c'", v == '\n' ? 'n' : 'r');
        } else if (v >= 32 && v <= 126) {
            out(h, " '%c'", (int)v);
        } else {
            out(h, " '\\x%02x'", (unsigned)v);
        }
        break;
    default:
        out(h, " 0x%0*llx", bits / 4, (unsigned long long)v);
        break;
    }
}

/* xp /fmt addr: physical memory, a line of 8 bytes (bytes) or 16. */
static void cmd_xp(struct hmp *h, int argc, char **argv)
{
    uint64_t count = 1, addr;
    int a = 1;
    if (argc > 1 && argv[1][0] == '/') {
        if (!parse_xp_format(h, argv[1] + 1, &count)) {
            return;
        }
        a = 2;
    }
    if (argc <= a || !parse_num(argv[a], &addr)) {
        out(h, "xp: address expected\r\n");
        return;
    }
    char format = h->xp_format;
    int size = format == 'c' ? 1 : h->xp_size;
    if (format == 'i') {
        out(h, "xp: kasou's monitor cannot disassemble (format 'i')\r\n");
        return;
    }
    if (!h->ops.read_phys) {
        out(h, "Error: this machine cannot read memory\r\n");
        return;
    }
    if (count > HMP_XP_MAX / (uint64_t)size) {
        out(h, "xp: at most %u bytes at once\r\n", HMP_XP_MAX);
        return;
    }
    uint64_t len = count * (uint64_t)size;
    unsigned line = size == 1 ? 8 : 16;
    while (len > 0) {
        uint8_t buf[16];
        unsigned l = len < line ? (unsigned)len : line;
        out(h, "%016llx:", (unsigned long long)addr);
        if (h->ops.read_phys(h->ops.opaque, addr, buf, l) < 0) {
            out(h, " Cannot access memory\r\n");
            return;
        }
        for (unsigned i = 0; i < l; i += (unsigned)size) {
            uint64_t v = 0;
            for (int b = size - 1; b >= 0; b--) {
                v = v << 8 | buf[i + (unsigned)b]; /* little-endian */
            }
            xp_item(h, format, size, v);
        }
        out(h, "\r\n");
        addr += l;
        len -= l;
    }
}

/* ---- info ------------------------------------------------------------ */

static void info_status(struct hmp *h)
{
    const char *st = run_status(h);
    if (!strcmp(st, "running") || !strcmp(st, "paused")) {
        out(h, "VM status: %s\r\n", st);
    } else {
        out(h, "VM status: paused (%s)\r\n", st);
    }
}

static void info_version(struct hmp *h)
{
    out(h, HMP_QEMU_VERSION " (kasou " KASOU_VERSION ")\r\n");
}

static void info_name(struct hmp *h)
{
    const char *name = h->ops.name ? h->ops.name(h->ops.opaque) : NULL;
    if (name && *name) {
        out(h, "%s\r\n", name);
    }
}

struct info_item {
    const char *name;
    const char *help;
    void (*fn)(struct hmp *h);
};

static const struct info_item info_items[] = {
    { "name", "show the machine's name (-name)", info_name },
    { "status", "show whether the machine runs or is paused", info_status },
    { "version", "show the QEMU version kasou answers as, and kasou's", info_version },
    { NULL, NULL, NULL },
};

static void cmd_info(struct hmp *h, int argc, char **argv)
{
    for (const struct info_item *it = info_items; argc > 1 && it->name; it++) {
        if (!strcmp(argv[1], it->name)) {
            it->fn(h);
            return;
        }
    }
    if (argc > 1) {
        out(h, "unknown command: 'info %s'\r\n", argv[1]);
        return;
    }
    for (const struct info_item *it = info_items; it->name; it++) {
        out(h, "info %s  -- %s\r\n", it->name, it->help);
    }
}

/* ---- dispatch -------------------------------------------------------- */

static const struct cmd cmds[] = {
    { "help|?", "[cmd]", "show the help", cmd_help },
    { "info", "[subcommand]", "show information about the machine", cmd_info },
    { "q|quit", "", "quit the emulator", cmd_quit },
    { "stop", "", "pause the machine", cmd_stop },
    { "c|cont", "", "resume the machine", cmd_cont },
    { "system_reset", "", "reset the machine", cmd_system_reset },
    { "system_powerdown", "", "press the power button (ACPI power-off request)",
      cmd_system_powerdown },
    { "sendkey", "keys [hold_ms]",
      "press keys together, e.g. 'sendkey ctrl-alt-delete' (hold time 100 ms)", cmd_sendkey },
    { "screendump", "filename [-f ppm|png]", "save the screen as an image (PPM by default)",
      cmd_screendump },
    { "memsave", "addr size file", "save guest memory at a virtual address to a file",
      cmd_memsave },
    { "pmemsave", "addr size file", "save guest memory at a physical address to a file",
      cmd_pmemsave },
    { "xp", "/fmt addr", "dump physical memory: /[count][x|d|u|o|c][b|h|w|g]", cmd_xp },
    { NULL, NULL, NULL, NULL },
};

/* Does `word` name the command (one of its '|'-separated aliases)? */
static bool names_match(const char *names, const char *word)
{
    size_t wl = strlen(word);
    for (const char *p = names; *p;) {
        size_t l = strcspn(p, "|");
        if (l == wl && !strncmp(p, word, l)) {
            return true;
        }
        p += l + (p[l] == '|');
    }
    return false;
}

static const struct cmd *find_cmd(const char *word)
{
    for (const struct cmd *c = cmds; c->names; c++) {
        if (names_match(c->names, word)) {
            return c;
        }
    }
    return NULL;
}

static void cmd_help(struct hmp *h, int argc, char **argv)
{
    const struct cmd *only = argc > 1 ? find_cmd(argv[1]) : NULL;
    if (argc > 1 && !strcmp(argv[1], "info")) {
        char *sub[] = { "info" };
        cmd_info(h, 1, sub);
        return;
    }
    if (argc > 1 && !only) {
        out(h, "unknown command: '%s'\r\n", argv[1]);
        return;
    }
    for (const struct cmd *c = cmds; c->names; c++) {
        if (!only || only == c) {
            out(h, "%s %s -- %s\r\n", c->names, c->params, c->help);
        }
    }
}

const char *hmp_run(struct hmp *h, const char *line)
{
    h->out_len = 0;
    if (h->out) {
        h->out[0] = '\0';
    }
    char *copy = strdup(line);
    char *w[HMP_MAX_WORDS];
    int n = copy ? split(copy, w) : -1;
    if (n < 0) {
        out(h, copy ? "unterminated string literal\r\n" : "out of memory\r\n");
    } else if (n > 0) {
        const struct cmd *c = find_cmd(w[0]);
        if (c) {
            c->fn(h, n, w);
        } else {
            out(h, "unknown command: '%s'\r\n", w[0]);
        }
    }
    free(copy);
    return h->out ? h->out : "";
}

/* ---- the monitor on a terminal --------------------------------------- */

static bool term_line(void *opaque, const char *line)
{
    struct hmp *h = opaque;
    const char *text = hmp_run(h, line);
    chardev_write(h->chr, (const uint8_t *)text, strlen(text));
    chardev_flush(h->chr);
    return !h->quitting;
}

static void term_quit(void *opaque)
{
    struct hmp *h = opaque;
    if (h->ops.quit) {
        h->ops.quit(h->ops.opaque);
    }
}

static void term_flush(void *opaque)
{
    struct hmp *h = opaque;
    if (h->ops.flush_disks) {
        h->ops.flush_disks(h->ops.opaque);
    }
}

static void term_break(void *opaque)
{
    struct hmp *h = opaque;
    if (h->ops.serial_break) {
        h->ops.serial_break(h->ops.opaque);
    }
}

int hmp_attach(struct hmp *h, struct chardev *chr, bool shared, char *err, size_t errlen)
{
    snprintf(h->banner, sizeof(h->banner),
             "kasou %s monitor - type 'help' for more information\r\n", KASOU_VERSION);
    struct chardev_mux_ops ops = {
        .opaque = h,
        .banner = h->banner,
        .prompt = "(kasou) ",
        .line = term_line,
        .quit = term_quit,
        .flush = term_flush,
        .brk = term_break,
    };
    h->chr = chr;
    if (chardev_mux_enable(chr, shared ? CHARDEV_MUX_SHARED : CHARDEV_MUX_MONITOR, &ops, err,
                           errlen) < 0) {
        h->chr = NULL;
        return -1;
    }
    return 0;
}

bool hmp_quitting(const struct hmp *h)
{
    return h->quitting;
}

struct hmp *hmp_new(const struct qmp_machine_ops *ops)
{
    struct hmp *h = calloc(1, sizeof(*h));
    if (h) {
        h->ops = *ops;
        h->xp_format = 'x';
        h->xp_size = 4;
    }
    return h;
}

void hmp_free(struct hmp *h)
{
    if (h) {
        free(h->out);
        free(h);
    }
}
