/* SigV4 against AWS's published vectors (tests/unit/data/sigv4/) and the
 * S3 rules the pipeline depends on. */
#include <dirent.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "harness.h"
#include "store/http.h"
#include "store/sigv4.h"

static char data_dir[PATH_MAX];

static void find_data_dir(void)
{
    const char *src = getenv("BPECG_SOURCE_DIR");
    if (src && *src) {
        snprintf(data_dir, sizeof(data_dir), "%s/tests/unit/data/sigv4", src);
        return;
    }
    /* The compiler is given the absolute path of this file. */
    char here[PATH_MAX];
    snprintf(here, sizeof(here), "%s", __FILE__);
    snprintf(data_dir, sizeof(data_dir), "%s/data/sigv4", dirname(here));
}

/* Read a whole file; false if it does not exist. */
static bool slurp(const char *dir, const char *name, struct buf *out)
{
    char path[PATH_MAX * 2];
    /* A path that does not fit is a missing file, not a truncated one
     * (and -O3's -Wformat-truncation sees the check). */
    int len = snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (len < 0 || (size_t)len >= sizeof(path))
        return false;
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    char tmp[4096];
    size_t n;
    buf_reset(out);
    while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
        buf_add(out, tmp, n);
    fclose(f);
    return true;
}

/* The string value of "key" in a flat JSON text, or NULL; the suite's
 * context files need no more than this. */
static char *json_str(const char *json, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof(pat), "\"%s\"", key);
    const char *p = strstr(json, pat);
    if (!p)
        return NULL;
    p = strchr(p + strlen(pat), ':');
    if (!p)
        return NULL;
    p++;
    while (*p == ' ' || *p == '\n')
        p++;
    if (*p != '"') {
        size_t n = strcspn(p, ",}\n ");
        return strndup(p, n);
    }
    p++;
    return strndup(p, strcspn(p, "\""));
}

static bool json_true(const char *json, const char *key)
{
    char *v = json_str(json, key);
    bool t = v && strcmp(v, "true") == 0;
    free(v);
    return t;
}

#define MAX_HEADERS 16

struct parsed {
    struct buf text; /* request.txt, cut into NUL-terminated pieces */
    char *method, *path, *query, *body;
    size_t body_len;
    struct http_header h[MAX_HEADERS];
    size_t nh;
};

/* Parse the suite's request.txt: request line, headers (a line starting
 * with white space continues the previous value), blank line, body. */
static bool parse_request(struct parsed *r)
{
    char *s = r->text.data;
    char *end = s + r->text.len;
    char *eol = strchr(s, '\n');
    if (!eol)
        eol = end;
    *eol = '\0';
    char *sp = strchr(s, ' ');
    char *http = strstr(s, " HTTP/");
    if (!sp || !http || http < sp)
        return false;
    *sp = '\0';
    *http = '\0';
    r->method = s;
    r->path = sp + 1;
    char *q = strchr(r->path, '?');
    r->query = "";
    if (q) {
        *q = '\0';
        r->query = q + 1;
    }
    r->nh = 0;
    char *line = eol < end ? eol + 1 : end;
    while (line < end) {
        char *nl = strchr(line, '\n');
        char *stop = nl ? nl : end;
        if (stop == line) { /* blank line: the body follows */
            r->body = stop + 1 <= end ? stop + 1 : end;
            r->body_len = (size_t)(end - r->body);
            return true;
        }
        if ((*line == ' ' || *line == '\t') && r->nh) {
            /* Continuation: join it to the previous value, keeping the
             * line break so the signer has to fold it. */
            line[-1] = '\n';
            if (nl)
                *nl = '\0';
        } else {
            if (nl)
                *nl = '\0';
            char *colon = strchr(line, ':');
            if (!colon || r->nh == MAX_HEADERS)
                return false;
            *colon = '\0';
            r->h[r->nh].name = line;
            r->h[r->nh].value = colon + 1;
            r->nh++;
        }
        line = nl ? nl + 1 : end;
    }
    r->body = end;
    r->body_len = 0;
    return true;
}

