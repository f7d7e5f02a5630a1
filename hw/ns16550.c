/*
 * ns16550.c - National Semiconductor 16550A UART, as a PC COM port.
 *
 *   off  DLAB=0 read / write        DLAB=1
 *   0    RBR (pop RX) / THR (push TX)   DLL
 *   1    IER: 0 ERBFI 1 ETBEI 2 ELSI 3 EDSSI   DLM
 *   2    IIR (read) / FCR (write)
 *   3    LCR: 1:0 word length - 5, 2 stop bits, 3 parity, 6 break, 7 DLAB
 *   4    MCR: 0 DTR 1 RTS 2 OUT1 3 OUT2 4 LOOP
 *   5    LSR: 0 DR 1 OE 2 PE 3 FE 4 BI 5 THRE 6 TEMT 7 RX FIFO error
 *   6    MSR: 3:0 DCTS DDSR TERI DDCD, 7:4 CTS DSR RI DCD
 *   7    SCR
 *
 * FIFOs: with FCR bit 0 clear (16450 mode) both FIFOs are one byte deep
 * (the RBR and THR); set, they are 16 deep and RX interrupts come at the
 * trigger level, or as a character timeout when bytes have sat in the RX
 * FIFO for four character times with no push or pop.
 *
 * Transmit timing: a byte moves from the THR/TX FIFO to the shift register
 * at once when the transmitter is idle.  Paced (ns16550_set_paced), it
 * then takes (1 + data + parity + stop) bits * divisor * 16 / 1.8432 MHz
 * of virtual time, and only when its stop bits end does it reach the
 * backend (or, in loopback, the RX FIFO), so LSR.THRE and TEMT read as on
 * the chip for a guest that polls them.  Unpaced (the default) the line
 * is infinitely fast: consoles at 9600 baud cost the guest nothing, and
 * firmware that yields while it waits for TEMT (SeaBIOS's serial console
 * re-enters its output path from the timer interrupt then) never waits.
 * A guest that writes into a full TX FIFO would lose a byte on the chip;
 * here the byte in the shift register is finished early instead, so no
 * output is ever lost.  Due events are also processed on every register
 * access, so their timing never depends on how often the main loop runs
 * the clock.
 *
 * The IRQ pin reaches the PC's interrupt controller only through the
 * OUT2-enabled buffer: it is asserted while an enabled interrupt is
 * pending, MCR.OUT2 is set and loopback is off (loopback forces the OUT2
 * pin inactive, as the datasheet says).
 *
 * Input from the far end is accepted only as far as the RX FIFO has room
 * (ns16550_receive), so the board never drops host input; the loopback
 * path can overrun (LSR.OE) as a real line can.  Parity and framing errors
 * never happen; a break request (LCR bit 6) in loopback receives a zero
 * byte flagged BI.  Not modelled: DMA mode signals (FCR bit 3), the RXRDY
 * and TXRDY pins, word-length masking of bytes from the host.
 */
#include "ns16550.h"

#include <stdlib.h>
#include <string.h>

#include "hw/bus.h"
#include "ui/chardev.h"
#include "util/log.h"

enum {
    IER_RDA = 0x01, IER_THRE = 0x02, IER_LSR = 0x04, IER_MSR = 0x08,
    IIR_NONE = 0x01, IIR_MSR = 0x00, IIR_THRE = 0x02, IIR_RDA = 0x04,
    IIR_LSR = 0x06, IIR_TIMEOUT = 0x0C, IIR_FIFO = 0xC0,
    FCR_ENABLE = 0x01, FCR_RX_RESET = 0x02, FCR_TX_RESET = 0x04,
    LCR_STOP2 = 0x04, LCR_PARITY = 0x08, LCR_BREAK = 0x40, LCR_DLAB = 0x80,
    MCR_DTR = 0x01, MCR_RTS = 0x02, MCR_OUT1 = 0x04, MCR_OUT2 = 0x08,
    MCR_LOOP = 0x10,
    LSR_DR = 0x01, LSR_OE = 0x02, LSR_BI = 0x10, LSR_THRE = 0x20,
    LSR_TEMT = 0x40, LSR_FIFO_ERR = 0x80,
    MSR_DCTS = 0x01, MSR_DDSR = 0x02, MSR_TERI = 0x04, MSR_DDCD = 0x08,
};

