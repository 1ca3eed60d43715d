/* Unit tests of modules/lock.c: a global mutex waited for until a deadline, with every mechanism APR has here. */
#include <pthread.h>
#include <signal.h>
#include <unistd.h>
#include <sys/wait.h>
#include <apr_strings.h>

#include "unit.h"
#include "lock.h"

/* The mechanisms a Mutex line may choose. */
static const apr_lockmech_e mechs[] = {APR_LOCK_DEFAULT, APR_LOCK_FCNTL, APR_LOCK_FLOCK, APR_LOCK_SYSVSEM,
                                       APR_LOCK_PROC_PTHREAD};

/* A fresh global mutex of mechanism mech, destroyed with unit_pool. */
static apr_global_mutex_t *mutex_of(apr_lockmech_e mech)
{
    static int made;
    apr_global_mutex_t *m = NULL;
    const char *file = apr_psprintf(unit_pool, "/tmp/blinkauth-check-lock-%ld-%d", (long)getpid(), made++);

    ck_assert_int_eq(apr_global_mutex_create(&m, file, mech, unit_pool), APR_SUCCESS);
    return m;
}

/* What a waiter thread is given and gives back. */
typedef struct {
    apr_global_mutex_t *mutex;
    apr_interval_time_t wait;
    int plain;
    apr_status_t got;
} waiter_t;

/* Thread: waits for the mutex as told, and releases it when it had it. */
static void *waiter_main(void *arg)
{
    waiter_t *w = arg;

    w->got = blinkauth_lock_global(w->mutex, apr_time_now() + w->wait, w->plain);
    if (w->got == APR_SUCCESS)
        apr_global_mutex_unlock(w->mutex);
    return NULL;
}

/* Waits for m in another thread, at most wait (plain: a plain wait); the status it got. */
static apr_status_t wait_in_thread(apr_global_mutex_t *m, apr_interval_time_t wait, int plain)
{
    waiter_t w = {m, wait, plain, APR_EGENERAL};
    pthread_t t;

    ck_assert_int_eq(pthread_create(&t, NULL, waiter_main, &w), 0);
    pthread_join(t, NULL);
    return w.got;
}

START_TEST(test_free_mutex_taken)
{
    int i;

    for (i = 0; i < UNIT_COUNT(mechs); i++) {
        apr_global_mutex_t *m = mutex_of(mechs[i]);

        ck_assert_int_eq(wait_in_thread(m, apr_time_from_msec(100), 0), APR_SUCCESS);
        ck_assert_int_eq(wait_in_thread(m, apr_time_from_msec(100), 1), APR_SUCCESS);
        /* Even with no time left, a free mutex is had. */
        ck_assert_int_eq(wait_in_thread(m, 0, 0), APR_SUCCESS);
    }
}
END_TEST

START_TEST(test_held_mutex_times_up)
{
    int i;

    for (i = 0; i < UNIT_COUNT(mechs); i++) {
        apr_global_mutex_t *m = mutex_of(mechs[i]);

        ck_assert_int_eq(apr_global_mutex_lock(m), APR_SUCCESS);
        ck_assert_msg(wait_in_thread(m, apr_time_from_msec(30), 0) == APR_TIMEUP, "%s", apr_global_mutex_name(m));
        ck_assert_int_eq(wait_in_thread(m, 0, 0), APR_TIMEUP);
        apr_global_mutex_unlock(m);
        ck_assert_int_eq(wait_in_thread(m, 0, 0), APR_SUCCESS);
    }
}
END_TEST

START_TEST(test_held_by_another_process)
{
    /* A child process holds the mutex until it is killed: the wait ends with APR_TIMEUP, then succeeds once the child
     * released it. */
    int i, ready[2], status;
    char c;

    for (i = 0; i < UNIT_COUNT(mechs); i++) {
        apr_global_mutex_t *m = mutex_of(mechs[i]);
        pid_t child;

        ck_assert_int_eq(pipe(ready), 0);
        if ((child = fork()) == 0) {
            apr_global_mutex_child_init(&m, apr_global_mutex_lockfile(m), unit_pool);
            apr_global_mutex_lock(m);
            (void)!write(ready[1], "x", 1);
            pause(); /* until SIGKILL (a SIGTERM would run the handler Check's runner left it) */
            _exit(0);
        }
        ck_assert_int_gt(child, 0);
        ck_assert_int_eq(read(ready[0], &c, 1), 1);
        ck_assert_msg(blinkauth_lock_global(m, apr_time_now() + apr_time_from_msec(50), 0) == APR_TIMEUP, "%s",
                      apr_global_mutex_name(m));
        /* Its holder gone (file locks and System V semaphores are undone by the kernel, a robust pthread mutex
         * handed on), the mutex is had. */
        kill(child, SIGKILL);
        waitpid(child, &status, 0);
        ck_assert_msg(blinkauth_lock_global(m, apr_time_now() + apr_time_from_sec(5), 0) == APR_SUCCESS, "%s",
                      apr_global_mutex_name(m));
        apr_global_mutex_unlock(m);
        close(ready[0]);
        close(ready[1]);
    }
}
END_TEST

/* What a holder thread holds, and the pipe on which it says it holds it. */
typedef struct {
    apr_global_mutex_t *mutex;
    int ready[2];
} holder_t;

/* Thread: takes the mutex, says so, holds it for 50 ms, releases it. */
static void *holder_main(void *arg)
{
    holder_t *h = arg;

    apr_global_mutex_lock(h->mutex);
    (void)!write(h->ready[1], "x", 1);
    apr_sleep(apr_time_from_msec(50));
    apr_global_mutex_unlock(h->mutex);
    return NULL;
}

START_TEST(test_had_when_released_in_time)
{
    int i, plain;
    char c;

    for (i = 0; i < UNIT_COUNT(mechs); i++) {
        for (plain = 0; plain < 2; plain++) {
            holder_t h = {mutex_of(mechs[i]), {-1, -1}};
            pthread_t t;

            ck_assert_int_eq(pipe(h.ready), 0);
            ck_assert_int_eq(pthread_create(&t, NULL, holder_main, &h), 0);
            ck_assert_int_eq(read(h.ready[0], &c, 1), 1);
            ck_assert_msg(blinkauth_lock_global(h.mutex, apr_time_now() + apr_time_from_sec(5), plain) == APR_SUCCESS,
                          "%s", apr_global_mutex_name(h.mutex));
            apr_global_mutex_unlock(h.mutex);
            pthread_join(t, NULL);
            close(h.ready[0]);
            close(h.ready[1]);
        }
    }
}
END_TEST

/* Runs the lock suite. */
int main(void)
{
    Suite *s = suite_create("lock");

    unit_add_tcase(s, "global", NULL, NULL,
                   UNIT_TESTS(test_free_mutex_taken, test_held_mutex_times_up, test_held_by_another_process,
                              test_had_when_released_in_time));
    return unit_run(s);
}
