/* A fixed pool of worker threads that runs numbered tasks in order of
 * their numbers (task i starts before task i+1), so that work stopped early
 * has always covered a prefix of the tasks.
 *
 * Threads are created once and reused for every pool_run(); each has a
 * stable worker index 0..nthreads-1, so per-worker state (a cloned MuPDF
 * context, an HTTP handle) can live in an array owned by the caller.
 *
 * Also a CPU queue (struct cpuq): a few threads, one per core, that run
 * CPU-heavy calls for many more threads that mostly wait on I/O. */
#ifndef ETL_CORE_POOL_H
#define ETL_CORE_POOL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

struct pool;

/* Run task number `task` on worker `worker`. */
typedef void (*pool_task_fn)(void *arg, size_t task, unsigned worker);
/* Asked before each task is started; true stops taking new tasks (tasks
 * already started finish). May be NULL. Called with no lock held. */
typedef bool (*pool_stop_fn)(void *arg);

int pool_new(unsigned nthreads, struct pool **out);
/* Joins the threads. Must not be called while pool_run() is running. */
void pool_free(struct pool *p);
unsigned pool_size(const struct pool *p);

/* Run tasks 0..n-1 on the pool and wait for them. Returns how many tasks
 * were started (n unless stop returned true). Not reentrant: one
 * pool_run() at a time per pool. */
size_t pool_run(struct pool *p, size_t n, pool_task_fn fn, pool_stop_fn stop,
                void *arg);

/* The calling thread hands fn(arg) to a queue thread and sleeps until it
 * has run. Calls start in the order they were made. A queue thread takes
 * the next call as soon as it finishes one, without waiting for another
 * thread to be woken: bounding the cores' work with a semaphore instead,
 * handed over from thread to thread, left a core idle 10% of the time. */
struct cpuq;

int cpuq_new(unsigned nthreads, struct cpuq **out);
/* Joins the threads; no cpuq_run() may be running. */
void cpuq_free(struct cpuq *q);
/* Returns the milliseconds the call waited before it started. fn runs on
 * another thread: thread-local state (log context) is not the caller's. */
double cpuq_run(struct cpuq *q, void (*fn)(void *arg), void *arg);

/* Number of CPUs this process may run on (sched_getaffinity), >= 1. */
unsigned cpu_count(void);

#endif
