/* test_artifacts.c — a backup's file list: sizes and SHA-256 in name
 * order, recursion, and every way a backup can stop matching its record. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup/artifacts.h"

static char dir[64];

static void make_dir(void)
{
	snprintf(dir, sizeof dir, "/tmp/rg-artifacts-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void remove_dir(void)
{
	rg_error err;
	rg_artifacts_remove(dir, &err);
}

TestSuite(artifacts, .init = make_dir, .fini = remove_dir);

static void put(const char *name, const char *text)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "cannot write %s", path);
	fputs(text, f);
	fclose(f);
}

Test(artifacts, lists_sizes_and_sha256_in_name_order)
{
	char sub[128], *files = NULL;
	int64_t bytes = 0;
	rg_error err;
	snprintf(sub, sizeof sub, "%s/meta", dir);
	mkdir(sub, 0700);
	put("z.sql", "abc");
	put("meta/tag", "v1\n");
	cr_assert_eq(rg_artifacts_scan(dir, &files, &bytes, &err), RG_OK, "%s", err.message);
	cr_assert_eq(bytes, 6);
	json_t *list = json_loads(files, 0, NULL);
	cr_assert_eq(json_array_size(list), 2);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "name")), "meta/tag");
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 1), "sha256")),
			 "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	json_decref(list);
	cr_assert_eq(rg_artifacts_check(dir, files, &err), RG_OK, "%s", err.message);
	free(files);
}

Test(artifacts, every_change_is_named)
{
	char *files = NULL, path[256];
	int64_t bytes;
	rg_error err;
	put("a.sql", "abc");
	put("b.sql", "def");
	cr_assert_eq(rg_artifacts_scan(dir, &files, &bytes, &err), RG_OK);
	put("b.sql", "deg");
	cr_assert_eq(rg_artifacts_check(dir, files, &err), RG_EINVAL);
	cr_assert(strstr(err.message, "'b.sql' does not match its recorded SHA-256"), "%s", err.message);
	put("b.sql", "defg");
	cr_assert_eq(rg_artifacts_check(dir, files, &err), RG_EINVAL);
	cr_assert(strstr(err.message, "'b.sql' changed size"), "%s", err.message);
	put("b.sql", "def");
	put("c.sql", "new");
	cr_assert_eq(rg_artifacts_check(dir, files, &err), RG_EINVAL);
	cr_assert(strstr(err.message, "'c.sql' was added"), "%s", err.message);
	snprintf(path, sizeof path, "%s/c.sql", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/a.sql", dir);
	unlink(path);
	cr_assert_eq(rg_artifacts_check(dir, files, &err), RG_EINVAL);
	cr_assert(strstr(err.message, "'a.sql' is missing"), "%s", err.message);
	free(files);
}

Test(artifacts, empty_backups_and_symlinks_are_refused)
{
	char *files = NULL, path[256];
	int64_t bytes;
	rg_error err;
	cr_assert_eq(rg_artifacts_scan(dir, &files, &bytes, &err), RG_EINVAL);
	cr_assert(strstr(err.message, "wrote nothing"), "%s", err.message);
	snprintf(path, sizeof path, "%s/link", dir);
	cr_assert_eq(symlink("/etc/passwd", path), 0);
	cr_assert_eq(rg_artifacts_scan(dir, &files, &bytes, &err), RG_EINVAL);
	cr_assert(strstr(err.message, "symbolic link"), "%s", err.message);
}
