/* libFuzzer target: the S3 ListObjectsV2 and error-document parsers
 * (store/s3_xml.c) on arbitrary bytes, as a hostile or broken server could
 * send them. Checks the documented contract of an accepted page. */
#include <string.h>

#include "core/err.h"
#include "fuzz.h"
#include "store/s3_int.h"

static void check_field(const char *s, size_t size)
{
    FUZZ_CHECK(memchr(s, '\0', size) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *xml = (const char *)data;
    struct s3_list_page page;
    struct s3_error err;
    int rc = s3_list_parse(xml, size, &page, &err);
    FUZZ_CHECK(rc == 0 || rc == ETL_EHTTP || rc == ETL_ENOMEM);
    if (rc == 0) {
        FUZZ_CHECK(page.n <= page.cap || page.n == 0);
        for (size_t i = 0; i < page.n; i++) {
            const struct store_entry *e = &page.items[i];
            FUZZ_CHECK(e->key != NULL && e->etag != NULL);
            size_t n = strlen(e->key);
            FUZZ_CHECK(n >= 1 && n <= STORE_KEY_MAX);
            FUZZ_CHECK(e->size >= 0);
        }
        FUZZ_CHECK(!page.truncated ||
                   (page.next_token != NULL && page.next_token[0] != '\0'));
    }
    check_field(err.code, sizeof(err.code));
    check_field(err.message, sizeof(err.message));
    check_field(err.request_id, sizeof(err.request_id));
    s3_list_page_release(&page);

    rc = s3_error_parse(xml, size, &err);
    FUZZ_CHECK(rc == 0 || rc == ETL_EHTTP || rc == ETL_ENOMEM);
    if (rc == 0)
        FUZZ_CHECK(err.code[0] != '\0');
    check_field(err.code, sizeof(err.code));
    check_field(err.message, sizeof(err.message));
    check_field(err.request_id, sizeof(err.request_id));
    return 0;
}
