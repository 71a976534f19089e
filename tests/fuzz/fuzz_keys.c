/* libFuzzer target: what object keys become. Input: a listing prefix, a
 * newline, then a source key (both as S3 could list them). Checks that
 * etl_file_id always gives an id that is valid UTF-8 and itself a safe
 * key (no ".." or absolute path can come out of a hostile key), so the
 * crops' keys "{IMAGE_PREFIX}{file_id}/{region}.jpg" stay under the
 * prefix, and that decodes back to the key (so no two keys share one);
 * that store_key_check refuses every escape; and that the key encoding
 * used on the wire round-trips. */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/utf8.h"
#include "etl/etl.h"
#include "fuzz.h"
#include "store/http.h"
#include "store/storage.h"

/* What store_key_check promises, checked independently. */
static bool key_safe(const char *k)
{
    size_t n = strlen(k);
    if (n == 0 || n > STORE_KEY_MAX || k[0] == '/')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)k[i];
        if (c < 0x20 || c == 0x7f || c == '\\')
            return false;
    }
    for (const char *seg = k;;) {
        const char *end = strchr(seg, '/');
        size_t len = end ? (size_t)(end - seg) : strlen(seg);
        if (len == 0 || (len == 1 && seg[0] == '.') ||
            (len == 2 && seg[0] == '.' && seg[1] == '.'))
            return false;
        if (!end)
            break;
        seg = end + 1;
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct buf in = BUF_INIT, id = BUF_INIT, enc = BUF_INIT, dec = BUF_INIT;
    struct buf crop = BUF_INIT;
    if (buf_add(&in, data, size))
        return 0;
    char *nl = memchr(in.data, '\n', in.len);
    const char *prefix = nl ? in.data : "";
    char *key = nl ? nl + 1 : in.data;
    if (nl)
        *nl = '\0';
    size_t klen = strlen(key);

    bool safe = store_key_check(key) == 0;
    FUZZ_CHECK(safe == key_safe(key));

    FUZZ_CHECK(etl_file_id(key, prefix, &id) == 0);
    FUZZ_CHECK(id.len <= 3 * klen + 3); /* each byte at most "%XX" */
    FUZZ_CHECK(strlen(id.data) == id.len);
    FUZZ_CHECK(utf8_valid(id.data, id.len)); /* a Parquet STRING */
    /* The pipeline asks only for a PDF key's id ("" or "a/" are not). */
    size_t plen = strlen(prefix);
    const char *rel =
        plen && strncmp(key, prefix, plen) == 0 ? key + plen : key;
    size_t rlen = strlen(rel);
    bool pdf = rlen >= 4 && strcasecmp(rel + rlen - 4, ".pdf") == 0;
    if (pdf && id.len <= STORE_KEY_MAX)
        FUZZ_CHECK(store_key_check(id.data) == 0);
    /* One-to-one: a PDF key's id decodes back to the key (relative to
     * the prefix). */
    FUZZ_CHECK(etl_file_id_decode(id.data, &dec) == 0);
    if (pdf)
        FUZZ_CHECK(dec.len == rlen && memcmp(dec.data, rel, rlen) == 0);
    buf_reset(&dec);
    buf_reset(&enc);
    FUZZ_CHECK(etl_key_text(key, &enc) == 0);
    FUZZ_CHECK(utf8_valid(enc.data, enc.len));
    buf_reset(&enc);
    /* Only a PDF's key gets crops. */
    buf_printf(&crop, "images/%s/region_0.jpg", id.data);
    FUZZ_CHECK(!pdf || crop.len > STORE_KEY_MAX ||
               store_key_check(crop.data) == 0);

    /* The wire form of a key decodes back to it. */
    for (int keep = 0; keep < 2; keep++) {
        buf_reset(&enc);
        buf_reset(&dec);
        FUZZ_CHECK(http_uri_encode(&enc, key, klen, keep) == 0);
        FUZZ_CHECK(strspn(enc.data, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
                                    "opqrstuvwxyz0123456789-._~%/") == enc.len);
        FUZZ_CHECK(keep || !strchr(enc.data, '/'));
        FUZZ_CHECK(http_uri_decode(&dec, enc.data, enc.len, false) == 0);
        FUZZ_CHECK(dec.len == klen && memcmp(dec.data, key, klen) == 0);
    }
    (void)etl_is_pdf_key(key);

    buf_release(&in);
    buf_release(&id);
    buf_release(&enc);
    buf_release(&dec);
    buf_release(&crop);
    return 0;
}
