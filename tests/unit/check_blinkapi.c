/* Unit tests of modules/blinkapi.c, the Blink API client, against the loopback server of http_server.c. */
#include <string.h>
#include <apr_strings.h>

#include "unit.h"
#include "blinkapi.h"
#include "blinkapi_spec.h"
#include "http_server.h"
#include "json.h"

/* The secrets a call carries: none of them may reach an outcome's sentence. */
#define API_TOKEN "api-T0ken-9"
#define ACCESS_TOKEN "acc-S3cret-1"
#define REFRESH_TOKEN "ref-S3cret-2"

/* A user id and a linked account id with a space and a slash, and each one's single percent-encoded segment. */
#define USER_ID "u 1/2"
#define USER_ID_PCT "u%201%2F2"
#define ACCOUNT_ID "la 7/8"
#define ACCOUNT_ID_PCT "la%207%2F8"

/* The paths the calls for USER_ID and ACCOUNT_ID must reach. */
#define ACCOUNTS_PATH "/v2/user/" USER_ID_PCT "/linked-accounts"
#define ACCOUNT_PATH ACCOUNTS_PATH "/" ACCOUNT_ID_PCT

/* A "data" object with every field of a linked account, reauth_required as given. */
#define ACCOUNT_DATA(reauth)                                                                                           \
    "{\"id\":\"la-1\",\"auth_id\":\"a-1234\",\"external_account_id\":\"ext-9\",\"access_token\":\"" ACCESS_TOKEN       \
    "\",\"refresh_token\":\"" REFRESH_TOKEN "\",\"expiry\":\"2030-01-02T03:04:05Z\",\"reauth_required\":" reauth "}"

/* Starts the loopback server answering every request with status and a JSON (or other) body, stopping the server
 * a previous case started. */
static void serve(int status, const char *body)
{
    if (unit_server)
        hs_stop(unit_server);
    unit_serve(HS_REPLY, apr_psprintf(unit_pool,
                                      "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
                                      "Content-Length: %" APR_SIZE_T_FMT "\r\n\r\n%s",
                                      status, strlen(body), body));
}

/* A configuration whose Blink API is at url. */
static blinkauth_config_t *api_config_at(const char *url)
{
    blinkauth_config_t *cfg = blinkauth_config_create(unit_pool, "/blink");

    cfg->api_url = url;
    cfg->api_token = API_TOKEN;
    cfg->auth_id = "a-1234";
    cfg->timeout = 5;
    return cfg;
}

/* A configuration whose Blink API is the loopback server (started first). */
static blinkauth_config_t *api_config(void)
{
    return api_config_at(unit_server_url(""));
}

/* The linked account every add test saves. */
static const blinkauth_linked_account_t *account(void)
{
    static const blinkauth_linked_account_t la = {
        .auth_id = "a-1234",
        .external_account_id = "ext-9",
        .access_token = ACCESS_TOKEN,
        .refresh_token = REFRESH_TOKEN,
        .expiry = "2030-01-02T03:04:05Z",
        .reauth_required = 0,
    };
    return &la;
}

/* A JSON value parsed from text, released with unit_pool. */
static json_t *obj(const char *text)
{
    json_error_t err;
    json_t *j = json_loads(text, 0, &err);

    ck_assert_msg(j != NULL, "bad JSON \"%s\": %s", text, err.text);
    return blinkauth_json_bind(unit_pool, j);
}

/* Asserts that two JSON values are equal, showing both when not. */
static void assert_json_eq(const json_t *got, const json_t *want)
{
    ck_assert_msg(json_equal(got, want), "got %s, want %s", blinkauth_json_dump(unit_pool, got),
                  blinkauth_json_dump(unit_pool, want));
}

/* The one request the server received. */
static const hs_request_t *only_request(void)
{
    ck_assert_int_eq(hs_request_count(unit_server), 1);
    return hs_request(unit_server, 0);
}

/* Asserts that the one request was method on path, authenticated with the API token, asking for JSON and carrying
 * the JSON body (text) or, when NULL, no body at all. */
