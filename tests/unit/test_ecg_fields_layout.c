/* Measurements by position: synthetic page layouts, given as spans (text
 * at a position), read with fields_extract_layout(). Each case is one
 * layout a real device prints (or a trap one does) and the values, the
 * acquisition time, the rejected count and the sources it must give.
 *
 * Spans are listed in the order a content stream might draw them, not in
 * reading order: only their positions may matter. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "ecg/fields.h"
#include "harness.h"
#include "pdf/pdf.h"

#define NA (-9999)
#define MAXSP 24

struct sp {
    float x, base, size; /* size 0: 10 */
    const char *text;
};

struct lcase {
    const char *name;
    struct sp sp[MAXSP];
    /* vent, atrial, pr, qrs, qt, qtc, p, r, t */
    int v[FIELDS_NUMERIC];
    const char *acquired; /* "YYYY-MM-DD HH:MM:SS" or NULL */
    int rejected;
    /* "field=source" of every value kept, in column order, '|' between;
     * NULL: not checked */
    const char *sources;
};

static struct fields_set *builtin(void)
{
    static struct fields_set *s;
    if (!s) {
        struct buf err = BUF_INIT;
        if (fields_parse(NULL, NULL, &s, &err))
            fprintf(stderr, "built-in: %s\n", err.data);
        buf_release(&err);
    }
    return s;
}

/* Boxes as a proportional font would give them: half an em a character,
 * 0.8 em above the baseline, 0.2 below, on a landscape page of 842 x 595
 * pt. dir turns the page: (0, -1) is that report on a portrait page with
 * /Rotate 90, as MuPDF sees it; (-1, 0) is it upside down. */
static void make_layout(const struct sp *sp, struct pdf_layout *l,
                        struct buf *text, float dx, float dy)
{
    memset(l, 0, sizeof(*l));
    buf_reset(text);
    size_t n = 0;
    while (n < MAXSP && sp[n].text)
        n++;
    l->spans = calloc(n ? n : 1, sizeof(*l->spans));
    l->nspans = n;
    const float W = 842, H = 595;
    /* page space = frame turned by dir, moved back onto the page */
    float ox = dx < 0 ? W : 0, oy = dy < 0 ? W : dx < 0 ? H : 0;
    l->page_w = dx != 0 ? W : H;
    l->page_h = dx != 0 ? H : W;
    for (size_t i = 0; i < n; i++) {
        float size = sp[i].size > 0 ? sp[i].size : 10;
        size_t chars = 0;
        for (const char *q = sp[i].text; *q; q++)
            chars += ((unsigned char)*q & 0xc0) != 0x80;
        float w = 0.5f * size * (float)chars;
        /* reading frame (u along the text, v down) to page space */
        float u0 = sp[i].x, u1 = u0 + w;
        float v0 = sp[i].base - 0.8f * size, v1 = sp[i].base + 0.2f * size;
        float xs[2] = {u0 * dx - v0 * dy + ox, u1 * dx - v1 * dy + ox};
        float ys[2] = {u0 * dy + v0 * dx + oy, u1 * dy + v1 * dx + oy};
        struct pdf_span *s = &l->spans[i];
        s->off = text->len;
        s->len = strlen(sp[i].text);
        s->x0 = fminf(xs[0], xs[1]), s->x1 = fmaxf(xs[0], xs[1]);
        s->y0 = fminf(ys[0], ys[1]), s->y1 = fmaxf(ys[0], ys[1]);
        s->bx = u0 * dx - sp[i].base * dy + ox;
        s->by = u0 * dy + sp[i].base * dx + oy;
        s->size = size;
        s->dx = dx, s->dy = dy;
        s->line = (uint32_t)i;
        buf_add(text, sp[i].text, s->len + 1); /* with its NUL */
    }
    l->text = text->data;
    l->text_len = text->len;
}

