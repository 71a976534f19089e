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
    /* Where the next page starts (pass it as start_after): the last key
     * this page consumed, returned or (store_list_suffix) skipped; NULL
     * when it consumed none. Set whenever truncated is. */
    char *cursor;
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
 * store_listing_release). A page may hold fewer than max_keys entries and
 * still be truncated: continue after out->cursor.
 *
 * Listings are checked, whatever the backend: keys start with prefix,
 * sort strictly after start_after and after each other, and a truncated
 * page makes progress; an S3 endpoint must also never repeat a
 * continuation token nor send many pages without a key. A violation is
 * ETL_EPROTO with store_last_error() naming the endpoint's fault, so that
 * no key is ever processed twice. */
int store_list(struct store *s, const char *prefix, const char *start_after,
               size_t max_keys, struct store_listing *out);
/* store_list keeping only keys that end in suffix (ASCII, any case): the
 * others are skipped where they are read, so a page of 100 PDFs among
 * 100,000 other files costs one pass over them, not 1,000 pages. */
int store_list_suffix(struct store *s, const char *prefix,
                      const char *start_after, size_t max_keys,
                      const char *suffix, struct store_listing *out);
void store_listing_release(struct store_listing *l);

/* Read a whole object into out (replacing its contents); key must pass
 * store_key_readable (ETL_EUNSAFE). ETL_ENOTFOUND if absent; ETL_ETOOBIG if
 * larger than max_bytes (0 = no cap), checked before reading where the size is
 * known. info may be NULL. */
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

/* ALLOW_HTTP: whether S3 stores opened from now on accept a plain
 * http:// endpoint on a host other than the loopback (default false).
 * Process-wide; call before opening stores and starting threads. */
void store_allow_http(bool allow);

/* Retry policy for a network store (S3): at most p->max_attempts
 * attempts per request, full-jitter backoff between p->initial_wait and
 * p->max_wait seconds. A local directory ignores it. Call before the
 * store is shared between threads; the default is RETRY_POLICY_DEFAULT. */
void store_set_retry(struct store *s, const struct retry_policy *p);

/* Detail of the calling thread's last failed store call, for messages
 * (e.g. "ListObjectsV2 s3://b/pdfs/: HTTP 403 SignatureDoesNotMatch: The
 * request signature we calculated does not match ..."), or "" if the
 * backend gave none. Never holds a secret, nor a control character (a
 * key's become '?'). Valid until the thread's next store call. */
const char *store_last_error(void);

/* 0 if key is a safe object key: 1..STORE_KEY_MAX bytes, no NUL, not
 * absolute, no empty, "." or ".." segment, no backslash, no control
 * characters. ETL_EUNSAFE otherwise. Keys written (store_put*) must be. */
int store_key_check(const char *key);
/* 0 if key can be read (store_get, store_head): as store_key_check, but
 * control characters and backslashes are allowed, since a listing may
 * return them (they are bytes of a file name, or of an S3 key). */
int store_key_readable(const char *key);

#endif
