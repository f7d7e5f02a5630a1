/*
 * The human monitor's commands against a fake machine that records the
 * callbacks.  Expected texts are QEMU 7.2's monitor output: "VM status:
 * ...", "unknown command: '...'", "Error: ..." for failed QMP-backed
 * commands, xp's dump layout (16-digit physical address, 8 bytes or 16
 * bytes' worth of items a line), "\r\n" line ends.  Key codes are scan code
 * set 2 make codes (Ctrl 14, Alt 11, Delete E0 71).  The last test runs
 * the monitor on a pipe through the stdio mux (hmp_attach).
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hw/i8042.h"
#include "ui/chardev.h"
#include "ui/hmp.h"

#define DOWN 0x10000

struct fake {
    char calls[256];
    const char *status;
    const char *name;
    uint64_t now;
    int keys[64];
    int nkeys;
    char path[128], format[8];
    uint64_t addr, size;
    bool physical;
    bool fail;
    uint8_t mem[64]; /* guest memory 0-63; beyond it nothing */
};

static struct fake fk;
static struct hmp *h;

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
static void f_flush(void *o)
{
    called("flush");
}
static const char *f_name(void *o)
{
    return fk.name;
}
static uint64_t f_now(void *o)
{
    return fk.now;
}
static void f_key(void *o, int key, bool down)
{
    if (fk.nkeys < 64) {
        fk.keys[fk.nkeys++] = key | (down ? DOWN : 0);
    }
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
    snprintf(fk.path, sizeof(fk.path), "%s", path);
    if (fk.fail) {
        snprintf(err, errlen, "Invalid addr 0x%llx specified", (unsigned long long)addr);
        return -1;
    }
    return 0;
}

static int f_read_phys(void *o, uint64_t addr, void *buf, size_t len)
{
    if (addr > sizeof(fk.mem) || len > sizeof(fk.mem) - addr) {
        return -1;
    }
    memcpy(buf, fk.mem + addr, len);
    return 0;
}

static const struct qmp_machine_ops fake_ops = {
    .status = f_status,
    .stop = f_stop,
    .cont = f_cont,
    .system_reset = f_reset,
    .system_powerdown = f_powerdown,
    .quit = f_quit,
    .screendump = f_screendump,
    .memsave = f_memsave,
    .read_phys = f_read_phys,
    .key = f_key,
    .flush_disks = f_flush,
    .name = f_name,
    .now_ns = f_now,
};

static void setup(void)
{
    memset(&fk, 0, sizeof(fk));
    fk.status = "running";
    for (int i = 0; i < 64; i++) {
        fk.mem[i] = (uint8_t)i;
    }
    fk.mem[0x30] = 'A';
    fk.mem[0x31] = '\n';
    fk.mem[0x32] = 0xFF;
    fk.mem[0x33] = '\'';
    h = hmp_new(&fake_ops);
    cr_assert_not_null(h);
}

static void teardown(void)
{
    hmp_free(h);
}

TestSuite(hmp, .init = setup, .fini = teardown);

static void expect(const char *line, const char *want)
{
    const char *got = hmp_run(h, line);
    cr_assert_str_eq(got, want, "'%s': got '%s'", line, got);
}

Test(hmp, info_status_version_name)
{
    expect("info status", "VM status: running\r\n");
    fk.status = "paused";
    expect("info status", "VM status: paused\r\n");
    fk.status = "shutdown";
    expect("info status", "VM status: paused (shutdown)\r\n");
    const char *v = hmp_run(h, "info version");
    cr_assert(!strncmp(v, "7.2.0 (kasou ", 13), "%s", v);
    cr_assert(strstr(v, ")\r\n"), "%s", v);
    expect("info name", ""); /* QEMU prints nothing without -name */
    fk.name = "guest1";
    expect("info name", "guest1\r\n");
    expect("info frob", "unknown command: 'info frob'\r\n");
    cr_assert(strstr(hmp_run(h, "info"), "info status  -- "));
}

Test(hmp, run_state_commands)
{
    expect("stop", "");
    expect("c", "");
    expect("cont", "");
    expect("system_reset", "");
    expect("system_powerdown", "");
    cr_assert_str_eq(fk.calls, "stop;cont;cont;reset;powerdown;");
    fk.status = "shutdown";
    expect("cont", "Error: Resetting the Virtual Machine is required\r\n");
    cr_assert_str_eq(fk.calls, "stop;cont;cont;reset;powerdown;");
    cr_assert(!hmp_quitting(h));
    expect("q", "");
    cr_assert(hmp_quitting(h));
    cr_assert_str_eq(fk.calls, "stop;cont;cont;reset;powerdown;quit;");
}

Test(hmp, quit_spelled_out_and_blank_lines)
{
    expect("", "");
    expect("   \t", "");
    expect("  quit  ", "");
    cr_assert_str_eq(fk.calls, "quit;");
    expect("frob 1 2", "unknown command: 'frob'\r\n");
}

