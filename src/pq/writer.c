/* The Parquet file: rows staged per column, column chunks buffered for one
 * row group, pages written at each row-group flush, footer at close.
 *
 * File layout (parquet.thrift, "File format"):
 *   "PAR1" { row group: { column chunk: [dictionary page] data page+ }+ }*
 *   FileMetaData (Thrift compact) <4-byte LE footer length> "PAR1"
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <snappy-c.h>
#include <zstd.h>

#include "core/err.h"
#include "core/log.h"
#include "core/utf8.h"
#include "pq/pq.h"
#include "pq/pq_int.h"

#ifndef ETL_VERSION
#define ETL_VERSION "0.0.0"
#endif

/* parquet.thrift enum values */
enum { T_BOOLEAN = 0, T_INT32 = 1, T_INT64 = 2, T_FLOAT = 4, T_DOUBLE = 5 };
enum { T_BYTE_ARRAY = 6 };
enum { CT_UTF8 = 0, CT_LIST = 3, CT_TIMESTAMP_MILLIS = 9 };
enum { REP_REQUIRED = 0, REP_OPTIONAL = 1, REP_REPEATED = 2 };
enum { ENC_PLAIN = 0, ENC_RLE = 3, ENC_RLE_DICTIONARY = 8 };
enum { PAGE_DATA = 0, PAGE_DICTIONARY = 2 };
enum { CODEC_UNCOMPRESSED = 0, CODEC_SNAPPY = 1, CODEC_ZSTD = 6 };
/* LogicalType union members */
enum { LT_STRING = 1, LT_LIST = 3, LT_TIMESTAMP = 8 };

#define DEFAULT_ROW_GROUP_BYTES ((size_t)64 << 20)
#define DEFAULT_PAGE_BYTES ((size_t)1 << 20)
#define DEFAULT_DICT_MAX_BYTES ((size_t)1 << 20)
#define DICT_MAX_ENTRIES 65536
/* Longer string min/max are omitted, not truncated. */
#define STATS_MAX_STRING 256
/* Level entries per page: keeps num_values far inside i32. */
#define PAGE_MAX_ENTRIES ((size_t)1 << 24)
#define WBUF_SIZE ((size_t)256 << 10)

enum row_state { RS_UNSET, RS_NULL, RS_VALUE, RS_LIST };

struct stats {
    int64_t nulls; /* level entries below max_def: nulls, null/empty lists */
    int64_t nans;
    bool has; /* min/max hold a value (a non-NaN one for floats) */
    int64_t imin, imax;
    double dmin, dmax;
    struct buf smin, smax;
};

struct column {
    char *name;
    enum pq_type type;
    bool optional, list, dict_try;
    int max_def, max_rep;
    int phys;
    size_t width; /* PLAIN bytes per value, 0 for BYTE_ARRAY; BOOLEAN is
                     buffered one byte per value and bit-packed per page */

    /* the row being built: PLAIN values (BYTE_ARRAY with length prefix) */
    enum row_state rs;
    struct buf stage;
    size_t stage_n;

    /* the column chunk of the current row group */
    struct buf def, rep; /* one byte per level entry, when max_* > 0 */
    size_t nlevels;
    struct buf vals; /* PLAIN values, when not dictionary-encoding */
    struct buf idx;  /* uint32_t dictionary indices, when dict_on */
    bool dict_on;
    struct pq_dict dict;
    struct stats st;
};

struct pq_writer {
    char *path, *tmp;
    int fd;
    uint64_t off; /* file offset of the next byte (wbuf included) */
    struct buf wbuf;
    int err; /* sticky */

    struct column *cols;
    size_t ncols;
    enum pq_codec codec;
    int zstd_level;
    ZSTD_CCtx *zc;
    size_t rg_bytes, page_bytes, dict_max;
    char *created_by;
    struct buf kv; /* encoded KeyValue structs */
    size_t nkv;

    int64_t rows, rg_rows;
    struct buf rgs; /* encoded RowGroup structs, the footer's list */
    size_t nrg;
    struct buf page, comp, hdr, chunks; /* scratch */
};

/* ---- small helpers ---- */

