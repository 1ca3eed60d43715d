/* Randomness, hashing, sealing and comparison primitives: state, PKCE, secret checks, sealed records. */
#include "crypto.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include <apr_general.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/hmac.h>
#include <apr_atomic.h>
#include <pthread.h>

/* The base64url character of a 6-bit value v, as a constant expression. */
#define B64URL_CHAR(v)                                                                                                 \
    ((v) < 26 ? 'A' + (v) : (v) < 52 ? 'a' - 26 + (v) : (v) < 62 ? '0' - 52 + (v) : (v) == 62 ? '-' : '_')
/* The two characters of every 12-bit value, in turn, so that three bytes are written with two lookups. */
#define B64URL_PAIR(i) B64URL_CHAR((i) >> 6), B64URL_CHAR(63 & (i))
#define B64URL_PAIRS4(i) B64URL_PAIR(i), B64URL_PAIR((i) + 1), B64URL_PAIR((i) + 2), B64URL_PAIR((i) + 3)
#define B64URL_PAIRS16(i) B64URL_PAIRS4(i), B64URL_PAIRS4((i) + 4), B64URL_PAIRS4((i) + 8), B64URL_PAIRS4((i) + 12)
#define B64URL_PAIRS64(i)                                                                                              \
    B64URL_PAIRS16(i), B64URL_PAIRS16((i) + 16), B64URL_PAIRS16((i) + 32), B64URL_PAIRS16((i) + 48)
#define B64URL_PAIRS256(i)                                                                                             \
    B64URL_PAIRS64(i), B64URL_PAIRS64((i) + 64), B64URL_PAIRS64((i) + 128), B64URL_PAIRS64((i) + 192)
#define B64URL_PAIRS1024(i)                                                                                            \
    B64URL_PAIRS256(i), B64URL_PAIRS256((i) + 256), B64URL_PAIRS256((i) + 512), B64URL_PAIRS256((i) + 768)

static const char b64url_pairs[4096 * 2] = {B64URL_PAIRS1024(0), B64URL_PAIRS1024(1024), B64URL_PAIRS1024(2048),
                                            B64URL_PAIRS1024(3072)};

const char *blinkauth_crypto_b64url_encode(apr_pool_t *p, const unsigned char *data, apr_size_t len)
{
    char *out = apr_palloc(p, (len + 2) / 3 * 4 + 1);
    char *o = out;
    apr_size_t i;
    unsigned long v;

    for (i = 0; i + 2 < len; i += 3, o += 4) {
        v = ((unsigned long)data[i] << 16) | ((unsigned long)data[i + 1] << 8) | data[i + 2];
        memcpy(o, b64url_pairs + 2 * (v >> 12), 2);
        memcpy(o + 2, b64url_pairs + 2 * (v & 0xfff), 2);
    }
    /* One or two bytes left: two or three characters, no padding. */
    if (i < len) {
        v = ((unsigned long)data[i] << 16) | (i + 1 < len ? (unsigned long)data[i + 1] << 8 : 0);
        memcpy(o, b64url_pairs + 2 * (v >> 12), 2);
        o += 2;
        if (i + 1 < len)
            *o++ = b64url_pairs[2 * (v & 0xfff)];
    }
    *o = '\0';
    return out;
}

int blinkauth_crypto_b64url_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

unsigned char *blinkauth_crypto_b64url_decode(apr_pool_t *p, const char *text, apr_size_t *len)
{
    apr_size_t n = strlen(text), i, o = 0;
    unsigned char *out;
    unsigned long acc = 0;
    int bits = 0;

    if (n % 4 == 1)
        return NULL;
    out = apr_palloc(p, n * 3 / 4 + 1);
    for (i = 0; i < n; i++) {
        int v = blinkauth_crypto_b64url_value((unsigned char)text[i]);
        if (v < 0)
            return NULL;
        acc = (acc << 6) | (unsigned long)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)((acc >> bits) & 0xff);
        }
    }
    out[o] = '\0';
    *len = o;
    return out;
}

/* Tokens are cut from a block of system randomness each thread draws at once: one getrandom per RANDOM_BLOCK bytes
 * (32 tokens; a connect takes a seal's IV at Connect, then the cookie, verifier and nonce at its start URL) instead of
 * one per token, each a system call.  Bytes handed out are wiped from the block. */
