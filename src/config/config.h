/* Settings: one table of {environment variable, flag, type, default, range,
 * help}, parsed once at start-up into a struct etl_config that is read-only
 * afterwards (share it as const between threads).
 *
 * Sources, lowest priority first: built-in defaults, environment, flags.
 * A malformed value is an error whose message names the variable (or flag),
 * the value and what is accepted; nothing runs. */
#ifndef ETL_CONFIG_CONFIG_H
#define ETL_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/buf.h"
#include "core/log.h"

/* The largest batch id (BATCH_ID, a chain event's batch_id): twelve
 * digits, far below INT64_MAX, so that the next batch's id never
 * overflows. */
#define CFG_BATCH_ID_MAX INT64_C(999999999999)

enum cfg_render_mode { CFG_RENDER_CLIP, CFG_RENDER_PAGE };

/* A page setting's "auto" (the page is found in each PDF). */
#define CFG_PAGE_AUTO 0

/* A set of pages (1-based): n ranges, or every page when n is 0. */
#define CFG_MAX_PAGE_RANGES 16
struct cfg_pages {
    int n;
    struct {
        int first, last;
    } range[CFG_MAX_PAGE_RANGES];
};

/* Is page (1-based) in the set? */
bool cfg_pages_has(const struct cfg_pages *p, int page);
enum cfg_codec { CFG_CODEC_ZSTD, CFG_CODEC_SNAPPY, CFG_CODEC_NONE };
/* FAIL_INVOCATION_ON: when a Lambda invocation reports failure (so that
 * Lambda or Step Functions retries it) although its batch ran. */
enum cfg_fail_on { CFG_FAIL_NEVER, CFG_FAIL_OUTPUT, CFG_FAIL_FAILED };
/* S3 server-side encryption of what is written (S3_SSE). */
enum cfg_sse { CFG_SSE_NONE, CFG_SSE_AES256, CFG_SSE_KMS, CFG_SSE_KMS_DSSE };

struct etl_config {
    /* Where: SOURCE_BUCKET + PDF_PREFIX, or --source URL (replaces both);
     * DEST_BUCKET + IMAGE_PREFIX/METADATA_PREFIX, or --dest URL. */
    char *source_bucket;   /* SOURCE_BUCKET / --source; NULL if unset */
    char *pdf_prefix;      /* PDF_PREFIX, default "pdfs/" */
    bool source_is_url;    /* --source given: its prefix replaces PDF_PREFIX */
    char *dest_bucket;     /* DEST_BUCKET / --dest; NULL if unset */
    bool dest_is_url;      /* --dest given: a URL or path, never a bare
                              bucket name */
    char *image_prefix;    /* IMAGE_PREFIX, default "images/" */
    char *metadata_prefix; /* METADATA_PREFIX, default "metadata/" */

    /* How much at once */
    int batch_size;  /* BATCH_SIZE 100 (1..1000) */
    int concurrency; /* CONCURRENCY 20 (1..256) */

    /* PDF work */
    int image_dpi;      /* IMAGE_DPI 100 (36..600) */
    int image_quality;  /* IMAGE_QUALITY 85 (1..100) */
    int text_page;      /* TEXT_PAGE 1 (1-based; 1..100000), or CFG_PAGE_AUTO */
    int crop_page;      /* CROP_PAGE 2 (1-based; 1..100000), or CFG_PAGE_AUTO */
    char *crop_regions; /* CROP_REGIONS inline JSON, or NULL */
    char *crop_regions_file;          /* CROP_REGIONS_FILE / --crops, or NULL */
    char *redact_regions;             /* REDACT_REGIONS inline JSON, or NULL */
    char *redact_regions_file;        /* REDACT_REGIONS_FILE, or NULL */
    char *field_patterns_file;        /* FIELD_PATTERNS_FILE, or NULL */
    enum cfg_render_mode render_mode; /* RENDER_MODE clip|page */
    int64_t max_pdf_bytes;            /* MAX_PDF_BYTES 100 MiB (1 KiB..4 GiB) */
    int pdf_timeout_ms;               /* PDF_TIMEOUT_MS 30000 (100..900000) */
    int pdf_max_memory_mb;            /* PDF_MAX_MEMORY_MB 512 (64..65536) */

