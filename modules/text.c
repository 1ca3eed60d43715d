/* Handling of text from outside: validation, percent-encoding, HTML escaping, query parsing. */
#include "text.h"
#include "crypto.h"

#include <string.h>
#include <apr_cstr.h>
#include <apr_lib.h>
#include <apr_strings.h>

/* 1 when s is non-empty, at most max bytes, and every byte of it passes ok. */
static int all_of(const char *s, apr_size_t max, int (*ok)(unsigned char))
{
    apr_size_t n = 0;

    if (s == NULL || *s == '\0')
        return 0;
    for (; s[n]; n++)
        if (n >= max || !ok((unsigned char)s[n]))
            return 0;
    return 1;
}

/* 1 for a byte that is not a control character (< 0x20, 0x7f). */
static int not_control(unsigned char c)
{
    return c >= 0x20 && c != 0x7f;
}

/* 1 for a byte of the base64url alphabet. */
static int in_b64url(unsigned char c)
{
    return blinkauth_crypto_b64url_value(c) >= 0;
}

int blinkauth_text_is_clean(const char *s, apr_size_t max)
{
    return all_of(s, max, not_control);
}

int blinkauth_text_utf8_length(const unsigned char *s)
{
    /* The checks of jansson's utf8_check_full, so that what passes here jansson accepts too. */
    unsigned char c = s[0];
    apr_uint32_t v;
    int n, i;

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        v = c & 0x1F;
    }
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        v = c & 0x0F;
    }
    else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        v = c & 0x07;
    }
    else {
        return 0;
    }
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF) || (n == 3 && v < 0x800) || (n == 4 && v < 0x10000))
        return 0;
    return n;
}

int blinkauth_text_is_utf8(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    int n;

    for (; *u; u += n)
        if ((n = blinkauth_text_utf8_length(u)) == 0)
            return 0;
    return 1;
}

int blinkauth_text_is_b64url(const char *s, apr_size_t max)
{
    return all_of(s, max, in_b64url);
}

/* 1 for the RFC 3986 unreserved characters. */
static int unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_' || c == '~';
}

/* s with every byte but RFC 3986 unreserved ones as %XX, and a space as '+' when form is set. */
static const char *encode(apr_pool_t *p, const char *s, int form)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = apr_palloc(p, strlen(s) * 3 + 1), *o = out;

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (unreserved(c)) {
            *o++ = (char)c;
        }
        else if (form && c == ' ') {
            *o++ = '+';
        }
        else {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    *o = '\0';
    return out;
}

const char *blinkauth_text_pct_encode(apr_pool_t *p, const char *s)
{
    return encode(p, s, 0);
}

const char *blinkauth_text_form_encode(apr_pool_t *p, const char *s)
{
    return encode(p, s, 1);
}

/* The value of one hex digit, or -1. */
static int hexval(char c)
{
    static const char digits[] = "0123456789abcdef";
    const char *at = c ? strchr(digits, apr_tolower(c)) : NULL;

    return at ? (int)(at - digits) : -1;
}

