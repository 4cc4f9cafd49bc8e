/* sdatctl import children|flags: bulk load JSON Lines into the store with the
 * topics' validation and upsert rules. It is the store's writer while it
 * runs, so it refuses to run while a daemon holds the store. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "engine/engine.h"
#include "decide/decide.h"
#include "ctl.h"
#include "store/store.h"
#include "util/util.h"

#define IMPORT_BATCH 100000

struct import {
    sdat_store_t *st;
    sdat_audit_t *audit;
    sdat_schemas_t *schemas;
    long accepted, rejected;
    int in_batch;
    bool flags; /* importing council.cpis-flag/1 rather than children */
    /* Children into an empty register: one transaction for the whole
     * import (sdat_store_bulk_begin), committed after the keys and
     * indexes are built, so a crash leaves the store empty. */
    bool bulk;
};

static int flush_batch(struct import *im)
{
    if (im->in_batch == 0) {
        return 0;
    }
    im->in_batch = 0;
    if (im->bulk) {
        im->bulk = false;
        int r = sdat_store_bulk_finish(im->st);
        if (r < 0) {
            sdat_store_rollback(im->st);
            return r;
        }
    }
    return sdat_store_commit(im->st);
}

static int import_one(struct import *im, const json_t *doc, int64_t now_ms)
{
    if (im->in_batch == 0) {
        if (sdat_store_begin(im->st) < 0) {
            return -EIO;
        }
        /* Only the first transaction can find the register empty. */
        if (!im->flags && im->accepted == 0) {
            int r = sdat_store_bulk_begin(im->st);
            if (r < 0) {
                sdat_store_rollback(im->st);
                return r;
            }
            im->bulk = r == 1;
        }
    }
    im->in_batch++;
    const char *key = json_string_value(json_object_get(doc, im->flags ? "flag_id" : "child_id"));
    int r = sdat_register_apply(im->st, im->audit,
                                im->flags ? SDAT_REGISTER_FLAG : SDAT_REGISTER_CHILD, key, doc,
                                "sdatctl", "import", now_ms);
    if (r == 0 && !im->bulk && im->in_batch >= IMPORT_BATCH) {
        r = flush_batch(im);
    }
    return r;
}

/* On a terminal: records, rate and, for a regular file, the time left
 * from the share of its bytes read so far. */
static void progress(const struct import *im, FILE *in, int64_t started_ms, bool final)
{
    double secs = (double)(sdat_time_mono_ms() - started_ms) / 1000.0;
    long total = im->accepted + im->rejected;
    char eta[48] = "";
    struct stat sb;
    long pos = ftell(in);
    if (!final && pos > 0 && fstat(fileno(in), &sb) == 0 && S_ISREG(sb.st_mode) &&
        sb.st_size > pos) {
        double left = secs * (double)(sb.st_size - pos) / (double)pos;
        snprintf(eta, sizeof eta, ", ETA %.0f s", left);
    }
    fprintf(stderr, "\r%ld records, %ld rejected, %.0f records/s%s   %s", total, im->rejected,
            secs > 0 ? (double)total / secs : 0.0, eta, final ? "\n" : "");
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
    im.flags = strcmp(argv[1], "flags") == 0;
    const char *schema = im.flags ? "council.cpis-flag/1" : "council.child/1";
    cfg = ctl_load_config_reader(opts);
    if (!cfg) {
        return CTL_CONFIG;
    }
    if (sdat_store_open(cfg->state_dir, SDAT_STORE_WRITER, &im.st, err, sizeof err) < 0) {
        fprintf(stderr, "sdatctl: %s\n", err);
        goto out;
    }
    /* A million children's indexes outgrow the daemon's 64 MiB page cache;
     * this one-off process keeps more of them in memory while they grow,
     * and commits every IMPORT_BATCH records so that a page dirtied by many
     * of them is written once. */
    if (sdat_store_set_cache(im.st, 1024) < 0) {
        fprintf(stderr, "sdatctl: cannot size the page cache: %s\n", sdat_store_errmsg(im.st));
        goto out;
    }
    if (sdat_schemas_new(&im.schemas, err, sizeof err) < 0) {
        fprintf(stderr, "sdatctl: %s\n", err);
        goto out;
    }
    if (sdat_audit_new(cfg->instance_id, &im.audit) < 0) {
        fprintf(stderr, "sdatctl: out of memory\n");
        goto out;
    }
    /* The import appends to the daemon's chain: the same checkpoints. */
    if (sdat_audit_configure_from(im.audit, cfg, err, sizeof err) < 0) {
        fprintf(stderr, "sdatctl: %s\n", err);
        rc = CTL_CONFIG;
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
        if (sdat_schemas_validate(im.schemas, doc, schema, &v) != 0) {
            fprintf(stderr, "line %ld: %s: %s\n", lineno, v.n_errors ? v.errors[0].path : "",
                    v.n_errors ? v.errors[0].message : "invalid");
            im.rejected++;
        } else {
            r = import_one(&im, doc, sdat_time_now_ms());
            im.accepted++;
        }
        json_decref(doc);
        if (tty && sdat_time_mono_ms() - last_progress >= 500) {
            progress(&im, in, started, false);
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
        progress(&im, in, started, true);
    }
    printf("imported %ld %s, rejected %ld lines\n", im.accepted, im.flags ? "flags" : "children",
           im.rejected);
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
