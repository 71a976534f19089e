/* Shared by the fuzz targets: a check that survives NDEBUG and aborts, so
 * libFuzzer (or the replay driver) reports a broken contract as a crash
 * with the input that caused it. */
#ifndef ETL_FUZZ_FUZZ_H
#define ETL_FUZZ_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(cond)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: contract broken: %s\n", __FILE__,          \
                    __LINE__, #cond);                                          \
            abort();                                                           \
        }                                                                      \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
