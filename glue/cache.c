/* The flow store's lifecycle in httpd: provider chosen by BlinkAuthCache, created, attached after fork. */
#include "cache.h"
#include "crypto.h"
#include "counters.h"

#include "ap_provider.h"
#include "ap_socache.h"
#include "util_mutex.h"
#include "util_cfgtree.h"
#include "apr_strings.h"

#define MUTEX_TYPE "blinkauth-flow"
#define DEFAULT_PROVIDER "shmcb"
/* shmcb is split into this many caches, each behind its own mutex: with one, every Connect and
 * callback of the server queued on one cross-process lock, and a holder descheduled under load
 * stalled them all (a third of httpd's CPU went to futex calls at 50 connections). */
#define SHARDS 8
/* The least bytes of a shard: shmcb's default size (512,000 bytes, as this module counts it) makes SHARDS of them. */
#define SHARD_MIN_SIZE 64000
/* The name, in httpd's retained data, of the flow store kept across graceful restarts. */
#define RETAINED_STORE "mod_blinkauth-flow-store"
/* What a shmcb store is told to expect. */
static const struct ap_socache_hints hints = {.avg_id_len = 53, .avg_obj_size = 400, .expiry_interval = 60};

static const ap_socache_provider_t *provider;
static const char *provider_arg;          /* what followed "name:" in BlinkAuthCache, or NULL */
static ap_socache_instance_t *instance;   /* made by the directive; for shmcb only a check */
static apr_global_mutex_t *mutex[SHARDS]; /* this process's handles of the kept mutexes */
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

/* The flow store's caches (shmcb's) and mutexes, kept across restarts in httpd's retained data, made in a pool of
 * the process pool: a graceful restart keeps the pending connects, and the old generation's children, which finish
 * their requests meanwhile, lock the same mutexes as the new ones. */
typedef struct {
    apr_pool_t *pool;      /* holds all of them; NULL before the first start */
    const char *signature; /* the configuration they were made for (see signature()) */
    int shards;
    ap_socache_instance_t *instance[SHARDS]; /* shmcb's; NULL for a provider whose instance the directive made */
    apr_global_mutex_t *mutex[SHARDS];       /* NULL for a provider safe without one */
} kept_t;

/* pconf cleanup that destroys a provider's cache made for this generation (both go with the configuration). */
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

/* How many shards shmcb gets: SHARDS, fewer when a configured size would leave them under SHARD_MIN_SIZE. */
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

/* The arguments of every directive called name in the configuration tree from d, one a line; "" for none. */
static const char *tree_args(apr_pool_t *p, const ap_directive_t *d, const char *name)
{
    const char *all = "";

    for (; d; d = d->next) {
        if (strcasecmp(d->directive, name) == 0)
            all = apr_pstrcat(p, all, d->args, "\n", NULL);
        all = apr_pstrcat(p, all, tree_args(p, d->first_child, name), NULL);
    }
    return all;
}

/* What the kept caches and mutexes depend on: the provider, its argument, the shards and the Mutex directives. */
static const char *signature(apr_pool_t *p, int n)
{
    return apr_psprintf(p, "%s:%s:%d:%s", provider->name, provider_arg ? provider_arg : "", n,
                        tree_args(p, ap_conftree, "Mutex"));
}

/* Makes shard k's kept cache (shmcb only) and mutex (for a provider that needs one) in kept->pool; the complaint,
 * logged, else NULL. */
