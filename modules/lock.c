/* Waiting for a cross-process lock (an APR global mutex) until a deadline. */
#include "lock.h"

#include <errno.h>
#include <apr_errno.h>

/* The first and the longest pause before a lock the kernel refused with EDEADLK is asked for again. */
#define DEADLOCK_PAUSE_MIN apr_time_from_msec(1)
#define DEADLOCK_PAUSE_MAX apr_time_from_msec(50)
/* The pause between two tries of a lock that has no timed wait. */
#define POLL_PAUSE apr_time_from_msec(10)

apr_interval_time_t blinkauth_lock_time_left(apr_time_t deadline)
{
    apr_interval_time_t left = deadline - apr_time_now();

    return left > 0 ? left : 0;
}

/* Tries mutex every POLL_PAUSE until deadline: APR_SUCCESS, APR_TIMEUP, or the mutex's error. */
static apr_status_t poll_lock(apr_global_mutex_t *mutex, apr_time_t deadline)
{
    apr_interval_time_t left;
    apr_status_t rv;

    while (APR_STATUS_IS_EBUSY(rv = apr_global_mutex_trylock(mutex)) && (left = blinkauth_lock_time_left(deadline)) > 0)
        apr_sleep(left < POLL_PAUSE ? left : POLL_PAUSE);
    return APR_STATUS_IS_EBUSY(rv) ? APR_TIMEUP : rv;
}

apr_status_t blinkauth_lock_global(apr_global_mutex_t *mutex, apr_time_t deadline, int plain)
{
    apr_interval_time_t pause = DEADLOCK_PAUSE_MIN;
    apr_status_t rv;

    for (;;) {
        rv = plain ? apr_global_mutex_lock(mutex)
                   : apr_global_mutex_timedlock(mutex, blinkauth_lock_time_left(deadline));
        if (rv == APR_ENOTIMPL)
            rv = poll_lock(mutex, deadline);
        if (rv != APR_FROM_OS_ERROR(EDEADLK) || blinkauth_lock_time_left(deadline) < pause)
            return rv;
        apr_sleep(pause);
        pause = pause * 2 < DEADLOCK_PAUSE_MAX ? pause * 2 : DEADLOCK_PAUSE_MAX;
    }
}
