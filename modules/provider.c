/* The external service (OAuth 2.0 / OpenID Connect): authorization URL, code exchange, userinfo, revoke. */
#include "provider.h"
#include "text.h"
#include "crypto.h"
#include "json.h"

#include <string.h>
#include <sys/uio.h>
#include <apr_strings.h>

/* Appends "&name=value" (value percent-encoded) to a query being built; skips a NULL value. */
static const char *query_add(apr_pool_t *p, const char *query, const char *name, const char *value)
{
    if (value == NULL)
        return query;
    return apr_pstrcat(p, query, *query ? "&" : "", name, "=", blinkauth_text_pct_encode(p, value), NULL);
}

const char *blinkauth_provider_authorize_url(apr_pool_t *p, const blinkauth_provider_authz_t *a)
{
    /* Built in one allocation (it is on every Connect): the same text as appending each parameter. */
    const char *names[] = {"response_type", "client_id",      "redirect_uri",         "scope",
                           "state",         "code_challenge", "code_challenge_method"};
    const char *values[] = {"code", a->client_id, a->redirect_uri, a->scope, a->state, a->code_challenge, "S256"};
    struct iovec parts[2 + 4 * (sizeof(names) / sizeof(names[0]))];
    apr_size_t n = strlen(a->authorize_url), i, k = 0;
    const char *sep;

    if (strchr(a->authorize_url, '?') == NULL)
        sep = "?";
    else if (a->authorize_url[n - 1] == '?' || a->authorize_url[n - 1] == '&')
        sep = "";
    else
        sep = "&";
    parts[k].iov_base = (void *)a->authorize_url;
    parts[k++].iov_len = n;
    parts[k].iov_base = (void *)sep;
    parts[k++].iov_len = strlen(sep);
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const char *v;
        if (values[i] == NULL)
            continue;
        if (k > 2) {
            parts[k].iov_base = "&";
            parts[k++].iov_len = 1;
        }
        parts[k].iov_base = (void *)names[i];
        parts[k++].iov_len = strlen(names[i]);
        parts[k].iov_base = "=";
        parts[k++].iov_len = 1;
        v = blinkauth_text_pct_encode(p, values[i]);
        parts[k].iov_base = (void *)v;
        parts[k++].iov_len = strlen(v);
    }
    return apr_pstrcatv(p, parts, k, NULL);
}

/* A form POST to one of the provider's endpoints, authenticated as the client (RFC 6749 2.3.1). */
static blinkauth_http_request_t client_post(apr_pool_t *p, const blinkauth_config_t *cfg, const char *url,
                                            const char *form)
{
    blinkauth_http_request_t req = blinkauth_upstream_request(cfg, "POST", url);

    if (cfg->client_secret) {
        req.basic_user = cfg->client_id;
        req.basic_pass = cfg->client_secret;
    }
    else {
        form = query_add(p, form, "client_id", cfg->client_id);
    }
    req.body = form;
    req.body_len = strlen(form);
    req.content_type = "application/x-www-form-urlencoded";
    return req;
}

/* Reads an optional string member; *ok turns 0 when it is there but not a string. */
static const char *optional_string(const json_t *o, const char *name, int *ok)
{
    json_t *v = json_object_get(o, name);

    if (v && !json_is_string(v))
        *ok = 0;
    return json_is_string(v) ? json_string_value(v) : NULL;
}

int blinkauth_provider_token_parse(apr_pool_t *p, const char *body, apr_size_t len, blinkauth_tokens_t *tokens,
                                   const char **why)
{
    json_t *j = blinkauth_json_parse(p, body, len, NULL), *expires;
    int ok = 1;

    if (!json_is_object(j)) {
        *why = "not a JSON object";
        return 0;
    }
    tokens->access_token = optional_string(j, "access_token", &ok);
    tokens->refresh_token = optional_string(j, "refresh_token", &ok);
    tokens->id_token = optional_string(j, "id_token", &ok);
    optional_string(j, "token_type", &ok);
    expires = json_object_get(j, "expires_in");
    tokens->expires_in = json_is_integer(expires) ? (long)json_integer_value(expires) : -1;
    if (expires && (!json_is_integer(expires) || tokens->expires_in < 0))
        ok = 0;
    if (!ok || tokens->access_token == NULL || *tokens->access_token == '\0') {
        *why = ok ? "no access_token" : "a member of the wrong type";
        return 0;
    }
    return 1;
}

blinkauth_outcome_t blinkauth_provider_code_exchange(apr_pool_t *p, const blinkauth_config_t *cfg, const char *code,
                                                     const char *redirect_uri, const char *verifier,
                                                     blinkauth_tokens_t *tokens)
{
    const char *form = "", *why = NULL;
    blinkauth_http_request_t req;
    blinkauth_http_response_t res;
    blinkauth_outcome_t out;

    form = query_add(p, form, "grant_type", "authorization_code");
    form = query_add(p, form, "code", code);
    form = query_add(p, form, "redirect_uri", redirect_uri);
    form = query_add(p, form, "code_verifier", verifier);
    req = client_post(p, cfg, cfg->token_url, form);
    blinkauth_http_call(p, &req, &res);
    out = blinkauth_upstream_outcome(p, "token endpoint", &req, &res, blinkauth_upstream_error_code(p, &res, "error"));
    if (out.kind != BLINKAUTH_UP_OK)
        return out;
    if (!blinkauth_provider_token_parse(p, res.body, res.body_len, tokens, &why))
        return blinkauth_upstream_invalid(p, "token endpoint", &req, &res, why);
    return out;
}

