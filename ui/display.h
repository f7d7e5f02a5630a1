/*
 * display.h - the screen the VGA draws into and the front ends show.
 *
 * A display is a framebuffer of 32-bit pixels (0x00RRGGBB) at the guest
 * mode's resolution, plus, while the guest is in a text mode, the text
 * itself (character and attribute per cell), which -screen-text and tests
 * read.  The VGA resizes it and marks the rows it redrew; a front end
 * (SDL window, headless) presents the dirty rows and clears the marks.
 */
#ifndef KASOU_DISPLAY_H
#define KASOU_DISPLAY_H

#include <stdbool.h>
#include <stdint.h>

#define DISPLAY_MAX_W 2560
#define DISPLAY_MAX_H 1600
#define DISPLAY_TEXT_MAX (132 * 60)

struct display {
    int width, height;      /* pixels */
    uint32_t *pixels;       /* width * height, row-major, 0x00RRGGBB */
    int dirty_y0, dirty_y1; /* rows [y0, y1) changed since last present */
    /* text mode contents: cols * rows cells, char | attr << 8; cols == 0
     * when the guest is in a graphics mode */
    int text_cols, text_rows;
    uint16_t text[DISPLAY_TEXT_MAX];
    int cursor_x, cursor_y; /* -1 when the cursor is off */
};

struct display *display_new(void);
void display_free(struct display *d);
/* Set the size (clears to black and marks all dirty); -1 if too large. */
int display_resize(struct display *d, int width, int height);
void display_mark_dirty(struct display *d, int y0, int y1);
void display_clear_dirty(struct display *d);

#endif
