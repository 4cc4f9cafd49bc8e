/* util: what every part may use. Logging, metrics, the clock and civil-date
 * arithmetic, the zone-file reader, digests, secret files, the listen address,
 * sd_notify, a growing text buffer. Uses no other part. */
#ifndef SDAT_UTIL_H
#define SDAT_UTIL_H

#include "civil.h"
#include "digest.h"
#include "formats.h"
#include "log.h"
#include "metrics.h"
#include "sdnotify.h"
#include "secret.h"
#include "text.h"
#include "timeutil.h"
#include "keytab.h"
#include "listen.h"
#include "tz.h"

#endif
