/* glibc 2.34 compatibility for the Lambda package (built with
 * -DETL_GLIBC_COMPAT by scripts/lambda-package; empty otherwise).
 *
 * provided.al2023 has glibc 2.34, Debian 12 builds against 2.36. The
 * bpecg-etl binary itself needs nothing newer, but three libraries it
 * uses do: libexpat (arc4random_buf, 2.36, for its hash salt), libstdc++
 * (arc4random, 2.36, pulled in by snappy) and libgcc_s (_dl_find_object,
 * 2.35, for unwinding). The package links expat, snappy, libstdc++ and the
 * unwinder statically and this file defines those three functions from
 * what 2.34 has, so the executable binds to them instead of to newer glibc
 * versions (scripts/lambda-package checks that with objdump). */
#include "lambda/lambda_int.h"

#ifdef ETL_GLIBC_COMPAT

#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/random.h>

void arc4random_buf(void *buf, size_t n)
{
    unsigned char *p = buf;
    while (n > 0) {
        ssize_t got = getrandom(p, n, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            abort(); /* as glibc's: no silent weak randomness */
        }
        p += got;
        n -= (size_t)got;
    }
}

uint32_t arc4random(void)
{
    uint32_t v;
    arc4random_buf(&v, sizeof(v));
    return v;
}

struct find_arg {
    uintptr_t pc;
    struct dl_find_object *result;
    int found;
};

static int find_cb(struct dl_phdr_info *info, size_t size, void *varg)
{
    struct find_arg *a = varg;
    (void)size;
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    const ElfW(Phdr) *eh = NULL;
    int inside = 0;
    for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_GNU_EH_FRAME)
            eh = ph;
        if (ph->p_type != PT_LOAD)
            continue;
        uintptr_t start = info->dlpi_addr + ph->p_vaddr;
        uintptr_t end = start + ph->p_memsz;
        if (start < lo)
            lo = start;
        if (end > hi)
            hi = end;
        if (a->pc >= start && a->pc < end)
            inside = 1;
    }
    if (!inside)
        return 0;
    a->result->dlfo_flags = 0;
    a->result->dlfo_map_start = (void *)lo;
    a->result->dlfo_map_end = (void *)hi;
    a->result->dlfo_link_map = NULL;
    a->result->dlfo_eh_frame =
        eh ? (void *)(info->dlpi_addr + eh->p_vaddr) : NULL;
    a->found = 1;
    return 1;
}

/* What libgcc's unwinder asks: the object holding pc and its
 * .eh_frame_hdr (what it found with dl_iterate_phdr before glibc 2.35). */
int _dl_find_object(void *pc, struct dl_find_object *result)
{
    struct find_arg a = {(uintptr_t)pc, result, 0};
    dl_iterate_phdr(find_cb, &a);
    return a.found ? 0 : -1;
}

#endif

/* Referenced by the runtime so that this object is always linked (its
 * definitions must be seen before the static archives that need them). */
int lambda_compat_linked(void)
{
#ifdef ETL_GLIBC_COMPAT
    return 1;
#else
    return 0;
#endif
}
