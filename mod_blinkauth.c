/* mod_blinkauth: a Blink Authenticated App backend by configuration alone — the httpd glue. */
#include "glue.h"
#include "cache.h"
#include "tokencache.h"
#include "counters.h"
#include "status.h"
#include "tokencheck.h"
#include "reply.h"
#include "routes.h"
#include "redact.h"
#include "http.h"
#include "crypto.h"
#include "authblink.h"

#include "apr_strings.h"

/* The note by which translate_name tells map_to_storage that the module answers a request itself. */
#define OURS_NOTE "blinkauth-ours"

/* Creates a section's configuration, remembering its path: the routes live under it. */
static void *create_dir_config(apr_pool_t *p, char *path)
{
    return blinkauth_config_create(p, path);
}

/* Merges an inner section over an outer one. */
static void *merge_dir_config(apr_pool_t *p, void *outer, void *inner)
{
    return blinkauth_config_merge(p, outer, inner);
}

/* pconf cleanup: hashing gives back what it keeps, before httpd unloads this module's code with the configuration. */
static apr_status_t crypto_release(void *data)
{
    blinkauth_crypto_release();
    return APR_SUCCESS;
}

/* Readies libcurl, the counters, the providers' metadata, the flow store and the token cache once the configuration
 * is read. */
static int post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    int first = ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG;
    int rc;

    /* Registered in both passes: the configuration's secrets were hashed while httpd read it. */
    apr_pool_cleanup_register(pconf, NULL, crypto_release, apr_pool_cleanup_null);
    if (blinkauth_http_global_init(pconf) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, BLALOGNO(00006) "cannot initialise libcurl");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    /* The counters come first: discovery's calls in the parent are counted too. */
    if (!first)
        blinkauth_counters_post_config(pconf, ptemp, s);
    /* Discovery also runs in the first pass of a start, the one before httpd leaves the terminal, so that a
     * provider whose metadata cannot be read makes `apachectl start` itself fail; the rest waits for the second. */
    rc = blinkauth_discovery_post_config(pconf, plog, ptemp, s);
    /* The parent's calls are done: its children inherit no handle, and so no connection it opened. */
    blinkauth_http_idle_drain();
    if (rc != OK || first)
        return rc;
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, BLALOGNO(00007) "mod_blinkauth/%s ready", BLINKAUTH_VERSION);
    rc = blinkauth_cache_post_config(pconf, plog, ptemp, s);
    return rc == OK ? blinkauth_tokencache_post_config(pconf, plog, ptemp, s) : rc;
}

/* Attaches what a new child needs: the flow store's and the token cache's mutexes, its counters' slot, a fresh pool of
 * HTTP handles, the metadata refresh. */
static void child_init(apr_pool_t *pchild, server_rec *s)
{
    blinkauth_cache_child_init(pchild, s);
    blinkauth_tokencache_child_init(pchild, s);
    blinkauth_counters_child_init(pchild, s);
    if (blinkauth_http_child_init(pchild) != APR_SUCCESS)
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, BLALOGNO(00008) "cannot prepare the HTTP client in this child");
    blinkauth_discovery_child_init(pchild, s);
    blinkauth_tokencheck_child_init(pchild, s);
}

/* The request path below the app's <Location>, without its leading '/'; NULL when outside it. */
static const char *route_path(request_rec *r, const blinkauth_config_t *cfg)
{
    apr_size_t n;

    if (cfg->location == NULL)
        return NULL;
    n = strlen(cfg->location);
    if (strncmp(r->uri, cfg->location, n) != 0 || (r->uri[n] != '/' && r->uri[n] != '\0'))
        return NULL;
    return r->uri[n] == '/' ? r->uri + n + 1 : r->uri + n;
}

/* The single path segment after prefix in path, or NULL when path is not prefix + one segment. */
static const char *route_param(const char *path, const char *prefix)
{
    apr_size_t n = strlen(prefix);

    if (strncmp(path, prefix, n) != 0 || path[n] == '\0' || strchr(path + n, '/') != NULL)
        return NULL;
    return path + n;
}

/* A route of an app's <Location>: answers r completely (param: what follows the route's prefix) and returns OK. */
typedef int route_fn(request_rec *r, const blinkauth_config_t *cfg, const char *param);

/* GET callback, as a route_fn. */
static int callback_route(request_rec *r, const blinkauth_config_t *cfg, const char *param)
{
    return blinkauth_route_callback(r, cfg);
}

