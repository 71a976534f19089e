/* AWS Signature Version 4 (sigv4.h). */
#include "store/sigv4.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/codec.h"
#include "core/err.h"

#define ALGORITHM "AWS4-HMAC-SHA256"

void sigv4_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256(data, len, md);
    codec_hex(md, sizeof(md), false, out);
}

void sigv4_amz_date(time_t t, char out[17])
{
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm) != 16)
        memcpy(out, "19700101T000000Z", 17);
}

/* ---- Path ------------------------------------------------------------- */

/* Remove empty, "." and ".." segments (the way botocore's posixpath
 * normalisation does), keeping a trailing slash. */
static int normalize_path(const char *p, struct buf *out)
{
    size_t n = strlen(p);
    size_t nseg = 0, cap = n / 2 + 2;
    size_t *starts = calloc(cap, sizeof(*starts));
    size_t *lens = calloc(cap, sizeof(*lens));
    int rc = 0;
    if (!starts || !lens) {
        rc = ETL_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i <= n;) {
        size_t j = i;
        while (j < n && p[j] != '/')
            j++;
        size_t len = j - i;
        if (len == 0 || (len == 1 && p[i] == '.')) {
            /* skip */
        } else if (len == 2 && p[i] == '.' && p[i + 1] == '.') {
            if (nseg)
                nseg--;
        } else {
            starts[nseg] = i;
            lens[nseg] = len;
            nseg++;
        }
        i = j + 1;
    }
    for (size_t k = 0; !rc && k < nseg; k++) {
        rc = buf_addch(out, '/');
        if (!rc)
            rc = buf_add(out, p + starts[k], lens[k]);
    }
    if (!rc && (nseg == 0 || (n > 0 && p[n - 1] == '/')))
        rc = buf_addch(out, '/');
out:
    free(starts);
    free(lens);
    return rc;
}

static int canonical_path(const struct sigv4_request *r, struct buf *out)
{
    const char *p = r->path && *r->path ? r->path : "/";
    struct buf norm = BUF_INIT;
    int rc = 0;
    if (r->flags & SIGV4_NORMALIZE_PATH) {
        rc = normalize_path(p, &norm);
        p = norm.data;
    }
    if (!rc)
        rc = (r->flags & SIGV4_ESCAPE_PATH)
                 ? http_uri_encode(out, p, strlen(p), true)
                 : buf_addstr(out, p);
    buf_release(&norm);
    return rc;
}

/* ---- Query ------------------------------------------------------------ */

struct qparam {
    size_t name_off, name_len, val_off, val_len; /* in the scratch buf */
};

static int qparam_cmp(const void *a, const void *b, void *arg)
{
    const struct qparam *x = a, *y = b;
    const char *sort_base = arg;
    size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
    int c = memcmp(sort_base + x->name_off, sort_base + y->name_off, n);
    if (c || x->name_len != y->name_len)
        return c ? c : (x->name_len < y->name_len ? -1 : 1);
    n = x->val_len < y->val_len ? x->val_len : y->val_len;
    c = memcmp(sort_base + x->val_off, sort_base + y->val_off, n);
    if (c || x->val_len == y->val_len)
        return c;
    return x->val_len < y->val_len ? -1 : 1;
}

/* Decode then encode one component into scratch. */
static int requote(struct buf *scratch, const char *s, size_t n)
{
    struct buf dec = BUF_INIT;
    int rc = http_uri_decode(&dec, s, n, false);
    if (!rc)
        rc = http_uri_encode(scratch, dec.data, dec.len, false);
    buf_release(&dec);
    return rc;
}

static int canonical_query(const char *q, struct buf *out)
{
    if (!q || !*q)
        return 0;
    size_t n = strlen(q), cap = 1;
    for (size_t i = 0; i < n; i++)
        cap += q[i] == '&';
    struct qparam *ps = calloc(cap, sizeof(*ps));
    struct buf scratch = BUF_INIT;
    size_t np = 0;
    int rc = ps ? 0 : ETL_ENOMEM;
    for (size_t i = 0; !rc && i < n;) {
        size_t j = i;
        while (j < n && q[j] != '&')
            j++;
        if (j > i) {
            const char *eq = memchr(q + i, '=', j - i);
            size_t nend = eq ? (size_t)(eq - q) : j;
            struct qparam *p = &ps[np++];
            p->name_off = scratch.len;
            rc = requote(&scratch, q + i, nend - i);
            p->name_len = scratch.len - p->name_off;
            p->val_off = scratch.len;
            if (!rc && eq)
                rc = requote(&scratch, eq + 1, j - nend - 1);
            p->val_len = scratch.len - p->val_off;
        }
        i = j + 1;
    }
    if (!rc && np > 1)
        qsort_r(ps, np, sizeof(*ps), qparam_cmp, scratch.data);
    for (size_t k = 0; !rc && k < np; k++) {
        if (k)
            rc = buf_addch(out, '&');
        if (!rc)
            rc = buf_add(out, scratch.data + ps[k].name_off, ps[k].name_len);
        if (!rc)
            rc = buf_addch(out, '=');
        if (!rc)
            rc = buf_add(out, scratch.data + ps[k].val_off, ps[k].val_len);
    }
    free(ps);
    buf_release(&scratch);
    return rc;
}

