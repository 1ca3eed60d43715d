/* fastfake: a minimal, fast fake of the OAuth provider and of the Blink API for `make bench`.
 *
 * One process, three loopback listeners: the provider (token, userinfo, revoke), the Blink API (linked accounts:
 * add, list, get, delete) and a control port (GET /stats, GET /reset) that is not counted; a fourth, optional, is a
 * backend that answers every GET with a small JSON body (the service an action is passed to, bench/act.sh) and counts
 * the requests that carry a Bearer token.  Each accepted connection gets a thread with blocking I/O and HTTP/1.1
 * keep-alive; every answer is one write().  It counts the TCP connections it accepts and the requests it serves per
 * upstream, which is how the bench sees whether mod_blinkauth reuses its connections.
 *
 * Usage: fastfake PROVIDER_PORT BLINK_PORT CONTROL_PORT [BACKEND_PORT]
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

enum { PROVIDER, BLINK, BACKEND, CONTROL };

static atomic_long accepts[3], requests[3], open_now[3], backend_bearer;

typedef struct {
    int fd;
    int role;
} conn_t;

/* Writes all of buf. */
static int write_all(int fd, const char *buf, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, buf, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        buf += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Sends one complete answer with a JSON (or empty) body. */
static int answer(int fd, int status, const char *body, int close_after)
{
    char buf[2048];
    size_t blen = strlen(body);
    int n = snprintf(buf, sizeof(buf),
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n%s\r\n%s", status,
                     status == 200   ? "OK"
                     : status == 201 ? "Created"
                                     : "Not Found",
                     blen, close_after ? "Connection: close\r\n" : "", body);
    return write_all(fd, buf, (size_t)n);
}

/* The answer of one request to the fake provider. */
static int serve_provider(int fd, const char *method, const char *path, int close_after)
{
    if (strcmp(method, "POST") == 0 && strncmp(path, "/token", 6) == 0)
        return answer(fd, 200,
                      "{\"access_token\":\"at-0123456789abcdef0123456789abcdef\",\"token_type\":\"Bearer\","
                      "\"expires_in\":3600,\"refresh_token\":\"rt-0123456789abcdef0123456789abcdef\"}",
                      close_after);
    if (strcmp(method, "GET") == 0 && strncmp(path, "/userinfo", 9) == 0)
        return answer(
            fd, 200, "{\"sub\":\"u-42\",\"email\":\"user42@example.com\",\"email_verified\":true,\"name\":\"User 42\"}",
            close_after);
    if (strcmp(method, "POST") == 0 && strncmp(path, "/revoke", 7) == 0)
        return answer(fd, 200, "", close_after);
    return answer(fd, 404, "{\"error\":\"not_found\"}", close_after);
}

/* The answer of one request to the fake Blink API. */
static int serve_blink(int fd, const char *method, const char *path, int close_after)
{
    int accounts = strncmp(path, "/v2/user/", 9) == 0 && strstr(path, "/linked-accounts") != NULL;
    const char *tail = accounts ? strstr(path, "/linked-accounts") + 16 : NULL;

    if (accounts && strcmp(method, "POST") == 0 && *tail == '\0')
        return answer(fd, 201, "{\"data\":{\"id\":\"la-1\"}}", close_after);
    if (accounts && strcmp(method, "GET") == 0 && (*tail == '\0' || *tail == '?'))
        return answer(fd, 200,
                      "{\"code\":\"OK\",\"message\":\"OK\",\"data\":[{\"id\":\"la-1\",\"auth_id\":\"a-1234\","
                      "\"external_account_id\":\"user42@example.com\","
                      "\"access_token\":\"at-0123456789abcdef0123456789abcdef\","
                      "\"refresh_token\":\"rt-0123456789abcdef0123456789abcdef\","
                      "\"expiry\":\"2099-01-01T00:00:00Z\",\"reauth_required\":false}]}",
                      close_after);
    if (accounts && strcmp(method, "GET") == 0 && *tail == '/')
        return answer(
            fd, 200,
            "{\"data\":{\"id\":\"la-1\",\"auth_id\":\"a-1234\",\"external_account_id\":\"user42@example.com\","
            "\"access_token\":\"at-0123456789abcdef0123456789abcdef\","
            "\"refresh_token\":\"rt-0123456789abcdef0123456789abcdef\","
            "\"expiry\":\"2030-01-01T00:00:00Z\",\"reauth_required\":false}}",
            close_after);
    if (accounts && strcmp(method, "DELETE") == 0 && *tail == '/')
        return answer(fd, 200, "{\"data\":{}}", close_after);
    return answer(fd, 404, "{\"code\":\"NOT_FOUND\"}", close_after);
}

/* The answer of one request to the backend: any GET, counted apart when it carries a Bearer token. */
static int serve_backend(int fd, const char *method, const char *head, int close_after)
{
    if (strcmp(method, "GET") != 0)
        return answer(fd, 404, "{\"error\":\"not_found\"}", close_after);
    if (strcasestr(head, "\r\nauthorization: bearer ") != NULL)
        atomic_fetch_add(&backend_bearer, 1);
    return answer(fd, 200, "{\"id\":\"user42@example.com\",\"name\":\"User 42\",\"plan\":\"bench\"}", close_after);
}

/* The answer of one request to the control port. */
static int serve_control(int fd, const char *path)
{
    char body[512];

    if (strcmp(path, "/reset") == 0) {
        for (int i = 0; i < 3; i++)
            accepts[i] = requests[i] = 0;
        backend_bearer = 0;
    }
    snprintf(body, sizeof(body),
             "{\"provider_accepts\":%ld,\"provider_requests\":%ld,\"provider_open\":%ld,"
             "\"blink_accepts\":%ld,\"blink_requests\":%ld,\"blink_open\":%ld,"
             "\"backend_requests\":%ld,\"backend_bearer\":%ld}",
             (long)accepts[PROVIDER], (long)requests[PROVIDER], (long)open_now[PROVIDER], (long)accepts[BLINK],
             (long)requests[BLINK], (long)open_now[BLINK], (long)requests[BACKEND], (long)backend_bearer);
    return answer(fd, 200, body, 1);
}

/* Serves one keep-alive connection until the peer closes it. */
static void *serve(void *arg)
{
    conn_t c = *(conn_t *)arg;
    char buf[65536];
    size_t have = 0;

    free(arg);
    for (;;) {
        char *end, *cl, method[16], path[4096];
        size_t head, body = 0, need;
        int close_after;

        buf[have] = '\0';
        while ((end = strstr(buf, "\r\n\r\n")) == NULL) {
            ssize_t n = have < sizeof(buf) - 1 ? read(c.fd, buf + have, sizeof(buf) - 1 - have) : -1;
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
        close_after = strcasestr(buf, "\r\nconnection: close") != NULL;
        need = head + body;
        if (need >= sizeof(buf))
            goto done;
        while (have < need) {
            ssize_t n = read(c.fd, buf + have, sizeof(buf) - 1 - have);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                goto done;
            have += (size_t)n;
        }
        if (c.role != CONTROL)
            atomic_fetch_add(&requests[c.role], 1);
        if ((c.role == PROVIDER  ? serve_provider(c.fd, method, path, close_after)
             : c.role == BLINK   ? serve_blink(c.fd, method, path, close_after)
             : c.role == BACKEND ? serve_backend(c.fd, method, buf, close_after)
                                 : serve_control(c.fd, path)) != 0 ||
            close_after || c.role == CONTROL)
            goto done;
        memmove(buf, buf + need, have - need);
        have -= need;
    }
done:
    if (c.role != CONTROL)
        atomic_fetch_sub(&open_now[c.role], 1);
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
        c = malloc(sizeof(*c));
        c->fd = fd;
        c->role = role;
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
    int n = argc - 1;

    if (n != 3 && n != 4) {
        fprintf(stderr, "usage: fastfake PROVIDER_PORT BLINK_PORT CONTROL_PORT [BACKEND_PORT]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    for (int i = 0; i < n; i++) {
        args[i][0] = (void *)(long)roles[i];
        args[i][1] = (void *)(long)listen_on(atoi(argv[1 + i]));
    }
    for (int i = 0; i < n; i++)
        pthread_create(&t[i], NULL, acceptor, args[i]);
    pthread_join(t[0], NULL);
    return 0;
}