static long long utc_ms_of(const char *when)
{
    struct tm tm = {0};
    int y, mo, d, h, mi, s;
    if (sscanf(when, "%d-%d-%d %d:%d:%d", &y, &mo, &d, &h, &mi, &s) != 6)
        return -1;
    tm.tm_year = y - 1900, tm.tm_mon = mo - 1, tm.tm_mday = d;
    tm.tm_hour = h, tm.tm_min = mi, tm.tm_sec = s;
    return (long long)timegm(&tm) * 1000;
}

static void sources_of(const struct fields_result *r, struct buf *out)
{
    buf_reset(out);
    for (int f = 0; f < FIELDS_NUMERIC; f++)
        if (r->has[f])
            buf_printf(out, "%s%s=%s", out->len ? "|" : "",
                       fields_name((enum fields_id)f), r->source[f]);
    if (r->has_acquired)
        buf_printf(out, "%sacquired_at=%s", out->len ? "|" : "",
                   r->acquired_source);
}

static void check_case(const struct lcase *c, float dx, float dy)
{
    struct pdf_layout l;
    struct buf text = BUF_INIT, src = BUF_INIT;
    make_layout(c->sp, &l, &text, dx, dy);
    struct fields_result r;
    /* The page text is only for site patterns and statements. */
    if (fields_extract_layout(builtin(), "", 0, &l, &r)) {
        HARNESS_FAIL("%s: fields_extract_layout failed", c->name);
        goto out;
    }
    for (int f = 0; f < FIELDS_NUMERIC; f++) {
        int got = r.has[f] ? r.value[f] : NA;
        if (got != c->v[f])
            HARNESS_FAIL("%s (dir %g,%g): %s got %d, want %d", c->name, dx, dy,
                         fields_name((enum fields_id)f), got, c->v[f]);
    }
    long long want = c->acquired ? utc_ms_of(c->acquired) : NA;
    long long got = r.has_acquired ? (long long)r.acquired_ms : NA;
    if (got != want)
        HARNESS_FAIL("%s: acquired_at %lld, want %lld (%s)", c->name, got, want,
                     c->acquired ? c->acquired : "null");
    if (r.rejected != c->rejected)
        HARNESS_FAIL("%s: rejected %d, want %d", c->name, r.rejected,
                     c->rejected);
    sources_of(&r, &src);
    if (c->sources && strcmp(src.data, c->sources) != 0)
        HARNESS_FAIL("%s: sources\n  got  %s\n  want %s", c->name, src.data,
                     c->sources);
    fields_result_release(&r);
out:
    free(l.spans);
    buf_release(&text);
    buf_release(&src);
}

#define V(...)                                                                 \
    {                                                                          \
        __VA_ARGS__                                                            \
    }
#define NONE V(NA, NA, NA, NA, NA, NA, NA, NA, NA)

