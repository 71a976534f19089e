/* Internals of the S3 backend shared by s3.c and s3_xml.c, and the entry
 * points the fuzz targets call: the ListObjectsV2 and error document
 * parsers work on a byte buffer and need no network. */
#ifndef ETL_STORE_S3_INT_H
#define ETL_STORE_S3_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "store/storage.h"

/* An S3 error document (<Error><Code/><Message/><RequestId/></Error>);
 * fields are "" when absent, truncated to fit. */
struct s3_error {
    char code[64];
    char message[512];
    char request_id[128];
};

/* One page of a ListObjectsV2 result. */
struct s3_list_page {
    struct store_entry *items; /* malloc'd keys and etags */
    size_t n, cap;
    bool truncated;   /* IsTruncated */
    char *next_token; /* NextContinuationToken, or NULL */
    bool url_encoded; /* EncodingType was "url"; keys are decoded */
};

/* Parse a ListBucketResult (the whole body, len bytes; need not be
 * NUL-terminated) into *out (empty on entry; release it with
 * s3_list_page_release in every case). Keys are URL-decoded when the
 * document says EncodingType=url ('+' is a space), and taken as they are
 * otherwise (s3rver ignores encoding-type). Returns 0, or ETL_EHTTP for
 * anything else: an <Error> document (err filled when err is not NULL),
 * malformed or truncated XML, a DOCTYPE, a Contents without Key or with a
 * bad Size, a key longer than STORE_KEY_MAX or containing NUL, IsTruncated
 * true without a NextContinuationToken; ETL_ENOMEM. */
int s3_list_parse(const char *xml, size_t len, struct s3_list_page *out,
                  struct s3_error *err);
void s3_list_page_release(struct s3_list_page *p);

/* Parse an error document; 0 if it is one with a Code, else ETL_EHTTP
 * (err is cleared first). */
int s3_error_parse(const char *xml, size_t len, struct s3_error *err);

#endif
