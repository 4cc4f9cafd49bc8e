/* sdatctl's commands. Each returns an exit code: 0 success, 1 a negative
 * answer, 2 usage error, 78 bad configuration. */
#ifndef SDAT_CTL_H
#define SDAT_CTL_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "config/config.h"
#include "store/store-t.h"

#define CTL_OK 0
#define CTL_NEGATIVE 1
#define CTL_USAGE 2
#define CTL_CONFIG 78

struct ctl_options {
    const char *config_path;
    bool config_given; /* -c was on the command line */
    const char *url, *token_file, *ca_file;
};

/* Loads the configuration named by the options; prints problems and returns
 * NULL on failure (the caller exits CTL_CONFIG). */
struct sdat_config *ctl_load_config(const struct ctl_options *opts);
/* The same for a command that reads only the store (or talks to the API):
 * the files the configuration names are neither checked nor read
 * (sdat_config_load_reader), so it runs outside the unit and from an
 * account that cannot read the secrets. */
struct sdat_config *ctl_load_config_reader(const struct ctl_options *opts);
/* The store, read-only (it may run beside the daemon); NULL after a
 * message. */
sdat_store_t *ctl_open_store(const struct sdat_config *cfg);
/* Parses a command's only option, --json, and checks that operands
 * operands follow it (-1: any number; optind then points at them). CTL_OK,
 * or CTL_USAGE after printing "usage: USAGE". */
int ctl_json_only(int argc, char **argv, int operands, const char *usage, bool *ret_json);
/* Opens FILE or "-" (standard input); NULL with a message on failure. */
FILE *ctl_open_input(const char *path);
/* S (NULL: "") as one printable line for a table (sdat_log_escape: control
 * characters, C1 controls and invalid UTF-8 escaped; quality.md S8): every
 * value printed from the store or an answer may have come from outside.
 * The result lives until the eighth call after this one. */
const char *ctl_esc(const char *s);

/* Calls the daemon's HTTP API (--url, else http.public_url, else
 * http.listen; token from --token-file or $SDAT_TOKEN; --ca-file). 0 and the
 * status and the answer (malloc'd), or a negative errno after a message. */
int ctl_api(const struct ctl_options *opts, const struct sdat_config *cfg, const char *method,
            const char *path, const char *body, long *ret_status, char **ret_body);
/* CTL_OK for 2xx; else prints the error body and returns CTL_NEGATIVE. */
int ctl_api_report(long status, const char *body);
/* The configuration an API command needs: NULL without reading it when
 * --url (or SDAT_URL) is given, else the loaded one; *ret_failed when it
 * cannot be loaded (the caller returns CTL_CONFIG). */
struct sdat_config *ctl_api_config(const struct ctl_options *opts, bool *ret_failed);
/* POSTs body (taken) to path and prints a 2xx answer on standard output:
 * CTL_OK, CTL_NEGATIVE (reported), or CTL_CONFIG. */
int ctl_api_post(const struct ctl_options *opts, const char *path, json_t *body);
/* The same without printing: the 2xx answer in *ret_answer (malloc'd). */
int ctl_api_post_answer(const struct ctl_options *opts, const char *path, json_t *body,
                        char **ret_answer);

int ctl_import(const struct ctl_options *opts, int argc, char **argv);
int ctl_publish(const struct ctl_options *opts, int argc, char **argv);
int ctl_broker(const struct ctl_options *opts, int argc, char **argv);
int ctl_match(const struct ctl_options *opts, int argc, char **argv);
int ctl_schedule(const struct ctl_options *opts, int argc, char **argv);
int ctl_dlq(const struct ctl_options *opts, int argc, char **argv);
int ctl_validate(const struct ctl_options *opts, int argc, char **argv);
int ctl_notifications(const struct ctl_options *opts, int argc, char **argv);
int ctl_show(const struct ctl_options *opts, int argc, char **argv);
int ctl_reviews(const struct ctl_options *opts, int argc, char **argv);
int ctl_review(const struct ctl_options *opts, int argc, char **argv);
int ctl_dlq_replay(const struct ctl_options *opts, int argc, char **argv);
int ctl_status(const struct ctl_options *opts, int argc, char **argv);
int ctl_lookup(const struct ctl_options *opts, int argc, char **argv);
int ctl_audit(const struct ctl_options *opts, int argc, char **argv);
int ctl_notification(const struct ctl_options *opts, int argc, char **argv);
int ctl_token(const struct ctl_options *opts, int argc, char **argv);
int ctl_backup(const struct ctl_options *opts, int argc, char **argv);

#endif
