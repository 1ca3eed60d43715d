/* Unit tests of modules/discovery.c: the metadata URL, the document's checks, the fetch against the loopback server. */
#include <string.h>

#include <apr_strings.h>
#include <jansson.h>

#include "unit.h"
#include "discovery.h"
#include "http.h"

#define URL "https://idp.example/.well-known/openid-configuration"

/* A provider's metadata that passes every check, for URL. */
static const char *const GOOD = "{\"issuer\":\"https://idp.example\","
                                "\"authorization_endpoint\":\"https://idp.example/oauth/authorize\","
                                "\"token_endpoint\":\"https://idp.example/oauth/token\","
                                "\"userinfo_endpoint\":\"https://idp.example/userinfo\","
                                "\"revocation_endpoint\":\"https://idp.example/oauth/revoke\","
                                "\"jwks_uri\":\"https://idp.example/jwks\","
                                "\"response_types_supported\":[\"code\",\"id_token\"],"
                                "\"code_challenge_methods_supported\":[\"plain\",\"S256\"],"
                                "\"subject_types_supported\":[\"public\"]}";

/* GOOD with member name set to the JSON value json, or removed when json is NULL. */
static const char *good_with(const char *name, const char *json)
{
    json_t *doc = json_loads(GOOD, 0, NULL);
    char *text, *copy;

    ck_assert_ptr_nonnull(doc);
    if (json)
        ck_assert_int_eq(json_object_set_new(doc, name, json_loads(json, JSON_DECODE_ANY, NULL)), 0);
    else
        ck_assert_int_eq(json_object_del(doc, name), 0);
    text = json_dumps(doc, JSON_COMPACT);
    copy = apr_pstrdup(unit_pool, text);
    free(text);
    json_decref(doc);
    return copy;
}

/* Parses text as the metadata at url; NULL or why not, with *out filled on success. */
static const char *parse_at(const char *url, const char *text, blinkauth_discovery_t *out)
{
    memset(out, 0, sizeof(*out));
    return blinkauth_discovery_parse(unit_pool, url, text, strlen(text), out);
}

/* Asserts that text is refused as the metadata at URL, for a reason containing part. */
static void assert_refused(const char *text, const char *part)
{
    blinkauth_discovery_t d;
    const char *why = parse_at(URL, text, &d);

    ck_assert_msg(why != NULL, "accepted %s", text);
    ck_assert_msg(strstr(why, part) != NULL, "\"%s\" does not say \"%s\" (document %s)", why, part, text);
}

/* Asserts that text is accepted as the metadata at URL; returns what was read. */
static blinkauth_discovery_t assert_accepted(const char *url, const char *text)
{
    blinkauth_discovery_t d;
    const char *why = parse_at(url, text, &d);

    ck_assert_msg(why == NULL, "refused %s: %s", text, why);
    return d;
}

START_TEST(test_expected_issuer)
{
    static const struct {
        const char *url, *issuer;
    } cases[] = {
        {URL, "https://idp.example"},
        {"https://idp.example/tenant/v2.0/.well-known/openid-configuration", "https://idp.example/tenant/v2.0"},
        {"https://idp.example/t/.well-known/openid-configuration?p=B2C_1", "https://idp.example/t"},
        {"http://127.0.0.1:8081/.well-known/openid-configuration", "http://127.0.0.1:8081"},
        {"https://idp.example/openid-configuration", NULL},
        {"https://idp.example/.well-known/openid-configuration/x", NULL},
        {"https://idp.example/.well-known/oauth-authorization-server", NULL},
        {"https://idp.example/?x=/.well-known/openid-configuration", NULL},
    };
    int i;

    for (i = 0; i < UNIT_COUNT(cases); i++)
        ck_assert_pstr_eq(blinkauth_discovery_expected_issuer(unit_pool, cases[i].url), cases[i].issuer);
}
END_TEST

