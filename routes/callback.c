/* GET <location>/callback: the browser returns from the external service. */
#include "glue.h"

/* GET <location>/callback: not built yet (issue 3). */
int blinkauth_route_callback(request_rec *r, const blinkauth_config_t *cfg)
{
    return blinkauth_reply_page(r, HTTP_NOT_IMPLEMENTED, "Not available yet", "The callback is not built yet.");
}
