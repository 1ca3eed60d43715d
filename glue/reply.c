/* Answers and request guards shared by the routes. */
#include "glue.h"
#include "crypto.h"
#include "respond.h"
#include "text.h"

#include "apr_strings.h"

#define SECRET_HEADER "blink-auth-proxysecret"
#define USER_HEADER "blink-auth-userid"

/* Writes a complete answer with the headers every route sets. */
static int reply(request_rec *r, int status, const char *type, const char *body)
{
    r->status = status;
    ap_set_content_type(r, type);
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->headers_out, "X-Content-Type-Options", "nosniff");
    ap_set_content_length(r, (apr_off_t)strlen(body));
    if (!r->header_only)
        ap_rwrite(body, (int)strlen(body), r);
    return OK;
}

/* Sends body as a JSON answer with status; returns OK for the handler. */
int blinkauth_reply_json(request_rec *r, int status, const char *body)
{
    return reply(r, status, BLINKAUTH_JSON_TYPE, body);
}

/* Sends an error in Blink's envelope: {"code":code,"message":message}. */
int blinkauth_reply_error(request_rec *r, int status, const char *code, const char *message)
{
    return reply(r, status, BLINKAUTH_JSON_TYPE, blinkauth_respond_json_error(r->pool, code, message));
}

/* Sends 405 with Allow: name for a route that only takes that method. */
int blinkauth_reply_not_allowed(request_rec *r, const char *name)
{
    r->allowed = AP_METHOD_BIT << ap_method_number_of(name);
    apr_table_setn(r->headers_out, "Allow", name);
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "BLA00101: %s %s refused: this route takes only %s", r->method,
                  r->uri, name);
    return blinkauth_reply_error(r, HTTP_METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED",
                                 apr_pstrcat(r->pool, "This route only accepts ", name, ".", NULL));
}

/* Sends one of the callback's HTML pages. */
int blinkauth_reply_page(request_rec *r, int status, const char *title, const char *message)
{
    apr_table_setn(r->headers_out, "Content-Security-Policy", BLINKAUTH_PAGE_CSP);
    apr_table_setn(r->headers_out, "Referrer-Policy", "no-referrer");
    return reply(r, status, BLINKAUTH_HTML_TYPE, blinkauth_respond_page(r->pool, title, message));
}

/* Passes when the request carries the app's proxy secret; else 401. */
int blinkauth_guard_secret(request_rec *r, const blinkauth_config_t *cfg)
{
    const char *given = apr_table_get(r->headers_in, SECRET_HEADER);

    if (blinkauth_crypto_secret_equal(given, cfg->proxy_secret))
        return 1;
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "BLA00102: %s %s refused: %s header %s", r->method, r->uri,
                  SECRET_HEADER, given ? "does not match BlinkAuthProxySecret" : "is missing");
    blinkauth_reply_error(r, HTTP_UNAUTHORIZED, "UNAUTHORIZED",
                          "The blink-auth-proxysecret header is missing or does not match the app's Proxy Secret.");
    return 0;
}

/* Passes with *user_id set when blink-auth-userid is acceptable; else 400. */
int blinkauth_guard_user_id(request_rec *r, const char **user_id)
{
    const char *given = apr_table_get(r->headers_in, USER_HEADER);

    /* "." and ".." would become dot segments in the Blink API path; JSON needs UTF-8. */
    if (blinkauth_text_is_clean(given, BLINKAUTH_ID_MAX) && blinkauth_text_is_utf8(given) && strcmp(given, ".") != 0 &&
        strcmp(given, "..") != 0) {
        *user_id = given;
        return 1;
    }
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                  "BLA00103: %s %s refused: %s header is missing, empty, over %d bytes, not UTF-8 or has control "
                  "characters",
                  r->method, r->uri, USER_HEADER, BLINKAUTH_ID_MAX);
    blinkauth_reply_error(r, HTTP_BAD_REQUEST, "BAD_REQUEST",
                          "The blink-auth-userid header must be a Blink user id (1 to 256 bytes of printable UTF-8).");
    return 0;
}

/* Passes when the request body is absent or at most max bytes (read and dropped); else 413 or 400. */
int blinkauth_guard_body(request_rec *r, apr_off_t max)
{
    char buf[8192];
    apr_off_t total = 0;
    long n;

    if (ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK) != OK || r->remaining > max)
        goto too_large_or_bad;
    if (ap_should_client_block(r)) {
        while ((n = ap_get_client_block(r, buf, sizeof(buf))) > 0) {
            total += n;
            if (total > max)
                goto too_large_or_bad;
        }
        if (n < 0)
            goto too_large_or_bad;
    }
    return 1;

too_large_or_bad:
    r->connection->keepalive = AP_CONN_CLOSE;
    if (r->remaining > max || total > max) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "BLA00104: %s %s refused: request body over %" APR_OFF_T_FMT
                      " bytes", r->method, r->uri, max);
        blinkauth_reply_error(r, HTTP_REQUEST_ENTITY_TOO_LARGE, "PAYLOAD_TOO_LARGE",
                              "The request body is too large; this route needs none.");
    }
    else {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "BLA00105: %s %s refused: the request body could not be read",
                      r->method, r->uri);
        blinkauth_reply_error(r, HTTP_BAD_REQUEST, "BAD_REQUEST", "The request body could not be read.");
    }
    return 0;
}
