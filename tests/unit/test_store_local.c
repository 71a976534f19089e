/* The local-directory store (src/store/local.c): listing order and paging,
 * symlink confinement, atomic and concurrent puts, get limits.
 *
 * Every test that resolves keys runs twice: with openat2 (when the kernel
 * has it) and with the portable component-by-component walk. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "harness.h"
#include "store/storage.h"
#include "store/store_int.h"

static char base_dir[PATH_MAX]; /* mkdtemp; holds root/ and outside/ */
static char root_dir[PATH_MAX + 8];
static char outside_dir[PATH_MAX + 16];
static bool use_walk; /* the second round forces the component walk */

static void die(const char *what)
{
    perror(what);
    exit(2);
}

static void pathf(char *out, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void pathf(char *out, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vsnprintf(out, n, fmt, ap);
    va_end(ap);
    if (r < 0 || (size_t)r >= n)
        die("path too long");
}

static void mkdirs(const char *abs)
{
    char p[PATH_MAX];
    pathf(p, sizeof(p), "%s", abs);
    for (char *s = p + 1; *s; s++) {
        if (*s == '/') {
            *s = '\0';
            if (mkdir(p, 0755) < 0 && errno != EEXIST)
                die(p);
            *s = '/';
        }
    }
    if (mkdir(p, 0755) < 0 && errno != EEXIST)
        die(p);
}

static void write_abs(const char *abs, const void *data, size_t n)
{
    char dir[PATH_MAX];
    pathf(dir, sizeof(dir), "%s", abs);
    *strrchr(dir, '/') = '\0';
    mkdirs(dir);
    int fd = open(abs, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, data, n) != (ssize_t)n || close(fd) < 0)
        die(abs);
}

/* Write a file at a key of the root with the key itself as content. */
static void write_key(const char *key)
{
    char abs[PATH_MAX];
    pathf(abs, sizeof(abs), "%s/%s", root_dir, key);
    write_abs(abs, key, strlen(key));
}

static void symlink_at(const char *target, const char *rel)
{
    char abs[PATH_MAX];
    pathf(abs, sizeof(abs), "%s/%s", root_dir, rel);
    if (symlink(target, abs) < 0)
        die(abs);
}

/* The file's bytes (malloc'd, NUL-terminated) or NULL. */
static char *read_abs(const char *abs, size_t *n)
{
    struct buf b = BUF_INIT;
    char chunk[4096];
    int fd = open(abs, O_RDONLY);
    if (fd < 0)
        return NULL;
    for (;;) {
        ssize_t r = read(fd, chunk, sizeof(chunk));
        if (r <= 0)
            break;
        buf_add(&b, chunk, (size_t)r);
    }
    close(fd);
    return buf_detach(&b, n);
}