static const uint8_t trigger_levels[4] = { 1, 4, 8, 14 };

/* ---- FIFOs ---- */

static int fifo_depth(const struct ns16550 *u)
{
    return u->fifo_on ? NS16550_FIFO_SIZE : 1;
}

static void fifo_push(struct ns16550_fifo *f, uint8_t byte, bool brk)
{
    int tail = (f->head + f->count) % NS16550_FIFO_SIZE;
    f->data[tail] = byte;
    f->brk[tail] = brk;
    f->count++;
}

static uint8_t fifo_pop(struct ns16550_fifo *f)
{
    uint8_t byte = f->data[f->head];
    f->head = (f->head + 1) % NS16550_FIFO_SIZE;
    f->count--;
    return byte;
}

static void fifo_clear(struct ns16550_fifo *f)
{
    memset(f, 0, sizeof(*f));
}

/* Is any byte waiting in the RX FIFO flagged as a break? */
static bool rx_has_error(const struct ns16550 *u)
{
    for (int i = 0; i < u->rx.count; i++) {
        if (u->rx.brk[(u->rx.head + i) % NS16550_FIFO_SIZE]) {
            return true;
        }
    }
    return false;
}

/* ---- timing ---- */

uint64_t ns16550_char_ns(const struct ns16550 *u)
{
    uint64_t divisor = (uint64_t)u->dlm << 8 | u->dll;
    if (divisor == 0) {
        divisor = 65536;        /* the baud counter wraps */
    }
    /* In half bits: start, data, parity, then 1, 1.5 (5-bit words) or 2
     * stop bits. */
    int data = 5 + (u->lcr & 3);
    uint64_t half_bits = 2u * (uint64_t)(1 + data + !!(u->lcr & LCR_PARITY));
    if (!(u->lcr & LCR_STOP2)) {
        half_bits += 2;
    } else {
        half_bits += data == 5 ? 3 : 4;
    }
    uint64_t scale = 2ull * NS16550_XTAL_HZ;
    return (half_bits * divisor * 16 * NS_PER_SEC + scale - 1) / scale;
}

/* ---- interrupts ---- */

static bool rx_data_ready(const struct ns16550 *u)
{
    return u->rx.count >= (u->fifo_on ? u->trigger : 1);
}

/* The IIR low nibble: the highest-priority enabled pending source. */
static uint8_t iir_source(const struct ns16550 *u)
{
    if ((u->ier & IER_LSR) && (u->lsr_err & (LSR_OE | LSR_BI))) {
        return IIR_LSR;
    }
    if ((u->ier & IER_RDA) && rx_data_ready(u)) {
        return IIR_RDA;
    }
    if ((u->ier & IER_RDA) && u->timeout_pending) {
        return IIR_TIMEOUT;
    }
    if ((u->ier & IER_THRE) && u->thre_pending) {
        return IIR_THRE;
    }
    if ((u->ier & IER_MSR) && (u->msr_delta & 0x0F)) {
        return IIR_MSR;
    }
    return IIR_NONE;
}

static void update_irq(struct ns16550 *u)
{
    bool gate = (u->mcr & (MCR_OUT2 | MCR_LOOP)) == MCR_OUT2;
    bool level = gate && iir_source(u) != IIR_NONE;
    if (level != u->irq_level) {
        u->irq_level = level;
        irq_set(&u->irq, level);
    }
}

/* ---- receiver ---- */

/* A character arrives at the receiver from the line or the loopback. */
static void rx_char(struct ns16550 *u, uint8_t byte, bool brk, uint64_t now)
{
    if (u->rx.count >= fifo_depth(u)) {
        u->lsr_err |= LSR_OE;
        if (!u->fifo_on) {
            /* 16450 mode: the new character overwrites the RBR. */
            u->rx.data[u->rx.head] = byte;
            u->rx.brk[u->rx.head] = brk;
        }
        /* FIFO mode: it overwrites the shift register and is lost. */
    } else {
        fifo_push(&u->rx, byte, brk);
    }
    if (brk && u->rx.count == 1) {
        u->lsr_err |= LSR_BI;   /* the break byte is at the top */
    }
    u->rx_last = now;
}

