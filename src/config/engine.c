/* Settings: one static table drives parsing, validation, --help and the
 * README's configuration table, so they cannot drift apart.
 *
 * Loading resolves, for each setting, the one raw text that wins (flag >
 * override variable > variable > fallback variable > default) and parses
 * only that: a malformed value in the environment that a flag replaces is
 * not an error. Defaults go through the same parser as user values.
 *
 * Decisions (also stated in the help texts, hence in the README):
 * - Sizes (MAX_PDF_BYTES): bytes, or a whole number with K, M, G, KiB, MiB,
 *   GiB in any case, all 1024-based; "MB" is refused rather than guessed.
 * - Prefixes: a missing trailing '/' is added ("pdfs" -> "pdfs/"); "/" means
 *   the bucket root (""), since an empty variable counts as unset. Leading
 *   '/', empty/"."/".." segments, '\\' and control characters are refused:
 *   prefixes become object keys and local paths.
 * - An empty flag value unsets a text setting (overriding the environment)
 *   and gives "" for a prefix; for numbers and choices it is an error.
 * - A flag for either CROP_REGIONS or CROP_REGIONS_FILE drops the other from
 *   the environment; both set at the same level is an error. The same for
 *   REDACT_REGIONS and REDACT_REGIONS_FILE.
 * - AWS_LAMBDA_LOG_LEVEL/AWS_LAMBDA_LOG_FORMAT beat LOG_LEVEL/LOG_FORMAT but
 *   not the flags; AWS_DEFAULT_REGION is read only when AWS_REGION is unset.
 * - RUN_ID also refuses "." and "..", as it may become part of a key.
 * - Booleans in the environment (EXTRACT_WAVEFORMS) are "0" or "1", nothing
 *   else: "yes"/"true" spellings would each need a rule for "no".
 * - WAVEFORM_PREFIX must differ from METADATA_PREFIX while waveforms are
 *   extracted: both files are named batch_NNNNNN.parquet.
 *
 * Not thread-safe (getenv, isatty): call at start-up, before threads. */
#include "config/config.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "core/file.h"

#include "config/config_int.h"

/* Where the winning raw text of a setting came from. */
enum origin { FROM_DEFAULT, FROM_ENV, FROM_FLAG };

struct raw {
    const char *name; /* "IMAGE_DPI", "--image-dpi"; for messages */
    const char *text; /* borrowed from environ/argv/the table; or NULL */
    enum origin from;
    bool override; /* read from override_env */
};

/* --- messages ------------------------------------------------------------ */

/* Print a user value for a message: as is when plain, else quoted with
 * escapes; long values (inline JSON) are cut. */
void cfg_add_value(struct buf *b, const char *v)
{
    const size_t cut = 60;
    size_t n = strlen(v);
    bool plain = n > 0 && n <= cut;
    for (size_t i = 0; plain && i < n; i++) {
        unsigned char ch = (unsigned char)v[i];
        plain = ch > 0x20 && ch < 0x7f && ch != '"' && ch != '\\';
    }
    if (plain) {
        buf_add(b, v, n);
        return;
    }
    size_t m = n;
    if (m > cut) {
        m = cut;
        /* Do not split a UTF-8 sequence. */
        while (m > 0 && ((unsigned char)v[m] & 0xc0) == 0x80)
            m--;
    }
    buf_addch(b, '"');
    for (size_t i = 0; i < m; i++) {
        unsigned char ch = (unsigned char)v[i];
        if (ch == '"' || ch == '\\')
            buf_printf(b, "\\%c", ch);
        else if (ch == '\n')
            buf_addstr(b, "\\n");
        else if (ch == '\t')
            buf_addstr(b, "\\t");
        else if (ch < 0x20 || ch == 0x7f)
            buf_printf(b, "\\x%02x", ch);
        else
            buf_addch(b, ch);
    }
    buf_addch(b, '"');
    if (m < n)
        buf_addstr(b, "...");
}

/* Append "NAME=VALUE: " then the formatted reason. Returns ETL_ECONFIG,
 * or ETL_ENOMEM when the message itself could not be built. */
static int fail(struct buf *err, const struct raw *r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct buf *err, const struct raw *r, const char *fmt, ...)
{
    size_t mark = err->len;
    buf_addstr(err, r->name);
    if (r->text) {
        buf_addch(err, '=');
        cfg_add_value(err, r->text);
        if (r->from == FROM_DEFAULT)
            buf_addstr(err, " (default)");
    }
    buf_addstr(err, ": ");
    va_list ap;
    va_start(ap, fmt);
    int rc = buf_vprintf(err, fmt, ap);
    va_end(ap);
    if (rc == ETL_ENOMEM) {
        buf_truncate(err, mark);
        return ETL_ENOMEM;
    }
    return ETL_ECONFIG;
}