static const char *kept_make_shard(kept_t *kept, int k, int is_shmcb, apr_size_t size, server_rec *s, apr_pool_t *ptemp)
{
    const char *err = NULL;
    apr_status_t rv;

    /* No cleanup of ours frees it: the kept pool outlives this load of the module and of mod_socache_shmcb (httpd
     * unloads both at each restart), so a cleanup would call code no longer mapped. shmcb makes its segment with
     * apr_shm_create in that pool, whose own cleanup (libapr's, always loaded) frees it with the pool. */
    if (is_shmcb) {
        err = provider->create(&kept->instance[k], shard_arg(ptemp, provider_arg, k, kept->shards, size), ptemp,
                               kept->pool);
        if (err)
            return err;
        rv = provider->init(kept->instance[k],
                            k == 0 ? "mod_blinkauth" : apr_psprintf(kept->pool, "mod_blinkauth-%d", k), &hints, s,
                            kept->pool);
        if (rv != APR_SUCCESS)
            return apr_psprintf(ptemp, "cannot initialise it (%pm)", &rv);
    }
    if (provider->flags & AP_SOCACHE_FLAG_NOTMPSAFE) {
        rv = ap_global_mutex_create(&kept->mutex[k], NULL, MUTEX_TYPE, apr_itoa(ptemp, k), s, kept->pool, 0);
        if (rv != APR_SUCCESS)
            return apr_psprintf(ptemp, "cannot create its mutex (%pm)", &rv);
    }
    return NULL;
}

/* The kept caches and mutexes for this configuration: those of the last generation when it was the same, else
 * new ones (the old destroyed first, so that a shmcb path can be made again); *fresh says which. NULL, logged, when
 * they cannot be made. */
static kept_t *kept_get(server_rec *s, apr_pool_t *ptemp, int is_shmcb, int n, apr_size_t size, int *fresh)
{
    kept_t *kept = ap_retained_data_get(RETAINED_STORE);
    const char *sig = signature(ptemp, n), *err = NULL;
    int k;

    if (kept == NULL)
        kept = ap_retained_data_create(RETAINED_STORE, sizeof(*kept));
    *fresh = kept->pool == NULL || strcmp(kept->signature, sig) != 0;
    if (!*fresh)
        return kept;
    if (kept->pool)
        apr_pool_destroy(kept->pool);
    memset(kept, 0, sizeof(*kept));
    apr_pool_create(&kept->pool, s->process->pool);
    kept->signature = apr_pstrdup(kept->pool, sig);
    kept->shards = n;
    for (k = 0; k < n && err == NULL; k++)
        err = kept_make_shard(kept, k, is_shmcb, size, s, ptemp);
    if (err == NULL)
        return kept;
    ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, BLALOGNO(00011) "flow store: cannot create the %s cache: %s",
                 provider->name, err);
    apr_pool_destroy(kept->pool);
    memset(kept, 0, sizeof(*kept));
    return NULL;
}

/* Readies shard k from the kept cache and mutex, or (a provider whose instance the directive made) initialises that
 * instance for this generation; a status other than APR_SUCCESS, logged, when it cannot. */
static apr_status_t shard_ready(const kept_t *kept, int k, int is_shmcb, const unsigned char *key, server_rec *s,
                                apr_pool_t *pconf)
{
    blinkauth_flow_store_t *one = &shard[k];
    apr_status_t rv;

    memset(one, 0, sizeof(*one));
    one->provider = blinkauth_counters_socache(provider);
    one->server = s;
    memcpy(one->seal_key, key, sizeof(one->seal_key));
    one->sealed = 1;
    /* shmcb is always a segment of our own; the other providers may be shared servers, which may not answer. */
    one->bare_keys = is_shmcb;
    one->probe = !is_shmcb;
    one->mutex = mutex[k] = kept->mutex[k];
    one->instance = is_shmcb ? kept->instance[k] : instance;
    if (is_shmcb)
        return APR_SUCCESS;
    rv = provider->init(one->instance, "mod_blinkauth", &hints, s, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, BLALOGNO(00003) "flow store: cannot initialise the %s cache",
                     provider->name);
        return rv;
    }
    apr_pool_cleanup_register(pconf, one, cache_destroy, apr_pool_cleanup_null);
    return APR_SUCCESS;
}

/* The smallest BlinkAuthTimeout of the apps, in seconds (a blinkauth_section_fn): sections without BlinkAuth
 * directives (every <Location> has a configuration of ours) are no apps, and their default does not count. */
static int least_timeout(void *baton, apr_pool_t *ptemp, server_rec *s, apr_array_header_t *sections, int i,
                         const blinkauth_config_t *own)
{
    int *least = baton, t;

    if (!blinkauth_config_is_used(own))
        return OK;
    t = blinkauth_config_timeout(blinkauth_section_effective(ptemp, s, sections, i));
    if (*least == 0 || t < *least)
        *least = t;
    return OK;
}

