/* Crop regions: the JSON forms, every validation message a user can get,
 * and the mapping of regions to page pixels (loading their files:
 * test_etl_inputs.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "ecg/crops.h"
#include "harness.h"

static int parse(const char *json, struct crop_set *out, struct buf *err)
{
    buf_init(err, 0);
    return crops_parse(json, "CROP_REGIONS", out, err);
}

TEST(object_form)
{
    struct crop_set s;
    struct buf err;
    int rc = parse("{\"unit\": \"pt\", \"regions\": ["
                   "{\"name\": \"lead_II\", \"x0\": 100, \"y0\": 100, "
                   "\"x1\": 300, \"y1\": 300},"
                   "{\"y1\": 40.25, \"x1\": 30.5, \"name\": \"rhythm.strip-2\","
                   " \"y0\": -10, \"x0\": 0}]}",
                   &s, &err);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_STR(err.data, "");
    CHECK_EQ_INT(s.unit, CROP_UNIT_PT);
    CHECK_EQ_INT(s.n, 2);
    CHECK_EQ_STR(s.regions[0].name, "lead_II");
    CHECK(s.regions[0].x0 == 100 && s.regions[0].y0 == 100);
    CHECK(s.regions[0].x1 == 300 && s.regions[0].y1 == 300);
    CHECK_EQ_STR(s.regions[1].name, "rhythm.strip-2");
    CHECK(s.regions[1].x0 == 0 && s.regions[1].y0 == -10);
    CHECK(s.regions[1].x1 == 30.5 && s.regions[1].y1 == 40.25);
    buf_release(&err);

    /* unit defaults to pt; px is accepted. */
    rc = parse("{\"regions\": [{\"name\": \"a\", \"x0\": 0, \"y0\": 0, "
               "\"x1\": 1, \"y1\": 1}]}",
               &s, &err);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(s.unit, CROP_UNIT_PT);
    buf_release(&err);
    rc = parse("{\"unit\": \"px\", \"regions\": [{\"name\": \"a\", \"x0\": 0, "
               "\"y0\": 0, \"x1\": 1e6, \"y1\": 1000000}]}",
               &s, &err);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(s.unit, CROP_UNIT_PX);
    CHECK(s.regions[0].x1 == 1e6);
    buf_release(&err);
}

TEST(bare_list_form)
{
    struct crop_set s;
    struct buf err;
    int rc = parse("[[100, 100, 300, 300], [0.5, 1, 2.5, 3]]", &s, &err);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(s.unit, CROP_UNIT_PX);
    CHECK_EQ_INT(s.n, 2);
    CHECK_EQ_STR(s.regions[0].name, "region_0");
    CHECK_EQ_STR(s.regions[1].name, "region_1");
    CHECK(s.regions[0].x0 == 100 && s.regions[0].x1 == 300);
    CHECK(s.regions[1].x0 == 0.5 && s.regions[1].y1 == 3);
    buf_release(&err);
}

TEST(limits)
{
    /* 64 regions with 63-character names are fine; 65 are not. */
    struct buf j = BUF_INIT, err;
    struct crop_set s;
    buf_addstr(&j, "{\"regions\": [");
    for (int i = 0; i < CROP_MAX_REGIONS; i++)
        buf_printf(&j,
                   "%s{\"name\": \"%062d%c\", \"x0\": %d, \"y0\": 0, "
                   "\"x1\": %d, \"y1\": 5}",
                   i ? ", " : "", i, 'r', i, i + 1);
    buf_addstr(&j, "]}");
    CHECK_EQ_INT(parse(j.data, &s, &err), 0);
    CHECK_EQ_INT(s.n, 64);
    CHECK_EQ_INT(strlen(s.regions[63].name), 63);
    buf_release(&err);

    buf_truncate(&j, j.len - 2);
    buf_addstr(&j, ", {\"name\": \"x\", \"x0\": 0, \"y0\": 0, \"x1\": 1, "
                   "\"y1\": 1}]}");
    CHECK_EQ_INT(parse(j.data, &s, &err), ETL_ECONFIG);
    CHECK_EQ_STR(
        err.data,
        "CROP_REGIONS: regions: must hold 1 to 64 regions (it has 65)");
    buf_release(&err);

    buf_reset(&j);
    buf_addch(&j, '[');
    for (int i = 0; i < 65; i++)
        buf_printf(&j, "%s[0, 0, 1, 1]", i ? "," : "");
    buf_addch(&j, ']');
    CHECK_EQ_INT(parse(j.data, &s, &err), ETL_ECONFIG);
    CHECK_EQ_STR(err.data,
                 "CROP_REGIONS: list: must hold 1 to 64 regions (it has 65)");
    buf_release(&err);
    buf_release(&j);
}

