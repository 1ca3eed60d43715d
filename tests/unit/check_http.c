/* Unit tests of modules/http.c against the loopback server fixture in http_server.c. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <apr_strings.h>

#include "unit.h"
#include "http.h"
#include "upstream.h"
#include "http_server.h"
#include "version.h"

/* A raw HTTP/1.1 response with a Content-Length; extra headers each end in CRLF. */
static const char *reply(int status, const char *extra, const char *body)
{
    return apr_psprintf(unit_pool, "HTTP/1.1 %d X\r\nContent-Length: %" APR_SIZE_T_FMT "\r\n%s\r\n%s", status,
                        strlen(body), extra ? extra : "", body);
}

/* A raw HTTP/1.1 200 response without a Content-Length: the body ends where the server closes the connection. */
static const char *streamed(const char *body)
{
    return apr_pstrcat(unit_pool, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", body, NULL);
}

/* A request for url with a generous budget. */
static blinkauth_http_request_t get(const char *url)
{
    blinkauth_http_request_t req = {.method = "GET", .url = url, .timeout_s = 5};
    return req;
}

/* Starts the loopback server doing action for every request (answering raw for HS_REPLY); returns a request for
 * path on it. */
static blinkauth_http_request_t serve_doing(hs_action_t action, const char *raw, const char *path)
{
    unit_serve(action, raw);
    return get(unit_server_url(path));
}

/* Starts the loopback server answering raw to every request; returns a request for path on it. */
static blinkauth_http_request_t serve(const char *raw, const char *path)
{
    return serve_doing(HS_REPLY, raw, path);
}

/* Starts the loopback server answering first, then then to every later request; returns a request for path. */
static blinkauth_http_request_t serve2(const char *first, const char *then, const char *path)
{
    hs_step_t st[] = {{HS_REPLY, first, 0}, {HS_REPLY, then, 0}};

    unit_serve_steps(st, 2, 0);
    return get(unit_server_url(path));
}

/* Serves first, then then; calls path and asserts that the call succeeded with first's status alone: one
 * attempt, one request. Returns the response. */
static blinkauth_http_response_t call_answered_by_first(const char *first, const char *then, const char *path,
                                                        int status)
{
    blinkauth_http_request_t req = serve2(first, then, path);
    blinkauth_http_response_t res;

    ck_assert_int_eq(blinkauth_http_call(unit_pool, &req, &res), APR_SUCCESS);
    ck_assert_int_eq(res.status, status);
    ck_assert_int_eq(res.attempts, 1);
    ck_assert_int_eq(hs_request_count(unit_server), 1);
    return res;
}

START_TEST(test_get_ok)
{
    const char *text_plain = "Content-Type: text/plain; charset=utf-8\r\n";
    blinkauth_http_request_t req = serve(reply(200, text_plain, "hello"), "/x?y=1");
    blinkauth_http_response_t res;
    const hs_request_t *r;

    ck_assert_int_eq(blinkauth_http_call(unit_pool, &req, &res), APR_SUCCESS);
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
    ck_assert_int_eq(hs_request_count(unit_server), 1);
    r = hs_request(unit_server, 0);
    ck_assert_str_eq(r->method, "GET");
    ck_assert_str_eq(r->path, "/x?y=1");
    ck_assert_str_eq(hs_header(r, "User-Agent"), "mod_blinkauth/" BLINKAUTH_VERSION);
    ck_assert_ptr_null(hs_header(r, "Authorization"));
}
END_TEST

START_TEST(test_post_body_bearer_headers)
{
    blinkauth_http_request_t req = serve(reply(201, NULL, "{}"), "/api");
    apr_array_header_t *h = apr_array_make(unit_pool, 1, sizeof(const char *));
    blinkauth_http_response_t res;
    const hs_request_t *r;

    APR_ARRAY_PUSH(h, const char *) = "X-Trace: 7";
    req.method = "POST";
    req.body = "{\"a\":1}";
    req.body_len = 7;
    req.content_type = "application/json";
    req.bearer = "tok123";
    req.headers = h;
    ck_assert_int_eq(blinkauth_http_call(unit_pool, &req, &res), APR_SUCCESS);
    ck_assert_int_eq(res.status, 201);
    r = hs_request(unit_server, 0);
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(r->method, "POST");
    ck_assert_str_eq(r->body, "{\"a\":1}");
    ck_assert_str_eq(hs_header(r, "Content-Type"), "application/json");
    ck_assert_str_eq(hs_header(r, "Content-Length"), "7");
    ck_assert_str_eq(hs_header(r, "Authorization"), "Bearer tok123");
    ck_assert_str_eq(hs_header(r, "X-Trace"), "7");
    ck_assert_ptr_null(hs_header(r, "Expect"));
}
END_TEST

START_TEST(test_basic_auth_form_encoded)
{
    blinkauth_http_request_t req = serve(reply(200, NULL, "{}"), "/token");
    blinkauth_http_response_t res;

    req.method = "POST";
    req.body = "grant_type=authorization_code";
    req.content_type = "application/x-www-form-urlencoded";
    req.basic_user = "my client";
    req.basic_pass = "s3cr:t/\xc3\xa9+~*";
    ck_assert_int_eq(blinkauth_http_call(unit_pool, &req, &res), APR_SUCCESS);
    /* base64("my+client:s3cr%3At%2F%C3%A9%2B~%2A") */
    ck_assert_str_eq(hs_header(hs_request(unit_server, 0), "Authorization"),
                     "Basic bXkrY2xpZW50OnMzY3IlM0F0JTJGJUMzJUE5JTJCfiUyQQ==");
    ck_assert_str_eq(hs_request(unit_server, 0)->body, "grant_type=authorization_code");
}
END_TEST

START_TEST(test_delete_method)
{
    blinkauth_http_request_t req = serve("HTTP/1.1 204 No Content\r\n\r\n", "/linked-accounts/42");
    blinkauth_http_response_t res;

    req.method = "DELETE";
    ck_assert_int_eq(blinkauth_http_call(unit_pool, &req, &res), APR_SUCCESS);
    ck_assert_int_eq(res.status, 204);
    ck_assert_str_eq(res.body, "");
    ck_assert_uint_eq(res.body_len, 0);
    ck_assert_str_eq(hs_request(unit_server, 0)->method, "DELETE");
    ck_assert_str_eq(hs_request(unit_server, 0)->path, "/linked-accounts/42");
}
END_TEST

START_TEST(test_connection_reuse)
{
    blinkauth_http_request_t req = serve(reply(200, NULL, "ok"), "/r");
    blinkauth_http_response_t res;
    long conns = 0;
    int i;

    for (i = 0; i < 20; i++) {
        ck_assert_int_eq(blinkauth_http_call(unit_pool, &req, &res), APR_SUCCESS);
        ck_assert_int_eq(res.status, 200);
        ck_assert_int_eq(res.new_connections, i == 0 ? 1 : 0);
        conns += res.new_connections;
    }
    ck_assert_int_eq(conns, 1);
    ck_assert_int_eq(hs_request_count(unit_server), 20);
    ck_assert_int_eq(hs_accepts(unit_server), 1);
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
        blinkauth_http_request_t req = {.method = "GET", .url = url, .timeout_s = 10};
        blinkauth_http_response_t res;
        if (blinkauth_http_call(tp, &req, &res) == APR_SUCCESS && res.status == 200 && strcmp(res.body, "ok") == 0)
            ok++;
    }
    apr_pool_destroy(tp);
    return (void *)ok;
}

