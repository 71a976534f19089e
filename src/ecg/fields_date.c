/* Dates and times of day as ECG reports print them, in the languages of
 * the label dictionary: "2024-07-18 17:31", "18.07.2024", "14th Feb 25
 * 5:38 PM", "Friday, February 13, 2026 at 10:42:00 PM", "12 июля 2023",
 * "13 de febrero de 2026", "2020年2月11日 11:31", a time alone ("13:01").
 *
 * Orders that cannot be told apart are refused rather than guessed: a
 * slash date whose day and month could both be months ("07/08/2024")
 * needs a site pattern's date_order ("07/18/2024" and "18/07/2024" can
 * only be read one way), and a two-digit year is read only after a month
 * name or in a dotted day-first date (then 00-69 are 2000-2069, 70-99 are
 * 1970-1999, as POSIX strptime's %y). */
#include <string.h>

#include "ecg/fields_int.h"

static bool leap(long y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(long y, int m)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : d[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (the "days from
 * civil" method: years start in March so the leap day is last). */
static int64_t days_from_civil(long y, int m, int d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int64_t)era * 146097 + doe - 719468;
}

/* Up to max digits; returns how many were read (0 = none, or more than
 * max in a row). */
static int digits(const char **p, int max, long *v)
{
    int n = 0;
    *v = 0;
    while (n < max && (*p)[n] >= '0' && (*p)[n] <= '9') {
        *v = *v * 10 + ((*p)[n] - '0');
        n++;
    }
    if ((*p)[n] >= '0' && (*p)[n] <= '9')
        return 0;
    *p += n;
    return n;
}

static void skip_blanks(const char **p)
{
    for (;;) {
        const char *q = *p;
        uint32_t c = fieldsi_cp(&q);
        if (!fieldsi_blank(c) || c == 0)
            return;
        *p = q;
    }
}

/* A whole word from a list (folded), with an optional '.' after it. */
static bool take_word(const char **p, const char *const *words, size_t n,
                      size_t *which)
{
    for (size_t i = 0; i < n; i++) {
        size_t len = fieldsi_word(*p, words[i]);
        if (len) {
            *p += len;
            if (**p == '.')
                (*p)++;
            if (which)
                *which = i;
            return true;
        }
    }
    return false;
}

static const struct {
    const char *name;
    int month;
} months[] = {
    /* English, then what German, French, Spanish, Italian and Russian
     * add; abbreviations as printed. */
    {"january", 1},   {"february", 2},  {"march", 3},      {"april", 4},
    {"may", 5},       {"june", 6},      {"july", 7},       {"august", 8},
    {"september", 9}, {"october", 10},  {"november", 11},  {"december", 12},
    {"jan", 1},       {"feb", 2},       {"mar", 3},        {"apr", 4},
    {"jun", 6},       {"jul", 7},       {"aug", 8},        {"sep", 9},
    {"sept", 9},      {"oct", 10},      {"nov", 11},       {"dec", 12},
    {"januar", 1},    {"jänner", 1},    {"februar", 2},    {"märz", 3},
    {"mai", 5},       {"juni", 6},      {"juli", 7},       {"oktober", 10},
    {"dezember", 12}, {"jän", 1},       {"mär", 3},        {"mrz", 3},
    {"okt", 10},      {"dez", 12},      {"janvier", 1},    {"février", 2},
    {"mars", 3},      {"avril", 4},     {"juin", 6},       {"juillet", 7},
    {"août", 8},      {"septembre", 9}, {"octobre", 10},   {"novembre", 11},
    {"décembre", 12}, {"janv", 1},      {"févr", 2},       {"fév", 2},
    {"avr", 4},       {"juil", 7},      {"déc", 12},       {"enero", 1},
    {"febrero", 2},   {"marzo", 3},     {"abril", 4},      {"mayo", 5},
    {"junio", 6},     {"julio", 7},     {"agosto", 8},     {"septiembre", 9},
    {"setiembre", 9}, {"octubre", 10},  {"noviembre", 11}, {"diciembre", 12},
    {"ene", 1},       {"abr", 4},       {"ago", 8},        {"dic", 12},
    {"gennaio", 1},   {"febbraio", 2},  {"aprile", 4},     {"maggio", 5},
    {"giugno", 6},    {"luglio", 7},    {"settembre", 9},  {"ottobre", 10},
    {"dicembre", 12}, {"gen", 1},       {"mag", 5},        {"giu", 6},
    {"lug", 7},       {"set", 9},       {"ott", 10},       {"января", 1},
    {"февраля", 2},   {"марта", 3},     {"апреля", 4},     {"мая", 5},
    {"июня", 6},      {"июля", 7},      {"августа", 8},    {"сентября", 9},
    {"октября", 10},  {"ноября", 11},   {"декабря", 12},   {"январь", 1},
    {"февраль", 2},   {"март", 3},      {"апрель", 4},     {"май", 5},
    {"июнь", 6},      {"июль", 7},      {"август", 8},     {"сентябрь", 9},
    {"октябрь", 10},  {"ноябрь", 11},   {"декабрь", 12},   {"янв", 1},
    {"фев", 2},       {"мар", 3},       {"апр", 4},        {"июн", 6},
    {"июл", 7},       {"авг", 8},       {"сен", 9},        {"сент", 9},
    {"окт", 10},      {"ноя", 11},      {"нояб", 11},      {"дек", 12},
};

/* Words are compared folded and whole: a page holds thousands of words
 * and each may start a date, so this is one fold and a few compares. */
static int month_of(const char *w)
{
    for (size_t i = 0; i < sizeof(months) / sizeof(months[0]); i++)
        if (months[i].name[0] == w[0] && strcmp(months[i].name, w) == 0)
            return months[i].month;
    return 0;
}

static int month_name(const char **p)
{
    char w[32];
    size_t n = fieldsi_fold_word(*p, w, sizeof(w));
    int m = n ? month_of(w) : 0;
    if (!m)
        return 0;
    *p += n;
    if (**p == '.')
        (*p)++;
    return m;
}

static const char *const weekdays[] = {
    "monday",     "tuesday",  "wednesday",   "thursday",    "friday",
    "saturday",   "sunday",   "mon",         "tue",         "tues",
    "wed",        "thu",      "thur",        "thurs",       "fri",
    "sat",        "sun",      "montag",      "dienstag",    "mittwoch",
    "donnerstag", "freitag",  "samstag",     "sonntag",     "mo",
    "di",         "mi",       "do",          "fr",          "sa",
    "so",         "lundi",    "mardi",       "mercredi",    "jeudi",
    "vendredi",   "samedi",   "dimanche",    "lunes",       "martes",
    "miércoles",  "jueves",   "viernes",     "sábado",      "domingo",
    "lunedì",     "martedì",  "mercoledì",   "giovedì",     "venerdì",
    "sabato",     "domenica", "понедельник", "вторник",     "среда",
    "четверг",    "пятница",  "суббота",     "воскресенье", "пн",
    "вт",         "ср",       "чт",          "пт",          "сб",
    "вс",
};

/* "st", "nd", "rd", "th" (English), "er" (French "1er"), "." (German). */
static void skip_ordinal(const char **p)
{
    static const char *const suffixes[] = {"st", "nd", "rd", "th", "er"};
    for (size_t i = 0; i < 5; i++) {
        size_t n = fieldsi_word(*p, suffixes[i]);
        if (n) {
            *p += n;
            return;
        }
    }
    if (**p == '.')
        (*p)++;
}

/* A year after a month name: four digits, or two not followed by ':'. */
static bool year_digits(const char **p, long *y)
{
    const char *q = *p;
    int n = digits(&q, 4, y);
    if (n == 4) {
        *p = q;
        return true;
    }
    if (n == 2 && *q != ':') {
        *y += *y < 70 ? 2000 : 1900;
        *p = q;
        return true;
    }
    return false;
}

static bool is_sep(char c)
{
    return c == '-' || c == '.' || c == '/';
}

/* The date part: true read (y/m/d set). */
static bool scan_date(const char **pp, char order, struct fieldsi_dt *dt)
{
    const char *p = *pp;
    long a, b, c;
    int na = digits(&p, 4, &a);
    if (na == 4 && is_sep(*p)) {
        char sep = *p++; /* year first: ISO or 2020/02/11 */
        if (!digits(&p, 2, &b) || *p != sep)
            return false;
        p++;
        if (!digits(&p, 2, &c))
            return false;
        dt->y = a, dt->m = (int)b, dt->d = (int)c;
        *pp = p;
        return true;
    }
    if (na == 4) { /* 2020年2月11日 */
        const char *q = p;
        skip_blanks(&q);
        if (fieldsi_word(q, "年")) {
            q += strlen("年");
            skip_blanks(&q);
            if (digits(&q, 2, &b)) {
                skip_blanks(&q);
                if (fieldsi_word(q, "月")) {
                    q += strlen("月");
                    skip_blanks(&q);
                    if (digits(&q, 2, &c)) {
                        skip_blanks(&q);
                        if (fieldsi_word(q, "日"))
                            q += strlen("日");
                        dt->y = a, dt->m = (int)b, dt->d = (int)c;
                        *pp = q;
                        return true;
                    }
                }
            }
        }
        return false;
    }
    if (na >= 1 && na <= 2) {
        /* 18.07.2024 (day first wherever dots are used), 18.07.24,
         * 18/07/2024 with a date order. */
        const char *q = p;
        if (*q == '.' || *q == '/') {
            char sep = *q++;
            int nb = digits(&q, 2, &b);
            if (nb && *q == sep) {
                q++;
                int nc = digits(&q, 4, &c);
                bool dotted = sep == '.';
                if (nc == 4 || (dotted && nc == 2 && *q != ':' && *q != '.')) {
                    if (nc == 2)
                        c += c < 70 ? 2000 : 1900;
                    /* A number above 12 is the day, whatever the order. */
                    bool dm = dotted || order == 'd' || (a > 12 && b <= 12);
                    bool md = !dm && (order == 'm' || (b > 12 && a <= 12));
                    if (dm) {
                        dt->y = c, dt->m = (int)b, dt->d = (int)a;
                    } else if (md) {
                        dt->y = c, dt->m = (int)a, dt->d = (int)b;
                    } else {
                        return false; /* 07/08/2024: not guessed */
                    }
                    *pp = q;
                    return true;
                }
            }
        }
        /* 18-Jul-2024, 18 July 2024, 14th Feb 25, 13. Februar 2026,
         * 13 de febrero de 2026, 12 июля 2023 */
        q = p;
        skip_ordinal(&q);
        if (*q == '-' || *q == '.')
            q++;
        skip_blanks(&q);
        size_t de = fieldsi_word(q, "de");
        if (de) {
            q += de;
            skip_blanks(&q);
        }
        int mon = month_name(&q);
        if (!mon)
            return false;
        if (*q == '-' || *q == '.' || *q == ',')
            q++;
        skip_blanks(&q);
        de = fieldsi_word(q, "de");
        if (de) {
            q += de;
            skip_blanks(&q);
        }
        if (!year_digits(&q, &c))
            return false;
        dt->y = c, dt->m = mon, dt->d = (int)a;
        *pp = q;
        return true;
    }
    if (na == 0) {
        /* Jul 18, 2024; February 13, 2026 */
        const char *q = p;
        int mon = month_name(&q);
        if (!mon)
            return false;
        skip_blanks(&q);
        if (!digits(&q, 2, &b))
            return false;
        skip_ordinal(&q);
        if (*q == ',')
            q++;
        skip_blanks(&q);
        if (digits(&q, 4, &c) != 4)
            return false;
        dt->y = c, dt->m = mon, dt->d = (int)b;
        *pp = q;
        return true;
    }
    return false;
}

/* H:MM[:SS[.fff]] [AM|PM|a.m.|p.m.] */
static bool scan_time(const char **pp, struct fieldsi_dt *dt)
{
    const char *p = *pp;
    long hh, mi, ss = 0;
    if (!digits(&p, 2, &hh) || *p != ':')
        return false;
    p++;
    if (digits(&p, 2, &mi) != 2)
        return false;
    if (*p == ':') {
        p++;
        if (digits(&p, 2, &ss) != 2)
            return false;
        if ((*p == '.' || *p == ',') && p[1] >= '0' && p[1] <= '9') {
            p++; /* fractions of a second: dropped */
            while (*p >= '0' && *p <= '9')
                p++;
        }
    }
    if (*p == ':' || (*p >= '0' && *p <= '9'))
        return false;
    const char *q = p;
    skip_blanks(&q);
    static const char *const am[] = {"am", "a.m."}, *const pm[] = {"pm",
                                                                   "p.m."};
    bool is_am = take_word(&q, am, 2, NULL);
    bool is_pm = !is_am && take_word(&q, pm, 2, NULL);
    if (is_am || is_pm) {
        if (hh < 1 || hh > 12)
            dt->ampm_bad = true;
        hh = hh % 12 + (is_pm ? 12 : 0);
        p = q;
    }
    dt->hh = (int)hh, dt->mi = (int)mi, dt->ss = (int)ss;
    dt->time = true;
    *pp = p;
    return true;
}

static bool is_weekday(const char *w)
{
    for (size_t i = 0; i < sizeof(weekdays) / sizeof(weekdays[0]); i++)
        if (weekdays[i][0] == w[0] && strcmp(weekdays[i], w) == 0)
            return true;
    return false;
}

size_t fieldsi_scan_dt(const char *s, char order, struct fieldsi_dt *dt)
{
    const char *p = s;
    memset(dt, 0, sizeof(*dt));
    bool weekday = false;
    if (!(*p >= '0' && *p <= '9')) {
        /* Only a weekday or a month name starts a date with a letter. */
        char w[32];
        size_t n = fieldsi_fold_word(p, w, sizeof(w));
        if (!n)
            return 0;
        weekday = is_weekday(w);
        if (!weekday && !month_of(w))
            return 0;
        if (weekday) {
            p += n;
            if (*p == '.')
                p++;
            if (*p == ',')
                p++;
            skip_blanks(&p);
        }
    }
    if (!scan_date(&p, order, dt)) {
        if (weekday || !scan_time(&p, dt)) {
            memset(dt, 0, sizeof(*dt));
            return 0;
        }
        return (size_t)(p - s);
    }
    dt->date = true;
    /* Between the date and the time: 'T' right after it, or blanks,
     * commas and the words reports put there. */
    const char *q = p;
    if (*q == 'T' && q[1] >= '0' && q[1] <= '9') {
        q++;
    } else {
        static const char *const joins[] = {"at",   "à",        "um",   "a las",
                                            "a la", "alle ore", "alle", "ore",
                                            "в",    "г",        "года", "-"};
        for (int i = 0; i < 4; i++) {
            skip_blanks(&q);
            if (*q == ',') {
                q++;
                continue;
            }
            if (!take_word(&q, joins, sizeof(joins) / sizeof(*joins), NULL))
                break;
        }
        skip_blanks(&q);
    }
    if (scan_time(&q, dt))
        p = q;
    return (size_t)(p - s);
}

int fieldsi_dt_ms(const struct fieldsi_dt *dt, int64_t *ms)
{
    if (!dt->date || !dt->time)
        return -1;
    if (dt->ampm_bad || dt->y < 1900 || dt->y > 2200 || dt->m < 1 ||
        dt->m > 12 || dt->d < 1 || dt->d > month_days(dt->y, dt->m) ||
        dt->hh > 23 || dt->mi > 59 || dt->ss > 59)
        return -1;
    int64_t days = days_from_civil(dt->y, dt->m, dt->d);
    *ms = ((days * 24 + dt->hh) * 60 + dt->mi) * 60000 + (int64_t)dt->ss * 1000;
    return 1;
}

int fields_parse_datetime(const char *s, char order, int64_t *ms)
{
    struct fieldsi_dt dt;
    const char *p = s;
    skip_blanks(&p);
    if (!fieldsi_scan_dt(p, order, &dt) || !dt.date || !dt.time)
        return 0;
    return fieldsi_dt_ms(&dt, ms);
}
