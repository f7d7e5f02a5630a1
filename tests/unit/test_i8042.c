/* 8042 keyboard controller with PS/2 keyboard and mouse: ports 0x60/0x64. */
#include <criterion/criterion.h>

#include "hw/bus.h"
#include "hw/i8042.h"

static struct bus *bus;
static struct i8042 *kbc;
static int irq1, irq12, irq1_rises, irq12_rises;
static int a20_calls, a20_on, resets;

enum { OBF = 0x01, SYS = 0x04, A2 = 0x08, INH = 0x10, AUXB = 0x20 };

static void record_irq(void *opaque, int n, int level)
{
    if (n == 1) {
        irq1_rises += level && !irq1;
        irq1 = level;
    } else {
        irq12_rises += level && !irq12;
        irq12 = level;
    }
}

static void hook_a20(void *opaque, bool on)
{
    cr_assert_eq(opaque, &a20_calls);
    a20_calls++;
    a20_on = on;
}

static void hook_reset(void *opaque)
{
    cr_assert_eq(opaque, &a20_calls);
    resets++;
}

static const struct i8042_hooks hooks = { hook_a20, hook_reset };

static void setup(void)
{
    irq1 = irq12 = irq1_rises = irq12_rises = 0;
    a20_calls = resets = 0;
    a20_on = -1;
    bus = bus_new(4096);
    kbc = i8042_new(bus, (struct irq){ record_irq, NULL, 1 },
                    (struct irq){ record_irq, NULL, 12 }, &hooks, &a20_calls);
    cr_assert_not_null(kbc);
}

static void teardown(void)
{
    i8042_free(kbc);
    bus_free(bus);
}

static uint8_t status(void)
{
    return (uint8_t)bus_in(bus, 0x64, 1);
}

static uint8_t data(void)
{
    return (uint8_t)bus_in(bus, 0x60, 1);
}

static void cmd(uint8_t v)
{
    bus_out(bus, 0x64, v, 1);
}

static void out(uint8_t v)
{
    bus_out(bus, 0x60, v, 1);
}

static void set_ctr(uint8_t v)
{
    cmd(0x60);
    out(v);
}

/* Read `n` bytes, each of which must be waiting, from the given source. */
static void expect(bool aux, int n, const uint8_t *want)
{
    for (int i = 0; i < n; i++) {
        uint8_t s = status();
        cr_assert(s & OBF, "byte %d (%#x): output buffer empty", i, want[i]);
        cr_assert_eq(!!(s & AUXB), aux, "byte %d: AUXB %d", i, !!(s & AUXB));
        uint8_t v = data();
        cr_assert_eq(v, want[i], "byte %d: got %#x want %#x", i, v, want[i]);
    }
}

#define EXPECT_KBD(...)                                                    \
    do {                                                                   \
        const uint8_t w_[] = { __VA_ARGS__ };                              \
        expect(false, sizeof(w_), w_);                                     \
    } while (0)
#define EXPECT_AUX(...)                                                    \
    do {                                                                   \
        const uint8_t w_[] = { __VA_ARGS__ };                              \
        expect(true, sizeof(w_), w_);                                      \
    } while (0)

static void expect_empty(void)
{
    cr_assert_eq(status() & OBF, 0, "unexpected byte %#x", data());
}

static void mouse_cmd(uint8_t v)
{
    cmd(0xD4);
    out(v);
}

TestSuite(i8042, .init = setup, .fini = teardown);

Test(i8042, power_on_status)
{
    cr_assert_eq(status(), INH, "empty, not inhibited, SYS clear");
    cr_assert_eq(irq1 | irq12, 0);
}

Test(i8042, self_tests)
{
    cmd(0xAA);
    cr_assert_eq(status() & (OBF | A2), OBF | A2);
    EXPECT_KBD(0x55);
    cr_assert(status() & SYS, "self test sets the system flag");
    cmd(0xAB);
    EXPECT_KBD(0x00);
    cmd(0xA9);
    EXPECT_KBD(0x00);
    expect_empty();
    cr_assert_eq(data(), 0x00, "empty buffer rereads the last byte");
}

Test(i8042, command_byte_read_write)
{
    set_ctr(0x25);
    cr_assert_eq(status() & A2, 0, "data write clears A2");
    cmd(0x20);
    EXPECT_KBD(0x25);
    cr_assert(status() & SYS, "SYS follows command byte bit 2");
    cmd(0xAD);
    cmd(0xA7);
    cmd(0x20);
    EXPECT_KBD(0x35);
    cmd(0xAE);
    cmd(0x20);
    EXPECT_KBD(0x25);
    cmd(0xA8);
    cmd(0x20);
    EXPECT_KBD(0x05);
    /* Controller RAM beyond the command byte. */
    cmd(0x63);
    out(0x5A);
    cmd(0x23);
    EXPECT_KBD(0x5A);
}

