#include "connector.h"

#include <stdarg.h>
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

static void append(char **errors, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void append(char **errors, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    size_t old = *errors ? strlen(*errors) : 0;
    char *grown = realloc(*errors, old + strlen(line) + 2);
    if (!grown) {
        return;
    }
    memcpy(grown + old, line, strlen(line));
    grown[old + strlen(line)] = '\n';
    grown[old + strlen(line) + 1] = '\0';
    *errors = grown;
}

int sdat_connector_check_all(const struct sdat_config *cfg, char **errors)
{
    int problems = 0;
    for (size_t i = 0; i < cfg->n_recipients; i++) {
        const struct sdat_recipient *r = &cfg->recipients[i];
        const struct sdat_connector_ops *ops = sdat_connector_find(r->connector);
        char err[512] = "";
        if (!ops) {
            append(errors, "%s:%d: recipients.[%zu].connector: \"%s\" is not a known connector",
                   r->file, r->line, r->index, r->connector ? r->connector : "");
            problems++;
            continue;
        }
        if (ops->check && ops->check(r, err, sizeof err) < 0) {
            append(errors, "%s:%d: recipients.[%zu].%s", r->file, r->line, r->index, err);
            problems++;
        }
    }
    return problems;
}