static void run_case(const char *name)
{
    char dir[PATH_MAX * 2];
    int dlen = snprintf(dir, sizeof(dir), "%s/%s", data_dir, name);
    CHECK(dlen > 0 && (size_t)dlen < sizeof(dir));
    struct buf ctx = BUF_INIT, want = BUF_INIT, got = BUF_INIT;
    struct buf sts = BUF_INIT, authz = BUF_INIT;
    struct parsed r;
    memset(&r, 0, sizeof(r));
    buf_init(&r.text, 0);
    char *akid = NULL, *secret = NULL, *token = NULL, *region = NULL;
    char *service = NULL, *ts = NULL;

    if (!slurp(dir, "context.json", &ctx) ||
        !slurp(dir, "request.txt", &r.text) || !parse_request(&r)) {
        HARNESS_FAIL("%s: cannot read the case", name);
        goto out;
    }
    akid = json_str(ctx.data, "access_key_id");
    secret = json_str(ctx.data, "secret_access_key");
    token = json_str(ctx.data, "token");
    region = json_str(ctx.data, "region");
    service = json_str(ctx.data, "service");
    ts = json_str(ctx.data, "timestamp");
    if (!akid || !secret || !region || !service || !ts || strlen(ts) != 20) {
        HARNESS_FAIL("%s: incomplete context.json", name);
        goto out;
    }
    /* 2015-08-30T12:36:00Z -> 20150830T123600Z */
    char amz[17];
    size_t k = 0;
    for (const char *p = ts; *p && k < 16; p++)
        if (*p != '-' && *p != ':')
            amz[k++] = *p;
    amz[k] = '\0';

    char body_hash[65];
    sigv4_sha256_hex(r.body, r.body_len, body_hash);
    if (r.nh + 3 > MAX_HEADERS) {
        HARNESS_FAIL("%s: too many headers", name);
        goto out;
    }
    r.h[r.nh++] = (struct http_header){"X-Amz-Date", amz};
    if (token && !json_true(ctx.data, "omit_session_token"))
        r.h[r.nh++] = (struct http_header){"X-Amz-Security-Token", token};
    if (json_true(ctx.data, "sign_body"))
        r.h[r.nh++] = (struct http_header){"x-amz-content-sha256", body_hash};

    bool s3 = strcmp(service, "s3") == 0;
    struct sigv4_request req = {
        .method = r.method,
        .path = r.path,
        .query = r.query,
        .headers = r.h,
        .n_headers = r.nh,
        .payload_hash = body_hash,
        .amz_date = amz,
        .region = region,
        .service = service,
        .flags = s3 ? 0
                    : SIGV4_ESCAPE_PATH | (json_true(ctx.data, "normalize")
                                               ? SIGV4_NORMALIZE_PATH
                                               : 0),
    };
    CHECK_EQ_INT(sigv4_canonical_request(&req, &got, NULL), 0);
    if (slurp(dir, "header-canonical-request.txt", &want) &&
        strcmp(got.data, want.data) != 0)
        HARNESS_FAIL("%s: canonical request\n--- got\n%s\n--- want\n%s", name,
                     got.data, want.data);
    CHECK_EQ_INT(sigv4_string_to_sign(&req, got.data, got.len, &sts), 0);
    if (slurp(dir, "header-string-to-sign.txt", &want) &&
        strcmp(sts.data, want.data) != 0)
        HARNESS_FAIL("%s: string to sign\n--- got\n%s\n--- want\n%s", name,
                     sts.data, want.data);

    struct sigv4_creds cr = {akid, secret, token};
    char sig[65] = "";
    CHECK_EQ_INT(sigv4_authorization(&req, &cr, &authz, sig), 0);
    if (!slurp(dir, "header-signature.txt", &want))
        HARNESS_FAIL("%s: no expected signature", name);
    else if (strcmp(sig, want.data) != 0)
        HARNESS_FAIL("%s: signature %s, want %s", name, sig, want.data);
    if (slurp(dir, "header-signed-request.txt", &want)) {
        const char *a = strstr(want.data, "\nAuthorization:");
        if (!a) {
            HARNESS_FAIL("%s: no Authorization line", name);
        } else {
            a += strlen("\nAuthorization:");
            size_t alen = strcspn(a, "\n");
            if (alen != authz.len || memcmp(a, authz.data, alen) != 0)
                HARNESS_FAIL("%s: Authorization\n got %s\nwant %.*s", name,
                             authz.data, (int)alen, a);
        }
    }
out:
    free(akid);
    free(secret);
    free(token);
    free(region);
    free(service);
    free(ts);
    buf_release(&ctx);
    buf_release(&want);
    buf_release(&got);
    buf_release(&sts);
    buf_release(&authz);
    buf_release(&r.text);
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

TEST(aws_test_suite)
{
    DIR *d = opendir(data_dir);
    if (!d) {
        HARNESS_FAIL("cannot open %s", data_dir);
        return;
    }
    char *names[128];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 128)
        if (e->d_name[0] != '.' && e->d_type == DT_DIR)
            names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, n, sizeof(names[0]), name_cmp);
    size_t s3 = 0;
    for (size_t i = 0; i < n; i++) {
        run_case(names[i]);
        s3 += strncmp(names[i], "s3-", 3) == 0;
        free(names[i]);
    }
    /* 38 cases of AWS's suite and the 4 examples of the S3 guide. */
    CHECK_EQ_INT(n, 42);
    CHECK_EQ_INT(s3, 4);
}

