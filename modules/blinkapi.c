/* The Blink API: add, get and delete a user's linked account. */
#include "blinkapi.h"
#include "blinkapi_spec.h"
#include "json.h"
#include "text.h"

#include <apr_strings.h>

json_t *blinkauth_blinkapi_envelope_data(apr_pool_t *p, const char *body, apr_size_t len, const char **why)
{
    json_t *envelope = blinkauth_json_parse(p, body, len, NULL);
    json_t *data = json_object_get(envelope, BLINKAPI_FIELD_DATA);

    if (!json_is_object(data)) {
        *why = "no \"data\" object in the envelope";
        return NULL;
    }
    return data;
}

/* An authenticated call to the Blink API at path; on success *data is the envelope's "data" object. */
static blinkauth_outcome_t api_call(apr_pool_t *p, const blinkauth_config_t *cfg, const char *step, const char *method,
                                    const char *path, const json_t *body, json_t **data)
{
    blinkauth_http_request_t req =
        blinkauth_upstream_request(cfg, method, apr_pstrcat(p, blinkauth_config_api_url(cfg), path, NULL));
    blinkauth_http_response_t res;
    blinkauth_outcome_t out;
    const char *why = NULL;

    req.bearer = cfg->api_token;
    if (body) {
        req.body = blinkauth_json_dump(p, body);
        req.body_len = strlen(req.body);
        req.content_type = "application/json";
    }
    blinkauth_http_call(p, &req, &res);
    out = blinkauth_upstream_outcome(p, step, &req, &res, blinkauth_upstream_error_code(p, &res, "code"));
    if (out.kind != BLINKAUTH_UP_OK || data == NULL)
        return out;
    if ((*data = blinkauth_blinkapi_envelope_data(p, res.body, res.body_len, &why)) == NULL)
        return blinkauth_upstream_invalid(p, step, &req, &res, why);
    return out;
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

blinkauth_outcome_t blinkauth_blinkapi_linked_account_add(apr_pool_t *p, const blinkauth_config_t *cfg,
                                                          const char *user_id, const blinkauth_linked_account_t *la,
                                                          const char **id)
{
    json_t *body = blinkauth_json_bind(p, json_object());
    json_t *data = NULL;
    blinkauth_outcome_t out;

    put_string(body, BLINKAPI_FIELD_AUTH_ID, la->auth_id);
    put_string(body, BLINKAPI_FIELD_EXTERNAL_ACCOUNT_ID, la->external_account_id);
    put_string(body, BLINKAPI_FIELD_ACCESS_TOKEN, la->access_token);
    put_string(body, BLINKAPI_FIELD_REFRESH_TOKEN, la->refresh_token);
    put_string(body, BLINKAPI_FIELD_EXPIRY, la->expiry);
    json_object_set_new(body, BLINKAPI_FIELD_REAUTH_REQUIRED, json_boolean(la->reauth_required));
    out = api_call(p, cfg, "Blink add linked account", "POST",
                   apr_psprintf(p, BLINKAPI_PATH_LINKED_ACCOUNTS, blinkauth_text_pct_encode(p, user_id)), body, &data);
    *id = out.kind == BLINKAUTH_UP_OK ? blinkauth_json_string(data, BLINKAPI_FIELD_ID) : NULL;
    return out;
}

blinkauth_outcome_t blinkauth_blinkapi_linked_account_get(apr_pool_t *p, const blinkauth_config_t *cfg,
                                                          const char *user_id, const char *id,
                                                          blinkauth_linked_account_t **la)
{
    json_t *data = NULL;
    blinkauth_outcome_t out =
        api_call(p, cfg, "Blink get linked account", "GET", account_path(p, user_id, id), NULL, &data);

    *la = NULL;
    if (out.kind != BLINKAUTH_UP_OK)
        return out;
    *la = apr_pcalloc(p, sizeof(**la));
    (*la)->id = id;
    (*la)->auth_id = blinkauth_json_string(data, BLINKAPI_FIELD_AUTH_ID);
    (*la)->external_account_id = blinkauth_json_string(data, BLINKAPI_FIELD_EXTERNAL_ACCOUNT_ID);
    (*la)->access_token = blinkauth_json_string(data, BLINKAPI_FIELD_ACCESS_TOKEN);
    (*la)->refresh_token = blinkauth_json_string(data, BLINKAPI_FIELD_REFRESH_TOKEN);
    (*la)->expiry = blinkauth_json_string(data, BLINKAPI_FIELD_EXPIRY);
    (*la)->reauth_required = json_is_true(json_object_get(data, BLINKAPI_FIELD_REAUTH_REQUIRED));
    return out;
}

blinkauth_outcome_t blinkauth_blinkapi_linked_account_delete(apr_pool_t *p, const blinkauth_config_t *cfg,
                                                             const char *user_id, const char *id)
{
    return api_call(p, cfg, "Blink delete linked account", "DELETE", account_path(p, user_id, id), NULL, NULL);
}

blinkauth_outcome_t blinkauth_blinkapi_user_get(apr_pool_t *p, const blinkauth_config_t *cfg, const char *user_id,
                                                blinkauth_blink_user_t **user)
{
    json_t *data = NULL;
    blinkauth_outcome_t out =
        api_call(p, cfg, "Blink get user", "GET",
                 apr_psprintf(p, BLINKAPI_PATH_USER, blinkauth_text_pct_encode(p, user_id)), NULL, &data);

    *user = NULL;
    if (out.kind != BLINKAUTH_UP_OK)
        return out;
    *user = apr_pcalloc(p, sizeof(**user));
    (*user)->email = blinkauth_json_string(data, BLINKAPI_FIELD_EMAIL);
    (*user)->first_name = blinkauth_json_string(data, BLINKAPI_FIELD_FIRST_NAME);
    (*user)->last_name = blinkauth_json_string(data, BLINKAPI_FIELD_LAST_NAME);
    return out;
}
