/* sdatctl: the operator's tool. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "outbox/outbox.h"
#include "ctl.h"
#include "store/store.h"
#include "util/util.h"

#define DEFAULT_CONFIG SDAT_SYSCONFDIR "/sdat/sdatd.conf"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: sdatctl [-c FILE] [--url URL] [--token-file F] [--ca-file F] [--keys DIR] "
            "COMMAND [ARGS]\n"
            "commands:\n"
            "  validate [--schema NAME] [FILE|-]     check JSON Lines against the schemas\n"
            "  import children|flags [FILE|-]        bulk load the register into the store\n"
            "  publish --topic NAME [--tombstone KEY]... [FILE|-]\n"
            "                                        produce JSON Lines to Kafka\n"
            "  broker [--brokers N] [--partitions N] [--topic NAME]...\n"
            "                                        run a mock Kafka cluster on loopback\n"
            "  match [FILE|-]                        match police incidents' children to the register\n"
            "  schedule --recipient ID --at DATETIME\n"
            "                                        when a school notification reported at\n"
            "                                        DATETIME (Z or +HH:MM) is released\n"
            "                                        (exit 1: no such recipient)\n"
            "  dlq [--json] [--since DATETIME]       list the rejected events (dead letters)\n"
            "  dlq replay ID [--by NAME]             replay a dead letter through the daemon (API)\n"
            "  notifications [--state S] [--limit N] [--json]\n"
            "                                        the latest notifications\n"
            "  show ID [--json]                      one notification: state, attempts, audit trail, payload\n"
            "  reviews [--json]                      the open review items and their candidates\n"
            "  review accept ID CHILD_ID --by NAME   decide a review item (API)\n"
            "  review reject ID --by NAME\n"
            "  status [--json]                       readiness and counts per state\n"
            "  lookup NHS_NUMBER [--at DATE]         a silent CP-IS lookup through the API\n"
            "  notification cancel ID --by NAME      cancel a scheduled notification (API)\n"
            "  notification resend ID --by NAME      deliver one again under its id (API)\n"
            "  notification redirect ID RECIPIENT --by NAME [--reason TEXT]\n"
            "                                        send it to RECIPIENT instead (API)\n"
            "  notification withdraw ID --reason TEXT --by NAME\n"
            "                                        ask its recipient to delete it (API)\n"
            "  token new NAME --role ROLE[,ROLE]... [--recipient ID]... [--ods-code CODE]...\n"
            "                                        a new API token and its configuration line\n"
            "  audit verify [--file F] [--head HASH]\n"
            "                                        check the audit chain (store or export)\n"
            "  audit export [--since DATETIME] [--subject ID]\n"
            "                                        the audit records as JSON Lines; --subject\n"
            "                                        adds the linked notifications' payloads\n"
            "  backup FILE                           a consistent copy of the store (FILE is new,\n"
            "                                        0600) while the daemon runs\n"
            "exit codes: 0 success, 1 negative answer, 2 usage error, 78 bad configuration\n");
}

static struct sdat_config *load_config(const struct ctl_options *opts, bool reader)
{
    struct sdat_config *cfg = NULL;
    char *errors = NULL;
    int r = reader ? sdat_config_load_reader(opts->config_path, sdat_connector_key_tables(), &cfg,
                                             &errors)
                   : sdat_config_load(opts->config_path, sdat_connector_key_tables(), &cfg,
                                      &errors);
    if (r < 0) {
        if (errors) {
            fputs(errors, stderr);
        } else {
            fprintf(stderr, "sdatctl: cannot load %s\n", opts->config_path);
        }
        free(errors);
        return NULL;
    }
    free(errors);
    return cfg;
}

struct sdat_config *ctl_load_config(const struct ctl_options *opts)
{
    return load_config(opts, false);
}

struct sdat_config *ctl_load_config_reader(const struct ctl_options *opts)
{
    return load_config(opts, true);
}

sdat_store_t *ctl_open_store(const struct sdat_config *cfg)
{
    sdat_store_t *st = NULL;
    char err[512];
    if (sdat_store_open(cfg->state_dir, SDAT_STORE_READONLY, &st, err, sizeof err) < 0) {
        fprintf(stderr, "sdatctl: %s\n", err);
        return NULL;
    }
    return st;
}

int ctl_json_only(int argc, char **argv, int operands, const char *usage, bool *ret_json)
{
    static const struct option long_options[] = {{"json", no_argument, NULL, 'j'},
                                                 {NULL, 0, NULL, 0}};
    int opt;
    *ret_json = false;
    while ((opt = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
        if (opt != 'j') {
            fprintf(stderr, "usage: %s\n", usage);
            return CTL_USAGE;
        }
        *ret_json = true;
    }
    if (operands >= 0 && optind + operands != argc) {
        fprintf(stderr, "usage: %s\n", usage);
        return CTL_USAGE;
    }
    return CTL_OK;
}

const char *ctl_esc(const char *s)
{
    static char ring[8][2048];
    static unsigned next;
    char *out = ring[next++ % 8];
    return sdat_log_escape(s, out, sizeof ring[0]);
}

FILE *ctl_open_input(const char *path)
{
    if (!path || strcmp(path, "-") == 0) {
        return stdin;
    }
    FILE *f = fopen(path, "re");
    if (!f) {
        fprintf(stderr, "sdatctl: cannot open %s: %s\n", path, strerror(errno));
    }
    return f;
}

int main(int argc, char **argv)
{
    /* Whatever it creates is its owner's only (quality.md S9): the store,
     * the state directory, the lock and bootstrap files. The file connector
     * sets its pickup modes (0750, 0640) itself. */
    umask(077);
    struct ctl_options opts = {.config_path = DEFAULT_CONFIG};
    static const struct option long_options[] = {
        {"url", required_argument, NULL, 'u'},
        {"token-file", required_argument, NULL, 'T'},
        {"ca-file", required_argument, NULL, 'A'},
        {"keys", required_argument, NULL, 'K'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;

    /* "+": options end at the command; each command parses its own. */
    while ((opt = getopt_long(argc, argv, "+c:h", long_options, NULL)) != -1) {
        switch (opt) {
        case 'c':
            opts.config_path = optarg;
            opts.config_given = true;
            break;
        case 'u':
            opts.url = optarg;
            break;
        case 'T':
            opts.token_file = optarg;
            break;
        case 'A':
            opts.ca_file = optarg;
            break;
        case 'K':
            /* "$CREDENTIALS_DIRECTORY/keys_NAME" read as DIR/NAME. */
            sdat_secret_keys_from(optarg);
            break;
        case 'h':
            usage(stdout);
            return CTL_OK;
        default:
            usage(stderr);
            return CTL_USAGE;
        }
    }
    if (!opts.url && getenv("SDAT_URL") && *getenv("SDAT_URL")) {
        opts.url = getenv("SDAT_URL");
    }
    if (optind >= argc) {
        usage(stderr);
        return CTL_USAGE;
    }
    const char *command = argv[optind];
    int cargc = argc - optind;
    char **cargv = argv + optind;
    optind = 0; /* each command restarts getopt (0: GNU getopt re-initialises, so that
                 * options may follow operands) */
    if (strcmp(command, "validate") == 0) {
        return ctl_validate(&opts, cargc, cargv);
    }
    if (strcmp(command, "import") == 0) {
        return ctl_import(&opts, cargc, cargv);
    }
    if (strcmp(command, "publish") == 0) {
        return ctl_publish(&opts, cargc, cargv);
    }
    if (strcmp(command, "match") == 0) {
        return ctl_match(&opts, cargc, cargv);
    }
    if (strcmp(command, "schedule") == 0) {
        return ctl_schedule(&opts, cargc, cargv);
    }
    if (strcmp(command, "dlq") == 0) {
        if (cargc > 1 && strcmp(cargv[1], "replay") == 0) {
            return ctl_dlq_replay(&opts, cargc - 1, cargv + 1);
        }
        return ctl_dlq(&opts, cargc, cargv);
    }
    if (strcmp(command, "notifications") == 0) {
        return ctl_notifications(&opts, cargc, cargv);
    }
    if (strcmp(command, "show") == 0) {
        return ctl_show(&opts, cargc, cargv);
    }
    if (strcmp(command, "reviews") == 0) {
        return ctl_reviews(&opts, cargc, cargv);
    }
    if (strcmp(command, "review") == 0) {
        return ctl_review(&opts, cargc, cargv);
    }
    if (strcmp(command, "status") == 0) {
        return ctl_status(&opts, cargc, cargv);
    }
    if (strcmp(command, "lookup") == 0) {
        return ctl_lookup(&opts, cargc, cargv);
    }
    if (strcmp(command, "notification") == 0) {
        return ctl_notification(&opts, cargc, cargv);
    }
    if (strcmp(command, "token") == 0) {
        return ctl_token(&opts, cargc, cargv);
    }
    if (strcmp(command, "audit") == 0) {
        return ctl_audit(&opts, cargc, cargv);
    }
    if (strcmp(command, "backup") == 0) {
        return ctl_backup(&opts, cargc, cargv);
    }
    if (strcmp(command, "broker") == 0) {
        return ctl_broker(&opts, cargc, cargv);
    }
    fprintf(stderr, "sdatctl: unknown command \"%s\"\n", command);
    usage(stderr);
    return CTL_USAGE;
}
