/* Subcommand options: the command's own, and every other --name passed on
 * as a setting by what the settings table says it takes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_int.h"
#include "core/err.h"

/* One line into err, returning ETL_ECONFIG (ETL_ENOMEM if it cannot). */
/* shown[0..n-1] is the argument as the message shows it. */
static int args_error(struct buf *err, const char *shown, size_t n,
                      const char *what, const char *hint)
{
    size_t mark = err->len;
    struct buf arg = BUF_INIT;
    int rc = buf_add(&arg, shown, n);
    if (!rc)
        cfg_add_value(err, arg.data);
    buf_release(&arg);
    if (!rc)
        rc = buf_addstr(err, what);
    if (!rc && hint)
        rc = buf_printf(err, "; did you mean --%s?", hint);
    if (rc) {
        buf_truncate(err, mark);
        return rc;
    }
    return ETL_ECONFIG;
}

/* The nearest option or setting flag to name[0..n-1], or NULL. */
static const char *nearest(const struct cfg_option *opts, const char *name,
                           size_t n)
{
    char want[64];
    if (n >= sizeof(want))
        return NULL;
    memcpy(want, name, n);
    want[n] = '\0';
    const char *best = NULL;
    size_t dist = 3; /* suggest only within two edits */
    for (const struct cfg_option *o = opts; o && o->name; o++) {
        size_t d = cfg_edit_distance(want, o->name);
        if (d < dist)
            dist = d, best = o->name;
    }
    for (size_t i = 0; i < cfg_nsettings; i++) {
        size_t d = cfg_edit_distance(want, cfg_settings[i].flag);
        if (d < dist)
            dist = d, best = cfg_settings[i].flag;
    }
    return best;
}

static const struct cfg_option *find_long(const struct cfg_option *opts,
                                          const char *name, size_t n)
{
    for (const struct cfg_option *o = opts; o && o->name; o++)
        if (strlen(o->name) == n && strncmp(o->name, name, n) == 0)
            return o;
    return NULL;
}

static const struct cfg_option *find_short(const struct cfg_option *opts,
                                           char c)
{
    for (const struct cfg_option *o = opts; o && o->name; o++)
        if (o->short_name && o->short_name == c)
            return o;
    return NULL;
}

/* The option o took value v (NULL: it takes none). */
static int take(struct cfg_args *a, const struct cfg_option *o, char *v)
{
    if (o->set) {
        *o->set = true;
        return 0;
    }
    if (o->value)
        *o->value = v;
    if (!o->alias)
        return 0;
    size_t n = strlen(o->alias) + 3;
    char *flag = malloc(n);
    if (!flag)
        return ETL_ENOMEM;
    snprintf(flag, n, "--%s", o->alias);
    a->owned_[a->owned_n_++] = flag;
    a->settings[a->settings_n++] = flag;
    a->settings[a->settings_n++] = v;
    return 0;
}

static int long_option(struct cfg_args *a, const struct cfg_option *opts,
                       int argc, char **argv, int *i, struct buf *err)
{
    char *arg = argv[*i];
    const char *name = arg + 2;
    char *eq = strchr(arg, '=');
    size_t n = eq ? (size_t)(eq - name) : strlen(name);
    const struct cfg_option *o = find_long(opts, name, n);
    if (o) {
        bool wants = o->value || o->alias;
        if (!wants) {
            if (eq)
                return args_error(err, arg, strlen(arg), ": takes no value",
                                  NULL);
            return take(a, o, NULL);
        }
        if (eq)
            return take(a, o, eq + 1);
        if (*i + 1 >= argc)
            return args_error(err, arg, strlen(arg), ": needs a value", NULL);
        return take(a, o, argv[++*i]);
    }
    bool negated;
    const struct setting *s = cfg_flag_find(name, n, &negated);
    if (!s)
        return args_error(err, arg, n + 2, ": unknown option",
                          nearest(opts, name, n));
    /* A setting: cfg_load() reads it, and reports a missing or wrong
     * value; here only how many arguments it spans matters. */
    a->settings[a->settings_n++] = arg;
    if (s->type != ST_BOOL && !eq && *i + 1 < argc)
        a->settings[a->settings_n++] = argv[++*i];
    return 0;
}

static int short_option(struct cfg_args *a, const struct cfg_option *opts,
                        int argc, char **argv, int *i, struct buf *err)
{
    char *arg = argv[*i];
    const struct cfg_option *o = find_short(opts, arg[1]);
    if (!o)
        return args_error(err, arg, 2, ": unknown option", NULL);
    if (!(o->value || o->alias)) {
        if (arg[2])
            return args_error(err, arg, strlen(arg), ": takes no value", NULL);
        return take(a, o, NULL);
    }
    if (arg[2]) /* -oFILE */
        return take(a, o, arg + 2);
    if (*i + 1 >= argc)
        return args_error(err, arg, strlen(arg), ": needs a value", NULL);
    return take(a, o, argv[++*i]);
}

int cfg_args_parse(const struct cfg_option *opts, int argc, char **argv,
                   struct cfg_args *a, struct buf *err)
{
    memset(a, 0, sizeof(*a));
    size_t slots = argc > 0 ? (size_t)argc : 1;
    /* Each argument lands in one list at most; an alias adds a string. */
    a->settings = calloc(slots * 2, sizeof(char *));
    a->positional = calloc(slots, sizeof(char *));
    a->owned_ = calloc(slots, sizeof(char *));
    int rc = a->settings && a->positional && a->owned_ ? 0 : ETL_ENOMEM;
    bool options = true;
    for (int i = 1; !rc && i < argc; i++) {
        char *arg = argv[i];
        if (!options || arg[0] != '-' || arg[1] == '\0')
            a->positional[a->positional_n++] = arg;
        else if (strcmp(arg, "--") == 0)
            options = false;
        else if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
            a->help = true;
        else if (arg[1] == '-')
            rc = long_option(a, opts, argc, argv, &i, err);
        else
            rc = short_option(a, opts, argc, argv, &i, err);
    }
    return rc;
}

void cfg_args_release(struct cfg_args *a)
{
    for (int k = 0; k < a->owned_n_; k++)
        free(a->owned_[k]);
    free(a->owned_);
    free(a->settings);
    free(a->positional);
    memset(a, 0, sizeof(*a));
}
