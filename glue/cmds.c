/* The BlinkAuth* directives: each setter validates its value so httpd refuses a bad config with file:line. */
#include "glue.h"
#include "cache.h"
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

/* A URL directive: absolute http(s). */
static const char *set_url(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char *why = blinkauth_config_check_url(cmd->pool, arg);

    if (why)
        return complain(cmd, why);
    *FIELD(touch(cmd, dconf), cmd) = arg;
    return NULL;
}

/* BlinkAuthAPIURL: a URL kept without trailing '/', as it is joined with paths that start with one. */
static const char *set_api_url(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char *why = set_url(cmd, dconf, arg);
    apr_size_t n = strlen(arg);

    while (why == NULL && n > 0 && arg[n - 1] == '/')
        n--;
    if (why == NULL)
        ((blinkauth_config_t *)dconf)->api_url = apr_pstrmemdup(cmd->pool, arg, n);
    return why;
}

/* A secret directive: inline, or file:/path read now. */
static const char *set_secret(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char *value = NULL;
    const char *why = blinkauth_config_read_secret(cmd->pool, arg, &value);

    if (why)
        return complain(cmd, why);
    *FIELD(touch(cmd, dconf), cmd) = value;
    return NULL;
}

/* A plain-text directive: printable, bounded. */
static const char *set_text(cmd_parms *cmd, void *dconf, const char *arg)
{
    if (!blinkauth_text_is_clean(arg, BLINKAUTH_URL_MAX))
        return complain(cmd, "the value is empty, too long, or contains control characters");
    *FIELD(touch(cmd, dconf), cmd) = arg;
    return NULL;
}

/* BlinkAuthID: the Auth ID shown in the Blink Admin panel. */
static const char *set_auth_id(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char *why = blinkauth_config_check_auth_id(cmd->pool, arg);

    if (why)
        return complain(cmd, why);
    touch(cmd, dconf)->auth_id = arg;
    return NULL;
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

/* BlinkAuthStateTimeout: seconds a connect may take. */
static const char *set_state_timeout(cmd_parms *cmd, void *dconf, const char *arg)
{
    blinkauth_config_t *cfg = touch(cmd, dconf);
    return complain(cmd, blinkauth_config_parse_seconds(cmd->pool, arg, BLINKAUTH_STATE_TIMEOUT_MIN,
                                                        BLINKAUTH_STATE_TIMEOUT_MAX, &cfg->state_timeout));
}

/* BlinkAuthTimeout: seconds for each outbound call. */
static const char *set_timeout(cmd_parms *cmd, void *dconf, const char *arg)
{
    blinkauth_config_t *cfg = touch(cmd, dconf);
    return complain(cmd, blinkauth_config_parse_seconds(cmd->pool, arg, BLINKAUTH_TIMEOUT_MIN, BLINKAUTH_TIMEOUT_MAX,
                                                        &cfg->timeout));
}

#define AT(field) ((void *)APR_OFFSETOF(blinkauth_config_t, field))
#define APP_CONF (RSRC_CONF | ACCESS_CONF)

const command_rec blinkauth_cmds[] = {
    AP_INIT_TAKE1("BlinkAuthCache", blinkauth_cache_cmd, NULL, RSRC_CONF,
                  "socache provider for flow records, with arguments: shmcb, shmcb:/path(512000), "
                  "redis:host:port, memcache:host:port (default shmcb)"),
    AP_INIT_TAKE1("BlinkAuthID", set_auth_id, NULL, APP_CONF, "the app's Auth ID from the Blink Admin panel"),
    AP_INIT_TAKE1("BlinkAuthProxySecret", set_secret, AT(proxy_secret), APP_CONF,
                  "the app's Proxy Secret (or file:/path)"),
    AP_INIT_TAKE1("BlinkAuthAPIToken", set_secret, AT(api_token), APP_CONF, "the Blink API app token (or file:/path)"),
    AP_INIT_TAKE1("BlinkAuthAPIURL", set_api_url, AT(api_url), APP_CONF,
                  "the Blink API base URL (default " BLINKAUTH_DEFAULT_API_URL ")"),
    AP_INIT_TAKE1("BlinkAuthClientID", set_text, AT(client_id), APP_CONF,
                  "the OAuth client id at the external service"),
    AP_INIT_TAKE1("BlinkAuthClientSecret", set_secret, AT(client_secret), APP_CONF,
                  "the OAuth client secret (or file:/path); unset for a public client"),
    AP_INIT_TAKE1("BlinkAuthAuthorizeURL", set_url, AT(authorize_url), APP_CONF,
                  "the external service's authorization endpoint"),
    AP_INIT_TAKE1("BlinkAuthTokenURL", set_url, AT(token_url), APP_CONF, "the external service's token endpoint"),
    AP_INIT_TAKE1("BlinkAuthUserInfoURL", set_url, AT(userinfo_url), APP_CONF,
                  "the external service's userinfo endpoint (optional)"),
    AP_INIT_TAKE1("BlinkAuthRevokeURL", set_url, AT(revoke_url), APP_CONF,
                  "the external service's RFC 7009 revocation endpoint (optional)"),
    AP_INIT_TAKE1("BlinkAuthScope", set_text, AT(scope), APP_CONF, "the scope to request (optional)"),
    AP_INIT_TAKE1("BlinkAuthRedirectURI", set_url, AT(redirect_uri), APP_CONF,
                  "the callback URL registered at the external service (default: <location>/callback)"),
    AP_INIT_TAKE1("BlinkAuthAccountIDClaim", set_text, AT(account_id_claim), APP_CONF,
                  "the claim that names the user's account (default " BLINKAUTH_DEFAULT_ACCOUNT_ID_CLAIM ")"),
    AP_INIT_TAKE1("BlinkAuthStateTimeout", set_state_timeout, NULL, APP_CONF,
                  "seconds a connect may take (default 600)"),
    AP_INIT_TAKE1("BlinkAuthTimeout", set_timeout, NULL, APP_CONF, "seconds for each outbound call (default 10)"),
    AP_INIT_TAKE1("BlinkAuthCAFile", set_ca_file, NULL, APP_CONF,
                  "CA bundle to verify upstream TLS with (default: the system's)"),
    {NULL}};
