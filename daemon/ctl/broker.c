/* sdatctl broker: librdkafka's mock cluster as a standalone process, so that
 * tests can kill and restart sdatd while the broker and its committed
 * offsets live on. Prints the bootstrap address on the first line of
 * standard output; reads fault commands on standard input; runs until
 * SIGTERM or end of input. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kafka/kafka.h"
#include "ctl.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

int ctl_broker(const struct ctl_options *opts, int argc, char **argv)
{
    static const struct option long_options[] = {{"brokers", required_argument, NULL, 'b'},
                                                 {"partitions", required_argument, NULL, 'p'},
                                                 {"topic", required_argument, NULL, 't'},
                                                 {NULL, 0, NULL, 0}};
    int brokers = 1, partitions = 4, opt;
    const char *topics[64];
    size_t n_topics = 0;
    while ((opt = getopt_long(argc, argv, "b:p:t:", long_options, NULL)) != -1) {
        if (opt == 'b') {
            brokers = atoi(optarg);
        } else if (opt == 'p') {
            partitions = atoi(optarg);
        } else if (opt == 't' && n_topics < 64) {
            topics[n_topics++] = optarg;
        } else {
            opt = '?';
            break;
        }
    }
    if (opt == '?' || optind != argc || brokers < 1 || brokers > 9 || partitions < 1 ||
        partitions > 1000) {
        fprintf(stderr, "usage: sdatctl broker [--brokers 1-9] [--partitions N] [--topic NAME]...\n");
        return CTL_USAGE;
    }
    struct sdat_config *cfg = NULL;
    if (opts->config_given) {
        cfg = ctl_load_config(opts);
        if (!cfg) {
            return CTL_CONFIG;
        }
    }
    char err[256];
    sdat_broker_t *broker = NULL;
    if (sdat_broker_start(brokers, &broker, err, sizeof err) < 0) {
        fprintf(stderr, "sdatctl: %s\n", err);
        sdat_config_free(cfg);
        return CTL_NEGATIVE;
    }
    if (cfg) {
        const char *configured[] = {cfg->topics.police_incidents, cfg->topics.health_attendances,
                                    cfg->topics.council_children, cfg->topics.council_flags,
                                    cfg->topics.cpis_responses,   cfg->topics.dead_letter,
                                    cfg->topics.audit};
        for (size_t i = 0; i < sizeof configured / sizeof configured[0]; i++) {
            sdat_broker_create_topic(broker, configured[i], partitions);
        }
    }
    for (size_t i = 0; i < n_topics; i++) {
        sdat_broker_create_topic(broker, topics[i], partitions);
    }
    printf("%s\n", sdat_broker_bootstraps(broker));
    fflush(stdout);

    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    char line[256];
    size_t used = 0;
    while (!stop_requested) {
        struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};
        int n = poll(&pfd, 1, 200);
        if (n <= 0) {
            continue;
        }
        ssize_t got = read(STDIN_FILENO, line + used, sizeof line - 1 - used);
        if (got <= 0) {
            break; /* end of input */
        }
        used += (size_t)got;
        line[used] = '\0';
        char *nl;
        while ((nl = strchr(line, '\n'))) {
            *nl = '\0';
            if (line[0] && sdat_broker_command(broker, line, err, sizeof err) < 0) {
                fprintf(stderr, "sdatctl broker: %s\n", err);
            } else if (line[0]) {
                fprintf(stderr, "sdatctl broker: ok: %s\n", line);
            }
            used -= (size_t)(nl + 1 - line);
            memmove(line, nl + 1, used + 1);
        }
        if (used == sizeof line - 1) {
            used = 0; /* an over-long line: drop it */
        }
    }
    sdat_broker_stop(broker);
    sdat_config_free(cfg);
    return CTL_OK;
}
