/* Thrift compact protocol encoder: byte vectors computed by hand from
 * thrift-compact-protocol.md (varint, zigzag, field headers, lists). */
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "harness.h"
#include "pq/pq_int.h"

#define BYTES(...) ((const uint8_t[]){__VA_ARGS__})
#define NBYTES(...) sizeof((const uint8_t[]){__VA_ARGS__})
#define CHECK_BUF(b, ...)                                                      \
    do {                                                                       \
        CHECK_EQ_INT((b)->len, NBYTES(__VA_ARGS__));                           \
        if ((b)->len == NBYTES(__VA_ARGS__))                                   \
            CHECK_EQ_MEM((b)->data, BYTES(__VA_ARGS__), (b)->len);             \
        else                                                                   \
            harness_hex("got ", (b)->data, (b)->len);                          \
    } while (0)

static void check_varint(uint64_t v, const uint8_t *want, size_t n)
{
    uint8_t out[10];
    size_t got = pq_varint_put(out, v);
    CHECK_EQ_INT(got, n);
    if (got == n)
        CHECK_EQ_MEM(out, want, n);
}

TEST(varint)
{
    check_varint(0, BYTES(0x00), 1);
    check_varint(1, BYTES(0x01), 1);
    check_varint(127, BYTES(0x7f), 1);
    check_varint(128, BYTES(0x80, 0x01), 2);
    check_varint(300, BYTES(0xac, 0x02), 2);
    /* The spec's example: 50399 -> DF 89 03. */
    check_varint(50399, BYTES(0xdf, 0x89, 0x03), 3);
    check_varint(UINT32_MAX, BYTES(0xff, 0xff, 0xff, 0xff, 0x0f), 5);
    check_varint(
        UINT64_MAX,
        BYTES(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01), 10);
}

TEST(zigzag)
{
    CHECK(pq_zigzag64(0) == 0);
    CHECK(pq_zigzag64(-1) == 1);
    CHECK(pq_zigzag64(1) == 2);
    CHECK(pq_zigzag64(-2) == 3);
    CHECK(pq_zigzag64(2) == 4);
    CHECK(pq_zigzag64(INT32_MAX) == 4294967294u);
    CHECK(pq_zigzag64(INT32_MIN) == 4294967295u);
    CHECK(pq_zigzag64(INT64_MAX) == UINT64_MAX - 1);
    CHECK(pq_zigzag64(INT64_MIN) == UINT64_MAX);
}

/* Short field headers (delta 1..15), a long one (delta 16 -> type byte and
 * zigzag id), booleans in the type nibble, binary with varint length. */
TEST(struct_fields)
{
    struct buf b = BUF_INIT;
    struct tc_writer t;
    tc_init(&t, &b);
    tc_struct_begin(&t);
    tc_field_i32(&t, 1, 3);           /* 0x15, zz(3)=6 */
    tc_field_i64(&t, 2, -1);          /* 0x16, zz(-1)=1 */
    tc_field_bool(&t, 3, true);       /* 0x31 */
    tc_field_bool(&t, 4, false);      /* 0x42 */
    tc_field_binary(&t, 20, "ab", 2); /* delta 16: 0x08, zz(20)=0x28 */
    tc_field_i32(&t, 21, 300);        /* 0x15, zz(300)=600 = d8 04 */
    tc_field_i16(&t, 22, -3);         /* 0x14, zz(-3)=5 */
    tc_struct_end(&t);
    CHECK_EQ_INT(tc_finish(&t), 0);
    CHECK_BUF(&b, 0x15, 0x06, 0x16, 0x01, 0x11, 0x12, 0x08, 0x28, 0x02, 'a',
              'b', 0x15, 0xd8, 0x04, 0x14, 0x05, 0x00);
    buf_release(&b);
}

/* A long jump from a large id: delta 300 - 1 is encoded as the full id. */
TEST(long_field_jump)
{
    struct buf b = BUF_INIT;
    struct tc_writer t;
    tc_init(&t, &b);
    tc_struct_begin(&t);
    tc_field_i64(&t, 1, 0);    /* 0x16 0x00 */
    tc_field_i32(&t, 300, 1);  /* 0x05, zz(300)=600=d8 04, value 02 */
    tc_field_i32(&t, 301, 64); /* delta 1: 0x15, zz(64)=128 = 80 01 */
    tc_struct_end(&t);
    CHECK_EQ_INT(tc_finish(&t), 0);
    CHECK_BUF(&b, 0x16, 0x00, 0x05, 0xd8, 0x04, 0x02, 0x15, 0x80, 0x01, 0x00);
    buf_release(&b);
}

/* Nested structs keep their own last-field id: after the inner struct, the
 * outer delta continues from the outer field. Empty structs are a stop. */