/* The S3 path: each key byte outside the unreserved set encoded once, '/'
 * kept, nothing normalised, and the signer signs it as sent. */
TEST(s3_path_is_signed_as_sent)
{
    const char *key = "pdfs/a b/c+d=e&f%g/\xc3\xa9 \xc3\xbc/./../x~y.pdf";
    struct buf path = BUF_INIT, creq = BUF_INIT;
    buf_addstr(&path, "/bucket/");
    CHECK_EQ_INT(http_uri_encode(&path, key, strlen(key), true), 0);
    CHECK_EQ_STR(path.data, "/bucket/pdfs/a%20b/c%2Bd%3De%26f%25g/"
                            "%C3%A9%20%C3%BC/./../x~y.pdf");
    struct http_header h[] = {{"Host", "127.0.0.1:9000"},
                              {"x-amz-date", "20240101T000000Z"}};
    struct sigv4_request r = {"GET",
                              path.data,
                              "",
                              h,
                              2,
                              SIGV4_UNSIGNED_PAYLOAD,
                              "20240101T000000Z",
                              "us-east-1",
                              "s3",
                              0};
    CHECK_EQ_INT(sigv4_canonical_request(&r, &creq, NULL), 0);
    CHECK(strncmp(creq.data + 4, path.data, path.len) == 0);
    CHECK(creq.data[4 + path.len] == '\n');
    /* The same wire path for another service is encoded again and
     * normalised (the Lambda rules). */
    struct buf lam = BUF_INIT;
    r.service = "lambda";
    r.path = "/2015-03-31/functions/fn%3Aprod/invocations";
    r.flags = SIGV4_NORMALIZE_PATH | SIGV4_ESCAPE_PATH;
    CHECK_EQ_INT(sigv4_canonical_request(&r, &lam, NULL), 0);
    CHECK(strncmp(lam.data,
                  "GET\n/2015-03-31/functions/fn%253Aprod/invocations\n",
                  strlen("GET\n/2015-03-31/functions/fn%253Aprod/"
                         "invocations\n")) == 0);
    buf_release(&path);
    buf_release(&creq);
    buf_release(&lam);
}

/* A query the S3 backend builds (encoded, sorted) is its own canonical
 * form, so the wire query and the signed one cannot differ. */
TEST(canonical_query_is_stable)
{
    struct buf q = BUF_INIT, creq = BUF_INIT;
    const char *prefix = "pdfs/a b+c=d&e%f/\xc3\xa9/";
    buf_addstr(&q, "continuation-token=");
    http_uri_encode(&q, "1/ab+cd==", 9, false);
    buf_addstr(&q, "&encoding-type=url&list-type=2&max-keys=1000&prefix=");
    http_uri_encode(&q, prefix, strlen(prefix), false);
    buf_addstr(&q, "&start-after=");
    http_uri_encode(&q, "pdfs/x y.pdf", 12, false);
    struct http_header h[] = {{"host", "s3.amazonaws.com"}};
    struct sigv4_request r = {
        "GET", "/b/", q.data, h, 1, "x", "20240101T000000Z", "r", "s3", 0};
    CHECK_EQ_INT(sigv4_canonical_request(&r, &creq, NULL), 0);
    const char *line = strchr(strchr(creq.data, '\n') + 1, '\n') + 1;
    CHECK(strncmp(line, q.data, q.len) == 0 && line[q.len] == '\n');
    /* Unsorted, unencoded input comes out sorted and encoded; a bare name
     * gets "=", and empty pieces vanish. */
    struct buf c2 = BUF_INIT;
    r.query = "b=2&&a=x y&uploads&a=%41";
    CHECK_EQ_INT(sigv4_canonical_request(&r, &c2, NULL), 0);
    CHECK(strstr(c2.data, "\na=A&a=x%20y&b=2&uploads=\n") != NULL);
    buf_release(&q);
    buf_release(&creq);
    buf_release(&c2);
}

