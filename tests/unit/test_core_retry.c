#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "core/retry.h"
#include "harness.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

TEST(cap_doubles_up_to_max_wait)
{
    struct retry_policy p = {5, 1.0, 60.0};
    const double want[] = {1, 2, 4, 8, 16, 32, 60, 60};
    for (int i = 0; i < 8; i++)
        CHECK(retry_cap(&p, i + 1) == want[i]);
    /* No overflow for absurd attempt numbers. */
    CHECK(retry_cap(&p, 100000) == 60.0);
    struct retry_policy q = {3, 0.05, 0.5};
    CHECK(fabs(retry_cap(&q, 1) - 0.05) < 1e-12);
    CHECK(fabs(retry_cap(&q, 4) - 0.4) < 1e-12);
    CHECK(retry_cap(&q, 5) == 0.5);
    struct retry_policy zero = {3, 0, 60};
    CHECK(retry_cap(&zero, 3) == 0);
}

TEST(delay_is_full_jitter)
{
    struct retry_policy p = {10, 1.0, 60.0};
    uint64_t st = 12345;
    double sum = 0, lo = 1e9, hi = -1;
    const int n = 20000;
    for (int i = 0; i < n; i++) {
        double d = retry_delay(&p, 4, &st); /* cap 8 s */
        if (d < 0 || d > 8.0)
            HARNESS_FAIL("delay %g outside [0, 8]", d);
        sum += d;
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
    }
    /* Uniform on [0, 8]: mean 4, and the whole range is used. */
    CHECK(fabs(sum / n - 4.0) < 0.15);
    CHECK(lo < 0.05);
    CHECK(hi > 7.95);
    /* The same state gives the same sequence; the thread's own differs. */
    uint64_t a = 99, b = 99;
    CHECK(retry_delay(&p, 3, &a) == retry_delay(&p, 3, &b));
    double t1 = retry_delay(&p, 6, NULL), t2 = retry_delay(&p, 6, NULL);
    CHECK(t1 >= 0 && t1 <= 32 && t2 >= 0 && t2 <= 32 && t1 != t2);
}

TEST(attempts_are_bounded)
{
    struct retry_policy p = {3, 1, 1};
    CHECK(retry_more(&p, 1));
    CHECK(retry_more(&p, 2));
    CHECK(!retry_more(&p, 3));
    struct retry_policy one = {1, 1, 1};
    CHECK(!retry_more(&one, 1));
    struct retry_policy bad = {0, 1, 1};
    CHECK(!retry_more(&bad, 1));
}

TEST(sleep_sleeps)
{
    double t0 = now_s();
    retry_sleep(0.05);
    double dt = now_s() - t0;
    CHECK(dt >= 0.049 && dt < 1.0);
    t0 = now_s();
    retry_sleep(-1);
    retry_sleep(NAN);
    CHECK(now_s() - t0 < 0.01);
}

TEST(limiter_halves_once_per_round_and_recovers)
{
    struct retry_limiter l;
    retry_limiter_init(&l, 8);
    CHECK_EQ_INT(retry_limiter_limit(&l), 8);
    uint64_t t[8];
    for (int i = 0; i < 8; i++)
        t[i] = retry_limiter_acquire(&l);
    /* All eight throttled: one decrease, not eight. */
    for (int i = 0; i < 8; i++)
        retry_limiter_release(&l, t[i], RETRY_THROTTLED);
    CHECK_EQ_INT(retry_limiter_limit(&l), 4);
    /* A new round throttled again halves again, down to 1 at most. */
    for (int round = 0; round < 5; round++) {
        uint64_t k = retry_limiter_acquire(&l);
        retry_limiter_release(&l, k, RETRY_THROTTLED);
    }
    CHECK_EQ_INT(retry_limiter_limit(&l), 1);
    /* Successes raise it by one per `limit` successes: 1 -> 2 after one,
     * 2 -> 3 after two more, 3 -> 4 after three more. */
    int oks = 0;
    while (retry_limiter_limit(&l) < 4 && oks < 100) {
        uint64_t k = retry_limiter_acquire(&l);
        retry_limiter_release(&l, k, RETRY_OK);
        oks++;
    }
    CHECK_EQ_INT(oks, 1 + 2 + 3);
    /* Other failures change nothing. */
    uint64_t k = retry_limiter_acquire(&l);
    retry_limiter_release(&l, k, RETRY_FAILED);
    CHECK_EQ_INT(retry_limiter_limit(&l), 4);
    /* Recovery stops at the ceiling. */
    for (int i = 0; i < 200; i++) {
        k = retry_limiter_acquire(&l);
        retry_limiter_release(&l, k, RETRY_OK);
    }
    CHECK_EQ_INT(retry_limiter_limit(&l), 8);
    retry_limiter_destroy(&l);
}

/* Threads hammer the limiter; the number of requests in flight never
 * exceeds the limit in force, and throttling lowers it. */
struct hammer {
    struct retry_limiter l;
    atomic_int inside, max_inside;
    atomic_int throttle_left;
    atomic_int done;
};

static void *hammer_thread(void *arg)
{
    struct hammer *h = arg;
    for (int i = 0; i < 300; i++) {
        uint64_t t = retry_limiter_acquire(&h->l);
        int now = atomic_fetch_add(&h->inside, 1) + 1;
        int max = atomic_load(&h->max_inside);
        while (now > max &&
               !atomic_compare_exchange_weak(&h->max_inside, &max, now))
            ;
        usleep(50);
        atomic_fetch_sub(&h->inside, 1);
        bool thr = atomic_fetch_sub(&h->throttle_left, 1) > 0;
        retry_limiter_release(&h->l, t, thr ? RETRY_THROTTLED : RETRY_OK);
    }
    atomic_fetch_add(&h->done, 1);
    return NULL;
}

TEST(limiter_bounds_concurrency)
{
    static struct hammer h;
    retry_limiter_init(&h.l, 3);
    atomic_store(&h.throttle_left, 0);
    pthread_t th[8];
    for (int i = 0; i < 8; i++)
        pthread_create(&th[i], NULL, hammer_thread, &h);
    for (int i = 0; i < 8; i++)
        pthread_join(th[i], NULL);
    CHECK_EQ_INT(atomic_load(&h.done), 8);
    CHECK(atomic_load(&h.max_inside) <= 3);
    CHECK(atomic_load(&h.max_inside) >= 2); /* it did run in parallel */
    retry_limiter_destroy(&h.l);

    /* Throttle the first responses hard: the limit drops to 1. */
    static struct hammer g;
    retry_limiter_init(&g.l, 8);
    atomic_store(&g.throttle_left, 64);
    for (int i = 0; i < 8; i++)
        pthread_create(&th[i], NULL, hammer_thread, &g);
    for (int i = 0; i < 8; i++)
        pthread_join(th[i], NULL);
    CHECK_EQ_INT(atomic_load(&g.done), 8);
    /* 2400 requests, the last ~2300 successes: recovered towards 8. */
    CHECK(retry_limiter_limit(&g.l) >= 4);
    retry_limiter_destroy(&g.l);
}

int main(void)
{
    RUN(cap_doubles_up_to_max_wait);
    RUN(delay_is_full_jitter);
    RUN(attempts_are_bounded);
    RUN(sleep_sleeps);
    RUN(limiter_halves_once_per_round_and_recovers);
    RUN(limiter_bounds_concurrency);
    return harness_done();
}
