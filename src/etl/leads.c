/* Lead crops (CROP_LEADS): the strip of each lead found on a page is
 * rendered while that page's display list is at hand; once the document
 * is read, each lead's strips (one per page it is drawn on) are put side
 * by side, top-aligned on white, and encoded as one JPEG. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "etl/etl_int.h"

/* What one PDF's lead crops may hold in pixels (3 bytes each): a 12-lead
 * page at 300 dpi needs about 13 million, a 30 s six-lead recording over
 * four pages about 22 million. */
#define LEAD_MAX_PIXELS ((int64_t)24 * 1000 * 1000)

struct lead_part {
    size_t lead;
    int w, h;
    unsigned char *px; /* packed RGB rows */
};

struct etl_leads {
    struct lead_part *part;
    size_t n, cap;
    int64_t pixels;
    bool over; /* a part was left out: LEAD_MAX_PIXELS */
    struct {
        char name[8];
        bool rhythm;
    } lead[ETL_MAX_LEAD_CROPS];
    size_t nleads; /* lead indices seen: 0 .. nleads - 1 */
};

int etl_leads_new(struct etl_leads **out)
{
    *out = calloc(1, sizeof(**out));
    return *out ? 0 : ETL_ENOMEM;
}

void etl_leads_reset(struct etl_leads *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->part[i].px);
    free(l->part);
    memset(l, 0, sizeof(*l));
}

void etl_leads_free(struct etl_leads *l)
{
    if (!l)
        return;
    etl_leads_reset(l);
    free(l);
}

struct render_arg {
    struct etl_leads *l;
    const size_t *lead_of; /* box index -> lead index */
};

static int keep_part(void *varg, size_t index, const unsigned char *rgb, int w,
                     int h, ptrdiff_t stride)
{
    struct render_arg *a = varg;
    struct etl_leads *l = a->l;
    int64_t px = (int64_t)w * h;
    if (l->pixels + px > LEAD_MAX_PIXELS) {
        l->over = true;
        return 0;
    }
    if (l->n == l->cap) {
        size_t c = l->cap ? 2 * l->cap : 16;
        struct lead_part *q = realloc(l->part, c * sizeof(*q));
        if (!q)
            return ETL_ENOMEM;
        l->part = q;
        l->cap = c;
    }
    unsigned char *copy = malloc((size_t)px * 3);
    if (!copy)
        return ETL_ENOMEM;
    for (int y = 0; y < h; y++)
        memcpy(copy + (size_t)y * w * 3, rgb + y * stride, (size_t)w * 3);
    l->part[l->n++] = (struct lead_part){a->lead_of[index], w, h, copy};
    l->pixels += px;
    return 0;
}

int etl_leads_add_page(struct etl_leads *l, struct pdf_doc *doc, int page,
                       int dpi, const struct wave_page_info *info,
                       const struct pdf_irect *redact, size_t nredact,
                       enum pdf_render_mode mode)
{
    struct pdf_irect page_px, boxes[ETL_MAX_LEAD_CROPS];
    size_t lead_of[ETL_MAX_LEAD_CROPS], nbox = 0;
    int rc = pdf_doc_page_pixels(doc, page, dpi, &page_px);
    if (rc)
        return rc;
    double k = dpi / 72.0;
    for (size_t i = 0; i < info->nstrips && nbox < ETL_MAX_LEAD_CROPS; i++) {
        const struct wave_strip *s = &info->strips[i];
        if (s->lead >= ETL_MAX_LEAD_CROPS)
            continue;
        /* Outwards to whole pixels, then onto the page. */
        struct pdf_irect b = {
            (int)floor(s->box.x0 * k), (int)floor(s->box.y0 * k),
            (int)ceil(s->box.x1 * k), (int)ceil(s->box.y1 * k)};
        b.x0 = b.x0 < page_px.x0 ? page_px.x0 : b.x0;
        b.y0 = b.y0 < page_px.y0 ? page_px.y0 : b.y0;
        b.x1 = b.x1 > page_px.x1 ? page_px.x1 : b.x1;
        b.y1 = b.y1 > page_px.y1 ? page_px.y1 : b.y1;
        if (b.x0 >= b.x1 || b.y0 >= b.y1)
            continue;
        boxes[nbox] = b;
        lead_of[nbox++] = s->lead;
        memcpy(l->lead[s->lead].name, s->name, sizeof(s->name));
        l->lead[s->lead].rhythm = s->rhythm;
        if (s->lead + 1 > l->nleads)
            l->nleads = s->lead + 1;
    }
    if (!nbox)
        return 0;
    struct render_arg a = {l, lead_of};
    return pdf_doc_render_redacted(doc, page, dpi, boxes, nbox, redact, nredact,
                                   mode, keep_part, &a);
}

/* "lead_II", "lead_II_rhythm", "lead_unnamed"; a second one of the same
 * gets "_2", and so on. */
static void crop_name(const struct etl_leads *l, size_t lead, char *out,
                      size_t cap)
{
    const char *name = l->lead[lead].name;
    bool rhythm = l->lead[lead].rhythm;
    int same = 1;
    for (size_t i = 0; i < lead; i++)
        same +=
            strcmp(l->lead[i].name, name) == 0 && l->lead[i].rhythm == rhythm;
    if (strcmp(name, "?") == 0)
        name = "unnamed";
    char suffix[16] = "";
    if (same > 1)
        snprintf(suffix, sizeof(suffix), "_%d", same);
    snprintf(out, cap, "lead_%s%s%s", name, rhythm ? "_rhythm" : "", suffix);
}

int etl_leads_encode(struct etl_leads *l, struct img_jpeg *jpeg, int quality,
                     struct buf *jpegs, char (*names)[ETL_LEAD_NAME_MAX],
                     size_t *n_out)
{
    size_t n = 0;
    int rc = 0;
    for (size_t lead = 0; !rc && lead < l->nleads; lead++) {
        int w = 0, h = 0;
        for (size_t i = 0; i < l->n; i++) {
            if (l->part[i].lead == lead) {
                w += l->part[i].w;
                h = l->part[i].h > h ? l->part[i].h : h;
            }
        }
        if (!w || !h)
            continue;
        unsigned char *px = malloc((size_t)w * h * 3);
        if (!px) {
            rc = ETL_ENOMEM;
            break;
        }
        memset(px, 0xff, (size_t)w * h * 3);
        int x = 0;
        for (size_t i = 0; i < l->n; i++) {
            const struct lead_part *p = &l->part[i];
            if (p->lead != lead)
                continue;
            for (int y = 0; y < p->h; y++)
                memcpy(px + ((size_t)y * w + x) * 3,
                       p->px + (size_t)y * p->w * 3, (size_t)p->w * 3);
            x += p->w;
        }
        rc = img_jpeg_encode(jpeg, px, w, h, (ptrdiff_t)w * 3, quality,
                             &jpegs[n]);
        free(px);
        if (!rc) {
            crop_name(l, lead, names[n], ETL_LEAD_NAME_MAX);
            n++;
        }
    }
    *n_out = n;
    return rc;
}

bool etl_leads_over_budget(const struct etl_leads *l)
{
    return l->over;
}
