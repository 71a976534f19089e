/* Reading our own Parquet files back: a Thrift compact-protocol decoder for
 * the footer and page headers, the page decoders the writer's encodings
 * need, and the assembly of levels into rows and lists.
 *
 * Every read is bounds-checked against the file (decoders keep a sticky
 * error and return zeros once it is set), so a hostile or truncated file
 * gives an error, never an out-of-bounds read. */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <snappy-c.h>
#include <zstd.h>

#include "core/err.h"
#include "pq/pq.h"
#include "pq/pq_int.h"

/* parquet.thrift enum values */
enum { T_BOOLEAN = 0, T_INT32 = 1, T_INT64 = 2, T_INT96 = 3, T_FLOAT = 4 };
enum { T_DOUBLE = 5, T_BYTE_ARRAY = 6, T_FIXED = 7 };
enum { REP_REQUIRED = 0, REP_OPTIONAL = 1, REP_REPEATED = 2 };
enum { CT_UTF8 = 0, CT_LIST = 3, CT_TIMESTAMP_MILLIS = 9 };
enum { ENC_PLAIN = 0, ENC_PLAIN_DICTIONARY = 2, ENC_RLE = 3 };
enum { ENC_RLE_DICTIONARY = 8 };
enum { PAGE_DATA = 0, PAGE_INDEX = 1, PAGE_DICTIONARY = 2, PAGE_DATA_V2 = 3 };
enum { CODEC_UNCOMPRESSED = 0, CODEC_SNAPPY = 1, CODEC_ZSTD = 6 };

/* Thrift compact types */
enum {
    TT_STOP = 0,
    TT_TRUE = 1,
    TT_FALSE = 2,
    TT_I8 = 3,
    TT_I16 = 4,
    TT_I32 = 5,
    TT_I64 = 6,
    TT_DOUBLE = 7,
    TT_BINARY = 8,
    TT_LIST = 9,
    TT_SET = 10,
    TT_MAP = 11,
    TT_STRUCT = 12
};

#define MAX_DEPTH 32
#define MAX_PAGE_BYTES ((size_t)1 << 30)
#define MAX_PAGE_VALUES (1 << 24) /* the writer's own page limit */

/* ------------------------------------------------------------------ */
/* Errors */

static int fail(struct buf *err, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct buf *err, int rc, const char *fmt, ...)
{
    if (err && !err->len) {
        va_list ap;
        va_start(ap, fmt);
        buf_vprintf(err, fmt, ap);
        va_end(ap);
    }
    return rc;
}

static const char *codec_name(int c)
{
    static const char *const names[] = {"UNCOMPRESSED", "SNAPPY", "GZIP",
                                        "LZO",          "BROTLI", "LZ4",
                                        "ZSTD",         "LZ4_RAW"};
    return c >= 0 && c < 8 ? names[c] : "unknown";
}

static const char *encoding_name(int e)
{
    static const char *const names[] = {"PLAIN",
                                        "GROUP_VAR_INT",
                                        "PLAIN_DICTIONARY",
                                        "RLE",
                                        "BIT_PACKED",
                                        "DELTA_BINARY_PACKED",
                                        "DELTA_LENGTH_BYTE_ARRAY",
                                        "DELTA_BYTE_ARRAY",
                                        "RLE_DICTIONARY",
                                        "BYTE_STREAM_SPLIT"};
    return e >= 0 && e < 10 ? names[e] : "unknown";
}

/* ------------------------------------------------------------------ */
/* Thrift compact protocol decoding */

struct tr {
    const uint8_t *p, *end;
    bool bad;
};

static uint8_t tr_byte(struct tr *t)
{
    if (t->bad || !t->p || t->p >= t->end) {
        t->bad = true;
        return 0;
    }
    return *t->p++;
}

static uint64_t tr_varint(struct tr *t)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        uint8_t b = tr_byte(t);
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    t->bad = true;
    return 0;
}

