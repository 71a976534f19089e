/* HTTP client on libcurl (http.h).
 *
 * libcurl is loaded with dlopen() on first use, not linked: with its
 * TLS, IDN, SSH, LDAP and Kerberos libraries it is about 27 shared objects
 * whose loading and relocation cost ~10 ms at every start, and a run on
 * local directories never uses it. The table `cu` holds the dozen entry
 * points used here; curl.h still supplies the types and constants.
 *
 * Each client is one easy handle, reset before every request
 * (curl_easy_reset keeps live connections and the connection cache), so
 * options never leak from one request into the next. DNS and TLS session
 * caches are shared through one CURLSH with a mutex per data kind. */
#include "store/http.h"

#include <ctype.h>
#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/codec.h"
#include "core/err.h"
#include "core/log.h"

#define ERROR_BODY_MAX (64 * 1024)
#define DEFAULT_CONNECT_MS 10000L

struct http_client {
    CURL *easy;
    bool last_retryable;
};

/* Per-transfer state for the callbacks. */
struct xfer {
    const struct http_request *req;
    struct http_response *resp;
    CURL *easy;
    uint64_t read_off;
    bool too_big;
    int write_rc; /* a failed buf_add (ENOMEM, or the buf's own cap) */
    bool read_failed;
    int read_errno;
};

/* ---- Global state: curl_global_init, the share, the thread key -------- */

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;
static CURLSH *global_share;
static pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
static pthread_key_t thread_key;
static bool thread_key_ok;

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access a,
                       void *u)
{
    (void)h, (void)a, (void)u;
    if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
        pthread_mutex_lock(&share_locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *u)
{
    (void)h, (void)u;
    if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
        pthread_mutex_unlock(&share_locks[data]);
}

static void thread_client_free(void *p)
{
    http_client_free(p);
}

/* The libcurl 7 ABI (SONAME libcurl.so.4) entry points used here. */
static struct {
    CURLcode (*global_init)(long flags);
    CURLSH *(*share_init)(void);
    CURLSHcode (*share_setopt)(CURLSH *sh, CURLSHoption opt, ...);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *e);
    void (*easy_reset)(CURL *e);
    CURLcode (*easy_setopt)(CURL *e, CURLoption opt, ...);
    CURLcode (*easy_perform)(CURL *e);
    CURLcode (*easy_getinfo)(CURL *e, CURLINFO info, ...);
    const char *(*easy_strerror)(CURLcode cc);
    struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
    void (*slist_free_all)(struct curl_slist *l);
} cu;

/* Load libcurl and fill `cu`; false (logged once) if it cannot be. The
 * handle is never closed: curl keeps global state until exit. */
static bool load_curl(void)
{
    void *h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    const char *missing = NULL;
    if (!h) {
        LOGF(LOG_ERROR, "libcurl_unavailable", LF_S("error", dlerror()),
             LF_S("hint", "install Debian's libcurl4 (apt-get install "
                          "libcurl4); it is needed for s3:// and Lambda"));
        return false;
    }
#define LOAD(field, sym)                                                       \
    do {                                                                       \
        *(void **)&cu.field = dlsym(h, sym);                                   \
        if (!cu.field && !missing)                                             \
            missing = sym;                                                     \
    } while (0)
    LOAD(global_init, "curl_global_init");
    LOAD(share_init, "curl_share_init");
    LOAD(share_setopt, "curl_share_setopt");
    LOAD(easy_init, "curl_easy_init");
    LOAD(easy_cleanup, "curl_easy_cleanup");
    LOAD(easy_reset, "curl_easy_reset");
    LOAD(easy_setopt, "curl_easy_setopt");
    LOAD(easy_perform, "curl_easy_perform");
    LOAD(easy_getinfo, "curl_easy_getinfo");
    LOAD(easy_strerror, "curl_easy_strerror");
    LOAD(slist_append, "curl_slist_append");
    LOAD(slist_free_all, "curl_slist_free_all");
#undef LOAD
    if (missing) {
        LOGF(LOG_ERROR, "libcurl_unavailable",
             LF_S("error", "libcurl.so.4 lacks a function"),
             LF_S("function", missing));
        return false;
    }
    return true;
}

