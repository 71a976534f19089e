/* Subcommands of the bpecg-etl binary. Each takes its own argv (argv[0] is
 * the subcommand name) and returns the process exit status:
 * 0 ok, 1 completed with failed PDFs, 2 usage or configuration error,
 * 3 the run itself could not complete. */
#ifndef ETL_CLI_CLI_H
#define ETL_CLI_CLI_H

#include "config/config.h"

enum { EXIT_OK = 0, EXIT_FAILED_ROWS = 1, EXIT_USAGE = 2, EXIT_RUN_ERROR = 3 };

/* Returned by cli_parse() and cli_load() when the command goes on. */
#define CLI_GO_ON (-1)

/* Sort argv (cfg_args_parse) with opts the command's own options. On a
 * usage error prints "bpecg-etl CMD: why" and returns EXIT_USAGE; on
 * --help calls help() and returns EXIT_OK; else CLI_GO_ON.
 * cfg_args_release(a) in every case. */
int cli_parse(const char *cmd, const struct cfg_option *opts, int argc,
              char **argv, struct cfg_args *a, void (*help)(void));

/* cfg_load() from the environment and a's settings flags, then start the
 * log and the store's plain-HTTP rule by them. Prints why and returns
 * EXIT_USAGE when a setting is malformed, else CLI_GO_ON.
 * cfg_release(cfg) in every case. */
int cli_load(const char *cmd, const struct cfg_args *a, struct etl_config *cfg);

int cmd_run(int argc, char **argv);
int cmd_samples(int argc, char **argv);
int cmd_preview(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_lambda(int argc, char **argv);
int cmd_invoke(int argc, char **argv);

#endif
