/* The handler: one event -> one batch of the pipeline -> one response.
 *
 * Deadlines. With L = DEADLINE_MARGIN_MS, a batch stops starting PDFs when
 * less than L remains before Lambda's deadline and stops waiting for PDFs
 * in flight when L/2 remains (their rows say timeout, and the sandbox exits
 * after responding, since the stuck threads cannot be stopped). The last
 * L/2 is for writing the Parquet file, the claim and the next invocation.
 *
 * Chains (see lambda.h for the claim protocol). A chain batch that stopped
 * early hands on the exact cursor: the key of its last row. Keys batches
 * (Distributed Map, S3) must give every key one row: keys not started
 * before the deadline get failed "timeout" rows, the Parquet file is
 * written, and the invocation fails with BatchIncomplete so that Step
 * Functions' Retry (or Lambda's async retry) redoes the batch, which
 * rewrites the same file (its batch id depends only on the event): an
 * item ends with exactly one row, real unless every attempt ran out of
 * time. */
#include <jansson.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "etl/etl.h"
#include "lambda/lambda.h"
#include "lambda/lambda_int.h"
#include "store/storage.h"

struct lambda_handler {
    const struct etl_config *cfg;
    struct etl_ctx *etl;
    struct lambda_invoker *invoker;
    char *src_bucket; /* the source's S3 bucket, or NULL */
    /* The invocation in flight, read by the stop hook on worker threads.
     * The handler outlives any worker (see lambda_handler_free). */
    _Atomic int64_t soft_stop_ms; /* 0: never */
    atomic_bool stop_fired;
};

static bool deadline_near(void *arg)
{
    struct lambda_handler *h = arg;
    int64_t at = atomic_load(&h->soft_stop_ms);
    if (at && clock_wall_ms() >= at) {
        atomic_store(&h->stop_fired, true);
        return true;
    }
    return false;
}

void lambda_result_init(struct lambda_result *r)
{
    memset(r, 0, sizeof(*r));
    buf_init(&r->body, 0);
}

void lambda_result_release(struct lambda_result *r)
{
    buf_release(&r->body);
    memset(r, 0, sizeof(*r));
}

int lambda_handler_new(const struct etl_config *cfg,
                       struct lambda_handler **out, struct buf *err)
{
    *out = NULL;
    if (cfg->kill_switch_key && store_key_check(cfg->kill_switch_key)) {
        buf_printf(err,
                   "KILL_SWITCH_KEY=%s: must be an object key (relative, no "
                   "empty, . or .. part, no \\ or control character)",
                   cfg->kill_switch_key);
        return ETL_ECONFIG;
    }
    struct lambda_handler *h = calloc(1, sizeof(*h));
    if (!h)
        return ETL_ENOMEM;
    h->cfg = cfg;
    int rc = etl_ctx_new(cfg, &h->etl, err);
    if (!rc)
        rc = lambda_invoker_new(cfg, &h->invoker, err);
    if (!rc) {
        const char *name = store_name(etl_source_store(h->etl));
        if (strncmp(name, "s3://", 5) == 0) {
            h->src_bucket = strndup(name + 5, strcspn(name + 5, "/"));
            if (!h->src_bucket)
                rc = ETL_ENOMEM;
        }
    }
    if (rc) {
        if (rc == ETL_ENOMEM && !err->len)
            buf_addstr(err, "out of memory");
        lambda_handler_free(h);
        return rc;
    }
    etl_ctx_set_hooks(h->etl, NULL, deadline_near, h);
    *out = h;
    return 0;
}

void lambda_handler_free(struct lambda_handler *h)
{
    if (!h)
        return;
    etl_ctx_free(h->etl);
    lambda_invoker_free(h->invoker);
    free(h->src_bucket);
    free(h);
}

/* ---- results ------------------------------------------------------------ */

static void error_result(struct lambda_result *r, const char *type,
                         const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void error_result(struct lambda_result *r, const char *type,
                         const char *fmt, ...)
{
    struct buf msg = BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&msg, fmt, ap);
    va_end(ap);
    json_t *doc = json_pack("{s:s, s:s, s:[]}", "errorMessage", msg.data,
                            "errorType", type, "stackTrace");
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    buf_reset(&r->body);
    buf_addstr(&r->body,
               text ? text
                    : "{\"errorMessage\":\"out of memory\",\"errorType\":"
                      "\"Runtime.OutOfMemory\",\"stackTrace\":[]}");
    free(text);
    json_decref(doc);
    r->is_error = true;
    snprintf(r->error_type, sizeof(r->error_type), "%s", type);
    LOGF(LOG_ERROR, "lambda_error", LF_S("error_type", type),
         LF_S("message", msg.data));
    buf_release(&msg);
}

