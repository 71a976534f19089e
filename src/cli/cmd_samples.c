/* `bpecg-etl samples`: write a deterministic corpus of synthetic ECG report
 * PDFs (and, with --variants, the hard cases) into a directory. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/clock.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/file.h"
#include "core/log.h"
#include "samples/samples.h"

#define MAX_COUNT 100000
#define LAYOUT_MIXED (-1) /* rotate 3x4, 6x2, 12x1 by index */

struct samples_args {
    const char *out;
    const char *manifest;
    long count;
    uint64_t seed;
    bool variants;
    int layout; /* enum sample_layout or LAYOUT_MIXED */
};

static void usage(FILE *f)
{
    fputs("usage: bpecg-etl samples --out DIR [--count N] [--seed S] "
          "[--variants]\n"
          "                         [--layout L] [--manifest FILE]\n"
          "\n"
          "Write synthetic 12-lead ECG report PDFs: page 1 a text report,\n"
          "page 2 the ECG as vector paths. Same seed, same bytes.\n"
          "\n"
          "  --out DIR        output directory (created if missing)\n"
          "  --count N        good samples ecg_00000.pdf.. (0..100000, "
          "default 10)\n"
          "  --seed S         corpus seed, 0..18446744073709551615 (default "
          "1)\n"
          "  --variants       also write the hard cases variant_<kind>.pdf:\n"
          "                   one_page encrypted truncated empty not_pdf\n"
          "                   raster_only many_pages huge_page\n"
          "  --layout L       page-2 layout: 3x4 (default), 6x2, 12x1, or "
          "mixed\n"
          "  --manifest FILE  write one JSON object per file (JSON lines)\n"
          "  --help           this text\n"
          "\n"
          "Settings are read as 'run' reads them (environment or flag); the\n"
          "log's, e.g. --log-level WARN or --no-progress, are those used.\n",
          f);
}

static int usage_error(const char *flag, const char *value,
                       const char *accepted)
{
    if (value)
        fprintf(stderr,
                "bpecg-etl samples: %s: invalid value '%s' (accepted: %s)\n",
                flag, value, accepted);
    else
        fprintf(stderr, "bpecg-etl samples: %s: %s\n", flag, accepted);
    fputs("try 'bpecg-etl samples --help'\n", stderr);
    return EXIT_USAGE;
}

static bool parse_long(const char *s, long lo, long hi, long *out)
{
    if (!s || !*s || (*s < '0' || *s > '9'))
        return false;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static bool parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s || (*s < '0' || *s > '9'))
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return false;
    *out = (uint64_t)v;
    return true;
}

static int check_args(struct samples_args *a, const struct cfg_args *args,
                      const char *count, const char *seed, const char *layout)
{
    if (args->positional_n) {
        fprintf(stderr, "bpecg-etl samples: unexpected argument '%s'\n",
                args->positional[0]);
        fputs("try 'bpecg-etl samples --help'\n", stderr);
        return EXIT_USAGE;
    }
    if (a->out && !*a->out)
        return usage_error("--out", a->out, "a directory path");
    if (a->manifest && !*a->manifest)
        return usage_error("--manifest", a->manifest, "a file path");
    if (count && !parse_long(count, 0, MAX_COUNT, &a->count))
        return usage_error("--count", count, "an integer 0..100000");
    if (seed && !parse_u64(seed, &a->seed))
        return usage_error("--seed", seed,
                           "an integer 0..18446744073709551615");
    if (layout) {
        enum sample_layout l;
        if (strcmp(layout, "mixed") == 0)
            a->layout = LAYOUT_MIXED;
        else if (pdf_sample_layout_parse(layout, &l) == 0)
            a->layout = (int)l;
        else
            return usage_error("--layout", layout, "3x4, 6x2, 12x1 or mixed");
    }
    if (!a->out)
        return usage_error("--out", NULL, "is required (the output directory)");
    return CLI_GO_ON;
}

static void print_help(void)
{
    usage(stdout);
}

/* Fills a and loads the settings (LOG_LEVEL, LOG_FORMAT, PROGRESS are the
 * ones samples uses). Returns CLI_GO_ON, or an exit status. */
static int parse_args(int argc, char **argv, struct samples_args *a,
                      struct etl_config *cfg)
{
    const char *count = NULL, *seed = NULL, *layout = NULL;
    const struct cfg_option opts[] = {
        {.name = "out", .value = &a->out},
        {.name = "manifest", .value = &a->manifest},
        {.name = "count", .value = &count},
        {.name = "seed", .value = &seed},
        {.name = "layout", .value = &layout},
        {.name = "variants", .set = &a->variants},
        {NULL, 0, NULL, NULL, NULL},
    };
    struct cfg_args args;
    memset(a, 0, sizeof(*a));
    a->count = 10;
    a->seed = 1;
    a->layout = SAMPLE_LAYOUT_3X4;
    int status = cli_parse("samples", opts, argc, argv, &args, print_help);
    if (status == CLI_GO_ON)
        status = check_args(a, &args, count, seed, layout);
    if (status == CLI_GO_ON)
        status = cli_load("samples", &args, cfg);
    cfg_args_release(&args);
    return status;
}

