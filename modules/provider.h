/* The external service (OAuth 2.0 / OpenID Connect): authorization URL, code exchange, userinfo, revoke. */
#ifndef BLINKAUTH_PROVIDER_H
#define BLINKAUTH_PROVIDER_H

#include <apr_pools.h>
#include "config.h"
#include "upstream.h"
#include <jansson.h>

/* What the authorization URL is built from. */
typedef struct {
    const char *authorize_url; /* may carry a query string of its own, which is kept */
    const char *client_id;
    const char *redirect_uri;
    const char *scope; /* NULL: no scope parameter */
    const char *state;
    const char *code_challenge; /* S256 */
    const char *nonce;          /* OpenID Connect nonce, or NULL */
    const char *prompt;         /* BlinkAuthPrompt, or NULL */
    const char *max_age;        /* BlinkAuthMaxAge in seconds, as text, or NULL */
} blinkauth_provider_authz_t;

/* The URL that sends the user's browser to log in at the external service. */
const char *blinkauth_provider_authorize_url(apr_pool_t *p, const blinkauth_provider_authz_t *a);

/* What the token endpoint issued; NULL fields were not issued, expires_in < 0 when not given. */
typedef struct {
    const char *access_token;
    const char *refresh_token;
    const char *id_token;
    long expires_in;
} blinkauth_tokens_t;

/* Reads a token endpoint's JSON answer (RFC 6749 5.1) into tokens, strictly: an object whose
 * access_token is a non-empty string, refresh_token / id_token / token_type strings when present,
 * expires_in a non-negative integer when present. 1 when usable; else 0 with *why. */
int blinkauth_provider_token_parse(apr_pool_t *p, const char *body, apr_size_t len, blinkauth_tokens_t *tokens,
                                   const char **why);

/* Exchanges an authorization code (with its PKCE verifier) at BlinkAuthTokenURL; strict about the answer. */
blinkauth_outcome_t blinkauth_provider_code_exchange(apr_pool_t *p, const blinkauth_config_t *cfg, const char *code,
                                                     const char *redirect_uri, const char *verifier,
                                                     blinkauth_tokens_t *tokens);

/* Trades a refresh token for new tokens at BlinkAuthTokenURL (RFC 6749 6), authenticated as the code exchange is;
 * strict about the answer as the code exchange is. */
blinkauth_outcome_t blinkauth_provider_refresh(apr_pool_t *p, const blinkauth_config_t *cfg, const char *refresh_token,
                                               blinkauth_tokens_t *tokens);

/* 1 when a token endpoint's answer refuses a grant for good (400 invalid_grant: expired, revoked or already used),
 * as opposed to a failure that may pass or a misconfigured client. */
int blinkauth_provider_grant_dead(const blinkauth_outcome_t *out);

/* Seconds an id_token's exp may lie in the past (clocks differ). */
#define BLINKAUTH_ID_TOKEN_SKEW 60

/* Who the external service says the user is. */
typedef struct {
    const char *account_id; /* BlinkAuthAccountIDClaim's value */
    const char *sub;        /* the subject, when given */
    const char *email;      /* the e-mail, when given */
    int email_verified;     /* 1 when the service says the e-mail is verified */
} blinkauth_identity_t;

/* Learns who the user is: the id_token (when issued) checked as OpenID Connect Core 3.1.3.7 asks of one received
 * straight from the token endpoint over TLS (aud, azp, exp with BLINKAUTH_ID_TOKEN_SKEW, iss when an issuer is
 * known, nonce when one was sent — nonce may be NULL), then BlinkAuthAccountIDClaim from userinfo when configured
 * (whose sub must be the id_token's), else from the id_token. When the claim is email, it must be verified unless
 * BlinkAuthVerifiedEmail is Off. */
blinkauth_outcome_t blinkauth_provider_identify(apr_pool_t *p, const blinkauth_config_t *cfg,
                                                const blinkauth_tokens_t *tokens, const char *nonce,
                                                blinkauth_identity_t *who);

/* NULL when the claims of an id_token meant for client_id pass the checks of blinkauth_provider_identify at now
 * (issuer and nonce: NULL when not to be checked), else why not. */
const char *blinkauth_provider_id_token_check(apr_pool_t *p, const json_t *claims, const char *client_id,
                                              const char *issuer, const char *nonce, apr_time_t now);

/* The claim name of a JSON object as account identifier text (a string or an integer); NULL if unusable. */
const char *blinkauth_provider_claim(apr_pool_t *p, const json_t *claims, const char *name);

/* The claims of an id_token as a JSON object (payload only: it came straight from the token endpoint);
 * NULL with *why when it is not a JWT meant for client_id. */
json_t *blinkauth_provider_id_token_claims(apr_pool_t *p, const char *id_token, const char *client_id,
                                           const char **why);

/* Revokes one token at BlinkAuthRevokeURL (RFC 7009); hint is "access_token" or "refresh_token". */
blinkauth_outcome_t blinkauth_provider_token_revoke(apr_pool_t *p, const blinkauth_config_t *cfg, const char *token,
                                                    const char *hint);

#endif
