/* The module's counters: one block of plain memory (httpd keeps it in shared memory) that every process adds to
 * with lock-free atomic adds, and its renderings as Prometheus text and JSON. */
#ifndef BLINKAUTH_METRICS_H
#define BLINKAUTH_METRICS_H

#include <apr_pools.h>
#include <jansson.h>

#include "text.h"
#include "journal.h"

/* Apps (Auth IDs) that get counters; the ones configured beyond are counted in apps_untracked only. */
#define BLINKAUTH_METRICS_APPS 256
/* Processes (httpd's parent and children) whose HTTP handle pool is shown; more are left out of the gauges. */
#define BLINKAUTH_METRICS_PROCS 512

/* The per-app counter families: id, metric name (blinkauth_<name>_total), HELP text. */
#define BLINKAUTH_METRIC_FAMILIES(F)                                                                                   \
    F(CONNECT, "connects", "Connect calls (POST auth/<auth_id>) answered, by outcome (405s are not counted).")         \
    F(START, "starts", "Start URL visits (GET start/<handle>) answered, by outcome (405s are not counted).")           \
    F(CALLBACK, "callbacks", "Callbacks (GET callback) answered, by outcome (405s are not counted).")                  \
    F(DISCONNECT, "disconnects", "Disconnect calls (DELETE linked-accounts/<id>) answered, by outcome.")               \
    F(REVOKE, "revocations", "Token revocations at the external service (RFC 7009), by outcome.")                      \
    F(REFRESH, "token_refreshes",                                                                                      \
      "Access token refreshes done for actions (AuthType Blink), by outcome.")                                         \
    F(ACTION, "actions",                                                                                               \
      "Requests of AuthType Blink (actions done for the user), by outcome.")

/* The outcomes counted per app: family, id, the outcome label. A family without any has no samples. */
#define BLINKAUTH_METRIC_OUTCOMES(O)                                                                                   \
    O(CONNECT, OK, "ok")                                                                                               \
    O(CONNECT, REFUSED, "refused")                                                                                     \
    O(CONNECT, OTHER_APP, "other_app")                                                                                 \
    O(CONNECT, STORE_ERROR, "store_error")                                                                             \
    O(CONNECT, CONFIG_ERROR, "config_error")                                                                           \
    O(START, OK, "ok")                                                                                                 \
    O(START, USED, "used")                                                                                             \
    O(START, STORE_ERROR, "store_error")                                                                               \
    O(CALLBACK, CONNECTED, "connected")                                                                                \
    O(CALLBACK, ALREADY_CONNECTED, "already_connected")                                                                \
    O(CALLBACK, CANCELLED, "cancelled")                                                                                \
    O(CALLBACK, EXPIRED, "expired")                                                                                    \
    O(CALLBACK, OTHER_BROWSER, "other_browser")                                                                        \
    O(CALLBACK, SOMEONE_ELSE, "someone_else")                                                                          \
    O(CALLBACK, REFUSED, "refused")                                                                                    \
    O(CALLBACK, MISCONFIGURED, "misconfigured")                                                                        \
    O(CALLBACK, UPSTREAM_ERROR, "upstream_error")                                                                      \
    O(CALLBACK, TIMEOUT, "timeout")                                                                                    \
    O(CALLBACK, UNCONFIRMED, "unconfirmed")                                                                            \
    O(CALLBACK, STORE_ERROR, "store_error")                                                                            \
    O(DISCONNECT, OK, "ok")                                                                                            \
    O(DISCONNECT, ALREADY_GONE, "already_gone")                                                                        \
    O(DISCONNECT, REFUSED, "refused")                                                                                  \
    O(DISCONNECT, NOT_OURS, "not_ours")                                                                                \
    O(DISCONNECT, UPSTREAM_ERROR, "upstream_error")                                                                    \
    O(DISCONNECT, TIMEOUT, "timeout")                                                                                  \
    O(REVOKE, OK, "ok")                                                                                                \
    O(REVOKE, FAILED, "failed")                                                                                        \
    O(REVOKE, TIMEOUT, "timeout")                                                                                      \
    O(REFRESH, OK, "ok")                                                                                               \
    O(REFRESH, RECOVERED, "recovered")                                                                                 \
    O(REFRESH, DEAD, "link_dead")                                                                                      \
    O(REFRESH, FAILED, "failed")                                                                                       \
    O(REFRESH, TIMEOUT, "timeout")                                                                                     \
    O(ACTION, OK, "ok")                                                                                                \
    O(ACTION, NOT_LINKED, "not_linked")                                                                                \
    O(ACTION, REAUTH_REQUIRED, "reauth_required")                                                                      \
    O(ACTION, REFUSED, "refused")                                                                                      \
    O(ACTION, CONFIG_ERROR, "config_error")                                                                            \
    O(ACTION, UPSTREAM_ERROR, "upstream_error")                                                                        \
    O(ACTION, TIMEOUT, "timeout")

