/* Unit tests of modules/config.c: create, merge, validation of values, required directives, defaults. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <apr_strings.h>
#include <apr_file_io.h>

#include "unit.h"
#include "config.h"
#include "text.h"

/* A field of blinkauth_config_t: where it is, and its name for messages. */
typedef struct {
    size_t offset;
    const char *name;
} field_t;
#define FIELD(f)                                                                                                       \
    {                                                                                                                  \
        offsetof(blinkauth_config_t, f), #f                                                                            \
    }

/* Every string field of blinkauth_config_t. */
static const field_t str_fields[] = {
    FIELD(location),     FIELD(defined_at),   FIELD(auth_id),       FIELD(proxy_secret),  FIELD(api_token),
    FIELD(api_url),      FIELD(client_id),    FIELD(client_secret), FIELD(authorize_url), FIELD(token_url),
    FIELD(userinfo_url), FIELD(revoke_url),   FIELD(scope),         FIELD(redirect_uri),  FIELD(account_id_claim),
    FIELD(ca_file),      FIELD(metadata_url), FIELD(issuer),        FIELD(prompt),        FIELD(service_name),
    FIELD(pass_token),   FIELD(token_key),
};
#define N_STR UNIT_COUNT(str_fields)

/* The string fields merged with another as a pair (test_merge_pairs), not alone: the second of each pair. */
static const field_t paired_fields[] = {
    FIELD(proxy_secret_previous),
    FIELD(token_key_previous),
};

/* The pairs: a directive's current and previous values (BlinkAuthProxySecret, BlinkAuthTokenKey). */
static const field_t pairs[][2] = {
    {FIELD(proxy_secret), FIELD(proxy_secret_previous)},
    {FIELD(token_key), FIELD(token_key_previous)},
};
#define N_PAIRED UNIT_COUNT(paired_fields)

/* Every int field of blinkauth_config_t. */
static const field_t int_fields[] = {
    FIELD(state_timeout), FIELD(timeout),       FIELD(verified_email), FIELD(max_age),
    FIELD(match_email),   FIELD(start_timeout), FIELD(token_check),    FIELD(refresh_before),
};
#define N_INT UNIT_COUNT(int_fields)

/* The required directives in the order blinkauth_config_missing names them: the field each sets, and a value. */
static const struct {
    size_t offset;
    const char *directive;
    const char *value;
} required[] = {
    {offsetof(blinkauth_config_t, auth_id), "BlinkAuthID", "a-1"},
    {offsetof(blinkauth_config_t, proxy_secret), "BlinkAuthProxySecret", "s"},
    {offsetof(blinkauth_config_t, api_token), "BlinkAuthAPIToken", "t"},
    {offsetof(blinkauth_config_t, client_id), "BlinkAuthClientID", "c"},
    {offsetof(blinkauth_config_t, authorize_url), "BlinkAuthAuthorizeURL (or BlinkAuthProviderMetadataURL)",
     "https://idp.example/a"},
    {offsetof(blinkauth_config_t, token_url), "BlinkAuthTokenURL (or BlinkAuthProviderMetadataURL)",
     "https://idp.example/t"},
};

/* The string field at offset of cfg, as an lvalue. */
static const char **str_at(blinkauth_config_t *cfg, size_t offset)
{
    return (const char **)((char *)cfg + offset);
}

/* The int field at offset of cfg, as an lvalue. */
static int *int_at(blinkauth_config_t *cfg, size_t offset)
{
    return (int *)((char *)cfg + offset);
}

/* The value all_set(tag, ...) gives string field i: "outer-auth_id". */
static const char *tagged(const char *tag, int i)
{
    return apr_pstrcat(unit_pool, tag, "-", str_fields[i].name, NULL);
}

/* A configuration with every field set to a value naming the field and tag ("outer-auth_id", base + i). */
static blinkauth_config_t *all_set(const char *tag, int base)
{
    blinkauth_config_t *cfg = blinkauth_config_create(unit_pool, "/tag");
    int i;

    for (i = 0; i < N_STR; i++)
        *str_at(cfg, str_fields[i].offset) = tagged(tag, i);
    for (i = 0; i < N_INT; i++)
        *int_at(cfg, int_fields[i].offset) = base + i;
    return cfg;
}

