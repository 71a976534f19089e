/* Synthetic ECG report PDFs: content streams written as text, assembled and
 * serialised with MuPDF's PDF writer. See samples.h for the contract and
 * samples_model.c for what is drawn. */
#include "samples/samples.h"

#include <assert.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mupdf/fitz.h>
#include <mupdf/pdf.h>

#include "core/err.h"
#include "core/log.h"
#include "samples/samples_int.h"

/* Exported by libmupdf (source/fitz/random.c) but declared only in its
 * internal context-imp.h. It seeds the per-context generator behind
 * fz_memrnd(), which the PDF writer uses for AES salts, the file key and
 * per-object IVs; fz_new_context() seeds it from time(), so without this
 * the encrypted sample would differ on every run. */
void fz_srand48(fz_context *ctx, int32_t seed);

#define LETTER_W 612.0
#define LETTER_H 792.0

static const char *const kind_names[SAMPLE_KIND_COUNT] = {
    "good",    "one_page",    "encrypted",  "truncated", "empty",
    "not_pdf", "raster_only", "many_pages", "huge_page"};
static const char *const layout_names[SAMPLE_LAYOUT_COUNT] = {"3x4", "6x2",
                                                              "12x1"};
static const char *const lead_names[SAMPLE_LEAD_COUNT] = {
    "I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"};

const char *pdf_sample_kind_name(enum sample_kind k)
{
    return (unsigned)k < SAMPLE_KIND_COUNT ? kind_names[k] : "?";
}

int pdf_sample_kind_parse(const char *s, enum sample_kind *out)
{
    for (int k = 0; s && k < SAMPLE_KIND_COUNT; k++) {
        if (strcmp(s, kind_names[k]) == 0) {
            *out = (enum sample_kind)k;
            return 0;
        }
    }
    return ETL_EINVAL;
}

const char *pdf_sample_layout_name(enum sample_layout l)
{
    return (unsigned)l < SAMPLE_LAYOUT_COUNT ? layout_names[l] : "?";
}

int pdf_sample_layout_parse(const char *s, enum sample_layout *out)
{
    for (int k = 0; s && k < SAMPLE_LAYOUT_COUNT; k++) {
        if (strcmp(s, layout_names[k]) == 0) {
            *out = (enum sample_layout)k;
            return 0;
        }
    }
    return ETL_EINVAL;
}

const char *pdf_sample_lead_name(int lead)
{
    return lead >= 0 && lead < SAMPLE_LEAD_COUNT ? lead_names[lead] : "?";
}

/* ------------------------------------------------------- content streams */

/* A content stream under construction. Callers draw in MuPDF page space
 * (y down from the top); the writer flips y against the page height h.
 * Errors are sticky so drawing code need not check every call. */
struct cs {
    struct buf *b;
    double h;
    int rc;
};

static void cs_add(struct cs *c, const char *s, size_t n)
{
    if (!c->rc)
        c->rc = buf_add(c->b, s, n);
}

static void cs_str(struct cs *c, const char *s)
{
    cs_add(c, s, strlen(s));
}

/* A number rounded to 0.01 with trailing zeros dropped, then a space.
 * Hand-rolled: page 2 has ~10,000 vertices and printf dominated. */
static void cs_num(struct cs *c, double v)
{
    char tmp[32], *p = tmp + sizeof(tmp);
    long long n = llround(v * 100.0);
    bool neg = n < 0;
    unsigned long long u = neg ? (unsigned long long)-n : (unsigned long long)n;
    unsigned frac = (unsigned)(u % 100);
    u /= 100;
    *--p = ' ';
    if (frac) {
        if (frac % 10) {
            *--p = (char)('0' + frac % 10);
            *--p = (char)('0' + frac / 10);
        } else {
            *--p = (char)('0' + frac / 10);
        }
        *--p = '.';
    }
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (neg)
        *--p = '-';
    cs_add(c, p, (size_t)(tmp + sizeof(tmp) - p));
}

static void cs_moveto(struct cs *c, double x, double y)
{
    cs_num(c, x);
    cs_num(c, c->h - y);
    cs_str(c, "m\n");
}

static void cs_lineto(struct cs *c, double x, double y)
{
    cs_num(c, x);
    cs_num(c, c->h - y);
    cs_str(c, "l\n");
}

static void cs_line(struct cs *c, double x0, double y0, double x1, double y1)
{
    cs_moveto(c, x0, y0);
    cs_lineto(c, x1, y1);
}

/* One line of text at baseline (x, y). font is "F1" (Helvetica) or "F2"
 * (Helvetica-Bold), both WinAnsi: UTF-8 in the Latin-1 range is converted
 * to single bytes, written as octal escapes to keep the stream ASCII. */
