/* driver: a small keep-alive HTTP/1.1 load driver for the callback and Disconnect benchmarks.
 *
 *   driver callback   PORT CONNS COUNT   each iteration: POST /blink/auth/a-1234 for user u-43, who has no
 *                                        linked account yet (Connect, not timed),
 *                                        GET the start URL it answers as a browser (not timed): the
 *                                        303's Location holds the state, its Set-Cookie the browser's
 *                                        cookie; then GET /blink/callback?state=..&code=.. with that
 *                                        cookie (timed)
 *   driver open       PORT CONNS COUNT   Connect and its start URL opened as a browser (timed together): a
 *                                        pending flow, bound to its browser, that no callback ends
 *   driver disconnect PORT CONNS COUNT   DELETE /blink/linked-accounts/la-1 (timed)
 *   driver capacity   PORT 1 COUNT       COUNT Connects in a row (each start URL opened at once), then the
 *                                        callbacks of all their states, oldest first: how many pending
 *                                        flows the store kept
 *   driver fakes-callback   PPORT BPORT CONNS COUNT   what one callback asks of the upstreams, sent
 *                                        straight to the fakes: POST /token, GET /userinfo, Get User, list
 *                                        the user's linked accounts, POST the linked account (timed together)
 *   driver fakes-disconnect PPORT BPORT CONNS COUNT   GET + DELETE the linked account, two POST /revoke
 *   driver noop PORT CONNS COUNT         POST /noop/auth/a-1234 (timed): the no-op handler, what httpd alone
 *                                        costs a request (bench/mod_bench_noop.c)
 *
 * CONNS threads each keep their own connection(s) open and run COUNT/CONNS iterations.  Prints one
 * line: n=.. errors=.. rps=.. p50_us=.. p99_us=.. min_us=.. max_us=.. mean_us=..
 * With BENCH_TLS_CA set (a CA file), the fakes-* modes speak TLS to the fakes, verifying them with it;
 * each connection's handshake is made once, before its first timed iteration.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <openssl/ssl.h>

#define SECRET "bench-proxy-secret"

typedef struct {
    int fd, port;
    SSL *ssl; /* NULL on a plain connection */
    char buf[65536];
    size_t have;
} conn_t;

typedef struct {
    int id, iters, errors;
    double *lat;
    int n;
} job_t;

static const char *mode;
static int port_a, port_b;
static SSL_CTX *tls; /* set for the fakes-* modes with BENCH_TLS_CA */

/* Monotonic time in microseconds. */
static double now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* Closes c's connection, if any. */
static void hang_up(conn_t *c)
{
    if (c->ssl) {
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

/* Opens a loopback connection to port with TCP_NODELAY (and TLS to the fakes with BENCH_TLS_CA). */
static int dial(conn_t *c)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)c->port)};
    int one = 1;

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    c->have = 0;
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        if (c->fd >= 0)
            close(c->fd);
        c->fd = -1;
        return -1;
    }
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (tls && strncmp(mode, "fakes-", 6) == 0) {
        if ((c->ssl = SSL_new(tls)) == NULL || !SSL_set_fd(c->ssl, c->fd) || !SSL_set1_host(c->ssl, "127.0.0.1") ||
            SSL_connect(c->ssl) != 1) {
            hang_up(c);
            return -1;
        }
    }
    return 0;
}

/* Reads up to n bytes (TLS or plain); as read(). */
static ssize_t conn_read(conn_t *c, char *buf, size_t n)
{
    int r;

    if (c->ssl == NULL)
        return read(c->fd, buf, n);
    r = SSL_read(c->ssl, buf, (int)n);
    return r > 0 ? r : 0;
}

/* Writes up to n bytes (TLS or plain); as write(). */
static ssize_t conn_write(conn_t *c, const char *buf, size_t n)
{
    int w;

    if (c->ssl == NULL)
        return write(c->fd, buf, n);
    w = SSL_write(c->ssl, buf, (int)n);
    return w > 0 ? w : -1;
}

