/* Settings: defaults, every setting's boundaries and parse errors (with the
 * exact message a user sees), flags over the environment, and the help
 * table. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "core/err.h"
#include "harness.h"

/* Every variable cfg reads, cleared before each load. */
static const char *const all_env[] = {
    "SOURCE_BUCKET",
    "PDF_PREFIX",
    "DEST_BUCKET",
    "IMAGE_PREFIX",
    "METADATA_PREFIX",
    "BATCH_SIZE",
    "CONCURRENCY",
    "IMAGE_DPI",
    "IMAGE_QUALITY",
    "TEXT_PAGE",
    "CROP_PAGE",
    "CROP_REGIONS",
    "CROP_REGIONS_FILE",
    "REDACT_REGIONS",
    "REDACT_REGIONS_FILE",
    "FIELD_PATTERNS_FILE",
    "RENDER_MODE",
    "MAX_PDF_BYTES",
    "PDF_TIMEOUT_MS",
    "PDF_MAX_MEMORY_MB",
    "RETRY_MAX_ATTEMPTS",
    "RETRY_INITIAL_WAIT",
    "RETRY_MAX_WAIT",
    "PARQUET_COMPRESSION",
    "LOG_LEVEL",
    "LOG_FORMAT",
    "DEBUG_PAYLOADS",
    "AWS_REGION",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ENDPOINT_URL_LAMBDA",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_CA_BUNDLE",
    "S3_SSE",
    "S3_SSE_KMS_KEY_ID",
    "S3_EXPECTED_BUCKET_OWNER",
    "AWS_LAMBDA_RUNTIME_API",
    "TMPDIR",
    "DEADLINE_MARGIN_MS",
    "MAX_CHAIN_BATCHES",
    "KILL_SWITCH_KEY",
    "START_AFTER",
    "BATCH_ID",
    "MAX_BATCHES",
    "RUN_ID",
    "AWS_LAMBDA_LOG_LEVEL",
    "AWS_LAMBDA_LOG_FORMAT",
    "AWS_DEFAULT_REGION",
    "EXTRACT_WAVEFORMS",
    "WAVEFORM_PAGES",
    "CROP_LEADS",
    "WAVEFORM_PREFIX",
    "WAVEFORM_SAMPLE_RATE",
    "PAPER_SPEED_MM_S",
    "GAIN_MM_MV",
    "ALLOW_HTTP",
    "FAIL_INVOCATION_ON",
};
#define N_ALL_ENV (sizeof(all_env) / sizeof(all_env[0]))

struct load {
    struct etl_config c;
    struct buf err;
    int rc;
};

/* env: "NAME=VALUE" strings, NULL-terminated; argv likewise. */
static void load(struct load *l, const char *const *env,
                 const char *const *argv)
{
    for (size_t i = 0; i < N_ALL_ENV; i++)
        unsetenv(all_env[i]);
    for (size_t i = 0; env && env[i]; i++) {
        const char *eq = strchr(env[i], '=');
        char name[64];
        snprintf(name, sizeof(name), "%.*s", (int)(eq - env[i]), env[i]);
        setenv(name, eq + 1, 1);
    }
    int argc = 0;
    while (argv && argv[argc])
        argc++;
    buf_init(&l->err, 0);
    l->rc = cfg_load(&l->c, argc, (char **)argv, &l->err);
}

static void unload(struct load *l)
{
    cfg_release(&l->c);
    buf_release(&l->err);
}

#define ENV(...) ((const char *const[]){__VA_ARGS__, NULL})
#define ARGV(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Expect an error with exactly this message. */
static void expect_error(const char *const *env, const char *const *argv,
                         const char *msg, int line)
{
    struct load l;
    load(&l, env, argv);
    if (l.rc != ETL_ECONFIG || strcmp(l.err.data, msg) != 0) {
        fprintf(stderr,
                "line %d: rc %d, message\n  got  \"%s\"\n  want \"%s\"\n", line,
                l.rc, l.err.data, msg);
        harness_cur_failed = 1;
    }
    unload(&l);
}
#define EXPECT_ERROR(env, argv, msg) expect_error(env, argv, msg, __LINE__)

TEST(defaults)
{
    struct load l;
    load(&l, NULL, NULL);
    CHECK_EQ_INT(l.rc, 0);
    CHECK_EQ_STR(l.err.data, "");
    CHECK(l.c.source_bucket == NULL);
    CHECK(!l.c.source_is_url);
    CHECK(l.c.dest_bucket == NULL);
    CHECK(!l.c.dest_is_url);
    CHECK_EQ_STR(l.c.pdf_prefix, "pdfs/");
    CHECK_EQ_STR(l.c.image_prefix, "images/");
    CHECK_EQ_STR(l.c.metadata_prefix, "metadata/");
    CHECK_EQ_INT(l.c.batch_size, 100);
    CHECK_EQ_INT(l.c.concurrency, 20);
    CHECK_EQ_INT(l.c.image_dpi, 100);
    CHECK_EQ_INT(l.c.image_quality, 85);
    CHECK_EQ_INT(l.c.text_page, 1);
    CHECK_EQ_INT(l.c.crop_page, 2);
    CHECK(l.c.crop_regions == NULL);
    CHECK(l.c.crop_regions_file == NULL);
    CHECK(l.c.redact_regions == NULL);
    CHECK(l.c.redact_regions_file == NULL);
    CHECK(l.c.field_patterns_file == NULL);
    CHECK_EQ_INT(l.c.render_mode, CFG_RENDER_CLIP);
    CHECK_EQ_INT(l.c.max_pdf_bytes, 100LL * 1024 * 1024);
    CHECK_EQ_INT(l.c.pdf_timeout_ms, 30000);
    CHECK_EQ_INT(l.c.retry_max_attempts, 3);
    CHECK(l.c.retry_initial_wait == 1.0);
    CHECK(l.c.retry_max_wait == 60.0);
    CHECK_EQ_INT(l.c.parquet_compression, CFG_CODEC_ZSTD);
    CHECK_EQ_INT(l.c.log_level, LOG_INFO);
    CHECK_EQ_INT(l.c.log_format, LOG_FORMAT_AUTO);
    CHECK_EQ_INT(l.c.debug_payloads, 0);
    CHECK(l.c.aws_region == NULL);
    CHECK(l.c.aws_lambda_function_name == NULL);
    CHECK_EQ_INT(l.c.deadline_margin_ms, 60000);
    CHECK_EQ_INT(l.c.max_chain_batches, 100000);
    CHECK(l.c.kill_switch_key == NULL);
    CHECK(l.c.start_after == NULL);
    CHECK_EQ_INT(l.c.batch_id, 0);
    CHECK_EQ_INT(l.c.max_batches, 0);
    CHECK(l.c.run_id == NULL);
    CHECK_EQ_INT(l.c.progress, isatty(STDERR_FILENO) == 1);
    CHECK(!l.c.extract_waveforms);
    CHECK_EQ_STR(l.c.waveform_prefix, "waveforms/");
    CHECK_EQ_INT(l.c.waveform_sample_rate, 500);
    CHECK(l.c.paper_speed_mm_s == 25.0);
    CHECK(l.c.gain_mm_mv == 10.0);
    unload(&l);
}

/* Integer settings: name, flag, range, default, where the value lands,
 * and the word accepted instead of a number (TEXT_PAGE's auto). */
struct int_setting {
    const char *env, *flag;
    long long min, max, def;
    size_t off;
    int is64;
    int page; /* also takes "auto" (CFG_PAGE_AUTO) */
};

