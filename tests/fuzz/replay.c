/* Replays fuzz inputs without libFuzzer: every regular file named on the
 * command line, or found directly in a directory named there, is passed
 * once to LLVMFuzzerTestOneInput (directories in name order, so a failure
 * is reproducible). A crash or sanitizer report fails the run; so does a
 * directory with no inputs, since a lost corpus would otherwise pass.
 *
 *   fuzz_pdf_replay tests/fuzz/corpus/pdf [more files or directories] */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    struct buf b = BUF_INIT;
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return -1;
    }
    char chunk[65536];
    size_t n;
    int rc = 0;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (buf_add(&b, chunk, n)) {
            rc = -1;
            break;
        }
    }
    if (ferror(f))
        rc = -1;
    fclose(f);
    if (rc) {
        fprintf(stderr, "%s: cannot read\n", path);
        buf_release(&b);
        return -1;
    }
    /* A copy of exactly size bytes, so ASan sees any read past the end
     * (buf keeps a NUL and spare capacity after the data). */
    size_t len = b.len;
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy) {
        buf_release(&b);
        return -1;
    }
    memcpy(copy, b.data, len);
    buf_release(&b);
    LLVMFuzzerTestOneInput(copy, len);
    free(copy);
    return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int run_dir(const char *dir, size_t *count)
{
    struct dirent **names = NULL;
    int n = scandir(dir, &names, NULL, by_name);
    if (n < 0) {
        fprintf(stderr, "%s: %s\n", dir, strerror(errno));
        return -1;
    }
    int rc = 0;
    size_t before = *count;
    for (int i = 0; i < n; i++) {
        struct buf path = BUF_INIT;
        struct stat st;
        if (names[i]->d_name[0] != '.' &&
            buf_printf(&path, "%s/%s", dir, names[i]->d_name) == 0 &&
            stat(path.data, &st) == 0 && S_ISREG(st.st_mode)) {
            if (run_file(path.data))
                rc = -1;
            else
                (*count)++;
        }
        buf_release(&path);
        free(names[i]);
    }
    free(names);
    if (*count == before) {
        fprintf(stderr, "%s: no inputs\n", dir);
        rc = -1;
    }
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
        return 2;
    }
    size_t count = 0;
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
            rc = 1;
        } else if (S_ISDIR(st.st_mode)) {
            if (run_dir(argv[i], &count))
                rc = 1;
        } else if (run_file(argv[i]) == 0) {
            count++;
        } else {
            rc = 1;
        }
    }
    printf("replayed %zu inputs\n", count);
    return rc;
}
