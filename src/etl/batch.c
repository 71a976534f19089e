/* Batches: list, fan out over the worker pool, collect rows in listing
 * order, write the Parquet file(s): with EXTRACT_WAVEFORMS the leads are
 * streamed into the batch's waveform file as PDFs finish, in listing order,
 * and that file is stored before the results file (the batch's commit
 * marker). */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/codec.h"
#include "core/err.h"
#include "core/log.h"
#include "core/utf8.h"
#include "etl/etl_int.h"
#include "pq/pq.h"

const char *etl_status_name(enum etl_status s)
{
    static const char *const names[] = {"success", "partial", "failed"};
    return (unsigned)s < ETL_STATUS_COUNT ? names[s] : "failed";
}

bool etl_is_pdf_key(const char *key)
{
    size_t n = strlen(key);
    /* ".pdf" alone too: a listing's every object ending in .pdf gets a
     * row (its file_id is %2Epdf). */
    return n >= 4 && strcasecmp(key + n - 4, ".pdf") == 0;
}

/* The rule (README, Outputs): file_id is the key relative to the source
 * prefix without its final ".pdf" when that is lower case and leaves a
 * name; any other ".pdf" ("x.PDF", "dir/.pdf") stays, its dot written
 * "%2E", so x.pdf and x.PDF get x and x%2EPDF. Bytes are kept except
 * '%', '\', C0 and C1 control characters, DEL and bytes that are not
 * valid UTF-8, each written %XX (upper-case hex); so are the dots of a "."
 * or ".." segment and a '/' that would start an empty segment. Every '%'
 * of the result starts an escape, so decoding the escapes gives back the
 * bytes, and the id ends in "%2E" plus three letters p, d, f exactly when
 * the suffix was kept: the mapping is one-to-one and reversible
 * (etl_file_id_decode), whatever the keys, without seeing the listing. */
int etl_file_id(const char *key, const char *prefix, struct buf *out)
{
    size_t plen = strlen(prefix);
    if (plen && strncmp(key, prefix, plen) == 0)
        key += plen;
    size_t n = strlen(key);
    bool pdf = n >= 4 && strcasecmp(key + n - 4, ".pdf") == 0;
    bool keep = pdf && (strcmp(key + n - 4, ".pdf") != 0 || n == 4 ||
                        key[n - 5] == '/');
    size_t stem = pdf && !keep ? n - 4 : n;
    const unsigned char *k = (const unsigned char *)key;
    size_t seg = 0; /* start of the current segment in key */
    for (size_t i = 0; i < stem;) {
        unsigned char ch = k[i];
        int rc = 0;
        if (ch == '/') {
            rc = i == seg ? codec_percent_byte(out, ch) : buf_addch(out, '/');
            seg = i + 1;
            i++;
        } else if (ch == '.' && i == seg &&
                   (i + 1 == stem || k[i + 1] == '/' ||
                    (k[i + 1] == '.' && (i + 2 == stem || k[i + 2] == '/')))) {
            /* A "." or ".." segment. */
            size_t dots = i + 1 < stem && k[i + 1] == '.' ? 2 : 1;
            for (size_t d = 0; !rc && d < dots; d++)
                rc = codec_percent_byte(out, '.');
            i += dots;
        } else if (keep && i == n - 4) {
            rc = codec_percent_byte(out, '.');
            i++;
        } else if (ch == '%' || ch == '\\' || ch < 0x20 || ch == 0x7f) {
            rc = codec_percent_byte(out, ch);
            i++;
        } else if (ch < 0x80) {
            rc = buf_addch(out, (char)ch);
            i++;
        } else {
            size_t len = utf8_seq_len(k + i, stem - i);
            if (len == 0 || (ch == 0xC2 && k[i + 1] < 0xA0)) {
                /* Not UTF-8, or a C1 control (U+0080..U+009F). */
                rc = codec_percent_byte(out, ch);
                if (!rc && len)
                    rc = codec_percent_byte(out, k[i + 1]);
                i += len ? len : 1;
            } else {
                rc = buf_add(out, key + i, len);
                i += len;
            }
        }
        if (rc)
            return rc;
    }
    return 0;
}

int etl_file_id_decode(const char *file_id, struct buf *out)
{
    size_t n = strlen(file_id);
    bool kept = n >= 6 && strncmp(file_id + n - 6, "%2E", 3) == 0 &&
                strcasecmp(file_id + n - 3, "pdf") == 0;
    for (size_t i = 0; i < n; i++) {
        int rc;
        if (file_id[i] != '%') {
            rc = buf_addch(out, file_id[i]);
        } else {
            int hi =
                i + 2 < n ? codec_hex_value((unsigned char)file_id[i + 1]) : -1;
            int lo =
                hi < 0 ? -1 : codec_hex_value((unsigned char)file_id[i + 2]);
            if (lo < 0)
                return ETL_EINVAL;
            rc = buf_addch(out, (char)(hi * 16 + lo));
            i += 2;
        }
        if (rc)
            return rc;
    }
    return kept ? 0 : buf_addstr(out, ".pdf");
}

int etl_key_text(const char *key, struct buf *out)
{
    size_t n = strlen(key);
    if (utf8_valid(key, n))
        return buf_add(out, key, n);
    const unsigned char *k = (const unsigned char *)key;
    for (size_t i = 0; i < n;) {
        size_t len = k[i] == '%' ? 0 : utf8_seq_len(k + i, n - i);
        int rc =
            len ? buf_add(out, key + i, len) : codec_percent_byte(out, k[i]);
        if (rc)
            return rc;
        i += len ? len : 1;
    }
    return 0;
}

/* Where SOURCE_BUCKET / DEST_BUCKET point: a URL, a directory, or a bare
 * bucket name (the seed's form). */
static int bucket_url(const char *bucket, struct buf *url)
{
    struct stat st;
    if (strstr(bucket, "://") || strchr(bucket, '/') ||
        (stat(bucket, &st) == 0 && S_ISDIR(st.st_mode)))
        return buf_addstr(url, bucket);
    return buf_printf(url, "s3://%s/", bucket);
}

static int open_side(const char *what, const char *bucket, bool is_url,
                     bool must_exist, struct store **st, char **url_prefix,
                     struct buf *err)
{
    struct buf url = BUF_INIT;
    int rc = is_url ? buf_addstr(&url, bucket) : bucket_url(bucket, &url);
    if (!rc)
        rc = store_open(url.data, must_exist, st, url_prefix);
    if (rc) {
        /* The store's detail names the setting at fault, if any. */
        const char *detail = store_last_error();
        buf_printf(err, "%s %s: %s%s%s%s", what, url.data, etl_strerror(rc),
                   *detail ? " (" : "", detail, *detail ? ")" : "");
        if (rc == ETL_EINVAL || rc == ETL_ENOTSUP)
            rc = ETL_ECONFIG;
    }
    buf_release(&url);
    return rc;
}

static char *concat(const char *a, const char *b)
{
    struct buf s = BUF_INIT;
    if (buf_addstr(&s, a) || buf_addstr(&s, b)) {
        buf_release(&s);
        return NULL;
    }
    return buf_detach(&s, NULL);
}

static void make_run_id(char *out, size_t size)
{
    unsigned char rnd[4] = {0};
    struct tm tm;
    time_t now = time(NULL);
    gmtime_r(&now, &tm);
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
        memset(rnd, 0, sizeof(rnd)); /* still unique enough with the time */
    size_t n = strftime(out, size, "%Y%m%dT%H%M%SZ", &tm);
    snprintf(out + n, size - n, "-%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2],
             rnd[3]);
}

int etl_ctx_new(const struct etl_config *cfg, struct etl_ctx **out,
                struct buf *err)
{
    int rc;
    *out = NULL;
    struct etl_ctx *c = calloc(1, sizeof(*c));
    if (!c)
        return ETL_ENOMEM;
    c->cfg = cfg;
    pthread_mutex_init(&c->hook_lock, NULL);
    pthread_mutex_init(&c->dest_lock, NULL);

    if (cfg->crop_regions)
        rc = crops_parse(cfg->crop_regions, "CROP_REGIONS", &c->crops, err);
    else if (cfg->crop_regions_file)
        rc = etl_load_crops("CROP_REGIONS_FILE", cfg->crop_regions_file,
                             &c->crops, err);
    else
        crops_default(&c->crops), rc = 0;
    if (rc)
        goto fail;
    if (cfg->redact_regions)
        rc =
            crops_parse(cfg->redact_regions, "REDACT_REGIONS", &c->redact, err);
    else if (cfg->redact_regions_file)
        rc = etl_load_crops("REDACT_REGIONS_FILE", cfg->redact_regions_file,
                             &c->redact, err);
    if (rc)
        goto fail;
    rc = etl_load_fields(cfg->field_patterns_file, &c->fields, err);
    if (rc)
        goto fail;

