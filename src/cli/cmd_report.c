/* `bpecg-etl report`: one static HTML page over the results under a
 * destination: totals, the failed and partial PDFs, and a contact sheet of
 * the crops so layout drift shows at a glance.
 *
 * The Parquet files are read with our own reader (pq/); the page embeds
 * its rows as JSON and builds each page of the tables with the DOM
 * (textContent), so no value is ever parsed as HTML. The few values
 * written into the HTML itself are escaped. */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "config/config.h"
#include "core/err.h"
#include "core/log.h"
#include "pq/pq.h"
#include "store/storage.h"

#define PARQUET_MAX ((size_t)2 << 30)
#define IMAGE_MAX ((size_t)32 << 20)
#define ERROR_SHOWN_MAX 2000 /* bytes of an error message in the page */
#define RUN_IDS_SHOWN 5

struct row {
    char *file_id, *source_key, *status, *error_type, *error;
    char **images; /* keys */
    size_t nimages;
};

struct report {
    struct row *rows;
    size_t n, cap;
    char **regions;
    size_t nregions;
    char **run_ids;
    size_t nrun_ids;
    size_t files;
    struct buf skipped; /* "key: why" lines */
};

static void print_help(void)
{
    puts("usage: bpecg-etl report --dest URL [-o report.html] [--page-size "
         "N]\n"
         "                        [--inline-images]\n"
         "\n"
         "Writes one self-contained HTML page (no network: styles and script\n"
         "inline) for the results under a destination: totals per status and\n"
         "error_type, the failed and partial PDFs with their errors, and a\n"
         "contact sheet of the crops (one row per PDF, one column per region;\n"
         "images load lazily, N rows a page).\n"
         "\n"
         "  --dest URL       the destination of a run (DEST_BUCKET); its\n"
         "                   METADATA_PREFIX holds the batch_*.parquet files\n"
         "  -o, --output F   a local file; without it the page is written\n"
         "                   into the destination as report.html\n"
         "  --page-size N    rows per page, 1..10000 (default 100)\n"
         "  --inline-images  embed the crops as data: URIs (a bigger page\n"
         "                   that needs nothing else); the default links\n"
         "                   them by relative path, and inlines them only\n"
         "                   when -o is local and the destination is not\n"
         "\n"
         "exit status: 0 written; 1 written, but some batch files could not\n"
         "be read (listed in the page); 2 usage or configuration error; 3\n"
         "nothing to report or the page could not be written.");
}

/* ------------------------------------------------------------------ */
/* Small helpers */

static char *dup_or_null(const struct pq_value *v)
{
    return v && !v->null && v->s ? strndup(v->s, v->len) : NULL;
}

static void row_release(struct row *r)
{
    free(r->file_id);
    free(r->source_key);
    free(r->status);
    free(r->error_type);
    free(r->error);
    for (size_t i = 0; i < r->nimages; i++)
        free(r->images[i]);
    free(r->images);
}

static void report_release(struct report *rp)
{
    for (size_t i = 0; i < rp->n; i++)
        row_release(&rp->rows[i]);
    free(rp->rows);
    for (size_t i = 0; i < rp->nregions; i++)
        free(rp->regions[i]);
    free(rp->regions);
    for (size_t i = 0; i < rp->nrun_ids; i++)
        free(rp->run_ids[i]);
    free(rp->run_ids);
    buf_release(&rp->skipped);
}

/* Region of an image key: its last segment without ".jpg". */
static int region_of(const char *key, struct buf *out)
{
    const char *slash = strrchr(key, '/');
    const char *name = slash ? slash + 1 : key;
    size_t n = strlen(name);
    if (n > 4 && strcmp(name + n - 4, ".jpg") == 0)
        n -= 4;
    buf_reset(out);
    return buf_add(out, name, n);
}

static int add_region(struct report *rp, const char *name, size_t *index)
{
    for (size_t i = 0; i < rp->nregions; i++) {
        if (strcmp(rp->regions[i], name) == 0) {
            *index = i;
            return 0;
        }
    }
    char **r = realloc(rp->regions, (rp->nregions + 1) * sizeof(*r));
    if (!r)
        return ETL_ENOMEM;
    rp->regions = r;
    r[rp->nregions] = strdup(name);
    if (!r[rp->nregions])
        return ETL_ENOMEM;
    *index = rp->nregions++;
    return 0;
}

