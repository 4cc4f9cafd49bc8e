/* The file connector: writes DIRECTORY/<recipient id, ':' as '_'>/<id>.json
 * atomically (temporary file, fsync, rename, fsync the directory), for
 * air-gapped pickup and the demo. A repeat delivery rewrites the same file
 * with the same bytes. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "outbox/connector.h"

struct file_ctx {
    char dir[4096]; /* DIRECTORY/<recipient> */
};

struct file_conf {
    char *directory;
};

static const struct sdat_key file_keys[] = {
    SDAT_KEY_S("directory", struct file_conf, directory, 0, "spool directory"),
    SDAT_KEY_END,
};

static const struct sdat_key_table file_table = SDAT_KEY_TABLE("file", struct file_conf, file_keys);

static int check(const struct sdat_connector_recipient *recipient, char *err, size_t errlen)
{
    const struct file_conf *conf = recipient->conf;
    if (!conf->directory || !conf->directory[0]) {
        snprintf(err, errlen, "directory: is required for the file connector");
        return -EINVAL;
    }
    return 0;
}

static int make_dirs(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            int r = mkdir(path, 0750);
            *p = '/';
            if (r < 0 && errno != EEXIST) {
                return -errno;
            }
        }
    }
    if (mkdir(path, 0750) < 0 && errno != EEXIST) {
        return -errno;
    }
    return 0;
}

static int init(const struct sdat_connector_env *env,
                const struct sdat_connector_recipient *recipient, void **ret_ctx, char *err,
                size_t errlen)
{
    const struct file_conf *conf = recipient->conf;
    (void)env;
    int r = check(recipient, err, errlen);
    if (r < 0) {
        return r;
    }
    struct file_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) {
        return -ENOMEM;
    }
    int n = snprintf(ctx->dir, sizeof ctx->dir, "%s/%s", conf->directory, recipient->id);
    if (n < 0 || (size_t)n >= sizeof ctx->dir) {
        snprintf(err, errlen, "directory: path too long");
        free(ctx);
        return -ENAMETOOLONG;
    }
    for (char *p = ctx->dir + strlen(conf->directory) + 1; *p; p++) {
        if (*p == ':') {
            *p = '_';
        }
    }
    *ret_ctx = ctx;
    return 0;
}

static int write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, data, len);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        data += w;
        len -= (size_t)w;
    }
    return 0;
}

static enum sdat_delivery_result write_one(void *opaque, struct sdat_delivery *d)
{
    struct file_ctx *ctx = opaque;
    char path[4200], tmp[4250];
    int fd = -1, dfd = -1, r;

    r = make_dirs(ctx->dir);
    if (r < 0) {
        snprintf(d->detail, sizeof d->detail, "cannot create the directory: %s", strerror(-r));
        goto retry;
    }
    snprintf(path, sizeof path, "%s/%s.json", ctx->dir, d->notification_id);
    snprintf(tmp, sizeof tmp, "%s/.%s.json.tmp", ctx->dir, d->notification_id);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0) {
        r = -errno;
        snprintf(d->detail, sizeof d->detail, "cannot create the file: %s", strerror(-r));
        goto retry;
    }
    r = write_all(fd, d->payload, d->payload_len);
    if (r == 0) {
        r = write_all(fd, "\n", 1);
    }
    if (r == 0 && fsync(fd) < 0) {
        r = -errno;
    }
    if (close(fd) < 0 && r == 0) {
        r = -errno;
    }
    fd = -1;
    if (r == 0 && rename(tmp, path) < 0) {
        r = -errno;
    }
    if (r < 0) {
        snprintf(d->detail, sizeof d->detail, "cannot write the file: %s", strerror(-r));
        unlink(tmp);
        goto retry;
    }
    dfd = open(ctx->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) < 0) {
        r = -errno;
        snprintf(d->detail, sizeof d->detail, "cannot sync the directory: %s", strerror(-r));
        if (dfd >= 0) {
            close(dfd);
        }
        goto retry;
    }
    close(dfd);
    snprintf(d->detail, sizeof d->detail, "written");
    return SDAT_DELIVERY_DONE;
retry:
    /* A full or read-only disk may recover; the core backs off. */
    return SDAT_DELIVERY_RETRY;
}

/* Synchronous: the file is written (or not) before start returns. */
static int start(void *ctx, struct sdat_delivery *d, sdat_delivery_done_fn done, void *opaque)
{
    done(d, write_one(ctx, d), opaque);
    return 0;
}

static void destroy(void *ctx)
{
    free(ctx);
}

const struct sdat_connector_ops sdat_connector_file = {
    .abi = SDAT_CONNECTOR_ABI,
    .name = "file",
    .check = check,
    .init = init,
    .start = start,
    .poll = NULL,
    .destroy = destroy,
    .keys = &file_table,
};