    if (!cfg->source_bucket || !cfg->dest_bucket) {
        buf_addstr(err, !cfg->source_bucket
                            ? "no source: give --source URL or SOURCE_BUCKET"
                            : "no destination: give --dest URL or DEST_BUCKET");
        rc = ETL_ECONFIG;
        goto fail;
    }
    char *src_url_prefix = NULL, *dst_url_prefix = NULL;
    store_allow_http(cfg->allow_http);
    rc = open_side("source", cfg->source_bucket, cfg->source_is_url, true,
                   &c->src, &src_url_prefix, err);
    if (rc)
        goto fail;
    c->src_prefix = cfg->source_is_url
                        ? src_url_prefix
                        : concat(src_url_prefix, cfg->pdf_prefix);
    if (!cfg->source_is_url)
        free(src_url_prefix);
    rc = open_side("destination", cfg->dest_bucket, cfg->dest_is_url, false,
                   &c->dst, &dst_url_prefix, err);
    if (rc)
        goto fail;
    struct retry_policy retry = {cfg->retry_max_attempts,
                                 cfg->retry_initial_wait, cfg->retry_max_wait};
    store_set_retry(c->src, &retry);
    store_set_retry(c->dst, &retry);
    c->image_prefix = concat(dst_url_prefix, cfg->image_prefix);
    c->meta_prefix = concat(dst_url_prefix, cfg->metadata_prefix);
    if (cfg->extract_waveforms)
        c->wave_prefix = concat(dst_url_prefix, cfg->waveform_prefix);
    free(dst_url_prefix);
    if (c->image_prefix && c->meta_prefix) {
        const char *root = store_name(c->dst);
        const char *sep = root[strlen(root) - 1] == '/' ? "" : "/";
        struct buf a = BUF_INIT, b = BUF_INIT;
        buf_printf(&a, "%s%s%s", root, sep, c->meta_prefix);
        buf_printf(&b, "%s%s%s", root, sep, c->image_prefix);
        c->results_location = buf_detach(&a, NULL);
        c->images_location = buf_detach(&b, NULL);
        if (c->wave_prefix) {
            buf_printf(&a, "%s%s%s", root, sep, c->wave_prefix);
            c->waveforms_location = buf_detach(&a, NULL);
        }
    }
    if (!c->src_prefix || !c->image_prefix || !c->meta_prefix ||
        !c->results_location || !c->images_location ||
        (cfg->extract_waveforms &&
         (!c->wave_prefix || !c->waveforms_location))) {
        rc = ETL_ENOMEM;
        goto fail;
    }
    bool src_s3 = strncmp(store_name(c->src), "s3://", 5) == 0;
    bool dst_s3 = strncmp(store_name(c->dst), "s3://", 5) == 0;
    c->get_error = src_s3 ? "s3_get" : "file_get";
    c->put_error = dst_s3 ? "s3_put" : "file_put";

    if (cfg->run_id)
        snprintf(c->run_id, sizeof(c->run_id), "%s", cfg->run_id);
    else
        make_run_id(c->run_id, sizeof(c->run_id));
    struct buf crops_text = BUF_INIT;
    buf_addstr(&crops_text, c->crops.unit == CROP_UNIT_PX ? "px" : "pt");
    for (size_t i = 0; i < c->crops.n; i++) {
        const struct crop_region *r = &c->crops.regions[i];
        buf_printf(&crops_text, ";%s:%.17g,%.17g,%.17g,%.17g", r->name, r->x0,
                   r->y0, r->x1, r->y1);
    }
    /* Redactions change the images and site patterns the measurement
     * columns; without them the text (and the hash) is what it was. */
    if (c->redact.n)
        buf_addstr(&crops_text, c->redact.unit == CROP_UNIT_PX ? "|redact:px"
                                                               : "|redact:pt");
    for (size_t i = 0; i < c->redact.n; i++) {
        const struct crop_region *r = &c->redact.regions[i];
        buf_printf(&crops_text, ";%.17g,%.17g,%.17g,%.17g", r->x0, r->y0, r->x1,
                   r->y1);
    }
    if (cfg->field_patterns_file) {
        buf_addstr(&crops_text, "|fields:");
        fields_describe(c->fields, &crops_text);
    }
    cfg_hash(cfg, crops_text.data, c->settings_hash);
    buf_release(&crops_text);

    /* The memory cap is what stops a decompression bomb: the time budget
     * alone cannot interrupt one giant image decode. The pixel cap bounds a
     * region on a gigantic page (e.g. 14400 pt at 600 dpi). */
    struct pdf_limits lim = {0};
    lim.timeout_ms = cfg->pdf_timeout_ms;
    lim.max_memory = (size_t)cfg->pdf_max_memory_mb << 20;
    lim.max_region_pixels = 100 * 1000 * 1000;
    /* A page tree may claim any /Count (2^31 - 1 in a hostile file), which
     * would land in page_count; TEXT_PAGE and CROP_PAGE go up to 100000. */
    lim.max_pages = 100000;
    lim.raw_messages = cfg->debug_payloads > 0;
    rc = pdf_engine_new(&lim, &c->engine);
    if (rc) {
        buf_printf(err, "starting MuPDF: %s", etl_strerror(rc));
        goto fail;
    }
    c->nworkers = (unsigned)cfg->concurrency;
    c->workers = calloc(c->nworkers, sizeof(*c->workers));
    if (!c->workers) {
        rc = ETL_ENOMEM;
        goto fail;
    }
    for (unsigned i = 0; i < c->nworkers; i++) {
        struct etl_worker *w = &c->workers[i];
        buf_init(&w->bytes, 0);
        for (size_t j = 0; j < CROP_MAX_REGIONS; j++)
            buf_init(&w->jpegs[j], 0);
        rc = pdf_worker_new(c->engine, &w->pdf);
        if (!rc)
            rc = img_jpeg_new(&w->jpeg);
        if (!rc)
            rc = pdf_layout_new(&w->layout);
        for (size_t j = 0; j < ETL_MAX_LEAD_CROPS; j++)
            buf_init(&w->lead_jpegs[j], 0);
        if (!rc && etl_reads_pages(cfg))
            rc = pdf_vectors_new(&w->vectors);
        if (!rc && cfg->crop_leads)
            rc = etl_leads_new(&w->leads);
        if (rc)
            goto fail;
    }
    rc = pool_new(c->nworkers, &c->pool);
    if (!rc) {
        unsigned cores = cpu_count();
        rc = cpuq_new(cores < c->nworkers ? cores : c->nworkers, &c->cpu);
    }
    if (rc)
        goto fail;
    *out = c;
    return 0;
fail:
    if (rc == ETL_ENOMEM && !err->len)
        buf_addstr(err, "out of memory");
    etl_ctx_free(c);
    return rc;
}

void etl_ctx_free(struct etl_ctx *c)
{
    if (!c)
        return;
    pool_free(c->pool);
    cpuq_free(c->cpu);
    for (unsigned i = 0; c->workers && i < c->nworkers; i++) {
        struct etl_worker *w = &c->workers[i];
        pdf_worker_free(w->pdf);
        img_jpeg_free(w->jpeg);
        pdf_layout_free(w->layout);
        pdf_vectors_free(w->vectors);
        etl_leads_free(w->leads);
        buf_release(&w->bytes);
        for (size_t j = 0; j < CROP_MAX_REGIONS; j++)
            buf_release(&w->jpegs[j]);
        for (size_t j = 0; j < ETL_MAX_LEAD_CROPS; j++)
            buf_release(&w->lead_jpegs[j]);
    }
    free(c->workers);
    pdf_engine_free(c->engine);
    fields_free(c->fields);
    store_free(c->src);
    store_free(c->dst);
    free(c->src_prefix);
    free(c->image_prefix);
    free(c->meta_prefix);
    free(c->wave_prefix);
    free(c->results_location);
    free(c->images_location);
    free(c->waveforms_location);
    pthread_mutex_destroy(&c->hook_lock);
    pthread_mutex_destroy(&c->dest_lock);
    free(c);
}

