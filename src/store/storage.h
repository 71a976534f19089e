/* Object storage behind one interface: a local directory treated like a
 * bucket, or Amazon S3 (s3.c). Keys are '/'-separated byte
 * strings as in S3; listings are in byte order.
 *
 * A store is thread-safe: any number of threads may call it at once. */
#ifndef ETL_STORE_STORAGE_H
#define ETL_STORE_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/retry.h"

struct store;

#define STORE_KEY_MAX 1024 /* bytes, as S3 */

struct store_entry {
    char *key;
    int64_t size;
    char *etag; /* may be "" for stores without one */
};

struct store_listing {
    struct store_entry *items;
    size_t n;
    bool truncated; /* more keys follow the last one */
};

/* ETags are opaque strings meant only for comparing versions of one key in
 * one store. S3: the server's ETag. Local directory: "<size>-<mtime_ns>" in
 * lower-case hex (cheap, no content read; rewriting the same key with the
 * same size within one timestamp tick keeps the same ETag). */
struct store_info {
    int64_t size;
    char etag[80];
};

enum store_put_flags {
    STORE_PUT_IF_ABSENT = 1, /* fail with ETL_EEXIST if the key exists */
    /* Return only once the object survives an OS crash (local directory:
     * fsync of the file and of its directory). Without it, running readers
     * still never see a partial object, but after an OS crash a recent put
     * may be missing or, on some file systems, empty. S3: no effect. */
    STORE_PUT_DURABLE = 2
};

/* Open the store a URL names and return the key prefix it carries:
 *   "s3://bucket/pdfs/" -> S3 bucket "bucket", prefix "pdfs/"
 *   "/data/in", "data/in", "file:///data/in" -> local root, prefix ""
 * *prefix_out (malloc'd, caller frees) is "" or ends with '/'.
 * ETL_EINVAL for a malformed URL, ETL_ENOTFOUND for a missing directory
 * when must_exist is set (a destination is created as needed). */
int store_open(const char *url, bool must_exist, struct store **out,
               char **prefix_out);
void store_free(struct store *s);

/* A printable description (URL) of the store, for logs. */
const char *store_name(const struct store *s);

/* Up to max_keys entries whose key starts with prefix and sorts strictly
 * after start_after (NULL or "" for none), in byte order, like S3
 * ListObjectsV2 with StartAfter. Fills *out (release with
 * store_listing_release). */
int store_list(struct store *s, const char *prefix, const char *start_after,
               size_t max_keys, struct store_listing *out);
void store_listing_release(struct store_listing *l);

/* Read a whole object into out (replacing its contents). ETL_ENOTFOUND if
 * absent; ETL_ETOOBIG if larger than max_bytes (0 = no cap), checked before
 * reading where the size is known. info may be NULL. */
int store_get(struct store *s, const char *key, size_t max_bytes,
              struct buf *out, struct store_info *info);

/* Size and ETag of an object without reading it; ETL_ENOTFOUND if absent. */
int store_head(struct store *s, const char *key, struct store_info *info);

/* Write an object atomically: readers see the old object or the whole new
 * one, never a part. Creates directories as needed. */
int store_put(struct store *s, const char *key, const void *data, size_t len,
              const char *content_type, unsigned flags);
/* The same with the body read from a local file; always durable (as with
 * STORE_PUT_DURABLE), since it carries the batch's Parquet results. */
int store_put_file(struct store *s, const char *key, const char *path,
                   const char *content_type, unsigned flags);

/* Retry policy for a network store (S3): at most p->max_attempts
 * attempts per request, full-jitter backoff between p->initial_wait and
 * p->max_wait seconds. A local directory ignores it. Call before the
 * store is shared between threads; the default is RETRY_POLICY_DEFAULT. */
void store_set_retry(struct store *s, const struct retry_policy *p);

/* Detail of the calling thread's last failed store call, for messages
 * (e.g. "ListObjectsV2 s3://b/pdfs/: HTTP 403 SignatureDoesNotMatch: The
 * request signature we calculated does not match ..."), or "" if the
 * backend gave none. Never holds a secret. Valid until the thread's next
 * store call. */
const char *store_last_error(void);

/* 0 if key is a safe object key: 1..STORE_KEY_MAX bytes, no NUL, not
 * absolute, no empty, "." or ".." segment, no backslash, no control
 * characters. ETL_EUNSAFE otherwise. */
int store_key_check(const char *key);

#endif
