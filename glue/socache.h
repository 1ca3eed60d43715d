/* A socache store the module keeps (the flow store, the token cache), or a set of locks: its provider chosen by a
 * directive, made once the configuration is read and kept across graceful restarts in httpd's retained data,
 * attached in each child. */
#ifndef BLINKAUTH_SOCACHE_H
#define BLINKAUTH_SOCACHE_H

#include "glue.h"
#include "flow.h"
#include "ap_socache.h"

/* The most shards (shmcb caches, each behind its own mutex) or locks of one kept store. */
#define BLINKAUTH_SOCACHE_MAX 16

/* One kept store: what it is (set once, by the file that owns it), then what the configuration and the start made. */
typedef struct {
    const char *what;       /* how log lines name it: "flow store", "token cache", "refresh locks" */
    const char *mutex_type; /* the Mutex type of its locks (blinkauth_socache_pre_config registers it) */
    const char *retained;   /* its name in httpd's retained data */
    const char *space;      /* the namespace its caches are given: shmcb's name, memcached's and Redis's key tag */
    const struct ap_socache_hints *hints;
    int shards;  /* how many shmcb caches at the most (at least SHARD_MIN_SIZE bytes each, socache.c), 1 to MAX */
    int locks;   /* a set of locks and no cache: how many (the provider and shards are not used) */
    int counted; /* 1: its provider's calls feed the counters (blinkauth_counters_socache; one store only) */
    /* Set by its directive (blinkauth_socache_cmd); the provider is shmcb when no directive chose one. */
    const ap_socache_provider_t *provider;
    const char *provider_arg; /* what followed "name:", or NULL */
    ap_socache_instance_t *instance;
    /* Made by blinkauth_socache_post_config (sealing and lock_wait as it was told), attached by child_init. */
    int n;           /* shards or locks made */
    int fresh;       /* 1 when made for this generation, 0 when kept from the last one */
    apr_size_t size; /* shmcb's bytes over all shards */
    apr_global_mutex_t *mutex[BLINKAUTH_SOCACHE_MAX];
    blinkauth_flow_store_t shard[BLINKAUTH_SOCACHE_MAX];
    blinkauth_flow_store_t store; /* shard[0], with the shards when there are several */
} blinkauth_socache_t;

/* The directive that chooses c's provider, with arguments ("shmcb", "shmcb:/path(bytes)", "redis:host:port"):
 * server-wide only; the provider must be loaded and accept the arguments. NULL, or the complaint. */
const char *blinkauth_socache_cmd(cmd_parms *cmd, blinkauth_socache_t *c, const char *arg);

/* Forgets what the last configuration chose and registers c's Mutex type (a pre_config step). */
int blinkauth_socache_pre_config(blinkauth_socache_t *c, apr_pool_t *pconf);

/* Makes c's caches and mutexes, or takes those kept from the last generation when nothing they depend on changed
 * (the provider, its arguments, the Mutex lines), and readies c->store: records sealed under seal_key when it is
 * not NULL (BLINKAUTH_SEAL_KEY_BYTES), locks waited for at most lock_wait. OK, or HTTP_INTERNAL_SERVER_ERROR
 * (logged). */
int blinkauth_socache_post_config(blinkauth_socache_t *c, server_rec *s, apr_pool_t *pconf, apr_pool_t *ptemp,
                                  const unsigned char *seal_key, apr_interval_time_t lock_wait);

/* Attaches c's mutexes in a new child (and this child's own lock in front of file locks). */
void blinkauth_socache_child_init(blinkauth_socache_t *c, apr_pool_t *pchild, server_rec *s);

/* 1 when c's provider is shmcb: a store of this host's own; the others may be shared servers. */
int blinkauth_socache_is_shmcb(const blinkauth_socache_t *c);

/* The shmcb path c was given ("" for shmcb's anonymous memory), or NULL for another provider. */
const char *blinkauth_socache_shmcb_path(apr_pool_t *p, const blinkauth_socache_t *c);

#endif
