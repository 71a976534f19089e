/* bench_floor: the unavoidable MuPDF work for a directory of PDFs, on every
 * core, as a yardstick for bpecg-etl (`make bench`).
 *
 * Per PDF: open it from memory, extract the text of the text page, build
 * one display list of the crop page and render each crop box from it (one
 * clip render per box, RGB, anti-aliased). Nothing else: no JPEG, no
 * output files, no Parquet, no hashing. The bytes come from mmap(2) of a
 * file already in the page cache, so reading them is not I/O either.
 *
 * --mode mupdf (default) calls MuPDF directly; --mode etl does the same
 * work through src/pdf's public API (pdf/pdf.h), which adds what that layer
 * adds around MuPDF (PyMuPDF-identical text, the clip margin; no deadline
 * or memory cap here) and so measures its cost. --render union|page|direct
 * replaces the one-clip-per-box rendering by one render of the boxes'
 * union, of the whole page, or of the union straight from the page without
 * a display list, to compare strategies. --mode clipdiff is not timed work:
 * it renders every box through pdf/pdf.h in clip mode and in page mode and
 * counts the bytes that differ (clip mode's margin trades exactness for
 * speed; this measures what it gives up).
 *
 * Prints one JSON object on stdout: PDFs, crops, failures, the wall time
 * of the processing alone and a histogram of the crop pixel sizes. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mupdf/fitz.h>
#include <mupdf/pdf.h>

#include "core/buf.h"
#include "pdf/pdf.h"

#define MAX_BOXES 64
#define MAX_SIZES 64

/* PyMuPDF's page.get_text() flags: the same extraction work. */
#define TEXT_FLAGS                                                             \
    (FZ_STEXT_PRESERVE_LIGATURES | FZ_STEXT_PRESERVE_WHITESPACE |              \
     FZ_STEXT_MEDIABOX_CLIP)

struct size_count {
    int w, h;
    long n;
};

enum render { RENDER_CLIP, RENDER_UNION, RENDER_PAGE, RENDER_DIRECT };

struct floor_run {
    char **paths;
    size_t npaths;
    long repeat;
    int dpi, text_page, crop_page;
    fz_irect boxes[MAX_BOXES];
    size_t nboxes;
    bool use_etl, clipdiff;
    enum render render;

    fz_context *base;
    pthread_mutex_t locks[FZ_LOCK_MAX];
    struct pdf_engine *engine;

    atomic_size_t next;
};

struct floor_thread {
    struct floor_run *r;
    fz_context *ctx;          /* --mode mupdf */
    struct pdf_worker *etl_w; /* --mode etl */
    long pdfs, crops, failed;
    long long cmp_bytes, cmp_differing; /* --mode clipdiff */
    int cmp_max;
    struct size_count sizes[MAX_SIZES];
    size_t nsizes;
    pthread_t tid;
};

static void lock_fn(void *user, int lock)
{
    struct floor_run *r = user;
    pthread_mutex_lock(&r->locks[lock]);
}

static void unlock_fn(void *user, int lock)
{
    struct floor_run *r = user;
    pthread_mutex_unlock(&r->locks[lock]);
}