static uint64_t get_le64(const uint8_t *p)
{
    return (uint64_t)pq_get_le32(p) | (uint64_t)pq_get_le32(p + 4) << 32;
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

static bool valid_str(const char *s)
{
    return s && utf8_valid(s, strlen(s));
}

int pq_codec_parse(const char *s, enum pq_codec *out)
{
    if (!s)
        return ETL_EINVAL;
    if (strcasecmp(s, "zstd") == 0)
        *out = PQ_CODEC_ZSTD;
    else if (strcasecmp(s, "snappy") == 0)
        *out = PQ_CODEC_SNAPPY;
    else if (strcasecmp(s, "none") == 0 || strcasecmp(s, "uncompressed") == 0)
        *out = PQ_CODEC_NONE;
    else
        return ETL_EINVAL;
    return 0;
}

const char *pq_codec_name(enum pq_codec codec)
{
    switch (codec) {
    case PQ_CODEC_ZSTD:
        return "zstd";
    case PQ_CODEC_SNAPPY:
        return "snappy";
    case PQ_CODEC_NONE:
        return "none";
    }
    return "none";
}

/* ---- output ---- */

/* Record the writer's first failure (it is sticky) and log it once; errnum
 * is the errno of a failed system call, or 0. */
static int fail_errno(struct pq_writer *w, int rc, const char *op, int errnum)
{
    if (!w->err) {
        w->err = rc;
        LOGF(LOG_ERROR, "pq_write_failed", LF_S("path", w->path),
             LF_S("op", op), LF_S("error", etl_errname(rc)),
             LF_I("errno", errnum));
    }
    return w->err;
}

static int fail(struct pq_writer *w, int rc, const char *op)
{
    return fail_errno(w, rc, op, 0);
}

static int write_all(struct pq_writer *w, const void *p, size_t n)
{
    const char *s = p;
    while (n) {
        ssize_t k = write(w->fd, s, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return fail_errno(w, ETL_EIO, "write", k < 0 ? errno : 0);
        s += k;
        n -= (size_t)k;
    }
    return 0;
}

static int out_flush(struct pq_writer *w)
{
    int rc = write_all(w, w->wbuf.data, w->wbuf.len);
    buf_reset(&w->wbuf);
    return rc;
}

static int out_write(struct pq_writer *w, const void *p, size_t n)
{
    int rc = 0;
    if (w->wbuf.len + n > WBUF_SIZE)
        rc = out_flush(w);
    if (!rc)
        rc = n >= WBUF_SIZE ? write_all(w, p, n) : buf_add(&w->wbuf, p, n);
    if (rc)
        return fail(w, rc, "write");
    w->off += n;
    return 0;
}

/* ---- compression ---- */

static int compress_page(struct pq_writer *w, const struct buf *raw,
                         const struct buf **out)
{
    struct buf *c = &w->comp;
    buf_reset(c);
    if (w->codec == PQ_CODEC_NONE) {
        *out = raw;
        return 0;
    }
    if (w->codec == PQ_CODEC_ZSTD) {
        size_t bound = ZSTD_compressBound(raw->len);
        int rc = buf_grow(c, bound);
        if (rc)
            return rc;
        size_t n = ZSTD_compressCCtx(w->zc, c->data, bound, raw->data, raw->len,
                                     w->zstd_level);
        if (ZSTD_isError(n)) {
            LOGF(LOG_ERROR, "pq_zstd_error",
                 LF_S("error", ZSTD_getErrorName(n)));
            return ETL_EIO;
        }
        c->len = n;
    } else {
        size_t bound = snappy_max_compressed_length(raw->len);
        int rc = buf_grow(c, bound);
        if (rc)
            return rc;
        size_t n = bound;
        if (snappy_compress(raw->data, raw->len, c->data, &n) != SNAPPY_OK) {
            LOGF(LOG_ERROR, "pq_snappy_error", LF_I("bytes", raw->len));
            return ETL_EIO;
        }
        c->len = n;
    }
    c->data[c->len] = '\0';
    *out = c;
    return 0;
}

/* ---- statistics ---- */

static void stats_reset(struct stats *s)
{
    s->nulls = 0;
    s->nans = 0;
    s->has = false;
    buf_reset(&s->smin);
    buf_reset(&s->smax);
}

/* Unsigned bytewise order, a prefix first (the STRING column order). */
static int bytes_cmp(const void *a, size_t na, const void *b, size_t nb)
{
    int r = memcmp(a, b, na < nb ? na : nb);
    if (r)
        return r;
    return na < nb ? -1 : na > nb;
}

static void set_bytes(struct buf *b, const void *p, size_t n, int *rc)
{
    buf_reset(b);
    if (!*rc)
        *rc = buf_add(b, p, n);
}

/* p points at one PLAIN value (a BYTE_ARRAY's bytes without the prefix). */
static int stats_add(struct column *c, const uint8_t *p, size_t len)
{
    struct stats *s = &c->st;
    int rc = 0;
    switch (c->type) {
    case PQ_BOOLEAN:
    case PQ_INT32:
    case PQ_INT64:
    case PQ_TIMESTAMP_MS: {
        int64_t v = c->type == PQ_BOOLEAN ? p[0]
                    : c->type == PQ_INT32 ? (int32_t)pq_get_le32(p)
                                          : (int64_t)get_le64(p);
        if (!s->has || v < s->imin)
            s->imin = v;
        if (!s->has || v > s->imax)
            s->imax = v;
        s->has = true;
        break;
    }
    case PQ_FLOAT:
    case PQ_DOUBLE: {
        double v;
        if (c->type == PQ_FLOAT) {
            uint32_t bits = pq_get_le32(p);
            float f;
            memcpy(&f, &bits, 4);
            v = f;
        } else {
            uint64_t bits = get_le64(p);
            memcpy(&v, &bits, 8);
        }
        if (isnan(v)) {
            s->nans++;
            break;
        }
        if (!s->has || v < s->dmin)
            s->dmin = v;
        if (!s->has || v > s->dmax)
            s->dmax = v;
        s->has = true;
        break;
    }
    case PQ_STRING:
        if (!s->has || bytes_cmp(p, len, s->smin.data, s->smin.len) < 0)
            set_bytes(&s->smin, p, len, &rc);
        if (!s->has || bytes_cmp(p, len, s->smax.data, s->smax.len) > 0)
            set_bytes(&s->smax, p, len, &rc);
        s->has = true;
        break;
    }
    return rc;
}

/* PLAIN bytes of a min or max value into out[16] (or a pointer into the
 * string buffers). */
static const void *stat_bytes(const struct column *c, bool max, uint8_t *out,
                              size_t *n)
{
    const struct stats *s = &c->st;
    switch (c->type) {
    case PQ_BOOLEAN:
        out[0] = (uint8_t)(max ? s->imax : s->imin);
        *n = 1;
        return out;
    case PQ_INT32:
        pq_put_le32(out, (uint32_t)(max ? s->imax : s->imin));
        *n = 4;
        return out;
    case PQ_INT64:
    case PQ_TIMESTAMP_MS: {
        uint64_t v = (uint64_t)(max ? s->imax : s->imin);
        pq_put_le32(out, (uint32_t)v);
        pq_put_le32(out + 4, (uint32_t)(v >> 32));
        *n = 8;
        return out;
    }
    case PQ_FLOAT:
    case PQ_DOUBLE: {
        double v = max ? s->dmax : s->dmin;
        /* parquet.thrift (ColumnOrder): a zero min is written as -0.0 and
         * a zero max as +0.0, since -0.0 == +0.0 hid the other sign. */
        if (v == 0)
            v = max ? 0.0 : -0.0;
        if (c->type == PQ_FLOAT) {
            float f = (float)v;
            uint32_t bits;
            memcpy(&bits, &f, 4);
            pq_put_le32(out, bits);
            *n = 4;
        } else {
            uint64_t bits;
            memcpy(&bits, &v, 8);
            pq_put_le32(out, (uint32_t)bits);
            pq_put_le32(out + 4, (uint32_t)(bits >> 32));
            *n = 8;
        }
        return out;
    }
    case PQ_STRING:
        *n = max ? s->smax.len : s->smin.len;
        return max ? s->smax.data : s->smin.data;
    }
    *n = 0;
    return out;
}

/* The fields of a Statistics struct (opened and closed by the caller). */
static void encode_stats(struct tc_writer *t, const struct column *c)
{
    const struct stats *s = &c->st;
    bool minmax = s->has;
    if (c->type == PQ_STRING &&
        (s->smin.len > STATS_MAX_STRING || s->smax.len > STATS_MAX_STRING))
        minmax = false;
    tc_field_i64(t, 3, s->nulls);
    if (minmax) {
        uint8_t tmin[16], tmax[16];
        size_t nmin, nmax;
        const void *pmax = stat_bytes(c, true, tmax, &nmax);
        const void *pmin = stat_bytes(c, false, tmin, &nmin);
        tc_field_binary(t, 5, pmax, nmax);
        tc_field_binary(t, 6, pmin, nmin);
        tc_field_bool(t, 7, true);
        tc_field_bool(t, 8, true);
    }
    if (c->type == PQ_FLOAT || c->type == PQ_DOUBLE)
        tc_field_i64(t, 9, s->nans);
}

/* ---- pages and column chunks ---- */

struct chunk_out {
    int64_t unc, comp; /* totals including page headers */
    int ndata;         /* data pages */
};

static int write_page(struct pq_writer *w, int type, const struct buf *raw,
                      size_t num_values, int encoding, struct chunk_out *co)
{
    const struct buf *body;
    int rc = compress_page(w, raw, &body);
    if (rc)
        return fail(w, rc, "compress");
    if (raw->len > INT32_MAX || body->len > INT32_MAX || num_values > INT32_MAX)
        return fail(w, ETL_ETOOBIG, "page");

    struct tc_writer t;
    buf_reset(&w->hdr);
    tc_init(&t, &w->hdr);
    tc_struct_begin(&t); /* PageHeader */
    tc_field_i32(&t, 1, type);
    tc_field_i32(&t, 2, (int32_t)raw->len);
    tc_field_i32(&t, 3, (int32_t)body->len);
    if (type == PAGE_DATA) {
        tc_field_struct(&t, 5); /* DataPageHeader */
        tc_field_i32(&t, 1, (int32_t)num_values);
        tc_field_i32(&t, 2, encoding);
        tc_field_i32(&t, 3, ENC_RLE); /* definition_level_encoding */
        tc_field_i32(&t, 4, ENC_RLE); /* repetition_level_encoding */
        tc_struct_end(&t);
        co->ndata++;
    } else {
        tc_field_struct(&t, 7); /* DictionaryPageHeader */
        tc_field_i32(&t, 1, (int32_t)num_values);
        tc_field_i32(&t, 2, encoding);
        tc_struct_end(&t);
    }
    tc_struct_end(&t);
    rc = tc_finish(&t);
    if (rc)
        return fail(w, rc, "page_header");
    co->unc += (int64_t)(w->hdr.len + raw->len);
    co->comp += (int64_t)(w->hdr.len + body->len);
    rc = out_write(w, w->hdr.data, w->hdr.len);
    if (!rc)
        rc = out_write(w, body->data, body->len);
    return rc;
}

/* Levels as in a v1 data page: 4-byte little-endian length, then the
 * hybrid encoding. */
static int add_levels(struct buf *page, const struct buf *lv, size_t from,
                      size_t n, int max_level)
{
    size_t at = page->len;
    int rc = pq_buf_le32(page, 0);
    if (!rc)
        rc = pq_rle_encode_u8(page, (const uint8_t *)lv->data + from, n,
                              pq_bit_width((uint32_t)max_level));
    if (!rc)
        pq_put_le32((uint8_t *)page->data + at, (uint32_t)(page->len - at - 4));
    return rc;
}

static int dict_bit_width(const struct column *c)
{
    /* At least 1, as other writers do: some readers mishandle width 0. */
    int bw = pq_bit_width((uint32_t)(c->dict.n - 1));
    return bw ? bw : 1;
}

/* Write the chunk's pages, splitting into pages of about page_bytes at row
 * boundaries (a row never spans pages, as readers of v1 pages expect). */
static int write_pages(struct pq_writer *w, struct column *c, bool use_dict,
                       struct chunk_out *co)
{
    const uint8_t *def = (const uint8_t *)c->def.data;
    const uint8_t *rep = (const uint8_t *)c->rep.data;
    const uint8_t *vals = (const uint8_t *)c->vals.data;
    const uint32_t *idx = (const uint32_t *)(void *)c->idx.data;
    int bw = use_dict ? dict_bit_width(c) : 0;
    size_t e = 0, v = 0, b = 0; /* entry, value, byte in vals */
    while (e < c->nlevels) {
        size_t e0 = e, v0 = v, b0 = b, bytes = 0;
        do {
            do {
                if (!c->max_def || def[e] == c->max_def) {
                    /* BOOLEAN: one byte per value until packed */
                    size_t sz = c->width;
                    if (use_dict)
                        sz = ((size_t)bw + 7) / 8;
                    else if (!sz)
                        sz = 4 + pq_get_le32(vals + b);
                    if (!use_dict)
                        b += sz;
                    bytes += sz;
                    v++;
                }
                bytes += c->max_def > 0;
                e++;
            } while (e < c->nlevels && c->max_rep && rep[e] != 0);
        } while (e < c->nlevels && bytes < w->page_bytes &&
                 e - e0 < PAGE_MAX_ENTRIES);

        struct buf *page = &w->page;
        buf_reset(page);
        int rc = 0;
        if (c->max_rep)
            rc = add_levels(page, &c->rep, e0, e - e0, c->max_rep);
        if (!rc && c->max_def)
            rc = add_levels(page, &c->def, e0, e - e0, c->max_def);
        if (!rc && use_dict) {
            rc = buf_addch(page, bw);
            if (!rc)
                rc = pq_rle_encode_u32(page, idx + v0, v - v0, bw);
        } else if (!rc && c->type == PQ_BOOLEAN) {
            rc = pq_pack_bools(page, vals + v0, v - v0);
        } else if (!rc) {
            rc = buf_add(page, vals + b0, b - b0);
        }
        if (rc)
            return fail(w, rc, "encode");
        rc = write_page(w, PAGE_DATA, page, e - e0,
                        use_dict ? ENC_RLE_DICTIONARY : ENC_PLAIN, co);
        if (rc)
            return rc;
    }
    return 0;
}

static void encode_column_chunk(struct tc_writer *t, const struct column *c,
                                const struct pq_writer *w, bool use_dict,
                                int64_t dict_off, int64_t data_off,
                                const struct chunk_out *co)
{
    static const int codecs[] = {[PQ_CODEC_ZSTD] = CODEC_ZSTD,
                                 [PQ_CODEC_SNAPPY] = CODEC_SNAPPY,
                                 [PQ_CODEC_NONE] = CODEC_UNCOMPRESSED};
    bool levels = c->max_def || c->max_rep;

    tc_struct_begin(t);    /* ColumnChunk */
    tc_field_i64(t, 2, 0); /* file_offset: deprecated, 0 per the spec */
    tc_field_struct(t, 3); /* ColumnMetaData */
    tc_field_i32(t, 1, c->phys);
    /* PLAIN: the values, or the dictionary page; RLE: the levels. */
    tc_field_list(t, 2, TC_I32, 1 + (size_t)levels + use_dict);
    tc_i32(t, ENC_PLAIN);
    if (levels)
        tc_i32(t, ENC_RLE);
    if (use_dict)
        tc_i32(t, ENC_RLE_DICTIONARY);
    tc_field_list(t, 3, TC_BINARY, c->list ? 3 : 1);
    tc_binary(t, c->name, strlen(c->name));
    if (c->list) {
        tc_binary(t, "list", 4);
        tc_binary(t, "element", 7);
    }
    tc_field_i32(t, 4, codecs[w->codec]);
    tc_field_i64(t, 5, (int64_t)c->nlevels);
    tc_field_i64(t, 6, co->unc);
    tc_field_i64(t, 7, co->comp);
    tc_field_i64(t, 9, data_off);
    if (use_dict)
        tc_field_i64(t, 11, dict_off);
    tc_field_struct(t, 12); /* Statistics */
    encode_stats(t, c);
    tc_struct_end(t);
    /* encoding_stats: lets readers (parquet-mr) see that every data page
     * is dictionary-encoded without reading the pages. */
    tc_field_list(t, 13, TC_STRUCT, use_dict ? 2 : 1);
    if (use_dict) {
        tc_struct_begin(t);
        tc_field_i32(t, 1, PAGE_DICTIONARY);
        tc_field_i32(t, 2, ENC_PLAIN);
        tc_field_i32(t, 3, 1);
        tc_struct_end(t);
    }
    tc_struct_begin(t);
    tc_field_i32(t, 1, PAGE_DATA);
    tc_field_i32(t, 2, use_dict ? ENC_RLE_DICTIONARY : ENC_PLAIN);
    tc_field_i32(t, 3, co->ndata);
    tc_struct_end(t);
    tc_struct_end(t); /* ColumnMetaData */
    tc_struct_end(t); /* ColumnChunk */
}

static void chunk_reset(struct column *c)
{
    buf_reset(&c->def);
    buf_reset(&c->rep);
    buf_reset(&c->vals);
    buf_reset(&c->idx);
    c->nlevels = 0;
    pq_dict_release(&c->dict);
    c->dict_on = c->dict_try;
    stats_reset(&c->st);
}

/* Bytes held by the current row group, for the flush decision. */
static size_t rg_buffered(const struct pq_writer *w)
{
    size_t n = 0;
    for (size_t i = 0; i < w->ncols; i++) {
        const struct column *c = &w->cols[i];
        n += c->def.len + c->rep.len + c->vals.len + c->idx.len +
             c->st.smin.len + c->st.smax.len;
        if (c->dict_on)
            n += pq_dict_mem(&c->dict);
    }
    return n;
}

static int flush_row_group(struct pq_writer *w)
{
    if (w->err)
        return w->err;
    if (w->rg_rows == 0)
        return 0;
    int64_t rg_start = (int64_t)w->off, unc = 0, comp = 0;
    struct tc_writer t;
    buf_reset(&w->chunks);
    tc_init(&t, &w->chunks);
    for (size_t i = 0; i < w->ncols; i++) {
        struct column *c = &w->cols[i];
        /* A chunk of nothing but nulls has an empty dictionary: PLAIN. */
        bool use_dict = c->dict_on && c->dict.n > 0;
        struct chunk_out co = {0};
        int64_t dict_off = (int64_t)w->off;
        int rc = 0;
        if (use_dict)
            rc = write_page(w, PAGE_DICTIONARY, &c->dict.plain, c->dict.n,
                            ENC_PLAIN, &co);
        int64_t data_off = (int64_t)w->off;
        if (!rc)
            rc = write_pages(w, c, use_dict, &co);
        if (rc)
            return rc;
        encode_column_chunk(&t, c, w, use_dict, dict_off, data_off, &co);
        unc += co.unc;
        comp += co.comp;
    }

    struct buf *rgs = &w->rgs;
    size_t at = rgs->len;
    int rc = tc_finish(&t);
    tc_init(&t, rgs);
    tc_struct_begin(&t); /* RowGroup */
    tc_field_list(&t, 1, TC_STRUCT, w->ncols);
    tc_raw(&t, w->chunks.data, w->chunks.len);
    tc_field_i64(&t, 2, unc); /* total_byte_size (uncompressed) */
    tc_field_i64(&t, 3, w->rg_rows);
    tc_field_i64(&t, 5, rg_start);
    tc_field_i64(&t, 6, comp);
    if (w->nrg <= INT16_MAX)
        tc_field_i16(&t, 7, (int16_t)w->nrg);
    tc_struct_end(&t);
    if (!rc)
        rc = tc_finish(&t);
    if (rc) {
        buf_truncate(rgs, at);
        return fail(w, rc, "row_group");
    }
    w->nrg++;
    w->rg_rows = 0;
    for (size_t i = 0; i < w->ncols; i++)
        chunk_reset(&w->cols[i]);
    return 0;
}

/* ---- rows ---- */

static int dict_fallback(struct column *c)
{
    /* Rewrite the chunk so far as PLAIN values; the rest of the row group
     * stays PLAIN. */
    const uint32_t *idx = (const uint32_t *)(void *)c->idx.data;
    size_t n = c->idx.len / sizeof(uint32_t);
    buf_reset(&c->vals);
    for (size_t i = 0; i < n; i++) {
        const struct pq_dict *d = &c->dict;
        size_t off = d->offs[idx[i]];
        size_t len =
            d->width ? d->width
                     : 4 + pq_get_le32((const uint8_t *)d->plain.data + off);
        int rc = buf_add(&c->vals, d->plain.data + off, len);
        if (rc)
            return rc;
    }
    buf_release(&c->idx);
    pq_dict_release(&c->dict);
    c->dict_on = false;
    return 0;
}

static int add_values(struct pq_writer *w, struct column *c)
{
    const uint8_t *p = (const uint8_t *)c->stage.data;
    const uint8_t *end = p + c->stage.len;
    /* Without a dictionary the staged bytes are already PLAIN. */
    bool bulk = !c->dict_on;
    int rc = bulk ? buf_add(&c->vals, c->stage.data, c->stage.len) : 0;
    while (!rc && p < end) {
        size_t len = c->width, skip = 0;
        if (!len) {
            len = pq_get_le32(p);
            skip = 4;
        }
        rc = stats_add(c, p + skip, len);
        if (!rc && !bulk && c->dict_on) {
            uint32_t ix;
            rc = pq_dict_insert(&c->dict, p + skip, len, &ix);
            if (!rc)
                rc = buf_add(&c->idx, &ix, sizeof(ix));
            if (!rc && (c->dict.plain.len > w->dict_max ||
                        c->dict.n > DICT_MAX_ENTRIES))
                rc = dict_fallback(c);
        } else if (!rc && !bulk) {
            /* The dictionary was dropped by an earlier value of this row. */
            rc = buf_add(&c->vals, p, skip + len);
        }
        p += skip + len;
    }
    return rc;
}

static int add_level(struct column *c, int rep, int def)
{
    int rc = 0;
    if (c->max_rep)
        rc = buf_addch(&c->rep, rep);
    if (!rc && c->max_def)
        rc = buf_addch(&c->def, def);
    if (!rc)
        c->nlevels++;
    return rc;
}

static int commit(struct pq_writer *w, struct column *c)
{
    int rc;
    if (!c->list) {
        if (c->rs != RS_VALUE) {
            c->st.nulls++;
            return add_level(c, 0, 0);
        }
        rc = add_level(c, 0, c->max_def);
        return rc ? rc : add_values(w, c);
    }
    if (c->rs != RS_LIST || c->stage_n == 0) {
        /* def 0: null list; max_def - 1: empty list (no element). */
        c->st.nulls++;
        return add_level(c, 0, c->rs == RS_LIST ? c->max_def - 1 : 0);
    }
    rc = buf_grow(&c->def, c->stage_n);
    if (!rc)
        rc = buf_grow(&c->rep, c->stage_n);
    for (size_t i = 0; !rc && i < c->stage_n; i++)
        rc = add_level(c, i > 0, c->max_def);
    return rc ? rc : add_values(w, c);
}

static void row_reset(struct pq_writer *w)
{
    for (size_t i = 0; i < w->ncols; i++) {
        struct column *c = &w->cols[i];
        c->rs = RS_UNSET;
        buf_reset(&c->stage);
        c->stage_n = 0;
    }
}

int pq_end_row(struct pq_writer *w)
{
    if (!w)
        return ETL_EINVAL;
    if (w->err)
        return w->err;
    for (size_t i = 0; i < w->ncols; i++) {
        const struct column *c = &w->cols[i];
        if (!c->optional && c->rs != RS_VALUE && c->rs != RS_LIST) {
            LOGF(LOG_DEBUG, "pq_row_rejected", LF_S("column", c->name),
                 LF_S("reason", "required column not set"));
            row_reset(w);
            return ETL_EINVAL;
        }
    }
    for (size_t i = 0; i < w->ncols; i++) {
        int rc = commit(w, &w->cols[i]);
        if (rc)
            return fail(w, rc, "buffer");
    }
    row_reset(w);
    w->rows++;
    w->rg_rows++;
    if (rg_buffered(w) >= w->rg_bytes)
        return flush_row_group(w);
    return 0;
}

int64_t pq_writer_rows(const struct pq_writer *w)
{
    return w ? w->rows : 0;
}

static int column_for(struct pq_writer *w, size_t col, struct column **out)
{
    if (!w)
        return ETL_EINVAL;
    if (w->err)
        return w->err;
    if (col >= w->ncols)
        return ETL_EINVAL;
    *out = &w->cols[col];
    return 0;
}

/* Stage one value (prefix: the 4-byte length of a BYTE_ARRAY). */
static int stage(struct pq_writer *w, size_t col, unsigned types, const void *p,
                 size_t n, bool prefix)
{
    struct column *c;
    int rc = column_for(w, col, &c);
    if (rc)
        return rc;
    if (!(types & 1u << c->type))
        return ETL_EINVAL;
    if (c->list && c->rs != RS_LIST)
        return ETL_EINVAL;
    if (!c->list) {
        buf_reset(&c->stage);
        c->stage_n = 0;
        c->rs = RS_UNSET;
    }
    rc = buf_grow(&c->stage, n + 4);
    if (rc)
        return fail(w, rc, "stage");
    if (prefix)
        pq_buf_le32(&c->stage, (uint32_t)n); /* cannot fail after grow */
    buf_add(&c->stage, p, n);
    c->stage_n++;
    if (!c->list)
        c->rs = RS_VALUE;
    return 0;
}

int pq_set_null(struct pq_writer *w, size_t col)
{
    struct column *c;
    int rc = column_for(w, col, &c);
    if (rc)
        return rc;
    if (!c->optional)
        return ETL_EINVAL;
    buf_reset(&c->stage);
    c->stage_n = 0;
    c->rs = RS_NULL;
    return 0;
}

int pq_list_begin(struct pq_writer *w, size_t col)
{
    struct column *c;
    int rc = column_for(w, col, &c);
    if (rc)
        return rc;
    if (!c->list)
        return ETL_EINVAL;
    buf_reset(&c->stage);
    c->stage_n = 0;
    c->rs = RS_LIST;
    return 0;
}

int pq_set_bool(struct pq_writer *w, size_t col, bool v)
{
    uint8_t b = v ? 1 : 0;
    return stage(w, col, 1u << PQ_BOOLEAN, &b, 1, false);
}

int pq_set_i32(struct pq_writer *w, size_t col, int32_t v)
{
    uint8_t b[4];
    pq_put_le32(b, (uint32_t)v);
    return stage(w, col, 1u << PQ_INT32, b, 4, false);
}

int pq_set_i64(struct pq_writer *w, size_t col, int64_t v)
{
    uint8_t b[8];
    pq_put_le32(b, (uint32_t)(uint64_t)v);
    pq_put_le32(b + 4, (uint32_t)((uint64_t)v >> 32));
    return stage(w, col, 1u << PQ_INT64 | 1u << PQ_TIMESTAMP_MS, b, 8, false);
}

int pq_set_float(struct pq_writer *w, size_t col, float v)
{
    uint32_t bits;
    uint8_t b[4];
    memcpy(&bits, &v, 4);
    pq_put_le32(b, bits);
    return stage(w, col, 1u << PQ_FLOAT, b, 4, false);
}

int pq_set_double(struct pq_writer *w, size_t col, double v)
{
    uint64_t bits;
    uint8_t b[8];
    memcpy(&bits, &v, 8);
    pq_put_le32(b, (uint32_t)bits);
    pq_put_le32(b + 4, (uint32_t)(bits >> 32));
    return stage(w, col, 1u << PQ_DOUBLE, b, 8, false);
}

int pq_set_str(struct pq_writer *w, size_t col, const char *s, size_t len)
{
    if (!s && len)
        return ETL_EINVAL;
    if (len > INT32_MAX)
        return ETL_ETOOBIG;
    if (!utf8_valid(s, len))
        return ETL_EINVAL;
    return stage(w, col, 1u << PQ_STRING, s ? s : "", len, true);
}

/* ---- footer ---- */

static void encode_leaf_type(struct tc_writer *t, enum pq_type type)
{
    if (type == PQ_STRING) {
        tc_field_i32(t, 6, CT_UTF8);
        tc_field_struct(t, 10);
        tc_field_empty_struct(t, LT_STRING);
        tc_struct_end(t);
    } else if (type == PQ_TIMESTAMP_MS) {
        tc_field_i32(t, 6, CT_TIMESTAMP_MILLIS);
        tc_field_struct(t, 10);
        tc_field_struct(t, LT_TIMESTAMP);
        tc_field_bool(t, 1, true);   /* isAdjustedToUTC */
        tc_field_struct(t, 2);       /* TimeUnit */
        tc_field_empty_struct(t, 1); /* MILLIS */
        tc_struct_end(t);
        tc_struct_end(t);
        tc_struct_end(t);
    }
}

static void encode_schema(struct tc_writer *t, const struct pq_writer *w)
{
    size_t n = 1;
    for (size_t i = 0; i < w->ncols; i++)
        n += w->cols[i].list ? 3 : 1;
    tc_field_list(t, 2, TC_STRUCT, n);
    tc_struct_begin(t); /* the root */
    tc_field_string(t, 4, "schema");
    tc_field_i32(t, 5, (int32_t)w->ncols);
    tc_struct_end(t);
    for (size_t i = 0; i < w->ncols; i++) {
        const struct column *c = &w->cols[i];
        int rep = c->optional ? REP_OPTIONAL : REP_REQUIRED;
        if (c->list) {
            tc_struct_begin(t);
            tc_field_i32(t, 3, rep);
            tc_field_string(t, 4, c->name);
            tc_field_i32(t, 5, 1);
            tc_field_i32(t, 6, CT_LIST);
            tc_field_struct(t, 10);
            tc_field_empty_struct(t, LT_LIST);
            tc_struct_end(t);
            tc_struct_end(t);
            tc_struct_begin(t);
            tc_field_i32(t, 3, REP_REPEATED);
            tc_field_string(t, 4, "list");
            tc_field_i32(t, 5, 1);
            tc_struct_end(t);
            rep = REP_REQUIRED;
        }
        tc_struct_begin(t);
        tc_field_i32(t, 1, c->phys);
        tc_field_i32(t, 3, rep);
        tc_field_string(t, 4, c->list ? "element" : c->name);
        encode_leaf_type(t, c->type);
        tc_struct_end(t);
    }
}

static int write_footer(struct pq_writer *w)
{
    struct buf f = BUF_INIT;
    struct tc_writer t;
    tc_init(&t, &f);
    tc_struct_begin(&t); /* FileMetaData */
    tc_field_i32(&t, 1, 2);
    encode_schema(&t, w);
    tc_field_i64(&t, 3, w->rows);
    tc_field_list(&t, 4, TC_STRUCT, w->nrg);
    tc_raw(&t, w->rgs.data, w->rgs.len);
    if (w->nkv) {
        tc_field_list(&t, 5, TC_STRUCT, w->nkv);
        tc_raw(&t, w->kv.data, w->kv.len);
    }
    tc_field_string(&t, 6, w->created_by);
    /* TYPE_ORDER for every leaf, so readers trust min_value/max_value. */
    tc_field_list(&t, 7, TC_STRUCT, w->ncols);
    for (size_t i = 0; i < w->ncols; i++) {
        tc_struct_begin(&t);
        tc_field_empty_struct(&t, 1);
        tc_struct_end(&t);
    }
    tc_struct_end(&t);
    int rc = tc_finish(&t);
    if (!rc && f.len > UINT32_MAX)
        rc = ETL_ETOOBIG;
    if (!rc)
        rc = pq_buf_le32(&f, (uint32_t)f.len);
    if (!rc)
        rc = buf_add(&f, "PAR1", 4);
    if (rc)
        rc = fail(w, rc, "footer");
    else
        rc = out_write(w, f.data, f.len);
    buf_release(&f);
    return rc;
}

/* ---- open / close ---- */

static void column_release(struct column *c)
{
    free(c->name);
    buf_release(&c->stage);
    buf_release(&c->def);
    buf_release(&c->rep);
    buf_release(&c->vals);
    buf_release(&c->idx);
    pq_dict_release(&c->dict);
    buf_release(&c->st.smin);
    buf_release(&c->st.smax);
}

static void writer_free(struct pq_writer *w)
{
    if (w->fd >= 0)
        close(w->fd);
    for (size_t i = 0; w->cols && i < w->ncols; i++)
        column_release(&w->cols[i]);
    free(w->cols);
    ZSTD_freeCCtx(w->zc);
    free(w->path);
    free(w->tmp);
    free(w->created_by);
    buf_release(&w->wbuf);
    buf_release(&w->kv);
    buf_release(&w->rgs);
    buf_release(&w->page);
    buf_release(&w->comp);
    buf_release(&w->hdr);
    buf_release(&w->chunks);
    free(w);
}

/* The process umask, without changing it (umask(2) can only set it, which
 * would race with other threads creating files). */
static mode_t current_umask(void)
{
    mode_t m = 022;
    FILE *f = fopen("/proc/self/status", "re");
    if (!f)
        return m;
    char line[128];
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "Umask:", 6) == 0) {
            m = (mode_t)strtoul(line + 6, NULL, 8) & 0777;
            break;
        }
    }
    fclose(f);
    return m;
}

