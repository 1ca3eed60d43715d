/* Unit tests of modules/envelope.c (JSON envelopes), modules/page.c (HTML pages) and modules/json.c (jansson tied to
 * pools). */
#include <string.h>
#include <apr_strings.h>

#include "unit.h"
#include "envelope.h"
#include "page.h"
#include "json.h"

/* A string literal and its length in bytes (embedded NULs included), as two arguments. */
#define LIT(s) s, (sizeof(s) - 1)

/* Counts the occurrences of needle in haystack. */
static int count_of(const char *haystack, const char *needle)
{
    int n = 0;

    for (haystack = strstr(haystack, needle); haystack; haystack = strstr(haystack + 1, needle))
        n++;
    return n;
}

/* Parses text and asserts it is refused, with a reason starting "not JSON". */
static void assert_parse_refused(const char *text, apr_size_t len)
{
    const char *why = NULL;

    ck_assert_msg(blinkauth_json_parse(unit_pool, text, len, &why) == NULL, "accepted %s", text);
    ck_assert_ptr_nonnull(why);
    ck_assert_msg(strncmp(why, "not JSON (", 10) == 0, "why is \"%s\"", why);
}

START_TEST(test_json_ok_with_data)
{
    json_t *data = json_pack("{s:s}", "authorization_url", "https://idp.example/authorize?a=b&c=%20");

    ck_assert_str_eq(blinkauth_envelope_ok(unit_pool, data),
                     "{\"code\":\"OK\",\"message\":\"OK\",\"data\":"
                     "{\"authorization_url\":\"https://idp.example/authorize?a=b&c=%20\"}}");
    /* data is not consumed: the envelope holds its own reference until the pool goes. */
    ck_assert_uint_eq(data->refcount, 2);
    apr_pool_clear(unit_pool);
    ck_assert_uint_eq(data->refcount, 1);
    json_decref(data);
}
END_TEST

START_TEST(test_json_ok_null_data)
{
    ck_assert_str_eq(blinkauth_envelope_ok(unit_pool, NULL), "{\"code\":\"OK\",\"message\":\"OK\",\"data\":{}}");
}
END_TEST

START_TEST(test_json_ok_empty_object)
{
    json_t *data = blinkauth_json_bind(unit_pool, json_object());

    ck_assert_str_eq(blinkauth_envelope_ok(unit_pool, data), "{\"code\":\"OK\",\"message\":\"OK\",\"data\":{}}");
}
END_TEST

START_TEST(test_json_error)
{
    ck_assert_str_eq(blinkauth_envelope_error(unit_pool, "UNAUTHORIZED", "The proxy secret is wrong.", NULL),
                     "{\"code\":\"UNAUTHORIZED\",\"message\":\"The proxy secret is wrong.\"}");
    ck_assert_str_eq(blinkauth_envelope_error(unit_pool, "BAD_REQUEST", "Say \"hi\"\n\\ caf\xc3\xa9 </x>", NULL),
                     "{\"code\":\"BAD_REQUEST\",\"message\":\"Say \\\"hi\\\"\\n\\\\ caf\xc3\xa9 </x>\"}");
}
END_TEST

/* The one-string answer (Connect's) is what jansson writes for the member's value, head and tail joined, whatever
 * either holds; NULL when either is not UTF-8. */
START_TEST(test_json_ok_string)
{
    static const char *const parts[][2] = {{"https://app.example/blink/start/", "QUJD-_x"},
                                           {"", ""},
                                           {"\"quoted\" \\ ", "tab\t, caf\xc3\xa9 \x01"},
                                           {"caf\xc3\xa9/", "\xe2\x82\xac"}};
    int i;

    for (i = 0; i < UNIT_COUNT(parts); i++) {
        const char *joined = apr_pstrcat(unit_pool, parts[i][0], parts[i][1], NULL);
        json_t *want = blinkauth_json_bind(unit_pool, json_pack("{s:s, s:s, s:{s:s}}", "code", "OK", "message", "OK",
                                                                "data", "authorization_url", joined));

        ck_assert_ptr_nonnull(want);
        ck_assert_str_eq(blinkauth_envelope_ok_string(unit_pool, "authorization_url", parts[i][0], parts[i][1]),
                         blinkauth_json_dump(unit_pool, want));
    }
    ck_assert_ptr_null(blinkauth_envelope_ok_string(unit_pool, "authorization_url", "\xff/", "x"));
    ck_assert_ptr_null(blinkauth_envelope_ok_string(unit_pool, "authorization_url", "https://a/", "\xc3"));
    ck_assert_ptr_null(blinkauth_envelope_ok_string(unit_pool, "authorization_url", NULL, "x"));
    ck_assert_ptr_null(blinkauth_envelope_ok_string(unit_pool, "authorization_url", "https://a/", NULL));
}
END_TEST

