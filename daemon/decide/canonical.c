/* Canonical JSON, written the way jansson 2.14's dump.c, strconv.c and
 * utf.c write it (the rules in canonical.h), into the caller's buffer. */
#include "canonical.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CANONICAL_FLAGS (JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY)

/* Containers nested deeper than this are handed to json_dumps whole: it
 * finds circular references, where the writer here would recurse for
 * ever. Records nest three or four deep. */
#define DEPTH_LIMIT 64
/* Objects with up to this many members sort their keys on the stack, by
 * insertion (a record's detail has a handful). */
#define MEMBERS_ON_STACK 32
#define INSERTION_SORT_MAX 16

int sdat_canonical_reserve(struct sdat_canonical_buf *buf, size_t n)
{
    if (buf->len + n + 1 <= buf->cap) {
        return 0;
    }
    size_t grow = buf->cap ? buf->cap : 512;
    while (grow < buf->len + n + 1) {
        grow *= 2;
    }
    char *grown = realloc(buf->data, grow);
    if (!grown) {
        return -ENOMEM;
    }
    buf->data = grown;
    buf->cap = grow;
    return 0;
}

int sdat_canonical_raw(struct sdat_canonical_buf *buf, const char *s, size_t n)
{
    if (sdat_canonical_reserve(buf, n) < 0) {
        return -ENOMEM;
    }
    memcpy(buf->data + buf->len, s, n);
    buf->len += n;
    buf->data[buf->len] = '\0';
    return 0;
}

static int put_char(struct sdat_canonical_buf *buf, char c)
{
    if (sdat_canonical_reserve(buf, 1) < 0) {
        return -ENOMEM;
    }
    buf->data[buf->len++] = c;
    buf->data[buf->len] = '\0';
    return 0;
}

/* The length of the UTF-8 sequence at p (avail bytes left), or 0 when it
 * is not one that jansson's utf8_iterate accepts: a lead byte C2-F4, its
 * continuation bytes, no surrogate, nothing above U+10FFFF, not overlong. */
static size_t utf8_sequence(const unsigned char *p, size_t avail)
{
    size_t count;
    uint32_t value;
    if (p[0] >= 0xC2 && p[0] <= 0xDF) {
        count = 2;
        value = p[0] & 0x1F;
    } else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
        count = 3;
        value = p[0] & 0x0F;
    } else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
        count = 4;
        value = p[0] & 0x07;
    } else {
        return 0;
    }
    if (count > avail) {
        return 0;
    }
    for (size_t i = 1; i < count; i++) {
        if ((p[i] & 0xC0) != 0x80) {
            return 0;
        }
        value = (value << 6) | (p[i] & 0x3F);
    }
    if (value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF) || (count == 3 && value < 0x800) ||
        (count == 4 && value < 0x10000)) {
        return 0;
    }
    return count;
}

/* Like jansson, the bytes between escapes are written when the next
 * escape or the end is reached: on bytes that are not UTF-8 the string
 * stops after the last escape written (which json_dumps keeps for an
 * object key, whose error it ignores). */
int sdat_canonical_string(struct sdat_canonical_buf *buf, const char *str, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p = (const unsigned char *)str, *end = p + n, *run = p;

    if (put_char(buf, '"') < 0) {
        return -ENOMEM;
    }
    while (p < end) {
        unsigned char c = *p;
        if (c >= 0x80) {
            size_t k = utf8_sequence(p, (size_t)(end - p));
            if (k == 0) {
                return -EINVAL;
            }
            p += k;
            continue;
        }
        if (c >= 0x20 && c != '"' && c != '\\') {
            p++;
            continue;
        }
        char esc[6] = {'\\', 0, '0', '0', hex[c >> 4], hex[c & 15]};
        size_t esc_len = 2;
        switch (c) {
        case '"':
        case '\\':
            esc[1] = (char)c;
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            esc[1] = 'u';
            esc_len = 6;
            break;
        }
        if (sdat_canonical_raw(buf, (const char *)run, (size_t)(p - run)) < 0 ||
            sdat_canonical_raw(buf, esc, esc_len) < 0) {
            return -ENOMEM;
        }
        run = ++p;
    }
    if (sdat_canonical_raw(buf, (const char *)run, (size_t)(end - run)) < 0 ||
        put_char(buf, '"') < 0) {
        return -ENOMEM;
    }
    return 0;
}

int sdat_canonical_integer(struct sdat_canonical_buf *buf, int64_t v)
{
    char digits[24];
    char *p = digits + sizeof digits;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) {
        *--p = '-';
    }
    return sdat_canonical_raw(buf, p, (size_t)(digits + sizeof digits - p));
}

/* jansson's jsonp_dtostr at precision 0 (its snprintf build, not dtoa):
 * "%.17g"; the locale's decimal point back to '.' (the one byte that is
 * neither a digit, a sign nor 'e'); ".0" when there is neither '.' nor
 * 'e'; the exponent without '+' and leading zeros. */
