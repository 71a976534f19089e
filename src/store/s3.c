/* The S3 backend: ListObjectsV2, GetObject, HeadObject and PutObject over
 * the HTTP client (http.h), signed with SigV4 (sigv4.h), with credentials
 * from the provider chain (creds.h).
 *
 * Addressing: virtual-hosted style on AWS (https://BUCKET.s3.REGION.
 * amazonaws.com/KEY; path style on s3.REGION.amazonaws.com for bucket
 * names with dots, whose certificates would not match), path style for a
 * configured endpoint (AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL), the only
 * case where plain http is allowed. Each key byte outside A-Za-z0-9-._~ is
 * percent-encoded, '/' kept, nothing normalised: the path sent is the path
 * signed.
 *
 * Connections: each thread uses its own keep-alive HTTP client
 * (http_client_thread), so N workers hold about N connections.
 *
 * Retries (core/retry.h): connection failures, timeouts, truncated
 * bodies, 5xx, 429, 400 RequestTimeout, and a 200 whose body is an S3
 * error document are retried with full-jitter backoff; other 4xx fail at
 * once. 503 SlowDown and 429 also lower the store's limit on requests in
 * flight (AIMD), which recovers as requests succeed. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/codec.h"
#include "core/err.h"
#include "core/log.h"
#include "core/retry.h"
#include "store/creds.h"
#include "store/http.h"
#include "store/s3_int.h"
#include "store/sigv4.h"
#include "store/store_int.h"

#define LIST_PAGE_MAX 1000
#define LIST_BODY_MAX (16u << 20) /* a page of 1000 keys is ~0.5 MB */
#define CONNECT_MS 10000L         /* TCP + TLS connect */
#define STALL_S 15L               /* no byte for this long: abort */
#define BASE_TIMEOUT_MS 60000L    /* overall cap of a small request */
#define MIN_RATE (256L * 1024)    /* bytes/s assumed for the cap */
#define LIMITER_MAX 1024          /* requests in flight, before throttling */

struct s3_store {
    struct store base; /* first: a struct store * is a struct s3_store * */
    char *bucket;
    char *name; /* "s3://bucket/" */
    char *region;
    char *origin;      /* "https://host[:port]", no trailing slash */
    char *host;        /* Host header, as signed */
    char *path_prefix; /* "" (virtual-hosted) or "[/base]/bucket" */
    char *sse;         /* x-amz-server-side-encryption, or NULL */
    char *sse_kms_key_id;
    char *expected_owner;
    char *ca_file;
    struct retry_policy retry;
    struct retry_limiter limiter;
    struct creds_provider *creds;
};

static const struct store_ops s3_ops;

static struct s3_store *s3_of(struct store *s)
{
    return (struct s3_store *)s;
}

/* ---- Configuration ---------------------------------------------------- */

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static int config_error(const char *var, const char *value,
                        const char *accepted)
{
    LOGF(LOG_ERROR, "s3_config_invalid", LF_S("variable", var),
         LF_S("value", value), LF_S("accepted", accepted));
    store_error_set("%s=%s: %s", var, value, accepted);
    return ETL_ECONFIG;
}

static bool region_valid(const char *r)
{
    size_t n = strlen(r);
    if (n == 0 || n > 40)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((r[i] >= 'a' && r[i] <= 'z') || (r[i] >= '0' && r[i] <= '9') ||
              r[i] == '-'))
            return false;
    return true;
}

/* The endpoint URL of ep_var, split (http_endpoint_parse). */
static int parse_endpoint(const char *var, const char *url, char **origin,
                          char **host, char **base)
{
    int rc = http_endpoint_parse(url, origin, host, base);
    if (rc == ETL_EINVAL)
        return config_error(var, url,
                            "an http:// or https:// URL with a host and no "
                            "user, query or fragment, e.g. "
                            "http://127.0.0.1:9000");
    if (!rc && !http_origin_allowed(*origin, store_http_allowed())) {
        free(*origin), free(*host), free(*base);
        *origin = *host = *base = NULL;
        return config_error(var, url, HTTP_ORIGIN_RULE);
    }
    return rc;
}

