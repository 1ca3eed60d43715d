/* The bodies of the JSON answers: Blink's envelope {"code","message"[,"data"]}. */
#include "envelope.h"
#include "json.h"

#include <apr_strings.h>
#include <string.h>

const char *blinkauth_envelope_ok(apr_pool_t *p, json_t *data)
{
    json_t *env = data ? json_pack("{s:s, s:s, s:O}", "code", "OK", "message", "OK", "data", data)
                       : json_pack("{s:s, s:s, s:{}}", "code", "OK", "message", "OK", "data");
    blinkauth_json_bind(p, env);
    return blinkauth_json_dump(p, env);
}

const char *blinkauth_envelope_ok_string(apr_pool_t *p, const char *name, const char *head, const char *tail)
{
    static const char prefix[] = "{\"code\":\"OK\",\"message\":\"OK\",\"data\":{", suffix[] = "\"}}";
    const char *quoted_name;
    apr_size_t name_len, head_len, tail_len;
    apr_ssize_t h, t;
    char *out, *o;

    if (head == NULL || tail == NULL || (quoted_name = blinkauth_json_quote(p, name)) == NULL)
        return NULL;
    name_len = strlen(quoted_name);
    head_len = strlen(head);
    tail_len = strlen(tail);
    h = blinkauth_json_escape(NULL, head, head_len);
    t = blinkauth_json_escape(NULL, tail, tail_len);
    if (h < 0 || t < 0)
        return NULL;
    o = out = apr_palloc(p, sizeof(prefix) - 1 + name_len + 2 + (apr_size_t)(h + t) + sizeof(suffix));
    memcpy(o, prefix, sizeof(prefix) - 1);
    o += sizeof(prefix) - 1;
    memcpy(o, quoted_name, name_len);
    o += name_len;
    *o++ = ':';
    *o++ = '"';
    o = blinkauth_json_put(blinkauth_json_put(o, head, head_len, h), tail, tail_len, t);
    memcpy(o, suffix, sizeof(suffix));
    return out;
}

const char *blinkauth_envelope_error(apr_pool_t *p, const char *code, const char *message, const char *ref)
{
    const blinkauth_json_member_t members[] = {{"code", code, 0}, {"message", message, 0}, {"ref", ref, 0}};

    return code && message ? blinkauth_json_object(p, members, 3) : NULL;
}
