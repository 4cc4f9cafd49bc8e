/* make bench: audit records built and verified the way they were before
 * the canonical writer (a jansson object, json_dumps, prev and the text
 * copied together and hashed with EVP_sha256(), the hash set, json_dumps
 * again; the verifier parsing, deleting hash, json_dumps and hashing a
 * copy) and the way they are now (sdat_audit_record_build,
 * sdat_audit_verify_record), in the same run: the rounds alternate the two
 * and each figure is the best of ROUNDS, so that a noisy neighbour on the
 * 2-core machine costs a round, not the comparison. Both ways must give
 * the same text, or nothing is timed.
 *
 * The records are real ones, each FILE holding one per line (the demo's,
 * tests/fuzz/seeds/sdat.audit-record/): their type, actor, instance,
 * subject and detail are rebuilt in turn into a chain of N records
 * (BENCH_AUDIT_RECORDS, 50000), every 10th with a checkpoint's mac. The
 * subject and detail are shared (a reference taken for each build), so
 * what is timed is the record, not the callers' json_pack.
 *
 *   bench_audit FILE...   prints "audit: build ..." and "audit: verify ..." lines,
 *                         and the same for register.changed alone (the import's records) */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "decide/decide.h"
#include "util/util.h"

#define ROUNDS 5
#define FLAGS (JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY)
#define KEY "the benchmark's checkpoint key!!"