TEST(signing_key_cache_tracks_the_secret)
{
    struct http_header h[] = {{"host", "h"},
                              {"x-amz-date", "20240101T000000Z"}};
    struct sigv4_request r = {
        "GET",       "/",  "", h, 2, SIGV4_EMPTY_SHA256, "20240101T000000Z",
        "eu-west-1", "s3", 0};
    struct sigv4_creds a = {"AKID", "secret-one", NULL};
    struct sigv4_creds b = {"AKID", "secret-two", NULL};
    char s1[65], s2[65], s3[65];
    struct buf x = BUF_INIT;
    CHECK_EQ_INT(sigv4_authorization(&r, &a, &x, s1), 0);
    buf_reset(&x);
    CHECK_EQ_INT(sigv4_authorization(&r, &a, &x, s2), 0); /* cached */
    buf_reset(&x);
    CHECK_EQ_INT(sigv4_authorization(&r, &b, &x, s3), 0);
    CHECK_EQ_STR(s1, s2);
    CHECK(strcmp(s1, s3) != 0); /* a rotated secret is not served stale */
    /* Another day is another key. */
    h[1].value = "20240102T000000Z";
    r.amz_date = "20240102T000000Z";
    buf_reset(&x);
    CHECK_EQ_INT(sigv4_authorization(&r, &a, &x, s3), 0);
    CHECK(strcmp(s1, s3) != 0);
    CHECK(strstr(x.data, "Credential=AKID/20240102/eu-west-1/s3/aws4_request, "
                         "SignedHeaders=host;x-amz-date, Signature=") ==
          x.data + strlen("AWS4-HMAC-SHA256 "));
    buf_release(&x);
}

TEST(malformed_requests_are_refused)
{
    struct http_header bad_name[] = {{"Bad Name", "v"}};
    struct http_header ok[] = {{"host", "h"}};
    struct sigv4_request r = {
        "GET",       "/",  "", bad_name, 1, "x", "20240101T000000Z",
        "us-east-1", "s3", 0};
    struct sigv4_creds c = {"AKID", "s", NULL};
    struct buf x = BUF_INIT;
    CHECK_EQ_INT(sigv4_authorization(&r, &c, &x, NULL), -2);
    r.headers = ok;
    r.amz_date = "2024";
    CHECK_EQ_INT(sigv4_authorization(&r, &c, &x, NULL), -2);
    r.amz_date = "20240101T000000Z";
    r.region = "us/east";
    CHECK_EQ_INT(sigv4_authorization(&r, &c, &x, NULL), -2);
    r.region = "us-east-1";
    struct sigv4_creds nokey = {"", "s", NULL};
    CHECK_EQ_INT(sigv4_authorization(&r, &nokey, &x, NULL), -2);
    CHECK_EQ_INT(sigv4_authorization(&r, &c, &x, NULL), 0);
    buf_release(&x);
}

TEST(amz_date)
{
    char d[17];
    sigv4_amz_date(1369353600, d); /* 2013-05-24T00:00:00Z */
    CHECK_EQ_STR(d, "20130524T000000Z");
    sigv4_amz_date(951782400 + 86399, d);
    CHECK_EQ_STR(d, "20000229T235959Z");
}

int main(void)
{
    find_data_dir();
    RUN(aws_test_suite);
    RUN(s3_path_is_signed_as_sent);
    RUN(canonical_query_is_stable);
    RUN(signing_key_cache_tracks_the_secret);
    RUN(malformed_requests_are_refused);
    RUN(amz_date);
    return harness_done();
}
