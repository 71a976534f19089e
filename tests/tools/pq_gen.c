/* pq_gen: writes Parquet files with the pq writer for the reader tests in
 * tests/node, and prints what they must contain as JSON.
 *
 *   pq_gen fixed NAME CODEC OUT    one named table (pipeline, types,
 *                                  multi_rg, nulls, empty); prints one JSON
 *                                  object
 *   pq_gen random SEED COUNT DIR   COUNT random tables DIR/t<i>.parquet;
 *                                  prints one JSON object per line
 *   pq_gen big ROWS CODEC OUT      a large table written with small row
 *                                  groups; prints rows, raw (uncompressed
 *                                  value) bytes, file bytes and peak RSS
 *                                  (VmHWM, KiB)
 *
 * Expected values in JSON: null, booleans, INT32 as numbers, INT64 and
 * TIMESTAMP_MS as decimal strings, FLOAT and DOUBLE as the hex of their
 * IEEE bits (so NaN, infinities and -0.0 survive JSON), strings as strings,
 * lists as arrays. CODEC is zstd, snappy or none. */
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/buf.h"
#include "core/err.h"
#include "pq/pq.h"

static const char *type_names[] = {
    [PQ_BOOLEAN] = "BOOLEAN",
    [PQ_INT32] = "INT32",
    [PQ_INT64] = "INT64",
    [PQ_FLOAT] = "FLOAT",
    [PQ_DOUBLE] = "DOUBLE",
    [PQ_STRING] = "STRING",
    [PQ_TIMESTAMP_MS] = "TIMESTAMP_MS",
};

static void die(const char *what, int rc)
{
    fprintf(stderr, "pq_gen: %s: %s\n", what, etl_strerror(rc));
    exit(1);
}

#define TRY(what, call)                                                        \
    do {                                                                       \
        int rc_ = (call);                                                      \
        if (rc_)                                                               \
            die(what, rc_);                                                    \
    } while (0)

/* ---- JSON ---- */

static void j_str(struct buf *j, const char *s, size_t n)
{
    buf_addch(j, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            buf_addch(j, '\\');
            buf_addch(j, c);
        } else if (c < 0x20) {
            buf_printf(j, "\\u%04x", c);
        } else {
            buf_addch(j, c);
        }
    }
    buf_addch(j, '"');
}

static void j_strz(struct buf *j, const char *s)
{
    j_str(j, s, strlen(s));
}

/* ---- a table being written: values go to the writer and to JSON ---- */

struct table {
    struct pq_writer *w;
    const struct pq_column *cols;
    size_t ncols;
    struct buf rows; /* JSON array body */
    int64_t nrows;
    size_t col; /* values of the current row so far */
    bool in_list, first_item;
    bool json; /* false: the big table keeps no JSON */
};

static void sep(struct table *t)
{
    if (!t->json)
        return;
    if (t->in_list) {
        if (!t->first_item)
            buf_addch(&t->rows, ',');
        t->first_item = false;
    } else {
        buf_addstr(&t->rows, t->col == 0 ? (t->nrows ? ",[" : "[") : ",");
    }
}

static void next(struct table *t)
{
    if (!t->in_list)
        t->col++;
}

static size_t cur(const struct table *t)
{
    return t->col;
}

static void v_null(struct table *t)
{
    TRY("set_null", pq_set_null(t->w, cur(t)));
    sep(t);
    if (t->json)
        buf_addstr(&t->rows, "null");
    next(t);
}

static void v_bool(struct table *t, bool v)
{
    TRY("set_bool", pq_set_bool(t->w, cur(t), v));
    sep(t);
    if (t->json)
        buf_addstr(&t->rows, v ? "true" : "false");
    next(t);
}

static void v_i32(struct table *t, int32_t v)
{
    TRY("set_i32", pq_set_i32(t->w, cur(t), v));
    sep(t);
    if (t->json)
        buf_printf(&t->rows, "%" PRId32, v);
    next(t);
}

static void v_i64(struct table *t, int64_t v)
{
    TRY("set_i64", pq_set_i64(t->w, cur(t), v));
    sep(t);
    if (t->json)
        buf_printf(&t->rows, "\"%" PRId64 "\"", v);
    next(t);
}

static void v_float(struct table *t, float v)
{
    uint32_t bits;
    memcpy(&bits, &v, 4);
    TRY("set_float", pq_set_float(t->w, cur(t), v));
    sep(t);
    if (t->json)
        buf_printf(&t->rows, "\"%08" PRIx32 "\"", bits);
    next(t);
}

