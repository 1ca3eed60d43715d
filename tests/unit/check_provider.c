/* Unit tests of modules/provider.c: the authorization URL, id_token claims, and the token, userinfo and
 * revocation endpoints against the loopback server of http_server.c. */
#include <string.h>
#include <apr_strings.h>

#include "unit.h"
#include "provider.h"
#include "crypto.h"
#include "http.h"
#include "http_server.h"
#include "json.h"
#include "text.h"

/* The query every test expects after the authorize URL, for the values of authz(). */
#define QUERY                                                                                                          \
    "response_type=code&client_id=my-client"                                                                           \
    "&redirect_uri=https%3A%2F%2Fapps.example.com%2Fblink%2Fcallback&scope=openid%20email%20offline_access"            \
    "&state=St4te-_x&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"

/* Typical parameters, with the given authorize URL. */
static blinkauth_provider_authz_t authz(const char *authorize_url)
{
    blinkauth_provider_authz_t a = {
        .authorize_url = authorize_url,
        .client_id = "my-client",
        .redirect_uri = "https://apps.example.com/blink/callback",
        .scope = "openid email offline_access",
        .state = "St4te-_x",
        .code_challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    };
    return a;
}

/* The authorization URL of a. */
static const char *url_of(const blinkauth_provider_authz_t *a)
{
    return blinkauth_provider_authorize_url(unit_pool, a);
}

/* Asserts that the typical parameters with authorize_url give want. */
static void assert_authorize_url(const char *authorize_url, const char *want)
{
    blinkauth_provider_authz_t a = authz(authorize_url);

    ck_assert_str_eq(url_of(&a), want);
}

START_TEST(test_no_query)
{
    assert_authorize_url("https://idp.example/oauth/authorize", "https://idp.example/oauth/authorize?" QUERY);
}
END_TEST

START_TEST(test_existing_query_kept)
{
    assert_authorize_url("https://idp.example/oauth/authorize?a=b", "https://idp.example/oauth/authorize?a=b&" QUERY);
    assert_authorize_url("https://idp.example/authorize?tenant=x%20y&prompt=consent",
                         "https://idp.example/authorize?tenant=x%20y&prompt=consent&" QUERY);
}
END_TEST

START_TEST(test_url_ending_in_question_mark)
{
    assert_authorize_url("https://idp.example/oauth/authorize?", "https://idp.example/oauth/authorize?" QUERY);
}
END_TEST

START_TEST(test_url_ending_in_ampersand)
{
    assert_authorize_url("https://idp.example/oauth/authorize?a=b&", "https://idp.example/oauth/authorize?a=b&" QUERY);
}
END_TEST

START_TEST(test_values_percent_encoded)
{
    blinkauth_provider_authz_t a = authz("https://idp.example/authorize");

    a.client_id = "my client&x=y";
    a.redirect_uri = "https://apps.example.com/blink/callback?k=v#f";
    a.scope = "read:user caf\xc3\xa9";
    a.state = "s+t/u";
    a.code_challenge = "c%d";
    ck_assert_str_eq(url_of(&a), "https://idp.example/authorize?response_type=code"
                                 "&client_id=my%20client%26x%3Dy"
                                 "&redirect_uri=https%3A%2F%2Fapps.example.com%2Fblink%2Fcallback%3Fk%3Dv%23f"
                                 "&scope=read%3Auser%20caf%C3%A9"
                                 "&state=s%2Bt%2Fu&code_challenge=c%25d&code_challenge_method=S256");
}
END_TEST

START_TEST(test_scope_omitted_when_null)
{
    blinkauth_provider_authz_t a = authz("https://idp.example/authorize");
    const char *url;

    a.scope = NULL;
    url = url_of(&a);
    ck_assert_str_eq(url, "https://idp.example/authorize?response_type=code&client_id=my-client"
                          "&redirect_uri=https%3A%2F%2Fapps.example.com%2Fblink%2Fcallback"
                          "&state=St4te-_x&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
                          "&code_challenge_method=S256");
    ck_assert_ptr_null(strstr(url, "scope"));
}
END_TEST

