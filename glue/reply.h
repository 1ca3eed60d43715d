/* Sending answers: a body from modules/envelope.c or modules/page.c, with the headers every route sets. */
#ifndef BLINKAUTH_REPLY_H
#define BLINKAUTH_REPLY_H

#include "glue.h"

/* Sends body as a JSON answer with status; returns OK for the handler. */
int blinkauth_reply_json(request_rec *r, int status, const char *body);

/* Sends an error in Blink's envelope, {"code":code,"message":message}, with "ref" once r has a flow reference (a
 * Connect whose state was made); returns OK. */
int blinkauth_reply_error(request_rec *r, int status, const char *code, const char *message);

/* Sends 500 CONFIG_ERROR ("this app is not fully configured"); the caller has logged why. Returns OK. */
int blinkauth_reply_config_error(request_rec *r);

/* Sends 405 with Allow: name for a route that only takes that method ("GET", "POST", "DELETE"); returns OK. */
int blinkauth_reply_not_allowed(request_rec *r, const char *name);

/* Sends one of the HTML pages for the person in the browser; a page of status 400 or above shows r's flow reference
 * when it has one (a well-formed state, or the flow a start URL found). Returns OK. */
int blinkauth_reply_page(request_rec *r, int status, const char *title, const char *message);

#endif