struct model {
    char *type, *actor, *instance;
    json_t *subject, *detail;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The hash as it was taken: prev, "\n" and the text copied into one
 * buffer, EVP_Digest with EVP_sha256(). */
static void old_hash(const char *prev, const char *canonical, char ret_hash[65])
{
    size_t plen = strlen(prev), clen = strlen(canonical);
    char stackbuf[4096];
    char *buf = plen + 1 + clen <= sizeof stackbuf ? stackbuf : malloc(plen + 1 + clen);
    if (!buf) {
        abort();
    }
    memcpy(buf, prev, plen);
    buf[plen] = '\n';
    memcpy(buf + plen + 1, canonical, clen);
    unsigned char md[32];
    unsigned int md_len = sizeof md;
    if (EVP_Digest(buf, plen + 1 + clen, md, &md_len, EVP_sha256(), NULL) != 1) {
        memset(md, 0, sizeof md);
    }
    for (int i = 0; i < 32; i++) {
        ret_hash[2 * i] = "0123456789abcdef"[md[i] >> 4];
        ret_hash[2 * i + 1] = "0123456789abcdef"[md[i] & 15];
    }
    ret_hash[64] = '\0';
    if (buf != stackbuf) {
        free(buf);
    }
}

/* sdat_audit_record_build before the canonical writer. */
static int old_build(const struct sdat_audit_link *link, const char *type, const char *actor,
                     json_t *subject, json_t *detail, const char *mac_key, size_t mac_key_len,
                     char **ret_text, char ret_hash[65])
{
    char hash[65], ts[32], mac[65];
    char *canonical = NULL, *full = NULL;
    int r = -ENOMEM;
    sdat_time_format_ms(link->ts_ms, ts, sizeof ts);
    json_t *record = json_pack("{s:I, s:s, s:s, s:s, s:s, s:o, s:o, s:s}", "seq",
                               (json_int_t)link->seq, "ts", ts, "instance", link->instance, "type",
                               type, "actor", actor, "subject", subject ? subject : json_object(),
                               "detail", detail ? detail : json_object(), "prev", link->prev);
    if (!record) {
        goto out;
    }
    if (mac_key) {
        r = sdat_audit_checkpoint_mac(mac_key, mac_key_len, link->seq, link->prev, mac);
        if (r < 0) {
            goto out;
        }
        r = -ENOMEM;
        if (json_object_set_new(record, "mac", json_string(mac)) < 0) {
            goto out;
        }
    }
    canonical = json_dumps(record, FLAGS);
    if (!canonical) {
        goto out;
    }
    old_hash(link->prev, canonical, hash);
    if (json_object_set_new(record, "hash", json_string(hash)) < 0) {
        goto out;
    }
    full = json_dumps(record, FLAGS);
    if (!full) {
        goto out;
    }
    *ret_text = full;
    full = NULL;
    memcpy(ret_hash, hash, 65);
    r = 0;
out:
    free(canonical);
    free(full);
    json_decref(record);
    return r;
}

/* The verifier's hash check before the canonical writer. */
static int old_verify(const char *text, char ret_hash[65])
{
    json_t *record = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    const char *prev = json_string_value(json_object_get(record, "prev"));
    if (!prev) {
        json_decref(record);
        return -EBADMSG;
    }
    json_object_del(record, "hash");
    char *canonical = json_dumps(record, FLAGS);
    if (!canonical) {
        json_decref(record);
        return -ENOMEM;
    }
    old_hash(prev, canonical, ret_hash);
    free(canonical);
    json_decref(record);
    return 0;
}

typedef int (*build_fn)(const struct sdat_audit_link *, const char *, const char *, json_t *,
                        json_t *, const char *, size_t, char **, char[65]);

/* Builds the chain of n records from the models picked by pick (indexes
 * into models, cycled); texts[i] kept when texts is not NULL. */
static int build_chain(build_fn build, const struct model *models, const size_t *pick, size_t npick,
                       size_t n, char **texts)
{
    struct sdat_audit_link link = {.ts_ms = 1764547200000};
    memset(link.prev, '0', 64);
    link.prev[64] = '\0';
    for (size_t i = 0; i < n; i++) {
        const struct model *m = &models[pick[i % npick]];
        char *text, hash[65];
        link.seq = (int64_t)i + 1;
        link.ts_ms += 7;
        link.instance = m->instance;
        bool keyed = i % 10 == 9;
        int r = build(&link, m->type, m->actor, json_incref(m->subject), json_incref(m->detail),
                      keyed ? KEY : NULL, keyed ? sizeof KEY - 1 : 0, &text, hash);
        if (r < 0) {
            fprintf(stderr, "bench_audit: record %zu: %s\n", i + 1, strerror(-r));
            return r;
        }
        memcpy(link.prev, hash, 65);
        if (texts) {
            texts[i] = text;
        } else {
            free(text);
        }
    }
    return 0;
}

static int new_verify(const char *text, int64_t seq, const char *prev, char ret_hash[65])
{
    char reason[200];
    return sdat_audit_verify_record(text, seq, prev, ret_hash, reason, sizeof reason);
}

/* One comparison: the chain built both ways (checked equal), then timed;
 * then its texts verified both ways, timed. */
static int compare(const char *what, const struct model *models, const size_t *pick, size_t npick,
                   size_t n)
{
    char **old_texts = calloc(n, sizeof *old_texts), **new_texts = calloc(n, sizeof *new_texts);
    int rc = 1;
    size_t bytes = 0;
    if (!old_texts || !new_texts) {
        fprintf(stderr, "bench_audit: out of memory\n");
        goto out;
    }
    if (build_chain(old_build, models, pick, npick, n, old_texts) < 0 ||
        build_chain(sdat_audit_record_build, models, pick, npick, n, new_texts) < 0) {
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(old_texts[i], new_texts[i]) != 0) {
            fprintf(stderr, "bench_audit: %s: record %zu differs:\nbefore %s\nnow    %s\n", what,
                    i + 1, old_texts[i], new_texts[i]);
            goto out;
        }
        bytes += strlen(new_texts[i]);
    }
    double best_old = 1e30, best_new = 1e30, vbest_old = 1e30, vbest_new = 1e30;
    for (int round = 0; round < ROUNDS; round++) {
        double t0 = now_s();
        if (build_chain(old_build, models, pick, npick, n, NULL) < 0) {
            goto out;
        }
        double t1 = now_s();
        if (build_chain(sdat_audit_record_build, models, pick, npick, n, NULL) < 0) {
            goto out;
        }
        double t2 = now_s();
        best_old = t1 - t0 < best_old ? t1 - t0 : best_old;
        best_new = t2 - t1 < best_new ? t2 - t1 : best_new;

        char prev[65] = "0000000000000000000000000000000000000000000000000000000000000000";
        char hash[65];
        t0 = now_s();
        for (size_t i = 0; i < n; i++) {
            if (old_verify(old_texts[i], hash) < 0) {
                fprintf(stderr, "bench_audit: record %zu does not verify\n", i + 1);
                goto out;
            }
        }
        t1 = now_s();
        for (size_t i = 0; i < n; i++) {
            if (new_verify(new_texts[i], (int64_t)i + 1, prev, hash) < 0) {
                fprintf(stderr, "bench_audit: record %zu does not verify\n", i + 1);
                goto out;
            }
            memcpy(prev, hash, 65);
        }
        t2 = now_s();
        vbest_old = t1 - t0 < vbest_old ? t1 - t0 : vbest_old;
        vbest_new = t2 - t1 < vbest_new ? t2 - t1 : vbest_new;
    }
    printf("audit: %s: %zu records, %.0f bytes each on average, the same text both ways\n", what, n,
           (double)bytes / (double)n);
    printf("audit: %s: build   before %8.0f/s (%.2f us)  now %8.0f/s (%.2f us)  now/before "
           "%.2f x\n",
           what, (double)n / best_old, best_old / (double)n * 1e6, (double)n / best_new,
           best_new / (double)n * 1e6, best_old / best_new);
    printf("audit: %s: verify  before %8.0f/s (%.2f us)  now %8.0f/s (%.2f us)  now/before "
           "%.2f x\n",
           what, (double)n / vbest_old, vbest_old / (double)n * 1e6, (double)n / vbest_new,
           vbest_new / (double)n * 1e6, vbest_old / vbest_new);
    rc = 0;
out:
    for (size_t i = 0; i < n; i++) {
        free(old_texts ? old_texts[i] : NULL);
        free(new_texts ? new_texts[i] : NULL);
    }
    free(old_texts);
    free(new_texts);
    return rc;
}

