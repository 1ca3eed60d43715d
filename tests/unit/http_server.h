/* A loopback HTTP/1.1 server for unit tests: scripted raw responses, recorded requests. */
#ifndef BLINKAUTH_TEST_HTTP_SERVER_H
#define BLINKAUTH_TEST_HTTP_SERVER_H

#include <stddef.h>

#define HS_MAX_REQUESTS 128
#define HS_MAX_HEADERS 32

/* What the server does with the request a step answers. */
typedef enum {
    HS_REPLY, /* write raw; keep the connection unless raw says "Connection: close" */
    HS_HANG,  /* never answer, hold the connection until hs_stop */
    HS_CLOSE, /* close the connection without answering */
    HS_DIE    /* stop listening (later connects are refused), then close without answering */
} hs_action_t;

/* One scripted answer; the last step repeats for any further request. */
typedef struct {
    hs_action_t action;
    const char *raw; /* the full response: status line, headers, blank line, body */
    size_t raw_len;  /* 0 = strlen(raw) */
} hs_step_t;

/* One request as the server received it. */
typedef struct {
    char method[16];
    char path[1024];
    int nheaders;
    char name[HS_MAX_HEADERS][64];
    char value[HS_MAX_HEADERS][1024];
    char *body; /* NUL-terminated */
    size_t body_len;
} hs_request_t;

typedef struct hs_server hs_server_t;

/* Start a server on 127.0.0.1 (ephemeral port) that listens after listen_delay_ms. */
hs_server_t *hs_start(const hs_step_t *steps, int nsteps, int listen_delay_ms);

/* The port it is bound to. */
int hs_port(const hs_server_t *s);

/* How many TCP connections it has accepted so far. */
int hs_accepts(hs_server_t *s);

/* How many requests it has received so far. */
int hs_request_count(hs_server_t *s);

/* The i-th request received (0-based), or NULL. */
const hs_request_t *hs_request(hs_server_t *s, int i);

/* How many of the recorded requests carried exactly this body. */
int hs_body_count(hs_server_t *s, const char *body);

/* The value of a request header (case-insensitive name), or NULL. */
const char *hs_header(const hs_request_t *r, const char *name);

/* Stop the server, close every connection and free it. */
void hs_stop(hs_server_t *s);

/* A loopback port that nothing listens on (bound once, then released). */
int hs_unused_port(void);

#endif
