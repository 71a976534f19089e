#include "core/utf8.h"
#include "harness.h"

TEST(valid_and_invalid)
{
    static const struct {
        const char *s;
        size_t len;
        bool ok;
    } cases[] = {
        {"", 0, true},
        {"plain ascii", 11, true},
        {"Jos\xc3\xa9 M\xc3\xbcller", 13, true},
        {"\xe2\x82\xac", 3, true},      /* euro sign */
        {"\xf0\x9f\x92\x93", 4, true},  /* U+1F493 */
        {"\xf4\x8f\xbf\xbf", 4, true},  /* U+10FFFF */
        {"\xc3", 1, false},             /* truncated */
        {"\xc0\xaf", 2, false},         /* overlong '/' */
        {"\xe0\x80\xaf", 3, false},     /* overlong */
        {"\xed\xa0\x80", 3, false},     /* surrogate */
        {"\xf4\x90\x80\x80", 4, false}, /* > U+10FFFF */
        {"\xff", 1, false},
        {"a\x80z", 3, false}, /* lone continuation */
        {"a\0b", 3, true},    /* NUL is valid UTF-8 */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (utf8_valid(cases[i].s, cases[i].len) != cases[i].ok)
            HARNESS_FAIL("case %zu: expected %s", i,
                         cases[i].ok ? "valid" : "invalid");
    }
}

TEST(sanitize_replaces_each_bad_byte)
{
    struct buf b = BUF_INIT;
    buf_add(&b,
            "a\xff"
            "b\xed\xa0\x80"
            "c",
            7);
    CHECK_EQ_INT(utf8_sanitize(&b), 0);
    CHECK_EQ_STR(b.data, "a\xef\xbf\xbd"
                         "b\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                         "c");
    CHECK(utf8_valid(b.data, b.len));
    buf_release(&b);

    buf_addstr(&b, "fine");
    CHECK_EQ_INT(utf8_sanitize(&b), 0);
    CHECK_EQ_STR(b.data, "fine");
    buf_release(&b);
}

TEST(encode)
{
    static const struct {
        long c;
        const char *want;
    } cases[] = {
        {0x41, "A"},
        {0x7f, "\x7f"},
        {0x80, "\xc2\x80"},
        {0x7ff, "\xdf\xbf"},
        {0x800, "\xe0\xa0\x80"},
        {0x20ac, "\xe2\x82\xac"},
        {0xffff, "\xef\xbf\xbf"},
        {0x10000, "\xf0\x90\x80\x80"},
        {0x10ffff, "\xf4\x8f\xbf\xbf"},
        /* not characters: U+FFFD */
        {0xd800, "\xef\xbf\xbd"},
        {0xdfff, "\xef\xbf\xbd"},
        {0x110000, "\xef\xbf\xbd"},
        {-1, "\xef\xbf\xbd"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[5];
        size_t n = utf8_encode(cases[i].c, out);
        out[n] = '\0';
        CHECK_EQ_STR(out, cases[i].want);
        CHECK(utf8_valid(out, n));
    }
}

int main(void)
{
    RUN(valid_and_invalid);
    RUN(sanitize_replaces_each_bad_byte);
    RUN(encode);
    return harness_done();
}
