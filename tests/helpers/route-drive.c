/* route-drive: sdat_route_incident_area and sdat_route_child on generated
 * cases, for the routing oracle (tests/integration/test_route_oracle.sh,
 * issue 26).
 *
 *   route-drive < CASES.jsonl
 *
 * Input lines are tests/oracle/route_cases.py's: a directory
 * ({"directory_id":K,"directory":{"areas","forces","recipients"}}) before
 * the cases that use it ({"id":N,"dir":K,"incident":{...},"decision":...,
 * "child":{...},"reported_date":...,"incident_date":...}). Prints one line
 * per case, "ID AREA ROUTES" (tests/oracle/route_ref.py's answer()): AREA
 * the incident area's la_code or "-", ROUTES "dead-letter" without an
 * incident area, "error" when sdat_route_child fails, else each route as
 * RECIPIENT/KIND/REASON/WHEN sorted and comma-separated. Exit 0, or 2 on a
 * malformed line. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config/config.h"
#include "decide/decide.h"
#include "util/util.h"

static const char *const kind_names[] = {"school", "mash", "ehe", "early_years", "cpis",
                                         "education_safeguarding", "escalation"};

/* The directory of the current cases; strings borrow from doc. */
struct directory {
    json_t *doc;
    struct sdat_config cfg;
    struct sdat_area *areas;
    struct sdat_force *forces;
    struct sdat_recipient *recipients;
    char **entries;
};

static void directory_clear(struct directory *d)
{
    json_decref(d->doc);
    free(d->areas);
    free(d->forces);
    free(d->recipients);
    free(d->entries);
    memset(d, 0, sizeof *d);
}

static char *text(json_t *o, const char *key)
{
    return (char *)json_string_value(json_object_get(o, key));
}

/* d from a directory object (takes a reference to doc). */
static int directory_load(struct directory *d, json_t *doc)
{
    json_t *areas = json_object_get(doc, "areas"), *forces = json_object_get(doc, "forces");
    json_t *recipients = json_object_get(doc, "recipients"), *v, *e;
    size_t i, k, n_entries = 0;

    directory_clear(d);
    d->doc = json_incref(doc);
    json_array_foreach(areas, i, v) {
        n_entries += json_array_size(json_object_get(v, "postcode_districts"));
    }
    d->areas = calloc(json_array_size(areas) + 1, sizeof *d->areas);
    d->forces = calloc(json_array_size(forces) + 1, sizeof *d->forces);
    d->recipients = calloc(json_array_size(recipients) + 1, sizeof *d->recipients);
    d->entries = calloc(n_entries + 1, sizeof *d->entries);
    if (!d->areas || !d->forces || !d->recipients || !d->entries) {
        return -ENOMEM;
    }
    n_entries = 0;
    json_array_foreach(areas, i, v) {
        struct sdat_area *a = &d->areas[i];
        a->la_code = text(v, "la_code");
        a->name = text(v, "name");
        a->mash = text(v, "mash");
        a->ehe = text(v, "ehe");
        a->early_years = text(v, "early_years");
        a->postcode_districts.v = d->entries + n_entries;
        json_array_foreach(json_object_get(v, "postcode_districts"), k, e) {
            d->entries[n_entries++] = (char *)json_string_value(e);
            a->postcode_districts.n++;
        }
    }
    json_array_foreach(forces, i, v) {
        d->forces[i].id = text(v, "id");
        d->forces[i].default_area = text(v, "default_area");
    }
    json_array_foreach(recipients, i, v) {
        struct sdat_recipient *r = &d->recipients[i];
        const char *kind = text(v, "kind");
        size_t n = 0;
        while (kind && n < sizeof kind_names / sizeof kind_names[0] && strcmp(kind, kind_names[n])) {
            n++;
        }
        if (!kind || n == sizeof kind_names / sizeof kind_names[0]) {
            return -EINVAL;
        }
        r->id = text(v, "id");
        r->kind = (enum sdat_recipient_kind)n;
        r->la_code = text(v, "la_code");
        r->name = r->id;
        r->urn = text(v, "urn");
        r->index = i;
    }
    d->cfg.areas = d->areas;
    d->cfg.n_areas = json_array_size(areas);
    d->cfg.forces = d->forces;
    d->cfg.n_forces = json_array_size(forces);
    d->cfg.recipients = d->recipients;
    d->cfg.n_recipients = json_array_size(recipients);
    return 0;
}

static int by_text(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Prints the answer for one case. */
static int answer(const struct directory *d, json_t *c)
{
    static const char *const decisions[] = {"none", "match", "review"};
    const char *decision = text(c, "decision");
    int32_t reported, occurred;
    size_t k = 0;
    while (decision && k < 3 && strcmp(decision, decisions[k])) {
        k++;
    }
    if (!decision || k == 3 || sdat_date_parse(text(c, "reported_date"), &reported) < 0 ||
        sdat_date_parse(text(c, "incident_date"), &occurred) < 0) {
        return -EINVAL;
    }
    long long id = json_integer_value(json_object_get(c, "id"));
    const struct sdat_area *area = sdat_route_incident_area(&d->cfg, json_object_get(c, "incident"));
    if (!area) {
        printf("%lld - dead-letter\n", id);
        return 0;
    }
    struct sdat_route routes[SDAT_ROUTE_MAX];
    size_t n = 0;
    char err[256];
    json_t *child = json_object_get(c, "child");
    if (sdat_route_child(&d->cfg, (enum sdat_decision)k, child, area, reported, occurred, routes,
                         &n, err, sizeof err) < 0) {
        printf("%lld %s error\n", id, area->la_code);
        return 0;
    }
    char lines[SDAT_ROUTE_MAX][160];
    char *sorted[SDAT_ROUTE_MAX];
    for (size_t i = 0; i < n; i++) {
        snprintf(lines[i], sizeof lines[i], "%s/%s/%s/%s", routes[i].recipient->id, routes[i].kind,
                 routes[i].route_reason ? routes[i].route_reason : "-",
                 routes[i].school ? "school" : "now");
        sorted[i] = lines[i];
    }
    qsort(sorted, n, sizeof sorted[0], by_text);
    printf("%lld %s ", id, area->la_code);
    for (size_t i = 0; i < n; i++) {
        printf("%s%s", i ? "," : "", sorted[i]);
    }
    printf("\n");
    return 0;
}

int main(void)
{
    char *line = NULL;
    size_t cap = 0;
    long lineno = 0;
    long long current = -1;
    struct directory d = {0};
    int r = 0;
    while (r == 0 && getline(&line, &cap, stdin) > 0) {
        lineno++;
        json_error_t jerr;
        json_t *c = json_loads(line, 0, &jerr);
        if (!c) {
            r = -EINVAL;
        } else if (json_object_get(c, "directory")) {
            current = json_integer_value(json_object_get(c, "directory_id"));
            r = directory_load(&d, json_object_get(c, "directory"));
        } else if (json_integer_value(json_object_get(c, "dir")) != current ||
                   !json_is_integer(json_object_get(c, "id"))) {
            r = -EINVAL;
        } else {
            r = answer(&d, c);
        }
        json_decref(c);
        if (r < 0) {
            fprintf(stderr, "route-drive: line %ld: not a case or directory (%d)\n", lineno, r);
        }
    }
    free(line);
    directory_clear(&d);
    return r < 0 ? 2 : 0;
}
