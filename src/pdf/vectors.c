/* A page's vector content for waveform extraction: an fz_device that keeps
 * stroked and filled subpaths as polylines, text as runs of glyphs, and
 * the area of images, run over the page's (shared) display list. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "pdf/pdf_int.h"

/* A reset keeps at most this many bytes per array: one huge page must not
 * pin ~70 MB in every worker for the rest of the run. */
#define KEEP_BYTES ((size_t)1 << 20)

int pdf_vectors_new(struct pdf_vectors **out)
{
    *out = calloc(1, sizeof(**out));
    return *out ? 0 : ETL_ENOMEM;
}

void pdf_vectors_free(struct pdf_vectors *v)
{
    if (!v)
        return;
    free(v->points);
    free(v->paths);
    free(v->texts);
    free(v->text);
    free(v);
}

static void shrink(void **p, size_t *cap, size_t elem)
{
    if (*cap * elem > KEEP_BYTES) {
        free(*p);
        *p = NULL;
        *cap = 0;
    }
}

void pdf_vectors_reset(struct pdf_vectors *v)
{
    shrink((void **)&v->points, &v->cap_points, sizeof(*v->points));
    shrink((void **)&v->paths, &v->cap_paths, sizeof(*v->paths));
    shrink((void **)&v->texts, &v->cap_texts, sizeof(*v->texts));
    shrink((void **)&v->text, &v->text_cap, 1);
    v->npoints = v->npaths = v->ntexts = v->text_len = 0;
    v->nimages = 0;
    v->image_area = 0;
    v->page_w = v->page_h = 0;
}

/* Grow *p (cap elements of elem bytes) to hold need, within max. */
static int grow(void **p, size_t *cap, size_t need, size_t elem, size_t max)
{
    if (need <= *cap)
        return 0;
    if (need > max)
        return ETL_EPDF_TOOCOMPLEX;
    size_t n = *cap ? *cap : 256;
    while (n < need)
        n *= 2;
    if (n > max)
        n = max;
    void *q = realloc(*p, n * elem);
    if (!q)
        return ETL_ENOMEM;
    *p = q;
    *cap = n;
    return 0;
}

/* ------------------------------------------------------------ the device */

struct vec_dev {
    fz_device super;
    struct pdf_vectors *v;
    fz_rect page;
    int rc; /* why the device threw: TOOCOMPLEX or ENOMEM */

    /* Path being walked. */
    fz_matrix ctm;
    uint32_t rgb;
    float width;
    bool filled;
    bool open; /* a subpath is open (its pdf_vpath is the last one) */

    /* Text run being built (the last pdf_vtext), continued by the next
     * glyph when it sits where this one's advance ends, in the same
     * direction. along/across are the coordinates along the baseline and
     * across it (see coords()). */
    bool run_open;
    enum pdf_vdir run_dir;
    float run_across, run_end, run_size;
};

static void dev_fail(fz_context *ctx, struct vec_dev *d, int rc)
{
    d->rc = rc;
    fz_throw(ctx, rc == ETL_ENOMEM ? FZ_ERROR_MEMORY : FZ_ERROR_GENERIC,
             "vector collection: %s", etl_strerror(rc));
}

static void add_point(fz_context *ctx, struct vec_dev *d, float x, float y)
{
    struct pdf_vectors *v = d->v;
    int rc = grow((void **)&v->points, &v->cap_points, v->npoints + 1,
                  sizeof(*v->points), PDF_VECTORS_MAX_POINTS);
    if (rc)
        dev_fail(ctx, d, rc);
    fz_point p = fz_transform_point_xy(x, y, d->ctm);
    v->points[v->npoints++] = (struct pdf_vpoint){p.x, p.y};
    v->paths[v->npaths - 1].n++;
}

static void walk_moveto(fz_context *ctx, void *arg, float x, float y)
{
    struct vec_dev *d = arg;
    struct pdf_vectors *v = d->v;
    int rc = grow((void **)&v->paths, &v->cap_paths, v->npaths + 1,
                  sizeof(*v->paths), PDF_VECTORS_MAX_PATHS);
    if (rc)
        dev_fail(ctx, d, rc);
    v->paths[v->npaths++] = (struct pdf_vpath){
        .first = v->npoints,
        .rgb = d->rgb,
        .width = d->width,
        .filled = d->filled,
    };
    d->open = true;
    add_point(ctx, d, x, y);
}

static void walk_lineto(fz_context *ctx, void *arg, float x, float y)
{
    struct vec_dev *d = arg;
    /* A lineto with no moveto (MuPDF normally supplies one). */
    if (!d->open)
        walk_moveto(ctx, arg, x, y);
    else
        add_point(ctx, d, x, y);
}