/* Sends a request and reads the whole answer; returns the status (0 on I/O error), body in *body. */
static int exchange_once(conn_t *c, const char *req, size_t len, char **body)
{
    size_t off = 0, head, clen = 0, need;
    char *end, *cl;
    int status = 0;

    while (off < len) {
        ssize_t w = conn_write(c, req + off, len - off);
        if (w <= 0)
            return 0;
        off += (size_t)w;
    }
    c->have = 0;
    c->buf[0] = '\0';
    while ((end = strstr(c->buf, "\r\n\r\n")) == NULL) {
        ssize_t n = conn_read(c, c->buf + c->have, sizeof(c->buf) - 1 - c->have);
        if (n <= 0)
            return 0;
        c->have += (size_t)n;
        c->buf[c->have] = '\0';
    }
    head = (size_t)(end - c->buf) + 4;
    if (sscanf(c->buf, "HTTP/1.%*d %d", &status) != 1)
        return 0;
    if ((cl = strcasestr(c->buf, "\r\ncontent-length:")) == NULL || cl > end)
        return 0; /* every server here sends Content-Length */
    clen = strtoul(cl + 17, NULL, 10);
    need = head + clen;
    if (need >= sizeof(c->buf))
        return 0;
    while (c->have < need) {
        ssize_t n = conn_read(c, c->buf + c->have, sizeof(c->buf) - 1 - c->have);
        if (n <= 0)
            return 0;
        c->have += (size_t)n;
    }
    c->buf[need] = '\0';
    if (body)
        *body = c->buf + head;
    return status;
}

/* exchange_once, redialling once when a kept-alive connection was closed by the server. */
static int exchange(conn_t *c, const char *req, size_t len, char **body)
{
    int status;

    if (c->fd < 0 && dial(c) != 0)
        return 0;
    if ((status = exchange_once(c, req, len, body)) != 0)
        return status;
    hang_up(c);
    if (dial(c) != 0)
        return 0;
    return exchange_once(c, req, len, body);
}

/* The value of the header name (with its colon, e.g. "Location:") of the answer in c->buf into out (n bytes),
 * leading blanks skipped; 0, or -1 when the answer has none or it does not fit. */
static int header(const conn_t *c, const char *name, char *out, size_t n)
{
    const char *end = strstr(c->buf, "\r\n\r\n"), *h = c->buf, *v, *eol;

    while ((h = strcasestr(h, name)) != NULL && h < end) {
        if (h > c->buf && h[-1] == '\n') {
            for (v = h + strlen(name); *v == ' ' || *v == '\t'; v++)
                ;
            eol = strstr(v, "\r\n");
            if ((size_t)(eol - v) >= n)
                return -1;
            memcpy(out, v, (size_t)(eol - v));
            out[eol - v] = '\0';
            return 0;
        }
        h++;
    }
    return -1;
}

/* Copies the run of characters of s up to one of stop (or the end, or n - 1 of them) into out; its length. */
static size_t copy_until(char *out, size_t n, const char *s, const char *stop)
{
    size_t k = 0;

    for (; k + 1 < n && s[k] && !strchr(stop, s[k]); k++)
        out[k] = s[k];
    out[k] = '\0';
    return k;
}

/* One Connect, then its start URL opened as a browser: the state (from the 303's Location) into state (64 bytes),
 * the cookie the browser keeps ("name=value", from its Set-Cookie) into cookie (128 bytes). Not timed. */
