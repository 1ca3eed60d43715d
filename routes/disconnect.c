/* DELETE <location>/linked-accounts/<id>: Blink's Disconnect click. */
#include "glue.h"

/* DELETE <location>/linked-accounts/<id>: not built yet (issue 4). */
int blinkauth_route_disconnect(request_rec *r, const blinkauth_config_t *cfg, const char *id)
{
    return blinkauth_reply_error(r, HTTP_NOT_IMPLEMENTED, "NOT_IMPLEMENTED", "Disconnect is not built yet.");
}
