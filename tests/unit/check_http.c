/* Unit tests of modules/http.c against the loopback server fixture in http_server.c. */
#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "http.h"
#include "http_server.h"

#ifndef BLINKAUTH_VERSION /* as in http.c, when built without the Makefile */
#define BLINKAUTH_VERSION "dev"
#endif

static apr_pool_t *p;

/* Per-test pool. */
static void setup(void)
{
    apr_pool_create(&p, NULL);
}

/* Release the per-test pool. */
static void teardown(void)
{
    apr_pool_destroy(p);
}

/* A raw HTTP/1.1 response with a Content-Length; extra headers each end in CRLF. */
static const char *reply(int status, const char *extra, const char *body)
{
    return apr_psprintf(p, "HTTP/1.1 %d X\r\nContent-Length: %" APR_SIZE_T_FMT "\r\n%s\r\n%s", status,
                        strlen(body), extra ? extra : "", body);
}

/* A request for url with a generous budget. */
static blinkauth_http_request_t get(const char *url)
{
    blinkauth_http_request_t req = { .method = "GET", .url = url, .timeout_s = 5 };
    return req;
}

/* The fixture's URL for path. */
static const char *url_of(hs_server_t *s, const char *path)
{
    return apr_psprintf(p, "http://127.0.0.1:%d%s", hs_port(s), path);
}