void etl_ctx_set_hooks(struct etl_ctx *c, etl_progress_fn progress,
                       etl_stop_fn stop, void *arg)
{
    c->progress = progress;
    c->stop = stop;
    c->hook_arg = arg;
}

const char *etl_run_id(const struct etl_ctx *c)
{
    return c->run_id;
}

int etl_ctx_set_run_id(struct etl_ctx *c, const char *run_id)
{
    size_t n = strlen(run_id);
    if (n == 0 || n > 64 ||
        strspn(run_id, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                       "abcdefghijklmnopqrstuvwxyz"
                       "0123456789_.-") != n ||
        strcmp(run_id, ".") == 0 || strcmp(run_id, "..") == 0)
        return ETL_EINVAL;
    memcpy(c->run_id, run_id, n + 1);
    return 0;
}

struct store *etl_source_store(const struct etl_ctx *c)
{
    return c->src;
}

struct store *etl_dest_store(const struct etl_ctx *c)
{
    return c->dst;
}

const char *etl_source_prefix(const struct etl_ctx *c)
{
    return c->src_prefix;
}

const char *etl_metadata_prefix(const struct etl_ctx *c)
{
    return c->meta_prefix;
}

int etl_parquet_key(const struct etl_ctx *c, int64_t batch_id, struct buf *out)
{
    return buf_printf(out, "%sbatch_%06lld.parquet", c->meta_prefix,
                      (long long)batch_id);
}

const char *etl_results_location(const struct etl_ctx *c)
{
    return c->results_location;
}

const char *etl_images_location(const struct etl_ctx *c)
{
    return c->images_location;
}

const char *etl_dest_problem(struct etl_ctx *c)
{
    if (!atomic_load(&c->dest_broken))
        return NULL;
    /* Written once, before dest_broken was set. */
    return c->dest_reason;
}

const char *etl_waveforms_location(const struct etl_ctx *c)
{
    return c->waveforms_location;
}

void etl_batch_result_release(struct etl_batch_result *r)
{
    free(r->parquet_key);
    free(r->waveform_key);
    free(r->last_key);
    free(r->next_start_after);
    memset(r, 0, sizeof(*r));
}

/* One batch in flight, shared with the pool's workers. When tasks are
 * abandoned at the hard deadline, the workers still running them keep
 * using it (and the keys), so it is then leaked on purpose: the process is
 * about to exit. */
struct wave_sink;

struct batch_run {
    struct etl_ctx *c;
    int64_t batch_id;
    const char *const *keys;
    const int64_t *sizes;
    size_t n;
    struct etl_row *rows;
    unsigned char *state; /* per task, enum task_state */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    size_t entered; /* 1 + the highest task number that started */
    size_t started; /* pool_run's result, once pool_done */
    bool pool_done;
    bool abandoned;
    /* EXTRACT_WAVEFORMS: where finished tasks' leads go, in task order
     * (NULL otherwise). A task starts only within window tasks of the
     * first one not yet written, which bounds the leads held in memory. */
    struct wave_sink *sink;
    size_t window;
};

enum task_state { TASK_IDLE, TASK_RUNNING, TASK_DONE };

static void wave_drain(struct batch_run *b);
static size_t wave_next(const struct batch_run *b);

static void run_task(void *arg, size_t task, unsigned worker)
{
    struct batch_run *b = arg;
    struct etl_ctx *c = b->c;
    pthread_mutex_lock(&b->lock);
    /* The first unwritten task is always running (tasks start in order),
     * so this wait ends, or the batch is abandoned. */
    while (b->sink && !b->abandoned && task >= wave_next(b) + b->window)
        pthread_cond_wait(&b->cond, &b->lock);
    bool skip = b->abandoned;
    if (!skip) {
        b->state[task] = TASK_RUNNING;
        if (task + 1 > b->entered)
            b->entered = task + 1;
    }
    pthread_mutex_unlock(&b->lock);
    if (skip)
        return; /* claimed after the batch stopped waiting: not part of it */
    struct etl_row *row = &b->rows[task];
    etl_process_pdf(c, &c->workers[worker], b->keys[task],
                    b->sizes ? b->sizes[task] : -1, row);
    LOGF(row->status == ETL_STATUS_SUCCESS
             ? (log_progress_active() ? LOG_DEBUG : LOG_INFO)
             : LOG_WARN,
         "pdf_processed", LF_I("batch_id", b->batch_id),
         LF_S("file_id", row->file_id),
         LF_S("status", etl_status_name(row->status)),
         LF_S("error_type", row->error_type),
         LF_D("processing_time_ms", row->processing_time_ms),
         LF_I("images_extracted", row->n_images));
    /* The row is final before it is marked done: once the batch has
     * stopped waiting, it reads only rows marked done at that moment. */
    pthread_mutex_lock(&b->lock);
    bool late = b->abandoned;
    b->state[task] = TASK_DONE;
    pthread_mutex_unlock(&b->lock);
    if (!late)
        wave_drain(b);
    if (c->progress && !late) {
        pthread_mutex_lock(&c->hook_lock);
        c->progress(c->hook_arg, row->status);
        pthread_mutex_unlock(&c->hook_lock);
    }
}

static bool run_stop(void *arg)
{
    struct batch_run *b = arg;
    pthread_mutex_lock(&b->lock);
    bool abandoned = b->abandoned;
    pthread_mutex_unlock(&b->lock);
    return abandoned || atomic_load(&b->c->dest_broken) ||
           (b->c->stop && b->c->stop(b->c->hook_arg));
}

enum {
    COL_BATCH_ID,
    COL_FILE_ID,
    COL_SOURCE_KEY,
    COL_SOURCE_ETAG,
    COL_SHA256,
    COL_SIZE_BYTES,
    COL_PAGE_COUNT,
    COL_REPAIRED,
    COL_TEXT,
    COL_IMAGE_KEYS,
    COL_IMAGES_EXTRACTED,
    COL_STATUS,
    COL_ERROR_TYPE,
    COL_ERROR,
    COL_PROCESSING_TIME_MS,
    COL_PROCESSED_AT,
    /* Measurements, appended so earlier columns keep their positions; the
     * first nine follow enum fields_id. */
    COL_VENT_RATE_BPM,
    COL_ATRIAL_RATE_BPM,
    COL_PR_INTERVAL_MS,
    COL_QRS_DURATION_MS,
    COL_QT_MS,
    COL_QTC_MS,
    COL_P_AXIS_DEG,
    COL_R_AXIS_DEG,
    COL_T_AXIS_DEG,
    COL_INTERPRETATION,
    COL_ACQUIRED_AT,
    COL_FIELDS_REJECTED,
    /* Waveforms (EXTRACT_WAVEFORMS), appended likewise. */
    COL_LEADS_EXTRACTED,
    COL_WAVEFORM_STATUS,
    /* Where each measurement came from, appended likewise. */
    COL_FIELDS_SOURCE,
    COL_COUNT
};
_Static_assert(COL_T_AXIS_DEG - COL_VENT_RATE_BPM + 1 == FIELDS_NUMERIC,
               "one column per numeric field");