static int rm_entry(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

static int temp_count;
static int count_temp(const char *path, const struct stat *st, int flag,
                      struct FTW *ftw)
{
    (void)st;
    (void)flag;
    if (strncmp(path + ftw->base, ".bpecg-tmp-", 11) == 0)
        temp_count++;
    return 0;
}

/* Temp files left anywhere under the root. */
static int temps_left(void)
{
    temp_count = 0;
    nftw(root_dir, count_temp, 16, FTW_PHYS);
    return temp_count;
}

static void fresh_root(void)
{
    nftw(base_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    mkdirs(root_dir);
    mkdirs(outside_dir);
    char abs[PATH_MAX];
    pathf(abs, sizeof(abs), "%s/secret.txt", outside_dir);
    write_abs(abs, "outside", 7);
}

static struct store *open_root(void)
{
    struct store *s = NULL;
    char *prefix = NULL;
    if (store_open(root_dir, true, &s, &prefix) != 0)
        die("store_open");
    if (strcmp(prefix, "") != 0)
        die("prefix");
    free(prefix);
    if (use_walk)
        store_local_force_walk(s);
    return s;
}

/* ---- The listing tree ----------------------------------------------- */

/* Keys of the tree, in the byte order S3 would list them (every regular
 * file but the store's own temp files, whatever bytes its name has). The
 * traps:
 * '!' < '-' < '.' < '/' < '0', so "a.b" comes before "a/x" and "a0" after
 * it; "b/c.pdf" before "b/c/d.pdf"; upper case before lower case; UTF-8
 * after ASCII. */
static const char *const tree_keys[] = {
    " lead.pdf",
    "Z",
    "a!",
    "a-",
    "a.b",
    "a/x",
    "a/y.z",
    "a/y/w/deeper.pdf",
    "a/y/z",
    "a0",
    "ab",
    "b/c.pdf",
    "b/c/d.pdf",
    "b/c/d/.bpecg-tmp-x", /* not one of ours: an object like any other */
    "b/c/d/e.pdf",
    "b/c/d/f/g/h.pdf",
    "back\\slash.pdf", /* names a listing must not drop (issue 15) */
    "ctl\x01.pdf",
    "del\x7f.pdf",
    "n/m/o.pdf",
    "x y+z=&%.pdf",
    "z",
    "~",
    "\xc3\xa9.pdf",                                          /* é.pdf */
    "\xe6\x97\xa5\xe6\x9c\xac/\xe5\xbf\x83\xe9\x9b\xbb.pdf", /* 日本/心電.pdf */
};
#define NKEYS (sizeof(tree_keys) / sizeof(tree_keys[0]))

/* The tree plus entries that are not objects and must never be listed. */
static void make_tree(void)
{
    char abs[PATH_MAX];
    fresh_root();
    /* Create in reverse so creation order does not match byte order. */
    for (size_t i = NKEYS; i-- > 0;)
        write_key(tree_keys[i]);
    pathf(abs, sizeof(abs), "%s/secret.txt", outside_dir);
    symlink_at(abs, "link-out");
    symlink_at(outside_dir, "a/link-dir");
    symlink_at("../a-", "a/link-in");
    symlink_at("d", "b/c/link-sub");
    symlink_at("../a-", "a/y/z-link");
    pathf(abs, sizeof(abs), "%s/b/fifo", root_dir);
    if (mkfifo(abs, 0644) < 0)
        die("mkfifo");
    write_key("a/.bpecg-tmp-0123456789abcdef"); /* an in-flight temp file */
    pathf(abs, sizeof(abs), "%s/empty", root_dir);
    mkdirs(abs);
    pathf(abs, sizeof(abs), "%s/deep/er/est", root_dir);
    mkdirs(abs);
    pathf(abs, sizeof(abs), "%s/only-links", root_dir);
    mkdirs(abs);
    symlink_at("../a-", "only-links/l");
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The oracle: keys of the tree sorted with strcmp (byte order). */
static void sorted_keys(const char **out)
{
    memcpy(out, tree_keys, sizeof(tree_keys));
    qsort(out, NKEYS, sizeof(*out), cmp_str);
}

/* Compare a listing with the oracle's keys > start_after under prefix. */
static void check_listing(const struct store_listing *l, const char **keys,
                          size_t nkeys, const char *prefix,
                          const char *start_after, const char *label)
{
    size_t j = 0;
    bool bad = false;
    for (size_t i = 0; i < nkeys; i++) {
        if (prefix && strncmp(keys[i], prefix, strlen(prefix)) != 0)
            continue;
        if (start_after && strcmp(keys[i], start_after) <= 0)
            continue;
        if (j >= l->n || strcmp(l->items[j].key, keys[i]) != 0) {
            bad = true;
            break;
        }
        j++;
    }
    if (bad || j != l->n) {
        HARNESS_FAIL("%s: listing (prefix \"%s\", start_after \"%s\") "
                     "differs from the oracle",
                     label, prefix ? prefix : "",
                     start_after ? start_after : "");
        for (size_t i = 0; i < l->n; i++)
            fprintf(stderr, "  got [%zu] \"%s\"\n", i, l->items[i].key);
    }
}

TEST(list_full_tree_in_byte_order)
{
    const char *oracle[NKEYS];
    struct store_listing l;
    struct store *s;
    make_tree();
    s = open_root();
    sorted_keys(oracle);
    /* The hand-written order above is byte order. */
    for (size_t i = 0; i < NKEYS; i++)
        CHECK_EQ_STR(oracle[i], tree_keys[i]);
    CHECK_EQ_INT(store_list(s, "", NULL, 1000, &l), 0);
    CHECK_EQ_INT(l.n, NKEYS);
    CHECK(!l.truncated);
    for (size_t i = 0; i < l.n && i < NKEYS; i++) {
        CHECK_EQ_STR(l.items[i].key, tree_keys[i]);
        /* Content is the key, so the size is its length. */
        CHECK_EQ_INT(l.items[i].size, strlen(tree_keys[i]));
        struct store_info info;
        CHECK_EQ_INT(store_head(s, l.items[i].key, &info), 0);
        CHECK_EQ_STR(l.items[i].etag, info.etag);
        CHECK_EQ_INT(info.size, l.items[i].size);
        char size_hex[32];
        snprintf(size_hex, sizeof(size_hex), "%llx-",
                 (unsigned long long)info.size);
        CHECK(strncmp(info.etag, size_hex, strlen(size_hex)) == 0);
    }
    store_listing_release(&l);
    CHECK(l.items == NULL && l.n == 0);
    store_free(s);
}

TEST(list_start_after_every_position)
{
    const char *oracle[NKEYS];
    struct store_listing l;
    struct store *s;
    make_tree();
    s = open_root();
    sorted_keys(oracle);
    for (size_t i = 0; i <= NKEYS; i++) {
        const char *sa = i == 0 ? NULL : oracle[i - 1];
        CHECK_EQ_INT(store_list(s, NULL, sa, 1000, &l), 0);
        CHECK_EQ_INT(l.n, NKEYS - i);
        check_listing(&l, oracle, NKEYS, NULL, sa, "every position");
        store_listing_release(&l);
    }
    /* Directory prefixes, names between keys, keys that do not exist. */
    static const char *const extra[] = {"",
                                        "a",
                                        "a/",
                                        "a/y",
                                        "a/y/",
                                        "a/y/w",
                                        "a/y/w/deeper",
                                        "a.",
                                        "a/",
                                        "a/x/",
                                        "a/xx",
                                        "b",
                                        "b/",
                                        "b/c",
                                        "b/c/",
                                        "b/c/d",
                                        "b/c/d/",
                                        "b/c/d/f/g/",
                                        "b/c/d/zz",
                                        "link-out",
                                        "n/m/o.pdf/x",
                                        "nope/zz",
                                        "\x7f",
                                        "zzzz",
                                        "\xc3\xa9",
                                        "\xe6\x97\xa5",
                                        "\xff"};
    for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
        CHECK_EQ_INT(store_list(s, NULL, extra[i], 1000, &l), 0);
        check_listing(&l, oracle, NKEYS, NULL, extra[i], "start_after");
        store_listing_release(&l);
    }
    store_free(s);
}

TEST(list_prefix)
{
    const char *oracle[NKEYS];
    struct store_listing l;
    struct store *s;
    make_tree();
    s = open_root();
    sorted_keys(oracle);
    static const char *const prefixes[] = {"",
                                           "a",
                                           "a/",
                                           "a/y",
                                           "a/y/",
                                           "a/y/w/",
                                           "b/c",
                                           "b/c/",
                                           "b/c/d",
                                           "b/c/d/",
                                           "b/c/d/f/g/h.pdf",
                                           "zz",
                                           "/a",
                                           "a//",
                                           "..",
                                           "./a",
                                           "\xe6\x97\xa5\xe6\x9c\xac/",
                                           "n/",
                                           "link-out",
                                           "a/link-dir/",
                                           "b/c/link-sub/",
                                           "only-links/",
                                           "empty/"};
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
        CHECK_EQ_INT(store_list(s, prefixes[i], NULL, 1000, &l), 0);
        check_listing(&l, oracle, NKEYS, prefixes[i], NULL, "prefix");
        store_listing_release(&l);
    }
    CHECK_EQ_INT(store_list(s, "a/", NULL, 1000, &l), 0);
    CHECK_EQ_INT(l.n, 4); /* a/x a/y.z a/y/w/deeper.pdf a/y/z */
    store_listing_release(&l);
    /* Prefix and start_after together. */
    static const char *const pairs[][2] = {{"a/", "a/x"},
                                           {"a/", "a"},
                                           {"a/", "b"},
                                           {"b/", "a"},
                                           {"b/c/", "b/c/d/"},
                                           {"a", "a/y"},
                                           {"b/c/d/", "b/c/d/e.pdf"}};
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        CHECK_EQ_INT(store_list(s, pairs[i][0], pairs[i][1], 1000, &l), 0);
        check_listing(&l, oracle, NKEYS, pairs[i][0], pairs[i][1],
                      "prefix+start_after");
        store_listing_release(&l);
    }
    store_free(s);
}