START_TEST(test_concurrent_threads)
{
    const char *url = serve(reply(200, NULL, "ok"), "/c").url;
    pthread_t t[4];
    void *ok;
    int i;

    for (i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, calls_main, (void *)url), 0);
    for (i = 0; i < 4; i++) {
        pthread_join(t[i], &ok);
        ck_assert_int_eq((long)ok, 10);
    }
    ck_assert_int_eq(hs_request_count(unit_server), 40);
    /* at most one handle, hence one connection, per concurrent caller */
    ck_assert_int_le(hs_accepts(unit_server), 4);
}
END_TEST

START_TEST(test_refused_retried_once)
{
    blinkauth_http_request_t req = get(apr_psprintf(unit_pool, "http://127.0.0.1:%d/", hs_unused_port()));
    blinkauth_http_response_t res;

    ck_assert_int_eq(blinkauth_http_call(unit_pool, &req, &res), APR_ECONNREFUSED);
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
    hs_step_t st[] = {{HS_REPLY, reply(200, NULL, "up"), 0}};
    blinkauth_http_request_t req = get(apr_psprintf(unit_pool, "http://127.0.0.1:%d/", hs_unused_port()));
    blinkauth_http_response_t res;

    blinkauth_http_call(unit_pool, &req, &res); /* warm up: the timed call below must start fast */
    unit_serve_steps(st, 1, 60);                /* refuses for 60 ms; the retry comes after ~100 ms */
    req.url = unit_server_url("/");
    ck_assert_int_eq(blinkauth_http_call(unit_pool, &req, &res), APR_SUCCESS);
    ck_assert_int_eq(res.status, 200);
    ck_assert_str_eq(res.body, "up");
    ck_assert_int_eq(res.attempts, 2);
    ck_assert_int_eq(res.new_connections, 1);
    ck_assert_int_eq(hs_accepts(unit_server), 1);
}
END_TEST

