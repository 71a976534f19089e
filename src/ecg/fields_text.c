/* Characters, the label dictionary and the tokens of a span's text, for
 * the measurement reader (fields_geo.c).
 *
 * Labels are matched case-insensitively on code points (the C library's
 * case functions follow the locale and know nothing of Cyrillic), at word
 * starts, longest first. The dictionary is a plain table: a label names the
 * fields it holds in print order ("QT/QTc" holds qt_ms then qtc_ms), so a
 * compound value is read in the order the label gives. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"
#include "ecg/fields_int.h"

/* ------------------------------------------------------------------ */
/* Characters */

uint32_t fieldsi_cp(const char **pp)
{
    const unsigned char *p = (const unsigned char *)*pp;
    uint32_t c = p[0];
    if (c == 0)
        return 0;
    int n = c < 0x80                ? 0
            : c >= 0xc2 && c < 0xe0 ? 1
            : c >= 0xe0 && c < 0xf0 ? 2
            : c >= 0xf0 && c < 0xf5 ? 3
                                    : -1;
    if (n < 0) {
        (*pp)++;
        return 0xfffd;
    }
    c &= n == 0 ? 0x7f : n == 1 ? 0x1f : n == 2 ? 0x0f : 0x07;
    for (int i = 1; i <= n; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            (*pp)++;
            return 0xfffd;
        }
        c = (c << 6) | (p[i] & 0x3f);
    }
    /* Overlong forms, surrogates and values past U+10FFFF. */
    if ((n == 2 && c < 0x800) || (n == 3 && (c < 0x10000 || c > 0x10ffff)) ||
        (c >= 0xd800 && c <= 0xdfff)) {
        (*pp)++;
        return 0xfffd;
    }
    *pp += n + 1;
    return c;
}

uint32_t fieldsi_fold(uint32_t c)
{
    if (c >= 'A' && c <= 'Z')
        return c + 32;
    if (c < 0xc0)
        return c;
    if (c <= 0xde && c != 0xd7)
        return c + 32;
    if (c >= 0x100 && c <= 0x17f) {
        bool pair_even = (c <= 0x137) || (c >= 0x14a && c <= 0x177);
        bool pair_odd = (c >= 0x139 && c <= 0x148) || (c >= 0x179);
        if (pair_even && c % 2 == 0)
            return c + 1;
        if (pair_odd && c % 2 == 1)
            return c + 1;
        return c;
    }
    if (c >= 0x391 && c <= 0x3a9 && c != 0x3a2)
        return c + 32;
    if (c >= 0x410 && c <= 0x42f)
        return c + 32;
    if (c == 0x401 || c == 0x451)
        return 0x435; /* ё is often printed as е */
    if (c >= 0x400 && c <= 0x40f)
        return c + 80;
    return c;
}

bool fieldsi_alnum(uint32_t c)
{
    if (c < 0x80)
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
               (c >= 'A' && c <= 'Z');
    if (c >= 0xc0 && c <= 0x24f)
        return c != 0xd7 && c != 0xf7;
    return (c >= 0x370 && c <= 0x3ff) || (c >= 0x400 && c <= 0x4ff);
}

bool fieldsi_blank(uint32_t c)
{
    return c == ' ' || (c > 0 && c < 0x20) || c == 0xa0 ||
           (c >= 0x2000 && c <= 0x200b) || c == 0x202f || c == 0x205f ||
           c == 0x3000 || c == 0xfeff;
}

static bool is_dash(uint32_t c)
{
    return c == '-' || c == '_' || (c >= 0x2010 && c <= 0x2015) || c == 0x2212;
}

/* Match a folded pattern at s; returns the bytes of s matched, 0 for no
 * match. literal: only ' ' is flexible (any run of blanks, possibly
 * empty); else ' ', '-' and '/' match any run of blanks and dashes ('-'
 * and '/' also slashes) and '.' an optional '.'. A pattern ending in a
 * letter or digit must end a word in s. */
static size_t match_pat(const char *pat, const char *s, bool literal)
{
    const char *p = pat, *t = s;
    uint32_t last = 0;
    while (*p) {
        char pc0 = *p;
        if (pc0 == ' ' || (!literal && (pc0 == '-' || pc0 == '/'))) {
            p++;
            for (;;) {
                const char *q = t;
                uint32_t c = fieldsi_cp(&q);
                bool skip =
                    fieldsi_blank(c) ||
                    (!literal && (is_dash(c) || (pc0 != ' ' && c == '/')));
                if (!skip)
                    break;
                t = q;
            }
            continue;
        }
        if (!literal && pc0 == '.') {
            p++;
            if (*t == '.')
                t++;
            continue;
        }
        uint32_t pc = fieldsi_cp(&p);
        const char *q = t;
        uint32_t tc = fieldsi_fold(fieldsi_cp(&q));
        if (pc != tc)
            return 0;
        t = q;
        last = pc;
    }
    if (fieldsi_alnum(last)) {
        const char *q = t;
        if (fieldsi_alnum(fieldsi_cp(&q)))
            return 0;
    }
    return (size_t)(t - s);
}

