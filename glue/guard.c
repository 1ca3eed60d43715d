/* The request guards the routes share: each passes a request or sends its refusal. */
#include "guard.h"
#include "reply.h"
#include "crypto.h"
#include "text.h"

#include "apr_strings.h"

#define SECRET_HEADER "blink-auth-proxysecret"
#define USER_HEADER "blink-auth-userid"

int blinkauth_guard_secret(request_rec *r, const blinkauth_config_t *cfg)
{
    const char *given = apr_table_get(r->headers_in, SECRET_HEADER);
    int which = blinkauth_crypto_secret_which(given, cfg->proxy_secret, cfg->proxy_secret_previous);

    /* Only the previous secret is worth a line: once none comes, Blink has switched and it can go. */
    if (which == 2)
        BLINKAUTH_RLOG(APLOG_DEBUG, 0, r,
                       BLALOGNO(00106) "%s %s: the previous Proxy Secret (BlinkAuthProxySecret's second value) matched",
                       r->method, r->uri);
    if (which != 0)
        return 1;
    BLINKAUTH_RLOG(APLOG_WARNING, 0, r, BLALOGNO(00102) "%s %s refused: %s header %s", r->method, r->uri, SECRET_HEADER,
                   given ? "does not match BlinkAuthProxySecret" : "is missing");
    blinkauth_reply_error(r, HTTP_UNAUTHORIZED, "UNAUTHORIZED",
                          "The blink-auth-proxysecret header is missing or does not match the app's Proxy Secret.");
    return 0;
}

int blinkauth_guard_user_id(request_rec *r, const char **user_id)
{
    const char *given = apr_table_get(r->headers_in, USER_HEADER);

    /* httpd joins a repeated header into one value with ", " before any module sees it; no user id has a comma. */
    if (given && strchr(given, ',') != NULL) {
        BLINKAUTH_RLOG(APLOG_WARNING, 0, r, BLALOGNO(00107) "%s %s refused: %s header is repeated (or holds a comma)",
                       r->method, r->uri, USER_HEADER);
        blinkauth_reply_error(r, HTTP_BAD_REQUEST, "BAD_REQUEST",
                              "The blink-auth-userid header must be sent once, with one Blink user id.");
        return 0;
    }

    /* "." and ".." would become dot segments in the Blink API path; JSON needs UTF-8. */
    if (blinkauth_text_is_clean(given, BLINKAUTH_ID_MAX) && blinkauth_text_is_utf8(given) && strcmp(given, ".") != 0 &&
        strcmp(given, "..") != 0) {
        *user_id = given;
        blinkauth_logctx_user(r, given);
        return 1;
    }
    BLINKAUTH_RLOG(
        APLOG_WARNING, 0, r,
        BLALOGNO(00103) "%s %s refused: %s header is missing, empty, over %d bytes, not UTF-8 or has control "
                        "characters",
        r->method, r->uri, USER_HEADER, BLINKAUTH_ID_MAX);
    blinkauth_reply_error(r, HTTP_BAD_REQUEST, "BAD_REQUEST",
                          "The blink-auth-userid header must be a Blink user id (1 to 256 bytes of printable UTF-8).");
    return 0;
}

int blinkauth_guard_body(request_rec *r)
{
    const apr_off_t max = BLINKAUTH_BODY_MAX;
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
        BLINKAUTH_RLOG(APLOG_WARNING, 0, r, BLALOGNO(00104) "%s %s refused: request body over %" APR_OFF_T_FMT " bytes",
                       r->method, r->uri, max);
        blinkauth_reply_error(r, HTTP_REQUEST_ENTITY_TOO_LARGE, "PAYLOAD_TOO_LARGE",
                              "The request body is too large; this route needs none.");
    }
    else {
        BLINKAUTH_RLOG(APLOG_WARNING, 0, r, BLALOGNO(00105) "%s %s refused: the request body could not be read",
                       r->method, r->uri);
        blinkauth_reply_error(r, HTTP_BAD_REQUEST, "BAD_REQUEST", "The request body could not be read.");
    }
    return 0;
}
