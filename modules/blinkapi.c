/* The Blink API: a user's linked accounts (add, list, get, update, delete) and the user (get). */
#include "blinkapi.h"
#include "blinkapi_spec.h"
#include "json.h"
#include "text.h"

#include <apr_strings.h>

/* What an answer's envelope must hold in "data" for the call to count as done. */
typedef enum { DATA_NONE, DATA_OBJECT, DATA_ARRAY } data_need_t;

/* The "data" member of a Blink API answer's envelope, bound to p, of the JSON type need asks (DATA_NONE: whatever it
 * holds, or NULL); NULL with *why when the body is not JSON or "data" is not of that type. */
static json_t *envelope_member(apr_pool_t *p, const char *body, apr_size_t len, data_need_t need, const char **why)
{
    json_t *data = json_object_get(blinkauth_json_parse(p, body, len, NULL), BLINKAPI_FIELD_DATA);

    if (need == DATA_OBJECT && !json_is_object(data)) {
        *why = "no \"data\" object in the envelope";
        return NULL;
    }
    if (need == DATA_ARRAY && !json_is_array(data)) {
        *why = "no \"data\" array in the envelope";
        return NULL;
    }
    return data;
}

json_t *blinkauth_blinkapi_envelope_data(apr_pool_t *p, const char *body, apr_size_t len, const char **why)
{
    return envelope_member(p, body, len, DATA_OBJECT, why);
}

/* A 404 without Blink's JSON envelope (a wrong BlinkAuthAPIURL, a load balancer's page) is a failure, not "gone". */
static void not_found_checked(apr_pool_t *p, blinkauth_outcome_t *out, const char *code)
{
    if (out->kind != BLINKAUTH_UP_NOT_FOUND || code != NULL)
        return;
    out->kind = BLINKAUTH_UP_FAILED;
    out->why = apr_pstrcat(p, out->why, " without Blink's JSON envelope (is BlinkAuthAPIURL right?)", NULL);
}

/* An authenticated call to the Blink API at path; on success *data is the envelope's "data" as need asks (with
 * DATA_NONE, whatever "data" holds, or NULL). */
static blinkauth_outcome_t api_call(apr_pool_t *p, const blinkauth_config_t *cfg, const char *step,
                                    const char *endpoint, const char *method, const char *path, const json_t *body,
                                    data_need_t need, json_t **data)
{
    blinkauth_http_request_t req =
        blinkauth_upstream_request(cfg, method, apr_pstrcat(p, blinkauth_config_api_url(cfg), path, NULL));
    blinkauth_http_response_t res;
    blinkauth_outcome_t out;
    const char *why = NULL, *code;

    req.bearer = cfg->api_token;
    req.endpoint = endpoint;
    if (body) {
        req.body = blinkauth_json_dump(p, body);
        req.body_len = strlen(req.body);
        req.content_type = "application/json";
    }
    blinkauth_http_call(p, &req, &res);
    code = blinkauth_upstream_error_code(p, &res, BLINKAPI_FIELD_CODE);
    out = blinkauth_upstream_outcome(p, cfg, step, &req, &res, code);
    not_found_checked(p, &out, code);
    if (out.kind != BLINKAUTH_UP_OK || data == NULL)
        return out;
    *data = envelope_member(p, res.body, res.body_len, need, &why);
    return why ? blinkauth_upstream_invalid(p, cfg, step, &req, &res, why) : out;
}

/* The path of one linked account, every part percent-encoded. */
static const char *account_path(apr_pool_t *p, const char *user_id, const char *id)
{
    return apr_psprintf(p, BLINKAPI_PATH_LINKED_ACCOUNT, blinkauth_text_pct_encode(p, user_id),
                        blinkauth_text_pct_encode(p, id));
}

/* Sets field to a string value when the value is there. */
static void put_string(json_t *o, const char *field, const char *value)
{
    if (value)
        json_object_set_new(o, field, json_string(value));
}

/* The token fields of la (and reauth_required) as a JSON object bound to p; with all set, its id fields too. */
static json_t *account_body(apr_pool_t *p, const blinkauth_linked_account_t *la, int all)
{
    json_t *body = blinkauth_json_bind(p, json_object());

    if (all) {
        put_string(body, BLINKAPI_FIELD_AUTH_ID, la->auth_id);
        put_string(body, BLINKAPI_FIELD_EXTERNAL_ACCOUNT_ID, la->external_account_id);
    }
    put_string(body, BLINKAPI_FIELD_ACCESS_TOKEN, la->access_token);
    put_string(body, BLINKAPI_FIELD_REFRESH_TOKEN, la->refresh_token);
    put_string(body, BLINKAPI_FIELD_EXPIRY, la->expiry);
    json_object_set_new(body, BLINKAPI_FIELD_REAUTH_REQUIRED, json_boolean(la->reauth_required));
    return body;
}

/* A linked account read from one of Blink's JSON objects; NULL for no object. */
static blinkauth_linked_account_t *account_of(apr_pool_t *p, const json_t *data)
{
    blinkauth_linked_account_t *la;

    if (!json_is_object(data))
        return NULL;
    la = apr_pcalloc(p, sizeof(*la));
    la->id = blinkauth_json_string(data, BLINKAPI_FIELD_ID);
    la->auth_id = blinkauth_json_string(data, BLINKAPI_FIELD_AUTH_ID);
    la->external_account_id = blinkauth_json_string(data, BLINKAPI_FIELD_EXTERNAL_ACCOUNT_ID);
    la->access_token = blinkauth_json_string(data, BLINKAPI_FIELD_ACCESS_TOKEN);
    la->refresh_token = blinkauth_json_string(data, BLINKAPI_FIELD_REFRESH_TOKEN);
    la->expiry = blinkauth_json_string(data, BLINKAPI_FIELD_EXPIRY);
    la->reauth_required = json_is_true(json_object_get(data, BLINKAPI_FIELD_REAUTH_REQUIRED));
    return la;
}

