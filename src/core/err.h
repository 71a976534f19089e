/* Error codes shared by every module.
 *
 * Functions return int: 0 on success, a negative ETL_E* code on failure.
 * The table below is the single source of the codes, their stable names
 * (used as error_type in results and logs) and their messages. */
#ifndef ETL_CORE_ERR_H
#define ETL_CORE_ERR_H

/* X(symbol, value, name, message) */
#define ETL_ERRORS(X)                                                          \
    X(ETL_OK, 0, "ok", "success")                                              \
    X(ETL_ENOMEM, -1, "out_of_memory", "out of memory")                        \
    X(ETL_EINVAL, -2, "invalid", "invalid argument")                           \
    X(ETL_EIO, -3, "io", "input/output error")                                 \
    X(ETL_ETOOBIG, -4, "too_large", "size limit exceeded")                     \
    X(ETL_ENOTFOUND, -5, "not_found", "not found")                             \
    X(ETL_EEXIST, -6, "exists", "already exists")                              \
    X(ETL_ERANGE, -7, "out_of_range", "value out of range")                    \
    X(ETL_ECONFIG, -8, "config", "invalid configuration")                      \
    X(ETL_EUNSAFE, -9, "unsafe_key", "key is not safe")                        \
    X(ETL_ENOTSUP, -10, "not_supported", "not supported")                      \
    X(ETL_ENOSPC, -11, "no_space", "no space left on the device")              \
    X(ETL_EROFS, -12, "read_only", "read-only file system")                    \
    X(ETL_ENOTDIR, -13, "not_a_directory", "a path component is not a folder") \
    X(ETL_EDEST, -14, "destination_broken",                                    \
      "the destination cannot be written")                                     \
    X(ETL_EPROTO, -15, "bad_listing",                                          \
      "the server's listing broke its contract")                               \
    X(ETL_ECONFLICT, -16, "batch_exists",                                      \
      "the batch's results file holds another key range")                      \
    X(ETL_EPDF, -20, "pdf_error", "PDF processing failed")                     \
    X(ETL_EPDF_NOTPDF, -21, "not_pdf", "not a PDF file")                       \
    X(ETL_EPDF_EMPTY, -22, "empty", "empty file")                              \
    X(ETL_EPDF_ENCRYPTED, -23, "encrypted", "PDF is encrypted")                \
    X(ETL_EPDF_DAMAGED, -24, "damaged", "PDF is damaged")                      \
    X(ETL_EPDF_NOPAGE, -25, "missing_page", "page does not exist")             \
    X(ETL_EPDF_TIMEOUT, -26, "timeout", "time limit exceeded")                 \
    X(ETL_EPDF_TOOCOMPLEX, -27, "too_complex", "PDF exceeds a resource limit") \
    X(ETL_EIMAGE, -30, "image_encode", "image encoding failed")                \
    X(ETL_ENET, -40, "network", "network error")                               \
    X(ETL_ETLS, -41, "tls", "TLS error")                                       \
    X(ETL_EHTTP, -42, "http", "unexpected HTTP status")                        \
    X(ETL_EAUTH, -43, "auth", "authentication failed")                         \
    X(ETL_ETIMEDOUT, -44, "timed_out", "operation timed out")                  \
    X(ETL_ETHROTTLED, -45, "throttled", "request throttled")                   \
    X(ETL_ECANCELED, -46, "canceled", "operation canceled")

enum etl_err {
#define ETL_ERR_ENUM(sym, val, name, msg) sym = (val),
    ETL_ERRORS(ETL_ERR_ENUM)
#undef ETL_ERR_ENUM
};

/* Human-readable message for a code; never NULL. */
const char *etl_strerror(int code);

/* Stable snake_case name for a code (e.g. "encrypted"); never NULL. */
const char *etl_errname(int code);

#endif
