/* A thread in each child that does a task now and then, until the child ends. */
#ifndef BLINKAUTH_WORKER_H
#define BLINKAUTH_WORKER_H

#include "glue.h"

/* What a worker does, with the baton it was given. */
typedef void (*blinkauth_worker_task_t)(void *baton);

/* Starts, in this child, a thread that does task(baton) first after `first`, then every `every` (each wait plus up to
 * a tenth of it at random, so that the children do not all act at once), until pchild goes; done(baton), when not
 * NULL, then runs once the thread has finished (a task under way finishes first). APR's error when it cannot start. */
apr_status_t blinkauth_worker_start(apr_pool_t *pchild, apr_interval_time_t first, apr_interval_time_t every,
                                    blinkauth_worker_task_t task, blinkauth_worker_task_t done, void *baton);

#endif
