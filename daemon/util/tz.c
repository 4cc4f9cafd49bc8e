/* A reader of TZif files (RFC 8536, versions 1 to 4) and of the POSIX TZ
 * strings in their footers (POSIX.1-2017 §8.3 with RFC 8536's extensions:
 * quoted names like <+03>, rule times from -167 to 167 hours). Local times
 * are computed from the zone's own data, never through the C library's
 * localtime and the process's TZ, which one thread cannot change safely
 * while others read it. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "civil.h"
#include "tz.h"

#define TZ_DEFAULT_DIR "/usr/share/zoneinfo"
#define TZ_MAX_FILE_SIZE (1 << 20)
#define TZ_MAX_NAME 255
#define TZIF_HEADER_SIZE 44
#define SECONDS_PER_DAY 86400
/* RFC 8536 §3.2 says a UT offset SHOULD lie in [-89999, 93599]; requiring
 * it bounds the instants sdat_tz_from_local has to look at. */
#define UTOFF_MIN (-89999)
#define UTOFF_MAX 93599
/* Instants are clamped to about ±2.2 million years, so that a day count
 * fits int32_t and no sum of an instant and an offset overflows. */
#define INSTANT_LIMIT ((int64_t)1 << 46)

enum rule_kind {
    RULE_JULIAN,     /* Jn: 1..365, 29 February never counted */
    RULE_ZERO_BASED, /* n: 0..365, 29 February counted */
    RULE_MONTH,      /* Mm.w.d */
};

struct tz_rule {
    enum rule_kind kind;
    int day;      /* Jn and n: the day number; Mm.w.d: the weekday, 0 = Sunday */
    int week;     /* Mm.w.d: 1..5, 5 = the last in the month */
    int month;    /* Mm.w.d: 1..12 */
    int32_t time; /* seconds after local midnight of the rule's date */
};

struct posix_tz {
    int32_t std_utoff, dst_utoff; /* seconds east of UTC */
    bool has_dst;
    struct tz_rule start, end; /* start: to DST, in standard time; end: back, in DST */
};

struct tz_type {
    int32_t utoff;
    bool isdst;
};

struct sdat_tz {
    char *name;
    size_t n_transitions;
    int64_t *transitions;      /* strictly ascending */
    uint8_t *transition_types; /* index into types, one per transition */
    size_t n_types;
    struct tz_type *types;
    bool has_footer; /* a non-empty TZ string governs after the last transition */
    struct posix_tz footer;
    struct sdat_tz *next; /* in the cache */
};

/* Zones are never freed: callers borrow them for the life of the process. */
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sdat_tz *cache;

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t clamp_instant(int64_t unix_s)
{
    if (unix_s < -INSTANT_LIMIT) {
        return -INSTANT_LIMIT;
    }
    return unix_s > INSTANT_LIMIT ? INSTANT_LIMIT : unix_s;
}

/* ---- POSIX TZ strings ---- */

