/* A loopback HTTP/1.1 server for unit tests: one acceptor thread, one thread per connection. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "http_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HS_MAX_CONNS 64
#define HS_BUF (64 * 1024)
#define HS_MAX_BODY (4 * 1024 * 1024)

/* One accepted connection and its thread. */
typedef struct {
    hs_server_t *srv;
    int fd;
    pthread_t thread;
    char buf[HS_BUF];
} conn_t;

struct hs_server {
    int lfd, port, delay_ms, stop_pipe[2];
    const hs_step_t *steps;
    int nsteps;
    pthread_t acceptor;
    pthread_mutex_t mu;
    int accepts, nreq, nconns;
    conn_t conns[HS_MAX_CONNS];
    hs_request_t reqs[HS_MAX_REQUESTS];
};

/* Wait until fd is readable (1) or the server is stopping (0). */
static int wait_readable(hs_server_t *s, int fd)
{
    struct pollfd p[2] = {{fd, POLLIN, 0}, {s->stop_pipe[0], POLLIN, 0}};

    for (;;) {
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return 0;
        }
        if (p[1].revents)
            return 0;
        if (p[0].revents)
            return 1;
    }
}

/* Write all of buf, ignoring a peer that went away. */
static void write_all(int fd, const char *buf, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, buf, n, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        buf += w;
        n -= (size_t)w;
    }
}

/* Parse the head in buf[0..head_len) into r; returns the Content-Length, or -1 if malformed. */
static long parse_head(char *buf, size_t head_len, hs_request_t *r)
{
    char *line = buf, *end = buf + head_len, *eol, *colon, *v;
    long cl = 0;

    if (buf[0] < 'A' || buf[0] > 'Z') /* e.g. a TLS ClientHello */
        return -1;
    eol = memmem(line, end - line, "\r\n", 2);
    *eol = '\0';
    if (sscanf(line, "%15s %1023s", r->method, r->path) != 2)
        return -1;
    for (line = eol + 2; line < end && (eol = memmem(line, end - line, "\r\n", 2)) && eol > line; line = eol + 2) {
        *eol = '\0';
        if (!(colon = strchr(line, ':')) || r->nheaders >= HS_MAX_HEADERS)
            continue;
        *colon = '\0';
        for (v = colon + 1; *v == ' '; v++)
            ;
        snprintf(r->name[r->nheaders], sizeof(r->name[0]), "%s", line);
        snprintf(r->value[r->nheaders], sizeof(r->value[0]), "%s", v);
        if (strcasecmp(line, "Content-Length") == 0)
            cl = atol(v);
        r->nheaders++;
    }
    return cl;
}

/* Read more of the connection into buf[have..HS_BUF); the new fill, or 0 when full, closed by the peer or stopping. */
static size_t fill(conn_t *c, size_t have)
{
    ssize_t got;

    if (have == HS_BUF || !wait_readable(c->srv, c->fd) || (got = recv(c->fd, c->buf + have, HS_BUF - have, 0)) <= 0)
        return 0;
    return have + (size_t)got;
}

/* Read until c->buf holds a whole request head; its length with the blank line, or 0 when the connection ends. */
static size_t read_head(conn_t *c, size_t *have)
{
    char *head_end;

    while (!(head_end = memmem(c->buf, *have, "\r\n\r\n", 4))) {
        if (!(*have = fill(c, *have)) || c->buf[0] < 'A' || c->buf[0] > 'Z')
            return 0;
    }
    return (size_t)(head_end - c->buf) + 4;
}

/* The cl-byte body after the head_len-byte head (NUL-terminated, malloc'd), taken from c->buf and then the socket;
 * c->buf keeps only what follows it. NULL when the connection ends first. */
static char *read_body(conn_t *c, size_t head_len, size_t cl, size_t *have)
{
    char *body = calloc(1, cl + 1);
    size_t got = *have - head_len < cl ? *have - head_len : cl;
    ssize_t n;

    memcpy(body, c->buf + head_len, got);
    memmove(c->buf, c->buf + head_len + got, *have - head_len - got);
    *have -= head_len + got;
    while (got < cl) {
        if (!wait_readable(c->srv, c->fd) || (n = recv(c->fd, body + got, cl - got, 0)) <= 0) {
            free(body);
            return NULL;
        }
        got += (size_t)n;
    }
    return body;
}

/* Record r and return the scripted step that answers it. */
static const hs_step_t *record(hs_server_t *s, hs_request_t *r)
{
    const hs_step_t *step;

    pthread_mutex_lock(&s->mu);
    step = &s->steps[s->nreq < s->nsteps ? s->nreq : s->nsteps - 1];
    if (s->nreq < HS_MAX_REQUESTS)
        s->reqs[s->nreq] = *r;
    else
        free(r->body);
    s->nreq++;
    pthread_mutex_unlock(&s->mu);
    return step;
}

/* Do what step says with the request just read; whether the connection stays open for another request. */
static int act(conn_t *c, const hs_step_t *step)
{
    switch (step->action) {
    case HS_HANG:
        while (wait_readable(c->srv, c->fd)) { /* swallow until the client gives up or stop */
            char sink[512];
            if (recv(c->fd, sink, sizeof(sink), 0) <= 0)
                break;
        }
        return 0;
    case HS_DIE:
        shutdown(c->srv->lfd, SHUT_RDWR); /* a listening socket stops listening: connects are refused */
        return 0;
    case HS_CLOSE:
        return 0;
    default:
        write_all(c->fd, step->raw, step->raw_len ? step->raw_len : strlen(step->raw));
        return !strcasestr(step->raw, "Connection: close");
    }
}

