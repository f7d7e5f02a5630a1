/*
 * 16550A UART at COM1 on a deterministic virtual clock.  Expected values
 * come from the NS PC16550D datasheet: reset state, IIR codes and
 * priorities, LSR bits, loopback wiring (CTS=RTS, DSR=DTR, RI=OUT1,
 * DCD=OUT2) and a character time of (start + data + parity + stop bits) *
 * 16 * divisor / 1.8432 MHz.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "hw/bus.h"
#include "hw/ns16550.h"
#include "hw/timer.h"
#include "ui/chardev.h"
#include "tests/unit/clock.h"

enum { RBR, IER, IIR, LCR, MCR, LSR, MSR, SCR };
#define FCR IIR
#define THR RBR
#define BASE NS16550_COM1

/* 8N1 at divisor 12 (9600 baud): 10 bits * 192 / 1843200 s, rounded up. */
#define CHAR_9600 1041667u
/* 8N1 at divisor 1 (115200 baud). */
#define CHAR_115200 86806u

static struct bus *bus;
static struct ns16550 *uart;
static struct chardev *chr;
static struct clock clk;
static uint64_t now;            /* virtual ns: the clock's icount */
static int irq4;
static char path[64];

static void record_irq4(void *opaque, int n, int level)
{
    irq4 = level;
}

static void setup(void)
{
    char err[128];
    now = 0;
    clock_init(&clk, CLOCK_DETERMINISTIC, &now);
    clk.ns_per_insn_q8 = 256;   /* one "instruction" = 1 ns */
    irq4 = 0;
    snprintf(path, sizeof(path), "/tmp/kasou-uart-XXXXXX");
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    chr = chardev_open(CHARDEV_FILE, "com1", path, false, err, sizeof(err));
    cr_assert_not_null(chr, "%s", err);
    bus = bus_new(4096);
    uart = ns16550_new(bus, BASE, (struct irq){ record_irq4, NULL, 4 }, &clk, chr);
    cr_assert_not_null(uart);
    ns16550_set_paced(uart, true);   /* the timing tests need the line rate */
}

static void teardown(void)
{
    ns16550_free(uart);
    chardev_close(chr);
    bus_free(bus);
    unlink(path);
}

/* Run the clock to `target`, firing each timer at its own deadline. */
static void advance_to(uint64_t target)
{
    test_clock_advance(&clk, &now, target);
}

static void out(int reg, uint8_t v)
{
    bus_out(bus, (uint16_t)(BASE + reg), v, 1);
}

static uint8_t in(int reg)
{
    return (uint8_t)bus_in(bus, (uint16_t)(BASE + reg), 1);
}