static int start_flow(conn_t *c, char *state, char *cookie)
{
    char req[4608], *body = NULL, *s, handle[4097], value[2048];
    int n;

    n = snprintf(req, sizeof(req),
                 "POST /blink/auth/a-1234 HTTP/1.1\r\nHost: 127.0.0.1\r\nblink-auth-proxysecret: " SECRET
                 "\r\nblink-auth-userid: u-43\r\nContent-Length: 0\r\n\r\n");
    if (exchange(c, req, (size_t)n, &body) != 200 || (s = strstr(body, "/blink/start/")) == NULL ||
        copy_until(handle, sizeof(handle), s + 13, "\"?#/") == 0)
        return -1;
    n = snprintf(req, sizeof(req), "GET /blink/start/%s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", handle);
    if (exchange(c, req, (size_t)n, NULL) != 303 || header(c, "Location:", value, sizeof(value)) != 0 ||
        ((s = strstr(value, "?state=")) == NULL && (s = strstr(value, "&state=")) == NULL) ||
        copy_until(state, 64, s + 7, "&") == 0 || header(c, "Set-Cookie:", value, sizeof(value)) != 0 ||
        !strchr(value, '=') || copy_until(cookie, 128, value, "; ") == 0)
        return -1;
    return 0;
}

/* The callback of state, with the browser's cookie, into req (n bytes); its length. */
static int callback_request(char *req, size_t n, const char *state, const char *cookie)
{
    return snprintf(req, n,
                    "GET /blink/callback?state=%s&code=c0de-0123456789abcdef HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    "Cookie: %s\r\n\r\n",
                    state, cookie);
}

/* One Connect and its start URL, then one timed callback; the latency in *us. */
static int one_callback(conn_t *c, double *us)
{
    char req[1024], state[64], cookie[128];
    int n;
    double t0;

    if (start_flow(c, state, cookie) != 0)
        return -1;
    n = callback_request(req, sizeof(req), state, cookie);
    t0 = now_us();
    if (exchange(c, req, (size_t)n, NULL) != 200)
        return -1;
    *us = now_us() - t0;
    return 0;
}

/* One pending flow: a Connect and its start URL opened, timed into *us. */
static int one_open(conn_t *c, double *us)
{
    char state[64], cookie[128];
    double t0 = now_us();

    if (start_flow(c, state, cookie) != 0)
        return -1;
    *us = now_us() - t0;
    return 0;
}

/* COUNT Connects (each start URL opened), then all their callbacks: prints how many flows were still there. */
static int capacity(int count)
{
    conn_t *c = calloc(1, sizeof(conn_t));
    char(*states)[64] = calloc((size_t)count, 64), (*cookies)[128] = calloc((size_t)count, 128), req[1024];
    int i, kept = 0, lost = 0, first_kept = -1;

    c->fd = -1;
    c->port = port_a;
    for (i = 0; i < count; i++)
        if (start_flow(c, states[i], cookies[i]) != 0)
            return fprintf(stderr, "connect %d failed\n", i), 1;
    for (i = 0; i < count; i++) {
        int n = callback_request(req, sizeof(req), states[i], cookies[i]);
        if (exchange(c, req, (size_t)n, NULL) == 200) {
            kept++;
            if (first_kept < 0)
                first_kept = i;
        }
        else {
            lost++;
        }
    }
    printf("pending=%d kept=%d lost=%d oldest_kept=%d\n", count, kept, lost, first_kept);
    return 0;
}

/* Sends request_line with Blink's proxy headers and no body, timed into *us; -1 unless answered 200. */
static int timed_proxy_call(conn_t *c, const char *request_line, double *us)
{
    char req[512];
    int n = snprintf(req, sizeof(req),
                     "%s HTTP/1.1\r\nHost: 127.0.0.1\r\nblink-auth-proxysecret: " SECRET
                     "\r\nblink-auth-userid: u-42\r\nContent-Length: 0\r\n\r\n",
                     request_line);
    double t0 = now_us();

    if (exchange(c, req, (size_t)n, NULL) != 200)
        return -1;
    *us = now_us() - t0;
    return 0;
}

/* One timed Disconnect. */
static int one_disconnect(conn_t *c, double *us)
{
    return timed_proxy_call(c, "DELETE /blink/linked-accounts/la-1", us);
}

/* One timed POST to the no-op handler, asked as Connect is. */
static int one_noop(conn_t *c, double *us)
{
    return timed_proxy_call(c, "POST /noop/auth/a-1234", us);
}