static void quiet(void *user, const char *message)
{
    (void)user;
    (void)message;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void add_size(struct floor_thread *t, int w, int h, long n)
{
    for (size_t i = 0; i < t->nsizes; i++) {
        if (t->sizes[i].w == w && t->sizes[i].h == h) {
            t->sizes[i].n += n;
            return;
        }
    }
    if (t->nsizes < MAX_SIZES)
        t->sizes[t->nsizes++] = (struct size_count){w, h, n};
}

static fz_irect irect_union(fz_irect a, fz_irect b)
{
    if (fz_is_empty_irect(a))
        return b;
    if (fz_is_empty_irect(b))
        return a;
    return (fz_irect){a.x0 < b.x0 ? a.x0 : b.x0, a.y0 < b.y0 ? a.y0 : b.y0,
                      a.x1 > b.x1 ? a.x1 : b.x1, a.y1 > b.y1 ? a.y1 : b.y1};
}

/* One RGB render of area from the list, as mutool draw does it: white
 * background, the draw device at identity, the list run with ctm and
 * culled to area. */
static fz_pixmap *draw(fz_context *ctx, fz_display_list *list, fz_matrix ctm,
                       fz_irect area)
{
    fz_pixmap *pix =
        fz_new_pixmap_with_bbox(ctx, fz_device_rgb(ctx), area, NULL, 0);
    fz_device *dev = NULL;
    fz_var(dev);
    fz_try(ctx)
    {
        fz_clear_pixmap_with_value(ctx, pix, 0xff);
        dev = fz_new_draw_device(ctx, fz_identity, pix);
        fz_run_display_list(ctx, list, dev, ctm, fz_rect_from_irect(area),
                            NULL);
        fz_close_device(ctx, dev);
    }
    fz_always(ctx)
    {
        fz_drop_device(ctx, dev);
    }
    fz_catch(ctx)
    {
        fz_drop_pixmap(ctx, pix);
        fz_rethrow(ctx);
    }
    return pix;
}

/* draw() without a display list: the page interpreted straight into the
 * draw device, which culls what lies outside the pixmap. */
static fz_pixmap *draw_page(fz_context *ctx, fz_page *page, fz_matrix ctm,
                            fz_irect area)
{
    fz_pixmap *pix =
        fz_new_pixmap_with_bbox(ctx, fz_device_rgb(ctx), area, NULL, 0);
    fz_device *dev = NULL;
    fz_var(dev);
    fz_try(ctx)
    {
        fz_clear_pixmap_with_value(ctx, pix, 0xff);
        dev = fz_new_draw_device(ctx, fz_identity, pix);
        fz_run_page(ctx, page, dev, ctm, NULL);
        fz_close_device(ctx, dev);
    }
    fz_always(ctx)
    {
        fz_drop_device(ctx, dev);
    }
    fz_catch(ctx)
    {
        fz_drop_pixmap(ctx, pix);
        fz_rethrow(ctx);
    }
    return pix;
}

/* --mode mupdf: MuPDF calls only. Returns the number of crops rendered, or
 * -1 if the PDF failed. */
static int work_mupdf(struct floor_thread *t, const unsigned char *data,
                      size_t len)
{
    struct floor_run *r = t->r;
    fz_context *ctx = t->ctx;
    fz_stream *stm = NULL;
    fz_document *doc = NULL;
    fz_page *page = NULL;
    fz_stext_page *text = NULL;
    fz_buffer *out = NULL;
    fz_display_list *list = NULL;
    fz_pixmap *pix = NULL;
    int crops = 0;
    fz_var(stm);
    fz_var(doc);
    fz_var(page);
    fz_var(text);
    fz_var(out);
    fz_var(list);
    fz_var(pix);
    fz_var(crops);
    fz_try(ctx)
    {
        stm = fz_open_memory(ctx, data, len);
        doc = &pdf_open_document_with_stream(ctx, stm)->super;
        page = fz_load_page(ctx, doc, r->text_page - 1);
        fz_stext_options opts = {.flags = TEXT_FLAGS};
        text = fz_new_stext_page_from_page(ctx, page, &opts);
        out = fz_new_buffer_from_stext_page(ctx, text);
        fz_drop_page(ctx, page);
        page = NULL;

        page = fz_load_page(ctx, doc, r->crop_page - 1);
        if (r->render != RENDER_DIRECT)
            list = fz_new_display_list_from_page(ctx, page);
        float zoom = (float)(r->dpi / 72.0);
        fz_matrix ctm = fz_scale(zoom, zoom);
        fz_irect full =
            fz_round_rect(fz_transform_rect(fz_bound_page(ctx, page), ctm));
        /* --render union/page/direct: one render of the boxes' union or of
         * the whole page, the crops being views into it; direct runs the
         * page into the draw device without a display list (for
         * comparison). */
        fz_irect once = fz_empty_irect;
        for (size_t i = 0; i < r->nboxes; i++)
            once = irect_union(once, fz_intersect_irect(r->boxes[i], full));
        if (r->render == RENDER_PAGE)
            once = full;
        if (r->render == RENDER_DIRECT && !fz_is_empty_irect(once)) {
            pix = draw_page(ctx, page, ctm, once);
            fz_drop_pixmap(ctx, pix);
            pix = NULL;
        } else if (r->render != RENDER_CLIP && !fz_is_empty_irect(once)) {
            pix = draw(ctx, list, ctm, once);
            fz_drop_pixmap(ctx, pix);
            pix = NULL;
        }
        for (size_t i = 0; i < r->nboxes; i++) {
            fz_irect b = fz_intersect_irect(r->boxes[i], full);
            if (fz_is_empty_irect(b))
                continue;
            if (r->render == RENDER_CLIP) {
                pix = draw(ctx, list, ctm, b);
                fz_drop_pixmap(ctx, pix);
                pix = NULL;
            }
            add_size(t, b.x1 - b.x0, b.y1 - b.y0, 1);
            crops++;
        }
    }
    fz_always(ctx)
    {
        fz_drop_pixmap(ctx, pix);
        fz_drop_display_list(ctx, list);
        fz_drop_buffer(ctx, out);
        fz_drop_stext_page(ctx, text);
        fz_drop_page(ctx, page);
        fz_drop_document(ctx, doc);
        fz_drop_stream(ctx, stm);
    }
    fz_catch(ctx)
    {
        crops = -1;
    }
    return crops;
}

struct etl_count {
    struct floor_thread *t;
    int crops;
};

static int count_image(void *arg, size_t index, const unsigned char *rgb, int w,
                       int h, ptrdiff_t stride)
{
    struct etl_count *c = arg;
    (void)index;
    (void)rgb;
    (void)stride;
    add_size(c->t, w, h, 1);
    c->crops++;
    return 0;
}

/* The boxes cut to the crop page; their number, or -1 on an error. */
static long page_boxes(struct floor_run *r, struct pdf_doc *doc,
                       struct pdf_irect *boxes)
{
    struct pdf_irect full;
    if (pdf_doc_page_pixels(doc, r->crop_page - 1, r->dpi, &full))
        return -1;
    long n = 0;
    for (size_t i = 0; i < r->nboxes; i++) {
        const fz_irect *b = &r->boxes[i];
        struct pdf_irect c = {b->x0 > full.x0 ? b->x0 : full.x0,
                              b->y0 > full.y0 ? b->y0 : full.y0,
                              b->x1 < full.x1 ? b->x1 : full.x1,
                              b->y1 < full.y1 ? b->y1 : full.y1};
        if (c.x0 < c.x1 && c.y0 < c.y1)
            boxes[n++] = c;
    }
    return n;
}

/* --mode clipdiff: the clip-mode crops, kept to compare with page mode's. */
struct clip_shot {
    struct floor_thread *t;
    struct buf px[MAX_BOXES];
};

static int keep_clip(void *arg, size_t index, const unsigned char *rgb, int w,
                     int h, ptrdiff_t stride)
{
    struct clip_shot *s = arg;
    for (int y = 0; y < h; y++) {
        if (buf_add(&s->px[index], rgb + (ptrdiff_t)y * stride, (size_t)w * 3))
            return -1;
    }
    return 0;
}

static int compare_page(void *arg, size_t index, const unsigned char *rgb,
                        int w, int h, ptrdiff_t stride)
{
    struct clip_shot *s = arg;
    struct floor_thread *t = s->t;
    const unsigned char *c = (const unsigned char *)s->px[index].data;
    if (s->px[index].len != (size_t)w * (size_t)h * 3)
        return -1;
    for (int y = 0; y < h; y++) {
        const unsigned char *p = rgb + (ptrdiff_t)y * stride;
        for (int x = 0; x < w * 3; x++, c++) {
            int d = abs((int)*c - (int)p[x]);
            if (d) {
                t->cmp_differing++;
                if (d > t->cmp_max)
                    t->cmp_max = d;
            }
        }
    }
    t->cmp_bytes += (long long)w * h * 3;
    add_size(t, w, h, 1);
    return 0;
}

static int work_clipdiff(struct floor_thread *t, const unsigned char *data,
                         size_t len)
{
    struct floor_run *r = t->r;
    struct pdf_doc *doc = NULL;
    struct pdf_irect boxes[MAX_BOXES];
    struct clip_shot shot = {.t = t};
    long n = -1;
    int rc = pdf_doc_open(t->etl_w, data, len, &doc);
    if (!rc)
        n = page_boxes(r, doc, boxes);
    if (n > 0)
        rc = pdf_doc_render(doc, r->crop_page - 1, r->dpi, boxes, (size_t)n,
                            PDF_RENDER_CLIP, keep_clip, &shot);
    if (n > 0 && !rc)
        rc = pdf_doc_render(doc, r->crop_page - 1, r->dpi, boxes, (size_t)n,
                            PDF_RENDER_PAGE, compare_page, &shot);
    for (size_t i = 0; i < MAX_BOXES; i++)
        buf_release(&shot.px[i]);
    pdf_doc_free(doc);
    return rc || n < 0 ? -1 : (int)n;
}

/* --mode etl: the same work through pdf/pdf.h. */
static int work_etl(struct floor_thread *t, const unsigned char *data,
                    size_t len)
{
    struct floor_run *r = t->r;
    struct pdf_doc *doc = NULL;
    struct buf text = BUF_INIT;
    struct pdf_irect boxes[MAX_BOXES];
    struct etl_count cnt = {t, 0};
    long n = -1;
    int rc = pdf_doc_open(t->etl_w, data, len, &doc);
    if (!rc)
        rc = pdf_doc_text(doc, r->text_page - 1, &text);
    if (!rc && (n = page_boxes(r, doc, boxes)) < 0)
        rc = -1;
    if (!rc && n > 0)
        rc = pdf_doc_render(doc, r->crop_page - 1, r->dpi, boxes, (size_t)n,
                            PDF_RENDER_CLIP, count_image, &cnt);
    pdf_doc_free(doc);
    buf_release(&text);
    return rc ? -1 : cnt.crops;
}

static void *thread_main(void *arg)
{
    struct floor_thread *t = arg;
    struct floor_run *r = t->r;
    size_t total = r->npaths * (size_t)r->repeat;
    for (;;) {
        size_t i = atomic_fetch_add(&r->next, 1);
        if (i >= total)
            break;
        const char *path = r->paths[i % r->npaths];
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        void *map = MAP_FAILED;
        if (fd >= 0 && fstat(fd, &st) == 0 && st.st_size > 0)
            map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (fd >= 0)
            close(fd);
        int crops = -1;
        if (map != MAP_FAILED) {
            crops = r->clipdiff  ? work_clipdiff(t, map, (size_t)st.st_size)
                    : r->use_etl ? work_etl(t, map, (size_t)st.st_size)
                                 : work_mupdf(t, map, (size_t)st.st_size);
            munmap(map, (size_t)st.st_size);
        }
        t->pdfs++;
        if (crops < 0)
            t->failed++;
        else
            t->crops += crops;
    }
    return NULL;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list_pdfs(const char *dir, struct floor_run *r)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "bench_floor: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    size_t cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n <= 4 || strcasecmp(e->d_name + n - 4, ".pdf") != 0)
            continue;
        if (r->npaths == cap) {
            cap = cap ? 2 * cap : 256;
            char **p = realloc(r->paths, cap * sizeof(*p));
            if (!p)
                break;
            r->paths = p;
        }
        struct buf path = BUF_INIT;
        buf_printf(&path, "%s/%s", dir, e->d_name);
        r->paths[r->npaths++] = buf_detach(&path, NULL);
    }
    closedir(d);
    qsort(r->paths, r->npaths, sizeof(*r->paths), by_name);
    return 0;
}

