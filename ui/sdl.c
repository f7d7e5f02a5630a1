/*
 * sdl.c - the SDL2 window (see sdl.h).  The only file that includes SDL.
 *
 * Picture: one streaming texture the size of the guest mode, in SDL's
 * XRGB8888 format (the display's 0x00RRGGBB words as they are); each
 * update uploads only the display's dirty band of rows.  The renderer's
 * logical size is the mode's, so SDL scales the texture to the window and
 * letterboxes it to keep the aspect; nearest-pixel scaling keeps text
 * sharp at integer scales.
 *
 * Keyboard: by scancode (the key's position), so the guest's own keyboard
 * layout applies.  Host autorepeat arrives as more key-down events and is
 * passed on as such (the PS/2 keyboard model does not repeat by itself).
 * The keys the guest holds are remembered, so a key-up is only sent for a
 * key the guest saw go down (the Ctrl+Alt+G/F hot keys are swallowed), and
 * everything held is released when the window loses the focus (Alt+Tab
 * would otherwise leave Alt stuck down in the guest).
 *
 * Mouse: nothing goes to the guest until a click grabs the pointer; then
 * SDL's relative mode gives raw motion, which is summed over one update
 * and sent as one movement (flushed early when a button changes).
 */
#include "ui/sdl.h"

#include <SDL.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/i8042.h"
#include "ui/keymap.h"
#include "util/log.h"

/* keymap.c numbers keys by SDL scancode without including SDL. */
_Static_assert(SDL_SCANCODE_A == 4 && SDL_SCANCODE_RGUI == 0xE7 &&
                   SDL_SCANCODE_AUDIONEXT == 258 && SDL_SCANCODE_SLEEP == 282,
               "SDL scancodes are USB HID usages (keymap.c relies on it)");

#define KEY_CODES (I8042_KEY_PAUSE + 1)
#define TITLE_MAX 160
#define GRAB_HINT " (Press Ctrl+Alt+G to release grab)"

struct sdl_ui {
    struct display *d;
    struct ui_input in;
    SDL_Window *win;
    SDL_Renderer *ren;
    SDL_Texture *tex;
    int tex_w, tex_h;           /* the texture's size: the mode last shown */
    char title[TITLE_MAX];      /* "NAME - kasou" */
    bool grabbed;
    bool redraw;                /* present even if nothing is dirty */
    int buttons;                /* I8042_BTN_* held */
    int mdx, mdy, mdz;          /* motion not yet sent */
    bool held[KEY_CODES];       /* keys the guest has seen go down */
};

static void set_title(struct sdl_ui *ui)
{
    char t[TITLE_MAX + sizeof(GRAB_HINT)];
    snprintf(t, sizeof(t), "%s%s", ui->title, ui->grabbed ? GRAB_HINT : "");
    SDL_SetWindowTitle(ui->win, t);
}

static void set_grab(struct sdl_ui *ui, bool on)
{
    if (ui->grabbed == on) {
        return;
    }
    if (SDL_SetRelativeMouseMode(on ? SDL_TRUE : SDL_FALSE) < 0 && on) {
        log_warn("sdl: cannot grab the mouse: %s", SDL_GetError());
        return;
    }
    SDL_SetWindowGrab(ui->win, on ? SDL_TRUE : SDL_FALSE);
    ui->grabbed = on;
    set_title(ui);
}

static void send_key(struct sdl_ui *ui, int code, bool down)
{
    if (code < 0 || code >= KEY_CODES) {
        return;
    }
    if (!down && !ui->held[code]) {
        return;
    }
    ui->held[code] = down;
    if (ui->in.key) {
        ui->in.key(ui->in.opaque, code, down);
    }
}

static void release_keys(struct sdl_ui *ui)
{
    for (int code = 0; code < KEY_CODES; code++) {
        if (ui->held[code]) {
            send_key(ui, code, false);
        }
    }
}

static void flush_mouse(struct sdl_ui *ui)
{
    if ((ui->mdx || ui->mdy || ui->mdz) && ui->in.mouse) {
        ui->in.mouse(ui->in.opaque, ui->mdx, ui->mdy, ui->mdz, ui->buttons);
    }
    ui->mdx = ui->mdy = ui->mdz = 0;
}