static const struct pq_column result_columns[COL_COUNT] = {
    [COL_BATCH_ID] = {"batch_id", PQ_INT64, false, false, true},
    [COL_FILE_ID] = {"file_id", PQ_STRING, false, false, false},
    [COL_SOURCE_KEY] = {"source_key", PQ_STRING, false, false, false},
    [COL_SOURCE_ETAG] = {"source_etag", PQ_STRING, true, false, false},
    [COL_SHA256] = {"sha256", PQ_STRING, true, false, false},
    [COL_SIZE_BYTES] = {"size_bytes", PQ_INT64, true, false, false},
    [COL_PAGE_COUNT] = {"page_count", PQ_INT32, true, false, false},
    [COL_REPAIRED] = {"repaired", PQ_BOOLEAN, true, false, false},
    [COL_TEXT] = {"text", PQ_STRING, true, false, false},
    [COL_IMAGE_KEYS] = {"image_keys", PQ_STRING, false, true, false},
    [COL_IMAGES_EXTRACTED] = {"images_extracted", PQ_INT32, false, false,
                              false},
    [COL_STATUS] = {"status", PQ_STRING, false, false, true},
    [COL_ERROR_TYPE] = {"error_type", PQ_STRING, true, false, true},
    [COL_ERROR] = {"error", PQ_STRING, true, false, false},
    [COL_PROCESSING_TIME_MS] = {"processing_time_ms", PQ_DOUBLE, false, false,
                                false},
    [COL_PROCESSED_AT] = {"processed_at", PQ_TIMESTAMP_MS, false, false, false},
    [COL_VENT_RATE_BPM] = {"vent_rate_bpm", PQ_INT32, true, false, false},
    [COL_ATRIAL_RATE_BPM] = {"atrial_rate_bpm", PQ_INT32, true, false, false},
    [COL_PR_INTERVAL_MS] = {"pr_interval_ms", PQ_INT32, true, false, false},
    [COL_QRS_DURATION_MS] = {"qrs_duration_ms", PQ_INT32, true, false, false},
    [COL_QT_MS] = {"qt_ms", PQ_INT32, true, false, false},
    [COL_QTC_MS] = {"qtc_ms", PQ_INT32, true, false, false},
    [COL_P_AXIS_DEG] = {"p_axis_deg", PQ_INT32, true, false, false},
    [COL_R_AXIS_DEG] = {"r_axis_deg", PQ_INT32, true, false, false},
    [COL_T_AXIS_DEG] = {"t_axis_deg", PQ_INT32, true, false, false},
    /* Statements repeat across reports: a dictionary pays. */
    [COL_INTERPRETATION] = {"interpretation", PQ_STRING, true, true, true},
    /* The report's wall-clock time, stored as if it were UTC. */
    [COL_ACQUIRED_AT] = {"acquired_at", PQ_TIMESTAMP_MS, true, false, false},
    [COL_FIELDS_REJECTED] = {"fields_rejected", PQ_INT32, false, false, false},
    [COL_LEADS_EXTRACTED] = {"leads_extracted", PQ_INT32, true, false, false},
    [COL_WAVEFORM_STATUS] = {"waveform_status", PQ_STRING, true, false, true},
    /* "field=label" entries repeat across reports: a dictionary pays. */
    [COL_FIELDS_SOURCE] = {"fields_source", PQ_STRING, true, true, true},
};

static int set_opt_str(struct pq_writer *w, size_t col, const char *s,
                       size_t len)
{
    return s ? pq_set_str(w, col, s, len) : pq_set_null(w, col);
}

static int write_fields(struct pq_writer *w, const struct fields_result *f)
{
    int rc = 0;
    for (int i = 0; !rc && i < FIELDS_NUMERIC; i++) {
        size_t col = COL_VENT_RATE_BPM + (size_t)i;
        assert(strcmp(result_columns[col].name,
                      fields_name((enum fields_id)i)) == 0);
        rc = f->has[i] ? pq_set_i32(w, col, f->value[i]) : pq_set_null(w, col);
    }
    if (!rc)
        rc = f->has_interpretation ? pq_list_begin(w, COL_INTERPRETATION)
                                   : pq_set_null(w, COL_INTERPRETATION);
    for (size_t i = 0; !rc && i < f->nstatements; i++) {
        rc = pq_set_str(w, COL_INTERPRETATION, f->statements[i],
                        strlen(f->statements[i]));
        /* Text was sanitised to UTF-8, but a statement must never cost
         * the row. */
        if (rc == ETL_EINVAL)
            rc = 0;
    }
    if (!rc)
        rc = f->has_acquired ? pq_set_i64(w, COL_ACQUIRED_AT, f->acquired_ms)
                             : pq_set_null(w, COL_ACQUIRED_AT);
    if (!rc)
        rc = pq_set_i32(w, COL_FIELDS_REJECTED, f->rejected);
    return rc;
}

/* fields_source: "vent_rate_bpm=Herzfrequenz" for each value kept, in
 * column order; null when no text page was read. */
static int write_sources(struct pq_writer *w, const struct fields_result *f,
                         bool has_text)
{
    if (!has_text)
        return pq_set_null(w, COL_FIELDS_SOURCE);
    char entry[64 + FIELDS_SOURCE_MAX];
    int rc = pq_list_begin(w, COL_FIELDS_SOURCE);
    for (int i = 0; !rc && i <= FIELDS_NUMERIC; i++) {
        bool acq = i == FIELDS_NUMERIC;
        if (acq ? !f->has_acquired : !f->has[i])
            continue;
        int n =
            snprintf(entry, sizeof(entry), "%s=%s",
                     fields_name(acq ? FIELDS_ACQUIRED_AT : (enum fields_id)i),
                     acq ? f->acquired_source : f->source[i]);
        if (n > 0)
            rc = pq_set_str(w, COL_FIELDS_SOURCE, entry,
                            (size_t)n < sizeof(entry) ? (size_t)n
                                                      : sizeof(entry) - 1);
        /* Labels are valid UTF-8 by construction; a bad one must never
         * cost the row. */
        if (rc == ETL_EINVAL)
            rc = 0;
    }
    return rc;
}

static int write_row(struct pq_writer *w, int64_t batch_id,
                     const struct etl_row *r)
{
    const char *status = etl_status_name(r->status);
    int rc = pq_set_i64(w, COL_BATCH_ID, batch_id);
    if (!rc)
        rc = pq_set_str(w, COL_FILE_ID, r->file_id ? r->file_id : "",
                        r->file_id ? strlen(r->file_id) : 0);
    if (!rc)
        rc = pq_set_str(w, COL_SOURCE_KEY, r->source_key ? r->source_key : "",
                        r->source_key ? strlen(r->source_key) : 0);
    if (!rc)
        rc = set_opt_str(w, COL_SOURCE_ETAG, r->source_etag,
                         r->source_etag ? strlen(r->source_etag) : 0);
    if (!rc)
        rc = set_opt_str(w, COL_SHA256, r->sha256[0] ? r->sha256 : NULL, 64);
    if (!rc)
        rc = r->size_bytes >= 0 ? pq_set_i64(w, COL_SIZE_BYTES, r->size_bytes)
                                : pq_set_null(w, COL_SIZE_BYTES);
    if (!rc)
        rc = r->page_count >= 0 ? pq_set_i32(w, COL_PAGE_COUNT, r->page_count)
                                : pq_set_null(w, COL_PAGE_COUNT);
    if (!rc)
        rc = r->repaired >= 0 ? pq_set_bool(w, COL_REPAIRED, r->repaired)
                              : pq_set_null(w, COL_REPAIRED);
    if (!rc)
        rc = set_opt_str(w, COL_TEXT, r->has_text ? r->text.data : NULL,
                         r->text.len);
    if (!rc)
        rc = pq_list_begin(w, COL_IMAGE_KEYS);
    for (size_t i = 0; !rc && i < r->n_images; i++)
        rc = pq_set_str(w, COL_IMAGE_KEYS, r->image_keys[i],
                        strlen(r->image_keys[i]));
    if (!rc)
        rc = pq_set_i32(w, COL_IMAGES_EXTRACTED, (int32_t)r->n_images);
    if (!rc)
        rc = pq_set_str(w, COL_STATUS, status, strlen(status));
    if (!rc)
        rc = set_opt_str(w, COL_ERROR_TYPE, r->error_type,
                         r->error_type ? strlen(r->error_type) : 0);
    if (!rc)
        rc = set_opt_str(w, COL_ERROR, r->error.len ? r->error.data : NULL,
                         r->error.len);
    if (!rc)
        rc = pq_set_double(w, COL_PROCESSING_TIME_MS, r->processing_time_ms);
    if (!rc)
        rc = pq_set_i64(w, COL_PROCESSED_AT, r->processed_at_ms);
    if (!rc)
        rc = write_fields(w, &r->fields);
    if (!rc)
        rc = r->wave_status == ETL_WAVE_NULL
                 ? pq_set_null(w, COL_LEADS_EXTRACTED)
                 : pq_set_i32(w, COL_LEADS_EXTRACTED, r->leads_extracted);
    if (!rc) {
        const char *ws = etl_wave_status_name(r->wave_status);
        rc = set_opt_str(w, COL_WAVEFORM_STATUS, ws, ws ? strlen(ws) : 0);
    }
    if (!rc)
        rc = write_sources(w, &r->fields, r->has_text);
    if (!rc)
        rc = pq_end_row(w);
    return rc;
}

/* The footer metadata and codec shared by a batch's Parquet files. kv
 * (BATCH_KV entries) points into c and bid; opts points to kv. The
 * results file also records its key range (set kv[5], kv[6] and nkv). */
