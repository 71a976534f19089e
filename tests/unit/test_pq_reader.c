/* The reader: every value the writer can write comes back (all types,
 * nulls, lists, dictionaries, every codec, many pages and row groups);
 * files outside the subset are refused with a message naming why; and a
 * corrupted file gives an error, never a crash (the sanitizer build checks
 * the "never reads out of bounds" half). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "harness.h"
#include "pq/pq.h"
#include "pq/pq_int.h"

static char dir[] = "/tmp/pq_reader_XXXXXX";

static unsigned char *slurp(const char *p, size_t *n)
{
    FILE *f = fopen(p, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)len + 1);
    *n = fread(b, 1, (size_t)len, f);
    fclose(f);
    return b;
}

/* A deterministic generator (xorshift64*). */
static uint64_t rng_state;
static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

static const struct pq_column cols[] = {
    {.name = "b", .type = PQ_BOOLEAN},
    {.name = "ob", .type = PQ_BOOLEAN, .optional = true},
    {.name = "i32", .type = PQ_INT32, .dictionary = true},
    {.name = "oi32", .type = PQ_INT32, .optional = true},
    {.name = "i64", .type = PQ_INT64},
    {.name = "ts", .type = PQ_TIMESTAMP_MS, .optional = true},
    {.name = "f", .type = PQ_FLOAT},
    {.name = "d", .type = PQ_DOUBLE, .optional = true},
    {.name = "s", .type = PQ_STRING, .dictionary = true},
    {.name = "os", .type = PQ_STRING, .optional = true},
    {.name = "tags", .type = PQ_STRING, .list = true, .dictionary = true},
    {.name = "otags", .type = PQ_STRING, .list = true, .optional = true},
    {.name = "nums", .type = PQ_INT64, .list = true, .optional = true},
};
#define NCOLS (sizeof(cols) / sizeof(cols[0]))

static const char *const words[] = {
    "",
    "a",
    "success",
    "caf\xc3\xa9",
    "\xe2\x9c\x93 ok",
    "x y z",
    "a much longer string that is repeated many times over"};
#define NWORDS (sizeof(words) / sizeof(words[0]))

/* The expected table, regenerated from the seed. */
struct cell {
    bool null;
    int64_t i;
    double d;
    const char *s;
    int nlist;
    int list[6]; /* word indices or numbers */
};

static void gen_row(size_t r, struct cell c[NCOLS])
{
    memset(c, 0, sizeof(struct cell) * NCOLS);
    (void)r;
    for (size_t k = 0; k < NCOLS; k++) {
        uint64_t x = rnd();
        c[k].null = cols[k].optional && x % 5 == 0;
        x >>= 8;
        switch (cols[k].type) {
        case PQ_BOOLEAN:
            c[k].i = (int64_t)(x & 1);
            break;
        case PQ_INT32:
            c[k].i = x % 7 == 0   ? INT32_MIN
                     : x % 7 == 1 ? INT32_MAX
                                  : (int32_t)(x % 2000) - 1000;
            break;
        case PQ_INT64:
        case PQ_TIMESTAMP_MS:
            c[k].i = x % 9 == 0 ? INT64_MIN : (int64_t)(x * 7919);
            break;
        case PQ_FLOAT:
            c[k].d = (float)((int64_t)(x % 100000) - 50000) / 8.0f;
            break;
        case PQ_DOUBLE:
            c[k].d = x % 11 == 0 ? NAN : (double)(int64_t)x / 3.0;
            break;
        case PQ_STRING:
            c[k].s = words[x % NWORDS];
            break;
        }
        if (cols[k].list) {
            c[k].nlist = (int)(rnd() % 7);
            for (int j = 0; j < c[k].nlist; j++)
                c[k].list[j] = cols[k].type == PQ_STRING
                                   ? (int)(rnd() % NWORDS)
                                   : (int)(rnd() % 100000) - 50000;
        }
    }
}

