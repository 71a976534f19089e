/* libFuzzer target: waveform extraction (ecg/wave_page.c, ecg/waveform.c)
 * on pages of vectors decoded from the input, without MuPDF, so that
 * every branch of the page reader (grid, legend, pulses, labels, cuts,
 * layouts, rotation) and of the joining of pages is reached at memory
 * speed. Seeds come from real and drawn ECG pages (`ecg_waves --fuzz-seed`
 * writes one).
 *
 * Input: records, each a tag byte then its fields (little endian):
 *   'N' u16 w, u16 h                 a new page of w x h points
 *   'P' u8 flags, u8 pen, u16 n, n x (i16 x, i16 y)   a subpath; flags bit 0
 *       filled, bit 1 closed; coordinates in 1/16 pt
 *   'T' u8 dir, i16 x, i16 y, i16 x1, i16 y1, u8 size, u8 len, len bytes
 *       a text run (1/16 pt; size in 1/4 pt)
 *   'I' u16 area                    an image of area * 64 pt^2
 * Anything else ends the input. Pages are read in order into one document.
 *
 * Checks: no crash, no leak, bounded time; the status fits the leads;
 * every lead has samples, all finite; times are finite; strips name leads
 * that exist, with finite boxes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "ecg/waveform.h"
#include "fuzz.h"
#include "pdf/pdf.h"

#define MAX_PTS 65536
#define MAX_PATHS 16384
#define MAX_TEXTS 1024
#define MAX_TEXT_BYTES 16384
#define MAX_PAGES 6

static struct pdf_vpoint pts[MAX_PTS];
static struct pdf_vpath paths[MAX_PATHS];
static struct pdf_vtext texts[MAX_TEXTS];
static char text[MAX_TEXT_BYTES];

static const uint32_t pens[4] = {0x000000, 0xff8080, 0xffd0d0, 0x0000ff};

struct in {
    const uint8_t *p;
    size_t n;
};

static bool take(struct in *in, void *out, size_t n)
{
    if (in->n < n)
        return false;
    memcpy(out, in->p, n);
    in->p += n;
    in->n -= n;
    return true;
}

static bool u8(struct in *in, uint8_t *v)
{
    return take(in, v, 1);
}

static bool u16(struct in *in, uint16_t *v)
{
    uint8_t b[2];
    if (!take(in, b, 2))
        return false;
    *v = (uint16_t)(b[0] | b[1] << 8);
    return true;
}

static bool i16(struct in *in, float *v)
{
    uint16_t u;
    if (!u16(in, &u))
        return false;
    *v = (float)(int16_t)u / 16.0f;
    return true;
}

static void check_page(const struct wave_page_info *info, size_t leads_so_far)
{
    for (size_t i = 0; i < info->nstrips; i++) {
        const struct wave_strip *s = &info->strips[i];
        FUZZ_CHECK(s->lead < 64 && s->lead <= leads_so_far + info->nstrips);
        FUZZ_CHECK(memchr(s->name, 0, sizeof(s->name)));
        FUZZ_CHECK(isfinite(s->box.x0) && isfinite(s->box.y0) &&
                   isfinite(s->box.x1) && isfinite(s->box.y1));
        FUZZ_CHECK(s->box.x0 <= s->box.x1 && s->box.y0 <= s->box.y1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct wave_settings settings = {25.0, 10.0, 500};
    struct in in = {data, size};
    struct wave_doc *doc = NULL;
    FUZZ_CHECK(wave_doc_new(&settings, &doc) == 0);
    struct pdf_vectors v = {.points = pts,
                            .cap_points = MAX_PTS,
                            .paths = paths,
                            .cap_paths = MAX_PATHS,
                            .texts = texts,
                            .cap_texts = MAX_TEXTS,
                            .text = text,
                            .text_cap = MAX_TEXT_BYTES};
    int pages = 0;
    size_t strips = 0;
    bool open = false, more = true;
    while (more) {
        uint8_t tag = 0;
        more = u8(&in, &tag);
        bool flush = !more || tag == 'N';
        if (flush && open) {
            struct wave_page_info info;
            int rc = wave_doc_add_page(doc, pages++, &v, &info);
            FUZZ_CHECK(rc == 0 || rc == ETL_ENOMEM);
            if (rc == 0) {
                check_page(&info, strips);
                strips += info.nstrips;
            }
            open = false;
        }
        if (!more || pages >= MAX_PAGES)
            break;
        if (tag == 'N') {
            uint16_t w, h;
            if (!u16(&in, &w) || !u16(&in, &h))
                break;
            v.page_w = w;
            v.page_h = h;
            v.npoints = v.npaths = v.ntexts = v.text_len = v.nimages = 0;
            v.image_area = 0;
            open = true;
        } else if (tag == 'P' && open) {
            uint8_t flags, pen;
            uint16_t n;
            if (!u8(&in, &flags) || !u8(&in, &pen) || !u16(&in, &n) ||
                v.npaths >= MAX_PATHS)
                break;
            struct pdf_vpath *p = &v.paths[v.npaths++];
            *p = (struct pdf_vpath){.first = v.npoints,
                                    .rgb = pens[pen % 4],
                                    .width = pen & 4 ? 0.1f : 0.6f,
                                    .filled = flags & 1,
                                    .closed = flags & 2};
            for (uint16_t k = 0; k < n && v.npoints < MAX_PTS; k++) {
                struct pdf_vpoint q;
                if (!i16(&in, &q.x) || !i16(&in, &q.y))
                    break;
                v.points[v.npoints++] = q;
                p->n++;
            }
            if (!p->n)
                v.npaths--;
        } else if (tag == 'T' && open) {
            uint8_t dir, sz, len;
            float x, y, x1, y1;
            if (!u8(&in, &dir) || !i16(&in, &x) || !i16(&in, &y) ||
                !i16(&in, &x1) || !i16(&in, &y1) || !u8(&in, &sz) ||
                !u8(&in, &len) || in.n < len || v.ntexts >= MAX_TEXTS)
                break;
            size_t off = v.ntexts ? v.text_len + 1 : 0;
            if (off + len + 1 > MAX_TEXT_BYTES)
                break;
            memcpy(v.text + off, in.p, len);
            v.text[off + len] = '\0';
            in.p += len;
            in.n -= len;
            v.texts[v.ntexts++] = (struct pdf_vtext){
                .off = off,
                .len = len,
                .x = x,
                .y = y,
                .x1 = x1,
                .y1 = y1,
                .size = sz / 4.0f,
                .dir = (enum pdf_vdir)(dir % 4),
            };
            v.text_len = off + len;
        } else if (tag == 'I' && open) {
            uint16_t area;
            if (!u16(&in, &area))
                break;
            v.nimages++;
            v.image_area += area * 64.0;
        } else {
            break;
        }
    }
    struct wave_result r = {0};
    int rc = wave_doc_finish(doc, &r);
    FUZZ_CHECK(rc == 0 || rc == ETL_ENOMEM);
    FUZZ_CHECK((r.status == WAVE_EXTRACTED) == (r.n > 0));
    FUZZ_CHECK(r.n <= 64);
    for (size_t i = 0; i < r.n; i++) {
        const struct wave_lead *l = &r.leads[i];
        FUZZ_CHECK(l->n > 0 && l->samples && memchr(l->name, 0, 8));
        FUZZ_CHECK(isfinite(l->start_s) && l->mm_per_mv > 0 &&
                   isfinite(l->mm_per_mv) && l->paper_speed_mm_s > 0);
        FUZZ_CHECK(l->page >= 0 && l->page < pages && l->pages >= 1);
        for (size_t k = 0; k < l->n; k++)
            FUZZ_CHECK(isfinite(l->samples[k]));
    }
    wave_result_release(&r);
    wave_doc_free(doc);
    return 0;
}
