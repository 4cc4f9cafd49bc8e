#include "broker.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "kafka.h"

struct sdat_broker {
    rd_kafka_t *host; /* the client instance the mock cluster lives in */
    rd_kafka_mock_cluster_t *mcluster;
};

int sdat_broker_start(int brokers, sdat_broker_t **ret_broker, char *err, size_t errlen)
{
    char errstr[256];
    sdat_broker_t *broker = calloc(1, sizeof *broker);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();

    if (!broker || !conf) {
        free(broker);
        if (conf) {
            rd_kafka_conf_destroy(conf);
        }
        return -ENOMEM;
    }
    /* The host instance never connects anywhere; it only runs the mock. */
    rd_kafka_conf_set(conf, "log_level", "3", NULL, 0);
    rd_kafka_conf_set_log_cb(conf, sdat_kafka_log);
    broker->host = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!broker->host) {
        snprintf(err, errlen, "cannot create the broker's host client: %s", errstr);
        rd_kafka_conf_destroy(conf);
        free(broker);
        return -EIO;
    }
    broker->mcluster = rd_kafka_mock_cluster_new(broker->host, brokers);
    if (!broker->mcluster) {
        snprintf(err, errlen, "cannot start the mock cluster");
        sdat_broker_stop(broker);
        return -EIO;
    }
    *ret_broker = broker;
    return 0;
}

void sdat_broker_stop(sdat_broker_t *broker)
{
    if (!broker) {
        return;
    }
    if (broker->mcluster) {
        rd_kafka_mock_cluster_destroy(broker->mcluster);
    }
    if (broker->host) {
        rd_kafka_destroy(broker->host);
    }
    free(broker);
}

const char *sdat_broker_bootstraps(const sdat_broker_t *broker)
{
    return rd_kafka_mock_cluster_bootstraps(broker->mcluster);
}

int sdat_broker_create_topic(sdat_broker_t *broker, const char *topic, int partitions)
{
    rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(broker->mcluster, topic, partitions, 1);
    return e == RD_KAFKA_RESP_ERR_NO_ERROR || e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS ? 0
                                                                                          : -EIO;
}

int sdat_broker_command(sdat_broker_t *broker, const char *line, char *err, size_t errlen)
{
    char verb[16];
    long a = 0, b = 0, c = 0;
    int n = sscanf(line, "%15s %ld %ld %ld", verb, &a, &b, &c);
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;

    if (n >= 2 && strcmp(verb, "down") == 0) {
        e = rd_kafka_mock_broker_set_down(broker->mcluster, (int32_t)a);
    } else if (n >= 2 && strcmp(verb, "up") == 0) {
        e = rd_kafka_mock_broker_set_up(broker->mcluster, (int32_t)a);
    } else if (n >= 3 && strcmp(verb, "rtt") == 0) {
        e = rd_kafka_mock_broker_set_rtt(broker->mcluster, (int32_t)a, (int)b);
    } else if (n >= 4 && strcmp(verb, "error") == 0 && c >= 0 && c <= 1000000) {
        for (long i = 0; i < c; i++) {
            rd_kafka_mock_push_request_errors(broker->mcluster, (int16_t)a, 1,
                                              (rd_kafka_resp_err_t)b);
        }
    } else {
        snprintf(err, errlen,
                 "unknown command (use: down BROKER, up BROKER, rtt BROKER MS, "
                 "error APIKEY CODE COUNT)");
        return -EINVAL;
    }
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(err, errlen, "%s", rd_kafka_err2str(e));
        return -EINVAL;
    }
    return 0;
}
