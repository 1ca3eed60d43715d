/* The one outbound HTTP client of mod_blinkauth: libcurl easy handles, pooled per process. */
#include "http.h"
#include "text.h"
#include "version.h"

#include <string.h>

#include <apr_atomic.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <apr_time.h>
#include <curl/curl.h>

#define USER_AGENT "mod_blinkauth/" BLINKAUTH_VERSION
#if LIBCURL_VERSION_NUM < 0x075000
#error "libcurl 7.80 or later is needed: CURLOPT_PREREQFUNCTION keeps a request with a body from being sent twice"
#endif
#define LOST_TEXT                                                                                                      \
    "the connection closed before an answer came; the request was not sent again (the server may have acted on it)"
/* Handles kept per process: at least ThreadsPerChild (Debian: 25, httpd max default 64), or a burst
 * of concurrent calls destroys the surplus handles and their kept-alive connections with them. */
#define IDLE_MAX 64
#define CONNECT_RETRY_WAIT apr_time_from_msec(100)
#define RESERVE_MIN apr_time_from_msec(250) /* least time a retried attempt must keep */
#define RETRY_AFTER_MAX 3600                /* larger delta-seconds never fit anyway */

/* Idle handles; guarded by the mutex in lock_slot (set by child_init, or lazily). */
static CURL *idle[IDLE_MAX];
static int n_idle;
/* Handles forgotten at fork (see child_init); volatile keeps them reachable for leak checkers. */
static CURL *volatile inherited[IDLE_MAX];
static volatile void *lock_slot;
/* Handles taken and not yet given back, in this process. */
static volatile apr_uint32_t in_use;
/* Told of every call (blinkauth_http_observe). */
static blinkauth_http_observer_fn *observer;
/* What every handle of this process shares: the DNS cache (a host is resolved once a minute per process, not once per
 * pooled handle), one lock per kind of data. Not the TLS session cache: TLS 1.3 tickets are used once, and with one
 * ticket per host for the whole pool, concurrent reconnects made 10-13% full handshakes where each handle's own cache
 * made 1-2% (bench/notes.md). NULL before child_init (and where it could not be made: each handle then keeps its own).
 */
static CURLSH *share;
static apr_thread_mutex_t *share_locks[CURL_LOCK_DATA_LAST];
/* The parent's share, forgotten at fork as its handles are (see child_init). */
static CURLSH *volatile inherited_share;

/* Per-attempt state shared with the curl callbacks. */
typedef struct {
    apr_pool_t *p;
    char *data;
    apr_size_t len, cap, max;
    int too_large;
    const char *content_type;
    const char *retry_after;
    int once;    /* the request has a body: it must not be sent a second time */
    int sends;   /* times libcurl set out to send the request (pre-request callback calls) */
    int refused; /* a second send was refused */
} xfer_t;

/* Fail the enclosing CURLcode function when a curl_easy_setopt does not take. */
#define SET(h, opt, val)                                                                                               \
    do {                                                                                                               \
        CURLcode rc_ = curl_easy_setopt((h), (opt), (val));                                                            \
        if (rc_ != CURLE_OK)                                                                                           \
            return rc_;                                                                                                \
    } while (0)

void blinkauth_http_idle_drain(void)
{
    apr_thread_mutex_t *m = (apr_thread_mutex_t *)apr_atomic_casptr(&lock_slot, NULL, NULL);
    int locked = m && apr_thread_mutex_lock(m) == APR_SUCCESS;

    while (n_idle > 0)
        curl_easy_cleanup(idle[--n_idle]);
    if (locked)
        apr_thread_mutex_unlock(m);
}

/* Drop the idle handles, then forget the mutex (data) that dies with its pool. */
static apr_status_t lock_cleanup(void *data)
{
    blinkauth_http_idle_drain();
    apr_atomic_casptr(&lock_slot, NULL, data);
    return APR_SUCCESS;
}

/* The handle-pool mutex, created on first use when child_init did not run (unit tests, CLI). */
static apr_thread_mutex_t *lock_get(void)
{
    apr_pool_t *lp;
    apr_thread_mutex_t *m = (apr_thread_mutex_t *)apr_atomic_casptr(&lock_slot, NULL, NULL);
    void *old;

    if (m)
        return m;
    if (apr_pool_create(&lp, NULL) != APR_SUCCESS)
        return NULL;
    if (apr_thread_mutex_create(&m, APR_THREAD_MUTEX_DEFAULT, lp) != APR_SUCCESS) {
        apr_pool_destroy(lp);
        return NULL;
    }
    old = apr_atomic_casptr(&lock_slot, m, NULL);
    if (old) { /* another thread won the race: use its mutex */
        apr_pool_destroy(lp);
        return old;
    }
    apr_pool_cleanup_register(lp, m, lock_cleanup, apr_pool_cleanup_null);
    return m;
}

