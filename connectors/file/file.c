/* The file connector: writes DIRECTORY/<recipient id, ':' as '_'>/<id>.json
 * atomically (temporary file, fsync, rename, fsync the directory), for
 * air-gapped pickup and the demo. A repeat delivery rewrites the same file
 * with the same bytes.
 *
 * Whoever can write a pickup folder must not be able to steer a write
 * (quality.md S9). The configured directory is resolved once per delivery,
 * as the administrator wrote it (it may be a link an administrator made);
 * everything under it is reached from that one descriptor and never through
 * a link: the recipient's folder is opened O_NOFOLLOW (a link there is
 * refused), the temporary has a random name and is created O_EXCL|O_NOFOLLOW,
 * and the final name must be absent or a regular file (a link, a directory
 * or anything else planted there is refused rather than replaced). A refusal
 * is a retry with the reason in the attempt: a folder an administrator can
 * repair, and otherwise the delivery escalates after give_up_after. Modes
 * are set with fchmod, whatever the umask: folders 0750, files 0640 (a
 * pick-up agent reads them as a member of the daemon's group). */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "outbox/connector.h"

#define FOLDER_MODE 0750
#define FILE_MODE 0640

struct file_ctx {
    const char *directory; /* as configured; borrowed from the recipient */
    char folder[72];       /* <recipient id, ':' as '_'>: ids have at most 64 */
};

struct file_conf {
    char *directory;
};

static const struct sdat_key file_keys[] = {
    SDAT_KEY_S("directory", struct file_conf, directory, 0, "spool directory"),
    SDAT_KEY_END,
};

static const struct sdat_key_table file_table = SDAT_KEY_TABLE("file", struct file_conf, file_keys);

static int check_keys(const struct sdat_connector_recipient *recipient, sdat_key_report_fn report,
                      void *opaque)
{
    const struct file_conf *conf = recipient->conf;
    if (!conf->directory || !conf->directory[0]) {
        report(opaque, "directory", "is required for the file connector");
        return -EINVAL;
    }
    return 0;
}

/* A single path component we may create: not empty, ".", "..", hidden
 * or containing '/'. The configuration refuses such recipient ids and
 * notification ids are n_ and hex; this is the connector's own guard. */
static bool plain_name(const char *name)
{
    return name[0] && name[0] != '.' && !strchr(name, '/');
}

static int init(const struct sdat_connector_env *env,
                const struct sdat_connector_recipient *recipient, void **ret_ctx, char *err,
                size_t errlen)
{
    const struct file_conf *conf = recipient->conf;
    (void)env;
    struct sdat_key_first first = {.err = err, .errlen = errlen};
    if (check_keys(recipient, sdat_key_report_first, &first) < 0) {
        return -EINVAL;
    }
    struct file_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) {
        return -ENOMEM;
    }
    ctx->directory = conf->directory;
    int n = snprintf(ctx->folder, sizeof ctx->folder, "%s", recipient->id);
    if (n < 0 || (size_t)n >= sizeof ctx->folder || !plain_name(ctx->folder)) {
        snprintf(err, errlen, "id: \"%s\" cannot name a folder", recipient->id);
        free(ctx);
        return -EINVAL;
    }
    for (char *p = ctx->folder; *p; p++) {
        if (*p == ':') {
            *p = '_';
        }
    }
    *ret_ctx = ctx;
    return 0;
}

/* The folder NAME in dfd, created FOLDER_MODE when missing, opened without
 * following a link: its descriptor, or a negative errno (-ELOOP: a link,
 * -ENOTDIR: not a directory). *created says whether this call made it. */