/* A string of n copies of c in the pool. */
static char *filled(size_t n, char c)
{
    char *s = apr_palloc(p, n + 1);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

START_TEST(test_get_ok)
{
    hs_step_t st[] = { { HS_REPLY, reply(200, "Content-Type: text/plain; charset=utf-8\r\n", "hello"), 0 } };
    hs_server_t *s = hs_start(st, 1, 0);
    blinkauth_http_request_t req = get(url_of(s, "/x?y=1"));
    blinkauth_http_response_t res;
    const hs_request_t *r;

    ck_assert_int_eq(blinkauth_http_call(p, &req, &res), APR_SUCCESS);
    ck_assert_int_eq(res.error, BLINKAUTH_HTTP_OK);
    ck_assert_int_eq(res.status, 200);
    ck_assert_str_eq(res.body, "hello");
    ck_assert_uint_eq(res.body_len, 5);
    ck_assert_str_eq(res.content_type, "text/plain; charset=utf-8");
    ck_assert_ptr_null(res.error_text);
    ck_assert_ptr_null(res.retry_after);
    ck_assert_int_eq(res.attempts, 1);
    ck_assert_int_eq(res.new_connections, 1);
    ck_assert_int_lt(res.elapsed_ms, 2000);
    ck_assert_int_eq(hs_request_count(s), 1);
    r = hs_request(s, 0);
    ck_assert_str_eq(r->method, "GET");
    ck_assert_str_eq(r->path, "/x?y=1");
    ck_assert_str_eq(hs_header(r, "User-Agent"), "mod_blinkauth/" BLINKAUTH_VERSION);
    ck_assert_ptr_null(hs_header(r, "Authorization"));
    hs_stop(s);
}
END_TEST

START_TEST(test_post_body_bearer_headers)
{
    hs_step_t st[] = { { HS_REPLY, reply(201, NULL, "{}"), 0 } };
    hs_server_t *s = hs_start(st, 1, 0);
    apr_array_header_t *h = apr_array_make(p, 1, sizeof(const char *));
    blinkauth_http_request_t req = get(url_of(s, "/api"));
    blinkauth_http_response_t res;
    const hs_request_t *r;

    APR_ARRAY_PUSH(h, const char *) = "X-Trace: 7";
    req.method = "POST";
    req.body = "{\"a\":1}";
    req.body_len = 7;
    req.content_type = "application/json";
    req.bearer = "tok123";
    req.headers = h;
    ck_assert_int_eq(blinkauth_http_call(p, &req, &res), APR_SUCCESS);
    ck_assert_int_eq(res.status, 201);
    r = hs_request(s, 0);
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(r->method, "POST");
    ck_assert_str_eq(r->body, "{\"a\":1}");
    ck_assert_str_eq(hs_header(r, "Content-Type"), "application/json");
    ck_assert_str_eq(hs_header(r, "Content-Length"), "7");
    ck_assert_str_eq(hs_header(r, "Authorization"), "Bearer tok123");
    ck_assert_str_eq(hs_header(r, "X-Trace"), "7");
    ck_assert_ptr_null(hs_header(r, "Expect"));
    hs_stop(s);
}
END_TEST

START_TEST(test_basic_auth_form_encoded)
{
    hs_step_t st[] = { { HS_REPLY, reply(200, NULL, "{}"), 0 } };
    hs_server_t *s = hs_start(st, 1, 0);
    blinkauth_http_request_t req = get(url_of(s, "/token"));
    blinkauth_http_response_t res;

    req.method = "POST";
    req.body = "grant_type=authorization_code";
    req.content_type = "application/x-www-form-urlencoded";
    req.basic_user = "my client";
    req.basic_pass = "s3cr:t/\xc3\xa9+~*";
    ck_assert_int_eq(blinkauth_http_call(p, &req, &res), APR_SUCCESS);
    /* base64("my+client:s3cr%3At%2F%C3%A9%2B~%2A") */
    ck_assert_str_eq(hs_header(hs_request(s, 0), "Authorization"),
                     "Basic bXkrY2xpZW50OnMzY3IlM0F0JTJGJUMzJUE5JTJCfiUyQQ==");
    ck_assert_str_eq(hs_request(s, 0)->body, "grant_type=authorization_code");
    hs_stop(s);
}
END_TEST

START_TEST(test_delete_method)
{
    hs_step_t st[] = { { HS_REPLY, "HTTP/1.1 204 No Content\r\n\r\n", 0 } };
    hs_server_t *s = hs_start(st, 1, 0);
    blinkauth_http_request_t req = get(url_of(s, "/linked-accounts/42"));
    blinkauth_http_response_t res;

    req.method = "DELETE";
    ck_assert_int_eq(blinkauth_http_call(p, &req, &res), APR_SUCCESS);
    ck_assert_int_eq(res.status, 204);
    ck_assert_str_eq(res.body, "");
    ck_assert_uint_eq(res.body_len, 0);
    ck_assert_str_eq(hs_request(s, 0)->method, "DELETE");
    ck_assert_str_eq(hs_request(s, 0)->path, "/linked-accounts/42");
    hs_stop(s);
}
END_TEST

START_TEST(test_connection_reuse)
{
    hs_step_t st[] = { { HS_REPLY, reply(200, NULL, "ok"), 0 } };
    hs_server_t *s = hs_start(st, 1, 0);
    blinkauth_http_request_t req = get(url_of(s, "/r"));
    blinkauth_http_response_t res;
    long conns = 0;
    int i;

    for (i = 0; i < 20; i++) {
        ck_assert_int_eq(blinkauth_http_call(p, &req, &res), APR_SUCCESS);
        ck_assert_int_eq(res.status, 200);
        ck_assert_int_eq(res.new_connections, i == 0 ? 1 : 0);
        conns += res.new_connections;
    }
    ck_assert_int_eq(conns, 1);
    ck_assert_int_eq(hs_request_count(s), 20);
    ck_assert_int_eq(hs_accepts(s), 1);
    hs_stop(s);
}
END_TEST

/* Ten calls from one thread; counts the good ones. */
static void *calls_main(void *arg)
{
    const char *url = arg;
    apr_pool_t *tp;
    long ok = 0;
    int i;

    apr_pool_create_unmanaged(&tp);
    for (i = 0; i < 10; i++) {
        blinkauth_http_request_t req = { .method = "GET", .url = url, .timeout_s = 10 };
        blinkauth_http_response_t res;
        if (blinkauth_http_call(tp, &req, &res) == APR_SUCCESS && res.status == 200
            && strcmp(res.body, "ok") == 0)
            ok++;
    }
    apr_pool_destroy(tp);
    return (void *)ok;
}

START_TEST(test_concurrent_threads)
{
    hs_step_t st[] = { { HS_REPLY, reply(200, NULL, "ok"), 0 } };
    hs_server_t *s = hs_start(st, 1, 0);
    const char *url = url_of(s, "/c");
    pthread_t t[4];
    void *ok;
    int i;

    for (i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, calls_main, (void *)url), 0);
    for (i = 0; i < 4; i++) {
        pthread_join(t[i], &ok);
        ck_assert_int_eq((long)ok, 10);
    }
    ck_assert_int_eq(hs_request_count(s), 40);
    /* at most one handle, hence one connection, per concurrent caller */
    ck_assert_int_le(hs_accepts(s), 4);
    hs_stop(s);
}
END_TEST