#define OFFI(f) offsetof(struct etl_config, f), 0
#define OFFL(f) offsetof(struct etl_config, f), 1

static const struct int_setting ints[] = {
    {"BATCH_SIZE", "--batch-size", 1, 1000, 100, OFFI(batch_size)},
    {"CONCURRENCY", "--concurrency", 1, 256, 20, OFFI(concurrency)},
    {"IMAGE_DPI", "--image-dpi", 36, 600, 100, OFFI(image_dpi)},
    {"IMAGE_QUALITY", "--image-quality", 1, 100, 85, OFFI(image_quality)},
    {"TEXT_PAGE", "--text-page", 1, 100000, 1, OFFI(text_page), 1},
    {"CROP_PAGE", "--crop-page", 1, 100000, 2, OFFI(crop_page), 1},
    {"PDF_TIMEOUT_MS", "--pdf-timeout-ms", 100, 900000, 30000,
     OFFI(pdf_timeout_ms)},
    {"PDF_MAX_MEMORY_MB", "--pdf-max-memory-mb", 64, 65536, 512,
     OFFI(pdf_max_memory_mb)},
    {"RETRY_MAX_ATTEMPTS", "--retry-max-attempts", 1, 20, 3,
     OFFI(retry_max_attempts)},
    {"DEBUG_PAYLOADS", "--debug-payloads", 0, 65536, 0, OFFI(debug_payloads)},
    {"DEADLINE_MARGIN_MS", "--deadline-margin-ms", 100, 900000, 60000,
     OFFI(deadline_margin_ms)},
    {"MAX_CHAIN_BATCHES", "--max-chain-batches", 1, 1000000000, 100000,
     OFFL(max_chain_batches)},
    {"BATCH_ID", "--batch-id", 0, CFG_BATCH_ID_MAX, 0, OFFL(batch_id)},
    {"MAX_BATCHES", "--max-batches", 0, INT64_MAX, 0, OFFL(max_batches)},
    {"WAVEFORM_SAMPLE_RATE", "--waveform-sample-rate", 50, 10000, 500,
     OFFI(waveform_sample_rate)},
};

static long long get_int(const struct etl_config *c,
                         const struct int_setting *s)
{
    const char *p = (const char *)c + s->off;
    if (s->is64)
        return *(const int64_t *)p;
    return *(const int *)p;
}

static void int_accepts(const struct int_setting *s, const char *text,
                        long long want, bool as_flag, int line)
{
    char env[128], flag[128];
    snprintf(env, sizeof(env), "%s=%s", s->env, text);
    snprintf(flag, sizeof(flag), "%s=%s", s->flag, text);
    struct load l;
    if (as_flag)
        load(&l, NULL, ARGV(flag));
    else
        load(&l, ENV(env), NULL);
    if (l.rc != 0 || get_int(&l.c, s) != want) {
        fprintf(stderr, "line %d: %s: rc %d (%s), value %lld, want %lld\n",
                line, as_flag ? flag : env, l.rc, l.err.data, get_int(&l.c, s),
                want);
        harness_cur_failed = 1;
    }
    unload(&l);
}

static void int_rejects(const struct int_setting *s, const char *text,
                        const char *shown)
{
    char env[128], flag[128], msg[256], range[64];
    if (s->page)
        snprintf(range, sizeof(range),
                 "a page number from %lld to %lld, or auto", s->min, s->max);
    else if (s->max == INT64_MAX)
        snprintf(range, sizeof(range), "an integer >= %lld", s->min);
    else
        snprintf(range, sizeof(range), "an integer from %lld to %lld", s->min,
                 s->max);
    snprintf(env, sizeof(env), "%s=%s", s->env, text);
    snprintf(msg, sizeof(msg), "%s=%s: must be %s", s->env, shown, range);
    EXPECT_ERROR(ENV(env), NULL, msg);
    snprintf(flag, sizeof(flag), "%s=%s", s->flag, text);
    snprintf(msg, sizeof(msg), "%s=%s: must be %s", s->flag, shown, range);
    EXPECT_ERROR(NULL, ARGV(flag), msg);
}

TEST(integers)
{
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        const struct int_setting *s = &ints[i];
        char t[32];
        for (int as_flag = 0; as_flag < 2; as_flag++) {
            snprintf(t, sizeof(t), "%lld", s->min);
            int_accepts(s, t, s->min, as_flag, __LINE__);
            snprintf(t, sizeof(t), "%lld", s->max);
            int_accepts(s, t, s->max, as_flag, __LINE__);
            snprintf(t, sizeof(t), "+%lld", s->min + 1);
            int_accepts(s, t, s->min + 1, as_flag, __LINE__);
        }
        snprintf(t, sizeof(t), "%lld", s->min - 1);
        int_rejects(s, t, t);
        if (s->max != INT64_MAX) {
            snprintf(t, sizeof(t), "%lld", s->max + 1);
            int_rejects(s, t, t);
        }
        int_rejects(s, "12abc", "12abc");
        int_rejects(s, "abc", "abc");
        int_rejects(s, "1.5", "1.5");
        int_rejects(s, "0x10", "0x10");
        int_rejects(s, "1e3", "1e3");
        int_rejects(s, "99999999999999999999", "99999999999999999999");
        int_rejects(s, "-99999999999999999999", "-99999999999999999999");
        int_rejects(s, " 50", "\" 50\"");
        int_rejects(s, "50 ", "\"50 \"");
        int_rejects(s, "-", "-");
        if (s->page) {
            /* "auto", in any case, and nothing like it. */
            for (int as_flag = 0; as_flag < 2; as_flag++) {
                int_accepts(s, "auto", CFG_PAGE_AUTO, as_flag, __LINE__);
                int_accepts(s, "AUTO", CFG_PAGE_AUTO, as_flag, __LINE__);
            }
            int_rejects(s, "autox", "autox");
            int_rejects(s, "auto ", "\"auto \"");
        }

        /* An empty variable is unset (the default); an empty flag value is
         * not a number. */
        char env[64], flag[64], msg[160];
        snprintf(env, sizeof(env), "%s=", s->env);
        struct load l;
        load(&l, ENV(env), NULL);
        CHECK_EQ_INT(l.rc, 0);
        CHECK_EQ_INT(get_int(&l.c, s), s->def);
        unload(&l);
        snprintf(flag, sizeof(flag), "%s=", s->flag);
        load(&l, NULL, ARGV(flag));
        snprintf(msg, sizeof(msg), "%s=\"\": must be %s", s->flag,
                 s->page ? "a page number" : "an integer");
        CHECK_EQ_INT(l.rc, ETL_ECONFIG);
        CHECK(strncmp(l.err.data, msg, strlen(msg)) == 0);
        unload(&l);
    }
}

