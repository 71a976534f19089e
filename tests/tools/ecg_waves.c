/* ecg_waves: what waveform extraction sees and finds on each page of a PDF,
 * for developing and checking the extractor by hand.
 *
 *   ecg_waves [--paths] [--texts] [--samples LEAD] [--fuzz-seed OUT] FILE
 *
 * Per page: the counts pdf_doc_vectors() collected, then one line per
 * lead wave_extract() returned. --paths lists every stroked or filled
 * subpath of 8 or more points (bbox, points, width, colour), --texts every
 * text run with its position, --samples LEAD prints that lead's samples
 * (one per line, "t mV") on stderr, --fuzz-seed writes the pages'
 * vectors as an input of tests/fuzz/fuzz_waves.c (the grid thinned out). Prints
 * values: a developer's tool for test files, never for patient data. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "ecg/waveform.h"
#include "pdf/pdf.h"

static int read_file(const char *path, struct buf *out)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "ecg_waves: %s: %s\n", path, strerror(errno));
        return -1;
    }
    char chunk[65536];
    size_t n;
    int rc = 0;
    while (!rc && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        rc = buf_add(out, chunk, n);
    fclose(f);
    return rc;
}

static void dump_paths(const struct pdf_vectors *v)
{
    for (size_t i = 0; i < v->npaths; i++) {
        const struct pdf_vpath *p = &v->paths[i];
        if (p->n < 2)
            continue;
        const struct pdf_vpoint *q = v->points + p->first;
        float x0 = q[0].x, x1 = q[0].x, y0 = q[0].y, y1 = q[0].y;
        for (size_t k = 1; k < p->n; k++) {
            x0 = q[k].x < x0 ? q[k].x : x0;
            x1 = q[k].x > x1 ? q[k].x : x1;
            y0 = q[k].y < y0 ? q[k].y : y0;
            y1 = q[k].y > y1 ? q[k].y : y1;
        }
        printf("  path %zu n=%zu bbox=%.2f,%.2f-%.2f,%.2f w=%.3f rgb=%06x%s "
               "first=%.2f,%.2f last=%.2f,%.2f\n",
               i, p->n, x0, y0, x1, y1, p->width, p->rgb,
               p->filled ? " filled" : "", q[0].x, q[0].y, q[p->n - 1].x,
               q[p->n - 1].y);
    }
}

static void put16(FILE *f, int v)
{
    v = v < -32768 ? -32768 : v > 32767 ? 32767 : v;
    fputc(v & 0xff, f);
    fputc((v >> 8) & 0xff, f);
}

static void put_pt(FILE *f, float v)
{
    put16(f, (int)lroundf(v * 16));
}

/* One page in fuzz_waves' input format. */
static void write_seed(FILE *f, const struct pdf_vectors *v)
{
    fputc('N', f);
    put16(f, (int)v->page_w);
    put16(f, (int)v->page_h);
    /* Small seeds fuzz faster: some of the grid's lines and dots, the
     * traces and pulses whole, in drawing order. */
    size_t budget = 12000, lines = 1200, small = 400;
    for (size_t i = 0; i < v->npaths && budget; i++) {
        const struct pdf_vpath *p = &v->paths[i];
        if (p->n <= 2 ? !lines-- : p->n <= 5 && p->filled ? !small-- : false)
            continue;
        size_t n = p->n < budget ? p->n : budget;
        budget -= n;
        fputc('P', f);
        fputc((p->filled ? 1 : 0) | (p->closed ? 2 : 0), f);
        fputc(p->rgb == 0 ? 0 : (p->rgb & 0xff) > 0xc0 ? 2 : 1, f);
        put16(f, (int)n);
        for (size_t k = 0; k < n; k++) {
            put_pt(f, v->points[p->first + k].x);
            put_pt(f, v->points[p->first + k].y);
        }
    }
    for (size_t i = 0; i < v->ntexts; i++) {
        const struct pdf_vtext *t = &v->texts[i];
        size_t len = t->len < 255 ? t->len : 255;
        fputc('T', f);
        fputc((int)t->dir, f);
        put_pt(f, t->x);
        put_pt(f, t->y);
        put_pt(f, t->x1);
        put_pt(f, t->y1);
        fputc((int)lroundf(t->size * 4) & 0xff, f);
        fputc((int)len, f);
        fwrite(v->text + t->off, 1, len, f);
    }
    if (v->nimages) {
        fputc('I', f);
        put16(f,
              (int)(v->image_area / 64 > 65535 ? 65535 : v->image_area / 64));
    }
}

static void dump_texts(const struct pdf_vectors *v)
{
    for (size_t i = 0; i < v->ntexts; i++) {
        const struct pdf_vtext *t = &v->texts[i];
        printf("  text %.2f,%.2f-%.2f size=%.2f \"%.*s\"\n", t->x, t->y, t->x1,
               t->size, (int)t->len, v->text + t->off);
    }
}