#define BATCH_KV 7
static void batch_pq_options(const struct etl_ctx *c, const char *bid,
                             struct pq_kv kv[BATCH_KV], struct pq_options *opts)
{
    const struct etl_config *cfg = c->cfg;
    kv[0] = (struct pq_kv){"bpecg.run_id", c->run_id};
    kv[1] = (struct pq_kv){"bpecg.batch_id", bid};
    kv[2] = (struct pq_kv){"bpecg.settings_hash", c->settings_hash};
    kv[3] = (struct pq_kv){"bpecg.source", store_name(c->src)};
    kv[4] = (struct pq_kv){"bpecg.mupdf", pdf_engine_version()};
    memset(opts, 0, sizeof(*opts));
    opts->codec = cfg->parquet_compression == CFG_CODEC_ZSTD ? PQ_CODEC_ZSTD
                  : cfg->parquet_compression == CFG_CODEC_SNAPPY
                      ? PQ_CODEC_SNAPPY
                      : PQ_CODEC_NONE;
    opts->created_by_app = "bpecg-etl";
    opts->version = ETL_VERSION;
    opts->kv = kv;
    opts->nkv = 5;
}

/* A local path for a batch file before it is stored. */
static void batch_tmp_path(int64_t batch_id, const char *what, struct buf *path)
{
    const char *tmpdir = getenv("TMPDIR");
    if (!tmpdir || !*tmpdir)
        tmpdir = "/tmp";
    buf_printf(path, "%s/bpecg-%d-%s-%06lld.parquet", tmpdir, getpid(), what,
               (long long)batch_id);
}

static int write_results(struct etl_ctx *c, size_t n, char **key_out)
{
    struct buf path = BUF_INIT, key = BUF_INIT, bid = BUF_INIT;
    struct pq_writer *w = NULL;
    int rc;
    batch_tmp_path(c->batch_id, "batch", &path);
    etl_parquet_key(c, c->batch_id, &key);
    buf_printf(&bid, "%lld", (long long)c->batch_id);

    struct pq_kv kv[BATCH_KV];
    struct pq_options opts;
    batch_pq_options(c, bid.data, kv, &opts);
    /* The batch's key range, so that no other range ever replaces it. */
    kv[5] = (struct pq_kv){"bpecg.first_key", c->rows[0].source_key};
    kv[6] = (struct pq_kv){"bpecg.last_key", c->rows[n - 1].source_key};
    opts.nkv = 7;

    rc = pq_writer_open(path.data, result_columns, COL_COUNT, &opts, &w);
    for (size_t i = 0; !rc && i < n; i++)
        rc = write_row(w, c->batch_id, &c->rows[i]);
    if (rc) {
        pq_writer_abort(w);
        LOGF(LOG_ERROR, "parquet_write_failed", LF_S("path", path.data),
             LF_S("error", etl_strerror(rc)));
        goto out;
    }
    rc = pq_writer_close(w);
    if (rc) {
        LOGF(LOG_ERROR, "parquet_write_failed", LF_S("path", path.data),
             LF_S("error", etl_strerror(rc)));
        goto out;
    }
    rc = store_put_file(c->dst, key.data, path.data,
                        "application/vnd.apache.parquet", 0);
    unlink(path.data);
    if (rc) {
        LOGF(LOG_ERROR, "parquet_put_failed", LF_S("key", key.data),
             LF_S("error", etl_strerror(rc)));
        goto out;
    }
    *key_out = buf_detach(&key, NULL);
out:
    buf_release(&path);
    buf_release(&key);
    buf_release(&bid);
    return rc;
}

/* ---- The waveform file: one row per lead per PDF ---- */

enum {
    WCOL_RUN_ID,
    WCOL_BATCH_ID,
    WCOL_SOURCE_KEY,
    WCOL_FILE_ID,
    WCOL_LEAD,
    WCOL_RHYTHM,
    WCOL_START_S,
    WCOL_SAMPLE_RATE_HZ,
    WCOL_SAMPLES,
    WCOL_UNITS,
    WCOL_CALIBRATION_SOURCE,
    WCOL_MM_PER_MV,
    WCOL_PAPER_SPEED_MM_S,
    WCOL_QUALITY,
    WCOL_SPEED_SOURCE,
    WCOL_PAGE,
    WCOL_PAGES,
    WCOL_LAYOUT,
    WCOL_COUNT
};

/* A PDF's leads share everything but the lead: dictionaries pay. */
static const struct pq_column wave_columns[WCOL_COUNT] = {
    [WCOL_RUN_ID] = {"run_id", PQ_STRING, false, false, true},
    [WCOL_BATCH_ID] = {"batch_id", PQ_INT64, false, false, true},
    [WCOL_SOURCE_KEY] = {"source_key", PQ_STRING, false, false, true},
    [WCOL_FILE_ID] = {"file_id", PQ_STRING, false, false, true},
    [WCOL_LEAD] = {"lead", PQ_STRING, false, false, true},
    [WCOL_RHYTHM] = {"rhythm", PQ_BOOLEAN, false, false, false},
    [WCOL_START_S] = {"start_s", PQ_DOUBLE, false, false, false},
    [WCOL_SAMPLE_RATE_HZ] = {"sample_rate_hz", PQ_INT32, false, false, true},
    [WCOL_SAMPLES] = {"samples", PQ_FLOAT, false, true, false},
    [WCOL_UNITS] = {"units", PQ_STRING, false, false, true},
    [WCOL_CALIBRATION_SOURCE] = {"calibration_source", PQ_STRING, false, false,
                                 true},
    [WCOL_MM_PER_MV] = {"mm_per_mv", PQ_DOUBLE, false, false, false},
    [WCOL_PAPER_SPEED_MM_S] = {"paper_speed_mm_s", PQ_DOUBLE, false, false,
                               false},
    [WCOL_QUALITY] = {"quality", PQ_STRING, false, true, true},
    [WCOL_SPEED_SOURCE] = {"speed_source", PQ_STRING, false, false, true},
    [WCOL_PAGE] = {"page", PQ_INT32, false, false, false},
    [WCOL_PAGES] = {"pages", PQ_INT32, false, false, false},
    [WCOL_LAYOUT] = {"layout", PQ_STRING, false, false, true},
};

/* Row groups of the waveform file: the writer holds up to about twice
 * this, whatever the batch size (1000 PDFs of 12 leads at 500 Hz are
 * ~240 MB of samples). */
#define WAVE_ROW_GROUP_BYTES ((size_t)16 << 20)

/* The batch's waveform file while it is written. next, draining and
 * closed are guarded by the batch_run's lock; the writer belongs to the
 * one thread that drains (draining set) or, once closed, to the main
 * thread. */
struct wave_sink {
    struct etl_ctx *c;
    int64_t batch_id;
    struct pq_writer *w;
    struct buf path;
    int rc;        /* first failure: the file is not stored */
    size_t next;   /* first task whose leads are not written yet */
    bool draining; /* a thread is writing */
    bool closed;   /* the main thread took over */
};

static size_t wave_next(const struct batch_run *b)
{
    return b->sink->next;
}

static int wave_sink_open(struct etl_ctx *c, int64_t batch_id,
                          struct wave_sink **out)
{
    struct buf bid = BUF_INIT;
    struct pq_kv kv[BATCH_KV];
    struct pq_options opts;
    *out = NULL;
    struct wave_sink *s = calloc(1, sizeof(*s));
    if (!s)
        return ETL_ENOMEM;
    s->c = c;
    s->batch_id = batch_id;
    buf_init(&s->path, 0);
    batch_tmp_path(batch_id, "waveforms", &s->path);
    int rc = buf_printf(&bid, "%lld", (long long)batch_id);
    if (!rc) {
        batch_pq_options(c, bid.data, kv, &opts);
        opts.row_group_bytes = WAVE_ROW_GROUP_BYTES;
        rc = pq_writer_open(s->path.data, wave_columns, WCOL_COUNT, &opts,
                            &s->w);
    }
    buf_release(&bid);
    if (rc) {
        LOGF(LOG_ERROR, "parquet_write_failed", LF_S("path", s->path.data),
             LF_S("error", etl_strerror(rc)));
        buf_release(&s->path);
        free(s);
        return rc;
    }
    *out = s;
    return 0;
}

static void wave_sink_free(struct wave_sink *s)
{
    if (!s)
        return;
    pq_writer_abort(s->w);
    buf_release(&s->path);
    free(s);
}