START_TEST(test_refused_retried_once)
{
    blinkauth_http_request_t req = get(apr_psprintf(p, "http://127.0.0.1:%d/", hs_unused_port()));
    blinkauth_http_response_t res;

    ck_assert_int_eq(blinkauth_http_call(p, &req, &res), APR_ECONNREFUSED);
    ck_assert_int_eq(res.error, BLINKAUTH_HTTP_ERR_CONNECT);
    ck_assert_int_eq(res.attempts, 2);
    ck_assert_int_eq(res.status, 0);
    ck_assert_str_eq(res.body, "");
    ck_assert_ptr_nonnull(res.error_text);
    ck_assert_int_ge(res.elapsed_ms, 100);
    ck_assert_int_lt(res.elapsed_ms, 2000);
}
END_TEST

START_TEST(test_refused_then_listening)
{
    hs_step_t st[] = { { HS_REPLY, reply(200, NULL, "up"), 0 } };
    blinkauth_http_request_t req = get(apr_psprintf(p, "http://127.0.0.1:%d/", hs_unused_port()));
    blinkauth_http_response_t res;
    hs_server_t *s;

    blinkauth_http_call(p, &req, &res); /* warm up: the timed call below must start fast */
    s = hs_start(st, 1, 60);            /* refuses for 60 ms; the retry comes after ~100 ms */
    req.url = url_of(s, "/");
    ck_assert_int_eq(blinkauth_http_call(p, &req, &res), APR_SUCCESS);
    ck_assert_int_eq(res.status, 200);
    ck_assert_str_eq(res.body, "up");
    ck_assert_int_eq(res.attempts, 2);
    ck_assert_int_eq(res.new_connections, 1);
    ck_assert_int_eq(hs_accepts(s), 1);
    hs_stop(s);
}
END_TEST

START_TEST(test_timeout_not_retried)
{
    hs_step_t st[] = { { HS_HANG, NULL, 0 } };
    hs_server_t *s = hs_start(st, 1, 0);
    blinkauth_http_request_t req = get(url_of(s, "/slow"));
    blinkauth_http_response_t res;

    req.timeout_s = 1;
    ck_assert_int_eq(blinkauth_http_call(p, &req, &res), APR_TIMEUP);
    ck_assert_int_eq(res.error, BLINKAUTH_HTTP_ERR_TIMEOUT);
    ck_assert_int_eq(res.attempts, 1);
    ck_assert_int_ge(res.elapsed_ms, 900);
    ck_assert_int_le(res.elapsed_ms, 3000);
    ck_assert_int_eq(hs_request_count(s), 1);
    ck_assert_int_eq(hs_accepts(s), 1);
    hs_stop(s);
}
END_TEST

START_TEST(test_closed_without_answer)
{
    hs_step_t st[] = { { HS_CLOSE, NULL, 0 } };
    hs_server_t *s = hs_start(st, 1, 0);
    blinkauth_http_request_t req = get(url_of(s, "/"));
    blinkauth_http_response_t res;

    ck_assert_int_eq(blinkauth_http_call(p, &req, &res), APR_EGENERAL);
    ck_assert_int_eq(res.error, BLINKAUTH_HTTP_ERR_OTHER);
    ck_assert_int_eq(res.attempts, 1);
    ck_assert_int_eq(res.status, 0);
    ck_assert_int_eq(hs_request_count(s), 1);
    hs_stop(s);
}
END_TEST

START_TEST(test_cap_content_length_over)
{
    hs_step_t st[] = { { HS_REPLY, reply(200, NULL, filled(1001, 'a')), 0 } };
    hs_server_t *s = hs_start(st, 1, 0);
    blinkauth_http_request_t req = get(url_of(s, "/big"));
    blinkauth_http_response_t res;

    req.max_body = 1000;
    ck_assert_int_eq(blinkauth_http_call(p, &req, &res), APR_EGENERAL);
    ck_assert_int_eq(res.error, BLINKAUTH_HTTP_ERR_TOO_LARGE);
    ck_assert_int_eq(res.attempts, 1);
    ck_assert_str_eq(res.body, "");
    ck_assert_ptr_nonnull(strstr(res.error_text, "1000"));
    hs_stop(s);
}
END_TEST

