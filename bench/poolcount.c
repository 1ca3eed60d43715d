/* poolcount: an LD_PRELOAD shim for `make bench` that counts the bytes each HTTP request takes
 * from its request pool (r->pool), whoever allocates them: httpd's core or mod_blinkauth.
 *
 * httpd tags every request pool "request" (apr_pool_tag) right after creating it; from then on,
 * apr_palloc (which apr_pcalloc, apr_pstrdup, apr_pstrcat, apr_table_* ... call through the PLT)
 * and apr_pvsprintf (apr_psprintf) on that pool are counted, with APR's 8-byte alignment.  When the
 * pool is destroyed, one line "bytes calls" is appended to $POOLCOUNT_FILE.
 *
 * Meant for a single-process httpd (-X) driven over one connection at a time: the watched pool is
 * a global, not per thread.  Memory that jansson or libcurl take with malloc is not pool memory and
 * is not counted here (the bench reports RSS for that).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_pools.h>

#define ALIGN8(n) (((n) + 7) & ~(apr_size_t)7)

static apr_pool_t *volatile watched;
static volatile unsigned long bytes, calls;

/* The next definition of a symbol (libapr's). */
static void *real(const char *name)
{
    void *f = dlsym(RTLD_NEXT, name);

    if (f == NULL) {
        fprintf(stderr, "poolcount: no %s\n", name);
        _exit(99);
    }
    return f;
}

void apr_pool_tag(apr_pool_t *pool, const char *tag)
{
    static void (*f)(apr_pool_t *, const char *);

    if (!f)
        f = real("apr_pool_tag");
    f(pool, tag);
    if (tag && strcmp(tag, "request") == 0) {
        watched = pool;
        bytes = calls = 0;
    }
}

void *apr_palloc(apr_pool_t *pool, apr_size_t size)
{
    static void *(*f)(apr_pool_t *, apr_size_t);

    if (!f)
        f = real("apr_palloc");
    if (pool == watched) {
        bytes += ALIGN8(size);
        calls++;
    }
    return f(pool, size);
}

char *apr_pvsprintf(apr_pool_t *pool, const char *fmt, va_list ap)
{
    static char *(*f)(apr_pool_t *, const char *, va_list);
    char *s;

    if (!f)
        f = real("apr_pvsprintf");
    s = f(pool, fmt, ap);
    if (pool == watched && s) {
        bytes += ALIGN8(strlen(s) + 1);
        calls++;
    }
    return s;
}

void apr_pool_destroy(apr_pool_t *pool)
{
    static void (*f)(apr_pool_t *);

    if (!f)
        f = real("apr_pool_destroy");
    if (pool == watched) {
        const char *path = getenv("POOLCOUNT_FILE");
        char line[64];
        int fd, n = snprintf(line, sizeof(line), "%lu %lu\n", bytes, calls);

        watched = NULL;
        if (path && (fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644)) >= 0) {
            if (write(fd, line, (size_t)n) != n)
                perror("poolcount");
            close(fd);
        }
    }
    f(pool);
}
