/* Settings: one static table drives parsing, validation, --help and the
 * README's configuration table, so they cannot drift apart.
 *
 * Loading resolves, for each setting, the one raw text that wins (flag >
 * override variable > variable > fallback variable > default) and parses
 * only that: a malformed value in the environment that a flag replaces is
 * not an error. Defaults go through the same parser as user values.
 *
 * Decisions (also stated in the help texts, hence in the README):
 * - Sizes (MAX_PDF_BYTES): bytes, or a whole number with K, M, G, KiB, MiB,
 *   GiB in any case, all 1024-based; "MB" is refused rather than guessed.
 * - Prefixes: a missing trailing '/' is added ("pdfs" -> "pdfs/"); "/" means
 *   the bucket root (""), since an empty variable counts as unset. Leading
 *   '/', empty/"."/".." segments, '\\' and control characters are refused:
 *   prefixes become object keys and local paths.
 * - An empty flag value unsets a text setting (overriding the environment)
 *   and gives "" for a prefix; for numbers and choices it is an error.
 * - A flag for either CROP_REGIONS or CROP_REGIONS_FILE drops the other from
 *   the environment; both set at the same level is an error. The same for
 *   REDACT_REGIONS and REDACT_REGIONS_FILE.
 * - AWS_LAMBDA_LOG_LEVEL/AWS_LAMBDA_LOG_FORMAT beat LOG_LEVEL/LOG_FORMAT but
 *   not the flags; AWS_DEFAULT_REGION is read only when AWS_REGION is unset.
 * - RUN_ID also refuses "." and "..", as it may become part of a key.
 * - Booleans in the environment (EXTRACT_WAVEFORMS) are "0" or "1", nothing
 *   else: "yes"/"true" spellings would each need a rule for "no".
 * - WAVEFORM_PREFIX must differ from METADATA_PREFIX while waveforms are
 *   extracted: both files are named batch_NNNNNN.parquet.
 *
 * Not thread-safe (getenv, isatty): call at start-up, before threads. */
#include "core/cfg.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/err.h"
#include "core/file.h"

enum stype {
    ST_STR,     /* free text, checked by scheck; NULL when unset */
    ST_PREFIX,  /* key prefix: "" or ends in '/' */
    ST_INT,     /* int in [min, max] */
    ST_INT64,   /* int64_t in [min, max]; max INT64_MAX = no upper bound */
    ST_SIZE,    /* int64_t byte count with optional K/M/G/KiB/MiB/GiB */
    ST_SECONDS, /* double in [dmin, dmax], seconds */
    ST_NUMBER,  /* double in [dmin, dmax], another unit (in the help) */
    ST_ENUM,    /* one of choices, stored as int */
    ST_LEVEL,   /* enum log_level via log_level_parse */
    ST_FORMAT,  /* enum log_format via log_format_parse */
    ST_BOOL,    /* --name / --no-name; with env, "0" or "1" there */
    ST_PAGE,    /* a page number in [min, max], or "auto" (CFG_PAGE_AUTO) */
    ST_PAGES,   /* "all", or pages and ranges "1,3-5" (struct cfg_pages) */
};

enum scheck {
    CK_TEXT,   /* no control characters */
    CK_JSON,   /* no control characters except whitespace */
    CK_RUN_ID, /* [A-Za-z0-9_.-]{1,64}, not "." or ".." */
    CK_REGION, /* [A-Za-z0-9_-] */
};

struct choice {
    const char *name;
    int value;
};

struct setting {
    const char *env;  /* NULL: flag only */
    const char *flag; /* without "--" */
    enum stype type;
    enum scheck check; /* ST_STR */
    const char *def;   /* parsed like a user value; NULL = unset */
    int64_t min, max;
    double dmin, dmax;
    const struct choice *choices; /* ST_ENUM; ends with {NULL, 0} */
    size_t maxlen;                /* ST_STR, ST_PREFIX */
    const char *override_env;     /* beats env (not the flag) when set */
    const struct choice *override_choices; /* how override_env is read */
    const char *fallback_env;              /* read when env is unset */
    const char *metavar;                   /* for --help */
    const char *def_text;                  /* shown instead of def */
    const char *accepted;                  /* shown instead of the range */
    const char *help;
    size_t off; /* into struct etl_config */
};

#define KIB ((int64_t)1024)
#define MIB (KIB * 1024)
#define GIB (MIB * 1024)
#define OFF(field) offsetof(struct etl_config, field)

/* Enums are written through an int lvalue. */
_Static_assert(sizeof(enum cfg_render_mode) == sizeof(int), "enum size");
_Static_assert(sizeof(enum cfg_codec) == sizeof(int), "enum size");
_Static_assert(sizeof(enum cfg_fail_on) == sizeof(int), "enum size");
_Static_assert(sizeof(enum log_level) == sizeof(int), "enum size");
_Static_assert(sizeof(enum log_format) == sizeof(int), "enum size");

static const struct choice render_choices[] = {
    {"clip", CFG_RENDER_CLIP}, {"page", CFG_RENDER_PAGE}, {NULL, 0}};
static const struct choice codec_choices[] = {{"zstd", CFG_CODEC_ZSTD},
                                              {"snappy", CFG_CODEC_SNAPPY},
                                              {"none", CFG_CODEC_NONE},
                                              {NULL, 0}};
static const struct choice fail_on_choices[] = {{"never", CFG_FAIL_NEVER},
                                                {"output", CFG_FAIL_OUTPUT},
                                                {"failed", CFG_FAIL_FAILED},
                                                {NULL, 0}};
/* AWS_LAMBDA_LOG_FORMAT is set by Lambda's advanced logging controls. */
static const struct choice lambda_format_choices[] = {
    {"JSON", LOG_FORMAT_JSON}, {"Text", LOG_FORMAT_CONSOLE}, {NULL, 0}};

#define PREFIX_ACCEPTED                                                        \
    "a relative key prefix; a missing trailing `/` is added, `/` alone means " \
    "none"