/* Page through with start_after = last key, like the batch loop does. */
static void page_through(struct store *s, const char *prefix, size_t page,
                         const char **oracle, size_t nkeys)
{
    char *last = NULL;
    size_t pages = 0, got = 0, want = 0;
    for (size_t i = 0; i < nkeys; i++)
        if (!prefix || strncmp(oracle[i], prefix, strlen(prefix)) == 0)
            want++;
    for (;;) {
        struct store_listing l;
        int rc = store_list(s, prefix, last, page, &l);
        CHECK_EQ_INT(rc, 0);
        if (rc)
            break;
        pages++;
        CHECK(l.n <= page);
        for (size_t i = 0; i < l.n; i++) {
            size_t at = got + i;
            /* Find the at-th oracle key under prefix. */
            size_t k = 0, idx = 0;
            for (; idx < nkeys; idx++) {
                if (prefix && strncmp(oracle[idx], prefix, strlen(prefix)) != 0)
                    continue;
                if (k++ == at)
                    break;
            }
            if (idx >= nkeys || strcmp(l.items[i].key, oracle[idx]) != 0)
                HARNESS_FAIL("page %zu (size %zu) item %zu: \"%s\"", pages,
                             page, i, l.items[i].key);
        }
        got += l.n;
        if (l.n) {
            free(last);
            last = strdup(l.items[l.n - 1].key);
        }
        bool more = l.truncated;
        /* Truncated exactly when keys remain. */
        CHECK_EQ_INT(more, got < want);
        store_listing_release(&l);
        if (!more || pages > want + 2)
            break;
    }
    CHECK_EQ_INT(got, want);
    CHECK_EQ_INT(pages, want == 0 ? 1 : (want + page - 1) / page);
    free(last);
}