#define RANDOM_BLOCK (32 * BLINKAUTH_RANDOM_BYTES)

/* This thread's block and how much of it is used (all of it: draw a new one). */
static _Thread_local struct {
    unsigned char bytes[RANDOM_BLOCK];
    apr_size_t used;
} random_block = {.used = RANDOM_BLOCK};

static pthread_once_t block_fork_once = PTHREAD_ONCE_INIT;

/* In a child just forked (its only thread is the one that forked): forgets the block the parent's thread had, so that
 * two processes never hand out the same bytes. */
static void block_forget(void)
{
    OPENSSL_cleanse(random_block.bytes, sizeof(random_block.bytes));
    random_block.used = RANDOM_BLOCK;
}

/* Registers block_forget for every fork (glibc drops the registration when this module is unloaded). */
static void block_fork_register(void)
{
    pthread_atfork(NULL, NULL, block_forget);
}

/* n (at most RANDOM_BLOCK) fresh random bytes into out from this thread's block; APR_SUCCESS or randomness's error. */
static apr_status_t random_bytes(unsigned char *out, apr_size_t n)
{
    apr_status_t rv;

    pthread_once(&block_fork_once, block_fork_register);
    if (random_block.used + n > RANDOM_BLOCK) {
        if ((rv = apr_generate_random_bytes(random_block.bytes, RANDOM_BLOCK)) != APR_SUCCESS)
            return rv;
        random_block.used = 0;
    }
    memcpy(out, random_block.bytes + random_block.used, n);
    OPENSSL_cleanse(random_block.bytes + random_block.used, n);
    random_block.used += n;
    return APR_SUCCESS;
}

const char *blinkauth_crypto_random_token(apr_pool_t *p)
{
    unsigned char buf[BLINKAUTH_RANDOM_BYTES];
    const char *token;

    if (random_bytes(buf, sizeof(buf)) != APR_SUCCESS)
        return NULL;
    token = blinkauth_crypto_b64url_encode(p, buf, sizeof(buf));
    OPENSSL_cleanse(buf, sizeof(buf));
    return token;
}

/* SHA-256 of data into out (SHA256_DIGEST_LENGTH bytes).
 * OpenSSL 3's SHA256() looks the algorithm up in its provider store on every call, which costs
 * more than hashing a short secret; the implementation is fetched once per process instead. */
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
/* The SHA-256 and AES-256-GCM implementations fetched once (blinkauth_crypto_release gives them back). */
static volatile void *fetched, *fetched_gcm;

/* EVP_MD_fetch and EVP_CIPHER_fetch of name, and their frees, in one shape for fetch_once. */
static void *md_fetch(const char *name)
{
    return EVP_MD_fetch(NULL, name, NULL);
}
static void md_free(void *md)
{
    EVP_MD_free(md);
}
static void *cipher_fetch(const char *name)
{
    return EVP_CIPHER_fetch(NULL, name, NULL);
}
static void cipher_free(void *cipher)
{
    EVP_CIPHER_free(cipher);
}

/* The implementation in *slot, fetched by name on first use: a thread that loses the race frees its own. NULL when it
 * cannot be fetched. */
static void *fetch_once(volatile void **slot, void *(*fetch)(const char *), void (*release)(void *), const char *name)
{
    void *got = apr_atomic_casptr(slot, NULL, NULL), *old;

    if (got == NULL && (got = fetch(name)) != NULL && (old = apr_atomic_casptr(slot, got, NULL)) != NULL) {
        release(got);
        got = old;
    }
    return got;
}
#endif

/* The SHA-256 implementation: fetched once (OpenSSL 3), or the built-in one; NULL when it cannot be fetched. */
static const EVP_MD *sha256_md(void)
{
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
    return fetch_once(&fetched, md_fetch, md_free, "SHA256");
#else
    return EVP_sha256();
#endif
}

/* The AES-256-GCM implementation, as sha256_md. */
static const EVP_CIPHER *gcm_cipher(void)
{
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
    return fetch_once(&fetched_gcm, cipher_fetch, cipher_free, "AES-256-GCM");
#else
    return EVP_aes_256_gcm();
#endif
}

