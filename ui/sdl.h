/*
 * sdl.h - the display in an SDL2 window, with the host's keyboard and mouse
 * fed to the guest (built only when configure finds SDL2: CONFIG_SDL).
 *
 * The window follows the guest's mode (an integer multiple of its size
 * when that fits the desktop) and can be resized or made fullscreen
 * (Ctrl+Alt+F) with the picture scaled, aspect kept.  Keys are sent by
 * position whatever the host layout; a click in the window grabs the mouse
 * (relative motion) until Ctrl+Alt+G.  Closing the window asks the machine
 * to power off.
 */
#ifndef KASOU_SDL_H
#define KASOU_SDL_H

#include <stddef.h>

#include "ui/display.h"
#include "ui/input.h"

struct sdl_ui;

/*
 * Open a window titled "`title` - kasou" (title may be NULL) showing `d`,
 * sending input to `in` (copied; its callbacks may be NULL).  NULL with a
 * message in err when there is no desktop or SDL fails.
 */
struct sdl_ui *sdl_ui_new(struct display *d, const char *title, const struct ui_input *in,
                          char *err, size_t errlen);
/*
 * Show what changed in `d` since the last call (and clear its dirty
 * rows), then handle the pending window events without waiting.  Call it
 * about every 16 ms of host time, after the VGA rendered into `d`.
 */
void sdl_ui_update(struct sdl_ui *ui);
/* Close the window (NULL is fine). */
void sdl_ui_free(struct sdl_ui *ui);

#endif
