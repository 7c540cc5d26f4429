/* duration.h — the units users write: durations and percentages. */
#ifndef RG_DURATION_H
#define RG_DURATION_H

#include <stddef.h>
#include <stdint.h>

/* "500ms" "10s" "5m" "2h" "1d" (a non-negative integer and one unit; "1h30m"
 * also accepted, units largest first; a bare "0" is 0) → milliseconds.
 * Returns 0, or -1 for anything else ("5x", "", "-1s", "1.5h", overflow). */
int rg_duration_parse(const char *s, int64_t *ms);
/* Shortest exact form: 90000 → "1m30s", 500 → "500ms", 0 → "0s". */
void rg_duration_format(int64_t ms, char *buf, size_t size);
/* "1%" → 0.01, "0.01" → 0.01, "12.5%" → 0.125. Must be within [0, 1].
 * Returns 0, or -1 when malformed or out of range. */
int rg_percent_parse(const char *s, double *fraction);
/* A plain decimal: "-12", "0.9", "1500" (no exponent, sign only '-', at most
 * 15 digits). Returns 0, or -1 when malformed. */
int rg_number_parse(const char *s, double *out);

#endif
