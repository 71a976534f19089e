#include "core/clock.h"
#include "core/pool.h"

#include <sched.h>
#include <stdlib.h>
#include <time.h>
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

struct cpuq_call {
    void (*fn)(void *arg);
    void *arg;
    struct cpuq_call *next;
    pthread_cond_t done_cond; /* the caller sleeps on its own condition */
    bool done;
    double queued_ms, started_ms;
};

struct cpuq {
    pthread_mutex_t lock;
    pthread_cond_t work;
    struct cpuq_call *head, *tail;
    bool shutdown;
    unsigned nthreads;
    pthread_t *threads;
};

static void *cpuq_main(void *arg)
{
    struct cpuq *q = arg;
    pthread_mutex_lock(&q->lock);
    for (;;) {
        while (!q->shutdown && !q->head)
            pthread_cond_wait(&q->work, &q->lock);
        if (!q->head)
            break; /* shut down, nothing left */
        struct cpuq_call *c = q->head;
        q->head = c->next;
        if (!q->head)
            q->tail = NULL;
        pthread_mutex_unlock(&q->lock);
        c->started_ms = clock_mono_ms();
        c->fn(c->arg);
        pthread_mutex_lock(&q->lock);
        c->done = true;
        pthread_cond_signal(&c->done_cond);
    }
    pthread_mutex_unlock(&q->lock);
    return NULL;
}

int cpuq_new(unsigned nthreads, struct cpuq **out)
{
    *out = NULL;
    if (nthreads == 0)
        return ETL_EINVAL;
    struct cpuq *q = calloc(1, sizeof(*q));
    if (!q)
        return ETL_ENOMEM;
    q->threads = calloc(nthreads, sizeof(*q->threads));
    if (!q->threads) {
        free(q);
        return ETL_ENOMEM;
    }
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->work, NULL);
    for (unsigned i = 0; i < nthreads; i++) {
        if (pthread_create(&q->threads[i], NULL, cpuq_main, q) != 0) {
            cpuq_free(q);
            return ETL_ENOMEM;
        }
        q->nthreads = i + 1;
    }
    *out = q;
    return 0;
}

void cpuq_free(struct cpuq *q)
{
    if (!q)
        return;
    pthread_mutex_lock(&q->lock);
    q->shutdown = true;
    pthread_cond_broadcast(&q->work);
    pthread_mutex_unlock(&q->lock);
    for (unsigned i = 0; i < q->nthreads; i++)
        pthread_join(q->threads[i], NULL);
    pthread_cond_destroy(&q->work);
    pthread_mutex_destroy(&q->lock);
    free(q->threads);
    free(q);
}

double cpuq_run(struct cpuq *q, void (*fn)(void *arg), void *arg)
{
    struct cpuq_call c = {.fn = fn, .arg = arg};
    pthread_cond_init(&c.done_cond, NULL);
    c.queued_ms = clock_mono_ms();
    pthread_mutex_lock(&q->lock);
    /* c lives on this stack while queued: a queue thread dequeues it
     * before running it, and this function returns only once it is done. */
    if (q->tail)
        q->tail->next = &c;
    else
        q->head = &c; // cppcheck-suppress autoVariables
    q->tail = &c;     // cppcheck-suppress autoVariables
    pthread_cond_signal(&q->work);
    while (!c.done)
        pthread_cond_wait(&c.done_cond, &q->lock);
    pthread_mutex_unlock(&q->lock);
    pthread_cond_destroy(&c.done_cond);
    return c.started_ms - c.queued_ms;
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