size_t fieldsi_word(const char *s, const char *word)
{
    return match_pat(word, s, true);
}

size_t fieldsi_fold_word(const char *s, char *buf, size_t cap)
{
    const char *p = s;
    size_t o = 0;
    for (;;) {
        const char *q = p;
        uint32_t c = fieldsi_cp(&q);
        if (!fieldsi_alnum(c))
            break;
        if (o + 4 >= cap)
            return 0;
        o += utf8_encode(fieldsi_fold(c), buf + o);
        p = q;
    }
    buf[o] = '\0';
    return (size_t)(p - s);
}

/* ------------------------------------------------------------------ */
/* The label dictionary */

#define VR FIELDS_VENT_RATE
#define AR FIELDS_ATRIAL_RATE
#define PR FIELDS_PR
#define QRS FIELDS_QRS
#define QT FIELDS_QT
#define QTC FIELDS_QTC
#define PA FIELDS_P_AXIS
#define RA FIELDS_R_AXIS
#define TA FIELDS_T_AXIS

/* clang-format off */
#define F1(p, f, prio) {p, LK_NUM, 1, prio, 0, {f, -1, -1}}
#define F1S(p, f, prio) {p, LK_NUM, 1, prio, FL_SPAN_START, {f, -1, -1}}
#define QTQTC(p, prio) {p, LK_NUM, 2, prio, 0, {QT, QTC, -1}}
#define AXES(p) {p, LK_NUM, 3, 2, 0, {PA, RA, TA}}
#define ACQ(p) {p, LK_ACQ, 0, 2, 0, {-1, -1, -1}}
#define DATE(p) {p, LK_DATE, 0, 1, FL_SPAN_START, {-1, -1, -1}}
#define TIME(p) {p, LK_TIME, 0, 1, FL_SPAN_START, {-1, -1, -1}}
#define DECOY(p) {p, LK_DECOY, 0, 0, 0, {-1, -1, -1}}
#define AFTER(p) {p, LK_AFTER, 1, 1, 0, {VR, -1, -1}}
/* clang-format on */

/* Folded (lower case). English, German, French, Spanish, Italian, Russian
 * and Chinese, with the abbreviations devices print. */
