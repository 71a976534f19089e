/* Lambda events: the three forms, what each takes from the event, which
 * keys are skipped and why, stable batch ids, and the exact message of
 * each malformed event. */
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "harness.h"
#include "lambda/lambda_int.h"

static const struct lambda_event_filter src = {"src", "pdfs/"};

static int parse(const char *json, struct lambda_event *ev, struct buf *err)
{
    buf_reset(err);
    return lambda_event_parse(json, strlen(json), &src, ev, err);
}

TEST(chain_events)
{
    struct lambda_event ev;
    struct buf err = BUF_INIT;
    CHECK_EQ_INT(parse("{}", &ev, &err), 0);
    CHECK_EQ_INT(ev.kind, LAMBDA_EVENT_CHAIN);
    CHECK_EQ_STR(ev.source, "chain");
    CHECK(ev.start_after == NULL && ev.run_id == NULL && !ev.has_batch_id);
    CHECK_EQ_INT(ev.chain_batches, 0);
    lambda_event_release(&ev);

    CHECK_EQ_INT(parse("{\"start_after\": \"pdfs/x.pdf\", \"batch_id\": 7, "
                       "\"run_id\": \"run-1.a_b\", \"chain_batches\": 3}",
                       &ev, &err),
                 0);
    CHECK_EQ_STR(ev.start_after, "pdfs/x.pdf");
    CHECK(ev.has_batch_id);
    CHECK_EQ_INT(ev.batch_id, 7);
    CHECK_EQ_STR(ev.run_id, "run-1.a_b");
    CHECK_EQ_INT(ev.chain_batches, 3);
    lambda_event_release(&ev);

    /* null means "from the beginning", as does "". */
    CHECK_EQ_INT(
        parse("{\"start_after\": null, \"batch_id\": null}", &ev, &err), 0);
    CHECK_EQ_STR(ev.start_after, "");
    CHECK(!ev.has_batch_id);
    lambda_event_release(&ev);

    /* The next batch is batch_id + 1: it must not overflow. */
    buf_reset(&err);
    CHECK_EQ_INT(parse("{\"batch_id\": 9223372036854775807}", &ev, &err),
                 ETL_EINVAL);
    CHECK_EQ_STR(err.data, "batch_id must be an integer from 0 to "
                           "999999999999");
    lambda_event_release(&ev);
    buf_reset(&err);
    CHECK_EQ_INT(parse("{\"batch_id\": 999999999999}", &ev, &err), 0);
    CHECK_EQ_INT(ev.batch_id, 999999999999LL);
    lambda_event_release(&ev);
    buf_release(&err);
}

