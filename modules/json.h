/* jansson tied to APR pools (values released with their pool, text copied into it), and JSON text of a fixed shape
 * written directly for the hot paths. */
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

/* The body of s (n bytes, a NUL after them) as JSON string text without its quotes, escaped as jansson's compact dump
 * does, written to out when out is not NULL; its length, or -1 when s is not valid UTF-8. For text written in one
 * piece. */
apr_ssize_t blinkauth_json_escape(char *out, const char *s, apr_size_t n);

/* Writes the body of s (n bytes) at out, len being its length (blinkauth_json_escape's, not -1); returns its end. A
 * body as long as s is s itself (every escape is longer than what it stands for): then it is only copied. */
char *blinkauth_json_put(char *out, const char *s, apr_size_t n, apr_ssize_t len);

/* One member of a flat JSON object (blinkauth_json_object): its name, written as it is (a literal with nothing to
 * escape), and its value: a string, escaped, or with raw set JSON text written as it is (a number); a member whose
 * value is NULL is left out. */
typedef struct {
    const char *name;
    const char *value;
    int raw;
} blinkauth_json_member_t;

/* The most members blinkauth_json_object writes. */
#define BLINKAUTH_JSON_MEMBERS_MAX 12

/* {"name":value,...} of the n members of m, in one allocation: the text jansson's compact dump of the same object
 * writes. NULL when a string value is not valid UTF-8, or n is over BLINKAUTH_JSON_MEMBERS_MAX. For records and
 * answers of a fixed shape on hot paths. */
const char *blinkauth_json_object(apr_pool_t *p, const blinkauth_json_member_t *m, int n);

/* s as JSON string text with its quotes, escaped as jansson's compact dump does; NULL when s is
 * NULL or not valid UTF-8 (jansson refuses those too). For fixed-shape answers on hot paths. */
const char *blinkauth_json_quote(apr_pool_t *p, const char *s);

/* The string member name of object o, or NULL when absent or not a string. */
const char *blinkauth_json_string(const json_t *o, const char *name);

#endif