static int init_columns(struct pq_writer *w, const struct pq_column *cols,
                        size_t ncols)
{
    w->cols = calloc(ncols, sizeof(*w->cols));
    if (!w->cols)
        return ETL_ENOMEM;
    w->ncols = ncols;
    for (size_t i = 0; i < ncols; i++) {
        struct column *c = &w->cols[i];
        buf_init(&c->stage, 0);
        buf_init(&c->def, 0);
        buf_init(&c->rep, 0);
        buf_init(&c->vals, 0);
        buf_init(&c->idx, 0);
        buf_init(&c->st.smin, 0);
        buf_init(&c->st.smax, 0);
        pq_dict_init(&c->dict, 0);
    }
    for (size_t i = 0; i < ncols; i++) {
        const struct pq_column *pc = &cols[i];
        struct column *c = &w->cols[i];
        if (!valid_str(pc->name) || !pc->name[0])
            return ETL_EINVAL;
        for (size_t j = 0; j < i; j++)
            if (strcmp(pc->name, cols[j].name) == 0)
                return ETL_EINVAL;
        static const struct {
            int phys;
            size_t width;
        } types[] = {
            [PQ_BOOLEAN] = {T_BOOLEAN, 1},    [PQ_INT32] = {T_INT32, 4},
            [PQ_INT64] = {T_INT64, 8},        [PQ_FLOAT] = {T_FLOAT, 4},
            [PQ_DOUBLE] = {T_DOUBLE, 8},      [PQ_STRING] = {T_BYTE_ARRAY, 0},
            [PQ_TIMESTAMP_MS] = {T_INT64, 8},
        };
        if ((unsigned)pc->type > PQ_TIMESTAMP_MS)
            return ETL_EINVAL;
        c->name = dup_str(pc->name);
        if (!c->name)
            return ETL_ENOMEM;
        c->type = pc->type;
        c->optional = pc->optional;
        c->list = pc->list;
        c->dict_try = pc->dictionary && pc->type != PQ_BOOLEAN;
        c->dict_on = c->dict_try;
        c->phys = types[pc->type].phys;
        c->width = types[pc->type].width;
        c->max_rep = c->list;
        c->max_def = c->optional + c->list;
        pq_dict_init(&c->dict, c->width);
    }
    return 0;
}