#define REGION(name, x0, y0, x1, y1)                                           \
    "{\"name\": " name ", \"x0\": " x0 ", \"y0\": " y0 ", \"x1\": " x1         \
    ", \"y1\": " y1 "}"
#define ONE(region) "{\"regions\": [" region "]}"
#define OK_REGION REGION("\"lead_II\"", "100", "100", "300", "300")

static const struct {
    const char *json;
    const char *msg; /* the whole message, or a prefix when it ends in '*' */
} invalid[] = {
    /* not JSON / wrong shape */
    {"", "CROP_REGIONS: is empty"},
    {" \n\t", "CROP_REGIONS: is empty"},
    {"[\"a\nb\"]", "CROP_REGIONS: not valid JSON: *"},
    {"{\"regions\": [", "CROP_REGIONS: not valid JSON: *"},
    {"{\"unit\": \"pt\", \"unit\": \"px\", \"regions\": []}",
     "CROP_REGIONS: not valid JSON: duplicate object key*"},
    {ONE(REGION("\"a\"", "1e400", "0", "1", "1")),
     "CROP_REGIONS: not valid JSON: *"},
    {"5",
     "CROP_REGIONS: must be an object {\"unit\": ..., \"regions\": [...]} or "
     "a list of [x0, y0, x1, y1] boxes"},
    {"\"[[1,2,3,4]]\"",
     "CROP_REGIONS: must be an object {\"unit\": ..., \"regions\": [...]} or "
     "a list of [x0, y0, x1, y1] boxes"},
    /* top-level object */
    {"{}", "CROP_REGIONS: missing \"regions\""},
    {"{\"unit\": \"pt\"}", "CROP_REGIONS: missing \"regions\""},
    {"{\"units\": \"pt\", \"regions\": [" OK_REGION "]}",
     "CROP_REGIONS: unknown key \"units\" (expected unit, regions)"},
    {"{\"unit\": \"mm\", \"regions\": [" OK_REGION "]}",
     "CROP_REGIONS: unit: must be \"pt\" or \"px\""},
    {"{\"unit\": \"PT\", \"regions\": [" OK_REGION "]}",
     "CROP_REGIONS: unit: must be \"pt\" or \"px\""},
    {"{\"unit\": 72, \"regions\": [" OK_REGION "]}",
     "CROP_REGIONS: unit: must be \"pt\" or \"px\""},
    {"{\"regions\": {}}", "CROP_REGIONS: regions: must be a list of regions"},
    {"{\"regions\": []}",
     "CROP_REGIONS: regions: must hold 1 to 64 regions (it has 0)"},
    /* one region */
    {"{\"regions\": [5]}",
     "CROP_REGIONS: regions[0]: must be an object {\"name\", \"x0\", \"y0\", "
     "\"x1\", \"y1\"}"},
    {"{\"regions\": [[1, 2, 3, 4]]}",
     "CROP_REGIONS: regions[0]: must be an object {\"name\", \"x0\", \"y0\", "
     "\"x1\", \"y1\"}"},
    {"{\"regions\": [{\"name\": \"a\", \"x0\": 0, \"y0\": 0, \"y1\": 1}]}",
     "CROP_REGIONS: regions[0]: missing \"x1\""},
    {"{\"regions\": [{\"x0\": 0, \"y0\": 0, \"x1\": 1, \"y1\": 1}]}",
     "CROP_REGIONS: regions[0]: missing \"name\""},
    {"{\"regions\": [{\"name\": \"a\", \"x0\": 0, \"y0\": 0, \"x1\": 1, "
     "\"y1\": 1, \"w\": 1}]}",
     "CROP_REGIONS: regions[0]: unknown key \"w\" (expected name, x0, y0, x1, "
     "y1)"},
    {"{\"regions\": [" OK_REGION
     ", " REGION("\"lead_II\"", "0", "0", "1", "1") "]}",
     "CROP_REGIONS: regions[1].name: duplicate \"lead_II\""},
    {ONE(REGION("5", "0", "0", "1", "1")),
     "CROP_REGIONS: regions[0].name: must be a string"},
    {ONE(REGION("null", "0", "0", "1", "1")),
     "CROP_REGIONS: regions[0].name: must be a string"},
    {ONE(REGION("\"\"", "0", "0", "1", "1")),
     "CROP_REGIONS: regions[0].name: \"\" is not a valid name (1 to 63 of "
     "A-Z a-z 0-9 _ . -, not \".\" or \"..\")"},
    {ONE(REGION("\".\"", "0", "0", "1", "1")),
     "CROP_REGIONS: regions[0].name: \".\" is not a valid name (1 to 63 of "
     "A-Z a-z 0-9 _ . -, not \".\" or \"..\")"},
    {ONE(REGION("\"..\"", "0", "0", "1", "1")),
     "CROP_REGIONS: regions[0].name: \"..\" is not a valid name (1 to 63 of "
     "A-Z a-z 0-9 _ . -, not \".\" or \"..\")"},
    {ONE(REGION("\"a/b\"", "0", "0", "1", "1")),
     "CROP_REGIONS: regions[0].name: \"a/b\" is not a valid name (1 to 63 of "
     "A-Z a-z 0-9 _ . -, not \".\" or \"..\")"},
    {ONE(REGION("\"lead II\"", "0", "0", "1", "1")),
     "CROP_REGIONS: regions[0].name: \"lead II\" is not a valid name (1 to 63 "
     "of A-Z a-z 0-9 _ . -, not \".\" or \"..\")"},
    {ONE(REGION("\"a\\nb\"", "0", "0", "1", "1")),
     "CROP_REGIONS: regions[0].name: \"a\\x0ab\" is not a valid name (1 to 63 "
     "of A-Z a-z 0-9 _ . -, not \".\" or \"..\")"},
    {ONE(REGION("\"\xc3\xa9\"", "0", "0", "1", "1")),
     "CROP_REGIONS: regions[0].name: \"\\xc3\\xa9\" is not a valid name (1 to "
     "63 of A-Z a-z 0-9 _ . -, not \".\" or \"..\")"},
    {ONE(REGION("\"a\\u0000b\"", "0", "0", "1", "1")),
     "CROP_REGIONS: not valid JSON: *"},
    {ONE(REGION("\"0123456789012345678901234567890123456789012345678901234567"
                "890123\"",
                "0", "0", "1", "1")),
     "CROP_REGIONS: regions[0].name: \"01234567890123456789012345678901234567"
     "89012345678901234567890123\" is not a valid name (1 to 63 of A-Z a-z "
     "0-9 _ . -, not \".\" or \"..\")"},
    {ONE(REGION("\"a\"", "\"0\"", "0", "1", "1")),
     "CROP_REGIONS: regions[0].x0: must be a number"},
    {ONE(REGION("\"a\"", "0", "null", "1", "1")),
     "CROP_REGIONS: regions[0].y0: must be a number"},
    {ONE(REGION("\"a\"", "0", "0", "true", "1")),
     "CROP_REGIONS: regions[0].x1: must be a number"},
    {ONE(REGION("\"a\"", "0", "0", "1", "[1]")),
     "CROP_REGIONS: regions[0].y1: must be a number"},
    {ONE(REGION("\"a\"", "0", "0", "1e7", "1")),
     "CROP_REGIONS: regions[0].x1: 1e+07 is out of range (-1e6 to 1e6)"},
    {ONE(REGION("\"a\"", "0", "-1000001", "1", "1")),
     "CROP_REGIONS: regions[0].y0: -1e+06 is out of range (-1e6 to 1e6)"},
    {ONE(REGION("\"a\"", "300", "0", "300", "1")),
     "CROP_REGIONS: regions[0].x1: must be greater than x0"},
    {ONE(REGION("\"a\"", "300", "0", "100", "1")),
     "CROP_REGIONS: regions[0].x1: must be greater than x0"},
    {ONE(REGION("\"a\"", "0", "5", "1", "4.5")),
     "CROP_REGIONS: regions[0].y1: must be greater than y0"},
    {"{\"regions\": [" OK_REGION ", " OK_REGION ", "
     "{\"name\": \"c\", \"x0\": 0, \"y0\": 0, \"x1\": 1, \"y1\": -1}]}",
     "CROP_REGIONS: regions[1].name: duplicate \"lead_II\""},
    {"{\"regions\": [" OK_REGION ", "
     "{\"name\": \"c\", \"x0\": 0, \"y0\": 0, \"x1\": 1, \"y1\": -1}]}",
     "CROP_REGIONS: regions[1].y1: must be greater than y0"},
    /* bare list */
    {"[]", "CROP_REGIONS: list: must hold 1 to 64 regions (it has 0)"},
    {"[[1, 2, 3]]",
     "CROP_REGIONS: [0]: must be a list of 4 numbers [x0, y0, x1, y1]"},
    {"[[0, 0, 1, 1], [1, 2, 3, 4, 5]]",
     "CROP_REGIONS: [1]: must be a list of 4 numbers [x0, y0, x1, y1]"},
    {"[{\"x0\": 1}]",
     "CROP_REGIONS: [0]: must be a list of 4 numbers [x0, y0, x1, y1]"},
    {"[[0, 0, \"a\", 1]]", "CROP_REGIONS: [0].x1: must be a number"},
    {"[[10, 0, 5, 5]]", "CROP_REGIONS: [0].x1: must be greater than x0"},
    {"[[0, 5, 5, 5]]", "CROP_REGIONS: [0].y1: must be greater than y0"},
    {"[[0, 0, 2000000, 5]]",
     "CROP_REGIONS: [0].x1: 2e+06 is out of range (-1e6 to 1e6)"},
};

