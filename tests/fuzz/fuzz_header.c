/* Fuzz target: request header values as the guards read them (glue/guard.c): the user id
 * (blinkauth_text_is_clean with BLINKAUTH_ID_MAX, blinkauth_text_is_utf8, no dot segment), the proxy secret
 * (blinkauth_crypto_secret_equal), and what an accepted user id goes on to: the flow record and the Blink
 * API path. Properties: is_clean agrees with an independent reading of its contract; is_utf8 agrees with
 * jansson (which refuses what is not UTF-8); an accepted user id always makes a flow record that reads
 * back the same (a Latin-1 id once got 503 there), and percent-encodes to one path segment. */
#include "fuzz.h"
#include "crypto.h"
#include "flow.h"
#include "json.h"
#include "text.h"

#include <apr_time.h>

/* The contract of blinkauth_text_is_clean, written out plainly. */
static int clean_ref(const char *s, size_t max)
{
    size_t n = strlen(s), i;

    if (n == 0 || n > max)
        return 0;
    for (i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f)
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    apr_pool_t *p = fuzz_pool_begin();
    static const size_t maxes[] = {0, 1, 2, 43, 64, BLINKAUTH_ID_MAX, BLINKAUTH_ACCOUNT_ID_MAX, 1 << 20};
    size_t i;

    for (i = 0; i < sizeof(maxes) / sizeof(maxes[0]); i++)
        FUZZ_CHECK(blinkauth_text_is_clean(s, maxes[i]) == clean_ref(s, maxes[i]));
    FUZZ_CHECK(!blinkauth_text_is_clean(NULL, 10));
    FUZZ_CHECK(blinkauth_crypto_secret_equal(s, "s3cret-proxy") == (strcmp(s, "s3cret-proxy") == 0));
    FUZZ_CHECK(!blinkauth_crypto_secret_equal(s, ""));
    FUZZ_CHECK(!blinkauth_crypto_secret_equal(NULL, s));
    FUZZ_CHECK(blinkauth_crypto_secret_equal(s, s) == (*s != '\0'));

    {
        json_t *j = json_string(s);
        FUZZ_CHECK(blinkauth_text_is_utf8(s) == (j != NULL));
        json_decref(j);
    }
    if (blinkauth_text_is_clean(s, BLINKAUTH_ID_MAX) && blinkauth_text_is_utf8(s) && strcmp(s, ".") != 0 &&
        strcmp(s, "..") != 0) {
        blinkauth_flow_t flow = {.user_id = s,
                                 .auth_id = "a-1234",
                                 .verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
                                 .redirect_uri = "https://apps.example.com/blink/callback",
                                 .created = 1700000000000000};
        const char *text = blinkauth_flow_encode(p, &flow), *why = NULL, *seg;
        blinkauth_flow_t *back;

        FUZZ_CHECK(text != NULL && strlen(text) <= BLINKAUTH_FLOW_MAX);
        back = blinkauth_flow_decode(p, text, strlen(text), &why);
        FUZZ_CHECK(back && strcmp(back->user_id, s) == 0);
        seg = blinkauth_text_pct_encode(p, s);
        FUZZ_CHECK(strchr(seg, '/') == NULL && strcmp(seg, ".") != 0 && strcmp(seg, "..") != 0);
    }
    fuzz_pool_end(p);
    free(s);
    return 0;
}
