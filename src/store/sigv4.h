/* AWS Signature Version 4 for the Authorization header, on OpenSSL's
 * SHA-256 and HMAC-SHA256 (after AWS's "Create a signed AWS API request"
 * and the aws-signing-test-suite it is checked against).
 *
 * The caller builds the request and decides which headers to sign: every
 * header in sigv4_request.headers is signed, so they must include Host,
 * X-Amz-Date (matching amz_date) and, when used, X-Amz-Content-Sha256 and
 * X-Amz-Security-Token, exactly as they are sent.
 *
 * Paths: for S3 pass the path as it goes on the wire (each key segment
 * already encoded with http_uri_encode(keep_slash)) and no flags: S3 signs
 * it as is, without normalising. Other services (lambda) sign the wire path
 * normalised and encoded once more: SIGV4_NORMALIZE_PATH|SIGV4_ESCAPE_PATH.
 *
 * Query strings are canonicalised: parameters split at '&' and the first
 * '=', each name and value percent-decoded and re-encoded the AWS way, then
 * sorted. A query built with http_uri_encode and sorted is unchanged, so
 * it can go on the wire as is.
 *
 * Thread-safe. Never logs; never keeps the secret except as a derived
 * signing key in a small cache (per access key, day, region, service). */
#ifndef ETL_STORE_SIGV4_H
#define ETL_STORE_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "core/buf.h"
#include "store/http.h"

#define SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
/* SHA-256 of the empty string. */
#define SIGV4_EMPTY_SHA256                                                     \
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

enum sigv4_flags {
    SIGV4_NORMALIZE_PATH = 1, /* remove "." and ".." segments and "//" */
    SIGV4_ESCAPE_PATH = 2     /* percent-encode the path (again) */
};

struct sigv4_request {
    const char *method;
    const char *path;  /* as in the request line, before any '?' */
    const char *query; /* without the '?'; NULL or "" for none */
    const struct http_header *headers;
    size_t n_headers;
    const char *payload_hash; /* lower-case hex SHA-256, or UNSIGNED-PAYLOAD */
    const char *amz_date;     /* "YYYYMMDDTHHMMSSZ" */
    const char *region;
    const char *service; /* "s3", "lambda", ... */
    unsigned flags;
};

struct sigv4_creds {
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token; /* NULL or "" for none (not used here:
                                  send it as X-Amz-Security-Token) */
};

/* The canonical request (appended to out) and, if signed_headers is not
 * NULL, the SignedHeaders list ("host;x-amz-date"). ETL_EINVAL for a
 * malformed request (no method, a header name that is empty or has
 * characters outside a token, amz_date not 16 characters). */
int sigv4_canonical_request(const struct sigv4_request *r, struct buf *out,
                            struct buf *signed_headers);

/* The string to sign for a canonical request (appended to out). */
int sigv4_string_to_sign(const struct sigv4_request *r,
                         const char *canonical_request, size_t len,
                         struct buf *out);

/* The whole signature: the Authorization header value
 * ("AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...")
 * appended to authz. If signature_hex is not NULL it receives the 64 hex
 * digits. ETL_EINVAL as above or for missing credentials. */
int sigv4_authorization(const struct sigv4_request *r,
                        const struct sigv4_creds *c, struct buf *authz,
                        char signature_hex[65]);

/* "YYYYMMDDTHHMMSSZ" for t (UTC). */
void sigv4_amz_date(time_t t, char out[17]);

/* Lower-case hex SHA-256 of data. */
void sigv4_sha256_hex(const void *data, size_t len, char out[65]);

#endif
