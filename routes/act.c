/* Acting for the user: find the user's linked account, refresh its access token once per host, save the rotated
 * tokens before using them, and tell Blink when the link is dead. */
#include "act.h"
#include "tokencache.h"
#include "counters.h"
#include "reply.h"
#include "linked.h"
#include "provider.h"

#include "apr_strings.h"

/* The user's account for the app as one read found it. */
typedef struct {
    blinkauth_token_copy_t *tok; /* NULL: the user has none */
    int reauth;                  /* Blink says the user must connect again */
    int from_copy;               /* read from our copy, not from Blink */
} account_t;

/* Answers a failed step at an upstream: 504 UPSTREAM_TIMEOUT or 502 UPSTREAM_ERROR; nothing was changed. */
static int upstream_failed(request_rec *r, const blinkauth_outcome_t *out, const char *party)
{
    int timeout = out->kind == BLINKAUTH_UP_TIMEOUT;

    BLINKAUTH_RLOG(APLOG_ERR, 0, r, BLALOGNO(00901) "action: %s; nothing was changed", out->why);
    blinkauth_counters_fail(r, timeout ? BLINKAUTH_M_ACTION_TIMEOUT : BLINKAUTH_M_ACTION_UPSTREAM_ERROR, out->why);
    blinkauth_reply_error(
        r, timeout ? HTTP_GATEWAY_TIME_OUT : HTTP_BAD_GATEWAY, timeout ? "UPSTREAM_TIMEOUT" : "UPSTREAM_ERROR",
        apr_pstrcat(r->pool, party, timeout ? " did not answer in time" : " could not be reached or failed",
                    "; nothing was done. Try again in a moment.", NULL));
    return DONE;
}

/* Answers 401 REAUTH_REQUIRED: the user must connect the account again in Blink. */
static int reauth_required(request_rec *r, const blinkauth_config_t *cfg)
{
    blinkauth_counters_add(r, BLINKAUTH_M_ACTION_REAUTH_REQUIRED);
    blinkauth_reply_error(r, HTTP_UNAUTHORIZED, "REAUTH_REQUIRED",
                          apr_pstrcat(r->pool, "Your ", blinkauth_config_service_name(r->pool, cfg),
                                      " connection has expired or was revoked. Open this app in Blink's apps page and "
                                      "connect again.",
                                      NULL));
    return DONE;
}

/* Our copy of the user's tokens, or NULL: none, no BlinkAuthTokenKey, or a store that failed (Blink is asked). */
static blinkauth_token_copy_t *copy_read(request_rec *r, const blinkauth_config_t *cfg, const char *user_id)
{
    blinkauth_token_copy_t *tok = NULL;

    if (!blinkauth_tokencache_enabled(cfg) || blinkauth_tokencache_get(r, cfg, user_id, &tok) != APR_SUCCESS)
        return NULL;
    return tok;
}

/* Keeps tok as our copy when there is a token cache; 1 when it was kept. */
static int copy_write(request_rec *r, const blinkauth_config_t *cfg, const char *user_id,
                      const blinkauth_token_copy_t *tok)
{
    return blinkauth_tokencache_enabled(cfg) && blinkauth_tokencache_put(r, cfg, user_id, tok) == APR_SUCCESS;
}

/* The user's account for the app as Blink lists it into *acc; the list's outcome (a user Blink does not know has
 * none). */
static blinkauth_outcome_t blink_read(request_rec *r, const blinkauth_config_t *cfg, const char *user_id,
                                      account_t *acc)
{
    apr_array_header_t *accounts = NULL;
    const blinkauth_linked_account_t *la;
    blinkauth_outcome_t out = blinkauth_blinkapi_linked_account_list(r->pool, cfg, user_id, &accounts);

    memset(acc, 0, sizeof(*acc));
    if (out.kind == BLINKAUTH_UP_NOT_FOUND)
        out.kind = BLINKAUTH_UP_OK;
    if (out.kind != BLINKAUTH_UP_OK || (la = blinkauth_linked_pick(accounts, cfg->auth_id)) == NULL)
        return out;
    acc->tok = blinkauth_linked_copy_of(r->pool, la);
    acc->reauth = la->reauth_required;
    return out;
}