/* store_list_suffix pages through the PDFs only, from cursor to cursor,
 * with the same keys as a filtered full listing. */
TEST(list_suffix_pages_by_cursor)
{
    const char *oracle[NKEYS];
    struct store *s;
    make_tree();
    s = open_root();
    sorted_keys(oracle);
    size_t want = 0;
    for (size_t i = 0; i < NKEYS; i++) {
        size_t n = strlen(oracle[i]);
        want += n >= 4 && strcasecmp(oracle[i] + n - 4, ".pdf") == 0;
    }
    for (size_t page = 1; page <= want + 1; page++) {
        char *after = NULL;
        size_t got = 0, k = 0;
        for (int calls = 0; calls < 100; calls++) {
            struct store_listing l;
            CHECK_EQ_INT(store_list_suffix(s, NULL, after, page, ".PDF", &l),
                         0);
            CHECK(l.n <= page);
            for (size_t i = 0; i < l.n; i++, got++) {
                /* The next PDF of the oracle. */
                while (k < NKEYS &&
                       (strlen(oracle[k]) < 4 ||
                        strcasecmp(oracle[k] + strlen(oracle[k]) - 4, ".pdf") !=
                            0))
                    k++;
                CHECK(k < NKEYS && strcmp(l.items[i].key, oracle[k]) == 0);
                k++;
            }
            bool more = l.truncated;
            CHECK(!more || l.cursor);
            free(after);
            after = l.cursor ? strdup(l.cursor) : NULL;
            store_listing_release(&l);
            if (!more)
                break;
        }
        CHECK_EQ_INT(got, want);
        free(after);
    }
    store_free(s);
}

TEST(list_paging_concatenates_to_full_listing)
{
    const char *oracle[NKEYS];
    struct store *s;
    make_tree();
    s = open_root();
    sorted_keys(oracle);
    static const size_t pages[] = {1, 2, 3, 4, 7, NKEYS - 1, NKEYS, NKEYS + 1};
    for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
        page_through(s, NULL, pages[i], oracle, NKEYS);
        page_through(s, "a/", pages[i], oracle, NKEYS);
        page_through(s, "b", pages[i], oracle, NKEYS);
    }
    /* max_keys 0: nothing returned, but truncated tells keys exist. */
    struct store_listing l;
    CHECK_EQ_INT(store_list(s, NULL, NULL, 0, &l), 0);
    CHECK_EQ_INT(l.n, 0);
    CHECK(l.truncated);
    store_listing_release(&l);
    CHECK_EQ_INT(store_list(s, "zz", NULL, 0, &l), 0);
    CHECK_EQ_INT(l.n, 0);
    CHECK(!l.truncated);
    store_listing_release(&l);
    store_free(s);
}

/* Many empty directories before the files: a directory's first batch of
 * kept entries yields no keys and it must read on. Plus a large flat
 * directory read in pages. */
TEST(list_empty_dirs_and_large_directory)
{
    char abs[PATH_MAX];
    char key[64];
    static const char *keys[3000 + 11];
    size_t nk = 0;
    fresh_root();
    for (int i = 0; i < 40; i++) {
        pathf(abs, sizeof(abs), "%s/r/d%02d/e", root_dir, i);
        mkdirs(abs);
    }
    for (int i = 0; i < 10; i++) {
        snprintf(key, sizeof(key), "r/f%02d", i);
        write_key(key);
        keys[nk++] = strdup(key);
    }
    write_key("r/d39/e/last");
    keys[nk++] = strdup("r/d39/e/last");
    for (int i = 2999; i >= 0; i--) {
        snprintf(key, sizeof(key), "flat/%d.pdf", i * 7919 % 3000);
        write_key(key);
        keys[nk++] = strdup(key);
    }
    qsort(keys, nk, sizeof(*keys), cmp_str);
    struct store *s = open_root();
    struct store_listing l;
    CHECK_EQ_INT(store_list(s, NULL, NULL, 100000, &l), 0);
    check_listing(&l, keys, nk, NULL, NULL, "large");
    store_listing_release(&l);
    CHECK_EQ_INT(store_list(s, "r/", NULL, 2, &l), 0);
    CHECK_EQ_INT(l.n, 2);
    if (l.n == 2) {
        CHECK_EQ_STR(l.items[0].key, "r/d39/e/last");
        CHECK_EQ_STR(l.items[1].key, "r/f00");
    }
    CHECK(l.truncated);
    store_listing_release(&l);
    page_through(s, "r/", 1, keys, nk);
    page_through(s, "r/", 3, keys, nk);
    page_through(s, NULL, 100, keys, nk);
    page_through(s, "flat/1", 97, keys, nk);
    store_free(s);
    for (size_t i = 0; i < nk; i++)
        free((char *)keys[i]);
}

