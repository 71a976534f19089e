/* The ListObjectsV2 and error document parsers (s3_xml.c) on what S3 and
 * s3rver send, and on hostile or broken documents. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/err.h"
#include "harness.h"
#include "store/s3_int.h"

/* Parse from an exact-size heap copy, so reading past the end shows up
 * under ASan. */
static int parse(const char *xml, struct s3_list_page *p, struct s3_error *e)
{
    size_t n = strlen(xml);
    char *copy = malloc(n ? n : 1);
    memcpy(copy, xml, n);
    int rc = s3_list_parse(copy, n, p, e);
    free(copy);
    return rc;
}

/* The shape of the example in the S3 API reference (ListObjectsV2). */
TEST(aws_listing)
{
    const char *xml =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<ListBucketResult "
        "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\n"
        "  <Name>bucket</Name>\n  <Prefix/>\n  <KeyCount>2</KeyCount>\n"
        "  <MaxKeys>2</MaxKeys>\n  <IsTruncated>true</IsTruncated>\n"
        "  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOw"
        "M=</NextContinuationToken>\n"
        "  <Contents>\n    <Key>happyface.jpg</Key>\n"
        "    <LastModified>2014-11-21T19:40:05.000Z</LastModified>\n"
        "    <ETag>\"70ee1738b6b21e2c8a43f3a5ab0eee71\"</ETag>\n"
        "    <Size>11</Size>\n    <StorageClass>STANDARD</StorageClass>\n"
        "  </Contents>\n"
        "  <Contents>\n    <Key>happyface.jpg.v2</Key>\n"
        "    <ETag>&quot;becf17f89c30367a9a44495d62ed521a-1&quot;</ETag>\n"
        "    <Size>1111</Size>\n"
        "    <Owner><ID>x</ID><DisplayName>Key</DisplayName></Owner>\n"
        "  </Contents>\n</ListBucketResult>\n";
    struct s3_list_page p;
    CHECK_EQ_INT(parse(xml, &p, NULL), 0);
    CHECK_EQ_INT(p.n, 2);
    if (p.n == 2) {
        CHECK_EQ_STR(p.items[0].key, "happyface.jpg");
        CHECK_EQ_INT(p.items[0].size, 11);
        CHECK_EQ_STR(p.items[0].etag, "\"70ee1738b6b21e2c8a43f3a5ab0eee71\"");
        /* An Owner/DisplayName "Key" is not the object's key. */
        CHECK_EQ_STR(p.items[1].key, "happyface.jpg.v2");
        CHECK_EQ_INT(p.items[1].size, 1111);
        CHECK_EQ_STR(p.items[1].etag, "\"becf17f89c30367a9a44495d62ed521a-1\"");
    }
    CHECK(p.truncated);
    CHECK_EQ_STR(p.next_token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
    CHECK(!p.url_encoded);
    s3_list_page_release(&p);
}

/* What s3rver 3.7.1 sends: it ignores encoding-type=url and escapes keys
 * with he.escape. */
TEST(s3rver_listing)
{
    const char *xml =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<ListBucketResult xmlns=\"http://doc.s3.amazonaws.com/2006-03-01/\">"
        "<Name>src</Name><Prefix></Prefix><KeyCount>1</KeyCount>"
        "<MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated><Contents>"
        "<Key>a&amp;b&#x27;c&quot;d&lt;e&#x60;f g+h%41</Key>"
        "<LastModified>2026-11-28T23:11:18.000Z</LastModified>"
        "<ETag>&quot;5d41402abc4b2a76b9719d911017c592&quot;</ETag>"
        "<Size>5</Size><StorageClass>STANDARD</StorageClass></Contents>"
        "</ListBucketResult>";
    struct s3_list_page p;
    CHECK_EQ_INT(parse(xml, &p, NULL), 0);
    CHECK_EQ_INT(p.n, 1);
    if (p.n == 1) {
        /* Not URL-decoded: the server did not say it encoded. */
        CHECK_EQ_STR(p.items[0].key, "a&b'c\"d<e`f g+h%41");
        CHECK_EQ_STR(p.items[0].etag, "\"5d41402abc4b2a76b9719d911017c592\"");
    }
    CHECK(!p.truncated);
    CHECK(p.next_token == NULL);
    s3_list_page_release(&p);
}

/* encoding-type=url as S3 does it: keys form-encoded, '+' for a space. */
TEST(url_encoded_keys_are_decoded)
{
    const char *xml =
        "<ListBucketResult><EncodingType>url</EncodingType>"
        "<IsTruncated>false</IsTruncated>"
        "<Contents><Key>pdfs/a+b%2Bc%3Dd%26e%25f/%C3%A9+%C3%BC/x.pdf</Key>"
        "<Size>0</Size></Contents>"
        "<Contents><Key>pdfs/%E2%82%AC%zz</Key><Size>9223372036854775807"
        "</Size></Contents></ListBucketResult>";
    struct s3_list_page p;
    CHECK_EQ_INT(parse(xml, &p, NULL), 0);
    CHECK(p.url_encoded);
    CHECK_EQ_INT(p.n, 2);
    if (p.n == 2) {
        CHECK_EQ_STR(p.items[0].key,
                     "pdfs/a b+c=d&e%f/\xc3\xa9 \xc3\xbc/x.pdf");
        CHECK_EQ_INT(p.items[0].size, 0);
        CHECK_EQ_STR(p.items[0].etag, ""); /* none given */
        CHECK_EQ_STR(p.items[1].key, "pdfs/\xe2\x82\xac%zz");
        CHECK(p.items[1].size == INT64_MAX);
    }
    s3_list_page_release(&p);
}

TEST(prefixed_namespace)
{
    const char *xml =
        "<s3:ListBucketResult xmlns:s3=\"http://s3.amazonaws.com/doc/"
        "2006-03-01/\"><s3:IsTruncated>true</s3:IsTruncated>"
        "<s3:NextContinuationToken>t</s3:NextContinuationToken>"
        "<s3:Contents><s3:Key>k</s3:Key><s3:Size>1</s3:Size></s3:Contents>"
        "</s3:ListBucketResult>";
    struct s3_list_page p;
    CHECK_EQ_INT(parse(xml, &p, NULL), 0);
    CHECK_EQ_INT(p.n, 1);
    CHECK(p.truncated);
    CHECK_EQ_STR(p.next_token, "t");
    s3_list_page_release(&p);
}

TEST(error_documents)
{
    const char *xml =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown"
        "</Code><Message>Please reduce your request rate.</Message>"
        "<RequestId>4442587FB7D0A2F9</RequestId><HostId>h</HostId></Error>";
    struct s3_list_page p;
    struct s3_error e;
    /* A 200 whose body is an error is not a listing. */
    CHECK_EQ_INT(parse(xml, &p, &e), ETL_EHTTP);
    CHECK_EQ_STR(e.code, "SlowDown");
    CHECK_EQ_STR(e.message, "Please reduce your request rate.");
    CHECK_EQ_STR(e.request_id, "4442587FB7D0A2F9");
    CHECK_EQ_INT(p.n, 0);
    s3_list_page_release(&p);

    memset(&e, 'x', sizeof(e));
    CHECK_EQ_INT(s3_error_parse(xml, strlen(xml), &e), 0);
    CHECK_EQ_STR(e.code, "SlowDown");
    /* Cut short: the code is still found. */
    CHECK_EQ_INT(s3_error_parse(xml, strlen(xml) - 40, &e), 0);
    CHECK_EQ_STR(e.code, "SlowDown");
    /* Not an error document. */
    CHECK_EQ_INT(s3_error_parse("<ListBucketResult/>", 19, &e), ETL_EHTTP);
    CHECK_EQ_STR(e.code, "");
    CHECK_EQ_INT(s3_error_parse("", 0, &e), ETL_EHTTP);
    CHECK_EQ_INT(s3_error_parse("not xml", 7, &e), ETL_EHTTP);
    /* Long fields are truncated, not overflowed. */
    struct buf big = BUF_INIT;
    buf_addstr(&big, "<Error><Code>AccessDenied</Code><Message>");
    for (int i = 0; i < 2000; i++)
        buf_addstr(&big, "m");
    buf_addstr(&big, "</Message></Error>");
    CHECK_EQ_INT(s3_error_parse(big.data, big.len, &e), 0);
    CHECK_EQ_INT(strlen(e.message), sizeof(e.message) - 1);
    buf_release(&big);
}

TEST(broken_listings_are_refused)
{
    static const char *const bad[] = {
        "",
        "<ListBucketResult><Contents><Key>a</Key><Size>1</Size>",
        "<ListBucketResult><Contents><Size>1</Size></Contents>"
        "</ListBucketResult>",
        "<ListBucketResult><Contents><Key>a</Key></Contents>"
        "</ListBucketResult>",
        "<ListBucketResult><Contents><Key>a</Key><Size>-1</Size></Contents>"
        "</ListBucketResult>",
        "<ListBucketResult><Contents><Key>a</Key><Size>1x</Size></Contents>"
        "</ListBucketResult>",
        "<ListBucketResult><Contents><Key></Key><Size>1</Size></Contents>"
        "</ListBucketResult>",
        "<ListBucketResult><IsTruncated>true</IsTruncated>"
        "</ListBucketResult>",
        "<ListBucketResult><EncodingType>url</EncodingType><Contents><Key>"
        "a%00b</Key><Size>1</Size></Contents></ListBucketResult>",
        "<Other/>",
        "<ListBucketResult><a></b></ListBucketResult>",
        /* An entity bomb: no DOCTYPE is accepted at all. */
        "<?xml version=\"1.0\"?><!DOCTYPE l [<!ENTITY a \"aaaaaaaaaa\">"
        "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">]>"
        "<ListBucketResult><Contents><Key>&b;</Key><Size>1</Size>"
        "</Contents></ListBucketResult>",
        "<!DOCTYPE x SYSTEM \"file:///etc/passwd\"><ListBucketResult/>",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct s3_list_page p;
        int rc = parse(bad[i], &p, NULL);
        if (rc != ETL_EHTTP)
            HARNESS_FAIL("case %zu: rc %d, want ETL_EHTTP", i, rc);
        s3_list_page_release(&p);
    }
    /* A key longer than S3 allows, and element text past the cap. */
    struct buf x = BUF_INIT;
    buf_addstr(&x, "<ListBucketResult><Contents><Key>");
    for (int i = 0; i < 1025; i++)
        buf_addch(&x, 'k');
    buf_addstr(&x, "</Key><Size>1</Size></Contents></ListBucketResult>");
    struct s3_list_page p;
    CHECK_EQ_INT(parse(x.data, &p, NULL), ETL_EHTTP);
    s3_list_page_release(&p);
    buf_reset(&x);
    buf_addstr(&x, "<ListBucketResult><NextContinuationToken>");
    for (int i = 0; i < 100000; i++)
        buf_addch(&x, 't');
    buf_addstr(&x, "</NextContinuationToken></ListBucketResult>");
    CHECK_EQ_INT(parse(x.data, &p, NULL), ETL_EHTTP);
    s3_list_page_release(&p);
    buf_release(&x);
}

