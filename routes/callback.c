/* GET <location>/callback: the browser returns from the external service; exchange, identify, save in Blink. */
#include "routes.h"
#include "cache.h"
#include "counters.h"
#include "reply.h"
#include "revoke.h"
#include "save.h"
#include "failure.h"
#include "redact.h"
#include "browser.h"
#include "blinkapi.h"
#include "crypto.h"
#include "provider.h"
#include "text.h"
#include "linked.h"
#include "act.h"

#include "apr_strings.h"

/* Longest authorization code accepted. */
#define CODE_MAX 2048

#define TITLE_EXPIRED "This link has expired"
#define SAY_EXPIRED "This link has expired or was already used. Go back to Blink and click Connect again."

/* Longest error_description of a provider's that is logged. */
#define DESCRIPTION_MAX 200

/* 1 when code is 1 to CODE_MAX characters of RFC 6749's VSCHAR (%x20-7E, appendix A.11): no service
 * issues anything else, so anything else is not sent on to the token endpoint. */
static int code_acceptable(const char *code)
{
    const char *c;

    if (!blinkauth_text_is_clean(code, CODE_MAX))
        return 0;
    for (c = code; *c; c++)
        if ((unsigned char)*c > 0x7e)
            return 0;
    return 1;
}

/* The page for a callback from a browser that did not open the start URL: the connect stays for the one that did. */
static int other_browser(request_rec *r, const char *why)
{
    BLINKAUTH_RLOG(APLOG_WARNING, 0, r, BLALOGNO(00309) "callback refused: %s", why);
    blinkauth_counters_add(r, BLINKAUTH_M_CALLBACK_OTHER_BROWSER);
    return blinkauth_reply_page(r, HTTP_BAD_REQUEST, "Not connected: another browser",
                                "This sign-in belongs to a connect started in another browser, so nothing was "
                                "connected. Open the Connect link from Blink in this browser, or finish in the one "
                                "where you opened it.");
}

/* The "expired or already used" page, logging why. */
static int expired(request_rec *r, const char *why)
{
    BLINKAUTH_RLOG(APLOG_WARNING, 0, r, BLALOGNO(00301) "callback refused: %s", why);
    blinkauth_counters_add(r, BLINKAUTH_M_CALLBACK_EXPIRED);
    return blinkauth_reply_page(r, HTTP_BAD_REQUEST, TITLE_EXPIRED, SAY_EXPIRED);
}

/* How long a completed connect is remembered, so that a reload of the callback says "already connected". */
#define DONE_TTL apr_time_from_sec(600)

/* A step after the code exchange failed with nothing saved: revokes the tokens, then shows the failure page. */
static int unsaved(request_rec *r, const blinkauth_config_t *cfg, const blinkauth_tokens_t *tokens,
                   const blinkauth_outcome_t *out, const char *party, const char *refused_say)
{
    blinkauth_revoke_tokens(r, cfg, tokens->refresh_token, tokens->access_token,
                            "callback: revoking the unsaved tokens");
    return blinkauth_failure_page(r, out, party, refused_say);
}

/* The provider sent the browser back with error=... (and maybe error_description): nothing to save. */
static int provider_error(request_rec *r, const char *error, const char *description)
{
    const char *code = blinkauth_text_is_b64url(error, 64) ? error : "(unreadable)";
    blinkauth_outcome_t out = {BLINKAUTH_UP_FAILED, 400, NULL, code, 0, 0};

    BLINKAUTH_RLOG(APLOG_INFO, 0, r,
                   BLALOGNO(00304) "callback: the external service answered error=%s error_description=\"%s\"", code,
                   description ? blinkauth_text_log_safe(r->pool, description, DESCRIPTION_MAX) : "");
    if (strcmp(code, "access_denied") == 0) {
        blinkauth_counters_add(r, BLINKAUTH_M_CALLBACK_CANCELLED);
        return blinkauth_reply_page(r, HTTP_OK, "Connection cancelled",
                                    "You cancelled the connection, so nothing was saved. You can close this window, "
                                    "or go back to Blink and click Connect again.");
    }
    return blinkauth_failure_answer(r, &out, "The external service",
                                    apr_pstrcat(r->pool, "The external service did not grant access (", code,
                                                "). Nothing was saved. Go back to Blink and click Connect again.",
                                                NULL));
}

