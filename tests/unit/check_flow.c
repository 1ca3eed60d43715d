/* Unit tests of modules/flow.c: the record's encoding, and put / take against an in-memory socache. */
#include <pthread.h>
#include <string.h>
#include <unistd.h>
#include <apr_strings.h>
#include <apr_global_mutex.h>

#include "unit.h"
#include "flow.h"
#include "crypto.h"
#include "text.h"

#define TTL apr_time_from_sec(600)
/* The state of the handle of 43 A's (see test_state_of_handle). */
#define STATE_OF_A43 "fRt6HnorzHNTDnTmpstUIOig7i9NTBM9djXGSgyuh7c"
/* A start handle. */
#define HANDLE "Hq3_b9KpLmHq3_b9KpLmHq3_b9KpLmHq3_b9KpLmHq3"
#define CREATED APR_INT64_C(1700000000123456)
/* A store's name: BLINKAUTH_FLOW_STORE_ID_BYTES bytes. */
#define STORE_ID "sixteen bytes id"

/* The encoding of sample(CREATED). */
#define SAMPLE_JSON                                                                                                    \
    "{\"v\":1,\"user\":\"u-42\",\"auth\":\"a-1234\",\"verifier\":\"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk\","     \
    "\"redirect\":\"https://apps.example.com/blink/callback\",\"created\":1700000000123456}"

static ap_socache_instance_t *cache;
static blinkauth_flow_store_t store;

/* Checked fixture: the pool, and an empty fake socache behind a store without a mutex. */
static void setup(void)
{
    unit_setup();
    cache = fake_cache_create(unit_pool);
    store = fake_cache_store(cache);
}

/* A typical flow record created at created. */
static blinkauth_flow_t sample(apr_time_t created)
{
    blinkauth_flow_t f = {
        .user_id = "u-42",
        .auth_id = "a-1234",
        .verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
        .redirect_uri = "https://apps.example.com/blink/callback",
        .created = created,
    };
    return f;
}

/* Asserts that two flow records are equal field by field. */
static void assert_same_flow(const blinkauth_flow_t *got, const blinkauth_flow_t *want)
{
    ck_assert_ptr_nonnull(got);
    ck_assert_str_eq(got->user_id, want->user_id);
    ck_assert_str_eq(got->auth_id, want->auth_id);
    ck_assert_str_eq(got->verifier, want->verifier);
    ck_assert_str_eq(got->redirect_uri, want->redirect_uri);
    ck_assert_pstr_eq(got->nonce, want->nonce);
    ck_assert_pstr_eq(got->browser, want->browser);
    ck_assert(got->created == want->created);
}

/* Decodes text and asserts it is refused with a reason. */
static void assert_not_a_record(const char *text)
{
    const char *why = NULL;

    ck_assert_msg(blinkauth_flow_decode(unit_pool, text, strlen(text), &why) == NULL, "accepted %s", text);
    ck_assert_msg(why != NULL && *why != '\0', "no reason for %s", text);
}

static blinkauth_flow_t *taken; /* what the last take() took */
static const char *take_why;    /* and the reason it gave */
static blinkauth_flow_t *bound; /* what the last bind_to() or open_as() read */

/* A start URL of the sample's app (Auth ID a-1234, redirect URI path /blink/callback) opened by browser, within
 * open_ttl of the Connect. */
static blinkauth_flow_opener_t opener(const char *browser, apr_interval_time_t open_ttl)
{
    blinkauth_flow_opener_t by = {browser, "a-1234", "/blink/callback", TTL, open_ttl, 0};

    return by;
}

/* Takes the record of state from the store with ttl into taken and take_why (both reset first: take_why to a
 * non-NULL marker, so that a NULL reason is the take's own); returns the status. */
static apr_status_t take(const char *state, apr_interval_time_t ttl)
{
    taken = NULL;
    take_why = "unset";
    return blinkauth_flow_take(&store, unit_pool, state, ttl, NULL, &taken, &take_why);
}

/* Asserts that mutex is not held: it can be locked (and is unlocked again). */
static void assert_unlocked(apr_global_mutex_t *mutex)
{
    ck_assert_int_eq(apr_global_mutex_trylock(mutex), APR_SUCCESS);
    apr_global_mutex_unlock(mutex);
}

/* Puts sample(created) with ttl and returns its state, asserting success. */
static const char *put_sample(apr_time_t created, apr_interval_time_t ttl)
{
    blinkauth_flow_t f = sample(created);
    const char *state = NULL, *handle = NULL;

    ck_assert_int_eq(blinkauth_flow_put(&store, unit_pool, &f, ttl, &handle, &state), APR_SUCCESS);
    ck_assert_ptr_nonnull(state);
    ck_assert_str_eq(state, blinkauth_flow_state_of(unit_pool, handle));
    return state;
}

START_TEST(test_encode)
{
    blinkauth_flow_t f = sample(CREATED);

    ck_assert_str_eq(blinkauth_flow_encode(unit_pool, &f), SAMPLE_JSON);
}
END_TEST

START_TEST(test_encode_missing_field)
{
    blinkauth_flow_t f = sample(CREATED);

    f.user_id = NULL;
    ck_assert_ptr_null(blinkauth_flow_encode(unit_pool, &f));
    f = sample(CREATED);
    f.redirect_uri = NULL;
    ck_assert_ptr_null(blinkauth_flow_encode(unit_pool, &f));
    /* What a start handle carries: no verifier. */
    f = sample(CREATED);
    f.verifier = NULL;
    ck_assert_str_eq(blinkauth_flow_encode(unit_pool, &f),
                     "{\"v\":1,\"user\":\"u-42\",\"auth\":\"a-1234\","
                     "\"redirect\":\"https://apps.example.com/blink/callback\",\"created\":1700000000123456}");
}
END_TEST

START_TEST(test_round_trip)
{
    blinkauth_flow_t f = sample(CREATED);
    const char *why = NULL;
    const char *text;
    blinkauth_flow_t *back;

    f.user_id = "user \"quoted\" caf\xc3\xa9 \\ /";
    f.nonce = "n0nce-\"q\"";
    f.browser = "bRowser_hash-1";
    text = blinkauth_flow_encode(unit_pool, &f);
    back = blinkauth_flow_decode(unit_pool, text, strlen(text), &why);
    assert_same_flow(back, &f);
    ck_assert_ptr_null(why);
}
END_TEST

START_TEST(test_decode_uses_len)
{
    const char *text = SAMPLE_JSON "garbage";
    const char *why = NULL;
    blinkauth_flow_t want = sample(CREATED);

    assert_same_flow(blinkauth_flow_decode(unit_pool, text, strlen(SAMPLE_JSON), &why), &want);
    ck_assert_ptr_null(blinkauth_flow_decode(unit_pool, text, strlen(SAMPLE_JSON) - 1, &why));
}
END_TEST

START_TEST(test_decode_not_json)
{
    const char *why = NULL;

    ck_assert_ptr_null(blinkauth_flow_decode(unit_pool, "not json", 8, &why));
    ck_assert_ptr_nonnull(why);
    ck_assert_int_eq(strncmp(why, "not JSON", 8), 0);
    assert_not_a_record("");
    assert_not_a_record(SAMPLE_JSON " x");
    assert_not_a_record(SAMPLE_JSON SAMPLE_JSON);
}
END_TEST