static const struct lcase cases[] = {
    /* GE MUSE 12SL: labels in one column, values right-aligned in a
     * second, units in a third; the content stream draws "ms" before its
     * label and the axes right to left (11, 34, -5): left to right on
     * the page they are P -5, R 34, T 11. */
    {"muse",
     {{154.5f, 51, 9.07f, "Vent. rate"},
      {271.2f, 51, 9.07f, "80"},
      {294.1f, 51, 9.07f, "BPM"},
      {154.5f, 60, 9.07f, "PR interval"},
      {299.5f, 60, 9.07f, "ms"},
      {265.8f, 60, 9.07f, "146"},
      {154.5f, 69.1f, 9.07f, "QRS duration"},
      {271.2f, 69.1f, 9.07f, "84"},
      {299.5f, 69.1f, 9.07f, "ms"},
      {299.5f, 78.2f, 9.07f, "ms"},
      {154.5f, 78.2f, 9.07f, "QT/QTcB"},
      {244, 78.2f, 9.07f, "362/417"},
      {299, 87.2f, 9.07f, "11"},
      {271.2f, 87.2f, 9.07f, "34"},
      {253.2f, 87.2f, 9.07f, "-5"},
      {154.5f, 87.2f, 9.07f, "P-R-T axes"},
      {327.4f, 32.8f, 9.07f, "2020/02/11 11:31:29"},
      {219.7f, 32.8f, 9.07f, "ID:500"},
      {12.8f, 51, 9.07f, "1997/09/08 (23 歲)"}},
     V(80, NA, 146, 84, 362, 417, -5, 34, 11),
     "2020-02-11 11:31:29",
     0,
     "vent_rate_bpm=Vent. rate|pr_interval_ms=PR interval|"
     "qrs_duration_ms=QRS duration|qt_ms=QT/QTcB|qtc_ms=QT/QTcB|"
     "p_axis_deg=P-R-T axes|r_axis_deg=P-R-T axes|t_axis_deg=P-R-T axes|"
     "acquired_at=(unlabelled)"},
    /* GE CardioSoft (German): values right-aligned beside the labels;
     * the date over its time, with no label. */
    {"cardiosoft_de",
     {{4.4f, 46.8f, 10.2f, "Patienten-Nr.: 1247165"},
      {4.4f, 58.1f, 10.2f, "29.04.2025"},
      {4.4f, 69.4f, 10.2f, "8:28:13"},
      {82.4f, 58.1f, 10.2f, "männlich"},
      {82.4f, 69.4f, 10.2f, "75J."},
      {82.4f, 80.9f, 9.2f, "Herzfrequenz"},
      {82.4f, 92.2f, 9.2f, "PQ Intervall"},
      {82.4f, 103.4f, 9.2f, "QRS Dauer"},
      {82.4f, 114.7f, 9.2f, "QT/QTc"},
      {82.4f, 126.2f, 9.2f, "P-QRS-T Winkel"},
      {82.4f, 137.5f, 9.2f, "P Dauer"},
      {82.4f, 148.8f, 9.2f, "RR/PP Intervall"},
      {191.4f, 80.9f, 9.2f, "55/min"},
      {186.8f, 92.2f, 9.2f, "190ms"},
      {186.8f, 103.4f, 9.2f, "100ms"},
      {170.5f, 114.7f, 9.2f, "408/390ms"},
      {167.9f, 126.2f, 9.2f, "66/86/23\xc2\xb0"},
      {186.8f, 137.5f, 9.2f, "120ms"},
      {161.4f, 148.8f, 9.2f, "1082/1090ms"},
      {4.4f, 569.8f, 10.2f, "50mm/s"}},
     V(55, NA, 190, 100, 408, 390, 66, 86, 23),
     "2025-04-29 08:28:13",
     0,
     "vent_rate_bpm=Herzfrequenz|pr_interval_ms=PQ Intervall|"
     "qrs_duration_ms=QRS Dauer|qt_ms=QT/QTc|qtc_ms=QT/QTc|"
     "p_axis_deg=P-QRS-T Winkel|r_axis_deg=P-QRS-T Winkel|"
     "t_axis_deg=P-QRS-T Winkel|acquired_at=(unlabelled)"},
    /* Schiller-style blocks: all labels, then all values, on shared
     * baselines; the mean rate is the rate, maximum and minimum are not;
     * a date and a time under two labels. */
    {"blocks_ru",
     {{20, 35, 10, "Дата"},
      {20, 50, 10, "Время"},
      {20, 65, 10, "Длительность"},
      {220, 35, 10, "ФИО"},
      {220, 50, 10, "Возраст"},
      {420, 35, 10, "ЧСС средняя"},
      {420, 50, 10, "ЧСС макс."},
      {420, 65, 10, "ЧСС мин."},
      {80, 35, 10, "12 июля 2023"},
      {80, 50, 10, "13:01"},
      {80, 65, 10, "60 сек"},
      {280, 35, 10, "Сергей Сергеев"},
      {280, 50, 10, "0"},
      {480, 35, 10, "57 уд/мин"},
      {480, 50, 10, "66 уд/мин"},
      {480, 65, 10, "30 уд/мин"},
      {468, 806, 10, "25 мм/сек, 10 мм/мВ"}},
     V(57, NA, NA, NA, NA, NA, NA, NA, NA),
     "2023-07-12 13:01:00",
     0,
     "vent_rate_bpm=ЧСС средняя|acquired_at=Дата+Время"},
    /* Kardia: each label over its value; a birth date over its own. */
    {"below",
     {{410, 94.1f, 10, "Sex"},
      {410, 109.1f, 10, "Male"},
      {456, 94.1f, 10, "Age"},
      {456, 109.1f, 10, "55yrs"},
      {506, 94.1f, 10, "Date of Birth"},
      {506, 109.1f, 10, "5/4/70"},
      {36, 194.1f, 10, "Recorded on:"},
      {36, 211.2f, 10, "Monday, February 23, 2026 at 6:26:56 PM"},
      {318, 194.1f, 10, "Heart Rate:"},
      {318, 211.2f, 10, "87 BPM"},
      {36, 236.2f, 10, "Duration:"},
      {36, 253.2f, 10, "30s"}},
     V(87, NA, NA, NA, NA, NA, NA, NA, NA),
     "2026-02-23 18:26:56",
     0,
     "vent_rate_bpm=Heart Rate|acquired_at=Recorded on"},
    /* No labels at all: a rate with its unit and the one date with a
     * time on the page. */
    {"unlabelled",
     {{38, 36.2f, 10.5f, "Report JAKNZE"},
      {214, 36.2f, 10.5f, "Feb 20, 2023, 2:03:07 AM"},
      {437, 36.2f, 10.5f, "67 bpm"},
      {792, 576, 7.5f, "1/1"}},
     V(67, NA, NA, NA, NA, NA, NA, NA, NA),
     "2023-02-20 02:03:07",
     0,
     "vent_rate_bpm=(unlabelled)|acquired_at=(unlabelled)"},
    /* Tricog: label and value in one run each, side by side; AR is the
     * atrial rate, VR the ventricular; degrees after each axis. */
    {"runs",
     {{394, 46.8f, 10, "Date and Time: 14th Feb 25 5:38 PM"},
      {80, 490, 9, "AR: 60bpm"},
      {170, 490, 9, "VR: 72bpm"},
      {260, 490, 9, "QRSD: 86ms"},
      {350, 490, 9, "QT: 416ms"},
      {440, 490, 9, "QTcB: 416ms"},
      {548, 490, 9, "PRI: 148ms"},
      {638, 490, 9, "P-R-T: 40\xc2\xb0 -15\xc2\xb0 75\xc2\xb0"}},
     V(72, 60, 148, 86, 416, 416, 40, -15, 75),
     "2025-02-14 17:38:00",
     0,
     "vent_rate_bpm=VR|atrial_rate_bpm=AR|pr_interval_ms=PRI|"
     "qrs_duration_ms=QRSD|qt_ms=QT|qtc_ms=QTcB|p_axis_deg=P-R-T|"
     "r_axis_deg=P-R-T|t_axis_deg=P-R-T|acquired_at=Date and Time"},
    /* dicom-ecg-plot: "ms" after the axes is a slip of the renderer; the
     * birth date is not the acquisition. */
    {"dcmplot",
     {{67, 80.4f, 12, "birthdate: 23 Jan 1971"},
      {420, 35.6f, 10, "Ventr. Freq.: 61 BPM"},
      {420, 46.8f, 10, "PR Interval: 161 ms"},
      {420, 58, 10, "QRS Duration: 75 ms"},
      {420, 69.2f, 10, "QT/QTc: 368/370 ms"},
      {420, 80.4f, 10, "P-R-T Axis: 74 52 57 ms"},
      {25, 35.7f, 12, "ECG date: 25 Jan 2013 09:54"}},
     V(61, NA, 161, 75, 368, 370, 74, 52, 57),
     "2013-01-25 09:54:00",
     0,
     NULL},
    /* French, Spanish, Italian, Chinese */
    {"fr",
     {{10, 10, 10, "FC: 72 bpm"},
      {10, 22, 10, "Intervalle PR: 160 ms"},
      {10, 34, 10, "Durée QRS: 90 ms"},
      {10, 46, 10, "QT/QTc: 380/410 ms"},
      {10, 58, 10, "Axes P-QRS-T: 60 45 30"},
      {10, 70, 10, "Date et heure: 13 février 2026 à 10:42"}},
     V(72, NA, 160, 90, 380, 410, 60, 45, 30),
     "2026-02-13 10:42:00",
     0,
     NULL},
    {"es",
     {{10, 10, 10, "Frecuencia cardíaca: 72 lpm"},
      {10, 22, 10, "Intervalo PR: 160 ms"},
      {10, 34, 10, "Duración QRS: 0,09 s"},
      {10, 46, 10, "QTc: 410 ms"},
      {10, 58, 10, "Eje QRS: -30\xc2\xb0"},
      {10, 70, 10, "Fecha y hora: 13 de febrero de 2026 a las 10:42"}},
     V(72, NA, 160, 90, NA, 410, NA, -30, NA),
     "2026-02-13 10:42:00",
     0,
     NULL},
    {"it",
     {{10, 10, 10, "Frequenza cardiaca"},
      {150, 10, 10, "72 bpm"},
      {10, 22, 10, "Intervallo PR"},
      {150, 22, 10, "160 ms"},
      {10, 34, 10, "Durata QRS"},
      {150, 34, 10, "90 ms"},
      {10, 46, 10, "QT"},
      {150, 46, 10, "380 ms"},
      {10, 58, 10, "Asse QRS"},
      {150, 58, 10, "45\xc2\xb0"},
      {10, 70, 10, "Data e ora"},
      {150, 70, 10, "13 febbraio 2026, 10:42"}},
     V(72, NA, 160, 90, 380, NA, NA, 45, NA),
     "2026-02-13 10:42:00",
     0,
     NULL},
    {"zh",
     {{10, 10, 10, "心率: 72次/分"},
      {10, 22, 10, "PR间期: 160ms"},
      {10, 34, 10, "QRS时限: 90ms"},
      {10, 46, 10, "QT/QTc: 380/410ms"},
      {10, 58, 10, "P/QRS/T电轴: 60/45/30\xc2\xb0"},
      {10, 70, 10, "检查时间: 2020年2月11日 11:31"}},
     V(72, NA, 160, 90, 380, 410, 60, 45, 30),
     "2020-02-11 11:31:00",
     0,
     NULL},
    {"ru_runs",
     {{10, 10, 10, "ЧСС: 72 уд/мин"},
      {10, 22, 10, "Интервал PQ: 160 мс"},
      {10, 34, 10, "Длительность QRS: 90 мс"},
      {10, 46, 10, "Интервал QT: 380 мс"},
      {10, 58, 10, "ЭОС: 45\xc2\xb0"},
      {10, 70, 10, "Дата исследования: 12 июля 2023 г. в 13:01"}},
     V(72, NA, 160, 90, 380, NA, NA, 45, NA),
     "2023-07-12 13:01:00",
     0,
     NULL},
    /* Philips: values beside, an "Axis" block of P, QRS, T lines */
    {"philips",
     {{10, 10, 10, "Rate"},
      {60, 10, 10, "58"},
      {10, 22, 10, "PR"},
      {60, 22, 10, "170"},
      {10, 34, 10, "QRSD"},
      {60, 34, 10, "96"},
      {10, 46, 10, "QT"},
      {60, 46, 10, "440"},
      {10, 58, 10, "QTc"},
      {60, 58, 10, "432"},
      {10, 76, 10, "--Axis--"},
      {10, 88, 10, "P"},
      {60, 88, 10, "51"},
      {10, 100, 10, "QRS"},
      {60, 100, 10, "-2"},
      {10, 112, 10, "T"},
      {60, 112, 10, "38"}},
     V(58, NA, 170, 96, 440, 432, 51, -2, 38),
     NULL,
     0,
     NULL},
    /* Headings and a compact line of several label-value cells */
    {"one_line",
     {{10, 10, 8, "HR: 101 bpm PR: 150 ms QRS: 88 ms QT: 330 ms QTc: 428 ms"}},
     V(101, NA, 150, 88, 330, 428, NA, NA, NA),
     NULL,
     0,
     NULL},
    /* Apple Watch: the rate before its label; Schiller-like cells with
     * a P duration that is no field; a bare "QRS" in ms is a duration. */
    {"watch",
     {{30, 40, 12, "Date of Birth: Jan 1, 1980"},
      {30, 60, 14, "Sinus Rhythm \xe2\x80\x94 72 BPM Average"},
      {30, 78, 10, "Recorded on Apr 1, 2021 at 3:04 PM"},
      {30, 560, 8, "25 mm/s, 10 mm/mV, Lead I, 512Hz, iOS 14.4, watchOS 7.3"}},
     V(72, NA, NA, NA, NA, NA, NA, NA, NA),
     "2021-04-01 15:04:00",
     0,
     "vent_rate_bpm=Average|acquired_at=Recorded on"},
    {"schiller_cells",
     {{10, 10, 10, "HR"},
      {60, 10, 10, "72 bpm"},
      {10, 22, 10, "P"},
      {60, 22, 10, "100 ms"},
      {10, 34, 10, "PQ"},
      {60, 34, 10, "160 ms"},
      {10, 46, 10, "QRS"},
      {60, 46, 10, "90 ms"},
      {10, 58, 10, "QT/QTc"},
      {60, 58, 10, "380/410 ms"},
      {10, 70, 10, "P/QRS/T"},
      {60, 70, 10, "60/45/30 \xc2\xb0"},
      {10, 82, 10, "RR"},
      {60, 82, 10, "833 ms"},
      {200, 10, 10, "04-MAR-2021 10:32:11"}},
     V(72, NA, 160, 90, 380, 410, 60, 45, 30),
     "2021-03-04 10:32:11",
     0,
     NULL},
    /* Decoys and traps ------------------------------------------------ */
    /* Only an atrial rate: it is not the ventricular one. */
    {"atrial_only",
     {{10, 10, 10, "AR: 250bpm"},
      {10, 22, 10, "Atrial rate"},
      {100, 22, 10, "250"}},
     V(NA, 250, NA, NA, NA, NA, NA, NA, NA),
     NULL,
     0,
     "atrial_rate_bpm=AR"},
    /* Maximum and minimum rates, a birth date with a time, a generated
     * date, a print date: none of them is a field. */
    {"decoys",
     {{10, 10, 10, "Max HR: 150 bpm"},
      {10, 22, 10, "HR min"},
      {80, 22, 10, "40 bpm"},
      {10, 34, 10, "Date of Birth: 1970-05-04 10:00"},
      {10, 46, 10, "Generated : 20 July 2026 01:28 AM"},
      {10, 58, 10, "Printed"},
      {10, 70, 10, "2024-01-02 03:04"},
      {10, 82, 10, "DOB"},
      {80, 82, 10, "04.05.1970"},
      {10, 94, 10, "RR interval 1082 ms"}},
     NONE,
     NULL,
     0,
     ""},
    /* A label with no value, and one whose nearest right neighbour is
     * another label: nothing is taken past it. */
    {"no_value",
     {{10, 10, 10, "Vent. rate"},
      {10, 22, 10, "PR interval"},
      {150, 22, 10, "QRS duration"},
      {280, 22, 10, "84"},
      {10, 34, 10, "QT/QTc"},
      {150, 34, 10, "***/***"}},
     V(NA, NA, NA, 84, NA, NA, NA, NA, NA),
     NULL,
     0,
     "qrs_duration_ms=QRS duration"},
    /* Two different values for one field: neither is kept; the same
     * value printed twice is. */
    {"conflict",
     {{10, 10, 10, "Vent. rate 80 BPM"},
      {10, 300, 10, "Vent. rate 81 BPM"},
      {10, 22, 10, "PR interval 160 ms"},
      {10, 310, 10, "PR interval 160 ms"}},
     V(NA, NA, 160, NA, NA, NA, NA, NA, NA),
     NULL,
     2,
     NULL},
    /* Wrong units, a compound that does not fit its label, values out of
     * range, an impossible date: found, not kept, counted. */
    {"rejected",
     {{10, 10, 10, "HR: 60 ms"},
      {10, 22, 10, "QT/QTc: 380 ms"},
      {10, 34, 10, "PR: 0.16 s"},
      {10, 46, 10, "QRSD: 900 ms"},
      {10, 58, 10, "P axis: 400\xc2\xb0"},
      {10, 70, 10, "Recorded: 2024-02-30 10:00"},
      {10, 82, 10, "T axis: 30 ms"}},
     V(NA, NA, 160, NA, NA, NA, NA, NA, NA),
     NULL,
     6,
     "pr_interval_ms=PR"},
    /* Two unlabelled dates with times, two unlabelled rates: not
     * guessed. A value below a label that has its own label beside it is
     * not the upper label's. */
    {"ambiguous",
     {{10, 10, 10, "2024-01-02 03:04"},
      {300, 10, 10, "2024-01-03 03:04"},
      {10, 22, 10, "72 bpm"},
      {300, 22, 10, "75 bpm"},
      {10, 100, 10, "Heart rate:"},
      {10, 112, 10, "Age:"},
      {50, 112, 10, "72"}},
     NONE,
     NULL,
     4,
     ""},
    /* A timestamp in the footer, with no label, is when the page was
     * printed, not the acquisition; a rate down there is not taken
     * either. */
    {"footer",
     {{10, 20, 10, "Vent. rate 72 BPM"},
      {10, 570, 8, "Page 1 of 2"},
      {300, 570, 8, "2024-07-19 08:00:00"},
      {500, 570, 8, "80 bpm"}},
     V(72, NA, NA, NA, NA, NA, NA, NA, NA),
     NULL,
     0,
     "vent_rate_bpm=Vent. rate"},
    /* One value a lead after a label: which is the label's? */
    {"per_lead_row",
     {{10, 20, 10, "QT"},
      {60, 20, 10, "380"},
      {90, 20, 10, "384"},
      {120, 20, 10, "379"},
      {10, 32, 10, "PR interval"},
      {100, 32, 10, "160"},
      {130, 32, 10, "ms"}},
     V(NA, NA, 160, NA, NA, NA, NA, NA, NA),
     NULL,
     1,
     NULL},
    /* A value under a label without one, but with a label of its own to
     * its left: not the upper label's. */
    {"below_has_label",
     {{100, 20, 10, "Heart rate:"},
      {10, 32, 10, "Weight:"},
      {100, 32, 10, "72"}},
     NONE,
     NULL,
     0,
     ""},
    /* An unlabelled value next to text ending in ':' has a label, just
     * not one we know. */
    {"unknown_label",
     {{10, 10, 10, "Pulse:"},
      {80, 10, 10, "67 bpm"},
      {10, 22, 10, "Exported:"},
      {10, 34, 10, "2024-01-02 03:04"}},
     NONE,
     NULL,
     0,
     ""},
    /* A rate in its own column whose label is a Chinese heading above,
     * centered: the column holds it. */
    {"column_centered",
     {{100, 10, 10, "平均心率"}, {105, 24, 10, "72"}, {125, 24, 10, "bpm"}},
     V(72, NA, NA, NA, NA, NA, NA, NA, NA),
     NULL,
     0,
     "vent_rate_bpm=平均心率"},
};

