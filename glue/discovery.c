/* OpenID Connect discovery in httpd: every BlinkAuthProviderMetadataURL read at start-up, kept in a cache file,
 * refreshed by a thread in each child, and applied to the requests of its apps. */
#include "glue.h"
#include "worker.h"
#include "discovery.h"
#include "http.h"

#include "apr_atomic.h"
#include "apr_file_io.h"
#include "apr_file_info.h"
#include "apr_general.h"
#include "apr_hash.h"
#include "apr_strings.h"

#include <stdlib.h>

/* How often each child fetches the metadata again, and the test-only override (whole seconds, 1 to 86400). */
#define REFRESH_SECONDS 3600
#define TEST_REFRESH_ENV "BLINKAUTH_TEST_DISCOVERY_REFRESH_SECONDS"
/* The process-pool key under which the first pass of a start hands what it read to the second. */
#define RETAINED_KEY "mod_blinkauth-discovery"

/* One metadata document as requests use it, in a pool of its own. */
typedef struct {
    apr_pool_t *pool;
    int owned; /* made by this process's refresh thread (an unmanaged pool it destroys), not inherited from pconf */
    apr_time_t made; /* when the document was read: fetched, or from the cache file at start-up */
    blinkauth_discovery_t meta;
} snapshot_t;

/* One distinct metadata URL. */
typedef struct {
    const blinkauth_config_t *cfg; /* the first app naming it: the URL, timeout, CA file, Location */
    const char *where;             /* that app, for messages */
    const char *cache_path;
    volatile void *current; /* snapshot_t *: swapped atomically by the refresh thread, read by requests unlocked */
    snapshot_t *retired;    /* the snapshot the last swap replaced: freed by the next one (refresh thread only) */
} entry_t;

/* Every metadata URL of the configuration; built by post_config, only the entries' snapshots change afterwards. */
typedef struct {
    apr_hash_t *by_url;          /* URL -> entry_t * */
    apr_array_header_t *entries; /* entry_t * */
    apr_interval_time_t interval;
    server_rec *s;
} registry_t;

/* What the first pass of a start read, for the second: in the process pool, which outlives pconf and this module's
 * code (httpd unloads and loads it again between the passes). */
typedef struct {
    apr_hash_t *docs; /* URL -> document text */
} retained_t;

static registry_t *registry;

/* Where the cache files go: httpd's state directory where the headers have one (httpd 2.5's DefaultStateDir, the
 * test mod_md uses), else its runtime directory (DefaultRuntimeDir), as in every httpd 2.4 (Debian 12's included). */
#if AP_MODULE_MAGIC_AT_LEAST(20180906, 2)
#define cache_dir_relative ap_state_dir_relative
#else
#define cache_dir_relative ap_runtime_dir_relative
#endif

/* pconf cleanup: the registry goes with the configuration it was built from. */
static apr_status_t registry_forget(void *data)
{
    registry = NULL;
    return APR_SUCCESS;
}

/* A snapshot of meta in a new pool: a sub-pool of parent, or an unmanaged pool (owned) when parent is NULL. */
static snapshot_t *snapshot_make(apr_pool_t *parent, const blinkauth_discovery_t *meta)
{
    apr_pool_t *p;
    snapshot_t *snap;

    if ((parent ? apr_pool_create(&p, parent) : apr_pool_create_unmanaged_ex(&p, NULL, NULL)) != APR_SUCCESS)
        return NULL;
    snap = apr_pcalloc(p, sizeof(*snap));
    snap->pool = p;
    snap->owned = parent == NULL;
    snap->made = apr_time_now();
    snap->meta.issuer = apr_pstrdup(p, meta->issuer);
    snap->meta.authorization_endpoint = apr_pstrdup(p, meta->authorization_endpoint);
    snap->meta.token_endpoint = apr_pstrdup(p, meta->token_endpoint);
    snap->meta.userinfo_endpoint = apr_pstrdup(p, meta->userinfo_endpoint);
    snap->meta.revocation_endpoint = apr_pstrdup(p, meta->revocation_endpoint);
    return snap;
}

/* An APR status as words. */
static const char *status_text(apr_pool_t *p, apr_status_t rv)
{
    char buf[128];

    return apr_pstrdup(p, apr_strerror(rv, buf, sizeof(buf)));
}