static uint8_t read_rbr(struct ns16550 *u, uint64_t now)
{
    if (u->rx.count == 0) {
        /* The last byte again, as the chip does (zero after a reset). */
        return u->rx.data[(u->rx.head + NS16550_FIFO_SIZE - 1) % NS16550_FIFO_SIZE];
    }
    uint8_t byte = fifo_pop(&u->rx);
    u->timeout_pending = false;
    u->rx_last = now;
    if (u->rx.count && u->rx.brk[u->rx.head]) {
        u->lsr_err |= LSR_BI;
    }
    return byte;
}

/* ---- transmitter ---- */

/* Move the next byte from the THR/TX FIFO into the shift register. */
static void tx_load(struct ns16550 *u, uint64_t start)
{
    u->tsr = fifo_pop(&u->tx);
    u->tsr_busy = true;
    u->tsr_end = start + (u->line_paced ? ns16550_char_ns(u) : 0);
    if (u->tx.count == 0) {
        u->thre_pending = true;     /* the THR has just emptied */
    }
}

/* The byte in the shift register has been sent: deliver it. */
static void tx_finish(struct ns16550 *u)
{
    u->tsr_busy = false;
    if (u->mcr & MCR_LOOP) {
        int data = 5 + (u->lcr & 3);
        rx_char(u, (uint8_t)(u->tsr & ((1u << data) - 1)), false, u->tsr_end);
    } else if (u->chr) {
        chardev_write(u->chr, &u->tsr, 1);
    }
    if (u->tx.count) {
        tx_load(u, u->tsr_end);     /* back to back, no gap */
    }
}

static void write_thr(struct ns16550 *u, uint8_t byte, uint64_t now)
{
    if (u->tx.count >= fifo_depth(u)) {
        /* Overflow: finish the byte on the line early rather than lose one. */
        u->tsr_end = now;
        tx_finish(u);
    }
    fifo_push(&u->tx, byte, false);
    u->thre_pending = false;
    if (!u->tsr_busy) {
        tx_load(u, now);
    }
}

/* ---- events on the virtual clock ---- */

/* Process everything due by `now`: finished bytes, the RX timeout. */
static void uart_sync(struct ns16550 *u, uint64_t now)
{
    while (u->tsr_busy && u->tsr_end <= now) {
        tx_finish(u);
    }
    if (u->fifo_on && u->rx.count && !u->timeout_pending &&
        now >= u->rx_last + 4 * ns16550_char_ns(u)) {
        u->timeout_pending = true;
    }
}

static void uart_schedule(struct ns16550 *u)
{
    uint64_t next = CLOCK_NEVER;
    if (u->tsr_busy) {
        next = u->tsr_end;
    }
    if (u->fifo_on && u->rx.count && !u->timeout_pending && (u->ier & IER_RDA)) {
        uint64_t t = u->rx_last + 4 * ns16550_char_ns(u);
        next = t < next ? t : next;
    }
    if (next == CLOCK_NEVER) {
        timer_del(&u->timer);
    } else {
        timer_mod(&u->timer, next);
    }
}

/* After any change: interrupt line and next event. */
static void uart_settle(struct ns16550 *u)
{
    update_irq(u);
    uart_schedule(u);
}

static void uart_timer(void *opaque)
{
    struct ns16550 *u = opaque;
    uart_sync(u, clock_ns(u->clk));
    uart_settle(u);
}

/* ---- modem lines ---- */

/* The MSR input nibble: the far end's lines, or our own MCR in loopback. */
static uint8_t modem_inputs(const struct ns16550 *u)
{
    if (!(u->mcr & MCR_LOOP)) {
        return u->line_inputs;
    }
    uint8_t m = u->mcr, v = 0;
    v |= (m & MCR_RTS) ? NS16550_MSR_CTS : 0;
    v |= (m & MCR_DTR) ? NS16550_MSR_DSR : 0;
    v |= (m & MCR_OUT1) ? NS16550_MSR_RI : 0;
    v |= (m & MCR_OUT2) ? NS16550_MSR_DCD : 0;
    return v;
}