/* ECG traces are line segments: a curve keeps its end point only. */
static void walk_curveto(fz_context *ctx, void *arg, float x1, float y1,
                         float x2, float y2, float x3, float y3)
{
    (void)x1, (void)y1, (void)x2, (void)y2;
    walk_lineto(ctx, arg, x3, y3);
}

static void walk_closepath(fz_context *ctx, void *arg)
{
    (void)ctx;
    struct vec_dev *d = arg;
    if (d->open) {
        d->v->paths[d->v->npaths - 1].closed = true;
        d->open = false;
    }
}

/* Without the optional callbacks, fz_walk_path turns rectangles into
 * move/line/close and quads into curves. */
static const fz_path_walker walker = {walk_moveto, walk_lineto, walk_curveto,
                                      walk_closepath};

/* Colour as 0xRRGGBB; black when it cannot be converted. */
static uint32_t to_rgb(fz_context *ctx, fz_colorspace *cs, const float *color,
                       fz_color_params cp)
{
    float rgb[3] = {0, 0, 0};
    if (!cs || !color)
        return 0;
    fz_try(ctx)
    {
        fz_convert_color(ctx, cs, color, fz_device_rgb(ctx), rgb, NULL, cp);
    }
    fz_catch(ctx)
    {
        /* An unusual colour space only loses the colour, not the path. */
        rgb[0] = rgb[1] = rgb[2] = 0;
    }
    uint32_t out = 0;
    for (int i = 0; i < 3; i++) {
        float c = rgb[i];
        int b = c >= 1.0f ? 255 : c > 0.0f ? (int)lroundf(c * 255.0f) : 0;
        out = out << 8 | (uint32_t)b;
    }
    return out;
}

static void collect_path(fz_context *ctx, struct vec_dev *d,
                         const fz_path *path, fz_matrix ctm, uint32_t rgb,
                         float width, bool filled)
{
    d->ctm = ctm;
    d->rgb = rgb;
    d->width = width;
    d->filled = filled;
    d->open = false;
    fz_walk_path(ctx, path, &walker, d);
    d->open = false;
}

static void dev_fill_path(fz_context *ctx, fz_device *dev, const fz_path *path,
                          int even_odd, fz_matrix ctm, fz_colorspace *cs,
                          const float *color, float alpha, fz_color_params cp)
{
    (void)even_odd;
    struct vec_dev *d = (struct vec_dev *)dev;
    if (alpha <= 0)
        return;
    collect_path(ctx, d, path, ctm, to_rgb(ctx, cs, color, cp), 0, true);
}

static void dev_stroke_path(fz_context *ctx, fz_device *dev,
                            const fz_path *path, const fz_stroke_state *ss,
                            fz_matrix ctm, fz_colorspace *cs,
                            const float *color, float alpha, fz_color_params cp)
{
    struct vec_dev *d = (struct vec_dev *)dev;
    if (alpha <= 0)
        return;
    float w = ss ? ss->linewidth * fz_matrix_expansion(ctm) : 1;
    collect_path(ctx, d, path, ctm, to_rgb(ctx, cs, color, cp), w, false);
}

/* ------------------------------------------------------------------ text */

static void text_append(fz_context *ctx, struct vec_dev *d, int ucs)
{
    struct pdf_vectors *v = d->v;
    char utf[FZ_UTFMAX];
    /* Unknown characters (-1) and controls still mark a glyph's place. */
    int n = fz_runetochar(utf, ucs > 0 ? ucs : 0xfffd);
    /* Room for the bytes and the NUL that ends the run. */
    int rc = grow((void **)&v->text, &v->text_cap, v->text_len + (size_t)n + 1,
                  1, PDF_VECTORS_MAX_TEXT_BYTES);
    if (rc)
        dev_fail(ctx, d, rc);
    memcpy(v->text + v->text_len, utf, (size_t)n);
    v->text_len += (size_t)n;
    v->text[v->text_len] = '\0';
    v->texts[v->ntexts - 1].len += (size_t)n;
}

/* Position along and across a baseline running in direction dir. */
static void coords(enum pdf_vdir dir, fz_point p, float *along, float *across)
{
    switch (dir) {
    case PDF_VDIR_RIGHT:
        *along = p.x;
        *across = p.y;
        break;
    case PDF_VDIR_DOWN:
        *along = p.y;
        *across = p.x;
        break;
    case PDF_VDIR_LEFT:
        *along = -p.x;
        *across = p.y;
        break;
    default:
        *along = -p.y;
        *across = p.x;
        break;
    }
}

