/* bpecg-etl lambda: the Lambda custom runtime (also run as `bootstrap`). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "lambda/lambda.h"

int cmd_lambda(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            puts("usage: bpecg-etl lambda\n"
                 "\n"
                 "The AWS Lambda custom runtime (provided.al2023): takes "
                 "events\n"
                 "from the Runtime API at AWS_LAMBDA_RUNTIME_API and runs one\n"
                 "batch per event. Settings come from the environment only.\n"
                 "The Lambda package runs it as 'bootstrap'. To run the "
                 "handler\n"
                 "once without Lambda, use 'bpecg-etl invoke'.");
            return EXIT_OK;
        }
        fprintf(stderr,
                "bpecg-etl lambda: unexpected argument '%s' (settings "
                "come from the environment)\n",
                argv[i]);
        return EXIT_USAGE;
    }
    return lambda_runtime_main();
}