/* This thread's digest and cipher contexts, used again call after call: a one-shot EVP_Digest allocates a context and
 * the implementation's state for every hash (five per Connect), and under load their malloc arenas' locks were
 * contended; a cipher context made for each seal looked its implementation up by name, under a lock, besides.
 * Re-initialised with the same implementation, a context keeps its state's memory.  ctx_key's destructor frees them
 * when the thread ends; blinkauth_crypto_release frees the calling thread's and deletes the key (before httpd unloads
 * this code, so that no thread ends into a destructor that is gone). */
typedef struct {
    EVP_MD_CTX *digest;
    EVP_CIPHER_CTX *gcm; /* set up for AES-256-GCM when gcm_ready */
    int gcm_ready;
    int gcm_keyed;   /* 1 when gcm holds gcm_key's key schedule, for gcm_encrypt's direction */
    int gcm_encrypt; /* kept too: OpenSSL 1.1.1 before 1.1.1l could keep the old direction on s390x */
    unsigned char gcm_key[BLINKAUTH_KEY_BYTES];
} contexts_t;
static _Thread_local contexts_t *thread_ctx;
static pthread_key_t ctx_key;
static apr_uint32_t ctx_key_state; /* KEY_NONE, KEY_MAKING or KEY_READY */
enum { KEY_NONE, KEY_MAKING, KEY_READY };

/* ctx_key's destructor: frees an ending thread's contexts (NULL is none). */
static void ctx_free(void *data)
{
    contexts_t *c = data;

    if (c == NULL)
        return;
    EVP_MD_CTX_free(c->digest);
    EVP_CIPHER_CTX_free(c->gcm);
    OPENSSL_cleanse(c, sizeof(*c)); /* the last key */
    free(c);
}

/* 1 when ctx_key exists, making it on first use; 0 while another thread makes it or when it cannot be made. */
static int ctx_key_ready(void)
{
    apr_uint32_t was = apr_atomic_cas32(&ctx_key_state, KEY_MAKING, KEY_NONE);

    if (was != KEY_NONE)
        return was == KEY_READY;
    if (pthread_key_create(&ctx_key, ctx_free) != 0) {
        apr_atomic_set32(&ctx_key_state, KEY_NONE);
        return 0;
    }
    apr_atomic_set32(&ctx_key_state, KEY_READY);
    return 1;
}

/* This thread's contexts, made on first use and handed to ctx_key; NULL when they cannot be kept. */
static contexts_t *thread_contexts(void)
{
    contexts_t *c;

    if (thread_ctx != NULL || !ctx_key_ready() || (c = calloc(1, sizeof(*c))) == NULL)
        return thread_ctx;
    if ((c->digest = EVP_MD_CTX_new()) == NULL || (c->gcm = EVP_CIPHER_CTX_new()) == NULL ||
        pthread_setspecific(ctx_key, c) != 0) {
        ctx_free(c);
        return NULL;
    }
    return thread_ctx = c;
}

/* This thread's digest context; NULL when it cannot be kept. */
static EVP_MD_CTX *thread_digest_ctx(void)
{
    contexts_t *c = thread_contexts();

    return c ? c->digest : NULL;
}

/* This thread's contexts with its cipher context set up for AES-256-GCM (its 12-byte IV is GCM's default length);
 * NULL when it cannot be. The implementation is kept, and the last key's schedule (gcm_keyed). */
static contexts_t *thread_gcm_contexts(void)
{
    contexts_t *c = thread_contexts();
    const EVP_CIPHER *cipher = c && !c->gcm_ready ? gcm_cipher() : NULL;

    if (cipher != NULL && EVP_CipherInit_ex(c->gcm, cipher, NULL, NULL, NULL, 1) &&
        EVP_CIPHER_CTX_iv_length(c->gcm) == BLINKAUTH_SEAL_IV_BYTES)
        c->gcm_ready = 1;
    return c && c->gcm_ready ? c : NULL;
}

/* SHA-256 of the a_len bytes of a then the b_len bytes of b into out, in this thread's context; 1 when done (0: the
 * caller hashes another way). */
static int sha256_two(const void *a, apr_size_t a_len, const void *b, apr_size_t b_len, unsigned char *out)
{
    const EVP_MD *md = sha256_md();
    EVP_MD_CTX *ctx = md ? thread_digest_ctx() : NULL;

    return ctx && EVP_DigestInit_ex(ctx, md, NULL) && EVP_DigestUpdate(ctx, a, a_len) &&
           EVP_DigestUpdate(ctx, b, b_len) && EVP_DigestFinal_ex(ctx, out, NULL);
}

