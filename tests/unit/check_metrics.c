/* Unit tests of modules/metrics.c (the counters and their renderings), and of the flow store's health probe. */
#include <string.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>

#include "unit.h"
#include "metrics.h"

/* A zeroed, stamped block of counters in unit_pool. */
static blinkauth_metrics_t *fresh(void)
{
    blinkauth_metrics_t *m = apr_pcalloc(unit_pool, sizeof(*m));

    ck_assert_int_eq(blinkauth_metrics_init(m), 0);
    return m;
}

/* Every pid runs. */
static int all_alive(apr_int32_t pid)
{
    return 1;
}

/* Only even pids run. */
static int even_alive(apr_int32_t pid)
{
    return pid % 2 == 0;
}

/* The line of text that starts with prefix, up to its end; NULL when none does. */
static const char *line_of(const char *text, const char *prefix)
{
    const char *at = strstr(text, apr_pstrcat(unit_pool, "\n", prefix, NULL));

    return at ? apr_pstrndup(unit_pool, at + 1, strcspn(at + 1, "\n")) : NULL;
}

START_TEST(test_init_keeps_a_block_of_this_layout)
{
    blinkauth_metrics_t *m = fresh();
    int slot = blinkauth_metrics_app_slot(m, "a-1");

    blinkauth_metrics_count(m, slot, BLINKAUTH_M_CONNECT_OK);
    ck_assert_int_eq(blinkauth_metrics_init(m), 1);
    ck_assert_uint_eq(m->app[slot].count[BLINKAUTH_M_CONNECT_OK], 1);
    m->size--; /* a block of another build */
    ck_assert_int_eq(blinkauth_metrics_init(m), 0);
    ck_assert_uint_eq(m->app[slot].count[BLINKAUTH_M_CONNECT_OK], 0);
}
END_TEST

START_TEST(test_app_slots)
{
    blinkauth_metrics_t *m = fresh();
    int i;

    ck_assert_int_eq(blinkauth_metrics_app_slot(m, "a-1"), 0);
    ck_assert_int_eq(blinkauth_metrics_app_slot(m, "b-2"), 1);
    ck_assert_int_eq(blinkauth_metrics_app_slot(m, "a-1"), 0); /* a graceful restart finds it again */
    for (i = 2; i < BLINKAUTH_METRICS_APPS; i++)
        ck_assert_int_eq(blinkauth_metrics_app_slot(m, apr_itoa(unit_pool, i)), i);
    ck_assert_int_eq(blinkauth_metrics_app_slot(m, "one-too-many"), -1);
    ck_assert_int_eq(blinkauth_metrics_app_slot(m, unit_filled(BLINKAUTH_ID_MAX + 1, 'x')), -1);
    blinkauth_metrics_count(m, -1, BLINKAUTH_M_CONNECT_OK); /* ignored */
    blinkauth_metrics_count(NULL, 0, BLINKAUTH_M_CONNECT_OK);
}
END_TEST

START_TEST(test_prometheus_counts_and_escapes)
{
    blinkauth_metrics_t *m = fresh();
    int slots[2] = {blinkauth_metrics_app_slot(m, "a-1"), blinkauth_metrics_app_slot(m, "q\"u\\o\nte")};
    const char *text;

    blinkauth_metrics_count(m, slots[0], BLINKAUTH_M_CALLBACK_CONNECTED);
    blinkauth_metrics_count(m, slots[0], BLINKAUTH_M_CALLBACK_CONNECTED);
    text = blinkauth_metrics_prometheus(unit_pool, m, slots, 2, all_alive);
    ck_assert_str_eq(line_of(text, "blinkauth_callbacks_total{auth_id=\"a-1\",outcome=\"connected\"}"),
                     "blinkauth_callbacks_total{auth_id=\"a-1\",outcome=\"connected\"} 2");
    ck_assert_ptr_nonnull(line_of(text, "blinkauth_connects_total{auth_id=\"q\\\"u\\\\o\\nte\",outcome=\"ok\"} 0"));
    ck_assert_ptr_nonnull(line_of(text, "# TYPE blinkauth_actions_total counter"));
    ck_assert_ptr_nonnull(line_of(text, "blinkauth_actions_total{auth_id=\"a-1\",outcome=\"not_linked\"} 0"));
    ck_assert_str_eq(line_of(text, "blinkauth_apps "), "blinkauth_apps 2");
}
END_TEST

