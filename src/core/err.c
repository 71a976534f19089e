#include "core/err.h"

#include <stddef.h>

struct err_entry {
    int code;
    const char *name;
    const char *msg;
};

static const struct err_entry err_table[] = {
#define ETL_ERR_ROW(sym, val, name, msg) {(val), (name), (msg)},
    ETL_ERRORS(ETL_ERR_ROW)
#undef ETL_ERR_ROW
};

static const struct err_entry *err_find(int code)
{
    for (size_t i = 0; i < sizeof(err_table) / sizeof(err_table[0]); i++)
        if (err_table[i].code == code)
            return &err_table[i];
    return 0;
}

const char *etl_strerror(int code)
{
    const struct err_entry *e = err_find(code);
    return e ? e->msg : "unknown error";
}

const char *etl_errname(int code)
{
    const struct err_entry *e = err_find(code);
    return e ? e->name : "unknown";
}
