/* Sending answers: a body from modules/envelope.c or modules/page.c, with the headers every route sets. */
#include "reply.h"
#include "envelope.h"
#include "page.h"

#include "apr_strings.h"

/* Writes a complete answer with the headers every route sets. */
static int reply(request_rec *r, int status, const char *type, const char *body)
{
    apr_size_t len = strlen(body);

    r->status = status;
    ap_set_content_type(r, type);
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->headers_out, "X-Content-Type-Options", "nosniff");
    ap_set_content_length(r, (apr_off_t)len);
    if (!r->header_only)
        ap_rwrite(body, (int)len, r);
    return OK;
}

int blinkauth_reply_json(request_rec *r, int status, const char *body)
{
    return reply(r, status, BLINKAUTH_JSON_TYPE, body);
}

int blinkauth_reply_error(request_rec *r, int status, const char *code, const char *message)
{
    return reply(r, status, BLINKAUTH_JSON_TYPE,
                 blinkauth_envelope_error(r->pool, code, message, blinkauth_logctx_ref(r)));
}

int blinkauth_reply_config_error(request_rec *r)
{
    return blinkauth_reply_error(r, HTTP_INTERNAL_SERVER_ERROR, "CONFIG_ERROR",
                                 "This app is not fully configured; see the server's error log.");
}

int blinkauth_reply_not_allowed(request_rec *r, const char *name)
{
    r->allowed = AP_METHOD_BIT << ap_method_number_of(name);
    apr_table_setn(r->headers_out, "Allow", name);
    BLINKAUTH_RLOG(APLOG_INFO, 0, r, BLALOGNO(00101) "%s %s refused: this route takes only %s", r->method, r->uri,
                   name);
    return blinkauth_reply_error(r, HTTP_METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED",
                                 apr_pstrcat(r->pool, "This route only accepts ", name, ".", NULL));
}

int blinkauth_reply_page(request_rec *r, int status, const char *title, const char *message)
{
    apr_table_setn(r->headers_out, "Content-Security-Policy", BLINKAUTH_PAGE_CSP);
    apr_table_setn(r->headers_out, "Referrer-Policy", "no-referrer");
    /* Only a page that says something failed asks the person to pass the reference on. */
    return reply(r, status, BLINKAUTH_HTML_TYPE,
                 blinkauth_page_html(r->pool, title, message, status >= 400 ? blinkauth_logctx_ref(r) : NULL));
}
