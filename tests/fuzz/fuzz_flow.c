/* Fuzz target: a flow record as read back from the socache (blinkauth_flow_decode), raw bytes with a length.
 * Properties: a record that decodes has every field a start handle has (the verifier, nonce and browser may be
 * missing), and encodes back to a record that decodes the same. */
#include "fuzz.h"
#include "flow.h"

/* 1 when a and b are both NULL, or the same string. */
static int same(const char *a, const char *b)
{
    return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *b = fuzz_bytes(data, size);
    apr_pool_t *p = fuzz_pool_begin();
    const char *why = NULL;
    blinkauth_flow_t *flow = blinkauth_flow_decode(p, b, size, &why);

    if (flow == NULL) {
        FUZZ_CHECK(why != NULL);
    }
    else {
        const char *text;
        blinkauth_flow_t *again;

        FUZZ_CHECK(flow->user_id && flow->auth_id && flow->redirect_uri);
        text = blinkauth_flow_encode(p, flow);
        FUZZ_CHECK(text != NULL);
        again = blinkauth_flow_decode(p, text, strlen(text), &why);
        FUZZ_CHECK(again != NULL);
        FUZZ_CHECK(same(again->user_id, flow->user_id) && same(again->auth_id, flow->auth_id) &&
                   same(again->verifier, flow->verifier) && same(again->redirect_uri, flow->redirect_uri) &&
                   same(again->nonce, flow->nonce) && same(again->browser, flow->browser) &&
                   again->created == flow->created);
    }
    fuzz_pool_end(p);
    free(b);
    return 0;
}
