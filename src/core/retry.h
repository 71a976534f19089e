/* Retries: exponential backoff with full jitter, and an adaptive limit on
 * requests in flight (additive increase, multiplicative decrease) for
 * services that throttle.
 *
 * Backoff (AWS's "full jitter"): after the n-th failed attempt (n >= 1) wait
 * a uniformly random time in [0, min(max_wait, initial_wait * 2^(n-1))]
 * seconds, and give up after max_attempts attempts in all.
 *
 * The limiter starts at its maximum; a throttled response halves it (at
 * most once per round of requests: responses to requests that started
 * before the last decrease do not count again), and every `limit`
 * successes raise it by one, so a throttled run slows down, finishes, and
 * speeds up again gradually. */
#ifndef ETL_CORE_RETRY_H
#define ETL_CORE_RETRY_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct retry_policy {
    int max_attempts;    /* attempts in all, >= 1 (RETRY_MAX_ATTEMPTS) */
    double initial_wait; /* seconds, >= 0 (RETRY_INITIAL_WAIT) */
    double max_wait;     /* seconds, >= 0 (RETRY_MAX_WAIT) */
};

/* The defaults of the settings table: 3 attempts, 1 s, 60 s. */
#define RETRY_POLICY_DEFAULT                                                   \
    {                                                                          \
        3, 1.0, 60.0                                                           \
    }

/* The upper bound of the wait after `failures` failed attempts (>= 1):
 * min(max_wait, initial_wait * 2^(failures-1)), never negative. */
double retry_cap(const struct retry_policy *p, int failures);

/* A random wait in [0, retry_cap(p, failures)] seconds. *state is the
 * caller's generator state (any value; 0 is reseeded from the OS); with
 * state NULL a per-thread generator is used. Thread-safe. */
double retry_delay(const struct retry_policy *p, int failures, uint64_t *state);

/* Sleep for that many seconds (a negative or NaN value sleeps 0),
 * resuming after signals. */
void retry_sleep(double seconds);

/* Whether another attempt is allowed after `attempts` attempts. */
bool retry_more(const struct retry_policy *p, int attempts);

/* ---- Adaptive concurrency ------------------------------------------------
 * Thread-safe. A caller takes a slot before each request and gives it back
 * with the outcome. */
struct retry_limiter {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    unsigned max;       /* ceiling, >= 1 */
    unsigned limit;     /* current limit, 1..max */
    unsigned in_flight; /* slots taken */
    unsigned successes; /* since the last change of limit */
    uint64_t epoch;     /* bumped at each decrease */
};

enum retry_outcome {
    RETRY_OK,        /* a response that says nothing about load */
    RETRY_THROTTLED, /* the service asked us to slow down */
    RETRY_FAILED     /* a failure that is not throttling */
};

void retry_limiter_init(struct retry_limiter *l, unsigned max);
void retry_limiter_destroy(struct retry_limiter *l);
/* Wait for a slot; returns a ticket for retry_limiter_release. */
uint64_t retry_limiter_acquire(struct retry_limiter *l);
void retry_limiter_release(struct retry_limiter *l, uint64_t ticket,
                           enum retry_outcome outcome);
/* The current limit (for logs and tests). */
unsigned retry_limiter_limit(struct retry_limiter *l);

#endif
