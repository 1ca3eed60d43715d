/* The log context of a request: the flow reference, Auth ID and Blink user that end every log line of a route. */
#include "glue.h"
#include "crypto.h"
#include "flow.h"
#include "text.h"

#include "apr_strings.h"

/* What r's lines end with; kept in r->request_config. */
typedef struct {
    const char *state;   /* the state the reference is derived from, or NULL */
    const char *handle;  /* the start handle the state is derived from while state is NULL, or NULL */
    const char *ref;     /* the flow reference, or NULL until it is asked for */
    const char *auth_id; /* the app's Auth ID as configured, or NULL */
    const char *user;    /* the Blink user id as given, or NULL */
    const char *text;    /* " [ref=… auth_id=… user=…]" of the three, or "": NULL until a line asks for it */
} logctx_t;

/* " name=value" when value is set, else "". */
static const char *pair(apr_pool_t *p, const char *name, const char *value)
{
    return value ? apr_pstrcat(p, " ", name, "=", value, NULL) : "";
}

/* ctx's flow reference, derived from its state (and that from its handle) on first use: hashes, and most requests
 * never log a line. */
static const char *ref_of(apr_pool_t *p, logctx_t *ctx)
{
    if (ctx->state == NULL && ctx->handle)
        ctx->state = blinkauth_flow_state_of(p, ctx->handle);
    if (ctx->ref == NULL && ctx->state)
        ctx->ref = blinkauth_crypto_flow_ref(p, ctx->state);
    return ctx->ref;
}

/* ctx->text, written from its parts when a line first asks for it since they changed. */
static const char *text_of(apr_pool_t *p, logctx_t *ctx)
{
    const char *auth_id, *user, *parts;

    if (ctx->text)
        return ctx->text;
    auth_id = ctx->auth_id ? blinkauth_text_log_safe(p, ctx->auth_id, BLINKAUTH_ID_MAX) : NULL;
    user = ctx->user ? blinkauth_text_log_safe(p, ctx->user, BLINKAUTH_ID_MAX) : NULL;
    parts = apr_pstrcat(p, pair(p, "ref", ref_of(p, ctx)), pair(p, "auth_id", auth_id), pair(p, "user", user), NULL);
    ctx->text = *parts ? apr_pstrcat(p, " [", parts + 1, "]", NULL) : "";
    return ctx->text;
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
    ctx->auth_id = cfg ? cfg->auth_id : NULL;
    ap_set_module_config(r->request_config, &blinkauth_module, ctx);
    return ctx;
}

void blinkauth_logctx_flow(request_rec *r, const char *state)
{
    logctx_t *ctx = logctx(r);

    ctx->state = state;
    ctx->handle = NULL;
    ctx->ref = NULL;
    ctx->text = NULL;
}

void blinkauth_logctx_start(request_rec *r, const char *handle)
{
    blinkauth_logctx_flow(r, NULL);
    logctx(r)->handle = handle;
}

void blinkauth_logctx_user(request_rec *r, const char *user_id)
{
    logctx_t *ctx = logctx(r);

    ctx->user = user_id;
    ctx->text = NULL;
}

const char *blinkauth_logctx_ref(request_rec *r)
{
    return ref_of(r->pool, logctx(r));
}

const char *blinkauth_logctx_text(request_rec *r)
{
    return text_of(r->pool, logctx(r));
}