Test(i8042, keyboard_reset_and_identify)
{
    set_ctr(0x00);
    out(0xFF);
    EXPECT_KBD(0xFA, 0xAA);
    out(0xF2);
    EXPECT_KBD(0xFA, 0xAB, 0x83);
    expect_empty();
    /* Through the translator the second ID byte becomes 0x41. */
    set_ctr(0x40);
    out(0xF2);
    EXPECT_KBD(0xFA, 0xAB, 0x41);
}

Test(i8042, keyboard_simple_commands)
{
    set_ctr(0x00);
    out(0xEE);
    EXPECT_KBD(0xEE);
    out(0xF3);
    out(0x20);
    EXPECT_KBD(0xFA, 0xFA);
    out(0xF5);
    EXPECT_KBD(0xFA);
    i8042_key(kbc, 0x1C, true);
    expect_empty();
    out(0xF4);
    EXPECT_KBD(0xFA);
    i8042_key(kbc, 0x1C, true);
    EXPECT_KBD(0x1C);
    out(0xAB);
    EXPECT_KBD(0xFE);
    out(0xFE);
    EXPECT_KBD(0xFE);
}

Test(i8042, leds_with_argument)
{
    set_ctr(0x00);
    out(0xED);
    EXPECT_KBD(0xFA);
    expect_empty();
    out(0x06);
    EXPECT_KBD(0xFA);
    cr_assert_eq(i8042_leds(kbc), I8042_LED_NUM | I8042_LED_CAPS);
    /* A command in place of the argument is taken as the command. */
    out(0xED);
    out(0xF2);
    EXPECT_KBD(0xFA, 0xFA, 0xAB, 0x83);
    cr_assert_eq(i8042_leds(kbc), 6);
    out(0xFF);
    EXPECT_KBD(0xFA, 0xAA);
    cr_assert_eq(i8042_leds(kbc), 0);
}

Test(i8042, translated_scan_codes)
{
    set_ctr(0x40);
    i8042_key(kbc, 0x1C, true);             /* A */
    EXPECT_KBD(0x1E);
    i8042_key(kbc, 0x1C, false);
    EXPECT_KBD(0x9E);
    i8042_key(kbc, I8042_E0 | 0x14, true);  /* right Ctrl */
    i8042_key(kbc, I8042_E0 | 0x14, false);
    EXPECT_KBD(0xE0, 0x1D, 0xE0, 0x9D);
    i8042_key(kbc, 0x83, true);             /* F7, beyond 0x7F */
    EXPECT_KBD(0x41);
    i8042_key(kbc, I8042_KEY_PAUSE, true);
    i8042_key(kbc, I8042_KEY_PAUSE, false);
    EXPECT_KBD(0xE1, 0x1D, 0x45, 0xE1, 0x9D, 0xC5);
    i8042_key(kbc, I8042_KEY_PRTSC, true);
    i8042_key(kbc, I8042_KEY_PRTSC, false);
    EXPECT_KBD(0xE0, 0x2A, 0xE0, 0x37, 0xE0, 0xB7, 0xE0, 0xAA);
    expect_empty();
}

Test(i8042, raw_set2_and_set1)
{
    set_ctr(0x00);
    i8042_key(kbc, 0x1C, true);
    i8042_key(kbc, 0x1C, false);
    i8042_key(kbc, I8042_E0 | 0x75, false); /* Up released */
    EXPECT_KBD(0x1C, 0xF0, 0x1C, 0xE0, 0xF0, 0x75);
    out(0xF0);
    out(0x00);
    EXPECT_KBD(0xFA, 0xFA, 0x02);
    out(0xF0);
    out(0x01);
    EXPECT_KBD(0xFA, 0xFA);
    i8042_key(kbc, 0x1C, true);
    i8042_key(kbc, I8042_E0 | 0x75, false);
    EXPECT_KBD(0x1E, 0xE0, 0xC8);
    out(0xF0);
    out(0x00);
    EXPECT_KBD(0xFA, 0xFA, 0x01);
    out(0xF0);
    out(0x03);
    EXPECT_KBD(0xFA, 0xFE);
}

Test(i8042, irq1_follows_enable_bit)
{
    set_ctr(0x41);
    cr_assert_eq(irq1, 0);
    i8042_key(kbc, 0x1C, true);
    cr_assert_eq(status() & (OBF | AUXB), OBF);
    cr_assert_eq(irq1, 1);
    cr_assert_eq(irq12, 0);
    cr_assert_eq(data(), 0x1E);
    cr_assert_eq(irq1, 0, "reading the byte lowers IRQ1");
    /* Two bytes waiting: one edge each. */
    i8042_key(kbc, I8042_E0 | 0x14, true);
    cr_assert_eq(irq1_rises, 2);
    cr_assert_eq(data(), 0xE0);
    cr_assert_eq(irq1, 1);
    cr_assert_eq(irq1_rises, 3);
    cr_assert_eq(data(), 0x1D);
    cr_assert_eq(irq1, 0);
}

