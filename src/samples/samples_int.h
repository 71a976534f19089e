/* Internals of the sample generator shared by samples.c (MuPDF document
 * writing) and samples_model.c (report fields, signal model, geometry; no
 * MuPDF). Not a public API. */
#ifndef ETL_SAMPLES_SAMPLES_INT_H
#define ETL_SAMPLES_SAMPLES_INT_H

#include <stdint.h>

#include "samples/samples.h"

/* The rhythm, AV block, conduction delay, axis deviation, prolonged QT, an
 * extra finding and the summary line: at most seven statements (six made
 * seed 7's sample 780 write past the array). */
#define SMP_MAX_INTERP 7
#define SMP_MAX_BEATS 64

/* Page-1 fields of one sample. Strings are UTF-8 (Latin-1 repertoire only,
 * so they can be shown with WinAnsi-encoded base-14 fonts). */
struct smp_report {
    char institution[64];
    char name[64];
    char patient_id[24];
    char dob[40];      /* YYYY-MM-DD */
    char acquired[64]; /* YYYY-MM-DD HH:MM:SS */
    char sex[8];
    char device[32];
    int age;
    int vent_rate, pr, qrs, qt, qtc; /* BPM, ms */
    int p_axis, r_axis, t_axis;      /* degrees */
    int ninterp;
    const char *interp[SMP_MAX_INTERP]; /* static strings */
};

enum { SMP_W_P, SMP_W_Q, SMP_W_R, SMP_W_S, SMP_W_T, SMP_W_COUNT };

/* One wave of a beat: a Gaussian at `at` seconds from the QRS onset. */
struct smp_wave {
    double at, sigma;
    double amp[SAMPLE_LEAD_COUNT]; /* mV per lead */
};

struct smp_model {
    struct smp_report rep;
    struct smp_wave wave[SMP_W_COUNT];
    double lo, hi; /* a beat contributes only for onset+lo <= t <= onset+hi */
    int nbeats;
    double onset[SMP_MAX_BEATS]; /* QRS onsets, ascending, seconds */
    /* Baseline wander: one sine per independent lead (I, III, V1..V6);
     * the other limb leads derive from I and III. */
    double wander_amp[SAMPLE_LEAD_COUNT];
    double wander_omega[SAMPLE_LEAD_COUNT];
    double wander_phase[SAMPLE_LEAD_COUNT];
};

/* Fill m for (seed, index >= 0). Pure and cheap (no allocation). */
void smp_model_init(struct smp_model *m, uint64_t seed, int index);
/* Signal of lead (0..SAMPLE_LEAD_COUNT-1) at t seconds, in mV. */
double smp_model_eval(const struct smp_model *m, int lead, double t);

/* A well-mixed 64-bit value of (seed, index, stream), for IDs and salts. */
uint64_t smp_hash(uint64_t seed, int index, unsigned stream);

/* Millimetres to points. */
#define SMP_MM (72.0 / 25.4)

#endif
