/* Key safety, storage URL parsing and store_open (src/store/store.c). */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "harness.h"
#include "store/storage.h"
#include "store/store_int.h"

TEST(key_check_accepts_safe_keys)
{
    static const char *const ok[] = {
        "a",
        "a/b.pdf",
        "x y+z=&%.pdf",
        "pdfs/2024/ecg_0001.pdf",
        "\xe6\x97\xa5\xe6\x9c\xac/\xc3\xa9.pdf", /* UTF-8: 日本/é.pdf */
        "...",
        "a/.hidden",
        "..a/b..",
        "a/b/c/d/e/f",
        "~!@#$^*()[]{}'\";:,<>?|`",
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        if (store_key_check(ok[i]) != 0)
            HARNESS_FAIL("key \"%s\" should be safe", ok[i]);
    }
    char max[STORE_KEY_MAX + 1];
    memset(max, 'k', STORE_KEY_MAX);
    max[STORE_KEY_MAX] = '\0';
    CHECK_EQ_INT(store_key_check(max), 0);
}

TEST(key_check_rejects_unsafe_keys)
{
    static const char *const bad[] = {
        "",       "/a",   "a/../b", "..",    ".",     "a//b", "a/",      "a\\b",
        "a\x01b", "a\nb", "a\tb",   "a\x1f", "a\x7f", "./a",  "a/.",     "a/..",
        "../a",   "/",    "//",     "a/./b", "\\",    "a/b/", "\x1b[31m"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (store_key_check(bad[i]) != ETL_EUNSAFE)
            HARNESS_FAIL("key #%zu \"%s\" should be unsafe", i, bad[i]);
    }
    CHECK_EQ_INT(store_key_check(NULL), ETL_EUNSAFE);
    char over[STORE_KEY_MAX + 2];
    memset(over, 'k', STORE_KEY_MAX + 1);
    over[STORE_KEY_MAX + 1] = '\0';
    CHECK_EQ_INT(store_key_check(over), ETL_EUNSAFE);
}

struct url_case {
    const char *url;
    int rc;
    enum store_url_kind kind;
    const char *path; /* LOCAL */
    const char *bucket;
    const char *prefix;
};

