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
    /* Built in one allocation (it is on every start URL): the same text as appending each parameter. */
    const char *names[] = {"response_type",         "client_id", "redirect_uri", "scope",  "state", "code_challenge",
                           "code_challenge_method", "nonce",     "prompt",       "max_age"};
    const char *values[] = {"code", a->client_id, a->redirect_uri, a->scope,  a->state, a->code_challenge,
                            "S256", a->nonce,     a->prompt,       a->max_age};
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

/* Posts a grant's form to BlinkAuthTokenURL as the client and reads the tokens it issues, strictly. */
static blinkauth_outcome_t token_grant(apr_pool_t *p, const blinkauth_config_t *cfg, const char *form,
                                       blinkauth_tokens_t *tokens)
{
    blinkauth_http_request_t req = client_post(p, cfg, cfg->token_url, form);
    blinkauth_http_response_t res;
    blinkauth_outcome_t out;
    const char *why = NULL;

    req.endpoint = "token";
    blinkauth_http_call(p, &req, &res);
    out = blinkauth_upstream_outcome(p, cfg, "token endpoint", &req, &res,
                                     blinkauth_upstream_error_code(p, &res, "error"));
    if (out.kind != BLINKAUTH_UP_OK)
        return out;
    if (!blinkauth_provider_token_parse(p, res.body, res.body_len, tokens, &why))
        return blinkauth_upstream_invalid(p, cfg, "token endpoint", &req, &res, why);
    return out;
}

blinkauth_outcome_t blinkauth_provider_code_exchange(apr_pool_t *p, const blinkauth_config_t *cfg, const char *code,
                                                     const char *redirect_uri, const char *verifier,
                                                     blinkauth_tokens_t *tokens)
{
    const char *form = "";

    form = query_add(p, form, "grant_type", "authorization_code");
    form = query_add(p, form, "code", code);
    form = query_add(p, form, "redirect_uri", redirect_uri);
    form = query_add(p, form, "code_verifier", verifier);
    return token_grant(p, cfg, form, tokens);
}

blinkauth_outcome_t blinkauth_provider_refresh(apr_pool_t *p, const blinkauth_config_t *cfg, const char *refresh_token,
                                               blinkauth_tokens_t *tokens)
{
    const char *form = query_add(p, "", "grant_type", "refresh_token");

    return token_grant(p, cfg, query_add(p, form, "refresh_token", refresh_token), tokens);
}

