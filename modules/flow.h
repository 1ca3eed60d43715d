/* Flow records: what a Connect leaves for its callback, kept in an httpd socache under a state. */
#ifndef BLINKAUTH_FLOW_H
#define BLINKAUTH_FLOW_H

#include <apr_pools.h>
#include <apr_time.h>
#include <apr_global_mutex.h>
#include "ap_socache.h"

/* Largest encoded flow record. */
#define BLINKAUTH_FLOW_MAX 8192

/* One connect in progress. */
typedef struct {
    const char *user_id;      /* the Blink user who clicked Connect */
    const char *auth_id;      /* the app's Auth ID */
    const char *verifier;     /* the PKCE code verifier; never leaves the server */
    const char *redirect_uri; /* the redirect_uri sent in the authorization URL */
    apr_time_t created;
} blinkauth_flow_t;

/* Where flow records live: a socache provider and instance, and the lock that makes take atomic.
 * A store may be split into shards, each a complete store of its own; a state's record lives in
 * the shard its second character selects. */
typedef struct blinkauth_flow_store_t {
    const ap_socache_provider_t *provider;
    ap_socache_instance_t *instance;
    server_rec *server;        /* only for the provider's own logging */
    apr_global_mutex_t *mutex; /* may be NULL when the provider is safe without it */
    int bare_keys;             /* 1 when the store is ours alone (shmcb): the key is the state itself */
    const struct blinkauth_flow_store_t *shard; /* shards of this store, or NULL: it is one */
    int shards;
} blinkauth_flow_store_t;

/* The flow record as text (JSON); NULL when a field is missing or not UTF-8. */
const char *blinkauth_flow_encode(apr_pool_t *p, const blinkauth_flow_t *flow);

/* The flow record read back from text; NULL when it is not one (with *why). */
blinkauth_flow_t *blinkauth_flow_decode(apr_pool_t *p, const char *text, apr_size_t len, const char **why);

/* Stores flow under a fresh random state, expiring after ttl; sets *state. */
apr_status_t blinkauth_flow_put(const blinkauth_flow_store_t *store, apr_pool_t *p, const blinkauth_flow_t *flow,
                                apr_interval_time_t ttl, const char **state);

/* Reads and deletes the flow record of state, so it can be used once.
 * APR_NOTFOUND when there is none, APR_TIMEUP when it is older than ttl, another error when the
 * store failed (with *why). */
apr_status_t blinkauth_flow_take(const blinkauth_flow_store_t *store, apr_pool_t *p, const char *state,
                                 apr_interval_time_t ttl, blinkauth_flow_t **flow, const char **why);

#endif
