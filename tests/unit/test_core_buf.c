#include <stdlib.h>

#include "core/buf.h"
#include "core/err.h"
#include "harness.h"

TEST(empty_is_terminated)
{
    struct buf b = BUF_INIT;
    CHECK(b.data != NULL);
    CHECK_EQ_STR(b.data, "");
    buf_release(&b);
    CHECK_EQ_STR(b.data, "");
}

TEST(add_and_printf)
{
    struct buf b = BUF_INIT;
    CHECK_EQ_INT(buf_addstr(&b, "abc"), 0);
    CHECK_EQ_INT(buf_addch(&b, '-'), 0);
    CHECK_EQ_INT(buf_printf(&b, "%d/%s", 42, "x"), 0);
    CHECK_EQ_STR(b.data, "abc-42/x");
    CHECK_EQ_INT(b.len, 8);
    /* Grow past the first allocation through printf. */
    for (int i = 0; i < 100; i++)
        buf_printf(&b, "%04d", i);
    CHECK_EQ_INT(b.len, 8 + 400);
    CHECK_EQ_INT(b.data[b.len], 0);
    CHECK(memcmp(b.data + b.len - 4, "0099", 4) == 0);
    buf_truncate(&b, 3);
    CHECK_EQ_STR(b.data, "abc");
    buf_reset(&b);
    CHECK_EQ_STR(b.data, "");
    buf_release(&b);
}

TEST(binary_with_nul)
{
    struct buf b = BUF_INIT;
    CHECK_EQ_INT(buf_add(&b, "a\0b", 3), 0);
    CHECK_EQ_INT(b.len, 3);
    CHECK_EQ_MEM(b.data, "a\0b", 4);
    buf_release(&b);
}

TEST(max_caps_growth)
{
    struct buf b;
    buf_init(&b, 10);
    CHECK_EQ_INT(buf_addstr(&b, "0123456789"), 0);
    CHECK_EQ_INT(buf_addch(&b, 'x'), ETL_ETOOBIG);
    CHECK_EQ_STR(b.data, "0123456789");
    CHECK_EQ_INT(buf_printf(&b, "%s", "more"), ETL_ETOOBIG);
    CHECK_EQ_STR(b.data, "0123456789");
    buf_release(&b);
    CHECK_EQ_INT(b.max, 10);
}

TEST(detach_moves_ownership)
{
    struct buf b = BUF_INIT;
    size_t n = 99;
    char *p = buf_detach(&b, &n);
    CHECK(p != NULL);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_STR(p, "");
    free(p);
    buf_addstr(&b, "hello");
    p = buf_detach(&b, &n);
    CHECK_EQ_STR(p, "hello");
    CHECK_EQ_INT(n, 5);
    CHECK_EQ_STR(b.data, "");
    CHECK_EQ_INT(b.len, 0);
    free(p);
}

int main(void)
{
    RUN(empty_is_terminated);
    RUN(add_and_printf);
    RUN(binary_with_nul);
    RUN(max_caps_growth);
    RUN(detach_moves_ownership);
    return harness_done();
}