Test(i8042, irq1_masked_by_command_byte)
{
    set_ctr(0x40);
    i8042_key(kbc, 0x1C, true);
    cr_assert(status() & OBF);
    cr_assert_eq(irq1, 0);
    /* Enabling the interrupt with data waiting raises the line. */
    set_ctr(0x41);
    cr_assert_eq(irq1, 1);
    cr_assert_eq(data(), 0x1E);
    cr_assert_eq(irq1, 0);
}

Test(i8042, keyboard_interface_disable_holds_data)
{
    set_ctr(0x41);
    cmd(0xAD);
    i8042_key(kbc, 0x1C, true);
    expect_empty();
    cr_assert_eq(irq1, 0);
    cmd(0xAE);
    cr_assert_eq(irq1, 1);
    EXPECT_KBD(0x1E);
}

Test(i8042, mouse_enable_and_packet)
{
    set_ctr(0x43);
    mouse_cmd(0xF4);
    cr_assert_eq(status() & (OBF | AUXB), OBF | AUXB);
    cr_assert_eq(irq12, 1);
    cr_assert_eq(irq1, 0);
    EXPECT_AUX(0xFA);
    cr_assert_eq(irq12, 0);
    i8042_mouse(kbc, 5, -3, 0, I8042_BTN_LEFT);
    cr_assert_eq(irq12, 1);
    EXPECT_AUX(0x09, 0x05, 0x03);
    i8042_mouse(kbc, -5, 4, 0, I8042_BTN_RIGHT | I8042_BTN_MIDDLE);
    EXPECT_AUX(0x3E, 0xFB, 0xFC);
    cr_assert_eq(irq12_rises, 7);
    expect_empty();
}

Test(i8042, mouse_large_motion_splits)
{
    set_ctr(0x00);
    mouse_cmd(0xF4);
    EXPECT_AUX(0xFA);
    i8042_mouse(kbc, 300, 0, 0, 0);
    EXPECT_AUX(0x08, 0xFF, 0x00, 0x08, 0x2D, 0x00);
    expect_empty();
}

Test(i8042, mouse_silent_until_enabled)
{
    set_ctr(0x02);
    i8042_mouse(kbc, 5, 5, 0, 0);
    expect_empty();
    cr_assert_eq(irq12, 0);
    mouse_cmd(0xF4);
    EXPECT_AUX(0xFA);
    expect_empty();
}

Test(i8042, keyboard_byte_before_mouse_byte)
{
    set_ctr(0x43);
    mouse_cmd(0xF4);
    EXPECT_AUX(0xFA);
    cmd(0xAD);
    cmd(0xA7);
    i8042_mouse(kbc, 1, 0, 0, 0);
    i8042_key(kbc, 0x1C, true);
    cmd(0xAE);
    cmd(0xA8);
    EXPECT_KBD(0x1E);
    EXPECT_AUX(0x08, 0x01, 0x00);
}

Test(i8042, mouse_reset_status_and_identify)
{
    set_ctr(0x00);
    mouse_cmd(0xFF);
    EXPECT_AUX(0xFA, 0xAA, 0x00);
    mouse_cmd(0xF2);
    EXPECT_AUX(0xFA, 0x00);
    mouse_cmd(0xE8);
    mouse_cmd(0x03);
    mouse_cmd(0xE7);
    mouse_cmd(0xF4);
    EXPECT_AUX(0xFA, 0xFA, 0xFA, 0xFA);
    mouse_cmd(0xE9);
    EXPECT_AUX(0xFA, 0x30, 0x03, 100);
    mouse_cmd(0xF6);
    mouse_cmd(0xE9);
    EXPECT_AUX(0xFA, 0xFA, 0x00, 0x02, 100);
    mouse_cmd(0xD0);
    EXPECT_AUX(0xFE);
}

Test(i8042, mouse_remote_mode_read_data)
{
    set_ctr(0x00);
    mouse_cmd(0xF0);
    EXPECT_AUX(0xFA);
    i8042_mouse(kbc, 2, 0, 0, I8042_BTN_LEFT);
    expect_empty();
    mouse_cmd(0xEB);
    EXPECT_AUX(0xFA, 0x09, 0x02, 0x00);
}

