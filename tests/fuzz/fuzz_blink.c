/* Fuzz target: a Blink API answer: the envelope (blinkauth_blinkapi_envelope_data), the linked account's
 * fields as linked_account_get reads them, and the error code of an error answer
 * (blinkauth_upstream_error_code under "code"). Property: an error code is a short safe token. */
#include "fuzz.h"
#include "blinkapi.h"
#include "blinkapi_spec.h"
#include "json.h"

static const char *const fields[] = {BLINKAPI_FIELD_ID,
                                     BLINKAPI_FIELD_AUTH_ID,
                                     BLINKAPI_FIELD_EXTERNAL_ACCOUNT_ID,
                                     BLINKAPI_FIELD_ACCESS_TOKEN,
                                     BLINKAPI_FIELD_REFRESH_TOKEN,
                                     BLINKAPI_FIELD_EXPIRY,
                                     NULL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *b = fuzz_bytes(data, size);
    apr_pool_t *p = fuzz_pool_begin();
    const char *why = NULL;
    json_t *d = blinkauth_blinkapi_envelope_data(p, b, size, &why);
    int i;

    if (d == NULL) {
        FUZZ_CHECK(why != NULL);
    }
    else {
        FUZZ_CHECK(json_is_object(d));
        for (i = 0; fields[i]; i++) {
            const char *v = blinkauth_json_string(d, fields[i]);
            if (v)
                (void)strlen(v);
        }
        (void)json_is_true(json_object_get(d, BLINKAPI_FIELD_REAUTH_REQUIRED));
    }
    fuzz_check_error_code(p, 422, b, size, "code");
    fuzz_pool_end(p);
    free(b);
    return 0;
}