/* A flat object is what jansson writes for the same members: strings escaped, raw values as they are, members without
 * a value left out (the first one too), and nothing when a string is not UTF-8 or there are too many members. */
START_TEST(test_json_object_as_jansson)
{
    const blinkauth_json_member_t all[] = {
        {"v", "1", 1}, {"text", "say \"hi\"\n\\ caf\xc3\xa9", 0}, {"none", NULL, 0}, {"n", "1764567890123456", 1}};
    const blinkauth_json_member_t first_missing[] = {{"a", NULL, 0}, {"b", "x", 0}};
    const blinkauth_json_member_t bad[] = {{"a", "ok", 0}, {"b", "\xc3(", 0}};
    blinkauth_json_member_t many[BLINKAUTH_JSON_MEMBERS_MAX + 1];
    json_t *want =
        blinkauth_json_bind(unit_pool, json_pack("{s:i, s:s, s:I}", "v", 1, "text", "say \"hi\"\n\\ caf\xc3\xa9", "n",
                                                 (json_int_t)1764567890123456LL));
    int i;

    ck_assert_ptr_nonnull(want);
    ck_assert_str_eq(blinkauth_json_object(unit_pool, all, 4), blinkauth_json_dump(unit_pool, want));
    ck_assert_str_eq(blinkauth_json_object(unit_pool, first_missing, 2), "{\"b\":\"x\"}");
    ck_assert_str_eq(blinkauth_json_object(unit_pool, first_missing, 1), "{}");
    ck_assert_str_eq(blinkauth_json_object(unit_pool, all, 0), "{}");
    ck_assert_ptr_null(blinkauth_json_object(unit_pool, bad, 2));
    for (i = 0; i < UNIT_COUNT(many); i++)
        many[i] = all[0];
    ck_assert_ptr_nonnull(blinkauth_json_object(unit_pool, many, BLINKAUTH_JSON_MEMBERS_MAX));
    ck_assert_ptr_null(blinkauth_json_object(unit_pool, many, BLINKAUTH_JSON_MEMBERS_MAX + 1));
}
END_TEST

START_TEST(test_json_error_ref)
{
    ck_assert_str_eq(blinkauth_envelope_error(unit_pool, "CONFIG_ERROR", "See the log.", "Ab3dE_fG12"),
                     "{\"code\":\"CONFIG_ERROR\",\"message\":\"See the log.\",\"ref\":\"Ab3dE_fG12\"}");
    ck_assert_ptr_null(blinkauth_envelope_error(unit_pool, "E", "m", "\xff"));
}
END_TEST

START_TEST(test_page_ref)
{
    const char *page = blinkauth_page_html(unit_pool, "Not connected", "Try again.", "<Ab3dE_fG1");

    ck_assert_ptr_nonnull(strstr(page, "<p>Try again.</p>\n<p>Reference: <code>&lt;Ab3dE_fG1</code> \xe2\x80\x94 give "
                                       "this to your administrator.</p></body></html>\n"));
    ck_assert_int_eq(count_of(blinkauth_page_html(unit_pool, "Not connected", "Try again.", NULL), "Reference"), 0);
}
END_TEST

START_TEST(test_page)
{
    const char *page = blinkauth_page_html(unit_pool, "Connected", "You can close this window.", NULL);

    ck_assert_int_eq(strncmp(page, "<!DOCTYPE html>\n<html lang=\"en\">", 32), 0);
    ck_assert_ptr_nonnull(strstr(page, "<meta charset=\"utf-8\">"));
    ck_assert_ptr_nonnull(strstr(page, "<title>Connected</title>"));
    ck_assert_ptr_nonnull(strstr(page, "<h1>Connected</h1>\n<p>You can close this window.</p></body></html>\n"));
    ck_assert_int_eq(count_of(page, "<script"), 0);
}
END_TEST

