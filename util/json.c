/*
 * json.c - a small, strict JSON reader (see json.h).
 *
 * A recursive-descent parser over a byte buffer that need not be
 * NUL-terminated.  Nodes and decoded strings live in one arena of chunks
 * owned by the document.  While a container is being parsed its children
 * collect on a growable scratch stack (a child is complete before it is
 * pushed, so nested containers simply use the stack above their parent's
 * part); when the container closes, its children move to the arena as one
 * array.  Nesting is limited so hostile input cannot exhaust the C stack.
 * Bytes >= 0x80 inside strings are passed through unchecked.
 */
#include "json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 512
#define CHUNK_MIN (256u * 1024u)

struct chunk {
    struct chunk *next;
    size_t used, size;
    max_align_t data[];
};

struct json_doc {
    struct chunk *chunks;
    struct json root;
};

struct parser {
    const char *start, *p, *end;
    struct json_doc *doc;
    struct json *stack;     /* children of the containers being parsed */
    size_t sp, cap;
    int depth;
    bool failed;
    char *err;
    size_t errlen;
};

static void *arena_alloc(struct json_doc *doc, size_t n)
{
    n = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
    struct chunk *c = doc->chunks;
    if (!c || c->size - c->used < n) {
        size_t size = n > CHUNK_MIN ? n : CHUNK_MIN;
        c = malloc(sizeof(*c) + size);
        if (!c) {
            return NULL;
        }
        c->next = doc->chunks;
        c->used = 0;
        c->size = size;
        doc->chunks = c;
    }
    void *ptr = (char *)c->data + c->used;
    c->used += n;
    return ptr;
}

