/* The Lambda Invoke API, asynchronous form only: queue the next batch.
 *
 * The request is signed with SigV4 for service "lambda": unlike S3, the
 * path is normalised and percent-encoded once more for signing, so a
 * function ARN's ':' goes on the wire as %3A and into the canonical request
 * as %253A.
 *
 * The X-Ray trace header (X-Amzn-Trace-Id) is deliberately not forwarded:
 * each batch is its own trace, and Lambda's recursive loop detection, which
 * follows that header, would stop a chain after about 16 hops. The chain
 * ends by its own rules (end of listing, MAX_CHAIN_BATCHES, kill switch);
 * the SAM template also sets RecursiveLoop: Allow. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/err.h"
#include "core/log.h"
#include "lambda/lambda_int.h"
#include "store/creds.h"
#include "store/http.h"
#include "store/sigv4.h"

#define CONNECT_MS 5000L
#define REQUEST_MS 20000L
#define STALL_S 10L

struct lambda_invoker {
    char *region;
    char *origin; /* "scheme://host[:port]" */
    char *host;   /* Host header as signed */
    char *base;   /* path prefix of the endpoint, no trailing '/' */
    char *ca_file;
    char *config_error; /* why invocations cannot be made, or NULL */
    struct retry_policy retry;
    struct creds_provider *creds;
    struct http_client *http;
};

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* The endpoint URL of var, split (http_endpoint_parse). */
static int parse_endpoint(const char *var, const char *url, bool allow_http,
                          struct lambda_invoker *v, struct buf *err)
{
    int rc = http_endpoint_parse(url, &v->origin, &v->host, &v->base);
    if (rc == ETL_EINVAL)
        buf_printf(err,
                   "%s=%s: must be an http:// or https:// URL with a host and "
                   "no user, query or fragment",
                   var, url);
    else if (!rc && !http_origin_allowed(v->origin, allow_http)) {
        buf_printf(err, "%s=%s: must be " HTTP_ORIGIN_RULE, var, url);
        rc = ETL_EINVAL;
    }
    return rc == ETL_EINVAL ? ETL_ECONFIG : rc;
}

int lambda_invoker_new(const struct etl_config *cfg,
                       struct lambda_invoker **out, struct buf *err)
{
    *out = NULL;
    struct lambda_invoker *v = calloc(1, sizeof(*v));
    if (!v)
        return ETL_ENOMEM;
    int rc = creds_provider_new(&v->creds);
    if (!rc)
        rc = http_client_new(&v->http);
    v->retry = (struct retry_policy){
        cfg->retry_max_attempts, cfg->retry_initial_wait, cfg->retry_max_wait};
    if (!rc && cfg->aws_region)
        v->region = strdup(cfg->aws_region);
    else if (!rc)
        rc = creds_config_region(&v->region);
    const char *ca = env("AWS_CA_BUNDLE");
    if (!rc && ca) {
        v->ca_file = strdup(ca);
        if (!v->ca_file)
            rc = ETL_ENOMEM;
    }

    const char *ignore = env("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
    bool use_env = !(ignore && !strcasecmp(ignore, "true"));
    const char *var = "AWS_ENDPOINT_URL_LAMBDA";
    const char *ep = use_env ? env(var) : NULL;
    if (!ep && use_env) {
        var = "AWS_ENDPOINT_URL";
        ep = env(var);
    }
    if (!rc && ep) {
        rc = parse_endpoint(var, ep, cfg->allow_http, v, err);
        /* A local endpoint (an emulator) rarely cares about the region. */
        if (!rc && !v->region) {
            v->region = strdup("us-east-1");
            if (!v->region)
                rc = ETL_ENOMEM;
        }
    } else if (!rc && v->region) {
        struct buf host = BUF_INIT, origin = BUF_INIT;
        const char *dom = strncmp(v->region, "cn-", 3) == 0 ? "amazonaws.com.cn"
                                                            : "amazonaws.com";
        rc = buf_printf(&host, "lambda.%s.%s", v->region, dom);
        if (!rc)
            rc = buf_printf(&origin, "https://%s", host.data);
        v->host = rc ? NULL : buf_detach(&host, NULL);
        v->origin = rc ? NULL : buf_detach(&origin, NULL);
        v->base = strdup("");
        buf_release(&host);
        buf_release(&origin);
        if (!rc && (!v->host || !v->origin || !v->base))
            rc = ETL_ENOMEM;
    } else if (!rc) {
        /* Not fatal: running locally without AWS needs no invocations. */
        v->config_error = strdup("no AWS region: set AWS_REGION to invoke "
                                 "the next batch");
        if (!v->config_error)
            rc = ETL_ENOMEM;
    }
    if (!rc && v->region)
        for (const char *p = v->region; *p; p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
                  *p == '-')) {
                buf_printf(err,
                           "AWS region %s: not a region name such as "
                           "us-east-1",
                           v->region);
                rc = ETL_ECONFIG;
                break;
            }
    if (rc) {
        if (rc == ETL_ENOMEM && !err->len)
            buf_addstr(err, "out of memory");
        lambda_invoker_free(v);
        return rc;
    }
    *out = v;
    return 0;
}