static int add_run_id(struct report *rp, const char *id)
{
    if (!id)
        return 0;
    for (size_t i = 0; i < rp->nrun_ids; i++)
        if (strcmp(rp->run_ids[i], id) == 0)
            return 0;
    char **r = realloc(rp->run_ids, (rp->nrun_ids + 1) * sizeof(*r));
    if (!r)
        return ETL_ENOMEM;
    rp->run_ids = r;
    r[rp->nrun_ids] = strdup(id);
    if (!r[rp->nrun_ids])
        return ETL_ENOMEM;
    rp->nrun_ids++;
    return 0;
}

/* batch_NNNNNN.parquet (any number of digits) at the end of key. */
static bool is_batch_file(const char *key, size_t prefix_len)
{
    const char *name = key + prefix_len;
    if (strchr(name, '/') || strncmp(name, "batch_", 6) != 0)
        return false;
    const char *p = name + 6;
    if (*p < '0' || *p > '9')
        return false;
    while (*p >= '0' && *p <= '9')
        p++;
    return strcmp(p, ".parquet") == 0;
}

/* ------------------------------------------------------------------ */
/* Reading the batch files */

static const struct pq_cells *column(struct pq_reader *r, const char *name,
                                     enum pq_type type, bool list,
                                     struct buf *err)
{
    int i = pq_reader_find(r, name);
    const struct pq_cells *c = NULL;
    if (i < 0) {
        buf_printf(err, "no column %s", name);
        return NULL;
    }
    const struct pq_column *pc = pq_reader_column(r, (size_t)i);
    if (pc->type != type || pc->list != list) {
        buf_printf(err, "column %s has an unexpected type", name);
        return NULL;
    }
    if (pq_reader_cells(r, (size_t)i, &c, err))
        return NULL;
    return c;
}

static int read_batch(struct report *rp, const char *key, const void *data,
                      size_t len, struct buf *err)
{
    struct pq_reader *r = NULL;
    int rc = pq_reader_open(data, len, &r, err);
    if (rc)
        return rc;
    const struct pq_cells *file_id =
        column(r, "file_id", PQ_STRING, false, err);
    const struct pq_cells *source_key =
        file_id ? column(r, "source_key", PQ_STRING, false, err) : NULL;
    const struct pq_cells *status =
        source_key ? column(r, "status", PQ_STRING, false, err) : NULL;
    const struct pq_cells *error_type =
        status ? column(r, "error_type", PQ_STRING, false, err) : NULL;
    const struct pq_cells *error =
        error_type ? column(r, "error", PQ_STRING, false, err) : NULL;
    const struct pq_cells *images =
        error ? column(r, "image_keys", PQ_STRING, true, err) : NULL;
    if (!images) {
        pq_reader_free(r);
        return ETL_EINVAL;
    }
    rc = add_run_id(rp, pq_reader_kv(r, "bpecg.run_id"));
    struct buf region = BUF_INIT;
    for (size_t i = 0; !rc && i < file_id->nrows; i++) {
        if (rp->n == rp->cap) {
            size_t cap = rp->cap ? 2 * rp->cap : 256;
            struct row *rows = realloc(rp->rows, cap * sizeof(*rows));
            if (!rows) {
                rc = ETL_ENOMEM;
                break;
            }
            rp->rows = rows;
            rp->cap = cap;
        }
        struct row *w = &rp->rows[rp->n++];
        memset(w, 0, sizeof(*w));
        w->file_id = dup_or_null(&file_id->row[i]);
        w->source_key = dup_or_null(&source_key->row[i]);
        w->status = dup_or_null(&status->row[i]);
        w->error_type = dup_or_null(&error_type->row[i]);
        w->error = dup_or_null(&error->row[i]);
        if (!w->file_id || !w->source_key || !w->status) {
            rc = ETL_ENOMEM;
            break;
        }
        size_t n =
            images->row[i].null ? 0 : images->first[i + 1] - images->first[i];
        /* One slot per region seen so far or added by this row. */
        for (size_t k = 0; !rc && k < n; k++) {
            const struct pq_value *v = &images->elem[images->first[i] + k];
            size_t at;
            rc = region_of(v->s, &region);
            if (!rc)
                rc = add_region(rp, region.data, &at);
            if (rc)
                break;
            if (at >= w->nimages) {
                char **im = realloc(w->images, (at + 1) * sizeof(*im));
                if (!im) {
                    rc = ETL_ENOMEM;
                    break;
                }
                for (size_t j = w->nimages; j <= at; j++)
                    im[j] = NULL;
                w->images = im;
                w->nimages = at + 1;
            }
            free(w->images[at]);
            w->images[at] = strndup(v->s, v->len);
            if (!w->images[at])
                rc = ETL_ENOMEM;
        }
    }
    buf_release(&region);
    pq_reader_free(r);
    (void)key;
    rp->files++;
    return rc;
}

/* ------------------------------------------------------------------ */
/* Links */

