/* A socache store the module keeps (the flow store, the token cache), or a set of locks: its provider chosen by a
 * directive, made once the configuration is read and kept across graceful restarts in httpd's retained data,
 * attached in each child. */
#include "socache.h"
#include "counters.h"

#include "ap_provider.h"
#include "util_mutex.h"
#include "util_cfgtree.h"
#include "apr_strings.h"

#define DEFAULT_PROVIDER "shmcb"
/* Follows a kept store's name in httpd's retained data, and changes with kept_t: a graceful restart into a build
 * whose kept_t differs (an upgrade) must not read the last one's as its own. */
#define KEPT_LAYOUT ":3"
/* The least bytes of a shmcb shard: shmcb's default size (512,000 bytes, as this module counts it) makes 8 of them. */
#define SHARD_MIN_SIZE 64000

/* Looks up a socache provider by name, with a hint at the module that provides it. */
static const char *provider_lookup(apr_pool_t *p, const char *name, const ap_socache_provider_t **out)
{
    *out = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, name, AP_SOCACHE_PROVIDER_VERSION);
    if (*out == NULL)
        return apr_psprintf(p, "no socache provider '%s': load mod_socache_%s (LoadModule socache_%s_module)", name,
                            name, name);
    return NULL;
}

const char *blinkauth_socache_cmd(cmd_parms *cmd, blinkauth_socache_t *c, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    const char *sep = strchr(arg, ':');
    const char *name = sep ? apr_pstrmemdup(cmd->temp_pool, arg, (apr_size_t)(sep - arg)) : arg;

    if (err)
        return err;
    if ((err = provider_lookup(cmd->pool, name, &c->provider)) != NULL)
        return apr_pstrcat(cmd->pool, cmd->cmd->name, ": ", err, NULL);
    c->provider_arg = sep ? apr_pstrdup(cmd->pool, sep + 1) : NULL;
    err = c->provider->create(&c->instance, c->provider_arg, cmd->temp_pool, cmd->pool);
    if (err) {
        c->provider = NULL;
        return apr_pstrcat(cmd->pool, cmd->cmd->name, ": ", err, NULL);
    }
    return NULL;
}

int blinkauth_socache_pre_config(blinkauth_socache_t *c, apr_pool_t *pconf)
{
    c->provider = NULL;
    c->provider_arg = NULL;
    c->instance = NULL;
    c->n = 0;
    memset(c->mutex, 0, sizeof(c->mutex));
    memset(c->shard, 0, sizeof(c->shard));
    memset(&c->store, 0, sizeof(c->store));
    return ap_mutex_register(pconf, c->mutex_type, NULL, APR_LOCK_DEFAULT, 0);
}

int blinkauth_socache_is_shmcb(const blinkauth_socache_t *c)
{
    return c->provider && strcmp(c->provider->name, "shmcb") == 0;
}

/* The caches (shmcb's) and mutexes of a kept store, kept across restarts in httpd's retained data, made in a pool of
 * the process pool: a graceful restart keeps the records, and the old generation's children, which finish their
 * requests meanwhile, lock the same mutexes as the new ones. */
