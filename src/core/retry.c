/* Backoff with full jitter and the AIMD limiter (retry.h). */
#include "core/clock.h"
#include "core/retry.h"

#include <errno.h>
#include <math.h>
#include <sys/random.h>
#include <time.h>

double retry_cap(const struct retry_policy *p, int failures)
{
    double initial = p->initial_wait > 0 ? p->initial_wait : 0;
    double max = p->max_wait > 0 ? p->max_wait : 0;
    if (failures < 1)
        failures = 1;
    /* 2^62 is far beyond any max_wait; ldexp cannot overflow there. */
    int exp = failures - 1 > 62 ? 62 : failures - 1;
    double cap = ldexp(initial, exp);
    return cap < max ? cap : max;
}

static uint64_t seed(void)
{
    uint64_t s = 0;
    if (getrandom(&s, sizeof(s), GRND_NONBLOCK) != (ssize_t)sizeof(s)) {
        s = (uint64_t)clock_mono_ns() * 0x9e3779b97f4a7c15ull ^
            (uint64_t)(uintptr_t)&s;
    }
    return s ? s : 0x853c49e6748fea9bull;
}

/* splitmix64: tiny, good enough for jitter, one word of state. */
static uint64_t next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

double retry_delay(const struct retry_policy *p, int failures, uint64_t *state)
{
    static _Thread_local uint64_t tls_state;
    uint64_t *s = state ? state : &tls_state;
    if (*s == 0)
        *s = seed();
    /* 53 random bits -> [0, 1]; the closed interval matches "up to cap". */
    double u = (double)(next(s) >> 11) / (double)((1ull << 53) - 1);
    return u * retry_cap(p, failures);
}

void retry_sleep(double seconds)
{
    if (!(seconds > 0))
        return;
    struct timespec ts;
    ts.tv_sec = (time_t)seconds;
    ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
    if (ts.tv_nsec >= 1000000000L)
        ts.tv_nsec = 999999999L;
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

bool retry_more(const struct retry_policy *p, int attempts)
{
    return attempts < (p->max_attempts > 0 ? p->max_attempts : 1);
}

void retry_limiter_init(struct retry_limiter *l, unsigned max)
{
    pthread_mutex_init(&l->lock, NULL);
    pthread_cond_init(&l->cond, NULL);
    l->max = max ? max : 1;
    l->limit = l->max;
    l->in_flight = 0;
    l->successes = 0;
    l->epoch = 0;
}

void retry_limiter_destroy(struct retry_limiter *l)
{
    pthread_cond_destroy(&l->cond);
    pthread_mutex_destroy(&l->lock);
}

uint64_t retry_limiter_acquire(struct retry_limiter *l)
{
    pthread_mutex_lock(&l->lock);
    while (l->in_flight >= l->limit)
        pthread_cond_wait(&l->cond, &l->lock);
    l->in_flight++;
    uint64_t ticket = l->epoch;
    pthread_mutex_unlock(&l->lock);
    return ticket;
}

void retry_limiter_release(struct retry_limiter *l, uint64_t ticket,
                           enum retry_outcome outcome)
{
    pthread_mutex_lock(&l->lock);
    if (l->in_flight)
        l->in_flight--;
    if (outcome == RETRY_THROTTLED) {
        /* One decrease per round: the other requests of the round that
         * was throttled carry the old epoch and are not counted again. */
        if (ticket == l->epoch) {
            unsigned base = l->limit;
            if (base > l->in_flight + 1)
                base = l->in_flight + 1; /* what was really in flight */
            l->limit = base / 2 ? base / 2 : 1;
            l->successes = 0;
            l->epoch++;
        }
    } else if (outcome == RETRY_OK && l->limit < l->max) {
        if (++l->successes >= l->limit) {
            l->limit++;
            l->successes = 0;
        }
    }
    pthread_cond_broadcast(&l->cond);
    pthread_mutex_unlock(&l->lock);
}

unsigned retry_limiter_limit(struct retry_limiter *l)
{
    pthread_mutex_lock(&l->lock);
    unsigned n = l->limit;
    pthread_mutex_unlock(&l->lock);
    return n;
}