static void add_choices(struct buf *b, const struct choice *c)
{
    for (size_t i = 0; c[i].name; i++)
        buf_printf(b, "%s%s", i ? ", " : "", c[i].name);
}

/* "100MiB" when n is a whole number of a binary unit, else bytes. */
static void add_size(struct buf *b, int64_t n)
{
    if (n != 0 && n % GIB == 0)
        buf_printf(b, "%lldGiB", (long long)(n / GIB));
    else if (n != 0 && n % MIB == 0)
        buf_printf(b, "%lldMiB", (long long)(n / MIB));
    else if (n != 0 && n % KIB == 0)
        buf_printf(b, "%lldKiB", (long long)(n / KIB));
    else
        buf_printf(b, "%lld", (long long)n);
}

/* Table texts mark code with backticks (Markdown); plain output drops
 * them. */
static void strip_code(struct buf *b)
{
    size_t o = 0;
    for (size_t i = 0; i < b->len; i++)
        if (b->data[i] != '`')
            b->data[o++] = b->data[i];
    buf_truncate(b, o);
}

/* What a setting accepts, for messages and --help (Markdown). */
static void add_accepted(struct buf *b, const struct setting *s)
{
    switch (s->type) {
    case ST_INT:
    case ST_INT64:
        if (s->accepted)
            buf_addstr(b, s->accepted);
        else if (s->max == INT64_MAX)
            buf_printf(b, "%lld or more", (long long)s->min);
        else
            buf_printf(b, "%lld to %lld", (long long)s->min, (long long)s->max);
        return;
    case ST_SIZE:
        add_size(b, s->min);
        buf_addstr(b, " to ");
        add_size(b, s->max);
        return;
    case ST_SECONDS:
        buf_printf(b, "%g to %g seconds", s->dmin, s->dmax);
        return;
    case ST_NUMBER:
        buf_printf(b, "%g to %g", s->dmin, s->dmax);
        return;
    case ST_ENUM:
        for (size_t i = 0; s->choices[i].name; i++)
            buf_printf(b, "%s`%s`", i ? ", " : "", s->choices[i].name);
        return;
    case ST_PAGE:
        buf_printf(b, "%lld to %lld, or `auto`", (long long)s->min,
                   (long long)s->max);
        return;
    case ST_BOOL:
        if (s->env)
            buf_addstr(b, "`0` or `1`");
        else
            buf_printf(b, "`--%s` or `--no-%s`", s->flag, s->flag);
        return;
    default:
        buf_addstr(b, s->accepted ? s->accepted : "text");
        return;
    }
}

/* --- parsing one value ---------------------------------------------------- */

/* A whole base-10 number: optional sign, digits, nothing else (strtoll
 * alone would skip leading spaces and ignore trailing junk). */
static int parse_i64(const char *t, int64_t *out, const char **end_out)
{
    const char *p = t;
    if (*p == '+' || *p == '-')
        p++;
    if (!isdigit((unsigned char)*p))
        return ETL_EINVAL;
    errno = 0;
    char *end;
    long long v = strtoll(t, &end, 10);
    if (errno == ERANGE)
        return ETL_ERANGE;
    if (end_out)
        *end_out = end;
    else if (*end)
        return ETL_EINVAL;
    *out = v;
    return 0;
}

/* Bytes, or a whole number with K, M, G, KiB, MiB, GiB (any case, spaces
 * allowed before the unit). All 1024-based: "MB" is refused rather than
 * guessed at. */
static int parse_size(const char *t, int64_t *out)
{
    static const struct {
        const char *unit;
        int64_t mult;
    } units[] = {{"", 1},      {"K", KIB}, {"KiB", KIB}, {"M", MIB},
                 {"MiB", MIB}, {"G", GIB}, {"GiB", GIB}};
    const char *num_end;
    int64_t v;
    if (parse_i64(t, &v, &num_end))
        return ETL_EINVAL;
    const char *end = num_end + strspn(num_end, " ");
    if (!*end && end != num_end)
        return ETL_EINVAL; /* trailing spaces without a unit */
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcasecmp(end, units[i].unit) != 0)
            continue;
        if (v < 0 || v > INT64_MAX / units[i].mult)
            return ETL_ERANGE;
        *out = v * units[i].mult;
        return 0;
    }
    return ETL_EINVAL;
}

/* A finite decimal number; strtod alone would also take hex, inf, nan and
 * leading spaces. */