/* ---- Symlinks --------------------------------------------------------- */

TEST(symlinks_are_not_followed)
{
    struct buf b = BUF_INIT;
    struct store_info info;
    char abs[PATH_MAX];
    make_tree();
    struct store *s = open_root();

    /* Not readable: a link to outside, through a linked directory, and even
     * links that stay inside the root. */
    static const char *const links[] = {"link-out",   "a/link-dir/secret.txt",
                                        "a/link-in",  "b/c/link-sub/e.pdf",
                                        "a/y/z-link", "only-links/l",
                                        "a/link-dir"};
    for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
        if (store_get(s, links[i], 0, &b, &info) != ETL_ENOTFOUND)
            HARNESS_FAIL("get \"%s\" was not refused", links[i]);
        CHECK_EQ_INT(b.len, 0);
        if (store_head(s, links[i], &info) != ETL_ENOTFOUND)
            HARNESS_FAIL("head \"%s\" was not refused", links[i]);
    }

    /* Not writable through: a put under a linked directory fails and
     * creates nothing outside. */
    CHECK_EQ_INT(store_put(s, "a/link-dir/planted.txt", "x", 1, NULL, 0),
                 ETL_EUNSAFE);
    CHECK_EQ_INT(store_put(s, "a/link-dir/sub/planted.txt", "x", 1, NULL, 0),
                 ETL_EUNSAFE);
    CHECK_EQ_INT(store_put(s, "b/c/link-sub/planted.txt", "x", 1, NULL, 0),
                 ETL_EUNSAFE);
    pathf(abs, sizeof(abs), "%s/planted.txt", outside_dir);
    CHECK(access(abs, F_OK) < 0);
    pathf(abs, sizeof(abs), "%s/sub", outside_dir);
    CHECK(access(abs, F_OK) < 0);
    pathf(abs, sizeof(abs), "%s/b/c/d/planted.txt", root_dir);
    CHECK(access(abs, F_OK) < 0);

    /* A put at a key that is a symlink replaces the link itself; the file
     * it pointed at is untouched. */
    CHECK_EQ_INT(store_put(s, "link-out", "new", 3, NULL, STORE_PUT_IF_ABSENT),
                 ETL_EEXIST);
    CHECK_EQ_INT(store_put(s, "link-out", "new", 3, NULL, 0), 0);
    size_t n = 0;
    pathf(abs, sizeof(abs), "%s/secret.txt", outside_dir);
    char *outside = read_abs(abs, &n);
    CHECK(outside && n == 7 && memcmp(outside, "outside", 7) == 0);
    free(outside);
    CHECK_EQ_INT(store_get(s, "link-out", 0, &b, NULL), 0);
    CHECK_EQ_STR(b.data, "new");
    struct stat st;
    pathf(abs, sizeof(abs), "%s/link-out", root_dir);
    CHECK(lstat(abs, &st) == 0 && S_ISREG(st.st_mode));

    /* A FIFO is not an object, and reading it does not block. */
    CHECK_EQ_INT(store_get(s, "b/fifo", 0, &b, NULL), ETL_ENOTFOUND);
    CHECK_EQ_INT(store_head(s, "b/fifo", NULL), ETL_ENOTFOUND);
    CHECK_EQ_INT(temps_left(), 2); /* only the two planted by make_tree */
    buf_release(&b);
    store_free(s);
}

/* The root directory renamed away while the store is open: the store keeps
 * working on the directory it opened, never on a new one at the old path. */
TEST(root_renamed_keeps_fd)
{
    char moved[PATH_MAX + 16];
    struct buf b = BUF_INIT;
    fresh_root();
    write_key("k.txt");
    struct store *s = open_root();
    pathf(moved, sizeof(moved), "%s/moved", base_dir);
    CHECK_EQ_INT(rename(root_dir, moved), 0);
    mkdirs(root_dir); /* an impostor at the old path */
    CHECK_EQ_INT(store_put(s, "new.txt", "n", 1, NULL, 0), 0);
    CHECK_EQ_INT(store_get(s, "k.txt", 0, &b, NULL), 0);
    CHECK_EQ_STR(b.data, "k.txt");
    char abs[PATH_MAX + 32];
    pathf(abs, sizeof(abs), "%s/new.txt", moved);
    CHECK(access(abs, F_OK) == 0);
    pathf(abs, sizeof(abs), "%s/new.txt", root_dir);
    CHECK(access(abs, F_OK) < 0);
    buf_release(&b);
    store_free(s);
}

/* ---- put / get -------------------------------------------------------- */

