/* Fuzz target: percent-decoding (blinkauth_text_pct_decode, as a query's names and values, and as a path),
 * with percent-encoding and HTML escaping of the result.
 * Properties: decoding never lengthens, never yields a NUL; encode-then-decode is the identity; escaped
 * HTML has no markup characters left. */
#include "fuzz.h"
#include "text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    apr_pool_t *p = fuzz_pool_begin();
    int form;

    for (form = 0; form <= 1; form++) {
        char *dec = blinkauth_text_pct_decode(p, s, form);
        if (dec) {
            const char *enc = blinkauth_text_pct_encode(p, dec), *html = blinkauth_text_html_escape(p, dec);
            char *again = blinkauth_text_pct_decode(p, enc, 0);
            FUZZ_CHECK(strlen(dec) <= strlen(s));
            FUZZ_CHECK(again && strcmp(again, dec) == 0);
            FUZZ_CHECK(strpbrk(html, "<>\"'") == NULL);
            if (!form)
                FUZZ_CHECK(strchr(s, '%') != NULL || strcmp(dec, s) == 0);
        }
        else {
            FUZZ_CHECK(strchr(s, '%') != NULL);
        }
    }
    fuzz_pool_end(p);
    free(s);
    return 0;
}
