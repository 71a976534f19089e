/* The MuPDF engine: base context, locks, allocator, limits and workers. */
#include <errno.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "pdf/pdf_int.h"

/* MuPDF 1.21 exports its PDF handler without declaring it in a public
 * header. Registering only it keeps the other formats' code out. */
extern fz_document_handler pdf_document_handler;

/* The worker whose operation runs on this thread (set by pdf_op_begin):
 * the allocator charges it and refuses allocations once its document's
 * deadline has passed. MuPDF calls the allocator from deep inside its own
 * code, so a thread-local is the only way to know who is asking. */
static _Thread_local struct pdf_worker *tls_worker;

/* FZ_LOCK_FREETYPE held by the calling thread (depth). MuPDF allocates
 * with that lock held (FreeType rendering a glyph), and an allocation that
 * fails there makes MuPDF scavenge its store, which may drop a font, which
 * takes FZ_LOCK_FREETYPE again: a deadlock of every thread that renders
 * text (fuzz_pdf found it, a deadline expiring mid-glyph). So while the
 * lock is held, allocations succeed whenever malloc does: glyph-sized, and
 * the next one outside the lock fails as usual. */
static _Thread_local int tls_freetype;

/* ------------------------------------------------------------------ */
/* Allocators. With a memory cap every block carries a header naming the
 * account it was charged to, so a block freed by another thread (the store
 * is shared) is credited back to the right worker. Without a cap the
 * header is skipped: MuPDF makes many small allocations. */

struct mem_hdr {
    alignas(max_align_t) struct pdf_account *acct;
    size_t size;
};

/* The calling thread works on a document whose time is up: fail the
 * allocation, so work that never looks at the cookie (decoding an image,
 * repairing a file) stops too. */
static bool op_expired(void)
{
    struct pdf_worker *w = tls_worker;
    return !tls_freetype && w && w->cur &&
           atomic_load_explicit(&w->cur->expired, memory_order_relaxed);
}

static void *plain_malloc(void *user, size_t size)
{
    (void)user;
    if (op_expired())
        return NULL;
    return malloc(size);
}

static void *plain_realloc(void *user, void *old, size_t size)
{
    (void)user;
    if (op_expired())
        return NULL;
    return realloc(old, size);
}

static void plain_free(void *user, void *ptr)
{
    (void)user;
    free(ptr);
}

static bool account_charge(struct pdf_account *a, size_t n)
{
    if (!a)
        return true;
    size_t used = atomic_fetch_add(&a->used, n) + n;
    if (a->cap && !tls_freetype && (used > a->cap || used < n)) {
        atomic_fetch_sub(&a->used, n);
        atomic_store(&a->refused, true);
        return false;
    }
    return true;
}

static void account_credit(struct pdf_account *a, size_t n)
{
    if (a)
        atomic_fetch_sub(&a->used, n);
}

static void *acct_malloc(void *user, size_t size)
{
    (void)user;
    struct pdf_worker *w = tls_worker;
    struct pdf_account *a = w ? w->acct : NULL;
    if (op_expired() || size > SIZE_MAX - sizeof(struct mem_hdr))
        return NULL;
    if (!account_charge(a, size))
        return NULL;
    struct mem_hdr *h = malloc(sizeof(*h) + size);
    if (!h) {
        account_credit(a, size);
        return NULL;
    }
    h->acct = a;
    h->size = size;
    return h + 1;
}

static void acct_free(void *user, void *ptr)
{
    (void)user;
    if (!ptr)
        return;
    struct mem_hdr *h = (struct mem_hdr *)ptr - 1;
    account_credit(h->acct, h->size);
    free(h);
}