START_TEST(test_check_url)
{
    static const struct {
        const char *url, *says; /* says NULL: accepted */
    } cases[] = {
        {URL, NULL},
        {"https://idp.example/tenant/.well-known/openid-configuration?p=x", NULL},
        {"http://127.0.0.1:8081/.well-known/openid-configuration", NULL},
        {"http://localhost/.well-known/openid-configuration", NULL},
        {"http://[::1]:9/.well-known/openid-configuration", NULL},
        {"http://idp.example/.well-known/openid-configuration", "would carry secrets"},
        {"http://127.0.0.1.nip.io/.well-known/openid-configuration", "would carry secrets"},
        {"https://idp.example/metadata.json", "is not a metadata URL: its path must end in "
                                              "/.well-known/openid-configuration"},
        {"ftp://idp.example/.well-known/openid-configuration", "not an absolute http"},
        {"https://idp.example/.well-known/openid-configuration#x", "#fragment"},
    };
    int i;

    for (i = 0; i < UNIT_COUNT(cases); i++) {
        const char *why = blinkauth_discovery_check_url(unit_pool, cases[i].url);
        if (cases[i].says == NULL)
            ck_assert_msg(why == NULL, "refused %s: %s", cases[i].url, why);
        else
            ck_assert_msg(why != NULL && strstr(why, cases[i].says) != NULL, "%s: \"%s\" does not say \"%s\"",
                          cases[i].url, why ? why : "(accepted)", cases[i].says);
    }
}
END_TEST

START_TEST(test_parse_good)
{
    blinkauth_discovery_t d = assert_accepted(URL, GOOD);

    ck_assert_str_eq(d.issuer, "https://idp.example");
    ck_assert_str_eq(d.authorization_endpoint, "https://idp.example/oauth/authorize");
    ck_assert_str_eq(d.token_endpoint, "https://idp.example/oauth/token");
    ck_assert_str_eq(d.userinfo_endpoint, "https://idp.example/userinfo");
    ck_assert_str_eq(d.revocation_endpoint, "https://idp.example/oauth/revoke");
}
END_TEST

START_TEST(test_parse_accepts)
{
    blinkauth_discovery_t d;

    /* One trailing '/' more or less on either side is the same issuer. */
    d = assert_accepted(URL, good_with("issuer", "\"https://idp.example/\""));
    ck_assert_str_eq(d.issuer, "https://idp.example/");
    assert_accepted("https://idp.example/t/.well-known/openid-configuration",
                    good_with("issuer", "\"https://idp.example/t/\""));
    /* userinfo and revocation are optional. */
    d = assert_accepted(URL, good_with("userinfo_endpoint", NULL));
    ck_assert_ptr_null(d.userinfo_endpoint);
    d = assert_accepted(URL, good_with("revocation_endpoint", NULL));
    ck_assert_ptr_null(d.revocation_endpoint);
    /* No code_challenge_methods_supported says nothing about PKCE: accepted (mod_auth_openidc does the same). */
    assert_accepted(URL, good_with("code_challenge_methods_supported", NULL));
    assert_accepted(URL, good_with("code_challenge_methods_supported", "[\"S256\"]"));
    /* http:// endpoints on a loopback host. */
    d = assert_accepted(URL, good_with("token_endpoint", "\"http://127.0.0.1:8081/token\""));
    ck_assert_str_eq(d.token_endpoint, "http://127.0.0.1:8081/token");
    assert_accepted(URL, good_with("authorization_endpoint", "\"http://localhost/auth\""));
    assert_accepted(URL, good_with("userinfo_endpoint", "\"http://[::1]:8081/me\""));
    /* Members the module does not use are ignored, whatever their type. */
    assert_accepted(URL, good_with("jwks_uri", "42"));
    assert_accepted(URL, good_with("claims_supported", "{\"x\":null}"));
    /* The endpoints may carry a query string of their own. */
    d = assert_accepted(URL, good_with("authorization_endpoint", "\"https://idp.example/auth?tenant=t\""));
    ck_assert_str_eq(d.authorization_endpoint, "https://idp.example/auth?tenant=t");
}
END_TEST

