/* bpecg-etl run: batch after batch until the listing is exhausted. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
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
#include "etl/etl.h"
#include "store/storage.h"

static volatile sig_atomic_t interrupted;

/* The first Ctrl-C stops taking new PDFs and writes what is done; a second
 * one ends the process at once (the handler resets itself). */
static void on_signal(int sig)
{
    interrupted = 1;
    signal(sig, SIG_DFL);
}

struct progress {
    bool shown;
    double t0;
    size_t done, failed;
    atomic_size_t total; /* PDFs in the whole listing; 0 = still counting */
    double last_draw;
};

static void progress_draw(struct progress *p, bool force)
{
    double t = clock_mono_ms() / 1e3;
    if (!p->shown || (!force && t - p->last_draw < 0.1))
        return;
    p->last_draw = t;
    double el = t - p->t0;
    double rate = el > 0 ? (double)p->done / el : 0;
    size_t total = atomic_load(&p->total);
    char line[160], eta[32] = "";
    if (total >= p->done && total && rate > 0) {
        long s = (long)((double)(total - p->done) / rate);
        snprintf(eta, sizeof(eta), "  ETA %ld:%02ld:%02ld", s / 3600,
                 s / 60 % 60, s % 60);
    }
    if (total)
        snprintf(line, sizeof(line), "%zu/%zu PDFs  %.1f PDFs/s  %zu failed%s",
                 p->done, total, rate, p->failed, eta);
    else
        snprintf(line, sizeof(line), "%zu PDFs  %.1f PDFs/s  %zu failed",
                 p->done, rate, p->failed);
    log_progress(line);
}

static void on_pdf_done(void *arg, enum etl_status status)
{
    struct progress *p = arg;
    p->done++;
    p->failed += status == ETL_STATUS_FAILED;
    progress_draw(p, false);
}

static bool should_stop(void *arg)
{
    (void)arg;
    return interrupted != 0;
}

/* Counts the PDFs of the whole listing in the background, so the progress
 * line can show a total and an ETA without delaying the first batch. */
struct counter {
    struct etl_ctx *ctx;
    const char *start_after;
    atomic_size_t *total;
    atomic_bool stop;
};

static void *count_main(void *arg)
{
    struct counter *c = arg;
    size_t n = 0;
    if (etl_count_pdfs(c->ctx, c->start_after, &c->stop, &n) == 0)
        atomic_store(c->total, n);
    return NULL;
}

/* key as one shell word, so that a printed resume command can be pasted:
 * bash's $'...' with \xNN for every control, DEL or non-ASCII byte, so
 * no byte of a hostile key reaches the terminal as it is. */
static const char *shell_word(const char *key, struct buf *out)
{
    buf_reset(out);
    if (*key && strspn(key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu"
                            "vwxyz0123456789/._-+=@%,:") == strlen(key))
        return buf_addstr(out, key) ? "?" : out->data;
    buf_addstr(out, "$'");
    for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
        if (*p == '\\' || *p == '\'')
            buf_printf(out, "\\%c", *p);
        else if (*p < 0x20 || *p >= 0x7f)
            buf_printf(out, "\\x%02x", *p);
        else
            buf_addch(out, (char)*p);
    }
    buf_addch(out, '\'');
    return out->data;
}

static void print_help(void)
{
    puts(
        "usage: bpecg-etl run --source URL --dest URL [options]\n"
        "\n"
        "Processes every *.pdf (any case) under the source, in listing (byte)\n"
        "order, BATCH_SIZE at a time, CONCURRENCY at once, until the listing\n"
        "is exhausted. Writes IMAGE_PREFIX{file_id}/{region}.jpg and\n"
        "METADATA_PREFIX batch_NNNNNN.parquet under the destination.\n"
        "\n"
        "Every setting is an environment variable and a flag (flags win);\n"
        "'bpecg-etl settings' lists them.\n"
        "\n"
        "exit status: 0 all PDFs success or partial; 1 some failed (their\n"
        "rows are written); 2 usage or configuration error; 3 the run could\n"
        "not complete (cannot list or write, or interrupted).");
}

