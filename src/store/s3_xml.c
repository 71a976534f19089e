/* S3 XML responses with expat's streaming (SAX) parser: a small handler
 * that keeps the element path and collects the text of the few elements
 * we use, instead of building a tree. Hostile input is bounded: no
 * DOCTYPE (so no entity expansion), element text capped, depth tracked
 * only as far as needed. */
#include "store/s3_int.h"

#include <errno.h>
#include <expat.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "store/http.h"

#define TEXT_MAX (16 * 1024) /* longest element text we accept */
#define DEPTH_MAX 8

enum elem {
    E_OTHER,
    E_LIST,  /* ListBucketResult */
    E_ERROR, /* Error */
    E_CONTENTS,
    E_KEY,
    E_SIZE,
    E_ETAG,
    E_IS_TRUNCATED,
    E_NEXT_TOKEN,
    E_ENCODING_TYPE,
    E_CODE,
    E_MESSAGE,
    E_REQUEST_ID
};

struct ctx {
    XML_Parser parser;
    enum elem stack[DEPTH_MAX];
    int depth; /* may exceed DEPTH_MAX; deeper levels are E_OTHER */
    bool capture;
    struct buf text;
    int rc;
    bool saw_root;
    enum elem root;

    struct s3_list_page *page;
    struct s3_error *err;
    /* The Contents being read. */
    bool in_contents;
    char *key;
    bool have_key, have_size;
    int64_t size;
    char *etag;
    char *encoding_type;
};

/* With namespace processing names arrive as "uri\x01local"; compare the
 * local part only, so a default namespace or a prefix makes no
 * difference. */
static const char *local_name(const XML_Char *name)
{
    const char *sep = strrchr(name, '\x01');
    return sep ? sep + 1 : name;
}

static enum elem classify(const char *n, enum elem parent, int depth)
{
    if (depth == 0) {
        if (!strcmp(n, "ListBucketResult"))
            return E_LIST;
        if (!strcmp(n, "Error"))
            return E_ERROR;
        return E_OTHER;
    }
    if (parent == E_LIST) {
        if (!strcmp(n, "Contents"))
            return E_CONTENTS;
        if (!strcmp(n, "IsTruncated"))
            return E_IS_TRUNCATED;
        if (!strcmp(n, "NextContinuationToken"))
            return E_NEXT_TOKEN;
        if (!strcmp(n, "EncodingType"))
            return E_ENCODING_TYPE;
    } else if (parent == E_CONTENTS) {
        if (!strcmp(n, "Key"))
            return E_KEY;
        if (!strcmp(n, "Size"))
            return E_SIZE;
        if (!strcmp(n, "ETag"))
            return E_ETAG;
    } else if (parent == E_ERROR) {
        if (!strcmp(n, "Code"))
            return E_CODE;
        if (!strcmp(n, "Message"))
            return E_MESSAGE;
        if (!strcmp(n, "RequestId"))
            return E_REQUEST_ID;
    }
    return E_OTHER;
}

static void fail(struct ctx *c, int rc)
{
    if (!c->rc)
        c->rc = rc;
    XML_StopParser(c->parser, XML_FALSE);
}

static void on_start(void *arg, const XML_Char *name, const XML_Char **atts)
{
    struct ctx *c = arg;
    (void)atts;
    if (c->rc)
        return;
    enum elem parent = c->depth > 0 && c->depth <= DEPTH_MAX
                           ? c->stack[c->depth - 1]
                           : E_OTHER;
    enum elem e = c->depth <= DEPTH_MAX
                      ? classify(local_name(name), parent, c->depth)
                      : E_OTHER;
    if (c->depth == 0) {
        c->saw_root = true;
        c->root = e;
    }
    if (c->depth < DEPTH_MAX)
        c->stack[c->depth] = e;
    c->depth++;
    if (e == E_CONTENTS) {
        c->in_contents = true;
        c->have_key = c->have_size = false;
        free(c->key);
        free(c->etag);
        c->key = c->etag = NULL;
    }
    c->capture = e != E_OTHER && e != E_LIST && e != E_ERROR && e != E_CONTENTS;
    buf_reset(&c->text);
}