/* Logs what the flow store is and what bounds a wait for it. */
static void log_store(server_rec *s, apr_pool_t *ptemp, int fresh, apr_size_t size, int wait)
{
    if (strcmp(provider->name, "shmcb") == 0) {
        ap_log_error(
            APLOG_MARK, APLOG_INFO, 0, s,
            BLALOGNO(00017) "flow store: shmcb in %d shards of %s bytes (%s); locks: %s, waited for at "
                            "most %d s (the least BlinkAuthTimeout)",
            shards, provider_arg ? apr_psprintf(ptemp, "%" APR_SIZE_T_FMT, size / (apr_size_t)shards) : "524288",
            fresh ? "new" : "kept from the last generation", mutex[0] ? apr_global_mutex_name(mutex[0]) : "none", wait);
        return;
    }
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                 BLALOGNO(00018) "flow store: %s, %s; a call to it is bounded by the provider's own timeout, not by "
                                 "BlinkAuthTimeout (%d s): a %s server that accepts connections but does not answer "
                                 "holds each Connect and callback until it answers (see docs/deployment.md)",
                 provider->name, mutex[0] ? "behind a host-wide lock" : "no host-wide lock", wait, provider->name);
}

int blinkauth_cache_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    const char *err = NULL;
    const unsigned char *key;
    const kept_t *kept;
    apr_size_t size = 0;
    int k, is_shmcb, fresh = 0, wait = 0;

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
    if ((kept = kept_get(s, ptemp, is_shmcb, shards, size, &fresh)) == NULL)
        return HTTP_INTERNAL_SERVER_ERROR;
    blinkauth_sections_each(ptemp, s, least_timeout, &wait);
    for (k = 0; k < shards; k++) {
        if (shard_ready(kept, k, is_shmcb, key, s, pconf) != APR_SUCCESS)
            return HTTP_INTERNAL_SERVER_ERROR;
        shard[k].lock_wait = apr_time_from_sec(wait);
    }
    store = shard[0];
    store.shard = shards > 1 ? shard : NULL;
    store.shards = shards;
    log_store(s, ptemp, fresh, size, wait);
    return OK;
}

/* A lock of this process's own for every shard when the mutexes are file locks, which the kernel keeps per process
 * (see global_lock in modules/flow.c); NULL otherwise, or when it cannot be made (logged). */
static apr_thread_mutex_t *local_lock(apr_pool_t *pchild, server_rec *s)
{
    const char *mech = mutex[0] ? apr_global_mutex_name(mutex[0]) : "";
    apr_thread_mutex_t *local = NULL;
    apr_status_t rv;

    if (strcmp(mech, "fcntl") != 0 && strcmp(mech, "flock") != 0)
        return NULL;
    rv = apr_thread_mutex_create(&local, APR_THREAD_MUTEX_TIMED, pchild);
    if (rv != APR_SUCCESS)
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                     BLALOGNO(00020) "flow store: cannot make this child's own lock for its %s mutexes", mech);
    return rv == APR_SUCCESS ? local : NULL;
}

void blinkauth_cache_child_init(apr_pool_t *pchild, server_rec *s)
{
    apr_thread_mutex_t *local;
    apr_status_t rv;
    int k;

    for (k = 0; k < shards && mutex[k]; k++) {
        rv = apr_global_mutex_child_init(&mutex[k], apr_global_mutex_lockfile(mutex[k]), pchild);
        if (rv != APR_SUCCESS)
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                         BLALOGNO(00004) "flow store: cannot attach its mutex in this child");
        shard[k].mutex = mutex[k];
    }
    local = local_lock(pchild, s);
    for (k = 0; k < shards; k++)
        shard[k].local = local;
    if (shards > 0) {
        store.mutex = mutex[0];
        store.local = local;
    }
}

const blinkauth_flow_store_t *blinkauth_cache_store(void)
{
    return store.provider ? &store : NULL;
}
