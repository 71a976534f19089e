/* Typed ECG measurements: every label style, odd spacing, units, missing
 * and out-of-range values, interpretation statements, acquisition times,
 * site patterns and their error messages, and the samples generator's
 * PDFs read back field by field. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "ecg/fields.h"
#include "harness.h"
#include "pdf/pdf.h"
#include "samples/samples.h"

#define NA (-9999) /* expected null */

struct want {
    int v[FIELDS_NUMERIC];
    int rejected;
};

static struct fields_set *builtin(void)
{
    static struct fields_set *s;
    if (!s) {
        struct buf err = BUF_INIT;
        int rc = fields_parse(NULL, NULL, &s, &err);
        if (rc)
            fprintf(stderr, "built-in patterns: %s\n", err.data);
        buf_release(&err);
    }
    return s;
}

static void check_numeric(const struct fields_set *s, const char *text,
                          const struct want *w, int line)
{
    struct fields_result r;
    int rc = fields_extract(s, text, strlen(text), &r);
    if (rc) {
        HARNESS_FAIL("line %d: fields_extract: %d", line, rc);
        return;
    }
    for (int f = 0; f < FIELDS_NUMERIC; f++) {
        int got = r.has[f] ? r.value[f] : NA;
        if (got != w->v[f])
            HARNESS_FAIL("line %d: %s: got %d, want %d", line,
                         fields_name((enum fields_id)f), got, w->v[f]);
    }
    if (r.rejected != w->rejected)
        HARNESS_FAIL("line %d: rejected %d, want %d", line, r.rejected,
                     w->rejected);
    fields_result_release(&r);
}

/* vent, atrial, pr, qrs, qt, qtc, p, r, t, rejected */
#define W(a, b, c, d, e, f, g, h, i, rej)                                      \
    (&(const struct want){{a, b, c, d, e, f, g, h, i}, rej})

