/* sdatctl notification cancel|resend|redirect|withdraw (delivery.md
 * "Operator actions", through the daemon's API so that the daemon makes the
 * change and audits who asked) and sdatctl token new (a new API token and
 * the configuration line that admits it; it reads neither the store nor the
 * configuration). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/crypto.h>

#include "ctl.h"
#include "util/util.h"
#include "decide/decide.h"

#define TOKEN_BYTES 32

static int notification_usage(void)
{
    fprintf(stderr, "usage: sdatctl notification cancel ID --by NAME\n"
                    "       sdatctl notification resend ID --by NAME\n"
                    "       sdatctl notification redirect ID RECIPIENT --by NAME [--reason TEXT]\n"
                    "       sdatctl notification withdraw ID --reason TEXT --by NAME\n");
    return CTL_USAGE;
}

/* A notification id goes into a URL path: n_ and 32 lowercase hex digits. */
static bool notification_id(const char *id)
{
    return strncmp(id, "n_", 2) == 0 && strlen(id) == 34 &&
           strspn(id + 2, "0123456789abcdef") == 32;
}

int ctl_notification(const struct ctl_options *opts, int argc, char **argv)
{
    static const struct option long_options[] = {{"by", required_argument, NULL, 'b'},
                                                 {"reason", required_argument, NULL, 'r'},
                                                 {NULL, 0, NULL, 0}};
    const char *by = NULL, *reason = NULL;
    int opt;
    while ((opt = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
        if (opt == 'b') {
            by = optarg;
        } else if (opt == 'r') {
            reason = optarg;
        } else {
            return notification_usage();
        }
    }
    int n = argc - optind;
    if (!by || n < 2) {
        return notification_usage();
    }
    const char *action = argv[optind], *id = argv[optind + 1];
    bool redirect = strcmp(action, "redirect") == 0;
    bool withdraw = strcmp(action, "withdraw") == 0;
    if (!redirect && !withdraw && strcmp(action, "cancel") != 0 && strcmp(action, "resend") != 0) {
        return notification_usage();
    }
    if (n != (redirect ? 3 : 2) || (withdraw && !reason) || (reason && !redirect && !withdraw)) {
        return notification_usage();
    }
    if (!notification_id(id)) {
        fprintf(stderr, "sdatctl: \"%s\" is not a notification id (n_ and 32 hex digits)\n", id);
        return CTL_USAGE;
    }
    json_t *body = json_pack("{s:s}", "by", by);
    if (body && redirect) {
        json_object_set_new(body, "recipient", json_string(argv[optind + 2]));
    }
    if (body && reason) {
        json_object_set_new(body, "reason", json_string(reason));
    }
    char path[96];
    snprintf(path, sizeof path, "/v1/notifications/%s/%s", id, action);
    return ctl_api_post(opts, path, body);
}

/* ---- token new ---- */

static int token_usage(void)
{
    fprintf(stderr, "usage: sdatctl token new NAME --role ROLE[,ROLE]... [--role ROLE]... "
                    "[--recipient ID]... [--ods-code CODE]...\n"
                    "roles: lookup, ack, operator, metrics, auditor\n");
    return CTL_USAGE;
}

static bool token_name(const char *name)
{
    size_t len = strlen(name);
    return len >= 1 && len <= 64 &&
           strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:@-") ==
               len;
}

static bool recipient_id(const char *id)
{
    size_t len = strlen(id);
    return len >= 1 && len <= 64 && strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789:._-") == len;
}

/* base64url without padding (RFC 4648 §5): out holds 4 * ceil(n / 3) + 1. */
static void base64url(const unsigned char *in, size_t n, char *out)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16;
        size_t left = n - i;
        if (left > 1) {
            v |= (unsigned)in[i + 1] << 8;
        }
        if (left > 2) {
            v |= in[i + 2];
        }
        out[o++] = alphabet[(v >> 18) & 63];
        out[o++] = alphabet[(v >> 12) & 63];
        if (left > 1) {
            out[o++] = alphabet[(v >> 6) & 63];
        }
        if (left > 2) {
            out[o++] = alphabet[v & 63];
        }
    }
    out[o] = '\0';
}

/* Prints ` KEY = [ "A", "B" ];` for a non-empty list. */
static void print_list(const char *key, char **v, size_t n)
{
    if (n == 0) {
        return;
    }
    printf(" %s = [", key);
    for (size_t i = 0; i < n; i++) {
        printf("%s \"%s\"", i ? "," : "", v[i]);
    }
    printf(" ];");
}