/* Asserts that the string fields of cfg from the first on, and all its int fields, are unset. */
static void assert_unset(blinkauth_config_t *cfg, int first)
{
    int i;

    for (i = first; i < N_STR; i++)
        ck_assert_msg(*str_at(cfg, str_fields[i].offset) == NULL, "%s is set", str_fields[i].name);
    for (i = 0; i < N_INT; i++)
        ck_assert_int_eq(*int_at(cfg, int_fields[i].offset), BLINKAUTH_UNSET_INT);
}

/* Asserts that the string fields of cfg are all tagged with tag (as all_set sets them). */
static void assert_str_tagged(blinkauth_config_t *cfg, const char *tag)
{
    int i;

    for (i = 0; i < N_STR; i++)
        ck_assert_str_eq(*str_at(cfg, str_fields[i].offset), tagged(tag, i));
}

/* Asserts that the int fields of cfg are base, base + 1, ... (as all_set sets them). */
static void assert_int_based(blinkauth_config_t *cfg, int base)
{
    int i;

    for (i = 0; i < N_INT; i++)
        ck_assert_int_eq(*int_at(cfg, int_fields[i].offset), base + i);
}

/* A configuration with every required directive set. */
static blinkauth_config_t *complete(void)
{
    blinkauth_config_t *cfg = blinkauth_config_create(unit_pool, "/blink");

    cfg->auth_id = "a-1234";
    cfg->proxy_secret = "s3cret";
    cfg->api_token = "app-token";
    cfg->client_id = "my-client";
    cfg->authorize_url = "https://idp.example/oauth/authorize";
    cfg->token_url = "https://idp.example/oauth/token";
    return cfg;
}

/* Pool cleanup that deletes a temporary file. */
static apr_status_t unlink_file(void *path)
{
    unlink(path);
    return APR_SUCCESS;
}

/* Writes len bytes to a fresh temporary file, deleted with unit_pool; returns "file:<path>". */
static const char *secret_file(const char *content, apr_size_t len)
{
    char *path = apr_pstrdup(unit_pool, "/tmp/blinkauth-secret-XXXXXX");
    int fd = mkstemp(path);

    ck_assert_int_ge(fd, 0);
    apr_pool_cleanup_register(unit_pool, path, unlink_file, apr_pool_cleanup_null);
    ck_assert_int_eq(write(fd, content, len), (ssize_t)len);
    close(fd);
    return apr_pstrcat(unit_pool, "file:", path, NULL);
}

/* Reads a secret and asserts it succeeds with want. */
static void assert_secret(const char *value, const char *want)
{
    const char *out = NULL;
    const char *why = blinkauth_config_read_secret(unit_pool, value, &out);

    ck_assert_msg(why == NULL, "read_secret failed: %.200s", why);
    ck_assert_ptr_nonnull(out);
    ck_assert_str_eq(out, want);
}

/* Reads a secret and asserts it fails, leaving out untouched, with a reason containing part. */
static void assert_secret_refused(const char *value, const char *part)
{
    const char *out = "untouched";
    const char *why = blinkauth_config_read_secret(unit_pool, value, &out);

    ck_assert_msg(why != NULL, "read_secret accepted a bad secret, giving \"%.40s\"", out);
    ck_assert_str_eq(out, "untouched");
    ck_assert_msg(strstr(why, part) != NULL, "\"%.200s\" does not say \"%s\"", why, part);
}

START_TEST(test_field_tables_complete)
{
    /* When a field is added to blinkauth_config_t, the tables above (and merge) must learn it. */
    ck_assert_uint_eq(sizeof(blinkauth_config_t),
                      (N_STR + N_PAIRED) * sizeof(const char *) + APR_ALIGN(N_INT * sizeof(int), sizeof(void *)));
}
END_TEST