START_TEST(test_parameter_order)
{
    blinkauth_provider_authz_t a = authz("https://idp.example/authorize");
    static const char *names[] = {"?response_type=", "&client_id=",      "&redirect_uri=",         "&scope=",
                                  "&state=",         "&code_challenge=", "&code_challenge_method="};
    const char *url = url_of(&a), *at, *prev = url;
    int i;

    for (i = 0; i < UNIT_COUNT(names); i++) {
        at = strstr(url, names[i]);
        ck_assert_msg(at != NULL, "%s missing", names[i]);
        ck_assert_msg(at > prev || (i == 0 && at >= prev), "%s out of order", names[i]);
        ck_assert_ptr_null(strstr(at + 1, names[i])); /* exactly once */
        prev = at;
    }
}
END_TEST

START_TEST(test_input_not_modified)
{
    blinkauth_provider_authz_t a = authz("https://idp.example/authorize?a=b");

    url_of(&a);
    ck_assert_str_eq(a.authorize_url, "https://idp.example/authorize?a=b");
    ck_assert_str_eq(a.client_id, "my-client");
    ck_assert_str_eq(a.scope, "openid email offline_access");
}
END_TEST

/* A JWT with the given JSON payload (header and signature are not looked at). */
static const char *jwt(const char *payload)
{
    const char *header = "{\"alg\":\"RS256\",\"typ\":\"JWT\"}";

    return apr_pstrcat(unit_pool,
                       blinkauth_crypto_b64url_encode(unit_pool, (const unsigned char *)header, strlen(header)), ".",
                       blinkauth_crypto_b64url_encode(unit_pool, (const unsigned char *)payload, strlen(payload)),
                       ".c2lnbmF0dXJl", NULL);
}

/* A JSON object parsed from text, released with unit_pool. */
static json_t *obj(const char *text)
{
    json_error_t err;
    json_t *j = json_loads(text, 0, &err);

    ck_assert_msg(j != NULL, "bad test JSON: %s", err.text);
    return blinkauth_json_bind(unit_pool, j);
}

/* Asserts that id_token is refused for client "my-client" with a reason containing part. */
static void assert_claims_refused(const char *id_token, const char *part)
{
    const char *why = NULL;

    ck_assert_msg(blinkauth_provider_id_token_claims(unit_pool, id_token, "my-client", &why) == NULL, "accepted %s",
                  id_token);
    ck_assert_ptr_nonnull(why);
    ck_assert_msg(strstr(why, part) != NULL, "\"%s\" does not say \"%s\"", why, part);
}

START_TEST(test_claim_string_and_integer)
{
    json_t *c = obj("{\"sub\":\"248289761001\",\"email\":\"j@example.com\",\"uid\":12345,\"neg\":-7}");

    ck_assert_pstr_eq(blinkauth_provider_claim(unit_pool, c, "sub"), "248289761001");
    ck_assert_pstr_eq(blinkauth_provider_claim(unit_pool, c, "email"), "j@example.com");
    ck_assert_pstr_eq(blinkauth_provider_claim(unit_pool, c, "uid"), "12345");
    ck_assert_pstr_eq(blinkauth_provider_claim(unit_pool, c, "neg"), "-7");
}
END_TEST

START_TEST(test_claim_unusable)
{
    json_t *c = obj("{\"real\":1.5,\"t\":true,\"n\":null,\"o\":{},\"a\":[\"x\"],\"e\":\"\",\"nl\":\"a\\nb\","
                    "\"del\":\"a\\u007f\"}");
    static const char *names[] = {"real", "t", "n", "o", "a", "e", "nl", "del", "absent"};
    int i;

    for (i = 0; i < UNIT_COUNT(names); i++)
        ck_assert_msg(blinkauth_provider_claim(unit_pool, c, names[i]) == NULL, "accepted claim %s", names[i]);
    ck_assert_ptr_null(blinkauth_provider_claim(unit_pool, obj("[\"sub\"]"), "sub"));
    ck_assert_ptr_null(blinkauth_provider_claim(unit_pool, NULL, "sub"));
}
END_TEST

START_TEST(test_claim_length)
{
    json_t *c = json_object();

    blinkauth_json_bind(unit_pool, c);
    json_object_set_new(c, "max", json_string(unit_filled(BLINKAUTH_ACCOUNT_ID_MAX, 'x')));
    json_object_set_new(c, "over", json_string(unit_filled(BLINKAUTH_ACCOUNT_ID_MAX + 1, 'x')));
    ck_assert_pstr_eq(blinkauth_provider_claim(unit_pool, c, "max"), unit_filled(BLINKAUTH_ACCOUNT_ID_MAX, 'x'));
    ck_assert_ptr_null(blinkauth_provider_claim(unit_pool, c, "over"));
}
END_TEST

