/* RLE / bit-packing hybrid, PLAIN booleans and the dictionary: byte vectors
 * computed by hand from Encodings.md. */
#include <stdint.h>
#include <string.h>

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

TEST(bit_width)
{
    CHECK_EQ_INT(pq_bit_width(0), 0);
    CHECK_EQ_INT(pq_bit_width(1), 1);
    CHECK_EQ_INT(pq_bit_width(2), 2);
    CHECK_EQ_INT(pq_bit_width(3), 2);
    CHECK_EQ_INT(pq_bit_width(4), 3);
    CHECK_EQ_INT(pq_bit_width(255), 8);
    CHECK_EQ_INT(pq_bit_width(65535), 16);
    CHECK_EQ_INT(pq_bit_width(UINT32_MAX), 32);
}

/* RLE run: varint(count << 1), then the value in ceil(width / 8) bytes. */
TEST(rle_runs)
{
    struct buf b = BUF_INIT;
    uint8_t zeros[200] = {0};

    CHECK_EQ_INT(pq_rle_encode_u8(&b, zeros, 10, 1), 0); /* 10 << 1 = 0x14 */
    CHECK_BUF(&b, 0x14, 0x00);

    buf_reset(&b); /* 200 << 1 = 400 = varint 90 03 */
    CHECK_EQ_INT(pq_rle_encode_u8(&b, zeros, 200, 1), 0);
    CHECK_BUF(&b, 0x90, 0x03, 0x00);

    buf_reset(&b); /* bit width 0: the value takes no byte at all */
    CHECK_EQ_INT(pq_rle_encode_u8(&b, zeros, 5, 0), 0);
    CHECK_BUF(&b, 0x0a);

    buf_reset(&b); /* a short run that ends the data stays RLE */
    uint8_t threes[3] = {3, 3, 3};
    CHECK_EQ_INT(pq_rle_encode_u8(&b, threes, 3, 2), 0);
    CHECK_BUF(&b, 0x06, 0x03);

    buf_reset(&b); /* width 16 (dictionary indices): 2 value bytes, LE */
    uint32_t idx[9] = {300, 300, 300, 300, 300, 300, 300, 300, 300};
    CHECK_EQ_INT(pq_rle_encode_u32(&b, idx, 9, 16), 0);
    CHECK_BUF(&b, 0x12, 0x2c, 0x01);

    buf_reset(&b); /* width 32: 4 value bytes */
    uint32_t big[8] = {0xdeadbeef, 0xdeadbeef, 0xdeadbeef, 0xdeadbeef,
                       0xdeadbeef, 0xdeadbeef, 0xdeadbeef, 0xdeadbeef};
    CHECK_EQ_INT(pq_rle_encode_u32(&b, big, 8, 32), 0);
    CHECK_BUF(&b, 0x10, 0xef, 0xbe, 0xad, 0xde);

    buf_reset(&b); /* nothing at all */
    CHECK_EQ_INT(pq_rle_encode_u8(&b, zeros, 0, 1), 0);
    CHECK_EQ_INT(b.len, 0);
    buf_release(&b);
}

/* Bit-packed run: varint(groups << 1 | 1), then groups * width bytes,
 * values packed from the least significant bit. */
