/* A streaming Parquet writer (Apache Parquet format, written from the
 * specification's parquet.thrift and the Thrift compact protocol).
 *
 *   struct pq_column cols[] = {
 *       {.name = "id", .type = PQ_INT64},
 *       {.name = "status", .type = PQ_STRING, .dictionary = true},
 *       {.name = "tags", .type = PQ_STRING, .list = true},
 *   };
 *   struct pq_writer *w;
 *   int rc = pq_writer_open("out.parquet", cols, 3, NULL, &w);
 *   ...
 *   rc = pq_set_i64(w, 0, 42);
 *   rc = pq_set_str(w, 1, "success", 7);
 *   rc = pq_list_begin(w, 2);            (then pq_set_str(w, 2, ...) per item)
 *   rc = pq_end_row(w);
 *   ...
 *   rc = pq_writer_close(w);             (or pq_writer_abort(w))
 *
 * What is written: what current readers (DuckDB, pyarrow, Polars, Spark,
 * arrow-rs) read without options; tests/node checks DuckDB, arrow-rs and
 * hyparquet. Format version 2 footer, DataPageHeader (v1)
 * pages, PLAIN values or a dictionary page + RLE_DICTIONARY indices,
 * RLE/bit-packed hybrid levels, logical types together with the legacy
 * converted types (STRING/UTF8, TIMESTAMP(MILLIS, UTC)/TIMESTAMP_MILLIS,
 * LIST/LIST), per-chunk statistics (null_count, min_value/max_value under
 * TypeDefinedOrder, nan_count for FLOAT/DOUBLE), created_by
 * "<app> version <version> (build bpecg)" and the caller's key-value
 * metadata.
 *
 * Memory: values are buffered (encoded, uncompressed) for the current row
 * group only; a row group is written when its buffered bytes reach
 * row_group_bytes (and at close), so a row group holds at least one row.
 * Peak memory is at most about twice row_group_bytes (growable buffers)
 * plus a page and the codec's state, whatever the size of the file; the
 * footer's metadata grows with the number of row groups.
 *
 * Atomicity: the file is written to "<path>.tmp.XXXXXX" in the same
 * directory (mode 0644 & ~umask) and renamed to path by pq_writer_close after
 * fsync; any failure, or pq_writer_abort, unlinks the temporary file, so path
 * never holds a half-written file.
 *
 * Errors: every int function returns 0 or a negative ETL_E* code
 * (core/err.h). A rejected value (ETL_EINVAL: wrong type for the column,
 * column index out of range, NULL on a required column, invalid UTF-8;
 * ETL_ETOOBIG: a string over 2^31 - 1 bytes) changes nothing; a row with a
 * required column unset is discarded (ETL_EINVAL). Either way the writer
 * stays usable. Any other failure (ETL_ENOMEM, ETL_EIO, ETL_ETOOBIG for a
 * page over 2 GiB) is sticky: every later call returns it and
 * pq_writer_close discards the file.
 *
 * Thread-safety: a writer belongs to one thread at a time; different writers
 * are independent. */
#ifndef ETL_PQ_PQ_H
#define ETL_PQ_PQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pq_writer;

enum pq_type {
    PQ_BOOLEAN,      /* BOOLEAN */
    PQ_INT32,        /* INT32 */
    PQ_INT64,        /* INT64 */
    PQ_FLOAT,        /* FLOAT (IEEE 754 binary32) */
    PQ_DOUBLE,       /* DOUBLE (IEEE 754 binary64) */
    PQ_STRING,       /* BYTE_ARRAY, logical STRING (UTF-8), converted UTF8 */
    PQ_TIMESTAMP_MS, /* INT64, logical TIMESTAMP(isAdjustedToUTC=true,
                        MILLIS), converted TIMESTAMP_MILLIS; ms since the
                        Unix epoch, UTC */
};

/* Compression of every page. Zero (the value of a zeroed struct pq_options)
 * is ZSTD, the default. */
enum pq_codec {
    PQ_CODEC_ZSTD,
    PQ_CODEC_SNAPPY,
    PQ_CODEC_NONE,
};