/* What a response reports; NULL strings become null. */
struct report {
    const char *source;
    const char *run_id;
    int64_t batch_id;
    const struct etl_batch_result *res; /* NULL: no batch ran */
    const char *start_after;            /* the batch's own cursor */
    const char *next_start_after;
    bool more;
    bool next_invoked;
    const char *next_reason; /* why no next invocation, or NULL */
    bool deadline_cut;
    bool duplicate;
    bool recovered;
    const char *note;
    const struct lambda_event *ev; /* for skipped keys, or NULL */
};

static json_t *jstr(const char *s)
{
    return s ? json_string(s) : json_null();
}

static void report_result(struct lambda_result *r, const struct report *p)
{
    const struct etl_batch_result *res = p->res;
    size_t zero[ETL_STATUS_COUNT] = {0};
    const size_t *by = res ? res->by_status : zero;
    json_t *skipped = json_array();
    struct buf key = BUF_INIT;
    for (size_t i = 0;
         p->ev && skipped && i < p->ev->nskipped && i < LAMBDA_SKIPPED_SHOWN;
         i++) {
        /* JSON holds only UTF-8: a key that is not is shown escaped, as
         * in source_key. */
        buf_reset(&key);
        etl_key_text(p->ev->skipped[i].key, &key);
        json_array_append_new(skipped,
                              json_pack("{s:s, s:s}", "key", key.data, "reason",
                                        p->ev->skipped[i].reason));
    }
    buf_release(&key);
    json_t *doc = json_pack(
        "{s:s, s:o, s:I, s:I, s:{s:I, s:I, s:I}, s:o, s:o, s:o, s:o, s:b, "
        "s:b, s:o, s:b, s:b, s:b, s:{s:I, s:I}, s:{s:I, s:o}, s:o}",
        "source", p->source, "run_id", jstr(p->run_id), "batch_id",
        (json_int_t)p->batch_id, "pdfs", (json_int_t)(res ? res->listed : 0),
        "counts", "success", (json_int_t)by[ETL_STATUS_SUCCESS], "partial",
        (json_int_t)by[ETL_STATUS_PARTIAL], "failed",
        (json_int_t)by[ETL_STATUS_FAILED], "parquet_key",
        jstr(res ? res->parquet_key : NULL), "start_after",
        jstr(p->start_after), "last_key", jstr(res ? res->last_key : NULL),
        "next_start_after", jstr(p->next_start_after), "more", p->more,
        "next_invoked", p->next_invoked, "next_reason", jstr(p->next_reason),
        "deadline_cut", p->deadline_cut, "duplicate", p->duplicate, "recovered",
        p->recovered, "timeouts", "abandoned",
        (json_int_t)(res ? res->abandoned : 0), "not_started",
        (json_int_t)(res ? res->not_started : 0), "skipped", "count",
        (json_int_t)(p->ev ? p->ev->nskipped : 0), "keys",
        skipped ? skipped : json_array(), "note", jstr(p->note));
    /* Rows failed because a crop could not be written: the destination's
     * trouble rather than the PDF's (FAIL_INVOCATION_ON=output). */
    if (doc)
        json_object_set_new(
            doc, "output_failed",
            json_integer(res ? (json_int_t)res->output_failed : 0));
    /* EXTRACT_WAVEFORMS: the batch's waveform file, next to parquet_key. */
    if (doc && res && res->waveform_key)
        json_object_set_new(doc, "waveform_key", jstr(res->waveform_key));
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (!text) {
        error_result(r, "Runtime.OutOfMemory", "out of memory");
        return;
    }
    buf_reset(&r->body);
    buf_addstr(&r->body, text);
    free(text);
    r->failed_rows = by[ETL_STATUS_FAILED] > 0;
    LOGF(res && res->output_failed ? LOG_WARN : LOG_INFO, "lambda_batch_done",
         LF_S("source", p->source), LF_S("run_id", p->run_id),
         LF_I("batch_id", p->batch_id), LF_I("pdfs", res ? res->listed : 0),
         LF_I("success", by[ETL_STATUS_SUCCESS]),
         LF_I("partial", by[ETL_STATUS_PARTIAL]),
         LF_I("failed", by[ETL_STATUS_FAILED]),
         LF_I("output_failed", res ? res->output_failed : 0),
         LF_S("next_start_after", p->next_start_after),
         LF_B("next_invoked", p->next_invoked),
         LF_S("next_reason", p->next_reason), LF_B("duplicate", p->duplicate),
         LF_B("deadline_cut", p->deadline_cut));
}

