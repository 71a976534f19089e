/* The custom runtime loop on Lambda's Runtime API (version 2018-06-01):
 *
 *   GET  /runtime/invocation/next            wait for an event (no timeout)
 *   POST /runtime/invocation/{id}/response   the handler's response
 *   POST /runtime/invocation/{id}/error      {errorMessage, errorType,
 *                                            stackTrace} with header
 *                                            Lambda-Runtime-Function-Error-Type
 *   POST /runtime/init/error                 bad configuration at start-up
 *
 * Settings, the pipeline context (MuPDF, workers, stores) and the HTTP
 * clients are made once per sandbox, before the first /next. The API
 * answering 500 means the sandbox is being torn down: exit at once. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "lambda/lambda.h"
#include "lambda/lambda_int.h"
#include "store/http.h"

#define EVENT_MAX_BYTES (8u << 20) /* Lambda's own limit is 6 MB */
#define POST_TIMEOUT_MS 60000L

/* Exit statuses, as the CLI's (cli.h): configuration error, runtime
 * failure. */
enum { EXIT_OK = 0, EXIT_USAGE = 2, EXIT_RUN_ERROR = 3 };

/* Debian's libcurl looks for /etc/ssl/certs/ca-certificates.crt; Amazon
 * Linux keeps its bundle elsewhere. Must run before any store opens. */
static void use_system_ca_bundle(void)
{
    static const char *const bundles[] = {
        "/etc/pki/tls/certs/ca-bundle.crt",
        "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem"};
    const char *set = getenv("AWS_CA_BUNDLE");
    if ((set && *set) ||
        access("/etc/ssl/certs/ca-certificates.crt", R_OK) == 0)
        return;
    for (size_t i = 0; i < sizeof(bundles) / sizeof(bundles[0]); i++) {
        if (access(bundles[i], R_OK) == 0) {
            setenv("AWS_CA_BUNDLE", bundles[i], 1);
            return;
        }
    }
}

struct runtime {
    struct http_client *http;
    struct buf base; /* "http://HOST:PORT/2018-06-01/runtime" */
};

/* POST a JSON body; returns the HTTP status, or 0 after a transport
 * failure. */
static long post(struct runtime *rt, const char *path, const char *body,
                 size_t len, const char *error_type)
{
    struct buf url = BUF_INIT, resp_body = BUF_INIT;
    struct http_response resp;
    http_response_init(&resp, &resp_body);
    struct http_header h[2] = {
        {"Content-Type", "application/json"},
        {"Lambda-Runtime-Function-Error-Type", error_type ? error_type : ""}};
    struct http_request req;
    memset(&req, 0, sizeof(req));
    buf_printf(&url, "%s%s", rt->base.data, path);
    req.method = "POST";
    req.url = url.data;
    req.headers = h;
    req.n_headers = error_type ? 2 : 1;
    req.has_body = true;
    req.body = body;
    req.body_fd = -1;
    req.body_len = len;
    req.timeout_ms = POST_TIMEOUT_MS;
    int rc = http_do(rt->http, &req, &resp);
    long status = rc ? 0 : resp.status;
    if (status != 202)
        LOGF(LOG_ERROR, "runtime_api_post_failed", LF_S("path", path),
             LF_I("http_status", status),
             LF_S("error", rc ? etl_strerror(rc) : resp_body.data),
             LF_S("transport", resp.error));
    http_response_release(&resp);
    buf_release(&resp_body);
    buf_release(&url);
    return status;
}

static void init_error(struct runtime *rt, const char *type, const char *msg)
{
    struct lambda_result r;
    lambda_result_init(&r);
    /* The same document as an invocation error. */
    buf_printf(&r.body, "{\"errorMessage\":\"");
    for (const char *p = msg; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch == '"' || ch == '\\')
            buf_printf(&r.body, "\\%c", ch);
        else if (ch < 0x20)
            buf_printf(&r.body, "\\u%04x", ch);
        else
            buf_addch(&r.body, ch);
    }
    buf_printf(&r.body, "\",\"errorType\":\"%s\",\"stackTrace\":[]}", type);
    LOGF(LOG_ERROR, "lambda_init_failed", LF_S("error_type", type),
         LF_S("message", msg));
    post(rt, "/init/error", r.body.data, r.body.len, type);
    lambda_result_release(&r);
}

