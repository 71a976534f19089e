/* The settings: one row each, {variable, flag, type, default, range,
 * help}; everything else about a setting (parsing, messages, --help, the
 * README's table) is derived from its row by engine.c. */
#include <stddef.h>

#include "config/config_int.h"

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
static const struct choice sse_choices[] = {{"AES256", CFG_SSE_AES256},
                                            {"aws:kms", CFG_SSE_KMS},
                                            {"aws:kms:dsse", CFG_SSE_KMS_DSSE},
                                            {NULL, 0}};
static const struct choice truth_choices[] = {
    {"true", 1}, {"false", 0}, {NULL, 0}};
/* AWS_LAMBDA_LOG_FORMAT is set by Lambda's advanced logging controls. */
static const struct choice lambda_format_choices[] = {
    {"JSON", LOG_FORMAT_JSON}, {"Text", LOG_FORMAT_CONSOLE}, {NULL, 0}};

#define PREFIX_ACCEPTED                                                        \
    "a relative key prefix; a missing trailing `/` is added, `/` alone means " \
    "none"

const struct setting cfg_settings[] = {
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
    {.env = "AWS_ENDPOINT_URL",
     .flag = "aws-endpoint-url",
     .type = ST_STR,
     .check = CK_URL,
     .maxlen = 2048,
     .metavar = "URL",
     .def_text = "AWS's own",
     .accepted = "`https://host[:port][/path]` (`http://` as `ALLOW_HTTP` "
                 "says)",
     .help = "Endpoint of every AWS service: an S3-compatible server "
             "(MinIO, Ceph, s3rver) or an emulator. Buckets are then "
             "addressed by path.",
     .off = OFF(endpoint_url)},
    {.env = "AWS_ENDPOINT_URL_S3",
     .flag = "aws-endpoint-url-s3",
     .type = ST_STR,
     .check = CK_URL,
     .maxlen = 2048,
     .metavar = "URL",
     .def_text = "`AWS_ENDPOINT_URL`",
     .accepted = "as `AWS_ENDPOINT_URL`",
     .help = "Endpoint of S3 alone; wins over `AWS_ENDPOINT_URL`.",
     .off = OFF(endpoint_url_s3)},
    {.env = "AWS_ENDPOINT_URL_LAMBDA",
     .flag = "aws-endpoint-url-lambda",
     .type = ST_STR,
     .check = CK_URL,
     .maxlen = 2048,
     .metavar = "URL",
     .def_text = "`AWS_ENDPOINT_URL`",
     .accepted = "as `AWS_ENDPOINT_URL`",
     .help = "Endpoint of Lambda alone (the next batch's invocation); wins "
             "over `AWS_ENDPOINT_URL`.",
     .off = OFF(endpoint_url_lambda)},
    {.env = "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
     .flag = "aws-ignore-configured-endpoint-urls",
     .type = ST_ENUM,
     .def = "false",
     .choices = truth_choices,
     .metavar = "BOOL",
     .help = "`true` ignores the `AWS_ENDPOINT_URL*` settings (as the AWS "
             "SDKs do).",
     .off = OFF(ignore_endpoint_urls)},
    {.env = "AWS_CA_BUNDLE",
     .flag = "aws-ca-bundle",
     .type = ST_STR,
     .check = CK_TEXT,
     .maxlen = 4096,
     .metavar = "PATH",
     .def_text = "the system's certificates",
     .accepted = "the path of a regular file of PEM certificates",
     .help = "Certificates TLS connections to AWS (or `AWS_ENDPOINT_URL`) "
             "are verified against.",
     .off = OFF(ca_bundle)},
    {.env = "S3_SSE",
     .flag = "s3-sse",
     .type = ST_ENUM,
     .choices = sse_choices,
     .metavar = "SSE",
     .def_text = "none (the bucket's default)",
     .help = "Server-side encryption asked for on every object written to "
             "S3.",
     .off = OFF(s3_sse)},
    {.env = "S3_SSE_KMS_KEY_ID",
     .flag = "s3-sse-kms-key-id",
     .type = ST_STR,
     .check = CK_KEY_ID,
     .maxlen = 2048,
     .metavar = "KEY",
     .def_text = "the account's default key",
     .accepted = "a KMS key ID, alias or ARN, with `S3_SSE=aws:kms` or "
                 "`aws:kms:dsse`",
     .help = "The KMS key `S3_SSE=aws:kms` encrypts with.",
     .off = OFF(s3_sse_kms_key_id)},
    {.env = "S3_EXPECTED_BUCKET_OWNER",
     .flag = "s3-expected-bucket-owner",
     .type = ST_STR,
     .check = CK_ACCOUNT,
     .maxlen = 12,
     .metavar = "ACCOUNT",
     .def_text = "none",
     .accepted = "a 12-digit AWS account ID",
     .help = "Every S3 request fails unless the bucket belongs to this "
             "account (against a bucket taken over after a rename).",
     .off = OFF(s3_expected_bucket_owner)},

    /* Lambda */
    {.env = "AWS_LAMBDA_RUNTIME_API",
     .flag = "aws-lambda-runtime-api",
     .type = ST_STR,
     .check = CK_TEXT,
     .maxlen = 256,
     .metavar = "HOST:PORT",
     .def_text = "none",
     .accepted = "host:port",
     .help = "Where `bpecg-etl lambda` (the `bootstrap`) asks for "
             "invocations; Lambda sets it.",
     .off = OFF(lambda_runtime_api)},
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
    {.env = "TMPDIR",
     .flag = "tmpdir",
     .type = ST_STR,
     .check = CK_DIR,
     .maxlen = 1024,
     .def = "/tmp",
     .metavar = "DIR",
     .accepted = "an absolute path",
     .help = "Directory for each batch's Parquet files while they are "
             "written, before they are stored.",
     .off = OFF(tmpdir)},
    {.flag = "progress",
     .type = ST_BOOL,
     .def_text = "on when stderr is a terminal",
     .help = "Show a progress line at the bottom of the terminal "
             "(`--no-progress` hides it).",
     .off = OFF(progress)},
};

#define NROWS (sizeof(cfg_settings) / sizeof(cfg_settings[0]))
_Static_assert(NROWS <= CFG_MAX_SETTINGS, "raise CFG_MAX_SETTINGS");
const size_t cfg_nsettings = NROWS;