static int wave_write_lead(struct wave_sink *s, const struct etl_row *r,
                           const struct wave_lead *l)
{
    struct pq_writer *w = s->w;
    const struct etl_ctx *c = s->c;
    const char *cal = wave_calibration_name(l->calibration);
    const char *q[WAVE_Q_COUNT];
    size_t nq = wave_quality_names(l->quality, q, WAVE_Q_COUNT);
    int rc = pq_set_str(w, WCOL_RUN_ID, c->run_id, strlen(c->run_id));
    if (!rc)
        rc = pq_set_i64(w, WCOL_BATCH_ID, s->batch_id);
    if (!rc)
        rc = pq_set_str(w, WCOL_SOURCE_KEY, r->source_key,
                        strlen(r->source_key));
    if (!rc)
        rc = pq_set_str(w, WCOL_FILE_ID, r->file_id, strlen(r->file_id));
    if (!rc)
        rc = pq_set_str(w, WCOL_LEAD, l->name,
                        strnlen(l->name, sizeof(l->name)));
    if (!rc)
        rc = pq_set_bool(w, WCOL_RHYTHM, l->rhythm);
    if (!rc)
        rc = pq_set_double(w, WCOL_START_S, l->start_s);
    if (!rc)
        rc = pq_set_i32(w, WCOL_SAMPLE_RATE_HZ, l->sample_rate_hz);
    if (!rc)
        rc = pq_list_begin(w, WCOL_SAMPLES);
    for (size_t k = 0; !rc && k < l->n; k++)
        rc = pq_set_float(w, WCOL_SAMPLES, l->samples[k]);
    if (!rc)
        rc = pq_set_str(w, WCOL_UNITS, "mV", 2);
    if (!rc)
        rc = pq_set_str(w, WCOL_CALIBRATION_SOURCE, cal, strlen(cal));
    if (!rc)
        rc = pq_set_double(w, WCOL_MM_PER_MV, l->mm_per_mv);
    if (!rc)
        rc = pq_set_double(w, WCOL_PAPER_SPEED_MM_S, l->paper_speed_mm_s);
    if (!rc)
        rc = pq_list_begin(w, WCOL_QUALITY);
    for (size_t k = 0; !rc && k < nq; k++)
        rc = pq_set_str(w, WCOL_QUALITY, q[k], strlen(q[k]));
    const char *speed = wave_speed_source_name(l->speed_source);
    if (!rc)
        rc = pq_set_str(w, WCOL_SPEED_SOURCE, speed, strlen(speed));
    if (!rc)
        rc = pq_set_i32(w, WCOL_PAGE, l->page + 1);
    if (!rc)
        rc = pq_set_i32(w, WCOL_PAGES, l->pages);
    if (!rc)
        rc = pq_set_str(w, WCOL_LAYOUT, l->layout, strlen(l->layout));
    if (!rc)
        rc = pq_end_row(w);
    return rc;
}

/* Write a finished row's leads and free them (leads_extracted stays for
 * the results row). After a failure nothing more is written: the file
 * will not be stored. */
static void wave_write_row(struct wave_sink *s, struct etl_row *r)
{
    for (size_t i = 0; !s->rc && i < r->wave.n; i++) {
        s->rc = wave_write_lead(s, r, &r->wave.leads[i]);
        if (s->rc)
            LOGF(LOG_ERROR, "parquet_write_failed", LF_S("path", s->path.data),
                 LF_S("file_id", r->file_id),
                 LF_S("error", etl_strerror(s->rc)));
    }
    wave_result_release(&r->wave);
}

/* Called by a worker whose task just finished: write every finished task
 * from the first unwritten one on, in task order. One thread drains at a
 * time; a task that finishes meanwhile is seen by the loop's next check
 * (both happen under the lock), so none is left behind. */
static void wave_drain(struct batch_run *b)
{
    struct wave_sink *s = b->sink;
    if (!s)
        return;
    pthread_mutex_lock(&b->lock);
    /* Abandoned first: past the deadline the sink may be gone. */
    if (b->abandoned || s->closed || s->draining) {
        pthread_mutex_unlock(&b->lock);
        return;
    }
    s->draining = true;
    while (s->next < b->n && b->state[s->next] == TASK_DONE && !b->abandoned &&
           !s->closed) {
        size_t i = s->next;
        pthread_mutex_unlock(&b->lock);
        wave_write_row(s, &b->rows[i]);
        pthread_mutex_lock(&b->lock);
        s->next = i + 1;
        pthread_cond_broadcast(&b->cond); /* the window moved */
    }
    s->draining = false;
    pthread_cond_broadcast(&b->cond);
    pthread_mutex_unlock(&b->lock);
}

/* The main thread, once the batch's rows are decided (done[]): take the
 * writer over and write the finished rows not written yet. Rows still in
 * flight at a hard deadline get no waveforms (their timeout rows have no
 * leads either). */
static void wave_drain_rest(struct batch_run *b, size_t started,
                            const bool *done)
{
    struct wave_sink *s = b->sink;
    pthread_mutex_lock(&b->lock);
    s->closed = true;
    while (s->draining)
        pthread_cond_wait(&b->cond, &b->lock);
    size_t from = s->next;
    pthread_mutex_unlock(&b->lock);
    for (size_t i = from; i < started; i++)
        if (done[i])
            wave_write_row(s, &b->rows[i]);
}

/* Close the waveform file and store it; the sink is freed. Appends the
 * key to *key_out on success. */
static int wave_sink_finish(struct wave_sink *s, const char *first,
                            const char *last, char **key_out)
{
    struct etl_ctx *c = s->c;
    struct buf key = BUF_INIT;
    int rc = s->rc;
    /* The same footer as the results file's, key range included. */
    const struct pq_kv range[2] = {{"bpecg.first_key", first},
                                   {"bpecg.last_key", last}};
    if (!rc)
        rc = pq_writer_add_kv(s->w, range, 2);
    if (!rc) {
        rc = pq_writer_close(s->w);
        s->w = NULL;
        if (rc)
            LOGF(LOG_ERROR, "parquet_write_failed", LF_S("path", s->path.data),
                 LF_S("error", etl_strerror(rc)));
    }
    if (!rc)
        rc = buf_printf(&key, "%sbatch_%06lld.parquet", c->wave_prefix,
                        (long long)s->batch_id);
    if (!rc) {
        rc = store_put_file(c->dst, key.data, s->path.data,
                            "application/vnd.apache.parquet", 0);
        unlink(s->path.data);
        if (rc)
            LOGF(LOG_ERROR, "parquet_put_failed", LF_S("key", key.data),
                 LF_S("error", etl_strerror(rc)));
    }
    if (!rc)
        *key_out = buf_detach(&key, NULL);
    buf_release(&key);
    wave_sink_free(s);
    return rc;
}

/* A failed "timeout" row for a PDF that got no result of its own. */
static int timeout_row(const struct etl_ctx *c, const char *key, int64_t size,
                       const char *why, struct etl_row *row)
{
    int rc = etl_row_init(c, key, size, row);
    row->error_type = "timeout";
    row->processed_at_ms = clock_wall_ms();
    return rc ? rc : buf_addstr(&row->error, why);
}

static void *pool_thread(void *arg)
{
    struct batch_run *b = arg;
    size_t started = pool_run(b->c->pool, b->n, run_task, run_stop, b);
    pthread_mutex_lock(&b->lock);
    b->started = started;
    b->pool_done = true;
    pthread_cond_broadcast(&b->cond);
    pthread_mutex_unlock(&b->lock);
    return NULL;
}

/* Wait for the pool until hard_deadline_ms; past it, stop waiting. Fills
 * done[] (tasks whose rows are final) and returns how many tasks (a
 * prefix) belong to the batch. */
static size_t wait_pool(struct batch_run *b, int64_t hard_deadline_ms,
                        bool *done)
{
    pthread_t th;
    if (hard_deadline_ms <= 0 ||
        pthread_create(&th, NULL, pool_thread, b) != 0) {
        b->started = pool_run(b->c->pool, b->n, run_task, run_stop, b);
        for (size_t i = 0; i < b->started; i++)
            done[i] = true;
        return b->started;
    }
    struct timespec until = {(time_t)(hard_deadline_ms / 1000),
                             (long)(hard_deadline_ms % 1000) * 1000000L};
    pthread_mutex_lock(&b->lock);
    while (!b->pool_done && !b->abandoned)
        if (pthread_cond_timedwait(&b->cond, &b->lock, &until) == ETIMEDOUT &&
            !b->pool_done) {
            b->abandoned = true;
            /* Tasks waiting for the waveform window give up. */
            pthread_cond_broadcast(&b->cond);
        }
    size_t started = b->abandoned ? b->entered : b->started;
    for (size_t i = 0; i < started; i++)
        done[i] = b->state[i] == TASK_DONE;
    pthread_mutex_unlock(&b->lock);
    if (b->abandoned)
        pthread_detach(th);
    else
        pthread_join(th, NULL);
    return started;
}

