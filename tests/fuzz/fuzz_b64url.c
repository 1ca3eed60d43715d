/* Fuzz target: base64url decoding (blinkauth_crypto_b64url_decode: the id_token's parts, and any state).
 * Properties: decoding yields floor(n * 6 / 8) bytes, NUL-terminated; encoding them decodes back to them;
 * the raw input, encoded, decodes back to itself; is_b64url agrees on the alphabet. */
#include "fuzz.h"
#include "crypto.h"
#include "text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    apr_pool_t *p = fuzz_pool_begin();
    apr_size_t n = strlen(s), len = 0, len2 = 0;
    unsigned char *out = blinkauth_crypto_b64url_decode(p, s, &len);
    const char *enc;
    unsigned char *back;

    if (out) {
        FUZZ_CHECK(len == n * 6 / 8);
        FUZZ_CHECK(out[len] == '\0');
        FUZZ_CHECK(n == 0 || blinkauth_text_is_b64url(s, n));
        enc = blinkauth_crypto_b64url_encode(p, out, len);
        back = blinkauth_crypto_b64url_decode(p, enc, &len2);
        FUZZ_CHECK(back && len2 == len && memcmp(back, out, len) == 0);
    }
    else {
        FUZZ_CHECK(n % 4 == 1 || !blinkauth_text_is_b64url(s, n));
    }
    enc = blinkauth_crypto_b64url_encode(p, data, size);
    FUZZ_CHECK(strlen(enc) == (size * 8 + 5) / 6);
    back = blinkauth_crypto_b64url_decode(p, enc, &len2);
    FUZZ_CHECK(back && len2 == size && (size == 0 || memcmp(back, data, size) == 0));
    fuzz_pool_end(p);
    free(s);
    return 0;
}
