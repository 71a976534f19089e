/* PDF work on MuPDF: the only module that includes <mupdf/fitz.h>.
 *
 * Threading: one engine per process (a base fz_context with real locks).
 * Each worker thread owns one pdf_worker (a cloned context), created on the
 * main thread with pdf_worker_new() and used by one thread at a time. A
 * pdf_doc belongs to the worker that opened it and must not cross threads.
 *
 * Errors: MuPDF exceptions never escape; every function returns 0 or a
 * negative ETL_E* code (ETL_EPDF_* for PDF problems). Nothing here logs PDF
 * text or pixels. */
#ifndef ETL_PDF_PDF_H
#define ETL_PDF_PDF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

struct pdf_engine;
struct pdf_worker;
struct pdf_doc;

/* Limits. timeout_ms runs from pdf_doc_open() to pdf_doc_free(), time
 * spent in pdf_image_fn callbacks included; once spent, every call on the
 * document returns ETL_EPDF_TIMEOUT. A single decoding step (one giant
 * image) cannot be interrupted by the clock alone: pair the timeout with
 * max_memory. max_memory counts what the worker allocated and still holds,
 * its share of the engine's store included, so keep it well above
 * max_store_bytes; hitting it gives ETL_EPDF_TOOCOMPLEX. In PDF_RENDER_PAGE
 * mode the full page is a rendered region for max_region_pixels. */
struct pdf_limits {
    size_t max_store_bytes;    /* MuPDF resource store per engine; 0 = 64 MiB */
    long timeout_ms;           /* per-document work budget; 0 = none */
    size_t max_memory;         /* per-worker allocation cap; 0 = none */
    int max_pages;             /* documents with more pages fail; 0 = none */
    int64_t max_region_pixels; /* per rendered region; 0 = none */
    /* Log MuPDF's messages as they are. They may quote page content
     * (`unknown keyword: 'Jane'` from a damaged content stream), so by
     * default only their leading, fixed part is logged (see
     * pdf_log_message); DEBUG_PAYLOADS turns this on. Process-wide: the
     * last engine created decides. */
    bool raw_messages;
};

/* Integer device-pixel box at a given dpi: page space (origin top-left,
 * y down, points) scaled by dpi/72; x1/y1 exclusive. The pixel grid is the
 * one a full-page render at that dpi uses, so a box is exactly a crop of
 * that render. */
struct pdf_irect {
    int x0, y0, x1, y1;
};

enum pdf_render_mode {
    PDF_RENDER_CLIP, /* render only the boxes from one display list: their
                        union once when it is at most 1.5x their summed
                        area, else each box alone */
    PDF_RENDER_PAGE  /* render the whole page once, then crop (exact seed) */
};

/* Called once per box, in box order, with borrowed RGB pixels (3 bytes per
 * pixel, no alpha) valid only during the call. A non-zero return stops the
 * rendering and is returned by pdf_doc_render(). */
typedef int (*pdf_image_fn)(void *arg, size_t index, const unsigned char *rgb,
                            int w, int h, ptrdiff_t stride);

int pdf_engine_new(const struct pdf_limits *limits, struct pdf_engine **out);
/* Free every worker (and its documents) first. */
void pdf_engine_free(struct pdf_engine *e);
/* Name and version of the MuPDF library in use (static string). */
const char *pdf_engine_version(void);

/* Call on the thread that owns the engine (cloning is not thread-safe). */
int pdf_worker_new(struct pdf_engine *e, struct pdf_worker **out);
void pdf_worker_free(struct pdf_worker *w);

/* Open a document from memory; data is borrowed and must outlive the doc
 * (no copy is made). Errors: ETL_EPDF_EMPTY (len 0), ETL_EPDF_NOTPDF,
 * ETL_EPDF_ENCRYPTED (needs a password), ETL_EPDF_DAMAGED (unrepairable),
 * ETL_EPDF_TOOCOMPLEX, ETL_EPDF_TIMEOUT. */
int pdf_doc_open(struct pdf_worker *w, const void *data, size_t len,
                 struct pdf_doc **out);
void pdf_doc_free(struct pdf_doc *d);

int pdf_doc_page_count(const struct pdf_doc *d);
/* MuPDF had to repair the file's structure (xref rebuilt). Meaningful after
 * the pages used have been loaded, since repair can happen lazily. */
bool pdf_doc_repaired(const struct pdf_doc *d);

/* Text of page (0-based), appended to out: the same string PyMuPDF 1.21's
 * page.get_text() returns. ETL_EPDF_NOPAGE if the page does not exist. */
int pdf_doc_text(struct pdf_doc *d, int page, struct buf *out);