#define BLINKAUTH_METRIC_FAMILY_ID(id, name, help) BLINKAUTH_MF_##id,
/* A family of per-app counters. */
typedef enum { BLINKAUTH_METRIC_FAMILIES(BLINKAUTH_METRIC_FAMILY_ID) BLINKAUTH_MF_COUNT } blinkauth_metric_family_t;
#undef BLINKAUTH_METRIC_FAMILY_ID

#define BLINKAUTH_METRIC_OUTCOME_ID(fam, id, label) BLINKAUTH_M_##fam##_##id,
/* One outcome of one family: what a route counts. */
typedef enum { BLINKAUTH_METRIC_OUTCOMES(BLINKAUTH_METRIC_OUTCOME_ID) BLINKAUTH_M_COUNT } blinkauth_metric_t;
#undef BLINKAUTH_METRIC_OUTCOME_ID

/* The upstream endpoints a call is made to (blinkauth_http_request_t.endpoint), "other" last. */
#define BLINKAUTH_METRICS_ENDPOINTS                                                                                    \
    {                                                                                                                  \
        "token", "userinfo", "revoke", "blink_add", "blink_get", "blink_list", "blink_update", "blink_delete",         \
            "blink_user", "blink_check", "metadata", "other"                                                           \
    }
#define BLINKAUTH_METRICS_ENDPOINT_COUNT 12
/* The status classes of an upstream call: 2xx..5xx, "error" (no answer, or a 1xx), "timeout". */
#define BLINKAUTH_METRICS_CLASS_COUNT 6
/* The latency histogram's upper bounds in seconds (the last bucket, +Inf, is implicit). */
#define BLINKAUTH_METRICS_BUCKETS                                                                                      \
    {                                                                                                                  \
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30                                                    \
    }
#define BLINKAUTH_METRICS_BUCKET_COUNT 12

/* The flow store's operations (at its socache provider) and their results. */
typedef enum {
    BLINKAUTH_STORE_STORE,
    BLINKAUTH_STORE_RETRIEVE,
    BLINKAUTH_STORE_REMOVE,
    BLINKAUTH_STORE_OPS
} blinkauth_store_op_t;
typedef enum {
    BLINKAUTH_STORE_OK,
    BLINKAUTH_STORE_NOT_FOUND,
    BLINKAUTH_STORE_ERROR,
    BLINKAUTH_STORE_RESULTS
} blinkauth_store_result_t;

/* One app's counters and journal (its last failures, its last Blink API check); auth_id empty when the slot is
 * free. */
typedef struct {
    char auth_id[BLINKAUTH_ID_MAX + 1];
    apr_uint64_t count[BLINKAUTH_M_COUNT];
    blinkauth_journal_t journal;
} blinkauth_metrics_app_t;

/* One process's HTTP handle pool as it last reported it; pid 0 when the slot is free. */
typedef struct {
    apr_int32_t pid;
    apr_uint32_t idle, in_use;
} blinkauth_metrics_proc_t;

