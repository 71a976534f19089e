/* pdf_probe: a small CLI over src/pdf (and src/img) for integration tests.
 *
 *   pdf_probe [LIMITS] info FILE
 *       "pages N" and "repaired 0|1" lines
 *   pdf_probe [LIMITS] text FILE PAGE
 *       the page's text, byte for byte, on stdout (PAGE is 1-based)
 *   pdf_probe [LIMITS] layout FILE PAGE
 *       the page's layout (pdf_doc_text_layout), one span a line:
 *       "x0 y0 x1 y1 bx by size dx dy line|TEXT", then "text-same 1" when
 *       the text it returned is byte for byte pdf_doc_text()'s
 *   pdf_probe [LIMITS] pixels FILE PAGE DPI
 *       "x0 y0 x1 y1" of a full render of the page at DPI
 *   pdf_probe [LIMITS] crop FILE PAGE DPI X0 Y0 X1 Y1 clip|page QUALITY OUT
 *       render the pixel box and write it as a JPEG to OUT (QUALITY
 *       "ppm": the raw pixels as a binary PPM instead)
 *   pdf_probe [LIMITS] diff FILE PAGE DPI X0 Y0 X1 Y1
 *       render the box in both modes: "bytes N differ D max M"
 *   pdf_probe [LIMITS] run FILE...
 *       per file what the pipeline does (open, text of page 1, the seed's
 *       region of page 2 in clip mode) and a full render of page 1 in page
 *       mode: "NAME open=E text=E render=E render1=E repaired=0|1 ms=T",
 *       E an error name or "ok" ("-" when not tried)
 *
 * LIMITS: --timeout-ms N --max-memory N --max-pages N --max-region-pixels N
 *         --max-store N
 * Exit status: 0 ok, 1 a PDF error (its name on stdout as "error NAME"),
 * 2 usage or I/O problems. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "img/img.h"
#include "pdf/pdf.h"

static int usage(void)
{
    fprintf(stderr, "usage: pdf_probe [--timeout-ms N] [--max-memory N] "
                    "[--max-pages N] [--max-region-pixels N] [--max-store N] "
                    "info|text|pixels|crop|diff|run ARGS...\n");
    return 2;
}

static int parse_ll(const char *s, long long min, long long max, long long *out)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max) {
        fprintf(stderr, "pdf_probe: bad number '%s'\n", s);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_int(const char *s, int min, int max, int *out)
{
    long long v;
    if (parse_ll(s, min, max, &v))
        return -1;
    *out = (int)v;
    return 0;
}

static int read_file(const char *path, struct buf *out)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "pdf_probe: %s: %s\n", path, strerror(errno));
        return -1;
    }
    char chunk[65536];
    size_t n;
    int rc = 0;
    while (!rc && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        rc = buf_add(out, chunk, n);
    if (ferror(f))
        rc = -1;
    fclose(f);
    return rc;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int pdf_error(int rc)
{
    printf("error %s\n", etl_errname(rc));
    return 1;
}

/* ------------------------------------------------------------------ */

struct crop_out {
    struct img_jpeg *jpeg;
    int quality;
    struct buf jpg;
};

static int encode_cb(void *arg, size_t index, const unsigned char *rgb, int w,
                     int h, ptrdiff_t stride)
{
    struct crop_out *c = arg;
    (void)index;
    return img_jpeg_encode(c->jpeg, rgb, w, h, stride, c->quality, &c->jpg);
}

static int ppm_cb(void *arg, size_t index, const unsigned char *rgb, int w,
                  int h, ptrdiff_t stride)
{
    struct crop_out *c = arg;
    (void)index;
    int rc = buf_printf(&c->jpg, "P6\n%d %d\n255\n", w, h);
    for (int y = 0; !rc && y < h; y++)
        rc = buf_add(&c->jpg, rgb + y * stride, (size_t)w * 3);
    return rc;
}