START_TEST(test_upstream_histogram)
{
    blinkauth_metrics_t *m = fresh();
    const char *text;

    blinkauth_metrics_upstream(m, "token", 200, 0, 3000);   /* 3 ms: the first bucket */
    blinkauth_metrics_upstream(m, "token", 503, 0, 5000);   /* 5 ms: still the first (le is inclusive) */
    blinkauth_metrics_upstream(m, "token", 0, 1, 40000000); /* 40 s, timed out: only +Inf */
    blinkauth_metrics_upstream(m, "nonsense", 302, 0, 1);   /* an unknown endpoint: other */
    blinkauth_metrics_upstream(m, NULL, 0, 0, 1);           /* no answer: error */
    text = blinkauth_metrics_prometheus(unit_pool, m, NULL, 0, all_alive);
    ck_assert_ptr_nonnull(line_of(text, "blinkauth_upstream_requests_total{endpoint=\"token\",class=\"2xx\"} 1"));
    ck_assert_ptr_nonnull(line_of(text, "blinkauth_upstream_requests_total{endpoint=\"token\",class=\"5xx\"} 1"));
    ck_assert_ptr_nonnull(line_of(text, "blinkauth_upstream_requests_total{endpoint=\"token\",class=\"timeout\"} 1"));
    ck_assert_ptr_nonnull(line_of(text, "blinkauth_upstream_requests_total{endpoint=\"other\",class=\"3xx\"} 1"));
    ck_assert_ptr_nonnull(line_of(text, "blinkauth_upstream_requests_total{endpoint=\"other\",class=\"error\"} 1"));
    ck_assert_ptr_nonnull(
        line_of(text, "blinkauth_upstream_request_duration_seconds_bucket{endpoint=\"token\",le=\"0.005\"} 2"));
    ck_assert_ptr_nonnull(
        line_of(text, "blinkauth_upstream_request_duration_seconds_bucket{endpoint=\"token\",le=\"30\"} 2"));
    ck_assert_ptr_nonnull(
        line_of(text, "blinkauth_upstream_request_duration_seconds_bucket{endpoint=\"token\",le=\"+Inf\"} 3"));
    ck_assert_ptr_nonnull(line_of(text, "blinkauth_upstream_request_duration_seconds_count{endpoint=\"token\"} 3"));
    ck_assert_ptr_nonnull(
        line_of(text, "blinkauth_upstream_request_duration_seconds_sum{endpoint=\"token\"} 40.008000"));
}
END_TEST

/* What each adding thread does: 250,000 adds to the counter of slot 0. */
static void *APR_THREAD_FUNC adder(apr_thread_t *t, void *data)
{
    int i;

    for (i = 0; i < 250000; i++)
        blinkauth_metrics_count(data, 0, BLINKAUTH_M_CONNECT_OK);
    return NULL;
}

START_TEST(test_adds_are_atomic)
{
    blinkauth_metrics_t *m = fresh();
    apr_thread_t *t[4];
    apr_status_t rv;
    int i;

    blinkauth_metrics_app_slot(m, "a-1");
    for (i = 0; i < 4; i++)
        ck_assert_int_eq(apr_thread_create(&t[i], NULL, adder, m, unit_pool), APR_SUCCESS);
    for (i = 0; i < 4; i++)
        apr_thread_join(&rv, t[i]);
    ck_assert_uint_eq(m->app[0].count[BLINKAUTH_M_CONNECT_OK], 1000000);
}
END_TEST

START_TEST(test_pool_gauges_skip_gone_processes)
{
    blinkauth_metrics_t *m = fresh();
    int a = blinkauth_metrics_proc_slot(m, 10, all_alive), b = blinkauth_metrics_proc_slot(m, 11, all_alive);
    const char *text;

    ck_assert_int_eq(blinkauth_metrics_proc_slot(m, 10, all_alive), a);
    blinkauth_metrics_pool(m, a, 2, 3, 1);
    blinkauth_metrics_pool(m, b, 5, 7, 4);
    text = blinkauth_metrics_prometheus(unit_pool, m, NULL, 0, even_alive); /* 11 is gone */
    ck_assert_ptr_nonnull(line_of(text, "blinkauth_http_handles{state=\"idle\"} 3"));
    ck_assert_ptr_nonnull(line_of(text, "blinkauth_http_handles{state=\"in_use\"} 1"));
    ck_assert_ptr_nonnull(line_of(text, "blinkauth_http_connections_opened_total 7"));
    ck_assert_int_eq(blinkauth_metrics_proc_slot(m, 12, even_alive), b); /* a gone process's slot is taken over */
    blinkauth_metrics_proc_free(m, a, 10);
    ck_assert_int_eq(m->proc[a].pid, 0);
}
END_TEST

