#include "core/pool.h"

#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/err.h"

struct pool {
    pthread_mutex_t lock;
    pthread_cond_t work; /* a new generation of tasks, or shutdown */
    pthread_cond_t done; /* a worker finished its part of a generation */
    unsigned nthreads;
    pthread_t *threads;
    bool shutdown;
    unsigned long generation;
    unsigned busy; /* workers still in the current generation */

    /* Current generation (valid while busy > 0) */
    size_t n, next;
    bool stopped;
    pool_task_fn fn;
    pool_stop_fn stop;
    void *arg;
};

struct pool_thread_arg {
    struct pool *p;
    unsigned index;
};

static void *pool_main(void *varg)
{
    struct pool_thread_arg *ta = varg;
    struct pool *p = ta->p;
    const unsigned me = ta->index;
    unsigned long seen = 0;
    free(ta);

    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->shutdown && p->generation == seen)
            pthread_cond_wait(&p->work, &p->lock);
        if (p->shutdown)
            break;
        seen = p->generation;
        for (;;) {
            if (p->stopped || p->next >= p->n)
                break;
            /* Ask whether to stop before claiming the next number, without
             * the lock: the callback may be slow (a clock read, a remote
             * kill switch), and claims stay in order regardless. */
            if (p->stop) {
                pthread_mutex_unlock(&p->lock);
                bool stop = p->stop(p->arg);
                pthread_mutex_lock(&p->lock);
                if (stop)
                    p->stopped = true;
                if (p->stopped || p->next >= p->n)
                    break;
            }
            size_t task = p->next++;
            pthread_mutex_unlock(&p->lock);
            p->fn(p->arg, task, me);
            pthread_mutex_lock(&p->lock);
        }
        if (--p->busy == 0)
            pthread_cond_broadcast(&p->done);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

int pool_new(unsigned nthreads, struct pool **out)
{
    *out = NULL;
    if (nthreads == 0)
        return ETL_EINVAL;
    struct pool *p = calloc(1, sizeof(*p));
    if (!p)
        return ETL_ENOMEM;
    p->threads = calloc(nthreads, sizeof(*p->threads));
    if (!p->threads) {
        free(p);
        return ETL_ENOMEM;
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->done, NULL);
    for (unsigned i = 0; i < nthreads; i++) {
        struct pool_thread_arg *ta = malloc(sizeof(*ta));
        if (ta) {
            ta->p = p;
            ta->index = i;
        }
        if (!ta || pthread_create(&p->threads[i], NULL, pool_main, ta) != 0) {
            free(ta);
            pool_free(p);
            return ETL_ENOMEM;
        }
        p->nthreads = i + 1;
    }
    *out = p;
    return 0;
}

void pool_free(struct pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->shutdown = true;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
    for (unsigned i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->work);
    pthread_mutex_destroy(&p->lock);
    free(p->threads);
    free(p);
}

unsigned pool_size(const struct pool *p)
{
    return p->nthreads;
}

size_t pool_run(struct pool *p, size_t n, pool_task_fn fn, pool_stop_fn stop,
                void *arg)
{
    pthread_mutex_lock(&p->lock);
    p->n = n;
    p->next = 0;
    p->stopped = false;
    p->fn = fn;
    p->stop = stop;
    p->arg = arg;
    p->busy = p->nthreads;
    p->generation++;
    pthread_cond_broadcast(&p->work);
    while (p->busy > 0)
        pthread_cond_wait(&p->done, &p->lock);
    size_t started = p->next;
    pthread_mutex_unlock(&p->lock);
    return started;
}

void sem_init_n(struct sem *s, unsigned n)
{
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    s->count = n;
}

void sem_release_all(struct sem *s)
{
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->lock);
}

void sem_take(struct sem *s)
{
    pthread_mutex_lock(&s->lock);
    while (s->count == 0)
        pthread_cond_wait(&s->cond, &s->lock);
    s->count--;
    pthread_mutex_unlock(&s->lock);
}

void sem_give(struct sem *s)
{
    pthread_mutex_lock(&s->lock);
    s->count++;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

unsigned cpu_count(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0)
            return (unsigned)n;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}