static bool is_alpha(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* A zone abbreviation: three or more letters, or <…> around three or more
 * letters, digits, '+' and '-'. The end of it, or NULL. */
static const char *parse_abbreviation(const char *p)
{
    const char *q = p;
    if (*p == '<') {
        for (q = p + 1; is_alpha(*q) || is_digit(*q) || *q == '+' || *q == '-'; q++) {
        }
        return *q == '>' && q - p - 1 >= 3 ? q + 1 : NULL;
    }
    while (is_alpha(*q)) {
        q++;
    }
    return q - p >= 3 ? q : NULL;
}

/* Decimal digits whose value is at most MAX. */
static const char *parse_number(const char *p, int max, int *ret)
{
    int value = 0;
    if (!p || !is_digit(*p)) {
        return NULL;
    }
    for (; is_digit(*p); p++) {
        value = value * 10 + (*p - '0');
        if (value > max) {
            return NULL;
        }
    }
    *ret = value;
    return p;
}

/* [+|-]hh[:mm[:ss]], hh at most MAX_HOURS → signed seconds. */
static const char *parse_hms(const char *p, int max_hours, int32_t *ret)
{
    int sign = 1, h = 0, m = 0, s = 0;
    if (*p == '+' || *p == '-') {
        sign = *p == '-' ? -1 : 1;
        p++;
    }
    p = parse_number(p, max_hours, &h);
    if (p && *p == ':') {
        p = parse_number(p + 1, 59, &m);
        if (p && *p == ':') {
            p = parse_number(p + 1, 59, &s);
        }
    }
    if (p) {
        *ret = sign * (h * 3600 + m * 60 + s);
    }
    return p;
}

/* date[/time]: Jn, n or Mm.w.d; the time defaults to 02:00. */
static const char *parse_rule(const char *p, struct tz_rule *r)
{
    *r = (struct tz_rule){.time = 2 * 3600};
    if (*p == 'J') {
        r->kind = RULE_JULIAN;
        p = parse_number(p + 1, 365, &r->day);
        if (p && r->day < 1) {
            return NULL;
        }
    } else if (*p == 'M') {
        r->kind = RULE_MONTH;
        p = parse_number(p + 1, 12, &r->month);
        if (!p || r->month < 1 || *p != '.') {
            return NULL;
        }
        p = parse_number(p + 1, 5, &r->week);
        if (!p || r->week < 1 || *p != '.') {
            return NULL;
        }
        p = parse_number(p + 1, 6, &r->day);
    } else {
        r->kind = RULE_ZERO_BASED;
        p = parse_number(p, 365, &r->day);
    }
    if (p && *p == '/') {
        p = parse_hms(p + 1, 167, &r->time);
    }
    return p;
}

/* std offset [dst [offset] [,start[/time],end[/time]]] */
static int parse_posix_tz(const char *s, struct posix_tz *ret)
{
    struct posix_tz f = {0};
    int32_t offset = 0;
    const char *p = parse_abbreviation(s);

    if (!p || !(p = parse_hms(p, 24, &offset))) {
        return -EINVAL;
    }
    f.std_utoff = -offset; /* POSIX offsets count west of Greenwich */
    if (*p != '\0') {
        p = parse_abbreviation(p);
        if (!p) {
            return -EINVAL;
        }
        f.has_dst = true;
        f.dst_utoff = f.std_utoff + 3600;
        if (*p != ',' && *p != '\0') {
            p = parse_hms(p, 24, &offset);
            if (!p) {
                return -EINVAL;
            }
            f.dst_utoff = -offset;
        }
        if (*p == ',') {
            p = parse_rule(p + 1, &f.start);
            if (!p || *p != ',') {
                return -EINVAL;
            }
            p = parse_rule(p + 1, &f.end);
            if (!p) {
                return -EINVAL;
            }
        } else {
            /* POSIX leaves the rules to the implementation; tzcode and
             * glibc take the United States' current ones. */
            parse_rule("M3.2.0", &f.start);
            parse_rule("M11.1.0", &f.end);
        }
    }
    if (*p != '\0' || f.std_utoff < UTOFF_MIN || f.std_utoff > UTOFF_MAX ||
        f.dst_utoff < UTOFF_MIN || f.dst_utoff > UTOFF_MAX) {
        return -EINVAL;
    }
    *ret = f;
    return 0;
}

static bool leap_year(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* The local date (days since 1970-01-01) a rule names in YEAR. */
static int64_t rule_day(const struct tz_rule *r, int year)
{
    int32_t jan1 = sdat_days_from_civil(year, 1, 1);
    if (r->kind == RULE_JULIAN) {
        return jan1 + r->day - 1 + (leap_year(year) && r->day >= 60);
    }
    if (r->kind == RULE_ZERO_BASED) {
        return jan1 + r->day;
    }
    int32_t first = sdat_days_from_civil(year, r->month, 1);
    int32_t next_month = r->month == 12 ? sdat_days_from_civil(year + 1, 1, 1)
                                        : sdat_days_from_civil(year, r->month + 1, 1);
    int first_weekday = (int)((first % 7 + 7 + 4) % 7); /* 1970-01-01 was a Thursday */
    int64_t day = first + (r->day - first_weekday + 7) % 7 + (int64_t)(r->week - 1) * 7;
    if (day >= next_month) {
        day -= 7; /* week 5 is the last such weekday */
    }
    return day;
}

struct rule_transition {
    int64_t at;
    int year;
    bool to_dst;
};

/* Whether A comes after B. At one instant, a later year's transition comes
 * after an earlier year's, and a year's end after its start: "0/0,J365/25"
 * (each end meets the next year's start) is DST all year, as RFC 8536 says;
 * a start and an end at one instant of one year leave standard time. */
static bool rule_transition_after(const struct rule_transition *a, const struct rule_transition *b)
{
    if (a->at != b->at) {
        return a->at > b->at;
    }
    if (a->year != b->year) {
        return a->year > b->year;
    }
    return !a->to_dst && b->to_dst;
}

/* The footer's offset at instant U, and its next transition after U
 * (INT64_MAX when none). */
static int32_t footer_lookup(const struct posix_tz *f, int64_t u, int64_t *ret_next)
{
    *ret_next = INT64_MAX;
    if (!f->has_dst) {
        return f->std_utoff;
    }
    struct rule_transition last = {0};
    bool have_last = false;
    int y, m, d;
    sdat_civil_from_days((int32_t)floor_div(u, SECONDS_PER_DAY), &y, &m, &d);
    /* A rule's instant lies within a few days of its year (times reach
     * ±167 hours), so two years either side cover U's neighbours. */
    for (int year = y - 2; year <= y + 2; year++) {
        const struct rule_transition t[2] = {
            {rule_day(&f->start, year) * SECONDS_PER_DAY + f->start.time - f->std_utoff, year,
             true},
            {rule_day(&f->end, year) * SECONDS_PER_DAY + f->end.time - f->dst_utoff, year, false},
        };
        for (int i = 0; i < 2; i++) {
            if (t[i].at <= u) {
                if (!have_last || rule_transition_after(&t[i], &last)) {
                    last = t[i];
                    have_last = true;
                }
            } else if (t[i].at < *ret_next) {
                *ret_next = t[i].at;
            }
        }
    }
    return have_last && last.to_dst ? f->dst_utoff : f->std_utoff;
}

/* ---- Lookup ---- */

/* The offset at instant U, and the next transition after U (INT64_MAX when
 * none). Before the first transition, type 0 applies (RFC 8536 §3.2); after
 * the last, the footer's rules, else the last type. A file without
 * transitions but with a footer (a "slim" file for a zone whose rules have
 * not changed) follows the footer at every instant, as tzcode does. */
static int32_t lookup(const struct sdat_tz *tz, int64_t u, int64_t *ret_next)
{
    size_t n = tz->n_transitions;
    int64_t next = INT64_MAX;
    int32_t utoff;

    if (n > 0 && u < tz->transitions[0]) {
        utoff = tz->types[0].utoff;
        next = tz->transitions[0];
    } else if (n == 0 || u >= tz->transitions[n - 1]) {
        if (tz->has_footer) {
            utoff = footer_lookup(&tz->footer, u, &next);
        } else {
            utoff = tz->types[n > 0 ? tz->transition_types[n - 1] : 0].utoff;
        }
    } else {
        size_t lo = 0, hi = n - 1; /* transitions[lo] <= u < transitions[hi] */
        while (hi - lo > 1) {
            size_t mid = lo + (hi - lo) / 2;
            if (tz->transitions[mid] <= u) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        utoff = tz->types[tz->transition_types[lo]].utoff;
        next = tz->transitions[hi];
    }
    if (ret_next) {
        *ret_next = next;
    }
    return utoff;
}

int32_t sdat_tz_offset(const sdat_tz_t *tz, int64_t unix_s)
{
    return lookup(tz, clamp_instant(unix_s), NULL);
}

void sdat_tz_to_local(const sdat_tz_t *tz, int64_t unix_s, int32_t *ret_days, int32_t *ret_sec)
{
    int64_t u = clamp_instant(unix_s);
    int64_t local = u + lookup(tz, u, NULL);
    int64_t days = floor_div(local, SECONDS_PER_DAY);
    *ret_days = (int32_t)days;
    *ret_sec = (int32_t)(local - days * SECONDS_PER_DAY);
}

int64_t sdat_tz_from_local(const sdat_tz_t *tz, int32_t days, int32_t sec_of_day)
{
    int64_t local = clamp_instant((int64_t)days * SECONDS_PER_DAY + sec_of_day);
    /* Every instant that can show LOCAL lies in [local - UTOFF_MAX,
     * local - UTOFF_MIN]; walk its stretches of constant offset in order.
     * The first stretch that holds local - offset is the first occurrence.
     * Failing any, LOCAL is skipped: the end of the first gap over it. */
    int64_t u = local - UTOFF_MAX, last = local - UTOFF_MIN;
    int64_t gap_end = INT64_MIN;

    for (int i = 0; i < 10000 && u <= last; i++) {
        int64_t next;
        int32_t utoff = lookup(tz, u, &next);
        int64_t candidate = local - utoff;
        if (candidate >= u && candidate < next) {
            return candidate;
        }
        if (next > last) {
            break;
        }
        if (gap_end == INT64_MIN && next + utoff <= local &&
            local < next + lookup(tz, next, NULL)) {
            gap_end = next;
        }
        u = next;
    }
    if (gap_end != INT64_MIN) {
        return gap_end;
    }
    /* Not reached with offsets in range; a sensible answer all the same. */
    return local - lookup(tz, local, NULL);
}

/* ---- TZif ---- */

struct tzif_header {
    uint8_t version; /* 0, '2', '3', '4' */
    uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static int read_header(const uint8_t *p, size_t len, struct tzif_header *h)
{
    if (len < TZIF_HEADER_SIZE || memcmp(p, "TZif", 4) != 0) {
        return -EINVAL;
    }
    h->version = p[4];
    h->isutcnt = be32(p + 20);
    h->isstdcnt = be32(p + 24);
    h->leapcnt = be32(p + 28);
    h->timecnt = be32(p + 32);
    h->typecnt = be32(p + 36);
    h->charcnt = be32(p + 40);
    return 0;
}

static uint64_t block_size(const struct tzif_header *h, unsigned time_size)
{
    return (uint64_t)h->timecnt * time_size + h->timecnt + (uint64_t)h->typecnt * 6 + h->charcnt +
           (uint64_t)h->leapcnt * (time_size + 4) + h->isstdcnt + h->isutcnt;
}

/* The data block at P, block_size(h, time_size) bytes long, into TZ. */
static int read_block(const uint8_t *p, const struct tzif_header *h, unsigned time_size,
                      struct sdat_tz *tz)
{
    if (h->typecnt == 0 || h->typecnt > 256 || h->charcnt == 0 ||
        (h->isutcnt != 0 && h->isutcnt != h->typecnt) ||
        (h->isstdcnt != 0 && h->isstdcnt != h->typecnt)) {
        return -EINVAL;
    }
    /* Leap-second records mean transition times count leap seconds
     * (the "right/" zones); instants here are POSIX time. */
    if (h->leapcnt != 0) {
        return -EINVAL;
    }
    tz->transitions = calloc(h->timecnt ? h->timecnt : 1, sizeof *tz->transitions);
    tz->transition_types = calloc(h->timecnt ? h->timecnt : 1, 1);
    tz->types = calloc(h->typecnt, sizeof *tz->types);
    if (!tz->transitions || !tz->transition_types || !tz->types) {
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < h->timecnt; i++, p += time_size) {
        int64_t t = time_size == 8 ? (int64_t)be64(p) : (int32_t)be32(p);
        if (i > 0 && t <= tz->transitions[i - 1]) {
            return -EINVAL;
        }
        tz->transitions[i] = t;
    }
    for (uint32_t i = 0; i < h->timecnt; i++, p++) {
        if (*p >= h->typecnt) {
            return -EINVAL;
        }
        tz->transition_types[i] = *p;
    }
    for (uint32_t i = 0; i < h->typecnt; i++, p += 6) {
        int32_t utoff = (int32_t)be32(p);
        if (utoff < UTOFF_MIN || utoff > UTOFF_MAX || p[4] > 1 || p[5] >= h->charcnt) {
            return -EINVAL;
        }
        tz->types[i] = (struct tz_type){.utoff = utoff, .isdst = p[4] == 1};
    }
    /* The designations and the standard/wall and UT/local indicators are
     * not needed: the footer, not the indicators, extends the data. */
    tz->n_transitions = h->timecnt;
    tz->n_types = h->typecnt;
    return 0;
}

static int tzif_parse(const uint8_t *buf, size_t len, struct sdat_tz *tz)
{
    struct tzif_header h;
    size_t pos = TZIF_HEADER_SIZE;
    uint64_t size;
    int r = read_header(buf, len, &h);

    if (r < 0) {
        return r;
    }
    size = block_size(&h, 4);
    if (size > len - pos) {
        return -EINVAL;
    }
    if (h.version == 0) {
        return read_block(buf + pos, &h, 4, tz);
    }
    if (h.version < '2') {
        return -EINVAL;
    }
    /* Version 2 and later: skip the 32-bit block (RFC 8536 §4: a reader of
     * later versions ignores it), read the 64-bit one and the footer. */
    pos += (size_t)size;
    r = read_header(buf + pos, len - pos, &h);
    if (r < 0) {
        return r;
    }
    pos += TZIF_HEADER_SIZE;
    size = block_size(&h, 8);
    if (size > len - pos) {
        return -EINVAL;
    }
    r = read_block(buf + pos, &h, 8, tz);
    if (r < 0) {
        return r;
    }
    pos += (size_t)size;
    if (pos >= len || buf[pos] != '\n') {
        return -EINVAL;
    }
    const uint8_t *start = buf + pos + 1;
    const uint8_t *end = memchr(start, '\n', len - pos - 1);
    char footer[256];
    size_t footer_len = end ? (size_t)(end - start) : 0;
    if (!end || footer_len >= sizeof footer || memchr(start, '\0', footer_len)) {
        return -EINVAL;
    }
    if (footer_len == 0) {
        return 0; /* no rule: the last type stays */
    }
    memcpy(footer, start, footer_len);
    footer[footer_len] = '\0';
    r = parse_posix_tz(footer, &tz->footer);
    if (r < 0) {
        return r;
    }
    tz->has_footer = true;
    return 0;
}

static void tz_free(struct sdat_tz *tz)
{
    if (!tz) {
        return;
    }
    free(tz->name);
    free(tz->transitions);
    free(tz->transition_types);
    free(tz->types);
    free(tz);
}

static int tz_load(const char *name, struct sdat_tz **ret)
{
    const char *dir = getenv("TZDIR");
    char path[PATH_MAX];
    struct sdat_tz *tz = NULL;
    uint8_t *buf = NULL;
    size_t got = 0;
    struct stat sb;
    int fd = -1, r = 0;

    if (!dir || !dir[0]) {
        dir = TZ_DEFAULT_DIR;
    }
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path) {
        r = -EINVAL;
        goto out;
    }
    /* O_NONBLOCK: a FIFO planted in the database must not hang us. */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        r = errno == ENOENT || errno == ENOTDIR ? -ENOENT : -errno;
        goto out;
    }
    if (fstat(fd, &sb) < 0) {
        r = -errno;
        goto out;
    }
    if (!S_ISREG(sb.st_mode)) {
        r = -ENOENT; /* a directory such as "Europe" is not a zone */
        goto out;
    }
    if (sb.st_size > TZ_MAX_FILE_SIZE) {
        r = -EINVAL;
        goto out;
    }
    buf = malloc((size_t)sb.st_size + 1);
    tz = calloc(1, sizeof *tz);
    if (!buf || !tz || !(tz->name = strdup(name))) {
        r = -ENOMEM;
        goto out;
    }
    while (got < (size_t)sb.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)sb.st_size - got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            r = -errno;
            goto out;
        }
        if (n == 0) {
            break;
        }
        got += (size_t)n;
    }
    r = tzif_parse(buf, got, tz);
    if (r < 0) {
        goto out;
    }
    *ret = tz;
    tz = NULL;
out:
    tz_free(tz);
    free(buf);
    if (fd >= 0) {
        close(fd);
    }
    return r;
}

int sdat_tz_get(const char *name, const sdat_tz_t **ret)
{
    struct sdat_tz *tz;
    int r = 0;

    if (!name || !name[0] || name[0] == '/' || strstr(name, "..") || strlen(name) > TZ_MAX_NAME) {
        return -EINVAL;
    }
    pthread_mutex_lock(&cache_lock);
    for (tz = cache; tz; tz = tz->next) {
        if (strcmp(tz->name, name) == 0) {
            break;
        }
    }
    if (!tz) {
        r = tz_load(name, &tz);
        if (r == 0) {
            tz->next = cache;
            cache = tz;
        }
    }
    pthread_mutex_unlock(&cache_lock);
    if (r == 0) {
        *ret = tz;
    }
    return r;
}