const char *blinkauth_provider_claim(apr_pool_t *p, const json_t *claims, const char *name)
{
    json_t *v = json_is_object(claims) ? json_object_get(claims, name) : NULL;
    const char *text = NULL;

    if (json_is_string(v))
        text = json_string_value(v);
    else if (json_is_integer(v))
        /* APR's formatter has no "%lld" (jansson's JSON_INTEGER_FORMAT): it printed "%ld" literally. */
        text = apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)json_integer_value(v));
    return blinkauth_text_is_clean(text, BLINKAUTH_ACCOUNT_ID_MAX) ? text : NULL;
}

/* 1 when the id_token's aud (a string or an array of strings) names client_id. */
static int audience_has(const json_t *claims, const char *client_id)
{
    json_t *aud = json_object_get(claims, "aud"), *v;
    size_t i;

    if (json_is_string(aud))
        return strcmp(json_string_value(aud), client_id) == 0;
    json_array_foreach(aud, i, v) if (json_is_string(v) && strcmp(json_string_value(v), client_id) == 0) return 1;
    return 0;
}

json_t *blinkauth_provider_id_token_claims(apr_pool_t *p, const char *id_token, const char *client_id, const char **why)
{
    const char *dot1 = strchr(id_token, '.'), *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    unsigned char *payload;
    apr_size_t len = 0;
    json_t *claims;

    if (dot2 == NULL || strchr(dot2 + 1, '.') != NULL) {
        *why = "the id_token is not a JWT (three dot-separated parts)";
        return NULL;
    }
    payload = blinkauth_crypto_b64url_decode(p, apr_pstrmemdup(p, dot1 + 1, (apr_size_t)(dot2 - dot1 - 1)), &len);
    claims = payload ? blinkauth_json_parse(p, (const char *)payload, len, NULL) : NULL;
    if (!json_is_object(claims)) {
        *why = "the id_token's payload is not a base64url JSON object";
        return NULL;
    }
    if (!audience_has(claims, client_id)) {
        *why = "the id_token's aud does not name BlinkAuthClientID";
        return NULL;
    }
    return claims;
}

blinkauth_outcome_t blinkauth_provider_account_id(apr_pool_t *p, const blinkauth_config_t *cfg,
                                                  const blinkauth_tokens_t *tokens, const char **account_id)
{
    const char *claim = blinkauth_config_account_id_claim(cfg), *why = NULL;
    blinkauth_outcome_t out = {BLINKAUTH_UP_OK, 0, NULL};
    blinkauth_http_request_t req;
    blinkauth_http_response_t res;
    json_t *claims;

    *account_id = NULL;
    if (cfg->userinfo_url == NULL) {
        claims =
            tokens->id_token ? blinkauth_provider_id_token_claims(p, tokens->id_token, cfg->client_id, &why) : NULL;
        if (claims && (*account_id = blinkauth_provider_claim(p, claims, claim)) != NULL)
            return out;
        out.kind = BLINKAUTH_UP_FAILED;
        out.why = apr_psprintf(p, "no account identifier: %s",
                               tokens->id_token == NULL
                                   ? "no BlinkAuthUserInfoURL is set and the token endpoint issued no id_token"
                               : why ? why
                                     : apr_psprintf(p, "the id_token has no usable claim '%s'", claim));
        return out;
    }
    req = blinkauth_upstream_request(cfg, "GET", cfg->userinfo_url);
    req.bearer = tokens->access_token;
    blinkauth_http_call(p, &req, &res);
    out =
        blinkauth_upstream_outcome(p, "userinfo endpoint", &req, &res, blinkauth_upstream_error_code(p, &res, "error"));
    if (out.kind != BLINKAUTH_UP_OK)
        return out;
    claims = blinkauth_json_parse(p, res.body, res.body_len, NULL);
    if ((*account_id = blinkauth_provider_claim(p, claims, claim)) == NULL)
        return blinkauth_upstream_invalid(p, "userinfo endpoint", &req, &res,
                                          apr_psprintf(p, "no usable claim '%s'", claim));
    return out;
}

blinkauth_outcome_t blinkauth_provider_token_revoke(apr_pool_t *p, const blinkauth_config_t *cfg, const char *token,
                                                    const char *hint)
{
    const char *form = query_add(p, query_add(p, "", "token", token), "token_type_hint", hint);
    blinkauth_http_request_t req = client_post(p, cfg, cfg->revoke_url, form);
    blinkauth_http_response_t res;

    blinkauth_http_call(p, &req, &res);
    return blinkauth_upstream_outcome(p, apr_pstrcat(p, "revocation endpoint (", hint, ")", NULL), &req, &res,
                                      blinkauth_upstream_error_code(p, &res, "error"));
}
