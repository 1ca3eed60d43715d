/* Unit tests of modules/linked.c: expiry text both ways, which account acts for an app, when a token is fresh. */
#include <string.h>
#include <limits.h>
#include <apr_strings.h>

#include "unit.h"
#include "linked.h"

/* 2026-11-30T18:00:00Z as apr_time_t. */
#define T0 (apr_time_from_sec(1796061600))

START_TEST(test_expiry_parse)
{
    static const struct {
        const char *text;
        apr_time_t at;
    } cases[] = {
        {"2026-11-30T18:00:00Z", T0},      {"2026-11-30T18:00:00z", T0},
        {"2026-11-30T18:00:00.123Z", T0},  {"2026-11-30T19:30:00+01:30", T0},
        {"2026-11-30T16:00:00-02:00", T0}, {"1970-01-01T00:00:01Z", APR_USEC_PER_SEC},
    };
    static const char *bad[] = {"",
                                "2026-11-30",
                                "2026-11-30 18:00:00Z",
                                "2026-11-30T18:00:00",
                                "2026-13-30T18:00:00Z",
                                "2026-11-30T24:00:00Z",
                                "2026-11-30T18:00:00+1:00",
                                "2026-11-30T18:00:00Zjunk",
                                "+2026-11-30T18:00:00Z",
                                "1970-01-01T00:00:00Z",
                                "2026-11-30T18:00:00.Z.Z"};
    int i;

    for (i = 0; i < UNIT_COUNT(cases); i++)
        ck_assert_msg(blinkauth_linked_expiry_parse(cases[i].text) == cases[i].at, "%s", cases[i].text);
    for (i = 0; i < UNIT_COUNT(bad); i++)
        ck_assert_msg(blinkauth_linked_expiry_parse(bad[i]) == 0, "'%s' was taken", bad[i]);
    ck_assert(blinkauth_linked_expiry_parse(NULL) == 0);
}
END_TEST

START_TEST(test_expiry_text_and_expires)
{
    ck_assert_pstr_eq(blinkauth_linked_expiry_text(unit_pool, T0), "2026-11-30T18:00:00Z");
    ck_assert_ptr_null(blinkauth_linked_expiry_text(unit_pool, 0));
    ck_assert(blinkauth_linked_expiry_parse(blinkauth_linked_expiry_text(unit_pool, T0 + 7)) == T0);
    ck_assert(blinkauth_linked_expires(60, T0) == T0 + apr_time_from_sec(60));
    ck_assert(blinkauth_linked_expires(0, T0) == T0);
    ck_assert(blinkauth_linked_expires(-1, T0) == 0);
    ck_assert(blinkauth_linked_expires(LONG_MAX, T0) == T0 + apr_time_from_sec(BLINKAUTH_EXPIRES_IN_MAX));
}
END_TEST

/* A listed account of auth_id, id and reauth_required, in unit_pool. */
static blinkauth_linked_account_t *account(const char *auth_id, const char *id, int reauth)
{
    blinkauth_linked_account_t *la = apr_pcalloc(unit_pool, sizeof(*la));

    la->auth_id = auth_id;
    la->id = id;
    la->reauth_required = reauth;
    la->access_token = "at";
    la->expiry = "2026-11-30T18:00:00Z";
    return la;
}

START_TEST(test_pick)
{
    apr_array_header_t *list = apr_array_make(unit_pool, 4, sizeof(blinkauth_linked_account_t *));

    ck_assert_ptr_null(blinkauth_linked_pick(NULL, "a-1"));
    ck_assert_ptr_null(blinkauth_linked_pick(list, "a-1"));
    APR_ARRAY_PUSH(list, blinkauth_linked_account_t *) = account("a-2", "other-app", 0);
    APR_ARRAY_PUSH(list, blinkauth_linked_account_t *) = account(NULL, "no-app", 0);
    ck_assert_ptr_null(blinkauth_linked_pick(list, "a-1"));
    APR_ARRAY_PUSH(list, blinkauth_linked_account_t *) = account("a-1", "dead", 1);
    ck_assert_str_eq(blinkauth_linked_pick(list, "a-1")->id, "dead");
    APR_ARRAY_PUSH(list, blinkauth_linked_account_t *) = account("a-1", "live", 0);
    APR_ARRAY_PUSH(list, blinkauth_linked_account_t *) = account("a-1", "later", 0);
    ck_assert_str_eq(blinkauth_linked_pick(list, "a-1")->id, "live");
}
END_TEST

START_TEST(test_copy_of)
{
    blinkauth_linked_account_t *la = account("a-1", "la-1", 0);
    blinkauth_token_copy_t *tok;

    la->refresh_token = "rt";
    la->external_account_id = "x@y";
    tok = blinkauth_linked_copy_of(unit_pool, la);
    ck_assert_str_eq(tok->linked_account_id, "la-1");
    ck_assert_str_eq(tok->external_account_id, "x@y");
    ck_assert_str_eq(tok->access_token, "at");
    ck_assert_str_eq(tok->refresh_token, "rt");
    ck_assert(tok->expires == T0);
    ck_assert(tok->obtained == 0);
    ck_assert_int_eq(tok->synced, 1);
}
END_TEST

START_TEST(test_fresh_and_expired)
{
    blinkauth_token_copy_t tok = {0};

    tok.expires = T0;
    ck_assert_int_eq(blinkauth_linked_fresh(&tok, T0 - apr_time_from_sec(61), 60), 1);
    ck_assert_int_eq(blinkauth_linked_fresh(&tok, T0 - apr_time_from_sec(60), 60), 0);
    ck_assert_int_eq(blinkauth_linked_fresh(&tok, T0 - apr_time_from_sec(1), 0), 1);
    ck_assert_int_eq(blinkauth_linked_fresh(&tok, T0, 0), 0);
    ck_assert_int_eq(blinkauth_linked_expired(&tok, T0 - 1), 0);
    ck_assert_int_eq(blinkauth_linked_expired(&tok, T0), 1);
    /* No expiry: used while it is young, or always when its age is not known either. */
    tok.expires = 0;
    ck_assert_int_eq(blinkauth_linked_fresh(&tok, T0, 60), 1);
    ck_assert_int_eq(blinkauth_linked_expired(&tok, T0), 0);
    tok.obtained = T0;
    ck_assert_int_eq(blinkauth_linked_fresh(&tok, T0 + apr_time_from_sec(BLINKAUTH_TOKEN_UNDATED_MAX - 1), 60), 1);
    ck_assert_int_eq(blinkauth_linked_fresh(&tok, T0 + apr_time_from_sec(BLINKAUTH_TOKEN_UNDATED_MAX), 60), 0);
}
END_TEST

/* Runs the linked suite. */
int main(void)
{
    Suite *s = suite_create("linked");

    unit_add_tcase(
        s, "core", NULL, NULL,
        UNIT_TESTS(test_expiry_parse, test_expiry_text_and_expires, test_pick, test_copy_of, test_fresh_and_expired));
    return unit_run(s);
}