/* Header value into a fresh string ("" when absent). */
static char *header(const struct http_response *resp, const char *name)
{
    char v[1024];
    if (!http_response_header(resp, name, v, sizeof(v)))
        v[0] = '\0';
    return strdup(v);
}

/* Request ids go into a URL path: refuse anything else than a token. */
static bool id_ok(const char *id)
{
    size_t n = strlen(id);
    return n > 0 && n < 200 &&
           strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                      "0123456789-_.:") == n;
}

static int loop(struct runtime *rt, struct lambda_handler *h)
{
    struct buf event, url = BUF_INIT, path = BUF_INIT;
    buf_init(&event, EVENT_MAX_BYTES);
    buf_printf(&url, "%s/invocation/next", rt->base.data);
    int status = EXIT_OK;
    for (;;) {
        struct http_response resp;
        http_response_init(&resp, &event);
        struct http_request req;
        memset(&req, 0, sizeof(req));
        req.method = "GET";
        req.url = url.data;
        req.body_fd = -1;
        req.max_body = EVENT_MAX_BYTES;
        /* The sandbox may be frozen for any time between events. */
        req.timeout_ms = 0;
        req.low_speed_time_s = 0;
        int rc = http_do(rt->http, &req, &resp);
        if (rc && rc != ETL_ETOOBIG) {
            LOGF(LOG_ERROR, "runtime_api_next_failed",
                 LF_S("error", etl_strerror(rc)),
                 LF_S("transport", resp.error));
            http_response_release(&resp);
            status = EXIT_RUN_ERROR;
            break;
        }
        if (resp.status != 200) {
            /* 500: the sandbox is going away ("exit promptly"); 403 and
             * anything else cannot be recovered here either. */
            LOGF(LOG_ERROR, "runtime_api_next_status",
                 LF_I("http_status", resp.status), LF_S("body", event.data));
            http_response_release(&resp);
            status = EXIT_RUN_ERROR;
            break;
        }
        char *id = header(&resp, "lambda-runtime-aws-request-id");
        char *deadline = header(&resp, "lambda-runtime-deadline-ms");
        char *arn = header(&resp, "lambda-runtime-invoked-function-arn");
        char *trace = header(&resp, "lambda-runtime-trace-id");
        http_response_release(&resp);
        if (!id || !deadline || !arn || !trace || !id_ok(id)) {
            /* Without a usable request id nothing can be reported. */
            LOGF(LOG_ERROR, "runtime_api_bad_request_id",
                 LF_S("id", id ? id : ""));
            free(id);
            free(deadline);
            free(arn);
            free(trace);
            status = EXIT_RUN_ERROR;
            break;
        }
        /* For libraries that follow X-Ray (set while no worker runs). */
        if (*trace)
            setenv("_X_AMZN_TRACE_ID", trace, 1);
        else
            unsetenv("_X_AMZN_TRACE_ID");
        struct lambda_invocation inv = {id, strtoll(deadline, NULL, 10), arn};
        struct lambda_result r;
        lambda_result_init(&r);
        if (rc == ETL_ETOOBIG) {
            buf_printf(&r.body,
                       "{\"errorMessage\":\"the event is larger than %u "
                       "bytes\",\"errorType\":\"InvalidEvent\","
                       "\"stackTrace\":[]}",
                       EVENT_MAX_BYTES);
            r.is_error = true;
            snprintf(r.error_type, sizeof(r.error_type), "InvalidEvent");
        } else {
            lambda_handle(h, event.data, event.len, &inv, &r);
        }
        buf_reset(&path);
        buf_printf(&path, "/invocation/%s/%s", id,
                   r.is_error ? "error" : "response");
        long st = post(rt, path.data, r.body.data, r.body.len,
                       r.is_error ? r.error_type : NULL);
        if (st == 413 && !r.is_error) {
            static const char big[] =
                "{\"errorMessage\":\"the response is too large\","
                "\"errorType\":\"Runtime.ResponseTooLarge\",\"stackTrace\":[]}";
            buf_reset(&path);
            buf_printf(&path, "/invocation/%s/error", id);
            st = post(rt, path.data, big, sizeof(big) - 1,
                      "Runtime.ResponseTooLarge");
        }
        bool must_exit = r.must_exit;
        lambda_result_release(&r);
        free(id);
        free(deadline);
        free(arn);
        free(trace);
        if (st == 500 || st == 0) {
            status = EXIT_RUN_ERROR;
            break;
        }
        if (must_exit) {
            /* Workers are stuck past the hard deadline: nothing can join
             * them, so leave without cleanup and let Lambda start a fresh
             * sandbox. */
            LOGF(LOG_WARN, "lambda_sandbox_recycled",
                 LF_S("reason", "PDF workers stuck past the hard deadline"));
            _exit(EXIT_OK);
        }
    }
    buf_release(&event);
    buf_release(&url);
    buf_release(&path);
    return status;
}

