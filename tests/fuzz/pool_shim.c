/* Makes AddressSanitizer see APR pool allocations: while an input is being processed, apr_palloc and
 * apr_pcalloc (from our code and from inside libapr, which calls apr_palloc through its PLT) return
 * blocks of their own from malloc, exactly as large as asked, so writing or reading one byte past a
 * pool allocation is a heap-buffer-overflow report instead of silent corruption of the pool's block.
 * The blocks are freed together once the input's pool is destroyed (fuzz_shim_end), so a pointer kept
 * beyond its pool is a heap-use-after-free report. It also counts the bytes handed out, so a target can
 * check that a parser's pool use stays proportional to its input. Outside that window, allocations go to APR as usual.
 * apr_psprintf and apr_pvsprintf write into the pool's own blocks and stay unchecked. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <apr_pools.h>
#include "fuzz.h"

#undef apr_pcalloc
/* apr_pools.h makes apr_pcalloc a macro; the shim replaces the function behind it. */
APR_DECLARE(void *) apr_pcalloc(apr_pool_t *p, apr_size_t size);

static int active;
static void **blocks;
static size_t nblocks, capblocks, allocated;

/* Opens the window: pool allocations from now on are malloc blocks of their own. */
void fuzz_shim_begin(void)
{
    active = 1;
    allocated = 0;
}

/* Bytes handed out by apr_palloc / apr_pcalloc since the window opened. */
size_t fuzz_shim_allocated(void)
{
    return allocated;
}

/* Closes the window and frees every block handed out in it. */
void fuzz_shim_end(void)
{
    size_t i;

    active = 0;
    for (i = 0; i < nblocks; i++)
        free(blocks[i]);
    nblocks = 0;
    free(blocks);
    blocks = NULL;
    capblocks = 0;
}

/* APR's own apr_palloc, for allocations outside the window. */
static void *real_palloc(apr_pool_t *p, apr_size_t size)
{
    static void *(*real)(apr_pool_t *, apr_size_t);

    if (real == NULL)
        *(void **)&real = dlsym(RTLD_NEXT, "apr_palloc");
    return real(p, size);
}

/* One tracked malloc block of exactly size bytes (1 for 0). */
static void *tracked(apr_size_t size)
{
    void *b;

    if (nblocks == capblocks) {
        capblocks = capblocks ? capblocks * 2 : 256;
        blocks = realloc(blocks, capblocks * sizeof(*blocks));
        if (blocks == NULL)
            abort();
    }
    if ((b = malloc(size ? size : 1)) == NULL)
        abort();
    blocks[nblocks++] = b;
    allocated += size;
    return b;
}

APR_DECLARE(void *) apr_palloc(apr_pool_t *p, apr_size_t size)
{
    return active ? tracked(size) : real_palloc(p, size);
}

APR_DECLARE(void *) apr_pcalloc(apr_pool_t *p, apr_size_t size)
{
    return memset(apr_palloc(p, size), 0, size);
}