static void v_double(struct table *t, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, 8);
    TRY("set_double", pq_set_double(t->w, cur(t), v));
    sep(t);
    if (t->json)
        buf_printf(&t->rows, "\"%016" PRIx64 "\"", bits);
    next(t);
}

static void v_str(struct table *t, const char *s, size_t n)
{
    TRY("set_str", pq_set_str(t->w, cur(t), s, n));
    sep(t);
    if (t->json)
        j_str(&t->rows, s, n);
    next(t);
}

static void v_strz(struct table *t, const char *s)
{
    v_str(t, s, strlen(s));
}

static void list_begin(struct table *t)
{
    TRY("list_begin", pq_list_begin(t->w, cur(t)));
    sep(t);
    if (t->json)
        buf_addch(&t->rows, '[');
    t->in_list = true;
    t->first_item = true;
}

static void list_end(struct table *t)
{
    if (t->json)
        buf_addch(&t->rows, ']');
    t->in_list = false;
    next(t);
}

static void row_end(struct table *t)
{
    if (t->col != t->ncols) {
        fprintf(stderr, "pq_gen: row with %zu of %zu columns\n", t->col,
                t->ncols);
        exit(1);
    }
    TRY("end_row", pq_end_row(t->w));
    if (t->json)
        buf_addch(&t->rows, ']');
    t->nrows++;
    t->col = 0;
}

static void table_open(struct table *t, const char *path,
                       const struct pq_column *cols, size_t ncols,
                       const struct pq_options *o)
{
    memset(t, 0, sizeof(*t));
    buf_init(&t->rows, 0);
    t->cols = cols;
    t->ncols = ncols;
    t->json = true;
    TRY(path, pq_writer_open(path, cols, ncols, o, &t->w));
}

/* Close the file and print the table as one JSON line. */
static void table_close(struct table *t, const char *name, const char *path,
                        const struct pq_options *o, const char *extra)
{
    TRY("close", pq_writer_close(t->w));
    struct buf j = BUF_INIT;
    buf_addstr(&j, "{\"name\":");
    j_strz(&j, name);
    buf_addstr(&j, ",\"file\":");
    j_strz(&j, path);
    buf_printf(&j, ",\"codec\":\"%s\",\"num_rows\":%" PRId64,
               pq_codec_name(o->codec), t->nrows);
    buf_printf(&j, ",\"row_group_bytes\":%zu,\"page_bytes\":%zu",
               o->row_group_bytes, o->page_bytes);
    buf_addstr(&j, ",\"kv\":{");
    for (size_t i = 0; i < o->nkv; i++) {
        if (i)
            buf_addch(&j, ',');
        j_strz(&j, o->kv[i].key);
        buf_addch(&j, ':');
        j_strz(&j, o->kv[i].value);
    }
    buf_addstr(&j, "},\"columns\":[");
    for (size_t i = 0; i < t->ncols; i++) {
        const struct pq_column *c = &t->cols[i];
        buf_addstr(&j, i ? ",{\"name\":" : "{\"name\":");
        j_strz(&j, c->name);
        buf_printf(&j,
                   ",\"type\":\"%s\",\"optional\":%s,\"list\":%s,"
                   "\"dictionary\":%s}",
                   type_names[c->type], c->optional ? "true" : "false",
                   c->list ? "true" : "false",
                   c->dictionary ? "true" : "false");
    }
    buf_addstr(&j, "]");
    if (extra)
        buf_addstr(&j, extra);
    buf_addstr(&j, ",\"rows\":[");
    buf_add(&j, t->rows.data, t->rows.len);
    buf_addstr(&j, "]}\n");
    fwrite(j.data, 1, j.len, stdout);
    buf_release(&j);
    buf_release(&t->rows);
}

/* ---- fixed tables ---- */

/* The results table of the pipeline (../shared/DESIGN.md, Outputs). */
static const struct pq_column pipeline_cols[] = {
    {.name = "batch_id", .type = PQ_INT64, .dictionary = true},
    {.name = "file_id", .type = PQ_STRING},
    {.name = "source_key", .type = PQ_STRING},
    {.name = "source_etag", .type = PQ_STRING},
    {.name = "sha256", .type = PQ_STRING},
    {.name = "size_bytes", .type = PQ_INT64},
    {.name = "page_count", .type = PQ_INT32, .optional = true},
    {.name = "repaired", .type = PQ_BOOLEAN, .optional = true},
    {.name = "text", .type = PQ_STRING, .optional = true},
    {.name = "image_keys", .type = PQ_STRING, .list = true},
    {.name = "images_extracted", .type = PQ_INT32},
    {.name = "status", .type = PQ_STRING, .dictionary = true},
    {.name = "error_type",
     .type = PQ_STRING,
     .optional = true,
     .dictionary = true},
    {.name = "error", .type = PQ_STRING, .optional = true},
    {.name = "processing_time_ms", .type = PQ_DOUBLE},
    {.name = "processed_at", .type = PQ_TIMESTAMP_MS},
};
#define NPIPE (sizeof(pipeline_cols) / sizeof(pipeline_cols[0]))

