/* Fuzz target: a token copy as read back from the token cache, which others may write (a shared Redis): the input
 * opened as a sealed text (blinkauth_tokens_open under two fixed keys; FUZZ_TOKENS_AAD is the store key), and decoded
 * as the JSON inside one (blinkauth_tokens_decode, raw bytes with a length). Properties: what opens or decodes has its
 * three required fields, and encodes back to a copy that decodes the same; what does not says why. */
#include "fuzz.h"
#include "tokens.h"
#include "crypto.h"

/* The store key the seeds were sealed for, and the secrets of the two keys (the first seals them). */
#define FUZZ_TOKENS_AAD "blinkauth:tok:fuzz"
#define FUZZ_TOKENS_KEY "the-fuzz-token-key-of-32-characters-or-more"
#define FUZZ_TOKENS_PREVIOUS "the-previous-fuzz-token-key-of-32-characters"

/* Checks the properties of one result of open or decode. */
static void check_copy(apr_pool_t *p, const blinkauth_token_copy_t *copy, const char *why)
{
    const blinkauth_token_copy_t *again;
    const char *text;

    if (copy == NULL) {
        FUZZ_CHECK(why != NULL);
        return;
    }
    FUZZ_CHECK(copy->linked_account_id && copy->external_account_id && copy->access_token);
    FUZZ_CHECK(copy->expires >= 0 && copy->obtained >= 0);
    text = blinkauth_tokens_encode(p, copy);
    FUZZ_CHECK(text != NULL);
    again = blinkauth_tokens_decode(p, text, strlen(text), &why);
    FUZZ_CHECK(again != NULL);
    FUZZ_CHECK(strcmp(again->access_token, copy->access_token) == 0 &&
               strcmp(again->linked_account_id, copy->linked_account_id) == 0 &&
               (again->refresh_token == NULL) == (copy->refresh_token == NULL) && again->expires == copy->expires &&
               again->synced == copy->synced);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static unsigned char key[BLINKAUTH_KEY_BYTES], previous[BLINKAUTH_KEY_BYTES];
    char *b = fuzz_bytes(data, size), *s = fuzz_cstr(data, size);
    apr_pool_t *p = fuzz_pool_begin();
    const char *why = NULL;
    const blinkauth_token_copy_t *copy;

    blinkauth_crypto_key_derive(FUZZ_TOKENS_KEY, key);
    blinkauth_crypto_key_derive(FUZZ_TOKENS_PREVIOUS, previous);
    copy = blinkauth_tokens_open(p, key, previous, FUZZ_TOKENS_AAD, s, &why);
    check_copy(p, copy, why);
    why = NULL;
    copy = blinkauth_tokens_decode(p, b, size, &why);
    check_copy(p, copy, why);
    fuzz_pool_end(p);
    free(s);
    free(b);
    return 0;
}
