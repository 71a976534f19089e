/* Internals of the settings: the table's row type (config_int.h), shared
 * by table.c (the rows) and engine.c (loading, usage, hashing) and
 * args.c (subcommand options). */
#ifndef ETL_CONFIG_CONFIG_INT_H
#define ETL_CONFIG_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "core/buf.h"

enum stype {
    ST_STR,     /* free text, checked by scheck; NULL when unset */
    ST_PREFIX,  /* key prefix: "" or ends in '/' */
    ST_INT,     /* int in [min, max] */
    ST_INT64,   /* int64_t in [min, max]; max INT64_MAX = no upper bound */
    ST_SIZE,    /* int64_t byte count with optional K/M/G/KiB/MiB/GiB */
    ST_SECONDS, /* double in [dmin, dmax], seconds */
    ST_NUMBER,  /* double in [dmin, dmax], another unit (in the help) */
    ST_ENUM,    /* one of choices, stored as int */
    ST_LEVEL,   /* enum log_level via log_level_parse */
    ST_FORMAT,  /* enum log_format via log_format_parse */
    ST_BOOL,    /* --name / --no-name; with env, "0" or "1" there */
    ST_PAGE,    /* a page number in [min, max], or "auto" (CFG_PAGE_AUTO) */
    ST_PAGES,   /* "all", or pages and ranges "1,3-5" (struct cfg_pages) */
};

enum scheck {
    CK_TEXT,    /* no control characters */
    CK_JSON,    /* no control characters except whitespace */
    CK_RUN_ID,  /* [A-Za-z0-9_.-]{1,64}, not "." or ".." */
    CK_REGION,  /* [A-Za-z0-9_-] */
    CK_URL,     /* an http:// or https:// URL without spaces */
    CK_ACCOUNT, /* a 12-digit AWS account ID */
    CK_KEY_ID,  /* no space or control character (a KMS key ID or ARN) */
    CK_DIR,     /* an absolute path */
};

struct choice {
    const char *name;
    int value;
};

struct setting {
    const char *env;  /* NULL: flag only */
    const char *flag; /* without "--" */
    enum stype type;
    enum scheck check; /* ST_STR */
    const char *def;   /* parsed like a user value; NULL = unset */
    int64_t min, max;
    double dmin, dmax;
    const struct choice *choices; /* ST_ENUM; ends with {NULL, 0} */
    size_t maxlen;                /* ST_STR, ST_PREFIX */
    const char *override_env;     /* beats env (not the flag) when set */
    const struct choice *override_choices; /* how override_env is read */
    const char *fallback_env;              /* read when env is unset */
    const char *metavar;                   /* for --help */
    const char *def_text;                  /* shown instead of def */
    const char *accepted;                  /* shown instead of the range */
    const char *help;
    size_t off; /* into struct etl_config */
};

#define KIB ((int64_t)1024)
#define MIB (KIB * 1024)
#define GIB (MIB * 1024)

/* The rows, in the order --help and the README list them; at most
 * CFG_MAX_SETTINGS of them (table.c checks). */
#define CFG_MAX_SETTINGS 128
extern const struct setting cfg_settings[];
extern const size_t cfg_nsettings;

/* The row whose flag is name[0..n-1] ("image-dpi"), or "no-" and a
 * boolean's flag (then *negated is set); NULL when there is none. */
const struct setting *cfg_flag_find(const char *name, size_t n, bool *negated);

/* Levenshtein distance, for "did you mean"; SIZE_MAX past 63 bytes. */
size_t cfg_edit_distance(const char *a, const char *b);

/* Append v to b as messages show a value: as it is when short and plain,
 * else quoted with escapes and cut at 60 bytes. */
void cfg_add_value(struct buf *b, const char *v);

#endif