static void *acct_realloc(void *user, void *old, size_t size)
{
    if (!old)
        return acct_malloc(user, size);
    if (size == 0) {
        acct_free(user, old);
        return NULL;
    }
    struct mem_hdr *h = (struct mem_hdr *)old - 1;
    struct pdf_account *a = h->acct;
    size_t old_size = h->size;
    if (size > SIZE_MAX - sizeof(*h))
        return NULL;
    if (size > old_size) {
        if (op_expired() || !account_charge(a, size - old_size))
            return NULL;
    }
    struct mem_hdr *n = realloc(h, sizeof(*h) + size);
    if (!n) {
        if (size > old_size)
            account_credit(a, size - old_size);
        return NULL;
    }
    if (size < old_size)
        account_credit(a, old_size - size);
    n->size = size;
    return n + 1;
}

/* ------------------------------------------------------------------ */
/* Locks and messages */

static void lock_fn(void *user, int lock)
{
    struct pdf_engine *e = user;
    pthread_mutex_lock(&e->locks[lock]);
    tls_freetype += lock == FZ_LOCK_FREETYPE;
}

static void unlock_fn(void *user, int lock)
{
    struct pdf_engine *e = user;
    tls_freetype -= lock == FZ_LOCK_FREETYPE;
    pthread_mutex_unlock(&e->locks[lock]);
}

/* Set from the last engine's limits; read by every worker's callbacks. */
static atomic_bool raw_messages;

const char *pdf_log_message(const char *msg, char *out, size_t size)
{
    if (!msg)
        return "";
    if (atomic_load_explicit(&raw_messages, memory_order_relaxed))
        return msg;
    /* The fixed part of MuPDF's messages is English text ("unknown
     * keyword", "syntax error in content stream"); what they quote or
     * number after it comes from the file, and a damaged content stream's
     * tokens are the page's own words. */
    size_t n = strcspn(msg, "'\"`()<>[]{}/:0123456789");
    while (n > 0 && (msg[n - 1] == ' ' || msg[n - 1] == ','))
        n--;
    bool cut = msg[n] != '\0';
    static const char tail[] = " [redacted]";
    if (size < sizeof(tail) + 1)
        return "[redacted]";
    if (n > size - sizeof(tail))
        n = size - sizeof(tail), cut = true;
    /* Only printable ASCII survives: a control byte is not a message's. */
    for (size_t i = 0; i < n; i++)
        out[i] = msg[i] >= 0x20 && msg[i] < 0x7f ? msg[i] : '?';
    if (cut)
        memcpy(out + n, tail, sizeof(tail));
    else
        out[n] = '\0';
    return out;
}

/* MuPDF prints to stderr by default; its messages are only useful when
 * debugging, and may quote the page (see pdf_log_message). */
static void warning_fn(void *user, const char *message)
{
    (void)user;
    char text[PDF_LOG_MESSAGE_MAX];
    LOGF(LOG_DEBUG, "mupdf_warning",
         LF_S("message", pdf_log_message(message, text, sizeof(text))));
}

static void error_fn(void *user, const char *message)
{
    (void)user;
    char text[PDF_LOG_MESSAGE_MAX];
    LOGF(LOG_DEBUG, "mupdf_error",
         LF_S("message", pdf_log_message(message, text, sizeof(text))));
}

static void set_callbacks(fz_context *ctx)
{
    fz_set_warning_callback(ctx, warning_fn, NULL);
    fz_set_error_callback(ctx, error_fn, NULL);
}

/* ------------------------------------------------------------------ */
/* Deadlines */

#define WATCHDOG_TICK_NS (10 * 1000000)

static void *watchdog_main(void *arg)
{
    struct pdf_engine *e = arg;
    pthread_mutex_lock(&e->reg_lock);
    while (!e->stopping) {
        if (!e->timed) {
            pthread_cond_wait(&e->reg_cond, &e->reg_lock);
            continue;
        }
        int64_t now = clock_mono_ns();
        for (struct pdf_doc *d = e->timed; d; d = d->next) {
            if (now >= d->deadline_ns && !atomic_load(&d->expired)) {
                atomic_store(&d->expired, true);
                /* MuPDF polls this plain int from the working thread. */
                __atomic_store_n(&d->cookie.abort, 1, __ATOMIC_RELAXED);
            }
        }
        int64_t wake = now + WATCHDOG_TICK_NS;
        struct timespec ts = {(time_t)(wake / 1000000000),
                              (long)(wake % 1000000000)};
        pthread_cond_timedwait(&e->reg_cond, &e->reg_lock, &ts);
    }
    pthread_mutex_unlock(&e->reg_lock);
    return NULL;
}