/* Reads the user's account: our copy, else Blink's list (whose answer then becomes our copy). */
static blinkauth_outcome_t lookup(request_rec *r, const blinkauth_config_t *cfg, const char *user_id, account_t *acc)
{
    blinkauth_outcome_t out = {.kind = BLINKAUTH_UP_OK};

    if ((acc->tok = copy_read(r, cfg, user_id)) != NULL) {
        acc->reauth = 0;
        acc->from_copy = 1;
        return out;
    }
    out = blink_read(r, cfg, user_id, acc);
    if (out.kind == BLINKAUTH_UP_OK && acc->tok && !acc->reauth)
        copy_write(r, cfg, user_id, acc->tok);
    return out;
}

/* Writes tok's tokens and expiry to the user's account in Blink (Update), which clears reauth_required. */
static blinkauth_outcome_t blink_write(request_rec *r, const blinkauth_config_t *cfg, const char *user_id,
                                       blinkauth_token_copy_t *tok)
{
    blinkauth_linked_account_t la = {0};
    account_t acc;
    blinkauth_outcome_t out;

    /* A connect whose Add answered without an id left a copy without it: the list names it. */
    if (tok->linked_account_id == NULL) {
        out = blink_read(r, cfg, user_id, &acc);
        if (out.kind != BLINKAUTH_UP_OK)
            return out;
        tok->linked_account_id = acc.tok ? acc.tok->linked_account_id : NULL;
    }
    la.id = tok->linked_account_id;
    la.access_token = tok->access_token;
    la.refresh_token = tok->refresh_token;
    la.expiry = blinkauth_linked_expiry_text(r->pool, tok->expires);
    if (la.id == NULL) {
        out.kind = BLINKAUTH_UP_NOT_FOUND;
        out.why = "Blink lists no linked account of this app for the user";
        return out;
    }
    return blinkauth_blinkapi_linked_account_update(r->pool, cfg, user_id, &la);
}

/* Saves refreshed tokens: our copy first (it then holds the rotated refresh token even if Blink does not answer),
 * then Blink; a copy Blink took is marked so. */
static void save_refreshed(request_rec *r, const blinkauth_config_t *cfg, const char *user_id,
                           blinkauth_token_copy_t *tok)
{
    int kept;
    blinkauth_outcome_t out;

    tok->synced = 0;
    kept = copy_write(r, cfg, user_id, tok);
    out = blink_write(r, cfg, user_id, tok);
    if (out.kind == BLINKAUTH_UP_OK) {
        tok->synced = 1;
        if (kept)
            copy_write(r, cfg, user_id, tok);
    }
    else if (kept)
        BLINKAUTH_RLOG(APLOG_WARNING, 0, r,
                       BLALOGNO(00905) "action: %s; the refreshed tokens are kept in the token cache, and a later "
                                       "action writes them to Blink again",
                       out.why);
    else
        BLINKAUTH_RLOG(APLOG_ERR, 0, r,
                       BLALOGNO(00906) "action: %s; the refreshed tokens are used but saved nowhere (no "
                                       "BlinkAuthTokenKey): if the service rotates refresh tokens, the user will have "
                                       "to connect again",
                       out.why);
}

/* Writes a copy Blink has not taken yet (a refresh whose Update failed) to Blink again; not while another request of
 * the user holds the refresh lock: it is writing them itself. */
static void resync(request_rec *r, const blinkauth_config_t *cfg, const char *user_id)
{
    blinkauth_token_copy_t *tok;
    blinkauth_outcome_t out;
    void *held = NULL;

    if (blinkauth_refreshlock_acquire(r, cfg, user_id, 0, &held) != APR_SUCCESS)
        return;
    if ((tok = copy_read(r, cfg, user_id)) != NULL && !tok->synced) {
        if ((out = blink_write(r, cfg, user_id, tok)).kind != BLINKAUTH_UP_OK)
            BLINKAUTH_RLOG(APLOG_WARNING, 0, r,
                           BLALOGNO(00907) "action: %s; the refreshed tokens stay in the token cache", out.why);
        else {
            tok->synced = 1;
            copy_write(r, cfg, user_id, tok);
            BLINKAUTH_RLOG(APLOG_INFO, 0, r, BLALOGNO(00908) "action: Blink now holds the tokens refreshed earlier");
        }
    }
    blinkauth_refreshlock_release(held);
}

/* The link is dead (why: the refusal): Blink is told the user must connect again, our copy goes, and 401
 * REAUTH_REQUIRED answers. */