static void assert_request(const char *method, const char *path, const char *body)
{
    const hs_request_t *r = only_request();

    ck_assert_str_eq(r->method, method);
    ck_assert_str_eq(r->path, path);
    ck_assert_pstr_eq(hs_header(r, "Authorization"), "Bearer " API_TOKEN);
    ck_assert_pstr_eq(hs_header(r, "Accept"), "application/json");
    if (body == NULL) {
        ck_assert_ptr_null(hs_header(r, "Content-Type"));
        ck_assert_uint_eq(r->body_len, 0);
        return;
    }
    ck_assert_pstr_eq(hs_header(r, "Content-Type"), "application/json");
    assert_json_eq(obj(r->body), obj(body));
}

/* Asserts an outcome of kind and status whose sentence contains each non-NULL part and none of the secrets. */
static void assert_outcome(blinkauth_outcome_t out, blinkauth_up_kind_t kind, long status, const char *part,
                           const char *part2)
{
    static const char *secrets[] = {API_TOKEN, ACCESS_TOKEN, REFRESH_TOKEN};
    const char *parts[] = {part, part2};
    int i;

    ck_assert_int_eq(out.kind, kind);
    ck_assert_int_eq(out.status, status);
    ck_assert_ptr_nonnull(out.why);
    for (i = 0; i < UNIT_COUNT(parts); i++)
        ck_assert_msg(parts[i] == NULL || strstr(out.why, parts[i]) != NULL, "\"%s\" does not say \"%s\"", out.why,
                      parts[i]);
    for (i = 0; i < UNIT_COUNT(secrets); i++)
        ck_assert_msg(strstr(out.why, secrets[i]) == NULL, "\"%s\" tells %s", out.why, secrets[i]);
}

/* Adds the typical account for USER_ID through cfg; *id as add leaves it (first set to a non-NULL marker). */
static blinkauth_outcome_t add(const blinkauth_config_t *cfg, const char **id)
{
    *id = "unset";
    return blinkauth_blinkapi_linked_account_add(unit_pool, cfg, USER_ID, account(), id);
}

/* Serves status and body, then fetches ACCOUNT_ID of USER_ID into *la (first set to a non-NULL marker). */
static blinkauth_outcome_t get_served(int status, const char *body, blinkauth_linked_account_t **la)
{
    static blinkauth_linked_account_t marker;

    serve(status, body);
    *la = &marker;
    return blinkauth_blinkapi_linked_account_get(unit_pool, api_config(), USER_ID, ACCOUNT_ID, la);
}

/* add POSTs exactly the account to the user's percent-encoded collection with the token and JSON headers. */
START_TEST(test_add_request)
{
    const char *id = NULL;

    serve(201, "{\"data\":{\"id\":\"la-1\"}}");
    assert_outcome(add(api_config(), &id), BLINKAUTH_UP_OK, 201, "answered HTTP 201", NULL);
    ck_assert_pstr_eq(id, "la-1");
    assert_request("POST", ACCOUNTS_PATH,
                   "{\"auth_id\":\"a-1234\",\"external_account_id\":\"ext-9\",\"access_token\":\"" ACCESS_TOKEN
                   "\",\"refresh_token\":\"" REFRESH_TOKEN "\",\"expiry\":\"2030-01-02T03:04:05Z\","
                   "\"reauth_required\":false}");
}
END_TEST

/* add reads *id from the envelope's data on 2xx (NULL when the body does not give it) and fails, *id NULL, on an
 * error status. */
