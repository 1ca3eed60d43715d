/* The module's counters: lock-free atomic adds into one block, rendered as Prometheus text and JSON. */
#include "metrics.h"

#include <string.h>
#include <apr_strings.h>

/* "blinkauth-metrics v1" and the layout's size stamp a block, so that a block kept from another build is refused. */
#define MAGIC 0xb1a0c001u

#define FAMILY_NAME(id, name, help) name,
static const char *const family_names[] = {BLINKAUTH_METRIC_FAMILIES(FAMILY_NAME)};
#undef FAMILY_NAME
#define FAMILY_HELP(id, name, help) help,
static const char *const family_help[] = {BLINKAUTH_METRIC_FAMILIES(FAMILY_HELP)};
#undef FAMILY_HELP
#define OUTCOME_FAMILY(fam, id, label) BLINKAUTH_MF_##fam,
static const blinkauth_metric_family_t outcome_family[] = {BLINKAUTH_METRIC_OUTCOMES(OUTCOME_FAMILY)};
#undef OUTCOME_FAMILY
#define OUTCOME_LABEL(fam, id, label) label,
static const char *const outcome_labels[] = {BLINKAUTH_METRIC_OUTCOMES(OUTCOME_LABEL)};
#undef OUTCOME_LABEL

static const char *const endpoints[] = BLINKAUTH_METRICS_ENDPOINTS;
static const char *const classes[] = {"2xx", "3xx", "4xx", "5xx", "error", "timeout"};
static const double bounds[] = BLINKAUTH_METRICS_BUCKETS;
static const char *const bound_text[] = {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
                                         "0.5",   "1",    "2.5",   "5",    "10",  "30"};
static const char *const store_ops[] = {"store", "retrieve", "remove"};
static const char *const store_results[] = {"ok", "not_found", "error"};