static int set_cell(struct pq_writer *w, size_t k, const struct cell *c)
{
    if (c->null)
        return pq_set_null(w, k);
    if (cols[k].list) {
        int rc = pq_list_begin(w, k);
        for (int j = 0; !rc && j < c->nlist; j++)
            rc = cols[k].type == PQ_STRING
                     ? pq_set_str(w, k, words[c->list[j]],
                                  strlen(words[c->list[j]]))
                     : pq_set_i64(w, k, c->list[j]);
        return rc;
    }
    switch (cols[k].type) {
    case PQ_BOOLEAN:
        return pq_set_bool(w, k, c->i != 0);
    case PQ_INT32:
        return pq_set_i32(w, k, (int32_t)c->i);
    case PQ_INT64:
    case PQ_TIMESTAMP_MS:
        return pq_set_i64(w, k, c->i);
    case PQ_FLOAT:
        return pq_set_float(w, k, (float)c->d);
    case PQ_DOUBLE:
        return pq_set_double(w, k, c->d);
    case PQ_STRING:
        return pq_set_str(w, k, c->s, strlen(c->s));
    }
    return ETL_EINVAL;
}

static bool same_value(size_t k, const struct cell *c, const struct pq_value *v)
{
    switch (cols[k].type) {
    case PQ_BOOLEAN:
        return v->v.b == (c->i != 0);
    case PQ_INT32:
        return v->v.i32 == (int32_t)c->i;
    case PQ_INT64:
    case PQ_TIMESTAMP_MS:
        return v->v.i64 == c->i;
    case PQ_FLOAT:
        return v->v.f == (float)c->d;
    case PQ_DOUBLE:
        return isnan(c->d) ? isnan(v->v.d) : v->v.d == c->d;
    case PQ_STRING:
        return v->s && v->len == strlen(c->s) && strcmp(v->s, c->s) == 0;
    }
    return false;
}

/* Write nrows rows for seed with opts, read them back, compare. */
static void round_trip(uint64_t seed, size_t nrows,
                       const struct pq_options *opts, const char *what)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/rt.parquet", dir);
    struct pq_writer *w = NULL;
    struct cell c[NCOLS];
    CHECK_EQ_INT(pq_writer_open(path, cols, NCOLS, opts, &w), 0);
    rng_state = seed;
    for (size_t r = 0; w && r < nrows; r++) {
        gen_row(r, c);
        for (size_t k = 0; k < NCOLS; k++)
            CHECK_EQ_INT(set_cell(w, k, &c[k]), 0);
        CHECK_EQ_INT(pq_end_row(w), 0);
    }
    CHECK_EQ_INT(pq_writer_close(w), 0);

    size_t len = 0;
    unsigned char *data = slurp(path, &len);
    struct buf err = BUF_INIT;
    struct pq_reader *rd = NULL;
    int rc = pq_reader_open(data, len, &rd, &err);
    if (rc) {
        HARNESS_FAIL("%s: open: %d %s", what, rc, err.data);
        free(data);
        buf_release(&err);
        return;
    }
    CHECK_EQ_INT(pq_reader_rows(rd), nrows);
    CHECK_EQ_INT(pq_reader_ncols(rd), NCOLS);
    const struct pq_cells *cells[NCOLS];
    for (size_t k = 0; k < NCOLS; k++) {
        const struct pq_column *pc = pq_reader_column(rd, k);
        CHECK_EQ_STR(pc->name, cols[k].name);
        CHECK_EQ_INT(pc->type, cols[k].type);
        CHECK_EQ_INT(pc->optional, cols[k].optional);
        CHECK_EQ_INT(pc->list, cols[k].list);
        CHECK_EQ_INT(pq_reader_find(rd, cols[k].name), (int)k);
        rc = pq_reader_cells(rd, k, &cells[k], &err);
        if (rc) {
            HARNESS_FAIL("%s: column %s: %d %s", what, cols[k].name, rc,
                         err.data);
            goto out;
        }
        CHECK_EQ_INT(cells[k]->nrows, nrows);
    }
    rng_state = seed;
    size_t bad = 0;
    for (size_t r = 0; r < nrows; r++) {
        gen_row(r, c);
        for (size_t k = 0; k < NCOLS; k++) {
            const struct pq_cells *pc = cells[k];
            bool ok = pc->row[r].null == c[k].null;
            if (ok && !c[k].null && !cols[k].list)
                ok = same_value(k, &c[k], &pc->row[r]);
            if (ok && cols[k].list && !c[k].null) {
                size_t n = pc->first[r + 1] - pc->first[r];
                ok = n == (size_t)c[k].nlist;
                for (size_t j = 0; ok && j < n; j++) {
                    const struct pq_value *e = &pc->elem[pc->first[r] + j];
                    ok = !e->null &&
                         (cols[k].type == PQ_STRING
                              ? strcmp(e->s, words[c[k].list[j]]) == 0
                              : e->v.i64 == c[k].list[j]);
                }
            }
            if (!ok && bad++ < 5)
                HARNESS_FAIL("%s: row %zu column %s differs", what, r,
                             cols[k].name);
        }
    }
