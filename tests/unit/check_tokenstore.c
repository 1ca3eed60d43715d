/* Unit tests of modules/tokenstore.c: copies kept, read, dropped in an in-memory socache, and the refresh lease. */
#include <string.h>
#include <apr_strings.h>

#include "unit.h"
#include "tokenstore.h"
#include "crypto.h"

#define AUTH "a-1234"
#define USER "u-42"

static ap_socache_instance_t *cache;
static blinkauth_flow_store_t store;
static unsigned char key_a[BLINKAUTH_KEY_BYTES], key_b[BLINKAUTH_KEY_BYTES];
static blinkauth_token_keys_t keys;     /* key_a alone */
static blinkauth_token_keys_t rotating; /* key_b, then key_a as the previous */

/* Checked fixture: the pool, an empty fake socache behind a store of the shared kind (full keys), the keys. */
static void setup(void)
{
    unit_setup();
    cache = fake_cache_create(unit_pool);
    store = fake_cache_store(cache);
    blinkauth_crypto_key_derive("the-first-token-key-of-32-characters-or-more", key_a);
    blinkauth_crypto_key_derive("the-second-token-key-of-32-characters-or-more", key_b);
    keys.key = key_a;
    keys.previous = NULL;
    rotating.key = key_b;
    rotating.previous = key_a;
}

/* A copy of the sample user's tokens. */
static blinkauth_token_copy_t sample(const char *access_token)
{
    blinkauth_token_copy_t c = {
        .linked_account_id = "la-7",
        .external_account_id = "alice@example.test",
        .access_token = access_token,
        .refresh_token = "rt-1",
        .expires = APR_INT64_C(1790000000000000),
        .obtained = APR_INT64_C(1789996400000000),
        .synced = 1,
    };
    return c;
}

/* Puts the sample copy with access_token for USER under k, asserting success. */
static void put(const blinkauth_token_keys_t *k, const char *access_token)
{
    blinkauth_token_copy_t c = sample(access_token);
    const char *why = NULL;

    ck_assert_int_eq(blinkauth_tokenstore_put(&store, unit_pool, k, AUTH, USER, &c, &why), APR_SUCCESS);
}

/* Gets USER's copy under k; returns the status, the copy into *copy. */
static apr_status_t get(const blinkauth_token_keys_t *k, blinkauth_token_copy_t **copy, const char **why)
{
    *why = NULL;
    return blinkauth_tokenstore_get(&store, unit_pool, k, AUTH, USER, copy, why);
}

/* The id of the fake's one object, as text. */
static const char *only_id(void)
{
    int i;

    ck_assert_int_eq(fake_cache_count(cache), 1);
    for (i = 0; i < FAKE_CACHE_SLOTS; i++)
        if (cache->slot[i].used)
            return apr_pstrmemdup(unit_pool, (const char *)cache->slot[i].id, cache->slot[i].idlen);
    return NULL;
}

/* The data the fake holds under id, as text, or NULL. */
static const char *data_of(const char *id)
{
    int i;

    for (i = 0; i < FAKE_CACHE_SLOTS; i++)
        if (cache->slot[i].used && cache->slot[i].idlen == strlen(id) && memcmp(cache->slot[i].id, id, strlen(id)) == 0)
            return apr_pstrmemdup(unit_pool, (const char *)cache->slot[i].data, cache->slot[i].datalen);
    return NULL;
}

