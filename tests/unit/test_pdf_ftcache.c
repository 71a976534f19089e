/* Unit tests for src/pdf/ftcache.c: FreeType's answers for the font
 * programs compiled into MuPDF, kept across documents, must be FreeType's
 * own answers; fonts from anywhere else are passed through. The test is
 * linked like the program, so FT_Get_Advance here is the cached one and
 * __real_FT_Get_Advance FreeType's. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <ft2build.h>
#include FT_FREETYPE_H
#include FT_ADVANCES_H
#include <mupdf/fitz.h>

#include "core/buf.h"
#include "harness.h"
#include "pdf/pdf.h"
#include "pdf/pdf_int.h"
#include "samples/samples.h"

FT_Error __real_FT_Get_Advance(FT_Face face, FT_UInt gindex,
                               FT_Int32 load_flags, FT_Fixed *padvance);
FT_UInt __real_FT_Get_Name_Index(FT_Face face, const FT_String *glyph_name);

#define MUPDF_MASK                                                             \
    (FT_LOAD_NO_SCALE | FT_LOAD_NO_HINTING | FT_LOAD_IGNORE_TRANSFORM)

/* Every glyph's advance, asked twice (the second answer comes from the
 * cache when the face is cached), and every glyph name, against FreeType
 * asked directly. Returns the number of mismatches. */
static int compare_face(FT_Face face)
{
    int bad = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (FT_Long g = 0; g < face->num_glyphs; g++) {
            FT_Fixed a = -1, b = -2;
            FT_Error ea = FT_Get_Advance(face, (FT_UInt)g, MUPDF_MASK, &a);
            FT_Error eb =
                __real_FT_Get_Advance(face, (FT_UInt)g, MUPDF_MASK, &b);
            bad += ea != eb || a != b;
            /* A scaled advance is never cached: it depends on the size. */
            ea = FT_Get_Advance(face, (FT_UInt)g, FT_LOAD_NO_HINTING, &a);
            eb =
                __real_FT_Get_Advance(face, (FT_UInt)g, FT_LOAD_NO_HINTING, &b);
            bad += ea != eb || a != b;
            char name[64];
            if (FT_HAS_GLYPH_NAMES(face) &&
                FT_Get_Glyph_Name(face, (FT_UInt)g, name, sizeof(name)) == 0 &&
                name[0])
                bad += FT_Get_Name_Index(face, name) !=
                       __real_FT_Get_Name_Index(face, name);
        }
        bad += FT_Get_Name_Index(face, "no-such-glyph") != 0;
    }
    return bad;
}

TEST(builtin_fonts_answer_like_freetype)
{
    struct pdf_engine *e = NULL;
    CHECK_EQ_INT(pdf_engine_new(NULL, &e), 0); /* sets the cache up */
    fz_context *ctx = fz_new_context(NULL, NULL, FZ_STORE_UNLIMITED);
    FT_Library lib = NULL;
    CHECK(ctx && FT_Init_FreeType(&lib) == 0);
    static const char *const names[] = {"Helvetica", "Times-Bold", "Courier",
                                        "Symbol", "ZapfDingbats"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        int len = 0;
        const unsigned char *data = fz_lookup_base14_font(ctx, names[i], &len);
        CHECK(data && len > 0);
        if (!data)
            continue;
        CHECK(pdfi_ftcache_is_static(data, (size_t)len));

        /* Two faces on the program, as two documents would have. */
        for (int doc = 0; doc < 2; doc++) {
            FT_Face face = NULL;
            CHECK_EQ_INT(FT_New_Memory_Face(lib, data, len, 0, &face), 0);
            CHECK(face && face->num_glyphs > 0);
            if (face)
                CHECK_EQ_INT(compare_face(face), 0);
            FT_Done_Face(face);
        }

        /* The same program on the heap, like an embedded font: its bytes
         * could be freed and reused, so it is not cached, and answers the
         * same all the same. */
        unsigned char *copy = malloc((size_t)len);
        CHECK(copy != NULL);
        if (!copy)
            continue;
        memcpy(copy, data, (size_t)len);
        CHECK(!pdfi_ftcache_is_static(copy, (size_t)len));
        FT_Face face = NULL;
        CHECK_EQ_INT(FT_New_Memory_Face(lib, copy, len, 0, &face), 0);
        if (face)
            CHECK_EQ_INT(compare_face(face), 0);
        FT_Done_Face(face);
        free(copy);
    }
    int x = 0;
    CHECK(!pdfi_ftcache_is_static(&x, sizeof(x))); /* the stack */
    FT_Done_FreeType(lib);
    fz_drop_context(ctx);
    pdf_engine_free(e);
}