START_TEST(test_cap_streamed_over)
{
    /* no Content-Length: only the write callback can notice */
    hs_step_t st[] = { { HS_REPLY, apr_pstrcat(p, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n",
                                                filled(1001, 'b'), NULL), 0 } };
    hs_server_t *s = hs_start(st, 1, 0);
    blinkauth_http_request_t req = get(url_of(s, "/big"));
    blinkauth_http_response_t res;

    req.max_body = 1000;
    blinkauth_http_call(p, &req, &res);
    ck_assert_int_eq(res.error, BLINKAUTH_HTTP_ERR_TOO_LARGE);
    ck_assert_uint_eq(res.body_len, 0);
    hs_stop(s);
}
END_TEST

START_TEST(test_cap_exact)
{
    const char *body = filled(1000, 'c');
    hs_step_t st[] = { { HS_REPLY, reply(200, NULL, body), 0 },
                       { HS_REPLY, apr_pstrcat(p, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n",
                                               body, NULL), 0 } };
    hs_server_t *s = hs_start(st, 2, 0);
    blinkauth_http_request_t req = get(url_of(s, "/exact"));
    blinkauth_http_response_t res;
    int i;

    req.max_body = 1000;
    for (i = 0; i < 2; i++) { /* with and without Content-Length */
        ck_assert_int_eq(blinkauth_http_call(p, &req, &res), APR_SUCCESS);
        ck_assert_int_eq(res.error, BLINKAUTH_HTTP_OK);
        ck_assert_uint_eq(res.body_len, 1000);
        ck_assert_str_eq(res.body, body);
    }
    hs_stop(s);
}
END_TEST

START_TEST(test_cap_announced_50mb)
{
    /* the body never comes: only an early refusal from the header returns quickly */
    hs_step_t st[] = { { HS_REPLY, "HTTP/1.1 200 OK\r\nContent-Length: 52428800\r\n\r\nxx", 0 } };
    hs_server_t *s = hs_start(st, 1, 0);
    blinkauth_http_request_t req = get(url_of(s, "/huge"));
    blinkauth_http_response_t res;

    ck_assert_int_eq(blinkauth_http_call(p, &req, &res), APR_EGENERAL);
    ck_assert_int_eq(res.error, BLINKAUTH_HTTP_ERR_TOO_LARGE);
    ck_assert_int_lt(res.elapsed_ms, 1000);
    ck_assert_ptr_nonnull(strstr(res.error_text, "1048576"));
    hs_stop(s);
}
END_TEST

START_TEST(test_retry_after_then_ok)
{
    hs_step_t st[] = { { HS_REPLY, reply(429, "Retry-After: 1\r\n", "slow down"), 0 },
                       { HS_REPLY, reply(200, NULL, "fine"), 0 } };
    hs_server_t *s = hs_start(st, 2, 0);
    blinkauth_http_request_t req = get(url_of(s, "/rl"));
    blinkauth_http_response_t res;

    ck_assert_int_eq(blinkauth_http_call(p, &req, &res), APR_SUCCESS);
    ck_assert_int_eq(res.status, 200);
    ck_assert_str_eq(res.body, "fine");
    ck_assert_int_eq(res.attempts, 2);
    ck_assert_ptr_null(res.retry_after);
    ck_assert_int_ge(res.elapsed_ms, 1000);
    ck_assert_int_lt(res.elapsed_ms, 3000);
    ck_assert_int_eq(hs_request_count(s), 2);
    ck_assert_int_eq(hs_accepts(s), 1);
    ck_assert_int_eq(res.new_connections, 1);
    hs_stop(s);
}
END_TEST

START_TEST(test_429_without_retry_after)
{
    hs_step_t st[] = { { HS_REPLY, reply(429, NULL, "no"), 0 },
                       { HS_REPLY, reply(200, NULL, "fine"), 0 } };
    hs_server_t *s = hs_start(st, 2, 0);
    blinkauth_http_request_t req = get(url_of(s, "/rl"));
    blinkauth_http_response_t res;

    ck_assert_int_eq(blinkauth_http_call(p, &req, &res), APR_SUCCESS);
    ck_assert_int_eq(res.status, 429);
    ck_assert_str_eq(res.body, "no");
    ck_assert_int_eq(res.attempts, 1);
    ck_assert_int_eq(hs_request_count(s), 1);
    hs_stop(s);
}
END_TEST