/* Percent-encode a path: every byte but A-Z a-z 0-9 - . _ ~ and '/'. */
static int url_path(struct buf *out, const char *p)
{
    static const char hex[] = "0123456789ABCDEF";
    int rc = 0;
    for (const unsigned char *s = (const unsigned char *)p; !rc && *s; s++) {
        unsigned char c = *s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
            c == '~' || c == '/')
            rc = buf_addch(out, c);
        else
            rc = buf_printf(out, "%%%c%c", hex[c >> 4], hex[c & 15]);
    }
    return rc;
}

/* The relative path from directory from_dir to path to, both absolute
 * ('/'-separated, no "." or ".." segments). */
static int relative(const char *from_dir, const char *to, struct buf *out)
{
    /* Longest common run of whole segments. */
    size_t i = 0, common = 0;
    for (;; i++) {
        char a = from_dir[i], b = to[i];
        if ((a == '/' || a == '\0') && b == '/')
            common = i;
        if (a == '\0' || b == '\0' || a != b)
            break;
    }
    if (from_dir[i] == '\0' && to[i] == '/')
        common = i;
    int rc = 0;
    for (const char *p = from_dir + common; !rc && *p; p++)
        if (*p == '/' && p[1] != '\0')
            rc = buf_addstr(out, "../");
    const char *rest = to + common;
    while (*rest == '/')
        rest++;
    return rc ? rc : buf_addstr(out, rest);
}

static int base64(struct buf *out, const unsigned char *p, size_t n)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    int rc = buf_grow(out, (n + 2) / 3 * 4);
    for (size_t i = 0; !rc && i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        char q[4] = {tab[(v >> 18) & 63], tab[(v >> 12) & 63],
                     i + 1 < n ? tab[(v >> 6) & 63] : '=',
                     i + 2 < n ? tab[v & 63] : '='};
        rc = buf_add(out, q, 4);
    }
    return rc;
}

enum link_mode { LINK_RELATIVE, LINK_INLINE };

struct linker {
    enum link_mode mode;
    struct store *st;
    const char *from_dir; /* absolute directory of the page */
    const char *root_dir; /* absolute directory of the store root ("" for
                             keys as paths under from_dir's store) */
    struct buf tmp, img;
};

/* The src of an image: a relative URL or a data: URI. */
static int image_src(struct linker *l, const char *key, struct buf *out)
{
    buf_reset(out);
    if (l->mode == LINK_INLINE) {
        int rc = store_get(l->st, key, IMAGE_MAX, &l->img, NULL);
        if (rc)
            return rc;
        rc = buf_addstr(out, "data:image/jpeg;base64,");
        return rc ? rc
                  : base64(out, (const unsigned char *)l->img.data, l->img.len);
    }
    buf_reset(&l->tmp);
    int rc = buf_printf(&l->tmp, "%s/%s", l->root_dir, key);
    struct buf rel = BUF_INIT;
    if (!rc)
        rc = relative(l->from_dir, l->tmp.data, &rel);
    if (!rc)
        rc = url_path(out, rel.data);
    buf_release(&rel);
    return rc;
}

/* ------------------------------------------------------------------ */
/* The page */

static int html_escape(struct buf *out, const char *s)
{
    int rc = 0;
    for (; !rc && *s; s++) {
        switch (*s) {
        case '&':
            rc = buf_addstr(out, "&amp;");
            break;
        case '<':
            rc = buf_addstr(out, "&lt;");
            break;
        case '>':
            rc = buf_addstr(out, "&gt;");
            break;
        case '"':
            rc = buf_addstr(out, "&quot;");
            break;
        case '\'':
            rc = buf_addstr(out, "&#39;");
            break;
        default:
            rc = buf_addch(out, *s);
        }
    }
    return rc;
}

static json_t *jstr(const char *s)
{
    if (!s)
        return json_null();
    json_t *j = json_string(s);
    return j ? j : json_string("(not valid UTF-8)");
}

/* A string cut to at most max bytes, at a UTF-8 boundary. */
static json_t *jstr_cut(const char *s, size_t max)
{
    if (!s || strlen(s) <= max)
        return jstr(s);
    size_t n = max;
    while (n && ((unsigned char)s[n] & 0xc0) == 0x80)
        n--;
    struct buf b = BUF_INIT;
    buf_add(&b, s, n);
    buf_addstr(&b, "\xe2\x80\xa6");
    json_t *j = jstr(b.data);
    buf_release(&b);
    return j;
}

struct count {
    const char *name;
    size_t n;
};

