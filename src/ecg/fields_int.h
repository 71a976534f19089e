/* Internals of the measurement reader shared by fields.c (site patterns,
 * interpretation, the public calls), fields_text.c (characters, the label
 * dictionary, tokens), fields_date.c (dates and times) and fields_geo.c
 * (labels paired with values by position). */
#ifndef ETL_ECG_FIELDS_INT_H
#define ETL_ECG_FIELDS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ecg/fields.h"

/* ---- characters (fields_text.c) ---------------------------------- */

/* The code point at *p (NUL-terminated UTF-8), advancing *p; a byte that
 * does not start a valid sequence is U+FFFD and one byte long. 0 at the
 * end (without advancing). */
uint32_t fieldsi_cp(const char **p);
/* Case-folded: Latin (ASCII, Latin-1, Latin Extended-A), Greek and
 * Cyrillic capitals to small letters, ё to е; anything else unchanged. */
uint32_t fieldsi_fold(uint32_t c);
/* A letter or digit of a script written with spaces between words (Latin,
 * Greek, Cyrillic): what makes a label start or end inside a word. CJK
 * ideographs are not, so a Chinese label needs no spaces around it. */
bool fieldsi_alnum(uint32_t c);
bool fieldsi_blank(uint32_t c);
/* If s starts with word (folded, UTF-8) as a whole word, case-folded,
 * returns its length in s, else 0. */
size_t fieldsi_word(const char *s, const char *word);
/* The word at s (its letters and digits) case-folded into buf, with a
 * NUL: returns the word's length in s, 0 if s starts no word or the folded
 * word needs more than cap - 1 bytes. */
size_t fieldsi_fold_word(const char *s, char *buf, size_t cap);

/* ---- units and values (fields_text.c) ----------------------------- */

enum fieldsi_unit {
    FU_NONE,
    FU_MS,    /* ms, мс */
    FU_S,     /* s, sec, сек: intervals x 1000 */
    FU_RATE,  /* bpm, /min, уд/мин */
    FU_DEG,   /* °, deg */
    FU_OTHER, /* mm/s, Hz, %, years...: no field's unit */
};

/* ---- dates (fields_date.c) ---------------------------------------- */

struct fieldsi_dt {
    bool date, time;
    long y;
    int m, d, hh, mi, ss;
    bool ampm_bad; /* "13:00 PM" */
};

/* A date, a time of day, or a date and a time at s: returns the bytes
 * read (0: none). order 'm'/'d' reads slash dates (else refused). Does not
 * check that the date exists. */
size_t fieldsi_scan_dt(const char *s, char order, struct fieldsi_dt *dt);
/* Milliseconds since the epoch of a date with a time (wall clock as UTC):
 * 1, or -1 for an impossible one. */
int fieldsi_dt_ms(const struct fieldsi_dt *dt, int64_t *ms);

/* ---- labels (fields_text.c) --------------------------------------- */

enum fieldsi_lkind {
    LK_NUM,      /* one to three numeric fields, in print order */
    LK_QRS,      /* "QRS" alone: a duration with ms, an axis with ° */
    LK_ACQ,      /* an acquisition date and time ("Acquired") */
    LK_DATE,     /* a date that is the acquisition's if nothing better */
    LK_TIME,     /* a time of day to go with such a date ("Time") */
    LK_DECOY,    /* values that are not a field (birth date, max rate,
                    RR interval, print date...): taken so nothing else
                    takes them */
    LK_AXIS_SUB, /* P, QRS, R, T under an "Axis" heading */
    LK_AFTER,    /* printed after its value: "72 BPM Average" */
};

struct fieldsi_label {
    const char *pat; /* folded; ' ' and '-' match any run of blanks and
                        dashes ('-' also '/'), possibly empty; '.' an
                        optional '.' */
    uint8_t kind;    /* enum fieldsi_lkind */
    uint8_t n;       /* number of fields (LK_NUM, LK_AXIS_SUB) */
    uint8_t prio;    /* 2 specific, 1 generic ("HR", "Date", "QTcF") */
    uint8_t flags;   /* FL_* */
    int8_t field[3]; /* enum fields_id */
};

#define FL_SPAN_START 1 /* only as the first word of a span ("Rate") */

/* The longest label starting at s (at a word start), or NULL; *len gets
 * the bytes it covers. */
const struct fieldsi_label *fieldsi_label_at(const char *s, size_t *len);
/* The axis sub-label for the field, for Philips' "--Axis--" blocks. */
const struct fieldsi_label *fieldsi_axis_label(enum fields_id f);
/* Is s (a whole span) an axis block heading ("--AXIS--", "Achsen:")? */
bool fieldsi_axis_heading(const char *s);

/* ---- tokens (fields_text.c) --------------------------------------- */

enum fieldsi_tkind {
    TK_LABEL,
    TK_NUM,
    TK_MISSING, /* "***", "---", "?" */
    TK_UNIT,
    TK_DT,    /* a date and/or a time */
    TK_SEP,   /* ':' '=' */
    TK_SLASH, /* between compound values */
    TK_OPEN,  /* '(' '[' */
    TK_CLOSE,
    TK_COMMA, /* ',' ';' */
    TK_WORD,  /* other letters */
    TK_PUNCT, /* anything else */
};

struct fieldsi_tok {
    uint8_t kind;
    uint8_t unit; /* TK_UNIT */
    bool bad;     /* TK_NUM: unreadable ("1.2.3") */
    uint32_t off, len;
    double num; /* TK_NUM */
    const struct fieldsi_label *label;
    struct fieldsi_dt dt;
};

/* Tokens of one span's text, appended to *toks (grown with realloc, at
 * most max in all). Returns the number added, or -1 out of memory. */
long fieldsi_tokenize(const char *s, struct fieldsi_tok **toks, size_t *ntoks,
                      size_t *cap, size_t max);

/* ---- pairing (fields_geo.c) --------------------------------------- */

/* A span in reading order's frame: x along the text, y down the page. */
struct fieldsi_span {
    const char *text; /* NUL-terminated UTF-8 */
    float x0, x1, y0, y1, base, size;
};

/* Read every numeric field not yet decided, and acquired_at unless
 * decided[FIELDS_ACQUIRED_AT], from the spans into r (which the caller
 * reset); ETL_ENOMEM only. top and bottom: the page's extent down the
 * reading frame (bottom <= top: not known). */
int fieldsi_geo(const struct fieldsi_span *sp, size_t n, float top,
                float bottom, const bool *decided, struct fields_result *r);
/* Does this one line read as a measurement (a label and its value)? Ends
 * the interpretation statements. */
bool fieldsi_line_is_measurement(const char *line);
/* Store the printed label (trimmed, blanks collapsed, cut at
 * FIELDS_SOURCE_MAX - 1 bytes on a character boundary) as a source. */
void fieldsi_set_source(char *dst, const char *label, size_t len,
                        const char *label2, size_t len2);

#endif
