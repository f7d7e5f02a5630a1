/*
 * i8042.c - the PC/AT keyboard controller with a PS/2 keyboard and mouse.
 *
 * The controller: port 0x64 reads the status register and takes commands,
 * port 0x60 reads the output buffer and takes data, which goes to the
 * keyboard unless a command (0x60, 0xD1-0xD4 ...) is waiting for it.
 *
 *   status   OBF IBF SYS A2 INH AUXB - -  (bit 0 up; INH = 1: not inhibited)
 *   command  KBDINT AUXINT SYS - KBDDIS AUXDIS XLATE -
 *   output   RESET# A20 - - KBD-OBF AUX-OBF KCLK KDATA
 *
 * Each device has a FIFO; the controller moves one byte into the output
 * buffer whenever it is empty: its own replies first, then the keyboard's
 * (unless its clock is disabled), then the mouse's.  IRQ1 is OBF from the
 * keyboard with KBDINT set, IRQ12 OBF from the mouse with AUXINT set;
 * reading port 0x60 drops the line, and the next byte, if any, raises it
 * again, giving the 8259 one edge per byte.
 *
 * With XLATE set the controller rewrites the keyboard's bytes from scan
 * code set 2 to set 1 on the way through (its ROM table, below): F0 is
 * swallowed and sets bit 7 of the byte after it.  That applies to replies
 * too, so ID AB 83 reads back as AB 41, as on hardware.
 *
 * Device commands are answered at once (no serial timing): a reply goes
 * into the device's reply FIFO, ahead of pending scan codes, so a driver
 * always finds its ACK next.  The mouse reports in stream mode by turning
 * accumulated motion into packets whenever its FIFO has room; the
 * IntelliMouse knock (sample rates 200, 100, 80) switches it to ID 3 with a
 * wheel byte, and 200, 200, 80 after that to ID 4 (wheel plus buttons 4/5).
 *
 * Not modelled: the serial delays (a byte reaches the buffer as soon as it
 * is free), the keyboard's own typematic repeat, scan code set 3, the
 * keyboard lock, passwords (0xA5 is swallowed), parity/timeout errors.
 */
#include "i8042.h"

#include <stdlib.h>
#include <string.h>

#include "hw/bus.h"
#include "util/log.h"

enum {
    ST_OBF = 0x01, ST_IBF = 0x02, ST_SYS = 0x04, ST_A2 = 0x08,
    ST_INH = 0x10, ST_AUXB = 0x20,
};

enum {
    CB_KBDINT = 0x01, CB_AUXINT = 0x02, CB_SYS = 0x04,
    CB_KBDDIS = 0x10, CB_AUXDIS = 0x20, CB_XLATE = 0x40,
};

enum { OUT_RESET = 0x01, OUT_A20 = 0x02, OUT_KBD_OBF = 0x10,
       OUT_AUX_OBF = 0x20 };

enum { PS2_ACK = 0xFA, PS2_NAK = 0xFE, PS2_BAT_OK = 0xAA, PS2_ECHO = 0xEE };

/* Power-on command byte: translate, keyboard interrupt, SYS clear (cold
 * boot).  The BIOS rewrites it before it matters. */
#define CMD_POWER_ON (CB_XLATE | CB_KBDINT)
/* Output port at power-on: reset released, A20 on, clock/data lines up. */
#define OUT_POWER_ON 0xCF
/* Input port (0xC0): keyboard not inhibited, no manufacturing jumper,
 * colour display. */
#define INPORT 0xA0

/*
 * The 8042's set 2 -> set 1 translation ROM for bytes 0x00-0x7F.  Bytes
 * from 0x80 up pass unchanged except 0x83 (F7) and 0x84 (Alt+SysRq).
 */
