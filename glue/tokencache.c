/* The token cache in httpd (BlinkAuthTokenCache, BlinkAuthTokenKey): our sealed copies of users' linked-account
 * tokens, kept in a socache store made and attached as the flow store is, and the lease across servers. */
#include "tokencache.h"
#include "cache.h"
#include "socache.h"
#include "tokenstore.h"

#include "apr_strings.h"

/* What a shmcb store is told to expect: a copy's name (base64url), a sealed copy of two tokens. */
static const struct ap_socache_hints hints = {.avg_id_len = 43, .avg_obj_size = 1500, .expiry_interval = 3600};

/* The token cache: made only when an app has BlinkAuthTokenKey; its shmcb locks are the Mutex type blinkauth-tokens. */
static blinkauth_socache_t tokens = {
    .what = "token cache",
    .mutex_type = "blinkauth-tokens",
    .retained = "mod_blinkauth-token-cache",
    .space = "mod_blinkauth-tokens",
    .hints = &hints,
    .shards = 8,
};

const char *blinkauth_tokencache_cmd(cmd_parms *cmd, void *dconf, const char *arg)
{
    return blinkauth_socache_cmd(cmd, &tokens, arg);
}

int blinkauth_tokencache_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    int rc = blinkauth_socache_pre_config(&tokens, pconf);

    return rc == APR_SUCCESS ? blinkauth_refreshlock_pre_config(pconf) : rc;
}

/* Stops the walk at the first app with BlinkAuthTokenKey (a blinkauth_section_fn): DONE when there is one. */
static int app_with_key(void *baton, apr_pool_t *ptemp, server_rec *s, apr_array_header_t *sections, int i,
                        const blinkauth_config_t *own)
{
    if (blinkauth_config_is_used(own) && blinkauth_section_effective(ptemp, s, sections, i)->token_key)
        return DONE;
    return OK;
}

/* 1 when the token cache and the flow store are shmcb at one path: their shards would be the same files. */
static int path_clash(apr_pool_t *ptemp)
{
    const char *ours = blinkauth_socache_shmcb_path(ptemp, &tokens), *flows = blinkauth_cache_shmcb_path(ptemp);

    return ours && *ours && flows && strcmp(ours, flows) == 0;
}

/* Logs what the token cache is. */
static void log_cache(server_rec *s, apr_pool_t *ptemp)
{
    const char *mech = tokens.mutex[0] ? apr_global_mutex_name(tokens.mutex[0]) : "none";

    if (blinkauth_socache_is_shmcb(&tokens))
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                     BLALOGNO(00951) "token cache: shmcb in %d shards of %s bytes (%s); locks: %s", tokens.n,
                     tokens.provider_arg ? apr_psprintf(ptemp, "%" APR_SIZE_T_FMT, tokens.size / (apr_size_t)tokens.n)
                                         : "524288",
                     tokens.fresh ? "new" : "kept from the last generation", mech);
    else
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                     BLALOGNO(00952) "token cache: %s, which other servers may share: a refresh is claimed among "
                                     "them with a lease",
                     tokens.provider->name);
}

int blinkauth_tokencache_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    int rc = blinkauth_refreshlock_post_config(pconf, ptemp, s);

    if (rc != OK)
        return rc;
    if (blinkauth_sections_each(ptemp, s, app_with_key, NULL) != DONE) {
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s,
                     BLALOGNO(00953) "token cache: none made, as no app has BlinkAuthTokenKey");
        return OK;
    }
    if (path_clash(ptemp)) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                     BLALOGNO(00950) "token cache: BlinkAuthTokenCache shmcb:%s is the path of BlinkAuthCache: give "
                                     "each its own",
                     tokens.provider_arg);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    rc = blinkauth_socache_post_config(&tokens, s, pconf, ptemp, NULL,
                                       apr_time_from_sec(blinkauth_cache_least_timeout(ptemp, s)));
    if (rc == OK)
        log_cache(s, ptemp);
    return rc;
}

void blinkauth_tokencache_child_init(apr_pool_t *pchild, server_rec *s)
{
    blinkauth_socache_child_init(&tokens, pchild, s);
    blinkauth_refreshlock_child_init(pchild, s);
}

int blinkauth_tokencache_enabled(const blinkauth_config_t *cfg)
{
    return cfg && cfg->token_key && cfg->auth_id && tokens.store.provider != NULL;
}

int blinkauth_tokencache_shared(void)
{
    return tokens.store.provider != NULL && !blinkauth_socache_is_shmcb(&tokens);
}

/* The keys of cfg's copies, in r->pool; NULL when the cache is not enabled for cfg. */
static const blinkauth_token_keys_t *keys_for(request_rec *r, const blinkauth_config_t *cfg)
{
    blinkauth_token_keys_t *keys;

    if (!blinkauth_tokencache_enabled(cfg))
        return NULL;
    keys = apr_palloc(r->pool, sizeof(*keys));
    keys->key = cfg->token_key;
    keys->previous = cfg->token_key_previous;
    return keys;
}