static const struct setting settings[] = {
    /* Where */
    {.env = "SOURCE_BUCKET",
     .flag = "source",
     .type = ST_STR,
     .check = CK_TEXT,
     .maxlen = 4096,
     .metavar = "URL",
     .def_text = "none",
     .accepted = "bucket name, `s3://bucket/prefix/` URL or directory",
     .help = "Where the PDFs are: an S3 bucket name, an `s3://` URL or a "
             "local directory. As a flag it may carry the prefix "
             "(`s3://bucket/pdfs/`), which then replaces `PDF_PREFIX`.",
     .off = OFF(source_bucket)},
    {.env = "PDF_PREFIX",
     .flag = "pdf-prefix",
     .type = ST_PREFIX,
     .def = "pdfs/",
     .maxlen = 512,
     .metavar = "PREFIX",
     .accepted = PREFIX_ACCEPTED,
     .help = "Key prefix under which the PDFs are listed in "
             "`SOURCE_BUCKET`.",
     .off = OFF(pdf_prefix)},
    {.env = "DEST_BUCKET",
     .flag = "dest",
     .type = ST_STR,
     .check = CK_TEXT,
     .maxlen = 4096,
     .metavar = "URL",
     .def_text = "none",
     .accepted = "bucket name, `s3://bucket/prefix/` URL or directory",
     .help = "Where the outputs go: an S3 bucket name, an `s3://` URL or a "
             "local directory. `IMAGE_PREFIX` and `METADATA_PREFIX` are "
             "relative to it.",
     .off = OFF(dest_bucket)},
    {.env = "IMAGE_PREFIX",
     .flag = "image-prefix",
     .type = ST_PREFIX,
     .def = "images/",
     .maxlen = 512,
     .metavar = "PREFIX",
     .accepted = PREFIX_ACCEPTED,
     .help = "Key prefix of the JPEG crops, written as "
             "`{prefix}{file_id}/{region}.jpg`.",
     .off = OFF(image_prefix)},
    {.env = "METADATA_PREFIX",
     .flag = "metadata-prefix",
     .type = ST_PREFIX,
     .def = "metadata/",
     .maxlen = 512,
     .metavar = "PREFIX",
     .accepted = PREFIX_ACCEPTED,
     .help = "Key prefix of the Parquet results, written as "
             "`{prefix}batch_NNNNNN.parquet`.",
     .off = OFF(metadata_prefix)},

    /* How much at once */
    {.env = "BATCH_SIZE",
     .flag = "batch-size",
     .type = ST_INT,
     .def = "100",
     .min = 1,
     .max = 1000,
     .metavar = "N",
     .help = "PDFs per batch. Each batch writes one Parquet file; on Lambda "
             "each invocation processes one batch.",
     .off = OFF(batch_size)},
    {.env = "CONCURRENCY",
     .flag = "concurrency",
     .type = ST_INT,
     .def = "20",
     .min = 1,
     .max = 256,
     .metavar = "N",
     .help = "PDFs processed at the same time (worker threads). Rendering and "
             "encoding are also limited to the number of CPU cores.",
     .off = OFF(concurrency)},

    /* PDF work */
    {.env = "IMAGE_DPI",
     .flag = "image-dpi",
     .type = ST_INT,
     .def = "100",
     .min = 36,
     .max = 600,
     .metavar = "N",
     .help = "Resolution of the rendered crops, in dots per inch. Regions in "
             "`px` are pixels at this resolution.",
     .off = OFF(image_dpi)},
    {.env = "IMAGE_QUALITY",
     .flag = "image-quality",
     .type = ST_INT,
     .def = "85",
     .min = 1,
     .max = 100,
     .metavar = "N",
     .help = "JPEG quality of the crops: higher is sharper and larger.",
     .off = OFF(image_quality)},
    {.env = "TEXT_PAGE",
     .flag = "text-page",
     .type = ST_PAGE,
     .def = "1",
     .min = 1,
     .max = 100000,
     .metavar = "N",
     .help = "Page whose text goes into the text column and whose "
             "measurements are read, counting from 1. `auto`: the page with "
             "the measurement block, the one of the first 16 pages where "
             "the most measurements are read (the first of equals).",
     .off = OFF(text_page)},
    {.env = "CROP_PAGE",
     .flag = "crop-page",
     .type = ST_PAGE,
     .def = "2",
     .min = 1,
     .max = 100000,
     .metavar = "N",
     .help = "Page the crop regions are rendered from, counting from 1; "
             "`auto`: the first page of `WAVEFORM_PAGES` with vector ECG "
             "traces, else the first that is a scanned image, else the first "
             "read (one-page reports need no setting).",
     .off = OFF(crop_page)},
    {.env = "CROP_REGIONS",
     .flag = "crop-regions",
     .type = ST_STR,
     .check = CK_JSON,
     .maxlen = 1024 * 1024,
     .metavar = "JSON",
     .def_text = "one region (100,100)-(300,300) px named `region_0`",
     .accepted = "JSON: object or list form",
     .help = "Crop regions as JSON: `{\"unit\": \"pt\", \"regions\": "
             "[{\"name\": \"lead_II\", \"x0\": 100, \"y0\": 100, \"x1\": "
             "300, \"y1\": 300}]}` (unit `pt` or `px`; names of A-Z a-z 0-9 "
             "_ . -), or the original's list of pixel boxes `[[x0, y0, x1, "
             "y1], ...]`. Not together with `CROP_REGIONS_FILE`.",
     .off = OFF(crop_regions)},
    {.env = "CROP_REGIONS_FILE",
     .flag = "crops",
     .type = ST_STR,
     .check = CK_TEXT,
     .maxlen = 4096,
     .metavar = "PATH",
     .def_text = "none",
     .accepted = "path of a JSON file of at most 1 MiB",
     .help = "File holding the crop regions, in the same JSON form as "
             "`CROP_REGIONS`.",
     .off = OFF(crop_regions_file)},
    {.env = "REDACT_REGIONS",
     .flag = "redact-regions",
     .type = ST_STR,
     .check = CK_JSON,
     .maxlen = 1024 * 1024,
     .metavar = "JSON",
     .def_text = "none",
     .accepted = "JSON: object or list form",
     .help = "Areas of the crop page painted white before cropping (to "
             "remove a patient header from the waveform page), in the same "
             "JSON form as `CROP_REGIONS`; edges are rounded outwards to "
             "whole pixels. Not together with `REDACT_REGIONS_FILE`.",
     .off = OFF(redact_regions)},
    {.env = "REDACT_REGIONS_FILE",
     .flag = "redact-regions-file",
     .type = ST_STR,
     .check = CK_TEXT,
     .maxlen = 4096,
     .metavar = "PATH",
     .def_text = "none",
     .accepted = "path of a JSON file of at most 1 MiB",
     .help = "File holding the redaction regions, in the same JSON form as "
             "`REDACT_REGIONS`.",
     .off = OFF(redact_regions_file)},
    {.env = "FIELD_PATTERNS_FILE",
     .flag = "field-patterns-file",
     .type = ST_STR,
     .check = CK_TEXT,
     .maxlen = 4096,
     .metavar = "PATH",
     .def_text = "none (the built-in labels only)",
     .accepted = "path of a JSON file of at most 1 MiB",
     .help = "Site-specific patterns for the measurement columns, matched "
             "over the page text before the built-in labels are read: "
             "`{\"patterns\": [{\"field\": "
             "\"vent_rate_bpm\", \"regex\": \"Ventricular rate[: "
             "]+([0-9]+)\"}]}` (POSIX extended regex, case-insensitive; "
             "the value is capture group 1; the README lists every key).",
     .off = OFF(field_patterns_file)},
    {.env = "RENDER_MODE",
     .flag = "render-mode",
     .type = ST_ENUM,
     .def = "clip",
     .choices = render_choices,
     .metavar = "MODE",
     .help = "`clip` renders only each region (several times faster); "
             "a few stroke-edge pixels in 100,000 differ from a full-page "
             "render, by up to 16 levels (`make bench` counts them). `page` "
             "renders the whole page and crops it, giving JPEGs "
             "byte-identical to the original pipeline's.",
     .off = OFF(render_mode)},
    {.env = "MAX_PDF_BYTES",
     .flag = "max-pdf-bytes",
     .type = ST_SIZE,
     .def = "100MiB",
     .min = KIB,
     .max = 4 * GIB,
     .metavar = "SIZE",
     .help = "Larger PDFs are not processed and get a failed row "
             "(error_type `too_large`). A number of bytes, or a whole number "
             "followed by `K`, `M` or `G` (1024-based, the same as `KiB`, "
             "`MiB`, `GiB`).",
     .off = OFF(max_pdf_bytes)},
    {.env = "PDF_TIMEOUT_MS",
     .flag = "pdf-timeout-ms",
     .type = ST_INT,
     .def = "30000",
     .min = 100,
     .max = 900000,
     .metavar = "MS",
     .help = "Time budget for opening and rendering one PDF, in "
             "milliseconds. A PDF that needs longer gets a `timeout` row "
             "(`partial` if its text was already extracted, else `failed`).",
     .off = OFF(pdf_timeout_ms)},
    {.env = "PDF_MAX_MEMORY_MB",
     .flag = "pdf-max-memory-mb",
     .type = ST_INT,
     .def = "512",
     .min = 64,
     .max = 65536,
     .metavar = "MB",
     .help = "Memory one worker may hold for one PDF, in MiB (MuPDF's "
             "allocations, its shared cache included). A PDF that needs more "
             "gets a `too_complex` row instead of exhausting the machine.",
     .off = OFF(pdf_max_memory_mb)},

    /* Retries */
    {.env = "RETRY_MAX_ATTEMPTS",
     .flag = "retry-max-attempts",
     .type = ST_INT,
     .def = "3",
     .min = 1,
     .max = 20,
     .metavar = "N",
     .help = "Attempts per storage request, the first included, when it fails "
             "in a retryable way (network error, timeout, HTTP 5xx or 429, S3 "
             "throttling).",
     .off = OFF(retry_max_attempts)},
    {.env = "RETRY_INITIAL_WAIT",
     .flag = "retry-initial-wait",
     .type = ST_SECONDS,
     .def = "1.0",
     .dmin = 0,
     .dmax = 60,
     .metavar = "SECONDS",
     .help = "Longest wait before the first retry, in seconds; it doubles "
             "with each retry (exponential backoff with full jitter).",
     .off = OFF(retry_initial_wait)},
    {.env = "RETRY_MAX_WAIT",
     .flag = "retry-max-wait",
     .type = ST_SECONDS,
     .def = "60",
     .dmin = 0,
     .dmax = 900,
     .metavar = "SECONDS",
     .help = "Cap on any one wait between attempts, in seconds. Must be at "
             "least `RETRY_INITIAL_WAIT`.",
     .off = OFF(retry_max_wait)},

    /* Output */
    {.env = "PARQUET_COMPRESSION",
     .flag = "parquet-compression",
     .type = ST_ENUM,
     .def = "zstd",
     .choices = codec_choices,
     .metavar = "CODEC",
     .help = "Compression of the Parquet results.",
     .off = OFF(parquet_compression)},

    /* Waveforms */
    {.env = "EXTRACT_WAVEFORMS",
     .flag = "extract-waveforms",
     .type = ST_BOOL,
     .def = "0",
     .help = "`1` also reads the ECG traces of the pages (`WAVEFORM_PAGES`; "
             "vector pages only) as calibrated samples in mV and writes them, "
             "one row per lead, to `{WAVEFORM_PREFIX}batch_NNNNNN.parquet`; "
             "the results get `leads_extracted` and `waveform_status`.",
     .off = OFF(extract_waveforms)},
    {.env = "WAVEFORM_PAGES",
     .flag = "waveform-pages",
     .type = ST_PAGES,
     .def = "all",
     .min = 1,
     .max = 100000,
     .metavar = "PAGES",
     .accepted = "`all`, or pages and ranges such as `1,3-5` (1 to 100000, "
                 "at most 16 parts)",
     .help = "Pages read for waveforms (`EXTRACT_WAVEFORMS`), lead crops "
             "(`CROP_LEADS`) and `CROP_PAGE=auto`. Leads spread over pages "
             "come out as one recording; a recording continued over pages "
             "is joined into one lead per name.",
     .off = OFF(waveform_pages)},
    {.env = "CROP_LEADS",
     .flag = "crop-leads",
     .type = ST_BOOL,
     .def = "0",
     .help = "`1` also writes one JPEG per lead found on the pages "
             "(`{IMAGE_PREFIX}{file_id}/lead_{name}.jpg`, `lead_{name}_rhythm."
             "jpg` for a rhythm strip): the strip's box, from its trace and "
             "label, at `IMAGE_DPI`; a lead continued over pages is one "
             "image, its parts side by side.",
     .off = OFF(crop_leads)},
    {.env = "WAVEFORM_PREFIX",
     .flag = "waveform-prefix",
     .type = ST_PREFIX,
     .def = "waveforms/",
     .maxlen = 512,
     .metavar = "PREFIX",
     .accepted = PREFIX_ACCEPTED,
     .help = "Key prefix of the waveform Parquet files, written as "
             "`{prefix}batch_NNNNNN.parquet`; must differ from "
             "`METADATA_PREFIX`.",
     .off = OFF(waveform_prefix)},
    {.env = "WAVEFORM_SAMPLE_RATE",
     .flag = "waveform-sample-rate",
     .type = ST_INT,
     .def = "500",
     .min = 50,
     .max = 10000,
     .metavar = "HZ",
     .help = "Samples per second of the extracted leads (each trace is "
             "resampled to it).",
     .off = OFF(waveform_sample_rate)},
    {.env = "PAPER_SPEED_MM_S",
     .flag = "paper-speed-mm-s",
     .type = ST_NUMBER,
     .def = "25",
     .dmin = 5,
     .dmax = 200,
     .metavar = "MM_S",
     .help = "Paper speed in mm/s for pages that print none (a printed "
             "`25 mm/s` wins): the time axis of the extracted leads.",
     .off = OFF(paper_speed_mm_s)},
    {.env = "GAIN_MM_MV",
     .flag = "gain-mm-mv",
     .type = ST_NUMBER,
     .def = "10",
     .dmin = 1,
     .dmax = 100,
     .metavar = "MM_MV",
     .help = "Gain in mm/mV for rows of leads with no 1 mV calibration "
             "pulse on a page that prints none (a printed `10 mm/mV` wins).",
     .off = OFF(gain_mm_mv)},

    /* Logging */
    {.env = "LOG_LEVEL",
     .flag = "log-level",
     .type = ST_LEVEL,
     .def = "INFO",
     .override_env = "AWS_LAMBDA_LOG_LEVEL",
     .metavar = "LEVEL",
     .accepted = "`DEBUG`, `INFO`, `WARN`, `ERROR`, `OFF`",
     .help = "Least severe log level written. `AWS_LAMBDA_LOG_LEVEL`, set by "
             "Lambda's logging controls, takes precedence over `LOG_LEVEL`.",
     .off = OFF(log_level)},
    {.env = "LOG_FORMAT",
     .flag = "log-format",
     .type = ST_FORMAT,
     .def = "auto",
     .override_env = "AWS_LAMBDA_LOG_FORMAT",
     .override_choices = lambda_format_choices,
     .metavar = "FORMAT",
     .accepted = "`auto`, `json`, `console`",
     .help = "`json` writes one JSON object per line, `console` readable "
             "lines; `auto` picks `console` on a terminal, `json` otherwise. "
             "`AWS_LAMBDA_LOG_FORMAT` (`JSON` or `Text`), set by Lambda's "
             "logging controls, takes precedence over `LOG_FORMAT`.",
     .off = OFF(log_format)},
    {.env = "DEBUG_PAYLOADS",
     .flag = "debug-payloads",
     .type = ST_INT,
     .def = "0",
     .min = 0,
     .max = 65536,
     .metavar = "BYTES",
     .accepted = "`0` (off) to 65536",
     .help = "For debugging text extraction only: with `LOG_LEVEL=DEBUG`, "
             "log the first BYTES bytes of each PDF's page text (event "
             "`pdf_text`). Off (`0`) by default, and then no PDF text, crop "
             "content or credential is logged at any level. The text is "
             "patient data: never turn this on in production.",
     .off = OFF(debug_payloads)},

    /* AWS */
    {.env = "AWS_REGION",
     .flag = "aws-region",
     .type = ST_STR,
     .check = CK_REGION,
     .maxlen = 64,
     .fallback_env = "AWS_DEFAULT_REGION",
     .metavar = "REGION",
     .def_text = "`AWS_DEFAULT_REGION`",
     .accepted = "letters, digits, `-` and `_`",
     .help = "AWS region of the buckets and of the Lambda function "
             "(e.g. `eu-west-1`).",
     .off = OFF(aws_region)},
    {.env = "AWS_LAMBDA_FUNCTION_NAME",
     .flag = "aws-lambda-function-name",
     .type = ST_STR,
     .check = CK_TEXT,
     .maxlen = 256,
     .metavar = "NAME",
     .def_text = "none",
     .accepted = "function name or ARN",
     .help = "Lambda function invoked for the next batch; Lambda sets it to "
             "the running function's own name.",
     .off = OFF(aws_lambda_function_name)},
    {.env = "ALLOW_HTTP",
     .flag = "allow-http",
     .type = ST_BOOL,
     .def = "0",
     .help = "`1` accepts a plain `http://` endpoint "
             "(`AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`, "
             "`AWS_ENDPOINT_URL_LAMBDA`) on a host other than the loopback "
             "(`localhost`, `127.x.x.x`, `[::1]`); otherwise only `https://` "
             "may leave the machine, since plain http sends the data and "
             "the signed requests in clear.",
     .off = OFF(allow_http)},

    /* Lambda */
    {.env = "DEADLINE_MARGIN_MS",
     .flag = "deadline-margin-ms",
     .type = ST_INT,
     .def = "60000",
     .min = 100,
     .max = 900000,
     .metavar = "MS",
     .help = "On Lambda, a batch stops starting PDFs when less than this "
             "remains before the invocation's deadline, writes its Parquet "
             "file and hands the exact cursor to the next batch. PDFs still "
             "in flight when half of it remains get `timeout` rows and the "
             "sandbox is recycled, so keep it at least twice "
             "`PDF_TIMEOUT_MS`.",
     .off = OFF(deadline_margin_ms)},
    {.env = "MAX_CHAIN_BATCHES",
     .flag = "max-chain-batches",
     .type = ST_INT64,
     .def = "100000",
     .min = 1,
     .max = 1000000000,
     .metavar = "N",
     .help = "On Lambda, the most batches one self-invoking chain runs; the "
             "last one records where it stopped instead of invoking the next.",
     .off = OFF(max_chain_batches)},
    {.env = "KILL_SWITCH_KEY",
     .flag = "kill-switch-key",
     .type = ST_STR,
     .check = CK_TEXT,
     .maxlen = 1024,
     .metavar = "KEY",
     .def_text = "`{METADATA_PREFIX}_chain/STOP`",
     .accepted = "an object key in the destination",
     .help = "On Lambda, while an object exists at this key of the "
             "destination, chains stop before their next batch and invoke "
             "nothing (`{METADATA_PREFIX}_chain/{run_id}/STOP` stops one "
             "run).",
     .off = OFF(kill_switch_key)},
    {.env = "FAIL_INVOCATION_ON",
     .flag = "fail-invocation-on",
     .type = ST_ENUM,
     .def = "never",
     .choices = fail_on_choices,
     .metavar = "WHEN",
     .help = "On Lambda, when an invocation whose batch ran still reports "
             "failure, so that Lambda (or Step Functions' Retry) runs it "
             "again and a failure destination sees it: `output` when a row "
             "could not write its outputs (a crop: `file_put`/`s3_put`), "
             "`failed` when any row failed, `never` to report such rows "
             "only in the response (`output_failed`, `counts.failed`) and "
             "the `lambda_batch_done` log line. A chain batch that fails "
             "this way is not committed, so the retry redoes it.",
     .off = OFF(fail_invocation_on)},

    /* Run control */
    {.env = "START_AFTER",
     .flag = "start-after",
     .type = ST_STR,
     .check = CK_TEXT,
     .maxlen = 1024,
     .metavar = "KEY",
     .def_text = "none",
     .accepted = "a source key",
     .help = "Start listing after this source key (exclusive), to resume a "
             "run.",
     .off = OFF(start_after)},
    {.env = "BATCH_ID",
     .flag = "batch-id",
     .type = ST_INT64,
     .def = "0",
     .min = 0,
     .max = CFG_BATCH_ID_MAX,
     .metavar = "N",
     .help = "Number of the first batch; batch N writes "
             "`batch_NNNNNN.parquet`.",
     .off = OFF(batch_id)},
    {.env = "MAX_BATCHES",
     .flag = "max-batches",
     .type = ST_INT64,
     .def = "0",
     .min = 0,
     .max = INT64_MAX,
     .metavar = "N",
     .accepted = "`0` (no limit) or more",
     .help = "Stop after this many batches; `0` runs until the listing is "
             "exhausted.",
     .off = OFF(max_batches)},
    {.env = "RUN_ID",
     .flag = "run-id",
     .type = ST_STR,
     .check = CK_RUN_ID,
     .maxlen = 64,
     .metavar = "ID",
     .def_text = "generated",
     .accepted = "1 to 64 of `A-Z a-z 0-9 _ . -`",
     .help = "Identifier recorded with the run's results; one is generated "
             "when unset.",
     .off = OFF(run_id)},
    {.flag = "progress",
     .type = ST_BOOL,
     .def_text = "on when stderr is a terminal",
     .help = "Show a progress line at the bottom of the terminal "
             "(`--no-progress` hides it).",
     .off = OFF(progress)},
};

