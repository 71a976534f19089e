/* bpecg-etl lambda: the Lambda custom runtime (also run as `bootstrap`). */
#include <stdio.h>

#include "cli/cli.h"
#include "lambda/lambda.h"

static void print_help(void)
{
    puts("usage: bpecg-etl lambda\n"
         "\n"
         "The AWS Lambda custom runtime (provided.al2023): takes events\n"
         "from the Runtime API at AWS_LAMBDA_RUNTIME_API and runs one\n"
         "batch per event. Settings come from the environment only.\n"
         "The Lambda package runs it as 'bootstrap'. To run the handler\n"
         "once without Lambda, use 'bpecg-etl invoke'.");
}

int cmd_lambda(int argc, char **argv)
{
    struct cfg_args args;
    int status = cli_parse("lambda", NULL, argc, argv, &args, print_help);
    if (status == CLI_GO_ON && (args.settings_n || args.positional_n)) {
        fprintf(stderr,
                "bpecg-etl lambda: unexpected argument '%s' (settings "
                "come from the environment)\n",
                args.settings_n ? args.settings[0] : args.positional[0]);
        status = EXIT_USAGE;
    }
    cfg_args_release(&args);
    return status == CLI_GO_ON ? lambda_runtime_main() : status;
}