static int count_cmp(const void *a, const void *b)
{
    const struct count *x = a, *y = b;
    if (x->n != y->n)
        return x->n < y->n ? 1 : -1;
    return strcmp(x->name, y->name);
}

static void add_count(struct count *c, size_t *n, const char *name)
{
    for (size_t i = 0; i < *n; i++) {
        if (strcmp(c[i].name, name) == 0) {
            c[i].n++;
            return;
        }
    }
    c[*n].name = name;
    c[*n].n = 1;
    (*n)++;
}

static const char css[] =
    "body{font:14px/1.4 system-ui,-apple-system,'Segoe "
    "UI',sans-serif;margin:1.5em;color:#1d1d1f;background:#fafafa}"
    "h1{font-size:1.5em;margin:0 0 .2em}h2{font-size:1.15em;margin:1.6em 0 "
    ".5em}"
    ".meta{color:#555}code{font-size:.95em}"
    "table{border-collapse:collapse;background:#fff}"
    "th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;"
    "vertical-align:top}"
    "th{background:#f0f0f0;position:sticky;top:0}"
    ".totals{display:inline-table;margin:0 2em 1em 0}"
    ".totals td.n{text-align:right;font-variant-numeric:tabular-nums}"
    ".st{display:inline-block;padding:0 6px;border-radius:8px;font-size:."
    "85em}"
    ".st-success{background:#d7f5dd;color:#0b5d1e}"
    ".st-partial{background:#fff1c2;color:#6b4e00}"
    ".st-failed{background:#fbd3d0;color:#8a1c12}"
    "#problems-table td.err{max-width:60em;white-space:pre-wrap;"
    "word-break:break-word}"
    "#sheet-table td{padding:2px;text-align:center}"
    "#sheet-table td.name{text-align:left;padding:4px 8px;max-width:18em;"
    "word-break:break-all}"
    "#sheet-table img{display:block;height:120px;width:auto;min-width:40px;"
    "background:#eee}"
    "#sheet-table td.missing{color:#999;background:#f6f6f6}"
    ".pager{margin:.5em 0}.pager button{margin-right:.5em}"
    ".pager span{margin-right:1em}";

/* Builds the rows of both tables from the embedded JSON, one page at a
 * time; every value goes in through textContent or an attribute. */
static const char script[] =
    "(function(){\n"
    "'use strict';\n"
    "var data=JSON.parse(document.getElementById('report-data')."
    "textContent);\n"
    "function el(tag,cls,text){var e=document.createElement(tag);"
    "if(cls)e.className=cls;if(text!=null)e.textContent=text;return e;}\n"
    "function badge(s){return el('span','st st-'+s,s);}\n"
    "function pager(box,tbody,items,render){\n"
    "  var page=0,size=data.pageSize;\n"
    "  var prev=el('button',null,'\\u2190 previous'),next=el('button',null,"
    "'next \\u2192'),info=el('span');\n"
    "  prev.type=next.type='button';\n"
    "  box.appendChild(prev);box.appendChild(info);box.appendChild(next);\n"
    "  function show(){\n"
    "    var pages=Math.max(1,Math.ceil(items.length/size));\n"
    "    if(page>=pages)page=pages-1;\n"
    "    var from=page*size,to=Math.min(items.length,from+size);\n"
    "    while(tbody.firstChild)tbody.removeChild(tbody.firstChild);\n"
    "    for(var i=from;i<to;i++)tbody.appendChild(render(items[i]));\n"
    "    info.textContent='page '+(page+1)+' of '+pages+' ('+"
    "(items.length?from+1:0)+'\\u2013'+to+' of '+items.length+')';\n"
    "    prev.disabled=page===0;next.disabled=page>=pages-1;\n"
    "  }\n"
    "  prev.onclick=function(){page--;show();};\n"
    "  next.onclick=function(){page++;show();};\n"
    "  return {show:show,set:function(list){items=list;page=0;show();}};\n"
    "}\n"
    "var problems=data.rows.filter(function(r){return r[2]!=='success';});\n"
    "pager(document.getElementById('problems-pager'),document."
    "querySelector('#problems-table tbody'),problems,function(r){\n"
    "  var tr=el('tr');tr.appendChild(el('td',null,r[1]));\n"
    "  var s=el('td');s.appendChild(badge(r[2]));tr.appendChild(s);\n"
    "  tr.appendChild(el('td',null,r[3]==null?'':r[3]));\n"
    "  tr.appendChild(el('td','err',r[4]==null?'':r[4]));return tr;\n"
    "}).show();\n"
    "var head=document.querySelector('#sheet-table thead tr');\n"
    "data.regions.forEach(function(g){head.appendChild(el('th',null,g));});"
    "\n"
    "var sheet=pager(document.getElementById('sheet-pager'),document."
    "querySelector('#sheet-table tbody'),data.rows,function(r){\n"
    "  var tr=el('tr'),name=el('td','name');\n"
    "  name.appendChild(el('div',null,r[0]));name.appendChild(badge(r[2]));"
    "\n"
    "  tr.appendChild(name);\n"
    "  for(var i=0;i<data.regions.length;i++){\n"
    "    var src=r[5][i],td;\n"
    "    if(src){td=el('td');var im=el('img');im.loading='lazy';"
    "im.decoding='async';\n"
    "      im.alt=data.regions[i]+' of '+r[0];im.title=im.alt;im.src=src;"
    "td.appendChild(im);}\n"
    "    else td=el('td','missing','\\u2014');\n"
    "    tr.appendChild(td);\n"
    "  }\n"
    "  return tr;\n"
    "});\n"
    "sheet.show();\n"
    "var filter=document.getElementById('sheet-filter');\n"
    "filter.onchange=function(){var v=filter.value;sheet.set(v==='all'?"
    "data.rows:data.rows.filter(function(r){return r[2]===v;}));};\n"
    "})();\n";

