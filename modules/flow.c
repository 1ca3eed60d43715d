/* Flow records: what a Connect leaves for its callback, kept in an httpd socache under a state. */
#include "flow.h"
#include "crypto.h"
#include "json.h"

#include <string.h>
#include <apr_strings.h>

#define KEY_PREFIX "blinkauth:"

/* The cache key of a state: "blinkauth:<state>" in a store that may be shared, the bare state in
 * one of our own.  shmcb picks one of its subcaches by the key's first byte, so a common prefix
 * crowded every record into one: the default 512 KB cache kept 72 pending flows instead of ~1,100. */
static const char *flow_key(const blinkauth_flow_store_t *store, apr_pool_t *p, const char *state)
{
    return store->bare_keys ? state : apr_pstrcat(p, KEY_PREFIX, state, NULL);
}

const char *blinkauth_flow_encode(apr_pool_t *p, const blinkauth_flow_t *flow)
{
    /* Written directly rather than with json_pack + json_dumps: it is on every Connect, and this is several times
     * cheaper (the same bytes; the unit tests hold it to jansson's form). */
    const char *user = blinkauth_json_quote(p, flow->user_id), *auth = blinkauth_json_quote(p, flow->auth_id);
    const char *verifier = blinkauth_json_quote(p, flow->verifier);
    const char *redirect = blinkauth_json_quote(p, flow->redirect_uri);

    if (!user || !auth || !verifier || !redirect)
        return NULL;
    return apr_pstrcat(p, "{\"v\":1,\"user\":", user, ",\"auth\":", auth, ",\"verifier\":", verifier,
                       ",\"redirect\":", redirect,
                       ",\"created\":", apr_psprintf(p, "%" APR_INT64_T_FMT "}", (apr_int64_t)flow->created), NULL);
}

blinkauth_flow_t *blinkauth_flow_decode(apr_pool_t *p, const char *text, apr_size_t len, const char **why)
{
    blinkauth_flow_t *flow = apr_pcalloc(p, sizeof(*flow));
    json_t *j = blinkauth_json_parse(p, text, len, why);
    json_error_t err;
    json_int_t version = 0, created = 0;

    if (j == NULL)
        return NULL;
    if (json_unpack_ex(j, &err, JSON_STRICT, "{s:I, s:s, s:s, s:s, s:s, s:I}", "v", &version, "user", &flow->user_id,
                       "auth", &flow->auth_id, "verifier", &flow->verifier, "redirect", &flow->redirect_uri, "created",
                       &created) != 0 ||
        version != 1) {
        *why = apr_psprintf(p, "not a flow record (%s)", version != 1 && err.text[0] == '\0' ? "version" : err.text);
        return NULL;
    }
    /* The strings belong to j, which lives as long as p. */
    flow->created = (apr_time_t)created;
    return flow;
}

/* The shard of store that keeps state's record (store itself when it has none).  By the state's
 * second character: shmcb spreads the records of each shard over its subcaches by the first. */
static const blinkauth_flow_store_t *shard_of(const blinkauth_flow_store_t *store, const char *state)
{
    int v;

    if (store->shard == NULL || store->shards < 2 || state[0] == '\0' || state[1] == '\0')
        return store;
    v = blinkauth_crypto_b64url_value((unsigned char)state[1]);
    return &store->shard[(v >= 0 ? v : (unsigned char)state[1]) % store->shards];
}

/* Takes the store's lock when it has one. */
static apr_status_t store_lock(const blinkauth_flow_store_t *store)
{
    return store->mutex ? apr_global_mutex_lock(store->mutex) : APR_SUCCESS;
}

/* Releases the store's lock when it has one. */
static void store_unlock(const blinkauth_flow_store_t *store)
{
    if (store->mutex)
        apr_global_mutex_unlock(store->mutex);
}

apr_status_t blinkauth_flow_put(const blinkauth_flow_store_t *store, apr_pool_t *p, const blinkauth_flow_t *flow,
                                apr_interval_time_t ttl, const char **state)
{
    const char *fresh = blinkauth_crypto_random_token(p);
    const char *text = blinkauth_flow_encode(p, flow);
    const char *key;
    apr_status_t rv;

    if (fresh == NULL || text == NULL || strlen(text) > BLINKAUTH_FLOW_MAX)
        return APR_EGENERAL;
    store = shard_of(store, fresh);
    key = flow_key(store, p, fresh);
    if ((rv = store_lock(store)) != APR_SUCCESS)
        return rv;
    rv = store->provider->store(store->instance, store->server, (const unsigned char *)key, (unsigned int)strlen(key),
                                flow->created + ttl, (unsigned char *)text, (unsigned int)strlen(text), p);
    store_unlock(store);
    if (rv == APR_SUCCESS)
        *state = fresh;
    return rv;
}

apr_status_t blinkauth_flow_take(const blinkauth_flow_store_t *store, apr_pool_t *p, const char *state,
                                 apr_interval_time_t ttl, blinkauth_flow_t **flow, const char **why)
{
    const char *key;
    unsigned char *buf = apr_palloc(p, BLINKAUTH_FLOW_MAX + 1);
    unsigned int len = BLINKAUTH_FLOW_MAX;
    apr_status_t rv;

    *why = NULL;
    store = shard_of(store, state);
    key = flow_key(store, p, state);
    if ((rv = store_lock(store)) != APR_SUCCESS) {
        *why = "cannot take the flow store's lock";
        return rv;
    }
    rv = store->provider->retrieve(store->instance, store->server, (const unsigned char *)key,
                                   (unsigned int)strlen(key), buf, &len, p);
    if (rv == APR_SUCCESS) {
        /* Whoever deletes the record owns it: with a shared store, another server may race us. */
        rv = store->provider->remove(store->instance, store->server, (const unsigned char *)key,
                                     (unsigned int)strlen(key), p);
        if (rv != APR_SUCCESS && rv != APR_NOTFOUND)
            *why = "the flow store failed to delete the record";
    }
    else if (rv != APR_NOTFOUND) {
        *why = "the flow store failed to read";
    }
    store_unlock(store);
    if (rv != APR_SUCCESS)
        return rv;
    if ((*flow = blinkauth_flow_decode(p, (const char *)buf, len, why)) == NULL)
        return APR_EGENERAL;
    if (apr_time_now() - (*flow)->created > ttl)
        return APR_TIMEUP;
    return APR_SUCCESS;
}
