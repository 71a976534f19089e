/* Events: the seed's chain form, Step Functions Distributed Map batches and
 * S3 notifications, told apart by their top-level members and checked
 * strictly, so that a typo ("startAfter") is an error rather than a run
 * from the beginning. */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/err.h"
#include "etl/etl.h"
#include "lambda/lambda_int.h"
#include "store/http.h"
#include "store/storage.h"

bool lambda_run_id_valid(const char *s)
{
    size_t n = strlen(s);
    return n >= 1 && n <= 64 &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                     "0123456789_.-") == n &&
           strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

void lambda_event_release(struct lambda_event *ev)
{
    free(ev->run_id);
    free(ev->start_after);
    for (size_t i = 0; i < ev->nkeys; i++)
        free(ev->keys[i]);
    free(ev->keys);
    for (size_t i = 0; i < LAMBDA_SKIPPED_SHOWN; i++)
        free(ev->skipped[i].key);
    memset(ev, 0, sizeof(*ev));
}

static uint64_t fnv(uint64_t h, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static int bad(struct buf *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int bad(struct buf *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = buf_vprintf(err, fmt, ap);
    va_end(ap);
    return rc ? rc : ETL_EINVAL;
}

/* Text from the event for a message (a member name, the JSON parser's
 * excerpt), cut to fit out: control characters become '?', so a hostile
 * event cannot break the message's one line or forge log lines. */
static const char *printable(const char *s, char *out, size_t size)
{
    size_t n = 0;
    for (; s[n] && n + 1 < size; n++)
        out[n] = (unsigned char)s[n] < 0x20 || s[n] == 0x7f ? '?' : s[n];
    out[n] = '\0';
    return out;
}

/* A string member: *out = NULL when absent or null (if null_ok). */
static int get_string(json_t *obj, const char *name, const char *where,
                      bool null_ok, char **out, struct buf *err)
{
    json_t *v = json_object_get(obj, name);
    *out = NULL;
    if (!v || (null_ok && json_is_null(v)))
        return 0;
    if (!json_is_string(v) ||
        strlen(json_string_value(v)) != json_string_length(v))
        return bad(err, "%s%s must be a string%s", where, name,
                   null_ok ? " or null" : "");
    *out = strdup(json_string_value(v));
    return *out ? 0 : ETL_ENOMEM;
}

/* A non-negative integer member; *has = false when absent or null. */
static int get_count(json_t *obj, const char *name, const char *where,
                     bool *has, int64_t *out, struct buf *err)
{
    json_t *v = json_object_get(obj, name);
    *has = false;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return bad(err, "%s%s must be an integer >= 0", where, name);
    *out = (int64_t)json_integer_value(v);
    *has = true;
    return 0;
}

static int get_run_id(json_t *obj, const char *where, struct lambda_event *ev,
                      struct buf *err)
{
    int rc = get_string(obj, "run_id", where, true, &ev->run_id, err);
    if (!rc && ev->run_id && !lambda_run_id_valid(ev->run_id))
        rc = bad(err,
                 "%srun_id must be 1 to 64 characters from A-Z a-z 0-9 _ . - "
                 "(not \".\" or \"..\")",
                 where);
    return rc;
}

static int parse_chain(json_t *root, struct lambda_event *ev, struct buf *err)
{
    static const char *const known[] = {"start_after", "batch_id", "run_id",
                                        "chain_batches"};
    const char *name;
    json_t *v;
    json_object_foreach(root, name, v)
    {
        bool ok = false;
        for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
            ok = ok || strcmp(name, known[i]) == 0;
        char shown[101];
        if (!ok)
            return bad(err,
                       "unknown member \"%s\": a chain event has "
                       "start_after, batch_id and run_id (all optional); "
                       "Step Functions batches have Items, S3 "
                       "notifications Records",
                       printable(name, shown, sizeof(shown)));
    }
    ev->kind = LAMBDA_EVENT_CHAIN;
    ev->source = "chain";
    int rc = get_string(root, "start_after", "", true, &ev->start_after, err);
    if (!rc && json_is_null(json_object_get(root, "start_after"))) {
        ev->start_after = strdup("");
        if (!ev->start_after)
            rc = ETL_ENOMEM;
    }
    if (!rc && ev->start_after && *ev->start_after &&
        strlen(ev->start_after) > STORE_KEY_MAX)
        rc = bad(err, "start_after must be at most %d bytes", STORE_KEY_MAX);
    if (!rc)
        rc = get_count(root, "batch_id", "", &ev->has_batch_id, &ev->batch_id,
                       err);
    /* The chain names the next batch batch_id + 1. */
    if (!rc && ev->has_batch_id && ev->batch_id > CFG_BATCH_ID_MAX)
        rc = bad(err, "batch_id must be an integer from 0 to %lld",
                 (long long)CFG_BATCH_ID_MAX);
    bool has_hops = false;
    if (!rc)
        rc = get_count(root, "chain_batches", "", &has_hops, &ev->chain_batches,
                       err);
    if (!rc)
        rc = get_run_id(root, "", ev, err);
    return rc;
}

/* Record a key that is not processed (the first few by name). */
static int skip(struct lambda_event *ev, const char *key, size_t len,
                const char *reason)
{
    if (ev->nskipped < LAMBDA_SKIPPED_SHOWN) {
        struct lambda_skipped *s = &ev->skipped[ev->nskipped];
        s->key = strndup(key, len);
        s->reason = reason;
        if (!s->key)
            return ETL_ENOMEM;
    }
    ev->nskipped++;
    return 0;
}

/* Take key (len bytes) if it names a PDF under the prefix. A key the
 * pipeline cannot read (".." in it, too long, not UTF-8 once decoded) is
 * still taken: its row says why (error_type bad_key), where a skip would
 * be seen only in this response. Only a key with a NUL, which no C string
 * can carry, is skipped. */
static int add_key(struct lambda_event *ev, const char *key, size_t len,
                   const struct lambda_event_filter *f)
{
    if (len == 0 || strlen(key) != len)
        return skip(ev, key, strnlen(key, len), "unsafe_key");
    if (!etl_is_pdf_key(key))
        return skip(ev, key, len, "not_pdf");
    if (f->prefix && strncmp(key, f->prefix, strlen(f->prefix)) != 0)
        return skip(ev, key, len, "outside_prefix");
    char *k = strndup(key, len);
    if (!k)
        return ETL_ENOMEM;
    ev->keys[ev->nkeys++] = k;
    return 0;
}

struct key_ref {
    const char *key;
    size_t index;
};

static int ref_cmp(const void *a, const void *b)
{
    const struct key_ref *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->index < y->index ? -1 : x->index > y->index);
}

/* Keep the first of each key: a key listed twice would get two rows. */
static int drop_duplicates(struct lambda_event *ev)
{
    if (ev->nkeys < 2)
        return 0;
    struct key_ref *refs = malloc(ev->nkeys * sizeof(*refs));
    bool *dup = calloc(ev->nkeys, sizeof(*dup));
    if (!refs || !dup) {
        free(refs);
        free(dup);
        return ETL_ENOMEM;
    }
    for (size_t i = 0; i < ev->nkeys; i++)
        refs[i] = (struct key_ref){ev->keys[i], i};
    qsort(refs, ev->nkeys, sizeof(*refs), ref_cmp);
    for (size_t i = 1; i < ev->nkeys; i++)
        if (strcmp(refs[i].key, refs[i - 1].key) == 0)
            dup[refs[i].index] = true;
    free(refs);
    int rc = 0;
    size_t o = 0;
    for (size_t i = 0; i < ev->nkeys; i++) {
        if (!dup[i]) {
            ev->keys[o++] = ev->keys[i];
            continue;
        }
        const char *k = ev->keys[i];
        if (!rc && k)
            rc = skip(ev, k, strlen(k), "duplicate");
        free(ev->keys[i]);
    }
    ev->nkeys = o;
    free(dup);
    return rc;
}

static int parse_items(json_t *root, const struct lambda_event_filter *f,
                       struct lambda_event *ev, struct buf *err)
{
    ev->kind = LAMBDA_EVENT_KEYS;
    ev->source = "distributed_map";
    json_t *items = json_object_get(root, "Items");
    if (!json_is_array(items))
        return bad(err, "Items must be an array of {\"Key\": ...} objects");
    size_t n = json_array_size(items);
    if (n > LAMBDA_MAX_ITEMS)
        return bad(err, "Items has %zu entries; at most %d per batch", n,
                   LAMBDA_MAX_ITEMS);
    json_t *input = json_object_get(root, "BatchInput");
    if (input && !json_is_null(input) && !json_is_object(input))
        return bad(err, "BatchInput must be an object");
    int rc = 0;
    if (json_is_object(input)) {
        rc = get_run_id(input, "BatchInput.", ev, err);
        if (!rc)
            rc = get_count(input, "batch_id", "BatchInput.",
                           &ev->has_keys_batch_id, &ev->keys_batch_id, err);
    }
    ev->keys = calloc(n ? n : 1, sizeof(*ev->keys));
    if (!ev->keys)
        return ETL_ENOMEM;
    uint64_t h = 0xcbf29ce484222325ULL;
    bool all_indexed = n > 0;
    int64_t min_index = INT64_MAX;
    for (size_t i = 0; !rc && i < n; i++) {
        json_t *it = json_array_get(items, i);
        json_t *k = json_object_get(it, "Key");
        if (!json_is_object(it) || !json_is_string(k) ||
            json_string_length(k) == 0) {
            rc = bad(err, "Items[%zu].Key must be a non-empty string", i);
            break;
        }
        char where[48];
        snprintf(where, sizeof(where), "Items[%zu].", i);
        bool has_index = false;
        int64_t index = 0;
        rc = get_count(it, "Index", where, &has_index, &index, err);
        if (rc)
            break;
        all_indexed = all_indexed && has_index;
        if (has_index && index < min_index)
            min_index = index;
        const char *key = json_string_value(k);
        size_t len = json_string_length(k);
        h = fnv(fnv(h, key, len), "\n", 1);
        rc = add_key(ev, key, len, f);
    }
    ev->keys_hash = h;
    /* Items are disjoint between batches, so the first item's position in
     * the whole listing names this batch uniquely, and again on a retry. */
    if (!rc && !ev->has_keys_batch_id && all_indexed) {
        ev->has_keys_batch_id = true;
        ev->keys_batch_id = min_index;
    }
    return rc ? rc : drop_duplicates(ev);
}

static int parse_records(json_t *root, const struct lambda_event_filter *f,
                         struct lambda_event *ev, struct buf *err)
{
    ev->kind = LAMBDA_EVENT_KEYS;
    ev->source = "s3";
    json_t *recs = json_object_get(root, "Records");
    if (!json_is_array(recs))
        return bad(err, "Records must be an array of S3 event records");
    size_t n = json_array_size(recs);
    if (n > LAMBDA_MAX_ITEMS)
        return bad(err, "Records has %zu entries; at most %d", n,
                   LAMBDA_MAX_ITEMS);
    ev->keys = calloc(n ? n : 1, sizeof(*ev->keys));
    if (!ev->keys)
        return ETL_ENOMEM;
    uint64_t h = 0xcbf29ce484222325ULL;
    int rc = 0;
    struct buf key = BUF_INIT;
    for (size_t i = 0; !rc && i < n; i++) {
        json_t *r = json_array_get(recs, i);
        json_t *s3 = json_object_get(r, "s3");
        json_t *bucket = json_object_get(json_object_get(s3, "bucket"), "name");
        json_t *obj = json_object_get(s3, "object");
        json_t *k = json_object_get(obj, "key");
        if (!json_is_object(r) || !json_is_string(bucket) ||
            !json_is_string(k)) {
            rc = bad(err,
                     "Records[%zu] must have s3.bucket.name and "
                     "s3.object.key strings",
                     i);
            break;
        }
        const char *src = json_string_value(json_object_get(r, "eventSource"));
        const char *name = json_string_value(json_object_get(r, "eventName"));
        const char *seq = json_string_value(json_object_get(obj, "sequencer"));
        /* Keys arrive form-encoded: %XX escapes and '+' for a space. */
        buf_reset(&key);
        rc = http_uri_decode(&key, json_string_value(k), json_string_length(k),
                             true);
        if (rc)
            break;
        h = fnv(h, json_string_value(bucket),
                strlen(json_string_value(bucket)));
        h = fnv(fnv(fnv(h, "/", 1), key.data, key.len), "\n", 1);
        if (seq)
            h = fnv(fnv(h, seq, strlen(seq)), "\n", 1);
        if (src && strcmp(src, "aws:s3") != 0)
            rc = skip(ev, key.data, strnlen(key.data, key.len), "not_s3");
        else if (name && strncmp(name, "ObjectCreated:", 14) != 0)
            rc = skip(ev, key.data, strnlen(key.data, key.len),
                      "not_object_created");
        else if (f->bucket && strcmp(json_string_value(bucket), f->bucket) != 0)
            rc = skip(ev, key.data, strnlen(key.data, key.len), "other_bucket");
        else
            rc = add_key(ev, key.data, key.len, f);
    }
    buf_release(&key);
    ev->keys_hash = h;
    return rc ? rc : drop_duplicates(ev);
}

int lambda_event_parse(const char *json, size_t len,
                       const struct lambda_event_filter *f,
                       struct lambda_event *ev, struct buf *err)
{
    memset(ev, 0, sizeof(*ev));
    json_error_t je;
    json_t *root =
        json_loadb(json, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    char shown[sizeof(je.text)];
    if (!root)
        return bad(err, "the event is not valid JSON: %s (line %d, column %d)",
                   printable(je.text, shown, sizeof(shown)), je.line,
                   je.column);
    int rc;
    if (!json_is_object(root)) {
        rc = bad(err, "the event must be a JSON object");
    } else if (json_object_get(root, "Items")) {
        rc = parse_items(root, f, ev, err);
    } else if (json_object_get(root, "Records")) {
        rc = parse_records(root, f, ev, err);
    } else if (json_is_string(json_object_get(root, "Event")) &&
               strcmp(json_string_value(json_object_get(root, "Event")),
                      "s3:TestEvent") == 0) {
        /* Sent once when a notification is configured: nothing to do. */
        ev->kind = LAMBDA_EVENT_KEYS;
        ev->source = "s3";
        ev->s3_test_event = true;
        rc = 0;
    } else {
        rc = parse_chain(root, ev, err);
    }
    json_decref(root);
    return rc;
}
