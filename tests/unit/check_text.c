/* Unit tests of modules/text.c: validation, percent-encoding, HTML escaping and form parsing. */
#include <stdarg.h>
#include <string.h>
#include <apr_strings.h>
#include <apr_tables.h>

#include "unit.h"
#include "text.h"

/* The number of entries of a parsed form. */
static int form_size(apr_table_t *form)
{
    return apr_table_elts(form)->nelts;
}

/* The i-th (name, value) of a parsed form, asserted equal to want_name and want_value. */
static void assert_entry(apr_table_t *form, int i, const char *want_name, const char *want_value)
{
    const apr_table_entry_t *e = (const apr_table_entry_t *)apr_table_elts(form)->elts;

    ck_assert_int_lt(i, form_size(form));
    ck_assert_str_eq(e[i].key, want_name);
    ck_assert_str_eq(e[i].val, want_value);
}

/* Parses query and asserts that it gives exactly the n entries that follow as name, value, name, value... */
static void assert_form(const char *query, int n, ...)
{
    apr_table_t *f = blinkauth_text_form_parse(unit_pool, query);
    va_list ap;
    int i;

    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(form_size(f), n);
    va_start(ap, n);
    for (i = 0; i < n; i++) {
        const char *name = va_arg(ap, const char *);
        assert_entry(f, i, name, va_arg(ap, const char *));
    }
    va_end(ap);
}

START_TEST(test_is_clean_lengths)
{
    ck_assert_int_eq(blinkauth_text_is_clean(NULL, 10), 0);
    ck_assert_int_eq(blinkauth_text_is_clean("", 10), 0);
    ck_assert_int_eq(blinkauth_text_is_clean("a", 1), 1);
    ck_assert_int_eq(blinkauth_text_is_clean("ab", 1), 0);
    ck_assert_int_eq(blinkauth_text_is_clean(unit_filled(BLINKAUTH_ID_MAX, 'x'), BLINKAUTH_ID_MAX), 1);
    ck_assert_int_eq(blinkauth_text_is_clean(unit_filled(BLINKAUTH_ID_MAX + 1, 'x'), BLINKAUTH_ID_MAX), 0);
}
END_TEST

START_TEST(test_is_clean_control_characters)
{
    static const char *bad[] = {"\t", "a\tb", "a\nb", "a\r", "\x01", "x\x1f", "x\x7f", "\x7fx", "\x1b[31m"};
    int i;

    for (i = 0; i < UNIT_COUNT(bad); i++)
        ck_assert_msg(blinkauth_text_is_clean(bad[i], 100) == 0, "accepted bad[%d]", i);
    ck_assert_int_eq(blinkauth_text_is_clean("a b ~!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}", 100), 1);
}
END_TEST

START_TEST(test_is_clean_utf8_allowed)
{
    ck_assert_int_eq(blinkauth_text_is_clean("caf\xc3\xa9", 100), 1);      /* é */
    ck_assert_int_eq(blinkauth_text_is_clean("\xe2\x82\xac 5", 100), 1);   /* € */
    ck_assert_int_eq(blinkauth_text_is_clean("\xf0\x9f\x94\x91", 100), 1); /* 🔑 */
    ck_assert_int_eq(blinkauth_text_is_clean("\x80\xff", 100), 1);         /* any byte >= 0x80 */
    ck_assert_int_eq(blinkauth_text_is_clean("\xc3\xa9", 1), 0);           /* max counts bytes */
}
END_TEST