/* Lambda's shutdown phase sends the runtime SIGTERM and, some time later,
 * SIGKILL. SIGTERM is blocked in every thread (set before any is created)
 * and taken by this one, which ends the process between invocations with
 * exit(), so logs are flushed and atexit work (coverage counters in the
 * coverage build) is done instead of being lost to the SIGKILL. */
static void *sigterm_thread(void *arg)
{
    sigset_t *set = arg;
    int sig = 0;
    if (sigwait(set, &sig) == 0) {
        LOGF(LOG_INFO, "lambda_shutdown", LF_S("signal", "SIGTERM"));
        exit(EXIT_OK);
    }
    return NULL;
}

static void take_sigterm(void)
{
    static sigset_t set;
    pthread_t th;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) == 0 &&
        pthread_create(&th, NULL, sigterm_thread, &set) == 0)
        pthread_detach(th);
}

int lambda_runtime_main(void)
{
    const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
    if (!api || !*api) {
        fputs("bpecg-etl lambda: AWS_LAMBDA_RUNTIME_API is not set; this "
              "command is the Lambda runtime (use 'bpecg-etl invoke' to run "
              "the handler locally)\n",
              stderr);
        return EXIT_USAGE;
    }
    struct runtime rt = {NULL, BUF_INIT};
    struct etl_config cfg;
    struct buf err = BUF_INIT;
    struct lambda_handler *h = NULL;
    int status;
    memset(&cfg, 0, sizeof(cfg));
    take_sigterm();
    if (http_client_new(&rt.http) ||
        buf_printf(&rt.base, "http://%s/2018-06-01/runtime", api)) {
        fputs("bpecg-etl lambda: out of memory\n", stderr);
        return EXIT_RUN_ERROR;
    }
    int rc = cfg_load(&cfg, 0, NULL, &err);
    if (!rc) {
        log_init(cfg.log_level, cfg.log_format, 2);
        use_system_ca_bundle();
        rc = lambda_handler_new(&cfg, &h, &err);
    }
    if (rc) {
        init_error(&rt,
                   rc == ETL_ECONFIG ? "Runtime.ConfigInvalid"
                                     : "Runtime.InitError",
                   err.len ? err.data : etl_strerror(rc));
        fprintf(stderr, "bpecg-etl lambda: %s\n",
                err.len ? err.data : etl_strerror(rc));
        status = rc == ETL_ECONFIG ? EXIT_USAGE : EXIT_RUN_ERROR;
        goto out;
    }
    LOGF(LOG_INFO, "lambda_runtime_ready", LF_S("runtime_api", api),
         LF_I("batch_size", cfg.batch_size),
         LF_I("concurrency", cfg.concurrency),
         LF_I("deadline_margin_ms", cfg.deadline_margin_ms),
         LF_B("glibc_compat", lambda_compat_linked() != 0));
    status = loop(&rt, h);
out:
    lambda_handler_free(h);
    cfg_release(&cfg);
    buf_release(&err);
    buf_release(&rt.base);
    http_client_free(rt.http);
    return status;
}
