/* The external service (OAuth 2.0 / OpenID Connect): authorization URL, code exchange, userinfo, revoke. */
#ifndef BLINKAUTH_PROVIDER_H
#define BLINKAUTH_PROVIDER_H

#include <apr_pools.h>

/* What the authorization URL is built from. */
typedef struct {
    const char *authorize_url; /* may carry a query string of its own, which is kept */
    const char *client_id;
    const char *redirect_uri;
    const char *scope;         /* NULL: no scope parameter */
    const char *state;
    const char *code_challenge; /* S256 */
} blinkauth_provider_authz_t;

/* The URL that sends the user's browser to log in at the external service. */
const char *blinkauth_provider_authorize_url(apr_pool_t *p, const blinkauth_provider_authz_t *a);

#endif
