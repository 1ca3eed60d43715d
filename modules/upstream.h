/* The outcome of one step against an upstream (Blink API or external service), for routes to answer and log. */
#ifndef BLINKAUTH_UPSTREAM_H
#define BLINKAUTH_UPSTREAM_H

#include <apr_pools.h>
#include "http.h"
#include "config.h"

/* How a step ended, as the routes tell it apart. */
typedef enum {
    BLINKAUTH_UP_OK = 0,
    BLINKAUTH_UP_NOT_FOUND, /* the upstream said 404 */
    BLINKAUTH_UP_TIMEOUT,   /* the time budget ran out */
    BLINKAUTH_UP_FAILED     /* refused, 4xx/5xx, garbage, too large, TLS... */
} blinkauth_up_kind_t;

/* One step's result: the kind, the HTTP status when one arrived, and one log-safe sentence. */
typedef struct {
    blinkauth_up_kind_t kind;
    long status;
    const char *why;  /* "Auth ID <id>: <step> (<METHOD> <URL without query>)", then what happened: "answered HTTP
                       * <status>[: <code>] in <n> ms", or the cause "after <n> ms (<k> attempt[s])"; never a secret */
    const char *code; /* the upstream's error code (OAuth "error", Blink's "code") when it gave one, else NULL */
    int unsent;       /* 1 when the request certainly never reached the upstream (refused, unreachable, DNS) */
    int unanswered;   /* 1 when no HTTP answer came back (unsent, reset, timeout, TLS, too large) */
} blinkauth_outcome_t;

/* The outcome of an HTTP call of cfg's app (its Auth ID begins the sentence; cfg may be NULL): OK for a status in
 * [200, 300), NOT_FOUND for 404, else a failure. code, when not NULL, is the upstream's error code: kept in the
 * outcome and added to the sentence. A call without an answer reads "<step> (...): <cause> after <n> ms (<k>
 * attempt[s])": the cause first, the time once. */
blinkauth_outcome_t blinkauth_upstream_outcome(apr_pool_t *p, const blinkauth_config_t *cfg, const char *step,
                                               const blinkauth_http_request_t *req,
                                               const blinkauth_http_response_t *res, const char *code);

/* A failed outcome for a well-delivered answer that was not what was asked for (bad JSON, missing field). */
blinkauth_outcome_t blinkauth_upstream_invalid(apr_pool_t *p, const blinkauth_config_t *cfg, const char *step,
                                               const blinkauth_http_request_t *req,
                                               const blinkauth_http_response_t *res, const char *what);

/* The error code an upstream put in its JSON answer under field ("error", "code"), when it is a
 * short token of letters, digits and '_' (safe to log and show); NULL otherwise. */
const char *blinkauth_upstream_error_code(apr_pool_t *p, const blinkauth_http_response_t *res, const char *field);

/* 1 when the upstream certainly did not act on the request that ended with out: it was never sent, or the answer
 * refused it (a 4xx other than 408 Request Timeout and 409 Conflict). */
int blinkauth_upstream_refused(const blinkauth_outcome_t *out);

/* Timeout, CA file, Accept: application/json and the other settings every upstream call of an app shares. */
blinkauth_http_request_t blinkauth_upstream_request(const blinkauth_config_t *cfg, const char *method, const char *url);

#endif
