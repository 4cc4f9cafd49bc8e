/* systemd's notification protocol (sd_notify(3)) over $NOTIFY_SOCKET,
 * written out here rather than linking libsystemd for one datagram. */
#ifndef SDAT_SDNOTIFY_H
#define SDAT_SDNOTIFY_H

#include <stdint.h>

/* Sends STATE ("READY=1", "STATUS=…", "WATCHDOG=1", "STOPPING=1"); a no-op
 * without $NOTIFY_SOCKET. 0 or a negative errno. */
int sdat_sdnotify(const char *state);
/* Half of $WATCHDOG_USEC in ms when the watchdog is on for this process, else 0. */
int64_t sdat_sdnotify_watchdog_interval_ms(void);

#endif