START_TEST(test_decode_wrong_version)
{
    const char *why = NULL;
    const char *text = "{\"v\":2,\"user\":\"u\",\"auth\":\"a\",\"verifier\":\"v\",\"redirect\":\"r\",\"created\":1}";

    ck_assert_ptr_null(blinkauth_flow_decode(unit_pool, text, strlen(text), &why));
    ck_assert_pstr_eq(why, "not a flow record (version)");
    assert_not_a_record("{\"v\":0,\"user\":\"u\",\"auth\":\"a\",\"verifier\":\"v\",\"redirect\":\"r\",\"created\":1}");
    assert_not_a_record(
        "{\"v\":\"1\",\"user\":\"u\",\"auth\":\"a\",\"verifier\":\"v\",\"redirect\":\"r\",\"created\":1}");
    assert_not_a_record("{\"user\":\"u\",\"auth\":\"a\",\"verifier\":\"v\",\"redirect\":\"r\",\"created\":1}");
}
END_TEST

START_TEST(test_decode_missing_field)
{
    static const char *bad[] = {
        "{\"v\":1,\"auth\":\"a\",\"verifier\":\"v\",\"redirect\":\"r\",\"created\":1}",
        "{\"v\":1,\"user\":\"u\",\"verifier\":\"v\",\"redirect\":\"r\",\"created\":1}",
        "{\"v\":1,\"user\":\"u\",\"auth\":\"a\",\"verifier\":\"v\",\"created\":1}",
        "{\"v\":1,\"user\":\"u\",\"auth\":\"a\",\"verifier\":\"v\",\"redirect\":\"r\"}",
        "{}",
    };
    const char *why = NULL;
    int i;

    for (i = 0; i < UNIT_COUNT(bad); i++)
        assert_not_a_record(bad[i]);
    ck_assert_ptr_null(blinkauth_flow_decode(unit_pool, bad[2], strlen(bad[2]), &why));
    ck_assert_ptr_nonnull(strstr(why, "not a flow record ("));
    ck_assert_ptr_nonnull(strstr(why, "redirect"));
}
END_TEST

START_TEST(test_decode_extra_field)
{
    const char *text =
        "{\"v\":1,\"user\":\"u\",\"auth\":\"a\",\"verifier\":\"v\",\"redirect\":\"r\",\"created\":1,\"admin\":true}";
    const char *why = NULL;

    ck_assert_ptr_null(blinkauth_flow_decode(unit_pool, text, strlen(text), &why));
    ck_assert_ptr_nonnull(why);
    ck_assert_ptr_nonnull(strstr(why, "not a flow record ("));
}
END_TEST

START_TEST(test_decode_wrong_types)
{
    static const char *bad[] = {
        "{\"v\":1,\"user\":5,\"auth\":\"a\",\"verifier\":\"v\",\"redirect\":\"r\",\"created\":1}",
        "{\"v\":1,\"user\":null,\"auth\":\"a\",\"verifier\":\"v\",\"redirect\":\"r\",\"created\":1}",
        "{\"v\":1,\"user\":\"u\",\"auth\":[],\"verifier\":\"v\",\"redirect\":\"r\",\"created\":1}",
        "{\"v\":1,\"user\":\"u\",\"auth\":\"a\",\"verifier\":{},\"redirect\":\"r\",\"created\":1}",
        "{\"v\":1,\"user\":\"u\",\"auth\":\"a\",\"verifier\":\"v\",\"redirect\":true,\"created\":1}",
        "{\"v\":1,\"user\":\"u\",\"auth\":\"a\",\"verifier\":\"v\",\"redirect\":\"r\",\"created\":\"1\"}",
        "{\"v\":1,\"user\":\"u\",\"auth\":\"a\",\"verifier\":\"v\",\"redirect\":\"r\",\"created\":1.5}",
        "{\"v\":1.0,\"user\":\"u\",\"auth\":\"a\",\"verifier\":\"v\",\"redirect\":\"r\",\"created\":1}",
        "[1,\"u\",\"a\",\"v\",\"r\",1]",
        "\"text\"",
        "42",
        "null",
    };
    int i;

    for (i = 0; i < UNIT_COUNT(bad); i++)
        assert_not_a_record(bad[i]);
}
END_TEST

START_TEST(test_decode_duplicate_key)
{
    assert_not_a_record(
        "{\"v\":1,\"user\":\"u\",\"user\":\"evil\",\"auth\":\"a\",\"verifier\":\"v\",\"redirect\":\"r\","
        "\"created\":1}");
}
END_TEST

START_TEST(test_put_then_take)
{
    apr_time_t now = apr_time_now();
    blinkauth_flow_t want = sample(now);
    const char *state = put_sample(now, TTL);

    ck_assert_uint_eq(strlen(state), 43);
    ck_assert(blinkauth_text_is_b64url(state, 43));
    ck_assert_int_eq(fake_cache_count(cache), 1);
    ck_assert_str_eq(cache->last_id, apr_pstrcat(unit_pool, "blinkauth:", state, NULL));
    ck_assert_int_eq(take(state, TTL), APR_SUCCESS);
    assert_same_flow(taken, &want);
    ck_assert_ptr_null(take_why);
    ck_assert_int_eq(fake_cache_count(cache), 0);
    ck_assert_int_eq(cache->removes, 1);
}
END_TEST

/* In a store of our own (shmcb) a key is the bare state followed by dots, as many as the state's third character
 * says (0 to 31): the keys of a put, its start record and its done note all begin with the state and have that many
 * dots, states of other lengths of dots are kept apart, and everything reads back. */
START_TEST(test_bare_keys_vary_in_length)
{
    int lengths[32] = {0}, distinct = 0, i;
    const char *account = NULL;

    for (i = 0; i < 64; i++) {
        const char *state, *handle = NULL, *got_state = NULL, *url = NULL, *why = NULL;
        blinkauth_flow_opener_t by;
        int dots;
        apr_size_t n;

        cache = fake_cache_create(unit_pool); /* a done note stays: an empty cache each time */
        store = fake_cache_store(cache);
        store.bare_keys = 1;
        state = put_sample(apr_time_now(), TTL);
        dots = blinkauth_crypto_b64url_value((unsigned char)state[2]) & 31;
        n = strlen(cache->last_id);
        ck_assert_int_eq(strncmp(cache->last_id, state, 43), 0);
        ck_assert_uint_eq(n, 43 + (apr_size_t)dots);
        ck_assert_uint_eq(strspn(cache->last_id + 43, "."), (apr_size_t)dots);
        if (lengths[dots]++ == 0)
            distinct++;
        handle = blinkauth_crypto_random_token(unit_pool);
        ck_assert_int_eq(blinkauth_flow_start_put(&store, unit_pool, handle, state, "https://idp.example/a", TTL),
                         APR_SUCCESS);
        ck_assert_uint_eq(strlen(cache->last_id),
                          43 + (apr_size_t)(blinkauth_crypto_b64url_value((unsigned char)handle[2]) & 31) + 6);
        by = opener("hash-a", TTL);
        ck_assert_int_eq(blinkauth_flow_open(&store, unit_pool, handle, &by, &got_state, &url, &bound, &why),
                         APR_SUCCESS);
        ck_assert_str_eq(got_state, state);
        ck_assert_int_eq(blinkauth_flow_done_put(&store, unit_pool, state, "hash-a", "alice@example.test", TTL),
                         APR_SUCCESS);
        ck_assert_uint_eq(strlen(cache->last_id), 43 + (apr_size_t)dots + 5);
        ck_assert_int_eq(blinkauth_flow_take(&store, unit_pool, state, TTL, "hash-a", &taken, &take_why), APR_SUCCESS);
        ck_assert_int_eq(blinkauth_flow_done_get(&store, unit_pool, state, "hash-a", &account), APR_SUCCESS);
    }
    /* 64 random states fall on 8 or more of the 32 lengths, but for a chance far below one in a billion. */
    ck_assert_int_ge(distinct, 8);
}
END_TEST

