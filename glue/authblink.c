/* AuthType Blink and Require blink-linked-account: httpd's authentication and authorization for actions Blink
 * sends for a user, and the user's fresh access token handed on to what serves the request. */
#include "authblink.h"
#include "guard.h"
#include "reply.h"
#include "counters.h"
#include "envelope.h"
#include "act.h"
#include "linked.h"

#include "mod_auth.h"
#include "apr_strings.h"

#define AUTH_TYPE "Blink"
#define REQUIRE_LINKED "blink-linked-account"
#define ANSWER_FILTER "BLINKAUTH_ANSWER"
#define HEADER_PREFIX "blink-auth-"
#define ACTING_KEY "blinkauth-acting"
/* The note by which the authz provider asks for the answer filter on its refusal. */
#define NOT_LINKED_NOTE "blinkauth-not-linked"

/* What authentication found for a request, kept as userdata of its pool (its request_config holds the log
 * context). */
typedef struct {
    const char *user_id;
    const blinkauth_token_copy_t *tok; /* NULL: the user has no linked account for the app */
} acting_t;

static ap_filter_rec_t *answer_filter_handle;

/* What authentication found for r, or for the request r was made from (a subrequest, an internal redirect); NULL
 * when AuthType Blink did not authenticate it. */
static const acting_t *acting_of(request_rec *r)
{
    for (; r; r = r->main ? r->main : r->prev) {
        void *a = NULL;
        if (apr_pool_userdata_get(&a, ACTING_KEY, r->pool) == APR_SUCCESS && a)
            return a;
    }
    return NULL;
}

/* 1 when r is under AuthType Blink. */
static int is_blink(request_rec *r)
{
    const char *type = ap_auth_type(r);

    return type && strcasecmp(type, AUTH_TYPE) == 0;
}

/* apr_table_do callback: collects the names of the blink-auth-* headers into the array in rec. */
static int collect_blink_header(void *rec, const char *key, const char *value)
{
    if (strncasecmp(key, HEADER_PREFIX, sizeof(HEADER_PREFIX) - 1) == 0)
        APR_ARRAY_PUSH((apr_array_header_t *)rec, const char *) = key;
    return 1;
}

/* Removes every blink-auth-* request header (the proxy secret first of all): what serves the action never sees
 * them. */
static void strip_blink_headers(request_rec *r)
{
    apr_array_header_t *names = apr_array_make(r->pool, 4, sizeof(const char *));
    int i;

    apr_table_do(collect_blink_header, names, r->headers_in, NULL);
    for (i = 0; i < names->nelts; i++)
        apr_table_unset(r->headers_in, APR_ARRAY_IDX(names, i, const char *));
}

/* Hands the user's id, app and token on: the header BlinkAuthPassToken names (or BLINK_ACCESS_TOKEN with env) and
 * the BLINK_* environment variables, for mod_proxy, CGI, mod_headers and the other modules. */
static void hand_on(request_rec *r, const blinkauth_config_t *cfg, const acting_t *a)
{
    const char *pass = blinkauth_config_pass_token(cfg), *expires;

    apr_table_setn(r->subprocess_env, "BLINK_USER_ID", a->user_id);
    apr_table_setn(r->subprocess_env, "BLINK_AUTH_ID", cfg->auth_id);
    if (a->tok == NULL)
        return;
    if (a->tok->external_account_id)
        apr_table_setn(r->subprocess_env, "BLINK_EXTERNAL_ACCOUNT_ID", a->tok->external_account_id);
    if ((expires = blinkauth_linked_expiry_text(r->pool, a->tok->expires)) != NULL)
        apr_table_setn(r->subprocess_env, "BLINK_ACCESS_TOKEN_EXPIRES", expires);
    if (strcmp(pass, "env") == 0)
        apr_table_setn(r->subprocess_env, "BLINK_ACCESS_TOKEN", a->tok->access_token);
    else if (strcasecmp(pass, "Authorization") == 0)
        apr_table_setn(r->headers_in, "Authorization", apr_pstrcat(r->pool, "Bearer ", a->tok->access_token, NULL));
    else
        apr_table_setn(r->headers_in, pass, a->tok->access_token);
}

/* The check_authn hook of AuthType Blink: the Proxy Secret, the Blink user id (then r->user), the user's linked
 * account with a fresh access token; an answer it sends itself ends the request (DONE). */