static void sha256(const void *data, apr_size_t len, unsigned char *out)
{
    if (!sha256_two("", 0, data, len, out))
        SHA256(data, len, out);
}

const char *blinkauth_crypto_sha256_b64url(apr_pool_t *p, const char *text)
{
    unsigned char digest[SHA256_DIGEST_LENGTH];

    sha256(text, strlen(text), digest);
    return blinkauth_crypto_b64url_encode(p, digest, sizeof(digest));
}

/* The prefix keeps the reference apart from the other hashes of the state (the browser cookie's name is
 * base64url(SHA-256(state)) cut to 16 characters): a reference is never a piece of another value. */
#define FLOW_REF_PREFIX "blinkauth-ref:"

const char *blinkauth_crypto_flow_ref(apr_pool_t *p, const char *state)
{
    return apr_pstrmemdup(p, blinkauth_crypto_sha256_b64url(p, apr_pstrcat(p, FLOW_REF_PREFIX, state, NULL)),
                          BLINKAUTH_FLOW_REF_LEN);
}

const char *blinkauth_crypto_pkce_challenge(apr_pool_t *p, const char *verifier)
{
    return blinkauth_crypto_sha256_b64url(p, verifier);
}

/* Every byte of given is compared with expected's bytes taken in turn (from the first again past its end), and the
 * lengths too: the time depends on the two lengths only, never on the bytes or on where they differ. No hash is needed
 * for that, and the check costs a few instructions per byte. */
int blinkauth_crypto_secret_equal(const char *given, const char *expected)
{
    const unsigned char *g = (const unsigned char *)given, *e = (const unsigned char *)expected;
    apr_size_t g_len, e_len, diff, i, j = 0;

    if (given == NULL || expected == NULL || *expected == '\0')
        return 0;
    g_len = strlen(given);
    e_len = strlen(expected);
    diff = g_len ^ e_len;
    for (i = 0; i < g_len; i++) {
        diff |= (apr_size_t)(g[i] ^ e[j]);
        __asm__ volatile("" : "+r"(diff)); /* the compiler knows nothing of diff here: it cannot end the loop early */
        j = (j + 1) & ((apr_size_t)0 - (apr_size_t)(j + 1 != e_len)); /* 0 again at expected's end, without a branch */
    }
    return diff == 0;
}

int blinkauth_crypto_secret_which(const char *given, const char *current, const char *previous)
{
    int is_current = blinkauth_crypto_secret_equal(given, current);
    int is_previous = blinkauth_crypto_secret_equal(given, previous);

    return is_current ? 1 : is_previous ? 2 : 0;
}

/* HMAC-SHA256 keys prepared once per process (RFC 2104): the key padded to a block and xored with the inner and the
 * outer pad, so that a MAC is two hashes in this thread's context. OpenSSL 3's one-shot HMAC() fetched the MAC and its
 * digest and built and freed three contexts on every call: three quarters of the cost of sealing a flow record. */
#define PREPARED_KEYS 4
#define SHA256_BLOCK 64

/* One prepared key: its bytes (to recognise it) and its two pad blocks; never changed once published. */
typedef struct {
    unsigned char key[SHA256_BLOCK];
    apr_size_t len;
    unsigned char inner[SHA256_BLOCK], outer[SHA256_BLOCK];
} prepared_t;

/* The prepared keys of this process, filled in order, emptied by blinkauth_crypto_release. */
static volatile void *prepared[PREPARED_KEYS];

/* Frees a prepared key (NULL is none). */
static void prepared_free(prepared_t *k)
{
    if (k != NULL)
        OPENSSL_clear_free(k, sizeof(*k));
}

/* A new prepared key of len (at most a block) bytes, or NULL. */
static prepared_t *prepared_new(const unsigned char *key, apr_size_t len)
{
    prepared_t *k = OPENSSL_zalloc(sizeof(*k));
    apr_size_t i;

    if (k == NULL)
        return NULL;
    memcpy(k->key, key, len);
    k->len = len;
    for (i = 0; i < SHA256_BLOCK; i++) {
        k->inner[i] = (unsigned char)((i < len ? key[i] : 0) ^ 0x36);
        k->outer[i] = (unsigned char)((i < len ? key[i] : 0) ^ 0x5c);
    }
    return k;
}

