/* Our sealed copy of a user's linked-account tokens: the record, its JSON, its seal and its store key. */
#ifndef BLINKAUTH_TOKENS_H
#define BLINKAUTH_TOKENS_H

#include <apr_pools.h>
#include <apr_time.h>

/* The tokens of one user's linked account for one app, as we keep them. */
typedef struct {
    const char *linked_account_id;
    const char *external_account_id;
    const char *access_token;
    const char *refresh_token; /* may be NULL */
    apr_time_t expires;        /* 0: unknown */
    apr_time_t obtained;       /* when the access token was issued to us */
    int synced;                /* 1 when Blink holds these tokens */
} blinkauth_token_copy_t;

/* What every store key starts with; the rest is base64url, so no user id can be read from it. */
#define BLINKAUTH_TOKENS_KEY_PREFIX "blinkauth:tok:"

/* The copy as JSON text, allocated in p; NULL when linked_account_id, external_account_id or access_token is
 * missing, or a text is not UTF-8. */
const char *blinkauth_tokens_encode(apr_pool_t *p, const blinkauth_token_copy_t *copy);

/* The copy read back from JSON text of len bytes, its strings in p; NULL, with *why, when it is not one. */
blinkauth_token_copy_t *blinkauth_tokens_decode(apr_pool_t *p, const char *json, apr_size_t len, const char **why);

/* The store key of (auth_id, user_id) under key (BLINKAUTH_KEY_BYTES): BLINKAUTH_TOKENS_KEY_PREFIX followed by
 * base64url(HMAC-SHA256(key, auth_id, user_id)), 57 characters, allocated in p. */
const char *blinkauth_tokens_store_key(apr_pool_t *p, const unsigned char *key, const char *auth_id,
                                       const char *user_id);

/* copy sealed under key with AES-256-GCM (blinkauth_crypto_seal), its store key authenticated with it, so that the
 * text opens only under that store key: a record moved to another user's key does not open. NULL when the copy
 * does not encode or the seal failed. */
const char *blinkauth_tokens_seal(apr_pool_t *p, const unsigned char *key, const char *store_key,
                                  const blinkauth_token_copy_t *copy);

/* The copy that sealed (a blinkauth_tokens_seal text for store_key) holds, opened under key or else under previous
 * (NULL when there is none); NULL, with *why, when it opens under neither or is not a copy. */
blinkauth_token_copy_t *blinkauth_tokens_open(apr_pool_t *p, const unsigned char *key, const unsigned char *previous,
                                              const char *store_key, const char *sealed, const char **why);

#endif
