/* The Blink API: a user's linked accounts (add, list, get, update, delete) and the user (get). */
#ifndef BLINKAUTH_BLINKAPI_H
#define BLINKAUTH_BLINKAPI_H

#include <apr_pools.h>
#include <apr_tables.h>
#include "config.h"
#include "upstream.h"
#include <jansson.h>

/* A linked account as Blink holds it; NULL fields are absent. */
typedef struct {
    const char *id;
    const char *auth_id;
    const char *external_account_id;
    const char *access_token;
    const char *refresh_token;
    const char *expiry; /* RFC 3339 UTC */
    int reauth_required;
} blinkauth_linked_account_t;

/* A Blink user as Get User tells; NULL fields are absent. */
typedef struct {
    const char *email;
    const char *first_name;
    const char *last_name;
} blinkauth_blink_user_t;

/* The "data" object of a Blink API answer's envelope ({"data": {...}}), bound to p;
 * NULL with *why when the body is not JSON or has no such object. */
json_t *blinkauth_blinkapi_envelope_data(apr_pool_t *p, const char *body, apr_size_t len, const char **why);

/* Saves a linked account for user_id; any 2xx is success, *id then Blink's id for it (NULL if Blink gave none). */
blinkauth_outcome_t blinkauth_blinkapi_linked_account_add(apr_pool_t *p, const blinkauth_config_t *cfg,
                                                          const char *user_id, const blinkauth_linked_account_t *la,
                                                          const char **id);

/* Fetches user_id's linked account id into *la. */
blinkauth_outcome_t blinkauth_blinkapi_linked_account_get(apr_pool_t *p, const blinkauth_config_t *cfg,
                                                          const char *user_id, const char *id,
                                                          blinkauth_linked_account_t **la);

/* Lists user_id's linked accounts into *accounts (blinkauth_linked_account_t *; empty on failure). */
blinkauth_outcome_t blinkauth_blinkapi_linked_account_list(apr_pool_t *p, const blinkauth_config_t *cfg,
                                                           const char *user_id, apr_array_header_t **accounts);

/* The account in accounts (as listed) of this Auth ID and external account id, or NULL. */
const blinkauth_linked_account_t *blinkauth_blinkapi_linked_account_find(const apr_array_header_t *accounts,
                                                                         const char *auth_id,
                                                                         const char *external_account_id);

/* Writes la's tokens, expiry and reauth_required to user_id's linked account la->id (Update, PATCH). */
blinkauth_outcome_t blinkauth_blinkapi_linked_account_update(apr_pool_t *p, const blinkauth_config_t *cfg,
                                                             const char *user_id, const blinkauth_linked_account_t *la);

/* Fetches the Blink user user_id into *user (Get User). */
blinkauth_outcome_t blinkauth_blinkapi_user_get(apr_pool_t *p, const blinkauth_config_t *cfg, const char *user_id,
                                                blinkauth_blink_user_t **user);

/* Deletes user_id's linked account id. Every call here answers NOT_FOUND only for a 404 in Blink's JSON envelope;
 * a 404 without it is a failure. */
blinkauth_outcome_t blinkauth_blinkapi_linked_account_delete(apr_pool_t *p, const blinkauth_config_t *cfg,
                                                             const char *user_id, const char *id);

/* A cheap authenticated call that tells whether the Blink API accepts the app token: Get User of a user id no one
 * has. OK or NOT_FOUND (in Blink's envelope) mean accepted; a 401 or 403 means refused. */
blinkauth_outcome_t blinkauth_blinkapi_token_check(apr_pool_t *p, const blinkauth_config_t *cfg);

#endif
