/* jansson tied to APR pools: values released with their pool, text copied into it. */
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

/* Writes the escaped body of s to o when o is not NULL; returns its length, or -1 for invalid UTF-8. */
static apr_ssize_t quote_body(char *o, const unsigned char *u)
{
    static const char hex[] = "0123456789ABCDEF";
    static const char short_escape[6] = {'b', 't', 'n', 0, 'f', 'r'}; /* \b \t \n \v \f \r: c - 8 */
    apr_ssize_t len = 0;
    int n;

    while (*u) {
        unsigned char c = *u;
        const unsigned char *run = u;

        /* A run of printable ASCII other than " and \ is copied as it is. */
        while (c >= 0x20 && c < 0x80 && c != '"' && c != '\\')
            c = *++u;
        if (u > run) {
            if (o)
                memcpy(o + len, run, (apr_size_t)(u - run));
            len += u - run;
            continue;
        }
        if (c >= 0x80) {
            if ((n = blinkauth_text_utf8_length(u)) == 0)
                return -1;
            if (o)
                memcpy(o + len, u, (apr_size_t)n);
            len += n;
            u += n;
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

const char *blinkauth_json_quote(apr_pool_t *p, const char *s)
{
    apr_ssize_t len = s ? quote_body(NULL, (const unsigned char *)s) : -1;
    char *out;

    if (len < 0)
        return NULL;
    out = apr_palloc(p, (apr_size_t)len + 3);
    out[0] = '"';
    /* Every escape is longer than what it stands for: a body as long as s is s itself. */
    if ((apr_size_t)len == strlen(s))
        memcpy(out + 1, s, (apr_size_t)len);
    else
        quote_body(out + 1, (const unsigned char *)s);
    out[len + 1] = '"';
    out[len + 2] = '\0';
    return out;
}

const char *blinkauth_json_string(const json_t *o, const char *name)
{
    json_t *v = json_is_object(o) ? json_object_get(o, name) : NULL;
    return json_is_string(v) ? json_string_value(v) : NULL;
}
