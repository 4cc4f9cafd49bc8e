/* The HTTP API's listen address ("HOST:PORT", "[IPV6]:PORT", "*:PORT"),
 * parsed the same way by `sdatd -t` and by the server at start. */
#ifndef SDAT_LISTEN_H
#define SDAT_LISTEN_H

#include <stddef.h>
#include <sys/socket.h>

/* listen into an address (a host name is resolved). 0, or -EINVAL with err
 * saying what is wrong (quoting listen, without the key's name). */
int sdat_listen_parse(const char *listen, struct sockaddr_storage *ret_addr, char *err,
                      size_t errlen);
/* sdat_listen_parse, then a trial bind to the address on a free port (so
 * that a running daemon's own port does not count): an address that is not
 * this host's fails here rather than at start. 0, or a negative errno with
 * err as above. */
int sdat_listen_check(const char *listen, char *err, size_t errlen);

#endif
