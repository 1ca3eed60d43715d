/* The module's counters in httpd: a shared memory segment kept across graceful restarts, and what feeds it. */
#include "counters.h"
#include "http.h"

#include "apr_shm.h"
#include "apr_strings.h"

#include <errno.h>
#include <signal.h>
#include <unistd.h>

/* The name under which httpd's retained data keeps the segment from one generation of the configuration to the next
 * (a graceful restart keeps the parent, its process pool and so the segment). */
#define RETAINED_SHM "mod_blinkauth-metrics"

/* What the retained data holds: the segment, made in the parent's process pool. */
typedef struct {
    apr_shm_t *shm;
} retained_t;

static blinkauth_metrics_t *shared; /* NULL: uncounted */
static apr_hash_t *slot_of;         /* Auth ID -> blinkauth_counted_app_t *, this generation */
static apr_array_header_t *apps;    /* blinkauth_counted_app_t *, in the configuration's order */
static int proc_slot = -1;          /* this process's slot of the pool gauges */
static const ap_socache_provider_t *real_provider;
static ap_socache_provider_t counted_provider;

/* The segment kept in the retained data, or a new one when there is none or it is too small (another build). */
static blinkauth_metrics_t *segment(server_rec *s)
{
    retained_t *kept = ap_retained_data_get(RETAINED_SHM);
    apr_status_t rv;

    if (kept == NULL)
        kept = ap_retained_data_create(RETAINED_SHM, sizeof(*kept));
    if (kept->shm && apr_shm_size_get(kept->shm) >= sizeof(blinkauth_metrics_t))
        return apr_shm_baseaddr_get(kept->shm);
    rv = apr_shm_create(&kept->shm, sizeof(blinkauth_metrics_t), NULL, s->process->pool);
    if (rv != APR_SUCCESS) {
        kept->shm = NULL;
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s,
                     BLALOGNO(00801) "metrics: cannot make the counters' shared memory; httpd runs without them");
        return NULL;
    }
    memset(apr_shm_baseaddr_get(kept->shm), 0, sizeof(blinkauth_metrics_t));
    return apr_shm_baseaddr_get(kept->shm);
}

/* Gives the app a <Location> serves its counter slot, once per Auth ID (a blinkauth_section_fn). */
static int app_add(void *baton, apr_pool_t *ptemp, server_rec *s, apr_array_header_t *sections, int i,
                   const blinkauth_config_t *own)
{
    apr_pool_t *pconf = baton;
    const blinkauth_config_t *eff;
    blinkauth_counted_app_t *app;

    if (!blinkauth_config_is_used(own))
        return OK;
    eff = blinkauth_section_effective(pconf, s, sections, i);
    if (eff->auth_id == NULL || apr_hash_get(slot_of, eff->auth_id, APR_HASH_KEY_STRING))
        return OK;
    app = apr_pcalloc(pconf, sizeof(*app));
    app->auth_id = eff->auth_id;
    app->cfg = eff;
    app->server = s;
    app->slot = shared ? blinkauth_metrics_app_slot(shared, eff->auth_id) : -1;
    if (shared && app->slot < 0)
        shared->apps_untracked++;
    apr_hash_set(slot_of, app->auth_id, APR_HASH_KEY_STRING, app);
    APR_ARRAY_PUSH(apps, blinkauth_counted_app_t *) = app;
    return OK;
}

/* Reports each upstream call of this process to the counters (a blinkauth_http_observer_fn). */
static void call_observed(const blinkauth_http_request_t *req, const blinkauth_http_response_t *res,
                          apr_int64_t elapsed_us, int idle, int in_use)
{
    blinkauth_metrics_upstream(shared, req->endpoint, res->error == BLINKAUTH_HTTP_OK ? res->status : 0,
                               res->error == BLINKAUTH_HTTP_ERR_TIMEOUT, elapsed_us);
    blinkauth_metrics_pool(shared, proc_slot, res->new_connections, idle, in_use);
}

