/* Fuzz target: a flow record as read back from the socache (blinkauth_flow_decode), raw bytes with a length.
 * Properties: a record that decodes has every field, and encodes back to a record that decodes the same. */
#include "fuzz.h"
#include "flow.h"

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

        FUZZ_CHECK(flow->user_id && flow->auth_id && flow->verifier && flow->redirect_uri);
        text = blinkauth_flow_encode(p, flow);
        FUZZ_CHECK(text != NULL);
        again = blinkauth_flow_decode(p, text, strlen(text), &why);
        FUZZ_CHECK(again != NULL);
        FUZZ_CHECK(strcmp(again->user_id, flow->user_id) == 0 && strcmp(again->auth_id, flow->auth_id) == 0 &&
                   strcmp(again->verifier, flow->verifier) == 0 &&
                   strcmp(again->redirect_uri, flow->redirect_uri) == 0 && again->created == flow->created);
    }
    fuzz_pool_end(p);
    free(b);
    return 0;
}
