/* Start-up checks of the configuration as written (httpd's directive tree, with file and line): where SetHandler
 * blinkauth and the BlinkAuth directives stand, Auth IDs used twice, redirect URIs that miss every app. */
#include "glue.h"
#include "text.h"

#include "apr_hash.h"
#include "apr_strings.h"
#include "util_cfgtree.h"

/* One section of the configuration as written: its kind, path, and what it holds of ours. */
typedef struct {
    const ap_directive_t *at;       /* the section's opening directive */
    const ap_directive_t *vhost;    /* the <VirtualHost> it is in, NULL for the main server */
    const char *path;               /* its argument, unquoted, without trailing '/' */
    int is_location;                /* a plain <Location path> (not ~ regex, not LocationMatch, Directory, ...) */
    const ap_directive_t *handler;  /* its SetHandler blinkauth, or NULL */
    int acts;                       /* it has AuthType Blink: the module answers Blink's actions there */
    const ap_directive_t *ours;     /* its first BlinkAuth directive, or NULL */
    const ap_directive_t *auth_id;  /* its BlinkAuthID, or NULL */
    const char *auth_id_value;      /* that directive's value */
    const ap_directive_t *redirect; /* its BlinkAuthRedirectURI, or NULL */
} written_t;

/* "file:line" of a directive. */
static const char *where(apr_pool_t *p, const ap_directive_t *d)
{
    return apr_psprintf(p, "%s:%d", d->filename, d->line_num);
}

/* The first word of a directive's arguments, unquoted, without a section's closing '>'. */
static const char *first_arg(apr_pool_t *p, const ap_directive_t *d)
{
    const char *args = d->args ? d->args : "";
    apr_size_t n = strlen(args);
    char *copy;

    if (n > 0 && args[n - 1] == '>')
        n--;
    copy = apr_pstrmemdup(p, args, n);
    return ap_getword_conf(p, (const char **)&copy);
}

/* 1 for the containers httpd resolves while reading (<IfModule>, <IfDefine>, ...): they are no section. */
static int is_transparent(const char *name)
{
    return strncasecmp(name, "<If", 3) == 0 && strcasecmp(name, "<If") != 0;
}

/* Adds to out every section under d (in vhost, inside the section at parent) and what it holds of ours. */
static void collect(apr_pool_t *p, const ap_directive_t *d, const ap_directive_t *vhost, written_t *parent,
                    apr_array_header_t *out)
{
    for (; d; d = d->next) {
        const char *name = d->directive;

        if (d->first_child && strcasecmp(name, "<VirtualHost") == 0) {
            collect(p, d->first_child, d, NULL, out);
        }
        else if (d->first_child && is_transparent(name)) {
            collect(p, d->first_child, vhost, parent, out);
        }
        else if (*name == '<') {
            written_t *w = apr_array_push(out);
            apr_size_t n;

            memset(w, 0, sizeof(*w));
            w->at = d;
            w->vhost = vhost;
            w->path = first_arg(p, d);
            w->is_location = strcasecmp(name, "<Location") == 0 && strcmp(w->path, "~") != 0;
            for (n = strlen(w->path); n > 0 && w->path[n - 1] == '/'; n--)
                ;
            w->path = apr_pstrmemdup(p, w->path, n);
            collect(p, d->first_child, vhost, w, out);
        }
        else if (strcasecmp(name, "SetHandler") == 0 && strcasecmp(first_arg(p, d), "blinkauth") == 0) {
            if (parent == NULL) { /* the server's own: recorded as a section of no kind */
                written_t *w = apr_array_push(out);
                memset(w, 0, sizeof(*w));
                w->at = d;
                w->vhost = vhost;
                w->path = "";
                w->handler = d;
            }
            else if (parent->handler == NULL) {
                parent->handler = d;
            }
        }
        else if (strcasecmp(name, "AuthType") == 0 && strcasecmp(first_arg(p, d), "Blink") == 0 && parent) {
            parent->acts = 1;
        }
        else if (strncasecmp(name, "BlinkAuth", 9) == 0 && strcasecmp(name, "BlinkAuthCache") != 0 && parent) {
            if (parent->ours == NULL)
                parent->ours = d;
            if (strcasecmp(name, "BlinkAuthID") == 0) {
                parent->auth_id = d;
                parent->auth_id_value = first_arg(p, d);
            }
            if (strcasecmp(name, "BlinkAuthRedirectURI") == 0)
                parent->redirect = d;
        }
    }
}

/* 1 when a and b are of the same server: the same virtual host, or one of them the main server's. */
static int same_server(const written_t *a, const written_t *b)
{
    return a->vhost == b->vhost || a->vhost == NULL || b->vhost == NULL;
}