static void global_init(void)
{
    if (!load_curl())
        return; /* global_rc stays CURLE_FAILED_INIT */
    global_rc = cu.global_init(CURL_GLOBAL_DEFAULT);
    if (global_rc != CURLE_OK)
        return;
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&share_locks[i], NULL);
    global_share = cu.share_init();
    if (global_share) {
        cu.share_setopt(global_share, CURLSHOPT_LOCKFUNC, share_lock);
        cu.share_setopt(global_share, CURLSHOPT_UNLOCKFUNC, share_unlock);
        cu.share_setopt(global_share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
        cu.share_setopt(global_share, CURLSHOPT_SHARE,
                        CURL_LOCK_DATA_SSL_SESSION);
        /* One connection pool for every thread: the main thread's list
         * and batch PUT reuse a worker's idle connection instead of
         * holding one of their own. */
        cu.share_setopt(global_share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    }
    thread_key_ok = pthread_key_create(&thread_key, thread_client_free) == 0;
}

/* ---- Clients ---------------------------------------------------------- */

int http_client_new(struct http_client **out)
{
    *out = NULL;
    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK)
        return cu.global_init ? ETL_ENOMEM : ETL_ENOTSUP;
    struct http_client *c = calloc(1, sizeof(*c));
    if (!c)
        return ETL_ENOMEM;
    c->easy = cu.easy_init();
    if (!c->easy) {
        free(c);
        return ETL_ENOMEM;
    }
    *out = c;
    return 0;
}

void http_client_free(struct http_client *c)
{
    if (!c)
        return;
    cu.easy_cleanup(c->easy);
    free(c);
}

int http_client_thread(struct http_client **out)
{
    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK || !thread_key_ok)
        return cu.global_init ? ETL_ENOMEM : ETL_ENOTSUP;
    struct http_client *c = pthread_getspecific(thread_key);
    if (!c) {
        int rc = http_client_new(&c);
        if (rc)
            return rc;
        if (pthread_setspecific(thread_key, c) != 0) {
            http_client_free(c);
            return ETL_ENOMEM;
        }
    }
    *out = c;
    return 0;
}

bool http_client_last_retryable(const struct http_client *c)
{
    return c && c->last_retryable;
}

/* ---- Responses -------------------------------------------------------- */

void http_response_init(struct http_response *resp, struct buf *body)
{
    memset(resp, 0, sizeof(*resp));
    resp->body = body;
    buf_init(&resp->headers, 256 * 1024);
    resp->content_length = -1;
}

void http_response_release(struct http_response *resp)
{
    if (!resp)
        return;
    buf_release(&resp->headers);
}

bool http_response_header(const struct http_response *resp, const char *name,
                          char *out, size_t size)
{
    size_t nlen = strlen(name);
    const char *p = resp->headers.data;
    while (*p) {
        const char *eol = strchr(p, '\n');
        if (!eol)
            break;
        if ((size_t)(eol - p) > nlen + 1 && strncmp(p, name, nlen) == 0 &&
            p[nlen] == ':' && p[nlen + 1] == ' ') {
            const char *v = p + nlen + 2;
            size_t vlen = (size_t)(eol - v);
            if (size) {
                size_t n = vlen < size - 1 ? vlen : size - 1;
                memcpy(out, v, n);
                out[n] = '\0';
            }
            return true;
        }
        p = eol + 1;
    }
    if (size)
        out[0] = '\0';
    return false;
}

static long status_of(CURL *easy)
{
    long code = 0;
    cu.easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
    return code;
}

static size_t on_header(char *data, size_t size, size_t nitems, void *arg)
{
    struct xfer *x = arg;
    struct http_response *resp = x->resp;
    size_t n = size * nitems;
    if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        /* A new status line: an interim 1xx response's headers are not
         * the final response's. */
        buf_reset(&resp->headers);
        resp->content_length = -1;
        return n;
    }
    size_t end = n;
    while (end > 0 && (data[end - 1] == '\n' || data[end - 1] == '\r'))
        end--;
    if (end == 0) {
        /* End of a header block: refuse an oversized 2xx body now,
         * before reading any of it. */
        long st = status_of(x->easy);
        if (st >= 200 && st < 300 && x->req->max_body &&
            resp->content_length >= 0 &&
            (uint64_t)resp->content_length > x->req->max_body) {
            x->too_big = true;
            return 0; /* abort the transfer */
        }
        return n;
    }
    const char *colon = memchr(data, ':', end);
    if (!colon)
        return n; /* obsolete line folding or junk: ignore */
    size_t nlen = (size_t)(colon - data);
    const char *v = colon + 1;
    while (v < data + end && (*v == ' ' || *v == '\t'))
        v++;
    size_t vlen = (size_t)(data + end - v);
    while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
        vlen--;
    if (buf_grow(&resp->headers, nlen + vlen + 3))
        return n; /* too many headers: keep the first ones */
    for (size_t i = 0; i < nlen; i++)
        buf_addch(&resp->headers, tolower((unsigned char)data[i]));
    buf_add(&resp->headers, ": ", 2);
    buf_add(&resp->headers, v, vlen);
    buf_addch(&resp->headers, '\n');
    if (nlen == 14 && strncasecmp(data, "content-length", 14) == 0) {
        char tmp[32];
        char *endp = NULL;
        size_t k = vlen < sizeof(tmp) - 1 ? vlen : sizeof(tmp) - 1;
        memcpy(tmp, v, k);
        tmp[k] = '\0';
        errno = 0;
        long long cl = strtoll(tmp, &endp, 10);
        if (errno == 0 && endp != tmp && *endp == '\0' && cl >= 0)
            resp->content_length = cl;
    }
    return n;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    struct xfer *x = arg;
    size_t n = size * nmemb;
    struct buf *b = x->resp->body;
    if (!b)
        return n;
    long st = status_of(x->easy);
    if (st >= 200 && st < 300) {
        if (x->req->max_body && b->len + n > x->req->max_body) {
            x->too_big = true;
            return 0;
        }
        x->write_rc = buf_add(b, data, n);
        if (x->write_rc == ETL_ETOOBIG)
            x->too_big = true;
        return x->write_rc ? 0 : n;
    }
    /* An error document: keep its start, drain the rest so the
     * connection stays reusable. */
    if (b->len < ERROR_BODY_MAX) {
        size_t k = ERROR_BODY_MAX - b->len;
        x->write_rc = buf_add(b, data, n < k ? n : k);
        if (x->write_rc == ETL_ETOOBIG)
            x->write_rc = 0; /* the caller's cap: keep what fits */
        else if (x->write_rc)
            return 0;
    }
    return n;
}

