/* The Blink API token check: in the background, never on a user's request, whether the Blink API accepts each app's
 * token. */
#include "tokencheck.h"
#include "counters.h"
#include "worker.h"
#include "blinkapi.h"

/* How often an app is checked at most (over all children), how often a child looks, and its first look. */
#define CHECK_EVERY apr_time_from_sec(60)
#define LOOK_EVERY apr_time_from_sec(5)
#define LOOK_FIRST apr_time_from_msec(500)

/* What the Blink API's answer to the check says of the token. */
static blinkauth_check_result_t result_of(const blinkauth_outcome_t *out)
{
    if (out->kind == BLINKAUTH_UP_OK || out->kind == BLINKAUTH_UP_NOT_FOUND)
        return BLINKAUTH_CHECK_ACCEPTED;
    return out->status == 401 || out->status == 403 ? BLINKAUTH_CHECK_REFUSED : BLINKAUTH_CHECK_UNKNOWN;
}

/* Checks one app when its turn has come (claimed in shared memory, so that one child of all makes the call), keeps
 * the result, and logs a change from or to "refused". */
static void check_one(const blinkauth_counted_app_t *app)
{
    blinkauth_journal_t *j = blinkauth_counters_journal(app->slot);
    blinkauth_check_result_t was, now;
    blinkauth_outcome_t out;
    apr_pool_t *p;

    if (j == NULL || !blinkauth_config_token_check(app->cfg) || app->cfg->api_token == NULL ||
        !blinkauth_journal_check_claim(j, apr_time_now(), CHECK_EVERY))
        return;
    if (apr_pool_create_unmanaged_ex(&p, NULL, NULL) != APR_SUCCESS)
        return;
    out = blinkauth_blinkapi_token_check(p, app->cfg);
    was = (blinkauth_check_result_t)j->check_result;
    now = result_of(&out);
    blinkauth_journal_check_done(j, apr_time_now(), now, out.why);
    if (now == BLINKAUTH_CHECK_REFUSED && was != BLINKAUTH_CHECK_REFUSED)
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, app->server,
                     BLALOGNO(00803) "Auth ID %s: the Blink API refuses BlinkAuthAPIToken (%s); Connects will fail "
                                     "until it is replaced",
                     app->auth_id, out.why);
    else if (now == BLINKAUTH_CHECK_ACCEPTED && was == BLINKAUTH_CHECK_REFUSED)
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, app->server,
                     BLALOGNO(00804) "Auth ID %s: the Blink API accepts BlinkAuthAPIToken again", app->auth_id);
    apr_pool_destroy(p);
}

/* The checker's task: each app of the configuration, in turn (a blinkauth_worker_task_t). */
static void check_all(void *baton)
{
    const apr_array_header_t *apps = blinkauth_counted_apps();
    int i;

    for (i = 0; apps && i < apps->nelts; i++)
        check_one(APR_ARRAY_IDX(apps, i, const blinkauth_counted_app_t *));
}

void blinkauth_tokencheck_child_init(apr_pool_t *pchild, server_rec *s)
{
    const apr_array_header_t *apps = blinkauth_counted_apps();
    apr_status_t rv;

    if (blinkauth_counters() == NULL || apps == NULL || apps->nelts == 0)
        return;
    rv = blinkauth_worker_start(pchild, LOOK_FIRST, LOOK_EVERY, check_all, NULL, NULL);
    if (rv != APR_SUCCESS)
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                     BLALOGNO(00805) "status: cannot start the Blink API token check in this child; the status page "
                                     "will not say whether the token is accepted");
}
