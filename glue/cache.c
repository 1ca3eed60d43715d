/* The flow store's lifecycle in httpd: provider chosen by BlinkAuthCache, created, attached after fork. */
#include "cache.h"
#include "socache.h"
#include "crypto.h"

#include "apr_strings.h"

/* shmcb is split into this many caches, each behind its own mutex: with one, every Connect and
 * callback of the server queued on one cross-process lock, and a holder descheduled under load
 * stalled them all (a third of httpd's CPU went to futex calls at 50 connections). */
#define SHARDS 8
/* What a shmcb store is told to expect. */
static const struct ap_socache_hints hints = {.avg_id_len = 53, .avg_obj_size = 400, .expiry_interval = 60};

/* The flow store: its caches (shmcb's, in SHARDS) and their mutexes, the Mutex type blinkauth-flow. */
static blinkauth_socache_t flow = {
    .what = "flow store",
    .mutex_type = "blinkauth-flow",
    .retained = "mod_blinkauth-flow-store",
    .space = "mod_blinkauth",
    .hints = &hints,
    .shards = SHARDS,
    .counted = 1,
};
static unsigned char state_key[BLINKAUTH_SEAL_KEY_BYTES]; /* from BlinkAuthStateKey, when key_set */
static int key_set;

/* The name of the random key kept across graceful restarts when BlinkAuthStateKey is unset. */
#define RETAINED_KEY "mod_blinkauth-state-key"

const char *blinkauth_cache_cmd(cmd_parms *cmd, void *dconf, const char *arg)
{
    return blinkauth_socache_cmd(cmd, &flow, arg);
}

const char *blinkauth_cache_state_key_cmd(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    if (err || (err = blinkauth_cmd_key(cmd, arg, state_key)) != NULL)
        return err;
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
    key_set = 0;
    return blinkauth_socache_pre_config(&flow, pconf);
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

int blinkauth_cache_least_timeout(apr_pool_t *ptemp, server_rec *s)
{
    int wait = 0;

    blinkauth_sections_each(ptemp, s, least_timeout, &wait);
    return wait;
}

/* Logs what the flow store is and what bounds a wait for it. */
static void log_store(server_rec *s, apr_pool_t *ptemp, int wait)
{
    const char *name = flow.provider->name, *mech = flow.mutex[0] ? apr_global_mutex_name(flow.mutex[0]) : NULL;

    if (blinkauth_socache_is_shmcb(&flow)) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                     BLALOGNO(00017) "flow store: shmcb in %d shards of %s bytes (%s); locks: %s, waited for at "
                                     "most %d s (the least BlinkAuthTimeout)",
                     flow.n,
                     flow.provider_arg ? apr_psprintf(ptemp, "%" APR_SIZE_T_FMT, flow.size / (apr_size_t)flow.n)
                                       : "524288",
                     flow.fresh ? "new" : "kept from the last generation", mech ? mech : "none", wait);
        return;
    }
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                 BLALOGNO(00018) "flow store: %s, %s; a call to it is bounded by the provider's own timeout, not by "
                                 "BlinkAuthTimeout (%d s): a %s server that accepts connections but does not answer "
                                 "holds each Connect and callback until it answers (see docs/deployment.md)",
                 name, mech ? "behind a host-wide lock" : "no host-wide lock", wait, name);
}

int blinkauth_cache_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    const unsigned char *key = seal_key();
    int wait = blinkauth_cache_least_timeout(ptemp, s), rc;

    if (key == NULL) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, BLALOGNO(00016) "flow store: no randomness for the sealing key");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if ((rc = blinkauth_socache_post_config(&flow, s, pconf, ptemp, key, apr_time_from_sec(wait))) != OK)
        return rc;
    log_store(s, ptemp, wait);
    return OK;
}

void blinkauth_cache_child_init(apr_pool_t *pchild, server_rec *s)
{
    blinkauth_socache_child_init(&flow, pchild, s);
}

const char *blinkauth_cache_shmcb_path(apr_pool_t *p)
{
    return blinkauth_socache_shmcb_path(p, &flow);
}

const blinkauth_flow_store_t *blinkauth_cache_store(void)
{
    return flow.store.provider ? &flow.store : NULL;
}
