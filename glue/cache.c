/* The flow store's lifecycle in httpd: provider chosen by BlinkAuthCache, created, attached after fork. */
#include "cache.h"
#include "crypto.h"
#include "counters.h"

#include "ap_provider.h"
#include "ap_socache.h"
#include "util_mutex.h"
#include "apr_strings.h"

#define MUTEX_TYPE "blinkauth-flow"
#define DEFAULT_PROVIDER "shmcb"
/* shmcb is split into this many caches, each behind its own mutex: with one, every Connect and
 * callback of the server queued on one cross-process lock, and a holder descheduled under load
 * stalled them all (a third of httpd's CPU went to futex calls at 50 connections). */
#define SHARDS 8
#define SHARD_MIN_SIZE 65536

static const ap_socache_provider_t *provider;
static const char *provider_arg;        /* what followed "name:" in BlinkAuthCache, or NULL */
static ap_socache_instance_t *instance; /* made by the directive; for shmcb only a check */
static apr_global_mutex_t *mutex[SHARDS];
static blinkauth_flow_store_t store, shard[SHARDS];
static int shards;
static unsigned char state_key[BLINKAUTH_SEAL_KEY_BYTES]; /* from BlinkAuthStateKey, when key_set */
static int key_set;

/* Least length of BlinkAuthStateKey's secret: 32 random characters carry 190 bits or more. */
#define STATE_KEY_MIN 32
/* The name of the random key kept across graceful restarts when BlinkAuthStateKey is unset. */
#define RETAINED_KEY "mod_blinkauth-state-key"

/* Looks up a socache provider by name, with a hint at the module that provides it. */
static const char *provider_lookup(apr_pool_t *p, const char *name, const ap_socache_provider_t **out)
{
    *out = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, name, AP_SOCACHE_PROVIDER_VERSION);
    if (*out == NULL)
        return apr_psprintf(p, "no socache provider '%s': load mod_socache_%s (LoadModule socache_%s_module)", name,
                            name, name);
    return NULL;
}

const char *blinkauth_cache_cmd(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    const char *sep = strchr(arg, ':');
    const char *name = sep ? apr_pstrmemdup(cmd->temp_pool, arg, (apr_size_t)(sep - arg)) : arg;

    if (err)
        return err;
    if ((err = provider_lookup(cmd->pool, name, &provider)) != NULL)
        return apr_pstrcat(cmd->pool, "BlinkAuthCache: ", err, NULL);
    provider_arg = sep ? apr_pstrdup(cmd->pool, sep + 1) : NULL;
    err = provider->create(&instance, provider_arg, cmd->temp_pool, cmd->pool);
    if (err) {
        provider = NULL;
        return apr_pstrcat(cmd->pool, "BlinkAuthCache: ", err, NULL);
    }
    return NULL;
}

const char *blinkauth_cache_state_key_cmd(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY), *secret = NULL;

    if (err || (err = blinkauth_cmd_secret(cmd, arg, &secret)) != NULL)
        return err;
    if (strlen(secret) < STATE_KEY_MIN)
        return apr_psprintf(cmd->pool,
                            "BlinkAuthStateKey: the key has %d characters, fewer than %d (make one with: openssl rand "
                            "-base64 48)",
                            (int)strlen(secret), STATE_KEY_MIN);
    blinkauth_crypto_key_derive(secret, state_key);
    key_set = 1;
    return NULL;
}

/* The key that seals flow records: BlinkAuthStateKey's, else one made at the first start and kept (httpd's retained
 * data) across graceful restarts, so that a connect started before one finishes after it. NULL without randomness. */
static const unsigned char *seal_key(void)
{
    unsigned char *retained;

    if (key_set)
        return state_key;
    if ((retained = ap_retained_data_get(RETAINED_KEY)) != NULL)
        return retained;
    retained = ap_retained_data_create(RETAINED_KEY, BLINKAUTH_SEAL_KEY_BYTES);
    return apr_generate_random_bytes(retained, BLINKAUTH_SEAL_KEY_BYTES) == APR_SUCCESS ? retained : NULL;
}

int blinkauth_cache_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    provider = NULL;
    provider_arg = NULL;
    key_set = 0;
    instance = NULL;
    shards = 0;
    memset(mutex, 0, sizeof(mutex));
    return ap_mutex_register(pconf, MUTEX_TYPE, NULL, APR_LOCK_DEFAULT, 0);
}

