#include <pthread.h>
#include <unistd.h>

#include "core/log.h"
#include "harness.h"

static void read_all(int fd, char *out, size_t size)
{
    size_t n = 0;
    ssize_t r;
    while (n + 1 < size && (r = read(fd, out + n, size - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = '\0';
}

TEST(json_lines_with_fields)
{
    int fds[2];
    CHECK_EQ_INT(pipe(fds), 0);
    log_init(LOG_INFO, LOG_FORMAT_AUTO, fds[1]); /* a pipe: JSON */
    LOGF(LOG_DEBUG, "hidden", LF_S("k", "v"));
    LOGF(LOG_INFO, "pdf_processed", LF_S("file_id", "a\"b\n"),
         LF_I("images", 3), LF_D("ms", 1.5), LF_B("ok", true),
         LF_S("none", NULL));
    LOGF(LOG_ERROR, "bare");
    close(fds[1]);
    char out[2048];
    read_all(fds[0], out, sizeof(out));
    close(fds[0]);
    CHECK(strstr(out, "hidden") == NULL);
    const char *line = strstr(out, "\"level\":\"INFO\"");
    CHECK(line != NULL);
    CHECK(strstr(out,
                 "\"event\":\"pdf_processed\",\"file_id\":\"a\\\"b\\n\","
                 "\"images\":3,\"ms\":1.500,\"ok\":true,\"none\":null}\n"));
    CHECK(strstr(out, "{\"time\":\"") == out);
    CHECK(strstr(out, "Z\",\"level\"") != NULL);
    CHECK(strstr(out, "\"event\":\"bare\"}\n") != NULL);
    /* exactly three? no: two lines */
    int lines = 0;
    for (const char *p = out; *p; p++)
        lines += *p == '\n';
    CHECK_EQ_INT(lines, 2);
}

TEST(console_format)
{
    int fds[2];
    CHECK_EQ_INT(pipe(fds), 0);
    log_init(LOG_DEBUG, LOG_FORMAT_CONSOLE, fds[1]);
    LOGF(LOG_WARN, "slow", LF_S("key", "a b"), LF_I("n", -2));
    CHECK(!log_progress_active()); /* not a TTY */
    close(fds[1]);
    char out[512];
    read_all(fds[0], out, sizeof(out));
    close(fds[0]);
    CHECK(strstr(out, "WARN  slow key=\"a b\" n=-2\n") != NULL);
}

/* Keys come from listings: no control character of theirs may reach a
 * terminal (ESC starts an escape sequence, CR rewrites the line), and a
 * byte that is not UTF-8 must not make a JSON line invalid. */
TEST(hostile_values_are_escaped)
{
    int fds[2];
    CHECK_EQ_INT(pipe(fds), 0);
    log_init(LOG_DEBUG, LOG_FORMAT_CONSOLE, fds[1]);
    LOGF(LOG_WARN, "k", LF_S("key", "red\x1b[31m\rover\x7f\xc2\x9b.pdf"),
         LF_S("latin", "caf\xe9.pdf"), LF_S("ok", "caf\xc3\xa9.pdf"));
    log_init(LOG_DEBUG, LOG_FORMAT_JSON, fds[1]);
    LOGF(LOG_WARN, "j", LF_S("key", "caf\xe9\x1b.pdf"));
    close(fds[1]);
    char out[1024];
    read_all(fds[0], out, sizeof(out));
    close(fds[0]);
    for (const char *p = out; *p; p++)
        CHECK((unsigned char)*p >= 0x20 || *p == '\n');
    CHECK(strstr(out, "key=\"red\\u001b[31m\\rover\\u007f\\u009b.pdf\""));
    CHECK(strstr(out, "latin=\"caf\\\\xe9.pdf\""));
    CHECK(strstr(out, "ok=caf\xc3\xa9.pdf"));
    CHECK(strstr(out, "\"key\":\"caf\\\\xe9\\u001b.pdf\"}"));
}

static void *log_from_other_thread(void *arg)
{
    (void)arg;
    LOGF(LOG_INFO, "other_thread");
    return NULL;
}

/* A worker's context (the file_id of its PDF) goes on every line it logs,
 * library warnings included, and on no other thread's lines. */
TEST(context_fields)
{
    int fds[2];
    CHECK_EQ_INT(pipe(fds), 0);
    log_init(LOG_DEBUG, LOG_FORMAT_JSON, fds[1]);
    CHECK_EQ_INT(log_context_set("file_id", "site/a \"b\""), 0);
    LOGF(LOG_DEBUG, "mupdf_warning", LF_S("message", "repairing"));
    LOGF(LOG_INFO, "region_clipped", LF_S("file_id", "own"));
    pthread_t t;
    CHECK_EQ_INT(pthread_create(&t, NULL, log_from_other_thread, NULL), 0);
    pthread_join(t, NULL);
    CHECK_EQ_INT(log_context_set("file_id", NULL), 0);
    LOGF(LOG_INFO, "after");
    close(fds[1]);
    char out[2048];
    read_all(fds[0], out, sizeof(out));
    close(fds[0]);
    CHECK(strstr(out, "\"event\":\"mupdf_warning\",\"message\":\"repairing\","
                      "\"file_id\":\"site/a \\\"b\\\"\"}\n") != NULL);
    CHECK(strstr(out, "\"event\":\"region_clipped\",\"file_id\":\"own\"}\n") !=
          NULL);
    CHECK(strstr(out, "\"event\":\"other_thread\"}\n") != NULL);
    CHECK(strstr(out, "\"event\":\"after\"}\n") != NULL);

    /* Bounded: keys replace themselves; a fifth distinct key is refused. */
    CHECK_EQ_INT(log_context_set("a", "1"), 0);
    CHECK_EQ_INT(log_context_set("a", "2"), 0);
    CHECK_EQ_INT(log_context_set("b", "1"), 0);
    CHECK_EQ_INT(log_context_set("c", "1"), 0);
    CHECK_EQ_INT(log_context_set("d", "1"), 0);
    CHECK(log_context_set("e", "1") != 0);
    CHECK(log_context_set(NULL, "1") != 0);
    log_context_clear();
    CHECK_EQ_INT(log_context_set("e", "1"), 0);
    log_context_clear();
}

TEST(level_parse)
{
    enum log_level l;
    CHECK_EQ_INT(log_level_parse("debug", &l), 0);
    CHECK_EQ_INT(l, LOG_DEBUG);
    CHECK_EQ_INT(log_level_parse("WARNING", &l), 0);
    CHECK_EQ_INT(l, LOG_WARN);
    CHECK(log_level_parse("loud", &l) != 0);
    enum log_format f;
    CHECK_EQ_INT(log_format_parse("Text", &f), 0);
    CHECK_EQ_INT(f, LOG_FORMAT_CONSOLE);
    CHECK(log_format_parse("xml", &f) != 0);
}

int main(void)
{
    RUN(json_lines_with_fields);
    RUN(console_format);
    RUN(hostile_values_are_escaped);
    RUN(context_fields);
    RUN(level_parse);
    return harness_done();
}