static int init_options(struct pq_writer *w, const struct pq_options *o)
{
    static const struct pq_options defaults = {0};
    if (!o)
        o = &defaults;
    if ((unsigned)o->codec > PQ_CODEC_NONE)
        return ETL_EINVAL;
    if (o->zstd_level &&
        (o->zstd_level < ZSTD_minCLevel() || o->zstd_level > ZSTD_maxCLevel()))
        return ETL_EINVAL;
    w->codec = o->codec;
    w->zstd_level = o->zstd_level ? o->zstd_level : ZSTD_CLEVEL_DEFAULT;
    w->rg_bytes =
        o->row_group_bytes ? o->row_group_bytes : DEFAULT_ROW_GROUP_BYTES;
    w->page_bytes = o->page_bytes ? o->page_bytes : DEFAULT_PAGE_BYTES;
    w->dict_max =
        o->dict_max_bytes ? o->dict_max_bytes : DEFAULT_DICT_MAX_BYTES;
    const char *app = o->created_by_app ? o->created_by_app : "bpecg-etl";
    const char *ver = o->version ? o->version : ETL_VERSION;
    if (!valid_str(app) || !valid_str(ver))
        return ETL_EINVAL;
    struct buf cb = BUF_INIT;
    int rc = buf_printf(&cb, "%s version %s (build bpecg)", app, ver);
    if (rc) {
        buf_release(&cb);
        return rc;
    }
    w->created_by = buf_detach(&cb, NULL);
    if (!w->created_by)
        return ETL_ENOMEM;

    if (o->nkv && !o->kv)
        return ETL_EINVAL;
    struct tc_writer t;
    tc_init(&t, &w->kv);
    for (size_t i = 0; i < o->nkv; i++) {
        const struct pq_kv *kv = &o->kv[i];
        if (!valid_str(kv->key) || (kv->value && !valid_str(kv->value)))
            return ETL_EINVAL;
        tc_struct_begin(&t);
        tc_field_string(&t, 1, kv->key);
        if (kv->value)
            tc_field_string(&t, 2, kv->value);
        tc_struct_end(&t);
    }
    w->nkv = o->nkv;
    if (w->codec == PQ_CODEC_ZSTD) {
        w->zc = ZSTD_createCCtx();
        if (!w->zc)
            return ETL_ENOMEM;
    }
    return tc_finish(&t);
}

