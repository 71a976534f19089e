/* A minimal unit-test harness (after cJSON's and libuv's).
 *
 *   TEST(name) { CHECK(x == 1); CHECK_EQ_INT(a, b); CHECK_EQ_STR(s, "x");
 *                CHECK_EQ_MEM(p, q, n); }
 *   int main(void) { RUN(name); return harness_done(); }
 *
 * A failed check prints file:line and the values, marks the test failed and
 * goes on with the next check; harness_done() prints "N passed, N failed"
 * and returns the exit status for CTest. */
#ifndef ETL_TEST_HARNESS_H
#define ETL_TEST_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int harness_passed, harness_failed, harness_cur_failed;

#define TEST(name) static void test_##name(void)

#define RUN(name)                                                              \
    do {                                                                       \
        harness_cur_failed = 0;                                                \
        test_##name();                                                         \
        if (harness_cur_failed) {                                              \
            harness_failed++;                                                  \
            fprintf(stderr, "FAIL %s\n", #name);                               \
        } else {                                                               \
            harness_passed++;                                                  \
        }                                                                      \
    } while (0)

#define HARNESS_FAIL(...)                                                      \
    do {                                                                       \
        fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                        \
        fprintf(stderr, __VA_ARGS__);                                          \
        fputc('\n', stderr);                                                   \
        harness_cur_failed = 1;                                                \
    } while (0)

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond))                                                           \
            HARNESS_FAIL("check failed: %s", #cond);                           \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                     \
    do {                                                                       \
        long long a_ = (long long)(a), b_ = (long long)(b);                    \
        if (a_ != b_)                                                          \
            HARNESS_FAIL("%s == %s: %lld != %lld", #a, #b, a_, b_);            \
    } while (0)

#define CHECK_EQ_STR(a, b)                                                     \
    do {                                                                       \
        const char *a_ = (a), *b_ = (b);                                       \
        if (!a_ || !b_ || strcmp(a_, b_) != 0)                                 \
            HARNESS_FAIL("%s == %s: \"%s\" != \"%s\"", #a, #b,                 \
                         a_ ? a_ : "(null)", b_ ? b_ : "(null)");              \
    } while (0)

static inline void harness_hex(const char *label, const void *p, size_t n)
{
    fprintf(stderr, "  %s:", label);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, " %02x", ((const unsigned char *)p)[i]);
    fputc('\n', stderr);
}

#define CHECK_EQ_MEM(a, b, n)                                                  \
    do {                                                                       \
        const void *a_ = (a), *b_ = (b);                                       \
        size_t n_ = (n);                                                       \
        if (memcmp(a_, b_, n_) != 0) {                                         \
            HARNESS_FAIL("%s == %s (%zu bytes) differ", #a, #b, n_);           \
            harness_hex("got ", a_, n_);                                       \
            harness_hex("want", b_, n_);                                       \
        }                                                                      \
    } while (0)

static inline int harness_done(void)
{
    printf("%d passed, %d failed\n", harness_passed, harness_failed);
    return harness_failed ? 1 : 0;
}

#endif