/* Pool cleanup that destroys one cache with the configuration that made it. */
static apr_status_t cache_destroy(void *data)
{
    blinkauth_flow_store_t *one = data;

    if (one->provider && one->instance)
        one->provider->destroy(one->instance, one->server);
    one->instance = NULL;
    return APR_SUCCESS;
}

/* The shmcb argument of shard k of n: "<path>.<k>(<size / n>)" for "<path>(<size>)", NULL (shmcb's
 * anonymous default, 512 KB each) for none. */
static const char *shard_arg(apr_pool_t *p, const char *arg, int k, int n, apr_size_t size)
{
    const char *paren = arg ? strrchr(arg, '(') : NULL;

    if (arg == NULL || *arg == '\0')
        return NULL;
    return apr_psprintf(p, "%s.%d(%" APR_SIZE_T_FMT ")",
                        paren ? apr_pstrmemdup(p, arg, (apr_size_t)(paren - arg)) : arg, k, size / (apr_size_t)n);
}

/* How many shards shmcb gets: SHARDS, fewer when a configured size would leave them under 64 KB. */
static int shard_count(const char *arg, apr_size_t *size)
{
    const char *paren = arg ? strrchr(arg, '(') : NULL;
    apr_int64_t n;

    *size = 512000; /* shmcb's default */
    if (paren && (n = apr_atoi64(paren + 1)) > 0)
        *size = (apr_size_t)n;
    n = (apr_int64_t)(*size / SHARD_MIN_SIZE);
    return n >= SHARDS ? SHARDS : n < 1 ? 1 : (int)n;
}

int blinkauth_cache_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    struct ap_socache_hints hints = {.avg_id_len = 53, .avg_obj_size = 400, .expiry_interval = 60};
    const char *err = NULL;
    const unsigned char *key;
    apr_size_t size = 0;
    apr_status_t rv;
    int k, is_shmcb;

    if (provider == NULL && (err = provider_lookup(ptemp, DEFAULT_PROVIDER, &provider)) != NULL) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, BLALOGNO(00001) "flow store: %s", err);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if ((key = seal_key()) == NULL) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, BLALOGNO(00016) "flow store: no randomness for the sealing key");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    is_shmcb = strcmp(provider->name, "shmcb") == 0;
    shards = is_shmcb ? shard_count(provider_arg, &size) : 1;
    for (k = 0; k < shards; k++) {
        blinkauth_flow_store_t *one = &shard[k];

        memset(one, 0, sizeof(*one));
        one->provider = blinkauth_counters_socache(provider);
        one->server = s;
        memcpy(one->seal_key, key, sizeof(one->seal_key));
        one->sealed = 1;
        /* shmcb is always a segment of our own; the other providers may be shared servers. */
        one->bare_keys = is_shmcb;
        if (is_shmcb)
            err = provider->create(&one->instance, shard_arg(ptemp, provider_arg, k, shards, size), ptemp, pconf);
        else
            one->instance = instance;
        if (err) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, BLALOGNO(00011) "flow store: cannot create the %s cache: %s",
                         provider->name, err);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        rv = ap_global_mutex_create(&mutex[k], NULL, MUTEX_TYPE, apr_itoa(ptemp, k), s, pconf, 0);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, BLALOGNO(00002) "flow store: cannot create its mutex");
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        one->mutex = mutex[k];
        rv = provider->init(one->instance, k == 0 ? "mod_blinkauth" : apr_psprintf(pconf, "mod_blinkauth-%d", k),
                            &hints, s, pconf);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, BLALOGNO(00003) "flow store: cannot initialise the %s cache",
                         provider->name);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        apr_pool_cleanup_register(pconf, one, cache_destroy, apr_pool_cleanup_null);
    }
    store = shard[0];
    store.shard = shards > 1 ? shard : NULL;
    store.shards = shards;
    return OK;
}

void blinkauth_cache_child_init(apr_pool_t *pchild, server_rec *s)
{
    apr_status_t rv;
    int k;

    for (k = 0; k < shards && mutex[k]; k++) {
        rv = apr_global_mutex_child_init(&mutex[k], apr_global_mutex_lockfile(mutex[k]), pchild);
        if (rv != APR_SUCCESS)
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                         BLALOGNO(00004) "flow store: cannot attach its mutex in this child");
        shard[k].mutex = mutex[k];
    }
    if (shards > 0)
        store.mutex = mutex[0];
}

const blinkauth_flow_store_t *blinkauth_cache_store(void)
{
    return store.provider ? &store : NULL;
}
