/* The BlinkAuth* directives: each setter validates its value so httpd refuses a bad config with file:line. */
#include "glue.h"
#include "cache.h"
#include "tokencache.h"
#include "crypto.h"
#include "discovery.h"
#include "text.h"

#include "apr_strings.h"
#include "apr_file_info.h"

/* The address of the string field cmd->info names inside the per-directory configuration. */
#define FIELD(cfg, cmd) ((const char **)((char *)(cfg) + (apr_size_t)(cmd)->info))

/* Remembers where the section's first BlinkAuth directive stands, for later messages. */
static blinkauth_config_t *touch(cmd_parms *cmd, void *dconf)
{
    blinkauth_config_t *cfg = dconf;

    if (cfg->defined_at == NULL)
        cfg->defined_at = apr_psprintf(cmd->pool, "%s:%d", cmd->directive->filename, cmd->directive->line_num);
    return cfg;
}

/* Prefixes a validator's complaint with the directive's name. */
static const char *complain(cmd_parms *cmd, const char *why)
{
    return why ? apr_pstrcat(cmd->pool, cmd->cmd->name, ": ", why, NULL) : NULL;
}

/* A string field and the check its value must pass: what a directive set by set_checked carries in cmd->info. */
typedef struct {
    apr_size_t offset;
    const char *(*check)(apr_pool_t *p, const char *value);
} checked_t;

/* NULL when arg is printable text of a bounded length, else why not. */
static const char *check_text(apr_pool_t *p, const char *arg)
{
    return blinkauth_text_is_clean(arg, BLINKAUTH_URL_MAX)
               ? NULL
               : "the value is empty, too long, or contains control characters";
}

/* A directive whose value passes a check (the checked_t in cmd->info) and is kept as it is. */
static const char *set_checked(cmd_parms *cmd, void *dconf, const char *arg)
{
    const checked_t *c = cmd->info;
    const char *why = c->check(cmd->pool, arg);

    if (why)
        return complain(cmd, why);
    *(const char **)((char *)touch(cmd, dconf) + c->offset) = arg;
    return NULL;
}

/* An On|Off directive: the int field cmd->info names becomes 1 or 0. */
static const char *set_on_off(cmd_parms *cmd, void *dconf, int on)
{
    *(int *)((char *)touch(cmd, dconf) + (apr_size_t)cmd->info) = on ? 1 : 0;
    return NULL;
}

/* BlinkAuthAPIURL: a back-channel URL kept without trailing '/', as it is joined with paths that start with one. */
static const char *set_api_url(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char *why = blinkauth_config_check_backchannel_url(cmd->pool, arg);
    apr_size_t n = strlen(arg);

    if (why)
        return complain(cmd, why);
    while (n > 0 && arg[n - 1] == '/')
        n--;
    touch(cmd, dconf)->api_url = apr_pstrmemdup(cmd->pool, arg, n);
    return NULL;
}

const char *blinkauth_cmd_secret(cmd_parms *cmd, const char *arg, const char **out)
{
    const char *why;

    if (strncmp(arg, "file:", 5) == 0 || strncmp(arg, "exec:", 5) == 0) {
        const char *path = ap_server_root_relative(cmd->temp_pool, arg + 5);
        if (path == NULL)
            return complain(cmd, apr_psprintf(cmd->pool, "'%s' is not a valid path", arg + 5));
        arg = apr_pstrcat(cmd->temp_pool, apr_pstrmemdup(cmd->temp_pool, arg, 5), path, NULL);
    }
    why = blinkauth_config_read_secret(cmd->pool, arg, out);
    return complain(cmd, why);
}

const char *blinkauth_cmd_key(cmd_parms *cmd, const char *arg, unsigned char *out)
{
    const char *secret = NULL, *why = blinkauth_cmd_secret(cmd, arg, &secret);

    if (why)
        return why;
    if (strlen(secret) < BLINKAUTH_KEY_SECRET_MIN)
        return complain(cmd, apr_psprintf(cmd->pool,
                                          "the key has %d characters, fewer than %d (make one with: openssl rand "
                                          "-base64 48)",
                                          (int)strlen(secret), BLINKAUTH_KEY_SECRET_MIN));
    blinkauth_crypto_key_derive(secret, out);
    return NULL;
}