static const uint8_t xlate_lo[128] = {
    0xff, 0x43, 0x41, 0x3f, 0x3d, 0x3b, 0x3c, 0x58,
    0x64, 0x44, 0x42, 0x40, 0x3e, 0x0f, 0x29, 0x59,
    0x65, 0x38, 0x2a, 0x70, 0x1d, 0x10, 0x02, 0x5a,
    0x66, 0x71, 0x2c, 0x1f, 0x1e, 0x11, 0x03, 0x5b,
    0x67, 0x2e, 0x2d, 0x20, 0x12, 0x05, 0x04, 0x5c,
    0x68, 0x39, 0x2f, 0x21, 0x14, 0x13, 0x06, 0x5d,
    0x69, 0x31, 0x30, 0x23, 0x22, 0x15, 0x07, 0x5e,
    0x6a, 0x72, 0x32, 0x24, 0x16, 0x08, 0x09, 0x5f,
    0x6b, 0x33, 0x25, 0x17, 0x18, 0x0b, 0x0a, 0x60,
    0x6c, 0x34, 0x35, 0x26, 0x27, 0x19, 0x0c, 0x61,
    0x6d, 0x73, 0x28, 0x74, 0x1a, 0x0d, 0x62, 0x6e,
    0x3a, 0x36, 0x1c, 0x1b, 0x75, 0x2b, 0x63, 0x76,
    0x55, 0x56, 0x77, 0x78, 0x79, 0x7a, 0x0e, 0x7b,
    0x7c, 0x4f, 0x7d, 0x4b, 0x47, 0x7e, 0x7f, 0x6f,
    0x52, 0x53, 0x50, 0x4c, 0x4d, 0x48, 0x01, 0x45,
    0x57, 0x4e, 0x51, 0x4a, 0x37, 0x49, 0x46, 0x54,
};

static uint8_t xlate(uint8_t b)
{
    if (b < 0x80) {
        return xlate_lo[b];
    }
    return b == 0x83 ? 0x41 : b == 0x84 ? 0x54 : b;
}

/* ---- FIFOs ---- */

static void q_clear(struct i8042_queue *q)
{
    q->head = q->count = 0;
}

static unsigned q_room(const struct i8042_queue *q)
{
    return I8042_QUEUE_SIZE - q->count;
}

static void q_put(struct i8042_queue *q, uint8_t v)
{
    if (q->count < I8042_QUEUE_SIZE) {
        q->buf[(q->head + q->count) % I8042_QUEUE_SIZE] = v;
        q->count++;
    }
}

static int q_get(struct i8042_queue *q)
{
    if (q->count == 0) {
        return -1;
    }
    uint8_t v = q->buf[q->head];
    q->head = (q->head + 1) % I8042_QUEUE_SIZE;
    q->count--;
    return v;
}

static void port_clear(struct i8042_port *p)
{
    q_clear(&p->reply);
    q_clear(&p->data);
    p->arg_cmd = 0;
}

static void port_reply(struct i8042_port *p, uint8_t v)
{
    q_put(&p->reply, v);
}

/* Next byte the device sends, replies first; -1 if it has nothing. */
static int port_take(struct i8042_port *p)
{
    int v = q_get(&p->reply);
    if (v < 0) {
        v = q_get(&p->data);
    }
    if (v >= 0) {
        p->last = (uint8_t)v;
    }
    return v;
}

/* ---- keyboard ---- */

static void kbd_defaults(struct i8042_kbd *k)
{
    k->set = 2;
    k->typematic = 0x2B;        /* 10.9 characters/s after 500 ms */
}

static void kbd_power_on(struct i8042_kbd *k)
{
    port_clear(&k->io);
    k->io.last = 0;
    kbd_defaults(k);
    k->leds = 0;
    k->scanning = true;
}