START_TEST(test_page_escapes)
{
    const char *page =
        blinkauth_page_html(unit_pool, "<b>Error</b> & \"more\"", "Bad state <script>alert('x')</script>", NULL);

    ck_assert_ptr_nonnull(strstr(page, "<title>&lt;b&gt;Error&lt;/b&gt; &amp; &quot;more&quot;</title>"));
    ck_assert_ptr_nonnull(strstr(page, "<h1>&lt;b&gt;Error&lt;/b&gt; &amp; &quot;more&quot;</h1>"));
    ck_assert_ptr_nonnull(strstr(page, "<p>Bad state &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;</p>"));
    ck_assert_int_eq(count_of(page, "<script"), 0);
    ck_assert_int_eq(count_of(page, "<b>"), 0);
}
END_TEST

START_TEST(test_json_parse_ok)
{
    const char *why = NULL;
    json_t *j = blinkauth_json_parse(unit_pool, LIT("{\"a\":1,\"b\":[true,null]}"), &why);

    ck_assert_ptr_nonnull(j);
    ck_assert_ptr_null(why);
    ck_assert(json_is_object(j));
    ck_assert_int_eq(json_integer_value(json_object_get(j, "a")), 1);
    ck_assert(json_is_string(blinkauth_json_parse(unit_pool, LIT("\"x\""), NULL)));
    ck_assert(json_is_integer(blinkauth_json_parse(unit_pool, LIT(" 5 "), NULL)));
    /* Only len bytes are read. */
    ck_assert_ptr_nonnull(blinkauth_json_parse(unit_pool, "{}garbage", 2, NULL));
}
END_TEST

START_TEST(test_json_parse_trailing_garbage)
{
    assert_parse_refused(LIT("{\"a\":1} x"));
    assert_parse_refused(LIT("{\"a\":1}{\"b\":2}"));
    assert_parse_refused(LIT("[1]]"));
    assert_parse_refused(LIT("{}\0x"));
    ck_assert_ptr_null(blinkauth_json_parse(unit_pool, LIT("{} x"), NULL)); /* why may be NULL */
}
END_TEST

START_TEST(test_json_parse_duplicate_keys)
{
    assert_parse_refused(LIT("{\"a\":1,\"a\":2}"));
    assert_parse_refused(LIT("{\"o\":{\"k\":\"v\",\"k\":\"w\"}}"));
}
END_TEST

START_TEST(test_json_parse_not_json)
{
    assert_parse_refused(LIT(""));
    assert_parse_refused(LIT("not json"));
    assert_parse_refused(LIT("{\"a\":}"));
    assert_parse_refused(LIT("{'a':1}"));
    assert_parse_refused(LIT("\"\\u0000\""));
    assert_parse_refused(LIT("\"\xff\""));
}
END_TEST

START_TEST(test_json_string)
{
    json_t *o = blinkauth_json_parse(unit_pool, LIT("{\"s\":\"v\",\"n\":1,\"z\":null,\"e\":\"\"}"), NULL);
    json_t *a = blinkauth_json_parse(unit_pool, LIT("[\"s\"]"), NULL);

    ck_assert_ptr_nonnull(o);
    ck_assert_pstr_eq(blinkauth_json_string(o, "s"), "v");
    ck_assert_pstr_eq(blinkauth_json_string(o, "e"), "");
    ck_assert_ptr_null(blinkauth_json_string(o, "n"));
    ck_assert_ptr_null(blinkauth_json_string(o, "z"));
    ck_assert_ptr_null(blinkauth_json_string(o, "absent"));
    ck_assert_ptr_null(blinkauth_json_string(a, "s"));
    ck_assert_ptr_null(blinkauth_json_string(NULL, "s"));
}
END_TEST

START_TEST(test_json_dump)
{
    json_t *j = blinkauth_json_bind(unit_pool, json_pack("{s:[i,i], s:n, s:s}", "a", 1, 2, "b", "c", "/x"));

    ck_assert_str_eq(blinkauth_json_dump(unit_pool, j), "{\"a\":[1,2],\"b\":null,\"c\":\"/x\"}");
    ck_assert_str_eq(blinkauth_json_dump(unit_pool, blinkauth_json_bind(unit_pool, json_string("x"))), "\"x\"");
}
END_TEST

START_TEST(test_json_bind_releases)
{
    apr_pool_t *sub;
    json_t *j = json_object();

    /* An extra reference lets us watch the pool drop its own. */
    json_incref(j);
    ck_assert_int_eq(apr_pool_create(&sub, unit_pool), APR_SUCCESS);
    ck_assert_ptr_eq(blinkauth_json_bind(sub, j), j);
    ck_assert_uint_eq(j->refcount, 2);
    apr_pool_destroy(sub);
    ck_assert_uint_eq(j->refcount, 1);
    json_decref(j);
    ck_assert_ptr_null(blinkauth_json_bind(unit_pool, NULL));
}
END_TEST