static int parse_decimal(const char *t, double *out)
{
    if (!*t || strspn(t, "0123456789.eE+-") != strlen(t))
        return ETL_EINVAL;
    errno = 0;
    char *end;
    double v = strtod(t, &end);
    if (end == t || *end || !isfinite(v))
        return ETL_EINVAL;
    *out = v;
    return 0;
}

static int parse_choice(const struct choice *c, const char *t, int *out)
{
    for (size_t i = 0; c[i].name; i++) {
        if (strcasecmp(t, c[i].name) == 0) {
            *out = c[i].value;
            return 0;
        }
    }
    return ETL_EINVAL;
}

static bool no_controls(const char *t, bool allow_space)
{
    for (const unsigned char *p = (const unsigned char *)t; *p; p++) {
        if (allow_space && (*p == '\n' || *p == '\r' || *p == '\t'))
            continue;
        if (*p < 0x20 || *p == 0x7f)
            return false;
    }
    return true;
}

/* ASCII letters and digits plus extra; isalnum() would follow the locale. */
static bool only_chars(const char *t, const char *extra)
{
    for (const char *p = t; *p; p++) {
        bool alnum = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9');
        if (!alnum && !strchr(extra, *p))
            return false;
    }
    return true;
}

/* Prefixes end up in object keys and local paths: relative, no empty, "."
 * or ".." segment, no backslash or control character. */
static bool prefix_safe(const char *t)
{
    if (t[0] == '/' || strchr(t, '\\') || !no_controls(t, false))
        return false;
    const char *seg = t;
    while (*seg) {
        size_t n = strcspn(seg, "/");
        if (n == 0 || (n == 1 && seg[0] == '.') ||
            (n == 2 && seg[0] == '.' && seg[1] == '.'))
            return false;
        seg += n;
        if (*seg == '/')
            seg++;
    }
    return true;
}

/* "all", or comma-separated N and N-M (first <= last) within the
 * setting's range; no spaces. */
static int parse_pages(const char *t, const struct setting *s,
                       struct cfg_pages *out)
{
    struct cfg_pages p = {0};
    if (!t || !*t)
        return ETL_EINVAL;
    if (strcasecmp(t, "all") == 0) {
        *out = p;
        return 0;
    }
    const char *q = t;
    for (;;) {
        int64_t a, b;
        const char *end;
        if (!isdigit((unsigned char)*q) || parse_i64(q, &a, &end))
            return ETL_EINVAL;
        b = a;
        if (*end == '-') {
            q = end + 1;
            if (!isdigit((unsigned char)*q) || parse_i64(q, &b, &end))
                return ETL_EINVAL;
        }
        if (a < s->min || b > s->max || a > b || p.n >= CFG_MAX_PAGE_RANGES)
            return ETL_EINVAL;
        p.range[p.n].first = (int)a;
        p.range[p.n].last = (int)b;
        p.n++;
        if (*end == '\0')
            break;
        if (*end != ',')
            return ETL_EINVAL;
        q = end + 1;
    }
    *out = p;
    return 0;
}

bool cfg_pages_has(const struct cfg_pages *p, int page)
{
    if (p->n == 0)
        return page >= 1;
    for (int i = 0; i < p->n; i++) {
        if (page >= p->range[i].first && page <= p->range[i].last)
            return true;
    }
    return false;
}

static int set_string(char **field, const char *t, size_t len)
{
    char *copy = malloc(len + 1);
    if (!copy)
        return ETL_ENOMEM;
    memcpy(copy, t, len);
    copy[len] = '\0';
    free(*field);
    *field = copy;
    return 0;
}

static int parse_setting(const struct setting *s, const struct raw *r,
                         struct etl_config *c, struct buf *err)
{
    char *base = (char *)c;
    void *field = base + s->off;
    const char *t = r->text;
    int64_t v;
    double d;
    int e;

