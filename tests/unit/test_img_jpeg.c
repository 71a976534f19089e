/* Unit tests for src/img: JPEG encoding with libjpeg-turbo. */
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "core/buf.h"
#include "core/err.h"
#include "harness.h"
#include "img/img.h"

#define W 64
#define H 48

/* A smooth gradient, stored with padding after each row (stride > 3w),
 * like a crop borrowed from a bigger pixmap. */
static unsigned char src[H][W * 3 + 30];

static void fill_gradient(void)
{
    memset(src, 0xee, sizeof(src));
    for (int y = 0; y < H; y++) {
        for (int x = 0; x < W; x++) {
            src[y][x * 3 + 0] = (unsigned char)(x * 255 / (W - 1));
            src[y][x * 3 + 1] = (unsigned char)(y * 255 / (H - 1));
            src[y][x * 3 + 2] = (unsigned char)(128 + (x - y) / 2);
        }
    }
}

/* Decode and return the largest difference from src. */
static int max_error(const struct buf *jpg)
{
    unsigned char *out = malloc(W * H * 3);
    tjhandle tj = tjInitDecompress();
    int worst = 999;
    if (out && tj &&
        tjDecompress2(tj, (const unsigned char *)jpg->data, jpg->len, out, W,
                      W * 3, H, TJPF_RGB, 0) == 0) {
        worst = 0;
        for (int y = 0; y < H; y++) {
            for (int i = 0; i < W * 3; i++) {
                int d = abs((int)out[y * W * 3 + i] - (int)src[y][i]);
                worst = d > worst ? d : worst;
            }
        }
    }
    if (tj)
        tjDestroy(tj);
    free(out);
    return worst;
}

/* Offset of the first marker m (0xFF m) in the header, or -1. */
static long find_marker(const struct buf *jpg, unsigned char m)
{
    const unsigned char *p = (const unsigned char *)jpg->data;
    for (size_t i = 0; i + 1 < jpg->len; i++) {
        if (p[i] == 0xff && p[i + 1] == m)
            return (long)i;
        if (p[i] == 0xff && p[i + 1] == 0xda) /* start of scan */
            break;
    }
    return -1;
}

TEST(encode_roundtrip)
{
    struct img_jpeg *e = NULL;
    struct buf jpg = BUF_INIT;
    int w = 0, h = 0;
    fill_gradient();
    CHECK_EQ_INT(img_jpeg_new(&e), 0);
    CHECK_EQ_INT(img_jpeg_encode(e, &src[0][0], W, H, sizeof(src[0]), 85, &jpg),
                 0);
    CHECK(jpg.len > 100);
    CHECK_EQ_INT(img_jpeg_size(jpg.data, jpg.len, &w, &h), 0);
    CHECK_EQ_INT(w, W);
    CHECK_EQ_INT(h, H);
    /* The padding bytes (0xee) must not leak in: a smooth gradient comes
     * back within a few levels. */
    int err85 = max_error(&jpg);
    CHECK(err85 <= 12);

    struct buf best = BUF_INIT;
    CHECK_EQ_INT(
        img_jpeg_encode(e, &src[0][0], W, H, sizeof(src[0]), 100, &best), 0);
    CHECK(max_error(&best) <= 4);
    CHECK(best.len > jpg.len);
    buf_release(&best);
    buf_release(&jpg);
    img_jpeg_free(e);
}