struct pq_column {
    const char *name; /* non-empty valid UTF-8, unique among the columns */
    enum pq_type type;
    /* Nullable. For a list column: the list itself may be null. */
    bool optional;
    /* LIST<type> in the three-level form the spec recommends:
     *   <optional|required> group name (LIST) {
     *     repeated group list { required <type> element; } }
     * Elements are required (never null); a list may be empty. */
    bool list;
    /* Try dictionary encoding (for low-cardinality columns). Decided per
     * column chunk: falls back to PLAIN for the rest of a row group when
     * the dictionary outgrows dict_max_bytes or 65536 entries. Ignored for
     * BOOLEAN. */
    bool dictionary;
};

struct pq_kv {
    const char *key;   /* valid UTF-8 */
    const char *value; /* valid UTF-8; NULL writes a key without a value */
};

/* Options. A zeroed struct (or a NULL pointer) means every default. All
 * pointers are only read during pq_writer_open (strings are copied). */
struct pq_options {
    enum pq_codec codec;        /* default ZSTD */
    int zstd_level;             /* 0 = default (3); 1..22, <0 = fast modes */
    size_t row_group_bytes;     /* buffered bytes per row group; 0 = 64 MiB */
    size_t page_bytes;          /* target data page size; 0 = 1 MiB */
    size_t dict_max_bytes;      /* dictionary size cap; 0 = 1 MiB */
    const char *created_by_app; /* NULL = "bpecg-etl" */
    const char *version;        /* NULL = the build's ETL_VERSION */
    const struct pq_kv *kv;     /* footer key_value_metadata (nkv entries) */
    size_t nkv;
};

/* Parse "zstd", "snappy", "none" (also "uncompressed"), any case.
 * 0 or ETL_EINVAL. */
int pq_codec_parse(const char *s, enum pq_codec *out);
/* "zstd", "snappy" or "none"; never NULL. */
const char *pq_codec_name(enum pq_codec codec);

/* Create the temporary file next to path and a writer for ncols (>= 1)
 * columns. cols, opts and everything they point to are copied. On success
 * *out owns the writer until pq_writer_close or pq_writer_abort. Errors:
 * ETL_EINVAL (bad schema or options: empty or duplicate name, invalid
 * UTF-8, unknown type or codec, zstd_level out of range), ETL_EIO (cannot
 * create the temporary file), ETL_ENOMEM. */
int pq_writer_open(const char *path, const struct pq_column *cols, size_t ncols,
                   const struct pq_options *opts, struct pq_writer **out);

/* Setting values of the current row. Setting a non-list column again in the
 * same row replaces its value. For a list column, pq_list_begin starts (or
 * restarts) the row's list and each pq_set_<type> call appends an element;
 * pq_set_null makes the list null. A column that is not set by pq_end_row is
 * null (an error if it is required).
 *
 * Each setter must match the column's type: pq_set_i64 serves PQ_INT64 and
 * PQ_TIMESTAMP_MS. ETL_EINVAL on a type mismatch, a column index out of
 * range, pq_set_null on a required column, a list element without
 * pq_list_begin, or a string that is not valid UTF-8. ETL_ETOOBIG for a
 * string over 2^31 - 1 bytes. */
int pq_set_null(struct pq_writer *w, size_t col);
int pq_set_bool(struct pq_writer *w, size_t col, bool v);
int pq_set_i32(struct pq_writer *w, size_t col, int32_t v);
int pq_set_i64(struct pq_writer *w, size_t col, int64_t v);
int pq_set_float(struct pq_writer *w, size_t col, float v);
int pq_set_double(struct pq_writer *w, size_t col, double v);
/* s need not be NUL-terminated; s may be NULL when len is 0. The bytes are
 * copied. */
int pq_set_str(struct pq_writer *w, size_t col, const char *s, size_t len);
/* Start the list of a list column (ETL_EINVAL for other columns); with no
 * element added, the row's list is empty. */
int pq_list_begin(struct pq_writer *w, size_t col);

