/* The local-directory backend: a directory treated like a bucket.
 *
 * Confinement: every path is resolved beneath the root's directory fd
 * without following any symlink: openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS) where the kernel allows it, otherwise one
 * openat(O_NOFOLLOW) per component. So neither a symlink planted in the tree
 * nor a directory renamed during a walk can lead a read, write or listing
 * outside the root. Symlinks, FIFOs, sockets and devices are not objects:
 * they are not listed, and reading one is ETL_ENOTFOUND.
 *
 * Listing: a depth-first walk that visits each directory's entries in byte
 * order of their sort key, name + "/" for a directory and name for a file.
 * Sibling sort keys are prefix-free (names hold no '/'), so the walk yields
 * keys in exact byte order of the full key ("a-" < "a.b" < "a/x" < "a0").
 * Subtrees outside the prefix or wholly <= start_after are pruned, and from
 * each directory only the smallest entries still needed are kept (a bounded
 * heap), so a page costs one readdir of each directory on the path to the
 * cursor plus those it lists, never a sort of the whole tree.
 *
 * Writes: a temp file ".bpecg-tmp-<16 hex>" in the target directory, then
 * renameat (or renameat2(RENAME_NOREPLACE) / linkat for IF_ABSENT). Temp
 * files are never listed. fsync only with STORE_PUT_DURABLE (store_put_file
 * always sets it): the pipeline writes thousands of small JPEGs that a rerun
 * rewrites idempotently, while the Parquet results of a batch must survive a
 * crash once reported. */
#include "store/store_int.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"

#define TMP_PREFIX ".bpecg-tmp-"
#define TMP_PREFIX_LEN (sizeof(TMP_PREFIX) - 1)
#define TMP_NAME_SIZE 32
#define COPY_CHUNK (64 * 1024)
/* Keys listed at most: a path, so deep trees cannot grow without bound. */
#define LIST_KEY_MAX PATH_MAX

struct local_store {
    struct store base; /* first: a struct store * is a struct local_store * */
    int root_fd;
    bool use_openat2; /* probed at open (or cleared by the test hook) */
    char *name;       /* "file:///abs/path" */
};

static const struct store_ops local_ops;

static struct local_store *local_of(struct store *s)
{
    return (struct local_store *)s;
}

/* Log a system-call failure with its context and return rc. */
static int sys_fail(const struct local_store *ls, const char *op,
                    const char *key, int errnum, int rc)
{
    char text[128];
    const char *msg = strerror_r(errnum, text, sizeof(text));
    LOGF(LOG_WARN, "store_io_error", LF_S("store", ls->name), LF_S("op", op),
         LF_S("key", key), LF_S("error", msg), LF_I("errno", errnum));
    return rc;
}

/* ---- Resolving keys beneath the root ---------------------------------- */

static int openat2_beneath(int dirfd, const char *path, int flags)
{
    struct open_how how;
    long fd;
    memset(&how, 0, sizeof(how));
    how.flags = (uint64_t)(unsigned)(flags | O_CLOEXEC);
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    /* EAGAIN: the kernel saw a concurrent rename and could not prove the
     * result stays beneath; it asks the caller to retry. */
    for (int attempt = 0;; attempt++) {
        fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
        if (fd >= 0 || attempt >= 8 || (errno != EINTR && errno != EAGAIN))
            break;
    }
    return (int)fd;
}

/* Open directory comp inside cur without following a symlink, creating it
 * (0755 & ~umask) when create; a concurrent creator's EEXIST is fine.
 * Fails with errno ELOOP when comp is a symlink. */
static int dir_step(int cur, const char *comp, bool create, bool durable)
{
    for (int attempt = 0; attempt < 4; attempt++) {
        int fd =
            openat(cur, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0)
            return fd;
        if (errno == ENOTDIR || errno == ELOOP) {
            /* O_DIRECTORY|O_NOFOLLOW reports a symlink as ENOTDIR. */
            struct stat st;
            bool link = fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                        S_ISLNK(st.st_mode);
            errno = link ? ELOOP : ENOTDIR;
            return -1;
        }
        if (errno != ENOENT || !create)
            return -1;
        if (mkdirat(cur, comp, 0755) == 0) {
            /* The new entry must be as durable as the file put under it. */
            if (durable && fsync(cur) < 0)
                return -1;
        } else if (errno != EEXIST) {
            return -1;
        }
    }
    errno = ENOENT; /* someone keeps removing it */
    return -1;
}