/* Recompute the inputs and latch the delta bits for what changed. */
static void update_modem(struct ns16550 *u)
{
    uint8_t now = modem_inputs(u), changed = now ^ u->msr_lines;
    u->msr_delta |= (changed & NS16550_MSR_CTS) ? MSR_DCTS : 0;
    u->msr_delta |= (changed & NS16550_MSR_DSR) ? MSR_DDSR : 0;
    u->msr_delta |= (changed & NS16550_MSR_DCD) ? MSR_DDCD : 0;
    /* TERI: only the trailing edge of RI (on to off). */
    u->msr_delta |= (changed & u->msr_lines & NS16550_MSR_RI) ? MSR_TERI : 0;
    u->msr_lines = now;
}

/* ---- registers ---- */

static uint8_t read_lsr(struct ns16550 *u)
{
    uint8_t v = u->lsr_err;
    v |= u->rx.count ? LSR_DR : 0;
    v |= u->tx.count == 0 ? LSR_THRE : 0;
    v |= (u->tx.count == 0 && !u->tsr_busy) ? LSR_TEMT : 0;
    v |= (u->fifo_on && rx_has_error(u)) ? LSR_FIFO_ERR : 0;
    u->lsr_err = 0;
    return v;
}

static uint8_t read_iir(struct ns16550 *u)
{
    uint8_t src = iir_source(u);
    if (src == IIR_THRE) {
        u->thre_pending = false;    /* reading the IIR acknowledges THRE */
    }
    return (uint8_t)(src | (u->fifo_on ? IIR_FIFO : 0));
}

static uint32_t ns16550_read(void *opaque, uint32_t off, int size)
{
    struct ns16550 *u = opaque;
    uint64_t now = clock_ns(u->clk);
    uint8_t v = 0;
    uart_sync(u, now);
    switch (off) {
    case NS16550_RBR:
        v = (u->lcr & LCR_DLAB) ? u->dll : read_rbr(u, now);
        break;
    case NS16550_IER:
        v = (u->lcr & LCR_DLAB) ? u->dlm : u->ier;
        break;
    case NS16550_IIR:
        v = read_iir(u);
        break;
    case NS16550_LCR:
        v = u->lcr;
        break;
    case NS16550_MCR:
        v = u->mcr;
        break;
    case NS16550_LSR:
        v = read_lsr(u);
        break;
    case NS16550_MSR:
        v = (uint8_t)(u->msr_lines | u->msr_delta);
        u->msr_delta = 0;
        break;
    default:
        v = u->scr;
        break;
    }
    uart_settle(u);
    return v;
}

static void write_ier(struct ns16550 *u, uint8_t val)
{
    val &= 0x0F;
    /* Enabling ETBEI while the THR is empty interrupts at once, as the
     * chip does (drivers start transmission this way). */
    if ((val & IER_THRE) && !(u->ier & IER_THRE) && u->tx.count == 0) {
        u->thre_pending = true;
    } else if (!(val & IER_THRE)) {
        u->thre_pending = false;
    }
    u->ier = val;
}

/* Empty the TX FIFO (the shift register goes on); emptying is a THRE edge. */
static void tx_reset(struct ns16550 *u)
{
    if (u->tx.count) {
        fifo_clear(&u->tx);
        u->thre_pending = (u->ier & IER_THRE) != 0;
    }
}

static void rx_reset(struct ns16550 *u)
{
    fifo_clear(&u->rx);
    u->timeout_pending = false;
}

static void write_fcr(struct ns16550 *u, uint8_t val, uint64_t now)
{
    bool on = val & FCR_ENABLE;
    if (on != u->fifo_on) {
        /* Switching between 16450 and FIFO mode empties both FIFOs. */
        rx_reset(u);
        tx_reset(u);
        u->fifo_on = on;
    }
    if (!on) {
        return;     /* with bit 0 clear the other bits are not written */
    }
    if (val & FCR_RX_RESET) {
        rx_reset(u);
    }
    if (val & FCR_TX_RESET) {
        tx_reset(u);
    }
    if (val & 0x08) {
        log_once("ns16550: DMA mode (FCR bit 3) is not modelled");
    }
    u->trigger = trigger_levels[val >> 6];
    u->rx_last = now;
}

static void write_lcr(struct ns16550 *u, uint8_t val, uint64_t now)
{
    bool break_on = (val & LCR_BREAK) && !(u->lcr & LCR_BREAK);
    u->lcr = val;
    if (break_on && (u->mcr & MCR_LOOP)) {
        rx_char(u, 0, true, now);   /* the receiver sees the break */
    }
}

