/* A linked account's tokens over time: which of a user's accounts acts for an app, expiry as Blink writes it, and
 * whether an access token is still fresh enough to use. */
#ifndef BLINKAUTH_LINKED_H
#define BLINKAUTH_LINKED_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>
#include "blinkapi.h"
#include "tokens.h"

/* Longest expires_in taken from a provider, in seconds (ten years); more is cut to it. */
#define BLINKAUTH_EXPIRES_IN_MAX (10L * 365 * 24 * 3600)

/* Age after which an access token that came without an expiry is refreshed, in seconds. */
#define BLINKAUTH_TOKEN_UNDATED_MAX 3600

/* When a token issued at now with expires_in seconds (negative: not given) expires; 0 for never said. */
apr_time_t blinkauth_linked_expires(long expires_in, apr_time_t now);

/* expires as Blink stores an expiry (RFC 3339 UTC, "2026-11-30T18:00:00Z"), or NULL for 0. */
const char *blinkauth_linked_expiry_text(apr_pool_t *p, apr_time_t expires);

/* The time an RFC 3339 expiry names (fractions of a second and a numeric offset accepted), or 0 when text is NULL or
 * not one. */
apr_time_t blinkauth_linked_expiry_parse(const char *text);

/* The account of accounts (as listed) that acts for auth_id: the first of that Auth ID that does not need
 * reconnecting, else the first of that Auth ID; NULL when the user has none. */
const blinkauth_linked_account_t *blinkauth_linked_pick(const apr_array_header_t *accounts, const char *auth_id);

/* la's tokens as we keep them (Blink holds them: synced), allocated in p. */
blinkauth_token_copy_t *blinkauth_linked_copy_of(apr_pool_t *p, const blinkauth_linked_account_t *la);

/* 1 when tok's access token may be used at now without a refresh: it expires more than refresh_before seconds from
 * now; one without an expiry is used until BLINKAUTH_TOKEN_UNDATED_MAX after it was obtained (forever when that is
 * not known either). */
int blinkauth_linked_fresh(const blinkauth_token_copy_t *tok, apr_time_t now, int refresh_before);

/* 1 when tok's access token has expired at now (with an expiry known). */
int blinkauth_linked_expired(const blinkauth_token_copy_t *tok, apr_time_t now);

#endif
