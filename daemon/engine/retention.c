#include "engine.h"
#include "retention.h"

#include <errno.h>

#include "util/util.h"

#define DAY_MS INT64_C(86400000)

int sdat_retention_run(sdat_store_t *st, sdat_audit_t *audit, const struct sdat_config *cfg,
                       int64_t now_ms, struct sdat_retention_counts *ret_counts)
{
    struct sdat_retention_counts counts = {0};
    int64_t payloads_before = now_ms - cfg->retention.payload_days * DAY_MS;
    int64_t dead_letters_before = now_ms - cfg->retention.dead_letter_days * DAY_MS;
    int64_t accesses_before = now_ms - cfg->retention.access_days * DAY_MS;
    char payloads_at[32], dead_letters_at[32], accesses_at[32];

    int r = sdat_store_begin(st);
    if (r < 0) {
        return r;
    }
    r = sdat_store_retention_payloads(st, payloads_before, &counts.payloads);
    if (r == 0) {
        r = sdat_store_retention_dead_letters(st, dead_letters_before, &counts.dead_letters);
    }
    if (r == 0) {
        r = sdat_store_retention_accesses(st, accesses_before, &counts.accesses);
    }
    if (r == 0) {
        sdat_time_format_ms(payloads_before, payloads_at, sizeof payloads_at);
        sdat_time_format_ms(dead_letters_before, dead_letters_at, sizeof dead_letters_at);
        sdat_time_format_ms(accesses_before, accesses_at, sizeof accesses_at);
        json_t *detail =
            json_pack("{s:I, s:s, s:I, s:s, s:I, s:s}", "payloads", (json_int_t)counts.payloads,
                      "payloads_before", payloads_at, "dead_letters",
                      (json_int_t)counts.dead_letters, "dead_letters_before", dead_letters_at,
                      "accesses", (json_int_t)counts.accesses, "accesses_before", accesses_at);
        r = detail ? sdat_audit_append(audit, st, now_ms, "retention.pruned", "sdatd", NULL, detail)
                   : -ENOMEM;
    }
    if (r == 0) {
        r = sdat_store_commit(st); /* rolls back itself on failure */
    } else {
        sdat_store_rollback(st);
    }
    if (r == 0) {
        *ret_counts = counts;
    }
    return r;
}