/* Takes the share's lock of data (curl's lock callback). */
static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *userptr)
{
    (void)h, (void)access, (void)userptr;
    if ((unsigned)data < CURL_LOCK_DATA_LAST && share_locks[data])
        apr_thread_mutex_lock(share_locks[data]);
}

/* Releases the share's lock of data (curl's unlock callback). */
static void share_unlock(CURL *h, curl_lock_data data, void *userptr)
{
    (void)h, (void)userptr;
    if ((unsigned)data < CURL_LOCK_DATA_LAST && share_locks[data])
        apr_thread_mutex_unlock(share_locks[data]);
}

/* Pool cleanup of a share (data), after the handles' (lock_cleanup): it goes once no handle uses it. */
static apr_status_t share_cleanup(void *data)
{
    CURLSH *s = data;

    if (s == share) {
        blinkauth_http_idle_drain();
        share = NULL;
    }
    /* A handle still attached (out in another thread, or forgotten at fork) keeps it in use: it is then left to the
     * process's end, reachable through that handle. */
    curl_share_cleanup(s);
    return APR_SUCCESS;
}

/* Makes this process's share and its locks in p; leaves share NULL when it cannot. */
static void share_make(apr_pool_t *p)
{
    CURLSH *s;
    int i;

    share = NULL;
    for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
        if (apr_thread_mutex_create(&share_locks[i], APR_THREAD_MUTEX_DEFAULT, p) != APR_SUCCESS)
            return;
    if ((s = curl_share_init()) == NULL)
        return;
    if (curl_share_setopt(s, CURLSHOPT_LOCKFUNC, share_lock) != CURLSHE_OK ||
        curl_share_setopt(s, CURLSHOPT_UNLOCKFUNC, share_unlock) != CURLSHE_OK ||
        curl_share_setopt(s, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK) {
        curl_share_cleanup(s);
        return;
    }
    share = s;
    apr_pool_cleanup_register(p, s, share_cleanup, apr_pool_cleanup_null);
}

/* A new handle, attached to the process's share; curl_easy_reset keeps it attached. */
static CURL *handle_new(void)
{
    CURL *h = curl_easy_init();

    if (h && share && curl_easy_setopt(h, CURLOPT_SHARE, share) != CURLE_OK) {
        curl_easy_cleanup(h);
        h = NULL;
    }
    return h;
}

/* Take an idle handle, or a new one when none is idle or the pool is unusable. */
static CURL *handle_get(void)
{
    apr_thread_mutex_t *m = lock_get();
    CURL *h = NULL;

    if (m && apr_thread_mutex_lock(m) == APR_SUCCESS) {
        if (n_idle > 0)
            h = idle[--n_idle];
        apr_thread_mutex_unlock(m);
    }
    if (h == NULL)
        h = handle_new();
    if (h)
        apr_atomic_inc32(&in_use);
    return h;
}

/* Give a handle back: reset and keep it (with its connections) if healthy, else destroy it. */
static void handle_put(CURL *h, int healthy)
{
    apr_thread_mutex_t *m;

    apr_atomic_dec32(&in_use);
    if (healthy)
        curl_easy_reset(h); /* keeps the connection and TLS session caches */
    if (healthy && (m = lock_get()) && apr_thread_mutex_lock(m) == APR_SUCCESS) {
        if (n_idle < IDLE_MAX) {
            idle[n_idle++] = h;
            h = NULL;
        }
        apr_thread_mutex_unlock(m);
    }
    if (h)
        curl_easy_cleanup(h);
}

/* pconf cleanup: the handles must die before libcurl's global state does. */
static apr_status_t global_cleanup(void *data)
{
    (void)data;
    blinkauth_http_idle_drain();
    curl_global_cleanup();
    return APR_SUCCESS;
}

apr_status_t blinkauth_http_global_init(apr_pool_t *pconf)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return APR_EGENERAL;
    /* curl counts init/cleanup pairs, so one pair per pconf generation stays balanced. */
    apr_pool_cleanup_register(pconf, NULL, global_cleanup, apr_pool_cleanup_null);
    /* The parent makes calls too (discovery): its handle pool's mutex must go with pconf. Made lazily, it would sit
     * in a pool of its own whose cleanup outlives this module's code, which httpd unloads with pconf. */
    return blinkauth_http_child_init(pconf);
}

