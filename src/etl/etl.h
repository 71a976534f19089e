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
#include "config/config.h"
#include "ecg/crops.h"

struct store;

struct etl_ctx;

enum etl_status { ETL_STATUS_SUCCESS, ETL_STATUS_PARTIAL, ETL_STATUS_FAILED };
#define ETL_STATUS_COUNT 3

const char *etl_status_name(enum etl_status s);

struct etl_batch_result {
    int64_t batch_id;
    size_t listed; /* PDFs in the batch (= rows written) */
    size_t by_status[ETL_STATUS_COUNT];
    /* Rows failed because an output (a crop) could not be written. */
    size_t output_failed;
    char *parquet_key; /* key in the destination, or NULL */
    /* EXTRACT_WAVEFORMS: key of the batch's waveform file in the
     * destination (written before the results file), or NULL. */
    char *waveform_key;
    char *last_key;         /* source key of the last row, or NULL */
    char *next_start_after; /* cursor for the next batch, or NULL */
    bool more;              /* the listing has more keys */
    /* Rows marked failed with error_type "timeout" because the PDF was
     * still in flight at the hard deadline (the context is then unusable:
     * see struct etl_batch_opts). */
    size_t abandoned;
    /* etl_run_keys: keys never started because the stop hook fired; each
     * has a failed "timeout" row. */
    size_t not_started;
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
 * failed: cannot list (ETL_EPROTO: the listing broke its contract), cannot
 * write the Parquet file, ETL_EDEST: the destination broke meanwhile
 * (etl_dest_problem; nothing is written), ETL_ECONFLICT: the batch's
 * results file exists and holds another key range (its footer's
 * bpecg.first_key/last_key, or its source_key column): it is never
 * replaced, whatever was asked (etl_batch_conflict). A rerun of the same
 * range rewrites it. */
int etl_run_batch(struct etl_ctx *c, int64_t batch_id, const char *start_after,
                  struct etl_batch_result *res);

/* Asked once a batch's rows are final, before its Parquet file is
 * written; res holds what the batch will report (counts, parquet_key not
 * yet set, last_key, next_start_after, more). Return 0 to write the file;
 * any other code skips the write and becomes the batch's return value
 * (e.g. ETL_EEXIST: another invocation already committed this batch). */
typedef int (*etl_commit_fn)(void *arg, const struct etl_batch_result *res);

/* Options of etl_run_batch_ex and etl_run_keys (NULL: all defaults). */
struct etl_batch_opts {
    /* CLOCK_REALTIME ms since the epoch; 0 = none. If PDFs are still in
     * flight then (a worker stuck in something MuPDF's time budget cannot
     * interrupt), the batch stops waiting: their rows are written as
     * failed with error_type "timeout", res->abandoned counts them, and
     * the cursor still follows the last PDF that got a row. The stuck
     * threads keep running, so after res->abandoned > 0 the context must
     * be neither used nor freed: report, then exit the process. */
    int64_t hard_deadline_ms;
    etl_commit_fn commit; /* NULL: always write */
    void *commit_arg;
};

/* etl_run_batch with options (Lambda's deadline and chain claims). */
int etl_run_batch_ex(struct etl_ctx *c, int64_t batch_id,
                     const char *start_after, const struct etl_batch_opts *o,
                     struct etl_batch_result *res);

/* Process exactly these source keys (object keys in the source store, in
 * this order) as batch batch_id: Step Functions Distributed Map batches,
 * S3 notifications, a chain batch redone. Every key gets exactly one row:
 * when the stop hook fires, keys not yet started get failed rows with
 * error_type "timeout" (res->not_started, res->more = true). When
 * res->abandoned > 0, keys must stay valid until the process exits.
 * next_start_after is always NULL. Returns 0 once the Parquet file is
 * written (none for n = 0). */
int etl_run_keys(struct etl_ctx *c, int64_t batch_id, const char *const *keys,
                 size_t n, const struct etl_batch_opts *o,
                 struct etl_batch_result *res);

/* Count the PDFs after start_after in the whole listing (for progress
 * display); gives up with ETL_ECANCELED once *stop is set. Thread-safe
 * against a running batch. */
int etl_count_pdfs(struct etl_ctx *c, const char *start_after,
                   const atomic_bool *stop, size_t *count);

/* Why the destination is broken (ETL_EDEST from a batch: PDFs in a row
 * could not write their outputs for a destination-wide reason), or NULL.
 * Set during a batch (which then starts no more PDFs), cleared when the
 * next batch starts. */
const char *etl_dest_problem(struct etl_ctx *c);

/* After ETL_ECONFLICT from a batch: which key range the existing results
 * file holds and the batch id to use instead (static until the next
 * batch). */
const char *etl_batch_conflict(const struct etl_ctx *c);

/* The run id used in outputs (from the config or generated). */
const char *etl_run_id(const struct etl_ctx *c);
/* Use run_id (at most 64 bytes of [A-Za-z0-9_.-]) for the batches that
 * follow, e.g. one Lambda chain's id. ETL_EINVAL otherwise. */
int etl_ctx_set_run_id(struct etl_ctx *c, const char *run_id);

/* The context's stores and key prefixes, for callers that keep their own
 * markers next to the results (Lambda's chain claims). The stores are
 * thread-safe and owned by the context; the prefixes are "" or end in '/'.
 * Valid for the context's life. */
struct store *etl_source_store(const struct etl_ctx *c);
struct store *etl_dest_store(const struct etl_ctx *c);
const char *etl_source_prefix(const struct etl_ctx *c);   /* PDFs */
const char *etl_metadata_prefix(const struct etl_ctx *c); /* Parquet */
/* The Parquet key of batch batch_id in the destination. Appends to out. */
int etl_parquet_key(const struct etl_ctx *c, int64_t batch_id, struct buf *out);
/* Where results go, for people: "<dest URL><METADATA_PREFIX>" and
 * "<dest URL><IMAGE_PREFIX>" (static for the context's life). */
const char *etl_results_location(const struct etl_ctx *c);
const char *etl_images_location(const struct etl_ctx *c);
/* "<dest URL><WAVEFORM_PREFIX>" with EXTRACT_WAVEFORMS=1, else NULL. */
const char *etl_waveforms_location(const struct etl_ctx *c);

/* Helpers exposed for tests. */

/* file_id for a source key: the key relative to the source prefix without
 * its lower-case ".pdf" suffix, percent-escaped so that it is a safe part
 * of an object key, valid UTF-8, and different for different keys (the
 * rule is in batch.c and README's Outputs). Appends to out. */
int etl_file_id(const char *key, const char *prefix, struct buf *out);
/* The key (relative to the source prefix) a file_id came from: the
 * inverse of etl_file_id. Appends to out; ETL_EINVAL for a malformed
 * escape. */
int etl_file_id_decode(const char *file_id, struct buf *out);
/* source_key's text for a key: the key itself when it is valid UTF-8,
 * else percent-escaped ('%' and each byte that is not part of valid UTF-8
 * written %XX), so that a Parquet STRING can hold it losslessly. Appends
 * to out. */
int etl_key_text(const char *key, struct buf *out);
/* True for keys ending in ".pdf", any case. */
bool etl_is_pdf_key(const char *key);

/* The files settings name (ecg/ parses, etl/ reads): read the file the
 * setting var names (cfg_file_read: at most 1 MiB, a regular file, opened
 * without blocking) and parse it. Messages name the variable when the
 * file cannot be read ("var=path: ..."), the file and the place when it
 * does not parse ("path: regions[2].x1: ..."). etl_load_fields() with
 * path NULL gives the built-in patterns only. ETL_ECONFIG, ETL_ENOMEM. */
int etl_load_crops(const char *var, const char *path, struct crop_set *out,
                   struct buf *err);
struct fields_set;
int etl_load_fields(const char *path, struct fields_set **out,
                    struct buf *err);

struct pdf_doc;
/* The crop page (0-based) as `run` chooses it: CROP_PAGE - 1, or for
 * CROP_PAGE=auto the first page of WAVEFORM_PAGES with vector ECG traces,
 * else the first that is a scanned image, else the first read, else 0.
 * Returns 0 or the ETL_EPDF_* code of a page that could not be read. */
int etl_crop_page(struct pdf_doc *doc, const struct etl_config *cfg, int *page);

#endif
