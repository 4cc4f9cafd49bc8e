#include "regfeed.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "engine/engine.h"
#include "kafka.h"
#include "util/util.h"

#define MAX_PARTITIONS 256
#define BATCH_MAX 512

struct part {
    char *topic;
    int32_t partition;
    int64_t target; /* the end offset read when the partition was assigned */
    bool at_end;    /* applied up to target (or the broker said end) */
};

struct sdat_regfeed {
    rd_kafka_t *rk;
    char *cluster; /* the cluster id positions are kept under */
    const char *topics[2];
    bool topic_known[2]; /* its partitions (or its absence) are known */
    bool said_current;
    struct part parts[MAX_PARTITIONS];
    size_t n_parts;
    int64_t next_metadata_ms;
    /* A batch read but not yet committed (the store refused it). */
    rd_kafka_message_t *batch[BATCH_MAX];
    size_t n_batch;
};

int sdat_regfeed_new(const struct sdat_config *cfg, const char *bootstrap, sdat_regfeed_t **ret,
                     char *err, size_t errlen)
{
    char errstr[512];
    rd_kafka_conf_t *conf = NULL;
    sdat_regfeed_t *feed = calloc(1, sizeof *feed);
    if (!feed) {
        return -ENOMEM;
    }
    int r = sdat_kafka_conf_new(cfg, bootstrap, &conf, err, errlen);
    if (r < 0) {
        free(feed);
        return r;
    }
    /* Positions live in the store and are set by assign(); the group id is
     * required by the consumer API but never joined (no subscribe) and
     * nothing is committed to it. */
    char group[300];
    snprintf(group, sizeof group, "%s.register.%s", cfg->kafka.group_id, cfg->instance_id);
    sdat_kafka_conf_consumer(conf, cfg, group, false);
    rd_kafka_conf_set(conf, "enable.partition.eof", "true", NULL, 0);
    feed->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (!feed->rk) {
        snprintf(err, errlen, "cannot create the register consumer: %s", errstr);
        rd_kafka_conf_destroy(conf); /* rd_kafka_new owns it only on success */
        free(feed);
        return -EINVAL;
    }
    rd_kafka_poll_set_consumer(feed->rk);
    feed->topics[0] = cfg->topics.council_children;
    feed->topics[1] = cfg->topics.council_flags;
    *ret = feed;
    return 0;
}

void sdat_regfeed_free(sdat_regfeed_t *feed)
{
    if (!feed) {
        return;
    }
    for (size_t i = 0; i < feed->n_batch; i++) {
        rd_kafka_message_destroy(feed->batch[i]);
    }
    if (feed->rk) {
        rd_kafka_assign(feed->rk, NULL);
        rd_kafka_destroy(feed->rk);
    }
    for (size_t i = 0; i < feed->n_parts; i++) {
        free(feed->parts[i].topic);
    }
    free(feed->cluster);
    free(feed);
}

static struct part *find_part(sdat_regfeed_t *feed, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < feed->n_parts; i++) {
        if (feed->parts[i].partition == partition && strcmp(feed->parts[i].topic, topic) == 0) {
            return &feed->parts[i];
        }
    }
    return NULL;
}

/* Adds partitions that appeared since the last look (a topic created after
 * the daemon started, or grown) to the assignment, each from the position
 * the store keeps for this cluster or from the beginning, with the end
 * offset of that moment as the point where it is current. A topic the
 * cluster does not have is current with nothing to read. */
