/* mod_bench_noop: the limit `make bench` measures mod_blinkauth against — a handler that does nothing but answer.
 *
 * In a <Location> with `SetHandler bench-noop` and `BenchNoopBody FILE`, every request (its body read and dropped)
 * is answered 200 with FILE's
 * bytes (read once, when httpd reads its configuration) and the headers a Connect answer has (Content-Type
 * application/json; charset=utf-8, Cache-Control no-store, X-Content-Type-Options nosniff, Content-Length).
 * Like mod_blinkauth, it marks its own requests in translate_name (map_to_storage runs with the server's
 * configuration) and answers OK for them in map_to_storage, so httpd skips the filesystem walk.
 * Built with apxs by bench/lib.sh; not part of the module. */
#include "httpd.h"
#include "http_config.h"
#include "http_protocol.h"
#include "http_request.h"
#include "apr_file_io.h"
#include "apr_strings.h"

module AP_MODULE_DECLARE_DATA bench_noop_module;

/* The body a section answers with, NULL outside one with BenchNoopBody. */
typedef struct {
    const char *body;
    apr_size_t len;
} noop_config_t;

/* An empty section configuration. */
static void *create_dir_config(apr_pool_t *p, char *path)
{
    return apr_pcalloc(p, sizeof(noop_config_t));
}

/* BenchNoopBody FILE: reads FILE into the configuration's memory. */
static const char *body_cmd(cmd_parms *cmd, void *dconf, const char *path)
{
    noop_config_t *cfg = dconf;
    apr_file_t *f;
    apr_finfo_t info;
    char *buf;
    apr_size_t n;

    if (apr_file_open(&f, path, APR_READ, 0, cmd->temp_pool) != APR_SUCCESS ||
        apr_file_info_get(&info, APR_FINFO_SIZE, f) != APR_SUCCESS)
        return apr_pstrcat(cmd->pool, "BenchNoopBody: cannot read ", path, NULL);
    n = (apr_size_t)info.size;
    buf = apr_palloc(cmd->pool, n + 1);
    if (apr_file_read_full(f, buf, n, &n) != APR_SUCCESS)
        return apr_pstrcat(cmd->pool, "BenchNoopBody: cannot read ", path, NULL);
    apr_file_close(f);
    buf[n] = '\0';
    cfg->body = buf;
    cfg->len = n;
    return NULL;
}

/* The section's configuration when it answers r, else NULL. */
static const noop_config_t *ours(request_rec *r)
{
    const noop_config_t *cfg = ap_get_module_config(r->per_dir_config, &bench_noop_module);

    return cfg && cfg->body ? cfg : NULL;
}

/* Marks our requests for map_to_storage, which runs with the server's configuration, not the <Location>'s. */
static int translate_name(request_rec *r)
{
    if (ours(r) != NULL)
        apr_table_setn(r->notes, "bench-noop-ours", "1");
    return DECLINED;
}

/* Skips the filesystem walk for our requests, as mod_blinkauth does for its own. */
static int map_to_storage(request_rec *r)
{
    if (apr_table_get(r->notes, "bench-noop-ours") == NULL)
        return DECLINED;
    r->filename = apr_pstrcat(r->pool, "bench-noop:", r->uri, NULL);
    return OK;
}

/* Answers with the body from memory and Connect's headers. */
static int handler(request_rec *r)
{
    const noop_config_t *cfg;
    char buf[8192];
    long n = 0;

    if (r->handler == NULL || strcmp(r->handler, "bench-noop") != 0 || (cfg = ours(r)) == NULL)
        return DECLINED;
    /* A request's body is read (and dropped) as a real endpoint reads it, and as Connect reads its (empty) one:
     * ap_discard_request_body does nothing on an HTTP/2 stream, which would then be answered before its body came. */
    if (ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK) != OK)
        return HTTP_BAD_REQUEST;
    if (ap_should_client_block(r))
        while ((n = ap_get_client_block(r, buf, sizeof(buf))) > 0)
            ;
    if (n < 0)
        return HTTP_BAD_REQUEST;
    ap_set_content_type(r, "application/json; charset=utf-8");
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->headers_out, "X-Content-Type-Options", "nosniff");
    ap_set_content_length(r, (apr_off_t)cfg->len);
    if (!r->header_only)
        ap_rwrite(cfg->body, (int)cfg->len, r);
    return OK;
}

/* Registers the hooks. */
static void register_hooks(apr_pool_t *p)
{
    ap_hook_translate_name(translate_name, NULL, NULL, APR_HOOK_REALLY_FIRST);
    ap_hook_map_to_storage(map_to_storage, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_handler(handler, NULL, NULL, APR_HOOK_MIDDLE);
}

static const command_rec cmds[] = {
    AP_INIT_TAKE1("BenchNoopBody", body_cmd, NULL, ACCESS_CONF, "the file whose bytes every request is answered with"),
    {NULL}};

module AP_MODULE_DECLARE_DATA bench_noop_module = {STANDARD20_MODULE_STUFF, create_dir_config, NULL, NULL, NULL, cmds,
                                                   register_hooks,
#if defined(AP_MODULE_FLAG_ALWAYS_MERGE)
                                                   AP_MODULE_FLAG_NONE
#endif
};