static void check_msg(const char *got, const char *want, const char *json)
{
    size_t n = strlen(want);
    bool prefix = n && want[n - 1] == '*';
    bool ok = prefix ? strncmp(got, want, n - 1) == 0 : strcmp(got, want) == 0;
    if (!ok)
        HARNESS_FAIL("%s\n  got  %s\n  want %s", json, got, want);
}

TEST(invalid_table)
{
    for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
        struct crop_set s;
        memset(&s, 0x5a, sizeof(s));
        struct buf err;
        int rc = parse(invalid[i].json, &s, &err);
        if (rc != ETL_ECONFIG)
            HARNESS_FAIL("%s: rc %d", invalid[i].json, rc);
        check_msg(err.data, invalid[i].msg, invalid[i].json);
        /* One line, and out untouched. */
        CHECK(strchr(err.data, '\n') == NULL);
        unsigned char *p = (unsigned char *)&s;
        size_t changed = 0;
        for (size_t k = 0; k < sizeof(s); k++)
            changed += p[k] != 0x5a;
        CHECK_EQ_INT(changed, 0);
        buf_release(&err);
    }
}

TEST(source_names_the_setting)
{
    struct crop_set s;
    struct buf err = BUF_INIT;
    CHECK_EQ_INT(crops_parse("[]", "--crop-regions", &s, &err), ETL_ECONFIG);
    CHECK_EQ_STR(err.data,
                 "--crop-regions: list: must hold 1 to 64 regions (it has 0)");
    buf_reset(&err);
    CHECK_EQ_INT(crops_parse("[]", NULL, &s, &err), ETL_ECONFIG);
    CHECK_EQ_STR(err.data,
                 "crop regions: list: must hold 1 to 64 regions (it has 0)");
    buf_release(&err);
}

