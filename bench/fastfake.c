/* fastfake: a minimal, fast fake of the OAuth provider and of the Blink API for `make bench`.
 *
 * One process, three loopback listeners: the provider (token, userinfo, revoke), the Blink API (the user; linked
 * accounts: list, add, update, get, delete) and a control port (GET /stats, GET /reset, GET /drop: every open
 * connection closes after its next answer, GET /keepalive/N: every connection closes after N requests) that is not
 * counted; a fourth, optional, is a backend that answers every GET with a small JSON body (the service an action is
 * passed to, bench/act.sh) and counts the requests that carry a Bearer token.  The user u-42 has one linked account
 * (la-1, what an action uses); any other user none (a callback for one adds it).  Each accepted connection gets a
 * thread with blocking I/O and HTTP/1.1 keep-alive; every answer is one write().  It counts the TCP connections it
 * accepts and the requests it serves per upstream, which is how the bench sees whether mod_blinkauth reuses its
 * connections. With a certificate and its key, the provider and the Blink API speak TLS (HTTP/1.1 only, no ALPN), and
 * it also counts their handshakes: full ones, and resumed ones (a session the client kept from an earlier connection,
 * by session ID or ticket).
 *
 * Usage: fastfake PROVIDER_PORT BLINK_PORT CONTROL_PORT [BACKEND_PORT] [CERT_PEM KEY_PEM]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

enum { PROVIDER, BLINK, BACKEND, CONTROL };

static atomic_long accepts[3], requests[3], open_now[3], backend_bearer, tls_full[2], tls_resumed[2];
/* GET /drop on the control port raises it: every connection accepted before answers its next request with
 * "Connection: close" and closes, as a server whose keep-alive timeout ran out (the client must reconnect). */
static atomic_long drop_epoch;
/* GET /keepalive/N on the control port: every connection closes after its N-th request (0: never), as a server with a
 * keep-alive request limit does (nginx's keepalive_requests, httpd's MaxKeepAliveRequests): reconnects spread in time.
 */
static atomic_long keepalive_max;
static SSL_CTX *tls; /* NULL: plain HTTP */

typedef struct {
    int fd;
    int role;
    SSL *ssl;   /* NULL on a plain connection */
    long epoch; /* drop_epoch when it was accepted */
} conn_t;

/* Reads up to n bytes from the connection (TLS or plain); as read(). */
static ssize_t conn_read(const conn_t *c, char *buf, size_t n)
{
    int r;

    if (c->ssl == NULL)
        return read(c->fd, buf, n);
    r = SSL_read(c->ssl, buf, (int)n);
    return r > 0 ? r : SSL_get_error(c->ssl, r) == SSL_ERROR_ZERO_RETURN ? 0 : -1;
}