static size_t on_read(char *dst, size_t size, size_t nitems, void *arg)
{
    struct xfer *x = arg;
    const struct http_request *req = x->req;
    size_t want = size * nitems;
    uint64_t left = req->body_len - x->read_off;
    if (want > left)
        want = (size_t)left;
    if (want == 0)
        return 0;
    if (req->body_fd >= 0) {
        ssize_t got;
        do {
            got = pread(req->body_fd, dst, want, (off_t)x->read_off);
        } while (got < 0 && errno == EINTR);
        if (got <= 0) {
            /* A file that shrank under us must not become a short
             * upload that the server would wait for. */
            x->read_failed = true;
            x->read_errno = got < 0 ? errno : 0;
            return CURL_READFUNC_ABORT;
        }
        x->read_off += (uint64_t)got;
        return (size_t)got;
    }
    memcpy(dst, (const char *)req->body + x->read_off, want);
    x->read_off += want;
    return want;
}

static int on_seek(void *arg, curl_off_t offset, int origin)
{
    struct xfer *x = arg;
    if (origin != SEEK_SET || offset < 0 || (uint64_t)offset > x->req->body_len)
        return CURL_SEEKFUNC_CANTSEEK;
    x->read_off = (uint64_t)offset;
    return CURL_SEEKFUNC_OK;
}

/* Map a curl result; sets *retryable. */
static int map_curl(CURLcode cc, const struct xfer *x, bool *retryable)
{
    *retryable = false;
    if (x->too_big)
        return ETL_ETOOBIG;
    if (x->read_failed)
        return ETL_EIO;
    if (x->write_rc)
        return x->write_rc;
    switch (cc) {
    case CURLE_OK:
        return 0;
    case CURLE_OUT_OF_MEMORY:
        return ETL_ENOMEM;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_BAD_FUNCTION_ARGUMENT:
        return ETL_EINVAL;
    case CURLE_OPERATION_TIMEDOUT:
        *retryable = true;
        return ETL_ETIMEDOUT;
    case CURLE_SSL_CONNECT_ERROR:
        *retryable = true; /* a handshake cut short by the network */
        return ETL_ETLS;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_USE_SSL_FAILED:
        return ETL_ETLS;
    default:
        /* Refused, reset, DNS, truncated body, garbage reply ... */
        *retryable = true;
        return ETL_ENET;
    }
}