/* The first text extracted in this process meets FreeType's answers; the
 * same text extracted again, on several workers at once while the cache
 * is shared, must come out identical. Runs first, so the cache is cold. */
struct text_job {
    struct pdf_worker *w;
    const struct buf *pdf;
    int n;
    struct buf text[8];
    int rc;
};

static void *text_worker(void *arg)
{
    struct text_job *j = arg;
    for (int i = 0; !j->rc && i < j->n; i++) {
        struct pdf_doc *d = NULL;
        j->rc = pdf_doc_open(j->w, j->pdf[i].data, j->pdf[i].len, &d);
        if (!j->rc)
            j->rc = pdf_doc_text(d, 0, &j->text[i]);
        pdf_doc_free(d);
    }
    return NULL;
}

TEST(cold_and_warm_texts_are_equal)
{
    enum { NPDF = 6, NTHREADS = 3 };
    struct buf pdf[NPDF];
    for (int i = 0; i < NPDF; i++) {
        buf_init(&pdf[i], 0);
        CHECK_EQ_INT(pdf_sample_make(11, i, SAMPLE_GOOD, &pdf[i], NULL), 0);
    }
    struct pdf_engine *e = NULL;
    CHECK_EQ_INT(pdf_engine_new(NULL, &e), 0);
    struct text_job cold = {.pdf = pdf, .n = 1};
    buf_init(&cold.text[0], 0);
    CHECK_EQ_INT(pdf_worker_new(e, &cold.w), 0);
    text_worker(&cold);
    CHECK_EQ_INT(cold.rc, 0);
    CHECK(cold.text[0].len > 100);

    struct text_job jobs[NTHREADS];
    pthread_t th[NTHREADS];
    for (int t = 0; t < NTHREADS; t++) {
        memset(&jobs[t], 0, sizeof(jobs[t]));
        jobs[t].pdf = pdf;
        jobs[t].n = NPDF;
        for (int i = 0; i < NPDF; i++)
            buf_init(&jobs[t].text[i], 0);
        /* Workers are cloned on this thread, as pdf.h requires. */
        CHECK_EQ_INT(pdf_worker_new(e, &jobs[t].w), 0);
    }
    for (int t = 0; t < NTHREADS; t++)
        CHECK_EQ_INT(pthread_create(&th[t], NULL, text_worker, &jobs[t]), 0);
    for (int t = 0; t < NTHREADS; t++)
        pthread_join(th[t], NULL);
    for (int t = 0; t < NTHREADS; t++) {
        CHECK_EQ_INT(jobs[t].rc, 0);
        for (int i = 0; i < NPDF; i++) {
            const struct buf *want = i ? &jobs[0].text[i] : &cold.text[0];
            CHECK_EQ_INT((long)jobs[t].text[i].len, (long)want->len);
            if (jobs[t].text[i].len == want->len)
                CHECK(memcmp(jobs[t].text[i].data, want->data, want->len) == 0);
        }
    }
    for (int t = 0; t < NTHREADS; t++) {
        for (int i = 0; i < NPDF; i++)
            buf_release(&jobs[t].text[i]);
        pdf_worker_free(jobs[t].w);
    }
    buf_release(&cold.text[0]);
    pdf_worker_free(cold.w);
    pdf_engine_free(e);
    for (int i = 0; i < NPDF; i++)
        buf_release(&pdf[i]);
}

int main(void)
{
    RUN(cold_and_warm_texts_are_equal);
    RUN(builtin_fonts_answer_like_freetype);
    return harness_done();
}