/* The page point `along` on a baseline `across` in direction dir. */
static fz_point point_of(enum pdf_vdir dir, float along, float across)
{
    switch (dir) {
    case PDF_VDIR_RIGHT:
        return fz_make_point(along, across);
    case PDF_VDIR_DOWN:
        return fz_make_point(across, along);
    case PDF_VDIR_LEFT:
        return fz_make_point(-along, across);
    default:
        return fz_make_point(across, -along);
    }
}

/* Which of the four directions the text matrix writes in; false for
 * slanted text (no lead label is printed at an angle). */
static bool text_dir(fz_matrix trm, enum pdf_vdir *out)
{
    float len = sqrtf(trm.a * trm.a + trm.b * trm.b);
    if (!(len > 0))
        return false;
    float cx = trm.a / len, cy = trm.b / len;
    /* Within ~5 degrees of an axis. */
    if (cx > 0.996f)
        *out = PDF_VDIR_RIGHT;
    else if (cy > 0.996f)
        *out = PDF_VDIR_DOWN;
    else if (cx < -0.996f)
        *out = PDF_VDIR_LEFT;
    else if (cy < -0.996f)
        *out = PDF_VDIR_UP;
    else
        return false;
    return true;
}

static void run_start(fz_context *ctx, struct vec_dev *d, fz_point p,
                      float size, enum pdf_vdir dir)
{
    struct pdf_vectors *v = d->v;
    /* Each run's bytes are followed by a NUL: a new run starts past the
     * previous one's, and has its own from the start (it may stay empty
     * when its glyphs have no Unicode value). */
    size_t off = v->ntexts ? v->text_len + 1 : 0;
    int rc = grow((void **)&v->texts, &v->cap_texts, v->ntexts + 1,
                  sizeof(*v->texts), PDF_VECTORS_MAX_TEXTS);
    if (!rc)
        rc = grow((void **)&v->text, &v->text_cap, off + 1, 1,
                  PDF_VECTORS_MAX_TEXT_BYTES);
    if (rc)
        dev_fail(ctx, d, rc);
    v->text_len = off;
    v->text[off] = '\0';
    v->texts[v->ntexts++] = (struct pdf_vtext){.off = off,
                                               .x = p.x,
                                               .y = p.y,
                                               .x1 = p.x,
                                               .y1 = p.y,
                                               .size = size,
                                               .dir = dir};
    float along;
    coords(dir, p, &along, &d->run_across);
    d->run_open = true;
    d->run_dir = dir;
    d->run_end = along;
    d->run_size = size;
}

static void collect_text(fz_context *ctx, struct vec_dev *d,
                         const fz_text *text, fz_matrix ctm)
{
    for (const fz_text_span *span = text->head; span; span = span->next) {
        fz_matrix trm = fz_concat(span->trm, ctm);
        float size = fz_matrix_expansion(trm);
        enum pdf_vdir dir;
        /* Vertical or slanted text is not a lead label. */
        if (span->wmode || !(size > 0) || !isfinite(size) ||
            !text_dir(trm, &dir)) {
            d->run_open = false;
            continue;
        }
        for (int i = 0; i < span->len; i++) {
            const fz_text_item *it = &span->items[i];
            fz_point p = fz_transform_point_xy(it->x, it->y, ctm);
            if (it->ucs == ' ' || it->ucs == '\t' || it->ucs == 0xa0) {
                d->run_open = false;
                continue;
            }
            float adv = 0;
            if (it->gid >= 0)
                adv = fz_advance_glyph(ctx, span->font, it->gid, 0) * size;
            float along, across;
            coords(dir, p, &along, &across);
            bool joins = d->run_open && d->run_dir == dir &&
                         fabsf(across - d->run_across) < 0.2f * size &&
                         fabsf(size - d->run_size) < 0.2f * size &&
                         along >= d->run_end - 0.2f * size &&
                         along <= d->run_end + 0.2f * size;
            /* One glyph of several characters (a ligature) follows with
             * gid -1 at the same place. */
            if (it->gid < 0 && d->run_open)
                joins = true;
            if (!joins)
                run_start(ctx, d, p, size, dir);
            if (it->ucs >= 0)
                text_append(ctx, d, it->ucs);
            if (it->gid >= 0) {
                d->run_end = along + (isfinite(adv) ? adv : 0);
                struct pdf_vtext *t = &d->v->texts[d->v->ntexts - 1];
                fz_point e = point_of(d->run_dir, d->run_end, d->run_across);
                t->x1 = e.x;
                t->y1 = e.y;
            }
        }
    }
}