START_TEST(test_create_all_unset)
{
    blinkauth_config_t *cfg = blinkauth_config_create(unit_pool, "/blink");
    blinkauth_config_t *srv = blinkauth_config_create(unit_pool, NULL);

    ck_assert_str_eq(cfg->location, "/blink");
    ck_assert_ptr_null(srv->location);
    assert_unset(cfg, 1);
    assert_unset(srv, 1);
    ck_assert_int_eq(blinkauth_config_is_used(cfg), 0);
}
END_TEST

START_TEST(test_merge_string_fields)
{
    int i, j;

    for (i = 0; i < N_STR; i++) {
        blinkauth_config_t *outer = all_set("outer", 1000);
        blinkauth_config_t *inner = blinkauth_config_create(unit_pool, NULL);
        blinkauth_config_t *m;
        const char *want;

        /* Only field i set in the inner section: it wins there, the outer is inherited everywhere else. */
        *str_at(inner, str_fields[i].offset) = "inner";
        m = blinkauth_config_merge(unit_pool, outer, inner);
        ck_assert(m != outer && m != inner);
        for (j = 0; j < N_STR; j++) {
            want = j == i ? "inner" : tagged("outer", j);
            ck_assert_msg(*str_at(m, str_fields[j].offset) != NULL, "%s lost (inner sets %s)", str_fields[j].name,
                          str_fields[i].name);
            ck_assert_msg(strcmp(*str_at(m, str_fields[j].offset), want) == 0, "%s is \"%s\", not \"%s\"",
                          str_fields[j].name, *str_at(m, str_fields[j].offset), want);
        }
        assert_int_based(m, 1000);
        /* The inputs are left as they were. */
        ck_assert_str_eq(*str_at(inner, str_fields[i].offset), "inner");
        ck_assert_str_eq(*str_at(outer, str_fields[i].offset), tagged("outer", i));
    }
}
END_TEST

START_TEST(test_merge_pairs)
{
    /* The values of one directive line: current, previous (NULL when one value). */
    static const struct {
        const char *outer[2], *inner[2], *want[2];
    } cases[] = {
        {{"o-new", "o-old"}, {NULL, NULL}, {"o-new", "o-old"}},       /* inner silent: both inherited */
        {{"o-new", "o-old"}, {"i-new", "i-old"}, {"i-new", "i-old"}}, /* inner rotating: both its own */
        {{"o-new", "o-old"}, {"i-new", NULL}, {"i-new", NULL}},       /* inner's one value: no outer previous */
        {{"o-new", NULL}, {"i-new", "i-old"}, {"i-new", "i-old"}},
    };
    int i, k, j;

    for (k = 0; k < UNIT_COUNT(pairs); k++) {
        for (i = 0; i < UNIT_COUNT(cases); i++) {
            blinkauth_config_t *outer = blinkauth_config_create(unit_pool, "/a");
            blinkauth_config_t *inner = blinkauth_config_create(unit_pool, "/a/b");
            blinkauth_config_t *m;

            for (j = 0; j < 2; j++) {
                *str_at(outer, pairs[k][j].offset) = cases[i].outer[j];
                *str_at(inner, pairs[k][j].offset) = cases[i].inner[j];
            }
            m = blinkauth_config_merge(unit_pool, outer, inner);
            ck_assert_str_eq(*str_at(m, pairs[k][0].offset), cases[i].want[0]);
            if (cases[i].want[1])
                ck_assert_str_eq(*str_at(m, pairs[k][1].offset), cases[i].want[1]);
            else
                ck_assert_msg(*str_at(m, pairs[k][1].offset) == NULL, "%s case %d: previous is %s", pairs[k][0].name, i,
                              *str_at(m, pairs[k][1].offset));
        }
    }
}
END_TEST