/* Open the directory named by the first n bytes of dir ('/'-separated,
 * safe; n == 0 is the root) one component at a time. */
static int open_dir_walk(const struct local_store *ls, const char *dir,
                         size_t n, bool create, bool durable)
{
    char comp[NAME_MAX + 1];
    int cur = openat(ls->root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    size_t i = 0;
    while (cur >= 0 && i < n) {
        size_t j = i;
        while (j < n && dir[j] != '/')
            j++;
        if (j - i > NAME_MAX) {
            close(cur);
            errno = ENAMETOOLONG;
            return -1;
        }
        memcpy(comp, dir + i, j - i);
        comp[j - i] = '\0';
        int next = dir_step(cur, comp, create, durable);
        int saved = errno;
        close(cur);
        errno = saved;
        cur = next;
        i = j + 1;
    }
    return cur;
}

/* Open the directory part (first n bytes) of a key, creating it if asked. */
static int open_dir(const struct local_store *ls, const char *key, size_t n,
                    bool create, bool durable)
{
    if (n > STORE_KEY_MAX) {
        errno = ENAMETOOLONG; /* keys are checked; cannot happen */
        return -1;
    }
    if (n > 0 && ls->use_openat2) {
        char path[STORE_KEY_MAX + 1];
        memcpy(path, key, n);
        path[n] = '\0';
        int fd = openat2_beneath(ls->root_fd, path, O_RDONLY | O_DIRECTORY);
        if (fd >= 0 || errno != ENOENT || !create)
            return fd;
    }
    return open_dir_walk(ls, key, n, create, durable);
}

/* Open a key's file; flags must include O_NOFOLLOW. */
static int open_key(const struct local_store *ls, const char *key, int flags)
{
    if (ls->use_openat2)
        return openat2_beneath(ls->root_fd, key, flags);
    const char *slash = strrchr(key, '/');
    int dfd =
        open_dir_walk(ls, key, slash ? (size_t)(slash - key) : 0, false, false);
    if (dfd < 0)
        return -1;
    int fd = openat(dfd, slash ? slash + 1 : key, flags | O_CLOEXEC);
    int saved = errno;
    close(dfd);
    errno = saved;
    return fd;
}

/* Map a failed open for reading: anything that makes the key not name a
 * regular file beneath the root is "not found". */
static int read_open_fail(const struct local_store *ls, const char *op,
                          const char *key, int e)
{
    switch (e) {
    case ENOENT:
    case ENOTDIR:
    case ENAMETOOLONG:
        return ETL_ENOTFOUND;
    case ELOOP:
    case EXDEV:
        LOGF(LOG_DEBUG, "store_symlink_skipped", LF_S("store", ls->name),
             LF_S("op", op), LF_S("key", key));
        return ETL_ENOTFOUND;
    case ENOMEM:
        return ETL_ENOMEM;
    default:
        return sys_fail(ls, op, key, e, ETL_EIO);
    }
}

static void fill_info(struct store_info *info, const struct stat *st)
{
    unsigned long long mtime_ns =
        (unsigned long long)st->st_mtim.tv_sec * 1000000000ULL +
        (unsigned long long)st->st_mtim.tv_nsec;
    info->size = (int64_t)st->st_size;
    snprintf(info->etag, sizeof(info->etag), "%llx-%llx",
             (unsigned long long)st->st_size, mtime_ns);
}

/* ---- get / head -------------------------------------------------------- */

/* Read fd to EOF into out (empty), size a hint from fstat. The file may
 * change while we read: the cap is enforced on the bytes actually read. */
static int read_all(const struct local_store *ls, const char *key, int fd,
                    size_t size, size_t max_bytes, struct buf *out)
{
    int rc = buf_grow(out, size);
    if (rc)
        return rc;
    for (;;) {
        size_t room = out->cap - out->len - 1;
        if (room == 0) {
            /* Full at the expected size: probe for EOF before growing. */
            char c;
            ssize_t r = read(fd, &c, 1);
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0)
                return sys_fail(ls, "get", key, errno, ETL_EIO);
            if (r == 0)
                return 0;
            rc = buf_addch(out, c);
            if (rc)
                return rc;
            if (max_bytes && out->len > max_bytes)
                return ETL_ETOOBIG;
            rc = buf_grow(out, COPY_CHUNK);
            if (rc)
                return rc;
            continue;
        }
        ssize_t r = read(fd, out->data + out->len, room);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return sys_fail(ls, "get", key, errno, ETL_EIO);
        if (r == 0)
            return 0;
        out->len += (size_t)r;
        out->data[out->len] = '\0';
        if (max_bytes && out->len > max_bytes)
            return ETL_ETOOBIG;
    }
}

