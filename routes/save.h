/* Saving a connected account in Blink so that a lost answer never leaves Blink and the external service at odds. */
#ifndef BLINKAUTH_SAVE_H
#define BLINKAUTH_SAVE_H

#include "glue.h"
#include "blinkapi.h"

/* What Blink holds after a save. */
typedef enum {
    BLINKAUTH_SAVE_ADDED,   /* a new linked account with the new tokens */
    BLINKAUTH_SAVE_UPDATED, /* the user's account for this external account, now with the new tokens */
    BLINKAUTH_SAVE_REFUSED, /* certainly none of the new tokens: they may be revoked */
    BLINKAUTH_SAVE_UNKNOWN  /* Blink's answer was lost and reading back could not tell: keep the tokens */
} blinkauth_save_t;

/* Saves la (auth_id, external_account_id, tokens) for user_id: updates the user's account of this Auth ID and
 * external account when there is one, else adds one; an answer that was lost (timeout, 5xx, reset) is settled by
 * reading the accounts back. Sets la->id when known; *out is the deciding write's (or list's) outcome. */
blinkauth_save_t blinkauth_save_account(request_rec *r, const blinkauth_config_t *cfg, const char *user_id,
                                        blinkauth_linked_account_t *la, blinkauth_outcome_t *out);

#endif
