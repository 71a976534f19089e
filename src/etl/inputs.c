/* The files settings name: read here, parsed by ecg/ (see etl.h). */
#include "config/config.h"
#include "core/err.h"
#include "ecg/crops.h"
#include "ecg/fields.h"
#include "etl/etl.h"

#define INPUT_FILE_MAX (1024 * 1024)

int etl_load_crops(const char *var, const char *path, struct crop_set *out,
                   struct buf *err)
{
    struct buf text = BUF_INIT;
    int rc = cfg_file_read(var, path, INPUT_FILE_MAX, &text, err);
    if (!rc)
        rc = crops_parse(text.data, path, out, err);
    buf_release(&text);
    return rc;
}

int etl_load_fields(const char *path, struct fields_set **out, struct buf *err)
{
    *out = NULL;
    if (!path)
        return fields_parse(NULL, NULL, out, err);
    struct buf text = BUF_INIT;
    int rc =
        cfg_file_read("FIELD_PATTERNS_FILE", path, INPUT_FILE_MAX, &text, err);
    if (!rc)
        rc = fields_parse(text.data, path, out, err);
    buf_release(&text);
    return rc;
}
