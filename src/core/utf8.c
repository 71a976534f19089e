#include "core/utf8.h"

#include <string.h>

size_t utf8_encode(long c, char out[4])
{
    if (c < 0 || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        c = 0xfffd;
    if (c < 0x80) {
        out[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        out[0] = (char)(0xc0 | (c >> 6));
        out[1] = (char)(0x80 | (c & 0x3f));
        return 2;
    }
    if (c < 0x10000) {
        out[0] = (char)(0xe0 | (c >> 12));
        out[1] = (char)(0x80 | ((c >> 6) & 0x3f));
        out[2] = (char)(0x80 | (c & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (c >> 18));
    out[1] = (char)(0x80 | ((c >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((c >> 6) & 0x3f));
    out[3] = (char)(0x80 | (c & 0x3f));
    return 4;
}

size_t utf8_seq_len(const unsigned char *s, size_t len)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF; /* range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        else if (c == 0xED)
            hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90; /* overlong */
        else if (c == 0xF4)
            hi = 0x8F; /* > U+10FFFF */
    } else {
        return 0;
    }
    if (len < n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

bool utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    while (len) {
        size_t n = utf8_seq_len(p, len);
        if (!n)
            return false;
        p += n;
        len -= n;
    }
    return true;
}

int utf8_sanitize(struct buf *b)
{
    if (utf8_valid(b->data, b->len))
        return 0;
    struct buf out = BUF_INIT;
    out.max = b->max;
    const unsigned char *p = (const unsigned char *)b->data;
    size_t len = b->len;
    int rc = 0;
    while (len && !rc) {
        size_t n = utf8_seq_len(p, len);
        if (n) {
            rc = buf_add(&out, p, n);
        } else {
            rc = buf_add(&out, "\xEF\xBF\xBD", 3);
            n = 1;
        }
        p += n;
        len -= n;
    }
    if (rc) {
        buf_release(&out);
        return rc;
    }
    buf_release(b);
    *b = out;
    return 0;
}