static int64_t tr_zigzag(struct tr *t)
{
    uint64_t u = tr_varint(t);
    return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

static int32_t tr_i32(struct tr *t)
{
    int64_t v = tr_zigzag(t);
    if (v < INT32_MIN || v > INT32_MAX) {
        t->bad = true;
        return 0;
    }
    return (int32_t)v;
}

/* A binary field: pointer into the input and its length. */
static const uint8_t *tr_binary(struct tr *t, size_t *len)
{
    uint64_t n = tr_varint(t);
    if (t->bad || n > (uint64_t)(t->end - t->p)) {
        t->bad = true;
        *len = 0;
        return NULL;
    }
    const uint8_t *p = t->p;
    t->p += n;
    *len = (size_t)n;
    return p;
}

static char *tr_string(struct tr *t)
{
    size_t n;
    const uint8_t *p = tr_binary(t, &n);
    if (!p)
        return NULL;
    char *s = malloc(n + 1);
    if (!s) {
        t->bad = true;
        return NULL;
    }
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

/* List header: element type and count (bounded by the bytes left, as
 * every element takes at least one byte). */
static size_t tr_list(struct tr *t, int *elem)
{
    uint8_t b = tr_byte(t);
    uint64_t n = b >> 4;
    *elem = b & 0x0f;
    if (n == 15)
        n = tr_varint(t);
    if (t->bad || n > (uint64_t)(t->end - t->p)) {
        t->bad = true;
        return 0;
    }
    return (size_t)n;
}

/* Next field of a struct: false at its end (or on error). */
static bool tr_field(struct tr *t, int16_t *last, int16_t *id, int *type)
{
    uint8_t b = tr_byte(t);
    if (t->bad || b == TT_STOP)
        return false;
    *type = b & 0x0f;
    int delta = b >> 4;
    if (delta)
        *id = (int16_t)(*last + delta);
    else
        *id = (int16_t)tr_zigzag(t);
    *last = *id;
    return !t->bad;
}

static void tr_skip(struct tr *t, int type, bool in_list, int depth);

static void tr_skip_struct(struct tr *t, int depth)
{
    int16_t last = 0, id;
    int type;
    if (depth > MAX_DEPTH) {
        t->bad = true;
        return;
    }
    while (tr_field(t, &last, &id, &type))
        tr_skip(t, type, false, depth + 1);
}

static void tr_skip(struct tr *t, int type, bool in_list, int depth)
{
    size_t n;
    int elem;
    if (depth > MAX_DEPTH) {
        t->bad = true;
        return;
    }
    switch (type) {
    case TT_TRUE:
    case TT_FALSE:
        if (in_list) /* list elements carry their own byte */
            tr_byte(t);
        return;
    case TT_I8:
        tr_byte(t);
        return;
    case TT_I16:
    case TT_I32:
    case TT_I64:
        tr_varint(t);
        return;
    case TT_DOUBLE:
        if (t->end - t->p < 8)
            t->bad = true;
        else
            t->p += 8;
        return;
    case TT_BINARY:
        tr_binary(t, &n);
        return;
    case TT_LIST:
    case TT_SET:
        n = tr_list(t, &elem);
        for (size_t i = 0; i < n && !t->bad; i++)
            tr_skip(t, elem, true, depth + 1);
        return;
    case TT_MAP: {
        uint64_t m = tr_varint(t);
        if (m > (uint64_t)(t->end - t->p)) {
            t->bad = true;
            return;
        }
        if (m) {
            uint8_t kv = tr_byte(t);
            for (uint64_t i = 0; i < m && !t->bad; i++) {
                tr_skip(t, kv >> 4, true, depth + 1);
                tr_skip(t, kv & 0x0f, true, depth + 1);
            }
        }
        return;
    }
    case TT_STRUCT:
        tr_skip_struct(t, depth + 1);
        return;
    default:
        t->bad = true;
    }
}

/* ------------------------------------------------------------------ */
/* The model */

struct chunk {
    int codec;
    int64_t num_values;
    int64_t data_off, dict_off; /* dict_off < 0: none */
    int64_t total_comp;
};

struct rcol {
    struct pq_column pub;
    char *name;
    int phys;
    int max_def, max_rep;
    int list_def; /* list columns: def level of an empty list */
    bool loaded;
    struct pq_cells cells;
    struct pq_value *row, *elem;
    size_t *first;
    size_t nelem, elem_cap;
};

struct rgroup {
    int64_t rows;
    struct chunk *chunks; /* one per column */
};

struct kv {
    char *key, *value;
};

struct pq_reader {
    const uint8_t *data;
    size_t len;
    int64_t rows;
    char *created_by;
    struct rcol *cols;
    size_t ncols;
    struct rgroup *rgs;
    size_t nrg;
    struct kv *kvs;
    size_t nkv;
    /* schema elements while parsing */
    struct selem *sch;
    size_t nsch;
};

struct selem {
    int type; /* -1 = group */
    int rep;  /* -1 = unset */
    char *name;
    int children;
    int converted; /* -1 = unset */
    int logical;   /* LogicalType member id, 0 = none */
    int ts_unit;   /* TIMESTAMP: 1 ms, 2 us, 3 ns */
};

void pq_reader_free(struct pq_reader *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->ncols; i++) {
        struct rcol *c = &r->cols[i];
        size_t nrows = c->loaded ? c->cells.nrows : 0;
        for (size_t k = 0; c->row && k < nrows; k++)
            free((char *)c->row[k].s);
        for (size_t k = 0; c->elem && k < c->nelem; k++)
            free((char *)c->elem[k].s);
        free(c->row);
        free(c->elem);
        free(c->first);
        free(c->name);
    }
    free(r->cols);
    for (size_t i = 0; i < r->nrg; i++)
        free(r->rgs[i].chunks);
    free(r->rgs);
    for (size_t i = 0; i < r->nkv; i++) {
        free(r->kvs[i].key);
        free(r->kvs[i].value);
    }
    free(r->kvs);
    for (size_t i = 0; i < r->nsch; i++)
        free(r->sch[i].name);
    free(r->sch);
    free(r->created_by);
    free(r);
}

int64_t pq_reader_rows(const struct pq_reader *r)
{
    return r ? r->rows : 0;
}

size_t pq_reader_ncols(const struct pq_reader *r)
{
    return r ? r->ncols : 0;
}

const struct pq_column *pq_reader_column(const struct pq_reader *r, size_t i)
{
    return r && i < r->ncols ? &r->cols[i].pub : NULL;
}

int pq_reader_find(const struct pq_reader *r, const char *name)
{
    for (size_t i = 0; r && i < r->ncols; i++)
        if (strcmp(r->cols[i].name, name) == 0)
            return (int)i;
    return -1;
}

const char *pq_reader_kv(const struct pq_reader *r, const char *key)
{
    for (size_t i = 0; r && i < r->nkv; i++)
        if (strcmp(r->kvs[i].key, key) == 0)
            return r->kvs[i].value;
    return NULL;
}

const char *pq_reader_created_by(const struct pq_reader *r)
{
    return r ? r->created_by : NULL;
}

/* ------------------------------------------------------------------ */
/* Footer */

static void parse_logical(struct tr *t, struct selem *e)
{
    int16_t last = 0, id;
    int type;
    while (tr_field(t, &last, &id, &type)) {
        if (type != TT_STRUCT) {
            tr_skip(t, type, false, 1);
            continue;
        }
        e->logical = id;
        if (id != 8) { /* not TIMESTAMP: its members are empty here */
            tr_skip_struct(t, 1);
            continue;
        }
        int16_t l2 = 0, id2;
        int t2;
        while (tr_field(t, &l2, &id2, &t2)) {
            if (id2 == 2 && t2 == TT_STRUCT) { /* unit: a union */
                int16_t l3 = 0, id3;
                int t3;
                while (tr_field(t, &l3, &id3, &t3)) {
                    e->ts_unit = id3;
                    tr_skip(t, t3, false, 2);
                }
            } else {
                tr_skip(t, t2, false, 2);
            }
        }
    }
}

static void parse_schema_elem(struct tr *t, struct selem *e)
{
    int16_t last = 0, id;
    int type;
    e->type = -1;
    e->rep = -1;
    e->converted = -1;
    while (tr_field(t, &last, &id, &type)) {
        if (id == 1 && type == TT_I32)
            e->type = tr_i32(t);
        else if (id == 3 && type == TT_I32)
            e->rep = tr_i32(t);
        else if (id == 4 && type == TT_BINARY && !e->name)
            e->name = tr_string(t);
        else if (id == 5 && type == TT_I32)
            e->children = tr_i32(t);
        else if (id == 6 && type == TT_I32)
            e->converted = tr_i32(t);
        else if (id == 10 && type == TT_STRUCT)
            parse_logical(t, e);
        else
            tr_skip(t, type, false, 1);
    }
}

static void parse_column_meta(struct tr *t, struct chunk *c)
{
    int16_t last = 0, id;
    int type;
    while (tr_field(t, &last, &id, &type)) {
        if (id == 4 && type == TT_I32)
            c->codec = tr_i32(t);
        else if (id == 5 && type == TT_I64)
            c->num_values = tr_zigzag(t);
        else if (id == 7 && type == TT_I64)
            c->total_comp = tr_zigzag(t);
        else if (id == 9 && type == TT_I64)
            c->data_off = tr_zigzag(t);
        else if (id == 11 && type == TT_I64)
            c->dict_off = tr_zigzag(t);
        else
            tr_skip(t, type, false, 1);
    }
}

/* ColumnChunk; *external set when the chunk lives in another file. */
static void parse_column_chunk(struct tr *t, struct chunk *c, bool *external)
{
    int16_t last = 0, id;
    int type;
    c->dict_off = -1;
    c->data_off = -1;
    while (tr_field(t, &last, &id, &type)) {
        if (id == 1 && type == TT_BINARY) {
            *external = true;
            tr_skip(t, type, false, 1);
        } else if (id == 3 && type == TT_STRUCT) {
            parse_column_meta(t, c);
        } else {
            tr_skip(t, type, false, 1);
        }
    }
}

static int parse_row_group(struct tr *t, struct pq_reader *r, struct rgroup *g,
                           struct buf *err)
{
    int16_t last = 0, id;
    int type, elem;
    bool external = false;
    size_t n = 0;
    while (tr_field(t, &last, &id, &type)) {
        if (id == 1 && type == TT_LIST) {
            n = tr_list(t, &elem);
            if (elem != TT_STRUCT || n != r->ncols || g->chunks)
                return fail(err, ETL_EINVAL,
                            "row group has %zu column chunks for %zu "
                            "columns",
                            n, r->ncols);
            g->chunks = calloc(n ? n : 1, sizeof(*g->chunks));
            if (!g->chunks)
                return ETL_ENOMEM;
            for (size_t i = 0; i < n && !t->bad; i++)
                parse_column_chunk(t, &g->chunks[i], &external);
        } else if (id == 3 && type == TT_I64) {
            g->rows = tr_zigzag(t);
        } else {
            tr_skip(t, type, false, 1);
        }
    }
    if (external)
        return fail(err, ETL_ENOTSUP,
                    "column chunks in other files are not supported");
    if (!g->chunks && r->ncols)
        return fail(err, ETL_EINVAL, "row group without columns");
    return 0;
}

/* Turn the flattened schema into leaf columns (flat, or three-level
 * lists). */
static int build_columns(struct pq_reader *r, struct buf *err)
{
    if (r->nsch < 1 || r->sch[0].children < 0 ||
        (size_t)r->sch[0].children > r->nsch)
        return fail(err, ETL_EINVAL, "bad schema root");
    size_t nroot = (size_t)r->sch[0].children;
    r->cols = calloc(nroot ? nroot : 1, sizeof(*r->cols));
    if (!r->cols)
        return ETL_ENOMEM;
    size_t at = 1;
    for (size_t i = 0; i < nroot; i++) {
        if (at >= r->nsch)
            return fail(err, ETL_EINVAL, "schema ends early");
        const struct selem *top = &r->sch[at];
        const char *name = top->name ? top->name : "";
        struct rcol *c = &r->cols[r->ncols];
        const struct selem *leaf = top;
        if (top->rep == REP_REPEATED)
            return fail(err, ETL_ENOTSUP,
                        "column %s: repeated fields outside a LIST are not "
                        "supported",
                        name);
        bool optional = top->rep == REP_OPTIONAL;
        if (top->children > 0) {
            bool is_list = top->converted == CT_LIST || top->logical == 3;
            if (!is_list || top->children != 1 || at + 2 >= r->nsch ||
                r->sch[at + 1].rep != REP_REPEATED ||
                r->sch[at + 1].children != 1 || r->sch[at + 2].children > 0)
                return fail(err, ETL_ENOTSUP,
                            "column %s: nested groups other than a "
                            "three-level LIST are not supported",
                            name);
            leaf = &r->sch[at + 2];
            if (leaf->rep == REP_REPEATED)
                return fail(err, ETL_ENOTSUP,
                            "column %s: repeated list elements are not "
                            "supported",
                            name);
            c->pub.list = true;
            c->list_def = optional ? 1 : 0;
            c->max_rep = 1;
            c->max_def = c->list_def + 1 + (leaf->rep == REP_OPTIONAL);
            at += 3;
        } else {
            c->max_def = optional ? 1 : 0;
            at += 1;
        }
        c->pub.optional = optional;
        c->phys = leaf->type;
        switch (leaf->type) {
        case T_BOOLEAN:
            c->pub.type = PQ_BOOLEAN;
            break;
        case T_INT32:
            c->pub.type = PQ_INT32;
            break;
        case T_INT64:
            c->pub.type = PQ_INT64;
            if (leaf->logical == 8 || leaf->converted == CT_TIMESTAMP_MILLIS) {
                if (leaf->logical == 8 && leaf->ts_unit != 1)
                    return fail(err, ETL_ENOTSUP,
                                "column %s: timestamps other than "
                                "milliseconds are not supported",
                                name);
                c->pub.type = PQ_TIMESTAMP_MS;
            }
            break;
        case T_FLOAT:
            c->pub.type = PQ_FLOAT;
            break;
        case T_DOUBLE:
            c->pub.type = PQ_DOUBLE;
            break;
        case T_BYTE_ARRAY:
            c->pub.type = PQ_STRING;
            break;
        default:
            return fail(err, ETL_ENOTSUP,
                        "column %s: physical type %d is not supported", name,
                        leaf->type);
        }
        c->name = strdup(name);
        if (!c->name)
            return ETL_ENOMEM;
        c->pub.name = c->name;
        r->ncols++;
    }
    if (at != r->nsch)
        return fail(err, ETL_EINVAL, "schema has %zu elements, %zu used",
                    r->nsch, at);
    return 0;
}

static int parse_footer(struct tr *t, struct pq_reader *r, struct buf *err)
{
    int16_t last = 0, id;
    int type, elem;
    bool have_schema = false, have_rgs = false;
    int rc = 0;
    while (!rc && tr_field(t, &last, &id, &type)) {
        if (id == 2 && type == TT_LIST && !have_schema) {
            size_t n = tr_list(t, &elem);
            if (elem != TT_STRUCT)
                return fail(err, ETL_EINVAL, "bad schema list");
            r->sch = calloc(n ? n : 1, sizeof(*r->sch));
            if (!r->sch)
                return ETL_ENOMEM;
            for (size_t i = 0; i < n && !t->bad; i++) {
                parse_schema_elem(t, &r->sch[i]);
                r->nsch++;
            }
            if (t->bad)
                break;
            rc = build_columns(r, err);
            have_schema = true;
        } else if (id == 3 && type == TT_I64) {
            r->rows = tr_zigzag(t);
        } else if (id == 4 && type == TT_LIST && have_schema && !have_rgs) {
            size_t n = tr_list(t, &elem);
            if (elem != TT_STRUCT)
                return fail(err, ETL_EINVAL, "bad row group list");
            r->rgs = calloc(n ? n : 1, sizeof(*r->rgs));
            if (!r->rgs)
                return ETL_ENOMEM;
            for (size_t i = 0; !rc && i < n && !t->bad; i++) {
                rc = parse_row_group(t, r, &r->rgs[i], err);
                r->nrg++;
            }
            have_rgs = true;
        } else if (id == 5 && type == TT_LIST) {
            size_t n = tr_list(t, &elem);
            if (elem != TT_STRUCT || r->kvs)
                return fail(err, ETL_EINVAL, "bad key-value list");
            r->kvs = calloc(n ? n : 1, sizeof(*r->kvs));
            if (!r->kvs)
                return ETL_ENOMEM;
            for (size_t i = 0; i < n && !t->bad; i++) {
                int16_t l2 = 0, id2;
                int t2;
                struct kv *kv = &r->kvs[r->nkv++];
                while (tr_field(t, &l2, &id2, &t2)) {
                    if (id2 == 1 && t2 == TT_BINARY && !kv->key)
                        kv->key = tr_string(t);
                    else if (id2 == 2 && t2 == TT_BINARY && !kv->value)
                        kv->value = tr_string(t);
                    else
                        tr_skip(t, t2, false, 2);
                }
                if (!kv->key && !t->bad)
                    kv->key = strdup("");
            }
        } else if (id == 6 && type == TT_BINARY && !r->created_by) {
            r->created_by = tr_string(t);
        } else {
            tr_skip(t, type, false, 1);
        }
    }
    if (rc)
        return rc;
    if (t->bad)
        return fail(err, ETL_EINVAL, "corrupt footer");
    if (!have_schema)
        return fail(err, ETL_EINVAL, "footer has no schema");
    return 0;
}

int pq_reader_open(const void *data, size_t len, struct pq_reader **out,
                   struct buf *err)
{
    const uint8_t *d = data;
    *out = NULL;
    if (!d || len < 12 || memcmp(d, "PAR1", 4) != 0 ||
        memcmp(d + len - 4, "PAR1", 4) != 0)
        return fail(err, ETL_EINVAL, "not a Parquet file (no PAR1 magic)");
    uint32_t flen = pq_get_le32(d + len - 8);
    if (flen > len - 12)
        return fail(err, ETL_EINVAL, "footer length %u beyond the file",
                    (unsigned)flen);
    struct pq_reader *r = calloc(1, sizeof(*r));
    if (!r)
        return ETL_ENOMEM;
    r->data = d;
    r->len = len;
    struct tr t = {d + len - 8 - flen, d + len - 8, false};
    int rc = parse_footer(&t, r, err);
    int64_t sum = 0;
    for (size_t i = 0; !rc && i < r->nrg; i++) {
        if (r->rgs[i].rows < 0)
            rc = fail(err, ETL_EINVAL, "negative row count");
        sum += r->rgs[i].rows;
    }
    if (!rc && (r->rows < 0 || sum != r->rows))
        rc = fail(err, ETL_EINVAL,
                  "row groups hold %lld rows, the footer says %lld",
                  (long long)sum, (long long)r->rows);
    if (rc) {
        if (rc == ETL_ENOMEM && err && !err->len)
            buf_addstr(err, "out of memory");
        pq_reader_free(r);
        return rc;
    }
    /* The schema elements are no longer needed. */
    for (size_t i = 0; i < r->nsch; i++)
        free(r->sch[i].name);
    free(r->sch);
    r->sch = NULL;
    r->nsch = 0;
    *out = r;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Pages */

/* RLE / bit-packed hybrid decoding of n values into out. */
static int rle_decode(const uint8_t *p, size_t len, int bw, uint32_t *out,
                      size_t n)
{
    struct tr t = {p, p + len, false};
    size_t got = 0;
    if (bw < 0 || bw > 32)
        return ETL_EINVAL;
    size_t vbytes = ((size_t)bw + 7) / 8;
    uint32_t mask = bw == 32 ? 0xffffffffu : ((1u << bw) - 1);
    while (got < n) {
        uint64_t h = tr_varint(&t);
        if (t.bad)
            return ETL_EINVAL;
        if (h & 1) { /* bit-packed: groups of 8 */
            uint64_t groups = h >> 1;
            if (groups > (uint64_t)(t.end - t.p) / (bw ? (size_t)bw : 1) + 1)
                return ETL_EINVAL;
            size_t count = (size_t)groups * 8;
            size_t bytes = (size_t)groups * (size_t)bw;
            if (bytes > (size_t)(t.end - t.p))
                return ETL_EINVAL;
            for (size_t i = 0; i < count && got < n; i++) {
                uint64_t bit = (uint64_t)i * (uint64_t)bw, v = 0;
                for (int b = 0; b < bw; b++, bit++)
                    v |= (uint64_t)((t.p[bit / 8] >> (bit % 8)) & 1) << b;
                out[got++] = (uint32_t)v & mask;
            }
            t.p += bytes;
        } else { /* RLE run */
            uint64_t count = h >> 1;
            if (vbytes > (size_t)(t.end - t.p))
                return ETL_EINVAL;
            uint32_t v = 0;
            for (size_t i = 0; i < vbytes; i++)
                v |= (uint32_t)t.p[i] << (8 * i);
            t.p += vbytes;
            if (count == 0 || (v & ~mask))
                return ETL_EINVAL;
            for (uint64_t i = 0; i < count && got < n; i++)
                out[got++] = v;
        }
    }
    return 0;
}

/* Levels of a v1 page: 4-byte length, then the hybrid encoding. */
static int read_levels(const uint8_t **p, const uint8_t *end, int max,
                       uint32_t *out, size_t n)
{
    if (end - *p < 4)
        return ETL_EINVAL;
    uint32_t len = pq_get_le32(*p);
    *p += 4;
    if (len > (size_t)(end - *p))
        return ETL_EINVAL;
    int rc = rle_decode(*p, len, pq_bit_width((uint32_t)max), out, n);
    *p += len;
    for (size_t i = 0; !rc && i < n; i++)
        if (out[i] > (uint32_t)max)
            rc = ETL_EINVAL;
    return rc;
}

/* One PLAIN value of the column's type at *p (strings copied). */
static int plain_value(const struct rcol *c, const uint8_t **p,
                       const uint8_t *end, size_t bool_index,
                       const uint8_t *bool_base, struct pq_value *v)
{
    size_t avail = (size_t)(end - *p);
    memset(v, 0, sizeof(*v));
    switch (c->phys) {
    case T_BOOLEAN:
        if (bool_index / 8 >= (size_t)(end - bool_base))
            return ETL_EINVAL;
        v->v.b = (bool_base[bool_index / 8] >> (bool_index % 8)) & 1;
        return 0;
    case T_INT32:
    case T_FLOAT:
        if (avail < 4)
            return ETL_EINVAL;
        if (c->phys == T_INT32)
            v->v.i32 = (int32_t)pq_get_le32(*p);
        else
            memcpy(&v->v.f, *p, 4);
        *p += 4;
        return 0;
    case T_INT64:
    case T_DOUBLE:
        if (avail < 8)
            return ETL_EINVAL;
        {
            uint64_t u =
                (uint64_t)pq_get_le32(*p) | (uint64_t)pq_get_le32(*p + 4) << 32;
            if (c->phys == T_INT64)
                v->v.i64 = (int64_t)u;
            else
                memcpy(&v->v.d, &u, 8);
        }
        *p += 8;
        return 0;
    case T_BYTE_ARRAY: {
        if (avail < 4)
            return ETL_EINVAL;
        uint32_t n = pq_get_le32(*p);
        if (n > avail - 4)
            return ETL_EINVAL;
        char *s = malloc((size_t)n + 1);
        if (!s)
            return ETL_ENOMEM;
        memcpy(s, *p + 4, n);
        s[n] = '\0';
        v->s = s;
        v->len = n;
        *p += 4 + (size_t)n;
        return 0;
    }
    }
    return ETL_EINVAL;
}

static int copy_value(const struct pq_value *from, struct pq_value *to)
{
    *to = *from;
    if (from->s) {
        char *s = malloc(from->len + 1);
        if (!s)
            return ETL_ENOMEM;
        memcpy(s, from->s, from->len + 1);
        to->s = s;
    }
    return 0;
}

struct dict {
    struct pq_value *v;
    size_t n;
};

static void dict_release(struct dict *d)
{
    for (size_t i = 0; i < d->n; i++)
        free((char *)d->v[i].s);
    free(d->v);
    d->v = NULL;
    d->n = 0;
}

/* Where the assembled rows go. */
struct sink {
    struct rcol *c;
    size_t nrows, row_cap;
};

static int sink_row(struct sink *k, bool null)
{
    struct rcol *c = k->c;
    if (k->nrows == k->row_cap) {
        size_t cap = k->row_cap ? 2 * k->row_cap : 64;
        struct pq_value *row = realloc(c->row, cap * sizeof(*row));
        if (!row)
            return ETL_ENOMEM;
        c->row = row;
        if (c->pub.list) {
            size_t *first = realloc(c->first, (cap + 1) * sizeof(*first));
            if (!first)
                return ETL_ENOMEM;
            c->first = first;
        }
        k->row_cap = cap;
    }
    memset(&c->row[k->nrows], 0, sizeof(c->row[0]));
    c->row[k->nrows].null = null;
    if (c->pub.list)
        c->first[k->nrows] = c->nelem;
    k->nrows++;
    return 0;
}

static struct pq_value *sink_elem(struct sink *k)
{
    struct rcol *c = k->c;
    if (c->nelem == c->elem_cap) {
        size_t cap = c->elem_cap ? 2 * c->elem_cap : 64;
        struct pq_value *e = realloc(c->elem, cap * sizeof(*e));
        if (!e)
            return NULL;
        c->elem = e;
        c->elem_cap = cap;
    }
    struct pq_value *v = &c->elem[c->nelem++];
    memset(v, 0, sizeof(*v));
    return v;
}

/* A data page v1 body: levels, then values; rows go to the sink. */
static int data_page(struct sink *k, const struct dict *dict, int encoding,
                     const uint8_t *p, const uint8_t *end, size_t n,
                     struct buf *err)
{
    const struct rcol *c = k->c;
    uint32_t *rep = NULL, *def = NULL, *idx = NULL;
    int rc = 0;
    bool use_dict =
        encoding == ENC_RLE_DICTIONARY || encoding == ENC_PLAIN_DICTIONARY;
    if (!use_dict && encoding != ENC_PLAIN) {
        return fail(err, ETL_ENOTSUP, "column %s: encoding %s is not supported",
                    c->name, encoding_name(encoding));
    }
    if (use_dict && !dict->v && n)
        return fail(err, ETL_EINVAL, "column %s: dictionary page missing",
                    c->name);
    rep = calloc(n ? n : 1, sizeof(*rep));
    def = calloc(n ? n : 1, sizeof(*def));
    if (!rep || !def) {
        rc = ETL_ENOMEM;
        goto out;
    }
    if (c->max_rep && read_levels(&p, end, c->max_rep, rep, n))
        goto bad;
    if (c->max_def && read_levels(&p, end, c->max_def, def, n))
        goto bad;
    size_t nv = 0;
    for (size_t i = 0; i < n; i++) {
        if (!c->max_def)
            def[i] = 0;
        nv += def[i] == (uint32_t)c->max_def;
    }
    if (use_dict) {
        idx = calloc(nv ? nv : 1, sizeof(*idx));
        if (!idx) {
            rc = ETL_ENOMEM;
            goto out;
        }
        if (nv) {
            if (p >= end || *p > 32)
                goto bad;
            int bw = *p++;
            if (rle_decode(p, (size_t)(end - p), bw, idx, nv))
                goto bad;
            for (size_t i = 0; i < nv; i++)
                if (idx[i] >= dict->n)
                    goto bad;
        }
    }
    const uint8_t *bool_base = p;
    size_t vi = 0;
    for (size_t i = 0; i < n; i++) {
        if (c->max_rep && i == 0 && rep[0] != 0)
            goto bad; /* a page starts a row */
        bool new_row = !c->max_rep || rep[i] == 0;
        bool present = def[i] == (uint32_t)c->max_def;
        struct pq_value v = {0};
        if (present) {
            if (use_dict)
                rc = copy_value(&dict->v[idx[vi]], &v);
            else
                rc = plain_value(c, &p, end, vi, bool_base, &v);
            if (rc == ETL_EINVAL)
                goto bad;
            if (rc)
                goto out;
            vi++;
        } else {
            v.null = true;
        }
        bool kept = false; /* v (and its string) moved into the sink */
        if (!c->pub.list) {
            rc = sink_row(k, v.null);
            if (!rc && present) {
                k->c->row[k->nrows - 1] = v;
                kept = true;
            }
        } else {
            if (new_row)
                rc = sink_row(k, def[i] < (uint32_t)c->list_def);
            if (!rc && def[i] > (uint32_t)c->list_def) {
                struct pq_value *e = sink_elem(k);
                if (!e) {
                    rc = ETL_ENOMEM;
                } else {
                    *e = v;
                    kept = true;
                }
            }
        }
        if (!kept)
            free((char *)v.s);
        if (rc)
            goto out;
    }
    goto out;
bad:
    rc = fail(err, ETL_EINVAL, "column %s: corrupt data page", c->name);
out:
    free(rep);
    free(def);
    free(idx);
    return rc;
}

static int decompress(int codec, const uint8_t *src, size_t n, struct buf *dst,
                      size_t want)
{
    buf_reset(dst);
    if (want > MAX_PAGE_BYTES)
        return ETL_EINVAL;
    int rc = buf_grow(dst, want + 1);
    if (rc)
        return rc;
    if (codec == CODEC_UNCOMPRESSED) {
        if (n != want)
            return ETL_EINVAL;
        memcpy(dst->data, src, n);
    } else if (codec == CODEC_SNAPPY) {
        size_t out_len = 0;
        if (snappy_uncompressed_length((const char *)src, n, &out_len) !=
                SNAPPY_OK ||
            out_len != want)
            return ETL_EINVAL;
        out_len = want;
        if (snappy_uncompress((const char *)src, n, dst->data, &out_len) !=
                SNAPPY_OK ||
            out_len != want)
            return ETL_EINVAL;
    } else {
        size_t got = ZSTD_decompress(dst->data, want, src, n);
        if (ZSTD_isError(got) || got != want)
            return ETL_EINVAL;
    }
    dst->len = want;
    dst->data[want] = '\0';
    return 0;
}

struct page_header {
    int type;
    int32_t unc, comp;
    int32_t num_values;
    int encoding;
    int def_enc, rep_enc;
};

static void parse_page_header(struct tr *t, struct page_header *h)
{
    int16_t last = 0, id;
    int type;
    memset(h, 0, sizeof(*h));
    h->type = -1;
    h->encoding = h->def_enc = h->rep_enc = ENC_RLE;
    while (tr_field(t, &last, &id, &type)) {
        if (id == 1 && type == TT_I32) {
            h->type = tr_i32(t);
        } else if (id == 2 && type == TT_I32) {
            h->unc = tr_i32(t);
        } else if (id == 3 && type == TT_I32) {
            h->comp = tr_i32(t);
        } else if ((id == 5 || id == 7) && type == TT_STRUCT) {
            int16_t l2 = 0, id2;
            int t2;
            while (tr_field(t, &l2, &id2, &t2)) {
                if (id2 == 1 && t2 == TT_I32)
                    h->num_values = tr_i32(t);
                else if (id2 == 2 && t2 == TT_I32)
                    h->encoding = tr_i32(t);
                else if (id == 5 && id2 == 3 && t2 == TT_I32)
                    h->def_enc = tr_i32(t);
                else if (id == 5 && id2 == 4 && t2 == TT_I32)
                    h->rep_enc = tr_i32(t);
                else
                    tr_skip(t, t2, false, 2);
            }
        } else {
            tr_skip(t, type, false, 1);
        }
    }
}

static int read_chunk(struct pq_reader *r, struct sink *k,
                      const struct chunk *ch, int64_t rows, struct buf *err)
{
    const struct rcol *c = k->c;
    if (ch->codec != CODEC_UNCOMPRESSED && ch->codec != CODEC_SNAPPY &&
        ch->codec != CODEC_ZSTD)
        return fail(err, ETL_ENOTSUP, "column %s: codec %s is not supported",
                    c->name, codec_name(ch->codec));
    int64_t start = ch->dict_off > 0 ? ch->dict_off : ch->data_off;
    if (start < 4 || ch->total_comp < 0 || (uint64_t)start > r->len ||
        (uint64_t)ch->total_comp > r->len - (uint64_t)start ||
        ch->num_values < 0)
        return fail(err, ETL_EINVAL, "column %s: chunk outside the file",
                    c->name);
    const uint8_t *p = r->data + start;
    const uint8_t *end = p + ch->total_comp;
    struct buf page = BUF_INIT;
    struct dict dict = {0};
    int64_t seen = 0;
    size_t rows0 = k->nrows;
    int rc = 0;
    while (!rc && seen < ch->num_values) {
        struct tr t = {p, end, false};
        struct page_header h;
        parse_page_header(&t, &h);
        if (t.bad || h.comp < 0 || h.unc < 0 || h.num_values < 0 ||
            (size_t)h.comp > (size_t)(end - t.p)) {
            rc = fail(err, ETL_EINVAL, "column %s: corrupt page header",
                      c->name);
            break;
        }
        const uint8_t *body = t.p;
        p = body + h.comp;
        if (h.type == PAGE_INDEX)
            continue;
        if (h.type != PAGE_DATA && h.type != PAGE_DICTIONARY) {
            rc = fail(err, ETL_ENOTSUP,
                      h.type == PAGE_DATA_V2
                          ? "column %s: DATA_PAGE_V2 pages are not supported"
                          : "column %s: unknown page type",
                      c->name);
            break;
        }
        rc = decompress(ch->codec, body, (size_t)h.comp, &page, (size_t)h.unc);
        if (rc == ETL_EINVAL) {
            rc = fail(err, ETL_EINVAL, "column %s: cannot decompress a page",
                      c->name);
            break;
        }
        if (rc)
            break;
        const uint8_t *pb = (const uint8_t *)page.data;
        const uint8_t *pe = pb + page.len;
        if (h.type == PAGE_DICTIONARY) {
            if (dict.v || (h.encoding != ENC_PLAIN &&
                           h.encoding != ENC_PLAIN_DICTIONARY)) {
                rc = fail(err, ETL_ENOTSUP,
                          "column %s: dictionary page encoding %s is not "
                          "supported",
                          c->name, encoding_name(h.encoding));
                break;
            }
            if ((size_t)h.num_values > page.len * 8 + 1) {
                rc = fail(err, ETL_EINVAL, "column %s: corrupt dictionary",
                          c->name);
                break;
            }
            dict.v = calloc(h.num_values ? (size_t)h.num_values : 1,
                            sizeof(*dict.v));
            if (!dict.v) {
                rc = ETL_ENOMEM;
                break;
            }
            for (int32_t i = 0; !rc && i < h.num_values; i++) {
                rc = plain_value(c, &pb, pe, (size_t)i,
                                 (const uint8_t *)page.data, &dict.v[i]);
                if (!rc)
                    dict.n++;
            }
            if (rc == ETL_EINVAL)
                rc = fail(err, ETL_EINVAL, "column %s: corrupt dictionary",
                          c->name);
            continue;
        }
        if ((c->max_def && h.def_enc != ENC_RLE) ||
            (c->max_rep && h.rep_enc != ENC_RLE)) {
            rc = fail(
                err, ETL_ENOTSUP,
                "column %s: level encoding %s is not supported", c->name,
                encoding_name(h.def_enc != ENC_RLE ? h.def_enc : h.rep_enc));
            break;
        }
        if (h.num_values > MAX_PAGE_VALUES) {
            /* RLE levels can claim billions of entries in a few bytes. */
            rc = fail(err, ETL_ENOTSUP,
                      "column %s: pages of more than %d values are not "
                      "supported",
                      c->name, MAX_PAGE_VALUES);
            break;
        }
        rc = data_page(k, &dict, h.encoding, pb, pe, (size_t)h.num_values, err);
        seen += h.num_values;
    }
    if (!rc && seen != ch->num_values)
        rc = fail(err, ETL_EINVAL, "column %s: %lld values, %lld expected",
                  c->name, (long long)seen, (long long)ch->num_values);
    if (!rc && (int64_t)(k->nrows - rows0) != rows)
        rc = fail(err, ETL_EINVAL, "column %s: %zu rows, %lld expected",
                  c->name, k->nrows - rows0, (long long)rows);
    dict_release(&dict);
    buf_release(&page);
    return rc;
}

int pq_reader_cells(struct pq_reader *r, size_t col,
                    const struct pq_cells **out, struct buf *err)
{
    *out = NULL;
    if (!r || col >= r->ncols)
        return fail(err, ETL_EINVAL, "no column %zu", col);
    struct rcol *c = &r->cols[col];
    if (c->loaded) {
        *out = &c->cells;
        return 0;
    }
    struct sink k = {c, 0, 0};
    int rc = 0;
    for (size_t g = 0; !rc && g < r->nrg; g++)
        rc = read_chunk(r, &k, &r->rgs[g].chunks[col], r->rgs[g].rows, err);
    if (!rc && c->pub.list) {
        /* The closing offset: first has row_cap + 1 entries. */
        if (!c->first)
            c->first = calloc(1, sizeof(*c->first));
        if (!c->first)
            rc = ETL_ENOMEM;
        else
            c->first[k.nrows] = c->nelem;
    }
    c->cells.nrows = k.nrows;
    c->loaded = true; /* whatever was assembled is freed with the reader */
    if (rc) {
        if (rc == ETL_ENOMEM && err && !err->len)
            buf_addstr(err, "out of memory");
        c->loaded = false;
        for (size_t i = 0; i < k.nrows; i++)
            free((char *)c->row[i].s);
        for (size_t i = 0; i < c->nelem; i++)
            free((char *)c->elem[i].s);
        free(c->row);
        free(c->elem);
        free(c->first);
        c->row = c->elem = NULL;
        c->first = NULL;
        c->nelem = c->elem_cap = 0;
        return rc;
    }
    static const struct pq_value none = {0};
    c->cells.row = c->row ? c->row : &none;
    c->cells.first = c->pub.list ? c->first : NULL;
    c->cells.elem = c->elem ? c->elem : &none;
    *out = &c->cells;
    return 0;
}
