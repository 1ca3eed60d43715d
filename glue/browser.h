/* The cookie that binds a connect to the browser that opened its start URL. */
#ifndef BLINKAUTH_BROWSER_H
#define BLINKAUTH_BROWSER_H

#include "glue.h"

/* The name of the cookie of the flow of state: "__Host-blinkauth-<16 characters derived from the state>" when the
 * app's public origin (that of BlinkAuthRedirectURI, else of r) is https, "blinkauth-<...>" when it is plain http. */
const char *blinkauth_browser_cookie_name(request_rec *r, const blinkauth_config_t *cfg, const char *state);

/* What a flow record keeps of a cookie's value: its SHA-256, base64url. */
const char *blinkauth_browser_hash(apr_pool_t *p, const char *value);

/* Sets the cookie name=value on r's answer for max_age seconds: HttpOnly, SameSite=Lax, and Secure with Path=/ on an
 * https origin (a __Host- cookie), Path=location on plain http. */
void blinkauth_browser_cookie_set(request_rec *r, const char *name, const char *value, const char *location,
                                  int max_age);

/* The value of the cookie name the browser sent with r, or NULL. */
const char *blinkauth_browser_cookie_get(request_rec *r, const char *name);

#endif