static const struct pq_kv pipeline_kv[] = {
    {"bpecg.run_id", "run-2024-11-28T10:00:00Z-7f3a"},
    {"bpecg.settings_hash", "sha256:5d41402abc4b2a76b9719d911017c592"},
};

static void hexstr(char *out, size_t n, uint64_t seed)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        seed = seed * 6364136223846793005u + 1442695040888963407u;
        out[i] = hx[seed >> 60];
    }
    out[n] = 0;
}

static void pipeline_rows(struct table *t, int nrows)
{
    static const char *errs[] = {"encrypted", "not_pdf", "timeout"};
    for (int i = 0; i < nrows; i++) {
        char id[32], key[64], etag[40], sha[72], k1[96], k2[96];
        bool failed = i % 10 == 3, partial = !failed && i % 7 == 5;
        snprintf(id, sizeof(id), "ecg_%04d", i);
        snprintf(key, sizeof(key), "pdfs/%s.pdf", id);
        etag[0] = '"';
        hexstr(etag + 1, 32, (uint64_t)i);
        etag[33] = '"';
        etag[34] = 0;
        hexstr(sha, 64, (uint64_t)i + 1000);
        v_i64(t, 7);
        v_strz(t, id);
        v_strz(t, key);
        v_strz(t, etag);
        v_strz(t, sha);
        v_i64(t, 100000 + (int64_t)i * 1234);
        if (failed)
            v_null(t);
        else
            v_i32(t, 2);
        if (failed)
            v_null(t);
        else
            v_bool(t, i % 13 == 0);
        if (failed) {
            v_null(t);
        } else {
            struct buf s = BUF_INIT;
            buf_printf(&s,
                       "Patient %s — Vent. rate 7%d BPM; PR 160 ms; QRS "
                       "9%d ms; QT/QTc 380/41%d ms; P-R-T axes 60 45 30 °",
                       id, i % 10, i % 10, i % 10);
            if (i % 5 == 0) /* a long text: no min/max statistics */
                for (int k = 0; k < 20; k++)
                    buf_addstr(&s, " Sinus rhythm — normal ECG ✓");
            v_str(t, s.data, s.len);
            buf_release(&s);
        }
        int nimg = failed ? 0 : partial ? 1 : 2;
        snprintf(k1, sizeof(k1), "images/%s/lead_II.jpg", id);
        snprintf(k2, sizeof(k2), "images/%s/rhythm_strip.jpg", id);
        list_begin(t);
        if (nimg > 0)
            v_strz(t, k1);
        if (nimg > 1)
            v_strz(t, k2);
        list_end(t);
        v_i32(t, nimg);
        v_strz(t, failed ? "failed" : partial ? "partial" : "success");
        if (failed)
            v_strz(t, errs[i % 3]);
        else if (partial)
            v_strz(t, "region_outside_page");
        else
            v_null(t);
        if (failed)
            v_strz(t, "cannot open PDF: \"damaged\" \\ xref");
        else
            v_null(t);
        v_double(t, 123.456 + i * 7.25);
        v_i64(t, 1732800000000 + (int64_t)i * 1500);
        row_end(t);
    }
}

