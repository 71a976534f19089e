#include "etl/etl.h"
#include "harness.h"

TEST(pdf_suffix_any_case)
{
    CHECK(etl_is_pdf_key("a.pdf"));
    CHECK(etl_is_pdf_key("dir/B.PDF"));
    CHECK(etl_is_pdf_key("x.Pdf"));
    CHECK(!etl_is_pdf_key(".pdf")); /* no name */
    CHECK(!etl_is_pdf_key("a.pdf.txt"));
    CHECK(!etl_is_pdf_key("apdf"));
    CHECK(!etl_is_pdf_key(""));
}

TEST(file_id)
{
    static const struct {
        const char *key, *prefix, *want;
    } cases[] = {
        {"pdfs/x.pdf", "pdfs/", "x"},
        {"x.PDF", "", "x"},
        {"pdfs/2023/a b+c.pdf", "pdfs/", "2023/a b+c"},
        {"other/x.pdf", "pdfs/", "other/x"}, /* not under the prefix */
        {"pdfs/caf\xc3\xa9.pdf", "pdfs/", "caf\xc3\xa9"},
        {"a\\b.pdf", "", "a_b"},
        {"tab\there.pdf", "", "tab_here"},
        {"a/../b.pdf", "", "a/_/b"},
        {"./x.pdf", "", "_/x"},
        {"a//b.pdf", "", "a/_/b"},
        {".pdf", "", "_"},
        {"dir/.pdf", "", "dir/_"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct buf b = BUF_INIT;
        CHECK_EQ_INT(etl_file_id(cases[i].key, cases[i].prefix, &b), 0);
        if (strcmp(b.data, cases[i].want) != 0)
            HARNESS_FAIL("file_id(\"%s\", \"%s\") = \"%s\", want \"%s\"",
                         cases[i].key, cases[i].prefix, b.data, cases[i].want);
        buf_release(&b);
    }
}

int main(void)
{
    RUN(pdf_suffix_any_case);
    RUN(file_id);
    return harness_done();
}