/* ---- chains --------------------------------------------------------------
 */

/* The run id of an event: given, RUN_ID, or the request id, so that a
 * duplicate delivery of a seed (same request id) joins the same chain
 * instead of starting a second one. Locally: the context's own. */
static void pick_run_id(struct lambda_handler *h, const char *given,
                        const struct lambda_invocation *inv, char out[72])
{
    const char *id = given ? given : h->cfg->run_id;
    if (!id && inv->request_id && lambda_run_id_valid(inv->request_id))
        id = inv->request_id;
    if (!id)
        id = etl_run_id(h->etl);
    snprintf(out, 72, "%s", id);
}

/* FAIL_INVOCATION_ON: does this batch's result fail the invocation? */
static bool policy_fails(const struct etl_config *cfg,
                         const struct etl_batch_result *res)
{
    switch (cfg->fail_invocation_on) {
    case CFG_FAIL_OUTPUT:
        return res->output_failed > 0;
    case CFG_FAIL_FAILED:
        return res->by_status[ETL_STATUS_FAILED] > 0;
    default:
        return false;
    }
}

static void policy_error(struct lambda_result *r, const struct etl_config *cfg,
                         const struct etl_batch_result *res, const char *what)
{
    /* The same counts as lambda_batch_done, for one metric filter. */
    LOGF(LOG_WARN, "lambda_batch_done", LF_I("batch_id", res->batch_id),
         LF_I("pdfs", res->listed),
         LF_I("success", res->by_status[ETL_STATUS_SUCCESS]),
         LF_I("partial", res->by_status[ETL_STATUS_PARTIAL]),
         LF_I("failed", res->by_status[ETL_STATUS_FAILED]),
         LF_I("output_failed", res->output_failed),
         LF_B("invocation_failed", true));
    error_result(
        r,
        cfg->fail_invocation_on == CFG_FAIL_OUTPUT ? "BatchOutputFailed"
                                                   : "BatchHasFailedRows",
        "batch %lld: %zu of %zu rows failed, %zu of them because an "
        "output could not be written (FAIL_INVOCATION_ON=%s); %s",
        (long long)res->batch_id, res->by_status[ETL_STATUS_FAILED],
        res->listed, res->output_failed,
        cfg->fail_invocation_on == CFG_FAIL_OUTPUT ? "output" : "failed", what);
}

struct commit {
    struct lambda_handler *h;
    struct chain *ch;
    const char *run_id;
    int64_t batch_id;
    const char *start_after;
    int64_t hops;
    const char *request_id;
    struct chain_claim claim; /* what was claimed */
    bool won;
    bool too_short;
    bool refused; /* FAIL_INVOCATION_ON: not committed */
};

/* Before batch N's Parquet file is written: decide about batch N+1 and
 * claim it. Only the winner writes; see lambda.h. */
static int commit_batch(void *arg, const struct etl_batch_result *res)
{
    struct commit *cm = arg;
    const struct etl_config *cfg = cm->h->cfg;
    struct chain_claim *c = &cm->claim;
    if (res->listed == 0 && res->more) {
        /* Out of time before the first PDF: claiming would hand the same
         * cursor on forever. */
        cm->too_short = true;
        return ETL_ETIMEDOUT;
    }
    if (policy_fails(cfg, res)) {
        /* Not committed: the retry the failed invocation brings finds no
         * claim and redoes the batch. */
        cm->refused = true;
        return ETL_ECANCELED;
    }
    c->batch_id = cm->batch_id + 1;
    c->from_batch = cm->batch_id;
    c->start_after =
        res->next_start_after ? strdup(res->next_start_after) : NULL;
    c->prev_start_after = cm->start_after ? strdup(cm->start_after) : NULL;
    c->last_key = res->last_key ? strdup(res->last_key) : NULL;
    if ((res->next_start_after && !c->start_after) ||
        (cm->start_after && !c->prev_start_after) ||
        (res->last_key && !c->last_key))
        return ETL_ENOMEM;
    c->pdfs = (int64_t)res->listed;
    c->more = res->more;
    c->chain_batches = cm->hops + 1;
    snprintf(c->request_id, sizeof(c->request_id), "%s", cm->request_id);
    const char *which = NULL;
    int stop = c->more ? chain_stopped(cm->ch, &which) : 0;
    if (stop < 0)
        return stop;
    const char *reason = !c->more ? "done"
                         : stop   ? "kill_switch"
                         : c->chain_batches >= cfg->max_chain_batches
                             ? "max_chain_batches"
                         : !cfg->aws_lambda_function_name ? "no_function_name"
                                                          : "";
    c->invoke = !*reason;
    snprintf(c->reason, sizeof(c->reason), "%s", reason);
    int rc = chain_claim_put(cm->ch, c);
    if (rc == 0)
        cm->won = true;
    return rc;
}

