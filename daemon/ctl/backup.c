/* sdatctl backup FILE: a consistent copy of the store while the daemon
 * runs (sdat_store_backup: SQLite's online backup API). It reads the store
 * only, as the other read-only commands do; docs/OPERATING.md "Backup,
 * restore and upgrade" says how the copy is restored. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "store/store.h"
#include "util/util.h"

struct backup_progress {
    int64_t last_ms;
};

/* On a terminal, every half second: pages copied of the total. */
static void progress(int done, int total, void *opaque)
{
    struct backup_progress *p = opaque;
    int64_t now = sdat_time_mono_ms();
    if (now - p->last_ms < 500 && done < total) {
        return;
    }
    p->last_ms = now;
    fprintf(stderr, "\r%d of %d pages (%.0f%%)   ", done, total,
            total > 0 ? 100.0 * done / total : 100.0);
}

int ctl_backup(const struct ctl_options *opts, int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: sdatctl backup FILE\n");
        return CTL_USAGE;
    }
    const char *path = argv[1];
    /* Before the configuration and the store: the answer does not depend
     * on them, and nothing is opened for a copy that cannot be written. */
    struct stat sb;
    if (lstat(path, &sb) == 0) {
        fprintf(stderr, "sdatctl: %s exists: a backup never replaces a file; name a new one\n",
                path);
        return CTL_NEGATIVE;
    }
    struct sdat_config *cfg = ctl_load_config_reader(opts);
    if (!cfg) {
        return CTL_CONFIG;
    }
    sdat_store_t *st = ctl_open_store(cfg);
    int rc = CTL_NEGATIVE;
    if (st) {
        bool tty = isatty(STDERR_FILENO);
        struct backup_progress p = {.last_ms = sdat_time_mono_ms()};
        char err[512];
        int pages = 0;
        int r = sdat_store_backup(st, path, tty ? progress : NULL, &p, &pages, err, sizeof err);
        if (tty) {
            fputc('\n', stderr);
        }
        if (r < 0) {
            fprintf(stderr, "sdatctl: backup: %s\n", err);
        } else {
            printf("backup: %d pages, %s\n", pages, path);
            rc = CTL_OK;
        }
    }
    sdat_store_close(st);
    sdat_config_free(cfg);
    return rc;
}
