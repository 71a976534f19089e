/* Internals shared by batch.c and process.c. */
#ifndef ETL_ETL_INT_H
#define ETL_ETL_INT_H

#include <pthread.h>

#include "core/pool.h"
#include "etl/etl.h"
#include "ecg/fields.h"
#include "ecg/waveform.h"
#include "img/img.h"
#include "pdf/pdf.h"
#include "store/storage.h"

/* One result row (DESIGN.md's schema). Strings are owned by the row. */
struct etl_row {
    char *source_key;
    char *file_id;
    char *source_etag;  /* NULL when the object could not be read */
    char sha256[65];    /* "" when the object could not be read */
    int64_t size_bytes; /* -1 = unknown */
    int page_count;     /* -1 = null (did not open) */
    int repaired;       /* -1 = null, 0, 1 */
    bool has_text;
    struct buf text;
    char **image_keys;
    size_t n_images;
    enum etl_status status;
    /* An output (a crop) could not be written: the row is failed, with
     * error_type file_put or s3_put, whatever else it got. */
    bool output_failed;
    const char *error_type; /* static string or NULL */
    struct buf error;       /* "" = null */
    double processing_time_ms;
    int64_t processed_at_ms;
    struct fields_result fields; /* measurements read from text */
    /* EXTRACT_WAVEFORMS: ETL_WAVE_NULL until the PDF's pages were read,
     * then an enum wave_status or ETL_WAVE_FAILED. The leads wait in wave
     * until the batch writes them to the waveform file, which releases
     * them; leads_extracted keeps their number for the results row. */
    int wave_status;
    int leads_extracted;
    struct wave_result wave;
};

#define ETL_WAVE_NULL (-1)
#define ETL_WAVE_FAILED ((int)WAVE_STATUS_COUNT)

/* Lead crops (CROP_LEADS, leads.c): per worker, reset for each PDF. */
#define ETL_MAX_LEAD_CROPS 64 /* = the leads one document may give */
#define ETL_LEAD_NAME_MAX 32  /* "lead_aVR_rhythm_12" and its NUL */
struct etl_leads;

int etl_leads_new(struct etl_leads **out);
void etl_leads_free(struct etl_leads *l);
void etl_leads_reset(struct etl_leads *l);
/* Render the strips info lists on page (0-based) and keep their pixels,
 * redacted and in mode as the crops are. A PDF's strips hold at most 24
 * million pixels: those past it are left out (etl_leads_over_budget). */
int etl_leads_add_page(struct etl_leads *l, struct pdf_doc *doc, int page,
                       int dpi, const struct wave_page_info *info,
                       const struct pdf_irect *redact, size_t nredact,
                       enum pdf_render_mode mode);
/* One JPEG per lead (its strips side by side) into jpegs[0..*n), with its
 * crop name ("lead_II", "lead_II_rhythm", "lead_V1_2") in names. */
int etl_leads_encode(struct etl_leads *l, struct img_jpeg *jpeg, int quality,
                     struct buf *jpegs, char (*names)[ETL_LEAD_NAME_MAX],
                     size_t *n_out);
bool etl_leads_over_budget(const struct etl_leads *l);

/* Per worker thread: everything reused from one PDF to the next. */
struct etl_worker {
    struct pdf_worker *pdf;
    struct img_jpeg *jpeg;
    struct buf bytes; /* the PDF */
    struct buf jpegs[CROP_MAX_REGIONS];
    struct pdf_layout *layout; /* the text page's, for measurements */
    /* Reading pages' vectors (EXTRACT_WAVEFORMS, CROP_LEADS or
     * CROP_PAGE=auto), else NULL. */
    struct pdf_vectors *vectors;
    struct etl_leads *leads; /* CROP_LEADS only, else NULL */
    struct buf lead_jpegs[ETL_MAX_LEAD_CROPS];
    char lead_names[ETL_MAX_LEAD_CROPS][ETL_LEAD_NAME_MAX];
    size_t n_lead_jpegs;
};

/* Whether a PDF's pages are read for their vectors. */
bool etl_reads_pages(const struct etl_config *cfg);

struct etl_ctx {
    const struct etl_config *cfg;
    struct crop_set crops;
    struct crop_set redact; /* REDACT_REGIONS; n = 0 when none */
    struct fields_set *fields;
    struct store *src, *dst;
    char *src_prefix;   /* listing prefix in src ("" or ends in '/') */
    char *image_prefix; /* key prefix in dst for images */
    char *meta_prefix;  /* key prefix in dst for Parquet files */
    char *wave_prefix;  /* key prefix in dst for waveform Parquet files */
    const char *get_error, *put_error;        /* "s3_get"/"file_get", ... */
    char *results_location, *images_location; /* for people */
    char *waveforms_location; /* NULL unless EXTRACT_WAVEFORMS */
    char run_id[72];
    char settings_hash[17];

    struct pdf_engine *engine;
    struct pool *pool;
    struct etl_worker *workers;
    unsigned nworkers;
    struct cpuq *cpu; /* runs the CPU-heavy part of each PDF, one per core */

    etl_progress_fn progress;
    etl_stop_fn stop;
    void *hook_arg;
    pthread_mutex_t hook_lock;

    /* The destination's health (etl_dest_note), guarded by dest_lock:
     * PDFs in a row whose outputs could not be written, and how. Once
     * dest_broken is set, no PDF starts and the batch fails with
     * ETL_EDEST (dest_reason says why). */
    pthread_mutex_t dest_lock;
    unsigned dest_streak; /* PDFs in a row with a failed put */
    unsigned dest_fatal;  /* ... of which with a destination-wide error */
    int dest_streak_rc;   /* the error they share, 0 if they differ */
    atomic_bool dest_broken;
    char dest_reason[512];
    /* ETL_ECONFLICT: what the existing results file holds and which
     * batch id to use instead (main thread only). */
    char conflict[1024];

    /* The batch in flight */
    int64_t batch_id;
    const char *const *keys;
    const int64_t *sizes;
    struct etl_row *rows;
};

void etl_process_pdf(struct etl_ctx *c, struct etl_worker *w, const char *key,
                     int64_t listed_size, struct etl_row *row);
/* After each PDF's puts: failed_rc is the first put error (0 if none
 * failed), any_ok whether some put succeeded, what names the failure for
 * dest_reason. Marks the destination broken after ETL_DEST_FATAL_STREAK
 * PDFs in a row failed with a destination-wide error (no space, read-only,
 * a file where a folder must be, access denied, no such bucket), or
 * ETL_DEST_SAME_STREAK in a row with the same error; a PDF whose put
 * succeeded ends the streak. Thread-safe. */
#define ETL_DEST_FATAL_STREAK 3
#define ETL_DEST_SAME_STREAK 8
void etl_dest_note(struct etl_ctx *c, int failed_rc, bool any_ok,
                   const char *what);
/* Fills a row for a key that was not processed (etl_process_pdf's start):
 * source_key, file_id, nulls. ETL_ENOMEM. */
int etl_row_init(const struct etl_ctx *c, const char *key, int64_t size,
                 struct etl_row *row);
void etl_row_release(struct etl_row *row);
/* "extracted", "raster_only", "no_traces", "failed"; NULL for
 * ETL_WAVE_NULL. */
const char *etl_wave_status_name(int wave_status);

#endif
