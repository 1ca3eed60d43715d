/* Saving a connected account in Blink so that a lost answer never leaves Blink and the external service at odds. */
#include "save.h"

#include "apr_strings.h"

/* Reads user_id's accounts back after a write to Blink whose answer was lost: what Blink holds of la's tokens.
 * done is what a found account with la's access token means (ADDED or UPDATED). */
static blinkauth_save_t read_back(request_rec *r, const blinkauth_config_t *cfg, const char *user_id,
                                  blinkauth_linked_account_t *la, blinkauth_save_t done)
{
    apr_array_header_t *accounts = NULL;
    const blinkauth_linked_account_t *found;
    blinkauth_outcome_t listed = blinkauth_blinkapi_linked_account_list(r->pool, cfg, user_id, &accounts);

    if (listed.kind != BLINKAUTH_UP_OK) {
        BLINKAUTH_RLOG(APLOG_ERR, 0, r,
                       BLALOGNO(00311) "callback: whether Blink saved the linked account cannot be told (%s); its "
                                       "tokens are kept, not revoked",
                       listed.why);
        return BLINKAUTH_SAVE_UNKNOWN;
    }
    found = blinkauth_blinkapi_linked_account_find(accounts, la->auth_id, la->external_account_id);
    /* A listed account without its tokens shown is taken at its word: it is the one just written. */
    if (found && (found->access_token == NULL || strcmp(found->access_token, la->access_token) == 0)) {
        la->id = found->id;
        BLINKAUTH_RLOG(APLOG_NOTICE, 0, r, BLALOGNO(00310) "callback: reading back shows Blink saved linked account %s",
                       found->id);
        return done;
    }
    BLINKAUTH_RLOG(APLOG_NOTICE, 0, r,
                   BLALOGNO(00312) "callback: reading back shows Blink did not save the new tokens");
    return BLINKAUTH_SAVE_REFUSED;
}

/* After a write to Blink that did not succeed: REFUSED when Blink certainly did not act, else what reading back
 * tells. */
static blinkauth_save_t settle(request_rec *r, const blinkauth_config_t *cfg, const char *user_id,
                               blinkauth_linked_account_t *la, const blinkauth_outcome_t *out, blinkauth_save_t done)
{
    if (blinkauth_upstream_refused(out))
        return BLINKAUTH_SAVE_REFUSED;
    BLINKAUTH_RLOG(APLOG_WARNING, 0, r,
                   BLALOGNO(00313) "callback: %s; reading the linked accounts back to see what Blink holds", out->why);
    return read_back(r, cfg, user_id, la, done);
}

blinkauth_save_t blinkauth_save_account(request_rec *r, const blinkauth_config_t *cfg, const char *user_id,
                                        blinkauth_linked_account_t *la, blinkauth_outcome_t *out)
{
    apr_array_header_t *accounts = NULL;
    const blinkauth_linked_account_t *have;
    const char *id = NULL;

    /* Nothing is written before the list answers, so a failed list leaves nothing to settle. */
    *out = blinkauth_blinkapi_linked_account_list(r->pool, cfg, user_id, &accounts);
    if (out->kind != BLINKAUTH_UP_OK && out->kind != BLINKAUTH_UP_NOT_FOUND)
        return BLINKAUTH_SAVE_REFUSED;
    have = blinkauth_blinkapi_linked_account_find(accounts, la->auth_id, la->external_account_id);
    if (have) {
        la->id = have->id;
        *out = blinkauth_blinkapi_linked_account_update(r->pool, cfg, user_id, la);
        if (out->kind == BLINKAUTH_UP_OK)
            return BLINKAUTH_SAVE_UPDATED;
        if (out->kind != BLINKAUTH_UP_NOT_FOUND)
            return settle(r, cfg, user_id, la, out, BLINKAUTH_SAVE_UPDATED);
        la->id = NULL; /* deleted in the meantime: add it anew */
    }
    *out = blinkauth_blinkapi_linked_account_add(r->pool, cfg, user_id, la, &id);
    if (out->kind == BLINKAUTH_UP_OK) {
        la->id = id;
        return BLINKAUTH_SAVE_ADDED;
    }
    return settle(r, cfg, user_id, la, out, BLINKAUTH_SAVE_ADDED);
}