/* CROP_PAGE=auto, and WAVEFORM_PAGES as all, pages and ranges. */
TEST(pages)
{
    struct load l;
    load(&l, ENV("CROP_PAGE=Auto", "WAVEFORM_PAGES=2,4-6,9"), NULL);
    CHECK_EQ_INT(l.rc, 0);
    CHECK_EQ_INT(l.c.crop_page, CFG_PAGE_AUTO);
    CHECK_EQ_INT(l.c.waveform_pages.n, 3);
    static const bool want[11] = {false, false, true,  false, true, true,
                                  true,  false, false, true,  false};
    for (int p = 0; p <= 10; p++)
        CHECK_EQ_INT(cfg_pages_has(&l.c.waveform_pages, p), want[p]);
    unload(&l);
    load(&l, NULL, ARGV("--waveform-pages=all", "--crop-leads"));
    CHECK_EQ_INT(l.rc, 0);
    CHECK_EQ_INT(l.c.waveform_pages.n, 0);
    CHECK(cfg_pages_has(&l.c.waveform_pages, 1));
    CHECK(cfg_pages_has(&l.c.waveform_pages, 100000));
    CHECK(!cfg_pages_has(&l.c.waveform_pages, 0));
    CHECK(l.c.crop_leads);
    CHECK_EQ_INT(l.c.crop_page, 2);
    unload(&l);
    static const char *const bad[] = {"",
                                      "0",
                                      "1-",
                                      "-3",
                                      "3-1",
                                      "1,,2",
                                      "1 2",
                                      "1,",
                                      "x",
                                      "100001",
                                      "2-100001",
                                      "1,2,3,4,5,6,7,8,9,10,11,12,"
                                      "13,14,15,16,17"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char env[128];
        snprintf(env, sizeof(env), "WAVEFORM_PAGES=%s", bad[i]);
        load(&l, ENV(env), NULL);
        if (!*bad[i]) { /* empty: unset, the default */
            CHECK_EQ_INT(l.rc, 0);
        } else {
            CHECK_EQ_INT(l.rc, ETL_ECONFIG);
            CHECK(strstr(l.err.data, "WAVEFORM_PAGES=") == l.err.data);
            CHECK(strstr(l.err.data, "must be all, or page numbers") != NULL);
        }
        unload(&l);
    }
    EXPECT_ERROR(ENV("CROP_LEADS=yes"), NULL, "CROP_LEADS=yes: must be 0 or 1");
}

TEST(error_messages_from_brief)
{
    EXPECT_ERROR(ENV("IMAGE_DPI=20"), NULL,
                 "IMAGE_DPI=20: must be an integer from 36 to 600");
    EXPECT_ERROR(NULL, ARGV("--concurrency=abc"),
                 "--concurrency=abc: must be an integer from 1 to 256");
    EXPECT_ERROR(NULL, ARGV("--render-mode=fast"),
                 "--render-mode=fast: must be one of clip, page");
    EXPECT_ERROR(NULL, ARGV("--render-mode", "fast"),
                 "--render-mode=fast: must be one of clip, page");
}

TEST(sizes)
{
    static const struct {
        const char *text;
        long long want; /* -1: rejected */
    } cases[] = {
        {"1024", 1024},
        {"1023", -1},
        {"1K", 1024},
        {"1k", 1024},
        {"1KiB", 1024},
        {"1kib", 1024},
        {"100M", 100LL << 20},
        {"100MiB", 100LL << 20},
        {"100 MiB", 100LL << 20},
        {"4G", 4LL << 30},
        {"4GiB", 4LL << 30},
        {"4096M", 4LL << 30},
        {"4294967296", 4LL << 30},
        {"4294967297", -1},
        {"5G", -1},
        {"0", -1},
        {"-1K", -1},
        {"1.5G", -1},
        {"100MB", -1},
        {"100T", -1},
        {"M", -1},
        {"100 ", -1},
        {"99999999999G", -1},
        {"99999999999999999999", -1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char env[64];
        snprintf(env, sizeof(env), "MAX_PDF_BYTES=%s", cases[i].text);
        struct load l;
        load(&l, ENV(env), NULL);
        if (cases[i].want >= 0) {
            if (l.rc != 0 || l.c.max_pdf_bytes != cases[i].want)
                HARNESS_FAIL("%s: rc %d (%s), %lld", env, l.rc, l.err.data,
                             (long long)l.c.max_pdf_bytes);
        } else {
            char msg[256];
            const char *t = cases[i].text;
            int quoted = strchr(t, ' ') != NULL;
            snprintf(msg, sizeof(msg),
                     "MAX_PDF_BYTES=%s%s%s: must be a size from 1KiB to 4GiB "
                     "(bytes, or a whole number with K, M, G, KiB, MiB or "
                     "GiB; 1024-based)",
                     quoted ? "\"" : "", t, quoted ? "\"" : "");
            if (l.rc != ETL_ECONFIG)
                HARNESS_FAIL("%s accepted", env);
            CHECK_EQ_STR(l.err.data, msg);
        }
        unload(&l);
    }
}

TEST(seconds)
{
    static const struct {
        const char *env;
        const char *text;
        double want; /* NAN: rejected */
    } cases[] = {
        {"RETRY_INITIAL_WAIT", "0", 0},
        {"RETRY_INITIAL_WAIT", "0.25", 0.25},
        {"RETRY_INITIAL_WAIT", "60", 60},
        {"RETRY_INITIAL_WAIT", "6e1", 60},
        {"RETRY_INITIAL_WAIT", "60.001", NAN},
        {"RETRY_INITIAL_WAIT", "-0.1", NAN},
        {"RETRY_INITIAL_WAIT", "1s", NAN},
        {"RETRY_INITIAL_WAIT", "inf", NAN},
        {"RETRY_INITIAL_WAIT", "nan", NAN},
        {"RETRY_INITIAL_WAIT", "0x1p3", NAN},
        {"RETRY_INITIAL_WAIT", "1e400", NAN},
        {"RETRY_INITIAL_WAIT", ".", NAN},
        {"RETRY_MAX_WAIT", "900", 900},
        {"RETRY_MAX_WAIT", "900.5", NAN},
        {"RETRY_MAX_WAIT", "1", 1},
        {"RETRY_MAX_WAIT", "abc", NAN},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char env[64];
        snprintf(env, sizeof(env), "%s=%s", cases[i].env, cases[i].text);
        struct load l;
        load(&l, ENV(env), NULL);
        bool initial = cases[i].env[6] == 'I';
        double got = initial ? l.c.retry_initial_wait : l.c.retry_max_wait;
        if (!isnan(cases[i].want)) {
            if (l.rc != 0 || got != cases[i].want)
                HARNESS_FAIL("%s: rc %d (%s), %g", env, l.rc, l.err.data, got);
        } else {
            char msg[160];
            snprintf(msg, sizeof(msg),
                     "%s: must be a number of seconds from 0 to %d", env,
                     initial ? 60 : 900);
            CHECK_EQ_INT(l.rc, ETL_ECONFIG);
            CHECK_EQ_STR(l.err.data, msg);
        }
        unload(&l);
    }
    /* The cap cannot be below the first wait. */
    EXPECT_ERROR(ENV("RETRY_MAX_WAIT=0.5"), NULL,
                 "RETRY_MAX_WAIT=0.5: must be at least RETRY_INITIAL_WAIT (1)");
    EXPECT_ERROR(ENV("RETRY_MAX_WAIT=5"), ARGV("--retry-initial-wait", "10"),
                 "RETRY_MAX_WAIT=5: must be at least --retry-initial-wait "
                 "(10)");
    struct load l;
    load(&l, ENV("RETRY_MAX_WAIT=0", "RETRY_INITIAL_WAIT=0"), NULL);
    CHECK_EQ_INT(l.rc, 0);
    CHECK(l.c.retry_max_wait == 0 && l.c.retry_initial_wait == 0);
    unload(&l);
}

TEST(waveform_settings)
{
    struct load l;
    load(&l,
         ENV("EXTRACT_WAVEFORMS=1", "PAPER_SPEED_MM_S=50", "GAIN_MM_MV=2.5",
             "WAVEFORM_PREFIX=out/waves"),
         NULL);
    CHECK_EQ_INT(l.rc, 0);
    CHECK(l.c.extract_waveforms);
    CHECK(l.c.paper_speed_mm_s == 50.0);
    CHECK(l.c.gain_mm_mv == 2.5);
    CHECK_EQ_STR(l.c.waveform_prefix, "out/waves/");
    unload(&l);
    /* The flag turns it on, --no- off, over the variable. */
    load(&l, NULL, ARGV("--extract-waveforms"));
    CHECK_EQ_INT(l.rc, 0);
    CHECK(l.c.extract_waveforms);
    unload(&l);
    load(&l, ENV("EXTRACT_WAVEFORMS=1"), ARGV("--no-extract-waveforms"));
    CHECK_EQ_INT(l.rc, 0);
    CHECK(!l.c.extract_waveforms);
    unload(&l);
    load(&l, ENV("EXTRACT_WAVEFORMS=0"), NULL);
    CHECK_EQ_INT(l.rc, 0);
    CHECK(!l.c.extract_waveforms);
    unload(&l);
    /* A malformed variable that the flag replaces does not matter. */
    load(&l, ENV("EXTRACT_WAVEFORMS=maybe"), ARGV("--extract-waveforms"));
    CHECK_EQ_INT(l.rc, 0);
    CHECK(l.c.extract_waveforms);
    unload(&l);
    EXPECT_ERROR(ENV("EXTRACT_WAVEFORMS=yes"), NULL,
                 "EXTRACT_WAVEFORMS=yes: must be 0 or 1");
    EXPECT_ERROR(ENV("EXTRACT_WAVEFORMS=true"), NULL,
                 "EXTRACT_WAVEFORMS=true: must be 0 or 1");
    EXPECT_ERROR(ENV("EXTRACT_WAVEFORMS= 1"), NULL,
                 "EXTRACT_WAVEFORMS=\" 1\": must be 0 or 1");
    EXPECT_ERROR(NULL, ARGV("--extract-waveforms=1"),
                 "--extract-waveforms=1: takes no value (use "
                 "--extract-waveforms or --no-extract-waveforms)");

    static const struct {
        const char *env, *flag;
        double min, max;
        size_t off;
    } nums[] = {
        {"PAPER_SPEED_MM_S", "--paper-speed-mm-s", 5, 200,
         offsetof(struct etl_config, paper_speed_mm_s)},
        {"GAIN_MM_MV", "--gain-mm-mv", 1, 100,
         offsetof(struct etl_config, gain_mm_mv)},
    };
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
        static const struct {
            const char *text;
            int ok;
        } cases[] = {{"MIN", 1}, {"MAX", 1}, {"12.5", 1}, {"1e1", 1},
                     {"0", 0},   {"-5", 0},  {"1000", 0}, {"abc", 0},
                     {"inf", 0}, {"nan", 0}, {"0x10", 0}, {"10mm", 0}};
        for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
            char text[32], env[96], flag[96], msg[192];
            if (strcmp(cases[k].text, "MIN") == 0)
                snprintf(text, sizeof(text), "%g", nums[i].min);
            else if (strcmp(cases[k].text, "MAX") == 0)
                snprintf(text, sizeof(text), "%g", nums[i].max);
            else
                snprintf(text, sizeof(text), "%s", cases[k].text);
            snprintf(env, sizeof(env), "%s=%s", nums[i].env, text);
            snprintf(flag, sizeof(flag), "%s=%s", nums[i].flag, text);
            if (cases[k].ok) {
                load(&l, ENV(env), NULL);
                double got =
                    *(const double *)((const char *)&l.c + nums[i].off);
                if (l.rc != 0 || got != strtod(text, NULL))
                    HARNESS_FAIL("%s: rc %d (%s), %g", env, l.rc, l.err.data,
                                 got);
                unload(&l);
                load(&l, NULL, ARGV(flag));
                CHECK_EQ_INT(l.rc, 0);
                unload(&l);
                continue;
            }
            snprintf(msg, sizeof(msg), "%s: must be a number from %g to %g",
                     env, nums[i].min, nums[i].max);
            EXPECT_ERROR(ENV(env), NULL, msg);
            snprintf(msg, sizeof(msg), "%s: must be a number from %g to %g",
                     flag, nums[i].min, nums[i].max);
            EXPECT_ERROR(NULL, ARGV(flag), msg);
        }
    }

    /* The waveform file must not take the results file's key... */
    EXPECT_ERROR(ENV("EXTRACT_WAVEFORMS=1", "WAVEFORM_PREFIX=metadata"), NULL,
                 "WAVEFORM_PREFIX=metadata: must differ from METADATA_PREFIX "
                 "(both files are named batch_NNNNNN.parquet)");
    EXPECT_ERROR(ENV("METADATA_PREFIX=waveforms/"), ARGV("--extract-waveforms"),
                 "WAVEFORM_PREFIX=waveforms/ (default): must differ from "
                 "METADATA_PREFIX (both files are named "
                 "batch_NNNNNN.parquet)");
    /* ...which only matters when there is one. */
    load(&l, ENV("WAVEFORM_PREFIX=metadata/"), NULL);
    CHECK_EQ_INT(l.rc, 0);
    unload(&l);
    EXPECT_ERROR(ENV("WAVEFORM_PREFIX=../w/"), NULL,
                 "WAVEFORM_PREFIX=../w/: must be a relative key prefix such "
                 "as pdfs/ (no leading /, no empty, . or .. part, no \\ or "
                 "control character; / alone for none)");
}

