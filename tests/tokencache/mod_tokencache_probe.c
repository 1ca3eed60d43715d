/* A test-only module for tests/tokencache/run.sh: SetHandler blinkauth-tokencache-probe answers one call of the token
 * cache's API (glue/tokencache.h) per request, with the configuration of the app whose <Location> holds it, as
 * plain text. It resolves those functions in mod_blinkauth.so, which httpd loads with RTLD_GLOBAL before it.
 *   ?op=get&user=U                     "<status> <access token> <refresh token|-> <expires s> <synced>"
 *   ?op=put&user=U&at=A[&rt=R][&exp=S] "<status>"
 *   ?op=remove&user=U                  "<status>"
 *   ?op=lock&user=U&wait=MS&hold=MS    "<status>": the refresh lock taken, held hold ms, released
 *   ?op=lease&user=U&wait=MS&hold=MS   "<status> <1 when a lease was claimed>": the lease likewise
 *   ?op=state                          "<enabled> <shared>"
 * A status is APR's number: 0 success, 70007 APR_TIMEUP, 70015 APR_NOTFOUND. Never in a real configuration. */
#include "tokencache.h"

#include "util_script.h"
#include "apr_strings.h"

extern module AP_MODULE_DECLARE_DATA blinkauth_module;

/* The query argument name of r, or def. */
static const char *arg(request_rec *r, const char *name, const char *def)
{
    apr_table_t *t = NULL;
    const char *v;

    ap_args_to_table(r, &t);
    v = t ? apr_table_get(t, name) : NULL;
    return v ? v : def;
}

/* Milliseconds in the query argument name of r. */
static apr_interval_time_t ms(request_rec *r, const char *name)
{
    return apr_time_from_msec(apr_atoi64(arg(r, name, "0")));
}

/* The answer of one op. */
static const char *probe(request_rec *r, const blinkauth_config_t *cfg, const char *op, const char *user)
{
    blinkauth_token_copy_t copy = {0}, *got = NULL;
    const char *lease = NULL;
    void *held = NULL;
    apr_status_t rv;

    if (strcmp(op, "get") == 0) {
        rv = blinkauth_tokencache_get(r, cfg, user, &got);
        return got ? apr_psprintf(r->pool, "%d %s %s %" APR_TIME_T_FMT " %d", rv, got->access_token,
                                  got->refresh_token ? got->refresh_token : "-", apr_time_sec(got->expires),
                                  got->synced)
                   : apr_psprintf(r->pool, "%d", rv);
    }
    if (strcmp(op, "put") == 0) {
        copy.linked_account_id = "la-1";
        copy.external_account_id = "someone@example.test";
        copy.access_token = arg(r, "at", "");
        copy.refresh_token = arg(r, "rt", NULL);
        copy.expires = apr_time_from_sec(apr_atoi64(arg(r, "exp", "0")));
        copy.obtained = apr_time_now();
        copy.synced = 1;
        return apr_itoa(r->pool, blinkauth_tokencache_put(r, cfg, user, &copy));
    }
    if (strcmp(op, "remove") == 0)
        return apr_itoa(r->pool, blinkauth_tokencache_remove(r, cfg, user));
    if (strcmp(op, "lock") == 0) {
        if ((rv = blinkauth_refreshlock_acquire(r, cfg, user, ms(r, "wait"), &held)) == APR_SUCCESS) {
            apr_sleep(ms(r, "hold"));
            blinkauth_refreshlock_release(held);
        }
        return apr_itoa(r->pool, rv);
    }
    if (strcmp(op, "lease") == 0) {
        if ((rv = blinkauth_tokencache_lease(r, cfg, user, ms(r, "wait"), &lease)) == APR_SUCCESS) {
            apr_sleep(ms(r, "hold"));
            blinkauth_tokencache_lease_release(r, cfg, user, lease);
        }
        return apr_psprintf(r->pool, "%d %d", rv, lease != NULL);
    }
    if (strcmp(op, "state") == 0)
        return apr_psprintf(r->pool, "%d %d", blinkauth_tokencache_enabled(cfg), blinkauth_tokencache_shared());
    return NULL;
}

/* The handler: one op of the query string, answered as text. */
static int handler(request_rec *r)
{
    const blinkauth_config_t *cfg;
    const char *answer;

    if (r->handler == NULL || strcmp(r->handler, "blinkauth-tokencache-probe") != 0)
        return DECLINED;
    cfg = ap_get_module_config(r->per_dir_config, &blinkauth_module);
    if ((answer = probe(r, cfg, arg(r, "op", ""), arg(r, "user", "u-1"))) == NULL)
        return HTTP_BAD_REQUEST;
    ap_set_content_type(r, "text/plain");
    ap_rprintf(r, "%s\n", answer);
    return OK;
}

/* Registers the handler. */
static void register_hooks(apr_pool_t *p)
{
    ap_hook_handler(handler, NULL, NULL, APR_HOOK_MIDDLE);
}

module AP_MODULE_DECLARE_DATA tokencache_probe_module = {STANDARD20_MODULE_STUFF, NULL, NULL, NULL, NULL, NULL,
                                                         register_hooks,
#if defined(AP_MODULE_FLAG_ALWAYS_MERGE)
                                                         AP_MODULE_FLAG_NONE
#endif
};
