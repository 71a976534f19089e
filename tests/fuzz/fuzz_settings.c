/* libFuzzer target: the settings loader (config/) with fuzzed flags and
 * environment, and the crop regions it may carry (ecg/crops.c).
 *
 * Input: records separated by NUL or '\n'. A record "$" + one byte +
 * VALUE sets the variable that byte selects (from the list of variables
 * cfg reads) to VALUE; any other record is one argv element. Every
 * variable is cleared first, so inputs do not leak into each other.
 * The same argv also goes through the subcommand option parser
 * (cfg_args_parse, with options like preview's) and then the loader.
 * Checks: an error is one line naming what was wrong; an accepted
 * configuration is within the documented ranges; the parser puts every
 * argument in exactly one place. */
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "config/config.h"
#include "core/err.h"
#include "crops_check.h"
#include "fuzz.h"

/* Every variable cfg reads (cfg_env_names), filled once. */
#define MAX_VARS 128
static const char *vars[MAX_VARS];
static size_t nvars;
#define MAX_ARGS 64

static void check_prefix(const char *p)
{
    FUZZ_CHECK(p != NULL);
    size_t n = strlen(p);
    FUZZ_CHECK(n == 0 || (p[n - 1] == '/' && p[0] != '/'));
    FUZZ_CHECK(strstr(p, "//") == NULL && strchr(p, '\\') == NULL);
}

static void check_regions(const char *json, const char *source)
{
    if (!json)
        return;
    struct crop_set set;
    struct buf err = BUF_INIT;
    int rc = crops_parse(json, source, &set, &err);
    FUZZ_CHECK(rc == 0 || rc == ETL_ECONFIG || rc == ETL_ENOMEM);
    if (rc == 0)
        fuzz_check_crops(&set);
    buf_release(&err);
}

static void check_config(const struct etl_config *c)
{
    FUZZ_CHECK(c->batch_size >= 1 && c->batch_size <= 1000);
    FUZZ_CHECK(c->concurrency >= 1 && c->concurrency <= 256);
    FUZZ_CHECK(c->image_dpi >= 36 && c->image_dpi <= 600);
    FUZZ_CHECK(c->image_quality >= 1 && c->image_quality <= 100);
    FUZZ_CHECK(c->text_page >= 1 && c->crop_page >= 1);
    FUZZ_CHECK(c->max_pdf_bytes >= 1024 &&
               c->max_pdf_bytes <= 4LL * 1024 * 1024 * 1024);
    FUZZ_CHECK(c->pdf_timeout_ms >= 100 && c->pdf_timeout_ms <= 900000);
    FUZZ_CHECK(c->pdf_max_memory_mb >= 64 && c->pdf_max_memory_mb <= 65536);
    FUZZ_CHECK(c->retry_max_attempts >= 1 && c->retry_max_attempts <= 20);
    FUZZ_CHECK(c->retry_initial_wait >= 0 && c->retry_initial_wait <= 60);
    FUZZ_CHECK(c->retry_max_wait >= c->retry_initial_wait &&
               c->retry_max_wait <= 900);
    FUZZ_CHECK(c->log_level >= LOG_DEBUG && c->log_level <= LOG_OFF);
    FUZZ_CHECK(c->batch_id >= 0 && c->max_batches >= 0);
    check_prefix(c->pdf_prefix);
    check_prefix(c->image_prefix);
    check_prefix(c->metadata_prefix);
    check_prefix(c->waveform_prefix);
    FUZZ_CHECK(!c->extract_waveforms ||
               strcmp(c->waveform_prefix, c->metadata_prefix) != 0);
    FUZZ_CHECK(c->waveform_sample_rate >= 50 &&
               c->waveform_sample_rate <= 10000);
    FUZZ_CHECK(c->paper_speed_mm_s >= 5 && c->paper_speed_mm_s <= 200);
    FUZZ_CHECK(c->gain_mm_mv >= 1 && c->gain_mm_mv <= 100);
    FUZZ_CHECK(!(c->crop_regions && c->crop_regions_file));
    FUZZ_CHECK(!(c->redact_regions && c->redact_regions_file));
    char hash[17];
    cfg_hash(c, c->crop_regions, hash);
    FUZZ_CHECK(strlen(hash) == 16);
    check_regions(c->crop_regions, "CROP_REGIONS");
    check_regions(c->redact_regions, "REDACT_REGIONS");
}

/* argv through cfg_args_parse (argv[-1] stands for the command name),
 * then its settings through cfg_load. */