/* The path of a user's linked accounts, the user id percent-encoded. */
static const char *accounts_path(apr_pool_t *p, const char *user_id)
{
    return apr_psprintf(p, BLINKAPI_PATH_LINKED_ACCOUNTS, blinkauth_text_pct_encode(p, user_id));
}

blinkauth_outcome_t blinkauth_blinkapi_linked_account_add(apr_pool_t *p, const blinkauth_config_t *cfg,
                                                          const char *user_id, const blinkauth_linked_account_t *la,
                                                          const char **id)
{
    json_t *data = NULL;
    blinkauth_outcome_t out = api_call(p, cfg, "Blink add linked account", "blink_add", "POST",
                                       accounts_path(p, user_id), account_body(p, la, 1), DATA_NONE, &data);

    /* Every 2xx is "saved": an answer without the account's id still means Blink has it. */
    *id = out.kind == BLINKAUTH_UP_OK ? blinkauth_json_string(data, BLINKAPI_FIELD_ID) : NULL;
    return out;
}

blinkauth_outcome_t blinkauth_blinkapi_linked_account_update(apr_pool_t *p, const blinkauth_config_t *cfg,
                                                             const char *user_id, const blinkauth_linked_account_t *la)
{
    return api_call(p, cfg, "Blink update linked account", "blink_update", "PATCH", account_path(p, user_id, la->id),
                    account_body(p, la, 0), DATA_NONE, NULL);
}

blinkauth_outcome_t blinkauth_blinkapi_linked_account_get(apr_pool_t *p, const blinkauth_config_t *cfg,
                                                          const char *user_id, const char *id,
                                                          blinkauth_linked_account_t **la)
{
    json_t *data = NULL;
    blinkauth_outcome_t out = api_call(p, cfg, "Blink get linked account", "blink_get", "GET",
                                       account_path(p, user_id, id), NULL, DATA_OBJECT, &data);

    *la = out.kind == BLINKAUTH_UP_OK ? account_of(p, data) : NULL;
    if (*la)
        (*la)->id = id;
    return out;
}

blinkauth_outcome_t blinkauth_blinkapi_linked_account_list(apr_pool_t *p, const blinkauth_config_t *cfg,
                                                           const char *user_id, apr_array_header_t **accounts)
{
    json_t *data = NULL, *item;
    blinkauth_linked_account_t *la;
    blinkauth_outcome_t out = api_call(p, cfg, "Blink list linked accounts", "blink_list", "GET",
                                       accounts_path(p, user_id), NULL, DATA_ARRAY, &data);
    size_t i;

    *accounts = apr_array_make(p, 4, sizeof(blinkauth_linked_account_t *));
    if (out.kind != BLINKAUTH_UP_OK)
        return out;
    json_array_foreach(data, i, item)
    {
        if ((la = account_of(p, item)) != NULL)
            APR_ARRAY_PUSH(*accounts, blinkauth_linked_account_t *) = la;
    }
    return out;
}

const blinkauth_linked_account_t *blinkauth_blinkapi_linked_account_find(const apr_array_header_t *accounts,
                                                                         const char *auth_id,
                                                                         const char *external_account_id)
{
    int i;

    for (i = 0; accounts && i < accounts->nelts; i++) {
        const blinkauth_linked_account_t *la = APR_ARRAY_IDX(accounts, i, const blinkauth_linked_account_t *);

        if (la->id && la->auth_id && la->external_account_id && strcmp(la->auth_id, auth_id) == 0 &&
            strcmp(la->external_account_id, external_account_id) == 0)
            return la;
    }
    return NULL;
}

blinkauth_outcome_t blinkauth_blinkapi_linked_account_delete(apr_pool_t *p, const blinkauth_config_t *cfg,
                                                             const char *user_id, const char *id)
{
    return api_call(p, cfg, "Blink delete linked account", "blink_delete", "DELETE", account_path(p, user_id, id), NULL,
                    DATA_NONE, NULL);
}

blinkauth_outcome_t blinkauth_blinkapi_user_get(apr_pool_t *p, const blinkauth_config_t *cfg, const char *user_id,
                                                blinkauth_blink_user_t **user)
{
    json_t *data = NULL;
    blinkauth_outcome_t out =
        api_call(p, cfg, "Blink get user", "blink_user", "GET",
                 apr_psprintf(p, BLINKAPI_PATH_USER, blinkauth_text_pct_encode(p, user_id)), NULL, DATA_OBJECT, &data);

    *user = NULL;
    if (out.kind != BLINKAUTH_UP_OK)
        return out;
    *user = apr_pcalloc(p, sizeof(**user));
    (*user)->email = blinkauth_json_string(data, BLINKAPI_FIELD_EMAIL);
    (*user)->first_name = blinkauth_json_string(data, BLINKAPI_FIELD_FIRST_NAME);
    (*user)->last_name = blinkauth_json_string(data, BLINKAPI_FIELD_LAST_NAME);
    return out;
}

blinkauth_outcome_t blinkauth_blinkapi_token_check(apr_pool_t *p, const blinkauth_config_t *cfg)
{
    return api_call(p, cfg, "Blink token check", "blink_check", "GET",
                    apr_psprintf(p, BLINKAPI_PATH_USER, BLINKAPI_CHECK_USER), NULL, DATA_NONE, NULL);
}
