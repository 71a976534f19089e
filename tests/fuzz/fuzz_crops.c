/* libFuzzer target: the crop-region JSON parser (ecg/crops.c), which reads
 * CROP_REGIONS and REDACT_REGIONS, and the mapping of regions to pixel
 * boxes. An accepted set must meet crops.h's contract; a refused one must
 * say why in one line. */
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "crops_check.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The setting is a C string: text up to the first NUL. */
    struct buf json = BUF_INIT, err = BUF_INIT;
    if (buf_add(&json, data, size))
        return 0;
    struct crop_set set;
    int rc = crops_parse(json.data, "CROP_REGIONS", &set, &err);
    FUZZ_CHECK(rc == 0 || rc == ETL_ECONFIG || rc == ETL_ENOMEM);
    if (rc == 0) {
        FUZZ_CHECK(err.len == 0);
        fuzz_check_crops(&set);
    } else if (rc == ETL_ECONFIG) {
        FUZZ_CHECK(strncmp(err.data, "CROP_REGIONS: ", 14) == 0);
        FUZZ_CHECK(strchr(err.data, '\n') == NULL);
    }
    buf_release(&json);
    buf_release(&err);
    return 0;
}
