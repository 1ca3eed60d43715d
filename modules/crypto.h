/* Randomness, hashing, sealing and comparison primitives: state, PKCE, secret checks, sealed records. */
#ifndef BLINKAUTH_CRYPTO_H
#define BLINKAUTH_CRYPTO_H

#include <apr_pools.h>

/* Random bytes behind a state and a PKCE verifier: 32 bytes = 256 bits, 43 base64url chars. */
#define BLINKAUTH_RANDOM_BYTES 32
#define BLINKAUTH_RANDOM_B64_LEN 43

/* base64url (RFC 4648 section 5) without padding, allocated in p. */
const char *blinkauth_crypto_b64url_encode(apr_pool_t *p, const unsigned char *data, apr_size_t len);

/* The 6-bit value of one base64url character, or -1 when c is not in the alphabet. */
int blinkauth_crypto_b64url_value(unsigned char c);

/* Decodes base64url without padding into a pool buffer; NULL when the text is not base64url. */
unsigned char *blinkauth_crypto_b64url_decode(apr_pool_t *p, const char *text, apr_size_t *len);

/* Fresh random bytes from the system CSPRNG, base64url-encoded; NULL if randomness failed. */
const char *blinkauth_crypto_random_token(apr_pool_t *p);

/* The RFC 7636 S256 code challenge of a verifier: base64url(SHA-256(verifier)). */
const char *blinkauth_crypto_pkce_challenge(apr_pool_t *p, const char *verifier);

/* base64url(SHA-256(text)): 43 characters, allocated in p. */
const char *blinkauth_crypto_sha256_b64url(apr_pool_t *p, const char *text);

/* Characters of a flow reference. */
#define BLINKAUTH_FLOW_REF_LEN 10

/* The flow reference of state, for log lines and error answers: the first BLINKAUTH_FLOW_REF_LEN characters of
 * base64url(SHA-256("blinkauth-ref:" state)), allocated in p. It names a connect in every line of its three requests
 * but cannot be turned back into the state, so a log reader cannot finish the connect with it. */
const char *blinkauth_crypto_flow_ref(apr_pool_t *p, const char *state);

/* Gives back what the hashing keeps for the process (the SHA-256 implementation it fetched once, the prepared HMAC
 * keys, the calling thread's digest context): call it before the code of this library goes away (httpd unloads a
 * module at each restart); hashing after it fetches and prepares again. */
void blinkauth_crypto_release(void);

/* A key of BLINKAUTH_KEY_BYTES bytes derived from a secret text (its SHA-256), into out. */
#define BLINKAUTH_KEY_BYTES 32
void blinkauth_crypto_key_derive(const char *secret, unsigned char *out);

/* The key for purpose derived from key (both BLINKAUTH_KEY_BYTES): HMAC-SHA256(key, purpose), into out; 1 when
 * OpenSSL made it. One secret then keys several uses, none of which can stand in for another. */
int blinkauth_crypto_key_for(const unsigned char *key, const char *purpose, unsigned char *out);

/* HMAC-SHA256 of data under key, base64url (BLINKAUTH_RANDOM_B64_LEN characters), allocated in p. */
const char *blinkauth_crypto_hmac(apr_pool_t *p, const unsigned char *key, apr_size_t key_len, const void *data,
                                  apr_size_t len);

/* The parts of a sealed text (blinkauth_crypto_seal) besides the ciphertext: a random IV and GCM's tag, in bytes. */
#define BLINKAUTH_SEAL_IV_BYTES 12
#define BLINKAUTH_SEAL_TAG_BYTES 16

/* plain (len bytes) sealed with AES-256-GCM under key (BLINKAUTH_KEY_BYTES) with aad (text, authenticated but not
 * kept) under a fresh random IV, as base64url(IV || ciphertext || tag), allocated in p; NULL when randomness or
 * OpenSSL failed. */
const char *blinkauth_crypto_seal(apr_pool_t *p, const unsigned char *key, const char *aad, const void *plain,
                                  apr_size_t len);

/* What blinkauth_crypto_seal sealed into sealed under key with aad: the plaintext, NUL-terminated, of *len bytes,
 * allocated in p; NULL when sealed is not such a text (nor the one base64url spelling of one) or does not verify
 * (another key or aad, altered, cut). */
unsigned char *blinkauth_crypto_open(apr_pool_t *p, const unsigned char *key, const char *aad, const char *sealed,
                                     apr_size_t *len);

/* 1 when both secrets are equal (an empty or NULL expected secret never is), compared in a time that depends on their
 * lengths only, never on their bytes. */
int blinkauth_crypto_secret_equal(const char *given, const char *expected);

/* Which secret given is: 1 for current, 2 for previous (may be NULL), 0 for neither; both are always compared, in a
 * time that depends on the lengths only. */
int blinkauth_crypto_secret_which(const char *given, const char *current, const char *previous);

#endif
