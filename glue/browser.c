/* The cookie that binds a connect to the browser that opened its start URL. */
#include "browser.h"
#include "crypto.h"

#include "apr_strings.h"
#include "util_cookies.h"

/* Characters of the state's hash in a cookie's name: 96 bits, so that the connects of one browser do not meet. */
#define NAME_HASH_CHARS 16

/* 1 when the app's public origin is https: that of BlinkAuthRedirectURI, else of the request. */
static int origin_is_https(request_rec *r, const blinkauth_config_t *cfg)
{
    return cfg->redirect_uri ? strncasecmp(cfg->redirect_uri, "https://", 8) == 0
                             : strcmp(ap_run_http_scheme(r), "https") == 0;
}

const char *blinkauth_browser_cookie_name(request_rec *r, const blinkauth_config_t *cfg, const char *state)
{
    return apr_pstrcat(r->pool, origin_is_https(r, cfg) ? "__Host-" : "", "blinkauth-",
                       apr_pstrmemdup(r->pool, blinkauth_crypto_sha256_b64url(r->pool, state), NAME_HASH_CHARS), NULL);
}

const char *blinkauth_browser_hash(apr_pool_t *p, const char *value)
{
    return blinkauth_crypto_sha256_b64url(p, value);
}

void blinkauth_browser_cookie_set(request_rec *r, const char *name, const char *value, const char *location,
                                  int max_age)
{
    /* A __Host- cookie must be Secure, with Path=/ and no Domain: browsers refuse it otherwise. */
    const char *attrs = strncmp(name, "__Host-", 7) == 0
                            ? "Path=/;Secure;HttpOnly;SameSite=Lax"
                            : apr_pstrcat(r->pool, "Path=", *location ? location : "/", ";HttpOnly;SameSite=Lax", NULL);

    ap_cookie_write(r, name, value, attrs, max_age, r->headers_out, NULL);
}

const char *blinkauth_browser_cookie_get(request_rec *r, const char *name)
{
    const char *value = NULL;

    return ap_cookie_read(r, name, &value, 0) == APR_SUCCESS ? value : NULL;
}