static const struct fieldsi_label labels[] = {
    /* Ventricular rate: specific (2) beats generic heart rate (1). */
    F1("vent. rate", VR, 2),
    F1("vent rate", VR, 2),
    F1("ventricular rate", VR, 2),
    F1("ventr. rate", VR, 2),
    F1("ventr. freq.", VR, 2),
    F1("vent. freq.", VR, 2),
    F1("ventricular frequency", VR, 2),
    F1("vr", VR, 2),
    F1("v-rate", VR, 2),
    F1("ventrikelfrequenz", VR, 2),
    F1("kammerfrequenz", VR, 2),
    F1("fréquence ventriculaire", VR, 2),
    F1("fréq. ventriculaire", VR, 2),
    F1("fréq. vent.", VR, 2),
    F1("frecuencia ventricular", VR, 2),
    F1("frec. ventricular", VR, 2),
    F1("frec. vent.", VR, 2),
    F1("frequenza ventricolare", VR, 2),
    F1("freq. ventricolare", VR, 2),
    F1("freq. vent.", VR, 2),
    F1("чжс", VR, 2),
    F1("частота желудочковых сокращений", VR, 2),
    F1("心室率", VR, 2),
    F1("heart rate", VR, 1),
    F1("hr", VR, 1),
    F1S("rate", VR, 1),
    F1("mean hr", VR, 1),
    F1("average hr", VR, 1),
    F1("avg hr", VR, 1),
    F1("mean heart rate", VR, 1),
    F1("average heart rate", VR, 1),
    F1("herzfrequenz", VR, 1),
    F1("hf", VR, 1),
    F1("mittlere hf", VR, 1),
    F1("mittlere herzfrequenz", VR, 1),
    F1("fréquence cardiaque", VR, 1),
    F1("fréq. cardiaque", VR, 1),
    F1("fréq. card.", VR, 1),
    F1("fc", VR, 1),
    F1("frecuencia cardiaca", VR, 1),
    F1("frecuencia cardíaca", VR, 1),
    F1("frec. cardiaca", VR, 1),
    F1("frec. cardíaca", VR, 1),
    F1("frec. card.", VR, 1),
    F1("frequenza cardiaca", VR, 1),
    F1("freq. cardiaca", VR, 1),
    F1("freq. card.", VR, 1),
    F1("чсс", VR, 1),
    F1("чсс средняя", VR, 1),
    F1("средняя чсс", VR, 1),
    F1("частота сердечных сокращений", VR, 1),
    F1("心率", VR, 1),
    F1("平均心率", VR, 1),
    /* Rates that are not the ventricular rate. */
    DECOY("max hr"),
    DECOY("max. hr"),
    DECOY("hr max"),
    DECOY("min hr"),
    DECOY("min. hr"),
    DECOY("hr min"),
    DECOY("max heart rate"),
    DECOY("min heart rate"),
    DECOY("maximum heart rate"),
    DECOY("minimum heart rate"),
    DECOY("peak hr"),
    DECOY("target hr"),
    DECOY("max. hf"),
    DECOY("hf max"),
    DECOY("min. hf"),
    DECOY("hf min"),
    DECOY("maximale herzfrequenz"),
    DECOY("minimale herzfrequenz"),
    DECOY("fc max"),
    DECOY("fc min"),
    DECOY("fc máx"),
    DECOY("fc mín"),
    DECOY("чсс макс."),
    DECOY("чсс мин."),
    DECOY("чсс максимальная"),
    DECOY("чсс минимальная"),
    DECOY("макс. чсс"),
    DECOY("мин. чсс"),
    DECOY("最大心率"),
    DECOY("最小心率"),
    DECOY("最快心率"),
    DECOY("最慢心率"),
    /* After a rate: Apple Watch's "72 BPM Average" */
    AFTER("average"),
    AFTER("avg"),
    AFTER("avg."),
    AFTER("durchschnitt"),
    AFTER("moyenne"),
    AFTER("en moyenne"),
    AFTER("de media"),
    AFTER("promedio"),
    AFTER("di media"),
    AFTER("в среднем"),
    AFTER("平均"),
    /* Atrial rate */
    F1("atrial rate", AR, 2),
    F1("atr. rate", AR, 2),
    F1("a rate", AR, 2),
    F1("ar", AR, 2),
    F1("atrial frequency", AR, 2),
    F1("vorhoffrequenz", AR, 2),
    F1("atriale frequenz", AR, 2),
    F1("fréquence auriculaire", AR, 2),
    F1("fréquence atriale", AR, 2),
    F1("fréq. auriculaire", AR, 2),
    F1("frecuencia auricular", AR, 2),
    F1("frec. auricular", AR, 2),
    F1("frequenza atriale", AR, 2),
    F1("freq. atriale", AR, 2),
    F1("частота предсердий", AR, 2),
    F1("心房率", AR, 2),
    /* PR (PQ) interval */
    F1("pr interval", PR, 2),
    F1("pr int.", PR, 2),
    F1("p-r", PR, 2),
    F1("p-r interval", PR, 2),
    F1("pri", PR, 2),
    F1("pq", PR, 2),
    F1("pq interval", PR, 2),
    F1("pq intervall", PR, 2),
    F1("pq-zeit", PR, 2),
    F1("pr intervall", PR, 2),
    F1("pq dauer", PR, 2),
    F1("intervalle pr", PR, 2),
    F1("int. pr", PR, 2),
    F1("intervalo pr", PR, 2),
    F1("intervallo pr", PR, 2),
    F1("интервал pq", PR, 2),
    F1("интервал pr", PR, 2),
    F1("pr间期", PR, 2),
    F1("p-r间期", PR, 2),
    F1("pq间期", PR, 2),
    /* QRS duration */
    F1("qrs duration", QRS, 2),
    F1("qrs dur.", QRS, 2),
    F1("qrsd", QRS, 2),
    F1("qrs width", QRS, 2),
    F1("qrs breite", QRS, 2),
    F1("qrs dauer", QRS, 2),
    F1("qrs zeit", QRS, 2),
    F1("durée qrs", QRS, 2),
    F1("durée du qrs", QRS, 2),
    F1("qrs durée", QRS, 2),
    F1("duración qrs", QRS, 2),
    F1("duración del qrs", QRS, 2),
    F1("durata qrs", QRS, 2),
    F1("durata del qrs", QRS, 2),
    F1("длительность qrs", QRS, 2),
    F1("qrs длительность", QRS, 2),
    F1("qrs时限", QRS, 2),
    F1("qrs间期", QRS, 2),
    F1("qrs时间", QRS, 2),
    {"qrs", LK_QRS, 1, 2, 0, {QRS, -1, -1}},
    /* QT, QTc */
    F1("qt", QT, 2),
    F1("qt interval", QT, 2),
    F1("qt int.", QT, 2),
    F1("qt-zeit", QT, 2),
    F1("qt intervall", QT, 2),
    F1("qt dauer", QT, 2),
    F1("intervalle qt", QT, 2),
    F1("intervalo qt", QT, 2),
    F1("intervallo qt", QT, 2),
    F1("интервал qt", QT, 2),
    F1("qt间期", QT, 2),
    F1("qtc", QTC, 2),
    F1("qtc b", QTC, 2),
    F1("qtc bazett", QTC, 2),
    F1("qtc interval", QTC, 2),
    F1("qtc int.", QTC, 2),
    F1("qtc-zeit", QTC, 2),
    F1("qtc intervall", QTC, 2),
    F1("intervalle qtc", QTC, 2),
    F1("intervalo qtc", QTC, 2),
    F1("intervallo qtc", QTC, 2),
    F1("интервал qtc", QTC, 2),
    F1("qtc间期", QTC, 2),
    /* Other corrections only when no Bazett value is printed. */
    F1("qtcf", QTC, 1),
    F1("qtc fridericia", QTC, 1),
    F1("qtch", QTC, 1),
    F1("qtc hodges", QTC, 1),
    F1("qtcfra", QTC, 1),
    F1("qtc framingham", QTC, 1),
    QTQTC("qt/qtc", 2),
    QTQTC("qt/qtcb", 2),
    QTQTC("qt/qtc bazett", 2),
    QTQTC("qt/qtc-zeit", 2),
    QTQTC("qt/qtc intervall", 2),
    QTQTC("qt/qtc间期", 2),
    QTQTC("qt/qtcf", 1),
    QTQTC("qt/qtch", 1),
    /* P, R (QRS) and T axes together, in that order. */
    AXES("p-r-t"),
    AXES("p-r-t axes"),
    AXES("p-r-t axis"),
    AXES("p-r-t achsen"),
    AXES("p-r-t winkel"),
    AXES("p-qrs-t"),
    AXES("p-qrs-t axes"),
    AXES("p-qrs-t axis"),
    AXES("p-qrs-t achsen"),
    AXES("p-qrs-t achse"),
    AXES("p-qrs-t winkel"),
    AXES("axes p-r-t"),
    AXES("axes p-qrs-t"),
    AXES("achsen p-qrs-t"),
    AXES("achsen p-r-t"),
    AXES("winkel p-qrs-t"),
    AXES("axe p-qrs-t"),
    AXES("ejes p-qrs-t"),
    AXES("ejes p-r-t"),
    AXES("eje p-qrs-t"),
    AXES("assi p-qrs-t"),
    AXES("assi p-r-t"),
    AXES("asse p-qrs-t"),
    AXES("оси p-qrs-t"),
    AXES("оси p-r-t"),
    AXES("ось p-qrs-t"),
    AXES("углы p-qrs-t"),
    AXES("p-qrs-t电轴"),
    AXES("p-r-t电轴"),
    AXES("frontal axes p-qrs-t"),
    AXES("p-qrs-t frontal axes"),
    /* One axis each */
    F1("p axis", PA, 2),
    F1("p achse", PA, 2),
    F1("axe p", PA, 2),
    F1("eje p", PA, 2),
    F1("asse p", PA, 2),
    F1("ось p", PA, 2),
    F1("p电轴", PA, 2),
    F1("qrs axis", RA, 2),
    F1("r axis", RA, 2),
    F1("qrs achse", RA, 2),
    F1("r achse", RA, 2),
    F1("axe qrs", RA, 2),
    F1("axe r", RA, 2),
    F1("eje qrs", RA, 2),
    F1("asse qrs", RA, 2),
    F1("ось qrs", RA, 2),
    F1("эос", RA, 2),
    F1("qrs电轴", RA, 2),
    F1("electrical axis", RA, 2),
    F1("elektrische achse", RA, 2),
    F1S("axis", RA, 1),
    F1("电轴", RA, 1),
    F1("t axis", TA, 2),
    F1("t achse", TA, 2),
    F1("axe t", TA, 2),
    F1("eje t", TA, 2),
    F1("asse t", TA, 2),
    F1("ось t", TA, 2),
    F1("t电轴", TA, 2),
    /* Other intervals printed next to these. */
    DECOY("p duration"),
    DECOY("p dur."),
    DECOY("p dauer"),
    DECOY("p-welle"),
    DECOY("durée p"),
    DECOY("duración p"),
    DECOY("durata p"),
    DECOY("длительность p"),
    DECOY("p时限"),
    DECOY("rr"),
    DECOY("rr interval"),
    DECOY("rr intervall"),
    DECOY("rr/pp"),
    DECOY("rr/pp interval"),
    DECOY("rr/pp intervall"),
    DECOY("pp"),
    DECOY("pp interval"),
    DECOY("qtd"),
    DECOY("qt dispersion"),
    DECOY("qtc dispersion"),
    DECOY("интервал rr"),
    DECOY("rr间期"),
    /* Acquisition date and time */
    ACQ("acquired"),
    ACQ("acquired on"),
    ACQ("acquired at"),
    ACQ("acquisition"),
    ACQ("acquisition date"),
    ACQ("acquisition time"),
    ACQ("acquisition date/time"),
    ACQ("acquisition date and time"),
    ACQ("acq. date"),
    ACQ("acq. time"),
    ACQ("acq. date/time"),
    ACQ("recorded"),
    ACQ("recorded on"),
    ACQ("recorded at"),
    ACQ("recording date"),
    ACQ("date of test"),
    ACQ("test date"),
    ACQ("date of acquisition"),
    ACQ("date of recording"),
    ACQ("exam date"),
    ACQ("examination date"),
    ACQ("study date"),
    ACQ("ecg date"),
    ACQ("ekg date"),
    ACQ("ecg date/time"),
    ACQ("date and time"),
    ACQ("date/time"),
    ACQ("date & time"),
    ACQ("aufnahme"),
    ACQ("aufnahmedatum"),
    ACQ("aufgenommen"),
    ACQ("aufgenommen am"),
    ACQ("untersuchungsdatum"),
    ACQ("datum/zeit"),
    ACQ("datum/uhrzeit"),
    ACQ("datum und uhrzeit"),
    ACQ("date d'acquisition"),
    ACQ("date de l'examen"),
    ACQ("date et heure"),
    ACQ("acquis le"),
    ACQ("enregistré le"),
    ACQ("fecha de adquisición"),
    ACQ("fecha y hora"),
    ACQ("fecha/hora"),
    ACQ("fecha del estudio"),
    ACQ("data acquisizione"),
    ACQ("data di acquisizione"),
    ACQ("data e ora"),
    ACQ("data/ora"),
    ACQ("data esame"),
    ACQ("дата исследования"),
    ACQ("дата и время"),
    ACQ("дата/время"),
    ACQ("дата записи"),
    ACQ("采集时间"),
    ACQ("采集日期"),
    ACQ("检查时间"),
    ACQ("检查日期"),
    ACQ("记录时间"),
    DATE("date"),
    DATE("datum"),
    DATE("fecha"),
    DATE("data"),
    DATE("дата"),
    DATE("日期"),
    TIME("time"),
    TIME("zeit"),
    TIME("uhrzeit"),
    TIME("heure"),
    TIME("hora"),
    TIME("ora"),
    TIME("время"),
    TIME("时间"),
    /* Dates that are not the acquisition's. */
    DECOY("dob"),
    DECOY("d.o.b."),
    DECOY("date of birth"),
    DECOY("birth date"),
    DECOY("birthdate"),
    DECOY("birthday"),
    DECOY("born"),
    DECOY("geb."),
    DECOY("geb.-datum"),
    DECOY("geburtsdatum"),
    DECOY("geboren"),
    DECOY("geboren am"),
    DECOY("date de naissance"),
    DECOY("né le"),
    DECOY("née le"),
    DECOY("né(e) le"),
    DECOY("fecha de nacimiento"),
    DECOY("fecha nac."),
    DECOY("f. nac."),
    DECOY("data di nascita"),
    DECOY("nato il"),
    DECOY("nata il"),
    DECOY("дата рождения"),
    DECOY("д.р."),
    DECOY("出生日期"),
    DECOY("生日"),
    DECOY("printed"),
    DECOY("printed on"),
    DECOY("print date"),
    DECOY("print time"),
    DECOY("date printed"),
    DECOY("gedruckt"),
    DECOY("gedruckt am"),
    DECOY("druckdatum"),
    DECOY("imprimé le"),
    DECOY("date d'impression"),
    DECOY("fecha de impresión"),
    DECOY("impreso"),
    DECOY("stampato"),
    DECOY("data di stampa"),
    DECOY("дата печати"),
    DECOY("打印时间"),
    DECOY("打印日期"),
    DECOY("generated"),
    DECOY("generated on"),
    DECOY("created"),
    DECOY("created on"),
    DECOY("creation date"),
    DECOY("exported"),
    DECOY("export date"),
    DECOY("report date"),
    DECOY("reported"),
    DECOY("confirmed"),
    DECOY("confirmed on"),
    DECOY("edited"),
    DECOY("reviewed"),
    DECOY("reviewed on"),
    DECOY("signed"),
    DECOY("signed on"),
    DECOY("erstellt"),
    DECOY("erstellt am"),
    DECOY("bestätigt"),
    DECOY("bestätigt am"),
    DECOY("befundet am"),
    DECOY("modified"),
    DECOY("last modified"),
    DECOY("admission date"),
};