TEST(defaults)
{
    struct crop_set s;
    crops_default(&s);
    CHECK_EQ_INT(s.unit, CROP_UNIT_PX);
    CHECK_EQ_INT(s.n, 1);
    CHECK_EQ_STR(s.regions[0].name, "region_0");
    CHECK(s.regions[0].x0 == 100 && s.regions[0].y0 == 100);
    CHECK(s.regions[0].x1 == 300 && s.regions[0].y1 == 300);
    /* The same as the seed's bare list. */
    struct crop_set t;
    struct buf err;
    CHECK_EQ_INT(parse("[[100, 100, 300, 300]]", &t, &err), 0);
    CHECK_EQ_INT(t.unit, s.unit);
    CHECK_EQ_INT(t.n, s.n);
    CHECK_EQ_MEM(&t.regions[0], &s.regions[0], sizeof(s.regions[0]));
    buf_release(&err);
}

/* A US Letter page (612 x 792 pt) in pixels at dpi, as a full render. */
static struct pdf_irect letter(int dpi)
{
    return (struct pdf_irect){0, 0, (int)(612.0 * dpi / 72 + 0.5),
                              (int)(792.0 * dpi / 72 + 0.5)};
}

static struct crop_set one(enum crop_unit unit, double x0, double y0, double x1,
                           double y1)
{
    struct crop_set s;
    memset(&s, 0, sizeof(s));
    s.unit = unit;
    s.n = 1;
    snprintf(s.regions[0].name, sizeof(s.regions[0].name), "r");
    s.regions[0].x0 = x0;
    s.regions[0].y0 = y0;
    s.regions[0].x1 = x1;
    s.regions[0].y1 = y1;
    return s;
}