TEST(put_is_atomic_with_permissions)
{
    struct buf b = BUF_INIT;
    struct store_info info;
    struct stat st;
    char abs[PATH_MAX];
    size_t n = 1 << 20;
    char *data = malloc(n);
    for (size_t i = 0; i < n; i++)
        data[i] = (char)(i * 131 + 7);
    fresh_root();
    struct store *s = open_root();

    mode_t old = umask(022);
    CHECK_EQ_INT(store_put(s, "images/x/lead_II.jpg", data, n, "image/jpeg", 0),
                 0);
    umask(old);
    CHECK_EQ_INT(store_get(s, "images/x/lead_II.jpg", 0, &b, &info), 0);
    CHECK_EQ_INT(b.len, n);
    CHECK(b.len == n && memcmp(b.data, data, n) == 0);
    CHECK_EQ_INT(info.size, n);
    pathf(abs, sizeof(abs), "%s/images/x/lead_II.jpg", root_dir);
    CHECK(stat(abs, &st) == 0 && (st.st_mode & 07777) == 0644);
    pathf(abs, sizeof(abs), "%s/images/x", root_dir);
    CHECK(stat(abs, &st) == 0 && (st.st_mode & 07777) == 0755);
    pathf(abs, sizeof(abs), "%s/images", root_dir);
    CHECK(stat(abs, &st) == 0 && (st.st_mode & 07777) == 0755);

    /* umask applies to both. */
    old = umask(077);
    CHECK_EQ_INT(store_put(s, "private/dir/f.bin", "p", 1, NULL, 0), 0);
    umask(old);
    pathf(abs, sizeof(abs), "%s/private/dir/f.bin", root_dir);
    CHECK(stat(abs, &st) == 0 && (st.st_mode & 07777) == 0600);
    pathf(abs, sizeof(abs), "%s/private/dir", root_dir);
    CHECK(stat(abs, &st) == 0 && (st.st_mode & 07777) == 0700);

    /* Overwrite: the new object, a new ETag, no temp file left. */
    char first_etag[80];
    memcpy(first_etag, info.etag, sizeof(first_etag));
    CHECK_EQ_INT(store_put(s, "images/x/lead_II.jpg", "short", 5, NULL,
                           STORE_PUT_DURABLE),
                 0);
    CHECK_EQ_INT(store_get(s, "images/x/lead_II.jpg", 0, &b, &info), 0);
    CHECK_EQ_STR(b.data, "short");
    CHECK(strcmp(info.etag, first_etag) != 0);
    CHECK_EQ_INT(temps_left(), 0);

    /* Empty object. */
    CHECK_EQ_INT(store_put(s, "empty.bin", NULL, 0, NULL, 0), 0);
    CHECK_EQ_INT(store_get(s, "empty.bin", 0, &b, &info), 0);
    CHECK_EQ_INT(b.len, 0);
    CHECK_EQ_INT(info.size, 0);

    /* Refused before touching the disk. */
    CHECK_EQ_INT(store_put(s, "../escape", "x", 1, NULL, 0), ETL_EUNSAFE);
    CHECK_EQ_INT(store_put(s, "/abs", "x", 1, NULL, 0), ETL_EUNSAFE);
    CHECK_EQ_INT(store_put(s, "ok", "x", 1, NULL, 0x100), ETL_EINVAL);
    CHECK_EQ_INT(store_put(s, "ok", NULL, 1, NULL, 0), ETL_EINVAL);
    pathf(abs, sizeof(abs), "%s/escape", base_dir);
    CHECK(access(abs, F_OK) < 0);
    /* A file where a directory is needed. */
    CHECK_EQ_INT(store_put(s, "empty.bin/x", "x", 1, NULL, 0), ETL_ENOTDIR);
    /* A directory where the object would go. */
    CHECK_EQ_INT(store_put(s, "images/x", "x", 1, NULL, 0), ETL_EIO);
    CHECK_EQ_INT(temps_left(), 0);

    buf_release(&b);
    free(data);
    store_free(s);
}

TEST(put_file_copies_a_local_file)
{
    char src[PATH_MAX];
    struct buf b = BUF_INIT;
    size_t n = 300000;
    char *data = malloc(n);
    for (size_t i = 0; i < n; i++)
        data[i] = (char)(i % 251);
    fresh_root();
    pathf(src, sizeof(src), "%s/batch.parquet", outside_dir);
    write_abs(src, data, n);
    struct store *s = open_root();
    CHECK_EQ_INT(store_put_file(s, "metadata/batch_000001.parquet", src,
                                "application/vnd.apache.parquet", 0),
                 0);
    CHECK_EQ_INT(store_get(s, "metadata/batch_000001.parquet", 0, &b, NULL), 0);
    CHECK(b.len == n && memcmp(b.data, data, n) == 0);
    CHECK_EQ_INT(store_put_file(s, "metadata/batch_000001.parquet", src, NULL,
                                STORE_PUT_IF_ABSENT),
                 ETL_EEXIST);
    pathf(src, sizeof(src), "%s/missing.parquet", outside_dir);
    CHECK_EQ_INT(store_put_file(s, "metadata/m.parquet", src, NULL, 0),
                 ETL_ENOTFOUND);
    CHECK_EQ_INT(store_put_file(s, "metadata/d.parquet", outside_dir, NULL, 0),
                 ETL_EINVAL);
    CHECK_EQ_INT(store_head(s, "metadata/m.parquet", NULL), ETL_ENOTFOUND);
    CHECK_EQ_INT(temps_left(), 0);
    buf_release(&b);
    free(data);
    store_free(s);
}