#define NLABELS (sizeof(labels) / sizeof(labels[0]))

/* Labels bucketed by their first code point, so a word start tries the
 * few that can match there. */
#define NBUCKETS 128
static uint16_t bucket_first[NBUCKETS + 1];
static uint16_t bucket_items[NLABELS];
static pthread_once_t buckets_once = PTHREAD_ONCE_INIT;

static unsigned bucket_of(uint32_t c)
{
    return (unsigned)(c * 2654435761u) >> 25; /* 7 bits */
}

static void build_buckets(void)
{
    uint16_t count[NBUCKETS] = {0};
    unsigned b[NLABELS];
    for (size_t i = 0; i < NLABELS; i++) {
        const char *p = labels[i].pat;
        b[i] = bucket_of(fieldsi_cp(&p));
        count[b[i]]++;
    }
    bucket_first[0] = 0;
    for (unsigned k = 0; k < NBUCKETS; k++)
        bucket_first[k + 1] = (uint16_t)(bucket_first[k] + count[k]);
    uint16_t fill[NBUCKETS];
    memcpy(fill, bucket_first, sizeof(fill));
    for (size_t i = 0; i < NLABELS; i++)
        bucket_items[fill[b[i]]++] = (uint16_t)i;
}

const struct fieldsi_label *fieldsi_label_at(const char *s, size_t *len)
{
    pthread_once(&buckets_once, build_buckets);
    const char *q = s;
    unsigned b = bucket_of(fieldsi_fold(fieldsi_cp(&q)));
    const struct fieldsi_label *best = NULL;
    size_t best_len = 0;
    for (unsigned k = bucket_first[b]; k < bucket_first[b + 1]; k++) {
        const struct fieldsi_label *l = &labels[bucket_items[k]];
        size_t n = match_pat(l->pat, s, false);
        if (n > best_len) {
            best = l;
            best_len = n;
        }
    }
    *len = best_len;
    return best;
}