/* Invoke the batch a claim names. */
static int invoke_next(struct lambda_handler *h, const char *run_id,
                       const struct chain_claim *c, struct buf *detail)
{
    struct buf payload = BUF_INIT;
    int rc = chain_event_json(run_id, c, &payload);
    if (!rc)
        rc = lambda_invoke_async(h->invoker, h->cfg->aws_lambda_function_name,
                                 payload.data, payload.len, detail);
    if (!rc)
        LOGF(LOG_INFO, "lambda_next_invoked", LF_S("run_id", run_id),
             LF_I("batch_id", c->batch_id),
             LF_S("start_after", c->start_after));
    buf_release(&payload);
    return rc;
}

/* The PDF keys in (after, last], in listing order. */
static int list_range(struct lambda_handler *h, const char *after,
                      const char *last, char ***keys_out, size_t *n_out)
{
    struct store *src = etl_source_store(h->etl);
    const char *prefix = etl_source_prefix(h->etl);
    char **keys = NULL, *cursor = after ? strdup(after) : NULL;
    size_t n = 0, cap = 0;
    int rc = after && !cursor ? ETL_ENOMEM : 0;
    bool done = false;
    while (!rc && !done) {
        struct store_listing l = {0};
        rc = store_list_suffix(src, prefix, cursor, 1000, ".pdf", &l);
        for (size_t i = 0; !rc && i < l.n && !done; i++) {
            const char *k = l.items[i].key;
            if (strcmp(k, last) > 0) {
                done = true;
                break;
            }
            if (!etl_is_pdf_key(k))
                continue;
            if (n == cap) {
                size_t ncap = cap ? 2 * cap : 64;
                char **nk = realloc(keys, ncap * sizeof(*keys));
                if (!nk) {
                    rc = ETL_ENOMEM;
                    break;
                }
                keys = nk;
                cap = ncap;
            }
            keys[n++] = l.items[i].key;
            l.items[i].key = NULL;
        }
        if (!rc && !done) {
            done = !l.truncated || !l.cursor || strcmp(l.cursor, last) >= 0;
            if (!done) {
                free(cursor);
                cursor = strdup(l.cursor);
                if (!cursor)
                    rc = ETL_ENOMEM;
            }
        }
        store_listing_release(&l);
    }
    free(cursor);
    if (rc) {
        for (size_t i = 0; i < n; i++)
            free(keys[i]);
        free(keys);
        return rc;
    }
    *keys_out = keys;
    *n_out = n;
    return 0;
}

/* Batch N was committed before (its claim of N+1 exists): a duplicate
 * delivery, or a retry after a failure. Finish what may be missing. */
