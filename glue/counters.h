/* The module's counters in httpd: a shared memory segment kept across graceful restarts, and what feeds it. */
#ifndef BLINKAUTH_COUNTERS_H
#define BLINKAUTH_COUNTERS_H

#include "glue.h"
#include "metrics.h"
#include "ap_socache.h"

/* One app of this configuration as the status handler shows it: its Auth ID's counter slot (-1: none left) and the
 * settings of the first <Location> that serves it. */
typedef struct {
    const char *auth_id;
    int slot;
    const blinkauth_config_t *cfg;
    server_rec *server;
} blinkauth_counted_app_t;

/* Attaches the counters (made at the first start, kept across graceful restarts in httpd's retained data), gives
 * every app of the configuration its slot, and has the HTTP client report to them; a post_config step in the
 * parent. Without the segment, httpd runs uncounted (logged). */
void blinkauth_counters_post_config(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s);

/* Gives this child its slot of the HTTP handle pool gauges, freed when pchild goes. */
void blinkauth_counters_child_init(apr_pool_t *pchild, server_rec *s);

/* Counts one outcome of a route for the app of r's <Location>. */
void blinkauth_counters_add(request_rec *r, blinkauth_metric_t what);

/* Counts an outcome and, when blinkauth_metrics_is_failure names it a failure, keeps it among the app's last failures
 * with why (one log-safe sentence, no secret) and the flow reference of r. */
void blinkauth_counters_fail(request_rec *r, blinkauth_metric_t what, const char *why);

/* The journal of an app slot (its last failures and Blink API check), or NULL without counters or slot. */
blinkauth_journal_t *blinkauth_counters_journal(int slot);

/* provider, wrapped so that each store, retrieve and remove is counted (the rest is provider's own). */
const ap_socache_provider_t *blinkauth_counters_socache(const ap_socache_provider_t *provider);

/* The counters (NULL when there are none), and the apps of this configuration. */
const blinkauth_metrics_t *blinkauth_counters(void);
const apr_array_header_t *blinkauth_counted_apps(void);

/* The apps' slots in order, into a new array of *n ints in p. */
const int *blinkauth_counted_slots(apr_pool_t *p, int *n);

/* 1 when process pid still runs (for the pool gauges). */
int blinkauth_counters_alive(apr_int32_t pid);

#endif