/* The prepared key of key (made and published on first use), or NULL when it cannot be: longer than a block, or
 * every slot taken by another key. */
static const prepared_t *prepared_get(const unsigned char *key, apr_size_t len)
{
    prepared_t *k, *fresh = NULL;
    int i;

    if (len > SHA256_BLOCK)
        return NULL;
    for (i = 0; i < PREPARED_KEYS; i++) {
        k = apr_atomic_casptr(&prepared[i], NULL, NULL);
        if (k == NULL) {
            if (fresh == NULL && (fresh = prepared_new(key, len)) == NULL)
                return NULL;
            if ((k = apr_atomic_casptr(&prepared[i], fresh, NULL)) == NULL)
                return fresh;
        }
        /* k: this slot's key, published by this or another thread. */
        if (k->len == len && CRYPTO_memcmp(k->key, key, len) == 0) {
            prepared_free(fresh);
            return k;
        }
    }
    prepared_free(fresh);
    return NULL;
}

/* HMAC-SHA256 of data under a prepared key into mac; 1 when done. */
static int prepared_mac(const prepared_t *k, const void *data, apr_size_t len, unsigned char *mac)
{
    unsigned char inner[SHA256_DIGEST_LENGTH];
    int ok = sha256_two(k->inner, SHA256_BLOCK, data, len, inner) &&
             sha256_two(k->outer, SHA256_BLOCK, inner, sizeof(inner), mac);

    OPENSSL_cleanse(inner, sizeof(inner));
    return ok;
}

/* HMAC-SHA256 of data under key into mac (SHA256_DIGEST_LENGTH bytes): under the key prepared when there is room for
 * it, else with OpenSSL's one-shot HMAC; 1 when done. */
static int hmac_sha256(const unsigned char *key, apr_size_t key_len, const void *data, apr_size_t len,
                       unsigned char *mac)
{
    const prepared_t *k = prepared_get(key, key_len);
    unsigned int n = SHA256_DIGEST_LENGTH;

    return (k != NULL && prepared_mac(k, data, len, mac)) ||
           (HMAC(EVP_sha256(), key, (int)key_len, data, len, mac, &n) != NULL && n == SHA256_DIGEST_LENGTH);
}

const char *blinkauth_crypto_hmac(apr_pool_t *p, const unsigned char *key, apr_size_t key_len, const void *data,
                                  apr_size_t len)
{
    unsigned char mac[SHA256_DIGEST_LENGTH];

    /* an empty MAC matches no seal */
    return blinkauth_crypto_b64url_encode(p, mac, hmac_sha256(key, key_len, data, len, mac) ? sizeof(mac) : 0);
}

int blinkauth_crypto_key_for(const unsigned char *key, const char *purpose, unsigned char *out)
{
    return hmac_sha256(key, BLINKAUTH_KEY_BYTES, purpose, strlen(purpose), out);
}

void blinkauth_crypto_release(void)
{
    int i;

    for (i = 0; i < PREPARED_KEYS; i++)
        prepared_free(apr_atomic_xchgptr(&prepared[i], NULL));
    if (thread_ctx != NULL && apr_atomic_read32(&ctx_key_state) == KEY_READY)
        pthread_setspecific(ctx_key, NULL); /* freed here: the key's destructor must not free them again */
    ctx_free(thread_ctx);
    thread_ctx = NULL;
    if (apr_atomic_cas32(&ctx_key_state, KEY_NONE, KEY_READY) == KEY_READY)
        pthread_key_delete(ctx_key);
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
    EVP_MD_free((EVP_MD *)apr_atomic_xchgptr(&fetched, NULL));
    EVP_CIPHER_free((EVP_CIPHER *)apr_atomic_xchgptr(&fetched_gcm, NULL));
#endif
}

void blinkauth_crypto_key_derive(const char *secret, unsigned char *out)
{
    sha256(secret, strlen(secret), out);
}

/* The sealed form of n plaintext bytes, in bytes: the IV, the ciphertext (as long as the plaintext), the tag. */
#define SEALED_BYTES(n) (BLINKAUTH_SEAL_IV_BYTES + (n) + BLINKAUTH_SEAL_TAG_BYTES)

