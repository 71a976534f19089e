/* Internals of the MuPDF engine shared by engine.c and doc.c.
 *
 * Limits are enforced per document operation: pdf_op_begin() marks the
 * calling thread as working for a worker (so the allocator charges that
 * worker and can refuse allocations), and pdf_op_end() turns what happened
 * (deadline passed, memory cap hit, MuPDF exception) into an ETL code. */
#ifndef ETL_PDF_PDF_INT_H
#define ETL_PDF_PDF_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <mupdf/fitz.h>
#include <mupdf/pdf.h>

#include "pdf/pdf.h"

/* Default resource store: big enough for a page's fonts and images, small
 * enough that memory stays flat over thousands of documents. */
#define PDF_DEFAULT_STORE_BYTES ((size_t)64 << 20)

/* Memory charged to one worker. Owned by the engine, not the worker: items
 * a worker put into the shared store may be freed after the worker is gone
 * (every allocation records the account it was charged to). */
struct pdf_account {
    struct pdf_account *next;
    atomic_size_t used;
    size_t cap;          /* 0 = none */
    atomic_bool refused; /* an allocation was refused since op_begin */
};

struct pdf_engine {
    fz_context *ctx; /* base context: store, fonts, colour spaces */
    pthread_mutex_t locks[FZ_LOCK_MAX];
    struct pdf_limits limits;

    /* Documents with a deadline, watched by the watchdog thread; also
     * guards the accounts list. */
    pthread_mutex_t reg_lock;
    pthread_cond_t reg_cond;
    struct pdf_doc *timed;
    struct pdf_account *accounts;
    pthread_t watchdog;
    bool watchdog_running;
    bool stopping;
};

struct pdf_worker {
    struct pdf_engine *e;
    fz_context *ctx; /* cloned from e->ctx */
    struct pdf_account *acct;
    struct pdf_doc *cur; /* document whose operation is running, or NULL */
};

struct pdf_doc {
    struct pdf_worker *w;
    pdf_document *pdf;
    int page_count;

    /* The last page loaded, kept for the next operation on it, and its
     * display list once one was needed (rendering, vectors): both are
     * dropped when another page is loaded. */
    fz_page *page;
    int page_no;
    fz_display_list *list;
    unsigned lists_built; /* display lists interpreted so far (tests) */

    /* Time budget: the watchdog sets cookie.abort and expired once
     * deadline_ns (CLOCK_MONOTONIC) has passed; both stay set. */
    fz_cookie cookie;
    int64_t deadline_ns; /* 0 = none; written under e->reg_lock */
    atomic_bool expired;
    struct pdf_doc *prev, *next; /* in e->timed */
};

/* Start the document's time budget (no-op without a timeout). */
void pdf_deadline_arm(struct pdf_doc *d);
/* Stop watching the document; call before freeing it. */
void pdf_deadline_disarm(struct pdf_doc *d);

/* Enter an operation on d for the calling thread: ETL_EPDF_TIMEOUT if the
 * budget is already spent, else 0 and the allocator charges d's worker. */
int pdf_op_begin(struct pdf_doc *d);
/* Leave it. rc is the operation's own result; a passed deadline or a
 * refused allocation during the operation override it (TIMEOUT,
 * TOOCOMPLEX), since MuPDF may have swallowed the failure. */
int pdf_op_end(struct pdf_doc *d, int rc);

/* Shared by doc.c and preview.c (doc.c documents them): load a page
 * inside an operation (kept for the next one), the dpi matrix PyMuPDF
 * uses, a page's pixel bounds at dpi, and a page's display list (throws). */
int pdfi_load_page(struct pdf_doc *d, int page);
fz_matrix pdfi_dpi_matrix(int dpi);
fz_irect pdfi_page_irect(fz_context *ctx, fz_page *page, int dpi);
fz_display_list *pdfi_page_list(fz_context *ctx, fz_page *page,
                                fz_cookie *cookie);
/* The loaded page's display list, built on first use and kept in d (a
 * borrowed pointer, valid until another page is loaded or d is freed).
 * Inside an operation, after pdfi_load_page(); returns an ETL code. A list
 * whose building ran out of time is not kept. */
int pdfi_doc_list(struct pdf_doc *d, fz_display_list **out);
/* How many display lists d has built: lets tests check that rendering and
 * vector collection interpret a page once. */
unsigned pdfi_doc_lists_built(const struct pdf_doc *d);

/* Fill areas (device pixels, any position: only their overlap with the
 * pixmap is painted) of an RGB pixmap without alpha with white. */
void pdfi_paint_white(fz_context *ctx, fz_pixmap *pix,
                      const struct pdf_irect *areas, size_t n);

/* ftcache.c: keep FreeType's answers about the font programs compiled
 * into MuPDF across documents. Call before the first document (engine.c
 * does); is_static tells whether [p, p + n) lies in MuPDF's loaded image,
 * where those programs are (for tests). */
void pdfi_ftcache_init(void);
bool pdfi_ftcache_is_static(const void *p, size_t n);

/* layout.c: building a pdf_layout while doc.c walks a text page. Calls
 * never throw; the first allocation failure is kept in rc and returned by
 * pdfi_layout_end() (which then empties the layout). */
struct pdfi_layout_acc {
    struct pdf_layout *l;
    int rc;
    bool stopped; /* a cap was reached or memory ran out */
    bool open;    /* the last span is still being built */
    int blanks;   /* blank characters since its last character */
    float end;    /* where its last character ends, along dir */
    fz_point dir;
    uint32_t line_no;
};
void pdfi_layout_begin(struct pdfi_layout_acc *a, struct pdf_layout *l);
void pdfi_layout_line(struct pdfi_layout_acc *a, const fz_stext_line *line);
/* A character the text holds, with its box in page space. */
void pdfi_layout_char(struct pdfi_layout_acc *a, const fz_stext_char *ch,
                      fz_rect box);
int pdfi_layout_end(struct pdfi_layout_acc *a);

/* Map the exception just caught (inside fz_catch) to an ETL code:
 * ETL_ENOMEM for memory, ETL_EPDF_TIMEOUT for an abort, else fallback. */
int pdf_caught_code(fz_context *ctx, int fallback);

/* MuPDF's message msg for a log line: as it is when the engine was
 * created with raw_messages, else only its fixed part, cut before the
 * first quote, bracket, '/', ':' or digit (what follows is an object, a
 * name or a token of the page) with " [redacted]" appended when anything
 * was cut. Returns msg or out (size bytes). */
#define PDF_LOG_MESSAGE_MAX 128
const char *pdf_log_message(const char *msg, char *out, size_t size);

#endif
