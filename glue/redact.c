/* Keeping the authorization code out of the access log. */
#include "redact.h"
#include "text.h"

#include "apr_strings.h"

void blinkauth_redact_code(request_rec *r)
{
    r->the_request = (char *)blinkauth_text_uri_redact(r->pool, r->the_request, "code");
    r->unparsed_uri = (char *)blinkauth_text_uri_redact(r->pool, r->unparsed_uri, "code");
    r->args = r->parsed_uri.query = (char *)blinkauth_text_query_redact(r->pool, r->args, "code");
}

/* 1 when the path of r's URI (or, before it was parsed, of its request line) ends in "/callback". */
static int looks_like_callback(const request_rec *r)
{
    const char *uri = r->uri ? r->uri : r->unparsed_uri;
    apr_size_t n = uri ? strcspn(uri, "?#") : 0;

    return n >= 9 && strncmp(uri + n - 9, "/callback", 9) == 0;
}

int blinkauth_redact_log_transaction(request_rec *r)
{
    const blinkauth_config_t *cfg = r->per_dir_config ? blinkauth_request_config(r) : NULL;

    for (; r; r = r->prev)
        if ((cfg && blinkauth_config_is_used(cfg)) || looks_like_callback(r))
            blinkauth_redact_code(r);
    return DECLINED;
}
