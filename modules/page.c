/* The bodies of the HTML pages shown to the person in the browser (the callback's outcome). */
#include "page.h"
#include "text.h"

#include <apr_strings.h>

/* The paragraph that gives the person the flow reference to pass on, or "" without one. */
static const char *reference(apr_pool_t *p, const char *ref)
{
    if (ref == NULL)
        return "";
    return apr_pstrcat(p, "\n<p>Reference: <code>", blinkauth_text_html_escape(p, ref),
                       "</code> \xe2\x80\x94 give this to your administrator.</p>", NULL);
}

const char *blinkauth_page_html(apr_pool_t *p, const char *title, const char *message, const char *ref)
{
    const char *t = blinkauth_text_html_escape(p, title);

    return apr_pstrcat(p,
                       "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                       "<title>",
                       t,
                       "</title><style>"
                       "body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;"
                       "color:#222}h1{font-size:1.4rem}</style></head>\n<body><h1>",
                       t, "</h1>\n<p>", blinkauth_text_html_escape(p, message), "</p>", reference(p, ref),
                       "</body></html>\n", NULL);
}
