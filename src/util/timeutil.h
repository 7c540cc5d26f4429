/* timeutil.h — wall-clock and monotonic time, ISO-8601 formatting. */
#ifndef RG_TIMEUTIL_H
#define RG_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

int64_t rg_now_ms(void);      /* wall clock, ms since the epoch (stored times) */
int64_t rg_now_us(void);      /* wall clock, µs since the epoch */
int64_t rg_mono_ms(void);     /* monotonic, for measuring intervals */
int64_t rg_mono_us(void);     /* monotonic, µs */
/* "2026-11-23T09:15:14.123Z"; buf of at least 32 bytes. */
void rg_time_format_iso(int64_t ms, char *buf, size_t size);
/* Inverse of rg_time_format_iso; returns 0 on success, -1 if malformed. */
int rg_time_parse_iso(const char *s, int64_t *ms);

#endif