/* A POST with a body to one of the fakes, shaped like the module's. */
static int post(conn_t *c, const char *path, const char *auth, const char *type, const char *body)
{
    char req[4096];
    int n = snprintf(req, sizeof(req),
                     "POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: mod_blinkauth/0.1.0\r\nAccept: "
                     "application/json\r\nAuthorization: %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n\r\n%s",
                     path, c->port, auth, type, strlen(body), body);
    int st = exchange(c, req, (size_t)n, NULL);

    return st >= 200 && st < 300 ? 0 : -1;
}

/* A bodiless request to one of the fakes. */
static int bodiless(conn_t *c, const char *method, const char *path, const char *auth)
{
    char req[2048];
    int n = snprintf(req, sizeof(req),
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: mod_blinkauth/0.1.0\r\nAccept: "
                     "application/json\r\nAuthorization: %s\r\n\r\n",
                     method, path, c->port, auth);
    int st = exchange(c, req, (size_t)n, NULL);

    return st >= 200 && st < 300 ? 0 : -1;
}

#define BASIC "Basic dGVzdCBjbGllbnQlMjYxOmNsaWVudC1zZWNyZXQ="
#define BEARER_AT "Bearer at-0123456789abcdef0123456789abcdef"
#define BEARER_API "Bearer bench-api-token"

/* What one callback asks of the fakes, timed together. */
static int fakes_callback(conn_t *prov, conn_t *blink, double *us)
{
    double t0 = now_us();

    if (post(prov, "/token", BASIC, "application/x-www-form-urlencoded",
             "grant_type=authorization_code&code=c0de-0123456789abcdef&redirect_uri=http%3A%2F%2F127.0.0.1%3A8801"
             "%2Fblink%2Fcallback&code_verifier=0123456789abcdefghijklmnopqrstuvwxyzABCDEFG") != 0 ||
        bodiless(prov, "GET", "/userinfo", BEARER_AT) != 0 ||
        bodiless(blink, "GET", "/v2/user/u-43", BEARER_API) != 0 ||
        bodiless(blink, "GET", "/v2/user/u-43/linked-accounts", BEARER_API) != 0 ||
        post(blink, "/v2/user/u-43/linked-accounts", BEARER_API, "application/json",
             "{\"auth_id\":\"a-1234\",\"external_account_id\":\"user42@example.com\",\"access_token\":\"at-"
             "0123456789abcdef0123456789abcdef\",\"refresh_token\":\"rt-0123456789abcdef0123456789abcdef\",\"expiry\":"
             "\"2030-01-01T00:00:00Z\",\"reauth_required\":false}") != 0)
        return -1;
    *us = now_us() - t0;
    return 0;
}

/* What one Disconnect asks of the fakes, timed together. */
static int fakes_disconnect(conn_t *prov, conn_t *blink, double *us)
{
    double t0 = now_us();

    if (bodiless(blink, "GET", "/v2/user/u-42/linked-accounts/la-1", BEARER_API) != 0 ||
        bodiless(blink, "DELETE", "/v2/user/u-42/linked-accounts/la-1", BEARER_API) != 0 ||
        post(prov, "/revoke", BASIC, "application/x-www-form-urlencoded",
             "token=rt-0123456789abcdef0123456789abcdef&token_type_hint=refresh_token") != 0 ||
        post(prov, "/revoke", BASIC, "application/x-www-form-urlencoded",
             "token=at-0123456789abcdef0123456789abcdef&token_type_hint=access_token") != 0)
        return -1;
    *us = now_us() - t0;
    return 0;
}