START_TEST(test_is_utf8)
{
    ck_assert_int_eq(blinkauth_text_is_utf8(""), 1);
    ck_assert_int_eq(blinkauth_text_is_utf8("plain ascii"), 1);
    ck_assert_int_eq(blinkauth_text_is_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), 1); /* 2, 3, 4 bytes */
    ck_assert_int_eq(blinkauth_text_is_utf8("\xf4\x8f\xbf\xbf"), 1);                          /* U+10FFFF */
    ck_assert_int_eq(blinkauth_text_is_utf8("caf\xe9"), 0);                                   /* Latin-1 */
    ck_assert_int_eq(blinkauth_text_is_utf8("\xc0\xaf"), 0);                                  /* overlong '/' */
    ck_assert_int_eq(blinkauth_text_is_utf8("\xe0\x80\xaf"), 0);                              /* overlong, 3 bytes */
    ck_assert_int_eq(blinkauth_text_is_utf8("\xed\xa0\x80"), 0);                              /* surrogate U+D800 */
    ck_assert_int_eq(blinkauth_text_is_utf8("\xf4\x90\x80\x80"), 0);                          /* past U+10FFFF */
    ck_assert_int_eq(blinkauth_text_is_utf8("\xc3"), 0);                                      /* truncated */
    ck_assert_int_eq(blinkauth_text_is_utf8("\x80"), 0);                                      /* lone continuation */
    ck_assert_int_eq(blinkauth_text_is_utf8("\xf8\x88\x80\x80\x80"), 0);                      /* 5-byte form */
}
END_TEST

START_TEST(test_is_b64url)
{
    ck_assert_int_eq(blinkauth_text_is_b64url("AZaz09-_", 100), 1);
    ck_assert_int_eq(blinkauth_text_is_b64url(NULL, 100), 0);
    ck_assert_int_eq(blinkauth_text_is_b64url("", 100), 0);
    ck_assert_int_eq(blinkauth_text_is_b64url("abc", 3), 1);
    ck_assert_int_eq(blinkauth_text_is_b64url("abcd", 3), 0);
    ck_assert_int_eq(blinkauth_text_is_b64url("a+b", 100), 0);
    ck_assert_int_eq(blinkauth_text_is_b64url("a/b", 100), 0);
    ck_assert_int_eq(blinkauth_text_is_b64url("ab=", 100), 0);
    ck_assert_int_eq(blinkauth_text_is_b64url("a.b", 100), 0);
    ck_assert_int_eq(blinkauth_text_is_b64url("a b", 100), 0);
    ck_assert_int_eq(blinkauth_text_is_b64url("a\nb", 100), 0);
    ck_assert_int_eq(blinkauth_text_is_b64url("caf\xc3\xa9", 100), 0);
}
END_TEST

START_TEST(test_pct_encode)
{
    ck_assert_str_eq(blinkauth_text_pct_encode(unit_pool, ""), "");
    ck_assert_str_eq(blinkauth_text_pct_encode(unit_pool, "AZaz09-._~"), "AZaz09-._~");
    ck_assert_str_eq(blinkauth_text_pct_encode(unit_pool, "a b"), "a%20b");
    ck_assert_str_eq(blinkauth_text_pct_encode(unit_pool, "&"), "%26");
    ck_assert_str_eq(blinkauth_text_pct_encode(unit_pool, "/"), "%2F");
    ck_assert_str_eq(blinkauth_text_pct_encode(unit_pool, "%"), "%25");
    ck_assert_str_eq(blinkauth_text_pct_encode(unit_pool, "+=?#"), "%2B%3D%3F%23");
    ck_assert_str_eq(blinkauth_text_pct_encode(unit_pool, "caf\xc3\xa9"), "caf%C3%A9");
    ck_assert_str_eq(blinkauth_text_pct_encode(unit_pool, "\x01\x7f\xff"), "%01%7F%FF");
    ck_assert_str_eq(blinkauth_text_pct_encode(unit_pool, "https://a.example/cb?x=1"),
                     "https%3A%2F%2Fa.example%2Fcb%3Fx%3D1");
}
END_TEST

/* A percent-decoding case: the input, whether '+' stands for a space (form), and the output. */
typedef struct {
    const char *in;
    int form;
    const char *want;
} pct_case_t;

/* Asserts that each of the n cases decodes to its output. */
static void assert_pct_decodes(const pct_case_t *cases, int n)
{
    int i;

    for (i = 0; i < n; i++)
        ck_assert_str_eq(blinkauth_text_pct_decode(unit_pool, cases[i].in, cases[i].form), cases[i].want);
}