/* BlinkAuthTokenKey: the key that seals and names the app's token copies, and the previous one while it changes. */
static const char *set_token_key(cmd_parms *cmd, void *dconf, const char *current, const char *previous)
{
    blinkauth_config_t *cfg = touch(cmd, dconf);
    unsigned char *key = apr_palloc(cmd->pool, BLINKAUTH_KEY_BYTES), *before = NULL;
    const char *why = blinkauth_cmd_key(cmd, current, key);

    if (why == NULL && previous != NULL) {
        before = apr_palloc(cmd->pool, BLINKAUTH_KEY_BYTES);
        why = blinkauth_cmd_key(cmd, previous, before);
    }
    if (why)
        return why;
    cfg->token_key = key;
    cfg->token_key_previous = before;
    return NULL;
}

/* BlinkAuthProxySecret: the current secret, and the previous one while Blink's is being changed. */
static const char *set_proxy_secret(cmd_parms *cmd, void *dconf, const char *current, const char *previous)
{
    blinkauth_config_t *cfg = dconf;
    const char *why = blinkauth_cmd_secret(cmd, current, &cfg->proxy_secret);

    if (why == NULL && previous != NULL)
        why = blinkauth_cmd_secret(cmd, previous, &cfg->proxy_secret_previous);
    else if (why == NULL)
        cfg->proxy_secret_previous = NULL;
    touch(cmd, dconf);
    return why;
}

/* A secret directive: inline, file:path (read now) or exec:path (run now). */
static const char *set_secret(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char *value = NULL;
    const char *why = blinkauth_cmd_secret(cmd, arg, &value);

    if (why)
        return why;
    *FIELD(touch(cmd, dconf), cmd) = value;
    return NULL;
}

/* A whole number of seconds within a range, and its int field: what set_seconds finds in cmd->info. */
typedef struct {
    apr_size_t offset;
    int min, max;
} seconds_t;

/* A directive of whole seconds (the seconds_t in cmd->info says where they go and their range). */
static const char *set_seconds(cmd_parms *cmd, void *dconf, const char *arg)
{
    const seconds_t *sec = cmd->info;
    int *field = (int *)((char *)touch(cmd, dconf) + sec->offset);

    return complain(cmd, blinkauth_config_parse_seconds(cmd->pool, arg, sec->min, sec->max, field));
}

/* BlinkAuthCAFile: a CA bundle that must be readable now. */
static const char *set_ca_file(cmd_parms *cmd, void *dconf, const char *arg)
{
    apr_finfo_t finfo;
    const char *path = ap_server_root_relative(cmd->pool, arg);

    if (path == NULL || apr_stat(&finfo, path, APR_FINFO_TYPE, cmd->temp_pool) != APR_SUCCESS ||
        finfo.filetype != APR_REG)
        return complain(cmd, apr_psprintf(cmd->pool, "'%s' is not a readable file", arg));
    touch(cmd, dconf)->ca_file = path;
    return NULL;
}

#define AT(field) ((void *)APR_OFFSETOF(blinkauth_config_t, field))
#define APP_CONF (RSRC_CONF | ACCESS_CONF)
/* The cmd->info of a directive set by set_checked: the field and its check. */
/* The cmd->info of a directive set by set_seconds: the field and its range. */
#define SECONDS(field, min, max) ((void *)&(const seconds_t){APR_OFFSETOF(blinkauth_config_t, field), min, max})
#define CHECKED(field, fn) ((void *)&(const checked_t){APR_OFFSETOF(blinkauth_config_t, field), fn})