/* A completed flow's note is read back by the browser that completed it, many times, refused to another browser, and
 * sealed like a record: a note of another key is not one. */
START_TEST(test_done_note)
{
    const char *account = NULL;

    ck_assert_int_eq(blinkauth_flow_done_get(&store, unit_pool, "st", "hash-a", &account), APR_NOTFOUND);
    ck_assert_int_eq(blinkauth_flow_done_put(&store, unit_pool, "st", "hash-a", "alice@example.test", TTL),
                     APR_SUCCESS);
    ck_assert_str_eq(cache->last_id, "blinkauth:st.done");
    ck_assert_int_eq(blinkauth_flow_done_get(&store, unit_pool, "st", "hash-a", &account), APR_SUCCESS);
    ck_assert_str_eq(account, "alice@example.test");
    ck_assert_int_eq(blinkauth_flow_done_get(&store, unit_pool, "st", "hash-a", &account), APR_SUCCESS);
    ck_assert_int_eq(blinkauth_flow_done_get(&store, unit_pool, "st", "hash-b", &account), APR_EACCES);
    ck_assert_int_eq(blinkauth_flow_done_get(&store, unit_pool, "other", "hash-a", &account), APR_NOTFOUND);
    /* The note is not a flow record: a take of the state finds none. */
    ck_assert_int_eq(take("st", TTL), APR_NOTFOUND);
    store.sealed = 1;
    memset(store.seal_key, 7, sizeof(store.seal_key));
    ck_assert_int_ne(blinkauth_flow_done_get(&store, unit_pool, "st", "hash-a", &account), APR_SUCCESS);
}
END_TEST

START_TEST(test_put_fresh_state_each_time)
{
    apr_time_t now = apr_time_now();
    const char *s1 = put_sample(now, TTL);
    const char *s2 = put_sample(now, TTL);

    ck_assert_str_ne(s1, s2);
    ck_assert_int_eq(fake_cache_count(cache), 2);
    ck_assert_int_eq(take(s2, TTL), APR_SUCCESS);
    ck_assert_int_eq(take(s1, TTL), APR_SUCCESS);
}
END_TEST

START_TEST(test_take_twice)
{
    const char *state = put_sample(apr_time_now(), TTL);

    ck_assert_int_eq(take(state, TTL), APR_SUCCESS);
    ck_assert_int_eq(take(state, TTL), APR_NOTFOUND);
    ck_assert_ptr_null(take_why);
}
END_TEST

START_TEST(test_take_unknown_state)
{
    put_sample(apr_time_now(), TTL);
    ck_assert_int_eq(take("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", TTL), APR_NOTFOUND);
    ck_assert_ptr_null(take_why);
    ck_assert_int_eq(fake_cache_count(cache), 1);
}
END_TEST

START_TEST(test_take_older_than_ttl)
{
    /* Still in the store (stored for 600 s), but taken with a 10 s budget 20 s after the connect. */
    apr_time_t then = apr_time_now() - apr_time_from_sec(20);
    const char *state = put_sample(then, TTL);

    ck_assert_int_eq(take(state, apr_time_from_sec(10)), APR_TIMEUP);
    ck_assert_int_eq(fake_cache_count(cache), 0); /* used up all the same */
    ck_assert_int_eq(take(state, TTL), APR_NOTFOUND);
}
END_TEST

START_TEST(test_take_within_ttl)
{
    apr_time_t then = apr_time_now() - apr_time_from_sec(5);
    const char *state = put_sample(then, TTL);

    ck_assert_int_eq(take(state, apr_time_from_sec(10)), APR_SUCCESS);
    ck_assert(taken->created == then);
}
END_TEST

START_TEST(test_take_expired_in_store)
{
    /* The socache itself drops a record past its expiry: that is "not found". */
    const char *state = put_sample(apr_time_now() - apr_time_from_sec(700), TTL);

    ck_assert_int_eq(take(state, TTL), APR_NOTFOUND);
}
END_TEST

START_TEST(test_store_records_expiry)
{
    put_sample(CREATED, TTL);
    ck_assert(cache->last_expiry == CREATED + TTL);
    put_sample(CREATED, apr_time_from_sec(30));
    ck_assert(cache->last_expiry == CREATED + apr_time_from_sec(30));
    ck_assert_int_eq(cache->stores, 2);
}
END_TEST

START_TEST(test_put_store_failure)
{
    blinkauth_flow_t f = sample(apr_time_now());
    const char *state = "untouched", *handle = "untouched";

    cache->fail_store = APR_ENOSPC;
    ck_assert_int_eq(blinkauth_flow_put(&store, unit_pool, &f, TTL, &handle, &state), APR_ENOSPC);
    ck_assert_str_eq(state, "untouched");
    ck_assert_str_eq(handle, "untouched");
    ck_assert_int_eq(cache->stores, 1);
    ck_assert_int_eq(fake_cache_count(cache), 0);
}
END_TEST

START_TEST(test_put_unencodable)
{
    blinkauth_flow_t f = sample(apr_time_now());
    const char *state = "untouched", *handle = "untouched";

    f.user_id = NULL;
    ck_assert_int_ne(blinkauth_flow_put(&store, unit_pool, &f, TTL, &handle, &state), APR_SUCCESS);
    f = sample(apr_time_now());
    f.verifier = NULL; /* a record is kept with its secrets */
    ck_assert_int_ne(blinkauth_flow_put(&store, unit_pool, &f, TTL, &handle, &state), APR_SUCCESS);
    f = sample(apr_time_now());
    f.redirect_uri = unit_filled(BLINKAUTH_FLOW_MAX, 'r');
    ck_assert_int_ne(blinkauth_flow_put(&store, unit_pool, &f, TTL, &handle, &state), APR_SUCCESS);
    ck_assert_str_eq(state, "untouched");
    ck_assert_int_eq(cache->stores, 0);
}
END_TEST

START_TEST(test_retrieve_failure)
{
    const char *state = put_sample(apr_time_now(), TTL);

    cache->fail_retrieve = APR_EGENERAL;
    ck_assert_int_eq(take(state, TTL), APR_EGENERAL);
    ck_assert_pstr_eq(take_why, "the flow store failed to read");
    ck_assert_int_eq(cache->removes, 0);
    ck_assert_int_eq(fake_cache_count(cache), 1);
    /* A store's own APR_TIMEUP must not reach the callback, which reads it as an expired link. */
    cache->fail_retrieve = APR_TIMEUP;
    ck_assert_int_eq(take(state, TTL), BLINKAUTH_FLOW_UNAVAILABLE);
    /* The store recovers: the record is still there to be taken. */
    cache->fail_retrieve = APR_SUCCESS;
    ck_assert_int_eq(take(state, TTL), APR_SUCCESS);
}
END_TEST

START_TEST(test_remove_failure)
{
    const char *state = put_sample(apr_time_now(), TTL);
    apr_status_t rv;

    cache->fail_remove = APR_EGENERAL;
    rv = take(state, TTL);
    ck_assert_int_ne(rv, APR_SUCCESS);
    ck_assert_int_eq(rv, APR_EGENERAL);
    ck_assert_pstr_eq(take_why, "the flow store failed to delete the record");
    ck_assert_int_eq(cache->removes, 1);
}
END_TEST

