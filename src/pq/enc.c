/* Value and level encodings (Encodings.md): the RLE / bit-packing hybrid,
 * PLAIN booleans and the dictionary. */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "pq/pq_int.h"

void pq_put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

uint32_t pq_get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

int pq_buf_le32(struct buf *b, uint32_t v)
{
    uint8_t tmp[4];
    pq_put_le32(tmp, v);
    return buf_add(b, tmp, 4);
}

int pq_buf_le64(struct buf *b, uint64_t v)
{
    uint8_t tmp[8];
    pq_put_le32(tmp, (uint32_t)v);
    pq_put_le32(tmp + 4, (uint32_t)(v >> 32));
    return buf_add(b, tmp, 8);
}

int pq_bit_width(uint32_t max)
{
    int w = 0;
    while (max) {
        w++;
        max >>= 1;
    }
    return w;
}

/* ---- RLE / bit-packing hybrid ---- */

/* Levels arrive as bytes, dictionary indices as 32-bit words. */
struct vals {
    const uint8_t *u8;
    const uint32_t *u32;
};

static uint32_t val_at(const struct vals *v, size_t i)
{
    return v->u8 ? v->u8[i] : v->u32[i];
}

/* Run lengths are capped so that every run length stays within the spec's
 * [1, 2^31 - 1]. */
#define RUN_MAX ((size_t)INT32_MAX)

static size_t run_len(const struct vals *v, size_t i, size_t n)
{
    uint32_t x = val_at(v, i);
    size_t j = i + 1;
    while (j < n && j - i < RUN_MAX && val_at(v, j) == x)
        j++;
    return j - i;
}

static int rle_run(struct buf *out, uint32_t value, size_t count, int bit_width)
{
    int rc = pq_buf_varint(out, (uint64_t)count << 1);
    /* The value takes round-up-to-byte(bit_width) bytes, little-endian. */
    for (int i = 0; !rc && i < (bit_width + 7) / 8; i++)
        rc = buf_addch(out, (uint8_t)(value >> (8 * i)));
    return rc;
}

/* count values from start, packed least significant bit first in groups of
 * 8; the last group is padded with zeros (only ever at the end of the
 * data, where the reader's value count tells it to stop). */
static int packed_run(struct buf *out, const struct vals *v, size_t start,
                      size_t count, int bit_width)
{
    size_t groups = (count + 7) / 8;
    int rc = pq_buf_varint(out, (uint64_t)groups << 1 | 1);
    if (rc)
        return rc;
    rc = buf_grow(out, groups * (size_t)bit_width);
    if (rc)
        return rc;
    uint64_t acc = 0;
    int nbits = 0;
    for (size_t i = 0; i < groups * 8; i++) {
        uint64_t x = i < count ? val_at(v, start + i) : 0;
        acc |= x << nbits;
        nbits += bit_width;
        while (nbits >= 8) {
            out->data[out->len++] = (char)(uint8_t)acc;
            acc >>= 8;
            nbits -= 8;
        }
    }
    out->data[out->len] = '\0';
    return 0;
}

static int rle_encode(struct buf *out, const struct vals *v, size_t n,
                      int bit_width)
{
    if (bit_width < 0 || bit_width > 32)
        return ETL_EINVAL;
    size_t i = 0;
    while (i < n) {
        size_t r = run_len(v, i, n);
        if (r >= 8 || i + r == n) {
            int rc = rle_run(out, val_at(v, i), r, bit_width);
            if (rc)
                return rc;
            i += r;
            continue;
        }
        /* Bit-pack whole groups of 8 until a run of 8 or more begins at a
         * group boundary (a run that begins inside a group finishes as an
         * RLE run once the group is done, if 8 or more remain). */
        size_t start = i;
        for (;;) {
            i = n - i > 8 ? i + 8 : n;
            if (i == n || i - start >= RUN_MAX - 7)
                break;
            if (run_len(v, i, n) >= 8)
                break;
        }
        int rc = packed_run(out, v, start, i - start, bit_width);
        if (rc)
            return rc;
    }
    return 0;
}

int pq_rle_encode_u8(struct buf *out, const uint8_t *v, size_t n, int bit_width)
{
    struct vals vs = {.u8 = v};
    return rle_encode(out, &vs, n, bit_width);
}

