/* Structured logging: one JSON object per line, written with one write(2),
 * to stderr. On a TTY (or with LOG_FORMAT=console) a readable console form is
 * used instead, and a progress line may be kept at the bottom of the
 * terminal; log lines never garble it.
 *
 *   LOGF(LOG_INFO, "pdf_done", LF_S("file_id", id), LF_I("images", n));
 *
 * The level is checked before any formatting. Thread-safe. Never pass PDF
 * text, image bytes or credentials as a field value. */
#ifndef ETL_CORE_LOG_H
#define ETL_CORE_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_OFF };
enum log_format { LOG_FORMAT_AUTO, LOG_FORMAT_JSON, LOG_FORMAT_CONSOLE };

enum log_field_type { LF_END_, LF_STR_, LF_INT_, LF_DBL_, LF_BOOL_ };

struct log_field {
    const char *key;
    enum log_field_type type;
    union {
        const char *s;
        long long i;
        double d;
        bool b;
    } v;
};

#define LF_S(k, val)                                                           \
    ((struct log_field){.key = (k), .type = LF_STR_, .v.s = (val)})
#define LF_I(k, val)                                                           \
    ((struct log_field){.key = (k), .type = LF_INT_, .v.i = (long long)(val)})
#define LF_D(k, val)                                                           \
    ((struct log_field){.key = (k), .type = LF_DBL_, .v.d = (double)(val)})
#define LF_B(k, val)                                                           \
    ((struct log_field){.key = (k), .type = LF_BOOL_, .v.b = (val)})
#define LF_END ((struct log_field){.key = 0, .type = LF_END_})

/* Log an event with optional fields; the level test comes first. The array
 * starts with a placeholder so that a call with no fields is still valid C
 * (and needs no __VA_OPT__). */
#define LOGF(level, event, ...)                                                \
    do {                                                                       \
        if (log_enabled(level)) {                                              \
            const struct log_field lf_fields_[] = {LF_END, __VA_ARGS__};       \
            log_emit((level), (event), lf_fields_ + 1,                         \
                     sizeof(lf_fields_) / sizeof(lf_fields_[0]) - 1);          \
        }                                                                      \
    } while (0)

/* Configure; call once at start-up before threads exist. fd is where lines
 * go (2 for stderr). AUTO picks CONSOLE when fd is a TTY. */
void log_init(enum log_level level, enum log_format format, int fd);
bool log_enabled(enum log_level level);
void log_emit(enum log_level level, const char *event,
              const struct log_field *fields, size_t nfields);

/* Parse "DEBUG", "info", "WARN"/"WARNING", "ERROR", "OFF" (any case).
 * Returns 0 or ETL_EINVAL. */
int log_level_parse(const char *s, enum log_level *out);
/* Parse "json", "console"/"text", "auto" (any case). */
int log_format_parse(const char *s, enum log_format *out);

/* Per-thread context: fields added to every line the calling thread logs,
 * after the event's own fields (a key the event names itself is not
 * repeated). A worker sets the file_id of the PDF it is working on, so
 * lines logged from deep inside a library (MuPDF's warnings) name the
 * file. key must be a string that outlives the context (a literal); value
 * is copied, cut at LOG_CONTEXT_VALUE_MAX bytes; a NULL value removes the
 * key. At most LOG_CONTEXT_MAX keys (ETL_ENOMEM past that; ETL_EINVAL for
 * a NULL key). Affects only the calling thread. */
#define LOG_CONTEXT_MAX 4
#define LOG_CONTEXT_VALUE_MAX 1024
int log_context_set(const char *key, const char *value);
/* Remove every key of the calling thread's context. */
void log_context_clear(void);

/* The DEBUG_PAYLOADS switch: log event at DEBUG with the first max bytes
 * of data (cut at a UTF-8 boundary) as "text", its full length as "bytes"
 * and whether it was cut. Does nothing when max is 0 or DEBUG is off:
 * payloads (PDF text) are logged only when deliberately switched on. */
void log_payload(const char *event, const char *data, size_t len, size_t max);

/* Progress line (TTY console mode only; otherwise a no-op): replace the
 * bottom line with text, or remove it with NULL. */
void log_progress(const char *text);
/* True when the progress line is shown (console mode on a TTY). */
bool log_progress_active(void);

#endif