/* ------------------------------------------------------------------ */
/* Text layout: the characters of the text above as spans with boxes, for
 * reading a report's labels and values by where they are printed
 * (ecg/fields.h). Page space as in the text: points, origin top-left, y
 * down, the page's /Rotate left out (as pdf_doc_text does).
 *
 * A span is a run of one MuPDF text line's characters with no wide gap:
 * a gap of more than PDF_SPAN_GAP_EM times the font size, or of three or
 * more blanks, ends it (a table's cells are separate spans even when
 * MuPDF joins them into one line). Blanks at a span's ends are left out;
 * blanks inside one become a single space. Only characters the text holds
 * count (those inside the page box). */
#define PDF_SPAN_GAP_EM 1.0f
/* Caps on one page; past them the layout is cut short and says so
 * (truncated), the text is unaffected. */
#define PDF_LAYOUT_MAX_SPANS ((size_t)1 << 16)
#define PDF_LAYOUT_MAX_TEXT_BYTES ((size_t)1 << 21)

struct pdf_span {
    size_t off, len;      /* UTF-8 bytes in pdf_layout.text (NUL after) */
    float x0, y0, x1, y1; /* bounding box of its characters */
    float bx, by;         /* baseline origin of its first character */
    float size;           /* largest font size in it, points */
    float dx, dy;         /* writing direction, a unit vector: (1, 0) for
                             ordinary text, (0, -1) for text running up */
    uint32_t line;        /* MuPDF line it came from, counting from 0 over
                             the page (spans of one line share it) */
};

/* What pdf_doc_text_layout() collected; arrays owned by the struct and
 * reused by the next call. */
struct pdf_layout {
    float page_w, page_h;
    struct pdf_span *spans;
    size_t nspans, cap_spans;
    char *text; /* spans' bytes, each followed by a NUL; valid UTF-8 */
    size_t text_len, text_cap;
    bool truncated; /* a PDF_LAYOUT_MAX_* cap was reached */
};

/* An empty layout (ETL_ENOMEM). Free with pdf_layout_free (NULL-safe). */
int pdf_layout_new(struct pdf_layout **out);
void pdf_layout_free(struct pdf_layout *l);
/* Empty it, keeping at most 1 MiB of capacity per array. */
void pdf_layout_reset(struct pdf_layout *l);

/* pdf_doc_text() and the page's layout from one pass over the page: text
 * (NULL: not wanted) gets exactly what pdf_doc_text() appends, layout
 * (NULL: not wanted) is reset and filled. Same errors as pdf_doc_text();
 * on error layout is left empty. */
int pdf_doc_text_layout(struct pdf_doc *d, int page, struct buf *text,
                        struct pdf_layout *layout);

/* Pixel bounds of a full render of page at dpi (what PyMuPDF's
 * page.get_pixmap(dpi=dpi) would produce). */
int pdf_doc_page_pixels(struct pdf_doc *d, int page, int dpi,
                        struct pdf_irect *out);

/* Render each of n boxes (already clipped to the page pixels, non-empty) of
 * page at dpi, RGB, anti-aliased like a default MuPDF render, and hand each
 * to fn. The page is interpreted once (one display list) for all boxes. */
int pdf_doc_render(struct pdf_doc *d, int page, int dpi,
                   const struct pdf_irect *boxes, size_t n,
                   enum pdf_render_mode mode, pdf_image_fn fn, void *arg);

/* pdf_doc_render() with the nredact areas (page pixels at dpi, anywhere;
 * only their overlap with the page counts) painted white on the page
 * before any box is handed to fn: a box sees exactly what a crop of the
 * painted full page would show, in either mode. For de-identification. */
int pdf_doc_render_redacted(struct pdf_doc *d, int page, int dpi,
                            const struct pdf_irect *boxes, size_t n,
                            const struct pdf_irect *redact, size_t nredact,
                            enum pdf_render_mode mode, pdf_image_fn fn,
                            void *arg);

/* A labelled rectangle for pdf_doc_preview(). */
struct pdf_mark {
    struct pdf_irect box; /* page pixels at dpi; may extend past the page */
    const char *label;    /* drawn in Helvetica (Latin-1 glyphs); or NULL */
    uint32_t rgb;         /* 0xRRGGBB of the outline and label background */
};

/* Image pixels around the page in a preview: page pixel (x, y) is image
 * pixel (x + PDF_PREVIEW_MARGIN, y + PDF_PREVIEW_MARGIN). */
#define PDF_PREVIEW_MARGIN 48
/* Colours of a preview's background and rulers. */
#define PDF_PREVIEW_BACKGROUND 0xd8d8d8u
#define PDF_PREVIEW_RULER 0x303030u

/* A PNG (RGB, 8 bits) of page at dpi for checking regions by eye,
 * appended to png: the page rendered in full on a grey canvas
 * PDF_PREVIEW_MARGIN pixels larger on every side, the redact areas
 * painted white, then each mark as an outline PDF_PREVIEW_LINE pixels
 * wide drawn inside its box (exact colour, no anti-aliasing; parts outside
 * the canvas are cut) with its label on a background of the mark's colour
 * at the box's top-left corner (kept on the canvas), and rulers in points
 * along the top and left edges: a tick every 10 pt, longer every 50 pt,
 * numbered every 100 pt. The whole canvas counts against the engine's
 * max_region_pixels. */
