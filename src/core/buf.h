/* A growable byte buffer (after git's strbuf and curl's dynbuf).
 *
 * Invariants: data is never NULL and always NUL-terminated (data[len] == 0),
 * so a buf holding text can be passed to string functions directly. An
 * optional max caps len: growing past it fails with ETL_ETOOBIG, so a hostile
 * body cannot grow a buffer without bound. Ownership of the memory leaves the
 * buf only through buf_detach().
 *
 * Not thread-safe: a buf belongs to one thread at a time. */
#ifndef ETL_CORE_BUF_H
#define ETL_CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
    char *data;
    size_t len;
    size_t cap; /* 0 while data points at the shared empty string */
    size_t max; /* 0 = unlimited */
};

extern char buf_empty[];
#define BUF_INIT                                                               \
    {                                                                          \
        buf_empty, 0, 0, 0                                                     \
    }

/* Initialise an empty buffer; max 0 means no cap. Cannot fail. */
void buf_init(struct buf *b, size_t max);
/* Free the memory and leave b as after buf_init(b, b->max). NULL-safe. */
void buf_release(struct buf *b);
/* Forget the contents, keep the allocation. */
void buf_reset(struct buf *b);

/* Make room for extra more bytes. ETL_ENOMEM or ETL_ETOOBIG on failure,
 * leaving b unchanged. */
int buf_grow(struct buf *b, size_t extra);
int buf_add(struct buf *b, const void *data, size_t len);
int buf_addstr(struct buf *b, const char *s);
int buf_addch(struct buf *b, int c);
int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Set len to n (n <= len) and re-terminate. */
void buf_truncate(struct buf *b, size_t n);

/* Hand the memory to the caller (free() it); b is left empty. The result is
 * NUL-terminated and never NULL (a fresh allocation when b was empty); NULL
 * only when that allocation fails. *len_out, if given, receives the length. */
char *buf_detach(struct buf *b, size_t *len_out);

#endif
