/* bpecg-etl invoke: run the Lambda handler once, here, on one event (like
 * the original's lambda_handler({}, None)) and print its response. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/clock.h"
#include "config/config.h"
#include "core/err.h"
#include "core/log.h"
#include "lambda/lambda.h"

#define EVENT_MAX (8u << 20)

static void print_help(void)
{
    puts("usage: bpecg-etl invoke (--event JSON | --event-file PATH) "
         "[--timeout-ms MS] [options]\n"
         "\n"
         "Runs the Lambda handler once on this machine and prints its\n"
         "response (or its error document) as JSON on stdout. Events:\n"
         "  {} or {\"start_after\": KEY, \"batch_id\": N, \"run_id\": ID}\n"
         "      one batch of a chain; the next batch is invoked on Lambda\n"
         "      only when AWS_LAMBDA_FUNCTION_NAME is set\n"
         "  {\"Items\": [{\"Key\": KEY}, ...], \"BatchInput\": {...}}\n"
         "      a Step Functions Distributed Map batch\n"
         "  {\"Records\": [{\"s3\": {...}}]}\n"
         "      an S3 event notification\n"
         "--event-file - reads the event from stdin. --timeout-ms gives the\n"
         "invocation a deadline, as a Lambda timeout would. Settings are\n"
         "the environment variables and flags of 'run' (SOURCE_BUCKET and\n"
         "DEST_BUCKET may be directories).\n"
         "\n"
         "exit status: 0 response; 1 response with failed PDFs; 2 usage,\n"
         "configuration or malformed event; 3 error response.");
}

static int read_event(const char *path, struct buf *out)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f)
        return ETL_ENOTFOUND;
    char chunk[65536];
    int rc = 0;
    for (;;) {
        size_t n = fread(chunk, 1, sizeof(chunk), f);
        if (n == 0 || rc)
            break;
        rc = buf_add(out, chunk, n);
    }
    if (!rc && ferror(f))
        rc = ETL_EIO;
    if (f != stdin)
        fclose(f);
    return rc;
}

int cmd_invoke(int argc, char **argv)
{
    struct etl_config cfg;
    struct cfg_args args;
    struct buf err = BUF_INIT, event;
    struct lambda_handler *h = NULL;
    const char *event_text = NULL, *event_file = NULL, *timeout = NULL;
    long long timeout_ms = 0;
    const struct cfg_option opts[] = {
        {.name = "event", .value = &event_text},
        {.name = "event-file", .value = &event_file},
        {.name = "timeout-ms", .value = &timeout},
        {NULL, 0, NULL, NULL, NULL},
    };
    buf_init(&event, EVENT_MAX);
    memset(&cfg, 0, sizeof(cfg));
    int status = cli_parse("invoke", opts, argc, argv, &args, print_help);
    if (status != CLI_GO_ON)
        goto out;
    status = EXIT_USAGE;
    if (args.positional_n) {
        fprintf(stderr, "bpecg-etl invoke: unexpected argument '%s'\n",
                args.positional[0]);
        goto out;
    }
    if (timeout) {
        char *end;
        errno = 0;
        timeout_ms = strtoll(timeout, &end, 10);
        if (errno || *end || end == timeout || timeout_ms < 1 ||
            timeout_ms > 900000) {
            fprintf(stderr,
                    "bpecg-etl invoke: --timeout-ms=%s: must be an integer "
                    "from 1 to 900000\n",
                    timeout);
            goto out;
        }
    }
    if (!event_text == !event_file) {
        fputs("bpecg-etl invoke: give the event with --event JSON or "
              "--event-file PATH (one of them)\n",
              stderr);
        goto out;
    }
    int rc = event_text ? buf_addstr(&event, event_text)
                        : read_event(event_file, &event);
    if (rc) {
        fprintf(stderr, "bpecg-etl invoke: reading %s: %s\n",
                event_file ? event_file : "--event", etl_strerror(rc));
        goto out;
    }
    if (cli_load("invoke", &args, &cfg) != CLI_GO_ON)
        goto out;
    rc = lambda_handler_new(&cfg, &h, &err);
    if (rc) {
        fprintf(stderr, "bpecg-etl invoke: %s\n", err.data);
        status = rc == ETL_ECONFIG ? EXIT_USAGE : EXIT_RUN_ERROR;
        goto out;
    }
    int64_t now = clock_wall_ms();
    struct lambda_invocation inv = {"", timeout_ms ? now + timeout_ms : 0,
                                    NULL};
    struct lambda_result r;
    lambda_result_init(&r);
    lambda_handle(h, event.data, event.len, &inv, &r);
    printf("%s\n", r.body.data);
    fflush(stdout);
    status = !r.is_error ? (r.failed_rows ? EXIT_FAILED_ROWS : EXIT_OK)
             : strcmp(r.error_type, "InvalidEvent") == 0 ? EXIT_USAGE
                                                         : EXIT_RUN_ERROR;
    if (r.must_exit)
        _exit(status); /* workers are stuck: they cannot be joined */
    lambda_result_release(&r);
out:
    cfg_args_release(&args);
    lambda_handler_free(h);
    cfg_release(&cfg);
    buf_release(&err);
    buf_release(&event);
    return status;
}