apr_status_t blinkauth_http_child_init(apr_pool_t *pchild)
{
    apr_thread_mutex_t *m;
    apr_status_t rv;

    /* Inherited handles are forgotten, not cleaned up: curl_easy_cleanup would read from and
     * write a TLS close_notify on sockets the parent still owns.  Their memory is a one-off. */
    while (n_idle > 0) {
        n_idle--;
        inherited[n_idle] = idle[n_idle];
    }
    if (share)
        inherited_share = share;
    /* Made before the handle pool's mutex: its cleanup (LIFO) then runs after the handles are gone. */
    share_make(pchild);
    rv = apr_thread_mutex_create(&m, APR_THREAD_MUTEX_DEFAULT, pchild);
    if (rv != APR_SUCCESS)
        return rv;
    lock_slot = m;
    apr_pool_cleanup_register(pchild, m, lock_cleanup, apr_pool_cleanup_null);
    return APR_SUCCESS;
}

/* curl write callback: append to the body, aborting the transfer past the size cap. */
static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    xfer_t *x = userdata;
    apr_size_t n = size * nmemb;
    char *grown;

    if (n > x->max - x->len) {
        x->too_large = 1;
        return 0;
    }
    if (x->len + n + 1 > x->cap) {
        x->cap = x->cap ? x->cap * 2 : 4096;
        if (x->cap < x->len + n + 1)
            x->cap = x->len + n + 1;
        if (x->cap > x->max + 1)
            x->cap = x->max + 1;
        grown = apr_palloc(x->p, x->cap);
        if (x->len)
            memcpy(grown, x->data, x->len);
        x->data = grown;
    }
    memcpy(x->data + x->len, ptr, n);
    x->len += n;
    return n;
}

/* curl pre-request callback, called each time libcurl is about to send the request on a connection: refuses a
 * second send of a request that must go once (libcurl's own re-send after a reused connection died). */
static int on_send(void *clientp, char *primary_ip, char *local_ip, int primary_port, int local_port)
{
    xfer_t *x = clientp;

    (void)primary_ip, (void)local_ip, (void)primary_port, (void)local_port;
    if (x->sends++ > 0 && x->once) {
        x->refused = 1;
        return CURL_PREREQFUNC_ABORT;
    }
    return CURL_PREREQFUNC_OK;
}

/* The trimmed value of a "Name: value" header line when its name matches, else NULL. */
static const char *header_value(apr_pool_t *p, const char *line, size_t n, const char *name)
{
    size_t k = strlen(name);
    const char *v, *end = line + n;

    if (n <= k || line[k] != ':' || strncasecmp(line, name, k) != 0)
        return NULL;
    for (v = line + k + 1; v < end && (*v == ' ' || *v == '\t'); v++)
        ;
    while (end > v && apr_isspace(end[-1]))
        end--;
    return apr_pstrmemdup(p, v, end - v);
}

/* curl header callback: keep Content-Type and Retry-After, refuse an announced oversize body. */
static size_t on_header(char *buf, size_t size, size_t nitems, void *userdata)
{
    xfer_t *x = userdata;
    size_t n = size * nitems;
    const char *v;
    apr_off_t cl;
    char *end;

    if (n >= 5 && strncmp(buf, "HTTP/", 5) == 0) { /* a new (possibly interim) response */
        x->content_type = x->retry_after = NULL;
    }
    else if ((v = header_value(x->p, buf, n, "Content-Type"))) {
        x->content_type = v;
    }
    else if ((v = header_value(x->p, buf, n, "Retry-After"))) {
        x->retry_after = v;
    }
    else if ((v = header_value(x->p, buf, n, "Content-Length"))) {
        if (apr_strtoff(&cl, v, &end, 10) == APR_SUCCESS && *end == '\0' && cl >= 0 && (apr_uint64_t)cl > x->max) {
            x->too_large = 1;
            return 0;
        }
    }
    return n;
}

/* Append one header line to a curl list, keeping the list intact on failure. */
static CURLcode add_header(struct curl_slist **list, const char *line)
{
    struct curl_slist *n = curl_slist_append(*list, line);

    if (!n)
        return CURLE_OUT_OF_MEMORY;
    *list = n;
    return CURLE_OK;
}

