#include "names.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- normalisation ---- */

struct fold_range {
    uint16_t first, last; /* Unicode code points, inclusive */
    const char *ascii;
};

/* Latin-1 Supplement letters and Latin Extended-A, folded to what an English
 * form-filler would type without the accent. Ligatures and letters with no
 * single base letter (æ, ß, þ, œ, ĳ) become two letters so that "Æthelred"
 * still compares close to "Aethelred". × and ÷ are absent, hence dropped. */
static const struct fold_range fold_ranges[] = {
    {0x00C0, 0x00C5, "a"},  {0x00C6, 0x00C6, "ae"}, {0x00C7, 0x00C7, "c"},  {0x00C8, 0x00CB, "e"},
    {0x00CC, 0x00CF, "i"},  {0x00D0, 0x00D0, "d"},  {0x00D1, 0x00D1, "n"},  {0x00D2, 0x00D6, "o"},
    {0x00D8, 0x00D8, "o"},  {0x00D9, 0x00DC, "u"},  {0x00DD, 0x00DD, "y"},  {0x00DE, 0x00DE, "th"},
    {0x00DF, 0x00DF, "ss"}, {0x00E0, 0x00E5, "a"},  {0x00E6, 0x00E6, "ae"}, {0x00E7, 0x00E7, "c"},
    {0x00E8, 0x00EB, "e"},  {0x00EC, 0x00EF, "i"},  {0x00F0, 0x00F0, "d"},  {0x00F1, 0x00F1, "n"},
    {0x00F2, 0x00F6, "o"},  {0x00F8, 0x00F8, "o"},  {0x00F9, 0x00FC, "u"},  {0x00FD, 0x00FD, "y"},
    {0x00FE, 0x00FE, "th"}, {0x00FF, 0x00FF, "y"},  {0x0100, 0x0105, "a"},  {0x0106, 0x010D, "c"},
    {0x010E, 0x0111, "d"},  {0x0112, 0x011B, "e"},  {0x011C, 0x0123, "g"},  {0x0124, 0x0127, "h"},
    {0x0128, 0x0131, "i"},  {0x0132, 0x0133, "ij"}, {0x0134, 0x0135, "j"},  {0x0136, 0x0138, "k"},
    {0x0139, 0x0142, "l"},  {0x0143, 0x014B, "n"},  {0x014C, 0x0151, "o"},  {0x0152, 0x0153, "oe"},
    {0x0154, 0x0159, "r"},  {0x015A, 0x0161, "s"},  {0x0162, 0x0167, "t"},  {0x0168, 0x0173, "u"},
    {0x0174, 0x0175, "w"},  {0x0176, 0x0178, "y"},  {0x0179, 0x017E, "z"},  {0x017F, 0x017F, "s"},
};

static const char *fold_code_point(uint32_t code_point)
{
    for (size_t i = 0; i < sizeof fold_ranges / sizeof fold_ranges[0]; i++) {
        if (code_point >= fold_ranges[i].first && code_point <= fold_ranges[i].last) {
            return fold_ranges[i].ascii;
        }
    }
    return NULL;
}

/* Bytes taken by the UTF-8 sequence at p (at least 1, never past the NUL),
 * with its code point in *ret_code_point, or UINT32_MAX when malformed: a
 * malformed or unknown sequence is dropped whole, not byte by byte, so a
 * stray continuation byte never turns into a letter. */
static size_t decode_utf8(const unsigned char *p, uint32_t *ret_code_point)
{
    size_t need;
    uint32_t code_point;

    if (p[0] < 0x80) {
        *ret_code_point = p[0];
        return 1;
    } else if (p[0] >= 0xC2 && p[0] <= 0xDF) {
        need = 1;
        code_point = p[0] & 0x1Fu;
    } else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
        need = 2;
        code_point = p[0] & 0x0Fu;
    } else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
        need = 3;
        code_point = p[0] & 0x07u;
    } else {
        *ret_code_point = UINT32_MAX;
        return 1;
    }
    for (size_t i = 1; i <= need; i++) {
        if ((p[i] & 0xC0u) != 0x80u) {
            *ret_code_point = UINT32_MAX;
            return i;
        }
        code_point = (code_point << 6) | (p[i] & 0x3Fu);
    }
    *ret_code_point = code_point;
    return need + 1;
}