static void chain_duplicate(struct lambda_handler *h, struct chain *ch,
                            const char *run_id, int64_t batch_id,
                            const struct chain_claim *claim,
                            int64_t hard_deadline_ms, struct lambda_result *r)
{
    struct etl_batch_result res;
    struct buf pq = BUF_INIT, detail = BUF_INIT;
    struct store_info info;
    char **keys = NULL;
    size_t n = 0;
    bool recovered = false, invoked = false, have_res = false;
    const char *reason = claim->invoke ? NULL : claim->reason;
    const char *note = "batch already committed by another invocation";
    memset(&res, 0, sizeof(res));
    int rc = etl_parquet_key(h->etl, batch_id, &pq);

    /* The winner may have died between its claim and its Parquet file:
     * redo exactly the claimed keys. */
    if (!rc && claim->pdfs > 0 && claim->last_key) {
        rc = store_head(etl_dest_store(h->etl), pq.data, &info);
        if (rc == ETL_ENOTFOUND) {
            LOGF(LOG_WARN, "chain_batch_recovery", LF_S("run_id", run_id),
                 LF_I("batch_id", batch_id),
                 LF_S("start_after", claim->prev_start_after),
                 LF_S("last_key", claim->last_key));
            rc = list_range(h, claim->prev_start_after, claim->last_key, &keys,
                            &n);
            if (!rc) {
                /* The claimed range is fixed: no soft stop. */
                atomic_store(&h->soft_stop_ms, 0);
                struct etl_batch_opts o = {hard_deadline_ms, NULL, NULL};
                rc = etl_run_keys(h->etl, batch_id, (const char *const *)keys,
                                  n, &o, &res);
                have_res = true;
                recovered = true;
                note = "batch redone: its claim existed without its results";
                if (res.abandoned)
                    r->must_exit = true;
            }
        }
    }
    if (rc) {
        error_result(r, "BatchFailed", "batch %lld of run %s: %s%s%s",
                     (long long)batch_id, run_id, etl_strerror(rc),
                     *store_last_error() ? ": " : "", store_last_error());
        goto out;
    }
    /* The winner may have died before invoking the next batch. */
    if (claim->invoke) {
        const char *which = NULL;
        int stop = chain_stopped(ch, &which);
        int started = stop ? 0 : chain_was_started(ch, claim->batch_id);
        if (stop < 0 || started < 0) {
            error_result(r, "ChainError", "run %s: cannot read its markers: %s",
                         run_id, etl_strerror(stop < 0 ? stop : started));
            goto out;
        }
        if (stop) {
            reason = "kill_switch";
        } else if (!started) {
            rc = invoke_next(h, run_id, claim, &detail);
            if (rc) {
                error_result(r, "InvokeFailed",
                             "batch %lld of run %s: %s (retry to invoke "
                             "again)",
                             (long long)claim->batch_id, run_id, detail.data);
                goto out;
            }
            invoked = true;
        } else {
            reason = "already_started";
        }
    }
    struct report p = {0};
    p.source = "chain";
    p.run_id = run_id;
    p.batch_id = batch_id;
    p.res = have_res ? &res : NULL;
    p.start_after = claim->prev_start_after;
    p.next_start_after = claim->start_after;
    p.more = claim->more;
    p.next_invoked = invoked;
    p.next_reason = reason;
    p.duplicate = true;
    p.recovered = recovered;
    p.note = note;
    report_result(r, &p);
out:
    if (!r->must_exit) {
        for (size_t i = 0; i < n; i++)
            free(keys[i]);
        free(keys);
    }
    etl_batch_result_release(&res);
    buf_release(&pq);
    buf_release(&detail);
}