#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))

/* Where the winning raw text of a setting came from. */
enum origin { FROM_DEFAULT, FROM_ENV, FROM_FLAG };

struct raw {
    const char *name; /* "IMAGE_DPI", "--image-dpi"; for messages */
    const char *text; /* borrowed from environ/argv/the table; or NULL */
    enum origin from;
    bool override; /* read from override_env */
};

/* --- messages ------------------------------------------------------------ */

/* Print a user value for a message: as is when plain, else quoted with
 * escapes; long values (inline JSON) are cut. */
static void add_value(struct buf *b, const char *v)
{
    const size_t cut = 60;
    size_t n = strlen(v);
    bool plain = n > 0 && n <= cut;
    for (size_t i = 0; plain && i < n; i++) {
        unsigned char ch = (unsigned char)v[i];
        plain = ch > 0x20 && ch < 0x7f && ch != '"' && ch != '\\';
    }
    if (plain) {
        buf_add(b, v, n);
        return;
    }
    size_t m = n;
    if (m > cut) {
        m = cut;
        /* Do not split a UTF-8 sequence. */
        while (m > 0 && ((unsigned char)v[m] & 0xc0) == 0x80)
            m--;
    }
    buf_addch(b, '"');
    for (size_t i = 0; i < m; i++) {
        unsigned char ch = (unsigned char)v[i];
        if (ch == '"' || ch == '\\')
            buf_printf(b, "\\%c", ch);
        else if (ch == '\n')
            buf_addstr(b, "\\n");
        else if (ch == '\t')
            buf_addstr(b, "\\t");
        else if (ch < 0x20 || ch == 0x7f)
            buf_printf(b, "\\x%02x", ch);
        else
            buf_addch(b, ch);
    }
    buf_addch(b, '"');
    if (m < n)
        buf_addstr(b, "...");
}

