/* decide: the pure decisions. Schemas and the validator, formats, ids,
 * names, blocking keys, matching, routing, scheduling, payloads, canonical
 * JSON, the audit chain's records, hash, MAC and verifier, acknowledgement
 * tokens.
 * Nothing here does I/O: no store, no clock (the caller passes the time),
 * no files (the nickname table and keys are handed in). Uses config and
 * util. */
#ifndef SDAT_DECIDE_H
#define SDAT_DECIDE_H

#include "ack.h"
#include "audit_chain.h"
#include "blocking.h"
#include "canonical.h"
#include "ids.h"
#include "letter.h"
#include "match.h"
#include "names.h"
#include "payload.h"
#include "route.h"
#include "schedule.h"
#include "schema.h"
#include "schemas.h"

#endif
