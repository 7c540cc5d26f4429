/* timeutil.c — clocks and ISO-8601 UTC timestamps with milliseconds. */
#include "util/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef RG_TEST_HOOKS
/* The test build lets a test step the wall clock while serve runs: the
 * file named by ROLLGUARD_TEST_CLOCK_SKEW holds milliseconds added to
 * CLOCK_REALTIME, read at every call (the monotonic clock is untouched). */
static int64_t test_skew_ms(void)
{
	const char *path = getenv("ROLLGUARD_TEST_CLOCK_SKEW");
	FILE *f = path ? fopen(path, "r") : NULL;
	long long skew = 0;
	if (f) {
		if (fscanf(f, "%lld", &skew) != 1)
			skew = 0;
		fclose(f);
	}
	return skew;
}
#else
static int64_t test_skew_ms(void)
{
	return 0;
}
#endif

static int64_t clock_us(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t rg_now_ms(void)
{
	return clock_us(CLOCK_REALTIME) / 1000 + test_skew_ms();
}

int64_t rg_now_us(void)
{
	return clock_us(CLOCK_REALTIME) + test_skew_ms() * 1000;
}

int64_t rg_mono_ms(void)
{
	return clock_us(CLOCK_MONOTONIC) / 1000;
}

int64_t rg_mono_us(void)
{
	return clock_us(CLOCK_MONOTONIC);
}

void rg_time_format_iso(int64_t ms, char *buf, size_t size)
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	char base[24];
	strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, size, "%s.%03dZ", base, (int)(ms % 1000));
}

int rg_time_parse_iso(const char *s, int64_t *ms)
{
	struct tm tm;
	int millis = 0, n = 0;
	memset(&tm, 0, sizeof tm);
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &millis, &n) != 7 || s[n] != '\0')
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*ms = (int64_t)timegm(&tm) * 1000 + millis;
	return 0;
}