/* Append "NAME=VALUE: " then the formatted reason. Returns ETL_ECONFIG,
 * or ETL_ENOMEM when the message itself could not be built. */
static int fail(struct buf *err, const struct raw *r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct buf *err, const struct raw *r, const char *fmt, ...)
{
    size_t mark = err->len;
    buf_addstr(err, r->name);
    if (r->text) {
        buf_addch(err, '=');
        add_value(err, r->text);
        if (r->from == FROM_DEFAULT)
            buf_addstr(err, " (default)");
    }
    buf_addstr(err, ": ");
    va_list ap;
    va_start(ap, fmt);
    int rc = buf_vprintf(err, fmt, ap);
    va_end(ap);
    if (rc == ETL_ENOMEM) {
        buf_truncate(err, mark);
        return ETL_ENOMEM;
    }
    return ETL_ECONFIG;
}

static void add_choices(struct buf *b, const struct choice *c)
{
    for (size_t i = 0; c[i].name; i++)
        buf_printf(b, "%s%s", i ? ", " : "", c[i].name);
}

/* "100MiB" when n is a whole number of a binary unit, else bytes. */
static void add_size(struct buf *b, int64_t n)
{
    if (n != 0 && n % GIB == 0)
        buf_printf(b, "%lldGiB", (long long)(n / GIB));
    else if (n != 0 && n % MIB == 0)
        buf_printf(b, "%lldMiB", (long long)(n / MIB));
    else if (n != 0 && n % KIB == 0)
        buf_printf(b, "%lldKiB", (long long)(n / KIB));
    else
        buf_printf(b, "%lld", (long long)n);
}