#define CHECK_BOX(b, X0, Y0, X1, Y1)                                           \
    do {                                                                       \
        CHECK_EQ_INT((b).x0, X0);                                              \
        CHECK_EQ_INT((b).y0, Y0);                                              \
        CHECK_EQ_INT((b).x1, X1);                                              \
        CHECK_EQ_INT((b).y1, Y1);                                              \
    } while (0)

TEST(box_points)
{
    struct crop_set s = one(CROP_UNIT_PT, 100, 100, 300, 300);
    struct pdf_irect b, page;

    /* 72 dpi: one pixel per point. */
    page = letter(72);
    CHECK_EQ_INT(crops_box(&s, 0, 72, &page, &b), CROP_INSIDE);
    CHECK_BOX(b, 100, 100, 300, 300);
    /* 100 dpi: 100 * 100/72 = 138.9 -> 139, 300 * 100/72 = 416.7 -> 417. */
    page = letter(100);
    CHECK_EQ_INT(crops_box(&s, 0, 100, &page, &b), CROP_INSIDE);
    CHECK_BOX(b, 139, 139, 417, 417);
    /* 300 dpi: 416.7 -> 417, 1250 exactly. */
    page = letter(300);
    CHECK_EQ_INT(crops_box(&s, 0, 300, &page, &b), CROP_INSIDE);
    CHECK_BOX(b, 417, 417, 1250, 1250);
    /* Halves round up: at 144 dpi 0.25 pt = 0.5 px -> 1, 10.75 pt = 21.5 px
     * -> 22. */
    s = one(CROP_UNIT_PT, 0.25, 36, 10.75, 72);
    page = letter(144);
    CHECK_EQ_INT(crops_box(&s, 0, 144, &page, &b), CROP_INSIDE);
    CHECK_BOX(b, 1, 72, 22, 144);
}

TEST(box_pixels)
{
    struct crop_set s;
    struct pdf_irect b, page = letter(300);
    crops_default(&s);
    /* px does not scale with dpi. */
    CHECK_EQ_INT(crops_box(&s, 0, 300, &page, &b), CROP_INSIDE);
    CHECK_BOX(b, 100, 100, 300, 300);
    page = letter(100);
    CHECK_EQ_INT(crops_box(&s, 0, 100, &page, &b), CROP_INSIDE);
    CHECK_BOX(b, 100, 100, 300, 300);
    /* Fractional pixels round to the nearest edge. */
    s = one(CROP_UNIT_PX, 10.49, 10.5, 20.51, 20.2);
    CHECK_EQ_INT(crops_box(&s, 0, 100, &page, &b), CROP_INSIDE);
    CHECK_BOX(b, 10, 11, 21, 20);
}

TEST(box_clipping)
{
    struct pdf_irect b, page = letter(100); /* 850 x 1100 */
    CHECK_EQ_INT(page.x1, 850);
    CHECK_EQ_INT(page.y1, 1100);

    /* Partly past the bottom-right corner: 500 pt -> 694, 700 pt -> 972. */
    struct crop_set s = one(CROP_UNIT_PT, 500, 700, 700, 900);
    CHECK_EQ_INT(crops_box(&s, 0, 100, &page, &b), CROP_CLIPPED);
    CHECK_BOX(b, 694, 972, 850, 1100);
    /* Partly above and left of the page. */
    s = one(CROP_UNIT_PT, -10, -20, 36, 72);
    CHECK_EQ_INT(crops_box(&s, 0, 100, &page, &b), CROP_CLIPPED);
    CHECK_BOX(b, 0, 0, 50, 100);
    /* Exactly the page is inside, not clipped. */
    s = one(CROP_UNIT_PT, 0, 0, 612, 792);
    CHECK_EQ_INT(crops_box(&s, 0, 100, &page, &b), CROP_INSIDE);
    CHECK_BOX(b, 0, 0, 850, 1100);
    /* Covering the whole page and more. */
    s = one(CROP_UNIT_PX, -5, -5, 5000, 5000);
    CHECK_EQ_INT(crops_box(&s, 0, 100, &page, &b), CROP_CLIPPED);
    CHECK_BOX(b, 0, 0, 850, 1100);
}