START_TEST(test_add_answers)
{
    static const struct {
        int status;
        const char *body;
        blinkauth_up_kind_t kind;
        const char *says, *says2; /* parts of the outcome's sentence, or NULL */
        const char *id;           /* wanted in *id */
    } cases[] = {
        {200, "{\"data\":{\"id\":\"la-200\"}}", BLINKAUTH_UP_OK, "answered HTTP 200", NULL, "la-200"},
        {201, "{\"data\":{\"id\":\"la-201\",\"auth_id\":\"a-1234\"}}", BLINKAUTH_UP_OK, NULL, NULL, "la-201"},
        {201, "{\"data\":{}}", BLINKAUTH_UP_OK, NULL, NULL, NULL},
        {200, "{\"data\":{\"auth_id\":\"a-1234\"},\"id\":\"outside\"}", BLINKAUTH_UP_OK, NULL, NULL, NULL},
        {401, "{\"code\":\"UNAUTHORIZED\"}", BLINKAUTH_UP_FAILED, "answered HTTP 401", "UNAUTHORIZED", NULL},
        {500, "{\"code\":\"INTERNAL\",\"message\":\"" API_TOKEN "\"}", BLINKAUTH_UP_FAILED,
         "answered HTTP 500: INTERNAL", NULL, NULL},
        {403, "{\"code\":\"" ACCESS_TOKEN "\"}", BLINKAUTH_UP_FAILED, "answered HTTP 403 in", NULL, NULL},
        /* Every 2xx is saved: Blink has the account even when its answer does not show it. */
        {200, "not json", BLINKAUTH_UP_OK, "answered HTTP 200", NULL, NULL},
        {201, "", BLINKAUTH_UP_OK, "answered HTTP 201", NULL, NULL},
        {200, "{\"id\":\"la-1\"}", BLINKAUTH_UP_OK, "answered HTTP 200", NULL, NULL},
        {200, "{\"data\":[{\"id\":\"la-1\"}]}", BLINKAUTH_UP_OK, "answered HTTP 200", NULL, NULL},
        {200, "{\"data\":\"la-1\"}", BLINKAUTH_UP_OK, "answered HTTP 200", NULL, NULL},
        {409, "{\"code\":\"CONFLICT\"}", BLINKAUTH_UP_FAILED, "answered HTTP 409: CONFLICT", NULL, NULL},
    };
    const char *id;
    int i;

    for (i = 0; i < UNIT_COUNT(cases); i++) {
        serve(cases[i].status, cases[i].body);
        assert_outcome(add(api_config(), &id), cases[i].kind, cases[i].status, cases[i].says, cases[i].says2);
        ck_assert_pstr_eq(id, cases[i].id);
        ck_assert_int_eq(hs_request_count(unit_server), 1);
    }
}
END_TEST

/* add fails when nothing listens at the API URL. */
START_TEST(test_add_refused)
{
    const char *id;

    assert_outcome(add(api_config_at(apr_psprintf(unit_pool, "http://127.0.0.1:%d", hs_unused_port())), &id),
                   BLINKAUTH_UP_FAILED, 0, "Blink add linked account (POST http://127.0.0.1:", "(2 attempts)");
    ck_assert_ptr_null(id);
}
END_TEST

/* add times out when the API never answers within the configured timeout. */
START_TEST(test_add_timeout)
{
    blinkauth_config_t *cfg;
    const char *id;

    unit_serve(HS_HANG, NULL);
    cfg = api_config();
    cfg->timeout = 1;
    assert_outcome(add(cfg, &id), BLINKAUTH_UP_TIMEOUT, 0, ACCOUNTS_PATH "): timed out after ", NULL);
    ck_assert_ptr_null(id);
}
END_TEST

/* get sends one GET for the percent-encoded account and reads every field of the envelope's data. */
START_TEST(test_get_fields)
{
    blinkauth_linked_account_t *la;

    assert_outcome(get_served(200, "{\"data\":" ACCOUNT_DATA("true") "}", &la), BLINKAUTH_UP_OK, 200,
                   "Blink get linked account (GET http://127.0.0.1:", NULL);
    ck_assert_ptr_nonnull(la);
    ck_assert_pstr_eq(la->id, ACCOUNT_ID);
    ck_assert_pstr_eq(la->auth_id, "a-1234");
    ck_assert_pstr_eq(la->external_account_id, "ext-9");
    ck_assert_pstr_eq(la->access_token, ACCESS_TOKEN);
    ck_assert_pstr_eq(la->refresh_token, REFRESH_TOKEN);
    ck_assert_pstr_eq(la->expiry, "2030-01-02T03:04:05Z");
    ck_assert_int_eq(la->reauth_required, 1);
    assert_request("GET", ACCOUNT_PATH, NULL);
}
END_TEST