/* How the pages name a Blink user: "First Last (email)", what of it Get User told, or NULL. */
static const char *user_name(apr_pool_t *p, const blinkauth_blink_user_t *user)
{
    const char *name;

    if (user == NULL)
        return NULL;
    name = user->first_name && user->last_name ? apr_pstrcat(p, user->first_name, " ", user->last_name, NULL)
           : user->first_name                  ? user->first_name
                                               : user->last_name;
    if (name && user->email)
        return apr_pstrcat(p, name, " (", user->email, ")", NULL);
    return name ? name : user->email;
}

/* The Blink user the flow is for (Get User), or NULL when BlinkAuthMatchEmail is Off and the Blink API did not tell
 * (the pages then do without the name); *out is the step's outcome. */
static const blinkauth_blink_user_t *blink_user(request_rec *r, const blinkauth_config_t *cfg,
                                                const blinkauth_flow_t *flow, blinkauth_outcome_t *out)
{
    blinkauth_blink_user_t *user = NULL;

    *out = blinkauth_blinkapi_user_get(r->pool, cfg, flow->user_id, &user);
    if (out->kind != BLINKAUTH_UP_OK && !blinkauth_config_match_email(cfg))
        BLINKAUTH_RLOG(APLOG_INFO, 0, r, BLALOGNO(00307) "callback: the page will not name the Blink user: %s",
                       out->why);
    return user;
}

/* 1 when the external account proves the Blink user's e-mail: verified, and equal but for ASCII case. */
static int email_matches(const blinkauth_blink_user_t *user, const blinkauth_identity_t *who)
{
    return user && user->email && who->email && who->email_verified && strcasecmp(user->email, who->email) == 0;
}

/* The link was for another person (BlinkAuthMatchEmail): revokes the tokens and says whose Blink account it was for. */
static int someone_else(request_rec *r, const blinkauth_config_t *cfg, const blinkauth_tokens_t *tokens,
                        const blinkauth_blink_user_t *user, const blinkauth_identity_t *who)
{
    const char *service = blinkauth_config_service_name(r->pool, cfg), *owner = user_name(r->pool, user);

    BLINKAUTH_RLOG(APLOG_WARNING, 0, r,
                   BLALOGNO(00308) "callback refused: the external account's e-mail is %s, not the Blink user's "
                                   "(BlinkAuthMatchEmail); its tokens are revoked, nothing is saved",
                   who->email ? (who->email_verified ? "another one" : "not verified") : "not given");
    blinkauth_revoke_tokens(r, cfg, tokens->refresh_token, tokens->access_token,
                            "callback: revoking the tokens of another person's account");
    blinkauth_counters_add(r, BLINKAUTH_M_CALLBACK_SOMEONE_ELSE);
    return blinkauth_reply_page(
        r, HTTP_FORBIDDEN, "Not connected: this link is for someone else",
        apr_pstrcat(r->pool, "This link was made for the Blink account of ", owner ? owner : "another person",
                    ", but the ", service, " account you signed in with (", who->account_id,
                    ") does not prove that person's e-mail address. Nothing "
                    "was connected. If someone sent you this link, ask them to connect their own "
                    "account; to connect yours, click Connect in your own Blink app.",
                    NULL));
}

/* The page for a connect that is done: Blink holds the account (added, or updated when it was there already). */
static int connected(request_rec *r, const blinkauth_config_t *cfg, const blinkauth_blink_user_t *user,
                     const blinkauth_linked_account_t *la, blinkauth_save_t saved)
{
    const char *named = user_name(r->pool, user);

    BLINKAUTH_RLOG(APLOG_INFO, 0, r, BLALOGNO(00305) "callback: linked account %s %s for Auth ID %s",
                   la->id ? la->id : "(no id returned)", saved == BLINKAUTH_SAVE_UPDATED ? "updated" : "saved",
                   la->auth_id);
    blinkauth_counters_add(r, BLINKAUTH_M_CALLBACK_CONNECTED);
    return blinkauth_reply_page(
        r, HTTP_OK, "Connected",
        apr_pstrcat(r->pool, "Connected as ", la->external_account_id, " at ",
                    blinkauth_config_service_name(r->pool, cfg), named ? " to the Blink account of " : "",
                    named ? named : "", saved == BLINKAUTH_SAVE_UPDATED ? " (the existing connection was renewed)" : "",
                    ". You can close this window.", NULL));
}