TEST(enums)
{
    struct load l;
    load(&l, ENV("RENDER_MODE=page", "PARQUET_COMPRESSION=snappy"), NULL);
    CHECK_EQ_INT(l.rc, 0);
    CHECK_EQ_INT(l.c.render_mode, CFG_RENDER_PAGE);
    CHECK_EQ_INT(l.c.parquet_compression, CFG_CODEC_SNAPPY);
    unload(&l);
    load(&l, ENV("RENDER_MODE=PAGE", "PARQUET_COMPRESSION=None"), NULL);
    CHECK_EQ_INT(l.rc, 0);
    CHECK_EQ_INT(l.c.render_mode, CFG_RENDER_PAGE);
    CHECK_EQ_INT(l.c.parquet_compression, CFG_CODEC_NONE);
    unload(&l);
    load(&l, ENV("RENDER_MODE=page"),
         ARGV("--render-mode", "clip", "--parquet-compression=zstd"));
    CHECK_EQ_INT(l.rc, 0);
    CHECK_EQ_INT(l.c.render_mode, CFG_RENDER_CLIP);
    CHECK_EQ_INT(l.c.parquet_compression, CFG_CODEC_ZSTD);
    unload(&l);
    EXPECT_ERROR(ENV("PARQUET_COMPRESSION=gzip"), NULL,
                 "PARQUET_COMPRESSION=gzip: must be one of zstd, snappy, "
                 "none");
    EXPECT_ERROR(NULL, ARGV("--parquet-compression="),
                 "--parquet-compression=\"\": must be one of zstd, snappy, "
                 "none");
}

