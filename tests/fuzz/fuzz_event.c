/* libFuzzer target: the Lambda event parser (lambda/event.c) on arbitrary
 * bytes, as an invoker, a Distributed Map or an S3 notification could send
 * them, with and without a bucket and prefix filter. An accepted event
 * must name only safe PDF keys under the prefix, each once, and a valid
 * run id; parsing is deterministic; a refused one says why in one line. */
#include <stdbool.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "etl/etl.h"
#include "fuzz.h"
#include "lambda/lambda_int.h"
#include "store/storage.h"

static void check_event(const struct lambda_event *ev,
                        const struct lambda_event_filter *f)
{
    FUZZ_CHECK(ev->kind == LAMBDA_EVENT_CHAIN || ev->kind == LAMBDA_EVENT_KEYS);
    FUZZ_CHECK(ev->source && (!strcmp(ev->source, "chain") ||
                              !strcmp(ev->source, "distributed_map") ||
                              !strcmp(ev->source, "s3")));
    FUZZ_CHECK(!ev->run_id || lambda_run_id_valid(ev->run_id));
    FUZZ_CHECK(ev->nkeys <= LAMBDA_MAX_ITEMS);
    FUZZ_CHECK(ev->kind == LAMBDA_EVENT_KEYS || ev->nkeys == 0);
    for (size_t i = 0; i < ev->nkeys; i++) {
        const char *k = ev->keys[i];
        /* Keys need not be safe to read: one that is not gets its failed
         * row (bad_key) from the pipeline rather than vanish here. */
        FUZZ_CHECK(k != NULL && *k);
        FUZZ_CHECK(etl_is_pdf_key(k));
        FUZZ_CHECK(!f->prefix || !strncmp(k, f->prefix, strlen(f->prefix)));
        for (size_t j = 0; j < i; j++)
            FUZZ_CHECK(strcmp(k, ev->keys[j]) != 0);
    }
    size_t shown = ev->nskipped < LAMBDA_SKIPPED_SHOWN ? ev->nskipped
                                                       : LAMBDA_SKIPPED_SHOWN;
    for (size_t i = 0; i < shown; i++)
        FUZZ_CHECK(ev->skipped[i].key != NULL && ev->skipped[i].reason != NULL);
}

static void parse_with(const uint8_t *data, size_t size,
                       const struct lambda_event_filter *f)
{
    struct lambda_event ev, again;
    struct buf err = BUF_INIT, err2 = BUF_INIT;
    int rc = lambda_event_parse((const char *)data, size, f, &ev, &err);
    FUZZ_CHECK(rc == 0 || rc == ETL_EINVAL || rc == ETL_ENOMEM);
    if (rc == 0) {
        check_event(&ev, f);
        FUZZ_CHECK(lambda_event_parse((const char *)data, size, f, &again,
                                      &err2) == 0);
        FUZZ_CHECK(again.kind == ev.kind && again.nkeys == ev.nkeys);
        FUZZ_CHECK(again.keys_hash == ev.keys_hash);
        FUZZ_CHECK(again.has_batch_id == ev.has_batch_id &&
                   again.batch_id == ev.batch_id);
        for (size_t i = 0; i < ev.nkeys; i++)
            FUZZ_CHECK(strcmp(again.keys[i], ev.keys[i]) == 0);
        lambda_event_release(&again);
    } else if (rc == ETL_EINVAL) {
        FUZZ_CHECK(err.len > 0 && strchr(err.data, '\n') == NULL);
    }
    lambda_event_release(&ev);
    buf_release(&err);
    buf_release(&err2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct lambda_event_filter any = {NULL, NULL};
    static const struct lambda_event_filter site = {"ecg-bucket", "pdfs/"};
    parse_with(data, size, &any);
    parse_with(data, size, &site);
    return 0;
}
