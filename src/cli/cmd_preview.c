/* `bpecg-etl preview`: the crop page with every region drawn on it, as a
 * PNG, so a user can tune CROP_REGIONS by looking. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "config/config.h"
#include "core/err.h"
#include "core/file.h"
#include "core/log.h"
#include "ecg/crops.h"
#include "etl/etl.h"
#include "pdf/pdf.h"
#include "store/storage.h"

#define COLOUR_INSIDE 0x1565c0u  /* blue: the region lies on the page */
#define COLOUR_CLIPPED 0xef6c00u /* orange: cut by the page's edge */
#define COLOUR_OUTSIDE 0xc2185bu /* magenta: wholly off the page */
#define COLOUR_REDACT 0x6d6d6du  /* grey: painted white */

static void print_help(void)
{
    printf(
        "usage: bpecg-etl preview FILE.pdf [--crops FILE] [--dpi N] "
        "[--page N] -o OUT.png\n"
        "\n"
        "Renders the crop page (CROP_PAGE) of one PDF with every crop region\n"
        "drawn as a labelled rectangle (name and size): blue when it lies on\n"
        "the page, orange when the page's edge cuts it, magenta when it is\n"
        "wholly off the page (visible only near the edge). REDACT_REGIONS are\n"
        "painted white and outlined in grey. Rulers in points run along the\n"
        "top and left edges; the page sits %d pixels in from the image's\n"
        "top-left corner. A table of the regions goes to stdout.\n"
        "\n"
        "  FILE.pdf        a local path, file:///path or s3://bucket/key\n"
        "  -o, --output F  the PNG to write\n"
        "  --crops FILE    crop regions (CROP_REGIONS_FILE)\n"
        "  --dpi N         resolution, 36..600 (IMAGE_DPI)\n"
        "  --page N        page to render, from 1 (CROP_PAGE)\n"
        "\n"
        "Every other setting is read as 'run' reads it (environment or\n"
        "flag), e.g. --crop-regions JSON, --redact-regions-file FILE.\n"
        "exit status: 0 written; 2 usage or configuration error; 3 the PDF\n"
        "could not be read or rendered.\n",
        PDF_PREVIEW_MARGIN);
}

/* Split "dir/name" (or a URL) into the store URL of its directory and the
 * object's name. */
static int split_location(const char *loc, struct buf *dir, struct buf *name)
{
    const char *slash = strrchr(loc, '/');
    const char *scheme = strstr(loc, "://");
    if (scheme && slash && slash < scheme + 3)
        slash = NULL;
    if (!slash)
        return buf_addstr(dir, ".") || buf_addstr(name, loc) ? ETL_ENOMEM : 0;
    if (buf_add(dir, loc, (size_t)(slash - loc) + 1) ||
        buf_addstr(name, slash + 1))
        return ETL_ENOMEM;
    return 0;
}

/* Read a whole object named by a path or URL. */
static int read_location(const char *loc, size_t max, struct buf *out,
                         struct buf *err)
{
    struct buf dir = BUF_INIT, name = BUF_INIT, key = BUF_INIT;
    struct store *st = NULL;
    char *prefix = NULL;
    int rc = split_location(loc, &dir, &name);
    if (!rc && !name.len)
        rc = ETL_EINVAL;
    if (!rc)
        rc = store_open(dir.data, true, &st, &prefix);
    if (!rc)
        rc = buf_printf(&key, "%s%s", prefix, name.data);
    if (!rc)
        rc = store_get(st, key.data, max, out, NULL);
    if (rc) {
        const char *detail = store_last_error();
        buf_printf(err, "%s: %s%s%s%s", loc,
                   rc == ETL_ETOOBIG ? "larger than MAX_PDF_BYTES"
                                     : etl_strerror(rc),
                   *detail ? " (" : "", detail, *detail ? ")" : "");
    }
    free(prefix);
    store_free(st);
    buf_release(&dir);
    buf_release(&name);
    buf_release(&key);
    return rc;
}