TEST(log_settings)
{
    struct load l;
    load(&l, ENV("LOG_LEVEL=debug", "LOG_FORMAT=json"), NULL);
    CHECK_EQ_INT(l.rc, 0);
    CHECK_EQ_INT(l.c.log_level, LOG_DEBUG);
    CHECK_EQ_INT(l.c.log_format, LOG_FORMAT_JSON);
    unload(&l);

    /* Lambda's own variables win over ours... */
    load(&l,
         ENV("LOG_LEVEL=DEBUG", "AWS_LAMBDA_LOG_LEVEL=ERROR", "LOG_FORMAT=json",
             "AWS_LAMBDA_LOG_FORMAT=Text"),
         NULL);
    CHECK_EQ_INT(l.rc, 0);
    CHECK_EQ_INT(l.c.log_level, LOG_ERROR);
    CHECK_EQ_INT(l.c.log_format, LOG_FORMAT_CONSOLE);
    unload(&l);
    load(&l, ENV("LOG_FORMAT=console", "AWS_LAMBDA_LOG_FORMAT=JSON"), NULL);
    CHECK_EQ_INT(l.c.log_format, LOG_FORMAT_JSON);
    unload(&l);
    /* ...and also over a malformed one, which then does not matter. */
    load(&l, ENV("LOG_LEVEL=loud", "AWS_LAMBDA_LOG_LEVEL=TRACE"), NULL);
    CHECK_EQ_INT(l.rc, 0);
    CHECK_EQ_INT(l.c.log_level, LOG_DEBUG);
    unload(&l);
    /* An empty AWS_LAMBDA_LOG_LEVEL is unset. */
    load(&l, ENV("LOG_LEVEL=warn", "AWS_LAMBDA_LOG_LEVEL="), NULL);
    CHECK_EQ_INT(l.c.log_level, LOG_WARN);
    unload(&l);
    /* A flag wins over both. */
    load(&l, ENV("LOG_LEVEL=DEBUG", "AWS_LAMBDA_LOG_LEVEL=ERROR"),
         ARGV("--log-level", "warn", "--log-format=console"));
    CHECK_EQ_INT(l.rc, 0);
    CHECK_EQ_INT(l.c.log_level, LOG_WARN);
    CHECK_EQ_INT(l.c.log_format, LOG_FORMAT_CONSOLE);
    unload(&l);

    EXPECT_ERROR(ENV("LOG_LEVEL=verbose"), NULL,
                 "LOG_LEVEL=verbose: must be one of DEBUG, INFO, WARN, "
                 "ERROR, OFF");
    EXPECT_ERROR(ENV("LOG_LEVEL=info", "AWS_LAMBDA_LOG_LEVEL=loud"), NULL,
                 "AWS_LAMBDA_LOG_LEVEL=loud: must be one of DEBUG, INFO, "
                 "WARN, ERROR, OFF");
    EXPECT_ERROR(ENV("LOG_FORMAT=xml"), NULL,
                 "LOG_FORMAT=xml: must be one of auto, json, console");
    EXPECT_ERROR(ENV("AWS_LAMBDA_LOG_FORMAT=console"), NULL,
                 "AWS_LAMBDA_LOG_FORMAT=console: must be one of JSON, Text");
}

TEST(prefixes)
{
    static const struct {
        const char *env; /* NAME=VALUE */
        const char *want;
    } ok[] = {
        {"PDF_PREFIX=reports/", "reports/"},
        {"PDF_PREFIX=reports", "reports/"},
        {"PDF_PREFIX=a/b.c/d-e_f", "a/b.c/d-e_f/"},
        {"PDF_PREFIX=/", ""},
        {"PDF_PREFIX=", "pdfs/"}, /* empty = unset = default */
        {"IMAGE_PREFIX=crops", "crops/"},
        {"METADATA_PREFIX=out/meta/", "out/meta/"},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        struct load l;
        load(&l, ENV(ok[i].env), NULL);
        CHECK_EQ_INT(l.rc, 0);
        const char *got = ok[i].env[0] == 'P'   ? l.c.pdf_prefix
                          : ok[i].env[0] == 'I' ? l.c.image_prefix
                                                : l.c.metadata_prefix;
        CHECK_EQ_STR(got, ok[i].want);
        unload(&l);
    }
    /* An empty flag value means the bucket root. */
    struct load l;
    load(&l, ENV("IMAGE_PREFIX=x/"), ARGV("--image-prefix="));
    CHECK_EQ_INT(l.rc, 0);
    CHECK_EQ_STR(l.c.image_prefix, "");
    unload(&l);

    static const char *const bad[] = {
        "/abs/", "a/../b/", "../x/", "./x/", "a//b/",
        "a/./b", "..",      "a\\b/", "x/.",
    };
    const char *why = "must be a relative key prefix such as pdfs/ (no "
                      "leading /, no empty, . or .. part, no \\ or control "
                      "character; / alone for none)";
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char env[64], msg[256];
        snprintf(env, sizeof(env), "PDF_PREFIX=%s", bad[i]);
        if (strchr(bad[i], '\\'))
            snprintf(msg, sizeof(msg), "PDF_PREFIX=\"a\\\\b/\": %s", why);
        else
            snprintf(msg, sizeof(msg), "%s: %s", env, why);
        EXPECT_ERROR(ENV(env), NULL, msg);
    }
    char msg[256];
    snprintf(msg, sizeof(msg), "--metadata-prefix=\"a\\x01b/\": %s", why);
    EXPECT_ERROR(NULL, ARGV("--metadata-prefix=a\001b/"), msg);

    char longp[600];
    memset(longp, 'a', sizeof(longp) - 1);
    longp[sizeof(longp) - 1] = '\0';
    struct load l2;
    char env[700];
    snprintf(env, sizeof(env), "IMAGE_PREFIX=%s", longp);
    load(&l2, ENV(env), NULL);
    CHECK_EQ_INT(l2.rc, ETL_ECONFIG);
    CHECK(strstr(l2.err.data, "IMAGE_PREFIX=\"aaaa") == l2.err.data);
    CHECK(strstr(l2.err.data, "...: must be at most 511 bytes") != NULL);
    unload(&l2);
}

TEST(strings)
{
    struct load l;
    load(&l,
         ENV("SOURCE_BUCKET=my-bucket", "DEST_BUCKET=/data/out",
             "AWS_LAMBDA_FUNCTION_NAME=bpecg-etl", "START_AFTER=pdfs/0042.pdf",
             "RUN_ID=run-2024.01_a", "CROP_REGIONS_FILE=crops.json",
             "KILL_SWITCH_KEY=ops/STOP-ETL"),
         NULL);
    CHECK_EQ_INT(l.rc, 0);
    CHECK_EQ_STR(l.c.source_bucket, "my-bucket");
    CHECK(!l.c.source_is_url);
    CHECK_EQ_STR(l.c.dest_bucket, "/data/out");
    CHECK(!l.c.dest_is_url);
    CHECK_EQ_STR(l.c.aws_lambda_function_name, "bpecg-etl");
    CHECK_EQ_STR(l.c.start_after, "pdfs/0042.pdf");
    CHECK_EQ_STR(l.c.run_id, "run-2024.01_a");
    CHECK_EQ_STR(l.c.crop_regions_file, "crops.json");
    CHECK_EQ_STR(l.c.kill_switch_key, "ops/STOP-ETL");
    unload(&l);

    /* CROP_REGIONS may span lines. */
    load(&l, ENV("CROP_REGIONS=[[1, 2,\n\t3, 4]]"), NULL);
    CHECK_EQ_INT(l.rc, 0);
    CHECK_EQ_STR(l.c.crop_regions, "[[1, 2,\n\t3, 4]]");
    unload(&l);

    EXPECT_ERROR(ENV("START_AFTER=a\nb"), NULL,
                 "START_AFTER=\"a\\nb\": must not contain control characters");
    EXPECT_ERROR(ENV("CROP_REGIONS=[[1,2,3,4]]\033"), NULL,
                 "CROP_REGIONS=\"[[1,2,3,4]]\\x1b\": must be JSON text without "
                 "control characters");

    /* Run ids become parts of keys: a strict alphabet. */
    char id64[65], env[80];
    memset(id64, 'x', 64);
    id64[64] = '\0';
    snprintf(env, sizeof(env), "RUN_ID=%s", id64);
    load(&l, ENV(env), NULL);
    CHECK_EQ_INT(l.rc, 0);
    CHECK_EQ_STR(l.c.run_id, id64);
    unload(&l);
    const char *run_why = "must be 1 to 64 characters from A-Z a-z 0-9 _ . - "
                          "(not \".\" or \"..\")";
    char msg[256];
    snprintf(env, sizeof(env), "RUN_ID=%sx", id64);
    snprintf(msg, sizeof(msg), "RUN_ID=\"%.60s\"...: %s", env + 7, run_why);
    EXPECT_ERROR(ENV(env), NULL, msg);
    snprintf(msg, sizeof(msg), "--run-id=a/b: %s", run_why);
    EXPECT_ERROR(NULL, ARGV("--run-id=a/b"), msg);
    snprintf(msg, sizeof(msg), "--run-id=..: %s", run_why);
    EXPECT_ERROR(NULL, ARGV("--run-id", ".."), msg);
    snprintf(msg, sizeof(msg), "RUN_ID=\"r\xc3\xa9\": %s", run_why);
    EXPECT_ERROR(ENV("RUN_ID=r\xc3\xa9"), NULL, msg);
    /* An empty flag value unsets what the environment set. */
    load(&l, ENV("RUN_ID=abc", "START_AFTER=x"),
         ARGV("--run-id=", "--start-after="));
    CHECK_EQ_INT(l.rc, 0);
    CHECK(l.c.run_id == NULL);
    CHECK(l.c.start_after == NULL);
    unload(&l);

    /* Regions go into hosts and signing scopes. */
    load(&l, ENV("AWS_REGION=eu-west-1"), NULL);
    CHECK_EQ_STR(l.c.aws_region, "eu-west-1");
    unload(&l);
    EXPECT_ERROR(ENV("AWS_REGION=eu-west-1/x"), NULL,
                 "AWS_REGION=eu-west-1/x: must be a region name of letters, "
                 "digits, - and _");
}