const struct fieldsi_label *fieldsi_axis_label(enum fields_id f)
{
    static const struct fieldsi_label sub[3] = {
        {"p", LK_AXIS_SUB, 1, 2, 0, {PA, -1, -1}},
        {"qrs", LK_AXIS_SUB, 1, 2, 0, {RA, -1, -1}},
        {"t", LK_AXIS_SUB, 1, 2, 0, {TA, -1, -1}},
    };
    return f == PA ? &sub[0] : f == RA ? &sub[1] : &sub[2];
}

bool fieldsi_axis_heading(const char *s)
{
    static const char *const words[] = {
        "axis", "axes", "achse",        "achsen", "winkel",
        "axe",  "eje",  "ejes",         "asse",   "assi",
        "ось",  "оси",  "frontal axis", "电轴",   "frontal axes"};
    const char *p = s;
    for (;;) { /* dashes, blanks, stars before the word */
        const char *q = p;
        uint32_t c = fieldsi_cp(&q);
        if (!(fieldsi_blank(c) || is_dash(c) || c == '*' || c == '='))
            break;
        p = q;
    }
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        size_t n = fieldsi_word(p, words[i]);
        if (!n)
            continue;
        const char *t = p + n;
        for (;;) { /* and only such characters, or a colon, after it */
            const char *q = t;
            uint32_t c = fieldsi_cp(&q);
            if (c == 0)
                return true;
            if (!(fieldsi_blank(c) || is_dash(c) || c == '*' || c == '=' ||
                  c == ':'))
                break;
            t = q;
        }
    }
    return false;
}

