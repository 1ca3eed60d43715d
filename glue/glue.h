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
 * tests/lint/logtags.py checks this in make test; README.md lists the ranges. */
#define BLALOGNO(n) "BLA" #n ": "

/* The module's directive table (glue/cmds.c). */
extern const command_rec blinkauth_cmds[];

/* The per-directory configuration that applies to r. */
#define blinkauth_request_config(r)                                                                                    \
    ((const blinkauth_config_t *)ap_get_module_config((r)->per_dir_config, &blinkauth_module))

/* Refuses httpd's start when an app's <Location> lacks a required directive (glue/check.c). */
int blinkauth_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s);

#endif
