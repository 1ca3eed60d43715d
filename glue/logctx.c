/* The log context of a request: the flow reference, Auth ID and Blink user that end every log line of a route. */
#include "glue.h"
#include "crypto.h"
#include "text.h"

#include "apr_strings.h"

/* What r's lines end with; kept in r->request_config. */
typedef struct {
    const char *ref;     /* the flow reference, or NULL */
    const char *auth_id; /* the app's Auth ID, or NULL */
    const char *user;    /* the Blink user id, log-safe, or NULL */
    const char *text;    /* " [ref=… auth_id=… user=…]" of the three, or "" */
} logctx_t;

/* " name=value" when value is set, else "". */
static const char *pair(apr_pool_t *p, const char *name, const char *value)
{
    return value ? apr_pstrcat(p, " ", name, "=", value, NULL) : "";
}

/* Writes ctx->text again from its parts. */
static void text_make(apr_pool_t *p, logctx_t *ctx)
{
    const char *parts =
        apr_pstrcat(p, pair(p, "ref", ctx->ref), pair(p, "auth_id", ctx->auth_id), pair(p, "user", ctx->user), NULL);

    ctx->text = *parts ? apr_pstrcat(p, " [", parts + 1, "]", NULL) : "";
}

/* r's context, made on first use with the Auth ID of r's configuration. */
static logctx_t *logctx(request_rec *r)
{
    logctx_t *ctx = ap_get_module_config(r->request_config, &blinkauth_module);
    const blinkauth_config_t *cfg;

    if (ctx)
        return ctx;
    ctx = apr_pcalloc(r->pool, sizeof(*ctx));
    cfg = r->per_dir_config ? blinkauth_request_config(r) : NULL;
    if (cfg && cfg->auth_id)
        ctx->auth_id = blinkauth_text_log_safe(r->pool, cfg->auth_id, BLINKAUTH_ID_MAX);
    text_make(r->pool, ctx);
    ap_set_module_config(r->request_config, &blinkauth_module, ctx);
    return ctx;
}

void blinkauth_logctx_flow(request_rec *r, const char *state)
{
    logctx_t *ctx = logctx(r);

    ctx->ref = blinkauth_crypto_flow_ref(r->pool, state);
    text_make(r->pool, ctx);
}

void blinkauth_logctx_user(request_rec *r, const char *user_id)
{
    logctx_t *ctx = logctx(r);

    ctx->user = blinkauth_text_log_safe(r->pool, user_id, BLINKAUTH_ID_MAX);
    text_make(r->pool, ctx);
}

const char *blinkauth_logctx_ref(request_rec *r)
{
    return logctx(r)->ref;
}

const char *blinkauth_logctx_text(request_rec *r)
{
    return logctx(r)->text;
}
