/* The Blink API token check: in the background, never on a user's request, whether the Blink API accepts each app's
 * token. */
#ifndef BLINKAUTH_TOKENCHECK_H
#define BLINKAUTH_TOKENCHECK_H

#include "glue.h"

/* Starts this child's checker: every few seconds it checks each app (BlinkAuthTokenCheck On) whose last check, made
 * by any child, is a minute old or more; the first check follows the start. */
void blinkauth_tokencheck_child_init(apr_pool_t *pchild, server_rec *s);

#endif