void pdf_deadline_arm(struct pdf_doc *d)
{
    struct pdf_engine *e = d->w->e;
    if (e->limits.timeout_ms <= 0 || !e->watchdog_running)
        return;
    pthread_mutex_lock(&e->reg_lock);
    d->deadline_ns = clock_mono_ns() + (int64_t)e->limits.timeout_ms * 1000000;
    d->prev = NULL;
    d->next = e->timed;
    if (e->timed)
        e->timed->prev = d;
    e->timed = d;
    pthread_cond_signal(&e->reg_cond);
    pthread_mutex_unlock(&e->reg_lock);
}

void pdf_deadline_disarm(struct pdf_doc *d)
{
    struct pdf_engine *e = d->w->e;
    if (!d->deadline_ns)
        return;
    pthread_mutex_lock(&e->reg_lock);
    if (d->prev)
        d->prev->next = d->next;
    else
        e->timed = d->next;
    if (d->next)
        d->next->prev = d->prev;
    d->prev = d->next = NULL;
    d->deadline_ns = 0;
    pthread_mutex_unlock(&e->reg_lock);
}

int pdf_op_begin(struct pdf_doc *d)
{
    if (atomic_load(&d->expired))
        return ETL_EPDF_TIMEOUT;
    struct pdf_worker *w = d->w;
    w->cur = d;
    tls_worker = w;
    if (w->acct)
        atomic_store(&w->acct->refused, false);
    return 0;
}

int pdf_op_end(struct pdf_doc *d, int rc)
{
    struct pdf_worker *w = d->w;
    bool refused = w->acct && atomic_load(&w->acct->refused);
    w->cur = NULL;
    tls_worker = NULL;
    if (atomic_load(&d->expired))
        return ETL_EPDF_TIMEOUT;
    if (refused)
        return ETL_EPDF_TOOCOMPLEX;
    return rc;
}

int pdf_caught_code(fz_context *ctx, int fallback)
{
    switch (fz_caught(ctx)) {
    case FZ_ERROR_MEMORY:
        return ETL_ENOMEM;
    case FZ_ERROR_ABORT:
        return ETL_EPDF_TIMEOUT;
    default:
        return fallback;
    }
}

/* ------------------------------------------------------------------ */
/* Engine and workers */

static int register_pdf(fz_context *ctx)
{
    int rc = 0;
    fz_var(rc);
    fz_try(ctx)
    {
        fz_register_document_handler(ctx, &pdf_document_handler);
    }
    fz_catch(ctx)
    {
        rc = pdf_caught_code(ctx, ETL_EPDF);
    }
    return rc;
}

const char *pdf_engine_version(void)
{
    return "MuPDF " FZ_VERSION;
}

