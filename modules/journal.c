/* What the status page tells of each app beyond its counters: its last failures, and the last check of its Blink API
 * token. */
#include "journal.h"

#include <string.h>

/* Copies src into a field of size n, cut and always terminated. */
static void field_set(char *field, apr_size_t n, const char *src)
{
    apr_size_t len = src ? strlen(src) : 0;

    if (len >= n)
        len = n - 1;
    memcpy(field, src ? src : "", len);
    field[len] = '\0';
}

/* A time as RFC 3339 UTC ("2026-11-30T15:04:05Z"), as a JSON string. */
static json_t *time_json(apr_time_t at)
{
    apr_time_exp_t t;
    apr_size_t n = 0;
    char buf[32];

    if (apr_time_exp_gmt(&t, at) != APR_SUCCESS || apr_strftime(buf, &n, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &t))
        return json_null();
    return json_stringn(buf, n);
}

void blinkauth_journal_failure(blinkauth_journal_t *j, apr_time_t at, const char *step, const char *error,
                               const char *ref)
{
    apr_uint32_t k = __atomic_fetch_add(&j->written, 1, __ATOMIC_RELAXED) % BLINKAUTH_JOURNAL_FAILURES;
    blinkauth_journal_failure_t *f = &j->failure[k];

    __atomic_fetch_add(&f->seq, 1, __ATOMIC_ACQ_REL); /* odd: being written */
    f->at = at;
    field_set(f->step, sizeof(f->step), step);
    field_set(f->error, sizeof(f->error), error);
    field_set(f->ref, sizeof(f->ref), ref);
    __atomic_fetch_add(&f->seq, 1, __ATOMIC_ACQ_REL); /* even: done */
}

/* A consistent copy of one entry into *out; 0 when it is being written or was never written. */
static int failure_read(const blinkauth_journal_failure_t *f, blinkauth_journal_failure_t *out)
{
    apr_uint32_t before = __atomic_load_n(&f->seq, __ATOMIC_ACQUIRE);

    if (before & 1)
        return 0;
    memcpy(out, f, sizeof(*out));
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (__atomic_load_n(&f->seq, __ATOMIC_ACQUIRE) != before || out->at == 0)
        return 0;
    out->step[sizeof(out->step) - 1] = out->error[sizeof(out->error) - 1] = out->ref[sizeof(out->ref) - 1] = '\0';
    return 1;
}

json_t *blinkauth_journal_failures_json(const blinkauth_journal_t *j)
{
    apr_uint32_t written = __atomic_load_n(&j->written, __ATOMIC_ACQUIRE), i;
    json_t *all = json_array();
    blinkauth_journal_failure_t f;

    for (i = 0; i < BLINKAUTH_JOURNAL_FAILURES && i < written; i++) {
        if (!failure_read(&j->failure[(written - 1 - i) % BLINKAUTH_JOURNAL_FAILURES], &f))
            continue;
        json_array_append_new(all,
                              json_pack("{s:o, s:s, s:s}", "at", time_json(f.at), "step", f.step, "error", f.error));
        if (f.ref[0])
            json_object_set_new(json_array_get(all, json_array_size(all) - 1), "ref", json_string(f.ref));
    }
    return all;
}

int blinkauth_journal_check_claim(blinkauth_journal_t *j, apr_time_t now, apr_interval_time_t every)
{
    apr_int64_t due = __atomic_load_n(&j->check_due, __ATOMIC_ACQUIRE);

    return now >= due && __atomic_compare_exchange_n(&j->check_due, &due, (apr_int64_t)(now + every), 0,
                                                     __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

void blinkauth_journal_check_done(blinkauth_journal_t *j, apr_time_t at, blinkauth_check_result_t result,
                                  const char *says)
{
    __atomic_fetch_add(&j->check_seq, 1, __ATOMIC_ACQ_REL);
    j->check_result = (apr_int32_t)result;
    j->check_at = at;
    field_set(j->check_says, sizeof(j->check_says), says);
    __atomic_fetch_add(&j->check_seq, 1, __ATOMIC_ACQ_REL);
}

/* The word of a check result. */
static const char *check_word(apr_int32_t result)
{
    switch (result) {
    case BLINKAUTH_CHECK_ACCEPTED:
        return "accepted";
    case BLINKAUTH_CHECK_REFUSED:
        return "refused";
    case BLINKAUTH_CHECK_UNKNOWN:
        return "unknown";
    default:
        return "not checked yet";
    }
}

json_t *blinkauth_journal_check_json(const blinkauth_journal_t *j)
{
    char says[BLINKAUTH_JOURNAL_ERROR];
    apr_uint32_t before;
    apr_int32_t result;
    apr_int64_t at;

    int tries = 0;

    /* A writer holds the entry for a few copies at most; one that died in the middle leaves it "unknown". */
    do {
        before = __atomic_load_n(&j->check_seq, __ATOMIC_ACQUIRE);
        result = j->check_result;
        at = j->check_at;
        memcpy(says, j->check_says, sizeof(says));
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
    } while (((before & 1) || __atomic_load_n(&j->check_seq, __ATOMIC_ACQUIRE) != before) && ++tries < 1000);
    if (tries >= 1000)
        return json_pack("{s:s}", "token", check_word(BLINKAUTH_CHECK_UNKNOWN));
    says[sizeof(says) - 1] = '\0';
    if (result == BLINKAUTH_CHECK_NONE)
        return json_pack("{s:s}", "token", check_word(result));
    return json_pack("{s:s, s:o, s:s}", "token", check_word(result), "at", time_json(at), "says", says);
}
