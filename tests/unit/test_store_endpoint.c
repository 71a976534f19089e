/* Endpoint URLs (AWS_ENDPOINT_URL*) as S3 and Lambda requests use them:
 * origin, signed Host header and base path. */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "harness.h"
#include "store/http.h"

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

int main(void)
{
    RUN(splits_origin_host_and_base);
    RUN(refuses_what_would_be_ambiguous_or_unsafe);
    return harness_done();
}