static void handle_chain(struct lambda_handler *h,
                         const struct lambda_event *ev,
                         const struct lambda_invocation *inv,
                         int64_t hard_deadline_ms, struct lambda_result *r)
{
    const struct etl_config *cfg = h->cfg;
    char run_id[72];
    pick_run_id(h, ev->run_id, inv, run_id);
    int64_t batch_id = ev->has_batch_id ? ev->batch_id : cfg->batch_id;
    const char *after = ev->start_after ? ev->start_after : cfg->start_after;
    if (after && !*after)
        after = NULL;
    struct chain ch;
    struct chain_claim prior = {0};
    struct etl_batch_result res;
    struct buf detail = BUF_INIT;
    memset(&res, 0, sizeof(res));
    struct commit cm = {h,
                        &ch,
                        run_id,
                        batch_id,
                        after,
                        ev->chain_batches,
                        inv->request_id ? inv->request_id : ""};
    struct report p = {0};
    p.source = "chain";
    p.run_id = run_id;
    p.batch_id = batch_id;
    p.start_after = after;

    int rc = etl_ctx_set_run_id(h->etl, run_id);
    if (!rc)
        rc =
            chain_open(&ch, etl_dest_store(h->etl), etl_metadata_prefix(h->etl),
                       cfg->kill_switch_key, run_id);
    if (rc) {
        error_result(r, "Runtime.OutOfMemory", "%s", etl_strerror(rc));
        return;
    }
    LOGF(LOG_INFO, "lambda_chain_batch", LF_S("run_id", run_id),
         LF_I("batch_id", batch_id), LF_S("start_after", after),
         LF_I("chain_batches", ev->chain_batches),
         LF_S("request_id", inv->request_id));

    const char *which = NULL;
    rc = chain_stopped(&ch, &which);
    if (rc) {
        if (rc < 0) {
            error_result(r, "ChainError",
                         "run %s: cannot read the kill "
                         "switch: %s",
                         run_id, etl_strerror(rc));
        } else {
            p.next_start_after = after;
            p.more = true;
            p.next_reason = "kill_switch";
            p.note = which;
            report_result(r, &p);
        }
        goto out;
    }
    if (ev->chain_batches >= cfg->max_chain_batches) {
        p.next_start_after = after;
        p.more = true;
        p.next_reason = "max_chain_batches";
        p.note = "the chain already ran MAX_CHAIN_BATCHES batches";
        report_result(r, &p);
        goto out;
    }
    rc = chain_claim_read(&ch, batch_id + 1, &prior);
    if (rc == 0) {
        chain_duplicate(h, &ch, run_id, batch_id, &prior, hard_deadline_ms, r);
        goto out;
    }
    if (rc != ETL_ENOTFOUND) {
        error_result(r, "ChainError",
                     "run %s: cannot read the claim of batch "
                     "%lld: %s",
                     run_id, (long long)batch_id + 1, etl_strerror(rc));
        goto out;
    }
    rc = chain_mark_started(&ch, batch_id, cm.request_id, inv->deadline_ms);
    if (rc == ETL_EEXIST)
        /* Redelivered while (or after) another invocation ran it without
         * committing. Running it again is safe: only one can commit. */
        LOGF(LOG_WARN, "chain_batch_redelivered", LF_S("run_id", run_id),
             LF_I("batch_id", batch_id));
    else if (rc) {
        error_result(r, "ChainError",
                     "run %s: cannot mark batch %lld "
                     "started: %s",
                     run_id, (long long)batch_id, etl_strerror(rc));
        goto out;
    }

    struct etl_batch_opts o = {hard_deadline_ms, commit_batch, &cm};
    rc = etl_run_batch_ex(h->etl, batch_id, after, &o, &res);
    if (res.abandoned)
        r->must_exit = true;
    if (rc == ETL_EEXIST && !cm.won) {
        p.duplicate = true;
        p.more = true;
        p.note = "another invocation committed this batch first";
        report_result(r, &p);
        goto out;
    }
    if (cm.refused) {
        policy_error(r, cfg, &res,
                     "the batch was not committed, so a retry redoes it");
        goto out;
    }
    if (cm.too_short) {
        error_result(r, "DeadlineTooShort",
                     "batch %lld of run %s: less than DEADLINE_MARGIN_MS "
                     "(%d ms) was left when it began: raise the function's "
                     "timeout or lower DEADLINE_MARGIN_MS",
                     (long long)batch_id, run_id, cfg->deadline_margin_ms);
        goto out;
    }
    if (rc == ETL_ECONFLICT) {
        error_result(r, "BatchExists", "batch %lld of run %s: %s",
                     (long long)batch_id, run_id, etl_batch_conflict(h->etl));
        goto out;
    }
    if (rc) {
        const char *d =
            rc == ETL_EDEST ? etl_dest_problem(h->etl) : store_last_error();
        error_result(r, "BatchFailed", "batch %lld of run %s: %s%s%s%s",
                     (long long)batch_id, run_id, etl_strerror(rc),
                     *d ? ": " : "", d,
                     cm.won ? " (claimed: a retry redoes it)" : "");
        goto out;
    }
    p.res = &res;
    p.next_start_after = res.next_start_after;
    p.more = res.more;
    p.deadline_cut = atomic_load(&h->stop_fired);
    if (cm.won && cm.claim.invoke) {
        rc = invoke_next(h, run_id, &cm.claim, &detail);
        if (rc) {
            error_result(r, "InvokeFailed",
                         "batch %lld of run %s is written but the next batch "
                         "could not be invoked: %s (a retry invokes it)",
                         (long long)batch_id, run_id, detail.data);
            goto out;
        }
        p.next_invoked = true;
    } else if (cm.won) {
        p.next_reason = cm.claim.reason;
    } else {
        /* An empty listing: no PDF, nothing claimed. */
        p.next_reason = "done";
    }
    report_result(r, &p);
out:
    chain_claim_release(&prior);
    chain_claim_release(&cm.claim);
    etl_batch_result_release(&res);
    buf_release(&detail);
    chain_close(&ch);
}

