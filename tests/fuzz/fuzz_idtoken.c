/* Fuzz target: an id_token as the token endpoint issues it (blinkauth_provider_id_token_claims, then
 * blinkauth_provider_claim). An input with a '.' is the token as is; one without is taken as the payload
 * JSON and wrapped into header.payload.signature, so the fuzzer reaches the claims quickly.
 * Properties: a failure says why; accepted claims are an object whose aud names the client. */
#include "fuzz.h"
#include "crypto.h"
#include "provider.h"
#include "text.h"

#include <apr_strings.h>

#define CLIENT_ID "test client&1"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    apr_pool_t *p = fuzz_pool_begin();
    const char *token = s, *why = NULL, *id;
    json_t *claims;

    if (memchr(data, '.', size) == NULL)
        token = apr_pstrcat(p, "eyJhbGciOiJSUzI1NiJ9.",
                            blinkauth_crypto_b64url_encode(p, (const unsigned char *)data, size), ".c2ln", NULL);
    claims = blinkauth_provider_id_token_claims(p, token, CLIENT_ID, &why);
    if (claims == NULL) {
        FUZZ_CHECK(why != NULL);
    }
    else {
        FUZZ_CHECK(json_is_object(claims));
        id = blinkauth_provider_claim(p, claims, "sub");
        if (id)
            FUZZ_CHECK(blinkauth_text_is_clean(id, BLINKAUTH_ACCOUNT_ID_MAX));
        blinkauth_provider_claim(p, claims, "email");
    }
    fuzz_pool_end(p);
    free(s);
    return 0;
}