static void refresh_assignment(sdat_regfeed_t *feed, sdat_store_t *st)
{
    if (!feed->cluster) {
        feed->cluster = rd_kafka_clusterid(feed->rk, 2000);
        if (!feed->cluster) {
            return; /* no broker answered: positions cannot be chosen yet */
        }
        log_info("register", "cluster id %s", feed->cluster);
    }
    rd_kafka_topic_partition_list_t *add = rd_kafka_topic_partition_list_new(8);
    for (int t = 0; t < 2; t++) {
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(feed->rk, feed->topics[t], NULL);
        const struct rd_kafka_metadata *md = NULL;
        if (!rkt) {
            continue;
        }
        rd_kafka_resp_err_t e = rd_kafka_metadata(feed->rk, 0, rkt, &md, 2000);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1 &&
            md->topics[0].err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
            feed->topic_known[t] = true;
        } else if (e == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1 && !md->topics[0].err) {
            bool all = true;
            for (int p = 0; p < md->topics[0].partition_cnt; p++) {
                int32_t id = md->topics[0].partitions[p].id;
                int64_t low = 0, high = 0;
                if (find_part(feed, feed->topics[t], id)) {
                    continue;
                }
                if (feed->n_parts >= MAX_PARTITIONS ||
                    rd_kafka_query_watermark_offsets(feed->rk, feed->topics[t], id, &low, &high,
                                                     2000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
                    all = false;
                    continue;
                }
                int64_t next = RD_KAFKA_OFFSET_BEGINNING;
                if (sdat_store_register_offset(st, feed->cluster, feed->topics[t], id, &next) <
                    0) {
                    next = RD_KAFKA_OFFSET_BEGINNING;
                }
                rd_kafka_topic_partition_list_add(add, feed->topics[t], id)->offset = next;
                feed->parts[feed->n_parts++] = (struct part){
                    .topic = strdup(feed->topics[t]),
                    .partition = id,
                    .target = high,
                    .at_end = high <= low || (next >= 0 && next >= high),
                };
            }
            feed->topic_known[t] = all;
        }
        if (md) {
            rd_kafka_metadata_destroy(md);
        }
        rd_kafka_topic_destroy(rkt);
    }
    if (add->cnt > 0) {
        rd_kafka_error_t *error = rd_kafka_incremental_assign(feed->rk, add);
        if (error) {
            log_error("register", "cannot assign %d register partitions: %s", add->cnt,
                      rd_kafka_error_string(error));
            rd_kafka_error_destroy(error);
        } else {
            log_info("register", "reading %d more register partitions (%zu in all)", add->cnt,
                     feed->n_parts);
        }
    }
    rd_kafka_topic_partition_list_destroy(add);
}

bool sdat_regfeed_current(const sdat_regfeed_t *feed)
{
    if (!feed->topic_known[0] || !feed->topic_known[1]) {
        return false;
    }
    for (size_t i = 0; i < feed->n_parts; i++) {
        if (!feed->parts[i].at_end) {
            return false;
        }
    }
    return true;
}

/* Says once that the register became current. */
static void note_current(sdat_regfeed_t *feed)
{
    if (!feed->said_current && sdat_regfeed_current(feed)) {
        feed->said_current = true;
        log_info("register", "register is current (%zu partitions read)", feed->n_parts);
    }
}

static void reached(sdat_regfeed_t *feed, struct part *p)
{
    if (p && !p->at_end) {
        p->at_end = true;
        note_current(feed);
    }
}

static int apply_batch(sdat_regfeed_t *feed, struct sdat_engine *e, int64_t now_ms)
{
    int r = sdat_store_begin(e->st);
    for (size_t i = 0; r == 0 && i < feed->n_batch; i++) {
        rd_kafka_message_t *msg = feed->batch[i];
        struct sdat_inbound m = sdat_kafka_inbound(msg);
        r = sdat_engine_process(e, &m, now_ms);
        if (r == 0) {
            r = sdat_store_register_offset_set(e->st, feed->cluster, m.topic, m.partition,
                                               m.offset + 1);
        }
    }
    if (r == 0) {
        r = sdat_store_commit(e->st);
    } else {
        sdat_store_rollback(e->st);
    }
    return r;
}

int sdat_regfeed_poll(sdat_regfeed_t *feed, struct sdat_engine *e, int64_t now_ms, int max)
{
    int64_t mono = sdat_time_mono_ms();
    if (mono >= feed->next_metadata_ms) {
        refresh_assignment(feed, e->st);
        note_current(feed); /* empty topics, or positions already at the end */
        feed->next_metadata_ms = mono + (sdat_regfeed_current(feed) ? 30000 : 2000);
    }
    if (max > BATCH_MAX) {
        max = BATCH_MAX;
    }
    while (feed->n_batch < (size_t)max) {
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(feed->rk, 0);
        if (!msg) {
            break;
        }
        if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            reached(feed, find_part(feed, rd_kafka_topic_name(msg->rkt), msg->partition));
            rd_kafka_message_destroy(msg);
            continue;
        }
        if (msg->err) {
            log_warn("register", "consumer: %s", rd_kafka_message_errstr(msg));
            rd_kafka_message_destroy(msg);
            continue;
        }
        feed->batch[feed->n_batch++] = msg;
    }
    if (feed->n_batch == 0) {
        return 0;
    }
    int r = apply_batch(feed, e, now_ms);
    if (r < 0) {
        return r; /* kept for the next call */
    }
    int n = (int)feed->n_batch;
    for (size_t i = 0; i < feed->n_batch; i++) {
        rd_kafka_message_t *msg = feed->batch[i];
        struct part *p = find_part(feed, rd_kafka_topic_name(msg->rkt), msg->partition);
        if (p && msg->offset + 1 >= p->target) {
            reached(feed, p); /* applied up to the end offset read at start */
        }
        rd_kafka_message_destroy(msg);
    }
    feed->n_batch = 0;
    return n;
}
