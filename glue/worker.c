/* A thread in each child that does a task now and then, until the child ends. */
#include "worker.h"

#include "apr_thread_cond.h"
#include "apr_thread_mutex.h"
#include "apr_thread_proc.h"

/* One worker and what stops it. */
typedef struct {
    apr_thread_mutex_t *lock;
    apr_thread_cond_t *wake;
    apr_thread_t *thread;
    int stop; /* guarded by lock */
    apr_interval_time_t first, every;
    blinkauth_worker_task_t task, done;
    void *baton;
} worker_t;

/* wait, plus up to a tenth of it at random. */
static apr_interval_time_t jittered(apr_interval_time_t wait)
{
    apr_uint32_t r = 0;

    apr_generate_random_bytes((unsigned char *)&r, sizeof(r));
    return wait + (apr_interval_time_t)(r % (apr_uint32_t)(wait / 10 + 1));
}

/* The thread: waits, does the task, and again, until told to stop. */
static void *APR_THREAD_FUNC worker_main(apr_thread_t *thread, void *data)
{
    worker_t *w = data;
    apr_interval_time_t wait = w->first;
    apr_time_t due;

    apr_thread_mutex_lock(w->lock);
    while (!w->stop) {
        due = apr_time_now() + jittered(wait);
        while (!w->stop && apr_time_now() < due)
            apr_thread_cond_timedwait(w->wake, w->lock, due - apr_time_now());
        if (w->stop)
            break;
        apr_thread_mutex_unlock(w->lock);
        w->task(w->baton);
        apr_thread_mutex_lock(w->lock);
        wait = w->every;
    }
    apr_thread_mutex_unlock(w->lock);
    /* A return, not apr_thread_exit(): a thread ended by pthread_exit() leaves its frames poisoned for ASan. */
    return NULL;
}

/* pchild pre-cleanup: wakes the thread, waits for it, then runs done; no request runs any more. */
static apr_status_t worker_stop(void *data)
{
    worker_t *w = data;
    apr_status_t rv;

    apr_thread_mutex_lock(w->lock);
    w->stop = 1;
    apr_thread_cond_signal(w->wake);
    apr_thread_mutex_unlock(w->lock);
    apr_thread_join(&rv, w->thread);
    if (w->done)
        w->done(w->baton);
    return APR_SUCCESS;
}

apr_status_t blinkauth_worker_start(apr_pool_t *pchild, apr_interval_time_t first, apr_interval_time_t every,
                                    blinkauth_worker_task_t task, blinkauth_worker_task_t done, void *baton)
{
    worker_t *w = apr_pcalloc(pchild, sizeof(*w));
    apr_status_t rv;

    w->first = first;
    w->every = every;
    w->task = task;
    w->done = done;
    w->baton = baton;
    rv = apr_thread_mutex_create(&w->lock, APR_THREAD_MUTEX_DEFAULT, pchild);
    if (rv == APR_SUCCESS)
        rv = apr_thread_cond_create(&w->wake, pchild);
    if (rv == APR_SUCCESS)
        rv = apr_thread_create(&w->thread, NULL, worker_main, w, pchild);
    if (rv == APR_SUCCESS)
        /* A pre-cleanup: it runs before pchild's sub-pools, the thread's own among them, are destroyed. */
        apr_pool_pre_cleanup_register(pchild, w, worker_stop);
    return rv;
}
