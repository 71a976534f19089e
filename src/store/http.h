/* A small HTTP/1.1 client on libcurl, for S3, the credential endpoints
 * and (later) the Lambda runtime and Invoke APIs. This header exposes no
 * curl type; only src/store/ includes curl.
 *
 * Connections are kept alive between requests in one pool shared by all
 * clients, with DNS answers and TLS sessions: a request takes an idle
 * connection to its host if there is one, so N threads busy at once open
 * at most N connections per host over a whole run, however their requests
 * interleave. A client (one easy handle) belongs to one thread at a time;
 * http_client_thread() gives each thread its own.
 *
 * Transport rules: http and https only, redirects are not followed, TLS
 * peers and host names are verified, no signals are used (NOSIGNAL), and
 * bodies are sent with Content-Length, never chunked. No timeout is
 * infinite unless the request asks for it. */
#ifndef ETL_STORE_HTTP_H
#define ETL_STORE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

struct http_client;

struct http_header {
    const char *name;
    const char *value;
};

struct http_request {
    const char *method; /* "GET", "PUT", "HEAD", "POST", "DELETE" */
    const char *url;    /* already percent-encoded */
    /* Sent as given (a name with an empty value is sent empty). curl adds
     * no Accept, Expect or Content-Type header of its own. */
    const struct http_header *headers;
    size_t n_headers;
    /* Request body: body_len bytes from body, or from file descriptor
     * body_fd (>= 0) starting at offset 0 (read with pread, so a retried
     * request re-reads it). has_body sends Content-Length even for 0. */
    bool has_body;
    const void *body;
    int body_fd;
    uint64_t body_len;
    /* Limits. connect_timeout_ms 0 means 10 s. timeout_ms caps the whole
     * request (0 = no cap, e.g. a long poll). A transfer slower than
     * 1 byte/s for low_speed_time_s seconds is aborted (0 = never). */
    long connect_timeout_ms;
    long timeout_ms;
    long low_speed_time_s;
    /* Cap on a 2xx response body: when Content-Length (or the bytes
     * received) exceed it the transfer stops before reading it all and
     * http_do returns ETL_ETOOBIG. 0 = none. Other statuses keep at most
     * 64 KiB of body (enough for an error document). */
    size_t max_body;
    /* A CA bundle file to trust instead of the system's (e.g.
     * AWS_CA_BUNDLE), or NULL. */
    const char *ca_file;
};

struct http_response {
    long status; /* final HTTP status, 0 before a response */
    /* Response body, replaced at each call; points at the caller's buf
     * (NULL discards the body). */
    struct buf *body;
    /* Headers of the final response, "name: value\n" lines with names in
     * lower case (see http_response_header). */
    struct buf headers;
    int64_t content_length; /* -1 when not given */
    /* For logs: curl's description of a transport failure, or "". Never
     * holds request headers. */
    char error[256];
};

/* Initialise resp to deliver the body into body (may be NULL). */
void http_response_init(struct http_response *resp, struct buf *body);
void http_response_release(struct http_response *resp);

/* Value of response header name (lower case), trimmed, copied into out
 * (NUL-terminated, truncated to size). Returns true if present. */
bool http_response_header(const struct http_response *resp, const char *name,
                          char *out, size_t size);

/* A client of one's own (e.g. for a dedicated thread). ETL_ENOMEM. */
int http_client_new(struct http_client **out);
void http_client_free(struct http_client *c);

/* The calling thread's client, created on first use and freed when the
 * thread exits. ETL_ENOMEM. */
int http_client_thread(struct http_client **out);

/* Perform one request. Returns 0 when a response arrived, whatever its
 * status (see resp->status), or on a transport failure:
 *   ETL_ENET      connection refused/reset, DNS failure, truncated body
 *   ETL_ETIMEDOUT connect timeout, stalled transfer, overall timeout
 *   ETL_ETLS      TLS handshake or certificate failure
 *   ETL_ETOOBIG   2xx body larger than req->max_body
 *   ETL_EIO       reading the request body from body_fd failed
 *   ETL_EINVAL    bad URL or scheme; ETL_ENOMEM
 * resp->error then says what happened. */
int http_do(struct http_client *c, const struct http_request *req,
            struct http_response *resp);

/* Whether a transport failure may succeed when tried again: network
 * errors and timeouts, and TLS handshakes that broke off (not certificate
 * failures). Set by the last http_do on c. */
bool http_client_last_retryable(const struct http_client *c);

/* Percent-encoding per RFC 3986 as AWS uses it: every byte except
 * A-Z a-z 0-9 - . _ ~ becomes %XX (upper-case hex); '/' is kept when
 * keep_slash. Appends to out. */
int http_uri_encode(struct buf *out, const char *s, size_t n, bool keep_slash);
/* Decode %XX escapes (and '+' as a space when plus_is_space) into out.
 * A '%' not followed by two hex digits is kept as is. */
int http_uri_decode(struct buf *out, const char *s, size_t n,
                    bool plus_is_space);

/* Split an endpoint URL ("http[s]://host[:port][/base]", e.g. from
 * AWS_ENDPOINT_URL) into its origin ("scheme://host[:port]", the scheme
 * lower-cased), the Host header as signed and sent (a default port
 * dropped, as clients do) and the base path without a trailing '/'; each
 * malloc'ed, for the caller to free (all NULL on error). Refuses userinfo,
 * query, fragment, white space, control characters and backslashes, and a
 * missing host: ETL_EINVAL. ETL_ENOMEM. */
int http_endpoint_parse(const char *url, char **origin, char **host,
                        char **base);

/* Whether an endpoint's origin (from http_endpoint_parse) may be used:
 * https always; plain http only to a loopback host (localhost, 127.x.x.x,
 * [::1]) unless allow_http (ALLOW_HTTP=1), since it carries the data and
 * the signed requests in clear. */
bool http_origin_allowed(const char *origin, bool allow_http);
#define HTTP_ORIGIN_RULE                                                       \
    "https://, or http:// to a loopback host (localhost, 127.x.x.x, [::1]); "  \
    "ALLOW_HTTP=1 allows plain http to any host"

#endif
