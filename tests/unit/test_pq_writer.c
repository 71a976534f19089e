/* The writer's contract: argument checks, row rejection, atomic
 * temp-file-and-rename, cleanup on abort and on a failing write, and the
 * file's frame (magic, footer length, created_by, key-value metadata).
 * Values are checked by independent readers in tests/node. */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "harness.h"
#include "pq/pq.h"

static char dir[] = "/tmp/pq_unit_XXXXXX";

static char *path_in(const char *name)
{
    static char p[512];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    return p;
}

/* Files in dir whose name starts with prefix. */
static int count_files(const char *prefix)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0)
            n++;
    if (d)
        closedir(d);
    return n;
}

static unsigned char *slurp(const char *p, size_t *n)
{
    FILE *f = fopen(p, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)len + 1);
    *n = fread(b, 1, (size_t)len, f);
    fclose(f);
    return b;
}

static const struct pq_column cols[] = {
    {.name = "id", .type = PQ_INT64},
    {.name = "name", .type = PQ_STRING, .optional = true},
    {.name = "tags", .type = PQ_STRING, .list = true},
    {.name = "ok", .type = PQ_BOOLEAN, .optional = true},
};

TEST(open_rejects_bad_schema)
{
    struct pq_writer *w = (struct pq_writer *)1;
    const char *p = path_in("bad.parquet");
    CHECK_EQ_INT(pq_writer_open(p, cols, 0, NULL, &w), ETL_EINVAL);
    CHECK(w == NULL);
    struct pq_column c2[2] = {{.name = "a", .type = PQ_INT32},
                              {.name = "a", .type = PQ_INT64}};
    CHECK_EQ_INT(pq_writer_open(p, c2, 2, NULL, &w), ETL_EINVAL);
    c2[1].name = "";
    CHECK_EQ_INT(pq_writer_open(p, c2, 2, NULL, &w), ETL_EINVAL);
    c2[1].name = "\xc3(";
    CHECK_EQ_INT(pq_writer_open(p, c2, 2, NULL, &w), ETL_EINVAL);
    c2[1].name = "b";
    c2[1].type = (enum pq_type)42;
    CHECK_EQ_INT(pq_writer_open(p, c2, 2, NULL, &w), ETL_EINVAL);
    struct pq_options o = {.codec = (enum pq_codec)9};
    CHECK_EQ_INT(pq_writer_open(p, cols, 4, &o, &w), ETL_EINVAL);
    o = (struct pq_options){.zstd_level = 99};
    CHECK_EQ_INT(pq_writer_open(p, cols, 4, &o, &w), ETL_EINVAL);
    struct pq_kv kv = {.key = "k\xff", .value = "v"};
    o = (struct pq_options){.kv = &kv, .nkv = 1};
    CHECK_EQ_INT(pq_writer_open(p, cols, 4, &o, &w), ETL_EINVAL);
    CHECK_EQ_INT(pq_writer_open(NULL, cols, 4, NULL, &w), ETL_EINVAL);
    /* a directory that does not exist: the temp file cannot be made */
    CHECK_EQ_INT(
        pq_writer_open("/nonexistent/dir/x.parquet", cols, 4, NULL, &w),
        ETL_EIO);
    CHECK_EQ_INT(count_files("bad.parquet"), 0);
}

