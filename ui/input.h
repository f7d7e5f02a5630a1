/*
 * input.h - what a front end (the SDL window) hands to the machine: key
 * presses, mouse movement and the window's close button.  The callbacks run
 * on the main loop's thread, inside the front end's update call.
 */
#ifndef KASOU_INPUT_H
#define KASOU_INPUT_H

#include <stdbool.h>

struct ui_input {
    void *opaque;
    /* A key went down or up: `code` as i8042_key() takes it (set 2 make
     * code, I8042_E0 or'ed in; I8042_KEY_PAUSE).  Host autorepeat arrives
     * as repeated downs. */
    void (*key)(void *opaque, int code, bool down);
    /* The mouse moved dx right, dy down, dz wheel notches toward the user,
     * with `buttons` (I8042_BTN_*) held; sent only while the mouse is
     * grabbed, once per update at most unless the buttons change. */
    void (*mouse)(void *opaque, int dx, int dy, int dz, int buttons);
    /* The user closed the window: a power-off request. */
    void (*quit)(void *opaque);
};

#endif