static int local_get(struct store *s, const char *key, size_t max_bytes,
                     struct buf *out, struct store_info *info)
{
    struct local_store *ls = local_of(s);
    struct stat st;
    int rc = 0;
    /* O_NONBLOCK: opening a FIFO planted at a key must not block. */
    int fd = open_key(ls, key, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return read_open_fail(ls, "get", key, errno);
    if (fstat(fd, &st) < 0) {
        rc = sys_fail(ls, "get", key, errno, ETL_EIO);
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = ETL_ENOTFOUND;
        goto out;
    }
    if (max_bytes && (unsigned long long)st.st_size > max_bytes) {
        rc = ETL_ETOOBIG;
        goto out;
    }
    rc = read_all(ls, key, fd, (size_t)st.st_size, max_bytes, out);
    if (rc)
        goto out;
    fill_info(info, &st);
    info->size = (int64_t)out->len;
out:
    close(fd);
    if (rc)
        buf_reset(out);
    return rc;
}

static int local_head(struct store *s, const char *key, struct store_info *info)
{
    struct local_store *ls = local_of(s);
    struct stat st;
    int rc = 0;
    /* O_PATH|O_NOFOLLOW: needs no read permission; a symlink yields an fd
     * to the link itself, which fstat reports as not a regular file. */
    int fd = open_key(ls, key, O_PATH | O_NOFOLLOW);
    if (fd < 0)
        return read_open_fail(ls, "head", key, errno);
    if (fstat(fd, &st) < 0)
        rc = sys_fail(ls, "head", key, errno, ETL_EIO);
    else if (!S_ISREG(st.st_mode))
        rc = ETL_ENOTFOUND;
    else
        fill_info(info, &st);
    close(fd);
    return rc;
}

/* ---- put --------------------------------------------------------------- */

struct put_src {
    const char *data; /* when fd < 0 */
    size_t len;
    int fd; /* >= 0: copy from this file */
};

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int copy_fd(int in, int out)
{
    char *chunk = malloc(COPY_CHUNK);
    int rc = 0;
    if (!chunk) {
        errno = ENOMEM;
        return -1;
    }
    for (;;) {
        ssize_t r = read(in, chunk, COPY_CHUNK);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            rc = r < 0 ? -1 : 0;
            break;
        }
        if (write_all(out, chunk, (size_t)r) < 0) {
            rc = -1;
            break;
        }
    }
    int saved = errno;
    free(chunk);
    errno = saved;
    return rc;
}

static uint64_t tmp_random(void)
{
    static atomic_uint_fast64_t counter;
    uint64_t r;
    if (getrandom(&r, sizeof(r), GRND_NONBLOCK) == (ssize_t)sizeof(r))
        return r;
    /* No entropy yet (early boot): O_EXCL still makes names unique, this
     * only has to make collisions rare. splitmix64 of time and a counter. */
    r = (uint64_t)clock_mono_ns() + (atomic_fetch_add(&counter, 1) << 40) +
        (uint64_t)getpid();
    r += 0x9e3779b97f4a7c15u;
    r = (r ^ (r >> 30)) * 0xbf58476d1ce4e5b9u;
    r = (r ^ (r >> 27)) * 0x94d049bb133111ebu;
    return r ^ (r >> 31);
}