Test(hmp, missing_callback_is_an_error)
{
    struct qmp_machine_ops none = { 0 };
    struct hmp *bare = hmp_new(&none);
    cr_assert_str_eq(hmp_run(bare, "stop"), "Error: this machine cannot pause\r\n");
    cr_assert_str_eq(hmp_run(bare, "info status"), "VM status: running\r\n");
    cr_assert_str_eq(hmp_run(bare, "sendkey a"), "Error: this machine has no keyboard\r\n");
    cr_assert_str_eq(hmp_run(bare, "xp 0"), "Error: this machine cannot read memory\r\n");
    hmp_free(bare);
}

Test(hmp, sendkey_presses_then_releases_in_reverse_with_hold)
{
    fk.now = 1000;
    expect("sendkey ctrl-alt-delete", "");
    /* the first key goes down at once; the others wait 100 ms each */
    cr_assert_eq(fk.nkeys, 1);
    cr_assert_eq(fk.keys[0], 0x14 | DOWN);
    fk.now += 99999999;
    hmp_poll(h);
    cr_assert_eq(fk.nkeys, 1);
    for (int i = 0; i < 6; i++) {
        fk.now += 100000000;
        hmp_poll(h);
    }
    int want[] = { 0x14 | DOWN, 0x11 | DOWN, I8042_E0 | 0x71 | DOWN, I8042_E0 | 0x71, 0x11, 0x14 };
    cr_assert_eq(fk.nkeys, 6);
    for (int i = 0; i < 6; i++) {
        cr_assert_eq(fk.keys[i], want[i], "event %d: %#x", i, fk.keys[i]);
    }
}

Test(hmp, sendkey_hold_time_and_errors)
{
    expect("sendkey a 0", "");
    cr_assert_eq(fk.nkeys, 2);
    cr_assert_eq(fk.keys[0], 0x1C | DOWN);
    cr_assert_eq(fk.keys[1], 0x1C);
    expect("sendkey ctrl-frob", "invalid parameter: frob\r\n");
    expect("sendkey", "sendkey: keys expected\r\n");
    expect("sendkey a x", "sendkey: invalid hold time 'x' (0-60000 ms)\r\n");
    expect("sendkey < 0", ""); /* QEMU's old name for "less" */
    cr_assert_eq(fk.nkeys, 4);
}

Test(hmp, screendump)
{
    expect("screendump /tmp/a.ppm", "");
    cr_assert_str_eq(fk.path, "/tmp/a.ppm");
    cr_assert_str_eq(fk.format, "ppm");
    expect("screendump /tmp/b.png -f png", "");
    cr_assert_str_eq(fk.path, "/tmp/b.png");
    cr_assert_str_eq(fk.format, "png");
    expect("screendump -f png \"/tmp/with space.png\"", "");
    cr_assert_str_eq(fk.path, "/tmp/with space.png");
    expect("screendump -f gif x", "Error: Parameter 'format' does not accept value 'gif'\r\n");
    expect("screendump", "screendump: filename expected\r\n");
    fk.fail = true;
    expect("screendump /nope/x.ppm",
           "Error: Could not open '/nope/x.ppm': No such file or directory\r\n");
    expect("screendump \"/tmp/x", "unterminated string literal\r\n");
}

Test(hmp, pmemsave_and_memsave)
{
    expect("pmemsave 0x1000 512 /tmp/p.bin", "");
    cr_assert_str_eq(fk.calls, "pmemsave;");
    cr_assert_eq(fk.addr, 0x1000);
    cr_assert_eq(fk.size, 512);
    cr_assert(fk.physical);
    cr_assert_str_eq(fk.path, "/tmp/p.bin");
    expect("memsave 0xc0000000 4096 /tmp/v.bin", "");
    cr_assert_eq(fk.addr, 0xc0000000u);
    cr_assert(!fk.physical);
    expect("memsave 0x1000 /tmp/v.bin", "memsave: address, size and filename expected\r\n");
    expect("pmemsave 0x1000 zz /tmp/v.bin", "pmemsave: invalid number 'zz'\r\n");
    fk.fail = true;
    expect("pmemsave 0x5000 1 /tmp/p.bin", "Error: Invalid addr 0x5000 specified\r\n");
}

Test(hmp, xp_bytes_words_and_line_breaks)
{
    expect("xp /4xb 0x10", "0000000000000010: 0x10 0x11 0x12 0x13\r\n");
    expect("xp /2xw 0", "0000000000000000: 0x03020100 0x07060504\r\n");
    expect("xp /10xb 0", "0000000000000000: 0x00 0x01 0x02 0x03 0x04 0x05 0x06 0x07\r\n"
                         "0000000000000008: 0x08 0x09\r\n");
    expect("xp /5xw 0", "0000000000000000: 0x03020100 0x07060504 0x0b0a0908 0x0f0e0d0c\r\n"
                        "0000000000000010: 0x13121110\r\n");
    expect("xp /1xg 8", "0000000000000008: 0x0f0e0d0c0b0a0908\r\n");
    expect("xp /2xh 4", "0000000000000004: 0x0504 0x0706\r\n");
}

