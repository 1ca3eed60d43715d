/* jansson tied to APR pools: values released with their pool, text copied into it. */
#include "json.h"

#include <stdlib.h>
#include <apr_strings.h>

/* Pool cleanup that drops the pool's reference to a JSON value. */
static apr_status_t json_release(void *data)
{
    json_decref((json_t *)data);
    return APR_SUCCESS;
}

/* Hands j to the pool: it is released (json_decref) when p is cleared. Returns j. */
json_t *blinkauth_json_bind(apr_pool_t *p, json_t *j)
{
    if (j)
        apr_pool_cleanup_register(p, j, json_release, apr_pool_cleanup_null);
    return j;
}

/* Compact JSON text of j, allocated in p (NULL only if encoding failed). */
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

/* Parses text strictly (one JSON value, nothing after it) into a pool-bound value;
 * NULL with *why set when it is not JSON. */
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

/* The string member name of object o, or NULL when absent or not a string. */
const char *blinkauth_json_string(const json_t *o, const char *name)
{
    json_t *v = json_is_object(o) ? json_object_get(o, name) : NULL;
    return json_is_string(v) ? json_string_value(v) : NULL;
}