int pq_rle_encode_u32(struct buf *out, const uint32_t *v, size_t n,
                      int bit_width)
{
    struct vals vs = {.u32 = v};
    return rle_encode(out, &vs, n, bit_width);
}

int pq_pack_bools(struct buf *out, const uint8_t *v, size_t n)
{
    int rc = buf_grow(out, (n + 7) / 8);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i += 8) {
        uint8_t byte = 0;
        for (size_t j = 0; j < 8 && i + j < n; j++)
            byte |= (uint8_t)((v[i + j] & 1) << j);
        out->data[out->len++] = (char)byte;
    }
    out->data[out->len] = '\0';
    return 0;
}

/* ---- dictionary ---- */

void pq_dict_init(struct pq_dict *d, size_t width)
{
    buf_init(&d->plain, 0);
    d->width = width;
    d->n = 0;
    d->offs = NULL;
    d->offs_cap = 0;
    d->slot = NULL;
    d->nslot = 0;
}

void pq_dict_release(struct pq_dict *d)
{
    buf_release(&d->plain);
    free(d->offs);
    free(d->slot);
    pq_dict_init(d, d->width);
}

size_t pq_dict_mem(const struct pq_dict *d)
{
    return d->plain.cap + d->offs_cap * sizeof(*d->offs) +
           d->nslot * sizeof(*d->slot);
}

static uint64_t hash_bytes(const void *p, size_t n)
{
    /* FNV-1a, then a final mix so that the low bits (the slot) depend on
     * every input byte. */
    const unsigned char *s = p;
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 0x100000001b3u;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdu;
    h ^= h >> 33;
    return h;
}

static const void *entry(const struct pq_dict *d, uint32_t e, size_t *len)
{
    const uint8_t *p = (const uint8_t *)d->plain.data + d->offs[e];
    if (d->width) {
        *len = d->width;
        return p;
    }
    *len = pq_get_le32(p);
    return p + 4;
}

static int dict_rehash(struct pq_dict *d, size_t nslot)
{
    uint32_t *slot = calloc(nslot, sizeof(*slot));
    if (!slot)
        return ETL_ENOMEM;
    for (uint32_t e = 0; e < d->n; e++) {
        size_t len;
        const void *p = entry(d, e, &len);
        size_t i = hash_bytes(p, len) & (nslot - 1);
        while (slot[i])
            i = (i + 1) & (nslot - 1);
        slot[i] = e + 1;
    }
    free(d->slot);
    d->slot = slot;
    d->nslot = nslot;
    return 0;
}

int pq_dict_insert(struct pq_dict *d, const void *p, size_t len, uint32_t *idx)
{
    if (d->n >= UINT32_MAX - 1 || len > UINT32_MAX)
        return ETL_ETOOBIG;
    /* Keep the load factor at most 1/2 so probes stay short. */
    if ((d->n + 1) * 2 > d->nslot) {
        int rc = dict_rehash(d, d->nslot ? d->nslot * 2 : 256);
        if (rc)
            return rc;
    }
    size_t i = hash_bytes(p, len) & (d->nslot - 1);
    while (d->slot[i]) {
        uint32_t e = d->slot[i] - 1;
        size_t elen;
        const void *ep = entry(d, e, &elen);
        if (elen == len && memcmp(ep, p, len) == 0) {
            *idx = e;
            return 0;
        }
        i = (i + 1) & (d->nslot - 1);
    }
    if (d->n == d->offs_cap) {
        size_t cap = d->offs_cap ? d->offs_cap * 2 : 64;
        size_t *offs = realloc(d->offs, cap * sizeof(*offs));
        if (!offs)
            return ETL_ENOMEM;
        d->offs = offs;
        d->offs_cap = cap;
    }
    size_t off = d->plain.len;
    int rc = buf_grow(&d->plain, len + 4);
    if (!rc && !d->width)
        rc = pq_buf_le32(&d->plain, (uint32_t)len);
    if (!rc)
        rc = buf_add(&d->plain, p, len);
    if (rc) {
        buf_truncate(&d->plain, off);
        return rc;
    }
    d->offs[d->n] = off;
    d->slot[i] = (uint32_t)d->n + 1;
    *idx = (uint32_t)d->n++;
    return 0;
}
