/* Storage URLs, key safety and dispatch to the backends (store_int.h). */
#include "store/store_int.h"

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/codec.h"
#include "core/err.h"
#include "core/log.h"

/* The S3 backend's opener. A plain pointer rather than a weak symbol:
 * with static archives a weak default would silently win over s3.o. A
 * build without S3 sets it to NULL; opening an S3 URL then fails with
 * ETL_ENOTSUP. */
static int (*const s3_open)(const struct store_url *, bool,
                            struct store **) = store_s3_open;

/* store_last_error(): one message per thread, cleared by each call. */
static _Thread_local char last_error[512];

const char *store_last_error(void)
{
    return last_error;
}

void store_error_set(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof(last_error), fmt, ap);
    va_end(ap);
    /* Printed on terminals as it is: no key's ESC or CR may reach one. */
    for (char *p = last_error; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
}

static void error_clear(void)
{
    last_error[0] = '\0';
}

static bool allow_http;

void store_allow_http(bool allow)
{
    allow_http = allow;
}

bool store_http_allowed(void)
{
    return allow_http;
}

void store_set_retry(struct store *s, const struct retry_policy *p)
{
    if (s && p && s->ops->set_retry)
        s->ops->set_retry(s, p);
}

int store_key_check(const char *key)
{
    if (!key)
        return ETL_EUNSAFE;
    size_t n = strnlen(key, STORE_KEY_MAX + 1);
    if (n == 0 || n > STORE_KEY_MAX)
        return ETL_EUNSAFE;
    const char *seg = key;
    for (size_t i = 0; i <= n; i++) {
        unsigned char c = (unsigned char)key[i];
        if (c == '/' || c == '\0') {
            size_t len = (size_t)(key + i - seg);
            /* An empty first segment is an absolute key. */
            if (len == 0 || (len == 1 && seg[0] == '.') ||
                (len == 2 && seg[0] == '.' && seg[1] == '.'))
                return ETL_EUNSAFE;
            seg = key + i + 1;
        } else if (c < 0x20 || c == 0x7f || c == '\\') {
            return ETL_EUNSAFE;
        }
    }
    return 0;
}

int store_key_readable(const char *key)
{
    if (!key)
        return ETL_EUNSAFE;
    size_t n = strnlen(key, STORE_KEY_MAX + 1);
    if (n == 0 || n > STORE_KEY_MAX)
        return ETL_EUNSAFE;
    /* Control characters and '\\' are plain bytes of a name to a file
     * system and to S3; only what changes the path's meaning is refused. */
    for (const char *seg = key;;) {
        const char *end = strchr(seg, '/');
        size_t len = end ? (size_t)(end - seg) : strlen(seg);
        if (len == 0 || (len == 1 && seg[0] == '.') ||
            (len == 2 && seg[0] == '.' && seg[1] == '.'))
            return ETL_EUNSAFE;
        if (!end)
            return 0;
        seg = end + 1;
    }
}

static int url_invalid(const char *why)
{
    /* The URL itself is not logged: it is the caller's to show, and a
     * mistyped one might carry credentials. */
    LOGF(LOG_WARN, "store_url_invalid", LF_S("reason", why));
    return ETL_EINVAL;
}

/* AWS's rules for bucket names: 3-63 of [a-z0-9.-], starting and ending
 * with a letter or digit, no "..", not an IPv4 address. */
static bool bucket_valid(const char *b, size_t n)
{
    if (n < 3 || n > 63)
        return false;
    size_t dots = 0;
    bool all_digits_dots = true;
    for (size_t i = 0; i < n; i++) {
        char c = b[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && c != '.' && c != '-')
            return false;
        if ((i == 0 || i == n - 1) && !alnum)
            return false;
        if (c == '.') {
            dots++;
            if (b[i + 1] == '.')
                return false;
        }
        if (c != '.' && !(c >= '0' && c <= '9'))
            all_digits_dots = false;
    }
    return !(all_digits_dots && dots == 3);
}

static int parse_s3(const char *rest, struct store_url *u)
{
    const char *slash = strchr(rest, '/');
    size_t blen = slash ? (size_t)(slash - rest) : strlen(rest);
    if (!bucket_valid(rest, blen))
        return url_invalid("invalid S3 bucket name");
    u->kind = STORE_URL_S3;
    u->bucket = strndup(rest, blen);
    if (!u->bucket)
        return ETL_ENOMEM;
    const char *p = slash ? slash + 1 : "";
    size_t plen = strlen(p);
    if (plen == 0) {
        u->prefix = strdup("");
        return u->prefix ? 0 : ETL_ENOMEM;
    }
    /* "s3://b/pdfs" and "s3://b/pdfs/" both mean the folder pdfs/. */
    if (p[plen - 1] == '/')
        plen--;
    if (plen + 1 > STORE_KEY_MAX)
        return url_invalid("S3 prefix too long");
    char *prefix = malloc(plen + 2);
    if (!prefix)
        return ETL_ENOMEM;
    memcpy(prefix, p, plen);
    prefix[plen] = '\0';
    if (store_key_check(prefix) != 0) {
        free(prefix);
        return url_invalid("S3 prefix is not a safe key");
    }
    prefix[plen] = '/';
    prefix[plen + 1] = '\0';
    u->prefix = prefix;
    return 0;
}