START_TEST(test_parse_refuses)
{
    static const struct {
        const char *member, *json, *says; /* json NULL: the member is removed */
    } cases[] = {
        {"issuer", "\"https://other.example\"",
         "issuer 'https://other.example' is not 'https://idp.example', the metadata URL without "
         "/.well-known/openid-configuration"},
        {"issuer", "\"https://idp.example//\"", "is not 'https://idp.example'"},
        {"issuer", "\"https://IDP.example\"", "is not 'https://idp.example'"},
        {"issuer", "\"https://idp.example/tenant\"", "is not 'https://idp.example'"},
        {"issuer", NULL, "issuer is missing or not a string"},
        {"issuer", "123", "issuer is missing or not a string"},
        {"authorization_endpoint", NULL, "authorization_endpoint is missing"},
        {"authorization_endpoint", "\"http://idp.example/auth\"",
         "authorization_endpoint: 'http://idp.example/auth' would carry secrets"},
        {"token_endpoint", NULL, "token_endpoint is missing"},
        {"token_endpoint", "[\"https://idp.example/token\"]", "token_endpoint is not a string"},
        {"token_endpoint", "\"http://idp.example/token\"", "token_endpoint: 'http://idp.example/token' would carry"},
        {"token_endpoint", "\"http://127.0.0.1.nip.io/token\"", "token_endpoint: 'http://127.0.0.1.nip.io/token'"},
        {"token_endpoint", "\"/token\"", "token_endpoint: '/token' is not an absolute http"},
        {"token_endpoint", "\"https://idp.example/token#x\"", "#fragment"},
        {"token_endpoint", "\"\"", "token_endpoint: '' is not an absolute"},
        {"userinfo_endpoint", "\"http://idp.example/me\"", "userinfo_endpoint: 'http://idp.example/me' would carry"},
        {"userinfo_endpoint", "null", "userinfo_endpoint is not a string"},
        {"revocation_endpoint", "\"ftp://idp.example/revoke\"", "revocation_endpoint: 'ftp://idp.example/revoke'"},
        {"response_types_supported", NULL, "response_types_supported is missing"},
        {"response_types_supported", "\"code\"", "response_types_supported is not an array"},
        {"response_types_supported", "[\"id_token\",\"code id_token\"]",
         "response_types_supported does not list \"code\""},
        {"response_types_supported", "[]", "response_types_supported does not list \"code\""},
        {"code_challenge_methods_supported", "[\"plain\"]", "code_challenge_methods_supported does not list \"S256\""},
        {"code_challenge_methods_supported", "[]", "does not list \"S256\""},
        {"code_challenge_methods_supported", "\"S256\"", "code_challenge_methods_supported is not an array"},
    };
    int i;

    for (i = 0; i < UNIT_COUNT(cases); i++)
        assert_refused(good_with(cases[i].member, cases[i].json), cases[i].says);
}
END_TEST

START_TEST(test_parse_not_a_document)
{
    blinkauth_discovery_t d;

    assert_refused("", "the document is not JSON");
    assert_refused("{", "the document is not JSON");
    assert_refused("<html>Sign in</html>", "the document is not JSON");
    assert_refused("{\"issuer\":\"https://idp.example\",\"issuer\":\"https://idp.example\"}",
                   "the document is not JSON");
    assert_refused(apr_pstrcat(unit_pool, GOOD, " {}", NULL), "the document is not JSON");
    assert_refused("[]", "the document is not a JSON object");
    assert_refused("\"https://idp.example\"", "the document is not a JSON object");
    assert_refused("null", "the document is not a JSON object");
    /* A document checked against a URL that is no metadata URL at all. */
    ck_assert_ptr_nonnull(strstr(parse_at("https://idp.example/metadata", GOOD, &d), "does not end in"));
}
END_TEST

