/* make bench, P1's end condition on the Kafka side: waits until consumer
 * group GROUP has committed, on every partition of TOPIC, the partition's
 * end (its high watermark), and prints when (wall clock, ms since the
 * epoch, comparable with the store's updated_ms columns).
 *
 *   bench_offsets BOOTSTRAP GROUP TOPIC SECONDS
 *
 * Prints "offsets: committed C of E at_ms T" (exit 0) or, after SECONDS,
 * "offsets: committed C of E, timed out" (exit 1). It never joins the group:
 * the committed offsets are read with OffsetFetch only. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

static long long wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The partitions of TOPIC, or NULL. Caller destroys. */
static rd_kafka_topic_partition_list_t *partitions(rd_kafka_t *rk, const char *topic)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_partition_list_t *list = NULL;
    if (rkt && rd_kafka_metadata(rk, 0, rkt, &md, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        list = rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
        for (int i = 0; i < md->topics[0].partition_cnt; i++) {
            rd_kafka_topic_partition_list_add(list, topic, md->topics[0].partitions[i].id);
        }
    }
    if (md) {
        rd_kafka_metadata_destroy(md);
    }
    if (rkt) {
        rd_kafka_topic_destroy(rkt);
    }
    return list;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: bench_offsets BOOTSTRAP GROUP TOPIC SECONDS\n");
        return 2;
    }
    const char *topic = argv[3];
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", argv[1], errstr, sizeof errstr) ||
        rd_kafka_conf_set(conf, "group.id", argv[2], errstr, sizeof errstr) ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, sizeof errstr)) {
        fprintf(stderr, "bench_offsets: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        return 2;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (!rk) {
        fprintf(stderr, "bench_offsets: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        return 1;
    }
    int rc = 1;
    long long deadline = wall_ms() + atoll(argv[4]) * 1000;
    long long committed = 0, end = 0;
    rd_kafka_topic_partition_list_t *list = partitions(rk, topic);
    if (!list) {
        fprintf(stderr, "bench_offsets: no metadata for topic %s\n", topic);
        goto out;
    }
    for (;;) {
        long long c = 0, e = 0;
        bool known = rd_kafka_committed(rk, list, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR;
        for (int i = 0; known && i < list->cnt; i++) {
            int64_t lo = 0, hi = 0;
            if (rd_kafka_query_watermark_offsets(rk, topic, list->elems[i].partition, &lo, &hi,
                                                 5000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
                known = false;
                break;
            }
            c += list->elems[i].offset >= 0 ? list->elems[i].offset : 0;
            e += hi;
        }
        if (known) {
            committed = c;
            end = e;
            if (c >= e) {
                printf("offsets: committed %lld of %lld at_ms %lld\n", committed, end, wall_ms());
                rc = 0;
                break;
            }
        }
        if (wall_ms() >= deadline) {
            printf("offsets: committed %lld of %lld, timed out\n", committed, end);
            break;
        }
        usleep(100 * 1000);
    }
out:
    if (list) {
        rd_kafka_topic_partition_list_destroy(list);
    }
    rd_kafka_destroy(rk);
    return rc;
}
