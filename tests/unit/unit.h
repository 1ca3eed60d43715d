/* Shared fixtures of the core unit tests: a per-test pool, a suite runner and an in-memory socache. */
#ifndef BLINKAUTH_TEST_UNIT_H
#define BLINKAUTH_TEST_UNIT_H

#include <check.h>
#include <apr_pools.h>
#include <apr_time.h>

#include "flow.h"
#include "http_server.h"

/* The pool of the running test, created by unit_setup and destroyed by unit_teardown. */
extern apr_pool_t *unit_pool;

/* Checked fixture: creates unit_pool. */
void unit_setup(void);

/* Checked fixture: destroys unit_pool. */
void unit_teardown(void);

/* The number of elements of an array. */
#define UNIT_COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* The tests of a test case, for unit_add_tcase: UNIT_TESTS(test_a, test_b, ...) stands for the array and its
 * length, two arguments. */
#define UNIT_TESTS(...) ((const TTest *const[]){__VA_ARGS__}), UNIT_COUNT(((const TTest *const[]){__VA_ARGS__}))

/* Adds to suite a test case named name holding the n tests, in that order, with the checked fixture setup and
 * teardown (unit_setup and unit_teardown where NULL); returns the test case. */
TCase *unit_add_tcase(Suite *suite, const char *name, SFun setup, SFun teardown, const TTest *const *tests, int n);

/* Runs a suite with APR initialised; the process exit status (0 when every test passed). */
int unit_run(Suite *suite);

/* unit_run with libcurl initialised the way post_config does it (blinkauth_http_global_init), for the suites that
 * make HTTP calls. */
int unit_run_http(Suite *suite);

/* A NUL-terminated string of n copies of c in unit_pool. */
char *unit_filled(apr_size_t n, char c);

/* --- A loopback HTTP server (http_server.c) for the tests that make HTTP calls. --- */

/* The running test's loopback server, or NULL; unit_server_teardown stops it. */
extern hs_server_t *unit_server;

/* Starts unit_server with the n steps st (copied to unit_pool: the server keeps them), listening after delay_ms. */
void unit_serve_steps(const hs_step_t *st, int n, int delay_ms);

/* Starts unit_server doing action for every request (answering raw for HS_REPLY). */
void unit_serve(hs_action_t action, const char *raw);

/* unit_server's URL for path ("/token"). */
const char *unit_server_url(const char *path);

/* Checked fixture: stops unit_server when the test started one, then destroys unit_pool. */
void unit_server_teardown(void);

/* --- An in-memory ap_socache_provider_t for the flow tests. --- */

#define FAKE_CACHE_SLOTS 16

/* One stored object. */
typedef struct {
    int used;
    unsigned char *id;
    unsigned int idlen;
    unsigned char *data;
    unsigned int datalen;
    apr_time_t expiry;
} fake_cache_entry_t;

/* The fake's state: the objects, switches that make an operation fail, and what it was asked. */
struct ap_socache_instance_t {
    apr_pool_t *pool; /* copies of ids and data live here */
    fake_cache_entry_t slot[FAKE_CACHE_SLOTS];
    apr_status_t fail_store;        /* when not APR_SUCCESS, store returns it and keeps nothing */
    apr_status_t fail_retrieve;     /* when not APR_SUCCESS, retrieve returns it */
    apr_status_t fail_remove;       /* when not APR_SUCCESS, remove returns it and deletes nothing */
    int stores, retrieves, removes; /* calls seen, failed ones included */
    apr_time_t last_expiry;         /* the expiry of the last store call */
    char last_id[256];              /* the id of the last store call, as text */
};

/* The fake provider; its store/retrieve/remove act on the instance above. */
extern const ap_socache_provider_t fake_cache_provider;

/* A fresh, empty fake instance allocated in p. */
ap_socache_instance_t *fake_cache_create(apr_pool_t *p);

/* A flow store over the fake instance, without a mutex. */
blinkauth_flow_store_t fake_cache_store(ap_socache_instance_t *inst);

/* How many objects the fake holds (expired ones included). */
int fake_cache_count(const ap_socache_instance_t *inst);

/* Puts an object straight into the fake, bypassing the switches and the counters. */
void fake_cache_put_raw(ap_socache_instance_t *inst, const char *id, const char *data, apr_time_t expiry);

#endif
