/* libFuzzer target: SigV4 canonicalisation and signing (store/sigv4.c).
 *
 * Input: lines separated by '\n':
 *   0: one flags byte (low two bits: NORMALIZE_PATH, ESCAPE_PATH), then
 *      the method
 *   1: path   2: query   3: payload hash   4: amz_date   5: region
 *   6: service   7...: headers as "name:value" (no ':' = empty value)
 * Missing lines are NULL fields. Checks the contract: errors are typed;
 * on success the canonical request has its six parts, the query and the
 * headers are in canonical form (canonicalising the canonical query again
 * changes nothing; header names are lower case, sorted and unique; the
 * SignedHeaders list names them), and signing is deterministic. */
#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "fuzz.h"
#include "store/sigv4.h"

#define MAX_LINES 64
#define MAX_HEADERS (MAX_LINES - 7)

/* Split text (NUL-terminated, modified) into at most max lines. */
static size_t split_lines(char *text, char **lines, size_t max)
{
    size_t n = 0;
    char *p = text;
    while (n < max) {
        lines[n++] = p;
        char *nl = strchr(p, '\n');
        if (!nl)
            break;
        *nl = '\0';
        p = nl + 1;
    }
    return n;
}

/* The lines of the canonical request (modified in place). */
struct parts {
    char *lines[MAX_LINES + 8];
    size_t n;
};

static void check_headers(struct parts *p, const char *signed_headers)
{
    /* method, path, query, then header lines up to the empty one. */
    size_t i = 3;
    struct buf names = BUF_INIT;
    const char *prev = NULL;
    for (; i < p->n && p->lines[i][0]; i++) {
        char *colon = strchr(p->lines[i], ':');
        FUZZ_CHECK(colon != NULL);
        *colon = '\0';
        const char *name = p->lines[i];
        FUZZ_CHECK(name[0] != '\0');
        for (const char *c = name; *c; c++)
            FUZZ_CHECK(!isupper((unsigned char)*c) && *c > 0x20);
        FUZZ_CHECK(!prev || strcmp(prev, name) < 0);
        prev = name;
        if (names.len)
            buf_addch(&names, ';');
        buf_addstr(&names, name);
    }
    /* headers, "", signed headers, payload hash */
    FUZZ_CHECK(i + 3 == p->n);
    FUZZ_CHECK(strcmp(names.data, signed_headers) == 0);
    buf_release(&names);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct buf in = BUF_INIT;
    if (buf_add(&in, data, size))
        return 0;
    char *lines[MAX_LINES] = {NULL};
    size_t n = split_lines(in.data, lines, MAX_LINES);

    struct http_header headers[MAX_HEADERS];
    size_t nh = 0;
    for (size_t i = 7; i < n; i++) {
        char *colon = strchr(lines[i], ':');
        if (colon)
            *colon = '\0';
        headers[nh].name = lines[i];
        headers[nh].value = colon ? colon + 1 : "";
        nh++;
    }
    const char *method = lines[0];
    unsigned flags = 0;
    if (method && *method) {
        flags = (unsigned char)*method & 3;
        method++;
    }
    struct sigv4_request r = {
        .method = method,
        .path = lines[1],
        .query = lines[2],
        .headers = headers,
        .n_headers = nh,
        .payload_hash = lines[3],
        .amz_date = lines[4],
        .region = lines[5],
        .service = lines[6],
        .flags = flags,
    };

    struct buf creq = BUF_INIT, sh = BUF_INIT, again = BUF_INIT;
    struct buf authz = BUF_INIT, authz2 = BUF_INIT, sts = BUF_INIT;
    int rc = sigv4_canonical_request(&r, &creq, &sh);
    FUZZ_CHECK(rc == 0 || rc == ETL_EINVAL || rc == ETL_ENOMEM);
    if (rc)
        goto out;

    /* Deterministic. */
    struct buf sh2 = BUF_INIT;
    FUZZ_CHECK(sigv4_canonical_request(&r, &again, &sh2) == 0);
    FUZZ_CHECK(again.len == creq.len &&
               !memcmp(again.data, creq.data, creq.len));
    FUZZ_CHECK(strcmp(sh.data, sh2.data) == 0);
    buf_release(&sh2);

    struct parts p;
    struct buf copy = BUF_INIT;
    buf_add(&copy, creq.data, creq.len);
    p.n = split_lines(copy.data, p.lines, MAX_LINES + 8);
    FUZZ_CHECK(p.n >= 5);
    FUZZ_CHECK(strcmp(p.lines[0], r.method) == 0);
    FUZZ_CHECK(strcmp(p.lines[p.n - 1], r.payload_hash) == 0);
    check_headers(&p, sh.data);
    if (r.flags & SIGV4_ESCAPE_PATH) {
        /* Only unreserved characters, '/' and %XX escapes remain. */
        for (const char *c = p.lines[1]; *c; c++)
            FUZZ_CHECK(isalnum((unsigned char)*c) || strchr("-._~/%", *c));
    }

    /* The canonical query is a fixed point of canonicalisation. */
    struct sigv4_request q = r;
    q.query = p.lines[2];
    q.n_headers = 0;
    q.flags = 0;
    buf_reset(&again);
    FUZZ_CHECK(sigv4_canonical_request(&q, &again, NULL) == 0);
    struct parts p2;
    p2.n = split_lines(again.data, p2.lines, MAX_LINES + 8);
    FUZZ_CHECK(p2.n >= 3 && strcmp(p2.lines[2], p.lines[2]) == 0);
    buf_release(&copy);

    FUZZ_CHECK(sigv4_string_to_sign(&r, creq.data, creq.len, &sts) == 0);

    static const struct sigv4_creds creds = {
        "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", NULL};
    char sig[65], sig2[65];
    rc = sigv4_authorization(&r, &creds, &authz, sig);
    FUZZ_CHECK(rc == 0 || rc == ETL_ENOMEM);
    if (!rc) {
        FUZZ_CHECK(strncmp(authz.data, "AWS4-HMAC-SHA256 Credential=", 28) ==
                   0);
        FUZZ_CHECK(strlen(sig) == 64 && strspn(sig, "0123456789abcdef") == 64);
        FUZZ_CHECK(sigv4_authorization(&r, &creds, &authz2, sig2) == 0);
        FUZZ_CHECK(strcmp(sig, sig2) == 0);
    }
out:
    buf_release(&creq);
    buf_release(&sh);
    buf_release(&again);
    buf_release(&authz);
    buf_release(&authz2);
    buf_release(&sts);
    buf_release(&in);
    return 0;
}
