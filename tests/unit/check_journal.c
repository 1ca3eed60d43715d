/* Unit tests of modules/journal.c: each app's last failures and the last check of its Blink API token. */
#include <string.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>

#include "unit.h"
#include "journal.h"

/* A zeroed journal in unit_pool. */
static blinkauth_journal_t *fresh(void)
{
    return apr_pcalloc(unit_pool, sizeof(blinkauth_journal_t));
}

/* The failures kept keep their order (newest first), their fields, and only the last BLINKAUTH_JOURNAL_FAILURES. */
START_TEST(test_failures_newest_first)
{
    blinkauth_journal_t *j = fresh();
    json_t *all;
    int i;

    all = blinkauth_journal_failures_json(j);
    ck_assert_int_eq(json_array_size(all), 0);
    json_decref(all);
    for (i = 1; i <= 25; i++)
        blinkauth_journal_failure(j, apr_time_from_sec(1780000000 + i), "callback",
                                  apr_psprintf(unit_pool, "failure %d", i), i % 2 ? "REF0000001" : NULL);
    all = blinkauth_journal_failures_json(j);
    ck_assert_int_eq(json_array_size(all), BLINKAUTH_JOURNAL_FAILURES);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(all, 0), "error")), "failure 25");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(all, 19), "error")), "failure 6");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(all, 0), "step")), "callback");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(all, 0), "ref")), "REF0000001");
    ck_assert_ptr_null(json_object_get(json_array_get(all, 1), "ref"));
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(all, 0), "at")), "2026-05-28T20:27:05Z");
    json_decref(all);
}
END_TEST

/* A long sentence is cut to its field, never overflowing it. */
START_TEST(test_failure_cut)
{
    blinkauth_journal_t *j = fresh();
    char longer[1000];
    json_t *all;

    memset(longer, 'x', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = '\0';
    blinkauth_journal_failure(j, apr_time_now(), longer, longer, longer);
    all = blinkauth_journal_failures_json(j);
    ck_assert_uint_eq(strlen(json_string_value(json_object_get(json_array_get(all, 0), "error"))),
                      BLINKAUTH_JOURNAL_ERROR - 1);
    ck_assert_uint_eq(strlen(json_string_value(json_object_get(json_array_get(all, 0), "step"))),
                      BLINKAUTH_JOURNAL_STEP - 1);
    json_decref(all);
}
END_TEST

/* A check may be claimed once per interval; of many claimers at one moment, one wins. */
START_TEST(test_check_claimed_once_per_interval)
{
    blinkauth_journal_t *j = fresh();
    apr_time_t t = apr_time_from_sec(1000);
    int wins = 0, i;

    for (i = 0; i < 10; i++)
        wins += blinkauth_journal_check_claim(j, t, apr_time_from_sec(60));
    ck_assert_int_eq(wins, 1);
    ck_assert_int_eq(blinkauth_journal_check_claim(j, t + apr_time_from_sec(59), apr_time_from_sec(60)), 0);
    ck_assert_int_eq(blinkauth_journal_check_claim(j, t + apr_time_from_sec(60), apr_time_from_sec(60)), 1);
}
END_TEST

/* The check's JSON says what was found, when, and the sentence; nothing before a check. */
START_TEST(test_check_json)
{
    blinkauth_journal_t *j = fresh();
    json_t *c = blinkauth_journal_check_json(j);

    ck_assert_str_eq(json_string_value(json_object_get(c, "token")), "not checked yet");
    ck_assert_ptr_null(json_object_get(c, "at"));
    json_decref(c);
    blinkauth_journal_check_done(j, apr_time_from_sec(1780000000), BLINKAUTH_CHECK_REFUSED, "Blink answered 401");
    c = blinkauth_journal_check_json(j);
    ck_assert_str_eq(json_string_value(json_object_get(c, "token")), "refused");
    ck_assert_str_eq(json_string_value(json_object_get(c, "says")), "Blink answered 401");
    ck_assert_str_eq(json_string_value(json_object_get(c, "at")), "2026-05-28T20:26:40Z");
    json_decref(c);
    blinkauth_journal_check_done(j, apr_time_from_sec(1780000060), BLINKAUTH_CHECK_ACCEPTED, "ok");
    c = blinkauth_journal_check_json(j);
    ck_assert_str_eq(json_string_value(json_object_get(c, "token")), "accepted");
    json_decref(c);
}
END_TEST

static blinkauth_journal_t *shared_journal;

/* Writes 1,000 failures into the shared journal. */
static void *APR_THREAD_FUNC writer(apr_thread_t *thread, void *data)
{
    int i;

    for (i = 0; i < 1000; i++)
        blinkauth_journal_failure(shared_journal, apr_time_from_sec(1 + i), "step", "error", "ref");
    return NULL;
}

/* Four threads writing at once lose no count, and every entry read back is whole. */
START_TEST(test_concurrent_writers)
{
    apr_thread_t *t[4];
    apr_status_t rv;
    json_t *all;
    size_t i;

    shared_journal = fresh();
    for (i = 0; i < 4; i++)
        ck_assert_int_eq(apr_thread_create(&t[i], NULL, writer, NULL, unit_pool), APR_SUCCESS);
    for (i = 0; i < 4; i++)
        apr_thread_join(&rv, t[i]);
    ck_assert_uint_eq(shared_journal->written, 4000);
    all = blinkauth_journal_failures_json(shared_journal);
    ck_assert_int_eq(json_array_size(all), BLINKAUTH_JOURNAL_FAILURES);
    for (i = 0; i < json_array_size(all); i++)
        ck_assert_str_eq(json_string_value(json_object_get(json_array_get(all, i), "error")), "error");
    json_decref(all);
}
END_TEST

/* Runs the journal suite. */
int main(void)
{
    Suite *s = suite_create("journal");

    unit_add_tcase(s, "journal", NULL, NULL,
                   UNIT_TESTS(test_failures_newest_first, test_failure_cut, test_check_claimed_once_per_interval,
                              test_check_json, test_concurrent_writers));
    return unit_run(s);
}
