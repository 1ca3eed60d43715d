/* The flow store's lifecycle in httpd: BlinkAuthCache, creation after the configuration, attach after fork. */
#ifndef BLINKAUTH_CACHE_H
#define BLINKAUTH_CACHE_H

#include "glue.h"
#include "flow.h"

/* BlinkAuthCache: chooses the socache provider for flow records. */
const char *blinkauth_cache_cmd(cmd_parms *cmd, void *dconf, const char *arg);

/* BlinkAuthStateKey: the key that seals flow records (at least 32 characters of secret). */
const char *blinkauth_cache_state_key_cmd(cmd_parms *cmd, void *dconf, const char *arg);

/* Registers the flow store's mutex (a pre_config hook). */
int blinkauth_cache_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp);

/* Creates the flow store (default shmcb, split into shards) and its mutexes once the configuration is read. */
int blinkauth_cache_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s);

/* Re-attaches the flow store's mutexes in a new child. */
void blinkauth_cache_child_init(apr_pool_t *pchild, server_rec *s);

/* The smallest BlinkAuthTimeout of the configuration's apps, in seconds (0 when there is no app): what bounds a wait
 * for a store's lock. */
int blinkauth_cache_least_timeout(apr_pool_t *ptemp, server_rec *s);

/* The path BlinkAuthCache gave shmcb ("" for none), or NULL for another provider. */
const char *blinkauth_cache_shmcb_path(apr_pool_t *p);

/* The flow store, ready after post_config; NULL before. */
const blinkauth_flow_store_t *blinkauth_cache_store(void);

#endif