size_t sdat_name_normalise(const char *in, char *out, size_t outlen)
{
    const unsigned char *p = (const unsigned char *)(in ? in : "");
    size_t n = 0;

    if (!out || outlen == 0) {
        return 0;
    }
    while (*p) {
        uint32_t code_point;
        char letter[2] = {0, 0};
        const char *ascii = NULL;

        p += decode_utf8(p, &code_point);
        if (code_point >= 'a' && code_point <= 'z') {
            letter[0] = (char)code_point;
            ascii = letter;
        } else if (code_point >= 'A' && code_point <= 'Z') {
            letter[0] = (char)(code_point - 'A' + 'a');
            ascii = letter;
        } else if (code_point != UINT32_MAX) {
            ascii = fold_code_point(code_point);
        }
        for (; ascii && *ascii; ascii++) {
            if (n + 1 >= outlen) {
                goto out;
            }
            out[n++] = *ascii;
        }
    }
out:
    out[n] = '\0';
    return n;
}

/* ---- Jaro-Winkler ---- */

double sdat_jaro_winkler(const char *a, const char *b)
{
    unsigned char small[256];
    unsigned char *a_matched, *b_matched;
    size_t a_len = a ? strlen(a) : 0, b_len = b ? strlen(b) : 0;
    size_t matches = 0, half_transpositions = 0, prefix = 0;
    double jaro;

    /* An empty name is no evidence, so it scores 0.0 even against another
     * empty name (the API's contract puts "either is empty" first). */
    if (a_len == 0 || b_len == 0) {
        return 0.0;
    }
    if (strcmp(a, b) == 0) {
        return 1.0;
    }
    /* Names fit the stack; anything longer is still compared, on the heap.
     * A double cannot report failure, so running out of memory aborts, as
     * in ids.c. */
    a_matched = a_len + b_len <= sizeof small ? small : malloc(a_len + b_len);
    if (!a_matched) {
        abort();
    }
    memset(a_matched, 0, a_len + b_len);
    b_matched = a_matched + a_len;

    size_t longer = a_len > b_len ? a_len : b_len;
    size_t window = longer / 2 > 0 ? longer / 2 - 1 : 0;
    for (size_t i = 0; i < a_len; i++) {
        size_t lo = i > window ? i - window : 0;
        size_t hi = i + window + 1 < b_len ? i + window + 1 : b_len;
        for (size_t j = lo; j < hi; j++) {
            if (!b_matched[j] && a[i] == b[j]) {
                a_matched[i] = b_matched[j] = 1;
                matches++;
                break;
            }
        }
    }
    if (matches == 0) {
        jaro = 0.0;
        goto out;
    }
    for (size_t i = 0, j = 0; i < a_len; i++) {
        if (!a_matched[i]) {
            continue;
        }
        while (!b_matched[j]) {
            j++;
        }
        if (a[i] != b[j]) {
            half_transpositions++;
        }
        j++;
    }
    /* Integer halving, as in Winkler's strcmp95 and most libraries, so that
     * scores agree with the published reference values. */
    double m = (double)matches;
    double t = (double)(half_transpositions / 2);
    jaro = (m / (double)a_len + m / (double)b_len + (m - t) / m) / 3.0;
    while (prefix < 4 && prefix < a_len && prefix < b_len && a[prefix] == b[prefix]) {
        prefix++;
    }
    jaro += (double)prefix * 0.1 * (1.0 - jaro);
out:
    if (a_matched != small) {
        free(a_matched);
    }
    return jaro;
}

/* ---- Soundex ---- */

void sdat_name_soundex(const char *name, char out[5])
{
    /* a..z: '0' a vowel (separates equal codes), '-' h and w (do not). */
    static const char codes[] = "0123012-02245501262301-202";
    const char *p = name ? name : "";
    size_t n = 0;
    char last = 0;

    out[0] = '\0';
    for (; *p && n < 4; p++) {
        char c = *p;
        if (c >= 'A' && c <= 'Z') {
            c = (char)(c - 'A' + 'a');
        }
        /* Anything but a letter is ignored, neither coded nor a separator. */
        if (c < 'a' || c > 'z') {
            continue;
        }
        char code = codes[c - 'a'];
        if (n == 0) {
            out[n++] = (char)(c - 'a' + 'A');
            last = code;
        } else if (code == '-') {
            continue;
        } else if (code == '0') {
            last = code;
        } else if (code != last) {
            out[n++] = code;
            last = code;
        }
    }
    if (n == 0) {
        return;
    }
    while (n < 4) {
        out[n++] = '0';
    }
    out[n] = '\0';
}