/* file:///abs/path, file://localhost/abs/path or file:/abs/path (RFC 8089),
 * percent-decoded. '?' and '#' would start a query or fragment, which a
 * directory has no use for: reject rather than silently drop them. */
static int parse_file(const char *rest, struct store_url *u)
{
    const char *path;
    if (rest[0] == '/' && rest[1] == '/') {
        const char *host = rest + 2;
        path = strchr(host, '/');
        if (!path)
            return url_invalid("file URL without a path");
        size_t hlen = (size_t)(path - host);
        if (hlen != 0 && !(hlen == 9 && strncasecmp(host, "localhost", 9) == 0))
            return url_invalid("file URL names a remote host");
    } else if (rest[0] == '/') {
        path = rest;
    } else {
        return url_invalid("file URL path is not absolute");
    }
    if (strpbrk(path, "?#"))
        return url_invalid("file URL has a query or fragment");
    size_t n = strlen(path);
    if (n >= PATH_MAX)
        return url_invalid("file URL path too long");
    char *out = malloc(n + 1);
    if (!out)
        return ETL_ENOMEM;
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (path[i] != '%') {
            out[j++] = path[i];
            continue;
        }
        int hi = codec_hex_value((unsigned char)path[i + 1]);
        int lo = hi < 0 ? -1 : codec_hex_value((unsigned char)path[i + 2]);
        if (lo < 0 || (hi == 0 && lo == 0)) {
            free(out);
            return url_invalid("file URL has a bad percent-escape");
        }
        out[j++] = (char)(hi * 16 + lo);
        i += 2;
    }
    out[j] = '\0';
    u->kind = STORE_URL_LOCAL;
    u->path = out;
    u->prefix = strdup("");
    return u->prefix ? 0 : ETL_ENOMEM;
}

/* "scheme://" per RFC 3986: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ). */
static bool has_other_scheme(const char *url)
{
    const char *p = url;
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
        return false;
    while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
           (*p >= '0' && *p <= '9') || *p == '+' || *p == '-' || *p == '.')
        p++;
    return strncmp(p, "://", 3) == 0;
}

int store_url_parse(const char *url, struct store_url *out)
{
    memset(out, 0, sizeof(*out));
    if (!url || !*url)
        return url_invalid("empty URL");
    if (strncasecmp(url, "s3://", 5) == 0)
        return parse_s3(url + 5, out);
    if (strncasecmp(url, "file:", 5) == 0)
        return parse_file(url + 5, out);
    if (has_other_scheme(url))
        return url_invalid("unsupported URL scheme");
    if (strlen(url) >= PATH_MAX)
        return url_invalid("path too long");
    out->kind = STORE_URL_LOCAL;
    out->path = strdup(url);
    out->prefix = strdup("");
    return out->path && out->prefix ? 0 : ETL_ENOMEM;
}

void store_url_release(struct store_url *u)
{
    if (!u)
        return;
    free(u->path);
    free(u->bucket);
    free(u->prefix);
    memset(u, 0, sizeof(*u));
}

int store_open(const char *url, bool must_exist, struct store **out,
               char **prefix_out)
{
    error_clear();
    struct store_url u;
    struct store *s = NULL;
    int rc;

    if (prefix_out)
        *prefix_out = NULL;
    if (!out)
        return ETL_EINVAL;
    *out = NULL;
    rc = store_url_parse(url, &u);
    if (rc)
        goto out;
    if (u.kind == STORE_URL_LOCAL) {
        rc = store_local_open(&u, must_exist, &s);
    } else if (s3_open) {
        rc = s3_open(&u, must_exist, &s);
    } else {
        LOGF(LOG_ERROR, "store_s3_unavailable", LF_S("bucket", u.bucket),
             LF_S("reason", "this build has no S3 backend"));
        rc = ETL_ENOTSUP;
    }
    if (rc)
        goto out;
    if (prefix_out) {
        *prefix_out = u.prefix;
        u.prefix = NULL;
    }
    *out = s;
out:
    store_url_release(&u);
    return rc;
}

void store_free(struct store *s)
{
    if (s)
        s->ops->free(s);
}

const char *store_name(const struct store *s)
{
    return s ? s->ops->name(s) : "(none)";
}

/* A listing that breaks store_list's promises: the backend's (or the
 * endpoint's) fault, never retried. */