TEST(region_fallback)
{
    struct load l;
    load(&l, ENV("AWS_DEFAULT_REGION=us-west-2"), NULL);
    CHECK_EQ_STR(l.c.aws_region, "us-west-2");
    unload(&l);
    load(&l, ENV("AWS_DEFAULT_REGION=us-west-2", "AWS_REGION=eu-central-1"),
         NULL);
    CHECK_EQ_STR(l.c.aws_region, "eu-central-1");
    unload(&l);
    load(&l, ENV("AWS_DEFAULT_REGION=us-west-2", "AWS_REGION="), NULL);
    CHECK_EQ_STR(l.c.aws_region, "us-west-2");
    unload(&l);
    load(&l, ENV("AWS_REGION=eu-central-1"), ARGV("--aws-region=ap-south-1"));
    CHECK_EQ_STR(l.c.aws_region, "ap-south-1");
    unload(&l);
    EXPECT_ERROR(ENV("AWS_DEFAULT_REGION=bad region"), NULL,
                 "AWS_DEFAULT_REGION=\"bad region\": must be a region name "
                 "of letters, digits, - and _");
}

TEST(source_and_dest_flags)
{
    struct load l;
    load(&l, ENV("SOURCE_BUCKET=env-bucket", "PDF_PREFIX=in/"),
         ARGV("--source", "s3://b/reports/", "--dest=/tmp/out"));
    CHECK_EQ_INT(l.rc, 0);
    CHECK_EQ_STR(l.c.source_bucket, "s3://b/reports/");
    CHECK(l.c.source_is_url);
    CHECK_EQ_STR(l.c.dest_bucket, "/tmp/out");
    CHECK(l.c.dest_is_url);
    unload(&l);
    /* A --source URL carries the prefix: a --pdf-prefix flag would be
     * ignored, so it is refused. */
    EXPECT_ERROR(NULL, ARGV("--source", "s3://b/x/", "--pdf-prefix", "y/"),
                 "--pdf-prefix=y/: cannot be used with --source (the URL's "
                 "path is the prefix)");
}

TEST(crop_settings)
{
    EXPECT_ERROR(ENV("CROP_REGIONS=[[1,2,3,4]]", "CROP_REGIONS_FILE=c.json"),
                 NULL,
                 "CROP_REGIONS and CROP_REGIONS_FILE are both set: give one "
                 "or the other");
    EXPECT_ERROR(NULL, ARGV("--crop-regions=[[1,2,3,4]]", "--crops", "c.json"),
                 "--crop-regions and --crops are both set: give one or the "
                 "other");
    /* A flag for one replaces the other from the environment. */
    struct load l;
    load(&l, ENV("CROP_REGIONS=[[1,2,3,4]]"), ARGV("--crops", "c.json"));
    CHECK_EQ_INT(l.rc, 0);
    CHECK(l.c.crop_regions == NULL);
    CHECK_EQ_STR(l.c.crop_regions_file, "c.json");
    unload(&l);
    load(&l, ENV("CROP_REGIONS_FILE=c.json"),
         ARGV("--crop-regions", "[[1,2,3,4]]"));
    CHECK_EQ_INT(l.rc, 0);
    CHECK_EQ_STR(l.c.crop_regions, "[[1,2,3,4]]");
    CHECK(l.c.crop_regions_file == NULL);
    unload(&l);
}

TEST(redact_and_field_settings)
{
    EXPECT_ERROR(
        ENV("REDACT_REGIONS=[[1,2,3,4]]", "REDACT_REGIONS_FILE=r.json"), NULL,
        "REDACT_REGIONS and REDACT_REGIONS_FILE are both set: give one or "
        "the other");
    EXPECT_ERROR(
        NULL,
        ARGV("--redact-regions=[[1,2,3,4]]", "--redact-regions-file", "r.json"),
        "--redact-regions and --redact-regions-file are both set: "
        "give one or the other");
    EXPECT_ERROR(ENV("REDACT_REGIONS=[[1,2,3,4]]\033"), NULL,
                 "REDACT_REGIONS=\"[[1,2,3,4]]\\x1b\": must be JSON text "
                 "without control characters");
    /* A flag for one replaces the other from the environment. */
    struct load l;
    load(&l, ENV("REDACT_REGIONS=[[1,2,3,4]]"),
         ARGV("--redact-regions-file", "r.json"));
    CHECK_EQ_INT(l.rc, 0);
    CHECK(l.c.redact_regions == NULL);
    CHECK_EQ_STR(l.c.redact_regions_file, "r.json");
    unload(&l);
    load(&l, ENV("REDACT_REGIONS_FILE=r.json"),
         ARGV("--redact-regions", "[[1,2,3,4]]"));
    CHECK_EQ_INT(l.rc, 0);
    CHECK_EQ_STR(l.c.redact_regions, "[[1,2,3,4]]");
    CHECK(l.c.redact_regions_file == NULL);
    unload(&l);
    /* Crop and redaction regions are independent. */
    load(&l, ENV("CROP_REGIONS=[[0,0,5,5]]", "REDACT_REGIONS=[[1,2,3,4]]"),
         NULL);
    CHECK_EQ_INT(l.rc, 0);
    CHECK_EQ_STR(l.c.crop_regions, "[[0,0,5,5]]");
    CHECK_EQ_STR(l.c.redact_regions, "[[1,2,3,4]]");
    unload(&l);
    load(&l, ENV("FIELD_PATTERNS_FILE=site.json"), NULL);
    CHECK_EQ_INT(l.rc, 0);
    CHECK_EQ_STR(l.c.field_patterns_file, "site.json");
    unload(&l);
    load(&l, ENV("FIELD_PATTERNS_FILE=site.json"),
         ARGV("--field-patterns-file="));
    CHECK_EQ_INT(l.rc, 0);
    CHECK(l.c.field_patterns_file == NULL);
    unload(&l);
}

