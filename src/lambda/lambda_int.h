/* Internals of the lambda module: event parsing (event.c), the Invoke API
 * client (invoke.c) and the chain's claim objects (chain.c). */
#ifndef ETL_LAMBDA_INT_H
#define ETL_LAMBDA_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "config/config.h"
#include "core/retry.h"

struct store;

/* ---- events (event.c) ---------------------------------------------------
 */

enum lambda_event_kind {
    LAMBDA_EVENT_CHAIN, /* seed or continuation */
    LAMBDA_EVENT_KEYS   /* Distributed Map batch or S3 notification */
};

#define LAMBDA_MAX_ITEMS 100000 /* keys in one event */
#define LAMBDA_SKIPPED_SHOWN 20 /* skipped keys named in a response */

struct lambda_skipped {
    char *key;
    const char *reason; /* static */
};

struct lambda_event {
    enum lambda_event_kind kind;
    const char *source; /* "chain", "distributed_map", "s3" (static) */
    char *run_id;       /* NULL: not given */

    /* chain */
    char *start_after; /* NULL: not given; "" given as empty or null */
    bool has_batch_id;
    int64_t batch_id;
    int64_t chain_batches; /* batches before this one in the chain */

    /* keys: PDFs to process, in event order, without duplicates */
    char **keys;
    size_t nkeys;
    bool has_keys_batch_id; /* BatchInput.batch_id or the items' Index */
    int64_t keys_batch_id;
    uint64_t keys_hash; /* FNV-1a of the records, for a stable batch id */
    size_t nskipped;    /* items or records not processed */
    struct lambda_skipped skipped[LAMBDA_SKIPPED_SHOWN];
    bool s3_test_event; /* S3's s3:TestEvent */
};

/* Keys an event may name: PDFs under prefix, and for S3 notifications
 * only records of bucket (NULL: any). */
struct lambda_event_filter {
    const char *bucket;
    const char *prefix;
};

/* Parse an event. ETL_EINVAL with one line in err ("Items[3].Key must be
 * a non-empty string") for a malformed one; ETL_ENOMEM. Release ev in
 * every case. */
int lambda_event_parse(const char *json, size_t len,
                       const struct lambda_event_filter *f,
                       struct lambda_event *ev, struct buf *err);
void lambda_event_release(struct lambda_event *ev);

/* True for a run id that may go into keys: 1..64 of [A-Za-z0-9_.-], not
 * "." or "..". */
bool lambda_run_id_valid(const char *s);

/* ---- Invoke API (invoke.c) ----------------------------------------------
 * POST /2015-03-31/functions/NAME/invocations with X-Amz-Invocation-Type:
 * Event, SigV4 for service "lambda", credentials from the standard chain,
 * endpoint AWS_ENDPOINT_URL_LAMBDA / AWS_ENDPOINT_URL or
 * https://lambda.REGION.amazonaws.com. Retries 429, 5xx and transport
 * failures with the store's backoff policy. Main thread only. */

struct lambda_invoker;

/* No I/O. ETL_ECONFIG (err says why) for a malformed endpoint or region. */
int lambda_invoker_new(const struct etl_config *cfg,
                       struct lambda_invoker **out, struct buf *err);
void lambda_invoker_free(struct lambda_invoker *v);

/* Queue an asynchronous invocation of function (a name, partial or full
 * ARN) with payload. 0 on HTTP 202; else ETL_EAUTH (403), ETL_ENOTFOUND
 * (404), ETL_ETHROTTLED, ETL_EHTTP, transport errors; detail says what the
 * service answered. */
int lambda_invoke_async(struct lambda_invoker *v, const char *function,
                        const char *payload, size_t len, struct buf *detail);

/* The URL an invocation of function goes to (for tests and logs). */
int lambda_invoke_url(const struct lambda_invoker *v, const char *function,
                      struct buf *url, struct buf *path);

/* ---- chain claims (chain.c) ---------------------------------------------
 * Objects under METADATA_PREFIX_chain/RUN_ID/ in the destination. */

struct chain_claim {
    int64_t batch_id;       /* the batch claimed (N+1) */
    int64_t from_batch;     /* the batch that claimed it (N) */
    char *start_after;      /* its cursor, or NULL for the beginning */
    char *prev_start_after; /* batch N's own cursor */
    char *last_key;         /* batch N's last PDF, or NULL (no PDF) */
    int64_t pdfs;           /* rows in batch N */
    bool more;              /* the listing goes on */
    bool invoke;            /* batch N+1 is to be invoked */
    char reason[32];        /* why not: "done", "kill_switch", ... */
    int64_t chain_batches;  /* batches before N+1 in the chain */
    char request_id[80];    /* the claiming invocation */
};

void chain_claim_release(struct chain_claim *c);

struct chain {
    struct store *dst;
    char *dir;         /* "{METADATA_PREFIX}_chain/{run_id}/" */
    char *global_stop; /* KILL_SWITCH_KEY or "{METADATA_PREFIX}_chain/STOP" */
    char *run_stop;    /* "{dir}STOP" */
};

int chain_open(struct chain *ch, struct store *dst, const char *meta_prefix,
               const char *kill_switch_key, const char *run_id);
void chain_close(struct chain *ch);

/* 1 when a kill switch object exists (*which names its key), 0 when none,
 * or a negative error. */
int chain_stopped(struct chain *ch, const char **which);

/* Read the claim of batch_id: 0, ETL_ENOTFOUND, or an error (ETL_EINVAL
 * for a malformed claim object). */
int chain_claim_read(struct chain *ch, int64_t batch_id,
                     struct chain_claim *out);
/* Write it if absent: 0, ETL_EEXIST (someone else claimed it) or an
 * error. */
int chain_claim_put(struct chain *ch, const struct chain_claim *c);

/* Mark batch_id as started (if absent). 0, ETL_EEXIST when it already was
 * (a redelivery), or an error. */
int chain_mark_started(struct chain *ch, int64_t batch_id,
                       const char *request_id, int64_t deadline_ms);
/* 1 if batch_id was started, 0 if not, or an error. */
int chain_was_started(struct chain *ch, int64_t batch_id);

/* The payload invoking batch c->batch_id. */
int chain_event_json(const char *run_id, const struct chain_claim *c,
                     struct buf *out);

/* ---- packaging (compat.c) ---------------------------------------------
 * 1 in the Lambda package's build (glibc 2.34 stand-ins linked), else 0. */
int lambda_compat_linked(void);

#endif
