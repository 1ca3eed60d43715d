/* The per-<Location> configuration: creation, merging, validation and defaults in one place. */
#ifndef BLINKAUTH_CONFIG_H
#define BLINKAUTH_CONFIG_H

#include <apr_pools.h>

#define BLINKAUTH_UNSET_INT (-1)

/* Defaults, applied only by the getters below. */
#define BLINKAUTH_DEFAULT_API_URL "https://api.joinblink.com"
#define BLINKAUTH_DEFAULT_ACCOUNT_ID_CLAIM "sub"
#define BLINKAUTH_DEFAULT_STATE_TIMEOUT 600
#define BLINKAUTH_DEFAULT_TIMEOUT 10
#define BLINKAUTH_DEFAULT_START_TIMEOUT 60
#define BLINKAUTH_DEFAULT_REFRESH_BEFORE 60
#define BLINKAUTH_DEFAULT_PASS_TOKEN "Authorization"

/* Accepted ranges of the numeric directives, in seconds. */
#define BLINKAUTH_STATE_TIMEOUT_MIN 1
#define BLINKAUTH_STATE_TIMEOUT_MAX 86400
#define BLINKAUTH_TIMEOUT_MIN 1
#define BLINKAUTH_TIMEOUT_MAX 300
#define BLINKAUTH_START_TIMEOUT_MIN 1
#define BLINKAUTH_START_TIMEOUT_MAX 600
#define BLINKAUTH_MAX_AGE_MAX 31536000
#define BLINKAUTH_REFRESH_BEFORE_MAX 3600

/* Longest URL and secret accepted in the configuration. */
#define BLINKAUTH_URL_MAX 2048
#define BLINKAUTH_SECRET_MAX 4096

/* Seconds an exec: secret program may take. */
#define BLINKAUTH_EXEC_TIMEOUT 10

/* One Blink app's settings; NULL / BLINKAUTH_UNSET_INT mean "not set here". */
typedef struct {
    const char *location;   /* the <Location> path the routes live under, without a trailing '/' */
    const char *defined_at; /* "file:line" of the first BlinkAuth directive of the section */
    const char *auth_id;
    const char *proxy_secret;
    const char *proxy_secret_previous; /* the second value of BlinkAuthProxySecret, while rotating */
    const char *api_token;
    const char *api_url;
    const char *client_id;
    const char *client_secret;
    const char *authorize_url;
    const char *token_url;
    const char *userinfo_url;
    const char *revoke_url;
    const char *metadata_url; /* BlinkAuthProviderMetadataURL: fills the four URLs above and issuer when unset */
    const char *service_name; /* BlinkAuthServiceName: what the pages call the external service */
    const char *prompt;       /* BlinkAuthPrompt: login, consent, select_account or none */
    const char *issuer;       /* BlinkAuthIssuer: the id_token's expected iss; else filled from the metadata */
    const char *scope;
    const char *redirect_uri;
    const char *account_id_claim;
    const char *ca_file;
    const char *pass_token; /* BlinkAuthPassToken: the request header that carries the access token, or "env" */
    /* BlinkAuthTokenKey, derived (BLINKAUTH_KEY_BYTES each): seals and names the copies of the users' tokens; the
     * previous key still opens and names those it sealed while it changes. NULL: no copy is kept. */
    const unsigned char *token_key;
    const unsigned char *token_key_previous;
    int state_timeout;
    int timeout;
    int verified_email; /* BlinkAuthVerifiedEmail: 1 On, 0 Off */
    int max_age;        /* BlinkAuthMaxAge, seconds */
    int match_email;    /* BlinkAuthMatchEmail: 1 On, 0 Off */
    int token_check;    /* BlinkAuthTokenCheck: 1 On, 0 Off */
    int start_timeout;  /* BlinkAuthStartTimeout, seconds */
    int refresh_before;     /* BlinkAuthRefreshBefore, seconds */
} blinkauth_config_t;

/* A fresh configuration for the section at path (NULL for the server's; kept without trailing '/'), everything
 * unset. */
blinkauth_config_t *blinkauth_config_create(apr_pool_t *p, const char *path);

/* The inner section's settings where it has them, the outer's elsewhere. */
blinkauth_config_t *blinkauth_config_merge(apr_pool_t *p, const blinkauth_config_t *outer,
                                           const blinkauth_config_t *inner);