/* mkdir -p */
static int make_dirs(const char *path)
{
    struct buf p = BUF_INIT;
    int rc = buf_addstr(&p, path);
    for (size_t i = 1; !rc && i <= p.len; i++) {
        if (p.data[i] != '/' && p.data[i] != '\0')
            continue;
        char saved = p.data[i];
        p.data[i] = '\0';
        if (mkdir(p.data, 0777) != 0 && errno != EEXIST)
            rc = ETL_EIO;
        p.data[i] = saved;
    }
    struct stat st;
    if (!rc && stat(path, &st) != 0)
        rc = ETL_EIO;
    else if (!rc && !S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        rc = ETL_EIO;
    }
    int saved = errno;
    buf_release(&p);
    errno = saved;
    return rc;
}

/* Write data to path atomically, saying why when it cannot. */
static int write_atomic(const char *path, const void *data, size_t len)
{
    struct buf why = BUF_INIT;
    int rc = file_write_atomic(path, data, len, &why);
    if (rc)
        LOGF(LOG_ERROR, "samples_write_failed", LF_S("path", path),
             LF_S("error", why.data));
    buf_release(&why);
    return rc;
}

/* Make one file and its manifest line. */
static int emit(const struct samples_args *a, const char *name, int index,
                enum sample_kind kind, enum sample_layout layout,
                struct buf *pdf, struct buf *meta, struct buf *path,
                struct buf *manifest, uint64_t *bytes)
{
    struct pdf_sample_options o = {layout};
    int rc = pdf_sample_make_opts(a->seed, index, kind, &o, pdf, meta);
    if (rc) {
        LOGF(LOG_ERROR, "sample_failed", LF_S("file", name),
             LF_S("error", etl_errname(rc)));
        return rc;
    }
    buf_reset(path);
    rc = buf_printf(path, "%s/%s", a->out, name);
    if (!rc)
        rc = write_atomic(path->data, pdf->data, pdf->len);
    if (!rc && a->manifest) {
        /* {"file": name, ...meta}: the meta object minus its '{'. */
        rc =
            buf_printf(manifest, "{\"file\":\"%s\",%s\n", name, meta->data + 1);
    }
    *bytes += pdf->len;
    return rc;
}

int cmd_samples(int argc, char **argv)
{
    struct samples_args a;
    struct etl_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    int status = parse_args(argc, argv, &a, &cfg);
    bool show = cfg.progress && log_progress_active();
    cfg_release(&cfg); /* the log's settings are all samples uses */
    if (status != CLI_GO_ON)
        return status;

    if (make_dirs(a.out) != 0) {
        fprintf(stderr, "bpecg-etl samples: cannot create directory '%s': %s\n",
                a.out, strerror(errno));
        return EXIT_RUN_ERROR;
    }

    struct buf pdf = BUF_INIT, meta = BUF_INIT, path = BUF_INIT;
    struct buf manifest = BUF_INIT;
    char name[64], progress[96];
    uint64_t bytes = 0;
    long files = 0;
    long total = a.count + (a.variants ? SAMPLE_KIND_COUNT - 1 : 0);
    double t0 = clock_mono_ms() / 1e3;
    int rc = 0;

    for (long i = 0; !rc && i < a.count; i++) {
        int layout = a.layout == LAYOUT_MIXED ? (int)(i % SAMPLE_LAYOUT_COUNT)
                                              : a.layout;
        snprintf(name, sizeof(name), "ecg_%05ld.pdf", i);
        rc = emit(&a, name, (int)i, SAMPLE_GOOD, (enum sample_layout)layout,
                  &pdf, &meta, &path, &manifest, &bytes);
        files += !rc;
        if (show && files % 25 == 0) {
            snprintf(progress, sizeof(progress), "samples %ld/%ld", files,
                     total);
            log_progress(progress);
        }
    }
    for (int k = 1; !rc && a.variants && k < SAMPLE_KIND_COUNT; k++) {
        int layout = a.layout == LAYOUT_MIXED ? SAMPLE_LAYOUT_3X4 : a.layout;
        snprintf(name, sizeof(name), "variant_%s.pdf",
                 pdf_sample_kind_name((enum sample_kind)k));
        rc = emit(&a, name, PDF_SAMPLE_VARIANT_INDEX + k, (enum sample_kind)k,
                  (enum sample_layout)layout, &pdf, &meta, &path, &manifest,
                  &bytes);
        files += !rc;
    }
    log_progress(NULL);
    if (!rc && a.manifest)
        rc = write_atomic(a.manifest, manifest.data, manifest.len);

    if (rc) {
        fprintf(stderr, "bpecg-etl samples: failed after %ld files: %s\n",
                files, etl_strerror(rc));
        status = EXIT_RUN_ERROR;
    } else {
        printf("samples: wrote %ld files (%.1f MB) to %s in %.2f s "
               "(seed %llu)\n",
               files, (double)bytes / 1e6, a.out, clock_mono_ms() / 1e3 - t0,
               (unsigned long long)a.seed);
        status = EXIT_OK;
    }
    buf_release(&pdf);
    buf_release(&meta);
    buf_release(&path);
    buf_release(&manifest);
    return status;
}