/* ------------------------------------------------------------------ */
/* Units */

static const struct {
    const char *pat; /* folded, matched literally */
    uint8_t unit;
    bool after_number; /* a single letter: only right after a number */
} units[] = {
    {"ms", FU_MS, 0},
    {"msec", FU_MS, 0},
    {"msek", FU_MS, 0},
    {"мс", FU_MS, 0},
    {"мсек", FU_MS, 0},
    {"毫秒", FU_MS, 0},
    {"s", FU_S, 1},
    {"sec", FU_S, 0},
    {"sek", FU_S, 0},
    {"secs", FU_S, 0},
    {"с", FU_S, 1},
    {"сек", FU_S, 0},
    {"秒", FU_S, 1},
    {"bpm", FU_RATE, 0},
    {"b/min", FU_RATE, 0},
    {"beats/min", FU_RATE, 0},
    {"/min", FU_RATE, 0},
    {"1/min", FU_RATE, 0},
    {"min-1", FU_RATE, 0},
    {"min\xe2\x81\xbb\xc2\xb9", FU_RATE, 0},
    {"/мин", FU_RATE, 0},
    {"уд/мин", FU_RATE, 0},
    {"уд./мин", FU_RATE, 0},
    {"уд/мин.", FU_RATE, 0},
    {"уд. в мин", FU_RATE, 0},
    {"уд/м", FU_RATE, 0},
    {"schläge/min", FU_RATE, 0},
    {"s/min", FU_RATE, 0},
    {"lpm", FU_RATE, 0},
    {"bat/min", FU_RATE, 0},
    {"batt/min", FU_RATE, 0},
    {"次/分", FU_RATE, 1},
    {"次/分钟", FU_RATE, 1},
    {"次/min", FU_RATE, 1},
    {"\xc2\xb0", FU_DEG, 0},
    {"\xc2\xba", FU_DEG, 0},
    {"deg", FU_DEG, 0},
    {"degrees", FU_DEG, 0},
    {"grad", FU_DEG, 0},
    {"град", FU_DEG, 0},
    {"度", FU_DEG, 1},
    {"hz", FU_OTHER, 0},
    {"khz", FU_OTHER, 0},
    {"mm/s", FU_OTHER, 0},
    {"mm/sec", FU_OTHER, 0},
    {"mm/mv", FU_OTHER, 0},
    {"мм/с", FU_OTHER, 0},
    {"мм/сек", FU_OTHER, 0},
    {"мм/мв", FU_OTHER, 0},
    {"mv", FU_OTHER, 0},
    {"мв", FU_OTHER, 0},
    {"\xc2\xb5v", FU_OTHER, 0},
    {"\xce\xbcv", FU_OTHER, 0},
    {"uv", FU_OTHER, 0},
    {"%", FU_OTHER, 0},
    {"mmhg", FU_OTHER, 0},
    {"kg", FU_OTHER, 0},
    {"cm", FU_OTHER, 0},
    {"mm", FU_OTHER, 0},
    {"min", FU_OTHER, 0},
    {"yrs", FU_OTHER, 0},
    {"years", FU_OTHER, 0},
    {"y", FU_OTHER, 1},
    {"jahre", FU_OTHER, 0},
    {"лет", FU_OTHER, 0},
    {"ans", FU_OTHER, 0},
    {"años", FU_OTHER, 0},
    {"anni", FU_OTHER, 0},
    {"岁", FU_OTHER, 1},
    {"歲", FU_OTHER, 1},
};

