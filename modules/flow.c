/* Flow records: what a Connect leaves for its callback, kept in an httpd socache under a state. */
#include "flow.h"
#include "crypto.h"
#include "json.h"
#include "lock.h"
#include "text.h"

#include <string.h>
#include <apr_escape.h>
#include <apr_strings.h>

#define KEY_PREFIX "blinkauth:"
/* The record a probe stores and reads back, and how long the store keeps it. */
#define PROBE_KEY KEY_PREFIX "probe"
#define PROBE_TTL apr_time_from_sec(5)
/* The longest wait for a store's locks when the store sets none (BlinkAuthTimeout's default). */
#define LOCK_WAIT_DEFAULT apr_time_from_sec(10)

/* What follows a start handle's and a completed flow's name in their cache keys: no state or handle has a dot. */
#define START_SUFFIX ".start"
#define DONE_SUFFIX ".done"
#define PROBE_SUFFIX ".probe"

/* What a start handle's seal authenticates besides the flow, so that no other text of ours sealed under the same key
 * opens as a handle; and what the handle key is derived for. */
#define HANDLE_AAD "blinkauth-start-handle:1"
#define HANDLE_KEY_PURPOSE "blinkauth start handles"

/* What an exclusive store keeps in place of a flow record its callback took: its start URL must not bind it again. */
#define SPENT_RECORD "{\"v\":1,\"spent\":1}"

/* Why a start URL is refused, where bind and claim both say it. */
#define WHY_ELSEWHERE "the connect was made under another <Location> (another app, or another callback)"
#define WHY_BOUND "the connect is bound to a browser already (the start URL was opened)"
#define WHY_LATE "the start URL is older than BlinkAuthStartTimeout"
/* Why a start URL or a callback finds the spent mark, where fetch_flow and claim both say it. */
#define WHY_DONE "the connect was completed already"

/* Up to this many dots follow the state in a key of our own store (see flow_key). */
#define KEY_PAD_MAX 31

/* The cache key of a state: "blinkauth:<state>" in a store that may be shared, the bare state in
 * one of our own.  shmcb picks one of its subcaches by the key's first byte, so a common prefix
 * crowded every record into one: the default 512 KB cache kept 72 pending flows instead of ~1,100.
 * In our own store the state is followed by 0 to KEY_PAD_MAX dots, as many as its third character
 * says: shmcb compares a key with every key of its subcache that has the same length (each store
 * looks for one to replace), ~70 at a time, each a cache miss in shared memory; spread over 16
 * lengths, a store compares ~5. */
static const char *flow_key(const blinkauth_flow_store_t *store, apr_pool_t *p, const char *state)
{
    static const char dots[KEY_PAD_MAX + 1] = "...............................";
    int pad = state[0] && state[1] && state[2] ? blinkauth_crypto_b64url_value((unsigned char)state[2]) : 0;

    if (!store->bare_keys)
        return apr_pstrcat(p, KEY_PREFIX, state, NULL);
    return apr_pstrcat(p, state, dots + KEY_PAD_MAX - (pad > 0 ? pad & KEY_PAD_MAX : 0), NULL);
}

apr_status_t blinkauth_flow_secrets(apr_pool_t *p, blinkauth_flow_t *flow, int nonce)
{
    flow->verifier = blinkauth_crypto_random_token(p);
    flow->nonce = nonce ? blinkauth_crypto_random_token(p) : NULL;
    return flow->verifier && (flow->nonce || !nonce) ? APR_SUCCESS : APR_EGENERAL;
}

const char *blinkauth_flow_encode(apr_pool_t *p, const blinkauth_flow_t *flow)
{
    /* Written directly rather than with json_pack + json_dumps: it is on every Connect, and this is several times
     * cheaper (the same bytes; the unit tests hold it to jansson's form). */
    const blinkauth_json_member_t members[] = {
        {"v", "1", 1},
        {"user", flow->user_id, 0},
        {"auth", flow->auth_id, 0},
        {"verifier", flow->verifier, 0},
        {"redirect", flow->redirect_uri, 0},
        {"nonce", flow->nonce, 0},
        {"browser", flow->browser, 0},
        {"created", apr_off_t_toa(p, (apr_off_t)flow->created), 1},
    };

    _Static_assert(sizeof(members) / sizeof(members[0]) <= BLINKAUTH_JSON_MEMBERS_MAX, "a flow has too many members");

    if (!flow->user_id || !flow->auth_id || !flow->redirect_uri)
        return NULL;
    return blinkauth_json_object(p, members, sizeof(members) / sizeof(members[0]));
}