START_TEST(test_merge_int_fields)
{
    int i, j;

    for (i = 0; i < N_INT; i++) {
        blinkauth_config_t *outer = all_set("outer", 1000);
        blinkauth_config_t *inner = blinkauth_config_create(unit_pool, NULL);
        blinkauth_config_t *m;

        *int_at(inner, int_fields[i].offset) = 7;
        m = blinkauth_config_merge(unit_pool, outer, inner);
        for (j = 0; j < N_INT; j++)
            ck_assert_msg(*int_at(m, int_fields[j].offset) == (j == i ? 7 : 1000 + j), "%s is %d (inner sets %s)",
                          int_fields[j].name, *int_at(m, int_fields[j].offset), int_fields[i].name);
        assert_str_tagged(m, "outer");
    }
}
END_TEST

START_TEST(test_merge_inner_wins_everywhere)
{
    blinkauth_config_t *m = blinkauth_config_merge(unit_pool, all_set("outer", 1000), all_set("inner", 2000));

    assert_str_tagged(m, "inner");
    assert_int_based(m, 2000);
}
END_TEST

START_TEST(test_merge_both_unset_stays_unset)
{
    blinkauth_config_t *m = blinkauth_config_merge(unit_pool, blinkauth_config_create(unit_pool, NULL),
                                                   blinkauth_config_create(unit_pool, NULL));

    assert_unset(m, 0);
    /* ...so the getters still give the defaults. */
    ck_assert_int_eq(blinkauth_config_state_timeout(m), BLINKAUTH_DEFAULT_STATE_TIMEOUT);
    ck_assert_int_eq(blinkauth_config_timeout(m), BLINKAUTH_DEFAULT_TIMEOUT);
}
END_TEST

START_TEST(test_check_url_accepts)
{
    static const char *good[] = {
        "https://idp.example/oauth/authorize",
        "http://127.0.0.1:8080/token?x=1&y=%20",
        "HTTPS://IDP.EXAMPLE",
        "https://a",
        "http://[::1]:8443/x",
    };
    int i;

    for (i = 0; i < UNIT_COUNT(good); i++) {
        const char *why = blinkauth_config_check_url(unit_pool, good[i]);
        ck_assert_msg(why == NULL, "refused %s: %s", good[i], why);
    }
}
END_TEST

START_TEST(test_check_url_refuses)
{
    static const struct {
        const char *url;
        const char *says;
    } bad[] = {
        {"ftp://idp.example/x", "not an absolute http"},
        {"/oauth/authorize", "not an absolute http"},
        {"idp.example/oauth", "not an absolute http"},
        {"", "not an absolute http"},
        {"javascript:alert(1)", "not an absolute http"},
        {"https:/idp.example", "not an absolute http"},
        {"https://", "no host"},
        {"http://", "no host"},
        {"https:///path", "no host"},
        {"https://?q=1", "no host"},
        {"https://#frag", "no host"},
        {"https://idp.example/a b", "blanks"},
        {"https://idp.example/a\tb", "control"},
        {"https://idp.example/a\nb", "control"},
        {"https://idp.example/\x7f", "control"},
        {"https://idp.example/\"x\"", "blanks"},
        {"https://idp.example/<x>", "blanks"},
        {"https://idp.example/oauth#frag", "#fragment"},
        {"https://idp.example/oauth?x=1#", "#fragment"},
    };
    int i;

    for (i = 0; i < UNIT_COUNT(bad); i++) {
        const char *why = blinkauth_config_check_url(unit_pool, bad[i].url);
        ck_assert_msg(why != NULL, "accepted \"%s\"", bad[i].url);
        ck_assert_msg(strstr(why, bad[i].says) != NULL, "\"%s\" does not say \"%s\"", why, bad[i].says);
    }
}
END_TEST

START_TEST(test_check_url_length)
{
    /* 2048 bytes in all is the longest accepted. */
    const char *max = apr_pstrcat(unit_pool, "https://idp.example/", unit_filled(BLINKAUTH_URL_MAX - 20, 'a'), NULL);
    const char *over = apr_pstrcat(unit_pool, max, "a", NULL);
    const char *why;

    ck_assert_uint_eq(strlen(max), 2048);
    ck_assert_ptr_null(blinkauth_config_check_url(unit_pool, max));
    why = blinkauth_config_check_url(unit_pool, over);
    ck_assert_ptr_nonnull(why);
    ck_assert_ptr_nonnull(strstr(why, "longer than 2048 bytes"));
}
END_TEST