static void dev_fill_text(fz_context *ctx, fz_device *dev, const fz_text *text,
                          fz_matrix ctm, fz_colorspace *cs, const float *color,
                          float alpha, fz_color_params cp)
{
    (void)cs, (void)color, (void)cp;
    if (alpha > 0)
        collect_text(ctx, (struct vec_dev *)dev, text, ctm);
}

static void dev_stroke_text(fz_context *ctx, fz_device *dev,
                            const fz_text *text, const fz_stroke_state *ss,
                            fz_matrix ctm, fz_colorspace *cs,
                            const float *color, float alpha, fz_color_params cp)
{
    (void)ss, (void)cs, (void)color, (void)cp;
    if (alpha > 0)
        collect_text(ctx, (struct vec_dev *)dev, text, ctm);
}

/* ---------------------------------------------------------------- images */

static void add_image(struct vec_dev *d, fz_matrix ctm)
{
    /* An image fills the unit square mapped by ctm. */
    fz_rect r = fz_transform_rect(fz_unit_rect, ctm);
    r = fz_intersect_rect(r, d->page);
    d->v->nimages++;
    if (!fz_is_empty_rect(r) && fz_is_valid_rect(r))
        d->v->image_area += (double)(r.x1 - r.x0) * (double)(r.y1 - r.y0);
}

static void dev_fill_image(fz_context *ctx, fz_device *dev, fz_image *img,
                           fz_matrix ctm, float alpha, fz_color_params cp)
{
    (void)ctx, (void)img, (void)cp;
    if (alpha > 0)
        add_image((struct vec_dev *)dev, ctm);
}

static void dev_fill_image_mask(fz_context *ctx, fz_device *dev, fz_image *img,
                                fz_matrix ctm, fz_colorspace *cs,
                                const float *color, float alpha,
                                fz_color_params cp)
{
    (void)ctx, (void)img, (void)cs, (void)color, (void)cp;
    if (alpha > 0)
        add_image((struct vec_dev *)dev, ctm);
}

/* ------------------------------------------------------------------- API */

static fz_device *new_vec_dev(fz_context *ctx, struct pdf_vectors *v,
                              fz_rect page)
{
    struct vec_dev *d = fz_new_derived_device(ctx, struct vec_dev);
    d->super.fill_path = dev_fill_path;
    d->super.stroke_path = dev_stroke_path;
    d->super.fill_text = dev_fill_text;
    d->super.stroke_text = dev_stroke_text;
    d->super.fill_image = dev_fill_image;
    d->super.fill_image_mask = dev_fill_image_mask;
    d->v = v;
    d->page = page;
    return &d->super;
}

int pdf_doc_vectors(struct pdf_doc *d, int page, struct pdf_vectors *out)
{
    if (!d || !out)
        return ETL_EINVAL;
    pdf_vectors_reset(out);
    int rc = pdf_op_begin(d);
    if (rc)
        return rc;
    rc = pdfi_load_page(d, page);
    fz_display_list *list = NULL;
    if (!rc)
        rc = pdfi_doc_list(d, &list);
    if (rc)
        return pdf_op_end(d, rc);

    fz_context *ctx = d->w->ctx;
    fz_device *dev = NULL;
    fz_var(dev);
    fz_var(rc);
    fz_try(ctx)
    {
        fz_rect bounds = fz_bound_page(ctx, d->page);
        out->page_w = bounds.x1 - bounds.x0;
        out->page_h = bounds.y1 - bounds.y0;
        dev = new_vec_dev(ctx, out, bounds);
        /* Identity: the list holds page space, the space the crop regions
         * and waveform extraction use. */
        fz_run_display_list(ctx, list, dev, fz_identity, fz_infinite_rect,
                            &d->cookie);
        fz_close_device(ctx, dev);
    }
    fz_always(ctx)
    {
        if (dev)
            rc = ((struct vec_dev *)dev)->rc;
        fz_drop_device(ctx, dev);
    }
    fz_catch(ctx)
    {
        if (!rc)
            rc = pdf_caught_code(ctx, ETL_EPDF_DAMAGED);
        char text[PDF_LOG_MESSAGE_MAX];
        LOGF(LOG_DEBUG, "pdf_op_failed", LF_S("op", "vectors"),
             LF_S("error", etl_errname(rc)),
             LF_S("message",
                  pdf_log_message(fz_caught_message(ctx), text, sizeof(text))));
    }
    rc = pdf_op_end(d, rc);
    if (rc)
        pdf_vectors_reset(out);
    return rc;
}