    /* Retries */
    int retry_max_attempts;    /* RETRY_MAX_ATTEMPTS 3 (1..20) */
    double retry_initial_wait; /* RETRY_INITIAL_WAIT 1.0 s (0..60) */
    double retry_max_wait;     /* RETRY_MAX_WAIT 60 s (0..900) */

    /* Output */
    enum cfg_codec parquet_compression; /* PARQUET_COMPRESSION zstd */

    /* Waveforms (the crop page's vector traces as samples) */
    bool extract_waveforms;          /* EXTRACT_WAVEFORMS 0|1, default 0 */
    struct cfg_pages waveform_pages; /* WAVEFORM_PAGES, default all */
    bool crop_leads;                 /* CROP_LEADS 0|1, default 0 */
    char *waveform_prefix;           /* WAVEFORM_PREFIX, default "waveforms/" */
    int waveform_sample_rate; /* WAVEFORM_SAMPLE_RATE 500 Hz (50..10000) */
    double paper_speed_mm_s;  /* PAPER_SPEED_MM_S 25 (5..200) */
    double gain_mm_mv;        /* GAIN_MM_MV 10 (1..100), without a pulse */

    /* Logging: LOG_LEVEL (AWS_LAMBDA_LOG_LEVEL wins when set), LOG_FORMAT
     * (AWS_LAMBDA_LOG_FORMAT JSON|Text wins when set) */
    enum log_level log_level;
    enum log_format log_format;
    int debug_payloads; /* DEBUG_PAYLOADS 0 (0..65536): bytes of page text
                           logged per PDF at DEBUG; 0 = never */

    /* AWS */
    char *aws_region; /* AWS_REGION / AWS_DEFAULT_REGION */
    /* Endpoints: AWS_ENDPOINT_URL_S3 (or _LAMBDA) wins over
     * AWS_ENDPOINT_URL; none are used when ignore_endpoint_urls. */
    char *endpoint_url;             /* AWS_ENDPOINT_URL */
    char *endpoint_url_s3;          /* AWS_ENDPOINT_URL_S3 */
    char *endpoint_url_lambda;      /* AWS_ENDPOINT_URL_LAMBDA */
    int ignore_endpoint_urls;       /* AWS_IGNORE_CONFIGURED_ENDPOINT_URLS */
    char *ca_bundle;                /* AWS_CA_BUNDLE: a regular file, or NULL */
    enum cfg_sse s3_sse;            /* S3_SSE */
    char *s3_sse_kms_key_id;        /* S3_SSE_KMS_KEY_ID (with aws:kms) */
    char *s3_expected_bucket_owner; /* S3_EXPECTED_BUCKET_OWNER */
    char *lambda_runtime_api;       /* AWS_LAMBDA_RUNTIME_API (Lambda) */
    char *tmpdir;                   /* TMPDIR, default /tmp */
    char *aws_lambda_function_name; /* AWS_LAMBDA_FUNCTION_NAME */
    bool allow_http; /* ALLOW_HTTP 0|1: plain http:// endpoints beyond
                        loopback (store/ reads the variable itself) */

    /* Lambda */
    int deadline_margin_ms;    /* DEADLINE_MARGIN_MS 60000 (100..900000) */
    int64_t max_chain_batches; /* MAX_CHAIN_BATCHES 100000 (1..1e9) */
    char *kill_switch_key;     /* KILL_SWITCH_KEY, NULL: default key */
    enum cfg_fail_on fail_invocation_on; /* FAIL_INVOCATION_ON never */

