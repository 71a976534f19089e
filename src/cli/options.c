/* What every subcommand does first: sort its arguments, then load the
 * settings from the environment and the flags that are settings. */
#include <stdio.h>

#include "cli/cli.h"
#include "store/storage.h"

int cli_parse(const char *cmd, const struct cfg_option *opts, int argc,
              char **argv, struct cfg_args *a, void (*help)(void))
{
    struct buf err = BUF_INIT;
    int rc = cfg_args_parse(opts, argc, argv, a, &err);
    if (rc) {
        fprintf(stderr, "bpecg-etl %s: %s\ntry 'bpecg-etl %s --help'\n", cmd,
                err.len ? err.data : "out of memory", cmd);
        buf_release(&err);
        return EXIT_USAGE;
    }
    buf_release(&err);
    if (a->help) {
        help();
        return EXIT_OK;
    }
    return CLI_GO_ON;
}

int cli_load(const char *cmd, const struct cfg_args *a, struct etl_config *cfg)
{
    struct buf err = BUF_INIT;
    int rc = cfg_load(cfg, a->settings_n, a->settings, &err);
    if (rc) {
        fprintf(stderr, "bpecg-etl %s: %s\n", cmd,
                err.len ? err.data : "out of memory");
        buf_release(&err);
        return EXIT_USAGE;
    }
    buf_release(&err);
    store_allow_http(cfg->allow_http);
    log_init(cfg->log_level, cfg->log_format, 2);
    return CLI_GO_ON;
}