TEST(layouts)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_case(&cases[i], 1, 0);
}

/* The same layouts on a page turned by /Rotate 90 (text running up), and
 * upside down: read the same. */
TEST(layouts_rotated)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        check_case(&cases[i], 0, -1);
        check_case(&cases[i], -1, 0);
    }
}

/* Text in another direction than the page's main one is left out (a
 * label printed sideways along a strip is not next to anything). */
TEST(other_direction)
{
    struct sp sp[] = {{10, 10, 10, "Vent. rate"},
                      {100, 10, 10, "80"},
                      {10, 22, 10, "PR interval 160 ms"},
                      {0, 0, 0, NULL}};
    struct pdf_layout l;
    struct buf text = BUF_INIT;
    make_layout(sp, &l, &text, 1, 0);
    l.spans[1].dx = 0, l.spans[1].dy = -1; /* "80" runs up */
    struct fields_result r;
    CHECK_EQ_INT(fields_extract_layout(builtin(), "", 0, &l, &r), 0);
    CHECK(!r.has[FIELDS_VENT_RATE]);
    CHECK(r.has[FIELDS_PR] && r.value[FIELDS_PR] == 160);
    fields_result_release(&r);
    /* An empty layout, a layout of blanks */
    l.nspans = 0;
    CHECK_EQ_INT(fields_extract_layout(builtin(), "", 0, &l, &r), 0);
    CHECK_EQ_INT(fields_read_count(&r), 0);
    fields_result_release(&r);
    free(l.spans);
    buf_release(&text);
}