/* Commit the current row and start the next. A required column left unset
 * is ETL_EINVAL: the row is discarded (nothing of it is written) and the
 * writer stays usable. May write a row group (ETL_EIO, ETL_ENOMEM). */
int pq_end_row(struct pq_writer *w);

/* Rows committed so far. */
int64_t pq_writer_rows(const struct pq_writer *w);

/* Add key-value pairs to the footer, after those of pq_options (for
 * what is known only once the rows are: a batch's key range). Strings are
 * copied; ETL_EINVAL for one that is not valid UTF-8. */
int pq_writer_add_kv(struct pq_writer *w, const struct pq_kv *kv, size_t n);

/* Write the last row group and the footer, fsync, rename the temporary
 * file to path (replacing it) and fsync the directory. A row begun but not
 * ended is dropped. Frees w in every case; on failure the temporary file is
 * removed and path is untouched. NULL-safe (returns ETL_EINVAL). */
int pq_writer_close(struct pq_writer *w);

/* Discard: remove the temporary file and free w. NULL-safe. */
void pq_writer_abort(struct pq_writer *w);

/* ---- Reading ----
 *
 * A reader for the subset of Parquet this writer produces (what `report`
 * and the tests need): flat columns of the pq_type types and three-level
 * LIST columns of them; data pages v1 with PLAIN or (RLE_/PLAIN_)
 * DICTIONARY values and RLE/bit-packed levels; UNCOMPRESSED, SNAPPY or
 * ZSTD. Anything else (DATA_PAGE_V2, DELTA encodings, other codecs,
 * nested groups, INT96, timestamps other than milliseconds, ...) is
 * refused with ETL_ENOTSUP and a message naming what, e.g.
 *   "column x: codec GZIP is not supported". A malformed file gives
 * ETL_EINVAL and a message. Every length and count is checked against the
 * file, so a hostile file cannot read out of bounds.
 *
 * The file's bytes are borrowed (they must outlive the reader); columns
 * are decoded when first asked for. A reader belongs to one thread. */

struct pq_reader;
struct buf;

/* One value (or list element). Strings are NUL-terminated copies owned by
 * the reader (len excludes the NUL); PQ_TIMESTAMP_MS is in i64. */
struct pq_value {
    bool null;
    union {
        bool b;
        int32_t i32;
        int64_t i64;
        float f;
        double d;
    } v;
    const char *s;
    size_t len;
};

/* A decoded column. For a flat column row[i] is row i's value. For a list
 * column row[i].null says whether row i's list is null, and its elements
 * are elem[first[i]] .. elem[first[i + 1] - 1]. */
struct pq_cells {
    size_t nrows;
    const struct pq_value *row;
    const size_t *first; /* list columns: nrows + 1 entries; else NULL */
    const struct pq_value *elem;
};

/* Parse the footer of data[0..len). On error *out is NULL and err (if not
 * NULL) gets one line. */
int pq_reader_open(const void *data, size_t len, struct pq_reader **out,
                   struct buf *err);
void pq_reader_free(struct pq_reader *r);

int64_t pq_reader_rows(const struct pq_reader *r);
size_t pq_reader_ncols(const struct pq_reader *r);
/* Name, type, optional and list of a column (dictionary is false). */
const struct pq_column *pq_reader_column(const struct pq_reader *r, size_t i);
/* Index of the column named name, or -1. */
int pq_reader_find(const struct pq_reader *r, const char *name);
/* Value of a footer key_value_metadata key, or NULL (absent or no value). */
const char *pq_reader_kv(const struct pq_reader *r, const char *key);
/* created_by, or NULL. */
const char *pq_reader_created_by(const struct pq_reader *r);

/* Decode column col (every row group). *out stays valid until
 * pq_reader_free. Errors: ETL_EINVAL (corrupt), ETL_ENOTSUP (outside the
 * subset), ETL_ENOMEM; err gets one line. */
int pq_reader_cells(struct pq_reader *r, size_t col,
                    const struct pq_cells **out, struct buf *err);

#endif