/* get sets reauth_required only for a JSON true. */
START_TEST(test_get_reauth_required)
{
    static const struct {
        const char *data;
        int want;
    } cases[] = {
        {ACCOUNT_DATA("true"), 1}, {ACCOUNT_DATA("false"), 0}, {ACCOUNT_DATA("\"true\""), 0},
        {ACCOUNT_DATA("1"), 0},    {ACCOUNT_DATA("null"), 0},  {"{\"auth_id\":\"a-1234\"}", 0},
    };
    blinkauth_linked_account_t *la;
    int i;

    for (i = 0; i < UNIT_COUNT(cases); i++) {
        const char *body = apr_pstrcat(unit_pool, "{\"data\":", cases[i].data, "}", NULL);
        ck_assert_int_eq(get_served(200, body, &la).kind, BLINKAUTH_UP_OK);
        ck_assert_msg(la->reauth_required == cases[i].want, "reauth_required %d for %s", la->reauth_required,
                      cases[i].data);
    }
}
END_TEST

/* get leaves NULL the string fields of another JSON type. */
START_TEST(test_get_wrong_types)
{
    blinkauth_linked_account_t *la;

    ck_assert_int_eq(get_served(200,
                                "{\"data\":{\"auth_id\":5,\"external_account_id\":null,\"access_token\":{\"v\":\"x\"},"
                                "\"refresh_token\":[\"x\"],\"expiry\":1.5,\"reauth_required\":true}}",
                                &la)
                         .kind,
                     BLINKAUTH_UP_OK);
    ck_assert_pstr_eq(la->id, ACCOUNT_ID);
    ck_assert_ptr_null(la->auth_id);
    ck_assert_ptr_null(la->external_account_id);
    ck_assert_ptr_null(la->access_token);
    ck_assert_ptr_null(la->refresh_token);
    ck_assert_ptr_null(la->expiry);
    ck_assert_int_eq(la->reauth_required, 1);
}
END_TEST

/* delete sends one bodiless DELETE for the percent-encoded account and takes 204 without a body. */
START_TEST(test_delete_request)
{
    unit_serve(HS_REPLY, "HTTP/1.1 204 No Content\r\n\r\n");
    assert_outcome(blinkauth_blinkapi_linked_account_delete(unit_pool, api_config(), USER_ID, ACCOUNT_ID),
                   BLINKAUTH_UP_OK, 204, "Blink delete linked account (DELETE http://127.0.0.1:", NULL);
    assert_request("DELETE", ACCOUNT_PATH, NULL);
}
END_TEST

/* get and delete tell OK, NOT_FOUND and FAILED apart alike; only get needs a "data" object. */
START_TEST(test_get_and_delete_answers)
{
    static const struct {
        int status;
        const char *body;
        blinkauth_up_kind_t get, del; /* the outcome of each call */
        const char *says;             /* in both outcomes' sentences */
    } cases[] = {
        {200, "{\"data\":{}}", BLINKAUTH_UP_OK, BLINKAUTH_UP_OK, "answered HTTP 200"},
        {200, "", BLINKAUTH_UP_FAILED, BLINKAUTH_UP_OK, "answered HTTP 200"},
        {204, "", BLINKAUTH_UP_FAILED, BLINKAUTH_UP_OK, "answered HTTP 204"},
        {200, "{}", BLINKAUTH_UP_FAILED, BLINKAUTH_UP_OK, "answered HTTP 200"},
        {200, ACCOUNT_DATA("true"), BLINKAUTH_UP_FAILED, BLINKAUTH_UP_OK, "answered HTTP 200"},
        {404, "{\"code\":\"NOT_FOUND\"}", BLINKAUTH_UP_NOT_FOUND, BLINKAUTH_UP_NOT_FOUND,
         "answered HTTP 404: NOT_FOUND"},
        /* A 404 without Blink's envelope is a wrong URL or a proxy's page, not "gone". */
        {404, "", BLINKAUTH_UP_FAILED, BLINKAUTH_UP_FAILED, "without Blink's JSON envelope"},
        {404, "<html>Not Found</html>", BLINKAUTH_UP_FAILED, BLINKAUTH_UP_FAILED, "without Blink's JSON envelope"},
        {401, "{\"code\":\"UNAUTHORIZED\"}", BLINKAUTH_UP_FAILED, BLINKAUTH_UP_FAILED,
         "answered HTTP 401: UNAUTHORIZED"},
        {500, "oops", BLINKAUTH_UP_FAILED, BLINKAUTH_UP_FAILED, "answered HTTP 500 in"},
        {503, "", BLINKAUTH_UP_FAILED, BLINKAUTH_UP_FAILED, "answered HTTP 503 in"},
    };
    blinkauth_linked_account_t *la;
    int i;

    for (i = 0; i < UNIT_COUNT(cases); i++) {
        assert_outcome(get_served(cases[i].status, cases[i].body, &la), cases[i].get, cases[i].status, cases[i].says,
                       NULL);
        ck_assert_int_eq(la != NULL, cases[i].get == BLINKAUTH_UP_OK);
        serve(cases[i].status, cases[i].body);
        assert_outcome(blinkauth_blinkapi_linked_account_delete(unit_pool, api_config(), USER_ID, ACCOUNT_ID),
                       cases[i].del, cases[i].status, cases[i].says, NULL);
        ck_assert_str_eq(only_request()->method, "DELETE");
    }
}
END_TEST