int ctl_token(const struct ctl_options *opts, int argc, char **argv)
{
    static const struct option long_options[] = {{"role", required_argument, NULL, 'r'},
                                                 {"recipient", required_argument, NULL, 'R'},
                                                 {"ods-code", required_argument, NULL, 'o'},
                                                 {NULL, 0, NULL, 0}};
    static const char *const role_names[] = {"lookup", "ack", "operator", "metrics", "auditor"};
    char *roles[5], *recipients[64], *ods_codes[64];
    size_t n_roles = 0, n_recipients = 0, n_ods = 0;
    unsigned role_bits = 0;
    int opt;
    (void)opts;
    while ((opt = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
        if (opt == 'r') {
            /* --role a,b or --role a --role b. */
            char *save = NULL;
            for (char *r = strtok_r(optarg, ",", &save); r; r = strtok_r(NULL, ",", &save)) {
                size_t k = 0;
                while (k < 5 && strcmp(role_names[k], r) != 0) {
                    k++;
                }
                if (k == 5) {
                    fprintf(stderr, "sdatctl: \"%s\" is not a role\n", r);
                    return token_usage();
                }
                if (!(role_bits & (1u << k))) {
                    role_bits |= 1u << k;
                    roles[n_roles++] = (char *)role_names[k];
                }
            }
        } else if (opt == 'R') {
            if (!recipient_id(optarg) || n_recipients == 64) {
                fprintf(stderr, "sdatctl: \"%s\" is not a recipient id\n", optarg);
                return token_usage();
            }
            recipients[n_recipients++] = optarg;
        } else if (opt == 'o') {
            if (!sdat_format_ods_code(optarg) || n_ods == 64) {
                fprintf(stderr, "sdatctl: \"%s\" is not an ODS code\n", optarg);
                return token_usage();
            }
            ods_codes[n_ods++] = optarg;
        } else {
            return token_usage();
        }
    }
    if (argc - optind > 2 && strcmp(argv[optind], "new") == 0) {
        fprintf(stderr, "sdatctl: one NAME only; give several roles as --role %s,%s or "
                        "--role %s --role %s\n",
                n_roles ? roles[0] : "operator", argv[optind + 2],
                n_roles ? roles[0] : "operator", argv[optind + 2]);
        return token_usage();
    }
    if (argc - optind != 2 || strcmp(argv[optind], "new") != 0 || n_roles == 0) {
        return token_usage();
    }
    const char *name = argv[optind + 1];
    if (!token_name(name)) {
        fprintf(stderr, "sdatctl: a token name is 1 to 64 letters, digits and ._:@-\n");
        return CTL_USAGE;
    }
    /* A scope narrows the role it belongs to; on a token without that role
     * it would be a mistake that reads like a restriction. */
    if ((n_recipients && !(role_bits & 2u)) || (n_ods && !(role_bits & 1u))) {
        fprintf(stderr, "sdatctl: --recipient narrows the ack role and --ods-code the lookup "
                        "role; give that role too\n");
        return CTL_USAGE;
    }
    unsigned char raw[TOKEN_BYTES];
    char token[4 * ((TOKEN_BYTES + 2) / 3) + 1], digest[SDAT_SHA256_HEX_LEN + 1];
    size_t got = 0;
    while (got < sizeof raw) {
        ssize_t r = getrandom(raw + got, sizeof raw - got, 0);
        if (r < 0 && errno != EINTR) {
            fprintf(stderr, "sdatctl: getrandom: %s\n", strerror(errno));
            return CTL_NEGATIVE;
        }
        got += r > 0 ? (size_t)r : 0;
    }
    base64url(raw, sizeof raw, token);
    OPENSSL_cleanse(raw, sizeof raw);
    sdat_sha256_hex(token, strlen(token), digest);
    /* The token once, then the line for http.tokens; only the digest is
     * ever configured. */
    printf("%s\n", token);
    printf("{ name = \"%s\"; sha256 = \"%s\";", name, digest);
    print_list("roles", roles, n_roles);
    print_list("recipients", recipients, n_recipients);
    print_list("ods_codes", ods_codes, n_ods);
    printf(" }\n");
    fflush(stdout);
    OPENSSL_cleanse(token, sizeof token);
    fprintf(stderr, "sdatctl: the first line is the token: give it to its holder now (in a file of "
                    "mode 0600); it is not kept anywhere. The second line goes into "
                    "http.tokens.\n");
    return CTL_OK;
}