    switch (s->type) {
    case ST_STR: {
        if (!t || !*t) /* an empty flag value unsets */
            return 0;
        size_t n = strlen(t);
        bool ok = n <= s->maxlen;
        const char *why = "";
        switch (s->check) {
        case CK_TEXT:
            ok = ok && no_controls(t, false);
            why = "must not contain control characters";
            break;
        case CK_JSON:
            ok = ok && no_controls(t, true);
            why = "must be JSON text without control characters";
            break;
        case CK_RUN_ID:
            ok = ok && only_chars(t, "_.-") && strcmp(t, ".") != 0 &&
                 strcmp(t, "..") != 0;
            why = "must be 1 to 64 characters from A-Z a-z 0-9 _ . - "
                  "(not \".\" or \"..\")";
            break;
        case CK_REGION:
            ok = ok && only_chars(t, "_-");
            why = "must be a region name of letters, digits, - and _";
            break;
        case CK_URL:
            ok = ok && no_controls(t, false) && !strchr(t, ' ') &&
                 (strncasecmp(t, "https://", 8) == 0 ||
                  strncasecmp(t, "http://", 7) == 0);
            why = "must be an http:// or https:// URL";
            break;
        case CK_ACCOUNT:
            ok = ok && n == 12 && strspn(t, "0123456789") == 12;
            why = "must be a 12-digit AWS account ID";
            break;
        case CK_KEY_ID:
            ok = ok && no_controls(t, false) && !strchr(t, ' ');
            why = "must be a KMS key ID, alias or ARN (no spaces)";
            break;
        case CK_DIR:
            ok = ok && t[0] == '/' && no_controls(t, false);
            why = "must be an absolute path";
            break;
        }
        if (n > s->maxlen && s->check != CK_RUN_ID)
            return fail(err, r, "must be at most %zu bytes", s->maxlen);
        if (!ok)
            return fail(err, r, "%s", why);
        return set_string(field, t, n);
    }
    case ST_PREFIX: {
        size_t n = strlen(t);
        if (strcmp(t, "/") == 0)
            return set_string(field, "", 0);
        if (n >= s->maxlen)
            return fail(err, r, "must be at most %zu bytes", s->maxlen - 1);
        if (n && !prefix_safe(t))
            return fail(err, r,
                        "must be a relative key prefix such as pdfs/ (no "
                        "leading /, no empty, . or .. part, no \\ or "
                        "control character; / alone for none)");
        int rc = set_string(field, t, n);
        if (rc == 0 && n && t[n - 1] != '/') {
            struct buf b = BUF_INIT;
            rc = buf_add(&b, t, n);
            if (rc == 0)
                rc = buf_addch(&b, '/');
            if (rc == 0)
                rc = set_string(field, b.data, b.len);
            buf_release(&b);
        }
        return rc;
    }
    case ST_INT:
    case ST_INT64:
        if (parse_i64(t, &v, NULL) || v < s->min || v > s->max) {
            if (s->max == INT64_MAX)
                return fail(err, r, "must be an integer >= %lld",
                            (long long)s->min);
            return fail(err, r, "must be an integer from %lld to %lld",
                        (long long)s->min, (long long)s->max);
        }
        if (s->type == ST_INT)
            *(int *)field = (int)v;
        else
            *(int64_t *)field = v;
        return 0;
    case ST_SIZE:
        if (parse_size(t, &v) || v < s->min || v > s->max) {
            struct buf range = BUF_INIT;
            add_accepted(&range, s);
            strip_code(&range);
            int rc = fail(err, r,
                          "must be a size from %s (bytes, or a whole number "
                          "with K, M, G, KiB, MiB or GiB; 1024-based)",
                          range.data);
            buf_release(&range);
            return rc;
        }
        *(int64_t *)field = v;
        return 0;
    case ST_SECONDS:
        if (parse_decimal(t, &d) || d < s->dmin || d > s->dmax)
            return fail(err, r, "must be a number of seconds from %g to %g",
                        s->dmin, s->dmax);
        *(double *)field = d;
        return 0;
    case ST_NUMBER:
        if (parse_decimal(t, &d) || d < s->dmin || d > s->dmax)
            return fail(err, r, "must be a number from %g to %g", s->dmin,
                        s->dmax);
        *(double *)field = d;
        return 0;
    case ST_ENUM:
    case ST_LEVEL:
    case ST_FORMAT: {
        const struct choice *ch = r->override && s->override_choices
                                      ? s->override_choices
                                      : s->choices;
        if (ch)
            e = parse_choice(ch, t, (int *)field);
        else if (s->type == ST_LEVEL)
            e = log_level_parse(t, (enum log_level *)field);
        else
            e = log_format_parse(t, (enum log_format *)field);
        if (e) {
            struct buf names = BUF_INIT;
            if (ch)
                add_choices(&names, ch);
            else
                buf_addstr(&names, s->accepted);
            strip_code(&names);
            int rc = fail(err, r, "must be one of %s", names.data);
            buf_release(&names);
            return rc;
        }
        return 0;
    }
    case ST_PAGE:
        if (t && strcasecmp(t, "auto") == 0) {
            *(int *)field = CFG_PAGE_AUTO;
            return 0;
        }
        if (!t || parse_i64(t, &v, NULL) || v < s->min || v > s->max)
            return fail(err, r,
                        "must be a page number from %lld to %lld, or "
                        "auto",
                        (long long)s->min, (long long)s->max);
        *(int *)field = (int)v;
        return 0;
    case ST_PAGES:
        if (parse_pages(t, s, (struct cfg_pages *)field))
            return fail(err, r,
                        "must be all, or page numbers and ranges from %lld to "
                        "%lld separated by commas, such as 1,3-5 (at most %d)",
                        (long long)s->min, (long long)s->max,
                        CFG_MAX_PAGE_RANGES);
        return 0;
    case ST_BOOL:
        /* Flags arrive as "1"/"0" (scan_flags); the variable is the
         * user's text. */
        if (!t || (strcmp(t, "1") != 0 && strcmp(t, "0") != 0))
            return fail(err, r, "must be 0 or 1");
        *(bool *)field = strcmp(t, "1") == 0;
        return 0;
    }
    assert(!"unknown setting type");
    return ETL_EINVAL;
}

