/* Fuzz target: a provider's OpenID Connect metadata document (blinkauth_discovery_parse), raw bytes with a length,
 * as served at https://idp.example/.well-known/openid-configuration.
 * Properties: accepted metadata names the expected issuer and has authorization and token endpoints that pass the
 * back-channel URL check (as do the optional ones, when present); a refusal says why. */
#include "fuzz.h"
#include "discovery.h"

#define URL "https://idp.example/.well-known/openid-configuration"

/* 1 when the endpoint e is absent (optional) or a usable back-channel URL. */
static int usable(apr_pool_t *p, const char *e, int required)
{
    return e ? blinkauth_config_check_backchannel_url(p, e) == NULL : !required;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *b = fuzz_bytes(data, size);
    apr_pool_t *p = fuzz_pool_begin();
    blinkauth_discovery_t d = {0};
    const char *why = blinkauth_discovery_parse(p, URL, b, size, &d);

    if (why == NULL) {
        FUZZ_CHECK(d.issuer && strncmp(d.issuer, "https://idp.example", 19) == 0 && strlen(d.issuer) <= 20);
        FUZZ_CHECK(usable(p, d.authorization_endpoint, 1) && usable(p, d.token_endpoint, 1));
        FUZZ_CHECK(usable(p, d.userinfo_endpoint, 0) && usable(p, d.revocation_endpoint, 0));
    }
    else {
        FUZZ_CHECK(*why != '\0');
        FUZZ_CHECK(d.issuer == NULL && d.token_endpoint == NULL);
    }
    fuzz_pool_end(p);
    free(b);
    return 0;
}