static const struct pq_column types_cols[] = {
    {.name = "b", .type = PQ_BOOLEAN},
    {.name = "b_opt", .type = PQ_BOOLEAN, .optional = true},
    {.name = "i32", .type = PQ_INT32},
    {.name = "i32_opt", .type = PQ_INT32, .optional = true},
    {.name = "i64", .type = PQ_INT64},
    {.name = "i64_opt_dict",
     .type = PQ_INT64,
     .optional = true,
     .dictionary = true},
    {.name = "f", .type = PQ_FLOAT},
    {.name = "f_opt", .type = PQ_FLOAT, .optional = true},
    {.name = "d", .type = PQ_DOUBLE},
    {.name = "d_opt_dict",
     .type = PQ_DOUBLE,
     .optional = true,
     .dictionary = true},
    {.name = "s", .type = PQ_STRING},
    {.name = "s_opt_dict",
     .type = PQ_STRING,
     .optional = true,
     .dictionary = true},
    {.name = "ts", .type = PQ_TIMESTAMP_MS},
    {.name = "ts_opt", .type = PQ_TIMESTAMP_MS, .optional = true},
    {.name = "l_str", .type = PQ_STRING, .list = true, .optional = true},
    {.name = "l_float", .type = PQ_FLOAT, .list = true},
    {.name = "l_double", .type = PQ_DOUBLE, .list = true, .optional = true},
    {.name = "l_i32_dict", .type = PQ_INT32, .list = true, .dictionary = true},
    {.name = "l_i64", .type = PQ_INT64, .list = true, .optional = true},
    {.name = "l_bool", .type = PQ_BOOLEAN, .list = true},
    {.name = "l_ts", .type = PQ_TIMESTAMP_MS, .list = true, .optional = true},
    {.name = "ünïcödé 名前", .type = PQ_STRING},
};
#define NTYPES (sizeof(types_cols) / sizeof(types_cols[0]))

static const int32_t i32_edges[] = {0, 1, -1, INT32_MAX, INT32_MIN, 42};
static const int64_t i64_edges[] = {0, 1, -1, INT64_MAX, INT64_MIN, 1LL << 53};
static const int64_t ts_edges[] = {
    0, -1, 1732800000123, -62135596800000, 253402300799999, 951782400000};

static float f_edge(int i)
{
    const float v[] = {0.0f,   -0.0f,    1.5f,      -3.25f,
                       NAN,    INFINITY, -INFINITY, FLT_MIN,
                       1e-45f, FLT_MAX,  -FLT_MAX,  3.14159274f};
    return v[i % 12];
}

static double d_edge(int i)
{
    const double v[] = {0.0,       -0.0,
                        1.5,       -3.25,
                        NAN,       INFINITY,
                        -INFINITY, DBL_MIN,
                        4.9e-324,  DBL_MAX,
                        -DBL_MAX,  0.1,
                        -NAN,      2.2250738585072009e-308};
    return v[i % 14];
}

static const char *s_edge(int i)
{
    const char *v[] = {"",           "a",
                       "ascii text", "é",
                       "€uro",       "😀 emoji",
                       "名前",       "quote \" backslash \\ tab \t newline \n",
                       "\x7f del",   "ÿ",
                       "zzzz",       "Ω≈ç√∫˜µ≤≥÷"};
    return v[i % 12];
}

static void types_rows(struct table *t, int nrows)
{
    for (int i = 0; i < nrows; i++) {
        v_bool(t, i % 3 == 1);
        if (i % 4 == 3)
            v_null(t);
        else
            v_bool(t, i % 2 == 0);
        v_i32(t, i32_edges[i % 6]);
        if (i % 3 == 2)
            v_null(t);
        else
            v_i32(t, i32_edges[(i + 3) % 6]);
        v_i64(t, i64_edges[i % 6]);
        if (i % 5 == 4)
            v_null(t);
        else
            v_i64(t, i64_edges[(i / 2) % 6]);
        v_float(t, f_edge(i));
        if (i % 4 == 1)
            v_null(t);
        else
            v_float(t, f_edge(i + 5));
        v_double(t, d_edge(i));
        if (i % 4 == 2)
            v_null(t);
        else
            v_double(t, d_edge(i / 2));
        v_strz(t, s_edge(i));
        if (i % 3 == 0)
            v_null(t);
        else
            v_strz(t, s_edge(i % 4));
        v_i64(t, ts_edges[i % 6]);
        if (i % 2)
            v_null(t);
        else
            v_i64(t, ts_edges[(i + 1) % 6]);
        /* l_str: null, empty, then growing */
        if (i % 5 == 0) {
            v_null(t);
        } else {
            list_begin(t);
            for (int k = 0; k < (i % 5) - 1; k++)
                v_strz(t, s_edge(i + k));
            list_end(t);
        }
        list_begin(t); /* l_float: up to 11 items */
        for (int k = 0; k < i % 12; k++)
            v_float(t, f_edge(i + k));
        list_end(t);
        if (i % 3 == 1) {
            v_null(t);
        } else {
            list_begin(t);
            for (int k = 0; k < i % 4; k++)
                v_double(t, d_edge(i * 3 + k));
            list_end(t);
        }
        list_begin(t);
        for (int k = 0; k < i % 7; k++)
            v_i32(t, i32_edges[(i + k) % 6]);
        list_end(t);
        if (i % 6 == 5) {
            v_null(t);
        } else {
            list_begin(t);
            for (int k = 0; k < i % 3; k++)
                v_i64(t, i64_edges[(i + k) % 6]);
            list_end(t);
        }
        list_begin(t);
        for (int k = 0; k < i % 10; k++)
            v_bool(t, (i + k) % 3 == 0);
        list_end(t);
        if (i % 4 == 0) {
            v_null(t);
        } else {
            list_begin(t);
            for (int k = 0; k < i % 3; k++)
                v_i64(t, ts_edges[(i + k) % 6]);
            list_end(t);
        }
        v_strz(t, s_edge(i + 6));
        row_end(t);
    }
}