int main(int argc, char **argv)
{
    bool paths = false, texts = false;
    const char *want = NULL, *seed = NULL;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--paths"))
            paths = true;
        else if (!strcmp(argv[i], "--texts"))
            texts = true;
        else if (!strcmp(argv[i], "--samples") && i + 1 < argc)
            want = argv[++i];
        else if (!strcmp(argv[i], "--fuzz-seed") && i + 1 < argc)
            seed = argv[++i];
        else
            break;
    }
    if (i + 1 != argc) {
        fprintf(stderr, "usage: ecg_waves [--paths] [--texts] "
                        "[--samples LEAD] [--fuzz-seed OUT] FILE\n");
        return 2;
    }
    struct buf data = BUF_INIT;
    if (read_file(argv[i], &data))
        return 2;
    struct pdf_engine *e = NULL;
    struct pdf_worker *w = NULL;
    struct pdf_doc *d = NULL;
    struct pdf_vectors *v = NULL;
    struct pdf_limits lim = {0};
    int rc = pdf_engine_new(&lim, &e);
    if (!rc)
        rc = pdf_worker_new(e, &w);
    if (!rc)
        rc = pdf_doc_open(w, data.data, data.len, &d);
    if (!rc)
        rc = pdf_vectors_new(&v);
    if (rc) {
        printf("error %s\n", etl_errname(rc));
        return 1;
    }
    struct wave_settings ws = {25, 10, 500};
    struct wave_doc *wd = NULL;
    if (wave_doc_new(&ws, &wd))
        return 1;
    FILE *seed_file = seed ? fopen(seed, "wb") : NULL;
    if (seed && !seed_file) {
        fprintf(stderr, "ecg_waves: %s: %s\n", seed, strerror(errno));
        return 2;
    }
    for (int page = 0; page < pdf_doc_page_count(d); page++) {
        rc = pdf_doc_vectors(d, page, v);
        if (rc) {
            printf("page %d: error %s\n", page + 1, etl_errname(rc));
            continue;
        }
        printf("page %d: %.1fx%.1f pt, %zu paths, %zu points, %zu texts, "
               "%zu images (%.0f pt2)\n",
               page + 1, v->page_w, v->page_h, v->npaths, v->npoints, v->ntexts,
               v->nimages, v->image_area);
        if (paths)
            dump_paths(v);
        if (texts)
            dump_texts(v);
        if (seed_file)
            write_seed(seed_file, v);
        struct wave_page_info info;
        rc = wave_doc_add_page(wd, page, v, &info);
        if (rc) {
            printf("  wave_doc_add_page: %s\n", etl_errname(rc));
            continue;
        }
        printf("  status %s, %zu strips\n", wave_status_name(info.status),
               info.nstrips);
        for (size_t k = 0; k < info.nstrips; k++)
            printf("  strip lead %zu box %.1f,%.1f-%.1f,%.1f\n",
                   info.strips[k].lead, info.strips[k].box.x0,
                   info.strips[k].box.y0, info.strips[k].box.x1,
                   info.strips[k].box.y1);
    }
    if (seed_file)
        fclose(seed_file);
    struct wave_result r = {0};
    rc = wave_doc_finish(wd, &r);
    wave_doc_free(wd);
    printf("document: %s, %zu leads\n", wave_status_name(r.status), r.n);
    for (size_t k = 0; k < r.n; k++) {
        const struct wave_lead *l = &r.leads[k];
        const char *q[8];
        size_t nq = wave_quality_names(l->quality, q, 8);
        printf("  lead %-4s%s page %d+%d %s start=%.3f n=%zu (%.3f s) "
               "cal=%s %.2f mm/mV speed=%s %.1f mm/s",
               l->name, l->rhythm ? " rhythm" : "", l->page + 1, l->pages,
               l->layout, l->start_s, l->n, (double)l->n / l->sample_rate_hz,
               wave_calibration_name(l->calibration), l->mm_per_mv,
               wave_speed_source_name(l->speed_source), l->paper_speed_mm_s);
        for (size_t j = 0; j < nq; j++)
            printf(" %s", q[j]);
        printf("\n");
        if (want && !strcmp(want, l->name))
            for (size_t s = 0; s < l->n; s++)
                fprintf(stderr, "%.6f %.6f\n",
                        l->start_s + (double)s / l->sample_rate_hz,
                        l->samples[s]);
    }
    wave_result_release(&r);
    pdf_vectors_free(v);
    pdf_doc_free(d);
    pdf_worker_free(w);
    pdf_engine_free(e);
    buf_release(&data);
    return 0;
}
