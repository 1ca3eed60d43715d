/* jansson tied to APR pools: values released with their pool, text copied into it. */
#ifndef BLINKAUTH_JSON_H
#define BLINKAUTH_JSON_H

#include <apr_pools.h>
#include <jansson.h>

/* Hands j to the pool: it is released (json_decref) when p is cleared. Returns j. */
json_t *blinkauth_json_bind(apr_pool_t *p, json_t *j);

/* Compact JSON text of j, allocated in p (NULL only if encoding failed). */
const char *blinkauth_json_dump(apr_pool_t *p, const json_t *j);

/* Parses text strictly (one JSON value, nothing after it) into a pool-bound value;
 * NULL with *why set when it is not JSON. */
json_t *blinkauth_json_parse(apr_pool_t *p, const char *text, apr_size_t len, const char **why);

/* s as JSON string text with its quotes, escaped as jansson's compact dump does; NULL when s is
 * NULL or not valid UTF-8 (jansson refuses those too). For fixed-shape answers on hot paths. */
const char *blinkauth_json_quote(apr_pool_t *p, const char *s);

/* The string member name of object o, or NULL when absent or not a string. */
const char *blinkauth_json_string(const json_t *o, const char *name);

#endif