START_TEST(test_remove_lost_race)
{
    /* Another server removed the record between our retrieve and remove: it is theirs. */
    const char *state = put_sample(apr_time_now(), TTL);

    cache->fail_remove = APR_NOTFOUND;
    ck_assert_int_eq(take(state, TTL), APR_NOTFOUND);
}
END_TEST

START_TEST(test_take_corrupt_record)
{
    fake_cache_put_raw(cache, "blinkauth:corrupt", "{\"v\":1,", apr_time_now() + TTL);
    ck_assert_int_eq(take("corrupt", TTL), APR_EBADF);
    ck_assert_ptr_nonnull(take_why);
    ck_assert_int_eq(strncmp(take_why, "not JSON", 8), 0);
    ck_assert_int_eq(fake_cache_count(cache), 0);
}
END_TEST

START_TEST(test_take_raw_record)
{
    /* take reads exactly what the socache wrote, with no NUL after it. */
    blinkauth_flow_t want = sample(apr_time_now());

    fake_cache_put_raw(cache, "blinkauth:raw", blinkauth_flow_encode(unit_pool, &want), apr_time_now() + TTL);
    ck_assert_int_eq(take("raw", TTL), APR_SUCCESS);
    assert_same_flow(taken, &want);
}
END_TEST

/* A kept record without a verifier (a start handle's form) is not a flow record: no token request is made without. */
START_TEST(test_take_record_without_verifier)
{
    blinkauth_flow_t f = sample(apr_time_now());

    f.verifier = NULL;
    fake_cache_put_raw(cache, "blinkauth:bare", blinkauth_flow_encode(unit_pool, &f), apr_time_now() + TTL);
    ck_assert_int_eq(take("bare", TTL), APR_EBADF);
    ck_assert_pstr_eq(take_why, "not a flow record (no verifier)");
    ck_assert_int_eq(fake_cache_count(cache), 0);
}
END_TEST

/* Gives store a process mutex of its own (its lock file named after what), as an exclusive store (shmcb) has;
 * returns it. */
static apr_global_mutex_t *exclusive(const char *what)
{
    apr_global_mutex_t *mutex = NULL;
    const char *lockfile = apr_psprintf(unit_pool, "/tmp/blinkauth-check-flow-%s%ld.lock", what, (long)getpid());

    ck_assert_int_eq(apr_global_mutex_create(&mutex, lockfile, APR_LOCK_DEFAULT, unit_pool), APR_SUCCESS);
    store.mutex = mutex;
    return mutex;
}

/* Ends what exclusive() began: asserts mutex is not held, takes it from the store and destroys it. */
static void exclusive_end(apr_global_mutex_t *mutex)
{
    assert_unlocked(mutex);
    store.mutex = NULL;
    apr_global_mutex_destroy(mutex);
}

START_TEST(test_with_mutex_released)
{
    /* With a mutex, every path of put, take and bind leaves it unlocked. */
    apr_global_mutex_t *mutex = exclusive("");
    const char *state;
    blinkauth_flow_opener_t by;
    int removes;

    state = put_sample(apr_time_now(), TTL);
    assert_unlocked(mutex);
    cache->fail_retrieve = APR_EGENERAL;
    ck_assert_int_eq(take(state, TTL), APR_EGENERAL);
    assert_unlocked(mutex);
    cache->fail_retrieve = APR_SUCCESS;
    /* An exclusive store's take writes the spent mark over the record. */
    cache->fail_store = APR_EGENERAL;
    ck_assert_int_eq(take(state, TTL), APR_EGENERAL);
    assert_unlocked(mutex);
    cache->fail_store = APR_SUCCESS;
    ck_assert_int_eq(take(state, TTL), APR_SUCCESS);
    assert_unlocked(mutex);
    /* A bind under the lock stores the bound record over the one it read: no delete. */
    state = put_sample(apr_time_now(), TTL);
    removes = cache->removes;
    by = opener("b", TTL);
    ck_assert_int_eq(blinkauth_flow_bind(&store, unit_pool, state, &by, &bound, &take_why), APR_SUCCESS);
    ck_assert_int_eq(cache->removes, removes);
    ck_assert_str_eq(bound->browser, "b");
    assert_unlocked(mutex);
    /* Refused binds leave it unlocked too: bound already, too old, not found. */
    ck_assert_int_eq(blinkauth_flow_bind(&store, unit_pool, state, &by, &bound, &take_why), APR_EEXIST);
    assert_unlocked(mutex);
    by.open_ttl = 0;
    ck_assert_int_eq(
        blinkauth_flow_bind(&store, unit_pool, put_sample(apr_time_now() - 1000, TTL), &by, &bound, &take_why),
        APR_TIMEUP);
    assert_unlocked(mutex);
    ck_assert_int_eq(blinkauth_flow_bind(&store, unit_pool, "unknown", &by, &bound, &take_why), APR_NOTFOUND);
    assert_unlocked(mutex);
    apr_global_mutex_destroy(mutex);
}
END_TEST

START_TEST(test_probe_tells_outage_from_not_found)
{
    /* apr_redis answers "not found" for a server that does not answer: a store with probe set checks, on that path
     * only, that it can store and read back a probe record. */
    const char *state = put_sample(apr_time_now(), TTL), *s = NULL, *u = NULL;
    blinkauth_flow_opener_t by = opener("b", TTL);

    store.probe = 1;
    ck_assert_int_eq(take(state, TTL), APR_SUCCESS);
    ck_assert_int_eq(cache->stores, 1); /* the put: the happy path asks no probe */
    ck_assert_int_eq(take("unknown", TTL), APR_NOTFOUND);
    ck_assert_int_eq(cache->stores, 2); /* the probe */
    /* The note of a completed connect is read right after such a take: no second probe. */
    ck_assert_int_eq(blinkauth_flow_done_get(&store, unit_pool, "unknown", "b", &s), APR_NOTFOUND);
    ck_assert_int_eq(cache->stores, 2);
    cache->fail_store = APR_ECONNREFUSED;
    ck_assert_int_eq(take("unknown", TTL), BLINKAUTH_FLOW_UNAVAILABLE);
    ck_assert_ptr_nonnull(strstr(take_why, "not answering"));
    ck_assert_int_eq(blinkauth_flow_bind(&store, unit_pool, "unknown", &by, &bound, &s), BLINKAUTH_FLOW_UNAVAILABLE);
    ck_assert_int_eq(blinkauth_flow_open(&store, unit_pool, HANDLE, &by, &s, &u, &bound, &s),
                     BLINKAUTH_FLOW_UNAVAILABLE);
    /* Without probe (shmcb, our own memory), not found is not found. */
    store.probe = 0;
    ck_assert_int_eq(take("unknown", TTL), APR_NOTFOUND);
}
END_TEST

/* What a thread that takes a record while the lock is held got back. */
static apr_status_t locked_out;

/* A thread that takes a record: the test holds the lock meanwhile. */
static void *take_main(void *arg)
{
    locked_out = take((const char *)arg, TTL);
    return NULL;
}

/* Takes state in another thread while this one holds the store's locks; that take's status. */
static apr_status_t take_while_held(const char *state)
{
    pthread_t t;

    if (store.local)
        ck_assert_int_eq(apr_thread_mutex_lock(store.local), APR_SUCCESS);
    else
        ck_assert_int_eq(apr_global_mutex_lock(store.mutex), APR_SUCCESS);
    ck_assert_int_eq(pthread_create(&t, NULL, take_main, (void *)state), 0);
    pthread_join(t, NULL);
    if (store.local)
        apr_thread_mutex_unlock(store.local);
    else
        apr_global_mutex_unlock(store.mutex);
    return locked_out;
}

