/* Unit tests of modules/tokens.c: the copy's JSON, its AES-256-GCM seal under one or two keys, its store key. */
#include <string.h>
#include <apr_strings.h>

#include "unit.h"
#include "tokens.h"
#include "crypto.h"

static unsigned char key_a[BLINKAUTH_KEY_BYTES], key_b[BLINKAUTH_KEY_BYTES];
static const char *store_key; /* (a-1234, u-42) under key_a */

/* Checked fixture: the pool, two keys derived from two secrets, the store key of the sample's user. */
static void setup(void)
{
    unit_setup();
    blinkauth_crypto_key_derive("the-first-token-key-of-32-characters-or-more", key_a);
    blinkauth_crypto_key_derive("the-second-token-key-of-32-characters-or-more", key_b);
    store_key = blinkauth_tokens_store_key(unit_pool, key_a, "a-1234", "u-42");
}

/* A copy with every field set (with_refresh: a refresh token too). */
static blinkauth_token_copy_t sample(int with_refresh)
{
    blinkauth_token_copy_t c = {
        .linked_account_id = "la-7",
        .external_account_id = "alice@example.test",
        .access_token = "at-\"quoted\"-\xc3\xa9-0123456789",
        .refresh_token = with_refresh ? "rt-abcdef" : NULL,
        .expires = APR_INT64_C(1790000000000000),
        .obtained = APR_INT64_C(1789996400123456),
        .synced = 1,
    };
    return c;
}

/* Asserts that got holds the same fields as want. */
static void assert_same_copy(const blinkauth_token_copy_t *got, const blinkauth_token_copy_t *want)
{
    ck_assert_ptr_nonnull(got);
    ck_assert_str_eq(got->linked_account_id, want->linked_account_id);
    ck_assert_str_eq(got->external_account_id, want->external_account_id);
    ck_assert_str_eq(got->access_token, want->access_token);
    ck_assert_pstr_eq(got->refresh_token, want->refresh_token);
    ck_assert(got->expires == want->expires);
    ck_assert(got->obtained == want->obtained);
    ck_assert_int_eq(got->synced, want->synced);
}

/* The sample sealed under key_a for store_key. */
static const char *sealed_sample(void)
{
    blinkauth_token_copy_t c = sample(1);
    const char *sealed = blinkauth_tokens_seal(unit_pool, key_a, store_key, &c);

    ck_assert_ptr_nonnull(sealed);
    return sealed;
}

/* Opens sealed under (key, previous) for aad and asserts it is refused with a reason. */
static void assert_refused(const unsigned char *key, const unsigned char *previous, const char *aad, const char *sealed)
{
    const char *why = NULL;

    ck_assert_msg(blinkauth_tokens_open(unit_pool, key, previous, aad, sealed, &why) == NULL, "opened \"%.60s\"",
                  sealed);
    ck_assert_msg(why != NULL && *why != '\0', "no reason for \"%.60s\"", sealed);
}

START_TEST(test_json_round_trip)
{
    int with_refresh;

    for (with_refresh = 0; with_refresh < 2; with_refresh++) {
        blinkauth_token_copy_t c = sample(with_refresh);
        const char *json = blinkauth_tokens_encode(unit_pool, &c), *why = NULL;

        ck_assert_ptr_nonnull(json);
        ck_assert_int_eq(strstr(json, "refresh_token") != NULL, with_refresh);
        assert_same_copy(blinkauth_tokens_decode(unit_pool, json, strlen(json), &why), &c);
    }
}
END_TEST

START_TEST(test_json_unknown_expiry_and_not_synced)
{
    blinkauth_token_copy_t c = sample(0);
    const char *json, *why = NULL;

    c.expires = 0;
    c.synced = 0;
    json = blinkauth_tokens_encode(unit_pool, &c);
    assert_same_copy(blinkauth_tokens_decode(unit_pool, json, strlen(json), &why), &c);
}
END_TEST

START_TEST(test_encode_missing_field)
{
    blinkauth_token_copy_t c;
    int i;

    for (i = 0; i < 3; i++) {
        c = sample(1);
        if (i == 0)
            c.linked_account_id = NULL;
        else if (i == 1)
            c.external_account_id = NULL;
        else
            c.access_token = NULL;
        ck_assert_msg(blinkauth_tokens_encode(unit_pool, &c) == NULL, "encoded without field %d", i);
    }
    c = sample(1);
    c.access_token = "not \xff UTF-8";
    ck_assert_ptr_null(blinkauth_tokens_encode(unit_pool, &c));
}
END_TEST