/* Reads the document cached at path into *text (NUL-terminated) and *len, its time into *saved; NULL or why not. */
static const char *cache_read(apr_pool_t *p, const char *path, const char **text, apr_size_t *len, apr_time_t *saved)
{
    apr_finfo_t fi;
    apr_file_t *f;
    apr_status_t rv;
    char *buf;

    rv = apr_stat(&fi, path, APR_FINFO_SIZE | APR_FINFO_MTIME | APR_FINFO_TYPE, p);
    if (rv != APR_SUCCESS)
        return apr_psprintf(p, "no cached copy at %s (%s)", path, status_text(p, rv));
    if (fi.filetype != APR_REG || fi.size > BLINKAUTH_HTTP_MAX_BODY)
        return apr_psprintf(p, "the cached copy %s is not a file of at most %d bytes", path, BLINKAUTH_HTTP_MAX_BODY);
    buf = apr_palloc(p, (apr_size_t)fi.size + 1);
    rv = apr_file_open(&f, path, APR_FOPEN_READ, APR_OS_DEFAULT, p);
    if (rv == APR_SUCCESS) {
        rv = apr_file_read_full(f, buf, (apr_size_t)fi.size, len);
        apr_file_close(f);
    }
    if (rv != APR_SUCCESS && !(rv == APR_EOF && *len == 0 && fi.size == 0))
        return apr_psprintf(p, "cannot read the cached copy %s (%s)", path, status_text(p, rv));
    buf[*len] = '\0';
    *text = buf;
    *saved = fi.mtime;
    return NULL;
}

/* Replaces the file at path with text, atomically (a temporary file renamed over it); NULL or why not. */
static const char *cache_write(apr_pool_t *p, const char *path, const char *text, apr_size_t len)
{
    char *tmp = apr_pstrcat(p, path, ".XXXXXX", NULL);
    apr_file_t *f;
    apr_size_t n;
    apr_status_t rv, rv2;

    rv = apr_file_mktemp(&f, tmp, APR_FOPEN_CREATE | APR_FOPEN_READ | APR_FOPEN_WRITE | APR_FOPEN_EXCL, p);
    if (rv != APR_SUCCESS)
        return apr_psprintf(p, "cannot create %s (%s)", tmp, status_text(p, rv));
    rv = apr_file_write_full(f, text, len, &n);
    if (rv == APR_SUCCESS)
        rv = apr_file_sync(f);
    rv2 = apr_file_close(f);
    if (rv == APR_SUCCESS)
        rv = rv2;
    if (rv == APR_SUCCESS)
        rv = apr_file_rename(tmp, path, p);
    if (rv != APR_SUCCESS) {
        apr_file_remove(tmp, p);
        return apr_psprintf(p, "cannot write %s (%s)", path, status_text(p, rv));
    }
    return NULL;
}

/* The refresh interval: an hour, or BLINKAUTH_TEST_DISCOVERY_REFRESH_SECONDS (for tests only) when it is valid. */
static apr_interval_time_t refresh_interval(apr_pool_t *p, server_rec *s)
{
    const char *env = getenv(TEST_REFRESH_ENV);
    int seconds = REFRESH_SECONDS;

    if (env && blinkauth_config_parse_seconds(p, env, 1, 86400, &seconds) == NULL)
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                     BLALOGNO(00609) "discovery: metadata refreshed every %d s, as " TEST_REFRESH_ENV
                                     " says: a setting for tests only",
                     seconds);
    return apr_time_from_sec(seconds);
}

/* Adds the metadata URL the <Location> at sections[i] names, when it is a new one, to the registry baton with that
 * app's settings (a blinkauth_section_fn). */
static int registry_add(void *baton, apr_pool_t *ptemp, server_rec *s, apr_array_header_t *sections, int i,
                        const blinkauth_config_t *own)
{
    registry_t *reg = baton;
    apr_pool_t *pconf = apr_hash_pool_get(reg->by_url);
    const blinkauth_config_t *eff = blinkauth_section_effective(ptemp, s, sections, i);
    entry_t *e;

    if (eff->metadata_url == NULL || apr_hash_get(reg->by_url, eff->metadata_url, APR_HASH_KEY_STRING))
        return OK;
    e = apr_pcalloc(pconf, sizeof(*e));
    e->cfg = apr_pmemdup(pconf, eff, sizeof(*eff));
    e->where = apr_psprintf(pconf, "<Location %s> (BlinkAuth directives at %s)", eff->location ? eff->location : "/",
                            eff->defined_at ? eff->defined_at : "?");
    e->cache_path = cache_dir_relative(pconf, blinkauth_discovery_cache_name(ptemp, eff->metadata_url));
    apr_hash_set(reg->by_url, eff->metadata_url, APR_HASH_KEY_STRING, e);
    APR_ARRAY_PUSH(reg->entries, entry_t *) = e;
    return OK;
}

/* Every distinct metadata URL the <Location>s of the configuration name, each with the first app naming it. */
static registry_t *registry_build(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s)
{
    registry_t *reg = apr_pcalloc(pconf, sizeof(*reg));

    reg->by_url = apr_hash_make(pconf);
    reg->entries = apr_array_make(pconf, 2, sizeof(entry_t *));
    reg->s = s;
    blinkauth_sections_each(ptemp, s, registry_add, reg);
    return reg;
}