START_TEST(test_put_then_get)
{
    blinkauth_token_copy_t *copy = NULL;
    const char *why, *id;

    put(&keys, "at-1");
    ck_assert_int_eq(get(&keys, &copy, &why), APR_SUCCESS);
    ck_assert_str_eq(copy->access_token, "at-1");
    ck_assert_str_eq(copy->refresh_token, "rt-1");
    /* Kept under the store key in a shared store, sealed: neither the user nor a token can be read there. */
    id = only_id();
    ck_assert_str_eq(id, blinkauth_tokens_store_key(unit_pool, key_a, AUTH, USER));
    ck_assert_ptr_null(strstr(data_of(id), "at-1"));
    ck_assert(cache->last_expiry > apr_time_now() + BLINKAUTH_TOKENSTORE_TTL - apr_time_from_sec(60));
    /* A second put replaces the copy. */
    put(&keys, "at-2");
    ck_assert_int_eq(get(&keys, &copy, &why), APR_SUCCESS);
    ck_assert_str_eq(copy->access_token, "at-2");
    ck_assert_int_eq(fake_cache_count(cache), 1);
}
END_TEST

START_TEST(test_bare_name_in_own_store)
{
    /* shmcb (our own memory) spreads records by their first byte: the copy is kept under its name alone. */
    blinkauth_token_copy_t *copy = NULL;
    const char *why;

    store.bare_keys = 1;
    put(&keys, "at-1");
    ck_assert_str_eq(only_id(),
                     blinkauth_tokens_store_key(unit_pool, key_a, AUTH, USER) + strlen(BLINKAUTH_TOKENS_KEY_PREFIX));
    ck_assert_int_eq(get(&keys, &copy, &why), APR_SUCCESS);
    ck_assert_str_eq(copy->access_token, "at-1");
}
END_TEST

START_TEST(test_get_none)
{
    blinkauth_token_copy_t *copy = (blinkauth_token_copy_t *)1;
    const char *why;

    ck_assert_int_eq(get(&keys, &copy, &why), APR_NOTFOUND);
    ck_assert_ptr_null(copy);
    ck_assert_int_eq(get(&rotating, &copy, &why), APR_NOTFOUND);
}
END_TEST

START_TEST(test_other_user_and_app)
{
    blinkauth_token_copy_t *copy = NULL;
    const char *why = NULL;

    put(&keys, "at-1");
    ck_assert_int_eq(blinkauth_tokenstore_get(&store, unit_pool, &keys, AUTH, "u-43", &copy, &why), APR_NOTFOUND);
    ck_assert_int_eq(blinkauth_tokenstore_get(&store, unit_pool, &keys, "a-9", USER, &copy, &why), APR_NOTFOUND);
}
END_TEST

START_TEST(test_moved_record_refused)
{
    /* Whoever can write the store copies a user's record to another user's key: it does not open there. */
    blinkauth_token_copy_t *copy = NULL;
    const char *why = NULL, *theirs;

    put(&keys, "at-1");
    theirs = data_of(blinkauth_tokens_store_key(unit_pool, key_a, AUTH, USER));
    fake_cache_put_raw(cache, blinkauth_tokens_store_key(unit_pool, key_a, AUTH, "u-evil"), theirs,
                       apr_time_now() + apr_time_from_sec(60));
    ck_assert_int_eq(blinkauth_tokenstore_get(&store, unit_pool, &keys, AUTH, "u-evil", &copy, &why), APR_EBADF);
    ck_assert_ptr_null(copy);
    ck_assert_ptr_nonnull(why);
}
END_TEST

START_TEST(test_wrong_key_refused)
{
    /* A copy sealed under a key this server no longer has (and named under it): found under the name, refused. */
    blinkauth_token_keys_t other = {key_b, NULL};
    blinkauth_token_copy_t *copy = NULL;
    const char *why;

    put(&keys, "at-1");
    fake_cache_put_raw(cache, blinkauth_tokens_store_key(unit_pool, key_b, AUTH, USER), "garbage",
                       apr_time_now() + apr_time_from_sec(60));
    ck_assert_int_eq(get(&other, &copy, &why), APR_EBADF);
    ck_assert_ptr_nonnull(strstr(why, "does not verify"));
}
END_TEST

