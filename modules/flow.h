/* Flow records: what a Connect leaves for its callback, kept in an httpd socache under a state. */
#ifndef BLINKAUTH_FLOW_H
#define BLINKAUTH_FLOW_H

#include <apr_pools.h>
#include <apr_time.h>
#include <apr_global_mutex.h>
#include <apr_thread_mutex.h>
#include "ap_socache.h"
#include "crypto.h"

/* Largest encoded flow record. */
#define BLINKAUTH_FLOW_MAX 8192

/* Bytes of the key that seals flow records (HMAC-SHA256). */
#define BLINKAUTH_SEAL_KEY_BYTES BLINKAUTH_KEY_BYTES

/* One connect in progress. */
typedef struct {
    const char *user_id;      /* the Blink user who clicked Connect */
    const char *auth_id;      /* the app's Auth ID */
    const char *verifier;     /* the PKCE code verifier; never sent to the browser or the service */
    const char *redirect_uri; /* the redirect_uri sent in the authorization URL */
    const char *nonce;        /* the OpenID Connect nonce sent, or NULL */
    const char *browser;      /* the hash of the cookie of the browser that opened the start URL, or NULL */
    apr_time_t created;
} blinkauth_flow_t;

/* What a flow function returns when the store did not answer (its lock not had in time, or a record not found by a
 * store that then failed a probe): never APR_NOTFOUND, APR_TIMEUP and the others that are answers about a record. */
#define BLINKAUTH_FLOW_UNAVAILABLE APR_EAGAIN

/* Where flow records live: a socache provider and instance, and the lock that makes take atomic.
 * A store may be split into shards, each a complete store of its own; a state's record lives in
 * the shard its second character selects. */
typedef struct blinkauth_flow_store_t {
    const ap_socache_provider_t *provider;
    ap_socache_instance_t *instance;
    server_rec *server;        /* only for the provider's own logging */
    apr_global_mutex_t *mutex; /* may be NULL when the provider is safe without it */
    /* A lock of this process's own taken before mutex, one for all shards, or NULL: set when mutex is a file lock
     * (fcntl, flock), which the kernel keeps per process, not per thread. */
    apr_thread_mutex_t *local;
    apr_interval_time_t lock_wait; /* the longest wait for the locks; 0 for LOCK_WAIT_DEFAULT (flow.c) */
    int probe;     /* 1 when a record not found may mean a store that does not answer: a probe tells (network stores) */
    int bare_keys; /* 1 when the store is ours alone (shmcb): the key is the state itself */
    const struct blinkauth_flow_store_t *shard; /* shards of this store, or NULL: it is one */
    int shards;
    /* Records are sealed with HMAC-SHA256 under this key, so that whoever can write a shared store cannot forge
     * or alter one; a record whose seal does not verify is refused. Without a key (sealed 0) records are plain. */
    unsigned char seal_key[BLINKAUTH_SEAL_KEY_BYTES];
    int sealed;
    /* Derived from seal_key: seals the start handles that carry a connect (blinkauth_flow_handle_seal). */
    unsigned char handle_key[BLINKAUTH_KEY_BYTES];
} blinkauth_flow_store_t;

/* The longest start handle accepted: a sealed connect is a few hundred characters. */
#define BLINKAUTH_FLOW_HANDLE_MAX 4096

/* Bytes of a store's random name (see blinkauth_flow_store_seal_with). */
#define BLINKAUTH_FLOW_STORE_ID_BYTES 16

/* Gives store the key that seals its records, and the key that seals its start handles, derived from it and from id
 * (BLINKAUTH_FLOW_STORE_ID_BYTES made with the store, kept as long as its records are): a start handle then opens only
 * in the store it was made for, as a record kept there would, though other servers share the key. APR_EGENERAL when
 * OpenSSL could not derive it. */
apr_status_t blinkauth_flow_store_seal_with(blinkauth_flow_store_t *store, const unsigned char *key,
                                            const unsigned char *id);

