/* Internals of the Parquet writer, shared by its files and its unit tests:
 * the Thrift compact-protocol encoder (thrift.c) and the value and level
 * encodings (enc.c). Not part of the public API. */
#ifndef ETL_PQ_PQ_INT_H
#define ETL_PQ_PQ_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* ---- varint / zigzag (Thrift compact protocol, Parquet RLE headers) ---- */

/* ULEB128: 7 bits at a time, least significant group first, high bit set on
 * every byte but the last. Writes at most 10 bytes; returns the count. */
size_t pq_varint_put(uint8_t out[10], uint64_t v);
/* (n << 1) ^ (n >> 63): small magnitudes of either sign become small. */
uint64_t pq_zigzag64(int64_t n);
int pq_buf_varint(struct buf *b, uint64_t v);

/* ---- Thrift compact protocol encoder ---- */

enum tc_type {
    TC_BOOL_TRUE = 1, /* booleans live in the field header's type */
    TC_BOOL_FALSE = 2,
    TC_I8 = 3,
    TC_I16 = 4,
    TC_I32 = 5,
    TC_I64 = 6,
    TC_DOUBLE = 7,
    TC_BINARY = 8,
    TC_LIST = 9,
    TC_SET = 10,
    TC_MAP = 11,
    TC_STRUCT = 12,
};

#define TC_MAX_DEPTH 16

/* Writes into out. Errors are sticky: after the first failure every call is
 * a no-op and tc_finish returns the error, so callers encode a whole
 * structure and check once. Field ids within a struct must increase. */
struct tc_writer {
    struct buf *out;
    int err;
    int depth;
    int16_t last[TC_MAX_DEPTH]; /* last field id per open struct */
};

void tc_init(struct tc_writer *t, struct buf *out);
/* 0, or the first error (ETL_ENOMEM, or ETL_EINVAL for unbalanced structs,
 * too deep nesting or decreasing field ids). */
int tc_finish(struct tc_writer *t);

/* A struct as a list element or at top level; tc_struct_end writes the stop
 * byte and closes the innermost struct (also one opened by
 * tc_field_struct). */
void tc_struct_begin(struct tc_writer *t);
void tc_struct_end(struct tc_writer *t);

void tc_field_bool(struct tc_writer *t, int16_t id, bool v);
void tc_field_i16(struct tc_writer *t, int16_t id, int16_t v);
void tc_field_i32(struct tc_writer *t, int16_t id, int32_t v);
void tc_field_i64(struct tc_writer *t, int16_t id, int64_t v);
void tc_field_binary(struct tc_writer *t, int16_t id, const void *p, size_t n);
void tc_field_string(struct tc_writer *t, int16_t id, const char *s);
/* Field header of type STRUCT, then an open struct: close with
 * tc_struct_end. Unions are structs with one field. */
void tc_field_struct(struct tc_writer *t, int16_t id);
/* An empty struct field, e.g. a union member such as StringType {}. */
void tc_field_empty_struct(struct tc_writer *t, int16_t id);
/* Field header of type LIST and the list header; the n elements follow. */
void tc_field_list(struct tc_writer *t, int16_t id, enum tc_type elem,
                   size_t n);

/* List elements. */
void tc_i32(struct tc_writer *t, int32_t v);
void tc_i64(struct tc_writer *t, int64_t v);
void tc_binary(struct tc_writer *t, const void *p, size_t n);
/* Bytes already encoded (e.g. structs encoded earlier by another
 * tc_writer). */
void tc_raw(struct tc_writer *t, const void *p, size_t n);

/* ---- RLE / bit-packing hybrid (Encodings.md), PLAIN booleans ---- */

/* Bits needed for values 0..max (0 for max 0). */
int pq_bit_width(uint32_t max);

/* Append the hybrid encoding of n values of bit_width (0..32) bits, without
 * the 4-byte length prefix. Runs of 8 or more equal values (or a trailing
 * run) become RLE runs; the rest become bit-packed runs of whole groups of 8
 * (the last group of the data zero-padded). Values must fit bit_width. */
int pq_rle_encode_u8(struct buf *out, const uint8_t *v, size_t n,
                     int bit_width);
int pq_rle_encode_u32(struct buf *out, const uint32_t *v, size_t n,
                      int bit_width);

/* PLAIN BOOLEAN: one bit per value, least significant bit first; v holds 0
 * or 1 per byte. */
int pq_pack_bools(struct buf *out, const uint8_t *v, size_t n);

/* ---- dictionary of distinct values ---- */

/* Entries are kept PLAIN-encoded in index order (the dictionary page body):
 * fixed-width values as is, byte arrays with their 4-byte length prefix.
 * Keys compare bitwise (so -0.0 and 0.0, or two NaN payloads, differ). */
struct pq_dict {
    struct buf plain;
    size_t width; /* fixed value width, 0 for byte arrays */
    size_t n;     /* entries */
    size_t *offs; /* start of each entry in plain */
    size_t offs_cap;
    uint32_t *slot; /* open addressing: entry index + 1, 0 = empty */
    size_t nslot;   /* power of two */
};

void pq_dict_init(struct pq_dict *d, size_t width);
void pq_dict_release(struct pq_dict *d);
/* Find or add the value p[0..len) (len == width for fixed widths); *idx
 * receives its index. ETL_ENOMEM. */
int pq_dict_insert(struct pq_dict *d, const void *p, size_t len, uint32_t *idx);
/* Approximate memory held, for the row group's budget. */
size_t pq_dict_mem(const struct pq_dict *d);

/* Little-endian stores into a buf. */
int pq_buf_le32(struct buf *b, uint32_t v);
int pq_buf_le64(struct buf *b, uint64_t v);
void pq_put_le32(uint8_t *p, uint32_t v);
uint32_t pq_get_le32(const uint8_t *p);

#endif
