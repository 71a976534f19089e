/* cfg_args_parse(): a subcommand's own options, and settings passed on by
 * the arity the settings table gives them. */
#include "config/config.h"
#include "core/err.h"
#include "harness.h"

#define ARGV(...) ((char *[]){"cmd", __VA_ARGS__, NULL})
#define ARGC(v) ((int)(sizeof(v) / sizeof(v[0])) - 1)

static const char *out, *event;
static bool inline_images;

static const struct cfg_option opts[] = {
    {.name = "output", .short_name = 'o', .value = &out},
    {.name = "event", .value = &event},
    {.name = "inline-images", .set = &inline_images},
    {.name = "dpi", .alias = "image-dpi"},
    {.name = "page", .alias = "crop-page"},
    {NULL, 0, NULL, NULL, NULL},
};

static void reset(void)
{
    out = event = NULL;
    inline_images = false;
}

/* Joined lists: "settings|positional", each item followed by ' '. */
static void joined(const struct cfg_args *a, char *s, size_t n)
{
    size_t at = 0;
    for (int i = 0; i < a->settings_n && at < n; i++)
        at += (size_t)snprintf(s + at, n - at, "%s ", a->settings[i]);
    if (at < n)
        at += (size_t)snprintf(s + at, n - at, "|");
    for (int i = 0; i < a->positional_n && at < n; i++)
        at += (size_t)snprintf(s + at, n - at, "%s ", a->positional[i]);
}

#define EXPECT_LISTS(want, ...)                                                \
    do {                                                                       \
        char **argv_ = ARGV(__VA_ARGS__);                                      \
        struct cfg_args args_;                                                 \
        struct buf e_ = BUF_INIT;                                              \
        char got_[512];                                                        \
        reset();                                                               \
        int rc_ =                                                              \
            cfg_args_parse(opts, ARGC(ARGV(__VA_ARGS__)), argv_, &args_, &e_); \
        CHECK_EQ_INT(rc_, 0);                                                  \
        if (rc_)                                                               \
            fprintf(stderr, "  error: %s\n", e_.data);                         \
        joined(&args_, got_, sizeof(got_));                                    \
        CHECK_EQ_STR(got_, want);                                              \
        cfg_args_release(&args_);                                              \
        buf_release(&e_);                                                      \
    } while (0)

#define EXPECT_FAIL(want, ...)                                                 \
    do {                                                                       \
        char **argv_ = ARGV(__VA_ARGS__);                                      \
        struct cfg_args args_;                                                 \
        struct buf e_ = BUF_INIT;                                              \
        reset();                                                               \
        int rc_ =                                                              \
            cfg_args_parse(opts, ARGC(ARGV(__VA_ARGS__)), argv_, &args_, &e_); \
        CHECK_EQ_INT(rc_, ETL_ECONFIG);                                        \
        CHECK_EQ_STR(e_.data, want);                                           \
        cfg_args_release(&args_);                                              \
        buf_release(&e_);                                                      \
    } while (0)

/* The bug that asked for this parser: a boolean setting before the file
 * took the file as its value. */
TEST(boolean_settings_take_no_argument)
{
    EXPECT_LISTS("--extract-waveforms |x.pdf ", "--extract-waveforms", "x.pdf",
                 "-o", "y.png");
    CHECK_EQ_STR(out, "y.png");
    EXPECT_LISTS("--no-progress --crop-leads |x.pdf ", "--no-progress", "x.pdf",
                 "--crop-leads");
}

TEST(valued_settings_take_one)
{
    EXPECT_LISTS("--crop-page auto --image-dpi=300 |x.pdf ", "--crop-page",
                 "auto", "x.pdf", "--image-dpi=300");
    /* A value that looks like an option is still the value. */
    EXPECT_LISTS("--run-id -x |", "--run-id", "-x");
    /* Missing at the end: cfg_load() says "needs a value". */
    EXPECT_LISTS("--image-dpi |x.pdf ", "x.pdf", "--image-dpi");
}

TEST(own_options)
{
    EXPECT_LISTS("|x.pdf ", "--output=o.png", "x.pdf");
    CHECK_EQ_STR(out, "o.png");
    EXPECT_LISTS("|x.pdf ", "-oo.png", "x.pdf");
    CHECK_EQ_STR(out, "o.png");
    EXPECT_LISTS("|", "--event", "{}", "--inline-images");
    CHECK_EQ_STR(event, "{}");
    CHECK(inline_images);
    /* The last one wins, as with settings. */
    EXPECT_LISTS("|", "-o", "a", "--output", "b");
    CHECK_EQ_STR(out, "b");
}

TEST(aliases_become_their_setting)
{
    EXPECT_LISTS("--image-dpi 300 --crop-page 2 |f ", "--dpi", "300", "f",
                 "--page=2");
}

TEST(positional_and_end_of_options)
{
    EXPECT_LISTS("|- a b ", "-", "a", "b");
    EXPECT_LISTS("--progress |--not-an-option -o ", "--progress", "--",
                 "--not-an-option", "-o");
}

TEST(help)
{
    char **argv = ARGV("x", "-h");
    struct cfg_args a;
    struct buf e = BUF_INIT;
    CHECK_EQ_INT(cfg_args_parse(opts, 3, argv, &a, &e), 0);
    CHECK(a.help);
    cfg_args_release(&a);
    buf_release(&e);
}

TEST(errors)
{
    EXPECT_FAIL("--extract-waveformz: unknown option; did you mean "
                "--extract-waveforms?",
                "--extract-waveformz", "x.pdf");
    EXPECT_FAIL("--outptu: unknown option; did you mean --output?",
                "--outptu=a");
    EXPECT_FAIL("--bogus: unknown option", "--bogus");
    EXPECT_FAIL("-x: unknown option", "-x");
    EXPECT_FAIL("-o: needs a value", "-o");
    EXPECT_FAIL("--event: needs a value", "--event");
    EXPECT_FAIL("--dpi: needs a value", "--dpi");
    EXPECT_FAIL("--inline-images=1: takes no value", "--inline-images=1");
}

/* No options of its own (run): everything is a setting or positional. */
TEST(no_own_options)
{
    char **argv = ARGV("--source", "/a", "--progress", "extra");
    struct cfg_args a;
    struct buf e = BUF_INIT;
    CHECK_EQ_INT(cfg_args_parse(NULL, 5, argv, &a, &e), 0);
    CHECK_EQ_INT(a.settings_n, 3);
    CHECK_EQ_INT(a.positional_n, 1);
    CHECK_EQ_STR(a.positional[0], "extra");
    cfg_args_release(&a);
    buf_release(&e);
}

int main(void)
{
    RUN(boolean_settings_take_no_argument);
    RUN(valued_settings_take_one);
    RUN(own_options);
    RUN(aliases_become_their_setting);
    RUN(positional_and_end_of_options);
    RUN(help);
    RUN(errors);
    RUN(no_own_options);
    return harness_done();
}