/* list GETs the user's collection and reads each account object of the data array, skipping anything else. */
START_TEST(test_list)
{
    apr_array_header_t *accounts = NULL;
    const blinkauth_linked_account_t *la;

    serve(200, "{\"data\":[" ACCOUNT_DATA("false") ",7,{\"id\":\"la-2\",\"auth_id\":\"a-9\","
                                                   "\"external_account_id\":\"ext-9\"}]}");
    assert_outcome(blinkauth_blinkapi_linked_account_list(unit_pool, api_config(), USER_ID, &accounts), BLINKAUTH_UP_OK,
                   200, "Blink list linked accounts (GET http://127.0.0.1:", NULL);
    assert_request("GET", ACCOUNTS_PATH, NULL);
    ck_assert_int_eq(accounts->nelts, 2);
    la = blinkauth_blinkapi_linked_account_find(accounts, "a-1234", "ext-9");
    ck_assert_ptr_nonnull(la);
    ck_assert_pstr_eq(la->access_token, ACCESS_TOKEN);
    ck_assert_pstr_eq(blinkauth_blinkapi_linked_account_find(accounts, "a-9", "ext-9")->id, "la-2");
    ck_assert_ptr_null(blinkauth_blinkapi_linked_account_find(accounts, "a-1234", "ext-1"));
    ck_assert_ptr_null(blinkauth_blinkapi_linked_account_find(accounts, "a-12", "ext-9"));
}
END_TEST

/* list fails, with an empty array, on an answer whose data is not an array or on an error status. */
START_TEST(test_list_refused)
{
    static const struct {
        int status;
        const char *body;
        blinkauth_up_kind_t kind;
    } cases[] = {
        {200, "{\"data\":{}}", BLINKAUTH_UP_FAILED},
        {200, "{\"code\":\"OK\"}", BLINKAUTH_UP_FAILED},
        {200, "[]", BLINKAUTH_UP_FAILED},
        {404, "{\"code\":\"NOT_FOUND\"}", BLINKAUTH_UP_NOT_FOUND},
        {404, "nope", BLINKAUTH_UP_FAILED},
        {500, "{\"code\":\"INTERNAL\"}", BLINKAUTH_UP_FAILED},
    };
    apr_array_header_t *accounts;
    int i;

    for (i = 0; i < UNIT_COUNT(cases); i++) {
        serve(cases[i].status, cases[i].body);
        accounts = NULL;
        ck_assert_int_eq(blinkauth_blinkapi_linked_account_list(unit_pool, api_config(), USER_ID, &accounts).kind,
                         cases[i].kind);
        ck_assert_ptr_nonnull(accounts);
        ck_assert_int_eq(accounts->nelts, 0);
    }
}
END_TEST