static int put_real(struct sdat_canonical_buf *buf, double value)
{
    char text[100];
    int ret = snprintf(text, sizeof text, "%.17g", value);
    if (ret < 0 || (size_t)ret >= sizeof text) {
        return -EINVAL;
    }
    size_t length = (size_t)ret;
    bool point = false, exponent = false;
    for (size_t i = 0; i < length; i++) {
        char c = text[i];
        if (c == 'e') {
            exponent = true;
        } else if (!(c >= '0' && c <= '9') && c != '-' && c != '+') {
            if (!point) {
                text[i] = '.';
            }
            point = true;
        }
    }
    if (!point && !exponent) {
        if (length + 3 >= sizeof text) {
            return -EINVAL;
        }
        text[length++] = '.';
        text[length++] = '0';
        text[length] = '\0';
    }
    char *start = strchr(text, 'e');
    if (start) {
        start++;
        char *after = start + 1;
        if (*start == '-') {
            start++;
        }
        while (*after == '0') {
            after++;
        }
        if (after != start) {
            memmove(start, after, length - (size_t)(after - text));
            length -= (size_t)(after - start);
        }
    }
    return sdat_canonical_raw(buf, text, length);
}

struct member {
    const char *key;
    size_t len;
    const json_t *value;
};

/* jansson's compare_keys: bytes, then the shorter first. */
static int compare_members(const void *a, const void *b)
{
    const struct member *x = a, *y = b;
    int r = memcmp(x->key, y->key, x->len < y->len ? x->len : y->len);
    if (r != 0) {
        return r;
    }
    return x->len < y->len ? -1 : x->len > y->len;
}

static void sort_members(struct member *m, size_t n)
{
    if (n > INSERTION_SORT_MAX) {
        qsort(m, n, sizeof *m, compare_members);
        return;
    }
    for (size_t i = 1; i < n; i++) {
        struct member x = m[i];
        size_t j = i;
        while (j > 0 && compare_members(&m[j - 1], &x) > 0) {
            m[j] = m[j - 1];
            j--;
        }
        m[j] = x;
    }
}

static int put_value(struct sdat_canonical_buf *buf, const json_t *value, int depth);

static int put_object(struct sdat_canonical_buf *buf, const json_t *object, int depth)
{
    size_t n = json_object_size(object);
    if (n == 0) {
        return sdat_canonical_raw(buf, "{}", 2);
    }
    struct member on_stack[MEMBERS_ON_STACK];
    struct member *m = n <= MEMBERS_ON_STACK ? on_stack : malloc(n * sizeof *m);
    if (!m) {
        return -ENOMEM;
    }
    size_t count = 0;
    for (void *iter = json_object_iter((json_t *)object); iter && count < n;
         iter = json_object_iter_next((json_t *)object, iter)) {
        m[count].key = json_object_iter_key(iter);
        m[count].len = json_object_iter_key_len(iter);
        m[count].value = json_object_iter_value(iter);
        count++;
    }
    sort_members(m, count);
    int r = put_char(buf, '{');
    for (size_t i = 0; i < count && r == 0; i++) {
        if (i > 0 && (r = put_char(buf, ',')) < 0) {
            break;
        }
        r = sdat_canonical_string(buf, m[i].key, m[i].len);
        if (r == -EINVAL) {
            r = 0; /* json_dumps ignores a key's error: what it wrote stays */
        }
        if (r == 0) {
            r = put_char(buf, ':');
        }
        if (r == 0) {
            r = put_value(buf, m[i].value, depth + 1);
        }
    }
    if (r == 0) {
        r = put_char(buf, '}');
    }
    if (m != on_stack) {
        free(m);
    }
    return r;
}

static int put_array(struct sdat_canonical_buf *buf, const json_t *array, int depth)
{
    size_t n = json_array_size(array);
    int r = put_char(buf, '[');
    for (size_t i = 0; i < n && r == 0; i++) {
        if (i > 0 && (r = put_char(buf, ',')) < 0) {
            break;
        }
        r = put_value(buf, json_array_get(array, i), depth + 1);
    }
    if (r == 0) {
        r = put_char(buf, ']');
    }
    return r;
}

/* A container nested past DEPTH_LIMIT: json_dumps of it is the text it has
 * inside its parent, compact output having no indentation. */
static int put_by_jansson(struct sdat_canonical_buf *buf, const json_t *value)
{
    char *text = json_dumps(value, CANONICAL_FLAGS);
    if (!text) {
        return -EINVAL;
    }
    int r = sdat_canonical_raw(buf, text, strlen(text));
    free(text);
    return r;
}

static int put_value(struct sdat_canonical_buf *buf, const json_t *value, int depth)
{
    if (!value) {
        return -EINVAL;
    }
    switch (json_typeof(value)) {
    case JSON_OBJECT:
        return depth >= DEPTH_LIMIT ? put_by_jansson(buf, value) : put_object(buf, value, depth);
    case JSON_ARRAY:
        return depth >= DEPTH_LIMIT ? put_by_jansson(buf, value) : put_array(buf, value, depth);
    case JSON_STRING:
        return sdat_canonical_string(buf, json_string_value(value), json_string_length(value));
    case JSON_INTEGER:
        return sdat_canonical_integer(buf, json_integer_value(value));
    case JSON_REAL:
        return put_real(buf, json_real_value(value));
    case JSON_TRUE:
        return sdat_canonical_raw(buf, "true", 4);
    case JSON_FALSE:
        return sdat_canonical_raw(buf, "false", 5);
    case JSON_NULL:
        return sdat_canonical_raw(buf, "null", 4);
    }
    return -EINVAL;
}

int sdat_canonical_value(struct sdat_canonical_buf *buf, const json_t *value)
{
    return put_value(buf, value, 0);
}