char *blinkauth_text_pct_decode(apr_pool_t *p, const char *s, int form)
{
    char *out = apr_palloc(p, strlen(s) + 1), *o = out;

    for (; *s; s++) {
        if (*s == '%') {
            int hi = hexval(s[1]), lo = hi < 0 ? -1 : hexval(s[2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return NULL;
            *o++ = (char)(hi * 16 + lo);
            s += 2;
        }
        else {
            *o++ = (form && *s == '+') ? ' ' : *s;
        }
    }
    *o = '\0';
    return out;
}

const char *blinkauth_text_log_safe(apr_pool_t *p, const char *s, apr_size_t max)
{
    apr_size_t n = strlen(s), i, keep = n > max ? max : n;
    char *out = apr_palloc(p, keep + 4);

    for (i = 0; i < keep; i++) {
        unsigned char c = (unsigned char)s[i];
        out[i] = c < 0x20 || c > 0x7e || c == '"' || c == '\\' ? '?' : (char)c;
    }
    memcpy(out + keep, n > max ? "..." : "", n > max ? 4 : 1);
    return out;
}

int blinkauth_text_url_split(const char *url, blinkauth_url_parts_t *parts)
{
    const char *scheme_end = strstr(url, "://");
    int has_scheme = scheme_end != NULL && scheme_end < url + strcspn(url, "/?#");
    const char *at;

    parts->authority = has_scheme ? scheme_end + 3 : url;
    parts->path = parts->authority + strcspn(parts->authority, "/?#");
    for (at = parts->path; at > parts->authority && at[-1] != '@'; at--)
        ;
    parts->host = at;
    return has_scheme;
}

const char *blinkauth_text_html_escape(apr_pool_t *p, const char *s)
{
    char *out = apr_palloc(p, strlen(s) * 6 + 1), *o = out;

    for (; *s; s++) {
        const char *rep = NULL;
        switch (*s) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&#39;";
            break;
        }
        if (rep) {
            apr_size_t n = strlen(rep);
            memcpy(o, rep, n);
            o += n;
        }
        else {
            *o++ = *s;
        }
    }
    *o = '\0';
    return out;
}

apr_table_t *blinkauth_text_form_parse(apr_pool_t *p, const char *s)
{
    apr_table_t *form = apr_table_make(p, 8);
    char *copy = apr_pstrdup(p, s ? s : ""), *last = NULL, *pair;

    for (pair = apr_strtok(copy, "&", &last); pair; pair = apr_strtok(NULL, "&", &last)) {
        char *eq = strchr(pair, '=');
        char *name, *value;
        if (eq)
            *eq = '\0';
        name = blinkauth_text_pct_decode(p, pair, 1);
        value = blinkauth_text_pct_decode(p, eq ? eq + 1 : "", 1);
        if (name == NULL || value == NULL)
            return NULL;
        apr_table_addn(form, name, value);
    }
    return form;
}

/* Collects the values of one name, so repeats can be counted. */
static int count_value(void *rec, const char *key, const char *value)
{
    const char **found = rec;
    found[found[0] ? 1 : 0] = value;
    return found[1] == NULL;
}

const char *blinkauth_text_form_single(apr_table_t *form, const char *name, int *repeated)
{
    const char *found[2] = {NULL, NULL};

    apr_table_do(count_value, found, form, name, NULL);
    if (repeated)
        *repeated = found[1] != NULL;
    return found[1] ? NULL : found[0];
}

/* 1 when the parameter name raw (len bytes, not NUL-terminated) is name as the callback reads it
 * (blinkauth_text_form_parse, then an apr_table lookup). */
static int param_is(apr_pool_t *p, const char *raw, apr_size_t len, const char *name)
{
    apr_size_t n = strlen(name);
    const char *decoded;

    /* Like apr_table_get, which the callback's lookups go through, names compare without ASCII case. */
    if (len == n && apr_cstr_casecmpn(raw, name, n) == 0)
        return 1;
    if (memchr(raw, '%', len) == NULL && memchr(raw, '+', len) == NULL)
        return 0;
    decoded = blinkauth_text_pct_decode(p, apr_pstrmemdup(p, raw, len), 1);
    return decoded && apr_cstr_casecmp(decoded, name) == 0;
}

const char *blinkauth_text_query_redact(apr_pool_t *p, const char *query, const char *name)
{
    apr_size_t segments = 1;
    const char *cur;
    char *out, *o;

    if (query == NULL)
        return NULL;
    /* One pass into one buffer: a segment grows by at most "=REDACTED" minus its '='. */
    for (cur = query; *cur; cur++)
        segments += *cur == '&';
    o = out = apr_palloc(p, strlen(query) + segments * (sizeof("=REDACTED") - 1) + 1);
    for (cur = query; *cur;) {
        apr_size_t len = strcspn(cur, "&");
        const char *eq = memchr(cur, '=', len);
        if (eq && param_is(p, cur, (apr_size_t)(eq - cur), name)) {
            memcpy(o, cur, (apr_size_t)(eq - cur));
            o += eq - cur;
            memcpy(o, "=REDACTED", sizeof("=REDACTED") - 1);
            o += sizeof("=REDACTED") - 1;
        }
        else {
            memcpy(o, cur, len);
            o += len;
        }
        cur += len;
        if (*cur == '&')
            *o++ = *cur++;
    }
    *o = '\0';
    return out;
}

const char *blinkauth_text_uri_redact(apr_pool_t *p, const char *text, const char *name)
{
    const char *q = text ? strchr(text, '?') : NULL, *end;

    if (q == NULL)
        return text;
    /* The query runs to the protocol of a request line, or to the end; a space before that is part of it. */
    end = strrchr(q, ' ');
    if (end == NULL || strncmp(end, " HTTP/", 6) != 0)
        end = q + strlen(q);
    return apr_pstrcat(p, apr_pstrmemdup(p, text, (apr_size_t)(q + 1 - text)),
                       blinkauth_text_query_redact(p, apr_pstrmemdup(p, q + 1, (apr_size_t)(end - q - 1)), name), end,
                       NULL);
}