START_TEST(test_json_tells_the_same)
{
    blinkauth_metrics_t *m = fresh();
    int slot = blinkauth_metrics_app_slot(m, "a-1");
    json_t *j;

    blinkauth_metrics_count(m, slot, BLINKAUTH_M_DISCONNECT_NOT_OURS);
    blinkauth_metrics_store(m, BLINKAUTH_STORE_REMOVE, BLINKAUTH_STORE_NOT_FOUND);
    j = blinkauth_metrics_json(m, &slot, 1, all_alive);
    ck_assert_int_eq(
        json_integer_value(json_object_get(
            json_object_get(json_object_get(json_object_get(json_object_get(j, "apps"), "a-1"), "counters"),
                            "disconnects"),
            "not_ours")),
        1);
    ck_assert_int_eq(
        json_integer_value(json_object_get(json_object_get(json_object_get(j, "flow_store"), "remove"), "not_found")),
        1);
    ck_assert(blinkauth_metrics_is_failure(BLINKAUTH_M_CALLBACK_TIMEOUT));
    ck_assert(!blinkauth_metrics_is_failure(BLINKAUTH_M_CALLBACK_CANCELLED));
    json_decref(j);
}
END_TEST

START_TEST(test_flow_probe)
{
    ap_socache_instance_t *inst = fake_cache_create(unit_pool);
    blinkauth_flow_store_t store = fake_cache_store(inst);
    const char *why = NULL;

    ck_assert_int_eq(blinkauth_flow_probe(&store, unit_pool, &why), APR_SUCCESS);
    ck_assert_int_eq(inst->stores * 100 + inst->retrieves * 10 + inst->removes, 111);
    ck_assert_int_eq(fake_cache_count(inst), 0);
    inst->fail_retrieve = APR_EGENERAL;
    ck_assert_int_ne(blinkauth_flow_probe(&store, unit_pool, &why), APR_SUCCESS);
    ck_assert_ptr_nonnull(why);
    inst->fail_retrieve = APR_SUCCESS;
    inst->fail_store = APR_ENOSPC;
    ck_assert_int_ne(blinkauth_flow_probe(&store, unit_pool, &why), APR_SUCCESS);
    ck_assert_str_eq(why, "the flow store refused to store the probe");
}
END_TEST

/* app_total adds one family's outcomes, or all of them, or only the failures among them. */
START_TEST(test_app_total)
{
    blinkauth_metrics_t *m = fresh();
    int slot = blinkauth_metrics_app_slot(m, "a-1");

    blinkauth_metrics_count(m, slot, BLINKAUTH_M_CONNECT_OK);
    blinkauth_metrics_count(m, slot, BLINKAUTH_M_CONNECT_OK);
    blinkauth_metrics_count(m, slot, BLINKAUTH_M_CONNECT_STORE_ERROR);
    blinkauth_metrics_count(m, slot, BLINKAUTH_M_CALLBACK_CONNECTED);
    blinkauth_metrics_count(m, slot, BLINKAUTH_M_CALLBACK_TIMEOUT);
    ck_assert_uint_eq(blinkauth_metrics_app_total(m, slot, BLINKAUTH_MF_CONNECT, 0), 3);
    ck_assert_uint_eq(blinkauth_metrics_app_total(m, slot, BLINKAUTH_MF_CALLBACK, 0), 2);
    ck_assert_uint_eq(blinkauth_metrics_app_total(m, slot, BLINKAUTH_MF_CONNECT, 1), 1);
    ck_assert_uint_eq(blinkauth_metrics_app_total(m, slot, -1, 0), 5);
    ck_assert_uint_eq(blinkauth_metrics_app_total(m, slot, -1, 1), 2);
}
END_TEST

/* Runs the metrics suite. */
int main(void)
{
    Suite *s = suite_create("metrics");

    unit_add_tcase(s, "metrics", NULL, NULL,
                   UNIT_TESTS(test_init_keeps_a_block_of_this_layout, test_app_slots,
                              test_prometheus_counts_and_escapes, test_upstream_histogram, test_adds_are_atomic,
                              test_pool_gauges_skip_gone_processes, test_json_tells_the_same, test_flow_probe,
                              test_app_total));
    return unit_run(s);
}
