/*
 * json.h - a small, strict JSON (RFC 8259) reader (test vectors, QMP commands).
 *
 * json_parse() builds a read-only tree in one arena owned by the returned
 * document; json_free() releases it all at once.  Object members keep
 * their order and are found by a linear scan (the test vectors have small
 * objects).  Strings are decoded to UTF-8 and NUL-terminated; a string
 * holding \u0000 keeps its full length in `len`.
 */
#ifndef KASOU_JSON_H
#define KASOU_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum json_type {
    JSON_NULL,
    JSON_BOOL,
    JSON_NUMBER,
    JSON_STRING,
    JSON_ARRAY,
    JSON_OBJECT,
};

struct json {
    enum json_type type;
    size_t len;             /* members, elements, or string bytes */
    const char *key;        /* member name inside an object, else NULL */
    union {
        bool b;
        double num;
        const char *str;
        const struct json *items;   /* arrays and objects */
    } u;
};

struct json_doc;

/*
 * Parse `len` bytes of JSON text.  On error returns NULL and writes
 * "line L, column C: what" into err (if errlen > 0).
 */
struct json_doc *json_parse(const char *text, size_t len, char *err, size_t errlen);
const struct json *json_root(const struct json_doc *doc);
void json_free(struct json_doc *doc);

/* Member `key` of an object, or NULL (also when v is not an object). */
const struct json *json_get(const struct json *v, const char *key);
/* Element i of an array or object, or NULL when out of range. */
const struct json *json_at(const struct json *v, size_t i);
/* Number of elements (arrays, objects); 0 for anything else. */
size_t json_count(const struct json *v);
/* The number, or `dflt` when v is NULL or not a number. */
double json_num(const struct json *v, double dflt);
/* The string, or NULL when v is NULL or not a string. */
const char *json_str(const struct json *v);
/*
 * The number as an integer when it is one and fits in [lo, hi];
 * returns false otherwise (out, when non-NULL, untouched).
 */
bool json_int(const struct json *v, int64_t lo, int64_t hi, int64_t *out);

#endif
