/* jansson tied to APR pools (values released with their pool, text copied into it), and JSON text of a fixed shape
 * written directly for the hot paths. */
#include "json.h"
#include "text.h"

#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>

/* Pool cleanup that drops the pool's reference to a JSON value. */
static apr_status_t json_release(void *data)
{
    json_decref((json_t *)data);
    return APR_SUCCESS;
}

json_t *blinkauth_json_bind(apr_pool_t *p, json_t *j)
{
    if (j)
        apr_pool_cleanup_register(p, j, json_release, apr_pool_cleanup_null);
    return j;
}

const char *blinkauth_json_dump(apr_pool_t *p, const json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    char *copy;

    if (text == NULL)
        return NULL;
    copy = apr_pstrdup(p, text);
    free(text);
    return copy;
}

json_t *blinkauth_json_parse(apr_pool_t *p, const char *text, apr_size_t len, const char **why)
{
    json_error_t err;
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);

    if (j == NULL) {
        if (why)
            *why = apr_psprintf(p, "not JSON (%s at byte %d)", err.text, err.position);
        return NULL;
    }
    return blinkauth_json_bind(p, j);
}

/* 1 when JSON takes byte c as it is in a string: printable ASCII (DEL included, as jansson writes it) but " and \. */
static int is_plain(unsigned char c)
{
    return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

/* Sixteen bytes, compared all at once (a compiler's vector extension: SSE2 on x86-64, NEON on arm64). */
typedef unsigned char bytes16_t __attribute__((vector_size(16)));

/* 1 when none of the sixteen bytes at b is under 0x20 or over 0x7f, nor " or \. */
static int block_plain(const unsigned char *b)
{
    bytes16_t v, odd;
    apr_uint64_t halves[2];

    memcpy(&v, b, sizeof(v));
    odd = (bytes16_t)((v < 0x20) | (v > 0x7f) | (v == '"') | (v == '\\'));
    memcpy(halves, &odd, sizeof(halves));
    return (halves[0] | halves[1]) == 0;
}

/* The length of the run of plain bytes u (n bytes) begins with. Sixteen bytes are tested at once, the last ones with
 * the sixteen that end the text; byte by byte only from the block where a byte needs escaping, or in a shorter text. */
static apr_size_t plain_run(const unsigned char *u, apr_size_t n)
{
    apr_size_t i = 0;

    while (i + sizeof(bytes16_t) <= n && block_plain(u + i))
        i += sizeof(bytes16_t);
    if (i == n || (i + sizeof(bytes16_t) > n && n >= sizeof(bytes16_t) && block_plain(u + n - sizeof(bytes16_t))))
        return n;
    while (i < n && is_plain(u[i]))
        i++;
    return i;
}

/* Writes the escaped body of u (n bytes) to o when o is not NULL; returns its length, or -1 for invalid UTF-8. */
static apr_ssize_t quote_body(char *o, const unsigned char *u, apr_size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    static const char short_escape[6] = {'b', 't', 'n', 0, 'f', 'r'}; /* \b \t \n \v \f \r: c - 8 */
    const unsigned char *end = u + n;
    apr_ssize_t len = 0;
    int k;

    while (u < end) {
        apr_size_t run = plain_run(u, (apr_size_t)(end - u));
        unsigned char c;

        if (run > 0) {
            if (o)
                memcpy(o + len, u, run);
            len += (apr_ssize_t)run;
            u += run;
            continue;
        }
        c = *u;
        if (c >= 0x80) {
            if ((k = blinkauth_text_utf8_length(u)) == 0)
                return -1;
            if (o)
                memcpy(o + len, u, (apr_size_t)k);
            len += k;
            u += k;
        }
        else if (c == '"' || c == '\\' || (c >= 8 && c <= 13 && short_escape[c - 8])) {
            if (o) {
                o[len] = '\\';
                o[len + 1] = c == '"' || c == '\\' ? (char)c : short_escape[c - 8];
            }
            len += 2;
            u++;
        }
        else {
            if (o) {
                memcpy(o + len, "\\u00", 4);
                o[len + 4] = hex[c >> 4];
                o[len + 5] = hex[c & 15];
            }
            len += 6;
            u++;
        }
    }
    return len;
}

apr_ssize_t blinkauth_json_escape(char *out, const char *s, apr_size_t n)
{
    const unsigned char *u = (const unsigned char *)s;

    /* Most strings need no escape: their body is themselves. */
    if (plain_run(u, n) < n)
        return quote_body(out, u, n);
    if (out)
        memcpy(out, s, n);
    return (apr_ssize_t)n;
}

char *blinkauth_json_put(char *out, const char *s, apr_size_t n, apr_ssize_t len)
{
    if ((apr_size_t)len == n)
        memcpy(out, s, n);
    else
        quote_body(out, (const unsigned char *)s, n);
    return out + len;
}

const char *blinkauth_json_quote(apr_pool_t *p, const char *s)
{
    apr_size_t n = s ? strlen(s) : 0;
    apr_ssize_t len = s ? blinkauth_json_escape(NULL, s, n) : -1;
    char *out;

    if (len < 0)
        return NULL;
    out = apr_palloc(p, (apr_size_t)len + 3);
    out[0] = '"';
    *blinkauth_json_put(out + 1, s, n, len) = '"';
    out[len + 2] = '\0';
    return out;
}

const char *blinkauth_json_object(apr_pool_t *p, const blinkauth_json_member_t *m, int n)
{
    apr_size_t len[BLINKAUTH_JSON_MEMBERS_MAX], total = sizeof("{}");
    apr_ssize_t body[BLINKAUTH_JSON_MEMBERS_MAX];
    char *out, *o;
    int i;

    if (n > BLINKAUTH_JSON_MEMBERS_MAX)
        return NULL;
    /* First each member's length, then the text into one buffer of their sum. */
    for (i = 0; i < n; i++) {
        if (m[i].value == NULL)
            continue;
        len[i] = strlen(m[i].value);
        body[i] = m[i].raw ? (apr_ssize_t)len[i] : blinkauth_json_escape(NULL, m[i].value, len[i]);
        if (body[i] < 0)
            return NULL;
        total += sizeof(",\"\":\"\"") - 1 + strlen(m[i].name) + (apr_size_t)body[i];
    }
    o = out = apr_palloc(p, total);
    *o++ = '{';
    for (i = 0; i < n; i++) {
        apr_size_t name_len;

        if (m[i].value == NULL)
            continue;
        name_len = strlen(m[i].name);
        if (o > out + 1)
            *o++ = ',';
        *o++ = '"';
        memcpy(o, m[i].name, name_len);
        o += name_len;
        *o++ = '"';
        *o++ = ':';
        if (m[i].raw) {
            memcpy(o, m[i].value, len[i]);
            o += len[i];
            continue;
        }
        *o++ = '"';
        o = blinkauth_json_put(o, m[i].value, len[i], body[i]);
        *o++ = '"';
    }
    *o++ = '}';
    *o = '\0';
    return out;
}

const char *blinkauth_json_string(const json_t *o, const char *name)
{
    json_t *v = json_is_object(o) ? json_object_get(o, name) : NULL;
    return json_is_string(v) ? json_string_value(v) : NULL;
}