static const struct pq_column multi_cols[] = {
    {.name = "id", .type = PQ_INT64},
    {.name = "grp", .type = PQ_STRING, .dictionary = true},
    {.name = "payload", .type = PQ_STRING, .optional = true},
    {.name = "vals", .type = PQ_DOUBLE, .list = true, .dictionary = true},
    {.name = "flag", .type = PQ_BOOLEAN},
};

static void multi_rows(struct table *t, int nrows)
{
    for (int i = 0; i < nrows; i++) {
        char s[64];
        v_i64(t, (int64_t)i * 1000003);
        /* distinct values early (the dictionary overflows: PLAIN), few
         * later (dictionary pages) */
        if (i < nrows / 2)
            snprintf(s, sizeof(s), "group-%d", i / 2);
        else
            snprintf(s, sizeof(s), "g%d", i % 5);
        v_strz(t, s);
        if (i % 11 == 0) {
            v_null(t);
        } else {
            snprintf(s, sizeof(s), "payload %d — ☃", i * 7);
            v_strz(t, s);
        }
        list_begin(t);
        for (int k = 0; k < i % 6; k++)
            v_double(t, i < nrows / 2 ? i + k * 0.5 : (double)(k % 3));
        list_end(t);
        v_bool(t, i % 3 != 0);
        row_end(t);
    }
}

static const struct pq_column nulls_cols[] = {
    {.name = "b", .type = PQ_BOOLEAN, .optional = true},
    {.name = "i32", .type = PQ_INT32, .optional = true, .dictionary = true},
    {.name = "i64", .type = PQ_INT64, .optional = true},
    {.name = "f", .type = PQ_FLOAT, .optional = true},
    {.name = "d", .type = PQ_DOUBLE, .optional = true},
    {.name = "s", .type = PQ_STRING, .optional = true, .dictionary = true},
    {.name = "ts", .type = PQ_TIMESTAMP_MS, .optional = true},
    {.name = "l_empty", .type = PQ_STRING, .list = true, .dictionary = true},
    {.name = "l_null", .type = PQ_INT32, .list = true, .optional = true},
    {.name = "l_mixed", .type = PQ_FLOAT, .list = true, .optional = true},
    {.name = "nan_only", .type = PQ_DOUBLE},
};
#define NNULLS (sizeof(nulls_cols) / sizeof(nulls_cols[0]))

static void nulls_rows(struct table *t, int nrows)
{
    for (int i = 0; i < nrows; i++) {
        for (int k = 0; k < 7; k++)
            v_null(t);
        list_begin(t);
        list_end(t);
        v_null(t);
        if (i % 2) {
            v_null(t);
        } else {
            list_begin(t);
            list_end(t);
        }
        v_double(t, NAN);
        row_end(t);
    }
}

static int cmd_fixed(const char *name, enum pq_codec codec, const char *out)
{
    struct pq_options o = {.codec = codec};
    struct table t;
    if (strcmp(name, "pipeline") == 0 || strcmp(name, "empty") == 0) {
        o.kv = pipeline_kv;
        o.nkv = 2;
        table_open(&t, out, pipeline_cols, NPIPE, &o);
        pipeline_rows(&t, strcmp(name, "empty") == 0 ? 0 : 60);
    } else if (strcmp(name, "types") == 0) {
        table_open(&t, out, types_cols, NTYPES, &o);
        types_rows(&t, 48);
    } else if (strcmp(name, "multi_rg") == 0) {
        o.row_group_bytes = 64 << 10;
        o.page_bytes = 4 << 10;
        o.dict_max_bytes = 2 << 10;
        table_open(&t, out, multi_cols, 5, &o);
        multi_rows(&t, 20000);
    } else if (strcmp(name, "nulls") == 0) {
        table_open(&t, out, nulls_cols, NNULLS, &o);
        nulls_rows(&t, 10);
    } else {
        fprintf(stderr, "pq_gen: unknown table %s\n", name);
        return 2;
    }
    table_close(&t, name, out, &o, NULL);
    return 0;
}

