/* test_secrets.c — the registry of secret values and redaction. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdio.h>
#include <string.h>

#include "util/log.h"
#include "util/secrets.h"

TestSuite(secrets);

static rg_secrets *with(const char *const *values)
{
	rg_secrets *s;
	rg_error err;
	cr_assert_eq(rg_secrets_new(&s, &err), RG_OK);
	for (size_t i = 0; values[i]; i++)
		cr_assert_eq(rg_secrets_add(s, values[i], strlen(values[i]), NULL, &err), RG_OK);
	return s;
}

static void expect(rg_secrets *s, const char *in, const char *want, size_t count)
{
	char buf[256];
	size_t len = strlen(in);
	memcpy(buf, in, len + 1);
	cr_assert_eq(rg_secrets_redact(s, buf, &len), count, "'%s' → '%s'", in, buf);
	cr_assert_str_eq(buf, want);
	cr_assert_eq(len, strlen(want));
}

Test(secrets, every_occurrence_is_masked)
{
	rg_secrets *s = with((const char *const[]){ "hunter22", "s3cr3t-value", NULL });
	expect(s, "password=hunter22", "password=***", 1);
	expect(s, "hunter22hunter22 and s3cr3t-value.", "****** and ***.", 3);
	expect(s, "nothing here", "nothing here", 0);
	expect(s, "", "", 0);
	expect(s, "hunter2", "hunter2", 0);   /* a prefix is not the value */
	rg_secrets_free(s);
}

Test(secrets, short_and_repeated_values_are_ignored)
{
	rg_secrets *s;
	rg_error err;
	bool added = true;
	cr_assert_eq(rg_secrets_new(&s, &err), RG_OK);
	cr_assert_eq(rg_secrets_add(s, "abc12", 5, &added, &err), RG_OK);
	cr_assert_not(added);
	cr_assert_eq(rg_secrets_add(s, "abc123", 6, &added, &err), RG_OK);
	cr_assert(added);
	cr_assert_eq(rg_secrets_add(s, "abc123", 6, &added, &err), RG_OK);
	cr_assert_not(added);
	cr_assert_eq(rg_secrets_add(s, NULL, 0, &added, &err), RG_OK);
	cr_assert_eq(rg_secrets_count(s), 1);
	expect(s, "abc12 abc123", "abc12 ***", 1);
	rg_secrets_free(s);
}

Test(secrets, the_longest_overlapping_value_wins)
{
	rg_secrets *s = with((const char *const[]){ "token1", "token1-and-more", NULL });
	expect(s, "x token1-and-more y token1", "x *** y ***", 2);
	rg_secrets_free(s);
}

Test(secrets, binary_values_and_copies)
{
	char value[] = "multi\nline\tvalue";
	rg_secrets *s = with((const char *const[]){ value, NULL });
	memset(value, 'x', sizeof value - 1);   /* the registry kept its own copy */
	expect(s, "a multi\nline\tvalue b", "a *** b", 1);
	char *out = NULL;
	size_t n = 0;
	rg_error err;
	cr_assert_eq(rg_secrets_redact_dup(s, "<multi\nline\tvalue>", 18, &out, &n, &err), RG_OK);
	cr_assert_str_eq(out, "<***>");
	cr_assert_eq(n, 5);
	free(out);
	rg_secrets_free(s);
}

Test(secrets, no_registry_changes_nothing)
{
	char buf[] = "hunter22";
	size_t len = 8;
	cr_assert_eq(rg_secrets_redact(NULL, buf, &len), 0);
	cr_assert_str_eq(buf, "hunter22");
	cr_assert_eq(len, 8);
	rg_secrets_free(NULL);
}

/* What a command printed can reach a log line: serve's log masks it too. */
Test(secrets, log_lines_are_masked, .init = cr_redirect_stderr)
{
	rg_secrets *s = with((const char *const[]){ "hunter22", NULL });
	rg_log_set_secrets(s);
	rg_info("step failed (exit 1: password=%s)", "hunter22");
	rg_log_set_secrets(NULL);
	rg_info("unmasked %s", "hunter22");
	fflush(stderr);
	char text[1024] = "";
	FILE *f = cr_get_redirected_stderr();
	size_t n = fread(text, 1, sizeof text - 1, f);
	text[n] = '\0';
	cr_assert(strstr(text, "step failed (exit 1: password=***)\n"), "%s", text);
	cr_assert(strstr(text, "unmasked hunter22"), "%s", text);
	rg_secrets_free(s);
}