START_TEST(test_timeout_not_retried)
{
    blinkauth_http_request_t req = serve_doing(HS_HANG, NULL, "/slow");
    blinkauth_http_response_t res;

    req.timeout_s = 1;
    ck_assert_int_eq(blinkauth_http_call(unit_pool, &req, &res), APR_TIMEUP);
    ck_assert_int_eq(res.error, BLINKAUTH_HTTP_ERR_TIMEOUT);
    ck_assert_int_eq(res.attempts, 1);
    ck_assert_int_ge(res.elapsed_ms, 900);
    ck_assert_int_le(res.elapsed_ms, 3000);
    ck_assert_int_eq(hs_request_count(unit_server), 1);
    ck_assert_int_eq(hs_accepts(unit_server), 1);
}
END_TEST

/* How many times needle occurs in s. */
static int occurrences(const char *s, const char *needle)
{
    int n = 0;

    for (; (s = strstr(s, needle)) != NULL; s += strlen(needle))
        n++;
    return n;
}

/* Asserts that a failed call's sentence names the app and the step, gives the cause right after them, and says the
 * time once: ": <cause> after <n> ms (<attempts>)", without curl's own "milliseconds" or "after N ms". */
static void assert_cause_first(const blinkauth_outcome_t *out, const char *cause, const char *attempts)
{
    const char *at = strstr(out->why, "): ");

    printf("%s\n", out->why);
    ck_assert_msg(strncmp(out->why, "Auth ID a-1234: token endpoint (POST http://127.0.0.1:", 53) == 0, "%s", out->why);
    ck_assert_msg(at && strncmp(at + 3, cause, strlen(cause)) == 0, "cause not first: %s", out->why);
    ck_assert_msg(occurrences(out->why, " ms") == 1 && occurrences(out->why, " after ") == 1, "%s", out->why);
    ck_assert_msg(strstr(out->why, "millisecond") == NULL && strstr(out->why, "attempt(s)") == NULL, "%s", out->why);
    ck_assert_msg(strstr(out->why, attempts) != NULL && out->why[strlen(out->why) - 1] == ')', "%s", out->why);
}

START_TEST(test_timeout_sentence)
{
    blinkauth_config_t cfg = {.auth_id = "a-1234"};
    blinkauth_http_request_t req = serve_doing(HS_HANG, NULL, "/token?code=secret");
    blinkauth_http_response_t res;

    req.method = "POST";
    req.body = "x";
    req.timeout_s = 1;
    blinkauth_outcome_t out;

    req.method = "POST";
    req.body = "x";
    req.timeout_s = 1;
    blinkauth_http_call(unit_pool, &req, &res);
    ck_assert_str_eq(res.error_text, "timed out");
    out = blinkauth_upstream_outcome(unit_pool, &cfg, "token endpoint", &req, &res, NULL);
    ck_assert_int_eq(out.kind, BLINKAUTH_UP_TIMEOUT);
    assert_cause_first(&out, "timed out after ", "(1 attempt)");
    ck_assert_ptr_null(strstr(out.why, "secret"));
}
END_TEST

START_TEST(test_refused_sentence)
{
    blinkauth_config_t cfg = {.auth_id = "a-1234"};
    blinkauth_http_request_t req = get(apr_psprintf(unit_pool, "http://127.0.0.1:%d/token", hs_unused_port()));
    blinkauth_http_response_t res;
    blinkauth_outcome_t out;

    req.method = "POST";
    blinkauth_http_call(unit_pool, &req, &res);
    out = blinkauth_upstream_outcome(unit_pool, &cfg, "token endpoint", &req, &res, NULL);
    /* curl says "Failed to connect to 127.0.0.1 port N after 0 ms: ..."; its time is taken out. */
    assert_cause_first(&out, "Failed to connect to 127.0.0.1 port ", "(2 attempts)");
}
END_TEST