START_TEST(test_decode_refuses)
{
    static const char *const bad[] = {
        "",
        "[]",
        "{\"v\":1}",
        /* no access_token */
        "{\"v\":1,\"linked_account_id\":\"l\",\"external_account_id\":\"e\",\"expires\":0,\"obtained\":0,"
        "\"synced\":true}",
        /* another version */
        "{\"v\":2,\"linked_account_id\":\"l\",\"external_account_id\":\"e\",\"access_token\":\"a\",\"expires\":0,"
        "\"obtained\":0,\"synced\":true}",
        /* a member it does not know */
        "{\"v\":1,\"linked_account_id\":\"l\",\"external_account_id\":\"e\",\"access_token\":\"a\",\"expires\":0,"
        "\"obtained\":0,\"synced\":true,\"x\":1}",
        /* a time before 1970 */
        "{\"v\":1,\"linked_account_id\":\"l\",\"external_account_id\":\"e\",\"access_token\":\"a\",\"expires\":-5,"
        "\"obtained\":0,\"synced\":true}",
        /* synced not a boolean */
        "{\"v\":1,\"linked_account_id\":\"l\",\"external_account_id\":\"e\",\"access_token\":\"a\",\"expires\":0,"
        "\"obtained\":0,\"synced\":1}",
    };
    const char *why;
    int i;

    for (i = 0; i < UNIT_COUNT(bad); i++) {
        why = NULL;
        ck_assert_msg(blinkauth_tokens_decode(unit_pool, bad[i], strlen(bad[i]), &why) == NULL, "accepted %s", bad[i]);
        ck_assert_msg(why != NULL && *why != '\0', "no reason for %s", bad[i]);
    }
}
END_TEST

START_TEST(test_seal_round_trip)
{
    blinkauth_token_copy_t c = sample(1);
    const char *why = NULL, *sealed = sealed_sample();

    assert_same_copy(blinkauth_tokens_open(unit_pool, key_a, NULL, store_key, sealed, &why), &c);
    /* The tokens are not readable in the sealed text. */
    ck_assert_ptr_null(strstr(sealed, "rt-abcdef"));
    ck_assert_ptr_null(strstr(sealed, "alice"));
}
END_TEST

START_TEST(test_seal_fresh_iv_each_time)
{
    const char *one = sealed_sample(), *two = sealed_sample();

    ck_assert_str_ne(one, two);
    ck_assert_int_eq(strlen(one), strlen(two));
}
END_TEST

START_TEST(test_open_with_second_key)
{
    /* Sealed under the key that was first before it changed: BlinkAuthTokenKey new old still opens it. */
    blinkauth_token_copy_t c = sample(0), d = sample(1);
    const char *why = NULL, *sealed = blinkauth_tokens_seal(unit_pool, key_b, store_key, &c);

    ck_assert_ptr_nonnull(sealed);
    assert_same_copy(blinkauth_tokens_open(unit_pool, key_a, key_b, store_key, sealed, &why), &c);
    /* And one sealed under the first opens with the second given too. */
    assert_same_copy(blinkauth_tokens_open(unit_pool, key_a, key_b, store_key, sealed_sample(), &why), &d);
}
END_TEST

START_TEST(test_open_wrong_key)
{
    const char *sealed = sealed_sample();

    assert_refused(key_b, NULL, store_key, sealed);
    assert_refused(key_b, key_b, store_key, sealed);
}
END_TEST

START_TEST(test_open_tampered_byte)
{
    const char *sealed = sealed_sample();
    apr_size_t n = strlen(sealed), i;
    char *changed;

    /* Every part: the IV, the ciphertext, the tag (not the last character, whose low bits may be padding that
     * base64url decoding drops: the same bytes). */
    for (i = 0; i < n - 1; i += n / 9) {
        changed = apr_pstrdup(unit_pool, sealed);
        changed[i] = changed[i] == 'A' ? 'B' : 'A';
        assert_refused(key_a, key_b, store_key, changed);
    }
}
END_TEST

