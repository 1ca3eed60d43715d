/* The token cache: our sealed copies of users' linked-account tokens kept in a socache store, and the lease by which
 * servers that share that store take turns at refreshing one user's tokens. */
#include "tokenstore.h"
#include "crypto.h"
#include "lock.h"

#include <string.h>
#include <apr_strings.h>

/* What starts a lease record's key, before the copy's store key. */
#define LEASE_PREFIX "lease:"

/* Where a record lives: the shard of the store that keeps it and the key the socache is asked for. */
typedef struct {
    const blinkauth_flow_store_t *shard;
    const char *id;
} place_t;

/* The place of the record of store_key (a copy's, or with prefix LEASE_PREFIX its lease's), in the shard its name
 * (the base64url after BLINKAUTH_TOKENS_KEY_PREFIX) selects. A copy in a store of our own (shmcb) is kept under that
 * name alone: shmcb spreads records over its subcaches by their first byte. */
static place_t place_of(const blinkauth_flow_store_t *store, apr_pool_t *p, const char *store_key, const char *prefix)
{
    const char *name = store_key + sizeof(BLINKAUTH_TOKENS_KEY_PREFIX) - 1;
    place_t at = {blinkauth_flow_store_shard(store, name), NULL};

    at.id = prefix ? apr_pstrcat(p, prefix, store_key, NULL) : at.shard->bare_keys ? name : store_key;
    return at;
}

/* Takes the lock of at's shard; the status, with *why when it was not had. */
static apr_status_t place_lock(const place_t *at, const char **why)
{
    apr_status_t rv = blinkauth_flow_store_lock(at->shard);

    if (rv != APR_SUCCESS)
        *why = "cannot take the token cache's lock (in BlinkAuthTimeout)";
    return rv;
}

/* The text at at into *text (NUL-terminated). APR_NOTFOUND when there is none; with probe_miss, a network store
 * that then fails a probe is BLINKAUTH_FLOW_UNAVAILABLE (apr_redis and apr_memcache report a server that does not
 * answer as not found); another status, with *why, when the store failed. */
static apr_status_t text_read(const place_t *at, apr_pool_t *p, const char **text, const char **why, int probe_miss)
{
    unsigned char *buf = apr_palloc(p, BLINKAUTH_TOKENSTORE_MAX + 1);
    unsigned int len = BLINKAUTH_TOKENSTORE_MAX;
    const blinkauth_flow_store_t *shard = at->shard;
    apr_status_t rv = place_lock(at, why);

    if (rv != APR_SUCCESS)
        return rv;
    rv = shard->provider->retrieve(shard->instance, shard->server, (const unsigned char *)at->id,
                                   (unsigned int)strlen(at->id), buf, &len, p);
    if (rv == APR_NOTFOUND && shard->probe && probe_miss && blinkauth_flow_store_probe(shard, p) != APR_SUCCESS) {
        *why = "the token cache is not answering (the record was not found, and a probe record could not be stored "
               "and read back)";
        rv = BLINKAUTH_FLOW_UNAVAILABLE;
    }
    else if (rv != APR_SUCCESS && rv != APR_NOTFOUND) {
        *why = "the token cache failed to read";
    }
    blinkauth_flow_store_unlock(shard);
    buf[rv == APR_SUCCESS ? len : 0] = '\0';
    *text = (const char *)buf;
    return rv;
}

/* Stores text at at until expiry; APR_SUCCESS, or the store's error with *why. */
static apr_status_t text_write(const place_t *at, apr_pool_t *p, apr_time_t expiry, const char *text, const char **why)
{
    const blinkauth_flow_store_t *shard = at->shard;
    apr_status_t rv = place_lock(at, why);

    if (rv != APR_SUCCESS)
        return rv;
    rv = shard->provider->store(shard->instance, shard->server, (const unsigned char *)at->id,
                                (unsigned int)strlen(at->id), expiry, (unsigned char *)text, (unsigned int)strlen(text),
                                p);
    blinkauth_flow_store_unlock(shard);
    if (rv != APR_SUCCESS)
        *why = "the token cache refused the record";
    return rv;
}