static int button_bit(Uint8 button)
{
    switch (button) {
    case SDL_BUTTON_LEFT:
        return I8042_BTN_LEFT;
    case SDL_BUTTON_RIGHT:
        return I8042_BTN_RIGHT;
    case SDL_BUTTON_MIDDLE:
        return I8042_BTN_MIDDLE;
    case SDL_BUTTON_X1:
        return I8042_BTN_4;
    case SDL_BUTTON_X2:
        return I8042_BTN_5;
    default:
        return 0;
    }
}

static void mouse_button(struct sdl_ui *ui, const SDL_MouseButtonEvent *e, bool down)
{
    if (!ui->grabbed) {
        if (down && e->button == SDL_BUTTON_LEFT) {
            set_grab(ui, true); /* the grabbing click is not the guest's */
        }
        return;
    }
    int buttons = down ? ui->buttons | button_bit(e->button)
                       : ui->buttons & ~button_bit(e->button);
    if (buttons == ui->buttons) {
        return;
    }
    flush_mouse(ui); /* motion so far happened with the old buttons */
    ui->buttons = buttons;
    if (ui->in.mouse) {
        ui->in.mouse(ui->in.opaque, 0, 0, 0, buttons);
    }
}

static void toggle_fullscreen(struct sdl_ui *ui)
{
    bool full = SDL_GetWindowFlags(ui->win) & SDL_WINDOW_FULLSCREEN;
    if (SDL_SetWindowFullscreen(ui->win, full ? 0 : SDL_WINDOW_FULLSCREEN_DESKTOP) < 0) {
        log_warn("sdl: cannot switch fullscreen: %s", SDL_GetError());
    }
    ui->redraw = true;
}

/* Ctrl+Alt+G and Ctrl+Alt+F belong to kasou; true if `e` was one. */
static bool hot_key(struct sdl_ui *ui, const SDL_KeyboardEvent *e)
{
    SDL_Keymod mod = SDL_GetModState();
    if (!(mod & KMOD_CTRL) || !(mod & KMOD_ALT)) {
        return false;
    }
    switch (e->keysym.scancode) {
    case SDL_SCANCODE_G:
        if (!e->repeat) {
            set_grab(ui, false);
        }
        return true;
    case SDL_SCANCODE_F:
        if (!e->repeat) {
            toggle_fullscreen(ui);
        }
        return true;
    default:
        return false;
    }
}

static void window_event(struct sdl_ui *ui, const SDL_WindowEvent *e)
{
    switch (e->event) {
    case SDL_WINDOWEVENT_FOCUS_LOST:
        release_keys(ui);
        set_grab(ui, false);
        break;
    case SDL_WINDOWEVENT_EXPOSED:
    case SDL_WINDOWEVENT_SIZE_CHANGED:
    case SDL_WINDOWEVENT_RESTORED:
        ui->redraw = true;
        break;
    default:
        break;
    }
}

static void handle_event(struct sdl_ui *ui, const SDL_Event *ev)
{
    switch (ev->type) {
    case SDL_QUIT:
        if (ui->in.quit) {
            ui->in.quit(ui->in.opaque);
        }
        break;
    case SDL_KEYDOWN:
        if (!hot_key(ui, &ev->key)) {
            send_key(ui, keymap_sdl(ev->key.keysym.scancode), true);
        }
        break;
    case SDL_KEYUP:
        send_key(ui, keymap_sdl(ev->key.keysym.scancode), false);
        break;
    case SDL_MOUSEMOTION:
        if (ui->grabbed) {
            ui->mdx += ev->motion.xrel;
            ui->mdy += ev->motion.yrel;
        }
        break;
    case SDL_MOUSEBUTTONDOWN:
    case SDL_MOUSEBUTTONUP:
        mouse_button(ui, &ev->button, ev->type == SDL_MOUSEBUTTONDOWN);
        break;
    case SDL_MOUSEWHEEL:
        if (ui->grabbed) {
            /* SDL's y is notches away from the user, the guest's dz toward */
            int y = ev->wheel.direction == SDL_MOUSEWHEEL_FLIPPED ? -ev->wheel.y : ev->wheel.y;
            ui->mdz -= y;
        }
        break;
    case SDL_WINDOWEVENT:
        window_event(ui, &ev->window);
        break;
    default:
        break;
    }
}

