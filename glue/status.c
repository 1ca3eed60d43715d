/* SetHandler blinkauth-status: the counters as Prometheus text or JSON, <location>/health, and a server-status
 * section. */
#include "status.h"
#include "counters.h"
#include "cache.h"
#include "reply.h"
#include "http.h"
#include "json.h"
#include "text.h"

#include "apr_strings.h"
#include "mod_status.h"

#define HEALTH "/health"
#define PROMETHEUS_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* A URL as the config summary shows it: without its query string, fragment or userinfo; NULL stays NULL. */
static json_t *url_json(apr_pool_t *p, const char *url)
{
    return url ? json_string(blinkauth_http_url_for_log(p, url)) : json_null();
}

/* How many seconds ago this process read the metadata of an app with discovery, or null. */
static json_t *discovery_age(const blinkauth_config_t *cfg)
{
    apr_time_t at = blinkauth_discovery_read_at(cfg);

    return at ? json_integer((json_int_t)apr_time_sec(apr_time_now() - at)) : json_null();
}

/* An app's settings, without a secret: where it lives, which endpoints it calls, its flow store, discovery. */
static json_t *config_summary(request_rec *r, const blinkauth_counted_app_t *app)
{
    const blinkauth_config_t *cfg = blinkauth_discovery_apply(r, app->cfg);
    const blinkauth_flow_store_t *store = blinkauth_cache_store();

    if (cfg == NULL)
        cfg = app->cfg;
    return json_pack("{s:s, s:s?, s:{s:o, s:o, s:o, s:o, s:o, s:o}, s:s?, s:{s:b, s:o, s:o}}", "location",
                     cfg->location ? cfg->location : "/", "server", app->server->server_hostname, "endpoints",
                     "authorize", url_json(r->pool, cfg->authorize_url), "token", url_json(r->pool, cfg->token_url),
                     "userinfo", url_json(r->pool, cfg->userinfo_url), "revoke", url_json(r->pool, cfg->revoke_url),
                     "blink_api", url_json(r->pool, blinkauth_config_api_url(cfg)), "redirect_uri",
                     url_json(r->pool, cfg->redirect_uri), "flow_store", store ? store->provider->name : NULL,
                     "discovery", "enabled", cfg->metadata_url != NULL, "metadata_url",
                     url_json(r->pool, cfg->metadata_url), "age_seconds", discovery_age(app->cfg));
}

/* Per-app extra members of the JSON, next to "counters": the app's configuration summary, its last failures (newest
 * first) and the last background check of its Blink API token. */
static void app_extra_members(request_rec *r, json_t *app_json, const blinkauth_counted_app_t *app)
{
    const blinkauth_journal_t *j = blinkauth_counters_journal(app->slot);

    json_object_set_new(app_json, "config", config_summary(r, app));
    json_object_set_new(app_json, "failures", j ? blinkauth_journal_failures_json(j) : json_array());
    json_object_set_new(app_json, "blink_api",
                        !blinkauth_config_token_check(app->cfg) ? json_pack("{s:s}", "token", "not checked (Off)")
                        : j                                     ? blinkauth_journal_check_json(j)
                                                                : json_pack("{s:s}", "token", "not checked yet"));
}

/* The JSON answer: the counters, and each app's extra members. */
static const char *status_json(request_rec *r)
{
    const apr_array_header_t *apps = blinkauth_counted_apps();
    int n, i;
    const int *slots = blinkauth_counted_slots(r->pool, &n);
    json_t *all = blinkauth_metrics_json(blinkauth_counters(), slots, n, blinkauth_counters_alive), *by_id;

    blinkauth_json_bind(r->pool, all);
    by_id = json_object_get(all, "apps");
    for (i = 0; i < n; i++) {
        const blinkauth_counted_app_t *app = APR_ARRAY_IDX(apps, i, blinkauth_counted_app_t *);
        json_t *one = json_object_get(by_id, app->auth_id);

        if (one == NULL) { /* beyond the counted apps: its configuration still shows */
            one = json_object();
            json_object_set_new(by_id, app->auth_id, one);
        }
        app_extra_members(r, one, app);
    }
    return blinkauth_json_dump(r->pool, all);
}

/* 1 when the answer should be JSON: ?format=json, or no format and an Accept that names JSON and not text/plain. */
static int wants_json(request_rec *r, const char *format)
{
    const char *accept = apr_table_get(r->headers_in, "Accept");

    if (format)
        return strcmp(format, "json") == 0;
    return accept && ap_strcasestr(accept, "application/json") && !ap_strcasestr(accept, "text/plain");
}

/* Sends a body with its type, never cached. */
static int send_text(request_rec *r, int status, const char *type, const char *body)
{
    r->status = status;
    ap_set_content_type(r, type);
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    ap_set_content_length(r, (apr_off_t)strlen(body));
    if (!r->header_only)
        ap_rwrite(body, (int)strlen(body), r);
    return OK;
}