START_TEST(test_rotation)
{
    /* BlinkAuthTokenKey b a: the copy named and sealed under a is still read; the next put names it under b and
     * drops the old one. */
    blinkauth_token_copy_t *copy = NULL;
    const char *why;

    put(&keys, "at-1");
    ck_assert_int_eq(get(&rotating, &copy, &why), APR_SUCCESS);
    ck_assert_str_eq(copy->access_token, "at-1");
    put(&rotating, "at-2");
    ck_assert_str_eq(only_id(), blinkauth_tokens_store_key(unit_pool, key_b, AUTH, USER));
    ck_assert_int_eq(get(&rotating, &copy, &why), APR_SUCCESS);
    ck_assert_str_eq(copy->access_token, "at-2");
    /* Once a is dropped from the directive, the copy is still read. */
    rotating.previous = NULL;
    ck_assert_int_eq(get(&rotating, &copy, &why), APR_SUCCESS);
}
END_TEST

START_TEST(test_remove)
{
    blinkauth_token_copy_t *copy = NULL;
    const char *why = NULL;

    put(&keys, "at-1");
    ck_assert_int_eq(blinkauth_tokenstore_remove(&store, unit_pool, &keys, AUTH, USER, &why), APR_SUCCESS);
    ck_assert_int_eq(fake_cache_count(cache), 0);
    ck_assert_int_eq(get(&keys, &copy, &why), APR_NOTFOUND);
    ck_assert_int_eq(blinkauth_tokenstore_remove(&store, unit_pool, &keys, AUTH, USER, &why), APR_NOTFOUND);
    /* While rotating, the copy named under the previous key goes too. */
    put(&keys, "at-1");
    ck_assert_int_eq(blinkauth_tokenstore_remove(&store, unit_pool, &rotating, AUTH, USER, &why), APR_SUCCESS);
    ck_assert_int_eq(fake_cache_count(cache), 0);
}
END_TEST

START_TEST(test_store_failures)
{
    blinkauth_token_copy_t c = sample("at-1"), *copy = NULL;
    const char *why = NULL;

    put(&keys, "at-1");
    cache->fail_retrieve = APR_EGENERAL;
    ck_assert_int_eq(get(&keys, &copy, &why), APR_EGENERAL);
    ck_assert_str_eq(why, "the token cache failed to read");
    cache->fail_store = APR_ECONNREFUSED;
    why = NULL;
    ck_assert_int_eq(blinkauth_tokenstore_put(&store, unit_pool, &keys, AUTH, USER, &c, &why), APR_ECONNREFUSED);
    ck_assert_ptr_nonnull(why);
    cache->fail_remove = APR_ECONNREFUSED;
    why = NULL;
    ck_assert_int_eq(blinkauth_tokenstore_remove(&store, unit_pool, &keys, AUTH, USER, &why), APR_ECONNREFUSED);
    ck_assert_ptr_nonnull(why);
}
END_TEST

START_TEST(test_probe_tells_outage_from_none)
{
    /* A network store that does not answer reports "not found": a probe tells that apart. */
    blinkauth_token_copy_t *copy = NULL;
    const char *why;

    store.probe = 1;
    ck_assert_int_eq(get(&keys, &copy, &why), APR_NOTFOUND);
    cache->fail_store = APR_ECONNREFUSED;
    ck_assert_int_eq(get(&keys, &copy, &why), BLINKAUTH_FLOW_UNAVAILABLE);
    ck_assert_ptr_nonnull(strstr(why, "not answering"));
}
END_TEST

START_TEST(test_put_refuses_what_it_cannot_keep)
{
    blinkauth_token_copy_t c = sample("at-1");
    const char *why = NULL;

    c.linked_account_id = NULL;
    ck_assert_int_eq(blinkauth_tokenstore_put(&store, unit_pool, &keys, AUTH, USER, &c, &why), APR_EGENERAL);
    c = sample(unit_filled(BLINKAUTH_TOKENSTORE_MAX, 'x'));
    ck_assert_int_eq(blinkauth_tokenstore_put(&store, unit_pool, &keys, AUTH, USER, &c, &why), APR_ENOSPC);
    ck_assert_int_eq(cache->stores, 0);
    /* A long one that fits (two 8 KB tokens) is kept. */
    c = sample(unit_filled(8192, 'x'));
    c.refresh_token = unit_filled(8192, 'y');
    ck_assert_int_eq(blinkauth_tokenstore_put(&store, unit_pool, &keys, AUTH, USER, &c, &why), APR_SUCCESS);
}
END_TEST