/* Keep a packed copy of the pixels of one box. */
struct copy_out {
    unsigned char *px;
    int w, h;
};

static int copy_cb(void *arg, size_t index, const unsigned char *rgb, int w,
                   int h, ptrdiff_t stride)
{
    struct copy_out *c = arg;
    (void)index;
    c->px = malloc((size_t)w * h * 3);
    if (!c->px)
        return ETL_ENOMEM;
    for (int y = 0; y < h; y++)
        memcpy(c->px + (size_t)y * w * 3, rgb + y * stride, (size_t)w * 3);
    c->w = w;
    c->h = h;
    return 0;
}

static int count_cb(void *arg, size_t index, const unsigned char *rgb, int w,
                    int h, ptrdiff_t stride)
{
    (void)index;
    (void)rgb;
    (void)stride;
    *(long long *)arg += (long long)w * h;
    return 0;
}

static int parse_box(char **argv, struct pdf_irect *b)
{
    if (parse_int(argv[0], -1000000, 1000000, &b->x0) ||
        parse_int(argv[1], -1000000, 1000000, &b->y0) ||
        parse_int(argv[2], -1000000, 1000000, &b->x1) ||
        parse_int(argv[3], -1000000, 1000000, &b->y1))
        return -1;
    return 0;
}

/* One file the way the pipeline treats it; prints one line. */
static void run_one(struct pdf_worker *w, const char *path)
{
    struct buf data = BUF_INIT, text = BUF_INIT;
    const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    int open_rc = 0, text_rc = ETL_EPDF_NOPAGE, render_rc = ETL_EPDF_NOPAGE;
    int full_rc = ETL_EPDF_NOPAGE;
    struct pdf_doc *d = NULL;
    double t0 = now_ms();
    if (read_file(path, &data)) {
        printf("%s io-error\n", name);
        return;
    }
    open_rc = pdf_doc_open(w, data.data, data.len, &d);
    if (!open_rc) {
        if (pdf_doc_page_count(d) >= 1)
            text_rc = pdf_doc_text(d, 0, &text);
        if (pdf_doc_page_count(d) >= 2) {
            struct pdf_irect page, box = {100, 100, 300, 300};
            render_rc = pdf_doc_page_pixels(d, 1, 100, &page);
            if (!render_rc) {
                /* The seed's region, clipped to the page. */
                box.x0 = box.x0 > page.x0 ? box.x0 : page.x0;
                box.y0 = box.y0 > page.y0 ? box.y0 : page.y0;
                box.x1 = box.x1 < page.x1 ? box.x1 : page.x1;
                box.y1 = box.y1 < page.y1 ? box.y1 : page.y1;
                long long px = 0;
                if (box.x0 < box.x1 && box.y0 < box.y1)
                    render_rc = pdf_doc_render(d, 1, 100, &box, 1,
                                               PDF_RENDER_CLIP, count_cb, &px);
            }
        }
        if (pdf_doc_page_count(d) >= 1) {
            struct pdf_irect page;
            long long px = 0;
            full_rc = pdf_doc_page_pixels(d, 0, 100, &page);
            if (!full_rc && page.x0 < page.x1 && page.y0 < page.y1)
                full_rc = pdf_doc_render(d, 0, 100, &page, 1, PDF_RENDER_PAGE,
                                         count_cb, &px);
        }
    }
    printf("%s open=%s text=%s render=%s render1=%s repaired=%d ms=%.0f\n",
           name, open_rc ? etl_errname(open_rc) : "ok",
           open_rc ? "-" : (text_rc ? etl_errname(text_rc) : "ok"),
           open_rc ? "-" : (render_rc ? etl_errname(render_rc) : "ok"),
           open_rc ? "-" : (full_rc ? etl_errname(full_rc) : "ok"),
           d ? pdf_doc_repaired(d) : 0, now_ms() - t0);
    fflush(stdout);
    pdf_doc_free(d);
    buf_release(&text);
    buf_release(&data);
}