START_TEST(test_upstream_sentences)
{
    blinkauth_config_t cfg = {.auth_id = "a-1234"};
    blinkauth_http_request_t req = {.method = "POST", .url = "https://idp.example/oauth/token?x=1"};
    blinkauth_http_response_t timeout = {
        .error = BLINKAUTH_HTTP_ERR_TIMEOUT, .error_text = "timed out", .elapsed_ms = 2001, .attempts = 1};
    blinkauth_http_response_t answered = {.status = 400, .elapsed_ms = 12, .attempts = 1};
    blinkauth_http_response_t unsent = {.error = BLINKAUTH_HTTP_ERR_OTHER,
                                        .error_text = "line break in a header value"};

    ck_assert_str_eq(blinkauth_upstream_outcome(unit_pool, &cfg, "token endpoint", &req, &timeout, NULL).why,
                     "Auth ID a-1234: token endpoint (POST https://idp.example/oauth/token): timed out after 2001 ms "
                     "(1 attempt)");
    ck_assert_str_eq(
        blinkauth_upstream_outcome(unit_pool, &cfg, "token endpoint", &req, &answered, "invalid_grant").why,
        "Auth ID a-1234: token endpoint (POST https://idp.example/oauth/token) answered HTTP 400: "
        "invalid_grant in 12 ms");
    ck_assert_str_eq(blinkauth_upstream_outcome(unit_pool, NULL, "token endpoint", &req, &unsent, NULL).why,
                     "token endpoint (POST https://idp.example/oauth/token): line break in a header value after 0 ms "
                     "(not sent)");
    ck_assert_str_eq(blinkauth_upstream_invalid(unit_pool, &cfg, "token endpoint", &req, &answered, "not JSON").why,
                     "Auth ID a-1234: token endpoint (POST https://idp.example/oauth/token) answered HTTP 400 with an "
                     "unusable body (not JSON) in 12 ms");
}
END_TEST

START_TEST(test_closed_without_answer)
{
    blinkauth_http_request_t req = serve_doing(HS_CLOSE, NULL, "/");
    blinkauth_http_response_t res;

    ck_assert_int_eq(blinkauth_http_call(unit_pool, &req, &res), APR_EGENERAL);
    ck_assert_int_eq(res.error, BLINKAUTH_HTTP_ERR_OTHER);
    ck_assert_int_eq(res.attempts, 1);
    ck_assert_int_eq(res.status, 0);
    ck_assert_int_eq(hs_request_count(unit_server), 1);
}
END_TEST

START_TEST(test_cap_content_length_over)
{
    blinkauth_http_request_t req = serve(reply(200, NULL, unit_filled(1001, 'a')), "/big");
    blinkauth_http_response_t res;

    req.max_body = 1000;
    ck_assert_int_eq(blinkauth_http_call(unit_pool, &req, &res), APR_EGENERAL);
    ck_assert_int_eq(res.error, BLINKAUTH_HTTP_ERR_TOO_LARGE);
    ck_assert_int_eq(res.attempts, 1);
    ck_assert_str_eq(res.body, "");
    ck_assert_ptr_nonnull(strstr(res.error_text, "1000"));
}
END_TEST

START_TEST(test_cap_streamed_over)
{
    /* no Content-Length: only the write callback can notice */
    blinkauth_http_request_t req = serve(streamed(unit_filled(1001, 'b')), "/big");
    blinkauth_http_response_t res;

    req.max_body = 1000;
    blinkauth_http_call(unit_pool, &req, &res);
    ck_assert_int_eq(res.error, BLINKAUTH_HTTP_ERR_TOO_LARGE);
    ck_assert_uint_eq(res.body_len, 0);
}
END_TEST

START_TEST(test_cap_exact)
{
    const char *body = unit_filled(1000, 'c');
    blinkauth_http_request_t req = serve2(reply(200, NULL, body), streamed(body), "/exact");
    blinkauth_http_response_t res;
    int i;

    req.max_body = 1000;
    for (i = 0; i < 2; i++) { /* with and without Content-Length */
        ck_assert_int_eq(blinkauth_http_call(unit_pool, &req, &res), APR_SUCCESS);
        ck_assert_int_eq(res.error, BLINKAUTH_HTTP_OK);
        ck_assert_uint_eq(res.body_len, 1000);
        ck_assert_str_eq(res.body, body);
    }
}
END_TEST

START_TEST(test_cap_announced_50mb)
{
    /* the body never comes: only an early refusal from the header returns quickly */
    blinkauth_http_request_t req = serve("HTTP/1.1 200 OK\r\nContent-Length: 52428800\r\n\r\nxx", "/huge");
    blinkauth_http_response_t res;

    ck_assert_int_eq(blinkauth_http_call(unit_pool, &req, &res), APR_EGENERAL);
    ck_assert_int_eq(res.error, BLINKAUTH_HTTP_ERR_TOO_LARGE);
    ck_assert_int_lt(res.elapsed_ms, 1000);
    ck_assert_ptr_nonnull(strstr(res.error_text, "1048576"));
}
END_TEST

