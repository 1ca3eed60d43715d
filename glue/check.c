/* Start-up validation: every app's <Location> must be complete, or httpd refuses to start. */
#include "glue.h"

#include "http_core.h"
#include "apr_hash.h"
#include "apr_strings.h"

int blinkauth_path_contains(const char *outer, const char *inner)
{
    apr_size_t n;

    if (outer == NULL || inner == NULL)
        return 0;
    n = strlen(outer);
    return strncmp(outer, inner, n) == 0 && (inner[n] == '\0' || inner[n] == '/');
}

blinkauth_config_t *blinkauth_section_effective(apr_pool_t *p, server_rec *s, apr_array_header_t *sections, int i)
{
    ap_conf_vector_t **secs = (ap_conf_vector_t **)sections->elts;
    const blinkauth_config_t *own = ap_get_module_config(secs[i], &blinkauth_module);
    blinkauth_config_t *eff = ap_get_module_config(s->lookup_defaults, &blinkauth_module);
    int j;

    /* Sections read before LoadModule blinkauth_module have no configuration of ours. */
    if (eff == NULL)
        eff = blinkauth_config_create(p, NULL);
    for (j = 0; j <= i; j++) {
        const blinkauth_config_t *c = ap_get_module_config(secs[j], &blinkauth_module);
        if (c && (j == i || blinkauth_path_contains(c->location, own->location)))
            eff = blinkauth_config_merge(p, eff, c);
    }
    return eff;
}

/* 1 when a later section nested in section i sets BlinkAuth directives: then i only holds shared values. */
static int section_has_nested_app(apr_array_header_t *sections, int i)
{
    ap_conf_vector_t **secs = (ap_conf_vector_t **)sections->elts;
    const blinkauth_config_t *own = ap_get_module_config(secs[i], &blinkauth_module);
    int j;

    for (j = i + 1; j < sections->nelts; j++) {
        const blinkauth_config_t *c = ap_get_module_config(secs[j], &blinkauth_module);
        if (c && blinkauth_config_is_used(c) && blinkauth_path_contains(own->location, c->location))
            return 1;
    }
    return 0;
}

int blinkauth_sections_each(apr_pool_t *ptemp, server_rec *s, blinkauth_section_fn *fn, void *baton)
{
    int rv = OK;

    for (; s && rv == OK; s = s->next) {
        core_server_config *core = ap_get_core_module_config(s->module_config);
        apr_array_header_t *sections = core->sec_url;
        int i;

        for (i = 0; sections && i < sections->nelts && rv == OK; i++) {
            const blinkauth_config_t *own =
                ap_get_module_config(((ap_conf_vector_t **)sections->elts)[i], &blinkauth_module);
            if (own)
                rv = fn(baton, ptemp, s, sections, i, own);
        }
    }
    return rv;
}

/* What check_app needs: the sections seen already (a main server's are seen again in each virtual host), and the
 * Locations that no SetHandler blinkauth reaches. */
typedef struct {
    apr_hash_t *seen, *unhandled;
} check_t;

/* Refuses an app's <Location> that lacks a required directive (a blinkauth_section_fn). */
static int check_app(void *baton, apr_pool_t *ptemp, server_rec *s, apr_array_header_t *sections, int i,
                     const blinkauth_config_t *own)
{
    check_t *c = baton;
    const char *missing;

    if (apr_hash_get(c->seen, &own, sizeof(own)) || !blinkauth_config_is_used(own) ||
        section_has_nested_app(sections, i) ||
        (own->location && apr_hash_get(c->unhandled, own->location, APR_HASH_KEY_STRING)))
        return OK;
    apr_hash_set(c->seen, apr_pmemdup(ptemp, &own, sizeof(own)), sizeof(own), own);
    missing = blinkauth_config_missing(blinkauth_section_effective(ptemp, s, sections, i));
    if (missing == NULL)
        return OK;
    ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, s,
                 BLALOGNO(00005) "BlinkAuth: <Location %s> (BlinkAuth directives at %s) lacks %s, "
                                 "which every Blink app needs",
                 own->location ? own->location : "?", own->defined_at, missing);
    return HTTP_INTERNAL_SERVER_ERROR;
}

int blinkauth_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    check_t c = {apr_hash_make(ptemp), apr_hash_make(ptemp)};

    /* A Location that no SetHandler blinkauth reaches is no app: it was warned about, and needs nothing more. */
    if (blinkauth_check_written(ptemp, s, c.unhandled) != OK)
        return HTTP_INTERNAL_SERVER_ERROR;
    return blinkauth_sections_each(ptemp, s, check_app, &c);
}
