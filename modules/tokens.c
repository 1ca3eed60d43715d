/* Our sealed copy of a user's linked-account tokens: the record, its JSON, its seal and its store key. */
#include "tokens.h"
#include "crypto.h"
#include "json.h"

#include <string.h>
#include <apr_strings.h>

/* The version of the record's JSON. */
#define RECORD_VERSION 1

const char *blinkauth_tokens_encode(apr_pool_t *p, const blinkauth_token_copy_t *copy)
{
    json_t *j =
        json_pack("{s:i, s:s, s:s, s:s, s:s*, s:I, s:I, s:b}", "v", RECORD_VERSION, "linked_account_id",
                  copy->linked_account_id, "external_account_id", copy->external_account_id, "access_token",
                  copy->access_token, "refresh_token", copy->refresh_token, "expires", (json_int_t)copy->expires,
                  "obtained", (json_int_t)copy->obtained, "synced", copy->synced != 0);

    return j ? blinkauth_json_dump(p, blinkauth_json_bind(p, j)) : NULL;
}

blinkauth_token_copy_t *blinkauth_tokens_decode(apr_pool_t *p, const char *json, apr_size_t len, const char **why)
{
    blinkauth_token_copy_t *copy = apr_pcalloc(p, sizeof(*copy));
    json_t *j = blinkauth_json_parse(p, json, len, why);
    json_int_t version = 0, expires = 0, obtained = 0;
    json_error_t err;

    if (j == NULL)
        return NULL;
    err.text[0] = '\0';
    if (json_unpack_ex(j, &err, JSON_STRICT, "{s:I, s:s, s:s, s:s, s?s, s:I, s:I, s:b}", "v", &version,
                       "linked_account_id", &copy->linked_account_id, "external_account_id", &copy->external_account_id,
                       "access_token", &copy->access_token, "refresh_token", &copy->refresh_token, "expires", &expires,
                       "obtained", &obtained, "synced", &copy->synced) != 0 ||
        version != RECORD_VERSION || expires < 0 || obtained < 0) {
        *why = apr_psprintf(p, "not a token copy (%s)", err.text[0] ? err.text : "version or times");
        return NULL;
    }
    /* The strings belong to j, which lives as long as p. */
    copy->expires = (apr_time_t)expires;
    copy->obtained = (apr_time_t)obtained;
    return copy;
}

const char *blinkauth_tokens_store_key(apr_pool_t *p, const unsigned char *key, const char *auth_id,
                                       const char *user_id)
{
    /* Neither an Auth ID nor a user id holds a line end, so the pair reads back one way only. */
    const char *pair = apr_pstrcat(p, "tokens\n", auth_id, "\n", user_id, NULL);

    return apr_pstrcat(p, BLINKAUTH_TOKENS_KEY_PREFIX,
                       blinkauth_crypto_hmac(p, key, BLINKAUTH_KEY_BYTES, pair, strlen(pair)), NULL);
}

const char *blinkauth_tokens_seal(apr_pool_t *p, const unsigned char *key, const char *store_key,
                                  const blinkauth_token_copy_t *copy)
{
    const char *json = blinkauth_tokens_encode(p, copy);

    return json ? blinkauth_crypto_seal(p, key, store_key, json, strlen(json)) : NULL;
}

blinkauth_token_copy_t *blinkauth_tokens_open(apr_pool_t *p, const unsigned char *key, const unsigned char *previous,
                                              const char *store_key, const char *sealed, const char **why)
{
    apr_size_t len = 0;
    const char *json = (const char *)blinkauth_crypto_open(p, key, store_key, sealed, &len);

    if (json == NULL && previous != NULL)
        json = (const char *)blinkauth_crypto_open(p, previous, store_key, sealed, &len);
    if (json == NULL) {
        *why = previous ? "its seal verifies under neither BlinkAuthTokenKey"
                        : "its seal does not verify under "
                          "BlinkAuthTokenKey";
        return NULL;
    }
    return blinkauth_tokens_decode(p, json, len, why);
}
