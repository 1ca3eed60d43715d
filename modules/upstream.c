/* The outcome of one step against an upstream (Blink API or external service), for routes to answer and log. */
#include "upstream.h"

#include "json.h"

#include <string.h>
#include <apr_strings.h>

/* "[Auth ID <id>: ]<step> (<METHOD> <url without query>)" for log sentences. */
static const char *step_name(apr_pool_t *p, const blinkauth_config_t *cfg, const char *step,
                             const blinkauth_http_request_t *req)
{
    return apr_psprintf(p, "%s%s%s%s (%s %s)", cfg && cfg->auth_id ? "Auth ID " : "",
                        cfg && cfg->auth_id ? cfg->auth_id : "", cfg && cfg->auth_id ? ": " : "", step, req->method,
                        blinkauth_http_url_for_log(p, req->url));
}

/* How many attempts a call made, as the end of its sentence says it. */
static const char *attempts_text(int attempts)
{
    return attempts == 0 ? "not sent" : attempts == 1 ? "1 attempt" : "2 attempts";
}

blinkauth_outcome_t blinkauth_upstream_outcome(apr_pool_t *p, const blinkauth_config_t *cfg, const char *step,
                                               const blinkauth_http_request_t *req,
                                               const blinkauth_http_response_t *res, const char *code)
{
    blinkauth_outcome_t out = {BLINKAUTH_UP_OK,
                               res->status,
                               NULL,
                               code,
                               res->error == BLINKAUTH_HTTP_ERR_CONNECT,
                               res->error != BLINKAUTH_HTTP_OK};
    const char *name = step_name(p, cfg, step, req);

    /* The cause (blinkauth_http_call's words, which never carry a time of their own), then the time, once. */
    if (res->error != BLINKAUTH_HTTP_OK) {
        out.kind = res->error == BLINKAUTH_HTTP_ERR_TIMEOUT ? BLINKAUTH_UP_TIMEOUT : BLINKAUTH_UP_FAILED;
        out.why =
            apr_psprintf(p, "%s: %s after %ld ms (%s)", name, res->error_text ? res->error_text : "transfer error",
                         res->elapsed_ms, attempts_text(res->attempts));
        return out;
    }
    if (res->status < 200 || res->status >= 300)
        out.kind = res->status == 404 ? BLINKAUTH_UP_NOT_FOUND : BLINKAUTH_UP_FAILED;
    out.why = apr_psprintf(p, "%s answered HTTP %ld%s%s in %ld ms", name, res->status, code ? ": " : "",
                           code ? code : "", res->elapsed_ms);
    return out;
}

blinkauth_outcome_t blinkauth_upstream_invalid(apr_pool_t *p, const blinkauth_config_t *cfg, const char *step,
                                               const blinkauth_http_request_t *req,
                                               const blinkauth_http_response_t *res, const char *what)
{
    blinkauth_outcome_t out = {BLINKAUTH_UP_FAILED, res->status, NULL, NULL, 0, 0};

    out.why = apr_psprintf(p, "%s answered HTTP %ld with an unusable body (%s) in %ld ms", step_name(p, cfg, step, req),
                           res->status, what, res->elapsed_ms);
    return out;
}

const char *blinkauth_upstream_error_code(apr_pool_t *p, const blinkauth_http_response_t *res, const char *field)
{
    json_t *j = res->body_len ? blinkauth_json_parse(p, res->body, res->body_len, NULL) : NULL;
    const char *code = blinkauth_json_string(j, field);

    if (code == NULL || *code == '\0' || strlen(code) > 64 ||
        strspn(code, "abcdefghijklmnopqrstuvwxyz"
                     "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != strlen(code))
        return NULL;
    return code;
}

int blinkauth_upstream_refused(const blinkauth_outcome_t *out)
{
    return out->unsent || (out->status >= 400 && out->status < 500 && out->status != 408 && out->status != 409);
}

blinkauth_http_request_t blinkauth_upstream_request(const blinkauth_config_t *cfg, const char *method, const char *url)
{
    blinkauth_http_request_t req = {0};

    req.method = method;
    req.url = url;
    req.accept = "application/json";
    req.timeout_s = blinkauth_config_timeout(cfg);
    req.ca_file = cfg->ca_file;
    return req;
}