#define NUNITS (sizeof(units) / sizeof(units[0]))
static uint32_t unit_first[NUNITS];
static pthread_once_t units_once = PTHREAD_ONCE_INIT;

static void build_units(void)
{
    for (size_t i = 0; i < NUNITS; i++) {
        const char *p = units[i].pat;
        unit_first[i] = fieldsi_cp(&p);
    }
}

static int unit_at(const char *s, bool after_number, size_t *len)
{
    pthread_once(&units_once, build_units);
    const char *q = s;
    uint32_t first = fieldsi_fold(fieldsi_cp(&q));
    int best = FU_NONE;
    size_t best_len = 0;
    for (size_t i = 0; i < NUNITS; i++) {
        if (unit_first[i] != first || (units[i].after_number && !after_number))
            continue;
        size_t n = match_pat(units[i].pat, s, true);
        if (n > best_len) {
            best = units[i].unit;
            best_len = n;
        }
    }
    *len = best_len;
    return best;
}

/* ------------------------------------------------------------------ */
/* Tokens */

static bool is_digit(uint32_t c)
{
    return c >= '0' && c <= '9';
}

static bool is_cjk(uint32_t c)
{
    return (c >= 0x2e80 && c <= 0x9fff) || (c >= 0xac00 && c <= 0xd7af) ||
           (c >= 0xf900 && c <= 0xfaff) || (c >= 0xff00 && c <= 0xffef);
}

/* A number: digits with '.' or ',' decimal marks; two marks make it
 * unreadable ("1.2.3"). A mark not followed by a digit ends it. */
static size_t scan_number(const char *s, struct fieldsi_tok *t)
{
    char buf[48];
    size_t n = 0, o = 0;
    int marks = 0;
    if (s[0] == '-' || s[0] == '+') {
        buf[o++] = s[0];
        n = 1;
    } else if ((unsigned char)s[0] == 0xe2 && (unsigned char)s[1] == 0x88 &&
               (unsigned char)s[2] == 0x92) { /* U+2212 minus */
        buf[o++] = '-';
        n = 3;
    }
    for (;;) {
        char c = s[n];
        if (c >= '0' && c <= '9') {
            if (o < sizeof(buf) - 1)
                buf[o++] = c;
            n++;
        } else if ((c == '.' || c == ',') && s[n + 1] >= '0' &&
                   s[n + 1] <= '9') {
            if (o < sizeof(buf) - 1)
                buf[o++] = '.';
            marks++;
            n++;
        } else {
            break;
        }
    }
    buf[o] = '\0';
    t->bad = marks > 1 || o >= sizeof(buf) - 1;
    t->num = t->bad ? 0 : strtod(buf, NULL);
    if (!isfinite(t->num))
        t->bad = true;
    return n;
}

