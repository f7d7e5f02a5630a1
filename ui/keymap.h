/*
 * keymap.h - host key identities to the guest keyboard's key codes (scan
 * code set 2 make codes as hw/i8042.h defines them for i8042_key()).
 *
 * Keys are mapped by position, not by the host's layout: SDL scancodes
 * are USB HID keyboard usages (page 7: 4 is the key labelled A on a US
 * keyboard, 0xE0-0xE7 the modifiers) plus SDL's own numbers from 258 for
 * the media keys, so this module needs no SDL header.  QMP's send-key names
 * keys by QEMU's "qcode" names ("a", "ret", "ctrl_r", "kp_enter", ...).
 */
#ifndef KASOU_KEYMAP_H
#define KASOU_KEYMAP_H

/* The i8042 key code for SDL scancode `scancode`, or -1 if none. */
int keymap_sdl(int scancode);
/* The i8042 key code for QMP qcode `name`, or -1 if unknown. */
int keymap_qcode(const char *name);

#endif