static int build_page(struct report *rp, struct linker *lk,
                      const char *dest_name, int page_size, struct buf *html,
                      struct buf *err)
{
    int rc = 0;
    struct buf src = BUF_INIT, js = BUF_INIT;
    json_t *root = json_object(), *rows = json_array(), *regions = json_array();
    struct count *st = calloc(rp->n + 1, sizeof(*st));
    struct count *et = calloc(rp->n + 1, sizeof(*et));
    size_t nst = 0, net = 0;
    if (!root || !rows || !regions || !st || !et) {
        rc = ETL_ENOMEM;
        goto out;
    }
    json_object_set_new(root, "pageSize", json_integer(page_size));
    for (size_t i = 0; i < rp->nregions; i++)
        json_array_append_new(regions, jstr(rp->regions[i]));
    json_object_set(root, "regions", regions);
    for (size_t i = 0; !rc && i < rp->n; i++) {
        const struct row *r = &rp->rows[i];
        add_count(st, &nst, r->status);
        if (r->error_type)
            add_count(et, &net, r->error_type);
        json_t *imgs = json_array();
        for (size_t k = 0; imgs && k < rp->nregions; k++) {
            const char *key = k < r->nimages ? r->images[k] : NULL;
            if (!key) {
                json_array_append_new(imgs, json_null());
                continue;
            }
            int irc = image_src(lk, key, &src);
            if (irc == ETL_ENOMEM) {
                rc = irc;
                break;
            }
            /* A crop that cannot be read shows as missing. */
            json_array_append_new(imgs, irc ? json_null() : jstr(src.data));
        }
        json_t *row =
            json_pack("[o,o,o,o,o,o]", jstr(r->file_id), jstr(r->source_key),
                      jstr(r->status), jstr(r->error_type),
                      jstr_cut(r->error, ERROR_SHOWN_MAX), imgs);
        if (!row || json_array_append_new(rows, row))
            rc = ETL_ENOMEM;
    }
    if (rc)
        goto out;
    json_object_set(root, "rows", rows);
    char *dumped = json_dumps(root, JSON_COMPACT);
    if (!dumped) {
        rc = ETL_ENOMEM;
        goto out;
    }
    /* '<' only occurs inside JSON strings: as \u003c it can never close
     * the script element or open a comment in it. */
    for (const char *p = dumped; !rc && *p; p++)
        rc = *p == '<' ? buf_addstr(&js, "\\u003c") : buf_addch(&js, *p);
    free(dumped);
    if (rc)
        goto out;
    qsort(st, nst, sizeof(*st), count_cmp);
    qsort(et, net, sizeof(*et), count_cmp);

    char when[40];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
    size_t problems = 0;
    for (size_t i = 0; i < nst; i++)
        if (strcmp(st[i].name, "success") != 0)
            problems += st[i].n;