static int link_dead(request_rec *r, const blinkauth_config_t *cfg, const char *user_id,
                     const blinkauth_token_copy_t *tok, const char *why)
{
    blinkauth_linked_account_t la = {0};
    blinkauth_outcome_t out;

    BLINKAUTH_RLOG(APLOG_NOTICE, 0, r,
                   BLALOGNO(00909) "action: %s; the link is dead: Blink is told that the user must connect again", why);
    blinkauth_counters_fail(r, BLINKAUTH_M_REFRESH_DEAD, why);
    la.id = tok->linked_account_id;
    la.reauth_required = 1;
    if (la.id && (out = blinkauth_blinkapi_linked_account_update(r->pool, cfg, user_id, &la)).kind != BLINKAUTH_UP_OK)
        BLINKAUTH_RLOG(APLOG_WARNING, 0, r, BLALOGNO(00910) "action: %s; Blink was not told to ask for a new connect",
                       out.why);
    if (blinkauth_tokencache_enabled(cfg))
        blinkauth_tokencache_remove(r, cfg, user_id);
    return reauth_required(r, cfg);
}

/* 1 when other holds a refresh token that tok's is not: tokens saved by someone else since tok was read. */
static int newer(const blinkauth_token_copy_t *other, const blinkauth_token_copy_t *tok)
{
    return other && other->refresh_token &&
           (tok->refresh_token == NULL || strcmp(other->refresh_token, tok->refresh_token) != 0);
}

/* Tokens another server saved after tok was read (our copy's, else Blink's), or NULL when there are none. */
static blinkauth_token_copy_t *saved_elsewhere(request_rec *r, const blinkauth_config_t *cfg, const char *user_id,
                                               const blinkauth_token_copy_t *tok)
{
    blinkauth_token_copy_t *other = copy_read(r, cfg, user_id);
    account_t acc;

    if (newer(other, tok))
        return other;
    if (blink_read(r, cfg, user_id, &acc).kind == BLINKAUTH_UP_OK && !acc.reauth && newer(acc.tok, tok))
        return acc.tok;
    return NULL;
}

/* Refreshes *tokp at the provider and saves the result; OK with *tokp the tokens to use, or DONE with the answer
 * sent. A refusal is checked against tokens saved elsewhere meanwhile, once (again is 1 on that second try). */
static int refresh(request_rec *r, const blinkauth_config_t *cfg, const char *user_id, blinkauth_token_copy_t **tokp,
                   int again)
{
    blinkauth_token_copy_t *tok = *tokp, *next;
    blinkauth_tokens_t issued = {0};
    blinkauth_outcome_t out;
    apr_time_t now = apr_time_now();

    if (tok->refresh_token == NULL)
        return blinkauth_linked_expired(tok, now)
                   ? link_dead(r, cfg, user_id, tok, "the access token has expired and there is no refresh token")
                   : OK; /* used while it lasts */
    out = blinkauth_provider_refresh(r->pool, cfg, tok->refresh_token, &issued);
    if (out.kind == BLINKAUTH_UP_OK) {
        next = apr_pmemdup(r->pool, tok, sizeof(*tok));
        next->access_token = issued.access_token;
        next->refresh_token = issued.refresh_token ? issued.refresh_token : tok->refresh_token;
        next->expires = blinkauth_linked_expires(issued.expires_in, now);
        next->obtained = now;
        save_refreshed(r, cfg, user_id, next);
        blinkauth_counters_add(r, BLINKAUTH_M_REFRESH_OK);
        BLINKAUTH_RLOG(APLOG_INFO, 0, r,
                       BLALOGNO(00902) "action: refreshed the access token of linked account %s (%s refresh token)",
                       next->linked_account_id ? next->linked_account_id : "(id unknown)",
                       issued.refresh_token ? "a new" : "the same");
        *tokp = next;
        return OK;
    }
    if (!blinkauth_provider_grant_dead(&out)) {
        blinkauth_counters_fail(
            r, out.kind == BLINKAUTH_UP_TIMEOUT ? BLINKAUTH_M_REFRESH_TIMEOUT : BLINKAUTH_M_REFRESH_FAILED, out.why);
        return upstream_failed(r, &out, blinkauth_config_service_name(r->pool, cfg));
    }
    if (!again && (next = saved_elsewhere(r, cfg, user_id, tok)) != NULL) {
        BLINKAUTH_RLOG(APLOG_NOTICE, 0, r,
                       BLALOGNO(00903) "action: %s, but newer tokens were saved meanwhile (another server refreshed "
                                       "them); using those",
                       out.why);
        blinkauth_counters_add(r, BLINKAUTH_M_REFRESH_RECOVERED);
        copy_write(r, cfg, user_id, next); /* else this server's copy keeps the spent refresh token */
        *tokp = next;
        return blinkauth_linked_fresh(next, now, blinkauth_config_refresh_before(cfg))
                   ? OK
                   : refresh(r, cfg, user_id, tokp, 1);
    }
    return link_dead(r, cfg, user_id, tok, out.why);
}