/* --- flags ---------------------------------------------------------------- */

size_t cfg_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t row[64];
    if (lb >= sizeof(row) / sizeof(row[0]) || la >= 64)
        return SIZE_MAX;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const struct setting *cfg_flag_find(const char *name, size_t n, bool *negated)
{
    *negated = false;
    for (size_t j = 0; j < cfg_nsettings; j++) {
        const char *f = cfg_settings[j].flag;
        size_t fl = strlen(f);
        if (fl == n && strncmp(f, name, n) == 0)
            return &cfg_settings[j];
        if (cfg_settings[j].type == ST_BOOL && n == fl + 3 &&
            strncmp(name, "no-", 3) == 0 && strncmp(name + 3, f, fl) == 0) {
            *negated = true;
            return &cfg_settings[j];
        }
    }
    return NULL;
}

static int unknown_flag(const char *name, size_t n, struct buf *err)
{
    char want[64];
    size_t best = 3, at = cfg_nsettings;
    if (n < sizeof(want)) {
        memcpy(want, name, n);
        want[n] = '\0';
        for (size_t i = 0; i < cfg_nsettings; i++) {
            size_t d = cfg_edit_distance(want, cfg_settings[i].flag);
            if (d < best) {
                best = d;
                at = i;
            }
        }
    }
    size_t mark = err->len;
    struct buf shown = BUF_INIT;
    int rc = buf_addstr(&shown, "--");
    if (rc == 0)
        rc = buf_add(&shown, name, n);
    if (rc == 0)
        cfg_add_value(err, shown.data);
    buf_release(&shown);
    if (rc == 0)
        rc = buf_addstr(err, ": unknown flag");
    if (rc == 0 && at < cfg_nsettings)
        rc = buf_printf(err, "; did you mean --%s?", cfg_settings[at].flag);
    if (rc) {
        buf_truncate(err, mark);
        return rc;
    }
    return ETL_ECONFIG;
}

/* Record each flag's raw text (the last occurrence wins). */
static int scan_flags(int argc, char **argv, struct raw *raws, struct buf *err)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
            size_t mark = err->len;
            cfg_add_value(err, a);
            int rc = buf_addstr(err, ": unexpected argument (settings are "
                                     "--name value flags)");
            if (rc) {
                buf_truncate(err, mark);
                return rc;
            }
            return ETL_ECONFIG;
        }
        const char *name = a + 2;
        const char *eq = strchr(name, '=');
        size_t n = eq ? (size_t)(eq - name) : strlen(name);
        bool negated;
        const struct setting *s = cfg_flag_find(name, n, &negated);
        if (!s)
            return unknown_flag(name, n, err);
        size_t k = (size_t)(s - cfg_settings);
        struct raw *r = &raws[k];
        r->from = FROM_FLAG;
        r->override = false;
        if (s->type == ST_BOOL) {
            if (eq) {
                struct raw bad = {a, NULL, FROM_FLAG, false};
                return fail(err, &bad, "takes no value (use --%s or --no-%s)",
                            s->flag, s->flag);
            }
            r->name = argv[i];
            r->text = negated ? "0" : "1";
            continue;
        }
        /* Keep the flag's name for messages: "--image-dpi". */
        r->name = NULL;
        r->text = eq ? eq + 1 : NULL;
        if (!eq) {
            if (i + 1 >= argc) {
                struct raw bad = {a, NULL, FROM_FLAG, false};
                return fail(err, &bad, "needs a value");
            }
            r->text = argv[++i];
        }
    }
    return 0;
}

/* --- loading -------------------------------------------------------------- */

static const char *env_value(const char *name)
{
    if (!name)
        return NULL;
    const char *v = getenv(name);
    return v && *v ? v : NULL; /* empty counts as unset */
}

static size_t find_env(const char *env)
{
    for (size_t i = 0; i < cfg_nsettings; i++)
        if (cfg_settings[i].env && strcmp(cfg_settings[i].env, env) == 0)
            return i;
    assert(!"no such setting");
    return 0;
}

