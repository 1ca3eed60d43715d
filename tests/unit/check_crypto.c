/* Unit tests of modules/crypto.c: base64url, random tokens, PKCE S256 and the secret comparison. */
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <apr_strings.h>

#include <openssl/evp.h>

#include "unit.h"
#include "crypto.h"
#include "text.h"

/* RFC 4648 section 10 test vectors, without padding (identical in base64 and base64url). */
static const struct {
    const char *plain;
    const char *encoded;
} rfc4648[] = {
    {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},          {"foo", "Zm9v"},
    {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"},
};

/* Decodes text and asserts the result is exactly the len bytes of want. */
static void assert_decodes_to(const char *text, const void *want, apr_size_t len)
{
    apr_size_t got_len = 12345;
    unsigned char *got = blinkauth_crypto_b64url_decode(unit_pool, text, &got_len);

    ck_assert_msg(got != NULL, "decode(\"%s\") failed", text);
    ck_assert_uint_eq(got_len, len);
    ck_assert_mem_eq(got, want, len);
    ck_assert_int_eq(got[len], '\0');
}

/* Asserts that decode refuses each of the n texts, leaving the length it was given alone. */
static void assert_decode_refuses(const char *const *bad, int n)
{
    apr_size_t len = 777;
    int i;

    for (i = 0; i < n; i++)
        ck_assert_msg(blinkauth_crypto_b64url_decode(unit_pool, bad[i], &len) == NULL, "accepted \"%s\"", bad[i]);
    ck_assert_uint_eq(len, 777);
}

START_TEST(test_b64url_rfc4648_encode)
{
    int i;

    for (i = 0; i < UNIT_COUNT(rfc4648); i++)
        ck_assert_str_eq(blinkauth_crypto_b64url_encode(unit_pool, (const unsigned char *)rfc4648[i].plain,
                                                        strlen(rfc4648[i].plain)),
                         rfc4648[i].encoded);
}
END_TEST

START_TEST(test_b64url_rfc4648_decode)
{
    int i;

    for (i = 0; i < UNIT_COUNT(rfc4648); i++)
        assert_decodes_to(rfc4648[i].encoded, rfc4648[i].plain, strlen(rfc4648[i].plain));
}
END_TEST

START_TEST(test_b64url_url_alphabet)
{
    /* Standard base64 would give "+/8" and "++//"; base64url uses '-' and '_'. */
    static const unsigned char a[] = {0xfb, 0xff};
    static const unsigned char b[] = {0xfb, 0xef, 0xff};
    static const unsigned char c[] = {0x00, 0x00, 0x00};

    ck_assert_str_eq(blinkauth_crypto_b64url_encode(unit_pool, a, sizeof(a)), "-_8");
    ck_assert_str_eq(blinkauth_crypto_b64url_encode(unit_pool, b, sizeof(b)), "--__");
    ck_assert_str_eq(blinkauth_crypto_b64url_encode(unit_pool, c, sizeof(c)), "AAAA");
    assert_decodes_to("-_8", a, sizeof(a));
    assert_decodes_to("--__", b, sizeof(b));
    assert_decodes_to("AAAA", c, sizeof(c));
}
END_TEST

START_TEST(test_b64url_round_trip_every_length)
{
    unsigned char data[256];
    apr_size_t len, i;

    for (i = 0; i < sizeof(data); i++)
        data[i] = (unsigned char)(i * 37 + 11);
    for (len = 0; len <= sizeof(data); len++) {
        const char *text = blinkauth_crypto_b64url_encode(unit_pool, data, len);
        ck_assert_uint_eq(strlen(text), (len * 4 + 2) / 3);
        ck_assert(blinkauth_text_is_b64url(text, 1000) || len == 0);
        assert_decodes_to(text, data, len);
    }
}
END_TEST

/* OpenSSL's base64 of the n (1 to 3) bytes of in, spelled as base64url: '-' and '_' for '+' and '/', no padding. */
static const char *openssl_b64url(const unsigned char *in, int n)
{
    unsigned char std[5];
    int i;

    ck_assert_int_eq(EVP_EncodeBlock(std, in, n), 4);
    for (i = 0; i < 4; i++)
        std[i] = std[i] == '+' ? '-' : std[i] == '/' ? '_' : std[i] == '=' ? '\0' : std[i];
    return apr_pstrdup(unit_pool, (const char *)std);
}

/* Every pair of characters three bytes are written with, in either place, and every tail of one or two bytes, is
 * OpenSSL's. */
START_TEST(test_b64url_as_openssl_every_pair)
{
    unsigned char in[3];
    unsigned int x, y;
    int n;

    for (x = 0; x < 4096; x++) {
        y = (x * 2731 + 1234) & 0xfff; /* another value in the second place */
        in[0] = (unsigned char)(x >> 4);
        in[1] = (unsigned char)(((x & 15) << 4) | (y >> 8));
        in[2] = (unsigned char)(y & 0xff);
        for (n = 1; n <= 3; n++)
            ck_assert_str_eq(blinkauth_crypto_b64url_encode(unit_pool, in, (apr_size_t)n), openssl_b64url(in, n));
    }
}
END_TEST

START_TEST(test_b64url_round_trip_every_byte)
{
    unsigned char data[256];
    int i;

    for (i = 0; i < 256; i++)
        data[i] = (unsigned char)i;
    assert_decodes_to(blinkauth_crypto_b64url_encode(unit_pool, data, sizeof(data)), data, sizeof(data));
}
END_TEST

START_TEST(test_b64url_decode_rejects_bad_characters)
{
    static const char *const bad[] = {"Zm9v=", "Zg==", "Zm+v", "Zm/v", "Zm 9v", "Zm9v\n", "Zm.v", "Zm9\x80", "Zm9*"};

    assert_decode_refuses(bad, UNIT_COUNT(bad));
}
END_TEST

START_TEST(test_b64url_decode_rejects_impossible_lengths)
{
    static const char *const bad[] = {"Z", "Zm9vY", "Zm9vYmFyZ", "AAAAAAAAAAAAA"};

    assert_decode_refuses(bad, UNIT_COUNT(bad));
}
END_TEST

START_TEST(test_random_token_shape)
{
    const char *t = blinkauth_crypto_random_token(unit_pool);
    apr_size_t len = 0;

    ck_assert_ptr_nonnull(t);
    ck_assert_uint_eq(strlen(t), BLINKAUTH_RANDOM_B64_LEN);
    ck_assert_uint_eq(BLINKAUTH_RANDOM_B64_LEN, 43);
    ck_assert(blinkauth_text_is_b64url(t, 43));
    ck_assert_ptr_nonnull(blinkauth_crypto_b64url_decode(unit_pool, t, &len));
    ck_assert_uint_eq(len, BLINKAUTH_RANDOM_BYTES);
}
END_TEST

START_TEST(test_random_token_differs)
{
    const char *seen[32];
    int i, j;

    for (i = 0; i < 32; i++) {
        seen[i] = blinkauth_crypto_random_token(unit_pool);
        ck_assert_ptr_nonnull(seen[i]);
        for (j = 0; j < i; j++)
            ck_assert_str_ne(seen[i], seen[j]);
    }
}
END_TEST

START_TEST(test_pkce_rfc7636_appendix_b)
{
    ck_assert_str_eq(blinkauth_crypto_pkce_challenge(unit_pool, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
                     "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}
END_TEST

START_TEST(test_pkce_other_verifier)
{
    /* SHA-256("abc") = ba7816bf...f20015ad, a FIPS 180-2 vector. */
    ck_assert_str_eq(blinkauth_crypto_pkce_challenge(unit_pool, "abc"), "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
    ck_assert_uint_eq(strlen(blinkauth_crypto_pkce_challenge(unit_pool, "")), 43);
}
END_TEST

START_TEST(test_secret_equal)
{
    ck_assert_int_eq(blinkauth_crypto_secret_equal("s3cret", "s3cret"), 1);
    ck_assert_int_eq(blinkauth_crypto_secret_equal("s3cres", "s3cret"), 0);
    ck_assert_int_eq(blinkauth_crypto_secret_equal("S3cret", "s3cret"), 0);
    ck_assert_int_eq(blinkauth_crypto_secret_equal("s3cre", "s3cret"), 0);        /* prefix */
    ck_assert_int_eq(blinkauth_crypto_secret_equal("s3crett", "s3cret"), 0);      /* longer */
    ck_assert_int_eq(blinkauth_crypto_secret_equal("s3crets3cret", "s3cret"), 0); /* the secret twice */
    ck_assert_int_eq(blinkauth_crypto_secret_equal("s3cre", "s3cres3cret"), 0);   /* a secret that repeats */
    ck_assert_int_eq(blinkauth_crypto_secret_equal("aaaa", "a"), 0);
    ck_assert_int_eq(blinkauth_crypto_secret_equal("a", "a"), 1);
    ck_assert_int_eq(blinkauth_crypto_secret_equal("b", "a"), 0);
    ck_assert_int_eq(blinkauth_crypto_secret_equal("\xc3\xa9t\xc3\xa9", "\xc3\xa9t\xc3\xa9"), 1);
    ck_assert_int_eq(blinkauth_crypto_secret_equal("\xc3\xa9t\xc3\xa8", "\xc3\xa9t\xc3\xa9"), 0);
    ck_assert_int_eq(blinkauth_crypto_secret_equal("", "s3cret"), 0);
    ck_assert_int_eq(blinkauth_crypto_secret_equal("", ""), 0); /* an empty expected secret never matches */
    ck_assert_int_eq(blinkauth_crypto_secret_equal("x", ""), 0);
    ck_assert_int_eq(blinkauth_crypto_secret_equal(NULL, "s3cret"), 0);
    ck_assert_int_eq(blinkauth_crypto_secret_equal("s3cret", NULL), 0);
    ck_assert_int_eq(blinkauth_crypto_secret_equal(NULL, NULL), 0);
}
END_TEST

/* A difference at any place, in a secret of any length up to past a word and a block, is seen; so is one byte more or
 * less, and a given secret that is the expected one repeated. Each expected secret has a block of its own size, so
 * that valgrind sees any read past its end (a given secret longer than it takes its bytes again from the first). */
START_TEST(test_secret_equal_every_place)
{
    char given[170];
    size_t len, at;

    for (len = 1; len < 80; len++) {
        char *expected = malloc(len + 1);

        ck_assert_ptr_nonnull(expected);
        for (at = 0; at < len; at++)
            expected[at] = (char)('!' + (at * 7 + len) % 90);
        expected[len] = '\0';
        strcpy(given, expected);
        ck_assert_int_eq(blinkauth_crypto_secret_equal(given, expected), 1);
        for (at = 0; at < len; at++) {
            given[at] ^= 0x01;
            ck_assert_msg(!blinkauth_crypto_secret_equal(given, expected), "length %zu, place %zu", len, at);
            given[at] ^= 0x01;
        }
        given[len - 1] = '\0';
        ck_assert_int_eq(blinkauth_crypto_secret_equal(given, expected), 0);
        strcpy(given, expected);
        strcat(given, expected);
        ck_assert_int_eq(blinkauth_crypto_secret_equal(given, expected), 0);
        given[len + 1] = '\0';
        ck_assert_int_eq(blinkauth_crypto_secret_equal(given, expected), 0);
        free(expected);
    }
}
END_TEST

START_TEST(test_secret_which)
{
    ck_assert_int_eq(blinkauth_crypto_secret_which("new", "new", "old"), 1);
    ck_assert_int_eq(blinkauth_crypto_secret_which("old", "new", "old"), 2);
    ck_assert_int_eq(blinkauth_crypto_secret_which("other", "new", "old"), 0);
    ck_assert_int_eq(blinkauth_crypto_secret_which("new", "new", NULL), 1);
    ck_assert_int_eq(blinkauth_crypto_secret_which("old", "new", NULL), 0);
    ck_assert_int_eq(blinkauth_crypto_secret_which(NULL, "new", "old"), 0);
    ck_assert_int_eq(blinkauth_crypto_secret_which("", "new", ""), 0); /* an empty previous never matches */
    ck_assert_int_eq(blinkauth_crypto_secret_which("same", "same", "same"), 1);
}
END_TEST

START_TEST(test_flow_ref_known_value)
{
    /* base64url(SHA-256("blinkauth-ref:abc")) begins sopwq-hoI9 (python3 hashlib): pinned, so it is stable. */
    ck_assert_str_eq(blinkauth_crypto_flow_ref(unit_pool, "abc"), "sopwq-hoI9");
    ck_assert_str_eq(blinkauth_crypto_flow_ref(unit_pool, "abc"), blinkauth_crypto_flow_ref(unit_pool, "abc"));
}
END_TEST

START_TEST(test_flow_ref_shape_and_secrecy)
{
    const char *seen[32];
    int i, j;

    for (i = 0; i < 32; i++) {
        const char *state = blinkauth_crypto_random_token(unit_pool);
        const char *ref = blinkauth_crypto_flow_ref(unit_pool, state);

        ck_assert_uint_eq(strlen(ref), BLINKAUTH_FLOW_REF_LEN);
        ck_assert_uint_eq(strspn(ref, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
                          BLINKAUTH_FLOW_REF_LEN);
        /* Not a piece of the state, nor of the other hash of it that is sent (the cookie's name). */
        ck_assert_ptr_null(strstr(state, ref));
        ck_assert_ptr_null(strstr(blinkauth_crypto_sha256_b64url(unit_pool, state), ref));
        seen[i] = ref;
        for (j = 0; j < i; j++)
            ck_assert_str_ne(seen[i], seen[j]);
    }
}
END_TEST

/* The hex of the len bytes of b64url text, in p. */
static const char *hex_of_b64url(const char *text)
{
    static const char digits[] = "0123456789abcdef";
    apr_size_t len = 0, i;
    unsigned char *raw = blinkauth_crypto_b64url_decode(unit_pool, text, &len);
    char *hex = apr_palloc(unit_pool, len * 2 + 1);

    ck_assert_ptr_nonnull(raw);
    for (i = 0; i < len; i++) {
        hex[2 * i] = digits[raw[i] >> 4];
        hex[2 * i + 1] = digits[raw[i] & 15];
    }
    hex[2 * len] = '\0';
    return hex;
}

START_TEST(test_hmac_rfc4231)
{
    unsigned char key20[20], long_key[131];
    const char *data = "Test Using Larger Than Block-Size Key - Hash Key First";

    memset(key20, 0x0b, sizeof(key20));
    memset(long_key, 0xaa, sizeof(long_key));
    /* RFC 4231 test cases 1, 2 and 6 (a key longer than a block), each twice: the second MAC uses the key prepared
     * by the first. */
    for (int round = 0; round < 2; round++) {
        ck_assert_str_eq(hex_of_b64url(blinkauth_crypto_hmac(unit_pool, key20, sizeof(key20), "Hi There", 8)),
                         "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
        ck_assert_str_eq(hex_of_b64url(blinkauth_crypto_hmac(unit_pool, (const unsigned char *)"Jefe", 4,
                                                             "what do ya want for nothing?", 28)),
                         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        ck_assert_str_eq(
            hex_of_b64url(blinkauth_crypto_hmac(unit_pool, long_key, sizeof(long_key), data, strlen(data))),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    }
}
END_TEST

START_TEST(test_hmac_many_keys)
{
    unsigned char key[32];
    const char *first[8], *short_mac, *long_mac;
    int i;

    /* More keys than the process prepares: the others are MACed without a prepared state, with the same results. */
    for (i = 0; i < 8; i++) {
        memset(key, 'a' + i, sizeof(key));
        first[i] = blinkauth_crypto_hmac(unit_pool, key, sizeof(key), "record", 6);
        ck_assert_uint_eq(strlen(first[i]), BLINKAUTH_RANDOM_B64_LEN);
    }
    for (i = 0; i < 8; i++) {
        memset(key, 'a' + i, sizeof(key));
        ck_assert_str_eq(blinkauth_crypto_hmac(unit_pool, key, sizeof(key), "record", 6), first[i]);
        if (i > 0)
            ck_assert_str_ne(first[i], first[i - 1]);
    }
    /* Released, the keys are prepared again; a key and a longer one that begins with it are two keys, whichever of
     * them was prepared first. */
    blinkauth_crypto_release();
    ck_assert_str_eq(blinkauth_crypto_hmac(unit_pool, key, sizeof(key), "record", 6), first[7]);
    blinkauth_crypto_release();
    short_mac = blinkauth_crypto_hmac(unit_pool, key, 16, "record", 6);
    long_mac = blinkauth_crypto_hmac(unit_pool, key, 17, "record", 6);
    ck_assert_str_ne(short_mac, long_mac);
    blinkauth_crypto_release();
    ck_assert_str_eq(blinkauth_crypto_hmac(unit_pool, key, 17, "record", 6), long_mac);
    ck_assert_str_eq(blinkauth_crypto_hmac(unit_pool, key, 16, "record", 6), short_mac);
}
END_TEST

START_TEST(test_seal_round_trip_and_spelling)
{
    unsigned char key[BLINKAUTH_KEY_BYTES], other[BLINKAUTH_KEY_BYTES];
    apr_size_t len = 0;
    /* Sealed, n bytes are 28 + n: 3 bytes make 31 (42 characters, the last carrying 4 bits beyond them), 1 byte 29
     * (39 characters, 2 bits). */
    const char *plains[] = {"abc", "x"};
    int i;

    memset(key, 1, sizeof(key));
    for (i = 0; i < UNIT_COUNT(plains); i++) {
        const char *sealed = blinkauth_crypto_seal(unit_pool, key, "aad", plains[i], strlen(plains[i]));
        char *respelled = apr_pstrdup(unit_pool, sealed);
        apr_size_t n = strlen(sealed);
        int last = blinkauth_crypto_b64url_value((unsigned char)sealed[n - 1]);
        const unsigned char *plain;

        ck_assert_ptr_nonnull(sealed);
        ck_assert_int_ne(n % 4, 0);
        plain = blinkauth_crypto_open(unit_pool, key, "aad", sealed, &len);
        ck_assert_ptr_nonnull(plain);
        ck_assert_str_eq((const char *)plain, plains[i]);
        ck_assert_uint_eq(len, strlen(plains[i]));
        ck_assert_ptr_null(blinkauth_crypto_open(unit_pool, key, "other aad", sealed, &len));
        /* The same bytes spelled another way (a bit the last character carries beyond them set): refused, so that a
         * sealed text named by its hash has one name. */
        respelled[n - 1] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[last | 1];
        ck_assert_str_ne(respelled, sealed);
        ck_assert_ptr_null(blinkauth_crypto_open(unit_pool, key, "aad", respelled, &len));
    }
    /* Keys derived for two purposes differ from each other and from the key. */
    ck_assert_int_eq(blinkauth_crypto_key_for(key, "one purpose", other), 1);
    ck_assert_int_ne(memcmp(key, other, sizeof(key)), 0);
    ck_assert_str_eq(blinkauth_crypto_b64url_encode(unit_pool, other, sizeof(other)),
                     blinkauth_crypto_hmac(unit_pool, key, sizeof(key), "one purpose", 11));
}
END_TEST

/* A thread's cipher context keeps the last key it was given and takes only an IV while the key and the direction stay:
 * seals in a row under one key, seals and opens under keys in turn, and a key changed in place each use the key they
 * are given; a failed open between them leaves the next one working. */
START_TEST(test_seal_keys_in_turn)
{
    unsigned char one[BLINKAUTH_KEY_BYTES], two[BLINKAUTH_KEY_BYTES], moving[BLINKAUTH_KEY_BYTES];
    const char *a, *again, *b, *c, *x;
    char *altered;
    apr_size_t len = 0;

    memset(one, 1, sizeof(one));
    memset(two, 2, sizeof(two));
    a = blinkauth_crypto_seal(unit_pool, one, "aad", "under one", 9);
    again = blinkauth_crypto_seal(unit_pool, one, "aad", "under one again", 15); /* the key held */
    b = blinkauth_crypto_seal(unit_pool, two, "aad", "under two", 9);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(again);
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_null(blinkauth_crypto_open(unit_pool, one, "aad", b, &len));
    ck_assert_str_eq((const char *)blinkauth_crypto_open(unit_pool, two, "aad", b, &len), "under two");
    ck_assert_ptr_null(blinkauth_crypto_open(unit_pool, two, "aad", a, &len));
    ck_assert_str_eq((const char *)blinkauth_crypto_open(unit_pool, one, "aad", a, &len), "under one");
    ck_assert_str_eq((const char *)blinkauth_crypto_open(unit_pool, one, "aad", again, &len), "under one again");
    /* A tag that does not verify, then the same key again. */
    altered = apr_pstrdup(unit_pool, a);
    altered[20] = altered[20] == 'A' ? 'B' : 'A';
    ck_assert_ptr_null(blinkauth_crypto_open(unit_pool, one, "aad", altered, &len));
    ck_assert_str_eq((const char *)blinkauth_crypto_open(unit_pool, one, "aad", a, &len), "under one");
    /* The same buffer holding another key seals under that key: keys are told apart by their bytes. */
    memcpy(moving, one, sizeof(moving));
    x = blinkauth_crypto_seal(unit_pool, moving, "aad", "x", 1);
    memcpy(moving, two, sizeof(moving));
    c = blinkauth_crypto_seal(unit_pool, moving, "aad", "under the moved key", 19);
    ck_assert_str_eq((const char *)blinkauth_crypto_open(unit_pool, one, "aad", x, &len), "x");
    ck_assert_ptr_null(blinkauth_crypto_open(unit_pool, one, "aad", c, &len));
    ck_assert_str_eq((const char *)blinkauth_crypto_open(unit_pool, two, "aad", c, &len), "under the moved key");
}
END_TEST

START_TEST(test_random_token_fork)
{
    int fds[2];
    char child[BLINKAUTH_RANDOM_B64_LEN + 1] = {0};
    const char *mine;
    pid_t pid;
    int status;

    /* A token drawn before the fork leaves the rest of this thread's block for the next ones. */
    ck_assert_ptr_nonnull(blinkauth_crypto_random_token(unit_pool));
    ck_assert_int_eq(pipe(fds), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        const char *t = blinkauth_crypto_random_token(unit_pool);
        _exit(t && write(fds[1], t, strlen(t)) == BLINKAUTH_RANDOM_B64_LEN ? 0 : 1);
    }
    mine = blinkauth_crypto_random_token(unit_pool);
    ck_assert_int_eq(read(fds[0], child, BLINKAUTH_RANDOM_B64_LEN), BLINKAUTH_RANDOM_B64_LEN);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_int_eq(status, 0);
    close(fds[0]);
    close(fds[1]);
    /* The child's first token is not the one the parent draws next from the same block. */
    ck_assert_str_ne(mine, child);
}
END_TEST

/* Runs the crypto suite. */
int main(void)
{
    Suite *s = suite_create("crypto");

    unit_add_tcase(s, "core", NULL, NULL,
                   UNIT_TESTS(test_b64url_rfc4648_encode, test_b64url_rfc4648_decode, test_b64url_url_alphabet,
                              test_b64url_round_trip_every_length, test_b64url_round_trip_every_byte,
                              test_b64url_as_openssl_every_pair, test_b64url_decode_rejects_bad_characters,
                              test_b64url_decode_rejects_impossible_lengths, test_random_token_shape,
                              test_random_token_differs, test_pkce_rfc7636_appendix_b, test_pkce_other_verifier,
                              test_secret_equal, test_secret_equal_every_place, test_secret_which,
                              test_flow_ref_known_value, test_flow_ref_shape_and_secrecy, test_hmac_rfc4231,
                              test_hmac_many_keys, test_seal_round_trip_and_spelling, test_seal_keys_in_turn,
                              test_random_token_fork));
    return unit_run(s);
}