    buf_addstr(html, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
                     "<meta charset=\"utf-8\">\n"
                     "<meta name=\"viewport\" content=\"width=device-width, "
                     "initial-scale=1\">\n"
                     "<link rel=\"icon\" href=\"data:,\">\n<title>bpecg-etl "
                     "report: ");
    html_escape(html, dest_name);
    buf_printf(html, "</title>\n<style>%s</style>\n</head>\n<body>\n", css);
    buf_addstr(html, "<h1>bpecg-etl results</h1>\n<p class=\"meta\">"
                     "Destination <code>");
    html_escape(html, dest_name);
    buf_printf(html, "</code> &middot; %zu PDFs in %zu batch file%s", rp->n,
               rp->files, rp->files == 1 ? "" : "s");
    if (rp->nrun_ids) {
        buf_addstr(html, " &middot; run ");
        for (size_t i = 0; i < rp->nrun_ids && i < RUN_IDS_SHOWN; i++) {
            buf_addstr(html, i ? ", <code>" : "<code>");
            html_escape(html, rp->run_ids[i]);
            buf_addstr(html, "</code>");
        }
        if (rp->nrun_ids > RUN_IDS_SHOWN)
            buf_printf(html, " and %zu more", rp->nrun_ids - RUN_IDS_SHOWN);
    }
    buf_printf(html, " &middot; generated %s</p>\n", when);
    if (rp->skipped.len) {
        buf_addstr(html, "<p class=\"skipped\"><strong>Not read:</strong></p>"
                         "<pre class=\"skipped\">");
        html_escape(html, rp->skipped.data);
        buf_addstr(html, "</pre>\n");
    }

    buf_addstr(html, "<section id=\"totals\">\n<h2>Totals</h2>\n"
                     "<table class=\"totals\" id=\"status-totals\"><thead>"
                     "<tr><th>status</th><th>PDFs</th></tr></thead><tbody>");
    for (size_t i = 0; i < nst; i++) {
        buf_addstr(html, "<tr><td><span class=\"st st-");
        html_escape(html, st[i].name);
        buf_addstr(html, "\">");
        html_escape(html, st[i].name);
        buf_printf(html, "</span></td><td class=\"n\">%zu</td></tr>", st[i].n);
    }
    buf_printf(html, "<tr><th>total</th><td class=\"n\">%zu</td></tr>", rp->n);
    buf_addstr(html, "</tbody></table>\n<table class=\"totals\" "
                     "id=\"error-totals\"><thead><tr><th>error_type</th>"
                     "<th>PDFs</th></tr></thead><tbody>");
    for (size_t i = 0; i < net; i++) {
        buf_addstr(html, "<tr><td><code>");
        html_escape(html, et[i].name);
        buf_printf(html, "</code></td><td class=\"n\">%zu</td></tr>", et[i].n);
    }
    if (!net)
        buf_addstr(html, "<tr><td colspan=\"2\">none</td></tr>");
    buf_addstr(html, "</tbody></table>\n</section>\n");

    buf_printf(html,
               "<section id=\"problems\">\n<h2>Failed and partial PDFs "
               "(%zu)</h2>\n<div class=\"pager\" id=\"problems-pager\">"
               "</div>\n<table id=\"problems-table\"><thead><tr>"
               "<th>source_key</th><th>status</th><th>error_type</th>"
               "<th>error</th></tr></thead><tbody></tbody></table>\n"
               "</section>\n",
               problems);
    buf_printf(html,
               "<section id=\"sheet\">\n<h2>Contact sheet</h2>\n<p>One row "
               "per PDF, one column per crop region (%zu), in listing "
               "order; a dash marks a crop that was not written.</p>\n"
               "<label>show <select id=\"sheet-filter\"><option "
               "value=\"all\">all</option><option value=\"success\">"
               "success</option><option value=\"partial\">partial</option>"
               "<option value=\"failed\">failed</option></select></label>\n"
               "<div class=\"pager\" id=\"sheet-pager\"></div>\n"
               "<table id=\"sheet-table\"><thead><tr><th>PDF</th></tr>"
               "</thead><tbody></tbody></table>\n</section>\n",
               rp->nregions);
    buf_addstr(html, "<script type=\"application/json\" id=\"report-data\">");
    buf_add(html, js.data, js.len);
    buf_printf(html, "</script>\n<script>\n%s</script>\n</body>\n</html>\n",
               script);
out:
    if (rc == ETL_ENOMEM)
        buf_addstr(err, "out of memory");
    free(st);
    free(et);
    json_decref(rows);
    json_decref(regions);
    json_decref(root);
    buf_release(&src);
    buf_release(&js);
    return rc;
}

/* ------------------------------------------------------------------ */

/* Where DEST_BUCKET points: a URL, a directory, or a bucket name. */
static int dest_url(const struct etl_config *cfg, struct buf *url)
{
    struct stat st;
    const char *b = cfg->dest_bucket;
    if (cfg->dest_is_url || strstr(b, "://") || strchr(b, '/') ||
        (stat(b, &st) == 0 && S_ISDIR(st.st_mode)))
        return buf_addstr(url, b);
    return buf_printf(url, "s3://%s/", b);
}