START_TEST(test_cache_name)
{
    const char *a = blinkauth_discovery_cache_name(unit_pool, URL);
    const char *b = blinkauth_discovery_cache_name(unit_pool, "https://idp.example/t/.well-known/openid-configuration");

    ck_assert_str_eq(a, blinkauth_discovery_cache_name(unit_pool, URL));
    ck_assert_str_ne(a, b);
    ck_assert_uint_eq(strlen(a), strlen("blinkauth-discovery-") + 43 + strlen(".json"));
    ck_assert_int_eq(strncmp(a, "blinkauth-discovery-", 20), 0);
    ck_assert_str_eq(a + strlen(a) - 5, ".json");
    ck_assert_uint_eq(strspn(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_."), strlen(a));
}
END_TEST

/* --- The fetch, against the loopback server. */

/* A buffer the loopback server answers from: filled once its port (which the issuer names) is known. */
static char *answer;
#define ANSWER_MAX 8192

/* Starts the loopback server answering from the buffer; returns a configuration whose metadata URL is on it. */
static blinkauth_config_t *serve_metadata(void)
{
    blinkauth_config_t *cfg = blinkauth_config_create(unit_pool, "/blink");

    answer = apr_pcalloc(unit_pool, ANSWER_MAX);
    strcpy(answer, "HTTP/1.1 500 X\r\nContent-Length: 0\r\n\r\n");
    unit_serve(HS_REPLY, answer);
    cfg->metadata_url = unit_server_url(BLINKAUTH_DISCOVERY_SUFFIX);
    cfg->timeout = 5;
    return cfg;
}

/* The loopback server's base URL, the issuer of its metadata. */
static const char *base(void)
{
    return unit_server_url("");
}

/* Makes the loopback server answer status with body. */
static void answer_with(int status, const char *body)
{
    apr_snprintf(answer, ANSWER_MAX, "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
                 status, (int)strlen(body), body);
}

/* The loopback server's own metadata: its endpoints, issuer its base URL. */
static const char *own_metadata(const char *issuer)
{
    return apr_psprintf(
        unit_pool,
        "{\"issuer\":\"%s\",\"authorization_endpoint\":\"%s/authorize\",\"token_endpoint\":\"%s/token\","
        "\"response_types_supported\":[\"code\"]}",
        issuer, base(), base());
}

START_TEST(test_fetch_good)
{
    blinkauth_config_t *cfg = serve_metadata();
    const char *doc = own_metadata(base()), *text = NULL;
    blinkauth_discovery_t d;
    blinkauth_outcome_t out;
    const hs_request_t *req;
    apr_size_t len = 0;

    answer_with(200, doc);
    out = blinkauth_discovery_fetch(unit_pool, cfg, &d, &text, &len);
    ck_assert_msg(out.kind == BLINKAUTH_UP_OK, "%s", out.why);
    ck_assert_ptr_nonnull(
        strstr(out.why, apr_psprintf(unit_pool, "provider metadata (GET %s) answered HTTP 200", cfg->metadata_url)));
    ck_assert_str_eq(d.issuer, base());
    ck_assert_str_eq(d.authorization_endpoint, apr_pstrcat(unit_pool, base(), "/authorize", NULL));
    ck_assert_str_eq(d.token_endpoint, apr_pstrcat(unit_pool, base(), "/token", NULL));
    ck_assert_ptr_null(d.userinfo_endpoint);
    ck_assert_ptr_null(d.revocation_endpoint);
    ck_assert_str_eq(text, doc);
    ck_assert_uint_eq(len, strlen(doc));
    ck_assert_int_eq(hs_request_count(unit_server), 1);
    req = hs_request(unit_server, 0);
    ck_assert_str_eq(req->method, "GET");
    ck_assert_str_eq(req->path, BLINKAUTH_DISCOVERY_SUFFIX);
    ck_assert_pstr_eq(hs_header(req, "Accept"), "application/json");
}
END_TEST

START_TEST(test_fetch_refused_document)
{
    blinkauth_config_t *cfg = serve_metadata();
    const char *text = "unset";
    blinkauth_discovery_t d;
    blinkauth_outcome_t out;
    apr_size_t len = 7;

    answer_with(200, own_metadata("https://idp.example"));
    out = blinkauth_discovery_fetch(unit_pool, cfg, &d, &text, &len);
    ck_assert_int_eq(out.kind, BLINKAUTH_UP_FAILED);
    ck_assert_int_eq(out.status, 200);
    ck_assert_msg(strstr(out.why, apr_psprintf(unit_pool,
                                               "provider metadata (GET %s) answered HTTP 200 with an unusable body "
                                               "(issuer 'https://idp.example' is not '%s'",
                                               cfg->metadata_url, base())) != NULL,
                  "%s", out.why);
    ck_assert_ptr_null(text);
    ck_assert_uint_eq(len, 0);
    answer_with(200, "<html>maintenance</html>");
    out = blinkauth_discovery_fetch(unit_pool, cfg, &d, &text, &len);
    ck_assert_int_eq(out.kind, BLINKAUTH_UP_FAILED);
    ck_assert_msg(strstr(out.why, "unusable body (the document is not JSON") != NULL, "%s", out.why);
}
END_TEST

START_TEST(test_fetch_http_errors)
{
    blinkauth_config_t *cfg = serve_metadata();
    const char *text;
    blinkauth_discovery_t d;
    blinkauth_outcome_t out;
    apr_size_t len;

    answer_with(404, "{}");
    out = blinkauth_discovery_fetch(unit_pool, cfg, &d, &text, &len);
    ck_assert_int_eq(out.kind, BLINKAUTH_UP_NOT_FOUND);
    ck_assert_msg(strstr(out.why, "answered HTTP 404") != NULL, "%s", out.why);
    answer_with(500, own_metadata(base()));
    out = blinkauth_discovery_fetch(unit_pool, cfg, &d, &text, &len);
    ck_assert_int_eq(out.kind, BLINKAUTH_UP_FAILED);
    ck_assert_msg(strstr(out.why, "answered HTTP 500") != NULL, "%s", out.why);
    /* A redirect is not followed. */
    apr_snprintf(answer, ANSWER_MAX, "HTTP/1.1 302 X\r\nLocation: %s/elsewhere\r\nContent-Length: 0\r\n\r\n", base());
    out = blinkauth_discovery_fetch(unit_pool, cfg, &d, &text, &len);
    ck_assert_int_eq(out.kind, BLINKAUTH_UP_FAILED);
    ck_assert_msg(strstr(out.why, "answered HTTP 302") != NULL, "%s", out.why);
    ck_assert_int_eq(hs_request_count(unit_server), 3);
}
END_TEST

START_TEST(test_fetch_too_large)
{
    blinkauth_config_t *cfg = serve_metadata();
    apr_size_t big = BLINKAUTH_HTTP_MAX_BODY + 1;
    const char *text;
    blinkauth_discovery_t d;
    blinkauth_outcome_t out;
    apr_size_t len;

    /* Announced larger than 1 MiB: refused from the headers alone. */
    apr_snprintf(answer, ANSWER_MAX, "HTTP/1.1 200 X\r\nContent-Length: %" APR_SIZE_T_FMT "\r\n\r\n{", big);
    out = blinkauth_discovery_fetch(unit_pool, cfg, &d, &text, &len);
    ck_assert_int_eq(out.kind, BLINKAUTH_UP_FAILED);
    ck_assert_msg(strstr(out.why, "response too large: the body exceeds 1048576 bytes after ") != NULL, "%s", out.why);
}
END_TEST

START_TEST(test_fetch_refused_connection)
{
    blinkauth_config_t *cfg = blinkauth_config_create(unit_pool, "/blink");
    const char *text;
    blinkauth_discovery_t d;
    blinkauth_outcome_t out;
    apr_size_t len;

    cfg->metadata_url = apr_psprintf(unit_pool, "http://127.0.0.1:%d" BLINKAUTH_DISCOVERY_SUFFIX, hs_unused_port());
    cfg->timeout = 2;
    out = blinkauth_discovery_fetch(unit_pool, cfg, &d, &text, &len);
    ck_assert_int_eq(out.kind, BLINKAUTH_UP_FAILED);
    ck_assert_int_eq(out.status, 0);
    ck_assert_msg(strstr(out.why, apr_psprintf(unit_pool, "provider metadata (GET %s): Failed to connect to ",
                                               cfg->metadata_url)) != NULL,
                  "%s", out.why);
}
END_TEST

START_TEST(test_fetch_timeout)
{
    blinkauth_config_t *cfg = blinkauth_config_create(unit_pool, "/blink");
    const char *text;
    blinkauth_discovery_t d;
    blinkauth_outcome_t out;
    apr_size_t len;
    apr_time_t began = apr_time_now();

    unit_serve(HS_HANG, NULL);
    cfg->metadata_url = unit_server_url(BLINKAUTH_DISCOVERY_SUFFIX);
    cfg->timeout = 1;
    out = blinkauth_discovery_fetch(unit_pool, cfg, &d, &text, &len);
    ck_assert_int_eq(out.kind, BLINKAUTH_UP_TIMEOUT);
    ck_assert_int_lt(apr_time_now() - began, apr_time_from_sec(3));
}
END_TEST

/* Runs the discovery suite. */
int main(void)
{
    Suite *s = suite_create("discovery");

    unit_add_tcase(s, "document", NULL, NULL,
                   UNIT_TESTS(test_expected_issuer, test_check_url, test_parse_good, test_parse_accepts,
                              test_parse_refuses, test_parse_not_a_document, test_cache_name));
    unit_add_tcase(s, "fetch", NULL, unit_server_teardown,
                   UNIT_TESTS(test_fetch_good, test_fetch_refused_document, test_fetch_http_errors,
                              test_fetch_too_large, test_fetch_refused_connection, test_fetch_timeout));
    return unit_run_http(s);
}