TEST(a_full_page)
{
    struct buf x = BUF_INIT;
    buf_addstr(&x, "<ListBucketResult><IsTruncated>false</IsTruncated>");
    for (int i = 0; i < 1000; i++)
        buf_printf(&x,
                   "<Contents><Key>pdfs/deep/er/%06d.pdf</Key><Size>%d"
                   "</Size><ETag>\"%d\"</ETag></Contents>",
                   i, i * 7, i);
    buf_addstr(&x, "</ListBucketResult>");
    struct s3_list_page p;
    clock_t t0 = clock();
    CHECK_EQ_INT(parse(x.data, &p, NULL), 0);
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    CHECK(secs < 1.0);
    CHECK_EQ_INT(p.n, 1000);
    bool ok = p.n == 1000;
    for (size_t i = 0; ok && i < p.n; i++) {
        char want[64];
        snprintf(want, sizeof(want), "pdfs/deep/er/%06zu.pdf", i);
        ok = !strcmp(p.items[i].key, want) && p.items[i].size == (int64_t)i * 7;
    }
    CHECK(ok);
    s3_list_page_release(&p);
    buf_release(&x);
}

int main(void)
{
    RUN(aws_listing);
    RUN(s3rver_listing);
    RUN(url_encoded_keys_are_decoded);
    RUN(prefixed_namespace);
    RUN(error_documents);
    RUN(broken_listings_are_refused);
    RUN(a_full_page);
    return harness_done();
}
