/* Hex, base64 and percent encodings: the one copy of each table.
 *
 * Thread-safe, no allocation except into the struct buf given. */
#ifndef ETL_CORE_CODEC_H
#define ETL_CORE_CODEC_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

/* The n bytes of in as 2n hex digits (lower or upper case) and a NUL. */
void codec_hex(const void *in, size_t n, bool upper, char *out);
/* The value of one hex digit (either case), or -1. */
int codec_hex_value(int c);

/* in as base64 (RFC 4648, padded) and a NUL: out holds
 * 4 * ((n + 2) / 3) + 1 bytes. */
void codec_base64(const void *in, size_t n, char *out);
/* The same, appended to out. ETL_ENOMEM, ETL_ETOOBIG. */
int codec_base64_add(struct buf *out, const void *in, size_t n);

/* Append the n bytes of s, each byte other than A-Z a-z 0-9 - . _ ~ and
 * those in keep (may be NULL) written %XX in upper-case hex (RFC 3986). */
int codec_percent(struct buf *out, const void *s, size_t n, const char *keep);
/* Append one byte as %XX. */
int codec_percent_byte(struct buf *out, unsigned char c);
/* Flags of codec_percent_decode(). */
#define CODEC_PLUS_SPACE 1u /* '+' is a space (form encoding) */
#define CODEC_STRICT 2u     /* a '%' not before two hex digits is an error */

/* Append the n bytes of s with every %XX decoded. A '%' not followed by
 * two hex digits is kept as it is, or with CODEC_STRICT is ETL_EINVAL (out
 * then holds what was decoded before it). */
int codec_percent_decode(struct buf *out, const char *s, size_t n,
                         unsigned flags);

#endif
