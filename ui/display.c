/*
 * display.c - the in-memory screen shared by the VGA and the front ends
 * (see display.h).
 */
#include "display.h"

#include <stdlib.h>
#include <string.h>

struct display *display_new(void)
{
    struct display *d = calloc(1, sizeof(*d));
    if (d) {
        d->cursor_x = d->cursor_y = -1;
    }
    return d;
}

void display_free(struct display *d)
{
    if (d) {
        free(d->pixels);
        free(d);
    }
}

int display_resize(struct display *d, int width, int height)
{
    if (width <= 0 || height <= 0 || width > DISPLAY_MAX_W || height > DISPLAY_MAX_H) {
        return -1;
    }
    if (width != d->width || height != d->height) {
        uint32_t *p = calloc((size_t)width * (size_t)height, sizeof(*p));
        if (!p) {
            return -1;
        }
        free(d->pixels);
        d->pixels = p;
        d->width = width;
        d->height = height;
    } else {
        memset(d->pixels, 0, (size_t)width * (size_t)height * sizeof(*d->pixels));
    }
    display_mark_dirty(d, 0, height);
    return 0;
}

void display_mark_dirty(struct display *d, int y0, int y1)
{
    if (y0 < 0) {
        y0 = 0;
    }
    if (y1 > d->height) {
        y1 = d->height;
    }
    if (y0 >= y1) {
        return;
    }
    if (d->dirty_y0 >= d->dirty_y1) {
        d->dirty_y0 = y0;
        d->dirty_y1 = y1;
        return;
    }
    if (y0 < d->dirty_y0) {
        d->dirty_y0 = y0;
    }
    if (y1 > d->dirty_y1) {
        d->dirty_y1 = y1;
    }
}

void display_clear_dirty(struct display *d)
{
    d->dirty_y0 = d->dirty_y1 = 0;
}