TEST(distributed_map)
{
    struct lambda_event ev;
    struct buf err = BUF_INIT;
    const char *e =
        "{\"Items\": [{\"Key\": \"pdfs/b.pdf\", \"Index\": 41, \"Size\": 9},"
        " {\"Key\": \"pdfs/a.PDF\", \"Index\": 40},"
        " {\"Key\": \"pdfs/readme.txt\", \"Index\": 42},"
        " {\"Key\": \"other/c.pdf\", \"Index\": 43},"
        " {\"Key\": \"pdfs/b.pdf\", \"Index\": 44},"
        " {\"Key\": \"pdfs/../x.pdf\", \"Index\": 45}],"
        " \"BatchInput\": {\"run_id\": \"exec-1\", \"other\": true}}";
    CHECK_EQ_INT(parse(e, &ev, &err), 0);
    CHECK_EQ_INT(ev.kind, LAMBDA_EVENT_KEYS);
    CHECK_EQ_STR(ev.source, "distributed_map");
    CHECK_EQ_STR(ev.run_id, "exec-1");
    /* Event order, duplicates dropped; a key that cannot be read is kept
     * (its row will say bad_key). */
    CHECK_EQ_INT(ev.nkeys, 3);
    CHECK_EQ_STR(ev.keys[0], "pdfs/b.pdf");
    CHECK_EQ_STR(ev.keys[1], "pdfs/a.PDF");
    CHECK_EQ_STR(ev.keys[2], "pdfs/../x.pdf");
    /* The first item's position names the batch. */
    CHECK(ev.has_keys_batch_id);
    CHECK_EQ_INT(ev.keys_batch_id, 40);
    CHECK_EQ_INT(ev.nskipped, 3);
    CHECK_EQ_STR(ev.skipped[0].reason, "not_pdf");
    CHECK_EQ_STR(ev.skipped[1].reason, "outside_prefix");
    CHECK_EQ_STR(ev.skipped[2].key, "pdfs/b.pdf");
    CHECK_EQ_STR(ev.skipped[2].reason, "duplicate");
    uint64_t h = ev.keys_hash;
    lambda_event_release(&ev);

    /* The same event hashes alike; an explicit batch_id wins. */
    CHECK_EQ_INT(parse(e, &ev, &err), 0);
    CHECK(ev.keys_hash == h);
    lambda_event_release(&ev);
    CHECK_EQ_INT(parse("{\"Items\": [{\"Key\": \"pdfs/a.pdf\", \"Index\": 4}],"
                       " \"BatchInput\": {\"batch_id\": 9}}",
                       &ev, &err),
                 0);
    CHECK_EQ_INT(ev.keys_batch_id, 9);
    lambda_event_release(&ev);
    /* Without Index on every item there is no positional id. */
    CHECK_EQ_INT(parse("{\"Items\": [{\"Key\": \"pdfs/a.pdf\", \"Index\": 4},"
                       " {\"Key\": \"pdfs/b.pdf\"}]}",
                       &ev, &err),
                 0);
    CHECK(!ev.has_keys_batch_id);
    CHECK(ev.keys_hash != h);
    lambda_event_release(&ev);
    CHECK_EQ_INT(parse("{\"Items\": []}", &ev, &err), 0);
    CHECK_EQ_INT(ev.nkeys, 0);
    lambda_event_release(&ev);
    buf_release(&err);
}

TEST(s3_notifications)
{
    struct lambda_event ev;
    struct buf err = BUF_INIT;
    const char *e =
        "{\"Records\": ["
        "{\"eventSource\": \"aws:s3\", \"eventName\": \"ObjectCreated:Put\","
        " \"s3\": {\"bucket\": {\"name\": \"src\"}, \"object\": {\"key\":"
        " \"pdfs/a+b%2Bc%C3%A9.pdf\", \"sequencer\": \"01\"}}},"
        "{\"eventName\": \"ObjectRemoved:Delete\", \"s3\": {\"bucket\":"
        " {\"name\": \"src\"}, \"object\": {\"key\": \"pdfs/gone.pdf\"}}},"
        "{\"s3\": {\"bucket\": {\"name\": \"elsewhere\"}, \"object\":"
        " {\"key\": \"pdfs/x.pdf\"}}},"
        "{\"s3\": {\"bucket\": {\"name\": \"src\"}, \"object\": {\"key\":"
        " \"pdfs/nul%00.pdf\"}}},"
        "{\"s3\": {\"bucket\": {\"name\": \"src\"}, \"object\": {\"key\":"
        " \"pdfs/caf%E9.pdf\"}}}]}";
    CHECK_EQ_INT(parse(e, &ev, &err), 0);
    CHECK_EQ_STR(ev.source, "s3");
    /* caf%E9 decodes to a key that is not UTF-8: one row (bad_key), not
     * a failed notification. */
    CHECK_EQ_INT(ev.nkeys, 2);
    CHECK_EQ_STR(ev.keys[0], "pdfs/a b+c\xc3\xa9.pdf");
    CHECK_EQ_STR(ev.keys[1], "pdfs/caf\xe9.pdf");
    CHECK_EQ_INT(ev.nskipped, 3);
    CHECK_EQ_STR(ev.skipped[0].reason, "not_object_created");
    CHECK_EQ_STR(ev.skipped[1].reason, "other_bucket");
    CHECK_EQ_STR(ev.skipped[2].reason, "unsafe_key");
    CHECK(!ev.has_keys_batch_id);
    lambda_event_release(&ev);

    CHECK_EQ_INT(parse("{\"Service\": \"Amazon S3\", \"Event\": "
                       "\"s3:TestEvent\"}",
                       &ev, &err),
                 0);
    CHECK(ev.s3_test_event);
    CHECK_EQ_INT(ev.nkeys, 0);
    lambda_event_release(&ev);
    buf_release(&err);
}

