/* Fuzz target: a userinfo answer (blinkauth_json_parse, then blinkauth_provider_claim for the account id
 * claims an operator may configure, and blinkauth_upstream_error_code).
 * Properties: a claim accepted as account id is clean text of at most BLINKAUTH_ACCOUNT_ID_MAX bytes; an error
 * code is a short safe token. */
#include "fuzz.h"
#include "json.h"
#include "provider.h"
#include "text.h"

static const char *const claim_names[] = {"sub", "email", "id", "preferred_username", "", NULL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *b = fuzz_bytes(data, size);
    apr_pool_t *p = fuzz_pool_begin();
    const char *why = NULL;
    json_t *claims = blinkauth_json_parse(p, b, size, &why);
    int i;

    FUZZ_CHECK(claims != NULL || why != NULL);
    for (i = 0; claim_names[i]; i++) {
        const char *id = blinkauth_provider_claim(p, claims, claim_names[i]);
        if (id)
            FUZZ_CHECK(blinkauth_text_is_clean(id, BLINKAUTH_ACCOUNT_ID_MAX));
    }
    if (claims)
        FUZZ_CHECK(blinkauth_json_dump(p, claims) != NULL);
    fuzz_check_error_code(p, 401, b, size, "error");
    fuzz_pool_end(p);
    free(b);
    return 0;
}
