/* The files settings name, read by etl/ and parsed by ecg/: messages name
 * the variable or the file, the 1 MiB limit holds, FIFOs and directories
 * are refused at once, a NUL byte is refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "ecg/crops.h"
#include "ecg/fields.h"
#include "etl/etl.h"
#include "harness.h"

static char tmpdir[] = "/tmp/test_etl_inputs.XXXXXX";

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f)
        return;
    CHECK_EQ_INT(fwrite(data, 1, n, f), n);
    fclose(f);
}

TEST(crop_files)
{
    char path[256];
    struct crop_set s;
    struct buf err = BUF_INIT;
    CHECK(mkdtemp(tmpdir) != NULL);

    snprintf(path, sizeof(path), "%s/crops.json", tmpdir);
    const char *good = "{\"unit\": \"pt\", \"regions\": [{\"name\": \"v1\", "
                       "\"x0\": 10, \"y0\": 20, \"x1\": 30, \"y1\": 40}]}\n";
    write_file(path, good, strlen(good));
    CHECK_EQ_INT(etl_load_crops("CROP_REGIONS_FILE", path, &s, &err), 0);
    CHECK_EQ_STR(err.data, "");
    CHECK_EQ_STR(s.regions[0].name, "v1");
    CHECK(s.regions[0].y1 == 40);

    /* Messages name the file. */
    snprintf(path, sizeof(path), "%s/bad.json", tmpdir);
    write_file(path, "[[1, 1, 0, 2]]", 14);
    CHECK_EQ_INT(etl_load_crops("CROP_REGIONS_FILE", path, &s, &err),
                 ETL_ECONFIG);
    char want[512];
    snprintf(want, sizeof(want), "%s: [0].x1: must be greater than x0", path);
    CHECK_EQ_STR(err.data, want);
    buf_reset(&err);

    snprintf(path, sizeof(path), "%s/missing.json", tmpdir);
    CHECK_EQ_INT(etl_load_crops("CROP_REGIONS_FILE", path, &s, &err),
                 ETL_ECONFIG);
    snprintf(want, sizeof(want),
             "CROP_REGIONS_FILE=%s: cannot open: No such file or directory",
             path);
    CHECK_EQ_STR(err.data, want);
    buf_reset(&err);

    CHECK_EQ_INT(etl_load_crops("CROP_REGIONS_FILE", tmpdir, &s, &err),
                 ETL_ECONFIG);
    snprintf(want, sizeof(want),
             "CROP_REGIONS_FILE=%s: must be a regular file, not a directory",
             tmpdir);
    CHECK_EQ_STR(err.data, want);
    buf_reset(&err);

    /* A NUL would hide the rest of the file from the parser. */
    snprintf(path, sizeof(path), "%s/nul.json", tmpdir);
    write_file(path, "[[0,0,1,1]]\0garbage", 19);
    CHECK_EQ_INT(etl_load_crops("CROP_REGIONS_FILE", path, &s, &err),
                 ETL_ECONFIG);
    snprintf(want, sizeof(want),
             "CROP_REGIONS_FILE=%s: contains a NUL byte (not a text file)",
             path);
    CHECK_EQ_STR(err.data, want);
    buf_reset(&err);

    /* Exactly 1 MiB is read; one byte more is refused. */
    size_t mib = 1024 * 1024;
    char *big = malloc(mib + 1);
    CHECK(big != NULL);
    memset(big, ' ', mib + 1);
    memcpy(big, good, strlen(good));
    snprintf(path, sizeof(path), "%s/big.json", tmpdir);
    write_file(path, big, mib);
    CHECK_EQ_INT(etl_load_crops("CROP_REGIONS_FILE", path, &s, &err), 0);
    CHECK_EQ_STR(s.regions[0].name, "v1");
    write_file(path, big, mib + 1);
    CHECK_EQ_INT(etl_load_crops("CROP_REGIONS_FILE", path, &s, &err),
                 ETL_ECONFIG);
    snprintf(want, sizeof(want),
             "CROP_REGIONS_FILE=%s: larger than 1048576 bytes", path);
    CHECK_EQ_STR(err.data, want);
    free(big);
    buf_reset(&err);

    /* A FIFO fails at once: opening it to read would wait for a writer. */
    snprintf(path, sizeof(path), "%s/fifo.json", tmpdir);
    CHECK_EQ_INT(mkfifo(path, 0600), 0);
    CHECK_EQ_INT(etl_load_crops("REDACT_REGIONS_FILE", path, &s, &err),
                 ETL_ECONFIG);
    snprintf(want, sizeof(want),
             "REDACT_REGIONS_FILE=%s: must be a regular file, not a FIFO",
             path);
    CHECK_EQ_STR(err.data, want);
    buf_release(&err);

    const char *names[] = {"crops.json", "bad.json", "nul.json", "big.json",
                           "fifo.json"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", tmpdir, names[i]);
        unlink(path);
    }
    rmdir(tmpdir);
}

TEST(field_files)
{
    struct fields_set *s = NULL, *builtin = NULL;
    struct buf err = BUF_INIT;
    CHECK_EQ_INT(etl_load_fields(NULL, &builtin, &err), 0);
    /* Files: the path names the problem. */
    char path[] = "/tmp/fields-test-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    const char *body = "{\"patterns\": [{\"field\": \"qt_ms\", \"regex\": "
                       "\"QT=([0-9]+)\"}]}";
    CHECK_EQ_INT(write(fd, body, strlen(body)), (long long)strlen(body));
    close(fd);
    buf_reset(&err);
    CHECK_EQ_INT(etl_load_fields(path, &s, &err), 0);
    CHECK_EQ_INT(fields_count(s), fields_count(builtin) + 1);
    fields_free(s);
    unlink(path);
    buf_reset(&err);
    CHECK_EQ_INT(etl_load_fields(path, &s, &err), ETL_ECONFIG);
    /* The message names the variable and the file. */
    CHECK(strncmp(err.data, "FIELD_PATTERNS_FILE=", 20) == 0);
    CHECK(strncmp(err.data + 20, path, strlen(path)) == 0);
    CHECK(strstr(err.data, "cannot open") != NULL);
    fields_free(builtin);
    buf_release(&err);
}

int main(void)
{
    RUN(crop_files);
    RUN(field_files);
    return harness_done();
}