START_TEST(test_parse_seconds_range)
{
    static const struct {
        const char *text;
        int min, max, want;
    } good[] = {
        {"1", 1, 86400, 1},
        {"86400", 1, 86400, 86400},
        {"600", 1, 86400, 600},
        {"0", 0, 0, 0},
    };
    int i, out = -5;

    for (i = 0; i < UNIT_COUNT(good); i++) {
        ck_assert_ptr_null(blinkauth_config_parse_seconds(unit_pool, good[i].text, good[i].min, good[i].max, &out));
        ck_assert_int_eq(out, good[i].want);
    }
}
END_TEST

START_TEST(test_parse_seconds_refused)
{
    static const char *bad[] = {
        "0",
        "86401",
        "-1",
        "",
        "abc",
        "10s",
        "1.5",
        "1e3",
        "10 ",
        "0x10",
        "ten",
        "2147483648",
        "4294967297",
        "99999999999999999999",
        "-99999999999999999999",
    };
    int i;

    for (i = 0; i < UNIT_COUNT(bad); i++) {
        int out = -5;
        const char *why = blinkauth_config_parse_seconds(unit_pool, bad[i], 1, 86400, &out);
        ck_assert_msg(why != NULL, "accepted \"%s\" as %d", bad[i], out);
        ck_assert_int_eq(out, -5);
        ck_assert_str_eq(why, apr_psprintf(unit_pool, "'%s' is not a whole number of seconds from 1 to 86400", bad[i]));
    }
}
END_TEST

START_TEST(test_read_secret_inline)
{
    assert_secret("s3cret", "s3cret");
    assert_secret("with spaces and caf\xc3\xa9", "with spaces and caf\xc3\xa9");
    assert_secret(unit_filled(BLINKAUTH_SECRET_MAX, 'k'), unit_filled(BLINKAUTH_SECRET_MAX, 'k'));
    assert_secret_refused("", "empty");
    assert_secret_refused("a\tb", "control");
    assert_secret_refused("ab\n", "control");
    assert_secret_refused("a\x7f", "control");
    assert_secret_refused(unit_filled(BLINKAUTH_SECRET_MAX + 1, 'k'), "longer than 4096");
}
END_TEST

START_TEST(test_read_secret_file)
{
    assert_secret(secret_file("s3cret", 6), "s3cret");
    assert_secret(secret_file("s3cret\n", 7), "s3cret");
    assert_secret(secret_file("s3cret\r\n", 8), "s3cret");
    assert_secret(secret_file("two words", 9), "two words");
}
END_TEST

START_TEST(test_read_secret_file_refused)
{
    assert_secret_refused("file:/nonexistent/blinkauth/secret",
                          "cannot read secret file '/nonexistent/blinkauth/secret'");
    assert_secret_refused("file:", "cannot read secret file ''");
    assert_secret_refused(secret_file("", 0), "is empty");
    assert_secret_refused(secret_file("\n", 1), "is empty");
    assert_secret_refused(secret_file("\r\n", 2), "is empty");
    assert_secret_refused(secret_file("s3cret\n\n", 8), "control characters");
    assert_secret_refused(secret_file("line1\nline2\n", 12), "control characters");
    assert_secret_refused(secret_file("a\tb", 3), "control characters");
    assert_secret_refused(secret_file("a\0b", 3), "control characters");
}
END_TEST

START_TEST(test_read_secret_blanks)
{
    /* httpd strips the blanks around a header's value: such a Proxy Secret could never match. */
    assert_secret_refused("s3cret ", "the secret ends with a blank");
    assert_secret_refused(" s3cret", "the secret starts with a blank");
    assert_secret_refused(" ", "with a blank");
    assert_secret_refused(secret_file("s3cret \n", 8), "ends with a blank");
    assert_secret_refused(secret_file(" s3cret\n", 8), "starts with a blank");
    assert_secret("in between is fine", "in between is fine");
}
END_TEST