static int open_folder(int dfd, const char *name, bool follow, bool *created)
{
    *created = mkdirat(dfd, name, FOLDER_MODE) == 0;
    if (!*created && errno != EEXIST) {
        return -errno;
    }
    int fd = openat(dfd, name,
                    O_RDONLY | O_DIRECTORY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
    if (fd < 0) {
        int e = errno;
        struct stat sb;
        if (!follow && fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0) {
            e = S_ISLNK(sb.st_mode) ? ELOOP : S_ISDIR(sb.st_mode) ? e : ENOTDIR;
        }
        return -e;
    }
    if (*created && fchmod(fd, FOLDER_MODE) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

/* The configured directory, created (with its missing parents) when
 * absent. Followed as written: it and its parents are the administrator's.
 * The walk holds each parent by O_PATH, which needs only search permission:
 * a daemon may create its spool under a folder it can pass through but not
 * list (mode 0711). A parent is synced, where it can be opened for reading,
 * after a folder was made in it. */
static int open_directory(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0 || errno != ENOENT) {
        return fd >= 0 ? fd : -errno;
    }
    char buf[4096], *save = NULL;
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        return -ENAMETOOLONG;
    }
    fd = open(buf[0] == '/' ? "/" : ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    char *name = strtok_r(buf, "/", &save);
    while (name) {
        char *following = strtok_r(NULL, "/", &save);
        bool created = mkdirat(fd, name, FOLDER_MODE) == 0;
        if (!created && errno != EEXIST) {
            int e = errno;
            close(fd);
            return -e;
        }
        if (created && fchmodat(fd, name, FOLDER_MODE, 0) < 0) {
            int e = errno;
            close(fd);
            return -e;
        }
        if (created) {
            int sync_fd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (sync_fd >= 0) {
                (void)fsync(sync_fd);
                close(sync_fd);
            }
        }
        int flags = following ? O_PATH | O_DIRECTORY | O_CLOEXEC : O_RDONLY | O_DIRECTORY | O_CLOEXEC;
        int next = openat(fd, name, flags);
        int e = errno;
        close(fd);
        if (next < 0) {
            return -e;
        }
        fd = next;
        name = following;
    }
    return fd;
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

/* Creates a temporary with a random name in dfd (O_EXCL, never through a
 * link): its descriptor with *tmp filled, or a negative errno. */
static int create_temporary(int dfd, const char *notification_id, char *tmp, size_t tmplen)
{
    for (int tries = 0; tries < 8; tries++) {
        unsigned char rnd[12];
        if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
            return errno ? -errno : -EIO;
        }
        int n = snprintf(tmp, tmplen, ".%s.", notification_id);
        for (size_t i = 0; i < sizeof rnd && n + 2 < (int)tmplen; i++) {
            n += snprintf(tmp + n, tmplen - (size_t)n, "%02x", rnd[i]);
        }
        snprintf(tmp + n, tmplen - (size_t)n, ".tmp");
        int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0 || errno != EEXIST) {
            return fd >= 0 ? fd : -errno;
        }
    }
    return -EEXIST;
}

#define REASON(...) snprintf(d->detail, sizeof d->detail, __VA_ARGS__)

static enum sdat_delivery_result write_one(void *opaque, struct sdat_delivery *d)
{
    struct file_ctx *ctx = opaque;
    char name[96], tmp[128];
    int base = -1, dfd = -1, fd = -1, r;
    bool created = false, have_tmp = false;
    struct stat sb;

    if (!plain_name(d->notification_id) ||
        snprintf(name, sizeof name, "%s.json", d->notification_id) >= (int)sizeof name) {
        REASON("the notification id cannot name a file");
        return SDAT_DELIVERY_FAILED;
    }
    base = open_directory(ctx->directory);
    if (base < 0) {
        REASON("cannot open the directory: %s", strerror(-base));
        goto retry;
    }
    dfd = open_folder(base, ctx->folder, false, &created);
    if (dfd < 0) {
        if (dfd == -ELOOP) {
            REASON("refused: the recipient's folder %s is a symbolic link", ctx->folder);
        } else if (dfd == -ENOTDIR) {
            REASON("refused: the recipient's folder %s is not a directory", ctx->folder);
        } else {
            REASON("cannot create the recipient's folder %s: %s", ctx->folder, strerror(-dfd));
        }
        goto retry;
    }
    if (created && fsync(base) < 0) {
        REASON("cannot sync the directory: %s", strerror(errno));
        goto retry;
    }
    /* A repeat delivery replaces our own earlier file; anything else at
     * the final name was planted or put there by hand: refused, not
     * replaced (a rename would replace a link without following it, but
     * the tampering is reported instead). */
    if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(sb.st_mode)) {
        REASON("refused: %s/%s exists and is %s", ctx->folder, name,
               S_ISLNK(sb.st_mode) ? "a symbolic link" : "not a regular file");
        goto retry;
    }
    fd = create_temporary(dfd, d->notification_id, tmp, sizeof tmp);
    if (fd < 0) {
        REASON("cannot create the file: %s", strerror(-fd));
        goto retry;
    }
    have_tmp = true;
    r = write_all(fd, d->payload, d->payload_len);
    if (r == 0) {
        r = write_all(fd, "\n", 1);
    }
    if (r == 0 && fchmod(fd, FILE_MODE) < 0) {
        r = -errno;
    }
    if (r == 0 && fsync(fd) < 0) {
        r = -errno;
    }
    if (close(fd) < 0 && r == 0) {
        r = -errno;
    }
    fd = -1;
    if (r == 0 && renameat(dfd, tmp, dfd, name) < 0) {
        r = -errno;
    }
    if (r < 0) {
        REASON("cannot write the file: %s", strerror(-r));
        goto retry;
    }
    have_tmp = false;
    if (fsync(dfd) < 0) {
        REASON("cannot sync the directory: %s", strerror(errno));
        goto retry;
    }
    close(dfd);
    close(base);
    REASON("written");
    return SDAT_DELIVERY_DONE;
retry:
    if (have_tmp) {
        unlinkat(dfd, tmp, 0);
    }
    if (dfd >= 0) {
        close(dfd);
    }
    if (base >= 0) {
        close(base);
    }
    /* A full or read-only disk may recover, and so may a folder an
     * administrator repairs; the core backs off and, in the end,
     * escalates. */
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
    .init = init,
    .start = start,
    .poll = NULL,
    .destroy = destroy,
    .keys = &file_table,
    .check_keys = check_keys,
};
