/* AuthType Blink and Require blink-linked-account (glue/authblink.c). */
#ifndef BLINKAUTH_AUTHBLINK_H
#define BLINKAUTH_AUTHBLINK_H

#include "glue.h"

/* Registers the authentication hook, the authorization provider and the answer filter. */
void blinkauth_authblink_register_hooks(apr_pool_t *p);

/* 1 when the module answers r itself (one of an app's routes, or a status page): marked by translate_name. */
int blinkauth_is_own_route(request_rec *r);

#endif
