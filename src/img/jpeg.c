/* JPEG encoding with libjpeg-turbo's TurboJPEG API.
 *
 * tjCompress2 writes what libjpeg's jpeg_set_defaults() + quality gives
 * (JFIF 1.01 header with 1:1 density, standard Huffman tables, baseline,
 * no optimisation) except that TurboJPEG picks the fast integer DCT unless
 * told otherwise: TJFLAG_ACCURATEDCT selects ISLOW, which is what cjpeg and
 * Pillow use, so a crop of the same pixels gives the same bytes.
 * (TurboJPEG also honours TJ_OPTIMIZE, TJ_PROGRESSIVE, TJ_ARITHMETIC and
 * TJ_RESTART from the environment; they would change the output.) */
#include <limits.h>
#include <stdlib.h>
#include <turbojpeg.h>

#include "core/err.h"
#include "core/log.h"
#include "img/img.h"

struct img_jpeg {
    tjhandle tj;
    /* Output buffer reused across calls; TurboJPEG grows it as needed. */
    unsigned char *jpeg;
    unsigned long cap;
};

int img_jpeg_new(struct img_jpeg **out)
{
    *out = NULL;
    struct img_jpeg *e = calloc(1, sizeof(*e));
    if (!e)
        return ETL_ENOMEM;
    e->tj = tjInitCompress();
    if (!e->tj) {
        LOGF(LOG_ERROR, "jpeg_init_failed",
             LF_S("error", tjGetErrorStr2(NULL)));
        free(e);
        return ETL_EIMAGE;
    }
    *out = e;
    return 0;
}

void img_jpeg_free(struct img_jpeg *e)
{
    if (!e)
        return;
    tjFree(e->jpeg);
    tjDestroy(e->tj);
    free(e);
}

int img_jpeg_encode(struct img_jpeg *e, const unsigned char *rgb, int w, int h,
                    ptrdiff_t stride, int quality, struct buf *out)
{
    if (!e || !rgb || !out || w <= 0 || h <= 0 || quality < 1 ||
        quality > 100 || stride < (ptrdiff_t)w * 3 || stride > INT_MAX)
        return ETL_EINVAL;
    /* A buffer of TurboJPEG's worst-case size never has to grow, so its
     * capacity stays known and it is reused for the next crop. */
    unsigned long need = tjBufSize(w, h, TJSAMP_420);
    if (need == (unsigned long)-1 || need > INT_MAX)
        return ETL_ETOOBIG;
    if (need > e->cap) {
        tjFree(e->jpeg);
        e->cap = 0;
        e->jpeg = tjAlloc((int)need);
        if (!e->jpeg)
            return ETL_ENOMEM;
        e->cap = need;
    }
    /* Encode straight from the caller's rows (pitch = stride): no copy of
     * the pixels. */
    unsigned char *dst = e->jpeg;
    unsigned long size = e->cap;
    if (tjCompress2(e->tj, rgb, w, (int)stride, h, TJPF_RGB, &dst, &size,
                    TJSAMP_420, quality, TJFLAG_ACCURATEDCT) != 0 ||
        dst != e->jpeg) {
        LOGF(LOG_WARN, "jpeg_encode_failed",
             LF_S("error", tjGetErrorStr2(e->tj)), LF_I("width", w),
             LF_I("height", h));
        if (dst != e->jpeg)
            tjFree(dst); /* cannot happen with a worst-case buffer */
        return ETL_EIMAGE;
    }
    buf_reset(out);
    return buf_add(out, e->jpeg, size);
}

int img_jpeg_size(const void *jpeg, size_t len, int *w, int *h)
{
    if (!jpeg || !w || !h || len == 0 || len > ULONG_MAX)
        return ETL_EINVAL;
    tjhandle tj = tjInitDecompress();
    if (!tj)
        return ETL_EIMAGE;
    int subsamp = 0, colorspace = 0, rc = 0;
    if (tjDecompressHeader3(tj, jpeg, (unsigned long)len, w, h, &subsamp,
                            &colorspace) != 0)
        rc = ETL_EIMAGE;
    tjDestroy(tj);
    return rc;
}