/* Table texts mark code with backticks (Markdown); plain output drops
 * them. */
static void strip_code(struct buf *b)
{
    size_t o = 0;
    for (size_t i = 0; i < b->len; i++)
        if (b->data[i] != '`')
            b->data[o++] = b->data[i];
    buf_truncate(b, o);
}

/* What a setting accepts, for messages and --help (Markdown). */
static void add_accepted(struct buf *b, const struct setting *s)
{
    switch (s->type) {
    case ST_INT:
    case ST_INT64:
        if (s->accepted)
            buf_addstr(b, s->accepted);
        else if (s->max == INT64_MAX)
            buf_printf(b, "%lld or more", (long long)s->min);
        else
            buf_printf(b, "%lld to %lld", (long long)s->min, (long long)s->max);
        return;
    case ST_SIZE:
        add_size(b, s->min);
        buf_addstr(b, " to ");
        add_size(b, s->max);
        return;
    case ST_SECONDS:
        buf_printf(b, "%g to %g seconds", s->dmin, s->dmax);
        return;
    case ST_NUMBER:
        buf_printf(b, "%g to %g", s->dmin, s->dmax);
        return;
    case ST_ENUM:
        for (size_t i = 0; s->choices[i].name; i++)
            buf_printf(b, "%s`%s`", i ? ", " : "", s->choices[i].name);
        return;
    case ST_PAGE:
        buf_printf(b, "%lld to %lld, or `auto`", (long long)s->min,
                   (long long)s->max);
        return;
    case ST_BOOL:
        if (s->env)
            buf_addstr(b, "`0` or `1`");
        else
            buf_printf(b, "`--%s` or `--no-%s`", s->flag, s->flag);
        return;
    default:
        buf_addstr(b, s->accepted ? s->accepted : "text");
        return;
    }
}

/* --- parsing one value ---------------------------------------------------- */

/* A whole base-10 number: optional sign, digits, nothing else (strtoll
 * alone would skip leading spaces and ignore trailing junk). */
static int parse_i64(const char *t, int64_t *out, const char **end_out)
{
    const char *p = t;
    if (*p == '+' || *p == '-')
        p++;
    if (!isdigit((unsigned char)*p))
        return ETL_EINVAL;
    errno = 0;
    char *end;
    long long v = strtoll(t, &end, 10);
    if (errno == ERANGE)
        return ETL_ERANGE;
    if (end_out)
        *end_out = end;
    else if (*end)
        return ETL_EINVAL;
    *out = v;
    return 0;
}

/* Bytes, or a whole number with K, M, G, KiB, MiB, GiB (any case, spaces
 * allowed before the unit). All 1024-based: "MB" is refused rather than
 * guessed at. */
static int parse_size(const char *t, int64_t *out)
{
    static const struct {
        const char *unit;
        int64_t mult;
    } units[] = {{"", 1},      {"K", KIB}, {"KiB", KIB}, {"M", MIB},
                 {"MiB", MIB}, {"G", GIB}, {"GiB", GIB}};
    const char *num_end;
    int64_t v;
    if (parse_i64(t, &v, &num_end))
        return ETL_EINVAL;
    const char *end = num_end + strspn(num_end, " ");
    if (!*end && end != num_end)
        return ETL_EINVAL; /* trailing spaces without a unit */
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcasecmp(end, units[i].unit) != 0)
            continue;
        if (v < 0 || v > INT64_MAX / units[i].mult)
            return ETL_ERANGE;
        *out = v * units[i].mult;
        return 0;
    }
    return ETL_EINVAL;
}

/* A finite decimal number; strtod alone would also take hex, inf, nan and
 * leading spaces. */
static int parse_decimal(const char *t, double *out)
{
    if (!*t || strspn(t, "0123456789.eE+-") != strlen(t))
        return ETL_EINVAL;
    errno = 0;
    char *end;
    double v = strtod(t, &end);
    if (end == t || *end || !isfinite(v))
        return ETL_EINVAL;
    *out = v;
    return 0;
}

static int parse_choice(const struct choice *c, const char *t, int *out)
{
    for (size_t i = 0; c[i].name; i++) {
        if (strcasecmp(t, c[i].name) == 0) {
            *out = c[i].value;
            return 0;
        }
    }
    return ETL_EINVAL;
}

static bool no_controls(const char *t, bool allow_space)
{
    for (const unsigned char *p = (const unsigned char *)t; *p; p++) {
        if (allow_space && (*p == '\n' || *p == '\r' || *p == '\t'))
            continue;
        if (*p < 0x20 || *p == 0x7f)
            return false;
    }
    return true;
}

/* ASCII letters and digits plus extra; isalnum() would follow the locale. */
static bool only_chars(const char *t, const char *extra)
{
    for (const char *p = t; *p; p++) {
        bool alnum = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9');
        if (!alnum && !strchr(extra, *p))
            return false;
    }
    return true;
}

/* Prefixes end up in object keys and local paths: relative, no empty, "."
 * or ".." segment, no backslash or control character. */
static bool prefix_safe(const char *t)
{
    if (t[0] == '/' || strchr(t, '\\') || !no_controls(t, false))
        return false;
    const char *seg = t;
    while (*seg) {
        size_t n = strcspn(seg, "/");
        if (n == 0 || (n == 1 && seg[0] == '.') ||
            (n == 2 && seg[0] == '.' && seg[1] == '.'))
            return false;
        seg += n;
        if (*seg == '/')
            seg++;
    }
    return true;
}

/* "all", or comma-separated N and N-M (first <= last) within the
 * setting's range; no spaces. */
static int parse_pages(const char *t, const struct setting *s,
                       struct cfg_pages *out)
{
    struct cfg_pages p = {0};
    if (!t || !*t)
        return ETL_EINVAL;
    if (strcasecmp(t, "all") == 0) {
        *out = p;
        return 0;
    }
    const char *q = t;
    for (;;) {
        int64_t a, b;
        const char *end;
        if (!isdigit((unsigned char)*q) || parse_i64(q, &a, &end))
            return ETL_EINVAL;
        b = a;
        if (*end == '-') {
            q = end + 1;
            if (!isdigit((unsigned char)*q) || parse_i64(q, &b, &end))
                return ETL_EINVAL;
        }
        if (a < s->min || b > s->max || a > b || p.n >= CFG_MAX_PAGE_RANGES)
            return ETL_EINVAL;
        p.range[p.n].first = (int)a;
        p.range[p.n].last = (int)b;
        p.n++;
        if (*end == '\0')
            break;
        if (*end != ',')
            return ETL_EINVAL;
        q = end + 1;
    }
    *out = p;
    return 0;
}