/* Create a new temp file in dfd; its name goes to name. */
static int make_temp(int dfd, char name[TMP_NAME_SIZE])
{
    for (int attempt = 0; attempt < 16; attempt++) {
        snprintf(name, TMP_NAME_SIZE, TMP_PREFIX "%016llx",
                 (unsigned long long)tmp_random());
        int fd =
            openat(dfd, name,
                   O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    errno = EEXIST;
    return -1;
}

static int put_fail(const struct local_store *ls, const char *op,
                    const char *key, int e)
{
    switch (e) {
    case ELOOP:
    case EXDEV:
        LOGF(LOG_WARN, "store_symlink_refused", LF_S("store", ls->name),
             LF_S("op", op), LF_S("key", key));
        return ETL_EUNSAFE;
    case ENAMETOOLONG:
        return sys_fail(ls, op, key, e, ETL_EINVAL);
    case ENOMEM:
        return ETL_ENOMEM;
    /* The destination itself is broken, not this key: the pipeline stops
     * after a few of these rather than fail every PDF (etl's dest_note). */
    case ENOSPC:
    case EDQUOT:
        return sys_fail(ls, op, key, e, ETL_ENOSPC);
    case EROFS:
        return sys_fail(ls, op, key, e, ETL_EROFS);
    case ENOTDIR:
        return sys_fail(ls, op, key, e, ETL_ENOTDIR);
    default:
        return sys_fail(ls, op, key, e, ETL_EIO);
    }
}

/* Place tmp at base without replacing anything: atomic check-and-create. */
static int rename_noreplace(int dfd, const char *tmp, const char *base,
                            bool *tmp_left)
{
    *tmp_left = false;
    if (renameat2(dfd, tmp, dfd, base, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
        return -1;
    /* A file system without RENAME_NOREPLACE: a hard link is as atomic. */
    *tmp_left = true;
    return linkat(dfd, tmp, dfd, base, 0);
}

static int put_common(struct local_store *ls, const char *op, const char *key,
                      const struct put_src *src, unsigned flags)
{
    const char *slash = strrchr(key, '/');
    const char *base = slash ? slash + 1 : key;
    size_t dirlen = slash ? (size_t)(slash - key) : 0;
    bool durable = flags & STORE_PUT_DURABLE;
    char tmp[TMP_NAME_SIZE];
    bool have_tmp = false;
    int dfd = -1, fd = -1, rc = 0;

    dfd = open_dir(ls, key, dirlen, true, durable);
    if (dfd < 0) {
        rc = put_fail(ls, op, key, errno);
        goto out;
    }
    fd = make_temp(dfd, tmp);
    if (fd < 0) {
        rc = put_fail(ls, op, key, errno);
        goto out;
    }
    have_tmp = true;
    if ((src->fd >= 0 ? copy_fd(src->fd, fd)
                      : write_all(fd, src->data, src->len)) < 0 ||
        (durable && fsync(fd) < 0)) {
        rc = put_fail(ls, op, key, errno);
        goto out;
    }
    int crc = close(fd);
    fd = -1;
    if (crc < 0) {
        rc = put_fail(ls, op, key, errno);
        goto out;
    }
    if (flags & STORE_PUT_IF_ABSENT) {
        bool tmp_left;
        int r = rename_noreplace(dfd, tmp, base, &tmp_left);
        have_tmp = tmp_left || r < 0;
        if (r < 0) {
            rc = errno == EEXIST ? ETL_EEXIST : put_fail(ls, op, key, errno);
            goto out;
        }
    } else {
        if (renameat(dfd, tmp, dfd, base) < 0) {
            rc = put_fail(ls, op, key, errno);
            goto out;
        }
        have_tmp = false;
    }
    if (durable && fsync(dfd) < 0)
        rc = put_fail(ls, op, key, errno);
out:
    if (fd >= 0)
        close(fd);
    if (have_tmp)
        unlinkat(dfd, tmp, 0);
    if (dfd >= 0)
        close(dfd);
    return rc;
}

static int local_put(struct store *s, const char *key, const void *data,
                     size_t len, const char *content_type, unsigned flags)
{
    (void)content_type; /* a directory has nowhere to keep it */
    struct put_src src = {.data = data, .len = len, .fd = -1};
    return put_common(local_of(s), "put", key, &src, flags);
}

static int local_put_file(struct store *s, const char *key, const char *path,
                          const char *content_type, unsigned flags)
{
    struct local_store *ls = local_of(s);
    struct put_src src = {.fd = -1};
    struct stat st;
    int rc;
    (void)content_type;
    src.fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (src.fd < 0) {
        int e = errno;
        rc = e == ENOENT ? ETL_ENOTFOUND : ETL_EIO;
        return sys_fail(ls, "put_file_open", path, e, rc);
    }
    if (fstat(src.fd, &st) < 0) {
        rc = sys_fail(ls, "put_file_open", path, errno, ETL_EIO);
    } else if (!S_ISREG(st.st_mode)) {
        rc = sys_fail(ls, "put_file_open", path, EINVAL, ETL_EINVAL);
    } else {
        rc = put_common(ls, "put_file", key, &src, flags);
    }
    close(src.fd);
    return rc;
}

/* ---- list -------------------------------------------------------------- */

struct list_ctx {
    const struct local_store *ls;
    const char *suffix; /* files must end in it (any case); NULL: any */
    size_t suffix_len;
    struct store_listing *out;
    size_t cap;     /* of out->items */
    size_t want;    /* max_keys + 1: one more tells truncation */
    struct buf dir; /* key of the directory being read: "" or "a/b/" */
};

/* A max-heap of sort keys (largest on top) holding the smallest `limit`
 * candidates of a directory. */
struct heap {
    char **v;
    size_t n, cap, limit;
};

/* strcmp of (name + "/" if dir) with s, without building the string. */
static int skey_cmp(const char *name, size_t n, bool dir, const char *s)
{
    size_t slen = strlen(s);
    int c = memcmp(name, s, n < slen ? n : slen);
    if (c)
        return c;
    if (n > slen)
        return 1;
    if (n == slen)
        return dir ? 1 : 0;
    if (!dir)
        return -1; /* name is a proper prefix of s */
    unsigned char sc = (unsigned char)s[n];
    if (sc != '/')
        return '/' < sc ? -1 : 1;
    return n + 1 < slen ? -1 : 0;
}

/* Does s start with name + "/"? */
static bool starts_with_dir(const char *s, const char *name, size_t n)
{
    return strncmp(s, name, n) == 0 && s[n] == '/';
}

static void heap_swap(struct heap *h, size_t i, size_t j)
{
    char *t = h->v[i];
    h->v[i] = h->v[j];
    h->v[j] = t;
}

static void heap_down(struct heap *h, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->n && strcmp(h->v[l], h->v[m]) > 0)
            m = l;
        if (r < h->n && strcmp(h->v[r], h->v[m]) > 0)
            m = r;
        if (m == i)
            return;
        heap_swap(h, i, m);
        i = m;
    }
}

static void heap_up(struct heap *h, size_t i)
{
    while (i > 0 && strcmp(h->v[(i - 1) / 2], h->v[i]) < 0) {
        heap_swap(h, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static char *skey_new(const char *name, size_t n, bool dir)
{
    char *k = malloc(n + 2);
    if (k) {
        memcpy(k, name, n);
        k[n] = '/';
        k[n + dir] = '\0';
    }
    return k;
}

/* Keep the candidate if it is among the smallest limit seen; *dropped is
 * set when some candidate had to be left out. */
static int heap_offer(struct heap *h, const char *name, size_t n, bool dir,
                      bool *dropped)
{
    if (h->n == h->limit) {
        *dropped = true;
        if (h->n == 0)
            return 0;
        if (skey_cmp(name, n, dir, h->v[0]) >= 0)
            return 0;
        char *k = skey_new(name, n, dir);
        if (!k)
            return ETL_ENOMEM;
        free(h->v[0]);
        h->v[0] = k;
        heap_down(h, 0);
        return 0;
    }
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        if (cap > h->limit)
            cap = h->limit;
        char **v = realloc(h->v, cap * sizeof(*v));
        if (!v)
            return ETL_ENOMEM;
        h->v = v;
        h->cap = cap;
    }
    char *k = skey_new(name, n, dir);
    if (!k)
        return ETL_ENOMEM;
    h->v[h->n++] = k;
    heap_up(h, h->n - 1);
    return 0;
}

static void heap_clear(struct heap *h)
{
    for (size_t i = 0; i < h->n; i++)
        free(h->v[i]);
    h->n = 0;
}

static int cmp_pstr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A directory entry name that can be part of a key: any but "." and "..".
 * Control characters, backslashes and bytes that are not UTF-8 are listed
 * too (the pipeline gives such a PDF a row saying what is wrong with its
 * name): a listing that dropped them would lose the PDF silently. */
static bool name_ok(const char *name, size_t n)
{
    return n > 0 && n <= NAME_MAX && !(n == 1 && name[0] == '.') &&
           !(n == 2 && name[0] == '.' && name[1] == '.') &&
           !memchr(name, '/', n);
}

/* One of our own in-flight temp files (make_temp): TMP_PREFIX and 16 hex
 * digits, exactly. Only these are left out of listings; a PDF named
 * ".bpecg-tmp-x.pdf" is an object like any other. */
static bool is_temp_name(const char *name, size_t n)
{
    return n == TMP_PREFIX_LEN + 16 &&
           strncmp(name, TMP_PREFIX, TMP_PREFIX_LEN) == 0 &&
           strspn(name + TMP_PREFIX_LEN, "0123456789abcdef") == 16;
}

static int emit(struct list_ctx *c, const char *name, size_t n,
                const struct stat *st)
{
    struct store_listing *out = c->out;
    struct store_info info;
    if (out->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        struct store_entry *v = realloc(out->items, cap * sizeof(*v));
        if (!v)
            return ETL_ENOMEM;
        out->items = v;
        c->cap = cap;
    }
    fill_info(&info, st);
    char *key = malloc(c->dir.len + n + 1);
    char *etag = strdup(info.etag);
    if (!key || !etag) {
        free(key);
        free(etag);
        return ETL_ENOMEM;
    }
    memcpy(key, c->dir.data, c->dir.len);
    memcpy(key + c->dir.len, name, n);
    key[c->dir.len + n] = '\0';
    out->items[out->n].key = key;
    out->items[out->n].etag = etag;
    out->items[out->n].size = info.size;
    out->n++;
    return 0;
}

static int list_dir(struct list_ctx *c, int dfd, const char *sa,
                    const char *pf);

/* Enter subdirectory name (n bytes) of dfd with the bounds for its keys;
 * one that vanished or became a symlink meanwhile is skipped. */
static int list_sub(struct list_ctx *c, int dfd, char *name, size_t n,
                    const char *sa, const char *pf)
{
    char saved = name[n];
    name[n] = '\0';
    int sub =
        openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int e = errno;
    name[n] = saved;
    if (sub < 0) {
        if (e == ENOENT || e == ENOTDIR || e == ELOOP)
            return 0;
        return sys_fail(c->ls, "list", c->dir.data, e, ETL_EIO);
    }
    size_t len = c->dir.len;
    int rc = buf_add(&c->dir, name, n);
    if (!rc)
        rc = buf_addch(&c->dir, '/');
    if (rc) {
        close(sub);
        return rc;
    }
    rc = list_dir(c, sub, sa, pf);
    buf_truncate(&c->dir, len);
    return rc;
}

/* The prefix reaches below this directory ("x/..."): only directory x can
 * hold matching keys, so open it instead of reading this one. */
static int list_descend(struct list_ctx *c, int dfd, const char *sa,
                        const char *pf)
{
    const char *slash = strchr(pf, '/');
    size_t n = (size_t)(slash - pf);
    char name[NAME_MAX + 2];
    if (!name_ok(pf, n) || c->dir.len + n + 1 >= LIST_KEY_MAX)
        return 0;
    bool inside = starts_with_dir(sa, pf, n);
    if (!inside && skey_cmp(pf, n, true, sa) <= 0)
        return 0;
    memcpy(name, pf, n);
    name[n] = '\0';
    return list_sub(c, dfd, name, n, inside ? sa + n + 1 : "", slash + 1);
}

/* One candidate of a scan, in order: a file is emitted, a directory
 * walked. */
static int list_visit(struct list_ctx *c, int dfd, char *skey, const char *sa)
{
    size_t n = strlen(skey);
    if (skey[n - 1] == '/') {
        n--;
        bool inside = starts_with_dir(sa, skey, n);
        return list_sub(c, dfd, skey, n, inside ? sa + n + 1 : "", "");
    }
    struct stat st;
    if (fstatat(dfd, skey, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno == ENOENT)
            return 0; /* deleted since readdir */
        return sys_fail(c->ls, "list", skey, errno, ETL_EIO);
    }
    if (!S_ISREG(st.st_mode))
        return 0;
    return emit(c, skey, n, &st);
}

/* List the directory open as dfd (taken over) whose keys all start with
 * c->dir: keys sorting after dir + sa that start with dir + pf ("" = no
 * bound). Stops once c->want entries are collected. */
static int list_dir(struct list_ctx *c, int dfd, const char *sa, const char *pf)
{
    struct heap h = {0};
    char *cursor = NULL; /* rescans skip sort keys up to here */
    DIR *d = NULL;
    size_t pflen = strlen(pf);
    int rc = 0;

    if (strchr(pf, '/')) {
        rc = list_descend(c, dfd, sa, pf);
        close(dfd);
        return rc;
    }
    d = fdopendir(dfd);
    if (!d) {
        rc = sys_fail(c->ls, "list", c->dir.data, errno, ETL_EIO);
        close(dfd);
        return rc;
    }
    for (;;) {
        bool dropped = false;
        assert(c->out->n < c->want);
        h.limit = c->want - c->out->n;
        for (;;) {
            errno = 0;
            struct dirent *e = readdir(d);
            if (!e) {
                if (errno)
                    rc = sys_fail(c->ls, "list", c->dir.data, errno, ETL_EIO);
                break;
            }
            const char *name = e->d_name;
            size_t n = strlen(name);
            bool dir;
            unsigned char type = e->d_type;
            if (type == DT_UNKNOWN) {
                struct stat st;
                if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                    continue;
                type = S_ISDIR(st.st_mode)   ? DT_DIR
                       : S_ISREG(st.st_mode) ? DT_REG
                                             : DT_UNKNOWN;
            }
            if (type == DT_DIR)
                dir = true;
            else if (type == DT_REG)
                dir = false;
            else
                continue; /* symlinks, FIFOs, sockets, devices */
            if (!name_ok(name, n) || (!dir && is_temp_name(name, n)))
                continue;
            /* Filtered here, so that files which do not match never take
             * a place in the page (a heap of 100 would otherwise fill with
             * them, one readdir per 100 skipped files). */
            if (!dir && c->suffix &&
                (n < c->suffix_len ||
                 strcasecmp(name + n - c->suffix_len, c->suffix) != 0))
                continue;
            /* A file's key, or a directory's key prefix plus one byte,
             * must fit in LIST_KEY_MAX; longer keys than STORE_KEY_MAX are
             * listed (their PDFs get rows saying so), none beyond. */
            if (c->dir.len + n + (dir ? 2 : 0) > (size_t)LIST_KEY_MAX) {
                LOGF(LOG_WARN, "store_key_too_long", LF_S("store", c->ls->name),
                     LF_S("dir", c->dir.data), LF_I("bytes", c->dir.len + n),
                     LF_I("max", LIST_KEY_MAX));
                continue;
            }
            if (n < pflen || memcmp(name, pf, pflen) != 0)
                continue;
            if (skey_cmp(name, n, dir, sa) <= 0 &&
                !(dir && starts_with_dir(sa, name, n)))
                continue;
            if (cursor && skey_cmp(name, n, dir, cursor) <= 0)
                continue;
            rc = heap_offer(&h, name, n, dir, &dropped);
            if (rc)
                break;
        }
        if (rc)
            break;
        if (h.n > 1)
            qsort(h.v, h.n, sizeof(*h.v), cmp_pstr);
        for (size_t i = 0; i < h.n && !rc && c->out->n < c->want; i++)
            rc = list_visit(c, dirfd(d), h.v[i], sa);
        if (rc || c->out->n >= c->want || !dropped || h.n == 0)
            break;
        /* Some subdirectories held no keys, so the kept entries did not
         * fill the page: read on from the last one. */
        free(cursor);
        cursor = h.v[h.n - 1];
        h.n--;
        heap_clear(&h);
        rewinddir(d);
    }
    heap_clear(&h);
    free(h.v);
    free(cursor);
    closedir(d);
    return rc;
}

static int local_list(struct store *s, const char *prefix,
                      const char *start_after, size_t max_keys,
                      const char *suffix, struct store_listing *out)
{
    struct local_store *ls = local_of(s);
    struct list_ctx c = {.ls = ls, .out = out, .suffix = suffix};
    c.suffix_len = suffix ? strlen(suffix) : 0;
    c.want = max_keys < SIZE_MAX ? max_keys + 1 : SIZE_MAX;
    buf_init(&c.dir, 0);
    int dfd = openat(ls->root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return sys_fail(ls, "list", "", errno, ETL_EIO);
    int rc = list_dir(&c, dfd, start_after, prefix);
    buf_release(&c.dir);
    if (!rc && out->n > max_keys) {
        out->n--;
        free(out->items[out->n].key);
        free(out->items[out->n].etag);
        out->truncated = true;
    }
    return rc;
}

/* ---- open / free ------------------------------------------------------- */

static void local_free(struct store *s)
{
    struct local_store *ls = local_of(s);
    if (ls->root_fd >= 0)
        close(ls->root_fd);
    free(ls->name);
    free(ls);
}

static const char *local_name(const struct store *s)
{
    return ((const struct local_store *)s)->name;
}

static const struct store_ops local_ops = {
    .list = local_list,
    .get = local_get,
    .head = local_head,
    .put = local_put,
    .put_file = local_put_file,
    .free = local_free,
    .name = local_name,
};

/* mkdir -p with 0755 & ~umask; existing components are fine. */
static int mkdir_p(const char *path)
{
    char *p = strdup(path);
    int rc = 0;
    if (!p) {
        errno = ENOMEM;
        return -1;
    }
    for (size_t i = 1; p[0] && rc == 0; i++) {
        char ch = p[i];
        if ((ch == '/' || ch == '\0') && p[i - 1] != '/') {
            p[i] = '\0';
            if (mkdir(p, 0755) < 0 && errno != EEXIST)
                rc = -1;
            p[i] = ch;
        }
        if (ch == '\0')
            break;
    }
    int saved = errno;
    free(p);
    errno = saved;
    return rc;
}

int store_local_open(const struct store_url *u, bool must_exist,
                     struct store **out)
{
    struct local_store *ls = calloc(1, sizeof(*ls));
    struct buf name = BUF_INIT;
    char *abs = NULL;
    int rc = 0;

    if (!ls)
        return ETL_ENOMEM;
    ls->base.ops = &local_ops;
    ls->root_fd = open(u->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (ls->root_fd < 0 && errno == ENOENT && !must_exist &&
        mkdir_p(u->path) == 0)
        ls->root_fd = open(u->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (ls->root_fd < 0) {
        int e = errno;
        char text[128];
        rc = e == ENOENT || e == ENOTDIR ? ETL_ENOTFOUND : ETL_EIO;
        LOGF(LOG_ERROR, "store_open_failed", LF_S("path", u->path),
             LF_S("error", strerror_r(e, text, sizeof(text))),
             LF_B("must_exist", must_exist));
        goto out;
    }
    abs = realpath(u->path, NULL);
    rc = buf_printf(&name, "file://%s", abs ? abs : u->path);
    if (rc)
        goto out;
    ls->name = buf_detach(&name, NULL);
    if (!ls->name) {
        rc = ETL_ENOMEM;
        goto out;
    }
    /* openat2 may be missing (kernel < 5.6) or filtered by a seccomp
     * policy (EPERM/ENOSYS); then every lookup walks components. */
    int probe = openat2_beneath(ls->root_fd, ".", O_PATH);
    ls->use_openat2 = probe >= 0;
    if (probe >= 0)
        close(probe);
    *out = &ls->base;
    ls = NULL;
out:
    buf_release(&name);
    free(abs);
    if (ls)
        local_free(&ls->base);
    return rc;
}

void store_local_force_walk(struct store *s)
{
    if (s && s->ops == &local_ops)
        local_of(s)->use_openat2 = false;
}