START_TEST(test_retry_after_then_ok)
{
    blinkauth_http_request_t req =
        serve2(reply(429, "Retry-After: 1\r\n", "slow down"), reply(200, NULL, "fine"), "/rl");
    blinkauth_http_response_t res;

    ck_assert_int_eq(blinkauth_http_call(unit_pool, &req, &res), APR_SUCCESS);
    ck_assert_int_eq(res.status, 200);
    ck_assert_str_eq(res.body, "fine");
    ck_assert_int_eq(res.attempts, 2);
    ck_assert_ptr_null(res.retry_after);
    ck_assert_int_ge(res.elapsed_ms, 1000);
    ck_assert_int_lt(res.elapsed_ms, 3000);
    ck_assert_int_eq(hs_request_count(unit_server), 2);
    ck_assert_int_eq(hs_accepts(unit_server), 1);
    ck_assert_int_eq(res.new_connections, 1);
}
END_TEST

START_TEST(test_429_without_retry_after)
{
    blinkauth_http_response_t res =
        call_answered_by_first(reply(429, NULL, "no"), reply(200, NULL, "fine"), "/rl", 429);

    ck_assert_str_eq(res.body, "no");
}
END_TEST

START_TEST(test_retry_after_on_other_status_ignored)
{
    blinkauth_http_response_t res =
        call_answered_by_first(reply(500, "Retry-After: 0\r\n", "oops"), reply(200, NULL, "fine"), "/rl", 500);

    ck_assert_str_eq(res.retry_after, "0");
}
END_TEST

START_TEST(test_503_retry_after_beyond_budget)
{
    blinkauth_http_response_t res =
        call_answered_by_first(reply(503, "Retry-After: 30\r\n", "later"), reply(200, NULL, "fine"), "/rl", 503);

    ck_assert_str_eq(res.retry_after, "30");
    ck_assert_int_lt(res.elapsed_ms, 1000);
}
END_TEST

START_TEST(test_retry_after_http_date_ignored)
{
    call_answered_by_first(reply(503, "Retry-After: Wed, 21 Oct 2015 07:28:00 GMT\r\n", ""), reply(200, NULL, "fine"),
                           "/rl", 503);
}
END_TEST

START_TEST(test_redirect_not_followed)
{
    call_answered_by_first(reply(302, "Location: /elsewhere\r\n", ""), reply(200, NULL, "followed"), "/start", 302);
}
END_TEST

START_TEST(test_https_to_plain_server)
{
    blinkauth_http_request_t req = serve(reply(200, NULL, "plain"), "/");
    blinkauth_http_response_t res;

    req.url = apr_psprintf(unit_pool, "https://127.0.0.1:%d/", hs_port(unit_server));
    /* Loading the system CA bundle takes 3 to 7 s under valgrind (tests/valgrind/run.sh): not a timeout. */
    req.timeout_s = 60;
    ck_assert_int_ne(blinkauth_http_call(unit_pool, &req, &res), APR_SUCCESS);
    ck_assert(res.error == BLINKAUTH_HTTP_ERR_TLS || res.error == BLINKAUTH_HTTP_ERR_OTHER);
    ck_assert_int_eq(res.status, 0);
    ck_assert_int_eq(res.attempts, 1);
    ck_assert_ptr_nonnull(res.error_text);
    ck_assert_int_eq(hs_request_count(unit_server), 0);
}
END_TEST

START_TEST(test_other_protocols_refused)
{
    blinkauth_http_request_t req = serve(reply(200, NULL, "x"), "/");
    blinkauth_http_response_t res;

    req.url = "file:///etc/passwd";
    ck_assert_int_ne(blinkauth_http_call(unit_pool, &req, &res), APR_SUCCESS);
    ck_assert_int_eq(res.error, BLINKAUTH_HTTP_ERR_OTHER);
    ck_assert_str_eq(res.body, "");
    ck_assert_int_eq(res.attempts, 1);
    req.url = apr_psprintf(unit_pool, "ftp://127.0.0.1:%d/", hs_port(unit_server));
    ck_assert_int_ne(blinkauth_http_call(unit_pool, &req, &res), APR_SUCCESS);
    ck_assert_int_eq(res.error, BLINKAUTH_HTTP_ERR_OTHER);
    ck_assert_int_eq(hs_accepts(unit_server), 0);
}
END_TEST

