/* Handling of text from outside: validation, percent-encoding, HTML escaping, query parsing. */
#ifndef BLINKAUTH_TEXT_H
#define BLINKAUTH_TEXT_H

#include <apr_pools.h>
#include <apr_tables.h>

/* Longest Blink user id, auth id or linked-account id accepted. */
#define BLINKAUTH_ID_MAX 256
/* Longest external account identifier accepted from a provider. */
#define BLINKAUTH_ACCOUNT_ID_MAX 1024

/* 1 when s is non-empty, at most max bytes, and free of control characters (< 0x20, 0x7f). */
int blinkauth_text_is_clean(const char *s, apr_size_t max);

/* Length of the well-formed UTF-8 sequence at s (1 to 4), or 0 (RFC 3629). */
int blinkauth_text_utf8_length(const unsigned char *s);

/* 1 when s is well-formed UTF-8 (RFC 3629: no overlong forms, surrogates or code points past U+10FFFF). */
int blinkauth_text_is_utf8(const char *s);

/* 1 when s is non-empty, at most max bytes, and only of the base64url alphabet. */
int blinkauth_text_is_b64url(const char *s, apr_size_t max);

/* Percent-encodes every byte but RFC 3986 unreserved ones; safe in a path segment and a query. */
const char *blinkauth_text_pct_encode(apr_pool_t *p, const char *s);

/* The application/x-www-form-urlencoded form of s, as RFC 6749 2.3.1 wants for the client id and secret in HTTP
 * Basic: as blinkauth_text_pct_encode, but a space is '+'. */
const char *blinkauth_text_form_encode(apr_pool_t *p, const char *s);

/* Decodes %XX escapes (and '+' as space when form is set); NULL on a malformed escape or NUL. */
char *blinkauth_text_pct_decode(apr_pool_t *p, const char *s, int form);

/* s for a log line: printable ASCII kept, every other byte (and '"', '\\') as '?', cut to max bytes with "...". */
const char *blinkauth_text_log_safe(apr_pool_t *p, const char *s, apr_size_t max);

/* Where the parts of a URL scheme://[userinfo@]host[:port][/path][?query][#fragment] begin, as pointers into it. */
typedef struct {
    const char *authority; /* after "://" (the URL itself when it has no scheme) */
    const char *host;      /* after the userinfo's '@' */
    const char *path;      /* the end of the authority: the path's '/', the '?', the '#' or the NUL */
} blinkauth_url_parts_t;

/* Splits url into *parts; 1 when it has a scheme ("://" before any '/', '?' or '#'), else 0 with the whole URL read as
 * an authority. */
int blinkauth_text_url_split(const char *url, blinkauth_url_parts_t *parts);

/* Escapes & < > " ' for HTML text and attribute values. */
const char *blinkauth_text_html_escape(apr_pool_t *p, const char *s);

/* Parses an application/x-www-form-urlencoded string into a table; NULL when malformed.
 * A name given twice is kept twice, so callers can refuse repeated parameters. */
apr_table_t *blinkauth_text_form_parse(apr_pool_t *p, const char *s);

/* The one value of name in a parsed form; NULL when absent or repeated. */
const char *blinkauth_text_form_single(apr_table_t *form, const char *name, int *repeated);

/* query (a bare query string, as r->args) with the value of every parameter name replaced by
 * "REDACTED"; a parameter is name when its name is name as the callback reads it: percent-decoded by
 * blinkauth_text_form_parse and looked up without ASCII case (so "%63ode" and "CODE" are "code").
 * NULL stays NULL. */
const char *blinkauth_text_query_redact(apr_pool_t *p, const char *query, const char *name);

/* text (a URI or a request line, as r->unparsed_uri and r->the_request) with the value of every
 * parameter name of its query (after the first '?', up to " HTTP/..." or the end) replaced by
 * "REDACTED"; NULL stays NULL. */
const char *blinkauth_text_uri_redact(apr_pool_t *p, const char *text, const char *name);

#endif
