/* The clocks: wall time for timestamps, monotonic time for durations and
 * deadlines. Thread-safe. */
#ifndef ETL_CORE_CLOCK_H
#define ETL_CORE_CLOCK_H

#include <stdint.h>

/* Milliseconds since the epoch (CLOCK_REALTIME). */
int64_t clock_wall_ms(void);
/* Monotonic milliseconds (CLOCK_MONOTONIC), fractional. */
double clock_mono_ms(void);
/* Monotonic nanoseconds. */
int64_t clock_mono_ns(void);

#endif