apr_status_t blinkauth_tokencache_get(request_rec *r, const blinkauth_config_t *cfg, const char *user_id,
                                      blinkauth_token_copy_t **copy)
{
    const blinkauth_token_keys_t *keys = keys_for(r, cfg);
    const char *why = NULL;
    apr_status_t rv = APR_NOTFOUND;

    *copy = NULL;
    if (keys)
        rv = blinkauth_tokenstore_get(&tokens.store, r->pool, keys, cfg->auth_id, user_id, copy, &why);
    if (rv == APR_EBADF) {
        BLINKAUTH_RLOG(APLOG_INFO, 0, r,
                       BLALOGNO(00954) "token cache: the copy of this user is unusable (%s): read as none", why);
        return APR_NOTFOUND;
    }
    if (rv != APR_SUCCESS && rv != APR_NOTFOUND)
        BLINKAUTH_RLOG(APLOG_ERR, rv, r, BLALOGNO(00955) "token cache: cannot read the copy of this user: %s", why);
    else if (keys)
        BLINKAUTH_RLOG(APLOG_DEBUG, 0, r, BLALOGNO(00956) "token cache: %s",
                       rv == APR_SUCCESS ? "copy found" : "no copy");
    return rv;
}

apr_status_t blinkauth_tokencache_put(request_rec *r, const blinkauth_config_t *cfg, const char *user_id,
                                      const blinkauth_token_copy_t *copy)
{
    const blinkauth_token_keys_t *keys = keys_for(r, cfg);
    const char *why = NULL;
    apr_status_t rv =
        keys ? blinkauth_tokenstore_put(&tokens.store, r->pool, keys, cfg->auth_id, user_id, copy, &why) : APR_ENOTIMPL;

    if (keys && rv != APR_SUCCESS)
        BLINKAUTH_RLOG(APLOG_ERR, rv, r, BLALOGNO(00957) "token cache: cannot save the copy of this user: %s", why);
    return rv;
}

apr_status_t blinkauth_tokencache_remove(request_rec *r, const blinkauth_config_t *cfg, const char *user_id)
{
    const blinkauth_token_keys_t *keys = keys_for(r, cfg);
    const char *why = NULL;
    apr_status_t rv =
        keys ? blinkauth_tokenstore_remove(&tokens.store, r->pool, keys, cfg->auth_id, user_id, &why) : APR_NOTFOUND;

    if (rv != APR_SUCCESS && rv != APR_NOTFOUND)
        BLINKAUTH_RLOG(APLOG_ERR, rv, r, BLALOGNO(00958) "token cache: cannot drop the copy of this user: %s", why);
    return rv;
}

apr_status_t blinkauth_tokencache_lease(request_rec *r, const blinkauth_config_t *cfg, const char *user_id,
                                        apr_interval_time_t wait, const char **lease)
{
    const blinkauth_token_keys_t *keys = blinkauth_tokencache_shared() ? keys_for(r, cfg) : NULL;
    apr_interval_time_t ttl = wait + apr_time_from_sec(blinkauth_config_timeout(cfg));
    apr_time_t start = apr_time_now();
    const char *why = NULL;
    apr_status_t rv;

    *lease = NULL;
    if (keys == NULL)
        return APR_SUCCESS;
    rv = blinkauth_tokenstore_lease(&tokens.store, r->pool, keys, cfg->auth_id, user_id, wait, ttl, lease, &why);
    if (rv == APR_TIMEUP)
        BLINKAUTH_RLOG(APLOG_INFO, 0, r,
                       BLALOGNO(00959) "token cache: another server held the refresh lease of this user for %d ms",
                       (int)apr_time_as_msec(apr_time_now() - start));
    else if (rv != APR_SUCCESS)
        BLINKAUTH_RLOG(APLOG_ERR, rv, r, BLALOGNO(00960) "token cache: cannot claim the refresh lease: %s", why);
    return rv;
}

void blinkauth_tokencache_lease_release(request_rec *r, const blinkauth_config_t *cfg, const char *user_id,
                                        const char *lease)
{
    const blinkauth_token_keys_t *keys = lease ? keys_for(r, cfg) : NULL;
    const char *why = NULL;
    apr_status_t rv;

    if (keys == NULL)
        return;
    rv = blinkauth_tokenstore_lease_release(&tokens.store, r->pool, keys, cfg->auth_id, user_id, lease, &why);
    if (rv == APR_NOTFOUND)
        BLINKAUTH_RLOG(APLOG_INFO, 0, r,
                       BLALOGNO(00961) "token cache: the refresh lease had ended or passed to another server");
    else if (rv != APR_SUCCESS)
        BLINKAUTH_RLOG(APLOG_WARNING, rv, r,
                       BLALOGNO(00962) "token cache: cannot give up the refresh lease (it ends by itself): %s", why);
}