TEST(bitpacked_runs)
{
    struct buf b = BUF_INIT;

    /* Encodings.md's example: 0..7 with width 3 -> 88 C6 FA. */
    uint8_t seq[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    CHECK_EQ_INT(pq_rle_encode_u8(&b, seq, 8, 3), 0);
    CHECK_BUF(&b, 0x03, 0x88, 0xc6, 0xfa);

    /* width 2: 1 | 2 << 2 | 3 << 4 = 0x39; the group is zero-padded. */
    buf_reset(&b);
    uint8_t v123[3] = {1, 2, 3};
    CHECK_EQ_INT(pq_rle_encode_u8(&b, v123, 3, 2), 0);
    CHECK_BUF(&b, 0x03, 0x39, 0x00);

    /* width 1, two groups of alternating bits: 0b10101010 twice. */
    buf_reset(&b);
    uint8_t alt[16] = {0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1};
    CHECK_EQ_INT(pq_rle_encode_u8(&b, alt, 16, 1), 0);
    CHECK_BUF(&b, 0x05, 0xaa, 0xaa);

    /* A bit-packed group, then a run of 12 ones as an RLE run. */
    buf_reset(&b);
    uint8_t mix[20] = {1, 0, 1, 0, 1, 0, 1, 0, 1, 1,
                       1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    CHECK_EQ_INT(pq_rle_encode_u8(&b, mix, 20, 1), 0);
    CHECK_BUF(&b, 0x03, 0x55, 0x18, 0x01);

    /* An RLE run, then mixed values: 9 zeros (RLE), then 1 0 1 (padded). */
    buf_reset(&b);
    uint8_t runmix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1};
    CHECK_EQ_INT(pq_rle_encode_u8(&b, runmix, 12, 1), 0);
    CHECK_BUF(&b, 0x12, 0x00, 0x03, 0x05);

    /* width 2 over 9 values: two groups (the second holds one value). */
    buf_reset(&b);
    uint8_t lv[9] = {2, 1, 2, 0, 2, 2, 1, 0, 2};
    /* bytes: 2|1<<2|2<<4|0<<6 = 0x26; 2|2<<2|1<<4|0<<6 = 0x1a; 0x02; 0 */
    CHECK_EQ_INT(pq_rle_encode_u8(&b, lv, 9, 2), 0);
    CHECK_BUF(&b, 0x05, 0x26, 0x1a, 0x02, 0x00);

    /* width 9 crosses byte boundaries: 0x1ff then seven zeros. */
    buf_reset(&b);
    uint32_t wide[8] = {0x1ff, 0, 0, 0, 0, 0, 0, 1};
    /* bits 0-8 set; value 7 at bit 63 -> byte 7 = 0x80 */
    CHECK_EQ_INT(pq_rle_encode_u32(&b, wide, 8, 9), 0);
    CHECK_BUF(&b, 0x03, 0xff, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x00);
    buf_release(&b);
}

TEST(pack_bools)
{
    struct buf b = BUF_INIT;
    uint8_t v[9] = {1, 0, 1, 1, 0, 0, 0, 0, 1};
    CHECK_EQ_INT(pq_pack_bools(&b, v, 9), 0);
    CHECK_BUF(&b, 0x0d, 0x01);
    buf_release(&b);
}

TEST(dict_strings)
{
    struct pq_dict d;
    pq_dict_init(&d, 0);
    uint32_t i0, i1, i2, i3;
    CHECK_EQ_INT(pq_dict_insert(&d, "a", 1, &i0), 0);
    CHECK_EQ_INT(pq_dict_insert(&d, "bc", 2, &i1), 0);
    CHECK_EQ_INT(pq_dict_insert(&d, "a", 1, &i2), 0);
    CHECK_EQ_INT(pq_dict_insert(&d, "", 0, &i3), 0);
    CHECK_EQ_INT(i0, 0);
    CHECK_EQ_INT(i1, 1);
    CHECK_EQ_INT(i2, 0);
    CHECK_EQ_INT(i3, 2);
    CHECK_EQ_INT(d.n, 3);
    /* the dictionary page body: PLAIN byte arrays in index order */
    CHECK_BUF(&d.plain, 1, 0, 0, 0, 'a', 2, 0, 0, 0, 'b', 'c', 0, 0, 0, 0);
    pq_dict_release(&d);
}

TEST(dict_many)
{
    struct pq_dict d;
    pq_dict_init(&d, 8);
    int ok = 1;
    for (uint64_t round = 0; round < 2; round++)
        for (uint64_t v = 0; v < 20000; v++) {
            uint64_t key = v * 0x9e3779b97f4a7c15u;
            uint32_t ix;
            if (pq_dict_insert(&d, &key, 8, &ix) != 0 || ix != v)
                ok = 0;
        }
    CHECK(ok);
    CHECK_EQ_INT(d.n, 20000);
    CHECK_EQ_INT(d.plain.len, 20000 * 8);
    /* -0.0 and +0.0 are different values to a dictionary */
    double pz = 0.0, nz = -0.0;
    uint32_t a, b;
    CHECK_EQ_INT(pq_dict_insert(&d, &pz, 8, &a), 0);
    CHECK_EQ_INT(pq_dict_insert(&d, &nz, 8, &b), 0);
    CHECK(a != b);
    pq_dict_release(&d);
}

int main(void)
{
    RUN(bit_width);
    RUN(rle_runs);
    RUN(bitpacked_runs);
    RUN(pack_bools);
    RUN(dict_strings);
    RUN(dict_many);
    return harness_done();
}