TEST(box_outside)
{
    struct pdf_irect b, page = letter(100);
    /* Wholly right of the page. */
    struct crop_set s = one(CROP_UNIT_PT, 1000, 100, 1100, 200);
    b = (struct pdf_irect){1, 2, 3, 4};
    CHECK_EQ_INT(crops_box(&s, 0, 100, &page, &b), CROP_OUTSIDE);
    CHECK_EQ_INT(b.x1 - b.x0, 0);
    CHECK_EQ_INT(b.y1 - b.y0, 0);
    /* Wholly above. */
    s = one(CROP_UNIT_PX, 0, -100, 100, -1);
    CHECK_EQ_INT(crops_box(&s, 0, 100, &page, &b), CROP_OUTSIDE);
    /* Touching the right edge only: no pixel in common. */
    s = one(CROP_UNIT_PX, 850, 0, 900, 10);
    CHECK_EQ_INT(crops_box(&s, 0, 100, &page, &b), CROP_OUTSIDE);
    /* Inside the page but thinner than a pixel after rounding. */
    s = one(CROP_UNIT_PX, 10.1, 10, 10.3, 20);
    CHECK_EQ_INT(crops_box(&s, 0, 100, &page, &b), CROP_OUTSIDE);
    /* Beyond the page at a small dpi, inside at a larger one. */
    s = one(CROP_UNIT_PX, 800, 800, 900, 900);
    struct pdf_irect small = letter(72); /* 612 x 792 */
    CHECK_EQ_INT(crops_box(&s, 0, 72, &small, &b), CROP_OUTSIDE);
    struct pdf_irect large = letter(300);
    CHECK_EQ_INT(crops_box(&s, 0, 300, &large, &b), CROP_INSIDE);
    CHECK_BOX(b, 800, 800, 900, 900);
}

TEST(box_page_not_at_origin)
{
    /* Bounds are honoured as given, not assumed to start at 0. */
    struct pdf_irect b, page = {10, 20, 110, 220};
    struct crop_set s = one(CROP_UNIT_PX, 0, 0, 50, 50);
    CHECK_EQ_INT(crops_box(&s, 0, 72, &page, &b), CROP_CLIPPED);
    CHECK_BOX(b, 10, 20, 50, 50);
}

TEST(box_second_region)
{
    struct crop_set s;
    struct buf err;
    CHECK_EQ_INT(parse("{\"regions\": [" OK_REGION
                       ", " REGION("\"b\"", "0", "0", "72", "72") "]}",
                       &s, &err),
                 0);
    buf_release(&err);
    struct pdf_irect b, page = letter(200);
    CHECK_EQ_INT(crops_box(&s, 1, 200, &page, &b), CROP_INSIDE);
    CHECK_BOX(b, 0, 0, 200, 200);
}

/* Redaction rounds outwards (a partly covered pixel is painted), clips
 * to the page and drops what lies wholly outside. */
TEST(redact_boxes)
{
    struct crop_set s;
    struct buf err;
    CHECK_EQ_INT(
        parse("{\"regions\": [" REGION(
                  "\"a\"", "100", "100", "300",
                  "300") ", " REGION("\"b\"", "500", "700", "700",
                                     "900") ", " REGION("\"c\"", "700", "0",
                                                        "800", "10") "]}",
              &s, &err),
        0);
    buf_release(&err);
    struct pdf_irect out[3], page = letter(100); /* 850 x 1100 px */
    CHECK_EQ_INT(crops_redact_boxes(&s, 100, &page, out), 2);
    /* 100 * 100/72 = 138.9 -> 138 (not 139), 416.7 -> 417 */
    CHECK_BOX(out[0], 138, 138, 417, 417);
    /* 694.4 -> 694 .. 972.2 -> 973, cut at the page's edge */
    CHECK_BOX(out[1], 694, 972, 850, 1100);
    s.unit = CROP_UNIT_PX;
    CHECK_EQ_INT(crops_redact_boxes(&s, 100, &page, out), 3);
    CHECK_BOX(out[0], 100, 100, 300, 300);
    CHECK_BOX(out[2], 700, 0, 800, 10);
}

int main(void)
{
    RUN(object_form);
    RUN(bare_list_form);
    RUN(limits);
    RUN(invalid_table);
    RUN(source_names_the_setting);
    RUN(defaults);
    RUN(box_points);
    RUN(box_pixels);
    RUN(box_clipping);
    RUN(box_outside);
    RUN(box_page_not_at_origin);
    RUN(box_second_region);
    RUN(redact_boxes);
    return harness_done();
}
