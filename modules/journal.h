/* What the status page tells of each app beyond its counters: its last failures, and the last check of its Blink API
 * token. Plain memory (httpd keeps it in shared memory), written by any process with lock-free atomics. */
#ifndef BLINKAUTH_JOURNAL_H
#define BLINKAUTH_JOURNAL_H

#include <apr_time.h>
#include <jansson.h>

/* How many failures an app keeps: the newest ones. */
#define BLINKAUTH_JOURNAL_FAILURES 20
/* Longest step name, error sentence and reference kept (longer ones are cut). */
#define BLINKAUTH_JOURNAL_STEP 32
#define BLINKAUTH_JOURNAL_ERROR 240
#define BLINKAUTH_JOURNAL_REF 16

/* One failure. seq is odd while a writer fills it, so that a reader never shows a torn entry. */
typedef struct {
    apr_uint32_t seq;
    apr_int64_t at; /* apr_time_t; 0: never written */
    char step[BLINKAUTH_JOURNAL_STEP];
    char error[BLINKAUTH_JOURNAL_ERROR];
    char ref[BLINKAUTH_JOURNAL_REF];
} blinkauth_journal_failure_t;

/* Whether the Blink API accepts the app's token, as the last check found. */
typedef enum {
    BLINKAUTH_CHECK_NONE = 0, /* not checked yet */
    BLINKAUTH_CHECK_ACCEPTED, /* an authenticated call was answered as such (2xx, or 404 in Blink's envelope) */
    BLINKAUTH_CHECK_REFUSED,  /* 401 or 403: the token is wrong, expired or withdrawn */
    BLINKAUTH_CHECK_UNKNOWN   /* no answer, or an answer that does not tell */
} blinkauth_check_result_t;

/* One app's journal. Zeroed memory is an empty journal. */
typedef struct {
    apr_uint32_t written; /* failures ever written; the newest is at (written - 1) % BLINKAUTH_JOURNAL_FAILURES */
    blinkauth_journal_failure_t failure[BLINKAUTH_JOURNAL_FAILURES];
    apr_int64_t check_due; /* when the next check may be claimed (apr_time_t) */
    apr_uint32_t check_seq;
    apr_int32_t check_result; /* blinkauth_check_result_t */
    apr_int64_t check_at;     /* when the last check ended */
    char check_says[BLINKAUTH_JOURNAL_ERROR];
} blinkauth_journal_t;

/* Keeps one failure of step at time at, with its error sentence and flow reference (NULL: none). Lock-free. */
void blinkauth_journal_failure(blinkauth_journal_t *j, apr_time_t at, const char *step, const char *error,
                               const char *ref);

/* The failures kept, newest first, as a JSON array of {"at" (RFC 3339 UTC), "step", "error", "ref"?}. */
json_t *blinkauth_journal_failures_json(const blinkauth_journal_t *j);

/* 1 when the caller may run the check now: none ran within every before now (claimed atomically, so that of all
 * processes asking at once one gets it). */
int blinkauth_journal_check_claim(blinkauth_journal_t *j, apr_time_t now, apr_interval_time_t every);

/* Records the check that ended at time at: its result and one sentence of what the Blink API answered. */
void blinkauth_journal_check_done(blinkauth_journal_t *j, apr_time_t at, blinkauth_check_result_t result,
                                  const char *says);

/* The last check as JSON: {"token": "accepted"|"refused"|"unknown"|"not checked yet", "at"?, "says"?}. */
json_t *blinkauth_journal_check_json(const blinkauth_journal_t *j);

#endif