static int configure(struct s3_store *s)
{
    int rc;
    char *base = NULL;

    /* Region: AWS_REGION, AWS_DEFAULT_REGION, the profile's region. */
    const char *region_var = "AWS_REGION";
    const char *r = env("AWS_REGION");
    if (!r) {
        region_var = "AWS_DEFAULT_REGION";
        r = env("AWS_DEFAULT_REGION");
    }
    if (r) {
        s->region = strdup(r);
        if (!s->region)
            return ETL_ENOMEM;
    } else {
        region_var = "region (AWS config file)";
        rc = creds_config_region(&s->region);
        if (rc)
            return rc;
    }

    /* Endpoint. */
    const char *ignore = env("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
    bool use_env = !(ignore && !strcasecmp(ignore, "true"));
    const char *ep_var = "AWS_ENDPOINT_URL_S3";
    const char *ep = use_env ? env(ep_var) : NULL;
    if (!ep && use_env) {
        ep_var = "AWS_ENDPOINT_URL";
        ep = env(ep_var);
    }
    if (!s->region && !ep) {
        LOGF(LOG_ERROR, "s3_config_invalid", LF_S("variable", "AWS_REGION"),
             LF_S("reason", "no AWS region: set AWS_REGION (e.g. "
                            "us-east-1) or a region in the AWS config "
                            "file"));
        store_error_set("no AWS region: set AWS_REGION");
        return ETL_ECONFIG;
    }
    if (!s->region) {
        /* A custom endpoint (MinIO, s3rver) rarely cares; sign for the
         * default region. */
        s->region = strdup("us-east-1");
        if (!s->region)
            return ETL_ENOMEM;
    }
    if (!region_valid(s->region))
        return config_error(region_var, s->region,
                            "an AWS region name such as us-east-1");

    struct buf prefix = BUF_INIT;
    if (ep) {
        rc = parse_endpoint(ep_var, ep, &s->origin, &s->host, &base);
        if (!rc)
            rc = buf_printf(&prefix, "%s/%s", base, s->bucket);
    } else {
        const char *dom = strncmp(s->region, "cn-", 3) == 0 ? "amazonaws.com.cn"
                                                            : "amazonaws.com";
        struct buf host = BUF_INIT;
        if (strchr(s->bucket, '.')) {
            rc = buf_printf(&host, "s3.%s.%s", s->region, dom);
            if (!rc)
                rc = buf_printf(&prefix, "/%s", s->bucket);
        } else {
            rc = buf_printf(&host, "%s.s3.%s.%s", s->bucket, s->region, dom);
        }
        if (!rc) {
            s->host = buf_detach(&host, NULL);
            struct buf origin = BUF_INIT;
            rc = buf_printf(&origin, "https://%s", s->host ? s->host : "");
            s->origin = rc ? NULL : buf_detach(&origin, NULL);
            buf_release(&origin);
            if (!rc && (!s->host || !s->origin))
                rc = ETL_ENOMEM;
        }
        buf_release(&host);
    }
    free(base);
    if (!rc) {
        s->path_prefix = buf_detach(&prefix, NULL);
        if (!s->path_prefix)
            rc = ETL_ENOMEM;
    }
    buf_release(&prefix);
    if (rc)
        return rc;

    /* Server-side encryption. */
    const char *sse = env("S3_SSE");
    const char *kms = env("S3_SSE_KMS_KEY_ID");
    if (sse && strcmp(sse, "AES256") != 0 && strcmp(sse, "aws:kms") != 0 &&
        strcmp(sse, "aws:kms:dsse") != 0)
        return config_error("S3_SSE", sse, "AES256, aws:kms or aws:kms:dsse");
    if (kms && !(sse && !strncmp(sse, "aws:kms", 7)))
        return config_error("S3_SSE_KMS_KEY_ID", kms,
                            "only together with S3_SSE=aws:kms");
    if (kms)
        for (const char *p = kms; *p; p++)
            if ((unsigned char)*p <= 0x20 || *p == 0x7f)
                return config_error("S3_SSE_KMS_KEY_ID", kms,
                                    "a KMS key ID, alias or ARN");
    const char *owner = env("S3_EXPECTED_BUCKET_OWNER");
    if (owner) {
        size_t n = strlen(owner);
        bool ok = n == 12;
        for (size_t i = 0; ok && i < n; i++)
            ok = owner[i] >= '0' && owner[i] <= '9';
        if (!ok)
            return config_error("S3_EXPECTED_BUCKET_OWNER", owner,
                                "a 12-digit AWS account ID");
    }
    const char *ca = env("AWS_CA_BUNDLE");
    struct stat ca_st;
    /* curl opens it to read: a FIFO would hang every request. */
    if (ca && (stat(ca, &ca_st) != 0 || !S_ISREG(ca_st.st_mode)))
        return config_error("AWS_CA_BUNDLE", ca,
                            "the path of a regular file of PEM certificates");
    s->sse = sse ? strdup(sse) : NULL;
    s->sse_kms_key_id = kms ? strdup(kms) : NULL;
    s->expected_owner = owner ? strdup(owner) : NULL;
    s->ca_file = ca ? strdup(ca) : NULL;
    if ((sse && !s->sse) || (kms && !s->sse_kms_key_id) ||
        (owner && !s->expected_owner) || (ca && !s->ca_file))
        return ETL_ENOMEM;
    LOGF(LOG_DEBUG, "s3_store_open", LF_S("bucket", s->bucket),
         LF_S("region", s->region), LF_S("endpoint", s->origin),
         LF_B("path_style", s->path_prefix[0] != '\0'),
         LF_S("sse", sse ? sse : ""));
    return 0;
}

/* ---- One request, with retries ---------------------------------------- */

struct s3_req {
    const char *op; /* "ListObjectsV2", "GetObject", ... for logs */
    const char *method;
    const char *key; /* object key, or NULL for the bucket */
    const char *query;
    /* Body. */
    bool has_body;
    const void *body;
    int body_fd;
    uint64_t body_len;
    const char *payload_hash;
    /* Extra signed headers (Content-Type, Content-MD5, ...). */
    struct http_header extra[8];
    size_t n_extra;
    size_t max_body;  /* 2xx body cap (GET) */
    long timeout_ms;  /* overall cap */
    bool xml_result;  /* a 2xx body is XML that may be an <Error> */
    bool object_data; /* GET: a 200 without ETag holding <Error> */
    bool if_absent;   /* 412 means "exists" */
    /* Checks a 2xx body (e.g. parses a listing); ETL_EHTTP makes the
     * response a retryable server error. NULL: any body is fine. */
    int (*validate)(const struct buf *body, void *arg);
    void *validate_arg;
};

struct s3_result {
    long status;
    struct s3_error err;
    int attempts;
    bool transport_failed_before; /* some attempt failed in transit */
};

static bool code_is(const struct s3_error *e, const char *code)
{
    return strcmp(e->code, code) == 0;
}

/* A short status text for a response that had no error document. */
static void status_code(long status, struct s3_error *e)
{
    if (e->code[0])
        return;
    const char *c = status == 404   ? "NotFound"
                    : status == 403 ? "Forbidden"
                    : status == 412 ? "PreconditionFailed"
                    : status == 503 ? "ServiceUnavailable"
                    : status == 500 ? "InternalError"
                                    : "";
    snprintf(e->code, sizeof(e->code), "%s", c);
}

static int build_url(const struct s3_store *s, const char *key,
                     const char *query, struct buf *path, struct buf *url)
{
    int rc = buf_addstr(path, s->path_prefix);
    if (!rc && key) {
        rc = buf_addch(path, '/');
        if (!rc)
            rc = http_uri_encode(path, key, strlen(key), true);
    }
    if (!rc && path->len == 0)
        rc = buf_addch(path, '/');
    if (!rc)
        rc = buf_printf(url, "%s%s%s%s", s->origin, path->data,
                        query && *query ? "?" : "", query ? query : "");
    return rc;
}

/* One attempt: sign and send. Returns the transport result; the response
 * is in *resp. */
static int attempt_once(struct s3_store *s, const struct s3_req *r,
                        struct http_client *hc, struct http_response *resp,
                        bool *sent)
{
    *sent = false;
    struct aws_creds cr;
    struct buf path = BUF_INIT, url = BUF_INIT, authz = BUF_INIT;
    struct http_header h[16];
    size_t n = 0;
    char amz_date[17];
    int rc = creds_provider_get(s->creds, &cr);
    if (rc)
        goto out;
    rc = build_url(s, r->key, r->query, &path, &url);
    if (rc)
        goto out;
    sigv4_amz_date(time(NULL), amz_date);
    h[n++] = (struct http_header){"Host", s->host};
    h[n++] = (struct http_header){"x-amz-date", amz_date};
    h[n++] = (struct http_header){"x-amz-content-sha256", r->payload_hash};
    if (cr.session_token)
        h[n++] = (struct http_header){"x-amz-security-token", cr.session_token};
    if (s->expected_owner)
        h[n++] = (struct http_header){"x-amz-expected-bucket-owner",
                                      s->expected_owner};
    for (size_t i = 0; i < r->n_extra && n < 15; i++)
        h[n++] = r->extra[i];
    struct sigv4_request sr = {r->method,       path.data, r->query,  h,    n,
                               r->payload_hash, amz_date,  s->region, "s3", 0};
    struct sigv4_creds sc = {cr.access_key_id, cr.secret_access_key,
                             cr.session_token};
    rc = sigv4_authorization(&sr, &sc, &authz, NULL);
    if (rc)
        goto out;
    h[n++] = (struct http_header){"Authorization", authz.data};

    struct http_request req;
    memset(&req, 0, sizeof(req));
    req.method = r->method;
    req.url = url.data;
    req.headers = h;
    req.n_headers = n;
    req.has_body = r->has_body;
    req.body = r->body;
    req.body_fd = r->body_fd;
    req.body_len = r->body_len;
    req.connect_timeout_ms = CONNECT_MS;
    req.timeout_ms = r->timeout_ms;
    req.low_speed_time_s = STALL_S;
    req.max_body = r->max_body;
    req.ca_file = s->ca_file;
    *sent = true;
    rc = http_do(hc, &req, resp);
out:
    aws_creds_release(&cr);
    if (authz.len)
        OPENSSL_cleanse(authz.data, authz.len);
    buf_release(&path);
    buf_release(&url);
    buf_release(&authz);
    return rc;
}

static bool throttle_code(const struct s3_error *e)
{
    return code_is(e, "SlowDown") || code_is(e, "Throttling") ||
           code_is(e, "ThrottlingException") ||
           code_is(e, "RequestLimitExceeded") ||
           code_is(e, "TooManyRequestsException");
}

/* Classify a non-2xx response: sets *retry and *outcome, returns the
 * error code. */
static int classify_status(long st, const struct s3_req *r, bool had_code,
                           struct s3_error *e, bool *retry,
                           enum retry_outcome *outcome)
{
    *retry = false;
    *outcome = RETRY_OK;
    if (st == 429 || throttle_code(e) || (st == 503 && !had_code)) {
        *retry = true;
        *outcome = RETRY_THROTTLED;
        return ETL_ETHROTTLED;
    }
    if (st >= 500) {
        *retry = true;
        *outcome = RETRY_FAILED;
        return ETL_EHTTP;
    }
    if (st == 404)
        return ETL_ENOTFOUND;
    if (st == 412 && r->if_absent)
        return ETL_EEXIST;
    if (code_is(e, "RequestTimeout")) {
        /* S3 gave up waiting for our body: a network problem. */
        *retry = true;
        *outcome = RETRY_FAILED;
        return ETL_ETIMEDOUT;
    }
    if (st == 401 || st == 403 || code_is(e, "InvalidAccessKeyId") ||
        code_is(e, "SignatureDoesNotMatch") ||
        code_is(e, "AuthorizationHeaderMalformed") ||
        code_is(e, "ExpiredToken") || code_is(e, "TokenRefreshRequired") ||
        code_is(e, "InvalidToken"))
        return ETL_EAUTH;
    return ETL_EHTTP;
}

/* Run a request with retries. Returns 0 for a 2xx response (body in
 * *resp), or the mapped error, logged and described in store_last_error.
 */
static int s3_call(struct s3_store *s, const struct s3_req *r,
                   struct http_response *resp, struct s3_result *res)
{
    struct http_client *hc = NULL;
    memset(res, 0, sizeof(*res));
    int rc = http_client_thread(&hc);
    if (rc)
        return rc;
    bool creds_retried = false;
    for (;;) {
        double t0 = clock_mono_ms();
        res->attempts++;
        memset(&res->err, 0, sizeof(res->err));
        bool sent = false, retry = false;
        enum retry_outcome outcome = RETRY_OK;
        uint64_t ticket = retry_limiter_acquire(&s->limiter);
        rc = attempt_once(s, r, hc, resp, &sent);
        res->status = sent && !rc ? resp->status : 0;
        if (rc) {
            /* Before sending (credentials, signing) nothing is retried;
             * in transit, what the HTTP client says may pass. */
            retry = sent && rc != ETL_ETOOBIG && http_client_last_retryable(hc);
            if (retry) {
                outcome = RETRY_FAILED;
                res->transport_failed_before = true;
            }
            snprintf(res->err.code, sizeof(res->err.code), "%s",
                     etl_errname(rc));
            snprintf(res->err.message, sizeof(res->err.message), "%s",
                     sent && resp->error[0] ? resp->error : etl_strerror(rc));
        } else if (resp->status >= 200 && resp->status < 300) {
            const struct buf *b = resp->body;
            char etag[8];
            bool maybe_error =
                b && b->len &&
                (r->xml_result ||
                 (r->object_data &&
                  !http_response_header(resp, "etag", etag, sizeof(etag))));
            if (maybe_error &&
                s3_error_parse(b->data, b->len, &res->err) == 0) {
                /* S3 can fail after sending 200 (and proxies do): it is
                 * a server error whatever the status says. */
                rc = throttle_code(&res->err) ? ETL_ETHROTTLED : ETL_EHTTP;
                retry = true;
                outcome = rc == ETL_ETHROTTLED ? RETRY_THROTTLED : RETRY_FAILED;
            } else if (r->validate && b) {
                rc = r->validate(b, r->validate_arg);
                if (rc == ETL_EHTTP) {
                    snprintf(res->err.code, sizeof(res->err.code),
                             "MalformedResponse");
                    snprintf(res->err.message, sizeof(res->err.message),
                             "%zu bytes that are not a valid response", b->len);
                    retry = true;
                    outcome = RETRY_FAILED;
                }
            }
        } else {
            if (resp->body && resp->body->len)
                s3_error_parse(resp->body->data, resp->body->len, &res->err);
            bool had_code = res->err.code[0] != '\0';
            status_code(resp->status, &res->err);
            rc = classify_status(resp->status, r, had_code, &res->err, &retry,
                                 &outcome);
            if (rc == ETL_EAUTH && !creds_retried &&
                (code_is(&res->err, "ExpiredToken") ||
                 code_is(&res->err, "TokenRefreshRequired"))) {
                /* Credentials expired early: fetch new ones, once. */
                creds_provider_invalidate(s->creds);
                creds_retried = true;
                retry = true;
            }
        }
        retry_limiter_release(&s->limiter, ticket, outcome);
        LOGF(LOG_DEBUG, "s3_request", LF_S("op", r->op),
             LF_S("key", r->key ? r->key : ""), LF_I("attempt", res->attempts),
             LF_I("http_status", res->status),
             LF_D("ms", clock_mono_ms() - t0));
        if (!rc)
            return 0;
        if (!retry || !retry_more(&s->retry, res->attempts))
            break;
        double wait = retry_delay(&s->retry, res->attempts, NULL);
        LOGF(LOG_WARN, "s3_retry", LF_S("op", r->op), LF_S("bucket", s->bucket),
             LF_S("key", r->key ? r->key : ""), LF_I("attempt", res->attempts),
             LF_I("http_status", res->status), LF_S("code", res->err.code),
             LF_S("error", etl_errname(rc)), LF_D("wait_s", wait),
             LF_I("in_flight_limit", retry_limiter_limit(&s->limiter)));
        retry_sleep(wait);
    }
    /* 404, 412 and "too large" are answers the caller expects, not
     * failures to shout about. */
    bool quiet = rc == ETL_ENOTFOUND || rc == ETL_EEXIST || rc == ETL_ETOOBIG;
    /* A bucket in another region answers 301 or 400 with its region. */
    char region[48] = "";
    if (res->status)
        http_response_header(resp, "x-amz-bucket-region", region,
                             sizeof(region));
    bool wrong_region = region[0] && strcmp(region, s->region) != 0;
    LOGF(quiet ? LOG_DEBUG : LOG_ERROR, "s3_request_failed", LF_S("op", r->op),
         LF_S("bucket", s->bucket), LF_S("key", r->key ? r->key : ""),
         LF_I("http_status", res->status), LF_S("code", res->err.code),
         LF_S("message", res->err.message),
         LF_S("request_id", res->err.request_id),
         LF_S("bucket_region", wrong_region ? region : ""),
         LF_I("attempts", res->attempts), LF_S("error", etl_errname(rc)));
    if (res->status)
        store_error_set("%s s3://%s/%s: HTTP %ld %s%s%s%s%s%s", r->op,
                        s->bucket, r->key ? r->key : "", res->status,
                        res->err.code, res->err.message[0] ? ": " : "",
                        res->err.message,
                        wrong_region ? " (the bucket is in " : "",
                        wrong_region ? region : "",
                        wrong_region ? ": set AWS_REGION)" : "");
    else
        store_error_set("%s s3://%s/%s: %s", r->op, s->bucket,
                        r->key ? r->key : "", res->err.message);
    return rc;
}

static long timeout_for(uint64_t bytes)
{
    uint64_t extra_ms = bytes / (MIN_RATE / 1000);
    uint64_t ms = (uint64_t)BASE_TIMEOUT_MS + extra_ms;
    return ms > 24ull * 3600 * 1000 ? 24L * 3600 * 1000 : (long)ms;
}

/* ---- Operations ------------------------------------------------------- */

static int add_param(struct buf *q, const char *name, const char *value)
{
    int rc = 0;
    if (q->len)
        rc = buf_addch(q, '&');
    if (!rc)
        rc = buf_printf(q, "%s=", name);
    if (!rc)
        rc = http_uri_encode(q, value, strlen(value), false);
    return rc;
}

static int validate_listing(const struct buf *body, void *arg)
{
    struct s3_list_page *page = arg;
    s3_list_page_release(page);
    return s3_list_parse(body->data, body->len, page, NULL);
}

static int list_page(struct s3_store *s, const char *prefix,
                     const char *start_after, const char *token, size_t want,
                     struct s3_list_page *page)
{
    struct buf q = BUF_INIT, body = BUF_INIT;
    char max[24];
    struct http_response resp;
    struct s3_result res;
    int rc = 0;
    snprintf(max, sizeof(max), "%zu", want);
    /* Parameters in sorted order: the query sent is the canonical one. */
    if (token)
        rc = add_param(&q, "continuation-token", token);
    if (!rc)
        rc = add_param(&q, "encoding-type", "url");
    if (!rc)
        rc = add_param(&q, "list-type", "2");
    if (!rc)
        rc = add_param(&q, "max-keys", max);
    if (!rc && *prefix)
        rc = add_param(&q, "prefix", prefix);
    if (!rc && *start_after)
        rc = add_param(&q, "start-after", start_after);
    if (rc)
        goto out;
    struct s3_req r;
    memset(&r, 0, sizeof(r));
    r.op = "ListObjectsV2";
    r.method = "GET";
    r.query = q.data;
    r.body_fd = -1;
    r.payload_hash = SIGV4_EMPTY_SHA256;
    r.max_body = LIST_BODY_MAX;
    r.timeout_ms = BASE_TIMEOUT_MS;
    r.xml_result = true;
    r.validate = validate_listing;
    r.validate_arg = page;
    http_response_init(&resp, &body);
    rc = s3_call(s, &r, &resp, &res);
    http_response_release(&resp);
out:
    buf_release(&q);
    buf_release(&body);
    return rc;
}

/* Requests one s3_list call makes at most: it then returns what it has,
 * truncated, and the caller goes on after its cursor (with start-after,
 * so tokens are only ever compared within a call). */
#define LIST_CALL_PAGES 32

static bool key_matches(const char *key, const char *suffix)
{
    size_t n = strlen(key), m = suffix ? strlen(suffix) : 0;
    return !suffix || (n >= m && strcasecmp(key + n - m, suffix) == 0);
}

/* The endpoint broke ListObjectsV2's contract: never retried, never
 * followed, since following it would process keys twice or forever. */
static int list_broken(const struct s3_store *s, const char *prefix,
                       const char *why)
{
    store_error_set("ListObjectsV2 s3://%s/%s: the endpoint's listing is "
                    "broken (its fault, not the bucket's): %s",
                    s->bucket, prefix, why);
    LOGF(LOG_ERROR, "s3_listing_broken", LF_S("bucket", s->bucket),
         LF_S("prefix", prefix), LF_S("reason", why));
    return ETL_EPROTO;
}

static int s3_list(struct store *st, const char *prefix,
                   const char *start_after, size_t max_keys, const char *suffix,
                   struct store_listing *out)
{
    struct s3_store *s = s3_of(st);
    struct s3_list_page page;
    char *token = NULL;
    char *seen = NULL; /* the last key of the pages before */
    char *tokens[LIST_CALL_PAGES] = {NULL};
    size_t ntokens = 0, cap = 0, empty = 0;
    char why[512];
    int rc = 0;
    memset(&page, 0, sizeof(page));
    for (int pages = 0;; pages++) {
        if (pages == LIST_CALL_PAGES) {
            /* Enough for one call: go on from the cursor. */
            out->truncated = true;
            break;
        }
        size_t left = max_keys - out->n;
        size_t want = max_keys == 0          ? 1
                      : suffix               ? LIST_PAGE_MAX
                      : left > LIST_PAGE_MAX ? LIST_PAGE_MAX
                                             : left;
        rc = list_page(s, prefix, start_after, token, want, &page);
        if (rc)
            break;
        if (max_keys == 0) {
            /* Only "is there anything": like the local store. */
            out->truncated = page.n > 0 || page.truncated;
            break;
        }
        /* Every key in order, after the last: a page that repeats or
         * reorders keys would give some PDFs two rows. */
        size_t plen = strlen(prefix);
        const char *prev = seen ? seen : start_after;
        for (size_t i = 0; i < page.n; i++) {
            const char *k = page.items[i].key;
            if (strncmp(k, prefix, plen) != 0) {
                snprintf(why, sizeof(why),
                         "key \"%.200s\" does not start with the prefix", k);
                rc = list_broken(s, prefix, why);
                goto out;
            }
            if (strcmp(k, prev) <= 0) {
                snprintf(why, sizeof(why),
                         "key \"%.150s\" comes after \"%.150s\" (keys must "
                         "be strictly increasing in byte order, across "
                         "pages too)",
                         k, prev);
                rc = list_broken(s, prefix, why);
                goto out;
            }
            prev = k;
        }
        if (page.n) {
            free(seen);
            seen = strdup(page.items[page.n - 1].key);
            if (!seen) {
                rc = ETL_ENOMEM;
                goto out;
            }
        }
        bool full = false;
        size_t used = 0;
        for (; used < page.n; used++) {
            struct store_entry *e = &page.items[used];
            if (!key_matches(e->key, suffix))
                continue;
            if (out->n == max_keys) {
                full = true;
                break;
            }
            if (out->n == cap) {
                size_t ncap = cap ? cap * 2 : 64;
                struct store_entry *items =
                    realloc(out->items, ncap * sizeof(*items));
                if (!items) {
                    rc = ETL_ENOMEM;
                    goto out;
                }
                out->items = items;
                cap = ncap;
            }
            out->items[out->n++] = *e;
            e->key = e->etag = NULL;
        }
        /* The cursor: the last key of the page consumed (returned or
         * skipped), i.e. before the entry that did not fit. */
        if (used > 0) {
            size_t at = used - 1;
            const char *k = page.items[at].key ? page.items[at].key
                                               : out->items[out->n - 1].key;
            free(out->cursor);
            out->cursor = strdup(k);
            if (!out->cursor) {
                rc = ETL_ENOMEM;
                goto out;
            }
        }
        if (full) {
            out->truncated = true;
            break;
        }
        if (!page.truncated) {
            out->truncated = false;
            break;
        }
        if (out->n >= max_keys && !suffix) {
            out->truncated = true;
            break;
        }
        empty = page.n ? 0 : empty + 1;
        if (empty >= 8) {
            rc = list_broken(s, prefix,
                             "8 pages in a row with no key, each saying "
                             "more follow");
            goto out;
        }
        /* A token seen before means a loop (the same page again, or two
         * pages taking turns). */
        for (size_t i = 0; i < ntokens; i++) {
            if (strcmp(tokens[i], page.next_token) == 0) {
                snprintf(why, sizeof(why),
                         "continuation token \"%.100s\" was given before "
                         "(the listing loops)",
                         page.next_token);
                rc = list_broken(s, prefix, why);
                goto out;
            }
        }
        token = page.next_token;
        page.next_token = NULL;
        tokens[ntokens++] = token;
        s3_list_page_release(&page);
    }
out:
    s3_list_page_release(&page);
    for (size_t i = 0; i < ntokens; i++)
        free(tokens[i]);
    free(seen);
    return rc;
}

static void info_from(const struct http_response *resp, int64_t size,
                      struct store_info *info)
{
    info->size = size;
    http_response_header(resp, "etag", info->etag, sizeof(info->etag));
}

static int s3_get(struct store *st, const char *key, size_t max_bytes,
                  struct buf *out, struct store_info *info)
{
    struct s3_store *s = s3_of(st);
    struct http_response resp;
    struct s3_result res;
    struct s3_req r;
    memset(&r, 0, sizeof(r));
    r.op = "GetObject";
    r.method = "GET";
    r.key = key;
    r.query = "";
    r.body_fd = -1;
    r.payload_hash = SIGV4_EMPTY_SHA256;
    r.max_body = max_bytes;
    r.timeout_ms = timeout_for(max_bytes ? max_bytes : (64u << 20));
    r.object_data = true;
    http_response_init(&resp, out);
    int rc = s3_call(s, &r, &resp, &res);
    if (rc == ETL_ETOOBIG)
        LOGF(LOG_WARN, "s3_object_too_large", LF_S("bucket", s->bucket),
             LF_S("key", key), LF_I("content_length", resp.content_length),
             LF_I("max_bytes", (long long)max_bytes));
    if (!rc)
        info_from(&resp, (int64_t)out->len, info);
    else
        buf_reset(out);
    http_response_release(&resp);
    return rc;
}

static int s3_head(struct store *st, const char *key, struct store_info *info)
{
    struct s3_store *s = s3_of(st);
    struct http_response resp;
    struct s3_result res;
    struct s3_req r;
    memset(&r, 0, sizeof(r));
    r.op = "HeadObject";
    r.method = "HEAD";
    r.key = key;
    r.query = "";
    r.body_fd = -1;
    r.payload_hash = SIGV4_EMPTY_SHA256;
    r.timeout_ms = BASE_TIMEOUT_MS;
    http_response_init(&resp, NULL);
    int rc = s3_call(s, &r, &resp, &res);
    if (!rc && resp.content_length < 0)
        rc = ETL_EHTTP;
    if (!rc)
        info_from(&resp, resp.content_length, info);
    http_response_release(&resp);
    return rc;
}

/* Digests of a body for x-amz-content-sha256 and Content-MD5. */
struct digests {
    char sha256_hex[65];
    char md5_b64[32];
    char md5_hex[33];
};

static void digests_finish(const unsigned char *sha, const unsigned char *md5,
                           struct digests *d)
{
    codec_hex(sha, 32, false, d->sha256_hex);
    codec_hex(md5, 16, false, d->md5_hex);
    codec_base64(md5, 16, d->md5_b64);
}

static int digest_fd(int fd, uint64_t size, struct digests *d)
{
    EVP_MD_CTX *sha = EVP_MD_CTX_new(), *md5 = EVP_MD_CTX_new();
    unsigned char buf[64 * 1024], dsha[32], dmd5[16];
    uint64_t off = 0;
    int rc = 0;
    if (!sha || !md5 || !EVP_DigestInit_ex(sha, EVP_sha256(), NULL) ||
        !EVP_DigestInit_ex(md5, EVP_md5(), NULL)) {
        rc = ETL_ENOMEM;
        goto out;
    }
    while (off < size) {
        size_t want =
            size - off < sizeof(buf) ? (size_t)(size - off) : sizeof(buf);
        ssize_t n = pread(fd, buf, want, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = ETL_EIO;
            goto out;
        }
        EVP_DigestUpdate(sha, buf, (size_t)n);
        EVP_DigestUpdate(md5, buf, (size_t)n);
        off += (uint64_t)n;
    }
    EVP_DigestFinal_ex(sha, dsha, NULL);
    EVP_DigestFinal_ex(md5, dmd5, NULL);
    digests_finish(dsha, dmd5, d);
out:
    EVP_MD_CTX_free(sha);
    EVP_MD_CTX_free(md5);
    return rc;
}

static void digest_mem(const void *data, size_t len, struct digests *d)
{
    unsigned char dsha[32], dmd5[16];
    unsigned int n = 0;
    SHA256(data, len, dsha);
    EVP_Digest(data, len, dmd5, &n, EVP_md5(), NULL);
    digests_finish(dsha, dmd5, d);
}

/* An If-None-Match put that failed in transit may have landed: a 412 on
 * the retry is then our own object, recognised by its MD5 ETag. */
static bool is_our_object(struct s3_store *s, const char *key,
                          const struct digests *d)
{
    struct store_info info;
    if (s3_head(&s->base, key, &info))
        return false;
    const char *e = info.etag;
    size_t n = strlen(e);
    if (n == 34 && e[0] == '"' && e[33] == '"')
        return strncasecmp(e + 1, d->md5_hex, 32) == 0;
    return n == 32 && strcasecmp(e, d->md5_hex) == 0;
}

static int do_put(struct s3_store *s, const char *key, const void *data, int fd,
                  uint64_t len, const struct digests *d,
                  const char *content_type, unsigned flags)
{
    struct http_response resp;
    struct s3_result res;
    struct buf body = BUF_INIT;
    struct s3_req r;
    memset(&r, 0, sizeof(r));
    r.op = "PutObject";
    r.method = "PUT";
    r.key = key;
    r.query = "";
    r.has_body = true;
    r.body = data;
    r.body_fd = fd;
    r.body_len = len;
    r.payload_hash = d->sha256_hex;
    r.timeout_ms = timeout_for(len);
    r.xml_result = true;
    r.if_absent = flags & STORE_PUT_IF_ABSENT;
    r.extra[r.n_extra++] = (struct http_header){"Content-MD5", d->md5_b64};
    if (*content_type)
        r.extra[r.n_extra++] =
            (struct http_header){"Content-Type", content_type};
    if (r.if_absent)
        r.extra[r.n_extra++] = (struct http_header){"If-None-Match", "*"};
    if (s->sse)
        r.extra[r.n_extra++] =
            (struct http_header){"x-amz-server-side-encryption", s->sse};
    if (s->sse_kms_key_id)
        r.extra[r.n_extra++] = (struct http_header){
            "x-amz-server-side-encryption-aws-kms-key-id", s->sse_kms_key_id};
    http_response_init(&resp, &body);
    int rc = s3_call(s, &r, &resp, &res);
    if (rc == ETL_EEXIST && res.transport_failed_before &&
        is_our_object(s, key, d)) {
        LOGF(LOG_INFO, "s3_put_landed_earlier", LF_S("bucket", s->bucket),
             LF_S("key", key));
        rc = 0;
    }
    http_response_release(&resp);
    buf_release(&body);
    return rc;
}

static int s3_put(struct store *st, const char *key, const void *data,
                  size_t len, const char *content_type, unsigned flags)
{
    struct digests d;
    digest_mem(data, len, &d);
    return do_put(s3_of(st), key, data, -1, len, &d, content_type, flags);
}

static int s3_put_file(struct store *st, const char *key, const char *path,
                       const char *content_type, unsigned flags)
{
    struct s3_store *s = s3_of(st);
    struct digests d;
    struct stat sb;
    int rc;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        int e = errno;
        LOGF(LOG_ERROR, "s3_put_file_unreadable", LF_S("path", path),
             LF_S("error", fd < 0 || e ? strerror(e) : "not a regular file"));
        rc = fd < 0 && e == ENOENT ? ETL_ENOTFOUND : ETL_EIO;
        goto out;
    }
    /* Hash first (the signature covers the body), then stream the same
     * bytes; S3 rejects the upload if the file changed in between. */
    rc = digest_fd(fd, (uint64_t)sb.st_size, &d);
    if (!rc)
        rc = do_put(s, key, NULL, fd, (uint64_t)sb.st_size, &d, content_type,
                    flags);
out:
    if (fd >= 0)
        close(fd);
    return rc;
}

