#include "core/clock.h"
#include "core/log.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/utf8.h"

static struct {
    enum log_level level;
    bool console;
    bool tty;
    int fd;
    pthread_mutex_t lock;
    struct buf progress;
} L = {LOG_INFO, false, false, 2, PTHREAD_MUTEX_INITIALIZER, BUF_INIT};

/* The calling thread's context (log_context_set). */
static _Thread_local struct {
    size_t n;
    const char *keys[LOG_CONTEXT_MAX];
    char values[LOG_CONTEXT_MAX][LOG_CONTEXT_VALUE_MAX + 1];
} tls_ctx;

static const char *const level_names[] = {"DEBUG", "INFO", "WARN", "ERROR",
                                          "OFF"};

void log_init(enum log_level level, enum log_format format, int fd)
{
    L.level = level;
    L.fd = fd;
    L.tty = isatty(fd) == 1;
    L.console =
        format == LOG_FORMAT_CONSOLE || (format == LOG_FORMAT_AUTO && L.tty);
}

bool log_enabled(enum log_level level)
{
    return level >= L.level && level < LOG_OFF;
}

int log_level_parse(const char *s, enum log_level *out)
{
    static const struct {
        const char *name;
        enum log_level level;
    } names[] = {{"debug", LOG_DEBUG},  {"trace", LOG_DEBUG},
                 {"info", LOG_INFO},    {"warn", LOG_WARN},
                 {"warning", LOG_WARN}, {"error", LOG_ERROR},
                 {"fatal", LOG_ERROR},  {"off", LOG_OFF}};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcasecmp(s, names[i].name) == 0) {
            *out = names[i].level;
            return 0;
        }
    }
    return ETL_EINVAL;
}

int log_format_parse(const char *s, enum log_format *out)
{
    if (strcasecmp(s, "json") == 0)
        *out = LOG_FORMAT_JSON;
    else if (strcasecmp(s, "console") == 0 || strcasecmp(s, "text") == 0)
        *out = LOG_FORMAT_CONSOLE;
    else if (strcasecmp(s, "auto") == 0)
        *out = LOG_FORMAT_AUTO;
    else
        return ETL_EINVAL;
    return 0;
}

/* JSON string escaping. Keys in log values are whatever a listing holds,
 * so besides JSON's own escapes: DEL and C1 controls (U+0080..U+009F,
 * which terminals may act on) become \u escapes, and a byte that is not
 * part of valid UTF-8 becomes the text \xNN, keeping the line valid JSON
 * and readable on a terminal. */
static void add_json_str(struct buf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t left = strlen(s);
    buf_addch(b, '"');
    while (left) {
        unsigned char c = *p;
        size_t n = c < 0x80 ? 1 : utf8_seq_len(p, left);
        if (n == 0) {
            buf_printf(b, "\\\\x%02x", c);
            n = 1;
        } else if (n == 2 && c == 0xC2 && p[1] < 0xA0) {
            buf_printf(b, "\\u%04x", p[1]);
        } else if (n > 1) {
            buf_add(b, (const char *)p, n);
        } else if (c == '"') {
            buf_addstr(b, "\\\"");
        } else if (c == '\\') {
            buf_addstr(b, "\\\\");
        } else if (c == '\n') {
            buf_addstr(b, "\\n");
        } else if (c == '\r') {
            buf_addstr(b, "\\r");
        } else if (c == '\t') {
            buf_addstr(b, "\\t");
        } else if (c < 0x20 || c == 0x7f) {
            buf_printf(b, "\\u%04x", c);
        } else {
            buf_addch(b, (char)c);
        }
        p += n;
        left -= n;
    }
    buf_addch(b, '"');
}

/* Console values are shown bare when they are plain printable text, and
 * quoted with add_json_str's escapes otherwise: an ESC or CR from a key
 * must never reach the terminal as it is. */
static bool console_plain(const char *s)
{
    if (!*s)
        return false;
    const unsigned char *p = (const unsigned char *)s;
    size_t left = strlen(s);
    while (left) {
        size_t n = *p < 0x80 ? 1 : utf8_seq_len(p, left);
        if (n == 0 ||
            (n == 1 && (*p <= 0x20 || *p == 0x7f || *p == '"' || *p == '=' ||
                        *p == '\\')) ||
            (n == 2 && *p == 0xC2 && p[1] < 0xA0))
            return false;
        p += n;
        left -= n;
    }
    return true;
}