/* What has reached the backend so far (NUL-terminated). */
static const char *captured(void)
{
    static char buf[256];
    chardev_flush(chr);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

static void set_divisor(uint16_t div, uint8_t lcr)
{
    out(LCR, 0x80);
    out(RBR, (uint8_t)div);
    out(IER, (uint8_t)(div >> 8));
    out(LCR, lcr);
}

static void feed(const char *s)
{
    int len = (int)strlen(s);
    cr_assert_eq(ns16550_receive(uart, (const uint8_t *)s, len), len);
}

TestSuite(uart, .init = setup, .fini = teardown);

Test(uart, reset_values)
{
    cr_assert_eq(in(IER), 0x00);
    cr_assert_eq(in(IIR), 0x01, "no interrupt pending, FIFOs off");
    cr_assert_eq(in(LCR), 0x00);
    cr_assert_eq(in(MCR), 0x00);
    cr_assert_eq(in(LSR), 0x60, "THRE and TEMT");
    cr_assert_eq(in(MSR), 0xB0, "far end drives CTS, DSR, DCD");
    out(SCR, 0x5A);
    cr_assert_eq(in(SCR), 0x5A);
    cr_assert_eq(irq4, 0);
}

Test(uart, divisor_latch)
{
    out(IER, 0x0F);
    set_divisor(0x1234, 0x83);
    out(LCR, 0x83);
    cr_assert_eq(in(RBR), 0x34, "DLL");
    cr_assert_eq(in(IER), 0x12, "DLM");
    out(LCR, 0x03);
    cr_assert_eq(in(IER), 0x0F, "IER comes back with DLAB clear");
    cr_assert_eq(in(LCR), 0x03);
    out(IER, 0xFF);
    cr_assert_eq(in(IER), 0x0F, "IER bits 7:4 read 0");
    out(MCR, 0xFF);
    cr_assert_eq(in(MCR), 0x1F, "MCR bits 7:5 read 0");
    cr_assert_str_eq(captured(), "", "DLL writes are not data");
}

Test(uart, fifo_enable_shows_in_iir)
{
    out(FCR, 0x01);
    cr_assert_eq(in(IIR), 0xC1);
    out(FCR, 0xC7);
    cr_assert_eq(in(IIR), 0xC1);
    out(FCR, 0x00);
    cr_assert_eq(in(IIR), 0x01);
}

Test(uart, transmit_reaches_backend_after_char_time)
{
    set_divisor(12, 0x03);
    out(THR, 'h');
    cr_assert_eq(in(LSR), 0x20, "THR moved to the shifter: THRE, not TEMT");
    advance_to(CHAR_9600 - 1);
    cr_assert_eq(in(LSR), 0x20);
    cr_assert_str_eq(captured(), "");
    advance_to(CHAR_9600);
    cr_assert_eq(in(LSR), 0x60);
    cr_assert_str_eq(captured(), "h");
}

Test(uart, unpaced_line_sends_at_once)
{
    ns16550_set_paced(uart, false);
    set_divisor(12, 0x03);
    out(THR, 'h');
    out(THR, 'i');
    cr_assert_eq(in(LSR), 0x60, "no time passed, yet the transmitter is empty");
    cr_assert_str_eq(captured(), "hi");
}

Test(uart, thr_full_until_shifter_frees)
{
    set_divisor(1, 0x03);
    out(THR, 'a');
    out(THR, 'b');
    cr_assert_eq(in(LSR) & 0x60, 0x00, "second byte waits in the THR");
    advance_to(CHAR_115200);
    cr_assert_eq(in(LSR) & 0x60, 0x20, "b moved to the shifter");
    cr_assert_str_eq(captured(), "a");
    advance_to(2 * CHAR_115200 - 1);
    cr_assert_eq(in(LSR) & 0x60, 0x20);
    advance_to(2 * CHAR_115200);
    cr_assert_eq(in(LSR) & 0x60, 0x60);
    cr_assert_str_eq(captured(), "ab");
}

Test(uart, char_time_follows_lcr)
{
    set_divisor(12, 0x03);
    cr_assert_eq(ns16550_char_ns(uart), CHAR_9600);
    out(LCR, 0x1A);             /* 7 data, even parity, 1 stop: 10 bits */
    cr_assert_eq(ns16550_char_ns(uart), CHAR_9600);
    out(LCR, 0x0F);             /* 8 data, parity, 2 stop: 12 bits */
    cr_assert_eq(ns16550_char_ns(uart), 1250000);
    out(LCR, 0x04);             /* 5 data, 1.5 stop: 7.5 bits */
    cr_assert_eq(ns16550_char_ns(uart), 781250);
    set_divisor(3, 0x07);       /* 38400 baud, 8N2: 11 bits */
    out(THR, 'x');
    advance_to(286458);
    cr_assert_eq(in(LSR) & 0x40, 0x00);
    advance_to(286459);         /* 11 * 48 / 1843200 s, rounded up */
    cr_assert_eq(in(LSR) & 0x40, 0x40);
}

Test(uart, burst_never_loses_bytes)
{
    static const char msg[] = "The quick brown fox jumps over the lazy dog";
    set_divisor(12, 0x03);
    out(FCR, 0x07);
    for (const char *p = msg; *p; p++) {
        out(THR, (uint8_t)*p);  /* no polling: overflows the FIFO */
    }
    cr_assert_eq(in(LSR) & 0x60, 0x00, "FIFO still full");
    advance_to(17 * (uint64_t)CHAR_9600);
    cr_assert_eq(in(LSR) & 0x60, 0x60);
    cr_assert_str_eq(captured(), msg);
}

Test(uart, free_sends_pending_bytes)
{
    set_divisor(12, 0x03);
    out(FCR, 0x01);
    out(THR, 'o');
    out(THR, 'k');
    ns16550_free(uart);
    uart = NULL;
    cr_assert_str_eq(captured(), "ok");
}

Test(uart, thre_interrupt_gated_by_out2)
{
    set_divisor(1, 0x03);
    out(IER, 0x02);
    cr_assert_eq(irq4, 0, "OUT2 clear: the line stays low");
    out(MCR, 0x08);
    cr_assert_eq(irq4, 1, "enabling ETBEI with THR empty interrupts");
    out(MCR, 0x00);
    cr_assert_eq(irq4, 0);
    out(MCR, 0x08);
    cr_assert_eq(irq4, 1);
    cr_assert_eq(in(IIR), 0x02);
    cr_assert_eq(irq4, 0, "reading IIR acknowledges THRE");
    cr_assert_eq(in(IIR), 0x01);

    out(THR, '1');              /* straight to the shifter: THR empty */
    cr_assert_eq(irq4, 1);
    out(THR, '2');              /* waits in the THR */
    cr_assert_eq(irq4, 0, "writing THR clears THRE");
    advance_to(CHAR_115200 - 1);
    cr_assert_eq(irq4, 0);
    advance_to(CHAR_115200);
    cr_assert_eq(irq4, 1, "THR empties when '2' moves on");
    out(IER, 0x00);
    cr_assert_eq(irq4, 0);
    cr_assert_eq(in(IIR), 0x01);
}

Test(uart, rx_data_available_at_trigger_level)
{
    out(FCR, 0x41);             /* FIFO on, trigger 4 */
    out(IER, 0x01);
    out(MCR, 0x08);
    feed("abc");
    cr_assert_eq(in(IIR), 0xC1, "3 bytes: below the trigger");
    cr_assert_eq(irq4, 0);
    cr_assert_eq(in(LSR) & 0x01, 0x01, "DR");
    feed("d");
    cr_assert_eq(irq4, 1);
    cr_assert_eq(in(IIR), 0xC4);
    cr_assert_eq(in(RBR), 'a');
    cr_assert_eq(irq4, 0, "back below the trigger");
    cr_assert_eq(in(RBR), 'b');
    cr_assert_eq(in(RBR), 'c');
    cr_assert_eq(in(RBR), 'd');
    cr_assert_eq(in(LSR) & 0x01, 0x00);
}

Test(uart, trigger_level_14)
{
    out(FCR, 0xC1);
    out(IER, 0x01);
    out(MCR, 0x08);
    feed("0123456789abc");
    cr_assert_eq(irq4, 0);
    feed("d");
    cr_assert_eq(irq4, 1);
    cr_assert_eq(ns16550_receive_room(uart), 2);
}

Test(uart, non_fifo_mode_interrupts_per_byte)
{
    out(IER, 0x01);
    out(MCR, 0x08);
    cr_assert_eq(ns16550_receive(uart, (const uint8_t *)"xy", 2), 1,
                 "16450 mode holds one byte");
    cr_assert_eq(irq4, 1);
    cr_assert_eq(in(IIR), 0x04);
    cr_assert_eq(in(RBR), 'x');
    cr_assert_eq(irq4, 0);
    cr_assert(ns16550_can_receive(uart));
}

Test(uart, character_timeout)
{
    set_divisor(12, 0x03);
    out(FCR, 0x81);             /* trigger 8 */
    out(IER, 0x01);
    out(MCR, 0x08);
    feed("hi");
    advance_to(4 * (uint64_t)CHAR_9600 - 1);
    cr_assert_eq(irq4, 0);
    advance_to(4 * (uint64_t)CHAR_9600);
    cr_assert_eq(irq4, 1, "four character times without activity");
    cr_assert_eq(in(IIR), 0xCC);
    cr_assert_eq(in(RBR), 'h');
    cr_assert_eq(irq4, 0, "a read clears the timeout and restarts it");
    uint64_t t = now;
    advance_to(t + 4 * (uint64_t)CHAR_9600 - 1);
    cr_assert_eq(in(IIR), 0xC1);
    advance_to(t + 4 * (uint64_t)CHAR_9600);
    cr_assert_eq(in(IIR), 0xCC);
    cr_assert_eq(in(RBR), 'i');
    advance_to(t + 20 * (uint64_t)CHAR_9600);
    cr_assert_eq(in(IIR), 0xC1, "no timeout with the FIFO empty");
    cr_assert_eq(irq4, 0);
}

Test(uart, no_timeout_in_16450_mode)
{
    out(IER, 0x01);
    out(MCR, 0x08);
    feed("z");
    advance_to(100 * (uint64_t)CHAR_9600);
    cr_assert_eq(in(IIR), 0x04);
}

Test(uart, loopback_echo)
{
    set_divisor(1, 0x03);
    out(FCR, 0x01);
    out(MCR, 0x10);
    cr_assert_eq(ns16550_receive_room(uart), 0, "line input disconnected");
    out(THR, 'Q');
    advance_to(CHAR_115200 - 1);
    cr_assert_eq(in(LSR) & 0x01, 0x00);
    advance_to(CHAR_115200);
    cr_assert_eq(in(LSR), 0x61);
    cr_assert_eq(in(RBR), 'Q');
    cr_assert_eq(in(RBR), 'Q', "an empty RBR reads the last byte again");
    cr_assert_eq(in(LSR), 0x60);
    cr_assert_str_eq(captured(), "", "nothing goes to the line");
    out(LCR, 0x02);             /* 7-bit words */
    out(THR, 0xC1);
    advance_to(now + ns16550_char_ns(uart));
    cr_assert_eq(in(RBR), 0x41, "only 7 bits travel");
}

Test(uart, loopback_modem_lines)
{
    cr_assert_eq(in(MSR), 0xB0);
    out(MCR, 0x10);
    cr_assert_eq(in(MSR), 0x0B, "CTS, DSR, DCD dropped: deltas");
    cr_assert_eq(in(MSR), 0x00, "reading clears the deltas");
    out(MCR, 0x1A);
    cr_assert_eq(in(MSR), 0x99, "RTS->CTS, OUT2->DCD (Linux's probe)");
    out(MCR, 0x1F);
    cr_assert_eq(in(MSR), 0xF2, "DTR->DSR; RI rising sets no TERI");
    out(MCR, 0x1B);
    cr_assert_eq(in(MSR), 0xB4, "RI falling: TERI");
    out(MCR, 0x00);
    cr_assert_eq(in(MSR), 0xB0, "far end lines back, unchanged from 0xB0");
}

Test(uart, loopback_masks_irq)
{
    out(IER, 0x02);
    out(MCR, 0x18);
    cr_assert_eq(irq4, 0, "loopback forces the OUT2 pin inactive");
    cr_assert_eq(in(IIR), 0x02, "but the source is still pending");
}

Test(uart, modem_status_interrupt)
{
    out(IER, 0x08);
    out(MCR, 0x08);
    cr_assert_eq(irq4, 0);
    ns16550_set_modem_inputs(uart, NS16550_MSR_CTS | NS16550_MSR_DSR);
    cr_assert_eq(irq4, 1);
    cr_assert_eq(in(IIR), 0x00);
    cr_assert_eq(in(MSR), 0x38, "DCD dropped: DDCD");
    cr_assert_eq(irq4, 0);
    cr_assert_eq(in(IIR), 0x01);
}

Test(uart, overrun_when_rx_fifo_full)
{
    set_divisor(1, 0x03);
    out(FCR, 0x01);
    out(MCR, 0x10);
    out(IER, 0x04);             /* line status interrupts */
    for (int i = 0; i < 16; i++) {
        out(THR, (uint8_t)('A' + i));
        advance_to(now + CHAR_115200);
    }
    cr_assert_eq(in(LSR), 0x61, "full, no error yet");
    cr_assert_eq(in(IIR), 0xC1);
    out(THR, '!');
    advance_to(now + CHAR_115200);
    cr_assert_eq(in(IIR), 0xC6);
    cr_assert_eq(in(LSR), 0x63, "OE");
    cr_assert_eq(in(LSR), 0x61, "reading LSR clears OE");
    cr_assert_eq(in(IIR), 0xC1);
    for (int i = 0; i < 16; i++) {
        cr_assert_eq(in(RBR), 'A' + i, "the FIFO keeps the first 16");
    }
    cr_assert_eq(in(LSR), 0x60);
}

Test(uart, overrun_in_16450_mode_overwrites)
{
    set_divisor(1, 0x03);
    out(MCR, 0x10);
    out(THR, '1');
    out(THR, '2');
    advance_to(2 * CHAR_115200);
    cr_assert_eq(in(LSR), 0x63);
    cr_assert_eq(in(RBR), '2');
}

Test(uart, break_in_loopback)
{
    out(FCR, 0x01);
    out(MCR, 0x10);
    out(IER, 0x05);
    out(LCR, 0x43);
    cr_assert_eq(in(IIR), 0xC6, "line status first");
    cr_assert_eq(in(LSR), 0xF1, "DR, BI, FIFO error");
    cr_assert_eq(in(LSR), 0xE1, "BI read once; the FIFO error stays");
    cr_assert_eq(in(IIR), 0xC4);
    cr_assert_eq(in(RBR), 0x00, "a break reads as a zero byte");
    cr_assert_eq(in(LSR), 0x60);
}

Test(uart, interrupt_priority)
{
    out(FCR, 0x01);
    out(IER, 0x0F);
    out(MCR, 0x08);
    ns16550_set_modem_inputs(uart, 0);
    feed("x");
    cr_assert_eq(in(IIR), 0xC4, "RX data above THRE and modem status");
    cr_assert_eq(in(RBR), 'x');
    cr_assert_eq(in(IIR), 0xC2);
    cr_assert_eq(in(IIR), 0xC0, "THRE acknowledged: modem status");
    in(MSR);
    cr_assert_eq(in(IIR), 0xC1);
    cr_assert_eq(irq4, 0);
}

Test(uart, fifo_resets)
{
    set_divisor(12, 0x03);
    out(FCR, 0x01);
    feed("abc");
    out(THR, '1');
    out(THR, '2');
    out(THR, '3');
    out(FCR, 0x07);
    cr_assert_eq(in(LSR), 0x20, "both FIFOs empty, '1' still shifting");
    advance_to(CHAR_9600);
    cr_assert_str_eq(captured(), "1");
    cr_assert_eq(in(LSR), 0x60);
}

Test(uart, poll_input_from_backend)
{
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    chr->has_in = true;
    chr->in_fd = fds[0];
    cr_assert_eq(write(fds[1], "0123456789ABCDEFGHIJ", 20), 20);
    cr_assert_eq(ns16550_poll_input(uart), 1, "16450 mode: one byte");
    cr_assert_eq(in(RBR), '0');
    out(FCR, 0x01);
    cr_assert_eq(ns16550_poll_input(uart), 16);
    cr_assert_eq(ns16550_poll_input(uart), 0, "FIFO full: input waits");
    cr_assert_eq(in(RBR), '1');
    cr_assert_eq(ns16550_poll_input(uart), 1);
    for (const char *p = "23456789ABCDEFGH"; *p; p++) {
        cr_assert_eq(in(RBR), *p);
    }
    cr_assert_eq(ns16550_poll_input(uart), 2);
    cr_assert_eq(in(RBR), 'I');
    close(fds[1]);
    cr_assert_eq(ns16550_poll_input(uart), 0);
    cr_assert(chr->in_eof, "end of input seen");
    close(fds[0]);
    chr->has_in = false;
}

Test(uart, null_and_file_backends_have_no_input)
{
    uint8_t b[4];
    cr_assert_eq(chardev_read(chr, b, sizeof(b)), 0);
    cr_assert_eq(ns16550_poll_input(uart), 0);
}