START_TEST(test_retry_after_on_other_status_ignored)
{
    hs_step_t st[] = { { HS_REPLY, reply(500, "Retry-After: 0\r\n", "oops"), 0 },
                       { HS_REPLY, reply(200, NULL, "fine"), 0 } };
    hs_server_t *s = hs_start(st, 2, 0);
    blinkauth_http_request_t req = get(url_of(s, "/rl"));
    blinkauth_http_response_t res;

    ck_assert_int_eq(blinkauth_http_call(p, &req, &res), APR_SUCCESS);
    ck_assert_int_eq(res.status, 500);
    ck_assert_str_eq(res.retry_after, "0");
    ck_assert_int_eq(res.attempts, 1);
    ck_assert_int_eq(hs_request_count(s), 1);
    hs_stop(s);
}
END_TEST

START_TEST(test_503_retry_after_beyond_budget)
{
    hs_step_t st[] = { { HS_REPLY, reply(503, "Retry-After: 30\r\n", "later"), 0 },
                       { HS_REPLY, reply(200, NULL, "fine"), 0 } };
    hs_server_t *s = hs_start(st, 2, 0);
    blinkauth_http_request_t req = get(url_of(s, "/rl"));
    blinkauth_http_response_t res;

    ck_assert_int_eq(blinkauth_http_call(p, &req, &res), APR_SUCCESS);
    ck_assert_int_eq(res.status, 503);
    ck_assert_str_eq(res.retry_after, "30");
    ck_assert_int_eq(res.attempts, 1);
    ck_assert_int_lt(res.elapsed_ms, 1000);
    ck_assert_int_eq(hs_request_count(s), 1);
    hs_stop(s);
}
END_TEST

START_TEST(test_retry_after_http_date_ignored)
{
    hs_step_t st[] = { { HS_REPLY, reply(503, "Retry-After: Wed, 21 Oct 2015 07:28:00 GMT\r\n", ""), 0 },
                       { HS_REPLY, reply(200, NULL, "fine"), 0 } };
    hs_server_t *s = hs_start(st, 2, 0);
    blinkauth_http_request_t req = get(url_of(s, "/rl"));
    blinkauth_http_response_t res;

    ck_assert_int_eq(blinkauth_http_call(p, &req, &res), APR_SUCCESS);
    ck_assert_int_eq(res.status, 503);
    ck_assert_int_eq(res.attempts, 1);
    ck_assert_int_eq(hs_request_count(s), 1);
    hs_stop(s);
}
END_TEST

START_TEST(test_redirect_not_followed)
{
    hs_step_t st[] = { { HS_REPLY, reply(302, "Location: /elsewhere\r\n", ""), 0 },
                       { HS_REPLY, reply(200, NULL, "followed"), 0 } };
    hs_server_t *s = hs_start(st, 2, 0);
    blinkauth_http_request_t req = get(url_of(s, "/start"));
    blinkauth_http_response_t res;

    ck_assert_int_eq(blinkauth_http_call(p, &req, &res), APR_SUCCESS);
    ck_assert_int_eq(res.status, 302);
    ck_assert_int_eq(res.attempts, 1);
    ck_assert_int_eq(hs_request_count(s), 1);
    hs_stop(s);
}
END_TEST

START_TEST(test_https_to_plain_server)
{
    hs_step_t st[] = { { HS_REPLY, reply(200, NULL, "plain"), 0 } };
    hs_server_t *s = hs_start(st, 1, 0);
    blinkauth_http_request_t req = get(apr_psprintf(p, "https://127.0.0.1:%d/", hs_port(s)));
    blinkauth_http_response_t res;

    /* Loading the system CA bundle takes 3 to 7 s under valgrind (tests/valgrind/run.sh): not a timeout. */
    req.timeout_s = 60;
    ck_assert_int_ne(blinkauth_http_call(p, &req, &res), APR_SUCCESS);
    ck_assert(res.error == BLINKAUTH_HTTP_ERR_TLS || res.error == BLINKAUTH_HTTP_ERR_OTHER);
    ck_assert_int_eq(res.status, 0);
    ck_assert_int_eq(res.attempts, 1);
    ck_assert_ptr_nonnull(res.error_text);
    ck_assert_int_eq(hs_request_count(s), 0);
    hs_stop(s);
}
END_TEST

