/* A linked account's tokens over time: which account acts for an app, expiry text, freshness. */
#include "linked.h"

#include <stdio.h>
#include <string.h>
#include <apr_strings.h>

apr_time_t blinkauth_linked_expires(long expires_in, apr_time_t now)
{
    /* A provider's "expires_in": 1e13 would overflow apr_time_t (and send Blink a year before Christ). */
    if (expires_in > BLINKAUTH_EXPIRES_IN_MAX)
        expires_in = BLINKAUTH_EXPIRES_IN_MAX;
    return expires_in < 0 ? 0 : now + apr_time_from_sec(expires_in);
}

const char *blinkauth_linked_expiry_text(apr_pool_t *p, apr_time_t expires)
{
    apr_time_exp_t t;
    char buf[32];
    apr_size_t n;

    if (expires <= 0 || apr_time_exp_gmt(&t, expires) != APR_SUCCESS)
        return NULL;
    apr_strftime(buf, &n, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &t);
    return apr_pstrmemdup(p, buf, n);
}

apr_time_t blinkauth_linked_expiry_parse(const char *text)
{
    apr_time_exp_t t = {0};
    apr_time_t at;
    int used = 0, oh = 0, om = 0;
    const char *rest;
    char sign;

    if (text == NULL || strlen(text) > 40 ||
        sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d%n", &t.tm_year, &t.tm_mon, &t.tm_mday, &t.tm_hour, &t.tm_min, &t.tm_sec,
               &used) != 6 ||
        used != 19)
        return 0;
    rest = text + used;
    if (*rest == '.')
        rest += 1 + strspn(rest + 1, "0123456789");
    if ((*rest == 'Z' || *rest == 'z') && rest[1] == '\0')
        sign = '+';
    else if ((*rest == '+' || *rest == '-') && sscanf(rest + 1, "%2d:%2d%n", &oh, &om, &used) == 2 && used == 5 &&
             rest[6] == '\0' && oh < 24 && om < 60)
        sign = *rest;
    else
        return 0;
    t.tm_year -= 1900;
    t.tm_mon -= 1;
    if (t.tm_mon < 0 || t.tm_mon > 11 || t.tm_mday < 1 || t.tm_mday > 31 || t.tm_hour > 23 || t.tm_min > 59 ||
        t.tm_sec > 60 || apr_time_exp_gmt_get(&at, &t) != APR_SUCCESS)
        return 0;
    at -= (sign == '+' ? 1 : -1) * apr_time_from_sec(oh * 3600 + om * 60);
    return at > 0 ? at : 0;
}

const blinkauth_linked_account_t *blinkauth_linked_pick(const apr_array_header_t *accounts, const char *auth_id)
{
    const blinkauth_linked_account_t *first = NULL;
    int i;

    for (i = 0; accounts && i < accounts->nelts; i++) {
        const blinkauth_linked_account_t *la = APR_ARRAY_IDX(accounts, i, const blinkauth_linked_account_t *);
        if (la->auth_id == NULL || strcmp(la->auth_id, auth_id) != 0)
            continue;
        if (!la->reauth_required)
            return la;
        if (first == NULL)
            first = la;
    }
    return first;
}

blinkauth_token_copy_t *blinkauth_linked_copy_of(apr_pool_t *p, const blinkauth_linked_account_t *la)
{
    blinkauth_token_copy_t *tok = apr_pcalloc(p, sizeof(*tok));

    tok->linked_account_id = la->id;
    tok->external_account_id = la->external_account_id;
    tok->access_token = la->access_token;
    tok->refresh_token = la->refresh_token;
    tok->expires = blinkauth_linked_expiry_parse(la->expiry);
    tok->synced = 1;
    return tok;
}

int blinkauth_linked_fresh(const blinkauth_token_copy_t *tok, apr_time_t now, int refresh_before)
{
    if (tok->expires > 0)
        return tok->expires - now > apr_time_from_sec(refresh_before);
    return tok->obtained == 0 || now - tok->obtained < apr_time_from_sec(BLINKAUTH_TOKEN_UNDATED_MAX);
}

int blinkauth_linked_expired(const blinkauth_token_copy_t *tok, apr_time_t now)
{
    return tok->expires > 0 && tok->expires <= now;
}
