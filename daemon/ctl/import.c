/* sdatctl import children|flags: bulk load JSON Lines into the store with the
 * topics' validation and upsert rules. It is the store's writer while it
 * runs, so it refuses to run while a daemon holds the store. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "audit.h"
#include "ctl.h"
#include "schemas.h"
#include "store.h"
#include "timeutil.h"

#define IMPORT_BATCH 2000

struct import {
    sdat_store_t *st;
    sdat_audit_t *audit;
    sdat_schemas_t *schemas;
    long accepted, rejected;
    int in_batch;
};

static int flush_batch(struct import *im)
{
    if (im->in_batch == 0) {
        return 0;
    }
    im->in_batch = 0;
    return sdat_store_commit(im->st);
}

static int import_child(struct import *im, const json_t *doc, int64_t now_ms)
{
    if (im->in_batch == 0 && sdat_store_begin(im->st) < 0) {
        return -EIO;
    }
    im->in_batch++;
    int r = sdat_store_child_upsert(im->st, doc, now_ms);
    if (r == 0) {
        r = sdat_audit_append(im->audit, im->st, now_ms, "register.changed", "sdatctl",
                              json_pack("{s:O}", "child_id", json_object_get(doc, "child_id")),
                              json_pack("{s:s, s:s}", "change", "upsert", "source", "import"));
    }
    if (r == 0 && im->in_batch >= IMPORT_BATCH) {
        r = flush_batch(im);
    }
    return r;
}

static void progress(const struct import *im, int64_t started_ms, bool final)
{
    double secs = (double)(sdat_time_mono_ms() - started_ms) / 1000.0;
    long total = im->accepted + im->rejected;
    fprintf(stderr, "\r%ld records, %ld rejected, %.0f records/s%s", total, im->rejected,
            secs > 0 ? (double)total / secs : 0.0, final ? "\n" : "");
}

int ctl_import(const struct ctl_options *opts, int argc, char **argv)
{
    struct import im = {0};
    struct sdat_config *cfg = NULL;
    FILE *in = NULL;
    char err[512];
    int rc = CTL_NEGATIVE;

    if (argc < 2 || argc > 3 || (strcmp(argv[1], "children") != 0 && strcmp(argv[1], "flags") != 0)) {
        fprintf(stderr, "usage: sdatctl import children|flags [FILE|-]\n");
        return CTL_USAGE;
    }
    if (strcmp(argv[1], "flags") == 0) {
        /* CP-IS flags need their own store tables (the CP-IS issue). */
        fprintf(stderr, "sdatctl: import flags is not available in this version\n");
        return CTL_NEGATIVE;
    }
    cfg = ctl_load_config(opts);
    if (!cfg) {
        return CTL_CONFIG;
    }
    if (sdat_store_open(cfg->state_dir, SDAT_STORE_WRITER, &im.st, err, sizeof err) < 0) {
        fprintf(stderr, "sdatctl: %s\n", err);
        goto out;
    }
    if (sdat_schemas_new(&im.schemas, err, sizeof err) < 0 ||
        sdat_audit_new(cfg->instance_id, &im.audit) < 0) {
        fprintf(stderr, "sdatctl: %s\n", err);
        goto out;
    }
    in = ctl_open_input(argc == 3 ? argv[2] : "-");
    if (!in) {
        goto out;
    }
    bool tty = isatty(STDERR_FILENO);
    int64_t started = sdat_time_mono_ms(), last_progress = started;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long lineno = 0;
    int r = 0;
    while (r == 0 && (len = getline(&line, &cap, in)) >= 0) {
        lineno++;
        if (strspn(line, " \t\r\n") == (size_t)len) {
            continue;
        }
        json_error_t jerr;
        json_t *doc = json_loadb(line, (size_t)len, JSON_REJECT_DUPLICATES, &jerr);
        struct sdat_validation v;
        if (!doc) {
            fprintf(stderr, "line %ld: not valid JSON: %s\n", lineno, jerr.text);
            im.rejected++;
            continue;
        }
        if (sdat_schemas_validate(im.schemas, doc, "council.child/1", &v) != 0) {
            fprintf(stderr, "line %ld: %s: %s\n", lineno, v.n_errors ? v.errors[0].path : "",
                    v.n_errors ? v.errors[0].message : "invalid");
            im.rejected++;
        } else {
            r = import_child(&im, doc, sdat_time_now_ms());
            im.accepted++;
        }
        json_decref(doc);
        if (tty && sdat_time_mono_ms() - last_progress >= 500) {
            progress(&im, started, false);
            last_progress = sdat_time_mono_ms();
        }
    }
    free(line);
    if (r == 0) {
        r = flush_batch(&im);
    }
    if (r < 0) {
        fprintf(stderr, "sdatctl: import failed at line %ld: %s\n", lineno,
                sdat_store_errmsg(im.st));
        goto out;
    }
    if (tty) {
        progress(&im, started, true);
    }
    printf("imported %ld children, rejected %ld lines\n", im.accepted, im.rejected);
    rc = im.rejected > 0 ? CTL_NEGATIVE : CTL_OK;
out:
    if (in && in != stdin) {
        fclose(in);
    }
    sdat_audit_free(im.audit);
    sdat_schemas_free(im.schemas);
    sdat_store_close(im.st);
    sdat_config_free(cfg);
    return rc;
}