TEST(format)
{
    struct img_jpeg *e = NULL;
    struct buf jpg = BUF_INIT;
    fill_gradient();
    CHECK_EQ_INT(img_jpeg_new(&e), 0);
    CHECK_EQ_INT(img_jpeg_encode(e, &src[0][0], W, H, sizeof(src[0]), 85, &jpg),
                 0);
    const unsigned char *p = (const unsigned char *)jpg.data;
    /* SOI then a JFIF APP0, like cjpeg and Pillow. */
    CHECK(p[0] == 0xff && p[1] == 0xd8 && p[2] == 0xff && p[3] == 0xe0);
    CHECK(memcmp(p + 6, "JFIF", 5) == 0);
    /* Baseline (SOF0), not progressive (SOF2) nor arithmetic. */
    CHECK(find_marker(&jpg, 0xc0) > 0);
    CHECK(find_marker(&jpg, 0xc2) < 0);
    CHECK(find_marker(&jpg, 0xc9) < 0);
    /* End of image. */
    CHECK(p[jpg.len - 2] == 0xff && p[jpg.len - 1] == 0xd9);

    tjhandle tj = tjInitDecompress();
    int w, h, sub = -1, cs = -1;
    CHECK(tj != NULL);
    CHECK_EQ_INT(tjDecompressHeader3(tj, p, jpg.len, &w, &h, &sub, &cs), 0);
    CHECK_EQ_INT(sub, TJSAMP_420);
    CHECK_EQ_INT(cs, TJCS_YCbCr);
    tjDestroy(tj);

    /* Standard tables scaled for quality 85: the first luminance
     * quantiser is 16 * 30 / 100 = 5 (after the DQT header). */
    long dqt = find_marker(&jpg, 0xdb);
    CHECK(dqt > 0);
    CHECK_EQ_INT(p[dqt + 5], 5);

    buf_release(&jpg);
    img_jpeg_free(e);
}

TEST(deterministic_and_replaces)
{
    struct img_jpeg *e = NULL;
    struct buf a = BUF_INIT, b = BUF_INIT;
    fill_gradient();
    CHECK_EQ_INT(img_jpeg_new(&e), 0);
    CHECK_EQ_INT(img_jpeg_encode(e, &src[0][0], W, H, sizeof(src[0]), 85, &a),
                 0);
    /* A bigger image in between grows the encoder's buffer. */
    unsigned char *large = calloc(1000 * 700, 3);
    CHECK(large != NULL);
    CHECK_EQ_INT(img_jpeg_encode(e, large, 1000, 700, 3000, 85, &b), 0);
    int w, h;
    CHECK_EQ_INT(img_jpeg_size(b.data, b.len, &w, &h), 0);
    CHECK(w == 1000 && h == 700);
    free(large);
    /* Encoding into a used buf replaces its contents. */
    CHECK_EQ_INT(img_jpeg_encode(e, &src[0][0], W, H, sizeof(src[0]), 85, &b),
                 0);
    CHECK_EQ_INT(a.len, b.len);
    CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
    buf_release(&a);
    buf_release(&b);
    img_jpeg_free(e);
}

TEST(bad_input)
{
    struct img_jpeg *e = NULL;
    struct buf jpg = BUF_INIT;
    int w, h;
    CHECK_EQ_INT(img_jpeg_new(&e), 0);
    CHECK_EQ_INT(img_jpeg_encode(e, &src[0][0], W, H, W * 3 - 1, 85, &jpg),
                 ETL_EINVAL);
    CHECK_EQ_INT(img_jpeg_encode(e, &src[0][0], 0, H, W * 3, 85, &jpg),
                 ETL_EINVAL);
    CHECK_EQ_INT(img_jpeg_encode(e, &src[0][0], W, H, W * 3, 0, &jpg),
                 ETL_EINVAL);
    CHECK_EQ_INT(img_jpeg_encode(e, &src[0][0], W, H, W * 3, 101, &jpg),
                 ETL_EINVAL);
    CHECK_EQ_INT(img_jpeg_size("not a jpeg", 10, &w, &h), ETL_EIMAGE);
    CHECK_EQ_INT(img_jpeg_size("", 0, &w, &h), ETL_EINVAL);
    img_jpeg_free(e);
    img_jpeg_free(NULL);
    buf_release(&jpg);
}

int main(void)
{
    RUN(encode_roundtrip);
    RUN(format);
    RUN(deterministic_and_replaces);
    RUN(bad_input);
    return harness_done();
}
