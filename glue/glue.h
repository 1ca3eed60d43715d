/* What every httpd-facing file shares: httpd's headers, the module, its log tags and its directives. */
#ifndef BLINKAUTH_GLUE_H
#define BLINKAUTH_GLUE_H

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "http_main.h"
#include "http_core.h"
#include "apr_hash.h"

#include "config.h"
#include "version.h"

/* Declares blinkauth_module (defined in mod_blinkauth.c), so that LogLevel blinkauth:debug works. */
APLOG_USE_MODULE(blinkauth);

/* The tag that starts a log message: BLALOGNO(00302) "callback: ..." logs "BLA00302: callback: ...".
 * Tags are an interface (operators grep for them and alert on them): a tag names one message for good,
 * is never reused, and every message at warn or above has one. The ranges:
 *   000xx  start-up, configuration, dispatch      003xx  callback (GET callback)
 *   001xx  request guards shared by the routes    004xx  Disconnect (DELETE linked-accounts/<id>)
 *   002xx  Connect (POST auth/<auth_id>)          005xx  token revocation at the external service
 *   006xx  OpenID Connect discovery (BlinkAuthProviderMetadataURL: start-up fetch, cache file, refresh)
 *   007xx  the one-time start URL (GET start/<handle>)    008xx  status and metrics (blinkauth-status, counters)
 *   009xx  acting for the user (AuthType Blink): the linked account, token refresh, the token cache
 * tests/lint/logtags.py checks this in make test; README.md lists the ranges. */
#define BLALOGNO(n) "BLA" #n ": "

/* The log context of a request (glue/logctx.c): what names its connect in every line — the flow reference (from the
 * state, never the state itself), the Auth ID and the Blink user id, each once known — as " [ref=… auth_id=…
 * user=…]". httpd has no per-module prefix for error log lines, and r->log_id (ErrorLogFormat %L) shows only where
 * an administrator put %L and cannot carry the ref, which is known only halfway through a route; so the routes log
 * through BLINKAUTH_RLOG, which appends the context to the message. It is kept in r->request_config, made once per
 * request and changed only when a route learns the state (or the start handle it comes from) or the user; the line's
 * level is checked first, so a line that is not written costs nothing. tests/lint/logtags.py refuses a bare
 * ap_log_rerror in routes/ and in the glue the routes log through. */

/* ap_log_rerror(APLOG_MARK, level, status, r, fmt, ...) with r's log context appended; fmt is a string literal. */
#define BLINKAUTH_RLOG(level, status, r, fmt, ...)                                                                     \
    ap_log_rerror(APLOG_MARK, level, status, r, fmt "%s", ##__VA_ARGS__, blinkauth_logctx_text(r))

/* Sets r's flow reference, derived from state (blinkauth_crypto_flow_ref). */
void blinkauth_logctx_flow(request_rec *r, const char *state);

/* Sets r's flow reference as blinkauth_logctx_flow does with the state of a start handle, derived only when a line or
 * an answer asks for the reference (a connect's state is a hash of its ~450-character handle). */
void blinkauth_logctx_start(request_rec *r, const char *handle);

/* Sets r's Blink user id. */
void blinkauth_logctx_user(request_rec *r, const char *user_id);

/* r's flow reference, or NULL while no flow is known (no state, or a malformed one). */
const char *blinkauth_logctx_ref(request_rec *r);

/* r's log context as it ends a log line: " [ref=… auth_id=… user=…]" with what is known, or "". */
const char *blinkauth_logctx_text(request_rec *r);

/* The module's directive table (glue/cmds.c). */
extern const command_rec blinkauth_cmds[];

/* The secret a directive's arg names — inline, file:path (read now) or exec:path (run now), a relative path taken
 * from ServerRoot as every path of httpd's — into *out; NULL, or the complaint, prefixed with the directive's name
 * (glue/cmds.c). */
const char *blinkauth_cmd_secret(cmd_parms *cmd, const char *arg, const char **out);

/* Least length of a key's secret (BlinkAuthStateKey, BlinkAuthTokenKey): 32 random characters carry 190 bits. */
#define BLINKAUTH_KEY_SECRET_MIN 32

/* The key a directive's arg names (a secret as blinkauth_cmd_secret reads it, of at least BLINKAUTH_KEY_SECRET_MIN
 * characters), derived to BLINKAUTH_KEY_BYTES bytes into out; NULL, or the complaint, prefixed with the directive's
 * name (glue/cmds.c). */
const char *blinkauth_cmd_key(cmd_parms *cmd, const char *arg, unsigned char *out);

/* The per-directory configuration that applies to r. */
#define blinkauth_request_config(r)                                                                                    \
    ((const blinkauth_config_t *)ap_get_module_config((r)->per_dir_config, &blinkauth_module))

/* Refuses httpd's start when an app's <Location> lacks a required directive, or when blinkauth_check_written does
 * (glue/check.c). */
int blinkauth_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s);

