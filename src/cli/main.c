/* bpecg-etl: ECG report PDFs -> page text, JPEG crops, Parquet results. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "config/config.h"
#include "pdf/pdf.h"

static void usage(FILE *f)
{
    fputs("usage: bpecg-etl <command> [options]\n"
          "\n"
          "commands:\n"
          "  run --source URL --dest URL [options]\n"
          "        process every *.pdf under the source in batches\n"
          "  samples --out DIR --count N [--seed S] [--variants]\n"
          "        write synthetic 12-lead ECG report PDFs\n"
          "  preview FILE.pdf [--crops FILE] [--dpi N] -o OUT.png\n"
          "        draw the crop regions on the crop page, to check them\n"
          "  report --dest URL [-o report.html]\n"
          "        one HTML page of a destination's results: totals,\n"
          "        failures and a contact sheet of the crops\n"
          "  invoke --event JSON [options]\n"
          "        run the Lambda handler once here and print its response\n"
          "  lambda\n"
          "        the AWS Lambda custom runtime (the package's bootstrap)\n"
          "  settings [--markdown]\n"
          "        list every setting (environment variable and flag)\n"
          "  version\n"
          "\n"
          "URLs are directories (a path or file:///path) or "
          "s3://bucket/prefix/.\n"
          "'bpecg-etl <command> --help' describes a command.\n",
          f);
}

/* glibc gives every thread that contends for the heap an arena of its
 * own, up to 8 per core; with CONCURRENCY workers each holding freed
 * pages in its arena, peak RSS grows with the thread count, not with the
 * work in flight. One arena per core keeps it near what the CPUs can use
 * at once (measured: 62 -> 45 MiB at CONCURRENCY 20, CPU time unchanged
 * within noise). MALLOC_ARENA_MAX in the environment still wins. */
static void limit_malloc_arenas(void)
{
    if (getenv("MALLOC_ARENA_MAX"))
        return;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    mallopt(M_ARENA_MAX, cpus > 0 ? (int)cpus : 1);
}

int main(int argc, char **argv)
{
    limit_malloc_arenas();
    /* The Lambda package runs this binary as its `bootstrap`. */
    const char *self = argc > 0 && argv[0] ? strrchr(argv[0], '/') : NULL;
    self = self ? self + 1 : (argc > 0 && argv[0] ? argv[0] : "");
    if (strcmp(self, "bootstrap") == 0)
        return cmd_lambda(argc, argv);
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "run") == 0)
        return cmd_run(argc - 1, argv + 1);
    if (strcmp(cmd, "samples") == 0)
        return cmd_samples(argc - 1, argv + 1);
    if (strcmp(cmd, "preview") == 0)
        return cmd_preview(argc - 1, argv + 1);
    if (strcmp(cmd, "report") == 0)
        return cmd_report(argc - 1, argv + 1);
    if (strcmp(cmd, "lambda") == 0)
        return cmd_lambda(argc - 1, argv + 1);
    if (strcmp(cmd, "invoke") == 0)
        return cmd_invoke(argc - 1, argv + 1);
    if (strcmp(cmd, "settings") == 0) {
        cfg_usage(stdout, argc > 2 && strcmp(argv[2], "--markdown") == 0);
        return EXIT_OK;
    }
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("bpecg-etl %s (%s)\n", ETL_VERSION, pdf_engine_version());
        return EXIT_OK;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 ||
        strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return EXIT_OK;
    }
    fprintf(stderr, "bpecg-etl: unknown command '%s'\n\n", cmd);
    usage(stderr);
    return EXIT_USAGE;
}
