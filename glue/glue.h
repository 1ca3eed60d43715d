/* What the httpd-facing files share: the module, its directives, the flow store and replies. */
#ifndef BLINKAUTH_GLUE_H
#define BLINKAUTH_GLUE_H

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "http_main.h"
#include "http_core.h"

#include "config.h"
#include "flow.h"

#ifndef BLINKAUTH_VERSION
#define BLINKAUTH_VERSION "dev"
/* Revokes the refresh and access token (those given) at BlinkAuthRevokeURL when set; failures are only logged. */
void blinkauth_route_tokens_revoke(request_rec *r, const blinkauth_config_t *cfg, const char *refresh_token,
                                   const char *access_token, const char *context);

#endif

extern module AP_MODULE_DECLARE_DATA blinkauth_module;
#ifndef BLINKAUTH_MODULE_MAIN /* mod_blinkauth.c declares the module itself */
APLOG_USE_MODULE(blinkauth);
/* Revokes the refresh and access token (those given) at BlinkAuthRevokeURL when set; failures are only logged. */
void blinkauth_route_tokens_revoke(request_rec *r, const blinkauth_config_t *cfg, const char *refresh_token,
                                   const char *access_token, const char *context);

#endif

/* The module's directive table (glue/cmds.c). */
extern const command_rec blinkauth_cmds[];

/* The per-directory configuration that applies to r. */
#define blinkauth_request_config(r) \
    ((const blinkauth_config_t *)ap_get_module_config((r)->per_dir_config, &blinkauth_module))

/* BlinkAuthCache: choose the socache provider for flow records (glue/cache.c). */
const char *blinkauth_cache_cmd(cmd_parms *cmd, void *dconf, const char *arg);
/* Registers the flow store's mutex. */
int blinkauth_cache_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp);
/* Creates the flow store (default shmcb) and its mutex once the configuration is read. */
int blinkauth_cache_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s);
/* Re-attaches the flow store's mutex in a new child. */
void blinkauth_cache_child_init(apr_pool_t *pchild, server_rec *s);
/* The flow store, ready after post_config. */
const blinkauth_flow_store_t *blinkauth_cache_store(void);

/* Refuses httpd's start when an app's <Location> lacks a required directive (glue/check.c). */
int blinkauth_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s);

/* Sends body as a JSON answer with status; returns OK for the handler (glue/reply.c). */
int blinkauth_reply_json(request_rec *r, int status, const char *body);
/* Sends an error in Blink's envelope: {"code":code,"message":message}. */
int blinkauth_reply_error(request_rec *r, int status, const char *code, const char *message);
/* Sends 405 with Allow: name for a route that only takes that method ("GET", "POST", "DELETE"). */
int blinkauth_reply_not_allowed(request_rec *r, const char *name);
/* Sends one of the callback's HTML pages. */
int blinkauth_reply_page(request_rec *r, int status, const char *title, const char *message);

/* The guards return 1 when the request passes; otherwise they have sent the refusal and return 0. */

/* Passes when the request carries the app's proxy secret; else 401. */
int blinkauth_guard_secret(request_rec *r, const blinkauth_config_t *cfg);
/* Passes with *user_id set when blink-auth-userid is acceptable; else 400. */
int blinkauth_guard_user_id(request_rec *r, const char **user_id);
/* Passes when the request body is absent or at most max bytes (read and dropped); else 413 or 400. */
int blinkauth_guard_body(request_rec *r, apr_off_t max);

/* The routes (routes/): each answers the request completely and returns OK. */
int blinkauth_route_connect(request_rec *r, const blinkauth_config_t *cfg, const char *auth_id);
int blinkauth_route_callback(request_rec *r, const blinkauth_config_t *cfg);
int blinkauth_route_disconnect(request_rec *r, const blinkauth_config_t *cfg, const char *linked_account_id);

/* Revokes the refresh and access token (those given) at BlinkAuthRevokeURL when set; failures are only logged. */
void blinkauth_route_tokens_revoke(request_rec *r, const blinkauth_config_t *cfg, const char *refresh_token,
                                   const char *access_token, const char *context);

#endif