START_TEST(test_json_bind_no_leak)
{
    /* Run under valgrind: all these values must go with the pool. */
    int i;

    for (i = 0; i < 100; i++) {
        json_t *j = blinkauth_json_bind(unit_pool, json_pack("{s:s, s:[i]}", "k", "v", "l", i));
        ck_assert_ptr_nonnull(j);
        ck_assert_ptr_nonnull(blinkauth_json_parse(unit_pool, LIT("{\"a\":[1,2,{\"b\":\"c\"}]}"), NULL));
        ck_assert_ptr_nonnull(blinkauth_envelope_ok(unit_pool, j));
        ck_assert_ptr_nonnull(blinkauth_envelope_error(unit_pool, "E", "m", NULL));
    }
}
END_TEST

START_TEST(test_json_quote_as_jansson)
{
    static const char *const texts[] = {"",
                                        "plain ascii, / and : and ?",
                                        "https://idp.example/authorize?client_id=a&state=x_y-z",
                                        "\"quoted\" and \\ backslash",
                                        "tab\there, new\nline, cr\r, bell\a, del\x7f, \x01 and \x1f",
                                        "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
                                        "\xc3\xa9\""};
    int i;

    /* The same text jansson writes for each, whether or not anything needs escaping. */
    for (i = 0; i < UNIT_COUNT(texts); i++) {
        json_t *j = blinkauth_json_bind(unit_pool, json_string(texts[i]));

        ck_assert_ptr_nonnull(j);
        ck_assert_str_eq(blinkauth_json_quote(unit_pool, texts[i]), blinkauth_json_dump(unit_pool, j));
    }
    ck_assert_ptr_null(blinkauth_json_quote(unit_pool, "not UTF-8 \xff"));
    ck_assert_ptr_null(blinkauth_json_quote(unit_pool, NULL));
}
END_TEST

/* Strings are scanned sixteen bytes at a time, the last ones with the block that ends the string: each kind of byte, at
 * each place of strings of 1 to 40 bytes (shorter than a block, within one, at its edges, in the last bytes), is
 * written as jansson writes it. */
START_TEST(test_json_quote_every_place)
{
    static const char *const kinds[] = {"\x01", "\x1f", " ",    "!",        "\"", "#", "[",
                                        "\\",   "]",    "\x7f", "\xc3\xa9", "\t", "/", "\xc2\x80"};
    char text[48];
    int kind, len, at;

    /* Up to past two blocks of sixteen: a block, the block that ends the text, and the bytes after a block. */
    for (kind = 0; kind < UNIT_COUNT(kinds); kind++)
        for (len = 1; len <= 40; len++)
            for (at = 0; at < len; at++) {
                apr_size_t k = strlen(kinds[kind]);
                json_t *j;

                memset(text, 'a', (apr_size_t)len);
                memcpy(text + at, kinds[kind], k);
                text[at + (int)k > len ? at + (int)k : len] = '\0';
                j = blinkauth_json_bind(unit_pool, json_string(text));
                ck_assert_ptr_nonnull(j);
                ck_assert_str_eq(blinkauth_json_quote(unit_pool, text), blinkauth_json_dump(unit_pool, j));
            }
    /* A byte that is not UTF-8 is refused wherever it is. */
    for (at = 0; at < 40; at++) {
        memset(text, 'a', 40);
        text[at] = '\xff';
        text[40] = '\0';
        ck_assert_ptr_null(blinkauth_json_quote(unit_pool, text));
        text[at] = '\x80';
        ck_assert_ptr_null(blinkauth_json_quote(unit_pool, text));
    }
}
END_TEST

/* Runs the envelope, page and json suite. */
int main(void)
{
    Suite *s = suite_create("envelope");

    unit_add_tcase(s, "envelope", NULL, NULL,
                   UNIT_TESTS(test_json_ok_with_data, test_json_ok_null_data, test_json_ok_empty_object,
                              test_json_error, test_page, test_page_escapes, test_json_error_ref, test_page_ref));
    unit_add_tcase(s, "json", NULL, NULL,
                   UNIT_TESTS(test_json_parse_ok, test_json_parse_trailing_garbage, test_json_parse_duplicate_keys,
                              test_json_parse_not_json, test_json_string, test_json_dump, test_json_bind_releases,
                              test_json_bind_no_leak, test_json_quote_as_jansson, test_json_quote_every_place,
                              test_json_ok_string, test_json_object_as_jansson));
    return unit_run(s);
}