/* NULL when value is an absolute http(s) URL without fragment or blanks, else why not. */
const char *blinkauth_config_check_url(apr_pool_t *p, const char *value);

/* 1 when the host of the absolute URL url is a loopback one: 127.0.0.0/8, [::1] or localhost. */
int blinkauth_config_url_is_loopback(const char *url);

/* NULL when value is a URL for calls that carry secrets (token, userinfo, revocation, the Blink API, discovery):
 * as blinkauth_config_check_url, and https:// unless the host is loopback; else why not. */
const char *blinkauth_config_check_backchannel_url(apr_pool_t *p, const char *value);

/* Parses a whole number of seconds within [min, max] into *out; NULL or why not. */
const char *blinkauth_config_parse_seconds(apr_pool_t *p, const char *value, int min, int max, int *out);

/* Resolves a secret given inline, as file:/path (read now) or as exec:/path (the program run now, with no
 * arguments and no input, must print the secret and exit with 0 within BLINKAUTH_EXEC_TIMEOUT seconds) into *out;
 * one line end after a file's or a program's secret is dropped. NULL, or why not: empty, too long, control
 * characters, or a blank at either end (httpd strips those from header values, so such a secret never matches). */
const char *blinkauth_config_read_secret(apr_pool_t *p, const char *value, const char **out);

/* NULL when an app's auth id is usable text, else why not. */
const char *blinkauth_config_check_auth_id(apr_pool_t *p, const char *value);

/* The name of the first required directive missing from cfg, or NULL when complete (BlinkAuthAuthorizeURL and
 * BlinkAuthTokenURL are not required with BlinkAuthProviderMetadataURL). */
const char *blinkauth_config_missing(const blinkauth_config_t *cfg);

/* 1 when the section sets any BlinkAuth directive itself. */
int blinkauth_config_is_used(const blinkauth_config_t *cfg);

/* The getters below apply the defaults. */

/* The Blink API base URL, without a trailing slash. */
const char *blinkauth_config_api_url(const blinkauth_config_t *cfg);

/* The claim that names the user's external account. */
const char *blinkauth_config_account_id_claim(const blinkauth_config_t *cfg);

/* Seconds a connect may take from Connect to callback. */
int blinkauth_config_state_timeout(const blinkauth_config_t *cfg);

/* Seconds for each outbound call. */
int blinkauth_config_timeout(const blinkauth_config_t *cfg);

/* Seconds a start URL may wait to be opened. */
int blinkauth_config_start_timeout(const blinkauth_config_t *cfg);

/* What the pages call the external service: BlinkAuthServiceName, else the host of the authorization URL. */
const char *blinkauth_config_service_name(apr_pool_t *p, const blinkauth_config_t *cfg);

/* 1 when the Blink user's e-mail must match the external account's verified one (BlinkAuthMatchEmail, default Off). */
int blinkauth_config_match_email(const blinkauth_config_t *cfg);

/* BlinkAuthTokenCheck: 1 (the default) when the app's Blink API token is checked in the background once a minute. */
int blinkauth_config_token_check(const blinkauth_config_t *cfg);

/* NULL when value is what BlinkAuthPassToken takes: "env", or a request header name (RFC 9110 token characters, at
 * most 64) other than Host, Content-Length, Transfer-Encoding and the blink-auth-* headers; else why not. */
const char *blinkauth_config_check_pass_token(apr_pool_t *p, const char *value);

/* The request header an action's access token goes in (BlinkAuthPassToken, default Authorization), or "env". */
const char *blinkauth_config_pass_token(const blinkauth_config_t *cfg);

/* Seconds before its expiry an access token is refreshed (BlinkAuthRefreshBefore, default 60). */
int blinkauth_config_refresh_before(const blinkauth_config_t *cfg);

/* 1 when scope (a space-separated list) holds openid: an OpenID Connect request, which gets a nonce. */
int blinkauth_config_scope_has_openid(const char *scope);

/* NULL when value is a prompt value BlinkAuthPrompt takes (login, consent, select_account, none), else why not. */
const char *blinkauth_config_check_prompt(apr_pool_t *p, const char *value);

/* 1 when an account id claim "email" must come with email_verified true (BlinkAuthVerifiedEmail, default On). */
int blinkauth_config_require_verified_email(const blinkauth_config_t *cfg);

#endif
