/* Acting for the user: the user's linked account for an app, with an access token fresh enough to use. */
#ifndef BLINKAUTH_ACT_H
#define BLINKAUTH_ACT_H

#include "glue.h"
#include "blinkapi.h"
#include "tokens.h"

/* Finds user_id's linked account for cfg's app (our copy, else Blink's list) and makes sure its access token is
 * fresh: a token that expires within BlinkAuthRefreshBefore is refreshed once per host (the other requests of the
 * user wait for that refresh and use its result), and the rotated tokens are saved, in our copy first and then in
 * Blink, before they are used. OK with *tok (NULL when the user has no linked account for the app; nothing was
 * answered), or DONE once an answer has been sent: 401 REAUTH_REQUIRED, 502 UPSTREAM_ERROR, 504 UPSTREAM_TIMEOUT. */
int blinkauth_act_token(request_rec *r, const blinkauth_config_t *cfg, const char *user_id,
                        const blinkauth_token_copy_t **tok);

/* Keeps our copy of the tokens a connect just saved in Blink for user_id (only with BlinkAuthTokenKey). */
void blinkauth_act_keep(request_rec *r, const blinkauth_config_t *cfg, const char *user_id,
                        const blinkauth_linked_account_t *la);

/* Drops our copy of user_id's tokens for cfg's app (a Disconnect). */
void blinkauth_act_forget(request_rec *r, const blinkauth_config_t *cfg, const char *user_id);

#endif