int pq_writer_open(const char *path, const struct pq_column *cols, size_t ncols,
                   const struct pq_options *opts, struct pq_writer **out)
{
    if (!out)
        return ETL_EINVAL;
    *out = NULL;
    if (!path || !*path || !cols || ncols == 0 || ncols > INT32_MAX)
        return ETL_EINVAL;
    struct pq_writer *w = calloc(1, sizeof(*w));
    if (!w)
        return ETL_ENOMEM;
    w->fd = -1;
    buf_init(&w->wbuf, 0);
    buf_init(&w->kv, 0);
    buf_init(&w->rgs, 0);
    buf_init(&w->page, 0);
    buf_init(&w->comp, 0);
    buf_init(&w->hdr, 0);
    buf_init(&w->chunks, 0);

    int rc = init_columns(w, cols, ncols);
    if (!rc)
        rc = init_options(w, opts);
    if (rc)
        goto out;
    struct buf tmp = BUF_INIT;
    rc = buf_printf(&tmp, "%s.tmp.XXXXXX", path);
    w->tmp = buf_detach(&tmp, NULL);
    w->path = dup_str(path);
    if (!rc && (!w->tmp || !w->path))
        rc = ETL_ENOMEM;
    if (rc)
        goto out;
    w->fd = mkostemp(w->tmp, O_CLOEXEC);
    if (w->fd < 0) {
        LOGF(LOG_ERROR, "pq_create_failed", LF_S("path", path),
             LF_I("errno", errno));
        rc = ETL_EIO;
        goto out;
    }
    /* mkstemp creates 0600; a results file is as readable as any other. */
    if (fchmod(w->fd, 0644 & ~current_umask()) != 0) {
        LOGF(LOG_ERROR, "pq_chmod_failed", LF_S("path", w->tmp),
             LF_I("errno", errno));
        rc = ETL_EIO;
        goto out;
    }
    rc = out_write(w, "PAR1", 4);
out:
    if (rc) {
        if (w->fd >= 0 && w->tmp)
            unlink(w->tmp);
        writer_free(w);
        return rc;
    }
    *out = w;
    return 0;
}