START_TEST(test_lock_wait_bounded)
{
    /* A lock held longer than lock_wait: the store is unavailable (not "expired"), the record left in place. */
    const char *state = put_sample(apr_time_now(), TTL);
    apr_global_mutex_t *mutex = exclusive("wait-");

    store.lock_wait = apr_time_from_msec(50);
    ck_assert_int_eq(take_while_held(state), BLINKAUTH_FLOW_UNAVAILABLE);
    ck_assert_pstr_eq(take_why, "cannot take the flow store's lock (in BlinkAuthTimeout)");
    /* With a process-local lock (file mutexes), its wait is bounded the same way. */
    ck_assert_int_eq(apr_thread_mutex_create(&store.local, APR_THREAD_MUTEX_TIMED, unit_pool), APR_SUCCESS);
    ck_assert_int_eq(take_while_held(state), BLINKAUTH_FLOW_UNAVAILABLE);
    assert_unlocked(mutex);
    ck_assert_int_eq(take(state, TTL), APR_SUCCESS);
    assert_unlocked(mutex);
    apr_global_mutex_destroy(mutex);
}
END_TEST

/* Checked fixture: as setup, with a store that seals its records under a fixed key. */
static void setup_sealed(void)
{
    unsigned char key[BLINKAUTH_SEAL_KEY_BYTES];

    setup();
    memset(key, 7, sizeof(key));
    ck_assert_int_eq(blinkauth_flow_store_seal_with(&store, key, (const unsigned char *)STORE_ID), APR_SUCCESS);
}

/* The one object the fake holds, as text. */
static const char *only_object(void)
{
    int i;

    ck_assert_int_eq(fake_cache_count(cache), 1);
    for (i = 0; i < FAKE_CACHE_SLOTS; i++)
        if (cache->slot[i].used)
            return apr_pstrmemdup(unit_pool, (const char *)cache->slot[i].data, cache->slot[i].datalen);
    return NULL;
}

/* Replaces the data of the fake's one object with data. */
static void replace_only_object(const char *data)
{
    int i;

    for (i = 0; i < FAKE_CACHE_SLOTS; i++)
        if (cache->slot[i].used) {
            cache->slot[i].data = (unsigned char *)apr_pstrdup(cache->pool, data);
            cache->slot[i].datalen = (unsigned int)strlen(data);
        }
}

START_TEST(test_sealed_round_trip)
{
    blinkauth_flow_t f = sample(apr_time_now());
    const char *state = put_sample(f.created, TTL), *kept = only_object();

    /* "<43 characters of HMAC-SHA256>.<the JSON>" */
    ck_assert_int_eq(strlen(kept) > BLINKAUTH_RANDOM_B64_LEN + 1, 1);
    ck_assert_int_eq(kept[BLINKAUTH_RANDOM_B64_LEN], '.');
    ck_assert_str_eq(kept + BLINKAUTH_RANDOM_B64_LEN + 1, blinkauth_flow_encode(unit_pool, &f));
    ck_assert_int_eq(take(state, TTL), APR_SUCCESS);
    assert_same_flow(taken, &f);
}
END_TEST

START_TEST(test_sealed_tampered_refused)
{
    /* Whoever can write the store must not be able to link an account to another Blink user. */
    static const char *const edits[][2] = {
        {"\"u-42\"", "\"u-99\""}, /* another user, seal kept */
        {".", "x"},               /* no seal */
    };
    int i;

    for (i = 0; i < UNIT_COUNT(edits); i++) {
        const char *state = put_sample(apr_time_now(), TTL), *kept = only_object();
        const char *at = strstr(kept, edits[i][0]);
        char *changed = apr_pstrdup(unit_pool, kept);

        ck_assert_ptr_nonnull(at);
        memcpy(changed + (at - kept), edits[i][1], strlen(edits[i][1]));
        replace_only_object(changed);
        ck_assert_int_eq(take(state, TTL), APR_EBADF);
        ck_assert_ptr_null(taken);
        ck_assert_msg(take_why && strstr(take_why, "seal does not verify"), "why: %s", take_why);
        ck_assert_int_eq(fake_cache_count(cache), 0); /* an altered record goes */
    }
}
END_TEST

START_TEST(test_sealed_other_key_refused)
{
    const char *state = put_sample(apr_time_now(), TTL);

    store.seal_key[0] ^= 1;
    ck_assert_int_eq(take(state, TTL), APR_EBADF);
    ck_assert_ptr_null(taken);
}
END_TEST

START_TEST(test_unsealed_record_refused_by_sealed_store)
{
    blinkauth_flow_t want = sample(apr_time_now());

    fake_cache_put_raw(cache, "blinkauth:raw", blinkauth_flow_encode(unit_pool, &want), apr_time_now() + TTL);
    store.bare_keys = 0;
    ck_assert_int_eq(take("raw", TTL), APR_EBADF);
    ck_assert_ptr_null(taken);
}
END_TEST

/* blinkauth_flow_bind of state to browser within open_ttl of its Connect; sets bound to the flow it read. */
static apr_status_t bind_to(const char *state, const char *browser, apr_interval_time_t open_ttl)
{
    const char *why = NULL;
    blinkauth_flow_opener_t by = opener(browser, open_ttl);

    bound = NULL;
    return blinkauth_flow_bind(&store, unit_pool, state, &by, &bound, &why);
}

START_TEST(test_bind_then_take)
{
    const char *state = put_sample(apr_time_now(), TTL);

    /* Not opened yet: the callback of any browser is refused, and the record stays. */
    ck_assert_int_eq(blinkauth_flow_take(&store, unit_pool, state, TTL, "browser-a", &taken, &take_why), APR_EACCES);
    ck_assert_int_eq(fake_cache_count(cache), 1);
    ck_assert_int_eq(bind_to(state, "browser-a", TTL), APR_SUCCESS);
    ck_assert_str_eq(bound->user_id, "u-42");
    ck_assert_str_eq(bound->browser, "browser-a");
    /* Opened once: a second opening (another browser, or the same link again) is refused. */
    ck_assert_int_eq(bind_to(state, "browser-b", TTL), APR_EEXIST);
    ck_assert_int_eq(blinkauth_flow_take(&store, unit_pool, state, TTL, "browser-b", &taken, &take_why), APR_EACCES);
    ck_assert_int_eq(blinkauth_flow_take(&store, unit_pool, state, TTL, "", &taken, &take_why), APR_EACCES);
    ck_assert_int_eq(fake_cache_count(cache), 1);
    ck_assert_int_eq(blinkauth_flow_take(&store, unit_pool, state, TTL, "browser-a", &taken, &take_why), APR_SUCCESS);
    ck_assert_str_eq(taken->browser, "browser-a");
    ck_assert_int_eq(fake_cache_count(cache), 0);
    ck_assert_int_eq(bind_to(state, "browser-a", TTL), APR_NOTFOUND);
}
END_TEST

START_TEST(test_bind_keeps_expiry)
{
    apr_time_t created = apr_time_now();
    const char *state = put_sample(created, TTL);

    ck_assert_int_eq(bind_to(state, "b", TTL), APR_SUCCESS);
    ck_assert(cache->last_expiry == created + TTL);
}
END_TEST

/* The start URL opens a flow within its own time (BlinkAuthStartTimeout), shorter than the record's: later it is
 * refused and left unbound, so that no callback can use it either. */
