/* Hex, base64 and percent encodings (see codec.h). */
#include "core/codec.h"

#include <string.h>

#include "core/err.h"

static const char hex_lower[] = "0123456789abcdef";
static const char hex_upper[] = "0123456789ABCDEF";

void codec_hex(const void *in, size_t n, bool upper, char *out)
{
    const unsigned char *p = in;
    const char *digits = upper ? hex_upper : hex_lower;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

int codec_hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

void codec_base64(const void *in, size_t n, char *out)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *p = in;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        out[o++] = tab[(v >> 18) & 63];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? tab[v & 63] : '=';
    }
    out[o] = '\0';
}

int codec_base64_add(struct buf *out, const void *in, size_t n)
{
    size_t len = 4 * ((n + 2) / 3);
    int rc = buf_grow(out, len + 1);
    if (rc)
        return rc;
    codec_base64(in, n, out->data + out->len);
    out->len += len;
    return 0;
}

static bool unreserved(unsigned char c, const char *keep)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
           c == '~' || (c && keep && strchr(keep, c));
}

int codec_percent_byte(struct buf *out, unsigned char c)
{
    char e[3] = {'%', hex_upper[c >> 4], hex_upper[c & 15]};
    return buf_add(out, e, 3);
}

int codec_percent(struct buf *out, const void *s, size_t n, const char *keep)
{
    const unsigned char *p = s;
    int rc = buf_grow(out, n);
    for (size_t i = 0; !rc && i < n; i++)
        rc = unreserved(p[i], keep) ? buf_addch(out, (char)p[i])
                                    : codec_percent_byte(out, p[i]);
    return rc;
}

int codec_percent_decode(struct buf *out, const char *s, size_t n,
                         unsigned flags)
{
    int rc = buf_grow(out, n);
    for (size_t i = 0; !rc && i < n; i++) {
        char c = s[i];
        int hi = -1, lo = -1;
        if (c == '%' && n - i > 2) {
            hi = codec_hex_value((unsigned char)s[i + 1]);
            lo = codec_hex_value((unsigned char)s[i + 2]);
        }
        if (hi >= 0 && lo >= 0) {
            rc = buf_addch(out, (char)(hi << 4 | lo));
            i += 2;
        } else if (c == '%' && (flags & CODEC_STRICT)) {
            return ETL_EINVAL;
        } else {
            rc = buf_addch(out,
                           (flags & CODEC_PLUS_SPACE) && c == '+' ? ' ' : c);
        }
    }
    return rc;
}