/* --- The lease. */

static const char *lease_key; /* the id of USER's lease in the fake */

/* Checked fixture: setup, and the id of the sample user's lease. */
static void setup_lease(void)
{
    setup();
    lease_key = apr_pstrcat(unit_pool, "lease:", blinkauth_tokens_store_key(unit_pool, key_a, AUTH, USER), NULL);
}

/* Claims USER's lease waiting at most wait_ms; returns the status, our value into *lease. */
static apr_status_t lease(int wait_ms, const char **lease_out)
{
    const char *why = NULL;

    *lease_out = NULL;
    return blinkauth_tokenstore_lease(&store, unit_pool, &keys, AUTH, USER, apr_time_from_msec(wait_ms),
                                      apr_time_from_sec(30), lease_out, &why);
}

/* Puts another server's lease, ending end_ms from now, the fake keeping it keep_ms. */
static void other_lease(int end_ms, int keep_ms)
{
    fake_cache_put_raw(
        cache, lease_key,
        apr_psprintf(unit_pool, "other-server.%" APR_TIME_T_FMT, apr_time_now() + apr_time_from_msec(end_ms)),
        apr_time_now() + apr_time_from_msec(keep_ms));
}

START_TEST(test_lease_free)
{
    const char *ours = NULL, *held;

    ck_assert_int_eq(lease(0, &ours), APR_SUCCESS);
    ck_assert_ptr_nonnull(ours);
    held = data_of(lease_key);
    ck_assert_ptr_nonnull(held);
    ck_assert_int_eq(strncmp(held, ours, strlen(ours)), 0);
    ck_assert_int_eq(held[strlen(ours)], '.');
    ck_assert(cache->last_expiry > apr_time_now() + apr_time_from_sec(20));
    /* Read, store, read back. */
    ck_assert_int_eq(cache->stores, 1);
    ck_assert_int_eq(cache->retrieves, 2);
}
END_TEST

START_TEST(test_lease_held_by_another)
{
    const char *ours = NULL;

    other_lease(60000, 60000);
    ck_assert_int_eq(lease(60, &ours), APR_TIMEUP);
    ck_assert_ptr_null(ours);
    ck_assert_int_eq(cache->stores, 0);
    ck_assert_int_ge(cache->retrieves, 2); /* it looked again before giving up */
    ck_assert_int_eq(strncmp(data_of(lease_key), "other-server.", 13), 0);
}
END_TEST

START_TEST(test_lease_taken_when_the_other_goes)
{
    /* The other server's lease goes (released, or its time in the store ends) while we wait: ours then. */
    const char *ours = NULL;

    other_lease(60000, 100);
    ck_assert_int_eq(lease(5000, &ours), APR_SUCCESS);
    ck_assert_ptr_nonnull(ours);
    ck_assert_int_eq(cache->stores, 1);
}
END_TEST

START_TEST(test_lease_past_its_end)
{
    /* A store that keeps a lease longer than asked (memcached through older httpds ignores the expiry): a lease past
     * the end it holds counts as none. */
    const char *ours = NULL;

    other_lease(-1000, 60000);
    ck_assert_int_eq(lease(0, &ours), APR_SUCCESS);
    ck_assert_ptr_nonnull(ours);
}
END_TEST

/* The fake's retrieve, and the number of the retrieve (from 1) just before which another server writes its lease. */
static apr_status_t (*real_retrieve)(ap_socache_instance_t *, server_rec *, const unsigned char *, unsigned int,
                                     unsigned char *, unsigned int *, apr_pool_t *);
