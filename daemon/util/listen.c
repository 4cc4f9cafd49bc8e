/* The HTTP API's listen address (listen.h). */
#include "listen.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int sdat_listen_parse(const char *listen, struct sockaddr_storage *ret_addr, char *err,
                      size_t errlen)
{
    char host[256];
    const char *port;
    if (listen[0] == '[') {
        const char *bracket = strchr(listen, ']');
        if (!bracket || bracket[1] != ':' || (size_t)(bracket - listen - 1) >= sizeof host) {
            snprintf(err, errlen, "\"%s\": expected [ADDRESS]:PORT", listen);
            return -EINVAL;
        }
        snprintf(host, sizeof host, "%.*s", (int)(bracket - listen - 1), listen + 1);
        port = bracket + 2;
    } else {
        const char *colon = strrchr(listen, ':');
        if (!colon || (size_t)(colon - listen) >= sizeof host) {
            snprintf(err, errlen, "\"%s\": expected HOST:PORT", listen);
            return -EINVAL;
        }
        snprintf(host, sizeof host, "%.*s", (int)(colon - listen), listen);
        port = colon + 1;
    }
    char *end = NULL;
    long n = strtol(port, &end, 10);
    if (!*port || *end || n < 0 || n > 65535 || strspn(port, "0123456789") != strlen(port)) {
        snprintf(err, errlen, "\"%s\": bad port", listen);
        return -EINVAL;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    bool any = host[0] == '\0' || strcmp(host, "*") == 0;
    int rc = getaddrinfo(any ? NULL : host, port, &hints, &res);
    if (rc != 0 || !res) {
        snprintf(err, errlen, "\"%s\": %s", listen, rc ? gai_strerror(rc) : "no address");
        if (res) {
            freeaddrinfo(res);
        }
        return -EINVAL;
    }
    memset(ret_addr, 0, sizeof *ret_addr);
    memcpy(ret_addr, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return 0;
}

int sdat_listen_check(const char *listen, char *err, size_t errlen)
{
    struct sockaddr_storage addr;
    int r = sdat_listen_parse(listen, &addr, err, errlen);
    if (r < 0) {
        return r;
    }
    socklen_t len;
    if (addr.ss_family == AF_INET6) {
        ((struct sockaddr_in6 *)&addr)->sin6_port = 0;
        len = sizeof(struct sockaddr_in6);
    } else {
        ((struct sockaddr_in *)&addr)->sin_port = 0;
        len = sizeof(struct sockaddr_in);
    }
    int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&addr, len) < 0) {
        r = -errno;
        snprintf(err, errlen, "\"%s\": cannot listen there: %s", listen, strerror(-r));
    }
    if (fd >= 0) {
        close(fd);
    }
    return r;
}
