#include <stdatomic.h>
#include <unistd.h>

#include "core/pool.h"
#include "harness.h"

#define NTASKS 1000

struct run {
    atomic_int hits[NTASKS];
    atomic_uint worker_seen[8];
    atomic_int stop_after;
    atomic_int started;
    struct sem sem;
    atomic_int in_sem, max_in_sem;
};

static void task(void *arg, size_t i, unsigned worker)
{
    struct run *r = arg;
    atomic_fetch_add(&r->hits[i], 1);
    atomic_fetch_add(&r->worker_seen[worker], 1);
    atomic_fetch_add(&r->started, 1);
    sem_take(&r->sem);
    int now = atomic_fetch_add(&r->in_sem, 1) + 1;
    int max = atomic_load(&r->max_in_sem);
    while (now > max &&
           !atomic_compare_exchange_weak(&r->max_in_sem, &max, now))
        ;
    if (i % 97 == 0)
        usleep(200);
    atomic_fetch_sub(&r->in_sem, 1);
    sem_give(&r->sem);
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
        sem_init_n(&r.sem, 2);
        CHECK_EQ_INT(pool_run(p, NTASKS, task, NULL, &r), NTASKS);
        for (int i = 0; i < NTASKS; i++)
            if (atomic_load(&r.hits[i]) != 1)
                HARNESS_FAIL("task %d ran %d times", i,
                             atomic_load(&r.hits[i]));
        CHECK(atomic_load(&r.max_in_sem) <= 2);
        unsigned total = 0;
        for (int w = 0; w < 8; w++)
            total += atomic_load(&r.worker_seen[w]);
        CHECK_EQ_INT(total, NTASKS);
        sem_release_all(&r.sem);
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
    sem_init_n(&r.sem, 4);
    atomic_store(&r.stop_after, 100);
    size_t started = pool_run(p, NTASKS, task, stop_at, &r);
    CHECK(started >= 100 && started < NTASKS);
    for (size_t i = 0; i < NTASKS; i++) {
        int want = i < started ? 1 : 0;
        if (atomic_load(&r.hits[i]) != want)
            HARNESS_FAIL("task %zu ran %d times, want %d", i,
                         atomic_load(&r.hits[i]), want);
    }
    sem_release_all(&r.sem);
    pool_free(p);
}

TEST(cpu_count_positive)
{
    CHECK(cpu_count() >= 1);
}

int main(void)
{
    RUN(every_task_once_and_reused);
    RUN(stop_covers_a_prefix);
    RUN(cpu_count_positive);
    return harness_done();
}
