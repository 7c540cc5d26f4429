/* test_names.c — the strict patterns user-supplied names must match.
 * Every name here could end up in a log, a path or a command's environment:
 * anything with shell syntax, control bytes or non-ASCII must be refused. */
#include <criterion/criterion.h>
#include <string.h>

#include "util/names.h"

static char *repeat(char *buf, char c, size_t n)
{
	memset(buf, c, n);
	buf[n] = '\0';
	return buf;
}

Test(names_name, accepts_versions_and_environments)
{
	const char *ok[] = { "shop", "a", "7", "v1.2.0", "1.0.0+build-7", "production",
			     "release_2024-11", "V1.2.3-rc.1" };
	for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
		cr_assert(rg_name_valid(ok[i]), "'%s' should be valid", ok[i]);
}

Test(names_name, length_limit_is_64)
{
	char buf[80];
	cr_assert(rg_name_valid(repeat(buf, 'a', 64)));
	cr_assert_not(rg_name_valid(repeat(buf, 'a', 65)), "65 characters is too long");
	cr_assert_not(rg_name_valid(repeat(buf, 'a', 66)));
}

Test(names_name, refuses_shell_syntax_and_odd_starts)
{
	const char *bad[] = { "", "v1;touch x", "$(x)", "`x`", "a b", "a/b", "../x", ".hidden",
			      "-rf", "+x", "_x", "a\nb", "a\tb", "x|y", "x&y", "a'b", "a\"b",
			      "a*", "a\\b", "a=b", "a:b" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		cr_assert_not(rg_name_valid(bad[i]), "'%s' should be refused", bad[i]);
	cr_assert_not(rg_name_valid(NULL));
}

Test(names_name, refuses_unicode)
{
	cr_assert_not(rg_name_valid("produção"));
	cr_assert_not(rg_name_valid("é"));
	cr_assert_not(rg_name_valid("v1\xc2\xa0"));   /* no-break space */
	cr_assert_not(rg_name_valid("ｖ1"));          /* full-width v */
}

Test(names_ident, accepts_step_names_and_output_keys)
{
	const char *ok[] = { "app", "_x", "front-end", "undo.a", "job_id", "A1", "x.y-z_0" };
	for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
		cr_assert(rg_ident_valid(ok[i]), "'%s' should be valid", ok[i]);
}

Test(names_ident, refuses)
{
	char buf[80];
	const char *bad[] = { "", "1abc", "-x", ".x", "a b", "a+b", "$(x)", "a;b", "é" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		cr_assert_not(rg_ident_valid(bad[i]), "'%s' should be refused", bad[i]);
	cr_assert_not(rg_ident_valid(NULL));
	cr_assert(rg_ident_valid(repeat(buf, 'a', 64)));
	cr_assert_not(rg_ident_valid(repeat(buf, 'a', 65)), "65 characters is too long");
}

Test(names_env_var, upper_cases_and_replaces)
{
	char out[64];
	cr_assert_eq(rg_env_var_name(out, sizeof out, "OUT", "front-end", "job_id"), 0);
	cr_assert_str_eq(out, "ROLLGUARD_OUT_FRONT_END_JOB_ID");
	cr_assert_eq(rg_env_var_name(out, sizeof out, "PREV", "undo.a", "x.y"), 0);
	cr_assert_str_eq(out, "ROLLGUARD_PREV_UNDO_A_X_Y");
}

Test(names_env_var, refuses_what_does_not_fit)
{
	char out[64];
	const char *want = "ROLLGUARD_OUT_FRONT_END_JOB_ID";
	cr_assert_eq(rg_env_var_name(out, strlen(want) + 1, "OUT", "front-end", "job_id"), 0);
	cr_assert_str_eq(out, want);
	cr_assert_eq(rg_env_var_name(out, strlen(want), "OUT", "front-end", "job_id"), -1);
	cr_assert_eq(rg_env_var_name(out, 5, "OUT", "a", "b"), -1);
}
