/* GET <location>/start/<handle>: the one-time start URL; binds the connect to this browser, then on to the service. */
#include "routes.h"
#include "browser.h"
#include "cache.h"
#include "counters.h"
#include "reply.h"
#include "crypto.h"
#include "provider.h"
#include "text.h"

#include "apr_strings.h"

#define TITLE_USED "This link was already used"
#define SAY_USED "This connect link was already opened, or it has expired. Go back to Blink and click Connect again."

/* The "already used or expired" page, logging why. */
static int used(request_rec *r, const char *why)
{
    BLINKAUTH_RLOG(APLOG_INFO, 0, r, BLALOGNO(00701) "start refused: %s", why);
    blinkauth_counters_add(r, BLINKAUTH_M_START_USED);
    return blinkauth_reply_page(r, HTTP_BAD_REQUEST, TITLE_USED, SAY_USED);
}

/* The store failed: a page that says to try again. */
static int store_failed(request_rec *r, apr_status_t rv, const char *why)
{
    BLINKAUTH_RLOG(APLOG_ERR, rv, r, BLALOGNO(00702) "start: %s", why);
    blinkauth_counters_fail(r, BLINKAUTH_M_START_STORE_ERROR, why);
    return blinkauth_reply_page(r, HTTP_SERVICE_UNAVAILABLE, BLINKAUTH_TITLE_NOT_CONNECTED,
                                "The connection could not be started right now. Go back to Blink and click Connect "
                                "again in a moment.");
}

/* Sends the browser on to the external service with a 303 (the page says where, for a browser that stays). */
static int see_other(request_rec *r, const char *url)
{
    apr_table_setn(r->headers_out, "Location", url);
    blinkauth_counters_add(r, BLINKAUTH_M_START_OK);
    return blinkauth_reply_page(r, HTTP_SEE_OTHER, "Signing in",
                                "Your browser is taken to the external service to sign in.");
}

const char *blinkauth_route_authorization_url(request_rec *r, const blinkauth_config_t *cfg,
                                              const blinkauth_flow_t *flow, const char *state)
{
    blinkauth_provider_authz_t authz = {0};

    authz.authorize_url = cfg->authorize_url;
    authz.client_id = cfg->client_id;
    authz.redirect_uri = flow->redirect_uri;
    authz.scope = cfg->scope;
    authz.state = state;
    authz.code_challenge = blinkauth_crypto_pkce_challenge(r->pool, flow->verifier);
    authz.nonce = flow->nonce;
    authz.prompt = cfg->prompt;
    authz.max_age = cfg->max_age != BLINKAUTH_UNSET_INT ? apr_itoa(r->pool, cfg->max_age) : NULL;
    return blinkauth_provider_authorize_url(r->pool, &authz);
}

int blinkauth_route_start(request_rec *r, const blinkauth_config_t *cfg, const char *handle)
{
    const blinkauth_flow_store_t *store = blinkauth_cache_store();
    blinkauth_flow_opener_t by = {0};
    blinkauth_flow_t *flow = NULL;
    const char *state = NULL, *url = NULL, *why = NULL, *value;
    apr_status_t rv;

    /* HEAD (header_only) must not spend the link: link previewers send it. */
    if (r->method_number != M_GET || r->header_only)
        return blinkauth_reply_not_allowed(r, "GET");
    if (!blinkauth_text_is_b64url(handle, BLINKAUTH_FLOW_HANDLE_MAX) || strlen(handle) < BLINKAUTH_RANDOM_B64_LEN)
        return used(r, "the handle is malformed");
    if (store == NULL)
        return store_failed(r, APR_EGENERAL, "no flow store");
    if ((value = blinkauth_crypto_random_token(r->pool)) == NULL)
        return store_failed(r, APR_EGENERAL, "no randomness for the browser's cookie");
    by.browser = blinkauth_browser_hash(r->pool, value);
    by.auth_id = cfg->auth_id;
    by.redirect_path = blinkauth_route_redirect_path(r, cfg);
    by.ttl = apr_time_from_sec(blinkauth_config_state_timeout(cfg));
    by.open_ttl = apr_time_from_sec(blinkauth_config_start_timeout(cfg));
    /* An OpenID Connect request carries a nonce, which the id_token must return (its replay defence; some services
     * refuse a request without one). */
    by.nonce = blinkauth_config_scope_has_openid(cfg->scope);
    rv = blinkauth_flow_open(store, r->pool, handle, &by, &state, &url, &flow, &why);
    if (state != NULL)
        blinkauth_logctx_flow(r, state);
    if (flow != NULL)
        blinkauth_logctx_user(r, flow->user_id);
    if (rv == APR_NOTFOUND)
        return used(
            r, apr_pstrcat(r->pool, why, " (with more than one server, set BlinkAuthCache to a shared store)", NULL));
    if (rv == APR_EEXIST || rv == APR_TIMEUP || rv == APR_EACCES || rv == APR_EBADF)
        return used(r, why);
    if (rv != APR_SUCCESS)
        return store_failed(r, rv, why);
    blinkauth_browser_cookie_set(r, blinkauth_browser_cookie_name(r, cfg, state), value, cfg->location,
                                 blinkauth_config_state_timeout(cfg));
    BLINKAUTH_RLOG(APLOG_DEBUG, 0, r, BLALOGNO(00703) "start: the connect is bound to this browser");
    return see_other(r, url ? url : blinkauth_route_authorization_url(r, cfg, flow, state));
}