/* ---- random tables ---- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
    /* splitmix64 */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static uint64_t below(uint64_t n)
{
    return n ? rnd() % n : 0;
}

static bool chance(int percent)
{
    return below(100) < (uint64_t)percent;
}

static void utf8_char(struct buf *b)
{
    static const uint32_t pool[] = {
        0,      '"',    '\\',   '\t',    '\n',     0x7f,    0xe9, 0x3a9, 0x20ac,
        0x540d, 0xfeff, 0xffff, 0x1f600, 0x10ffff, 0x10000, 0x80, 0x7ff, 0x800};
    uint32_t cp;
    int k = (int)below(10);
    if (k < 5)
        cp = 0x20 + (uint32_t)below(95);
    else if (k < 8)
        cp = pool[below(sizeof(pool) / sizeof(pool[0]))];
    else {
        do
            cp = 1 + (uint32_t)below(0x10ffff);
        while (cp >= 0xd800 && cp <= 0xdfff);
    }
    if (cp < 0x80) {
        buf_addch(b, (int)cp);
    } else if (cp < 0x800) {
        buf_addch(b, 0xc0 | (int)(cp >> 6));
        buf_addch(b, 0x80 | (int)(cp & 0x3f));
    } else if (cp < 0x10000) {
        buf_addch(b, 0xe0 | (int)(cp >> 12));
        buf_addch(b, 0x80 | (int)((cp >> 6) & 0x3f));
        buf_addch(b, 0x80 | (int)(cp & 0x3f));
    } else {
        buf_addch(b, 0xf0 | (int)(cp >> 18));
        buf_addch(b, 0x80 | (int)((cp >> 12) & 0x3f));
        buf_addch(b, 0x80 | (int)((cp >> 6) & 0x3f));
        buf_addch(b, 0x80 | (int)(cp & 0x3f));
    }
}

/* One random value of a type, as raw bits (for pools). */
struct rval {
    uint64_t bits;
    struct buf s;
};

static void rand_value(enum pq_type type, struct rval *v)
{
    switch (type) {
    case PQ_BOOLEAN:
        v->bits = below(2);
        break;
    case PQ_INT32: {
        static const int32_t e[] = {0, 1, -1, INT32_MAX, INT32_MIN};
        int32_t x = chance(25) ? e[below(5)] : (int32_t)(uint32_t)rnd();
        v->bits = (uint32_t)x;
        break;
    }
    case PQ_INT64: {
        static const int64_t e[] = {0, 1, -1, INT64_MAX, INT64_MIN};
        int64_t x = chance(25)   ? e[below(5)]
                    : chance(50) ? (int64_t)rnd()
                                 : (int64_t)below(2000) - 1000;
        v->bits = (uint64_t)x;
        break;
    }
    case PQ_TIMESTAMP_MS: {
        /* years 0001..9999, as DuckDB and JavaScript's Date hold them */
        static const int64_t e[] = {0, -1, 1, -62135596800000, 253402300799999};
        int64_t x = chance(20)
                        ? e[below(5)]
                        : (int64_t)below(253402300799999 + 62135596800000) -
                              62135596800000;
        v->bits = (uint64_t)x;
        break;
    }
    case PQ_FLOAT: {
        const float e[] = {NAN,     INFINITY, -INFINITY, 0.0f,
                           -0.0f,   FLT_MIN,  1e-45f,    -1e-45f,
                           FLT_MAX, -FLT_MAX, 1.0f,      -1.0f};
        float f;
        if (chance(30)) {
            f = e[below(12)];
        } else if (chance(50)) {
            uint32_t b = (uint32_t)rnd();
            memcpy(&f, &b, 4);
        } else {
            f = (float)((double)(int64_t)below(20001) / 8 - 1250);
        }
        uint32_t b;
        memcpy(&b, &f, 4);
        v->bits = b;
        break;
    }
    case PQ_DOUBLE: {
        const double e[] = {NAN,     INFINITY, -INFINITY, 0.0,     -0.0,
                            DBL_MIN, 4.9e-324, -4.9e-324, DBL_MAX, -DBL_MAX,
                            1.0,     -1.0,     0.1};
        double d;
        if (chance(30)) {
            d = e[below(13)];
        } else if (chance(50)) {
            uint64_t b = rnd();
            memcpy(&d, &b, 8);
        } else {
            d = (double)(int64_t)below(2000001) / 16 - 62500;
        }
        memcpy(&v->bits, &d, 8);
        break;
    }
    case PQ_STRING: {
        buf_reset(&v->s);
        int k = (int)below(100);
        size_t n = k < 15   ? 0
                   : k < 80 ? 1 + below(12)
                   : k < 96 ? 12 + below(100)
                            : 250 + below(500); /* long: no min/max */
        while (v->s.len < n)
            utf8_char(&v->s);
        break;
    }
    }
}