/* ---- nicknames ---- */

struct nickname_entry {
    const char *name; /* points into text */
    size_t group;
};

/* One slot of the index of distinct names: the first entry of the name's
 * run, or SIZE_MAX where empty, and the name's hash. */
struct nickname_slot {
    size_t first;
    uint32_t hash;
};

struct sdat_nicknames {
    char *text;                     /* a copy of the list, names NUL-terminated in place */
    struct nickname_entry *entries; /* sorted by name, then group */
    size_t entry_count;
    size_t group_count;
    /* Open addressing over the distinct names (a power of two, at most
     * half full): a name is looked up for every candidate of every police
     * child, so a hash probe rather than a binary search of strcmp. */
    struct nickname_slot *slots;
    size_t slot_mask;
};

void sdat_nicknames_free(sdat_nicknames_t *nicknames)
{
    if (!nicknames) {
        return;
    }
    free(nicknames->text);
    free(nicknames->entries);
    free(nicknames->slots);
    free(nicknames);
}

size_t sdat_nicknames_count(const sdat_nicknames_t *nicknames)
{
    return nicknames ? nicknames->group_count : 0;
}

static int compare_entries(const void *x, const void *y)
{
    const struct nickname_entry *a = x, *b = y;
    int c = strcmp(a->name, b->name);
    if (c != 0) {
        return c;
    }
    return a->group < b->group ? -1 : a->group > b->group;
}

/* Describes what is wrong at the first invalid byte of a name line; the list
 * is configuration, not child data, so quoting it is allowed. */
static void describe_bad_byte(char *msg, size_t msglen, unsigned char c)
{
    if (c >= 'A' && c <= 'Z') {
        snprintf(msg, msglen, "upper-case letter '%c': names are lower-case a-z", c);
    } else if (c >= '0' && c <= '9') {
        snprintf(msg, msglen, "digit '%c': names are lower-case a-z", c);
    } else if (c == ' ') {
        snprintf(msg, msglen,
                 "names must be separated by exactly one space, with none at the "
                 "start or end of the line");
    } else if (c > ' ' && c < 0x7F) {
        snprintf(msg, msglen, "unexpected character '%c': names are lower-case a-z", c);
    } else {
        snprintf(msg, msglen, "unexpected byte 0x%02X: names are lower-case a-z", c);
    }
}

/* Checks one name line, [line, line + len), and splits it in place into
 * NUL-terminated names appended to *entries as group `group`. */
static int parse_group(char *line, size_t len, size_t group, struct nickname_entry **entries,
                       size_t *count, size_t *capacity, char *msg, size_t msglen)
{
    size_t first = *count;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)line[i];
        bool space_ok = c == ' ' && i > 0 && i + 1 < len && line[i + 1] != ' ';
        if (!(c >= 'a' && c <= 'z') && !space_ok) {
            describe_bad_byte(msg, msglen, c);
            return -EINVAL;
        }
    }
    for (size_t i = 0; i < len;) {
        size_t end = i;
        while (end < len && line[end] != ' ') {
            end++;
        }
        line[end] = '\0';
        for (size_t k = first; k < *count; k++) {
            if (strcmp((*entries)[k].name, line + i) == 0) {
                snprintf(msg, msglen, "name \"%s\" appears twice in the group", line + i);
                return -EINVAL;
            }
        }
        if (*count == *capacity) {
            size_t grown = *capacity ? *capacity * 2 : 1024;
            struct nickname_entry *more = realloc(*entries, grown * sizeof *more);
            if (!more) {
                snprintf(msg, msglen, "out of memory");
                return -ENOMEM;
            }
            *entries = more;
            *capacity = grown;
        }
        (*entries)[(*count)++] = (struct nickname_entry){.name = line + i, .group = group};
        i = end + 1;
    }
    /* A one-name line matches nothing, so it is most likely a lost line
     * break or a pasting mistake. */
    if (*count - first < 2) {
        snprintf(msg, msglen, "a group needs at least two names");
        return -EINVAL;
    }
    return 0;
}

/* FNV-1a: names are short, and the table is at most half full. */
static uint32_t name_hash(const char *name)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        h = (h ^ *p) * 16777619u;
    }
    return h;
}

