/* test_textdiff.c — unified diffs of config files and the masking of
 * secret-looking values before anyone sees them. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "util/textdiff.h"

static char *diff_of(const char *a, const char *b)
{
	rg_strbuf out;
	rg_error err;
	rg_strbuf_init(&out);
	cr_assert_eq(rg_text_diff(a, b, "v1/.env", "v2/.env", &out, &err), RG_OK, "%s", err.message);
	rg_strbuf_addstr(&out, "");
	return rg_strbuf_detach(&out, NULL);
}

Test(textdiff, equal_texts_give_nothing)
{
	char *d = diff_of("A=1\nB=2\n", "A=1\nB=2\n");
	cr_assert_str_eq(d, "");
	free(d);
}

Test(textdiff, one_change_with_context)
{
	char *d = diff_of("a\nb\nc\nd\ne\nf\ng\nh\n", "a\nb\nc\nd\nE\nf\ng\nh\n");
	cr_assert_str_eq(d, "--- v1/.env\n+++ v2/.env\n@@ -2,7 +2,7 @@\n b\n c\n d\n-e\n+E\n f\n g\n h\n");
	free(d);
}

Test(textdiff, far_apart_changes_are_two_hunks)
{
	char *d = diff_of("1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n", "x\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\ny\n");
	cr_assert(strstr(d, "@@ -1,4 +1,4 @@\n-1\n+x\n 2\n 3\n 4\n"), "%s", d);
	cr_assert(strstr(d, "@@ -9,4 +9,4 @@\n 9\n 10\n 11\n-12\n+y\n"), "%s", d);
	free(d);
}

Test(textdiff, a_file_that_appears)
{
	char *d = diff_of("", "A=1\n");
	cr_assert_str_eq(d, "--- v1/.env\n+++ v2/.env\n@@ -0,0 +1,1 @@\n+A=1\n");
	free(d);
}

Test(textdiff, secret_values_are_masked)
{
	const char *extra[] = { "STRIPE_ID" };
	char *m = rg_mask_secret_values("DB_PASSWORD=hunter2\nexport API_TOKEN = abc\nWORKERS=4\n"
					"stripe_id=sid\n  aws_secret_access_key: xyz\nname: shop\n# PASSWORD=x is a comment\n",
					extra, 1);
	cr_assert_str_eq(m, "DB_PASSWORD=***\nexport API_TOKEN = ***\nWORKERS=4\nstripe_id=***\n"
			    "  aws_secret_access_key: ***\nname: shop\n# PASSWORD=x is a comment\n");
	free(m);
}