int blinkauth_provider_grant_dead(const blinkauth_outcome_t *out)
{
    return out->kind == BLINKAUTH_UP_FAILED && out->status == 400 && out->code != NULL &&
           strcmp(out->code, "invalid_grant") == 0;
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

/* 1 when v is true, or the string "true" (some services send email_verified as text). */
static int is_true(const json_t *v)
{
    return json_is_true(v) || (json_is_string(v) && strcmp(json_string_value(v), "true") == 0);
}

/* The number member name of claims (an integer or a real), or -1 when absent or not a number. */
static double number_of(const json_t *claims, const char *name)
{
    json_t *v = json_object_get(claims, name);

    return json_is_number(v) ? json_number_value(v) : -1;
}

const char *blinkauth_provider_id_token_check(apr_pool_t *p, const json_t *claims, const char *client_id,
                                              const char *issuer, const char *nonce, apr_time_t now)
{
    json_t *aud = json_object_get(claims, "aud");
    const char *iss = blinkauth_json_string(claims, "iss"), *azp = blinkauth_json_string(claims, "azp");
    const char *got = blinkauth_json_string(claims, "nonce");
    double exp = number_of(claims, "exp");

    if (json_is_array(aud) && json_array_size(aud) > 1 && (azp == NULL || strcmp(azp, client_id) != 0))
        return "the id_token names several audiences and its azp is not BlinkAuthClientID";
    if (exp < 0)
        return "the id_token has no exp";
    if (exp + BLINKAUTH_ID_TOKEN_SKEW < (double)apr_time_sec(now))
        return apr_psprintf(p, "the id_token expired %.0f seconds ago", (double)apr_time_sec(now) - exp);
    if (issuer && (iss == NULL || strcmp(iss, issuer) != 0))
        return apr_psprintf(p, "the id_token's iss is '%s', not the issuer '%s'",
                            iss ? blinkauth_text_log_safe(p, iss, 200) : "(none)", issuer);
    if (nonce && (got == NULL || !blinkauth_crypto_secret_equal(got, nonce)))
        return got ? "the id_token's nonce is not the one sent" : "the id_token has no nonce, though one was sent";
    return NULL;
}

/* The claims of the id_token in tokens, checked (aud, azp, exp, iss, nonce), into *claims (NULL when none was
 * issued); NULL, or why they are refused. */
static const char *id_token_claims(apr_pool_t *p, const blinkauth_config_t *cfg, const blinkauth_tokens_t *tokens,
                                   const char *nonce, json_t **claims)
{
    const char *why = NULL;

    *claims = NULL;
    if (tokens->id_token == NULL)
        return NULL;
    if ((*claims = blinkauth_provider_id_token_claims(p, tokens->id_token, cfg->client_id, &why)) == NULL)
        return why;
    return blinkauth_provider_id_token_check(p, *claims, cfg->client_id, cfg->issuer, nonce, apr_time_now());
}

/* The claims at BlinkAuthUserInfoURL into *claims, with the step's outcome (a failure when claim is not usable). */
static blinkauth_outcome_t userinfo_claims(apr_pool_t *p, const blinkauth_config_t *cfg,
                                           const blinkauth_tokens_t *tokens, const char *claim, json_t **claims)
{
    blinkauth_http_request_t req = blinkauth_upstream_request(cfg, "GET", cfg->userinfo_url);
    blinkauth_http_response_t res;
    blinkauth_outcome_t out;

    req.bearer = tokens->access_token;
    req.endpoint = "userinfo";
    blinkauth_http_call(p, &req, &res);
    out = blinkauth_upstream_outcome(p, cfg, "userinfo endpoint", &req, &res,
                                     blinkauth_upstream_error_code(p, &res, "error"));
    *claims = out.kind == BLINKAUTH_UP_OK ? blinkauth_json_parse(p, res.body, res.body_len, NULL) : NULL;
    if (out.kind == BLINKAUTH_UP_OK && blinkauth_provider_claim(p, *claims, claim) == NULL)
        return blinkauth_upstream_invalid(p, cfg, "userinfo endpoint", &req, &res,
                                          apr_psprintf(p, "no usable claim '%s'", claim));
    return out;
}

/* A failed identity outcome: the sentence, prefixed as every one of this step. */
static blinkauth_outcome_t unidentified(apr_pool_t *p, const char *why)
{
    blinkauth_outcome_t out = {BLINKAUTH_UP_FAILED, 0, NULL, NULL, 0, 0};

    out.why = apr_pstrcat(p, "no account identifier: ", why, NULL);
    return out;
}

blinkauth_outcome_t blinkauth_provider_identify(apr_pool_t *p, const blinkauth_config_t *cfg,
                                                const blinkauth_tokens_t *tokens, const char *nonce,
                                                blinkauth_identity_t *who)
{
    const char *claim = blinkauth_config_account_id_claim(cfg), *why;
    blinkauth_outcome_t out = {BLINKAUTH_UP_OK, 0, NULL, NULL, 0, 0};
    json_t *id_claims = NULL, *claims;
    const char *id_sub, *sub;

    memset(who, 0, sizeof(*who));
    if ((why = id_token_claims(p, cfg, tokens, nonce, &id_claims)) != NULL)
        return unidentified(p, why);
    if (cfg->userinfo_url == NULL && id_claims == NULL)
        return unidentified(p, "no BlinkAuthUserInfoURL is set and the token endpoint issued no id_token");
    claims = id_claims;
    if (cfg->userinfo_url && (out = userinfo_claims(p, cfg, tokens, claim, &claims)).kind != BLINKAUTH_UP_OK)
        return out;
    /* OpenID Connect Core 5.3.2: userinfo's sub must be the id_token's, or its claims may be another user's. */
    id_sub = blinkauth_json_string(id_claims, "sub");
    sub = blinkauth_json_string(claims, "sub");
    if (id_claims && claims != id_claims && id_sub && (sub == NULL || strcmp(sub, id_sub) != 0))
        return unidentified(p, "userinfo's sub is not the id_token's sub");
    if ((who->account_id = blinkauth_provider_claim(p, claims, claim)) == NULL)
        return unidentified(p, apr_psprintf(p, "the %s has no usable claim '%s'",
                                            claims == id_claims ? "id_token" : "userinfo answer", claim));
    who->sub = sub;
    who->email = blinkauth_json_string(claims, "email");
    who->email_verified = is_true(json_object_get(claims, "email_verified"));
    if (strcmp(claim, "email") == 0 && !who->email_verified && blinkauth_config_require_verified_email(cfg))
        return unidentified(p, "the e-mail is not verified (email_verified is not true); for a service that does not "
                               "send email_verified, set BlinkAuthVerifiedEmail Off");
    return out;
}

blinkauth_outcome_t blinkauth_provider_token_revoke(apr_pool_t *p, const blinkauth_config_t *cfg, const char *token,
                                                    const char *hint)
{
    const char *form = query_add(p, query_add(p, "", "token", token), "token_type_hint", hint);
    blinkauth_http_request_t req = client_post(p, cfg, cfg->revoke_url, form);
    blinkauth_http_response_t res;

    req.endpoint = "revoke";
    blinkauth_http_call(p, &req, &res);
    return blinkauth_upstream_outcome(p, cfg, apr_pstrcat(p, "revocation endpoint (", hint, ")", NULL), &req, &res,
                                      blinkauth_upstream_error_code(p, &res, "error"));
}
