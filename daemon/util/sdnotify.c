#include "sdnotify.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int sdat_sdnotify(const char *state)
{
    const char *path = getenv("NOTIFY_SOCKET");
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    size_t len;

    if (!path || !path[0]) {
        return 0;
    }
    len = strlen(path);
    if (len >= sizeof addr.sun_path || (path[0] != '/' && path[0] != '@')) {
        return -EINVAL;
    }
    memcpy(addr.sun_path, path, len);
    if (path[0] == '@') {
        addr.sun_path[0] = '\0'; /* abstract namespace */
    }
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -errno;
    }
    ssize_t sent = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&addr,
                          (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len));
    int r = sent < 0 ? -errno : 0;
    close(fd);
    return r;
}

int64_t sdat_sdnotify_watchdog_interval_ms(void)
{
    const char *usec = getenv("WATCHDOG_USEC");
    const char *pid = getenv("WATCHDOG_PID");
    if (!usec) {
        return 0;
    }
    if (pid && strtol(pid, NULL, 10) != (long)getpid()) {
        return 0;
    }
    long long v = strtoll(usec, NULL, 10);
    return v > 0 ? (int64_t)(v / 2000) : 0;
}
