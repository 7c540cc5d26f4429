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

/* ---- streams: what the emit callback was given, concatenated */

static char streamed[512];
static size_t streamed_len;

static void collect(void *ctx, const char *p, size_t n)
{
	cr_assert_leq(streamed_len + n, sizeof streamed - 1);
	memcpy(streamed + streamed_len, p, n);
	streamed_len += n;
	streamed[streamed_len] = '\0';
}

static void stream_chunks(rg_secrets *s, const char *const *chunks, const char *want)
{
	rg_secrets_stream *st;
	rg_error err;
	streamed_len = 0;
	streamed[0] = '\0';
	cr_assert_eq(rg_secrets_stream_new(s, collect, NULL, &st, &err), RG_OK);
	for (size_t i = 0; chunks[i]; i++)
		cr_assert_eq(rg_secrets_stream_feed(st, chunks[i], strlen(chunks[i]), &err), RG_OK);
	rg_secrets_stream_flush(st);
	rg_secrets_stream_free(st);
	cr_assert_str_eq(streamed, want);
}

Test(secrets, a_value_split_across_chunks_is_masked)
{
	rg_secrets *s = with((const char *const[]){ "hunter22", "token-abcdef", NULL });
	stream_chunks(s, (const char *const[]){ "pw=hun", "ter22 ok\n", NULL }, "pw=*** ok\n");
	stream_chunks(s, (const char *const[]){ "t", "o", "k", "en-abc", "def", "!", NULL }, "***!");
	stream_chunks(s, (const char *const[]){ "hunter2", "2hunter22", NULL }, "******");
	/* a held-back start that turns out not to be a value is kept as it was */
	stream_chunks(s, (const char *const[]){ "hunte", "r3 and hunt", NULL }, "hunter3 and hunt");
	stream_chunks(s, (const char *const[]){ "", "plain", NULL }, "plain");
	rg_secrets_free(s);
}

Test(secrets, held_back_bytes_are_emitted_in_order)
{
	rg_secrets *s = with((const char *const[]){ "abcdefgh", NULL });
	rg_secrets_stream *st;
	rg_error err;
	streamed_len = 0;
	streamed[0] = '\0';
	cr_assert_eq(rg_secrets_stream_new(s, collect, NULL, &st, &err), RG_OK);
	cr_assert_eq(rg_secrets_stream_feed(st, "x abcd", 6, &err), RG_OK);
	cr_assert_str_eq(streamed, "x ", "'abcd' may start the value: held");
	cr_assert_eq(rg_secrets_stream_feed(st, "e!", 2, &err), RG_OK);
	cr_assert_str_eq(streamed, "x abcde!");
	rg_secrets_stream_free(st);
	rg_secrets_free(s);
}