/* Run keys[0..n) as batch batch_id. *rows_out gets the rows in key
 * order: finished tasks; tasks still in flight at the hard deadline as
 * timeout rows; with all_rows, keys never started as timeout rows too.
 * *started_out: how many keys (a prefix) were started. Fills res's counts
 * and last_key. With a sink, every finished row's leads are in it on
 * return (and no longer in the rows). */
static int run_tasks(struct etl_ctx *c, int64_t batch_id,
                     const char *const *keys, const int64_t *sizes, size_t n,
                     int64_t hard_deadline_ms, bool all_rows,
                     struct wave_sink *sink, struct etl_batch_result *res,
                     struct etl_row **rows_out, size_t *nrows_out,
                     size_t *started_out)
{
    int rc = 0;
    struct etl_row *out = calloc(n ? n : 1, sizeof(*out));
    bool *done = calloc(n ? n : 1, sizeof(*done));
    struct batch_run *b = calloc(1, sizeof(*b));
    if (b) {
        b->rows = calloc(n ? n : 1, sizeof(*b->rows));
        b->state = calloc(n ? n : 1, sizeof(*b->state));
    }
    if (!out || !done || !b || !b->rows || !b->state) {
        if (b) {
            free(b->rows);
            free(b->state);
        }
        free(b);
        free(out);
        free(done);
        return ETL_ENOMEM;
    }
    b->c = c;
    b->batch_id = batch_id;
    b->keys = keys;
    b->sizes = sizes;
    b->n = n;
    b->sink = sink;
    b->window = 2 * (size_t)c->nworkers;
    pthread_mutex_init(&b->lock, NULL);
    pthread_cond_init(&b->cond, NULL);

    size_t started = wait_pool(b, hard_deadline_ms, done);
    bool abandoned = b->abandoned;
    if (sink)
        wave_drain_rest(b, started, done);
    size_t nrows = all_rows ? n : started;
    for (size_t i = 0; i < nrows; i++) {
        if (i < started && done[i]) {
            out[i] = b->rows[i]; /* moved */
        } else if (!rc) {
            bool ran = i < started;
            res->abandoned += ran;
            res->not_started += !ran;
            rc = timeout_row(
                c, keys[i], sizes ? sizes[i] : -1,
                ran ? "still in flight at the invocation's hard deadline "
                      "(half of DEADLINE_MARGIN_MS before the end)"
                    : "not started: the invocation's deadline was near "
                      "(DEADLINE_MARGIN_MS)",
                &out[i]);
        }
    }
    if (abandoned)
        LOGF(LOG_ERROR, "batch_tasks_abandoned", LF_I("batch_id", batch_id),
             LF_I("abandoned", res->abandoned));
    free(done);
    if (!abandoned) {
        pthread_cond_destroy(&b->cond);
        pthread_mutex_destroy(&b->lock);
        free(b->rows);
        free(b->state);
        free(b);
    }
    res->batch_id = batch_id;
    if (!rc) {
        res->listed = nrows;
        for (size_t i = 0; i < nrows; i++) {
            res->by_status[out[i].status]++;
            res->output_failed += out[i].output_failed;
        }
        if (nrows) {
            /* The key itself (source_key may be escaped): a cursor. */
            res->last_key = strdup(keys[nrows - 1]);
            if (!res->last_key)
                rc = ETL_ENOMEM;
        }
    }
    *rows_out = out;
    *nrows_out = nrows;
    *started_out = started;
    return rc;
}

const char *etl_batch_conflict(const struct etl_ctx *c)
{
    return c->conflict;
}

/* The key range [*first, *last] (source_key texts) of the results file at
 * key, from its footer or, for a file written before the footer had it,
 * its source_key column; *exists false when there is no such file. */
static int results_range(struct etl_ctx *c, const char *key, bool *exists,
                         char **first, char **last)
{
    struct buf data = BUF_INIT, err = BUF_INIT;
    struct pq_reader *r = NULL;
    *exists = false;
    *first = *last = NULL;
    int rc = store_get(c->dst, key, (size_t)4 << 30, &data, NULL);
    if (rc == ETL_ENOTFOUND) {
        rc = 0;
        goto out;
    }
    if (rc)
        goto out;
    *exists = true;
    rc = pq_reader_open(data.data, data.len, &r, &err);
    if (rc) {
        /* Not ours, or damaged: never ours to replace either. */
        *first = strdup("(unreadable)");
        *last = strdup(err.data);
        rc = *first && *last ? 0 : ETL_ENOMEM;
        goto out;
    }
    const char *f = pq_reader_kv(r, "bpecg.first_key");
    const char *l = pq_reader_kv(r, "bpecg.last_key");
    const struct pq_cells *cells = NULL;
    int col = pq_reader_find(r, "source_key");
    if ((!f || !l) && col >= 0 &&
        pq_reader_cells(r, (size_t)col, &cells, &err) == 0 && cells->nrows) {
        f = cells->row[0].s;
        l = cells->row[cells->nrows - 1].s;
    }
    *first = strdup(f ? f : "");
    *last = strdup(l ? l : "");
    rc = *first && *last ? 0 : ETL_ENOMEM;
out:
    pq_reader_free(r);
    buf_release(&data);
    buf_release(&err);
    return rc;
}

/* The first batch id after every batch file under METADATA_PREFIX. */
static int64_t next_free_batch(struct etl_ctx *c)
{
    int64_t next = 0;
    char *after = NULL;
    size_t plen = strlen(c->meta_prefix);
    for (int pages = 0; pages < 10000; pages++) {
        struct store_listing l = {0};
        if (store_list_suffix(c->dst, c->meta_prefix, after, 1000, ".parquet",
                              &l))
            break;
        for (size_t i = 0; i < l.n; i++) {
            const char *k = l.items[i].key + plen;
            char *end = NULL;
            if (strncmp(k, "batch_", 6) != 0 || k[6] < '0' || k[6] > '9')
                continue;
            errno = 0;
            long long id = strtoll(k + 6, &end, 10);
            if (errno == 0 && strcmp(end, ".parquet") == 0 && id >= next &&
                id < CFG_BATCH_ID_MAX)
                next = id + 1;
        }
        free(after);
        after = l.cursor ? strdup(l.cursor) : NULL;
        bool more = l.truncated && after;
        store_listing_release(&l);
        if (!more)
            break;
    }
    free(after);
    return next;
}

/* ETL_ECONFLICT if batch_id's results file holds another key range than
 * [first, last] (source_key texts): rerunning a batch rewrites the same
 * file, anything else would lose the rows it holds. */
