/* Revocation of an account's tokens at the external service, shared by the callback and Disconnect. */
#ifndef BLINKAUTH_REVOKE_H
#define BLINKAUTH_REVOKE_H

#include "glue.h"

/* Revokes the refresh and access token (those given) at BlinkAuthRevokeURL when set; failures are only logged,
 * each line starting with context. */
void blinkauth_revoke_tokens(request_rec *r, const blinkauth_config_t *cfg, const char *refresh_token,
                             const char *access_token, const char *context);

#endif
