/* POST <location>/auth/<auth_id>: Blink's Connect click, answered with an authorization URL. */
#include "routes.h"
#include "cache.h"
#include "counters.h"
#include "guard.h"
#include "reply.h"
#include "envelope.h"
#include "text.h"

#include "apr_strings.h"

const char *blinkauth_route_redirect_path(request_rec *r, const blinkauth_config_t *cfg)
{
    blinkauth_url_parts_t u;

    if (cfg->redirect_uri == NULL)
        return apr_pstrcat(r->pool, cfg->location, "/callback", NULL);
    blinkauth_text_url_split(cfg->redirect_uri, &u);
    return u.path;
}

/* <scheme>://<host>[:port] of BlinkAuthRedirectURI, else of this request as ap_construct_url writes it (the port
 * only when it is not the scheme's default); the redirect URI and the start URL both begin with it. */
static const char *origin(request_rec *r, const blinkauth_config_t *cfg)
{
    blinkauth_url_parts_t u;
    apr_port_t port;
    const char *colon_port;

    if (cfg->redirect_uri) {
        blinkauth_text_url_split(cfg->redirect_uri, &u);
        return apr_pstrmemdup(r->pool, cfg->redirect_uri, (apr_size_t)(u.path - cfg->redirect_uri));
    }
    port = ap_get_server_port(r);
    colon_port = ap_is_default_port(port, r) ? "" : apr_pstrcat(r->pool, ":", apr_itoa(r->pool, port), NULL);
    return apr_pstrcat(r->pool, ap_http_scheme(r), "://", ap_get_server_name_for_url(r), colon_port, NULL);
}

/* The redirect URI: BlinkAuthRedirectURI, else <origin><location>/callback. */
static const char *redirect_uri(request_rec *r, const blinkauth_config_t *cfg, const char *at)
{
    return cfg->redirect_uri ? cfg->redirect_uri
                             : apr_pstrcat(r->pool, at, blinkauth_route_redirect_path(r, cfg), NULL);
}

/* Answers 503 when the flow record could not be stored. */
static int store_failed(request_rec *r, apr_status_t rv, const char *what)
{
    BLINKAUTH_RLOG(APLOG_ERR, rv, r, BLALOGNO(00201) "connect: %s; answering 503", what);
    blinkauth_counters_fail(r, BLINKAUTH_M_CONNECT_STORE_ERROR, what);
    return blinkauth_reply_error(r, HTTP_SERVICE_UNAVAILABLE, "STORE_UNAVAILABLE",
                                 "The connect could not be started because the flow store is unavailable; "
                                 "try again shortly.");
}

/* In a store that is not exclusive: the flow record, with its secrets, under the state of a fresh start handle (the
 * start URL binds it to the browser), and a start record, whose delete is what sends only one browser on; the store's
 * error with *why. */
static apr_status_t stored(request_rec *r, const blinkauth_config_t *cfg, const blinkauth_flow_store_t *store,
                           blinkauth_flow_t *flow, const char **handle, const char **why)
{
    const char *state = NULL;
    apr_status_t rv = blinkauth_flow_secrets(r->pool, flow, blinkauth_config_scope_has_openid(cfg->scope));

    if (rv != APR_SUCCESS) {
        *why = "no randomness for the PKCE verifier";
        return rv;
    }
    rv = blinkauth_flow_put(store, r->pool, flow, apr_time_from_sec(blinkauth_config_state_timeout(cfg)), handle,
                            &state);
    if (rv != APR_SUCCESS) {
        *why = apr_psprintf(r->pool, "the %s flow store refused the flow record", store->provider->name);
        return rv;
    }
    blinkauth_logctx_flow(r, state);
    rv =
        blinkauth_flow_start_put(store, r->pool, *handle, state, blinkauth_route_authorization_url(r, cfg, flow, state),
                                 apr_time_from_sec(blinkauth_config_start_timeout(cfg)));
    if (rv != APR_SUCCESS)
        *why = "the flow store refused the start record";
    return rv;
}

int blinkauth_route_connect(request_rec *r, const blinkauth_config_t *cfg, const char *auth_id)
{
    const blinkauth_flow_store_t *store = blinkauth_cache_store();
    blinkauth_flow_t flow = {0};
    const char *handle = NULL, *why = NULL, *at, *body;
    apr_status_t rv;

    if (r->method_number != M_POST)
        return blinkauth_reply_not_allowed(r, "POST");
    if (!blinkauth_guard_secret(r, cfg)) {
        blinkauth_counters_add(r, BLINKAUTH_M_CONNECT_REFUSED);
        return OK;
    }
    if (strcmp(auth_id, cfg->auth_id) != 0) {
        BLINKAUTH_RLOG(APLOG_INFO, 0, r, BLALOGNO(00202) "connect: Auth ID in the path is not BlinkAuthID %s",
                       cfg->auth_id);
        blinkauth_counters_add(r, BLINKAUTH_M_CONNECT_OTHER_APP);
        return blinkauth_reply_error(r, HTTP_NOT_FOUND, "NOT_FOUND", "No app with this Auth ID is served here.");
    }
    if (!blinkauth_guard_user_id(r, &flow.user_id) || !blinkauth_guard_body(r)) {
        blinkauth_counters_add(r, BLINKAUTH_M_CONNECT_REFUSED);
        return OK;
    }

    flow.auth_id = cfg->auth_id;
    at = origin(r, cfg);
    flow.redirect_uri = redirect_uri(r, cfg, at);
    flow.created = apr_time_now();
    if (store == NULL)
        return store_failed(r, APR_EGENERAL, "no flow store");
    /* An exclusive store keeps nothing yet: the start URL carries the connect, sealed, and the browser that opens it
     * first keeps it, bound to itself, with its PKCE verifier and nonce made then (routes/start.c). */
    if (blinkauth_flow_store_exclusive(store)) {
        if ((rv = blinkauth_flow_handle_seal(store, r->pool, &flow, &handle)) != APR_SUCCESS)
            return store_failed(r, rv, "the connect could not be sealed into a start URL");
        blinkauth_logctx_start(r, handle);
    }
    else if ((rv = stored(r, cfg, store, &flow, &handle, &why)) != APR_SUCCESS)
        return store_failed(r, rv, why);

    BLINKAUTH_RLOG(APLOG_DEBUG, 0, r, BLALOGNO(00203) "connect: flow started for Auth ID %s", cfg->auth_id);
    /* The start URL, <origin><location>/start/<handle>: the browser opens it where it will come back to (the cookie it
     * gets there must reach the callback). */
    body = blinkauth_envelope_ok_string(r->pool, "authorization_url",
                                        apr_pstrcat(r->pool, at, cfg->location, "/start/", NULL), handle);
    if (body == NULL) {
        BLINKAUTH_RLOG(APLOG_ERR, 0, r,
                       BLALOGNO(00204) "connect: the start URL is not UTF-8; "
                                       "check the <Location> and BlinkAuthRedirectURI");
        blinkauth_counters_fail(r, BLINKAUTH_M_CONNECT_CONFIG_ERROR, "the start URL is not UTF-8");
        return blinkauth_reply_config_error(r);
    }
    blinkauth_counters_add(r, BLINKAUTH_M_CONNECT_OK);
    return blinkauth_reply_json(r, HTTP_OK, body);
}