START_TEST(test_pct_decode)
{
    static const pct_case_t cases[] = {
        {"", 0, ""},         {"plain", 0, "plain"},           {"a%20b", 0, "a b"},
        {"%2f%2F", 0, "//"}, {"caf%C3%A9", 0, "caf\xc3\xa9"}, {"%25%32%30", 0, "%20"}, /* decoded once only */
        {"%FF", 0, "\xff"},
    };

    assert_pct_decodes(cases, UNIT_COUNT(cases));
}
END_TEST

START_TEST(test_pct_decode_form_plus)
{
    static const pct_case_t cases[] = {
        {"a+b", 1, "a b"},
        {"a+b", 0, "a+b"},
        {"a%2Bb", 1, "a+b"},
        {"++", 1, "  "},
    };

    assert_pct_decodes(cases, UNIT_COUNT(cases));
}
END_TEST

START_TEST(test_pct_decode_malformed)
{
    static const char *bad[] = {"%", "a%", "%2", "a%2", "%zz", "%g0", "%0g", "%%20", "%-1", "% 2"};
    int i;

    for (i = 0; i < UNIT_COUNT(bad); i++) {
        ck_assert_msg(blinkauth_text_pct_decode(unit_pool, bad[i], 0) == NULL, "accepted \"%s\"", bad[i]);
        ck_assert_msg(blinkauth_text_pct_decode(unit_pool, bad[i], 1) == NULL, "accepted \"%s\" (form)", bad[i]);
    }
}
END_TEST

START_TEST(test_pct_decode_nul_rejected)
{
    ck_assert_ptr_null(blinkauth_text_pct_decode(unit_pool, "%00", 0));
    ck_assert_ptr_null(blinkauth_text_pct_decode(unit_pool, "abc%00def", 1));
    ck_assert_str_eq(blinkauth_text_pct_decode(unit_pool, "%01", 0), "\x01"); /* callers check is_clean */
}
END_TEST

START_TEST(test_html_escape)
{
    ck_assert_str_eq(blinkauth_text_html_escape(unit_pool, ""), "");
    ck_assert_str_eq(blinkauth_text_html_escape(unit_pool, "plain text"), "plain text");
    ck_assert_str_eq(blinkauth_text_html_escape(unit_pool, "&<>\"'"), "&amp;&lt;&gt;&quot;&#39;");
    ck_assert_str_eq(blinkauth_text_html_escape(unit_pool, "<script>alert('x')</script>"),
                     "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;");
    ck_assert_str_eq(blinkauth_text_html_escape(unit_pool, "&amp;"), "&amp;amp;");
    ck_assert_str_eq(blinkauth_text_html_escape(unit_pool, "caf\xc3\xa9"), "caf\xc3\xa9");
    ck_assert_str_eq(blinkauth_text_html_escape(unit_pool, "a\"b\" c='d'"), "a&quot;b&quot; c=&#39;d&#39;");
}
END_TEST

START_TEST(test_html_escape_worst_case_size)
{
    /* Every byte becomes 6 ("&quot;"): the buffer is sized for it. */
    const char *out = blinkauth_text_html_escape(unit_pool, unit_filled(1000, '"'));
    int i;

    ck_assert_uint_eq(strlen(out), 6000);
    for (i = 0; i < 1000; i++)
        ck_assert_int_eq(strncmp(out + i * 6, "&quot;", 6), 0);
}
END_TEST

START_TEST(test_form_parse)
{
    assert_form("code=abc&state=x%2Fy&scope=openid+email", 3, "code", "abc", "state", "x/y", "scope", "openid email");
}
END_TEST

START_TEST(test_form_parse_empty_values)
{
    assert_form("a=&b&c=1&&d=x=y", 4, "a", "", "b", "", "c", "1", "d", "x=y");
    ck_assert_int_eq(form_size(blinkauth_text_form_parse(unit_pool, "")), 0);
    ck_assert_int_eq(form_size(blinkauth_text_form_parse(unit_pool, NULL)), 0);
    ck_assert_int_eq(form_size(blinkauth_text_form_parse(unit_pool, "&&")), 0);
}
END_TEST