bool cfg_pages_has(const struct cfg_pages *p, int page)
{
    if (p->n == 0)
        return page >= 1;
    for (int i = 0; i < p->n; i++) {
        if (page >= p->range[i].first && page <= p->range[i].last)
            return true;
    }
    return false;
}

static int set_string(char **field, const char *t, size_t len)
{
    char *copy = malloc(len + 1);
    if (!copy)
        return ETL_ENOMEM;
    memcpy(copy, t, len);
    copy[len] = '\0';
    free(*field);
    *field = copy;
    return 0;
}

static int parse_setting(const struct setting *s, const struct raw *r,
                         struct etl_config *c, struct buf *err)
{
    char *base = (char *)c;
    void *field = base + s->off;
    const char *t = r->text;
    int64_t v;
    double d;
    int e;

    switch (s->type) {
    case ST_STR: {
        if (!t || !*t) /* an empty flag value unsets */
            return 0;
        size_t n = strlen(t);
        bool ok = n <= s->maxlen;
        const char *why = "";
        switch (s->check) {
        case CK_TEXT:
            ok = ok && no_controls(t, false);
            why = "must not contain control characters";
            break;
        case CK_JSON:
            ok = ok && no_controls(t, true);
            why = "must be JSON text without control characters";
            break;
        case CK_RUN_ID:
            ok = ok && only_chars(t, "_.-") && strcmp(t, ".") != 0 &&
                 strcmp(t, "..") != 0;
            why = "must be 1 to 64 characters from A-Z a-z 0-9 _ . - "
                  "(not \".\" or \"..\")";
            break;
        case CK_REGION:
            ok = ok && only_chars(t, "_-");
            why = "must be a region name of letters, digits, - and _";
            break;
        }
        if (n > s->maxlen && s->check != CK_RUN_ID)
            return fail(err, r, "must be at most %zu bytes", s->maxlen);
        if (!ok)
            return fail(err, r, "%s", why);
        return set_string(field, t, n);
    }
    case ST_PREFIX: {
        size_t n = strlen(t);
        if (strcmp(t, "/") == 0)
            return set_string(field, "", 0);
        if (n >= s->maxlen)
            return fail(err, r, "must be at most %zu bytes", s->maxlen - 1);
        if (n && !prefix_safe(t))
            return fail(err, r,
                        "must be a relative key prefix such as pdfs/ (no "
                        "leading /, no empty, . or .. part, no \\ or "
                        "control character; / alone for none)");
        int rc = set_string(field, t, n);
        if (rc == 0 && n && t[n - 1] != '/') {
            struct buf b = BUF_INIT;
            rc = buf_add(&b, t, n);
            if (rc == 0)
                rc = buf_addch(&b, '/');
            if (rc == 0)
                rc = set_string(field, b.data, b.len);
            buf_release(&b);
        }
        return rc;
    }
    case ST_INT:
    case ST_INT64:
        if (parse_i64(t, &v, NULL) || v < s->min || v > s->max) {
            if (s->max == INT64_MAX)
                return fail(err, r, "must be an integer >= %lld",
                            (long long)s->min);
            return fail(err, r, "must be an integer from %lld to %lld",
                        (long long)s->min, (long long)s->max);
        }
        if (s->type == ST_INT)
            *(int *)field = (int)v;
        else
            *(int64_t *)field = v;
        return 0;
    case ST_SIZE:
        if (parse_size(t, &v) || v < s->min || v > s->max) {
            struct buf range = BUF_INIT;
            add_accepted(&range, s);
            strip_code(&range);
            int rc = fail(err, r,
                          "must be a size from %s (bytes, or a whole number "
                          "with K, M, G, KiB, MiB or GiB; 1024-based)",
                          range.data);
            buf_release(&range);
            return rc;
        }
        *(int64_t *)field = v;
        return 0;
    case ST_SECONDS:
        if (parse_decimal(t, &d) || d < s->dmin || d > s->dmax)
            return fail(err, r, "must be a number of seconds from %g to %g",
                        s->dmin, s->dmax);
        *(double *)field = d;
        return 0;
    case ST_NUMBER:
        if (parse_decimal(t, &d) || d < s->dmin || d > s->dmax)
            return fail(err, r, "must be a number from %g to %g", s->dmin,
                        s->dmax);
        *(double *)field = d;
        return 0;
    case ST_ENUM:
    case ST_LEVEL:
    case ST_FORMAT: {
        const struct choice *ch = r->override && s->override_choices
                                      ? s->override_choices
                                      : s->choices;
        if (ch)
            e = parse_choice(ch, t, (int *)field);
        else if (s->type == ST_LEVEL)
            e = log_level_parse(t, (enum log_level *)field);
        else
            e = log_format_parse(t, (enum log_format *)field);
        if (e) {
            struct buf names = BUF_INIT;
            if (ch)
                add_choices(&names, ch);
            else
                buf_addstr(&names, s->accepted);
            strip_code(&names);
            int rc = fail(err, r, "must be one of %s", names.data);
            buf_release(&names);
            return rc;
        }
        return 0;
    }
    case ST_PAGE:
        if (t && strcasecmp(t, "auto") == 0) {
            *(int *)field = CFG_PAGE_AUTO;
            return 0;
        }
        if (!t || parse_i64(t, &v, NULL) || v < s->min || v > s->max)
            return fail(err, r,
                        "must be a page number from %lld to %lld, or "
                        "auto",
                        (long long)s->min, (long long)s->max);
        *(int *)field = (int)v;
        return 0;
    case ST_PAGES:
        if (parse_pages(t, s, (struct cfg_pages *)field))
            return fail(err, r,
                        "must be all, or page numbers and ranges from %lld to "
                        "%lld separated by commas, such as 1,3-5 (at most %d)",
                        (long long)s->min, (long long)s->max,
                        CFG_MAX_PAGE_RANGES);
        return 0;
    case ST_BOOL:
        /* Flags arrive as "1"/"0" (scan_flags); the variable is the
         * user's text. */
        if (!t || (strcmp(t, "1") != 0 && strcmp(t, "0") != 0))
            return fail(err, r, "must be 0 or 1");
        *(bool *)field = strcmp(t, "1") == 0;
        return 0;
    }
    assert(!"unknown setting type");
    return ETL_EINVAL;
}

/* --- flags ---------------------------------------------------------------- */

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t row[64];
    if (lb >= sizeof(row) / sizeof(row[0]) || la >= 64)
        return SIZE_MAX;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static int unknown_flag(const char *name, size_t n, struct buf *err)
{
    char want[64];
    size_t best = 3, at = NSETTINGS;
    if (n < sizeof(want)) {
        memcpy(want, name, n);
        want[n] = '\0';
        for (size_t i = 0; i < NSETTINGS; i++) {
            size_t d = edit_distance(want, settings[i].flag);
            if (d < best) {
                best = d;
                at = i;
            }
        }
    }
    size_t mark = err->len;
    struct buf shown = BUF_INIT;
    int rc = buf_addstr(&shown, "--");
    if (rc == 0)
        rc = buf_add(&shown, name, n);
    if (rc == 0)
        add_value(err, shown.data);
    buf_release(&shown);
    if (rc == 0)
        rc = buf_addstr(err, ": unknown flag");
    if (rc == 0 && at < NSETTINGS)
        rc = buf_printf(err, "; did you mean --%s?", settings[at].flag);
    if (rc) {
        buf_truncate(err, mark);
        return rc;
    }
    return ETL_ECONFIG;
}