static void fsync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    struct buf dir = BUF_INIT;
    int rc = slash ? buf_add(&dir, path, (size_t)(slash - path) + 1)
                   : buf_addstr(&dir, ".");
    if (!rc) {
        int fd = open(dir.data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0) {
            if (fsync(fd) != 0)
                LOGF(LOG_WARN, "pq_dir_fsync_failed", LF_S("path", path),
                     LF_I("errno", errno));
            close(fd);
        }
    }
    buf_release(&dir);
}

int pq_writer_add_kv(struct pq_writer *w, const struct pq_kv *kv, size_t n)
{
    if (!w || (n && !kv))
        return ETL_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!valid_str(kv[i].key) || (kv[i].value && !valid_str(kv[i].value)))
            return ETL_EINVAL;
    struct tc_writer t;
    tc_init(&t, &w->kv); /* appends after the pairs given at open */
    for (size_t i = 0; i < n; i++) {
        tc_struct_begin(&t);
        tc_field_string(&t, 1, kv[i].key);
        if (kv[i].value)
            tc_field_string(&t, 2, kv[i].value);
        tc_struct_end(&t);
    }
    int rc = tc_finish(&t);
    if (!rc)
        w->nkv += n;
    return rc;
}

int pq_writer_close(struct pq_writer *w)
{
    if (!w)
        return ETL_EINVAL;
    int rc = flush_row_group(w);
    if (!rc)
        rc = write_footer(w);
    if (!rc)
        rc = out_flush(w);
    if (!rc && fsync(w->fd) != 0)
        rc = fail_errno(w, ETL_EIO, "fsync", errno);
    if (close(w->fd) != 0 && !rc)
        rc = fail_errno(w, ETL_EIO, "close", errno);
    w->fd = -1;
    if (!rc && rename(w->tmp, w->path) != 0)
        rc = fail_errno(w, ETL_EIO, "rename", errno);
    if (rc)
        unlink(w->tmp);
    else
        fsync_dir(w->path);
    writer_free(w);
    return rc;
}

void pq_writer_abort(struct pq_writer *w)
{
    if (!w)
        return;
    if (w->fd >= 0) {
        close(w->fd);
        w->fd = -1;
    }
    unlink(w->tmp);
    writer_free(w);
}