START_TEST(test_other_protocols_refused)
{
    hs_step_t st[] = { { HS_REPLY, reply(200, NULL, "x"), 0 } };
    hs_server_t *s = hs_start(st, 1, 0);
    blinkauth_http_request_t req = get("file:///etc/passwd");
    blinkauth_http_response_t res;

    ck_assert_int_ne(blinkauth_http_call(p, &req, &res), APR_SUCCESS);
    ck_assert_int_eq(res.error, BLINKAUTH_HTTP_ERR_OTHER);
    ck_assert_str_eq(res.body, "");
    ck_assert_int_eq(res.attempts, 1);
    req.url = apr_psprintf(p, "ftp://127.0.0.1:%d/", hs_port(s));
    ck_assert_int_ne(blinkauth_http_call(p, &req, &res), APR_SUCCESS);
    ck_assert_int_eq(res.error, BLINKAUTH_HTTP_ERR_OTHER);
    ck_assert_int_eq(hs_accepts(s), 0);
    hs_stop(s);
}
END_TEST

START_TEST(test_header_injection_refused)
{
    hs_step_t st[] = { { HS_REPLY, reply(200, NULL, "x"), 0 } };
    hs_server_t *s = hs_start(st, 1, 0);
    blinkauth_http_request_t req = get(url_of(s, "/"));
    blinkauth_http_response_t res;

    req.bearer = "tok\r\nX-Evil: 1";
    ck_assert_int_eq(blinkauth_http_call(p, &req, &res), APR_EINVAL);
    ck_assert_int_eq(res.error, BLINKAUTH_HTTP_ERR_OTHER);
    ck_assert_int_eq(res.attempts, 0);
    ck_assert_int_eq(hs_accepts(s), 0);
    hs_stop(s);
}
END_TEST

START_TEST(test_url_for_log)
{
    ck_assert_str_eq(blinkauth_http_url_for_log(p, "https://u:pw@idp.example:8443/tok?code=abc#f"),
                     "https://idp.example:8443/tok");
    ck_assert_str_eq(blinkauth_http_url_for_log(p, "https://idp.example/a@b?x=1"),
                     "https://idp.example/a@b");
    ck_assert_str_eq(blinkauth_http_url_for_log(p, "http://a:b@c@host?q"), "http://host");
    ck_assert_str_eq(blinkauth_http_url_for_log(p, "https://host/path#frag"), "https://host/path");
    ck_assert_str_eq(blinkauth_http_url_for_log(p, "https://host"), "https://host");
    ck_assert_str_eq(blinkauth_http_url_for_log(p, "user:secret@host/p?x"), "host/p");
    ck_assert_str_eq(blinkauth_http_url_for_log(p, "/cb?next=http://a:b@x/y"), "/cb");
    ck_assert_str_eq(blinkauth_http_url_for_log(p, NULL), "(none)");
}
END_TEST

START_TEST(test_process_lifecycle)
{
    hs_step_t st[] = { { HS_REPLY, reply(200, NULL, "ok"), 0 } };
    hs_server_t *s = hs_start(st, 1, 0);
    blinkauth_http_request_t req = get(url_of(s, "/"));
    blinkauth_http_response_t res;
    apr_pool_t *pconf, *pchild;

    apr_pool_create(&pconf, NULL);
    apr_pool_create(&pchild, pconf);
    ck_assert_int_eq(blinkauth_http_global_init(pconf), APR_SUCCESS);
    ck_assert_int_eq(blinkauth_http_child_init(pchild), APR_SUCCESS);
    ck_assert_int_eq(blinkauth_http_call(p, &req, &res), APR_SUCCESS);
    ck_assert_int_eq(blinkauth_http_call(p, &req, &res), APR_SUCCESS);
    ck_assert_int_eq(res.new_connections, 0);
    apr_pool_destroy(pconf); /* child pool first (handles, mutex), then curl's global state */
    /* the pool was emptied: the next call needs a new connection, and a lazy mutex */
    ck_assert_int_eq(blinkauth_http_call(p, &req, &res), APR_SUCCESS);
    ck_assert_int_eq(res.new_connections, 1);
    ck_assert_int_eq(hs_accepts(s), 2);
    hs_stop(s);
}
END_TEST

