/* Shared by every fuzz target: a fresh APR pool per input, the input as C text, property checks. */
#ifndef BLINKAUTH_FUZZ_H
#define BLINKAUTH_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include <apr_pools.h>

#include "upstream.h"

/* libFuzzer's entry point; tests/fuzz/replay_main.c calls it for corpus files when built with gcc. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Begins and ends the window in which pool_shim.c gives every pool allocation its own malloc block. */
void fuzz_shim_begin(void);
void fuzz_shim_end(void);
/* Bytes of pool memory handed out since fuzz_pool_begin (apr_psprintf's not counted). */
size_t fuzz_shim_allocated(void);

/* A property the code under test must keep: a violation aborts, so libFuzzer (and the replay) report it. */
#define FUZZ_CHECK(cond)                                                                                               \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            fprintf(stderr, "fuzz: property violated: %s (%s:%d)\n", #cond, __FILE__, __LINE__);                       \
            abort();                                                                                                   \
        }                                                                                                              \
    } while (0)

/* A pool of its own for one input, under a root pool made once per process. */
static inline apr_pool_t *fuzz_pool_begin(void)
{
    static apr_pool_t *root;
    apr_pool_t *p;

    if (root == NULL) {
        apr_initialize();
        apr_pool_create(&root, NULL);
    }
    apr_pool_create(&p, root);
    fuzz_shim_begin();
    return p;
}

/* Destroys the input's pool (running its cleanups, e.g. json_decref) and frees what the shim handed out. */
static inline void fuzz_pool_end(apr_pool_t *p)
{
    apr_pool_destroy(p);
    fuzz_shim_end();
}

/* The input as a NUL-terminated string in a malloc block of exactly size + 1 bytes (free it). Like a header
 * or a query handed over by httpd, it ends at its first NUL byte. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);

    if (size)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* The input's raw bytes in a malloc block of exactly size bytes (at least 1), so reads past the end are caught. */
static inline char *fuzz_bytes(const uint8_t *data, size_t size)
{
    char *b = malloc(size ? size : 1);

    if (size)
        memcpy(b, data, size);
    return b;
}

/* Reads the error code of an upstream's answer with status and the input's size bytes as body
 * (blinkauth_upstream_error_code under field). Property: a code found is a short safe token, 1 to 64 letters,
 * digits and '_'. */
static inline void fuzz_check_error_code(apr_pool_t *p, long status, const char *body, size_t size, const char *field)
{
    blinkauth_http_response_t res = {0};
    const char *code;

    res.status = status;
    res.body = body;
    res.body_len = size;
    code = blinkauth_upstream_error_code(p, &res, field);
    if (code)
        FUZZ_CHECK(*code && strlen(code) <= 64 &&
                   strspn(code, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == strlen(code));
}

#endif