out:
    pq_reader_free(rd);
    free(data);
    buf_release(&err);
    unlink(path);
}

TEST(round_trips)
{
    static const struct pq_kv kv[] = {{"bpecg.run_id", "r1"}, {"empty", NULL}};
    struct pq_options o = {0};
    o.kv = kv;
    o.nkv = 2;
    round_trip(1, 0, &o, "no rows");
    round_trip(2, 1, &o, "one row");
    round_trip(3, 300, &o, "zstd");
    o.codec = PQ_CODEC_SNAPPY;
    round_trip(4, 300, &o, "snappy");
    o.codec = PQ_CODEC_NONE;
    round_trip(5, 300, &o, "none");
    /* Many row groups and pages; dictionaries that overflow to PLAIN. */
    o.codec = PQ_CODEC_ZSTD;
    o.row_group_bytes = 4096;
    o.page_bytes = 256;
    o.dict_max_bytes = 64;
    round_trip(6, 2000, &o, "small groups and pages");
}

TEST(metadata)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/kv.parquet", dir);
    static const struct pq_kv kv[] = {
        {"bpecg.run_id", "run-7"}, {"bpecg.batch_id", "12"}, {"novalue", NULL}};
    struct pq_options o = {0};
    o.kv = kv;
    o.nkv = 3;
    o.created_by_app = "tester";
    o.version = "1.2.3";
    struct pq_writer *w = NULL;
    CHECK_EQ_INT(pq_writer_open(path, cols, 1, &o, &w), 0);
    CHECK_EQ_INT(pq_writer_close(w), 0);
    size_t len;
    unsigned char *data = slurp(path, &len);
    struct pq_reader *r = NULL;
    CHECK_EQ_INT(pq_reader_open(data, len, &r, NULL), 0);
    CHECK_EQ_STR(pq_reader_kv(r, "bpecg.run_id"), "run-7");
    CHECK_EQ_STR(pq_reader_kv(r, "bpecg.batch_id"), "12");
    CHECK(pq_reader_kv(r, "novalue") == NULL);
    CHECK(pq_reader_kv(r, "absent") == NULL);
    CHECK(strncmp(pq_reader_created_by(r), "tester version 1.2.3", 20) == 0);
    CHECK_EQ_INT(pq_reader_find(r, "nope"), -1);
    pq_reader_free(r);
    free(data);
    unlink(path);
}

/* A one-column, one-row INT32 file (value 7) put together by hand, with
 * one property changed to step outside the subset. */
struct craft {
    int codec, page_type, encoding, phys;
    bool nested;
};