static void on_text(void *arg, const XML_Char *s, int len)
{
    struct ctx *c = arg;
    if (c->rc || !c->capture || len <= 0)
        return;
    int rc = buf_add(&c->text, s, (size_t)len);
    if (rc)
        fail(c, rc == ETL_ETOOBIG ? ETL_EHTTP : rc);
}

static void copy_field(char *dst, size_t size, const struct buf *b)
{
    size_t n = b->len < size - 1 ? b->len : size - 1;
    memcpy(dst, b->data, n);
    dst[n] = '\0';
}

static bool parse_size(const char *s, int64_t *out)
{
    char *end = NULL;
    if (*s < '0' || *s > '9')
        return false;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < 0)
        return false;
    *out = v;
    return true;
}

static int add_entry(struct ctx *c)
{
    struct s3_list_page *p = c->page;
    if (!c->have_key || !c->have_size || !c->key[0])
        return ETL_EHTTP;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        struct store_entry *items = realloc(p->items, cap * sizeof(*items));
        if (!items)
            return ETL_ENOMEM;
        p->items = items;
        p->cap = cap;
    }
    struct store_entry *e = &p->items[p->n];
    e->key = c->key;
    e->size = c->size;
    e->etag = c->etag ? c->etag : strdup("");
    if (!e->etag)
        return ETL_ENOMEM;
    c->key = c->etag = NULL;
    p->n++;
    return 0;
}

static void on_end(void *arg, const XML_Char *name)
{
    struct ctx *c = arg;
    (void)name;
    if (c->rc)
        return;
    c->depth--;
    enum elem e = c->depth < DEPTH_MAX ? c->stack[c->depth] : E_OTHER;
    c->capture = false;
    int rc = 0;
    switch (e) {
    case E_KEY:
        free(c->key);
        c->key = strndup(c->text.data, c->text.len);
        c->have_key = c->key != NULL;
        if (!c->key)
            rc = ETL_ENOMEM;
        break;
    case E_SIZE:
        c->have_size = parse_size(c->text.data, &c->size);
        if (!c->have_size)
            rc = ETL_EHTTP;
        break;
    case E_ETAG:
        free(c->etag);
        c->etag = strndup(c->text.data, c->text.len);
        if (!c->etag)
            rc = ETL_ENOMEM;
        break;
    case E_CONTENTS:
        if (c->page)
            rc = add_entry(c);
        c->in_contents = false;
        break;
    case E_IS_TRUNCATED:
        if (c->page)
            c->page->truncated = !strcmp(c->text.data, "true");
        break;
    case E_NEXT_TOKEN:
        if (c->page) {
            free(c->page->next_token);
            c->page->next_token = strndup(c->text.data, c->text.len);
            if (!c->page->next_token)
                rc = ETL_ENOMEM;
        }
        break;
    case E_ENCODING_TYPE:
        free(c->encoding_type);
        c->encoding_type = strndup(c->text.data, c->text.len);
        if (!c->encoding_type)
            rc = ETL_ENOMEM;
        break;
    case E_CODE:
        if (c->err)
            copy_field(c->err->code, sizeof(c->err->code), &c->text);
        break;
    case E_MESSAGE:
        if (c->err)
            copy_field(c->err->message, sizeof(c->err->message), &c->text);
        break;
    case E_REQUEST_ID:
        if (c->err)
            copy_field(c->err->request_id, sizeof(c->err->request_id),
                       &c->text);
        break;
    default:
        break;
    }
    buf_reset(&c->text);
    if (rc)
        fail(c, rc);
}

static void on_doctype(void *arg, const XML_Char *name, const XML_Char *sysid,
                       const XML_Char *pubid, int has_internal_subset)
{
    (void)name, (void)sysid, (void)pubid, (void)has_internal_subset;
    fail(arg, ETL_EHTTP);
}