/* update PATCHes only the token fields and reauth_required to the account; any 2xx is done. */
START_TEST(test_update)
{
    blinkauth_linked_account_t la = *account();

    la.id = ACCOUNT_ID;
    serve(200, "{\"data\":{}}");
    assert_outcome(blinkauth_blinkapi_linked_account_update(unit_pool, api_config(), USER_ID, &la), BLINKAUTH_UP_OK,
                   200, "Blink update linked account (PATCH http://127.0.0.1:", NULL);
    assert_request("PATCH", ACCOUNT_PATH,
                   "{\"access_token\":\"" ACCESS_TOKEN "\",\"refresh_token\":\"" REFRESH_TOKEN
                   "\",\"expiry\":\"2030-01-02T03:04:05Z\",\"reauth_required\":false}");
    serve(204, "");
    ck_assert_int_eq(blinkauth_blinkapi_linked_account_update(unit_pool, api_config(), USER_ID, &la).kind,
                     BLINKAUTH_UP_OK);
    serve(404, "{\"code\":\"NOT_FOUND\"}");
    ck_assert_int_eq(blinkauth_blinkapi_linked_account_update(unit_pool, api_config(), USER_ID, &la).kind,
                     BLINKAUTH_UP_NOT_FOUND);
}
END_TEST

/* refused is true only when the upstream certainly did not act: nothing sent, or a 4xx but 408 and 409. */
START_TEST(test_refused)
{
    static const struct {
        blinkauth_outcome_t out;
        int want;
    } cases[] = {
        {{BLINKAUTH_UP_FAILED, 0, "", NULL, 1, 1}, 1},   {{BLINKAUTH_UP_FAILED, 400, "", NULL, 0, 0}, 1},
        {{BLINKAUTH_UP_FAILED, 429, "", NULL, 0, 0}, 1}, {{BLINKAUTH_UP_NOT_FOUND, 404, "", NULL, 0, 0}, 1},
        {{BLINKAUTH_UP_FAILED, 408, "", NULL, 0, 0}, 0}, {{BLINKAUTH_UP_FAILED, 409, "", NULL, 0, 0}, 0},
        {{BLINKAUTH_UP_FAILED, 500, "", NULL, 0, 0}, 0}, {{BLINKAUTH_UP_TIMEOUT, 0, "", NULL, 0, 1}, 0},
        {{BLINKAUTH_UP_FAILED, 0, "", NULL, 0, 1}, 0},   {{BLINKAUTH_UP_FAILED, 200, "", NULL, 0, 0}, 0},
    };
    int i;

    for (i = 0; i < UNIT_COUNT(cases); i++)
        ck_assert_msg(blinkauth_upstream_refused(&cases[i].out) == cases[i].want, "case %d", i);
}
END_TEST

/* envelope_data returns the "data" object of a JSON envelope, reading len bytes only. */
START_TEST(test_envelope_data)
{
    static const struct {
        const char *body;
        apr_size_t len;   /* 0 = strlen(body) */
        const char *data; /* the JSON text of the object wanted */
    } good[] = {
        {"{\"data\":{\"id\":\"la-1\",\"n\":[1]}}", 0, "{\"id\":\"la-1\",\"n\":[1]}"},
        {" {\"meta\":1,\"data\":{}} ", 0, "{}"},
        {"{\"data\":{}}garbage", 11, "{}"},
    };
    int i;

    for (i = 0; i < UNIT_COUNT(good); i++) {
        const char *why = NULL;
        apr_size_t len = good[i].len ? good[i].len : strlen(good[i].body);
        json_t *data = blinkauth_blinkapi_envelope_data(unit_pool, good[i].body, len, &why);
        ck_assert_msg(data != NULL, "no data in %s: %s", good[i].body, why);
        assert_json_eq(data, obj(good[i].data));
    }
}
END_TEST