Test(i8042, intellimouse_detection)
{
    static const uint8_t knock[3] = { 200, 100, 80 };
    set_ctr(0x02);
    for (int i = 0; i < 3; i++) {
        mouse_cmd(0xF3);
        mouse_cmd(knock[i]);
        EXPECT_AUX(0xFA, 0xFA);
    }
    mouse_cmd(0xF2);
    EXPECT_AUX(0xFA, 0x03);
    mouse_cmd(0xF4);
    EXPECT_AUX(0xFA);
    i8042_mouse(kbc, 1, 1, 2, 0);
    EXPECT_AUX(0x28, 0x01, 0xFF, 0x02);
    i8042_mouse(kbc, 0, 0, -1, 0);
    EXPECT_AUX(0x08, 0x00, 0x00, 0xFF);
    expect_empty();
}

Test(i8042, intellimouse_explorer_detection)
{
    static const uint8_t knock[6] = { 200, 100, 80, 200, 200, 80 };
    set_ctr(0x00);
    for (int i = 0; i < 6; i++) {
        mouse_cmd(0xF3);
        mouse_cmd(knock[i]);
        EXPECT_AUX(0xFA, 0xFA);
    }
    mouse_cmd(0xF2);
    EXPECT_AUX(0xFA, 0x04);
    mouse_cmd(0xF4);
    EXPECT_AUX(0xFA);
    i8042_mouse(kbc, 0, 0, -2, I8042_BTN_4);
    EXPECT_AUX(0x08, 0x00, 0x00, 0x1E);
    mouse_cmd(0xFF);
    EXPECT_AUX(0xFA, 0xAA, 0x00);
    mouse_cmd(0xF2);
    EXPECT_AUX(0xFA, 0x00);
}

Test(i8042, aux_loopback_and_kbd_write)
{
    set_ctr(0x03);
    cmd(0xD3);
    out(0x5A);
    cr_assert_eq(irq12, 1);
    EXPECT_AUX(0x5A);
    cmd(0xD2);
    out(0x1E);
    cr_assert_eq(irq1, 1);
    EXPECT_KBD(0x1E);
}

Test(i8042, a20_through_output_port)
{
    cmd(0xD0);
    uint8_t p = data();
    cr_assert_eq(p & 0x03, 0x03, "reset released, A20 on");
    cr_assert_eq(p & 0x30, 0x00, "output buffer empty");
    cmd(0xD1);
    out(0xDD);
    cr_assert_eq(a20_calls, 1);
    cr_assert_eq(a20_on, 0);
    cr_assert_eq(resets, 0);
    cr_assert_not(i8042_a20(kbc));
    cmd(0xD0);
    cr_assert_eq(data() & 0x03, 0x01);
    cmd(0xD1);
    out(0xDF);
    cr_assert_eq(a20_calls, 2);
    cr_assert_eq(a20_on, 1);
    cr_assert(i8042_a20(kbc));
    cmd(0xFF);                  /* Linux's null command after A20 */
    cr_assert_eq(resets, 0);
    expect_empty();
}

Test(i8042, output_port_shows_buffer_full)
{
    set_ctr(0x00);
    i8042_key(kbc, 0x1C, true);
    cmd(0xD0);
    /* The key byte is still in the buffer, so the reply waits; it was
     * taken while the buffer held keyboard data (bit 4). */
    EXPECT_KBD(0x1C);
    EXPECT_KBD(0xDF);
}

Test(i8042, reset_pulse)
{
    cmd(0xFE);
    cr_assert_eq(resets, 1);
    cmd(0xF0);
    cr_assert_eq(resets, 2);
    cmd(0xFD);                  /* pulses A20 only */
    cr_assert_eq(resets, 2);
    cmd(0xD1);
    out(0x02);
    cr_assert_eq(resets, 3);
    cr_assert_eq(a20_on, 1);
}

Test(i8042, reset_restores_power_on_state)
{
    set_ctr(0x03);
    i8042_key(kbc, 0x1C, true);
    cr_assert_eq(irq1, 1);
    i8042_reset(kbc);
    cr_assert_eq(irq1, 0);
    cr_assert_eq(status(), INH);
    cmd(0x20);
    EXPECT_KBD(0x41);
}

Test(i8042, keyboard_overrun)
{
    set_ctr(0x00);
    for (int i = 0; i < I8042_QUEUE_SIZE + 3; i++) {
        i8042_key(kbc, 0x1C, true);
    }
    /* One byte in the output buffer, the FIFO full but its last slot,
     * which takes the overrun code; the later keys are lost. */
    for (int i = 0; i < I8042_QUEUE_SIZE; i++) {
        cr_assert_eq(data(), 0x1C, "byte %d", i);
    }
    EXPECT_KBD(0x00);
    expect_empty();
}