/* The original's crop list, [[x0,y0,x1,y1], ...] in pixels at --dpi: every
 * integer in the text, four at a time. */
static int parse_boxes(const char *s, struct floor_run *r)
{
    long v[4];
    int k = 0;
    r->nboxes = 0;
    while (*s) {
        if ((*s >= '0' && *s <= '9') || *s == '-') {
            char *end;
            v[k++] = strtol(s, &end, 10);
            s = end;
            if (k == 4) {
                if (r->nboxes == MAX_BOXES)
                    return -1;
                r->boxes[r->nboxes++] =
                    (fz_irect){(int)v[0], (int)v[1], (int)v[2], (int)v[3]};
                k = 0;
            }
        } else {
            s++;
        }
    }
    return k == 0 && r->nboxes > 0 ? 0 : -1;
}

static long parse_long(const char *s, long min, long max, const char *what)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max) {
        fprintf(stderr, "bench_floor: %s must be %ld..%ld, not '%s'\n", what,
                min, max, s);
        exit(2);
    }
    return v;
}

static unsigned cores(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
        return (unsigned)CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}

static void usage(void)
{
    fputs("usage: bench_floor --src DIR [--crops '[[x0,y0,x1,y1],...]']\n"
          "       [--dpi 100] [--threads N] [--repeat N]\n"
          "       [--mode mupdf|etl|clipdiff]\n"
          "       [--render clip|union|page|direct]\n"
          "       [--text-page 1] [--crop-page 2]\n",
          stderr);
    exit(2);
}

