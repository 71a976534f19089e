/* Previews: the crop page with the regions drawn on it, as a PNG, so a
 * user can check by eye that regions sit on the leads.
 *
 * Outlines, label backgrounds and ruler ticks are written straight into
 * the pixmap's samples (exact colours, so tests can check pixels); only
 * the text goes through MuPDF's draw device (anti-aliased Helvetica). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "pdf/pdf_int.h"

#define LABEL_PX 11.0f /* label text size, pixels */
#define LABEL_H 15     /* label background height */
#define LABEL_PAD 3
#define RULER_TEXT_PX 9.0f

static void fill_rect(fz_context *ctx, fz_pixmap *pix, fz_irect r, uint32_t rgb)
{
    fz_irect pb = fz_pixmap_bbox(ctx, pix);
    r = fz_intersect_irect(r, pb);
    if (fz_is_empty_irect(r))
        return;
    unsigned char *s = fz_pixmap_samples(ctx, pix);
    ptrdiff_t stride = fz_pixmap_stride(ctx, pix);
    unsigned char c[3] = {(unsigned char)(rgb >> 16), (unsigned char)(rgb >> 8),
                          (unsigned char)rgb};
    for (int y = r.y0; y < r.y1; y++) {
        unsigned char *p =
            s + (ptrdiff_t)(y - pb.y0) * stride + (ptrdiff_t)(r.x0 - pb.x0) * 3;
        for (int x = r.x0; x < r.x1; x++, p += 3)
            memcpy(p, c, 3);
    }
}

static fz_irect irect(int x0, int y0, int x1, int y1)
{
    fz_irect r = {x0, y0, x1, y1};
    return r;
}

static void outline(fz_context *ctx, fz_pixmap *pix, struct pdf_irect b,
                    uint32_t rgb)
{
    const int w = PDF_PREVIEW_LINE;
    if (b.x1 - b.x0 <= 2 * w || b.y1 - b.y0 <= 2 * w) {
        fill_rect(ctx, pix, irect(b.x0, b.y0, b.x1, b.y1), rgb);
        return;
    }
    fill_rect(ctx, pix, irect(b.x0, b.y0, b.x1, b.y0 + w), rgb);
    fill_rect(ctx, pix, irect(b.x0, b.y1 - w, b.x1, b.y1), rgb);
    fill_rect(ctx, pix, irect(b.x0, b.y0, b.x0 + w, b.y1), rgb);
    fill_rect(ctx, pix, irect(b.x1 - w, b.y0, b.x1, b.y1), rgb);
}

static void rgb_floats(uint32_t rgb, float out[3])
{
    out[0] = (float)((rgb >> 16) & 0xff) / 255.0f;
    out[1] = (float)((rgb >> 8) & 0xff) / 255.0f;
    out[2] = (float)(rgb & 0xff) / 255.0f;
}

/* Text with its baseline starting at (x, y), in device pixels. Throws. */
static fz_text *make_text(fz_context *ctx, fz_font *font, const char *s,
                          float size, float x, float y)
{
    fz_text *text = fz_new_text(ctx);
    fz_try(ctx)
    {
        fz_matrix trm = fz_make_matrix(size, 0, 0, -size, x, y);
        fz_show_string(ctx, text, font, trm, s, 0, 0, FZ_BIDI_LTR,
                       FZ_LANG_UNSET);
    }
    fz_catch(ctx)
    {
        fz_drop_text(ctx, text);
        fz_rethrow(ctx);
    }
    return text;
}

static float text_width(fz_context *ctx, fz_font *font, const char *s,
                        float size)
{
    fz_matrix end = fz_measure_string(ctx, font, fz_scale(size, -size), s, 0, 0,
                                      FZ_BIDI_LTR, FZ_LANG_UNSET);
    return end.e;
}

