/* The request guards the routes share: each passes a request or sends its refusal. */
#ifndef BLINKAUTH_GUARD_H
#define BLINKAUTH_GUARD_H

#include "glue.h"

/* Largest request body a route takes (and drops): Blink's calls carry none. */
#define BLINKAUTH_BODY_MAX (64 * 1024)

/* Each guard returns 1 when the request passes; otherwise it has sent the refusal and returns 0. */

/* Passes when the request carries the app's proxy secret; else 401. */
int blinkauth_guard_secret(request_rec *r, const blinkauth_config_t *cfg);

/* Passes with *user_id set when blink-auth-userid is acceptable; else 400 (also when the header came twice). */
int blinkauth_guard_user_id(request_rec *r, const char **user_id);

/* Passes when the request body is absent or at most BLINKAUTH_BODY_MAX bytes (read and dropped); else 413 or
 * 400. */
int blinkauth_guard_body(request_rec *r);

#endif
