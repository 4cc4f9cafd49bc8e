#include "engine.h"
#include "register.h"

#include <errno.h>

int sdat_register_apply(sdat_store_t *st, sdat_audit_t *audit, enum sdat_register_kind kind,
                        const char *key, const json_t *doc, const char *actor,
                        const char *source, int64_t now_ms)
{
    bool child = kind == SDAT_REGISTER_CHILD;
    const char *change;
    int r;
    if (doc) {
        r = child ? sdat_store_child_upsert(st, doc, now_ms) : sdat_store_flag_upsert(st, doc, now_ms);
        change = "upsert";
    } else {
        r = child ? sdat_store_child_delete(st, key) : sdat_store_flag_delete(st, key);
        if (r == -ENOENT) {
            return 0;
        }
        change = "delete";
    }
    if (r < 0) {
        return r;
    }
    return sdat_audit_append(audit, st, now_ms, "register.changed", actor,
                             json_pack("{s:s}", child ? "child_id" : "flag_id", key),
                             json_pack("{s:s, s:s}", "change", change, "source", source));
}