static int set_method(CURL *e, const struct http_request *req, struct xfer *x)
{
    const char *m = req->method ? req->method : "GET";
    bool body = req->has_body || !strcmp(m, "PUT") || !strcmp(m, "POST");
    if (body && req->body_len && !req->body && req->body_fd < 0)
        return ETL_EINVAL;
    if (!strcmp(m, "HEAD")) {
        cu.easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (!strcmp(m, "PUT")) {
        cu.easy_setopt(e, CURLOPT_UPLOAD, 1L);
        cu.easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->body_len);
    } else if (!strcmp(m, "POST")) {
        cu.easy_setopt(e, CURLOPT_POST, 1L);
        cu.easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                       (curl_off_t)req->body_len);
    } else if (!strcmp(m, "GET") && !body) {
        cu.easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else {
        if (body) {
            cu.easy_setopt(e, CURLOPT_UPLOAD, 1L);
            cu.easy_setopt(e, CURLOPT_INFILESIZE_LARGE,
                           (curl_off_t)req->body_len);
        }
        cu.easy_setopt(e, CURLOPT_CUSTOMREQUEST, m);
    }
    if (body) {
        cu.easy_setopt(e, CURLOPT_READFUNCTION, on_read);
        cu.easy_setopt(e, CURLOPT_READDATA, x);
        cu.easy_setopt(e, CURLOPT_SEEKFUNCTION, on_seek);
        cu.easy_setopt(e, CURLOPT_SEEKDATA, x);
    }
    return 0;
}

static bool has_header(const struct http_request *req, const char *name)
{
    for (size_t i = 0; i < req->n_headers; i++)
        if (strcasecmp(req->headers[i].name, name) == 0)
            return true;
    return false;
}

static int build_headers(const struct http_request *req,
                         struct curl_slist **out)
{
    struct curl_slist *list = NULL, *next;
    struct buf line = BUF_INIT;
    int rc = 0;
    /* curl's own defaults that we do not want: "Expect: 100-continue"
     * delays uploads by a round trip (or a second when a proxy ignores
     * it), and a POST would get a form Content-Type. */
    static const char *const drop[] = {"Expect", "Accept", "Content-Type",
                                       "Transfer-Encoding"};
    for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++) {
        if (has_header(req, drop[i]))
            continue;
        buf_reset(&line);
        rc = buf_printf(&line, "%s:", drop[i]);
        if (rc)
            goto out;
        next = cu.slist_append(list, line.data);
        if (!next) {
            rc = ETL_ENOMEM;
            goto out;
        }
        list = next;
    }
    for (size_t i = 0; i < req->n_headers; i++) {
        const struct http_header *h = &req->headers[i];
        if (strpbrk(h->name, ":\r\n") || strpbrk(h->value, "\r\n")) {
            rc = ETL_EINVAL; /* header injection */
            goto out;
        }
        buf_reset(&line);
        /* "Name;" is curl's way to send a header with an empty value. */
        rc = *h->value ? buf_printf(&line, "%s: %s", h->name, h->value)
                       : buf_printf(&line, "%s;", h->name);
        if (rc)
            goto out;
        next = cu.slist_append(list, line.data);
        if (!next) {
            rc = ETL_ENOMEM;
            goto out;
        }
        list = next;
    }
out:
    buf_release(&line);
    if (rc) {
        cu.slist_free_all(list);
        list = NULL;
    }
    *out = list;
    return rc;
}

int http_do(struct http_client *c, const struct http_request *req,
            struct http_response *resp)
{
    struct curl_slist *hdrs = NULL;
    struct xfer x;
    char errbuf[CURL_ERROR_SIZE];
    int rc;

    c->last_retryable = false;
    resp->status = 0;
    resp->content_length = -1;
    resp->error[0] = '\0';
    buf_reset(&resp->headers);
    if (resp->body)
        buf_reset(resp->body);
    if (!req->url || (strncmp(req->url, "http://", 7) != 0 &&
                      strncmp(req->url, "https://", 8) != 0)) {
        snprintf(resp->error, sizeof(resp->error), "not an http(s) URL");
        return ETL_EINVAL;
    }
    memset(&x, 0, sizeof(x));
    x.req = req;
    x.resp = resp;
    x.easy = c->easy;
    errbuf[0] = '\0';