/* "***", "?", "--", "—", "n/a": a value the device did not measure. */
static size_t scan_missing(const char *s)
{
    size_t n = 0;
    if (s[0] == '*' || s[0] == '?') {
        while (s[n] == s[0])
            n++;
        return n;
    }
    if (s[0] == '-' && s[1] == '-') {
        while (s[n] == '-')
            n++;
        return n;
    }
    const char *q = s;
    uint32_t c = fieldsi_cp(&q);
    if (c == 0x2014 || c == 0x2013) { /* a dash alone */
        const char *r = q;
        uint32_t next = fieldsi_cp(&r);
        return is_digit(next) ? 0 : (size_t)(q - s);
    }
    size_t w = fieldsi_word(s, "n/a");
    return w ? w : fieldsi_word(s, "n.a.");
}

static int push(struct fieldsi_tok **toks, size_t *ntoks, size_t *cap,
                const struct fieldsi_tok *t)
{
    if (*ntoks == *cap) {
        size_t n = *cap ? *cap * 2 : 256;
        struct fieldsi_tok *p = realloc(*toks, n * sizeof(*p));
        if (!p)
            return -1;
        *toks = p;
        *cap = n;
    }
    (*toks)[(*ntoks)++] = *t;
    return 0;
}

long fieldsi_tokenize(const char *s, struct fieldsi_tok **toks, size_t *ntoks,
                      size_t *cap, size_t max)
{
    const char *p = s;
    uint32_t prev = 0;
    bool seen_alnum = false, after_number = false;
    size_t first = *ntoks;
    while (*p && *ntoks < max) {
        const char *q = p;
        uint32_t c = fieldsi_cp(&q);
        if (fieldsi_blank(c)) {
            p = q;
            prev = c;
            continue;
        }
        struct fieldsi_tok t = {.off = (uint32_t)(p - s)};
        size_t len = 0;
        bool word_start = !fieldsi_alnum(prev) || !fieldsi_alnum(c);
        bool letter = fieldsi_alnum(c) || is_cjk(c);
        if (word_start && letter) {
            const struct fieldsi_label *l = fieldsi_label_at(p, &len);
            if (l && (!(l->flags & FL_SPAN_START) || !seen_alnum)) {
                t.kind = TK_LABEL;
                t.label = l;
            } else {
                len = 0;
            }
        }
        if (!len && word_start && letter) {
            len = fieldsi_scan_dt(p, 0, &t.dt);
            t.kind = TK_DT;
        }
        if (!len && (word_start || after_number)) {
            int u = unit_at(p, after_number, &len);
            if (len) {
                t.kind = TK_UNIT;
                t.unit = (uint8_t)u;
            }
        }
        bool sign_ok = !fieldsi_alnum(prev) && prev != '.' && prev != ',';
        if (!len &&
            (is_digit(c) || ((c == '-' || c == '+' || c == 0x2212) && sign_ok &&
                             is_digit((uint32_t)(unsigned char)*q)))) {
            len = scan_number(p, &t);
            t.kind = TK_NUM;
        }
        if (!len) {
            len = scan_missing(p);
            t.kind = TK_MISSING;
        }
        if (!len) {
            len = (size_t)(q - p);
            if (c == ':' || c == '=' || c == 0xff1a || c == 0xfe55)
                t.kind = TK_SEP;
            else if (c == '/')
                t.kind = TK_SLASH;
            else if (c == '(' || c == '[' || c == 0xff08)
                t.kind = TK_OPEN;
            else if (c == ')' || c == ']' || c == 0xff09)
                t.kind = TK_CLOSE;
            else if (c == ',' || c == ';' || c == 0xff0c)
                t.kind = TK_COMMA;
            else if (fieldsi_alnum(c)) {
                /* the rest of the word */
                const char *r = q;
                for (;;) {
                    const char *r2 = r;
                    if (!fieldsi_alnum(fieldsi_cp(&r2)))
                        break;
                    r = r2;
                }
                len = (size_t)(r - p);
                t.kind = TK_WORD;
            } else {
                t.kind = is_cjk(c) ? TK_WORD : TK_PUNCT;
            }
        }
        t.len = (uint32_t)len;
        if (push(toks, ntoks, cap, &t))
            return -1;
        after_number = t.kind == TK_NUM;
        seen_alnum = seen_alnum || t.kind == TK_LABEL || t.kind == TK_WORD ||
                     t.kind == TK_NUM || t.kind == TK_DT;
        /* The code point before the next token. */
        const char *end = p + len;
        const char *r = p;
        while (r < end) {
            prev = fieldsi_cp(&r);
            if (!prev)
                break;
        }
        p = end;
    }
    return (long)(*ntoks - first);
}
