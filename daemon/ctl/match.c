/* sdatctl match: police incidents in (JSON Lines), one decision per child
 * out, against the store's register, read-only beside a running daemon
 * (interfaces.md). The same matcher and thresholds as sdatd. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctl.h"
#include "engine/engine.h"
#include "decide/decide.h"
#include "util/util.h"

static void print_line(json_t *o)
{
    json_dumpf(o, stdout, JSON_COMPACT);
    putchar('\n');
    json_decref(o);
}

/* One incident: a decision line per child, or an error line. 0, or a
 * negative store error. */
static int match_incident(struct sdat_engine *e, const json_t *doc, const struct sdat_validation *v)
{
    char key[160];
    snprintf(key, sizeof key, "%s/%s", json_string_value(json_object_get(doc, "force")),
             json_string_value(json_object_get(doc, "incident_id")));
    int64_t occurred_ms;
    int32_t occurred_days;
    if (sdat_datetime_parse(json_string_value(json_object_get(doc, "occurred_at")), &occurred_ms) < 0 ||
        sdat_time_local_date(occurred_ms, e->cfg->timezone, &occurred_days) < 0) {
        return -EINVAL;
    }
    /* Matched together, as the daemon matches them. */
    struct sdat_incident_matches *m = malloc(sizeof *m);
    int r = m ? sdat_engine_match_incident(e, doc, v, occurred_days, m) : -ENOMEM;
    for (size_t i = 0; r == 0 && i < m->n; i++) {
        json_t *line;
        if (!m->in_scope[i]) {
            line = json_pack("{s:s, s:s, s:s, s:n, s:n, s:[]}", "decision", "out-of-scope", "rule",
                             "none", "reason", "18 or over", "child_id", "score", "candidates");
        } else {
            line = sdat_match_explain(&m->params, &m->outcomes[i]);
        }
        json_object_set_new(line, "incident", json_string(key));
        json_object_set_new(line, "child", json_integer((json_int_t)i));
        print_line(line);
    }
    free(m);
    if (r < 0) {
        return r;
    }
    return 0;
}

int ctl_match(const struct ctl_options *opts, int argc, char **argv)
{
    if (argc > 2) {
        fprintf(stderr, "usage: sdatctl match [FILE|-]\n");
        return CTL_USAGE;
    }
    struct sdat_config *cfg = ctl_load_config_reader(opts);
    if (!cfg) {
        return CTL_CONFIG;
    }
    sdat_store_t *st = NULL;
    sdat_schemas_t *schemas = NULL;
    sdat_nicknames_t *nicknames = NULL;
    FILE *in = NULL;
    char err[512];
    int rc = CTL_NEGATIVE;
    if (sdat_store_open(cfg->state_dir, SDAT_STORE_READONLY, &st, err, sizeof err) < 0 ||
        sdat_schemas_new(&schemas, err, sizeof err) < 0 ||
        sdat_match_nicknames_load(cfg->matching.nicknames_file, &nicknames, err, sizeof err) < 0) {
        fprintf(stderr, "sdatctl: %s\n", err);
        goto out;
    }
    in = ctl_open_input(argc == 2 ? argv[1] : "-");
    if (!in) {
        goto out;
    }
    struct sdat_engine e = {.cfg = cfg, .st = st, .schemas = schemas, .nicknames = nicknames};
    char *buf = NULL;
    size_t cap = 0;
    ssize_t len;
    long lineno = 0;
    rc = CTL_OK;
    while ((len = getline(&buf, &cap, in)) >= 0) {
        lineno++;
        if (strspn(buf, " \t\r\n") == (size_t)len) {
            continue;
        }
        json_error_t jerr;
        json_t *doc = json_loadb(buf, (size_t)len, JSON_REJECT_DUPLICATES, &jerr);
        struct sdat_validation v;
        if (!doc || sdat_schemas_validate(schemas, doc, "police.da-incident/1", &v) != 0) {
            fprintf(stderr, "line %ld: not a valid police.da-incident/1 event: %s%s%s\n", lineno,
                    doc ? v.errors[0].path : "", doc ? ": " : "",
                    doc ? v.errors[0].message : jerr.text);
            json_decref(doc);
            rc = CTL_NEGATIVE;
            continue;
        }
        int r = match_incident(&e, doc, &v);
        json_decref(doc);
        if (r < 0) {
            fprintf(stderr, "sdatctl: line %ld: cannot match: %s\n", lineno,
                    r == -EINVAL ? "the incident's date cannot be resolved" : sdat_store_errmsg(st));
            rc = CTL_NEGATIVE;
            break;
        }
    }
    free(buf);
out:
    if (in && in != stdin) {
        fclose(in);
    }
    sdat_nicknames_free(nicknames);
    sdat_schemas_free(schemas);
    sdat_store_close(st);
    sdat_config_free(cfg);
    return rc;
}
