#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/pool.h"
#include "harness.h"

#define NTASKS 1000

struct run {
    atomic_int hits[NTASKS];
    atomic_uint worker_seen[8];
    atomic_int stop_after;
    atomic_int started;
    struct cpuq *cpu;
    atomic_int in_cpu, max_in_cpu, off_caller;
    atomic_int waits_negative;
};

struct cpu_arg {
    struct run *r;
    size_t i;
    pthread_t caller;
};

/* Runs on a queue thread while the task's thread sleeps. */
static void on_cpu(void *arg)
{
    struct cpu_arg *a = arg;
    struct run *r = a->r;
    int now = atomic_fetch_add(&r->in_cpu, 1) + 1;
    int max = atomic_load(&r->max_in_cpu);
    while (now > max &&
           !atomic_compare_exchange_weak(&r->max_in_cpu, &max, now))
        ;
    if (!pthread_equal(pthread_self(), a->caller))
        atomic_fetch_add(&r->off_caller, 1);
    if (a->i % 97 == 0)
        usleep(200);
    atomic_fetch_sub(&r->in_cpu, 1);
}

static void task(void *arg, size_t i, unsigned worker)
{
    struct run *r = arg;
    atomic_fetch_add(&r->hits[i], 1);
    atomic_fetch_add(&r->worker_seen[worker], 1);
    atomic_fetch_add(&r->started, 1);
    struct cpu_arg a = {r, i, pthread_self()};
    if (cpuq_run(r->cpu, on_cpu, &a) < 0)
        atomic_fetch_add(&r->waits_negative, 1);
}

static bool stop_at(void *arg)
{
    struct run *r = arg;
    return atomic_load(&r->started) >= atomic_load(&r->stop_after);
}

TEST(every_task_once_and_reused)
{
    struct pool *p = NULL;
    CHECK_EQ_INT(pool_new(8, &p), 0);
    CHECK_EQ_INT(pool_size(p), 8);
    static struct run r;
    for (int round = 0; round < 3; round++) {
        memset(&r, 0, sizeof(r));
        CHECK_EQ_INT(cpuq_new(2, &r.cpu), 0);
        CHECK_EQ_INT(pool_run(p, NTASKS, task, NULL, &r), NTASKS);
        for (int i = 0; i < NTASKS; i++)
            if (atomic_load(&r.hits[i]) != 1)
                HARNESS_FAIL("task %d ran %d times", i,
                             atomic_load(&r.hits[i]));
        /* Eight tasks at a time, never more than two on the queue's
         * threads, and never on the task's own thread. */
        CHECK(atomic_load(&r.max_in_cpu) <= 2);
        CHECK_EQ_INT(atomic_load(&r.off_caller), NTASKS);
        CHECK_EQ_INT(atomic_load(&r.waits_negative), 0);
        unsigned total = 0;
        for (int w = 0; w < 8; w++)
            total += atomic_load(&r.worker_seen[w]);
        CHECK_EQ_INT(total, NTASKS);
        cpuq_free(r.cpu);
    }
    CHECK_EQ_INT(pool_run(p, 0, task, NULL, &r), 0);
    pool_free(p);
}

TEST(stop_covers_a_prefix)
{
    struct pool *p = NULL;
    CHECK_EQ_INT(pool_new(4, &p), 0);
    static struct run r;
    memset(&r, 0, sizeof(r));
    CHECK_EQ_INT(cpuq_new(4, &r.cpu), 0);
    atomic_store(&r.stop_after, 100);
    size_t started = pool_run(p, NTASKS, task, stop_at, &r);
    CHECK(started >= 100 && started < NTASKS);
    for (size_t i = 0; i < NTASKS; i++) {
        int want = i < started ? 1 : 0;
        if (atomic_load(&r.hits[i]) != want)
            HARNESS_FAIL("task %zu ran %d times, want %d", i,
                         atomic_load(&r.hits[i]), want);
    }
    cpuq_free(r.cpu);
    pool_free(p);
}

/* One caller: calls run one after another, in order, and cpuq_free joins
 * idle threads. */
static void append_index(void *arg)
{
    int *seq = arg;
    seq[1 + seq[0]] = seq[0];
    seq[0]++;
}

TEST(cpuq_in_order_and_limits)
{
    struct cpuq *q = NULL;
    CHECK_EQ_INT(cpuq_new(0, &q), ETL_EINVAL);
    CHECK(q == NULL);
    CHECK_EQ_INT(cpuq_new(3, &q), 0);
    int seq[1 + 50] = {0};
    for (int i = 0; i < 50; i++)
        CHECK(cpuq_run(q, append_index, seq) >= 0);
    CHECK_EQ_INT(seq[0], 50);
    for (int i = 0; i < 50; i++)
        CHECK_EQ_INT(seq[1 + i], i);
    cpuq_free(q);
    cpuq_free(NULL);
}

TEST(cpu_count_positive)
{
    CHECK(cpu_count() >= 1);
}

int main(void)
{
    RUN(every_task_once_and_reused);
    RUN(stop_covers_a_prefix);
    RUN(cpuq_in_order_and_limits);
    RUN(cpu_count_positive);
    return harness_done();
}