int cmd_run(int argc, char **argv)
{
    struct etl_config cfg;
    struct buf err = BUF_INIT;
    struct etl_ctx *ctx = NULL;
    struct progress prog = {0};
    int status = EXIT_OK;

    struct cfg_args args;
    memset(&cfg, 0, sizeof(cfg));
    int rc;
    status = cli_parse("run", NULL, argc, argv, &args, print_help);
    if (status != CLI_GO_ON)
        goto out;
    if (args.positional_n) {
        fprintf(stderr,
                "bpecg-etl run: unexpected argument '%s' (settings are "
                "--name value flags)\n",
                args.positional[0]);
        status = EXIT_USAGE;
        goto out;
    }
    status = cli_load("run", &args, &cfg);
    if (status != CLI_GO_ON)
        goto out;
    status = EXIT_OK;
    rc = etl_ctx_new(&cfg, &ctx, &err);
    if (rc) {
        fprintf(stderr, "bpecg-etl run: %s\n", err.data);
        status = rc == ETL_ECONFIG ? EXIT_USAGE : EXIT_RUN_ERROR;
        goto out;
    }

    prog.shown = cfg.progress && log_progress_active();
    prog.t0 = clock_mono_ms() / 1e3;
    etl_ctx_set_hooks(ctx, on_pdf_done, should_stop, &prog);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);

    struct counter cnt = {ctx, cfg.start_after, &prog.total, false};
    pthread_t counter_thread;
    bool counting = prog.shown && pthread_create(&counter_thread, NULL,
                                                 count_main, &cnt) == 0;

    LOGF(LOG_INFO, "run_started", LF_S("run_id", etl_run_id(ctx)),
         LF_I("batch_size", cfg.batch_size),
         LF_I("concurrency", cfg.concurrency));
    size_t totals[ETL_STATUS_COUNT] = {0}, batches = 0;
    int64_t batch_id = cfg.batch_id;
    char *after = cfg.start_after ? strdup(cfg.start_after) : NULL;
    for (;;) {
        struct etl_batch_result res;
        if (batch_id > CFG_BATCH_ID_MAX) {
            fprintf(stderr,
                    "bpecg-etl run: batch ids end at %lld; the listing goes "
                    "on after the last batch written\n",
                    (long long)CFG_BATCH_ID_MAX);
            status = EXIT_RUN_ERROR;
            break;
        }
        rc = etl_run_batch(ctx, batch_id, after, &res);
        if (rc == ETL_ECONFLICT) {
            /* What was asked would lose another batch's rows: a usage
             * error, and nothing of this batch ran. */
            fprintf(stderr, "bpecg-etl run: batch %lld: %s\n",
                    (long long)batch_id, etl_batch_conflict(ctx));
            status = EXIT_USAGE;
            etl_batch_result_release(&res);
            break;
        }
        if (rc) {
            /* The listing and the Parquet put run on this thread, so the
             * store's detail (e.g. the S3 error code) is still here; a
             * broken destination says what broke it. */
            const char *detail =
                rc == ETL_EDEST ? etl_dest_problem(ctx) : store_last_error();
            struct buf word = BUF_INIT;
            fprintf(
                stderr,
                "bpecg-etl run: batch %lld failed: %s%s%s\n"
                "bpecg-etl run: its results were not written; rerun it with "
                "--batch-id %lld%s%s\n",
                (long long)batch_id, etl_strerror(rc),
                detail && *detail ? ": " : "", detail ? detail : "",
                (long long)batch_id, after ? " --start-after " : "",
                after ? shell_word(after, &word) : "");
            buf_release(&word);
            status = EXIT_RUN_ERROR;
            etl_batch_result_release(&res);
            break;
        }
        for (int s = 0; s < ETL_STATUS_COUNT; s++)
            totals[s] += res.by_status[s];
        if (res.listed) {
            batches++;
            LOGF(LOG_INFO, "batch_done", LF_I("batch_id", batch_id),
                 LF_I("pdfs", res.listed),
                 LF_I("success", res.by_status[ETL_STATUS_SUCCESS]),
                 LF_I("partial", res.by_status[ETL_STATUS_PARTIAL]),
                 LF_I("failed", res.by_status[ETL_STATUS_FAILED]),
                 LF_S("parquet_key", res.parquet_key),
                 LF_S("next_start_after", res.next_start_after));
        }
        free(after);
        after = res.next_start_after;
        res.next_start_after = NULL;
        bool more = res.more;
        etl_batch_result_release(&res);
        batch_id++;
        if (interrupted) {
            struct buf word = BUF_INIT;
            fprintf(stderr,
                    "bpecg-etl run: interrupted; resume with "
                    "--batch-id %lld%s%s\n",
                    (long long)batch_id, after ? " --start-after " : "",
                    after ? shell_word(after, &word) : "");
            buf_release(&word);
            status = EXIT_RUN_ERROR;
            break;
        }
        if (!more || (cfg.max_batches && batches >= (size_t)cfg.max_batches))
            break;
    }
    free(after);
    if (counting) {
        atomic_store(&cnt.stop, true);
        pthread_join(counter_thread, NULL);
    }
    progress_draw(&prog, true);
    log_progress(NULL);

    size_t total = totals[0] + totals[1] + totals[2];
    printf("%zu PDFs in %zu batches: %zu success, %zu partial, %zu failed "
           "(%.1f s)\n",
           total, batches, totals[ETL_STATUS_SUCCESS],
           totals[ETL_STATUS_PARTIAL], totals[ETL_STATUS_FAILED],
           clock_mono_ms() / 1e3 - prog.t0);
    if (batches) {
        printf("results: %s\nimages:  %s\n", etl_results_location(ctx),
               etl_images_location(ctx));
        if (etl_waveforms_location(ctx))
            printf("waveforms: %s\n", etl_waveforms_location(ctx));
    }
    if (status == EXIT_OK && totals[ETL_STATUS_FAILED])
        status = EXIT_FAILED_ROWS;
out:
    cfg_args_release(&args);
    etl_ctx_free(ctx);
    cfg_release(&cfg);
    buf_release(&err);
    return status;
}
