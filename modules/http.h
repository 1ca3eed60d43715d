/* The one outbound HTTP client of mod_blinkauth (libcurl), used for every upstream call. */
#ifndef BLINKAUTH_HTTP_H
#define BLINKAUTH_HTTP_H

#include <apr_pools.h>
#include <apr_tables.h>

/* Largest response body accepted from any upstream; a larger one is an error. */
#define BLINKAUTH_HTTP_MAX_BODY (1024 * 1024)

/* What went wrong with a call, as the routes need to tell it apart. */
typedef enum {
    BLINKAUTH_HTTP_OK = 0,        /* a response arrived (any status) */
    BLINKAUTH_HTTP_ERR_CONNECT,   /* refused, unreachable, DNS: nothing was sent */
    BLINKAUTH_HTTP_ERR_LOST,      /* the connection closed before an answer came; the request was not sent again,
                                   * the server may have acted on it (see blinkauth_http_call) */
    BLINKAUTH_HTTP_ERR_TIMEOUT,   /* the time budget ran out */
    BLINKAUTH_HTTP_ERR_TOO_LARGE, /* the response body exceeded max_body */
    BLINKAUTH_HTTP_ERR_TLS,       /* certificate or handshake failure */
    BLINKAUTH_HTTP_ERR_OTHER      /* anything else curl reports */
} blinkauth_http_error_t;

/* One outbound call: everything it needs, as plain values. */
typedef struct {
    const char *method;          /* "GET", "POST", "PATCH", "DELETE" */
    const char *url;             /* absolute http(s) URL */
    apr_array_header_t *headers; /* const char * "Name: value", or NULL */
    const char *body;            /* request body or NULL */
    apr_size_t body_len;         /* 0 = strlen(body) */
    const char *content_type;    /* for the body, e.g. "application/json" */
    const char *accept;          /* sends Accept: <accept> when set */
    const char *bearer;          /* sends Authorization: Bearer <bearer> when set */
    const char *basic_user;      /* sends HTTP Basic auth when set (with basic_pass) */
    const char *basic_pass;
    long timeout_s;       /* total budget for the call including retries; >= 1 */
    const char *ca_file;  /* CA bundle; NULL = system default. Verification is always on. */
    apr_size_t max_body;  /* 0 = BLINKAUTH_HTTP_MAX_BODY */
    const char *endpoint; /* what the call is for, as the metrics name it ("token", "blink_add", ...), or NULL */
} blinkauth_http_request_t;

/* The outcome of one call. */
typedef struct {
    blinkauth_http_error_t error;
    long status;      /* HTTP status, 0 when no response */
    const char *body; /* NUL-terminated copy in the pool ("" when empty) */
    apr_size_t body_len;
    const char *content_type; /* response Content-Type or NULL */
    const char *retry_after;  /* response Retry-After, raw text, or NULL */
    const char *error_text;   /* the cause of the failure, without a time ("timed out", curl's words), or NULL */
    long elapsed_ms;          /* wall time of the whole call, retries included */
    int attempts;             /* 1, or 2 when it was retried (0: refused before sending) */
    long new_connections;     /* TCP connections this call opened (curl NUM_CONNECTS) */
} blinkauth_http_response_t;

/* Initialise libcurl for the process, and the handle pool's mutex in pconf; call once from post_config (before any
 * fork). */
apr_status_t blinkauth_http_global_init(apr_pool_t *pconf);

/* Destroys this process's idle handles and the connections they keep: the parent calls it once its start-up calls are
 * done, so that its children inherit no open connection. */
void blinkauth_http_idle_drain(void);

/* Make the handle pool ready in a (new) child: empties what fork inherited, creates the mutex. */
apr_status_t blinkauth_http_child_init(apr_pool_t *pchild);

/* Perform one call; always fills res, returns APR_SUCCESS when a response arrived
 * (APR_ECONNREFUSED for ERR_CONNECT, APR_TIMEUP for ERR_TIMEOUT, APR_EINVAL for a request
 * refused before sending, e.g. a line break in a header value, APR_EGENERAL otherwise).
 * A request with a body (or any POST) is sent at most once: when a kept-alive connection closes before the answer,
 * libcurl's own re-send is refused and the call ends with ERR_LOST. A call is tried a second time only after
 * ERR_CONNECT (nothing was sent) or a 429/503 with a Retry-After that fits the budget (the server did not act);
 * libcurl may still re-send a bodiless request (GET, DELETE) by itself on a new connection. */
apr_status_t blinkauth_http_call(apr_pool_t *p, const blinkauth_http_request_t *req, blinkauth_http_response_t *res);

/* What blinkauth_http_call reports after each call: the request, its outcome, how long it took in microseconds, and
 * this process's handle pool (handles idle, handles in use) as the call ends. */
typedef void blinkauth_http_observer_fn(const blinkauth_http_request_t *req, const blinkauth_http_response_t *res,
                                        apr_int64_t elapsed_us, int idle, int in_use);

/* Sets the one observer of every call in this process (NULL: none); set it before any call is made. */
void blinkauth_http_observe(blinkauth_http_observer_fn *fn);

/* The URL with any query string, fragment and userinfo removed, for logging. */
const char *blinkauth_http_url_for_log(apr_pool_t *p, const char *url);

#endif
