/* The contract of a parsed crop set (ecg/crops.h), checked by the crops and
 * settings fuzz targets: names, bounds, and boxes that stay on the page. */
#ifndef ETL_FUZZ_CROPS_CHECK_H
#define ETL_FUZZ_CROPS_CHECK_H

#include <math.h>
#include <string.h>

#include "ecg/crops.h"
#include "fuzz.h"

static void fuzz_check_name(const char *name)
{
    size_t n = strlen(name);
    FUZZ_CHECK(n >= 1 && n < CROP_NAME_MAX);
    FUZZ_CHECK(strspn(name, "abcdefghijklmnopqrstuvwxyz"
                            "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n);
    FUZZ_CHECK(strcmp(name, ".") != 0 && strcmp(name, "..") != 0);
}

static void fuzz_check_crops(const struct crop_set *s)
{
    FUZZ_CHECK(s->n >= 1 && s->n <= CROP_MAX_REGIONS);
    FUZZ_CHECK(s->unit == CROP_UNIT_PT || s->unit == CROP_UNIT_PX);
    for (size_t i = 0; i < s->n; i++) {
        const struct crop_region *r = &s->regions[i];
        fuzz_check_name(r->name);
        for (size_t j = 0; j < i; j++)
            FUZZ_CHECK(strcmp(r->name, s->regions[j].name) != 0);
        const double v[4] = {r->x0, r->y0, r->x1, r->y1};
        for (int k = 0; k < 4; k++)
            FUZZ_CHECK(isfinite(v[k]) && fabs(v[k]) <= 1e6);
        FUZZ_CHECK(r->x0 < r->x1 && r->y0 < r->y1);
    }
    /* US Letter at the extreme resolutions, and an odd page origin. */
    static const struct {
        int dpi;
        struct pdf_irect page;
    } pages[] = {{36, {0, 0, 306, 396}},
                 {100, {0, 0, 850, 1100}},
                 {600, {0, 0, 5100, 6600}},
                 {72, {-50, 20, 10, 700}}};
    for (size_t p = 0; p < sizeof(pages) / sizeof(pages[0]); p++) {
        const struct pdf_irect *pg = &pages[p].page;
        for (size_t i = 0; i < s->n; i++) {
            struct pdf_irect b;
            enum crop_fit fit = crops_box(s, i, pages[p].dpi, pg, &b);
            if (fit == CROP_OUTSIDE) {
                FUZZ_CHECK(b.x0 == 0 && b.y0 == 0 && b.x1 == 0 && b.y1 == 0);
                continue;
            }
            FUZZ_CHECK(fit == CROP_INSIDE || fit == CROP_CLIPPED);
            FUZZ_CHECK(b.x0 >= pg->x0 && b.y0 >= pg->y0);
            FUZZ_CHECK(b.x1 <= pg->x1 && b.y1 <= pg->y1);
            FUZZ_CHECK(b.x0 < b.x1 && b.y0 < b.y1);
        }
    }
}

#endif