/* ---- Headers ---------------------------------------------------------- */

struct hentry {
    char *name; /* lower case */
    size_t index;
    const char *value;
};

static int hentry_cmp(const void *a, const void *b)
{
    const struct hentry *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    /* Repeated headers keep their order: values are joined as sent. */
    return x->index < y->index ? -1 : x->index > y->index;
}

static bool token_char(unsigned char c)
{
    return c > 0x20 && c < 0x7f && !strchr("\"(),/:;<=>?@[\\]{}", c);
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Trim, and collapse each run of white space (including the line breaks
 * of an obsolete folded header) into one space. */
static int add_trimmed(struct buf *out, const char *v)
{
    while (is_space(*v))
        v++;
    int rc = 0;
    bool pending = false;
    for (; !rc && *v; v++) {
        if (is_space(*v)) {
            pending = true;
            continue;
        }
        if (pending)
            rc = buf_addch(out, ' ');
        pending = false;
        if (!rc)
            rc = buf_addch(out, (unsigned char)*v);
    }
    return rc;
}

static int canonical_headers(const struct sigv4_request *r, struct buf *out,
                             struct buf *signed_headers)
{
    struct hentry *hs = calloc(r->n_headers ? r->n_headers : 1, sizeof(*hs));
    int rc = hs ? 0 : ETL_ENOMEM;
    size_t n = 0;
    for (size_t i = 0; !rc && i < r->n_headers; i++) {
        const char *name = r->headers[i].name;
        if (!name || !*name || !r->headers[i].value) {
            rc = ETL_EINVAL;
            break;
        }
        hs[n].name = strdup(name);
        if (!hs[n].name) {
            rc = ETL_ENOMEM;
            break;
        }
        for (char *p = hs[n].name; *p; p++) {
            if (!token_char((unsigned char)*p))
                rc = ETL_EINVAL;
            *p = (char)tolower((unsigned char)*p);
        }
        hs[n].index = i;
        hs[n].value = r->headers[i].value;
        n++;
    }
    if (!rc)
        qsort(hs, n, sizeof(*hs), hentry_cmp);
    for (size_t i = 0; !rc && i < n; i++) {
        bool same = i > 0 && strcmp(hs[i].name, hs[i - 1].name) == 0;
        if (same) {
            rc = buf_addch(out, ',');
        } else {
            if (i > 0)
                rc = buf_addch(out, '\n');
            if (!rc && signed_headers) {
                if (signed_headers->len)
                    rc = buf_addch(signed_headers, ';');
                if (!rc)
                    rc = buf_addstr(signed_headers, hs[i].name);
            }
            if (!rc)
                rc = buf_printf(out, "%s:", hs[i].name);
        }
        if (!rc)
            rc = add_trimmed(out, hs[i].value);
    }
    if (!rc && n)
        rc = buf_addch(out, '\n');
    for (size_t i = 0; hs && i < n; i++)
        free(hs[i].name);
    free(hs);
    return rc;
}

/* ---- Canonical request and string to sign ----------------------------- */

static bool valid_scope_part(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if (*s == '/' || is_space(*s) || (unsigned char)*s < 0x20)
            return false;
    return true;
}

static int check_request(const struct sigv4_request *r)
{
    if (!r->method || !*r->method || !r->amz_date ||
        strlen(r->amz_date) != 16 || !r->payload_hash || !*r->payload_hash ||
        !valid_scope_part(r->region) || !valid_scope_part(r->service))
        return ETL_EINVAL;
    return 0;
}

int sigv4_canonical_request(const struct sigv4_request *r, struct buf *out,
                            struct buf *signed_headers)
{
    struct buf sh = BUF_INIT;
    int rc = check_request(r);
    if (!rc)
        rc = buf_printf(out, "%s\n", r->method);
    if (!rc)
        rc = canonical_path(r, out);
    if (!rc)
        rc = buf_addch(out, '\n');
    if (!rc)
        rc = canonical_query(r->query, out);
    if (!rc)
        rc = buf_addch(out, '\n');
    if (!rc)
        rc = canonical_headers(r, out, &sh);
    if (!rc)
        rc = buf_printf(out, "\n%s\n%s", sh.data, r->payload_hash);
    if (!rc && signed_headers)
        rc = buf_add(signed_headers, sh.data, sh.len);
    buf_release(&sh);
    return rc;
}

int sigv4_string_to_sign(const struct sigv4_request *r,
                         const char *canonical_request, size_t len,
                         struct buf *out)
{
    int rc = check_request(r);
    if (rc)
        return rc;
    char hash[65];
    sigv4_sha256_hex(canonical_request, len, hash);
    return buf_printf(out, ALGORITHM "\n%s\n%.8s/%s/%s/aws4_request\n%s",
                      r->amz_date, r->amz_date, r->region, r->service, hash);
}

/* ---- Signing key cache ------------------------------------------------ */

#define KEY_CACHE_SIZE 8

struct key_entry {
    bool used;
    unsigned char secret_fp[SHA256_DIGEST_LENGTH];
    char date[9];
    char region[64];
    char service[64];
    unsigned char key[SHA256_DIGEST_LENGTH];
};

static pthread_mutex_t key_lock = PTHREAD_MUTEX_INITIALIZER;
static struct key_entry key_cache[KEY_CACHE_SIZE];
static unsigned key_next;

static int hmac(const void *key, size_t klen, const void *data, size_t dlen,
                unsigned char out[SHA256_DIGEST_LENGTH])
{
    unsigned int olen = 0;
    if (!HMAC(EVP_sha256(), key, (int)klen, data, dlen, out, &olen) ||
        olen != SHA256_DIGEST_LENGTH)
        return ETL_ENOMEM;
    return 0;
}

static int derive_key(const char *secret, const char *date, const char *region,
                      const char *service,
                      unsigned char out[SHA256_DIGEST_LENGTH])
{
    struct buf k = BUF_INIT;
    unsigned char a[SHA256_DIGEST_LENGTH], b[SHA256_DIGEST_LENGTH];
    int rc = buf_printf(&k, "AWS4%s", secret);
    if (!rc)
        rc = hmac(k.data, k.len, date, 8, a);
    if (!rc)
        rc = hmac(a, sizeof(a), region, strlen(region), b);
    if (!rc)
        rc = hmac(b, sizeof(b), service, strlen(service), a);
    if (!rc)
        rc = hmac(a, sizeof(a), "aws4_request", 12, out);
    OPENSSL_cleanse(k.data, k.len);
    OPENSSL_cleanse(a, sizeof(a));
    OPENSSL_cleanse(b, sizeof(b));
    buf_release(&k);
    return rc;
}

static int signing_key(const char *secret, const char *date, const char *region,
                       const char *service,
                       unsigned char out[SHA256_DIGEST_LENGTH])
{
    unsigned char fp[SHA256_DIGEST_LENGTH];
    bool cacheable = strlen(region) < sizeof(key_cache[0].region) &&
                     strlen(service) < sizeof(key_cache[0].service);
    SHA256((const unsigned char *)secret, strlen(secret), fp);
    if (cacheable) {
        pthread_mutex_lock(&key_lock);
        for (int i = 0; i < KEY_CACHE_SIZE; i++) {
            struct key_entry *e = &key_cache[i];
            if (e->used && !memcmp(e->date, date, 8) &&
                !CRYPTO_memcmp(e->secret_fp, fp, sizeof(fp)) &&
                !strcmp(e->region, region) && !strcmp(e->service, service)) {
                memcpy(out, e->key, SHA256_DIGEST_LENGTH);
                pthread_mutex_unlock(&key_lock);
                return 0;
            }
        }
        pthread_mutex_unlock(&key_lock);
    }
    int rc = derive_key(secret, date, region, service, out);
    if (rc || !cacheable)
        return rc;
    pthread_mutex_lock(&key_lock);
    struct key_entry *e = &key_cache[key_next++ % KEY_CACHE_SIZE];
    OPENSSL_cleanse(e, sizeof(*e));
    e->used = true;
    memcpy(e->secret_fp, fp, sizeof(fp));
    memcpy(e->date, date, 8);
    e->date[8] = '\0';
    memcpy(e->region, region, strlen(region) + 1);
    memcpy(e->service, service, strlen(service) + 1);
    memcpy(e->key, out, SHA256_DIGEST_LENGTH);
    pthread_mutex_unlock(&key_lock);
    return 0;
}

int sigv4_authorization(const struct sigv4_request *r,
                        const struct sigv4_creds *c, struct buf *authz,
                        char signature_hex[65])
{
    struct buf creq = BUF_INIT, sh = BUF_INIT, sts = BUF_INIT;
    unsigned char key[SHA256_DIGEST_LENGTH], sig[SHA256_DIGEST_LENGTH];
    char hex[65];
    int rc = 0;

    if (!c || !valid_scope_part(c->access_key_id) || !c->secret_access_key ||
        !*c->secret_access_key) {
        rc = ETL_EINVAL;
        goto out;
    }
    rc = sigv4_canonical_request(r, &creq, &sh);
    if (!rc)
        rc = sigv4_string_to_sign(r, creq.data, creq.len, &sts);
    if (!rc)
        rc = signing_key(c->secret_access_key, r->amz_date, r->region,
                         r->service, key);
    if (!rc)
        rc = hmac(key, sizeof(key), sts.data, sts.len, sig);
    if (rc)
        goto out;
    codec_hex(sig, sizeof(sig), false, hex);
    rc = buf_printf(authz,
                    ALGORITHM " Credential=%s/%.8s/%s/%s/aws4_request, "
                              "SignedHeaders=%s, Signature=%s",
                    c->access_key_id, r->amz_date, r->region, r->service,
                    sh.data, hex);
    if (!rc && signature_hex)
        memcpy(signature_hex, hex, sizeof(hex));
out:
    OPENSSL_cleanse(key, sizeof(key));
    buf_release(&creq);
    buf_release(&sh);
    buf_release(&sts);
    return rc;
}
