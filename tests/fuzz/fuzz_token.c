/* Fuzz target: a token endpoint's answer body (blinkauth_provider_token_parse) and its error code
 * (blinkauth_upstream_error_code under "error"), raw bytes with a length.
 * Properties: an accepted answer has a non-empty access_token and a sane expires_in; a failure says why. */
#include "fuzz.h"
#include "provider.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *b = fuzz_bytes(data, size);
    apr_pool_t *p = fuzz_pool_begin();
    blinkauth_tokens_t tokens = {0};
    const char *why = NULL;

    if (blinkauth_provider_token_parse(p, b, size, &tokens, &why)) {
        FUZZ_CHECK(tokens.access_token && *tokens.access_token);
        FUZZ_CHECK(tokens.expires_in >= -1);
        if (tokens.refresh_token)
            (void)strlen(tokens.refresh_token);
        if (tokens.id_token)
            (void)strlen(tokens.id_token);
    }
    else {
        FUZZ_CHECK(why != NULL);
    }
    fuzz_check_error_code(p, 400, b, size, "error");
    fuzz_pool_end(p);
    free(b);
    return 0;
}