/* Site patterns decide first, over the text; the layout fills the rest,
 * and the source says which. */
TEST(site_patterns_first)
{
    struct buf err = BUF_INIT;
    struct fields_set *s = NULL;
    const char *json =
        "{\"patterns\": [{\"field\": \"vent_rate_bpm\", \"regex\": "
        "\"Pulse ([0-9]+)\"}]}";
    CHECK_EQ_INT(fields_parse(json, "site.json", &s, &err), 0);
    struct sp sp[] = {{10, 10, 10, "Vent. rate"},
                      {100, 10, 10, "80"},
                      {10, 22, 10, "PR interval"},
                      {100, 22, 10, "160"},
                      {0, 0, 0, NULL}};
    struct pdf_layout l;
    struct buf text = BUF_INIT;
    make_layout(sp, &l, &text, 1, 0);
    const char *page = "Pulse 77\nVent. rate\n80\n";
    struct fields_result r;
    CHECK_EQ_INT(fields_extract_layout(s, page, strlen(page), &l, &r), 0);
    CHECK(r.has[FIELDS_VENT_RATE] && r.value[FIELDS_VENT_RATE] == 77);
    CHECK_EQ_STR(r.source[FIELDS_VENT_RATE],
                 "(FIELD_PATTERNS_FILE patterns[0])");
    CHECK(r.has[FIELDS_PR] && r.value[FIELDS_PR] == 160);
    CHECK_EQ_STR(r.source[FIELDS_PR], "PR interval");
    CHECK_EQ_INT(fields_read_count(&r), 2);
    fields_result_release(&r);
    free(l.spans);
    buf_release(&text);
    buf_release(&err);
    fields_free(s);
}