/* ---- keys batches ----------------------------------------------------- */

static void handle_keys(struct lambda_handler *h, const struct lambda_event *ev,
                        const struct lambda_invocation *inv,
                        int64_t hard_deadline_ms, struct lambda_result *r)
{
    char run_id[72];
    pick_run_id(h, ev->run_id, inv, run_id);
    /* A stable id: the same event (retry, redelivery) rewrites the same
     * file. */
    int64_t batch_id = ev->has_keys_batch_id ? ev->keys_batch_id
                                             : (int64_t)(ev->keys_hash >> 2);
    struct etl_batch_result res;
    memset(&res, 0, sizeof(res));
    struct report p = {0};
    p.source = ev->source;
    p.run_id = run_id;
    p.batch_id = batch_id;
    p.ev = ev;
    if (ev->s3_test_event) {
        p.note = "S3 test event: nothing to do";
        report_result(r, &p);
        return;
    }
    int rc = etl_ctx_set_run_id(h->etl, run_id);
    LOGF(LOG_INFO, "lambda_keys_batch", LF_S("source", ev->source),
         LF_S("run_id", run_id), LF_I("batch_id", batch_id),
         LF_I("keys", ev->nkeys), LF_I("skipped", ev->nskipped),
         LF_S("request_id", inv->request_id));
    struct etl_batch_opts o = {hard_deadline_ms, NULL, NULL};
    if (!rc)
        rc = etl_run_keys(h->etl, batch_id, (const char *const *)ev->keys,
                          ev->nkeys, &o, &res);
    if (res.abandoned)
        r->must_exit = true;
    if (rc == ETL_ECONFLICT) {
        error_result(r, "BatchExists", "batch %lld: %s", (long long)batch_id,
                     etl_batch_conflict(h->etl));
    } else if (rc) {
        const char *d =
            rc == ETL_EDEST ? etl_dest_problem(h->etl) : store_last_error();
        error_result(r, "BatchFailed", "batch %lld: %s%s%s",
                     (long long)batch_id, etl_strerror(rc), *d ? ": " : "", d);
    } else if (res.not_started) {
        error_result(r, "BatchIncomplete",
                     "batch %lld: %zu of %zu keys were not started before "
                     "the deadline (DEADLINE_MARGIN_MS); %s has timeout rows "
                     "for them and a retry of this event rewrites it",
                     (long long)batch_id, res.not_started, res.listed,
                     res.parquet_key ? res.parquet_key : "the batch file");
    } else if (policy_fails(h->cfg, &res)) {
        policy_error(r, h->cfg, &res,
                     "its results are written and a retry of this event "
                     "rewrites them");
    } else {
        p.res = &res;
        p.deadline_cut = atomic_load(&h->stop_fired);
        report_result(r, &p);
    }
    etl_batch_result_release(&res);
}

void lambda_handle(struct lambda_handler *h, const char *event, size_t len,
                   const struct lambda_invocation *inv, struct lambda_result *r)
{
    const struct etl_config *cfg = h->cfg;
    int64_t margin = cfg->deadline_margin_ms;
    int64_t hard = inv->deadline_ms ? inv->deadline_ms - margin / 2 : 0;
    atomic_store(&h->soft_stop_ms,
                 inv->deadline_ms ? inv->deadline_ms - margin : 0);
    atomic_store(&h->stop_fired, false);
    buf_reset(&r->body);
    r->is_error = r->must_exit = r->failed_rows = false;
    r->error_type[0] = '\0';

    struct lambda_event ev;
    struct buf err = BUF_INIT;
    struct lambda_event_filter f = {h->src_bucket, etl_source_prefix(h->etl)};
    int rc = lambda_event_parse(event, len, &f, &ev, &err);
    if (rc == ETL_ENOMEM)
        error_result(r, "Runtime.OutOfMemory", "out of memory");
    else if (rc)
        error_result(r, "InvalidEvent", "%s", err.data);
    else if (ev.kind == LAMBDA_EVENT_CHAIN)
        handle_chain(h, &ev, inv, hard, r);
    else
        handle_keys(h, &ev, inv, hard, r);
    atomic_store(&h->soft_stop_ms, 0);
    buf_release(&err);
    /* After abandoned workers, keys they may still read must stay. */
    if (!r->must_exit)
        lambda_event_release(&ev);
}