START_TEST(test_id_token_claims)
{
    const char *why = NULL;
    json_t *c = blinkauth_provider_id_token_claims(
        unit_pool, jwt("{\"iss\":\"https://idp.example\",\"aud\":\"my-client\",\"sub\":\"u1\"}"), "my-client", &why);

    ck_assert_ptr_nonnull(c);
    ck_assert_ptr_null(why);
    ck_assert_pstr_eq(blinkauth_provider_claim(unit_pool, c, "sub"), "u1");
    c = blinkauth_provider_id_token_claims(unit_pool, jwt("{\"aud\":[\"other\",\"my-client\"],\"sub\":\"u2\"}"),
                                           "my-client", &why);
    ck_assert_ptr_nonnull(c);
    ck_assert_pstr_eq(blinkauth_provider_claim(unit_pool, c, "sub"), "u2");
}
END_TEST

START_TEST(test_id_token_wrong_audience)
{
    assert_claims_refused(jwt("{\"aud\":\"other\",\"sub\":\"u\"}"), "aud does not name BlinkAuthClientID");
    assert_claims_refused(jwt("{\"aud\":\"my-client2\",\"sub\":\"u\"}"), "aud does not name");
    assert_claims_refused(jwt("{\"aud\":[\"other\"],\"sub\":\"u\"}"), "aud does not name");
    assert_claims_refused(jwt("{\"aud\":[],\"sub\":\"u\"}"), "aud does not name");
    assert_claims_refused(jwt("{\"aud\":7,\"sub\":\"u\"}"), "aud does not name");
    assert_claims_refused(jwt("{\"sub\":\"u\"}"), "aud does not name");
}
END_TEST

START_TEST(test_id_token_not_a_jwt)
{
    const char *ok = jwt("{\"aud\":\"my-client\"}");

    assert_claims_refused("", "not a JWT");
    assert_claims_refused("abc", "not a JWT");
    assert_claims_refused("a.b", "not a JWT");
    assert_claims_refused(apr_pstrcat(unit_pool, ok, ".x", NULL), "not a JWT");
    assert_claims_refused("a.!!!.c", "payload is not a base64url JSON object");
    assert_claims_refused("a.eyJhdWQiOiJteS1jbGllbnQifQ==.c", "payload is not a base64url JSON object");
    assert_claims_refused(jwt("[\"my-client\"]"), "payload is not a base64url JSON object");
    assert_claims_refused(jwt("{\"aud\":\"my-client\"} x"), "payload is not a base64url JSON object");
    assert_claims_refused(jwt("{\"aud\":\"other\",\"aud\":\"my-client\"}"), "payload is not a base64url JSON object");
}
END_TEST

/* A raw HTTP/1.1 response with a JSON (or other) body. */
static const char *reply(int status, const char *body)
{
    return apr_psprintf(
        unit_pool, "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %" APR_SIZE_T_FMT "\r\n\r\n%s",
        status, strlen(body), body);
}

/* Starts the loopback server answering every request with raw. */
static void serve(const char *raw)
{
    unit_serve(HS_REPLY, raw);
}

/* A complete configuration whose endpoints are on the loopback server (started first). */
static blinkauth_config_t *loopback_config(int confidential)
{
    blinkauth_config_t *cfg = blinkauth_config_create(unit_pool, "/blink");

    cfg->auth_id = "a-1234";
    cfg->client_id = "my-client";
    cfg->client_secret = confidential ? "s3cret" : NULL;
    cfg->authorize_url = unit_server_url("/authorize");
    cfg->token_url = unit_server_url("/token");
    cfg->revoke_url = unit_server_url("/revoke");
    cfg->timeout = 5;
    return cfg;
}

/* The one request the server received. */
static const hs_request_t *only_request(void)
{
    ck_assert_int_eq(hs_request_count(unit_server), 1);
    return hs_request(unit_server, 0);
}

/* Exchanges the code "c/d" with verifier "v" for cfg. */
static blinkauth_outcome_t exchange(const blinkauth_config_t *cfg, blinkauth_tokens_t *tokens)
{
    memset(tokens, 0, sizeof(*tokens));
    return blinkauth_provider_code_exchange(unit_pool, cfg, "c/d", "https://apps.example.com/blink/callback", "v",
                                            tokens);
}