/* The page for a save whose answer from Blink was lost and could not be checked (logged by the save): the tokens are
 * kept. */
static int unconfirmed(request_rec *r, const blinkauth_outcome_t *out)
{
    blinkauth_counters_fail(r, BLINKAUTH_M_CALLBACK_UNCONFIRMED, out->why);
    return blinkauth_reply_page(r, out->kind == BLINKAUTH_UP_TIMEOUT ? HTTP_GATEWAY_TIME_OUT : HTTP_BAD_GATEWAY,
                                "Not sure it is connected",
                                "Blink did not confirm that the connection was saved. Look at the app in Blink: if it "
                                "shows as connected, you are done; if not, click Connect again.");
}

/* Exchanges the code, learns the account, saves it in Blink and shows the result; remembers a success for the
 * browser (browser: its cookie's hash) so that a reload says so. */
static int connect_complete(request_rec *r, const blinkauth_config_t *cfg, const blinkauth_flow_t *flow,
                            const char *code, const char *state, const char *browser)
{
    blinkauth_tokens_t tokens = {0};
    blinkauth_linked_account_t la = {0};
    blinkauth_identity_t who;
    const blinkauth_blink_user_t *user;
    blinkauth_outcome_t out;
    blinkauth_save_t saved;

    out = blinkauth_provider_code_exchange(r->pool, cfg, code, flow->redirect_uri, flow->verifier, &tokens);
    if (out.kind != BLINKAUTH_UP_OK)
        return blinkauth_failure_page(r, &out, "The external service",
                                      "The external service did not accept the login (it may have expired or been "
                                      "used already). Nothing was saved. Go back to Blink and click Connect again.");
    out = blinkauth_provider_identify(r->pool, cfg, &tokens, flow->nonce, &who);
    if (out.kind != BLINKAUTH_UP_OK)
        return unsaved(r, cfg, &tokens, &out, "The external service",
                       "Your account at the external service could not be identified. Nothing was "
                       "saved. Go back to Blink and click Connect again.");
    user = blink_user(r, cfg, flow, &out);
    if (blinkauth_config_match_email(cfg) && out.kind != BLINKAUTH_UP_OK)
        return unsaved(r, cfg, &tokens, &out, "Blink",
                       "Your Blink account could not be checked against the external service's, so nothing was "
                       "saved. Go back to Blink and click Connect again in a moment.");
    if (blinkauth_config_match_email(cfg) && !email_matches(user, &who))
        return someone_else(r, cfg, &tokens, user, &who);
    la.external_account_id = who.account_id;
    la.auth_id = flow->auth_id;
    la.access_token = tokens.access_token;
    la.refresh_token = tokens.refresh_token;
    la.expiry = blinkauth_linked_expiry_text(r->pool, blinkauth_linked_expires(tokens.expires_in, apr_time_now()));
    saved = blinkauth_save_account(r, cfg, flow->user_id, &la, &out);
    if (saved == BLINKAUTH_SAVE_REFUSED)
        return unsaved(r, cfg, &tokens, &out, "Blink",
                       "Blink did not accept the connection, so it was not made. Go back to Blink and click Connect "
                       "again.");
    if (saved == BLINKAUTH_SAVE_UNKNOWN)
        return unconfirmed(r, &out);
    blinkauth_act_keep(r, cfg, flow->user_id, &la);
    if (blinkauth_flow_done_put(blinkauth_cache_store(), r->pool, state, browser, la.external_account_id, DONE_TTL) !=
        APR_SUCCESS)
        BLINKAUTH_RLOG(APLOG_INFO, 0, r,
                       BLALOGNO(00314) "callback: the flow store did not keep the note of this completed connect; a "
                                       "reload will say the link has expired");
    return connected(r, cfg, user, &la, saved);
}

/* A callback whose flow record is gone: "already connected" when this browser completed it a moment ago, else the
 * expired page with why. */
