/* Metrics: a small process-wide Prometheus registry and its text exposition
 * (format 0.0.4) for GET /metrics. Every function is safe from any thread.
 *
 * Label values are never personal data: they are topic names, outcomes,
 * kinds, states, connector names, recipient ids and partition numbers. A
 * metric keeps at most SDAT_METRICS_MAX_SERIES label combinations; an update
 * that would need another is dropped and counted in a comment line of the
 * exposition rather than growing the registry without bound. */
#ifndef SDAT_METRICS_H
#define SDAT_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#define SDAT_METRICS_MAX_SERIES 10000

/* Labels of each metric, in the order its label values are passed. */
typedef enum {
    SDAT_M_EVENTS,            /* counter sdat_events_total{topic,outcome} */
    SDAT_M_MATCH_DECISIONS,   /* counter sdat_match_decisions_total{decision} */
    SDAT_M_NOTIFICATIONS,     /* counter sdat_notifications_total{kind,state}: transitions into */
    SDAT_M_DELIVERY_ATTEMPTS, /* counter sdat_delivery_attempts_total{connector,outcome} */
    SDAT_M_AUDIT_RECORDS,     /* counter sdat_audit_records_total */
    SDAT_M_PENDING,           /* gauge sdat_notifications_pending */
    SDAT_M_OLDEST_PENDING,    /* gauge sdat_oldest_pending_seconds */
    SDAT_M_CONSUMER_LAG,      /* gauge sdat_consumer_lag{topic,partition} */
    SDAT_M_CIRCUIT_OPEN,      /* gauge sdat_circuit_open{recipient} */
    SDAT_M_REGISTER_CHILDREN, /* gauge sdat_register_children */
    SDAT_M_FLAGS_ACTIVE,      /* gauge sdat_flags_active */
    SDAT_M_READY,             /* gauge sdat_ready: 1 while /readyz answers 200 */
    SDAT_M_AUDIT_UNMIRRORED,  /* gauge sdat_audit_unmirrored: records not yet on the audit topic */
    SDAT_M_REGISTER_INDEX,    /* gauge sdat_register_index: 1 while matching reads the register from memory */
    SDAT_M_DELIVERY_DELAY,    /* histogram sdat_delivery_delay_seconds */
    SDAT_M_LOOKUP_DURATION,   /* histogram sdat_lookup_duration_seconds */
    SDAT_M_COUNT
} sdat_metric_t;

/* The label values follow v as `const char *` arguments, exactly as many as
 * the metric has labels (none for an unlabelled one); a NULL value counts as
 * the empty string. The strings are borrowed for the call only. Passing the
 * wrong number, or anything but `const char *`, is undefined behaviour. */

/* Counters: += v; a negative or NaN v is ignored (a counter never goes
 * down). Also accepted for gauges, where v may be negative. */
void sdat_metrics_add(sdat_metric_t m, double v, ...);
/* Gauges: = v. Ignored for other types. */
void sdat_metrics_set(sdat_metric_t m, double v, ...);
/* Histograms (no labels): counts v in every bucket whose upper bound is >= v.
 * NaN is ignored. Ignored for other types. */
void sdat_metrics_observe(sdat_metric_t m, double v);
/* Drops every series of a gauge (consumer lag after a rebalance, circuits
 * after a reload). Ignored for counters and histograms, which must not go
 * backwards while the process lives. */
void sdat_metrics_clear(sdat_metric_t m);
/* How many series of a gauge are not zero now (the console counts the open
 * circuits this way); 0 for counters and histograms. */
size_t sdat_metrics_gauge_nonzero(sdat_metric_t m);
/* The value of a gauge without labels in *ret: false when it was never set
 * (or m is no such gauge). */
bool sdat_metrics_gauge_get(sdat_metric_t m, double *ret);

/* The whole registry in the Prometheus text exposition format 0.0.4: HELP
 * and TYPE for every metric, series sorted by label values, histograms with
 * cumulative _bucket{le} up to +Inf, _sum and _count. Caller frees; NULL when
 * out of memory. */
char *sdat_metrics_text(void);

/* Tests: forget every sample and drop count. */
void sdat_metrics_reset(void);

#endif