/* Settles e's first metadata: what the first pass of this start read (in kept), else a fetch (kept in the cache
 * file), else the cache file. In the first pass it goes into kept; in the others it becomes e's snapshot. OK, or
 * HTTP_INTERNAL_SERVER_ERROR (logged) when there is none. */
static int entry_load(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s, entry_t *e, apr_hash_t *kept, int first)
{
    const char *url = e->cfg->metadata_url, *text = first ? NULL : apr_hash_get(kept, url, APR_HASH_KEY_STRING);
    const char *why = NULL, *cached_why = NULL;
    blinkauth_discovery_t meta;
    blinkauth_outcome_t out;
    apr_size_t len = text ? strlen(text) : 0;
    apr_time_t saved = 0;

    if (text == NULL || blinkauth_discovery_parse(ptemp, url, text, len, &meta) != NULL) {
        out = blinkauth_discovery_fetch(ptemp, e->cfg, &meta, &text, &len);
        if (out.kind == BLINKAUTH_UP_OK) {
            ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                         BLALOGNO(00601) "discovery: %s: %s; authorization endpoint %s, token endpoint %s", e->where,
                         out.why, meta.authorization_endpoint, meta.token_endpoint);
            if ((why = cache_write(ptemp, e->cache_path, text, len)) != NULL)
                ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                             BLALOGNO(00604) "discovery: %s: no copy of %s kept: %s; a start while the provider is "
                                             "down will fail",
                             e->where, url, why);
        }
        else if ((cached_why = cache_read(ptemp, e->cache_path, &text, &len, &saved)) == NULL &&
                 (cached_why = blinkauth_discovery_parse(ptemp, url, text, len, &meta)) == NULL) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                         BLALOGNO(00602) "discovery: %s: cannot read BlinkAuthProviderMetadataURL %s: %s; using the "
                                         "copy cached at %s on %s",
                         e->where, url, out.why, e->cache_path, ap_ht_time(ptemp, saved, "%Y-%m-%d %H:%M:%S %Z", 0));
        }
        else {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, s,
                         BLALOGNO(00603) "discovery: %s: cannot read BlinkAuthProviderMetadataURL %s: %s; and %s: "
                                         "httpd does not start without the provider's metadata",
                         e->where, url, out.why,
                         strncmp(cached_why, "no cached copy", 14) == 0
                             ? cached_why
                             : apr_pstrcat(ptemp, "the cached copy is unusable: ", cached_why, NULL));
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    if (first)
        apr_hash_set(kept, apr_pstrdup(ap_pglobal, url), APR_HASH_KEY_STRING, apr_pstrmemdup(ap_pglobal, text, len));
    else if ((e->current = snapshot_make(pconf, &meta)) == NULL)
        return HTTP_INTERNAL_SERVER_ERROR;
    return OK;
}

int blinkauth_discovery_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    int first = ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG;
    int mode = ap_state_query(AP_SQ_RUN_MODE), rc = OK, i;
    registry_t *reg;
    retained_t *kept;

    registry = NULL;
    /* httpd runs no post_config under configtest (-t) or a dump (-S, -M): only the syntax is checked there. */
    if (mode == AP_SQ_RM_CONFIG_TEST || mode == AP_SQ_RM_CONFIG_DUMP)
        return OK;
    reg = registry_build(pconf, ptemp, s);
    if (reg->entries->nelts == 0)
        return OK;
    if ((kept = ap_retained_data_get(RETAINED_KEY)) == NULL) {
        kept = ap_retained_data_create(RETAINED_KEY, sizeof(*kept));
        kept->docs = apr_hash_make(ap_pglobal);
    }
    for (i = 0; rc == OK && i < reg->entries->nelts; i++)
        rc = entry_load(pconf, ptemp, s, APR_ARRAY_IDX(reg->entries, i, entry_t *), kept->docs, first);
    if (first)
        return rc;
    apr_hash_clear(kept->docs);
    if (rc == OK) {
        reg->interval = refresh_interval(ptemp, s);
        registry = reg;
        apr_pool_cleanup_register(pconf, NULL, registry_forget, apr_pool_cleanup_null);
    }
    return rc;
}

/* Fetches e's URL again: on success the new snapshot is swapped in and the one the previous swap replaced is freed
 * (a request finishes long before a refresh interval ends); on failure the current one stays, with a warning. */