    /* Run control (flags of `run`; START_AFTER/BATCH_ID/RUN_ID env too) */
    char *start_after;   /* --start-after KEY */
    int64_t batch_id;    /* --batch-id N, default 0 */
    int64_t max_batches; /* --max-batches N, 0 = until the listing ends */
    char *run_id;        /* --run-id, default: generated per run */
    bool progress;       /* --progress/--no-progress; default: on a TTY */
};

/* Fill c from defaults and the environment, then from flags in
 * argv[0..argc-1] (argv[0] is the first flag, not the program name).
 * Flags take "--name value" or "--name=value"; boolean flags take none.
 * Unknown flags and positional arguments are errors.
 * On error returns ETL_ECONFIG (or ETL_ENOMEM) and appends one line to err
 * such as:
 *   IMAGE_DPI=20: must be an integer from 36 to 600
 *   --concurrency=abc: must be an integer from 1 to 256
 * cfg_release() must be called in every case. */
int cfg_load(struct etl_config *c, int argc, char **argv, struct buf *err);
void cfg_release(struct etl_config *c);

/* The environment variables cfg_load() reads (each setting's own, then
 * its override and fallback, in table order): up to max of them into out
 * (static strings); returns how many there are. */
size_t cfg_env_names(const char **out, size_t max);

/* Print the settings table (name, flag, default, range, help) for --help:
 * markdown when markdown is set (the README's configuration table). */
void cfg_usage(FILE *f, bool markdown);

/* Read the file a setting names (var: "CROP_REGIONS_FILE", path its
 * value) into out (replacing its contents): at most max bytes, else an
 * error. It is opened without blocking and must be a regular file, so a
 * FIFO or a device given by mistake fails at once instead of hanging.
 * On error appends one line to err naming the variable, the path and the
 * reason ("CROP_REGIONS_FILE=/tmp/f: not a regular file (a FIFO)") and
 * returns ETL_ECONFIG, or ETL_ENOMEM. A NUL byte in the file is an error
 * (every such file is text). */
int cfg_file_read(const char *var, const char *path, size_t max,
                  struct buf *out, struct buf *err);

/* --- subcommand options ----------------------------------------------------
 * A subcommand names its own options; every other "--name" is a setting,
 * passed on for cfg_load() with as many arguments as the settings table
 * says it takes (booleans none, others one: "--name value" or
 * "--name=value"). This is git's parse-options with KEEP_UNKNOWN: the
 * command need not know which settings exist or which take values. */
struct cfg_option {
    const char *name;   /* long name without "--"; NULL ends the list */
    char short_name;    /* 'o' for -o, or 0 */
    const char *alias;  /* a setting's flag this stands for ("image-dpi") */
    const char **value; /* takes a value, stored here (the last one wins) */
    bool *set;          /* takes none: set to true */
};

struct cfg_args {
    char **settings; /* for cfg_load(settings_n, settings) */
    int settings_n;
    char **positional; /* arguments that are not options, in order */
    int positional_n;
    bool help;     /* --help or -h was given */
    char **owned_; /* private: the "--image-dpi" strings of aliases */
    int owned_n_;
};

/* Sort argv[1..argc-1] (argv[0] is the subcommand) into a's lists, whose
 * strings are argv's. "--" ends the options; "-" is a positional
 * argument. Unknown options ("--bogus: unknown option; did you mean
 * --bogos?") and an option without its value are errors: ETL_ECONFIG (or
 * ETL_ENOMEM) with one line appended to err. A value a setting would
 * reject is cfg_load()'s to report. cfg_args_release() in every case. */
int cfg_args_parse(const struct cfg_option *opts, int argc, char **argv,
                   struct cfg_args *a, struct buf *err);
void cfg_args_release(struct cfg_args *a);

/* A short stable hash (16 hex chars) of the settings that change outputs,
 * written into each Parquet file so runs can be compared. crops is a
 * canonical text of the crop regions in use (whatever their source: inline,
 * a file's contents or the default), or NULL. */
void cfg_hash(const struct etl_config *c, const char *crops, char out[17]);

#endif