typedef struct {
    apr_pool_t *pool;      /* holds all of them; NULL before the first start */
    const char *signature; /* the configuration they were made for (see signature()) */
    int n;
    ap_socache_instance_t *instance[BLINKAUTH_SOCACHE_MAX]; /* shmcb's; NULL for a provider whose instance the
                                                               directive made */
    apr_global_mutex_t *mutex[BLINKAUTH_SOCACHE_MAX];       /* NULL for a provider safe without one */
    unsigned char id[BLINKAUTH_FLOW_STORE_ID_BYTES];        /* random, made with them: names this store */
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

const char *blinkauth_socache_shmcb_path(apr_pool_t *p, const blinkauth_socache_t *c)
{
    const char *arg = c->provider_arg, *paren = arg ? strrchr(arg, '(') : NULL;

    if (!blinkauth_socache_is_shmcb(c))
        return NULL;
    return arg == NULL ? "" : paren ? apr_pstrmemdup(p, arg, (apr_size_t)(paren - arg)) : arg;
}

/* How many shards shmcb gets: at most max, fewer when a configured size would leave them under SHARD_MIN_SIZE. */
static int shard_count(const char *arg, int max, apr_size_t *size)
{
    const char *paren = arg ? strrchr(arg, '(') : NULL;
    apr_int64_t n;

    *size = 512000; /* shmcb's default */
    if (paren && (n = apr_atoi64(paren + 1)) > 0)
        *size = (apr_size_t)n;
    n = (apr_int64_t)(*size / SHARD_MIN_SIZE);
    return n >= max ? max : n < 1 ? 1 : (int)n;
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
static const char *signature(const blinkauth_socache_t *c, apr_pool_t *p)
{
    return apr_psprintf(p, "%s:%s:%d:%s", c->locks ? "locks" : c->provider->name,
                        c->provider_arg ? c->provider_arg : "", c->n, tree_args(p, ap_conftree, "Mutex"));
}

/* Makes lock or shard k's kept cache (shmcb only) and mutex (for locks, and for a provider that needs one) in
 * kept->pool; the complaint, else NULL. */
static const char *kept_make_one(const blinkauth_socache_t *c, kept_t *kept, int k, server_rec *s, apr_pool_t *ptemp)
{
    const char *err = NULL;
    apr_status_t rv;

    /* No cleanup of ours frees it: the kept pool outlives this load of the module and of mod_socache_shmcb (httpd
     * unloads both at each restart), so a cleanup would call code no longer mapped. shmcb makes its segment with
     * apr_shm_create in that pool, whose own cleanup (libapr's, always loaded) frees it with the pool. */
    if (!c->locks && blinkauth_socache_is_shmcb(c)) {
        err = c->provider->create(&kept->instance[k], shard_arg(ptemp, c->provider_arg, k, kept->n, c->size), ptemp,
                                  kept->pool);
        if (err)
            return err;
        rv = c->provider->init(kept->instance[k], k == 0 ? c->space : apr_psprintf(kept->pool, "%s-%d", c->space, k),
                               c->hints, s, kept->pool);
        if (rv != APR_SUCCESS)
            return apr_psprintf(ptemp, "cannot initialise it (%pm)", &rv);
    }
    if (c->locks || (c->provider->flags & AP_SOCACHE_FLAG_NOTMPSAFE)) {
        rv = ap_global_mutex_create(&kept->mutex[k], NULL, c->mutex_type, apr_itoa(ptemp, k), s, kept->pool, 0);
        if (rv != APR_SUCCESS)
            return apr_psprintf(ptemp, "cannot create its mutex (%pm)", &rv);
    }
    return NULL;
}

/* The kept caches and mutexes of c for this configuration: those of the last generation when it was the same,
 * else new ones (the old destroyed first, so that a shmcb path can be made again); c->fresh says which. NULL,
 * logged, when they cannot be made. */
static kept_t *kept_get(blinkauth_socache_t *c, server_rec *s, apr_pool_t *ptemp)
{
    const char *name = apr_pstrcat(ptemp, c->retained, KEPT_LAYOUT, NULL);
    kept_t *kept = ap_retained_data_get(name);
    const char *sig = signature(c, ptemp), *err = NULL;
    int k;

    if (kept == NULL)
        kept = ap_retained_data_create(name, sizeof(*kept));
    c->fresh = kept->pool == NULL || strcmp(kept->signature, sig) != 0;
    if (!c->fresh)
        return kept;
    if (kept->pool)
        apr_pool_destroy(kept->pool);
    memset(kept, 0, sizeof(*kept));
    apr_pool_create(&kept->pool, s->process->pool);
    kept->signature = apr_pstrdup(kept->pool, sig);
    kept->n = c->n;
    if (apr_generate_random_bytes(kept->id, sizeof(kept->id)) != APR_SUCCESS)
        err = "no randomness for its name";
    for (k = 0; k < c->n && err == NULL; k++)
        err = kept_make_one(c, kept, k, s, ptemp);
    if (err == NULL)
        return kept;
    ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, BLALOGNO(00011) "%s: cannot create the %s: %s", c->what,
                 c->locks ? "locks" : apr_pstrcat(ptemp, c->provider->name, " cache", NULL), err);
    apr_pool_destroy(kept->pool);
    memset(kept, 0, sizeof(*kept));
    return NULL;
}

/* Readies shard k of c from the kept cache and mutex, or (a provider whose instance the directive made) initialises
 * that instance for this generation; a status other than APR_SUCCESS, logged, when it cannot. */
static apr_status_t shard_ready(blinkauth_socache_t *c, const kept_t *kept, int k, server_rec *s, apr_pool_t *pconf)
{
    blinkauth_flow_store_t *one = &c->shard[k];
    int is_shmcb = blinkauth_socache_is_shmcb(c);
    apr_status_t rv;

    memset(one, 0, sizeof(*one));
    one->provider = c->counted ? blinkauth_counters_socache(c->provider) : c->provider;
    one->server = s;
    /* shmcb is always a segment of our own; the other providers may be shared servers, which may not answer. */
    one->bare_keys = is_shmcb;
    one->probe = !is_shmcb;
    one->mutex = kept->mutex[k];
    one->instance = is_shmcb ? kept->instance[k] : c->instance;
    if (is_shmcb)
        return APR_SUCCESS;
    rv = c->provider->init(one->instance, c->space, c->hints, s, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, BLALOGNO(00003) "%s: cannot initialise the %s cache", c->what,
                     c->provider->name);
        return rv;
    }
    apr_pool_cleanup_register(pconf, one, cache_destroy, apr_pool_cleanup_null);
    return APR_SUCCESS;
}

