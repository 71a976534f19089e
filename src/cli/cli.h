/* Subcommands of the bpecg-etl binary. Each takes its own argv (argv[0] is
 * the subcommand name) and returns the process exit status:
 * 0 ok, 1 completed with failed PDFs, 2 usage or configuration error,
 * 3 the run itself could not complete. */
#ifndef ETL_CLI_CLI_H
#define ETL_CLI_CLI_H

enum { EXIT_OK = 0, EXIT_FAILED_ROWS = 1, EXIT_USAGE = 2, EXIT_RUN_ERROR = 3 };

int cmd_run(int argc, char **argv);
int cmd_samples(int argc, char **argv);
int cmd_preview(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_lambda(int argc, char **argv);
int cmd_invoke(int argc, char **argv);

#endif