/* Adds n to a counter, atomically. */
static void add(apr_uint64_t *c, apr_uint64_t n)
{
    __atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

/* A counter's value, read atomically. */
static apr_uint64_t get(const apr_uint64_t *c)
{
    return __atomic_load_n(c, __ATOMIC_RELAXED);
}

int blinkauth_metrics_init(blinkauth_metrics_t *m)
{
    if (m->magic == MAGIC && m->size == sizeof(*m))
        return 1;
    memset(m, 0, sizeof(*m));
    m->magic = MAGIC;
    m->size = sizeof(*m);
    return 0;
}

int blinkauth_metrics_app_slot(blinkauth_metrics_t *m, const char *auth_id)
{
    int i, free_slot = -1;

    if (auth_id == NULL || strlen(auth_id) > BLINKAUTH_ID_MAX)
        return -1;
    for (i = 0; i < BLINKAUTH_METRICS_APPS; i++) {
        if (strcmp(m->app[i].auth_id, auth_id) == 0)
            return i;
        if (free_slot < 0 && m->app[i].auth_id[0] == '\0')
            free_slot = i;
    }
    if (free_slot >= 0)
        strcpy(m->app[free_slot].auth_id, auth_id);
    return free_slot;
}

void blinkauth_metrics_count(blinkauth_metrics_t *m, int slot, blinkauth_metric_t what)
{
    if (m && slot >= 0 && slot < BLINKAUTH_METRICS_APPS && what < BLINKAUTH_M_COUNT)
        add(&m->app[slot].count[what], 1);
}

/* The index of an endpoint's name; the last ("other") for NULL or an unknown one. */
static int endpoint_index(const char *name)
{
    int i;

    for (i = 0; name && i < BLINKAUTH_METRICS_ENDPOINT_COUNT - 1; i++)
        if (strcmp(endpoints[i], name) == 0)
            return i;
    return BLINKAUTH_METRICS_ENDPOINT_COUNT - 1;
}

/* The status class index of a call: 0..3 for 2xx..5xx, 4 for no (or an unexpected) answer, 5 for a timeout. */
static int class_index(long status, int timed_out)
{
    if (timed_out)
        return 5;
    return status >= 200 && status < 600 ? (int)(status / 100 - 2) : 4;
}

void blinkauth_metrics_upstream(blinkauth_metrics_t *m, const char *endpoint, long status, int timed_out,
                                apr_int64_t elapsed_us)
{
    int e = endpoint_index(endpoint), b = 0;

    if (m == NULL)
        return;
    if (elapsed_us < 0)
        elapsed_us = 0;
    while (b < BLINKAUTH_METRICS_BUCKET_COUNT && (double)elapsed_us > bounds[b] * 1e6)
        b++;
    add(&m->calls[e][class_index(status, timed_out)], 1);
    add(&m->bucket[e][b], 1);
    add(&m->sum_us[e], (apr_uint64_t)elapsed_us);
}

void blinkauth_metrics_store(blinkauth_metrics_t *m, blinkauth_store_op_t op, blinkauth_store_result_t result)
{
    if (m && op < BLINKAUTH_STORE_OPS && result < BLINKAUTH_STORE_RESULTS)
        add(&m->store[op][result], 1);
}

int blinkauth_metrics_proc_slot(blinkauth_metrics_t *m, apr_int32_t pid, int (*alive)(apr_int32_t pid))
{
    int i;

    for (i = 0; i < BLINKAUTH_METRICS_PROCS; i++)
        if (__atomic_load_n(&m->proc[i].pid, __ATOMIC_RELAXED) == pid)
            return i;
    for (i = 0; i < BLINKAUTH_METRICS_PROCS; i++) {
        apr_int32_t owner = __atomic_load_n(&m->proc[i].pid, __ATOMIC_RELAXED);

        if ((owner == 0 || !alive(owner)) &&
            __atomic_compare_exchange_n(&m->proc[i].pid, &owner, pid, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
            m->proc[i].idle = m->proc[i].in_use = 0;
            return i;
        }
    }
    return -1;
}

void blinkauth_metrics_pool(blinkauth_metrics_t *m, int slot, long new_connections, int idle, int in_use)
{
    if (m == NULL)
        return;
    if (new_connections > 0)
        add(&m->connections, (apr_uint64_t)new_connections);
    if (slot < 0 || slot >= BLINKAUTH_METRICS_PROCS)
        return;
    __atomic_store_n(&m->proc[slot].idle, (apr_uint32_t)(idle > 0 ? idle : 0), __ATOMIC_RELAXED);
    __atomic_store_n(&m->proc[slot].in_use, (apr_uint32_t)(in_use > 0 ? in_use : 0), __ATOMIC_RELAXED);
}

void blinkauth_metrics_proc_free(blinkauth_metrics_t *m, int slot, apr_int32_t pid)
{
    if (m && slot >= 0 && slot < BLINKAUTH_METRICS_PROCS)
        __atomic_compare_exchange_n(&m->proc[slot].pid, &pid, 0, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

int blinkauth_metrics_is_failure(blinkauth_metric_t what)
{
    static const char *const failures[] = {"store_error",   "config_error", "upstream_error", "timeout",
                                           "misconfigured", "unconfirmed",  "failed",         NULL};
    int i;

    for (i = 0; what < BLINKAUTH_M_COUNT && failures[i]; i++)
        if (strcmp(outcome_labels[what], failures[i]) == 0)
            return 1;
    return 0;
}

const char *blinkauth_metrics_family_name(blinkauth_metric_family_t family)
{
    return family_names[family];
}

blinkauth_metric_family_t blinkauth_metrics_family_of(blinkauth_metric_t what)
{
    return outcome_family[what];
}

const char *blinkauth_metrics_outcome_label(blinkauth_metric_t what)
{
    return outcome_labels[what];
}

apr_uint64_t blinkauth_metrics_app_total(const blinkauth_metrics_t *m, int slot, int family, int failures)
{
    apr_uint64_t n = 0;
    int k;

    for (k = 0; k < BLINKAUTH_M_COUNT; k++)
        if ((family < 0 || outcome_family[k] == (blinkauth_metric_family_t)family) &&
            (!failures || blinkauth_metrics_is_failure((blinkauth_metric_t)k)))
            n += get(&m->app[slot].count[k]);
    return n;
}

/* The pool gauges summed over the processes that still run: idle into *idle, in use into *in_use. */
static void pool_sum(const blinkauth_metrics_t *m, int (*alive)(apr_int32_t pid), apr_uint64_t *idle,
                     apr_uint64_t *in_use)
{
    int i;

    *idle = *in_use = 0;
    for (i = 0; i < BLINKAUTH_METRICS_PROCS; i++) {
        apr_int32_t pid = __atomic_load_n(&m->proc[i].pid, __ATOMIC_RELAXED);

        if (pid == 0 || !alive(pid))
            continue;
        *idle += __atomic_load_n(&m->proc[i].idle, __ATOMIC_RELAXED);
        *in_use += __atomic_load_n(&m->proc[i].in_use, __ATOMIC_RELAXED);
    }
}

/* A label value escaped for the text format: backslash, double quote and line feed. */
static const char *label_escape(apr_pool_t *p, const char *s)
{
    char *out = apr_palloc(p, 2 * strlen(s) + 1), *o = out;

    for (; *s; s++) {
        if (*s == '\\' || *s == '"' || *s == '\n')
            *o++ = '\\';
        *o++ = *s == '\n' ? 'n' : *s;
    }
    *o = '\0';
    return out;
}

/* Appends "# HELP" and "# TYPE" lines of a metric to out. */
static void header(apr_pool_t *p, apr_array_header_t *out, const char *name, const char *type, const char *help)
{
    APR_ARRAY_PUSH(out, const char *) =
        apr_psprintf(p, "# HELP blinkauth_%s %s\n# TYPE blinkauth_%s %s\n", name, help, name, type);
}

/* Appends one sample line "blinkauth_<name>{<labels>} <value>" to out (labels may be empty). */
static void sample(apr_pool_t *p, apr_array_header_t *out, const char *name, const char *labels, apr_uint64_t v)
{
    APR_ARRAY_PUSH(out, const char *) = apr_psprintf(p, "blinkauth_%s%s%s%s %" APR_UINT64_T_FMT "\n", name,
                                                     *labels ? "{" : "", labels, *labels ? "}" : "", v);
}

/* The per-app counter families. */
static void render_apps(apr_pool_t *p, apr_array_header_t *out, const blinkauth_metrics_t *m, const int *slots, int n)
{
    int f, k, i;

    for (f = 0; f < BLINKAUTH_MF_COUNT; f++) {
        const char *name = apr_pstrcat(p, family_names[f], "_total", NULL);

        header(p, out, name, "counter", family_help[f]);
        for (i = 0; i < n; i++)
            for (k = 0; k < BLINKAUTH_M_COUNT && slots[i] >= 0; k++)
                if (outcome_family[k] == (blinkauth_metric_family_t)f)
                    sample(p, out, name,
                           apr_psprintf(p, "auth_id=\"%s\",outcome=\"%s\"", label_escape(p, m->app[slots[i]].auth_id),
                                        outcome_labels[k]),
                           get(&m->app[slots[i]].count[k]));
    }
}

/* The upstream calls by endpoint and class, and their latency histogram. */
static void render_upstream(apr_pool_t *p, apr_array_header_t *out, const blinkauth_metrics_t *m)
{
    int e, c, b;

    header(p, out, "upstream_requests_total", "counter",
           "Calls to upstreams (the external service, the Blink API), by endpoint and status class (error: no "
           "answer).");
    for (e = 0; e < BLINKAUTH_METRICS_ENDPOINT_COUNT; e++)
        for (c = 0; c < BLINKAUTH_METRICS_CLASS_COUNT; c++)
            sample(p, out, "upstream_requests_total",
                   apr_psprintf(p, "endpoint=\"%s\",class=\"%s\"", endpoints[e], classes[c]), get(&m->calls[e][c]));
    header(p, out, "upstream_request_duration_seconds", "histogram",
           "Time of each upstream call in seconds, retries included, by endpoint.");
    for (e = 0; e < BLINKAUTH_METRICS_ENDPOINT_COUNT; e++) {
        apr_uint64_t cumulative = 0;

        for (b = 0; b <= BLINKAUTH_METRICS_BUCKET_COUNT; b++) {
            cumulative += get(&m->bucket[e][b]);
            sample(p, out, "upstream_request_duration_seconds_bucket",
                   apr_psprintf(p, "endpoint=\"%s\",le=\"%s\"", endpoints[e],
                                b < BLINKAUTH_METRICS_BUCKET_COUNT ? bound_text[b] : "+Inf"),
                   cumulative);
        }
        APR_ARRAY_PUSH(out, const char *) =
            apr_psprintf(p, "blinkauth_upstream_request_duration_seconds_sum{endpoint=\"%s\"} %.6f\n", endpoints[e],
                         (double)get(&m->sum_us[e]) / 1e6);
        sample(p, out, "upstream_request_duration_seconds_count", apr_psprintf(p, "endpoint=\"%s\"", endpoints[e]),
               cumulative);
    }
}

/* The flow store's operations, the HTTP handle pool and the app table. */
static void render_process(apr_pool_t *p, apr_array_header_t *out, const blinkauth_metrics_t *m, int napps,
                           int (*alive)(apr_int32_t pid))
{
    apr_uint64_t idle, in_use;
    int o, r;

    header(p, out, "flow_store_operations_total", "counter",
           "Operations on the flow store's socache provider, by operation and result.");
    for (o = 0; o < BLINKAUTH_STORE_OPS; o++)
        for (r = 0; r < BLINKAUTH_STORE_RESULTS; r++)
            sample(p, out, "flow_store_operations_total",
                   apr_psprintf(p, "op=\"%s\",result=\"%s\"", store_ops[o], store_results[r]), get(&m->store[o][r]));
    pool_sum(m, alive, &idle, &in_use);
    header(p, out, "http_handles", "gauge",
           "libcurl handles of the HTTP client, summed over httpd's processes, as each last reported them.");
    sample(p, out, "http_handles", "state=\"idle\"", idle);
    sample(p, out, "http_handles", "state=\"in_use\"", in_use);
    header(p, out, "http_connections_opened_total", "counter", "TCP connections the HTTP client opened.");
    sample(p, out, "http_connections_opened_total", "", get(&m->connections));
    header(p, out, "apps", "gauge", "Apps (Auth IDs) configured and counted.");
    sample(p, out, "apps", "", (apr_uint64_t)napps);
    header(p, out, "apps_untracked", "gauge", "Apps configured beyond the 256 that get counters: not counted.");
    sample(p, out, "apps_untracked", "", m->apps_untracked);
}

const char *blinkauth_metrics_prometheus(apr_pool_t *p, const blinkauth_metrics_t *m, const int *slots, int n,
                                         int (*alive)(apr_int32_t pid))
{
    apr_array_header_t *out = apr_array_make(p, 512, sizeof(const char *));
    int i, counted = 0;

    for (i = 0; i < n; i++)
        counted += slots[i] >= 0;
    render_apps(p, out, m, slots, n);
    render_upstream(p, out, m);
    render_process(p, out, m, counted, alive);
    return apr_array_pstrcat(p, out, '\0');
}

/* {<outcome>: n} of one family of an app slot. */
static json_t *family_json(const blinkauth_metrics_t *m, int slot, int family)
{
    json_t *o = json_object();
    int k;

    for (k = 0; k < BLINKAUTH_M_COUNT; k++)
        if (outcome_family[k] == (blinkauth_metric_family_t)family)
            json_object_set_new(o, outcome_labels[k], json_integer((json_int_t)get(&m->app[slot].count[k])));
    return o;
}

/* {<endpoint>: {"calls": {<class>: n}, "seconds_sum": s, "buckets": {<le>: cumulative n}}}. */
static json_t *upstream_json(const blinkauth_metrics_t *m)
{
    json_t *all = json_object();
    int e, c, b;

    for (e = 0; e < BLINKAUTH_METRICS_ENDPOINT_COUNT; e++) {
        json_t *calls = json_object(), *buckets = json_object();
        apr_uint64_t cumulative = 0;

        for (c = 0; c < BLINKAUTH_METRICS_CLASS_COUNT; c++)
            json_object_set_new(calls, classes[c], json_integer((json_int_t)get(&m->calls[e][c])));
        for (b = 0; b <= BLINKAUTH_METRICS_BUCKET_COUNT; b++) {
            cumulative += get(&m->bucket[e][b]);
            json_object_set_new(buckets, b < BLINKAUTH_METRICS_BUCKET_COUNT ? bound_text[b] : "+Inf",
                                json_integer((json_int_t)cumulative));
        }
        json_object_set_new(all, endpoints[e],
                            json_pack("{s:o, s:f, s:o}", "calls", calls, "seconds_sum",
                                      (double)get(&m->sum_us[e]) / 1e6, "buckets", buckets));
    }
    return all;
}

/* {<op>: {<result>: n}} of the flow store. */
static json_t *store_json(const blinkauth_metrics_t *m)
{
    json_t *all = json_object();
    int o, r;

    for (o = 0; o < BLINKAUTH_STORE_OPS; o++) {
        json_t *one = json_object();

        for (r = 0; r < BLINKAUTH_STORE_RESULTS; r++)
            json_object_set_new(one, store_results[r], json_integer((json_int_t)get(&m->store[o][r])));
        json_object_set_new(all, store_ops[o], one);
    }
    return all;
}

json_t *blinkauth_metrics_json(const blinkauth_metrics_t *m, const int *slots, int n, int (*alive)(apr_int32_t pid))
{
    json_t *apps = json_object();
    apr_uint64_t idle, in_use;
    int i, f;

    for (i = 0; i < n; i++) {
        json_t *counters = json_object();

        if (slots[i] < 0)
            continue;
        for (f = 0; f < BLINKAUTH_MF_COUNT; f++)
            json_object_set_new(counters, family_names[f], family_json(m, slots[i], f));
        json_object_set_new(apps, m->app[slots[i]].auth_id, json_pack("{s:o}", "counters", counters));
    }
    pool_sum(m, alive, &idle, &in_use);
    return json_pack("{s:o, s:o, s:o, s:{s:I, s:I, s:I}, s:I}", "apps", apps, "upstream", upstream_json(m),
                     "flow_store", store_json(m), "http_pool", "idle", (json_int_t)idle, "in_use", (json_int_t)in_use,
                     "connections_opened", (json_int_t)get(&m->connections), "apps_untracked",
                     (json_int_t)m->apps_untracked);
}
