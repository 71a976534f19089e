/* Endpoint URLs (AWS_ENDPOINT_URL*) as S3 and Lambda requests use them:
 * origin, signed Host header and base path. */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "harness.h"
#include "store/http.h"
#include "store/storage.h"

static void check(const char *url, const char *origin, const char *host,
                  const char *base)
{
    char *o = NULL, *h = NULL, *b = NULL;
    CHECK_EQ_INT(http_endpoint_parse(url, &o, &h, &b), 0);
    CHECK_EQ_STR(o, origin);
    CHECK_EQ_STR(h, host);
    CHECK_EQ_STR(b, base);
    free(o), free(h), free(b);
}

static void refused(const char *url)
{
    char *o = (char *)"x", *h = (char *)"x", *b = (char *)"x";
    CHECK_EQ_INT(http_endpoint_parse(url, &o, &h, &b), ETL_EINVAL);
    CHECK(!o && !h && !b);
}

TEST(splits_origin_host_and_base)
{
    check("http://127.0.0.1:9000", "http://127.0.0.1:9000", "127.0.0.1:9000",
          "");
    /* The scheme is case-insensitive and lower-cased; default ports are
     * not part of the Host header clients send and sign. */
    check("HTTPS://s3.example.com:443/", "https://s3.example.com:443",
          "s3.example.com", "");
    check("http://minio:80/prefix/s3//", "http://minio:80", "minio",
          "/prefix/s3");
    check("https://host:8443/a", "https://host:8443", "host:8443", "/a");
}

TEST(refuses_what_would_be_ambiguous_or_unsafe)
{
    refused("ftp://host");
    refused("host:9000");
    refused("http://");
    refused("http:///path");
    refused("http://:9000");
    refused("http://user:secret@host");
    refused("http://host/?x=1");
    refused("http://host/#f");
    refused("http://ho st");
    refused("http://host\\evil");
    refused("http://host\n");
}

/* Plain http only to the loopback unless ALLOW_HTTP=1: it carries the
 * PDFs and the signed requests in clear. */
TEST(plain_http_only_to_loopback)
{
    static const char *const local[] = {
        "http://127.0.0.1:9000", "http://127.1.2.3",  "http://localhost:4566",
        "http://LOCALHOST",      "http://[::1]:9000", "https://s3.example.com",
        "https://10.0.0.1:9000"};
    static const char *const remote[] = {
        "http://10.0.0.1:9000",      "http://minio:9000",
        "http://127.0.0.1.evil.com", "http://localhost.evil.com",
        "http://[::2]:9000",         "http://1270.0.0.1",
        "http://127.0.0.1a",         "http://[::1]x"};
    for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++) {
        char *o = NULL, *h = NULL, *b = NULL;
        CHECK_EQ_INT(http_endpoint_parse(local[i], &o, &h, &b), 0);
        if (!http_origin_allowed(o, false))
            HARNESS_FAIL("%s refused", local[i]);
        free(o), free(h), free(b);
    }
    for (size_t i = 0; i < sizeof(remote) / sizeof(remote[0]); i++) {
        char *o = NULL, *h = NULL, *b = NULL;
        if (http_endpoint_parse(remote[i], &o, &h, &b) != 0)
            continue; /* refused anyway */
        if (http_origin_allowed(o, false))
            HARNESS_FAIL("%s allowed without ALLOW_HTTP", remote[i]);
        CHECK(http_origin_allowed(o, true));
        free(o), free(h), free(b);
    }
}

/* Opening an S3 store checks it (and does no network I/O). */
TEST(s3_store_refuses_a_remote_http_endpoint)
{
    struct store *st = NULL;
    char *prefix = NULL;
    setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "secret", 1);
    setenv("AWS_REGION", "us-east-1", 1);
    setenv("AWS_ENDPOINT_URL_S3", "http://192.0.2.10:9000", 1);
    store_allow_http(false);
    CHECK_EQ_INT(store_open("s3://bucket/pdfs/", true, &st, &prefix),
                 ETL_ECONFIG);
    CHECK(strstr(store_last_error(), "AWS_ENDPOINT_URL_S3") != NULL);
    CHECK(strstr(store_last_error(), "ALLOW_HTTP") != NULL);
    store_allow_http(true);
    CHECK_EQ_INT(store_open("s3://bucket/pdfs/", true, &st, &prefix), 0);
    store_free(st);
    free(prefix);
    store_allow_http(false);
    setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9000", 1);
    CHECK_EQ_INT(store_open("s3://bucket/pdfs/", true, &st, &prefix), 0);
    store_free(st);
    free(prefix);
}

int main(void)
{
    RUN(splits_origin_host_and_base);
    RUN(refuses_what_would_be_ambiguous_or_unsafe);
    RUN(plain_http_only_to_loopback);
    RUN(s3_store_refuses_a_remote_http_endpoint);
    return harness_done();
}