/* The byte after 0xED, 0xF3, 0xF0 or a set-3 key-type command. */
static void kbd_argument(struct i8042_kbd *k, uint8_t v)
{
    uint8_t c = k->io.arg_cmd;
    k->io.arg_cmd = 0;
    switch (c) {
    case 0xED:
        k->leds = v & 7;
        break;
    case 0xF3:
        k->typematic = v & 0x7F;
        break;
    case 0xF0:
        if (v == 0) {
            port_reply(&k->io, PS2_ACK);
            port_reply(&k->io, k->set);
            return;
        }
        if (v != 1 && v != 2) {
            /* Set 3 is not modelled: refuse it so the guest stays in 2. */
            port_reply(&k->io, PS2_NAK);
            return;
        }
        k->set = v;
        break;
    default:
        /* 0xFB-0xFD take key codes until the next command. */
        k->io.arg_cmd = c;
        break;
    }
    port_reply(&k->io, PS2_ACK);
}

static void kbd_write(struct i8042_kbd *k, uint8_t v)
{
    /* Arguments are below 0x80; a command byte ends the wait for one. */
    if (k->io.arg_cmd && v < 0xED) {
        kbd_argument(k, v);
        return;
    }
    k->io.arg_cmd = 0;
    switch (v) {
    case 0xED: case 0xF3: case 0xF0: case 0xFB: case 0xFC: case 0xFD:
        k->io.arg_cmd = v;
        port_reply(&k->io, PS2_ACK);
        break;
    case 0xEE:
        port_reply(&k->io, PS2_ECHO);
        break;
    case 0xF2:
        port_reply(&k->io, PS2_ACK);
        port_reply(&k->io, 0xAB);
        port_reply(&k->io, 0x83);
        break;
    case 0xF4:
    case 0xF5:
    case 0xF6:
        q_clear(&k->io.data);
        if (v != 0xF4) {
            kbd_defaults(k);
        }
        k->scanning = v != 0xF5;
        port_reply(&k->io, PS2_ACK);
        break;
    case 0xF7: case 0xF8: case 0xF9: case 0xFA:
        port_reply(&k->io, PS2_ACK);   /* set-3 key types: no effect */
        break;
    case 0xFE:
        port_reply(&k->io, k->io.last);
        break;
    case 0xFF:
        kbd_power_on(k);
        port_reply(&k->io, PS2_ACK);
        port_reply(&k->io, PS2_BAT_OK);
        break;
    default:
        port_reply(&k->io, PS2_NAK);
        break;
    }
}

/* The set 2 bytes for a key event; returns the count (0 for none). */
static int kbd_set2_bytes(int key, bool down, uint8_t *out)
{
    static const uint8_t pause[8] = { 0xE1, 0x14, 0x77, 0xE1,
                                      0xF0, 0x14, 0xF0, 0x77 };
    static const uint8_t prtsc_make[4] = { 0xE0, 0x12, 0xE0, 0x7C };
    static const uint8_t prtsc_break[6] = { 0xE0, 0xF0, 0x7C,
                                            0xE0, 0xF0, 0x12 };
    int n = 0;
    if (key == I8042_KEY_PAUSE) {
        if (!down) {
            return 0;
        }
        memcpy(out, pause, sizeof(pause));
        return sizeof(pause);
    }
    if (key == I8042_KEY_PRTSC) {
        if (down) {
            memcpy(out, prtsc_make, sizeof(prtsc_make));
            return sizeof(prtsc_make);
        }
        memcpy(out, prtsc_break, sizeof(prtsc_break));
        return sizeof(prtsc_break);
    }
    if (key & I8042_E0) {
        out[n++] = 0xE0;
    }
    if (!down) {
        out[n++] = 0xF0;
    }
    out[n++] = (uint8_t)key;
    return n;
}

/* Rewrite set 2 bytes as set 1 in place (the same rule as XLATE). */
static int to_set1(uint8_t *b, int n)
{
    int j = 0;
    bool brk = false;
    for (int i = 0; i < n; i++) {
        if (b[i] == 0xF0) {
            brk = true;
            continue;
        }
        b[j++] = (uint8_t)(xlate(b[i]) | (brk ? 0x80 : 0));
        brk = false;
    }
    return j;
}