/* Writes all of buf. */
static int write_all(const conn_t *c, const char *buf, size_t n)
{
    while (n > 0) {
        ssize_t w = c->ssl ? SSL_write(c->ssl, buf, (int)n) : write(c->fd, buf, n);
        if (w < 0 && errno == EINTR && c->ssl == NULL)
            continue;
        if (w <= 0)
            return -1;
        buf += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Sends one complete answer with a JSON (or empty) body. */
static int answer(const conn_t *c, int status, const char *body, int close_after)
{
    char buf[2048];
    size_t blen = strlen(body);
    int n = snprintf(buf, sizeof(buf),
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n%s\r\n%s", status,
                     status == 200   ? "OK"
                     : status == 201 ? "Created"
                                     : "Not Found",
                     blen, close_after ? "Connection: close\r\n" : "", body);
    return write_all(c, buf, (size_t)n);
}

/* The answer of one request to the fake provider. */
static int serve_provider(const conn_t *c, const char *method, const char *path, int close_after)
{
    if (strcmp(method, "POST") == 0 && strncmp(path, "/token", 6) == 0)
        return answer(c, 200,
                      "{\"access_token\":\"at-0123456789abcdef0123456789abcdef\",\"token_type\":\"Bearer\","
                      "\"expires_in\":3600,\"refresh_token\":\"rt-0123456789abcdef0123456789abcdef\"}",
                      close_after);
    if (strcmp(method, "GET") == 0 && strncmp(path, "/userinfo", 9) == 0)
        return answer(
            c, 200, "{\"sub\":\"u-42\",\"email\":\"user42@example.com\",\"email_verified\":true,\"name\":\"User 42\"}",
            close_after);
    if (strcmp(method, "POST") == 0 && strncmp(path, "/revoke", 7) == 0)
        return answer(c, 200, "", close_after);
    return answer(c, 404, "{\"error\":\"not_found\"}", close_after);
}

/* The answer of one request to the fake Blink API. */
static int serve_blink(const conn_t *c, const char *method, const char *path, int close_after)
{
    int accounts = strncmp(path, "/v2/user/", 9) == 0 && strstr(path, "/linked-accounts") != NULL;
    const char *tail = accounts ? strstr(path, "/linked-accounts") + 16 : NULL;

    if (accounts && strcmp(method, "POST") == 0 && *tail == '\0')
        return answer(c, 201, "{\"data\":{\"id\":\"la-1\"}}", close_after);
    /* u-42 has la-1 (an action's); another user none, so that a callback for one adds it after Get User. */
    if (accounts && strcmp(method, "GET") == 0 && (*tail == '\0' || *tail == '?') &&
        strncmp(path, "/v2/user/u-42/", 14) != 0)
        return answer(c, 200, "{\"code\":\"OK\",\"message\":\"OK\",\"data\":[]}", close_after);
    if (accounts && strcmp(method, "GET") == 0 && (*tail == '\0' || *tail == '?'))
        return answer(c, 200,
                      "{\"code\":\"OK\",\"message\":\"OK\",\"data\":[{\"id\":\"la-1\",\"auth_id\":\"a-1234\","
                      "\"external_account_id\":\"user42@example.com\","
                      "\"access_token\":\"at-0123456789abcdef0123456789abcdef\","
                      "\"refresh_token\":\"rt-0123456789abcdef0123456789abcdef\","
                      "\"expiry\":\"2099-01-01T00:00:00Z\",\"reauth_required\":false}]}",
                      close_after);
    if (!accounts && strncmp(path, "/v2/user/", 9) == 0 && strcmp(method, "GET") == 0 && !strchr(path + 9, '/'))
        return answer(c, 200,
                      "{\"code\":\"OK\",\"message\":\"OK\",\"data\":{\"id\":\"u-42\",\"email\":"
                      "\"user42@example.com\",\"first_name\":\"User\",\"last_name\":\"42\"}}",
                      close_after);
    if (accounts && strcmp(method, "GET") == 0 && *tail == '/')
        return answer(
            c, 200,
            "{\"data\":{\"id\":\"la-1\",\"auth_id\":\"a-1234\",\"external_account_id\":\"user42@example.com\","
            "\"access_token\":\"at-0123456789abcdef0123456789abcdef\","
            "\"refresh_token\":\"rt-0123456789abcdef0123456789abcdef\","
            "\"expiry\":\"2030-01-01T00:00:00Z\",\"reauth_required\":false}}",
            close_after);
    if (accounts && strcmp(method, "PATCH") == 0 && *tail == '/')
        return answer(c, 200, "{\"code\":\"OK\",\"message\":\"OK\",\"data\":{\"id\":\"la-1\"}}", close_after);
    if (accounts && strcmp(method, "DELETE") == 0 && *tail == '/')
        return answer(c, 200, "{\"data\":{}}", close_after);
    return answer(c, 404, "{\"code\":\"NOT_FOUND\"}", close_after);
}

/* The answer of one request to the backend: any GET, counted apart when it carries a Bearer token. */
static int serve_backend(const conn_t *c, const char *method, const char *head, int close_after)
{
    if (strcmp(method, "GET") != 0)
        return answer(c, 404, "{\"error\":\"not_found\"}", close_after);
    if (strcasestr(head, "\r\nauthorization: bearer ") != NULL)
        atomic_fetch_add(&backend_bearer, 1);
    return answer(c, 200, "{\"id\":\"user42@example.com\",\"name\":\"User 42\",\"plan\":\"bench\"}", close_after);
}

/* The answer of one request to the control port. */
static int serve_control(const conn_t *c, const char *path)
{
    char body[512];

    if (strcmp(path, "/drop") == 0)
        atomic_fetch_add(&drop_epoch, 1);
    if (strncmp(path, "/keepalive/", 11) == 0)
        atomic_store(&keepalive_max, atol(path + 11));
    if (strcmp(path, "/reset") == 0) {
        for (int i = 0; i < 3; i++)
            accepts[i] = requests[i] = 0;
        for (int i = 0; i < 2; i++)
            tls_full[i] = tls_resumed[i] = 0;
        backend_bearer = 0;
    }
    snprintf(body, sizeof(body),
             "{\"provider_accepts\":%ld,\"provider_requests\":%ld,\"provider_open\":%ld,"
             "\"blink_accepts\":%ld,\"blink_requests\":%ld,\"blink_open\":%ld,"
             "\"backend_requests\":%ld,\"backend_bearer\":%ld,"
             "\"provider_tls_full\":%ld,\"provider_tls_resumed\":%ld,\"blink_tls_full\":%ld,"
             "\"blink_tls_resumed\":%ld}",
             (long)accepts[PROVIDER], (long)requests[PROVIDER], (long)open_now[PROVIDER], (long)accepts[BLINK],
             (long)requests[BLINK], (long)open_now[BLINK], (long)requests[BACKEND], (long)backend_bearer,
             (long)tls_full[PROVIDER], (long)tls_resumed[PROVIDER], (long)tls_full[BLINK], (long)tls_resumed[BLINK]);
    return answer(c, 200, body, 1);
}

/* Serves one keep-alive connection until the peer closes it. */
static void *serve(void *arg)
{
    conn_t c = *(conn_t *)arg;
    char buf[65536];
    size_t have = 0;
    long served = 0;

    free(arg);
    if (tls && (c.role == PROVIDER || c.role == BLINK)) {
        if ((c.ssl = SSL_new(tls)) == NULL || !SSL_set_fd(c.ssl, c.fd) || SSL_accept(c.ssl) != 1)
            goto done;
        atomic_fetch_add(SSL_session_reused(c.ssl) ? &tls_resumed[c.role] : &tls_full[c.role], 1);
    }
    for (;;) {
        char *end, *cl, method[16], path[4096];
        size_t head, body = 0, need;
        int close_after;

        buf[have] = '\0';
        while ((end = strstr(buf, "\r\n\r\n")) == NULL) {
            ssize_t n = have < sizeof(buf) - 1 ? conn_read(&c, buf + have, sizeof(buf) - 1 - have) : -1;
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                goto done;
            have += (size_t)n;
            buf[have] = '\0';
        }
        head = (size_t)(end - buf) + 4;
        *end = '\0';
        if (sscanf(buf, "%15s %4095s", method, path) != 2)
            goto done;
        if ((cl = strcasestr(buf, "\r\ncontent-length:")) != NULL)
            body = strtoul(cl + 17, NULL, 10);
        served++;
        close_after = strcasestr(buf, "\r\nconnection: close") != NULL || c.epoch != atomic_load(&drop_epoch) ||
                      (atomic_load(&keepalive_max) > 0 && served >= atomic_load(&keepalive_max));
        need = head + body;
        if (need >= sizeof(buf))
            goto done;
        while (have < need) {
            ssize_t n = conn_read(&c, buf + have, sizeof(buf) - 1 - have);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                goto done;
            have += (size_t)n;
        }
        if (c.role != CONTROL)
            atomic_fetch_add(&requests[c.role], 1);
        if ((c.role == PROVIDER  ? serve_provider(&c, method, path, close_after)
             : c.role == BLINK   ? serve_blink(&c, method, path, close_after)
             : c.role == BACKEND ? serve_backend(&c, method, buf, close_after)
                                 : serve_control(&c, path)) != 0 ||
            close_after || c.role == CONTROL)
            goto done;
        memmove(buf, buf + need, have - need);
        have -= need;
    }
done:
    if (c.role != CONTROL)
        atomic_fetch_sub(&open_now[c.role], 1);
    if (c.ssl) {
        SSL_shutdown(c.ssl);
        SSL_free(c.ssl);
    }
    close(c.fd);
    return NULL;
}

/* Accepts connections on one listener forever. */
static void *acceptor(void *arg)
{
    int role = (int)(long)((void **)arg)[0], lfd = (int)(long)((void **)arg)[1];
    pthread_attr_t attr;

    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    for (;;) {
        int one = 1, fd = accept(lfd, NULL, NULL);
        conn_t *c;
        pthread_t t;

        if (fd < 0)
            continue;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (role != CONTROL) {
            atomic_fetch_add(&accepts[role], 1);
            atomic_fetch_add(&open_now[role], 1);
        }
        c = calloc(1, sizeof(*c));
        c->fd = fd;
        c->role = role;
        c->epoch = atomic_load(&drop_epoch);
        if (pthread_create(&t, &attr, serve, c) != 0) {
            close(fd);
            free(c);
        }
    }
    return NULL;
}

/* A loopback listener on port. */
static int listen_on(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 1024) != 0) {
        fprintf(stderr, "fastfake: cannot listen on 127.0.0.1:%d: %s\n", port, strerror(errno));
        exit(1);
    }
    return fd;
}