static int listing_broken(const struct store *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int listing_broken(const struct store *s, const char *fmt, ...)
{
    char why[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    store_error_set("listing %s: %s", store_name(s), why);
    LOGF(LOG_ERROR, "store_listing_invalid", LF_S("store", store_name(s)),
         LF_S("reason", why));
    return ETL_EPROTO;
}

static int check_listing(const struct store *s, const char *prefix,
                         const char *start_after, size_t max_keys,
                         struct store_listing *l)
{
    size_t plen = strlen(prefix);
    const char *prev = start_after;
    if (l->n > max_keys)
        return listing_broken(s, "%zu keys for a page of at most %zu", l->n,
                              max_keys);
    for (size_t i = 0; i < l->n; i++) {
        const char *k = l->items[i].key;
        if (strncmp(k, prefix, plen) != 0)
            return listing_broken(s, "key \"%.200s\" is outside the prefix", k);
        if (strcmp(k, prev) <= 0)
            return listing_broken(s,
                                  "key \"%.150s\" does not sort after "
                                  "\"%.150s\": keys must be strictly "
                                  "increasing in byte order",
                                  k, prev);
        prev = k;
    }
    if (!l->cursor && l->n) {
        l->cursor = strdup(l->items[l->n - 1].key);
        if (!l->cursor)
            return ETL_ENOMEM;
    }
    if (l->cursor && strcmp(l->cursor, prev) < 0)
        return listing_broken(s, "a page ends before its last key");
    if (l->truncated && max_keys &&
        (!l->cursor || strcmp(l->cursor, start_after) <= 0))
        return listing_broken(s, "a page says more keys follow but moves "
                                 "no further");
    return 0;
}

int store_list_suffix(struct store *s, const char *prefix,
                      const char *start_after, size_t max_keys,
                      const char *suffix, struct store_listing *out)
{
    error_clear();
    if (!out)
        return ETL_EINVAL;
    memset(out, 0, sizeof(*out));
    if (!s)
        return ETL_EINVAL;
    prefix = prefix ? prefix : "";
    start_after = start_after ? start_after : "";
    int rc = s->ops->list(s, prefix, start_after, max_keys,
                          suffix && *suffix ? suffix : NULL, out);
    if (!rc)
        rc = check_listing(s, prefix, start_after, max_keys, out);
    if (rc)
        store_listing_release(out);
    return rc;
}

int store_list(struct store *s, const char *prefix, const char *start_after,
               size_t max_keys, struct store_listing *out)
{
    return store_list_suffix(s, prefix, start_after, max_keys, NULL, out);
}

void store_listing_release(struct store_listing *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++) {
        free(l->items[i].key);
        free(l->items[i].etag);
    }
    free(l->items);
    free(l->cursor);
    memset(l, 0, sizeof(*l));
}

static int key_refused(const char *op, const char *key, int rc)
{
    if (rc)
        LOGF(LOG_WARN, "store_key_unsafe", LF_S("op", op),
             LF_S("key", key ? key : "(null)"));
    return rc;
}

int store_get(struct store *s, const char *key, size_t max_bytes,
              struct buf *out, struct store_info *info)
{
    error_clear();
    struct store_info scratch;
    if (!s || !out)
        return ETL_EINVAL;
    buf_reset(out);
    int rc = key_refused("get", key, store_key_readable(key));
    if (rc)
        return rc;
    return s->ops->get(s, key, max_bytes, out, info ? info : &scratch);
}

int store_head(struct store *s, const char *key, struct store_info *info)
{
    error_clear();
    struct store_info scratch;
    if (!s)
        return ETL_EINVAL;
    int rc = key_refused("head", key, store_key_readable(key));
    if (rc)
        return rc;
    return s->ops->head(s, key, info ? info : &scratch);
}

static const unsigned put_flags_known = STORE_PUT_IF_ABSENT | STORE_PUT_DURABLE;

int store_put(struct store *s, const char *key, const void *data, size_t len,
              const char *content_type, unsigned flags)
{
    error_clear();
    if (!s || (!data && len) || (flags & ~put_flags_known))
        return ETL_EINVAL;
    int rc = key_refused("put", key, store_key_check(key));
    if (rc)
        return rc;
    return s->ops->put(s, key, data ? data : "", len,
                       content_type ? content_type : "", flags);
}

int store_put_file(struct store *s, const char *key, const char *path,
                   const char *content_type, unsigned flags)
{
    error_clear();
    if (!s || !path || (flags & ~put_flags_known))
        return ETL_EINVAL;
    int rc = key_refused("put_file", key, store_key_check(key));
    if (rc)
        return rc;
    return s->ops->put_file(s, key, path, content_type ? content_type : "",
                            flags | STORE_PUT_DURABLE);
}
