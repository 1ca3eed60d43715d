/* OpenID Connect discovery: a provider's metadata document (OpenID Connect Discovery 1.0), fetched and checked. */
#include "discovery.h"
#include "crypto.h"
#include "json.h"

#include <string.h>
#include <apr_strings.h>

#define SUFFIX_LEN (sizeof(BLINKAUTH_DISCOVERY_SUFFIX) - 1)

const char *blinkauth_discovery_expected_issuer(apr_pool_t *p, const char *url)
{
    apr_size_t n = strcspn(url, "?");

    if (n < SUFFIX_LEN || strncmp(url + n - SUFFIX_LEN, BLINKAUTH_DISCOVERY_SUFFIX, SUFFIX_LEN) != 0)
        return NULL;
    return apr_pstrmemdup(p, url, n - SUFFIX_LEN);
}

const char *blinkauth_discovery_check_url(apr_pool_t *p, const char *url)
{
    const char *why = blinkauth_config_check_backchannel_url(p, url);

    if (why == NULL && blinkauth_discovery_expected_issuer(p, url) == NULL)
        why = apr_psprintf(p, "'%s' is not a metadata URL: its path must end in " BLINKAUTH_DISCOVERY_SUFFIX, url);
    return why;
}

/* 1 when a and b are equal once one trailing '/' is dropped from each. */
static int same_issuer(const char *a, const char *b)
{
    apr_size_t na = strlen(a), nb = strlen(b);

    if (na > 0 && a[na - 1] == '/')
        na--;
    if (nb > 0 && b[nb - 1] == '/')
        nb--;
    return na == nb && strncmp(a, b, na) == 0;
}

/* Copies the string member name of doc into *out when it is a usable back-channel URL; NULL, or why not (absent
 * counts only when required). */
static const char *endpoint(apr_pool_t *p, const json_t *doc, const char *name, int required, const char **out)
{
    json_t *v = json_object_get(doc, name);
    const char *why;

    *out = NULL;
    if (v == NULL && !required)
        return NULL;
    if (!json_is_string(v))
        return apr_psprintf(p, "%s is %s", name, v ? "not a string" : "missing");
    if ((why = blinkauth_config_check_backchannel_url(p, json_string_value(v))) != NULL)
        return apr_psprintf(p, "%s: %s", name, why);
    *out = apr_pstrdup(p, json_string_value(v));
    return NULL;
}

/* NULL when the array member name of doc holds the string want (or is absent and optional); else why not. */
static const char *lists(apr_pool_t *p, const json_t *doc, const char *name, const char *want, int required)
{
    json_t *v = json_object_get(doc, name), *item;
    size_t i;

    if (v == NULL && !required)
        return NULL;
    if (!json_is_array(v))
        return apr_psprintf(p, "%s is %s", name, v ? "not an array" : "missing");
    json_array_foreach(v, i, item)
    {
        if (json_is_string(item) && strcmp(json_string_value(item), want) == 0)
            return NULL;
    }
    return apr_psprintf(p, "%s does not list \"%s\"", name, want);
}

const char *blinkauth_discovery_parse(apr_pool_t *p, const char *url, const char *text, apr_size_t len,
                                      blinkauth_discovery_t *out)
{
    const char *why = NULL, *expected = blinkauth_discovery_expected_issuer(p, url), *issuer;
    blinkauth_discovery_t d = {NULL, NULL, NULL, NULL, NULL};
    json_t *doc = blinkauth_json_parse(p, text, len, &why);

    if (doc == NULL)
        return apr_psprintf(p, "the document is %s", why);
    if (!json_is_object(doc))
        return "the document is not a JSON object";
    if (expected == NULL)
        return apr_psprintf(p, "the metadata URL does not end in " BLINKAUTH_DISCOVERY_SUFFIX);
    if ((issuer = blinkauth_json_string(doc, "issuer")) == NULL)
        return "issuer is missing or not a string";
    if (!same_issuer(issuer, expected))
        return apr_psprintf(p,
                            "issuer '%s' is not '%s', the metadata URL without " BLINKAUTH_DISCOVERY_SUFFIX
                            " (OpenID Connect Discovery 1.0, section 4.3)",
                            issuer, expected);
    d.issuer = apr_pstrdup(p, issuer);
    if ((why = endpoint(p, doc, "authorization_endpoint", 1, &d.authorization_endpoint)) ||
        (why = endpoint(p, doc, "token_endpoint", 1, &d.token_endpoint)) ||
        (why = endpoint(p, doc, "userinfo_endpoint", 0, &d.userinfo_endpoint)) ||
        (why = endpoint(p, doc, "revocation_endpoint", 0, &d.revocation_endpoint)) ||
        (why = lists(p, doc, "response_types_supported", "code", 1)) ||
        (why = lists(p, doc, "code_challenge_methods_supported", "S256", 0)))
        return why;
    *out = d;
    return NULL;
}

blinkauth_outcome_t blinkauth_discovery_fetch(apr_pool_t *p, const blinkauth_config_t *cfg, blinkauth_discovery_t *out,
                                              const char **text, apr_size_t *len)
{
    blinkauth_http_request_t req = blinkauth_upstream_request(cfg, "GET", cfg->metadata_url);
    blinkauth_http_response_t res;
    blinkauth_outcome_t outcome;
    const char *why;

    *text = NULL;
    *len = 0;
    req.endpoint = "metadata";
    blinkauth_http_call(p, &req, &res);
    outcome = blinkauth_upstream_outcome(p, NULL, "provider metadata", &req, &res, NULL);
    if (outcome.kind != BLINKAUTH_UP_OK)
        return outcome;
    if ((why = blinkauth_discovery_parse(p, cfg->metadata_url, res.body, res.body_len, out)) != NULL)
        return blinkauth_upstream_invalid(p, NULL, "provider metadata", &req, &res, why);
    *text = res.body;
    *len = res.body_len;
    return outcome;
}

const char *blinkauth_discovery_cache_name(apr_pool_t *p, const char *url)
{
    return apr_pstrcat(p, "blinkauth-discovery-", blinkauth_crypto_sha256_b64url(p, url), ".json", NULL);
}
