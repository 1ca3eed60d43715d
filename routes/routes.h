/* The routes of an app's <Location>: each answers its request completely and returns OK. */
#ifndef BLINKAUTH_ROUTES_H
#define BLINKAUTH_ROUTES_H

#include "glue.h"
#include "flow.h"

/* The title of every page that tells the person the connect was not made. */
#define BLINKAUTH_TITLE_NOT_CONNECTED "Not connected"

/* POST <location>/auth/<auth_id>: Blink's Connect click, answered with an authorization URL. */
int blinkauth_route_connect(request_rec *r, const blinkauth_config_t *cfg, const char *auth_id);

/* GET <location>/callback: the browser returns from the external service; exchange, identify, save in Blink. */
int blinkauth_route_callback(request_rec *r, const blinkauth_config_t *cfg);

/* GET <location>/start/<handle>: the one-time start URL Connect answers; binds the connect to this browser with a
 * cookie, then sends it on (303) to the external service. */
int blinkauth_route_start(request_rec *r, const blinkauth_config_t *cfg, const char *handle);

/* The path (and query) of the redirect URI of cfg's <Location>: BlinkAuthRedirectURI's, else <location>/callback
 * (routes/connect.c). */
const char *blinkauth_route_redirect_path(request_rec *r, const blinkauth_config_t *cfg);

/* The external service's authorization URL for flow, whose state is state (routes/start.c). */
const char *blinkauth_route_authorization_url(request_rec *r, const blinkauth_config_t *cfg,
                                              const blinkauth_flow_t *flow, const char *state);

/* DELETE <location>/linked-accounts/<id>: Blink's Disconnect click; revoke the tokens, then delete in Blink. */
int blinkauth_route_disconnect(request_rec *r, const blinkauth_config_t *cfg, const char *linked_account_id);

#endif
