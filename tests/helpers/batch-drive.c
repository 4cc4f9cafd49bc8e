/* batch-drive: consumed messages through sdat_engine_process_batch, as
 * sdatd's consumer hands them over, with a fixed clock, for the decision
 * workers' determinism test (tests/integration/test_workers.sh, issue 21).
 *
 *   batch-drive CONFIG MESSAGES THREADS BATCH NOW_MS
 *
 * CONFIG is a daemon configuration whose store holds the register (the
 * register index is loaded as sdatd loads it). MESSAGES has one message a
 * line, "TOPIC<TAB>KEY<TAB>VALUE" (an empty KEY: none). THREADS decision
 * workers (0: none, every message prepared on the writer, as before the
 * workers existed); BATCH messages to a transaction; NOW_MS the clock of
 * every batch, so that two runs write the same bytes. Prints one line of
 * counts. Exit 0, 1 on a store error, 2 on bad arguments. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "decide/decide.h"
#include "engine/engine.h"
#include "outbox/outbox.h"
#include "store/store.h"
#include "util/util.h"

static int split(char *text, struct sdat_inbound *m, int64_t offset)
{
    char *key = strchr(text, '\t');
    char *value = key ? strchr(key + 1, '\t') : NULL;
    if (!value) {
        return -EINVAL;
    }
    *key++ = '\0';
    *value++ = '\0';
    size_t len = strlen(value);
    if (len > 0 && value[len - 1] == '\n') {
        value[--len] = '\0';
    }
    *m = (struct sdat_inbound){.topic = text,
                               .partition = 0,
                               .offset = offset,
                               .key = *key ? key : NULL,
                               .key_len = strlen(key),
                               .value = value,
                               .value_len = len};
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: batch-drive CONFIG MESSAGES THREADS BATCH NOW_MS\n");
        return 2;
    }
    int threads = atoi(argv[3]);
    size_t batch = (size_t)atol(argv[4]);
    int64_t now_ms = strtoll(argv[5], NULL, 10);
    if (threads < 0 || batch < 1) {
        fprintf(stderr, "batch-drive: THREADS >= 0, BATCH >= 1\n");
        return 2;
    }
    sdat_log_setup(SDAT_LOG_WARN, SDAT_LOG_TEXT);
    char *errors = NULL, err[256];
    struct sdat_config *cfg = NULL;
    if (sdat_config_load(argv[1], sdat_connector_key_tables(), &cfg, &errors) < 0) {
        fprintf(stderr, "batch-drive: %s\n", errors ? errors : "configuration");
        return 2;
    }
    sdat_store_t *st = NULL;
    sdat_schemas_t *schemas = NULL;
    sdat_audit_t *audit = NULL;
    sdat_nicknames_t *nicknames = NULL;
    if (sdat_store_open(cfg->state_dir, SDAT_STORE_WRITER, &st, err, sizeof err) < 0 ||
        sdat_schemas_new(&schemas, err, sizeof err) < 0 ||
        sdat_audit_new(cfg->instance_id, &audit) < 0 ||
        sdat_audit_configure_from(audit, cfg, err, sizeof err) < 0 ||
        sdat_match_nicknames_load(cfg->matching.nicknames_file, &nicknames, err, sizeof err) < 0) {
        fprintf(stderr, "batch-drive: %s\n", err);
        return 1;
    }
    if (sdat_store_register_index_load(st) < 0) {
        fprintf(stderr, "batch-drive: the register index did not load\n");
        return 1;
    }
    struct sdat_engine e = {
        .cfg = cfg, .st = st, .audit = audit, .schemas = schemas, .nicknames = nicknames};
    if (threads > 0 && sdat_workers_start(threads, &e.workers) < 0) {
        fprintf(stderr, "batch-drive: cannot start %d workers\n", threads);
        return 1;
    }

    FILE *f = fopen(argv[2], "r");
    if (!f) {
        fprintf(stderr, "batch-drive: %s: %s\n", argv[2], strerror(errno));
        return 2;
    }
    struct sdat_inbound *msgs = calloc(batch, sizeof *msgs);
    char **texts = calloc(batch, sizeof *texts);
    size_t n = 0, total = 0, batches = 0, cap = 0;
    int64_t offset = 0;
    int r = 0;
    char *text = NULL;
    for (;;) {
        ssize_t got = getline(&text, &cap, f);
        if (got > 0) {
            if (split(text, &msgs[n], offset++) < 0) {
                fprintf(stderr, "batch-drive: line %" PRId64 " is not TOPIC TAB KEY TAB VALUE\n",
                        offset);
                return 2;
            }
            texts[n++] = text;
            text = NULL;
            cap = 0;
        }
        if (n > 0 && (n == batch || got <= 0)) {
            r = sdat_store_begin(st);
            if (r == 0) {
                r = sdat_engine_process_batch(&e, msgs, n, now_ms);
            }
            r = r == 0 ? sdat_store_commit(st) : (sdat_store_rollback(st), r);
            if (r < 0) {
                fprintf(stderr, "batch-drive: store error: %s\n", sdat_store_errmsg(st));
                return 1;
            }
            for (size_t i = 0; i < n; i++) {
                free(texts[i]);
            }
            total += n;
            batches++;
            n = 0;
        }
        if (got <= 0) {
            break;
        }
    }
    free(text);
    fclose(f);
    int64_t prepared = 0, matched = 0;
    if (e.workers) {
        sdat_workers_stats(e.workers, &prepared, &matched);
    }
    printf("batch-drive: %zu messages in %zu batches, %d workers: %" PRId64 " prepared and %" PRId64
           " incidents matched on them; index %s\n",
           total, batches, threads, prepared, matched,
           sdat_store_register_index_loaded(st) ? "loaded" : "dropped");
    sdat_workers_stop(e.workers);
    free(msgs);
    free(texts);
    sdat_nicknames_free(nicknames);
    sdat_audit_free(audit);
    sdat_schemas_free(schemas);
    sdat_store_close(st);
    sdat_config_free(cfg);
    return 0;
}
