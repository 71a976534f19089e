/* ecg_fields: the measurements of PDF pages as the pipeline reads them, for
 * looking at a report by hand and for tests.
 *
 *   ecg_fields FILE [PAGE]
 *       for each page (or only PAGE, counting from 1): "page N read K
 *       rejected R" then one "FIELD VALUE SOURCE" line per value read
 *       (acquired_at as YYYY-MM-DD HH:MM:SS)
 *
 * Exit status: 0 ok, 1 a PDF error, 2 usage or I/O problems. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/utf8.h"
#include "ecg/fields.h"
#include "pdf/pdf.h"

static int read_file(const char *path, struct buf *b)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_add(b, chunk, n);
    fclose(f);
    return 0;
}

static void print_page(const struct fields_result *r, int page)
{
    printf("page %d read %d rejected %d\n", page, fields_read_count(r),
           r->rejected);
    for (int f = 0; f < FIELDS_NUMERIC; f++)
        if (r->has[f])
            printf("%s %d %s\n", fields_name((enum fields_id)f), r->value[f],
                   r->source[f]);
    if (r->has_acquired) {
        time_t t = (time_t)(r->acquired_ms / 1000);
        struct tm tm;
        char when[32];
        gmtime_r(&t, &tm);
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
        printf("acquired_at %s %s\n", when, r->acquired_source);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: ecg_fields FILE [PAGE]\n");
        return 2;
    }
    log_init(LOG_ERROR, LOG_FORMAT_JSON, 2);
    struct buf data = BUF_INIT, text = BUF_INIT, err = BUF_INIT;
    struct pdf_engine *e = NULL;
    struct pdf_worker *w = NULL;
    struct pdf_doc *d = NULL;
    struct pdf_layout *l = NULL;
    struct fields_set *set = NULL;
    int status = 2;
    if (read_file(argv[1], &data) || pdf_engine_new(NULL, &e) ||
        pdf_worker_new(e, &w) || pdf_layout_new(&l) ||
        fields_parse(NULL, NULL, &set, &err))
        goto out;
    int rc = pdf_doc_open(w, data.data, data.len, &d);
    if (rc) {
        printf("error %s\n", etl_errname(rc));
        status = 1;
        goto out;
    }
    int first = 1, last = pdf_doc_page_count(d);
    if (argc == 3)
        first = last = (int)strtol(argv[2], NULL, 10);
    status = 0;
    for (int p = first; p <= last; p++) {
        buf_reset(&text);
        rc = pdf_doc_text_layout(d, p - 1, &text, l);
        if (!rc)
            rc = utf8_sanitize(&text);
        struct fields_result r;
        if (!rc)
            rc = fields_extract_layout(set, text.data, text.len, l, &r);
        if (rc) {
            printf("page %d error %s\n", p, etl_errname(rc));
            status = 1;
            continue;
        }
        print_page(&r, p);
        fields_result_release(&r);
    }
out:
    fields_free(set);
    pdf_doc_free(d);
    pdf_layout_free(l);
    pdf_worker_free(w);
    pdf_engine_free(e);
    buf_release(&data);
    buf_release(&text);
    buf_release(&err);
    return status;
}