TEST(flags)
{
    struct load l;
    /* Both forms, flags over the environment, the last flag wins. */
    load(&l, ENV("IMAGE_DPI=150", "CONCURRENCY=4"),
         ARGV("--image-dpi", "200", "--concurrency=8", "--image-dpi=300"));
    CHECK_EQ_INT(l.rc, 0);
    CHECK_EQ_INT(l.c.image_dpi, 300);
    CHECK_EQ_INT(l.c.concurrency, 8);
    unload(&l);
    /* A malformed variable that a flag replaces is not an error. */
    load(&l, ENV("IMAGE_DPI=junk"), ARGV("--image-dpi", "72"));
    CHECK_EQ_INT(l.rc, 0);
    CHECK_EQ_INT(l.c.image_dpi, 72);
    unload(&l);
    /* A value may look like a flag or contain '='. */
    load(&l, NULL, ARGV("--start-after", "--x=y.pdf"));
    CHECK_EQ_INT(l.rc, 0);
    CHECK_EQ_STR(l.c.start_after, "--x=y.pdf");
    unload(&l);
    load(&l, NULL, ARGV("--start-after=a=b.pdf"));
    CHECK_EQ_STR(l.c.start_after, "a=b.pdf");
    unload(&l);

    load(&l, NULL, ARGV("--progress"));
    CHECK_EQ_INT(l.rc, 0);
    CHECK(l.c.progress);
    unload(&l);
    load(&l, NULL, ARGV("--progress", "--no-progress"));
    CHECK_EQ_INT(l.rc, 0);
    CHECK(!l.c.progress);
    unload(&l);

    EXPECT_ERROR(NULL, ARGV("--image-dip=100"),
                 "--image-dip: unknown flag; did you mean --image-dpi?");
    EXPECT_ERROR(NULL, ARGV("--bogus"), "--bogus: unknown flag");
    EXPECT_ERROR(NULL, ARGV("--image_dpi", "100"),
                 "--image_dpi: unknown flag; did you mean --image-dpi?");
    EXPECT_ERROR(NULL, ARGV("--IMAGE-DPI=100"), "--IMAGE-DPI: unknown flag");
    EXPECT_ERROR(NULL, ARGV("--image-dpi"), "--image-dpi: needs a value");
    EXPECT_ERROR(NULL, ARGV("--batch-size", "5", "extra"),
                 "extra: unexpected argument (settings are --name value "
                 "flags)");
    EXPECT_ERROR(NULL, ARGV("-v"),
                 "-v: unexpected argument (settings are --name value flags)");
    EXPECT_ERROR(NULL, ARGV("--"),
                 "--: unexpected argument (settings are --name value flags)");
    EXPECT_ERROR(NULL, ARGV("--progress=yes"),
                 "--progress=yes: takes no value (use --progress or "
                 "--no-progress)");
    EXPECT_ERROR(NULL, ARGV("--no-image-dpi"), "--no-image-dpi: unknown flag");
}

/* cfg_env_names() lists exactly the variables above (the fuzzer uses it). */
TEST(env_names_are_every_variable)
{
    const char *names[128];
    size_t n = cfg_env_names(names, 128);
    CHECK_EQ_INT((long)n, (long)N_ALL_ENV);
    for (size_t i = 0; i < N_ALL_ENV; i++) {
        bool found = false;
        for (size_t k = 0; k < n && k < 128 && !found; k++)
            found = strcmp(names[k], all_env[i]) == 0;
        if (!found)
            HARNESS_FAIL("cfg_env_names() lacks %s", all_env[i]);
    }
    CHECK_EQ_INT((long)cfg_env_names(names, 2), (long)n);
}

/* Flags are the kebab form of the variable, except the three cfg.h names. */
TEST(flag_names_follow_variables)
{
    for (size_t i = 0; i < N_ALL_ENV; i++) {
        const char *env = all_env[i];
        if (strncmp(env, "AWS_LAMBDA_LOG", 14) == 0 ||
            strcmp(env, "AWS_DEFAULT_REGION") == 0)
            continue;
        char flag[64];
        if (strcmp(env, "SOURCE_BUCKET") == 0)
            snprintf(flag, sizeof(flag), "--source");
        else if (strcmp(env, "DEST_BUCKET") == 0)
            snprintf(flag, sizeof(flag), "--dest");
        else if (strcmp(env, "CROP_REGIONS_FILE") == 0)
            snprintf(flag, sizeof(flag), "--crops");
        else {
            size_t n = strlen(env);
            flag[0] = flag[1] = '-';
            for (size_t j = 0; j < n; j++)
                flag[2 + j] = env[j] == '_' ? '-' : (char)(env[j] | 0x20);
            flag[2 + n] = '\0';
        }
        struct load l;
        load(&l, NULL, ARGV(flag, ""));
        /* "" is accepted by strings, refused by numbers -- but never an
         * unknown flag. */
        if (strstr(l.err.data, "unknown flag"))
            HARNESS_FAIL("%s for %s: %s", flag, env, l.err.data);
        unload(&l);
    }
}

static char *usage_text(bool markdown)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    cfg_usage(f, markdown);
    fclose(f);
    return text;
}

TEST(usage_markdown)
{
    char *md = usage_text(true);
    CHECK(strncmp(md,
                  "| Variable | Flag | Default | Accepted | Meaning |\n"
                  "|---|---|---|---|---|\n",
                  strlen("| Variable | Flag | Default | Accepted | Meaning "
                         "|\n|---|---|---|---|---|\n")) == 0);
    /* Every row has five non-empty cells, and every variable a row. */
    size_t rows = 0;
    for (char *line = md; line && *line;) {
        char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t)(nl - line) : strlen(line);
        int pipes = 0, empty = 0;
        for (size_t i = 0; i < n; i++) {
            if (line[i] == '|' && (i == 0 || line[i - 1] != '\\')) {
                pipes++;
                if (i + 2 < n && line[i + 1] == ' ' && line[i + 2] == '|')
                    empty++;
            }
        }
        if (pipes != 6 || empty)
            HARNESS_FAIL("bad row: %.*s", (int)n, line);
        rows++;
        line = nl ? nl + 1 : NULL;
    }
    /* Header, rule, one row per variable except the three read as
     * alternatives of another (AWS_LAMBDA_LOG_*, AWS_DEFAULT_REGION), and
     * one for --progress. */
    CHECK_EQ_INT(rows, 2 + (N_ALL_ENV - 3) + 1);
    for (size_t i = 0; i < N_ALL_ENV; i++) {
        char cell[64];
        bool alt = strncmp(all_env[i], "AWS_LAMBDA_LOG", 14) == 0 ||
                   strcmp(all_env[i], "AWS_DEFAULT_REGION") == 0;
        snprintf(cell, sizeof(cell), alt ? "%s" : "\n| `%s` | `--", all_env[i]);
        if (!strstr(md, cell))
            HARNESS_FAIL("no row for %s", all_env[i]);
    }
    CHECK(strstr(md, "| `IMAGE_DPI` | `--image-dpi` | `100` | 36 to 600 | ") !=
          NULL);
    CHECK(strstr(md, "| `RENDER_MODE` | `--render-mode` | `clip` | `clip`, "
                     "`page` | ") != NULL);
    CHECK(strstr(md, "| `MAX_PDF_BYTES` | `--max-pdf-bytes` | `100MiB` | "
                     "1KiB to 4GiB | ") != NULL);
    CHECK(strstr(md, "`--progress`, `--no-progress`") != NULL);
    CHECK(strstr(md, "| `EXTRACT_WAVEFORMS` | `--extract-waveforms`, "
                     "`--no-extract-waveforms` | `0` | `0` or `1` | ") != NULL);
    CHECK(strstr(md, "| `PAPER_SPEED_MM_S` | `--paper-speed-mm-s` | `25` | "
                     "5 to 200 | ") != NULL);
    CHECK(strstr(md, "AWS_LAMBDA_LOG_LEVEL") != NULL);
    CHECK(strstr(md, "AWS_LAMBDA_LOG_FORMAT") != NULL);
    free(md);
}