START_TEST(test_open_other_aad)
{
    /* A record moved to another user's (or app's) key does not open there. */
    const char *sealed = sealed_sample();

    assert_refused(key_a, key_b, blinkauth_tokens_store_key(unit_pool, key_a, "a-1234", "u-43"), sealed);
    assert_refused(key_a, key_b, blinkauth_tokens_store_key(unit_pool, key_a, "a-9999", "u-42"), sealed);
    assert_refused(key_a, key_b, "", sealed);
}
END_TEST

START_TEST(test_open_truncated)
{
    const char *sealed = sealed_sample();
    apr_size_t n = strlen(sealed);

    assert_refused(key_a, NULL, store_key, apr_pstrmemdup(unit_pool, sealed, n - 1));
    assert_refused(key_a, NULL, store_key, apr_pstrmemdup(unit_pool, sealed, n - 4));
    assert_refused(key_a, NULL, store_key, apr_pstrmemdup(unit_pool, sealed, n / 2));
    /* Shorter than an IV and a tag. */
    assert_refused(key_a, NULL, store_key, apr_pstrmemdup(unit_pool, sealed, 36));
    assert_refused(key_a, NULL, store_key, "");
}
END_TEST

START_TEST(test_open_garbage)
{
    static const char *const garbage[] = {
        "not base64url!",
        "{\"v\":1,\"access_token\":\"a\"}",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "A",
    };
    int i;

    for (i = 0; i < UNIT_COUNT(garbage); i++)
        assert_refused(key_a, key_b, store_key, garbage[i]);
}
END_TEST

START_TEST(test_sealed_json_not_a_copy)
{
    /* A seal that verifies around JSON that is not a copy: refused, with its reason. */
    const char *sealed = blinkauth_crypto_seal(unit_pool, key_a, store_key, "{\"v\":1}", 7);

    assert_refused(key_a, NULL, store_key, sealed);
}
END_TEST

START_TEST(test_store_key)
{
    const char *again = blinkauth_tokens_store_key(unit_pool, key_a, "a-1234", "u-42");

    ck_assert_str_eq(store_key, again);
    ck_assert_int_eq(strncmp(store_key, BLINKAUTH_TOKENS_KEY_PREFIX, strlen(BLINKAUTH_TOKENS_KEY_PREFIX)), 0);
    ck_assert_int_eq(strlen(store_key), strlen(BLINKAUTH_TOKENS_KEY_PREFIX) + BLINKAUTH_RANDOM_B64_LEN);
    ck_assert_ptr_null(strstr(store_key, "u-42"));
    ck_assert_ptr_null(strstr(store_key, "a-1234"));
    ck_assert_str_ne(store_key, blinkauth_tokens_store_key(unit_pool, key_b, "a-1234", "u-42"));
    ck_assert_str_ne(store_key, blinkauth_tokens_store_key(unit_pool, key_a, "a-1234", "u-43"));
    ck_assert_str_ne(store_key, blinkauth_tokens_store_key(unit_pool, key_a, "a-1235", "u-42"));
    /* The pair reads back one way only: ("a-b", "c") is not ("a", "-bc"). */
    ck_assert_str_ne(blinkauth_tokens_store_key(unit_pool, key_a, "a", "-bc"),
                     blinkauth_tokens_store_key(unit_pool, key_a, "a-b", "c"));
}
END_TEST

/* Runs the tokens suite: the copy's JSON, its seal, its store key. */
int main(void)
{
    Suite *s = suite_create("tokens");

    unit_add_tcase(s, "json", setup, NULL,
                   UNIT_TESTS(test_json_round_trip, test_json_unknown_expiry_and_not_synced, test_encode_missing_field,
                              test_decode_refuses));
    unit_add_tcase(s, "seal", setup, NULL,
                   UNIT_TESTS(test_seal_round_trip, test_seal_fresh_iv_each_time, test_open_with_second_key,
                              test_open_wrong_key, test_open_tampered_byte, test_open_other_aad, test_open_truncated,
                              test_open_garbage, test_sealed_json_not_a_copy));
    unit_add_tcase(s, "store key", setup, NULL, UNIT_TESTS(test_store_key));
    return unit_run(s);
}
