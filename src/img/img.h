/* JPEG encoding with libjpeg-turbo (MuPDF 1.21 has no JPEG writer).
 *
 * Output matches what Pillow/cjpeg produce with default settings at the
 * same quality: baseline, 4:2:0 chroma subsampling, ISLOW DCT, standard
 * Huffman tables, JFIF header, no optimisation. One encoder per thread. */
#ifndef ETL_IMG_IMG_H
#define ETL_IMG_IMG_H

#include <stddef.h>

#include "core/buf.h"

struct img_jpeg;

int img_jpeg_new(struct img_jpeg **out);
void img_jpeg_free(struct img_jpeg *e);

/* Encode w x h RGB pixels (3 bytes each, rows stride bytes apart) at quality
 * 1..100, replacing the contents of out. ETL_EIMAGE on failure. */
int img_jpeg_encode(struct img_jpeg *e, const unsigned char *rgb, int w, int h,
                    ptrdiff_t stride, int quality, struct buf *out);

/* Read the dimensions of a JPEG (for tests and checks). */
int img_jpeg_size(const void *jpeg, size_t len, int *w, int *h);

#endif
