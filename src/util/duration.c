/* duration.c — parse and print the units users write in rollguard.yaml.
 * Parsing is strict (no whitespace, signs, exponents or locale-dependent
 * strtod), so "1%" and "0.01" always give the very same double. */
#include "util/duration.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const struct {
	const char *suffix;
	int64_t ms;
} units[] = {
	{ "d", 86400000 }, { "h", 3600000 }, { "ms", 1 }, { "m", 60000 }, { "s", 1000 },
};

/* Units ordered largest first, so "1h30m" is accepted and "30m1h" is not. */
static int unit_rank(int64_t ms)
{
	return ms == 86400000 ? 0 : ms == 3600000 ? 1 : ms == 60000 ? 2 : ms == 1000 ? 3 : 4;
}

static const char *read_unit(const char *s, int64_t *ms)
{
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		size_t n = strlen(units[i].suffix);
		if (strncmp(s, units[i].suffix, n) == 0) {
			*ms = units[i].ms;
			return s + n;
		}
	}
	return NULL;
}

int rg_duration_parse(const char *s, int64_t *ms)
{
	if (!s || !*s)
		return -1;
	if (strcmp(s, "0") == 0) {
		*ms = 0;
		return 0;
	}
	int64_t total = 0;
	int last_rank = -1;
	while (*s) {
		if (*s < '0' || *s > '9')
			return -1;
		int64_t n = 0;
		for (; *s >= '0' && *s <= '9'; s++) {
			if (n > (INT64_MAX - 9) / 10)
				return -1;
			n = n * 10 + (*s - '0');
		}
		int64_t unit;
		if (!(s = read_unit(s, &unit)) || unit_rank(unit) <= last_rank)
			return -1;
		last_rank = unit_rank(unit);
		if (n > (INT64_MAX - total) / unit)
			return -1;
		total += n * unit;
	}
	*ms = total;
	return 0;
}

void rg_duration_format(int64_t ms, char *buf, size_t size)
{
	static const struct { const char *suffix; uint64_t ms; } order[] = {
		{ "d", 86400000 }, { "h", 3600000 }, { "m", 60000 }, { "s", 1000 }, { "ms", 1 },
	};
	if (!buf || size == 0)
		return;
	buf[0] = '\0';
	if (ms == 0) {
		snprintf(buf, size, "0s");
		return;
	}
	size_t pos = 0;
	uint64_t left = ms < 0 ? (uint64_t)0 - (uint64_t)ms : (uint64_t)ms;
	if (ms < 0)
		pos += (size_t)snprintf(buf, size, "-");
	for (size_t i = 0; i < sizeof order / sizeof order[0] && left && pos < size; i++) {
		if (left < order[i].ms)
			continue;
		pos += (size_t)snprintf(buf + pos, size - pos, "%llu%s",
					(unsigned long long)(left / order[i].ms), order[i].suffix);
		left %= order[i].ms;
	}
}

/* Exact for up to 15 significant digits: an integer mantissa divided by a
 * power of ten is one correctly rounded IEEE division, so "1%" (scale 2)
 * and "0.01" give the same double. */
static int parse_decimal(const char *s, int extra_scale, double *out)
{
	static const double pow10[] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8,
					1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17 };
	bool neg = *s == '-';
	s += neg;
	uint64_t mant = 0;
	int digits = 0, scale = extra_scale;
	bool dot = false;
	for (; *s; s++) {
		if (*s == '.' && !dot && digits > 0) {
			dot = true;
			continue;
		}
		if (*s < '0' || *s > '9' || ++digits > 15)
			return -1;
		mant = mant * 10 + (uint64_t)(*s - '0');
		scale += dot;
	}
	if (digits == 0 || s[-1] == '.')
		return -1;
	double v = (double)mant / pow10[scale];
	*out = neg ? -v : v;
	return 0;
}

int rg_number_parse(const char *s, double *out)
{
	return s ? parse_decimal(s, 0, out) : -1;
}

int rg_percent_parse(const char *s, double *fraction)
{
	if (!s || !*s || s[0] == '-')
		return -1;
	size_t n = strlen(s);
	char num[32];
	bool pct = s[n - 1] == '%';
	if (n - pct >= sizeof num || n - pct == 0)
		return -1;
	memcpy(num, s, n - pct);
	num[n - pct] = '\0';
	double v;
	if (parse_decimal(num, pct ? 2 : 0, &v) != 0 || v < 0.0 || v > 1.0)
		return -1;
	*fraction = v;
	return 0;
}
