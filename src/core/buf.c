#include "core/buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

char buf_empty[1];

void buf_init(struct buf *b, size_t max)
{
    b->data = buf_empty;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void buf_release(struct buf *b)
{
    if (!b)
        return;
    if (b->cap)
        free(b->data);
    buf_init(b, b->max);
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->cap) /* never write to the shared buf_empty */
        b->data[0] = '\0';
}

int buf_grow(struct buf *b, size_t extra)
{
    if (extra > SIZE_MAX - 1 - b->len)
        return ETL_ETOOBIG;
    size_t need = b->len + extra + 1;
    if (b->max && need - 1 > b->max)
        return ETL_ETOOBIG;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *p = realloc(b->cap ? b->data : NULL, cap);
    if (!p)
        return ETL_ENOMEM;
    if (!b->cap)
        p[0] = '\0';
    b->data = p;
    b->cap = cap;
    return 0;
}

int buf_add(struct buf *b, const void *data, size_t len)
{
    int rc = buf_grow(b, len);
    if (rc)
        return rc;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int buf_addstr(struct buf *b, const char *s)
{
    return buf_add(b, s, strlen(s));
}

int buf_addch(struct buf *b, int c)
{
    char ch = (char)c;
    return buf_add(b, &ch, 1);
}

int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
    va_list cp;
    va_copy(cp, ap);
    int n = vsnprintf(b->data + b->len, b->cap ? b->cap - b->len : 0, fmt, cp);
    va_end(cp);
    if (n < 0)
        return ETL_EINVAL;
    if (b->max && (size_t)n > b->max - b->len) {
        if (b->cap)
            b->data[b->len] = '\0';
        return ETL_ETOOBIG;
    }
    if (b->cap && (size_t)n < b->cap - b->len) {
        b->len += (size_t)n;
        return 0;
    }
    int rc = buf_grow(b, (size_t)n);
    if (rc) {
        if (b->cap)
            b->data[b->len] = '\0';
        return rc;
    }
    vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

void buf_truncate(struct buf *b, size_t n)
{
    if (n < b->len) {
        b->len = n;
        b->data[n] = '\0';
    }
}

char *buf_detach(struct buf *b, size_t *len_out)
{
    char *p;
    if (len_out)
        *len_out = b->len;
    if (b->cap) {
        p = b->data;
    } else {
        p = malloc(1);
        if (p)
            p[0] = '\0';
    }
    buf_init(b, b->max);
    return p;
}