void lambda_invoker_free(struct lambda_invoker *v)
{
    if (!v)
        return;
    creds_provider_free(v->creds);
    http_client_free(v->http);
    free(v->region);
    free(v->origin);
    free(v->host);
    free(v->base);
    free(v->ca_file);
    free(v->config_error);
    free(v);
}

int lambda_invoke_url(const struct lambda_invoker *v, const char *function,
                      struct buf *url, struct buf *path)
{
    if (!v->origin)
        return ETL_ECONFIG;
    int rc = buf_printf(path, "%s/2015-03-31/functions/", v->base);
    if (!rc)
        rc = http_uri_encode(path, function, strlen(function), false);
    if (!rc)
        rc = buf_addstr(path, "/invocations");
    if (!rc)
        rc = buf_printf(url, "%s%s", v->origin, path->data);
    return rc;
}

/* One signed attempt. */
static int attempt(struct lambda_invoker *v, const char *function,
                   const char *payload, size_t len, struct http_response *resp)
{
    struct aws_creds cr = {0};
    struct buf url = BUF_INIT, path = BUF_INIT, authz = BUF_INIT;
    char amz_date[17], hash[65];
    struct http_header h[8];
    size_t n = 0;
    int rc = creds_provider_get(v->creds, &cr);
    if (!rc)
        rc = lambda_invoke_url(v, function, &url, &path);
    if (rc)
        goto out;
    sigv4_amz_date(time(NULL), amz_date);
    sigv4_sha256_hex(payload, len, hash);
    h[n++] = (struct http_header){"Host", v->host};
    h[n++] = (struct http_header){"X-Amz-Date", amz_date};
    h[n++] = (struct http_header){"X-Amz-Invocation-Type", "Event"};
    h[n++] = (struct http_header){"Content-Type", "application/json"};
    if (cr.session_token)
        h[n++] = (struct http_header){"X-Amz-Security-Token", cr.session_token};
    struct sigv4_request sr = {
        "POST",   path.data,
        NULL,     h,
        n,        hash,
        amz_date, v->region,
        "lambda", SIGV4_NORMALIZE_PATH | SIGV4_ESCAPE_PATH};
    struct sigv4_creds sc = {cr.access_key_id, cr.secret_access_key,
                             cr.session_token};
    rc = sigv4_authorization(&sr, &sc, &authz, NULL);
    if (rc)
        goto out;
    h[n++] = (struct http_header){"Authorization", authz.data};
    struct http_request req;
    memset(&req, 0, sizeof(req));
    req.method = "POST";
    req.url = url.data;
    req.headers = h;
    req.n_headers = n;
    req.has_body = true;
    req.body = payload;
    req.body_fd = -1;
    req.body_len = len;
    req.connect_timeout_ms = CONNECT_MS;
    req.timeout_ms = REQUEST_MS;
    req.low_speed_time_s = STALL_S;
    req.ca_file = v->ca_file;
    rc = http_do(v->http, &req, resp);
out:
    aws_creds_release(&cr);
    if (authz.len)
        OPENSSL_cleanse(authz.data, authz.len);
    buf_release(&authz);
    buf_release(&url);
    buf_release(&path);
    return rc;
}

int lambda_invoke_async(struct lambda_invoker *v, const char *function,
                        const char *payload, size_t len, struct buf *detail)
{
    if (v->config_error) {
        buf_addstr(detail, v->config_error);
        return ETL_ECONFIG;
    }
    struct buf body = BUF_INIT;
    struct http_response resp;
    http_response_init(&resp, &body);
    int rc, attempts = 0;
    bool creds_retried = false;
    for (;;) {
        attempts++;
        rc = attempt(v, function, payload, len, &resp);
        long status = rc ? 0 : resp.status;
        bool retry = false;
        char type[128] = "";
        if (rc) {
            retry = http_client_last_retryable(v->http);
        } else if (status == 202) {
            break;
        } else {
            http_response_header(&resp, "x-amzn-errortype", type, sizeof(type));
            type[strcspn(type, ":")] = '\0';
            if (status == 429 || status >= 500) {
                rc = status == 429 ? ETL_ETHROTTLED : ETL_EHTTP;
                retry = true;
            } else if (status == 404) {
                rc = ETL_ENOTFOUND;
            } else if (status == 401 || status == 403) {
                rc = ETL_EAUTH;
                if (!creds_retried && strstr(type, "Expired")) {
                    creds_provider_invalidate(v->creds);
                    creds_retried = retry = true;
                }
            } else {
                rc = ETL_EHTTP;
            }
        }
        bool again = retry && retry_more(&v->retry, attempts);
        LOGF(again ? LOG_WARN : LOG_ERROR, "lambda_invoke_failed",
             LF_S("function", function), LF_I("attempt", attempts),
             LF_I("http_status", status), LF_S("error_type", type),
             LF_S("error", etl_errname(rc)),
             LF_S("transport", status ? "" : resp.error));
        if (!again) {
            buf_reset(detail);
            if (status)
                buf_printf(detail, "Invoke %s: HTTP %ld %s %.300s", function,
                           status, type, body.data);
            else
                buf_printf(detail, "Invoke %s: %s%s%s", function,
                           etl_strerror(rc), resp.error[0] ? ": " : "",
                           resp.error);
            break;
        }
        retry_sleep(retry_delay(&v->retry, attempts, NULL));
    }
    http_response_release(&resp);
    buf_release(&body);
    return rc;
}
