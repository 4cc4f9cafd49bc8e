/* libFuzzer target: configuration loading (sdat_config_load and its checks)
 * on arbitrary file contents. The bytes go to a memfd and are loaded through
 * its /proc path, the way sdatd reads a file; relative @include and @file:
 * references then resolve against /proc/self/fd and fail cleanly. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "outbox/outbox.h"
#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("sdatd.conf", MFD_CLOEXEC);
    if (fd < 0) {
        abort();
    }
    size_t off = 0;
    while (off < size) {
        ssize_t n = write(fd, data + off, size - off);
        if (n <= 0) {
            abort();
        }
        off += (size_t)n;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    struct sdat_config *cfg = NULL;
    char *errors = NULL;
    int r = sdat_config_load(path, sdat_connector_key_tables(), &cfg, &errors);
    if ((r == 0) != (cfg != NULL) || (r < 0 && (!errors || !*errors))) {
        abort(); /* a failure must say why; a success must return a config */
    }
    sdat_config_free(cfg);
    free(errors);
    close(fd);
    return 0;
}