#define PDF_PREVIEW_LINE 2
int pdf_doc_preview(struct pdf_doc *d, int page, int dpi,
                    const struct pdf_irect *redact, size_t nredact,
                    const struct pdf_mark *marks, size_t nmarks,
                    struct buf *png);

/* ------------------------------------------------------------------ */
/* Vector content of a page, for waveform extraction (ecg/waveform.h).
 * Page space throughout: points, origin top-left, y down (the space of
 * pdf_sample_geometry() and of the crop regions). */

/* Caps on what one page may hold; a page over any of them gives
 * ETL_EPDF_TOOCOMPLEX. At the caps the arrays take ~20 MB (plain malloc,
 * not counted in pdf_limits.max_memory, which is why they are capped); a
 * real ECG page holds well under 10% of them (twelve 1 kHz leads and a
 * dotted 1 mm grid: ~300k points in ~60k paths). */
#define PDF_VECTORS_MAX_POINTS ((size_t)1 << 20)
#define PDF_VECTORS_MAX_PATHS ((size_t)1 << 18)
#define PDF_VECTORS_MAX_TEXTS ((size_t)1 << 16)
#define PDF_VECTORS_MAX_TEXT_BYTES ((size_t)1 << 20)

struct pdf_vpoint {
    float x, y;
};

/* One subpath of a stroked or filled path, in drawing order. Curves keep
 * only their end points; a rectangle is its four corners, closed. */
struct pdf_vpath {
    size_t first; /* index of its first point in pdf_vectors.points */
    size_t n;     /* number of points, >= 1 */
    uint32_t rgb; /* 0xRRGGBB: the stroke colour, or the fill colour */
    float width;  /* stroke width in page points after the CTM; 0 if filled */
    bool filled;  /* drawn by a fill, else by a stroke */
    bool closed;  /* the subpath was closed (h, re) */
};

/* A run of text: glyphs on one line with no space or gap between them
 * (a space glyph or a gap wider than a fifth of the font size ends a run,
 * and is not part of either). A line may run in any of the four page
 * directions (rotated content): dir says which, and (x1, y1) is where the
 * last glyph's advance ends along it. */
enum pdf_vdir {
    PDF_VDIR_RIGHT, /* upright text: baseline towards +x */
    PDF_VDIR_DOWN,  /* turned 90 degrees clockwise: towards +y */
    PDF_VDIR_LEFT,  /* upside down: towards -x */
    PDF_VDIR_UP     /* turned 90 degrees counter-clockwise: towards -y */
};

struct pdf_vtext {
    size_t off, len; /* UTF-8 bytes in pdf_vectors.text (NUL after them) */
    float x, y;      /* baseline origin of the first glyph */
    float x1, y1;    /* end of the last glyph's advance along the baseline */
    float size;      /* font size in page points */
    enum pdf_vdir dir;
};

/* What pdf_doc_vectors() collected. The arrays are owned by the struct and
 * reused by the next call (capacity kept, except after a huge page). Clip
 * paths, shadings and invisible (alpha 0, render mode 3) content are not
 * collected. Points are as MuPDF computed them: finite for sane files, but
 * a hostile file may give NaN or huge values. */
struct pdf_vectors {
    float page_w, page_h; /* page size in points */
    struct pdf_vpoint *points;
    size_t npoints, cap_points;
    struct pdf_vpath *paths;
    size_t npaths, cap_paths;
    struct pdf_vtext *texts;
    size_t ntexts, cap_texts;
    char *text;      /* runs' bytes, each followed by a NUL */
    size_t text_len; /* end of the last run's bytes */
    size_t text_cap;
    size_t nimages;    /* images and image masks drawn */
    double image_area; /* their bounding boxes clipped to the page, pt^2 */
};

/* An empty collection (ETL_ENOMEM). Free with pdf_vectors_free (NULL-safe). */
int pdf_vectors_new(struct pdf_vectors **out);
void pdf_vectors_free(struct pdf_vectors *v);
/* Empty it, keeping at most 1 MiB of capacity per array (so one huge page
 * does not pin memory until the next call). */
void pdf_vectors_reset(struct pdf_vectors *v);

/* Collect page's vector content into out (reset first; memory reused).
 * Uses the display list pdf_doc_render*() built for that page when there
 * is one (the page is interpreted once for crops and waveforms), else
 * builds it (and keeps it for a later render). Same limits as rendering
 * (timeout via the cookie, memory cap): ETL_EPDF_TIMEOUT,
 * ETL_EPDF_TOOCOMPLEX (also: over a PDF_VECTORS_MAX_* cap),
 * ETL_EPDF_NOPAGE, ETL_EPDF_DAMAGED, ETL_ENOMEM, ETL_EINVAL. On error out
 * is left empty. Same thread rules as the other pdf_doc calls. */
int pdf_doc_vectors(struct pdf_doc *d, int page, struct pdf_vectors *out);

#endif
