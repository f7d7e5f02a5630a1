/*
 * ns16550.h - the National Semiconductor 16550A UART as a PC COM port:
 * eight registers at iobase (0x3f8, 0x2f8, 0x3e8, 0x2e8), one IRQ out
 * (gated by MCR.OUT2 as on the PC), bytes out to a character backend and
 * bytes in through ns16550_receive(), which the board calls.
 */
#ifndef KASOU_NS16550_H
#define KASOU_NS16550_H

#include <stdbool.h>
#include <stdint.h>

#include "hw/irq.h"
#include "hw/timer.h"

struct bus;
struct chardev;

#define NS16550_COM1 0x3f8
#define NS16550_COM2 0x2f8
#define NS16550_COM3 0x3e8
#define NS16550_COM4 0x2e8
#define NS16550_FIFO_SIZE 16
#define NS16550_XTAL_HZ 1843200     /* the PC's baud-rate crystal */

/* Register offsets (DLAB = LCR bit 7 turns 0/1 into DLL/DLM). */
enum {
    NS16550_RBR = 0, NS16550_THR = 0, NS16550_DLL = 0,
    NS16550_IER = 1, NS16550_DLM = 1,
    NS16550_IIR = 2, NS16550_FCR = 2,
    NS16550_LCR = 3, NS16550_MCR = 4, NS16550_LSR = 5, NS16550_MSR = 6,
    NS16550_SCR = 7,
};

/* Modem status input lines, in their MSR bit places. */
enum {
    NS16550_MSR_CTS = 0x10, NS16550_MSR_DSR = 0x20, NS16550_MSR_RI = 0x40,
    NS16550_MSR_DCD = 0x80,
};

/* A 16-byte ring; brk[] marks bytes received as a break (BI). */
struct ns16550_fifo {
    uint8_t data[NS16550_FIFO_SIZE];
    uint8_t brk[NS16550_FIFO_SIZE];
    int head, count;
};

struct ns16550 {
    struct clock *clk;
    struct chardev *chr;        /* may be NULL: output is discarded */
    struct irq irq;
    struct timer timer;         /* next shift-out end or RX timeout */
    uint8_t ier, lcr, mcr, scr, dll, dlm;
    bool fifo_on;               /* FCR bit 0 */
    uint8_t trigger;            /* RX trigger level: 1, 4, 8 or 14 */
    uint8_t lsr_err;            /* latched OE and BI until LSR is read */
    uint8_t msr_delta;          /* MSR bits 3:0 */
    uint8_t msr_lines;          /* current inputs, MSR bits 7:4 */
    uint8_t line_inputs;        /* what the far end drives outside loopback */
    struct ns16550_fifo rx, tx; /* tx holds the THR in 16450 mode */
    bool tsr_busy;              /* a byte is being shifted out */
    uint8_t tsr;
    uint64_t tsr_end;           /* virtual ns when its stop bits end */
    uint64_t rx_last;           /* last RX FIFO push or pop (for timeout) */
    bool thre_pending;          /* THRE interrupt not yet acknowledged */
    bool timeout_pending;       /* character timeout interrupt */
    bool irq_level;
    bool line_paced;            /* transmit at the baud rate (else at once) */
};

/*
 * Create a UART at `iobase` (8 ports) driving `irq`.  Returns NULL when
 * the ports cannot be registered or memory runs out.  `chr` may be NULL.
 */
struct ns16550 *ns16550_new(struct bus *bus, uint16_t iobase, struct irq irq,
                            struct clock *clk, struct chardev *chr);
/* Send any bytes still in the transmitter to the backend, then release.
 * Leaves the bus alone (free the bus after, or do not use it again). */
/*
 * Pace transmission at the programmed baud rate (off by default: a byte
 * then leaves as soon as it is written, as in other emulators, so a
 * 9600-baud console does not slow a guest down to 1 KB/s).
 */
void ns16550_set_paced(struct ns16550 *u, bool paced);
void ns16550_free(struct ns16550 *uart);

/* Push buffered output to the host (stdio flushes only at newlines). */
void ns16550_flush(struct ns16550 *uart);

/* Can the receiver take a byte from the line now? */
bool ns16550_can_receive(struct ns16550 *uart);
/* Bytes the receiver would accept now (0 in loopback or when full). */
int ns16550_receive_room(struct ns16550 *uart);
/* Deliver bytes from the far end; returns how many were accepted (never
 * more than ns16550_receive_room()), the caller keeps the rest. */
int ns16550_receive(struct ns16550 *uart, const uint8_t *buf, int len);
/* Read what the backend has for the receiver without blocking and feed
 * it in; returns the number of bytes delivered.  For the main loop. */
int ns16550_poll_input(struct ns16550 *uart);

/* Set the modem status inputs the far end drives (NS16550_MSR_* bits);
 * the default is CTS, DSR and DCD asserted, RI not. */
void ns16550_set_modem_inputs(struct ns16550 *uart, uint8_t lines);
/* Virtual ns one character takes at the current divisor and LCR. */
uint64_t ns16550_char_ns(const struct ns16550 *uart);

#endif