TEST(put_if_absent)
{
    struct buf b = BUF_INIT;
    fresh_root();
    struct store *s = open_root();
    CHECK_EQ_INT(store_put(s, "once/k", "first", 5, NULL, STORE_PUT_IF_ABSENT),
                 0);
    CHECK_EQ_INT(store_put(s, "once/k", "second", 6, NULL, STORE_PUT_IF_ABSENT),
                 ETL_EEXIST);
    CHECK_EQ_INT(store_put(s, "once/k", "third", 5, NULL,
                           STORE_PUT_IF_ABSENT | STORE_PUT_DURABLE),
                 ETL_EEXIST);
    CHECK_EQ_INT(store_get(s, "once/k", 0, &b, NULL), 0);
    CHECK_EQ_STR(b.data, "first");
    CHECK_EQ_INT(temps_left(), 0);
    /* A directory at the key also exists. */
    CHECK_EQ_INT(store_put(s, "once", "x", 1, NULL, STORE_PUT_IF_ABSENT),
                 ETL_EEXIST);
    buf_release(&b);
    store_free(s);
}

TEST(get_missing_and_limits)
{
    struct buf b = BUF_INIT;
    struct store_info info;
    char abs[PATH_MAX];
    char data[1000];
    memset(data, 'q', sizeof(data));
    fresh_root();
    pathf(abs, sizeof(abs), "%s/pdfs/big.pdf", root_dir);
    write_abs(abs, data, sizeof(data));
    struct store *s = open_root();

    buf_addstr(&b, "stale contents");
    CHECK_EQ_INT(store_get(s, "pdfs/none.pdf", 0, &b, &info), ETL_ENOTFOUND);
    CHECK_EQ_INT(b.len, 0); /* replaced, even on failure */
    CHECK_EQ_INT(store_get(s, "nodir/none.pdf", 0, &b, NULL), ETL_ENOTFOUND);
    CHECK_EQ_INT(store_get(s, "pdfs/big.pdf/x", 0, &b, NULL), ETL_ENOTFOUND);
    CHECK_EQ_INT(store_get(s, "pdfs", 0, &b, NULL), ETL_ENOTFOUND);
    CHECK_EQ_INT(store_head(s, "pdfs", &info), ETL_ENOTFOUND);
    CHECK_EQ_INT(store_head(s, "pdfs/none.pdf", &info), ETL_ENOTFOUND);
    CHECK_EQ_INT(store_get(s, "pdfs/../pdfs/big.pdf", 0, &b, NULL),
                 ETL_EUNSAFE);

    CHECK_EQ_INT(store_get(s, "pdfs/big.pdf", 999, &b, &info), ETL_ETOOBIG);
    CHECK_EQ_INT(b.len, 0);
    buf_addstr(&b, "stale contents");
    CHECK_EQ_INT(store_get(s, "pdfs/big.pdf", 1000, &b, &info), 0);
    CHECK(b.len == 1000 && memcmp(b.data, data, 1000) == 0);
    CHECK_EQ_INT(info.size, 1000);
    CHECK_EQ_INT(store_get(s, "pdfs/big.pdf", 0, &b, NULL), 0);
    CHECK_EQ_INT(b.len, 1000);
    /* The buffer's own cap is honoured as well. */
    struct buf capped;
    buf_init(&capped, 500);
    CHECK_EQ_INT(store_get(s, "pdfs/big.pdf", 0, &capped, NULL), ETL_ETOOBIG);
    buf_release(&capped);
    buf_release(&b);
    store_free(s);
}

/* ---- Threads ---------------------------------------------------------- */

#define NTHREADS 8
#define ITERS 30
#define SHARED_BASE 65536

static pthread_barrier_t start_line;

struct worker {
    struct store *s;
    int id;
    int errors;
    int torn;
    int once_rc;
};

/* An object written by worker id: SHARED_BASE + 1000 * id bytes of 'A'+id,
 * so a reader can tell a whole object from a mix of two. */
