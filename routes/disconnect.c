/* DELETE <location>/linked-accounts/<id>: Blink's Disconnect click — check, revoke, then delete in Blink. */
#include "routes.h"
#include "guard.h"
#include "counters.h"
#include "reply.h"
#include "revoke.h"
#include "blinkapi.h"
#include "envelope.h"
#include "text.h"
#include "act.h"

#include "apr_strings.h"

/* 1 when the id from the path is safe to use: clean UTF-8, bounded, no '/' however encoded, not a dot segment. */
static int id_acceptable(const char *id)
{
    return blinkauth_text_is_clean(id, BLINKAUTH_ID_MAX) && blinkauth_text_is_utf8(id) && strchr(id, '/') == NULL &&
           strstr(id, "%2F") == NULL && strstr(id, "%2f") == NULL && strcmp(id, ".") != 0 && strcmp(id, "..") != 0;
}

/* Answers a failed Blink step: 504 UPSTREAM_TIMEOUT or 502 UPSTREAM_ERROR, with the step in the log. */
static int blink_failed(request_rec *r, const blinkauth_outcome_t *out)
{
    int timeout = out->kind == BLINKAUTH_UP_TIMEOUT;

    BLINKAUTH_RLOG(APLOG_ERR, 0, r, BLALOGNO(00401) "disconnect: %s", out->why);
    blinkauth_counters_fail(r, timeout ? BLINKAUTH_M_DISCONNECT_TIMEOUT : BLINKAUTH_M_DISCONNECT_UPSTREAM_ERROR,
                            out->why);
    return blinkauth_reply_error(
        r, timeout ? HTTP_GATEWAY_TIME_OUT : HTTP_BAD_GATEWAY, timeout ? "UPSTREAM_TIMEOUT" : "UPSTREAM_ERROR",
        timeout ? "The Blink API did not answer in time; the account may still be linked. Try again."
                : "The Blink API refused or failed; the account may still be linked. Try again.");
}

/* 1 when the account may be disconnected through this app: Blink names this app's Auth ID, or none (then the
 * account's own route is taken at its word); logs a refusal. */
static int ours(request_rec *r, const blinkauth_config_t *cfg, const blinkauth_linked_account_t *la)
{
    if (la->auth_id == NULL || strcmp(la->auth_id, cfg->auth_id) == 0)
        return 1;
    BLINKAUTH_RLOG(APLOG_WARNING, 0, r,
                   BLALOGNO(00402) "disconnect refused: linked account %s belongs to Auth ID %s, not %s; nothing is "
                                   "revoked or deleted",
                   la->id, la->auth_id, cfg->auth_id);
    blinkauth_counters_add(r, BLINKAUTH_M_DISCONNECT_NOT_OURS);
    return 0;
}

/* Revokes the account's tokens at the external service (best effort: a failure is logged). */
static void tokens_revoke(request_rec *r, const blinkauth_config_t *cfg, const blinkauth_linked_account_t *la)
{
    if (cfg->revoke_url && la->refresh_token == NULL && la->access_token == NULL)
        BLINKAUTH_RLOG(APLOG_WARNING, 0, r,
                       BLALOGNO(00407) "disconnect: Blink returned linked account %s without a string access_token or "
                                       "refresh_token; nothing to revoke",
                       la->id);
    blinkauth_revoke_tokens(r, cfg, la->refresh_token, la->access_token, "disconnect");
}

/* The 200 for an account Blink no longer has. */
static int already_gone(request_rec *r, const char *id, const blinkauth_outcome_t *out)
{
    BLINKAUTH_RLOG(APLOG_INFO, 0, r, BLALOGNO(00405) "disconnect: linked account %s is already gone (%s)", id,
                   out->why);
    blinkauth_counters_add(r, BLINKAUTH_M_DISCONNECT_ALREADY_GONE);
    return blinkauth_reply_json(r, HTTP_OK, blinkauth_envelope_ok(r->pool, NULL));
}

/* The account's id as the path gives it is usable, or the refusal has been sent (0). */
static int id_checked(request_rec *r, const char *id)
{
    if (id_acceptable(id))
        return 1;
    BLINKAUTH_RLOG(APLOG_WARNING, 0, r,
                   BLALOGNO(00404) "disconnect refused: the linked account id is empty, "
                                   "over %d bytes, or has a control character, '/' or dot segment",
                   BLINKAUTH_ID_MAX);
    blinkauth_reply_error(r, HTTP_BAD_REQUEST, "BAD_REQUEST",
                          "The linked account id must be 1 to 256 printable characters without '/'.");
    return 0;
}

int blinkauth_route_disconnect(request_rec *r, const blinkauth_config_t *cfg, const char *id)
{
    /* Read the account, check it is this app's, revoke its tokens, then delete it: a lost answer to the delete never
     * leaves live tokens that nobody holds, and a repeated Disconnect finishes the job. */
    const char *user_id = NULL;
    blinkauth_linked_account_t *la = NULL;
    blinkauth_outcome_t out;

    if (r->method_number != M_DELETE)
        return blinkauth_reply_not_allowed(r, "DELETE");
    if (!blinkauth_guard_secret(r, cfg) || !blinkauth_guard_user_id(r, &user_id) || !blinkauth_guard_body(r) ||
        !id_checked(r, id)) {
        blinkauth_counters_add(r, BLINKAUTH_M_DISCONNECT_REFUSED);
        return OK;
    }
    out = blinkauth_blinkapi_linked_account_get(r->pool, cfg, user_id, id, &la);
    if (out.kind == BLINKAUTH_UP_NOT_FOUND) {
        blinkauth_act_forget(r, cfg, user_id);
        return already_gone(r, id, &out);
    }
    if (out.kind != BLINKAUTH_UP_OK)
        return blink_failed(r, &out);
    if (!ours(r, cfg, la))
        return blinkauth_reply_error(r, HTTP_NOT_FOUND, "NOT_FOUND", "This app has no linked account with that id.");
    /* Our copy of the tokens goes first: they are about to be revoked. */
    blinkauth_act_forget(r, cfg, user_id);
    tokens_revoke(r, cfg, la);
    out = blinkauth_blinkapi_linked_account_delete(r->pool, cfg, user_id, id);
    if (out.kind == BLINKAUTH_UP_NOT_FOUND)
        return already_gone(r, id, &out);
    if (out.kind != BLINKAUTH_UP_OK)
        return blink_failed(r, &out);
    BLINKAUTH_RLOG(APLOG_INFO, 0, r, BLALOGNO(00406) "disconnect: linked account %s deleted (%s)", id, out.why);
    blinkauth_counters_add(r, BLINKAUTH_M_DISCONNECT_OK);
    return blinkauth_reply_json(r, HTTP_OK, blinkauth_envelope_ok(r->pool, NULL));
}
