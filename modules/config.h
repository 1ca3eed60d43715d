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

/* Accepted ranges of the numeric directives, in seconds. */
#define BLINKAUTH_STATE_TIMEOUT_MIN 1
#define BLINKAUTH_STATE_TIMEOUT_MAX 86400
#define BLINKAUTH_TIMEOUT_MIN 1
#define BLINKAUTH_TIMEOUT_MAX 300

/* Longest URL and secret accepted in the configuration. */
#define BLINKAUTH_URL_MAX 2048
#define BLINKAUTH_SECRET_MAX 4096

/* One Blink app's settings; NULL / BLINKAUTH_UNSET_INT mean "not set here". */
typedef struct {
    const char *location;   /* the <Location> path the routes live under, without a trailing '/' */
    const char *defined_at; /* "file:line" of the first BlinkAuth directive of the section */
    const char *auth_id;
    const char *proxy_secret;
    const char *api_token;
    const char *api_url;
    const char *client_id;
    const char *client_secret;
    const char *authorize_url;
    const char *token_url;
    const char *userinfo_url;
    const char *revoke_url;
    const char *scope;
    const char *redirect_uri;
    const char *account_id_claim;
    const char *ca_file;
    int state_timeout;
    int timeout;
} blinkauth_config_t;

/* A fresh configuration for the section at path (NULL for the server's; kept without trailing '/'), everything
 * unset. */
blinkauth_config_t *blinkauth_config_create(apr_pool_t *p, const char *path);

/* The inner section's settings where it has them, the outer's elsewhere. */
blinkauth_config_t *blinkauth_config_merge(apr_pool_t *p, const blinkauth_config_t *outer,
                                           const blinkauth_config_t *inner);

/* NULL when value is an absolute http(s) URL without fragment or blanks, else why not. */
const char *blinkauth_config_check_url(apr_pool_t *p, const char *value);

/* Parses a whole number of seconds within [min, max] into *out; NULL or why not. */
const char *blinkauth_config_parse_seconds(apr_pool_t *p, const char *value, int min, int max, int *out);

/* Resolves a secret given inline or as file:/path (read now, one trailing newline stripped)
 * into *out; NULL or why not. */
const char *blinkauth_config_read_secret(apr_pool_t *p, const char *value, const char **out);

/* NULL when an app's auth id is usable text, else why not. */
const char *blinkauth_config_check_auth_id(apr_pool_t *p, const char *value);

/* The name of the first required directive missing from cfg, or NULL when complete. */
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

#endif
