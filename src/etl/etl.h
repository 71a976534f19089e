/* The batch pipeline: list PDFs, process each (read, open, text, crop
 * renders, JPEG, put), write one Parquet file of results per batch.
 *
 * An etl_ctx is long-lived (one per process, or per Lambda sandbox): it owns
 * the stores, the MuPDF engine, one worker state per thread and the thread
 * pool, so nothing expensive is created per batch or per PDF. Not
 * thread-safe itself: one batch at a time. */
#ifndef ETL_ETL_ETL_H
#define ETL_ETL_ETL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/cfg.h"
#include "etl/crops.h"

struct etl_ctx;

enum etl_status { ETL_STATUS_SUCCESS, ETL_STATUS_PARTIAL, ETL_STATUS_FAILED };
#define ETL_STATUS_COUNT 3

const char *etl_status_name(enum etl_status s);

struct etl_batch_result {
    int64_t batch_id;
    size_t listed; /* PDFs in the batch (= rows written) */
    size_t by_status[ETL_STATUS_COUNT];
    char *parquet_key;      /* key in the destination, or NULL */
    char *next_start_after; /* cursor for the next batch, or NULL */
    bool more;              /* the listing has more keys */
};

void etl_batch_result_release(struct etl_batch_result *r);

/* Called after each PDF finishes (from worker threads, serialised). */
typedef void (*etl_progress_fn)(void *arg, enum etl_status status);
/* Asked before each PDF starts; true makes the batch stop taking new PDFs
 * (Lambda's deadline). */
typedef bool (*etl_stop_fn)(void *arg);

/* Open the stores and the engine, start the workers. cfg must outlive the
 * context. On ETL_ECONFIG (bad crop regions, bad URL) err says why. */
int etl_ctx_new(const struct etl_config *cfg, struct etl_ctx **out,
                struct buf *err);
void etl_ctx_free(struct etl_ctx *c);

void etl_ctx_set_hooks(struct etl_ctx *c, etl_progress_fn progress,
                       etl_stop_fn stop, void *arg);

/* List up to BATCH_SIZE PDFs after start_after (NULL = from the start) and
 * process them as batch batch_id. A batch with no PDFs writes no Parquet
 * and reports more = false. Returns 0 when the batch's results were
 * written (whatever each PDF's status), or an error when the batch itself
 * failed (cannot list, cannot write the Parquet file). */
int etl_run_batch(struct etl_ctx *c, int64_t batch_id, const char *start_after,
                  struct etl_batch_result *res);

/* Count the PDFs after start_after in the whole listing (for progress
 * display); gives up with ETL_ECANCELED once *stop is set. Thread-safe
 * against a running batch. */
int etl_count_pdfs(struct etl_ctx *c, const char *start_after,
                   const atomic_bool *stop, size_t *count);

/* The run id used in outputs (from the config or generated). */
const char *etl_run_id(const struct etl_ctx *c);
/* Where results go, for people: "<dest URL><METADATA_PREFIX>" and
 * "<dest URL><IMAGE_PREFIX>" (static for the context's life). */
const char *etl_results_location(const struct etl_ctx *c);
const char *etl_images_location(const struct etl_ctx *c);

/* Helpers exposed for tests. */

/* file_id for a source key: the key relative to the source prefix without
 * its ".pdf" suffix (any case), made safe for use inside object keys.
 * Appends to out. */
int etl_file_id(const char *key, const char *prefix, struct buf *out);
/* True for keys ending in ".pdf", any case. */
bool etl_is_pdf_key(const char *key);

#endif