static bool whole(const struct buf *b)
{
    if (b->len < SHARED_BASE || (b->len - SHARED_BASE) % 1000 != 0)
        return false;
    size_t id = (b->len - SHARED_BASE) / 1000;
    if (id >= NTHREADS)
        return false;
    for (size_t i = 0; i < b->len; i++)
        if (b->data[i] != (char)('A' + id))
            return false;
    return true;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    size_t n = SHARED_BASE + 1000 * (size_t)w->id;
    char *data = malloc(n);
    char key[64];
    struct buf b = BUF_INIT;
    memset(data, 'A' + w->id, n);
    pthread_barrier_wait(&start_line);
    /* All threads create the same new directories at once. */
    snprintf(key, sizeof(key), "race/a/b/c/%d.bin", w->id);
    if (store_put(w->s, key, data, n, NULL, 0))
        w->errors++;
    w->once_rc =
        store_put(w->s, "race/once.bin", data, n, NULL, STORE_PUT_IF_ABSENT);
    for (int it = 0; it < ITERS; it++) {
        snprintf(key, sizeof(key), "t/%d/obj-%02d.bin", w->id, it);
        if (store_put(w->s, key, data, n, NULL, 0))
            w->errors++;
        if (store_put(w->s, "shared/obj.bin", data, n, NULL, 0))
            w->errors++;
        if (store_get(w->s, "shared/obj.bin", 0, &b, NULL))
            w->errors++;
        else if (!whole(&b))
            w->torn++;
    }
    buf_release(&b);
    free(data);
    return NULL;
}

TEST(concurrent_puts_leave_whole_files)
{
    pthread_t th[NTHREADS];
    struct worker w[NTHREADS];
    struct buf b = BUF_INIT;
    char key[64];
    fresh_root();
    struct store *s = open_root();
    pthread_barrier_init(&start_line, NULL, NTHREADS);
    for (int i = 0; i < NTHREADS; i++) {
        w[i] = (struct worker){.s = s, .id = i};
        pthread_create(&th[i], NULL, worker_main, &w[i]);
    }
    int created = 0;
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(th[i], NULL);
        CHECK_EQ_INT(w[i].errors, 0);
        CHECK_EQ_INT(w[i].torn, 0);
        if (w[i].once_rc == 0)
            created++;
        else
            CHECK_EQ_INT(w[i].once_rc, ETL_EEXIST);
    }
    pthread_barrier_destroy(&start_line);
    CHECK_EQ_INT(created, 1);
    CHECK_EQ_INT(store_get(s, "shared/obj.bin", 0, &b, NULL), 0);
    CHECK(whole(&b));
    CHECK_EQ_INT(store_get(s, "race/once.bin", 0, &b, NULL), 0);
    CHECK(whole(&b));
    for (int i = 0; i < NTHREADS; i++) {
        for (int it = 0; it < ITERS; it += 7) {
            snprintf(key, sizeof(key), "t/%d/obj-%02d.bin", i, it);
            CHECK_EQ_INT(store_get(s, key, 0, &b, NULL), 0);
            CHECK(whole(&b) && b.data[0] == 'A' + i);
        }
        snprintf(key, sizeof(key), "race/a/b/c/%d.bin", i);
        CHECK_EQ_INT(store_get(s, key, 0, &b, NULL), 0);
        CHECK(whole(&b) && b.data[0] == 'A' + i);
    }
    CHECK_EQ_INT(temps_left(), 0);
    struct store_listing l;
    CHECK_EQ_INT(store_list(s, NULL, NULL, 10000, &l), 0);
    CHECK_EQ_INT(l.n, NTHREADS * ITERS + NTHREADS + 2);
    store_listing_release(&l);
    buf_release(&b);
    store_free(s);
}

static void run_all(void)
{
    RUN(list_full_tree_in_byte_order);
    RUN(list_start_after_every_position);
    RUN(list_prefix);
    RUN(list_paging_concatenates_to_full_listing);
    RUN(list_suffix_pages_by_cursor);
    RUN(list_empty_dirs_and_large_directory);
    RUN(symlinks_are_not_followed);
    RUN(root_renamed_keeps_fd);
    RUN(put_is_atomic_with_permissions);
    RUN(put_file_copies_a_local_file);
    RUN(put_if_absent);
    RUN(get_missing_and_limits);
    RUN(concurrent_puts_leave_whole_files);
}

int main(void)
{
    log_init(LOG_OFF, LOG_FORMAT_JSON, 2);
    pathf(base_dir, sizeof(base_dir), "/tmp/bpecg-store-local-XXXXXX");
    if (!mkdtemp(base_dir))
        die("mkdtemp");
    pathf(root_dir, sizeof(root_dir), "%s/root", base_dir);
    pathf(outside_dir, sizeof(outside_dir), "%s/outside", base_dir);
    use_walk = false;
    run_all();
    use_walk = true;
    run_all();
    nftw(base_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    rmdir(base_dir);
    return harness_done();
}