static int race_at;
static ap_socache_provider_t racing_provider;

/* The fake's retrieve, but before retrieve number race_at another server's lease replaces ours: it read "none"
 * when we did, and wrote after us. */
static apr_status_t racing_retrieve(ap_socache_instance_t *inst, server_rec *s, const unsigned char *id,
                                    unsigned int idlen, unsigned char *data, unsigned int *datalen, apr_pool_t *p)
{
    if (inst->retrieves + 1 == race_at)
        other_lease(200, 200);
    return real_retrieve(inst, s, id, idlen, data, datalen, p);
}

START_TEST(test_lease_lost_race)
{
    const char *ours = NULL;

    real_retrieve = fake_cache_provider.retrieve;
    racing_provider = fake_cache_provider;
    racing_provider.retrieve = racing_retrieve;
    store.provider = &racing_provider;
    /* The other writes between our write and our read-back: the read-back sees theirs, and we wait. */
    race_at = 2;
    ck_assert_int_eq(lease(0, &ours), APR_TIMEUP);
    ck_assert_int_eq(cache->stores, 1);
    /* With time to wait, we claim it once theirs is gone, and read back ours. */
    cache->retrieves = 0;
    ck_assert_int_eq(lease(5000, &ours), APR_SUCCESS);
    ck_assert_ptr_nonnull(ours);
    ck_assert_int_eq(strncmp(data_of(lease_key), ours, strlen(ours)), 0);
}
END_TEST

START_TEST(test_lease_release)
{
    const char *ours = NULL, *why = NULL;

    ck_assert_int_eq(lease(0, &ours), APR_SUCCESS);
    ck_assert_int_eq(blinkauth_tokenstore_lease_release(&store, unit_pool, &keys, AUTH, USER, "someone-else", &why),
                     APR_NOTFOUND);
    ck_assert_ptr_nonnull(data_of(lease_key));
    ck_assert_int_eq(blinkauth_tokenstore_lease_release(&store, unit_pool, &keys, AUTH, USER, ours, &why), APR_SUCCESS);
    ck_assert_ptr_null(data_of(lease_key));
    /* Another server's lease is left alone. */
    other_lease(60000, 60000);
    ck_assert_int_eq(blinkauth_tokenstore_lease_release(&store, unit_pool, &keys, AUTH, USER, ours, &why),
                     APR_NOTFOUND);
    ck_assert_ptr_nonnull(data_of(lease_key));
}
END_TEST

START_TEST(test_lease_store_failure)
{
    const char *ours = NULL, *why = NULL;

    cache->fail_store = APR_ECONNREFUSED;
    ck_assert_int_eq(lease(1000, &ours), APR_ECONNREFUSED);
    cache->fail_store = APR_SUCCESS;
    cache->fail_retrieve = APR_EGENERAL;
    ck_assert_int_eq(lease(1000, &ours), APR_EGENERAL);
    ck_assert_int_eq(blinkauth_tokenstore_lease_release(&store, unit_pool, &keys, AUTH, USER, "x", &why), APR_EGENERAL);
}
END_TEST

/* Runs the token store suite against the fake socache. */
int main(void)
{
    Suite *s = suite_create("tokenstore");

    unit_add_tcase(s, "copies", setup, NULL,
                   UNIT_TESTS(test_put_then_get, test_bare_name_in_own_store, test_get_none, test_other_user_and_app,
                              test_moved_record_refused, test_wrong_key_refused, test_rotation, test_remove,
                              test_store_failures, test_probe_tells_outage_from_none,
                              test_put_refuses_what_it_cannot_keep));
    unit_add_tcase(s, "lease", setup_lease, NULL,
                   UNIT_TESTS(test_lease_free, test_lease_held_by_another, test_lease_taken_when_the_other_goes,
                              test_lease_past_its_end, test_lease_lost_race, test_lease_release,
                              test_lease_store_failure));
    return unit_run(s);
}
