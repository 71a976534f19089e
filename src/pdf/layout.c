/* Text layout: MuPDF's text lines cut into spans at wide gaps (pdf.h).
 * doc.c walks the text page once and hands each character that the text
 * holds to pdfi_layout_char(), so the layout costs no second pass over the
 * page's content. */
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"
#include "core/err.h"
#include "pdf/pdf_int.h"

#define KEEP_BYTES ((size_t)1 << 20)
/* Gaps narrower than this many ems without a blank are still a word
 * break: MuPDF may position words apart instead of printing a space. */
#define WORD_GAP_EM 0.25f

int pdf_layout_new(struct pdf_layout **out)
{
    *out = calloc(1, sizeof(**out));
    return *out ? 0 : ETL_ENOMEM;
}

void pdf_layout_free(struct pdf_layout *l)
{
    if (!l)
        return;
    free(l->spans);
    free(l->text);
    free(l);
}

void pdf_layout_reset(struct pdf_layout *l)
{
    if (l->cap_spans * sizeof(*l->spans) > KEEP_BYTES) {
        free(l->spans);
        l->spans = NULL;
        l->cap_spans = 0;
    }
    if (l->text_cap > KEEP_BYTES) {
        free(l->text);
        l->text = NULL;
        l->text_cap = 0;
    }
    l->nspans = l->text_len = 0;
    l->page_w = l->page_h = 0;
    l->truncated = false;
}

/* Room for need more bytes of text (and the NUL after them). */
static int text_room(struct pdf_layout *l, size_t need)
{
    if (l->text_len + need + 1 <= l->text_cap)
        return 0;
    if (l->text_len + need + 1 > PDF_LAYOUT_MAX_TEXT_BYTES)
        return ETL_ETOOBIG;
    size_t n = l->text_cap ? l->text_cap : 4096;
    while (n < l->text_len + need + 1)
        n *= 2;
    if (n > PDF_LAYOUT_MAX_TEXT_BYTES)
        n = PDF_LAYOUT_MAX_TEXT_BYTES;
    char *t = realloc(l->text, n);
    if (!t)
        return ETL_ENOMEM;
    l->text = t;
    l->text_cap = n;
    return 0;
}

static int span_room(struct pdf_layout *l)
{
    if (l->nspans < l->cap_spans)
        return 0;
    if (l->nspans >= PDF_LAYOUT_MAX_SPANS)
        return ETL_ETOOBIG;
    size_t n = l->cap_spans ? l->cap_spans * 2 : 256;
    if (n > PDF_LAYOUT_MAX_SPANS)
        n = PDF_LAYOUT_MAX_SPANS;
    struct pdf_span *s = realloc(l->spans, n * sizeof(*s));
    if (!s)
        return ETL_ENOMEM;
    l->spans = s;
    l->cap_spans = n;
    return 0;
}

/* A cap reached cuts the layout short; running out of memory fails it. */
static void layout_fail(struct pdfi_layout_acc *a, int rc)
{
    if (rc == ETL_ETOOBIG)
        a->l->truncated = true;
    else if (!a->rc)
        a->rc = rc;
    a->stopped = true;
}

void pdfi_layout_begin(struct pdfi_layout_acc *a, struct pdf_layout *l)
{
    memset(a, 0, sizeof(*a));
    a->l = l;
    pdf_layout_reset(l);
}

void pdfi_layout_line(struct pdfi_layout_acc *a, const fz_stext_line *line)
{
    a->open = false;
    a->blanks = 0;
    a->dir = line->dir;
    a->line_no++;
}

static bool is_blank(int c)
{
    return c == ' ' || c < 0x20 || c == 0xa0 || (c >= 0x2000 && c <= 0x200b) ||
           c == 0x202f || c == 0x205f || c == 0x3000 || c == 0xfeff;
}

static float along(fz_point p, fz_point dir)
{
    return p.x * dir.x + p.y * dir.y;
}

void pdfi_layout_char(struct pdfi_layout_acc *a, const fz_stext_char *ch,
                      fz_rect box)
{
    if (a->stopped)
        return;
    if (is_blank(ch->c)) {
        a->blanks += a->open;
        return;
    }
    struct pdf_layout *l = a->l;
    float start = along(ch->quad.ll, a->dir);
    float end = along(ch->quad.lr, a->dir);
    struct pdf_span *s = a->open ? &l->spans[l->nspans - 1] : NULL;
    bool space = false;
    if (s) {
        float size = ch->size > s->size ? ch->size : s->size;
        float gap = start - a->end;
        if (a->blanks >= 3 || gap > PDF_SPAN_GAP_EM * size ||
            gap < -PDF_SPAN_GAP_EM * size)
            s = NULL; /* a wide gap (or a jump back): a new span */
        else
            space = a->blanks > 0 || gap > WORD_GAP_EM * size;
    }
    char utf[5];
    size_t n = utf8_encode(ch->c, utf);
    int rc = text_room(l, n + 1); /* + a space or a NUL before */
    if (!rc && !s)
        rc = span_room(l);
    if (!rc && (!l->text || !l->spans))
        rc = ETL_ENOMEM; /* cannot be: both rooms were made */
    if (rc) {
        layout_fail(a, rc);
        return;
    }
    if (!s) {
        if (l->nspans)
            l->text_len++; /* past the NUL that ends the previous span */
        s = &l->spans[l->nspans++];
        *s = (struct pdf_span){.off = l->text_len,
                               .x0 = box.x0,
                               .y0 = box.y0,
                               .x1 = box.x1,
                               .y1 = box.y1,
                               .bx = ch->origin.x,
                               .by = ch->origin.y,
                               .size = ch->size,
                               .dx = a->dir.x,
                               .dy = a->dir.y,
                               .line = a->line_no - 1};
        a->open = true;
    } else {
        if (space)
            l->text[l->text_len++] = ' ';
        s->x0 = box.x0 < s->x0 ? box.x0 : s->x0;
        s->y0 = box.y0 < s->y0 ? box.y0 : s->y0;
        s->x1 = box.x1 > s->x1 ? box.x1 : s->x1;
        s->y1 = box.y1 > s->y1 ? box.y1 : s->y1;
        if (ch->size > s->size)
            s->size = ch->size;
    }
    memcpy(l->text + l->text_len, utf, n);
    l->text_len += n;
    l->text[l->text_len] = '\0';
    s->len = l->text_len - s->off;
    a->end = end;
    a->blanks = 0;
}

int pdfi_layout_end(struct pdfi_layout_acc *a)
{
    struct pdf_layout *l = a->l;
    if (l->text_len < l->text_cap)
        l->text[l->text_len] = '\0';
    if (a->rc)
        pdf_layout_reset(l);
    return a->rc;
}