/* Record each flag's raw text (the last occurrence wins). */
static int scan_flags(int argc, char **argv, struct raw *raws, struct buf *err)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
            size_t mark = err->len;
            add_value(err, a);
            int rc = buf_addstr(err, ": unexpected argument (settings are "
                                     "--name value flags)");
            if (rc) {
                buf_truncate(err, mark);
                return rc;
            }
            return ETL_ECONFIG;
        }
        const char *name = a + 2;
        const char *eq = strchr(name, '=');
        size_t n = eq ? (size_t)(eq - name) : strlen(name);
        size_t k = NSETTINGS;
        bool negated = false;
        for (size_t j = 0; j < NSETTINGS; j++) {
            const char *f = settings[j].flag;
            if (strlen(f) == n && strncmp(f, name, n) == 0) {
                k = j;
                break;
            }
            if (settings[j].type == ST_BOOL && n == strlen(f) + 3 &&
                strncmp(name, "no-", 3) == 0 &&
                strncmp(name + 3, f, n - 3) == 0) {
                k = j;
                negated = true;
                break;
            }
        }
        if (k == NSETTINGS)
            return unknown_flag(name, n, err);
        const struct setting *s = &settings[k];
        struct raw *r = &raws[k];
        r->from = FROM_FLAG;
        r->override = false;
        if (s->type == ST_BOOL) {
            if (eq) {
                struct raw bad = {a, NULL, FROM_FLAG, false};
                return fail(err, &bad, "takes no value (use --%s or --no-%s)",
                            s->flag, s->flag);
            }
            r->name = argv[i];
            r->text = negated ? "0" : "1";
            continue;
        }
        /* Keep the flag's name for messages: "--image-dpi". */
        r->name = NULL;
        r->text = eq ? eq + 1 : NULL;
        if (!eq) {
            if (i + 1 >= argc) {
                struct raw bad = {a, NULL, FROM_FLAG, false};
                return fail(err, &bad, "needs a value");
            }
            r->text = argv[++i];
        }
    }
    return 0;
}

/* --- loading -------------------------------------------------------------- */

static const char *env_value(const char *name)
{
    if (!name)
        return NULL;
    const char *v = getenv(name);
    return v && *v ? v : NULL; /* empty counts as unset */
}

static size_t find_env(const char *env)
{
    for (size_t i = 0; i < NSETTINGS; i++)
        if (settings[i].env && strcmp(settings[i].env, env) == 0)
            return i;
    assert(!"no such setting");
    return 0;
}

/* Rules between settings, checked once each has its value. */
static int check_pairs(const struct etl_config *c, const struct raw *raws,
                       struct buf *err)
{
    const struct raw *init = &raws[find_env("RETRY_INITIAL_WAIT")];
    const struct raw *maxw = &raws[find_env("RETRY_MAX_WAIT")];
    if (c->retry_max_wait < c->retry_initial_wait)
        return fail(err, maxw, "must be at least %s (%g)", init->name,
                    c->retry_initial_wait);

    /* --source's URL carries the prefix; a --pdf-prefix would be ignored. */
    const struct raw *pre = &raws[find_env("PDF_PREFIX")];
    if (pre->from == FROM_FLAG && c->source_is_url)
        return fail(err, pre,
                    "cannot be used with --source (the URL's path is the "
                    "prefix)");

    if (c->crop_regions && c->crop_regions_file) {
        int rc =
            buf_printf(err, "%s and %s are both set: give one or the other",
                       raws[find_env("CROP_REGIONS")].name,
                       raws[find_env("CROP_REGIONS_FILE")].name);
        return rc ? rc : ETL_ECONFIG;
    }
    if (c->redact_regions && c->redact_regions_file) {
        int rc =
            buf_printf(err, "%s and %s are both set: give one or the other",
                       raws[find_env("REDACT_REGIONS")].name,
                       raws[find_env("REDACT_REGIONS_FILE")].name);
        return rc ? rc : ETL_ECONFIG;
    }

    /* The waveform file would replace the results file (the batch's
     * commit marker) or the other way round. */
    if (c->extract_waveforms &&
        strcmp(c->waveform_prefix, c->metadata_prefix) == 0) {
        const struct raw *wp = &raws[find_env("WAVEFORM_PREFIX")];
        return fail(err, wp,
                    "must differ from %s (both files are named "
                    "batch_NNNNNN.parquet)",
                    raws[find_env("METADATA_PREFIX")].name);
    }
    return 0;
}

int cfg_load(struct etl_config *c, int argc, char **argv, struct buf *err)
{
    struct raw raws[NSETTINGS];
    char flag_names[NSETTINGS][40]; /* "--image-dpi", for messages */
    int rc;

    memset(c, 0, sizeof(*c));
    for (size_t i = 0; i < NSETTINGS; i++) {
        const struct setting *s = &settings[i];
        struct raw *r = &raws[i];
        snprintf(flag_names[i], sizeof(flag_names[i]), "--%s", s->flag);
        assert(strlen(s->flag) + 2 < sizeof(flag_names[i]));
        *r = (struct raw){s->env ? s->env : flag_names[i], s->def, FROM_DEFAULT,
                          false};
        const char *ov = env_value(s->override_env);
        const char *ev = env_value(s->env);
        const char *fv = env_value(s->fallback_env);
        if (ov)
            *r = (struct raw){s->override_env, ov, FROM_ENV, true};
        else if (ev)
            *r = (struct raw){s->env, ev, FROM_ENV, false};
        else if (fv)
            *r = (struct raw){s->fallback_env, fv, FROM_ENV, false};
    }
    c->progress = isatty(STDERR_FILENO) == 1;

    rc = scan_flags(argc, argv, raws, err);
    if (rc)
        return rc;
    for (size_t i = 0; i < NSETTINGS; i++)
        if (raws[i].from == FROM_FLAG && !raws[i].name)
            raws[i].name = flag_names[i];

    /* A flag for either crop setting replaces both from the environment. */
    size_t cr = find_env("CROP_REGIONS"), cf = find_env("CROP_REGIONS_FILE");
    if (raws[cr].from == FROM_FLAG && raws[cf].from == FROM_ENV)
        raws[cf] = (struct raw){flag_names[cf], NULL, FROM_DEFAULT, false};
    if (raws[cf].from == FROM_FLAG && raws[cr].from == FROM_ENV)
        raws[cr] = (struct raw){flag_names[cr], NULL, FROM_DEFAULT, false};
    /* Likewise for the redaction regions. */
    size_t rr = find_env("REDACT_REGIONS"),
           rf = find_env("REDACT_REGIONS_FILE");
    if (raws[rr].from == FROM_FLAG && raws[rf].from == FROM_ENV)
        raws[rf] = (struct raw){flag_names[rf], NULL, FROM_DEFAULT, false};
    if (raws[rf].from == FROM_FLAG && raws[rr].from == FROM_ENV)
        raws[rr] = (struct raw){flag_names[rr], NULL, FROM_DEFAULT, false};

    for (size_t i = 0; i < NSETTINGS; i++) {
        const struct setting *s = &settings[i];
        if (s->type == ST_BOOL && raws[i].from == FROM_DEFAULT)
            continue; /* default set above */
        if (raws[i].from == FROM_DEFAULT && !raws[i].text)
            continue; /* unset */
        rc = parse_setting(s, &raws[i], c, err);
        if (rc)
            return rc;
    }

    size_t src = find_env("SOURCE_BUCKET"), dst = find_env("DEST_BUCKET");
    c->source_is_url = raws[src].from == FROM_FLAG && c->source_bucket;
    c->dest_is_url = raws[dst].from == FROM_FLAG && c->dest_bucket;

    return check_pairs(c, raws, err);
}