/* The route r's path names under cfg's <Location>, with its parameter in *param; NULL when none does. */
static route_fn *route_of(request_rec *r, const blinkauth_config_t *cfg, const char **param)
{
    const char *path = route_path(r, cfg);

    if (path == NULL)
        return NULL;
    if (strcmp(path, "callback") == 0)
        return callback_route;
    if ((*param = route_param(path, "auth/")) != NULL)
        return blinkauth_route_connect;
    if ((*param = route_param(path, "start/")) != NULL)
        return blinkauth_route_start;
    if ((*param = route_param(path, "linked-accounts/")) != NULL)
        return blinkauth_route_disconnect;
    return NULL;
}

/* Dispatches a request of SetHandler blinkauth to its route. */
static int handler(request_rec *r)
{
    const blinkauth_config_t *cfg;
    const char *param = NULL, *missing;
    route_fn *route;

    if (r->handler == NULL || strcmp(r->handler, "blinkauth") != 0)
        return DECLINED;
    cfg = blinkauth_request_config(r);
    if ((missing = blinkauth_config_missing(cfg)) != NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, BLALOGNO(00009) "%s has SetHandler blinkauth but no %s", r->uri,
                      missing);
        return blinkauth_reply_config_error(r);
    }
    if ((cfg = blinkauth_discovery_apply(r, cfg)) == NULL)
        return blinkauth_reply_config_error(r);
    if ((route = route_of(r, cfg, &param)) != NULL)
        return route(r, cfg, param);
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, BLALOGNO(00010) "%s %s: no such route", r->method, r->uri);
    return blinkauth_reply_error(r, HTTP_NOT_FOUND, "NOT_FOUND", "There is no such route in this app.");
}

int blinkauth_is_own_route(request_rec *r)
{
    const char *param;

    return apr_table_get(r->notes, OURS_NOTE) != NULL && r->proxyreq == PROXYREQ_NONE &&
           route_of(r, blinkauth_request_config(r), &param) != NULL;
}

/* The handler SetHandler names for r (the expression httpd's fixups evaluate later to set r->handler), or NULL. */
static const char *handler_set(request_rec *r)
{
    core_dir_config *core = ap_get_core_module_config(r->per_dir_config);
    const char *err = NULL, *name;

    if (core == NULL || core->expr_handler == NULL)
        return NULL;
    name = ap_expr_str_exec(r, core->expr_handler, &err);
    return err == NULL ? name : NULL;
}

/* Marks, for map_to_storage, the requests the module answers itself: those under an app's <Location> or a
 * blinkauth-status one, and a TRACE under any section with BlinkAuth directives (httpd would answer it by echoing
 * the request back to the caller, the blink-auth-proxysecret header Blink's proxy added included). */
static int translate_name(request_rec *r)
{
    const blinkauth_config_t *cfg = blinkauth_request_config(r);
    const char *handler = handler_set(r);
    int app = cfg && blinkauth_config_is_used(cfg);

    if ((app && (r->method_number == M_TRACE || (handler && strcasecmp(handler, "blinkauth") == 0))) ||
        (handler && strcasecmp(handler, BLINKAUTH_STATUS_HANDLER) == 0))
        apr_table_setn(r->notes, OURS_NOTE, "1");
    return DECLINED;
}

/* Skips httpd's filesystem walk, and its TRACE answer, for a marked request, as mod_proxy does for its own: the
 * module answers from memory, so the walk would only cost stat calls, and fail with 403 where httpd's children may
 * not search the document root's path. */
static int map_to_storage(request_rec *r)
{
    /* A request mod_proxy took (a ProxyPass below the app's <Location>) is its own. */
    if (apr_table_get(r->notes, OURS_NOTE) == NULL || r->proxyreq != PROXYREQ_NONE)
        return DECLINED;
    r->filename = apr_pstrcat(r->pool, "blinkauth:", r->uri, NULL);
    return OK;
}

/* Registers the hooks. */
static void register_hooks(apr_pool_t *p)
{
    ap_hook_pre_config(blinkauth_cache_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_pre_config(blinkauth_tokencache_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(blinkauth_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_translate_name(translate_name, NULL, NULL, APR_HOOK_REALLY_FIRST);
    ap_hook_map_to_storage(map_to_storage, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_handler(handler, NULL, NULL, APR_HOOK_MIDDLE);
    blinkauth_status_register_hooks();
    blinkauth_authblink_register_hooks(p);
    ap_hook_log_transaction(blinkauth_redact_log_transaction, NULL, NULL, APR_HOOK_REALLY_FIRST);
}

/* The module; glue.h declares it (APLOG_USE_MODULE), so AP_DECLARE_MODULE would declare it twice. */
module AP_MODULE_DECLARE_DATA blinkauth_module = {
    STANDARD20_MODULE_STUFF, create_dir_config, merge_dir_config, NULL, NULL, blinkauth_cmds, register_hooks,
#if defined(AP_MODULE_FLAG_ALWAYS_MERGE)
    AP_MODULE_FLAG_NONE
#endif
};
