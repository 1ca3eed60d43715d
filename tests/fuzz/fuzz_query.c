/* Fuzz target: the callback's query string (GET <location>/callback?...), as routes/callback.c reads it:
 * blinkauth_text_form_parse, blinkauth_text_form_single, the state and code checks, and
 * blinkauth_text_query_redact on the bare query (r->args) and blinkauth_text_uri_redact on a request line
 * and a URI holding it (r->the_request, r->unparsed_uri): what the access log shows.
 * Properties: a value the checks accept is what they promise; after redaction, no "code" parameter of the
 * query still carries a value other than REDACTED; the pool memory used stays proportional to the input
 * (a query of 8 KB, what LimitRequestLine lets through, must not cost megabytes). */
#include "fuzz.h"
#include "text.h"
#include "crypto.h"

#include <apr_strings.h>
#include <apr_tables.h>

/* Counts "code" parameters with a value other than REDACTED. */
static int unredacted(void *rec, const char *key, const char *value)
{
    if (*value && strcmp(value, "REDACTED") != 0)
        ++*(int *)rec;
    return 1;
}

/* Every "code" of the query, as the callback parses it, is REDACTED (or empty). */
static void check_redacted(apr_pool_t *p, const char *query)
{
    apr_table_t *form = blinkauth_text_form_parse(p, query);
    int bad = 0;

    if (form == NULL)
        return; /* the callback refuses such a query; the code was not used */
    apr_table_do(unredacted, &bad, form, "code", NULL);
    FUZZ_CHECK(bad == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    apr_pool_t *p = fuzz_pool_begin();
    apr_table_t *form = blinkauth_text_form_parse(p, s);
    const char *line, *redacted;
    int repeated = 0;

    if (form) {
        const char *state = blinkauth_text_form_single(form, "state", &repeated);
        const char *code = blinkauth_text_form_single(form, "code", &repeated);
        const char *error = blinkauth_text_form_single(form, "error", &repeated);

        FUZZ_CHECK(!(repeated && error));
        if (blinkauth_text_is_b64url(state, BLINKAUTH_RANDOM_B64_LEN))
            FUZZ_CHECK(strlen(state) <= BLINKAUTH_RANDOM_B64_LEN &&
                       strspn(state, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
                           strlen(state));
        if (blinkauth_text_is_clean(code, 2048))
            FUZZ_CHECK(strlen(code) > 0 && strlen(code) <= 2048);
        if (error && blinkauth_text_is_b64url(error, 64))
            FUZZ_CHECK(strlen(error) <= 64);
        blinkauth_text_form_single(form, "error_description", NULL);
    }

    /* r->args: the bare query. */
    redacted = blinkauth_text_query_redact(p, s, "code");
    FUZZ_CHECK(redacted != NULL);
    check_redacted(p, redacted);

    /* r->the_request: the query after the path's '?', up to the protocol (spaces in it are possible only
     * with HttpProtocolOptions Unsafe, but still must not leak the code). */
    line = apr_pstrcat(p, "GET /blink/callback?", s, " HTTP/1.1", NULL);
    redacted = blinkauth_text_uri_redact(p, line, "code");
    FUZZ_CHECK(strncmp(redacted, "GET /blink/callback?", 20) == 0);
    FUZZ_CHECK(strlen(redacted) >= 29 && strcmp(redacted + strlen(redacted) - 9, " HTTP/1.1") == 0);
    check_redacted(p, apr_pstrndup(p, redacted + 20, strlen(redacted) - 29));
    /* r->unparsed_uri: the query after the path's '?' to the end (unless it looks like a protocol). */
    if (strstr(s, " HTTP/") == NULL) {
        redacted = blinkauth_text_uri_redact(p, apr_pstrcat(p, "/blink/callback?", s, NULL), "code");
        FUZZ_CHECK(strncmp(redacted, "/blink/callback?", 16) == 0);
        check_redacted(p, redacted + 16);
    }
    FUZZ_CHECK(strcmp(blinkauth_text_uri_redact(p, "/blink/callback", "code"), "/blink/callback") == 0);
    FUZZ_CHECK(blinkauth_text_uri_redact(p, NULL, "code") == NULL);
    FUZZ_CHECK(blinkauth_text_query_redact(p, NULL, "code") == NULL);
    FUZZ_CHECK(fuzz_shim_allocated() <= 64 * size + 65536);

    fuzz_pool_end(p);
    free(s);
    return 0;
}