static void craft_file(const struct craft *k, struct buf *out)
{
    struct buf hdr = BUF_INIT, foot = BUF_INIT;
    struct tc_writer t;
    unsigned char body[12] = {7, 0, 0, 0};
    size_t blen = k->phys == 3 ? 12 : 4;
    tc_init(&t, &hdr);
    tc_struct_begin(&t);
    tc_field_i32(&t, 1, k->page_type);
    tc_field_i32(&t, 2, (int32_t)blen);
    tc_field_i32(&t, 3, (int32_t)blen);
    tc_field_struct(&t, k->page_type == 3 ? 8 : 5);
    tc_field_i32(&t, 1, 1);
    tc_field_i32(&t, 2, k->encoding);
    tc_field_i32(&t, 3, 3);
    tc_field_i32(&t, 4, 3);
    tc_struct_end(&t);
    tc_struct_end(&t);
    CHECK_EQ_INT(tc_finish(&t), 0);

    buf_reset(out);
    buf_add(out, "PAR1", 4);
    size_t page_at = out->len;
    buf_add(out, hdr.data, hdr.len);
    buf_add(out, body, blen);

    tc_init(&t, &foot);
    tc_struct_begin(&t);
    tc_field_i32(&t, 1, 1);
    tc_field_list(&t, 2, TC_STRUCT, k->nested ? 3 : 2);
    tc_struct_begin(&t);
    tc_field_string(&t, 4, "schema");
    tc_field_i32(&t, 5, 1);
    tc_struct_end(&t);
    if (k->nested) { /* a plain struct group, not a LIST */
        tc_struct_begin(&t);
        tc_field_i32(&t, 3, 0);
        tc_field_string(&t, 4, "g");
        tc_field_i32(&t, 5, 1);
        tc_struct_end(&t);
    }
    tc_struct_begin(&t);
    tc_field_i32(&t, 1, k->phys);
    tc_field_i32(&t, 3, 0);
    tc_field_string(&t, 4, "x");
    tc_struct_end(&t);
    tc_field_i64(&t, 3, 1);
    tc_field_list(&t, 4, TC_STRUCT, 1);
    tc_struct_begin(&t); /* RowGroup */
    tc_field_list(&t, 1, TC_STRUCT, 1);
    tc_struct_begin(&t); /* ColumnChunk */
    tc_field_i64(&t, 2, 0);
    tc_field_struct(&t, 3);
    tc_field_i32(&t, 1, k->phys);
    tc_field_list(&t, 2, TC_I32, 1);
    tc_i32(&t, k->encoding);
    tc_field_list(&t, 3, TC_BINARY, 1);
    tc_binary(&t, "x", 1);
    tc_field_i32(&t, 4, k->codec);
    tc_field_i64(&t, 5, 1);
    tc_field_i64(&t, 6, (int64_t)(hdr.len + blen));
    tc_field_i64(&t, 7, (int64_t)(hdr.len + blen));
    tc_field_i64(&t, 9, (int64_t)page_at);
    tc_struct_end(&t);
    tc_struct_end(&t);
    tc_field_i64(&t, 2, 4);
    tc_field_i64(&t, 3, 1);
    tc_struct_end(&t);
    tc_struct_end(&t);
    CHECK_EQ_INT(tc_finish(&t), 0);
    buf_add(out, foot.data, foot.len);
    unsigned char le[4];
    pq_put_le32(le, (uint32_t)foot.len);
    buf_add(out, le, 4);
    buf_add(out, "PAR1", 4);
    buf_release(&hdr);
    buf_release(&foot);
}

/* Open and read column 0: the first error code, and its message. */
static int read_all(const struct buf *file, struct buf *err)
{
    struct pq_reader *r = NULL;
    const struct pq_cells *c;
    buf_reset(err);
    int rc = pq_reader_open(file->data, file->len, &r, err);
    if (!rc && pq_reader_ncols(r))
        rc = pq_reader_cells(r, 0, &c, err);
    pq_reader_free(r);
    return rc;
}