blinkauth_flow_t *blinkauth_flow_decode(apr_pool_t *p, const char *text, apr_size_t len, const char **why)
{
    blinkauth_flow_t *flow = apr_pcalloc(p, sizeof(*flow));
    json_t *j = blinkauth_json_parse(p, text, len, why);
    json_error_t err;
    json_int_t version = 0, created = 0;

    if (j == NULL)
        return NULL;
    if (json_unpack_ex(j, &err, JSON_STRICT, "{s:I, s:s, s:s, s?s, s:s, s?s, s?s, s:I}", "v", &version, "user",
                       &flow->user_id, "auth", &flow->auth_id, "verifier", &flow->verifier, "redirect",
                       &flow->redirect_uri, "nonce", &flow->nonce, "browser", &flow->browser, "created",
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

/* rv, unless a caller would read it as an answer about a record (none, too old, another browser's, unusable, bound):
 * then BLINKAUTH_FLOW_UNAVAILABLE. */
static apr_status_t unavailable(apr_status_t rv)
{
    if (rv == APR_NOTFOUND || rv == APR_TIMEUP || rv == APR_EACCES || rv == APR_EBADF || rv == APR_EEXIST)
        return BLINKAUTH_FLOW_UNAVAILABLE;
    return rv;
}

/* Takes the store's global lock by deadline (blinkauth_lock_global: EDEADLK is asked again until deadline).
 * store->local (one lock for every shard) keeps this process from holding one shard while it waits for another, so
 * that our own fcntl locks cannot make an EDEADLK cycle.  File locks have no timed wait (APR's polls every 10 ms), so
 * with store->local they are waited for plainly: a holder holds one for a memory copy. */
static apr_status_t global_lock(const blinkauth_flow_store_t *store, apr_time_t deadline)
{
    return blinkauth_lock_global(store->mutex, deadline, store->local != NULL);
}

/* Takes the store's locks when it has them (the process's own, then the global one) within its lock_wait;
 * BLINKAUTH_FLOW_UNAVAILABLE when they were not had in time. */
static apr_status_t store_lock(const blinkauth_flow_store_t *store)
{
    apr_time_t deadline = apr_time_now() + (store->lock_wait > 0 ? store->lock_wait : LOCK_WAIT_DEFAULT);
    apr_status_t rv;

    if (store->mutex == NULL)
        return APR_SUCCESS;
    if (store->local &&
        (rv = apr_thread_mutex_timedlock(store->local, blinkauth_lock_time_left(deadline))) != APR_SUCCESS)
        return unavailable(rv);
    if ((rv = global_lock(store, deadline)) != APR_SUCCESS && store->local)
        apr_thread_mutex_unlock(store->local);
    return unavailable(rv);
}

/* Releases the store's locks when it has them. */
static void store_unlock(const blinkauth_flow_store_t *store)
{
    if (store->mutex == NULL)
        return;
    apr_global_mutex_unlock(store->mutex);
    if (store->local)
        apr_thread_mutex_unlock(store->local);
}

/* APR_SUCCESS when the store answers: a probe record is stored and read back; else the store's error. */
static apr_status_t probe(const blinkauth_flow_store_t *store, apr_pool_t *p)
{
    unsigned char buf[8];
    unsigned int len = sizeof(buf);
    apr_status_t rv =
        store->provider->store(store->instance, store->server, (const unsigned char *)PROBE_KEY, sizeof(PROBE_KEY) - 1,
                               apr_time_now() + PROBE_TTL, (unsigned char *)"1", 1, p);

    if (rv == APR_SUCCESS)
        rv = store->provider->retrieve(store->instance, store->server, (const unsigned char *)PROBE_KEY,
                                       sizeof(PROBE_KEY) - 1, buf, &len, p);
    return rv;
}

/* The text a record is kept as (json of *n bytes, then the text's, set in *n): "<seal>.<json>" with the store's key,
 * the JSON itself without one. The lengths are carried, not measured again: the record is on every Connect. */
static const char *sealed(const blinkauth_flow_store_t *store, apr_pool_t *p, const char *json, apr_size_t *n)
{
    const char *seal;
    apr_size_t m;
    char *text;

    if (!store->sealed)
        return json;
    seal = blinkauth_crypto_hmac(p, store->seal_key, sizeof(store->seal_key), json, *n);
    m = strlen(seal); /* 0 when the MAC failed: a seal that never verifies */
    text = apr_palloc(p, m + 1 + *n + 1);
    memcpy(text, seal, m);
    text[m] = '.';
    memcpy(text + m + 1, json, *n + 1);
    *n += m + 1;
    return text;
}

/* The JSON of a kept record (NUL-terminated buf of len bytes) when its seal verifies, setting *n; else NULL. */
static const char *unsealed(const blinkauth_flow_store_t *store, apr_pool_t *p, const char *buf, apr_size_t len,
                            apr_size_t *n)
{
    const char *dot = memchr(buf, '.', len);
    const char *json = dot ? dot + 1 : NULL;

    *n = len;
    if (!store->sealed)
        return buf;
    if (dot == NULL || (apr_size_t)(dot - buf) != BLINKAUTH_RANDOM_B64_LEN)
        return NULL;
    *n = len - (apr_size_t)(json - buf);
    if (!blinkauth_crypto_secret_equal(apr_pstrmemdup(p, buf, (apr_size_t)(dot - buf)),
                                       blinkauth_crypto_hmac(p, store->seal_key, sizeof(store->seal_key), json, *n)))
        return NULL;
    return json;
}

/* The text json is kept as (sealed with the store's key, which every shard shares), setting *n; NULL for no json or
 * one too long for a record. Made before the lock is taken: a seal is an HMAC, and the lock is held only to store. */
static const char *record_text(const blinkauth_flow_store_t *store, apr_pool_t *p, const char *json, apr_size_t *n)
{
    const char *text;

    /* Checked before sealing: the seal of a NULL record (a flow that would not encode) read through NULL. */
    if (json == NULL)
        return NULL;
    *n = strlen(json);
    text = sealed(store, p, json, n);
    return *n > BLINKAUTH_FLOW_MAX ? NULL : text;
}

/* Stores text (n bytes, from record_text) under key (of the shard store) until expiry; the caller holds the lock. */
static apr_status_t keep_text(const blinkauth_flow_store_t *store, apr_pool_t *p, const char *key, apr_time_t expiry,
                              const char *text, apr_size_t n)
{
    return store->provider->store(store->instance, store->server, (const unsigned char *)key, (unsigned int)strlen(key),
                                  expiry, (unsigned char *)text, (unsigned int)n, p);
}

/* Stores json sealed under key (of the shard store) until expiry; the caller holds the lock. */
static apr_status_t keep(const blinkauth_flow_store_t *store, apr_pool_t *p, const char *key, apr_time_t expiry,
                         const char *json)
{
    apr_size_t n = 0;
    const char *text = record_text(store, p, json, &n);

    return text ? keep_text(store, p, key, expiry, text, n) : APR_EGENERAL;
}

/* Reads the record under key (of the shard store) into *json (its seal verified); the caller holds the lock.
 * APR_NOTFOUND, APR_EBADF for a seal that does not verify (with *why), or the store's error (with *why). apr_redis and
 * apr_memcache report a server that does not answer as APR_NOTFOUND: with store->probe and probe_miss, a probe tells
 * that apart (BLINKAUTH_FLOW_UNAVAILABLE), on the not-found path only; a caller that has just seen the store answer
 * passes probe_miss 0 and spares it the probe's write. */
static apr_status_t fetch(const blinkauth_flow_store_t *store, apr_pool_t *p, const char *key, const char **json,
                          apr_size_t *n, const char **why, int probe_miss)
{
    unsigned char *buf = apr_palloc(p, BLINKAUTH_FLOW_MAX + 1);
    unsigned int len = BLINKAUTH_FLOW_MAX;
    apr_status_t rv = store->provider->retrieve(store->instance, store->server, (const unsigned char *)key,
                                                (unsigned int)strlen(key), buf, &len, p);

    if (rv == APR_NOTFOUND && store->probe && probe_miss && probe(store, p) != APR_SUCCESS) {
        *why = "the flow store is not answering (the record was not found, and a probe record could not be stored "
               "and read back)";
        return BLINKAUTH_FLOW_UNAVAILABLE;
    }
    if (rv != APR_SUCCESS) {
        *why = rv == APR_NOTFOUND ? NULL : "the flow store failed to read";
        return rv == APR_NOTFOUND ? rv : unavailable(rv);
    }
    buf[len] = '\0';
    if ((*json = unsealed(store, p, (const char *)buf, len, n)) == NULL) {
        *why = "the record's seal does not verify (altered in the store, or sealed under another BlinkAuthStateKey)";
        return APR_EBADF;
    }
    return APR_SUCCESS;
}

/* Deletes the record under key (of the shard store); the caller holds the lock. Whoever deletes a record owns it:
 * with a shared store, another server may race us, and then APR_NOTFOUND says it won. */
static apr_status_t drop(const blinkauth_flow_store_t *store, apr_pool_t *p, const char *key, const char **why)
{
    apr_status_t rv = store->provider->remove(store->instance, store->server, (const unsigned char *)key,
                                              (unsigned int)strlen(key), p);

    if (rv != APR_SUCCESS && rv != APR_NOTFOUND)
        *why = "the flow store failed to delete the record";
    else if (rv == APR_NOTFOUND)
        *why = "another request took the record first";
    return rv;
}

/* Takes the lock of the shard that keeps name (a state or a start handle), moving *store to that shard and setting
 * *key to name's key with suffix ("", START_SUFFIX, DONE_SUFFIX, PROBE_SUFFIX); the store's error with *why when the
 * lock cannot be had. */
static apr_status_t lock_for(const blinkauth_flow_store_t **store, apr_pool_t *p, const char *name, const char *suffix,
                             const char **key, const char **why)
{
    apr_status_t rv;

    *why = NULL;
    *store = shard_of(*store, name);
    *key = apr_pstrcat(p, flow_key(*store, p, name), suffix, NULL);
    if ((rv = store_lock(*store)) != APR_SUCCESS)
        *why = "cannot take the flow store's lock (in BlinkAuthTimeout)";
    return rv;
}

/* Stores json under the key of name with suffix (see lock_for), in the shard that keeps name, under its lock. */
static apr_status_t keep_locked(const blinkauth_flow_store_t *store, apr_pool_t *p, const char *name,
                                const char *suffix, apr_time_t expiry, const char *json)
{
    const char *key, *why;
    apr_size_t n = 0;
    const char *text = record_text(store, p, json, &n);
    apr_status_t rv;

    if (text == NULL)
        return APR_EGENERAL;
    if ((rv = lock_for(&store, p, name, suffix, &key, &why)) != APR_SUCCESS)
        return rv;
    rv = keep_text(store, p, key, expiry, text, n);
    store_unlock(store);
    return rv;
}

/* What the state of a start handle begins with: the state is a hash of its own, apart from the handle's other hashes.
 */
#define STATE_PREFIX "blinkauth-state:"

const char *blinkauth_flow_state_of(apr_pool_t *p, const char *handle)
{
    return blinkauth_crypto_sha256_b64url(p, apr_pstrcat(p, STATE_PREFIX, handle, NULL));
}

apr_status_t blinkauth_flow_put(const blinkauth_flow_store_t *store, apr_pool_t *p, const blinkauth_flow_t *flow,
                                apr_interval_time_t ttl, const char **handle, const char **state)
{
    const char *fresh = blinkauth_crypto_random_token(p);
    const char *json = flow->verifier ? blinkauth_flow_encode(p, flow) : NULL;
    const char *named;
    apr_status_t rv;

    if (fresh == NULL || json == NULL)
        return APR_EGENERAL;
    named = blinkauth_flow_state_of(p, fresh);
    rv = keep_locked(store, p, named, "", flow->created + ttl, json);
    if (rv == APR_SUCCESS) {
        *handle = fresh;
        *state = named;
    }
    return rv;
}

apr_status_t blinkauth_flow_handle_seal(const blinkauth_flow_store_t *store, apr_pool_t *p,
                                        const blinkauth_flow_t *flow, const char **handle)
{
    const blinkauth_flow_t carried = {.user_id = flow->user_id,
                                      .auth_id = flow->auth_id,
                                      .redirect_uri = flow->redirect_uri,
                                      .created = flow->created};
    const char *json = store->sealed ? blinkauth_flow_encode(p, &carried) : NULL; /* no key, no handle */
    const char *sealed = json ? blinkauth_crypto_seal(p, store->handle_key, HANDLE_AAD, json, strlen(json)) : NULL;

    if (sealed == NULL || strlen(sealed) > BLINKAUTH_FLOW_HANDLE_MAX)
        return APR_EGENERAL;
    *handle = sealed;
    return APR_SUCCESS;
}

/* 1 when json (n bytes) is the spent mark. */
static int is_spent(const char *json, apr_size_t n)
{
    return n == sizeof(SPENT_RECORD) - 1 && memcmp(json, SPENT_RECORD, n) == 0;
}

/* The flow record under key read into *flow; the caller holds the lock. As fetch, APR_NOTFOUND (with *why) for the
 * spent mark, and APR_EBADF (with *why) for a record that is not a flow record. */
static apr_status_t fetch_flow(const blinkauth_flow_store_t *store, apr_pool_t *p, const char *key,
                               blinkauth_flow_t **flow, const char **why)
{
    const char *json = NULL;
    apr_size_t n = 0;
    apr_status_t rv = fetch(store, p, key, &json, &n, why, 1);

    if (rv == APR_SUCCESS && is_spent(json, n)) {
        *why = WHY_DONE;
        rv = APR_NOTFOUND;
    }
    else if (rv == APR_SUCCESS && (*flow = blinkauth_flow_decode(p, json, n, why)) == NULL)
        rv = APR_EBADF;
    else if (rv == APR_SUCCESS && (*flow)->verifier == NULL) {
        *why = "not a flow record (no verifier)";
        rv = APR_EBADF;
    }
    return rv;
}

/* After a fetch that ended in rv: deletes the record when it was read (it is used once) or unusable (of no use to
 * anyone); the lock is held. The status the taker gets (rv, or the delete's), *why kept for an unusable one. */
static apr_status_t take_out(const blinkauth_flow_store_t *store, apr_pool_t *p, const char *key, apr_status_t rv,
                             const char **why)
{
    const char *unusable_why = *why;
    apr_status_t dropped;

    if (rv != APR_SUCCESS && rv != APR_EBADF)
        return rv;
    dropped = drop(store, p, key, why);
    if (rv == APR_EBADF)
        *why = unusable_why;
    return rv == APR_SUCCESS ? dropped : rv;
}

/* Puts the spent mark in the place of the flow record under key until expiry, the record's own (or deletes the record
 * when that has passed); the lock is held. In an exclusive store a start URL keeps its flow only where nothing is. */
static apr_status_t spend(const blinkauth_flow_store_t *store, apr_pool_t *p, const char *key, apr_time_t expiry,
                          const char **why)
{
    apr_status_t rv;

    if (expiry <= apr_time_now())
        return drop(store, p, key, why);
    if ((rv = keep(store, p, key, expiry, SPENT_RECORD)) != APR_SUCCESS)
        *why = "the flow store refused the spent mark";
    return rv;
}

apr_status_t blinkauth_flow_take(const blinkauth_flow_store_t *store, apr_pool_t *p, const char *state,
                                 apr_interval_time_t ttl, const char *browser, blinkauth_flow_t **flow,
                                 const char **why)
{
    const char *key;
    apr_status_t rv, marked;

    *flow = NULL;
    if ((rv = lock_for(&store, p, state, "", &key, why)) != APR_SUCCESS)
        return rv;
    rv = fetch_flow(store, p, key, flow, why);
    if (rv == APR_SUCCESS && browser &&
        ((*flow)->browser == NULL || !blinkauth_crypto_secret_equal(browser, (*flow)->browser))) {
        *why =
            (*flow)->browser ? "the browser is not the one that opened the start URL" : "the start URL was not opened";
        rv = APR_EACCES;
    }
    else if (rv == APR_SUCCESS && blinkauth_flow_store_exclusive(store)) {
        rv = spend(store, p, key, (*flow)->created + ttl, why);
    }
    else if (rv == APR_EBADF && blinkauth_flow_store_exclusive(store)) {
        /* Unusable, and no time of its own to go by: marked spent for ttl, so no start URL can store its state. *why
         * stays the record's: spend sets it only when the mark fails. */
        if ((marked = spend(store, p, key, apr_time_now() + ttl, why)) != APR_SUCCESS)
            rv = marked;
    }
    else {
        rv = take_out(store, p, key, rv, why);
    }
    store_unlock(store);
    if (rv == APR_SUCCESS && apr_time_now() - (*flow)->created > ttl) {
        *why = "the flow record is older than BlinkAuthStateTimeout";
        rv = APR_TIMEUP;
    }
    if (rv == APR_SUCCESS)
        *why = NULL;
    return rv;
}

/* 1 when the flow was made for the opener's app and <Location>: its Auth ID, and the path of its redirect URI. */
static int made_for(const blinkauth_flow_t *flow, const blinkauth_flow_opener_t *by)
{
    blinkauth_url_parts_t u;

    blinkauth_text_url_split(flow->redirect_uri, &u);
    return strcmp(flow->auth_id, by->auth_id) == 0 && strcmp(u.path, by->redirect_path) == 0;
}

/* 1 when the start URL of flow is opened too late: after by->open_ttl, or after the flow's own by->ttl. */
static int too_late(const blinkauth_flow_t *flow, const blinkauth_flow_opener_t *by)
{
    apr_interval_time_t age = apr_time_now() - flow->created;

    return age > by->open_ttl || age > by->ttl;
}

apr_status_t blinkauth_flow_bind(const blinkauth_flow_store_t *store, apr_pool_t *p, const char *state,
                                 const blinkauth_flow_opener_t *by, blinkauth_flow_t **flow, const char **why)
{
    const char *key;
    apr_status_t rv;

    *flow = NULL;
    if ((rv = lock_for(&store, p, state, "", &key, why)) != APR_SUCCESS)
        return rv;
    rv = fetch_flow(store, p, key, flow, why);
    if (rv == APR_SUCCESS && !made_for(*flow, by)) {
        /* Left in place, unbound: the start URL was opened under another app's or another callback's <Location>. */
        *why = WHY_ELSEWHERE;
        rv = APR_EACCES;
    }
    else if (rv == APR_SUCCESS && (*flow)->browser != NULL) {
        *why = WHY_BOUND;
        rv = APR_EEXIST;
    }
    else if (rv == APR_SUCCESS && too_late(*flow, by)) {
        /* Left in place: unbound, no callback can use it, and it goes when its own ttl ends. */
        *why = WHY_LATE;
        rv = APR_TIMEUP;
    }
    else if (rv == APR_SUCCESS) {
        (*flow)->browser = by->browser;
        rv = keep(store, p, key, (*flow)->created + by->ttl, blinkauth_flow_encode(p, *flow));
        if (rv != APR_SUCCESS)
            *why = "the flow store refused the bound record";
    }
    store_unlock(store);
    return rv;
}

apr_status_t blinkauth_flow_start_put(const blinkauth_flow_store_t *store, apr_pool_t *p, const char *handle,
                                      const char *state, const char *url, apr_interval_time_t ttl)
{
    const blinkauth_json_member_t members[] = {{"state", state, 0}, {"url", url, 0}};
    const char *json = state && url ? blinkauth_json_object(p, members, 2) : NULL;

    if (json == NULL)
        return APR_EGENERAL;
    return keep_locked(store, p, handle, START_SUFFIX, apr_time_now() + ttl, json);
}

/* Reads and deletes the start record of handle into *state and *url: APR_NOTFOUND when there is none (opened, or
 * expired), APR_EBADF (with *why) when it is not one or its seal does not verify, another error when the store failed
 * (with *why; as take). probe_miss as fetch's. */
static apr_status_t start_take(const blinkauth_flow_store_t *store, apr_pool_t *p, const char *handle,
                               const char **state, const char **url, const char **why, int probe_miss)
{
    const char *key, *json = NULL;
    apr_size_t n = 0;
    apr_status_t rv;
    json_t *j;

    if ((rv = lock_for(&store, p, handle, START_SUFFIX, &key, why)) != APR_SUCCESS)
        return rv;
    rv = take_out(store, p, key, fetch(store, p, key, &json, &n, why, probe_miss), why);
    store_unlock(store);
    if (rv != APR_SUCCESS)
        return rv;
    j = blinkauth_json_parse(p, json, n, why);
    if (j == NULL || json_unpack(j, "{s:s, s:s}", "state", state, "url", url) != 0) {
        *why = "not a start record";
        return APR_EBADF;
    }
    *why = NULL;
    return APR_SUCCESS;
}

int blinkauth_flow_store_exclusive(const blinkauth_flow_store_t *store)
{
    return store->mutex != NULL;
}

/* The flow a sealed handle carries, into *flow; APR_EBADF (with *why) when the handle does not open to one. */
static apr_status_t handle_open(const blinkauth_flow_store_t *store, apr_pool_t *p, const char *handle,
                                blinkauth_flow_t **flow, const char **why)
{
    apr_size_t n = 0;
    const char *json =
        store->sealed ? (const char *)blinkauth_crypto_open(p, store->handle_key, HANDLE_AAD, handle, &n) : NULL;

    if (json == NULL || (*flow = blinkauth_flow_decode(p, json, n, why)) == NULL || (*flow)->browser != NULL) {
        *flow = NULL;
        *why = "the start URL's handle does not open here (altered or cut; or made by another server, by this "
               "one before a stop and start, or under another BlinkAuthStateKey)";
        return APR_EBADF;
    }
    return APR_SUCCESS;
}

/* Opens a sealed handle (exclusive stores): its flow, made for by's <Location> and opened in time, is kept under state
 * bound to by->browser, unless a record is there already: APR_EEXIST (opened before, or completed). Else as bind. */
static apr_status_t claim(const blinkauth_flow_store_t *store, apr_pool_t *p, const char *handle, const char *state,
                          const blinkauth_flow_opener_t *by, blinkauth_flow_t **flow, const char **why)
{
    const char *key, *text, *json = NULL;
    apr_size_t n = 0, m = 0;
    apr_status_t rv = handle_open(store, p, handle, flow, why);

    if (rv != APR_SUCCESS)
        return rv;
    if (!made_for(*flow, by)) {
        *why = WHY_ELSEWHERE;
        return APR_EACCES;
    }
    /* Made now, never carried (a handle an earlier version sealed had them: made again, as no URL was made yet). */
    if (blinkauth_flow_secrets(p, *flow, by->nonce) != APR_SUCCESS) {
        *why = "no randomness for the PKCE verifier";
        return APR_EGENERAL;
    }
    (*flow)->browser = by->browser;
    if ((text = record_text(store, p, blinkauth_flow_encode(p, *flow), &n)) == NULL) {
        *why = "the connect does not make a flow record";
        return APR_EGENERAL;
    }
    if ((rv = lock_for(&store, p, state, "", &key, why)) != APR_SUCCESS)
        return rv;
    /* Asked under the lock, which may have been waited for. */
    rv = too_late(*flow, by) ? APR_TIMEUP : fetch(store, p, key, &json, &m, why, 0);
    if (rv == APR_TIMEUP)
        *why = WHY_LATE;
    else if (rv == APR_SUCCESS || rv == APR_EBADF) {
        *why = rv == APR_EBADF     ? "an unusable record is kept under the start URL's state"
               : is_spent(json, m) ? WHY_DONE
                                   : WHY_BOUND;
        rv = APR_EEXIST;
    }
    else if (rv == APR_NOTFOUND && (rv = keep_text(store, p, key, (*flow)->created + by->ttl, text, n)) != APR_SUCCESS)
        *why = "the flow store refused the bound record";
    store_unlock(store);
    return rv;
}

apr_status_t blinkauth_flow_open(const blinkauth_flow_store_t *store, apr_pool_t *p, const char *handle,
                                 const blinkauth_flow_opener_t *by, const char **state, const char **url,
                                 blinkauth_flow_t **flow, const char **why)
{
    const char *named = blinkauth_flow_state_of(p, handle);
    int exclusive = blinkauth_flow_store_exclusive(store);
    apr_status_t rv;

    *state = *url = NULL;
    *flow = NULL;
    /* A handle that carries its connect: this version's in an exclusive store (where a record kept can be checked and
     * written under one lock), nothing to open in another. */
    if (strlen(handle) != BLINKAUTH_RANDOM_B64_LEN) {
        if (exclusive) {
            *state = named;
            return claim(store, p, handle, named, by, flow, why);
        }
        *why = "the start URL carries its connect, which only a flow store the module locks (shmcb) opens; this one "
               "has no lock (was BlinkAuthCache changed?)";
        return APR_EBADF;
    }
    /* An exclusive store keeps one record, under the handle's state. */
    if (exclusive && (rv = blinkauth_flow_bind(store, p, named, by, flow, why)) != APR_NOTFOUND) {
        *state = named;
        return rv;
    }
    /* Else a start record: this version's in a store without a lock, or one an earlier version left (found without a
     * second probe: the bind's has just been made). */
    rv = start_take(store, p, handle, state, url, why, !exclusive);
    if (rv == APR_NOTFOUND)
        *why = exclusive ? "no connect for this handle: completed, or older than BlinkAuthStateTimeout"
                         : "no start record for this handle: opened, or older than BlinkAuthStartTimeout";
    if (rv != APR_SUCCESS) {
        *state = *url = NULL;
        return rv;
    }
    return blinkauth_flow_bind(store, p, *state, by, flow, why);
}

apr_status_t blinkauth_flow_done_put(const blinkauth_flow_store_t *store, apr_pool_t *p, const char *state,
                                     const char *browser, const char *account, apr_interval_time_t ttl)
{
    const blinkauth_json_member_t members[] = {{"browser", browser, 0}, {"account", account, 0}};
    const char *json = browser && account ? blinkauth_json_object(p, members, 2) : NULL;

    if (json == NULL)
        return APR_EGENERAL;
    return keep_locked(store, p, state, DONE_SUFFIX, apr_time_now() + ttl, json);
}

apr_status_t blinkauth_flow_done_get(const blinkauth_flow_store_t *store, apr_pool_t *p, const char *state,
                                     const char *browser, const char **account)
{
    const char *json = NULL, *why = NULL, *kept = NULL, *key;
    apr_size_t n = 0;
    apr_status_t rv;
    json_t *j;

    if ((rv = lock_for(&store, p, state, DONE_SUFFIX, &key, &why)) != APR_SUCCESS)
        return rv;
    /* Asked after a take found no record, so the store has just answered: no probe again. */
    rv = fetch(store, p, key, &json, &n, &why, 0);
    store_unlock(store);
    if (rv != APR_SUCCESS)
        return rv;
    j = blinkauth_json_parse(p, json, n, &why);
    if (j == NULL || json_unpack(j, "{s:s, s:s}", "browser", &kept, "account", account) != 0)
        return APR_EBADF;
    return blinkauth_crypto_secret_equal(browser, kept) ? APR_SUCCESS : APR_EACCES;
}

apr_status_t blinkauth_flow_probe(const blinkauth_flow_store_t *store, apr_pool_t *p, const char **why)
{
    const char *name = blinkauth_crypto_random_token(p), *key, *json = NULL;
    apr_size_t n = 0;
    apr_status_t rv;

    *why = "no randomness for the probe's key";
    if (name == NULL || (rv = lock_for(&store, p, name, PROBE_SUFFIX, &key, why)) != APR_SUCCESS)
        return name ? rv : APR_EGENERAL;
    if ((rv = keep(store, p, key, apr_time_now() + apr_time_from_sec(10), "{}")) != APR_SUCCESS)
        *why = "the flow store refused to store the probe";
    else if ((rv = fetch(store, p, key, &json, &n, why, 1)) == APR_SUCCESS)
        rv = drop(store, p, key, why);
    else if (rv == APR_NOTFOUND)
        *why = "the flow store lost the probe it had just stored";
    store_unlock(store);
    return rv;
}

const blinkauth_flow_store_t *blinkauth_flow_store_shard(const blinkauth_flow_store_t *store, const char *name)
{
    return shard_of(store, name);
}

apr_status_t blinkauth_flow_store_lock(const blinkauth_flow_store_t *store)
{
    return store_lock(store);
}

void blinkauth_flow_store_unlock(const blinkauth_flow_store_t *store)
{
    store_unlock(store);
}

apr_status_t blinkauth_flow_store_probe(const blinkauth_flow_store_t *store, apr_pool_t *p)
{
    return probe(store, p);
}

apr_status_t blinkauth_flow_store_seal_with(blinkauth_flow_store_t *store, const unsigned char *key,
                                            const unsigned char *id)
{
    /* "<HANDLE_KEY_PURPOSE> <id in hex>" */
    char purpose[sizeof(HANDLE_KEY_PURPOSE) + 2 * BLINKAUTH_FLOW_STORE_ID_BYTES + 1] = HANDLE_KEY_PURPOSE " ";

    apr_escape_hex(purpose + sizeof(HANDLE_KEY_PURPOSE), id, BLINKAUTH_FLOW_STORE_ID_BYTES, 0, NULL);
    store->sealed = 1;
    memcpy(store->seal_key, key, sizeof(store->seal_key));
    return blinkauth_crypto_key_for(key, purpose, store->handle_key) ? APR_SUCCESS : APR_EGENERAL;
}