/* 1 when section path outer contains inner, as nested <Location>s do (both kept without a trailing '/'; 0 for a
 * NULL one). */
int blinkauth_path_contains(const char *outer, const char *inner);

/* The configuration section i of sections (a server's <Location>s) sees, allocated in p: the server's, then every
 * enclosing section's, then its own (glue/check.c). */
blinkauth_config_t *blinkauth_section_effective(apr_pool_t *p, server_rec *s, apr_array_header_t *sections, int i);

/* What blinkauth_sections_each calls for one <Location> with a configuration of ours: own is that section's own
 * configuration, effective what it sees (blinkauth_section_effective); a status other than OK stops the walk. */
typedef int blinkauth_section_fn(void *baton, apr_pool_t *ptemp, server_rec *s, apr_array_header_t *sections, int i,
                                 const blinkauth_config_t *own);

/* Calls fn for every <Location> of every server (the main one and each virtual host) that has a configuration of
 * ours, in order; OK, or the first other status fn returned (glue/check.c). */
int blinkauth_sections_each(apr_pool_t *ptemp, server_rec *s, blinkauth_section_fn *fn, void *baton);

/* OpenID Connect discovery (glue/discovery.c; declared here, as a glue/discovery.h would shadow the core's
 * modules/discovery.h on the include path). */

/* Reads the metadata of every distinct BlinkAuthProviderMetadataURL of the configuration (in the parent, after
 * libcurl's initialisation), in both passes of a start: the first, run before httpd leaves the terminal, fetches
 * (so that `apachectl start` fails when it must) and hands what it read to the second; a graceful restart fetches
 * again. A failed fetch falls back on the URL's cache file with a warning; without one, the start fails
 * (HTTP_INTERNAL_SERVER_ERROR, the Location, URL and reason logged). Never fetches under apachectl configtest. */
int blinkauth_discovery_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s);

/* Starts this child's refresh thread, which fetches each URL again once an hour (a failure keeps what was there,
 * with a warning); the thread is stopped and joined when pchild is destroyed. Nothing when no app uses discovery. */
void blinkauth_discovery_child_init(apr_pool_t *pchild, server_rec *s);

/* The configuration the request's routes use: cfg itself when it has no metadata URL, else a copy in r->pool whose
 * unset authorize, token, userinfo and revoke URLs and issuer come from the URL's current metadata (directives set
 * explicitly win). NULL, logged, when no metadata is known for the URL. Never fetches. */
const blinkauth_config_t *blinkauth_discovery_apply(request_rec *r, const blinkauth_config_t *cfg);

/* When this process read the metadata cfg uses (fetched, or from the cache file at start-up); 0 when none. */
apr_time_t blinkauth_discovery_read_at(const blinkauth_config_t *cfg);

/* Checks the configuration as written (glue/written.c): SetHandler blinkauth outside a plain <Location> and an Auth
 * ID set twice on one server fail (HTTP_INTERNAL_SERVER_ERROR); BlinkAuth directives that no SetHandler blinkauth
 * reaches (their Location paths are added to unhandled, keys and values the path) and a BlinkAuthRedirectURI that
 * is no app's callback are warnings. Each is logged with file:line. */
int blinkauth_check_written(apr_pool_t *ptemp, server_rec *s, apr_hash_t *unhandled);

#endif