static void check_args(int argc, char **argv)
{
    static const char *out, *event;
    static bool flag;
    static const struct cfg_option opts[] = {
        {.name = "output", .short_name = 'o', .value = &out},
        {.name = "event", .value = &event},
        {.name = "inline-images", .set = &flag},
        {.name = "dpi", .alias = "image-dpi"},
        {NULL, 0, NULL, NULL, NULL},
    };
    char *full[MAX_ARGS + 2];
    full[0] = "cmd";
    memcpy(full + 1, argv, sizeof(char *) * ((size_t)argc + 1));
    struct cfg_args a;
    struct buf err = BUF_INIT;
    int rc = cfg_args_parse(opts, argc + 1, full, &a, &err);
    FUZZ_CHECK(rc == 0 || rc == ETL_ECONFIG || rc == ETL_ENOMEM);
    if (rc == ETL_ECONFIG)
        FUZZ_CHECK(err.len > 0 && strchr(err.data, '\n') == NULL);
    if (rc == 0) {
        /* Settings and positionals are argv's own strings, in order, or
         * an alias's "--image-dpi"; none is counted twice. */
        FUZZ_CHECK(a.settings_n + a.positional_n <= 2 * argc);
        int at = 1;
        for (int i = 0; i < a.positional_n; i++) {
            while (at <= argc && full[at] != a.positional[i])
                at++;
            FUZZ_CHECK(at <= argc);
            at++;
        }
        for (int i = 0; i < a.settings_n; i++) {
            const char *s = a.settings[i];
            bool from_argv = false;
            for (int k = 1; k <= argc && !from_argv; k++)
                from_argv = full[k] == s;
            FUZZ_CHECK(
                from_argv || strcmp(s, "--image-dpi") == 0 ||
                (i > 0 && strcmp(a.settings[i - 1], "--image-dpi") == 0));
        }
        struct etl_config cfg;
        buf_reset(&err);
        rc = cfg_load(&cfg, a.settings_n, a.settings, &err);
        FUZZ_CHECK(rc == 0 || rc == ETL_ECONFIG || rc == ETL_ENOMEM);
        if (rc == 0)
            check_config(&cfg);
        else if (rc == ETL_ECONFIG)
            FUZZ_CHECK(err.len > 0 && strchr(err.data, '\n') == NULL);
        cfg_release(&cfg);
    }
    cfg_args_release(&a);
    buf_release(&err);
}

/* The "NAME=VALUE" strings put into the environment. putenv, not setenv:
 * glibc's setenv keeps every value it was ever given, which over millions
 * of inputs looks like a leak to the fuzzer's RSS limit. */
static char *env_strings[MAX_VARS];

static void set_var(size_t i, const char *value)
{
    struct buf b = BUF_INIT;
    if (buf_printf(&b, "%s=%s", vars[i], value))
        return;
    unsetenv(vars[i]);
    free(env_strings[i]);
    env_strings[i] = buf_detach(&b, NULL);
    if (env_strings[i])
        putenv(env_strings[i]);
}

static void clear_vars(void)
{
    for (size_t i = 0; i < nvars; i++) {
        unsetenv(vars[i]);
        free(env_strings[i]);
        env_strings[i] = NULL;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct buf in = BUF_INIT;
    if (!nvars) {
        nvars = cfg_env_names(vars, MAX_VARS);
        if (nvars > MAX_VARS)
            nvars = MAX_VARS;
    }
    if (buf_add(&in, data, size))
        return 0;
    clear_vars();

    char *argv[MAX_ARGS + 2];
    int argc = 0;
    char *p = in.data, *end = in.data + in.len;
    while (p <= end) {
        char *rec = p;
        while (p < end && *p != '\0' && *p != '\n')
            p++;
        *p = '\0'; /* end is in.data[len], always NUL */
        p++;
        if (rec[0] == '$' && rec[1] != '\0') {
            set_var((unsigned char)rec[1] % nvars, rec + 2);
        } else if (argc < MAX_ARGS && (rec[0] || p <= end)) {
            argv[argc++] = rec;
        }
    }
    argv[argc] = NULL;

    struct etl_config cfg;
    struct buf err = BUF_INIT;
    int rc = cfg_load(&cfg, argc, argv, &err);
    FUZZ_CHECK(rc == 0 || rc == ETL_ECONFIG || rc == ETL_ENOMEM);
    if (rc == 0) {
        FUZZ_CHECK(err.len == 0);
        check_config(&cfg);
    } else if (rc == ETL_ECONFIG) {
        FUZZ_CHECK(err.len > 0 && strchr(err.data, '\n') == NULL);
    }
    cfg_release(&cfg);
    buf_release(&err);
    check_args(argc, argv);
    buf_release(&in);
    clear_vars();
    return 0;
}