Test(hmp, xp_formats_and_defaults)
{
    expect("xp 4", "0000000000000004: 0x07060504\r\n"); /* x, w by default */
    expect("xp /2db 0x31", "0000000000000031:  10 255\r\n");
    expect("xp /1ob 8", "0000000000000008: 010\r\n");
    expect("xp /1uh 0x3e", "000000000000003e: 16190\r\n");
    expect("xp /4c 0x30", "0000000000000030: 'A' '\\n' '\\xff' '\\''\r\n");
    /* the last format and size stay the defaults, as QEMU's */
    expect("xp /xb 2", "0000000000000002: 0x02\r\n");
    expect("xp 3", "0000000000000003: 0x03\r\n");
    expect("xp /2 3", "0000000000000003: 0x03 0x04\r\n");
}

Test(hmp, xp_errors)
{
    expect("xp /4xw 0x3c", "000000000000003c: Cannot access memory\r\n");
    expect("xp /4xw 0x1000", "0000000000001000: Cannot access memory\r\n");
    expect("xp /4q 0", "invalid char in format: 'q'\r\n");
    expect("xp", "xp: address expected\r\n");
    expect("xp /4i 0", "xp: kasou's monitor cannot disassemble (format 'i')\r\n");
    expect("xp /100000xb 0", "xp: at most 65536 bytes at once\r\n");
}

Test(hmp, help)
{
    const char *all = hmp_run(h, "help");
    cr_assert(strstr(all, "c|cont  -- resume the machine\r\n"), "%s", all);
    cr_assert(strstr(all, "xp /fmt addr -- "), "%s", all);
    cr_assert(strstr(all, "sendkey keys [hold_ms] -- "), "%s", all);
    const char *one = hmp_run(h, "help sendkey");
    cr_assert(!strncmp(one, "sendkey keys [hold_ms] -- ", 26), "%s", one);
    cr_assert_eq(strchr(one, '\n'), one + strlen(one) - 1);
    cr_assert(strstr(hmp_run(h, "? info"), "info version  -- "));
    expect("help frob", "unknown command: 'frob'\r\n");
}

/* ---- the monitor on a terminal: a pipe through the stdio mux ---------- */

static char *slurp(FILE *f)
{
    static char buf[8192];
    fflush(f);
    rewind(f);
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    return buf;
}

Test(hmp, attached_to_a_shared_terminal)
{
    char err[256];
    int p[2];
    cr_assert_eq(pipe(p), 0);
    struct chardev *c = chardev_open(CHARDEV_STDIO, "serial0", NULL, false, err, sizeof(err));
    FILE *out = tmpfile();
    c->in_fd = p[0];
    c->f = out;
    cr_assert_eq(hmp_attach(h, c, true, err, sizeof(err)), 0, "%s", err);
    const char in[] = "ab\001cinfo status\r\001cz\001x";
    cr_assert_eq(write(p[1], in, sizeof(in) - 1), (ssize_t)(sizeof(in) - 1));
    hmp_poll(h); /* as while paused: no chardev_read */
    cr_assert_str_eq(fk.calls, "quit;");
    uint8_t got[16];
    cr_assert_eq(chardev_read(c, got, sizeof(got)), 3);
    cr_assert_eq(memcmp(got, "abz", 3), 0);
    const char *text = slurp(out);
    cr_assert(strstr(text, "monitor - type 'help' for more information\r\n(kasou) info status\r\n"
                           "VM status: running\r\n(kasou) "),
              "%s", text);
    cr_assert(strstr(text, "kasou: terminated\r\n"), "%s", text);
    chardev_close(c);
    fclose(out);
    close(p[0]);
    close(p[1]);
}

Test(hmp, attached_alone_quit_shows_no_prompt)
{
    char err[256];
    int p[2];
    cr_assert_eq(pipe(p), 0);
    struct chardev *c = chardev_open(CHARDEV_STDIO, "monitor0", NULL, false, err, sizeof(err));
    FILE *out = tmpfile();
    c->in_fd = p[0];
    c->f = out;
    cr_assert_eq(hmp_attach(h, c, false, err, sizeof(err)), 0, "%s", err);
    const char in[] = "stop\nquit\n";
    cr_assert_eq(write(p[1], in, sizeof(in) - 1), (ssize_t)(sizeof(in) - 1));
    hmp_poll(h);
    cr_assert_str_eq(fk.calls, "stop;quit;");
    const char *text = slurp(out);
    const char *tail = "(kasou) stop\r\n(kasou) quit\r\n";
    size_t tl = strlen(tail), n = strlen(text);
    cr_assert(n >= tl && !strcmp(text + n - tl, tail), "%s", text);
    chardev_close(c);
    fclose(out);
    close(p[0]);
    close(p[1]);
}