TEST(malformed)
{
    static const struct {
        const char *json, *msg;
    } cases[] = {
        {"[1]", "the event must be a JSON object"},
        {"{\"start_after\": 1}", "start_after must be a string or null"},
        {"{\"batch_id\": 1.5}", "batch_id must be an integer >= 0"},
        {"{\"chain_batches\": -2}", "chain_batches must be an integer >= 0"},
        {"{\"run_id\": \"\"}", "run_id must be 1 to 64 characters from A-Z "
                               "a-z 0-9 _ . - (not \".\" or \"..\")"},
        {"{\"run_id\": \"..\"}", "run_id must be 1 to 64 characters from A-Z "
                                 "a-z 0-9 _ . - (not \".\" or \"..\")"},
        {"{\"Items\": {}}", "Items must be an array of {\"Key\": ...} objects"},
        {"{\"Items\": [\"pdfs/a.pdf\"]}",
         "Items[0].Key must be a non-empty string"},
        {"{\"Items\": [{\"Key\": \"\"}]}",
         "Items[0].Key must be a non-empty string"},
        {"{\"Items\": [], \"BatchInput\": 3}", "BatchInput must be an object"},
        {"{\"Records\": {}}", "Records must be an array of S3 event records"},
        {"{\"Records\": [{\"s3\": {}}]}",
         "Records[0] must have s3.bucket.name and s3.object.key strings"},
    };
    struct buf err = BUF_INIT;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct lambda_event ev;
        int rc = parse(cases[i].json, &ev, &err);
        if (rc != ETL_EINVAL || strcmp(err.data, cases[i].msg) != 0)
            HARNESS_FAIL("%s: rc %d, \"%s\", want \"%s\"", cases[i].json, rc,
                         err.data, cases[i].msg);
        lambda_event_release(&ev);
    }
    struct lambda_event ev;
    CHECK_EQ_INT(
        parse("{\"start_after\": \"x\", \"start_after\": \"y\"}", &ev, &err),
        ETL_EINVAL);
    CHECK(strncmp(err.data, "the event is not valid JSON: duplicate", 38) == 0);
    lambda_event_release(&ev);
    CHECK_EQ_INT(parse("{\"startAfter\": \"x\"}", &ev, &err), ETL_EINVAL);
    CHECK(strncmp(err.data, "unknown member \"startAfter\"", 27) == 0);
    lambda_event_release(&ev);
    buf_release(&err);
}

TEST(run_ids)
{
    CHECK(lambda_run_id_valid("8476a536-e9f4-11e8-9739-2dfe598c3fcd"));
    CHECK(lambda_run_id_valid("a.b_c-D"));
    CHECK(!lambda_run_id_valid(""));
    CHECK(!lambda_run_id_valid("."));
    CHECK(!lambda_run_id_valid("a/b"));
    CHECK(!lambda_run_id_valid("a b"));
    char long_id[66];
    memset(long_id, 'x', 65);
    long_id[65] = '\0';
    CHECK(!lambda_run_id_valid(long_id));
    long_id[64] = '\0';
    CHECK(lambda_run_id_valid(long_id));
}

int main(void)
{
    RUN(chain_events);
    RUN(distributed_map);
    RUN(s3_notifications);
    RUN(malformed);
    RUN(run_ids);
    return harness_done();
}
