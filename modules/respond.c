/* What mod_blinkauth answers: Blink's JSON envelope and the callback's HTML pages. */
#include "respond.h"
#include "json.h"
#include "text.h"

#include <apr_strings.h>

/* {"code":"OK","message":"OK","data":data}; data may be NULL for {} and is not consumed. */
const char *blinkauth_respond_json_ok(apr_pool_t *p, json_t *data)
{
    json_t *env = data ? json_pack("{s:s, s:s, s:O}", "code", "OK", "message", "OK", "data", data)
                       : json_pack("{s:s, s:s, s:{}}", "code", "OK", "message", "OK", "data");
    blinkauth_json_bind(p, env);
    return blinkauth_json_dump(p, env);
}

/* {"code":"OK","message":"OK","data":{name:value}} for one string member; NULL if value is not UTF-8.
 * Written directly (the Connect answer): the same bytes as json_pack + json_dumps, several times cheaper. */
const char *blinkauth_respond_json_ok_string(apr_pool_t *p, const char *name, const char *value)
{
    const char *n = blinkauth_json_quote(p, name), *v = blinkauth_json_quote(p, value);

    if (!n || !v)
        return NULL;
    return apr_pstrcat(p, "{\"code\":\"OK\",\"message\":\"OK\",\"data\":{", n, ":", v, "}}", NULL);
}

/* {"code":code,"message":message} for an error answer; written directly, as jansson would
 * (error answers are what floods of bad requests get). */
const char *blinkauth_respond_json_error(apr_pool_t *p, const char *code, const char *message)
{
    const char *c = blinkauth_json_quote(p, code), *m = blinkauth_json_quote(p, message);

    if (!c || !m)
        return NULL;
    return apr_pstrcat(p, "{\"code\":", c, ",\"message\":", m, "}", NULL);
}

/* A small self-contained HTML page: a heading and one paragraph, both escaped here. */
const char *blinkauth_respond_page(apr_pool_t *p, const char *title, const char *message)
{
    const char *t = blinkauth_text_html_escape(p, title);

    return apr_pstrcat(p,
                       "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                       "<title>", t, "</title><style>"
                       "body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;"
                       "color:#222}h1{font-size:1.4rem}</style></head>\n<body><h1>", t, "</h1>\n<p>",
                       blinkauth_text_html_escape(p, message), "</p></body></html>\n", NULL);
}
