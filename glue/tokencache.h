/* The token cache in httpd (BlinkAuthTokenCache, BlinkAuthTokenKey): our sealed copies of users' linked-account
 * tokens, the per-host refresh lock of one user and the lease that claims a refresh across servers. */
#ifndef BLINKAUTH_TOKENCACHE_H
#define BLINKAUTH_TOKENCACHE_H

#include "glue.h"
#include "tokens.h"

/* BlinkAuthTokenCache (RSRC_CONF, server-wide, the same syntax and provider lookup as BlinkAuthCache; default
 * shmcb): where the copies live. */
const char *blinkauth_tokencache_cmd(cmd_parms *cmd, void *dconf, const char *arg);

/* Forgets the last configuration's choice and registers the Mutex types blinkauth-tokens and blinkauth-refresh (a
 * pre_config hook). */
int blinkauth_tokencache_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp);

/* Makes the refresh locks, and the token cache when an app has BlinkAuthTokenKey (kept across graceful restarts as
 * the flow store is); OK, or HTTP_INTERNAL_SERVER_ERROR (logged). */
int blinkauth_tokencache_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s);

/* Attaches the token cache's and the refresh locks' mutexes in a new child. */
void blinkauth_tokencache_child_init(apr_pool_t *pchild, server_rec *s);

/* 1 when cfg has BlinkAuthTokenKey and the token cache is ready. */
int blinkauth_tokencache_enabled(const blinkauth_config_t *cfg);

/* The copy of (cfg's Auth ID, user_id) into *copy. APR_SUCCESS; APR_NOTFOUND when there is none, when it verifies
 * under neither key or is not a copy (logged at info, treated as absent), and when the cache is not enabled for cfg;
 * another status when the store failed (logged). */
apr_status_t blinkauth_tokencache_get(request_rec *r, const blinkauth_config_t *cfg, const char *user_id,
                                      blinkauth_token_copy_t **copy);

/* Keeps copy for (cfg's Auth ID, user_id), sealed under cfg's first BlinkAuthTokenKey, for 28 days from now.
 * APR_SUCCESS; APR_ENOTIMPL when the cache is not enabled for cfg; another status when it failed (logged). */
apr_status_t blinkauth_tokencache_put(request_rec *r, const blinkauth_config_t *cfg, const char *user_id,
                                      const blinkauth_token_copy_t *copy);

/* Drops the copy of (cfg's Auth ID, user_id). APR_SUCCESS; APR_NOTFOUND when there was none (or the cache is not
 * enabled for cfg); another status when the store failed (logged). */
apr_status_t blinkauth_tokencache_remove(request_rec *r, const blinkauth_config_t *cfg, const char *user_id);

/* Takes the per-host lock of (cfg's Auth ID, user_id), one of striped global mutexes (the Mutex type
 * blinkauth-refresh), waiting at most wait: APR_SUCCESS with *held; APR_TIMEUP when it was not had in time (logged
 * at info); another status (logged). Release it with blinkauth_refreshlock_release in the thread that took it,
 * before the hook returns; r->pool's end releases one left held. Works with or without BlinkAuthTokenKey. */
apr_status_t blinkauth_refreshlock_acquire(request_rec *r, const blinkauth_config_t *cfg, const char *user_id,
                                           apr_interval_time_t wait, void **held);

/* Releases a lock blinkauth_refreshlock_acquire gave (NULL: nothing). */
void blinkauth_refreshlock_release(void *held);

/* 1 when the token cache is a store other servers may share (not shmcb): then a refresh is claimed with a lease. */
int blinkauth_tokencache_shared(void);

/* Claims the refresh of (cfg's Auth ID, user_id) among the servers that share the token cache: a lease record
 * "lease:" + the copy's store key holding a random value, for wait + BlinkAuthTimeout. Claim: read (none, or ours) ->
 * store ours -> wait ~20 ms -> read back ours; while another server holds it, looks again every ~20 ms until it is
 * gone or wait passed. APR_SUCCESS with *lease our value; APR_SUCCESS with *lease NULL when there is nothing to claim
 * (the cache is not shared, or not enabled for cfg); APR_TIMEUP when wait passed first (logged at info); another
 * status when the store failed (logged). */
apr_status_t blinkauth_tokencache_lease(request_rec *r, const blinkauth_config_t *cfg, const char *user_id,
                                        apr_interval_time_t wait, const char **lease);

/* Gives up our lease (as blinkauth_tokencache_lease set it; NULL: nothing), unless another server holds it by now. */
void blinkauth_tokencache_lease_release(request_rec *r, const blinkauth_config_t *cfg, const char *user_id,
                                        const char *lease);

/* The refresh locks' lifecycle, which blinkauth_tokencache_pre_config, _post_config and _child_init run
 * (glue/refreshlock.c). */
int blinkauth_refreshlock_pre_config(apr_pool_t *pconf);
int blinkauth_refreshlock_post_config(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s);
void blinkauth_refreshlock_child_init(apr_pool_t *pchild, server_rec *s);

#endif
