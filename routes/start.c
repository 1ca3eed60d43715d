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

/* Binds the flow the start record of handle names, as bind_handle does, the URL from the record: a start URL of a
 * store that is not exclusive, or one an earlier version answered (a graceful restart into this version keeps the
 * records of its store). */
static apr_status_t bind_recorded(request_rec *r, const blinkauth_config_t *cfg, const char *handle,
                                  const char *browser, const char **state, const char **url, blinkauth_flow_t **flow,
                                  const char **why)
{
    const blinkauth_flow_store_t *store = blinkauth_cache_store();
    apr_status_t rv = blinkauth_flow_start_take(store, r->pool, handle, state, url, why);

    if (rv != APR_SUCCESS)
        return rv;
    return blinkauth_flow_bind(store, r->pool, *state, apr_time_from_sec(blinkauth_config_state_timeout(cfg)),
                               apr_time_from_sec(blinkauth_config_start_timeout(cfg)), browser, flow, why);
}

/* Binds the flow of handle to browser (its cookie's hash) and sets *state and *url (where to send the browser on);
 * as blinkauth_flow_bind, APR_NOTFOUND when there is nothing to bind. In an exclusive store the handle's state finds
 * the flow record (failing that, an earlier version's start record); in another store the start record leads to it.
 * A flow found names the request's log lines. */
static apr_status_t bind_handle(request_rec *r, const blinkauth_config_t *cfg, const char *handle, const char *browser,
                                const char **state, const char **url, const char **why)
{
    const blinkauth_flow_store_t *store = blinkauth_cache_store();
    blinkauth_flow_t *flow = NULL;
    apr_status_t rv = APR_NOTFOUND;

    *state = blinkauth_flow_state_of(r->pool, handle);
    if (blinkauth_flow_store_exclusive(store))
        rv = blinkauth_flow_bind(store, r->pool, *state, apr_time_from_sec(blinkauth_config_state_timeout(cfg)),
                                 apr_time_from_sec(blinkauth_config_start_timeout(cfg)), browser, &flow, why);
    if (rv == APR_NOTFOUND)
        rv = bind_recorded(r, cfg, handle, browser, state, url, &flow, why);
    else if (rv == APR_SUCCESS)
        *url = blinkauth_route_authorization_url(r, cfg, flow, *state);
    if (flow != NULL) {
        blinkauth_logctx_flow(r, *state);
        blinkauth_logctx_user(r, flow->user_id);
    }
    return rv;
}

int blinkauth_route_start(request_rec *r, const blinkauth_config_t *cfg, const char *handle)
{
    const char *state = NULL, *url = NULL, *why = NULL, *value;
    apr_status_t rv;

    /* HEAD (header_only) must not spend the link: link previewers send it. */
    if (r->method_number != M_GET || r->header_only)
        return blinkauth_reply_not_allowed(r, "GET");
    if (!blinkauth_text_is_b64url(handle, BLINKAUTH_RANDOM_B64_LEN) || strlen(handle) != BLINKAUTH_RANDOM_B64_LEN)
        return used(r, "the handle is malformed");
    if (blinkauth_cache_store() == NULL)
        return store_failed(r, APR_EGENERAL, "no flow store");
    if ((value = blinkauth_crypto_random_token(r->pool)) == NULL)
        return store_failed(r, APR_EGENERAL, "no randomness for the browser's cookie");
    rv = bind_handle(r, cfg, handle, blinkauth_browser_hash(r->pool, value), &state, &url, &why);
    if (rv == APR_NOTFOUND)
        return used(r, "no connect for this handle: already completed, or older than BlinkAuthStateTimeout (with "
                       "more than one server, set BlinkAuthCache to a shared store)");
    if (rv == APR_EEXIST || rv == APR_TIMEUP)
        return used(r, rv == APR_EEXIST ? "the connect is bound to a browser already (the start URL was opened)"
                                        : "the start URL is older than BlinkAuthStartTimeout");
    if (rv != APR_SUCCESS)
        return store_failed(r, rv, why);
    blinkauth_browser_cookie_set(r, blinkauth_browser_cookie_name(r, cfg, state), value, cfg->location,
                                 blinkauth_config_state_timeout(cfg));
    BLINKAUTH_RLOG(APLOG_DEBUG, 0, r, BLALOGNO(00703) "start: the connect is bound to this browser");
    return see_other(r, url);
}