    CURL *e = c->easy;
    cu.easy_reset(e);
    rc = build_headers(req, &hdrs);
    if (rc)
        goto out;
    rc = set_method(e, req, &x);
    if (rc)
        goto out;
    cu.easy_setopt(e, CURLOPT_URL, req->url);
    cu.easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    cu.easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    /* Send the path we signed: no squashing of "/./" or "/../". */
    cu.easy_setopt(e, CURLOPT_PATH_AS_IS, 1L);
    cu.easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    cu.easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    if (global_share)
        cu.easy_setopt(e, CURLOPT_SHARE, global_share);
    cu.easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                   req->connect_timeout_ms > 0 ? req->connect_timeout_ms
                                               : DEFAULT_CONNECT_MS);
    cu.easy_setopt(e, CURLOPT_TIMEOUT_MS,
                   req->timeout_ms > 0 ? req->timeout_ms : 0L);
    if (req->low_speed_time_s > 0) {
        cu.easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
        cu.easy_setopt(e, CURLOPT_LOW_SPEED_TIME, req->low_speed_time_s);
    }
    cu.easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    cu.easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    if (req->ca_file && *req->ca_file)
        cu.easy_setopt(e, CURLOPT_CAINFO, req->ca_file);
    cu.easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    /* Idle connections the shared pool keeps: more than the most threads
     * (CONCURRENCY <= 256, plus the main thread), so none is closed only
     * to be reopened by the next request. */
    cu.easy_setopt(e, CURLOPT_MAXCONNECTS, 300L);
    cu.easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
    cu.easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    cu.easy_setopt(e, CURLOPT_HEADERDATA, &x);
    cu.easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    cu.easy_setopt(e, CURLOPT_WRITEDATA, &x);
    cu.easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);

    CURLcode cc = cu.easy_perform(e);
    resp->status = status_of(e);
    bool retryable = false;
    rc = map_curl(cc, &x, &retryable);
    c->last_retryable = retryable;
    if (rc) {
        const char *msg = errbuf[0] ? errbuf : cu.easy_strerror(cc);
        if (x.too_big)
            msg = "response body larger than the limit";
        else if (x.read_failed)
            msg = x.read_errno ? strerror(x.read_errno)
                               : "request body file is shorter than its size";
        snprintf(resp->error, sizeof(resp->error), "%s", msg);
        if (resp->body && !x.too_big)
            buf_reset(resp->body);
    }
out:
    /* The easy handle keeps pointers to these until the next reset. */
    cu.easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
    cu.easy_setopt(e, CURLOPT_ERRORBUFFER, NULL);
    cu.slist_free_all(hdrs);
    return rc;
}

/* ---- Percent-encoding ------------------------------------------------- */

int http_uri_encode(struct buf *out, const char *s, size_t n, bool keep_slash)
{
    return codec_percent(out, s, n, keep_slash ? "/" : NULL);
}

int http_uri_decode(struct buf *out, const char *s, size_t n,
                    bool plus_is_space)
{
    return codec_percent_decode(out, s, n,
                                plus_is_space ? CODEC_PLUS_SPACE : 0);
}

/* ---- Endpoint URLs ------------------------------------------------------ */

int http_endpoint_parse(const char *url, char **origin, char **host,
                        char **base)
{
    *origin = *host = *base = NULL;
    size_t slen;
    if (strncasecmp(url, "https://", 8) == 0)
        slen = 8;
    else if (strncasecmp(url, "http://", 7) == 0)
        slen = 7;
    else
        return ETL_EINVAL;
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '?' || *p == '#' ||
            *p == '@' || *p == '\\')
            return ETL_EINVAL;
    const char *h = url + slen;
    size_t hlen = strcspn(h, "/");
    if (hlen == 0 || h[0] == ':')
        return ETL_EINVAL;
    const char *path = h + hlen;
    size_t plen = strlen(path);
    while (plen && path[plen - 1] == '/')
        plen--;
    size_t host_len = hlen;
    if ((slen == 7 && hlen > 3 && !strncmp(h + hlen - 3, ":80", 3)) ||
        (slen == 8 && hlen > 4 && !strncmp(h + hlen - 4, ":443", 4)))
        host_len = hlen - (slen == 7 ? 3 : 4);
    *origin = strndup(url, slen + hlen);
    *host = strndup(h, host_len);
    *base = strndup(path, plen);
    if (!*origin || !*host || !*base) {
        free(*origin), free(*host), free(*base);
        *origin = *host = *base = NULL;
        return ETL_ENOMEM;
    }
    for (size_t i = 0; i < slen; i++)
        (*origin)[i] = (char)tolower((unsigned char)(*origin)[i]);
    return 0;
}

bool http_origin_allowed(const char *origin, bool allow_http)
{
    if (strncmp(origin, "https://", 8) == 0 || allow_http)
        return true;
    if (strncmp(origin, "http://", 7) != 0)
        return false;
    const char *h = origin + 7;
    if (h[0] == '[') {
        return strncmp(h, "[::1]", 5) == 0 && (h[5] == '\0' || h[5] == ':');
    }
    size_t n = strcspn(h, ":");
    if (n == 9 && strncasecmp(h, "localhost", 9) == 0)
        return true;
    /* 127.0.0.0/8, as a dotted quad of digits only. */
    int parts = 0, digits = 0;
    for (size_t i = 0; i < n; i++) {
        if (h[i] >= '0' && h[i] <= '9') {
            if (++digits > 3)
                return false;
        } else if (h[i] == '.' && digits) {
            parts++;
            digits = 0;
        } else {
            return false;
        }
    }
    return parts == 3 && digits && strncmp(h, "127.", 4) == 0;
}