static int authenticate(request_rec *r)
{
    const blinkauth_config_t *cfg;
    const acting_t *before;
    acting_t *a;
    const char *missing, *user_id = NULL;
    int rc;

    if (!is_blink(r))
        return DECLINED;
    if ((before = acting_of(r)) != NULL) {
        r->user = (char *)before->user_id;
        return OK;
    }
    cfg = blinkauth_request_config(r);
    if ((missing = blinkauth_config_missing(cfg)) != NULL || (cfg = blinkauth_discovery_apply(r, cfg)) == NULL) {
        if (missing)
            BLINKAUTH_RLOG(APLOG_ERR, 0, r,
                           BLALOGNO(00911) "%s has AuthType Blink but no %s (it is set in the app's "
                                           "<Location>, which this one must be in or below)",
                           r->uri, missing);
        blinkauth_counters_add(r, BLINKAUTH_M_ACTION_CONFIG_ERROR);
        blinkauth_reply_config_error(r);
        return DONE;
    }
    if (!blinkauth_guard_secret(r, cfg) || !blinkauth_guard_user_id(r, &user_id)) {
        blinkauth_counters_add(r, BLINKAUTH_M_ACTION_REFUSED);
        return DONE;
    }
    r->user = (char *)user_id;
    a = apr_pcalloc(r->pool, sizeof(*a));
    a->user_id = user_id;
    if ((rc = blinkauth_act_token(r, cfg, user_id, &a->tok)) != OK)
        return rc;
    apr_pool_userdata_setn(a, ACTING_KEY, NULL, r->pool);
    strip_blink_headers(r);
    hand_on(r, cfg, a);
    if (a->tok)
        blinkauth_counters_add(r, BLINKAUTH_M_ACTION_OK);
    return OK;
}

/* Require blink-linked-account: granted when the user AuthType Blink authenticated has a linked account for the
 * app; else the 403 NOT_LINKED answer is readied (httpd sends it). */
static authz_status linked_account_check(request_rec *r, const char *line, const void *parsed)
{
    const blinkauth_config_t *cfg = blinkauth_request_config(r);
    const acting_t *a;
    const char *body;

    if (r->user == NULL)
        return AUTHZ_DENIED_NO_USER;
    if ((a = acting_of(r)) == NULL) {
        BLINKAUTH_RLOG(APLOG_ERR, 0, r, BLALOGNO(00912) "%s: Require " REQUIRE_LINKED " needs AuthType " AUTH_TYPE,
                       r->uri);
        return AUTHZ_GENERAL_ERROR;
    }
    if (a->tok)
        return AUTHZ_GRANTED;
    BLINKAUTH_RLOG(APLOG_INFO, 0, r, BLALOGNO(00913) "action refused: the user has no linked account for this app");
    blinkauth_counters_add(r, BLINKAUTH_M_ACTION_NOT_LINKED);
    body = blinkauth_envelope_error(r->pool, "NOT_LINKED",
                                    apr_pstrcat(r->pool, "Connect your ", blinkauth_config_service_name(r->pool, cfg),
                                                " account in Blink first: open this app in Blink's apps page.", NULL),
                                    NULL);
    /* mod_authz_core answers a refused user with 401 (403 with AuthzSendForbiddenOnFailure On) and an HTML page:
     * both get the envelope as their text, and the filter makes the answer 403 application/json. */
    ap_custom_response(r, HTTP_UNAUTHORIZED, body);
    ap_custom_response(r, HTTP_FORBIDDEN, body);
    apr_table_setn(r->notes, NOT_LINKED_NOTE, "1");
    return AUTHZ_DENIED;
}

/* The output filter on a NOT_LINKED answer: httpd's error answer becomes 403 with the JSON envelope's type. */
static apr_status_t answer_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;

    if (r->status == HTTP_UNAUTHORIZED || r->status == HTTP_FORBIDDEN) {
        r->status = HTTP_FORBIDDEN;
        r->status_line = NULL;
        ap_set_content_type(r, BLINKAUTH_JSON_TYPE);
        apr_table_setn(r->headers_out, "Cache-Control", "no-store");
        apr_table_unset(r->err_headers_out, "WWW-Authenticate");
    }
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, bb);
}

/* insert_error_filter: puts the answer filter on the error answer of a NOT_LINKED refusal. */
static void insert_error_filter(request_rec *r)
{
    if (apr_table_get(r->notes, NOT_LINKED_NOTE))
        ap_add_output_filter_handle(answer_filter_handle, NULL, r, r->connection);
}

/* note_auth_failure for AuthType Blink: Blink, not a person, authenticates, so no challenge is sent. */
static int note_auth_failure(request_rec *r, const char *type)
{
    return strcasecmp(type, AUTH_TYPE) == 0 ? OK : DECLINED;
}

/* The module's own routes authenticate themselves (Blink's by its secret, the browser's by the flow): under
 * AuthType Blink they skip httpd's authentication, which would ask the person's browser for Blink's secret. */
static int own_routes_access(request_rec *r)
{
    return is_blink(r) && blinkauth_is_own_route(r) ? OK : DECLINED;
}

static const authz_provider linked_account_provider = {&linked_account_check, NULL};

void blinkauth_authblink_register_hooks(apr_pool_t *p)
{
    ap_hook_check_access_ex(own_routes_access, NULL, NULL, APR_HOOK_FIRST, AP_AUTH_INTERNAL_PER_CONF);
    ap_hook_check_authn(authenticate, NULL, NULL, APR_HOOK_MIDDLE, AP_AUTH_INTERNAL_PER_CONF);
    ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, REQUIRE_LINKED, AUTHZ_PROVIDER_VERSION, &linked_account_provider,
                              AP_AUTH_INTERNAL_PER_CONF);
    ap_hook_note_auth_failure(note_auth_failure, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_insert_error_filter(insert_error_filter, NULL, NULL, APR_HOOK_MIDDLE);
    answer_filter_handle = ap_register_output_filter(ANSWER_FILTER, answer_filter, NULL, AP_FTYPE_CONTENT_SET);
}
