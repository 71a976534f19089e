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
          "  --help           this text\n",
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

/* Returns -1 to go on, or an exit status (help, usage error). */
static int parse_args(int argc, char **argv, struct samples_args *a)
{
    a->out = NULL;
    a->manifest = NULL;
    a->count = 10;
    a->seed = 1;
    a->variants = false;
    a->layout = SAMPLE_LAYOUT_3X4;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            usage(stdout);
            return EXIT_OK;
        }
        if (strcmp(arg, "--variants") == 0) {
            a->variants = true;
            continue;
        }
        /* --flag value or --flag=value */
        char flag[32];
        const char *val = NULL;
        const char *eq = strchr(arg, '=');
        if (strncmp(arg, "--", 2) == 0 && eq &&
            (size_t)(eq - arg) < sizeof(flag)) {
            memcpy(flag, arg, (size_t)(eq - arg));
            flag[eq - arg] = '\0';
            val = eq + 1;
        } else {
            snprintf(flag, sizeof(flag), "%s", arg);
        }
        bool takes_value =
            strcmp(flag, "--out") == 0 || strcmp(flag, "--count") == 0 ||
            strcmp(flag, "--seed") == 0 || strcmp(flag, "--layout") == 0 ||
            strcmp(flag, "--manifest") == 0;
        if (!takes_value) {
            fprintf(stderr, "bpecg-etl samples: unknown option '%s'\n", arg);
            fputs("try 'bpecg-etl samples --help'\n", stderr);
            return EXIT_USAGE;
        }
        if (!val) {
            if (i + 1 >= argc)
                return usage_error(flag, NULL, "needs a value");
            val = argv[++i];
        }
        if (strcmp(flag, "--out") == 0) {
            if (!*val)
                return usage_error(flag, val, "a directory path");
            a->out = val;
        } else if (strcmp(flag, "--manifest") == 0) {
            if (!*val)
                return usage_error(flag, val, "a file path");
            a->manifest = val;
        } else if (strcmp(flag, "--count") == 0) {
            if (!parse_long(val, 0, MAX_COUNT, &a->count))
                return usage_error(flag, val, "an integer 0..100000");
        } else if (strcmp(flag, "--seed") == 0) {
            if (!parse_u64(val, &a->seed))
                return usage_error(flag, val,
                                   "an integer 0..18446744073709551615");
        } else {
            enum sample_layout l;
            if (strcmp(val, "mixed") == 0)
                a->layout = LAYOUT_MIXED;
            else if (pdf_sample_layout_parse(val, &l) == 0)
                a->layout = l;
            else
                return usage_error(flag, val, "3x4, 6x2, 12x1 or mixed");
        }
    }
    if (!a->out)
        return usage_error("--out", NULL, "is required (the output directory)");
    return -1;
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
    int status = parse_args(argc, argv, &a);
    if (status >= 0)
        return status;

    enum log_level level = LOG_INFO;
    enum log_format format = LOG_FORMAT_AUTO;
    const char *env = getenv("LOG_LEVEL");
    if (env && log_level_parse(env, &level) != 0)
        return usage_error("LOG_LEVEL", env, "DEBUG, INFO, WARN, ERROR, OFF");
    env = getenv("LOG_FORMAT");
    if (env && log_format_parse(env, &format) != 0)
        return usage_error("LOG_FORMAT", env, "json, console, auto");
    log_init(level, format, 2);

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
        if (log_progress_active() && (files % 25 == 0)) {
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
