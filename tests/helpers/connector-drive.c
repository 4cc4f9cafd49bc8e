/* connector-drive: one delivery through one recipient's connector, exactly
 * as the outbox starts and polls it, for the connector tests that run real
 * receivers (tests/integration/test_webhook.sh, test_smtp.sh, …).
 *
 *   connector-drive CONFIG RECIPIENT_ID NOTIFICATION_ID PAYLOAD_FILE [ATTEMPT [COUNT]]
 *
 * Starts COUNT (default 1) deliveries of the payload at once (ids
 * NOTIFICATION_ID, or NOTIFICATION_ID-2… for the others), polls until every
 * one is reported, and prints one line per delivery:
 *   RESULT retry_after_ms=N detail=TEXT
 * where RESULT is done, retry or failed. Exit 0 when every delivery was
 * reported, 1 on a timeout (60 s), 2 on usage or set-up errors. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outbox/outbox.h"
#include "config/config.h"
#include "decide/decide.h"
#include "outbox/connector.h"
#include "util/util.h"

struct slot {
    struct sdat_delivery d;
    struct sdat_letter letter, link; /* as the outbox renders them */
    char id[64];
    int reported;
    enum sdat_delivery_result result;
};

static void on_done(struct sdat_delivery *d, enum sdat_delivery_result result, void *opaque)
{
    struct slot *s = opaque;
    if (&s->d != d) {
        fprintf(stderr, "connector-drive: done called with another delivery\n");
        exit(2);
    }
    if (s->reported++) {
        fprintf(stderr, "connector-drive: done called twice for %s\n", s->id);
        exit(2);
    }
    s->result = result;
}

static char *read_file(const char *path, size_t *ret_len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        return NULL;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0, n;
    char chunk[65536];
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (len + n + 1 > cap) {
            cap = (len + n + 1) * 2;
            buf = realloc(buf, cap);
            if (!buf) {
                fclose(f);
                return NULL;
            }
        }
        memcpy(buf + len, chunk, n);
        len += n;
    }
    fclose(f);
    if (!buf && !(buf = calloc(1, 1))) {
        return NULL;
    }
    buf[len] = '\0';
    /* One trailing newline is not part of the document. */
    if (len && buf[len - 1] == '\n') {
        buf[--len] = '\0';
    }
    *ret_len = len;
    return buf;
}

int main(int argc, char **argv)
{
    if (argc < 5 || argc > 7) {
        fprintf(stderr, "usage: connector-drive CONFIG RECIPIENT_ID NOTIFICATION_ID PAYLOAD_FILE "
                        "[ATTEMPT [COUNT]]\n");
        return 2;
    }
    struct sdat_config *cfg = NULL;
    char *errors = NULL, err[512] = "";
    if (sdat_config_load(argv[1], sdat_connector_key_tables(), &cfg, &errors) < 0) {
        fputs(errors ? errors : "connector-drive: cannot load the configuration\n", stderr);
        free(errors);
        return 2;
    }
    const struct sdat_recipient *r = sdat_config_recipient(cfg, argv[2]);
    free(errors);
    const struct sdat_connector_ops *ops = r ? sdat_connector_find(r->connector) : NULL;
    if (!ops) {
        fprintf(stderr, "connector-drive: no recipient %s or no such connector\n", argv[2]);
        sdat_config_free(cfg);
        return 2;
    }
    size_t len = 0;
    char *payload = read_file(argv[4], &len);
    if (!payload) {
        fprintf(stderr, "connector-drive: cannot read %s\n", argv[4]);
        sdat_config_free(cfg);
        return 2;
    }
    int attempt = argc > 5 ? atoi(argv[5]) : 1;
    int count = argc > 6 ? atoi(argv[6]) : 1;
    if (count < 1 || count > 100000) {
        fprintf(stderr, "connector-drive: COUNT must be 1 to 100000\n");
        return 2;
    }
    struct sdat_connector_env *env = NULL;
    if (sdat_connector_env_new(cfg, getenv("SDAT_BOOTSTRAP_SERVERS"), &env) < 0) {
        return 2;
    }
    struct sdat_connector_recipient cr = sdat_connector_recipient_of(r);
    void *ctx = NULL;
    if (ops->init(env, &cr, &ctx, err, sizeof err) < 0) {
        fprintf(stderr, "connector-drive: init: %s\n", err);
        sdat_connector_env_free(env);
        free(payload);
        sdat_config_free(cfg);
        return 2;
    }
    struct slot *slots = calloc((size_t)count, sizeof *slots);
    if (!slots) {
        return 2;
    }
    int64_t began = sdat_time_mono_ms();
    for (int i = 0; i < count; i++) {
        struct slot *s = &slots[i];
        if (i == 0) {
            snprintf(s->id, sizeof s->id, "%s", argv[3]);
        } else {
            snprintf(s->id, sizeof s->id, "%s-%d", argv[3], i + 1);
        }
        s->d = (struct sdat_delivery){.notification_id = s->id,
                                      .kind = "da-incident",
                                      .recipient_id = r->id,
                                      .payload = payload,
                                      .payload_len = len,
                                      .attempt = attempt};
        sdat_outbox_render_letters(cfg, NULL, r, s->d.kind, s->id, payload, &s->letter, &s->link);
        s->d.letter_text = s->letter.text;
        s->d.letter_html = s->letter.html;
        s->d.link_text = s->link.text;
        s->d.link_html = s->link.html;
        int rc = ops->start(ctx, &s->d, on_done, s);
        if (rc < 0) {
            s->reported = 1;
            s->result = SDAT_DELIVERY_RETRY;
            snprintf(s->d.detail, sizeof s->d.detail, "could not start: %s", strerror(-rc));
        }
    }
    int pending = count;
    while (pending > 0 && sdat_time_mono_ms() - began < 60000) {
        if (ops->poll) {
            ops->poll(ctx, 100);
        }
        pending = 0;
        for (int i = 0; i < count; i++) {
            pending += !slots[i].reported;
        }
        if (!ops->poll && pending > 0) {
            break;
        }
    }
    int64_t took = sdat_time_mono_ms() - began;
    static const char *const names[] = {"done", "retry", "failed"};
    for (int i = 0; i < count; i++) {
        if (slots[i].reported) {
            printf("%s retry_after_ms=%lld detail=%s\n", names[slots[i].result],
                   (long long)slots[i].d.retry_after_ms, slots[i].d.detail);
        } else {
            printf("pending\n");
        }
    }
    fprintf(stderr, "connector-drive: %d deliveries in %lld ms\n", count, (long long)took);
    ops->destroy(ctx);
    for (int i = 0; i < count; i++) {
        sdat_letter_free(&slots[i].letter);
        sdat_letter_free(&slots[i].link);
    }
    free(slots);
    free(payload);
    sdat_connector_env_free(env);
    sdat_config_free(cfg);
    return pending > 0 ? 1 : 0;
}
