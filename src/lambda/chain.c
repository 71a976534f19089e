/* The chain's small objects in the destination, next to the results:
 *
 *   METADATA_PREFIX_chain/RUN_ID/batch_N.started  batch N began (marker)
 *   METADATA_PREFIX_chain/RUN_ID/batch_N.claim    batch N-1 committed and
 *                                                 handed batch N its cursor
 *   METADATA_PREFIX_chain/RUN_ID/STOP             kill switch for one run
 *   KILL_SWITCH_KEY (METADATA_PREFIX_chain/STOP)  kill switch for all runs
 *
 * "_chain" starts with an underscore so that Spark, Hive and pyarrow
 * datasets reading METADATA_PREFIX skip it. Claims are written with
 * If-None-Match: * (STORE_PUT_IF_ABSENT): exactly one writer wins. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "lambda/lambda_int.h"
#include "store/storage.h"

#define CLAIM_MAX_BYTES (64u << 10)

void chain_claim_release(struct chain_claim *c)
{
    free(c->start_after);
    free(c->prev_start_after);
    free(c->last_key);
    memset(c, 0, sizeof(*c));
}

int chain_open(struct chain *ch, struct store *dst, const char *meta_prefix,
               const char *kill_switch_key, const char *run_id)
{
    struct buf dir = BUF_INIT, stop = BUF_INIT, all = BUF_INIT;
    memset(ch, 0, sizeof(*ch));
    ch->dst = dst;
    int rc = buf_printf(&dir, "%s_chain/%s/", meta_prefix, run_id);
    if (!rc)
        rc = buf_printf(&stop, "%sSTOP", dir.data);
    if (!rc)
        rc = kill_switch_key ? buf_addstr(&all, kill_switch_key)
                             : buf_printf(&all, "%s_chain/STOP", meta_prefix);
    if (!rc) {
        ch->dir = buf_detach(&dir, NULL);
        ch->run_stop = buf_detach(&stop, NULL);
        ch->global_stop = buf_detach(&all, NULL);
        if (!ch->dir || !ch->run_stop || !ch->global_stop)
            rc = ETL_ENOMEM;
    }
    buf_release(&dir);
    buf_release(&stop);
    buf_release(&all);
    if (rc)
        chain_close(ch);
    return rc;
}

void chain_close(struct chain *ch)
{
    free(ch->dir);
    free(ch->run_stop);
    free(ch->global_stop);
    memset(ch, 0, sizeof(*ch));
}

static int exists(struct chain *ch, const char *key)
{
    struct store_info info;
    int rc = store_head(ch->dst, key, &info);
    if (rc == 0)
        return 1;
    if (rc == ETL_ENOTFOUND)
        return 0;
    LOGF(LOG_ERROR, "chain_marker_unreadable", LF_S("key", key),
         LF_S("error", etl_strerror(rc)), LF_S("detail", store_last_error()));
    return rc;
}

int chain_stopped(struct chain *ch, const char **which)
{
    const char *keys[] = {ch->global_stop, ch->run_stop};
    for (size_t i = 0; i < 2; i++) {
        int rc = exists(ch, keys[i]);
        if (rc) {
            if (rc > 0)
                *which = keys[i];
            return rc;
        }
    }
    return 0;
}

static int batch_key(const struct chain *ch, int64_t batch_id,
                     const char *suffix, struct buf *out)
{
    return buf_printf(out, "%sbatch_%06lld.%s", ch->dir, (long long)batch_id,
                      suffix);
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static int put_json(struct chain *ch, const char *key, json_t *doc)
{
    char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(doc);
    if (!text)
        return ETL_ENOMEM;
    int rc = store_put(ch->dst, key, text, strlen(text), "application/json",
                       STORE_PUT_IF_ABSENT | STORE_PUT_DURABLE);
    free(text);
    if (rc && rc != ETL_EEXIST)
        LOGF(LOG_ERROR, "chain_marker_put_failed", LF_S("key", key),
             LF_S("error", etl_strerror(rc)),
             LF_S("detail", store_last_error()));
    return rc;
}

int chain_claim_put(struct chain *ch, const struct chain_claim *c)
{
    struct buf key = BUF_INIT;
    int rc = batch_key(ch, c->batch_id, "claim", &key);
    if (!rc)
        rc = put_json(
            ch, key.data,
            json_pack("{s:I, s:I, s:o, s:o, s:o, s:I, s:b, s:b, s:s, s:I, s:s, "
                      "s:I}",
                      "batch_id", (json_int_t)c->batch_id, "from_batch",
                      (json_int_t)c->from_batch, "start_after",
                      str_or_null(c->start_after), "prev_start_after",
                      str_or_null(c->prev_start_after), "last_key",
                      str_or_null(c->last_key), "pdfs", (json_int_t)c->pdfs,
                      "more", c->more, "invoke", c->invoke, "reason", c->reason,
                      "chain_batches", (json_int_t)c->chain_batches,
                      "request_id", c->request_id, "claimed_at_ms",
                      (json_int_t)clock_wall_ms()));
    buf_release(&key);
    return rc;
}

static int dup_member(json_t *doc, const char *name, char **out)
{
    json_t *v = json_object_get(doc, name);
    *out = NULL;
    if (json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return ETL_EINVAL;
    *out = strdup(json_string_value(v));
    return *out ? 0 : ETL_ENOMEM;
}

int chain_claim_read(struct chain *ch, int64_t batch_id,
                     struct chain_claim *out)
{
    struct buf key = BUF_INIT, body = BUF_INIT;
    memset(out, 0, sizeof(*out));
    int rc = batch_key(ch, batch_id, "claim", &key);
    if (!rc)
        rc = store_get(ch->dst, key.data, CLAIM_MAX_BYTES, &body, NULL);
    json_t *doc = NULL;
    if (!rc) {
        doc = json_loadb(body.data, body.len, 0, NULL);
        json_t *bid = json_object_get(doc, "batch_id");
        json_t *pdfs = json_object_get(doc, "pdfs");
        json_t *hops = json_object_get(doc, "chain_batches");
        json_t *from = json_object_get(doc, "from_batch");
        const char *reason = json_string_value(json_object_get(doc, "reason"));
        const char *req = json_string_value(json_object_get(doc, "request_id"));
        if (!json_is_integer(bid) || !json_is_integer(pdfs) ||
            !json_is_integer(hops) || !json_is_integer(from) ||
            !json_is_boolean(json_object_get(doc, "more")) ||
            !json_is_boolean(json_object_get(doc, "invoke")) ||
            json_integer_value(bid) != batch_id)
            rc = ETL_EINVAL;
        if (!rc) {
            out->batch_id = json_integer_value(bid);
            out->from_batch = json_integer_value(from);
            out->pdfs = json_integer_value(pdfs);
            out->chain_batches = json_integer_value(hops);
            out->more = json_is_true(json_object_get(doc, "more"));
            out->invoke = json_is_true(json_object_get(doc, "invoke"));
            snprintf(out->reason, sizeof(out->reason), "%s",
                     reason ? reason : "");
            snprintf(out->request_id, sizeof(out->request_id), "%s",
                     req ? req : "");
            rc = dup_member(doc, "start_after", &out->start_after);
        }
        if (!rc)
            rc = dup_member(doc, "prev_start_after", &out->prev_start_after);
        if (!rc)
            rc = dup_member(doc, "last_key", &out->last_key);
        if (rc == ETL_EINVAL)
            LOGF(LOG_ERROR, "chain_claim_malformed", LF_S("key", key.data));
    } else if (rc != ETL_ENOTFOUND) {
        LOGF(LOG_ERROR, "chain_marker_unreadable", LF_S("key", key.data),
             LF_S("error", etl_strerror(rc)),
             LF_S("detail", store_last_error()));
    }
    json_decref(doc);
    if (rc)
        chain_claim_release(out);
    buf_release(&key);
    buf_release(&body);
    return rc;
}

int chain_mark_started(struct chain *ch, int64_t batch_id,
                       const char *request_id, int64_t deadline_ms)
{
    struct buf key = BUF_INIT;
    int rc = batch_key(ch, batch_id, "started", &key);
    if (!rc)
        rc = put_json(ch, key.data,
                      json_pack("{s:I, s:s, s:I}", "batch_id",
                                (json_int_t)batch_id, "request_id", request_id,
                                "deadline_ms", (json_int_t)deadline_ms));
    buf_release(&key);
    return rc;
}

int chain_was_started(struct chain *ch, int64_t batch_id)
{
    struct buf key = BUF_INIT;
    int rc = batch_key(ch, batch_id, "started", &key);
    if (!rc)
        rc = exists(ch, key.data);
    buf_release(&key);
    return rc;
}

int chain_event_json(const char *run_id, const struct chain_claim *c,
                     struct buf *out)
{
    json_t *doc = json_pack("{s:o, s:I, s:s, s:I}", "start_after",
                            str_or_null(c->start_after), "batch_id",
                            (json_int_t)c->batch_id, "run_id", run_id,
                            "chain_batches", (json_int_t)c->chain_batches);
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    int rc = text ? buf_addstr(out, text) : ETL_ENOMEM;
    free(text);
    return rc;
}