/* Serve one connection: read requests, answer each with the next scripted step. */
static void *conn_main(void *arg)
{
    conn_t *c = arg;
    size_t have = 0, head_len;
    long cl;
    hs_request_t r;

    do {
        memset(&r, 0, sizeof(r));
        if (!(head_len = read_head(c, &have)) || (cl = parse_head(c->buf, head_len, &r)) < 0 || cl > HS_MAX_BODY ||
            !(r.body = read_body(c, head_len, (size_t)cl, &have)))
            break;
        r.body_len = (size_t)cl;
    } while (act(c, record(c->srv, &r)));
    shutdown(c->fd, SHUT_RDWR);
    return NULL;
}

/* Accept connections until stopped, each served by its own thread. */
static void *acceptor_main(void *arg)
{
    hs_server_t *s = arg;
    struct timespec ts = {s->delay_ms / 1000, (s->delay_ms % 1000) * 1000000L};

    if (s->delay_ms)
        nanosleep(&ts, NULL);
    if (listen(s->lfd, 16) != 0)
        return NULL;
    while (wait_readable(s, s->lfd)) {
        int fd = accept(s->lfd, NULL, NULL);
        conn_t *c;

        if (fd < 0 && errno == EINVAL) /* HS_DIE shut the listening socket down */
            break;
        if (fd < 0)
            continue;
        pthread_mutex_lock(&s->mu);
        s->accepts++;
        if (s->nconns == HS_MAX_CONNS) {
            pthread_mutex_unlock(&s->mu);
            close(fd);
            continue;
        }
        c = &s->conns[s->nconns++];
        c->srv = s;
        c->fd = fd;
        pthread_mutex_unlock(&s->mu);
        pthread_create(&c->thread, NULL, conn_main, c);
    }
    return NULL;
}

/* Start a server on 127.0.0.1 (ephemeral port) that listens after listen_delay_ms. */
hs_server_t *hs_start(const hs_step_t *steps, int nsteps, int listen_delay_ms)
{
    hs_server_t *s = calloc(1, sizeof(*s));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    int one = 1;

    s->steps = steps;
    s->nsteps = nsteps;
    s->delay_ms = listen_delay_ms;
    pthread_mutex_init(&s->mu, NULL);
    if (pipe(s->stop_pipe) != 0 || (s->lfd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
        abort();
    setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    /* bound now, so the port is known and refuses connections until listen() */
    if (bind(s->lfd, (struct sockaddr *)&a, sizeof(a)) != 0 || getsockname(s->lfd, (struct sockaddr *)&a, &alen) != 0)
        abort();
    s->port = ntohs(a.sin_port);
    if (!listen_delay_ms && listen(s->lfd, 16) != 0)
        abort();
    pthread_create(&s->acceptor, NULL, acceptor_main, s);
    return s;
}

/* The port it is bound to. */
int hs_port(const hs_server_t *s)
{
    return s->port;
}

/* How many TCP connections it has accepted so far. */
int hs_accepts(hs_server_t *s)
{
    int n;

    pthread_mutex_lock(&s->mu);
    n = s->accepts;
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* How many requests it has received so far. */
int hs_request_count(hs_server_t *s)
{
    int n;

    pthread_mutex_lock(&s->mu);
    n = s->nreq;
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* The i-th request received (0-based), or NULL. */
const hs_request_t *hs_request(hs_server_t *s, int i)
{
    const hs_request_t *r;

    pthread_mutex_lock(&s->mu);
    r = i >= 0 && i < s->nreq && i < HS_MAX_REQUESTS ? &s->reqs[i] : NULL;
    pthread_mutex_unlock(&s->mu);
    return r;
}

/* How many of the recorded requests carried exactly this body. */
int hs_body_count(hs_server_t *s, const char *body)
{
    int i, n = 0;

    pthread_mutex_lock(&s->mu);
    for (i = 0; i < s->nreq && i < HS_MAX_REQUESTS; i++)
        n += strcmp(s->reqs[i].body, body) == 0;
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* The value of a request header (case-insensitive name), or NULL. */
const char *hs_header(const hs_request_t *r, const char *name)
{
    int i;

    for (i = 0; r && i < r->nheaders; i++)
        if (strcasecmp(r->name[i], name) == 0)
            return r->value[i];
    return NULL;
}

/* Stop the server, close every connection and free it. */
void hs_stop(hs_server_t *s)
{
    int i;

    if (write(s->stop_pipe[1], "x", 1) != 1)
        abort();
    pthread_join(s->acceptor, NULL);
    for (i = 0; i < s->nconns; i++) {
        pthread_join(s->conns[i].thread, NULL);
        close(s->conns[i].fd);
    }
    for (i = 0; i < s->nreq && i < HS_MAX_REQUESTS; i++)
        free(s->reqs[i].body);
    close(s->lfd);
    close(s->stop_pipe[0]);
    close(s->stop_pipe[1]);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* A loopback port that nothing listens on (bound once, then released). */
int hs_unused_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || getsockname(fd, (struct sockaddr *)&a, &alen) != 0)
        abort();
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}