static void draw_text(fz_context *ctx, fz_device *dev, fz_font *font,
                      const char *s, float size, float x, float y, uint32_t rgb)
{
    float color[3];
    rgb_floats(rgb, color);
    fz_text *text = make_text(ctx, font, s, size, x, y);
    fz_try(ctx)
    {
        fz_fill_text(ctx, dev, text, fz_identity, fz_device_rgb(ctx), color, 1,
                     fz_default_color_params);
    }
    fz_always(ctx)
    {
        fz_drop_text(ctx, text);
    }
    fz_catch(ctx)
    {
        fz_rethrow(ctx);
    }
}

/* A label on a background of the mark's colour at the box's top-left
 * corner, moved inside the canvas when the corner is not. */
static void draw_label(fz_context *ctx, fz_device *dev, fz_font *font,
                       fz_pixmap *pix, const struct pdf_mark *m)
{
    fz_irect cv = fz_pixmap_bbox(ctx, pix);
    int w =
        (int)ceilf(text_width(ctx, font, m->label, LABEL_PX)) + 2 * LABEL_PAD;
    int x = m->box.x0, y = m->box.y0;
    if (x + w > cv.x1)
        x = cv.x1 - w;
    if (x < cv.x0)
        x = cv.x0;
    if (y + LABEL_H > cv.y1)
        y = cv.y1 - LABEL_H;
    if (y < cv.y0)
        y = cv.y0;
    fill_rect(ctx, pix, irect(x, y, x + w, y + LABEL_H), m->rgb);
    /* White text, or black on a light background. */
    unsigned r = (m->rgb >> 16) & 0xff, g = (m->rgb >> 8) & 0xff,
             b = m->rgb & 0xff;
    uint32_t ink = 299 * r + 587 * g + 114 * b > 150000 ? 0x000000 : 0xffffff;
    draw_text(ctx, dev, font, m->label, LABEL_PX, (float)(x + LABEL_PAD),
              (float)(y + LABEL_H - 4), ink);
}

static int px_of_pt(double v, int dpi)
{
    return (int)floor(v * dpi / 72.0 + 0.5);
}

/* Ticks along the top and left page edges in the margin; numbers every
 * 100 pt. */
static void draw_rulers(fz_context *ctx, fz_device *dev, fz_font *font,
                        fz_pixmap *pix, fz_irect page, int dpi)
{
    const uint32_t ink = PDF_PREVIEW_RULER;
    char num[16];
    double w_pt = (page.x1 - page.x0) * 72.0 / dpi;
    double h_pt = (page.y1 - page.y0) * 72.0 / dpi;
    for (int v = 0; v <= (int)w_pt; v += 10) {
        int x = page.x0 + px_of_pt(v, dpi);
        int len = v % 100 == 0 ? 16 : v % 50 == 0 ? 10 : 5;
        fill_rect(ctx, pix, irect(x, page.y0 - len, x + 1, page.y0), ink);
        if (v % 100 == 0) {
            snprintf(num, sizeof(num), "%d", v);
            draw_text(ctx, dev, font, num, RULER_TEXT_PX, (float)x + 2,
                      (float)(page.y0 - 19), ink);
        }
    }
    for (int v = 0; v <= (int)h_pt; v += 10) {
        int y = page.y0 + px_of_pt(v, dpi);
        int len = v % 100 == 0 ? 16 : v % 50 == 0 ? 10 : 5;
        fill_rect(ctx, pix, irect(page.x0 - len, y, page.x0, y + 1), ink);
        if (v % 100 == 0) {
            snprintf(num, sizeof(num), "%d", v);
            float tw = text_width(ctx, font, num, RULER_TEXT_PX);
            draw_text(ctx, dev, font, num, RULER_TEXT_PX,
                      (float)(page.x0 - 18) - tw, (float)y + 4, ink);
        }
    }
    draw_text(ctx, dev, font, "pt", RULER_TEXT_PX, (float)(page.x0 - 18),
              (float)(page.y0 - 19), ink);
}

static fz_irect grown(fz_irect r, int m)
{
    fz_irect g = {r.x0 - m, r.y0 - m, r.x1 + m, r.y1 + m};
    return g;
}