START_TEST(test_form_parse_malformed)
{
    ck_assert_ptr_null(blinkauth_text_form_parse(unit_pool, "a=%zz"));
    ck_assert_ptr_null(blinkauth_text_form_parse(unit_pool, "a=1&b=%"));
    ck_assert_ptr_null(blinkauth_text_form_parse(unit_pool, "%4=1"));
    ck_assert_ptr_null(blinkauth_text_form_parse(unit_pool, "a=1&code=x%00y"));
}
END_TEST

START_TEST(test_form_single)
{
    apr_table_t *f = blinkauth_text_form_parse(unit_pool, "code=abc&state=s1&state=s2&e=&x=1&x=2&x=3");
    int repeated = 42;

    ck_assert_ptr_nonnull(f);
    ck_assert_str_eq(blinkauth_text_form_single(f, "code", &repeated), "abc");
    ck_assert_int_eq(repeated, 0);
    ck_assert_ptr_null(blinkauth_text_form_single(f, "state", &repeated));
    ck_assert_int_eq(repeated, 1);
    ck_assert_ptr_null(blinkauth_text_form_single(f, "x", &repeated));
    ck_assert_int_eq(repeated, 1);
    ck_assert_str_eq(blinkauth_text_form_single(f, "e", &repeated), "");
    ck_assert_int_eq(repeated, 0);
    repeated = 42;
    ck_assert_ptr_null(blinkauth_text_form_single(f, "absent", &repeated));
    ck_assert_int_eq(repeated, 0);
    ck_assert_str_eq(blinkauth_text_form_single(f, "code", NULL), "abc");
    ck_assert_ptr_null(blinkauth_text_form_single(f, "state", NULL));
}
END_TEST

START_TEST(test_form_single_repeated_empty)
{
    /* An empty first value still counts as a value: "state=&state=x" is repeated. */
    apr_table_t *f = blinkauth_text_form_parse(unit_pool, "state=&state=x");
    int repeated = 0;

    ck_assert_ptr_null(blinkauth_text_form_single(f, "state", &repeated));
    ck_assert_int_eq(repeated, 1);
}
END_TEST

START_TEST(test_query_redact)
{
    ck_assert_ptr_null(blinkauth_text_query_redact(unit_pool, NULL, "code"));
    ck_assert_str_eq(blinkauth_text_query_redact(unit_pool, "code=abc&state=s", "code"), "code=REDACTED&state=s");
    ck_assert_str_eq(blinkauth_text_query_redact(unit_pool, "state=s&code=&code", "code"),
                     "state=s&code=REDACTED&code");
    ck_assert_str_eq(blinkauth_text_query_redact(unit_pool, "xcode=1&codex=2&&", "code"), "xcode=1&codex=2&&");
    /* A '?' or a space is part of a bare query's value (found by fuzzing: the code stayed in %q). */
    ck_assert_str_eq(blinkauth_text_query_redact(unit_pool, "code=ab?cd&state=s", "code"), "code=REDACTED&state=s");
    ck_assert_str_eq(blinkauth_text_query_redact(unit_pool, "code=ab cd&state=s", "code"), "code=REDACTED&state=s");
    /* The name as the callback decodes it. */
    ck_assert_str_eq(blinkauth_text_query_redact(unit_pool, "%63ode=abc&c%6fde+=x", "code"),
                     "%63ode=REDACTED&c%6fde+=x");
    /* ... and, as apr_table_get finds it, in any ASCII case (found by fuzzing). */
    ck_assert_str_eq(blinkauth_text_query_redact(unit_pool, "CODE=abc&coDe=d&%43ode=e", "code"),
                     "CODE=REDACTED&coDe=REDACTED&%43ode=REDACTED");
}
END_TEST

