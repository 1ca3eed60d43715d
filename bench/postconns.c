/* postconns: how many TCP connections N sequential POSTs through blinkauth_http_call open against a keep-alive
 * loopback server (tests/unit/http_server.c): what refusing libcurl's re-send costs in connection reuse.
 *
 *   make bench-postconns            (N = 1000; or: build/bench/postconns 5000)
 *
 * Prints the connections the client counted (CURLINFO_NUM_CONNECTS, summed), those the server accepted, the
 * requests it received, the calls that failed and the wall time. Not part of `make test`.
 */
#include <stdio.h>
#include <stdlib.h>

#include <apr_general.h>
#include <apr_strings.h>
#include <apr_time.h>

#include "http.h"
#include "http_server.h"

#define OK_REPLY "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"

/* Makes n POSTs with a token-exchange-like body to url; counts the failed calls and the connections opened. */
static int post_many(apr_pool_t *p, const char *url, int n, long *conns)
{
    blinkauth_http_request_t req = {.method = "POST", .url = url, .timeout_s = 10};
    blinkauth_http_response_t res;
    int i, failed = 0;

    req.body = "grant_type=authorization_code&code=abc&redirect_uri=https%3A%2F%2Fapp.example%2Fcb";
    req.content_type = "application/x-www-form-urlencoded";
    for (i = 0; i < n; i++) {
        apr_pool_t *call;
        apr_pool_create(&call, p);
        if (blinkauth_http_call(call, &req, &res) != APR_SUCCESS || res.status != 200)
            failed++;
        *conns += res.new_connections;
        apr_pool_destroy(call);
    }
    return failed;
}

/* Runs post_many against a fresh loopback server and prints the counts. */
int main(int argc, char **argv)
{
    hs_step_t step = {HS_REPLY, OK_REPLY, 0};
    int n = argc > 1 ? atoi(argv[1]) : 1000, failed;
    apr_pool_t *p;
    hs_server_t *s;
    apr_time_t t0;
    long conns = 0;

    apr_initialize();
    apr_pool_create(&p, NULL);
    if (blinkauth_http_global_init(p) != APR_SUCCESS)
        return 2;
    s = hs_start(&step, 1, 0);
    t0 = apr_time_now();
    failed = post_many(p, apr_psprintf(p, "http://127.0.0.1:%d/token", hs_port(s)), n, &conns);
    printf("%d sequential POSTs: %ld connection(s) opened (client), %d accepted (server), %d request(s) received, "
           "%d failed, %ld ms\n",
           n, conns, hs_accepts(s), hs_request_count(s), failed, (long)apr_time_as_msec(apr_time_now() - t0));
    hs_stop(s);
    apr_pool_destroy(p);
    apr_terminate();
    return failed ? 1 : 0;
}
