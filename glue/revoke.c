/* Revocation of an account's tokens at the external service, shared by the callback and Disconnect. */
#include "revoke.h"
#include "provider.h"
#include "counters.h"

void blinkauth_revoke_tokens(request_rec *r, const blinkauth_config_t *cfg, const char *refresh_token,
                             const char *access_token, const char *context)
{
    const char *kinds[2] = {"refresh_token", "access_token"};
    const char *values[2] = {refresh_token, access_token};
    int i;

    for (i = 0; i < 2 && cfg->revoke_url; i++) {
        blinkauth_outcome_t out;
        if (values[i] == NULL || *values[i] == '\0')
            continue;
        out = blinkauth_provider_token_revoke(r->pool, cfg, values[i], kinds[i]);
        BLINKAUTH_RLOG(out.kind == BLINKAUTH_UP_OK ? APLOG_INFO : APLOG_WARNING, 0, r, BLALOGNO(00501) "%s: %s%s",
                       context, out.why, out.kind == BLINKAUTH_UP_OK ? "" : " (revocation is best effort)");
        blinkauth_counters_fail(r,
                                out.kind == BLINKAUTH_UP_OK        ? BLINKAUTH_M_REVOKE_OK
                                : out.kind == BLINKAUTH_UP_TIMEOUT ? BLINKAUTH_M_REVOKE_TIMEOUT
                                                                   : BLINKAUTH_M_REVOKE_FAILED,
                                out.why);
    }
}