START_TEST(test_header_injection_refused)
{
    blinkauth_http_request_t req = serve(reply(200, NULL, "x"), "/");
    blinkauth_http_response_t res;

    req.bearer = "tok\r\nX-Evil: 1";
    ck_assert_int_eq(blinkauth_http_call(unit_pool, &req, &res), APR_EINVAL);
    ck_assert_int_eq(res.error, BLINKAUTH_HTTP_ERR_OTHER);
    ck_assert_int_eq(res.attempts, 0);
    ck_assert_int_eq(hs_accepts(unit_server), 0);
}
END_TEST

START_TEST(test_url_for_log)
{
    static const struct {
        const char *url, *logged;
    } cases[] = {
        {"https://u:pw@idp.example:8443/tok?code=abc#f", "https://idp.example:8443/tok"},
        {"https://idp.example/a@b?x=1", "https://idp.example/a@b"},
        {"http://a:b@c@host?q", "http://host"},
        {"https://host/path#frag", "https://host/path"},
        {"https://host", "https://host"},
        {"user:secret@host/p?x", "host/p"},
        {"/cb?next=http://a:b@x/y", "/cb"},
        {NULL, "(none)"},
    };
    int i;

    for (i = 0; i < UNIT_COUNT(cases); i++)
        ck_assert_str_eq(blinkauth_http_url_for_log(unit_pool, cases[i].url), cases[i].logged);
}
END_TEST

START_TEST(test_process_lifecycle)
{
    blinkauth_http_request_t req = serve(reply(200, NULL, "ok"), "/");
    blinkauth_http_response_t res;
    apr_pool_t *pconf, *pchild;

    apr_pool_create(&pconf, NULL);
    apr_pool_create(&pchild, pconf);
    ck_assert_int_eq(blinkauth_http_global_init(pconf), APR_SUCCESS);
    ck_assert_int_eq(blinkauth_http_child_init(pchild), APR_SUCCESS);
    ck_assert_int_eq(blinkauth_http_call(unit_pool, &req, &res), APR_SUCCESS);
    ck_assert_int_eq(blinkauth_http_call(unit_pool, &req, &res), APR_SUCCESS);
    ck_assert_int_eq(res.new_connections, 0);
    apr_pool_destroy(pconf); /* child pool first (handles, mutex), then curl's global state */
    /* the pool was emptied: the next call needs a new connection, and a lazy mutex */
    ck_assert_int_eq(blinkauth_http_call(unit_pool, &req, &res), APR_SUCCESS);
    ck_assert_int_eq(res.new_connections, 1);
    ck_assert_int_eq(hs_accepts(unit_server), 2);
}
END_TEST