int main(int argc, char **argv)
{
    /* The listeners in the order of the command line. */
    static const int roles[] = {PROVIDER, BLINK, CONTROL, BACKEND};
    static void *args[4][2];
    pthread_t t[4];
    int n = argc - 1, ports;
    const char *cert = NULL, *key = NULL;

    if (n < 3 || n > 6) {
        fprintf(stderr, "usage: fastfake PROVIDER_PORT BLINK_PORT CONTROL_PORT [BACKEND_PORT] [CERT_PEM KEY_PEM]\n");
        return 2;
    }
    /* 3 or 4 ports, then maybe a certificate and its key. */
    ports = n == 5 || n == 6 ? n - 2 : n;
    if (ports != n) {
        cert = argv[ports + 1];
        key = argv[ports + 2];
    }
    signal(SIGPIPE, SIG_IGN);
    if (cert &&
        ((tls = SSL_CTX_new(TLS_server_method())) == NULL || SSL_CTX_use_certificate_chain_file(tls, cert) != 1 ||
         SSL_CTX_use_PrivateKey_file(tls, key, SSL_FILETYPE_PEM) != 1)) {
        ERR_print_errors_fp(stderr);
        fprintf(stderr, "fastfake: cannot use the certificate %s and key %s\n", cert, key);
        return 1;
    }
    /* Sessions are resumed from the server's cache (TLS 1.2 IDs) or from tickets (TLS 1.3), OpenSSL's defaults. */
    if (tls)
        SSL_CTX_set_session_id_context(tls, (const unsigned char *)"fastfake", 8);
    for (int i = 0; i < ports; i++) {
        args[i][0] = (void *)(long)roles[i];
        args[i][1] = (void *)(long)listen_on(atoi(argv[1 + i]));
    }
    for (int i = 0; i < ports; i++)
        pthread_create(&t[i], NULL, acceptor, args[i]);
    pthread_join(t[0], NULL);
    return 0;
}