/* Deletes the record at at; APR_SUCCESS, APR_NOTFOUND when there was none, or the store's error with *why. */
static apr_status_t text_drop(const place_t *at, apr_pool_t *p, const char **why)
{
    const blinkauth_flow_store_t *shard = at->shard;
    apr_status_t rv = place_lock(at, why);

    if (rv != APR_SUCCESS)
        return rv;
    rv = shard->provider->remove(shard->instance, shard->server, (const unsigned char *)at->id,
                                 (unsigned int)strlen(at->id), p);
    blinkauth_flow_store_unlock(shard);
    if (rv != APR_SUCCESS && rv != APR_NOTFOUND)
        *why = "the token cache failed to delete the record";
    return rv;
}

/* The store key of (auth_id, user_id) under key. */
#define STORE_KEY(key) blinkauth_tokens_store_key(p, (key), auth_id, user_id)

apr_status_t blinkauth_tokenstore_get(const blinkauth_flow_store_t *store, apr_pool_t *p,
                                      const blinkauth_token_keys_t *keys, const char *auth_id, const char *user_id,
                                      blinkauth_token_copy_t **copy, const char **why)
{
    const char *store_key = STORE_KEY(keys->key), *sealed = NULL;
    place_t at = place_of(store, p, store_key, NULL);
    apr_status_t rv = text_read(&at, p, &sealed, why, 1);

    /* A copy named under the previous key, from before the key changed; the store has just answered. */
    if (rv == APR_NOTFOUND && keys->previous) {
        store_key = STORE_KEY(keys->previous);
        at = place_of(store, p, store_key, NULL);
        rv = text_read(&at, p, &sealed, why, 0);
    }
    *copy = NULL;
    if (rv != APR_SUCCESS)
        return rv;
    *copy = blinkauth_tokens_open(p, keys->key, keys->previous, store_key, sealed, why);
    return *copy ? APR_SUCCESS : APR_EBADF;
}

apr_status_t blinkauth_tokenstore_put(const blinkauth_flow_store_t *store, apr_pool_t *p,
                                      const blinkauth_token_keys_t *keys, const char *auth_id, const char *user_id,
                                      const blinkauth_token_copy_t *copy, const char **why)
{
    const char *store_key = STORE_KEY(keys->key), *ignored = NULL;
    const char *sealed = blinkauth_tokens_seal(p, keys->key, store_key, copy);
    place_t at = place_of(store, p, store_key, NULL), before;
    apr_status_t rv;

    if (sealed == NULL) {
        *why = "the copy would not encode (a field missing, or not UTF-8) or not seal";
        return APR_EGENERAL;
    }
    if (strlen(sealed) > BLINKAUTH_TOKENSTORE_MAX) {
        *why = apr_psprintf(p, "the copy is longer than %d characters sealed", BLINKAUTH_TOKENSTORE_MAX);
        return APR_ENOSPC;
    }
    rv = text_write(&at, p, apr_time_now() + BLINKAUTH_TOKENSTORE_TTL, sealed, why);
    /* The copy named under the previous key is older than this one: it must not be read after this one goes. */
    if (rv == APR_SUCCESS && keys->previous) {
        before = place_of(store, p, STORE_KEY(keys->previous), NULL);
        text_drop(&before, p, &ignored);
    }
    return rv;
}

apr_status_t blinkauth_tokenstore_remove(const blinkauth_flow_store_t *store, apr_pool_t *p,
                                         const blinkauth_token_keys_t *keys, const char *auth_id, const char *user_id,
                                         const char **why)
{
    place_t at = place_of(store, p, STORE_KEY(keys->key), NULL);
    apr_status_t rv = text_drop(&at, p, why), before = APR_NOTFOUND;

    if (keys->previous) {
        at = place_of(store, p, STORE_KEY(keys->previous), NULL);
        before = text_drop(&at, p, why);
    }
    if (rv != APR_SUCCESS && rv != APR_NOTFOUND)
        return rv;
    if (before != APR_SUCCESS && before != APR_NOTFOUND)
        return before;
    return rv == APR_SUCCESS || before == APR_SUCCESS ? APR_SUCCESS : APR_NOTFOUND;
}

