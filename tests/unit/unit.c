/* Shared fixtures of the core unit tests: a per-test pool, a suite runner and an in-memory socache. */
#include "unit.h"

#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include <apr_strings.h>

#include "http.h"

apr_pool_t *unit_pool;
hs_server_t *unit_server;

/* Checked fixture: creates unit_pool. */
void unit_setup(void)
{
    ck_assert_int_eq(apr_pool_create(&unit_pool, NULL), APR_SUCCESS);
}

/* Checked fixture: destroys unit_pool. */
void unit_teardown(void)
{
    apr_pool_destroy(unit_pool);
    unit_pool = NULL;
}

/* Adds to suite a test case named name holding the n tests, in that order, with the checked fixture setup and
 * teardown (unit_setup and unit_teardown where NULL); returns the test case. */
TCase *unit_add_tcase(Suite *suite, const char *name, SFun setup, SFun teardown, const TTest *const *tests, int n)
{
    TCase *tc = tcase_create(name);
    int i;

    tcase_add_checked_fixture(tc, setup ? setup : unit_setup, teardown ? teardown : unit_teardown);
    for (i = 0; i < n; i++)
        tcase_add_test(tc, tests[i]);
    suite_add_tcase(suite, tc);
    return tc;
}

/* Runs a suite with APR initialised; the process exit status (0 when every test passed). */
int unit_run(Suite *suite)
{
    SRunner *sr;
    int failed;

    apr_initialize();
    sr = srunner_create(suite);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    apr_terminate();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* unit_run with libcurl initialised the way post_config does it (blinkauth_http_global_init), for the suites that
 * make HTTP calls. */
int unit_run_http(Suite *suite)
{
    apr_pool_t *pconf;
    int rc;

    apr_initialize();
    apr_pool_create(&pconf, NULL);
    blinkauth_http_global_init(pconf);
    rc = unit_run(suite);
    apr_pool_destroy(pconf);
    apr_terminate();
    return rc;
}

/* A NUL-terminated string of n copies of c in unit_pool. */
char *unit_filled(apr_size_t n, char c)
{
    char *s = apr_palloc(unit_pool, n + 1);

    memset(s, c, n);
    s[n] = '\0';
    return s;
}

/* Starts unit_server with the n steps st (copied to unit_pool: the server keeps them), listening after delay_ms. */
void unit_serve_steps(const hs_step_t *st, int n, int delay_ms)
{
    unit_server = hs_start(apr_pmemdup(unit_pool, st, n * sizeof(*st)), n, delay_ms);
    ck_assert_ptr_nonnull(unit_server);
}

/* Starts unit_server doing action for every request (answering raw for HS_REPLY). */
void unit_serve(hs_action_t action, const char *raw)
{
    hs_step_t st = {action, raw, 0};

    unit_serve_steps(&st, 1, 0);
}

/* unit_server's URL for path ("/token"). */
const char *unit_server_url(const char *path)
{
    return apr_psprintf(unit_pool, "http://127.0.0.1:%d%s", hs_port(unit_server), path);
}

/* Checked fixture: stops unit_server when the test started one, then destroys unit_pool. */
void unit_server_teardown(void)
{
    if (unit_server)
        hs_stop(unit_server);
    unit_server = NULL;
    unit_teardown();
}

/* The slot holding id, or NULL. */
static fake_cache_entry_t *fake_find(ap_socache_instance_t *inst, const unsigned char *id, unsigned int idlen)
{
    int i;

    for (i = 0; i < FAKE_CACHE_SLOTS; i++) {
        fake_cache_entry_t *e = &inst->slot[i];
        if (e->used && e->idlen == idlen && memcmp(e->id, id, idlen) == 0)
            return e;
    }
    return NULL;
}

/* Stores a copy of id and data in a free slot (or over the same id); APR_ENOSPC when full. */
static apr_status_t fake_keep(ap_socache_instance_t *inst, const unsigned char *id, unsigned int idlen,
                              apr_time_t expiry, const unsigned char *data, unsigned int datalen)
{
    fake_cache_entry_t *e = fake_find(inst, id, idlen);
    int i;

    for (i = 0; e == NULL && i < FAKE_CACHE_SLOTS; i++)
        if (!inst->slot[i].used)
            e = &inst->slot[i];
    if (e == NULL)
        return APR_ENOSPC;
    e->used = 1;
    e->id = apr_pmemdup(inst->pool, id, idlen);
    e->idlen = idlen;
    e->data = apr_pmemdup(inst->pool, data, datalen);
    e->datalen = datalen;
    e->expiry = expiry;
    return APR_SUCCESS;
}

/* socache store: records the call, then fails as told or keeps the object. */
static apr_status_t fake_store(ap_socache_instance_t *inst, server_rec *s, const unsigned char *id, unsigned int idlen,
                               apr_time_t expiry, unsigned char *data, unsigned int datalen, apr_pool_t *pool)
{
    (void)s;
    inst->stores++;
    inst->last_expiry = expiry;
    apr_cpystrn(inst->last_id, apr_pstrmemdup(pool, (const char *)id, idlen), sizeof(inst->last_id));
    if (inst->fail_store != APR_SUCCESS)
        return inst->fail_store;
    return fake_keep(inst, id, idlen, expiry, data, datalen);
}

/* socache retrieve: like shmcb, an expired object is not found and a too small buffer is an error. */
static apr_status_t fake_retrieve(ap_socache_instance_t *inst, server_rec *s, const unsigned char *id,
                                  unsigned int idlen, unsigned char *data, unsigned int *datalen, apr_pool_t *pool)
{
    fake_cache_entry_t *e;

    (void)s, (void)pool;
    inst->retrieves++;
    if (inst->fail_retrieve != APR_SUCCESS)
        return inst->fail_retrieve;
    e = fake_find(inst, id, idlen);
    if (e == NULL || e->expiry <= apr_time_now())
        return APR_NOTFOUND;
    if (e->datalen > *datalen)
        return APR_ENOSPC;
    memcpy(data, e->data, e->datalen);
    *datalen = e->datalen;
    return APR_SUCCESS;
}

/* socache remove: fails as told, else deletes the object (APR_NOTFOUND when there is none). */
static apr_status_t fake_remove(ap_socache_instance_t *inst, server_rec *s, const unsigned char *id, unsigned int idlen,
                                apr_pool_t *pool)
{
    fake_cache_entry_t *e;

    (void)s, (void)pool;
    inst->removes++;
    if (inst->fail_remove != APR_SUCCESS)
        return inst->fail_remove;
    if ((e = fake_find(inst, id, idlen)) == NULL)
        return APR_NOTFOUND;
    e->used = 0;
    return APR_SUCCESS;
}

const ap_socache_provider_t fake_cache_provider = {
    .name = "fake",
    .flags = 0,
    .store = fake_store,
    .retrieve = fake_retrieve,
    .remove = fake_remove,
};

/* A fresh, empty fake instance allocated in p. */
ap_socache_instance_t *fake_cache_create(apr_pool_t *p)
{
    ap_socache_instance_t *inst = apr_pcalloc(p, sizeof(*inst));

    inst->pool = p;
    inst->fail_store = inst->fail_retrieve = inst->fail_remove = APR_SUCCESS;
    return inst;
}

/* A flow store over the fake instance, without a mutex. */
blinkauth_flow_store_t fake_cache_store(ap_socache_instance_t *inst)
{
    blinkauth_flow_store_t store = {.provider = &fake_cache_provider, .instance = inst, .server = NULL, .mutex = NULL};
    return store;
}

/* How many objects the fake holds (expired ones included). */
int fake_cache_count(const ap_socache_instance_t *inst)
{
    int i, n = 0;

    for (i = 0; i < FAKE_CACHE_SLOTS; i++)
        n += inst->slot[i].used;
    return n;
}

/* Puts an object straight into the fake, bypassing the switches and the counters. */
void fake_cache_put_raw(ap_socache_instance_t *inst, const char *id, const char *data, apr_time_t expiry)
{
    ck_assert_int_eq(fake_keep(inst, (const unsigned char *)id, (unsigned int)strlen(id), expiry,
                               (const unsigned char *)data, (unsigned int)strlen(data)),
                     APR_SUCCESS);
}