/* GET <location>: the counters, in the format asked for. */
static int metrics(request_rec *r)
{
    apr_table_t *query = blinkauth_text_form_parse(r->pool, r->args);
    const char *format = query ? blinkauth_text_form_single(query, "format", NULL) : NULL;
    const blinkauth_metrics_t *m = blinkauth_counters();
    const int *slots;
    int n;

    if (format && strcmp(format, "json") != 0 && strcmp(format, "prometheus") != 0)
        return blinkauth_reply_error(r, HTTP_BAD_REQUEST, "BAD_REQUEST", "format is json or prometheus.");
    if (m == NULL)
        return blinkauth_reply_error(r, HTTP_SERVICE_UNAVAILABLE, "UNAVAILABLE", "The counters are not available.");
    if (wants_json(r, format))
        return blinkauth_reply_json(r, HTTP_OK, status_json(r));
    slots = blinkauth_counted_slots(r->pool, &n);
    return send_text(r, HTTP_OK, PROMETHEUS_TYPE,
                     blinkauth_metrics_prometheus(r->pool, m, slots, n, blinkauth_counters_alive));
}

/* GET <location>/health: 200 when the flow store takes, gives back and deletes a probe record, else 503. */
static int health(request_rec *r)
{
    const blinkauth_flow_store_t *store = blinkauth_cache_store();
    const char *why = "no flow store";
    apr_status_t rv = store ? blinkauth_flow_probe(store, r->pool, &why) : APR_EGENERAL;

    if (rv == APR_SUCCESS)
        return blinkauth_reply_json(r, HTTP_OK, "{\"status\":\"ok\"}");
    ap_log_rerror(APLOG_MARK, APLOG_INFO, rv, r, BLALOGNO(00802) "health: the flow store failed: %s", why);
    return blinkauth_reply_json(
        r, HTTP_SERVICE_UNAVAILABLE,
        blinkauth_json_dump(r->pool, blinkauth_json_bind(r->pool, json_pack("{s:s, s:s, s:s}", "status", "unavailable",
                                                                            "failing", "flow store", "why", why))));
}

int blinkauth_status_handler(request_rec *r)
{
    apr_size_t n = strlen(r->uri);

    if (r->handler == NULL || strcmp(r->handler, BLINKAUTH_STATUS_HANDLER) != 0)
        return DECLINED;
    if (r->method_number != M_GET)
        return blinkauth_reply_not_allowed(r, "GET");
    /* By the path's end: the <Location> is not known here (httpd gives a module's configuration only to the sections
     * with its directives, and <Location /blink> covers /blinkauth-status too). */
    if (n >= sizeof(HEALTH) - 1 && strcmp(r->uri + n - (sizeof(HEALTH) - 1), HEALTH) == 0)
        return health(r);
    return metrics(r);
}

/* mod_status's hook: a line per app (?auto: "BlinkAuth<What>_<auth_id>: n" lines), after httpd's own report. */
static int status_hook(request_rec *r, int flags)
{
    const blinkauth_metrics_t *m = blinkauth_counters();
    const apr_array_header_t *apps = blinkauth_counted_apps();
    int i;

    if (m == NULL || apps == NULL)
        return OK;
    if (flags & AP_STATUS_SHORT)
        ap_rprintf(r, "BlinkAuthApps: %d\n", apps->nelts);
    else
        ap_rprintf(r, "<hr>\n<h2>mod_blinkauth</h2>\n<table border=\"1\"><tr><th>Auth ID</th><th>Connects</th>"
                      "<th>Callbacks</th><th>Failures</th></tr>\n");
    for (i = 0; i < apps->nelts; i++) {
        const blinkauth_counted_app_t *app = APR_ARRAY_IDX(apps, i, blinkauth_counted_app_t *);
        apr_uint64_t c, b, f;

        if (app->slot < 0)
            continue;
        c = blinkauth_metrics_app_total(m, app->slot, BLINKAUTH_MF_CONNECT, 0);
        b = blinkauth_metrics_app_total(m, app->slot, BLINKAUTH_MF_CALLBACK, 0);
        f = blinkauth_metrics_app_total(m, app->slot, -1, 1);
        if (flags & AP_STATUS_SHORT)
            ap_rprintf(r,
                       "BlinkAuthConnects_%s: %" APR_UINT64_T_FMT "\nBlinkAuthCallbacks_%s: %" APR_UINT64_T_FMT
                       "\nBlinkAuthFailures_%s: %" APR_UINT64_T_FMT "\n",
                       app->auth_id, c, app->auth_id, b, app->auth_id, f);
        else
            ap_rprintf(r,
                       "<tr><td>%s</td><td>%" APR_UINT64_T_FMT "</td><td>%" APR_UINT64_T_FMT
                       "</td><td>%" APR_UINT64_T_FMT "</td></tr>\n",
                       ap_escape_html(r->pool, app->auth_id), c, b, f);
    }
    if (!(flags & AP_STATUS_SHORT))
        ap_rputs("</table>\n", r);
    return OK;
}

void blinkauth_status_register_hooks(void)
{
    ap_hook_handler(blinkauth_status_handler, NULL, NULL, APR_HOOK_MIDDLE);
    APR_OPTIONAL_HOOK(ap, status_hook, status_hook, NULL, NULL, APR_HOOK_MIDDLE);
}
