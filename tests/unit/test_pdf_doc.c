/* Unit tests for src/pdf (engine, documents, text, rendering, limits) on
 * small PDFs written here byte by byte. */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/err.h"
#include "harness.h"
#include "pdf/pdf.h"
#include "samples/samples.h"

/* ------------------------------------------------------------------ */
/* A minimal PDF writer: objects 1..n with a correct xref table. */

#define MAX_OBJS 16

struct pdf_src {
    struct buf body[MAX_OBJS];
    int n;
};

static void src_obj(struct pdf_src *s, const char *text)
{
    buf_init(&s->body[s->n], 0);
    buf_addstr(&s->body[s->n++], text);
}

static void src_stream(struct pdf_src *s, const char *dict_extra,
                       const char *data, size_t len)
{
    struct buf *b = &s->body[s->n++];
    buf_init(b, 0);
    buf_printf(b, "<< /Length %zu %s>>\nstream\n", len, dict_extra);
    buf_add(b, data, len);
    buf_addstr(b, "\nendstream");
}

static void src_write(struct pdf_src *s, struct buf *out)
{
    size_t off[MAX_OBJS];
    buf_addstr(out, "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n");
    for (int i = 0; i < s->n; i++) {
        off[i] = out->len;
        buf_printf(out, "%d 0 obj\n", i + 1);
        buf_add(out, s->body[i].data, s->body[i].len);
        buf_addstr(out, "\nendobj\n");
        buf_release(&s->body[i]);
    }
    size_t xref = out->len;
    buf_printf(out, "xref\n0 %d\n0000000000 65535 f \n", s->n + 1);
    for (int i = 0; i < s->n; i++)
        buf_printf(out, "%010zu 00000 n \n", off[i]);
    buf_printf(out,
               "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%zu\n%%%%EOF\n",
               s->n + 1, xref);
}

/* Page 1 (200 x 100 pt): two lines of Helvetica text, one with Latin-1
 * letters. Page 2 (144 x 72 pt): a black square from (36,18) to (72,54)
 * in page space (origin top-left), i.e. whole pixels at 72 dpi. */
static void make_report(struct buf *out)
{
    struct pdf_src s = {0};
    static const char text[] = "BT /F1 12 Tf 10 60 Td (Hello ECG) Tj "
                               "0 -20 Td (Jos\351 M\374ller) Tj ET";
    static const char square[] = "0 0 0 rg 36 18 36 36 re f";
    src_obj(&s, "<< /Type /Catalog /Pages 2 0 R >>");
    src_obj(&s, "<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >>");
    src_obj(&s, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] "
                "/Contents 5 0 R /Resources << /Font << /F1 7 0 R >> >> >>");
    src_obj(&s, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 144 72] "
                "/Contents 6 0 R >>");
    src_stream(&s, "", text, sizeof(text) - 1);
    src_stream(&s, "", square, sizeof(square) - 1);
    src_obj(&s, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica "
                "/Encoding /WinAnsiEncoding >>");
    src_write(&s, out);
}

/* One page of size w x h pt whose content is n tiny filled squares: slow
 * to interpret, for the time budget. */