TEST(label_styles)
{
    const struct {
        const char *text;
        const struct want *want;
    } cases[] = {
        /* GE MUSE, as the generator writes it */
        {"Measurements\nVent. rate 85 BPM\nPR interval 162 ms\nQRS duration "
         "118 ms\nQT/QTc 358/426 ms\nP-R-T axes 58 10 23\n",
         W(85, NA, 162, 118, 358, 426, 58, 10, 23, 0)},
        /* ... with odd spacing, a colon, units stuck to the value */
        {"Vent.  rate   72  BPM\nAtrial rate:72bpm\nPR interval:160ms\n"
         "QRS duration\t92 ms\nQT / QTc  380 / 410 ms\n"
         "P-R-T axes  -30  +45  270\n",
         W(72, 72, 160, 92, 380, 410, -30, 45, 270, 0)},
        {"Ventricular rate 64 BPM\nQT/QTcB 400/420 ms\n",
         W(64, NA, NA, NA, 400, 420, NA, NA, NA, 0)},
        /* Philips */
        {"HR 72\nPR 160\nQRSD 92\nQT 380\nQTc 410\n--AXIS--\nP 60\nQRS 45\n"
         "T 30\n",
         W(72, NA, 160, 92, 380, 410, 60, 45, 30, 0)},
        {"Rate    58 . Sinus bradycardia\nPR     170\nQRSD    96\nQT     "
         "440\nQTc    432\n\n-- AXIS --\nP       51\nQRS     -2\nT       "
         "38\n",
         W(58, NA, 170, 96, 440, 432, 51, -2, 38, 0)},
        /* plain */
        {"Heart rate: 72 bpm\nPR interval: 160 ms\nQRS duration: 92 ms\nQT "
         "interval: 380 ms\nQTc interval: 410 ms\nP axis: 60\xc2\xb0\nQRS "
         "axis: -30\xc2\xb0\nT axis: 45\xc2\xb0\n",
         W(72, NA, 160, 92, 380, 410, 60, -30, 45, 0)},
        {"HR: 101 bpm   PR: 150 ms   QRS: 88 ms   QT: 330 ms   QTc: 428 ms\n"
         "Axis: 75\n",
         W(101, NA, 150, 88, 330, 428, NA, 75, NA, 0)},
        {"Heart Rate = 66 /min\nR axis 15\n",
         W(66, NA, NA, NA, NA, NA, NA, 15, NA, 0)},
        /* "Rate" alone reads only at the start of a line */
        {"Atrial rate 250 BPM\n", W(NA, 250, NA, NA, NA, NA, NA, NA, NA, 0)},
        /* decimals round half away from zero; a trailing '.' ends it */
        {"QRS duration 92.5 ms\nPR interval 160,4 ms\nVent. rate 72.\n"
         "P axis: -10.5\n",
         W(72, NA, 160, 93, NA, NA, -11, NA, NA, 0)},
        /* missing values are null, not rejected */
        {"Vent. rate *** BPM\nPR interval --- ms\nQT/QTc 380/*** ms\n"
         "P-R-T axes * 45 ?\n",
         W(NA, NA, NA, NA, 380, NA, NA, 45, NA, 0)},
        /* out of range or unreadable: null and counted */
        {"Vent. rate 900 BPM\nPR interval 20 ms\nQRS duration 1.2.3 ms\n"
         "QT/QTc 95/2000 ms\nP-R-T axes 60 400 -181\n",
         W(NA, NA, NA, NA, NA, NA, 60, NA, NA, 7)},
        /* boundaries are inside */
        {"Vent. rate 20 BPM\nAtrial rate 400\nPR interval 400 ms\nQRS "
         "duration 40 ms\nQT/QTc 800/200 ms\nP-R-T axes -180 360 0\n",
         W(20, 400, 400, 40, 800, 200, -180, 360, 0, 0)},
        {"Vent. rate 19 BPM\nAtrial rate 401\nQRS duration 39 ms\nQT/QTc "
         "149/801 ms\n",
         W(NA, NA, NA, NA, NA, NA, NA, NA, NA, 5)},
        /* no measurements at all; a lone "-" is not a value */
        {"", W(NA, NA, NA, NA, NA, NA, NA, NA, NA, 0)},
        {"Patient ID: 123456\nDOB: 1950-01-01\nAge: 72 years\n",
         W(NA, NA, NA, NA, NA, NA, NA, NA, NA, 0)},
        {"PR - ms\n", W(NA, NA, NA, NA, NA, NA, NA, NA, NA, 0)},
        /* labels inside words are not labels */
        {"THR 50\nSPR 100\nAQT 300\n",
         W(NA, NA, NA, NA, NA, NA, NA, NA, NA, 0)},
        /* a QRS axis in Philips' block is not a QRS duration */
        {"--AXIS--\nP 60\nQRS 45\nT 30\n",
         W(NA, NA, NA, NA, NA, NA, 60, 45, 30, 0)},
        /* the more specific label decides */
        {"Vent. rate 80 BPM\nHR 81\n",
         W(80, NA, NA, NA, NA, NA, NA, NA, NA, 0)},
        /* "P-R-T Axis: 74 52 57" is three axes, not a T axis of 74 */
        {"P-R-T Axis: 74 52 57 ms\n", W(NA, NA, NA, NA, NA, NA, 74, 52, 57, 0)},
        /* a label on its line, the value on the next */
        {"Heart Rate:\n87 BPM\n", W(87, NA, NA, NA, NA, NA, NA, NA, NA, 0)},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_numeric(builtin(), cases[i].text, cases[i].want, (int)i);
}

static void check_statements(const char *text, bool has, const char *const *w,
                             int line)
{
    struct fields_result r;
    CHECK_EQ_INT(fields_extract(builtin(), text, strlen(text), &r), 0);
    if (r.has_interpretation != has)
        HARNESS_FAIL("case %d: has_interpretation %d", line,
                     r.has_interpretation);
    size_t n = 0;
    while (w && w[n])
        n++;
    if (r.nstatements != n)
        HARNESS_FAIL("case %d: %zu statements, want %zu", line, r.nstatements,
                     n);
    for (size_t i = 0; i < n && i < r.nstatements; i++)
        if (strcmp(r.statements[i], w[i]) != 0)
            HARNESS_FAIL("case %d: statement %zu \"%s\", want \"%s\"", line, i,
                         r.statements[i], w[i]);
    fields_result_release(&r);
}

#define L(...) ((const char *const[]){__VA_ARGS__, NULL})

TEST(interpretation)
{
    const struct {
        const char *text;
        bool has;
        const char *const *want;
    } cases[] = {
        {"Interpretation\nNormal sinus rhythm\nNonspecific intraventricular "
         "conduction delay\nBorderline ECG\nUnconfirmed report - requires "
         "physician review\nSYNTHETIC TEST DATA\n",
         true,
         L("Normal sinus rhythm",
           "Nonspecific intraventricular conduction delay", "Borderline ECG")},
        /* on the heading's line, trimmed, a blank line ends it */
        {"Interpretation:  Sinus rhythm  \n  Left axis deviation\n\nOther\n",
         true, L("Sinus rhythm", "Left axis deviation")},
        /* blank lines before the first statement are skipped */
        {"DIAGNOSIS\n\n  Atrial fibrillation\nConfirmed by Dr. X\n", true,
         L("Atrial fibrillation")},
        /* a measurement line or "Page 1 of 2" ends the statements */
        {"Interpretation\nSinus tachycardia\nVent. rate 120 BPM\n", true,
         L("Sinus tachycardia")},
        {"Findings:\nST elevation\nPage 1 of 2\nmore\n", true,
         L("ST elevation")},
        /* a heading with nothing after it */
        {"Interpretation\n", true, NULL},
        {"Interpretation\nReferred by: Dr. Y\n", true, NULL},
        /* no heading: null; "Interpretation of ..." is not a heading */
        {"Normal sinus rhythm\n", false, NULL},
        {"Interpretation of results pending\n", false, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_statements(cases[i].text, cases[i].has, cases[i].want, (int)i);

    /* At most FIELDS_MAX_STATEMENTS. */
    struct buf t = BUF_INIT;
    buf_addstr(&t, "Interpretation\n");
    for (int i = 0; i < 40; i++)
        buf_printf(&t, "statement %d\n", i);
    struct fields_result r;
    CHECK_EQ_INT(fields_extract(builtin(), t.data, t.len, &r), 0);
    CHECK_EQ_INT(r.nstatements, FIELDS_MAX_STATEMENTS);
    CHECK_EQ_STR(r.statements[0], "statement 0");
    fields_result_release(&r);
    buf_release(&t);
}

/* ms since the epoch for a UTC wall-clock time, computed independently
 * with timegm. */
static long long utc_ms(int y, int mo, int d, int h, int mi, int s)
{
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    return (long long)timegm(&tm) * 1000;
}

TEST(datetimes)
{
    static const struct {
        const char *s;
        char order;
        int rc;
        int y, mo, d, h, mi, sec;
    } cases[] = {
        {"2024-07-18 17:31:00", 0, 1, 2024, 7, 18, 17, 31, 0},
        {"2024-07-18T17:31", 0, 1, 2024, 7, 18, 17, 31, 0},
        {"  2024/07/18 08:05:09 (local)", 0, 1, 2024, 7, 18, 8, 5, 9},
        {"18-Jul-2024 17:31:00", 0, 1, 2024, 7, 18, 17, 31, 0},
        {"18-JUL-2024 17:31", 0, 1, 2024, 7, 18, 17, 31, 0},
        {"5 September 2023, 06:00", 0, 1, 2023, 9, 5, 6, 0, 0},
        {"Sept 5 2023 at 6:00 PM", 0, 1, 2023, 9, 5, 18, 0, 0},
        {"Jul 18, 2024 12:31 AM", 0, 1, 2024, 7, 18, 0, 31, 0},
        {"Jul 18, 2024 12:31 pm", 0, 1, 2024, 7, 18, 12, 31, 0},
        {"18.07.2024 17:31:12.250", 0, 1, 2024, 7, 18, 17, 31, 12},
        {"07/18/2024 17:31", 'm', 1, 2024, 7, 18, 17, 31, 0},
        {"18/07/2024 17:31", 'd', 1, 2024, 7, 18, 17, 31, 0},
        {"2024-02-29 00:00", 0, 1, 2024, 2, 29, 0, 0, 0},
        {"1969-12-31 23:59:59", 0, 1, 1969, 12, 31, 23, 59, 59},
        /* a day above 12 tells the order */
        {"07/18/2024 17:31", 0, 1, 2024, 7, 18, 17, 31, 0},
        {"18/07/2024 17:31", 0, 1, 2024, 7, 18, 17, 31, 0},
        /* as reports print them */
        {"14th Feb 25 5:38 PM", 0, 1, 2025, 2, 14, 17, 38, 0},
        {"Friday, February 13, 2026 at 10:42:00 PM", 0, 1, 2026, 2, 13, 22, 42,
         0},
        {"Monday, February 23, 2026 at 6:26:56 PM", 0, 1, 2026, 2, 23, 18, 26,
         56},
        {"2020/02/11  11:31:29", 0, 1, 2020, 2, 11, 11, 31, 29},
        {"25 Jan 2013 09:54", 0, 1, 2013, 1, 25, 9, 54, 0},
        {"Feb 20, 2023, 2:03:07 AM", 0, 1, 2023, 2, 20, 2, 3, 7},
        {"29.04.2025 8:28:13", 0, 1, 2025, 4, 29, 8, 28, 13},
        {"29.04.25 08:28", 0, 1, 2025, 4, 29, 8, 28, 0},
        {"12 июля 2023 г. в 13:01", 0, 1, 2023, 7, 12, 13, 1, 0},
        {"13. Februar 2026 um 10:42", 0, 1, 2026, 2, 13, 10, 42, 0},
        {"Freitag, 13. Februar 2026, 22:42", 0, 1, 2026, 2, 13, 22, 42, 0},
        {"13 février 2026 à 10:42", 0, 1, 2026, 2, 13, 10, 42, 0},
        {"1er mars 2026 10:42", 0, 1, 2026, 3, 1, 10, 42, 0},
        {"13 de febrero de 2026 a las 10:42", 0, 1, 2026, 2, 13, 10, 42, 0},
        {"13 febbraio 2026 alle 10:42", 0, 1, 2026, 2, 13, 10, 42, 0},
        {"2020年2月11日 11:31", 0, 1, 2020, 2, 11, 11, 31, 0},
        {"ВТОРНИК, 3 МАРТА 2026 09:05", 0, 1, 2026, 3, 3, 9, 5, 0},
        /* ambiguous, or no time of day: not read */
        {"07/08/2024 17:31", 0, 0, 0, 0, 0, 0, 0, 0},
        {"07/18/24 17:31", 0, 0, 0, 0, 0, 0, 0, 0},
        {"12 июля 2023", 0, 0, 0, 0, 0, 0, 0, 0},
        {"13:01", 0, 0, 0, 0, 0, 0, 0, 0},
        {"Friday 10:42", 0, 0, 0, 0, 0, 0, 0, 0},
        {"25 Jan 13:45", 0, 0, 0, 0, 0, 0, 0, 0},
        {"10.1.3 12:00", 0, 0, 0, 0, 0, 0, 0, 0},
        {"2024-07-18", 0, 0, 0, 0, 0, 0, 0, 0},
        {"2024-07-18 17", 0, 0, 0, 0, 0, 0, 0, 0},
        {"ELI 380", 0, 0, 0, 0, 0, 0, 0, 0},
        {"18-Foo-2024 10:00", 0, 0, 0, 0, 0, 0, 0, 0},
        {"24-07-18 10:00", 0, 0, 0, 0, 0, 0, 0, 0},
        /* impossible */
        {"2024-02-30 10:00", 0, -1, 0, 0, 0, 0, 0, 0},
        {"2023-02-29 10:00", 0, -1, 0, 0, 0, 0, 0, 0},
        {"2024-13-01 10:00", 0, -1, 0, 0, 0, 0, 0, 0},
        {"2024-07-18 24:00", 0, -1, 0, 0, 0, 0, 0, 0},
        {"2024-07-18 13:00 PM", 0, -1, 0, 0, 0, 0, 0, 0},
        {"1850-01-01 10:00", 0, -1, 0, 0, 0, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t ms = 0;
        int rc = fields_parse_datetime(cases[i].s, cases[i].order, &ms);
        if (rc != cases[i].rc) {
            HARNESS_FAIL("\"%s\": rc %d, want %d", cases[i].s, rc, cases[i].rc);
            continue;
        }
        if (rc == 1) {
            long long want = utc_ms(cases[i].y, cases[i].mo, cases[i].d,
                                    cases[i].h, cases[i].mi, cases[i].sec);
            if (ms != want)
                HARNESS_FAIL("\"%s\": %lld, want %lld", cases[i].s,
                             (long long)ms, want);
        }
    }
}

TEST(acquired_in_text)
{
    struct fields_result r;
    const char *t = "Device: ELI 380\nAcquisition device: MAC 5500\n"
                    "Acquired: 2024-07-18 17:31:00\nDOB: 1928-03-14\n";
    CHECK_EQ_INT(fields_extract(builtin(), t, strlen(t), &r), 0);
    CHECK(r.has_acquired);
    CHECK_EQ_INT(r.acquired_ms, utc_ms(2024, 7, 18, 17, 31, 0));
    CHECK_EQ_INT(r.rejected, 0);
    fields_result_release(&r);

    t = "Acquisition date/time: 18-Jul-2024 08:00\n";
    CHECK_EQ_INT(fields_extract(builtin(), t, strlen(t), &r), 0);
    CHECK(r.has_acquired);
    CHECK_EQ_INT(r.acquired_ms, utc_ms(2024, 7, 18, 8, 0, 0));
    fields_result_release(&r);

    t = "Recorded on: 2024-02-30 10:00\n";
    CHECK_EQ_INT(fields_extract(builtin(), t, strlen(t), &r), 0);
    CHECK(!r.has_acquired);
    CHECK_EQ_INT(r.rejected, 1);
    fields_result_release(&r);

    /* A date of birth is never an acquisition time, not even as the only
     * date with a time; a plain "Date" label is. */
    t = "DOB: 1928-03-14 00:00\n";
    CHECK_EQ_INT(fields_extract(builtin(), t, strlen(t), &r), 0);
    CHECK(!r.has_acquired);
    CHECK_EQ_INT(r.rejected, 0);
    fields_result_release(&r);
    t = "DOB: 1928-03-14 00:00\nDate: 2024-07-18 17:31\n";
    CHECK_EQ_INT(fields_extract(builtin(), t, strlen(t), &r), 0);
    CHECK(r.has_acquired);
    CHECK_EQ_INT(r.acquired_ms, utc_ms(2024, 7, 18, 17, 31, 0));
    CHECK_EQ_STR(r.acquired_source, "Date");
    fields_result_release(&r);
}

static int parse_err(const char *json, struct buf *err)
{
    struct fields_set *s = NULL;
    buf_reset(err);
    int rc = fields_parse(json, "site.json", &s, err);
    fields_free(s);
    return rc;
}

TEST(site_patterns)
{
    struct buf err = BUF_INIT;
    struct fields_set *s = NULL;
    const char *json =
        "{\"patterns\": ["
        "{\"field\": \"vent_rate_bpm\", \"regex\": \"Ventricular rate[: "
        "]+([0-9]+)\"},"
        "{\"fields\": [\"qt_ms\", \"qtc_ms\"], \"regex\": \"(QT)-(QTc) "
        "([0-9]+)-([0-9]+)\", \"groups\": [3, 4]},"
        "{\"field\": \"qrs_duration_ms\", \"regex\": \"QRS ([0-9.]+) s\", "
        "\"scale\": 1000},"
        "{\"field\": \"acquired_at\", \"regex\": \"Recorded: (.*)\", "
        "\"date_order\": \"dmy\"},"
        "{\"field\": \"interpretation\", \"regex\": \"^Diagnosis -\"},"
        "{\"field\": \"interpretation_end\", \"regex\": \"^Signed\"}]}";
    CHECK_EQ_INT(fields_parse(json, "site.json", &s, &err), 0);
    CHECK_EQ_STR(err.data, "");
    if (!s)
        return;
    const char *t = "Ventricular rate 64 beats\nQT-QTc 400-430\nQRS 0.094 s\n"
                    "Recorded: 07/08/2024 09:15\nVent. rate 99 BPM\n"
                    "Diagnosis - Sinus rhythm\nNormal ECG\nSigned: Dr Z\n";
    struct fields_result r;
    CHECK_EQ_INT(fields_extract(s, t, strlen(t), &r), 0);
    /* The site's pattern comes before the built-in "Vent. rate". */
    CHECK(r.has[FIELDS_VENT_RATE] && r.value[FIELDS_VENT_RATE] == 64);
    CHECK(r.has[FIELDS_QT] && r.value[FIELDS_QT] == 400);
    CHECK(r.has[FIELDS_QTC] && r.value[FIELDS_QTC] == 430);
    CHECK(r.has[FIELDS_QRS] && r.value[FIELDS_QRS] == 94);
    CHECK(r.has_acquired);
    CHECK_EQ_INT(r.acquired_ms, utc_ms(2024, 8, 7, 9, 15, 0));
    CHECK_EQ_INT(r.nstatements, 2);
    if (r.nstatements == 2) {
        CHECK_EQ_STR(r.statements[0], "Sinus rhythm");
        CHECK_EQ_STR(r.statements[1], "Normal ECG");
    }
    fields_result_release(&r);
    /* Built-ins still apply to the rest. */
    t = "PR interval 150 ms\n";
    CHECK_EQ_INT(fields_extract(s, t, strlen(t), &r), 0);
    CHECK(r.has[FIELDS_PR] && r.value[FIELDS_PR] == 150);
    fields_result_release(&r);
    fields_free(s);

    static const struct {
        const char *json, *msg;
    } bad[] = {
        {"{\"patterns\": [{\"field\": \"vent_rate\", \"regex\": \"x\"}]}",
         "site.json: patterns[0].field: unknown field \"vent_rate\" (one of "
         "vent_rate_bpm, atrial_rate_bpm, pr_interval_ms, qrs_duration_ms, "
         "qt_ms, qtc_ms, p_axis_deg, r_axis_deg, t_axis_deg, "
         "interpretation, interpretation_end, acquired_at)"},
        {"{\"patterns\": [{\"field\": \"qt_ms\", \"regex\": \"QT ([0-9]+\"}]}",
         "site.json: patterns[0].regex: Unmatched ( or \\("},
        {"{\"patterns\": [{\"field\": \"qt_ms\", \"regex\": \"QT ([0-9]+)\"},"
         "{\"fields\": [\"qt_ms\", \"qtc_ms\"], \"regex\": \"QT ([0-9]+)\"}]}",
         "site.json: patterns[1].regex: has 1 capture group, field qtc_ms "
         "needs group 2"},
        {"{\"patterns\": [{\"field\": \"qt_ms\"}]}",
         "site.json: patterns[0].regex: must be a non-empty string"},
        {"{\"patterns\": [{\"regex\": \"x\"}]}",
         "site.json: patterns[0]: give either \"field\" or \"fields\""},
        {"{\"patterns\": [{\"field\": \"qt_ms\", \"regex\": \"(x)\", "
         "\"flags\": 1}]}",
         "site.json: patterns[0]: unknown key \"flags\" (known: field, "
         "fields, regex, groups, scale, date_order)"},
        {"{\"patterns\": [{\"field\": \"qt_ms\", \"regex\": \"(x)\", "
         "\"scale\": 0}]}",
         "site.json: patterns[0].scale: must be a number above 0 and at "
         "most 1e6"},
        {"{\"patterns\": [{\"field\": \"qt_ms\", \"regex\": \"(x)\", "
         "\"date_order\": \"dmy\"}]}",
         "site.json: patterns[0].date_order: only for acquired_at"},
        {"{\"patterns\": [{\"field\": \"qt_ms\", \"regex\": \"(x)\", "
         "\"groups\": [0]}]}",
         "site.json: patterns[0].groups[0]: must be an integer from 1 to 9"},
        {"{\"patterns\": [{\"fields\": [\"interpretation\", \"qt_ms\"], "
         "\"regex\": \"(x)\"}]}",
         "site.json: patterns[0]: interpretation must be the pattern's only "
         "field"},
        {"{\"patterns\": 3}",
         "site.json: must be an object with one key, \"patterns\": a list"},
        {"{\"patterns\": [], \"x\": 1}",
         "site.json: must be an object with one key, \"patterns\": a list"},
        {"{\"patterns\": [",
         "site.json: line 1, column 14: ']' expected near end "
         "of file"},
        {"{\"patterns\": [7]}", "site.json: patterns[0]: must be an object"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = parse_err(bad[i].json, &err);
        if (rc != ETL_ECONFIG || strcmp(err.data, bad[i].msg) != 0)
            HARNESS_FAIL("case %zu: rc %d\n  got  %s\n  want %s", i, rc,
                         err.data, bad[i].msg);
    }
    /* An empty list is fine: the built-ins alone. */
    CHECK_EQ_INT(parse_err("{\"patterns\": []}", &err), 0);

    buf_release(&err);
}

/* The generator's reports round-trip: every field of the manifest is read
 * back exactly from the PDF's page-1 text. */
TEST(samples_round_trip)
{
    struct pdf_engine *e = NULL;
    struct pdf_worker *w = NULL;
    CHECK_EQ_INT(pdf_engine_new(NULL, &e), 0);
    CHECK_EQ_INT(pdf_worker_new(e, &w), 0);
    struct buf pdf = BUF_INIT, meta = BUF_INIT, text = BUF_INIT;
    static const char *const keys[] = {"vent_rate", NULL,     "pr",
                                       "qrs",       "qt",     "qtc",
                                       "p_axis",    "r_axis", "t_axis"};
    int compared = 0;
    for (int i = 0; i < 40 && w; i++) {
        enum sample_kind kind = i == 39 ? SAMPLE_ONE_PAGE : SAMPLE_GOOD;
        CHECK_EQ_INT(pdf_sample_make(11, i, kind, &pdf, &meta), 0);
        json_t *m = json_loads(meta.data, 0, NULL);
        struct pdf_doc *d = NULL;
        CHECK_EQ_INT(pdf_doc_open(w, pdf.data, pdf.len, &d), 0);
        buf_reset(&text);
        CHECK_EQ_INT(pdf_doc_text(d, 0, &text), 0);
        pdf_doc_free(d);
        struct fields_result r;
        CHECK_EQ_INT(fields_extract(builtin(), text.data, text.len, &r), 0);
        for (int f = 0; f < FIELDS_NUMERIC; f++) {
            if (!keys[f]) {
                CHECK(!r.has[f]); /* the generator prints no atrial rate */
                continue;
            }
            json_int_t want = json_integer_value(json_object_get(m, keys[f]));
            if (!r.has[f] || r.value[f] != want)
                HARNESS_FAIL("sample %d: %s %d, want %lld", i, keys[f],
                             r.has[f] ? r.value[f] : NA, (long long)want);
        }
        json_t *interp = json_object_get(m, "interpretation");
        CHECK(r.has_interpretation);
        CHECK_EQ_INT(r.nstatements, json_array_size(interp));
        for (size_t k = 0; k < r.nstatements && k < json_array_size(interp);
             k++)
            CHECK_EQ_STR(r.statements[k],
                         json_string_value(json_array_get(interp, k)));
        int y, mo, dd, h, mi, sec;
        CHECK_EQ_INT(sscanf(json_string_value(json_object_get(m, "acquired")),
                            "%d-%d-%d %d:%d:%d", &y, &mo, &dd, &h, &mi, &sec),
                     6);
        CHECK(r.has_acquired);
        CHECK_EQ_INT(r.acquired_ms, utc_ms(y, mo, dd, h, mi, sec));
        CHECK_EQ_INT(r.rejected, 0);
        fields_result_release(&r);
        json_decref(m);
        compared++;
    }
    CHECK_EQ_INT(compared, 40);
    buf_release(&pdf);
    buf_release(&meta);
    buf_release(&text);
    pdf_worker_free(w);
    pdf_engine_free(e);
}

int main(void)
{
    RUN(label_styles);
    RUN(interpretation);
    RUN(datetimes);
    RUN(acquired_in_text);
    RUN(site_patterns);
    RUN(samples_round_trip);
    fields_free(builtin());
    return harness_done();
}
