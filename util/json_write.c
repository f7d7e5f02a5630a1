/*
 * json_write.c - build JSON text in a growable buffer (see json_write.h).
 *
 * Every value goes through begin_value(), which writes the separator the
 * position needs: nothing after a key (the key wrote ": "), nothing for
 * the first item of a container, ", " otherwise.  Containers deeper than
 * JSONW_MAX_DEPTH (only an echoed, hostile value can nest that deep) fail
 * the writer rather than the process.
 */
#include "json_write.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

void jsonw_init(struct jsonw *w)
{
    memset(w, 0, sizeof(*w));
}

void jsonw_reset(struct jsonw *w)
{
    w->len = 0;
    if (w->buf) {
        w->buf[0] = '\0';
    }
    w->failed = false;
    w->depth = 0;
    w->after_key = false;
}

void jsonw_free(struct jsonw *w)
{
    free(w->buf);
    memset(w, 0, sizeof(*w));
}

bool jsonw_ok(const struct jsonw *w)
{
    return !w->failed;
}

const char *jsonw_text(const struct jsonw *w)
{
    return w->buf ? w->buf : "";
}

/* Make room for n more bytes plus the terminating NUL. */
static bool reserve(struct jsonw *w, size_t n)
{
    if (w->failed) {
        return false;
    }
    if (w->len + n + 1 <= w->cap) {
        return true;
    }
    size_t cap = w->cap ? w->cap : 256;
    while (cap < w->len + n + 1) {
        cap *= 2;
    }
    char *p = realloc(w->buf, cap);
    if (!p) {
        w->failed = true;
        return false;
    }
    w->buf = p;
    w->cap = cap;
    return true;
}

static void put(struct jsonw *w, const char *s, size_t n)
{
    if (reserve(w, n)) {
        memcpy(w->buf + w->len, s, n);
        w->len += n;
        w->buf[w->len] = '\0';
    }
}

static void puts_(struct jsonw *w, const char *s)
{
    put(w, s, strlen(s));
}

static void begin_value(struct jsonw *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (w->depth > 0 && w->depth <= JSONW_MAX_DEPTH) {
        if (!w->first[w->depth - 1]) {
            puts_(w, ", ");
        }
        w->first[w->depth - 1] = false;
    }
}

static void open_container(struct jsonw *w, const char *bracket)
{
    begin_value(w);
    if (w->depth >= JSONW_MAX_DEPTH) {
        w->failed = true;
        w->depth++;
        return;
    }
    puts_(w, bracket);
    w->first[w->depth++] = true;
}

static void close_container(struct jsonw *w, const char *bracket)
{
    assert(w->depth > 0 && !w->after_key);
    if (w->depth-- > JSONW_MAX_DEPTH) {
        return;
    }
    puts_(w, bracket);
}

void jsonw_obj_begin(struct jsonw *w)
{
    open_container(w, "{");
}

void jsonw_obj_end(struct jsonw *w)
{
    close_container(w, "}");
}

void jsonw_arr_begin(struct jsonw *w)
{
    open_container(w, "[");
}

void jsonw_arr_end(struct jsonw *w)
{
    close_container(w, "]");
}

/* A quoted, escaped string (no separator). */
static void put_string(struct jsonw *w, const char *s, size_t len)
{
    put(w, "\"", 1);
    size_t run = 0; /* bytes copied as they are, flushed in one go */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char hex[8];
        switch (c) {
        case '"':
            esc = "\\\"";
            break;
        case '\\':
            esc = "\\\\";
            break;
        case '\b':
            esc = "\\b";
            break;
        case '\f':
            esc = "\\f";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        case '\t':
            esc = "\\t";
            break;
        default:
            if (c < 0x20 || c == 0x7f) {
                snprintf(hex, sizeof(hex), "\\u%04x", c);
                esc = hex;
            }
            break;
        }
        if (esc) {
            put(w, s + i - run, run);
            run = 0;
            puts_(w, esc);
        } else {
            run++;
        }
    }
    put(w, s + len - run, run);
    put(w, "\"", 1);
}

void jsonw_key(struct jsonw *w, const char *key)
{
    assert(w->depth > 0 && !w->after_key);
    begin_value(w);
    put_string(w, key, strlen(key));
    puts_(w, ": ");
    w->after_key = true;
}

void jsonw_strn(struct jsonw *w, const char *s, size_t len)
{
    begin_value(w);
    put_string(w, s, len);
}

void jsonw_str(struct jsonw *w, const char *s)
{
    jsonw_strn(w, s, strlen(s));
}

void jsonw_int(struct jsonw *w, int64_t v)
{
    char num[32];
    snprintf(num, sizeof(num), "%" PRId64, v);
    begin_value(w);
    puts_(w, num);
}

void jsonw_uint(struct jsonw *w, uint64_t v)
{
    char num[32];
    snprintf(num, sizeof(num), "%" PRIu64, v);
    begin_value(w);
    puts_(w, num);
}

void jsonw_double(struct jsonw *w, double v)
{
    char num[40];
    if (!isfinite(v)) {
        jsonw_null(w); /* JSON has no infinities */
        return;
    }
    if (v == floor(v) && fabs(v) < 9007199254740992.0) {
        snprintf(num, sizeof(num), "%.0f", v);
    } else {
        snprintf(num, sizeof(num), "%.17g", v);
    }
    begin_value(w);
    puts_(w, num);
}

void jsonw_bool(struct jsonw *w, bool v)
{
    begin_value(w);
    puts_(w, v ? "true" : "false");
}

void jsonw_null(struct jsonw *w)
{
    begin_value(w);
    puts_(w, "null");
}

void jsonw_raw(struct jsonw *w, const char *json)
{
    begin_value(w);
    puts_(w, json);
}

void jsonw_value(struct jsonw *w, const struct json *v)
{
    switch (v->type) {
    case JSON_NULL:
        jsonw_null(w);
        break;
    case JSON_BOOL:
        jsonw_bool(w, v->u.b);
        break;
    case JSON_NUMBER:
        jsonw_double(w, v->u.num);
        break;
    case JSON_STRING:
        jsonw_strn(w, v->u.str, v->len);
        break;
    case JSON_ARRAY:
        jsonw_arr_begin(w);
        for (size_t i = 0; i < v->len; i++) {
            jsonw_value(w, &v->u.items[i]);
        }
        jsonw_arr_end(w);
        break;
    case JSON_OBJECT:
        jsonw_obj_begin(w);
        for (size_t i = 0; i < v->len; i++) {
            jsonw_key(w, v->u.items[i].key);
            jsonw_value(w, &v->u.items[i]);
        }
        jsonw_obj_end(w);
        break;
    }
}

void jsonw_kv_str(struct jsonw *w, const char *key, const char *s)
{
    jsonw_key(w, key);
    jsonw_str(w, s);
}

void jsonw_kv_int(struct jsonw *w, const char *key, int64_t v)
{
    jsonw_key(w, key);
    jsonw_int(w, v);
}

void jsonw_kv_bool(struct jsonw *w, const char *key, bool v)
{
    jsonw_key(w, key);
    jsonw_bool(w, v);
}

void jsonw_append(struct jsonw *w, const char *s)
{
    puts_(w, s);
}
