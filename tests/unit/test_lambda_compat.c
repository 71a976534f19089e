/* The glibc 2.34 stand-ins of the Lambda package (src/lambda/compat.c,
 * built here as the package builds it): arc4random fills with randomness,
 * and _dl_find_object finds the same object and .eh_frame_hdr as glibc's
 * own, which the C++ unwinder relies on. */
#define ETL_GLIBC_COMPAT 1
#include "../../src/lambda/compat.c"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

typedef int (*find_fn)(void *, struct dl_find_object *);

static void same_as_glibc(void *pc, const char *what)
{
    find_fn real = (find_fn)dlsym(RTLD_NEXT, "_dl_find_object");
    if (!real) {
        HARNESS_FAIL("glibc has no _dl_find_object to compare with");
        return;
    }
    struct dl_find_object ours, theirs;
    memset(&ours, 0, sizeof(ours));
    memset(&theirs, 0, sizeof(theirs));
    int a = _dl_find_object(pc, &ours), b = real(pc, &theirs);
    if (a != b) {
        HARNESS_FAIL("%s: ours %d, glibc %d", what, a, b);
        return;
    }
    if (a != 0)
        return;
    if (ours.dlfo_eh_frame != theirs.dlfo_eh_frame)
        HARNESS_FAIL("%s: eh_frame %p, glibc %p", what, ours.dlfo_eh_frame,
                     theirs.dlfo_eh_frame);
    /* glibc's bounds are the mapping's; ours the segments'. Both hold pc. */
    CHECK((char *)ours.dlfo_map_start <= (char *)pc &&
          (char *)pc < (char *)ours.dlfo_map_end);
    CHECK((char *)theirs.dlfo_map_start <= (char *)ours.dlfo_map_start);
    CHECK((char *)ours.dlfo_map_end <= (char *)theirs.dlfo_map_end);
}

static int local_function(void)
{
    return 42;
}

TEST(find_object)
{
    CHECK(lambda_compat_linked() == 1);
    same_as_glibc((void *)local_function, "the test program");
    same_as_glibc((void *)printf, "libc");
    same_as_glibc((void *)json_loads, "libjansson");
    static int data;
    same_as_glibc(&data, "data of the test program");
    int on_stack;
    same_as_glibc(&on_stack, "the stack (no object)");
    CHECK(local_function() == 42);
}

TEST(randomness)
{
    unsigned char a[64], b[64], zero[64] = {0};
    memset(a, 0, sizeof(a));
    memset(b, 0, sizeof(b));
    arc4random_buf(a, sizeof(a));
    arc4random_buf(b, sizeof(b));
    CHECK(memcmp(a, zero, sizeof(a)) != 0);
    CHECK(memcmp(a, b, sizeof(a)) != 0);
    arc4random_buf(a, 0);
    uint32_t x = arc4random(), y = arc4random(), z = arc4random();
    CHECK(!(x == y && y == z));
}

int main(void)
{
    RUN(find_object);
    RUN(randomness);
    return harness_done();
}