/* The window size for a w x h mode: the largest integer scale that fits the
 * desktop (2x for modes narrower than 640, so 320x200 is not tiny), or the
 * desktop's size with the aspect kept if even 1x does not fit. */
static void window_size(struct sdl_ui *ui, int w, int h, int *ww, int *wh)
{
    SDL_Rect ub = { 0, 0, 1 << 14, 1 << 14 };
    int idx = SDL_GetWindowDisplayIndex(ui->win);
    if (idx < 0 || SDL_GetDisplayUsableBounds(idx, &ub) < 0) {
        ub.w = ub.h = 1 << 14;
    }
    int scale = w < 640 ? (640 + w - 1) / w : 1;
    while (scale > 1 && (w * scale > ub.w || h * scale > ub.h)) {
        scale--;
    }
    *ww = w * scale;
    *wh = h * scale;
    if (*ww > ub.w || *wh > ub.h) {
        double f = (double)ub.w / w < (double)ub.h / h ? (double)ub.w / w : (double)ub.h / h;
        *ww = (int)(w * f);
        *wh = (int)(h * f);
    }
}

/* Follow a mode change: a new texture, logical size and window size. */
static bool resize_texture(struct sdl_ui *ui)
{
    struct display *d = ui->d;
    if (ui->tex) {
        SDL_DestroyTexture(ui->tex);
        ui->tex = NULL;
    }
    ui->tex_w = d->width;
    ui->tex_h = d->height;
    ui->tex = SDL_CreateTexture(ui->ren, SDL_PIXELFORMAT_RGB888, SDL_TEXTUREACCESS_STREAMING,
                                d->width, d->height);
    if (!ui->tex) {
        log_warn("sdl: cannot show a %dx%d mode: %s", d->width, d->height, SDL_GetError());
        return false;
    }
    SDL_RenderSetLogicalSize(ui->ren, d->width, d->height);
    Uint32 flags = SDL_GetWindowFlags(ui->win);
    if (!(flags & (SDL_WINDOW_FULLSCREEN | SDL_WINDOW_MAXIMIZED))) {
        int ww, wh;
        window_size(ui, d->width, d->height, &ww, &wh);
        SDL_SetWindowSize(ui->win, ww, wh);
    }
    return true;
}

/* Upload the dirty rows; true if the window needs presenting. */
static bool upload(struct sdl_ui *ui)
{
    struct display *d = ui->d;
    if (!d->pixels || d->width <= 0 || d->height <= 0) {
        return false;
    }
    if (d->width != ui->tex_w || d->height != ui->tex_h) {
        if (!resize_texture(ui)) {
            return false;
        }
        display_mark_dirty(d, 0, d->height);
    }
    if (!ui->tex || d->dirty_y0 >= d->dirty_y1) {
        return false;
    }
    SDL_Rect band = { 0, d->dirty_y0, d->width, d->dirty_y1 - d->dirty_y0 };
    const uint32_t *src = d->pixels + (size_t)d->dirty_y0 * (size_t)d->width;
    if (SDL_UpdateTexture(ui->tex, &band, src, d->width * (int)sizeof(uint32_t)) < 0) {
        log_once("sdl: texture upload failed: %s", SDL_GetError());
    }
    display_clear_dirty(d);
    return true;
}

void sdl_ui_update(struct sdl_ui *ui)
{
    if (upload(ui) || ui->redraw) {
        SDL_SetRenderDrawColor(ui->ren, 0, 0, 0, 255);
        SDL_RenderClear(ui->ren);
        if (ui->tex) {
            SDL_RenderCopy(ui->ren, ui->tex, NULL, NULL);
        }
        SDL_RenderPresent(ui->ren);
        ui->redraw = false;
    }
    SDL_Event ev;
    while (SDL_PollEvent(&ev)) {
        handle_event(ui, &ev);
    }
    flush_mouse(ui);
}

