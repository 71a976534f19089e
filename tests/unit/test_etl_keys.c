#include <string.h>

#include "core/err.h"
#include "core/utf8.h"
#include "etl/etl.h"
#include "store/storage.h"
#include "harness.h"

TEST(pdf_suffix_any_case)
{
    CHECK(etl_is_pdf_key("a.pdf"));
    CHECK(etl_is_pdf_key("dir/B.PDF"));
    CHECK(etl_is_pdf_key("x.Pdf"));
    CHECK(etl_is_pdf_key(".pdf")); /* a hidden file, still a PDF's name */
    CHECK(!etl_is_pdf_key("a.pdf.txt"));
    CHECK(!etl_is_pdf_key("apdf"));
    CHECK(!etl_is_pdf_key(""));
}

/* Each key's file_id, and back. */
TEST(file_id)
{
    static const struct {
        const char *key, *prefix, *want;
    } cases[] = {
        {"pdfs/x.pdf", "pdfs/", "x"},
        {"pdfs/2023/a b+c.pdf", "pdfs/", "2023/a b+c"},
        {"other/x.pdf", "pdfs/", "other/x"}, /* not under the prefix */
        {"pdfs/caf\xc3\xa9.pdf", "pdfs/", "caf\xc3\xa9"},
        /* Case twins: only a lower-case suffix is dropped. */
        {"x.PDF", "", "x%2EPDF"},
        {"x.Pdf", "", "x%2EPdf"},
        {"x.PDF.pdf", "", "x.PDF"},
        {"X.pdf", "", "X"},
        /* Escaping twins: what used to become '_' is escaped. */
        {"_.pdf", "", "_"},
        {"..pdf", "", "%2E"},
        {"...pdf", "", "%2E%2E"},
        {"a\\b.pdf", "", "a%5Cb"},
        {"a_b.pdf", "", "a_b"},
        {"tab\there.pdf", "", "tab%09here"},
        {"new\nline.pdf", "", "new%0Aline"},
        {"esc\x1b[31m.pdf", "", "esc%1B[31m"},
        {"c1\xc2\x9b.pdf", "", "c1%C2%9B"},
        {"nbsp\xc2\xa0.pdf", "", "nbsp\xc2\xa0"},
        {"caf\xe9.pdf", "", "caf%E9"},
        {"100%.pdf", "", "100%25"},
        {"caf%E9.pdf", "", "caf%25E9"},
        {"a/../b.pdf", "", "a/%2E%2E/b"},
        {"./x.pdf", "", "%2E/x"},
        {"a//b.pdf", "", "a/%2Fb"},
        {"/abs.pdf", "", "%2Fabs"},
        {"dir/.pdf", "", "dir/%2Epdf"},
        {".pdf", "", "%2Epdf"},
        {"dir/..pdf", "", "dir/%2E"},
        {".bpecg-tmp-0123456789abcdef.pdf", "", ".bpecg-tmp-0123456789abcdef"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct buf b = BUF_INIT, back = BUF_INIT;
        CHECK_EQ_INT(etl_file_id(cases[i].key, cases[i].prefix, &b), 0);
        if (strcmp(b.data, cases[i].want) != 0)
            HARNESS_FAIL("file_id(\"%s\", \"%s\") = \"%s\", want \"%s\"",
                         cases[i].key, cases[i].prefix, b.data, cases[i].want);
        CHECK(utf8_valid(b.data, b.len));
        CHECK(store_key_check(b.data) == 0);
        CHECK_EQ_INT(etl_file_id_decode(b.data, &back), 0);
        size_t plen = strlen(cases[i].prefix);
        const char *rel = strncmp(cases[i].key, cases[i].prefix, plen) == 0
                              ? cases[i].key + plen
                              : cases[i].key;
        CHECK_EQ_STR(back.data, rel);
        buf_release(&b);
        buf_release(&back);
    }
    /* Ids are distinct for the keys above (which are). */
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        for (size_t j = i + 1; j < sizeof(cases) / sizeof(cases[0]); j++)
            if (strcmp(cases[i].prefix, cases[j].prefix) == 0)
                CHECK(strcmp(cases[i].want, cases[j].want) != 0);
    struct buf bad = BUF_INIT;
    CHECK_EQ_INT(etl_file_id_decode("x%2", &bad), ETL_EINVAL);
    CHECK_EQ_INT(etl_file_id_decode("x%zz", &bad), ETL_EINVAL);
    buf_release(&bad);
}

/* source_key keeps a UTF-8 key as it is and escapes one that is not. */
TEST(key_text)
{
    static const struct {
        const char *key, *want;
    } cases[] = {
        {"pdfs/caf\xc3\xa9.pdf", "pdfs/caf\xc3\xa9.pdf"},
        {"caf%E9.pdf", "caf%E9.pdf"},
        {"caf\xe9.pdf", "caf%E9.pdf"},
        {"50%\xff.pdf", "50%25%FF.pdf"},
        {"a\nb.pdf", "a\nb.pdf"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct buf b = BUF_INIT;
        CHECK_EQ_INT(etl_key_text(cases[i].key, &b), 0);
        CHECK_EQ_STR(b.data, cases[i].want);
        CHECK(utf8_valid(b.data, b.len));
        buf_release(&b);
    }
}

int main(void)
{
    RUN(pdf_suffix_any_case);
    RUN(file_id);
    RUN(key_text);
    return harness_done();
}