/* Makes the secrets of flow's authorization request: its PKCE verifier and, with nonce (an OpenID Connect scope), its
 * nonce. APR_EGENERAL when there is no randomness. Made where the flow is kept: at Connect in a store that keeps it
 * then, else when its start URL is opened, so that they never travel in a start handle. */
apr_status_t blinkauth_flow_secrets(apr_pool_t *p, blinkauth_flow_t *flow, int nonce);

/* The flow record as text (JSON); NULL when a field (besides the verifier, which a start handle has not) is missing or
 * not UTF-8. */
const char *blinkauth_flow_encode(apr_pool_t *p, const blinkauth_flow_t *flow);

/* The flow record read back from text; NULL when it is not one (with *why). */
blinkauth_flow_t *blinkauth_flow_decode(apr_pool_t *p, const char *text, apr_size_t len, const char **why);

/* The state of a start handle: base64url(SHA-256("blinkauth-state:" handle)), allocated in p. The start URL carries
 * the handle, the authorization URL the state: the state can be had from the handle, never the handle from the state
 * (which the external service sees). */
const char *blinkauth_flow_state_of(apr_pool_t *p, const char *handle);

/* Stores flow (sealed) under the state of a fresh random start handle, expiring after ttl; sets *handle and *state.
 * In an exclusive store that is the one record of a connect until its callback: the start URL finds it by its
 * handle's state and binds it (blinkauth_flow_bind). */
apr_status_t blinkauth_flow_put(const blinkauth_flow_store_t *store, apr_pool_t *p, const blinkauth_flow_t *flow,
                                apr_interval_time_t ttl, const char **handle, const char **state);

/* Begins a connect in an exclusive store without writing to it: *handle is flow's user, Auth ID, redirect URI and time,
 * sealed (AES-256-GCM under the store's handle key); its state (blinkauth_flow_state_of) is left to whoever needs it.
 * The first browser that opens the start URL keeps the flow, bound to itself, with secrets made then
 * (blinkauth_flow_open); nothing is kept for a start URL never opened. flow's verifier, nonce and browser are not
 * sealed. */
apr_status_t blinkauth_flow_handle_seal(const blinkauth_flow_store_t *store, apr_pool_t *p,
                                        const blinkauth_flow_t *flow, const char **handle);

/* Reads and deletes the flow record of state, so it can be used once. With browser set, only the browser that
 * opened the start URL may: a record bound to another browser (or to none) is left in place and APR_EACCES
 * returned (compared in constant time). APR_NOTFOUND when there is none, APR_TIMEUP when it is older than ttl,
 * APR_EBADF (with *why) when it is not a record or its seal does not verify (it is deleted), another error when the
 * store failed (with *why): BLINKAUTH_FLOW_UNAVAILABLE when its lock was not had within lock_wait, or when nothing
 * was found and the store (with probe set) failed to store and read back a probe record. An exclusive store keeps a
 * spent mark in the record's place until the record would have expired, so that its start URL cannot bind it again;
 * a take finds that as APR_NOTFOUND. */
apr_status_t blinkauth_flow_take(const blinkauth_flow_store_t *store, apr_pool_t *p, const char *state,
                                 apr_interval_time_t ttl, const char *browser, blinkauth_flow_t **flow,
                                 const char **why);

/* What a start URL binds a flow to, and what it asks of the flow. */
typedef struct {
    const char *browser;          /* the hash of the browser's cookie */
    const char *auth_id;          /* the Auth ID of the app the start URL is under: the flow must be its */
    const char *redirect_path;    /* the path (and query) of that <Location>'s redirect URI: the flow's must be it */
    apr_interval_time_t ttl;      /* how long the bound record is kept, from the Connect (BlinkAuthStateTimeout) */
    apr_interval_time_t open_ttl; /* how long after the Connect the start URL may be opened (BlinkAuthStartTimeout) */
    int nonce; /* 1 when the app's scope is OpenID Connect's: a flow a sealed handle carries gets a nonce too */
} blinkauth_flow_opener_t;

/* Records by->browser in the flow record of state, which must not have one yet, and sets *flow to it: the start URL
 * binds a flow to the first browser that opens it. APR_EACCES when the flow was made under another <Location> (another
 * Auth ID or redirect URI path), APR_EEXIST when it is bound already, APR_TIMEUP when it is older than by->open_ttl:
 * each left in place, unbound; otherwise as take. */