static void kbd_event(struct i8042_kbd *k, int key, bool down)
{
    uint8_t b[8];
    int n = kbd_set2_bytes(key, down, b);
    if (n == 0 || !k->scanning) {
        return;
    }
    if (k->set == 1) {
        n = to_set1(b, n);
    }
    /* Keep the last slot for the overrun code, as the keyboard does. */
    if (q_room(&k->io.data) > (unsigned)n) {
        for (int i = 0; i < n; i++) {
            q_put(&k->io.data, b[i]);
        }
    } else if (q_room(&k->io.data) == 1) {
        q_put(&k->io.data, k->set == 1 ? 0xFF : 0x00);
    }
}

/* ---- mouse ---- */

#define MOUSE_ACC_MAX (1 << 20)   /* keeps the accumulators far from overflow */

static void mouse_defaults(struct i8042_mouse *m)
{
    m->rate = 100;
    m->res = 2;                 /* 4 counts/mm */
    m->scale21 = false;
    m->reporting = false;
}

static void mouse_power_on(struct i8042_mouse *m)
{
    port_clear(&m->io);
    m->io.last = 0;
    mouse_defaults(m);
    m->remote = m->wrap = false;
    m->id = 0;
    memset(m->rates, 0, sizeof(m->rates));
    m->dx = m->dy = m->dz = 0;
    m->sent_buttons = m->buttons;
}