static const char *fit_name(enum crop_fit f)
{
    return f == CROP_INSIDE    ? "inside"
           : f == CROP_CLIPPED ? "clipped by the page"
                               : "outside the page";
}

static void size_text(double v, char *out, size_t n)
{
    snprintf(out, n, "%.6g", v);
}

int cmd_preview(int argc, char **argv)
{
    struct etl_config cfg;
    struct cfg_args args;
    struct buf err = BUF_INIT, pdf = BUF_INIT, png = BUF_INIT;
    struct crop_set crops, redact = {0};
    struct pdf_engine *engine = NULL;
    struct pdf_worker *worker = NULL;
    struct pdf_doc *doc = NULL;
    const char *file = NULL, *out = NULL;
    const struct cfg_option opts[] = {
        {.name = "output", .short_name = 'o', .value = &out},
        {.name = "dpi", .alias = "image-dpi"},
        {.name = "page", .alias = "crop-page"},
        {NULL, 0, NULL, NULL, NULL},
    };
    memset(&cfg, 0, sizeof(cfg));
    int rc, status = cli_parse("preview", opts, argc, argv, &args, print_help);
    if (status != CLI_GO_ON)
        goto out;
    status = EXIT_USAGE;
    if (args.positional_n > 1) {
        fprintf(stderr, "bpecg-etl preview: unexpected argument '%s'\n",
                args.positional[1]);
        goto out;
    }
    file = args.positional_n ? args.positional[0] : NULL;
    if (!file || !out) {
        fprintf(stderr,
                "bpecg-etl preview: %s\ntry 'bpecg-etl preview "
                "--help'\n",
                !file ? "give the PDF to preview" : "give -o OUT.png");
        goto out;
    }
    if (cli_load("preview", &args, &cfg) != CLI_GO_ON)
        goto out;
    if (cfg.crop_regions)
        rc = crops_parse(cfg.crop_regions, "CROP_REGIONS", &crops, &err);
    else if (cfg.crop_regions_file)
        rc = etl_load_crops("CROP_REGIONS_FILE", cfg.crop_regions_file, &crops,
                            &err);
    else
        crops_default(&crops), rc = 0;
    if (!rc && cfg.redact_regions)
        rc = crops_parse(cfg.redact_regions, "REDACT_REGIONS", &redact, &err);
    else if (!rc && cfg.redact_regions_file)
        rc = etl_load_crops("REDACT_REGIONS_FILE", cfg.redact_regions_file,
                            &redact, &err);
    if (rc) {
        fprintf(stderr, "bpecg-etl preview: %s\n", err.data);
        goto out;
    }

    status = EXIT_RUN_ERROR;
    rc = read_location(file, (size_t)cfg.max_pdf_bytes, &pdf, &err);
    if (rc) {
        fprintf(stderr, "bpecg-etl preview: %s\n", err.data);
        goto out;
    }
    struct pdf_limits lim = {0};
    lim.timeout_ms = cfg.pdf_timeout_ms;
    lim.max_memory = (size_t)cfg.pdf_max_memory_mb << 20;
    lim.max_region_pixels = 200 * 1000 * 1000;
    lim.raw_messages = cfg.debug_payloads > 0;
    rc = pdf_engine_new(&lim, &engine);
    if (!rc)
        rc = pdf_worker_new(engine, &worker);
    if (!rc)
        rc = pdf_doc_open(worker, pdf.data, pdf.len, &doc);
    int page = 0;
    if (!rc)
        rc = etl_crop_page(doc, &cfg, &page);
    if (!rc && page >= pdf_doc_page_count(doc)) {
        fprintf(stderr,
                "bpecg-etl preview: %s: page %d does not exist (the "
                "PDF has %d)\n",
                file, page + 1, pdf_doc_page_count(doc));
        goto out;
    }
    struct pdf_irect px = {0, 0, 0, 0};
    if (!rc)
        rc = pdf_doc_page_pixels(doc, page, cfg.image_dpi, &px);
    if (rc) {
        fprintf(stderr, "bpecg-etl preview: %s: %s\n", file, etl_strerror(rc));
        goto out;
    }

    /* One mark per redaction area and per region; labels live until the
     * preview is drawn. */
    struct pdf_mark marks[2 * CROP_MAX_REGIONS];
    char labels[2 * CROP_MAX_REGIONS][CROP_NAME_MAX + 96];
    size_t nmarks = 0;
    struct pdf_irect rboxes[CROP_MAX_REGIONS];
    size_t nr = crops_redact_boxes(&redact, cfg.image_dpi, &px, rboxes);
    for (size_t i = 0; i < nr; i++) {
        snprintf(labels[nmarks], sizeof(labels[0]), "redacted");
        marks[nmarks] =
            (struct pdf_mark){rboxes[i], labels[nmarks], COLOUR_REDACT};
        nmarks++;
    }
    const char *unit = crops.unit == CROP_UNIT_PX ? "px" : "pt";
    printf("%s: page %d of %s at %d dpi: %d x %d px, drawn at +%d,+%d in "
           "the image\n",
           out, page + 1, file, cfg.image_dpi, px.x1 - px.x0, px.y1 - px.y0,
           PDF_PREVIEW_MARGIN, PDF_PREVIEW_MARGIN);
    const struct pdf_irect everything = {INT_MIN / 2, INT_MIN / 2, INT_MAX / 2,
                                         INT_MAX / 2};
    for (size_t i = 0; i < crops.n; i++) {
        const struct crop_region *r = &crops.regions[i];
        struct pdf_irect full, got;
        crops_box(&crops, i, cfg.image_dpi, &everything, &full);
        enum crop_fit fit = crops_box(&crops, i, cfg.image_dpi, &px, &got);
        char w[24], h[24];
        size_text(r->x1 - r->x0, w, sizeof(w));
        size_text(r->y1 - r->y0, h, sizeof(h));
        snprintf(labels[nmarks], sizeof(labels[0]), "%s %sx%s %s%s", r->name, w,
                 h, unit,
                 fit == CROP_CLIPPED   ? " (clipped)"
                 : fit == CROP_OUTSIDE ? " (outside)"
                                       : "");
        marks[nmarks] =
            (struct pdf_mark){full, labels[nmarks],
                              fit == CROP_INSIDE    ? COLOUR_INSIDE
                              : fit == CROP_CLIPPED ? COLOUR_CLIPPED
                                                    : COLOUR_OUTSIDE};
        nmarks++;
        printf("  %-16s %s (%g,%g)-(%g,%g)  px (%d,%d)-(%d,%d)  %dx%d px  "
               "%s",
               r->name, unit, r->x0, r->y0, r->x1, r->y1, full.x0, full.y0,
               full.x1, full.y1, full.x1 - full.x0, full.y1 - full.y0,
               fit_name(fit));
        if (fit == CROP_CLIPPED)
            printf(" to (%d,%d)-(%d,%d)", got.x0, got.y0, got.x1, got.y1);
        putchar('\n');
    }
    rc = pdf_doc_preview(doc, page, cfg.image_dpi, rboxes, nr, marks, nmarks,
                         &png);
    if (rc) {
        fprintf(stderr, "bpecg-etl preview: %s: %s\n", file, etl_strerror(rc));
        goto out;
    }
    buf_reset(&err);
    if (file_write_atomic(out, png.data, png.len, &err)) {
        fprintf(stderr, "bpecg-etl preview: %s\n", err.data);
        goto out;
    }
    status = EXIT_OK;
out:
    cfg_args_release(&args);
    pdf_doc_free(doc);
    pdf_worker_free(worker);
    pdf_engine_free(engine);
    cfg_release(&cfg);
    buf_release(&err);
    buf_release(&pdf);
    buf_release(&png);
    return status;
}
