/* The routes of an app's <Location>: each answers its request completely and returns OK. */
#ifndef BLINKAUTH_ROUTES_H
#define BLINKAUTH_ROUTES_H

#include "glue.h"

/* POST <location>/auth/<auth_id>: Blink's Connect click, answered with an authorization URL. */
int blinkauth_route_connect(request_rec *r, const blinkauth_config_t *cfg, const char *auth_id);

/* GET <location>/callback: the browser returns from the external service; exchange, identify, save in Blink. */
int blinkauth_route_callback(request_rec *r, const blinkauth_config_t *cfg);

/* DELETE <location>/linked-accounts/<id>: Blink's Disconnect click; delete in Blink, then revoke. */
int blinkauth_route_disconnect(request_rec *r, const blinkauth_config_t *cfg, const char *linked_account_id);

#endif