START_TEST(test_uri_redact)
{
    ck_assert_ptr_null(blinkauth_text_uri_redact(unit_pool, NULL, "code"));
    ck_assert_str_eq(blinkauth_text_uri_redact(unit_pool, "/blink/callback", "code"), "/blink/callback");
    ck_assert_str_eq(blinkauth_text_uri_redact(unit_pool, "/cb?state=s&code=c?d", "code"), "/cb?state=s&code=REDACTED");
    ck_assert_str_eq(blinkauth_text_uri_redact(unit_pool, "GET /cb?code=abc&state=s HTTP/1.1", "code"),
                     "GET /cb?code=REDACTED&state=s HTTP/1.1");
    ck_assert_str_eq(blinkauth_text_uri_redact(unit_pool, "GET /cb?code=ab cd HTTP/1.1", "code"),
                     "GET /cb?code=REDACTED HTTP/1.1");
    ck_assert_str_eq(blinkauth_text_uri_redact(unit_pool, "GET /cb?code=ab cd", "code"), "GET /cb?code=REDACTED");
}
END_TEST

START_TEST(test_log_safe)
{
    ck_assert_str_eq(blinkauth_text_log_safe(unit_pool, "The user said no", 200), "The user said no");
    ck_assert_str_eq(blinkauth_text_log_safe(unit_pool, "a\nb\r\tc\x7f\"d\\e", 200), "a?b??c??d?e");
    ck_assert_str_eq(blinkauth_text_log_safe(unit_pool, "caf\xc3\xa9", 200), "caf??");
    ck_assert_str_eq(blinkauth_text_log_safe(unit_pool, "abcdef", 3), "abc...");
    ck_assert_str_eq(blinkauth_text_log_safe(unit_pool, "abc", 3), "abc");
    ck_assert_str_eq(blinkauth_text_log_safe(unit_pool, "", 3), "");
}
END_TEST

START_TEST(test_url_split)
{
    static const struct {
        const char *url;
        int scheme;
        const char *authority, *host, *path; /* the rest of the URL from where each part begins */
    } cases[] = {
        {"https://u:p@idp.example:8443/a/b?q=1#f", 1, "u:p@idp.example:8443/a/b?q=1#f", "idp.example:8443/a/b?q=1#f",
         "/a/b?q=1#f"},
        {"http://127.0.0.1", 1, "127.0.0.1", "127.0.0.1", ""},
        {"http://[::1]:9?x", 1, "[::1]:9?x", "[::1]:9?x", "?x"},
        {"http://a@b@c/", 1, "a@b@c/", "c/", "/"},
        {"idp.example/p://x", 0, "idp.example/p://x", "idp.example/p://x", "/p://x"},
    };
    int i;

    for (i = 0; i < UNIT_COUNT(cases); i++) {
        blinkauth_url_parts_t u;
        ck_assert_int_eq(blinkauth_text_url_split(cases[i].url, &u), cases[i].scheme);
        ck_assert_str_eq(u.authority, cases[i].url + strlen(cases[i].url) - strlen(cases[i].authority));
        ck_assert_str_eq(u.host, cases[i].url + strlen(cases[i].url) - strlen(cases[i].host));
        ck_assert_str_eq(u.path, cases[i].url + strlen(cases[i].url) - strlen(cases[i].path));
    }
}
END_TEST

/* Runs the text suite. */
int main(void)
{
    Suite *s = suite_create("text");

    unit_add_tcase(s, "core", NULL, NULL,
                   UNIT_TESTS(test_is_clean_lengths, test_is_clean_control_characters, test_is_clean_utf8_allowed,
                              test_is_utf8, test_is_b64url, test_pct_encode, test_pct_decode, test_pct_decode_form_plus,
                              test_pct_decode_malformed, test_pct_decode_nul_rejected, test_html_escape,
                              test_html_escape_worst_case_size, test_form_parse, test_form_parse_empty_values,
                              test_form_parse_malformed, test_form_single, test_form_single_repeated_empty,
                              test_query_redact, test_uri_redact, test_log_safe, test_url_split));
    return unit_run(s);
}