static int gone(request_rec *r, const blinkauth_flow_store_t *store, const char *state, const char *browser,
                const char *why)
{
    const char *account = NULL;

    if (browser == NULL || blinkauth_flow_done_get(store, r->pool, state, browser, &account) != APR_SUCCESS)
        return expired(r, why);
    BLINKAUTH_RLOG(APLOG_INFO, 0, r,
                   BLALOGNO(00315) "callback: this browser completed this connect already; showing it again");
    blinkauth_counters_add(r, BLINKAUTH_M_CALLBACK_ALREADY_CONNECTED);
    return blinkauth_reply_page(r, HTTP_OK, "Already connected",
                                apr_pstrcat(r->pool, "This connection was made a moment ago, as ", account,
                                            ". You can close this window.", NULL));
}

int blinkauth_route_callback(request_rec *r, const blinkauth_config_t *cfg)
{
    const blinkauth_flow_store_t *store = blinkauth_cache_store();
    apr_table_t *query;
    const char *args = r->args, *state, *code, *error, *why = NULL, *browser;
    blinkauth_flow_t *flow = NULL;
    apr_status_t rv;
    int repeated = 0;

    blinkauth_redact_code(r);
    /* HEAD (header_only) must not spend the state: link previewers send it. */
    if (r->method_number != M_GET || r->header_only)
        return blinkauth_reply_not_allowed(r, "GET");
    if ((query = blinkauth_text_form_parse(r->pool, args)) == NULL)
        return expired(r, "the query string is malformed");
    state = blinkauth_text_form_single(query, "state", &repeated);
    if (!blinkauth_text_is_b64url(state, BLINKAUTH_RANDOM_B64_LEN) || strlen(state) != BLINKAUTH_RANDOM_B64_LEN)
        return expired(r, repeated ? "state is repeated" : "state is missing or malformed");
    blinkauth_logctx_flow(r, state);
    if (store == NULL)
        return expired(r, "no flow store");
    /* Only the browser that opened the start URL may finish the connect; another one does not use it up. */
    browser = blinkauth_browser_cookie_get(r, blinkauth_browser_cookie_name(r, cfg, state));
    browser = browser ? blinkauth_browser_hash(r->pool, browser) : NULL;
    rv = blinkauth_flow_take(store, r->pool, state, apr_time_from_sec(blinkauth_config_state_timeout(cfg)),
                             browser ? browser : "", &flow, &why);
    if (rv == APR_EACCES)
        return other_browser(r, browser ? why : "the browser sent no cookie of this connect");
    if (rv == APR_EBADF)
        return expired(r, why);
    if (rv == APR_NOTFOUND)
        return gone(r, store, state, browser,
                    "no flow record for this state: unknown, already used or expired (with more than one "
                    "server, set BlinkAuthCache to a shared store)");
    if (rv == APR_TIMEUP)
        return expired(r, "the flow record is older than BlinkAuthStateTimeout");
    if (rv != APR_SUCCESS) {
        BLINKAUTH_RLOG(APLOG_ERR, rv, r, BLALOGNO(00306) "callback: %s", why);
        blinkauth_counters_fail(r, BLINKAUTH_M_CALLBACK_STORE_ERROR, why);
        return blinkauth_reply_page(r, HTTP_SERVICE_UNAVAILABLE, BLINKAUTH_TITLE_NOT_CONNECTED,
                                    "The connection could not be completed right now. Go back to Blink and click "
                                    "Connect again in a moment.");
    }
    blinkauth_logctx_user(r, flow->user_id);
    if (strcmp(flow->auth_id, cfg->auth_id) != 0)
        return expired(r, "the flow record belongs to another app (Auth ID)");

    error = blinkauth_text_form_single(query, "error", &repeated);
    if (error || repeated)
        return provider_error(r, error ? error : "", apr_table_get(query, "error_description"));
    code = blinkauth_text_form_single(query, "code", &repeated);
    if (!code_acceptable(code))
        return expired(r, repeated ? "code is repeated"
                                   : "code is missing, too long or has characters outside RFC 6749's VSCHAR");
    return connect_complete(r, cfg, flow, code, state, browser);
}