/* Answers 504 for a request that waited BlinkAuthTimeout for another one's refresh of the same account. */
static int busy(request_rec *r)
{
    blinkauth_outcome_t out = {.kind = BLINKAUTH_UP_TIMEOUT};

    out.why = "another request's refresh of the same linked account took longer than BlinkAuthTimeout";
    return upstream_failed(r, &out, "The external service");
}

/* Refreshes acc's token among the requests of this host (and of the servers sharing the token cache): the first
 * refreshes, the others wait for it and then find its tokens; OK or DONE as blinkauth_act_token. */
static int refresh_once(request_rec *r, const blinkauth_config_t *cfg, const char *user_id, account_t *acc)
{
    apr_interval_time_t wait = apr_time_from_sec(blinkauth_config_timeout(cfg));
    int before = blinkauth_config_refresh_before(cfg), rc = OK;
    const char *lease = NULL;
    blinkauth_token_copy_t *other;
    blinkauth_outcome_t out;
    void *held = NULL;

    if (blinkauth_refreshlock_acquire(r, cfg, user_id, wait, &held) != APR_SUCCESS)
        return busy(r);
    /* Whoever had the lock before may have refreshed already. */
    out = lookup(r, cfg, user_id, acc);
    if (out.kind != BLINKAUTH_UP_OK)
        rc = upstream_failed(r, &out, "Blink");
    else if (acc->tok && acc->reauth)
        rc = reauth_required(r, cfg);
    else if (acc->tok && !blinkauth_linked_fresh(acc->tok, apr_time_now(), before)) {
        /* Servers that share the token cache claim the refresh with a lease (nothing to claim otherwise); a store
         * that fails lets the refresh go ahead. */
        if (blinkauth_tokencache_lease(r, cfg, user_id, wait, &lease) == APR_TIMEUP)
            rc = busy(r);
        else if (lease && newer(other = copy_read(r, cfg, user_id), acc->tok))
            acc->tok = other; /* another server refreshed it while this one waited */
        if (rc == OK && !blinkauth_linked_fresh(acc->tok, apr_time_now(), before))
            rc = refresh(r, cfg, user_id, &acc->tok, 0);
        if (lease)
            blinkauth_tokencache_lease_release(r, cfg, user_id, lease);
    }
    blinkauth_refreshlock_release(held);
    return rc;
}

int blinkauth_act_token(request_rec *r, const blinkauth_config_t *cfg, const char *user_id,
                        const blinkauth_token_copy_t **tok)
{
    account_t acc = {0};
    blinkauth_outcome_t out = lookup(r, cfg, user_id, &acc);
    int rc;

    *tok = NULL;
    if (out.kind != BLINKAUTH_UP_OK)
        return upstream_failed(r, &out, "Blink");
    if (acc.tok && acc.reauth) {
        BLINKAUTH_RLOG(APLOG_INFO, 0, r,
                       BLALOGNO(00904) "action refused: Blink says linked account %s must be connected again",
                       acc.tok->linked_account_id ? acc.tok->linked_account_id : "(id unknown)");
        return reauth_required(r, cfg);
    }
    if (acc.tok && acc.from_copy && !acc.tok->synced)
        resync(r, cfg, user_id);
    if (acc.tok && !blinkauth_linked_fresh(acc.tok, apr_time_now(), blinkauth_config_refresh_before(cfg)) &&
        (rc = refresh_once(r, cfg, user_id, &acc)) != OK)
        return rc;
    *tok = acc.tok;
    return OK;
}

void blinkauth_act_keep(request_rec *r, const blinkauth_config_t *cfg, const char *user_id,
                        const blinkauth_linked_account_t *la)
{
    blinkauth_token_copy_t *tok;

    if (!blinkauth_tokencache_enabled(cfg))
        return;
    tok = blinkauth_linked_copy_of(r->pool, la);
    tok->obtained = apr_time_now();
    copy_write(r, cfg, user_id, tok);
}

void blinkauth_act_forget(request_rec *r, const blinkauth_config_t *cfg, const char *user_id)
{
    if (blinkauth_tokencache_enabled(cfg))
        blinkauth_tokencache_remove(r, cfg, user_id);
}
