/* The bodies of the JSON answers: Blink's envelope {"code","message"[,"data"]}. */
#include "envelope.h"
#include "json.h"

#include <apr_strings.h>

const char *blinkauth_envelope_ok(apr_pool_t *p, json_t *data)
{
    json_t *env = data ? json_pack("{s:s, s:s, s:O}", "code", "OK", "message", "OK", "data", data)
                       : json_pack("{s:s, s:s, s:{}}", "code", "OK", "message", "OK", "data");
    blinkauth_json_bind(p, env);
    return blinkauth_json_dump(p, env);
}

const char *blinkauth_envelope_ok_string(apr_pool_t *p, const char *name, const char *value)
{
    const char *n = blinkauth_json_quote(p, name), *v = blinkauth_json_quote(p, value);

    if (!n || !v)
        return NULL;
    return apr_pstrcat(p, "{\"code\":\"OK\",\"message\":\"OK\",\"data\":{", n, ":", v, "}}", NULL);
}

const char *blinkauth_envelope_error(apr_pool_t *p, const char *code, const char *message, const char *ref)
{
    const char *c = blinkauth_json_quote(p, code), *m = blinkauth_json_quote(p, message);
    const char *f = ref ? blinkauth_json_quote(p, ref) : NULL;

    if (!c || !m || (ref && !f))
        return NULL;
    return apr_pstrcat(p, "{\"code\":", c, ",\"message\":", m, f ? ",\"ref\":" : "", f ? f : "", "}", NULL);
}
