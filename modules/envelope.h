/* The bodies of the JSON answers: Blink's envelope {"code","message"[,"data"]}. */
#ifndef BLINKAUTH_ENVELOPE_H
#define BLINKAUTH_ENVELOPE_H

#include <apr_pools.h>
#include <jansson.h>

#define BLINKAUTH_JSON_TYPE "application/json; charset=utf-8"

/* {"code":"OK","message":"OK","data":data}; data may be NULL for {} and is not consumed. */
const char *blinkauth_envelope_ok(apr_pool_t *p, json_t *data);

/* {"code":"OK","message":"OK","data":{name:value}} for one string member whose value is head followed by tail; NULL
 * if either is NULL or not UTF-8 by itself. Written directly in one allocation (it is the Connect answer, whose start
 * URL is its origin and path, then its handle): the same bytes as json_pack + json_dumps, several times cheaper. */
const char *blinkauth_envelope_ok_string(apr_pool_t *p, const char *name, const char *head, const char *tail);

/* {"code":code,"message":message} for an error answer, with "ref":ref after them when ref is not NULL (the flow
 * reference of a connect); written directly, as jansson would (error answers are what floods of bad requests get).
 * NULL if any is not UTF-8. */
const char *blinkauth_envelope_error(apr_pool_t *p, const char *code, const char *message, const char *ref);

#endif