TEST(url_parse_table)
{
    static const struct url_case cases[] = {
        {"demo/in", 0, STORE_URL_LOCAL, "demo/in", NULL, ""},
        {"/data/in", 0, STORE_URL_LOCAL, "/data/in", NULL, ""},
        {"/data/in/", 0, STORE_URL_LOCAL, "/data/in/", NULL, ""},
        {"weird:name", 0, STORE_URL_LOCAL, "weird:name", NULL, ""},
        {"file:///data/in", 0, STORE_URL_LOCAL, "/data/in", NULL, ""},
        {"file://localhost/data/in", 0, STORE_URL_LOCAL, "/data/in", NULL, ""},
        {"FILE://LocalHost/x", 0, STORE_URL_LOCAL, "/x", NULL, ""},
        {"file:/data/in", 0, STORE_URL_LOCAL, "/data/in", NULL, ""},
        {"file:///my%20dir/%C3%A9", 0, STORE_URL_LOCAL, "/my dir/\xc3\xa9",
         NULL, ""},
        {"s3://bucket", 0, STORE_URL_S3, NULL, "bucket", ""},
        {"s3://bucket/", 0, STORE_URL_S3, NULL, "bucket", ""},
        {"s3://bucket/pdfs", 0, STORE_URL_S3, NULL, "bucket", "pdfs/"},
        {"s3://bucket/pdfs/", 0, STORE_URL_S3, NULL, "bucket", "pdfs/"},
        {"S3://my.bucket-1/a/b/c/", 0, STORE_URL_S3, NULL, "my.bucket-1",
         "a/b/c/"},
        {"s3://abc/x y+z=%20/", 0, STORE_URL_S3, NULL, "abc", "x y+z=%20/"},
        {"s3://"
         "a23456789012345678901234567890123456789012345678901234567890123",
         0, STORE_URL_S3, NULL,
         "a23456789012345678901234567890123456789012345678901234567890123", ""},
        /* malformed */
        {NULL, ETL_EINVAL, 0, NULL, NULL, NULL},
        {"", ETL_EINVAL, 0, NULL, NULL, NULL},
        {"http://example.com/x", ETL_EINVAL, 0, NULL, NULL, NULL},
        {"gs://bucket/x", ETL_EINVAL, 0, NULL, NULL, NULL},
        {"file://host/data", ETL_EINVAL, 0, NULL, NULL, NULL},
        {"file://", ETL_EINVAL, 0, NULL, NULL, NULL},
        {"file://localhost", ETL_EINVAL, 0, NULL, NULL, NULL},
        {"file:relative/dir", ETL_EINVAL, 0, NULL, NULL, NULL},
        {"file:///a%00b", ETL_EINVAL, 0, NULL, NULL, NULL},
        {"file:///a%zz", ETL_EINVAL, 0, NULL, NULL, NULL},
        {"file:///a%4", ETL_EINVAL, 0, NULL, NULL, NULL},
        {"file:///a?x=1", ETL_EINVAL, 0, NULL, NULL, NULL},
        {"file:///a#frag", ETL_EINVAL, 0, NULL, NULL, NULL},
        {"s3://", ETL_EINVAL, 0, NULL, NULL, NULL},
        {"s3:///pdfs/", ETL_EINVAL, 0, NULL, NULL, NULL},
        {"s3://ab", ETL_EINVAL, 0, NULL, NULL, NULL},
        {"s3://Bucket", ETL_EINVAL, 0, NULL, NULL, NULL},
        {"s3://bu_cket", ETL_EINVAL, 0, NULL, NULL, NULL},
        {"s3://-bucket", ETL_EINVAL, 0, NULL, NULL, NULL},
        {"s3://bucket-", ETL_EINVAL, 0, NULL, NULL, NULL},
        {"s3://bucket.", ETL_EINVAL, 0, NULL, NULL, NULL},
        {"s3://my..bucket", ETL_EINVAL, 0, NULL, NULL, NULL},
        {"s3://192.168.1.10", ETL_EINVAL, 0, NULL, NULL, NULL},
        {"s3://user:secret@bucket/x", ETL_EINVAL, 0, NULL, NULL, NULL},
        {"s3://"
         "a234567890123456789012345678901234567890123456789012345678901234",
         ETL_EINVAL, 0, NULL, NULL, NULL},
        {"s3://bucket//x", ETL_EINVAL, 0, NULL, NULL, NULL},
        {"s3://bucket/a//b/", ETL_EINVAL, 0, NULL, NULL, NULL},
        {"s3://bucket/x//", ETL_EINVAL, 0, NULL, NULL, NULL},
        {"s3://bucket/../x", ETL_EINVAL, 0, NULL, NULL, NULL},
        {"s3://bucket/a\\b", ETL_EINVAL, 0, NULL, NULL, NULL},
        {"s3://bucket/a\x01", ETL_EINVAL, 0, NULL, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct url_case *c = &cases[i];
        struct store_url u;
        int rc = store_url_parse(c->url, &u);
        if (rc != c->rc) {
            HARNESS_FAIL("url #%zu \"%s\": rc %d, want %d", i,
                         c->url ? c->url : "(null)", rc, c->rc);
        } else if (rc == 0) {
            if (u.kind != c->kind)
                HARNESS_FAIL("url \"%s\": kind %d", c->url, (int)u.kind);
            if (c->path)
                CHECK_EQ_STR(u.path, c->path);
            if (c->bucket)
                CHECK_EQ_STR(u.bucket, c->bucket);
            CHECK_EQ_STR(u.prefix, c->prefix);
        }
        store_url_release(&u);
    }
}

/* The normalised prefix of an S3 URL is "" or ends with '/'. */
TEST(url_s3_long_prefix)
{
    char url[STORE_KEY_MAX + 32];
    struct store_url u;
    int n = snprintf(url, sizeof(url), "s3://bucket/");
    memset(url + n, 'p', STORE_KEY_MAX - 1);
    url[n + STORE_KEY_MAX - 1] = '\0';
    CHECK_EQ_INT(store_url_parse(url, &u), 0); /* 1023 + "/" = 1024 */
    CHECK_EQ_INT(strlen(u.prefix), STORE_KEY_MAX);
    store_url_release(&u);
    url[n + STORE_KEY_MAX - 1] = 'p';
    url[n + STORE_KEY_MAX] = '\0';
    CHECK_EQ_INT(store_url_parse(url, &u), ETL_EINVAL);
    store_url_release(&u);
}

static char tmp_base[PATH_MAX];

static int rm_entry(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

static void make_base(void)
{
    snprintf(tmp_base, sizeof(tmp_base), "/tmp/bpecg-store-keys-XXXXXX");
    if (!mkdtemp(tmp_base)) {
        perror("mkdtemp");
        exit(1);
    }
}

static void remove_base(void)
{
    nftw(tmp_base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

TEST(open_malformed_urls)
{
    struct store *s = (struct store *)1;
    char *prefix = (char *)1;
    /* A malformed S3 URL or an unknown scheme is refused before any
     * configuration is read; the outputs are reset. */
    CHECK_EQ_INT(store_open("s3://No_Such/pdfs", true, &s, &prefix),
                 ETL_EINVAL);
    CHECK(s == NULL);
    CHECK(prefix == NULL);
    CHECK_EQ_INT(store_open("ftp://x/y", false, &s, &prefix), ETL_EINVAL);
    CHECK(s == NULL);
}

TEST(open_missing_source_is_not_found)
{
    char path[PATH_MAX + 32];
    struct store *s = NULL;
    char *prefix = NULL;
    snprintf(path, sizeof(path), "%s/no/such/dir", tmp_base);
    CHECK_EQ_INT(store_open(path, true, &s, &prefix), ETL_ENOTFOUND);
    CHECK(s == NULL);
    struct stat st;
    CHECK(stat(path, &st) < 0 && errno == ENOENT); /* nothing created */

    /* A regular file is not a directory to list. */
    snprintf(path, sizeof(path), "%s/plain-file", tmp_base);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f)
        fclose(f);
    CHECK_EQ_INT(store_open(path, true, &s, &prefix), ETL_ENOTFOUND);
    CHECK_EQ_INT(store_open(path, false, &s, &prefix), ETL_ENOTFOUND);
}

TEST(open_destination_is_created)
{
    char path[PATH_MAX + 32], want[PATH_MAX + 64];
    struct store *s = NULL;
    char *prefix = NULL;
    struct stat st;
    mode_t old = umask(022);
    snprintf(path, sizeof(path), "%s/out/deep/er", tmp_base);
    CHECK_EQ_INT(store_open(path, false, &s, &prefix), 0);
    umask(old);
    CHECK(s != NULL);
    CHECK_EQ_STR(prefix, "");
    CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode));
    CHECK_EQ_INT(st.st_mode & 07777, 0755);
    char *real = realpath(path, NULL);
    snprintf(want, sizeof(want), "file://%s", real ? real : "?");
    CHECK_EQ_STR(store_name(s), want);
    free(real);
    free(prefix);
    store_free(s);

    /* Opening it again (now existing) as a source works too. */
    CHECK_EQ_INT(store_open(path, true, &s, NULL), 0);
    store_free(s);
}

TEST(open_file_url_and_relative_path)
{
    char path[PATH_MAX + 32], url[PATH_MAX + 64], want[PATH_MAX + 64];
    char cwd[PATH_MAX];
    struct store *s = NULL;
    char *prefix = NULL;
    snprintf(path, sizeof(path), "%s/with space", tmp_base);
    CHECK_EQ_INT(mkdir(path, 0755), 0);
    snprintf(url, sizeof(url), "file://%s/with%%20space", tmp_base);
    CHECK_EQ_INT(store_open(url, true, &s, &prefix), 0);
    char *real = realpath(path, NULL);
    snprintf(want, sizeof(want), "file://%s", real ? real : "?");
    CHECK_EQ_STR(store_name(s), want);
    CHECK_EQ_STR(prefix, "");
    free(prefix);
    store_free(s);

    /* A relative path is resolved against the working directory and the
     * name shows the absolute one. */
    CHECK(getcwd(cwd, sizeof(cwd)) != NULL);
    CHECK_EQ_INT(chdir(tmp_base), 0);
    CHECK_EQ_INT(store_open("with space", true, &s, NULL), 0);
    CHECK_EQ_STR(store_name(s), want);
    store_free(s);
    CHECK_EQ_INT(chdir(cwd), 0);
    free(real);

    CHECK_EQ_INT(store_open("file://elsewhere/tmp", true, &s, NULL),
                 ETL_EINVAL);
}

int main(void)
{
    log_init(LOG_OFF, LOG_FORMAT_JSON, 2);
    RUN(key_check_accepts_safe_keys);
    RUN(key_check_rejects_unsafe_keys);
    RUN(url_parse_table);
    RUN(url_s3_long_prefix);
    make_base();
    RUN(open_malformed_urls);
    RUN(open_missing_source_is_not_found);
    RUN(open_destination_is_created);
    RUN(open_file_url_and_relative_path);
    remove_base();
    return harness_done();
}