TEST(usage_plain)
{
    char *txt = usage_text(false);
    CHECK(strstr(txt, "  --image-dpi N  (IMAGE_DPI)\n") != NULL);
    CHECK(strstr(txt, "Default: 100. Accepts: 36 to 600.") != NULL);
    CHECK(strstr(txt, "  --render-mode clip|page  (RENDER_MODE)\n") != NULL);
    CHECK(strstr(txt, "  --progress, --no-progress\n") != NULL);
    CHECK(strstr(txt, "  --extract-waveforms, --no-extract-waveforms  "
                      "(EXTRACT_WAVEFORMS)\n") != NULL);
    CHECK(strstr(txt, "  --gain-mm-mv MM_MV  (GAIN_MM_MV)\n") != NULL);
    /* Fits an 80-column terminal. */
    for (char *line = txt; *line;) {
        char *nl = strchr(line, '\n');
        if ((nl ? (size_t)(nl - line) : strlen(line)) > 79)
            HARNESS_FAIL("long line: %.40s...", line);
        if (!nl)
            break;
        line = nl + 1;
    }
    free(txt);
}

static void hash_of(const char *const *env, char out[17])
{
    struct load l;
    load(&l, env, NULL);
    CHECK_EQ_INT(l.rc, 0);
    cfg_hash(&l.c, "pt;region_0:100,100,300,300", out);
    unload(&l);
}

TEST(hash)
{
    char base[17], again[17], h[17];
    hash_of(NULL, base);
    CHECK_EQ_INT(strlen(base), 16);
    CHECK_EQ_INT(strspn(base, "0123456789abcdef"), 16);
    hash_of(NULL, again);
    CHECK_EQ_STR(base, again);

    /* Settings that change what is written change the hash... */
    static const char *const changes[] = {
        "IMAGE_DPI=150",       "IMAGE_QUALITY=90",
        "TEXT_PAGE=2",         "CROP_PAGE=1",
        "RENDER_MODE=page",    "PARQUET_COMPRESSION=snappy",
        "IMAGE_PREFIX=img/",   "METADATA_PREFIX=meta/",
        "EXTRACT_WAVEFORMS=1",
    };
    char seen[sizeof(changes) / sizeof(changes[0])][17];
    for (size_t i = 0; i < sizeof(changes) / sizeof(changes[0]); i++) {
        hash_of(ENV(changes[i]), seen[i]);
        if (strcmp(seen[i], base) == 0)
            HARNESS_FAIL("%s does not change the hash", changes[i]);
        for (size_t j = 0; j < i; j++)
            if (strcmp(seen[i], seen[j]) == 0)
                HARNESS_FAIL("%s and %s hash alike", changes[i], changes[j]);
    }
    /* ...an empty prefix differs from the default one... */
    struct load l;
    load(&l, NULL, ARGV("--image-prefix="));
    cfg_hash(&l.c, "pt;region_0:100,100,300,300", h);
    CHECK(strcmp(h, base) != 0);
    /* ...and so do the crop regions in use, whatever their source. */
    cfg_hash(&l.c, "pt;region_0:100,100,300,301", again);
    CHECK(strcmp(h, again) != 0);
    unload(&l);
    /* ...and the rest does not. */
    static const char *const same[] = {
        "CONCURRENCY=3",
        "BATCH_SIZE=7",
        "LOG_LEVEL=DEBUG",
        "DEBUG_PAYLOADS=100",
        "RETRY_MAX_ATTEMPTS=5",
        "RUN_ID=abc",
        "START_AFTER=x.pdf",
        "SOURCE_BUCKET=other",
        "PDF_PREFIX=in/",
        "AWS_REGION=eu-west-1",
        "CROP_REGIONS_FILE=c.json", /* counted through the parsed regions */
        /* etl adds these to the crops text it hashes */
        "REDACT_REGIONS=[[1,2,3,4]]",
        "FIELD_PATTERNS_FILE=f.json",
        /* Lambda's chain control changes no output */
        "DEADLINE_MARGIN_MS=5000",
        "MAX_CHAIN_BATCHES=3",
        "KILL_SWITCH_KEY=ops/STOP",
        /* without EXTRACT_WAVEFORMS=1 nothing of them is written */
        "WAVEFORM_PREFIX=w/",
        "WAVEFORM_SAMPLE_RATE=250",
        "PAPER_SPEED_MM_S=50",
        "GAIN_MM_MV=20",
    };
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        hash_of(ENV(same[i]), h);
        if (strcmp(h, base) != 0)
            HARNESS_FAIL("%s changes the hash", same[i]);
    }
    /* With extraction on, every waveform setting changes the hash. */
    char on[17];
    hash_of(ENV("EXTRACT_WAVEFORMS=1"), on);
    static const char *const wave[] = {
        "WAVEFORM_PREFIX=w/", "WAVEFORM_SAMPLE_RATE=250", "PAPER_SPEED_MM_S=50",
        "GAIN_MM_MV=20",      "GAIN_MM_MV=10.000001",
    };
    char wseen[sizeof(wave) / sizeof(wave[0])][17];
    for (size_t i = 0; i < sizeof(wave) / sizeof(wave[0]); i++) {
        hash_of(ENV("EXTRACT_WAVEFORMS=1", wave[i]), wseen[i]);
        if (strcmp(wseen[i], on) == 0)
            HARNESS_FAIL("%s does not change the hash", wave[i]);
        for (size_t j = 0; j < i; j++)
            if (strcmp(wseen[i], wseen[j]) == 0)
                HARNESS_FAIL("%s and %s hash alike", wave[i], wave[j]);
    }
}

TEST(release_after_error)
{
    /* Strings set before the error are freed by cfg_release (ASan checks
     * this in the sanitizer build); release twice is harmless. */
    struct load l;
    load(&l, ENV("SOURCE_BUCKET=b", "RUN_ID=abc"), ARGV("--image-dpi=1"));
    CHECK_EQ_INT(l.rc, ETL_ECONFIG);
    cfg_release(&l.c);
    CHECK(l.c.source_bucket == NULL && l.c.pdf_prefix == NULL);
    unload(&l);
}

int main(void)
{
    RUN(defaults);
    RUN(integers);
    RUN(pages);
    RUN(error_messages_from_brief);
    RUN(sizes);
    RUN(seconds);
    RUN(waveform_settings);
    RUN(enums);
    RUN(log_settings);
    RUN(prefixes);
    RUN(strings);
    RUN(region_fallback);
    RUN(source_and_dest_flags);
    RUN(crop_settings);
    RUN(redact_and_field_settings);
    RUN(flags);
    RUN(env_names_are_every_variable);
    RUN(flag_names_follow_variables);
    RUN(usage_markdown);
    RUN(usage_plain);
    RUN(hash);
    RUN(release_after_error);
    return harness_done();
}