static int check_range(struct etl_ctx *c, int64_t batch_id, const char *first,
                       const char *last)
{
    struct buf key = BUF_INIT;
    char *f = NULL, *l = NULL;
    bool exists = false;
    c->conflict[0] = '\0';
    int rc = etl_parquet_key(c, batch_id, &key);
    if (!rc)
        rc = results_range(c, key.data, &exists, &f, &l);
    if (!rc && exists && (strcmp(f, first) != 0 || strcmp(l, last) != 0)) {
        int64_t next = next_free_batch(c);
        snprintf(c->conflict, sizeof(c->conflict),
                 "%s already holds the results of another key range (%.200s "
                 "to %.200s; this batch: %.200s to %.200s) and is never "
                 "replaced by another: use --batch-id %lld (BATCH_ID, or "
                 "BatchInput.batch_id), the first one free",
                 key.data, f, l, first, last, (long long)next);
        for (char *p = c->conflict; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                *p = '?';
        LOGF(LOG_ERROR, "batch_exists", LF_I("batch_id", batch_id),
             LF_S("parquet_key", key.data), LF_S("first_key", f),
             LF_S("last_key", l), LF_I("free_batch_id", next));
        rc = ETL_ECONFLICT;
    }
    free(f);
    free(l);
    buf_release(&key);
    return rc;
}

/* check_range for keys[0..n) before they are processed. */
static int check_listed_range(struct etl_ctx *c, int64_t batch_id,
                              const char *const *keys, size_t n)
{
    struct buf first = BUF_INIT, last = BUF_INIT;
    int rc = etl_key_text(keys[0], &first);
    if (!rc)
        rc = etl_key_text(keys[n - 1], &last);
    if (!rc)
        rc = check_range(c, batch_id, first.data, last.data);
    buf_release(&first);
    buf_release(&last);
    return rc;
}

/* Ask the commit hook, store the waveform file (if any), then write the
 * results file, the batch's commit marker; release the rows. */
static int finish_batch(struct etl_ctx *c, int64_t batch_id,
                        struct etl_row *rows, size_t nrows,
                        struct wave_sink *sink, int rc,
                        const struct etl_batch_opts *o,
                        struct etl_batch_result *res)
{
    /* A broken destination fails the batch before anything is committed:
     * its results would be rows of PDFs stopped half-way (and could not
     * be stored anyway); rerunning the batch redoes them all. */
    if (!rc && atomic_load(&c->dest_broken))
        rc = ETL_EDEST;
    if (!rc && nrows)
        rc = check_range(c, batch_id, rows[0].source_key,
                         rows[nrows - 1].source_key);
    if (!rc && o && o->commit)
        rc = o->commit(o->commit_arg, res);
    if (sink) {
        if (!rc && nrows)
            rc = wave_sink_finish(sink, rows[0].source_key,
                                  rows[nrows - 1].source_key,
                                  &res->waveform_key);
        else
            wave_sink_free(sink);
    }
    if (!rc && nrows) {
        c->batch_id = batch_id;
        c->rows = rows;
        rc = write_results(c, nrows, &res->parquet_key);
        c->rows = NULL;
    }
    for (size_t i = 0; i < nrows; i++)
        etl_row_release(&rows[i]);
    free(rows);
    return rc;
}

/* Each batch judges the destination afresh: on Lambda the context lives
 * on into later invocations, after the destination may have recovered. */
static void dest_reset(struct etl_ctx *c)
{
    pthread_mutex_lock(&c->dest_lock);
    c->dest_streak = c->dest_fatal = 0;
    c->dest_streak_rc = 0;
    atomic_store(&c->dest_broken, false);
    pthread_mutex_unlock(&c->dest_lock);
}

int etl_run_keys(struct etl_ctx *c, int64_t batch_id, const char *const *keys,
                 size_t n, const struct etl_batch_opts *o,
                 struct etl_batch_result *res)
{
    dest_reset(c);
    struct etl_row *rows = NULL;
    size_t nrows = 0, started = 0;
    memset(res, 0, sizeof(*res));
    res->batch_id = batch_id;
    if (n == 0)
        return 0;
    struct wave_sink *sink = NULL;
    int rc = check_listed_range(c, batch_id, keys, n);
    if (!rc && c->cfg->extract_waveforms)
        rc = wave_sink_open(c, batch_id, &sink);
    if (rc)
        return rc;
    rc = run_tasks(c, batch_id, keys, NULL, n, o ? o->hard_deadline_ms : 0,
                   true, sink, res, &rows, &nrows, &started);
    res->more = res->not_started > 0;
    return finish_batch(c, batch_id, rows, nrows, sink, rc, o, res);
}

/* Collect up to BATCH_SIZE PDF keys after start_after. *cursor is the last
 * listed key consumed (a PDF or a skipped non-PDF), *more whether the
 * listing goes on after it. */
static int list_batch(struct etl_ctx *c, const char *start_after,
                      char ***keys_out, int64_t **sizes_out, size_t *n_out,
                      char **cursor, bool *more)
{
    const size_t want = (size_t)c->cfg->batch_size;
    char **keys = calloc(want, sizeof(*keys));
    int64_t *sizes = calloc(want, sizeof(*sizes));
    size_t n = 0;
    char *after = start_after && *start_after ? strdup(start_after) : NULL;
    int rc = (!keys || !sizes || (start_after && *start_after && !after))
                 ? ETL_ENOMEM
                 : 0;
    *more = false;
    while (!rc && n < want) {
        struct store_listing l = {0};
        /* Only PDFs: the store skips the rest where it reads them, so a
         * source of mostly other files costs one pass, not a page per
         * BATCH_SIZE of them. */
        rc = store_list_suffix(c->src, c->src_prefix, after, want - n, ".pdf",
                               &l);
        if (rc) {
            LOGF(LOG_ERROR, "list_failed", LF_S("store", store_name(c->src)),
                 LF_S("prefix", c->src_prefix), LF_S("error", etl_strerror(rc)),
                 LF_S("detail", store_last_error()));
            break;
        }
        for (size_t i = 0; i < l.n; i++) {
            if (etl_is_pdf_key(l.items[i].key)) {
                keys[n] = l.items[i].key;
                sizes[n] = l.items[i].size;
                l.items[i].key = NULL;
                n++;
            }
        }
        if (l.cursor) {
            free(after);
            after = strdup(l.cursor);
            if (!after)
                rc = ETL_ENOMEM;
        }
        *more = l.truncated;
        store_listing_release(&l);
        if (!*more)
            break;
    }
    if (rc) {
        for (size_t i = 0; i < n; i++)
            free(keys[i]);
        free(keys);
        free(sizes);
        free(after);
        return rc;
    }
    *keys_out = keys;
    *sizes_out = sizes;
    *n_out = n;
    *cursor = after;
    return 0;
}

int etl_count_pdfs(struct etl_ctx *c, const char *start_after,
                   const atomic_bool *stop, size_t *count)
{
    char *after = start_after ? strdup(start_after) : NULL;
    int rc = 0;
    *count = 0;
    for (;;) {
        if (atomic_load(stop)) {
            rc = ETL_ECANCELED;
            break;
        }
        struct store_listing l = {0};
        rc = store_list_suffix(c->src, c->src_prefix, after, 1000, ".pdf", &l);
        if (rc)
            break;
        for (size_t i = 0; i < l.n; i++)
            *count += etl_is_pdf_key(l.items[i].key);
        free(after);
        after = l.cursor ? strdup(l.cursor) : NULL;
        bool more = l.truncated && after;
        store_listing_release(&l);
        if (!more)
            break;
    }
    free(after);
    return rc;
}

int etl_run_batch(struct etl_ctx *c, int64_t batch_id, const char *start_after,
                  struct etl_batch_result *res)
{
    return etl_run_batch_ex(c, batch_id, start_after, NULL, res);
}

/* The listing of a batch whose workers were abandoned (see below). */
static struct {
    char **keys;
    int64_t *sizes;
} abandoned_lists;

int etl_run_batch_ex(struct etl_ctx *c, int64_t batch_id,
                     const char *start_after, const struct etl_batch_opts *o,
                     struct etl_batch_result *res)
{
    char **keys = NULL, *cursor = NULL;
    int64_t *sizes = NULL;
    struct etl_row *rows = NULL;
    size_t n = 0, started = 0, nrows = 0;
    bool more = false;
    memset(res, 0, sizeof(*res));
    res->batch_id = batch_id;
    dest_reset(c);
    struct wave_sink *sink = NULL;
    int rc = list_batch(c, start_after, &keys, &sizes, &n, &cursor, &more);
    if (rc)
        return rc;
    /* Before any work: a batch that may not be written is not run. */
    if (n)
        rc = check_listed_range(c, batch_id, (const char *const *)keys, n);
    if (!rc && n && c->cfg->extract_waveforms)
        rc = wave_sink_open(c, batch_id, &sink);
    if (rc) {
        for (size_t i = 0; i < n; i++)
            free(keys[i]);
        free(keys);
        free(sizes);
        free(cursor);
        return rc;
    }
    if (n) {
        rc = run_tasks(c, batch_id, (const char *const *)keys, sizes, n,
                       o ? o->hard_deadline_ms : 0, false, sink, res, &rows,
                       &nrows, &started);
        if (started < n) {
            /* Stopped early (deadline): the next batch starts right after
             * the last PDF that got a row. */
            free(cursor);
            cursor = started ? strdup(keys[started - 1])
                             : (start_after ? strdup(start_after) : NULL);
            more = true;
        }
    }
    res->more = more;
    res->next_start_after = cursor;
    if (n)
        rc = finish_batch(c, batch_id, rows, nrows, sink, rc, o, res);
    if (res->abandoned) {
        /* Stuck workers still read keys: keep them until the process
         * exits (the context is unusable from now on anyway). */
        abandoned_lists.keys = keys;
        abandoned_lists.sizes = sizes;
        return rc;
    }
    for (size_t i = 0; i < n; i++)
        free(keys[i]);
    free(keys);
    free(sizes);
    return rc;
}