/* Asserts a failed outcome whose sentence contains part. */
static void assert_failed(blinkauth_outcome_t out, blinkauth_up_kind_t kind, long status, const char *part)
{
    ck_assert_int_eq(out.kind, kind);
    ck_assert_int_eq(out.status, status);
    ck_assert_ptr_nonnull(out.why);
    ck_assert_msg(strstr(out.why, part) != NULL, "\"%s\" does not say \"%s\"", out.why, part);
}

/* blinkauth_provider_identify without a nonce, its account id into *id. */
static blinkauth_outcome_t account_id(const blinkauth_config_t *cfg, const blinkauth_tokens_t *t, const char **id)
{
    blinkauth_identity_t who;
    blinkauth_outcome_t out = blinkauth_provider_identify(unit_pool, cfg, t, NULL, &who);

    *id = who.account_id;
    return out;
}

/* Asserts that cfg finds no account identifier in t: a failure with status whose sentence contains part, and the
 * identifier set to NULL. */
static void assert_no_account_id(const blinkauth_config_t *cfg, const blinkauth_tokens_t *t, long status,
                                 const char *part)
{
    const char *id = "unset";

    assert_failed(account_id(cfg, t, &id), BLINKAUTH_UP_FAILED, status, part);
    ck_assert_ptr_null(id);
}

START_TEST(test_code_exchange_confidential)
{
    blinkauth_tokens_t t;
    blinkauth_outcome_t out;
    const hs_request_t *r;

    serve(reply(200, "{\"access_token\":\"at\",\"refresh_token\":\"rt\",\"id_token\":\"it\",\"token_type\":\"Bearer\","
                     "\"expires_in\":3600,\"scope\":\"openid\"}"));
    out = exchange(loopback_config(1), &t);
    ck_assert_int_eq(out.kind, BLINKAUTH_UP_OK);
    ck_assert_int_eq(out.status, 200);
    ck_assert_pstr_eq(t.access_token, "at");
    ck_assert_pstr_eq(t.refresh_token, "rt");
    ck_assert_pstr_eq(t.id_token, "it");
    ck_assert_int_eq(t.expires_in, 3600);
    r = only_request();
    ck_assert_str_eq(r->method, "POST");
    ck_assert_str_eq(r->path, "/token");
    ck_assert_pstr_eq(hs_header(r, "Content-Type"), "application/x-www-form-urlencoded");
    ck_assert_pstr_eq(hs_header(r, "Accept"), "application/json");
    ck_assert_pstr_eq(hs_header(r, "Authorization"), "Basic bXktY2xpZW50OnMzY3JldA==");
    ck_assert_str_eq(r->body, "grant_type=authorization_code&code=c%2Fd"
                              "&redirect_uri=https%3A%2F%2Fapps.example.com%2Fblink%2Fcallback&code_verifier=v");
}
END_TEST

START_TEST(test_code_exchange_public_client)
{
    blinkauth_tokens_t t;
    const hs_request_t *r;

    serve(reply(200, "{\"access_token\":\"at\",\"token_type\":\"Bearer\"}"));
    ck_assert_int_eq(exchange(loopback_config(0), &t).kind, BLINKAUTH_UP_OK);
    ck_assert_pstr_eq(t.access_token, "at");
    ck_assert_ptr_null(t.refresh_token);
    ck_assert_ptr_null(t.id_token);
    ck_assert_int_eq(t.expires_in, -1);
    r = only_request();
    ck_assert_ptr_null(hs_header(r, "Authorization"));
    ck_assert_str_eq(r->body, "grant_type=authorization_code&code=c%2Fd"
                              "&redirect_uri=https%3A%2F%2Fapps.example.com%2Fblink%2Fcallback&code_verifier=v"
                              "&client_id=my-client");
}
END_TEST

START_TEST(test_code_exchange_error_answer)
{
    blinkauth_tokens_t t;

    serve(reply(400, "{\"error\":\"invalid_grant\",\"error_description\":\"Code expired\"}"));
    assert_failed(exchange(loopback_config(1), &t), BLINKAUTH_UP_FAILED, 400, "answered HTTP 400: invalid_grant");
    ck_assert_ptr_null(t.access_token);
}
END_TEST

