/* samples_signal: the exact signal a sample PDF was drawn from, for checking
 * extracted waveforms against the truth (tests/node/waveforms.test.mjs).
 *
 *   samples_signal SEED INDEX LEAD START_S RATE_HZ N
 *
 * prints N lines, pdf_sample_signal(SEED, INDEX, LEAD, START_S + k / RATE_HZ)
 * in mV for k = 0..N-1 (%.9g). LEAD is a name (I, II, III, aVR, aVL, aVF,
 * V1..V6) or its number 0..11. INDEX is the manifest's "index" (variants
 * have PDF_SAMPLE_VARIANT_INDEX + kind). Exit status 2 on a bad argument. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "samples/samples.h"

static int usage(const char *why)
{
    fprintf(stderr,
            "samples_signal: %s\n"
            "usage: samples_signal SEED INDEX LEAD START_S RATE_HZ N\n",
            why);
    return 2;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (!*s || *end || errno || *s == '-')
        return -1;
    *out = v;
    return 0;
}

static int parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t seed, index, n, lead_num;
    double start, rate;
    int lead = -1;
    if (argc != 7)
        return usage("expected 6 arguments");
    if (parse_u64(argv[1], &seed) || parse_u64(argv[2], &index) ||
        index > INT32_MAX)
        return usage("bad SEED or INDEX");
    for (int i = 0; i < SAMPLE_LEAD_COUNT; i++)
        if (strcmp(argv[3], pdf_sample_lead_name(i)) == 0)
            lead = i;
    if (lead < 0 && parse_u64(argv[3], &lead_num) == 0 &&
        lead_num < SAMPLE_LEAD_COUNT)
        lead = (int)lead_num;
    if (lead < 0)
        return usage("bad LEAD");
    if (parse_double(argv[4], &start) || parse_double(argv[5], &rate) ||
        rate <= 0 || parse_u64(argv[6], &n) || n > 10000000)
        return usage("bad START_S, RATE_HZ or N");
    for (uint64_t k = 0; k < n; k++) {
        double v =
            pdf_sample_signal(seed, (int)index, lead, start + (double)k / rate);
        if (isnan(v))
            return usage("no such sample");
        printf("%.9g\n", v);
    }
    return fflush(stdout) == 0 ? 0 : 2;
}