/* The request headers: caller's, Content-Type, Accept, Bearer, and no "Expect: 100-continue". */
static CURLcode build_headers(apr_pool_t *p, const blinkauth_http_request_t *req, struct curl_slist **list)
{
    CURLcode rc = add_header(list, "Expect:");
    int i;

    if (rc == CURLE_OK && req->content_type)
        rc = add_header(list, apr_pstrcat(p, "Content-Type: ", req->content_type, NULL));
    if (rc == CURLE_OK && req->accept)
        rc = add_header(list, apr_pstrcat(p, "Accept: ", req->accept, NULL));
    if (rc == CURLE_OK && req->bearer)
        rc = add_header(list, apr_pstrcat(p, "Authorization: Bearer ", req->bearer, NULL));
    for (i = 0; rc == CURLE_OK && req->headers && i < req->headers->nelts; i++)
        rc = add_header(list, APR_ARRAY_IDX(req->headers, i, const char *));
    return rc;
}

/* Configure a clean handle for one attempt with ms milliseconds left. */
static CURLcode setup(CURL *h, apr_pool_t *p, const blinkauth_http_request_t *req, xfer_t *x,
                      struct curl_slist *headers, char *errbuf, long ms)
{
    const char *method = req->method ? req->method : "GET";
    int has_body = req->body || strcmp(method, "POST") == 0;