START_TEST(test_refresh_grant)
{
    blinkauth_tokens_t t = {0};
    const hs_request_t *r;

    serve(reply(200, "{\"access_token\":\"at2\",\"refresh_token\":\"rt2\",\"expires_in\":5}"));
    ck_assert_int_eq(blinkauth_provider_refresh(unit_pool, loopback_config(1), "rt/1", &t).kind, BLINKAUTH_UP_OK);
    ck_assert_pstr_eq(t.access_token, "at2");
    ck_assert_pstr_eq(t.refresh_token, "rt2");
    ck_assert_int_eq(t.expires_in, 5);
    r = only_request();
    ck_assert_str_eq(r->method, "POST");
    ck_assert_str_eq(r->path, "/token");
    ck_assert_pstr_eq(hs_header(r, "Authorization"), "Basic bXktY2xpZW50OnMzY3JldA==");
    ck_assert_str_eq(r->body, "grant_type=refresh_token&refresh_token=rt%2F1");
}
END_TEST

START_TEST(test_refresh_public_client_and_unusable_answer)
{
    blinkauth_tokens_t t = {0};

    serve(reply(200, "{\"token_type\":\"Bearer\"}"));
    assert_failed(blinkauth_provider_refresh(unit_pool, loopback_config(0), "rt", &t), BLINKAUTH_UP_FAILED, 200,
                  "no access_token");
    ck_assert_str_eq(only_request()->body, "grant_type=refresh_token&refresh_token=rt&client_id=my-client");
}
END_TEST

START_TEST(test_grant_dead_only_for_invalid_grant)
{
    static const struct {
        int status;
        const char *body;
        int dead;
    } cases[] = {
        {400, "{\"error\":\"invalid_grant\"}", 1},
        {400, "{\"error\":\"invalid_client\"}", 0},
        {401, "{\"error\":\"invalid_grant\"}", 0},
        {500, "{\"error\":\"invalid_grant\"}", 0},
        {429, "", 0},
        {400, "not json", 0},
    };
    int i;

    for (i = 0; i < UNIT_COUNT(cases); i++) {
        blinkauth_tokens_t t = {0};
        blinkauth_outcome_t out;
        serve(reply(cases[i].status, cases[i].body));
        out = blinkauth_provider_refresh(unit_pool, loopback_config(1), "rt", &t);
        ck_assert_msg(blinkauth_provider_grant_dead(&out) == cases[i].dead, "case %d: %s", i, out.why);
        hs_stop(unit_server);
        unit_server = NULL;
    }
}
END_TEST

START_TEST(test_code_exchange_unusable_answers)
{
    static const struct {
        const char *body;
        const char *says;
    } bad[] = {
        {"not json", "not a JSON object"},
        {"[\"at\"]", "not a JSON object"},
        {"{\"token_type\":\"Bearer\"}", "no access_token"},
        {"{\"access_token\":\"\"}", "no access_token"},
        {"{\"access_token\":5}", "a member of the wrong type"},
        {"{\"access_token\":\"at\",\"refresh_token\":7}", "a member of the wrong type"},
        {"{\"access_token\":\"at\",\"expires_in\":\"3600\"}", "a member of the wrong type"},
        {"{\"access_token\":\"at\",\"expires_in\":-1}", "a member of the wrong type"},
        {"{\"access_token\":\"at\",\"access_token\":\"evil\"}", "not a JSON object"},
    };
    int i;

    for (i = 0; i < UNIT_COUNT(bad); i++) {
        blinkauth_tokens_t t;
        serve(reply(200, bad[i].body));
        assert_failed(exchange(loopback_config(1), &t), BLINKAUTH_UP_FAILED, 200, bad[i].says);
        hs_stop(unit_server);
        unit_server = NULL;
    }
}
END_TEST

START_TEST(test_code_exchange_timeout)
{
    blinkauth_config_t *cfg;
    blinkauth_tokens_t t;

    unit_serve(HS_HANG, NULL);
    cfg = loopback_config(1);
    cfg->timeout = 1;
    ck_assert_int_eq(exchange(cfg, &t).kind, BLINKAUTH_UP_TIMEOUT);
}
END_TEST

