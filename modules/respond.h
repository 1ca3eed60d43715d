/* What mod_blinkauth answers: Blink's JSON envelope and the callback's HTML pages. */
#ifndef BLINKAUTH_RESPOND_H
#define BLINKAUTH_RESPOND_H

#include <apr_pools.h>
#include <jansson.h>

#define BLINKAUTH_JSON_TYPE "application/json; charset=utf-8"
#define BLINKAUTH_HTML_TYPE "text/html; charset=utf-8"
/* The callback pages load nothing and run nothing. */
#define BLINKAUTH_PAGE_CSP "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

/* {"code":"OK","message":"OK","data":data}; data may be NULL for {} and is not consumed. */
const char *blinkauth_respond_json_ok(apr_pool_t *p, json_t *data);

/* {"code":"OK","message":"OK","data":{name:value}} for one string member; NULL if value is not UTF-8. */
const char *blinkauth_respond_json_ok_string(apr_pool_t *p, const char *name, const char *value);

/* {"code":code,"message":message} for an error answer. */
const char *blinkauth_respond_json_error(apr_pool_t *p, const char *code, const char *message);

/* A small self-contained HTML page: a heading and one paragraph, both escaped here. */
const char *blinkauth_respond_page(apr_pool_t *p, const char *title, const char *message);

#endif