/* Rules between settings, checked once each has its value. */
static int check_pairs(const struct etl_config *c, const struct raw *raws,
                       struct buf *err)
{
    const struct raw *init = &raws[find_env("RETRY_INITIAL_WAIT")];
    const struct raw *maxw = &raws[find_env("RETRY_MAX_WAIT")];
    if (c->retry_max_wait < c->retry_initial_wait)
        return fail(err, maxw, "must be at least %s (%g)", init->name,
                    c->retry_initial_wait);

    /* --source's URL carries the prefix; a --pdf-prefix would be ignored. */
    const struct raw *pre = &raws[find_env("PDF_PREFIX")];
    if (pre->from == FROM_FLAG && c->source_is_url)
        return fail(err, pre,
                    "cannot be used with --source (the URL's path is the "
                    "prefix)");

    if (c->crop_regions && c->crop_regions_file) {
        int rc =
            buf_printf(err, "%s and %s are both set: give one or the other",
                       raws[find_env("CROP_REGIONS")].name,
                       raws[find_env("CROP_REGIONS_FILE")].name);
        return rc ? rc : ETL_ECONFIG;
    }
    if (c->redact_regions && c->redact_regions_file) {
        int rc =
            buf_printf(err, "%s and %s are both set: give one or the other",
                       raws[find_env("REDACT_REGIONS")].name,
                       raws[find_env("REDACT_REGIONS_FILE")].name);
        return rc ? rc : ETL_ECONFIG;
    }

    if (c->s3_sse_kms_key_id && c->s3_sse != CFG_SSE_KMS &&
        c->s3_sse != CFG_SSE_KMS_DSSE)
        return fail(err, &raws[find_env("S3_SSE_KMS_KEY_ID")],
                    "only together with S3_SSE=aws:kms or aws:kms:dsse");
    /* curl opens the bundle to read: a FIFO would hang every request. */
    struct stat st;
    if (c->ca_bundle && (stat(c->ca_bundle, &st) != 0 || !S_ISREG(st.st_mode)))
        return fail(err, &raws[find_env("AWS_CA_BUNDLE")],
                    "must be the path of a regular file of PEM certificates");

    /* The waveform file would replace the results file (the batch's
     * commit marker) or the other way round. */
    if (c->extract_waveforms &&
        strcmp(c->waveform_prefix, c->metadata_prefix) == 0) {
        const struct raw *wp = &raws[find_env("WAVEFORM_PREFIX")];
        return fail(err, wp,
                    "must differ from %s (both files are named "
                    "batch_NNNNNN.parquet)",
                    raws[find_env("METADATA_PREFIX")].name);
    }
    return 0;
}

int cfg_load(struct etl_config *c, int argc, char **argv, struct buf *err)
{
    struct raw raws[CFG_MAX_SETTINGS] = {0};
    char flag_names[CFG_MAX_SETTINGS][40]; /* "--image-dpi", for messages */
    int rc;

    memset(c, 0, sizeof(*c));
    for (size_t i = 0; i < cfg_nsettings; i++) {
        const struct setting *s = &cfg_settings[i];
        struct raw *r = &raws[i];
        snprintf(flag_names[i], sizeof(flag_names[i]), "--%s", s->flag);
        assert(strlen(s->flag) + 2 < sizeof(flag_names[i]));
        *r = (struct raw){s->env ? s->env : flag_names[i], s->def, FROM_DEFAULT,
                          false};
        const char *ov = env_value(s->override_env);
        const char *ev = env_value(s->env);
        const char *fv = env_value(s->fallback_env);
        if (ov)
            *r = (struct raw){s->override_env, ov, FROM_ENV, true};
        else if (ev)
            *r = (struct raw){s->env, ev, FROM_ENV, false};
        else if (fv)
            *r = (struct raw){s->fallback_env, fv, FROM_ENV, false};
    }
    c->progress = isatty(STDERR_FILENO) == 1;

    rc = scan_flags(argc, argv, raws, err);
    if (rc)
        return rc;
    for (size_t i = 0; i < cfg_nsettings; i++)
        if (raws[i].from == FROM_FLAG && !raws[i].name)
            raws[i].name = flag_names[i];

    /* A flag for either crop setting replaces both from the environment. */
    size_t cr = find_env("CROP_REGIONS"), cf = find_env("CROP_REGIONS_FILE");
    if (raws[cr].from == FROM_FLAG && raws[cf].from == FROM_ENV)
        raws[cf] = (struct raw){flag_names[cf], NULL, FROM_DEFAULT, false};
    if (raws[cf].from == FROM_FLAG && raws[cr].from == FROM_ENV)
        raws[cr] = (struct raw){flag_names[cr], NULL, FROM_DEFAULT, false};
    /* Likewise for the redaction regions. */
    size_t rr = find_env("REDACT_REGIONS"),
           rf = find_env("REDACT_REGIONS_FILE");
    if (raws[rr].from == FROM_FLAG && raws[rf].from == FROM_ENV)
        raws[rf] = (struct raw){flag_names[rf], NULL, FROM_DEFAULT, false};
    if (raws[rf].from == FROM_FLAG && raws[rr].from == FROM_ENV)
        raws[rr] = (struct raw){flag_names[rr], NULL, FROM_DEFAULT, false};

    for (size_t i = 0; i < cfg_nsettings; i++) {
        const struct setting *s = &cfg_settings[i];
        if (s->type == ST_BOOL && raws[i].from == FROM_DEFAULT)
            continue; /* default set above */
        if (raws[i].from == FROM_DEFAULT && !raws[i].text)
            continue; /* unset */
        rc = parse_setting(s, &raws[i], c, err);
        if (rc)
            return rc;
    }

    size_t src = find_env("SOURCE_BUCKET"), dst = find_env("DEST_BUCKET");
    c->source_is_url = raws[src].from == FROM_FLAG && c->source_bucket;
    c->dest_is_url = raws[dst].from == FROM_FLAG && c->dest_bucket;

    return check_pairs(c, raws, err);
}