/* Builds the index of distinct names over the sorted entries. */
static int index_names(sdat_nicknames_t *nicknames)
{
    size_t size = 16;
    while (size < 2 * nicknames->entry_count) {
        size *= 2;
    }
    nicknames->slots = malloc(size * sizeof *nicknames->slots);
    if (!nicknames->slots) {
        return -ENOMEM;
    }
    nicknames->slot_mask = size - 1;
    for (size_t i = 0; i < size; i++) {
        nicknames->slots[i].first = SIZE_MAX;
    }
    const struct nickname_entry *e = nicknames->entries;
    for (size_t i = 0; i < nicknames->entry_count; i++) {
        if (i > 0 && strcmp(e[i - 1].name, e[i].name) == 0) {
            continue; /* the same run */
        }
        uint32_t h = name_hash(e[i].name);
        size_t k = h & nicknames->slot_mask;
        while (nicknames->slots[k].first != SIZE_MAX) {
            k = (k + 1) & nicknames->slot_mask;
        }
        nicknames->slots[k] = (struct nickname_slot){.first = i, .hash = h};
    }
    return 0;
}

int sdat_nicknames_parse(const char *text, size_t len, sdat_nicknames_t **ret_nicknames, char *err,
                         size_t errlen)
{
    sdat_nicknames_t *nicknames = NULL;
    size_t capacity = 0, line_number = 0;
    char msg[256] = "";
    int r;

    nicknames = calloc(1, sizeof *nicknames);
    if (!nicknames || !(nicknames->text = malloc(len + 1))) {
        snprintf(msg, sizeof msg, "out of memory");
        r = -ENOMEM;
        goto fail;
    }
    if (len > 0) {
        memcpy(nicknames->text, text, len);
    }
    nicknames->text[len] = '\0';

    for (size_t start = 0; start < len;) {
        char *line = nicknames->text + start;
        char *newline = memchr(line, '\n', len - start);
        size_t line_len = newline ? (size_t)(newline - line) : len - start;
        start += line_len + 1;
        line_number++;

        /* Tolerate a file saved with CRLF line ends. */
        if (line_len > 0 && line[line_len - 1] == '\r') {
            line_len--;
        }
        size_t skip = strspn(line, " \t");
        if (skip >= line_len || line[skip] == '#') {
            continue;
        }
        r = parse_group(line, line_len, nicknames->group_count, &nicknames->entries,
                        &nicknames->entry_count, &capacity, msg, sizeof msg);
        if (r < 0) {
            goto fail;
        }
        nicknames->group_count++;
    }
    if (nicknames->entry_count > 0) {
        qsort(nicknames->entries, nicknames->entry_count, sizeof *nicknames->entries,
              compare_entries);
    }
    if (index_names(nicknames) < 0) {
        snprintf(msg, sizeof msg, "out of memory");
        r = -ENOMEM;
        goto fail;
    }
    *ret_nicknames = nicknames;
    return 0;

fail:
    if (err && errlen > 0) {
        snprintf(err, errlen, "%zu: %s", line_number, msg);
    }
    sdat_nicknames_free(nicknames);
    return r;
}

/* Index of the first entry of name's run, or entry_count when the list
 * does not have the name. */
static size_t find_run(const sdat_nicknames_t *nicknames, const char *name)
{
    uint32_t h = name_hash(name);
    for (size_t k = h & nicknames->slot_mask;; k = (k + 1) & nicknames->slot_mask) {
        const struct nickname_slot *slot = &nicknames->slots[k];
        if (slot->first == SIZE_MAX) {
            return nicknames->entry_count;
        }
        if (slot->hash == h && strcmp(nicknames->entries[slot->first].name, name) == 0) {
            return slot->first;
        }
    }
}

bool sdat_nicknames_equivalent(const sdat_nicknames_t *nicknames, const char *a, const char *b)
{
    if (!nicknames || !a || !b || strcmp(a, b) == 0) {
        return false;
    }
    const struct nickname_entry *e = nicknames->entries;
    size_t n = nicknames->entry_count;
    size_t i = find_run(nicknames, a), j = find_run(nicknames, b);
    /* Both runs are sorted by group, so one merge walk finds a shared one. */
    while (i < n && j < n && strcmp(e[i].name, a) == 0 && strcmp(e[j].name, b) == 0) {
        if (e[i].group == e[j].group) {
            return true;
        }
        if (e[i].group < e[j].group) {
            i++;
        } else {
            j++;
        }
    }
    return false;
}
