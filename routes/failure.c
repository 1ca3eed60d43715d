/* The callback's pages for a step that failed at an upstream: the person is told who failed and what to do. */
#include "failure.h"
#include "routes.h"
#include "reply.h"
#include "counters.h"

#include "apr_strings.h"

/* Error codes that say the app itself is wrong: its client id or secret, its grant, its registration. */
static const char *const misconfigured_codes[] = {"invalid_client",
                                                  "unauthorized_client",
                                                  "unsupported_grant_type",
                                                  "invalid_request",
                                                  "unsupported_response_type",
                                                  "invalid_scope",
                                                  "UNAUTHORIZED",
                                                  "FORBIDDEN",
                                                  NULL};

blinkauth_fault_t blinkauth_fault_of_code(const char *code)
{
    int i;

    if (code && (strcmp(code, "server_error") == 0 || strcmp(code, "temporarily_unavailable") == 0))
        return BLINKAUTH_FAULT_UNREACHABLE;
    for (i = 0; code && misconfigured_codes[i]; i++)
        if (strcmp(code, misconfigured_codes[i]) == 0)
            return BLINKAUTH_FAULT_MISCONFIGURED;
    return BLINKAUTH_FAULT_REFUSED;
}

blinkauth_fault_t blinkauth_fault_of(const blinkauth_outcome_t *out)
{
    if (out->kind == BLINKAUTH_UP_TIMEOUT || out->unanswered || out->status >= 500 || out->status == 429)
        return BLINKAUTH_FAULT_UNREACHABLE;
    /* A success with a body this app cannot use, or a redirect: most often an endpoint or claim configured wrong. */
    if (out->status == 401 || out->status == 403 || (out->status >= 200 && out->status < 400))
        return BLINKAUTH_FAULT_MISCONFIGURED;
    return out->code ? blinkauth_fault_of_code(out->code) : BLINKAUTH_FAULT_REFUSED;
}

int blinkauth_failure_page(request_rec *r, const blinkauth_outcome_t *out, const char *party, const char *refused_say)
{
    BLINKAUTH_RLOG(APLOG_ERR, 0, r, BLALOGNO(00302) "callback: %s", out->why);
    return blinkauth_failure_answer(r, out, party, refused_say);
}

int blinkauth_failure_answer(request_rec *r, const blinkauth_outcome_t *out, const char *party, const char *refused_say)
{
    blinkauth_fault_t fault = blinkauth_fault_of(out);
    int timeout = out->kind == BLINKAUTH_UP_TIMEOUT;

    blinkauth_counters_fail(r,
                            fault == BLINKAUTH_FAULT_MISCONFIGURED ? BLINKAUTH_M_CALLBACK_MISCONFIGURED
                            : fault == BLINKAUTH_FAULT_REFUSED     ? BLINKAUTH_M_CALLBACK_REFUSED
                            : timeout                              ? BLINKAUTH_M_CALLBACK_TIMEOUT
                                                                   : BLINKAUTH_M_CALLBACK_UPSTREAM_ERROR,
                            out->why);
    if (fault == BLINKAUTH_FAULT_UNREACHABLE)
        return blinkauth_reply_page(
            r, timeout ? HTTP_GATEWAY_TIME_OUT : HTTP_BAD_GATEWAY, BLINKAUTH_TITLE_NOT_CONNECTED,
            apr_pstrcat(r->pool, party, timeout ? " did not answer in time" : " could not be reached or had a problem",
                        ", so nothing was saved. This is not your doing: try again in a moment (go back to Blink and "
                        "click Connect again).",
                        NULL));
    if (fault == BLINKAUTH_FAULT_MISCONFIGURED)
        return blinkauth_reply_page(
            r, HTTP_INTERNAL_SERVER_ERROR, "Not connected: this app is not set up correctly",
            apr_pstrcat(r->pool, party, " refused this app or answered it with something it cannot use",
                        out->code ? " (" : "", out->code ? out->code : "", out->code ? ")" : "",
                        ", so nothing was saved and trying again will not help. Please tell your administrator.",
                        NULL));
    return blinkauth_reply_page(r, HTTP_BAD_GATEWAY, BLINKAUTH_TITLE_NOT_CONNECTED, refused_say);
}