/* Writes an executable shell script with body to a fresh temporary file, deleted with unit_pool; returns
 * "exec:<path>". */
static const char *secret_program(const char *body)
{
    const char *file = secret_file(apr_pstrcat(unit_pool, "#!/bin/sh\n", body, NULL), strlen(body) + 10);

    ck_assert_int_eq(chmod(file + 5, 0700), 0);
    return apr_pstrcat(unit_pool, "exec:", file + 5, NULL);
}

START_TEST(test_read_secret_exec)
{
    assert_secret(secret_program("echo from-a-program\n"), "from-a-program");
    assert_secret(secret_program("printf 'no-line-end'\n"), "no-line-end");
    assert_secret(secret_program("printf 'crlf\\r\\n'\n"), "crlf");
    assert_secret_refused(secret_program("echo oops >&2; exit 3\n"), "failed (exit status 3)");
    assert_secret_refused(secret_program("exit 0\n"), "is empty");
    assert_secret_refused(secret_program("echo ' padded'\n"), "starts with a blank");
    assert_secret_refused(secret_program("echo one; echo two\n"), "control characters");
    assert_secret_refused(secret_program("head -c 5000 /dev/zero | tr '\\0' k\n"), "longer than 4096");
    assert_secret_refused(secret_program("kill -9 $$\n"), "failed (signal 9)");
    assert_secret_refused("exec:/nonexistent/blinkauth/program", "cannot run secret program '/nonexistent");
}
END_TEST

START_TEST(test_url_is_loopback)
{
    static const struct {
        const char *url;
        int want;
    } cases[] = {
        {"http://127.0.0.1/t", 1},
        {"http://127.0.0.1:8081/t", 1},
        {"http://127.1.2.3", 1},
        {"http://localhost:80/", 1},
        {"http://LOCALHOST/", 1},
        {"http://[::1]:9/r", 1},
        {"http://[::1]/r", 1},
        {"http://u:p@127.0.0.1/x", 1},
        {"http://idp.example/t", 0},
        {"http://127.0.0.1.evil.example/", 0},
        {"http://localhost.evil.example/", 0},
        {"http://128.0.0.1/", 0},
        {"http://[::2]/", 0},
        {"http://127.0.0.1@evil.example/", 0},
        {"http://10.0.0.5:6379/", 0},
        {"no-scheme", 0},
    };
    int i;

    for (i = 0; i < UNIT_COUNT(cases); i++)
        ck_assert_msg(blinkauth_config_url_is_loopback(cases[i].url) == cases[i].want, "%s: wanted %d", cases[i].url,
                      cases[i].want);
}
END_TEST

START_TEST(test_check_backchannel_url)
{
    const char *why;

    ck_assert_ptr_null(blinkauth_config_check_backchannel_url(unit_pool, "https://idp.example/token"));
    ck_assert_ptr_null(blinkauth_config_check_backchannel_url(unit_pool, "http://127.0.0.1:8081/token"));
    ck_assert_ptr_null(blinkauth_config_check_backchannel_url(unit_pool, "HTTP://localhost/token"));
    why = blinkauth_config_check_backchannel_url(unit_pool, "http://idp.example/token");
    ck_assert_ptr_nonnull(why);
    ck_assert_msg(strstr(why, "in clear: use https://") != NULL, "%s", why);
    why = blinkauth_config_check_backchannel_url(unit_pool, "ftp://idp.example/token");
    ck_assert_msg(why && strstr(why, "is not an absolute http") != NULL, "%s", why ? why : "(accepted)");
}
END_TEST