/* ---- Store ------------------------------------------------------------ */

static void s3_set_retry(struct store *st, const struct retry_policy *p)
{
    struct s3_store *s = s3_of(st);
    s->retry = *p;
    if (s->retry.max_attempts < 1)
        s->retry.max_attempts = 1;
}

static const char *s3_name(const struct store *st)
{
    return ((const struct s3_store *)st)->name;
}

static void s3_free(struct store *st)
{
    struct s3_store *s = s3_of(st);
    if (!s)
        return;
    retry_limiter_destroy(&s->limiter);
    creds_provider_free(s->creds);
    free(s->bucket);
    free(s->name);
    free(s->region);
    free(s->origin);
    free(s->host);
    free(s->path_prefix);
    free(s->sse);
    free(s->sse_kms_key_id);
    free(s->expected_owner);
    free(s->ca_file);
    free(s);
}

static const struct store_ops s3_ops = {
    .list = s3_list,
    .get = s3_get,
    .head = s3_head,
    .put = s3_put,
    .put_file = s3_put_file,
    .free = s3_free,
    .name = s3_name,
    .set_retry = s3_set_retry,
};

int store_s3_open(const struct store_url *u, bool must_exist,
                  struct store **out)
{
    (void)must_exist; /* no I/O at open: the first request tells */
    *out = NULL;
    struct s3_store *s = calloc(1, sizeof(*s));
    if (!s)
        return ETL_ENOMEM;
    s->base.ops = &s3_ops;
    retry_limiter_init(&s->limiter, LIMITER_MAX);
    s->retry = (struct retry_policy)RETRY_POLICY_DEFAULT;
    struct buf name = BUF_INIT;
    int rc = buf_printf(&name, "s3://%s/", u->bucket);
    s->name = rc ? NULL : buf_detach(&name, NULL);
    s->bucket = strdup(u->bucket);
    if (!s->name || !s->bucket)
        rc = ETL_ENOMEM;
    if (!rc)
        rc = creds_provider_new(&s->creds);
    if (!rc)
        rc = configure(s);
    buf_release(&name);
    if (rc) {
        s3_free(&s->base);
        return rc;
    }
    *out = &s->base;
    return 0;
}