static int read_models(int argc, char **argv, struct model **ret_models, size_t *ret_n)
{
    struct model *models = NULL;
    size_t n = 0;
    char *line = NULL;
    size_t linecap = 0;
    for (int a = 1; a < argc; a++) {
        FILE *in = fopen(argv[a], "re");
        if (!in) {
            perror(argv[a]);
            goto fail;
        }
        while (getline(&line, &linecap, in) > 0) {
            json_t *rec = json_loads(line, 0, NULL);
            const char *type = json_string_value(json_object_get(rec, "type"));
            const char *actor = json_string_value(json_object_get(rec, "actor"));
            const char *instance = json_string_value(json_object_get(rec, "instance"));
            struct model *grown = realloc(models, (n + 1) * sizeof *models);
            if (!type || !actor || !instance || !grown) {
                fprintf(stderr, "bench_audit: %s: a line that is not an audit record\n", argv[a]);
                json_decref(rec);
                if (grown) {
                    models = grown;
                }
                fclose(in);
                goto fail;
            }
            models = grown;
            models[n].type = strdup(type);
            models[n].actor = strdup(actor);
            models[n].instance = strdup(instance);
            models[n].subject = json_incref(json_object_get(rec, "subject"));
            models[n].detail = json_incref(json_object_get(rec, "detail"));
            n++;
            json_decref(rec);
        }
        fclose(in);
    }
    free(line);
    *ret_models = models;
    *ret_n = n;
    return 0;
fail:
    free(line);
    *ret_models = models;
    *ret_n = n;
    return -1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_audit FILE...\n");
        return 2;
    }
    const char *env = getenv("BENCH_AUDIT_RECORDS");
    size_t n = env ? strtoul(env, NULL, 10) : 50000;
    struct model *models = NULL;
    size_t nmodels = 0;
    int rc = 1;
    size_t *all = NULL, *reg = NULL, nreg = 0;
    if (read_models(argc, argv, &models, &nmodels) < 0 || nmodels == 0 || n == 0) {
        goto out;
    }
    all = calloc(nmodels, sizeof *all);
    reg = calloc(nmodels, sizeof *reg);
    if (!all || !reg) {
        goto out;
    }
    for (size_t i = 0; i < nmodels; i++) {
        all[i] = i;
        if (strcmp(models[i].type, "register.changed") == 0) {
            reg[nreg++] = i;
        }
    }
    printf("audit: %zu model records from %d files; best of %d rounds, before and now "
           "alternating\n",
           nmodels, argc - 1, ROUNDS);
    rc = compare("all", models, all, nmodels, n);
    if (rc == 0 && nreg > 0) {
        rc = compare("register.changed", models, reg, nreg, n);
    }
out:
    for (size_t i = 0; i < nmodels; i++) {
        free(models[i].type);
        free(models[i].actor);
        free(models[i].instance);
        json_decref(models[i].subject);
        json_decref(models[i].detail);
    }
    free(models);
    free(all);
    free(reg);
    return rc;
}