static void put_rval(struct table *t, enum pq_type type, const struct rval *v)
{
    switch (type) {
    case PQ_BOOLEAN:
        v_bool(t, v->bits != 0);
        break;
    case PQ_INT32:
        v_i32(t, (int32_t)(uint32_t)v->bits);
        break;
    case PQ_INT64:
    case PQ_TIMESTAMP_MS:
        v_i64(t, (int64_t)v->bits);
        break;
    case PQ_FLOAT: {
        float f;
        uint32_t b = (uint32_t)v->bits;
        memcpy(&f, &b, 4);
        v_float(t, f);
        break;
    }
    case PQ_DOUBLE: {
        double d;
        memcpy(&d, &v->bits, 8);
        v_double(t, d);
        break;
    }
    case PQ_STRING:
        v_str(t, v->s.data, v->s.len);
        break;
    }
}

struct rcol {
    int null_pct;
    bool pooled; /* values from a small pool: the dictionary pays off */
    struct rval pool[8];
    int npool;
    int max_items;
};

static void rand_put(struct table *t, enum pq_type type, struct rcol *rc,
                     struct rval *tmp)
{
    if (rc->pooled) {
        put_rval(t, type, &rc->pool[below((uint64_t)rc->npool)]);
    } else {
        rand_value(type, tmp);
        put_rval(t, type, tmp);
    }
}

static int cmd_random(uint64_t seed, int count, const char *dir)
{
    for (int ti = 0; ti < count; ti++) {
        rng_state = seed * 1000003u + (uint64_t)ti;
        struct pq_column cols[8];
        struct rcol rcs[8];
        char names[8][32];
        size_t ncols = 1 + below(8);
        for (size_t i = 0; i < ncols; i++) {
            struct pq_column *c = &cols[i];
            struct rcol *r = &rcs[i];
            memset(r, 0, sizeof(*r));
            if (chance(10))
                snprintf(names[i], sizeof(names[i]), "col_%zu_€", i);
            else
                snprintf(names[i], sizeof(names[i]), "c%zu", i);
            c->name = names[i];
            c->type = (enum pq_type)below(PQ_TIMESTAMP_MS + 1);
            c->optional = chance(50);
            c->list = chance(30);
            c->dictionary = chance(40);
            int np[] = {0, 10, 50, 100};
            r->null_pct = c->optional ? np[below(4)] : 0;
            r->pooled = chance(c->dictionary ? 60 : 20);
            r->npool = 1 + (int)below(8);
            for (int k = 0; k < r->npool; k++) {
                buf_init(&r->pool[k].s, 0);
                rand_value(c->type, &r->pool[k]);
            }
            int mi[] = {0, 3, 10, 50, 300};
            r->max_items = mi[below(5)];
        }
        struct pq_options o = {.codec = (enum pq_codec)below(3)};
        if (chance(50))
            o.row_group_bytes = 256 + below(64 << 10);
        if (chance(50))
            o.page_bytes = 16 + below(4096);
        if (chance(50))
            o.dict_max_bytes = 16 + below(2048);
        int k = (int)below(100);
        int nrows = k < 10   ? 0
                    : k < 20 ? 1
                    : k < 60 ? 2 + (int)below(19)
                    : k < 95 ? 21 + (int)below(480)
                             : 500 + (int)below(1500);

        /* very long lists, in short tables only to bound the run time */
        for (size_t i = 0; i < ncols && nrows <= 5; i++)
            if (chance(30))
                rcs[i].max_items = 3000;
        char path[4096], name[64];
        snprintf(path, sizeof(path), "%s/t%d.parquet", dir, ti);
        snprintf(name, sizeof(name), "random seed=%" PRIu64 " table=%d", seed,
                 ti);
        struct table t;
        table_open(&t, path, cols, ncols, &o);
        struct rval tmp;
        buf_init(&tmp.s, 0);
        for (int row = 0; row < nrows; row++) {
            for (size_t i = 0; i < ncols; i++) {
                struct rcol *r = &rcs[i];
                if (cols[i].optional && chance(r->null_pct)) {
                    v_null(&t);
                } else if (cols[i].list) {
                    list_begin(&t);
                    uint64_t n = below((uint64_t)r->max_items + 1);
                    for (uint64_t e = 0; e < n; e++)
                        rand_put(&t, cols[i].type, r, &tmp);
                    list_end(&t);
                } else {
                    rand_put(&t, cols[i].type, r, &tmp);
                }
            }
            row_end(&t);
        }
        char extra[64];
        snprintf(extra, sizeof(extra), ",\"seed\":%" PRIu64 ",\"table\":%d",
                 seed, ti);
        table_close(&t, name, path, &o, extra);
        buf_release(&tmp.s);
        for (size_t i = 0; i < ncols; i++)
            for (int p = 0; p < rcs[i].npool; p++)
                buf_release(&rcs[i].pool[p].s);
    }
    return 0;
}

