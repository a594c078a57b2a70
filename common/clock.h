/* clock.h: time for the whole program. gb_now_ms() is the domain clock (real time, or a
 * test clock that tests move by hand); gb_mono_ms() measures durations. */
#ifndef GB_CLOCK_H
#define GB_CLOCK_H

#include <stddef.h>
#include <stdint.h>

int64_t gb_wall_ms(void); /* real Unix time in milliseconds */
int64_t gb_mono_ms(void); /* monotonic milliseconds, for durations and timeouts */
int64_t gb_now_ms(void);  /* the domain clock: wall time unless a test clock is set */

/* Test clock: after gb_clock_set(ms), gb_now_ms() returns ms until moved again. */
void gb_clock_set(int64_t ms);
void gb_clock_advance(int64_t delta_ms);
void gb_clock_use_real(void);
/* True while a test clock is set. */
int gb_clock_is_test(void);
/* fn (NULL: none) is called after every gb_clock_set, gb_clock_advance and gb_clock_use_real,
 * on the caller's thread: workers (common/worker.h) waiting for a round look at the test clock
 * again. One observer for the process. */
void gb_clock_on_change(void (*fn)(void));

/* RFC 3339 UTC with second precision, e.g. "2026-03-28T14:00:00Z". buf needs >= 21 bytes. */
void gb_time_format(int64_t ms, char *buf, size_t n);
/* Parses "YYYY-MM-DDTHH:MM:SS[.fff]Z"; returns 0 on success, -1 on bad input. */
int gb_time_parse(const char *s, int64_t *ms_out);

#endif