/* Run the parser over the whole buffer. */
static int parse(struct ctx *c, const char *xml, size_t len)
{
    buf_init(&c->text, TEXT_MAX);
    c->parser = XML_ParserCreateNS(NULL, '\x01');
    if (!c->parser)
        return ETL_ENOMEM;
    XML_SetUserData(c->parser, c);
    XML_SetElementHandler(c->parser, on_start, on_end);
    XML_SetCharacterDataHandler(c->parser, on_text);
    XML_SetStartDoctypeDeclHandler(c->parser, on_doctype);
    /* Feed in slices: XML_Parse takes an int length. */
    const size_t slice = 1 << 20;
    size_t off = 0;
    do {
        size_t n = len - off < slice ? len - off : slice;
        bool final = off + n == len;
        if (XML_Parse(c->parser, xml + off, (int)n, final) ==
                XML_STATUS_ERROR &&
            !c->rc)
            c->rc = ETL_EHTTP;
        off += n;
    } while (!c->rc && off < len);
    XML_ParserFree(c->parser);
    c->parser = NULL;
    buf_release(&c->text);
    if (!c->rc && !c->saw_root)
        c->rc = ETL_EHTTP;
    return c->rc;
}

static void ctx_release(struct ctx *c)
{
    free(c->key);
    free(c->etag);
    free(c->encoding_type);
}

int s3_error_parse(const char *xml, size_t len, struct s3_error *err)
{
    struct ctx c;
    memset(&c, 0, sizeof(c));
    memset(err, 0, sizeof(*err));
    c.err = err;
    int rc = parse(&c, xml, len);
    bool is_error = c.saw_root && c.root == E_ERROR;
    ctx_release(&c);
    if (rc == ETL_ENOMEM)
        return rc;
    /* A truncated error document still tells us its code. */
    return is_error && err->code[0] ? 0 : ETL_EHTTP;
}

static int decode_keys(struct s3_list_page *p)
{
    struct buf b = BUF_INIT;
    int rc = 0;
    for (size_t i = 0; !rc && i < p->n; i++) {
        buf_reset(&b);
        const char *k = p->items[i].key;
        rc = http_uri_decode(&b, k, strlen(k), true);
        if (rc)
            break;
        if (strlen(b.data) != b.len || b.len == 0)
            rc = ETL_EHTTP; /* %00 or empty */
        char *dec = rc ? NULL : buf_detach(&b, NULL);
        if (!rc && !dec)
            rc = ETL_ENOMEM;
        if (!rc) {
            free(p->items[i].key);
            p->items[i].key = dec;
        }
    }
    buf_release(&b);
    return rc;
}

int s3_list_parse(const char *xml, size_t len, struct s3_list_page *out,
                  struct s3_error *err)
{
    struct ctx c;
    struct s3_error scratch = {0};
    memset(&c, 0, sizeof(c));
    memset(out, 0, sizeof(*out));
    c.page = out;
    c.err = err ? err : &scratch;
    memset(c.err, 0, sizeof(*c.err));
    int rc = parse(&c, xml, len);
    if (!rc && c.root != E_LIST)
        rc = ETL_EHTTP; /* an <Error>, or not a listing at all */
    if (!rc && c.encoding_type && !strcmp(c.encoding_type, "url")) {
        out->url_encoded = true;
        rc = decode_keys(out);
    }
    for (size_t i = 0; !rc && i < out->n; i++)
        if (strlen(out->items[i].key) > STORE_KEY_MAX)
            rc = ETL_EHTTP;
    if (!rc && out->truncated && (!out->next_token || !*out->next_token))
        rc = ETL_EHTTP;
    ctx_release(&c);
    return rc;
}

void s3_list_page_release(struct s3_list_page *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++) {
        free(p->items[i].key);
        free(p->items[i].etag);
    }
    free(p->items);
    free(p->next_token);
    memset(p, 0, sizeof(*p));
}