void cfg_release(struct etl_config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < cfg_nsettings; i++) {
        if (cfg_settings[i].type == ST_STR ||
            cfg_settings[i].type == ST_PREFIX) {
            char **field = (char **)((char *)c + cfg_settings[i].off);
            free(*field);
            *field = NULL;
        }
    }
}

/* --- usage ---------------------------------------------------------------- */

/* Markdown, like add_accepted. */
static void add_default(struct buf *b, const struct setting *s)
{
    if (s->def_text)
        buf_addstr(b, s->def_text);
    else
        buf_printf(b, "`%s`", s->def);
}

/* Markdown table cells: escape the pipe, which would end the cell. */
static void md_cell(FILE *f, const char *t)
{
    for (const char *p = t; *p; p++) {
        if (*p == '|')
            fputc('\\', f);
        fputc(*p, f);
    }
}

static void wrap(FILE *f, const char *t, int indent, int width)
{
    int col = 0;
    while (*t) {
        size_t n = strcspn(t, " ");
        if (col > indent && col + 1 + (int)n > width) {
            fputc('\n', f);
            col = 0;
        }
        if (col == 0) {
            fprintf(f, "%*s", indent, "");
            col = indent;
        } else {
            fputc(' ', f);
            col++;
        }
        fwrite(t, 1, n, f);
        col += (int)n;
        t += n;
        while (*t == ' ')
            t++;
    }
    if (col)
        fputc('\n', f);
}

size_t cfg_env_names(const char **out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < cfg_nsettings; i++) {
        const char *names[] = {cfg_settings[i].env,
                               cfg_settings[i].override_env,
                               cfg_settings[i].fallback_env};
        for (size_t k = 0; k < 3; k++) {
            if (!names[k])
                continue;
            if (n < max)
                out[n] = names[k];
            n++;
        }
    }
    return n;
}

void cfg_usage(FILE *f, bool markdown)
{
    struct buf b = BUF_INIT;
    if (markdown) {
        fputs("| Variable | Flag | Default | Accepted | Meaning |\n"
              "|---|---|---|---|---|\n",
              f);
    } else {
        fputs("Settings (environment variable, or flag; flags win):\n", f);
    }
    for (size_t i = 0; i < cfg_nsettings; i++) {
        const struct setting *s = &cfg_settings[i];
        buf_reset(&b);
        if (markdown) {
            fputs("| ", f);
            if (s->env)
                fprintf(f, "`%s`", s->env);
            else
                fputs("(flag only)", f);
            if (s->type == ST_BOOL)
                fprintf(f, " | `--%s`, `--no-%s` | ", s->flag, s->flag);
            else
                fprintf(f, " | `--%s` | ", s->flag);
            add_default(&b, s);
            md_cell(f, b.data);
            fputs(" | ", f);
            buf_reset(&b);
            add_accepted(&b, s);
            md_cell(f, b.data);
            fputs(" | ", f);
            md_cell(f, s->help);
            fputs(" |\n", f);
            continue;
        }
        /* "  --flag VALUE  (VARIABLE)", the variable on a line of its own
         * when the two do not fit 79 columns. */
        if (s->type == ST_BOOL)
            buf_printf(&b, "  --%s, --no-%s", s->flag, s->flag);
        else if (s->type == ST_ENUM) {
            buf_printf(&b, "  --%s ", s->flag);
            for (size_t j = 0; s->choices[j].name; j++)
                buf_printf(&b, "%s%s", j ? "|" : "", s->choices[j].name);
        } else {
            buf_printf(&b, "  --%s %s", s->flag, s->metavar);
        }
        if (s->env && b.len + strlen(s->env) + 4 > 79)
            fprintf(f, "%s\n      (%s)\n", b.data, s->env);
        else if (s->env)
            fprintf(f, "%s  (%s)\n", b.data, s->env);
        else
            fprintf(f, "%s\n", b.data);
        buf_reset(&b);
        buf_addstr(&b, s->help);
        strip_code(&b);
        wrap(f, b.data, 6, 79);
        buf_reset(&b);
        buf_addstr(&b, "Default: ");
        add_default(&b, s);
        if (s->type != ST_ENUM && s->type != ST_BOOL) {
            buf_addstr(&b, ". Accepts: ");
            add_accepted(&b, s);
        }
        buf_addch(&b, '.');
        strip_code(&b);
        wrap(f, b.data, 6, 79);
    }
    buf_release(&b);
}

