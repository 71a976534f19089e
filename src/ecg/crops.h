/* Crop regions: parsing the JSON form and mapping regions to pixel boxes.
 *
 *   {"unit": "pt", "regions": [
 *     {"name": "lead_II", "x0": 100, "y0": 100, "x1": 300, "y1": 300}]}
 *
 * Coordinates are MuPDF page space (origin top-left, y down): points for
 * "pt", pixels at IMAGE_DPI for "px" (the seed cropped a rendered pixmap).
 * Also accepted: the seed's bare list of boxes [[x0,y0,x1,y1], ...] (px,
 * names region_0, region_1, ...). Default: the seed's single px region
 * (100,100)-(300,300) named "region_0". */
#ifndef ETL_ECG_CROPS_H
#define ETL_ECG_CROPS_H

#include <stddef.h>

#include "core/buf.h"
#include "pdf/pdf.h"

#define CROP_NAME_MAX 64
#define CROP_MAX_REGIONS 64

enum crop_unit { CROP_UNIT_PT, CROP_UNIT_PX };

struct crop_region {
    char
        name[CROP_NAME_MAX]; /* [A-Za-z0-9_.-]{1,63}, unique, not "." or ".." */
    double x0, y0, x1, y1;   /* x0 < x1, y0 < y1, finite, |v| <= 1e6 */
};

struct crop_set {
    enum crop_unit unit;
    size_t n; /* 1..CROP_MAX_REGIONS */
    struct crop_region regions[CROP_MAX_REGIONS];
};

/* Parse JSON text. On error returns ETL_ECONFIG and appends to err a
 * message naming the problem and where (e.g. "regions[2].x1: must be
 * greater than x0"); source names the setting for the message. */
int crops_parse(const char *json, const char *source, struct crop_set *out,
                struct buf *err);
/* The seed's default region. */
void crops_default(struct crop_set *out);

enum crop_fit { CROP_INSIDE, CROP_CLIPPED, CROP_OUTSIDE };

/* Map region r to device pixels at dpi (pt: each edge rounded to the
 * nearest pixel, floor(v * dpi / 72 + 0.5); px: as given) and clip it to
 * page (the page's pixel bounds at dpi). Returns whether it was inside,
 * clipped, or wholly outside (then *box is empty and must not be
 * rendered). */
enum crop_fit crops_box(const struct crop_set *s, size_t i, int dpi,
                        const struct pdf_irect *page, struct pdf_irect *box);

/* The areas of s as redaction boxes (REDACT_REGIONS) in page pixels at
 * dpi, edges rounded outwards (floor/ceil of v * dpi / 72 for pt), since
 * hiding a sliver too much is better than leaving one readable; clipped
 * to page, and those wholly outside left out. out holds s->n entries;
 * returns how many were written. */
size_t crops_redact_boxes(const struct crop_set *s, int dpi,
                          const struct pdf_irect *page, struct pdf_irect *out);

#endif