/* AES-256-GCM of in (len bytes) under key with aad, into out (len bytes) and tag, in this thread's context; 1 when
 * OpenSSL did it. encrypt 0 decrypts, checking tag: 0 when it does not verify. */
static int gcm(int encrypt, const unsigned char *key, const unsigned char *iv, const char *aad, const unsigned char *in,
               apr_size_t len, unsigned char *out, unsigned char *tag)
{
    contexts_t *c = thread_gcm_contexts();
    EVP_CIPHER_CTX *ctx = c ? c->gcm : EVP_CIPHER_CTX_new();
    /* A thread's context that holds key already (for this direction) takes only the IV: AES's key schedule and GHASH's
     * table are kept. */
    int holds_key =
        c && c->gcm_keyed && c->gcm_encrypt == encrypt && CRYPTO_memcmp(c->gcm_key, key, BLINKAUTH_KEY_BYTES) == 0;
    int n = 0, ok;

    /* Without a context of this thread's, one for this call (the implementation looked up again). */
    ok = ctx != NULL && len <= INT_MAX && strlen(aad) <= INT_MAX &&
         EVP_CipherInit_ex(ctx, c ? NULL : EVP_aes_256_gcm(), NULL, holds_key ? NULL : key, iv, encrypt) &&
         EVP_CipherUpdate(ctx, NULL, &n, (const unsigned char *)aad, (int)strlen(aad)) &&
         EVP_CipherUpdate(ctx, out, &n, in, (int)len) &&
         (encrypt || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, BLINKAUTH_SEAL_TAG_BYTES, tag)) &&
         EVP_CipherFinal_ex(ctx, out + n, &n) &&
         (!encrypt || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, BLINKAUTH_SEAL_TAG_BYTES, tag));
    if (c == NULL)
        EVP_CIPHER_CTX_free(ctx);
    else if (ok && !holds_key) {
        memcpy(c->gcm_key, key, BLINKAUTH_KEY_BYTES);
        c->gcm_encrypt = encrypt;
        c->gcm_keyed = 1;
    }
    else if (!ok)
        c->gcm_keyed = 0; /* after a failure (a tag that does not verify, too) the next call sets its key again */
    return ok;
}

/* 1 when text (base64url) is the one spelling of its bytes: the bits its last character carries beyond them are 0.
 * Else two texts would open to the same plaintext, and a sealed text named by its hash could be used twice. */
static int b64url_canonical(const char *text)
{
    apr_size_t n = strlen(text);
    int last = n > 0 ? blinkauth_crypto_b64url_value((unsigned char)text[n - 1]) : 0;

    return n % 4 == 2 ? (last & 0x0F) == 0 : n % 4 == 3 ? (last & 0x03) == 0 : 1;
}

const char *blinkauth_crypto_seal(apr_pool_t *p, const unsigned char *key, const char *aad, const void *plain,
                                  apr_size_t len)
{
    unsigned char *sealed = apr_palloc(p, SEALED_BYTES(len));
    unsigned char *iv = sealed, *body = sealed + BLINKAUTH_SEAL_IV_BYTES, *tag = body + len;

    if (random_bytes(iv, BLINKAUTH_SEAL_IV_BYTES) != APR_SUCCESS || !gcm(1, key, iv, aad, plain, len, body, tag))
        return NULL;
    return blinkauth_crypto_b64url_encode(p, sealed, SEALED_BYTES(len));
}

unsigned char *blinkauth_crypto_open(apr_pool_t *p, const unsigned char *key, const char *aad, const char *sealed,
                                     apr_size_t *len)
{
    apr_size_t n = 0;
    unsigned char *bytes = blinkauth_crypto_b64url_decode(p, sealed, &n), *plain;

    if (bytes == NULL || n < SEALED_BYTES(0) || !b64url_canonical(sealed))
        return NULL;
    *len = n - SEALED_BYTES(0);
    plain = apr_palloc(p, *len + 1);
    if (!gcm(0, key, bytes, aad, bytes + BLINKAUTH_SEAL_IV_BYTES, *len, plain, bytes + n - BLINKAUTH_SEAL_TAG_BYTES))
        return NULL;
    plain[*len] = '\0';
    return plain;
}