/* The holder of a lease record's text ("<value>.<end>"), or "" when its end has passed or it is not a lease. */
static const char *lease_holder(apr_pool_t *p, const char *text)
{
    const char *dot = strchr(text, '.');

    if (dot == NULL || dot == text || apr_atoi64(dot + 1) <= apr_time_now())
        return "";
    return apr_pstrmemdup(p, text, (apr_size_t)(dot - text));
}

/* Sleeps BLINKAUTH_TOKENSTORE_LEASE_PAUSE, or until deadline when that is sooner. */
static void lease_pause(apr_time_t deadline)
{
    apr_interval_time_t left = blinkauth_lock_time_left(deadline);

    apr_sleep(left < BLINKAUTH_TOKENSTORE_LEASE_PAUSE ? left : BLINKAUTH_TOKENSTORE_LEASE_PAUSE);
}

/* The holder of the lease at at into *holder ("" for none); APR_SUCCESS, or the store's error with *why. */
static apr_status_t lease_read(const place_t *at, apr_pool_t *p, const char **holder, const char **why)
{
    const char *text = "";
    apr_status_t rv = text_read(at, p, &text, why, 0);

    *holder = rv == APR_SUCCESS ? lease_holder(p, text) : "";
    return rv == APR_NOTFOUND ? APR_SUCCESS : rv;
}

apr_status_t blinkauth_tokenstore_lease(const blinkauth_flow_store_t *store, apr_pool_t *p,
                                        const blinkauth_token_keys_t *keys, const char *auth_id, const char *user_id,
                                        apr_interval_time_t wait, apr_interval_time_t ttl, const char **lease,
                                        const char **why)
{
    const char *ours = blinkauth_crypto_random_token(p), *holder = "";
    place_t at = place_of(store, p, STORE_KEY(keys->key), LEASE_PREFIX);
    apr_time_t deadline = apr_time_now() + wait, end;
    apr_status_t rv;

    if (ours == NULL) {
        *why = "no randomness for the lease";
        return APR_EGENERAL;
    }
    for (;;) {
        if ((rv = lease_read(&at, p, &holder, why)) != APR_SUCCESS)
            return rv;
        if (*holder == '\0' || strcmp(holder, ours) == 0) {
            end = apr_time_now() + ttl;
            rv = text_write(&at, p, end, apr_psprintf(p, "%s.%" APR_TIME_T_FMT, ours, end), why);
            if (rv != APR_SUCCESS)
                return rv;
            /* Another server that read "none" at the same time writes its own meanwhile: the last write wins, and
             * each reads back which one it was. */
            lease_pause(apr_time_now() + BLINKAUTH_TOKENSTORE_LEASE_PAUSE);
            if ((rv = lease_read(&at, p, &holder, why)) != APR_SUCCESS)
                return rv;
            if (strcmp(holder, ours) == 0) {
                *lease = ours;
                return APR_SUCCESS;
            }
        }
        if (blinkauth_lock_time_left(deadline) == 0)
            return APR_TIMEUP;
        lease_pause(deadline);
    }
}

apr_status_t blinkauth_tokenstore_lease_release(const blinkauth_flow_store_t *store, apr_pool_t *p,
                                                const blinkauth_token_keys_t *keys, const char *auth_id,
                                                const char *user_id, const char *lease, const char **why)
{
    place_t at = place_of(store, p, STORE_KEY(keys->key), LEASE_PREFIX);
    const char *holder = "";
    apr_status_t rv = lease_read(&at, p, &holder, why);

    if (rv != APR_SUCCESS)
        return rv;
    if (lease == NULL || strcmp(holder, lease) != 0)
        return APR_NOTFOUND;
    return text_drop(&at, p, why);
}
