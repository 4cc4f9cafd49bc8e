/* `pattern` and `patternProperties`: POSIX extended regexes, with a direct
 * matcher for the shape nearly every pattern in schemas/ has, ^ATOM...ATOM$
 * where each atom is one literal ASCII character or a bracket of ASCII
 * characters and ranges, with an optional ?, *, + or {m,n}. glibc's regexec
 * was about an eighth of a validation's time (perf, bench_validate).
 *
 * The direct matcher decides exactly what regexec decides: every pattern is
 * still compiled by regcomp (so the same patterns are refused), and one
 * outside the subset, or a string that would take more than
 * MATCH_BUDGET steps of backtracking, goes to regexec. The subset excludes
 * '.', negated brackets, classes ([:alpha:]), backslashes inside brackets,
 * groups and alternation, so that no atom can match a byte outside ASCII:
 * a string with one then fails in both, whatever the locale. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "schema_internal.h"

#define MAX_ATOMS 64
#define MAX_REPEAT 1000
#define MATCH_BUDGET 4096

struct pattern_atom {
    uint64_t set[2]; /* the ASCII bytes the atom matches */
    size_t min, max; /* max SIZE_MAX: unbounded */
};

static bool atom_has(const struct pattern_atom *a, unsigned char c)
{
    return c < 128 && (a->set[c >> 6] >> (c & 63)) & 1;
}

static void atom_add(struct pattern_atom *a, unsigned char c)
{
    a->set[c >> 6] |= (uint64_t)1 << (c & 63);
}

static bool printable(char c)
{
    return c >= 0x20 && c <= 0x7e;
}

/* A bracket expression after its '['; the end, or NULL outside the subset.
 * '-' is literal only first or last; a range's ends are neither '-' nor
 * special to brackets. */
static const char *parse_bracket(const char *p, struct pattern_atom *a)
{
    if (*p == '^' || *p == ']') {
        return NULL;
    }
    const char *first = p;
    while (*p != ']') {
        char c = *p;
        if (!printable(c) || c == '[' || c == '\\') {
            return NULL;
        }
        if (c == '-' && p != first && p[1] != ']') {
            return NULL;
        }
        if (c != '-' && p[1] == '-' && p[2] != ']') {
            char hi = p[2];
            if (!printable(hi) || hi == '[' || hi == '\\' || hi == '-' || hi == ']' || hi < c) {
                return NULL;
            }
            for (int b = c; b <= hi; b++) {
                atom_add(a, (unsigned char)b);
            }
            p += 3;
            continue;
        }
        atom_add(a, (unsigned char)c);
        p++;
    }
    return p + 1;
}

/* A count of at most MAX_REPEAT; the end, or NULL. */
static const char *parse_count(const char *p, size_t *ret)
{
    if (*p < '0' || *p > '9') {
        return NULL;
    }
    size_t n = 0;
    while (*p >= '0' && *p <= '9') {
        n = n * 10 + (size_t)(*p++ - '0');
        if (n > MAX_REPEAT) {
            return NULL;
        }
    }
    *ret = n;
    return p;
}

/* A quantifier, if any, into a's limits; the end, or NULL. */
static const char *parse_quantifier(const char *p, struct pattern_atom *a)
{
    a->min = a->max = 1;
    switch (*p) {
    case '?':
        a->min = 0;
        return p + 1;
    case '*':
        a->min = 0;
        a->max = SIZE_MAX;
        return p + 1;
    case '+':
        a->max = SIZE_MAX;
        return p + 1;
    case '{':
        break;
    default:
        return p;
    }
    p = parse_count(p + 1, &a->min);
    if (!p) {
        return NULL;
    }
    a->max = a->min;
    if (*p == ',') {
        p++;
        a->max = SIZE_MAX;
        if (*p != '}' && !(p = parse_count(p, &a->max))) {
            return NULL;
        }
    }
    if (*p != '}' || a->max < a->min) {
        return NULL;
    }
    return p + 1;
}

/* The atoms of source, or NULL (and *ret_n 0) outside the subset. */
static struct pattern_atom *parse_simple(const char *source, size_t *ret_n)
{
    static const char escapable[] = ".[]()*+?{}|^$\\";
    struct pattern_atom atoms[MAX_ATOMS];
    size_t n = 0;
    *ret_n = 0;
    if (*source != '^') {
        return NULL;
    }
    const char *p = source + 1;
    while (!(p[0] == '$' && p[1] == '\0')) {
        if (n == MAX_ATOMS) {
            return NULL;
        }
        struct pattern_atom *a = &atoms[n];
        memset(a, 0, sizeof *a);
        char c = *p;
        if (c == '[') {
            p = parse_bracket(p + 1, a);
        } else if (c == '\\' && p[1] && strchr(escapable, p[1])) {
            atom_add(a, (unsigned char)p[1]);
            p += 2;
        } else if (printable(c) && !strchr(escapable, c)) {
            atom_add(a, (unsigned char)c);
            p++;
        } else {
            return NULL; /* '.', groups, alternation, anchors inside, NUL */
        }
        if (!p || !(p = parse_quantifier(p, a)) || (*p && strchr("?*+{", *p))) {
            return NULL; /* outside the subset, or a second quantifier */
        }
        n++;
    }
    struct pattern_atom *copy = malloc((n ? n : 1) * sizeof *copy);
    if (!copy) {
        return NULL;
    }
    memcpy(copy, atoms, n * sizeof *copy);
    *ret_n = n;
    return copy;
}

/* 1 when atoms i.. match s[pos..len) exactly, 0 when not, -1 when the
 * budget ran out first. Each atom takes as many bytes as it can, then
 * gives them back one by one. */
static int match_from(const struct pattern_atom *atoms, size_t n_atoms, size_t i,
                      const unsigned char *s, size_t len, size_t pos, long *budget)
{
    if (i == n_atoms) {
        return pos == len;
    }
    const struct pattern_atom *a = &atoms[i];
    size_t k = 0;
    while (k < a->max && pos + k < len && atom_has(a, s[pos + k])) {
        k++;
    }
    if (k < a->min) {
        return 0;
    }
    if (i + 1 == n_atoms) {
        return pos + k == len; /* fewer would leave more of s unmatched */
    }
    for (size_t j = k + 1; j-- > a->min;) {
        if (--*budget < 0) {
            return -1;
        }
        int r = match_from(atoms, n_atoms, i + 1, s, len, pos + j, budget);
        if (r != 0) {
            return r;
        }
    }
    return 0;
}

int sdat_schema_pattern_compile(struct sdat_schema_pattern *p, const char *source)
{
    memset(p, 0, sizeof *p);
    if (regcomp(&p->re, source, REG_EXTENDED | REG_NOSUB) != 0) {
        return -1;
    }
    p->atoms = parse_simple(source, &p->n_atoms);
    return 0;
}

bool sdat_schema_pattern_match(const struct sdat_schema_pattern *p, const char *s)
{
    if (p->atoms) {
        long budget = MATCH_BUDGET;
        int r =
            match_from(p->atoms, p->n_atoms, 0, (const unsigned char *)s, strlen(s), 0, &budget);
        if (r >= 0) {
            return r == 1;
        }
    }
    return regexec(&p->re, s, 0, NULL, 0) == 0;
}

void sdat_schema_pattern_free(struct sdat_schema_pattern *p)
{
    regfree(&p->re);
    free(p->atoms);
}
