/* Thrift compact protocol, the encoding half (thrift-compact-protocol.md):
 * just what Parquet's footer and page headers need. */
#include <string.h>

#include "core/err.h"
#include "pq/pq_int.h"

size_t pq_varint_put(uint8_t out[10], uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

uint64_t pq_zigzag64(int64_t n)
{
    /* All in unsigned arithmetic: left-shifting a negative value is
     * undefined and right-shifting one implementation-defined. The mask is
     * all ones for a negative n, zero otherwise. */
    uint64_t u = (uint64_t)n;
    return (u << 1) ^ (0 - (u >> 63));
}

int pq_buf_varint(struct buf *b, uint64_t v)
{
    uint8_t tmp[10];
    return buf_add(b, tmp, pq_varint_put(tmp, v));
}

void tc_init(struct tc_writer *t, struct buf *out)
{
    t->out = out;
    t->err = 0;
    t->depth = 0;
}

int tc_finish(struct tc_writer *t)
{
    if (!t->err && t->depth != 0)
        t->err = ETL_EINVAL;
    return t->err;
}

static void put(struct tc_writer *t, const void *p, size_t n)
{
    if (t->err)
        return;
    int rc = buf_add(t->out, p, n);
    if (rc)
        t->err = rc;
}

static void put_byte(struct tc_writer *t, uint8_t c)
{
    put(t, &c, 1);
}

static void put_varint(struct tc_writer *t, uint64_t v)
{
    uint8_t tmp[10];
    put(t, tmp, pq_varint_put(tmp, v));
}

/* Short form (delta 1..15 in the high nibble) when it fits, else the type
 * byte and the zigzag varint id. */
static void field_header(struct tc_writer *t, int16_t id, enum tc_type type)
{
    if (t->err)
        return;
    if (t->depth == 0 || id <= t->last[t->depth - 1]) {
        t->err = ETL_EINVAL;
        return;
    }
    int delta = id - t->last[t->depth - 1];
    if (delta <= 15) {
        put_byte(t, (uint8_t)(delta << 4 | type));
    } else {
        put_byte(t, (uint8_t)type);
        put_varint(t, pq_zigzag64(id));
    }
    t->last[t->depth - 1] = id;
}

void tc_struct_begin(struct tc_writer *t)
{
    if (t->err)
        return;
    if (t->depth == TC_MAX_DEPTH) {
        t->err = ETL_EINVAL;
        return;
    }
    t->last[t->depth++] = 0;
}

void tc_struct_end(struct tc_writer *t)
{
    if (t->err)
        return;
    if (t->depth == 0) {
        t->err = ETL_EINVAL;
        return;
    }
    put_byte(t, 0); /* stop field */
    t->depth--;
}

void tc_field_bool(struct tc_writer *t, int16_t id, bool v)
{
    /* The value lives in the type nibble; no bytes follow. */
    field_header(t, id, v ? TC_BOOL_TRUE : TC_BOOL_FALSE);
}

void tc_field_i16(struct tc_writer *t, int16_t id, int16_t v)
{
    field_header(t, id, TC_I16);
    put_varint(t, pq_zigzag64(v));
}

void tc_field_i32(struct tc_writer *t, int16_t id, int32_t v)
{
    field_header(t, id, TC_I32);
    put_varint(t, pq_zigzag64(v));
}

void tc_field_i64(struct tc_writer *t, int16_t id, int64_t v)
{
    field_header(t, id, TC_I64);
    put_varint(t, pq_zigzag64(v));
}

void tc_field_binary(struct tc_writer *t, int16_t id, const void *p, size_t n)
{
    field_header(t, id, TC_BINARY);
    tc_binary(t, p, n);
}

void tc_field_string(struct tc_writer *t, int16_t id, const char *s)
{
    tc_field_binary(t, id, s, strlen(s));
}

void tc_field_struct(struct tc_writer *t, int16_t id)
{
    field_header(t, id, TC_STRUCT);
    tc_struct_begin(t);
}

void tc_field_empty_struct(struct tc_writer *t, int16_t id)
{
    tc_field_struct(t, id);
    tc_struct_end(t);
}

void tc_field_list(struct tc_writer *t, int16_t id, enum tc_type elem, size_t n)
{
    field_header(t, id, TC_LIST);
    if (n > INT32_MAX) {
        if (!t->err)
            t->err = ETL_ETOOBIG;
        return;
    }
    if (n < 15) {
        put_byte(t, (uint8_t)(n << 4 | elem));
    } else {
        put_byte(t, (uint8_t)(0xf0 | elem));
        put_varint(t, n);
    }
}

void tc_i32(struct tc_writer *t, int32_t v)
{
    put_varint(t, pq_zigzag64(v));
}

void tc_i64(struct tc_writer *t, int64_t v)
{
    put_varint(t, pq_zigzag64(v));
}

void tc_binary(struct tc_writer *t, const void *p, size_t n)
{
    put_varint(t, n);
    put(t, p, n);
}

void tc_raw(struct tc_writer *t, const void *p, size_t n)
{
    put(t, p, n);
}