START_TEST(test_account_id_from_id_token)
{
    blinkauth_config_t *cfg = blinkauth_config_create(unit_pool, "/blink");
    blinkauth_tokens_t t = {"at", NULL, NULL, -1};
    const char *id = "unset";
    blinkauth_outcome_t out;

    cfg->client_id = "my-client";
    t.id_token = jwt("{\"aud\":\"my-client\",\"sub\":\"u-1\",\"email\":\"j@example.com\",\"email_verified\":true,"
                     "\"exp\":4102444800}");
    out = account_id(cfg, &t, &id);
    ck_assert_int_eq(out.kind, BLINKAUTH_UP_OK);
    ck_assert_pstr_eq(id, "u-1");
    cfg->account_id_claim = "email";
    ck_assert_int_eq(account_id(cfg, &t, &id).kind, BLINKAUTH_UP_OK);
    ck_assert_pstr_eq(id, "j@example.com");
}
END_TEST

START_TEST(test_account_id_from_id_token_refused)
{
    blinkauth_config_t *cfg = blinkauth_config_create(unit_pool, "/blink");
    blinkauth_tokens_t t = {"at", NULL, NULL, -1};

    cfg->client_id = "my-client";
    assert_no_account_id(cfg, &t, 0,
                         "no account identifier: no BlinkAuthUserInfoURL is set and the token endpoint issued no "
                         "id_token");
    t.id_token = jwt("{\"aud\":\"other\",\"sub\":\"u-1\"}");
    assert_no_account_id(cfg, &t, 0, "no account identifier: the id_token's aud does not name BlinkAuthClientID");
    t.id_token = jwt("{\"aud\":\"my-client\",\"sub\":\"u-1\",\"exp\":4102444800}");
    cfg->account_id_claim = "email";
    assert_no_account_id(cfg, &t, 0, "no account identifier: the id_token has no usable claim 'email'");
}
END_TEST

START_TEST(test_account_id_from_userinfo)
{
    blinkauth_tokens_t t = {"at-123", NULL, NULL, -1};
    blinkauth_config_t *cfg;
    const char *id = NULL;
    const hs_request_t *r;

    serve(reply(200, "{\"sub\":\"u-1\",\"email\":\"j@example.com\",\"id\":4711}"));
    cfg = loopback_config(1);
    cfg->userinfo_url = unit_server_url("/userinfo");
    cfg->account_id_claim = "id";
    /* With a userinfo URL the claim is read there; an id_token is checked, and names the same sub. */
    t.id_token = jwt("{\"aud\":\"my-client\",\"sub\":\"u-1\",\"id\":1,\"exp\":4102444800}");
    ck_assert_int_eq(account_id(cfg, &t, &id).kind, BLINKAUTH_UP_OK);
    ck_assert_pstr_eq(id, "4711");
    r = only_request();
    ck_assert_str_eq(r->method, "GET");
    ck_assert_str_eq(r->path, "/userinfo");
    ck_assert_pstr_eq(hs_header(r, "Authorization"), "Bearer at-123");
    ck_assert_pstr_eq(hs_header(r, "Accept"), "application/json");
}
END_TEST

START_TEST(test_account_id_userinfo_refused)
{
    blinkauth_tokens_t t = {"at", NULL, NULL, -1};
    blinkauth_config_t *cfg;

    serve(reply(401, "{\"error\":\"invalid_token\"}"));
    cfg = loopback_config(1);
    cfg->userinfo_url = unit_server_url("/userinfo");
    assert_no_account_id(cfg, &t, 401, "answered HTTP 401: invalid_token");
    hs_stop(unit_server);
    serve(reply(200, "{\"email\":\"j@example.com\"}"));
    cfg->userinfo_url = unit_server_url("/userinfo");
    assert_no_account_id(cfg, &t, 200, "no usable claim 'sub'");
}
END_TEST

START_TEST(test_token_revoke)
{
    const hs_request_t *r;
    blinkauth_outcome_t out;

    serve(reply(200, ""));
    out = blinkauth_provider_token_revoke(unit_pool, loopback_config(1), "tok+1/2", "refresh_token");
    ck_assert_int_eq(out.kind, BLINKAUTH_UP_OK);
    r = only_request();
    ck_assert_str_eq(r->method, "POST");
    ck_assert_str_eq(r->path, "/revoke");
    ck_assert_pstr_eq(hs_header(r, "Authorization"), "Basic bXktY2xpZW50OnMzY3JldA==");
    ck_assert_pstr_eq(hs_header(r, "Content-Type"), "application/x-www-form-urlencoded");
    ck_assert_str_eq(r->body, "token=tok%2B1%2F2&token_type_hint=refresh_token");
}
END_TEST