START_TEST(test_read_secret_file_size)
{
    char *max = unit_filled(BLINKAUTH_SECRET_MAX, 'k');
    char *body;

    assert_secret(secret_file(max, BLINKAUTH_SECRET_MAX), max);
    assert_secret(secret_file(apr_pstrcat(unit_pool, max, "\n", NULL), BLINKAUTH_SECRET_MAX + 1), max);
    assert_secret(secret_file(apr_pstrcat(unit_pool, max, "\r\n", NULL), BLINKAUTH_SECRET_MAX + 2), max);
    assert_secret_refused(secret_file(unit_filled(BLINKAUTH_SECRET_MAX + 1, 'k'), BLINKAUTH_SECRET_MAX + 1),
                          "longer than 4096");
    assert_secret_refused(secret_file(unit_filled(100000, 'k'), 100000), "longer than 4096");
    /* What lies past the first 4096 bytes and a line end must not be silently cut off. */
    body = apr_pstrcat(unit_pool, max, "\nmore", NULL);
    assert_secret_refused(secret_file(body, strlen(body)), "secret file");
    body = apr_pstrcat(unit_pool, unit_filled(BLINKAUTH_SECRET_MAX - 1, 'k'), "\r\nmore", NULL);
    assert_secret_refused(secret_file(body, strlen(body)), "secret file");
}
END_TEST

START_TEST(test_check_auth_id)
{
    static const char *bad[] = {"", "a b", "a/b", "a?b", "a#b", "a%b", "a\tb", "a\nb", "a\x7f", "../x"};
    int i;

    ck_assert_ptr_null(blinkauth_config_check_auth_id(unit_pool, "a-1234"));
    ck_assert_ptr_null(blinkauth_config_check_auth_id(unit_pool, "A_b.c~d:e@f"));
    ck_assert_ptr_null(blinkauth_config_check_auth_id(unit_pool, unit_filled(BLINKAUTH_ID_MAX, 'x')));
    ck_assert_ptr_nonnull(blinkauth_config_check_auth_id(unit_pool, unit_filled(BLINKAUTH_ID_MAX + 1, 'x')));
    ck_assert_ptr_nonnull(blinkauth_config_check_auth_id(unit_pool, NULL));
    for (i = 0; i < UNIT_COUNT(bad); i++) {
        const char *why = blinkauth_config_check_auth_id(unit_pool, bad[i]);
        ck_assert_msg(why != NULL, "accepted bad[%d]", i);
        ck_assert_ptr_nonnull(strstr(why, "is not an Auth ID: 1 to 256 characters"));
    }
}
END_TEST

START_TEST(test_missing_in_order)
{
    blinkauth_config_t *cfg = blinkauth_config_create(unit_pool, "/blink");
    int i;

    for (i = 0; i < UNIT_COUNT(required); i++) {
        ck_assert_str_eq(blinkauth_config_missing(cfg), required[i].directive);
        *str_at(cfg, required[i].offset) = required[i].value;
    }
    ck_assert_ptr_null(blinkauth_config_missing(cfg));
}
END_TEST

START_TEST(test_missing_each_alone)
{
    int i;

    ck_assert_ptr_null(blinkauth_config_missing(complete()));
    for (i = 0; i < UNIT_COUNT(required); i++) {
        blinkauth_config_t *cfg = complete();
        *str_at(cfg, required[i].offset) = NULL;
        ck_assert_pstr_eq(blinkauth_config_missing(cfg), required[i].directive);
    }
}
END_TEST

START_TEST(test_missing_with_metadata_url)
{
    blinkauth_config_t *cfg = complete();

    /* BlinkAuthProviderMetadataURL stands for both endpoints; explicit ones may stay alongside it. */
    cfg->metadata_url = "https://idp.example/.well-known/openid-configuration";
    ck_assert_ptr_null(blinkauth_config_missing(cfg));
    cfg->authorize_url = NULL;
    ck_assert_ptr_null(blinkauth_config_missing(cfg));
    cfg->token_url = NULL;
    ck_assert_ptr_null(blinkauth_config_missing(cfg));
    /* ...but not for the app's other required directives. */
    cfg->client_id = NULL;
    ck_assert_str_eq(blinkauth_config_missing(cfg), "BlinkAuthClientID");
}
END_TEST