static int open_window(struct sdl_ui *ui, char *err, size_t errlen)
{
    int w = ui->d->width > 0 ? ui->d->width : 640;
    int h = ui->d->height > 0 ? ui->d->height : 400;
    ui->win = SDL_CreateWindow(ui->title, SDL_WINDOWPOS_UNDEFINED, SDL_WINDOWPOS_UNDEFINED, w, h,
                               SDL_WINDOW_RESIZABLE);
    if (!ui->win) {
        snprintf(err, errlen, "cannot open a window: %s", SDL_GetError());
        return -1;
    }
    ui->ren = SDL_CreateRenderer(ui->win, -1, SDL_RENDERER_ACCELERATED);
    if (!ui->ren) {
        ui->ren = SDL_CreateRenderer(ui->win, -1, SDL_RENDERER_SOFTWARE);
    }
    if (!ui->ren) {
        snprintf(err, errlen, "cannot draw in the window: %s", SDL_GetError());
        return -1;
    }
    /* Keys go to the guest as keys: no input method composing text. */
    SDL_StopTextInput();
    ui->redraw = true;
    return 0;
}

/*
 * Is there a desktop?  On X11/Wayland systems without $DISPLAY or
 * $WAYLAND_DISPLAY, SDL would fall back to a window nobody sees (its
 * "offscreen" driver), after libwayland complained on stderr; an explicit
 * $SDL_VIDEODRIVER (kmsdrm on a console, dummy in tests) is obeyed.
 */
static bool env_set(const char *name)
{
    const char *v = getenv(name);
    return v && *v;
}

static bool desktop_present(void)
{
#if defined(_WIN32) || defined(__APPLE__) || defined(__HAIKU__)
    return true;
#else
    return env_set("SDL_VIDEODRIVER") || env_set("DISPLAY") || env_set("WAYLAND_DISPLAY");
#endif
}

/* Did SDL settle for a driver that shows nothing, unasked? */
static bool invisible_driver(void)
{
    const char *drv = SDL_GetCurrentVideoDriver();
    const char *want = getenv("SDL_VIDEODRIVER");
    if (!drv || (want && !SDL_strcasecmp(want, drv))) {
        return false;
    }
    return !SDL_strcasecmp(drv, "offscreen") || !SDL_strcasecmp(drv, "dummy");
}

struct sdl_ui *sdl_ui_new(struct display *d, const char *title, const struct ui_input *in,
                          char *err, size_t errlen)
{
    struct sdl_ui *ui = calloc(1, sizeof(*ui));
    if (!ui) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    ui->d = d;
    if (in) {
        ui->in = *in;
    }
    snprintf(ui->title, sizeof(ui->title), "%s%skasou", title && *title ? title : "",
             title && *title ? " - " : "");
    /* kasou handles its own signals; nearest scaling keeps pixels square;
     * a grab takes the keyboard too, so Alt+Tab reaches the guest. */
    SDL_SetHint(SDL_HINT_NO_SIGNAL_HANDLERS, "1");
    SDL_SetHint(SDL_HINT_RENDER_SCALE_QUALITY, "0");
    SDL_SetHint(SDL_HINT_GRAB_KEYBOARD, "1");
    SDL_SetHint(SDL_HINT_VIDEO_MINIMIZE_ON_FOCUS_LOSS, "0");
    if (!desktop_present()) {
        snprintf(err, errlen, "no desktop to open a window on ($DISPLAY and "
                 "$WAYLAND_DISPLAY are unset; use -display none or -nographic)");
        free(ui);
        return NULL;
    }
    if (SDL_InitSubSystem(SDL_INIT_VIDEO) < 0) {
        snprintf(err, errlen, "cannot start SDL video: %s", SDL_GetError());
        free(ui);
        return NULL;
    }
    if (invisible_driver()) {
        snprintf(err, errlen, "no desktop to open a window on (SDL found only its '%s' "
                 "video driver)", SDL_GetCurrentVideoDriver());
        SDL_QuitSubSystem(SDL_INIT_VIDEO);
        free(ui);
        return NULL;
    }
    if (open_window(ui, err, errlen) < 0) {
        sdl_ui_free(ui);
        return NULL;
    }
    return ui;
}

void sdl_ui_free(struct sdl_ui *ui)
{
    if (!ui) {
        return;
    }
    if (ui->win) {
        set_grab(ui, false);
    }
    if (ui->tex) {
        SDL_DestroyTexture(ui->tex);
    }
    if (ui->ren) {
        SDL_DestroyRenderer(ui->ren);
    }
    if (ui->win) {
        SDL_DestroyWindow(ui->win);
    }
    SDL_QuitSubSystem(SDL_INIT_VIDEO);
    if (!SDL_WasInit(SDL_INIT_EVERYTHING)) {
        SDL_Quit();
    }
    free(ui);
}
