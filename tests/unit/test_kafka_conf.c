/* The consumer group member's defaults (quality.md P8) and their order
 * against kafka.properties. */
#include <criterion/criterion.h>
#include <string.h>

#include "kafka/kafka.h"

static const char *get(rd_kafka_conf_t *conf, const char *name, char *buf, size_t size)
{
    cr_assert_eq(rd_kafka_conf_get(conf, name, buf, &size), RD_KAFKA_CONF_OK, "%s", name);
    return buf;
}

Test(kafka_conf, group_instance_id_keeps_legal_characters_and_replaces_the_rest)
{
    char buf[SDAT_KAFKA_GROUP_INSTANCE_ID_MAX + 1];
    sdat_kafka_group_instance_id("sdat-1.prod_A", buf, sizeof buf);
    cr_assert_str_eq(buf, "sdat-1.prod_A");
    sdat_kafka_group_instance_id("host name:2/é", buf, sizeof buf);
    cr_assert_str_eq(buf, "host_name_2___");
    char longer[400];
    memset(longer, 'a', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    sdat_kafka_group_instance_id(longer, buf, sizeof buf);
    cr_assert_eq(strlen(buf), SDAT_KAFKA_GROUP_INSTANCE_ID_MAX);
    char small[4];
    sdat_kafka_group_instance_id("abcdef", small, sizeof small);
    cr_assert_str_eq(small, "abc");
}

Test(kafka_conf, member_defaults_are_static_membership_and_a_short_session)
{
    struct sdat_config cfg = {.instance_id = "it one"};
    rd_kafka_conf_t *conf = NULL;
    char err[256], buf[256];
    cr_assert_eq(sdat_kafka_conf_new_member(&cfg, "127.0.0.1:9", false, &conf, err, sizeof err), 0);
    cr_assert_str_eq(get(conf, "group.instance.id", buf, sizeof buf), "it_one");
    cr_assert_str_eq(get(conf, "session.timeout.ms", buf, sizeof buf), "6000");
    cr_assert_str_eq(get(conf, "heartbeat.interval.ms", buf, sizeof buf), "1000");
    rd_kafka_conf_destroy(conf);
    cr_assert_eq(sdat_kafka_conf_new_member(&cfg, "127.0.0.1:9", true, &conf, err, sizeof err), 0);
    cr_assert_str_eq(get(conf, "session.timeout.ms", buf, sizeof buf), "3000");
    cr_assert_str_eq(get(conf, "heartbeat.interval.ms", buf, sizeof buf), "500");
    rd_kafka_conf_destroy(conf);
}

Test(kafka_conf, kafka_properties_override_the_member_defaults)
{
    struct sdat_kafka_property props[] = {
        {.name = "session.timeout.ms", .value = "45000"},
        {.name = "group.instance.id", .value = "chosen"},
    };
    struct sdat_config cfg = {.instance_id = "it1"};
    cfg.kafka.properties = props;
    cfg.kafka.n_properties = 2;
    rd_kafka_conf_t *conf = NULL;
    char err[256], buf[256];
    cr_assert_eq(sdat_kafka_conf_new_member(&cfg, "127.0.0.1:9", true, &conf, err, sizeof err), 0);
    cr_assert_str_eq(get(conf, "session.timeout.ms", buf, sizeof buf), "45000");
    cr_assert_str_eq(get(conf, "group.instance.id", buf, sizeof buf), "chosen");
    cr_assert_str_eq(get(conf, "heartbeat.interval.ms", buf, sizeof buf), "500");
    rd_kafka_conf_destroy(conf);
}

Test(kafka_conf, producers_get_no_group_membership)
{
    struct sdat_config cfg = {.instance_id = "it1"};
    rd_kafka_conf_t *conf = NULL;
    char err[256], buf[256];
    size_t size = sizeof buf;
    cr_assert_eq(sdat_kafka_conf_new(&cfg, "127.0.0.1:9", &conf, err, sizeof err), 0);
    /* Unset: librdkafka answers "unknown" for a string property without a
     * value. */
    cr_assert_neq(rd_kafka_conf_get(conf, "group.instance.id", buf, &size), RD_KAFKA_CONF_OK);
    cr_assert_str_eq(get(conf, "session.timeout.ms", buf, sizeof buf), "45000");
    rd_kafka_conf_destroy(conf);
}
