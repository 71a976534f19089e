/* Local files (see file.h). */
#include "core/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"

static const char *file_kind(mode_t m)
{
    return S_ISDIR(m)    ? "a directory"
           : S_ISFIFO(m) ? "a FIFO"
           : S_ISCHR(m)  ? "a character device"
           : S_ISBLK(m)  ? "a block device"
           : S_ISSOCK(m) ? "a socket"
                         : "a special file";
}

static void reason(struct buf *why, const char *what, int err)
{
    char eb[128];
    if (why)
        buf_printf(why, "%s: %s", what, strerror_r(err, eb, sizeof(eb)));
}

int file_read(const char *path, size_t max, struct buf *out, struct buf *why)
{
    struct stat st;
    int rc = 0;
    buf_reset(out);
    /* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
     * writer forever. O_NOCTTY: a terminal must not become ours. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        reason(why, "cannot open", errno);
        return ETL_ENOTFOUND;
    }
    if (fstat(fd, &st) != 0) {
        reason(why, "cannot stat", errno);
        rc = ETL_EIO;
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        if (why)
            buf_printf(why, "must be a regular file, not %s",
                       file_kind(st.st_mode));
        rc = ETL_EINVAL;
        goto out;
    }
    for (;;) {
        /* One byte over the cap tells "exactly max" from "more". */
        rc = buf_grow(out, 64 * 1024);
        if (rc)
            goto out;
        size_t room = out->cap - out->len - 1;
        if (room > max + 1 - out->len)
            room = max + 1 - out->len;
        ssize_t got = read(fd, out->data + out->len, room);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            reason(why, "cannot read", errno);
            rc = ETL_EIO;
            goto out;
        }
        if (got == 0)
            break;
        out->len += (size_t)got;
        out->data[out->len] = '\0';
        if (out->len > max) {
            if (why)
                buf_printf(why, "larger than %zu bytes", max);
            rc = ETL_ETOOBIG;
            goto out;
        }
    }
out:
    close(fd);
    if (rc)
        buf_reset(out);
    return rc;
}

int file_write_atomic(const char *path, const void *data, size_t len,
                      struct buf *why)
{
    struct buf tmp = BUF_INIT;
    int rc = 0, fd = -1, err = 0;
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path + 1) : 0;
    if (buf_add(&tmp, path, dirlen) ||
        buf_printf(&tmp, ".%s.tmp.%ld", path + dirlen, (long)getpid()))
        return ETL_ENOMEM;
    fd = open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) {
        err = errno;
        rc = ETL_EIO;
        goto out;
    }
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            err = n < 0 ? errno : EIO;
            rc = ETL_EIO;
            goto out;
        }
        p += n;
        len -= (size_t)n;
    }
    int closed = close(fd);
    fd = -1;
    if (closed != 0 || rename(tmp.data, path) != 0) {
        err = errno;
        rc = ETL_EIO;
    }
out:
    if (rc) {
        if (why) {
            char eb[128];
            buf_printf(why, "%s: %s", path, strerror_r(err, eb, sizeof(eb)));
        }
        if (fd >= 0)
            close(fd);
        unlink(tmp.data);
    }
    buf_release(&tmp);
    return rc;
}