TEST(outside_the_subset)
{
    struct buf f = BUF_INIT, err = BUF_INIT;
    const struct craft ok = {0, 0, 0, 1, false};
    craft_file(&ok, &f);
    struct pq_reader *r = NULL;
    const struct pq_cells *c = NULL;
    CHECK_EQ_INT(pq_reader_open(f.data, f.len, &r, &err), 0);
    CHECK_EQ_INT(pq_reader_cells(r, 0, &c, &err), 0);
    CHECK(c && c->nrows == 1 && c->row[0].v.i32 == 7);
    pq_reader_free(r);

    static const struct {
        struct craft k;
        const char *msg;
    } cases[] = {
        {{2, 0, 0, 1, false}, "column x: codec GZIP is not supported"},
        {{0, 3, 0, 1, false}, "column x: DATA_PAGE_V2 pages are not supported"},
        {{0, 0, 5, 1, false},
         "column x: encoding DELTA_BINARY_PACKED is not supported"},
        {{0, 0, 0, 3, false}, "column x: physical type 3 is not supported"},
        {{0, 0, 0, 1, true},
         "column g: nested groups other than a three-level LIST are not "
         "supported"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        craft_file(&cases[i].k, &f);
        int rc = read_all(&f, &err);
        if (rc != ETL_ENOTSUP || strcmp(err.data, cases[i].msg) != 0)
            HARNESS_FAIL("case %zu: rc %d \"%s\", want \"%s\"", i, rc, err.data,
                         cases[i].msg);
    }

    /* Not Parquet at all, or cut short. */
    struct buf junk = BUF_INIT;
    buf_addstr(&junk, "%PDF-1.7 not parquet");
    CHECK_EQ_INT(read_all(&junk, &err), ETL_EINVAL);
    CHECK_EQ_STR(err.data, "not a Parquet file (no PAR1 magic)");
    craft_file(&ok, &f);
    buf_truncate(&f, f.len - 1);
    CHECK_EQ_INT(read_all(&f, &err), ETL_EINVAL);
    buf_release(&junk);
    buf_release(&f);
    buf_release(&err);
}

/* Flipped bytes and truncations of a real file: an error or a value,
 * never a crash or an out-of-bounds read (the ASan build runs this). */
TEST(corruption)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/c.parquet", dir);
    struct pq_options o = {0};
    o.codec = PQ_CODEC_NONE; /* corruption reaches the decoders */
    o.page_bytes = 128;
    struct pq_writer *w = NULL;
    struct cell c[NCOLS];
    CHECK_EQ_INT(pq_writer_open(path, cols, NCOLS, &o, &w), 0);
    rng_state = 99;
    for (size_t r = 0; w && r < 40; r++) {
        gen_row(r, c);
        for (size_t k = 0; k < NCOLS; k++)
            set_cell(w, k, &c[k]);
        pq_end_row(w);
    }
    CHECK_EQ_INT(pq_writer_close(w), 0);
    size_t len = 0;
    unsigned char *orig = slurp(path, &len);
    unsigned char *mut = malloc(len);
    struct buf err = BUF_INIT;
    int opened = 0, failed = 0;
    rng_state = 12345;
    for (int i = 0; i < 3000; i++) {
        memcpy(mut, orig, len);
        int flips = 1 + (int)(rnd() % 4);
        for (int j = 0; j < flips; j++)
            mut[rnd() % len] ^= (unsigned char)(1u << (rnd() % 8));
        size_t n = i % 10 == 0 ? (size_t)(rnd() % len) : len;
        struct pq_reader *r = NULL;
        buf_reset(&err);
        int rc = pq_reader_open(mut, n, &r, &err);
        for (size_t k = 0; !rc && k < pq_reader_ncols(r); k++) {
            const struct pq_cells *cells;
            rc = pq_reader_cells(r, k, &cells, &err);
        }
        opened += rc == 0;
        failed += rc != 0;
        if (rc && !err.len)
            HARNESS_FAIL("mutation %d: error %d without a message", i, rc);
        pq_reader_free(r);
    }
    CHECK(failed > 0);
    CHECK_EQ_INT(opened + failed, 3000);
    free(mut);
    free(orig);
    buf_release(&err);
    unlink(path);
}

int main(void)
{
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(round_trips);
    RUN(metadata);
    RUN(outside_the_subset);
    RUN(corruption);
    rmdir(dir);
    return harness_done();
}