static int start_engine(struct floor_run *r)
{
    if (r->use_etl) {
        struct pdf_limits lim = {0};
        return pdf_engine_new(&lim, &r->engine) ? -1 : 0;
    }
    for (int i = 0; i < FZ_LOCK_MAX; i++)
        pthread_mutex_init(&r->locks[i], NULL);
    fz_locks_context locks = {r, lock_fn, unlock_fn};
    /* The same store size as bpecg-etl's default. */
    r->base = fz_new_context(NULL, &locks, (size_t)64 << 20);
    if (!r->base)
        return -1;
    fz_set_warning_callback(r->base, quiet, NULL);
    fz_set_error_callback(r->base, quiet, NULL);
    return 0;
}

int main(int argc, char **argv)
{
    static struct floor_run r;
    const char *src = NULL;
    unsigned nthreads = cores();
    r.repeat = 1;
    r.dpi = 100;
    r.text_page = 1;
    r.crop_page = 2;
    parse_boxes("[[100,100,300,300]]", &r);
    if (argc % 2 == 0) /* every option takes a value */
        usage();
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i];
        const char *v = argv[i + 1];
        if (strcmp(a, "--src") == 0)
            src = v;
        else if (strcmp(a, "--crops") == 0) {
            if (parse_boxes(v, &r)) {
                fprintf(stderr, "bench_floor: bad --crops '%s'\n", v);
                return 2;
            }
        } else if (strcmp(a, "--dpi") == 0)
            r.dpi = (int)parse_long(v, 36, 600, "--dpi");
        else if (strcmp(a, "--threads") == 0)
            nthreads = (unsigned)parse_long(v, 1, 256, "--threads");
        else if (strcmp(a, "--repeat") == 0)
            r.repeat = parse_long(v, 1, 1000000, "--repeat");
        else if (strcmp(a, "--text-page") == 0)
            r.text_page = (int)parse_long(v, 1, 100000, "--text-page");
        else if (strcmp(a, "--crop-page") == 0)
            r.crop_page = (int)parse_long(v, 1, 100000, "--crop-page");
        else if (strcmp(a, "--render") == 0 && strcmp(v, "clip") == 0)
            r.render = RENDER_CLIP;
        else if (strcmp(a, "--render") == 0 && strcmp(v, "union") == 0)
            r.render = RENDER_UNION;
        else if (strcmp(a, "--render") == 0 && strcmp(v, "page") == 0)
            r.render = RENDER_PAGE;
        else if (strcmp(a, "--render") == 0 && strcmp(v, "direct") == 0)
            r.render = RENDER_DIRECT;
        else if (strcmp(a, "--mode") == 0 && strcmp(v, "mupdf") == 0)
            r.use_etl = false;
        else if (strcmp(a, "--mode") == 0 && strcmp(v, "etl") == 0)
            r.use_etl = true;
        else if (strcmp(a, "--mode") == 0 && strcmp(v, "clipdiff") == 0)
            r.use_etl = r.clipdiff = true;
        else
            usage();
    }
    if (!src)
        usage();
    if (list_pdfs(src, &r) || r.npaths == 0) {
        fprintf(stderr, "bench_floor: no PDFs in %s\n", src);
        return 1;
    }
    if (start_engine(&r)) {
        fprintf(stderr, "bench_floor: cannot start MuPDF\n");
        return 1;
    }

    struct floor_thread *ts = calloc(nthreads, sizeof(*ts));
    if (!ts)
        return 1;
    /* Contexts are cloned here, on the main thread, as MuPDF requires. */
    for (unsigned i = 0; i < nthreads; i++) {
        ts[i].r = &r;
        if (r.use_etl ? pdf_worker_new(r.engine, &ts[i].etl_w) != 0
                      : (ts[i].ctx = fz_clone_context(r.base)) == NULL) {
            fprintf(stderr, "bench_floor: cannot start worker %u\n", i);
            return 1;
        }
    }
    double t0 = mono_s();
    for (unsigned i = 0; i < nthreads; i++)
        pthread_create(&ts[i].tid, NULL, thread_main, &ts[i]);
    for (unsigned i = 0; i < nthreads; i++)
        pthread_join(ts[i].tid, NULL);
    double wall = mono_s() - t0;

    struct floor_thread sum = {.r = &r};
    for (unsigned i = 0; i < nthreads; i++) {
        sum.pdfs += ts[i].pdfs;
        sum.crops += ts[i].crops;
        sum.failed += ts[i].failed;
        sum.cmp_bytes += ts[i].cmp_bytes;
        sum.cmp_differing += ts[i].cmp_differing;
        if (ts[i].cmp_max > sum.cmp_max)
            sum.cmp_max = ts[i].cmp_max;
        for (size_t k = 0; k < ts[i].nsizes; k++)
            add_size(&sum, ts[i].sizes[k].w, ts[i].sizes[k].h,
                     ts[i].sizes[k].n);
    }
    static const char *const render_names[] = {"clip", "union", "page",
                                               "direct"};
    printf("{\"mode\":\"%s\",\"render\":\"%s\",\"threads\":%u,\"pdfs\":%ld,"
           "\"crops\":%ld,"
           "\"failed\":%ld,\"wall_s\":%.6f,\"pdfs_per_s\":%.3f,"
           "\"crop_sizes\":{",
           r.clipdiff  ? "clipdiff"
           : r.use_etl ? "etl"
                       : "mupdf",
           render_names[r.render], nthreads, sum.pdfs, sum.crops, sum.failed,
           wall, wall > 0 ? (double)sum.pdfs / wall : 0.0);
    for (size_t k = 0; k < sum.nsizes; k++)
        printf("%s\"%dx%d\":%ld", k ? "," : "", sum.sizes[k].w, sum.sizes[k].h,
               sum.sizes[k].n);
    printf("}");
    if (r.clipdiff)
        printf(",\"clip_vs_page\":{\"bytes\":%lld,\"differing\":%lld,"
               "\"max_difference\":%d}",
               sum.cmp_bytes, sum.cmp_differing, sum.cmp_max);
    printf("}\n");

    for (unsigned i = 0; i < nthreads; i++) {
        if (r.use_etl)
            pdf_worker_free(ts[i].etl_w);
        else
            fz_drop_context(ts[i].ctx);
    }
    free(ts);
    pdf_engine_free(r.engine);
    if (r.base)
        fz_drop_context(r.base);
    for (size_t i = 0; i < r.npaths; i++)
        free(r.paths[i]);
    free(r.paths);
    return sum.failed ? 1 : 0;
}