/* envelope_data returns NULL with a reason for anything but one JSON object holding a "data" object. */
START_TEST(test_envelope_data_refused)
{
    static const char *bad[] = {
        "{}",
        "{\"Data\":{}}",
        "{\"data\":[]}",
        "{\"data\":null}",
        "{\"data\":\"x\"}",
        "[{\"data\":{}}]",
        "not json",
        "{\"data\":{}} x",
        "{\"data\":{}}{}",
        "{\"data\":{},\"data\":{}}",
        "",
    };
    int i;

    for (i = 0; i < UNIT_COUNT(bad); i++) {
        const char *why = NULL;
        ck_assert_msg(blinkauth_blinkapi_envelope_data(unit_pool, bad[i], strlen(bad[i]), &why) == NULL, "data in %s",
                      bad[i]);
        ck_assert_msg(why != NULL && *why != '\0', "no reason for %s", bad[i]);
    }
}
END_TEST

/* user_get sends one GET for the percent-encoded user and reads its e-mail and names. */
START_TEST(test_user_get)
{
    blinkauth_blink_user_t *user = NULL;

    serve(200, "{\"code\":\"OK\",\"data\":{\"id\":\"u\",\"email\":\"alice@example.com\",\"first_name\":\"Alice\","
               "\"last_name\":\"Example\"}}");
    assert_outcome(blinkauth_blinkapi_user_get(unit_pool, api_config(), USER_ID, &user), BLINKAUTH_UP_OK, 200,
                   "Blink get user (GET http://127.0.0.1:", NULL);
    ck_assert_ptr_nonnull(user);
    ck_assert_pstr_eq(user->email, "alice@example.com");
    ck_assert_pstr_eq(user->first_name, "Alice");
    ck_assert_pstr_eq(user->last_name, "Example");
    assert_request("GET", "/v2/user/" USER_ID_PCT, NULL);
}
END_TEST

/* user_get: fields of the wrong type are absent; a 404 or an answer without data is no user. */
START_TEST(test_user_get_refused)
{
    static const struct {
        int status;
        const char *body;
        blinkauth_up_kind_t kind;
    } cases[] = {
        {200, "{\"data\":{\"email\":7,\"first_name\":null}}", BLINKAUTH_UP_OK},
        {404, "{\"code\":\"NOT_FOUND\",\"message\":\"no user\"}", BLINKAUTH_UP_NOT_FOUND},
        {200, "{\"code\":\"OK\"}", BLINKAUTH_UP_FAILED},
        {500, "oops", BLINKAUTH_UP_FAILED},
    };
    int i;

    for (i = 0; i < UNIT_COUNT(cases); i++) {
        blinkauth_blink_user_t *user = NULL;
        blinkauth_outcome_t out;

        serve(cases[i].status, cases[i].body);
        out = blinkauth_blinkapi_user_get(unit_pool, api_config(), USER_ID, &user);
        ck_assert_msg(out.kind == cases[i].kind, "case %d: %s", i, out.why);
        if (out.kind == BLINKAUTH_UP_OK)
            ck_assert_msg(user && user->email == NULL && user->first_name == NULL, "case %d: fields kept", i);
        else
            ck_assert_ptr_null(user);
        hs_stop(unit_server);
        unit_server = NULL;
    }
}
END_TEST

/* Runs the Blink API suite with libcurl initialised the way post_config does it. */
int main(void)
{
    Suite *s = suite_create("blinkapi");

    unit_add_tcase(s, "envelope", NULL, NULL, UNIT_TESTS(test_envelope_data, test_envelope_data_refused));
    unit_add_tcase(s, "add", NULL, unit_server_teardown,
                   UNIT_TESTS(test_add_request, test_add_answers, test_add_refused, test_add_timeout));
    unit_add_tcase(s, "get", NULL, unit_server_teardown,
                   UNIT_TESTS(test_get_fields, test_get_reauth_required, test_get_wrong_types));
    unit_add_tcase(s, "delete", NULL, unit_server_teardown,
                   UNIT_TESTS(test_delete_request, test_get_and_delete_answers));
    unit_add_tcase(s, "user", NULL, unit_server_teardown, UNIT_TESTS(test_user_get, test_user_get_refused));
    unit_add_tcase(s, "list", NULL, unit_server_teardown, UNIT_TESTS(test_list, test_list_refused));
    unit_add_tcase(s, "update", NULL, unit_server_teardown, UNIT_TESTS(test_update, test_refused));
    return unit_run_http(s);
}