int pdf_doc_preview(struct pdf_doc *d, int page, int dpi,
                    const struct pdf_irect *redact, size_t nredact,
                    const struct pdf_mark *marks, size_t nmarks,
                    struct buf *png)
{
    if (!d || dpi <= 0 || !png || (nredact && !redact) || (nmarks && !marks))
        return ETL_EINVAL;
    int rc = pdf_op_begin(d);
    if (rc)
        return rc;
    rc = pdfi_load_page(d, page);
    if (rc)
        return pdf_op_end(d, rc);

    fz_context *ctx = d->w->ctx;
    const struct pdf_engine *e = d->w->e;
    fz_display_list *list = NULL;
    fz_pixmap *pix = NULL;
    fz_device *dev = NULL;
    fz_font *font = NULL;
    fz_buffer *out = NULL;
    fz_var(list);
    fz_var(pix);
    fz_var(dev);
    fz_var(font);
    fz_var(out);
    fz_var(rc);
    fz_try(ctx)
    {
        fz_irect full = pdfi_page_irect(ctx, d->page, dpi);
        fz_irect canvas = grown(full, PDF_PREVIEW_MARGIN);
        int64_t npx =
            (int64_t)(canvas.x1 - canvas.x0) * (canvas.y1 - canvas.y0);
        if (e->limits.max_region_pixels > 0 &&
            npx > e->limits.max_region_pixels) {
            rc = ETL_EPDF_TOOCOMPLEX;
            break; /* leaves fz_try */
        }
        list = pdfi_page_list(ctx, d->page, &d->cookie);
        pix = fz_new_pixmap_with_bbox(ctx, fz_device_rgb(ctx), canvas, NULL, 0);
        fz_clear_pixmap_with_value(ctx, pix, PDF_PREVIEW_BACKGROUND & 0xff);
        struct pdf_irect page_px = {full.x0, full.y0, full.x1, full.y1};
        pdfi_paint_white(ctx, pix, &page_px, 1);
        dev = fz_new_draw_device(ctx, fz_identity, pix);
        fz_run_display_list(ctx, list, dev, pdfi_dpi_matrix(dpi),
                            fz_rect_from_irect(full), &d->cookie);
        fz_close_device(ctx, dev);
        fz_drop_device(ctx, dev);
        dev = NULL;
        pdfi_paint_white(ctx, pix, redact, nredact);

        for (size_t i = 0; i < nmarks; i++)
            outline(ctx, pix, marks[i].box, marks[i].rgb);
        font = fz_new_base14_font(ctx, "Helvetica");
        dev = fz_new_draw_device(ctx, fz_identity, pix);
        draw_rulers(ctx, dev, font, pix, full, dpi);
        for (size_t i = 0; i < nmarks; i++)
            if (marks[i].label && *marks[i].label)
                draw_label(ctx, dev, font, pix, &marks[i]);
        fz_close_device(ctx, dev);
        out =
            fz_new_buffer_from_pixmap_as_png(ctx, pix, fz_default_color_params);
    }
    fz_always(ctx)
    {
        fz_drop_device(ctx, dev);
        fz_drop_font(ctx, font);
        fz_drop_pixmap(ctx, pix);
        fz_drop_display_list(ctx, list);
    }
    fz_catch(ctx)
    {
        rc = pdf_caught_code(ctx, ETL_EPDF_DAMAGED);
        char text[PDF_LOG_MESSAGE_MAX];
        LOGF(LOG_DEBUG, "pdf_op_failed", LF_S("op", "preview"),
             LF_S("error", etl_errname(rc)),
             LF_S("message",
                  pdf_log_message(fz_caught_message(ctx), text, sizeof(text))));
    }
    rc = pdf_op_end(d, rc);
    if (!rc && out) {
        unsigned char *data = NULL;
        size_t len = fz_buffer_storage(ctx, out, &data);
        rc = buf_add(png, data, len);
    }
    fz_drop_buffer(ctx, out);
    return rc;
}