int pdf_engine_new(const struct pdf_limits *limits, struct pdf_engine **out)
{
    int rc = 0;
    int nlocks = 0;
    bool reg_init = false;
    *out = NULL;
    struct pdf_engine *e = calloc(1, sizeof(*e));
    if (!e)
        return ETL_ENOMEM;
    pdfi_ftcache_init();
    if (limits)
        e->limits = *limits;
    if (e->limits.timeout_ms < 0 || e->limits.max_pages < 0 ||
        e->limits.max_region_pixels < 0) {
        rc = ETL_EINVAL;
        goto out;
    }
    if (!e->limits.max_store_bytes)
        e->limits.max_store_bytes = PDF_DEFAULT_STORE_BYTES;

    for (; nlocks < FZ_LOCK_MAX; nlocks++) {
        if (pthread_mutex_init(&e->locks[nlocks], NULL)) {
            rc = ETL_ENOMEM;
            goto out;
        }
    }
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca)) {
        rc = ETL_ENOMEM;
        goto out;
    }
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (pthread_mutex_init(&e->reg_lock, NULL)) {
        pthread_condattr_destroy(&ca);
        rc = ETL_ENOMEM;
        goto out;
    }
    if (pthread_cond_init(&e->reg_cond, &ca)) {
        pthread_mutex_destroy(&e->reg_lock);
        pthread_condattr_destroy(&ca);
        rc = ETL_ENOMEM;
        goto out;
    }
    pthread_condattr_destroy(&ca);
    reg_init = true;

    static const fz_alloc_context plain = {NULL, plain_malloc, plain_realloc,
                                           plain_free};
    static const fz_alloc_context accounting = {NULL, acct_malloc, acct_realloc,
                                                acct_free};
    fz_locks_context locks = {e, lock_fn, unlock_fn};
    atomic_store(&raw_messages, e->limits.raw_messages);
    e->ctx = fz_new_context(e->limits.max_memory ? &accounting : &plain, &locks,
                            e->limits.max_store_bytes);
    if (!e->ctx) {
        rc = ETL_ENOMEM;
        goto out;
    }
    set_callbacks(e->ctx);
    rc = register_pdf(e->ctx);
    if (rc)
        goto out;

    if (e->limits.timeout_ms > 0) {
        if (pthread_create(&e->watchdog, NULL, watchdog_main, e)) {
            rc = ETL_ENOMEM;
            goto out;
        }
        e->watchdog_running = true;
    }
    LOGF(LOG_DEBUG, "pdf_engine_new", LF_S("version", pdf_engine_version()),
         LF_I("max_store_bytes", e->limits.max_store_bytes),
         LF_I("timeout_ms", e->limits.timeout_ms),
         LF_I("max_memory", e->limits.max_memory));
    *out = e;
    return 0;

out:
    if (e->ctx)
        fz_drop_context(e->ctx);
    if (reg_init) {
        pthread_cond_destroy(&e->reg_cond);
        pthread_mutex_destroy(&e->reg_lock);
    }
    while (nlocks > 0)
        pthread_mutex_destroy(&e->locks[--nlocks]);
    free(e);
    return rc;
}

void pdf_engine_free(struct pdf_engine *e)
{
    if (!e)
        return;
    if (e->watchdog_running) {
        pthread_mutex_lock(&e->reg_lock);
        e->stopping = true;
        pthread_cond_signal(&e->reg_cond);
        pthread_mutex_unlock(&e->reg_lock);
        pthread_join(e->watchdog, NULL);
    }
    /* Drops the store, whose blocks still point at the accounts. */
    fz_drop_context(e->ctx);
    while (e->accounts) {
        struct pdf_account *a = e->accounts;
        e->accounts = a->next;
        free(a);
    }
    pthread_cond_destroy(&e->reg_cond);
    pthread_mutex_destroy(&e->reg_lock);
    for (int i = 0; i < FZ_LOCK_MAX; i++)
        pthread_mutex_destroy(&e->locks[i]);
    free(e);
}

int pdf_worker_new(struct pdf_engine *e, struct pdf_worker **out)
{
    *out = NULL;
    if (!e)
        return ETL_EINVAL;
    struct pdf_worker *w = calloc(1, sizeof(*w));
    if (!w)
        return ETL_ENOMEM;
    w->e = e;
    if (e->limits.max_memory) {
        struct pdf_account *a = calloc(1, sizeof(*a));
        if (!a) {
            free(w);
            return ETL_ENOMEM;
        }
        a->cap = e->limits.max_memory;
        pthread_mutex_lock(&e->reg_lock);
        a->next = e->accounts;
        e->accounts = a;
        pthread_mutex_unlock(&e->reg_lock);
        w->acct = a;
    }
    w->ctx = fz_clone_context(e->ctx);
    if (!w->ctx) {
        free(w); /* the account stays with the engine */
        return ETL_ENOMEM;
    }
    set_callbacks(w->ctx);
    *out = w;
    return 0;
}

void pdf_worker_free(struct pdf_worker *w)
{
    if (!w)
        return;
    fz_drop_context(w->ctx);
    free(w);
}
