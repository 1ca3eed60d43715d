/* The per-<Location> configuration: creation, merging, validation and defaults in one place. */
#include "config.h"
#include "text.h"

#include <string.h>
#include <strings.h>
#include <errno.h>
#include <stdlib.h>
#include <apr_strings.h>
#include <apr_file_io.h>
#include <apr_thread_proc.h>
#include <signal.h>

blinkauth_config_t *blinkauth_config_create(apr_pool_t *p, const char *path)
{
    blinkauth_config_t *cfg = apr_pcalloc(p, sizeof(*cfg));
    apr_size_t n = path ? strlen(path) : 0;

    while (n > 0 && path[n - 1] == '/')
        n--;
    cfg->location = path ? apr_pstrmemdup(p, path, n) : NULL;
    cfg->state_timeout = BLINKAUTH_UNSET_INT;
    cfg->timeout = BLINKAUTH_UNSET_INT;
    cfg->verified_email = BLINKAUTH_UNSET_INT;
    cfg->max_age = BLINKAUTH_UNSET_INT;
    cfg->match_email = BLINKAUTH_UNSET_INT;
    cfg->token_check = BLINKAUTH_UNSET_INT;
    cfg->start_timeout = BLINKAUTH_UNSET_INT;
    cfg->refresh_before = BLINKAUTH_UNSET_INT;
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
    /* The two values of BlinkAuthProxySecret come as a pair: an inner section's one value drops the outer's
     * previous one. */
    out->proxy_secret_previous = inner->proxy_secret ? inner->proxy_secret_previous : outer->proxy_secret_previous;
    PICK_STR(proxy_secret);
    PICK_STR(api_token);
    PICK_STR(api_url);
    PICK_STR(client_id);
    PICK_STR(client_secret);
    PICK_STR(authorize_url);
    PICK_STR(token_url);
    PICK_STR(userinfo_url);
    PICK_STR(revoke_url);
    PICK_STR(metadata_url);
    PICK_STR(issuer);
    PICK_STR(prompt);
    PICK_STR(service_name);
    PICK_STR(scope);
    PICK_STR(redirect_uri);
    PICK_STR(account_id_claim);
    PICK_STR(ca_file);
    /* The two values of BlinkAuthTokenKey come as a pair, as BlinkAuthProxySecret's. */
    out->token_key_previous = inner->token_key ? inner->token_key_previous : outer->token_key_previous;
    PICK_STR(token_key);
    PICK_INT(state_timeout);
    PICK_INT(timeout);
    PICK_INT(verified_email);
    PICK_INT(max_age);
    PICK_INT(match_email);
    PICK_INT(token_check);
    PICK_INT(start_timeout);
    PICK_STR(pass_token);
    PICK_INT(refresh_before);
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

int blinkauth_config_url_is_loopback(const char *url)
{
    blinkauth_url_parts_t u;
    const char *host, *end;
    apr_size_t n;

    if (!blinkauth_text_url_split(url, &u))
        return 0;
    host = u.host;
    end = u.path;
    if (*host == '[')
        return end - host >= 5 && strncmp(host, "[::1]", 5) == 0 && (host[5] == ':' || host + 5 == end);
    n = strcspn(host, ":/?#");
    if (n == 9 && strncasecmp(host, "localhost", 9) == 0)
        return 1;
    return n >= 4 && strncmp(host, "127.", 4) == 0 && strspn(host, "0123456789.") == n;
}

const char *blinkauth_config_check_backchannel_url(apr_pool_t *p, const char *value)
{
    const char *why = blinkauth_config_check_url(p, value);

    if (why == NULL && strncasecmp(value, "http://", 7) == 0 && !blinkauth_config_url_is_loopback(value))
        why = apr_psprintf(p,
                           "'%s' would carry secrets, codes or tokens in clear: use https:// (http:// is accepted "
                           "only for a loopback host: 127.0.0.1, [::1], localhost)",
                           value);
    return why;
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

/* Reads at most len - 1 bytes of the file at path into buf (NUL-terminated), setting *n; NULL or why not. */
static const char *secret_from_file(apr_pool_t *p, const char *path, char *buf, apr_size_t len, apr_size_t *n)
{
    apr_file_t *f;
    apr_status_t rv;
    char err[128];

    *n = len - 1;
    rv = apr_file_open(&f, path, APR_FOPEN_READ, APR_OS_DEFAULT, p);
    if (rv == APR_SUCCESS) {
        rv = apr_file_read_full(f, buf, *n, n);
        apr_file_close(f);
    }
    if (rv != APR_SUCCESS && rv != APR_EOF)
        return apr_psprintf(p, "cannot read secret file '%s': %s", path, apr_strerror(rv, err, sizeof(err)));
    buf[*n] = '\0';
    return NULL;
}

/* Runs the program at path (no arguments, no input) and reads at most len - 1 bytes of what it prints into buf
 * (NUL-terminated), setting *n; NULL when it printed that and exited with 0 within BLINKAUTH_EXEC_TIMEOUT seconds,
 * else why not. */
static const char *secret_from_program(apr_pool_t *p, const char *path, char *buf, apr_size_t len, apr_size_t *n)
{
    const char *argv[2] = {path, NULL};
    apr_procattr_t *attr;
    apr_proc_t proc;
    apr_exit_why_e how;
    apr_status_t rv, read_rv = APR_SUCCESS;
    apr_size_t got;
    int code = 0;
    char err[128], extra;

    rv = apr_procattr_create(&attr, p);
    if (rv == APR_SUCCESS)
        rv = apr_procattr_io_set(attr, APR_NO_PIPE, APR_FULL_BLOCK, APR_NO_PIPE);
    if (rv == APR_SUCCESS)
        rv = apr_procattr_cmdtype_set(attr, APR_PROGRAM);
    if (rv == APR_SUCCESS)
        rv = apr_procattr_error_check_set(attr, 1);
    if (rv == APR_SUCCESS)
        rv = apr_proc_create(&proc, path, argv, NULL, attr, p);
    if (rv != APR_SUCCESS)
        return apr_psprintf(p, "cannot run secret program '%s': %s", path, apr_strerror(rv, err, sizeof(err)));
    apr_file_pipe_timeout_set(proc.out, apr_time_from_sec(BLINKAUTH_EXEC_TIMEOUT));
    for (*n = 0; *n < len - 1 && read_rv == APR_SUCCESS; *n += got) {
        got = len - 1 - *n;
        read_rv = apr_file_read(proc.out, buf + *n, &got);
    }
    /* One byte more than fits means the output is too long; the check after the call says so. */
    if (read_rv == APR_SUCCESS) {
        got = 1;
        if (apr_file_read(proc.out, &extra, &got) == APR_SUCCESS && got == 1)
            *n = len;
    }
    buf[*n < len ? *n : len - 1] = '\0';
    apr_file_close(proc.out);
    if (APR_STATUS_IS_TIMEUP(read_rv) || APR_STATUS_IS_EAGAIN(read_rv)) {
        apr_proc_kill(&proc, SIGKILL);
        apr_proc_wait(&proc, &code, &how, APR_WAIT);
        return apr_psprintf(p, "secret program '%s' did not finish within %d seconds", path, BLINKAUTH_EXEC_TIMEOUT);
    }
    rv = apr_proc_wait(&proc, &code, &how, APR_WAIT);
    if (rv != APR_CHILD_DONE || !APR_PROC_CHECK_EXIT(how) || code != 0)
        return apr_psprintf(p, "secret program '%s' failed (%s %d)", path,
                            APR_PROC_CHECK_EXIT(how) ? "exit status" : "signal", code);
    return NULL;
}

const char *blinkauth_config_read_secret(apr_pool_t *p, const char *value, const char **out)
{
    /* Room for the longest secret, "\r\n" and one more byte, so that a longer text is seen as such instead of
     * being cut off after a line end. */
    char buf[BLINKAUTH_SECRET_MAX + 4];
    const char *why = NULL, *what = "the secret";
    int outside = strncmp(value, "file:", 5) == 0 || strncmp(value, "exec:", 5) == 0;
    apr_size_t n = strlen(value);

    if (strncmp(value, "file:", 5) == 0) {
        what = apr_psprintf(p, "secret file '%s'", value + 5);
        why = secret_from_file(p, value + 5, buf, sizeof(buf), &n);
    }
    else if (outside) {
        what = apr_psprintf(p, "the output of secret program '%s'", value + 5);
        why = secret_from_program(p, value + 5, buf, sizeof(buf), &n);
    }
    else if (n < sizeof(buf)) {
        memcpy(buf, value, n + 1);
    }
    if (why)
        return why;
    /* A file or a program's output ends with one line end, which is not part of the secret. */
    if (outside && n > 0 && n < sizeof(buf) && buf[n - 1] == '\n')
        buf[--n] = '\0';
    if (outside && n > 0 && n < sizeof(buf) && buf[n - 1] == '\r')
        buf[--n] = '\0';
    if (n == 0 || n > BLINKAUTH_SECRET_MAX || memchr(buf, '\0', n) != NULL || !blinkauth_text_is_clean(buf, n))
        return apr_psprintf(p, "%s is empty, longer than %d bytes, or has control characters", what,
                            BLINKAUTH_SECRET_MAX);
    if (buf[0] == ' ' || buf[n - 1] == ' ')
        return apr_psprintf(p,
                            "%s %s with a blank: httpd strips the blanks around a header's value, so it could "
                            "never match; remove the blank",
                            what, buf[n - 1] == ' ' ? "ends" : "starts");
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
    if (!cfg->authorize_url && !cfg->metadata_url)
        return "BlinkAuthAuthorizeURL (or BlinkAuthProviderMetadataURL)";
    if (!cfg->token_url && !cfg->metadata_url)
        return "BlinkAuthTokenURL (or BlinkAuthProviderMetadataURL)";
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

int blinkauth_config_require_verified_email(const blinkauth_config_t *cfg)
{
    return cfg->verified_email != 0;
}

int blinkauth_config_scope_has_openid(const char *scope)
{
    apr_size_t n;

    for (; scope && *scope; scope += n) {
        scope += strspn(scope, " ");
        n = strcspn(scope, " ");
        if (n == 6 && strncmp(scope, "openid", 6) == 0)
            return 1;
    }
    return 0;
}

const char *blinkauth_config_check_prompt(apr_pool_t *p, const char *value)
{
    static const char *const known[] = {"login", "consent", "select_account", "none"};
    apr_size_t i;

    for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (strcmp(value, known[i]) == 0)
            return NULL;
    return apr_psprintf(p, "'%s' is not login, consent, select_account or none", value);
}

const char *blinkauth_config_service_name(apr_pool_t *p, const blinkauth_config_t *cfg)
{
    blinkauth_url_parts_t u;

    if (cfg->service_name)
        return cfg->service_name;
    if (cfg->authorize_url == NULL || !blinkauth_text_url_split(cfg->authorize_url, &u))
        return "the external service";
    return apr_pstrmemdup(p, u.host, strcspn(u.host, ":/?#"));
}

int blinkauth_config_match_email(const blinkauth_config_t *cfg)
{
    return cfg->match_email == 1;
}

int blinkauth_config_token_check(const blinkauth_config_t *cfg)
{
    return cfg->token_check != 0;
}

int blinkauth_config_start_timeout(const blinkauth_config_t *cfg)
{
    return cfg->start_timeout != BLINKAUTH_UNSET_INT ? cfg->start_timeout : BLINKAUTH_DEFAULT_START_TIMEOUT;
}

const char *blinkauth_config_pass_token(const blinkauth_config_t *cfg)
{
    return cfg->pass_token ? cfg->pass_token : BLINKAUTH_DEFAULT_PASS_TOKEN;
}

int blinkauth_config_refresh_before(const blinkauth_config_t *cfg)
{
    return cfg->refresh_before != BLINKAUTH_UNSET_INT ? cfg->refresh_before : BLINKAUTH_DEFAULT_REFRESH_BEFORE;
}

const char *blinkauth_config_check_pass_token(apr_pool_t *p, const char *value)
{
    static const char *reserved[] = {"Host", "Content-Length", "Transfer-Encoding", "Connection"};
    apr_size_t i, n = strlen(value);

    if (strcmp(value, "env") == 0)
        return NULL;
    if (n == 0 || n > 64 ||
        value[strspn(value, "!#$%&'*+-.^_`|~0123456789"
                            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")] != '\0')
        return "neither env nor a header name (letters, digits and !#$%&'*+-.^_`|~, at most 64)";
    for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
        if (strcasecmp(value, reserved[i]) == 0)
            return apr_psprintf(p, "%s cannot carry the token", reserved[i]);
    if (strncasecmp(value, "blink-auth-", 11) == 0)
        return "the blink-auth-* headers are removed before the request goes on";
    return NULL;
}