/* Every counter. Zeroed memory is an empty, valid block; blinkauth_metrics_init stamps its layout. */
typedef struct {
    apr_uint32_t magic, size;
    apr_uint32_t apps_untracked; /* Auth IDs configured beyond BLINKAUTH_METRICS_APPS, in the last configuration */
    blinkauth_metrics_app_t app[BLINKAUTH_METRICS_APPS];
    apr_uint64_t calls[BLINKAUTH_METRICS_ENDPOINT_COUNT][BLINKAUTH_METRICS_CLASS_COUNT];
    apr_uint64_t bucket[BLINKAUTH_METRICS_ENDPOINT_COUNT][BLINKAUTH_METRICS_BUCKET_COUNT + 1]; /* not cumulative */
    apr_uint64_t sum_us[BLINKAUTH_METRICS_ENDPOINT_COUNT];
    apr_uint64_t store[BLINKAUTH_STORE_OPS][BLINKAUTH_STORE_RESULTS];
    apr_uint64_t connections; /* TCP connections the HTTP client opened */
    blinkauth_metrics_proc_t proc[BLINKAUTH_METRICS_PROCS];
} blinkauth_metrics_t;

/* 1 when m holds this layout (a block kept from an older build of the module may not); else stamps a zeroed m and
 * returns 0. */
int blinkauth_metrics_init(blinkauth_metrics_t *m);

/* The slot of auth_id, found or claimed (single-threaded: at start-up, before any child runs); -1 when all are taken.
 */
int blinkauth_metrics_app_slot(blinkauth_metrics_t *m, const char *auth_id);

/* Adds one to what of app slot (ignored for slot -1 or a NULL m). Lock-free; any process, any thread. */
void blinkauth_metrics_count(blinkauth_metrics_t *m, int slot, blinkauth_metric_t what);

/* Records one upstream call: its endpoint name (NULL or unknown: "other"), its HTTP status (0: none), whether it
 * timed out, and how long it took. */
void blinkauth_metrics_upstream(blinkauth_metrics_t *m, const char *endpoint, long status, int timed_out,
                                apr_int64_t elapsed_us);

/* Records one operation of the flow store. */
void blinkauth_metrics_store(blinkauth_metrics_t *m, blinkauth_store_op_t op, blinkauth_store_result_t result);

/* The slot of this process (pid) in the pool gauges, claimed when free or when its owner is gone (alive says whether
 * a pid runs); -1 when none is left. */
int blinkauth_metrics_proc_slot(blinkauth_metrics_t *m, apr_int32_t pid, int (*alive)(apr_int32_t pid));

/* Records what one process's HTTP client reported after a call: connections it opened, and its pool's handles idle
 * and in use now (into the process's slot; ignored for slot -1). */
void blinkauth_metrics_pool(blinkauth_metrics_t *m, int slot, long new_connections, int idle, int in_use);

/* Frees the pool gauge slot of pid (the process ends). */
void blinkauth_metrics_proc_free(blinkauth_metrics_t *m, int slot, apr_int32_t pid);

/* 1 when an outcome is a failure of this module or of an upstream (store, configuration, upstream errors), as the
 * server-status page adds them up. */
int blinkauth_metrics_is_failure(blinkauth_metric_t what);

/* The labels and names of the families and outcomes, for the renderings and the status page. */
const char *blinkauth_metrics_family_name(blinkauth_metric_family_t family);
blinkauth_metric_family_t blinkauth_metrics_family_of(blinkauth_metric_t what);
const char *blinkauth_metrics_outcome_label(blinkauth_metric_t what);

/* The sum of an app slot's outcomes: of one family (a blinkauth_metric_family_t) or of all (family -1), the failures
 * alone when failures is set. */
apr_uint64_t blinkauth_metrics_app_total(const blinkauth_metrics_t *m, int slot, int family, int failures);

/* The counters of the app slots given (n of them, -1 entries skipped) and the global ones, in Prometheus' text
 * exposition format 0.0.4; alive tells which processes of the pool gauges still run. */
const char *blinkauth_metrics_prometheus(apr_pool_t *p, const blinkauth_metrics_t *m, const int *slots, int n,
                                         int (*alive)(apr_int32_t pid));

/* The same numbers as a JSON object: {"apps":{<auth_id>:{"counters":{<family>:{<outcome>:n}}}}, "upstream",
 * "flow_store", "http_pool", "apps_untracked"}; the caller adds members to each app's object. */
json_t *blinkauth_metrics_json(const blinkauth_metrics_t *m, const int *slots, int n, int (*alive)(apr_int32_t pid));

#endif