/* One thread's share of the iterations. */
static void *run(void *arg)
{
    job_t *j = arg;
    conn_t *a = calloc(1, sizeof(conn_t)), *b = calloc(1, sizeof(conn_t));
    int fakes = strncmp(mode, "fakes-", 6) == 0;

    a->fd = b->fd = -1;
    a->port = port_a;
    b->port = port_b;
    for (int i = 0; i < j->iters; i++) {
        double us = 0;
        int rc = strcmp(mode, "callback") == 0         ? one_callback(a, &us)
                 : strcmp(mode, "open") == 0           ? one_open(a, &us)
                 : strcmp(mode, "disconnect") == 0     ? one_disconnect(a, &us)
                 : strcmp(mode, "noop") == 0           ? one_noop(a, &us)
                 : strcmp(mode, "fakes-callback") == 0 ? fakes_callback(a, b, &us)
                                                       : fakes_disconnect(a, b, &us);
        if (rc == 0)
            j->lat[j->n++] = us;
        else
            j->errors++;
    }
    (void)fakes;
    hang_up(a);
    hang_up(b);
    free(a);
    free(b);
    return NULL;
}

/* qsort order of doubles. */
static int by_value(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;

    return a < b ? -1 : a > b;
}

int main(int argc, char **argv)
{
    int fakes, conns, count, n = 0, errors = 0, argi = 2;
    double *all, t0, secs, sum = 0;
    pthread_t *t;
    job_t *jobs;

    if (argc < 2)
        goto usage;
    mode = argv[1];
    if (strcmp(mode, "capacity") == 0 && argc == 5) {
        port_a = atoi(argv[2]);
        return capacity(atoi(argv[4]));
    }
    fakes = strncmp(mode, "fakes-", 6) == 0;
    if (argc != (fakes ? 6 : 5) ||
        (strcmp(mode, "callback") && strcmp(mode, "open") && strcmp(mode, "disconnect") && strcmp(mode, "noop") &&
         strcmp(mode, "fakes-callback") && strcmp(mode, "fakes-disconnect")))
        goto usage;
    if (fakes && getenv("BENCH_TLS_CA") &&
        ((tls = SSL_CTX_new(TLS_client_method())) == NULL ||
         SSL_CTX_load_verify_locations(tls, getenv("BENCH_TLS_CA"), NULL) != 1)) {
        fprintf(stderr, "driver: cannot use the CA file %s\n", getenv("BENCH_TLS_CA"));
        return 2;
    }
    if (tls)
        SSL_CTX_set_verify(tls, SSL_VERIFY_PEER, NULL);
    port_a = atoi(argv[argi++]);
    if (fakes)
        port_b = atoi(argv[argi++]);
    conns = atoi(argv[argi++]);
    count = atoi(argv[argi++]);
    if (conns < 1 || count < conns)
        goto usage;
    t = calloc((size_t)conns, sizeof(*t));
    jobs = calloc((size_t)conns, sizeof(*jobs));
    all = calloc((size_t)count, sizeof(double));
    t0 = now_us();
    for (int i = 0; i < conns; i++) {
        jobs[i].id = i;
        jobs[i].iters = count / conns + (i < count % conns);
        jobs[i].lat = calloc((size_t)jobs[i].iters, sizeof(double));
        pthread_create(&t[i], NULL, run, &jobs[i]);
    }
    for (int i = 0; i < conns; i++) {
        pthread_join(t[i], NULL);
        memcpy(all + n, jobs[i].lat, (size_t)jobs[i].n * sizeof(double));
        n += jobs[i].n;
        errors += jobs[i].errors;
    }
    secs = (now_us() - t0) / 1e6;
    qsort(all, (size_t)n, sizeof(double), by_value);
    for (int i = 0; i < n; i++)
        sum += all[i];
    printf("n=%d errors=%d rps=%.0f p50_us=%.0f p99_us=%.0f min_us=%.0f max_us=%.0f mean_us=%.0f\n", n, errors,
           n / secs, n ? all[n / 2] : 0, n ? all[(int)(n * 0.99)] : 0, n ? all[0] : 0, n ? all[n - 1] : 0,
           n ? sum / n : 0);
    return errors ? 1 : 0;

usage:
    fprintf(stderr, "usage: driver callback|disconnect|noop PORT CONNS COUNT\n"
                    "       driver fakes-callback|fakes-disconnect PROVIDER_PORT BLINK_PORT CONNS COUNT\n");
    return 2;
}