static int clamp(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Take up to one packet's worth (lo..hi) out of an accumulator. */
static int take(int *acc, int lo, int hi)
{
    int v = clamp(*acc, lo, hi);
    *acc -= v;
    return v;
}

/* 2:1 scaling of stream-mode counts: 1 1 3 6 9, then doubled. */
static int scale21(int v)
{
    static const int small[6] = { 0, 1, 1, 3, 6, 9 };
    int a = v < 0 ? -v : v;
    a = a < 6 ? small[a] : 2 * a;
    return v < 0 ? -a : a;
}

static int packet_size(const struct i8042_mouse *m)
{
    return m->id ? 4 : 3;
}

/* Build a movement packet from the accumulators into `q`. */
static void mouse_packet(struct i8042_mouse *m, struct i8042_queue *q)
{
    int dx = take(&m->dx, -256, 255);
    int dy = take(&m->dy, -256, 255);
    uint8_t b0 = 0x08 | (m->buttons & 7);
    if (m->scale21 && !m->remote) {
        dx = scale21(dx);
        dy = scale21(dy);
    }
    if (dx < -256 || dx > 255) {
        b0 |= 0x40;
        dx = clamp(dx, -256, 255);
    }
    if (dy < -256 || dy > 255) {
        b0 |= 0x80;
        dy = clamp(dy, -256, 255);
    }
    b0 |= (dx < 0 ? 0x10 : 0) | (dy < 0 ? 0x20 : 0);
    q_put(q, b0);
    q_put(q, (uint8_t)(dx & 0xFF));
    q_put(q, (uint8_t)(dy & 0xFF));
    if (m->id == 3) {
        q_put(q, (uint8_t)(take(&m->dz, -127, 127) & 0xFF));
    } else if (m->id == 4) {
        int z = take(&m->dz, -8, 7);
        q_put(q, (uint8_t)((z & 0x0F) | ((m->buttons & I8042_BTN_4) << 1) |
                           ((m->buttons & I8042_BTN_5) << 1)));
    } else {
        m->dz = 0;
    }
    m->sent_buttons = m->buttons;
}

/* Stream mode: report what has changed while the FIFO has room. */
static void mouse_sync(struct i8042_mouse *m)
{
    if (!m->reporting || m->remote || m->wrap) {
        return;
    }
    if (m->id == 0) {
        m->dz = 0;
    }
    while ((m->dx || m->dy || m->dz || m->buttons != m->sent_buttons) &&
           q_room(&m->io.data) >= (unsigned)packet_size(m)) {
        mouse_packet(m, &m->io.data);
    }
}

static void mouse_set_rate(struct i8042_mouse *m, uint8_t rate)
{
    m->rate = rate;
    m->rates[0] = m->rates[1];
    m->rates[1] = m->rates[2];
    m->rates[2] = rate;
    if (m->rates[0] == 200 && m->rates[2] == 80) {
        if (m->rates[1] == 100 && m->id == 0) {
            m->id = 3;
        } else if (m->rates[1] == 200 && m->id == 3) {
            m->id = 4;
        }
    }
}

/* Status request (0xE9): mode, then resolution and sample rate. */
static void mouse_status(struct i8042_mouse *m)
{
    uint8_t s = (m->remote ? 0x40 : 0) | (m->reporting ? 0x20 : 0) |
                (m->scale21 ? 0x10 : 0) |
                ((m->buttons & I8042_BTN_LEFT) ? 0x04 : 0) |
                ((m->buttons & I8042_BTN_MIDDLE) ? 0x02 : 0) |
                ((m->buttons & I8042_BTN_RIGHT) ? 0x01 : 0);
    port_reply(&m->io, PS2_ACK);
    port_reply(&m->io, s);
    port_reply(&m->io, m->res);
    port_reply(&m->io, m->rate);
}

static void mouse_command(struct i8042_mouse *m, uint8_t v)
{
    switch (v) {
    case 0xFF:
        mouse_power_on(m);
        port_reply(&m->io, PS2_ACK);
        port_reply(&m->io, PS2_BAT_OK);
        port_reply(&m->io, 0x00);
        return;
    case 0xFE:
        port_reply(&m->io, m->io.last);
        return;
    case 0xF3: case 0xE8:
        m->io.arg_cmd = v;
        break;
    case 0xF2:
        port_reply(&m->io, PS2_ACK);
        port_reply(&m->io, m->id);
        return;
    case 0xE9:
        mouse_status(m);
        return;
    case 0xEB:
        port_reply(&m->io, PS2_ACK);
        mouse_packet(m, &m->io.reply);
        return;
    case 0xF6: mouse_defaults(m); break;
    case 0xF5: m->reporting = false; break;
    case 0xF4: m->reporting = true; break;
    case 0xF0: m->remote = true; break;
    case 0xEA: m->remote = false; break;
    case 0xEE: m->wrap = true; break;
    case 0xEC: break;
    case 0xE7: m->scale21 = true; break;
    case 0xE6: m->scale21 = false; break;
    default:
        port_reply(&m->io, PS2_NAK);
        return;
    }
    port_reply(&m->io, PS2_ACK);
}

static void mouse_write(struct i8042_mouse *m, uint8_t v)
{
    if (m->wrap && v != 0xFF && v != 0xEC) {
        port_reply(&m->io, v);
        return;
    }
    m->wrap = false;
    if (m->io.arg_cmd) {
        if (m->io.arg_cmd == 0xF3) {
            mouse_set_rate(m, v);
        } else {
            m->res = v & 3;
        }
        m->io.arg_cmd = 0;
        port_reply(&m->io, PS2_ACK);
        return;
    }
    /* A command interrupts streaming: drop the packets not yet sent. */
    q_clear(&m->io.data);
    mouse_command(m, v);
}

/* ---- controller ---- */

static void update_irqs(struct i8042 *kbc)
{
    bool l1 = kbc->obf && !kbc->obf_aux && (kbc->cmd & CB_KBDINT);
    bool l12 = kbc->obf && kbc->obf_aux && (kbc->cmd & CB_AUXINT);
    if (l1 != kbc->irq1_level) {
        kbc->irq1_level = l1;
        irq_set(&kbc->irq1, l1);
    }
    if (l12 != kbc->irq12_level) {
        kbc->irq12_level = l12;
        irq_set(&kbc->irq12, l12);
    }
}

/* The keyboard's next byte as the controller delivers it; -1 if none. */
static int kbd_next(struct i8042 *kbc)
{
    for (;;) {
        int v = port_take(&kbc->kbd.io);
        if (v < 0 || !(kbc->cmd & CB_XLATE)) {
            return v;
        }
        if (v == 0xF0) {
            kbc->xlate_break = true;
            continue;
        }
        v = xlate((uint8_t)v) | (kbc->xlate_break ? 0x80 : 0);
        kbc->xlate_break = false;
        return v;
    }
}

/* Fill an empty output buffer: controller, keyboard, then mouse. */
static void refill(struct i8042 *kbc)
{
    if (!kbc->obf) {
        int v = -1;
        bool aux = false;
        if (kbc->nctl) {
            v = kbc->ctl[0] & 0xFF;
            aux = kbc->ctl[0] >> 8;
            kbc->nctl--;
            memmove(kbc->ctl, kbc->ctl + 1, kbc->nctl * sizeof(kbc->ctl[0]));
        }
        if (v < 0 && !(kbc->cmd & CB_KBDDIS)) {
            v = kbd_next(kbc);
        }
        if (v < 0 && !(kbc->cmd & CB_AUXDIS)) {
            if (kbc->mouse.io.data.count == 0) {
                mouse_sync(&kbc->mouse);
            }
            v = port_take(&kbc->mouse.io);
            aux = true;
        }
        if (v >= 0) {
            kbc->obuf = (uint8_t)v;
            kbc->obf = true;
            kbc->obf_aux = aux;
        }
    }
    update_irqs(kbc);
}

/* A byte the controller itself puts in the output buffer. */
static void ctl_reply(struct i8042 *kbc, uint8_t v, bool aux)
{
    if (kbc->nctl < (int)(sizeof(kbc->ctl) / sizeof(kbc->ctl[0]))) {
        kbc->ctl[kbc->nctl++] = (uint16_t)(v | (aux ? 0x100 : 0));
    }
}

static uint8_t outport_value(const struct i8042 *kbc)
{
    uint8_t v = kbc->outport & ~(OUT_KBD_OBF | OUT_AUX_OBF);
    if (kbc->obf) {
        v |= kbc->obf_aux ? OUT_AUX_OBF : OUT_KBD_OBF;
    }
    return v;
}

static void request_reset(struct i8042 *kbc)
{
    log_ch(LOG_DEV, "i8042: system reset requested\n");
    if (kbc->hooks.reset) {
        kbc->hooks.reset(kbc->opaque);
    }
}

static void write_outport(struct i8042 *kbc, uint8_t v)
{
    kbc->outport = v | OUT_RESET;
    if (kbc->hooks.a20) {
        kbc->hooks.a20(kbc->opaque, v & OUT_A20);
    }
    /* Reset is active low; it is taken as a pulse, so the port reads
     * back released afterwards, as the BIOS will rewrite it anyway. */
    if (!(v & OUT_RESET)) {
        request_reset(kbc);
    }
}

/* Commands 0xA0-0xEF. */
static void controller_command(struct i8042 *kbc, uint8_t v)
{
    switch (v) {
    case 0xA4: ctl_reply(kbc, 0xF1, false); break;  /* no password */
    case 0xA5: kbc->pending = v; break;
    case 0xA6: break;
    case 0xA7: kbc->cmd |= CB_AUXDIS; break;
    case 0xA8: kbc->cmd &= ~CB_AUXDIS; break;
    case 0xA9: ctl_reply(kbc, 0x00, false); break;  /* aux lines OK */
    case 0xAA:
        kbc->cmd |= CB_SYS;
        ctl_reply(kbc, 0x55, false);
        break;
    case 0xAB: ctl_reply(kbc, 0x00, false); break;  /* kbd lines OK */
    case 0xAD: kbc->cmd |= CB_KBDDIS; break;
    case 0xAE: kbc->cmd &= ~CB_KBDDIS; break;
    case 0xC0: ctl_reply(kbc, INPORT, false); break;
    case 0xD0: ctl_reply(kbc, outport_value(kbc), false); break;
    case 0xD1: case 0xD2: case 0xD3: case 0xD4:
        kbc->pending = v;
        break;
    case 0xE0:
        /* Test inputs T0/T1: keyboard clock (held low while disabled)
         * and data (idle high). */
        ctl_reply(kbc, (kbc->cmd & CB_KBDDIS) ? 0x02 : 0x03, false);
        break;
    default:
        log_once("i8042: controller command %#x not implemented", v);
        break;
    }
}

static void write_command(struct i8042 *kbc, uint8_t v)
{
    kbc->a2 = true;
    kbc->pending = 0;
    if (v == 0x20) {
        ctl_reply(kbc, kbc->cmd, false);
    } else if (v > 0x20 && v < 0x40) {
        ctl_reply(kbc, kbc->ram[v & 0x1F], false);
    } else if (v >= 0x60 && v < 0x80) {
        kbc->pending = v;
    } else if (v >= 0xF0) {
        /* Pulse the output bits whose mask bit is 0 for 6 us: only
         * bit 0, the reset line, has a lasting effect. */
        if (!(v & 1)) {
            request_reset(kbc);
        }
    } else if (v >= 0xA0) {
        controller_command(kbc, v);
    } else {
        log_once("i8042: controller command %#x not implemented", v);
    }
    refill(kbc);
}

static void write_data(struct i8042 *kbc, uint8_t v)
{
    uint8_t c = kbc->pending;
    kbc->a2 = false;
    kbc->pending = 0;
    if (c == 0x60) {
        kbc->cmd = v;
    } else if (c > 0x60 && c < 0x80) {
        kbc->ram[c & 0x1F] = v;
    } else if (c == 0xA5) {
        kbc->pending = v ? c : 0;  /* password bytes up to a 0 */
    } else if (c == 0xD1) {
        write_outport(kbc, v);
    } else if (c == 0xD2 || c == 0xD3) {
        ctl_reply(kbc, v, c == 0xD3);
    } else if (c == 0xD4) {
        mouse_write(&kbc->mouse, v);
    } else {
        /* Sending to the keyboard releases its clock line, which
         * re-enables the interface (guests rely on this after 0xAD). */
        kbc->cmd &= ~CB_KBDDIS;
        kbd_write(&kbc->kbd, v);
    }
    refill(kbc);
}

static uint8_t read_status(const struct i8042 *kbc)
{
    uint8_t s = ST_INH;
    if (kbc->obf) {
        s |= ST_OBF | (kbc->obf_aux ? ST_AUXB : 0);
    }
    if (kbc->cmd & CB_SYS) {
        s |= ST_SYS;
    }
    if (kbc->a2) {
        s |= ST_A2;
    }
    return s;   /* IBF is never set: writes are taken at once */
}

static uint8_t read_data(struct i8042 *kbc)
{
    uint8_t v = kbc->obuf;    /* an empty buffer reads its last byte */
    if (kbc->obf) {
        kbc->obf = false;
        update_irqs(kbc);       /* drop the line so the next byte is an edge */
        refill(kbc);
    }
    return v;
}

static uint32_t data_read(void *opaque, uint32_t off, int size)
{
    return read_data(opaque);
}

static void data_write(void *opaque, uint32_t off, uint32_t val, int size)
{
    write_data(opaque, (uint8_t)val);
}

static uint32_t cmd_read(void *opaque, uint32_t off, int size)
{
    return read_status(opaque);
}

static void cmd_write(void *opaque, uint32_t off, uint32_t val, int size)
{
    write_command(opaque, (uint8_t)val);
}

static const struct io_ops data_ops = {
    .read = data_read, .write = data_write, .sizes = 1,
};

static const struct io_ops cmd_ops = {
    .read = cmd_read, .write = cmd_write, .sizes = 1,
};

/* ---- public ---- */

void i8042_init(struct i8042 *kbc, struct irq irq1, struct irq irq12,
                const struct i8042_hooks *hooks, void *opaque)
{
    memset(kbc, 0, sizeof(*kbc));
    kbc->irq1 = irq1;
    kbc->irq12 = irq12;
    if (hooks) {
        kbc->hooks = *hooks;
    }
    kbc->opaque = opaque;
    i8042_reset(kbc);
}

void i8042_reset(struct i8042 *kbc)
{
    kbd_power_on(&kbc->kbd);
    kbc->mouse.buttons = 0;
    mouse_power_on(&kbc->mouse);
    kbc->cmd = CMD_POWER_ON;
    memset(kbc->ram, 0, sizeof(kbc->ram));
    kbc->outport = OUT_POWER_ON;
    kbc->obuf = 0;
    kbc->obf = kbc->obf_aux = false;
    kbc->a2 = false;
    kbc->pending = 0;
    kbc->xlate_break = false;
    kbc->nctl = 0;
    /* Drive both lines low whatever was last sent. */
    kbc->irq1_level = kbc->irq12_level = false;
    irq_set(&kbc->irq1, 0);
    irq_set(&kbc->irq12, 0);
}

int i8042_map(struct i8042 *kbc, struct bus *bus)
{
    if (bus_map_ports(bus, 0x60, 1, &data_ops, kbc) < 0) {
        return -1;
    }
    if (bus_map_ports(bus, 0x64, 1, &cmd_ops, kbc) < 0) {
        bus_unmap_ports(bus, 0x60);
        return -1;
    }
    return 0;
}

struct i8042 *i8042_new(struct bus *bus, struct irq irq1, struct irq irq12,
                        const struct i8042_hooks *hooks, void *opaque)
{
    struct i8042 *kbc = malloc(sizeof(*kbc));
    if (!kbc) {
        return NULL;
    }
    i8042_init(kbc, irq1, irq12, hooks, opaque);
    if (bus && i8042_map(kbc, bus) < 0) {
        free(kbc);
        return NULL;
    }
    return kbc;
}

void i8042_free(struct i8042 *kbc)
{
    free(kbc);
}

void i8042_key(struct i8042 *kbc, int key, bool down)
{
    int code = key & 0xFF;
    if (key != I8042_KEY_PAUSE &&
        ((key & ~(I8042_E0 | 0xFF)) || code == 0 || code > 0x84)) {
        log_once("i8042: bad key code %#x from the UI", key);
        return;
    }
    kbd_event(&kbc->kbd, key, down);
    refill(kbc);
}

void i8042_mouse(struct i8042 *kbc, int dx, int dy, int dz, int buttons)
{
    struct i8042_mouse *m = &kbc->mouse;
    m->buttons = (uint8_t)(buttons & 0x1F);
    if (m->wrap || (!m->reporting && !m->remote)) {
        m->sent_buttons = m->buttons;   /* nobody listens: all is lost */
        return;
    }
    m->dx = clamp(m->dx + clamp(dx, -MOUSE_ACC_MAX, MOUSE_ACC_MAX),
                  -MOUSE_ACC_MAX, MOUSE_ACC_MAX);
    m->dy = clamp(m->dy - clamp(dy, -MOUSE_ACC_MAX, MOUSE_ACC_MAX),
                  -MOUSE_ACC_MAX, MOUSE_ACC_MAX);
    m->dz = clamp(m->dz + clamp(dz, -MOUSE_ACC_MAX, MOUSE_ACC_MAX),
                  -MOUSE_ACC_MAX, MOUSE_ACC_MAX);
    mouse_sync(m);
    refill(kbc);
}

uint8_t i8042_leds(const struct i8042 *kbc)
{
    return kbc->kbd.leds;
}

bool i8042_a20(const struct i8042 *kbc)
{
    return kbc->outport & OUT_A20;
}
