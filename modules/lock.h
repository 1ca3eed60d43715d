/* Waiting for a cross-process lock (an APR global mutex) until a deadline. */
#ifndef BLINKAUTH_LOCK_H
#define BLINKAUTH_LOCK_H

#include <apr_time.h>
#include <apr_global_mutex.h>

/* The time from now until deadline, 0 when it has passed. */
apr_interval_time_t blinkauth_lock_time_left(apr_time_t deadline);

/* Takes mutex by deadline: with APR's timed lock (polling every 10 ms where the mechanism has no timed wait, as
 * APR itself does for file locks), or plainly when plain is 1 (for locks held only for a memory copy, whose waiters
 * something else bounds). fcntl locks belong to the process, and the kernel answers EDEADLK when this process waits
 * for a lock held by a process that waits for one this process holds: no deadlock when the two are held by other
 * threads, which release them, so EDEADLK is asked again, after a growing pause, until deadline. APR_SUCCESS,
 * APR_TIMEUP when it was not had by deadline, or the mutex's error. */
apr_status_t blinkauth_lock_global(apr_global_mutex_t *mutex, apr_time_t deadline, int plain);

#endif