static int write_file(const char *path, const void *data, size_t len)
{
    struct buf tmp = BUF_INIT;
    buf_printf(&tmp, "%s.tmp.%d", path, getpid());
    FILE *f = fopen(tmp.data, "wb");
    bool ok = f && fwrite(data, 1, len, f) == len;
    if (f && fclose(f) != 0)
        ok = false;
    if (ok && rename(tmp.data, path) != 0)
        ok = false;
    int e = errno;
    if (!ok)
        unlink(tmp.data);
    buf_release(&tmp);
    errno = e;
    return ok ? 0 : ETL_EIO;
}

/* The absolute directory of a local output file (which may not exist
 * yet; its directory must). */
static char *out_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    struct buf dir = BUF_INIT;
    if (!slash)
        buf_addstr(&dir, ".");
    else if (slash == path)
        buf_addstr(&dir, "/");
    else
        buf_add(&dir, path, (size_t)(slash - path));
    char *abs = realpath(dir.data, NULL);
    buf_release(&dir);
    return abs;
}

int cmd_report(int argc, char **argv)
{
    struct etl_config cfg;
    struct buf err = BUF_INIT, url = BUF_INIT, meta = BUF_INIT, data = BUF_INIT,
               html = BUF_INIT, key = BUF_INIT;
    struct report rp = {0};
    struct linker lk = {0};
    struct store *st = NULL;
    char *prefix = NULL, *from_dir = NULL, *root_dir = NULL;
    const char *out = NULL;
    long page_size = 100;
    bool inline_images = false, cfg_loaded = false;
    int status = EXIT_USAGE, rc;
    char **fwd = calloc((size_t)argc + 1, sizeof(char *));
    int nfwd = 0;
    memset(&cfg, 0, sizeof(cfg));
    buf_init(&lk.tmp, 0);
    buf_init(&lk.img, 0);
    if (!fwd)
        return EXIT_RUN_ERROR;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            print_help();
            status = EXIT_OK;
            goto out;
        }
        if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "bpecg-etl report: %s needs a file\n", a);
                goto out;
            }
            out = argv[++i];
        } else if (strncmp(a, "--output=", 9) == 0) {
            out = a + 9;
        } else if (strcmp(a, "--inline-images") == 0) {
            inline_images = true;
        } else if (strcmp(a, "--page-size") == 0 ||
                   strncmp(a, "--page-size=", 12) == 0) {
            const char *v = a[11] == '='   ? a + 12
                            : i + 1 < argc ? argv[++i]
                                           : "";
            char *end;
            errno = 0;
            page_size = strtol(v, &end, 10);
            if (errno || end == v || *end || page_size < 1 ||
                page_size > 10000) {
                fprintf(stderr,
                        "bpecg-etl report: --page-size=%s: must be an "
                        "integer from 1 to 10000\n",
                        v);
                goto out;
            }
        } else if (strncmp(a, "--", 2) == 0 && a[2]) {
            fwd[nfwd++] = argv[i];
            if (!strchr(a, '=') && strcmp(a, "--progress") != 0 &&
                strcmp(a, "--no-progress") != 0 && i + 1 < argc)
                fwd[nfwd++] = argv[++i];
        } else {
            fprintf(stderr, "bpecg-etl report: unexpected argument '%s'\n", a);
            goto out;
        }
    }
    rc = cfg_load(&cfg, nfwd, fwd, &err);
    cfg_loaded = true;
    if (rc) {
        fprintf(stderr, "bpecg-etl report: %s\n", err.data);
        goto out;
    }
    log_init(cfg.log_level, cfg.log_format, 2);
    if (!cfg.dest_bucket) {
        fprintf(stderr, "bpecg-etl report: give --dest URL (or "
                        "DEST_BUCKET)\ntry 'bpecg-etl report --help'\n");
        goto out;
    }
    status = EXIT_RUN_ERROR;
    rc = dest_url(&cfg, &url);
    store_allow_http(cfg.allow_http);
    if (!rc)
        rc = store_open(url.data, true, &st, &prefix);
    if (rc) {
        const char *d = store_last_error();
        fprintf(stderr, "bpecg-etl report: destination %s: %s%s%s%s\n",
                url.data, etl_strerror(rc), *d ? " (" : "", d, *d ? ")" : "");
        if (rc == ETL_EINVAL || rc == ETL_ENOTSUP)
            status = EXIT_USAGE;
        goto out;
    }
    struct retry_policy retry = {cfg.retry_max_attempts, cfg.retry_initial_wait,
                                 cfg.retry_max_wait};
    store_set_retry(st, &retry);
    buf_printf(&meta, "%s%s", prefix, cfg.metadata_prefix);

    /* Every batch file, in listing order. */
    char *after = NULL;
    for (;;) {
        struct store_listing l = {0};
        rc = store_list(st, meta.data, after, 1000, &l);
        if (rc) {
            fprintf(stderr, "bpecg-etl report: listing %s%s: %s\n",
                    store_name(st), meta.data, etl_strerror(rc));
            free(after);
            goto out;
        }
        for (size_t i = 0; i < l.n; i++) {
            const char *k = l.items[i].key;
            if (!is_batch_file(k, meta.len))
                continue;
            buf_reset(&err);
            rc = store_get(st, k, PARQUET_MAX, &data, NULL);
            if (!rc)
                rc = read_batch(&rp, k, data.data, data.len, &err);
            if (rc == ETL_ENOMEM) {
                fprintf(stderr, "bpecg-etl report: out of memory\n");
                store_listing_release(&l);
                free(after);
                goto out;
            }
            if (rc) {
                const char *why = err.len ? err.data : etl_strerror(rc);
                fprintf(stderr, "bpecg-etl report: %s: %s\n", k, why);
                buf_printf(&rp.skipped, "%s: %s\n", k, why);
            }
        }
        free(after);
        after = l.cursor ? strdup(l.cursor) : NULL;
        bool more = l.truncated && after;
        store_listing_release(&l);
        if (!more)
            break;
    }
    free(after);
    if (!rp.files) {
        fprintf(stderr,
                "bpecg-etl report: no batch_*.parquet results under "
                "%s%s\n",
                store_name(st), meta.data);
        goto out;
    }

    /* Links: relative from the page's directory, or inline. */
    bool local = strncmp(store_name(st), "file://", 7) == 0;
    lk.st = st;
    if (out) {
        from_dir = out_dir(out);
        if (!from_dir) {
            char eb[128];
            fprintf(stderr, "bpecg-etl report: %s: %s\n", out,
                    strerror_r(errno, eb, sizeof(eb)));
            goto out;
        }
        root_dir = strdup(local ? store_name(st) + 7 : "");
        lk.mode = inline_images || !local ? LINK_INLINE : LINK_RELATIVE;
    } else {
        /* The page goes into the store: keys are paths under its root. */
        buf_printf(&key, "/%s", prefix);
        if (key.len > 1)
            buf_truncate(&key, key.len - 1); /* the prefix's own '/' */
        from_dir = strdup(key.data);
        root_dir = strdup("");
        lk.mode = inline_images ? LINK_INLINE : LINK_RELATIVE;
    }
    if (!from_dir || !root_dir)
        goto out;
    lk.from_dir = from_dir;
    lk.root_dir = root_dir;

    buf_reset(&err);
    struct buf dest_name = BUF_INIT;
    buf_printf(&dest_name, "%s%s%s", store_name(st),
               store_name(st)[strlen(store_name(st)) - 1] == '/' ? "" : "/",
               prefix);
    rc = build_page(&rp, &lk, dest_name.data, (int)page_size, &html, &err);
    buf_release(&dest_name);
    if (rc) {
        fprintf(stderr, "bpecg-etl report: %s\n", err.data);
        goto out;
    }
    if (out) {
        rc = write_file(out, html.data, html.len);
        if (rc) {
            char eb[128];
            fprintf(stderr, "bpecg-etl report: %s: %s\n", out,
                    strerror_r(errno, eb, sizeof(eb)));
            goto out;
        }
        printf("%s: %zu PDFs from %zu batch file%s\n", out, rp.n, rp.files,
               rp.files == 1 ? "" : "s");
    } else {
        buf_reset(&key);
        buf_printf(&key, "%sreport.html", prefix);
        rc = store_put(st, key.data, html.data, html.len,
                       "text/html; charset=utf-8", 0);
        if (rc) {
            fprintf(stderr, "bpecg-etl report: writing %s: %s\n", key.data,
                    etl_strerror(rc));
            goto out;
        }
        const char *name = store_name(st);
        printf("%s%s%s: %zu PDFs from %zu batch file%s\n", name,
               name[strlen(name) - 1] == '/' ? "" : "/", key.data, rp.n,
               rp.files, rp.files == 1 ? "" : "s");
    }
    status = rp.skipped.len ? EXIT_FAILED_ROWS : EXIT_OK;
out:
    free(fwd);
    free(prefix);
    free(from_dir);
    free(root_dir);
    store_free(st);
    report_release(&rp);
    if (cfg_loaded)
        cfg_release(&cfg);
    buf_release(&lk.tmp);
    buf_release(&lk.img);
    buf_release(&err);
    buf_release(&url);
    buf_release(&meta);
    buf_release(&data);
    buf_release(&html);
    buf_release(&key);
    return status;
}
