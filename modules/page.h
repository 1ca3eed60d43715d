/* The bodies of the HTML pages shown to the person in the browser (the callback's outcome). */
#ifndef BLINKAUTH_PAGE_H
#define BLINKAUTH_PAGE_H

#include <apr_pools.h>

#define BLINKAUTH_HTML_TYPE "text/html; charset=utf-8"
/* The pages load nothing and run nothing. */
#define BLINKAUTH_PAGE_CSP                                                                                             \
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

/* A small self-contained HTML page: a heading and one paragraph, both escaped here; when ref is not NULL (the flow
 * reference of a connect that failed), a second paragraph "Reference: <ref> — give this to your administrator.". */
const char *blinkauth_page_html(apr_pool_t *p, const char *title, const char *message, const char *ref);

#endif