START_TEST(test_getters_defaults)
{
    blinkauth_config_t *cfg = blinkauth_config_create(unit_pool, "/blink");

    ck_assert_str_eq(blinkauth_config_api_url(cfg), "https://api.joinblink.com");
    ck_assert_str_eq(blinkauth_config_account_id_claim(cfg), "sub");
    ck_assert_int_eq(blinkauth_config_state_timeout(cfg), 600);
    ck_assert_int_eq(blinkauth_config_timeout(cfg), 10);
    ck_assert_str_eq(blinkauth_config_pass_token(cfg), "Authorization");
    ck_assert_int_eq(blinkauth_config_refresh_before(cfg), 60);
}
END_TEST

START_TEST(test_getters_set_values)
{
    blinkauth_config_t *cfg = blinkauth_config_create(unit_pool, "/blink");

    cfg->api_url = "http://127.0.0.1:9000";
    cfg->account_id_claim = "email";
    cfg->state_timeout = 30;
    cfg->timeout = 3;
    ck_assert_str_eq(blinkauth_config_api_url(cfg), "http://127.0.0.1:9000");
    ck_assert_str_eq(blinkauth_config_account_id_claim(cfg), "email");
    ck_assert_int_eq(blinkauth_config_state_timeout(cfg), 30);
    ck_assert_int_eq(blinkauth_config_timeout(cfg), 3);
    cfg->pass_token = "env";
    cfg->refresh_before = 0;
    ck_assert_str_eq(blinkauth_config_pass_token(cfg), "env");
    ck_assert_int_eq(blinkauth_config_refresh_before(cfg), 0);
}
END_TEST

START_TEST(test_check_pass_token)
{
    static const char *good[] = {"env", "Authorization", "authorization", "X-Service-Token", "x_tok.1~"};
    static const char *bad[] = {"",
                                "X Token",
                                "X:Token",
                                "Host",
                                "content-length",
                                "Transfer-Encoding",
                                "Connection",
                                "blink-auth-proxysecret",
                                "Blink-Auth-Anything",
                                "X-\xc3\xa9"};
    int i;

    for (i = 0; i < UNIT_COUNT(good); i++)
        ck_assert_msg(blinkauth_config_check_pass_token(unit_pool, good[i]) == NULL, "%s refused", good[i]);
    for (i = 0; i < UNIT_COUNT(bad); i++)
        ck_assert_msg(blinkauth_config_check_pass_token(unit_pool, bad[i]) != NULL, "%s taken", bad[i]);
    ck_assert_ptr_nonnull(blinkauth_config_check_pass_token(unit_pool, unit_filled(65, 'x')));
    ck_assert_ptr_null(blinkauth_config_check_pass_token(unit_pool, unit_filled(64, 'x')));
}
END_TEST

START_TEST(test_is_used)
{
    blinkauth_config_t *cfg = blinkauth_config_create(unit_pool, "/blink");

    ck_assert_int_eq(blinkauth_config_is_used(cfg), 0);
    cfg->defined_at = "blink.conf:12";
    ck_assert_int_eq(blinkauth_config_is_used(cfg), 1);
}
END_TEST

/* Runs the config suite. */
int main(void)
{
    Suite *s = suite_create("config");

    unit_add_tcase(s, "core", NULL, NULL,
                   UNIT_TESTS(test_field_tables_complete, test_create_all_unset, test_merge_string_fields,
                              test_merge_pairs, test_merge_int_fields, test_merge_inner_wins_everywhere,
                              test_merge_both_unset_stays_unset, test_check_url_accepts, test_check_url_refuses,
                              test_check_url_length, test_parse_seconds_range, test_parse_seconds_refused,
                              test_read_secret_inline, test_read_secret_file, test_read_secret_file_refused,
                              test_read_secret_file_size, test_read_secret_blanks, test_read_secret_exec,
                              test_url_is_loopback, test_check_backchannel_url, test_check_auth_id,
                              test_missing_in_order, test_missing_each_alone, test_missing_with_metadata_url,
                              test_getters_defaults, test_getters_set_values, test_is_used, test_check_pass_token));
    return unit_run(s);
}
