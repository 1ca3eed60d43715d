/* The external service (OAuth 2.0 / OpenID Connect): authorization URL, code exchange, userinfo, revoke. */
#include "provider.h"
#include "text.h"

#include <string.h>
#include <apr_strings.h>

/* Appends "&name=value" (value percent-encoded) to a query being built; skips a NULL value. */
static const char *query_add(apr_pool_t *p, const char *query, const char *name, const char *value)
{
    if (value == NULL)
        return query;
    return apr_pstrcat(p, query, *query ? "&" : "", name, "=", blinkauth_text_pct_encode(p, value), NULL);
}

/* The URL that sends the user's browser to log in at the external service. */
const char *blinkauth_provider_authorize_url(apr_pool_t *p, const blinkauth_provider_authz_t *a)
{
    const char *q = "";
    const char *sep;
    apr_size_t n = strlen(a->authorize_url);

    q = query_add(p, q, "response_type", "code");
    q = query_add(p, q, "client_id", a->client_id);
    q = query_add(p, q, "redirect_uri", a->redirect_uri);
    q = query_add(p, q, "scope", a->scope);
    q = query_add(p, q, "state", a->state);
    q = query_add(p, q, "code_challenge", a->code_challenge);
    q = query_add(p, q, "code_challenge_method", "S256");
    if (strchr(a->authorize_url, '?') == NULL)
        sep = "?";
    else if (a->authorize_url[n - 1] == '?' || a->authorize_url[n - 1] == '&')
        sep = "";
    else
        sep = "&";
    return apr_pstrcat(p, a->authorize_url, sep, q, NULL);
}
