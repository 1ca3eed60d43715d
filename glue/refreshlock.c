/* The per-host refresh lock of one (Auth ID, user): striped global mutexes (the Mutex type blinkauth-refresh), made
 * and kept across graceful restarts as the flow store's are, attached in each child. */
#include "tokencache.h"
#include "socache.h"
#include "lock.h"

#include "apr_strings.h"
#include "apr_hash.h"

/* How many mutexes the (Auth ID, user) pairs are spread over: two users on one stripe wait for each other's refresh. */
#define STRIPES 16

static blinkauth_socache_t locks = {
    .what = "refresh locks",
    .mutex_type = "blinkauth-refresh",
    .retained = "mod_blinkauth-refresh-locks",
    .locks = STRIPES,
};

/* A lock taken: its mutex, and the request pool whose end releases it if no one did. */
typedef struct {
    apr_global_mutex_t *mutex;
    apr_pool_t *pool;
} held_t;

int blinkauth_refreshlock_pre_config(apr_pool_t *pconf)
{
    return blinkauth_socache_pre_config(&locks, pconf);
}

int blinkauth_refreshlock_post_config(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s)
{
    int rc = blinkauth_socache_post_config(&locks, s, pconf, ptemp, NULL, 0);

    if (rc == OK)
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, BLALOGNO(00963) "refresh locks: %d, %s (%s)", locks.n,
                     apr_global_mutex_name(locks.mutex[0]), locks.fresh ? "new" : "kept from the last generation");
    return rc;
}

void blinkauth_refreshlock_child_init(apr_pool_t *pchild, server_rec *s)
{
    blinkauth_socache_child_init(&locks, pchild, s);
}

/* The stripe of (auth_id, user_id): the same in every process (APR's default hash has no seed). */
static int stripe_of(apr_pool_t *p, const char *auth_id, const char *user_id)
{
    const char *pair = apr_pstrcat(p, auth_id ? auth_id : "", "\n", user_id, NULL);
    apr_ssize_t len = (apr_ssize_t)strlen(pair);

    return (int)(apr_hashfunc_default(pair, &len) % (unsigned int)locks.n);
}

/* r->pool cleanup: releases a lock no one released. */
static apr_status_t held_release(void *data)
{
    held_t *held = data;

    apr_global_mutex_unlock(held->mutex);
    return APR_SUCCESS;
}

apr_status_t blinkauth_refreshlock_acquire(request_rec *r, const blinkauth_config_t *cfg, const char *user_id,
                                           apr_interval_time_t wait, void **held)
{
    apr_global_mutex_t *mutex;
    apr_status_t rv;
    held_t *one;

    *held = NULL;
    if (locks.n == 0 || (mutex = locks.mutex[stripe_of(r->pool, cfg->auth_id, user_id)]) == NULL) {
        BLINKAUTH_RLOG(APLOG_ERR, APR_EINIT, r, BLALOGNO(00964) "refresh lock: the locks were not made");
        return APR_EINIT;
    }
    rv = blinkauth_lock_global(mutex, apr_time_now() + wait, 0);
    if (rv == APR_TIMEUP) {
        BLINKAUTH_RLOG(APLOG_INFO, 0, r, BLALOGNO(00965) "refresh lock: not had within %d ms",
                       (int)apr_time_as_msec(wait));
        return rv;
    }
    if (rv != APR_SUCCESS) {
        BLINKAUTH_RLOG(APLOG_ERR, rv, r, BLALOGNO(00966) "refresh lock: cannot take it");
        return rv;
    }
    one = apr_palloc(r->pool, sizeof(*one));
    one->mutex = mutex;
    one->pool = r->pool;
    apr_pool_cleanup_register(r->pool, one, held_release, apr_pool_cleanup_null);
    *held = one;
    return APR_SUCCESS;
}

void blinkauth_refreshlock_release(void *held)
{
    held_t *one = held;

    if (one)
        apr_pool_cleanup_run(one->pool, one, held_release);
}
