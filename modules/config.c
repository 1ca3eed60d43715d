/* The per-<Location> configuration: creation, merging, validation and defaults in one place. */
#include "config.h"
#include "text.h"

#include <string.h>
#include <errno.h>
#include <stdlib.h>
#include <apr_strings.h>
#include <apr_file_io.h>

blinkauth_config_t *blinkauth_config_create(apr_pool_t *p, const char *path)
{
    blinkauth_config_t *cfg = apr_pcalloc(p, sizeof(*cfg));
    apr_size_t n = path ? strlen(path) : 0;

    while (n > 0 && path[n - 1] == '/')
        n--;
    cfg->location = path ? apr_pstrmemdup(p, path, n) : NULL;
    cfg->state_timeout = BLINKAUTH_UNSET_INT;
    cfg->timeout = BLINKAUTH_UNSET_INT;
    return cfg;
}

#define PICK_STR(field) out->field = inner->field ? inner->field : outer->field
#define PICK_INT(field) out->field = inner->field != BLINKAUTH_UNSET_INT ? inner->field : outer->field

blinkauth_config_t *blinkauth_config_merge(apr_pool_t *p, const blinkauth_config_t *outer,
                                           const blinkauth_config_t *inner)
{
    blinkauth_config_t *out = apr_pcalloc(p, sizeof(*out));

    PICK_STR(location);
    PICK_STR(defined_at);
    PICK_STR(auth_id);
    PICK_STR(proxy_secret);
    PICK_STR(api_token);
    PICK_STR(api_url);
    PICK_STR(client_id);
    PICK_STR(client_secret);
    PICK_STR(authorize_url);
    PICK_STR(token_url);
    PICK_STR(userinfo_url);
    PICK_STR(revoke_url);
    PICK_STR(scope);
    PICK_STR(redirect_uri);
    PICK_STR(account_id_claim);
    PICK_STR(ca_file);
    PICK_INT(state_timeout);
    PICK_INT(timeout);
    return out;
}

const char *blinkauth_config_check_url(apr_pool_t *p, const char *value)
{
    const char *rest;

    if (strncasecmp(value, "https://", 8) == 0)
        rest = value + 8;
    else if (strncasecmp(value, "http://", 7) == 0)
        rest = value + 7;
    else
        return apr_psprintf(p, "'%s' is not an absolute http:// or https:// URL", value);
    if (*rest == '\0' || *rest == '/' || *rest == '?' || *rest == '#')
        return apr_psprintf(p, "'%s' has no host", value);
    if (!blinkauth_text_is_clean(value, BLINKAUTH_URL_MAX) || strpbrk(value, " \"<>\\^`{|}") != NULL)
        return apr_psprintf(p, "'%s' is longer than %d bytes or contains blanks or control characters", value,
                            BLINKAUTH_URL_MAX);
    if (strchr(value, '#') != NULL)
        return apr_psprintf(p, "'%s' must not contain a #fragment", value);
    return NULL;
}

const char *blinkauth_config_parse_seconds(apr_pool_t *p, const char *value, int min, int max, int *out)
{
    char *end = NULL;
    long n;

    errno = 0;
    n = strtol(value, &end, 10);
    if (errno != 0 || end == value || *end != '\0' || n < min || n > max)
        return apr_psprintf(p, "'%s' is not a whole number of seconds from %d to %d", value, min, max);
    *out = (int)n;
    return NULL;
}

const char *blinkauth_config_read_secret(apr_pool_t *p, const char *value, const char **out)
{
    /* Room for the longest secret, "\r\n" and one more byte, so that a longer file is seen as such
     * instead of being cut off after a line end. */
    char buf[BLINKAUTH_SECRET_MAX + 4];
    apr_file_t *f;
    apr_size_t n = sizeof(buf) - 1;
    apr_status_t rv;
    char err[128];

    if (strncmp(value, "file:", 5) != 0) {
        if (!blinkauth_text_is_clean(value, BLINKAUTH_SECRET_MAX))
            return "the secret is empty, longer than 4096 bytes, or contains control characters";
        *out = value;
        return NULL;
    }
    rv = apr_file_open(&f, value + 5, APR_FOPEN_READ, APR_OS_DEFAULT, p);
    if (rv != APR_SUCCESS)
        return apr_psprintf(p, "cannot read secret file '%s': %s", value + 5, apr_strerror(rv, err, sizeof(err)));
    rv = apr_file_read_full(f, buf, n, &n);
    apr_file_close(f);
    if (rv != APR_SUCCESS && rv != APR_EOF)
        return apr_psprintf(p, "cannot read secret file '%s': %s", value + 5, apr_strerror(rv, err, sizeof(err)));
    buf[n] = '\0';
    if (n > 0 && buf[n - 1] == '\n')
        buf[--n] = '\0';
    if (n > 0 && buf[n - 1] == '\r')
        buf[--n] = '\0';
    if (n == 0 || n > BLINKAUTH_SECRET_MAX || memchr(buf, '\0', n) != NULL ||
        !blinkauth_text_is_clean(buf, BLINKAUTH_SECRET_MAX))
        return apr_psprintf(p, "secret file '%s' is empty, longer than 4096 bytes, or has control characters",
                            value + 5);
    *out = apr_pstrmemdup(p, buf, n);
    return NULL;
}

const char *blinkauth_config_check_auth_id(apr_pool_t *p, const char *value)
{
    if (!blinkauth_text_is_clean(value, BLINKAUTH_ID_MAX) || strpbrk(value, "/?#% ") != NULL)
        return apr_psprintf(p,
                            "'%s' is not an Auth ID: 1 to %d characters, no blanks, control characters, "
                            "'/', '?', '#' or '%%'",
                            value, BLINKAUTH_ID_MAX);
    return NULL;
}

const char *blinkauth_config_missing(const blinkauth_config_t *cfg)
{
    if (!cfg->auth_id)
        return "BlinkAuthID";
    if (!cfg->proxy_secret)
        return "BlinkAuthProxySecret";
    if (!cfg->api_token)
        return "BlinkAuthAPIToken";
    if (!cfg->client_id)
        return "BlinkAuthClientID";
    if (!cfg->authorize_url)
        return "BlinkAuthAuthorizeURL";
    if (!cfg->token_url)
        return "BlinkAuthTokenURL";
    return NULL;
}

int blinkauth_config_is_used(const blinkauth_config_t *cfg)
{
    return cfg->defined_at != NULL;
}

const char *blinkauth_config_api_url(const blinkauth_config_t *cfg)
{
    return cfg->api_url ? cfg->api_url : BLINKAUTH_DEFAULT_API_URL;
}

const char *blinkauth_config_account_id_claim(const blinkauth_config_t *cfg)
{
    return cfg->account_id_claim ? cfg->account_id_claim : BLINKAUTH_DEFAULT_ACCOUNT_ID_CLAIM;
}

int blinkauth_config_state_timeout(const blinkauth_config_t *cfg)
{
    return cfg->state_timeout != BLINKAUTH_UNSET_INT ? cfg->state_timeout : BLINKAUTH_DEFAULT_STATE_TIMEOUT;
}

int blinkauth_config_timeout(const blinkauth_config_t *cfg)
{
    return cfg->timeout != BLINKAUTH_UNSET_INT ? cfg->timeout : BLINKAUTH_DEFAULT_TIMEOUT;
}
