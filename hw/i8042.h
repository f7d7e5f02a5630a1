/*
 * i8042.h - the PC/AT keyboard controller (an 8042 running IBM's firmware)
 * at ports 0x60 (data) and 0x64 (status/command), with a PS/2 keyboard on
 * its first port and a PS/2 (IntelliMouse) mouse on its second.  IRQ1 and
 * IRQ12 out; the output port's A20 gate and reset lines go to the board
 * through hooks.
 */
#ifndef KASOU_I8042_H
#define KASOU_I8042_H

#include <stdbool.h>
#include <stdint.h>

#include "hw/irq.h"

struct bus;

/*
 * Keys for i8042_key(): the key's scan code set 2 make code (the byte after
 * any E0 prefix, 0x01-0x84), with I8042_E0 or'ed in for the keys whose make
 * code starts with E0 (right Ctrl/Alt, the cursor block, keypad Enter and
 * /, the Windows keys ...).  Print Screen is I8042_E0 | 0x7C (the keyboard
 * adds its fake left Shift); Pause, which has no break code, is
 * I8042_KEY_PAUSE.  Examples: 'A' 0x1C, Enter 0x5A, right Ctrl
 * I8042_E0 | 0x14, Up I8042_E0 | 0x75.
 */
#define I8042_E0 0x100
#define I8042_KEY_PAUSE 0x200
#define I8042_KEY_PRTSC (I8042_E0 | 0x7C)

/* Mouse buttons for i8042_mouse(). */
enum {
    I8042_BTN_LEFT = 1 << 0,
    I8042_BTN_RIGHT = 1 << 1,
    I8042_BTN_MIDDLE = 1 << 2,
    I8042_BTN_4 = 1 << 3,       /* side buttons: only an IntelliMouse */
    I8042_BTN_5 = 1 << 4,       /* Explorer (ID 4) reports them */
};

/* Keyboard LED bits, as the guest sets them with command 0xED. */
enum { I8042_LED_SCROLL = 1, I8042_LED_NUM = 2, I8042_LED_CAPS = 4 };

/*
 * What the controller's output port drives on the board.  Both run inside
 * the guest's port write: a20 whenever the guest writes the output port
 * (command 0xD1), reset when it pulses or writes output bit 0 low
 * (command 0xFE, 0xF0-0xFF with bit 0 clear, or 0xD1 with bit 0 clear).
 * Either may be NULL.
 */
struct i8042_hooks {
    void (*a20)(void *opaque, bool on);
    void (*reset)(void *opaque);
};

#define I8042_QUEUE_SIZE 256

/* A byte FIFO between a device and the controller. */
struct i8042_queue {
    uint8_t buf[I8042_QUEUE_SIZE];
    unsigned head, count;
};

/* What a PS/2 device has to send: replies to commands go first. */
struct i8042_port {
    struct i8042_queue reply;   /* ACKs and answers, ahead of ... */
    struct i8042_queue data;    /* ... scan codes or movement packets */
    uint8_t arg_cmd;            /* command waiting for its argument, or 0 */
    uint8_t last;               /* last byte sent, for Resend (0xFE) */
};

struct i8042_kbd {
    struct i8042_port io;
    bool scanning;              /* 0xF4/0xF5 */
    uint8_t set;                /* scan code set: 1 or 2 */
    uint8_t leds;
    uint8_t typematic;          /* 0xF3 argument; repeat is the host's */
};

struct i8042_mouse {
    struct i8042_port io;
    bool reporting;             /* 0xF4/0xF5 */
    bool remote;                /* remote (0xF0) vs stream (0xEA) mode */
    bool wrap;                  /* echo mode (0xEE until 0xEC) */
    bool scale21;               /* 0xE7/0xE6 */
    uint8_t rate, res, id;      /* sample rate, resolution, device ID */
    uint8_t rates[3];           /* last three sample rates, newest last */
    int dx, dy, dz;             /* movement not yet reported; dy is up */
    uint8_t buttons, sent_buttons;
};

struct i8042 {
    struct i8042_kbd kbd;
    struct i8042_mouse mouse;
    uint8_t cmd;                /* command byte (controller RAM 0) */
    uint8_t ram[32];            /* controller RAM 1-31 (0x21-0x3F, 0x61-0x7F) */
    uint8_t outport;            /* output port as last written */
    uint8_t obuf;               /* output buffer: what port 0x60 reads */
    bool obf, obf_aux;          /* output buffer full; filled from the mouse */
    bool a2;                    /* last write went to port 0x64 */
    uint8_t pending;            /* controller command awaiting a data byte */
    bool xlate_break;           /* translation swallowed an F0 */
    uint16_t ctl[4];            /* controller replies: byte | 0x100 if aux */
    int nctl;
    bool irq1_level, irq12_level;
    struct irq irq1, irq12;
    struct i8042_hooks hooks;
    void *opaque;
};

/* Power-on state; lowers both IRQ lines.  The hooks are not called. */
void i8042_init(struct i8042 *kbc, struct irq irq1, struct irq irq12,
                const struct i8042_hooks *hooks, void *opaque);
/* Claim ports 0x60 and 0x64 on `bus`. */
int i8042_map(struct i8042 *kbc, struct bus *bus);
/* Allocate, init and map (if bus != NULL); NULL on failure. */
struct i8042 *i8042_new(struct bus *bus, struct irq irq1, struct irq irq12,
                        const struct i8042_hooks *hooks, void *opaque);
void i8042_free(struct i8042 *kbc);
/* Back to the power-on state (controller, keyboard and mouse). */
void i8042_reset(struct i8042 *kbc);

/* A key went down or up (see I8042_E0 for `key`).  The UI forwards host
 * autorepeat as repeated downs: the keyboard does not repeat by itself. */
void i8042_key(struct i8042 *kbc, int key, bool down);
/* The mouse moved dx right, dy down (screen direction), dz wheel notches
 * toward the user, with `buttons` (I8042_BTN_*) held. */
void i8042_mouse(struct i8042 *kbc, int dx, int dy, int dz, int buttons);

/* Keyboard LEDs as the guest last set them (I8042_LED_*). */
uint8_t i8042_leds(const struct i8042 *kbc);
/* The A20 gate as the output port drives it. */
bool i8042_a20(const struct i8042 *kbc);

#endif
