/* The connector registry: the connectors built in, by name, their key
 * tables, and what the core hands them. */
#include "outbox.h"

#include <errno.h>
#include <pthread.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const struct sdat_connector_ops sdat_connector_file;
extern const struct sdat_connector_ops sdat_connector_webhook;
extern const struct sdat_connector_ops sdat_connector_smtp;
extern const struct sdat_connector_ops sdat_connector_kafka;

static const struct sdat_connector_ops *const registry[] = {
    &sdat_connector_file,
    &sdat_connector_webhook,
    &sdat_connector_smtp,
    &sdat_connector_kafka,
};

const struct sdat_connector_ops *sdat_connector_find(const char *name)
{
    if (!name) {
        return NULL;
    }
    for (size_t i = 0; i < sizeof registry / sizeof registry[0]; i++) {
        if (strcmp(registry[i]->name, name) == 0) {
            return registry[i];
        }
    }
    return NULL;
}

#define N_CONNECTORS (sizeof registry / sizeof registry[0])

static const struct sdat_key_table *tables[N_CONNECTORS + 1];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void tables_fill(void)
{
    for (size_t i = 0; i < N_CONNECTORS; i++) {
        tables[i] = registry[i]->keys;
    }
}

const struct sdat_key_table *const *sdat_connector_key_tables(void)
{
    pthread_once(&tables_once, tables_fill);
    return tables;
}

struct sdat_connector_recipient sdat_connector_recipient_of(const struct sdat_recipient *r)
{
    return (struct sdat_connector_recipient){.id = r->id, .conf = r->connector_conf};
}

int sdat_connector_check_ops(const struct sdat_connector_ops *ops, const struct sdat_recipient *r,
                             sdat_key_report_fn report, void *opaque)
{
    if (!ops || !r->connector_conf) {
        return 0;
    }
    struct sdat_connector_recipient cr = sdat_connector_recipient_of(r);
    if (ops->abi >= 4) {
        return ops->check_keys && ops->check_keys(&cr, report, opaque) < 0 ? -EINVAL : 0;
    }
    /* A connector written for ABI 3 or earlier: its first problem only, as
     * "KEY: MESSAGE". */
    char err[512] = "";
    if (!ops->check || ops->check(&cr, err, sizeof err) >= 0) {
        return 0;
    }
    const char *colon = strstr(err, ": ");
    size_t n = colon ? (size_t)(colon - err) : 0;
    if (n > 0 && n < 64 && !memchr(err, ' ', n)) {
        char key[64];
        snprintf(key, sizeof key, "%.*s", (int)n, err);
        report(opaque, key, "%s", colon + 2);
    } else {
        report(opaque, NULL, "%s", err[0] ? err : "is not valid");
    }
    return -EINVAL;
}

int sdat_connector_check(const struct sdat_recipient *r, sdat_key_report_fn report, void *opaque)
{
    return sdat_connector_check_ops(sdat_connector_find(r->connector), r, report, opaque);
}

/* The environment and, behind it, the property pairs it points at. */
struct env_block {
    struct sdat_connector_env env;
    char *bootstrap_servers;
    size_t n_properties;
    char *properties[]; /* name, value, …, NULL; values may be secrets */
};

int sdat_connector_env_new(const struct sdat_config *cfg, const char *bootstrap_servers,
                           struct sdat_connector_env **ret_env)
{
    size_t n = cfg->kafka.n_properties;
    struct env_block *b = calloc(1, sizeof *b + (2 * n + 1) * sizeof b->properties[0]);
    if (!b) {
        return -ENOMEM;
    }
    if (bootstrap_servers && !(b->bootstrap_servers = strdup(bootstrap_servers))) {
        free(b);
        return -ENOMEM;
    }
    b->n_properties = n;
    for (size_t i = 0; i < n; i++) {
        /* Copies: a reload swaps the running kafka.properties away from
         * the configuration that the environment was made from. */
        if (!(b->properties[2 * i] = strdup(cfg->kafka.properties[i].name)) ||
            !(b->properties[2 * i + 1] = strdup(cfg->kafka.properties[i].value))) {
            sdat_connector_env_free(&b->env);
            return -ENOMEM;
        }
    }
    b->env = (struct sdat_connector_env){.bootstrap_servers = b->bootstrap_servers,
                                         .kafka_properties = (const char *const *)b->properties,
                                         .user_agent = "sdatd/" SDAT_VERSION,
                                         .give_up_after = cfg->delivery.give_up_after};
    *ret_env = &b->env;
    return 0;
}

void sdat_connector_env_free(struct sdat_connector_env *env)
{
    if (env) {
        struct env_block *b = (struct env_block *)env; /* env is its first member */
        for (size_t i = 0; i < 2 * b->n_properties; i++) {
            if (b->properties[i] && i % 2 == 1) {
                explicit_bzero(b->properties[i], strlen(b->properties[i]));
            }
            free(b->properties[i]);
        }
        free(b->bootstrap_servers);
        free(b);
    }
}