START_TEST(test_fork_gets_own_connections)
{
    hs_step_t st[] = { { HS_REPLY, reply(200, NULL, "ok"), 0 } };
    hs_server_t *s = hs_start(st, 1, 0);
    blinkauth_http_request_t req = get(url_of(s, "/"));
    blinkauth_http_response_t res;
    char verdict = '?';
    int fds[2];
    pid_t pid;

    ck_assert_int_eq(blinkauth_http_call(p, &req, &res), APR_SUCCESS); /* parent's connection */
    ck_assert_int_eq(pipe(fds), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) { /* the verdict goes through a pipe: valgrind may change the exit code */
        apr_pool_t *pchild;
        apr_pool_create(&pchild, NULL);
        blinkauth_http_child_init(pchild);
        verdict = blinkauth_http_call(pchild, &req, &res) == APR_SUCCESS
            && res.new_connections == 1 ? 'y' : 'n';
        apr_pool_destroy(pchild);
        if (write(fds[1], &verdict, 1) != 1)
            _exit(1);
        _exit(0);
    }
    close(fds[1]);
    ck_assert_int_eq(read(fds[0], &verdict, 1), 1);
    close(fds[0]);
    waitpid(pid, NULL, 0);
    ck_assert_int_eq(verdict, 'y');
    /* the parent's kept connection was neither used nor disturbed by the child */
    ck_assert_int_eq(blinkauth_http_call(p, &req, &res), APR_SUCCESS);
    ck_assert_int_eq(res.new_connections, 0);
    ck_assert_int_eq(hs_accepts(s), 2);
    ck_assert_int_eq(hs_request_count(s), 3);
    hs_stop(s);
}
END_TEST

/* Every case, in one suite. */
static Suite *http_suite(void)
{
    Suite *su = suite_create("http");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    /* first, while the handle pool is still empty: child_init forgets (leaks) idle handles */
    tcase_add_test(tc, test_process_lifecycle);
    tcase_add_test(tc, test_get_ok);
    tcase_add_test(tc, test_post_body_bearer_headers);
    tcase_add_test(tc, test_basic_auth_form_encoded);
    tcase_add_test(tc, test_delete_method);
    tcase_add_test(tc, test_connection_reuse);
    tcase_add_test(tc, test_concurrent_threads);
    tcase_add_test(tc, test_refused_retried_once);
    tcase_add_test(tc, test_refused_then_listening);
    tcase_add_test(tc, test_timeout_not_retried);
    tcase_add_test(tc, test_closed_without_answer);
    tcase_add_test(tc, test_cap_content_length_over);
    tcase_add_test(tc, test_cap_streamed_over);
    tcase_add_test(tc, test_cap_exact);
    tcase_add_test(tc, test_cap_announced_50mb);
    tcase_add_test(tc, test_retry_after_then_ok);
    tcase_add_test(tc, test_429_without_retry_after);
    tcase_add_test(tc, test_retry_after_on_other_status_ignored);
    tcase_add_test(tc, test_503_retry_after_beyond_budget);
    tcase_add_test(tc, test_retry_after_http_date_ignored);
    tcase_add_test(tc, test_redirect_not_followed);
    tcase_add_test(tc, test_https_to_plain_server);
    tcase_add_test(tc, test_other_protocols_refused);
    tcase_add_test(tc, test_header_injection_refused);
    tcase_add_test(tc, test_url_for_log);
    tcase_add_test(tc, test_fork_gets_own_connections);
    suite_add_tcase(su, tc);
    return su;
}

/* Run the suite with libcurl initialised the way post_config does it. */
int main(void)
{
    apr_pool_t *pconf;
    SRunner *sr;
    int failed;

    apr_initialize();
    apr_pool_create(&pconf, NULL);
    blinkauth_http_global_init(pconf);
    sr = srunner_create(http_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    apr_pool_destroy(pconf);
    apr_terminate();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