/* Sources are cut on a character boundary. */
TEST(long_label)
{
    struct sp sp[] = {{10, 10, 10,
                       "Частота сердечных сокращений Частота сердечных "
                       "сокращений: 72"},
                      {10, 22, 10, "Частота сердечных сокращений: 72 уд/мин"},
                      {0, 0, 0, NULL}};
    struct pdf_layout l;
    struct buf text = BUF_INIT;
    make_layout(sp, &l, &text, 1, 0);
    struct fields_result r;
    CHECK_EQ_INT(fields_extract_layout(builtin(), "", 0, &l, &r), 0);
    CHECK(r.has[FIELDS_VENT_RATE] && r.value[FIELDS_VENT_RATE] == 72);
    size_t n = strlen(r.source[FIELDS_VENT_RATE]);
    CHECK(n > 0 && n < FIELDS_SOURCE_MAX);
    /* valid UTF-8: no lead byte without its continuation at the end */
    CHECK(((unsigned char)r.source[FIELDS_VENT_RATE][n - 1] & 0xc0) != 0xc0);
    fields_result_release(&r);
    free(l.spans);
    buf_release(&text);
}

int main(void)
{
    RUN(layouts);
    RUN(layouts_rotated);
    RUN(other_direction);
    RUN(site_patterns_first);
    RUN(long_label);
    fields_free(builtin());
    return harness_done();
}