/* ---- the large table ---- */

/* Peak RSS of this process image: VmHWM belongs to the address space made
 * by execve, unlike getrusage's ru_maxrss, which Linux carries over from the
 * parent that forked us (node, with its own tens of MiB). */
static long peak_rss_kb(void)
{
    long kb = -1;
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, "VmHWM:", 6) == 0)
            kb = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return kb;
}

/* The node test recomputes these values from the row number. */
static const struct pq_column big_cols[] = {
    {.name = "id", .type = PQ_INT64},
    {.name = "status", .type = PQ_STRING, .dictionary = true},
    {.name = "text", .type = PQ_STRING},
    {.name = "tags", .type = PQ_STRING, .list = true},
    {.name = "score", .type = PQ_DOUBLE, .optional = true},
    {.name = "at", .type = PQ_TIMESTAMP_MS},
};

static int cmd_big(int64_t nrows, enum pq_codec codec, const char *out)
{
    static const char *st[] = {"success", "partial", "failed"};
    struct pq_options o = {.codec = codec, .row_group_bytes = 4 << 20};
    struct table t;
    table_open(&t, out, big_cols, 6, &o);
    t.json = false;
    uint64_t raw = 0;
    char text[256], tag[64];
    for (int64_t i = 0; i < nrows; i++) {
        v_i64(&t, i);
        v_strz(&t, st[i % 3]);
        /* "row <i> " then letters: 200 bytes, compressible but not
         * constant */
        int n = snprintf(text, sizeof(text), "row %" PRId64 " ", i);
        for (; n < 200; n++)
            text[n] = (char)('a' + (i + n) % 26);
        v_str(&t, text, 200);
        list_begin(&t);
        for (int k = 0; k < i % 4; k++) {
            int m = snprintf(tag, sizeof(tag), "t%" PRId64 "_%d", i, k);
            v_str(&t, tag, (size_t)m);
            raw += 4 + (uint64_t)m;
        }
        list_end(&t);
        if (i % 10 == 9)
            v_null(&t);
        else
            v_double(&t, (double)i * 0.5);
        v_i64(&t, 1700000000000 + i);
        row_end(&t);
        raw += 8 + 4 + strlen(st[i % 3]) + 4 + 200 + (i % 10 == 9 ? 0 : 8) + 8;
    }
    TRY("close", pq_writer_close(t.w));
    struct stat sb;
    if (stat(out, &sb) != 0) {
        perror(out);
        return 1;
    }
    printf("{\"rows\":%" PRId64 ",\"raw_bytes\":%" PRIu64
           ",\"file_bytes\":%lld,\"maxrss_kb\":%ld,\"row_group_bytes\":%zu}\n",
           nrows, raw, (long long)sb.st_size, peak_rss_kb(), o.row_group_bytes);
    return 0;
}

int main(int argc, char **argv)
{
    enum pq_codec codec;
    if (argc == 5 && strcmp(argv[1], "fixed") == 0) {
        if (pq_codec_parse(argv[3], &codec) != 0)
            return 2;
        return cmd_fixed(argv[2], codec, argv[4]);
    }
    if (argc == 5 && strcmp(argv[1], "random") == 0)
        return cmd_random(strtoull(argv[2], NULL, 10),
                          (int)strtol(argv[3], NULL, 10), argv[4]);
    if (argc == 5 && strcmp(argv[1], "big") == 0) {
        if (pq_codec_parse(argv[3], &codec) != 0)
            return 2;
        return cmd_big(strtoll(argv[2], NULL, 10), codec, argv[4]);
    }
    fprintf(stderr, "usage: pq_gen fixed NAME CODEC OUT | random SEED COUNT "
                    "DIR | big ROWS CODEC OUT\n");
    return 2;
}