int blinkauth_counters_alive(apr_int32_t pid)
{
    return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

void blinkauth_counters_post_config(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s)
{
    slot_of = apr_hash_make(pconf);
    apps = apr_array_make(pconf, 4, sizeof(blinkauth_counted_app_t *));
    if ((shared = segment(s)) != NULL) {
        /* A segment of another layout (a different build, kept across a graceful restart) starts again at zero. */
        blinkauth_metrics_init(shared);
        shared->apps_untracked = 0;
        proc_slot = blinkauth_metrics_proc_slot(shared, (apr_int32_t)getpid(), blinkauth_counters_alive);
    }
    blinkauth_sections_each(ptemp, s, app_add, pconf);
    blinkauth_http_observe(call_observed);
}

/* pchild cleanup: this child's pool gauge slot is free again. */
static apr_status_t proc_release(void *data)
{
    blinkauth_metrics_proc_free(shared, proc_slot, (apr_int32_t)getpid());
    proc_slot = -1;
    return APR_SUCCESS;
}

void blinkauth_counters_child_init(apr_pool_t *pchild, server_rec *s)
{
    if (shared == NULL)
        return;
    proc_slot = blinkauth_metrics_proc_slot(shared, (apr_int32_t)getpid(), blinkauth_counters_alive);
    apr_pool_cleanup_register(pchild, NULL, proc_release, apr_pool_cleanup_null);
}

/* The counted app of r's <Location>, or NULL. */
static const blinkauth_counted_app_t *app_of(request_rec *r)
{
    const blinkauth_config_t *cfg = blinkauth_request_config(r);

    return cfg && cfg->auth_id && slot_of ? apr_hash_get(slot_of, cfg->auth_id, APR_HASH_KEY_STRING) : NULL;
}

void blinkauth_counters_add(request_rec *r, blinkauth_metric_t what)
{
    const blinkauth_counted_app_t *app = app_of(r);

    if (app)
        blinkauth_metrics_count(shared, app->slot, what);
}

void blinkauth_counters_fail(request_rec *r, blinkauth_metric_t what, const char *why)
{
    const blinkauth_counted_app_t *app = app_of(r);
    blinkauth_journal_t *j = app ? blinkauth_counters_journal(app->slot) : NULL;

    if (app)
        blinkauth_metrics_count(shared, app->slot, what);
    if (j && blinkauth_metrics_is_failure(what))
        blinkauth_journal_failure(j, r->request_time,
                                  apr_pstrcat(r->pool, blinkauth_metrics_family_name(blinkauth_metrics_family_of(what)),
                                              " ", blinkauth_metrics_outcome_label(what), NULL),
                                  why, blinkauth_logctx_ref(r));
}

blinkauth_journal_t *blinkauth_counters_journal(int slot)
{
    return shared && slot >= 0 && slot < BLINKAUTH_METRICS_APPS ? &shared->app[slot].journal : NULL;
}

/* The result class of a socache call's status. */
static blinkauth_store_result_t store_result(apr_status_t rv)
{
    return rv == APR_SUCCESS    ? BLINKAUTH_STORE_OK
           : rv == APR_NOTFOUND ? BLINKAUTH_STORE_NOT_FOUND
                                : BLINKAUTH_STORE_ERROR;
}

/* The provider's store, counted. */
static apr_status_t counted_store(ap_socache_instance_t *instance, server_rec *s, const unsigned char *id,
                                  unsigned int idlen, apr_time_t expiry, unsigned char *data, unsigned int datalen,
                                  apr_pool_t *pool)
{
    apr_status_t rv = real_provider->store(instance, s, id, idlen, expiry, data, datalen, pool);

    blinkauth_metrics_store(shared, BLINKAUTH_STORE_STORE, store_result(rv));
    return rv;
}

/* The provider's retrieve, counted. */
static apr_status_t counted_retrieve(ap_socache_instance_t *instance, server_rec *s, const unsigned char *id,
                                     unsigned int idlen, unsigned char *data, unsigned int *datalen, apr_pool_t *pool)
{
    apr_status_t rv = real_provider->retrieve(instance, s, id, idlen, data, datalen, pool);

    blinkauth_metrics_store(shared, BLINKAUTH_STORE_RETRIEVE, store_result(rv));
    return rv;
}

/* The provider's remove, counted. */
static apr_status_t counted_remove(ap_socache_instance_t *instance, server_rec *s, const unsigned char *id,
                                   unsigned int idlen, apr_pool_t *pool)
{
    apr_status_t rv = real_provider->remove(instance, s, id, idlen, pool);

    blinkauth_metrics_store(shared, BLINKAUTH_STORE_REMOVE, store_result(rv));
    return rv;
}

const ap_socache_provider_t *blinkauth_counters_socache(const ap_socache_provider_t *provider)
{
    real_provider = provider;
    counted_provider = *provider;
    counted_provider.store = counted_store;
    counted_provider.retrieve = counted_retrieve;
    counted_provider.remove = counted_remove;
    return &counted_provider;
}

const blinkauth_metrics_t *blinkauth_counters(void)
{
    return shared;
}

const apr_array_header_t *blinkauth_counted_apps(void)
{
    return apps;
}

const int *blinkauth_counted_slots(apr_pool_t *p, int *n)
{
    int *slots, i;

    *n = apps ? apps->nelts : 0;
    slots = apr_pcalloc(p, sizeof(int) * (apr_size_t)(*n + 1));
    for (i = 0; i < *n; i++)
        slots[i] = APR_ARRAY_IDX(apps, i, blinkauth_counted_app_t *)->slot;
    return slots;
}
