/* Internals of the store module: the parsed form of a storage URL and the
 * backend vtable behind storage.h.
 *
 * store.c parses URLs, checks every argument (keys with store_key_check,
 * flags, NULL pointers) and dispatches; a backend may therefore assume that
 * keys are safe, out-parameters are non-NULL, listings start empty and
 * flags hold only known bits. A backend embeds struct store as its first
 * member and is thread-safe in the sense of storage.h. */
#ifndef ETL_STORE_STORE_INT_H
#define ETL_STORE_STORE_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "store/storage.h"

enum store_url_kind { STORE_URL_LOCAL, STORE_URL_S3 };

/* A parsed storage URL; every string is malloc'd and owned by it. */
struct store_url {
    enum store_url_kind kind;
    char *path;   /* LOCAL: the directory (percent-decoded for file://) */
    char *bucket; /* S3: a valid bucket name */
    char *prefix; /* "" or ends with '/'; "" for LOCAL */
};

/* Parse url into *out (released with store_url_release, also after an
 * error). ETL_EINVAL for a malformed URL: unknown scheme, file:// host
 * other than "" or "localhost", bad percent-escape, invalid bucket name,
 * prefix that is not a safe key (after dropping one trailing '/'). */
int store_url_parse(const char *url, struct store_url *out);
void store_url_release(struct store_url *u);

struct store_ops {
    /* Fill out (empty on entry) with up to max_keys entries ending in
     * suffix (NULL: any), and out->cursor unless the page ends at its last
     * entry; see store_list. On error the caller releases out. */
    int (*list)(struct store *s, const char *prefix, const char *start_after,
                size_t max_keys, const char *suffix, struct store_listing *out);
    int (*get)(struct store *s, const char *key, size_t max_bytes,
               struct buf *out, struct store_info *info);
    int (*head)(struct store *s, const char *key, struct store_info *info);
    int (*put)(struct store *s, const char *key, const void *data, size_t len,
               const char *content_type, unsigned flags);
    int (*put_file)(struct store *s, const char *key, const char *path,
                    const char *content_type, unsigned flags);
    void (*free)(struct store *s);
    const char *(*name)(const struct store *s);
    /* Optional (NULL: ignored). */
    void (*set_retry)(struct store *s, const struct retry_policy *p);
};

struct store {
    const struct store_ops *ops;
};

/* Backends. Each returns 0 and a new store in *out, or an ETL_E* code. */
int store_local_open(const struct store_url *u, bool must_exist,
                     struct store **out);
/* S3 (s3.c): validates the configuration (region, endpoint, S3_*
 * settings) and does no network I/O; must_exist is checked by the first
 * request (ETL_ENOTFOUND for a missing bucket). ETL_ECONFIG for a bad
 * setting, logged with the variable, its value and what is accepted. */
int store_s3_open(const struct store_url *u, bool must_exist,
                  struct store **out);

/* store_allow_http's setting. */
bool store_http_allowed(void);

/* Set the calling thread's store_last_error() text (printf-style). */
void store_error_set(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* For tests: make a local store resolve keys with the portable
 * component-by-component O_NOFOLLOW walk even where openat2 exists. Call
 * before the store is shared between threads. No effect on other stores. */
void store_local_force_walk(struct store *s);

#endif
