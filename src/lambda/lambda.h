/* bpecg-etl as an AWS Lambda function: a custom runtime (provided.al2023,
 * executable `bootstrap`) whose handler runs one batch of the same pipeline
 * as `run` (etl.h) per event.
 *
 * Events (one JSON object; DESIGN.md "Lambda events"):
 *   - chain, the seed's form: {"start_after", "batch_id", "run_id"}, all
 *     optional ({} starts a run at START_AFTER/BATCH_ID). The batch lists
 *     BATCH_SIZE PDFs after the cursor and, if the listing goes on, invokes
 *     the function asynchronously for the next batch (Invoke API, event
 *     {"start_after", "batch_id": N+1, "run_id", "chain_batches"}).
 *   - Step Functions Distributed Map: {"Items": [{"Key": k, "Index": i}],
 *     "BatchInput": {"run_id", "batch_id"}}: exactly those keys.
 *   - S3 notification: {"Records": [{"eventName": "ObjectCreated:Put",
 *     "s3": {"bucket": {"name"}, "object": {"key"}}}]}: keys URL-decoded.
 * Malformed events get an error response of type "InvalidEvent".
 *
 * Exactly-once continuation (chain): before its Parquet file is written,
 * batch N claims batch N+1 with a conditional write (If-None-Match: *) of
 * METADATA_PREFIX_chain/RUN_ID/batch_{N+1}.claim recording the cursor.
 * Only the invocation that wins the claim writes batch N's results and
 * invokes batch N+1, so a duplicate delivery never forks the chain; one
 * that finds the claim finishes what a crashed winner left undone (redoes
 * exactly the claimed keys if the Parquet file is missing, re-invokes N+1
 * if it never started) and otherwise does nothing. Every batch also marks
 * METADATA_PREFIX_chain/RUN_ID/batch_N.started when it begins.
 *
 * Not thread-safe: one invocation at a time (as Lambda delivers them). */
#ifndef ETL_LAMBDA_LAMBDA_H
#define ETL_LAMBDA_LAMBDA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "config/config.h"

struct lambda_handler;

/* What Lambda says about one invocation. */
struct lambda_invocation {
    const char *request_id;   /* "" when run locally */
    int64_t deadline_ms;      /* ms since the epoch; 0 = no deadline */
    const char *function_arn; /* invoked ARN, or NULL */
};

/* The handler's answer. body is the response JSON, or for an error the
 * Runtime API's {"errorMessage", "errorType", "stackTrace"} document. */
struct lambda_result {
    struct buf body;
    bool is_error;
    char error_type[64]; /* for Lambda-Runtime-Function-Error-Type */
    /* PDF workers were abandoned at the hard deadline: the process must
     * exit once the result is reported (Lambda then recycles the
     * sandbox). */
    bool must_exit;
    bool failed_rows; /* some PDF got a failed row */
};

void lambda_result_init(struct lambda_result *r);
void lambda_result_release(struct lambda_result *r);

/* Everything expensive, once per sandbox: the pipeline context (stores,
 * MuPDF, workers) and the Invoke API client. cfg must outlive the
 * handler. ETL_ECONFIG (err says why) for a bad setting. */
int lambda_handler_new(const struct etl_config *cfg,
                       struct lambda_handler **out, struct buf *err);
/* Must not be called after a result with must_exit. NULL-safe. */
void lambda_handler_free(struct lambda_handler *h);

/* Handle one event (len bytes of JSON). Always fills res. */
void lambda_handle(struct lambda_handler *h, const char *event, size_t len,
                   const struct lambda_invocation *inv,
                   struct lambda_result *res);

/* The custom runtime: settings from the environment, init once, then
 * events from AWS_LAMBDA_RUNTIME_API until the API fails or the sandbox
 * must be recycled. Returns the process exit status. */
int lambda_runtime_main(void);

#endif