/* --- hash ----------------------------------------------------------------- */

/* FNV-1a, 64-bit: tiny, stable across platforms and good enough to tell
 * settings apart (this is not a security boundary). */
static uint64_t fnv_bytes(uint64_t h, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* Hashes "key=value\0", or "key\1" when unset: values hold no NUL, so the
 * stream parses one way only and NULL differs from "". */
static uint64_t fnv_add(uint64_t h, const char *key, const char *val)
{
    h = fnv_bytes(h, key, strlen(key));
    if (!val)
        return fnv_bytes(h, "\1", 1);
    h = fnv_bytes(h, "=", 1);
    return fnv_bytes(h, val, strlen(val) + 1);
}

static uint64_t fnv_int(uint64_t h, const char *key, long long v)
{
    char t[32];
    snprintf(t, sizeof(t), "%lld", v);
    return fnv_add(h, key, t);
}

void cfg_hash(const struct etl_config *c, const char *crops, char out[17])
{
    uint64_t h = 0xcbf29ce484222325ULL;
    h = fnv_add(h, "v", "1");
    h = fnv_int(h, "image_dpi", c->image_dpi);
    h = fnv_int(h, "image_quality", c->image_quality);
    h = fnv_int(h, "text_page", c->text_page);
    h = fnv_int(h, "crop_page", c->crop_page);
    h = fnv_add(h, "crops", crops);
    h = fnv_int(h, "render_mode", c->render_mode);
    h = fnv_int(h, "parquet_compression", c->parquet_compression);
    h = fnv_add(h, "image_prefix", c->image_prefix);
    h = fnv_add(h, "metadata_prefix", c->metadata_prefix);
    /* Without extraction the waveform settings change nothing written, and
     * earlier runs keep their hash. */
    if (c->extract_waveforms || c->crop_leads ||
        c->crop_page == CFG_PAGE_AUTO) {
        h = fnv_int(h, "waveform_pages_n", c->waveform_pages.n);
        for (int i = 0; i < c->waveform_pages.n; i++) {
            h = fnv_int(h, "first", c->waveform_pages.range[i].first);
            h = fnv_int(h, "last", c->waveform_pages.range[i].last);
        }
    }
    if (c->crop_leads)
        h = fnv_int(h, "crop_leads", 1);
    if (c->extract_waveforms) {
        char t[64];
        h = fnv_add(h, "waveform_prefix", c->waveform_prefix);
        h = fnv_int(h, "waveform_sample_rate", c->waveform_sample_rate);
        snprintf(t, sizeof(t), "%.17g", c->paper_speed_mm_s);
        h = fnv_add(h, "paper_speed_mm_s", t);
        snprintf(t, sizeof(t), "%.17g", c->gain_mm_mv);
        h = fnv_add(h, "gain_mm_mv", t);
    }
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

/* --- files named by settings -------------------------------------------- */

int cfg_file_read(const char *var, const char *path, size_t max,
                  struct buf *out, struct buf *err)
{
    struct buf why = BUF_INIT;
    int rc = file_read(path, max, out, &why);
    if (rc == ETL_ENOMEM) {
        buf_release(&why);
        return rc;
    }
    if (!rc && memchr(out->data, '\0', out->len)) {
        buf_reset(out);
        buf_addstr(&why, "contains a NUL byte (not a text file)");
        rc = ETL_EINVAL;
    }
    if (rc) {
        buf_printf(err, "%s=%s: %s", var, path, why.data);
        rc = ETL_ECONFIG;
    }
    buf_release(&why);
    return rc;
}