START_TEST(test_bind_older_than_open_ttl)
{
    const char *state = put_sample(apr_time_now() - apr_time_from_sec(61), TTL);

    ck_assert_int_eq(bind_to(state, "browser-a", apr_time_from_sec(60)), APR_TIMEUP);
    ck_assert_int_eq(fake_cache_count(cache), 1);
    ck_assert_int_eq(blinkauth_flow_take(&store, unit_pool, state, TTL, "browser-a", &taken, &take_why), APR_EACCES);
    state = put_sample(apr_time_now() - apr_time_from_sec(59), TTL);
    ck_assert_int_eq(bind_to(state, "browser-a", apr_time_from_sec(60)), APR_SUCCESS);
}
END_TEST

/* A start handle's state: the same for the same handle (every server finds the record), another for another handle,
 * 43 base64url characters, and neither the handle itself nor the unprefixed hash other values of a state use. */
START_TEST(test_state_of_handle)
{
    const char *handle = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    const char *state = blinkauth_flow_state_of(unit_pool, handle);

    ck_assert_str_eq(state, blinkauth_flow_state_of(unit_pool, apr_pstrdup(unit_pool, handle)));
    ck_assert_str_ne(state, blinkauth_flow_state_of(unit_pool, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB"));
    ck_assert_uint_eq(strlen(state), 43);
    ck_assert_int_eq(blinkauth_text_is_b64url(state, 43), 1);
    ck_assert_str_ne(state, handle);
    ck_assert_str_ne(state, blinkauth_crypto_sha256_b64url(unit_pool, handle));
    /* base64url(SHA-256("blinkauth-state:" handle)), by an independent tool (printf | openssl dgst | basenc). */
    ck_assert_str_eq(state, STATE_OF_A43);
}
END_TEST

/* blinkauth_flow_open of handle by browser "b" of the sample's app; sets *state and *url. */
static apr_status_t open_as(const char *handle, const char **state, const char **url)
{
    blinkauth_flow_opener_t by = opener("b", TTL);
    const char *why = NULL;

    return blinkauth_flow_open(&store, unit_pool, handle, &by, state, url, &bound, &why);
}

/* Without a lock (Redis, memcached) the start record leads to the flow and works once: its delete is what lets one
 * request on. A handle is no state, and a state no handle. */
START_TEST(test_open_through_start_record)
{
    const char *state = put_sample(apr_time_now(), TTL), *got = NULL, *url = NULL;
    blinkauth_flow_opener_t late = opener("b", apr_time_from_sec(60));

    ck_assert_ptr_null(store.mutex);
    ck_assert_int_eq(blinkauth_flow_start_put(&store, unit_pool, HANDLE, state, "https://idp.example/a?x=1&y=\"", TTL),
                     APR_SUCCESS);
    ck_assert_int_eq(open_as(HANDLE, &got, &url), APR_SUCCESS);
    ck_assert_str_eq(got, state);
    ck_assert_str_eq(url, "https://idp.example/a?x=1&y=\"");
    ck_assert_str_eq(bound->browser, "b");
    ck_assert_int_eq(open_as(HANDLE, &got, &url), APR_NOTFOUND);
    ck_assert_ptr_null(got);
    ck_assert_int_eq(open_as(state, &got, &url), APR_NOTFOUND);
    ck_assert_int_eq(blinkauth_flow_start_put(&store, unit_pool, HANDLE, "s", "u", TTL), APR_SUCCESS);
    ck_assert_int_eq(take(HANDLE, TTL), APR_NOTFOUND);
    /* The start URL's own time holds on this path too: a start record outliving it (its store's expiry is the start
     * timeout, but a clock may differ) leads to a flow too old to open, which stays unbound. */
    state = put_sample(apr_time_now() - apr_time_from_sec(61), TTL);
    ck_assert_int_eq(blinkauth_flow_start_put(&store, unit_pool, HANDLE, state, "https://idp.example/a", TTL),
                     APR_SUCCESS);
    ck_assert_int_eq(blinkauth_flow_open(&store, unit_pool, HANDLE, &late, &got, &url, &bound, &take_why), APR_TIMEUP);
    ck_assert_int_eq(take(state, TTL), APR_SUCCESS);
    ck_assert_ptr_null(taken->browser);
}
END_TEST

/* Without a lock, a flow record under the handle's state is never bound straight from the handle: two requests could
 * both read it unbound. Only a start record opens it. */
START_TEST(test_open_without_lock_needs_start_record)
{
    blinkauth_flow_t f = sample(apr_time_now());
    const char *handle = NULL, *state = NULL, *got = NULL, *url = NULL;

    ck_assert_int_eq(blinkauth_flow_put(&store, unit_pool, &f, TTL, &handle, &state), APR_SUCCESS);
    ck_assert_int_eq(open_as(handle, &got, &url), APR_NOTFOUND);
    ck_assert_int_eq(take(state, TTL), APR_SUCCESS);
    ck_assert_ptr_null(taken->browser);
}
END_TEST

/* In an exclusive store the handle's state finds the one record: opened once (the caller makes the URL), then refused;
 * a start record an earlier version left is still opened, once. */
START_TEST(test_open_exclusive)
{
    apr_global_mutex_t *mutex = exclusive("open-");
    blinkauth_flow_t f = sample(apr_time_now());
    const char *handle = NULL, *state = NULL, *got = NULL, *url = "unset", *earlier;
    int stores;

    ck_assert_int_eq(blinkauth_flow_put(&store, unit_pool, &f, TTL, &handle, &state), APR_SUCCESS);
    stores = cache->stores;
    ck_assert_int_eq(open_as(handle, &got, &url), APR_SUCCESS);
    ck_assert_str_eq(got, state);
    ck_assert_ptr_null(url);
    ck_assert_int_eq(cache->stores, stores + 1); /* the bound record, over the one read */
    ck_assert_int_eq(open_as(handle, &got, &url), APR_EEXIST);
    ck_assert_int_eq(open_as(state, &got, &url), APR_NOTFOUND);
    earlier = put_sample(apr_time_now(), TTL);
    ck_assert_int_eq(blinkauth_flow_start_put(&store, unit_pool, HANDLE, earlier, "https://idp.example/a", TTL),
                     APR_SUCCESS);
    ck_assert_int_eq(open_as(HANDLE, &got, &url), APR_SUCCESS);
    ck_assert_str_eq(got, earlier);
    ck_assert_str_eq(url, "https://idp.example/a");
    ck_assert_int_eq(open_as(HANDLE, &got, &url), APR_NOTFOUND);
    exclusive_end(mutex);
}
END_TEST

/* A flow is opened only under the <Location> it was made under: another Auth ID, or another redirect URI path (a
 * nested <Location> with a start timeout of its own), is refused and leaves the flow unbound. */
START_TEST(test_open_other_location_refused)
{
    const char *state = put_sample(apr_time_now(), TTL), *why = NULL;
    blinkauth_flow_opener_t by = opener("b", TTL);

    by.auth_id = "b-5678";
    ck_assert_int_eq(blinkauth_flow_bind(&store, unit_pool, state, &by, &bound, &why), APR_EACCES);
    ck_assert_msg(strstr(why, "another <Location>") != NULL, "why: %s", why);
    by = opener("b", TTL);
    by.redirect_path = "/blink/quick-start/callback";
    ck_assert_int_eq(blinkauth_flow_bind(&store, unit_pool, state, &by, &bound, &why), APR_EACCES);
    ck_assert_int_eq(bind_to(state, "b", TTL), APR_SUCCESS);
}
END_TEST

START_TEST(test_start_tampered_refused)
{
    const char *state = NULL, *url = NULL;
    char *changed;

    ck_assert_int_eq(blinkauth_flow_start_put(&store, unit_pool, HANDLE, "the-state", "https://idp.example/a", TTL),
                     APR_SUCCESS);
    changed = apr_pstrdup(unit_pool, only_object());
    changed[strlen(changed) - 3] = 'X'; /* https://idp.example/X: a phishing page */
    replace_only_object(changed);
    ck_assert_int_eq(open_as(HANDLE, &state, &url), APR_EBADF);
    ck_assert_ptr_null(state);
}
END_TEST

/* The sealed handle of sample(created) in the store as it is; asserts that sealing it wrote nothing. */
static const char *sealed_handle(apr_time_t created, const char **state)
{
    blinkauth_flow_t f = sample(created);
    const char *handle = NULL;
    int stores = cache->stores;

    ck_assert_int_eq(blinkauth_flow_handle_seal(&store, unit_pool, &f, &handle), APR_SUCCESS);
    ck_assert_int_eq(cache->stores, stores);
    *state = blinkauth_flow_state_of(unit_pool, handle);
    return handle;
}

/* In an exclusive store a Connect writes nothing: its start handle carries the flow, sealed. The first opening keeps
 * the flow bound to its browser; the callback leaves a spent mark in its place, so the start URL cannot bind it again
 * while it could still be opened. */
START_TEST(test_sealed_handle_opens_once)
{
    apr_global_mutex_t *mutex = exclusive("handle-");
    blinkauth_flow_t want = sample(apr_time_now());
    const char *state = NULL, *handle = sealed_handle(want.created, &state), *got = NULL, *url = "unset";
    apr_size_t n = 0;
    unsigned char *bytes = blinkauth_crypto_b64url_decode(unit_pool, handle, &n);

    ck_assert_int_eq(fake_cache_count(cache), 0);
    ck_assert_uint_gt(strlen(handle), BLINKAUTH_RANDOM_B64_LEN);
    ck_assert_uint_le(strlen(handle), BLINKAUTH_FLOW_HANDLE_MAX);
    ck_assert_int_eq(blinkauth_text_is_b64url(handle, BLINKAUTH_FLOW_HANDLE_MAX), 1);
    /* Encrypted: the user cannot be read off the URL. */
    ck_assert_ptr_nonnull(bytes);
    ck_assert_ptr_null(memmem(bytes, n, want.user_id, strlen(want.user_id)));
    ck_assert_str_ne(handle, sealed_handle(want.created, &got)); /* a fresh IV each time */

    ck_assert_int_eq(open_as(handle, &got, &url), APR_SUCCESS);
    ck_assert_str_eq(got, state);
    ck_assert_ptr_null(url);
    /* The verifier is made as the start URL is opened: not the one the sealed flow had. */
    ck_assert_str_ne(bound->verifier, want.verifier);
    ck_assert_uint_eq(strlen(bound->verifier), BLINKAUTH_RANDOM_B64_LEN);
    want.verifier = bound->verifier;
    want.browser = "b";
    assert_same_flow(bound, &want);
    ck_assert_int_eq(fake_cache_count(cache), 1);
    ck_assert(cache->last_expiry == want.created + TTL);
    ck_assert_int_eq(open_as(handle, &got, &url), APR_EEXIST);
    ck_assert_int_eq(blinkauth_flow_take(&store, unit_pool, state, TTL, "other", &taken, &take_why), APR_EACCES);
    ck_assert_int_eq(blinkauth_flow_take(&store, unit_pool, state, TTL, "b", &taken, &take_why), APR_SUCCESS);
    assert_same_flow(taken, &want);
    /* The spent mark: kept until the record would have expired, found by a take as nothing, refused to the link. */
    ck_assert_int_eq(fake_cache_count(cache), 1);
    ck_assert(cache->last_expiry == want.created + TTL);
    ck_assert_int_eq(open_as(handle, &got, &url), APR_EEXIST);
    ck_assert_int_eq(blinkauth_flow_take(&store, unit_pool, state, TTL, "b", &taken, &take_why), APR_NOTFOUND);
    ck_assert_str_eq(take_why, "the connect was completed already");
    exclusive_end(mutex);
}
END_TEST

/* The length of the handle sealed from f. */
static apr_size_t handle_length(const blinkauth_flow_t *f)
{
    const char *handle = NULL;

    ck_assert_int_eq(blinkauth_flow_handle_seal(&store, unit_pool, f, &handle), APR_SUCCESS);
    return strlen(handle);
}

/* A start handle carries no secret: the verifier, nonce and browser a flow may have are not sealed (the handle is as
 * long without them), and the opener makes a fresh verifier, with a nonce when its scope is OpenID Connect's. */
START_TEST(test_sealed_handle_carries_no_secret)
{
    apr_global_mutex_t *mutex = exclusive("secretless-");
    blinkauth_flow_t full = sample(apr_time_now()), bare = full;
    blinkauth_flow_opener_t by = opener("b", TTL);
    const char *handle = NULL, *state = NULL, *url = NULL, *why = NULL, *first;
    blinkauth_flow_t *opened = NULL;

    full.nonce = "the-nonce-of-the-connect";
    full.browser = "browser-of-the-connect";
    bare.verifier = NULL;
    ck_assert_uint_eq(handle_length(&full), handle_length(&bare));
    ck_assert_int_eq(blinkauth_flow_handle_seal(&store, unit_pool, &full, &handle), APR_SUCCESS);
    by.nonce = 1;
    ck_assert_int_eq(blinkauth_flow_open(&store, unit_pool, handle, &by, &state, &url, &opened, &why), APR_SUCCESS);
    ck_assert_str_ne(opened->verifier, full.verifier);
    ck_assert_str_ne(opened->nonce, full.nonce);
    ck_assert_uint_eq(strlen(opened->nonce), BLINKAUTH_RANDOM_B64_LEN);
    ck_assert_str_eq(opened->browser, "b");
    /* Kept as opened: the callback's take gives the same verifier and nonce. */
    ck_assert_int_eq(blinkauth_flow_take(&store, unit_pool, state, TTL, "b", &taken, &take_why), APR_SUCCESS);
    assert_same_flow(taken, opened);
    /* Without OpenID Connect no nonce; and each opening makes a verifier of its own. */
    first = opened->verifier;
    ck_assert_int_eq(blinkauth_flow_handle_seal(&store, unit_pool, &bare, &handle), APR_SUCCESS);
    by.nonce = 0;
    ck_assert_int_eq(blinkauth_flow_open(&store, unit_pool, handle, &by, &state, &url, &opened, &why), APR_SUCCESS);
    ck_assert_ptr_null(opened->nonce);
    ck_assert_str_ne(opened->verifier, first);
    exclusive_end(mutex);
}
END_TEST

/* A handle an earlier version sealed carried the verifier and nonce: it still opens, and gets secrets of its own (its
 * authorization URL is made only now), with a nonce only when the opener's scope asks for one. */
START_TEST(test_sealed_handle_of_earlier_version)
{
    apr_global_mutex_t *mutex = exclusive("earlier-");
    blinkauth_flow_t old = sample(apr_time_now());
    blinkauth_flow_opener_t by = opener("b", TTL);
    const char *json, *handle, *state = NULL, *url = NULL, *why = NULL;
    blinkauth_flow_t *opened = NULL;

    old.nonce = "the-nonce-it-carried";
    json = blinkauth_flow_encode(unit_pool, &old);
    handle = blinkauth_crypto_seal(unit_pool, store.handle_key, "blinkauth-start-handle:1", json, strlen(json));
    ck_assert_int_eq(blinkauth_flow_open(&store, unit_pool, handle, &by, &state, &url, &opened, &why), APR_SUCCESS);
    ck_assert_str_eq(opened->user_id, old.user_id);
    ck_assert_str_ne(opened->verifier, old.verifier);
    ck_assert_ptr_null(opened->nonce);
    ck_assert_int_eq(blinkauth_flow_take(&store, unit_pool, state, TTL, "b", &taken, &take_why), APR_SUCCESS);
    assert_same_flow(taken, opened);
    exclusive_end(mutex);
}
END_TEST

/* In an exclusive store a record that does not verify is of no use, but its state stays taken: a spent mark replaces
 * it, so the start URL that carries the flow cannot store it again. */
START_TEST(test_sealed_handle_unusable_record_spent)
{
    apr_global_mutex_t *mutex = exclusive("unusable-");
    const char *state = NULL, *handle = sealed_handle(apr_time_now(), &state), *got = NULL, *url = NULL;
    char *changed;

    ck_assert_int_eq(open_as(handle, &got, &url), APR_SUCCESS);
    changed = apr_pstrdup(unit_pool, only_object());
    changed[0] = changed[0] == 'A' ? 'B' : 'A'; /* the seal no longer verifies */
    replace_only_object(changed);
    ck_assert_int_eq(blinkauth_flow_take(&store, unit_pool, state, TTL, "b", &taken, &take_why), APR_EBADF);
    ck_assert_msg(take_why && strstr(take_why, "seal does not verify"), "why: %s", take_why);
    ck_assert_str_eq(only_object() + BLINKAUTH_RANDOM_B64_LEN + 1, "{\"v\":1,\"spent\":1}");
    ck_assert_int_eq(open_as(handle, &got, &url), APR_EEXIST);
    exclusive_end(mutex);
}
END_TEST

/* A sealed handle opens only as made: not altered, not under another key, not under another <Location>, not late, and
 * only where a store is exclusive. A refused one keeps nothing. */
START_TEST(test_sealed_handle_refused)
{
    apr_global_mutex_t *mutex = exclusive("refused-");
    const char *state = NULL, *handle = sealed_handle(apr_time_now(), &state), *got = NULL, *url = NULL, *why = NULL;
    char *altered = apr_pstrdup(unit_pool, handle);
    unsigned char other[BLINKAUTH_SEAL_KEY_BYTES];
    blinkauth_flow_opener_t by = opener("b", TTL);

    altered[strlen(altered) / 2] = altered[strlen(altered) / 2] == 'A' ? 'B' : 'A';
    ck_assert_int_eq(open_as(altered, &got, &url), APR_EBADF);
    ck_assert_ptr_null(bound);
    ck_assert_int_eq(open_as(apr_pstrndup(unit_pool, handle, strlen(handle) - 4), &got, &url), APR_EBADF);
    by.auth_id = "b-5678";
    ck_assert_int_eq(blinkauth_flow_open(&store, unit_pool, handle, &by, &got, &url, &bound, &why), APR_EACCES);
    ck_assert_msg(strstr(why, "another <Location>") != NULL, "why: %s", why);
    by = opener("b", TTL);
    by.redirect_path = "/blink/quick-start/callback";
    ck_assert_int_eq(blinkauth_flow_open(&store, unit_pool, handle, &by, &got, &url, &bound, &why), APR_EACCES);
    /* Late: after the start URL's own time, or after the record's (a start timeout longer than the state's). */
    handle = sealed_handle(apr_time_now() - apr_time_from_sec(61), &state);
    by = opener("b", apr_time_from_sec(60));
    ck_assert_int_eq(blinkauth_flow_open(&store, unit_pool, handle, &by, &got, &url, &bound, &why), APR_TIMEUP);
    by.open_ttl = TTL;
    by.ttl = apr_time_from_sec(30);
    ck_assert_int_eq(blinkauth_flow_open(&store, unit_pool, handle, &by, &got, &url, &bound, &why), APR_TIMEUP);
    ck_assert_int_eq(fake_cache_count(cache), 0);
    /* In another store, though it has the same key (another server's shmcb, or a new one after a stop and start). */
    handle = sealed_handle(apr_time_now(), &state);
    memcpy(other, store.seal_key, sizeof(other));
    ck_assert_int_eq(blinkauth_flow_store_seal_with(&store, other, (const unsigned char *)"another store id"),
                     APR_SUCCESS);
    ck_assert_int_eq(open_as(handle, &got, &url), APR_EBADF);
    ck_assert_int_eq(blinkauth_flow_store_seal_with(&store, other, (const unsigned char *)STORE_ID), APR_SUCCESS);
    ck_assert_int_eq(open_as(handle, &got, &url), APR_SUCCESS);
    /* Under another key (another BlinkAuthStateKey). */
    handle = sealed_handle(apr_time_now(), &state);
    memset(other, 8, sizeof(other));
    ck_assert_int_eq(blinkauth_flow_store_seal_with(&store, other, (const unsigned char *)STORE_ID), APR_SUCCESS);
    ck_assert_int_eq(open_as(handle, &got, &url), APR_EBADF);
    /* Without a lock (Redis, memcached): two requests could both find nothing and keep the flow. */
    store.mutex = NULL;
    ck_assert_int_eq(open_as(sealed_handle(apr_time_now(), &state), &got, &url), APR_EBADF);
    ck_assert_int_eq(fake_cache_count(cache), 1); /* the one opened in its own store */
    apr_global_mutex_destroy(mutex);
}
END_TEST

/* Runs the flow suite: the record's codec, and put / take against the fake socache. */
int main(void)
{
    Suite *s = suite_create("flow");

    unit_add_tcase(s, "codec", NULL, NULL,
                   UNIT_TESTS(test_encode, test_encode_missing_field, test_round_trip, test_decode_uses_len,
                              test_decode_not_json, test_decode_wrong_version, test_decode_missing_field,
                              test_decode_extra_field, test_decode_wrong_types, test_decode_duplicate_key));
    unit_add_tcase(
        s, "socache", setup, NULL,
        UNIT_TESTS(test_put_then_take, test_bare_keys_vary_in_length, test_done_note, test_put_fresh_state_each_time,
                   test_take_twice, test_take_unknown_state, test_take_older_than_ttl, test_take_within_ttl,
                   test_take_expired_in_store, test_store_records_expiry, test_put_store_failure, test_put_unencodable,
                   test_retrieve_failure, test_remove_failure, test_remove_lost_race, test_take_corrupt_record,
                   test_take_raw_record, test_take_record_without_verifier, test_with_mutex_released,
                   test_probe_tells_outage_from_not_found, test_lock_wait_bounded));
    unit_add_tcase(s, "sealed", setup_sealed, NULL,
                   UNIT_TESTS(test_sealed_round_trip, test_sealed_tampered_refused, test_sealed_other_key_refused,
                              test_unsealed_record_refused_by_sealed_store, test_bind_then_take, test_bind_keeps_expiry,
                              test_bind_older_than_open_ttl, test_state_of_handle, test_open_through_start_record,
                              test_open_without_lock_needs_start_record, test_open_exclusive,
                              test_open_other_location_refused, test_start_tampered_refused,
                              test_sealed_handle_opens_once, test_sealed_handle_refused,
                              test_sealed_handle_unusable_record_spent, test_sealed_handle_carries_no_secret,
                              test_sealed_handle_of_earlier_version));
    return unit_run(s);
}