void cfg_release(struct etl_config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < NSETTINGS; i++) {
        if (settings[i].type == ST_STR || settings[i].type == ST_PREFIX) {
            char **field = (char **)((char *)c + settings[i].off);
            free(*field);
            *field = NULL;
        }
    }
}

/* --- usage ---------------------------------------------------------------- */

/* Markdown, like add_accepted. */
static void add_default(struct buf *b, const struct setting *s)
{
    if (s->def_text)
        buf_addstr(b, s->def_text);
    else
        buf_printf(b, "`%s`", s->def);
}

/* Markdown table cells: escape the pipe, which would end the cell. */
static void md_cell(FILE *f, const char *t)
{
    for (const char *p = t; *p; p++) {
        if (*p == '|')
            fputc('\\', f);
        fputc(*p, f);
    }
}

static void wrap(FILE *f, const char *t, int indent, int width)
{
    int col = 0;
    while (*t) {
        size_t n = strcspn(t, " ");
        if (col > indent && col + 1 + (int)n > width) {
            fputc('\n', f);
            col = 0;
        }
        if (col == 0) {
            fprintf(f, "%*s", indent, "");
            col = indent;
        } else {
            fputc(' ', f);
            col++;
        }
        fwrite(t, 1, n, f);
        col += (int)n;
        t += n;
        while (*t == ' ')
            t++;
    }
    if (col)
        fputc('\n', f);
}

size_t cfg_env_names(const char **out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < NSETTINGS; i++) {
        const char *names[] = {settings[i].env, settings[i].override_env,
                               settings[i].fallback_env};
        for (size_t k = 0; k < 3; k++) {
            if (!names[k])
                continue;
            if (n < max)
                out[n] = names[k];
            n++;
        }
    }
    return n;
}

void cfg_usage(FILE *f, bool markdown)
{
    struct buf b = BUF_INIT;
    if (markdown) {
        fputs("| Variable | Flag | Default | Accepted | Meaning |\n"
              "|---|---|---|---|---|\n",
              f);
    } else {
        fputs("Settings (environment variable, or flag; flags win):\n", f);
    }
    for (size_t i = 0; i < NSETTINGS; i++) {
        const struct setting *s = &settings[i];
        buf_reset(&b);
        if (markdown) {
            fputs("| ", f);
            if (s->env)
                fprintf(f, "`%s`", s->env);
            else
                fputs("(flag only)", f);
            if (s->type == ST_BOOL)
                fprintf(f, " | `--%s`, `--no-%s` | ", s->flag, s->flag);
            else
                fprintf(f, " | `--%s` | ", s->flag);
            add_default(&b, s);
            md_cell(f, b.data);
            fputs(" | ", f);
            buf_reset(&b);
            add_accepted(&b, s);
            md_cell(f, b.data);
            fputs(" | ", f);
            md_cell(f, s->help);
            fputs(" |\n", f);
            continue;
        }
        if (s->type == ST_BOOL && s->env)
            fprintf(f, "  --%s, --no-%s  (%s)\n", s->flag, s->flag, s->env);
        else if (s->type == ST_BOOL)
            fprintf(f, "  --%s, --no-%s\n", s->flag, s->flag);
        else if (s->type == ST_ENUM) {
            fprintf(f, "  --%s ", s->flag);
            for (size_t j = 0; s->choices[j].name; j++)
                fprintf(f, "%s%s", j ? "|" : "", s->choices[j].name);
            fprintf(f, "  (%s)\n", s->env);
        } else {
            fprintf(f, "  --%s %s  (%s)\n", s->flag, s->metavar, s->env);
        }
        buf_addstr(&b, s->help);
        strip_code(&b);
        wrap(f, b.data, 6, 79);
        buf_reset(&b);
        buf_addstr(&b, "Default: ");
        add_default(&b, s);
        if (s->type != ST_ENUM && s->type != ST_BOOL) {
            buf_addstr(&b, ". Accepts: ");
            add_accepted(&b, s);
        }
        buf_addch(&b, '.');
        strip_code(&b);
        wrap(f, b.data, 6, 79);
    }
    buf_release(&b);
}

/* --- hash ----------------------------------------------------------------- */

/* FNV-1a, 64-bit: tiny, stable across platforms and good enough to tell
 * settings apart (this is not a security boundary). */
static uint64_t fnv_bytes(uint64_t h, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* Hashes "key=value\0", or "key\1" when unset: values hold no NUL, so the
 * stream parses one way only and NULL differs from "". */
static uint64_t fnv_add(uint64_t h, const char *key, const char *val)
{
    h = fnv_bytes(h, key, strlen(key));
    if (!val)
        return fnv_bytes(h, "\1", 1);
    h = fnv_bytes(h, "=", 1);
    return fnv_bytes(h, val, strlen(val) + 1);
}

static uint64_t fnv_int(uint64_t h, const char *key, long long v)
{
    char t[32];
    snprintf(t, sizeof(t), "%lld", v);
    return fnv_add(h, key, t);
}

void cfg_hash(const struct etl_config *c, const char *crops, char out[17])
{
    uint64_t h = 0xcbf29ce484222325ULL;
    h = fnv_add(h, "v", "1");
    h = fnv_int(h, "image_dpi", c->image_dpi);
    h = fnv_int(h, "image_quality", c->image_quality);
    h = fnv_int(h, "text_page", c->text_page);
    h = fnv_int(h, "crop_page", c->crop_page);
    h = fnv_add(h, "crops", crops);
    h = fnv_int(h, "render_mode", c->render_mode);
    h = fnv_int(h, "parquet_compression", c->parquet_compression);
    h = fnv_add(h, "image_prefix", c->image_prefix);
    h = fnv_add(h, "metadata_prefix", c->metadata_prefix);
    /* Without extraction the waveform settings change nothing written, and
     * earlier runs keep their hash. */
    if (c->extract_waveforms || c->crop_leads ||
        c->crop_page == CFG_PAGE_AUTO) {
        h = fnv_int(h, "waveform_pages_n", c->waveform_pages.n);
        for (int i = 0; i < c->waveform_pages.n; i++) {
            h = fnv_int(h, "first", c->waveform_pages.range[i].first);
            h = fnv_int(h, "last", c->waveform_pages.range[i].last);
        }
    }
    if (c->crop_leads)
        h = fnv_int(h, "crop_leads", 1);
    if (c->extract_waveforms) {
        char t[64];
        h = fnv_add(h, "waveform_prefix", c->waveform_prefix);
        h = fnv_int(h, "waveform_sample_rate", c->waveform_sample_rate);
        snprintf(t, sizeof(t), "%.17g", c->paper_speed_mm_s);
        h = fnv_add(h, "paper_speed_mm_s", t);
        snprintf(t, sizeof(t), "%.17g", c->gain_mm_mv);
        h = fnv_add(h, "gain_mm_mv", t);
    }
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

/* --- files named by settings -------------------------------------------- */

int cfg_file_read(const char *var, const char *path, size_t max,
                  struct buf *out, struct buf *err)
{
    struct buf why = BUF_INIT;
    int rc = file_read(path, max, out, &why);
    if (rc == ETL_ENOMEM) {
        buf_release(&why);
        return rc;
    }
    if (!rc && memchr(out->data, '\0', out->len)) {
        buf_reset(out);
        buf_addstr(&why, "contains a NUL byte (not a text file)");
        rc = ETL_EINVAL;
    }
    if (rc) {
        buf_printf(err, "%s=%s: %s", var, path, why.data);
        rc = ETL_ECONFIG;
    }
    buf_release(&why);
    return rc;
}
