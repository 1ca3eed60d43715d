/* SetHandler blinkauth-status: the counters as Prometheus text or JSON, <location>/health, a server-status section. */
#ifndef BLINKAUTH_STATUS_H
#define BLINKAUTH_STATUS_H

#include "glue.h"

/* The handler name of the status page: SetHandler blinkauth-status. */
#define BLINKAUTH_STATUS_HANDLER "blinkauth-status"

/* Answers a request of SetHandler blinkauth-status: GET of a path ending in /health (the flow store's round trip),
 * GET of any other (the counters; ?format=prometheus or json, else by Accept); 405 for another method. */
int blinkauth_status_handler(request_rec *r);

/* Registers the handler and mod_status's optional status_hook. */
void blinkauth_status_register_hooks(void);

#endif
