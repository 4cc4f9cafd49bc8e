/* sdatctl publish: produce JSON Lines to a topic with the configured
 * connection, each keyed by the key its schema derives (events.md). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <librdkafka/rdkafka.h>

#include "ctl.h"
#include "kafka/kafka.h"
#include "decide/decide.h"

static int failures;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
    (void)rk;
    (void)opaque;
    if (msg->err) {
        failures++;
        fprintf(stderr, "sdatctl: a message was not delivered: %s\n", rd_kafka_err2str(msg->err));
    }
}

int ctl_publish(const struct ctl_options *opts, int argc, char **argv)
{
    static const struct option long_options[] = {{"topic", required_argument, NULL, 't'},
                                                 {"tombstone", required_argument, NULL, 'k'},
                                                 {NULL, 0, NULL, 0}};
    const char *topic = NULL;
    const char *tombstones[256];
    size_t n_tombstones = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, "t:k:", long_options, NULL)) != -1) {
        if (opt == 't') {
            topic = optarg;
        } else if (opt == 'k' && n_tombstones < 256) {
            tombstones[n_tombstones++] = optarg;
        } else {
            opt = '?';
            break;
        }
    }
    if (opt == '?' || !topic || argc - optind > 1) {
        fprintf(stderr, "usage: sdatctl publish --topic NAME [--tombstone KEY]... [FILE|-]\n");
        return CTL_USAGE;
    }
    struct sdat_config *cfg = ctl_load_config(opts);
    if (!cfg) {
        return CTL_CONFIG;
    }
    char err[512], errstr[512], *bootstrap = NULL;
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_t *rk = NULL;
    FILE *in = NULL;
    int rc = CTL_NEGATIVE;
    long sent = 0;

    if (sdat_kafka_bootstrap(cfg, &bootstrap, err, sizeof err) < 0 ||
        sdat_kafka_conf_new(cfg, bootstrap, &conf, err, sizeof err) < 0) {
        fprintf(stderr, "sdatctl: %s\n", err);
        goto out;
    }
    rd_kafka_conf_set(conf, "enable.idempotence", "true", NULL, 0);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) {
        fprintf(stderr, "sdatctl: cannot create a producer: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        goto out;
    }
    for (size_t i = 0; i < n_tombstones; i++) {
        if (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic),
                              RD_KAFKA_V_KEY(tombstones[i], strlen(tombstones[i])),
                              RD_KAFKA_V_VALUE(NULL, 0), RD_KAFKA_V_END) == 0) {
            sent++;
        }
    }
    if (n_tombstones == 0 || optind < argc) {
        in = ctl_open_input(optind < argc ? argv[optind] : "-");
        if (!in) {
            goto out;
        }
        char *line = NULL;
        size_t cap = 0;
        ssize_t len;
        while ((len = getline(&line, &cap, in)) >= 0) {
            while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
                line[--len] = '\0';
            }
            if (len == 0) {
                continue;
            }
            char key[256];
            json_t *doc = json_loadb(line, (size_t)len, 0, NULL);
            /* A line whose key cannot be derived goes without a key; the
             * daemon dead-letters it (stage key or parse). */
            sdat_schemas_derive_key(doc, NULL, key, sizeof key);
            json_decref(doc);
            rd_kafka_resp_err_t e;
            while ((e = rd_kafka_producev(
                        rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                        RD_KAFKA_V_KEY(key[0] ? key : NULL, strlen(key)),
                        RD_KAFKA_V_VALUE(line, (size_t)len), RD_KAFKA_V_END)) ==
                   RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                rd_kafka_poll(rk, 100);
            }
            if (e) {
                fprintf(stderr, "sdatctl: cannot produce: %s\n", rd_kafka_err2str(e));
                failures++;
            } else {
                sent++;
            }
            rd_kafka_poll(rk, 0);
        }
        free(line);
    }
    if (rd_kafka_flush(rk, 30000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "sdatctl: timed out waiting for the broker\n");
        failures++;
    }
    printf("published %ld messages to %s\n", sent - failures, topic);
    rc = failures ? CTL_NEGATIVE : CTL_OK;
out:
    if (in && in != stdin) {
        fclose(in);
    }
    if (rk) {
        rd_kafka_destroy(rk);
    }
    free(bootstrap);
    sdat_config_free(cfg);
    return rc;
}