static void add_value(struct buf *b, const struct log_field *f, bool json)
{
    switch (f->type) {
    case LF_STR_:
        if (!f->v.s)
            buf_addstr(b, "null");
        else if (json || !console_plain(f->v.s))
            add_json_str(b, f->v.s); /* console: quote only when needed */
        else
            buf_addstr(b, f->v.s);
        break;
    case LF_INT_:
        buf_printf(b, "%lld", f->v.i);
        break;
    case LF_DBL_:
        if (isfinite(f->v.d))
            buf_printf(b, "%.3f", f->v.d);
        else
            buf_addstr(b, "null");
        break;
    case LF_BOOL_:
        buf_addstr(b, f->v.b ? "true" : "false");
        break;
    case LF_END_:
        break;
    }
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

int log_context_set(const char *key, const char *value)
{
    if (!key)
        return ETL_EINVAL;
    size_t i = 0;
    while (i < tls_ctx.n && strcmp(tls_ctx.keys[i], key) != 0)
        i++;
    if (!value) {
        if (i < tls_ctx.n) {
            /* Keep the others in the order they were set. */
            for (size_t j = i + 1; j < tls_ctx.n; j++) {
                tls_ctx.keys[j - 1] = tls_ctx.keys[j];
                memcpy(tls_ctx.values[j - 1], tls_ctx.values[j],
                       sizeof(tls_ctx.values[j]));
            }
            tls_ctx.n--;
        }
        return 0;
    }
    if (i == tls_ctx.n) {
        if (tls_ctx.n == LOG_CONTEXT_MAX)
            return ETL_ENOMEM;
        tls_ctx.n++;
    }
    tls_ctx.keys[i] = key;
    snprintf(tls_ctx.values[i], sizeof(tls_ctx.values[i]), "%s", value);
    return 0;
}

void log_context_clear(void)
{
    tls_ctx.n = 0;
}

/* The event's own fields win over the context's. */
static bool has_field(const struct log_field *fields, size_t nfields,
                      const char *key)
{
    for (size_t i = 0; i < nfields; i++)
        if (strcmp(fields[i].key, key) == 0)
            return true;
    return false;
}

void log_emit(enum log_level level, const char *event,
              const struct log_field *fields, size_t nfields)
{
    struct tm tm;
    char when[40];
    int64_t ms = clock_wall_ms();
    time_t sec = (time_t)(ms / 1000);
    gmtime_r(&sec, &tm);
    size_t n = strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + n, sizeof(when) - n, ".%03dZ", (int)(ms % 1000));

    /* The context's fields, after the event's own. */
    struct log_field extra[LOG_CONTEXT_MAX];
    size_t nextra = 0;
    for (size_t i = 0; i < tls_ctx.n; i++) {
        if (!has_field(fields, nfields, tls_ctx.keys[i]))
            extra[nextra++] = LF_S(tls_ctx.keys[i], tls_ctx.values[i]);
    }

    struct buf b = BUF_INIT;
    if (L.console) {
        buf_printf(&b, "%s %-5s %s", when + 11, level_names[level], event);
        for (size_t i = 0; i < nfields + nextra; i++) {
            const struct log_field *f =
                i < nfields ? &fields[i] : &extra[i - nfields];
            buf_printf(&b, " %s=", f->key);
            add_value(&b, f, false);
        }
    } else {
        buf_printf(&b, "{\"time\":\"%s\",\"level\":\"%s\",\"event\":", when,
                   level_names[level]);
        add_json_str(&b, event);
        for (size_t i = 0; i < nfields + nextra; i++) {
            const struct log_field *f =
                i < nfields ? &fields[i] : &extra[i - nfields];
            buf_addch(&b, ',');
            add_json_str(&b, f->key);
            buf_addch(&b, ':');
            add_value(&b, f, true);
        }
        buf_addch(&b, '}');
    }
    buf_addch(&b, '\n');

    pthread_mutex_lock(&L.lock);
    if (L.progress.len) {
        /* Erase the progress line, print the log line, redraw it: one write
         * so the terminal never shows a half-drawn state. */
        struct buf all = BUF_INIT;
        buf_addstr(&all, "\r\033[K");
        buf_add(&all, b.data, b.len);
        buf_add(&all, L.progress.data, L.progress.len);
        write_all(L.fd, all.data, all.len);
        buf_release(&all);
    } else {
        write_all(L.fd, b.data, b.len);
    }
    pthread_mutex_unlock(&L.lock);
    buf_release(&b);
}

void log_payload(const char *event, const char *data, size_t len, size_t max)
{
    if (!max || !log_enabled(LOG_DEBUG))
        return;
    size_t n = len < max ? len : max;
    while (n > 0 && n < len && ((unsigned char)data[n] & 0xc0) == 0x80)
        n--; /* do not split a UTF-8 sequence */
    struct buf b = BUF_INIT;
    if (buf_add(&b, data, n) == 0)
        LOGF(LOG_DEBUG, event, LF_S("text", b.data), LF_I("bytes", len),
             LF_B("truncated", n < len));
    buf_release(&b);
}

bool log_progress_active(void)
{
    return L.console && L.tty;
}

void log_progress(const char *text)
{
    if (!log_progress_active())
        return;
    pthread_mutex_lock(&L.lock);
    struct buf out = BUF_INIT;
    buf_addstr(&out, "\r\033[K");
    buf_reset(&L.progress);
    if (text) {
        buf_addstr(&L.progress, text);
        buf_addstr(&out, text);
    } else {
        buf_release(&L.progress);
    }
    write_all(L.fd, out.data, out.len);
    buf_release(&out);
    pthread_mutex_unlock(&L.lock);
}