apr_status_t blinkauth_flow_bind(const blinkauth_flow_store_t *store, apr_pool_t *p, const char *state,
                                 const blinkauth_flow_opener_t *by, blinkauth_flow_t **flow, const char **why);

/* Stores the start record of handle: it leads once, within ttl, to state and the authorization URL url. Written
 * besides the flow record where the store is not exclusive (Redis, memcached): there, two requests may read the
 * unbound flow record at once, and the start record's delete is what sends only one browser on. */
apr_status_t blinkauth_flow_start_put(const blinkauth_flow_store_t *store, apr_pool_t *p, const char *handle,
                                      const char *state, const char *url, apr_interval_time_t ttl);

/* Opens the start URL of handle: binds its flow to by->browser and sets *flow and *state. In an exclusive store a
 * sealed handle (blinkauth_flow_handle_seal) carries the flow, which is given its secrets (blinkauth_flow_secrets) and
 * kept under the handle's state unless something is there already (APR_EEXIST: opened before, or completed);
 * APR_EBADF for a handle that does not open. Else the handle's state names the flow record (blinkauth_flow_bind): in
 * another store, or for a start URL an earlier version answered, the start record of handle is taken first (it works
 * once) and names the state; then *url is the authorization URL it holds (else NULL: the caller makes it from *flow).
 * APR_NOTFOUND (with *why) when there is nothing to open; else as bind, and APR_EBADF for a start record that is not
 * one. *state stays NULL when no record was found. */
apr_status_t blinkauth_flow_open(const blinkauth_flow_store_t *store, apr_pool_t *p, const char *handle,
                                 const blinkauth_flow_opener_t *by, const char **state, const char **url,
                                 blinkauth_flow_t **flow, const char **why);

/* Notes that the flow of state was completed, by browser (its cookie's hash) for account, for ttl: a reload of the
 * callback can then say "already connected" instead of "expired". */
apr_status_t blinkauth_flow_done_put(const blinkauth_flow_store_t *store, apr_pool_t *p, const char *state,
                                     const char *browser, const char *account, apr_interval_time_t ttl);

/* The account of the completed flow of state when browser completed it; APR_NOTFOUND when no such note (none made
 * or expired), APR_EACCES when another browser did (compared in constant time), APR_EBADF for an unusable note. */
apr_status_t blinkauth_flow_done_get(const blinkauth_flow_store_t *store, apr_pool_t *p, const char *state,
                                     const char *browser, const char **account);

/* A round trip through the store, for a health check: stores, reads back and deletes a probe record (a fresh key,
 * kept 10 s at most). APR_SUCCESS, or the failing step's error with *why. */
apr_status_t blinkauth_flow_probe(const blinkauth_flow_store_t *store, apr_pool_t *p, const char **why);

/* 1 when store takes a lock around each use (shmcb): a record read and written back under it cannot be raced. */
int blinkauth_flow_store_exclusive(const blinkauth_flow_store_t *store);

/* For other records kept in a store of this kind (the token cache): the shard of store that keeps the record named
 * name (by its second character; store itself when it has no shards). */
const blinkauth_flow_store_t *blinkauth_flow_store_shard(const blinkauth_flow_store_t *store, const char *name);

/* Takes the locks of store (a shard) when it has them, within its lock_wait; BLINKAUTH_FLOW_UNAVAILABLE when they
 * were not had in time. */
apr_status_t blinkauth_flow_store_lock(const blinkauth_flow_store_t *store);

/* Releases the locks blinkauth_flow_store_lock took. */
void blinkauth_flow_store_unlock(const blinkauth_flow_store_t *store);

/* APR_SUCCESS when store (a shard, its lock held) answers: a probe record is stored and read back; else the store's
 * error. Tells a network store's "not found" from a store that does not answer. */
apr_status_t blinkauth_flow_store_probe(const blinkauth_flow_store_t *store, apr_pool_t *p);

#endif