static void refresh_one(entry_t *e)
{
    blinkauth_discovery_t meta;
    blinkauth_outcome_t out;
    const char *text;
    apr_size_t len;
    snapshot_t *snap, *old;
    apr_pool_t *tp;

    if (apr_pool_create_unmanaged_ex(&tp, NULL, NULL) != APR_SUCCESS)
        return;
    out = blinkauth_discovery_fetch(tp, e->cfg, &meta, &text, &len);
    if (out.kind != BLINKAUTH_UP_OK) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, registry->s,
                     BLALOGNO(00605) "discovery: %s: refreshing BlinkAuthProviderMetadataURL %s failed: %s; the "
                                     "metadata read before stays in use",
                     e->where, e->cfg->metadata_url, out.why);
    }
    else if ((snap = snapshot_make(NULL, &meta)) != NULL) {
        old = apr_atomic_xchgptr(&e->current, snap);
        if (e->retired && e->retired->owned)
            apr_pool_destroy(e->retired->pool);
        e->retired = old;
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, registry->s,
                     BLALOGNO(00606) "discovery: %s: refreshed: %s; authorization endpoint %s, token endpoint %s",
                     e->where, out.why, meta.authorization_endpoint, meta.token_endpoint);
    }
    apr_pool_destroy(tp);
}

/* The refresh task: refreshes each entry (a blinkauth_worker_task_t). */
static void refresh_all(void *baton)
{
    int i;

    for (i = 0; i < registry->entries->nelts; i++)
        refresh_one(APR_ARRAY_IDX(registry->entries, i, entry_t *));
}

/* Once the refresh thread has stopped: frees the snapshots it made; no request runs any more. */
static void snapshots_free(void *baton)
{
    int i;

    for (i = 0; registry && i < registry->entries->nelts; i++) {
        entry_t *e = APR_ARRAY_IDX(registry->entries, i, entry_t *);
        snapshot_t *cur = (snapshot_t *)apr_atomic_casptr(&e->current, NULL, NULL);

        if (e->retired && e->retired->owned)
            apr_pool_destroy(e->retired->pool);
        e->retired = NULL;
        if (cur && cur->owned) {
            apr_atomic_casptr(&e->current, NULL, cur);
            apr_pool_destroy(cur->pool);
        }
    }
}

void blinkauth_discovery_child_init(apr_pool_t *pchild, server_rec *s)
{
    apr_status_t rv;

    if (registry == NULL)
        return;
    rv = blinkauth_worker_start(pchild, registry->interval, registry->interval, refresh_all, snapshots_free, NULL);
    if (rv != APR_SUCCESS)
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                     BLALOGNO(00607) "discovery: cannot start the metadata refresh thread in this child: it keeps "
                                     "what was read at start-up");
}

apr_time_t blinkauth_discovery_read_at(const blinkauth_config_t *cfg)
{
    entry_t *e = registry && cfg->metadata_url ? apr_hash_get(registry->by_url, cfg->metadata_url, APR_HASH_KEY_STRING)
                                               : NULL;
    const snapshot_t *snap = e ? (const snapshot_t *)apr_atomic_casptr(&e->current, NULL, NULL) : NULL;

    return snap ? snap->made : 0;
}

const blinkauth_config_t *blinkauth_discovery_apply(request_rec *r, const blinkauth_config_t *cfg)
{
    entry_t *e;
    const snapshot_t *snap;
    blinkauth_config_t *out;

    if (cfg->metadata_url == NULL)
        return cfg;
    e = registry ? apr_hash_get(registry->by_url, cfg->metadata_url, APR_HASH_KEY_STRING) : NULL;
    snap = e ? (const snapshot_t *)apr_atomic_casptr(&e->current, NULL, NULL) : NULL;
    if (snap == NULL) {
        ap_log_rerror(
            APLOG_MARK, APLOG_ERR, 0, r,
            BLALOGNO(00608) "discovery: %s: no metadata was read at start-up for BlinkAuthProviderMetadataURL "
                            "%s (only a <Location> with SetHandler blinkauth is an app)",
            r->uri, cfg->metadata_url);
        return NULL;
    }
    /* Copies into r->pool: the refresh thread frees a replaced snapshot one interval later, and a request may outlast
     * that (a callback of several slow upstream calls with a short BlinkAuth refresh interval). */
    out = apr_pmemdup(r->pool, cfg, sizeof(*cfg));
    if (out->authorize_url == NULL)
        out->authorize_url = apr_pstrdup(r->pool, snap->meta.authorization_endpoint);
    if (out->token_url == NULL)
        out->token_url = apr_pstrdup(r->pool, snap->meta.token_endpoint);
    if (out->userinfo_url == NULL)
        out->userinfo_url = apr_pstrdup(r->pool, snap->meta.userinfo_endpoint);
    if (out->revoke_url == NULL)
        out->revoke_url = apr_pstrdup(r->pool, snap->meta.revocation_endpoint);
    if (out->issuer == NULL)
        out->issuer = apr_pstrdup(r->pool, snap->meta.issuer);
    return out;
}