static void cs_text(struct cs *c, const char *font, double size, double x,
                    double y, const char *utf8)
{
    char esc[8];
    cs_str(c, "BT /");
    cs_str(c, font);
    cs_str(c, " ");
    cs_num(c, size);
    cs_str(c, "Tf 1 0 0 1 ");
    cs_num(c, x);
    cs_num(c, c->h - y);
    cs_str(c, "Tm (");
    for (const unsigned char *s = (const unsigned char *)utf8; *s; s++) {
        unsigned cp = *s;
        if ((cp == 0xc2 || cp == 0xc3) && (s[1] & 0xc0) == 0x80) {
            cp = ((cp & 0x1f) << 6) | (s[1] & 0x3f);
            s++;
        } else {
            /* Only Latin-1 text is generated; anything else is a bug. */
            assert(cp < 0x80);
        }
        if (cp >= 0x80 || cp < 0x20) {
            snprintf(esc, sizeof(esc), "\\%03o", cp);
            cs_str(c, esc);
        } else {
            if (cp == '(' || cp == ')' || cp == '\\')
                cs_add(c, "\\", 1);
            char ch = (char)cp;
            cs_add(c, &ch, 1);
        }
    }
    cs_str(c, ") Tj ET\n");
}

static void cs_textf(struct cs *c, const char *font, double size, double x,
                     double y, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static void cs_textf(struct cs *c, const char *font, double size, double x,
                     double y, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    cs_text(c, font, size, x, y, line);
}

/* ------------------------------------------------------------------ pages */

static void draw_page1(struct cs *c, const struct smp_report *r, int pages)
{
    cs_str(c, "q 0.3 0.3 0.3 RG 0.8 w\n");
    cs_line(c, 40, 80, LETTER_W - 40, 80);
    cs_line(c, 40, 252, LETTER_W - 40, 252);
    cs_str(c, "S Q\n");

    cs_text(c, "F2", 16, 40, 52, r->institution);
    cs_text(c, "F1", 11, 40, 70,
            "Department of Cardiology - Resting 12-lead ECG report");

    cs_text(c, "F2", 12, 40, 106, "Patient");
    cs_textf(c, "F1", 10.5, 40, 126, "Name: %s", r->name);
    cs_textf(c, "F1", 10.5, 40, 142, "Patient ID: %s", r->patient_id);
    cs_textf(c, "F1", 10.5, 40, 158, "DOB: %s", r->dob);
    cs_textf(c, "F1", 10.5, 40, 174, "Age: %d years", r->age);
    cs_textf(c, "F1", 10.5, 40, 190, "Sex: %s", r->sex);
    cs_textf(c, "F1", 10.5, 40, 206, "Acquired: %s", r->acquired);
    cs_textf(c, "F1", 10.5, 40, 222, "Device: %s", r->device);

    cs_text(c, "F2", 12, 330, 106, "Measurements");
    cs_textf(c, "F1", 10.5, 330, 126, "Vent. rate %d BPM", r->vent_rate);
    cs_textf(c, "F1", 10.5, 330, 142, "PR interval %d ms", r->pr);
    cs_textf(c, "F1", 10.5, 330, 158, "QRS duration %d ms", r->qrs);
    cs_textf(c, "F1", 10.5, 330, 174, "QT/QTc %d/%d ms", r->qt, r->qtc);
    cs_textf(c, "F1", 10.5, 330, 190, "P-R-T axes %d %d %d", r->p_axis,
             r->r_axis, r->t_axis);

    cs_text(c, "F2", 12, 40, 280, "Interpretation");
    for (int i = 0; i < r->ninterp; i++)
        cs_text(c, "F1", 11, 56, 300 + 16 * i, r->interp[i]);
    cs_text(c, "F1", 10, 40, 420,
            "Unconfirmed report - requires physician review");
    cs_text(c, "F2", 9, 40, 760, "SYNTHETIC TEST DATA - NOT A REAL PATIENT");
    cs_textf(c, "F1", 9, 500, 760, "Page 1 of %d", pages);
}

static void draw_grid(struct cs *c, const struct pdf_sample_geometry *g)
{
    int nx = (int)lround((g->grid_x1 - g->grid_x0) / SMP_MM);
    int ny = (int)lround((g->grid_y1 - g->grid_y0) / SMP_MM);
    /* 1 mm lines first, 5 mm lines over them. */
    for (int major = 0; major < 2; major++) {
        cs_str(c,
               major ? "0.94 0.55 0.55 RG 0.5 w\n" : "1 0.82 0.82 RG 0.2 w\n");
        for (int i = 0; i <= nx; i++) {
            if ((i % 5 == 0) != major)
                continue;
            double x = g->grid_x0 + i * SMP_MM;
            cs_line(c, x, g->grid_y0, x, g->grid_y1);
        }
        for (int j = 0; j <= ny; j++) {
            if ((j % 5 == 0) != major)
                continue;
            double y = g->grid_y0 + j * SMP_MM;
            cs_line(c, g->grid_x0, y, g->grid_x1, y);
        }
        cs_str(c, "S\n");
    }
}

static void draw_page2(struct cs *c, const struct smp_model *m,
                       const struct pdf_sample_geometry *g, int pages,
                       const struct pdf_sample_options *o)
{
    const struct smp_report *r = &m->rep;
    cs_str(c, "q 1 J 1 j\n");
    draw_grid(c, g);

    /* Traces first, each its own stroked path, in geometry order: that is
     * the contract waveform extraction relies on. */
    cs_str(c, "0 0 0 RG 0.6 w\n");
    for (int s = 0; s < g->nsegments; s++) {
        const struct pdf_sample_segment *seg = &g->segment[s];
        for (int k = 0; k < seg->points; k++) {
            double t = seg->t0 + k * PDF_SAMPLE_DT;
            double x = seg->x0 + k * PDF_SAMPLE_DT * g->pt_per_s;
            double y = seg->y0 - smp_model_eval(m, seg->lead, t) * g->pt_per_mv;
            if (k)
                cs_lineto(c, x, y);
            else
                cs_moveto(c, x, y);
        }
        cs_str(c, "S\n");
    }
    for (int i = 0; !o->no_calibration && i < g->ncalibrations; i++) {
        const struct pdf_sample_calibration *p = &g->calibration[i];
        cs_moveto(c, p->x0 - SMP_MM, p->y0);
        cs_lineto(c, p->x0, p->y0);
        cs_lineto(c, p->x0, p->y1);
        cs_lineto(c, p->x1, p->y1);
        cs_lineto(c, p->x1, p->y0);
        cs_lineto(c, p->x1 + SMP_MM, p->y0);
        cs_str(c, "S\n");
    }
    /* Column boundary markers, as printed between the 2.5 s columns. */
    for (int s = 0; s < g->nsegments; s++) {
        const struct pdf_sample_segment *seg = &g->segment[s];
        if (seg->t0 > 0)
            cs_line(c, seg->x0, seg->y0 - 3 * SMP_MM, seg->x0,
                    seg->y0 + 3 * SMP_MM);
    }
    cs_str(c, "S Q\n");

    double label_size = g->layout == SAMPLE_LAYOUT_12X1 ? 7 : 9;
    for (int s = 0; !o->no_labels && s < g->nsegments; s++) {
        const struct pdf_sample_segment *seg = &g->segment[s];
        cs_text(c, "F2", label_size, seg->label_x, seg->label_y,
                pdf_sample_lead_name(seg->lead));
    }
    cs_text(c, "F2", 10, g->grid_x0, 8 * SMP_MM, r->institution);
    cs_textf(c, "F1", 8, g->grid_x0, 14 * SMP_MM,
             "%s   ID %s   DOB %s   %s   %s   Vent. rate %d BPM   PR %d ms   "
             "QRS %d ms   QT/QTc %d/%d ms   P-R-T axes %d %d %d",
             r->name, r->patient_id, r->dob, r->sex, r->acquired, r->vent_rate,
             r->pr, r->qrs, r->qt, r->qtc, r->p_axis, r->r_axis, r->t_axis);
    cs_textf(c, "F1", 8, g->grid_x0, 213 * SMP_MM,
             "25 mm/s   %g mm/mV   0.05-150 Hz   %s   %s   Page 2 of %d",
             g->pt_per_mv / SMP_MM, r->device,
             pdf_sample_layout_name(g->layout), pages);
}

static void draw_extra_page(struct cs *c, const struct smp_report *r, int n,
                            int pages)
{
    cs_textf(c, "F2", 12, 40, 52, "%s - %s", r->patient_id, r->name);
    cs_textf(c, "F1", 10, 40, 80,
             "Continuation page %d: serial comparison not available.", n);
    cs_textf(c, "F1", 9, 500, 760, "Page %d of %d", n, pages);
}

/* ----------------------------------------------------------- the document */

struct job {
    uint64_t seed;
    int index;
    enum sample_kind kind;
    struct smp_model model;
    struct pdf_sample_geometry geo;
    struct pdf_sample_options opts;
    int pages; /* of the document as built */
    double page2_w, page2_h;
    const char *page2; /* "vector", "raster", "none" */
    char password[48];
    size_t truncated_from;
    int buf_rc; /* a buf error behind a MuPDF throw */
    struct buf content;
};

static void check_content(fz_context *ctx, struct job *j, struct cs *c)
{
    if (c->rc) {
        j->buf_rc = c->rc;
        fz_throw(ctx, FZ_ERROR_GENERIC, "content stream: %s",
                 etl_strerror(c->rc));
    }
}

/* Append a page with content as its content stream. The stream is
 * deflated here at the fastest level: MuPDF's writer would use zlib's
 * default level, which was two thirds of the generator's time on the
 * number-heavy ECG page for a few percent of size. */
static void add_page(fz_context *ctx, pdf_document *doc, double w, double h,
                     pdf_obj *resources, const struct buf *content)
{
    fz_buffer *fb = NULL;
    unsigned char *z = NULL;
    pdf_obj *page = NULL, *dict = NULL, *stream = NULL;
    fz_var(fb);
    fz_var(z);
    fz_var(page);
    fz_var(dict);
    fz_var(stream);
    fz_try(ctx)
    {
        size_t n = fz_deflate_bound(ctx, content->len);
        z = fz_malloc(ctx, n);
        fz_deflate(ctx, z, &n, (const unsigned char *)content->data,
                   content->len, FZ_DEFLATE_BEST_SPEED);
        fb = fz_new_buffer_from_data(ctx, z, n);
        z = NULL;
        dict = pdf_new_dict(ctx, doc, 2);
        pdf_dict_put(ctx, dict, PDF_NAME(Filter), PDF_NAME(FlateDecode));
        stream = pdf_add_stream(ctx, doc, fb, dict, 1);
        page = pdf_add_page(ctx, doc, fz_make_rect(0, 0, (float)w, (float)h), 0,
                            resources, NULL);
        pdf_dict_put(ctx, page, PDF_NAME(Contents), stream);
        pdf_insert_page(ctx, doc, -1, page);
    }
    fz_always(ctx)
    {
        pdf_drop_obj(ctx, page);
        pdf_drop_obj(ctx, stream);
        pdf_drop_obj(ctx, dict);
        fz_drop_buffer(ctx, fb);
        fz_free(ctx, z);
    }
    fz_catch(ctx)
    {
        fz_rethrow(ctx);
    }
}

/* Resources shared by every page: /Font << /F1 Helvetica /F2 Bold >>,
 * base-14 (not embedded), WinAnsi. Returns an indirect reference. */
static pdf_obj *add_font_resources(fz_context *ctx, pdf_document *doc)
{
    fz_font *regular = NULL, *bold = NULL;
    pdf_obj *f1 = NULL, *f2 = NULL, *res = NULL, *ref = NULL;
    fz_var(regular);
    fz_var(bold);
    fz_var(f1);
    fz_var(f2);
    fz_var(res);
    fz_var(ref);
    fz_try(ctx)
    {
        regular = fz_new_base14_font(ctx, "Helvetica");
        bold = fz_new_base14_font(ctx, "Helvetica-Bold");
        f1 = pdf_add_simple_font(ctx, doc, regular, PDF_SIMPLE_ENCODING_LATIN);
        f2 = pdf_add_simple_font(ctx, doc, bold, PDF_SIMPLE_ENCODING_LATIN);
        res = pdf_new_dict(ctx, doc, 1);
        pdf_obj *fonts = pdf_dict_put_dict(ctx, res, PDF_NAME(Font), 2);
        pdf_dict_puts(ctx, fonts, "F1", f1);
        pdf_dict_puts(ctx, fonts, "F2", f2);
        ref = pdf_add_object(ctx, doc, res);
    }
    fz_always(ctx)
    {
        pdf_drop_obj(ctx, res);
        pdf_drop_obj(ctx, f1);
        pdf_drop_obj(ctx, f2);
        fz_drop_font(ctx, regular);
        fz_drop_font(ctx, bold);
    }
    fz_catch(ctx)
    {
        fz_rethrow(ctx);
    }
    return ref;
}

static void add_vector_page2(fz_context *ctx, struct job *j, pdf_document *doc,
                             pdf_obj *fonts, double w, double h)
{
    struct cs c = {&j->content, h, 0};
    buf_reset(&j->content);
    draw_page2(&c, &j->model, &j->geo, j->pages, &j->opts);
    check_content(ctx, j, &c);
    add_page(ctx, doc, w, h, fonts, &j->content);
}

/* A grey image of the vector page 2 (what a scanned or "printed to image"
 * report looks like): rendered from a throw-away document. */
static fz_pixmap *render_page2(fz_context *ctx, struct job *j)
{
    pdf_document *tmp = NULL;
    pdf_obj *fonts = NULL;
    pdf_page *page = NULL;
    fz_pixmap *pix = NULL;
    fz_var(tmp);
    fz_var(fonts);
    fz_var(page);
    fz_var(pix);
    fz_try(ctx)
    {
        tmp = pdf_create_document(ctx);
        fonts = add_font_resources(ctx, tmp);
        add_vector_page2(ctx, j, tmp, fonts, LETTER_H, LETTER_W);
        page = pdf_load_page(ctx, tmp, 0);
        double s = PDF_SAMPLE_RASTER_DPI / 72.0;
        pix = fz_new_pixmap_from_page(ctx, &page->super,
                                      fz_scale((float)s, (float)s),
                                      fz_device_gray(ctx), 0);
    }
    fz_always(ctx)
    {
        fz_drop_page(ctx, page ? &page->super : NULL);
        pdf_drop_obj(ctx, fonts);
        pdf_drop_document(ctx, tmp);
    }
    fz_catch(ctx)
    {
        fz_rethrow(ctx);
    }
    return pix;
}

static void add_raster_page2(fz_context *ctx, struct job *j, pdf_document *doc)
{
    fz_pixmap *pix = NULL;
    fz_image *img = NULL;
    pdf_obj *ref = NULL, *res = NULL;
    fz_var(pix);
    fz_var(img);
    fz_var(ref);
    fz_var(res);
    fz_try(ctx)
    {
        pix = render_page2(ctx, j);
        img = fz_new_image_from_pixmap(ctx, pix, NULL);
        ref = pdf_add_image(ctx, doc, img);
        res = pdf_new_dict(ctx, doc, 1);
        pdf_obj *xobj = pdf_dict_put_dict(ctx, res, PDF_NAME(XObject), 1);
        pdf_dict_puts(ctx, xobj, "Im0", ref);
        buf_reset(&j->content);
        struct cs c = {&j->content, LETTER_W, 0};
        cs_str(&c, "q ");
        cs_num(&c, LETTER_H);
        cs_str(&c, "0 0 ");
        cs_num(&c, LETTER_W);
        cs_str(&c, "0 0 cm /Im0 Do Q\n");
        check_content(ctx, j, &c);
        add_page(ctx, doc, LETTER_H, LETTER_W, res, &j->content);
    }
    fz_always(ctx)
    {
        pdf_drop_obj(ctx, res);
        pdf_drop_obj(ctx, ref);
        fz_drop_image(ctx, img);
        fz_drop_pixmap(ctx, pix);
    }
    fz_catch(ctx)
    {
        fz_rethrow(ctx);
    }
}

/* /Info and /ID from the sample, so nothing depends on the clock. */
static void set_trailer(fz_context *ctx, struct job *j, pdf_document *doc)
{
    const struct smp_report *r = &j->model.rep;
    pdf_obj *trailer = pdf_trailer(ctx, doc);
    pdf_obj *info = pdf_new_dict(ctx, doc, 5);
    fz_try(ctx)
    {
        char tmp[128];
        snprintf(tmp, sizeof(tmp), "12-lead ECG report %s", r->patient_id);
        pdf_dict_put_text_string(ctx, info, PDF_NAME(Title), tmp);
        pdf_dict_put_text_string(ctx, info, PDF_NAME(Creator),
                                 "bpecg-etl samples");
        pdf_dict_put_text_string(ctx, info, PDF_NAME(Producer),
                                 "bpecg-etl samples (MuPDF)");
        const char *a = r->acquired; /* YYYY-MM-DD HH:MM:SS */
        snprintf(tmp, sizeof(tmp), "D:%.4s%.2s%.2s%.2s%.2s%.2sZ", a, a + 5,
                 a + 8, a + 11, a + 14, a + 17);
        pdf_dict_put_string(ctx, info, PDF_NAME(CreationDate), tmp,
                            strlen(tmp));
        pdf_dict_put_string(ctx, info, PDF_NAME(ModDate), tmp, strlen(tmp));
        pdf_dict_put_drop(ctx, trailer, PDF_NAME(Info),
                          pdf_add_object(ctx, doc, info));

        unsigned char id[16];
        uint64_t h0 = smp_hash(j->seed, j->index, 100 + j->kind);
        uint64_t h1 = smp_hash(j->seed, j->index, 200 + j->kind);
        for (int i = 0; i < 8; i++) {
            id[i] = (unsigned char)(h0 >> (8 * i));
            id[8 + i] = (unsigned char)(h1 >> (8 * i));
        }
        pdf_obj *arr = pdf_dict_put_array(ctx, trailer, PDF_NAME(ID), 2);
        pdf_array_push_string(ctx, arr, (const char *)id, sizeof(id));
        pdf_array_push_string(ctx, arr, (const char *)id, sizeof(id));
    }
    fz_always(ctx)
    {
        pdf_drop_obj(ctx, info);
    }
    fz_catch(ctx)
    {
        fz_rethrow(ctx);
    }
}

static void write_doc(fz_context *ctx, struct job *j, pdf_document *doc,
                      fz_buffer *out_buf)
{
    pdf_write_options o;
    memset(&o, 0, sizeof(o));
    o.do_compress = 1;
    o.do_compress_images = 1;
    o.do_compress_fonts = 1;
    o.dont_regenerate_id = 1;
    o.do_encrypt = PDF_ENCRYPT_NONE;
    if (j->kind == SAMPLE_ENCRYPTED) {
        o.do_encrypt = PDF_ENCRYPT_AES_256;
        o.permissions = PDF_PERM_PRINT | PDF_PERM_PRINT_HQ;
        snprintf(o.upwd_utf8, sizeof(o.upwd_utf8), "%s", j->password);
        snprintf(o.opwd_utf8, sizeof(o.opwd_utf8), "%s-owner", j->password);
    }
    set_trailer(ctx, j, doc);
    fz_srand48(ctx, (int32_t)(uint32_t)smp_hash(j->seed, j->index, 300));

    fz_output *out = fz_new_output_with_buffer(ctx, out_buf);
    fz_try(ctx)
    {
        pdf_write_document(ctx, doc, out, &o);
        fz_close_output(ctx, out);
    }
    fz_always(ctx)
    {
        fz_drop_output(ctx, out);
    }
    fz_catch(ctx)
    {
        fz_rethrow(ctx);
    }
}

static void build_pdf(fz_context *ctx, struct job *j, fz_buffer *out_buf)
{
    pdf_document *doc = NULL;
    pdf_obj *fonts = NULL;
    fz_var(doc);
    fz_var(fonts);
    fz_try(ctx)
    {
        doc = pdf_create_document(ctx);
        fonts = add_font_resources(ctx, doc);

        struct cs c = {&j->content, LETTER_H, 0};
        buf_reset(&j->content);
        draw_page1(&c, &j->model.rep, j->pages);
        check_content(ctx, j, &c);
        add_page(ctx, doc, LETTER_W, LETTER_H, fonts, &j->content);

        if (j->kind == SAMPLE_RASTER_ONLY)
            add_raster_page2(ctx, j, doc);
        else if (j->pages >= 2)
            add_vector_page2(ctx, j, doc, fonts, j->page2_w, j->page2_h);

        for (int n = 3; n <= j->pages; n++) {
            buf_reset(&j->content);
            draw_extra_page(&c, &j->model.rep, n, j->pages);
            check_content(ctx, j, &c);
            add_page(ctx, doc, LETTER_W, LETTER_H, fonts, &j->content);
        }
        write_doc(ctx, j, doc, out_buf);
    }
    fz_always(ctx)
    {
        pdf_drop_obj(ctx, fonts);
        pdf_drop_document(ctx, doc);
    }
    fz_catch(ctx)
    {
        fz_rethrow(ctx);
    }
}

/* A small grey PNG of the rhythm strip: an image someone saved as .pdf. */
static void build_png(fz_context *ctx, struct job *j, fz_buffer **out)
{
    enum { W = 200, H = 60 };
    fz_pixmap *pix = fz_new_pixmap(ctx, fz_device_gray(ctx), W, H, NULL, 0);
    fz_try(ctx)
    {
        unsigned char *px = fz_pixmap_samples(ctx, pix);
        int stride = (int)fz_pixmap_stride(ctx, pix);
        for (int y = 0; y < H; y++)
            memset(px + (size_t)y * stride, 0xff, W);
        for (int x = 0; x < W; x++) {
            double v = smp_model_eval(&j->model, SAMPLE_LEAD_II,
                                      x * PDF_SAMPLE_SECONDS / W);
            int y = (int)lround(H * 0.6 - v * 15.0);
            if (y >= 0 && y < H)
                px[(size_t)y * stride + x] = 0;
        }
        *out =
            fz_new_buffer_from_pixmap_as_png(ctx, pix, fz_default_color_params);
    }
    fz_always(ctx)
    {
        fz_drop_pixmap(ctx, pix);
    }
    fz_catch(ctx)
    {
        fz_rethrow(ctx);
    }
}

static void mupdf_message(void *user, const char *message)
{
    (void)user;
    LOGF(LOG_DEBUG, "mupdf_warning", LF_S("message", message));
}

/* Produce the file's bytes into pdf. */
static int make_bytes(struct job *j, struct buf *pdf)
{
    int rc = 0;
    if (j->kind == SAMPLE_EMPTY)
        return 0;
    fz_context *ctx = fz_new_context(NULL, NULL, FZ_STORE_DEFAULT);
    if (!ctx)
        return ETL_ENOMEM;
    fz_set_warning_callback(ctx, mupdf_message, NULL);
    fz_set_error_callback(ctx, mupdf_message, NULL);

    fz_buffer *fb = NULL;
    fz_var(fb);
    fz_var(rc);
    fz_try(ctx)
    {
        if (j->kind == SAMPLE_NOT_PDF) {
            build_png(ctx, j, &fb);
        } else {
            fb = fz_new_buffer(ctx, 256 * 1024);
            build_pdf(ctx, j, fb);
        }
        unsigned char *data;
        size_t len = fz_buffer_storage(ctx, fb, &data);
        rc = buf_add(pdf, data, len);
    }
    fz_always(ctx)
    {
        fz_drop_buffer(ctx, fb);
    }
    fz_catch(ctx)
    {
        if (j->buf_rc)
            rc = j->buf_rc;
        else if (fz_caught(ctx) == FZ_ERROR_MEMORY)
            rc = ETL_ENOMEM;
        else
            rc = ETL_EPDF;
        LOGF(LOG_ERROR, "sample_make_failed",
             LF_S("kind", pdf_sample_kind_name(j->kind)),
             LF_I("index", j->index), LF_S("error", fz_caught_message(ctx)));
    }
    fz_drop_context(ctx);
    return rc;
}

/* ------------------------------------------------------------------ meta */

static void json_str(struct buf *b, const char *s, int *rc)
{
    if (*rc)
        return;
    *rc = buf_addch(b, '"');
    for (; !*rc && *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            *rc = buf_printf(b, "\\%c", ch);
        else if (ch < 0x20)
            *rc = buf_printf(b, "\\u%04x", ch);
        else
            *rc = buf_addch(b, ch);
    }
    if (!*rc)
        *rc = buf_addch(b, '"');
}

static void json_kv(struct buf *b, const char *key, const char *val, int *rc)
{
    if (!*rc)
        *rc = buf_printf(b, ",\"%s\":", key);
    json_str(b, val, rc);
}

static void json_ki(struct buf *b, const char *key, long long v, int *rc)
{
    if (!*rc)
        *rc = buf_printf(b, ",\"%s\":%lld", key, v);
}

static int make_meta(const struct job *j, size_t bytes, struct buf *meta)
{
    const struct smp_report *r = &j->model.rep;
    bool is_pdf = j->kind != SAMPLE_EMPTY && j->kind != SAMPLE_NOT_PDF;
    bool opens = is_pdf && j->kind != SAMPLE_TRUNCATED;
    int rc = buf_printf(meta, "{\"kind\":\"%s\",\"seed\":%llu,\"index\":%d",
                        pdf_sample_kind_name(j->kind),
                        (unsigned long long)j->seed, j->index);
    json_ki(meta, "bytes", (long long)bytes, &rc);
    if (!rc && opens)
        rc = buf_printf(meta, ",\"pages\":%d", j->pages);
    else if (!rc)
        rc = buf_addstr(meta, ",\"pages\":null");
    if (!rc)
        rc = buf_addstr(meta, ",\"page_sizes\":[");
    if (is_pdf && !rc) {
        rc = buf_printf(meta, "[%g,%g]", LETTER_W, LETTER_H);
        if (!rc && j->pages >= 2)
            rc = buf_printf(meta, ",[%g,%g]", j->page2_w, j->page2_h);
    }
    if (!rc)
        rc = buf_addch(meta, ']');
    json_kv(meta, "page2", j->page2, &rc);
    if (!rc && is_pdf)
        rc = buf_printf(meta, ",\"encrypted\":%s",
                        j->kind == SAMPLE_ENCRYPTED ? "true" : "false");
    if (j->kind == SAMPLE_ENCRYPTED)
        json_kv(meta, "user_password", j->password, &rc);
    if (j->kind == SAMPLE_TRUNCATED) {
        json_ki(meta, "truncated_from", (long long)j->truncated_from, &rc);
        json_ki(meta, "intact_pages", j->pages, &rc);
    }
    if (is_pdf) {
        if (j->pages >= 2) {
            json_kv(meta, "layout", pdf_sample_layout_name(j->geo.layout), &rc);
            if (!rc)
                rc = buf_printf(meta,
                                ",\"mm_per_s\":25,\"mm_per_mv\":%g,"
                                "\"sample_dt\":%g,\"calibration\":%s",
                                j->geo.pt_per_mv / SMP_MM, PDF_SAMPLE_DT,
                                j->opts.no_calibration ? "false" : "true");
            /* Only when asked for: default metadata stays as it was. */
            if (!rc && j->opts.no_labels)
                rc = buf_addstr(meta, ",\"labels\":false");
        }
        json_kv(meta, "institution", r->institution, &rc);
        json_kv(meta, "name", r->name, &rc);
        json_kv(meta, "patient_id", r->patient_id, &rc);
        json_kv(meta, "dob", r->dob, &rc);
        json_ki(meta, "age", r->age, &rc);
        json_kv(meta, "sex", r->sex, &rc);
        json_kv(meta, "acquired", r->acquired, &rc);
        json_kv(meta, "device", r->device, &rc);
        json_ki(meta, "vent_rate", r->vent_rate, &rc);
        json_ki(meta, "pr", r->pr, &rc);
        json_ki(meta, "qrs", r->qrs, &rc);
        json_ki(meta, "qt", r->qt, &rc);
        json_ki(meta, "qtc", r->qtc, &rc);
        json_ki(meta, "p_axis", r->p_axis, &rc);
        json_ki(meta, "r_axis", r->r_axis, &rc);
        json_ki(meta, "t_axis", r->t_axis, &rc);
        if (!rc)
            rc = buf_addstr(meta, ",\"interpretation\":[");
        for (int i = 0; i < r->ninterp; i++) {
            if (i && !rc)
                rc = buf_addch(meta, ',');
            json_str(meta, r->interp[i], &rc);
        }
        if (!rc)
            rc = buf_addch(meta, ']');
    }
    if (!rc)
        rc = buf_addch(meta, '}');
    return rc;
}

/* ------------------------------------------------------------------- API */

int pdf_sample_make(uint64_t seed, int index, enum sample_kind kind,
                    struct buf *pdf, struct buf *meta)
{
    return pdf_sample_make_opts(seed, index, kind, NULL, pdf, meta);
}

int pdf_sample_make_opts(uint64_t seed, int index, enum sample_kind kind,
                         const struct pdf_sample_options *opts, struct buf *pdf,
                         struct buf *meta)
{
    static const struct pdf_sample_options defaults = {SAMPLE_LAYOUT_3X4};
    if (!opts)
        opts = &defaults;
    if (!pdf)
        return ETL_EINVAL;
    buf_reset(pdf);
    if (meta)
        buf_reset(meta);
    if (index < 0 || (unsigned)kind >= SAMPLE_KIND_COUNT)
        return ETL_EINVAL;

    /* ~1 KB of model plus geometry: keep it off small thread stacks. */
    struct job *j = calloc(1, sizeof(*j));
    if (!j)
        return ETL_ENOMEM;
    buf_init(&j->content, 0);
    int rc = pdf_sample_geometry(opts->layout, &j->geo);
    if (rc)
        goto out;
    j->opts = *opts;
    j->seed = seed;
    j->index = index;
    j->kind = kind;
    smp_model_init(&j->model, seed, index);
    j->page2_w = LETTER_H;
    j->page2_h = LETTER_W;
    j->page2 = "vector";
    j->pages = 2;
    switch (kind) {
    case SAMPLE_ONE_PAGE:
        j->pages = 1;
        j->page2 = "none";
        break;
    case SAMPLE_EMPTY:
    case SAMPLE_NOT_PDF:
        j->pages = 0;
        j->page2 = "none";
        break;
    case SAMPLE_RASTER_ONLY:
        j->page2 = "raster";
        break;
    case SAMPLE_MANY_PAGES:
        j->pages = PDF_SAMPLE_MANY_PAGES;
        break;
    case SAMPLE_HUGE_PAGE:
        j->page2_w = j->page2_h = PDF_SAMPLE_HUGE_PT;
        break;
    case SAMPLE_ENCRYPTED:
        snprintf(j->password, sizeof(j->password), "ecg-%llu-%d",
                 (unsigned long long)seed, index);
        break;
    default:
        break;
    }

    rc = make_bytes(j, pdf);
    if (rc)
        goto out;
    if (kind == SAMPLE_TRUNCATED) {
        /* Cut well before the xref and trailer: readers must repair. */
        j->truncated_from = pdf->len;
        buf_truncate(pdf, pdf->len * 3 / 5);
    }
    if (meta)
        rc = make_meta(j, pdf->len, meta);

out:
    if (rc) {
        buf_reset(pdf);
        if (meta)
            buf_reset(meta);
    }
    buf_release(&j->content);
    free(j);
    return rc;
}
