/* OpenID Connect discovery: a provider's metadata document (OpenID Connect Discovery 1.0), fetched and checked. */
#ifndef BLINKAUTH_DISCOVERY_H
#define BLINKAUTH_DISCOVERY_H

#include <apr_pools.h>
#include "config.h"
#include "upstream.h"

/* Where the metadata lives below an issuer. */
#define BLINKAUTH_DISCOVERY_SUFFIX "/.well-known/openid-configuration"

/* What the module takes from a provider's metadata; the optional endpoints are NULL when absent. */
typedef struct {
    const char *issuer;
    const char *authorization_endpoint;
    const char *token_endpoint;
    const char *userinfo_endpoint;   /* optional */
    const char *revocation_endpoint; /* optional */
} blinkauth_discovery_t;

/* NULL when url can be a BlinkAuthProviderMetadataURL: a back-channel URL (blinkauth_config_check_backchannel_url)
 * whose path ends in /.well-known/openid-configuration (a query string may follow); else why not. */
const char *blinkauth_discovery_check_url(apr_pool_t *p, const char *url);

/* The issuer the metadata at url must name: url without its query string and without
 * /.well-known/openid-configuration; NULL when url's path does not end so. */
const char *blinkauth_discovery_expected_issuer(apr_pool_t *p, const char *url);

/* Parses and checks the metadata document text (len bytes) fetched from url, as mod_auth_openidc does: a JSON object;
 * issuer a string equal to blinkauth_discovery_expected_issuer(url), one trailing '/' more or less ignored;
 * authorization_endpoint and token_endpoint present, userinfo_endpoint and revocation_endpoint optional, each a
 * back-channel URL (https://, or http:// to a loopback host); response_types_supported an array holding "code";
 * code_challenge_methods_supported, when present, an array holding "S256". NULL with *out filled (copies in p), or
 * one sentence saying what is wrong. */
const char *blinkauth_discovery_parse(apr_pool_t *p, const char *url, const char *text, apr_size_t len,
                                      blinkauth_discovery_t *out);

/* Fetches cfg->metadata_url (GET, with cfg's timeout and CA file, at most BLINKAUTH_HTTP_MAX_BODY bytes) and checks
 * it with blinkauth_discovery_parse into *out; *text (NUL-terminated) and *len get the document as fetched, to be
 * cached. The outcome's sentence names the URL, the status or error, and what was wrong with the document. */
blinkauth_outcome_t blinkauth_discovery_fetch(apr_pool_t *p, const blinkauth_config_t *cfg, blinkauth_discovery_t *out,
                                              const char **text, apr_size_t *len);

/* The name of url's cache file (no folder): "blinkauth-discovery-" base64url(SHA-256(url)) ".json". */
const char *blinkauth_discovery_cache_name(apr_pool_t *p, const char *url);

#endif