int blinkauth_socache_post_config(blinkauth_socache_t *c, server_rec *s, apr_pool_t *pconf, apr_pool_t *ptemp,
                                  const unsigned char *seal_key, apr_interval_time_t lock_wait)
{
    const char *err = NULL;
    const kept_t *kept;
    int k;

    if (!c->locks && c->provider == NULL && (err = provider_lookup(ptemp, DEFAULT_PROVIDER, &c->provider)) != NULL) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, BLALOGNO(00001) "%s: %s", c->what, err);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    c->size = 0;
    c->n = c->locks ? c->locks : blinkauth_socache_is_shmcb(c) ? shard_count(c->provider_arg, c->shards, &c->size) : 1;
    if ((kept = kept_get(c, s, ptemp)) == NULL)
        return HTTP_INTERNAL_SERVER_ERROR;
    for (k = 0; k < c->n; k++)
        c->mutex[k] = kept->mutex[k];
    for (k = 0; !c->locks && k < c->n; k++) {
        if (shard_ready(c, kept, k, s, pconf) != APR_SUCCESS)
            return HTTP_INTERNAL_SERVER_ERROR;
        c->shard[k].lock_wait = lock_wait;
        if (seal_key != NULL && blinkauth_flow_store_seal_with(&c->shard[k], seal_key, kept->id) != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, BLALOGNO(00019) "%s: cannot derive the start handles' key",
                         c->what);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    if (!c->locks) {
        c->store = c->shard[0];
        c->store.shard = c->n > 1 ? c->shard : NULL;
        c->store.shards = c->n;
    }
    return OK;
}

/* A lock of this process's own for every shard of c when its mutexes are file locks, which the kernel keeps per
 * process (see global_lock in modules/flow.c); NULL otherwise, or when it cannot be made (logged). */
static apr_thread_mutex_t *local_lock(const blinkauth_socache_t *c, apr_pool_t *pchild, server_rec *s)
{
    const char *mech = c->mutex[0] ? apr_global_mutex_name(c->mutex[0]) : "";
    apr_thread_mutex_t *local = NULL;
    apr_status_t rv;

    if (strcmp(mech, "fcntl") != 0 && strcmp(mech, "flock") != 0)
        return NULL;
    rv = apr_thread_mutex_create(&local, APR_THREAD_MUTEX_TIMED, pchild);
    if (rv != APR_SUCCESS)
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                     BLALOGNO(00020) "%s: cannot make this child's own lock for its %s mutexes", c->what, mech);
    return rv == APR_SUCCESS ? local : NULL;
}

void blinkauth_socache_child_init(blinkauth_socache_t *c, apr_pool_t *pchild, server_rec *s)
{
    apr_thread_mutex_t *local;
    apr_status_t rv;
    int k;

    for (k = 0; k < c->n && c->mutex[k]; k++) {
        rv = apr_global_mutex_child_init(&c->mutex[k], apr_global_mutex_lockfile(c->mutex[k]), pchild);
        if (rv != APR_SUCCESS)
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, BLALOGNO(00004) "%s: cannot attach its mutex in this child",
                         c->what);
        c->shard[k].mutex = c->mutex[k];
    }
    if (c->locks || c->n == 0)
        return;
    local = local_lock(c, pchild, s);
    for (k = 0; k < c->n; k++)
        c->shard[k].local = local;
    c->store.mutex = c->mutex[0];
    c->store.local = local;
}
