/* The token cache: our sealed copies of users' linked-account tokens kept in a socache store, and the lease by which
 * servers that share that store take turns at refreshing one user's tokens. */
#ifndef BLINKAUTH_TOKENSTORE_H
#define BLINKAUTH_TOKENSTORE_H

#include "flow.h"
#include "tokens.h"

/* The longest sealed copy kept, in characters: two long JWTs and their JSON, sealed and in base64url. */
#define BLINKAUTH_TOKENSTORE_MAX 32768

/* How long a store keeps a copy that is not written again: below memcached's 30 days, beyond which it would read
 * the expiry as a date. A copy that expired is read from Blink again. */
#define BLINKAUTH_TOKENSTORE_TTL apr_time_from_sec(28 * 86400)

/* The pause between two looks at a lease: after our claim, before reading it back, and while another holds it. */
#define BLINKAUTH_TOKENSTORE_LEASE_PAUSE apr_time_from_msec(20)

/* The keys of an app's copies (BLINKAUTH_KEY_BYTES each): key seals and names them; previous (NULL when there is
 * none), the key before it, still opens the copies it sealed and named. */
typedef struct {
    const unsigned char *key;
    const unsigned char *previous;
} blinkauth_token_keys_t;

/* The copy of (auth_id, user_id) into *copy: the one named by keys->key, else the one named by keys->previous.
 * APR_SUCCESS; APR_NOTFOUND when there is none; APR_EBADF (with *why) when the record opens under neither key or is
 * not a copy; another status (with *why) when the store failed: BLINKAUTH_FLOW_UNAVAILABLE when its lock was not had
 * in time, or when nothing was found and the store (a network one) failed a probe. */
apr_status_t blinkauth_tokenstore_get(const blinkauth_flow_store_t *store, apr_pool_t *p,
                                      const blinkauth_token_keys_t *keys, const char *auth_id, const char *user_id,
                                      blinkauth_token_copy_t **copy, const char **why);

/* Keeps copy for (auth_id, user_id), sealed and named under keys->key, for BLINKAUTH_TOKENSTORE_TTL, and drops the
 * one named under keys->previous. APR_SUCCESS, or the error with *why: APR_EGENERAL when the copy does not encode
 * or seal, APR_ENOSPC when it is larger than BLINKAUTH_TOKENSTORE_MAX sealed, else the store's. */
apr_status_t blinkauth_tokenstore_put(const blinkauth_flow_store_t *store, apr_pool_t *p,
                                      const blinkauth_token_keys_t *keys, const char *auth_id, const char *user_id,
                                      const blinkauth_token_copy_t *copy, const char **why);

/* Drops the copies of (auth_id, user_id) named under either key. APR_SUCCESS when one was dropped, APR_NOTFOUND when
 * there was none, another status (with *why) when the store failed. */
apr_status_t blinkauth_tokenstore_remove(const blinkauth_flow_store_t *store, apr_pool_t *p,
                                         const blinkauth_token_keys_t *keys, const char *auth_id, const char *user_id,
                                         const char **why);

/* Claims the refresh of (auth_id, user_id) among the servers that share store: a lease record, "lease:" and the
 * copy's store key, holding a random value and its end (ttl from each write; a lease past its end counts as none
 * even where the store keeps it longer). Claim: read it (none, or ours) -> store ours -> wait
 * BLINKAUTH_TOKENSTORE_LEASE_PAUSE -> read back ours. While another holds it, looks again every
 * BLINKAUTH_TOKENSTORE_LEASE_PAUSE until it is gone. APR_SUCCESS with *lease our value; APR_TIMEUP when wait passed
 * first; another status (with *why) when the store failed. */
apr_status_t blinkauth_tokenstore_lease(const blinkauth_flow_store_t *store, apr_pool_t *p,
                                        const blinkauth_token_keys_t *keys, const char *auth_id, const char *user_id,
                                        apr_interval_time_t wait, apr_interval_time_t ttl, const char **lease,
                                        const char **why);

/* Gives up the lease of (auth_id, user_id) when it is still lease (ours): another's is left alone. APR_SUCCESS,
 * APR_NOTFOUND when ours was not there, another status (with *why) when the store failed. */
apr_status_t blinkauth_tokenstore_lease_release(const blinkauth_flow_store_t *store, apr_pool_t *p,
                                                const blinkauth_token_keys_t *keys, const char *auth_id,
                                                const char *user_id, const char *lease, const char **why);

#endif