TEST(setters_check_types)
{
    struct pq_writer *w;
    CHECK_EQ_INT(pq_writer_open(path_in("types.parquet"), cols, 4, NULL, &w),
                 0);
    CHECK_EQ_INT(pq_set_i32(w, 0, 1), ETL_EINVAL);      /* INT64 column */
    CHECK_EQ_INT(pq_set_str(w, 0, "x", 1), ETL_EINVAL); /* INT64 column */
    CHECK_EQ_INT(pq_set_i64(w, 4, 1), ETL_EINVAL);      /* no column 4 */
    CHECK_EQ_INT(pq_set_null(w, 0), ETL_EINVAL);        /* required */
    /* invalid UTF-8: surrogate, overlong, truncated, above U+10FFFF */
    CHECK_EQ_INT(pq_set_str(w, 1, "\xed\xa0\x80", 3), ETL_EINVAL);
    CHECK_EQ_INT(pq_set_str(w, 1, "\xc0\x80", 2), ETL_EINVAL);
    CHECK_EQ_INT(pq_set_str(w, 1, "ok \xe2\x82", 5), ETL_EINVAL);
    CHECK_EQ_INT(pq_set_str(w, 1, "\xf4\x90\x80\x80", 4), ETL_EINVAL);
    CHECK_EQ_INT(pq_set_str(w, 1, "\xf0\x9f\x98\x80 \0 ok", 9), 0);
    CHECK_EQ_INT(pq_set_str(w, 1, NULL, 1), ETL_EINVAL);
    CHECK_EQ_INT(pq_set_str(w, 2, "x", 1), ETL_EINVAL); /* no list_begin */
    CHECK_EQ_INT(pq_list_begin(w, 1), ETL_EINVAL);      /* not a list */
    CHECK_EQ_INT(pq_set_null(w, 2), ETL_EINVAL);        /* required list */
    CHECK_EQ_INT(pq_set_double(w, 3, 1.0), ETL_EINVAL);
    CHECK_EQ_INT(pq_set_float(w, 3, 1.0f), ETL_EINVAL);
    CHECK_EQ_INT(pq_set_bool(w, 0, true), ETL_EINVAL);

    /* A required column left unset rejects the row, and only the row. */
    CHECK_EQ_INT(pq_set_str(w, 1, "lost", 4), 0);
    CHECK_EQ_INT(pq_list_begin(w, 2), 0);
    CHECK_EQ_INT(pq_end_row(w), ETL_EINVAL); /* id unset */
    CHECK_EQ_INT(pq_writer_rows(w), 0);
    CHECK_EQ_INT(pq_set_i64(w, 0, 1), 0);
    CHECK_EQ_INT(pq_end_row(w), ETL_EINVAL); /* tags unset (required list) */
    CHECK_EQ_INT(pq_set_i64(w, 0, 1), 0);
    CHECK_EQ_INT(pq_list_begin(w, 2), 0);
    CHECK_EQ_INT(pq_set_str(w, 1, NULL, 0), 0); /* empty, not null */
    CHECK_EQ_INT(pq_set_bool(w, 3, true), 0);
    CHECK_EQ_INT(pq_set_null(w, 3), 0); /* replaced by null */
    CHECK_EQ_INT(pq_end_row(w), 0);
    CHECK_EQ_INT(pq_writer_rows(w), 1);
    CHECK_EQ_INT(pq_writer_close(w), 0);
    CHECK_EQ_INT(pq_writer_close(NULL), ETL_EINVAL);
    pq_writer_abort(NULL);
}

TEST(close_renames_atomically)
{
    const char *p = path_in("atomic.parquet");
    FILE *f = fopen(p, "w");
    fputs("old contents", f);
    fclose(f);

    struct pq_kv kv[] = {{"bpecg.run_id", "run-123"},
                         {"bpecg.settings_hash", "abc"},
                         {"no_value", NULL}};
    struct pq_options o = {
        .codec = PQ_CODEC_SNAPPY, .version = "9.8.7", .kv = kv, .nkv = 3};
    struct pq_writer *w;
    mode_t old = umask(027);
    CHECK_EQ_INT(pq_writer_open(p, cols, 4, &o, &w), 0);
    umask(old);
    for (int i = 0; i < 100; i++) {
        CHECK_EQ_INT(pq_set_i64(w, 0, i), 0);
        CHECK_EQ_INT(pq_list_begin(w, 2), 0);
        CHECK_EQ_INT(pq_end_row(w), 0);
    }
    /* Until close, the old file is untouched and a temp file exists. */
    size_t n;
    unsigned char *b = slurp(p, &n);
    CHECK(b && n == 12 && memcmp(b, "old contents", 12) == 0);
    free(b);
    CHECK_EQ_INT(count_files("atomic.parquet.tmp."), 1);

    CHECK_EQ_INT(pq_writer_close(w), 0);
    CHECK_EQ_INT(count_files("atomic.parquet.tmp."), 0);
    struct stat st;
    CHECK_EQ_INT(stat(p, &st), 0);
    CHECK_EQ_INT(st.st_mode & 0777, 0640);

    b = slurp(p, &n);
    CHECK(b && n > 12);
    if (!b || n <= 12)
        return;
    CHECK_EQ_MEM(b, "PAR1", 4);
    CHECK_EQ_MEM(b + n - 4, "PAR1", 4);
    size_t flen = (size_t)b[n - 8] | (size_t)b[n - 7] << 8 |
                  (size_t)b[n - 6] << 16 | (size_t)b[n - 5] << 24;
    CHECK(flen > 0 && flen < n - 12);
    const char *cb = "bpecg-etl version 9.8.7 (build bpecg)";
    CHECK(memmem(b + n - 8 - flen, flen, cb, strlen(cb)) != NULL);
    CHECK(memmem(b + n - 8 - flen, flen, "run-123", 7) != NULL);
    CHECK(memmem(b + n - 8 - flen, flen, "bpecg.settings_hash", 19) != NULL);
    free(b);
}

