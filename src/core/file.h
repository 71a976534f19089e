/* Local files: a capped read of a regular file, and an atomic write.
 * Thread-safe. */
#ifndef ETL_CORE_FILE_H
#define ETL_CORE_FILE_H

#include <stddef.h>

#include "core/buf.h"

/* Read the regular file at path (at most max bytes, a NUL kept after
 * them) into out, replacing its contents. Never blocks on a FIFO or a
 * terminal: they are not regular files. On error out is empty, the code
 * is ETL_ENOTFOUND (cannot open), ETL_EINVAL (not a regular file),
 * ETL_ETOOBIG (larger than max), ETL_EIO or ETL_ENOMEM, and why (may be
 * NULL) gets the reason ("cannot open: No such file or directory", "must
 * be a regular file, not a FIFO", "larger than 1048576 bytes"). */
int file_read(const char *path, size_t max, struct buf *out, struct buf *why);

/* Write data to path atomically: a temporary file in the same directory,
 * then a rename, so a reader never sees half a file (and a failure
 * leaves the old one). ETL_EIO (why gets "path: reason") or ETL_ENOMEM. */
int file_write_atomic(const char *path, const void *data, size_t len,
                      struct buf *why);

#endif