static void write_mcr(struct ns16550 *u, uint8_t val)
{
    u->mcr = val & 0x1F;
    update_modem(u);
}

static void ns16550_write(void *opaque, uint32_t off, uint32_t val, int size)
{
    struct ns16550 *u = opaque;
    uint64_t now = clock_ns(u->clk);
    uint8_t v = (uint8_t)val;
    uart_sync(u, now);
    switch (off) {
    case NS16550_THR:
        if (u->lcr & LCR_DLAB) {
            u->dll = v;
        } else {
            write_thr(u, v, now);
        }
        break;
    case NS16550_IER:
        if (u->lcr & LCR_DLAB) {
            u->dlm = v;
        } else {
            write_ier(u, v);
        }
        break;
    case NS16550_FCR:
        write_fcr(u, v, now);
        break;
    case NS16550_LCR:
        write_lcr(u, v, now);
        break;
    case NS16550_MCR:
        write_mcr(u, v);
        break;
    case NS16550_LSR:
    case NS16550_MSR:
        log_ch(LOG_GUEST, "ns16550: write %#x to read-only register %u", v, off);
        break;
    default:
        u->scr = v;
        break;
    }
    uart_settle(u);
}

static const struct io_ops ns16550_ops = {
    .read = ns16550_read,
    .write = ns16550_write,
    .sizes = 1,
};

/* ---- construction and the board's side ---- */

struct ns16550 *ns16550_new(struct bus *bus, uint16_t iobase, struct irq irq,
                            struct clock *clk, struct chardev *chr)
{
    struct ns16550 *u = calloc(1, sizeof(*u));
    if (!u) {
        return NULL;
    }
    u->clk = clk;
    u->chr = chr;
    u->irq = irq;
    timer_init(&u->timer, clk, uart_timer, u);
    u->dll = 12;                    /* 9600 baud until the guest says */
    u->trigger = 1;
    u->line_inputs = NS16550_MSR_CTS | NS16550_MSR_DSR | NS16550_MSR_DCD;
    u->msr_lines = u->line_inputs;
    u->rx_last = clock_ns(clk);
    if (bus && bus_map_ports(bus, iobase, 8, &ns16550_ops, u) < 0) {
        free(u);
        return NULL;
    }
    return u;
}

void ns16550_set_paced(struct ns16550 *u, bool paced)
{
    u->line_paced = paced;
}

void ns16550_free(struct ns16550 *u)
{
    if (!u) {
        return;
    }
    timer_del(&u->timer);
    /* Bytes the guest has handed over still reach the backend. */
    while (u->tsr_busy) {
        tx_finish(u);
    }
    ns16550_flush(u);
    free(u);
}

void ns16550_flush(struct ns16550 *u)
{
    if (u->chr) {
        chardev_flush(u->chr);
    }
}

int ns16550_receive_room(struct ns16550 *u)
{
    if (u->mcr & MCR_LOOP) {
        return 0;   /* the receiver is disconnected from the line */
    }
    uart_sync(u, clock_ns(u->clk));
    uart_settle(u);
    int room = fifo_depth(u) - u->rx.count;
    return room > 0 ? room : 0;
}

bool ns16550_can_receive(struct ns16550 *u)
{
    return ns16550_receive_room(u) > 0;
}

int ns16550_receive(struct ns16550 *u, const uint8_t *buf, int len)
{
    int n = ns16550_receive_room(u);
    n = len < n ? len : n;
    if (n <= 0) {
        return 0;
    }
    uint64_t now = clock_ns(u->clk);
    for (int i = 0; i < n; i++) {
        rx_char(u, buf[i], false, now);
    }
    uart_settle(u);
    return n;
}

int ns16550_poll_input(struct ns16550 *u)
{
    uint8_t buf[NS16550_FIFO_SIZE];
    int room = ns16550_receive_room(u);
    if (!u->chr || room == 0) {
        return 0;
    }
    size_t got = chardev_read(u->chr, buf, (size_t)room);
    return ns16550_receive(u, buf, (int)got);
}

void ns16550_set_modem_inputs(struct ns16550 *u, uint8_t lines)
{
    uart_sync(u, clock_ns(u->clk));
    u->line_inputs = lines & 0xF0;
    update_modem(u);
    uart_settle(u);
}