START_TEST(test_token_revoke_public_and_failed)
{
    const hs_request_t *r;

    serve(reply(503, "{\"error\":\"temporarily_unavailable\"}"));
    assert_failed(blinkauth_provider_token_revoke(unit_pool, loopback_config(0), "at", "access_token"),
                  BLINKAUTH_UP_FAILED, 503, "revocation endpoint (access_token) (POST http://127.0.0.1:");
    r = only_request();
    ck_assert_ptr_null(hs_header(r, "Authorization"));
    ck_assert_str_eq(r->body, "token=at&token_type_hint=access_token&client_id=my-client");
}
END_TEST

START_TEST(test_id_token_check)
{
    /* now = 2000000000 s; every claim set below names "my-client" as aud (checked by id_token_claims). */
    static const struct {
        const char *claims, *issuer, *nonce, *why; /* why NULL: accepted */
    } cases[] = {
        {"{\"aud\":\"my-client\",\"exp\":2000000100}", NULL, NULL, NULL},
        {"{\"aud\":\"my-client\",\"exp\":1999999950}", NULL, NULL, NULL}, /* within the 60 s skew */
        {"{\"aud\":\"my-client\",\"exp\":1999999900}", NULL, NULL, "expired 100 seconds ago"},
        {"{\"aud\":\"my-client\"}", NULL, NULL, "has no exp"},
        {"{\"aud\":\"my-client\",\"exp\":\"2000000100\"}", NULL, NULL, "has no exp"},
        {"{\"aud\":\"my-client\",\"exp\":2000000100,\"iss\":\"https://idp.example\"}", "https://idp.example", NULL,
         NULL},
        {"{\"aud\":\"my-client\",\"exp\":2000000100,\"iss\":\"https://evil.example\"}", "https://idp.example", NULL,
         "iss is 'https://evil.example', not the issuer 'https://idp.example'"},
        {"{\"aud\":\"my-client\",\"exp\":2000000100}", "https://idp.example", NULL, "iss is '(none)'"},
        {"{\"aud\":\"my-client\",\"exp\":2000000100,\"nonce\":\"n-1\"}", NULL, "n-1", NULL},
        {"{\"aud\":\"my-client\",\"exp\":2000000100,\"nonce\":\"n-2\"}", NULL, "n-1", "nonce is not the one sent"},
        {"{\"aud\":\"my-client\",\"exp\":2000000100}", NULL, "n-1", "has no nonce, though one was sent"},
        {"{\"aud\":[\"my-client\",\"api\"],\"azp\":\"my-client\",\"exp\":2000000100}", NULL, NULL, NULL},
        {"{\"aud\":[\"my-client\",\"api\"],\"azp\":\"api\",\"exp\":2000000100}", NULL, NULL, "azp is not"},
        {"{\"aud\":[\"my-client\",\"api\"],\"exp\":2000000100}", NULL, NULL, "azp is not"},
        {"{\"aud\":[\"my-client\"],\"exp\":2000000100}", NULL, NULL, NULL}, /* one audience: no azp needed */
    };
    int i;

    for (i = 0; i < UNIT_COUNT(cases); i++) {
        const char *why =
            blinkauth_provider_id_token_check(unit_pool, obj(cases[i].claims), "my-client", cases[i].issuer,
                                              cases[i].nonce, apr_time_from_sec(2000000000));
        if (cases[i].why == NULL)
            ck_assert_msg(why == NULL, "case %d refused: %s", i, why);
        else
            ck_assert_msg(why && strstr(why, cases[i].why), "case %d: \"%s\" does not say \"%s\"", i,
                          why ? why : "(accepted)", cases[i].why);
    }
}
END_TEST

START_TEST(test_identify_userinfo_sub_mismatch)
{
    blinkauth_tokens_t t = {"at", NULL, NULL, -1};
    blinkauth_config_t *cfg;

    /* OpenID Connect Core 5.3.2: claims of another subject must not be used. */
    serve(reply(200, "{\"sub\":\"someone-else\",\"email\":\"x@example.com\",\"email_verified\":true}"));
    cfg = loopback_config(1);
    cfg->userinfo_url = unit_server_url("/userinfo");
    t.id_token = jwt("{\"aud\":\"my-client\",\"sub\":\"u-1\",\"exp\":4102444800}");
    assert_no_account_id(cfg, &t, 0, "userinfo's sub is not the id_token's sub");
}
END_TEST