/* 1 when SetHandler blinkauth or AuthType Blink applies to Location w, or to a Location nested in it (then w holds
 * shared values). */
static int handled(const apr_array_header_t *all, const written_t *w)
{
    const written_t *o = (const written_t *)all->elts;
    int i;

    for (i = 0; i < all->nelts; i++)
        if (o[i].is_location && (o[i].handler || o[i].acts) && same_server(&o[i], w) &&
            (blinkauth_path_contains(o[i].path, w->path) || blinkauth_path_contains(w->path, o[i].path)))
            return 1;
    return 0;
}

/* The path of an absolute URL ("" for none), without its query. */
static const char *url_path(apr_pool_t *p, const char *url)
{
    blinkauth_url_parts_t u;

    blinkauth_text_url_split(url, &u);
    return apr_pstrmemdup(p, u.path, strcspn(u.path, "?#"));
}

/* 1 when path is <Location>/callback of an app (a Location with SetHandler blinkauth) anywhere on this server. */
static int is_app_callback(apr_pool_t *p, const apr_array_header_t *all, const char *path)
{
    const written_t *o = (const written_t *)all->elts;
    int i;

    for (i = 0; i < all->nelts; i++)
        if (o[i].is_location && o[i].handler && strcmp(path, apr_pstrcat(p, o[i].path, "/callback", NULL)) == 0)
            return 1;
    return 0;
}

/* Logs one start-up complaint about the configuration as written. */
static void complain(server_rec *s, int level, const char *text)
{
    ap_log_error(APLOG_MARK, APLOG_STARTUP | level, 0, s, "%s", text);
}

int blinkauth_check_written(apr_pool_t *ptemp, server_rec *s, apr_hash_t *unhandled)
{
    apr_array_header_t *all = apr_array_make(ptemp, 16, sizeof(written_t));
    const written_t *w;
    int i, j, failed = 0;

    collect(ptemp, ap_conftree, NULL, NULL, all);
    w = (const written_t *)all->elts;
    for (i = 0; i < all->nelts; i++) {
        const char *sec = w[i].at == w[i].handler ? "the server's own configuration"
                                                  : apr_psprintf(ptemp, "%s %s", w[i].at->directive, w[i].at->args);
        if (w[i].handler && !w[i].is_location) {
            complain(s, APLOG_EMERG,
                     apr_psprintf(ptemp,
                                  BLALOGNO(00012) "BlinkAuth: SetHandler blinkauth at %s is in %s: use <Location "
                                                  "\"/path\"> (the module finds its routes below a Location's path)",
                                  where(ptemp, w[i].handler), sec));
            failed = 1;
        }
        if (w[i].is_location && w[i].ours && !handled(all, &w[i])) {
            apr_hash_set(unhandled, w[i].path, APR_HASH_KEY_STRING, w[i].path);
            complain(s, APLOG_WARNING,
                     apr_psprintf(ptemp,
                                  BLALOGNO(00013) "BlinkAuth: <Location %s> at %s has BlinkAuth directives but neither "
                                                  "SetHandler blinkauth nor AuthType Blink applies to it or to a "
                                                  "Location inside it: "
                                                  "nothing there answers Blink",
                                  w[i].path[0] ? w[i].path : "/", where(ptemp, w[i].at)));
        }
        for (j = i + 1; w[i].auth_id && j < all->nelts; j++)
            if (w[j].auth_id && same_server(&w[i], &w[j]) && strcmp(w[i].auth_id_value, w[j].auth_id_value) == 0) {
                complain(s, APLOG_EMERG,
                         apr_psprintf(ptemp,
                                      BLALOGNO(00014) "BlinkAuth: BlinkAuthID %s is set twice on one server, at %s "
                                                      "and at %s: each app has its own Auth ID",
                                      w[i].auth_id_value, where(ptemp, w[i].auth_id), where(ptemp, w[j].auth_id)));
                failed = 1;
            }
        if (w[i].redirect && !is_app_callback(ptemp, all, url_path(ptemp, first_arg(ptemp, w[i].redirect))))
            complain(s, APLOG_WARNING,
                     apr_psprintf(ptemp,
                                  BLALOGNO(00015) "BlinkAuth: BlinkAuthRedirectURI %s at %s is not <Location>/callback "
                                                  "of an app on this server (<Location %s> answers %s/callback): fine "
                                                  "if something in front rewrites the path, else the browser will "
                                                  "not come back to the module",
                                  first_arg(ptemp, w[i].redirect), where(ptemp, w[i].redirect),
                                  w[i].path[0] ? w[i].path : "/", w[i].path));
    }
    return failed ? HTTP_INTERNAL_SERVER_ERROR : OK;
}