START_TEST(test_fork_gets_own_connections)
{
    blinkauth_http_request_t req = serve(reply(200, NULL, "ok"), "/");
    blinkauth_http_response_t res;
    char verdict = '?';
    int fds[2];
    pid_t pid;

    ck_assert_int_eq(blinkauth_http_call(unit_pool, &req, &res), APR_SUCCESS); /* parent's connection */
    ck_assert_int_eq(pipe(fds), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) { /* the verdict goes through a pipe: valgrind may change the exit code */
        apr_pool_t *pchild;
        apr_pool_create(&pchild, NULL);
        blinkauth_http_child_init(pchild);
        verdict = blinkauth_http_call(pchild, &req, &res) == APR_SUCCESS && res.new_connections == 1 ? 'y' : 'n';
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
    ck_assert_int_eq(blinkauth_http_call(unit_pool, &req, &res), APR_SUCCESS);
    ck_assert_int_eq(res.new_connections, 0);
    ck_assert_int_eq(hs_accepts(unit_server), 2);
    ck_assert_int_eq(hs_request_count(unit_server), 3);
}
END_TEST

/* A request with a body on the loopback server, with a generous budget. */
static blinkauth_http_request_t with_body(const char *method, const char *path, const char *body)
{
    blinkauth_http_request_t req = get(unit_server_url(path));

    req.method = method;
    req.body = body;
    req.content_type = "application/x-www-form-urlencoded";
    return req;
}

/* Serves the first request, then drops the second after reading it all (HS_CLOSE, or HS_DIE: and stops
 * listening), then answers any later one with "two"; calls /first, then /second on the same kept-alive
 * connection, with bodies "first" and "second" unless method is GET. Returns the second call's status, fills res. */
static apr_status_t second_dropped(const char *method, hs_action_t drop, blinkauth_http_response_t *res)
{
    hs_step_t st[] = {{HS_REPLY, reply(200, NULL, "one"), 0}, {drop, NULL, 0}, {HS_REPLY, reply(200, NULL, "two"), 0}};
    int bodies = strcmp(method, "GET") != 0;
    blinkauth_http_request_t req;

    unit_serve_steps(st, UNIT_COUNT(st), 0);
    req = with_body(method, "/first", bodies ? "first" : NULL);
    ck_assert_int_eq(blinkauth_http_call(unit_pool, &req, res), APR_SUCCESS);
    ck_assert_int_eq(res->status, 200);
    req = with_body(method, "/second", bodies ? "second" : NULL);
    return blinkauth_http_call(unit_pool, &req, res);
}

/* Asserts that a request with a body, dropped by the server after it read it, was received once and reported as
 * ERR_LOST without any retry of ours, in a log sentence that says so. */
static void assert_lost_once(const char *method, hs_action_t drop)
{
    blinkauth_http_request_t req = {.method = method, .url = "https://idp.example/token?code=x"};
    blinkauth_http_response_t res;
    apr_status_t rv = second_dropped(method, drop, &res);
    blinkauth_outcome_t out;

    printf("%s dropped (%s): body received %d time(s), %d request(s); the call opened %ld connection(s), error %d: "
           "%s\n",
           method, drop == HS_DIE ? "then refusing" : "then listening", hs_body_count(unit_server, "second"),
           hs_request_count(unit_server), res.new_connections, res.error, res.error_text);
    fflush(stdout); /* a failing check ends the forked test without flushing */
    ck_assert_int_eq(hs_body_count(unit_server, "second"), 1);
    ck_assert_int_eq(hs_request_count(unit_server), 2);
    ck_assert_str_eq(hs_request(unit_server, 1)->method, method);
    ck_assert_int_eq(rv, APR_EGENERAL);
    ck_assert_int_eq(res.error, BLINKAUTH_HTTP_ERR_LOST);
    ck_assert_int_eq(res.status, 0);
    ck_assert_int_eq(res.attempts, 1);
    out = blinkauth_upstream_outcome(unit_pool, NULL, "token endpoint", &req, &res, NULL);
    ck_assert_int_eq(out.kind, BLINKAUTH_UP_FAILED);
    ck_assert_msg(strstr(out.why,
                         "https://idp.example/token): the connection closed before an answer "
                         "came; the request was not sent again (the server may have acted on it) after ") != NULL,
                  "%s", out.why);
}

START_TEST(test_post_not_resent_after_lost_connection)
{
    assert_lost_once("POST", HS_CLOSE);
}
END_TEST

START_TEST(test_patch_not_resent_after_lost_connection)
{
    assert_lost_once("PATCH", HS_CLOSE);
}
END_TEST

START_TEST(test_post_lost_then_refused_is_not_connect_error)
{
    /* libcurl's own retry finds the port closed: that must not read as ERR_CONNECT, which we retry */
    assert_lost_once("POST", HS_DIE);
}
END_TEST

START_TEST(test_get_resent_by_curl_after_lost_connection)
{
    blinkauth_http_response_t res;

    /* idempotent: libcurl sends it again on a new connection by itself, within our one attempt */
    ck_assert_int_eq(second_dropped("GET", HS_CLOSE, &res), APR_SUCCESS);
    printf("GET dropped: %d request(s), %d connection(s), answered %ld\n", hs_request_count(unit_server),
           hs_accepts(unit_server), res.status);
    ck_assert_int_eq(res.status, 200);
    ck_assert_str_eq(res.body, "two");
    ck_assert_int_eq(res.attempts, 1);
    ck_assert_int_eq(res.new_connections, 1);
    ck_assert_int_eq(hs_request_count(unit_server), 3);
    ck_assert_str_eq(hs_request(unit_server, 1)->path, "/second");
    ck_assert_str_eq(hs_request(unit_server, 2)->path, "/second");
    ck_assert_int_eq(hs_accepts(unit_server), 2);
}
END_TEST

START_TEST(test_get_lost_then_refused)
{
    blinkauth_http_response_t res;

    /* sent once, then libcurl's own retry was refused: lost, not "nothing was sent" */
    ck_assert_int_eq(second_dropped("GET", HS_DIE, &res), APR_EGENERAL);
    ck_assert_int_eq(res.error, BLINKAUTH_HTTP_ERR_LOST);
    ck_assert_int_eq(res.attempts, 1);
    ck_assert_int_eq(hs_request_count(unit_server), 2);
}
END_TEST

START_TEST(test_post_connection_reuse)
{
    blinkauth_http_request_t req;
    blinkauth_http_response_t res;
    long conns = 0;
    int i;

    unit_serve(HS_REPLY, reply(200, NULL, "ok"));
    req = with_body("POST", "/token", "code=abc");
    for (i = 0; i < 20; i++) {
        ck_assert_int_eq(blinkauth_http_call(unit_pool, &req, &res), APR_SUCCESS);
        ck_assert_int_eq(res.status, 200);
        conns += res.new_connections;
    }
    printf("20 sequential POSTs: %ld connection(s) opened (client), %d accepted (server), %d request(s)\n", conns,
           hs_accepts(unit_server), hs_request_count(unit_server));
    ck_assert_int_eq(conns, 1);
    ck_assert_int_eq(hs_accepts(unit_server), 1);
    ck_assert_int_eq(hs_request_count(unit_server), 20);
    ck_assert_int_eq(hs_body_count(unit_server, "code=abc"), 20);
}
END_TEST

/* idle_drain closes the kept connections: the next call opens a new one (what the parent does before it forks). */
START_TEST(test_idle_drain_closes_connections)
{
    blinkauth_http_request_t req;
    blinkauth_http_response_t res;

    unit_serve(HS_REPLY, reply(200, NULL, "ok"));
    req = with_body("POST", "/token", "code=abc");
    ck_assert_int_eq(blinkauth_http_call(unit_pool, &req, &res), APR_SUCCESS);
    ck_assert_int_eq(blinkauth_http_call(unit_pool, &req, &res), APR_SUCCESS);
    ck_assert_int_eq(res.new_connections, 0);
    blinkauth_http_idle_drain();
    ck_assert_int_eq(blinkauth_http_call(unit_pool, &req, &res), APR_SUCCESS);
    ck_assert_int_eq(res.new_connections, 1);
    ck_assert_int_eq(hs_accepts(unit_server), 2);
}
END_TEST

START_TEST(test_large_body_intact)
{
    const char *body = unit_filled(100 * 1024, 'z');
    blinkauth_http_request_t req;
    blinkauth_http_response_t res;
    int i;

    unit_serve(HS_REPLY, reply(200, NULL, "ok"));
    for (i = 0; i < 2; i++) { /* POST and PATCH, the second on the kept connection */
        req = with_body(i ? "PATCH" : "POST", "/big", body);
        ck_assert_int_eq(blinkauth_http_call(unit_pool, &req, &res), APR_SUCCESS);
        ck_assert_int_eq(res.status, 200);
        ck_assert_str_eq(hs_request(unit_server, i)->method, i ? "PATCH" : "POST");
        ck_assert_uint_eq(hs_request(unit_server, i)->body_len, 100 * 1024);
        ck_assert_str_eq(hs_header(hs_request(unit_server, i), "Content-Length"), "102400");
        ck_assert_ptr_null(hs_header(hs_request(unit_server, i), "Transfer-Encoding"));
        ck_assert_ptr_null(hs_header(hs_request(unit_server, i), "Expect"));
    }
    ck_assert_int_eq(hs_body_count(unit_server, body), 2);
    ck_assert_int_eq(hs_accepts(unit_server), 1);
}
END_TEST

/* Every case, in one suite, run with libcurl initialised the way post_config does it. */
int main(void)
{
    Suite *su = suite_create("http");
    TCase *tc;

    /* test_process_lifecycle first, while the handle pool is still empty: child_init forgets (leaks) idle handles */
    tc = unit_add_tcase(
        su, "core", NULL, unit_server_teardown,
        UNIT_TESTS(test_process_lifecycle, test_get_ok, test_post_body_bearer_headers, test_basic_auth_form_encoded,
                   test_delete_method, test_connection_reuse, test_concurrent_threads, test_refused_retried_once,
                   test_refused_then_listening, test_timeout_not_retried, test_closed_without_answer,
                   test_cap_content_length_over, test_cap_streamed_over, test_cap_exact, test_cap_announced_50mb,
                   test_retry_after_then_ok, test_429_without_retry_after, test_retry_after_on_other_status_ignored,
                   test_503_retry_after_beyond_budget, test_retry_after_http_date_ignored, test_redirect_not_followed,
                   test_https_to_plain_server, test_other_protocols_refused, test_header_injection_refused,
                   test_url_for_log, test_fork_gets_own_connections, test_post_not_resent_after_lost_connection,
                   test_patch_not_resent_after_lost_connection, test_post_lost_then_refused_is_not_connect_error,
                   test_get_resent_by_curl_after_lost_connection, test_get_lost_then_refused,
                   test_post_connection_reuse, test_idle_drain_closes_connections, test_large_body_intact,
                   test_timeout_sentence, test_refused_sentence, test_upstream_sentences));

    tcase_set_timeout(tc, 60);
    return unit_run_http(su);
}
