/* Unit tests for core/codec (hex, base64 with RFC 4648's vectors, percent
 * encoding as RFC 3986 and forms use it), core/file (capped reads of
 * regular files only, atomic writes) and core/clock. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/codec.h"
#include "core/err.h"
#include "core/file.h"
#include "harness.h"

TEST(hex)
{
    char out[9];
    codec_hex("\x00\x9f\xfa\x10", 4, false, out);
    CHECK_EQ_STR(out, "009ffa10");
    codec_hex("\x00\x9f\xfa\x10", 4, true, out);
    CHECK_EQ_STR(out, "009FFA10");
    codec_hex("", 0, false, out);
    CHECK_EQ_STR(out, "");
    CHECK_EQ_INT(codec_hex_value('7'), 7);
    CHECK_EQ_INT(codec_hex_value('b'), 11);
    CHECK_EQ_INT(codec_hex_value('F'), 15);
    CHECK_EQ_INT(codec_hex_value('g'), -1);
    CHECK_EQ_INT(codec_hex_value('/'), -1);
}

TEST(base64_rfc4648)
{
    static const char *const in[] = {"",     "f",     "fo",    "foo",
                                     "foob", "fooba", "foobar"};
    static const char *const want[] = {
        "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (size_t i = 0; i < 7; i++) {
        char out[16];
        codec_base64(in[i], strlen(in[i]), out);
        CHECK_EQ_STR(out, want[i]);
        struct buf b = BUF_INIT;
        buf_addstr(&b, ">");
        CHECK_EQ_INT(codec_base64_add(&b, in[i], strlen(in[i])), 0);
        CHECK_EQ_INT(b.len, 1 + strlen(want[i]));
        CHECK_EQ_STR(b.data + 1, want[i]);
        buf_release(&b);
    }
    char out[8];
    codec_base64("\xff\xfe\xfd", 3, out);
    CHECK_EQ_STR(out, "//79");
}

TEST(percent)
{
    struct buf b = BUF_INIT;
    CHECK_EQ_INT(codec_percent(&b, "a b/c~%\xe9", 8, NULL), 0);
    CHECK_EQ_STR(b.data, "a%20b%2Fc~%25%E9");
    buf_reset(&b);
    CHECK_EQ_INT(codec_percent(&b, "a b/c", 5, "/"), 0);
    CHECK_EQ_STR(b.data, "a%20b/c");
    buf_reset(&b);
    CHECK_EQ_INT(codec_percent_byte(&b, '.'), 0);
    CHECK_EQ_STR(b.data, "%2E");
    /* Decoding: lenient by default, strict on request, forms' '+'. */
    const char *s = "caf%E9+%2x%";
    buf_reset(&b);
    CHECK_EQ_INT(codec_percent_decode(&b, s, strlen(s), 0), 0);
    CHECK_EQ_MEM(b.data, "caf\xe9+%2x%", 10);
    buf_reset(&b);
    CHECK_EQ_INT(codec_percent_decode(&b, s, strlen(s), CODEC_PLUS_SPACE), 0);
    CHECK_EQ_MEM(b.data, "caf\xe9 %2x%", 10);
    buf_reset(&b);
    CHECK_EQ_INT(codec_percent_decode(&b, s, strlen(s), CODEC_STRICT),
                 ETL_EINVAL);
    buf_reset(&b);
    CHECK_EQ_INT(codec_percent_decode(&b, "%41%62", 6, CODEC_STRICT), 0);
    CHECK_EQ_STR(b.data, "Ab");
    buf_release(&b);
}

TEST(files)
{
    char dir[] = "/tmp/bpecg-file-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[64], fifo[64];
    snprintf(path, sizeof(path), "%s/a.txt", dir);
    snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
    struct buf data = BUF_INIT, why = BUF_INIT;
    CHECK_EQ_INT(file_write_atomic(path, "hello", 5, &why), 0);
    CHECK_EQ_INT(file_read(path, 5, &data, &why), 0);
    CHECK_EQ_STR(data.data, "hello");
    CHECK_EQ_INT(file_read(path, 4, &data, &why), ETL_ETOOBIG);
    CHECK_EQ_INT(data.len, 0);
    CHECK(strstr(why.data, "larger than 4 bytes") != NULL);
    /* A FIFO with no writer: an error at once, not a wait. */
    CHECK_EQ_INT(mkfifo(fifo, 0600), 0);
    buf_reset(&why);
    CHECK_EQ_INT(file_read(fifo, 100, &data, &why), ETL_EINVAL);
    CHECK_EQ_STR(why.data, "must be a regular file, not a FIFO");
    buf_reset(&why);
    CHECK_EQ_INT(file_read(dir, 100, &data, &why), ETL_EINVAL);
    buf_reset(&why);
    snprintf(fifo, sizeof(fifo), "%s/none", dir);
    CHECK_EQ_INT(file_read(fifo, 100, &data, &why), ETL_ENOTFOUND);
    CHECK(strstr(why.data, "cannot open") == why.data);
    /* Replacing leaves no temporary file behind; a missing folder fails
     * with the path named. */
    CHECK_EQ_INT(file_write_atomic(path, "bye", 3, NULL), 0);
    CHECK_EQ_INT(file_read(path, 100, &data, NULL), 0);
    CHECK_EQ_STR(data.data, "bye");
    snprintf(fifo, sizeof(fifo), "%s/no/such", dir);
    buf_reset(&why);
    CHECK_EQ_INT(file_write_atomic(fifo, "x", 1, &why), ETL_EIO);
    CHECK(strstr(why.data, fifo) == why.data);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK_EQ_INT(system(cmd), 0);
    buf_release(&data);
    buf_release(&why);
}

TEST(clocks)
{
    int64_t w = clock_wall_ms();
    CHECK(w > 1700000000000LL); /* after November 2023 */
    double m0 = clock_mono_ms();
    int64_t n0 = clock_mono_ns();
    usleep(2000);
    CHECK(clock_mono_ms() - m0 >= 1.9);
    CHECK(clock_mono_ns() - n0 >= 1900000);
}

int main(void)
{
    RUN(hex);
    RUN(base64_rfc4648);
    RUN(percent);
    RUN(files);
    RUN(clocks);
    return harness_done();
}
