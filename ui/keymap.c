/*
 * keymap.c - one table of keys: the SDL scancode (USB HID usage), QEMU's
 * qcode name and the scan code set 2 make code each key sends (see
 * keymap.h).  Lookups scan the table: keys arrive at typing speed.
 *
 * Set 2 codes are the PC/AT keyboard's (IBM's Technical Reference; the
 * F13-F24, keypad =, Japanese and media keys follow Microsoft's keyboard
 * scan code specification).  Keys that send no break code in set 2 (the
 * Korean Hangul/Hanja keys) are left out: i8042_key() has no way to send
 * them.
 */
#include "ui/keymap.h"

#include <stddef.h>
#include <string.h>

#include "hw/i8042.h"

#define E0 I8042_E0

struct key {
    int sdl;           /* SDL scancode, 0 if SDL has none */
    const char *qcode; /* QMP name, NULL if QEMU has none */
    int code;          /* i8042_key() code */
};

static const struct key keys[] = {
    /* letters, by HID usage (4 = A) */
    { 0x04, "a", 0x1C }, { 0x05, "b", 0x32 }, { 0x06, "c", 0x21 }, { 0x07, "d", 0x23 },
    { 0x08, "e", 0x24 }, { 0x09, "f", 0x2B }, { 0x0A, "g", 0x34 }, { 0x0B, "h", 0x33 },
    { 0x0C, "i", 0x43 }, { 0x0D, "j", 0x3B }, { 0x0E, "k", 0x42 }, { 0x0F, "l", 0x4B },
    { 0x10, "m", 0x3A }, { 0x11, "n", 0x31 }, { 0x12, "o", 0x44 }, { 0x13, "p", 0x4D },
    { 0x14, "q", 0x15 }, { 0x15, "r", 0x2D }, { 0x16, "s", 0x1B }, { 0x17, "t", 0x2C },
    { 0x18, "u", 0x3C }, { 0x19, "v", 0x2A }, { 0x1A, "w", 0x1D }, { 0x1B, "x", 0x22 },
    { 0x1C, "y", 0x35 }, { 0x1D, "z", 0x1A },
    /* the digit row */
    { 0x1E, "1", 0x16 }, { 0x1F, "2", 0x1E }, { 0x20, "3", 0x26 }, { 0x21, "4", 0x25 },
    { 0x22, "5", 0x2E }, { 0x23, "6", 0x36 }, { 0x24, "7", 0x3D }, { 0x25, "8", 0x3E },
    { 0x26, "9", 0x46 }, { 0x27, "0", 0x45 },
    /* main block punctuation and editing keys */
    { 0x28, "ret", 0x5A }, { 0x29, "esc", 0x76 }, { 0x2A, "backspace", 0x66 },
    { 0x2B, "tab", 0x0D }, { 0x2C, "spc", 0x29 }, { 0x2D, "minus", 0x4E },
    { 0x2E, "equal", 0x55 }, { 0x2F, "bracket_left", 0x54 }, { 0x30, "bracket_right", 0x5B },
    { 0x31, "backslash", 0x5D },
    { 0x32, NULL, 0x5D }, /* ISO "#~": the same position as US backslash */
    { 0x33, "semicolon", 0x4C }, { 0x34, "apostrophe", 0x52 }, { 0x35, "grave_accent", 0x0E },
    { 0x36, "comma", 0x41 }, { 0x37, "dot", 0x49 }, { 0x38, "slash", 0x4A },
    { 0x39, "caps_lock", 0x58 },
    /* function keys */
    { 0x3A, "f1", 0x05 }, { 0x3B, "f2", 0x06 }, { 0x3C, "f3", 0x04 }, { 0x3D, "f4", 0x0C },
    { 0x3E, "f5", 0x03 }, { 0x3F, "f6", 0x0B }, { 0x40, "f7", 0x83 }, { 0x41, "f8", 0x0A },
    { 0x42, "f9", 0x01 }, { 0x43, "f10", 0x09 }, { 0x44, "f11", 0x78 }, { 0x45, "f12", 0x07 },
    /* the system and cursor blocks */
    { 0x46, "print", I8042_KEY_PRTSC }, { 0x47, "scroll_lock", 0x7E },
    { 0x48, "pause", I8042_KEY_PAUSE }, { 0x49, "insert", E0 | 0x70 },
    { 0x4A, "home", E0 | 0x6C }, { 0x4B, "pgup", E0 | 0x7D }, { 0x4C, "delete", E0 | 0x71 },
    { 0x4D, "end", E0 | 0x69 }, { 0x4E, "pgdn", E0 | 0x7A }, { 0x4F, "right", E0 | 0x74 },
    { 0x50, "left", E0 | 0x6B }, { 0x51, "down", E0 | 0x72 }, { 0x52, "up", E0 | 0x75 },
    /* keypad */
    { 0x53, "num_lock", 0x77 }, { 0x54, "kp_divide", E0 | 0x4A },
    { 0x55, "kp_multiply", 0x7C }, { 0x56, "kp_subtract", 0x7B }, { 0x57, "kp_add", 0x79 },
    { 0x58, "kp_enter", E0 | 0x5A }, { 0x59, "kp_1", 0x69 }, { 0x5A, "kp_2", 0x72 },
    { 0x5B, "kp_3", 0x7A }, { 0x5C, "kp_4", 0x6B }, { 0x5D, "kp_5", 0x73 },
    { 0x5E, "kp_6", 0x74 }, { 0x5F, "kp_7", 0x6C }, { 0x60, "kp_8", 0x75 },
    { 0x61, "kp_9", 0x7D }, { 0x62, "kp_0", 0x70 }, { 0x63, "kp_decimal", 0x71 },
    { 0, "asterisk", 0x7C }, /* QEMU's other name for keypad * */
    /* the 102nd key of ISO keyboards (left of Z) and the Windows menu key */
    { 0x64, "less", 0x61 }, { 0x65, "compose", E0 | 0x2F }, { 0, "menu", E0 | 0x2F },
    { 0x66, "power", E0 | 0x37 }, { 0x67, "kp_equals", 0x0F },
    /* F13-F24 */
    { 0x68, "f13", 0x08 }, { 0x69, "f14", 0x10 }, { 0x6A, "f15", 0x18 },
    { 0x6B, "f16", 0x20 }, { 0x6C, "f17", 0x28 }, { 0x6D, "f18", 0x30 },
    { 0x6E, "f19", 0x38 }, { 0x6F, "f20", 0x40 }, { 0x70, "f21", 0x48 },
    { 0x71, "f22", 0x50 }, { 0x72, "f23", 0x57 }, { 0x73, "f24", 0x5F },
    /* volume, keypad comma (Brazil), the Japanese keys, SysRq (Alt+PrtSc) */
    { 0x7F, "audiomute", E0 | 0x23 }, { 0x80, "volumeup", E0 | 0x32 },
    { 0x81, "volumedown", E0 | 0x21 }, { 0x85, "kp_comma", 0x6D }, { 0x87, "ro", 0x51 },
    { 0x88, "katakanahiragana", 0x13 }, { 0x89, "yen", 0x6A }, { 0x8A, "henkan", 0x64 },
    { 0x8B, "muhenkan", 0x67 }, { 0x9A, "sysrq", 0x84 },
    /* modifiers */
    { 0xE0, "ctrl", 0x14 }, { 0xE1, "shift", 0x12 }, { 0xE2, "alt", 0x11 },
    { 0xE3, "meta_l", E0 | 0x1F }, { 0xE4, "ctrl_r", E0 | 0x14 }, { 0xE5, "shift_r", 0x59 },
    { 0xE6, "alt_r", E0 | 0x11 }, { 0xE7, "meta_r", E0 | 0x27 },
    /* media and browser keys: SDL's own scancodes from 258 */
    { 258, "audionext", E0 | 0x4D }, { 259, "audioprev", E0 | 0x15 },
    { 260, "audiostop", E0 | 0x3B }, { 261, "audioplay", E0 | 0x34 },
    { 263, "mediaselect", E0 | 0x50 }, { 264, NULL, E0 | 0x3A },
    { 265, "mail", E0 | 0x48 }, { 266, "calculator", E0 | 0x2B },
    { 267, "computer", E0 | 0x40 }, { 268, NULL, E0 | 0x10 },
    { 269, "ac_home", E0 | 0x3A }, { 270, "ac_back", E0 | 0x38 },
    { 271, "ac_forward", E0 | 0x30 }, { 272, NULL, E0 | 0x28 },
    { 273, "ac_refresh", E0 | 0x20 }, { 274, "ac_bookmarks", E0 | 0x18 },
    { 282, "sleep", E0 | 0x3F }, { 0, "wake", E0 | 0x5E },
};

int keymap_sdl(int scancode)
{
    if (scancode <= 0) {
        return -1;
    }
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (keys[i].sdl == scancode) {
            return keys[i].code;
        }
    }
    return -1;
}

int keymap_qcode(const char *name)
{
    if (!name) {
        return -1;
    }
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (keys[i].qcode && !strcmp(keys[i].qcode, name)) {
            return keys[i].code;
        }
    }
    return -1;
}
