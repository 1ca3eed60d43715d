/* Keeping the authorization code out of the access log. */
#ifndef BLINKAUTH_REDACT_H
#define BLINKAUTH_REDACT_H

#include "glue.h"

/* Replaces the value of every query parameter "code" in r's request line, unparsed URI and arguments (what %r, %q
 * and %U%q log) with REDACTED. Harmless to repeat. */
void blinkauth_redact_code(request_rec *r);

/* A log_transaction hook that runs before mod_log_config's: redacts the code of a callback that httpd refused before
 * the module's handler ran (a bad Content-Length, a 413, a Require rule): requests under an app's <Location>, and,
 * when httpd refused one before it knew the Location, any URI whose path ends in "/callback". */
int blinkauth_redact_log_transaction(request_rec *r);

#endif
