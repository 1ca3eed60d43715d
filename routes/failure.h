/* The callback's pages for a step that failed at an upstream: the person is told who failed and what to do. */
#ifndef BLINKAUTH_FAILURE_H
#define BLINKAUTH_FAILURE_H

#include "glue.h"
#include "upstream.h"

/* How an upstream step failed, as the person needs to know it. */
typedef enum {
    BLINKAUTH_FAULT_UNREACHABLE,   /* no answer in time, refused, 5xx, 429: try again in a moment */
    BLINKAUTH_FAULT_MISCONFIGURED, /* the app's credentials or registration are wrong: tell the administrator */
    BLINKAUTH_FAULT_REFUSED        /* the upstream answered no to this login: start again */
} blinkauth_fault_t;

/* The class of an OAuth 2.0 error code (RFC 6749 4.1.2.1, 5.2) or Blink's: misconfigured for the codes that name the
 * client or its registration, unreachable for server_error and temporarily_unavailable, refused otherwise. */
blinkauth_fault_t blinkauth_fault_of_code(const char *code);

/* The class of a failed step's outcome: unreachable without an answer or with a 5xx or 429; misconfigured for 401,
 * 403, a 3xx or a 2xx whose body was unusable; else its error code's class. */
blinkauth_fault_t blinkauth_fault_of(const blinkauth_outcome_t *out);

/* Logs the step's sentence and answers the page for a failure of party ("The external service", "Blink") in a
 * connect that saved nothing: 504/502 unreachable, 500 misconfigured, 502 with refused_say for a refusal. */
int blinkauth_failure_page(request_rec *r, const blinkauth_outcome_t *out, const char *party, const char *refused_say);

/* The page of blinkauth_failure_page without its log line, for a caller that has logged the failure its own way. */
int blinkauth_failure_answer(request_rec *r, const blinkauth_outcome_t *out, const char *party,
                             const char *refused_say);

#endif