static void make_heavy(struct buf *out, int w, int h, int n)
{
    struct pdf_src s = {0};
    struct buf content = BUF_INIT, page = BUF_INIT;
    for (int i = 0; i < n; i++)
        buf_printf(&content, "%d %d 1 1 re f\n", i % w, (i / w) % h);
    buf_printf(&page,
               "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] "
               "/Contents 4 0 R >>",
               w, h);
    src_obj(&s, "<< /Type /Catalog /Pages 2 0 R >>");
    src_obj(&s, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>");
    src_obj(&s, page.data);
    src_stream(&s, "", content.data, content.len);
    src_write(&s, out);
    buf_release(&content);
    buf_release(&page);
}

/* ------------------------------------------------------------------ */

static struct pdf_engine *engine(const struct pdf_limits *lim)
{
    struct pdf_engine *e = NULL;
    int rc = pdf_engine_new(lim, &e);
    CHECK_EQ_INT(rc, 0);
    return e;
}

static struct pdf_worker *worker(struct pdf_engine *e)
{
    struct pdf_worker *w = NULL;
    int rc = pdf_worker_new(e, &w);
    CHECK_EQ_INT(rc, 0);
    return w;
}

/* A copy of the pixels handed to the callback, and how they came. */
struct shot {
    int calls;
    size_t index[4];
    int w, h;
    ptrdiff_t stride;
    unsigned char px[300 * 300 * 3];
    int stop_at; /* return ETL_ECANCELED at this call (1-based); 0 = never */
};

static int shot_cb(void *arg, size_t index, const unsigned char *rgb, int w,
                   int h, ptrdiff_t stride)
{
    struct shot *s = arg;
    if (s->calls < 4)
        s->index[s->calls] = index;
    s->calls++;
    s->w = w;
    s->h = h;
    s->stride = stride;
    if ((size_t)w * h * 3 <= sizeof(s->px)) {
        for (int y = 0; y < h; y++)
            memcpy(s->px + (size_t)y * w * 3, rgb + y * stride, (size_t)w * 3);
    }
    return s->calls == s->stop_at ? ETL_ECANCELED : 0;
}

static const unsigned char *px_at(const struct shot *s, int x, int y)
{
    return s->px + ((size_t)y * s->w + x) * 3;
}

static bool is_rgb(const unsigned char *p, int r, int g, int b)
{
    return p[0] == r && p[1] == g && p[2] == b;
}

/* ------------------------------------------------------------------ */

TEST(version)
{
    CHECK(strncmp(pdf_engine_version(), "MuPDF 1.21", 10) == 0);
}

TEST(open_errors)
{
    struct pdf_engine *e = engine(NULL);
    struct pdf_worker *w = worker(e);
    struct pdf_doc *d = (struct pdf_doc *)1;
    static const char xml[] = "<?xml version=\"1.0\"?><Error><Code>NoSuchKey"
                              "</Code></Error>";
    static const char broken[] = "%PDF-1.7\nthis is not a PDF body at all\n";

    CHECK_EQ_INT(pdf_doc_open(w, "", 0, &d), ETL_EPDF_EMPTY);
    CHECK(d == NULL);
    CHECK_EQ_INT(pdf_doc_open(w, xml, sizeof(xml) - 1, &d), ETL_EPDF_NOTPDF);
    CHECK_EQ_INT(pdf_doc_open(w, broken, sizeof(broken) - 1, &d),
                 ETL_EPDF_DAMAGED);
    CHECK(d == NULL);
    pdf_worker_free(w);
    pdf_engine_free(e);
}

TEST(open_good_and_truncated)
{
    struct pdf_engine *e = engine(NULL);
    struct pdf_worker *w = worker(e);
    struct buf pdf = BUF_INIT, text = BUF_INIT;
    struct pdf_doc *d = NULL;
    make_report(&pdf);

    CHECK_EQ_INT(pdf_doc_open(w, pdf.data, pdf.len, &d), 0);
    CHECK_EQ_INT(pdf_doc_page_count(d), 2);
    CHECK_EQ_INT(pdf_doc_text(d, 0, &text), 0);
    CHECK(!pdf_doc_repaired(d));
    pdf_doc_free(d);

    /* Without its xref table MuPDF rebuilds it and says so. */
    char *xref = strstr(pdf.data, "xref\n");
    CHECK(xref != NULL);
    size_t cut = (size_t)(xref - pdf.data);
    d = NULL;
    CHECK_EQ_INT(pdf_doc_open(w, pdf.data, cut, &d), 0);
    CHECK_EQ_INT(pdf_doc_page_count(d), 2);
    buf_reset(&text);
    CHECK_EQ_INT(pdf_doc_text(d, 0, &text), 0);
    CHECK(strstr(text.data, "Hello ECG") != NULL);
    CHECK(pdf_doc_repaired(d));
    pdf_doc_free(d);

    buf_release(&text);
    buf_release(&pdf);
    pdf_worker_free(w);
    pdf_engine_free(e);
}

TEST(text)
{
    struct pdf_engine *e = engine(NULL);
    struct pdf_worker *w = worker(e);
    struct buf pdf = BUF_INIT, text = BUF_INIT;
    struct pdf_doc *d = NULL;
    make_report(&pdf);
    CHECK_EQ_INT(pdf_doc_open(w, pdf.data, pdf.len, &d), 0);

    /* One line per text line, UTF-8, each ended by a newline. */
    CHECK_EQ_INT(pdf_doc_text(d, 0, &text), 0);
    CHECK_EQ_STR(text.data, "Hello ECG\nJos\xc3\xa9 M\xc3\xbcller\n");

    /* Appends; an empty page gives no text. */
    buf_reset(&text);
    buf_addstr(&text, "page2:");
    CHECK_EQ_INT(pdf_doc_text(d, 1, &text), 0);
    CHECK_EQ_STR(text.data, "page2:");

    CHECK_EQ_INT(pdf_doc_text(d, 2, &text), ETL_EPDF_NOPAGE);
    CHECK_EQ_INT(pdf_doc_text(d, -1, &text), ETL_EPDF_NOPAGE);
    pdf_doc_free(d);
    buf_release(&text);
    buf_release(&pdf);
    pdf_worker_free(w);
    pdf_engine_free(e);
}

/* A page laid out like a measurement table, and the same page turned by
 * /Rotate 90: cells of one line are separate spans, blanks inside a span
 * collapse, and the text that comes with the layout is pdf_doc_text()'s. */
static void make_table(struct buf *out, int rotate)
{
    struct pdf_src s = {0};
    static const char text[] =
        "BT /F1 10 Tf 10 80 Td (PR interval) Tj 100 0 Td (160) Tj ET "
        "BT /F1 10 Tf 10 60 Td (QT/QTc   380/410 ms) Tj ET "
        "BT /F1 8 Tf 10 40 Td (Hello  ECG) Tj ET";
    char page[256];
    snprintf(page, sizeof(page),
             "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] "
             "/Rotate %d /Contents 4 0 R /Resources << /Font << /F1 5 0 R "
             ">> >> >>",
             rotate);
    src_obj(&s, "<< /Type /Catalog /Pages 2 0 R >>");
    src_obj(&s, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>");
    src_obj(&s, page);
    src_stream(&s, "", text, sizeof(text) - 1);
    src_obj(&s, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica "
                "/Encoding /WinAnsiEncoding >>");
    src_write(&s, out);
}

static const struct pdf_span *span_named(const struct pdf_layout *l,
                                         const char *text)
{
    for (size_t i = 0; i < l->nspans; i++)
        if (strcmp(l->text + l->spans[i].off, text) == 0)
            return &l->spans[i];
    return NULL;
}

TEST(text_layout)
{
    struct pdf_engine *e = engine(NULL);
    struct pdf_worker *w = worker(e);
    struct pdf_layout *l = NULL;
    CHECK_EQ_INT(pdf_layout_new(&l), 0);
    for (int rotate = 0; rotate <= 90; rotate += 90) {
        struct buf pdf = BUF_INIT, text = BUF_INIT, text2 = BUF_INIT;
        struct pdf_doc *d = NULL;
        make_table(&pdf, rotate);
        CHECK_EQ_INT(pdf_doc_open(w, pdf.data, pdf.len, &d), 0);
        CHECK_EQ_INT(pdf_doc_text_layout(d, 0, &text, l), 0);
        CHECK_EQ_INT(pdf_doc_text(d, 0, &text2), 0);
        CHECK_EQ_INT(text.len, text2.len);
        CHECK(text.len == text2.len &&
              memcmp(text.data, text2.data, text.len) == 0);
        CHECK_EQ_INT(l->nspans, 5);
        CHECK(l->page_w == 200 && l->page_h == 100);
        CHECK(!l->truncated);
        const struct pdf_span *pr = span_named(l, "PR interval");
        const struct pdf_span *v = span_named(l, "160");
        const struct pdf_span *qt = span_named(l, "QT/QTc");
        const struct pdf_span *qv = span_named(l, "380/410 ms");
        const struct pdf_span *he = span_named(l, "Hello ECG");
        CHECK(pr && v && qt && qv && he);
        if (pr && v && qt && qv && he) {
            /* Unrotated page space, as the text: baseline y = 100 - 20. */
            CHECK(pr->bx > 9.9f && pr->bx < 10.1f);
            CHECK(pr->by > 19.9f && pr->by < 20.1f);
            CHECK(v->bx > 109.9f && v->bx < 110.1f);
            CHECK(v->by == pr->by);
            CHECK(pr->x0 < pr->x1 && pr->y0 < pr->by && pr->y1 > pr->by);
            CHECK(pr->x1 < v->x0);
            CHECK(pr->dx == 1 && pr->dy == 0);
            CHECK(pr->size == 10 && he->size == 8);
            CHECK(qt->line == qv->line && qt->line != pr->line);
        }
        /* Either output alone. */
        CHECK_EQ_INT(pdf_doc_text_layout(d, 0, NULL, l), 0);
        CHECK_EQ_INT(l->nspans, 5);
        buf_reset(&text);
        CHECK_EQ_INT(pdf_doc_text_layout(d, 0, &text, NULL), 0);
        CHECK_EQ_INT(text.len, text2.len);
        CHECK_EQ_INT(pdf_doc_text_layout(d, 0, NULL, NULL), ETL_EINVAL);
        /* A page that is not there leaves the layout empty. */
        CHECK_EQ_INT(pdf_doc_text_layout(d, 1, &text, l), ETL_EPDF_NOPAGE);
        CHECK_EQ_INT(l->nspans, 0);
        pdf_doc_free(d);
        buf_release(&pdf);
        buf_release(&text);
        buf_release(&text2);
    }
    /* An empty page: no spans. */
    struct buf pdf = BUF_INIT;
    struct pdf_doc *d = NULL;
    make_report(&pdf);
    CHECK_EQ_INT(pdf_doc_open(w, pdf.data, pdf.len, &d), 0);
    CHECK_EQ_INT(pdf_doc_text_layout(d, 1, NULL, l), 0);
    CHECK_EQ_INT(l->nspans, 0);
    CHECK_EQ_INT(pdf_doc_text_layout(d, 0, NULL, l), 0);
    CHECK(span_named(l, "Jos\xc3\xa9 M\xc3\xbcller") != NULL);
    pdf_doc_free(d);
    buf_release(&pdf);
    pdf_layout_free(l);
    pdf_layout_free(NULL);
    pdf_worker_free(w);
    pdf_engine_free(e);
}

TEST(page_pixels)
{
    struct pdf_engine *e = engine(NULL);
    struct pdf_worker *w = worker(e);
    struct buf pdf = BUF_INIT;
    struct pdf_doc *d = NULL;
    struct pdf_irect r;
    make_report(&pdf);
    CHECK_EQ_INT(pdf_doc_open(w, pdf.data, pdf.len, &d), 0);

    CHECK_EQ_INT(pdf_doc_page_pixels(d, 1, 72, &r), 0);
    CHECK(r.x0 == 0 && r.y0 == 0 && r.x1 == 144 && r.y1 == 72);
    CHECK_EQ_INT(pdf_doc_page_pixels(d, 1, 100, &r), 0);
    CHECK(r.x0 == 0 && r.y0 == 0 && r.x1 == 200 && r.y1 == 100);
    CHECK_EQ_INT(pdf_doc_page_pixels(d, 0, 150, &r), 0);
    /* 416.67 x 208.33: rounded outwards, as get_pixmap(dpi=150) does */
    CHECK(r.x1 == 417 && r.y1 == 209);
    CHECK_EQ_INT(pdf_doc_page_pixels(d, 2, 72, &r), ETL_EPDF_NOPAGE);
    CHECK_EQ_INT(pdf_doc_page_pixels(d, 0, 0, &r), ETL_EINVAL);
    pdf_doc_free(d);
    buf_release(&pdf);
    pdf_worker_free(w);
    pdf_engine_free(e);
}

/* The black square must be black and its surroundings white, in both
 * modes, with the box's own pixel grid. */
static void check_square(const struct shot *s)
{
    /* Box (20,10)-(100,70) at 72 dpi: the square is (36,18)-(72,54). */
    CHECK_EQ_INT(s->w, 80);
    CHECK_EQ_INT(s->h, 60);
    CHECK(is_rgb(px_at(s, 0, 0), 255, 255, 255));
    CHECK(is_rgb(px_at(s, 15, 7), 255, 255, 255));
    CHECK(is_rgb(px_at(s, 16, 8), 0, 0, 0));
    CHECK(is_rgb(px_at(s, 51, 43), 0, 0, 0));
    CHECK(is_rgb(px_at(s, 52, 43), 255, 255, 255));
    CHECK(is_rgb(px_at(s, 51, 44), 255, 255, 255));
    CHECK(is_rgb(px_at(s, 79, 59), 255, 255, 255));
}

static struct shot shot_a, shot_b;

TEST(render_modes)
{
    struct pdf_engine *e = engine(NULL);
    struct pdf_worker *w = worker(e);
    struct buf pdf = BUF_INIT;
    struct pdf_doc *d = NULL;
    make_report(&pdf);
    CHECK_EQ_INT(pdf_doc_open(w, pdf.data, pdf.len, &d), 0);
    struct pdf_irect box = {20, 10, 100, 70};

    memset(&shot_a, 0, sizeof(shot_a));
    CHECK_EQ_INT(
        pdf_doc_render(d, 1, 72, &box, 1, PDF_RENDER_CLIP, shot_cb, &shot_a),
        0);
    CHECK_EQ_INT(shot_a.calls, 1);
    check_square(&shot_a);
    CHECK(shot_a.stride >= 80 * 3);

    /* Page mode hands out a view into the full render: its rows are a
     * whole page wide. */
    memset(&shot_b, 0, sizeof(shot_b));
    CHECK_EQ_INT(
        pdf_doc_render(d, 1, 72, &box, 1, PDF_RENDER_PAGE, shot_cb, &shot_b),
        0);
    CHECK_EQ_INT(shot_b.calls, 1);
    check_square(&shot_b);
    CHECK_EQ_INT(shot_b.stride, 144 * 3);
    CHECK_EQ_MEM(shot_a.px, shot_b.px, (size_t)80 * 60 * 3);

    /* At 144 dpi the square covers (72,36)-(144,108). */
    struct pdf_irect big = {60, 30, 160, 120};
    memset(&shot_a, 0, sizeof(shot_a));
    CHECK_EQ_INT(
        pdf_doc_render(d, 1, 144, &big, 1, PDF_RENDER_CLIP, shot_cb, &shot_a),
        0);
    CHECK(is_rgb(px_at(&shot_a, 11, 5), 255, 255, 255));
    CHECK(is_rgb(px_at(&shot_a, 12, 6), 0, 0, 0));
    CHECK(is_rgb(px_at(&shot_a, 83, 77), 0, 0, 0));
    CHECK(is_rgb(px_at(&shot_a, 84, 78), 255, 255, 255));

    pdf_doc_free(d);
    buf_release(&pdf);
    pdf_worker_free(w);
    pdf_engine_free(e);
}

/* Every box's pixels, packed (w * 3 bytes a row), for comparing modes. */
struct boxes_shot {
    struct buf px[12];
};

static int boxes_cb(void *arg, size_t index, const unsigned char *rgb, int w,
                    int h, ptrdiff_t stride)
{
    struct boxes_shot *s = arg;
    if (index >= 12)
        return -1;
    for (int y = 0; y < h; y++) {
        if (buf_add(&s->px[index], rgb + (ptrdiff_t)y * stride, (size_t)w * 3))
            return -1;
    }
    return 0;
}

/* Bytes of a and b (n each) that differ, and by how much at most. */
static size_t bytes_differing(const unsigned char *a, const unsigned char *b,
                              size_t n, int *max_diff)
{
    size_t k = 0;
    *max_diff = 0;
    for (size_t i = 0; i < n; i++) {
        int d = abs((int)a[i] - (int)b[i]);
        if (d) {
            k++;
            if (d > *max_diff)
                *max_diff = d;
        }
    }
    return k;
}

/* Clip mode draws the union of boxes that lie close together once, and
 * boxes far apart one by one: either way each box must be the crop of the
 * full-page render, on a real ECG page full of long trace paths, up to the
 * rounding where the rasteriser cuts a stroke at the clip's edge (a few
 * edge pixels in 100,000, by up to 16 levels). */
TEST(render_union_and_separate_boxes)
{
    struct pdf_engine *e = engine(NULL);
    struct pdf_worker *w = worker(e);
    struct buf pdf = BUF_INIT;
    struct pdf_doc *d = NULL;
    CHECK_EQ_INT(pdf_sample_make(7, 3, SAMPLE_GOOD, &pdf, NULL), 0);
    CHECK_EQ_INT(pdf_doc_open(w, pdf.data, pdf.len, &d), 0);
    /* 100 dpi: page 2 is 1100 x 850 pixels. Four adjacent boxes covering
     * half the page (one union), then two small boxes in opposite corners
     * (drawn alone), then overlapping boxes. */
    static const struct pdf_irect sets[3][4] = {
        {{50, 100, 550, 400},
         {550, 100, 1050, 400},
         {50, 400, 550, 700},
         {550, 400, 1050, 700}},
        {{0, 0, 120, 90}, {980, 760, 1100, 850}},
        {{200, 200, 600, 500}, {300, 250, 700, 550}, {250, 300, 650, 600}},
    };
    static const size_t nboxes[3] = {4, 2, 3};
    size_t differing = 0, compared = 0;
    int worst = 0;
    for (int k = 0; k < 3; k++) {
        struct boxes_shot clip, page;
        memset(&clip, 0, sizeof(clip));
        memset(&page, 0, sizeof(page));
        CHECK_EQ_INT(pdf_doc_render(d, 1, 100, sets[k], nboxes[k],
                                    PDF_RENDER_CLIP, boxes_cb, &clip),
                     0);
        CHECK_EQ_INT(pdf_doc_render(d, 1, 100, sets[k], nboxes[k],
                                    PDF_RENDER_PAGE, boxes_cb, &page),
                     0);
        for (size_t i = 0; i < nboxes[k]; i++) {
            const struct pdf_irect *b = &sets[k][i];
            size_t n = clip.px[i].len;
            CHECK_EQ_INT((long)n, (long)(b->x1 - b->x0) * (b->y1 - b->y0) * 3);
            CHECK_EQ_INT((long)page.px[i].len, (long)n);
            if (page.px[i].len == n) {
                int max_diff = 0;
                size_t diff = bytes_differing(
                    (const unsigned char *)clip.px[i].data,
                    (const unsigned char *)page.px[i].data, n, &max_diff);
                differing += diff;
                compared += n;
                worst = max_diff > worst ? max_diff : worst;
            }
            buf_release(&clip.px[i]);
            buf_release(&page.px[i]);
        }
    }
    printf("clip against page: %zu of %zu bytes differ, by at most %d\n",
           differing, compared, worst);
    CHECK(compared > 0 && differing * 10000 <= compared);
    CHECK(worst <= 16);
    pdf_doc_free(d);
    buf_release(&pdf);
    pdf_worker_free(w);
    pdf_engine_free(e);
}

TEST(render_boxes_and_callback)
{
    struct pdf_engine *e = engine(NULL);
    struct pdf_worker *w = worker(e);
    struct buf pdf = BUF_INIT;
    struct pdf_doc *d = NULL;
    make_report(&pdf);
    CHECK_EQ_INT(pdf_doc_open(w, pdf.data, pdf.len, &d), 0);
    struct pdf_irect boxes[3] = {
        {0, 0, 10, 10}, {40, 20, 50, 30}, {134, 62, 144, 72}};

    for (int mode = 0; mode < 2; mode++) {
        memset(&shot_a, 0, sizeof(shot_a));
        CHECK_EQ_INT(pdf_doc_render(d, 1, 72, boxes, 3,
                                    (enum pdf_render_mode)mode, shot_cb,
                                    &shot_a),
                     0);
        CHECK_EQ_INT(shot_a.calls, 3);
        CHECK(shot_a.index[0] == 0 && shot_a.index[1] == 1 &&
              shot_a.index[2] == 2);
        /* The last box is the page's white bottom-right corner. */
        CHECK(is_rgb(px_at(&shot_a, 9, 9), 255, 255, 255));

        /* A callback's error stops the rendering and comes back. */
        memset(&shot_a, 0, sizeof(shot_a));
        shot_a.stop_at = 2;
        CHECK_EQ_INT(pdf_doc_render(d, 1, 72, boxes, 3,
                                    (enum pdf_render_mode)mode, shot_cb,
                                    &shot_a),
                     ETL_ECANCELED);
        CHECK_EQ_INT(shot_a.calls, 2);
    }

    /* Boxes must be non-empty and inside the page. */
    struct pdf_irect outside = {100, 50, 200, 100}, empty = {5, 5, 5, 9};
    CHECK_EQ_INT(pdf_doc_render(d, 1, 72, &outside, 1, PDF_RENDER_CLIP, shot_cb,
                                &shot_a),
                 ETL_EINVAL);
    CHECK_EQ_INT(
        pdf_doc_render(d, 1, 72, &empty, 1, PDF_RENDER_PAGE, shot_cb, &shot_a),
        ETL_EINVAL);
    CHECK_EQ_INT(
        pdf_doc_render(d, 7, 72, boxes, 1, PDF_RENDER_CLIP, shot_cb, &shot_a),
        ETL_EPDF_NOPAGE);
    pdf_doc_free(d);
    buf_release(&pdf);
    pdf_worker_free(w);
    pdf_engine_free(e);
}

TEST(limit_pages_and_pixels)
{
    struct pdf_limits lim = {.max_pages = 1, .max_region_pixels = 0};
    struct pdf_engine *e = engine(&lim);
    struct pdf_worker *w = worker(e);
    struct buf pdf = BUF_INIT;
    struct pdf_doc *d = NULL;
    make_report(&pdf);
    CHECK_EQ_INT(pdf_doc_open(w, pdf.data, pdf.len, &d), ETL_EPDF_TOOCOMPLEX);
    CHECK(d == NULL);
    pdf_worker_free(w);
    pdf_engine_free(e);

    lim = (struct pdf_limits){.max_region_pixels = 1000};
    e = engine(&lim);
    w = worker(e);
    CHECK_EQ_INT(pdf_doc_open(w, pdf.data, pdf.len, &d), 0);
    struct pdf_irect small = {0, 0, 20, 20}, large = {0, 0, 40, 40};
    memset(&shot_a, 0, sizeof(shot_a));
    CHECK_EQ_INT(
        pdf_doc_render(d, 1, 72, &small, 1, PDF_RENDER_CLIP, shot_cb, &shot_a),
        0);
    CHECK_EQ_INT(
        pdf_doc_render(d, 1, 72, &large, 1, PDF_RENDER_CLIP, shot_cb, &shot_a),
        ETL_EPDF_TOOCOMPLEX);
    /* A page-mode render is a region of the whole page. */
    CHECK_EQ_INT(
        pdf_doc_render(d, 1, 72, &small, 1, PDF_RENDER_PAGE, shot_cb, &shot_a),
        ETL_EPDF_TOOCOMPLEX);
    CHECK_EQ_INT(shot_a.calls, 1);
    pdf_doc_free(d);
    buf_release(&pdf);
    pdf_worker_free(w);
    pdf_engine_free(e);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

TEST(limit_timeout)
{
    struct buf pdf = BUF_INIT;
    make_heavy(&pdf, 500, 500, 400000);

    /* Without a budget the page renders... */
    struct pdf_engine *e = engine(NULL);
    struct pdf_worker *w = worker(e);
    struct pdf_doc *d = NULL;
    struct pdf_irect box = {0, 0, 100, 100};
    CHECK_EQ_INT(pdf_doc_open(w, pdf.data, pdf.len, &d), 0);
    double t0 = now_ms();
    memset(&shot_a, 0, sizeof(shot_a));
    CHECK_EQ_INT(
        pdf_doc_render(d, 0, 72, &box, 1, PDF_RENDER_CLIP, shot_cb, &shot_a),
        0);
    double full = now_ms() - t0;
    pdf_doc_free(d);
    pdf_worker_free(w);
    pdf_engine_free(e);

    /* ...with one far shorter than that it stops early with TIMEOUT, and
     * the document stays timed out. */
    struct pdf_limits lim = {.timeout_ms = 20};
    e = engine(&lim);
    w = worker(e);
    CHECK_EQ_INT(pdf_doc_open(w, pdf.data, pdf.len, &d), 0);
    t0 = now_ms();
    CHECK_EQ_INT(
        pdf_doc_render(d, 0, 72, &box, 1, PDF_RENDER_CLIP, shot_cb, &shot_a),
        ETL_EPDF_TIMEOUT);
    double cut = now_ms() - t0;
    struct buf text = BUF_INIT;
    CHECK_EQ_INT(pdf_doc_text(d, 0, &text), ETL_EPDF_TIMEOUT);
    pdf_doc_free(d);
    printf("heavy page: %.0f ms in full, %.0f ms with a 20 ms budget\n", full,
           cut);
    if (full < 100)
        HARNESS_FAIL("heavy page too light for the test: %.0f ms", full);
    if (cut > full / 2 && cut > 200)
        HARNESS_FAIL("timeout took %.0f ms of %.0f", cut, full);

    /* A fresh document on the same worker has a fresh budget. */
    struct buf small = BUF_INIT;
    make_report(&small);
    CHECK_EQ_INT(pdf_doc_open(w, small.data, small.len, &d), 0);
    CHECK_EQ_INT(pdf_doc_text(d, 0, &text), 0);
    pdf_doc_free(d);
    buf_release(&small);
    buf_release(&text);
    buf_release(&pdf);
    pdf_worker_free(w);
    pdf_engine_free(e);
}

TEST(limit_memory)
{
    struct pdf_limits lim = {.max_memory = (size_t)24 << 20};
    struct pdf_engine *e = engine(&lim);
    struct pdf_worker *w = worker(e);
    struct pdf_doc *d = NULL;
    struct buf big = BUF_INIT, small = BUF_INIT;
    make_heavy(&big, 3000, 3000, 10);
    make_report(&small);

    /* A 4167 x 4167 full render needs 52 MB: over the cap. */
    CHECK_EQ_INT(pdf_doc_open(w, big.data, big.len, &d), 0);
    struct pdf_irect box = {0, 0, 100, 100};
    memset(&shot_a, 0, sizeof(shot_a));
    CHECK_EQ_INT(
        pdf_doc_render(d, 0, 100, &box, 1, PDF_RENDER_PAGE, shot_cb, &shot_a),
        ETL_EPDF_TOOCOMPLEX);
    CHECK_EQ_INT(shot_a.calls, 0);
    /* The same box alone fits. */
    CHECK_EQ_INT(
        pdf_doc_render(d, 0, 100, &box, 1, PDF_RENDER_CLIP, shot_cb, &shot_a),
        0);
    pdf_doc_free(d);

    /* Memory is given back: many documents later, work still fits. */
    for (int i = 0; i < 200; i++) {
        struct buf text = BUF_INIT;
        d = NULL;
        CHECK_EQ_INT(pdf_doc_open(w, small.data, small.len, &d), 0);
        CHECK_EQ_INT(pdf_doc_text(d, 0, &text), 0);
        CHECK_EQ_INT(pdf_doc_render(d, 1, 100, &box, 1, PDF_RENDER_PAGE,
                                    shot_cb, &shot_a),
                     0);
        pdf_doc_free(d);
        buf_release(&text);
    }
    buf_release(&big);
    buf_release(&small);
    pdf_worker_free(w);
    pdf_engine_free(e);
}

/* Several workers on several threads render the same bytes at once and
 * get the pixels a single thread gets. */
struct job {
    struct pdf_worker *w;
    const struct buf *pdf;
    const unsigned char *want;
    int bad;
};

static int compare_cb(void *arg, size_t index, const unsigned char *rgb, int w,
                      int h, ptrdiff_t stride)
{
    struct job *j = arg;
    (void)index;
    for (int y = 0; y < h; y++) {
        if (memcmp(rgb + y * stride, j->want + (size_t)y * w * 3,
                   (size_t)w * 3) != 0)
            j->bad++;
    }
    return 0;
}

static void *job_main(void *arg)
{
    struct job *j = arg;
    struct pdf_irect box = {20, 10, 100, 70};
    for (int i = 0; i < 30; i++) {
        struct pdf_doc *d = NULL;
        struct buf text = BUF_INIT;
        if (pdf_doc_open(j->w, j->pdf->data, j->pdf->len, &d) ||
            pdf_doc_text(d, 0, &text) ||
            strcmp(text.data, "Hello ECG\nJos\xc3\xa9 M\xc3\xbcller\n") ||
            pdf_doc_render(d, 1, 72, &box, 1,
                           i % 2 ? PDF_RENDER_PAGE : PDF_RENDER_CLIP,
                           compare_cb, j))
            j->bad++;
        pdf_doc_free(d);
        buf_release(&text);
    }
    return NULL;
}

TEST(threads)
{
    struct pdf_limits lim = {.timeout_ms = 60000,
                             .max_memory = (size_t)256 << 20};
    struct pdf_engine *e = engine(&lim);
    struct buf pdf = BUF_INIT;
    make_report(&pdf);
    struct pdf_worker *w0 = worker(e);
    struct pdf_doc *d = NULL;
    struct pdf_irect box = {20, 10, 100, 70};
    memset(&shot_a, 0, sizeof(shot_a));
    CHECK_EQ_INT(pdf_doc_open(w0, pdf.data, pdf.len, &d), 0);
    CHECK_EQ_INT(
        pdf_doc_render(d, 1, 72, &box, 1, PDF_RENDER_CLIP, shot_cb, &shot_a),
        0);
    pdf_doc_free(d);
    pdf_worker_free(w0);

    struct job jobs[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (struct job){worker(e), &pdf, shot_a.px, 0};
        CHECK_EQ_INT(pthread_create(&th[i], NULL, job_main, &jobs[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK_EQ_INT(jobs[i].bad, 0);
        pdf_worker_free(jobs[i].w);
    }
    buf_release(&pdf);
    pdf_engine_free(e);
}

int main(void)
{
    RUN(version);
    RUN(open_errors);
    RUN(open_good_and_truncated);
    RUN(text);
    RUN(text_layout);
    RUN(page_pixels);
    RUN(render_modes);
    RUN(render_union_and_separate_boxes);
    RUN(render_boxes_and_callback);
    RUN(limit_pages_and_pixels);
    RUN(limit_timeout);
    RUN(limit_memory);
    RUN(threads);
    return harness_done();
}