TEST(abort_leaves_nothing)
{
    const char *p = path_in("aborted.parquet");
    struct pq_writer *w;
    CHECK_EQ_INT(pq_writer_open(p, cols, 4, NULL, &w), 0);
    CHECK_EQ_INT(pq_set_i64(w, 0, 1), 0);
    CHECK_EQ_INT(pq_list_begin(w, 2), 0);
    CHECK_EQ_INT(pq_end_row(w), 0);
    pq_writer_abort(w);
    CHECK_EQ_INT(count_files("aborted.parquet"), 0);
}

/* A write that fails (here: the file size limit) is sticky, and close
 * reports it and leaves no file behind, not even the temp file. */
TEST(failed_write_leaves_nothing)
{
    const char *p = path_in("full.parquet");
    struct pq_options o = {.codec = PQ_CODEC_NONE, .row_group_bytes = 4096};
    struct pq_writer *w;
    CHECK_EQ_INT(pq_writer_open(p, cols, 4, &o, &w), 0);

    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = 64 << 10;
    signal(SIGXFSZ, SIG_IGN);
    setrlimit(RLIMIT_FSIZE, &lim);

    char text[1000];
    memset(text, 'x', sizeof(text));
    int rc = 0, i;
    for (i = 0; i < 1000 && rc == 0; i++) {
        pq_set_i64(w, 0, i);
        pq_set_str(w, 1, text, sizeof(text));
        pq_list_begin(w, 2);
        rc = pq_end_row(w);
    }
    setrlimit(RLIMIT_FSIZE, &old);
    CHECK_EQ_INT(rc, ETL_EIO);
    CHECK(i < 1000);
    CHECK_EQ_INT(pq_set_i64(w, 0, 1), ETL_EIO); /* sticky */
    CHECK_EQ_INT(pq_end_row(w), ETL_EIO);
    CHECK_EQ_INT(pq_writer_close(w), ETL_EIO);
    CHECK_EQ_INT(count_files("full.parquet"), 0);
}

TEST(codec_names)
{
    enum pq_codec c;
    CHECK_EQ_INT(pq_codec_parse("zstd", &c), 0);
    CHECK_EQ_INT(c, PQ_CODEC_ZSTD);
    CHECK_EQ_INT(pq_codec_parse("SNAPPY", &c), 0);
    CHECK_EQ_INT(c, PQ_CODEC_SNAPPY);
    CHECK_EQ_INT(pq_codec_parse("none", &c), 0);
    CHECK_EQ_INT(c, PQ_CODEC_NONE);
    CHECK_EQ_INT(pq_codec_parse("uncompressed", &c), 0);
    CHECK_EQ_INT(c, PQ_CODEC_NONE);
    CHECK_EQ_INT(pq_codec_parse("gzip", &c), ETL_EINVAL);
    CHECK_EQ_INT(pq_codec_parse(NULL, &c), ETL_EINVAL);
    CHECK_EQ_STR(pq_codec_name(PQ_CODEC_ZSTD), "zstd");
    CHECK_EQ_STR(pq_codec_name(PQ_CODEC_SNAPPY), "snappy");
    CHECK_EQ_STR(pq_codec_name(PQ_CODEC_NONE), "none");
}

int main(void)
{
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(open_rejects_bad_schema);
    RUN(setters_check_types);
    RUN(close_renames_atomically);
    RUN(abort_leaves_nothing);
    RUN(failed_write_leaves_nothing);
    RUN(codec_names);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return harness_done();
}
