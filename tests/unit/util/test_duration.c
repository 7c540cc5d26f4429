/* test_duration.c — the units users write: durations, percentages, numbers.
 * The edge cases are the contract: anything not listed as valid is refused. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "util/duration.h"

static int64_t ms_of(const char *s)
{
	int64_t ms = -42;
	cr_assert_eq(rg_duration_parse(s, &ms), 0, "'%s' should parse", s);
	return ms;
}

static void refused(const char *s)
{
	int64_t ms = -42;
	cr_assert_eq(rg_duration_parse(s, &ms), -1, "'%s' should be refused", s);
	cr_assert_eq(ms, -42, "'%s': output untouched on failure", s);
}

Test(duration_parse, single_units)
{
	cr_assert_eq(ms_of("500ms"), 500);
	cr_assert_eq(ms_of("10s"), 10000);
	cr_assert_eq(ms_of("5m"), 300000);
	cr_assert_eq(ms_of("2h"), 7200000);
	cr_assert_eq(ms_of("1d"), 86400000);
	cr_assert_eq(ms_of("0s"), 0);
	cr_assert_eq(ms_of("0"), 0);
	cr_assert_eq(ms_of("007s"), 7000);
}

Test(duration_parse, compound_largest_first)
{
	cr_assert_eq(ms_of("1h30m"), 5400000);
	cr_assert_eq(ms_of("1m30s"), 90000);
	cr_assert_eq(ms_of("1s500ms"), 1500);
	cr_assert_eq(ms_of("1d2h3m4s5ms"), 93784005);
}

Test(duration_parse, refuses_everything_else)
{
	const char *bad[] = { "", "5x", "-1s", "+1s", "1.5h", " 1s", "1s ", "s", "ms", "10",
			      "1m1h", "1s1s", "1ms1s", "1 s", "1S", "1sec", "5mm", "0x10s",
			      "1h30", "１s" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		refused(bad[i]);
	int64_t ms;
	cr_assert_eq(rg_duration_parse(NULL, &ms), -1);
}

Test(duration_parse, overflow)
{
	cr_assert_eq(ms_of("106751991167d"), 106751991167LL * 86400000LL);
	refused("106751991168d");
	refused("9223372036854775808ms");
	refused("99999999999999999999s");
	refused("106751991166d48h");
}

static void formats(int64_t ms, const char *want)
{
	char buf[64];
	rg_duration_format(ms, buf, sizeof buf);
	cr_assert_str_eq(buf, want, "%lld ms", (long long)ms);
}

Test(duration_format, shortest_exact_form)
{
	formats(0, "0s");
	formats(500, "500ms");
	formats(1000, "1s");
	formats(90000, "1m30s");
	formats(3600000, "1h");
	formats(86400000, "1d");
	formats(90061001, "1d1h1m1s1ms");
	formats(-1500, "-1s500ms");
}

Test(duration_format, round_trips)
{
	const int64_t v[] = { 1, 999, 1000, 61000, 5400000, 93784005, 86400000LL * 400 };
	for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
		char buf[64];
		int64_t back = -1;
		rg_duration_format(v[i], buf, sizeof buf);
		cr_assert_eq(rg_duration_parse(buf, &back), 0, "%s", buf);
		cr_assert_eq(back, v[i]);
	}
}

Test(duration_format, small_buffer_is_terminated)
{
	char buf[4];
	memset(buf, 'x', sizeof buf);
	rg_duration_format(90061001, buf, sizeof buf);
	cr_assert_eq(buf[sizeof buf - 1], '\0');
	rg_duration_format(1, buf, 0); /* must not write */
	cr_assert_eq(buf[sizeof buf - 1], '\0');
}

static double pct_of(const char *s)
{
	double d = -1;
	cr_assert_eq(rg_percent_parse(s, &d), 0, "'%s' should parse", s);
	return d;
}

Test(duration_percent, both_forms_are_the_same_double)
{
	cr_assert_eq(pct_of("1%"), 0.01);
	cr_assert_eq(pct_of("0.01"), 0.01);
	cr_assert_eq(pct_of("1%"), pct_of("0.01"));
	cr_assert_eq(pct_of("12.5%"), 0.125);
	cr_assert_eq(pct_of("0.3%"), pct_of("0.003"));
	cr_assert_eq(pct_of("100%"), 1.0);
	cr_assert_eq(pct_of("0%"), 0.0);
	cr_assert_eq(pct_of("0"), 0.0);
	cr_assert_eq(pct_of("1"), 1.0);
	cr_assert_eq(pct_of("0.5"), 0.5);
}

Test(duration_percent, refuses_malformed_and_out_of_range)
{
	const char *bad[] = { "", "%", "150%", "100.1%", "1.5", "2", "-1%", "-0.1", "abc", "1%%",
			      "1 %", " 1%", ".5", "5.", "1e-2", "0x1", "1,5%", "50 %", "nan", "inf" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		double d = 7;
		cr_assert_eq(rg_percent_parse(bad[i], &d), -1, "'%s' should be refused", bad[i]);
		cr_assert_eq(d, 7);
	}
	double d;
	cr_assert_eq(rg_percent_parse(NULL, &d), -1);
}

Test(duration_number, plain_decimals)
{
	double d;
	cr_assert_eq(rg_number_parse("0.9", &d), 0);
	cr_assert_eq(d, 0.9);
	cr_assert_eq(rg_number_parse("-12", &d), 0);
	cr_assert_eq(d, -12);
	cr_assert_eq(rg_number_parse("1500", &d), 0);
	cr_assert_eq(d, 1500);
	cr_assert_eq(rg_number_parse("123456789012345", &d), 0);
	const char *bad[] = { "", "-", ".", "1.", ".1", "1.2.3", "1e3", "+1", "1,5", "0x10",
			      "1234567890123456", " 1" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		cr_assert_eq(rg_number_parse(bad[i], &d), -1, "'%s' should be refused", bad[i]);
	cr_assert_eq(rg_number_parse(NULL, &d), -1);
}
