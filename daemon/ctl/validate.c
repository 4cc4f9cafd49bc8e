/* sdatctl validate: one JSON verdict per non-blank input line. Reads no
 * configuration. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctl.h"
#include "decide/decide.h"

static json_t *issues_array(const struct sdat_issue *issues, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(a, json_pack("{s:s, s:s}", "path", issues[i].path, "message",
                                           issues[i].message));
    }
    return a;
}

int ctl_validate(const struct ctl_options *opts, int argc, char **argv)
{
    (void)opts;
    static const struct option long_options[] = {{"schema", required_argument, NULL, 's'},
                                                 {NULL, 0, NULL, 0}};
    const char *forced = NULL;
    int opt;
    while ((opt = getopt_long(argc, argv, "s:", long_options, NULL)) != -1) {
        if (opt != 's') {
            fprintf(stderr, "usage: sdatctl validate [--schema NAME] [FILE|-]\n");
            return CTL_USAGE;
        }
        forced = optarg;
    }
    if (argc - optind > 1) {
        fprintf(stderr, "usage: sdatctl validate [--schema NAME] [FILE|-]\n");
        return CTL_USAGE;
    }
    char err[256];
    sdat_schemas_t *schemas = NULL;
    if (sdat_schemas_new(&schemas, err, sizeof err) < 0) {
        fprintf(stderr, "sdatctl: %s\n", err);
        return CTL_NEGATIVE;
    }
    if (forced && !sdat_schemas_get(schemas, forced)) {
        fprintf(stderr, "sdatctl: unknown schema \"%s\"\n", forced);
        sdat_schemas_free(schemas);
        return CTL_USAGE;
    }
    FILE *in = ctl_open_input(optind < argc ? argv[optind] : "-");
    if (!in) {
        sdat_schemas_free(schemas);
        return CTL_NEGATIVE;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long lineno = 0;
    int rc = CTL_OK;
    while ((len = getline(&line, &cap, in)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
            line[--len] = '\0';
        }
        if (strspn(line, " \t") == (size_t)len) {
            continue; /* blank lines are skipped but counted */
        }
        json_t *verdict = json_pack("{s:I}", "line", (json_int_t)lineno);
        json_error_t jerr;
        json_t *doc = json_loadb(line, (size_t)len, JSON_REJECT_DUPLICATES, &jerr);
        if (!doc) {
            json_object_set_new(verdict, "valid", json_false());
            char message[256];
            snprintf(message, sizeof message, "not valid JSON: %s", jerr.text);
            json_object_set_new(verdict, "errors",
                                json_pack("[{s:s, s:s}]", "path", "", "message", message));
            rc = CTL_NEGATIVE;
        } else {
            struct sdat_validation v;
            int r = sdat_schemas_validate(schemas, doc, forced, &v);
            json_object_set_new(verdict, "valid", json_boolean(r == 0));
            if (r != 0) {
                json_object_set_new(verdict, "errors", issues_array(v.errors, v.n_errors));
                rc = CTL_NEGATIVE;
            } else if (v.n_warnings > 0) {
                json_object_set_new(verdict, "warnings", issues_array(v.warnings, v.n_warnings));
            }
            json_decref(doc);
        }
        char *text = json_dumps(verdict, JSON_COMPACT);
        if (text) {
            puts(text);
        }
        free(text);
        json_decref(verdict);
    }
    free(line);
    if (in != stdin) {
        fclose(in);
    }
    sdat_schemas_free(schemas);
    return rc;
}