START_TEST(test_identify_email_verified)
{
    static const struct {
        const char *verified; /* the email_verified member, or "" for none */
        int setting;          /* BlinkAuthVerifiedEmail: -1 unset (On), 0 Off */
        int ok;
    } cases[] = {
        {",\"email_verified\":true", -1, 1},    {",\"email_verified\":\"true\"", -1, 1},
        {",\"email_verified\":false", -1, 0},   {"", -1, 0},
        {",\"email_verified\":\"yes\"", -1, 0}, {"", 0, 1},
        {",\"email_verified\":false", 0, 1},
    };
    blinkauth_config_t *cfg = blinkauth_config_create(unit_pool, "/blink");
    blinkauth_tokens_t t = {"at", NULL, NULL, -1};
    const char *id = NULL;
    int i;

    cfg->client_id = "my-client";
    cfg->account_id_claim = "email";
    for (i = 0; i < UNIT_COUNT(cases); i++) {
        blinkauth_outcome_t out;

        cfg->verified_email = cases[i].setting;
        t.id_token = jwt(apr_pstrcat(unit_pool, "{\"aud\":\"my-client\",\"exp\":4102444800,\"email\":\"j@example.com\"",
                                     cases[i].verified, "}", NULL));
        out = account_id(cfg, &t, &id);
        ck_assert_msg((out.kind == BLINKAUTH_UP_OK) == cases[i].ok, "case %d: %s", i, out.why ? out.why : "ok");
        if (!cases[i].ok)
            ck_assert_msg(strstr(out.why, "e-mail is not verified") != NULL, "case %d: %s", i, out.why);
    }
    /* Another claim needs no verified e-mail. */
    cfg->account_id_claim = "sub";
    cfg->verified_email = -1;
    t.id_token = jwt("{\"aud\":\"my-client\",\"exp\":4102444800,\"sub\":\"u-1\",\"email_verified\":false}");
    ck_assert_int_eq(account_id(cfg, &t, &id).kind, BLINKAUTH_UP_OK);
}
END_TEST

START_TEST(test_authorize_url_nonce_prompt_max_age)
{
    blinkauth_provider_authz_t a = authz("https://idp.example/authorize");

    a.nonce = "n-1";
    a.prompt = "login";
    a.max_age = "300";
    ck_assert_msg(strstr(blinkauth_provider_authorize_url(unit_pool, &a),
                         "&code_challenge_method=S256&nonce=n-1&prompt=login&max_age=300") != NULL,
                  "%s", blinkauth_provider_authorize_url(unit_pool, &a));
}
END_TEST

/* Runs the provider suite with libcurl initialised the way post_config does it. */
int main(void)
{
    Suite *s = suite_create("provider");

    unit_add_tcase(s, "authorize_url", NULL, NULL,
                   UNIT_TESTS(test_no_query, test_existing_query_kept, test_url_ending_in_question_mark,
                              test_url_ending_in_ampersand, test_values_percent_encoded, test_scope_omitted_when_null,
                              test_parameter_order, test_input_not_modified, test_authorize_url_nonce_prompt_max_age));
    unit_add_tcase(s, "id_token", NULL, NULL,
                   UNIT_TESTS(test_claim_string_and_integer, test_claim_unusable, test_claim_length,
                              test_id_token_claims, test_id_token_wrong_audience, test_id_token_not_a_jwt,
                              test_id_token_check, test_identify_email_verified));
    unit_add_tcase(s, "endpoints", NULL, unit_server_teardown,
                   UNIT_TESTS(test_code_exchange_confidential, test_code_exchange_public_client,
                              test_code_exchange_error_answer, test_code_exchange_unusable_answers,
                              test_code_exchange_timeout, test_account_id_from_id_token,
                              test_account_id_from_id_token_refused, test_account_id_from_userinfo,
                              test_account_id_userinfo_refused, test_identify_userinfo_sub_mismatch, test_token_revoke,
                              test_token_revoke_public_and_failed, test_refresh_grant,
                              test_refresh_public_client_and_unusable_answer, test_grant_dead_only_for_invalid_grant));
    return unit_run_http(s);
}
