/* Opening an S3 store: configuration is checked at open, with errors that
 * name the variable, the value and what is accepted; nothing touches the
 * network until the first request. Requests themselves are tested against
 * s3rver by tests/node/s3_*.test.mjs. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "harness.h"
#include "store/storage.h"

static void clean_env(void)
{
    static const char *const vars[] = {
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_ENDPOINT_URL_S3",
        "AWS_ENDPOINT_URL",
        "S3_SSE",
        "S3_SSE_KMS_KEY_ID",
        "S3_EXPECTED_BUCKET_OWNER",
        "AWS_PROFILE",
        "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    };
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
        unsetenv(vars[i]);
    setenv("AWS_CONFIG_FILE", "/nonexistent/config", 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    setenv("AWS_ACCESS_KEY_ID", "AKIDTEST", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "secret", 1);
}

static int open_s3(const char *url, struct store **s, char **prefix)
{
    *s = NULL;
    *prefix = NULL;
    return store_open(url, true, s, prefix);
}

TEST(opens_without_network)
{
    clean_env();
    setenv("AWS_REGION", "eu-west-1", 1);
    struct store *s;
    char *prefix;
    CHECK_EQ_INT(open_s3("s3://my-bucket/pdfs", &s, &prefix), 0);
    CHECK_EQ_STR(store_name(s), "s3://my-bucket/");
    CHECK_EQ_STR(prefix, "pdfs/");
    struct retry_policy p = {5, 0.1, 2.0};
    store_set_retry(s, &p);
    store_free(s);
    free(prefix);

    /* A custom endpoint needs no region. */
    clean_env();
    setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:1/", 1);
    CHECK_EQ_INT(open_s3("s3://src/", &s, &prefix), 0);
    CHECK_EQ_STR(prefix, "");
    store_free(s);
    free(prefix);
    /* Nor does a bucket with dots (path style on AWS). */
    clean_env();
    setenv("AWS_DEFAULT_REGION", "us-west-2", 1);
    setenv("S3_SSE", "aws:kms", 1);
    setenv("S3_SSE_KMS_KEY_ID", "alias/ecg", 1);
    setenv("S3_EXPECTED_BUCKET_OWNER", "123456789012", 1);
    CHECK_EQ_INT(open_s3("s3://my.dotted.bucket/x/", &s, &prefix), 0);
    store_free(s);
    free(prefix);
}

struct bad {
    const char *var, *value;
};

TEST(bad_settings_are_named)
{
    static const struct bad cases[] = {
        {"AWS_ENDPOINT_URL_S3", "ftp://127.0.0.1:9000"},
        {"AWS_ENDPOINT_URL_S3", "127.0.0.1:9000"},
        {"AWS_ENDPOINT_URL_S3", "http://"},
        {"AWS_ENDPOINT_URL_S3", "http://user:pw@127.0.0.1:9000"},
        {"AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9000/?x=1"},
        {"AWS_ENDPOINT_URL_S3", "http://127.0.0.1 :9000"},
        {"AWS_ENDPOINT_URL", "https://:443"},
        {"AWS_REGION", "US_EAST_1"},
        {"AWS_REGION", "us east"},
        {"S3_SSE", "kms"},
        {"S3_SSE_KMS_KEY_ID", "alias/x"}, /* without S3_SSE=aws:kms */
        {"S3_EXPECTED_BUCKET_OWNER", "12345"},
        {"S3_EXPECTED_BUCKET_OWNER", "12345678901x"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        clean_env();
        setenv("AWS_REGION", "us-east-1", 1);
        setenv(cases[i].var, cases[i].value, 1);
        struct store *s;
        char *prefix;
        int rc = open_s3("s3://bucket/pdfs/", &s, &prefix);
        if (rc != ETL_ECONFIG)
            HARNESS_FAIL("%s=%s: rc %d", cases[i].var, cases[i].value, rc);
        CHECK(s == NULL && prefix == NULL);
        const char *msg = store_last_error();
        if (!strstr(msg, cases[i].var) || !strstr(msg, cases[i].value))
            HARNESS_FAIL("%s=%s: message \"%s\"", cases[i].var, cases[i].value,
                         msg);
    }
    /* No region at all, for AWS itself. */
    clean_env();
    struct store *s;
    char *prefix;
    CHECK_EQ_INT(open_s3("s3://bucket/", &s, &prefix), ETL_ECONFIG);
    CHECK(strstr(store_last_error(), "AWS_REGION") != NULL);
    /* AWS_IGNORE_CONFIGURED_ENDPOINT_URLS drops the endpoint, and with it
     * the default region. */
    setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:1", 1);
    setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true", 1);
    CHECK_EQ_INT(open_s3("s3://bucket/", &s, &prefix), ETL_ECONFIG);
}

/* The first request reports an unreachable endpoint as a network error,
 * quickly, after the configured number of attempts. */
TEST(unreachable_endpoint_is_a_network_error)
{
    clean_env();
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof(a);
    CHECK(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
    CHECK(getsockname(fd, (struct sockaddr *)&a, &alen) == 0);
    close(fd); /* nobody listens there now */
    char ep[64];
    snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", ntohs(a.sin_port));
    setenv("AWS_ENDPOINT_URL_S3", ep, 1);
    struct store *s;
    char *prefix;
    CHECK_EQ_INT(open_s3("s3://bucket/", &s, &prefix), 0);
    struct retry_policy p = {3, 0.01, 0.02};
    store_set_retry(s, &p);
    struct buf b = BUF_INIT;
    time_t t0 = time(NULL);
    CHECK_EQ_INT(store_get(s, "pdfs/x.pdf", 0, &b, NULL), ETL_ENET);
    CHECK(time(NULL) - t0 < 5);
    CHECK(strstr(store_last_error(), "GetObject s3://bucket/pdfs/x.pdf") !=
          NULL);
    struct store_listing l;
    CHECK_EQ_INT(store_list(s, "pdfs/", NULL, 10, &l), ETL_ENET);
    CHECK_EQ_INT(l.n, 0);
    CHECK_EQ_INT(store_put(s, "k", "x", 1, "text/plain", 0), ETL_ENET);
    /* Unsafe keys never reach the backend. */
    CHECK_EQ_INT(store_get(s, "../x", 0, &b, NULL), ETL_EUNSAFE);
    buf_release(&b);
    store_free(s);
    free(prefix);
}

int main(void)
{
    log_init(LOG_OFF, LOG_FORMAT_JSON, 2);
    RUN(opens_without_network);
    RUN(bad_settings_are_named);
    RUN(unreachable_endpoint_is_a_network_error);
    return harness_done();
}