/* Record the first error with its line and column; always returns false. */
static bool fail(struct parser *ps, const char *fmt, ...)
{
    if (ps->failed) {
        return false;
    }
    ps->failed = true;
    if (!ps->errlen) {
        return false;
    }
    int line = 1, col = 1;
    for (const char *q = ps->start; q < ps->p; q++) {
        if (*q == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    int n = snprintf(ps->err, ps->errlen, "line %d, column %d: ", line, col);
    if (n >= 0 && (size_t)n < ps->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ps->err + n, ps->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return false;
}

static void skip_ws(struct parser *ps)
{
    while (ps->p < ps->end &&
           (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')) {
        ps->p++;
    }
}

static bool push_child(struct parser *ps, const struct json *v)
{
    if (ps->sp == ps->cap) {
        size_t cap = ps->cap ? ps->cap * 2 : 256;
        struct json *s = realloc(ps->stack, cap * sizeof(*s));
        if (!s) {
            return fail(ps, "out of memory");
        }
        ps->stack = s;
        ps->cap = cap;
    }
    ps->stack[ps->sp++] = *v;
    return true;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Four hex digits after "\u"; -1 if malformed. */
static long read_u4(struct parser *ps)
{
    if (ps->end - ps->p < 4) {
        return -1;
    }
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(ps->p[i]);
        if (h < 0) {
            return -1;
        }
        v = v * 16 + h;
    }
    ps->p += 4;
    return v;
}

static size_t put_utf8(char *out, unsigned long cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* The code point of a \u escape (after the backslash-u), joining surrogates. */
static bool read_escape_u(struct parser *ps, unsigned long *cp)
{
    long hi = read_u4(ps);
    if (hi < 0) {
        return fail(ps, "bad \\u escape");
    }
    if (hi >= 0xDC00 && hi <= 0xDFFF) {
        return fail(ps, "lone low surrogate");
    }
    if (hi < 0xD800 || hi > 0xDBFF) {
        *cp = (unsigned long)hi;
        return true;
    }
    if (ps->end - ps->p < 2 || ps->p[0] != '\\' || ps->p[1] != 'u') {
        return fail(ps, "high surrogate without a low one");
    }
    ps->p += 2;
    long lo = read_u4(ps);
    if (lo < 0xDC00 || lo > 0xDFFF) {
        return fail(ps, "bad low surrogate");
    }
    *cp = 0x10000 + (((unsigned long)hi - 0xD800) << 10) + ((unsigned long)lo - 0xDC00);
    return true;
}

static bool decode_escape(struct parser *ps, char *out, size_t *n)
{
    static const char from[] = "\"\\/bfnrt";
    static const char to[] = "\"\\/\b\f\n\r\t";
    char c = *ps->p++;
    const char *k = c ? strchr(from, c) : NULL;
    if (k) {
        out[(*n)++] = to[k - from];
        return true;
    }
    if (c != 'u') {
        ps->p--;
        return fail(ps, "bad escape '\\%c'", c);
    }
    unsigned long cp = 0;
    if (!read_escape_u(ps, &cp)) {
        return false;
    }
    *n += put_utf8(out + *n, cp);
    return true;
}

/* A string starting at the opening quote; decoded into the arena. */
static bool parse_string(struct parser *ps, const char **s, size_t *len)
{
    const char *q = ++ps->p;
    while (q < ps->end && *q != '"') {
        q += (*q == '\\' && q + 1 < ps->end) ? 2 : 1;
    }
    if (q >= ps->end) {
        return fail(ps, "unterminated string");
    }
    /* decoding never grows the text: \uXXXX (6 bytes) is at most 3 bytes,
     * a surrogate pair (12 bytes) 4 */
    char *out = arena_alloc(ps->doc, (size_t)(q - ps->p) + 1);
    if (!out) {
        return fail(ps, "out of memory");
    }
    size_t n = 0;
    while (*ps->p != '"') {
        unsigned char c = (unsigned char)*ps->p;
        if (c < 0x20) {
            return fail(ps, "control character in string");
        }
        ps->p++;
        if (c != '\\') {
            out[n++] = (char)c;
        } else if (!decode_escape(ps, out, &n)) {
            return false;
        }
    }
    ps->p++;
    out[n] = '\0';
    *s = out;
    *len = n;
    return true;
}

static size_t scan_digits(struct parser *ps, const char *q)
{
    const char *d = q;
    while (d < ps->end && *d >= '0' && *d <= '9') {
        d++;
    }
    return (size_t)(d - q);
}

static bool parse_number(struct parser *ps, struct json *v)
{
    const char *q = ps->p;
    if (q < ps->end && *q == '-') {
        q++;
    }
    size_t n = scan_digits(ps, q);
    if (n == 0) {
        return fail(ps, q == ps->p ? "unexpected character" : "bad number");
    }
    if (n > 1 && *q == '0') {
        return fail(ps, "bad number: leading zero");
    }
    q += n;
    if (q < ps->end && *q == '.') {
        n = scan_digits(ps, ++q);
        if (n == 0) {
            return fail(ps, "bad number: no digits after '.'");
        }
        q += n;
    }
    if (q < ps->end && (*q == 'e' || *q == 'E')) {
        q++;
        if (q < ps->end && (*q == '+' || *q == '-')) {
            q++;
        }
        n = scan_digits(ps, q);
        if (n == 0) {
            return fail(ps, "bad number: no exponent digits");
        }
        q += n;
    }
    size_t len = (size_t)(q - ps->p);
    char small[64];
    char *buf = len < sizeof(small) ? small : malloc(len + 1);
    if (!buf) {
        return fail(ps, "out of memory");
    }
    memcpy(buf, ps->p, len);
    buf[len] = '\0';
    v->type = JSON_NUMBER;
    v->u.num = strtod(buf, NULL);
    if (buf != small) {
        free(buf);
    }
    ps->p = q;
    return true;
}

static bool parse_value(struct parser *ps, struct json *v);

/* Move the children above `base` off the stack into the arena. */
static bool close_container(struct parser *ps, struct json *v, size_t base)
{
    v->len = ps->sp - base;
    v->u.items = NULL;
    if (v->len) {
        struct json *items = arena_alloc(ps->doc, v->len * sizeof(*items));
        if (!items) {
            return fail(ps, "out of memory");
        }
        memcpy(items, ps->stack + base, v->len * sizeof(*items));
        v->u.items = items;
    }
    ps->sp = base;
    return true;
}

static bool parse_member(struct parser *ps, bool object)
{
    struct json child = { 0 };
    const char *key = NULL;
    if (object) {
        size_t klen;
        skip_ws(ps);
        if (ps->p >= ps->end || *ps->p != '"') {
            return fail(ps, "expected a member name");
        }
        if (!parse_string(ps, &key, &klen)) {
            return false;
        }
        skip_ws(ps);
        if (ps->p >= ps->end || *ps->p != ':') {
            return fail(ps, "expected ':'");
        }
        ps->p++;
    }
    if (!parse_value(ps, &child)) {
        return false;
    }
    child.key = key;
    return push_child(ps, &child);
}

static bool parse_container(struct parser *ps, struct json *v, bool object)
{
    char close = object ? '}' : ']';
    size_t base = ps->sp;
    if (++ps->depth > MAX_DEPTH) {
        return fail(ps, "nesting deeper than %d", MAX_DEPTH);
    }
    v->type = object ? JSON_OBJECT : JSON_ARRAY;
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
    } else {
        for (;;) {
            if (!parse_member(ps, object)) {
                return false;
            }
            skip_ws(ps);
            if (ps->p < ps->end && *ps->p == ',') {
                ps->p++;
                continue;
            }
            if (ps->p < ps->end && *ps->p == close) {
                ps->p++;
                break;
            }
            return fail(ps, "expected ',' or '%c'", close);
        }
    }
    ps->depth--;
    return close_container(ps, v, base);
}

static bool parse_literal(struct parser *ps, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0) {
        return fail(ps, "unexpected character");
    }
    ps->p += n;
    return true;
}

static bool parse_value(struct parser *ps, struct json *v)
{
    skip_ws(ps);
    if (ps->p >= ps->end) {
        return fail(ps, "unexpected end of input");
    }
    memset(v, 0, sizeof(*v));
    switch (*ps->p) {
    case '{':
        return parse_container(ps, v, true);
    case '[':
        return parse_container(ps, v, false);
    case '"':
        v->type = JSON_STRING;
        return parse_string(ps, &v->u.str, &v->len);
    case 't':
        v->type = JSON_BOOL;
        v->u.b = true;
        return parse_literal(ps, "true");
    case 'f':
        v->type = JSON_BOOL;
        return parse_literal(ps, "false");
    case 'n':
        v->type = JSON_NULL;
        return parse_literal(ps, "null");
    default:
        return parse_number(ps, v);
    }
}

struct json_doc *json_parse(const char *text, size_t len, char *err, size_t errlen)
{
    struct json_doc *doc = calloc(1, sizeof(*doc));
    struct parser ps = {
        .start = text, .p = text, .end = text + len, .doc = doc,
        .err = err, .errlen = errlen,
    };
    if (!doc) {
        fail(&ps, "out of memory");
        return NULL;
    }
    bool ok = parse_value(&ps, &doc->root);
    if (ok) {
        skip_ws(&ps);
        if (ps.p != ps.end) {
            ok = fail(&ps, "trailing characters after the value");
        }
    }
    free(ps.stack);
    if (!ok) {
        json_free(doc);
        return NULL;
    }
    return doc;
}

const struct json *json_root(const struct json_doc *doc)
{
    return &doc->root;
}

void json_free(struct json_doc *doc)
{
    if (!doc) {
        return;
    }
    struct chunk *c = doc->chunks;
    while (c) {
        struct chunk *next = c->next;
        free(c);
        c = next;
    }
    free(doc);
}

const struct json *json_get(const struct json *v, const char *key)
{
    if (!v || v->type != JSON_OBJECT) {
        return NULL;
    }
    for (size_t i = 0; i < v->len; i++) {
        if (strcmp(v->u.items[i].key, key) == 0) {
            return &v->u.items[i];
        }
    }
    return NULL;
}

const struct json *json_at(const struct json *v, size_t i)
{
    if (!v || (v->type != JSON_ARRAY && v->type != JSON_OBJECT) || i >= v->len) {
        return NULL;
    }
    return &v->u.items[i];
}

size_t json_count(const struct json *v)
{
    return (v && (v->type == JSON_ARRAY || v->type == JSON_OBJECT)) ? v->len : 0;
}

double json_num(const struct json *v, double dflt)
{
    return (v && v->type == JSON_NUMBER) ? v->u.num : dflt;
}

const char *json_str(const struct json *v)
{
    return (v && v->type == JSON_STRING) ? v->u.str : NULL;
}

bool json_int(const struct json *v, int64_t lo, int64_t hi, int64_t *out)
{
    if (!v || v->type != JSON_NUMBER) {
        return false;
    }
    double d = v->u.num;
    if (!(d >= (double)lo && d <= (double)hi)) {
        return false;
    }
    int64_t i = (int64_t)d;
    if ((double)i != d) {
        return false;
    }
    if (out) {
        *out = i;
    }
    return true;
}
