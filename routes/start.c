/* GET <location>/start/<handle>: the one-time start URL; binds the connect to this browser, then on to the service. */
#include "routes.h"
#include "browser.h"
#include "cache.h"
#include "counters.h"
#include "reply.h"
#include "crypto.h"
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

int blinkauth_route_start(request_rec *r, const blinkauth_config_t *cfg, const char *handle)
{
    const blinkauth_flow_store_t *store = blinkauth_cache_store();
    apr_interval_time_t ttl = apr_time_from_sec(blinkauth_config_state_timeout(cfg));
    const char *state = NULL, *url = NULL, *why = NULL, *value;
    apr_status_t rv;

    /* HEAD (header_only) must not spend the link: link previewers send it. */
    if (r->method_number != M_GET || r->header_only)
        return blinkauth_reply_not_allowed(r, "GET");
    if (!blinkauth_text_is_b64url(handle, BLINKAUTH_RANDOM_B64_LEN) || strlen(handle) != BLINKAUTH_RANDOM_B64_LEN)
        return used(r, "the handle is malformed");
    if (store == NULL)
        return store_failed(r, APR_EGENERAL, "no flow store");
    rv = blinkauth_flow_start_take(store, r->pool, handle, &state, &url, &why);
    if (rv == APR_NOTFOUND)
        return used(r, "no start record for this handle: already opened, or older than BlinkAuthStartTimeout (with "
                       "more than one server, set BlinkAuthCache to a shared store)");
    if (rv != APR_SUCCESS)
        return store_failed(r, rv, why);
    blinkauth_logctx_flow(r, state);
    if ((value = blinkauth_crypto_random_token(r->pool)) == NULL)
        return store_failed(r, APR_EGENERAL, "no randomness for the browser's cookie");
    rv = blinkauth_flow_bind(store, r->pool, state, ttl, blinkauth_browser_hash(r->pool, value), &why);
    if (rv == APR_NOTFOUND || rv == APR_EEXIST)
        return used(r, rv == APR_EEXIST ? "the connect is bound to a browser already" : "the connect has expired");
    if (rv != APR_SUCCESS)
        return store_failed(r, rv, why);
    blinkauth_browser_cookie_set(r, blinkauth_browser_cookie_name(r, cfg, state), value, cfg->location,
                                 blinkauth_config_state_timeout(cfg));
    BLINKAUTH_RLOG(APLOG_DEBUG, 0, r, BLALOGNO(00703) "start: the connect is bound to this browser");
    return see_other(r, url);
}