const command_rec blinkauth_cmds[] = {
    AP_INIT_TAKE1("BlinkAuthStateKey", blinkauth_cache_state_key_cmd, NULL, RSRC_CONF,
                  "the key that seals flow records (inline, file:path, exec:path; at least 32 characters); the same on "
                  "every server that shares BlinkAuthCache (default: a random key per server, kept across graceful "
                  "restarts)"),
    AP_INIT_TAKE1("BlinkAuthCache", blinkauth_cache_cmd, NULL, RSRC_CONF,
                  "socache provider for flow records, with arguments: shmcb, shmcb:/path(512000), "
                  "redis:host:port, memcache:host:port (default shmcb)"),
    AP_INIT_TAKE1("BlinkAuthTokenCache", blinkauth_tokencache_cmd, NULL, RSRC_CONF,
                  "socache provider for the token copies (BlinkAuthTokenKey), as BlinkAuthCache: shmcb, "
                  "shmcb:/path(512000), redis:host:port, memcache:host:port (default shmcb)"),
    AP_INIT_TAKE12("BlinkAuthTokenKey", set_token_key, NULL, APP_CONF,
                   "the key that seals the app's copies of its users' tokens (inline, file:path, exec:path; at least "
                   "32 characters); a second value is the previous key, still read while it changes; unset: no copy"),
    AP_INIT_TAKE1("BlinkAuthID", set_checked, CHECKED(auth_id, blinkauth_config_check_auth_id), APP_CONF,
                  "the app's Auth ID from the Blink Admin panel"),
    AP_INIT_TAKE12("BlinkAuthProxySecret", set_proxy_secret, NULL, APP_CONF,
                   "the app's Proxy Secret (or file:path, exec:path); a second value is the previous secret, "
                   "accepted too while Blink's is being changed"),
    AP_INIT_TAKE1("BlinkAuthAPIToken", set_secret, AT(api_token), APP_CONF,
                  "the Blink API app token (or file:path, exec:path)"),
    AP_INIT_TAKE1("BlinkAuthAPIURL", set_api_url, AT(api_url), APP_CONF,
                  "the Blink API base URL (default " BLINKAUTH_DEFAULT_API_URL ")"),
    AP_INIT_TAKE1("BlinkAuthClientID", set_checked, CHECKED(client_id, check_text), APP_CONF,
                  "the OAuth client id at the external service"),
    AP_INIT_TAKE1("BlinkAuthClientSecret", set_secret, AT(client_secret), APP_CONF,
                  "the OAuth client secret (or file:path, exec:path); unset for a public client"),
    AP_INIT_TAKE1("BlinkAuthAuthorizeURL", set_checked, CHECKED(authorize_url, blinkauth_config_check_url), APP_CONF,
                  "the external service's authorization endpoint"),
    AP_INIT_TAKE1("BlinkAuthTokenURL", set_checked, CHECKED(token_url, blinkauth_config_check_backchannel_url),
                  APP_CONF, "the external service's token endpoint"),
    AP_INIT_TAKE1("BlinkAuthUserInfoURL", set_checked, CHECKED(userinfo_url, blinkauth_config_check_backchannel_url),
                  APP_CONF, "the external service's userinfo endpoint (optional)"),
    AP_INIT_TAKE1("BlinkAuthRevokeURL", set_checked, CHECKED(revoke_url, blinkauth_config_check_backchannel_url),
                  APP_CONF, "the external service's RFC 7009 revocation endpoint (optional)"),
    AP_INIT_TAKE1("BlinkAuthProviderMetadataURL", set_checked, CHECKED(metadata_url, blinkauth_discovery_check_url),
                  APP_CONF,
                  "the provider's OpenID Connect metadata (https://.../.well-known/openid-configuration): read at "
                  "start-up, it fills the four URLs above where they are not set"),
    AP_INIT_TAKE1("BlinkAuthScope", set_checked, CHECKED(scope, check_text), APP_CONF,
                  "the scope to request (optional)"),
    AP_INIT_TAKE1("BlinkAuthRedirectURI", set_checked, CHECKED(redirect_uri, blinkauth_config_check_url), APP_CONF,
                  "the callback URL registered at the external service (default: <location>/callback)"),
    AP_INIT_TAKE1("BlinkAuthAccountIDClaim", set_checked, CHECKED(account_id_claim, check_text), APP_CONF,
                  "the claim that names the user's account (default " BLINKAUTH_DEFAULT_ACCOUNT_ID_CLAIM ")"),
    AP_INIT_TAKE1("BlinkAuthStateTimeout", set_seconds,
                  SECONDS(state_timeout, BLINKAUTH_STATE_TIMEOUT_MIN, BLINKAUTH_STATE_TIMEOUT_MAX), APP_CONF,
                  "seconds a connect may take (default 600)"),
    AP_INIT_TAKE1("BlinkAuthStartTimeout", set_seconds,
                  SECONDS(start_timeout, BLINKAUTH_START_TIMEOUT_MIN, BLINKAUTH_START_TIMEOUT_MAX), APP_CONF,
                  "seconds the start URL Connect answers may wait to be opened (default 60)"),
    AP_INIT_TAKE1("BlinkAuthTimeout", set_seconds, SECONDS(timeout, BLINKAUTH_TIMEOUT_MIN, BLINKAUTH_TIMEOUT_MAX),
                  APP_CONF, "seconds for each outbound call (default 10)"),
    AP_INIT_TAKE1("BlinkAuthIssuer", set_checked, CHECKED(issuer, blinkauth_config_check_url), APP_CONF,
                  "the issuer (iss) the id_token must name (default: from BlinkAuthProviderMetadataURL; unset: not "
                  "checked)"),
    AP_INIT_FLAG("BlinkAuthVerifiedEmail", set_on_off, AT(verified_email), APP_CONF,
                 "On (default): an account id claim 'email' must come with email_verified true; Off for a service "
                 "that does not send email_verified"),
    AP_INIT_TAKE1("BlinkAuthPrompt", set_checked, CHECKED(prompt, blinkauth_config_check_prompt), APP_CONF,
                  "login, consent, select_account or none: asked of the provider (e.g. login on a shared device)"),
    AP_INIT_TAKE1("BlinkAuthMaxAge", set_seconds, SECONDS(max_age, 0, BLINKAUTH_MAX_AGE_MAX), APP_CONF,
                  "seconds since the last sign-in at the provider beyond which it asks again (max_age)"),
    AP_INIT_FLAG("BlinkAuthMatchEmail", set_on_off, AT(match_email), APP_CONF,
                 "On: link only when the external account's verified e-mail is the Blink user's (default Off)"),
    AP_INIT_FLAG("BlinkAuthTokenCheck", set_on_off, AT(token_check), APP_CONF,
                 "On (default): once a minute, a background call asks whether the Blink API accepts "
                 "BlinkAuthAPIToken (shown by SetHandler blinkauth-status); Off: never"),
    AP_INIT_TAKE1("BlinkAuthServiceName", set_checked, CHECKED(service_name, check_text), APP_CONF,
                  "what the pages call the external service (default: the authorization URL's host)"),
    AP_INIT_TAKE1("BlinkAuthPassToken", set_checked, CHECKED(pass_token, blinkauth_config_check_pass_token), APP_CONF,
                  "where AuthType Blink hands the user's access token to what serves the request: Authorization "
                  "(default: Authorization: Bearer <token>), another request header's name (the bare token), or env "
                  "(only the BLINK_ACCESS_TOKEN variable)"),
    AP_INIT_TAKE1("BlinkAuthRefreshBefore", set_seconds, SECONDS(refresh_before, 0, BLINKAUTH_REFRESH_BEFORE_MAX),
                  APP_CONF, "seconds before its expiry an access token is refreshed (default 60)"),
    AP_INIT_TAKE1("BlinkAuthCAFile", set_ca_file, NULL, APP_CONF,
                  "CA bundle to verify upstream TLS with (default: the system's)"),
    {NULL}};
