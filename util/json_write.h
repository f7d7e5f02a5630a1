/*
 * json_write.h - build JSON text in a growable buffer (QMP replies, events).
 *
 * The writer keeps the separators itself: open a container, then write
 * members (jsonw_key() before each value inside an object) or elements,
 * and close it.  The text uses QEMU's compact style, ", " between items
 * and ": " after keys, so replies look like the ones QMP clients already
 * see from QEMU.  Strings are escaped per RFC 8259; bytes >= 0x80 pass
 * through (UTF-8 stays UTF-8).  Out of memory, or nesting deeper than
 * JSONW_MAX_DEPTH, is sticky: jsonw_ok() reports it.
 */
#ifndef KASOU_JSON_WRITE_H
#define KASOU_JSON_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json;

#define JSONW_MAX_DEPTH 1024 /* above util/json.c's nesting limit */

struct jsonw {
    char *buf; /* NUL-terminated text so far */
    size_t len, cap;
    bool failed; /* an allocation failed */
    int depth;
    bool first[JSONW_MAX_DEPTH]; /* no item yet in the open container */
    bool after_key;              /* a key was written; its value comes next */
};

void jsonw_init(struct jsonw *w);
/* Forget the text but keep the buffer (for the next message). */
void jsonw_reset(struct jsonw *w);
void jsonw_free(struct jsonw *w);
bool jsonw_ok(const struct jsonw *w);
const char *jsonw_text(const struct jsonw *w);

void jsonw_obj_begin(struct jsonw *w);
void jsonw_obj_end(struct jsonw *w);
void jsonw_arr_begin(struct jsonw *w);
void jsonw_arr_end(struct jsonw *w);
/* The name of the next object member. */
void jsonw_key(struct jsonw *w, const char *key);

void jsonw_str(struct jsonw *w, const char *s);
void jsonw_strn(struct jsonw *w, const char *s, size_t len);
void jsonw_int(struct jsonw *w, int64_t v);
void jsonw_uint(struct jsonw *w, uint64_t v);
void jsonw_double(struct jsonw *w, double v);
void jsonw_bool(struct jsonw *w, bool v);
void jsonw_null(struct jsonw *w);
/* A value already in JSON form (the caller vouches for it). */
void jsonw_raw(struct jsonw *w, const char *json);
/* A parsed value (util/json.h), written back out (an echoed QMP id). */
void jsonw_value(struct jsonw *w, const struct json *v);

/* Shorthands for one object member. */
void jsonw_kv_str(struct jsonw *w, const char *key, const char *s);
void jsonw_kv_int(struct jsonw *w, const char *key, int64_t v);
void jsonw_kv_bool(struct jsonw *w, const char *key, bool v);

/* Append bytes after the JSON text (a line ending), outside the grammar. */
void jsonw_append(struct jsonw *w, const char *s);

#endif
