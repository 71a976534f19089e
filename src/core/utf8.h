/* UTF-8 validation (RFC 3629: no overlongs, no surrogates, <= U+10FFFF). */
#ifndef ETL_CORE_UTF8_H
#define ETL_CORE_UTF8_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

bool utf8_valid(const char *s, size_t len);
/* Write code point c as UTF-8 into out; returns its length (1..4). A
 * surrogate or a value past U+10FFFF is written as U+FFFD, so the result
 * is always valid. */
size_t utf8_encode(long c, char out[4]);
/* Length of the valid sequence at s (1..4), or 0 if s starts an invalid
 * one. len is the number of bytes available. */
size_t utf8_seq_len(const unsigned char *s, size_t len);
/* Replace each invalid byte of b with U+FFFD in place (b may grow).
 * Returns 0 or ETL_ENOMEM/ETL_ETOOBIG. */
int utf8_sanitize(struct buf *b);

#endif