    SET(h, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
    SET(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    SET(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    SET(h, CURLOPT_URL, req->url);
    /* HTTP/1.1 even where the server offers h2 (libcurl's default for https): each handle of the pool makes one call at
     * a time on connections of its own, so h2 multiplexes nothing here, and it cost 27% more of httpd's CPU per
     * callback (bench/notes.md); libcurl 7.88 also fails a POST whose answer is followed by RST_STREAM(NO_ERROR). */
    SET(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    SET(h, CURLOPT_FOLLOWLOCATION, 0L);
    SET(h, CURLOPT_SSL_VERIFYPEER, 1L);
    SET(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (req->ca_file)
        SET(h, CURLOPT_CAINFO, req->ca_file);
    SET(h, CURLOPT_CONNECTTIMEOUT_MS, ms);
    SET(h, CURLOPT_TIMEOUT_MS, ms);
    SET(h, CURLOPT_ERRORBUFFER, errbuf);
    SET(h, CURLOPT_USERAGENT, USER_AGENT);
    SET(h, CURLOPT_HTTPHEADER, headers);
    SET(h, CURLOPT_WRITEFUNCTION, on_body);
    SET(h, CURLOPT_WRITEDATA, x);
    SET(h, CURLOPT_HEADERFUNCTION, on_header);
    SET(h, CURLOPT_HEADERDATA, x);
    /* libcurl sends a request again by itself when a reused connection closes before any answer (transfer.c,
     * Curl_retry_request); the server may have acted on the first one. It calls this before every send. */
    x->once = has_body;
    SET(h, CURLOPT_PREREQFUNCTION, on_send);
    SET(h, CURLOPT_PREREQDATA, x);
    if (has_body) {
        SET(h, CURLOPT_POSTFIELDSIZE_LARGE,
            (curl_off_t)(req->body_len ? req->body_len
                         : req->body   ? strlen(req->body)
                                       : 0));
        SET(h, CURLOPT_POSTFIELDS, req->body ? req->body : "");
    }
    /* curl picks POST with a body and GET without; anything else is named explicitly. */
    if (strcmp(method, has_body ? "POST" : "GET") != 0)
        SET(h, CURLOPT_CUSTOMREQUEST, method);
    if (req->basic_user) {
        SET(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        SET(h, CURLOPT_USERNAME, blinkauth_text_form_encode(p, req->basic_user));
        SET(h, CURLOPT_PASSWORD, blinkauth_text_form_encode(p, req->basic_pass ? req->basic_pass : ""));
    }
    return CURLE_OK;
}

/* Our error class for a failed curl transfer. */
static blinkauth_http_error_t classify(CURLcode rc, const xfer_t *x)
{
    if (x->refused)
        return BLINKAUTH_HTTP_ERR_LOST;
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
        /* after a send, this is libcurl's own re-send failing to reconnect: the request may have been acted on */
        return x->sends ? BLINKAUTH_HTTP_ERR_LOST : BLINKAUTH_HTTP_ERR_CONNECT;
    case CURLE_SEND_FAIL_REWIND: /* a re-send that could not rewind the body (not seen with CURLOPT_POSTFIELDS) */
        return BLINKAUTH_HTTP_ERR_LOST;
    case CURLE_OPERATION_TIMEDOUT:
        return BLINKAUTH_HTTP_ERR_TIMEOUT;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_USE_SSL_FAILED:
        return BLINKAUTH_HTTP_ERR_TLS;
    default:
        return x->too_large ? BLINKAUTH_HTTP_ERR_TOO_LARGE : BLINKAUTH_HTTP_ERR_OTHER;
    }
}

/* The length of curl's " after <n> ms" or " after <n> milliseconds" at s, or 0 when s does not start with one. */
static apr_size_t elapsed_at(const char *s)
{
    apr_size_t n = strlen(" after "), digits;

    if (strncmp(s, " after ", n) != 0 || (digits = strspn(s + n, "0123456789")) == 0)
        return 0;
    n += digits;
    if (strncmp(s + n, " milliseconds", 13) == 0)
        return n + 13;
    return strncmp(s + n, " ms", 3) == 0 ? n + 3 : 0;
}

/* curl's text without the times it puts in ("Operation timed out after 2000 milliseconds with 0 bytes received",
 * "Failed to connect to h port 1 after 0 ms: ..."): the outcome's sentence says the call's time once, retries
 * included. */
static const char *without_elapsed(apr_pool_t *p, const char *text)
{
    char *out = apr_pstrdup(p, text), *w = out;
    const char *s = text;
    apr_size_t skip;

    while (*s) {
        if ((skip = elapsed_at(s)) > 0)
            s += skip;
        else
            *w++ = *s++;
    }
    *w = '\0';
    return out;
}

/* The words for a timeout: which phase ran out of time, when curl says so. */
static const char *timeout_text(const char *curl_text)
{
    if (strncmp(curl_text, "Resolving timed out", 19) == 0)
        return "timed out resolving the host name";
    if (strncmp(curl_text, "Connection timed out", 20) == 0)
        return "timed out connecting";
    return "timed out";
}

/* The words for a failed transfer, a cause without a time: ours for a timeout, an oversize body or a lost request,
 * else curl's. */
static const char *failure_text(apr_pool_t *p, blinkauth_http_error_t e, CURLcode rc, const xfer_t *x,
                                const char *errbuf)
{
    const char *curl_text = errbuf[0] ? errbuf : curl_easy_strerror(rc);

    if (e == BLINKAUTH_HTTP_ERR_TOO_LARGE)
        return apr_psprintf(p, "response too large: the body exceeds %" APR_SIZE_T_FMT " bytes", x->max);
    if (e == BLINKAUTH_HTTP_ERR_LOST)
        return LOST_TEXT;
    if (e == BLINKAUTH_HTTP_ERR_TIMEOUT)
        return timeout_text(curl_text);
    return without_elapsed(p, curl_text);
}

/* Make one attempt with whatever budget is left until deadline; fills res for it. */
static void attempt(apr_pool_t *p, const blinkauth_http_request_t *req, blinkauth_http_response_t *res,
                    apr_time_t deadline)
{
    xfer_t x = {.p = p, .max = req->max_body ? req->max_body : BLINKAUTH_HTTP_MAX_BODY};
    char errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *headers = NULL;
    long ms = (long)apr_time_as_msec(deadline - apr_time_now());
    long conns = 0, status = 0;
    int setup_failed = 0;
    CURLcode rc;
    CURL *h;

    res->attempts++;
    res->status = 0;
    res->body = "";
    res->body_len = 0;
    res->content_type = res->retry_after = res->error_text = NULL;
    if (!(h = handle_get())) {
        res->error = BLINKAUTH_HTTP_ERR_OTHER;
        res->error_text = "curl_easy_init failed";
        return;
    }
    rc = build_headers(p, req, &headers);
    if (rc == CURLE_OK)
        rc = setup(h, p, req, &x, headers, errbuf, ms > 1 ? ms : 1);
    if (rc != CURLE_OK)
        setup_failed = 1;
    else
        rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &conns);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    res->new_connections += conns;
    if (rc == CURLE_OK) {
        res->error = BLINKAUTH_HTTP_OK;
        res->status = status;
        if (x.data) {
            x.data[x.len] = '\0';
            res->body = x.data;
            res->body_len = x.len;
        }
        res->content_type = x.content_type;
        res->retry_after = x.retry_after;
    }
    else if (setup_failed) {
        res->error = BLINKAUTH_HTTP_ERR_OTHER;
        res->error_text = apr_pstrcat(p, "curl setup failed: ", curl_easy_strerror(rc), NULL);
    }
    else {
        res->error = classify(rc, &x);
        res->error_text = failure_text(p, res->error, rc, &x, errbuf);
    }
    handle_put(h, rc == CURLE_OK);
    curl_slist_free_all(headers);
}

/* The Retry-After delta-seconds of res, or -1 when absent or in another form. */
static long retry_after_s(const blinkauth_http_response_t *res)
{
    const char *s = res->retry_after;
    long n = 0;

    if (!s || !*s)
        return -1;
    for (; *s; s++) {
        if (!apr_isdigit(*s) || n > RETRY_AFTER_MAX)
            return -1;
        n = n * 10 + (*s - '0');
    }
    return n;
}

/* How long to wait before the one allowed retry, or -1 when it is unsafe or does not fit. */
static apr_interval_time_t retry_wait(const blinkauth_http_response_t *res, apr_time_t began, apr_time_t deadline)
{
    apr_time_t now = apr_time_now();
    apr_interval_time_t wait = -1, reserve = now - began;
    long s;

    if (res->attempts >= 2)
        return -1;
    if (res->error == BLINKAUTH_HTTP_ERR_CONNECT)
        wait = CONNECT_RETRY_WAIT;
    else if (res->error == BLINKAUTH_HTTP_OK && (res->status == 429 || res->status == 503) &&
             (s = retry_after_s(res)) >= 0)
        wait = apr_time_from_sec(s);
    /* The retry needs at least as long as the attempt just made took. */
    if (reserve < RESERVE_MIN)
        reserve = RESERVE_MIN;
    if (wait < 0 || now + wait + reserve > deadline)
        return -1;
    return wait;
}

/* Whether a value would break out of its header line. */
static int has_crlf(const char *s)
{
    return s && strpbrk(s, "\r\n") != NULL;
}

/* Why req cannot be sent at all, or NULL when it can. */
static const char *invalid(const blinkauth_http_request_t *req)
{
    int i;

    if (!req->url)
        return "no URL";
    if (has_crlf(req->bearer) || has_crlf(req->content_type) || has_crlf(req->accept) || has_crlf(req->method))
        return "line break in a header value";
    for (i = 0; req->headers && i < req->headers->nelts; i++)
        if (has_crlf(APR_ARRAY_IDX(req->headers, i, const char *)))
            return "line break in a header value";
    return NULL;
}

apr_status_t blinkauth_http_call(apr_pool_t *p, const blinkauth_http_request_t *req, blinkauth_http_response_t *res)
{
    apr_time_t start = apr_time_now(), began;
    apr_time_t deadline = start + apr_time_from_sec(req->timeout_s > 0 ? req->timeout_s : 1);
    apr_interval_time_t wait;

    memset(res, 0, sizeof(*res));
    res->body = "";
    if ((res->error_text = invalid(req))) {
        res->error = BLINKAUTH_HTTP_ERR_OTHER;
        return APR_EINVAL;
    }
    do {
        began = apr_time_now();
        attempt(p, req, res, deadline);
        wait = retry_wait(res, began, deadline);
        if (wait > 0)
            apr_sleep(wait);
    } while (wait >= 0);
    res->elapsed_ms = (long)apr_time_as_msec(apr_time_now() - start);
    if (observer)
        observer(req, res, (apr_int64_t)(apr_time_now() - start), n_idle, (int)apr_atomic_read32(&in_use));
    switch (res->error) {
    case BLINKAUTH_HTTP_OK:
        return APR_SUCCESS;
    case BLINKAUTH_HTTP_ERR_CONNECT:
        return APR_ECONNREFUSED;
    case BLINKAUTH_HTTP_ERR_TIMEOUT:
        return APR_TIMEUP;
    default:
        return APR_EGENERAL;
    }
}

void blinkauth_http_observe(blinkauth_http_observer_fn *fn)
{
    observer = fn;
}

const char *blinkauth_http_url_for_log(apr_pool_t *p, const char *url)
{
    blinkauth_url_parts_t u;
    const char *cut;

    if (!url)
        return "(none)";
    blinkauth_text_url_split(url, &u);
    cut = u.path + strcspn(u.path, "?#");
    return apr_pstrcat(p, apr_pstrmemdup(p, url, (apr_size_t)(u.authority - url)),
                       apr_pstrmemdup(p, u.host, (apr_size_t)(cut - u.host)), NULL);
}