TEST(nested_structs)
{
    struct buf b = BUF_INIT;
    struct tc_writer t;
    tc_init(&t, &b);
    tc_struct_begin(&t);
    tc_field_struct(&t, 1);        /* 0x1c */
    tc_field_i32(&t, 5, 1);        /* 0x55 0x02 */
    tc_struct_end(&t);             /* 0x00 */
    tc_field_i32(&t, 2, 7);        /* 0x15 0x0e */
    tc_field_empty_struct(&t, 10); /* delta 8: 0x8c 0x00 */
    tc_struct_end(&t);
    CHECK_EQ_INT(tc_finish(&t), 0);
    CHECK_BUF(&b, 0x1c, 0x55, 0x02, 0x00, 0x15, 0x0e, 0x8c, 0x00, 0x00);
    buf_release(&b);
}

/* Lists: size in the high nibble up to 14, else 0xF then a varint size. */
TEST(lists)
{
    struct buf b = BUF_INIT;
    struct tc_writer t;
    tc_init(&t, &b);
    tc_struct_begin(&t);
    tc_field_list(&t, 1, TC_I32, 20); /* 0x19, 0xf5, 20 */
    for (int i = 0; i < 20; i++)
        tc_i32(&t, i);                  /* zigzag: 2 * i */
    tc_field_list(&t, 2, TC_BINARY, 2); /* 0x19, 0x28 */
    tc_binary(&t, "x", 1);
    tc_binary(&t, "", 0);
    tc_field_list(&t, 3, TC_STRUCT, 14); /* 0x19, 0xec */
    for (int i = 0; i < 14; i++) {
        tc_struct_begin(&t);
        tc_struct_end(&t);
    }
    tc_field_list(&t, 4, TC_I64, 15); /* 0x19, 0xf6, 0x0f */
    for (int i = 0; i < 15; i++)
        tc_i64(&t, -1); /* 0x01 */
    tc_struct_end(&t);
    CHECK_EQ_INT(tc_finish(&t), 0);
    CHECK_BUF(&b, 0x19, 0xf5, 0x14, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22,
              24, 26, 28, 30, 32, 34, 36, 38, 0x19, 0x28, 0x01, 'x', 0x00, 0x19,
              0xec, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x19, 0xf6, 0x0f,
              1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0x00);
    buf_release(&b);
}

/* A Parquet PageHeader for a v1 data page, field by field:
 * type=DATA_PAGE(0), uncompressed 100, compressed 50, DataPageHeader
 * {num_values 10, PLAIN, RLE, RLE}. */
TEST(page_header)
{
    struct buf b = BUF_INIT;
    struct tc_writer t;
    tc_init(&t, &b);
    tc_struct_begin(&t);
    tc_field_i32(&t, 1, 0);
    tc_field_i32(&t, 2, 100);
    tc_field_i32(&t, 3, 50);
    tc_field_struct(&t, 5);
    tc_field_i32(&t, 1, 10);
    tc_field_i32(&t, 2, 0);
    tc_field_i32(&t, 3, 3);
    tc_field_i32(&t, 4, 3);
    tc_struct_end(&t);
    tc_struct_end(&t);
    CHECK_EQ_INT(tc_finish(&t), 0);
    CHECK_BUF(&b, 0x15, 0x00, 0x15, 0xc8, 0x01, 0x15, 0x64, 0x2c, 0x15, 0x14,
              0x15, 0x00, 0x15, 0x06, 0x15, 0x06, 0x00, 0x00);
    buf_release(&b);
}

TEST(misuse)
{
    struct buf b = BUF_INIT;
    struct tc_writer t;

    tc_init(&t, &b); /* ids must increase */
    tc_struct_begin(&t);
    tc_field_i32(&t, 2, 0);
    tc_field_i32(&t, 2, 0);
    tc_struct_end(&t);
    CHECK_EQ_INT(tc_finish(&t), ETL_EINVAL);

    buf_reset(&b); /* unbalanced */
    tc_init(&t, &b);
    tc_struct_begin(&t);
    CHECK_EQ_INT(tc_finish(&t), ETL_EINVAL);

    buf_reset(&b); /* a field outside any struct */
    tc_init(&t, &b);
    tc_field_i32(&t, 1, 0);
    CHECK_EQ_INT(tc_finish(&t), ETL_EINVAL);

    buf_reset(&b); /* too deep */
    tc_init(&t, &b);
    for (int i = 0; i <= TC_MAX_DEPTH; i++)
        tc_struct_begin(&t);
    CHECK_EQ_INT(tc_finish(&t), ETL_EINVAL);

    /* Out of memory is reported, not ignored. */
    struct buf small;
    buf_init(&small, 4);
    tc_init(&t, &small);
    tc_struct_begin(&t);
    tc_field_string(&t, 1, "longer than four bytes");
    tc_struct_end(&t);
    CHECK_EQ_INT(tc_finish(&t), ETL_ETOOBIG);
    buf_release(&small);
    buf_release(&b);
}

int main(void)
{
    RUN(varint);
    RUN(zigzag);
    RUN(struct_fields);
    RUN(long_field_jump);
    RUN(nested_structs);
    RUN(lists);
    RUN(page_header);
    RUN(misuse);
    return harness_done();
}