int main(int argc, char **argv)
{
    struct pdf_limits lim = {0};
    struct pdf_engine *e = NULL;
    struct pdf_worker *w = NULL;
    struct pdf_doc *d = NULL;
    struct buf data = BUF_INIT, out = BUF_INIT;
    struct img_jpeg *jpeg = NULL;
    int i = 1, status = 2, rc;
    const char *level = getenv("LOG_LEVEL");
    enum log_level ll = LOG_WARN;
    if (level && log_level_parse(level, &ll))
        ll = LOG_WARN;
    log_init(ll, LOG_FORMAT_JSON, 2);

    for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
        long long v;
        if (parse_ll(argv[i + 1], 0, (long long)1 << 50, &v))
            return usage();
        if (!strcmp(argv[i], "--timeout-ms"))
            lim.timeout_ms = (long)v;
        else if (!strcmp(argv[i], "--max-memory"))
            lim.max_memory = (size_t)v;
        else if (!strcmp(argv[i], "--max-pages"))
            lim.max_pages = (int)v;
        else if (!strcmp(argv[i], "--max-region-pixels"))
            lim.max_region_pixels = v;
        else if (!strcmp(argv[i], "--max-store"))
            lim.max_store_bytes = (size_t)v;
        else
            return usage();
    }
    if (i + 1 >= argc)
        return usage();
    const char *cmd = argv[i], *file = argv[i + 1];
    char **rest = argv + i + 2;
    int nrest = argc - i - 2;

    rc = pdf_engine_new(&lim, &e);
    if (!rc)
        rc = pdf_worker_new(e, &w);
    if (rc) {
        fprintf(stderr, "pdf_probe: engine: %s\n", etl_strerror(rc));
        goto out;
    }

    if (!strcmp(cmd, "run")) {
        for (int k = i + 1; k < argc; k++)
            run_one(w, argv[k]);
        status = 0;
        goto out;
    }

    if (read_file(file, &data))
        goto out;
    rc = pdf_doc_open(w, data.data, data.len, &d);
    if (rc) {
        status = pdf_error(rc);
        goto out;
    }

    if (!strcmp(cmd, "info") && nrest == 0) {
        printf("pages %d\n", pdf_doc_page_count(d));
        /* Repair can be lazy: look at every page first. */
        for (int p = 0; p < pdf_doc_page_count(d); p++) {
            struct pdf_irect r;
            pdf_doc_page_pixels(d, p, 72, &r);
        }
        printf("repaired %d\n", pdf_doc_repaired(d));
        status = 0;
    } else if (!strcmp(cmd, "text") && nrest == 1) {
        int page;
        if (parse_int(rest[0], 1, 1 << 30, &page))
            goto out;
        rc = pdf_doc_text(d, page - 1, &out);
        if (rc) {
            status = pdf_error(rc);
            goto out;
        }
        status = fwrite(out.data, 1, out.len, stdout) == out.len ? 0 : 2;
    } else if (!strcmp(cmd, "layout") && nrest == 1) {
        int page;
        struct pdf_layout *l = NULL;
        struct buf text2 = BUF_INIT;
        if (parse_int(rest[0], 1, 1 << 30, &page))
            goto out;
        rc = pdf_layout_new(&l);
        if (!rc)
            rc = pdf_doc_text_layout(d, page - 1, &out, l);
        if (!rc)
            rc = pdf_doc_text(d, page - 1, &text2);
        if (rc) {
            pdf_layout_free(l);
            buf_release(&text2);
            status = pdf_error(rc);
            goto out;
        }
        for (size_t k = 0; k < l->nspans; k++) {
            const struct pdf_span *sp = &l->spans[k];
            printf("%.2f %.2f %.2f %.2f %.2f %.2f %.2f %.2f %.2f %u|%s\n",
                   sp->x0, sp->y0, sp->x1, sp->y1, sp->bx, sp->by, sp->size,
                   sp->dx, sp->dy, sp->line, l->text + sp->off);
        }
        printf("text-same %d\n",
               text2.len == out.len && !memcmp(text2.data, out.data, out.len));
        if (l->truncated)
            printf("truncated\n");
        pdf_layout_free(l);
        buf_release(&text2);
        status = 0;
    } else if (!strcmp(cmd, "pixels") && nrest == 2) {
        int page, dpi;
        struct pdf_irect r;
        if (parse_int(rest[0], 1, 1 << 30, &page) ||
            parse_int(rest[1], 1, 10000, &dpi))
            goto out;
        rc = pdf_doc_page_pixels(d, page - 1, dpi, &r);
        if (rc) {
            status = pdf_error(rc);
            goto out;
        }
        printf("%d %d %d %d\n", r.x0, r.y0, r.x1, r.y1);
        status = 0;
    } else if (!strcmp(cmd, "crop") && nrest == 9) {
        int page, dpi, quality = 0;
        struct pdf_irect box;
        enum pdf_render_mode mode;
        bool ppm = !strcmp(rest[7], "ppm");
        if (parse_int(rest[0], 1, 1 << 30, &page) ||
            parse_int(rest[1], 1, 10000, &dpi) || parse_box(rest + 2, &box) ||
            (!ppm && parse_int(rest[7], 1, 100, &quality)))
            goto out;
        if (!strcmp(rest[6], "clip"))
            mode = PDF_RENDER_CLIP;
        else if (!strcmp(rest[6], "page"))
            mode = PDF_RENDER_PAGE;
        else {
            status = usage();
            goto out;
        }
        rc = img_jpeg_new(&jpeg);
        if (rc) {
            status = pdf_error(rc);
            goto out;
        }
        struct crop_out c = {jpeg, quality, BUF_INIT};
        rc = pdf_doc_render(d, page - 1, dpi, &box, 1, mode,
                            ppm ? ppm_cb : encode_cb, &c);
        if (rc) {
            buf_release(&c.jpg);
            status = pdf_error(rc);
            goto out;
        }
        FILE *f = fopen(rest[8], "wb");
        if (f && fwrite(c.jpg.data, 1, c.jpg.len, f) == c.jpg.len &&
            fclose(f) == 0)
            status = 0;
        else
            fprintf(stderr, "pdf_probe: cannot write %s\n", rest[8]);
        buf_release(&c.jpg);
    } else if (!strcmp(cmd, "diff") && nrest == 6) {
        int page, dpi;
        struct pdf_irect box;
        if (parse_int(rest[0], 1, 1 << 30, &page) ||
            parse_int(rest[1], 1, 10000, &dpi) || parse_box(rest + 2, &box))
            goto out;
        struct copy_out a = {0}, b = {0};
        rc = pdf_doc_render(d, page - 1, dpi, &box, 1, PDF_RENDER_PAGE, copy_cb,
                            &a);
        if (!rc)
            rc = pdf_doc_render(d, page - 1, dpi, &box, 1, PDF_RENDER_CLIP,
                                copy_cb, &b);
        if (rc) {
            free(a.px);
            free(b.px);
            status = pdf_error(rc);
            goto out;
        }
        size_t n = (size_t)a.w * a.h * 3, differ = 0;
        int max = 0;
        for (size_t k = 0; k < n; k++) {
            int delta = abs((int)a.px[k] - (int)b.px[k]);
            differ += delta != 0;
            max = delta > max ? delta : max;
        }
        printf("bytes %zu differ %zu max %d\n", n, differ, max);
        free(a.px);
        free(b.px);
        status = (a.w == b.w && a.h == b.h) ? 0 : 2;
    } else {
        status = usage();
    }

out:
    img_jpeg_free(jpeg);
    pdf_doc_free(d);
    pdf_worker_free(w);
    pdf_engine_free(e);
    buf_release(&data);
    buf_release(&out);
    return status;
}
