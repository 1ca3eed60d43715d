/* The flow store's lifecycle in httpd: provider chosen by BlinkAuthCache, created, attached after fork. */
#include "glue.h"

#include "ap_provider.h"
#include "ap_socache.h"
#include "util_mutex.h"
#include "apr_strings.h"

#define MUTEX_TYPE "blinkauth-flow"
#define DEFAULT_PROVIDER "shmcb"

static const ap_socache_provider_t *provider;
static ap_socache_instance_t *instance;
static apr_global_mutex_t *mutex;
static blinkauth_flow_store_t store;

/* Looks up a socache provider by name, with a hint at the module that provides it. */
static const char *provider_lookup(apr_pool_t *p, const char *name, const ap_socache_provider_t **out)
{
    *out = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, name, AP_SOCACHE_PROVIDER_VERSION);
    if (*out == NULL)
        return apr_psprintf(p, "no socache provider '%s': load mod_socache_%s (LoadModule socache_%s_module)", name,
                            name, name);
    return NULL;
}

/* BlinkAuthCache: choose the socache provider for flow records. */
const char *blinkauth_cache_cmd(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    const char *sep = strchr(arg, ':');
    const char *name = sep ? apr_pstrmemdup(cmd->temp_pool, arg, (apr_size_t)(sep - arg)) : arg;

    if (err)
        return err;
    if ((err = provider_lookup(cmd->pool, name, &provider)) != NULL)
        return apr_pstrcat(cmd->pool, "BlinkAuthCache: ", err, NULL);
    err = provider->create(&instance, sep ? sep + 1 : NULL, cmd->temp_pool, cmd->pool);
    if (err) {
        provider = NULL;
        return apr_pstrcat(cmd->pool, "BlinkAuthCache: ", err, NULL);
    }
    return NULL;
}

/* Registers the flow store's mutex. */
int blinkauth_cache_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    provider = NULL;
    instance = NULL;
    mutex = NULL;
    return ap_mutex_register(pconf, MUTEX_TYPE, NULL, APR_LOCK_DEFAULT, 0);
}

/* Pool cleanup that destroys the cache with the configuration that made it. */
static apr_status_t cache_destroy(void *data)
{
    if (provider && instance)
        provider->destroy(instance, (server_rec *)data);
    instance = NULL;
    return APR_SUCCESS;
}

/* Creates the flow store (default shmcb) and its mutex once the configuration is read. */
int blinkauth_cache_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    struct ap_socache_hints hints = {.avg_id_len = 53, .avg_obj_size = 400, .expiry_interval = 60};
    const char *err;
    apr_status_t rv;

    if (provider == NULL) {
        if ((err = provider_lookup(ptemp, DEFAULT_PROVIDER, &provider)) != NULL ||
            (err = provider->create(&instance, NULL, ptemp, pconf)) != NULL) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, "BLA00001: flow store: %s", err);
            provider = NULL;
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    rv = ap_global_mutex_create(&mutex, NULL, MUTEX_TYPE, NULL, s, pconf, 0);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, "BLA00002: flow store: cannot create its mutex");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    rv = provider->init(instance, "mod_blinkauth", &hints, s, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, "BLA00003: flow store: cannot initialise the %s cache",
                     provider->name);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    apr_pool_cleanup_register(pconf, s, cache_destroy, apr_pool_cleanup_null);
    store.provider = provider;
    store.instance = instance;
    store.server = s;
    store.mutex = mutex;
    /* shmcb is always a segment of our own; the other providers may be shared servers. */
    store.bare_keys = strcmp(provider->name, "shmcb") == 0;
    return OK;
}

/* Re-attaches the flow store's mutex in a new child. */
void blinkauth_cache_child_init(apr_pool_t *pchild, server_rec *s)
{
    apr_status_t rv;

    if (mutex == NULL)
        return;
    rv = apr_global_mutex_child_init(&mutex, apr_global_mutex_lockfile(mutex), pchild);
    if (rv != APR_SUCCESS)
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, "BLA00004: flow store: cannot attach its mutex in this child");
    store.mutex = mutex;
}

/* The flow store, ready after post_config. */
const blinkauth_flow_store_t *blinkauth_cache_store(void)
{
    return store.provider ? &store : NULL;
}
